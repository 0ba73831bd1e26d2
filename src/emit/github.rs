//! `--format github`: workflow commands that the Actions runner turns into annotations on
//! the exact line (`::error file=…,line=…,col=…,title=IPF405::message`), and a Markdown
//! summary of every finding for `$GITHUB_STEP_SUMMARY`.
//!
//! GitHub keeps at most 10 error, 10 warning and 10 notice annotations per step and drops
//! the rest without a word. So errors go first, then warnings, then notices, and when
//! anything is left out the last notice says how much, instead of the estate looking
//! cleaner than it is.

use std::fmt::Write;

use crate::diagnostic::{Diagnostic, Severity};
use crate::report::Report;

/// Annotations of each kind GitHub keeps per step.
pub const PER_KIND: usize = 10;

/// Most bytes GitHub accepts in one step summary (1 MiB); the table stops before it.
pub const SUMMARY_LIMIT: usize = 1024 * 1024;

/// Escapes a command's message (actions/toolkit `escapeData`).
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a command property (actions/toolkit `escapeProperty`).
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Error,
    Warning,
    Notice,
}

impl Kind {
    fn of(severity: Severity) -> Kind {
        match severity {
            Severity::Error => Kind::Error,
            Severity::Warning => Kind::Warning,
            Severity::Info => Kind::Notice,
        }
    }

    fn command(self) -> &'static str {
        match self {
            Kind::Error => "error",
            Kind::Warning => "warning",
            Kind::Notice => "notice",
        }
    }
}

/// The file path the runner expects: relative to the repository root (the runner resolves
/// relative paths against `$GITHUB_WORKSPACE`, not the step's working directory).
fn annotation_path(report: &Report, file: &crate::load::files::SourceFile) -> String {
    report.repo_path(file).unwrap_or_else(|| file.path.clone())
}

fn annotation(report: &Report, d: &Diagnostic) -> String {
    let mut props = Vec::new();
    if let Some(l) = report.location(d) {
        let (start, end) = (l.span.start, l.span.end);
        let line = start.line.max(1);
        props.push(format!(
            "file={}",
            escape_property(&annotation_path(report, l.file))
        ));
        props.push(format!("line={line}"));
        props.push(format!("endLine={}", end.line.max(line)));
        // The runner drops columns on multi-line annotations; only send them on one line.
        if end.line <= line {
            let col = l.file.utf16_column(start);
            props.push(format!("col={col}"));
            props.push(format!("endColumn={}", l.file.utf16_column(end).max(col)));
        }
    }
    props.push(format!(
        "title={}",
        escape_property(&format!("{} {}", d.code, d.name))
    ));
    let subject = report
        .subject_name(d)
        .map(|s| format!("{s}: "))
        .unwrap_or_default();
    let mut help = d
        .fix
        .as_ref()
        .map(|f| format!("\nfix: {}", f.title))
        .unwrap_or_default();
    if d.pre_existing() {
        help.push_str("\npre-existing: the base commit has this finding too");
    }
    format!(
        "::{} {}::{}",
        Kind::of(d.severity).command(),
        props.join(","),
        escape_data(&format!("{subject}{}{help}", d.message))
    )
}

pub fn render(report: &Report) -> String {
    render_with_budget(report, PER_KIND)
}

/// Renders at most `per_kind` annotations of each kind, most severe first.
pub fn render_with_budget(report: &Report, per_kind: usize) -> String {
    let mut all: Vec<(Kind, String)> = report
        .diagnostics
        .iter()
        .map(|d| (Kind::of(d.severity), annotation(report, d)))
        .collect();
    all.extend(report.notes.iter().map(|n| {
        // A note about a place in a file (a skipped document) is annotated there.
        let place = n
            .file
            .map(|f| {
                format!(
                    "file={},line={},",
                    escape_property(&annotation_path(report, &report.files[f])),
                    n.line.max(1)
                )
            })
            .unwrap_or_default();
        (
            Kind::Notice,
            format!(
                "::notice {place}title=istio-preflight::{}",
                escape_data(&n.message)
            ),
        )
    }));
    // Stable: within a kind, findings keep their file/line order.
    all.sort_by_key(|(kind, _)| *kind);

    let count = |k: Kind| all.iter().filter(|(kind, _)| *kind == k).count();
    let totals = [
        count(Kind::Error),
        count(Kind::Warning),
        count(Kind::Notice),
    ];
    let over = totals.iter().any(|&n| n > per_kind);
    let budget = |k: Kind| match k {
        // One notice is kept back for the line that counts what was left out.
        Kind::Notice if over => per_kind.saturating_sub(1),
        _ => per_kind,
    };
    let mut out = String::new();
    let mut shown = [0usize; 3];
    for (kind, line) in &all {
        let i = *kind as usize;
        if shown[i] < budget(*kind) {
            shown[i] += 1;
            out.push_str(line);
            out.push('\n');
        }
    }
    if over {
        let left: Vec<String> = [
            (Kind::Error, "error"),
            (Kind::Warning, "warning"),
            (Kind::Notice, "notice"),
        ]
        .iter()
        .filter(|(k, _)| totals[*k as usize] > shown[*k as usize])
        .map(|(k, word)| {
            let n = totals[*k as usize] - shown[*k as usize];
            format!("{n} {word}{}", if n == 1 { "" } else { "s" })
        })
        .collect();
        let _ = writeln!(
            out,
            "::notice title=istio-preflight::{}",
            escape_data(&format!(
                "{} not shown as annotations: GitHub keeps at most {per_kind} of each kind per step. The step summary and the SARIF results list every finding.",
                left.join(", ")
            ))
        );
    }
    out
}

