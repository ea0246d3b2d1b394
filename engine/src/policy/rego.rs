//! Rego rules, evaluated with regorus.
//!
//! A rule is a package that declares `metadata` (id, title, family, severity, enforcement,
//! remediation, scope, resource_types) and `deny`, a set of messages (strings, or objects with a
//! `msg` and, for stack and estate rules, the `resource` or `stack` they point at). Beside `deny` a
//! rule may declare `unknown`, a set of messages of the same shape for what it cannot judge
//! because a value is only known at apply (`(known after apply)`, `(sensitive value)`): each
//! becomes an `unknown` finding, failing like a violation. Packages that
//! declare neither are helper libraries. Files ending in `_test.rego` are policy tests and are not
//! loaded for evaluation. JSON files under the bundle's `data/` folder are visible as
//! `data.config.<file stem>` (dashes become underscores).
//!
//! The bundle is compiled once. Each worker thread keeps its own engine (a clone of the compiled
//! one, or a RegoVM running the compiled program) and reuses it for every resource it is handed.
//! Evaluation errors stay errors: they become error findings, never "allowed".

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use regorus::rvm::program::Program;
use regorus::rvm::vm::RegoVM;
use regorus::{Engine, Value};
use thread_local::ThreadLocal;

use super::bounds::RunClock;
use super::{PolicyError, Source};
use crate::finding::{EngineKind, MetaRef, PolicyMeta, Scope};
use crate::json;
use crate::registry::Registry;

/// Per-evaluation time limit (regorus's cooperative timer).
pub(crate) const EVAL_TIME_LIMIT: Duration = Duration::from_secs(5);

/// Work units between two clock reads of that timer: reading the clock on every unit cost a few
/// percent of the whole run.
// A constant: `expect` runs at compile time, so it can never panic at run time.
#[allow(clippy::expect_used)]
pub(crate) const TIMER_CHECK_INTERVAL: NonZeroU32 = NonZeroU32::new(256).expect("non-zero");

/// Per-evaluation instruction budget for the Rego VM. Estate rules walk every resource of every
/// stack, so the VM's small default is far too low; the time limit is the real bound.
const VM_MAX_INSTRUCTIONS: usize = 2_000_000_000;

/// How Rego is executed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RegoMode {
    /// regorus's tree-walking interpreter. The default: a runtime error in a rule body (a failing
    /// builtin, a type error, division by zero) comes back as an error, so the rule fails closed.
    #[default]
    Interpreter,
    /// regorus's compiled mode: the bundle compiled to a program for the Rego VM. Measured here,
    /// regorus 0.14's VM turns such runtime errors into "undefined" even with strict builtin
    /// errors on — the rule then reads as passing (fails open) — so it is opt-in, for comparison.
    Vm,
}

/// A loaded rule.
#[derive(Debug, Clone)]
pub struct RegoRule {
    pub meta: MetaRef,
    pub scope: Scope,
    /// `None` applies to every type.
    pub resource_types: Option<BTreeSet<String>>,
    /// The rule's `deny` path, e.g. `data.tollgate.encryption.s3_kms.deny`.
    pub deny_path: String,
    /// The rule's `unknown` path when the package declares one.
    pub unknown_path: Option<String>,
}

/// A compiled Rego bundle.
pub struct RegoBundle {
    rules: Vec<RegoRule>,
    /// Resource-scope rules per type name; rules for every type are in `any_type`.
    by_type: HashMap<String, Vec<usize>>,
    any_type: Vec<usize>,
    engine: Engine,
    program: Option<Arc<Program>>,
    data: Value,
    mode: RegoMode,
    /// Whether the bundle has the package that derives Cedar's facts (`super::facts::PACKAGE`).
    derives_facts: bool,
    interpreters: ThreadLocal<RefCell<Engine>>,
    vms: ThreadLocal<RefCell<RegoVM>>,
    /// The wall-clock bound on a whole run (see [`super::bounds`]).
    clock: RunClock,
}

impl std::fmt::Debug for RegoBundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegoBundle")
            .field("rules", &self.rules.len())
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// Finds `*.rego` files under `dir`, sorted; `tests` selects `_test.rego` files instead.
pub fn rego_files(dir: &Path, tests: bool) -> Result<Vec<PathBuf>, PolicyError> {
    super::files_under(dir, |p| {
        let is_test = p
            .file_name()
            .is_some_and(|n| n.to_string_lossy().ends_with("_test.rego"));
        p.extension().is_some_and(|x| x == "rego") && is_test == tests
    })
}

