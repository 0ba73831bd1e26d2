//! `--format gitlab`: GitLab Code Quality JSON with every field GitLab's documentation
//! lists as required (GitLab publishes no schema file): description, check_name,
//! fingerprint (unique per report), severity (info, minor, major, critical, blocker),
//! location.path relative to the repository root and location.lines.begin.

use super::full_demo_report;
use istio_preflight::emit::{self, Format};
use serde_json::Value;

#[test]
fn demo_issues_have_every_required_field_and_the_sarif_identity() {
    let report = full_demo_report();
    let issues: Value =
        serde_json::from_str(&emit::render(&report, Format::Gitlab, false)).unwrap();
    let issues = issues.as_array().expect("an array of issues");
    assert_eq!(issues.len(), report.diagnostics.len());
    let mut fingerprints = std::collections::HashSet::new();
    for (issue, d) in issues.iter().zip(&report.diagnostics) {
        assert!(issue["description"]
            .as_str()
            .is_some_and(|s| s.contains(&d.message)));
        assert_eq!(issue["check_name"], d.code);
        let fp = issue["fingerprint"].as_str().unwrap();
        assert!(fp.starts_with(&report.fingerprint(d)), "{fp}");
        assert!(
            fingerprints.insert(fp.to_string()),
            "duplicate fingerprint {fp}"
        );
        assert!(["info", "minor", "major", "critical", "blocker"]
            .contains(&issue["severity"].as_str().unwrap()));
        let path = issue["location"]["path"].as_str().unwrap();
        // Findings about the estate as a whole have no file: GitLab still needs a path.
        match report.location(d) {
            Some(_) => assert!(path.starts_with("fixtures/demo/"), "{path}"),
            None => assert_eq!(path, "."),
        }
        let begin = issue["location"]["lines"]["begin"].as_u64().unwrap();
        let end = issue["location"]["lines"]["end"].as_u64().unwrap();
        assert!(begin >= 1 && end >= begin);
    }
}
