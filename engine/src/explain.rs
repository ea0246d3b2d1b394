//! `tollgate explain`: why one resource passed or failed, and what one policy is for.
//!
//! [`explain_resource`] loads the stacks and the bundle as `tollgate check` does and, for one
//! resource, evaluates every Rego rule that applies to its type (fired with its messages, passed,
//! or an error), lists the input and data values each rule's module reads (found statically, see
//! [`reads`]), asks Cedar about each action the resource's change needs (the decision, the
//! policies that determined it, evaluation errors, and the entity Cedar saw), and adds the
//! stack- and estate-level findings that point at the resource.
//!
//! [`explain_policy`] gathers one policy's documentation from both engines' metadata and its
//! failing and compliant fixtures.

pub mod reads;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value as Json;

use crate::eval::{self, EvalOptions};
use crate::finding::{Enforcement, EngineKind, Finding, Outcome, PolicyMeta, Scope, Severity};
use crate::import::InputFormat;
use crate::load::{self, LoadErrors};
use crate::model::{Change, Estate};
use crate::policy::cedar::{self, Action};
use crate::policy::{BundleOptions, PolicyBundle, PolicyError, Principal};
use crate::registry::{self, Registry};
use reads::{Modules, RefPath, Seg};

/// Most concrete values shown for one read path with `[_]` in it.
const MAX_EXPANSIONS: usize = 20;

/// Why an explanation could not be made: bad input or usage (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    #[error("{0}")]
    Stacks(#[from] LoadErrors),
    #[error("{0}")]
    Policies(#[from] PolicyError),
    /// A stack, resource or policy that does not exist, or a policy that does not apply.
    #[error("{0}")]
    NotFound(String),
}

/// What to explain, resolved from flags.
#[derive(Debug, Clone)]
pub struct ResourceSettings {
    pub paths: Vec<PathBuf>,
    pub input_format: InputFormat,
    pub policies: PathBuf,
    pub principal: Principal,
    pub bundle: BundleOptions,
    pub stack: String,
    pub resource: String,
    /// Only this policy (Rego rule and/or Cedar policy of that id).
    pub policy: Option<String>,
}

/// How a Rego rule answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleStatus {
    /// `deny` produced at least one message.
    Fired,
    /// `deny` was empty but `unknown` was not: a value the rule needs is only known at apply
    /// (fails like a violation in `check`).
    Unknown,
    /// `deny` was empty.
    Passed,
    /// The rule could not be evaluated (fails closed in `check`).
    Error,
    /// Not evaluated: the resource is being deleted, so its settings are not judged.
    Skipped,
}

/// One value a rule's module reads, with its value in this resource's input.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValueRead {
    /// The concrete path (`input.resource.properties.ingress[0].from_port`).
    pub path: String,
    /// Whether the path exists in the input (or data).
    pub present: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Json>,
    /// The rule or function of another module the read was found in (`data.tollgate.lib.name`);
    /// `None` when the rule's own module reads it.
    pub via: Option<String>,
}

/// One Rego rule's answer about the resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegoRuleExplanation {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub enforcement: Enforcement,
    pub file: String,
    pub status: RuleStatus,
    pub messages: Vec<String>,
    /// The rule's `unknown` messages, each with why it could not be judged.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub reads: Vec<ValueRead>,
}

/// A Cedar policy named in an explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CedarPolicyRef {
    pub id: String,
    /// `forbid` or `permit`.
    pub effect: &'static str,
    pub title: Option<String>,
    /// `unknown` for a `@outcome("unknown")` forbid policy (its id is `<rule>:unknown`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<&'static str>,
}

/// A Cedar evaluation error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CedarErrorItem {
    pub policy: Option<String>,
    pub message: String,
}

/// Cedar's answer to one action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CedarActionExplanation {
    pub action: &'static str,
    /// `allow` or `deny`.
    pub decision: &'static str,
    /// The policies that determined the decision: the matching permits when allowed, the
    /// matching forbids when denied (none when no permit matched).
    pub determining: Vec<CedarPolicyRef>,
    pub errors: Vec<CedarErrorItem>,
}

/// What Cedar was asked and answered about the resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CedarExplanation {
    pub principal: String,
    /// The policies a request about this type is evaluated against.
    pub policies: Vec<CedarPolicyRef>,
    pub actions: Vec<CedarActionExplanation>,
    /// The resource entity's attributes (typed properties) as Cedar saw them.
    pub attributes: Json,
    /// Its tags.
    pub tags: Json,
    /// The stack entity's attributes (`context.stack`).
    pub stack: Json,
}

/// A stack- or estate-level finding that points at the resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RelatedFinding {
    pub policy: String,
    pub title: String,
    pub engine: EngineKind,
    /// The rule's scope (`stack`, `estate`), or `None` for Tollgate's own checks.
    pub scope: Option<Scope>,
    pub outcome: Outcome,
    pub message: String,
}

