//! Cedar policies, evaluated with cedar-policy.
//!
//! Cedar answers, per change: may this principal (a team, a CI identity) perform this action
//! (`create`, `update`, `delete`) on this resource, in this context? `forbid` policies are the
//! guardrails (each carries `@id`, `@title`, `@family`, `@severity`, `@enforcement`,
//! `@remediation` and optionally `@message`); `permit` policies say who may change what (they need
//! only `@id`). The schema is generated from the type registry and every policy is validated
//! against it strictly before use.
//!
//! A `forbid` policy annotated `@outcome("unknown")` says what the rule cannot judge yet (a value
//! only known at apply): when it matches, the finding is `unknown`, failing like a violation. It
//! may share its `@id` with the rule's violation policy (then its other annotations default to
//! that policy's); inside the policy set it is named `<id>:unknown`.
//!
//! Each resource is an entity of its own type (`Tollgate::aws_s3_bucket::"stack/id"`), a member of
//! its `Tollgate::Stack`, with its typed properties as attributes and its tags as Cedar tags.
//! Properties typed `json` or `string_map` have no Cedar type and are left out. The stack itself is
//! asked about too (resource `Tollgate::Stack::"id"`), for stack-level guardrails such as budgets.
//! The context is `{stack: Stack, taggable: Bool}`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid, Policy,
    PolicyId, PolicySet, Request, RestrictedExpression, Schema, ValidationMode, Validator,
};
use miette::Diagnostic;
use rayon::prelude::*;
use regorus::Value;
use serde_json::json;

use super::PolicyError;
use crate::finding::{EngineKind, MetaRef, PolicyMeta};
use crate::json::{self, line_col};
use crate::registry::{PropType, Registry};

/// The namespace of every generated Cedar type.
pub const NAMESPACE: &str = "Tollgate";

/// Deepest bracket nesting accepted in a Cedar file. Cedar's recursive-descent parser overflows
/// the stack at a few hundred levels, which aborts the process; no real policy comes close.
pub const MAX_CEDAR_NESTING: usize = 64;

/// How the policy set names a `@outcome("unknown")` policy: its `@id` and this suffix.
pub const UNKNOWN_SUFFIX: &str = ":unknown";

/// The rule id a policy-set id stands for: `X:unknown` is rule `X`'s unknown policy.
pub fn rule_id(policy_id: &str) -> &str {
    policy_id.strip_suffix(UNKNOWN_SUFFIX).unwrap_or(policy_id)
}

/// Deepest expression nesting accepted in a Cedar file, counted by [`expression_nesting`]: every
/// bracket, and every `if`, unary `!` / `-`, member access (`.`) and binary operator open in one
/// bracket level. Each of these makes Cedar's expression tree one level deeper, and its parser,
/// validator and evaluator recurse over that tree: 5,000 chained `if … then … else` overflowed the
/// stack and aborted the process. A large real policy counts a few hundred.
pub const MAX_CEDAR_EXPRESSION_NESTING: usize = 1000;

/// An upper estimate of the depth of the deepest expression in Cedar text `text`: at each point,
/// the brackets open plus, for each open bracket level, the operators seen in it since the last
/// `,` or `;` that separates expressions. Strings and `//` comments are skipped. One pass; no
/// recursion.
pub fn expression_nesting(text: &str) -> usize {
    let b = text.as_bytes();
    // Operators counted in each open bracket level; the first entry is the top level.
    let mut levels: Vec<usize> = vec![0];
    let mut total = 0usize;
    let mut max = 0usize;
    let mut i = 0usize;
    let bump = |levels: &mut Vec<usize>, total: &mut usize, max: &mut usize| {
        if let Some(last) = levels.last_mut() {
            *last += 1;
        }
        *total += 1;
        *max = (*max).max(*total + levels.len() - 1);
    };
    while i < b.len() {
        let c = b[i];
        match c {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'(' | b'[' | b'{' => {
                levels.push(0);
                max = max.max(total + levels.len() - 1);
            }
            b')' | b']' | b'}' if levels.len() > 1 => {
                total -= levels.pop().unwrap_or(0);
            }
            b',' | b';' => {
                if let Some(last) = levels.last_mut() {
                    total -= *last;
                    *last = 0;
                }
            }
            b'&' | b'|' | b'=' | b'<' | b'>'
                if b.get(i + 1) == Some(&b'=') || b.get(i + 1) == Some(&c) =>
            {
                bump(&mut levels, &mut total, &mut max);
                i += 1;
            }
            b'!' if b.get(i + 1) == Some(&b'=') => {
                bump(&mut levels, &mut total, &mut max);
                i += 1;
            }
            b'.' | b'!' | b'-' | b'+' | b'*' | b'<' | b'>' => {
                bump(&mut levels, &mut total, &mut max);
            }
            _ if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                if matches!(&b[start..i], b"if" | b"has" | b"like" | b"is" | b"in") {
                    bump(&mut levels, &mut total, &mut max);
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    max
}

/// Id of the built-in finding for a change no `permit` policy allows.
pub const NOT_PERMITTED_ID: &str = "TG-AUTHZ-001";

/// Who is asking: a team or a CI identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal(EntityUid);

impl Principal {
    /// Parses `ci:NAME`, `team:NAME`, or a Cedar entity uid such as `Tollgate::Team::"security"`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let uid = if let Some(name) = s.strip_prefix("ci:") {
            uid("CiIdentity", name)
        } else if let Some(name) = s.strip_prefix("team:") {
            uid("Team", name)
        } else {
            EntityUid::from_str(s).map_err(|e| e.to_string())?
        };
        let t = uid.type_name().to_string();
        if t != format!("{NAMESPACE}::Team") && t != format!("{NAMESPACE}::CiIdentity") {
            return Err(format!(
                "principal `{s}` must be `ci:NAME`, `team:NAME` or a {NAMESPACE}::Team / {NAMESPACE}::CiIdentity uid"
            ));
        }
        if uid.id().unescaped().is_empty() {
            return Err(format!("principal `{s}` has an empty name"));
        }
        Ok(Self(uid))
    }

    pub fn uid(&self) -> &EntityUid {
        &self.0
    }
}

impl std::fmt::Display for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A change Cedar is asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Delete,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
        }
    }

    fn uid(self) -> EntityUid {
        uid("Action", self.name())
    }
}