/// Reads the bundle's data folder into one object: `{"config": {stem: content}}`.
pub fn load_data(dir: &Path) -> Result<Value, PolicyError> {
    if !dir.is_dir() {
        return data_from_sources(&[]);
    }
    // The data folder is not searched recursively: its files become `data.config.<stem>`.
    let files: Vec<PathBuf> = super::files_under(dir, |p| {
        p.parent() == Some(dir) && p.extension().is_some_and(|x| x == "json")
    })?;
    data_from_sources(&super::files::read_sources(&files)?)
}

/// Builds the data document from the data files' texts: `{"config": {stem: content}}`, where
/// the stem is the file name without `.json`, dashes made underscores.
pub fn data_from_sources(sources: &[Source]) -> Result<Value, PolicyError> {
    let mut config = BTreeMap::new();
    for f in sources {
        let v = json::parse_strict(&f.text).map_err(|e| PolicyError::from_json(&f.path, e))?;
        let stem = f
            .path
            .file_stem()
            .map(|s| s.to_string_lossy().replace('-', "_"))
            .unwrap_or_default();
        config.insert(Value::from(stem), v);
    }
    let mut root = BTreeMap::new();
    root.insert(Value::from("config"), Value::from(config));
    Ok(Value::from(root))
}

impl RegoBundle {
    /// Loads, parses and compiles every rule under `dir`, with `data` as the data document.
    /// Nothing is evaluated from a bundle that did not load whole.
    pub fn load(
        dir: &Path,
        data: Value,
        registry: &Registry,
        mode: RegoMode,
    ) -> Result<Self, PolicyError> {
        let sources = super::files::read_sources(&rego_files(dir, false)?)?;
        Self::from_sources(dir, &sources, data, registry, mode)
    }

