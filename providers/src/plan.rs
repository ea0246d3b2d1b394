//! `tollgate plan`: the difference between the desired stacks and the recorded state, in
//! dependency order, with the policy verdict and Cedar's authorisation of every change, written
//! to a plan file that records what it was made from.
//!
//! A plan file is tamper-evident: it carries a digest of its own content, of the stack documents,
//! of the policy bundle and of the waivers, and the state serial it was made against. `apply`
//! refuses it when any of them no longer holds.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tollgate_engine::finding::Finding;
use tollgate_engine::model::{Change, Estate, Origin, Resource, Stack};
use tollgate_engine::report::{Report, Verdict};

use crate::provider::ProviderSet;
use crate::state::{State, Status};

pub const PLAN_FORMAT: &str = "tollgate-plan/1";

/// The id Tollgate gives Cedar's authorisation findings.
pub const AUTHZ_POLICY: &str = "TG-AUTHZ-001";

/// What a change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Create,
    Update,
    /// Delete, then create (an attribute the service cannot change in place changed).
    Replace,
    Delete,
    NoOp,
    /// Judged by policies, provisioned by someone else (the stack says who).
    ManagedElsewhere,
}

impl Action {
    /// Whether apply calls a provider for it.
    pub fn acts(self) -> bool {
        matches!(
            self,
            Action::Create | Action::Update | Action::Replace | Action::Delete
        )
    }

    fn engine_change(self) -> Change {
        match self {
            Action::Create => Change::Create,
            Action::Update => Change::Update,
            Action::Replace => Change::Replace,
            Action::Delete => Change::Delete,
            Action::NoOp | Action::ManagedElsewhere => Change::NoOp,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
            Action::NoOp => " ",
            Action::ManagedElsewhere => "=",
        }
    }
}

/// One resource's planned change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedChange {
    /// `stack/id`
    pub address: String,
    pub stack: String,
    pub id: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub action: Action,
    /// Top-level properties that differ (and `tags`), for updates and replacements.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<String>,
    /// The changed properties that the service cannot change in place.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replace_because: Vec<String>,
    /// Addresses that must be provisioned first (for a delete: that must be deleted first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// For resources managed elsewhere: by whom.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_elsewhere: Option<String>,
    /// Whether Cedar permits `--principal` this change (`None` for no-ops).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorized: Option<bool>,
}

/// A digest of one input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputDigest {
    pub path: String,
    pub sha256: String,
}

/// The state a plan was made against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateRef {
    pub location: String,
    pub lineage: String,
    pub serial: u64,
}

/// A stack as the plan records it: its dependencies (for ordering) and its document (what apply
/// provisions and re-judges).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedStack {
    pub id: String,
    pub depends_on: Vec<String>,
    pub document: Value,
}

/// A failing finding, briefly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Blocker {
    pub policy: String,
    pub stack: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    pub message: String,
}

/// Counts per action.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub create: usize,
    pub update: usize,
    pub replace: usize,
    pub delete: usize,
    pub no_op: usize,
    pub managed_elsewhere: usize,
}

/// The plan file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub format: String,
    pub tool_version: String,
    pub created_at: String,
    pub principal: String,
    pub stacks_digests: Vec<InputDigest>,
    pub policies: InputDigest,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waivers: Option<InputDigest>,
    pub state: StateRef,
    pub verdict: Verdict,
    pub counts: Counts,
    /// Unwaived findings that fail the verdict.
    pub blockers: Vec<Blocker>,
    /// In the order apply takes them.
    pub changes: Vec<PlannedChange>,
    pub stacks: Vec<PlannedStack>,
    /// sha256 of the plan's canonical JSON with this field empty.
    pub digest: String,
}

impl Plan {
    /// The digest of everything but the `digest` field.
    pub fn compute_digest(&self) -> String {
        let mut copy = self.clone();
        copy.digest = String::new();
        // serde_json's maps are sorted: the same plan always gives the same bytes.
        let value = serde_json::to_value(&copy).unwrap_or(Value::Null);
        let bytes = serde_json::to_vec(&value).unwrap_or_default();
        format!("sha256:{}", hex::encode(Sha256::digest(&bytes)))
    }

