//! `--format json`: the stable, versioned schema of SPEC §5.

use serde::Serialize;

use crate::diagnostic::{BaselineState, Fix, Severity};
use crate::model::{FieldPath, ObjectRef};
use crate::report::{BaseCommit, Counts, Estate, EstateBlock, Report};

/// Bumped on any breaking change to the JSON shape.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Output<'a> {
    version: u32,
    tool: Tool,
    summary: Summary,
    estate: Estate,
    /// Pre-merge mode (`--base`): the commit compared with, and how many findings are new.
    #[serde(skip_serializing_if = "Option::is_none")]
    base: Option<BaseSummary<'a>>,
    /// Each estate on its own when the run had several (kustomize overlays).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    estates: &'a [EstateBlock],
    diagnostics: Vec<Item<'a>>,
    notes: Vec<NoteItem>,
}

#[derive(Serialize)]
struct BaseSummary<'a> {
    #[serde(flatten)]
    commit: &'a BaseCommit,
    new: usize,
    unchanged: usize,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Summary {
    #[serde(flatten)]
    counts: Counts,
    objects: usize,
    files: usize,
}

#[derive(Serialize)]
struct Item<'a> {
    code: &'static str,
    name: &'static str,
    severity: Severity,
    message: &'a str,
    object: Option<ObjectRef>,
    /// The kustomize overlay the object was built for (absent for objects read as they are).
    #[serde(skip_serializing_if = "Option::is_none")]
    overlay: Option<String>,
    location: Option<Location>,
    field: Option<&'a FieldPath>,
    fix: Option<&'a Fix>,
    /// With `--base`: `new`, or `unchanged` when the base commit has the same finding.
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline_state: Option<BaselineState>,
}

#[derive(Serialize)]
struct Location {
    path: String,
    line: u32,
    column: u32,
    end_line: u32,
    end_column: u32,
}

#[derive(Serialize)]
struct NoteItem {
    path: Option<String>,
    line: u32,
    message: String,
}

pub fn render(report: &Report) -> String {
    let diagnostics = report
        .diagnostics
        .iter()
        .map(|d| Item {
            code: d.code,
            name: d.name,
            severity: d.severity,
            message: &d.message,
            object: d.object().map(|id| report.inventory.object(id).reference()),
            overlay: report.estate_of(d),
            location: report.location(d).map(|l| Location {
                path: l.file.path.clone(),
                line: l.span.start.line,
                column: l.span.start.col + 1,
                end_line: l.span.end.line,
                end_column: l.span.end.col + 1,
            }),
            field: d.field(),
            fix: d.fix.as_ref(),
            baseline_state: d.baseline_state,
        })
        .collect();
    let output =
        Output {
            version: SCHEMA_VERSION,
            tool: Tool {
                name: env!("CARGO_PKG_NAME"),
                version: env!("CARGO_PKG_VERSION"),
            },
            summary: Summary {
                counts: report.counts(),
                objects: report.inventory.objects.len(),
                files: report.file_count(),
            },
            estate: report.estate(),
            estates: &report.estates,
            base: report.base.as_ref().zip(report.base_counts()).map(
                |(commit, (new, unchanged))| BaseSummary {
                    commit,
                    new,
                    unchanged,
                },
            ),
            diagnostics,
            notes: report
                .notes
                .iter()
                .map(|n| NoteItem {
                    path: n.file.map(|f| report.files[f].path.clone()),
                    line: n.line,
                    message: n.message.clone(),
                })
                .collect(),
        };
    let mut text = serde_json::to_string_pretty(&output).expect("report serializes");
    text.push('\n');
    text
}
