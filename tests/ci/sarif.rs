//! SARIF for GitHub code scanning: the official schema and the checklist of
//! ../shared/research/sarif-gha.md §5.1 (S3, S8–S13, S15, S17, S18).

use super::common::check_args;
use super::*;
use istio_preflight::emit::{self, sarif, Format};
use serde_json::Value;

fn schema_validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string("tests/data/sarif-2.1.0.json").expect("saved schema");
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::draft4::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the SARIF schema compiles")
}

fn assert_valid(log: &Value) {
    let v = schema_validator();
    let errors: Vec<String> = v
        .iter_errors(log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF schema errors:\n{}",
        errors.join("\n")
    );
}

/// The demo with `DEMO_RULES`: 3 errors and 3 warnings.
fn demo_report() -> istio_preflight::report::Report {
    istio_preflight::check(&check_args(&[
        "fixtures/demo",
        "--target",
        "1.30.3",
        "--no-config",
        "--select",
        DEMO_RULES,
    ]))
    .unwrap()
}

fn demo_log() -> Value {
    serde_json::from_str(&emit::render(&demo_report(), Format::Sarif, false)).unwrap()
}

/// The demo with every rule, for checks that must hold for whatever a rule reports.
fn full_demo_log() -> Value {
    let report = full_demo_report();
    serde_json::from_str(&emit::render(&report, Format::Sarif, false)).unwrap()
}

fn results(log: &Value) -> &Vec<Value> {
    log["runs"][0]["results"].as_array().unwrap()
}

#[test]
fn the_schema_file_is_the_published_one() {
    // Guards against an accidental edit of the vendored schema (tests/data/SOURCES.md).
    let bytes = std::fs::read("tests/data/sarif-2.1.0.json").unwrap();
    assert_eq!(bytes.len(), 112_768);
    let v = schema_validator();
    assert!(
        !v.is_valid(&serde_json::json!({"version": "2.1.0"})),
        "runs is required"
    );
}

#[test]
fn demo_sarif_is_valid_sarif_2_1_0() {
    let log = demo_log();
    assert_eq!(results(&log).len(), 6);
    assert_valid(&log);
    let log = full_demo_log();
    assert!(results(&log).len() > 6);
    assert_valid(&log);
}

#[test]
fn demo_sarif_meets_the_code_scanning_checklist() {
    let log = full_demo_log();
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    // S13: columns are UTF-16 code units, and the run says so.
    assert_eq!(run["columnKind"], "utf16CodeUnits");
    for r in results(&log) {
        // S3: the rule is listed and ruleIndex points at it.
        let id = r["ruleId"].as_str().expect("S8: ruleId");
        let i = r["ruleIndex"].as_u64().expect("S3: ruleIndex") as usize;
        assert_eq!(rules[i]["id"], id, "S3: ruleIndex {i} is not {id}");
        // S8: explicit level and a plain-text message.
        assert!(["error", "warning", "note"].contains(&r["level"].as_str().unwrap()));
        assert!(!r["message"]["text"].as_str().unwrap().trim().is_empty());
        // S9: exactly one location, with a physical location.
        let locations = r["locations"].as_array().unwrap();
        assert_eq!(locations.len(), 1);
        let physical = &locations[0]["physicalLocation"];
        // S10: repository-relative POSIX path.
        let uri = physical["artifactLocation"]["uri"].as_str().unwrap();
        assert!(
            !uri.starts_with('/') && !uri.contains(':') && !uri.contains('\\'),
            "S10: {uri}"
        );
        assert!(!uri.split('/').any(|p| p == "." || p == ".."), "S10: {uri}");
        assert!(uri.starts_with("fixtures/demo/"), "S10: {uri}");
        // S11: it names a file in the repository.
        assert!(Path::new(uri).is_file(), "S11: {uri} is not a file");
        // S12: a full region on the offending field, not line 1.
        let region = &physical["region"];
        let (sl, sc, el, ec) = (
            region["startLine"].as_u64().unwrap(),
            region["startColumn"].as_u64().unwrap(),
            region["endLine"].as_u64().unwrap(),
            region["endColumn"].as_u64().unwrap(),
        );
        assert!(sl >= 1 && sc >= 1 && el >= sl, "S12: {region}");
        assert!(el > sl || ec >= sc, "S12: {region}");
        let field = r["properties"]["field"].as_str().unwrap();
        let text = std::fs::read_to_string(uri).unwrap();
        let line = text.lines().nth(sl as usize - 1).unwrap();
        // The region is on the field, or on its nearest ancestor when the field is absent
        // (a default the rule is about).
        let keys: Vec<String> = field
            .split('/')
            .filter(|k| !k.is_empty() && k.parse::<usize>().is_err())
            .map(|k| k.replace("~1", "/").replace("~0", "~"))
            .collect();
        let code = line.trim_start().trim_start_matches("- ");
        assert!(
            keys.iter().any(|k| code.starts_with(k.as_str())),
            "S12: {uri}:{sl} `{line}` is not on the field {field}"
        );
        // Fingerprints: rule + object + field, never positions.
        assert_eq!(
            r["partialFingerprints"]["istioPreflight/v1"]
                .as_str()
                .unwrap()
                .len(),
            16
        );
        assert!(r["partialFingerprints"]
            .get("primaryLocationLineHash")
            .is_none());
    }
    // S5: rule help in Markdown with the documentation link.
    for rule in rules {
        let md = rule["help"]["markdown"].as_str().unwrap();
        assert!(md.contains(&format!("/rules/docs/{}.md)", rule["id"].as_str().unwrap())));
    }
    // S18
    assert_eq!(run["invocations"][0]["executionSuccessful"], true);
}