    pub fn seal(&mut self) {
        self.digest = self.compute_digest();
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// Changes that call a provider.
    pub fn actions(&self) -> impl Iterator<Item = &PlannedChange> {
        self.changes.iter().filter(|c| c.action.acts())
    }

    /// A `terraform plan`-like summary for people.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let acting: Vec<&PlannedChange> = self.changes.iter().filter(|c| c.action.acts()).collect();
        if acting.is_empty() {
            out.push_str("No changes. The state matches the stack documents.\n");
        } else {
            out.push_str("Tollgate will perform these actions, in this order:\n\n");
            for c in &acting {
                let what = match c.action {
                    Action::Create => "will be created".to_owned(),
                    Action::Update => {
                        format!("will be updated in place ({})", c.changed.join(", "))
                    }
                    Action::Replace => format!(
                        "must be replaced ({} cannot change in place)",
                        c.replace_because.join(", ")
                    ),
                    Action::Delete => "will be destroyed".to_owned(),
                    Action::NoOp | Action::ManagedElsewhere => String::new(),
                };
                let authz = match c.authorized {
                    Some(false) => "  [NOT PERMITTED for this principal]",
                    _ => "",
                };
                out.push_str(&format!(
                    "  {:>3} {} ({}) {what}{authz}\n",
                    c.action.symbol(),
                    c.address,
                    c.type_name
                ));
            }
            out.push('\n');
        }
        let elsewhere: Vec<&PlannedChange> = self
            .changes
            .iter()
            .filter(|c| c.action == Action::ManagedElsewhere)
            .collect();
        if !elsewhere.is_empty() {
            out.push_str(&format!(
                "{} resource(s) are judged but managed elsewhere (not provisioned):\n",
                elsewhere.len()
            ));
            for c in elsewhere.iter().take(10) {
                out.push_str(&format!(
                    "    = {} ({}): {}\n",
                    c.address,
                    c.type_name,
                    c.managed_elsewhere.as_deref().unwrap_or_default()
                ));
            }
            if elsewhere.len() > 10 {
                out.push_str(&format!("    … and {} more\n", elsewhere.len() - 10));
            }
            out.push('\n');
        }
        let n = &self.counts;
        out.push_str(&format!(
            "Plan: {} to add, {} to change, {} to replace, {} to destroy ({} unchanged).\n",
            n.create, n.update, n.replace, n.delete, n.no_op
        ));
        match self.verdict {
            Verdict::Pass => out.push_str(&format!(
                "Verdict: PASS — compliant, and every change is permitted for {}.\n",
                self.principal
            )),
            Verdict::Fail => {
                out.push_str(&format!(
                    "Verdict: FAIL — {} finding(s) block this plan; `tollgate apply` will refuse it:\n",
                    self.blockers.len()
                ));
                for b in self.blockers.iter().take(20) {
                    out.push_str(&format!(
                        "  {} {}{}: {}\n",
                        b.policy,
                        b.stack,
                        b.resource
                            .as_deref()
                            .map(|r| format!("/{r}"))
                            .unwrap_or_default(),
                        b.message
                    ));
                }
                if self.blockers.len() > 20 {
                    out.push_str(&format!("  … and {} more\n", self.blockers.len() - 20));
                }
            }
        }
        out
    }
}

/// Why a plan could not be made: bad input (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(
        "no provider for these resource types: {}.\nMark them as managed elsewhere in their stack \
         (`\"managed_elsewhere\": {{\"<type or resource id>\": \"<who manages it>\"}}`) or remove them",
        .0.join("; ")
    )]
    NoProvider(Vec<String>),
    #[error("{0}")]
    Input(String),
}

