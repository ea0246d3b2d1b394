//! `tollgate validate`: everything wrong with a policy bundle, its stacks and its waivers, in one
//! run, each problem placed in its source.
//!
//! It reuses the loaders rather than re-implementing their rules, and goes file by file so that a
//! problem in one file does not hide the problems in the next:
//!
//! - every Rego module is loaded on its own by [`RegoBundle::from_sources`] (parse, `metadata` and
//!   `deny`, metadata fields, `resource_types`), then all the modules that parse are compiled
//!   together for regorus's VM, the one step that resolves every function and variable
//!   statically (the interpreter finds an unknown function only when a rule reaches it);
//! - every Cedar file is parsed (all its parse errors), checked by [`CedarBundle::from_sources`]
//!   (nesting, `@id`, annotations, metadata) and validated strictly against the schema generated
//!   from the type registry, keeping every validation error with Cedar's own spans and help;
//! - rule ids must be unique across files (a Rego rule and a Cedar policy may share one: mirrored
//!   rules), and when all of that passed, the whole bundle is loaded as `check` loads it, so
//!   `validate` never passes a bundle `check` would refuse;
//! - stack documents go through [`load::load_estate`], which already keeps every problem;
//! - waivers go through [`waiver::check_waivers`], plus their expiry as of a given day.
//!
//! Each [`Problem`] has a file, a byte span in that file's text, a stable code, a message and a
//! help where one helps; [`Validation::diagnostic`] turns one into a `miette` diagnostic with the
//! source attached, for rendering with a snippet.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cedar_policy::{PolicyId, PolicySet, Schema, ValidationMode, Validator};
use chrono::NaiveDate;
use miette::{Diagnostic, LabeledSpan, NamedSource, SourceSpan};
use regorus::Value;
use serde::Serialize;

use crate::finding::PolicyMeta;
use crate::json::{self, LineCol};
use crate::load::{self, LoadErrorKind};
use crate::policy::cedar::{self, CedarBundle};
use crate::policy::rego::{self, RegoBundle, RegoMode};
use crate::policy::{BundleOptions, PolicyBundle, PolicyError, Source};
use crate::registry::Registry;
use crate::waiver;

/// What to validate, resolved from flags.
#[derive(Debug, Clone)]
pub struct ValidateSettings {
    /// The policy bundle folder (`rego/`, `cedar/`, `data/`).
    pub policies: PathBuf,
    /// Stack documents or folders of them; empty checks none.
    pub stacks: Vec<PathBuf>,
    /// The waivers file, if any.
    pub waivers: Option<PathBuf>,
    /// The day waiver expiry is judged against.
    pub today: NaiveDate,
}

/// How bad a problem is: errors make the input invalid (exit 2), warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warning,
}

/// One problem, placed in its file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub file: PathBuf,
    /// 1-based line and column of the span's start, when the problem has a place.
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// Byte range in the file's text.
    #[serde(skip)]
    pub span: Option<Range<usize>>,
    /// What sort of problem, e.g. `rego::parse`, `cedar::validation`, `waiver::expired`.
    pub code: &'static str,
    pub level: Level,
    pub message: String,
    /// Text under the marked span.
    #[serde(skip)]
    pub label: Option<String>,
    pub help: Option<String>,
}

/// What was looked at.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Checked {
    pub rego_modules: usize,
    pub cedar_files: usize,
    pub rego_rules: usize,
    pub cedar_policies: usize,
    pub stack_files: usize,
    pub waivers: usize,
}

/// The outcome of a validation: every problem, sorted by file and place.
#[derive(Debug, Clone, Default)]
pub struct Validation {
    pub problems: Vec<Problem>,
    pub checked: Checked,
    sources: BTreeMap<PathBuf, Arc<str>>,
}

impl Validation {
    /// Whether nothing is wrong (warnings allowed).
    pub fn is_valid(&self) -> bool {
        self.problems.iter().all(|p| p.level != Level::Error)
    }

    pub fn errors(&self) -> usize {
        self.problems
            .iter()
            .filter(|p| p.level == Level::Error)
            .count()
    }

