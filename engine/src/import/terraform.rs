//! Terraform plans (`terraform show -json PLAN`), resolved into a stack.
//!
//! Only `resource_changes` is read for resources — it holds every managed resource instance,
//! nested modules included, with its actions, its planned values (`after`), what is unknown until
//! apply (`after_unknown`) and what is sensitive (`after_sensitive`); `planned_values` and
//! `prior_state` repeat the same values and are skipped unread. Values are parsed straight into
//! the registry's shape: attributes the registry does not know are skipped without building them,
//! Terraform's one-element block lists become objects, JSON-encoded policy strings become
//! documents. The entries are located with one scan of the file, then parsed in parallel.
//!
//! Split resources are folded into the object they configure, so a plan gives the same findings
//! as the equivalent stack document: a bucket's encryption, public access block, versioning,
//! policy, lifecycle and ownership; a security group's rules. The link is the `bucket` /
//! `security_group_id` expression's reference in `configuration` (known even when the value is
//! not), else the value itself.
//!
//! The stack envelope comes from the stack document of the same id when it is checked in the same
//! run (the plan then replaces that document's resources); otherwise from the plan's variables
//! (`stack`, `environment`, `region`, `account`, `owner`, `repository`, `budget_monthly_limit_usd`,
//! `budget_alert_thresholds_pct`) and the tags every resource shares, with the provider's region.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;

use rayon::prelude::*;
use regorus::Value;
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::{SENSITIVE, UNKNOWN};
use crate::json::{JsonError, LineCol, Strict, StrictValue};
use crate::load::{LoadError, LoadErrorKind};
use crate::model::{Budget, Change, Resource, Source, Stack, Unmodelled};
use crate::registry::{self, PropType, Registry};

/// Plan format versions this importer reads: 0.1 and 0.2 (Terraform 0.12–0.15) and 1.x
/// (Terraform 1.0 on). They differ in fields this importer does not need, or reads when present
/// (`after_sensitive` came with 0.2).
fn supported_version(v: &str) -> bool {
    let mut parts = v.split('.');
    matches!(
        (parts.next(), parts.next()),
        (Some("0"), Some("1" | "2")) | (Some("1"), Some(_))
    )
}

#[derive(Deserialize)]
struct PlanFile<'a> {
    #[serde(default)]
    format_version: Option<String>,
    #[serde(default)]
    variables: Strict,
    #[serde(default, borrow)]
    resource_changes: Option<Vec<&'a RawValue>>,
    #[serde(default, borrow)]
    planned_values: Option<&'a RawValue>,
    /// `terraform show -json` of a state: what exists.
    #[serde(default, borrow)]
    values: Option<&'a RawValue>,
    #[serde(default, borrow)]
    configuration: Option<&'a RawValue>,
}

struct VariableFile {
    value: Strict,
}

/// `planned_values` and a state's `values`: modules of resources with their values.
#[derive(Deserialize)]
struct ValuesFile<'a> {
    #[serde(default, borrow)]
    root_module: Option<ModuleValues<'a>>,
}

#[derive(Deserialize)]
struct ModuleValues<'a> {
    #[serde(default, borrow)]
    resources: Vec<&'a RawValue>,
    #[serde(default, borrow)]
    child_modules: Vec<ModuleValues<'a>>,
}

#[derive(Deserialize)]
struct ChangeEntry<'a> {
    address: String,
    #[serde(default)]
    mode: Option<String>,
    #[serde(rename = "type")]
    type_name: String,
    #[serde(borrow)]
    change: ChangeBody<'a>,
}

#[derive(Deserialize)]
struct ChangeBody<'a> {
    actions: Vec<String>,
    #[serde(default, borrow)]
    before: Option<&'a RawValue>,
    #[serde(default, borrow)]
    after: Option<&'a RawValue>,
    #[serde(default)]
    after_unknown: Strict,
    #[serde(default)]
    after_sensitive: Strict,
    #[serde(default)]
    before_sensitive: Strict,
}

/// A resource of `planned_values` or of a state's `values`.
#[derive(Deserialize)]
struct ValuesEntry<'a> {
    address: String,
    #[serde(default)]
    mode: Option<String>,
    #[serde(rename = "type")]
    type_name: String,
    #[serde(default, borrow)]
    values: Option<&'a RawValue>,
    #[serde(default)]
    sensitive_values: Strict,
}

/// Where the resources were read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    /// `resource_changes`: each with its actions.
    Changes,
    /// `planned_values` (a plan listing no changes): each judged as created.
    Planned,
    /// A state's `values`: what exists, judged as unchanged.
    State,
}

impl Read {
    fn path(self) -> &'static str {
        match self {
            Read::Changes => "$.resource_changes",
            Read::Planned => "$.planned_values",
            Read::State => "$.values",
        }
    }
}

/// One resource instance read from the plan, before folding.
#[derive(Debug)]
struct Instance {
    address: String,
    type_name: String,
    change: Change,
    position: LineCol,
    properties: Value,
    tags: BTreeMap<String, String>,
    /// For split resources: their raw values (small), to fold.
    raw: Option<Value>,
    /// For split resources: the values before the change (a deleted security group rule is
    /// taken out of its group's inline list).
    before: Option<Value>,
    /// JSON path of the entry.
    path: String,
}

/// Split resources and how they fold.
const SPLIT_S3: [&str; 6] = [
    "aws_s3_bucket_server_side_encryption_configuration",
    "aws_s3_bucket_public_access_block",
    "aws_s3_bucket_versioning",
    "aws_s3_bucket_policy",
    "aws_s3_bucket_lifecycle_configuration",
    "aws_s3_bucket_ownership_controls",
];
const SPLIT_SG: [&str; 3] = [
    "aws_security_group_rule",
    "aws_vpc_security_group_ingress_rule",
    "aws_vpc_security_group_egress_rule",
];

fn is_split(t: &str) -> bool {
    SPLIT_S3.contains(&t) || SPLIT_SG.contains(&t)
}

/// The setting of its object a split resource configures (`None`: it adds to a list).
fn split_setting(t: &str) -> Option<&'static str> {
    Some(match t {
        "aws_s3_bucket_server_side_encryption_configuration" => "server_side_encryption",
        "aws_s3_bucket_public_access_block" => "public_access_block",
        "aws_s3_bucket_versioning" => "versioning",
        "aws_s3_bucket_policy" => "policy",
        "aws_s3_bucket_lifecycle_configuration" => "lifecycle_rule",
        "aws_s3_bucket_ownership_controls" => "object_ownership",
        _ => return None,
    })
}

/// The attribute of the object's own (inline) block a split setting replaces, where it has one.
fn inline_attribute(setting: &str) -> &str {
    match setting {
        "server_side_encryption" => "server_side_encryption_configuration",
        other => other,
    }
}

/// The object type a split resource configures, and the attribute that names it.
fn split_target(t: &str) -> (&'static str, &'static str) {
    if SPLIT_S3.contains(&t) {
        ("bucket", "aws_s3_bucket")
    } else {
        ("security_group_id", "aws_security_group")
    }
}