/// sha256 of a file's bytes (a regular file, read bounded like every input).
pub fn file_digest(path: &Path) -> Result<InputDigest, tollgate_engine::json::ReadError> {
    let bytes = tollgate_engine::fsio::read_bounded(path, tollgate_engine::json::MAX_FILE_BYTES)?;
    Ok(InputDigest {
        path: path.display().to_string(),
        sha256: hex::encode(Sha256::digest(&bytes)),
    })
}

/// The stack's resources in dependency order (ties by position in the document).
fn resource_order(stack: &Stack) -> Vec<&Resource> {
    let index: HashMap<&str, usize> = stack
        .resources
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i))
        .collect();
    let mut done = vec![false; stack.resources.len()];
    let mut out = Vec::with_capacity(stack.resources.len());
    // The loader rejects cycles, so every pass places at least one resource.
    while out.len() < stack.resources.len() {
        let before = out.len();
        for (i, r) in stack.resources.iter().enumerate() {
            if done[i] {
                continue;
            }
            let ready = r
                .depends_on
                .iter()
                .all(|d| index.get(d.as_str()).is_none_or(|&j| done[j]));
            if ready {
                done[i] = true;
                out.push(r);
            }
        }
        if out.len() == before {
            // Defensive: place the rest in document order rather than loop forever.
            out.extend(
                stack
                    .resources
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !done[*i])
                    .map(|(_, r)| r),
            );
            break;
        }
    }
    out
}

/// The `properties` and `tags` of a resource in a stack document, as recorded in state.
pub fn resource_document(stack_doc: &Value, id: &str) -> Option<Value> {
    let r = stack_doc
        .get("resources")?
        .as_array()?
        .iter()
        .find(|r| r.get("id").and_then(Value::as_str) == Some(id))?;
    Some(serde_json::json!({
        "properties": r.get("properties").cloned().unwrap_or_else(|| serde_json::json!({})),
        "tags": r.get("tags").cloned().unwrap_or_else(|| serde_json::json!({})),
    }))
}

/// The `tags` of a recorded or planned document (`{"properties", "tags"}`), as strings.
pub fn tags_of(document: &Value) -> BTreeMap<String, String> {
    document
        .get("tags")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// Top-level properties (and `tags`) whose values differ between two documents.
pub fn changed_fields(old: &Value, new: &Value) -> Vec<String> {
    let empty = serde_json::Map::new();
    let props = |v: &Value| {
        v.get("properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_else(|| empty.clone())
    };
    let (a, b) = (props(old), props(new));
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let mut out: Vec<String> = keys
        .into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| k.to_string())
        .collect();
    if old.get("tags") != new.get("tags") {
        out.push("tags".to_owned());
    }
    out
}

/// Everything `make` needs.
#[derive(Debug)]
pub struct PlanInputs<'a> {
    pub estate: &'a Estate,
    /// Each stack's document as parsed JSON, by stack id.
    pub documents: &'a BTreeMap<String, Value>,
    pub state: &'a State,
    pub state_location: String,
    pub providers: &'a ProviderSet,
    pub principal: String,
    pub stacks_digests: Vec<InputDigest>,
    pub policies: InputDigest,
    pub waivers: Option<InputDigest>,
}

