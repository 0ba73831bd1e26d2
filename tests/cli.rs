//! The binary as users run it: exit codes, formats, and bad input that must never stop the run.

use std::process::{Command, Output, Stdio};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_istio-preflight"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const DEMO: &str = "fixtures/demo";

#[test]
fn exit_codes_are_the_same_for_every_format() {
    for format in ["human", "json", "sarif", "github"] {
        let findings = run(&["check", DEMO, "--target", "1.30.3", "--format", format]);
        assert_eq!(
            findings.status.code(),
            Some(1),
            "{format}: errors in the demo exit 1"
        );
        let never = run(&["check", DEMO, "--format", format, "--fail-on", "never"]);
        assert_eq!(
            never.status.code(),
            Some(0),
            "{format}: --fail-on never exits 0"
        );
        let missing = run(&["check", "no/such/path", "--format", format]);
        assert_eq!(
            missing.status.code(),
            Some(2),
            "{format}: nothing readable exits 2"
        );
        assert!(String::from_utf8_lossy(&missing.stderr).contains("no/such/path"));
    }
    // Only warnings selected: exit 0 at the default threshold, 1 with --fail-on warning.
    let warnings = run(&["check", DEMO, "--select", "IPF406"]);
    assert_eq!(warnings.status.code(), Some(0));
    let strict = run(&["check", DEMO, "--select", "IPF406", "--fail-on", "warning"]);
    assert_eq!(strict.status.code(), Some(1));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(
        run(&["check", DEMO, "--target", "banana"]).status.code(),
        Some(2)
    );
    assert_eq!(
        run(&["check", DEMO, "--select", "IPF999"]).status.code(),
        Some(2)
    );
    assert_eq!(
        run(&["check", DEMO, "--format", "xml"]).status.code(),
        Some(2)
    );
    assert_eq!(run(&["rules", "IPF999"]).status.code(), Some(2));
}