/// Parses a plan (or the JSON of a state) into a stack. All problems are returned together.
pub fn parse_plan(file: &Path, text: &str, registry: &Registry) -> Result<Stack, Vec<LoadError>> {
    let err = |kind, message: String| LoadError::plain(file, kind, message);
    let mut de = serde_json::Deserializer::from_str(text);
    let plan = PlanFile::deserialize(&mut de)
        .and_then(|p| de.end().map(|()| p))
        .map_err(|e| vec![LoadError::json(file, JsonError::from_serde(&e, None), "")])?;
    let Some(version) = plan.format_version.as_deref() else {
        return Err(vec![
            err(
                LoadErrorKind::Shape,
                "not a Terraform plan: there is no `format_version` (expected the output of `terraform show -json PLANFILE`)".into(),
            )
            .with_path("$"),
        ]);
    };
    if !supported_version(version) {
        return Err(vec![
            err(
                LoadErrorKind::Shape,
                format!(
                    "unsupported Terraform plan format_version `{version}` (Tollgate reads 0.1, 0.2 and 1.x)"
                ),
            )
            .with_path("$.format_version"),
        ]);
    }
    let variables = variables_of(file, &plan.variables)?;

    // What to read: the changes; else the planned values (a plan that lists no changes); else a
    // state's values. A file with none of them is not a plan.
    let values_resources = |raw, path| values_resources(file, text, raw, path);
    let (read, entries): (Read, Vec<&RawValue>) = match &plan.resource_changes {
        Some(changes) if !changes.is_empty() => (Read::Changes, changes.clone()),
        _ => {
            let planned = values_resources(plan.planned_values, "$.planned_values")?;
            if !planned.is_empty() {
                (Read::Planned, planned)
            } else if plan.values.is_some() {
                (Read::State, values_resources(plan.values, "$.values")?)
            } else if plan.resource_changes.is_some() || plan.planned_values.is_some() {
                (Read::Changes, Vec::new())
            } else {
                return Err(vec![
                    err(
                        LoadErrorKind::Shape,
                        "not a Terraform plan or state: it has no `resource_changes`, `planned_values` or `values`".into(),
                    )
                    .with_path("$"),
                ]);
            }
        }
    };

    // `configuration` is read for what values cannot say (links, what is configured); one in a
    // shape this reader does not know leaves both to the values, which fails closed (split
    // resources not evaluated, computed attributes unknown).
    let config = plan
        .configuration
        .and_then(|c| Config::parse(c.get()).ok())
        .unwrap_or_default();

    // Positions: one pass over the text, in the order the entries appear.
    let offsets: Vec<usize> = entries
        .iter()
        .map(|r| (r.get().as_ptr() as usize).saturating_sub(text.as_ptr() as usize))
        .collect();
    let positions = positions_of(text, &offsets);

    let parsed: Vec<Result<Parsed, LoadError>> = entries
        .par_iter()
        .zip(positions.par_iter())
        .enumerate()
        .map(|(i, (raw, &position))| {
            parse_entry(file, raw.get(), position, read, i, registry, &config)
        })
        .collect();
    let mut errors = Vec::new();
    let mut instances = Vec::with_capacity(parsed.len());
    let mut unmodelled = Vec::new();
    let mut seen: HashMap<String, String> = HashMap::new();
    for p in parsed {
        match p {
            Ok(Parsed::Instance(inst)) => {
                if let Some(first) = seen.insert(inst.address.clone(), inst.path.clone()) {
                    errors.push(
                        err(
                            LoadErrorKind::DuplicateId,
                            format!(
                                "two entries for one resource address `{}` (the first is {first}); Tollgate will not guess which one Terraform applies",
                                inst.address
                            ),
                        )
                        .at(inst.position)
                        .with_path(format!("{}.address", inst.path)),
                    );
                } else if inst.raw.is_some() || registry.get(&inst.type_name).is_some() {
                    instances.push(inst)
                } else {
                    unmodelled.push(Unmodelled::resource(
                        inst.address,
                        inst.type_name,
                        inst.position,
                    ))
                }
            }
            Ok(Parsed::NotJudged(what)) => unmodelled.push(what),
            Ok(Parsed::Skipped) => {}
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    let mut resources = fold(instances, &config, file, &mut unmodelled, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    for r in &resources {
        if let Some(def) = registry.get(&r.type_name)
            && let Err(v) = registry::check_object(&r.properties, &def.properties, &[], "$")
        {
            let values = match read {
                Read::Changes => "change.after",
                Read::Planned | Read::State => "values",
            };
            errors.push(
                err(
                    LoadErrorKind::Schema,
                    format!("{} `{}`: {}", def.name, r.id, v.message),
                )
                .at(r.position)
                .with_path(format!(
                    "{}[?(@.address=='{}')].{values}{}",
                    read.path(),
                    r.id,
                    v.path.trim_start_matches('$')
                )),
            );
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    assign_ids(&mut resources);
    unmodelled.sort();
    envelope(
        file,
        &variables,
        plan.configuration.map(RawValue::get),
        resources,
        unmodelled,
    )
}

/// The resources of `planned_values` or of a state's `values`, child modules included, in file
/// order.
fn values_resources<'a>(
    file: &Path,
    text: &str,
    raw: Option<&'a RawValue>,
    path: &str,
) -> Result<Vec<&'a RawValue>, Vec<LoadError>> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    let parsed: ValuesFile<'a> = serde_json::from_str(raw.get()).map_err(|e| {
        vec![LoadError::json(
            file,
            JsonError::from_serde(&e, None).shift(line_of(text, raw.get())),
            path,
        )]
    })?;
    let mut out = Vec::new();
    let mut work: Vec<ModuleValues<'a>> = parsed.root_module.into_iter().collect();
    while let Some(m) = work.pop() {
        out.extend(m.resources);
        work.extend(m.child_modules);
    }
    // In file order, for positions.
    out.sort_by_key(|r| r.get().as_ptr() as usize);
    Ok(out)
}

/// The plan's variables: `{"name": {"value": …}}`, each name once.
fn variables_of(
    file: &Path,
    raw: &Strict,
) -> Result<BTreeMap<String, VariableFile>, Vec<LoadError>> {
    let mut out = BTreeMap::new();
    let Value::Object(vars) = &raw.0 else {
        return Ok(out);
    };
    for (k, v) in vars.iter() {
        let name = k.as_string().map(|s| s.to_string()).unwrap_or_default();
        let value = match v {
            Value::Object(o) => o.get(&Value::from("value")).cloned().unwrap_or(Value::Null),
            _ => {
                return Err(vec![
                    LoadError::plain(
                        file,
                        LoadErrorKind::Shape,
                        format!("variable `{name}` is not an object with a `value`"),
                    )
                    .with_path(format!("$.variables.{name}")),
                ]);
            }
        };
        out.insert(
            name,
            VariableFile {
                value: Strict(value),
            },
        );
    }
    Ok(out)
}

fn positions_of(text: &str, offsets: &[usize]) -> Vec<LineCol> {
    let bytes = text.as_bytes();
    let (mut line, mut at, mut line_start) = (1usize, 0usize, 0usize);
    offsets
        .iter()
        .map(|&o| {
            if o >= at {
                for nl in memchr::memchr_iter(b'\n', &bytes[at..o]) {
                    line += 1;
                    line_start = at + nl + 1;
                }
                at = o;
            }
            LineCol {
                line,
                column: o.saturating_sub(line_start) + 1,
            }
        })
        .collect()
}

fn line_of(text: &str, slice: &str) -> LineCol {
    crate::json::line_col(
        text,
        (slice.as_ptr() as usize).saturating_sub(text.as_ptr() as usize),
    )
}

/// What one entry of the plan is.
enum Parsed {
    Instance(Instance),
    /// Read but not judged, with the reason.
    NotJudged(Unmodelled),
    /// A data source: read by Terraform, nothing to judge.
    Skipped,
}

/// The AWS provider's older names that are the same resource as a newer one (`aws_alb_listener`
/// is `aws_lb_listener`): judged as the newer type, so one set of rules covers both spellings.
/// (`aws_alb` keeps a registered type of its own.) The address keeps the name the plan gives.
fn canonical_type(type_name: String) -> String {
    match type_name.as_str() {
        "aws_alb_listener" => "aws_lb_listener".to_owned(),
        "aws_alb_listener_rule" => "aws_lb_listener_rule".to_owned(),
        "aws_alb_listener_certificate" => "aws_lb_listener_certificate".to_owned(),
        "aws_alb_target_group" => "aws_lb_target_group".to_owned(),
        "aws_alb_target_group_attachment" => "aws_lb_target_group_attachment".to_owned(),
        _ => type_name,
    }
}

/// The values, unknown and sensitive marks, and actions of one entry, whichever part of the
/// file it came from.
struct EntryParts<'a> {
    address: String,
    mode: Option<String>,
    type_name: String,
    change: Result<Change, Vec<String>>,
    values: Option<&'a RawValue>,
    before: Option<&'a RawValue>,
    unknown: Value,
    sensitive: Value,
}

fn parse_entry(
    file: &Path,
    raw: &str,
    position: LineCol,
    read: Read,
    i: usize,
    registry: &Registry,
    config: &Config,
) -> Result<Parsed, LoadError> {
    let prefix = format!("{}[{i}]", read.path());
    let json_err = |e: serde_json::Error| {
        LoadError::json(
            file,
            JsonError::from_serde(&e, None).shift(position),
            &prefix,
        )
    };
    let entry = match read {
        Read::Changes => {
            let e: ChangeEntry<'_> = serde_json::from_str(raw).map_err(json_err)?;
            let actions: Vec<&str> = e.change.actions.iter().map(String::as_str).collect();
            let change = match actions.as_slice() {
                ["create"] => Ok(Change::Create),
                ["update"] => Ok(Change::Update),
                ["delete"] => Ok(Change::Delete),
                ["delete", "create"] | ["create", "delete"] => Ok(Change::Replace),
                ["no-op"] => Ok(Change::NoOp),
                _ => Err(e.change.actions.clone()),
            };
            // Deletions are judged on what is being deleted; everything else on what will be.
            let deleting = change == Ok(Change::Delete);
            EntryParts {
                address: e.address,
                mode: e.mode,
                type_name: canonical_type(e.type_name),
                values: if deleting {
                    e.change.before
                } else {
                    e.change.after
                },
                before: e.change.before,
                unknown: if deleting {
                    Value::Null
                } else {
                    e.change.after_unknown.0
                },
                sensitive: if deleting {
                    e.change.before_sensitive.0
                } else {
                    e.change.after_sensitive.0
                },
                change,
            }
        }
        Read::Planned | Read::State => {
            let e: ValuesEntry<'_> = serde_json::from_str(raw).map_err(json_err)?;
            EntryParts {
                address: e.address,
                mode: e.mode,
                type_name: canonical_type(e.type_name),
                change: Ok(if read == Read::State {
                    Change::NoOp
                } else {
                    Change::Create
                }),
                values: e.values,
                before: None,
                unknown: Value::Null,
                sensitive: e.sensitive_values.0,
            }
        }
    };
    let shape_err = |m: String, at: &str| {
        LoadError::plain(file, LoadErrorKind::Shape, m)
            .at(position)
            .with_path(format!("{prefix}{at}"))
    };
    if entry.address.trim().is_empty() {
        return Err(shape_err(
            format!("a {} entry with an empty address", entry.type_name),
            ".address",
        ));
    }
    // `mode` says it (a module may be named `data`); plans too old to write it, the address.
    let data = match entry.mode.as_deref() {
        Some(mode) => mode == "data",
        None => entry.address.starts_with("data.") || entry.address.contains(".data."),
    };
    let change = match entry.change {
        Ok(c) => c,
        Err(actions) => {
            let a: Vec<&str> = actions.iter().map(String::as_str).collect();
            return match a.as_slice() {
                // Data sources are read, not managed: nothing to judge.
                ["read"] if data => Ok(Parsed::Skipped),
                ["read"] => Err(shape_err(
                    format!(
                        "plan action `read` on the managed resource {}: Terraform reads only data sources",
                        entry.address
                    ),
                    ".change.actions",
                )),
                // `removed { lifecycle { destroy = false } }`: Terraform lets go of it, the object stays.
                ["forget"] => Ok(Parsed::NotJudged(
                    Unmodelled::resource(entry.address, entry.type_name, position)
                        .because("forgotten by Terraform, left in the cloud"),
                )),
                other => Err(shape_err(
                    format!("unknown plan actions {other:?} for {}", entry.address),
                    ".change.actions",
                )),
            };
        }
    };
    if data {
        return Ok(Parsed::Skipped);
    }
    let values_path = match read {
        Read::Changes if change == Change::Delete => ".change.before",
        Read::Changes => ".change.after",
        Read::Planned | Read::State => ".values",
    };
    let values = entry.values.map(RawValue::get).unwrap_or("null");
    let parse_err = |e: serde_json::Error| {
        let mut err = LoadError::json(
            file,
            JsonError::from_serde(&e, None),
            &format!("{prefix}{values_path}"),
        );
        err.position = Some(position);
        err
    };
    // What is unknown only because the provider computes it, and the configuration never sets,
    // is absent — not unknown (a new role's `inline_policy`).
    let unknown = config.prune_computed(&entry.address, entry.unknown);
    let sensitive = entry.sensitive;

    if is_split(&entry.type_name) {
        let mut de = serde_json::Deserializer::from_str(values);
        let raw = StrictValue.deserialize(&mut de).map_err(parse_err)?;
        let before = match entry.before {
            Some(b) if change == Change::Delete || change == Change::Replace => {
                Some(crate::json::parse_strict(b.get()).map_err(|e| {
                    LoadError::json(file, e, &format!("{prefix}.change.before")).at(position)
                })?)
            }
            _ => None,
        };
        return Ok(Parsed::Instance(Instance {
            address: entry.address,
            type_name: entry.type_name,
            change,
            position,
            properties: Value::Null,
            tags: BTreeMap::new(),
            raw: Some(mark(
                mark(raw, &unknown, None, UNKNOWN),
                &sensitive,
                None,
                SENSITIVE,
            )),
            before,
            path: prefix,
        }));
    }
    let Some(def) = registry.get(&entry.type_name) else {
        return Ok(Parsed::Instance(Instance {
            address: entry.address,
            type_name: entry.type_name,
            change,
            position,
            properties: Value::Null,
            tags: BTreeMap::new(),
            raw: None,
            before: None,
            path: prefix,
        }));
    };
    let mut de = serde_json::Deserializer::from_str(values);
    let (properties, tags) = TopShape {
        fields: &def.properties,
        inline: inline_blocks(&entry.type_name),
    }
    .deserialize(&mut de)
    .map_err(parse_err)?;
    let properties = mark(properties, &unknown, Some(&def.properties), UNKNOWN);
    let properties = mark(properties, &sensitive, Some(&def.properties), SENSITIVE);
    let properties = inline_settings(&entry.type_name, properties, &unknown);
    Ok(Parsed::Instance(Instance {
        address: entry.address,
        type_name: entry.type_name,
        change,
        position,
        properties,
        tags: if def.taggable { tags } else { BTreeMap::new() },
        raw: None,
        before: None,
        path: prefix,
    }))
}

/// Reads a resource's values in the registry's shape: the properties, and the tags
/// (`tags_all` when the provider sets default tags, else `tags`). Inline blocks the model holds
/// under another name (`inline`) are kept raw for [`inline_settings`].
struct TopShape<'t> {
    fields: &'t BTreeMap<String, PropType>,
    inline: &'static [&'static str],
}

