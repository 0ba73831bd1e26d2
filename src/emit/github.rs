//! `--format github`: workflow commands that the Actions runner turns into annotations on
//! the exact line (`::error file=…,line=…,col=…,title=IPF405::message`).

use std::fmt::Write;

use crate::diagnostic::Severity;
use crate::report::Report;

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

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    for d in &report.diagnostics {
        let command = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let mut props = Vec::new();
        if let Some(l) = report.location(d) {
            let (start, end) = (l.span.start, l.span.end);
            props.push(format!("file={}", escape_property(&l.file.path)));
            props.push(format!("line={}", start.line));
            props.push(format!("endLine={}", end.line.max(start.line)));
            // The runner drops columns on multi-line annotations; only send them on one line.
            if start.line == end.line {
                props.push(format!("col={}", l.file.utf16_column(start)));
                props.push(format!("endColumn={}", l.file.utf16_column(end)));
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
        let help = d
            .fix
            .as_ref()
            .map(|f| format!("\nfix: {}", f.title))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "::{command} {}::{}",
            props.join(","),
            escape_data(&format!("{subject}{}{help}", d.message))
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_follows_the_runner() {
        assert_eq!(escape_data("50%\nnext"), "50%25%0Anext");
        assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
    }
}
