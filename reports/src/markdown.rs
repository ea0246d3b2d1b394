//! Markdown for a pull-request comment: the verdict first, then what fails, then the exceptions
//! (waivers and overrides) a reviewer should see, then everything that passed, collapsed.
//!
//! Text from stack documents and rules is escaped for GitHub-flavoured Markdown (table pipes,
//! line breaks, HTML, emphasis and link characters), so a value cannot break the table or inject
//! markup. Pull-request comments are capped at 65,536 characters: each section stops at a row
//! count and a character budget and says how many rows it left out, which keeps the whole comment
//! under the cap however large the estate.

use std::fmt::Write as _;

use tollgate_engine::finding::Finding;
use tollgate_engine::report::{Report, Verdict};

use crate::common::{self, Status};

/// Rows of the failing-findings table at most.
pub(crate) const MAX_FAILING_ROWS: usize = 200;
/// Rows of the other lists at most.
const MAX_OTHER_ROWS: usize = 200;
/// Character budgets per section; together well under GitHub's 65,536-character comment limit.
const FAILING_BUDGET: usize = 35_000;
const WAIVER_BUDGET: usize = 6_000;
const PASSING_STACKS_BUDGET: usize = 5_000;
const OTHER_FINDINGS_BUDGET: usize = 14_000;
/// A message or reason longer than this is cut with `…`.
const MAX_CELL_CHARS: usize = 300;

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    heading(&mut out, report);
    selection(&mut out, report);
    failing(&mut out, report);
    waivers(&mut out, report);
    overrides(&mut out, report);
    passed(&mut out, report);
    out
}

fn heading(out: &mut String, report: &Report) {
    let s = &report.summary;
    match s.verdict {
        Verdict::Fail => {
            let stacks: std::collections::BTreeSet<&str> = report
                .findings
                .iter()
                .filter(|f| f.fails())
                .map(|f| f.stack.as_str())
                .collect();
            let errors = report
                .findings
                .iter()
                .filter(|f| Status::of(f) == Status::Error)
                .count();
            let errors = if errors > 0 {
                format!(" ({})", common::plural(errors, "rule error", "rule errors"))
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "## ❌ Tollgate: FAIL — {}{errors} in {}",
                common::plural(s.failing, "failing finding", "failing findings"),
                common::plural(stacks.len(), "stack", "stacks"),
            );
        }
        Verdict::Pass => {
            let _ = writeln!(
                out,
                "## ✅ Tollgate: PASS — {}, no failing findings",
                common::plural(s.stacks, "stack", "stacks")
            );
        }
    }
    let _ = writeln!(
        out,
        "\n**{}** · **{}** · **{}** ({} Rego, {} Cedar) · principal {} · estimated **${:.2}/month**\n",
        common::plural(s.stacks, "stack", "stacks"),
        common::plural(s.resources, "resource", "resources"),
        common::plural(s.rules.rego + s.rules.cedar, "rule", "rules"),
        s.rules.rego,
        s.rules.cedar,
        code(&s.principal),
        s.estimated_monthly_cost_usd,
    );
    let _ = writeln!(
        out,
        "{}: {} failing, {} waived, {} overridden, {} advisory, {} errors.",
        common::plural(s.findings, "finding", "findings"),
        s.failing,
        s.waived,
        s.overridden,
        s.advisory,
        s.errors,
    );
}

/// With `--changed-since`: which stacks this run looked at, so a reviewer knows what it did not.
fn selection(out: &mut String, report: &Report) {
    let Some(sel) = &report.selection else {
        return;
    };
    let _ = match &sel.all_because {
        Some(why) => writeln!(
            out,
            "\nChanged since `{}`: every stack checked, because {why}.",
            sel.since
        ),
        None => writeln!(
            out,
            "\nChanged since `{}`: {} changed, {} dependent, {} skipped.",
            sel.since,
            common::plural(sel.changed.len(), "stack", "stacks"),
            common::plural(sel.dependents.len(), "stack", "stacks"),
            common::plural(sel.skipped.len(), "stack", "stacks"),
        ),
    };
}

