//! Findings and the policy metadata they carry.
//!
//! Every rule — Rego or Cedar — has an id, a family, a severity, an enforcement level and a
//! remediation. A finding is one rule's answer about one resource (or one stack): a violation, or
//! an error while evaluating it. Errors fail closed.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::Serialize;

/// How bad a violation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

/// Whether a violation fails the run (Sentinel's enforcement levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Enforcement {
    /// Reported, never fails.
    Advisory,
    /// Fails unless waived or overridden.
    SoftMandatory,
    /// Always fails; cannot be waived.
    HardMandatory,
}

/// Which engine produced a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    Rego,
    Cedar,
    /// Tollgate's own checks (a cost that could not be estimated, …).
    Tollgate,
}

/// What the rule said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The rule found the resource non-compliant.
    Violation,
    /// The rule could not be evaluated; treated as failing (fail closed).
    Error,
    /// Not judgeable: a value the rule needs is only known at apply (`(known after apply)`) or is
    /// sensitive. Fails like a violation of the rule's enforcement (waivable only with
    /// `waive_errors`); the message carries [`UNKNOWN_EXPLANATION`].
    Unknown,
}

/// What an [`Outcome::Unknown`] finding says besides the rule's own message.
pub const UNKNOWN_EXPLANATION: &str =
    "this value is only known at apply; the audit will judge it then";

impl Outcome {
    /// `violation`, `error` or `unknown`: the word every format uses.
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Violation => "violation",
            Outcome::Error => "error",
            Outcome::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

macro_rules! parse_enum {
    ($t:ty, $what:literal, $($s:literal => $v:expr),+) => {
        impl FromStr for $t {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($s => Ok($v),)+
                    other => Err(format!(concat!("unknown ", $what, " `{}` (expected one of: {})"), other, [$($s),+].join(", "))),
                }
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let s = match self { $(x if *x == $v => $s,)+ _ => unreachable!() };
                f.write_str(s)
            }
        }
    };
}

parse_enum!(Severity, "severity", "info" => Severity::Info, "low" => Severity::Low, "medium" => Severity::Medium, "high" => Severity::High, "critical" => Severity::Critical);
parse_enum!(Enforcement, "enforcement", "advisory" => Enforcement::Advisory, "soft-mandatory" => Enforcement::SoftMandatory, "hard-mandatory" => Enforcement::HardMandatory);
parse_enum!(EngineKind, "engine", "rego" => EngineKind::Rego, "cedar" => EngineKind::Cedar, "tollgate" => EngineKind::Tollgate);

/// What a rule checks, at which level of the estate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// One resource, with its stack's metadata.
    Resource,
    /// One stack with all its resources (cross-resource rules).
    Stack,
    /// Every stack at once (cross-stack rules).
    Estate,
}

parse_enum!(Scope, "scope", "resource" => Scope::Resource, "stack" => Scope::Stack, "estate" => Scope::Estate);

/// A rule's metadata, shared by all its findings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyMeta {
    pub id: String,
    pub title: String,
    pub family: String,
    pub severity: Severity,
    pub enforcement: Enforcement,
    pub remediation: String,
    pub description: String,
    pub engine: EngineKind,
    /// Where the rule is defined.
    pub file: String,
}

/// One rule's answer about one resource or stack.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub stack: String,
    /// `None` for a stack-level finding.
    pub resource: Option<String>,
    pub resource_type: Option<String>,
    pub policy: String,
    pub title: String,
    pub family: String,
    pub severity: Severity,
    pub enforcement: Enforcement,
    pub engine: EngineKind,
    pub outcome: Outcome,
    pub message: String,
    pub remediation: String,
    /// The file the resource (or stack) was read from, and the line where it starts.
    pub file: String,
    pub line: Option<usize>,
    /// The id of the waiver that waives it, if any.
    pub waiver: Option<String>,
    pub waived: bool,
    /// A soft-mandatory violation let through for this run with `--override` (and a reason).
    pub overridden: bool,
}

impl Finding {
    /// A finding from a rule's metadata about a place.
    pub fn new(meta: &PolicyMeta, at: &Subject<'_>, outcome: Outcome, message: String) -> Self {
        Finding {
            stack: at.stack.to_owned(),
            resource: at.resource.map(str::to_owned),
            resource_type: at.resource_type.map(str::to_owned),
            policy: meta.id.clone(),
            title: meta.title.clone(),
            family: meta.family.clone(),
            severity: meta.severity,
            enforcement: meta.enforcement,
            engine: meta.engine,
            outcome,
            message,
            remediation: meta.remediation.clone(),
            file: at.file.to_owned(),
            line: at.line,
            waiver: None,
            waived: false,
            overridden: false,
        }
    }

    /// Whether this finding fails the run: errors always (fail closed), violations and unknowns
    /// (not judgeable) unless advisory; waived or overridden findings never.
    pub fn fails(&self) -> bool {
        !self.waived
            && !self.overridden
            && (self.outcome == Outcome::Error || self.enforcement != Enforcement::Advisory)
    }

    /// An [`Outcome::Unknown`] finding's message: the rule's own words, then why it could not be
    /// judged.
    pub fn unknown_message(msg: &str) -> String {
        if msg.trim().is_empty() {
            format!("not judgeable: {UNKNOWN_EXPLANATION}")
        } else {
            format!("{msg} (not judgeable: {UNKNOWN_EXPLANATION})")
        }
    }

    /// The order findings are reported in: independent of evaluation order.
    pub fn sort_key(&self) -> impl Ord + '_ {
        (
            &self.stack,
            &self.resource,
            &self.policy,
            self.engine,
            self.outcome,
            &self.message,
        )
    }
}

/// What a finding is about.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub stack: &'a str,
    pub resource: Option<&'a str>,
    pub resource_type: Option<&'a str>,
    pub file: &'a str,
    pub line: Option<usize>,
}

/// Shared metadata for rules, cheap to clone across threads.
pub type MetaRef = Arc<PolicyMeta>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_and_reject_unknowns() {
        assert_eq!(
            "soft-mandatory".parse::<Enforcement>().unwrap(),
            Enforcement::SoftMandatory
        );
        assert_eq!(Enforcement::HardMandatory.to_string(), "hard-mandatory");
        let err = "mandatory".parse::<Enforcement>().unwrap_err();
        assert!(
            err.contains("advisory, soft-mandatory, hard-mandatory"),
            "{err}"
        );
        assert_eq!("critical".parse::<Severity>().unwrap(), Severity::Critical);
        assert!("urgent".parse::<Severity>().is_err());
    }
}
