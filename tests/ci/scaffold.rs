//! `tools/new-rule`: the files and registry lines it writes, on a scratch copy of the
//! registry (that they compile, and that the guard test fails for the empty skeleton, is
//! what the script's own build step and the guard test check in the real tree).

use std::process::Command;

use super::Scratch;

fn new_rule(scratch: &Scratch, args: &[&str]) -> Option<std::process::Output> {
    let mut cmd = Command::new("python3");
    cmd.arg("tools/new-rule").args(args);
    cmd.args(["--root", scratch.dir.to_str().unwrap(), "--no-build"]);
    match cmd.output() {
        Ok(out) => Some(out),
        Err(e) => {
            eprintln!("skipping: python3 is not available to run tools/new-rule ({e})");
            None
        }
    }
}

fn registry_copy(name: &str) -> Scratch {
    let s = Scratch::new(name);
    for rel in ["src/rules/mod.rs", "src/model/gvk.rs", "tests/fixtures.rs"] {
        s.write(rel, &std::fs::read_to_string(rel).unwrap());
    }
    s
}

#[test]
fn new_rule_writes_the_rule_fixture_and_registry_lines_in_code_order() {
    let s = registry_copy("new-rule");
    let Some(out) = new_rule(
        &s,
        &[
            "IPF250",
            "zz-example",
            "An example summary",
            "--reads",
            "Deployment,Service",
        ],
    ) else {
        return;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let rule = s.read("src/rules/ipf250_zz_example.rs");
    assert!(rule.contains("crate::declare_rule! {"), "{rule}");
    assert!(
        rule.contains("code: \"IPF250\",\n    name: \"zz-example\","),
        "{rule}"
    );
    assert!(
        rule.contains("use crate::model::gvk::{DEPLOYMENT, SERVICE};")
            && rule.contains("fix: None,\n    reads: [DEPLOYMENT, SERVICE],"),
        "{rule}"
    );
    assert!(
        rule.contains("TODO(new-rule)"),
        "the docs are placeholders to replace"
    );
    for section in ["## What it does", "## Example that fires", "## References"] {
        assert!(rule.contains(section), "{section} missing");
    }

    let input = s.read("fixtures/IPF250-zz-example/input.yaml");
    assert!(input.contains("kind: Deployment"), "{input}");
    assert!(input.contains("name: fire-example") && input.contains("name: dont-fire-example"));

    // Between IPF206 and IPF301 in all three lists.
    let mod_rs = s.read("src/rules/mod.rs");
    let pos = |text: &str, needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle} missing"))
    };
    let m = pos(&mod_rs, "pub mod ipf250_zz_example;\n");
    assert!(pos(&mod_rs, "pub mod ipf206_") < m && m < pos(&mod_rs, "pub mod ipf301_"));
    let r = pos(&mod_rs, "    &ipf250_zz_example::RULE,\n");
    assert!(pos(&mod_rs, "    &ipf206_") < r && r < pos(&mod_rs, "    &ipf301_"));
    let fixtures = s.read("tests/fixtures.rs");
    let f = pos(
        &fixtures,
        "    ipf250_zz_example => \"IPF250-zz-example\",\n",
    );
    assert!(pos(&fixtures, "    ipf206_") < f && f < pos(&fixtures, "    ipf301_"));
}

#[test]
fn new_rule_refuses_a_registered_code_and_bad_names_and_writes_nothing() {
    let s = registry_copy("new-rule-refuses");
    let before = s.read("src/rules/mod.rs");
    let cases: [&[&str]; 6] = [
        &["IPF302", "other-name", "Summary"],
        &["IPF9", "short-code", "Summary"],
        &["IPF251", "Not_Kebab", "Summary"],
        &["IPF252", "quoted", "A \"quoted\" summary"],
        // Istio's and the Gateway API's Gateway: `reads` is typed, so say which.
        &["IPF253", "ambiguous", "Summary", "--reads", "Gateway"],
        &["IPF254", "unknown-kind", "Summary", "--reads", "Widget"],
    ];
    for args in cases {
        let Some(out) = new_rule(&s, args) else {
            return;
        };
        assert_eq!(out.status.code(), Some(2), "{args:?} should be refused");
        assert!(
            String::from_utf8_lossy(&out.stderr).starts_with("new-rule: "),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(s.read("src/rules/mod.rs"), before);
    assert!(!s.path("fixtures").exists());
}
