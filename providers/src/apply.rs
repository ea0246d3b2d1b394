//! `tollgate apply`: carries out a verified plan, in dependency order, with bounded concurrency.
//!
//! One loop owns the state and writes it after every step: an intent before each create (so a
//! crash between the service's answer and the write is resolved next time by looking the object
//! up instead of creating it again), and each outcome as soon as it is known. Provider calls run
//! as tasks; when one fails, everything that depends on it is skipped and the rest goes on. A stop
//! request (the first Ctrl-C) stops scheduling, lets the calls in flight finish, and saves.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::plan::{Action, Plan, PlannedChange, resource_document};
use crate::provider::{Desired, Handle, Live, Provider, ProviderError, ProviderSet};
use crate::state::{Backend, ResourceState, State, StateError, Status};

/// What happened to one planned change.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Outcome {
    Created,
    /// Found already created by an earlier, interrupted apply, and brought to the document.
    Adopted,
    Updated,
    Replaced,
    Deleted,
    /// An earlier run of this plan already did it.
    AlreadyDone,
    Failed {
        error: String,
    },
    /// Not attempted: something it depends on failed or was skipped.
    Skipped {
        because: String,
    },
    /// Not attempted: the apply was stopped first.
    NotStarted,
}

impl Outcome {
    pub fn is_failure(&self) -> bool {
        matches!(self, Outcome::Failed { .. } | Outcome::Skipped { .. })
    }
}

/// Every planned change with its outcome, in plan order.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ApplyReport {
    pub outcomes: Vec<(String, Action, Outcome)>,
    pub interrupted: bool,
    pub state_serial: u64,
}

impl ApplyReport {
    pub fn failed(&self) -> bool {
        self.outcomes.iter().any(|(_, _, o)| o.is_failure())
    }

    /// The summary for people.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for (address, action, outcome) in &self.outcomes {
            let (word, detail) = match outcome {
                Outcome::Created => ("created", String::new()),
                Outcome::Adopted => ("adopted", " (found from an interrupted apply)".to_owned()),
                Outcome::Updated => ("updated", String::new()),
                Outcome::Replaced => ("replaced", String::new()),
                Outcome::Deleted => ("deleted", String::new()),
                Outcome::AlreadyDone => ("already done", String::new()),
                Outcome::Failed { error } => ("FAILED", format!(": {error}")),
                Outcome::Skipped { because } => ("skipped", format!(" ({because})")),
                Outcome::NotStarted => ("not started", String::new()),
            };
            *counts.entry(word).or_default() += 1;
            out.push_str(&format!("  {address} [{action:?}]: {word}{detail}\n"));
        }
        let tally: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
        out.push_str(&format!(
            "\nApply {}: {}. State serial {}.\n",
            if self.interrupted {
                "interrupted"
            } else if self.failed() {
                "finished with failures"
            } else {
                "complete"
            },
            if tally.is_empty() {
                "nothing to do".to_owned()
            } else {
                tally.join(", ")
            },
            self.state_serial
        ));
        out
    }
}

/// How to apply.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Provider calls in flight at once.
    pub parallelism: usize,
}

/// A provider call's result.
struct Done {
    index: usize,
    result: Result<(Option<Handle>, Outcome), ProviderError>,
}

