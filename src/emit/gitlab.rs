//! `--format gitlab`: GitLab Code Quality JSON (the `codequality` report of a CI job),
//! shown in merge-request widgets and diffs. An array of issues with `description`,
//! `check_name`, `fingerprint`, `severity` and `location` (`path` relative to the
//! repository root, `lines.begin`/`end`), the fields GitLab documents as required.
//!
//! The fingerprint is the identity baselines and SARIF use (rule, object, field, overlay),
//! so an issue keeps its identity across unrelated edits. GitLab keeps one issue per
//! fingerprint, so a second finding with the same identity gets `-2` appended, and so on.
//! Findings without a place in a file (a live cluster, the estate) point at `.` line 1:
//! the description names the object.

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::diagnostic::Severity;
use crate::report::Report;

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Error => "critical",
        Severity::Warning => "major",
        Severity::Info => "info",
    }
}

pub fn render(report: &Report) -> String {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let issues: Vec<Value> = report
        .diagnostics
        .iter()
        .map(|d| {
            let mut fingerprint = report.fingerprint(d);
            let n = seen.entry(fingerprint.clone()).or_insert(0);
            *n += 1;
            if *n > 1 {
                fingerprint.push_str(&format!("-{n}"));
            }
            let (path, begin, end) = match report.location(d).filter(|l| l.file.path != "-") {
                Some(l) => {
                    let begin = l.span.start.line.max(1);
                    (
                        report
                            .repo_path(l.file)
                            .unwrap_or_else(|| l.file.path.clone()),
                        begin,
                        l.span.end.line.max(begin),
                    )
                }
                None => (".".to_string(), 1, 1),
            };
            let subject = report
                .subject_name(d)
                .map(|s| format!("{s}: "))
                .unwrap_or_default();
            json!({
                "description": format!("{} {subject}{}", d.code, d.message),
                "check_name": d.code,
                "fingerprint": fingerprint,
                "severity": severity(d.severity),
                "location": {"path": path, "lines": {"begin": begin, "end": end}},
            })
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&issues).expect("issues serialize");
    text.push('\n');
    text
}
