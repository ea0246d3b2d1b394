//! Policy tests (`tollgate test`): Rego tests as `opa test` runs them, and Cedar decision tests.
//!
//! **Rego.** Every `*_test.rego` under the bundle's `rego/` is loaded together with the bundle's
//! own modules and its data (`data.config.<stem>`, as [`super::rego::load_data`] builds it) into
//! one regorus engine, with the bundle's settings: Rego v1, strict builtin errors, the same time
//! limit. Every rule of a test module named `test_*` is a test (`todo_test_*` rules are not
//! tests, as in OPA). A test passes when the rule evaluates to `true`; `false`, another value or
//! undefined is a failure; a runtime error (a failing builtin, a conflict, the time limit) is an
//! error, kept apart from failures. `with input as …` and `with data.… as …` are regorus's own.
//! Each test runs on its own clone of the compiled engine, in parallel, so tests cannot see each
//! other's state and the order of the results never depends on timing.
//!
//! **Cedar.** Every `*.cedartest.json` under `cedar/tests/` holds cases (format:
//! `/work/notes/cedar-test-format.md`, README "Policy tests"): a stack document, a principal, an
//! action and a resource of that stack (or the stack itself), the expected decision and optionally
//! the expected determining policies. Entities are built by the code `tollgate check` uses
//! ([`crate::eval::prepare`]), so a case sees exactly what a check would.
//!
//! Everything is loaded before anything runs: a bundle that does not load, a test module that
//! does not parse or compile, or a malformed case file is a [`PolicyError`] with its file and
//! line:col (exit 2 in the command).
//!
//! **Coverage.** Line coverage of the bundle's Rego modules (test modules excluded) from
//! regorus's coverage feature, merged over every test that ran; the lines of each module's
//! `metadata` rule (a declaration the loader reads) are not counted. A module no test reached is
//! still counted: its coverable lines are found by evaluating its package once on an empty input
//! in a throw-away engine (nothing from that pass counts as covered). Cedar coverage lists the
//! policies that were never a determining policy of any case.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use cedar_policy::{Entities, Entity};
use rayon::prelude::*;
use regorus::unstable::{Rule, RuleHead};
use regorus::{Engine, Value};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::cedar::{Action, CedarDecision, Principal};
use super::rego::{EVAL_TIME_LIMIT, TIMER_CHECK_INTERVAL, load_data, rego_files};
use super::{BundleOptions, PolicyBundle, PolicyError};
use crate::eval::{EvalOptions, prepare, resource_facts};
use crate::json::{self, JsonError, LineCol, line_col};
use crate::load::parse_stack;
use crate::model::Stack;
use crate::registry::Registry;

/// How Cedar test files end.
pub const CEDAR_TEST_SUFFIX: &str = ".cedartest.json";

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct TestOptions {
    /// Only tests whose full name matches (`package.test_name`, `file::case`).
    pub run: Option<regex::Regex>,
    /// Gather coverage.
    pub coverage: bool,
}

/// Which engine a test is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TestEngine {
    Rego,
    Cedar,
}

/// How one test ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TestOutcome {
    Pass,
    Fail,
    Error,
}

impl TestOutcome {
    pub fn name(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::Error => "error",
        }
    }
}

/// One test's result.
#[derive(Debug, Clone, Serialize)]
pub struct TestResult {
    /// `package.test_name` (Rego, package without `data.`) or `file::case` (Cedar).
    pub name: String,
    pub engine: TestEngine,
    pub file: String,
    pub line: usize,
    pub outcome: TestOutcome,
    /// Why it failed or errored; empty when it passed.
    pub message: String,
    /// Cedar: the decision Cedar made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    /// Cedar: the policies that determined it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub determining: Option<Vec<String>>,
}

/// Counts over the tests that ran.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub total: usize,
    pub passed: usize,
    pub failed: usize,
    pub errors: usize,
    /// Tests left out by `--run`.
    pub deselected: usize,
}

/// Line coverage of one Rego file.
#[derive(Debug, Clone, Serialize)]
pub struct FileCoverage {
    pub file: String,
    pub covered: usize,
    pub coverable: usize,
    pub percent: f64,
    pub not_covered_lines: Vec<u32>,
}

/// Line coverage of the bundle's Rego modules.
#[derive(Debug, Clone, Serialize)]
pub struct RegoCoverage {
    pub files: Vec<FileCoverage>,
    pub covered: usize,
    pub coverable: usize,
    pub percent: f64,
}

/// Which Cedar policies the cases exercised.
#[derive(Debug, Clone, Serialize)]
pub struct CedarCoverage {
    pub policies: usize,
    pub exercised: usize,
    pub percent: f64,
    /// Ids of the policies that were never a determining policy of any case, sorted.
    pub never_exercised: Vec<String>,
}

/// Coverage of both engines.
#[derive(Debug, Clone, Serialize)]
pub struct Coverage {
    pub rego: RegoCoverage,
    pub cedar: CedarCoverage,
}

/// Everything a test run found.
#[derive(Debug, Clone, Serialize)]
pub struct TestRun {
    pub dir: String,
    pub summary: Summary,
    /// Rego tests then Cedar tests, each sorted by name.
    pub tests: Vec<TestResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage: Option<Coverage>,
}

impl TestRun {
    /// Whether every test that ran passed.
    pub fn passed(&self) -> bool {
        self.summary.failed == 0 && self.summary.errors == 0
    }
}

fn percent(covered: usize, total: usize) -> f64 {
    if total == 0 {
        100.0
    } else {
        // Rounded to a tenth, so reports do not print float noise.
        ((covered as f64) * 1000.0 / (total as f64)).round() / 10.0
    }
}

