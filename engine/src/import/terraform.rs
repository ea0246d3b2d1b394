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

/// Plan format versions this importer understands (major version 1).
const SUPPORTED_MAJOR: &str = "1";

#[derive(Deserialize)]
struct PlanFile<'a> {
    format_version: String,
    #[serde(default)]
    variables: BTreeMap<String, VariableFile>,
    #[serde(default, borrow)]
    resource_changes: Vec<&'a RawValue>,
    #[serde(default, borrow)]
    configuration: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct VariableFile {
    #[serde(default)]
    value: Strict,
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

/// Parses a plan into a stack. All problems are returned together.
pub fn parse_plan(file: &Path, text: &str, registry: &Registry) -> Result<Stack, Vec<LoadError>> {
    let err = |kind, message: String| LoadError::plain(file, kind, message);
    let mut de = serde_json::Deserializer::from_str(text);
    let plan = PlanFile::deserialize(&mut de)
        .and_then(|p| de.end().map(|()| p))
        .map_err(|e| vec![LoadError::json(file, JsonError::from_serde(&e, None), "")])?;
    let major = plan.format_version.split('.').next().unwrap_or_default();
    if major != SUPPORTED_MAJOR {
        return Err(vec![
            err(
                LoadErrorKind::Shape,
                format!(
                    "unsupported Terraform plan format_version `{}` (Tollgate reads {SUPPORTED_MAJOR}.x)",
                    plan.format_version
                ),
            )
            .with_path("$.format_version"),
        ]);
    }

    // Positions: one pass over the text, in the order the entries appear.
    let offsets: Vec<usize> = plan
        .resource_changes
        .iter()
        .map(|r| (r.get().as_ptr() as usize).saturating_sub(text.as_ptr() as usize))
        .collect();
    let positions = positions_of(text, &offsets);

    let parsed: Vec<Result<Option<Instance>, LoadError>> = plan
        .resource_changes
        .par_iter()
        .zip(positions.par_iter())
        .enumerate()
        .map(|(i, (raw, &position))| parse_entry(file, raw.get(), position, i, registry))
        .collect();
    let mut errors = Vec::new();
    let mut instances = Vec::with_capacity(parsed.len());
    let mut unmodelled = Vec::new();
    for p in parsed {
        match p {
            Ok(Some(inst)) if inst.raw.is_some() || registry.get(&inst.type_name).is_some() => {
                instances.push(inst)
            }
            Ok(Some(inst)) => unmodelled.push(Unmodelled::resource(
                inst.address,
                inst.type_name,
                inst.position,
            )),
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    let links = match plan.configuration {
        Some(c) if instances.iter().any(|i| i.raw.is_some()) => {
            config_links(c.get()).map_err(|e| {
                vec![LoadError::json(
                    file,
                    e.shift(line_of(text, c.get())),
                    "$.configuration",
                )]
            })?
        }
        _ => HashMap::new(),
    };
    let mut resources = fold(instances, &links, file, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    for r in &resources {
        if let Some(def) = registry.get(&r.type_name)
            && let Err(v) = registry::check_object(&r.properties, &def.properties, &[], "$")
        {
            errors.push(
                err(
                    LoadErrorKind::Schema,
                    format!("{} `{}`: {}", def.name, r.id, v.message),
                )
                .at(r.position)
                .with_path(format!(
                    "$.resource_changes[?(@.address=='{}')].change.after{}",
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
    envelope(
        file,
        &plan.variables,
        plan.configuration.map(RawValue::get),
        resources,
        unmodelled,
    )
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

fn parse_entry(
    file: &Path,
    raw: &str,
    position: LineCol,
    i: usize,
    registry: &Registry,
) -> Result<Option<Instance>, LoadError> {
    let prefix = format!("$.resource_changes[{i}]");
    let entry: ChangeEntry<'_> = serde_json::from_str(raw).map_err(|e| {
        LoadError::json(
            file,
            JsonError::from_serde(&e, None).shift(position),
            &prefix,
        )
    })?;
    if entry.mode.as_deref() == Some("data") {
        return Ok(None);
    }
    let shape_err = |m: String| {
        LoadError::plain(file, LoadErrorKind::Shape, m)
            .at(position)
            .with_path(format!("{prefix}.change.actions"))
    };
    let actions: Vec<&str> = entry.change.actions.iter().map(String::as_str).collect();
    let change = match actions.as_slice() {
        ["create"] => Change::Create,
        ["update"] => Change::Update,
        ["delete"] => Change::Delete,
        ["delete", "create"] | ["create", "delete"] => Change::Replace,
        ["no-op"] => Change::NoOp,
        ["read"] | ["forget"] => return Ok(None),
        other => {
            return Err(shape_err(format!(
                "unknown plan actions {other:?} for {}",
                entry.address
            )));
        }
    };
    // Deletions are judged on what is being deleted; everything else on what will be.
    let (values, unknown, sensitive) = if change == Change::Delete {
        (
            entry.change.before,
            Value::Null,
            entry.change.before_sensitive.0,
        )
    } else {
        (
            entry.change.after,
            entry.change.after_unknown.0,
            entry.change.after_sensitive.0,
        )
    };
    let values = values.map(RawValue::get).unwrap_or("null");
    let parse_err = |e: serde_json::Error| {
        let mut err = LoadError::json(
            file,
            JsonError::from_serde(&e, None),
            &format!("{prefix}.change.after"),
        );
        err.position = Some(position);
        err
    };

    if is_split(&entry.type_name) {
        let mut de = serde_json::Deserializer::from_str(values);
        let raw = StrictValue.deserialize(&mut de).map_err(parse_err)?;
        return Ok(Some(Instance {
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
        }));
    }
    let Some(def) = registry.get(&entry.type_name) else {
        return Ok(Some(Instance {
            address: entry.address,
            type_name: entry.type_name,
            change,
            position,
            properties: Value::Null,
            tags: BTreeMap::new(),
            raw: None,
        }));
    };
    let mut de = serde_json::Deserializer::from_str(values);
    let (properties, tags) = TopShape {
        fields: &def.properties,
    }
    .deserialize(&mut de)
    .map_err(parse_err)?;
    let properties = mark(properties, &unknown, Some(&def.properties), UNKNOWN);
    let properties = mark(properties, &sensitive, Some(&def.properties), SENSITIVE);
    Ok(Some(Instance {
        address: entry.address,
        type_name: entry.type_name,
        change,
        position,
        properties,
        tags: if def.taggable { tags } else { BTreeMap::new() },
        raw: None,
    }))
}

/// Reads a resource's values in the registry's shape: the properties, and the tags
/// (`tags_all` when the provider sets default tags, else `tags`).
struct TopShape<'t> {
    fields: &'t BTreeMap<String, PropType>,
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
        let (mut tags, mut tags_all) = (None, None);
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "tags" => tags = map.next_value::<Option<BTreeMap<String, Option<String>>>>()?,
                "tags_all" => {
                    tags_all = map.next_value::<Option<BTreeMap<String, Option<String>>>>()?
                }
                k => match self.fields.get(k) {
                    Some(t) => {
                        let v = map.next_value_seed(Shaped(t))?;
                        if v != Value::Null && props.insert(Value::from(k), v).is_some() {
                            return Err(de::Error::custom(format_args!(
                                "duplicate key `{k}` in one object"
                            )));
                        }
                    }
                    None => {
                        map.next_value::<IgnoredAny>()?;
                    }
                },
            }
        }
        let tags = tags_all
            .or(tags)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
        Ok((Value::from(props), tags))
    }
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
            _ => StrictValue.deserialize(d),
        }
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
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match self.0.get(key.as_ref()) {
                Some(t) => {
                    let v = map.next_value_seed(Shaped(t))?;
                    if v != Value::Null && out.insert(Value::from(key.as_ref()), v).is_some() {
                        return Err(de::Error::custom(format_args!(
                            "duplicate key `{key}` in one object"
                        )));
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
}

#[derive(Deserialize)]
struct ModuleCall {
    #[serde(default)]
    module: Option<Box<ConfigModule>>,
}

#[derive(Deserialize)]
struct ConfigResource {
    address: String,
    #[serde(default)]
    expressions: Option<LinkExpressions>,
}

#[derive(Deserialize)]
struct LinkExpressions {
    #[serde(default)]
    bucket: Option<Expression>,
    #[serde(default)]
    security_group_id: Option<Expression>,
}

#[derive(Deserialize)]
struct Expression {
    #[serde(default)]
    references: Vec<String>,
}

/// Config address of a split resource → config address of the object it configures.
fn config_links(text: &str) -> Result<HashMap<String, String>, JsonError> {
    let config: ConfigFile =
        serde_json::from_str(text).map_err(|e| JsonError::from_serde(&e, None))?;
    let mut links = HashMap::new();
    let mut work: Vec<(String, ConfigModule)> =
        vec![(String::new(), config.root_module.unwrap_or_default())];
    while let Some((prefix, module)) = work.pop() {
        for r in module.resources {
            let Some(exprs) = r.expressions else { continue };
            let refs = exprs
                .bucket
                .or(exprs.security_group_id)
                .map(|e| e.references)
                .unwrap_or_default();
            // References name `type.name.attr` and `type.name`; keep the resource part.
            if let Some(target) = refs.iter().find_map(|r| resource_part(r)) {
                links.insert(
                    format!("{prefix}{}", r.address),
                    format!("{prefix}{target}"),
                );
            }
        }
        for (name, call) in module.module_calls {
            if let Some(m) = call.module {
                work.push((format!("{prefix}module.{name}."), *m));
            }
        }
    }
    Ok(links)
}

fn resource_part(reference: &str) -> Option<String> {
    let mut parts = reference.split('.');
    let (t, n) = (parts.next()?, parts.next()?);
    if t.starts_with("aws_") && !t.contains('[') {
        Some(format!("{t}.{}", n.split('[').next().unwrap_or(n)))
    } else {
        None
    }
}

/// `module.a["x"].aws_s3_bucket.b[0]` → `module.a.aws_s3_bucket.b`.
fn strip_indexes(address: &str) -> String {
    let mut out = String::with_capacity(address.len());
    let mut depth = 0;
    let mut in_string = false;
    for c in address.chars() {
        match c {
            '"' if depth > 0 => in_string = !in_string,
            '[' if !in_string => depth += 1,
            ']' if !in_string => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn index_of(address: &str) -> &str {
    match address.rfind('[') {
        Some(i) if address.ends_with(']') && !address[i..].contains('.') => &address[i..],
        _ => "",
    }
}

/// Folds split resources into their objects; an unlinked split resource is an error.
fn fold(
    instances: Vec<Instance>,
    links: &HashMap<String, String>,
    file: &Path,
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
    let by_address: HashMap<String, usize> = resources
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.clone(), i))
        .collect();
    let mut by_config: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, r) in resources.iter().enumerate() {
        by_config.entry(strip_indexes(&r.id)).or_default().push(i);
    }
    let by_value = |key: &str, want: &Value, type_name: &str| -> Option<usize> {
        if matches!(want, Value::String(s) if s.as_ref() == UNKNOWN) {
            return None;
        }
        resources
            .iter()
            .position(|r| r.type_name == type_name && r.properties[key] == *want)
    };

    let mut edits: Vec<(usize, Instance)> = Vec::new();
    for s in split {
        let raw = s.raw.as_ref().unwrap_or(&Value::Null);
        let (link_key, target_type) = if SPLIT_S3.contains(&s.type_name.as_str()) {
            ("bucket", "aws_s3_bucket")
        } else {
            ("security_group_id", "aws_security_group")
        };
        let by_link = links.get(&strip_indexes(&s.address)).and_then(|target| {
            let candidates = by_config.get(target)?;
            match candidates.as_slice() {
                [one] => Some(*one),
                many => many
                    .iter()
                    .copied()
                    .find(|&c| index_of(&resources[c].id) == index_of(&s.address)),
            }
        });
        let target = by_link.or_else(|| {
            let want = &raw[link_key];
            match target_type {
                "aws_s3_bucket" => by_value("bucket", want, target_type),
                _ => by_value("id", want, target_type).or_else(|| {
                    by_address
                        .get(
                            want.as_string()
                                .map(|s| s.to_string())
                                .unwrap_or_default()
                                .as_str(),
                        )
                        .copied()
                }),
            }
        });
        match target {
            Some(t) => edits.push((t, s)),
            None => errors.push(
                LoadError::plain(
                    file,
                    LoadErrorKind::MissingReference,
                    format!(
                        "{} configures a {target_type} that is not in this plan (its `{link_key}` names no planned {target_type}); Tollgate cannot judge it apart from its object",
                        s.address
                    ),
                )
                .at(s.position),
            ),
        }
    }
    for (t, s) in edits {
        let r = &mut resources[t];
        r.change = merge_change(r.change, s.change);
        let raw = s.raw.unwrap_or(Value::Null);
        r.properties = apply_split(&r.properties, &s.type_name, &raw);
    }
    resources
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
                        let transitions: Vec<Value> = match &r["transition"] {
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
                            (
                                "transition",
                                if transitions.is_empty() {
                                    Value::Null
                                } else {
                                    Value::from(transitions)
                                },
                            ),
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
                _ => vec![],
            };
            rules.push(rule);
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
    expressions: BTreeMap<String, ConstantExpression>,
}

#[derive(Deserialize)]
struct ConstantExpression {
    #[serde(default)]
    constant_value: Option<serde_json::Value>,
}

fn envelope(
    file: &Path,
    variables: &BTreeMap<String, VariableFile>,
    configuration: Option<&str>,
    resources: Vec<Resource>,
    unmodelled: Vec<Unmodelled>,
) -> Result<Stack, Vec<LoadError>> {
    let var = |k: &str| match variables.get(k).map(|v| &v.value.0) {
        Some(Value::String(s)) => Some(s.to_string()),
        _ => None,
    };
    let common_tag = |k: &str| super::common_tag(&resources, k);
    let provider_region = configuration.and_then(|c| {
        let parsed: ProviderConfigFile = serde_json::from_str(c).ok()?;
        parsed
            .provider_config
            .values()
            .filter(|p| p.name == "aws")
            .find_map(|p| {
                p.expressions
                    .get("region")?
                    .constant_value
                    .as_ref()?
                    .as_str()
                    .map(str::to_owned)
            })
    });
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let stack = var("stack").or_else(|| common_tag("stack")).unwrap_or(stem);
    // Missing environment or region is only an error when no stack document of the same id
    // is checked in the same run (see `unfilled_envelope`).
    let environment = var("environment").or_else(|| common_tag("environment"));
    let region = var("region").or(provider_region);
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
    let environment = environment.unwrap_or_default();
    Ok(Stack {
        id: stack,
        repository: var("repository").unwrap_or_default(),
        account: var("account").unwrap_or_else(|| environment.clone()),
        owner: var("owner")
            .or_else(|| common_tag("owner"))
            .unwrap_or_default(),
        environment,
        region: region.unwrap_or_default(),
        depends_on: Vec::new(),
        budget,
        resources,
        source: Source::new(file, LineCol { line: 1, column: 1 }),
        origin: crate::model::Origin::TerraformPlan,
        unmodelled,
        managed_elsewhere: Default::default(),
    })
}

/// The envelope fields a plan checked without its stack document failed to give.
pub fn unfilled_envelope(stack: &Stack) -> Vec<LoadError> {
    let file = &stack.source.file;
    let missing = |what: &str, how: &str| {
        LoadError::plain(
            file,
            LoadErrorKind::Shape,
            format!(
                "the plan does not say its stack's {what}: {how}, or check it together with the stack document `{}`",
                stack.id
            ),
        )
    };
    let mut errors = Vec::new();
    if stack.environment.is_empty() {
        errors.push(missing(
            "environment",
            "set the variable `environment` or tag every resource with `environment`",
        ));
    }
    if stack.region.is_empty() {
        errors.push(missing(
            "region",
            "set the variable `region` or a constant `region` in the aws provider block",
        ));
    }
    errors
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
            resource_part("aws_s3_bucket.logs.id").as_deref(),
            Some("aws_s3_bucket.logs")
        );
        assert_eq!(resource_part("var.bucket"), None);
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
