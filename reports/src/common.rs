//! What several formats need to agree on: a finding's status, where it is, and the distinct rules
//! of a report.
//!
//! A policy that exists in both Rego and Cedar appears twice in `Report::policies` (once per
//! engine) with the same id. Formats that key on the policy id (SARIF rules, JUnit test cases)
//! describe it once, with both engines; its findings keep their engine.

use std::borrow::Cow;
use std::collections::BTreeMap;

use tollgate_engine::finding::{EngineKind, Finding, Outcome, PolicyMeta};
use tollgate_engine::report::Report;

/// What a finding means for the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status<'a> {
    /// A violation that fails the run.
    Fail,
    /// The rule could not be evaluated; fails the run (fail closed).
    Error,
    /// Not judgeable: a value the rule needs is only known at apply; fails like a violation.
    Unknown,
    /// Accepted by a waiver (its id).
    Waived(&'a str),
    /// Let through for this run by `--override`.
    Overridden,
    /// An advisory violation: reported, never fails.
    Advisory,
}

impl<'a> Status<'a> {
    pub(crate) fn of(f: &'a Finding) -> Self {
        if f.waived {
            Status::Waived(f.waiver.as_deref().unwrap_or("?"))
        } else if f.overridden {
            Status::Overridden
        } else if f.fails() {
            match f.outcome {
                Outcome::Error => Status::Error,
                Outcome::Unknown => Status::Unknown,
                Outcome::Violation => Status::Fail,
            }
        } else {
            Status::Advisory
        }
    }

    /// A short word for a table cell or a property.
    pub(crate) fn word(self) -> &'static str {
        match self {
            Status::Fail => "fail",
            Status::Error => "error",
            Status::Unknown => "unknown",
            Status::Waived(_) => "waived",
            Status::Overridden => "overridden",
            Status::Advisory => "advisory",
        }
    }
}

/// `STACK/RESOURCE`, or `STACK` for a stack-level finding.
pub(crate) fn subject(f: &Finding) -> String {
    match &f.resource {
        Some(r) => format!("{}/{r}", f.stack),
        None => f.stack.clone(),
    }
}

/// `FILE:LINE`, or `FILE` when the line is unknown.
pub(crate) fn location(f: &Finding) -> String {
    match f.line {
        Some(line) => format!("{}:{line}", f.file),
        None => f.file.clone(),
    }
}

/// One policy id, with every engine that implements it.
#[derive(Debug, Clone)]
pub(crate) struct Rule<'a> {
    /// The first metadata seen for the id (Rego before Cedar, as the report lists them).
    pub meta: Cow<'a, PolicyMeta>,
    /// Engines in the order the report lists them.
    pub engines: Vec<EngineKind>,
    /// Where each engine's rule is defined, in the same order (empty when the report lacks it).
    pub files: Vec<&'a str>,
}

/// The distinct policies of a report, in the order `Report::policies` first names them; then any
/// policy a finding names that the list lacks (described from the finding), sorted by id, so
/// every finding has its rule.
pub(crate) fn rules(report: &Report) -> Vec<Rule<'_>> {
    let mut out: Vec<Rule<'_>> = Vec::new();
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    for meta in &report.policies {
        match index.get(meta.id.as_str()) {
            Some(&i) => {
                if !out[i].engines.contains(&meta.engine) {
                    out[i].engines.push(meta.engine);
                }
                if !meta.file.is_empty() && !out[i].files.contains(&meta.file.as_str()) {
                    out[i].files.push(&meta.file);
                }
            }
            None => {
                index.insert(&meta.id, out.len());
                out.push(Rule {
                    meta: Cow::Borrowed(meta),
                    engines: vec![meta.engine],
                    files: Some(meta.file.as_str())
                        .filter(|f| !f.is_empty())
                        .into_iter()
                        .collect(),
                });
            }
        }
    }
    let mut missing: BTreeMap<&str, Rule<'_>> = BTreeMap::new();
    for f in &report.findings {
        if index.contains_key(f.policy.as_str()) {
            continue;
        }
        let rule = missing.entry(&f.policy).or_insert_with(|| Rule {
            meta: Cow::Owned(PolicyMeta {
                id: f.policy.clone(),
                title: f.title.clone(),
                family: f.family.clone(),
                severity: f.severity,
                enforcement: f.enforcement,
                remediation: f.remediation.clone(),
                description: String::new(),
                engine: f.engine,
                file: String::new(),
            }),
            engines: Vec::new(),
            files: Vec::new(),
        });
        if !rule.engines.contains(&f.engine) {
            rule.engines.push(f.engine);
        }
    }
    out.extend(missing.into_values());
    out
}

/// Engines as `rego, cedar`.
pub(crate) fn engine_list(engines: &[EngineKind]) -> String {
    engines
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `n thing` or `n things`.
pub(crate) fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}
