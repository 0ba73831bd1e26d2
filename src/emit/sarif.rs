//! `--format sarif`: SARIF 2.1.0 for GitHub code scanning. Regions sit on the offending
//! field (never pinned to line 1), rules carry help, and every result has a fingerprint made
//! of rule + object identity + field path, so it survives unrelated edits to the file.

use serde_json::{json, Value};

use crate::diagnostic::{Diagnostic, Severity, Subject};
use crate::load::files::SourceFile;
use crate::report::Report;
use crate::rules::Rule;
use crate::yaml::Span;

pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// The docs page of a rule in the repository.
pub fn docs_url(rule: &Rule) -> String {
    format!(
        "{}/blob/main/rules/docs/{}.md",
        env!("CARGO_PKG_REPOSITORY"),
        rule.code
    )
}

/// The first paragraph of a rule's "What it does" section, for `fullDescription`.
fn full_description(rule: &Rule) -> String {
    let docs = rule.docs();
    let paragraph = docs
        .split("\n\n")
        .find(|p| !p.trim_start().starts_with('#') && !p.trim().is_empty())
        .unwrap_or(rule.summary)
        .replace('\n', " ");
    truncate(&paragraph, 1000)
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let cut: String = s.chars().take(max - 1).collect();
        format!("{cut}…")
    }
}

fn rule_descriptor(rule: &Rule) -> Value {
    let docs = rule.docs();
    let url = docs_url(rule);
    json!({
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": full_description(rule)},
        "help": {
            "text": format!("{docs}\nDocumentation: {url}"),
            "markdown": format!("{docs}\n\n[Rule documentation]({url})"),
        },
        "defaultConfiguration": {"level": level(rule.severity)},
        "properties": {
            // Code scanning filters by tag: the category is one.
            "tags": ["istio", "upgrade", "kubernetes", rule.category().as_str()],
            "precision": "high",
            "category": rule.category().as_str(),
            "fixAvailability": rule.fix.as_str(),
            "problem.severity": match rule.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "recommendation",
            },
        },
    })
}

/// The most results GitHub code scanning accepts in one run; a bigger file is rejected.
pub const MAX_RESULTS: usize = 25_000;

/// Where a file is, for code scanning: relative to the repository root (git top-level or
/// `$GITHUB_WORKSPACE`, never the current directory), percent-encoded. A file outside the
/// root gets an absolute `file://` URI, which upload-sarif relativizes or drops.
pub fn artifact_uri(report: &Report, file: &SourceFile) -> String {
    match report.repo_path(file) {
        Some(rel) => uri_path(&rel),
        None => {
            let abs = crate::settings::config::absolute(std::path::Path::new(&file.path));
            let abs = abs.to_string_lossy().replace('\\', "/");
            format!(
                "file://{}{}",
                if abs.starts_with('/') { "" } else { "/" },
                uri_path(&abs)
            )
        }
    }
}

/// A SARIF region: 1-based lines and UTF-16 columns, end column exclusive, never ending
/// before it starts.
fn region(file: &SourceFile, span: Span) -> Value {
    let (start, end) = (span.start, span.end);
    let start_line = start.line.max(1);
    let end_line = end.line.max(start_line);
    let start_column = file.utf16_column(start);
    let mut end_column = file.utf16_column(end);
    if end_line == start_line {
        end_column = end_column.max(start_column);
    }
    json!({
        "startLine": start_line,
        "startColumn": start_column,
        "endLine": end_line,
        "endColumn": end_column,
    })
}