fn uid(type_name: &str, id: &str) -> EntityUid {
    #[allow(clippy::expect_used)]
    let t = EntityTypeName::from_str(&format!("{NAMESPACE}::{type_name}"))
        .expect("registry type names are identifiers");
    EntityUid::from_type_name_and_id(t, EntityId::new(id))
}

/// Generates the Cedar schema (JSON form) from the type registry, with the derived facts'
/// records (see [`super::facts`]) on the stack and on every type that has facts.
pub fn schema_json(registry: &Registry) -> serde_json::Value {
    let shapes = super::facts::FactShapes::builtin();
    let mut entity_types = serde_json::Map::new();
    entity_types.insert("Team".into(), json!({}));
    entity_types.insert("CiIdentity".into(), json!({}));
    entity_types.insert(
        "Stack".into(),
        json!({
            "shape": {"type": "Record", "attributes": {
                "id": {"type": "String"},
                "repository": {"type": "String"},
                "environment": {"type": "String"},
                "region": {"type": "String"},
                "account": {"type": "String"},
                "owner": {"type": "String"},
                "has_budget": {"type": "Boolean"},
                "monthly_limit_usd": {"type": "Long"},
                "alert_thresholds": {"type": "Set", "element": {"type": "Long"}},
                "estimated_monthly_cost_usd": {"type": "Long"},
                "cost_complete": {"type": "Boolean"},
                "cost_estimated": {"type": "Boolean"},
                "facts": super::facts::cedar_record(shapes.stack())
            }},
            "tags": {"type": "String"}
        }),
    );
    let mut resource_types = vec![json!("Stack")];
    for t in registry.types() {
        let attributes: serde_json::Map<String, serde_json::Value> = t
            .properties
            .iter()
            .filter_map(|(k, p)| {
                cedar_type(p).map(|mut ty| {
                    ty["required"] = json!(false);
                    (k.clone(), ty)
                })
            })
            .collect();
        let mut attributes = attributes;
        if let Some(shape) = shapes.for_type(t) {
            attributes.insert("facts".into(), super::facts::cedar_record(&shape));
        }
        entity_types.insert(
            t.name.clone(),
            json!({
                "memberOfTypes": ["Stack"],
                "shape": {"type": "Record", "attributes": attributes},
                "tags": {"type": "String"}
            }),
        );
        resource_types.push(json!(t.name));
    }
    let applies = json!({
        "principalTypes": ["Team", "CiIdentity"],
        "resourceTypes": resource_types,
        "context": {"type": "Record", "attributes": {
            "stack": {"type": "Entity", "name": "Stack"},
            "taggable": {"type": "Boolean"}
        }}
    });
    let actions: serde_json::Map<String, serde_json::Value> =
        [Action::Create, Action::Update, Action::Delete]
            .iter()
            .map(|a| (a.name().to_owned(), json!({"appliesTo": applies})))
            .collect();
    json!({ NAMESPACE: { "entityTypes": entity_types, "actions": actions } })
}

pub(crate) fn cedar_type(p: &PropType) -> Option<serde_json::Value> {
    Some(match p {
        PropType::String => json!({"type": "String"}),
        PropType::Bool => json!({"type": "Boolean"}),
        PropType::Int => json!({"type": "Long"}),
        PropType::Json | PropType::PolicyDocument | PropType::StringMap => return None,
        PropType::List(inner) => json!({"type": "Set", "element": cedar_type(inner)?}),
        PropType::Object(fields) => {
            let attributes: serde_json::Map<String, serde_json::Value> = fields
                .iter()
                .filter_map(|(k, p)| {
                    cedar_type(p).map(|mut ty| {
                        ty["required"] = json!(false);
                        (k.clone(), ty)
                    })
                })
                .collect();
            json!({"type": "Record", "attributes": attributes})
        }
    })
}

/// Converts a property value to a Cedar value following its registry type; `None` when the value
/// is absent or has no Cedar form.
fn to_cedar(v: &Value, p: &PropType) -> Option<RestrictedExpression> {
    match (p, v) {
        (PropType::String, Value::String(s)) => {
            Some(RestrictedExpression::new_string(s.to_string()))
        }
        (PropType::Bool, Value::Bool(b)) => Some(RestrictedExpression::new_bool(*b)),
        (PropType::Int, Value::Number(n)) => n.as_i64().map(RestrictedExpression::new_long),
        (PropType::List(inner), Value::Array(items)) => Some(RestrictedExpression::new_set(
            items.iter().filter_map(|i| to_cedar(i, inner)),
        )),
        (PropType::Object(fields), Value::Object(_)) => record(v, fields),
        _ => None,
    }
}

/// A derived facts record as a Cedar record (its shape was checked when it was derived).
fn facts_record(v: &Value, shape: &BTreeMap<String, PropType>) -> Option<RestrictedExpression> {
    record(v, shape)
}

fn record(v: &Value, fields: &BTreeMap<String, PropType>) -> Option<RestrictedExpression> {
    let Value::Object(obj) = v else { return None };
    let pairs = obj.iter().filter_map(|(k, item)| {
        let key = k.as_string().ok()?;
        let p = fields.get(key.as_ref())?;
        to_cedar(item, p).map(|e| (key.to_string(), e))
    });
    RestrictedExpression::new_record(pairs).ok()
}

