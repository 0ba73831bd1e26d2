//! `--format sarif`: SARIF 2.1.0 for GitHub code scanning. Regions sit on the offending
//! field (never pinned to line 1), rules carry help, and every result has a fingerprint made
//! of rule + object identity + field path, so it survives unrelated edits to the file.

use serde_json::{json, Value};

use crate::diagnostic::{Diagnostic, Severity};
use crate::report::Report;
use crate::rules::Rule;

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
            "tags": ["istio", "upgrade", "kubernetes"],
            "precision": "high",
            "problem.severity": match rule.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "recommendation",
            },
        },
    })
}

/// FNV-1a, 64 bits: stable across platforms and Rust versions, unlike std's hasher.
pub fn fingerprint(parts: &[&str]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
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

fn diagnostic_fingerprint(report: &Report, d: &Diagnostic) -> String {
    let field = d.field().map(ToString::to_string).unwrap_or_default();
    match d.object() {
        Some(id) => {
            let o = report.inventory.object(id);
            fingerprint(&[
                d.code,
                &o.api_version,
                &o.kind,
                o.namespace(),
                &o.name,
                &field,
            ])
        }
        None => {
            let path = report
                .location(d)
                .map(|l| l.file.path.clone())
                .unwrap_or_default();
            fingerprint(&[d.code, &path, &d.message])
        }
    }
}

fn result(
    report: &Report,
    d: &Diagnostic,
    rule_index: Option<usize>,
    change: Option<&crate::fix::Replacement>,
) -> Value {
    let mut location = serde_json::Map::new();
    if let Some(l) = report.location(d) {
        let (start, end) = (l.span.start, l.span.end);
        location.insert(
            "physicalLocation".into(),
            json!({
                "artifactLocation": {"uri": uri_path(&l.file.path)},
                "region": {
                    "startLine": start.line,
                    "startColumn": l.file.utf16_column(start),
                    "endLine": end.line.max(start.line),
                    "endColumn": l.file.utf16_column(end),
                },
            }),
        );
    }
    if let Some(id) = d.object() {
        let o = report.inventory.object(id);
        location.insert(
            "logicalLocations".into(),
            json!([{
                "name": o.name,
                "fullyQualifiedName": format!("{}/{}/{}", o.api_version, o.kind, if o.is_cluster_scoped() { o.name.clone() } else { format!("{}/{}", o.namespace(), o.name) }),
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
        "partialFingerprints": {"istioPreflight/v1": diagnostic_fingerprint(report, d)},
    });
    if let Some(i) = rule_index {
        r["ruleIndex"] = i.into();
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
    let rules: Vec<Value> = report.rules.iter().map(|r| rule_descriptor(r)).collect();
    let changes = crate::fix::replacements(report);
    let results: Vec<Value> = report
        .diagnostics
        .iter()
        .enumerate()
        .map(|(i, d)| {
            result(
                report,
                d,
                report.rules.iter().position(|r| r.code == d.code),
                changes.get(&i),
            )
        })
        .collect();
    let notifications: Vec<Value> = report
        .notes
        .iter()
        .map(|n| {
            let mut v = json!({"level": "note", "message": {"text": n.message}});
            if let Some(f) = n.file {
                v["locations"] = json!([{"physicalLocation": {
                    "artifactLocation": {"uri": uri_path(&report.files[f].path)},
                    "region": {"startLine": n.line.max(1)},
                }}]);
            }
            v
        })
        .collect();
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
