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
    let docs = yaml::split_documents(&file);
    // The loader parses runs of documents into one shared tree, rolling back whatever a
    // broken document stored: each document must read there exactly as it does alone.
    let (tree, roots) = yaml::parse_documents(&file, &docs);
    assert_eq!(roots.len(), docs.len());
    for ((line, range), in_run) in docs.into_iter().zip(&roots) {
        let alone = yaml::parse_document(&file, line, range);
        match (in_run, alone) {
            (Ok(Some(id)), Ok(alone)) => {
                let root = tree.node(*id);
                let alone = alone.root.expect("a document with a root in a run has one alone");
                assert_eq!(root.to_json(), alone.root().to_json());
                assert_eq!(root.span(), alone.root().span());
                // Typed views and positions must not panic on any tree either.
                let _ = typed_views(root);
            }
            (Ok(None), Ok(alone)) => assert!(alone.root.is_none()),
            (Err(in_run), Err(alone)) => assert_eq!(in_run.to_string(), alone.to_string()),
            (in_run, alone) => panic!("in a run {in_run:?}, alone {:?}", alone.map(|d| d.start_line)),
        }
    }
});

fn typed_views(root: yaml::Node<'_>) -> bool {
    use serde::Deserialize;
    k8s_openapi::api::apps::v1::Deployment::deserialize(root).is_ok()
        || k8s_openapi::api::core::v1::Pod::deserialize(root).is_ok()
}