    pub fn warnings(&self) -> usize {
        self.problems.len() - self.errors()
    }

    /// `problem` as a diagnostic carrying its file's text, for rendering with a snippet.
    pub fn diagnostic(&self, problem: &Problem) -> ProblemDiagnostic {
        let name = problem.file.display().to_string();
        let text = self.sources.get(&problem.file).cloned();
        ProblemDiagnostic {
            message: match (problem.line, problem.column, &text) {
                // Without a snippet, the place goes into the message.
                (Some(l), Some(c), None) => format!("{name}:{l}:{c}: {}", problem.message),
                _ => problem.message.clone(),
            },
            source: text.map(|t| NamedSource::new(name, t)),
            span: problem
                .span
                .clone()
                .map(|r| SourceSpan::from(r.start..r.end)),
            label: problem.label.clone(),
            code: problem.code,
            level: problem.level,
            help: problem.help.clone(),
        }
    }

    fn push(&mut self, p: Problem) {
        if !self.problems.contains(&p) {
            self.problems.push(p);
        }
    }

    /// Reads `file` into the sources (once); `None` (and a problem) when it cannot be read.
    fn source(&mut self, file: &Path, code: &'static str) -> Option<Arc<str>> {
        if let Some(t) = self.sources.get(file) {
            return Some(t.clone());
        }
        match json::read_text(file, json::MAX_FILE_BYTES) {
            Ok(t) => {
                let t: Arc<str> = t.into();
                self.sources.insert(file.to_path_buf(), t.clone());
                Some(t)
            }
            Err(e) => {
                self.push(problem(file, code, e.to_string()));
                None
            }
        }
    }

    /// A problem from an engine error: its place becomes a span in the file's text.
    fn policy_problem(&mut self, e: &PolicyError, code: &'static str) -> Problem {
        let text = self.sources.get(&e.file).cloned();
        let span = match (&text, e.position) {
            (Some(t), Some(p)) => Some(token_at(t, offset_of(t, p))),
            _ => None,
        };
        let mut p = problem(&e.file, code, e.message.clone());
        p.help = e.help.clone();
        p.with_span(text.as_deref(), span)
    }
}

/// A [`Problem`] with its source, for `miette`'s renderers.
#[derive(Debug)]
pub struct ProblemDiagnostic {
    message: String,
    source: Option<NamedSource<Arc<str>>>,
    span: Option<SourceSpan>,
    label: Option<String>,
    code: &'static str,
    level: Level,
    help: Option<String>,
}

impl std::fmt::Display for ProblemDiagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ProblemDiagnostic {}

impl Diagnostic for ProblemDiagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.level {
            Level::Error => miette::Severity::Error,
            Level::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.span?;
        self.source.as_ref()?;
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            self.label.clone(),
            span,
        ))))
    }
}

fn problem(file: &Path, code: &'static str, message: String) -> Problem {
    Problem {
        file: file.to_path_buf(),
        line: None,
        column: None,
        span: None,
        code,
        level: Level::Error,
        message,
        label: None,
        help: None,
    }
}

impl Problem {
    fn with_span(mut self, text: Option<&str>, span: Option<Range<usize>>) -> Self {
        if let (Some(t), Some(s)) = (text, span) {
            let s = s.start.min(t.len())..s.end.min(t.len());
            let at = json::line_col(t, s.start);
            self.line = Some(at.line);
            self.column = Some(at.column);
            self.span = Some(s);
        }
        self
    }

    fn help(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }

    fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    fn warning(mut self) -> Self {
        self.level = Level::Warning;
        self
    }
}

