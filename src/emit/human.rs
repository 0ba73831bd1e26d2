//! `--format human`: an estate header, one miette block per finding with the source line
//! and the offending field underlined, a help line with the fix, and a summary line.

use std::fmt::Write;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, MietteError,
    MietteSpanContents, NamedSource, SourceCode, SourceSpan, SpanContents,
};

use crate::diagnostic::Severity;
use crate::load::files::SourceFile;
use crate::report::Report;
use crate::yaml::Span;

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

pub fn header(report: &Report) -> String {
    if report.estates.is_empty() {
        return estate_lines(&report.estate());
    }
    // One block per estate: a kustomize overlay, or the files read as they are.
    let mut out = String::new();
    for block in &report.estates {
        let _ = match &block.overlay {
            Some(dir) => writeln!(out, "estate {dir} (kustomize overlay):"),
            None => writeln!(out, "estate of the files read as they are:"),
        };
        for line in estate_lines(&block.facts).lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    out
}

fn estate_lines(estate: &crate::report::Estate) -> String {
    let mut out = String::new();
    let cps: Vec<String> = estate
        .control_planes
        .iter()
        .map(|cp| {
            let mut s = format!(
                "{} {}",
                cp.revision,
                cp.version.as_deref().unwrap_or("(unknown version)")
            );
            if !cp.tags.is_empty() {
                s.push_str(&format!(" [tags: {}]", cp.tags.join(", ")));
            }
            s
        })
        .collect();
    let _ = writeln!(
        out,
        "control plane: {}",
        if cps.is_empty() {
            "none found".to_string()
        } else {
            cps.join("; ")
        }
    );
    if !estate.charts.is_empty() {
        let charts: Vec<String> = estate
            .charts
            .iter()
            .map(|c| {
                let mut s = format!(
                    "{} {}",
                    c.chart,
                    c.version.as_deref().unwrap_or("(unknown version)")
                );
                if c.revision != "default" {
                    s.push_str(&format!(" (revision {})", c.revision));
                }
                s
            })
            .collect();
        let _ = writeln!(out, "charts:        {}", charts.join(", "));
    }
    let dp: Vec<String> = estate
        .data_plane
        .iter()
        .map(|d| {
            format!(
                "{} ({})",
                d.version,
                plural(d.proxies, "proxy").replace("proxys", "proxies")
            )
        })
        .collect();
    let _ = writeln!(
        out,
        "data plane:    {}",
        if dp.is_empty() {
            "no running proxies in the input".to_string()
        } else {
            dp.join(", ")
        }
    );
    let _ = writeln!(
        out,
        "kubernetes:    {}",
        estate
            .kubernetes
            .as_deref()
            .unwrap_or("unknown (pass --kube-version)")
    );
    let upgrade = match (&estate.upgrade.current, &estate.upgrade.target) {
        (Some(c), Some(t)) => format!("{c} → {t} ({})", estate.upgrade.strategy),
        (None, Some(t)) => format!(
            "? → {t} ({}; current version not detected, pass --current)",
            estate.upgrade.strategy
        ),
        (Some(c), None) => format!("{c} → ? (pass --target to check the upgrade)"),
        (None, None) => "no target given (pass --target)".to_string(),
    };
    let _ = writeln!(out, "upgrade:       {upgrade}");
    out
}

pub fn render(report: &Report, color: bool) -> String {
    let mut out = header(report);
    out.push('\n');
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_context_lines(1)
        .with_width(100);
    // miette counts lines from the start of the text for every snippet; see [`Window`].
    let mut lone_cr: std::collections::HashMap<*const SourceFile, bool> = Default::default();
    for d in &report.diagnostics {
        let subject = report.subject_name(d);
        let mut title = match &subject {
            Some(s) => format!("{s}: {}", d.message),
            None => d.message.clone(),
        };
        if d.pre_existing() {
            title.push_str(" (pre-existing: also at the base)");
        }
        let mut diag = MietteDiagnostic::new(title)
            .with_code(format!("{} {}", d.code, d.name))
            .with_severity(match d.severity {
                Severity::Error => miette::Severity::Error,
                Severity::Warning => miette::Severity::Warning,
                Severity::Info => miette::Severity::Advice,
            });
        if let Some(fix) = &d.fix {
            diag = diag.with_help(fix.title.clone());
        }
        let location = report.location(d);
        let mut rendered = String::new();
        // A snippet helps only when the text is there and the line is of a readable length.
        const MAX_SNIPPET_LINE: usize = 240;
        let location = location.filter(|l| {
            let line = l.file.line(l.span.start.line);
            let shown = !line.is_empty() && line.len() <= MAX_SNIPPET_LINE;
            if !shown {
                diag.message = format!(
                    "{}:{}:{}: {}",
                    l.file.path,
                    l.span.start.line,
                    l.span.start.col + 1,
                    diag.message
                );
            }
            shown
        });
        match location {
            Some(l) => {
                let start = l.file.offset(l.span.start);
                let end = l.file.offset(l.span.end).max(start);
                let label = d
                    .field()
                    .map(|f| f.to_string())
                    .unwrap_or_else(|| "here".to_string());
                diag = diag.with_label(LabeledSpan::at(start..end, label));
                let source = NamedSource::new(
                    l.file.path.clone(),
                    Window::around(
                        l.file,
                        l.span,
                        *lone_cr
                            .entry(l.file as *const SourceFile)
                            .or_insert_with(|| has_lone_cr(&l.file.text)),
                    ),
                );
                let report = miette::Report::new(diag).with_source_code(source);
                let _ = handler.render_report(&mut rendered, report.as_ref());
            }
            None => {
                if let Some(f) = d.field() {
                    diag = diag.with_help(match &d.fix {
                        Some(fix) => format!("{} (field {f})", fix.title),
                        None => format!("field {f}"),
                    });
                }
                let report = miette::Report::new(diag);
                let _ = handler.render_report(&mut rendered, report.as_ref());
            }
        }
        out.push_str(&rendered);
        out.push('\n');
    }
    for n in &report.notes {
        let place = n
            .file
            .map(|f| format!("{}:{}: ", report.files[f].path, n.line))
            .unwrap_or_default();
        let _ = writeln!(out, "note: {place}{}", n.message);
    }
    let c = report.counts();
    let _ = writeln!(
        out,
        "{}, {}, {} info in {} from {}",
        plural(c.error, "error"),
        plural(c.warning, "warning"),
        c.info,
        plural(report.inventory.objects.len(), "object"),
        match &report.cluster {
            Some(context) => format!("cluster context {context}"),
            None => plural(report.file_count(), "file"),
        },
    );
    if let (Some(base), Some((new, unchanged))) = (&report.base, report.base_counts()) {
        let _ = writeln!(
            out,
            "compared with {}: {new} new, {unchanged} pre-existing",
            base.describe()
        );
    }
    out
}

/// The lines of a file around one finding, as miette's source. miette finds a span's line by
/// scanning the text from its first byte, so handing it the whole file made the report
/// quadratic in file size (seconds for a generated estate of 100,000 objects). The window
/// starts at a line start a few lines before the span (found through the file's line index)
/// and ends a few lines after it; miette's own algorithm runs on it, and its line numbers
/// and offsets are shifted back, so the output is byte for byte what the whole text gives.
struct Window {
    text: crate::yaml::Text,
    start: usize,
    end: usize,
    /// 0-based number of the window's first line.
    first_line: usize,
}

/// Context lines the window covers on each side; a request for more reads the whole text.
const WINDOW_CONTEXT: u32 = 3;

impl Window {
    fn around(file: &SourceFile, span: Span, lone_cr: bool) -> Window {
        let whole = Window {
            text: file.text.clone(),
            start: 0,
            end: file.text.len(),
            first_line: 0,
        };
        // A lone CR is a line break to miette but not to the line index.
        if lone_cr {
            return whole;
        }
        let first = span.start.line.saturating_sub(WINDOW_CONTEXT).max(1);
        let last = span.end.line.max(span.start.line) + WINDOW_CONTEXT + 1;
        let start = file.offset(crate::yaml::Pos {
            line: first,
            col: 0,
        });
        let end = if (last as usize) < file.line_count() {
            file.offset(crate::yaml::Pos {
                line: last + 1,
                col: 0,
            })
        } else {
            file.text.len()
        };
        Window {
            start,
            end: end.max(start),
            first_line: first as usize - 1,
            ..whole
        }
    }
}

impl SourceCode for Window {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inside = span.offset() >= self.start && span.offset() + span.len() <= self.end;
        let context = WINDOW_CONTEXT as usize;
        if !inside || context_lines_before > context || context_lines_after > context {
            return self
                .text
                .read_span(span, context_lines_before, context_lines_after);
        }
        let local = SourceSpan::new((span.offset() - self.start).into(), span.len());
        let window = self.text[self.start..self.end].as_bytes();
        let contents = window.read_span(&local, context_lines_before, context_lines_after)?;
        Ok(Box::new(MietteSpanContents::new(
            contents.data(),
            SourceSpan::new(
                (contents.span().offset() + self.start).into(),
                contents.span().len(),
            ),
            contents.line() + self.first_line,
            contents.column(),
            contents.line_count() + self.first_line,
        )))
    }
}

