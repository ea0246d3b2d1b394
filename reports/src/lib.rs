//! Renders a check [`Report`] into each output format: a table for people, JSON for machines,
//! SARIF 2.1.0 for code scanning, JUnit XML for CI test reporters, and Markdown for pull-request
//! comments.
//!
//! Every format renders the same report value; none of them evaluates anything, and none reads a
//! clock or the environment, so the same report always renders to the same bytes. Output is a
//! `String` so callers decide where it goes (stdout, or a file written atomically).

mod common;
mod json;
mod junit;
mod markdown;
pub mod policy_tests;
mod sarif;
mod table;

use tollgate_engine::report::Report;

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Sarif,
    Junit,
    Markdown,
}

impl Format {
    /// Every format with the name it goes by on the command line, in the order `--help` lists them.
    pub const ALL: [(&'static str, Format); 5] = [
        ("table", Format::Table),
        ("json", Format::Json),
        ("sarif", Format::Sarif),
        ("junit", Format::Junit),
        ("markdown", Format::Markdown),
    ];

    /// The name the format goes by on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Junit => "junit",
            Format::Markdown => "markdown",
        }
    }

    /// The format called `name`, if there is one.
    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| *f)
    }
}

/// How to render.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    /// ANSI colours (table only; only on a terminal).
    pub color: bool,
}

/// Renders `report` as `format`.
pub fn render(report: &Report, format: Format, options: RenderOptions) -> String {
    let text = match format {
        Format::Table => table::render(report, options),
        Format::Json => json::render(report),
        Format::Sarif => sarif::render(report),
        Format::Junit => junit::render(report),
        Format::Markdown => markdown::render(report),
    };
    // Secrets never echo, whatever field of the report quoted them.
    match tollgate_engine::secrets::redact(&text) {
        std::borrow::Cow::Borrowed(_) => text,
        std::borrow::Cow::Owned(redacted) => redacted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for (name, format) in Format::ALL {
            assert_eq!(format.name(), name);
            assert_eq!(Format::from_name(name), Some(format));
        }
        assert_eq!(Format::from_name("xml"), None);
    }
}