impl<'de> DeserializeSeed<'de> for TopShape<'_> {
    type Value = (Value, BTreeMap<String, String>);

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopShape<'_> {
    type Value = (Value, BTreeMap<String, String>);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a resource's values (an object)")
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok((Value::new_object(), BTreeMap::new()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut props = BTreeMap::new();
        let mut seen = std::collections::HashSet::new();
        let (mut tags, mut tags_all) = (None, None);
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            // A repeated key is an error even when one of the two is null: Terraform never
            // writes one, and "the last one wins" is a guess.
            if !seen.insert(key.to_string()) {
                return Err(de::Error::custom(format_args!(
                    "duplicate key `{key}` in one object"
                )));
            }
            match key.as_ref() {
                "tags" => tags = map.next_value_seed(TagsShape)?,
                "tags_all" => tags_all = map.next_value_seed(TagsShape)?,
                k if self.inline.contains(&k) => {
                    let v = map.next_value_seed(StrictValue)?;
                    if v != Value::Null {
                        props.insert(Value::from(format!("{INLINE_PREFIX}{k}")), v);
                    }
                }
                k => match self.fields.get(k) {
                    Some(t) => {
                        let v = map.next_value_seed(Shaped(t))?;
                        if v != Value::Null {
                            props.insert(Value::from(k), v);
                        }
                    }
                    // The object's id, to find the split resources that name it by value.
                    None if k == "id" => {
                        if let v @ Value::String(_) = map.next_value_seed(StrictValue)? {
                            props.insert(Value::from(KNOWN_ID), v);
                        }
                    }
                    None => {
                        map.next_value::<IgnoredAny>()?;
                    }
                },
            }
        }
        let tags = tags_all.or(tags).unwrap_or_default();
        Ok((Value::from(props), tags))
    }
}

/// A `tags` map: each key once (a null value is no tag, but still counts as the key), string
/// values (numbers and booleans are written as Terraform would show them).
struct TagsShape;

impl<'de> DeserializeSeed<'de> for TagsShape {
    type Value = Option<BTreeMap<String, String>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TagsShape {
    type Value = Option<BTreeMap<String, String>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of tags")
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    /// `aws_autoscaling_group`'s `tags`: a list of `{key, value, propagate_at_launch}`.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = BTreeMap::new();
        while let Some(item) = seq.next_element_seed(StrictValue)? {
            let (Value::String(k), v) = (&item["key"], &item["value"]) else {
                return Err(de::Error::custom(
                    "a list of tags holds objects with a string `key` and a `value`",
                ));
            };
            let v = match v {
                Value::String(s) => s.to_string(),
                Value::Null | Value::Undefined => continue,
                other => other.to_string(),
            };
            if out.insert(k.to_string(), v).is_some() {
                return Err(de::Error::custom(format_args!(
                    "duplicate tag `{k}`; each tag key may appear once"
                )));
            }
        }
        Ok(Some(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = BTreeMap::new();
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format_args!(
                    "duplicate tag `{key}`; each tag key may appear once"
                )));
            }
            let value = match map.next_value::<serde_json::Value>()? {
                serde_json::Value::Null => continue,
                serde_json::Value::String(s) => s,
                serde_json::Value::Bool(b) => b.to_string(),
                serde_json::Value::Number(n) => n.to_string(),
                other => {
                    return Err(de::Error::custom(format_args!(
                        "tag `{key}` is not a string (got {})",
                        if other.is_array() {
                            "a list"
                        } else {
                            "an object"
                        }
                    )));
                }
            };
            out.insert(key, value);
        }
        Ok(Some(out))
    }
}

