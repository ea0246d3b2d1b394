//! Renders a check [`Report`] into each output format: a table for people, JSON for machines.
//!
//! Every format renders the same report value; none of them evaluates anything. Output is a
//! `String` so callers decide where it goes (stdout, or a file written atomically).

mod json;
mod table;

use tollgate_engine::report::Report;

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
}

impl Format {
    pub const ALL: [(&'static str, Format); 2] = [("table", Format::Table), ("json", Format::Json)];
}

/// How to render.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    /// ANSI colours (table only; only on a terminal).
    pub color: bool,
}

/// Renders `report` as `format`.
pub fn render(report: &Report, format: Format, options: RenderOptions) -> String {
    match format {
        Format::Table => table::render(report, options),
        Format::Json => json::render(report),
    }
}