fn failing(out: &mut String, report: &Report) {
    let fails: Vec<&Finding> = report.findings.iter().filter(|f| f.fails()).collect();
    if fails.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n### Failing findings\n");
    let _ = writeln!(
        out,
        "| Stack | Resource | Policy | Severity | Enforcement | Engine | Message | Location |\n| --- | --- | --- | --- | --- | --- | --- | --- |"
    );
    let rows = fails.iter().map(|f| {
        let message = if Status::of(f) == Status::Error {
            format!("**rule error:** {}", cell(&f.message))
        } else {
            cell(&f.message)
        };
        format!(
            "| {} | {} | {} | {} | {} | {} | {message} | {} |",
            cell(&f.stack),
            f.resource.as_deref().map_or_else(|| "—".to_owned(), cell),
            cell(&f.policy),
            f.severity,
            f.enforcement,
            f.engine,
            code(&common::location(f)),
        )
    });
    let left = push_rows(out, rows, MAX_FAILING_ROWS, FAILING_BUDGET);
    if left > 0 {
        let _ = writeln!(
            out,
            "\n… and {left} more failing {}: the SARIF, JUnit or JSON report lists them all.",
            if left == 1 { "finding" } else { "findings" }
        );
    }
}

fn waivers(out: &mut String, report: &Report) {
    let w = &report.waivers;
    if !w.applied.is_empty() {
        let _ = writeln!(out, "\n### Waivers applied\n");
        let _ = writeln!(
            out,
            "| Waiver | Policy | Approved by | Expires | Findings | Reason |\n| --- | --- | --- | --- | --- | --- |"
        );
        let rows = w.applied.iter().map(|u| {
            format!(
                "| {} | {} | {} | {} | {} | {} |",
                cell(&u.id),
                cell(&u.policy),
                cell(&u.approved_by),
                cell(&u.expires),
                u.findings,
                cell(&u.reason)
            )
        });
        let left = push_rows(out, rows, MAX_OTHER_ROWS, WAIVER_BUDGET);
        if left > 0 {
            let _ = writeln!(out, "\n… and {left} more applied waivers.");
        }
    }
    if !w.expired.is_empty() || !w.unused.is_empty() {
        let _ = writeln!(out, "\n### Waivers to look at\n");
        for u in &w.expired {
            let _ = writeln!(
                out,
                "- ⚠️ **{}** ({}) expired on {}: it waives nothing ({} it would match).",
                cell(&u.id),
                cell(&u.policy),
                cell(&u.expires),
                common::plural(u.findings, "finding", "findings"),
            );
        }
        for u in &w.unused {
            let _ = writeln!(
                out,
                "- ⚠️ **{}** ({}) matched no finding: remove it, or fix its resource globs (expires {}).",
                cell(&u.id),
                cell(&u.policy),
                cell(&u.expires),
            );
        }
    }
}

fn overrides(out: &mut String, report: &Report) {
    if report.overrides.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n### Overrides\n");
    for o in &report.overrides {
        let _ = writeln!(
            out,
            "- **{}** let through {} for this run: {}",
            cell(&o.policy),
            common::plural(o.findings, "finding", "findings"),
            cell(&o.reason),
        );
    }
}