/// Inline blocks kept raw, under this prefix, until [`inline_settings`] maps them.
const INLINE_PREFIX: &str = "\u{0}inline:";

/// The inline blocks of `type_name` the model holds under another shape.
fn inline_blocks(type_name: &str) -> &'static [&'static str] {
    match type_name {
        "aws_s3_bucket" => &["server_side_encryption_configuration", "lifecycle_rule"],
        _ => &[],
    }
}

/// Maps the inline blocks the AWS provider still accepts into the model's settings, as the
/// split resources do: `server_side_encryption_configuration` → `server_side_encryption`,
/// `lifecycle_rule` (with `expiration` / `noncurrent_version_expiration` blocks) →
/// `lifecycle_rule`. `unknown` is the entry's after_unknown tree.
fn inline_settings(type_name: &str, properties: Value, unknown: &Value) -> Value {
    let blocks = inline_blocks(type_name);
    if blocks.is_empty() {
        return properties;
    }
    let Value::Object(o) = &properties else {
        return properties;
    };
    let mut out: BTreeMap<Value, Value> = o
        .iter()
        .filter(|(k, _)| !k.as_string().is_ok_and(|s| s.starts_with(INLINE_PREFIX)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for block in blocks {
        let raw = o
            .get(&Value::from(format!("{INLINE_PREFIX}{block}")))
            .cloned()
            .unwrap_or(Value::Null);
        let marks = &unknown[*block];
        let raw = mark(raw, marks, None, UNKNOWN);
        match *block {
            "server_side_encryption_configuration" => {
                if matches!(&raw, Value::String(_)) {
                    out.insert(Value::from("server_side_encryption"), raw);
                    continue;
                }
                let first_config = first(&raw);
                if *first_config == Value::Null || *first_config == Value::Undefined {
                    continue;
                }
                let folded = apply_split(
                    &Value::from(BTreeMap::<Value, Value>::new()),
                    "aws_s3_bucket_server_side_encryption_configuration",
                    first_config,
                );
                if let Some(v) = folded
                    .as_object()
                    .ok()
                    .and_then(|f| f.get(&Value::from("server_side_encryption")))
                {
                    out.insert(Value::from("server_side_encryption"), v.clone());
                }
            }
            "lifecycle_rule" => {
                let rules: Vec<Value> = match &raw {
                    Value::Array(rs) => rs
                        .iter()
                        .map(|r| {
                            obj(vec![
                                ("id", present(&r["id"])),
                                ("enabled", present(&r["enabled"])),
                                ("prefix", present(&r["prefix"])),
                                ("expiration_days", present(&first(&r["expiration"])["days"])),
                                (
                                    "noncurrent_version_expiration_days",
                                    present(&first(&r["noncurrent_version_expiration"])["days"]),
                                ),
                                (
                                    "abort_incomplete_multipart_upload_days",
                                    present(&r["abort_incomplete_multipart_upload_days"]),
                                ),
                                ("transition", lifecycle_transitions(&r["transition"])),
                            ])
                        })
                        .filter(|r| *r != Value::from(BTreeMap::<Value, Value>::new()))
                        .collect(),
                    Value::String(_) => {
                        out.insert(Value::from("lifecycle_rule"), raw.clone());
                        continue;
                    }
                    _ => vec![],
                };
                if !rules.is_empty() {
                    out.insert(Value::from("lifecycle_rule"), Value::from(rules));
                }
            }
            _ => {}
        }
    }
    Value::from(out)
}

/// A value read in the shape of a registry type.
struct Shaped<'t>(&'t PropType);

impl<'de> DeserializeSeed<'de> for Shaped<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        match self.0 {
            PropType::Object(fields) => d.deserialize_any(ObjectShape(fields)),
            PropType::List(inner) => d.deserialize_any(ListShape(inner)),
            PropType::Json => StrictValue.deserialize(d).map(decode_json_string),
            PropType::Bool | PropType::Int => StrictValue
                .deserialize(d)
                .map(|v| provider_string_scalar(v, self.0)),
            _ => StrictValue.deserialize(d),
        }
    }
}

/// Some of the AWS provider's flags and numbers are strings in its schema, so a plan writes them
/// as strings: `aws_launch_template`'s `ebs.encrypted = "true"`, its network interfaces'
/// `associate_public_ip_address = "false"`, and `""` for "not set". They are read as the bool or
/// integer they mean (as Terraform converts them); any other string stays a string, which the
/// type check then refuses with its place.
fn provider_string_scalar(v: Value, t: &PropType) -> Value {
    let Value::String(s) = &v else { return v };
    match (t, s.as_ref()) {
        (_, "") => Value::Null,
        (PropType::Bool, "true") => Value::from(true),
        (PropType::Bool, "false") => Value::from(false),
        (PropType::Int, text) => text.parse::<i64>().map_or(v.clone(), Value::from),
        _ => v,
    }
}

/// A lifecycle rule's `transition` blocks (inline on `aws_s3_bucket` or in
/// `aws_s3_bucket_lifecycle_configuration`: the same fields), `null` when there are none.
fn lifecycle_transitions(raw: &Value) -> Value {
    let transitions: Vec<Value> = match raw {
        Value::Array(ts) => ts
            .iter()
            .map(|t| {
                obj(vec![
                    ("days", present(&t["days"])),
                    ("storage_class", present(&t["storage_class"])),
                ])
            })
            .collect(),
        _ => vec![],
    };
    if transitions.is_empty() {
        Value::Null
    } else {
        Value::from(transitions)
    }
}

/// Terraform encodes policy documents as JSON strings; the model holds them as documents.
fn decode_json_string(v: Value) -> Value {
    if let Value::String(s) = &v
        && s.trim_start().starts_with(['{', '['])
        && let Ok(doc) = crate::json::parse_strict(s)
    {
        return doc;
    }
    v
}

macro_rules! scalars_as_values {
    () => {
        fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
            Ok(Value::from(v))
        }
        fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
            Ok(Value::from(v))
        }
        fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
            Ok(Value::from(v))
        }
        fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
            Ok(Value::from(v))
        }
        fn visit_str<E>(self, v: &str) -> Result<Value, E> {
            Ok(Value::from(v))
        }
        fn visit_unit<E>(self) -> Result<Value, E> {
            Ok(Value::Null)
        }
    };
}

struct ObjectShape<'t>(&'t BTreeMap<String, PropType>);

impl<'de> Visitor<'de> for ObjectShape<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object or a one-element block list")
    }

    scalars_as_values!();

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = BTreeMap::new();
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            // Repeated even beside a null: refused, never "the last one wins".
            if !seen.insert(key.to_string()) {
                return Err(de::Error::custom(format_args!(
                    "duplicate key `{key}` in one object"
                )));
            }
            match self.0.get(key.as_ref()) {
                Some(t) => {
                    let v = map.next_value_seed(Shaped(t))?;
                    if v != Value::Null {
                        out.insert(Value::from(key.as_ref()), v);
                    }
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Value::from(out))
    }

    /// A Terraform nested block with at most one element, where the model has an object.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let first = seq.next_element_seed(Shaped(&PropType::Object(self.0.clone())))?;
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(first.unwrap_or(Value::Null))
    }
}

struct ListShape<'t>(&'t PropType);