/// The byte offset of a 1-based line and column (columns count bytes, as [`json::line_col`]).
pub fn offset_of(text: &str, at: LineCol) -> usize {
    let mut line_start = 0;
    for _ in 1..at.line {
        match text[line_start..].find('\n') {
            Some(i) => line_start += i + 1,
            None => return text.len(),
        }
    }
    let line_end = text[line_start..]
        .find('\n')
        .map_or(text.len(), |i| line_start + i);
    let mut offset = (line_start + at.column.saturating_sub(1)).min(line_end);
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// The token starting at `offset`: a string literal, a word, or one character; so a point
/// becomes something a reader can see underlined.
fn token_at(text: &str, offset: usize) -> Range<usize> {
    let rest = &text[offset.min(text.len())..];
    let len = if rest.starts_with('"') {
        let b = rest.as_bytes();
        let mut i = 1;
        while i < b.len() && b[i] != b'"' && b[i] != b'\n' {
            i += if b[i] == b'\\' { 2 } else { 1 };
        }
        (i + 1).min(b.len())
    } else {
        let word = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if word > 0 {
            word
        } else {
            rest.chars().next().map_or(0, char::len_utf8)
        }
    };
    offset..offset + len
}

/// Runs every check; never stops at the first problem.
pub fn run(settings: &ValidateSettings, registry: &Registry) -> Validation {
    let mut v = Validation::default();
    let metas = validate_policies(&mut v, &settings.policies, registry);
    if !settings.stacks.is_empty() {
        validate_stacks(&mut v, &settings.stacks, registry);
    }
    if let Some(file) = &settings.waivers {
        let metas: Vec<&PolicyMeta> = metas.iter().collect();
        validate_waivers(&mut v, file, &metas, settings.today);
    }
    v.problems.sort_by(|a, b| {
        (
            &a.file,
            a.span.as_ref().map(|s| s.start),
            a.code,
            &a.message,
        )
            .cmp(&(
                &b.file,
                b.span.as_ref().map(|s| s.start),
                b.code,
                &b.message,
            ))
    });
    v
}

/// Checks the bundle; returns the metadata of every rule that could be read (for the waivers).
fn validate_policies(v: &mut Validation, dir: &Path, registry: &Registry) -> Vec<PolicyMeta> {
    if !dir.is_dir() {
        v.push(problem(
            dir,
            "policy::bundle",
            "policy bundle folder not found".into(),
        ));
        return Vec::new();
    }
    let (rego_dir, cedar_dir) = (dir.join("rego"), dir.join("cedar"));
    let before = v.errors();
    let data = match rego::load_data(&dir.join("data")) {
        Ok(d) => d,
        Err(e) => {
            v.source(&e.file, "policy::read");
            let p = v.policy_problem(&e, "policy::data");
            v.push(p);
            rego::load_data(Path::new("")).unwrap_or_else(|_| Value::new_object())
        }
    };
    let mut metas = validate_rego(v, &rego_dir, &data, registry);
    metas.extend(validate_cedar(v, &cedar_dir, registry));
    duplicate_ids(v, &metas);
    if v.errors() == before {
        // Everything checked file by file passed: load the bundle as `check` does, which also
        // checks what spans files (mirrored rules' metadata, price catalogues).
        match PolicyBundle::load(dir, registry, &BundleOptions::default()) {
            Ok(bundle) => return bundle.metas().into_iter().cloned().collect(),
            Err(e) => {
                v.source(&e.file, "policy::read");
                let p = v.policy_problem(&e, "policy::bundle");
                v.push(p);
            }
        }
    }
    metas.push(crate::eval::cost_meta().clone());
    metas.extend(crate::coverage::metas().iter().cloned());
    metas
}

fn validate_rego(
    v: &mut Validation,
    dir: &Path,
    data: &Value,
    registry: &Registry,
) -> Vec<PolicyMeta> {
    let mut metas = Vec::new();
    let mut parsed = Vec::new();
    let files = match rego::rego_files(dir, false) {
        Ok(files) => files,
        Err(e) => {
            let p = v.policy_problem(&e, "policy::read");
            v.push(p);
            Vec::new()
        }
    };
    for file in files {
        let Some(text) = v.source(&file, "policy::read") else {
            continue;
        };
        v.checked.rego_modules += 1;
        let source = Source {
            path: file.clone(),
            text: text.to_string(),
        };
        match RegoBundle::from_sources(
            dir,
            std::slice::from_ref(&source),
            data.clone(),
            registry,
            RegoMode::Interpreter,
        ) {
            Ok(bundle) => {
                v.checked.rego_rules += bundle.rules().len();
                metas.extend(bundle.rules().iter().map(|r| (*r.meta).clone()));
                parsed.push(source);
            }
            Err(e) => match regorus_place(&e.message) {
                Some((_, at, message)) => {
                    let span = token_at(&text, regorus_offset(&text, at));
                    let p =
                        problem(&file, "rego::parse", message).with_span(Some(&text), Some(span));
                    v.push(p);
                }
                None => {
                    parsed.push(source);
                    let mut p = v.policy_problem(&e, "rego::metadata");
                    if p.help.is_none() && p.message.starts_with("metadata:") {
                        p.help = Some("`metadata` needs id, title, family, severity, enforcement and remediation (non-empty strings)".into());
                    }
                    if p.span.is_none() {
                        let span = locate_in_rego(&text, &e.message);
                        p = p.with_span(Some(&text), span);
                    }
                    v.push(p);
                }
            },
        }
    }
    compile_rego(v, &parsed, data);
    metas
}

/// Compiles the modules that parsed, together, for regorus's VM: this resolves every function
/// call and variable, which the interpreter would only find when a rule reached them.
fn compile_rego(v: &mut Validation, sources: &[Source], data: &Value) {
    let mut engine = regorus::Engine::new();
    engine.set_rego_v0(false);
    engine.set_strict_builtin_errors(true);
    let mut entry_points = Vec::new();
    for s in sources {
        let name = s.path.display().to_string();
        let Ok(package) = engine.add_policy(name.clone(), s.text.clone()) else {
            continue;
        };
        if engine
            .has_declared_rule_rooted_at(&name, "deny")
            .unwrap_or(false)
        {
            entry_points.push((s.path.clone(), format!("{package}.deny")));
        }
    }
    if engine.add_data(data.clone()).is_err() {
        return; // reported with the data files
    }
    for (file, entry) in entry_points {
        let error = match engine.compile_with_entrypoint(&entry.as_str().into()) {
            Err(e) => e.to_string(),
            Ok(compiled) => {
                match regorus::languages::rego::compiler::Compiler::compile_from_policy(
                    &compiled,
                    &[entry.as_str()],
                ) {
                    Ok(_) => continue,
                    Err(e) => e.to_string(),
                }
            }
        };
        let (file, at, message) = match regorus_place(&error) {
            Some((f, at, m)) => (PathBuf::from(f), Some(at), m),
            None => (file, None, error.trim().to_owned()),
        };
        let text = v.sources.get(&file).cloned();
        let span = match (&text, at) {
            (Some(t), Some(at)) => {
                let o = regorus_offset(t, at);
                // regorus places an unknown call at its `(`: mark the name instead.
                let name = message
                    .strip_prefix("Unknown function: '")
                    .and_then(|m| m.strip_suffix('\''));
                match name {
                    Some(n) if t[..o].ends_with(n) => Some(o - n.len()..o),
                    _ => Some(token_at(t, o)),
                }
            }
            _ => None,
        };
        let unsupported = [
            "not supported",
            "not yet supported",
            "Unsupported",
            "internal:",
            "Register overflow",
            "hoisted",
            "binding plan",
            "Not a simple reference chain",
        ]
        .iter()
        .any(|w| message.contains(w));
        let mut p = problem(&file, "rego::compile", message).with_span(text.as_deref(), span);
        if unsupported {
            p = p.warning().help(Some(
                "regorus's compiler cannot compile this yet; the interpreter (the default) still runs it, `--rego-mode vm` cannot".into(),
            ));
        } else if p.message.starts_with("Unknown function") {
            p = p.help(Some(
                "check the name against the Rego built-ins, or import the package that defines it"
                    .into(),
            ));
        }
        v.push(p);
    }
}

/// The byte offset of a regorus line and column: regorus counts columns in characters, a tab
/// as four.
fn regorus_offset(text: &str, at: LineCol) -> usize {
    let line_start = offset_of(
        text,
        LineCol {
            line: at.line,
            column: 1,
        },
    );
    let mut column = 1;
    for (i, c) in text[line_start..].char_indices() {
        if column >= at.column || c == '\n' {
            return line_start + i;
        }
        column += if c == '\t' { 4 } else { 1 };
    }
    text.len()
}

/// Splits a regorus error (`\n--> file:line:col\n  |\n…\nerror: message`) into its place and
/// message. For nested errors (a compile error inside a statement), the innermost place and the
/// last message are kept.
fn regorus_place(message: &str) -> Option<(String, LineCol, String)> {
    let place = message.lines().rev().find_map(|l| {
        let rest = l.trim().strip_prefix("-->")?.trim();
        let mut parts = rest.rsplitn(3, ':');
        let column = parts.next()?.parse().ok()?;
        let line = parts.next()?.parse().ok()?;
        Some((parts.next()?.to_owned(), LineCol { line, column }))
    })?;
    let text = message
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("error: "))
        .unwrap_or(message)
        .trim();
    let text = text.strip_prefix("Compilation error: ").unwrap_or(text);
    Some((place.0, place.1, text.to_owned()))
}

