//! Parallel evaluation: stacks × resources × bundles, on rayon.
//!
//! Three phases. First each stack is prepared in parallel: its cost estimate, the values Rego sees
//! and the entities Cedar sees, built once. Then every work item — one resource, or one stack for
//! its stack-level rules — is evaluated in parallel against the Rego rules for its type and asked
//! of Cedar; estate-level rules run once over all stacks. Last, findings are sorted, so the
//! output never depends on thread timing. A rule that fails on one item becomes an error finding
//! for that item (failing closed) and the run goes on.
//!
//! A rule written in both languages (one id, a Rego rule and a Cedar policy) is one rule to the
//! user: where both halves fire on the same subject with the same outcome, the findings are
//! folded into one that names both engines ([`Finding::engines`]). Where one half reports a
//! violation and the other, able to judge the same subject, is silent, the disagreement is a
//! finding of its own ([`MIRROR_META_ID`], an error: one of the two halves is wrong).

use std::collections::BTreeMap;

use cedar_policy::Entities;
use rayon::prelude::*;
use regorus::Value;

use crate::cost::{self, StackCost};
use crate::finding::{
    Enforcement, EngineKind, Finding, Outcome, PolicyMeta, Scope, Severity, Subject,
};
use crate::model::{Change, Estate, Resource, Stack};
use crate::policy::cedar::{Action, CedarAnswer, ResourceFacts, StackFacts};
use crate::policy::{PolicyBundle, Principal};
use crate::registry::{PropType, Registry};

/// Who Cedar is asked about. Each resource is asked about the actions its change needs
/// (`create` for stack documents; a plan's create / update / delete, both for a replacement);
/// each stack about `stack_action`.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    pub principal: Principal,
    pub stack_action: Action,
    /// Evaluate only these stacks (ids); the rest are loaded for references and estate rules.
    pub only: Option<std::collections::BTreeSet<String>>,
}

/// The Cedar actions a change needs.
pub fn actions_for(change: Change) -> &'static [Action] {
    match change {
        Change::Create => &[Action::Create],
        Change::Update => &[Action::Update],
        Change::Replace => &[Action::Delete, Action::Create],
        Change::Delete => &[Action::Delete],
        Change::NoOp => &[],
    }
}

/// Everything the evaluation found, sorted.
#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    pub findings: Vec<Finding>,
    /// Each stack's cost estimate, in estate order.
    pub costs: Vec<StackCost>,
    /// `stack/resource` of resources no type-specific rule looked at, in either engine: only
    /// the generic rules (tagging, authorisation) judged them.
    pub not_evaluated: Vec<String>,
    /// How many rule evaluations ran (Rego rule × item, plus Cedar requests).
    pub evaluations: usize,
}

impl Prepared<'_> {
    /// `input.resources` for stack and estate rules: what exists after the change.
    pub(crate) fn remaining_docs(&self) -> Vec<Value> {
        self.stack
            .resources
            .iter()
            .zip(&self.docs)
            .filter(|(r, _)| r.change.remains())
            .map(|(_, d)| d.clone())
            .collect()
    }
}

/// A stack with what every engine needs, built once.
pub(crate) struct Prepared<'a> {
    pub(crate) stack: &'a Stack,
    file: String,
    cost: StackCost,
    /// `input.stack` for Rego.
    pub(crate) meta: Value,
    /// `input.resource` for Rego, per resource.
    pub(crate) docs: Vec<Value>,
    pub(crate) entities: Result<Entities, String>,
    /// Why a resource's (index) or, with `None`, the stack's derived facts could not be made.
    facts_errors: Vec<(Option<usize>, String)>,
}

const COST_META_ID: &str = "TG-COST-000";

/// Id of the built-in finding for a mirrored rule whose Rego and Cedar halves disagree.
pub const MIRROR_META_ID: &str = "TG-MIRROR-001";