impl<'de> Visitor<'de> for ListShape<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list")
    }

    scalars_as_values!();

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(Shaped(self.0))? {
            items.push(v);
        }
        Ok(Value::from(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Value, A::Error> {
        StrictValue.deserialize(de::value::MapAccessDeserializer::new(map))
    }
}

/// Puts `sentinel` wherever `marks` (Terraform's `after_unknown` / `after_sensitive` tree) has
/// `true`, following the registry's shape when `fields` is given (unwrapping block lists).
fn mark(
    value: Value,
    marks: &Value,
    fields: Option<&BTreeMap<String, PropType>>,
    sentinel: &str,
) -> Value {
    if !has_true(marks) {
        return value;
    }
    if *marks == Value::Bool(true) {
        return Value::from(sentinel);
    }
    match marks {
        Value::Array(items) => match (&value, fields) {
            // A block list marked where the model holds one object.
            (_, Some(_)) => items
                .first()
                .map_or(value.clone(), |m| mark(value.clone(), m, fields, sentinel)),
            (Value::Array(values), None) => Value::from(
                values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        items
                            .get(i)
                            .map_or(v.clone(), |m| mark(v.clone(), m, None, sentinel))
                    })
                    .collect::<Vec<_>>(),
            ),
            _ => value,
        },
        Value::Object(m) => {
            let mut out: BTreeMap<Value, Value> = match &value {
                Value::Object(o) => o.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                _ => BTreeMap::new(),
            };
            for (k, sub) in m.iter() {
                let key = k.as_string().map(|s| s.to_string()).unwrap_or_default();
                let field = match fields {
                    Some(f) => match f.get(&key) {
                        Some(t) => Some(t),
                        None => continue,
                    },
                    None => None,
                };
                let current = out.get(k).cloned().unwrap_or(Value::Null);
                let updated = match field {
                    Some(PropType::Object(sub_fields)) => {
                        mark(current, sub, Some(sub_fields), sentinel)
                    }
                    Some(PropType::List(inner)) => match (&**inner, sub, &current) {
                        (PropType::Object(sub_fields), Value::Array(ms), Value::Array(vs)) => {
                            Value::from(
                                vs.iter()
                                    .enumerate()
                                    .map(|(i, v)| {
                                        ms.get(i).map_or(v.clone(), |m| {
                                            mark(v.clone(), m, Some(sub_fields), sentinel)
                                        })
                                    })
                                    .collect::<Vec<_>>(),
                            )
                        }
                        _ => mark(current, sub, None, sentinel),
                    },
                    _ => mark(current, sub, None, sentinel),
                };
                if updated != Value::Null {
                    out.insert(k.clone(), updated);
                }
            }
            Value::from(out)
        }
        _ => value,
    }
}

fn has_true(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Array(items) => items.iter().any(has_true),
        Value::Object(o) => o.values().any(has_true),
        _ => false,
    }
}

#[derive(Deserialize)]
struct ConfigFile {
    #[serde(default)]
    root_module: Option<ConfigModule>,
}

#[derive(Deserialize, Default)]
struct ConfigModule {
    #[serde(default)]
    resources: Vec<ConfigResource>,
    #[serde(default)]
    module_calls: BTreeMap<String, ModuleCall>,
    #[serde(default)]
    outputs: BTreeMap<String, ConfigOutput>,
}

