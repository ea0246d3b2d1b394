//! JSON: the report as it is, pretty-printed, with a trailing newline.

use tollgate_engine::report::Report;

pub fn render(report: &Report) -> String {
    // Serialising plain data structs cannot fail; fall back to an error object rather than panic.
    let mut out = serde_json::to_string_pretty(report)
        .unwrap_or_else(|e| format!(r#"{{"error": "could not serialise the report: {e}"}}"#));
    out.push('\n');
    out
}
