//! Waivers: approved, time-limited exceptions to a policy for some resources.
//!
//! A waiver names a policy id, resource globs, a reason, who approved it and an expiry date
//! (valid through that day, UTC). Globs match `STACK/RESOURCE` for resource findings and `STACK`
//! for stack-level findings (`*` does not cross `/`; `**` does). Hard-mandatory policies cannot be
//! waived. A waiver waives violations only: a rule that could not be evaluated (`error`) or could
//! not judge a value known only at apply (`unknown`) stays failing unless the waiver says
//! `waive_errors: true` — approved like any waiver, so accepting "not judged" is a decision
//! someone signed. When several waivers match one finding, the one with the smallest id is recorded, so the
//! result does not depend on file order. An expired waiver waives nothing and is reported; so is
//! a waiver that matched nothing.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;
use globset::{GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};

use crate::finding::{Enforcement, Finding, Outcome, PolicyMeta};
use crate::json::{self, LineCol};
use crate::policy::PolicyError;

/// One waiver as written.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WaiverSpec {
    pub id: String,
    pub policy: String,
    pub resources: Vec<String>,
    pub reason: String,
    pub approved_by: String,
    pub expires: String,
    /// Also waive `error` and `unknown` findings of the policy (never by default).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub waive_errors: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WaiverFile {
    waivers: Vec<WaiverSpec>,
}

/// A checked waiver, ready to match findings.
#[derive(Debug, Clone)]
pub struct Waiver {
    pub spec: WaiverSpec,
    pub expires: NaiveDate,
    matchers: Vec<GlobSet>,
}

impl Waiver {
    pub fn is_expired(&self, today: NaiveDate) -> bool {
        today > self.expires
    }

    /// Whether the waiver covers `f`: its policy and a resource glob, and — for an `error` or
    /// `unknown` finding — `waive_errors`.
    pub fn matches(&self, f: &Finding) -> bool {
        self.names(f) && (f.outcome == Outcome::Violation || self.spec.waive_errors)
    }

    /// Whether the waiver names `f` (policy and resource glob), whatever its outcome.
    pub fn names(&self, f: &Finding) -> bool {
        if f.policy != self.spec.policy {
            return false;
        }
        let target = match &f.resource {
            Some(r) => format!("{}/{r}", f.stack),
            None => f.stack.clone(),
        };
        self.matchers.iter().any(|m| m.is_match(&target))
    }
}

/// Reads and checks a waivers file against the policies that exist; the first problem is the
/// error.
pub fn load_waivers(file: &Path, policies: &[&PolicyMeta]) -> Result<Vec<Waiver>, PolicyError> {
    let text = json::read_text(file, json::MAX_FILE_BYTES)
        .map_err(|e| PolicyError::new(file, e.to_string()))?;
    let (waivers, errors) = check_waivers(file, &text, policies);
    match errors.into_iter().next() {
        Some(e) => Err(e),
        None => Ok(waivers),
    }
}