/// The built-in rule for mirrored halves that disagree: a bug in the bundle, so it fails closed.
pub fn mirror_meta() -> &'static PolicyMeta {
    static META: std::sync::OnceLock<PolicyMeta> = std::sync::OnceLock::new();
    META.get_or_init(|| PolicyMeta {
        id: MIRROR_META_ID.into(),
        title: "The Rego and Cedar halves of a mirrored rule disagree".into(),
        family: "consistency".into(),
        severity: Severity::High,
        enforcement: Enforcement::HardMandatory,
        remediation: "Fix the half that is wrong (`tollgate explain --policy ID` shows what each engine saw), so both engines give the same answer; the fixture test checks they agree.".into(),
        description: "A rule written in Rego and in Cedar under one id must give one answer; when one half reports a violation and the other, judging the same subject, does not, one of them is wrong and the result cannot be trusted.".into(),
        engine: EngineKind::Tollgate,
        file: String::new(),
    })
}

/// Folds the findings of mirrored rules (see the module comment): one finding per problem with
/// both engines named, and a [`MIRROR_META_ID`] error where the halves disagree.
fn merge_mirrored(
    findings: Vec<Finding>,
    prepared: &[Prepared<'_>],
    bundle: &PolicyBundle,
    options: &EvalOptions,
) -> Vec<Finding> {
    use std::collections::BTreeSet;
    let cedar_ids: BTreeSet<&str> = bundle.cedar.metas().map(|m| m.id.as_str()).collect();
    let mirrored: BTreeMap<&str, &crate::policy::rego::RegoRule> = bundle
        .rego
        .rules()
        .iter()
        .filter(|r| cedar_ids.contains(r.meta.id.as_str()))
        .map(|r| (r.meta.id.as_str(), r))
        .collect();
    if mirrored.is_empty() {
        return findings;
    }
    type Key = (String, Option<String>, String);
    let mut groups: BTreeMap<Key, Vec<usize>> = BTreeMap::new();
    for (i, f) in findings.iter().enumerate() {
        let engine_half = matches!(f.engine, EngineKind::Rego | EngineKind::Cedar);
        if engine_half && mirrored.contains_key(f.policy.as_str()) {
            groups
                .entry((f.stack.clone(), f.resource.clone(), f.policy.clone()))
                .or_default()
                .push(i);
        }
    }
    let mut drop = vec![false; findings.len()];
    let mut findings = findings;
    let mut extra = Vec::new();
    for ((stack, resource, policy), members) in groups {
        let fired = |findings: &[Finding], engine: EngineKind, outcome: Outcome| {
            members
                .iter()
                .copied()
                .filter(|&i| findings[i].engine == engine && findings[i].outcome == outcome)
                .collect::<Vec<_>>()
        };
        for outcome in [Outcome::Violation, Outcome::Unknown] {
            let (rego, cedar) = (
                fired(&findings, EngineKind::Rego, outcome),
                fired(&findings, EngineKind::Cedar, outcome),
            );
            if rego.is_empty() || cedar.is_empty() {
                continue;
            }
            for &i in &rego {
                findings[i].engines = vec![EngineKind::Rego, EngineKind::Cedar];
            }
            for &i in &cedar {
                drop[i] = true;
            }
        }
        // A violation from one half only, where the other could judge the same subject.
        let says = |engine: EngineKind| members.iter().any(|&i| findings[i].engine == engine);
        let (rego_says, cedar_says) = (says(EngineKind::Rego), says(EngineKind::Cedar));
        if rego_says == cedar_says {
            continue;
        }
        let lone = members
            .iter()
            .copied()
            .find(|&i| findings[i].outcome == Outcome::Violation);
        let Some(lone) = lone else {
            continue; // an error, or an unknown Cedar cannot see: not a disagreement
        };
        let Some(rule) = mirrored.get(policy.as_str()) else {
            continue;
        };
        let Some(p) = prepared.iter().find(|p| p.stack.id == stack) else {
            continue;
        };
        if !both_judge(rule, p, resource.as_deref(), bundle, options) {
            continue;
        }
        let f = &findings[lone];
        let (said, silent) = if rego_says {
            ("rego", "cedar")
        } else {
            ("cedar", "rego")
        };
        let at = Subject {
            stack: &f.stack,
            resource: f.resource.as_deref(),
            resource_type: f.resource_type.as_deref(),
            file: &f.file,
            line: f.line,
        };
        extra.push(Finding::new(
            mirror_meta(),
            &at,
            Outcome::Error,
            format!(
                "{policy}: {said} reports a violation here and {silent} does not (\"{}\"); mirrored rules must agree, so one of them is wrong",
                f.message
            ),
        ));
    }
    findings
        .into_iter()
        .zip(drop)
        .filter_map(|(f, d)| (!d).then_some(f))
        .chain(extra)
        .collect()
}

/// Whether both halves of mirrored `rule` judge this subject: the Rego rule applies to it, the
/// Cedar policy is scoped to it, Cedar could build its entities, and the change is a create (a
/// Cedar guardrail may be written for some actions only).
fn both_judge(
    rule: &crate::policy::rego::RegoRule,
    p: &Prepared<'_>,
    resource: Option<&str>,
    bundle: &PolicyBundle,
    options: &EvalOptions,
) -> bool {
    if p.entities.is_err() {
        return false;
    }
    let cedar_scope = bundle.cedar.scope_type(&rule.meta.id);
    match resource {
        None => {
            rule.scope == Scope::Stack
                && cedar_scope == Some("Stack")
                && options.stack_action == Action::Create
        }
        Some(id) => {
            let Some(r) = p.stack.resources.iter().find(|r| r.id == id) else {
                return false;
            };
            rule.scope == Scope::Resource
                && r.change == Change::Create
                && rule
                    .resource_types
                    .as_ref()
                    .is_none_or(|t| t.contains(&r.type_name))
                && bundle.cedar.judges(&rule.meta.id, &r.type_name)
        }
    }
}

/// The built-in rule for a resource whose cost cannot be estimated.
pub fn cost_meta() -> &'static PolicyMeta {
    static META: std::sync::OnceLock<PolicyMeta> = std::sync::OnceLock::new();
    META.get_or_init(|| PolicyMeta {
        id: COST_META_ID.into(),
        title: "Monthly cost could not be estimated".into(),
        family: "budget".into(),
        severity: Severity::Medium,
        enforcement: Enforcement::HardMandatory,
        remediation: "Set the attribute the price depends on, add the price to the catalogue in policies/data/, or give the resource's usage.".into(),
        description: "A resource whose cost cannot be estimated would let a budget check pass by omission.".into(),
        engine: EngineKind::Tollgate,
        file: "engine/registry/types.json".into(),
    })
}

