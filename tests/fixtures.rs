//! One test over every rule fixture folder: the objects named `fire-*` must be reported by
//! the folder's rule, the ones named `dont-fire-*` must not, and the human and JSON output
//! must match the snapshots beside the input.

mod common;

use common::*;
use istio_preflight::emit::{self, Format};

#[test]
fn every_rule_fixture() {
    let dirs = rule_fixture_dirs();
    assert!(!dirs.is_empty(), "no fixtures found");
    let mut failures = Vec::new();
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let code = &name[..6];
        let mut args: Vec<String> = fixture_inputs(dir);
        args.extend(["--select".to_string(), code.to_string()]);
        args.extend(fixture_args(dir));
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let report =
            istio_preflight::check(&check_args(&argv)).unwrap_or_else(|e| panic!("{name}: {e}"));

        let reported: std::collections::HashSet<usize> = report
            .diagnostics
            .iter()
            .filter(|d| d.code == code)
            .filter_map(|d| d.object())
            .collect();
        let mut fire = 0;
        for (id, o) in report.inventory.objects.iter().enumerate() {
            if o.name().starts_with("fire-") {
                fire += 1;
                if !reported.contains(&id) {
                    failures.push(format!(
                        "{name}: {} should be reported by {code} but is not",
                        o.display_name()
                    ));
                }
            } else if reported.contains(&id) {
                let why = if o.name().starts_with("dont-fire-") {
                    "must not be reported"
                } else {
                    "is a supporting object and should not be reported (name the case fire-* if it should)"
                };
                let messages: Vec<&str> = report
                    .diagnostics
                    .iter()
                    .filter(|d| d.object() == Some(id))
                    .map(|d| d.message.as_str())
                    .collect();
                failures.push(format!(
                    "{name}: {} {why}, but {code} says: {}",
                    o.display_name(),
                    messages.join(" | ")
                ));
            }
        }
        if fire == 0 && code != "IPF001" {
            failures.push(format!("{name}: has no fire-* object"));
        }
        assert_snapshot(
            &dir.join("snapshot.human.txt"),
            &emit::render(&report, Format::Human, false),
        );
        assert_snapshot(
            &dir.join("snapshot.json.txt"),
            &emit::render(&report, Format::Json, false),
        );
    }
    assert!(
        failures.is_empty(),
        "fixture expectations failed:\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_rule_has_a_fixture_and_complete_docs() {
    let dirs: Vec<String> = rule_fixture_dirs()
        .iter()
        .map(|d| d.file_name().unwrap().to_string_lossy().to_string())
        .collect();
    let mut codes = std::collections::HashSet::new();
    for rule in istio_preflight::rules::RULES {
        assert!(codes.insert(rule.code), "duplicate code {}", rule.code);
        let expected = format!("{}-{}", rule.code, rule.name);
        assert!(
            dirs.contains(&expected),
            "rule {} has no fixture folder fixtures/{expected}",
            rule.code
        );
        let docs = rule.docs();
        for section in [
            "## What it does",
            "## Why it matters during an upgrade",
            "## Example that fires",
            "## Example that does not fire",
            "## Fix",
            "## References",
        ] {
            assert!(
                docs.contains(section),
                "{} docs lack the section {section:?}",
                rule.code
            );
        }
        assert!(
            rule.code.len() == 6 && rule.code.starts_with("IPF"),
            "bad code {}",
            rule.code
        );
        assert!(
            rule.name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '-'),
            "{} name is not kebab-case",
            rule.code
        );
    }
}

#[test]
fn generated_rule_docs_and_readme_table_are_fresh() {
    for rule in istio_preflight::rules::RULES {
        let path = std::path::Path::new("rules/docs").join(format!("{}.md", rule.code));
        if updating() {
            std::fs::create_dir_all("rules/docs").unwrap();
        }
        assert_snapshot(&path, &istio_preflight::rule_page(rule));
    }
    let readme = std::fs::read_to_string("README.md").expect("README.md");
    let (start, end) = ("<!-- rules:start -->\n", "<!-- rules:end -->");
    let (Some(a), Some(b)) = (readme.find(start), readme.find(end)) else {
        panic!("README.md lacks the rule table markers");
    };
    let table = istio_preflight::rules_markdown();
    let current = &readme[a + start.len()..b];
    if current != table {
        if updating() {
            let updated = format!("{}{table}{}", &readme[..a + start.len()], &readme[b..]);
            std::fs::write("README.md", updated).unwrap();
        } else {
            panic!("README.md's rule table is stale; run `UPDATE_SNAPSHOTS=1 cargo test`");
        }
    }
}