/// A stack as Cedar sees it.
#[derive(Debug, Clone)]
pub struct StackFacts<'a> {
    pub id: &'a str,
    pub repository: &'a str,
    pub environment: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub owner: &'a str,
    pub monthly_limit_usd: Option<i64>,
    pub alert_thresholds: &'a [i64],
    pub estimated_monthly_cost_usd: f64,
    pub cost_complete: bool,
    /// False when the stack's region has no price catalogue.
    pub cost_estimated: bool,
    /// The stack's derived facts (`data.tollgate.facts.stack`), when the bundle derives them.
    pub facts: Option<&'a Value>,
}

/// A resource as Cedar sees it.
#[derive(Debug, Clone, Copy)]
pub struct ResourceFacts<'a> {
    pub id: &'a str,
    pub type_name: &'a str,
    pub properties: &'a Value,
    pub tags: &'a BTreeMap<String, String>,
}

/// One answer from Cedar about one resource or stack.
#[derive(Debug, Clone, PartialEq)]
pub enum CedarAnswer {
    /// A `forbid` policy matched.
    Forbidden { meta: MetaRef, message: String },
    /// No `permit` policy allowed the change.
    NotPermitted { meta: MetaRef, message: String },
    /// A policy failed to evaluate (fail closed).
    Error { meta: MetaRef, message: String },
    /// A `@outcome("unknown")` forbid policy matched: the rule cannot judge this yet.
    Unknown { meta: MetaRef, message: String },
}

/// Cedar's whole answer to one request (see [`CedarBundle::decide`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CedarDecision {
    pub action: Action,
    pub allowed: bool,
    /// Ids of the policies that determined the decision, sorted.
    pub determining: Vec<String>,
    /// `(policy id, message)` for each policy that failed to evaluate, sorted.
    pub errors: Vec<(String, String)>,
}

impl CedarDecision {
    /// The decision, its determining policies and its evaluation errors, each sorted.
    fn from_response(action: Action, response: &cedar_policy::Response) -> Self {
        let mut determining: Vec<String> = response
            .diagnostics()
            .reason()
            .map(|id| id.to_string())
            .collect();
        determining.sort();
        let mut errors: Vec<(String, String)> = response
            .diagnostics()
            .errors()
            .map(|e| {
                let cedar_policy::AuthorizationError::PolicyEvaluationError(e) = e;
                (e.policy_id().to_string(), e.to_string())
            })
            .collect();
        errors.sort();
        Self {
            action,
            allowed: response.decision() == Decision::Allow,
            determining,
            errors,
        }
    }
}

/// A validated Cedar policy set with each forbid policy's metadata.
#[derive(Debug)]
pub struct CedarBundle {
    policies: PolicySet,
    /// Per resource type (and `Stack`): only the policies whose scope can match it, so a request
    /// is not evaluated against guardrails for other types.
    by_type: HashMap<String, PolicySet>,
    /// Types some policy names (`Tollgate::T`): only their entities need attributes. Strict
    /// validation lets a policy read attributes only of types it has narrowed the resource to.
    attr_types: std::collections::BTreeSet<String>,
    metas: BTreeMap<String, MetaRef>,
    /// The `@outcome("unknown")` policies' metadata, by policy-set id (`X:unknown`).
    unknowns: BTreeMap<String, MetaRef>,
    /// The resource type each `forbid` policy is scoped to (`resource is T`), by id.
    typed: BTreeMap<String, String>,
    /// The types an unscoped `forbid` policy tests for in its conditions (`resource is T && …
    /// || resource is U && …`), by id: the only types it judges. Absent: it judges every type.
    tested: BTreeMap<String, std::collections::BTreeSet<String>>,
    schema: Schema,
    not_permitted: MetaRef,
    authorizer: Authorizer,
}

/// The Cedar files under `dir`, sorted.
pub fn cedar_files(dir: &Path) -> Result<Vec<std::path::PathBuf>, PolicyError> {
    super::files_under(dir, |p| p.extension().is_some_and(|x| x == "cedar"))
}

/// The line and column of the first `@id("…")` annotation of each id in Cedar text `text`, in
/// one pass (ids written with escapes are not found, and the policy is placed at the file).
fn id_places(text: &str) -> HashMap<&str, json::LineCol> {
    const OPEN: &str = "@id(\"";
    let mut out = HashMap::new();
    let mut lines = json::LineCounter::new(text);
    for (at, _) in text.match_indices(OPEN) {
        let rest = &text[at + OPEN.len()..];
        let Some(end) = rest.find('"') else { break };
        if rest[end + 1..].starts_with(')') {
            let place = lines.at(at);
            out.entry(&rest[..end]).or_insert(place);
        }
    }
    out
}

/// The position of a diagnostic's first label in `text`.
fn diagnostic_position(d: &dyn Diagnostic, text: &str) -> Option<json::LineCol> {
    let label = d.labels()?.next()?;
    Some(line_col(text, label.offset()))
}

impl CedarBundle {
    /// Loads every `*.cedar` file under `dir`, assigns each policy its `@id`, and validates the set
    /// strictly against the schema generated from `registry`.
    pub fn load(dir: &Path, registry: &Registry) -> Result<Self, PolicyError> {
        let sources = super::files::read_sources(&cedar_files(dir)?)?;
        Self::from_sources(dir, &sources, registry)
    }