/// Where a Rego load error without a place points: a name it quotes (a misspelt type in
/// `resource_types`), else the `metadata` or `deny` declaration, else the package line.
fn locate_in_rego(text: &str, message: &str) -> Option<Range<usize>> {
    if let Some(name) = message.split('`').nth(1)
        && let Some(o) = text.find(&format!("\"{name}\""))
    {
        return Some(token_at(text, o));
    }
    let decl = |word: &str| {
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            if line.starts_with(word)
                && line[word.len()..].starts_with(|c: char| c.is_whitespace() || c == ':')
            {
                return Some(offset..offset + word.len());
            }
            offset += line.len();
        }
        None
    };
    let first = if message.contains("no `metadata`") {
        "deny"
    } else {
        "metadata"
    };
    decl(first).or_else(|| decl("package"))
}

fn validate_cedar(v: &mut Validation, dir: &Path, registry: &Registry) -> Vec<PolicyMeta> {
    let mut metas = Vec::new();
    let schema = match Schema::from_json_value(cedar::schema_json(registry)) {
        Ok(s) => s,
        Err(e) => {
            v.push(problem(
                dir,
                "cedar::schema",
                format!("generated Cedar schema is invalid: {e}"),
            ));
            return metas;
        }
    };
    let validator = Validator::new(schema);
    let files = match cedar::cedar_files(dir) {
        Ok(files) => files,
        Err(e) => {
            let p = v.policy_problem(&e, "policy::read");
            v.push(p);
            Vec::new()
        }
    };
    for file in files {
        let Some(text) = v.source(&file, "policy::read") else {
            continue;
        };
        v.checked.cedar_files += 1;
        let source = Source {
            path: file.clone(),
            text: text.to_string(),
        };
        // The engine's own checks first: they refuse deep nesting before anything parses it.
        let engine_error =
            match CedarBundle::from_sources(dir, std::slice::from_ref(&source), registry) {
                Ok(bundle) => {
                    metas.extend(bundle.metas().cloned());
                    None
                }
                Err(e) => Some(e),
            };
        if json::max_nesting(&text) > cedar::MAX_CEDAR_NESTING
            || cedar::expression_nesting(&text) > cedar::MAX_CEDAR_EXPRESSION_NESTING
        {
            if let Some(e) = engine_error {
                let mut p = v.policy_problem(&e, "cedar::nesting");
                // The refusal comes before any parse, so there is no snippet to name the file.
                p.message = format!("{}: {}", e.file.display(), p.message);
                v.push(p);
            }
            continue;
        }
        let parsed = match text.parse::<PolicySet>() {
            Ok(p) => p,
            Err(errors) => {
                for e in errors.iter() {
                    let p = cedar_problem(&file, &text, "cedar::parse", e.to_string(), e);
                    v.push(p);
                }
                continue;
            }
        };
        let mut set = PolicySet::new();
        for p in parsed.policies() {
            v.checked.cedar_policies += 1;
            if let Some(id) = p.annotation("id")
                && set.add(p.new_id(PolicyId::new(id))).is_ok()
            {
                continue;
            }
            // No or a repeated `@id`: the engine's error says so; validate it under its own id.
            let _ = set.add(p.clone());
        }
        let result = validator.validate(&set, ValidationMode::Strict);
        let mut invalid = false;
        for e in result.validation_errors() {
            invalid = true;
            let p = cedar_problem(&file, &text, "cedar::validation", e.to_string(), e);
            v.push(p);
        }
        for w in result.validation_warnings() {
            let p = cedar_problem(&file, &text, "cedar::warning", w.to_string(), w).warning();
            v.push(p);
        }
        if let Some(e) = engine_error
            && !(invalid && e.message.starts_with("Cedar validation error"))
        {
            let p = v.policy_problem(&e, "cedar::policy");
            v.push(p);
        }
    }
    metas
}