/// Loads the bundle at `dir` and its tests, then runs the tests `options` selects.
pub fn run_tests(
    dir: &Path,
    registry: &Registry,
    options: &TestOptions,
) -> Result<TestRun, PolicyError> {
    let bundle = PolicyBundle::load(dir, registry, &BundleOptions::default())?;
    let rego = RegoTests::load(&dir.join("rego"), &dir.join("data"), options.coverage)?;
    let cedar = load_cedar_tests(&dir.join("cedar").join("tests"), &bundle, registry)?;

    let selected = |name: &str| options.run.as_ref().is_none_or(|re| re.is_match(name));
    let rego_tests: Vec<&RegoTest> = rego.tests.iter().filter(|t| selected(&t.name)).collect();
    let cedar_cases: Vec<&CedarCase> = cedar
        .iter()
        .flat_map(|f| f.cases.iter())
        .filter(|c| selected(&c.name))
        .collect();
    let deselected = rego.tests.len() + cedar.iter().map(|f| f.cases.len()).sum::<usize>()
        - rego_tests.len()
        - cedar_cases.len();

    let rego_out: Vec<(TestResult, Option<regorus::coverage::Report>)> = rego_tests
        .par_iter()
        .map(|t| rego.run(t, options.coverage))
        .collect();
    let cedar_out: Vec<(TestResult, Vec<String>)> = cedar_cases
        .par_iter()
        .map(|c| run_cedar_case(c, &bundle, registry))
        .collect();

    let mut tests = Vec::with_capacity(rego_out.len() + cedar_out.len());
    let mut reports = Vec::new();
    for (result, report) in rego_out {
        tests.push(result);
        reports.extend(report);
    }
    let mut exercised = BTreeSet::new();
    for (result, determining) in cedar_out {
        tests.push(result);
        exercised.extend(determining);
    }
    tests.sort_by(|a, b| (a.engine, &a.name).cmp(&(b.engine, &b.name)));

    let coverage = options.coverage.then(|| {
        let policy_ids: Vec<String> = bundle
            .cedar
            .policy_ids()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let never_exercised: Vec<String> = policy_ids
            .iter()
            .filter(|id| !exercised.contains(*id))
            .cloned()
            .collect();
        let hit = policy_ids.len() - never_exercised.len();
        Coverage {
            rego: rego.coverage(&reports),
            cedar: CedarCoverage {
                policies: policy_ids.len(),
                exercised: hit,
                percent: percent(hit, policy_ids.len()),
                never_exercised,
            },
        }
    });
    let count = |o: TestOutcome| tests.iter().filter(|t| t.outcome == o).count();
    let summary = Summary {
        total: tests.len(),
        passed: count(TestOutcome::Pass),
        failed: count(TestOutcome::Fail),
        errors: count(TestOutcome::Error),
        deselected,
    };
    Ok(TestRun {
        dir: dir.display().to_string(),
        summary,
        tests,
        coverage,
    })
}

// ---------------------------------------------------------------------------------------------
// Rego

/// One `test_*` rule.
#[derive(Debug, Clone)]
struct RegoTest {
    /// `package.test_name`, without `data.`.
    name: String,
    /// `data.package.test_name`.
    path: String,
    file: String,
    line: usize,
}

/// The bundle's modules and its test modules, compiled together.
struct RegoTests {
    engine: Engine,
    tests: Vec<RegoTest>,
    /// The bundle's own modules (file name as given to regorus → package), for coverage.
    bundle_modules: BTreeMap<String, String>,
    /// Lines of each bundle module's `metadata` rule: a declaration the loader reads, not logic a
    /// test exercises, so they are left out of coverage.
    metadata_lines: BTreeMap<String, BTreeSet<u32>>,
}

/// Splits a regorus error (`\n--> file:line:col\n  |\n … \nerror: message`) into its place and
/// its one-line message.
fn regorus_error(e: &str) -> (Option<(String, LineCol)>, String) {
    let message = e
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim().trim_start_matches("error:").trim().to_owned())
        .unwrap_or_else(|| e.trim().to_owned());
    let place = e.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("-->")?.trim();
        let mut parts = rest.rsplitn(3, ':');
        let column = parts.next()?.parse().ok()?;
        let line = parts.next()?.parse().ok()?;
        Some((parts.next()?.to_owned(), LineCol { line, column }))
    });
    (place, message)
}

/// A [`PolicyError`] for a regorus load or compile error, placed where regorus says.
fn regorus_load_error(fallback: &Path, e: &dyn std::fmt::Display) -> PolicyError {
    let (place, message) = regorus_error(&e.to_string());
    match place {
        Some((file, at)) => PolicyError::new(Path::new(&file), message).at(at),
        None => PolicyError::new(fallback, message),
    }
}