/// The changes, in apply order, before the verdict: creates and updates stack by stack in
/// dependency order (resources in dependency order within a stack), then deletes in reverse.
pub fn diff(inputs: &PlanInputs<'_>) -> Result<Vec<PlannedChange>, PlanError> {
    let mut changes = Vec::new();
    let mut missing: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let planned: BTreeSet<&str> = inputs.estate.stacks.iter().map(|s| s.id.as_str()).collect();
    for stack in tollgate_engine::load::stack_order(inputs.estate) {
        if stack.origin != Origin::Document {
            return Err(PlanError::Input(format!(
                "{}: plan provisions stack documents; `{}` was read from a Terraform plan or \
                 CloudFormation template (use `tollgate check` for those)",
                stack.source.file.display(),
                stack.id
            )));
        }
        let doc = inputs.documents.get(&stack.id).ok_or_else(|| {
            PlanError::Input(format!("no document recorded for stack `{}`", stack.id))
        })?;
        for r in resource_order(stack) {
            let address = format!("{}/{}", stack.id, r.id);
            let mut depends_on: Vec<String> = r
                .depends_on
                .iter()
                .map(|d| format!("{}/{d}", stack.id))
                .chain(
                    r.references
                        .iter()
                        .filter_map(|x| x.stack.as_ref().map(|s| format!("{s}/{}", x.resource))),
                )
                .collect();
            depends_on.sort();
            depends_on.dedup();
            let mut change = PlannedChange {
                address: address.clone(),
                stack: stack.id.clone(),
                id: r.id.clone(),
                type_name: r.type_name.clone(),
                action: Action::NoOp,
                changed: Vec::new(),
                replace_because: Vec::new(),
                depends_on,
                managed_elsewhere: None,
                authorized: None,
            };
            if let Some(reason) = stack.managed_elsewhere(r) {
                change.action = Action::ManagedElsewhere;
                change.managed_elsewhere = Some(reason.to_owned());
                changes.push(change);
                continue;
            }
            let Some(provider) = inputs.providers.get(&r.type_name) else {
                missing
                    .entry(r.type_name.clone())
                    .or_default()
                    .push(address);
                continue;
            };
            let desired = resource_document(doc, &r.id).ok_or_else(|| {
                PlanError::Input(format!("`{address}` is missing from its stack document"))
            })?;
            match inputs.state.resources.get(&address) {
                None => change.action = Action::Create,
                Some(s) if s.status == Status::Creating || s.handle.is_none() => {
                    change.action = Action::Create
                }
                Some(s) if s.type_name != r.type_name => {
                    change.action = Action::Replace;
                    change.changed = vec!["type".to_owned()];
                    change.replace_because = vec!["type".to_owned()];
                }
                Some(s) => {
                    let changed = changed_fields(&s.document, &desired);
                    if !changed.is_empty() {
                        let immutable = provider.replace_on_change(&r.type_name);
                        change.replace_because = changed
                            .iter()
                            .filter(|c| immutable.contains(&c.as_str()))
                            .cloned()
                            .collect();
                        change.action = if change.replace_because.is_empty() {
                            Action::Update
                        } else {
                            Action::Replace
                        };
                        change.changed = changed;
                    }
                }
            }
            changes.push(change);
        }
    }
    if !missing.is_empty() {
        let named = missing
            .into_iter()
            .map(|(t, addresses)| {
                // Types the registry records as judged but not provisioned say so plainly.
                let not_yet = tollgate_engine::registry::Registry::builtin()
                    .get(&t)
                    .is_some_and(|d| !d.is_provisioned());
                let named = match addresses.as_slice() {
                    [one] => format!("{t} ({one})"),
                    [first, rest @ ..] => format!("{t} ×{} ({first}, …)", rest.len() + 1),
                    [] => t,
                };
                if not_yet {
                    format!("{named}: Tollgate judges this type but does not provision it yet")
                } else {
                    named
                }
            })
            .collect();
        return Err(PlanError::NoProvider(named));
    }
    unresolvable_references(inputs, &changes)?;
    // Deletes: recorded resources of the planned stacks that the documents no longer have, each
    // after the resources that depend on it.
    let desired: BTreeSet<&str> = changes.iter().map(|c| c.address.as_str()).collect();
    let gone: Vec<(&String, &crate::state::ResourceState)> = inputs
        .state
        .resources
        .iter()
        .filter(|(a, _)| {
            a.split_once('/')
                .is_some_and(|(s, _)| planned.contains(s) && !desired.contains(a.as_str()))
        })
        .collect();
    let mut deletes: Vec<PlannedChange> = Vec::new();
    let mut placed: BTreeSet<&str> = BTreeSet::new();
    while placed.len() < gone.len() {
        let before = placed.len();
        for (address, s) in &gone {
            if placed.contains(address.as_str()) {
                continue;
            }
            // Ready when no unplaced doomed resource depends on it.
            let dependents: Vec<String> = gone
                .iter()
                .filter(|(_, o)| o.depends_on.iter().any(|d| d == *address))
                .map(|(a, _)| (*a).clone())
                .collect();
            if dependents.iter().all(|d| placed.contains(d.as_str())) {
                placed.insert(address.as_str());
                let (stack, id) = address.split_once('/').unwrap_or((address.as_str(), ""));
                deletes.push(PlannedChange {
                    address: (*address).clone(),
                    stack: stack.to_owned(),
                    id: id.to_owned(),
                    type_name: s.type_name.clone(),
                    action: Action::Delete,
                    changed: Vec::new(),
                    replace_because: Vec::new(),
                    depends_on: dependents,
                    managed_elsewhere: None,
                    authorized: None,
                });
            }
        }
        if placed.len() == before {
            return Err(PlanError::Input(
                "the recorded state has a dependency cycle among resources to delete".to_owned(),
            ));
        }
    }
    changes.extend(deletes);
    Ok(changes)
}

