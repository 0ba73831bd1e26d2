//! `--format junit`: JUnit XML for the test-report views of GitLab, Jenkins, Azure DevOps
//! and Buildkite.
//!
//! One `<testsuite>` per rule that ran (and per code that reported without being selected,
//! such as IPF001 for a file that does not parse). In it, one `<testcase>` per finding
//! (per rule and object, field and overlay); the case's name carries the object and the
//! `file:line` of the field. A rule that found nothing has one passing case, `no findings`,
//! so the report shows every rule that ran — checking each object one case at a time would
//! make thousands of cases that say nothing.
//!
//! A finding that fails the run (at or above `--fail-on`, and with `--base` only a new one
//! unless `--fail-on-existing`: the same test as the exit code) is a `<failure>`. A finding
//! that does not fail the run is a passing case with the finding in `<system-out>`: all
//! four consumers show a passed case's output, and `<skipped>` would say the check did not
//! run, which is false. The output stays valid against the Jenkins xunit JUnit schema
//! (`tests/data/junit-10.xsd`), which has no `file`/`line` attributes on a test case.

use std::collections::HashMap;

use crate::diagnostic::Diagnostic;
use crate::emit::Gate;
use crate::report::Report;

/// One suite: a rule code, its name and the indices of its findings.
struct Suite<'a> {
    code: &'a str,
    name: &'a str,
    findings: Vec<&'a Diagnostic>,
    failures: usize,
}

pub fn render(report: &Report, gate: Gate) -> String {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut suites: Vec<Suite> = Vec::new();
    for rule in &report.rules {
        index.insert(rule.code, suites.len());
        suites.push(Suite {
            code: rule.code,
            name: rule.name,
            findings: Vec::new(),
            failures: 0,
        });
    }
    for d in &report.diagnostics {
        let i = *index.entry(d.code).or_insert_with(|| {
            suites.push(Suite {
                code: d.code,
                name: d.name,
                findings: Vec::new(),
                failures: 0,
            });
            suites.len() - 1
        });
        let suite = &mut suites[i];
        suite.findings.push(d);
        suite.failures += usize::from(gate.fails(d));
    }
    let tests: usize = suites.iter().map(|s| s.findings.len().max(1)).sum();
    let failures: usize = suites.iter().map(|s| s.failures).sum();

    let mut out = String::with_capacity(256 + report.diagnostics.len() * 512);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str("<testsuites name=\"istio-preflight\"");
    counts(&mut out, tests, failures);
    out.push_str(">\n");
    for suite in &suites {
        out.push_str("  <testsuite name=\"");
        attr(&mut out, suite.code);
        out.push(' ');
        attr(&mut out, suite.name);
        out.push('"');
        counts(&mut out, suite.findings.len().max(1), suite.failures);
        out.push_str(">\n");
        if suite.findings.is_empty() {
            out.push_str("    <testcase name=\"no findings\" classname=\"");
            classname(&mut out, suite.code);
            out.push_str("\"/>\n");
        }
        for d in &suite.findings {
            case(&mut out, report, d, gate.fails(d));
        }
        out.push_str("  </testsuite>\n");
    }
    if !report.notes.is_empty() {
        // Notes (stale suppressions, skipped files) are no test: they go to the output of
        // a suite of their own, which has no cases.
        out.push_str("  <testsuite name=\"istio-preflight notes\"");
        counts(&mut out, 0, 0);
        out.push_str(">\n    <system-out>");
        for n in &report.notes {
            if let Some(f) = n.file {
                text(&mut out, &report.files[f].path);
                if n.line > 0 {
                    out.push(':');
                    out.push_str(&n.line.to_string());
                }
                out.push_str(": ");
            }
            text(&mut out, &n.message);
            out.push('\n');
        }
        out.push_str("</system-out>\n  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

fn counts(out: &mut String, tests: usize, failures: usize) {
    out.push_str(&format!(
        " tests=\"{tests}\" failures=\"{failures}\" errors=\"0\""
    ));
}

fn classname(out: &mut String, code: &str) {
    out.push_str("istio-preflight.");
    attr(out, code);
}

/// One finding as a test case: failed, or passed with the finding as its output.
fn case(out: &mut String, report: &Report, d: &Diagnostic, fails: bool) {
    let location = report.location(d).map(|l| {
        let path = report
            .repo_path(l.file)
            .unwrap_or_else(|| l.file.path.clone());
        format!("{path}:{}", l.span.start.line.max(1))
    });
    let subject = report.subject_name(d);
    let field = d.field().map(ToString::to_string).filter(|f| !f.is_empty());
    // The case name: what and where, unique within the rule's suite in practice.
    let name: Vec<&str> = [subject.as_deref(), field.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    let mut name = if name.is_empty() {
        "estate".to_string()
    } else {
        name.join(" ")
    };
    if let Some(at) = &location {
        name.push_str(" at ");
        name.push_str(at);
    }
    out.push_str("    <testcase name=\"");
    attr(out, &name);
    out.push_str("\" classname=\"");
    classname(out, d.code);
    out.push_str("\">\n");
    let body = |out: &mut String| {
        if let Some(at) = &location {
            text(out, at);
            out.push_str(": ");
        }
        out.push_str(d.severity.as_str());
        out.push(' ');
        text(out, d.code);
        out.push(' ');
        text(out, d.name);
        out.push('\n');
        if let Some(s) = &subject {
            text(out, s);
            out.push_str(": ");
        }
        text(out, &d.message);
        out.push('\n');
        if let Some(fix) = &d.fix {
            out.push_str("Fix: ");
            text(out, &fix.title);
            out.push('\n');
        }
        if d.pre_existing() {
            out.push_str("Pre-existing: the base commit has the same finding.\n");
        }
        if let Some(rule) = crate::rules::find(d.code) {
            out.push_str("Docs: ");
            text(out, &crate::emit::sarif::docs_url(rule));
            out.push('\n');
        }
    };
    if fails {
        out.push_str("      <failure type=\"");
        out.push_str(d.severity.as_str());
        out.push_str("\" message=\"");
        attr(out, &d.message);
        out.push_str("\">");
        body(out);
        out.push_str("</failure>\n");
    } else {
        out.push_str("      <system-out>");
        body(out);
        out.push_str("</system-out>\n");
    }
    out.push_str("    </testcase>\n");
}

/// Element text: `&`, `<` and `>` escaped, and characters XML 1.0 cannot carry at all
/// (control characters other than tab, newline and carriage return) replaced.
fn text(out: &mut String, s: &str) {
    escape(out, s, false);
}

/// An attribute value in double quotes: also `"`, `'` and the whitespace characters that
/// attribute normalization would turn into spaces.
fn attr(out: &mut String, s: &str) {
    escape(out, s, true);
}

fn escape(out: &mut String, s: &str, attribute: bool) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\'' if attribute => out.push_str("&apos;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\t' | '\n' => out.push(c),
            c if (c as u32) < 0x20 || matches!(c, '\u{FFFE}' | '\u{FFFF}') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(s: &str, attribute: bool) -> String {
        let mut out = String::new();
        escape(&mut out, s, attribute);
        out
    }

    #[test]
    fn escapes_markup_quotes_and_control_characters() {
        assert_eq!(
            escaped("a<b>&\"c'\n\t\r\u{1}\u{FFFF}", true),
            "a&lt;b&gt;&amp;&quot;c&apos;&#10;&#9;&#13;\u{FFFD}\u{FFFD}"
        );
        assert_eq!(escaped("]]>\"x\"\n\t", false), "]]&gt;\"x\"\n\t");
    }
}