#[test]
fn json_follows_the_spec_schema() {
    let out = run(&["check", DEMO, "--target", "1.30.3", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(v["version"], 1);
    assert_eq!(v["tool"]["name"], "istio-preflight");
    for key in ["error", "warning", "info", "objects", "files"] {
        assert!(v["summary"][key].is_u64(), "summary.{key}");
    }
    assert_eq!(v["estate"]["upgrade"]["target"], "1.30.3");
    let diagnostics = v["diagnostics"].as_array().expect("diagnostics");
    assert!(!diagnostics.is_empty());
    for d in diagnostics {
        for key in [
            "code", "name", "severity", "message", "object", "location", "field", "fix",
        ] {
            assert!(d.get(key).is_some(), "diagnostic lacks {key}: {d}");
        }
        let loc = &d["location"];
        if d["object"].is_null() && loc.is_null() {
            continue; // An estate finding (e.g. IPF309's summary) has no place in a file.
        }
        assert!(
            loc["path"].as_str().unwrap().starts_with("fixtures/demo/"),
            "relative, /-separated: {loc}"
        );
        assert!(loc["line"].as_u64().unwrap() >= 1 && loc["column"].as_u64().unwrap() >= 1);
    }
    let errors = diagnostics
        .iter()
        .filter(|d| d["severity"] == "error")
        .count() as u64;
    assert_eq!(v["summary"]["error"].as_u64(), Some(errors));
}

#[test]
fn sarif_regions_point_at_the_field_not_line_one() {
    let out = run(&["check", DEMO, "--target", "1.30.3", "--format", "sarif"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    let results = v["runs"][0]["results"].as_array().expect("results");
    assert!(!results.is_empty());
    let text_of =
        |uri: &str| std::fs::read_to_string(uri).expect("uri is a readable relative path");
    for r in results {
        let loc = &r["locations"][0]["physicalLocation"];
        if loc.is_null() {
            continue; // An estate finding has no physical location.
        }
        let uri = loc["artifactLocation"]["uri"].as_str().expect("uri");
        let region = &loc["region"];
        let line = region["startLine"].as_u64().unwrap() as usize;
        let field = r["properties"]["field"].as_str().expect("field");
        let source_line = text_of(uri)
            .lines()
            .nth(line - 1)
            .unwrap_or_default()
            .to_string();
        // The region's line holds the last existing key of the field path.
        let key = field
            .rsplit('/')
            .map(|k| k.replace("~1", "/"))
            .find(|k| source_line.contains(k.as_str()))
            .unwrap_or_default();
        assert!(
            !key.is_empty() || line > 1,
            "{uri}:{line} `{source_line}` does not show any key of {field}"
        );
        assert!(region["startColumn"].as_u64().unwrap() >= 1);
    }
}

#[test]
fn bad_input_is_reported_where_it_is_and_the_rest_is_checked() {
    let dir = "fixtures/IPF001-invalid-manifest";
    let out = run(&["check", dir, "--format", "json", "--select", "IPF001"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    let diags = v["diagnostics"].as_array().unwrap();
    let at = |file: &str| -> Vec<&serde_json::Value> {
        diags
            .iter()
            .filter(|d| d["location"]["path"] == format!("{dir}/{file}"))
            .collect()
    };
    let expect_one = |file: &str, line: u64, needle: &str| {
        let found = at(file);
        assert_eq!(found.len(), 1, "{file}: {found:?}");
        assert_eq!(found[0]["location"]["line"], line, "{file}: {}", found[0]);
        let message = found[0]["message"].as_str().unwrap();
        assert!(
            message.contains(needle),
            "{file}: {message:?} should mention {needle:?}"
        );
    };
    expect_one("malformed.yaml", 44, "invalid YAML");
    expect_one("binary.yaml", 1, "binary");
    expect_one("latin1.yaml", 9, "not UTF-8");
    expect_one("helm-template.yaml", 9, "Helm template");
    expect_one("empty.yaml", 1, "empty");
    expect_one("alias-bomb.yaml", 14, "billion laughs");
    expect_one("deep.yaml", 9, "nesting");
    assert_eq!(at("wrong-type.yaml").len(), 3);
    for file in [
        "grafana-string.yaml",
        "list.yaml",
        "typed-list.yaml",
        "utf8-bom.yaml",
        "crlf.yaml",
        "manifest.json",
        "not-an-object.yaml",
    ] {
        assert!(at(file).is_empty(), "{file} is valid: {:?}", at(file));
    }
    assert_eq!(at("empty.yaml")[0]["severity"], "info");
    assert_eq!(at("helm-template.yaml")[0]["severity"], "warning");
    // Documents around the broken one, and the other files, were still read.
    let objects = v["summary"]["objects"].as_u64().unwrap();
    assert!(objects >= 14, "only {objects} objects were read");
}

#[test]
fn stdin_is_read_with_dash() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_istio-preflight"))
        .args(["check", "-", "--format", "json", "--select", "IPF405"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let manifest =
        std::fs::read("fixtures/IPF405-grace-period-shorter-than-drain/input.yaml").unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), &manifest).unwrap();
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["summary"]["error"].as_u64().unwrap() > 0);
    assert_eq!(v["diagnostics"][0]["location"]["path"], "-");
}

#[test]
fn rules_lists_and_explains() {
    let list = run(&["rules", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let rules = v["rules"].as_array().unwrap();
    assert!(rules.iter().any(|r| r["code"] == "IPF405"
        && r["fixable"] == true
        && r["fix"] == "always"
        && r["category"] == "workloads"));
    assert!(rules
        .iter()
        .any(|r| r["code"] == "IPF302" && r["fix"] == "none" && r["fixable"] == false));
    for r in rules {
        for key in [
            "code", "name", "category", "severity", "summary", "fix", "fixable",
        ] {
            assert!(r.get(key).is_some());
        }
    }
    let one = stdout(&run(&["rules", "IPF405"]));
    assert!(one.contains("## Why it matters during an upgrade"));
    assert!(one.contains("terminationDrainDuration"));
}

#[test]
fn human_output_has_header_blocks_and_summary_without_colour_when_piped() {
    let out = stdout(&run(&["check", DEMO, "--target", "1.30.3"]));
    assert!(out.starts_with("control plane: default 1.28.2"), "{out}");
    assert!(out.contains("upgrade:       1.28.2 → 1.30.3 (canary)"));
    assert!(out.contains("fixtures/demo/apps/shop/cart.yaml:"));
    assert!(
        !out.contains('\u{1b}'),
        "no ANSI colour when not a terminal"
    );
    let last = out.lines().last().unwrap();
    assert!(
        last.contains(" in ") && last.contains("objects from"),
        "{last}"
    );
}

/// `cargo install --path .` installs what the root package builds: the product's one binary,
/// not the development tools (the bench lives in its own workspace package).
#[test]
fn the_package_builds_one_binary() {
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let root = metadata["packages"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "istio-preflight"))
        .expect("the root package");
    let bins: Vec<&str> = root["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| {
            t["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "bin"))
        })
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(bins, ["istio-preflight"]);
}