fn has_lone_cr(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes
        .iter()
        .enumerate()
        .any(|(i, &b)| b == b'\r' && bytes.get(i + 1) != Some(&b'\n'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::Pos;

    /// miette must see the same contents through the window as through the whole text.
    #[test]
    fn window_reads_what_the_whole_text_reads() {
        let text: String = (1..=40)
            .map(|i| match i % 7 {
                0 => "\n".to_string(),
                3 => format!("  key{i}: |\n    block {i}\r\n"),
                _ => format!("  key{i}: value {i} é\n"),
            })
            .collect();
        let file = SourceFile::new("a.yaml".into(), text.clone());
        let whole: &str = &text;
        for line in 1..=file.line_count() as u32 {
            for (col, end_line, end_col) in [
                (0, line, 3),
                (2, line, 5),
                (2, line + 1, 2),
                (0, line + 2, 0),
            ] {
                let span = Span {
                    start: Pos { line, col },
                    end: Pos {
                        line: end_line,
                        col: end_col,
                    },
                };
                let (start, end) = (file.offset(span.start), file.offset(span.end));
                let source_span = SourceSpan::new(start.into(), end.saturating_sub(start));
                let window = Window::around(&file, span, false);
                for (before, after) in [(0, 0), (1, 1), (2, 3), (5, 5)] {
                    let a = window.read_span(&source_span, before, after);
                    let b = whole.read_span(&source_span, before, after);
                    match (a, b) {
                        (Ok(a), Ok(b)) => {
                            let at = format!("line {line} span {span:?} context {before}/{after}");
                            assert_eq!(a.data(), b.data(), "{at}");
                            assert_eq!(a.span(), b.span(), "{at}");
                            assert_eq!(a.line(), b.line(), "{at}");
                            assert_eq!(a.column(), b.column(), "{at}");
                            assert_eq!(a.line_count(), b.line_count(), "{at}");
                        }
                        (a, b) => assert_eq!(a.is_ok(), b.is_ok()),
                    }
                }
            }
        }
    }
}