/// Evaluates every stack of `estate` against `bundle`.
pub fn evaluate(
    estate: &Estate,
    bundle: &PolicyBundle,
    registry: &Registry,
    options: &EvalOptions,
) -> Evaluation {
    // The run's wall-clock bound starts now (issue 11: a slow rule × many resources).
    bundle.rego.start_run();
    let span = tracing::info_span!("prepare", stacks = estate.stacks.len()).entered();
    let prepared: Vec<Prepared<'_>> = estate
        .stacks
        .par_iter()
        .map(|s| prepare(s, bundle, registry, options))
        .collect();

    // Work items: every resource, and every stack once for its stack-level rules.
    drop(span);
    let selected = |id: &str| options.only.as_ref().is_none_or(|only| only.contains(id));
    let items: Vec<(usize, Option<usize>)> = prepared
        .iter()
        .enumerate()
        .filter(|(_, p)| selected(&p.stack.id))
        .flat_map(|(si, p)| {
            std::iter::once((si, None))
                .chain((0..p.stack.resources.len()).map(move |ri| (si, Some(ri))))
        })
        .collect();
    let span = tracing::info_span!("evaluate", items = items.len()).entered();
    let per_item: Vec<(Vec<Finding>, usize, bool)> = items
        .par_iter()
        .with_min_len(64)
        .map(|&(si, ri)| match ri {
            Some(ri) => eval_resource(&prepared[si], ri, bundle, registry, options),
            None => eval_stack(&prepared[si], bundle, options),
        })
        .collect();

    let mut out = Evaluation::default();
    for (&(si, ri), (findings, n, had_rules)) in items.iter().zip(per_item) {
        out.findings.extend(findings);
        out.evaluations += n;
        if let (Some(ri), false) = (ri, had_rules) {
            let p = &prepared[si];
            out.not_evaluated
                .push(format!("{}/{}", p.stack.id, p.stack.resources[ri].id));
        }
    }
    drop(span);
    let span = tracing::info_span!("estate_rules").entered();
    let (estate_findings, n) = eval_estate(&prepared, bundle);
    drop(span);
    out.findings
        .extend(estate_findings.into_iter().filter(|f| selected(&f.stack)));
    out.evaluations += n;
    out.findings = merge_mirrored(
        std::mem::take(&mut out.findings),
        &prepared,
        bundle,
        options,
    );
    for s in &estate.stacks {
        // A setting that was not mapped leaves its resource judged on the rest.
        out.not_evaluated.extend(
            s.unmodelled
                .iter()
                .filter(|u| u.attribute.is_none())
                .map(|u| format!("{}/{u}", s.id)),
        );
        if selected(&s.id) {
            let file = s.source.file.display().to_string();
            out.findings
                .extend(crate::coverage::unmodelled_findings(s, &file));
        }
    }
    out.findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    out.not_evaluated.sort();
    out.costs = prepared.into_iter().map(|p| p.cost).collect();
    out
}