/// Everything `tollgate explain --stack S --resource R` shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceExplanation {
    pub stack: String,
    pub resource: String,
    pub resource_type: String,
    pub file: String,
    pub line: usize,
    pub change: Change,
    pub policy: Option<String>,
    /// How the `reads` were determined.
    pub reads_method: &'static str,
    pub rego: Vec<RegoRuleExplanation>,
    pub cedar: CedarExplanation,
    pub related: Vec<RelatedFinding>,
}

/// The text `reads_method` carries.
pub const READS_METHOD: &str = "statically: the input and data references in the rule's module and in the library rules and functions it calls, every branch whether or not evaluation reached it, each with its value in this resource's input or the bundle's data";

fn not_found(what: &str, name: &str, candidates: &[&str]) -> ExplainError {
    let hint = registry::closest(name, candidates.iter().copied())
        .map(|c| format!("; did you mean `{c}`?"))
        .unwrap_or_default();
    ExplainError::NotFound(format!("{what} `{name}` not found{hint}"))
}

/// Explains one resource.
pub fn explain_resource(s: &ResourceSettings) -> Result<ResourceExplanation, ExplainError> {
    let registry = Registry::builtin();
    let bundle = PolicyBundle::load(&s.policies, registry, &s.bundle)?;
    let estate: Estate = load::load_estate_as(&s.paths, registry, s.input_format)?;
    let ids: Vec<&str> = estate.stacks.iter().map(|st| st.id.as_str()).collect();
    let stack = estate
        .stack(&s.stack)
        .ok_or_else(|| not_found("stack", &s.stack, &ids))?;
    let ri = stack
        .resources
        .iter()
        .position(|r| r.id == s.resource)
        .ok_or_else(|| {
            let ids: Vec<&str> = stack.resources.iter().map(|r| r.id.as_str()).collect();
            not_found(
                &format!("resource (in stack `{}`)", stack.id),
                &s.resource,
                &ids,
            )
        })?;
    let r = &stack.resources[ri];

    let rego_rules: Vec<usize> = bundle
        .rego
        .rules_for_type(&r.type_name)
        .filter(|&i| {
            s.policy
                .as_ref()
                .is_none_or(|p| bundle.rego.rules()[i].meta.id == *p)
        })
        .collect();
    let cedar_policies: Vec<CedarPolicyRef> = bundle
        .cedar
        .policies_for_type(&r.type_name)
        .into_iter()
        .filter(|(id, _)| s.policy.as_ref().is_none_or(|p| p == cedar::rule_id(id)))
        .map(|(id, forbid)| cedar_ref(&bundle, &id, forbid))
        .collect();
    if let Some(p) = &s.policy {
        let known = known_ids(&bundle);
        if !known.contains(p.as_str()) {
            let list: Vec<&str> = known.iter().map(String::as_str).collect();
            return Err(not_found("policy", p, &list));
        }
        let is_stack_rule = bundle
            .rego
            .rules()
            .iter()
            .any(|rule| rule.meta.id == *p && rule.scope != Scope::Resource);
        // Tollgate's own checks (`TG-COST-000`, `TG-AUTHZ-001`) can concern any resource.
        let is_builtin = p == crate::eval::cost_meta().id.as_str()
            || p == bundle.cedar.not_permitted_meta().id.as_str()
            || crate::coverage::metas().iter().any(|m| m.id == *p);
        if rego_rules.is_empty() && cedar_policies.is_empty() && !is_stack_rule && !is_builtin {
            return Err(ExplainError::NotFound(format!(
                "policy `{p}` does not apply to {}/{} ({})",
                stack.id, r.id, r.type_name
            )));
        }
    }

    let options = EvalOptions {
        principal: s.principal.clone(),
        stack_action: Action::Create,
        only: Some(BTreeSet::from([stack.id.clone()])),
    };
    let prepared = eval::prepare(stack, &bundle, registry, &options);
    let modules = Modules::load(&s.policies.join("rego"))
        .map_err(|e| ExplainError::Policies(PolicyError::new(&s.policies, e)))?;
    let input = eval::object([
        ("resource", prepared.docs[ri].clone()),
        ("stack", prepared.meta.clone()),
    ]);
    let input_json = serde_json::to_value(&input).unwrap_or(Json::Null);
    let data_json = serde_json::to_value(bundle.rego.data()).unwrap_or(Json::Null);

    let mut rego = Vec::new();
    for i in rego_rules {
        let rule = &bundle.rego.rules()[i];
        let meta = &rule.meta;
        let mut found = modules.reads_of_file(&meta.file).unwrap_or_default();
        // What the rule's own module reads first, then what library rules read for it.
        found.sort_by(|a, b| (a.via.is_some(), &a.path).cmp(&(b.via.is_some(), &b.path)));
        let reads = found
            .into_iter()
            .flat_map(|read| {
                let root = if read.path.root_name() == "input" {
                    &input_json
                } else {
                    &data_json
                };
                concrete_values(root, &read.path)
                    .into_iter()
                    .map(move |(path, value)| ValueRead {
                        path,
                        present: value.is_some(),
                        value,
                        via: read.via.clone(),
                    })
            })
            .collect();
        let (mut status, messages, mut error) = if !r.change.remains() {
            (RuleStatus::Skipped, Vec::new(), None)
        } else {
            match bundle.rego.eval(i, input.clone()) {
                Err(e) => (RuleStatus::Error, Vec::new(), Some(e)),
                Ok(v) => match deny_messages(&v) {
                    Err(e) => (RuleStatus::Error, Vec::new(), Some(e)),
                    Ok(m) if m.is_empty() => (RuleStatus::Passed, m, None),
                    Ok(m) => (RuleStatus::Fired, m, None),
                },
            }
        };
        let mut unknown = Vec::new();
        if r.change.remains()
            && let Some(result) = bundle.rego.eval_unknown(i, input.clone())
        {
            match result.and_then(|v| deny_messages(&v)) {
                Err(e) => {
                    status = RuleStatus::Error;
                    error.get_or_insert(e);
                }
                Ok(m) => {
                    unknown = m.iter().map(|m| Finding::unknown_message(m)).collect();
                    if status == RuleStatus::Passed && !unknown.is_empty() {
                        status = RuleStatus::Unknown;
                    }
                }
            }
        }
        rego.push(RegoRuleExplanation {
            id: meta.id.clone(),
            title: meta.title.clone(),
            severity: meta.severity,
            enforcement: meta.enforcement,
            file: meta.file.clone(),
            status,
            messages,
            unknown,
            error,
            reads,
        });
    }

    let facts = eval::resource_facts(r);
    let taggable = registry.get(&r.type_name).is_some_and(|t| t.taggable);
    let mut actions = Vec::new();
    let (mut attributes, mut tags, mut stack_attrs) = (Json::Null, Json::Null, Json::Null);
    match &prepared.entities {
        Ok(entities) => {
            if let Some(e) = bundle.cedar.entity_json(entities, &stack.id, Some(&facts)) {
                attributes = e.get("attrs").cloned().unwrap_or(Json::Null);
                tags = e.get("tags").cloned().unwrap_or(Json::Null);
            }
            if let Some(e) = bundle.cedar.entity_json(entities, &stack.id, None) {
                stack_attrs = e.get("attrs").cloned().unwrap_or(Json::Null);
            }
            for &action in eval::actions_for(r.change) {
                let answer = bundle.cedar.decide(
                    &s.principal,
                    action,
                    &stack.id,
                    Some((&facts, taggable)),
                    entities,
                );
                actions.push(match answer {
                    Ok(d) => CedarActionExplanation {
                        action: action.name(),
                        decision: if d.allowed { "allow" } else { "deny" },
                        determining: d
                            .determining
                            .iter()
                            .map(|id| {
                                let forbid = !d.allowed;
                                cedar_ref(&bundle, id, forbid)
                            })
                            .collect(),
                        errors: d
                            .errors
                            .into_iter()
                            .map(|(policy, message)| CedarErrorItem {
                                policy: Some(policy),
                                message,
                            })
                            .collect(),
                    },
                    Err(e) => CedarActionExplanation {
                        action: action.name(),
                        decision: "deny",
                        determining: Vec::new(),
                        errors: vec![CedarErrorItem {
                            policy: None,
                            message: e,
                        }],
                    },
                });
            }
        }
        Err(e) => {
            for &action in eval::actions_for(r.change) {
                actions.push(CedarActionExplanation {
                    action: action.name(),
                    decision: "deny",
                    determining: Vec::new(),
                    errors: vec![CedarErrorItem {
                        policy: None,
                        message: format!("building Cedar entities: {e}"),
                    }],
                });
            }
        }
    }

    // Stack- and estate-level rules, and Tollgate's own checks, that point at this resource:
    // evaluated exactly as `check` does, restricted to this stack.
    let scope_of: BTreeMap<&str, Scope> = bundle
        .rego
        .rules()
        .iter()
        .map(|rule| (rule.meta.id.as_str(), rule.scope))
        .collect();
    let evaluation = eval::evaluate(&estate, &bundle, registry, &options);
    let related = evaluation
        .findings
        .into_iter()
        .filter(|f| f.stack == stack.id && f.resource.as_deref() == Some(r.id.as_str()))
        .filter(|f| s.policy.as_ref().is_none_or(|p| *p == f.policy))
        .filter_map(|f| {
            let scope = match f.engine {
                EngineKind::Rego => match scope_of.get(f.policy.as_str()) {
                    Some(Scope::Resource) | None => return None,
                    Some(scope) => Some(*scope),
                },
                EngineKind::Tollgate => None,
                EngineKind::Cedar => return None,
            };
            Some(RelatedFinding {
                policy: f.policy,
                title: f.title,
                engine: f.engine,
                scope,
                outcome: f.outcome,
                message: f.message,
            })
        })
        .collect();

    Ok(ResourceExplanation {
        stack: stack.id.clone(),
        resource: r.id.clone(),
        resource_type: r.type_name.clone(),
        file: stack.source.file.display().to_string(),
        line: r.position.line,
        change: r.change,
        policy: s.policy.clone(),
        reads_method: READS_METHOD,
        rego,
        cedar: CedarExplanation {
            principal: s.principal.to_string(),
            policies: cedar_policies,
            actions,
            attributes,
            tags,
            stack: stack_attrs,
        },
        related,
    })
}

