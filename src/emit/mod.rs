//! Output formats. Each turns a [`Report`] into text; field paths become positions here.

pub mod github;
pub mod gitlab;
pub mod human;
pub mod json;
pub mod junit;
pub mod sarif;

use crate::diagnostic::{Diagnostic, Severity};
use crate::report::Report;

pub use crate::settings::Format;

/// Which findings fail the run, for the exit code and for the formats that show it per
/// finding (JUnit failures): at or above `--fail-on`, and in pre-merge mode only new ones
/// unless `--fail-on-existing`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gate {
    pub fail_on: Option<Severity>,
    pub count_existing: bool,
}

impl Default for Gate {
    /// The command line's defaults: `--fail-on error`, pre-existing findings do not count.
    fn default() -> Gate {
        Gate {
            fail_on: Some(Severity::Error),
            count_existing: false,
        }
    }
}

impl Gate {
    pub fn fails(&self, d: &Diagnostic) -> bool {
        (self.count_existing || !d.pre_existing()) && self.fail_on.is_some_and(|t| d.severity >= t)
    }
}

/// Renders the report in `format` with the default [`Gate`]. `color` only affects the
/// human format.
pub fn render(report: &Report, format: Format, color: bool) -> String {
    render_gated(report, format, color, Gate::default())
}

/// Renders the report in `format`; `gate` says which findings fail the run.
pub fn render_gated(report: &Report, format: Format, color: bool, gate: Gate) -> String {
    match format {
        Format::Human => human::render(report, color),
        Format::Json => json::render(report),
        Format::Sarif => sarif::render(report),
        Format::Github => github::render(report),
        Format::Junit => junit::render(report, gate),
        Format::Gitlab => gitlab::render(report),
    }
}