pub(crate) fn prepare<'a>(
    stack: &'a Stack,
    bundle: &PolicyBundle,
    registry: &Registry,
    options: &EvalOptions,
) -> Prepared<'a> {
    let cost = match bundle.prices.get(&stack.region) {
        Some(prices) => cost::estimate_stack(stack, registry, prices),
        // No catalogue for the region: the stack's cost is not estimated (said once, for the
        // stack), not an error on every priced resource; the budget rules that need the
        // estimate fail on their own.
        None => StackCost {
            not_estimated: Some(if stack.region.is_empty() {
                "its region is unknown (give it with --region or a tollgate.toml)".to_owned()
            } else {
                format!(
                    "no price catalogue for region `{}` in {}",
                    stack.region,
                    bundle.dir.join("data").display()
                )
            }),
            ..StackCost::default()
        },
    };
    let cost_usd = (cost.monthly_usd * 100.0).round() / 100.0;
    let mut meta = BTreeMap::new();
    let mut put = |k: &str, v: Value| {
        meta.insert(Value::from(k), v);
    };
    put("id", Value::from(stack.id.as_str()));
    put("repository", Value::from(stack.repository.as_str()));
    put("environment", Value::from(stack.environment.as_str()));
    put("region", Value::from(stack.region.as_str()));
    put("account", Value::from(stack.account.as_str()));
    put("owner", Value::from(stack.owner.as_str()));
    put(
        "depends_on",
        Value::from(
            stack
                .depends_on
                .iter()
                .map(|d| Value::from(d.as_str()))
                .collect::<Vec<_>>(),
        ),
    );
    put(
        "budget",
        match &stack.budget {
            Some(b) => {
                let mut m = BTreeMap::new();
                m.insert(
                    Value::from("monthly_limit_usd"),
                    Value::from(b.monthly_limit_usd),
                );
                m.insert(
                    Value::from("alert_thresholds_pct"),
                    Value::from(
                        b.alert_thresholds_pct
                            .iter()
                            .map(|t| Value::from(*t))
                            .collect::<Vec<_>>(),
                    ),
                );
                Value::from(m)
            }
            None => Value::Null,
        },
    );
    put("estimated_monthly_cost_usd", Value::from(cost_usd));
    put(
        "cost_complete",
        Value::from(cost.errors.is_empty() && cost.not_estimated.is_none()),
    );
    put("cost_estimated", Value::from(cost.not_estimated.is_none()));
    put("resource_count", Value::from(stack.resources.len() as u64));
    let meta = Value::from(meta);

    let docs: Vec<Value> = stack
        .resources
        .par_iter()
        .map(|r| resource_doc(r, registry.get(&r.type_name).is_some_and(|t| t.taggable)))
        .collect();
    let (stack_derived, resource_derived, facts_errors) =
        derive_facts(stack, &meta, &docs, bundle, registry);
    // Cedar sees the same cents-rounded estimate as Rego, so both round up alike.
    let facts = StackFacts {
        estimated_monthly_cost_usd: cost_usd,
        facts: stack_derived.as_ref(),
        ..stack_facts(stack, &cost)
    };
    let resources: Vec<ResourceFacts<'_>> = stack.resources.iter().map(resource_facts).collect();
    let entities = bundle.cedar.stack_entities(
        &options.principal,
        &facts,
        &resources,
        &resource_derived,
        registry,
    );
    Prepared {
        stack,
        file: stack.source.file.display().to_string(),
        cost,
        meta,
        docs,
        entities,
        facts_errors,
    }
}

