//! What the team decided about findings, applied after the rules ran: severity overrides and
//! suppressions from `.istio-preflight.yaml`, then the baseline. Rules never see any of it.
//!
//! Stale decisions are reported as notes (never as findings, so they do not change the exit
//! code): an expired suppression, a suppression that matched nothing it could have matched,
//! and baseline entries whose findings are gone. Notes show in every format — after the
//! findings in human output, under `notes` in JSON, as `toolExecutionNotifications` in SARIF
//! and as `::notice` in GitHub annotations.

use std::path::Path;

pub mod baseline;

use crate::diagnostic::Diagnostic;
use crate::load::files::Note;
use crate::model::date::Date;
use crate::model::Object;
use crate::policy::baseline::{Baseline, Entry};
use crate::report::Report;
use crate::settings::config::Config;

/// `Kind/namespace/name`, or `Kind/name` for cluster-scoped kinds: what suppression `object`
/// globs match.
pub fn object_identity(o: &Object) -> String {
    if o.is_cluster_scoped() {
        format!("{}/{}", o.kind(), o.name())
    } else {
        format!("{}/{}/{}", o.kind(), o.namespace(), o.name())
    }
}

fn count(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

fn note(message: String) -> Note {
    Note {
        file: None,
        line: 0,
        message,
    }
}

/// Applies the config file's severity overrides and suppressions to the report.
pub fn apply_config(report: &mut Report, config: &Config, today: Date) {
    for d in &mut report.diagnostics {
        if let Some(s) = config.severity_for(d.code) {
            d.severity = s;
        }
    }
    let mut used = vec![0usize; config.suppressions.len()];
    let diagnostics = std::mem::take(&mut report.diagnostics);
    let mut kept = Vec::with_capacity(diagnostics.len());
    for d in diagnostics {
        let object = d
            .object()
            .map(|id| object_identity(report.inventory.object(id)));
        let path = report.location(&d).and_then(|l| {
            crate::settings::config::relative_to(&config.dir, Path::new(&l.file.path))
        });
        let hit = config.suppressions.iter().position(|s| {
            !s.is_expired(today)
                && s.matches_code(d.code)
                && s.object
                    .as_ref()
                    .is_none_or(|g| object.as_deref().is_some_and(|o| g.matches(o)))
                && s.path
                    .as_ref()
                    .is_none_or(|g| path.as_deref().is_some_and(|p| g.matches(p)))
        });
        match hit {
            Some(i) => used[i] += 1,
            None => kept.push(d),
        }
    }
    report.diagnostics = kept;

    // Say what a green run hides, so nobody mistakes suppressed for fixed.
    let suppressed: usize = used.iter().sum();
    if suppressed > 0 {
        report.notes.push(note(format!(
            "{}: {} suppressed by {} of its suppressions",
            config.path,
            count(suppressed, "finding"),
            used.iter().filter(|&&n| n > 0).count()
        )));
    }
    for (s, used) in config.suppressions.iter().zip(used) {
        let at = format!("{}:{}", config.path, s.line);
        if s.is_expired(today) {
            let expires = s.expires.map(|e| e.to_string()).unwrap_or_default();
            report.notes.push(note(format!(
                "{at}: the suppression of {} expired on {expires}, so its findings are reported again; fix them, or renew it with a new date and reason",
                s.describe()
            )));
        } else if used == 0 && in_scope(report, config, s) {
            report.notes.push(note(format!(
                "{at}: the suppression of {} matched no finding; remove it",
                s.describe()
            )));
        }
    }
}

/// Whether a suppression could have matched something in this run: its rule ran, and its
/// object and path globs match something that was read. A suppression for files or objects
/// outside the run (pre-commit checks only the changed files) is not "unused".
fn in_scope(report: &Report, config: &Config, s: &crate::settings::config::Suppression) -> bool {
    let rule_ran = report.rules.iter().any(|r| s.matches_code(r.code));
    let object_read = s.object.as_ref().is_none_or(|g| {
        report
            .inventory
            .objects
            .iter()
            .any(|o| g.matches(&object_identity(o)))
    });
    let path_read = s.path.as_ref().is_none_or(|g| {
        report.files.iter().any(|f| {
            crate::settings::config::relative_to(&config.dir, Path::new(&f.path))
                .is_some_and(|p| g.matches(&p))
        })
    });
    rule_ran && object_read && path_read
}

/// The baseline entry of a finding.
pub fn baseline_entry(report: &Report, d: &Diagnostic) -> Entry {
    Entry {
        fingerprint: report.fingerprint(d),
        code: d.code.to_string(),
        object: d
            .object()
            .map(|id| object_identity(report.inventory.object(id)))
            .unwrap_or_default(),
        field: d.field().map(ToString::to_string).unwrap_or_default(),
        path: report
            .location(d)
            .map(|l| {
                report
                    .repo_path(l.file)
                    .unwrap_or_else(|| l.file.path.clone())
            })
            .unwrap_or_default(),
        message: d.message.clone(),
    }
}

/// Records the report's findings as a baseline.
pub fn baseline_of(report: &Report) -> Baseline {
    Baseline::new(
        report
            .diagnostics
            .iter()
            .map(|d| baseline_entry(report, d))
            .collect(),
    )
}

/// Keeps only the findings the baseline does not accept, and notes entries that no longer
/// match a finding (so the baseline shrinks as findings are fixed).
pub fn apply_baseline(report: &mut Report, baseline: &Baseline, shown: &str) {
    let mut budget = baseline.budget();
    let diagnostics = std::mem::take(&mut report.diagnostics);
    let before = diagnostics.len();
    let mut kept = Vec::with_capacity(diagnostics.len());
    for d in diagnostics {
        let fp = report.fingerprint(&d);
        match budget.get_mut(fp.as_str()) {
            Some(n) if *n > 0 => *n -= 1,
            _ => kept.push(d),
        }
    }
    let accepted = before - kept.len();
    report.diagnostics = kept;
    if accepted > 0 {
        report.notes.push(note(format!(
            "{shown}: {} already in the baseline, not reported",
            count(accepted, "finding")
        )));
    }

    // Only entries the run could have seen count as stale: their rule ran, and their object
    // or file was read or their file is gone. A run over part of the estate (pre-commit on
    // one directory) says nothing about the findings in files it did not read.
    let objects: std::collections::HashSet<String> = report
        .inventory
        .objects
        .iter()
        .map(object_identity)
        .collect();
    let files: std::collections::HashSet<String> = report
        .files
        .iter()
        .map(|f| report.repo_path(f).unwrap_or_else(|| f.path.clone()))
        .collect();
    let mut stale: Vec<&Entry> = Vec::new();
    for e in &baseline.findings {
        let left = budget.get_mut(e.fingerprint.as_str());
        let Some(n) = left else { continue };
        let file_gone = !e.path.is_empty() && !report.root.join(&e.path).exists();
        let seen = report.rules.iter().any(|r| r.code == e.code)
            && (files.contains(&e.path) || file_gone || objects.contains(&e.object));
        if *n > 0 && seen {
            *n -= 1;
            stale.push(e);
        }
    }
    if !stale.is_empty() {
        let examples: Vec<String> = stale
            .iter()
            .take(5)
            .map(|e| {
                if e.object.is_empty() {
                    format!("{} in {}", e.code, e.path)
                } else {
                    format!("{} on {}", e.code, e.object)
                }
            })
            .collect();
        let more = if stale.len() > examples.len() {
            format!(", and {} more", stale.len() - examples.len())
        } else {
            String::new()
        };
        report.notes.push(note(format!(
            "{shown}: {} baseline {} no longer {} a finding ({}{more}); rewrite the baseline with --write-baseline",
            stale.len(),
            if stale.len() == 1 { "entry" } else { "entries" },
            if stale.len() == 1 { "matches" } else { "match" },
            examples.join(", "),
        )));
    }
}