impl RegoTests {
    fn load(rego_dir: &Path, data_dir: &Path, coverage: bool) -> Result<Self, PolicyError> {
        let mut engine = Engine::new();
        // The bundle's settings (see `RegoBundle::load`).
        engine.set_rego_v0(false);
        engine.set_strict_builtin_errors(true);
        super::bounds::guard_builtins(&mut engine)
            .map_err(|e| PolicyError::new(rego_dir, format!("bounded builtins: {e}")))?;
        engine.set_execution_timer_config(regorus::utils::limits::ExecutionTimerConfig {
            limit: EVAL_TIME_LIMIT,
            check_interval: TIMER_CHECK_INTERVAL,
        });
        let mut bundle_modules = BTreeMap::new();
        let mut test_modules = BTreeMap::new();
        for (files, tests) in [
            (rego_files(rego_dir, false)?, false),
            (rego_files(rego_dir, true)?, true),
        ] {
            for f in files {
                let text = json::read_text(&f, json::MAX_FILE_BYTES)
                    .map_err(|e| PolicyError::new(&f, e.to_string()))?;
                let name = f.display().to_string();
                let package = engine
                    .add_policy(name.clone(), text)
                    .map_err(|e| regorus_load_error(&f, &e))?;
                if tests {
                    test_modules.insert(name, package);
                } else {
                    bundle_modules.insert(name, package);
                }
            }
        }
        engine
            .add_data(load_data(data_dir)?)
            .map_err(|e| PolicyError::new(data_dir, format!("data: {e}")))?;
        // Compile now: an error in any module stops the run before a test runs.
        engine
            .eval_query("true".into(), false)
            .map_err(|e| regorus_load_error(rego_dir, &e))?;

        let mut tests: BTreeMap<String, RegoTest> = BTreeMap::new();
        let mut metadata_lines: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
        for module in engine.get_modules().iter() {
            let file = module.package.span.source.file().clone();
            if bundle_modules.contains_key(&file) {
                for rule in &module.policy {
                    let (span, name) = match rule.as_ref() {
                        Rule::Spec {
                            span,
                            head: RuleHead::Compr { refr, .. },
                            ..
                        } => (span, refr.span().text()),
                        Rule::Default { span, refr, .. } => (span, refr.span().text()),
                        _ => continue,
                    };
                    if name == "metadata" {
                        let last = span.line + span.text().lines().count().max(1) as u32 - 1;
                        metadata_lines
                            .entry(file.clone())
                            .or_default()
                            .extend(span.line..=last);
                    }
                }
            }
            let Some(package) = test_modules.get(&file) else {
                continue;
            };
            for rule in &module.policy {
                let Rule::Spec { span, head, .. } = rule.as_ref() else {
                    continue; // `default test_x := …` belongs to the rule it defaults
                };
                let (refr, is_function) = match head {
                    RuleHead::Compr { refr, .. } | RuleHead::Set { refr, .. } => (refr, false),
                    RuleHead::Func { refr, .. } => (refr, true),
                };
                let name = refr.span().text();
                if !name.starts_with("test_") {
                    continue;
                }
                let at = LineCol {
                    line: span.line as usize,
                    column: span.col as usize,
                };
                if is_function {
                    return Err(PolicyError::new(
                        Path::new(&file),
                        format!("test `{name}` takes arguments; a test rule takes none"),
                    )
                    .at(at));
                }
                if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(PolicyError::new(
                        Path::new(&file),
                        format!(
                            "test rule `{name}` has a reference head; name tests `test_<name>`"
                        ),
                    )
                    .at(at));
                }
                let short = package.strip_prefix("data.").unwrap_or(package);
                let full = format!("{short}.{name}");
                // A test defined in several bodies (or files of one package) is one rule.
                tests.entry(full.clone()).or_insert(RegoTest {
                    name: full,
                    path: format!("{package}.{name}"),
                    file: file.clone(),
                    line: at.line,
                });
            }
        }
        if coverage {
            engine.set_enable_coverage(true);
        }
        Ok(Self {
            engine,
            tests: tests.into_values().collect(),
            bundle_modules,
            metadata_lines,
        })
    }

    fn run(&self, t: &RegoTest, coverage: bool) -> (TestResult, Option<regorus::coverage::Report>) {
        let mut engine = self.engine.clone();
        let (outcome, message) = match engine.eval_rule(t.path.clone()) {
            Ok(Value::Bool(true)) => (TestOutcome::Pass, String::new()),
            Ok(Value::Bool(false)) => (TestOutcome::Fail, "evaluated to false".to_owned()),
            Ok(Value::Undefined) => (
                TestOutcome::Fail,
                "undefined: some expression in its body was false or undefined".to_owned(),
            ),
            Ok(v) => (
                TestOutcome::Fail,
                format!(
                    "evaluated to {}, not true",
                    v.to_json_str().unwrap_or_else(|_| "a value".into())
                ),
            ),
            Err(e) => {
                let (place, message) = regorus_error(&e.to_string());
                let message = match place {
                    Some((file, at)) => format!("{file}:{at}: {message}"),
                    None => message,
                };
                (TestOutcome::Error, message)
            }
        };
        let report = coverage
            .then(|| engine.get_coverage_report().ok())
            .flatten();
        (
            TestResult {
                name: t.name.clone(),
                engine: TestEngine::Rego,
                file: t.file.clone(),
                line: t.line,
                outcome,
                message,
                decision: None,
                determining: None,
            },
            report,
        )
    }

    /// Adds one report's lines of the bundle's modules: every line it reports is coverable;
    /// its covered lines count as covered only when `covered` is given.
    fn merge(
        &self,
        report: &regorus::coverage::Report,
        coverable: &mut BTreeMap<String, BTreeSet<u32>>,
        mut covered: Option<&mut BTreeMap<String, BTreeSet<u32>>>,
    ) {
        for f in &report.files {
            if !self.bundle_modules.contains_key(&f.path) {
                continue;
            }
            let skip = self.metadata_lines.get(&f.path);
            let keep = |l: &&u32| skip.is_none_or(|s| !s.contains(l));
            coverable
                .entry(f.path.clone())
                .or_default()
                .extend(f.covered.iter().chain(&f.not_covered).filter(keep));
            if let Some(covered) = covered.as_deref_mut() {
                covered
                    .entry(f.path.clone())
                    .or_default()
                    .extend(f.covered.iter().filter(keep));
            }
        }
    }

    /// Merges the tests' coverage reports over the bundle's modules.
    fn coverage(&self, reports: &[regorus::coverage::Report]) -> RegoCoverage {
        let mut covered: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
        let mut coverable: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
        for r in reports {
            self.merge(r, &mut coverable, Some(&mut covered));
        }
        // Modules no test reached: find their coverable lines without counting them covered.
        let unseen: Vec<&String> = self
            .bundle_modules
            .keys()
            .filter(|f| !coverable.contains_key(f.as_str()))
            .collect();
        if !unseen.is_empty() {
            let mut census = self.engine.clone();
            census.set_input(Value::new_object());
            let packages: BTreeSet<&String> = unseen
                .iter()
                .filter_map(|f| self.bundle_modules.get(*f))
                .collect();
            for p in packages {
                // Only the lines visited matter here; a rule that errors on an empty input still
                // marks its module.
                let _ = census.eval_query(p.clone(), false);
            }
            if let Ok(report) = census.get_coverage_report() {
                self.merge(&report, &mut coverable, None);
            }
        }
        let mut files = Vec::new();
        let (mut total_covered, mut total_coverable) = (0, 0);
        for name in self.bundle_modules.keys() {
            let lines = coverable.get(name).cloned().unwrap_or_default();
            let hit = covered.get(name).cloned().unwrap_or_default();
            let hit: BTreeSet<u32> = hit.intersection(&lines).copied().collect();
            total_covered += hit.len();
            total_coverable += lines.len();
            files.push(FileCoverage {
                file: name.clone(),
                covered: hit.len(),
                coverable: lines.len(),
                percent: percent(hit.len(), lines.len()),
                not_covered_lines: lines.difference(&hit).copied().collect(),
            });
        }
        RegoCoverage {
            files,
            covered: total_covered,
            coverable: total_coverable,
            percent: percent(total_covered, total_coverable),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Cedar

/// A Cedar test file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFileDoc<'a> {
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    #[serde(borrow, default)]
    stack: Option<&'a RawValue>,
    #[serde(default)]
    stack_file: Option<String>,
    #[serde(borrow)]
    cases: Vec<&'a RawValue>,
}

/// One case as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseDoc<'a> {
    name: String,
    principal: String,
    action: String,
    /// A resource id, or `null` for the stack itself; required either way.
    resource: serde_json::Value,
    #[serde(borrow, default)]
    stack: Option<&'a RawValue>,
    #[serde(default)]
    stack_file: Option<String>,
    #[serde(default)]
    context: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    entities: Option<serde_json::Value>,
    decision: String,
    #[serde(default)]
    determining: Option<Vec<String>>,
}