fn cedar_ref(bundle: &PolicyBundle, id: &str, forbid: bool) -> CedarPolicyRef {
    CedarPolicyRef {
        id: id.to_owned(),
        effect: if forbid { "forbid" } else { "permit" },
        title: bundle
            .cedar
            .annotation(id, "title")
            .map(str::to_owned)
            .or_else(|| {
                // An unknown policy may leave its title to its violation twin.
                (cedar::rule_id(id) != id)
                    .then(|| bundle.cedar.annotation(cedar::rule_id(id), "title"))
                    .flatten()
                    .map(str::to_owned)
            }),
        outcome: (cedar::rule_id(id) != id).then_some("unknown"),
    }
}

/// Every policy id a user can name: Rego rules, Cedar policies (permits too), built-in checks.
fn known_ids(bundle: &PolicyBundle) -> BTreeSet<String> {
    bundle
        .metas()
        .into_iter()
        .map(|m| m.id.clone())
        .chain(bundle.cedar.policy_ids().into_iter().map(|(id, _)| id))
        .collect()
}

/// The messages of a `deny` set (strings, or objects with `msg`).
fn deny_messages(v: &regorus::Value) -> Result<Vec<String>, String> {
    use regorus::Value;
    let items: Vec<&Value> = match v {
        Value::Undefined => return Ok(Vec::new()),
        Value::Set(s) => s.iter().collect(),
        Value::Array(a) => a.iter().collect(),
        other => {
            return Err(format!(
                "`deny` must be a set of messages, got {}",
                registry::kind(other)
            ));
        }
    };
    items
        .into_iter()
        .map(|item| match item {
            Value::String(s) => Ok(s.to_string()),
            Value::Object(_) => match &item["msg"] {
                Value::String(s) => Ok(s.to_string()),
                _ => Err("a `deny` object needs a string `msg`".to_owned()),
            },
            other => Err(format!(
                "a `deny` item must be a string or an object with `msg`, got {}",
                registry::kind(other)
            )),
        })
        .collect()
}