/// The derived facts of a stack and of each of its resources whose type has facts (see
/// [`crate::policy::facts`]), each checked against its declared shape; and why any could not be
/// derived. Nothing when the bundle has no facts package.
#[allow(clippy::type_complexity)]
fn derive_facts(
    stack: &Stack,
    meta: &Value,
    docs: &[Value],
    bundle: &PolicyBundle,
    registry: &Registry,
) -> (
    Option<Value>,
    Vec<Option<Value>>,
    Vec<(Option<usize>, String)>,
) {
    use crate::policy::facts::{self, FactShapes};
    if !bundle.rego.derives_facts() {
        return (None, vec![None; docs.len()], Vec::new());
    }
    let shapes = FactShapes::builtin();
    let derive = |input: Value, rule: &str, shape: &BTreeMap<String, PropType>| {
        bundle
            .rego
            .eval_facts(rule, input)
            .and_then(|v| facts::check(&v, shape).map(|()| v))
            .map_err(|e| format!("deriving facts ({}.{rule}): {e}", facts::PACKAGE))
    };
    let mut errors = Vec::new();
    let stack_facts = derive(object1("stack", meta.clone()), "stack", shapes.stack())
        .map_err(|e| errors.push((None, e)))
        .ok();
    // Independent per resource: derived in parallel (one stack may hold most of a large plan).
    let results: Vec<Result<Option<Value>, String>> = stack
        .resources
        .par_iter()
        .zip(docs)
        .with_min_len(64)
        .map(|(r, doc)| {
            let Some(shape) = registry.get(&r.type_name).and_then(|t| shapes.for_type(t)) else {
                return Ok(None);
            };
            if !r.change.remains() {
                return Ok(None);
            }
            let input = object([("resource", doc.clone()), ("stack", meta.clone())]);
            derive(input, "resource", &shape).map(Some)
        })
        .collect();
    let resource_facts = results
        .into_iter()
        .enumerate()
        .map(|(i, r)| r.map_err(|e| errors.push((Some(i), e))).ok().flatten())
        .collect();
    (stack_facts, resource_facts, errors)
}

fn object1(key: &str, v: Value) -> Value {
    let mut m = BTreeMap::new();
    m.insert(Value::from(key), v);
    Value::from(m)
}

/// The resource as Rego sees it in `input.resource`.
pub fn resource_doc(r: &Resource, taggable: bool) -> Value {
    let mut m = BTreeMap::new();
    m.insert(Value::from("id"), Value::from(r.id.as_str()));
    m.insert(Value::from("type"), Value::from(r.type_name.as_str()));
    m.insert(Value::from("taggable"), Value::from(taggable));
    m.insert(Value::from("properties"), r.properties.clone());
    let tags: BTreeMap<Value, Value> = r
        .tags
        .iter()
        .map(|(k, v)| (Value::from(k.as_str()), Value::from(v.as_str())))
        .collect();
    m.insert(Value::from("tags"), Value::from(tags));
    m.insert(
        Value::from("depends_on"),
        Value::from(
            r.depends_on
                .iter()
                .map(|d| Value::from(d.as_str()))
                .collect::<Vec<_>>(),
        ),
    );
    m.insert(Value::from("usage"), r.usage.clone());
    Value::from(m)
}

fn stack_facts<'a>(stack: &'a Stack, cost: &StackCost) -> StackFacts<'a> {
    StackFacts {
        id: &stack.id,
        repository: &stack.repository,
        environment: &stack.environment,
        region: &stack.region,
        account: &stack.account,
        owner: &stack.owner,
        monthly_limit_usd: stack.budget.as_ref().map(|b| b.monthly_limit_usd),
        alert_thresholds: stack
            .budget
            .as_ref()
            .map(|b| b.alert_thresholds_pct.as_slice())
            .unwrap_or_default(),
        estimated_monthly_cost_usd: cost.monthly_usd,
        cost_complete: cost.errors.is_empty() && cost.not_estimated.is_none(),
        cost_estimated: cost.not_estimated.is_none(),
        facts: None,
    }
}