#[test]
fn output_is_deterministic_and_sorted() {
    let a = full_demo_log();
    let b = full_demo_log();
    assert_eq!(a, b);
    let keys: Vec<(String, u64, u64, String)> = results(&a)
        .iter()
        .map(|r| {
            let p = &r["locations"][0]["physicalLocation"];
            (
                p["artifactLocation"]["uri"].as_str().unwrap().to_string(),
                p["region"]["startLine"].as_u64().unwrap(),
                p["region"]["startColumn"].as_u64().unwrap(),
                r["ruleId"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    let text = serde_json::to_string(&a).unwrap();
    let cwd = std::env::current_dir().unwrap();
    assert!(
        !text.contains(cwd.to_str().unwrap()),
        "no absolute paths in SARIF"
    );
}

#[test]
fn above_the_cap_the_most_severe_results_are_kept_with_a_notification() {
    let report = demo_report();
    let log: Value = serde_json::from_str(&sarif::render_capped(&report, 4)).unwrap();
    assert_valid(&log);
    let levels: Vec<&str> = results(&log)
        .iter()
        .map(|r| r["level"].as_str().unwrap())
        .collect();
    assert_eq!(levels.len(), 4);
    assert_eq!(levels.iter().filter(|l| **l == "error").count(), 3);
    let n = &log["runs"][0]["invocations"][0]["toolExecutionNotifications"][0];
    assert_eq!(n["level"], "warning");
    assert!(n["message"]["text"]
        .as_str()
        .unwrap()
        .starts_with("2 of 6 results were left out"));
    assert_eq!(sarif::MAX_RESULTS, 25_000);
}

#[test]
fn files_that_do_not_parse_are_also_notifications() {
    let report = istio_preflight::check(&check_args(&[
        "fixtures/IPF001-invalid-manifest",
        "--no-config",
    ]))
    .unwrap();
    let log: Value = serde_json::from_str(&emit::render(&report, Format::Sarif, false)).unwrap();
    assert_valid(&log);
    let notifications = log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    let file_level = report
        .diagnostics
        .iter()
        .filter(|d| matches!(d.subject, istio_preflight::diagnostic::Subject::File { .. }))
        .count();
    assert!(file_level > 0);
    let errors: Vec<&Value> = notifications
        .iter()
        .filter(|n| n["level"] == "error")
        .collect();
    assert_eq!(errors.len(), file_level);
    for n in errors {
        assert_eq!(n["descriptor"]["id"], "IPF001");
        let uri = n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap();
        assert!(
            uri.starts_with("fixtures/IPF001-invalid-manifest/"),
            "{uri}"
        );
    }
}

#[test]
fn uris_are_relative_to_the_git_top_level_or_the_workspace_not_the_working_directory() {
    let s = Scratch::new("uris");
    s.git_root();
    s.demo("deploy/estate");
    let cwd = s.path("deploy/estate/apps");
    let uris = |r: Run| -> Vec<String> {
        let log = r.json();
        results(&log)
            .iter()
            .map(|r| {
                r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    let args = ["check", "..", "--target", "1.30.3", "--format", "sarif"];
    let from_git = uris(run(&cwd, &args, &[]));
    assert!(
        from_git.contains(&"deploy/estate/apps/shop/cart.yaml".to_string()),
        "{from_git:?}"
    );
    let workspace = s.path("deploy");
    let from_workspace = uris(run(
        &cwd,
        &args,
        &[("GITHUB_WORKSPACE", workspace.to_str().unwrap())],
    ));
    assert!(
        from_workspace.contains(&"estate/apps/shop/cart.yaml".to_string()),
        "{from_workspace:?}"
    );
}

#[test]
fn columns_count_utf16_code_units_and_names_are_percent_encoded() {
    let s = Scratch::new("utf16");
    s.git_root();
    // The flagged label comes after astral-plane characters (two UTF-16 units each) on the
    // same line; the file name needs percent-encoding.
    let line = "  labels: {team: \"🚀🚀 ünï\", istio-injection: enabled, istio.io/rev: canary}";
    s.write(
        "my manifests/ns#1.yaml",
        &format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n{line}\n"),
    );
    let r = run(
        &s.dir,
        &["check", ".", "--format", "sarif", "--select", "IPF203"],
        &[],
    );
    let log = r.json();
    assert_valid(&log);
    let res = &results(&log)[0];
    let p = &res["locations"][0]["physicalLocation"];
    assert_eq!(p["artifactLocation"]["uri"], "my%20manifests/ns%231.yaml");
    let col = p["region"]["startColumn"].as_u64().unwrap() as usize;
    let byte = line.find("istio-injection").unwrap();
    let units: usize = line[..byte].chars().map(char::len_utf16).sum();
    assert_eq!(col, units + 1, "{}", p["region"]);
    assert_eq!(p["region"]["startLine"], 5);
}

#[test]
fn fingerprints_survive_moved_lines_and_reordered_documents() {
    let s = Scratch::new("fingerprints");
    s.git_root();
    s.demo("estate");
    let prints = || -> Vec<String> {
        let r = run(
            &s.dir,
            &[
                "check", "estate", "--target", "1.30.3", "--format", "sarif", "--select",
                DEMO_RULES,
            ],
            &[],
        );
        let mut v: Vec<String> = results(&r.json())
            .iter()
            .map(|r| {
                r["partialFingerprints"]["istioPreflight/v1"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        v.sort();
        v
    };
    let before = prints();
    assert_eq!(before.len(), 6);
    let mut unique = before.clone();
    unique.dedup();
    assert_eq!(unique.len(), 6, "fingerprints tell findings apart");
    let path = s.path("estate/apps/shop/cart.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut docs: Vec<&str> = text.split("\n---\n").collect();
    docs.reverse();
    std::fs::write(&path, format!("\n\n# a comment\n{}", docs.join("\n---\n"))).unwrap();
    assert_eq!(prints(), before);
}

#[test]
fn findings_without_a_location_become_notifications() {
    // One input path cannot be read: an IPF001 about the run, with no file or object.
    let report = istio_preflight::check(&check_args(&[
        "fixtures/demo",
        "no-such-directory",
        "--target",
        "1.30.3",
        "--no-config",
    ]))
    .unwrap();
    assert!(report
        .diagnostics
        .iter()
        .any(|d| d.subject == istio_preflight::diagnostic::Subject::Estate));
    let log: Value = serde_json::from_str(&emit::render(&report, Format::Sarif, false)).unwrap();
    assert_valid(&log);
    for r in results(&log) {
        assert!(
            r["locations"][0]["physicalLocation"].is_object(),
            "a result without a location: {r}"
        );
    }
    let notifications = log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    assert!(notifications
        .iter()
        .any(|n| n["descriptor"]["id"] == "IPF001"
            && n["message"]["text"]
                .as_str()
                .unwrap()
                .starts_with("cannot read no-such-directory")));
}