/// Checks every waiver in `text` (the contents of `file`) and keeps every problem, each placed at
/// the value it is about, so `tollgate validate` can list them all. Returns the waivers that are
/// valid, sorted by id. Expiry is not judged here: an expired waiver is reported by the run.
pub fn check_waivers(
    file: &Path,
    text: &str,
    policies: &[&PolicyMeta],
) -> (Vec<Waiver>, Vec<PolicyError>) {
    // Strict parse first: a repeated key is an error here as everywhere.
    if let Err(e) = json::parse_strict(text) {
        return (Vec::new(), vec![PolicyError::from_json(file, e)]);
    }
    let parsed: WaiverFile = match serde_json::from_str(text) {
        Ok(p) => p,
        Err(e) => {
            let e = PolicyError::from_json(file, json::JsonError::from_serde(&e, None));
            return (Vec::new(), vec![e]);
        }
    };
    let by_id: BTreeMap<&str, &PolicyMeta> = policies.iter().map(|m| (m.id.as_str(), *m)).collect();
    let mut seen = BTreeMap::new();
    let mut out = Vec::with_capacity(parsed.waivers.len());
    let mut errors = Vec::new();
    for (i, spec) in parsed.waivers.into_iter().enumerate() {
        let err = |field: &str, m: String| {
            let e = PolicyError::new(file, format!("$.waivers[{i}] ({}): {m}", spec.id));
            let at = json::locate(text, &format!("$.waivers[{i}].{field}"))
                .map(|r| json::line_col(text, r.start))
                .or_else(|| find_position(text, &spec.id));
            match at {
                Some(p) => e.at(p),
                None => e,
            }
        };
        let before = errors.len();
        if spec.id.trim().is_empty() {
            errors.push(err("id", "`id` is empty".into()));
        } else if seen.insert(spec.id.clone(), i).is_some() {
            errors.push(err("id", "waiver id used twice".into()));
        }
        for (field, v) in [("reason", &spec.reason), ("approved_by", &spec.approved_by)] {
            if v.trim().is_empty() {
                errors.push(err(
                    field,
                    format!("`{field}` is empty: a waiver needs a reason and an approver"),
                ));
            }
        }
        match by_id.get(spec.policy.as_str()) {
            None => {
                let mut e = err("policy", format!("unknown policy `{}`", spec.policy));
                if let Some(s) = crate::registry::closest(&spec.policy, by_id.keys().copied()) {
                    e = e.help(format!("did you mean `{s}`?"));
                }
                errors.push(e);
            }
            Some(m) if m.enforcement == Enforcement::HardMandatory => {
                errors.push(err(
                    "policy",
                    format!(
                        "policy `{}` is hard-mandatory and cannot be waived",
                        spec.policy
                    ),
                ));
            }
            Some(_) => {}
        }
        let expires = NaiveDate::parse_from_str(&spec.expires, "%Y-%m-%d")
            .map_err(|e| {
                errors.push(err(
                    "expires",
                    format!("`expires` must be a date YYYY-MM-DD: {e}"),
                ))
            })
            .ok();
        if spec.resources.is_empty() {
            errors.push(err(
                "resources",
                "`resources` is empty: name the resources it waives (globs allowed)".into(),
            ));
        }
        let mut matchers = Vec::with_capacity(spec.resources.len());
        for (j, g) in spec.resources.iter().enumerate() {
            match compile_glob(g) {
                Ok(set) => matchers.push(set),
                Err(e) => errors.push(err(
                    &format!("resources[{j}]"),
                    format!("bad resource glob `{}`: {e}", shorten(g)),
                )),
            }
        }
        if let (Some(expires), true) = (expires, errors.len() == before) {
            out.push(Waiver {
                spec,
                expires,
                matchers,
            });
        }
    }
    out.sort_by(|a, b| a.spec.id.cmp(&b.spec.id));
    (out, errors)
}

/// Longest resource glob accepted, in characters.
pub const MAX_GLOB_CHARS: usize = 1024;

/// Most `{…,…}` alternatives accepted in one resource glob.
pub const MAX_GLOB_ALTERNATIVES: usize = 256;

/// Compiles a resource glob, refusing one too big for the matcher: globset turns a glob into a
/// regular expression and panicked on one of 30,000 alternatives when that did not compile. The
/// bounds are checked first, and the compile is the fallible one.
fn compile_glob(g: &str) -> Result<GlobSet, String> {
    let alternatives = g.matches(',').count() + g.matches('{').count();
    if alternatives > MAX_GLOB_ALTERNATIVES {
        return Err(format!(
            "too many alternatives: limit {MAX_GLOB_ALTERNATIVES}, got {alternatives}"
        ));
    }
    let chars = g.chars().count();
    if chars > MAX_GLOB_CHARS {
        return Err(format!(
            "too long: limit {MAX_GLOB_CHARS} characters, got {chars}"
        ));
    }
    let glob = globset::GlobBuilder::new(g)
        .literal_separator(true)
        .build()
        .map_err(|e| e.to_string())?;
    GlobSetBuilder::new()
        .add(glob)
        .build()
        .map_err(|e| format!("the matcher cannot compile it: {e}"))
}

/// A pattern quoted in a message: at most 80 characters of it.
fn shorten(g: &str) -> String {
    match g.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", &g[..i]),
        None => g.to_owned(),
    }
}

