//! `.istio-preflight.yaml`, suppressions and baselines, through the binary (discovery
//! depends on the working directory).

use super::*;

#[test]
fn config_is_found_upward_and_flags_override_it() {
    let s = Scratch::new("discover");
    s.demo("estate");
    s.write(
        ".istio-preflight.yaml",
        "# found from estate/apps, two levels down\ntarget: 1.30.3\nselect: [IPF406]\nseverity:\n  IPF406: error\n",
    );
    let cwd = s.path("estate/apps");

    let r = run(&cwd, &["check", "..", "--format", "json"], &[]);
    let j = r.json();
    assert_eq!(j["estate"]["upgrade"]["target"], "1.30.3");
    assert_eq!(
        findings(&j),
        pairs(&[
            ("IPF406", "Deployment payments/checkout"),
            ("IPF406", "Deployment shop/cart"),
            ("IPF406", "Deployment shop/catalog"),
        ])
    );
    assert!(j["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["severity"] == "error"));
    assert_eq!(r.code, 1, "IPF406 raised to error fails the run");

    // Flags win over the file; a list flag replaces the file's list.
    let r = run(
        &cwd,
        &[
            "check", "..", "--format", "json", "--select", "IPF405", "--target", "1.29.0",
        ],
        &[],
    );
    let j = r.json();
    assert_eq!(j["estate"]["upgrade"]["target"], "1.29.0");
    assert_eq!(findings(&j), pairs(&[("IPF405", "Deployment shop/cart")]));

    // --no-config ignores it; --config names another file.
    let r = run(
        &cwd,
        &["check", "..", "--format", "json", "--no-config"],
        &[],
    );
    let j = r.json();
    assert!(j["estate"]["upgrade"]["target"].is_null());
    assert!(findings(&j).len() > 3);
    // Its own `select` keeps the expected list to what these rules find in the demo.
    s.write(
        "other.yaml",
        &format!("target: 1.30.3\n{DEMO_RULES_CONFIG}ignore: IPF4\n"),
    );
    let r = run(
        &cwd,
        &[
            "check",
            "..",
            "--format",
            "json",
            "--config",
            "../../other.yaml",
        ],
        &[],
    );
    assert_eq!(
        findings(&r.json()),
        pairs(&[
            ("IPF101", "Pod shop/cart-6b8f7c9d54-q7x2m"),
            ("IPF203", "Namespace payments")
        ])
    );
}

#[test]
fn a_bad_config_is_a_usage_error_naming_the_key_and_line() {
    let s = Scratch::new("badconfig");
    s.demo("estate");
    s.write(
        ".istio-preflight.yaml",
        "target: 1.30.3\nsuppressions: []\ncolour: blue\n",
    );
    let r = run(&s.dir, &["check", "estate"], &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains(".istio-preflight.yaml:3: unknown key `colour`"),
        "{}",
        r.stderr
    );
    let r = run(
        &s.dir,
        &["check", "estate", "--config", "missing.yaml"],
        &[],
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("missing.yaml does not exist"),
        "{}",
        r.stderr
    );
}

#[test]
fn suppressions_apply_expire_and_stale_ones_are_reported() {
    let s = Scratch::new("suppress");
    s.demo("estate");
    s.write(
        ".istio-preflight.yaml",
        "target: 1.30.3
suppressions:
  - code: IPF406
    object: Deployment/shop/*
    reason: shop apps retry until their sidecar is up
  - code: IPF101
    path: estate/apps/shop/pods-*.yaml
    reason: the pod is replaced by the rollout anyway
  - code: IPF405
    object: Deployment/shop/cart
    reason: an old waiver
    expires: 2000-01-01
  - code: IPF203
    object: Namespace/shop
    reason: nothing fires here any more
  - code: IPF203
    object: Namespace/not-in-this-repository
    reason: lives in another repository, so it is not stale here
",
    );
    let r = run(
        &s.dir,
        &[
            "check", "estate", "--format", "json", "--select", DEMO_RULES,
        ],
        &[],
    );
    let j = r.json();
    assert_eq!(
        findings(&j),
        pairs(&[
            ("IPF203", "Namespace payments"),
            ("IPF405", "Deployment shop/cart"),
            ("IPF406", "Deployment payments/checkout"),
        ])
    );
    let notes = notes(&j);
    assert!(
        notes.contains(
            &".istio-preflight.yaml: 3 findings suppressed by 2 of its suppressions".to_string()
        ),
        "{notes:?}"
    );
    let expired: Vec<&String> = notes.iter().filter(|n| n.contains("expired")).collect();
    assert_eq!(expired.len(), 1, "{notes:?}");
    assert!(expired[0].starts_with(".istio-preflight.yaml:9: the suppression of IPF405 on Deployment/shop/cart expired on 2000-01-01"), "{notes:?}");
    let unused: Vec<&String> = notes
        .iter()
        .filter(|n| n.contains("matched no finding"))
        .collect();
    assert_eq!(
        unused,
        [".istio-preflight.yaml:13: the suppression of IPF203 on Namespace/shop matched no finding; remove it"],
        "{notes:?}"
    );
    // Suppressed findings do not count towards the exit code; the expired one does.
    assert_eq!(r.code, 1);
}

#[test]
fn suppression_expiry_reads_the_same_clock_as_the_rules() {
    let s = Scratch::new("suppress-clock");
    s.demo("estate");
    s.write(
        ".istio-preflight.yaml",
        "target: 1.30.3\nsuppressions:\n  - code: IPF405\n    object: Deployment/shop/cart\n    reason: waived until the autumn\n    expires: 2026-09-30\n",
    );
    let run_on = |today: &str| {
        let r = run(
            &s.dir,
            &["check", "estate", "--format", "json", "--select", "IPF405"],
            &[("ISTIO_PREFLIGHT_TODAY", today)],
        );
        (findings(&r.json()), notes(&r.json()))
    };
    let cart = ("IPF405".to_string(), "Deployment shop/cart".to_string());
    // The wall clock is neither of these days: expiry follows ISTIO_PREFLIGHT_TODAY.
    let (before, _) = run_on("2026-09-30");
    assert!(
        !before.contains(&cart),
        "suppressed on its last day: {before:?}"
    );
    let (after, notes) = run_on("2026-10-01");
    assert!(after.contains(&cart), "reported the day after: {after:?}");
    assert!(
        notes.iter().any(|n| n.contains("expired on 2026-09-30")),
        "{notes:?}"
    );
}

#[test]
fn excluded_paths_are_not_read() {
    let s = Scratch::new("exclude");
    s.demo("estate");
    s.write(
        ".istio-preflight.yaml",
        "target: 1.30.3\nexclude:\n  - estate/apps/payments\n  - \"**/pods-dump.yaml\"\n",
    );
    let all = run(
        &s.dir,
        &["check", "estate", "--format", "json", "--no-config"],
        &[],
    )
    .json();
    let r = run(
        &s.dir,
        &[
            "check", "estate", "--format", "json", "--select", DEMO_RULES,
        ],
        &[],
    );
    let j = r.json();
    assert_eq!(
        j["summary"]["files"].as_u64().unwrap() + 2,
        all["summary"]["files"].as_u64().unwrap()
    );
    assert_eq!(
        findings(&j),
        pairs(&[
            ("IPF203", "Namespace payments"),
            ("IPF405", "Deployment shop/cart"),
            ("IPF406", "Deployment shop/cart"),
            ("IPF406", "Deployment shop/catalog"),
        ])
    );
    // Named files are excluded too (pre-commit names files).
    let r = run(
        &s.dir,
        &[
            "check",
            "estate/apps/payments/checkout.yaml",
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(r.json()["summary"]["files"], 0);
}

/// Moves every line of a file down and reverses the order of its documents.
fn shuffle(path: &Path) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut docs: Vec<&str> = text.split("\n---\n").collect();
    docs.reverse();
    let shuffled = format!("# moved\n# moved\n# moved\n{}\n", docs.join("\n---\n"));
    std::fs::write(path, shuffled).unwrap();
}

fn location_line(report: &serde_json::Value, code: &str) -> u64 {
    report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == code)
        .unwrap()["location"]["line"]
        .as_u64()
        .unwrap()
}

#[test]
fn a_baseline_reports_only_new_findings_and_survives_moved_lines_and_documents() {
    let s = Scratch::new("baseline");
    s.git_root();
    s.demo("estate");
    let check = |extra: &[&str]| {
        let mut args = vec![
            "check", "estate", "--target", "1.30.3", "--format", "json", "--select", DEMO_RULES,
        ];
        args.extend_from_slice(extra);
        run(&s.dir, &args, &[])
    };

    let r = check(&["--write-baseline", "baseline.json"]);
    assert_eq!(r.code, 1, "writing a baseline still reports: {}", r.stderr);
    let before = r.json();
    assert!(notes(&before).contains(&"wrote 6 findings to the baseline baseline.json".to_string()));
    let written = s.read("baseline.json");
    let b: serde_json::Value = serde_json::from_str(&written).unwrap();
    assert_eq!(b["version"], 1);
    assert_eq!(b["findings"].as_array().unwrap().len(), 6);
    assert!(
        !written.contains("\"line\""),
        "a baseline records no line numbers"
    );

    let r = check(&["--baseline", "baseline.json"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(findings(&r.json()), Vec::<(String, String)>::new());
    assert_eq!(
        notes(&r.json()),
        ["baseline.json: 6 findings already in the baseline, not reported"]
    );

    // Unrelated edits: every line of two files moves and their documents swap places.
    shuffle(&s.path("estate/apps/shop/cart.yaml"));
    shuffle(&s.path("estate/apps/payments/checkout.yaml"));
    let moved = check(&[]).json();
    assert_ne!(
        location_line(&before, "IPF405"),
        location_line(&moved, "IPF405"),
        "the edit must move the finding for this test to mean anything"
    );
    assert_eq!(findings(&moved), demo_findings());
    let r = check(&["--baseline", "baseline.json"]);
    assert_eq!(r.code, 0);
    assert_eq!(findings(&r.json()), Vec::<(String, String)>::new());

    // A new workload is new.
    let cart = s.read("estate/apps/shop/cart.yaml");
    s.write(
        "estate/apps/shop/cart2.yaml",
        &cart.replace("cart", "cart2"),
    );
    let r = check(&["--baseline", "baseline.json"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        findings(&r.json()),
        pairs(&[
            ("IPF405", "Deployment shop/cart2"),
            ("IPF406", "Deployment shop/cart2")
        ])
    );

    // A fixed finding leaves a stale entry, which is reported so the baseline shrinks.
    std::fs::remove_file(s.path("estate/apps/shop/catalog.yaml")).unwrap();
    let r = check(&["--baseline", "baseline.json"]);
    assert_eq!(
        notes(&r.json()),
        [
            "baseline.json: 5 findings already in the baseline, not reported",
            "baseline.json: 1 baseline entry no longer matches a finding (IPF406 on Deployment/shop/catalog); rewrite the baseline with --write-baseline"
        ]
    );

    // A run over part of the estate does not call the rest of the baseline stale.
    let r = run(
        &s.dir,
        &[
            "check",
            "estate/cluster",
            "estate/istio-system",
            "--target",
            "1.30.3",
            "--format",
            "json",
            "--select",
            DEMO_RULES,
            "--baseline",
            "baseline.json",
        ],
        &[],
    );
    let j = r.json();
    assert!(
        !notes(&j).iter().any(|n| n.contains("shop/cart")),
        "{:?}",
        notes(&j)
    );
}

#[test]
fn a_broken_baseline_is_a_usage_error() {
    let s = Scratch::new("badbaseline");
    s.demo("estate");
    s.write("baseline.json", "{\"findings\": 3}");
    let r = run(
        &s.dir,
        &["check", "estate", "--baseline", "baseline.json"],
        &[],
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("not an istio-preflight baseline"),
        "{}",
        r.stderr
    );
}