    /// Parses `sources` (Cedar files, in order), assigns each policy its `@id`, and validates the
    /// set strictly against the schema generated from `registry`. `dir` names the bundle's Cedar
    /// folder in messages about the whole set.
    pub fn from_sources(
        dir: &Path,
        sources: &[super::Source],
        registry: &Registry,
    ) -> Result<Self, PolicyError> {
        let schema = Schema::from_json_value(schema_json(registry)).map_err(|e| {
            PolicyError::new(dir, format!("generated Cedar schema is invalid: {e}"))
        })?;
        let mut policies = PolicySet::new();
        let mut metas = BTreeMap::new();
        let mut typed = BTreeMap::new();
        let mut tested = BTreeMap::new();
        let mut texts: HashMap<String, (std::path::PathBuf, Arc<str>)> = HashMap::new();
        // Unknown policies whose metadata comes from their violation twin, resolved once every
        // policy is read: (policy-set id, rule id, the error if there is no twin, place).
        let mut pending: Vec<(String, String, PolicyError)> = Vec::new();
        let mut unknowns: BTreeMap<String, MetaRef> = BTreeMap::new();
        for source in sources {
            let file = source.path.clone();
            let text: Arc<str> = source.text.as_str().into();
            let depth = json::max_nesting(&text);
            if depth > MAX_CEDAR_NESTING {
                return Err(PolicyError::new(
                    &file,
                    format!(
                        "nesting too deep: limit {MAX_CEDAR_NESTING} levels of brackets, got {depth}"
                    ),
                ));
            }
            let depth = expression_nesting(&text);
            if depth > MAX_CEDAR_EXPRESSION_NESTING {
                return Err(PolicyError::new(
                    &file,
                    format!(
                        "nesting too deep: limit {MAX_CEDAR_EXPRESSION_NESTING} levels of nested \
                         expressions (brackets, `if`, unary `!` and `-`, member access, binary \
                         operators), got {depth}"
                    ),
                ));
            }
            let parsed = PolicySet::from_str(&text).map_err(|e| {
                let mut err = PolicyError::new(&file, format!("Cedar parse error: {e}"));
                if let Some(first) = e.iter().next() {
                    err.message = format!("Cedar parse error: {first}");
                    if let Some(p) = diagnostic_position(first, &text) {
                        err = err.at(p);
                    }
                    if let Some(h) = first.help() {
                        err = err.help(h.to_string());
                    }
                }
                err
            })?;
            if parsed.templates().next().is_some() {
                return Err(PolicyError::new(
                    &file,
                    "Cedar templates are not supported in a bundle",
                ));
            }
            // cedar-policy does not expose a policy's location; its `@id` annotation marks it.
            // The file is scanned once for every `@id("…")` (a search per policy, or per
            // comparison while sorting, made loading quadratic in the number of policies).
            let places = id_places(&text);
            let position = |p: &Policy| places.get(p.annotation("id")?).copied();
            let mut list: Vec<(Option<json::LineCol>, &Policy)> =
                parsed.policies().map(|p| (position(p), p)).collect();
            list.sort_by_key(|(at, _)| *at);
            for (at, p) in list {
                let place = |m: String| {
                    let e = PolicyError::new(&file, m);
                    match at {
                        Some(at) => e.at(at),
                        None => e,
                    }
                };
                let Some(rule) = p.annotation("id") else {
                    return Err(place("policy has no @id(\"…\") annotation".into()));
                };
                let unknown = match p.annotation("outcome") {
                    None | Some("violation") => false,
                    Some("unknown") if p.effect() == cedar_policy::Effect::Forbid => true,
                    Some("unknown") => {
                        return Err(place(format!(
                            "policy `{rule}`: only a forbid policy can have @outcome(\"unknown\")"
                        )));
                    }
                    Some(other) => {
                        return Err(place(format!(
                            "policy `{rule}`: unknown @outcome(\"{other}\") (expected `violation` or `unknown`)"
                        )));
                    }
                };
                if rule.ends_with(UNKNOWN_SUFFIX) {
                    return Err(place(format!(
                        "policy id `{rule}` ends with `{UNKNOWN_SUFFIX}`, which names unknown policies; use @outcome(\"unknown\")"
                    )));
                }
                let owned_id = if unknown {
                    format!("{rule}{UNKNOWN_SUFFIX}")
                } else {
                    rule.to_owned()
                };
                let id = owned_id.as_str();
                if let Some((other, _)) = texts.get(id) {
                    return Err(place(format!(
                        "policy id `{id}` is also used in {}",
                        other.display()
                    )));
                }
                let policy = p.new_id(PolicyId::new(id));
                if unknown {
                    match forbid_meta(p, rule, &file) {
                        Ok(meta) => {
                            unknowns.insert(id.to_owned(), Arc::new(meta));
                        }
                        Err(e) => pending.push((id.to_owned(), rule.to_owned(), place(e))),
                    }
                } else if p.effect() == cedar_policy::Effect::Forbid {
                    let meta = forbid_meta(p, id, &file).map_err(place)?;
                    metas.insert(id.to_owned(), Arc::new(meta));
                }
                if p.effect() == cedar_policy::Effect::Forbid
                    && let cedar_policy::ResourceConstraint::Is(t)
                    | cedar_policy::ResourceConstraint::IsIn(t, _) = p.resource_constraint()
                {
                    typed.insert(id.to_owned(), t.basename().to_owned());
                } else if p.effect() == cedar_policy::Effect::Forbid
                    && let Some(types) = tested_types(p)
                {
                    tested.insert(id.to_owned(), types);
                }
                policies.add(policy).map_err(|e| place(e.to_string()))?;
                texts.insert(id.to_owned(), (file.clone(), text.clone()));
            }
        }
        for (id, rule, no_meta) in pending {
            let meta = metas.get(&rule).cloned().ok_or(no_meta)?;
            unknowns.insert(id, meta);
        }
        // An unknown policy with metadata of its own: it agrees with its twin, or it is the
        // rule's only policy (then reports describe the rule from it).
        for (id, meta) in &unknowns {
            match metas.get(&meta.id) {
                Some(twin)
                    if twin.family != meta.family
                        || twin.severity != meta.severity
                        || twin.enforcement != meta.enforcement =>
                {
                    let file = texts.get(id).map(|(f, _)| f.clone()).unwrap_or_default();
                    return Err(PolicyError::new(
                        &file,
                        format!(
                            "policy `{id}` has other metadata than its violation policy `{}`: family {}/{}, severity {}/{}, enforcement {}/{}",
                            meta.id,
                            meta.family,
                            twin.family,
                            meta.severity,
                            twin.severity,
                            meta.enforcement,
                            twin.enforcement
                        ),
                    ));
                }
                Some(_) => {}
                None => {
                    metas.insert(meta.id.clone(), meta.clone());
                }
            }
        }
        let result = Validator::new(schema.clone()).validate(&policies, ValidationMode::Strict);
        if let Some(e) = result.validation_errors().next() {
            let id = e.policy_id().to_string();
            let (file, text) = texts
                .get(&id)
                .cloned()
                .unwrap_or_else(|| (dir.to_path_buf(), "".into()));
            let mut err = PolicyError::new(
                &file,
                format!("Cedar validation error in policy `{id}`: {e}"),
            );
            if let Some(p) = diagnostic_position(e, &text) {
                err = err.at(p);
            }
            if let Some(h) = e.help() {
                err = err.help(h.to_string());
            }
            return Err(err);
        }
        let not_permitted = Arc::new(PolicyMeta {
            id: NOT_PERMITTED_ID.into(),
            title: "Change not permitted for this principal".into(),
            family: "access".into(),
            severity: crate::finding::Severity::High,
            enforcement: crate::finding::Enforcement::HardMandatory,
            remediation: "Run the change as a principal a `permit` policy allows for this stack and environment, or add such a permit policy (reviewed by the security team).".into(),
            description: "No Cedar permit policy allows this principal to perform this action on this resource.".into(),
            engine: EngineKind::Cedar,
            file: dir.display().to_string(),
        });
        // Each policy joins the set of the type it is scoped to, or every set when unscoped: one
        // pass over the policies, not one per type.
        let mut by_type: HashMap<String, PolicySet> = registry
            .types()
            .map(|t| t.name.clone())
            .chain(["Stack".to_owned()])
            .map(|name| (name, PolicySet::new()))
            .collect();
        for p in policies.policies() {
            let scoped = match p.resource_constraint() {
                cedar_policy::ResourceConstraint::Is(t)
                | cedar_policy::ResourceConstraint::IsIn(t, _) => Some(t.basename().to_owned()),
                _ => None,
            };
            for (name, set) in by_type.iter_mut() {
                if scoped.as_ref().is_none_or(|t| t == name) {
                    set.add(p.clone())
                        .map_err(|e| PolicyError::new(dir, e.to_string()))?;
                }
            }
        }
        // One text per file (every policy of a file shares it), searched once per type.
        let mut seen = std::collections::HashSet::new();
        let file_texts: Vec<&Arc<str>> = texts
            .values()
            .filter(|(file, _)| seen.insert(file.clone()))
            .map(|(_, text)| text)
            .collect();
        let attr_types = registry
            .types()
            .filter(|t| {
                let needle = format!("{NAMESPACE}::{}", t.name);
                file_texts.iter().any(|text| {
                    text.match_indices(&needle).any(|(i, _)| {
                        !text[i + needle.len()..]
                            .starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                    })
                })
            })
            .map(|t| t.name.clone())
            .collect();
        Ok(Self {
            policies,
            by_type,
            attr_types,
            metas,
            unknowns,
            typed,
            tested,
            schema,
            not_permitted,
            authorizer: Authorizer::new(),
        })
    }