/// The concrete paths a read path stands for in `root` (the input, or the data document), each
/// with its value, or `None` where it is absent. `[_]` expands to every element (at most
/// [`MAX_EXPANSIONS`]).
pub fn concrete_values(root: &Json, path: &RefPath) -> Vec<(String, Option<Json>)> {
    let mut out = Vec::new();
    let mut name = path.root_name().to_owned();
    let rest = path.0.get(1..).unwrap_or_default();
    expand(Some(root), rest, &mut name, &mut out);
    if out.len() > MAX_EXPANSIONS {
        let more = out.len() - MAX_EXPANSIONS;
        out.truncate(MAX_EXPANSIONS);
        out.push((format!("{path} (… {more} more)"), None));
    }
    out
}

fn expand(
    v: Option<&Json>,
    segs: &[Seg],
    name: &mut String,
    out: &mut Vec<(String, Option<Json>)>,
) {
    let Some((first, rest)) = segs.split_first() else {
        out.push((name.clone(), v.cloned()));
        return;
    };
    let len = name.len();
    match first {
        Seg::Key(k) => {
            reads::push_key(name, k);
            expand(v.and_then(|v| v.get(k)), rest, name, out);
        }
        Seg::Index(i) => {
            name.push_str(&format!("[{i}]"));
            let item = usize::try_from(*i)
                .ok()
                .and_then(|i| v.and_then(|v| v.get(i)));
            expand(item, rest, name, out);
        }
        Seg::Any => match v {
            Some(Json::Array(items)) if !items.is_empty() => {
                for (i, item) in items.iter().enumerate().take(MAX_EXPANSIONS + 1) {
                    name.push_str(&format!("[{i}]"));
                    expand(Some(item), rest, name, out);
                    name.truncate(len);
                }
            }
            Some(Json::Object(map)) if !map.is_empty() => {
                for (k, item) in map.iter().take(MAX_EXPANSIONS + 1) {
                    reads::push_key(name, k);
                    expand(Some(item), rest, name, out);
                    name.truncate(len);
                }
            }
            // Nothing to iterate: the whole path is absent.
            _ => {
                let mut whole = name.clone();
                whole.push_str("[_]");
                whole.push_str(
                    &RefPath(
                        std::iter::once(Seg::Key(String::new()))
                            .chain(rest.iter().cloned())
                            .collect(),
                    )
                    .to_string(),
                );
                out.push((whole, None));
            }
        },
    }
    name.truncate(len);
}