    /// Parses and compiles `sources` (Rego modules, in order), with `data` as the data document.
    /// `dir` names the bundle's Rego folder in messages about the whole set.
    pub fn from_sources(
        dir: &Path,
        sources: &[Source],
        data: Value,
        registry: &Registry,
        mode: RegoMode,
    ) -> Result<Self, PolicyError> {
        let mut engine = Engine::new();
        engine.set_rego_v0(false);
        // OPA's default turns a failing builtin into "undefined", which reads as "no violation";
        // a rule that cannot be evaluated must fail closed instead.
        engine.set_strict_builtin_errors(true);
        super::bounds::guard_builtins(&mut engine)
            .map_err(|e| PolicyError::new(dir, format!("bounded builtins: {e}")))?;
        let mut modules = Vec::with_capacity(sources.len());
        for source in sources {
            let f = &source.path;
            let name = f.display().to_string();
            let package = engine
                .add_policy(name.clone(), source.text.clone())
                .map_err(|e| PolicyError::new(f, e.to_string()))?;
            modules.push((f.clone(), name, package));
        }
        engine
            .add_data(data.clone())
            .map_err(|e| PolicyError::new(dir, format!("data: {e}")))?;
        engine.set_execution_timer_config(regorus::utils::limits::ExecutionTimerConfig {
            limit: EVAL_TIME_LIMIT,
            check_interval: TIMER_CHECK_INTERVAL,
        });

        let derives_facts = modules
            .iter()
            .any(|(_, _, package)| package == super::facts::PACKAGE);
        let mut rules = Vec::new();
        let mut ids: HashMap<String, PathBuf> = HashMap::new();
        for (file, name, package) in &modules {
            let declares = |rule: &str| {
                engine
                    .has_declared_rule_rooted_at(name, rule)
                    .unwrap_or(false)
            };
            let (has_meta, has_deny) = (declares("metadata"), declares("deny"));
            // A helper library (no `metadata`) may define a function named `unknown` (the default
            // bundle's `lib.unknown(v)`); only a rule's `unknown` set needs a `deny` beside it.
            let has_unknown = declares("unknown");
            if has_unknown && has_meta && !has_deny {
                return Err(PolicyError::new(
                    file,
                    "declares `unknown` but no `deny` rule",
                )
                .help("`unknown` says what a rule cannot judge yet; the rule still needs `deny` (it may be empty: `deny contains msg if { false }`)"));
            }
            match (has_meta, has_deny) {
                (false, false) => continue, // a helper library
                (true, false) => {
                    return Err(PolicyError::new(
                        file,
                        "declares `metadata` but no `deny` rule",
                    ));
                }
                (false, true) => {
                    return Err(PolicyError::new(file, "declares `deny` but no `metadata`")
                        .help("every rule needs metadata: id, title, family, severity, enforcement, remediation"));
                }
                (true, true) => {}
            }
            engine.set_input(Value::new_object());
            let meta_value = engine
                .eval_rule(format!("{package}.metadata"))
                .map_err(|e| PolicyError::new(file, format!("evaluating metadata: {e}")))?;
            let mut rule = parse_metadata(&meta_value, file, package, registry)?;
            if has_unknown {
                rule.unknown_path = Some(format!("{package}.unknown"));
            }
            if let Some(other) = ids.insert(rule.meta.id.clone(), file.clone()) {
                return Err(PolicyError::new(
                    file,
                    format!(
                        "rule id `{}` is also used by {}",
                        rule.meta.id,
                        other.display()
                    ),
                ));
            }
            rules.push(rule);
        }
        rules.sort_by(|a, b| a.meta.id.cmp(&b.meta.id));

        let program = match mode {
            RegoMode::Interpreter => None,
            RegoMode::Vm if rules.is_empty() => None,
            RegoMode::Vm => {
                let first: Arc<str> = rules[0].deny_path.as_str().into();
                let compiled = engine
                    .compile_with_entrypoint(&first)
                    .map_err(|e| PolicyError::new(dir, format!("compiling: {e}")))?;
                let entry_points: Vec<&str> = rules
                    .iter()
                    .flat_map(|r| std::iter::once(&r.deny_path).chain(&r.unknown_path))
                    .map(String::as_str)
                    .collect();
                let program = regorus::languages::rego::compiler::Compiler::compile_from_policy(
                    &compiled,
                    &entry_points,
                )
                .map_err(|e| PolicyError::new(dir, format!("compiling for the Rego VM: {e}")))?;
                Some(program)
            }
        };

        let mut by_type: HashMap<String, Vec<usize>> = HashMap::new();
        let mut any_type = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            if r.scope != Scope::Resource {
                continue;
            }
            match &r.resource_types {
                None => any_type.push(i),
                Some(types) => {
                    for t in types {
                        by_type.entry(t.clone()).or_default().push(i);
                    }
                }
            }
        }
        Ok(Self {
            rules,
            by_type,
            any_type,
            engine,
            program,
            data,
            mode,
            derives_facts,
            interpreters: ThreadLocal::new(),
            vms: ThreadLocal::new(),
            clock: RunClock::default(),
        })
    }

    pub fn rules(&self) -> &[RegoRule] {
        &self.rules
    }

    pub fn mode(&self) -> RegoMode {
        self.mode
    }

    /// Indices of the resource-scope rules that apply to `type_name`, in rule order.
    pub fn rules_for_type(&self, type_name: &str) -> impl Iterator<Item = usize> + '_ {
        let typed = self
            .by_type
            .get(type_name)
            .map(Vec::as_slice)
            .unwrap_or_default();
        // Both lists are ascending; merge them so the order is the rule order.
        let mut out: Vec<usize> = typed.iter().chain(self.any_type.iter()).copied().collect();
        out.sort_unstable();
        out.into_iter()
    }

    /// Whether some resource rule names `type_name` in its `resource_types`.
    pub fn has_rules_for_type(&self, type_name: &str) -> bool {
        self.by_type.contains_key(type_name)
    }

    /// Indices of the rules at `scope`.
    pub fn rules_at(&self, scope: Scope) -> impl Iterator<Item = usize> + '_ {
        self.rules
            .iter()
            .enumerate()
            .filter(move |(_, r)| r.scope == scope)
            .map(|(i, _)| i)
    }

    /// The data document rules see as `data` (`{"config": …}`).
    pub fn data(&self) -> &Value {
        &self.data
    }

    /// Rule `index`'s whole `metadata` object as the rule declares it (optional keys such as
    /// `rationale` included), evaluated with an empty input.
    pub fn metadata_value(&self, index: usize) -> Result<Value, String> {
        let rule = &self.rules[index];
        let package = rule
            .deny_path
            .strip_suffix(".deny")
            .unwrap_or(&rule.deny_path);
        let mut engine = self.engine.clone();
        engine.set_input(Value::new_object());
        engine
            .eval_rule(format!("{package}.metadata"))
            .map_err(|e| e.to_string())
    }

    /// Sets the wall-clock bound on a run's evaluations (the default is
    /// [`super::bounds::RUN_TIME_LIMIT`]).
    pub fn set_run_time_limit(&mut self, limit: Duration) {
        self.clock = RunClock::new(limit);
    }

    /// Starts a run: from now on, evaluations past the run's time limit are errors.
    pub fn start_run(&self) {
        self.clock.start();
    }

    /// Whether the bundle derives facts for Cedar (has the package `tollgate.facts`).
    pub fn derives_facts(&self) -> bool {
        self.derives_facts
    }

    /// Evaluates the facts package's rule `rule` (`stack` or `resource`) on `input`, on this
    /// thread's interpreter (the interpreter whatever the mode: the VM's program holds only the
    /// rules' entry points, and the interpreter fails closed on runtime errors).
    pub fn eval_facts(&self, rule: &str, input: Value) -> Result<Value, String> {
        let cell = self
            .interpreters
            .get_or(|| RefCell::new(self.engine.clone()));
        let mut engine = cell.borrow_mut();
        engine.set_input(input);
        engine
            .eval_rule(format!("{}.{rule}", super::facts::PACKAGE))
            .map_err(|e| e.to_string())
    }

    /// Evaluates rule `index`'s `deny` on `input`, on this thread's engine. Once the run's time
    /// is up (see [`Self::start_run`]) every evaluation is an error with one message.
    pub fn eval(&self, index: usize, input: Value) -> Result<Value, String> {
        self.eval_path(&self.rules[index].deny_path, input)
    }

    /// Evaluates rule `index`'s `unknown` on `input`; `None` when the rule declares none.
    pub fn eval_unknown(&self, index: usize, input: Value) -> Option<Result<Value, String>> {
        let path = self.rules[index].unknown_path.as_deref()?;
        Some(self.eval_path(path, input))
    }

    fn eval_path(&self, path: &str, input: Value) -> Result<Value, String> {
        self.clock.check()?;
        match (&self.program, self.mode) {
            (Some(program), RegoMode::Vm) => {
                let cell = self.vms.get_or(|| {
                    let mut vm = RegoVM::new();
                    vm.load_program(program.clone());
                    vm.set_max_instructions(VM_MAX_INSTRUCTIONS);
                    vm.set_strict_builtin_errors(true);
                    // The data was checked against the program's rules when the bundle compiled.
                    let _ = vm.set_data(self.data.clone());
                    vm.set_execution_timer_config(Some(
                        regorus::utils::limits::ExecutionTimerConfig {
                            limit: EVAL_TIME_LIMIT,
                            check_interval: TIMER_CHECK_INTERVAL,
                        },
                    ));
                    RefCell::new(vm)
                });
                let mut vm = cell.borrow_mut();
                vm.set_input(input);
                vm.execute_entry_point_by_name(path)
                    .map_err(|e| e.to_string())
            }
            _ => {
                let cell = self
                    .interpreters
                    .get_or(|| RefCell::new(self.engine.clone()));
                let mut engine = cell.borrow_mut();
                engine.set_input(input);
                engine.eval_rule(path.to_owned()).map_err(|e| e.to_string())
            }
        }
    }
}