/// A problem from one of Cedar's diagnostics, with its first label's span and its help.
fn cedar_problem(
    file: &Path,
    text: &str,
    code: &'static str,
    message: String,
    d: &dyn Diagnostic,
) -> Problem {
    let label = d.labels().and_then(|mut l| l.next());
    let span = label.as_ref().map(|l| {
        let start = l.offset().min(text.len());
        start..(start + l.len()).min(text.len())
    });
    let mut p = problem(file, code, message)
        .with_span(Some(text), span)
        .help(d.help().map(|h| h.to_string()));
    if let Some(l) = label.and_then(|l| l.label().map(str::to_owned)) {
        p = p.label(l);
    }
    p
}

/// Rule ids are unique within each language; a Rego rule and a Cedar policy may share an id (a
/// mirrored rule; the whole-bundle load checks that their metadata agree).
fn duplicate_ids(v: &mut Validation, metas: &[PolicyMeta]) {
    let mut first: BTreeMap<(crate::finding::EngineKind, &str), &str> = BTreeMap::new();
    for m in metas {
        let Some(earlier) = first.insert((m.engine, m.id.as_str()), m.file.as_str()) else {
            continue;
        };
        first.insert((m.engine, m.id.as_str()), earlier);
        let file = PathBuf::from(&m.file);
        let text = v.sources.get(&file).cloned();
        let span = text.as_deref().and_then(|t| {
            t.find(&format!("\"{}\"", m.id))
                .map(|o| o..o + m.id.len() + 2)
        });
        let p = problem(
            &file,
            "policy::duplicate-id",
            format!("rule id `{}` is also used by {earlier}", m.id),
        )
        .with_span(text.as_deref(), span)
        .label("used twice")
        .help(Some(
            "every rule needs its own id: findings, waivers and overrides name rules by id".into(),
        ));
        v.push(p);
    }
}