/// Refuses references apply could not resolve: to a resource this plan does not provision (its
/// stack is not planned, or it is managed elsewhere) and the state does not hold either.
fn unresolvable_references(
    inputs: &PlanInputs<'_>,
    changes: &[PlannedChange],
) -> Result<(), PlanError> {
    let provisioned: BTreeSet<&str> = changes
        .iter()
        .filter(|c| c.action != Action::ManagedElsewhere)
        .map(|c| c.address.as_str())
        .collect();
    let mut problems = Vec::new();
    for stack in &inputs.estate.stacks {
        for r in &stack.resources {
            if stack.managed_elsewhere(r).is_some() {
                continue;
            }
            for x in &r.references {
                let target = format!("{}/{}", x.stack.as_deref().unwrap_or(&stack.id), x.resource);
                let recorded = inputs
                    .state
                    .resources
                    .get(&target)
                    .is_some_and(|e| e.status == Status::Applied && e.handle.is_some());
                if !provisioned.contains(target.as_str()) && !recorded {
                    problems.push(format!(
                        "{}: {}/{} {} refers to {target}, which this plan does not provision and \
                         the state does not hold (plan its stack too, or apply it first)",
                        stack.source.file.display(),
                        stack.id,
                        r.id,
                        x.at
                    ));
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(PlanError::Input(problems.join("\n")))
    }
}

/// The estate with each resource's change set from the diff, and deleted resources added back
/// (as deletes) so Cedar is asked about them.
pub fn estate_with_changes(
    estate: &Estate,
    changes: &[PlannedChange],
    state: &State,
) -> Result<Estate, PlanError> {
    let by_address: HashMap<&str, &PlannedChange> =
        changes.iter().map(|c| (c.address.as_str(), c)).collect();
    let mut out = estate.clone();
    for stack in &mut out.stacks {
        for r in &mut stack.resources {
            let address = format!("{}/{}", stack.id, r.id);
            if let Some(c) = by_address.get(address.as_str()) {
                r.change = c.action.engine_change();
            }
        }
        for c in changes
            .iter()
            .filter(|c| c.action == Action::Delete && c.stack == stack.id)
        {
            let Some(s) = state.resources.get(&c.address) else {
                continue;
            };
            let props = s.document.get("properties").cloned().unwrap_or(Value::Null);
            let properties = regorus::Value::from_json_str(&props.to_string())
                .map_err(|e| PlanError::Input(format!("{}: recorded document: {e}", c.address)))?;
            let tags = tags_of(&s.document);
            stack.resources.push(Resource {
                id: c.id.clone(),
                type_name: c.type_name.clone(),
                properties,
                tags,
                depends_on: Vec::new(),
                usage: regorus::Value::Null,
                position: stack.source.position,
                references: Vec::new(),
                change: Change::Delete,
            });
        }
    }
    Ok(out)
}

/// Fills the verdict, the blockers and each change's authorisation from a check report.
pub fn judge(changes: &mut [PlannedChange], report: &Report) -> (Verdict, Vec<Blocker>) {
    let failing: Vec<&Finding> = report.findings.iter().filter(|f| f.fails()).collect();
    let denied: BTreeSet<String> = report
        .findings
        .iter()
        .filter(|f| f.policy == AUTHZ_POLICY)
        .filter_map(|f| f.resource.as_ref().map(|r| format!("{}/{r}", f.stack)))
        .collect();
    for c in changes.iter_mut() {
        if c.action.acts() {
            c.authorized = Some(!denied.contains(&c.address));
        }
    }
    let blockers = failing
        .iter()
        .map(|f| Blocker {
            policy: f.policy.clone(),
            stack: f.stack.clone(),
            resource: f.resource.clone(),
            message: f.message.clone(),
        })
        .collect();
    (report.summary.verdict, blockers)
}

/// Counts per action.
pub fn count(changes: &[PlannedChange]) -> Counts {
    let mut n = Counts::default();
    for c in changes {
        match c.action {
            Action::Create => n.create += 1,
            Action::Update => n.update += 1,
            Action::Replace => n.replace += 1,
            Action::Delete => n.delete += 1,
            Action::NoOp => n.no_op += 1,
            Action::ManagedElsewhere => n.managed_elsewhere += 1,
        }
    }
    n
}

/// Assembles and seals a plan.
pub fn assemble(
    inputs: PlanInputs<'_>,
    changes: Vec<PlannedChange>,
    verdict: Verdict,
    blockers: Vec<Blocker>,
) -> Plan {
    let stacks = tollgate_engine::load::stack_order(inputs.estate)
        .into_iter()
        .map(|s| PlannedStack {
            id: s.id.clone(),
            depends_on: s.depends_on.clone(),
            document: inputs.documents.get(&s.id).cloned().unwrap_or(Value::Null),
        })
        .collect();
    let mut plan = Plan {
        format: PLAN_FORMAT.to_owned(),
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        principal: inputs.principal,
        stacks_digests: inputs.stacks_digests,
        policies: inputs.policies,
        waivers: inputs.waivers,
        state: StateRef {
            location: inputs.state_location,
            lineage: inputs.state.lineage.clone(),
            serial: inputs.state.serial,
        },
        verdict,
        counts: count(&changes),
        blockers,
        changes,
        stacks,
        digest: String::new(),
    };
    plan.seal();
    plan
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    #[test]
    fn changed_fields_names_top_level_properties_and_tags() {
        let old = json!({"properties": {"a": 1, "b": {"x": 1}, "c": 3}, "tags": {"t": "1"}});
        let new = json!({"properties": {"a": 1, "b": {"x": 2}, "d": 4}, "tags": {"t": "2"}});
        assert_eq!(changed_fields(&old, &new), vec!["b", "c", "d", "tags"]);
        assert!(changed_fields(&old, &old).is_empty());
    }

    #[test]
    fn a_plan_digest_changes_with_any_edit() {
        let mut plan = Plan {
            format: PLAN_FORMAT.into(),
            tool_version: "0".into(),
            created_at: "t".into(),
            principal: "ci:x".into(),
            stacks_digests: vec![],
            policies: InputDigest {
                path: "p".into(),
                sha256: "0".into(),
            },
            waivers: None,
            state: StateRef {
                location: "s".into(),
                lineage: "l".into(),
                serial: 0,
            },
            verdict: Verdict::Pass,
            counts: Counts::default(),
            blockers: vec![],
            changes: vec![],
            stacks: vec![],
            digest: String::new(),
        };
        plan.seal();
        assert_eq!(plan.compute_digest(), plan.digest);
        let sealed = plan.digest.clone();
        plan.state.serial = 1;
        assert_ne!(plan.compute_digest(), sealed);
    }
}
