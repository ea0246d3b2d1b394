//! The table people read in a terminal: failing findings first, then the rest, then a summary.

use std::fmt::Write as _;

use tabled::settings::Style;
use tabled::{Table, Tabled};
use tollgate_engine::finding::Finding;
use tollgate_engine::report::{Report, Verdict};

use crate::RenderOptions;

#[derive(Tabled)]
struct Row<'a> {
    #[tabled(rename = "STACK")]
    stack: &'a str,
    #[tabled(rename = "RESOURCE")]
    resource: &'a str,
    #[tabled(rename = "POLICY")]
    policy: &'a str,
    #[tabled(rename = "SEVERITY")]
    severity: String,
    #[tabled(rename = "ENFORCEMENT")]
    enforcement: String,
    #[tabled(rename = "ENGINE")]
    engine: String,
    #[tabled(rename = "STATUS")]
    status: String,
    #[tabled(rename = "MESSAGE")]
    message: &'a str,
}

fn status(f: &Finding) -> String {
    match (&f.waiver, f.fails(), f.outcome) {
        (Some(w), _, _) => format!("waived ({w})"),
        (None, false, _) if f.overridden => "overridden".into(),
        (None, true, tollgate_engine::finding::Outcome::Error) => "ERROR".into(),
        (None, true, _) => "FAIL".into(),
        (None, false, _) => "advisory".into(),
    }
}

fn paint(s: &str, code: &str, options: RenderOptions) -> String {
    if options.color {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_owned()
    }
}

pub fn render(report: &Report, options: RenderOptions) -> String {
    let mut out = String::new();
    let mut findings: Vec<&Finding> = report.findings.iter().collect();
    // Failing first; within each group the report's own stable order.
    findings.sort_by_key(|f| !f.fails());
    if !findings.is_empty() {
        let rows = findings.iter().map(|f| Row {
            stack: &f.stack,
            resource: f.resource.as_deref().unwrap_or("-"),
            policy: &f.policy,
            severity: f.severity.to_string(),
            enforcement: f.enforcement.to_string(),
            engine: format!("{:?}", f.engine).to_lowercase(),
            status: status(f),
            message: &f.message,
        });
        let mut table = Table::new(rows);
        table.with(Style::sharp());
        let _ = writeln!(out, "{table}");
    }
    for w in &report.waivers.expired {
        let line = format!(
            "warning: waiver {} ({}) expired on {}: it waives nothing ({} finding(s) it would match)",
            w.id, w.policy, w.expires, w.findings
        );
        let _ = writeln!(out, "{}", paint(&line, "33", options));
    }
    if let Some(sel) = &report.selection {
        let line = match &sel.all_because {
            Some(why) => format!(
                "changed since {}: every stack checked, because {why}",
                sel.since
            ),
            None => format!(
                "changed since {}: checked {} changed stack(s) [{}] and {} dependent(s) [{}]; skipped {}",
                sel.since,
                sel.changed.len(),
                sel.changed.join(", "),
                sel.dependents.len(),
                sel.dependents.join(", "),
                sel.skipped.len()
            ),
        };
        let _ = writeln!(out, "note: {line}");
    }
    for o in &report.overrides {
        let _ = writeln!(
            out,
            "{}",
            paint(
                &format!(
                    "override: {} let through {} finding(s) for this run: {}",
                    o.policy, o.findings, o.reason
                ),
                "33",
                options
            )
        );
    }
    for w in &report.waivers.unused {
        let _ = writeln!(
            out,
            "note: waiver {} ({}) matched no finding",
            w.id, w.policy
        );
    }
    for st in &report.stacks {
        if let Some(why) = &st.cost_not_estimated {
            let _ = writeln!(
                out,
                "note: the cost of stack {} is not estimated: {why}",
                st.stack
            );
        }
    }
    if !report.not_evaluated.is_empty() {
        let _ = writeln!(
            out,
            "note: {} resource(s) have no type-specific rule; only tagging and authorisation judged them (--format json lists them in `not_evaluated`)",
            report.not_evaluated.len()
        );
    }
    if let Some(note) = &report.envelope_note {
        let _ = writeln!(out, "note: {note}");
    }
    let s = &report.summary;
    let verdict = match s.verdict {
        Verdict::Pass => paint("PASS", "1;32", options),
        Verdict::Fail => paint("FAIL", "1;31", options),
    };
    let _ = writeln!(
        out,
        "{verdict}: {} stacks, {} resources, {} rules ({} Rego, {} Cedar) as {}; {} findings: {} failing, {} waived, {} overridden, {} advisory, {} errors; estimated ${:.2}/month",
        s.stacks,
        s.resources,
        s.rules.rego + s.rules.cedar,
        s.rules.rego,
        s.rules.cedar,
        s.principal,
        s.findings,
        s.failing,
        s.waived,
        s.overridden,
        s.advisory,
        s.errors,
        s.estimated_monthly_cost_usd,
    );
    out
}