fn validate_stacks(v: &mut Validation, paths: &[PathBuf], registry: &Registry) {
    if let Ok(files) = load::expand_paths(paths) {
        v.checked.stack_files = files.len();
    }
    let Err(errors) = load::load_estate(paths, registry) else {
        return;
    };
    for e in errors.0 {
        let code = match e.kind {
            LoadErrorKind::Read => "stack::read",
            LoadErrorKind::Syntax => "stack::syntax",
            LoadErrorKind::Shape => "stack::shape",
            LoadErrorKind::UnknownType => "stack::unknown-type",
            LoadErrorKind::Schema => "stack::schema",
            LoadErrorKind::DuplicateId => "stack::duplicate-id",
            LoadErrorKind::MissingReference => "stack::missing-reference",
            LoadErrorKind::Cycle => "stack::cycle",
        };
        let text = if e.kind == LoadErrorKind::Read || e.file.as_os_str().is_empty() {
            None
        } else {
            v.source(&e.file, "stack::read")
        };
        // The JSON path's value when it can be found (exact), else the token at the position.
        let span = text.as_deref().and_then(|t| {
            let by_path = e.path.as_deref().and_then(|p| json::locate(t, p));
            let span = by_path.or_else(|| e.position.map(|p| token_at(t, offset_of(t, p))))?;
            // A whole object or list is marked by its first character.
            Some(if t[span.clone()].contains('\n') {
                span.start..span.start + 1
            } else {
                span
            })
        });
        let message = match &e.path {
            Some(path) => format!("{path}: {}", e.message),
            None => e.message.clone(),
        };
        // Without a source snippet nothing else shows which file it was (a FIFO, a missing file).
        let message = if text.is_none() && !e.file.as_os_str().is_empty() {
            format!("{}: {message}", e.file.display())
        } else {
            message
        };
        let mut p = problem(&e.file, code, message)
            .with_span(text.as_deref(), span)
            .help(e.help.clone());
        if p.line.is_none()
            && let Some(at) = e.position
        {
            p.line = Some(at.line);
            p.column = Some(at.column);
        }
        v.push(p);
    }
}

