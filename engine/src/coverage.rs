//! Coverage as a rule: what no rule could judge is a finding, not a silent pass.
//!
//! Three of Tollgate's own checks, one per kind of gap:
//! - `TG-COV-001`: a resource read from a plan or a template whose type Tollgate does not model
//!   (or that configures an object outside the input), so no rule saw it;
//! - `TG-COV-002`: a resource of a registered type whose coverage names families that judge it,
//!   when no type-specific rule of the bundle looked at it (a bundle without those rules);
//! - `TG-COV-003`: a setting of a modelled resource that a rule needs and the importer could
//!   not map (a CloudFormation property the mapping does not read yet).
//!
//! Each is soft-mandatory for AWS types — the gap fails until someone waives it with a reason —
//! and advisory for other providers' types (reported, not failing). Types registered with
//! `nothing_to_judge` raise nothing: that is the written-down decision.

use std::sync::OnceLock;

use crate::finding::{Enforcement, EngineKind, Finding, Outcome, PolicyMeta, Severity, Subject};
use crate::model::{Resource, Stack, Unmodelled};
use crate::registry::{Coverage, Registry};

/// Ids of the coverage checks.
pub const UNMODELLED_ID: &str = "TG-COV-001";
pub const UNJUDGED_ID: &str = "TG-COV-002";
pub const UNMAPPED_ID: &str = "TG-COV-003";

fn meta(id: &str, title: &str, description: &str, remediation: &str) -> PolicyMeta {
    PolicyMeta {
        id: id.into(),
        title: title.into(),
        family: "coverage".into(),
        severity: Severity::Medium,
        enforcement: Enforcement::SoftMandatory,
        remediation: remediation.into(),
        description: description.into(),
        engine: EngineKind::Tollgate,
        file: "engine/registry/types.json".into(),
    }
}

/// The coverage checks' metadata, for reports, `explain` and waivers.
pub fn metas() -> &'static [PolicyMeta; 3] {
    static METAS: OnceLock<[PolicyMeta; 3]> = OnceLock::new();
    METAS.get_or_init(|| {
        [
            meta(
                UNMODELLED_ID,
                "Resource not modelled, so no rule judged it",
                "A resource whose type Tollgate does not model (or whose object is not in the input) passes every rule by omission; the gap fails (AWS types) until it is modelled or waived. Other providers' types are advisory.",
                "Register the type (engine/registry/types.json) and map it in the importer, or waive the finding with the reason the gap is acceptable.",
            ),
            meta(
                UNJUDGED_ID,
                "No type-specific rule judged this resource",
                "The type's coverage names families whose rules judge it, but the bundle has no such rule for it: the resource passed by omission.",
                "Add the type to a rule of each family its coverage names (resource_types), or waive the finding with the reason.",
            ),
            meta(
                UNMAPPED_ID,
                "A setting was not read, so no rule judged it",
                "The importer could not map a setting a rule needs; judging the resource without it would pass it by omission.",
                "Express the setting the way Tollgate reads it (see the finding), or waive the finding with the reason.",
            ),
        ]
    })
}

/// The enforcement of a gap on `type_name`'s resources: soft-mandatory for AWS, else advisory.
fn enforcement(aws: bool) -> Enforcement {
    if aws {
        Enforcement::SoftMandatory
    } else {
        Enforcement::Advisory
    }
}

fn finding(meta: &PolicyMeta, at: &Subject<'_>, aws: bool, message: String) -> Finding {
    let mut f = Finding::new(meta, at, Outcome::Violation, message);
    f.enforcement = enforcement(aws);
    f
}

/// `TG-COV-001` / `TG-COV-003` for what the importer of `stack` could not model.
pub fn unmodelled_findings(stack: &Stack, file: &str) -> Vec<Finding> {
    let [unmodelled, _, unmapped] = metas();
    stack
        .unmodelled
        .iter()
        .map(|u| {
            let at = Subject {
                stack: &stack.id,
                resource: Some(&u.address),
                resource_type: Some(&u.type_name),
                file,
                line: Some(u.position.line),
            };
            let meta = if u.attribute.is_some() {
                unmapped
            } else {
                unmodelled
            };
            finding(meta, &at, u.is_aws(), describe(u))
        })
        .collect()
}

fn describe(u: &Unmodelled) -> String {
    match (&u.attribute, &u.reason) {
        (None, None) => format!(
            "{} ({}) is of a type Tollgate does not model: no rule judged it",
            u.address, u.type_name
        ),
        (None, Some(r)) => format!("{} ({}) was not judged: {r}", u.address, u.type_name),
        (Some(a), None) => format!(
            "{} ({}) sets `{a}`, which Tollgate does not read: no rule judged it",
            u.address, u.type_name
        ),
        (Some(a), Some(r)) => format!(
            "{} ({}) sets `{a}`, which Tollgate does not read: {r}",
            u.address, u.type_name
        ),
    }
}

/// `TG-COV-002` for a resource no type-specific rule looked at, when its type's coverage says
/// families judge it.
pub fn unjudged_finding(r: &Resource, registry: &Registry, at: &Subject<'_>) -> Option<Finding> {
    let def = registry.get(&r.type_name)?;
    let Coverage::Families(families) = &def.coverage else {
        return None;
    };
    let message = format!(
        "{} ({}) is judged by the {} rules, but no type-specific rule of this bundle looked at it",
        r.id,
        r.type_name,
        families.join(", ")
    );
    Some(finding(
        &metas()[1],
        at,
        r.type_name.starts_with("aws_"),
        message,
    ))
}