/// Applies `plan` (already verified by the caller) and records every step in `backend`.
pub async fn apply(
    plan: &Plan,
    providers: &ProviderSet,
    backend: &Backend,
    mut state: State,
    options: &ApplyOptions,
    mut stop: watch::Receiver<bool>,
) -> Result<ApplyReport, StateError> {
    let nodes: Vec<&PlannedChange> = plan.actions().collect();
    let index: HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.address.as_str(), i))
        .collect();
    let deps = dependencies(plan, &nodes, &index);
    let documents: HashMap<&str, &Value> = plan
        .stacks
        .iter()
        .map(|s| (s.id.as_str(), &s.document))
        .collect();

    let mut outcome: Vec<Option<Outcome>> = vec![None; nodes.len()];
    let mut running: BTreeSet<usize> = BTreeSet::new();
    let parallelism = options.parallelism.max(1);
    let mut tasks: JoinSet<Done> = JoinSet::new();
    let mut stopping = *stop.borrow();
    let mut first_save = true;

    loop {
        // Schedule everything whose dependencies are done.
        if !stopping {
            for i in 0..nodes.len() {
                // Only as many calls as may run at once are started (and have their intents
                // recorded): a stop request then leaves the rest not started.
                if running.len() >= parallelism {
                    break;
                }
                if outcome[i].is_some() || running.contains(&i) {
                    continue;
                }
                let mut blocked_by = None;
                let mut ready = true;
                for &d in &deps[i] {
                    match &outcome[d] {
                        None => ready = false,
                        Some(o) if o.is_failure() || *o == Outcome::NotStarted => {
                            blocked_by = Some(nodes[d].address.clone());
                        }
                        Some(_) => {}
                    }
                }
                if let Some(b) = blocked_by {
                    outcome[i] = Some(Outcome::Skipped {
                        because: format!("{b} did not succeed"),
                    });
                    continue;
                }
                if !ready {
                    continue;
                }
                let change = nodes[i];
                let prepared = prepare(change, &state, &documents, providers);
                match prepared {
                    Err(error) => outcome[i] = Some(Outcome::Failed { error }),
                    Ok(Step::Done) => outcome[i] = Some(Outcome::AlreadyDone),
                    Ok(Step::Call(call)) => {
                        if let Some(intent) = call.intent.clone() {
                            // The intent is durable before the service is asked to create.
                            state.resources.insert(change.address.clone(), intent);
                            save(backend, &mut state, plan, &mut first_save).await?;
                        }
                        running.insert(i);
                        tasks.spawn(async move {
                            Done {
                                index: i,
                                result: call.run().await,
                            }
                        });
                    }
                }
            }
        }
        if running.is_empty() {
            break;
        }
        tokio::select! {
            joined = tasks.join_next() => {
                let Some(joined) = joined else { break };
                let done = match joined {
                    Ok(done) => done,
                    Err(e) => {
                        // A panicking provider call: the node it ran is unknown here, so stop.
                        tracing::error!("a provider task failed: {e}");
                        stopping = true;
                        continue;
                    }
                };
                running.remove(&done.index);
                let change = nodes[done.index];
                match done.result {
                    Ok((handle, o)) => {
                        record(&mut state, change, handle, &documents);
                        save(backend, &mut state, plan, &mut first_save).await?;
                        outcome[done.index] = Some(o);
                    }
                    Err(e) => {
                        // A create the service refused outright (4xx) made nothing: its intent
                        // is dropped so the state holds only objects that may exist.
                        let refused = e.status().is_some_and(|s| (400..500).contains(&s));
                        let dangling = state
                            .resources
                            .get(&change.address)
                            .is_some_and(|r| r.status == Status::Creating && r.handle.is_none());
                        if refused && dangling {
                            state.resources.remove(&change.address);
                            save(backend, &mut state, plan, &mut first_save).await?;
                        }
                        outcome[done.index] = Some(Outcome::Failed { error: e.to_string() });
                    }
                }
            }
            changed = stop.changed(), if !stopping => {
                if changed.is_err() || *stop.borrow() {
                    stopping = true;
                    tracing::warn!("stopping: waiting for {} call(s) in flight", running.len());
                }
            }
        }
    }
    if stopping {
        // Tasks that never ran (stopped before they were scheduled).
        for o in outcome.iter_mut().filter(|o| o.is_none()) {
            *o = Some(Outcome::NotStarted);
        }
    }
    if first_save {
        // Nothing was written (everything already done or failed before a call): still record
        // that this plan ran, so a resumed run is recognised.
        save(backend, &mut state, plan, &mut first_save).await?;
    }
    Ok(ApplyReport {
        outcomes: nodes
            .iter()
            .zip(outcome)
            .map(|(c, o)| {
                (
                    c.address.clone(),
                    c.action,
                    o.unwrap_or(Outcome::NotStarted),
                )
            })
            .collect(),
        interrupted: stopping,
        state_serial: state.serial,
    })
}

async fn save(
    backend: &Backend,
    state: &mut State,
    plan: &Plan,
    first: &mut bool,
) -> Result<(), StateError> {
    state.serial += 1;
    state.last_plan = Some(plan.digest.clone());
    *first = false;
    backend.save(state).await
}