pub(crate) fn resource_facts(r: &Resource) -> ResourceFacts<'_> {
    ResourceFacts {
        id: &r.id,
        type_name: &r.type_name,
        properties: &r.properties,
        tags: &r.tags,
    }
}

pub(crate) fn object(pairs: [(&str, Value); 2]) -> Value {
    Value::from(
        pairs
            .into_iter()
            .map(|(k, v)| (Value::from(k), v))
            .collect::<BTreeMap<_, _>>(),
    )
}

fn eval_resource(
    p: &Prepared<'_>,
    ri: usize,
    bundle: &PolicyBundle,
    registry: &Registry,
    options: &EvalOptions,
) -> (Vec<Finding>, usize, bool) {
    let r = &p.stack.resources[ri];
    let at = Subject {
        stack: &p.stack.id,
        resource: Some(&r.id),
        resource_type: Some(&r.type_name),
        file: &p.file,
        line: Some(r.position.line),
    };
    let mut findings = Vec::new();
    let mut n = 0;
    let had_rules = bundle.rego.has_rules_for_type(&r.type_name)
        || bundle.cedar.has_rules_for_type(&r.type_name);
    // A resource being deleted has no settings left to judge; Cedar still judges the deletion.
    let rego_rules = r
        .change
        .remains()
        .then(|| bundle.rego.rules_for_type(&r.type_name))
        .into_iter()
        .flatten();
    for rule in rego_rules {
        n += 1;
        let input = object([("resource", p.docs[ri].clone()), ("stack", p.meta.clone())]);
        rego_rule_findings(bundle, rule, input, &at, Scope::Resource, p, &mut findings);
    }
    if !had_rules && r.change.remains() {
        findings.extend(crate::coverage::unjudged_finding(r, registry, &at));
    }
    for (_, why) in p.facts_errors.iter().filter(|(i, _)| *i == Some(ri)) {
        cedar_findings(
            vec![CedarAnswer::Error {
                meta: cedar_error_meta(),
                message: why.clone(),
            }],
            &at,
            &mut findings,
        );
    }
    let taggable = registry.get(&r.type_name).is_some_and(|t| t.taggable);
    let actions = actions_for(r.change);
    n += actions.len();
    match &p.entities {
        Ok(entities) => {
            let facts = resource_facts(r);
            for &action in actions {
                let answers = bundle.cedar.ask(
                    &options.principal,
                    action,
                    &p.stack.id,
                    Some((&facts, taggable)),
                    entities,
                );
                cedar_findings(answers, &at, &mut findings);
            }
        }
        Err(_) if actions.is_empty() => {}
        Err(e) => cedar_findings(
            vec![CedarAnswer::Error {
                meta: cedar_error_meta(),
                message: format!("building Cedar entities: {e}"),
            }],
            &at,
            &mut findings,
        ),
    }
    (findings, n, had_rules)
}

fn cedar_error_meta() -> crate::finding::MetaRef {
    std::sync::Arc::new(PolicyMeta {
        id: "TG-CEDAR-ERROR".into(),
        title: "Cedar evaluation error".into(),
        family: "access".into(),
        severity: Severity::High,
        enforcement: Enforcement::HardMandatory,
        remediation: "Fix the input so Cedar can evaluate it.".into(),
        description: String::new(),
        engine: EngineKind::Cedar,
        file: String::new(),
    })
}