fn parse_metadata(
    v: &Value,
    file: &Path,
    package: &str,
    registry: &Registry,
) -> Result<RegoRule, PolicyError> {
    let err = |m: String| PolicyError::new(file, format!("metadata: {m}"));
    let text = |k: &str, required: bool| -> Result<String, PolicyError> {
        match &v[k] {
            Value::String(s) if !s.trim().is_empty() => Ok(s.to_string()),
            Value::Undefined if !required => Ok(String::new()),
            Value::Undefined => Err(err(format!("`{k}` is missing"))),
            _ => Err(err(format!("`{k}` must be a non-empty string"))),
        }
    };
    if !matches!(v, Value::Object(_)) {
        return Err(err("must be an object".into()));
    }
    let id = text("id", true)?;
    let severity = text("severity", true)?.parse().map_err(err)?;
    let enforcement = text("enforcement", true)?.parse().map_err(err)?;
    let scope: Scope = match &v["scope"] {
        Value::Undefined => Scope::Resource,
        Value::String(s) => s.parse().map_err(err)?,
        _ => return Err(err("`scope` must be a string".into())),
    };
    let resource_types = match &v["resource_types"] {
        Value::Undefined => None,
        Value::Array(items) => {
            let mut types = BTreeSet::new();
            for t in items.iter() {
                let Value::String(t) = t else {
                    return Err(err("`resource_types` must be a list of type names".into()));
                };
                if t.as_ref() == "*" {
                    types.clear();
                    break;
                }
                if registry.get(t).is_none() {
                    let hint = registry
                        .suggest(t)
                        .map(|s| format!("; did you mean `{s}`?"))
                        .unwrap_or_default();
                    return Err(err(format!(
                        "`resource_types` names unknown type `{t}`{hint}"
                    )));
                }
                types.insert(t.to_string());
            }
            (!types.is_empty()).then_some(types)
        }
        _ => return Err(err("`resource_types` must be a list of type names".into())),
    };
    Ok(RegoRule {
        meta: Arc::new(PolicyMeta {
            id,
            title: text("title", true)?,
            family: text("family", true)?,
            severity,
            enforcement,
            remediation: text("remediation", true)?,
            description: text("description", false)?,
            engine: EngineKind::Rego,
            file: file.display().to_string(),
        }),
        scope,
        resource_types,
        deny_path: format!("{package}.deny"),
        unknown_path: None,
    })
}