/// A Cedar test file, loaded.
#[derive(Debug)]
struct CedarFile {
    cases: Vec<CedarCase>,
}

/// A case, resolved.
#[derive(Debug)]
struct CedarCase {
    name: String,
    file: String,
    line: usize,
    principal: Principal,
    action: Action,
    stack: std::sync::Arc<Stack>,
    /// Index of the resource in the stack; `None` asks about the stack itself.
    resource: Option<usize>,
    context: serde_json::Map<String, serde_json::Value>,
    /// Extra entities (already validated against the schema).
    entities: Vec<Entity>,
    allow: bool,
    determining: Option<BTreeSet<String>>,
}

/// Where `inner` (a slice of `text`) starts in `text`.
fn offset_in(text: &str, inner: &str) -> usize {
    (inner.as_ptr() as usize).saturating_sub(text.as_ptr() as usize)
}

fn json_error(file: &Path, e: JsonError, prefix: &str) -> PolicyError {
    let mut err = PolicyError::new(file, e.message);
    if let Some(path) = e.path {
        err.message = format!("{prefix}{}: {}", path.trim_start_matches('$'), err.message);
    } else if !prefix.is_empty() && prefix != "$" {
        err.message = format!("{prefix}: {}", err.message);
    }
    err.position = e.position;
    err
}

/// Deserializes `text` (a slice of the file's `whole` text) into `T`, errors placed in the file.
fn from_slice<'a, T: Deserialize<'a>>(
    file: &Path,
    whole: &str,
    text: &'a str,
    prefix: &str,
) -> Result<T, PolicyError> {
    let base = line_col(whole, offset_in(whole, text));
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| {
            let path = e.path().clone();
            JsonError::from_serde(e.inner(), Some(path))
        })
        .and_then(|v| {
            de.end()
                .map(|()| v)
                .map_err(|e| JsonError::from_serde(&e, None))
        })
        .map_err(|e| json_error(file, e.shift(base), prefix))?;
    Ok(value)
}

/// Reads a stack document given inline (a slice of `whole`) or by path.
fn load_stack(
    file: &Path,
    whole: &str,
    inline: Option<&RawValue>,
    path: Option<&str>,
    prefix: &str,
    at: LineCol,
    registry: &Registry,
) -> Result<Option<Stack>, PolicyError> {
    let to_policy_error = |errors: Vec<crate::load::LoadError>, shift: Option<(LineCol, &str)>| {
        let e = errors.into_iter().next();
        match e {
            None => PolicyError::new(file, "invalid stack document"),
            Some(e) => {
                let (file, position, path) = match shift {
                    Some((base, prefix)) => (
                        file.to_path_buf(),
                        e.position.map(|p| {
                            JsonError {
                                message: String::new(),
                                position: Some(p),
                                path: None,
                            }
                            .shift(base)
                            .position
                            .unwrap_or(p)
                        }),
                        e.path
                            .map(|p| format!("{prefix}{}", p.trim_start_matches('$'))),
                    ),
                    None => (e.file.clone(), e.position, e.path),
                };
                let mut err = PolicyError::new(
                    &file,
                    match path {
                        Some(p) => format!("{p}: {}", e.message),
                        None => e.message,
                    },
                );
                err.position = position;
                err.help = e.help;
                err
            }
        }
    };
    match (inline, path) {
        (Some(_), Some(_)) => Err(PolicyError::new(
            file,
            format!("{prefix}: give `stack` or `stack_file`, not both"),
        )
        .at(at)),
        (Some(raw), None) => {
            let text = raw.get();
            let base = line_col(whole, offset_in(whole, text));
            let stack = parse_stack(file, text, registry)
                .map_err(|e| to_policy_error(e, Some((base, &format!("{prefix}.stack")))))?;
            Ok(Some(stack))
        }
        (None, Some(rel)) => {
            let path = file.parent().unwrap_or(Path::new(".")).join(rel);
            let text = json::read_text(&path, json::MAX_FILE_BYTES).map_err(|e| {
                PolicyError::new(file, format!("{prefix}.stack_file `{rel}`: {e}")).at(at)
            })?;
            let stack =
                parse_stack(&path, &text, registry).map_err(|e| to_policy_error(e, None))?;
            Ok(Some(stack))
        }
        (None, None) => Ok(None),
    }
}