// ---------------------------------------------------------------------------------------------
// Policy documentation
// ---------------------------------------------------------------------------------------------

/// Where one policy id is defined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EngineEntry {
    pub engine: EngineKind,
    pub file: String,
    /// `rule` (Rego), `forbid` / `permit` (Cedar) or `built-in`.
    pub kind: &'static str,
}

/// A fixture snippet: the offending resource (or the stack envelope for a stack-level policy).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snippet {
    pub file: String,
    /// The resource id, or `None` for the stack envelope (its `resources` left out).
    pub resource: Option<String>,
    pub value: Json,
}

/// One difference between the failing and the compliant snippet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    /// Path inside the snippet, e.g. `properties.server_side_encryption.sse_algorithm`.
    pub path: String,
    pub before: Option<Json>,
    pub after: Option<Json>,
}

/// The failing example and its fix, from `fixtures/policies/<ID>/`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Example {
    pub dir: String,
    pub violating: Option<Snippet>,
    pub compliant: Option<Snippet>,
    pub changes: Vec<FieldChange>,
    /// Why something is missing (no fixtures, no compliant twin, …).
    pub note: Option<String>,
}

/// Everything `tollgate explain POLICY-ID` shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyDoc {
    pub id: String,
    pub title: String,
    pub family: Option<String>,
    pub severity: Option<Severity>,
    pub enforcement: Option<Enforcement>,
    pub engines: Vec<EngineEntry>,
    /// Rego scope (`resource`, `stack`, `estate`), when there is a Rego rule.
    pub scope: Option<Scope>,
    /// Resource types it applies to; empty for every type (or not type-specific).
    pub applies_to: Vec<String>,
    pub description: String,
    pub rationale: String,
    pub remediation: String,
    /// Cedar's `@message`, when there is one.
    pub message: Option<String>,
    pub example: Example,
}

/// Text field of a Rego `metadata` object (empty when absent or not a string).
fn meta_text(v: &regorus::Value, key: &str) -> String {
    match &v[key] {
        regorus::Value::String(s) => s.to_string(),
        _ => String::new(),
    }
}

/// Documents one policy. `fixtures` is the folder of per-policy fixtures (`<ID>/violating`,
/// `<ID>/compliant`, `<ID>/expected.json`).
pub fn explain_policy(
    policies: &Path,
    fixtures: &Path,
    bundle_options: &BundleOptions,
    id: &str,
) -> Result<PolicyDoc, ExplainError> {
    let registry = Registry::builtin();
    let bundle = PolicyBundle::load(policies, registry, bundle_options)?;
    let known = known_ids(&bundle);
    if !known.contains(id) {
        let list: Vec<&str> = known.iter().map(String::as_str).collect();
        return Err(not_found("policy", id, &list));
    }
    let mut doc = PolicyDoc {
        id: id.to_owned(),
        title: String::new(),
        family: None,
        severity: None,
        enforcement: None,
        engines: Vec::new(),
        scope: None,
        applies_to: Vec::new(),
        description: String::new(),
        rationale: String::new(),
        remediation: String::new(),
        message: None,
        example: example(fixtures, id),
    };
    fn fill(doc: &mut PolicyDoc, meta: &PolicyMeta, rationale: String) {
        if doc.title.is_empty() {
            doc.title = meta.title.clone();
        }
        doc.family.get_or_insert_with(|| meta.family.clone());
        doc.severity.get_or_insert(meta.severity);
        doc.enforcement.get_or_insert(meta.enforcement);
        if doc.description.is_empty() {
            doc.description = meta.description.clone();
        }
        if doc.rationale.is_empty() {
            doc.rationale = rationale;
        }
        if doc.remediation.is_empty() {
            doc.remediation = meta.remediation.clone();
        }
    }
    for (i, rule) in bundle.rego.rules().iter().enumerate() {
        if rule.meta.id != id {
            continue;
        }
        let rationale = bundle
            .rego
            .metadata_value(i)
            .map(|v| meta_text(&v, "rationale"))
            .unwrap_or_default();
        fill(&mut doc, &rule.meta, rationale);
        doc.engines.push(EngineEntry {
            engine: EngineKind::Rego,
            file: rule.meta.file.clone(),
            kind: "rule",
        });
        doc.scope = Some(rule.scope);
        doc.applies_to = rule.resource_types.iter().flatten().cloned().collect();
    }
    if let Some(meta) = bundle.cedar.metas().find(|m| m.id == id) {
        let rationale = bundle
            .cedar
            .annotation(id, "rationale")
            .unwrap_or_default()
            .to_owned();
        fill(&mut doc, meta, rationale);
        doc.engines.push(EngineEntry {
            engine: EngineKind::Cedar,
            file: meta.file.clone(),
            kind: "forbid",
        });
        doc.message = bundle.cedar.annotation(id, "message").map(str::to_owned);
        if doc.applies_to.is_empty()
            && let Some(t) = bundle.cedar.scope_type(id)
            && t != "Stack"
        {
            doc.applies_to = vec![t.to_owned()];
        }
    } else if bundle
        .cedar
        .policy_ids()
        .iter()
        .any(|(p, forbid)| p == id && !forbid)
    {
        let text = |k: &str| {
            bundle
                .cedar
                .annotation(id, k)
                .unwrap_or_default()
                .to_owned()
        };
        doc.title = text("title");
        doc.description = text("description");
        doc.rationale = text("rationale");
        doc.engines.push(EngineEntry {
            engine: EngineKind::Cedar,
            file: policies.join("cedar").display().to_string(),
            kind: "permit",
        });
    }
    if doc.engines.is_empty()
        && let Some(meta) = bundle.metas().into_iter().find(|m| m.id == id)
    {
        fill(&mut doc, meta, String::new());
        doc.engines.push(EngineEntry {
            engine: meta.engine,
            file: meta.file.clone(),
            kind: "built-in",
        });
    }
    Ok(doc)
}