/// Percent-encodes a relative path into a valid URI reference.
pub fn uri_path(path: &str) -> String {
    let mut out = String::new();
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn result(
    report: &Report,
    d: &Diagnostic,
    rule_index: Option<usize>,
    change: Option<&crate::fix::Replacement>,
) -> Value {
    let mut location = serde_json::Map::new();
    // Standard input has no file to point at.
    if let Some(l) = report.location(d).filter(|l| l.file.path != "-") {
        location.insert(
            "physicalLocation".into(),
            json!({
                "artifactLocation": {"uri": artifact_uri(report, l.file)},
                "region": region(l.file, l.span),
            }),
        );
    }
    if let Some(id) = d.object() {
        let o = report.inventory.object(id);
        location.insert(
            "logicalLocations".into(),
            json!([{
                "name": o.name(),
                "fullyQualifiedName": format!("{}/{}/{}", o.api_version(), o.kind(), if o.is_cluster_scoped() { o.name().to_string() } else { format!("{}/{}", o.namespace(), o.name()) }),
                "kind": "object",
            }]),
        );
    }
    let subject = report
        .subject_name(d)
        .map(|s| format!("{s}: "))
        .unwrap_or_default();
    let mut message = format!("{subject}{}", d.message);
    if let Some(fix) = &d.fix {
        message.push_str(&format!(". Fix: {}", fix.title));
    }
    let mut r = json!({
        "ruleId": d.code,
        "level": level(d.severity),
        "message": {"text": message},
        "locations": [Value::Object(location)],
        "partialFingerprints": {"istioPreflight/v1": report.fingerprint(d)},
    });
    if let Some(i) = rule_index {
        r["ruleIndex"] = i.into();
    }
    if let Some(state) = d.baseline_state {
        r["baselineState"] = state.as_str().into();
    }
    if let Some(field) = d.field() {
        r["properties"] = json!({"field": field.to_string()});
    }
    if let Some(fixes) = change.and_then(|c| fixes(report, d, c)) {
        r["fixes"] = fixes;
    }
    r
}

/// The safe or unsafe fix as whole-line replacements in the file that was read.
fn fixes(report: &Report, d: &Diagnostic, change: &crate::fix::Replacement) -> Option<Value> {
    let fix = d.fix.as_ref()?;
    let file = &report.files[change.file];
    Some(json!([{
        "description": {"text": format!("{} ({})", fix.title, match fix.applicability {
            crate::diagnostic::Applicability::Safe => "safe",
            _ => "unsafe: applied only with --unsafe-fixes",
        })},
        "artifactChanges": [{
            "artifactLocation": {"uri": uri_path(&file.path)},
            "replacements": [{
                "deletedRegion": {
                    "startLine": change.start.line,
                    "startColumn": file.utf16_column(change.start),
                    "endLine": change.end.line,
                    "endColumn": file.utf16_column(change.end),
                },
                "insertedContent": {"text": change.inserted},
            }],
        }],
    }]))
}

pub fn render(report: &Report) -> String {
    render_capped(report, MAX_RESULTS)
}

/// Renders at most `cap` results: when there are more, the most severe are kept (in their
/// usual order) and a notification says how many were left out.
pub fn render_capped(report: &Report, cap: usize) -> String {
    let rules: Vec<Value> = report.rules.iter().map(|r| rule_descriptor(r)).collect();
    // A finding about neither an object nor a file (an input path that could not be read)
    // has no location, and code scanning rejects results without one: it is reported as a
    // notification instead, below.
    let mut shown: Vec<(usize, &Diagnostic)> = report
        .diagnostics
        .iter()
        .enumerate()
        .filter(|(_, d)| d.subject != Subject::Estate)
        .collect();
    let omitted = shown.len().saturating_sub(cap);
    if omitted > 0 {
        let mut by_severity: Vec<usize> = (0..shown.len()).collect();
        // Stable: within a severity the earlier (sorted) findings win.
        by_severity.sort_by_key(|&i| std::cmp::Reverse(shown[i].1.severity));
        let mut keep: Vec<usize> = by_severity.into_iter().take(cap).collect();
        keep.sort_unstable();
        shown = keep.into_iter().map(|i| shown[i]).collect();
    }
    // The engine sorts by the path as shown (relative to the current directory); code
    // scanning sees repository paths, so order by those (stable: ties keep engine order).
    shown.sort_by_cached_key(|(_, d)| match report.location(d) {
        Some(l) => (
            artifact_uri(report, l.file),
            l.span.start.line,
            l.file.utf16_column(l.span.start),
            d.code,
        ),
        None => (String::new(), 0, 0, d.code),
    });
    // Fixes are keyed by the diagnostic's position in the report.
    let changes = crate::fix::replacements(report);
    let results: Vec<Value> = shown
        .iter()
        .map(|&(i, d)| {
            result(
                report,
                d,
                report.rules.iter().position(|r| r.code == d.code),
                changes.get(&i),
            )
        })
        .collect();
    let mut notifications: Vec<Value> = Vec::new();
    if omitted > 0 {
        notifications.push(json!({
            "level": "warning",
            "message": {"text": format!(
                "{omitted} of {} results were left out: GitHub code scanning accepts at most {cap} per run, so the most severe were kept. Run istio-preflight locally for the full list.",
                omitted + cap
            )},
        }));
    }
    for d in report
        .diagnostics
        .iter()
        .filter(|d| d.subject == Subject::Estate)
    {
        notifications.push(json!({
            "level": level(d.severity),
            "message": {"text": d.message},
            "descriptor": {"id": d.code},
        }));
    }
    // Files that could not be parsed are findings (IPF001) and also a problem for the run.
    for d in &report.diagnostics {
        if let (Subject::File { .. }, Some(l)) = (&d.subject, report.location(d)) {
            notifications.push(json!({
                "level": "error",
                "message": {"text": format!("{}: {}", l.file.path, d.message)},
                "descriptor": {"id": d.code},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": artifact_uri(report, l.file)},
                    "region": region(l.file, l.span),
                }}],
            }));
        }
    }
    for n in &report.notes {
        let mut v = json!({"level": "note", "message": {"text": n.message}});
        if let Some(f) = n.file {
            v["locations"] = json!([{"physicalLocation": {
                "artifactLocation": {"uri": artifact_uri(report, &report.files[f])},
                "region": {"startLine": n.line.max(1)},
            }}]);
        }
        notifications.push(v);
    }
    let log = json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": env!("CARGO_PKG_NAME"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": env!("CARGO_PKG_REPOSITORY"),
                "rules": rules,
            }},
            "columnKind": "utf16CodeUnits",
            "results": results,
            "invocations": [{
                "executionSuccessful": true,
                "toolExecutionNotifications": notifications,
            }],
        }],
    });
    let mut text = serde_json::to_string_pretty(&log).expect("sarif serializes");
    text.push('\n');
    text
}