fn eval_stack(
    p: &Prepared<'_>,
    bundle: &PolicyBundle,
    options: &EvalOptions,
) -> (Vec<Finding>, usize, bool) {
    let at = Subject {
        stack: &p.stack.id,
        resource: None,
        resource_type: None,
        file: &p.file,
        line: Some(p.stack.source.position.line),
    };
    let mut findings = Vec::new();
    let mut n = 0;
    let mut rules = bundle.rego.rules_at(Scope::Stack).peekable();
    if rules.peek().is_some() {
        let input = object([
            ("stack", p.meta.clone()),
            ("resources", Value::from(p.remaining_docs())),
        ]);
        for rule in rules {
            n += 1;
            rego_rule_findings(
                bundle,
                rule,
                input.clone(),
                &at,
                Scope::Stack,
                p,
                &mut findings,
            );
        }
    }
    n += 1;
    for (_, why) in p.facts_errors.iter().filter(|(i, _)| i.is_none()) {
        cedar_findings(
            vec![CedarAnswer::Error {
                meta: cedar_error_meta(),
                message: why.clone(),
            }],
            &at,
            &mut findings,
        );
    }
    if let Ok(entities) = &p.entities {
        let answers = bundle.cedar.ask(
            &options.principal,
            options.stack_action,
            &p.stack.id,
            None,
            entities,
        );
        cedar_findings(answers, &at, &mut findings);
    }
    let meta = cost_meta();
    for (ri, why) in &p.cost.errors {
        let r = &p.stack.resources[*ri];
        let at = Subject {
            resource: Some(&r.id),
            resource_type: Some(&r.type_name),
            line: Some(r.position.line),
            ..at
        };
        findings.push(Finding::new(meta, &at, Outcome::Error, why.clone()));
    }
    (findings, n, true)
}