/// Reads `dir` (recursively) for `*.json` fixture files, sorted; none when the folder cannot be
/// walked (fixtures only illustrate an explanation).
fn fixture_files(dir: &Path) -> Vec<PathBuf> {
    crate::policy::files_under(dir, |p| p.extension().is_some_and(|x| x == "json"))
        .unwrap_or_default()
}

fn read_json(path: &Path) -> Option<Json> {
    let text = crate::json::read_text(path, crate::json::MAX_FILE_BYTES).ok()?;
    serde_json::from_str(&text).ok()
}

/// The resource `id` of a stack document, or the envelope (without `resources`) for `None`.
fn snippet_of(doc: &Json, resource: Option<&str>) -> Option<Json> {
    match resource {
        Some(id) => doc
            .get("resources")?
            .as_array()?
            .iter()
            .find(|r| r.get("id").and_then(Json::as_str) == Some(id))
            .cloned(),
        None => {
            let mut env = doc.as_object()?.clone();
            env.remove("resources");
            Some(Json::Object(env))
        }
    }
}

fn example(fixtures: &Path, id: &str) -> Example {
    let dir = fixtures.join(id);
    let mut ex = Example {
        dir: dir.display().to_string(),
        violating: None,
        compliant: None,
        changes: Vec::new(),
        note: None,
    };
    let violating_dir = dir.join("violating");
    if !violating_dir.is_dir() {
        ex.note = Some(format!(
            "no fixtures for {id}: {} does not exist",
            violating_dir.display()
        ));
        return ex;
    }
    // Which resource (and stack) the policy flags, from expected.json.
    let expected = read_json(&dir.join("expected.json"));
    let flagged = expected
        .as_ref()
        .and_then(|e| e.get("findings")?.as_array().cloned())
        .unwrap_or_default()
        .into_iter()
        .find(|f| f.get("policy").and_then(Json::as_str) == Some(id));
    let resource = flagged
        .as_ref()
        .and_then(|f| f.get("resource")?.as_str().map(str::to_owned));
    let stack = flagged
        .as_ref()
        .and_then(|f| f.get("stack")?.as_str().map(str::to_owned));
    let files = fixture_files(&violating_dir);
    let docs: Vec<(PathBuf, Json)> = files
        .iter()
        .filter_map(|f| read_json(f).map(|d| (f.clone(), d)))
        .collect();
    let chosen = docs
        .iter()
        .find(|(_, d)| {
            stack
                .as_deref()
                .is_some_and(|s| d.get("stack").and_then(Json::as_str) == Some(s))
        })
        .or_else(|| {
            docs.iter()
                .find(|(_, d)| snippet_of(d, resource.as_deref()).is_some())
        });
    let Some((file, doc)) = chosen else {
        ex.note = Some(format!(
            "no stack document in {} shows the failing resource",
            violating_dir.display()
        ));
        return ex;
    };
    let Some(bad) = snippet_of(doc, resource.as_deref()) else {
        return ex;
    };
    if flagged.is_none() {
        ex.note = Some(format!(
            "{} does not name the flagged resource; showing the stack envelope",
            dir.join("expected.json").display()
        ));
    }
    ex.violating = Some(Snippet {
        file: file.display().to_string(),
        resource: resource.clone(),
        value: bad.clone(),
    });
    let rel = file.strip_prefix(&violating_dir).unwrap_or(file);
    let twin_file = dir.join("compliant").join(rel);
    match read_json(&twin_file) {
        None => {
            ex.note = Some(format!("no compliant twin at {}", twin_file.display()));
        }
        Some(twin) => match snippet_of(&twin, resource.as_deref()) {
            None => {
                ex.note = Some(format!(
                    "the compliant twin {} has no resource `{}`: the fix removes it",
                    twin_file.display(),
                    resource.as_deref().unwrap_or_default()
                ));
            }
            Some(good) => {
                diff(&bad, &good, &mut String::new(), &mut ex.changes);
                ex.compliant = Some(Snippet {
                    file: twin_file.display().to_string(),
                    resource,
                    value: good,
                });
            }
        },
    }
    ex
}