/// For each node, the nodes that must finish first: its own dependencies that are in the plan,
/// and every node of the stacks its stack depends on (creates and updates); for deletes, the
/// deletes of what depends on it.
fn dependencies(
    plan: &Plan,
    nodes: &[&PlannedChange],
    index: &HashMap<&str, usize>,
) -> Vec<Vec<usize>> {
    let stack_deps: HashMap<&str, &Vec<String>> = plan
        .stacks
        .iter()
        .map(|s| (s.id.as_str(), &s.depends_on))
        .collect();
    let mut by_stack: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, c) in nodes.iter().enumerate() {
        if c.action != Action::Delete {
            by_stack.entry(c.stack.as_str()).or_default().push(i);
        }
    }
    nodes
        .iter()
        .map(|c| {
            let mut d: BTreeSet<usize> = c
                .depends_on
                .iter()
                .filter_map(|a| index.get(a.as_str()).copied())
                .collect();
            if c.action != Action::Delete {
                for s in stack_deps
                    .get(c.stack.as_str())
                    .into_iter()
                    .flat_map(|v| v.iter())
                {
                    d.extend(by_stack.get(s.as_str()).into_iter().flatten().copied());
                }
            }
            d.into_iter().collect()
        })
        .collect()
}

/// What to do for a node, decided against the current state.
enum Step {
    Done,
    Call(Box<Call>),
}

/// One provider call, ready to run.
struct Call {
    provider: Arc<dyn crate::Provider>,
    action: Action,
    desired: Option<Desired>,
    handle: Option<Handle>,
    type_name: String,
    changed: Vec<String>,
    /// Look the object up before creating it (an earlier create may have succeeded unrecorded).
    look_first: bool,
    /// The state entry to write before the call.
    intent: Option<ResourceState>,
}

impl Call {
    async fn run(self) -> Result<(Option<Handle>, Outcome), ProviderError> {
        let p = &self.provider;
        match self.action {
            Action::Delete => {
                if let Some(h) = &self.handle {
                    p.delete(&self.type_name, h).await?;
                }
                Ok((None, Outcome::Deleted))
            }
            Action::Update => {
                let (Some(d), Some(h)) = (&self.desired, &self.handle) else {
                    return Err(invalid(&self.type_name, "update without a recorded object"));
                };
                Ok((Some(p.update(d, h, &self.changed).await?), Outcome::Updated))
            }
            Action::Create | Action::Replace => {
                let Some(d) = &self.desired else {
                    return Err(invalid(&self.type_name, "create without a document"));
                };
                let replacing = self.action == Action::Replace;
                if replacing && let Some(old) = &self.handle {
                    p.delete(&self.type_name, old).await?;
                }
                if self.look_first
                    && let Some(found) = p.find(d).await?
                {
                    // Bring whatever was found to the document: the earlier run may have
                    // stopped half-way through configuring it. Only what differs is changed
                    // (a property the service cannot change in place, such as a VPC's CIDR
                    // block, was set by the create and must not be named as changed).
                    let changed = match p.read(&self.type_name, &found).await? {
                        Some(live) => differing(p.as_ref(), d, &live),
                        None => {
                            let mut all: Vec<String> = d
                                .properties
                                .as_object()
                                .map(|m| m.keys().cloned().collect())
                                .unwrap_or_default();
                            all.push("tags".to_owned());
                            all
                        }
                    };
                    let h = if changed.is_empty() {
                        found
                    } else {
                        p.update(d, &found, &changed).await?
                    };
                    return Ok((Some(h), Outcome::Adopted));
                }
                let h = p.create(d).await?;
                Ok((
                    Some(h),
                    if replacing {
                        Outcome::Replaced
                    } else {
                        Outcome::Created
                    },
                ))
            }
            Action::NoOp | Action::ManagedElsewhere => {
                Err(invalid(&self.type_name, "nothing to do"))
            }
        }
    }
}

