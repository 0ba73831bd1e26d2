//! `--format junit`: valid against the Jenkins xunit JUnit schema (tests/data/junit-10.xsd,
//! checked with `xmllint` when it is installed), one suite per rule that ran, failures
//! exactly where the exit code fails, and every text escaped.

use super::*;
use istio_preflight::diagnostic::Severity;
use istio_preflight::emit::{self, Format, Gate};

/// Validates `xml` against the vendored schema with xmllint; `false` (with a message) when
/// xmllint is not installed (Debian: libxml2-utils).
fn xmllint_valid(xml: &str, name: &str) -> bool {
    if Command::new("xmllint").arg("--version").output().is_err() {
        eprintln!("skipping the JUnit schema check: xmllint not installed (apt-get install libxml2-utils)");
        return false;
    }
    let scratch = Scratch::new(&format!("junit-xsd-{name}"));
    let file = scratch.write("report.xml", xml);
    let out = Command::new("xmllint")
        .args(["--noout", "--schema", "tests/data/junit-10.xsd"])
        .arg(&file)
        .output()
        .expect("xmllint runs");
    assert!(
        out.status.success(),
        "JUnit XML invalid: {}\n{xml}",
        String::from_utf8_lossy(&out.stderr)
    );
    true
}

fn count(xml: &str, needle: &str) -> usize {
    xml.matches(needle).count()
}

#[test]
fn demo_is_schema_valid_and_fails_exactly_at_the_threshold() {
    let report = full_demo_report();
    assert!(!report.diagnostics.is_empty());
    for fail_on in [Some(Severity::Error), Some(Severity::Info), None] {
        let gate = Gate {
            fail_on,
            count_existing: false,
        };
        let xml = emit::render_gated(&report, Format::Junit, false, gate);
        let failing = report.diagnostics.iter().filter(|d| gate.fails(d)).count();
        assert_eq!(count(&xml, "<failure "), failing, "{fail_on:?}");
        assert!(xml.contains(&format!("failures=\"{failing}\"")));
        // Every finding is a case: failed, or passed with the finding as its output.
        assert_eq!(
            count(&xml, "<system-out>") - usize::from(!report.notes.is_empty()),
            report.diagnostics.len() - failing
        );
        // Every rule that ran has a suite; clean ones one passing case.
        for rule in &report.rules {
            assert!(xml.contains(&format!("<testsuite name=\"{} {}\"", rule.code, rule.name)));
        }
        let clean = report
            .rules
            .iter()
            .filter(|r| report.diagnostics.iter().all(|d| d.code != r.code))
            .count();
        assert!(clean > 0);
        assert_eq!(count(&xml, "<testcase name=\"no findings\""), clean);
        xmllint_valid(&xml, "demo");
    }
    // The finding's place is in the case name.
    let xml = emit::render(&report, Format::Junit, false);
    assert!(
        xml.contains(" at fixtures/demo/apps/shop/pods-dump.yaml:"),
        "{xml}"
    );
}

#[test]
fn escapes_paths_and_writes_to_output_file() {
    let s = Scratch::new("junit-escape");
    s.git_root();
    // A single-replica meshed Deployment (IPF404) in a file whose name needs escaping.
    s.write(
        "apps/a&b<\"c'>.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n    istio-injection: enabled\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: cart\n  namespace: shop\nspec:\n  replicas: 1\n  strategy:\n    type: Recreate\n  selector:\n    matchLabels: {app: cart}\n  template:\n    metadata:\n      labels: {app: cart}\n    spec:\n      containers:\n      - name: app\n        image: cart:1\n",
    );
    let r = run(
        &s.dir,
        &[
            "check",
            "apps",
            "--no-config",
            "--select",
            "IPF404",
            "--format",
            "junit",
            "--fail-on",
            "warning",
            "--output",
            "report.xml",
        ],
        &[],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stdout.is_empty());
    let xml = s.read("report.xml");
    assert!(
        xml.contains("apps/a&amp;b&lt;&quot;c&apos;&gt;.yaml:"),
        "{xml}"
    );
    assert_eq!(count(&xml, "<failure "), 1, "{xml}");
    xmllint_valid(&xml, "escape");
}