/// Text for a Markdown table cell: one line, pipes escaped, no HTML.
fn cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace(['\r', '\n'], " ")
}

/// A Markdown summary of the run for `$GITHUB_STEP_SUMMARY`: counts, then a table of every
/// finding (most severe first), cut short before GitHub's 1 MiB limit.
pub fn step_summary(report: &Report) -> String {
    step_summary_limited(report, SUMMARY_LIMIT)
}

pub fn step_summary_limited(report: &Report, limit: usize) -> String {
    let c = report.counts();
    let mut out = String::from("## istio-preflight\n\n");
    let upgrade = report.estate().upgrade;
    let _ = writeln!(
        out,
        "Upgrade {} → {} ({}): **{} errors**, **{} warnings**, {} info in {} objects from {} files.\n",
        upgrade.current.as_deref().unwrap_or("?"),
        upgrade.target.as_deref().unwrap_or("?"),
        upgrade.strategy,
        c.error,
        c.warning,
        c.info,
        report.inventory.objects.len(),
        report.file_count(),
    );
    if let (Some(base), Some((new, unchanged))) = (&report.base, report.base_counts()) {
        let _ = writeln!(
            out,
            "Compared with {}: **{new} new**, {unchanged} pre-existing.\n",
            cell(&base.describe())
        );
    }
    if report.diagnostics.is_empty() {
        out.push_str("No findings.\n");
    } else {
        out.push_str("| severity | rule | object | location | message |\n|---|---|---|---|---|\n");
        let mut order: Vec<&Diagnostic> = report.diagnostics.iter().collect();
        order.sort_by_key(|d| std::cmp::Reverse(d.severity));
        // Room for the closing line that says how many rows were cut.
        let budget = limit.saturating_sub(200);
        for (i, d) in order.iter().enumerate() {
            let location = report
                .location(d)
                .map(|l| format!("{}:{}", annotation_path(report, l.file), l.span.start.line))
                .unwrap_or_default();
            let row = format!(
                "| {} | {} {} | {} | {} | {} |\n",
                d.severity.as_str(),
                d.code,
                d.name,
                cell(&report.subject_name(d).unwrap_or_default()),
                cell(&location),
                cell(&d.message),
            );
            if out.len() + row.len() > budget {
                let _ = writeln!(
                    out,
                    "\n{} more findings are not listed (the summary is limited to 1 MiB).",
                    order.len() - i
                );
                break;
            }
            out.push_str(&row);
        }
    }
    if !report.notes.is_empty() {
        out.push_str("\n<details><summary>Notes</summary>\n\n");
        for n in &report.notes {
            let line = format!("- {}\n", cell(&n.message));
            if out.len() + line.len() > limit.saturating_sub(40) {
                break;
            }
            out.push_str(&line);
        }
        out.push_str("\n</details>\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_follows_the_runner() {
        assert_eq!(escape_data("50%\nnext"), "50%25%0Anext");
        assert_eq!(escape_data("a\r\nb%0A"), "a%0D%0Ab%250A");
        assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
        assert_eq!(escape_property("100%:x\n"), "100%25%3Ax%0A");
    }

    fn report_with(span: crate::yaml::Span) -> Report {
        use crate::diagnostic::{Diagnostic, Subject};
        Report {
            files: vec![crate::load::files::SourceFile::new(
                "a.yaml".into(),
                "key: |\n  one\n  two\nnext: 1\n".into(),
            )],
            inventory: Default::default(),
            diagnostics: vec![Diagnostic {
                code: "IPF001",
                name: "invalid-manifest",
                severity: Severity::Error,
                message: "bad".into(),
                subject: Subject::File { file: 0, span },
                fix: None,
                baseline_state: None,
            }],
            notes: Vec::new(),
            upgrade: Default::default(),
            rules: Vec::new(),
            root: std::env::current_dir().unwrap(),
            cluster: None,
            base: None,
            estates: Vec::new(),
        }
    }

    #[test]
    fn columns_only_on_single_line_annotations() {
        use crate::yaml::{Pos, Span};
        let multi = report_with(Span {
            start: Pos { line: 1, col: 0 },
            end: Pos { line: 3, col: 5 },
        });
        assert_eq!(
            render(&multi),
            "::error file=a.yaml,line=1,endLine=3,title=IPF001 invalid-manifest::bad\n"
        );
        let single = report_with(Span {
            start: Pos { line: 4, col: 0 },
            end: Pos { line: 4, col: 4 },
        });
        assert_eq!(
            render(&single),
            "::error file=a.yaml,line=4,endLine=4,col=1,endColumn=5,title=IPF001 invalid-manifest::bad\n"
        );
    }

    #[test]
    fn table_cells_cannot_break_the_table() {
        assert_eq!(cell("a|b\nc <b>"), "a\\|b c &lt;b&gt;");
    }
}
