//! The release-data rules over the demo estate (what fixtures/demo/README.md promises) and
//! the whole rule set over real-world Istio inputs (it must never panic).

mod common;

use common::*;
use istio_preflight::diagnostic::Severity;

fn codes_on(report: &istio_preflight::report::Report, code: &str) -> Vec<String> {
    report
        .diagnostics
        .iter()
        .filter(|d| d.code == code)
        .map(|d| match d.object() {
            Some(id) => report.inventory.object(id).display_name(),
            None => "estate".to_string(),
        })
        .collect()
}

#[test]
fn demo_reports_what_its_readme_promises() {
    let report = istio_preflight::check(&check_args(&["fixtures/demo", "--target", "1.30.3"]))
        .expect("demo runs");
    let nodes = codes_on(&report, "IPF103");
    assert_eq!(nodes.len(), 1, "one IPF103 for the cluster: {nodes:?}");
    assert!(nodes[0].starts_with("Node "), "{nodes:?}");
    assert_eq!(
        codes_on(&report, "IPF105"),
        ["Deployment istio-system/istiod"],
        "1.28 is end-of-life on the test date"
    );
    for quiet in [
        "IPF102", "IPF301", "IPF302", "IPF303", "IPF304", "IPF306", "IPF307",
    ] {
        assert!(
            codes_on(&report, quiet).is_empty(),
            "{quiet} must not fire on the demo: {:?}",
            codes_on(&report, quiet)
        );
    }
    assert!(report
        .diagnostics
        .iter()
        .filter(|d| d.code == "IPF309")
        .all(|d| d.severity == Severity::Warning && d.object().is_none()));
    // In place, 1.28 -> 1.30 is two minors: too many.
    let in_place = istio_preflight::check(&check_args(&[
        "fixtures/demo",
        "--target",
        "1.30.3",
        "--strategy",
        "in-place",
    ]))
    .expect("demo runs");
    assert_eq!(
        codes_on(&in_place, "IPF102"),
        ["Deployment istio-system/istiod"]
    );
}

/// `../shared` next to the repository holds the corpus in CI clones; users' clones lack it.
fn shared() -> Option<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    dir.is_dir().then_some(dir)
}

#[test]
fn whole_rule_set_over_istio_inputs_does_not_panic() {
    let Some(shared) = shared() else {
        eprintln!("skipped: ../shared (the corpus) is not next to this repository");
        return;
    };
    for (dir, target) in [
        ("corpus/istio-analyzer-testdata", "1.30.3"),
        ("corpus/istio/samples", "1.30.3"),
        ("corpus/istio-analyzer-testdata", "1.22"),
    ] {
        let path = shared.join(dir);
        if !path.is_dir() {
            eprintln!("skipped: {} is absent", path.display());
            continue;
        }
        let path = path.to_string_lossy().to_string();
        let report = istio_preflight::check(&check_args(&[&path, "--target", target]))
            .unwrap_or_else(|e| panic!("{dir}: {e}"));
        assert!(
            !report.inventory.objects.is_empty(),
            "{dir}: nothing was read"
        );
        if dir == "corpus/istio/samples" {
            // Istio's own samples are valid for their release.
            assert!(
                report.diagnostics.iter().all(|d| d.code != "IPF305"),
                "IPF305 on Istio's samples: {:?}",
                report
                    .diagnostics
                    .iter()
                    .filter(|d| d.code == "IPF305")
                    .map(|d| &d.message)
                    .collect::<Vec<_>>()
            );
        }
        for format in [
            istio_preflight::emit::Format::Human,
            istio_preflight::emit::Format::Json,
            istio_preflight::emit::Format::Sarif,
        ] {
            assert!(!istio_preflight::emit::render(&report, format, false).is_empty());
        }
    }
}

#[test]
fn kubernetes_version_from_the_flag_is_judged_on_the_estate() {
    let run = |kube: &str| {
        istio_preflight::check(&check_args(&[
            "fixtures/IPF105-istio-version-eol",
            "--target",
            "1.30.3",
            "--kube-version",
            kube,
            "--select",
            "IPF103",
        ]))
        .expect("runs")
    };
    let old = run("1.31.2");
    assert_eq!(codes_on(&old, "IPF103"), ["estate"]);
    assert_eq!(old.diagnostics[0].severity, Severity::Error);
    assert!(old.diagnostics[0].message.contains("from --kube-version"));
    let newer = run("1.37.0");
    assert_eq!(codes_on(&newer, "IPF103"), ["estate"]);
    assert_eq!(newer.diagnostics[0].severity, Severity::Warning);
    assert!(codes_on(&run("v1.33.1-gke.100"), "IPF103").is_empty());
}

#[test]
fn a_target_older_than_the_data_is_past_its_end_of_life() {
    let report = istio_preflight::check(&check_args(&[
        "fixtures/IPF102-upgrade-hop-too-large-in-place",
        "--target",
        "1.16.0",
        "--select",
        "IPF105",
    ]))
    .expect("runs");
    let messages: Vec<&str> = report
        .diagnostics
        .iter()
        .filter(|d| d.object().is_none())
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0].contains("older than every release"),
        "{messages:?}"
    );
}