/// Finds and loads every Cedar test file under `dir`.
fn load_cedar_tests(
    dir: &Path,
    bundle: &PolicyBundle,
    registry: &Registry,
) -> Result<Vec<CedarFile>, PolicyError> {
    let files = super::files_under(dir, |p| {
        p.file_name()
            .is_some_and(|n| n.to_string_lossy().ends_with(CEDAR_TEST_SUFFIX))
    })?;
    files
        .iter()
        .map(|f| load_cedar_file(dir, f, bundle, registry))
        .collect()
}

fn load_cedar_file(
    root: &Path,
    file: &Path,
    bundle: &PolicyBundle,
    registry: &Registry,
) -> Result<CedarFile, PolicyError> {
    let text = json::read_text(file, json::MAX_FILE_BYTES)
        .map_err(|e| PolicyError::new(file, e.to_string()))?;
    // Strict first: a repeated key anywhere, a BOM or trailing garbage is an error with its place.
    json::parse_strict(&text).map_err(|e| json_error(file, e, "$"))?;
    let doc: CaseFileDoc<'_> = from_slice(file, &text, &text, "$")?;
    let top = LineCol { line: 1, column: 1 };
    let file_stack = load_stack(
        file,
        &text,
        doc.stack,
        doc.stack_file.as_deref(),
        "$",
        top,
        registry,
    )?
    .map(std::sync::Arc::new);
    if doc.cases.is_empty() {
        return Err(PolicyError::new(
            file,
            "`cases` is empty: a test file needs at least one case",
        )
        .at(top));
    }
    let stem = file
        .strip_prefix(root)
        .unwrap_or(file)
        .to_string_lossy()
        .replace('\\', "/");
    let stem = stem
        .strip_suffix(CEDAR_TEST_SUFFIX)
        .unwrap_or(&stem)
        .to_owned();
    let mut names = HashMap::new();
    let mut cases = Vec::with_capacity(doc.cases.len());
    for (i, raw) in doc.cases.iter().enumerate() {
        let prefix = format!("$.cases[{i}]");
        let at = line_col(&text, offset_in(&text, raw.get()));
        let place = |m: String| PolicyError::new(file, format!("{prefix}: {m}")).at(at);
        let case: CaseDoc<'_> = from_slice(file, &text, raw.get(), &prefix)?;
        if case.name.is_empty()
            || !case
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            return Err(place(format!(
                "name `{}` must be letters, digits, `_`, `-` or `.`",
                case.name
            )));
        }
        if let Some(other) = names.insert(case.name.clone(), at) {
            return Err(place(format!(
                "case name `{}` is also used at line {}",
                case.name, other.line
            )));
        }
        let principal = Principal::parse(&case.principal).map_err(&place)?;
        let action = match case.action.as_str() {
            "create" => Action::Create,
            "update" => Action::Update,
            "delete" => Action::Delete,
            other => {
                return Err(place(format!(
                    "action `{other}` must be `create`, `update` or `delete`"
                )));
            }
        };
        let allow = match case.decision.as_str() {
            "allow" => true,
            "deny" => false,
            other => {
                return Err(place(format!(
                    "decision `{other}` must be `allow` or `deny`"
                )));
            }
        };
        let stack = match load_stack(
            file,
            &text,
            case.stack,
            case.stack_file.as_deref(),
            &prefix,
            at,
            registry,
        )? {
            Some(s) => std::sync::Arc::new(s),
            None => file_stack.clone().ok_or_else(|| {
                place("no stack: give `stack` or `stack_file` in the file or the case".into())
            })?,
        };
        let resource = match &case.resource {
            serde_json::Value::Null => None,
            serde_json::Value::String(id) => Some(
                stack
                    .resources
                    .iter()
                    .position(|r| &r.id == id)
                    .ok_or_else(|| {
                        let known: Vec<&str> =
                            stack.resources.iter().map(|r| r.id.as_str()).collect();
                        place(format!(
                            "resource `{id}` is not in stack `{}` (it has: {})",
                            stack.id,
                            known.join(", ")
                        ))
                    })?,
            ),
            _ => {
                return Err(place(
                    "`resource` must be a resource id or null (the stack itself)".into(),
                ));
            }
        };
        let entities = match case.entities {
            None => Vec::new(),
            Some(json) => Entities::from_json_value(json, Some(bundle.cedar.schema()))
                .map_err(|e| place(format!("entities: {e}")))?
                .iter()
                // The schema's action entities come back with the parsed ones; they are not
                // extra entities.
                .filter(|e| e.uid().type_name().basename() != "Action")
                .cloned()
                .collect(),
        };
        let determining = case
            .determining
            .map(|ids| {
                let known: BTreeSet<String> = bundle
                    .cedar
                    .policy_ids()
                    .into_iter()
                    .map(|(id, _)| id)
                    .collect();
                match ids.iter().find(|id| !known.contains(*id)) {
                    Some(id) => Err(place(format!("`determining` names unknown policy `{id}`"))),
                    None => Ok(ids.into_iter().collect()),
                }
            })
            .transpose()?;
        cases.push(CedarCase {
            name: format!("{stem}::{}", case.name),
            file: file.display().to_string(),
            line: at.line,
            principal,
            action,
            stack,
            resource,
            context: case.context.unwrap_or_default(),
            entities,
            allow,
            determining,
        });
    }
    Ok(CedarFile { cases })
}