fn find_position(text: &str, id: &str) -> Option<LineCol> {
    let needle = format!("\"{id}\"");
    text.find(&needle).map(|o| json::line_col(text, o))
}

/// What the waivers did in one run.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct WaiverReport {
    /// Waivers that waived at least one finding, with how many.
    pub applied: Vec<WaiverUse>,
    /// Waivers past their expiry: they waive nothing. `findings` counts what they would have matched.
    pub expired: Vec<WaiverUse>,
    /// Unexpired waivers that matched no finding (stale, or a typo in a glob).
    pub unused: Vec<WaiverUse>,
    /// Waivers that name `error` or `unknown` findings they do not waive (no `waive_errors`):
    /// those findings still fail.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors_not_waived: Vec<WaiverUse>,
}

/// One waiver's part in a run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WaiverUse {
    pub id: String,
    pub policy: String,
    pub expires: String,
    pub approved_by: String,
    pub reason: String,
    pub findings: usize,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub waive_errors: bool,
}

/// Marks waived findings and reports each waiver's use. Waivers must be sorted by id.
pub fn apply_waivers(
    findings: &mut [Finding],
    waivers: &[Waiver],
    today: NaiveDate,
) -> WaiverReport {
    let mut counts = vec![0usize; waivers.len()];
    let mut refused = vec![0usize; waivers.len()];
    for f in findings.iter_mut() {
        let mut waived_by = None;
        for (i, w) in waivers.iter().enumerate() {
            if w.names(f) && !w.matches(f) && !w.is_expired(today) {
                refused[i] += 1;
            }
            if w.matches(f) {
                counts[i] += 1;
                if waived_by.is_none() && !w.is_expired(today) {
                    waived_by = Some(i);
                }
            }
        }
        if let Some(i) = waived_by {
            f.waived = true;
            f.waiver = Some(waivers[i].spec.id.clone());
        }
    }
    let mut report = WaiverReport::default();
    for ((w, n), r) in waivers.iter().zip(counts).zip(refused) {
        let entry = |findings| WaiverUse {
            id: w.spec.id.clone(),
            policy: w.spec.policy.clone(),
            expires: w.spec.expires.clone(),
            approved_by: w.spec.approved_by.clone(),
            reason: w.spec.reason.clone(),
            findings,
            waive_errors: w.spec.waive_errors,
        };
        if r > 0 {
            report.errors_not_waived.push(entry(r));
        }
        let entry = entry(n);
        if w.is_expired(today) {
            report.expired.push(entry);
        } else if n > 0 {
            report.applied.push(entry);
        } else {
            report.unused.push(entry);
        }
    }
    report
}

/// A one-run override of a soft-mandatory policy (`--override POLICY --reason TEXT`), Sentinel
/// style: recorded in every output, never applicable to hard-mandatory policies or to errors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Override {
    pub policy: String,
    pub reason: String,
}

/// What an override did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OverrideUse {
    pub policy: String,
    pub reason: String,
    pub findings: usize,
}

/// Checks overrides against the policies that exist.
pub fn check_overrides(overrides: &[Override], policies: &[&PolicyMeta]) -> Result<(), String> {
    for o in overrides {
        if o.reason.trim().is_empty() {
            return Err("--override needs a --reason".into());
        }
        let Some(meta) = policies.iter().find(|m| m.id == o.policy) else {
            let hint = crate::registry::closest(&o.policy, policies.iter().map(|m| m.id.as_str()))
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            return Err(format!("--override: unknown policy `{}`{hint}", o.policy));
        };
        match meta.enforcement {
            Enforcement::HardMandatory => {
                return Err(format!(
                    "--override: policy `{}` is hard-mandatory and cannot be overridden",
                    o.policy
                ));
            }
            Enforcement::Advisory => {
                return Err(format!(
                    "--override: policy `{}` is advisory and never fails; there is nothing to override",
                    o.policy
                ));
            }
            Enforcement::SoftMandatory => {}
        }
    }
    Ok(())
}

