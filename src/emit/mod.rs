//! Output formats. Each turns a [`Report`] into text; field paths become positions here.

pub mod github;
pub mod human;
pub mod json;
pub mod sarif;

use crate::report::Report;

pub use crate::settings::Format;

/// Renders the report in `format`. `color` only affects the human format.
pub fn render(report: &Report, format: Format, color: bool) -> String {
    match format {
        Format::Human => human::render(report, color),
        Format::Json => json::render(report),
        Format::Sarif => sarif::render(report),
        Format::Github => github::render(report),
    }
}