#[derive(Deserialize)]
struct ModuleCall {
    #[serde(default)]
    module: Option<Box<ConfigModule>>,
    #[serde(default)]
    expressions: BTreeMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct ConfigOutput {
    #[serde(default)]
    expression: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ConfigResource {
    address: String,
    #[serde(default)]
    expressions: Option<serde_json::Value>,
}

/// What `configuration` says that values cannot: which attributes the configuration sets (so
/// an unknown one it does not set is computed by the provider, not unknown), and how a split
/// resource's `bucket` / `security_group_id` expression reaches its object — through module
/// inputs and outputs, conditionals, other split resources and indices.
#[derive(Debug, Default)]
struct Config {
    /// Config address with its module path (`module.a.aws_s3_bucket.b`) → (module path, the
    /// resource's expressions).
    resources: HashMap<String, (String, serde_json::Value)>,
    /// Module path of a call (`module.a.`) + input name → (the caller's module path, the
    /// input expression's references).
    inputs: HashMap<String, (String, Vec<String>)>,
    /// Module path + output name → the output expression's references.
    outputs: HashMap<String, Vec<String>>,
}

/// What a split resource's link expression reaches.
#[derive(Debug, Default)]
struct Link {
    /// Config addresses of objects of the target type, each with the literal index the
    /// reference gives (`[0]`, `["a"]`), if any.
    targets: Vec<(String, Option<String>)>,
    /// The expression goes through a local value (the configuration does not show locals).
    through_local: bool,
}

fn references(expression: &serde_json::Value) -> Vec<String> {
    match expression.get("references") {
        Some(serde_json::Value::Array(rs)) => rs
            .iter()
            .filter_map(|r| r.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether an `expressions` entry is one expression (rather than a nested block's body).
fn is_expression(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Object(o) => {
            o.is_empty() || o.contains_key("references") || o.contains_key("constant_value")
        }
        _ => true,
    }
}

impl Config {
    fn parse(text: &str) -> Result<Config, JsonError> {
        let file: ConfigFile =
            serde_json::from_str(text).map_err(|e| JsonError::from_serde(&e, None))?;
        let mut config = Config::default();
        let mut work: Vec<(String, ConfigModule)> =
            vec![(String::new(), file.root_module.unwrap_or_default())];
        while let Some((path, module)) = work.pop() {
            for r in module.resources {
                config.resources.insert(
                    format!("{path}{}", r.address),
                    (
                        path.clone(),
                        r.expressions.unwrap_or(serde_json::Value::Null),
                    ),
                );
            }
            for (name, out) in module.outputs {
                if let Some(e) = out.expression {
                    config
                        .outputs
                        .insert(format!("{path}{name}"), references(&e));
                }
            }
            for (name, call) in module.module_calls {
                let child = format!("{path}module.{name}.");
                for (input, e) in &call.expressions {
                    config
                        .inputs
                        .insert(format!("{child}{input}"), (path.clone(), references(e)));
                }
                if let Some(m) = call.module {
                    work.push((child, *m));
                }
            }
        }
        Ok(config)
    }

    /// Removes from `marks` (an entry's after_unknown) what the configuration does not set: a
    /// computed attribute the provider fills in at apply, which the plan shows as unknown but
    /// nothing configured. Kept whole when the resource's configuration is not in the plan.
    ///
    /// Known limit: Terraform leaves `dynamic` blocks out of `configuration`, so a block made by
    /// a `dynamic` over a collection unknown until apply is taken as absent here.
    fn prune_computed(&self, address: &str, marks: Value) -> Value {
        match self.resources.get(&strip_indexes(address)) {
            Some((_, exprs)) if exprs.is_object() => prune(marks, exprs),
            _ => marks,
        }
    }

    /// Whether the configuration of the resource at `address` sets `attribute`.
    fn sets(&self, address: &str, attribute: &str) -> bool {
        self.resources
            .get(&strip_indexes(address))
            .is_some_and(|(_, e)| e.get(attribute).is_some())
    }

    /// The objects of `target_type` that the split resource at `address` configures, as its
    /// `attribute` expression reaches them.
    fn link(&self, address: &str, attribute: &str, target_type: &str) -> Option<Link> {
        let (path, exprs) = self.resources.get(&strip_indexes(address))?;
        let refs = exprs.get(attribute).map(references).unwrap_or_default();
        let mut link = Link::default();
        self.resolve(path, &refs, target_type, 0, &mut link);
        // `type.name[0].id`, `type.name[0]` and `type.name` name one object: keep the most
        // precise.
        let all = std::mem::take(&mut link.targets);
        let mut targets: Vec<(String, Option<String>)> = Vec::new();
        for (t, i) in &all {
            let redundant = i.is_none() && all.iter().any(|(u, j)| u == t && j.is_some());
            if !redundant && !targets.contains(&(t.clone(), i.clone())) {
                targets.push((t.clone(), i.clone()));
            }
        }
        link.targets = targets;
        Some(link)
    }

    fn resolve(
        &self,
        path: &str,
        refs: &[String],
        target_type: &str,
        depth: usize,
        link: &mut Link,
    ) {
        if depth > 32 {
            return;
        }
        for r in refs {
            if r.starts_with("local.") {
                link.through_local = true;
            } else if let Some(name) = r.strip_prefix("var.") {
                let name = name.split(['.', '[']).next().unwrap_or(name);
                if let Some((parent, prefs)) = self.inputs.get(&format!("{path}{name}")) {
                    self.resolve(parent, prefs, target_type, depth + 1, link);
                }
            } else if let Some(rest) = r.strip_prefix("module.") {
                // module.NAME.OUTPUT or module.NAME["key"].OUTPUT
                let name_end = rest.find(['.', '[']).unwrap_or(rest.len());
                let name = &rest[..name_end];
                let after = strip_indexes(&rest[name_end..]);
                if let Some(output) = after.strip_prefix('.') {
                    let output = output.split('.').next().unwrap_or(output);
                    let child = format!("{path}module.{name}.");
                    if let Some(orefs) = self.outputs.get(&format!("{child}{output}")) {
                        self.resolve(&child, orefs, target_type, depth + 1, link);
                    }
                }
            } else if let Some((type_name, name, index)) = resource_reference(r) {
                if type_name == target_type {
                    link.targets
                        .push((format!("{path}{type_name}.{name}"), index));
                } else if is_split(type_name) && split_target(type_name).1 == target_type {
                    // `bucket = aws_s3_bucket_policy.this[0].id`: the bucket of another
                    // split resource.
                    if let Some((p, exprs)) =
                        self.resources.get(&format!("{path}{type_name}.{name}"))
                    {
                        let attr = split_target(type_name).0;
                        let next = exprs.get(attr).map(references).unwrap_or_default();
                        self.resolve(p, &next, target_type, depth + 1, link);
                    }
                }
            }
        }
    }
}

fn prune(marks: Value, exprs: &serde_json::Value) -> Value {
    let Value::Object(m) = &marks else {
        return marks;
    };
    let mut out = BTreeMap::new();
    for (k, sub) in m.iter() {
        let key = k.as_string().map(|s| s.to_string()).unwrap_or_default();
        let Some(e) = exprs.get(&key) else {
            // Computed, and not set by the configuration: absent.
            continue;
        };
        let kept = match (e, sub) {
            (serde_json::Value::Array(blocks), Value::Array(items)) if !blocks.is_empty() => {
                Value::from(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, item)| {
                            let body = blocks.get(i).unwrap_or(&blocks[0]);
                            if is_expression(body) {
                                item.clone()
                            } else {
                                prune(item.clone(), body)
                            }
                        })
                        .collect::<Vec<_>>(),
                )
            }
            (serde_json::Value::Object(_), Value::Object(_)) if !is_expression(e) => {
                prune(sub.clone(), e)
            }
            _ => sub.clone(),
        };
        out.insert(k.clone(), kept);
    }
    Value::from(out)
}

/// `aws_s3_bucket.this[0].id` → (`aws_s3_bucket`, `this`, `Some("[0]")`).
fn resource_reference(reference: &str) -> Option<(&str, &str, Option<String>)> {
    let (type_name, rest) = reference.split_once('.')?;
    if !type_name.starts_with("aws_") || type_name.contains('[') {
        return None;
    }
    let name_end = rest.find(['.', '[']).unwrap_or(rest.len());
    let name = &rest[..name_end];
    let index = rest[name_end..].strip_prefix('[').and_then(|after| {
        // The index up to its closing bracket, outside quotes.
        let mut in_string = false;
        for (i, c) in after.char_indices() {
            match c {
                '"' => in_string = !in_string,
                ']' if !in_string => return Some(format!("[{}]", &after[..i])),
                _ => {}
            }
        }
        None
    });
    (!name.is_empty()).then_some((type_name, name, index))
}

/// `module.a["x"].aws_s3_bucket.b[0]` → `module.a.aws_s3_bucket.b`.
fn strip_indexes(address: &str) -> String {
    let mut out = String::with_capacity(address.len());
    let mut depth = 0usize;
    let mut in_string = false;
    for c in address.chars() {
        match c {
            '"' if depth > 0 => in_string = !in_string,
            '[' if !in_string => depth += 1,
            ']' if !in_string => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// The index of the last part of an address: `[0]` of `aws_s3_bucket.b[0]`.
fn index_of(address: &str) -> &str {
    match address.rfind('[') {
        Some(i) if address.ends_with(']') && !address[i..].contains('.') => &address[i..],
        _ => "",
    }
}

/// The module instance an address is in: `module.a["x"].` of `module.a["x"].aws_s3_bucket.b`.
fn module_instance(address: &str) -> &str {
    let trimmed = &address[..address.len() - index_of(address).len()];
    // Drop `type.name`.
    let mut cut = trimmed.len();
    for _ in 0..2 {
        cut = trimmed[..cut].rfind('.').unwrap_or(0);
    }
    if cut == 0 { "" } else { &address[..=cut] }
}

/// Folds split resources into their objects. One whose object is not in the plan (a rule added
/// to another stack's group, a targeted plan) is listed in `unmodelled` with that reason; two
/// that set the same setting of one object are an input error.
fn fold(
    instances: Vec<Instance>,
    config: &Config,
    file: &Path,
    unmodelled: &mut Vec<Unmodelled>,
    errors: &mut Vec<LoadError>,
) -> Vec<Resource> {
    let (split, objects): (Vec<Instance>, Vec<Instance>) =
        instances.into_iter().partition(|i| i.raw.is_some());
    let mut resources: Vec<Resource> = objects
        .into_iter()
        .map(|i| Resource {
            id: i.address,
            type_name: i.type_name,
            properties: i.properties,
            tags: i.tags,
            depends_on: Vec::new(),
            usage: Value::Null,
            position: i.position,
            references: Vec::new(),
            change: i.change,
        })
        .collect();
    let mut by_config: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, r) in resources.iter().enumerate() {
        by_config.entry(strip_indexes(&r.id)).or_default().push(i);
    }
    let is_unknown = |v: &Value| matches!(v, Value::String(s) if s.as_ref() == UNKNOWN);
    let by_value = |want: &Value, type_name: &str| -> Vec<usize> {
        if is_unknown(want) || !matches!(want, Value::String(_)) {
            return Vec::new();
        }
        resources
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                r.type_name == type_name
                    && (r.properties["bucket"] == *want || r.properties[KNOWN_ID] == *want)
            })
            .map(|(i, _)| i)
            .collect()
    };

    let mut edits: Vec<(usize, Instance)> = Vec::new();
    for s in split {
        let raw = s.raw.as_ref().unwrap_or(&Value::Null);
        let (link_key, target_type) = split_target(&s.type_name);
        let link = config.link(&s.address, link_key, target_type);
        let mut reason = format!("the {target_type} it configures is not in this plan");
        // 1. The configuration's references, resolved to planned instances.
        let mut found: Vec<usize> = Vec::new();
        if let Some(link) = &link {
            for (target, literal) in &link.targets {
                let Some(candidates) = by_config.get(target) else {
                    continue;
                };
                // An object in the split resource's own module is the one of the same module
                // instance (`module.a["x"]`).
                let mine = module_instance(&s.address);
                let same_module: Vec<usize> = if module_instance(target) == strip_indexes(mine) {
                    let v: Vec<usize> = candidates
                        .iter()
                        .copied()
                        .filter(|&c| module_instance(&resources[c].id) == mine)
                        .collect();
                    if v.is_empty() { candidates.clone() } else { v }
                } else {
                    candidates.clone()
                };
                let chosen: Vec<usize> = match (literal, same_module.as_slice()) {
                    (_, [one]) => vec![*one],
                    (Some(ix), many) => many
                        .iter()
                        .copied()
                        .filter(|&c| index_of(&resources[c].id) == ix.as_str())
                        .collect(),
                    (None, many) => many
                        .iter()
                        .copied()
                        .filter(|&c| index_of(&resources[c].id) == index_of(&s.address))
                        .collect(),
                };
                for c in chosen {
                    if !found.contains(&c) {
                        found.push(c);
                    }
                }
            }
            if found.len() > 1 {
                reason = format!(
                    "its `{link_key}` may name any of {} planned {target_type}s (a conditional); Tollgate will not guess which",
                    found.len()
                );
            }
        }
        // 2. The value, when it is known (an existing object).
        if found.len() != 1 {
            let by_v = by_value(&raw[link_key], target_type);
            if by_v.len() == 1 {
                found = by_v;
            }
        }
        // 3. Through a local value: the one object of that type being created beside it.
        if found.is_empty()
            && link.as_ref().is_some_and(|l| l.through_local)
            && is_unknown(&raw[link_key])
        {
            let mine = module_instance(&s.address);
            let beside: Vec<usize> = resources
                .iter()
                .enumerate()
                .filter(|(_, r)| {
                    r.type_name == target_type
                        && module_instance(&r.id) == mine
                        && matches!(r.change, Change::Create | Change::Replace)
                })
                .map(|(i, _)| i)
                .collect();
            if beside.len() == 1 {
                found = beside;
            } else {
                reason = format!(
                    "its `{link_key}` comes through a local value, which the plan does not show, and {} {target_type}s are created beside it",
                    beside.len()
                );
            }
        }
        match found.as_slice() {
            [t] => edits.push((*t, s)),
            _ => unmodelled.push(
                Unmodelled::resource(s.address.clone(), s.type_name.clone(), s.position)
                    .because(reason),
            ),
        }
    }

    // Deletes first (the setting is gone), then what is set; one setting, one resource.
    edits.sort_by_key(|(_, s)| s.change != Change::Delete);
    let mut setters: HashMap<(usize, &'static str), String> = HashMap::new();
    for (t, s) in edits {
        let r = &mut resources[t];
        r.change = merge_change(r.change, s.change);
        let setting = split_setting(&s.type_name);
        if s.change == Change::Delete {
            r.properties = match setting {
                Some(key) => unset(&r.properties, key),
                None => remove_rule(
                    &r.properties,
                    &s.type_name,
                    s.before.as_ref().or(s.raw.as_ref()),
                ),
            };
            continue;
        }
        if let Some(key) = setting {
            if let Some(first) = setters.insert((t, key), s.address.clone()) {
                errors.push(
                    LoadError::plain(
                        file,
                        LoadErrorKind::Shape,
                        format!(
                            "{first} and {} both configure the {key} of {}; Terraform would apply both in turn and the result depends on their order — keep one",
                            s.address, r.id
                        ),
                    )
                    .at(s.position)
                    .with_path(format!("{}.address", s.path)),
                );
                continue;
            }
            let inline = inline_attribute(key);
            if config.sets(&r.id, inline) {
                errors.push(
                    LoadError::plain(
                        file,
                        LoadErrorKind::Shape,
                        format!(
                            "{} configures the {key} of {}, whose own `{inline}` block sets it too; the AWS provider applies both and they fight — keep one",
                            s.address, r.id
                        ),
                    )
                    .at(s.position)
                    .with_path(format!("{}.address", s.path)),
                );
                continue;
            }
        }
        let raw = s.raw.unwrap_or(Value::Null);
        r.properties = apply_split(&r.properties, &s.type_name, &raw);
    }
    for r in &mut resources {
        r.properties = unset(&r.properties, KNOWN_ID);
    }
    resources
}

/// The object's own `id`, when known, kept while folding to find split resources by value.
const KNOWN_ID: &str = "\u{0}id";

fn unset(props: &Value, key: &str) -> Value {
    match props {
        Value::Object(o) if o.contains_key(&Value::from(key)) => Value::from(
            o.iter()
                .filter(|(k, _)| **k != Value::from(key))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<BTreeMap<_, _>>(),
        ),
        other => other.clone(),
    }
}

/// Takes a deleted security group rule out of its group's inline list (which the plan may
/// still show from the state).
fn remove_rule(props: &Value, split_type: &str, before: Option<&Value>) -> Value {
    let Some(before) = before else {
        return props.clone();
    };
    let probe = apply_split(&Value::new_object(), split_type, before);
    let Some((direction, rule)) = ["ingress", "egress"].iter().find_map(|d| match &probe[*d] {
        Value::Array(items) => items.first().map(|r| (*d, r.clone())),
        _ => None,
    }) else {
        return props.clone();
    };
    match &props[direction] {
        Value::Array(items) => {
            let kept: Vec<Value> = items
                .iter()
                .filter(|item| !same_rule(item, &rule))
                .cloned()
                .collect();
            set(props, direction, Value::from(kept))
        }
        _ => props.clone(),
    }
}

/// Whether two rules open the same ports to the same sources (descriptions aside).
fn same_rule(a: &Value, b: &Value) -> bool {
    let keys = [
        "from_port",
        "to_port",
        "protocol",
        "cidr_blocks",
        "ipv6_cidr_blocks",
        "security_groups",
        "self",
    ];
    let norm = |v: &Value| match v {
        Value::Undefined | Value::Null => Value::Null,
        Value::Array(items) if items.is_empty() => Value::Null,
        other => other.clone(),
    };
    keys.iter().all(|k| norm(&a[*k]) == norm(&b[*k]))
}

fn merge_change(object: Change, part: Change) -> Change {
    match (object, part) {
        (Change::NoOp, Change::NoOp) => Change::NoOp,
        (Change::NoOp, _) => Change::Update,
        (o, _) => o,
    }
}

fn first(v: &Value) -> &Value {
    match v {
        Value::Array(items) => items.first().unwrap_or(&Value::Null),
        other => other,
    }
}

fn set(props: &Value, key: &str, v: Value) -> Value {
    let mut out: BTreeMap<Value, Value> = match props {
        Value::Object(o) => o.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        _ => BTreeMap::new(),
    };
    if v != Value::Null && v != Value::Undefined {
        out.insert(Value::from(key), v);
    }
    Value::from(out)
}

fn obj(pairs: Vec<(&str, Value)>) -> Value {
    Value::from(
        pairs
            .into_iter()
            .filter(|(_, v)| *v != Value::Null && *v != Value::Undefined)
            .map(|(k, v)| (Value::from(k), v))
            .collect::<BTreeMap<_, _>>(),
    )
}

fn present(v: &Value) -> Value {
    match v {
        Value::Undefined => Value::Null,
        other => other.clone(),
    }
}

fn apply_split(props: &Value, split_type: &str, raw: &Value) -> Value {
    match split_type {
        "aws_s3_bucket_server_side_encryption_configuration" => {
            let rule = first(&raw["rule"]);
            let default = first(&rule["apply_server_side_encryption_by_default"]);
            set(
                props,
                "server_side_encryption",
                obj(vec![
                    ("sse_algorithm", present(&default["sse_algorithm"])),
                    ("kms_key_id", present(&default["kms_master_key_id"])),
                    ("bucket_key_enabled", present(&rule["bucket_key_enabled"])),
                ]),
            )
        }
        "aws_s3_bucket_public_access_block" => set(
            props,
            "public_access_block",
            obj([
                "block_public_acls",
                "block_public_policy",
                "ignore_public_acls",
                "restrict_public_buckets",
            ]
            .into_iter()
            .map(|k| (k, present(&raw[k])))
            .collect()),
        ),
        "aws_s3_bucket_versioning" => {
            let status = &first(&raw["versioning_configuration"])["status"];
            let enabled = match status {
                Value::String(s) if s.as_ref() == UNKNOWN => status.clone(),
                Value::String(s) => Value::from(s.as_ref() == "Enabled"),
                _ => Value::Null,
            };
            set(props, "versioning", obj(vec![("enabled", enabled)]))
        }
        "aws_s3_bucket_policy" => set(props, "policy", decode_json_string(present(&raw["policy"]))),
        "aws_s3_bucket_ownership_controls" => set(
            props,
            "object_ownership",
            present(&first(&raw["rule"])["object_ownership"]),
        ),
        "aws_s3_bucket_lifecycle_configuration" => {
            let rules: Vec<Value> = match &raw["rule"] {
                Value::Array(rs) => rs
                    .iter()
                    .map(|r| {
                        obj(vec![
                            ("id", present(&r["id"])),
                            (
                                "enabled",
                                match &r["status"] {
                                    Value::String(s) => Value::from(s.as_ref() == "Enabled"),
                                    _ => Value::Null,
                                },
                            ),
                            ("prefix", present(&first(&r["filter"])["prefix"])),
                            ("expiration_days", present(&first(&r["expiration"])["days"])),
                            (
                                "noncurrent_version_expiration_days",
                                present(
                                    &first(&r["noncurrent_version_expiration"])["noncurrent_days"],
                                ),
                            ),
                            ("transition", lifecycle_transitions(&r["transition"])),
                        ])
                    })
                    .collect(),
                _ => vec![],
            };
            set(props, "lifecycle_rule", Value::from(rules))
        }
        _ => {
            // Security group rules: append to the group's ingress or egress.
            let (direction, rule) = match split_type {
                "aws_security_group_rule" => {
                    let direction = match &raw["type"] {
                        Value::String(s) if s.as_ref() == "egress" => "egress",
                        _ => "ingress",
                    };
                    let sources = match &raw["source_security_group_id"] {
                        Value::String(_) => {
                            Value::from(vec![raw["source_security_group_id"].clone()])
                        }
                        _ => Value::Null,
                    };
                    (
                        direction,
                        obj(vec![
                            ("description", present(&raw["description"])),
                            ("from_port", present(&raw["from_port"])),
                            ("to_port", present(&raw["to_port"])),
                            ("protocol", present(&raw["protocol"])),
                            ("cidr_blocks", present(&raw["cidr_blocks"])),
                            ("ipv6_cidr_blocks", present(&raw["ipv6_cidr_blocks"])),
                            ("security_groups", sources),
                            ("self", present(&raw["self"])),
                        ]),
                    )
                }
                _ => {
                    let direction = if split_type.ends_with("egress_rule") {
                        "egress"
                    } else {
                        "ingress"
                    };
                    let one = |k: &str| match &raw[k] {
                        Value::String(_) => Value::from(vec![raw[k].clone()]),
                        _ => Value::Null,
                    };
                    let protocol = present(&raw["ip_protocol"]);
                    // `-1` means every protocol and port.
                    let every = matches!(&protocol, Value::String(s) if s.as_ref() == "-1");
                    (
                        direction,
                        obj(vec![
                            ("description", present(&raw["description"])),
                            (
                                "from_port",
                                if every {
                                    Value::from(0i64)
                                } else {
                                    present(&raw["from_port"])
                                },
                            ),
                            (
                                "to_port",
                                if every {
                                    Value::from(65535i64)
                                } else {
                                    present(&raw["to_port"])
                                },
                            ),
                            ("protocol", protocol),
                            ("cidr_blocks", one("cidr_ipv4")),
                            ("ipv6_cidr_blocks", one("cidr_ipv6")),
                            ("security_groups", one("referenced_security_group_id")),
                        ]),
                    )
                }
            };
            let mut rules: Vec<Value> = match &props[direction] {
                Value::Array(items) => items.iter().cloned().collect(),
                // The group's whole list is unknown until apply: it stays unknown.
                Value::String(_) => return props.clone(),
                _ => vec![],
            };
            // The plan may list a split rule in its group's inline list too (from the state).
            if !rules.iter().any(|r| same_rule(r, &rule)) {
                rules.push(rule);
            }
            set(props, direction, Value::from(rules))
        }
    }
}

/// Resource ids: the address without its type (`events`, `module.storage.events`, `node[0]`),
/// unless two resources would share one; then both keep their whole address.
fn assign_ids(resources: &mut [Resource]) {
    let short = |r: &Resource| -> String {
        let marker = format!("{}.", r.type_name);
        match r.id.rfind(&marker) {
            Some(i) if i == 0 || r.id[..i].ends_with('.') => {
                format!("{}{}", &r.id[..i], &r.id[i + marker.len()..])
            }
            _ => r.id.clone(),
        }
    };
    let mut count: HashMap<String, usize> = HashMap::new();
    for r in resources.iter() {
        *count.entry(short(r)).or_default() += 1;
    }
    for r in resources.iter_mut() {
        let s = short(r);
        if count[&s] == 1 {
            r.id = s;
        }
    }
    resources.sort_by(|a, b| a.id.cmp(&b.id));
}

#[derive(Deserialize)]
struct ProviderConfigFile {
    #[serde(default)]
    provider_config: BTreeMap<String, ProviderConfig>,
}

#[derive(Deserialize)]
struct ProviderConfig {
    #[serde(default)]
    name: String,
    #[serde(default)]
    alias: Option<String>,
    #[serde(default)]
    module_address: Option<String>,
    #[serde(default)]
    expressions: BTreeMap<String, ProviderExpression>,
}

#[derive(Deserialize)]
struct ProviderExpression {
    #[serde(default)]
    constant_value: Option<serde_json::Value>,
    #[serde(default)]
    references: Vec<String>,
}

/// The region the root module's default aws provider is configured with: a constant, or a
/// variable whose value the plan records. `None` when it is set another way (or not at all).
fn provider_region(
    configuration: Option<&str>,
    var: &dyn Fn(&str) -> Option<String>,
) -> Option<(String, String)> {
    let parsed: ProviderConfigFile = serde_json::from_str(configuration?).ok()?;
    let mut aws: Vec<&ProviderConfig> = parsed
        .provider_config
        .values()
        .filter(|p| p.name == "aws" && p.module_address.is_none())
        .collect();
    // The default (unaliased) provider first.
    aws.sort_by_key(|p| p.alias.is_some());
    aws.into_iter().find_map(|p| {
        let e = p.expressions.get("region")?;
        if let Some(v) = e.constant_value.as_ref().and_then(|v| v.as_str()) {
            return Some((v.to_owned(), "the aws provider's region".to_owned()));
        }
        e.references.iter().find_map(|r| {
            let name = r.strip_prefix("var.")?;
            Some((
                var(name)?,
                format!("the aws provider's region (variable `{name}`)"),
            ))
        })
    })
}

/// The envelope the plan gives: its variables, the aws provider's region, the tags every
/// resource shares. What it does not give is left empty; the loader resolves the rest
/// ([`crate::envelope`]).
fn envelope(
    file: &Path,
    variables: &BTreeMap<String, VariableFile>,
    configuration: Option<&str>,
    resources: Vec<Resource>,
    unmodelled: Vec<Unmodelled>,
) -> Result<Stack, Vec<LoadError>> {
    let var = |k: &str| match variables.get(k).map(|v| &v.value.0) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.to_string()),
        _ => None,
    };
    let mut found = crate::envelope::Envelope::default();
    let mut take = |field: &str, names: &[&str], tag: bool| -> String {
        for n in names {
            if let Some(v) = var(n) {
                found.found(field, v.clone(), format!("plan variable `{n}`"));
                return v;
            }
        }
        if tag && let Some(v) = super::common_tag(&resources, field) {
            found.found(field, v.clone(), format!("tag `{field}` of every resource"));
            return v;
        }
        String::new()
    };
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let stack = Some(take("stack", &["stack"], true))
        .filter(|s| !s.is_empty())
        .unwrap_or(stem);
    let environment = take("environment", &["environment", "env"], true);
    let account = take("account", &["account"], false);
    let owner = take("owner", &["owner"], true);
    let repository = take("repository", &["repository"], false);
    let mut region = take("region", &["region", "aws_region"], false);
    if region.is_empty()
        && let Some((r, from)) = provider_region(configuration, &var)
    {
        found.found("region", r.clone(), from);
        region = r;
    }
    let budget = match variables
        .get("budget_monthly_limit_usd")
        .map(|v| &v.value.0)
    {
        Some(Value::Number(n)) => Some(Budget {
            monthly_limit_usd: n.as_i64().unwrap_or(0),
            alert_thresholds_pct: match variables
                .get("budget_alert_thresholds_pct")
                .map(|v| &v.value.0)
            {
                Some(Value::Array(items)) => items.iter().filter_map(|t| t.as_i64().ok()).collect(),
                _ => Vec::new(),
            },
        }),
        _ => None,
    };
    Ok(Stack {
        id: stack,
        repository,
        account,
        owner,
        environment,
        region,
        depends_on: Vec::new(),
        budget,
        resources,
        source: Source::new(file, LineCol { line: 1, column: 1 }),
        origin: crate::model::Origin::TerraformPlan,
        unmodelled,
        managed_elsewhere: Default::default(),
        envelope: found,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_stripping_and_reference_parts() {
        assert_eq!(
            strip_indexes(r#"module.a["x"].aws_s3_bucket.b[0]"#),
            "module.a.aws_s3_bucket.b"
        );
        assert_eq!(
            strip_indexes(r#"aws_s3_bucket.b["a[1]"]"#),
            "aws_s3_bucket.b"
        );
        assert_eq!(index_of("aws_s3_bucket.b[0]"), "[0]");
        assert_eq!(index_of("aws_s3_bucket.b"), "");
        assert_eq!(
            resource_reference("aws_s3_bucket.logs.id"),
            Some(("aws_s3_bucket", "logs", None))
        );
        assert_eq!(
            resource_reference(r#"aws_s3_bucket.logs["a]"].id"#),
            Some(("aws_s3_bucket", "logs", Some(r#"["a]"]"#.to_owned())))
        );
        assert_eq!(resource_reference("var.bucket"), None);
        assert_eq!(
            module_instance(r#"module.a["x.y"].aws_s3_bucket.b[0]"#),
            r#"module.a["x.y"]."#
        );
        assert_eq!(module_instance("aws_s3_bucket.b"), "");
    }

    #[test]
    fn unknown_marks_follow_block_lists() {
        let mut fields = BTreeMap::new();
        fields.insert(
            "root_block_device".to_owned(),
            PropType::Object([("encrypted".to_owned(), PropType::Bool)].into()),
        );
        fields.insert("kms_key_id".to_owned(), PropType::String);
        let value = crate::json::parse_strict(r#"{"root_block_device": {}}"#).unwrap();
        let marks = crate::json::parse_strict(
            r#"{"root_block_device": [{"encrypted": true}], "kms_key_id": true, "arn": true}"#,
        )
        .unwrap();
        let marked = mark(value, &marks, Some(&fields), UNKNOWN);
        assert_eq!(
            marked["root_block_device"]["encrypted"],
            Value::from(UNKNOWN)
        );
        assert_eq!(marked["kms_key_id"], Value::from(UNKNOWN));
        assert_eq!(
            marked["arn"],
            Value::Undefined,
            "attributes outside the registry stay out"
        );
    }
}