/// Marks the unwaived violations of overridden policies. Errors stay failing (fail closed).
pub fn apply_overrides(findings: &mut [Finding], overrides: &[Override]) -> Vec<OverrideUse> {
    overrides
        .iter()
        .map(|o| {
            let mut n = 0;
            for f in findings.iter_mut().filter(|f| {
                f.policy == o.policy && !f.waived && f.outcome == crate::finding::Outcome::Violation
            }) {
                f.overridden = true;
                n += 1;
            }
            OverrideUse {
                policy: o.policy.clone(),
                reason: o.reason.clone(),
                findings: n,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{EngineKind, Outcome, Severity, Subject};

    fn meta(id: &str, enforcement: Enforcement) -> PolicyMeta {
        PolicyMeta {
            id: id.into(),
            title: "t".into(),
            family: "tagging".into(),
            severity: Severity::Low,
            enforcement,
            remediation: "r".into(),
            description: String::new(),
            engine: EngineKind::Rego,
            file: "p.rego".into(),
        }
    }

    fn finding(m: &PolicyMeta, stack: &str, resource: Option<&str>) -> Finding {
        let at = Subject {
            stack,
            resource,
            resource_type: None,
            file: "s.json",
            line: None,
        };
        Finding::new(m, &at, Outcome::Violation, "m".into())
    }

    fn write(dir: &tempfile::TempDir, text: &str) -> std::path::PathBuf {
        let p = dir.path().join("waivers.json");
        std::fs::write(&p, text).unwrap();
        p
    }

    fn waiver_json(id: &str, policy: &str, globs: &str, expires: &str) -> String {
        format!(
            r#"{{"id": "{id}", "policy": "{policy}", "resources": {globs}, "reason": "r", "approved_by": "a", "expires": "{expires}"}}"#
        )
    }

    #[test]
    fn globs_expiry_and_precedence() {
        let m = meta("P1", Enforcement::SoftMandatory);
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            r#"{{"waivers": [{}, {}, {}]}}"#,
            waiver_json("W2", "P1", r#"["db/*"]"#, "2027-01-01"),
            waiver_json("W1", "P1", r#"["db/primary"]"#, "2026-01-01"),
            waiver_json("W3", "P1", r#"["other"]"#, "2027-01-01"),
        );
        let waivers = load_waivers(&write(&dir, &text), &[&m]).unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        let mut findings = vec![finding(&m, "db", Some("primary")), finding(&m, "db", None)];
        let report = apply_waivers(&mut findings, &waivers, today);
        // W1 matches but is expired; W2 applies; the stack-level finding is not matched by `db/*`.
        assert_eq!(findings[0].waiver.as_deref(), Some("W2"));
        assert!(!findings[1].waived);
        assert_eq!(
            report
                .applied
                .iter()
                .map(|w| w.id.as_str())
                .collect::<Vec<_>>(),
            ["W2"]
        );
        assert_eq!(
            report
                .expired
                .iter()
                .map(|w| (w.id.as_str(), w.findings))
                .collect::<Vec<_>>(),
            [("W1", 1)]
        );
        assert_eq!(
            report
                .unused
                .iter()
                .map(|w| w.id.as_str())
                .collect::<Vec<_>>(),
            ["W3"]
        );
        // On its expiry day a waiver still holds.
        let mut findings = vec![finding(&m, "db", Some("primary"))];
        let _ = apply_waivers(
            &mut findings,
            &waivers,
            NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        );
        assert_eq!(findings[0].waiver.as_deref(), Some("W1"));
    }

    #[test]
    fn errors_and_unknowns_are_waived_only_with_waive_errors() {
        let m = meta("P1", Enforcement::SoftMandatory);
        let dir = tempfile::tempdir().unwrap();
        let plain = waiver_json("W1", "P1", r#"["db/*"]"#, "2027-01-01");
        let explicit = waiver_json("W2", "P1", r#"["cache/*"]"#, "2027-01-01")
            .replace(r#""expires""#, r#""waive_errors": true, "expires""#);
        let text = format!(r#"{{"waivers": [{plain}, {explicit}]}}"#);
        let waivers = load_waivers(&write(&dir, &text), &[&m]).unwrap();
        assert!(!waivers[0].spec.waive_errors && waivers[1].spec.waive_errors);
        let today = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        let with = |stack: &str, outcome: Outcome| {
            let mut f = finding(&m, stack, Some("r"));
            f.outcome = outcome;
            f
        };
        let mut findings = vec![
            with("db", Outcome::Violation),
            with("db", Outcome::Error),
            with("db", Outcome::Unknown),
            with("cache", Outcome::Error),
            with("cache", Outcome::Unknown),
        ];
        let report = apply_waivers(&mut findings, &waivers, today);
        let waived: Vec<bool> = findings.iter().map(|f| f.waived).collect();
        assert_eq!(waived, [true, false, false, true, true]);
        assert!(findings[1].fails() && findings[2].fails());
        assert_eq!(
            report
                .errors_not_waived
                .iter()
                .map(|w| (w.id.as_str(), w.findings))
                .collect::<Vec<_>>(),
            [("W1", 2)]
        );
        assert_eq!(
            report
                .applied
                .iter()
                .map(|w| (w.id.as_str(), w.findings, w.waive_errors))
                .collect::<Vec<_>>(),
            [("W1", 1, false), ("W2", 2, true)]
        );
        // `waive_errors` must be a boolean.
        let bad = waiver_json("W3", "P1", r#"["a"]"#, "2027-01-01")
            .replace(r#""expires""#, r#""waive_errors": "yes", "expires""#);
        let err = load_waivers(&write(&dir, &format!(r#"{{"waivers": [{bad}]}}"#)), &[&m])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("waive_errors") || err.contains("boolean"),
            "{err}"
        );
    }

    #[test]
    fn bad_waivers_are_errors() {
        let soft = meta("P1", Enforcement::SoftMandatory);
        let hard = meta("H1", Enforcement::HardMandatory);
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            (
                waiver_json("W", "P9", r#"["a"]"#, "2027-01-01"),
                "unknown policy `P9`",
            ),
            (
                waiver_json("W", "H1", r#"["a"]"#, "2027-01-01"),
                "hard-mandatory",
            ),
            (waiver_json("W", "P1", r#"["a"]"#, "soon"), "YYYY-MM-DD"),
            (
                waiver_json("W", "P1", r#"[]"#, "2027-01-01"),
                "`resources` is empty",
            ),
            (
                waiver_json("W", "P1", r#"["a[" ]"#, "2027-01-01"),
                "bad resource glob",
            ),
        ];
        for (w, want) in cases {
            let p = write(&dir, &format!(r#"{{"waivers": [{w}]}}"#));
            let err = load_waivers(&p, &[&soft, &hard]).unwrap_err();
            assert!(
                err.to_string().contains(want),
                "{err} should contain {want}"
            );
            assert_eq!(err.position.map(|p| p.line), Some(1));
        }
        let p = write(&dir, r#"{"waivers": [], "waivers": []}"#);
        assert!(
            load_waivers(&p, &[&soft])
                .unwrap_err()
                .to_string()
                .contains("duplicate key")
        );
    }

    #[test]
    fn fault_a_generated_glob_of_30000_alternatives_is_an_input_error() {
        let dir = tempfile::tempdir().unwrap();
        let soft = meta("P1", Enforcement::SoftMandatory);
        let globs: Vec<String> = (0..30_000).map(|i| format!("s/r{i}")).collect();
        let glob = format!("{{{}}}", globs.join(","));
        let p = write(
            &dir,
            &format!(
                r#"{{"waivers": [{}]}}"#,
                waiver_json("W", "P1", &format!("[\"{glob}\"]"), "2027-01-01")
            ),
        );
        let err = load_waivers(&p, &[&soft]).unwrap_err().to_string();
        assert!(
            err.contains("waivers.json:1:56: $.waivers[0] (W)")
                && err.contains("too many alternatives"),
            "{err}"
        );
        assert!(err.len() < 2000, "the message quotes the glob short: {err}");
        // Under the bounds, the compile is still the fallible one: a glob made too big for the
        // regex engine by its length alone is an error too, not a panic.
        assert!(compile_glob(&"[a-z]".repeat(200)).is_ok());
        assert!(compile_glob(&"*".repeat(MAX_GLOB_CHARS + 1)).is_err());
    }
}