fn passed(out: &mut String, report: &Report) {
    let stacks: Vec<_> = report
        .stacks
        .iter()
        .filter(|s| s.verdict == Verdict::Pass)
        .collect();
    let others: Vec<&Finding> = report.findings.iter().filter(|f| !f.fails()).collect();
    let _ = writeln!(
        out,
        "\n<details><summary>Passed ({})</summary>\n",
        common::plural(stacks.len(), "stack", "stacks")
    );
    if stacks.is_empty() {
        let _ = writeln!(out, "No stack passed.");
    } else {
        let rows = stacks.iter().map(|s| {
            format!(
                "- {} — {}, estimated ${:.2}/month",
                cell(&s.stack),
                common::plural(s.resources, "resource", "resources"),
                s.estimated_monthly_cost_usd
            )
        });
        let left = push_rows(out, rows, MAX_OTHER_ROWS * 5, PASSING_STACKS_BUDGET);
        if left > 0 {
            let _ = writeln!(out, "- … and {left} more");
        }
    }
    if !others.is_empty() {
        let _ = writeln!(out, "\nFindings that do not fail the run:\n");
        let _ = writeln!(
            out,
            "| Stack | Resource | Policy | Status | Engine | Message | Location |\n| --- | --- | --- | --- | --- | --- | --- |"
        );
        let rows = others.iter().map(|f| {
            let status = match Status::of(f) {
                Status::Waived(id) => format!("waived ({})", cell(id)),
                other => other.word().to_owned(),
            };
            format!(
                "| {} | {} | {} | {status} | {} | {} | {} |",
                cell(&f.stack),
                f.resource.as_deref().map_or_else(|| "—".to_owned(), cell),
                cell(&f.policy),
                f.engine,
                cell(&f.message),
                code(&common::location(f)),
            )
        });
        let left = push_rows(out, rows, MAX_OTHER_ROWS, OTHER_FINDINGS_BUDGET);
        if left > 0 {
            let _ = writeln!(out, "\n… and {left} more.");
        }
    }
    if !report.not_evaluated.is_empty() {
        let _ = writeln!(
            out,
            "\n{} no type-specific rule; only tagging and authorisation judged them.",
            common::plural(report.not_evaluated.len(), "resource has", "resources have")
        );
    }
    if let Some(note) = &report.envelope_note {
        let _ = writeln!(out, "\nNote: {}.", cell(note));
    }
    let _ = writeln!(out, "\n</details>");
}

/// Writes rows (one line each) until `max` rows or `budget` characters; returns how many are left.
fn push_rows(
    out: &mut String,
    rows: impl ExactSizeIterator<Item = String>,
    max: usize,
    budget: usize,
) -> usize {
    let total = rows.len();
    let mut used = 0;
    let mut written = 0;
    for row in rows {
        let len = row.chars().count() + 1;
        if written == max || used + len > budget {
            break;
        }
        out.push_str(&row);
        out.push('\n');
        used += len;
        written += 1;
    }
    total - written
}

/// Text for a table cell or a list item: Markdown and HTML characters escaped, line breaks as
/// `<br>`, cut at `MAX_CELL_CHARS`.
fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut n = 0;
    while let Some(c) = chars.next() {
        if n == MAX_CELL_CHARS {
            out.push('…');
            break;
        }
        n += 1;
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("<br>");
            }
            '\n' => out.push_str("<br>"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '|' | '`' | '*' | '_' | '[' | ']' | '~' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// An inline code span that survives backticks, pipes and line breaks in `text`.
fn code(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    // Inside a table a pipe ends the cell even in a code span; GFM takes `\|` there.
    let flat = flat.replace('|', "\\|");
    let longest = flat
        .split(|c| c != '`')
        .map(str::len)
        .max()
        .unwrap_or_default();
    let fence = "`".repeat(longest + 1);
    if longest > 0 || flat.starts_with(' ') || flat.ends_with(' ') {
        format!("{fence} {flat} {fence}")
    } else {
        format!("{fence}{flat}{fence}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_escape_tables_html_and_markup() {
        assert_eq!(
            cell("a|b\nc\r\nd <img> & *x* [l](u) `c`"),
            "a\\|b<br>c<br>d &lt;img&gt; &amp; \\*x\\* \\[l\\](u) \\`c\\`"
        );
        let long = "x".repeat(MAX_CELL_CHARS + 10);
        assert_eq!(cell(&long).chars().count(), MAX_CELL_CHARS + 1);
    }

    #[test]
    fn code_spans_survive_backticks_and_pipes() {
        assert_eq!(code("stacks/a.json:3"), "`stacks/a.json:3`");
        assert_eq!(code("a`b|c\nd"), "`` a`b\\|c d ``");
    }

    #[test]
    fn rows_stop_at_the_cap_or_the_budget() {
        let mut out = String::new();
        let rows = (0..10).map(|i| format!("row {i}"));
        assert_eq!(push_rows(&mut out, rows, 3, 1000), 7);
        assert_eq!(out, "row 0\nrow 1\nrow 2\n");
        let mut out = String::new();
        let rows = (0..10).map(|i| format!("row {i}"));
        assert_eq!(push_rows(&mut out, rows, 100, 13), 8);
    }
}