    pub fn metas(&self) -> impl Iterator<Item = &PolicyMeta> {
        self.metas.values().map(|m| &**m)
    }

    /// The built-in rule for a change no `permit` policy allows.
    pub fn not_permitted_meta(&self) -> &PolicyMeta {
        &self.not_permitted
    }

    /// Whether some `forbid` policy is scoped to `type_name` (`resource is T`).
    pub fn has_rules_for_type(&self, type_name: &str) -> bool {
        self.typed.values().any(|t| t == type_name)
    }

    /// The resource type a `forbid` policy is scoped to, if it names one.
    pub fn scope_type(&self, id: &str) -> Option<&str> {
        self.typed.get(id).map(String::as_str)
    }

    /// Whether the `forbid` policy `id` judges resources of `type_name`: it is scoped to that
    /// type, or unscoped and tests for it (`resource is T`) in its conditions, or unscoped and
    /// tests for no type at all.
    pub fn judges(&self, id: &str, type_name: &str) -> bool {
        match (self.typed.get(id), self.tested.get(id)) {
            (Some(t), _) => t == type_name,
            (None, Some(types)) => types.contains(type_name),
            (None, None) => true,
        }
    }

    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    pub fn policy_count(&self) -> usize {
        self.policies.policies().count()
    }

    /// Builds the entities of one stack: the principal, the stack and each resource.
    /// `facts[i]` is resource `i`'s derived facts record, when it has one (checked already).
    pub fn stack_entities(
        &self,
        principal: &Principal,
        stack: &StackFacts<'_>,
        resources: &[ResourceFacts<'_>],
        facts: &[Option<Value>],
        registry: &Registry,
    ) -> Result<Entities, String> {
        let stack_uid = uid("Stack", stack.id);
        let cost = stack.estimated_monthly_cost_usd.ceil();
        let stack_attrs = [
            ("id", RestrictedExpression::new_string(stack.id.into())),
            (
                "repository",
                RestrictedExpression::new_string(stack.repository.into()),
            ),
            (
                "environment",
                RestrictedExpression::new_string(stack.environment.into()),
            ),
            (
                "region",
                RestrictedExpression::new_string(stack.region.into()),
            ),
            (
                "account",
                RestrictedExpression::new_string(stack.account.into()),
            ),
            (
                "owner",
                RestrictedExpression::new_string(stack.owner.into()),
            ),
            (
                "has_budget",
                RestrictedExpression::new_bool(stack.monthly_limit_usd.is_some()),
            ),
            (
                "monthly_limit_usd",
                RestrictedExpression::new_long(stack.monthly_limit_usd.unwrap_or(0)),
            ),
            (
                "alert_thresholds",
                RestrictedExpression::new_set(
                    stack
                        .alert_thresholds
                        .iter()
                        .map(|t| RestrictedExpression::new_long(*t)),
                ),
            ),
            (
                "estimated_monthly_cost_usd",
                RestrictedExpression::new_long(cost as i64),
            ),
            (
                "cost_complete",
                RestrictedExpression::new_bool(stack.cost_complete),
            ),
            (
                "cost_estimated",
                RestrictedExpression::new_bool(stack.cost_estimated),
            ),
        ];
        let stack_facts = stack
            .facts
            .and_then(|f| facts_record(f, super::facts::FactShapes::builtin().stack()));
        let mut entities = Vec::with_capacity(resources.len() + 2);
        entities.push(Entity::with_uid(principal.uid().clone()));
        entities.push(
            Entity::new_with_tags(
                stack_uid.clone(),
                stack_attrs
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .chain(stack_facts.map(|f| ("facts".to_owned(), f))),
                [],
                [],
            )
            .map_err(|e| e.to_string())?,
        );
        // Resource entities are independent: build them in parallel (one stack may hold most of
        // a large plan).
        let built: Result<Vec<Entity>, String> = resources
            .par_iter()
            .enumerate()
            .with_min_len(256)
            .map(|(i, r)| {
                let def = registry
                    .get(r.type_name)
                    .ok_or_else(|| format!("unknown type `{}`", r.type_name))?;
                let facts = facts.get(i).and_then(Option::as_ref).and_then(|f| {
                    facts_record(f, &super::facts::FactShapes::builtin().for_type(def)?)
                });
                let mut attrs = match r.properties {
                    Value::Object(obj) if self.attr_types.contains(r.type_name) => obj
                        .iter()
                        .filter_map(|(k, v)| {
                            let key = k.as_string().ok()?;
                            to_cedar(v, def.properties.get(key.as_ref())?)
                                .map(|e| (key.to_string(), e))
                        })
                        .collect::<Vec<_>>(),
                    _ => Vec::new(),
                };
                attrs.extend(facts.map(|f| ("facts".to_owned(), f)));
                let tags = r
                    .tags
                    .iter()
                    .map(|(k, v)| (k.clone(), RestrictedExpression::new_string(v.clone())));
                Entity::new_with_tags(resource_uid(stack.id, r), attrs, [stack_uid.clone()], tags)
                    .map_err(|e| format!("resource `{}`: {e}", r.id))
            })
            .collect();
        entities.extend(built?);
        Entities::from_entities(entities, None).map_err(|e| e.to_string())
    }

    /// Asks about `action` on a resource (or, with `resource: None`, on the stack itself).
    pub fn ask(
        &self,
        principal: &Principal,
        action: Action,
        stack_id: &str,
        resource: Option<(&ResourceFacts<'_>, bool)>,
        entities: &Entities,
    ) -> Vec<CedarAnswer> {
        let response = match self.authorize(principal, action, stack_id, resource, entities) {
            Ok(r) => r,
            Err(e) => return vec![self.error_answer(None, e)],
        };
        let mut answers = Vec::new();
        for e in response.diagnostics().errors() {
            let cedar_policy::AuthorizationError::PolicyEvaluationError(e) = e;
            let id = e.policy_id().to_string();
            answers.push(self.error_answer(Some(&id), e.to_string()));
        }
        if response.decision() == Decision::Deny {
            let mut forbids: Vec<String> = response
                .diagnostics()
                .reason()
                .map(|id| id.to_string())
                .collect();
            forbids.sort();
            if forbids.is_empty() && answers.is_empty() {
                answers.push(CedarAnswer::NotPermitted {
                    meta: self.not_permitted.clone(),
                    message: format!("{principal} may not {} this", action.name()),
                });
            }
            for id in forbids {
                if let Some(meta) = self.unknowns.get(&id) {
                    answers.push(CedarAnswer::Unknown {
                        meta: meta.clone(),
                        message: self.message(&id, meta),
                    });
                    continue;
                }
                match self.metas.get(&id) {
                    Some(meta) => answers.push(CedarAnswer::Forbidden {
                        meta: meta.clone(),
                        message: self.message(&id, meta),
                    }),
                    None => answers.push(
                        self.error_answer(Some(&id), "forbidding policy has no metadata".into()),
                    ),
                }
            }
        }
        answers
    }

    /// Builds the request for `action` on a resource (or the stack) and asks the policies that
    /// can match its type. `Err` says why the request could not be built.
    fn authorize(
        &self,
        principal: &Principal,
        action: Action,
        stack_id: &str,
        resource: Option<(&ResourceFacts<'_>, bool)>,
        entities: &Entities,
    ) -> Result<cedar_policy::Response, String> {
        let stack_uid = uid("Stack", stack_id);
        let (resource_uid, taggable, type_name) = match resource {
            Some((r, taggable)) => (resource_uid(stack_id, r), taggable, r.type_name),
            None => (stack_uid.clone(), false, "Stack"),
        };
        let policies = self.by_type.get(type_name).unwrap_or(&self.policies);
        let context = Context::from_pairs([
            (
                "stack".to_owned(),
                RestrictedExpression::new_entity_uid(stack_uid),
            ),
            (
                "taggable".to_owned(),
                RestrictedExpression::new_bool(taggable),
            ),
        ])
        .map_err(|e| format!("building the request context: {e}"))?;
        let request = Request::new(
            principal.uid().clone(),
            action.uid(),
            resource_uid,
            context,
            None,
        )
        .map_err(|e| format!("building the request: {e}"))?;
        Ok(self.authorizer.is_authorized(&request, policies, entities))
    }

    /// The whole answer to one request, for `tollgate explain`: the decision, the policies that
    /// determined it (the matching permits when allowed, the matching forbids when denied) and
    /// the policies that failed to evaluate. `Err` says why the request could not be built.
    pub fn decide(
        &self,
        principal: &Principal,
        action: Action,
        stack_id: &str,
        resource: Option<(&ResourceFacts<'_>, bool)>,
        entities: &Entities,
    ) -> Result<CedarDecision, String> {
        let response = self.authorize(principal, action, stack_id, resource, entities)?;
        Ok(CedarDecision::from_response(action, &response))
    }

    /// Ids of the policies a request about `type_name` (or `Stack`) is evaluated against, with
    /// whether each is a `forbid`, sorted by id.
    pub fn policies_for_type(&self, type_name: &str) -> Vec<(String, bool)> {
        let set = self.by_type.get(type_name).unwrap_or(&self.policies);
        let mut out: Vec<(String, bool)> = set
            .policies()
            .map(|p| {
                (
                    p.id().to_string(),
                    p.effect() == cedar_policy::Effect::Forbid,
                )
            })
            .collect();
        out.sort();
        out
    }

    /// Every policy's id with whether it is a `forbid`, sorted by id.
    pub fn policy_ids(&self) -> Vec<(String, bool)> {
        let mut out: Vec<(String, bool)> = self
            .policies
            .policies()
            .map(|p| {
                (
                    p.id().to_string(),
                    p.effect() == cedar_policy::Effect::Forbid,
                )
            })
            .collect();
        out.sort();
        out
    }

    /// A policy's annotation (`@key("…")`), if it has one.
    pub fn annotation(&self, id: &str, key: &str) -> Option<&str> {
        self.policies
            .policy(&PolicyId::new(id))
            .and_then(|p| p.annotation(key))
    }

    /// The entity a resource (or, with `None`, the stack) was given, as Cedar's entity JSON
    /// (`uid`, `attrs`, `parents`, `tags`).
    pub fn entity_json(
        &self,
        entities: &Entities,
        stack_id: &str,
        resource: Option<&ResourceFacts<'_>>,
    ) -> Option<serde_json::Value> {
        let uid = match resource {
            Some(r) => resource_uid(stack_id, r),
            None => uid("Stack", stack_id),
        };
        entities.get(&uid)?.to_json_value().ok()
    }

    fn message(&self, id: &str, meta: &PolicyMeta) -> String {
        self.policies
            .policy(&PolicyId::new(id))
            .and_then(|p| p.annotation("message"))
            .map_or_else(|| meta.title.clone(), str::to_owned)
    }

    fn error_answer(&self, id: Option<&str>, message: String) -> CedarAnswer {
        let meta = id
            .and_then(|id| self.metas.get(id).or_else(|| self.unknowns.get(id)))
            .cloned()
            .unwrap_or_else(|| {
                Arc::new(PolicyMeta {
                    id: id.unwrap_or("TG-CEDAR-ERROR").to_owned(),
                    title: "Cedar evaluation error".into(),
                    ..(*self.not_permitted).clone()
                })
            });
        CedarAnswer::Error { meta, message }
    }
}

/// For policy tests (`tollgate test`): the same request as [`CedarBundle::decide`], with keys of
/// the derived context replaced by `context_overrides` (Cedar's JSON value form). The context and
/// the request are validated against the schema, so a misspelt key is an error, not ignored.
impl CedarBundle {
    pub fn decide_with_context(
        &self,
        principal: &Principal,
        action: Action,
        stack_id: &str,
        resource: Option<(&ResourceFacts<'_>, bool)>,
        context_overrides: &serde_json::Map<String, serde_json::Value>,
        entities: &Entities,
    ) -> Result<CedarDecision, String> {
        let (resource_uid, taggable, type_name) = match resource {
            Some((r, taggable)) => (resource_uid(stack_id, r), taggable, r.type_name),
            None => (uid("Stack", stack_id), false, "Stack"),
        };
        // The context `ask` builds, in JSON form.
        let mut context = serde_json::Map::new();
        context.insert(
            "stack".into(),
            json!({"__entity": {"type": format!("{NAMESPACE}::Stack"), "id": stack_id}}),
        );
        context.insert("taggable".into(), json!(taggable));
        for (k, v) in context_overrides {
            context.insert(k.clone(), v.clone());
        }
        let action_uid = action.uid();
        let context = Context::from_json_value(
            serde_json::Value::Object(context),
            Some((&self.schema, &action_uid)),
        )
        .map_err(|e| format!("building the request context: {e}"))?;
        let request = Request::new(
            principal.uid().clone(),
            action_uid,
            resource_uid,
            context,
            Some(&self.schema),
        )
        .map_err(|e| format!("building the request: {e}"))?;
        let policies = self.by_type.get(type_name).unwrap_or(&self.policies);
        let response = self.authorizer.is_authorized(&request, policies, entities);
        Ok(CedarDecision::from_response(action, &response))
    }
}

fn resource_uid(stack: &str, r: &ResourceFacts<'_>) -> EntityUid {
    uid(r.type_name, &format!("{stack}/{}", r.id))
}

fn forbid_meta(p: &Policy, id: &str, file: &Path) -> Result<PolicyMeta, String> {
    let get = |k: &str| {
        p.annotation(k)
            .filter(|v| !v.trim().is_empty())
            .map(str::to_owned)
            .ok_or_else(|| format!("forbid policy `{id}` has no @{k}(\"…\") annotation"))
    };
    Ok(PolicyMeta {
        id: id.to_owned(),
        title: get("title")?,
        family: get("family")?,
        severity: get("severity")?
            .parse()
            .map_err(|e| format!("policy `{id}`: {e}"))?,
        enforcement: get("enforcement")?
            .parse()
            .map_err(|e| format!("policy `{id}`: {e}"))?,
        remediation: get("remediation")?,
        description: p.annotation("description").unwrap_or_default().to_owned(),
        engine: EngineKind::Cedar,
        file: file.display().to_string(),
    })
}

/// The resource types an unscoped policy's conditions test for with `is` (`None` when they test
/// for none), read from the policy's JSON form.
fn tested_types(p: &cedar_policy::Policy) -> Option<std::collections::BTreeSet<String>> {
    fn walk(v: &serde_json::Value, out: &mut std::collections::BTreeSet<String>) {
        match v {
            serde_json::Value::Object(o) => {
                if let Some(t) = o
                    .get("is")
                    .and_then(|is| is.get("entity_type"))
                    .and_then(serde_json::Value::as_str)
                {
                    out.insert(t.rsplit("::").next().unwrap_or(t).to_owned());
                }
                o.values().for_each(|x| walk(x, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let json = p.to_json().ok()?;
    let mut out = std::collections::BTreeSet::new();
    walk(json.get("conditions")?, &mut out);
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_schema_is_valid_cedar() {
        let schema = Schema::from_json_value(schema_json(Registry::builtin()));
        assert!(schema.is_ok(), "{:?}", schema.err());
    }

    #[test]
    fn principals_parse_in_short_and_full_form() {
        assert_eq!(
            Principal::parse("ci:github").unwrap().to_string(),
            r#"Tollgate::CiIdentity::"github""#
        );
        assert_eq!(
            Principal::parse(r#"Tollgate::Team::"security""#)
                .unwrap()
                .to_string(),
            r#"Tollgate::Team::"security""#
        );
        assert!(Principal::parse(r#"Tollgate::Stack::"x""#).is_err());
        assert!(Principal::parse("ci:").is_err());
        assert!(Principal::parse("nobody").is_err());
    }

    /// The ladders of issue 11: each recursive construct of Cedar's grammar, 5,000 deep.
    pub(crate) fn ladders() -> Vec<(&'static str, String)> {
        let n = 5_000;
        let wrap = |cond: String| {
            format!("@id(\"deep\")\nforbid (principal, action, resource) when {{ {cond} }};\n")
        };
        vec![
            (
                "if-then-else chain",
                wrap(format!("{}true", "if true then true else ".repeat(n))),
            ),
            ("unary !", wrap(format!("{}true", "!".repeat(n)))),
            ("unary -", wrap(format!("{}1 == 1", "-".repeat(n)))),
            (
                "member access",
                wrap(format!("context{} == 1", ".a".repeat(n))),
            ),
            (
                "method calls",
                wrap(format!("context.s{}", ".contains(1)".repeat(n))),
            ),
            ("&& chain", wrap(vec!["true"; n].join(" && "))),
            (
                "+ chain",
                wrap(format!("{} == 1", vec!["1"; n].join(" + "))),
            ),
            (
                "if in brackets",
                wrap(format!(
                    "{}true{}",
                    "(if true then ".repeat(n),
                    " else true)".repeat(n)
                )),
            ),
        ]
    }

    #[test]
    fn fault_cedar_nested_deeply_every_recursive_construct_is_measured() {
        for (what, text) in ladders() {
            let depth = expression_nesting(&text);
            assert!(
                depth > MAX_CEDAR_EXPRESSION_NESTING,
                "{what}: measured {depth}"
            );
        }
        // Strings and comments do not count; separate expressions do not add up.
        assert_eq!(
            expression_nesting(r#"when { "!!!!.if.if" } // if if if"#),
            1
        );
        assert_eq!(expression_nesting("[a.b, c.d, e.f]"), 2);
        assert_eq!(expression_nesting("a.b; c.d; e.f;"), 1);
    }

    #[test]
    fn the_shipped_policies_are_far_below_the_nesting_bounds() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies/cedar");
        for f in cedar_files(&dir).unwrap() {
            let text = std::fs::read_to_string(&f).unwrap();
            let depth = expression_nesting(&text);
            assert!(
                depth * 4 < MAX_CEDAR_EXPRESSION_NESTING,
                "{}: {depth}",
                f.display()
            );
        }
    }

    fn many(n: usize, broken_last: bool) -> String {
        let mut text = String::new();
        for i in 0..n {
            let title = if broken_last && i + 1 == n {
                String::new()
            } else {
                format!("@title(\"t{i}\")\n")
            };
            text.push_str(&format!(
                "@id(\"p{i}\")\n{title}@family(\"encryption\")\n@severity(\"high\")\n\
                 @enforcement(\"advisory\")\n@remediation(\"r\")\nforbid (principal, action, \
                 resource is Tollgate::aws_s3_bucket) when {{ context.stack.environment == \"e{i}\" }};\n"
            ));
        }
        text
    }

    #[test]
    fn fault_cedar_bundles_of_many_policies_load_linearly() {
        // 20,000 policies in one file: finding each policy's place searched the file once per
        // comparison of the sort (quadratic: hours). Now one pass.
        const N: usize = 20_000;
        let source = |text: String| super::super::Source {
            path: "many.cedar".into(),
            text,
        };
        let bundle = CedarBundle::from_sources(
            Path::new("cedar"),
            &[source(many(N, false))],
            Registry::builtin(),
        )
        .unwrap();
        assert_eq!(bundle.policy_count(), N);
        assert_eq!(bundle.metas().count(), N);
        // Places are still found: the last policy's error names its line.
        let e = CedarBundle::from_sources(
            Path::new("cedar"),
            &[source(many(N, true))],
            Registry::builtin(),
        )
        .unwrap_err();
        assert!(e.message.contains("`p19999` has no @title"), "{e}");
        assert_eq!(e.position.map(|p| p.line), Some(7 * (N - 1) + 1), "{e}");
    }
}