/// The desired top-level properties (and `tags`) that `live` does not match, write-only ones left
/// out (a read cannot return them).
fn differing(p: &dyn Provider, d: &Desired, live: &Live) -> Vec<String> {
    let mut want = d.properties.clone();
    p.normalize(&d.type_name, &mut want);
    let skip = p.write_only(&d.type_name);
    let empty = serde_json::Map::new();
    let have = live.properties.as_object().unwrap_or(&empty);
    let mut out: Vec<String> = want
        .as_object()
        .unwrap_or(&empty)
        .iter()
        .filter(|(k, v)| !skip.contains(&k.as_str()) && have.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .collect();
    if live.tags != d.tags {
        out.push("tags".to_owned());
    }
    out
}

fn invalid(resource: &str, message: &str) -> ProviderError {
    ProviderError::Invalid {
        resource: resource.to_owned(),
        message: message.to_owned(),
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn prepare(
    change: &PlannedChange,
    state: &State,
    documents: &HashMap<&str, &Value>,
    providers: &ProviderSet,
) -> Result<Step, String> {
    let provider = providers
        .get(&change.type_name)
        .ok_or_else(|| format!("no provider for {}", change.type_name))?;
    let recorded = state.resources.get(&change.address);
    let document = documents
        .get(change.stack.as_str())
        .and_then(|d| resource_document(d, &change.id));
    if change.action == Action::Delete {
        return Ok(match recorded {
            None => Step::Done,
            Some(r) => Step::Call(Box::new(Call {
                provider: Arc::clone(provider),
                action: Action::Delete,
                desired: None,
                handle: r.handle.clone(),
                type_name: change.type_name.clone(),
                changed: Vec::new(),
                look_first: false,
                intent: None,
            })),
        });
    }
    let document =
        document.ok_or_else(|| format!("{} is not in the plan's documents", change.address))?;
    if let Some(r) = recorded
        && r.status == Status::Applied
        && r.handle.is_some()
        && r.document == document
        && r.type_name == change.type_name
    {
        return Ok(Step::Done);
    }
    let desired = Desired {
        stack: change.stack.clone(),
        id: change.id.clone(),
        type_name: change.type_name.clone(),
        properties: resolve(
            document.get("properties").cloned().unwrap_or(Value::Null),
            &change.stack,
            state,
        )?,
        tags: crate::plan::tags_of(&document),
    };
    let interrupted_create = recorded.is_some_and(|r| r.status == Status::Creating);
    let (action, handle) = match (change.action, recorded) {
        // Planned as a create, but an object is recorded with another document (the state moved
        // since the plan, e.g. a resumed run): bring that object to the document.
        (Action::Create, Some(r)) if r.status == Status::Applied && r.handle.is_some() => {
            (Action::Update, r.handle.clone())
        }
        (Action::Update, Some(r)) if r.status == Status::Creating => (Action::Create, None),
        (Action::Update, None) => (Action::Create, None),
        (a, r) => (a, r.and_then(|r| r.handle.clone())),
    };
    let intent = matches!(action, Action::Create | Action::Replace).then(|| ResourceState {
        type_name: change.type_name.clone(),
        status: Status::Creating,
        handle: handle.clone(),
        document: document.clone(),
        depends_on: change.depends_on.clone(),
        updated_at: now(),
    });
    Ok(Step::Call(Box::new(Call {
        provider: Arc::clone(provider),
        action,
        desired: Some(desired),
        handle,
        type_name: change.type_name.clone(),
        changed: if change.changed.is_empty() {
            recorded
                .map(|r| crate::plan::changed_fields(&r.document, &document))
                .unwrap_or_default()
        } else {
            change.changed.clone()
        },
        look_first: interrupted_create || action == Action::Replace,
        intent,
    })))
}

/// Records a finished call.
fn record(
    state: &mut State,
    change: &PlannedChange,
    handle: Option<Handle>,
    documents: &HashMap<&str, &Value>,
) {
    if change.action == Action::Delete {
        state.resources.remove(&change.address);
        return;
    }
    let document = documents
        .get(change.stack.as_str())
        .and_then(|d| resource_document(d, &change.id))
        .unwrap_or(Value::Null);
    let handle = handle.or_else(|| {
        state
            .resources
            .get(&change.address)
            .and_then(|r| r.handle.clone())
    });
    state.resources.insert(
        change.address.clone(),
        ResourceState {
            type_name: change.type_name.clone(),
            status: Status::Applied,
            handle,
            document,
            depends_on: change.depends_on.clone(),
            updated_at: now(),
        },
    );
}

/// Replaces whole-string `${id}` / `${stack.id}` references with the referenced object's
/// recorded reference value.
pub fn resolve(value: Value, stack: &str, state: &State) -> Result<Value, String> {
    Ok(match value {
        Value::String(s) => match tollgate_engine::model::Reference::parse(&s, String::new) {
            Some(r) => {
                let address = format!("{}/{}", r.stack.as_deref().unwrap_or(stack), r.resource);
                let handle = state
                    .resources
                    .get(&address)
                    .filter(|e| e.status == Status::Applied)
                    .and_then(|e| e.handle.as_ref())
                    .ok_or_else(|| {
                        format!(
                            "`{s}` refers to {address}, which has not been provisioned by \
                                 Tollgate (it failed, is managed elsewhere, or is not in the state)"
                        )
                    })?;
                Value::String(handle.reference.clone())
            }
            None => Value::String(s),
        },
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|v| resolve(v, stack, state))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| Ok((k, resolve(v, stack, state)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other,
    })
}