/// The leaves where `a` and `b` differ, by path.
fn diff(a: &Json, b: &Json, path: &mut String, out: &mut Vec<FieldChange>) {
    if a == b {
        return;
    }
    if let (Json::Object(x), Json::Object(y)) = (a, b) {
        let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
        for k in keys {
            let len = path.len();
            if path.is_empty() && reads::is_rego_identifier(k) {
                path.push_str(k);
            } else {
                reads::push_key(path, k);
            }
            match (x.get(k), y.get(k)) {
                (Some(p), Some(q)) => diff(p, q, path, out),
                (p, q) => out.push(FieldChange {
                    path: path.clone(),
                    before: p.cloned(),
                    after: q.cloned(),
                }),
            }
            path.truncate(len);
        }
        return;
    }
    out.push(FieldChange {
        path: path.clone(),
        before: Some(a.clone()),
        after: Some(b.clone()),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    #[test]
    fn wildcards_expand_to_each_element_and_missing_paths_are_absent() {
        let input = json!({"resource": {"properties": {"ingress": [
            {"from_port": 22}, {"from_port": 443}
        ]}}});
        let p = |segs: &[&str]| {
            RefPath(
                segs.iter()
                    .map(|s| match *s {
                        "_" => Seg::Any,
                        k => Seg::Key(k.to_owned()),
                    })
                    .collect(),
            )
        };
        let got = concrete_values(
            &input,
            &p(&[
                "input",
                "resource",
                "properties",
                "ingress",
                "_",
                "from_port",
            ]),
        );
        assert_eq!(
            got,
            vec![
                (
                    "input.resource.properties.ingress[0].from_port".to_owned(),
                    Some(json!(22))
                ),
                (
                    "input.resource.properties.ingress[1].from_port".to_owned(),
                    Some(json!(443))
                ),
            ]
        );
        let got = concrete_values(
            &input,
            &p(&["input", "resource", "properties", "egress", "_", "to_port"]),
        );
        assert_eq!(
            got,
            vec![(
                "input.resource.properties.egress[_].to_port".to_owned(),
                None
            )]
        );
    }

    #[test]
    fn diff_lists_changed_added_and_removed_leaves() {
        let a = json!({"properties": {"sse": {"alg": "AES256"}, "x": 1}});
        let b = json!({"properties": {"sse": {"alg": "aws:kms", "key": "k"}}});
        let mut out = Vec::new();
        diff(&a, &b, &mut String::new(), &mut out);
        let paths: Vec<(&str, Option<&Json>, Option<&Json>)> = out
            .iter()
            .map(|c| (c.path.as_str(), c.before.as_ref(), c.after.as_ref()))
            .collect();
        assert_eq!(
            paths,
            vec![
                (
                    "properties.sse.alg",
                    Some(&json!("AES256")),
                    Some(&json!("aws:kms"))
                ),
                ("properties.sse.key", None, Some(&json!("k"))),
                ("properties.x", Some(&json!(1)), None),
            ]
        );
    }

    #[test]
    fn shipped_policy_docs_have_description_rationale_and_agree_across_engines() {
        let policies = root().join("policies");
        let registry = Registry::builtin();
        let bundle = PolicyBundle::load(&policies, registry, &BundleOptions::default()).unwrap();
        let mut rego_docs = BTreeMap::new();
        for (i, rule) in bundle.rego.rules().iter().enumerate() {
            let v = bundle.rego.metadata_value(i).unwrap();
            let (d, r) = (meta_text(&v, "description"), meta_text(&v, "rationale"));
            assert!(!d.trim().is_empty(), "{} has no description", rule.meta.id);
            assert!(!r.trim().is_empty(), "{} has no rationale", rule.meta.id);
            rego_docs.insert(rule.meta.id.clone(), (d, r));
        }
        for (id, forbid) in bundle.cedar.policy_ids() {
            // An `@outcome("unknown")` policy takes the annotations it lacks from the rule's
            // violation policy (`ID:unknown` beside `ID`), which is checked itself.
            if id.ends_with(":unknown") {
                continue;
            }
            let d = bundle
                .cedar
                .annotation(&id, "description")
                .unwrap_or_default();
            let r = bundle
                .cedar
                .annotation(&id, "rationale")
                .unwrap_or_default();
            assert!(!d.trim().is_empty(), "Cedar {id} has no @description");
            assert!(!r.trim().is_empty(), "Cedar {id} has no @rationale");
            if !forbid {
                assert!(
                    bundle.cedar.annotation(&id, "title").is_some(),
                    "permit {id} has no @title"
                );
            }
            if let Some((rd, rr)) = rego_docs.get(&id) {
                assert_eq!(
                    (rd.as_str(), rr.as_str()),
                    (d, r),
                    "{id}: Rego and Cedar docs differ"
                );
            }
        }
    }

    #[test]
    fn policy_doc_takes_its_example_from_the_fixtures() {
        let doc = explain_policy(
            &root().join("policies"),
            &root().join("fixtures/policies"),
            &BundleOptions::default(),
            "TG-ENC-001",
        )
        .unwrap();
        assert_eq!(doc.engines.len(), 2, "{:?}", doc.engines);
        assert_eq!(doc.applies_to, ["aws_s3_bucket"]);
        let bad = doc.example.violating.as_ref().unwrap();
        assert_eq!(bad.resource.as_deref(), Some("logs"));
        assert!(doc.example.changes.iter().any(|c| c.path
            == "properties.server_side_encryption.sse_algorithm"
            && c.before == Some(json!("AES256"))));
    }

    /// Over the whole fixture corpus: explain agrees with `check` on every flagged resource (the
    /// Rego rule fired, the Cedar policy determined a deny) and on its compliant twin.
    #[test]
    fn explanations_agree_with_the_fixture_corpus() {
        let fixtures = root().join("fixtures/policies");
        let mut checked = 0;
        for dir in std::fs::read_dir(&fixtures).unwrap() {
            let dir = dir.unwrap().path();
            let Some(expected) = read_json(&dir.join("expected.json")) else {
                continue;
            };
            for f in expected["findings"].as_array().unwrap() {
                let (Some(resource), Some(engine), Some(policy)) = (
                    f["resource"].as_str(),
                    f["engine"].as_str(),
                    f["policy"].as_str(),
                ) else {
                    continue;
                };
                // Coverage gaps are about what an importer could not model (their fixtures are
                // templates): there is no rule on a modelled resource to explain.
                if crate::coverage::metas().iter().any(|m| m.id == policy) {
                    continue;
                }
                for (side, fires) in [("violating", true), ("compliant", false)] {
                    let side_dir = dir.join(side);
                    let stack = fixture_files(&side_dir).into_iter().find_map(|file| {
                        let doc = read_json(&file)?;
                        snippet_of(&doc, Some(resource))?;
                        doc["stack"].as_str().map(str::to_owned)
                    });
                    let Some(stack) = stack else {
                        assert!(
                            !fires,
                            "{}: no stack holds `{resource}`",
                            side_dir.display()
                        );
                        continue;
                    };
                    let e = explain_resource(&ResourceSettings {
                        paths: vec![side_dir.clone()],
                        input_format: InputFormat::Auto,
                        policies: root().join("policies"),
                        principal: Principal::parse("ci:tollgate-ci").unwrap(),
                        bundle: BundleOptions::default(),
                        stack,
                        resource: resource.to_owned(),
                        policy: Some(policy.to_owned()),
                    })
                    .unwrap_or_else(|e| panic!("{}: {e}", side_dir.display()));
                    let at = format!("{} {policy} {engine} {resource}", side_dir.display());
                    match engine {
                        "rego" => {
                            let r = e.rego.iter().find(|r| r.id == policy).expect(&at);
                            let want = if fires {
                                RuleStatus::Fired
                            } else {
                                RuleStatus::Passed
                            };
                            assert_eq!(r.status, want, "{at}: {:?}", r.messages);
                            assert!(!r.reads.is_empty(), "{at}: no reads");
                        }
                        "cedar" => {
                            let denied_by = e.cedar.actions.iter().any(|a| {
                                a.decision == "deny" && a.determining.iter().any(|p| p.id == policy)
                            });
                            assert_eq!(denied_by, fires, "{at}: {:?}", e.cedar.actions);
                        }
                        _ => {
                            assert_eq!(
                                e.related.iter().any(|f| f.policy == policy),
                                fires,
                                "{at}: {:?}",
                                e.related
                            );
                        }
                    }
                    checked += 1;
                }
            }
        }
        assert!(checked >= 40, "only {checked} fixture checks ran");
    }

    #[test]
    fn unknown_policy_suggests_the_closest() {
        let e = explain_policy(
            &root().join("policies"),
            &root().join("fixtures/policies"),
            &BundleOptions::default(),
            "TG-ENC-01",
        )
        .unwrap_err();
        assert!(e.to_string().contains("did you mean `TG-ENC-001`"), "{e}");
    }
}
