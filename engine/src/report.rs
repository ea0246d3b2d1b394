//! The report of a check: findings after waivers, a verdict per stack and overall.
//!
//! This one value is what every output format renders.

use serde::Serialize;

use crate::eval::Evaluation;
use crate::finding::{Finding, Outcome, PolicyMeta};
use crate::model::Estate;
use crate::waiver::{OverrideUse, WaiverReport};

/// Pass or fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
}

impl Verdict {
    fn of<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Self {
        if findings.into_iter().any(Finding::fails) {
            Verdict::Fail
        } else {
            Verdict::Pass
        }
    }
}

/// Counts across the whole run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    pub stacks: usize,
    pub resources: usize,
    pub findings: usize,
    /// Findings that fail the run (not waived, not advisory, or errors).
    pub failing: usize,
    pub waived: usize,
    pub overridden: usize,
    pub advisory: usize,
    pub errors: usize,
    pub verdict: Verdict,
    pub principal: String,
    pub action: String,
    pub rules: RuleCounts,
    pub evaluations: usize,
    pub estimated_monthly_cost_usd: f64,
}

/// How many rules of each engine were loaded.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RuleCounts {
    pub rego: usize,
    pub cedar: usize,
}

/// One stack's result.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StackResult {
    pub stack: String,
    pub repository: String,
    pub file: String,
    pub resources: usize,
    pub findings: usize,
    pub failing: usize,
    pub verdict: Verdict,
    pub estimated_monthly_cost_usd: f64,
    /// Why the cost is not estimated (no price catalogue for the stack's region).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_not_estimated: Option<String>,
    pub monthly_limit_usd: Option<i64>,
    /// For a plan or template: each envelope field's value and where it came from.
    #[serde(skip_serializing_if = "crate::envelope::Envelope::is_empty")]
    pub envelope: crate::envelope::Envelope,
}

/// Everything a check found.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub tool: Tool,
    pub summary: Summary,
    pub stacks: Vec<StackResult>,
    pub findings: Vec<Finding>,
    pub waivers: WaiverReport,
    /// Soft-mandatory policies overridden for this run, with the reason given.
    pub overrides: Vec<OverrideUse>,
    /// Every rule the run evaluated, Rego then Cedar, each sorted by id.
    pub policies: Vec<PolicyMeta>,
    /// With `--changed-since`: which stacks were checked and which skipped.
    pub selection: Option<crate::check::Selection>,
    /// `stack/resource` of resources only generic rules (tagging, authorisation) judged.
    pub not_evaluated: Vec<String>,
    /// What the strict envelope defaults decided for plans and templates that did not say
    /// (one line for people; `stacks[].envelope` has the details).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub envelope_note: Option<String>,
}

/// Which Tollgate made the report.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

/// What a run knew besides its findings: waivers and overrides applied, the rules, who asked.
#[derive(Debug, Clone)]
pub struct RunInfo {
    pub waivers: WaiverReport,
    pub overrides: Vec<OverrideUse>,
    pub policies: Vec<PolicyMeta>,
    pub principal: String,
    pub action: String,
    pub rules: RuleCounts,
}

impl Report {
    /// Folds an evaluation (findings already waived) into a report.
    pub fn new(estate: &Estate, evaluation: Evaluation, run: RunInfo) -> Self {
        let RunInfo {
            waivers,
            overrides,
            policies,
            principal,
            action,
            rules,
        } = run;
        let findings = evaluation.findings;
        let stacks: Vec<StackResult> = estate
            .stacks
            .iter()
            .zip(&evaluation.costs)
            .map(|(s, cost)| {
                let mine: Vec<&Finding> = findings.iter().filter(|f| f.stack == s.id).collect();
                StackResult {
                    stack: s.id.clone(),
                    repository: s.repository.clone(),
                    file: s.source.file.display().to_string(),
                    resources: s.resources.len(),
                    findings: mine.len(),
                    failing: mine.iter().filter(|f| f.fails()).count(),
                    verdict: Verdict::of(mine.iter().copied()),
                    estimated_monthly_cost_usd: round_cents(cost.monthly_usd),
                    cost_not_estimated: cost.not_estimated.clone(),
                    monthly_limit_usd: s.budget.as_ref().map(|b| b.monthly_limit_usd),
                    envelope: s.envelope.clone(),
                }
            })
            .collect();
        let summary = Summary {
            stacks: estate.stacks.len(),
            resources: estate.resource_count(),
            findings: findings.len(),
            failing: findings.iter().filter(|f| f.fails()).count(),
            waived: findings.iter().filter(|f| f.waived).count(),
            overridden: findings.iter().filter(|f| f.overridden).count(),
            advisory: findings
                .iter()
                .filter(|f| !f.fails() && !f.waived && !f.overridden)
                .count(),
            errors: findings
                .iter()
                .filter(|f| f.outcome == Outcome::Error)
                .count(),
            verdict: Verdict::of(&findings),
            principal,
            action,
            rules,
            evaluations: evaluation.evaluations,
            estimated_monthly_cost_usd: round_cents(
                evaluation.costs.iter().map(|c| c.monthly_usd).sum(),
            ),
        };
        Report {
            tool: Tool {
                name: "tollgate",
                version: env!("CARGO_PKG_VERSION"),
            },
            summary,
            stacks,
            findings,
            waivers,
            overrides,
            policies,
            selection: None,
            not_evaluated: evaluation.not_evaluated,
            envelope_note: crate::envelope::note(
                estate.stacks.iter().map(|s| (s.id.as_str(), &s.envelope)),
            ),
        }
    }
}

impl Report {
    /// Keeps only the stacks a `--changed-since` selection checked, and records it.
    pub fn restrict_to(&mut self, selection: crate::check::Selection) {
        self.stacks
            .retain(|s| !selection.skipped.contains(&s.stack));
        self.summary.stacks = self.stacks.len();
        self.summary.resources = self.stacks.iter().map(|s| s.resources).sum();
        self.summary.estimated_monthly_cost_usd = round_cents(
            self.stacks
                .iter()
                .map(|s| s.estimated_monthly_cost_usd)
                .sum(),
        );
        self.selection = Some(selection);
    }
}

fn round_cents(x: f64) -> f64 {
    // `+ 0.0` turns a negative zero (an empty sum) into zero.
    (x * 100.0).round() / 100.0 + 0.0
}