fn validate_waivers(v: &mut Validation, file: &Path, metas: &[&PolicyMeta], today: NaiveDate) {
    let Some(text) = v.source(file, "waiver::read") else {
        return;
    };
    let (waivers, errors) = waiver::check_waivers(file, &text, metas);
    let mut counted = BTreeSet::new();
    for e in &errors {
        let code = if e.message.contains("unknown policy") {
            "waiver::unknown-policy"
        } else {
            "waiver::invalid"
        };
        if let Some(i) = e
            .message
            .strip_prefix("$.waivers[")
            .and_then(|r| r.split(']').next())
        {
            counted.insert(i.to_owned());
        }
        let p = v.policy_problem(e, code);
        v.push(p);
    }
    v.checked.waivers = waivers.len() + counted.len();
    for w in &waivers {
        if !w.is_expired(today) {
            continue;
        }
        let span = (0..)
            .map(|j| json::locate(&text, &format!("$.waivers[{j}]")))
            .take_while(Option::is_some)
            .flatten()
            .find_map(|r| {
                let id = json::locate(&text[r.clone()], "$.id")?;
                let expires = json::locate(&text[r.clone()], "$.expires")?;
                (text[r.start + id.start..r.start + id.end] == format!("\"{}\"", w.spec.id))
                    .then(|| r.start + expires.start..r.start + expires.end)
            });
        let p = problem(
            file,
            "waiver::expired",
            format!(
                "waiver `{}` ({}) expired on {}: it waives nothing as of {today}",
                w.spec.id, w.spec.policy, w.spec.expires
            ),
        )
        .with_span(Some(&text), span)
        .label("in the past")
        .help(Some(
            "renew it with a new expiry (approved again) or remove it; `--as-of DATE` judges another day".into(),
        ));
        v.push(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_and_positions_round_trip() {
        let text = "ab\ncdé\n\nxyz";
        for o in 0..text.len() {
            if text.is_char_boundary(o) {
                assert_eq!(offset_of(text, json::line_col(text, o)), o, "offset {o}");
            }
        }
        assert_eq!(offset_of(text, LineCol { line: 9, column: 1 }), text.len());
    }

    #[test]
    fn regorus_errors_give_the_innermost_place() {
        let msg = "\n--> p.rego:7:3\n  |\n7 |   x := f(1)\n  |   ^\nerror: Compilation error: \n--> p.rego:7:8\n  |\n7 |   x := f(1)\n  |        ^\nerror: Unknown function: 'f'";
        assert_eq!(
            regorus_place(msg),
            Some((
                "p.rego".into(),
                LineCol { line: 7, column: 8 },
                "Unknown function: 'f'".into()
            ))
        );
        assert_eq!(regorus_place("no place"), None);
    }

    #[test]
    fn regorus_columns_count_a_tab_as_four() {
        let text = "a\n\tname != lower(x)\n";
        assert_eq!(
            &text[regorus_offset(
                text,
                LineCol {
                    line: 2,
                    column: 13
                }
            )..][..5],
            "lower"
        );
        assert_eq!(
            regorus_offset(
                text,
                LineCol {
                    line: 2,
                    column: 99
                }
            ),
            text.len() - 1
        );
    }

    #[test]
    fn tokens_cover_words_and_strings() {
        let text = r#"x := "a\"b" + foo_bar"#;
        assert_eq!(&text[token_at(text, 5)], r#""a\"b""#);
        assert_eq!(&text[token_at(text, 14)], "foo_bar");
        assert_eq!(&text[token_at(text, 2)], ":");
    }
}
