//! Loading stack documents: files are read into types that mirror them, then resolved into the
//! model, checked against the type registry, and checked as a whole (ids, references, cycles).
//!
//! Files are parsed in parallel. Every problem found is kept (not just the first), each naming the
//! file, the line and column where known, and the JSON path.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use regorus::Value;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::envelope::{self, Given};
use crate::import::InputFormat;
use crate::json::{self, JsonError, LineCol, LineCounter, Strict};
use crate::model::{Budget, Estate, Origin, Reference, Resource, Source, Stack, is_identifier};
use crate::registry::{self, Registry};

/// One problem with the input, with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub file: PathBuf,
    pub position: Option<LineCol>,
    /// JSON path, e.g. `$.resources[3].properties.storage_encrypted`.
    pub path: Option<String>,
    pub kind: LoadErrorKind,
    pub message: String,
    pub help: Option<String>,
}

/// What sort of problem a [`LoadError`] is; tests and callers match on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadErrorKind {
    Read,
    Syntax,
    Shape,
    UnknownType,
    Schema,
    DuplicateId,
    MissingReference,
    Cycle,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(p) = self.position {
            write!(f, ":{p}")?;
        }
        if let Some(path) = &self.path {
            write!(f, ": {path}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(help) = &self.help {
            write!(f, " (help: {help})")?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {}

/// Everything wrong with a set of inputs, sorted by file and position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadErrors(pub Vec<LoadError>);

impl fmt::Display for LoadErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadErrors {}

impl LoadError {
    /// An error about `file` with no position yet.
    pub fn plain(file: &Path, kind: LoadErrorKind, message: impl Into<String>) -> Self {
        Self::new(file, kind, message)
    }

    /// A JSON error; `prefix` is the JSON path of the value that was being read.
    pub fn json(file: &Path, e: JsonError, prefix: &str) -> Self {
        Self::from_json(file, e, prefix)
    }

    /// Sets the JSON path.
    pub fn with_path(self, path: impl Into<String>) -> Self {
        self.path(path)
    }

    fn new(file: &Path, kind: LoadErrorKind, message: impl Into<String>) -> Self {
        Self {
            file: file.to_path_buf(),
            position: None,
            path: None,
            kind,
            message: message.into(),
            help: None,
        }
    }

    /// Sets the line and column.
    pub fn at(mut self, position: LineCol) -> Self {
        self.position = Some(position);
        self
    }

    fn path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    fn from_json(file: &Path, e: JsonError, prefix: &str) -> Self {
        let path = e
            .path
            .map(|p| format!("{prefix}{}", p.trim_start_matches('$')));
        let mut err = LoadError::new(file, LoadErrorKind::Syntax, e.message);
        if err.message.contains("duplicate key") || err.message.contains("duplicate field") {
            err.help = Some("each key may appear once per object".into());
        } else if err.message.starts_with("unknown field")
            || err.message.starts_with("missing field")
        {
            err.kind = LoadErrorKind::Shape;
        }
        err.position = e.position;
        err.path =
            path.or_else(|| (!prefix.is_empty() && prefix != "$").then(|| prefix.to_owned()));
        err
    }
}

/// Expands files and directories into the stack files they name: a directory contributes every
/// `*.json` file below it, and every `*.yaml`, `*.yml` and `*.template` file that looks like a
/// CloudFormation template (other YAML — Kubernetes manifests, CI files — is left alone), in
/// sorted order. A file named explicitly is always read (a YAML file that is not a template is
/// then an error naming it). A path that does not exist is an error.
pub fn expand_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, LoadErrors> {
    let mut files = BTreeSet::new();
    let mut errors = Vec::new();
    // One walker for every folder named: a folder named twice (`stacks stacks/`) is walked once.
    let mut walker = crate::fsio::Walker::new();
    let wanted = |path: &Path| {
        path.extension().is_some_and(|e| e == "json")
            || crate::import::cloudformation::has_template_extension(path)
    };
    for p in paths {
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => match walker.walk(p, wanted) {
                Ok(found) => {
                    for path in found {
                        // A YAML file in a folder is read only if it looks like a template.
                        let is_json = path.extension().is_some_and(|e| e == "json");
                        if is_json
                            || json::read_text(&path, json::MAX_FILE_BYTES).is_ok_and(|t| {
                                crate::import::cloudformation::looks_like_template(&path, &t)
                            })
                        {
                            files.insert(path);
                        }
                    }
                }
                Err(refused) => errors.extend(
                    refused
                        .into_iter()
                        .map(|e| LoadError::new(&e.path, LoadErrorKind::Read, e.message)),
                ),
            },
            // A file named explicitly is read whatever it is: the reader refuses a FIFO or a
            // device, saying what it is.
            Ok(_) => {
                files.insert(p.clone());
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => errors.push(LoadError::new(
                p,
                LoadErrorKind::Read,
                "no such file or directory",
            )),
            Err(e) => errors.push(LoadError::new(
                p,
                LoadErrorKind::Read,
                format!("cannot read: {e}"),
            )),
        }
    }
    if errors.is_empty() {
        Ok(files.into_iter().collect())
    } else {
        Err(LoadErrors(errors))
    }
}

/// Loads and checks the stacks in `paths` (files or directories), detecting each file's format.
pub fn load_estate(paths: &[PathBuf], registry: &Registry) -> Result<Estate, LoadErrors> {
    load_estate_as(paths, registry, InputFormat::Auto)
}

/// Loads and checks the stacks in `paths`, every file read as `format`.
pub fn load_estate_as(
    paths: &[PathBuf],
    registry: &Registry,
    format: InputFormat,
) -> Result<Estate, LoadErrors> {
    load_estate_with(
        paths,
        registry,
        &LoadOptions {
            format,
            envelope: Given::default(),
        },
    )
}

/// How to read a set of inputs.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// What the inputs are (`Auto`: each file's content decides).
    pub format: InputFormat,
    /// Envelope values for every plan and template (the command line's flags); see
    /// [`crate::envelope`] for the order in which envelope sources are taken.
    pub envelope: Given,
}

/// Loads and checks the stacks in `paths` as `options` say.
pub fn load_estate_with(
    paths: &[PathBuf],
    registry: &Registry,
    options: &LoadOptions,
) -> Result<Estate, LoadErrors> {
    let format = options.format;
    let files = expand_paths(paths)?;
    let results: Vec<Result<Stack, Vec<LoadError>>> = files
        .par_iter()
        .map(|f| load_stack_file(f, registry, format))
        .collect();
    let mut stacks = Vec::with_capacity(results.len());
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok(s) => stacks.push(s),
            Err(e) => errors.extend(e),
        }
    }
    if errors.is_empty() {
        stacks = merge_plans(stacks, &options.envelope, &mut errors);
    }
    if errors.is_empty() {
        stacks.sort_by(|a, b| a.id.cmp(&b.id));
        errors.extend(check_estate(&mut stacks));
    }
    if errors.is_empty() {
        Ok(Estate { stacks })
    } else {
        errors.sort_by(|a, b| (&a.file, a.position).cmp(&(&b.file, b.position)));
        Err(LoadErrors(errors))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StackFile<'a> {
    stack: String,
    repository: String,
    environment: String,
    region: String,
    account: String,
    owner: String,
    /// Free text for people; not evaluated.
    #[serde(default, rename = "description")]
    _description: Option<String>,
    #[serde(default)]
    depends_on: Vec<String>,
    #[serde(default)]
    budget: Option<BudgetFile>,
    /// Resource ids or types that Tollgate judges but does not provision, with the reason.
    #[serde(default)]
    managed_elsewhere: BTreeMap<String, String>,
    #[serde(borrow)]
    resources: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BudgetFile {
    monthly_limit_usd: i64,
    #[serde(default)]
    alert_thresholds_pct: Vec<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResourceFile {
    id: String,
    #[serde(rename = "type")]
    type_name: String,
    #[serde(default)]
    properties: Strict,
    #[serde(default)]
    tags: Strict,
    #[serde(default)]
    depends_on: Vec<String>,
    #[serde(default)]
    usage: Strict,
}

/// Reads one input file — a stack document, a Terraform plan or a CloudFormation template, by
/// `format` or by its content.
/// All problems in the file are returned together.
pub fn load_stack_file(
    file: &Path,
    registry: &Registry,
    format: InputFormat,
) -> Result<Stack, Vec<LoadError>> {
    let read_error =
        |e: json::ReadError| vec![LoadError::new(file, LoadErrorKind::Read, e.to_string())];
    // Plans and templates are other tools' files: a byte-order mark or UTF-16 (PowerShell's `>`)
    // is decoded. Stack documents are Tollgate's own: UTF-8 without a mark.
    let (text, encoding) = json::read_bytes(file, json::MAX_FILE_BYTES)
        .and_then(json::decode_foreign)
        .map_err(read_error)?;
    let format = match format {
        InputFormat::Auto => InputFormat::detect(file, &text),
        f => f,
    };
    match (format, encoding) {
        (InputFormat::Stack | InputFormat::Auto, json::TextEncoding::Utf8Bom) => {
            return Err(read_error(json::ReadError::ByteOrderMark));
        }
        (
            InputFormat::Stack | InputFormat::Auto,
            json::TextEncoding::Utf16Le | json::TextEncoding::Utf16Be,
        ) => return Err(read_error(json::ReadError::Utf16)),
        _ => {}
    }
    let mut stack = match format {
        InputFormat::TerraformPlan => crate::import::terraform::parse_plan(file, &text, registry),
        InputFormat::CloudFormation => {
            crate::import::cloudformation::parse_template(file, &text, registry)
        }
        // `parse_stack` parses its policy documents itself (policy tests call it directly).
        InputFormat::Stack | InputFormat::Auto => return parse_stack(file, &text, registry),
    }?;
    // Policy documents written as JSON strings, parsed once for every imported format; the
    // figures the cost estimate multiplies.
    let mut errors = crate::documents::parse_policy_documents(&mut stack, registry);
    errors.extend(crate::cost::check_figures(&stack, registry));
    if errors.is_empty() {
        Ok(stack)
    } else {
        Err(errors)
    }
}

/// Parses one stack document from `text`; `file` names it in messages.
pub fn parse_stack(file: &Path, text: &str, registry: &Registry) -> Result<Stack, Vec<LoadError>> {
    let mut de = serde_json::Deserializer::from_str(text);
    let doc = StackFile::deserialize(&mut de)
        .and_then(|d| de.end().map(|()| d))
        .map_err(|e| {
            vec![LoadError::from_json(
                file,
                JsonError::from_serde(&e, None),
                "",
            )]
        })?;

    let mut errors = Vec::new();
    let top = LineCol { line: 1, column: 1 };
    for (field, value) in [("stack", &doc.stack), ("environment", &doc.environment)] {
        if !is_identifier(value) {
            errors.push(
                LoadError::new(
                    file,
                    LoadErrorKind::Shape,
                    format!("`{value}` is not a valid {field} id"),
                )
                .at(top)
                .path(format!("$.{field}"))
                .help("ids are letters, digits, `_` and `-`, starting with a letter or digit"),
            );
        }
    }
    for (i, d) in doc.depends_on.iter().enumerate() {
        if !is_identifier(d) {
            errors.push(
                LoadError::new(
                    file,
                    LoadErrorKind::Shape,
                    format!("`{d}` is not a valid stack id"),
                )
                .path(format!("$.depends_on[{i}]")),
            );
        }
    }
    let budget = doc.budget.map(|b| Budget {
        monthly_limit_usd: b.monthly_limit_usd,
        alert_thresholds_pct: b.alert_thresholds_pct,
    });

    let mut lines = LineCounter::new(text);
    let mut resources = Vec::with_capacity(doc.resources.len());
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(doc.resources.len());
    for (i, raw) in doc.resources.iter().enumerate() {
        let position = lines.at(lines.offset_of(raw.get()));
        let prefix = format!("$.resources[{i}]");
        match parse_resource(file, raw.get(), position, &prefix, registry) {
            Ok(r) => {
                if let Some(first) = seen.insert(r.id.clone(), i) {
                    errors.push(
                        LoadError::new(
                            file,
                            LoadErrorKind::DuplicateId,
                            format!(
                                "duplicate resource id `{}` (first used at $.resources[{first}])",
                                r.id
                            ),
                        )
                        .at(position)
                        .path(format!("{prefix}.id")),
                    );
                }
                resources.push(r);
            }
            Err(e) => errors.push(e),
        }
    }
    for (key, reason) in &doc.managed_elsewhere {
        let known = seen.contains_key(key) || registry.get(key).is_some();
        let problem = if !known {
            Some(format!(
                "`{key}` is neither a resource id of this stack nor a registered type"
            ))
        } else if reason.trim().is_empty() {
            Some(format!(
                "`{key}`: say who manages it instead (the reason is empty)"
            ))
        } else {
            None
        };
        if let Some(message) = problem {
            errors.push(
                LoadError::new(file, LoadErrorKind::Shape, message)
                    .at(top)
                    .path(format!("$.managed_elsewhere.{key}")),
            );
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut stack = Stack {
        managed_elsewhere: doc.managed_elsewhere,
        id: doc.stack,
        repository: doc.repository,
        environment: doc.environment,
        region: doc.region,
        account: doc.account,
        owner: doc.owner,
        depends_on: {
            let mut d = doc.depends_on;
            d.sort();
            d.dedup();
            d
        },
        budget,
        resources,
        source: Source::new(file, top),
        origin: Origin::Document,
        unmodelled: Vec::new(),
        envelope: Default::default(),
    };
    let mut errors = crate::documents::parse_policy_documents(&mut stack, registry);
    errors.extend(crate::cost::check_figures(&stack, registry));
    if errors.is_empty() {
        Ok(stack)
    } else {
        Err(errors)
    }
}

fn parse_resource(
    file: &Path,
    raw: &str,
    position: LineCol,
    prefix: &str,
    registry: &Registry,
) -> Result<Resource, LoadError> {
    let mut de = serde_json::Deserializer::from_str(raw);
    let parsed = {
        let mut track = serde_path_to_error::Track::new();
        let tracked = serde_path_to_error::Deserializer::new(&mut de, &mut track);
        ResourceFile::deserialize(tracked)
            .map_err(|e| JsonError::from_serde(&e, Some(track.path())).shift(position))
    };
    let r = parsed.map_err(|e| LoadError::from_json(file, e, prefix))?;
    let err = |kind, msg: String| LoadError::new(file, kind, msg).at(position);

    if !is_identifier(&r.id) {
        return Err(err(
            LoadErrorKind::Shape,
            format!("`{}` is not a valid resource id", r.id),
        )
        .path(format!("{prefix}.id"))
        .help("ids are letters, digits, `_` and `-`, starting with a letter or digit"));
    }
    let Some(def) = registry.get(&r.type_name) else {
        let mut e = err(
            LoadErrorKind::UnknownType,
            format!("unknown resource type `{}`", r.type_name),
        )
        .path(format!("{prefix}.type"));
        if let Some(s) = registry.suggest(&r.type_name) {
            e = e.help(format!("did you mean `{s}`?"));
        }
        return Err(e);
    };
    let properties = match r.properties.0 {
        Value::Undefined | Value::Null => Value::new_object(),
        v => v,
    };
    let schema_err = |v: registry::SchemaViolation, field: &str| {
        err(
            LoadErrorKind::Schema,
            format!("{}: {}", def.name, v.message),
        )
        .path(format!(
            "{prefix}.{field}{}",
            v.path.trim_start_matches('$')
        ))
    };
    registry::check_object(&properties, &def.properties, &def.required, "$")
        .map_err(|v| schema_err(v, "properties"))?;
    let usage = match r.usage.0 {
        Value::Undefined => Value::Null,
        v => v,
    };
    if usage != Value::Null {
        registry::check_object(&usage, &def.usage, &[], "$").map_err(|v| schema_err(v, "usage"))?;
    }

    let tags = match r.tags.0 {
        Value::Undefined | Value::Null => BTreeMap::new(),
        Value::Object(obj) if def.taggable => {
            let mut tags = BTreeMap::new();
            for (k, v) in obj.iter() {
                let (Value::String(k), Value::String(v)) = (k, v) else {
                    return Err(
                        err(LoadErrorKind::Schema, "tag values must be strings".into())
                            .path(format!("{prefix}.tags")),
                    );
                };
                tags.insert(k.to_string(), v.to_string());
            }
            tags
        }
        Value::Object(_) => {
            return Err(err(
                LoadErrorKind::Schema,
                format!("type `{}` does not take tags", def.name),
            )
            .path(format!("{prefix}.tags")));
        }
        other => {
            return Err(err(
                LoadErrorKind::Schema,
                format!(
                    "tags must be an object of strings, got {}",
                    registry::kind(&other)
                ),
            )
            .path(format!("{prefix}.tags")));
        }
    };

    let mut references = Vec::new();
    collect_references(&properties, "$", &mut references);
    let mut depends_on = r.depends_on;
    for (i, d) in depends_on.iter().enumerate() {
        if !is_identifier(d) {
            return Err(err(
                LoadErrorKind::Shape,
                format!("`{d}` is not a valid resource id"),
            )
            .path(format!("{prefix}.depends_on[{i}]")));
        }
    }
    depends_on.extend(
        references
            .iter()
            .filter(|r| r.stack.is_none())
            .map(|r| r.resource.clone()),
    );
    depends_on.sort();
    depends_on.dedup();

    Ok(Resource {
        id: r.id,
        type_name: r.type_name,
        properties,
        tags,
        depends_on,
        usage,
        position,
        references,
        change: crate::model::Change::Create,
    })
}

/// Finds `${…}` references in string values, iteratively (no recursion on deep input).
pub(crate) fn collect_references(root: &Value, root_path: &str, out: &mut Vec<Reference>) {
    let mut work: Vec<(&Value, String)> = vec![(root, root_path.to_owned())];
    while let Some((v, path)) = work.pop() {
        match v {
            Value::String(s) if s.starts_with("${") => {
                if let Some(r) = Reference::parse(s, || path.clone()) {
                    out.push(r);
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    work.push((item, format!("{path}[{i}]")));
                }
            }
            Value::Object(obj) => {
                for (k, item) in obj.iter() {
                    let key = k.as_string().map(|s| s.to_string()).unwrap_or_default();
                    work.push((item, format!("{path}.{key}")));
                }
            }
            _ => {}
        }
    }
    out.sort();
}

/// A plan or template checked together with the stack document of the same id replaces that
/// document's resources and keeps its envelope (repository, owner, budget, dependencies). A plan
/// or template checked alone takes its envelope from the flags, the repository's
/// `tollgate.toml`, what it says itself, or the strict defaults ([`crate::envelope`]).
fn merge_plans(stacks: Vec<Stack>, given: &Given, errors: &mut Vec<LoadError>) -> Vec<Stack> {
    let (plans, mut docs): (Vec<Stack>, Vec<Stack>) =
        stacks.into_iter().partition(|s| s.origin.is_imported());
    let mut out = Vec::with_capacity(docs.len() + plans.len());
    let mut configs = envelope::Configs::default();
    for mut plan in plans {
        let config = match configs.for_input(&plan.source.file) {
            Ok(c) => c,
            Err(e) => {
                if !errors.contains(&e) {
                    errors.push(e);
                }
                continue;
            }
        };
        envelope::resolve(&mut plan, given, config.as_deref());
        if !is_identifier(&plan.id) {
            let from = plan
                .envelope
                .get("stack")
                .map_or_else(String::new, |r| format!(" (from {})", r.from));
            errors.push(
                LoadError::new(
                    &plan.source.file,
                    LoadErrorKind::Shape,
                    format!("`{}`{from} is not a valid stack id", plan.id),
                )
                .help("ids are letters, digits, `_` and `-`, starting with a letter or digit"),
            );
            continue;
        }
        match docs
            .iter()
            .position(|d| d.id == plan.id && d.origin == Origin::Document)
        {
            Some(i) => {
                let doc = docs.swap_remove(i);
                out.push(Stack {
                    envelope: envelope::from_document(&doc),
                    resources: plan.resources,
                    source: plan.source,
                    origin: plan.origin,
                    unmodelled: plan.unmodelled,
                    ..doc
                });
            }
            None => {
                envelope::strict_defaults(&mut plan);
                out.push(plan)
            }
        }
    }
    if errors.is_empty() {
        out.extend(docs);
    }
    out
}

/// Checks what needs the whole estate: unique stack ids, references that resolve, no cycles.
/// Adds implied stack dependencies. Stacks must be sorted by id.
fn check_estate(stacks: &mut [Stack]) -> Vec<LoadError> {
    let mut errors = Vec::new();
    for pair in stacks.windows(2) {
        if pair[0].id == pair[1].id {
            errors.push(
                LoadError::new(
                    &pair[1].source.file,
                    LoadErrorKind::DuplicateId,
                    format!(
                        "duplicate stack id `{}` (also in {})",
                        pair[1].id,
                        pair[0].source.file.display()
                    ),
                )
                .path("$.stack"),
            );
        }
    }
    if !errors.is_empty() {
        return errors;
    }
    let ids: HashMap<&str, BTreeSet<&str>> = stacks
        .iter()
        .map(|s| {
            (
                s.id.as_str(),
                s.resources.iter().map(|r| r.id.as_str()).collect(),
            )
        })
        .collect();

    let mut implied: Vec<Vec<String>> = Vec::with_capacity(stacks.len());
    for s in stacks.iter() {
        let mut extra = BTreeSet::new();
        let own = &ids[s.id.as_str()];
        for (i, r) in s.resources.iter().enumerate() {
            let prefix = format!("$.resources[{i}]");
            for d in &r.depends_on {
                if !own.contains(d.as_str()) {
                    let in_refs = r
                        .references
                        .iter()
                        .find(|x| x.stack.is_none() && &x.resource == d);
                    let (path, what) = match in_refs {
                        Some(x) => (
                            format!("{prefix}.properties{}", x.at.trim_start_matches('$')),
                            "reference",
                        ),
                        None => (format!("{prefix}.depends_on"), "dependency"),
                    };
                    errors.push(
                        LoadError::new(
                            &s.source.file,
                            LoadErrorKind::MissingReference,
                            format!("{what} to missing resource `{d}` in stack `{}`", s.id),
                        )
                        .at(r.position)
                        .path(path),
                    );
                }
            }
            for x in r.references.iter().filter(|x| x.stack.is_some()) {
                let Some(target) = x.stack.as_deref() else {
                    continue;
                };
                if target == s.id {
                    if !own.contains(x.resource.as_str()) {
                        errors.push(missing_cross(s, r, &prefix, x));
                    }
                    continue;
                }
                extra.insert(target.to_owned());
                // A stack outside the checked set cannot be verified; references into it are
                // taken as written (see README, "Checking a subset").
                if let Some(target_ids) = ids.get(target)
                    && !target_ids.contains(x.resource.as_str())
                {
                    errors.push(missing_cross(s, r, &prefix, x));
                }
            }
        }
        implied.push(extra.into_iter().collect());
    }
    if !errors.is_empty() {
        return errors;
    }

    // Cycles between stacks (declared and implied dependencies), then between resources.
    let stack_edges: BTreeMap<&str, Vec<&str>> = stacks
        .iter()
        .zip(&implied)
        .map(|(s, extra)| {
            let deps = s
                .depends_on
                .iter()
                .chain(extra)
                .map(String::as_str)
                .filter(|d| ids.contains_key(d))
                .collect();
            (s.id.as_str(), deps)
        })
        .collect();
    if let Some(cycle) = find_cycle(&stack_edges) {
        let first = stacks
            .iter()
            .find(|s| s.id == cycle[0])
            .map(|s| s.source.file.clone());
        let file = first.map(|f| f.to_path_buf()).unwrap_or_default();
        errors.push(
            LoadError::new(
                &file,
                LoadErrorKind::Cycle,
                format!("stack dependency cycle: {}", cycle.join(" → ")),
            )
            .path("$.depends_on"),
        );
    }
    for s in stacks.iter() {
        let edges: BTreeMap<&str, Vec<&str>> = s
            .resources
            .iter()
            .map(|r| {
                (
                    r.id.as_str(),
                    r.depends_on.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        if let Some(cycle) = find_cycle(&edges) {
            let r = s
                .resources
                .iter()
                .position(|r| r.id == cycle[0])
                .unwrap_or(0);
            errors.push(
                LoadError::new(
                    &s.source.file,
                    LoadErrorKind::Cycle,
                    format!(
                        "resource dependency cycle in stack `{}`: {}",
                        s.id,
                        cycle.join(" → ")
                    ),
                )
                .at(s.resources[r].position)
                .path(format!("$.resources[{r}]")),
            );
        }
    }
    drop(stack_edges);
    drop(ids);
    if errors.is_empty() {
        for (s, extra) in stacks.iter_mut().zip(implied) {
            s.depends_on.extend(extra);
            s.depends_on.sort();
            s.depends_on.dedup();
        }
    }
    errors
}

fn missing_cross(s: &Stack, r: &Resource, prefix: &str, x: &Reference) -> LoadError {
    LoadError::new(
        &s.source.file,
        LoadErrorKind::MissingReference,
        format!(
            "reference to missing resource `{}` in stack `{}`",
            x.resource,
            x.stack.as_deref().unwrap_or(&s.id)
        ),
    )
    .at(r.position)
    .path(format!(
        "{prefix}.properties{}",
        x.at.trim_start_matches('$')
    ))
}

/// Finds one cycle in a directed graph (iterative depth-first search). Returns it closed
/// (`a → b → a`), starting at its smallest node so the message does not depend on map order.
pub fn find_cycle<'a>(edges: &BTreeMap<&'a str, Vec<&'a str>>) -> Option<Vec<&'a str>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let mut mark: HashMap<&str, Mark> = edges.keys().map(|k| (*k, Mark::New)).collect();
    for &start in edges.keys() {
        if mark[start] != Mark::New {
            continue;
        }
        let mut path: Vec<(&str, usize)> = vec![(start, 0)];
        mark.insert(start, Mark::Open);
        while let Some(&mut (node, ref mut next)) = path.last_mut() {
            let succ = edges.get(node).map(Vec::as_slice).unwrap_or_default();
            if let Some(&child) = succ.get(*next) {
                *next += 1;
                match mark.get(child).copied() {
                    Some(Mark::New) => {
                        mark.insert(child, Mark::Open);
                        path.push((child, 0));
                    }
                    Some(Mark::Open) => {
                        let from = path.iter().position(|(n, _)| *n == child).unwrap_or(0);
                        let mut cycle: Vec<&str> = path[from..].iter().map(|(n, _)| *n).collect();
                        let min = cycle
                            .iter()
                            .enumerate()
                            .min_by_key(|(_, n)| **n)
                            .map_or(0, |(i, _)| i);
                        cycle.rotate_left(min);
                        cycle.push(cycle[0]);
                        return Some(cycle);
                    }
                    _ => {}
                }
            } else {
                mark.insert(node, Mark::Done);
                path.pop();
            }
        }
    }
    None
}

/// Stacks in dependency order (dependencies first; ties by id). The estate has no cycles.
pub fn stack_order(estate: &Estate) -> Vec<&Stack> {
    let mut done: BTreeSet<&str> = BTreeSet::new();
    let mut order = Vec::with_capacity(estate.stacks.len());
    while order.len() < estate.stacks.len() {
        let before = order.len();
        for s in &estate.stacks {
            if !done.contains(s.id.as_str())
                && s.depends_on
                    .iter()
                    .all(|d| done.contains(d.as_str()) || estate.stack(d).is_none())
            {
                order.push(s);
            }
        }
        for s in &order[before..] {
            done.insert(s.id.as_str());
        }
        if order.len() == before {
            break;
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Stack, Vec<LoadError>> {
        parse_stack(Path::new("s.json"), text, Registry::builtin())
    }

    fn doc(resources: &str) -> String {
        format!(
            r#"{{"stack": "s", "repository": "r", "environment": "prod", "region": "eu-west-1",
"account": "prod", "owner": "o", "resources": [{resources}]}}"#
        )
    }

    #[test]
    fn duplicate_key_in_properties_is_rejected_with_place() {
        let text = doc(r#"
  {"id": "db", "type": "aws_rds_cluster", "properties": {"cluster_identifier": "x", "storage_encrypted": false, "storage_encrypted": true}}"#);
        let errs = parse(&text).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].kind, LoadErrorKind::Syntax);
        assert!(
            errs[0]
                .message
                .contains("duplicate key `storage_encrypted`"),
            "{}",
            errs[0]
        );
        assert_eq!(errs[0].path.as_deref(), Some("$.resources[0].properties"));
        assert_eq!(errs[0].position.map(|p| p.line), Some(3));
    }

    #[test]
    fn duplicate_envelope_field_is_rejected() {
        let errs = parse(r#"{"stack": "a", "stack": "b"}"#).unwrap_err();
        assert!(
            errs[0].message.contains("duplicate field `stack`"),
            "{}",
            errs[0]
        );
    }

    #[test]
    fn unknown_type_suggests_a_name() {
        let errs = parse(&doc(
            r#"{"id": "b", "type": "aws_s3_buckett", "properties": {"bucket": "x"}}"#,
        ))
        .unwrap_err();
        assert_eq!(errs[0].kind, LoadErrorKind::UnknownType);
        assert_eq!(errs[0].path.as_deref(), Some("$.resources[0].type"));
        assert_eq!(
            errs[0].help.as_deref(),
            Some("did you mean `aws_s3_bucket`?")
        );
    }

    #[test]
    fn wrong_property_type_names_the_json_path() {
        let errs = parse(&doc(r#"{"id": "b", "type": "aws_s3_bucket", "properties": {"bucket": "x", "versioning": {"enabled": 1}}}"#)).unwrap_err();
        assert_eq!(errs[0].kind, LoadErrorKind::Schema);
        assert_eq!(
            errs[0].path.as_deref(),
            Some("$.resources[0].properties.versioning.enabled")
        );
    }

    #[test]
    fn duplicate_resource_ids_are_rejected() {
        let r = r#"{"id": "b", "type": "aws_s3_bucket", "properties": {"bucket": "x"}}"#;
        let errs = parse(&doc(&format!("{r},\n{r}"))).unwrap_err();
        assert_eq!(errs[0].kind, LoadErrorKind::DuplicateId);
        assert_eq!(errs[0].path.as_deref(), Some("$.resources[1].id"));
    }

    #[test]
    fn cycles_are_found_and_named() {
        let mut edges = BTreeMap::new();
        edges.insert("c", vec!["a"]);
        edges.insert("a", vec!["b"]);
        edges.insert("b", vec!["c"]);
        edges.insert("d", vec![]);
        assert_eq!(find_cycle(&edges), Some(vec!["a", "b", "c", "a"]));
        edges.insert("c", vec![]);
        assert_eq!(find_cycle(&edges), None);
    }

    // The fault catalogue's names (docs/faults.md) for the tests above.
    #[test]
    fn fault_duplicate_resource_ids_missing_references_and_dependency_cycles() {
        duplicate_resource_ids_are_rejected();
        cycles_are_found_and_named();
    }

    #[test]
    fn fault_unknown_resource_type() {
        unknown_type_suggests_a_name();
    }
}
