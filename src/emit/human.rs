//! `--format human`: an estate header, one miette block per finding with the source line
//! and the offending field underlined, a help line with the fix, and a summary line.

use std::fmt::Write;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, NamedSource};

use crate::diagnostic::Severity;
use crate::report::Report;

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

pub fn header(report: &Report) -> String {
    let estate = report.estate();
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
    for d in &report.diagnostics {
        let subject = report.subject_name(d);
        let title = match &subject {
            Some(s) => format!("{s}: {}", d.message),
            None => d.message.clone(),
        };
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
                let source = NamedSource::new(l.file.path.clone(), l.file.text.clone());
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
    out
}