fn eval_estate(prepared: &[Prepared<'_>], bundle: &PolicyBundle) -> (Vec<Finding>, usize) {
    let rules: Vec<usize> = bundle.rego.rules_at(Scope::Estate).collect();
    if rules.is_empty() || prepared.is_empty() {
        return (Vec::new(), 0);
    }
    let stacks: Vec<Value> = prepared
        .iter()
        .map(|p| {
            object([
                ("stack", p.meta.clone()),
                ("resources", Value::from(p.remaining_docs())),
            ])
        })
        .collect();
    let mut m = BTreeMap::new();
    m.insert(Value::from("stacks"), Value::from(stacks));
    let input = Value::from(m);
    let per_rule: Vec<Vec<Finding>> = rules
        .par_iter()
        .map(|&rule| {
            let meta = &bundle.rego.rules()[rule].meta;
            let mut findings = Vec::new();
            let results =
                std::iter::once((Outcome::Violation, bundle.rego.eval(rule, input.clone()))).chain(
                    bundle
                        .rego
                        .eval_unknown(rule, input.clone())
                        .map(|r| (Outcome::Unknown, r)),
                );
            for (outcome, result) in results {
                match result {
                    Ok(v) => {
                        for item in deny_items(&v) {
                            let (msg, stack, resource) = match item {
                                Ok(d) => d,
                                Err(e) => {
                                    findings.push(estate_finding(
                                        meta,
                                        prepared,
                                        None,
                                        None,
                                        Outcome::Error,
                                        e,
                                    ));
                                    continue;
                                }
                            };
                            findings.push(estate_finding(
                                meta,
                                prepared,
                                stack.as_deref(),
                                resource.as_deref(),
                                outcome,
                                outcome_message(outcome, msg),
                            ));
                        }
                    }
                    Err(e) => findings.push(estate_finding(
                        meta,
                        prepared,
                        None,
                        None,
                        Outcome::Error,
                        format!("policy evaluation failed: {e}"),
                    )),
                }
            }
            findings
        })
        .collect();
    (per_rule.into_iter().flatten().collect(), rules.len())
}

fn estate_finding(
    meta: &PolicyMeta,
    prepared: &[Prepared<'_>],
    stack: Option<&str>,
    resource: Option<&str>,
    outcome: Outcome,
    message: String,
) -> Finding {
    // A finding about no particular stack is filed under the first stack in the estate.
    let p = stack
        .and_then(|s| prepared.iter().find(|p| p.stack.id == s))
        .unwrap_or(&prepared[0]);
    let r = resource.and_then(|id| p.stack.resources.iter().find(|r| r.id == id));
    let at = Subject {
        stack: &p.stack.id,
        resource: r.map(|r| r.id.as_str()),
        resource_type: r.map(|r| r.type_name.as_str()),
        file: &p.file,
        line: Some(r.map_or(p.stack.source.position.line, |r| r.position.line)),
    };
    Finding::new(meta, &at, outcome, message)
}

/// Items of a `deny` set: `(message, stack, resource)`, or an error for a malformed item.
type DenyItem = Result<(String, Option<String>, Option<String>), String>;

fn deny_items(v: &Value) -> Vec<DenyItem> {
    let items: Vec<&Value> = match v {
        Value::Undefined => return Vec::new(),
        Value::Set(s) => s.iter().collect(),
        Value::Array(a) => a.iter().collect(),
        other => {
            return vec![Err(format!(
                "`deny` must be a set of messages, got {}",
                crate::registry::kind(other)
            ))];
        }
    };
    items
        .into_iter()
        .map(|item| match item {
            Value::String(s) => Ok((s.to_string(), None, None)),
            Value::Object(_) => {
                let text = |k: &str| match &item[k] {
                    Value::String(s) => Some(s.to_string()),
                    _ => None,
                };
                match text("msg") {
                    Some(msg) => Ok((msg, text("stack"), text("resource"))),
                    None => Err("a `deny` object needs a string `msg`".to_owned()),
                }
            }
            other => Err(format!(
                "a `deny` item must be a string or an object with `msg`, got {}",
                crate::registry::kind(other)
            )),
        })
        .collect()
}

/// A `deny` item's message as its finding says it: an `unknown` item also says why it could not
/// be judged.
fn outcome_message(outcome: Outcome, msg: String) -> String {
    match outcome {
        Outcome::Unknown => Finding::unknown_message(&msg),
        _ => msg,
    }
}

/// Rule `rule`'s findings on `input`: its `deny` items as violations, then its `unknown` items
/// (when it declares `unknown`) as unknowns.
fn rego_rule_findings(
    bundle: &PolicyBundle,
    rule: usize,
    input: Value,
    at: &Subject<'_>,
    scope: Scope,
    p: &Prepared<'_>,
    out: &mut Vec<Finding>,
) {
    let meta = &bundle.rego.rules()[rule].meta;
    if let Some(result) = bundle.rego.eval_unknown(rule, input.clone()) {
        rego_findings(result, Outcome::Unknown, meta, at, scope, p, out);
    }
    rego_findings(
        bundle.rego.eval(rule, input),
        Outcome::Violation,
        meta,
        at,
        scope,
        p,
        out,
    );
}

fn rego_findings(
    result: Result<Value, String>,
    outcome: Outcome,
    meta: &PolicyMeta,
    at: &Subject<'_>,
    scope: Scope,
    p: &Prepared<'_>,
    out: &mut Vec<Finding>,
) {
    match result {
        Err(e) => out.push(Finding::new(
            meta,
            at,
            Outcome::Error,
            format!("policy evaluation failed: {e}"),
        )),
        Ok(v) => {
            for item in deny_items(&v) {
                match item {
                    Err(e) => out.push(Finding::new(meta, at, Outcome::Error, e)),
                    Ok((msg, _, resource)) => {
                        // A stack rule may point at one of the stack's resources.
                        let r = match (scope, resource) {
                            (Scope::Stack, Some(id)) => {
                                p.stack.resources.iter().find(|r| r.id == id)
                            }
                            _ => None,
                        };
                        let at = match r {
                            Some(r) => Subject {
                                resource: Some(&r.id),
                                resource_type: Some(&r.type_name),
                                line: Some(r.position.line),
                                ..*at
                            },
                            None => *at,
                        };
                        out.push(Finding::new(
                            meta,
                            &at,
                            outcome,
                            outcome_message(outcome, msg),
                        ));
                    }
                }
            }
        }
    }
}

fn cedar_findings(answers: Vec<CedarAnswer>, at: &Subject<'_>, out: &mut Vec<Finding>) {
    for a in answers {
        let (meta, outcome, message) = match a {
            CedarAnswer::Forbidden { meta, message } => (meta, Outcome::Violation, message),
            CedarAnswer::NotPermitted { meta, message } => (meta, Outcome::Violation, message),
            CedarAnswer::Error { meta, message } => (meta, Outcome::Error, message),
            CedarAnswer::Unknown { meta, message } => {
                (meta, Outcome::Unknown, Finding::unknown_message(&message))
            }
        };
        out.push(Finding::new(&meta, at, outcome, message));
    }
}
