//! The positioned YAML reader alone, on arbitrary text: faster than the `check` target, so
//! it goes deeper into the parser, the tree builder and its limits.
#![no_main]

use libfuzzer_sys::fuzz_target;

use istio_preflight::yaml;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let file = yaml::Text::new(text.to_string());
    for (line, range) in yaml::split_documents(&file) {
        if let Ok(parsed) = yaml::parse_document(&file, line, range) {
            if let Some(tree) = parsed.root {
                let root = tree.root();
                // Typed views, positions and the JSON form must not panic on any tree either.
                let _ = typed_views(root);
                let _ = root.to_json();
                let _ = root.span();
            }
        }
    }
});

fn typed_views(root: yaml::Node<'_>) -> bool {
    use serde::Deserialize;
    k8s_openapi::api::apps::v1::Deployment::deserialize(root).is_ok()
        || k8s_openapi::api::core::v1::Pod::deserialize(root).is_ok()
}