fn decision_name(allowed: bool) -> &'static str {
    if allowed { "allow" } else { "deny" }
}

/// Runs one case; returns its result and the policies that determined it.
fn run_cedar_case(
    case: &CedarCase,
    bundle: &PolicyBundle,
    registry: &Registry,
) -> (TestResult, Vec<String>) {
    let mut result = TestResult {
        name: case.name.clone(),
        engine: TestEngine::Cedar,
        file: case.file.clone(),
        line: case.line,
        outcome: TestOutcome::Error,
        message: String::new(),
        decision: None,
        determining: None,
    };
    match decide(case, bundle, registry) {
        Err(e) => {
            result.message = e;
            (result, Vec::new())
        }
        Ok(d) => {
            result.decision = Some(decision_name(d.allowed).to_owned());
            result.determining = Some(d.determining.clone());
            let actual: BTreeSet<String> = d.determining.iter().cloned().collect();
            let shown = |ids: &[String]| {
                if ids.is_empty() {
                    "none".to_owned()
                } else {
                    ids.join(", ")
                }
            };
            if !d.errors.is_empty() {
                let errors: Vec<String> = d
                    .errors
                    .iter()
                    .map(|(id, m)| format!("{id}: {m}"))
                    .collect();
                result.message = format!(
                    "Cedar evaluation errors (the check fails closed): {}",
                    errors.join("; ")
                );
            } else if d.allowed != case.allow {
                result.outcome = TestOutcome::Fail;
                result.message = format!(
                    "expected {}, got {} (determining: {})",
                    decision_name(case.allow),
                    decision_name(d.allowed),
                    shown(&d.determining)
                );
            } else if let Some(expected) = case.determining.as_ref().filter(|e| **e != actual) {
                result.outcome = TestOutcome::Fail;
                let expected: Vec<String> = expected.iter().cloned().collect();
                result.message = format!(
                    "{} as expected, but determined by [{}], expected [{}]",
                    decision_name(d.allowed),
                    shown(&d.determining),
                    shown(&expected)
                );
            } else {
                result.outcome = TestOutcome::Pass;
            }
            (result, d.determining)
        }
    }
}

/// Builds the case's entities the way `tollgate check` does and asks Cedar.
fn decide(
    case: &CedarCase,
    bundle: &PolicyBundle,
    registry: &Registry,
) -> Result<CedarDecision, String> {
    let options = EvalOptions {
        principal: case.principal.clone(),
        stack_action: case.action,
        only: None,
    };
    let prepared = prepare(&case.stack, bundle, registry, &options);
    let built = prepared
        .entities
        .as_ref()
        .map_err(|e| format!("building Cedar entities: {e}"))?;
    let entities = if case.entities.is_empty() {
        built.clone()
    } else {
        let replaced: BTreeSet<String> =
            case.entities.iter().map(|e| e.uid().to_string()).collect();
        let kept = built
            .iter()
            .filter(|e| !replaced.contains(&e.uid().to_string()))
            .cloned();
        Entities::from_entities(kept.chain(case.entities.iter().cloned()), None)
            .map_err(|e| format!("adding the case's entities: {e}"))?
    };
    let resource = case.resource.map(|i| {
        let r = &case.stack.resources[i];
        let taggable = registry.get(&r.type_name).is_some_and(|t| t.taggable);
        (resource_facts(r), taggable)
    });
    bundle.cedar.decide_with_context(
        &case.principal,
        case.action,
        &case.stack.id,
        resource.as_ref().map(|(f, t)| (f, *t)),
        &case.context,
        &entities,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny bundle: one helper package, its tests, a data file, two Cedar policies and a
    /// Cedar test file. `extra` adds or replaces files.
    fn bundle(extra: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut files: BTreeMap<&str, &str> = BTreeMap::from([
            (
                // Line numbers matter: the coverage test counts them.
                "rego/demo.rego",
                "package demo\n\
                 \n\
                 big if {\n\
                 \tinput.x > data.config.limits.max\n\
                 }\n\
                 \n\
                 ratio := 10 / input.d\n\
                 \n\
                 never if {\n\
                 \tinput.nothing == 1\n\
                 }\n",
            ),
            ("data/limits.json", r#"{"max": 3}"#),
            (
                // Rules referenced by full path: regorus evaluates every rule of a package
                // reached through an import alias, which would blur the coverage numbers.
                "rego/demo_test.rego",
                "package demo_test\n\
                 \n\
                 test_big_with_input if {\n\
                 \tdata.demo.big with input as {\"x\": 5}\n\
                 }\n\
                 test_small_is_big if {\n\
                 \tdata.demo.big with input as {\"x\": 1}\n\
                 }\n\
                 test_big_with_data if {\n\
                 \tdata.demo.big with input as {\"x\": 2} with data.config.limits.max as 1\n\
                 }\n\
                 test_divide_by_zero if {\n\
                 \tdata.demo.ratio == 1 with input as {\"d\": 0}\n\
                 }\n\
                 test_false := false\n\
                 todo_test_later if { false }\n",
            ),
            (
                "cedar/policies.cedar",
                "@id(\"permit-ci\")\n\
                 permit (principal is Tollgate::CiIdentity, action, resource);\n\
                 @id(\"TG-T-001\")\n\
                 @title(\"Buckets keep versions\")\n\
                 @family(\"backup\")\n\
                 @severity(\"medium\")\n\
                 @enforcement(\"soft-mandatory\")\n\
                 @remediation(\"Enable versioning.\")\n\
                 forbid (principal, action == Tollgate::Action::\"create\", resource is Tollgate::aws_s3_bucket)\n\
                 unless { resource has versioning && resource.versioning has enabled && resource.versioning.enabled };\n\
                 @id(\"TG-T-002\")\n\
                 @title(\"Never\")\n\
                 @family(\"backup\")\n\
                 @severity(\"low\")\n\
                 @enforcement(\"advisory\")\n\
                 @remediation(\"None.\")\n\
                 forbid (principal, action == Tollgate::Action::\"delete\", resource is Tollgate::aws_s3_bucket)\n\
                 when { context.taggable == false };\n",
            ),
            ("cedar/tests/s3.cedartest.json", CEDAR_CASES),
        ]);
        for (k, v) in extra {
            files.insert(k, v);
        }
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
        dir
    }

    const CEDAR_CASES: &str = r#"{
  "stack": {
    "stack": "demo", "repository": "demo-main", "environment": "prod", "region": "eu-west-1",
    "account": "prod", "owner": "platform", "depends_on": [],
    "budget": {"monthly_limit_usd": 100, "alert_thresholds_pct": [80]},
    "resources": [
      {"id": "plain", "type": "aws_s3_bucket", "properties": {"bucket": "plain"}, "tags": {}},
      {"id": "kept", "type": "aws_s3_bucket",
       "properties": {"bucket": "kept", "versioning": {"enabled": true}}, "tags": {}}
    ]
  },
  "cases": [
    {"name": "unversioned_is_forbidden", "principal": "ci:github", "action": "create",
     "resource": "plain", "decision": "deny", "determining": ["TG-T-001"]},
    {"name": "versioned_is_allowed", "principal": "ci:github", "action": "create",
     "resource": "kept", "decision": "allow", "determining": ["permit-ci"]},
    {"name": "team_not_permitted", "principal": "team:nobody", "action": "update",
     "resource": null, "decision": "deny", "determining": []},
    {"name": "wrong_expectation", "principal": "ci:github", "action": "create",
     "resource": "kept", "decision": "deny"},
    {"name": "wrong_determining", "principal": "ci:github", "action": "create",
     "resource": "plain", "decision": "deny", "determining": ["permit-ci"]},
    {"name": "context_override", "principal": "ci:github", "action": "delete",
     "resource": "kept", "context": {"taggable": false}, "decision": "deny",
     "determining": ["TG-T-002"]}
  ]
}"#;

    fn run(dir: &Path, options: &TestOptions) -> TestRun {
        run_tests(dir, Registry::builtin(), options).expect("bundle and tests load")
    }

    fn outcome<'a>(run: &'a TestRun, name: &str) -> &'a TestResult {
        run.tests
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("no test {name} in {:?}", run.tests))
    }

    #[test]
    fn rego_tests_pass_fail_and_error_with_overrides() {
        let dir = bundle(&[]);
        let r = run(dir.path(), &TestOptions::default());
        assert_eq!(
            outcome(&r, "demo_test.test_big_with_input").outcome,
            TestOutcome::Pass
        );
        // `with data.config.limits.max as 1` replaces the bundle's data (3).
        assert_eq!(
            outcome(&r, "demo_test.test_big_with_data").outcome,
            TestOutcome::Pass
        );
        let small = outcome(&r, "demo_test.test_small_is_big");
        assert_eq!(small.outcome, TestOutcome::Fail);
        assert!(small.message.contains("undefined"), "{}", small.message);
        assert_eq!(
            outcome(&r, "demo_test.test_false").outcome,
            TestOutcome::Fail
        );
        let div = outcome(&r, "demo_test.test_divide_by_zero");
        assert_eq!(div.outcome, TestOutcome::Error, "{div:?}");
        assert!(div.message.contains("demo.rego:7"), "{}", div.message);
        assert!(!r.tests.iter().any(|t| t.name.contains("todo_test")));
        assert_eq!(outcome(&r, "demo_test.test_false").line, 15);
    }

    #[test]
    fn cedar_cases_report_decision_and_determining_policies() {
        let dir = bundle(&[]);
        let r = run(dir.path(), &TestOptions::default());
        let get = |n: &str| outcome(&r, &format!("s3::{n}"));
        assert_eq!(get("unversioned_is_forbidden").outcome, TestOutcome::Pass);
        assert_eq!(get("versioned_is_allowed").outcome, TestOutcome::Pass);
        assert_eq!(get("team_not_permitted").outcome, TestOutcome::Pass);
        assert_eq!(get("context_override").outcome, TestOutcome::Pass);
        let wrong = get("wrong_expectation");
        assert_eq!(wrong.outcome, TestOutcome::Fail);
        assert_eq!(wrong.decision.as_deref(), Some("allow"));
        assert!(
            wrong.message.contains("expected deny, got allow"),
            "{}",
            wrong.message
        );
        let det = get("wrong_determining");
        assert_eq!(det.outcome, TestOutcome::Fail);
        assert!(
            det.message.contains("[TG-T-001], expected [permit-ci]"),
            "{}",
            det.message
        );
        let failed: Vec<&TestResult> = r
            .tests
            .iter()
            .filter(|t| t.outcome != TestOutcome::Pass)
            .collect();
        assert_eq!(r.summary.total, 11, "{failed:#?}");
        assert_eq!(
            (r.summary.passed, r.summary.failed, r.summary.errors),
            (6, 4, 1),
            "{failed:#?}"
        );
        assert!(!r.passed());
    }

    #[test]
    fn run_filter_selects_by_full_name() {
        let dir = bundle(&[]);
        let options = TestOptions {
            run: Some(regex::Regex::new("with_|s3::versioned").expect("regex")),
            coverage: false,
        };
        let r = run(dir.path(), &options);
        let names: Vec<&str> = r.tests.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "demo_test.test_big_with_data",
                "demo_test.test_big_with_input",
                "s3::versioned_is_allowed"
            ]
        );
        assert_eq!(r.summary.deselected, 8);
        assert!(r.passed());
    }

    #[test]
    fn coverage_counts_lines_of_bundle_modules_only() {
        // A module no test reaches still counts, at 0%; its `metadata` lines never count.
        let dir = bundle(&[(
            "rego/zz_other.rego",
            "package other\n\nmetadata := {\n\t\"id\": \"TG-X-001\", \"title\": \"t\", \"family\": \"f\", \"severity\": \"low\", \"enforcement\": \"advisory\", \"remediation\": \"r\",\n}\n\ndeny contains \"x\" if {\n\tinput.y == 2\n}\n",
        )]);
        let options = TestOptions {
            run: Some(regex::Regex::new("test_big_with_input").expect("regex")),
            coverage: true,
        };
        let r = run(dir.path(), &options);
        let c = r.coverage.expect("coverage gathered");
        assert_eq!(c.rego.files.len(), 2, "{:?}", c.rego.files);
        let other = &c.rego.files[1];
        assert!(other.file.ends_with("zz_other.rego"));
        assert_eq!(other.covered, 0, "{other:?}");
        assert!(other.not_covered_lines.contains(&8), "{other:?}");
        assert!(other.not_covered_lines.iter().all(|l| *l > 5), "{other:?}");
        let f = &c.rego.files[0];
        assert!(f.file.ends_with("demo.rego"));
        // Lines 4 (`input.x > …`), 7 (`ratio`) and 10 (`input.nothing`) hold expressions; the
        // one test reaches only line 4.
        assert_eq!(f.not_covered_lines, [7, 10], "{f:?}");
        assert_eq!((f.covered, f.coverable), (1, 3));
        assert_eq!(f.percent, 33.3);
        assert_eq!(c.rego.covered, 1);
        assert_eq!(c.rego.coverable, 3 + other.coverable);
        // No Cedar case ran: every policy is unexercised.
        assert_eq!(
            c.cedar.never_exercised,
            ["TG-T-001", "TG-T-002", "permit-ci"]
        );

        let all = run(
            dir.path(),
            &TestOptions {
                run: None,
                coverage: true,
            },
        );
        let c = all.coverage.expect("coverage gathered");
        assert_eq!(c.rego.files[0].not_covered_lines, [10]);
        assert!(c.cedar.never_exercised.is_empty(), "{:?}", c.cedar);
    }

    #[test]
    fn load_errors_name_file_and_place() {
        let dir = bundle(&[(
            "rego/bad_test.rego",
            "package bad_test\n\ntest_x if {\n  1 +\n}\n",
        )]);
        let e = run_tests(dir.path(), Registry::builtin(), &TestOptions::default())
            .expect_err("a test module that does not parse");
        assert!(e.file.ends_with("bad_test.rego"), "{e}");
        assert_eq!(e.position.map(|p| p.line), Some(5), "{e}");

        let dir = bundle(&[(
            "cedar/tests/s3.cedartest.json",
            "{\"stack\": {},\n \"cases\": [{\"name\": \"x\", \"principal\": \"ci:a\", \"action\": \"create\", \"resource\": null, \"decision\": \"deny\", \"bogus\": 1}]}",
        )]);
        let e = run_tests(dir.path(), Registry::builtin(), &TestOptions::default())
            .expect_err("a bad case file");
        assert!(e.file.ends_with("s3.cedartest.json"), "{e}");
        assert!(e.position.is_some(), "{e}");

        let dir = bundle(&[(
            "cedar/tests/s3.cedartest.json",
            "{\"stack_file\": \"nowhere.json\",\n \"cases\": [{\"name\": \"x\", \"principal\": \"ci:a\", \"action\": \"create\", \"resource\": \"nope\", \"decision\": \"deny\"}]}",
        )]);
        let e = run_tests(dir.path(), Registry::builtin(), &TestOptions::default())
            .expect_err("a missing stack file");
        assert!(e.message.contains("nowhere.json"), "{e}");

        let mut cases = CEDAR_CASES.replace("\"resource\": \"kept\"", "\"resource\": \"missing\"");
        cases = cases.replace(
            "\"decision\": \"allow\", \"determining\": [\"permit-ci\"]",
            "\"decision\": \"allow\"",
        );
        let dir = bundle(&[("cedar/tests/s3.cedartest.json", &cases)]);
        let e = run_tests(dir.path(), Registry::builtin(), &TestOptions::default())
            .expect_err("an unknown resource id");
        assert!(
            e.message
                .contains("resource `missing` is not in stack `demo`"),
            "{e}"
        );
        assert_eq!(e.position.map(|p| p.line), Some(15), "{e}");
    }

    #[test]
    fn regorus_errors_split_into_place_and_message() {
        let (place, message) = regorus_error(
            "\n--> policies/x.rego:7:3\n  |\n7 | a := 1/0\n  |   ^\nerror: divide by zero",
        );
        assert_eq!(
            place,
            Some(("policies/x.rego".to_owned(), LineCol { line: 7, column: 3 }))
        );
        assert_eq!(message, "divide by zero");
    }
}
