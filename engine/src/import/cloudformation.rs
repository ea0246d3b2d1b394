//! CloudFormation templates (JSON and YAML), resolved into a stack.
//!
//! JSON templates are read strictly (a repeated key is an error, as everywhere in Tollgate). YAML
//! templates are read as events from `saphyr-parser` (YAML 1.2) into a small tree that keeps the
//! line of every node: a repeated key, a second document, nesting deeper than [`MAX_DEPTH`] and
//! an unknown tag are errors; the short forms `!Ref x`, `!GetAtt a.b`, `!Sub …`, `!Condition c`
//! become their long forms `{"Ref": "x"}`, `{"Fn::GetAtt": "a.b"}`, `{"Fn::Sub": …}`,
//! `{"Condition": "c"}`. Both formats then go through the same code.
//!
//! Intrinsic functions are resolved as far as a template alone allows, and checked: `Ref` and
//! `Fn::GetAtt` to another modelled resource become Tollgate's same-stack reference `"${Id}"`
//! (a dependency); `Ref` to a parameter becomes its `Default` ([`SENSITIVE`] for `NoEcho`, else
//! [`UNKNOWN`] without one); pseudo parameters are [`UNKNOWN`] except `AWS::Region` when the
//! template's `Metadata.Tollgate.region` says it, and `AWS::NoValue` removes the property;
//! `Fn::Sub` and `Fn::Join` whose parts are all known become their text; every other function
//! (`Fn::If`, `Fn::Select`, `Fn::ImportValue`, `Fn::FindInMap`, …) is [`UNKNOWN`]. A broken
//! intrinsic — a wrong argument shape, a reference to nothing, a function key beside other keys —
//! is an input error with the file, the line and the JSON path.
//!
//! Resource types are mapped onto registered Terraform types with the registry's attribute names
//! (`SPECS`, listed by [`mapped_types`]); attributes the mapping does not know are skipped. Split resources (a bucket
//! policy, a security group's separate ingress and egress rules, IAM policies attached to a role,
//! queue and topic policies) are folded into the object they configure through their `!Ref`.
//! Other types are kept out of evaluation and listed in the stack's `unmodelled`.
//!
//! The stack envelope comes from the stack document of the same id when it is checked in the same
//! run (the template then replaces that document's resources); else from the template's
//! `Metadata.Tollgate` object (`stack`, `environment`, `region`, `account`, `owner`,
//! `repository`, `depends_on`, `budget: {monthly_limit_usd, alert_thresholds_pct}`); else from
//! the tags every resource shares and the file name.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;

use regorus::Value;
use saphyr_parser::{Event, Marker, Parser, ScalarStyle, Tag};
use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::{SENSITIVE, UNKNOWN};
use crate::json::{self, LineCol};
use crate::load::{LoadError, LoadErrorKind};
use crate::model::{
    Budget, Change, Origin, Reference, Resource, Source, Stack, Unmodelled, is_identifier,
};
use crate::registry::{self, PropType, Registry};

mod transforms;

/// Deepest nesting of mappings and sequences read from a YAML template (JSON keeps serde_json's
/// limit of 128).
pub const MAX_DEPTH: usize = 128;

/// Most nodes YAML aliases may copy in one template (against "billion laughs").
const MAX_ALIAS_NODES: usize = 100_000;

/// Most bytes of values YAML aliases may copy in one template: each alias is a copy, so a few
/// aliases of one long string are as much a bomb as a ladder of lists. A node counts its text
/// (strings and keys) and [`NODE_BYTES`] for itself.
pub const MAX_ALIAS_BYTES: usize = 64 * 1024 * 1024;

/// What one node counts towards [`MAX_ALIAS_BYTES`] besides its text.
const NODE_BYTES: usize = 16;

/// JSON values are located to this depth (`$.Resources.X.Properties.A[0].B.C`); deeper values
/// carry the line of their ancestor at this depth.
const POSITION_DEPTH: usize = 8;

/// The sections a template may have.
const SECTIONS: [&str; 10] = [
    "AWSTemplateFormatVersion",
    "Description",
    "Metadata",
    "Parameters",
    "Rules",
    "Mappings",
    "Conditions",
    "Transform",
    "Resources",
    "Outputs",
];

/// The attributes a resource may have.
const RESOURCE_ATTRIBUTES: [&str; 9] = [
    "Type",
    "Properties",
    "DependsOn",
    "Condition",
    "Metadata",
    "DeletionPolicy",
    "UpdateReplacePolicy",
    "UpdatePolicy",
    "CreationPolicy",
];

/// Functions with a YAML short form (`!Name`); all but `Ref` and `Condition` take `Fn::`.
const SHORT_FORMS: &[&str] = &[
    "Ref",
    "Condition",
    "GetAtt",
    "Sub",
    "Join",
    "If",
    "Select",
    "ImportValue",
    "FindInMap",
    "Base64",
    "Split",
    "Equals",
    "Not",
    "And",
    "Or",
    "GetAZs",
    "Cidr",
    "Length",
    "ToJsonString",
    "Transform",
    // The Rules section's functions.
    "ValueOf",
    "Contains",
    "EachMemberEquals",
    "EachMemberIn",
    "RefAll",
];

const PSEUDO_PARAMETERS: [&str; 8] = [
    "AWS::AccountId",
    "AWS::NotificationARNs",
    "AWS::NoValue",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
];

/// `AWS::Partition` and `AWS::URLSuffix` of a region: China's and GovCloud's regions have their
/// own; every other region, and a region nothing gives, is in `aws` (the rules that read ARNs
/// accept every partition, so the choice never decides a verdict).
fn partition(region: Option<&str>) -> (&'static str, &'static str) {
    match region {
        Some(r) if r.starts_with("cn-") => ("aws-cn", "amazonaws.com.cn"),
        Some(r) if r.starts_with("us-gov-") => ("aws-us-gov", "amazonaws.com"),
        _ => ("aws", "amazonaws.com"),
    }
}

// ---------------------------------------------------------------------------------------------
// Detection
// ---------------------------------------------------------------------------------------------

/// Whether `file` is read as YAML: `.yaml` / `.yml`, or `.template` (and no extension) whose text
/// does not start with `{`.
pub fn is_yaml(file: &Path, text: &str) -> bool {
    match extension(file).as_deref() {
        Some("yaml" | "yml") => true,
        Some("json") => false,
        _ => !text.trim_start().starts_with('{'),
    }
}

/// Whether `file`'s name says it may be a YAML (or `.template`) CloudFormation template.
pub fn has_template_extension(file: &Path) -> bool {
    matches!(
        extension(file).as_deref(),
        Some("yaml" | "yml" | "template")
    )
}

fn extension(file: &Path) -> Option<String> {
    file.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
}

/// Whether `text` looks like a CloudFormation template: a top-level `Resources` and either
/// `AWSTemplateFormatVersion` or a resource type `AWS::…`. Cheap; used to pick the importer and
/// to pick YAML files out of directories.
pub fn looks_like_template(file: &Path, text: &str) -> bool {
    if is_yaml(file, text) {
        looks_like_yaml_template(text)
    } else {
        looks_like_json_template(text)
    }
}

fn looks_like_json_template(text: &str) -> bool {
    if !text.contains("\"Resources\"") {
        return false;
    }
    let aws_type = || text.contains("\"AWS::");
    // The top-level keys, tolerating repeated keys (the strict parse reports those later).
    struct TopKeys(Vec<String>);
    impl<'de> Deserialize<'de> for TopKeys {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = TopKeys;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<TopKeys, A::Error> {
                    let mut keys = Vec::new();
                    while let Some(k) = m.next_key::<String>()? {
                        m.next_value::<IgnoredAny>()?;
                        keys.push(k);
                    }
                    Ok(TopKeys(keys))
                }
            }
            d.deserialize_map(V)
        }
    }
    match serde_json::from_str::<TopKeys>(text) {
        Ok(TopKeys(keys)) => {
            let has = |k: &str| keys.iter().any(|x| x == k);
            has("Resources")
                && !has("resources")
                && !has("format_version")
                && (has("AWSTemplateFormatVersion") || aws_type())
        }
        // Broken JSON: let the template reader report it if it says it is a template.
        Err(_) => text.contains("\"AWSTemplateFormatVersion\"") || aws_type(),
    }
}

fn looks_like_yaml_template(text: &str) -> bool {
    let (mut resources, mut version, mut aws_type) = (false, false, false);
    for line in text.lines() {
        if !line.starts_with([' ', '\t', '#', '-']) {
            let key = line
                .split(':')
                .next()
                .unwrap_or_default()
                .trim()
                .trim_matches(['"', '\'']);
            resources |= key == "Resources";
            version |= key == "AWSTemplateFormatVersion";
        }
        let t = line.trim_start();
        aws_type |= (t.starts_with("Type:") || t.starts_with("\"Type\":")) && t.contains("AWS::");
    }
    resources && (version || aws_type)
}

// ---------------------------------------------------------------------------------------------
// The tree both formats are read into
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Node {
    at: LineCol,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

#[derive(Debug, Clone)]
struct Entry {
    key: String,
    /// The key's position (YAML) or the value's (JSON).
    at: LineCol,
    value: Node,
}

impl Node {
    fn get(&self, key: &str) -> Option<&Entry> {
        match &self.kind {
            Kind::Map(entries) => entries.iter().find(|e| e.key == key),
            _ => None,
        }
    }

    fn describe(&self) -> &'static str {
        match &self.kind {
            Kind::Null => "null",
            Kind::Bool(_) => "a boolean",
            Kind::Int(_) | Kind::Float(_) => "a number",
            Kind::Str(_) => "a string",
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
        }
    }

    /// The nodes and the bytes (see [`MAX_ALIAS_BYTES`]) a copy of this node makes.
    fn size(&self) -> (usize, usize) {
        let (mut n, mut bytes) = (0, 0);
        let mut work = vec![self];
        while let Some(node) = work.pop() {
            n += 1;
            bytes += NODE_BYTES;
            match &node.kind {
                Kind::Str(s) => bytes += s.len(),
                Kind::Seq(items) => work.extend(items),
                Kind::Map(entries) => {
                    bytes += entries.iter().map(|e| e.key.len()).sum::<usize>();
                    work.extend(entries.iter().map(|e| &e.value));
                }
                _ => {}
            }
        }
        (n, bytes)
    }
}

/// Line starts of a text, for offsets met in any order.
struct Lines(Vec<usize>);

impl Lines {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        Self(starts)
    }

    fn at(&self, offset: usize) -> LineCol {
        let line = self.0.partition_point(|&s| s <= offset).max(1);
        LineCol {
            line,
            column: offset - self.0[line - 1] + 1,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------------------------

fn parse_json(file: &Path, text: &str) -> Result<Node, LoadError> {
    // The strict pass: syntax, repeated keys, depth, with positions and paths.
    let lines = Lines::new(text);
    json::parse_strict(text).map_err(|mut e| {
        // serde_json places a repeated key's error at the end of its object; point at the key.
        if let Some(key) = e
            .message
            .strip_prefix("duplicate key `")
            .and_then(|m| m.split_once('`'))
            .map(|(k, _)| k)
            && let Some(p) = e.position
            && let Some(&start) = lines.0.get(p.line - 1)
        {
            let end = (start + p.column - 1).min(text.len());
            let quoted = format!("\"{key}\"");
            let mut search = &text[..end];
            while let Some(i) = search.rfind(&quoted) {
                if text[i + quoted.len()..].trim_start().starts_with(':') {
                    e.position = Some(lines.at(i));
                    break;
                }
                search = &search[..i];
            }
        }
        LoadError::json(file, e, "$")
    })?;
    json_node(text, text, &lines, 0)
        .map_err(|e| LoadError::json(file, json::JsonError::from_serde(&e, None), ""))
}

struct RawMap<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for RawMap<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawMap<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<RawMap<'de>, A::Error> {
                let mut out = Vec::new();
                while let Some(k) = m.next_key::<String>()? {
                    out.push((k, m.next_value::<&'de RawValue>()?));
                }
                Ok(RawMap(out))
            }
        }
        d.deserialize_map(V)
    }
}

struct RawSeq<'a>(Vec<&'a RawValue>);

impl<'de> Deserialize<'de> for RawSeq<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawSeq<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<RawSeq<'de>, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = s.next_element::<&'de RawValue>()? {
                    out.push(v);
                }
                Ok(RawSeq(out))
            }
        }
        d.deserialize_seq(V)
    }
}

/// A JSON value (already checked strictly) as a tree with positions, to [`POSITION_DEPTH`].
fn json_node(
    text: &str,
    raw: &str,
    lines: &Lines,
    depth: usize,
) -> Result<Node, serde_json::Error> {
    let start = raw.len() - raw.trim_start().len();
    let offset = (raw.as_ptr() as usize).saturating_sub(text.as_ptr() as usize) + start;
    let at = lines.at(offset);
    let kind = match raw.as_bytes().get(start) {
        Some(b'{') if depth < POSITION_DEPTH => {
            let RawMap(entries) = serde_json::from_str(raw)?;
            let mut out = Vec::with_capacity(entries.len());
            for (key, v) in entries {
                let value = json_node(text, v.get(), lines, depth + 1)?;
                out.push(Entry {
                    key,
                    at: value.at,
                    value,
                });
            }
            Kind::Map(out)
        }
        Some(b'[') if depth < POSITION_DEPTH => {
            let RawSeq(items) = serde_json::from_str(raw)?;
            Kind::Seq(
                items
                    .into_iter()
                    .map(|v| json_node(text, v.get(), lines, depth + 1))
                    .collect::<Result<_, _>>()?,
            )
        }
        _ => {
            let v = json::parse_strict(raw)
                .map_err(|e| <serde_json::Error as serde::de::Error>::custom(e.message))?;
            return Ok(value_node(&v, at));
        }
    };
    Ok(Node { at, kind })
}

/// A parsed value as a tree, every node at `at` (depth bounded by the JSON parser's limit).
fn value_node(v: &Value, at: LineCol) -> Node {
    let kind = match v {
        Value::Bool(b) => Kind::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Kind::Int(i),
            (None, Some(f)) => Kind::Float(f),
            _ => Kind::Null,
        },
        Value::String(s) => Kind::Str(s.to_string()),
        Value::Array(items) => Kind::Seq(items.iter().map(|i| value_node(i, at)).collect()),
        Value::Object(o) => Kind::Map(
            o.iter()
                .map(|(k, v)| Entry {
                    key: k.as_string().map(|s| s.to_string()).unwrap_or_default(),
                    at,
                    value: value_node(v, at),
                })
                .collect(),
        ),
        _ => Kind::Null,
    };
    Node { at, kind }
}

// ---------------------------------------------------------------------------------------------
// YAML
// ---------------------------------------------------------------------------------------------

fn position(m: &Marker) -> LineCol {
    LineCol {
        line: m.line().max(1),
        column: m.col() + 1,
    }
}

enum StartKind {
    Seq,
    Map,
}

enum Frame {
    Seq {
        at: LineCol,
        anchor: usize,
        tag: Option<Tag>,
        items: Vec<Node>,
    },
    Map {
        at: LineCol,
        anchor: usize,
        tag: Option<Tag>,
        entries: Vec<Entry>,
        key: Option<(String, LineCol)>,
        /// The values of its merge keys (`<<`), merged when the mapping ends.
        merges: Vec<Node>,
    },
}

fn parse_yaml(file: &Path, text: &str) -> Result<Node, LoadError> {
    let syntax = |at: LineCol, message: String| {
        LoadError::plain(file, LoadErrorKind::Syntax, message).at(at)
    };
    let mut parser = Parser::new_from_str(text);
    let mut frames: Vec<Frame> = Vec::new();
    let mut root: Option<Node> = None;
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let (mut alias_nodes, mut alias_bytes) = (MAX_ALIAS_NODES, MAX_ALIAS_BYTES);
    let mut documents = 0;
    while let Some(event) = parser.next_event() {
        let (event, span) =
            event.map_err(|e| syntax(position(e.marker()), format!("YAML: {}", e.info())))?;
        let at = position(&span.start);
        let kind_of_start = match event {
            Event::SequenceStart(..) => StartKind::Seq,
            _ => StartKind::Map,
        };
        // A finished node and, for scalars, its text (a mapping key is its text).
        let (node, key_text, anchor, plain) = match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing | Event::DocumentEnd => continue,
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(syntax(
                        at,
                        "a template is one YAML document; this file has more".into(),
                    ));
                }
                continue;
            }
            Event::Alias(id) => {
                let Some(node) = anchors.get(&id) else {
                    return Err(syntax(at, "YAML alias to an unknown anchor".into()));
                };
                let (nodes, bytes) = node.size();
                if nodes > alias_nodes {
                    return Err(syntax(
                        at,
                        format!("YAML aliases expand to more than {MAX_ALIAS_NODES} nodes"),
                    ));
                }
                if bytes > alias_bytes {
                    return Err(syntax(
                        at,
                        format!(
                            "YAML aliases expand to more than {} MiB of values (each alias is a copy)",
                            MAX_ALIAS_BYTES / (1024 * 1024)
                        ),
                    ));
                }
                alias_nodes -= nodes;
                alias_bytes -= bytes;
                let mut node = node.clone();
                node.at = at;
                let key = match &node.kind {
                    Kind::Str(s) => Some(s.clone()),
                    _ => None,
                };
                (node, key, 0, false)
            }
            Event::Scalar(value, style, anchor, tag) => {
                let kind = yaml_scalar(&value, style, tag.as_deref()).map_err(|m| syntax(at, m))?;
                let node =
                    wrap_tag(Node { at, kind }, tag.as_deref()).map_err(|m| syntax(at, m))?;
                let plain = style == ScalarStyle::Plain && tag.is_none();
                (node, Some(value.into_owned()), anchor, plain)
            }
            Event::SequenceStart(anchor, tag) | Event::MappingStart(anchor, tag) => {
                let is_seq = matches!(kind_of_start, StartKind::Seq);
                if frames.len() >= MAX_DEPTH {
                    return Err(syntax(
                        at,
                        format!("YAML nested deeper than {MAX_DEPTH} levels"),
                    ));
                }
                let tag = tag.map(|t| t.into_owned());
                frames.push(if is_seq {
                    Frame::Seq {
                        at,
                        anchor,
                        tag,
                        items: Vec::new(),
                    }
                } else {
                    Frame::Map {
                        at,
                        anchor,
                        tag,
                        entries: Vec::new(),
                        key: None,
                        merges: Vec::new(),
                    }
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (at, anchor, tag, kind) = match frames.pop() {
                    Some(Frame::Seq {
                        at,
                        anchor,
                        tag,
                        items,
                    }) => (at, anchor, tag, Kind::Seq(items)),
                    Some(Frame::Map {
                        at,
                        anchor,
                        tag,
                        mut entries,
                        merges,
                        ..
                    }) => {
                        merge_keys(&mut entries, merges).map_err(|(at, m)| syntax(at, m))?;
                        (at, anchor, tag, Kind::Map(entries))
                    }
                    None => return Err(syntax(at, "YAML: unbalanced collection".into())),
                };
                let node = wrap_tag(Node { at, kind }, tag.as_ref()).map_err(|m| syntax(at, m))?;
                (node, None, anchor, false)
            }
        };
        if anchor > 0 {
            anchors.insert(anchor, node.clone());
        }
        match frames.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                key,
                merges,
                ..
            }) => match key.take() {
                // A plain `<<` is YAML 1.1's merge key (what CloudFormation's own tools honour).
                Some((k, _)) if k == MERGE_KEY => merges.push(node),
                Some((k, key_at)) => entries.push(Entry {
                    key: k,
                    at: key_at,
                    value: node,
                }),
                None => {
                    let Some(k) = key_text.filter(|_| !matches!(node.kind, Kind::Map(_))) else {
                        return Err(syntax(
                            node.at,
                            "a mapping key must be a plain scalar".into(),
                        ));
                    };
                    if entries.iter().any(|e| e.key == k) {
                        let mut e = syntax(
                            node.at,
                            format!(
                                "duplicate key `{k}` in one mapping (YAML parsers would silently keep only one value)"
                            ),
                        );
                        e.help = Some("each key may appear once per mapping".into());
                        return Err(e.with_path(yaml_path(&frames)));
                    }
                    // A quoted `<<` is an ordinary key: keep it apart from the merge key.
                    let k = if k == "<<" && plain {
                        MERGE_KEY.to_owned()
                    } else {
                        k
                    };
                    *key = Some((k, node.at));
                }
            },
        }
    }
    root.ok_or_else(|| {
        syntax(
            LineCol { line: 1, column: 1 },
            "the YAML document is empty".into(),
        )
    })
}

/// The key a plain `<<` is read as while its mapping is open (not a key a template can spell).
const MERGE_KEY: &str = "\u{0}<<";

/// Merges YAML 1.1 merge keys into a mapping: `<<: *base` or `<<: [*a, *b]` adds each key of the
/// merged mappings the mapping does not set itself (its own keys win, then earlier mappings).
fn merge_keys(entries: &mut Vec<Entry>, merges: Vec<Node>) -> Result<(), (LineCol, String)> {
    let want = |n: &Node| {
        (
            n.at,
            format!(
                "a YAML merge key (`<<`) takes a mapping or a list of mappings, got {}",
                n.describe()
            ),
        )
    };
    for merged in merges {
        let sources = match merged.kind {
            Kind::Map(es) => vec![es],
            Kind::Seq(items) => items
                .into_iter()
                .map(|i| match i.kind {
                    Kind::Map(es) => Ok(es),
                    _ => Err(want(&i)),
                })
                .collect::<Result<_, _>>()?,
            _ => return Err(want(&merged)),
        };
        for source in sources {
            for e in source {
                if !entries.iter().any(|x| x.key == e.key) {
                    entries.push(e);
                }
            }
        }
    }
    Ok(())
}

/// The JSON path of the innermost collection being read.
fn yaml_path(frames: &[Frame]) -> String {
    let mut path = String::from("$");
    for f in frames {
        match f {
            Frame::Seq { items, .. } => path.push_str(&format!("[{}]", items.len())),
            Frame::Map {
                key: Some((k, _)), ..
            } => {
                path.push('.');
                path.push_str(k);
            }
            Frame::Map { .. } => {}
        }
    }
    path
}

/// A scalar by the YAML 1.2 core schema. Numbers written in a non-canonical form (`012`, `8.0`)
/// stay text, so a version or an account id keeps its digits; typed attributes convert later.
fn yaml_scalar(v: &str, style: ScalarStyle, tag: Option<&Tag>) -> Result<Kind, String> {
    if let Some(t) = tag.filter(|t| t.is_yaml_core_schema()) {
        return Ok(match t.suffix.as_str() {
            "str" | "binary" | "timestamp" => Kind::Str(v.to_owned()),
            "null" => Kind::Null,
            "bool" | "int" | "float" => match plain_scalar(v) {
                k @ (Kind::Bool(_) | Kind::Int(_) | Kind::Float(_)) => k,
                _ => return Err(format!("`{v}` is not a valid !!{}", t.suffix)),
            },
            other => return Err(format!("YAML tag !!{other} cannot be used on a scalar")),
        });
    }
    if style != ScalarStyle::Plain || tag.is_some_and(is_non_specific) {
        return Ok(Kind::Str(v.to_owned()));
    }
    Ok(plain_scalar(v))
}

fn plain_scalar(v: &str) -> Kind {
    match v {
        "" | "~" | "null" | "Null" | "NULL" => return Kind::Null,
        "true" | "True" | "TRUE" => return Kind::Bool(true),
        "false" | "False" | "FALSE" => return Kind::Bool(false),
        _ => {}
    }
    let digits = v.strip_prefix(['-', '+']).unwrap_or(v);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(i) = v.parse::<i64>()
            && i.to_string() == v
        {
            return Kind::Int(i);
        }
        return Kind::Str(v.to_owned());
    }
    let radix = |p: &str, r| {
        v.strip_prefix(p)
            .filter(|d| !d.is_empty())
            .and_then(|d| i64::from_str_radix(d, r).ok())
    };
    if let Some(i) = radix("0x", 16).or_else(|| radix("0o", 8)) {
        return Kind::Int(i);
    }
    let float_like = digits.bytes().any(|b| b.is_ascii_digit())
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
    if float_like
        && let Ok(f) = v.parse::<f64>()
        && f.is_finite()
    {
        return if f.to_string() == v {
            Kind::Float(f)
        } else {
            Kind::Str(v.to_owned())
        };
    }
    Kind::Str(v.to_owned())
}

/// YAML's non-specific tag `!` (a scalar so tagged is a string).
fn is_non_specific(tag: &Tag) -> bool {
    (tag.handle == "!" && tag.suffix.is_empty()) || (tag.handle.is_empty() && tag.suffix == "!")
}

/// Applies a node's tag: the short forms become their long forms.
fn wrap_tag(node: Node, tag: Option<&Tag>) -> Result<Node, String> {
    let Some(tag) = tag else { return Ok(node) };
    // `!` alone is YAML's non-specific tag: the node as it is.
    if tag.is_yaml_core_schema() || is_non_specific(tag) {
        return Ok(node);
    }
    let name = tag.suffix.as_str();
    if tag.handle == "!" && name.starts_with("Rain::") {
        return Err(format!(
            "`!{name}` is a Rain directive: this is a Rain template, not CloudFormation yet, so Tollgate cannot judge what it will deploy (run `rain pkg` on it and check the template it writes)"
        ));
    }
    if tag.handle != "!" || !SHORT_FORMS.contains(&name) {
        return Err(format!(
            "unknown YAML tag `{}{}` (CloudFormation's short forms are {})",
            tag.handle,
            tag.suffix,
            SHORT_FORMS
                .iter()
                .map(|s| format!("!{s}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let key = match name {
        "Ref" | "Condition" => name.to_owned(),
        _ => format!("Fn::{name}"),
    };
    let at = node.at;
    Ok(Node {
        at,
        kind: Kind::Map(vec![Entry {
            key,
            at,
            value: node,
        }]),
    })
}

// ---------------------------------------------------------------------------------------------
// Intrinsic functions
// ---------------------------------------------------------------------------------------------

fn unknown() -> Value {
    Value::from(UNKNOWN)
}

fn is_unknown(v: &Value) -> bool {
    matches!(v, Value::String(s) if s.as_ref() == UNKNOWN || s.as_ref() == SENSITIVE)
}

fn is_function(key: &str) -> bool {
    key == "Ref" || key.starts_with("Fn::")
}

/// Whether a node is an intrinsic function call (a mapping whose only key is a function).
fn is_call(n: &Node) -> bool {
    matches!(&n.kind, Kind::Map(es) if es.len() == 1 && is_function(&es[0].key))
}

/// The text of a value that is known: a literal string (not a marker, not a reference), number
/// or boolean.
fn literal_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if is_unknown(v) || Reference::parse(s, String::new).is_some() => None,
        Value::String(s) => Some(s.to_string()),
        Value::Number(_) => Some(number_text(v)),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Whether a value holds anything known only at deploy (a marker or a reference).
fn has_unknown(v: &Value) -> bool {
    match v {
        Value::String(_) => literal_text(v).is_none(),
        Value::Array(items) => items.iter().any(has_unknown),
        Value::Object(o) => o.values().any(has_unknown),
        _ => false,
    }
}

/// `Fn::Equals` as CloudFormation compares: scalars by their text, lists item by item;
/// `None` when either side is known only at deploy.
fn equals(a: &Value, b: &Value) -> Option<bool> {
    if has_unknown(a) || has_unknown(b) {
        return None;
    }
    match (a, b) {
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return Some(false);
            }
            let mut all = true;
            for (p, q) in x.iter().zip(y.iter()) {
                all &= equals(p, q)?;
            }
            Some(all)
        }
        (Value::Array(_) | Value::Object(_), _) | (_, Value::Array(_) | Value::Object(_)) => {
            Some(a == b)
        }
        _ => Some(literal_text(a)? == literal_text(b)?),
    }
}

/// Standard base64 with padding (`Fn::Base64`).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn number_text(v: &Value) -> String {
    match (v.as_i64(), v.as_f64()) {
        (Ok(i), _) => i.to_string(),
        (_, Ok(f)) => f.to_string(),
        _ => serde_json::to_string(v).unwrap_or_default(),
    }
}

#[derive(Debug)]
struct Param {
    value: Value,
}

#[derive(Debug, Clone, Copy)]
struct Target<'a> {
    cfn_type: &'a str,
    /// The registered type it becomes, when it is kept as an object of its own.
    model: Option<&'static str>,
}

/// What names mean in a template.
struct Scope<'a> {
    file: &'a Path,
    params: HashMap<&'a str, Param>,
    resources: HashMap<&'a str, Target<'a>>,
    /// Each condition's expression, and its value once evaluated (`None`: known only at deploy).
    conditions: HashMap<&'a str, &'a Node>,
    condition_values: RefCell<HashMap<String, Option<bool>>>,
    /// Conditions being evaluated (a condition naming itself, directly or not, is an error).
    evaluating: RefCell<Vec<String>>,
    mappings: HashMap<&'a str, &'a Node>,
    region: Option<&'a str>,
}

impl Scope<'_> {
    fn shape(&self, at: LineCol, path: &str, message: impl Into<String>) -> LoadError {
        LoadError::plain(self.file, LoadErrorKind::Shape, message)
            .at(at)
            .with_path(path)
    }

    fn missing(&self, at: LineCol, path: &str, message: impl Into<String>) -> LoadError {
        LoadError::plain(self.file, LoadErrorKind::MissingReference, message)
            .at(at)
            .with_path(path)
    }

    /// Resolves a value: intrinsic functions become values, references or [`UNKNOWN`];
    /// `AWS::NoValue` becomes `Undefined` and drops out of its object or list.
    fn resolve(&self, n: &Node, path: &str) -> Result<Value, LoadError> {
        Ok(match &n.kind {
            Kind::Null => Value::Null,
            Kind::Bool(b) => Value::from(*b),
            Kind::Int(i) => Value::from(*i),
            Kind::Float(f) => Value::from(*f),
            Kind::Str(s) => Value::from(s.as_str()),
            Kind::Seq(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let v = self.resolve(item, &format!("{path}[{i}]"))?;
                    if v != Value::Undefined {
                        out.push(v);
                    }
                }
                Value::from(out)
            }
            Kind::Map(entries) => {
                if let Some(f) = entries.iter().find(|e| is_function(&e.key)) {
                    if let Some(other) = entries.iter().find(|e| e.key != f.key) {
                        return Err(self.shape(
                            n.at,
                            path,
                            format!(
                                "`{}` is an intrinsic function and must be the only key of its object (found `{}` beside it)",
                                f.key, other.key
                            ),
                        ));
                    }
                    return self.function(&f.key, &f.value, &format!("{path}.{}", f.key));
                }
                let mut out = BTreeMap::new();
                for e in entries {
                    let v = self.resolve(&e.value, &format!("{path}.{}", e.key))?;
                    if v != Value::Undefined {
                        out.insert(Value::from(e.key.as_str()), v);
                    }
                }
                Value::from(out)
            }
        })
    }

    /// The items of a function's list argument, `min..=max` of them.
    fn args<'n>(
        &self,
        name: &str,
        arg: &'n Node,
        path: &str,
        min: usize,
        max: usize,
        shape: &str,
    ) -> Result<&'n [Node], LoadError> {
        match &arg.kind {
            Kind::Seq(items) if (min..=max).contains(&items.len()) => Ok(items),
            _ => Err(self.shape(
                arg.at,
                path,
                format!("{name} takes {shape}, got {}", describe_len(arg)),
            )),
        }
    }

    fn function(&self, name: &str, arg: &Node, path: &str) -> Result<Value, LoadError> {
        match name {
            "Ref" => {
                // AWS::LanguageExtensions: the name may be computed (`Ref: !Sub ${Name}Queue`).
                if is_call(arg) {
                    let name = self.resolve(arg, path)?;
                    return match literal_text(&name) {
                        Some(n) => self.reference(&n, arg.at, path),
                        None => Ok(unknown()),
                    };
                }
                let Kind::Str(target) = &arg.kind else {
                    return Err(self.shape(
                        arg.at,
                        path,
                        format!(
                            "Ref takes the name of a parameter, resource or pseudo parameter (a string), got {}",
                            arg.describe()
                        ),
                    ));
                };
                self.reference(target, arg.at, path)
            }
            "Fn::GetAtt" => {
                let shape = "[LogicalId, Attribute] or \"LogicalId.Attribute\"";
                let id = match &arg.kind {
                    Kind::Str(s) => match s.split_once('.') {
                        Some((id, attr)) if !id.is_empty() && !attr.is_empty() => id,
                        _ => {
                            return Err(self.shape(
                                arg.at,
                                path,
                                format!("Fn::GetAtt takes {shape}, got \"{s}\" (no attribute)"),
                            ));
                        }
                    },
                    // AWS::LanguageExtensions: a computed logical id (`!Sub S3Bucket${Name}`).
                    Kind::Seq(items) if items.len() == 2 && is_call(&items[0]) => {
                        let id = self.resolve(&items[0], &format!("{path}[0]"))?;
                        self.resolve(&items[1], &format!("{path}[1]"))?;
                        return Ok(match literal_text(&id) {
                            Some(id) => match self.resources.get(id.as_str()) {
                                Some(t) => self.resource_value(&id, t),
                                None => {
                                    return Err(self.missing(
                                        items[0].at,
                                        &format!("{path}[0]"),
                                        format!("Fn::GetAtt names `{id}`, which is not a resource of this template"),
                                    ));
                                }
                            },
                            None => unknown(),
                        });
                    }
                    Kind::Seq(items) if items.len() == 2 => {
                        let Kind::Str(id) = &items[0].kind else {
                            return Err(self.shape(
                                items[0].at,
                                &format!("{path}[0]"),
                                format!(
                                    "Fn::GetAtt's logical id must be a string, got {}",
                                    items[0].describe()
                                ),
                            ));
                        };
                        match &items[1].kind {
                            Kind::Str(a) if !a.is_empty() => {}
                            Kind::Map(_) => {
                                self.resolve(&items[1], &format!("{path}[1]"))?;
                            }
                            _ => {
                                return Err(self.shape(
                                    items[1].at,
                                    &format!("{path}[1]"),
                                    format!(
                                        "Fn::GetAtt's attribute must be a string or a Ref, got {}",
                                        items[1].describe()
                                    ),
                                ));
                            }
                        }
                        id.as_str()
                    }
                    _ => {
                        return Err(self.shape(
                            arg.at,
                            path,
                            format!("Fn::GetAtt takes {shape}, got {}", describe_len(arg)),
                        ));
                    }
                };
                match self.resources.get(id) {
                    Some(t) => Ok(self.resource_value(id, t)),
                    None => Err(self.missing(
                        arg.at,
                        path,
                        format!(
                            "Fn::GetAtt names `{id}`, which is not a resource of this template"
                        ),
                    )),
                }
            }
            "Fn::Sub" => self.sub(arg, path),
            "Fn::Join" => {
                let items = self.args(name, arg, path, 2, 2, "[Delimiter, [Values]]")?;
                let Kind::Str(delimiter) = &items[0].kind else {
                    return Err(self.shape(
                        items[0].at,
                        &format!("{path}[0]"),
                        format!(
                            "Fn::Join's delimiter must be a string, got {}",
                            items[0].describe()
                        ),
                    ));
                };
                let is_call = |n: &Node| matches!(&n.kind, Kind::Map(es) if es.iter().any(|e| is_function(&e.key)));
                if !matches!(items[1].kind, Kind::Seq(_)) && !is_call(&items[1]) {
                    return Err(self.shape(
                        items[1].at,
                        &format!("{path}[1]"),
                        format!(
                            "Fn::Join's values must be a list (or a function returning one), got {}",
                            items[1].describe()
                        ),
                    ));
                }
                let values = self.resolve(&items[1], &format!("{path}[1]"))?;
                Ok(match values {
                    Value::Array(vs) => vs
                        .iter()
                        .map(literal_text)
                        .collect::<Option<Vec<_>>>()
                        .map_or_else(unknown, |parts| Value::from(parts.join(delimiter))),
                    _ => unknown(),
                })
            }
            "Fn::If" => {
                let items = self.args(
                    name,
                    arg,
                    path,
                    3,
                    3,
                    "[ConditionName, ValueIfTrue, ValueIfFalse]",
                )?;
                let known = self.condition_value(&items[0], &format!("{path}[0]"))?;
                let yes = self.resolve(&items[1], &format!("{path}[1]"))?;
                let no = self.resolve(&items[2], &format!("{path}[2]"))?;
                Ok(match known {
                    Some(true) => yes,
                    Some(false) => no,
                    None if yes == no => yes,
                    None => unknown(),
                })
            }
            "Fn::Select" => {
                let items = self.args(name, arg, path, 2, 2, "[Index, [Values]]")?;
                let index = self.resolve(&items[0], &format!("{path}[0]"))?;
                let list = self.resolve(&items[1], &format!("{path}[1]"))?;
                let index = match &index {
                    Value::Number(_) => index.as_i64().ok(),
                    Value::String(s) if !is_unknown(&index) => s.trim().parse::<i64>().ok(),
                    _ => None,
                };
                Ok(match (index, &list) {
                    (Some(i), Value::Array(items)) => usize::try_from(i)
                        .ok()
                        .and_then(|i| items.get(i).cloned())
                        .unwrap_or_else(unknown),
                    _ => unknown(),
                })
            }
            "Fn::Split" => {
                let items = self.args(name, arg, path, 2, 2, "[Delimiter, String]")?;
                let Kind::Str(delimiter) = &items[0].kind else {
                    return Err(self.shape(
                        items[0].at,
                        &format!("{path}[0]"),
                        format!(
                            "Fn::Split's delimiter must be a string, got {}",
                            items[0].describe()
                        ),
                    ));
                };
                let text = self.resolve(&items[1], &format!("{path}[1]"))?;
                Ok(match literal_text(&text) {
                    Some(t) if !delimiter.is_empty() => Value::from(
                        t.split(delimiter.as_str())
                            .map(Value::from)
                            .collect::<Vec<_>>(),
                    ),
                    _ => unknown(),
                })
            }
            "Fn::FindInMap" => {
                let items = self.args(
                    name,
                    arg,
                    path,
                    3,
                    4,
                    "[MapName, TopLevelKey, SecondLevelKey]",
                )?;
                if let Kind::Str(m) = &items[0].kind
                    && !self.mappings.contains_key(m.as_str())
                {
                    return Err(self.missing(
                        items[0].at,
                        &format!("{path}[0]"),
                        format!(
                            "Fn::FindInMap names `{m}`, which is not in this template's Mappings"
                        ),
                    ));
                }
                self.find_in_map(items, path)
            }
            "Fn::Cidr" => {
                let items = self.args(name, arg, path, 3, 3, "[IpBlock, Count, CidrBits]")?;
                self.all(items, path)
            }
            "Fn::Equals" => {
                let items = self.args(name, arg, path, 2, 2, "[Value, Value]")?;
                let a = self.resolve(&items[0], &format!("{path}[0]"))?;
                let b = self.resolve(&items[1], &format!("{path}[1]"))?;
                Ok(equals(&a, &b).map_or_else(unknown, Value::from))
            }
            "Fn::Not" | "Fn::And" | "Fn::Or" => {
                let (min, max) = if name == "Fn::Not" { (1, 1) } else { (2, 10) };
                let items = self.args(name, arg, path, min, max, "a list of conditions")?;
                let mut values = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    values.push(self.truth(item, &format!("{path}[{i}]"))?);
                }
                // Three-valued: a known operand can decide And / Or alone.
                let value = match name {
                    "Fn::Not" => values[0].map(|v| !v),
                    "Fn::And" if values.contains(&Some(false)) => Some(false),
                    "Fn::Or" if values.contains(&Some(true)) => Some(true),
                    _ if values.contains(&None) => None,
                    "Fn::And" => Some(true),
                    _ => Some(false),
                };
                Ok(value.map_or_else(unknown, Value::from))
            }
            "Fn::GetAZs" => {
                // Bare `!GetAZs` (null) and `!GetAZs ''` are the current region's zones.
                if !matches!(arg.kind, Kind::Null | Kind::Str(_) | Kind::Map(_)) {
                    return Err(self.shape(
                        arg.at,
                        path,
                        format!(
                            "Fn::GetAZs takes a region (a string, or a function returning one), got {}",
                            arg.describe()
                        ),
                    ));
                }
                self.resolve(arg, path)?;
                Ok(unknown())
            }
            "Fn::Base64" => {
                if !matches!(arg.kind, Kind::Str(_) | Kind::Map(_)) {
                    return Err(self.shape(
                        arg.at,
                        path,
                        format!(
                            "{name} takes a string (or a function returning one), got {}",
                            arg.describe()
                        ),
                    ));
                }
                let v = self.resolve(arg, path)?;
                Ok(literal_text(&v).map_or_else(unknown, |t| Value::from(base64(t.as_bytes()))))
            }
            "Fn::Length" => {
                let v = self.resolve(arg, path)?;
                Ok(match &v {
                    Value::Array(items) => Value::from(items.len() as i64),
                    _ => unknown(),
                })
            }
            "Fn::ToJsonString" => {
                let v = self.resolve(arg, path)?;
                Ok(match &v {
                    Value::Array(_) | Value::Object(_) if !has_unknown(&v) => {
                        serde_json::to_string(&v).map_or_else(|_| unknown(), Value::from)
                    }
                    _ => unknown(),
                })
            }
            // Rules-section functions, and a stack's output: known only at deploy.
            "Fn::ValueOf"
            | "Fn::Contains"
            | "Fn::EachMemberEquals"
            | "Fn::EachMemberIn"
            | "Fn::RefAll"
            | "Fn::GetStackOutput" => {
                self.resolve(arg, path)?;
                Ok(unknown())
            }
            "Fn::ImportValue" => {
                if !matches!(arg.kind, Kind::Str(_) | Kind::Map(_)) {
                    return Err(self.shape(
                        arg.at,
                        path,
                        format!(
                            "{name} takes a string (or a function returning one), got {}",
                            arg.describe()
                        ),
                    ));
                }
                self.resolve(arg, path)?;
                Ok(unknown())
            }
            _ => Err(self.shape(arg.at, path, format!("unknown intrinsic function `{name}`"))),
        }
    }

    /// Checks every argument; the function's value is known only at deploy time.
    fn all(&self, items: &[Node], path: &str) -> Result<Value, LoadError> {
        for (i, item) in items.iter().enumerate() {
            self.resolve(item, &format!("{path}[{i}]"))?;
        }
        Ok(unknown())
    }

    /// The value of the condition `n` names (`None`: known only at deploy).
    fn condition_value(&self, n: &Node, path: &str) -> Result<Option<bool>, LoadError> {
        self.condition_name(n, path)?;
        match &n.kind {
            Kind::Str(c) => self.condition(c, n.at, path),
            _ => Ok(None),
        }
    }

    /// A condition's value, evaluated once: parameters by their defaults.
    fn condition(&self, name: &str, at: LineCol, path: &str) -> Result<Option<bool>, LoadError> {
        if let Some(v) = self.condition_values.borrow().get(name) {
            return Ok(*v);
        }
        let Some(node) = self.conditions.get(name) else {
            return Err(self.missing(
                at,
                path,
                format!("condition `{name}` is not in this template's Conditions"),
            ));
        };
        if self.evaluating.borrow().iter().any(|c| c == name) {
            let chain = self.evaluating.borrow().join(" → ");
            return Err(self.shape(
                at,
                path,
                format!("condition `{name}` depends on itself ({chain} → {name})"),
            ));
        }
        self.evaluating.borrow_mut().push(name.to_owned());
        let value = self.truth(node, &format!("$.Conditions.{name}"));
        self.evaluating.borrow_mut().pop();
        let value = value?;
        self.condition_values
            .borrow_mut()
            .insert(name.to_owned(), value);
        Ok(value)
    }

    /// A condition expression's value: `{Condition: Name}`, a condition function, or a boolean.
    fn truth(&self, n: &Node, path: &str) -> Result<Option<bool>, LoadError> {
        if let Kind::Map(es) = &n.kind
            && let [e] = es.as_slice()
            && e.key == "Condition"
        {
            return self.condition_value(&e.value, &format!("{path}.Condition"));
        }
        Ok(match self.resolve(n, path)? {
            Value::Bool(b) => Some(b),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        })
    }

    /// `Fn::FindInMap [Map, TopKey, SecondKey, {DefaultValue: …}]` looked up when its names are
    /// known; the default (AWS::LanguageExtensions) when the keys are known and absent.
    fn find_in_map(&self, items: &[Node], path: &str) -> Result<Value, LoadError> {
        let mut names = Vec::with_capacity(3);
        for (i, item) in items.iter().take(3).enumerate() {
            names.push(literal_text(&self.resolve(item, &format!("{path}[{i}]"))?));
        }
        let default = match items.get(3) {
            None => None,
            Some(d) => {
                let here = format!("{path}[3]");
                match &d.kind {
                    Kind::Map(es) if es.len() == 1 && es[0].key == "DefaultValue" => {
                        Some(self.resolve(&es[0].value, &format!("{here}.DefaultValue"))?)
                    }
                    _ => {
                        return Err(self.shape(
                            d.at,
                            &here,
                            format!(
                                "Fn::FindInMap's fourth argument is {{DefaultValue: value}}, got {}",
                                d.describe()
                            ),
                        ));
                    }
                }
            }
        };
        let [Some(map), Some(top), Some(second)] = names.as_slice() else {
            return Ok(unknown());
        };
        let Some(mapping) = self.mappings.get(map.as_str()) else {
            return Ok(unknown());
        };
        let found = mapping
            .get(top)
            .and_then(|t| t.value.get(second))
            .map(|e| &e.value);
        match (found, default) {
            (Some(v), _) => self.resolve(v, &format!("$.Mappings.{map}.{top}.{second}")),
            (None, Some(d)) => Ok(d),
            (None, None) => Ok(unknown()),
        }
    }

    fn condition_name(&self, n: &Node, path: &str) -> Result<(), LoadError> {
        match &n.kind {
            Kind::Str(c) if self.conditions.contains_key(c.as_str()) => Ok(()),
            Kind::Str(c) => Err(self.missing(
                n.at,
                path,
                format!("condition `{c}` is not in this template's Conditions"),
            )),
            _ => Err(self.shape(
                n.at,
                path,
                format!("a condition name must be a string, got {}", n.describe()),
            )),
        }
    }

    fn resource_value(&self, id: &str, t: &Target<'_>) -> Value {
        if t.model.is_some() {
            Value::from(format!("${{{id}}}"))
        } else {
            unknown()
        }
    }

    fn reference(&self, name: &str, at: LineCol, path: &str) -> Result<Value, LoadError> {
        if let Some(p) = self.params.get(name) {
            return Ok(p.value.clone());
        }
        if let Some(t) = self.resources.get(name) {
            return Ok(self.resource_value(name, t));
        }
        match name {
            "AWS::NoValue" => return Ok(Value::Undefined),
            "AWS::Region" => return Ok(self.region.map_or_else(unknown, Value::from)),
            "AWS::Partition" => return Ok(Value::from(partition(self.region).0)),
            "AWS::URLSuffix" => return Ok(Value::from(partition(self.region).1)),
            p if PSEUDO_PARAMETERS.contains(&p) => return Ok(unknown()),
            _ => {}
        }
        Err(self.missing(
            at,
            path,
            format!("Ref to `{name}`, which is not a parameter, resource or pseudo parameter of this template"),
        ))
    }

    fn sub(&self, arg: &Node, path: &str) -> Result<Value, LoadError> {
        let shape = "a string or [String, {Name: Value, …}]";
        let (template, vars) = match &arg.kind {
            Kind::Str(s) => (s, None),
            Kind::Seq(items) if items.len() == 2 => {
                let Kind::Str(s) = &items[0].kind else {
                    return Err(self.shape(
                        items[0].at,
                        &format!("{path}[0]"),
                        format!(
                            "Fn::Sub's template must be a string, got {}",
                            items[0].describe()
                        ),
                    ));
                };
                let Kind::Map(vars) = &items[1].kind else {
                    return Err(self.shape(
                        items[1].at,
                        &format!("{path}[1]"),
                        format!(
                            "Fn::Sub's variables must be a mapping, got {}",
                            items[1].describe()
                        ),
                    ));
                };
                (s, Some(vars))
            }
            _ => {
                return Err(self.shape(
                    arg.at,
                    path,
                    format!("Fn::Sub takes {shape}, got {}", describe_len(arg)),
                ));
            }
        };
        let mut values: HashMap<&str, Value> = HashMap::new();
        for e in vars.into_iter().flatten() {
            let v = self.resolve(&e.value, &format!("{path}[1].{}", e.key))?;
            values.insert(e.key.as_str(), v);
        }
        let mut out = String::with_capacity(template.len());
        let mut known = true;
        let mut rest = template.as_str();
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            // `${!Literal}` is the text `${Literal}`.
            if let Some(literal) = after.strip_prefix('!') {
                out.push_str("${");
                rest = literal;
                continue;
            }
            let Some(end) = after.find('}') else {
                return Err(self.shape(
                    arg.at,
                    path,
                    format!("Fn::Sub: `${{` without a closing `}}` in \"{template}\""),
                ));
            };
            let name = after[..end].trim();
            rest = &after[end + 1..];
            let value = if let Some(v) = values.get(name) {
                literal_text(v)
            } else if let Some(p) = self.params.get(name) {
                literal_text(&p.value)
            } else if name == "AWS::Region" {
                self.region.map(str::to_owned)
            } else if name == "AWS::Partition" {
                Some(partition(self.region).0.to_owned())
            } else if name == "AWS::URLSuffix" {
                Some(partition(self.region).1.to_owned())
            } else if PSEUDO_PARAMETERS.contains(&name)
                || self.resources.contains_key(name)
                || name
                    .split_once('.')
                    .is_some_and(|(id, attr)| !attr.is_empty() && self.resources.contains_key(id))
            {
                None
            } else {
                return Err(self.missing(
                    arg.at,
                    path,
                    format!(
                        "Fn::Sub names `${{{name}}}`, which is not a variable, parameter, resource (with an attribute) or pseudo parameter of this template"
                    ),
                ));
            };
            match value {
                Some(text) => out.push_str(&text),
                None => known = false,
            }
        }
        out.push_str(rest);
        Ok(if known { Value::from(out) } else { unknown() })
    }
}

fn describe_len(n: &Node) -> String {
    match &n.kind {
        Kind::Seq(items) => format!("a list of {}", items.len()),
        _ => n.describe().to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// Mapping CloudFormation types onto registered types
// ---------------------------------------------------------------------------------------------

/// How one model attribute is read from a resource's (resolved) CloudFormation properties.
/// Paths are dotted; `[0]` takes a list's first item.
#[derive(Clone, Copy)]
enum Rule {
    /// model path ← CloudFormation path.
    Attr(&'static str, &'static str),
    /// model path ← (CloudFormation path == "Enabled").
    Status(&'static str, &'static str),
    /// model list ← each item of a CloudFormation list, read by the inner rules.
    Each(&'static str, &'static str, &'static [Rule]),
    /// model list of strings ← one field of each item of a CloudFormation list.
    Pluck(&'static str, &'static str, &'static str),
    /// Anything else.
    Custom(fn(&Value, &mut Tree)),
    /// The rules of a table two types share.
    Shared(&'static [Rule]),
}

use Rule::{Attr, Custom, Each, Pluck, Shared, Status};

/// EBS storage of an OpenSearch and of a (legacy) Elasticsearch domain: the same properties.
static DOMAIN_STORAGE: &[Rule] = &[
    Attr("ebs_options.ebs_enabled", "EBSOptions.EBSEnabled"),
    Attr("ebs_options.volume_size", "EBSOptions.VolumeSize"),
    Attr("ebs_options.volume_type", "EBSOptions.VolumeType"),
];

/// Encryption, HTTPS and VPC placement of both kinds of search domain.
static DOMAIN_PROTECTION: &[Rule] = &[
    Attr("encrypt_at_rest.enabled", "EncryptionAtRestOptions.Enabled"),
    Attr(
        "encrypt_at_rest.kms_key_id",
        "EncryptionAtRestOptions.KmsKeyId",
    ),
    Attr(
        "node_to_node_encryption.enabled",
        "NodeToNodeEncryptionOptions.Enabled",
    ),
    Attr(
        "domain_endpoint_options.enforce_https",
        "DomainEndpointOptions.EnforceHTTPS",
    ),
    Attr(
        "domain_endpoint_options.tls_security_policy",
        "DomainEndpointOptions.TLSSecurityPolicy",
    ),
    Attr("vpc_options.subnet_ids", "VPCOptions.SubnetIds"),
    Attr(
        "vpc_options.security_group_ids",
        "VPCOptions.SecurityGroupIds",
    ),
];

/// Where a type's tags are.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tags {
    /// `Tags: [{Key, Value}]` (or a mapping).
    Tags,
    /// A launch template's `TagSpecifications` for `launch-template`.
    LaunchTemplate,
}

/// The CloudFormation types kept as objects of their own and the registered type each becomes.
pub fn mapped_types() -> impl Iterator<Item = (&'static str, &'static str)> {
    SPECS
        .iter()
        .chain([&STANDALONE_DB_INSTANCE])
        .map(|s| (s.cfn, s.model))
}

/// One CloudFormation type kept as an object of its own.
struct Spec {
    cfn: &'static str,
    model: &'static str,
    tags: Tags,
    rules: &'static [Rule],
}

/// The CloudFormation types Tollgate keeps as objects, and how each is read. (Split types: see
/// [`SPLIT_TYPES`].)
static SPECS: &[Spec] = &[
    Spec {
        cfn: "AWS::S3::Bucket",
        model: "aws_s3_bucket",
        tags: Tags::Tags,
        rules: &[
            Attr("bucket", "BucketName"),
            Attr(
                "server_side_encryption.sse_algorithm",
                "BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm",
            ),
            Attr(
                "server_side_encryption.kms_key_id",
                "BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.KMSMasterKeyID",
            ),
            Attr(
                "server_side_encryption.bucket_key_enabled",
                "BucketEncryption.ServerSideEncryptionConfiguration[0].BucketKeyEnabled",
            ),
            Attr(
                "public_access_block.block_public_acls",
                "PublicAccessBlockConfiguration.BlockPublicAcls",
            ),
            Attr(
                "public_access_block.block_public_policy",
                "PublicAccessBlockConfiguration.BlockPublicPolicy",
            ),
            Attr(
                "public_access_block.ignore_public_acls",
                "PublicAccessBlockConfiguration.IgnorePublicAcls",
            ),
            Attr(
                "public_access_block.restrict_public_buckets",
                "PublicAccessBlockConfiguration.RestrictPublicBuckets",
            ),
            Status("versioning.enabled", "VersioningConfiguration.Status"),
            Each(
                "lifecycle_rule",
                "LifecycleConfiguration.Rules",
                &[
                    Attr("id", "Id"),
                    Status("enabled", "Status"),
                    Attr("prefix", "Prefix"),
                    Attr("expiration_days", "ExpirationInDays"),
                    Attr(
                        "noncurrent_version_expiration_days",
                        "NoncurrentVersionExpirationInDays",
                    ),
                    Attr(
                        "noncurrent_version_expiration_days",
                        "NoncurrentVersionExpiration.NoncurrentDays",
                    ),
                    Attr(
                        "abort_incomplete_multipart_upload_days",
                        "AbortIncompleteMultipartUpload.DaysAfterInitiation",
                    ),
                    Each(
                        "transition",
                        "Transitions",
                        &[
                            Attr("days", "TransitionInDays"),
                            Attr("storage_class", "StorageClass"),
                        ],
                    ),
                ],
            ),
            Attr(
                "object_ownership",
                "OwnershipControls.Rules[0].ObjectOwnership",
            ),
        ],
    },
    Spec {
        cfn: "AWS::EC2::SecurityGroup",
        model: "aws_security_group",
        tags: Tags::Tags,
        rules: &[
            Attr("name", "GroupName"),
            Attr("description", "GroupDescription"),
            Attr("vpc_id", "VpcId"),
            Custom(security_group_rules),
        ],
    },
    Spec {
        cfn: "AWS::RDS::DBCluster",
        model: "aws_rds_cluster",
        tags: Tags::Tags,
        rules: &[
            Attr("cluster_identifier", "DBClusterIdentifier"),
            Attr("engine", "Engine"),
            Attr("engine_version", "EngineVersion"),
            Attr("engine_mode", "EngineMode"),
            Attr("database_name", "DatabaseName"),
            Attr("master_username", "MasterUsername"),
            Attr("manage_master_user_password", "ManageMasterUserPassword"),
            Attr("master_user_secret_kms_key_id", "MasterUserSecret.KmsKeyId"),
            Attr("db_subnet_group_name", "DBSubnetGroupName"),
            Attr(
                "db_cluster_parameter_group_name",
                "DBClusterParameterGroupName",
            ),
            Attr("vpc_security_group_ids", "VpcSecurityGroupIds"),
            Attr("storage_encrypted", "StorageEncrypted"),
            Attr("kms_key_id", "KmsKeyId"),
            Attr("storage_type", "StorageType"),
            Attr("allocated_storage", "AllocatedStorage"),
            Attr("backup_retention_period", "BackupRetentionPeriod"),
            Attr("preferred_backup_window", "PreferredBackupWindow"),
            Attr("preferred_maintenance_window", "PreferredMaintenanceWindow"),
            Attr("deletion_protection", "DeletionProtection"),
            Attr("copy_tags_to_snapshot", "CopyTagsToSnapshot"),
            Attr(
                "iam_database_authentication_enabled",
                "EnableIAMDatabaseAuthentication",
            ),
            Attr(
                "enabled_cloudwatch_logs_exports",
                "EnableCloudwatchLogsExports",
            ),
            Attr("availability_zones", "AvailabilityZones"),
        ],
    },
    Spec {
        cfn: "AWS::RDS::DBInstance",
        model: "aws_rds_cluster_instance",
        tags: Tags::Tags,
        rules: &[
            Attr("identifier", "DBInstanceIdentifier"),
            Attr("cluster_identifier", "DBClusterIdentifier"),
            Attr("instance_class", "DBInstanceClass"),
            Attr("engine", "Engine"),
            Attr("engine_version", "EngineVersion"),
            Attr("publicly_accessible", "PubliclyAccessible"),
            Attr("db_subnet_group_name", "DBSubnetGroupName"),
            Attr("availability_zone", "AvailabilityZone"),
            Attr("promotion_tier", "PromotionTier"),
            Attr("performance_insights_enabled", "EnablePerformanceInsights"),
            Attr(
                "performance_insights_kms_key_id",
                "PerformanceInsightsKMSKeyId",
            ),
            Attr(
                "performance_insights_retention_period",
                "PerformanceInsightsRetentionPeriod",
            ),
            Attr("monitoring_interval", "MonitoringInterval"),
            Attr("monitoring_role_arn", "MonitoringRoleArn"),
            Attr("auto_minor_version_upgrade", "AutoMinorVersionUpgrade"),
            Attr("ca_cert_identifier", "CACertificateIdentifier"),
        ],
    },
    Spec {
        cfn: "AWS::ElastiCache::ReplicationGroup",
        model: "aws_elasticache_replication_group",
        tags: Tags::Tags,
        rules: &[
            Attr("replication_group_id", "ReplicationGroupId"),
            Attr("description", "ReplicationGroupDescription"),
            Attr("engine", "Engine"),
            Attr("engine_version", "EngineVersion"),
            Attr("node_type", "CacheNodeType"),
            Attr("num_cache_clusters", "NumCacheClusters"),
            Attr("port", "Port"),
            Attr("parameter_group_name", "CacheParameterGroupName"),
            Attr("subnet_group_name", "CacheSubnetGroupName"),
            Attr("security_group_ids", "SecurityGroupIds"),
            Attr("at_rest_encryption_enabled", "AtRestEncryptionEnabled"),
            Attr("transit_encryption_enabled", "TransitEncryptionEnabled"),
            Attr("transit_encryption_mode", "TransitEncryptionMode"),
            Attr("kms_key_id", "KmsKeyId"),
            Attr("automatic_failover_enabled", "AutomaticFailoverEnabled"),
            Attr("multi_az_enabled", "MultiAZEnabled"),
            Attr("snapshot_retention_limit", "SnapshotRetentionLimit"),
            Attr("snapshot_window", "SnapshotWindow"),
            Attr("maintenance_window", "PreferredMaintenanceWindow"),
            Attr("auto_minor_version_upgrade", "AutoMinorVersionUpgrade"),
            Each(
                "log_delivery_configuration",
                "LogDeliveryConfigurations",
                &[
                    Attr("destination_type", "DestinationType"),
                    Attr("log_format", "LogFormat"),
                    Attr("log_type", "LogType"),
                    Attr(
                        "destination",
                        "DestinationDetails.CloudWatchLogsDetails.LogGroup",
                    ),
                    Attr(
                        "destination",
                        "DestinationDetails.KinesisFirehoseDetails.DeliveryStream",
                    ),
                ],
            ),
        ],
    },
    Spec {
        cfn: "AWS::OpenSearchService::Domain",
        model: "aws_opensearch_domain",
        tags: Tags::Tags,
        rules: &[
            Attr("domain_name", "DomainName"),
            Attr("engine_version", "EngineVersion"),
            Attr("cluster_config.instance_type", "ClusterConfig.InstanceType"),
            Attr(
                "cluster_config.instance_count",
                "ClusterConfig.InstanceCount",
            ),
            Attr(
                "cluster_config.dedicated_master_enabled",
                "ClusterConfig.DedicatedMasterEnabled",
            ),
            Attr(
                "cluster_config.dedicated_master_type",
                "ClusterConfig.DedicatedMasterType",
            ),
            Attr(
                "cluster_config.dedicated_master_count",
                "ClusterConfig.DedicatedMasterCount",
            ),
            Attr(
                "cluster_config.zone_awareness_enabled",
                "ClusterConfig.ZoneAwarenessEnabled",
            ),
            Attr(
                "cluster_config.zone_awareness_config.availability_zone_count",
                "ClusterConfig.ZoneAwarenessConfig.AvailabilityZoneCount",
            ),
            Shared(DOMAIN_STORAGE),
            Attr("ebs_options.iops", "EBSOptions.Iops"),
            Attr("ebs_options.throughput", "EBSOptions.Throughput"),
            Shared(DOMAIN_PROTECTION),
            Attr(
                "advanced_security_options.enabled",
                "AdvancedSecurityOptions.Enabled",
            ),
            Attr(
                "advanced_security_options.anonymous_auth_enabled",
                "AdvancedSecurityOptions.AnonymousAuthEnabled",
            ),
            Attr(
                "advanced_security_options.internal_user_database_enabled",
                "AdvancedSecurityOptions.InternalUserDatabaseEnabled",
            ),
            Attr(
                "advanced_security_options.master_user_options.master_user_arn",
                "AdvancedSecurityOptions.MasterUserOptions.MasterUserARN",
            ),
            Custom(opensearch_logs),
            Attr(
                "snapshot_options.automated_snapshot_start_hour",
                "SnapshotOptions.AutomatedSnapshotStartHour",
            ),
            Attr(
                "software_update_options.auto_software_update_enabled",
                "SoftwareUpdateOptions.AutoSoftwareUpdateEnabled",
            ),
            Attr("access_policies", "AccessPolicies"),
        ],
    },
    Spec {
        cfn: "AWS::EC2::Instance",
        model: "aws_instance",
        tags: Tags::Tags,
        rules: &[
            Attr("ami", "ImageId"),
            Attr("instance_type", "InstanceType"),
            Attr("subnet_id", "SubnetId"),
            Attr("vpc_security_group_ids", "SecurityGroupIds"),
            Attr("iam_instance_profile", "IamInstanceProfile"),
            Attr("monitoring", "Monitoring"),
            Attr("ebs_optimized", "EbsOptimized"),
            Attr("disable_api_termination", "DisableApiTermination"),
            Attr("metadata_options.http_tokens", "MetadataOptions.HttpTokens"),
            Attr(
                "metadata_options.http_endpoint",
                "MetadataOptions.HttpEndpoint",
            ),
            Attr(
                "metadata_options.http_put_response_hop_limit",
                "MetadataOptions.HttpPutResponseHopLimit",
            ),
            Attr(
                "metadata_options.instance_metadata_tags",
                "MetadataOptions.InstanceMetadataTags",
            ),
            Custom(instance_devices),
        ],
    },
    Spec {
        cfn: "AWS::EC2::LaunchTemplate",
        model: "aws_launch_template",
        tags: Tags::LaunchTemplate,
        rules: &[
            Attr("name", "LaunchTemplateName"),
            Attr("description", "VersionDescription"),
            Attr("image_id", "LaunchTemplateData.ImageId"),
            Attr("instance_type", "LaunchTemplateData.InstanceType"),
            Attr("ebs_optimized", "LaunchTemplateData.EbsOptimized"),
            Attr(
                "iam_instance_profile.name",
                "LaunchTemplateData.IamInstanceProfile.Name",
            ),
            Attr(
                "iam_instance_profile.arn",
                "LaunchTemplateData.IamInstanceProfile.Arn",
            ),
            Each(
                "block_device_mappings",
                "LaunchTemplateData.BlockDeviceMappings",
                &[
                    Attr("device_name", "DeviceName"),
                    Attr("ebs.encrypted", "Ebs.Encrypted"),
                    Attr("ebs.volume_size", "Ebs.VolumeSize"),
                    Attr("ebs.volume_type", "Ebs.VolumeType"),
                    Attr("ebs.kms_key_id", "Ebs.KmsKeyId"),
                    Attr("ebs.delete_on_termination", "Ebs.DeleteOnTermination"),
                    Attr("ebs.iops", "Ebs.Iops"),
                    Attr("ebs.throughput", "Ebs.Throughput"),
                ],
            ),
            Each(
                "network_interfaces",
                "LaunchTemplateData.NetworkInterfaces",
                &[
                    Attr("associate_public_ip_address", "AssociatePublicIpAddress"),
                    Attr("security_groups", "Groups"),
                    Attr("delete_on_termination", "DeleteOnTermination"),
                    Attr("device_index", "DeviceIndex"),
                ],
            ),
            Attr(
                "metadata_options.http_tokens",
                "LaunchTemplateData.MetadataOptions.HttpTokens",
            ),
            Attr(
                "metadata_options.http_endpoint",
                "LaunchTemplateData.MetadataOptions.HttpEndpoint",
            ),
            Attr(
                "metadata_options.http_put_response_hop_limit",
                "LaunchTemplateData.MetadataOptions.HttpPutResponseHopLimit",
            ),
            Attr(
                "metadata_options.instance_metadata_tags",
                "LaunchTemplateData.MetadataOptions.InstanceMetadataTags",
            ),
            Attr(
                "monitoring.enabled",
                "LaunchTemplateData.Monitoring.Enabled",
            ),
        ],
    },
    Spec {
        cfn: "AWS::EKS::Cluster",
        model: "aws_eks_cluster",
        tags: Tags::Tags,
        rules: &[
            Attr("name", "Name"),
            Attr("version", "Version"),
            Attr("role_arn", "RoleArn"),
            Attr("vpc_config.subnet_ids", "ResourcesVpcConfig.SubnetIds"),
            Attr(
                "vpc_config.security_group_ids",
                "ResourcesVpcConfig.SecurityGroupIds",
            ),
            Attr(
                "vpc_config.endpoint_private_access",
                "ResourcesVpcConfig.EndpointPrivateAccess",
            ),
            Attr(
                "vpc_config.endpoint_public_access",
                "ResourcesVpcConfig.EndpointPublicAccess",
            ),
            Attr(
                "vpc_config.public_access_cidrs",
                "ResourcesVpcConfig.PublicAccessCidrs",
            ),
            Attr(
                "encryption_config.resources",
                "EncryptionConfig[0].Resources",
            ),
            Attr(
                "encryption_config.provider.key_arn",
                "EncryptionConfig[0].Provider.KeyArn",
            ),
            Pluck(
                "enabled_cluster_log_types",
                "Logging.ClusterLogging.EnabledTypes",
                "Type",
            ),
            Attr(
                "kubernetes_network_config.service_ipv4_cidr",
                "KubernetesNetworkConfig.ServiceIpv4Cidr",
            ),
            Attr(
                "kubernetes_network_config.ip_family",
                "KubernetesNetworkConfig.IpFamily",
            ),
            Attr(
                "access_config.authentication_mode",
                "AccessConfig.AuthenticationMode",
            ),
            Attr(
                "access_config.bootstrap_cluster_creator_admin_permissions",
                "AccessConfig.BootstrapClusterCreatorAdminPermissions",
            ),
            Attr("upgrade_policy.support_type", "UpgradePolicy.SupportType"),
        ],
    },
    Spec {
        cfn: "AWS::EKS::Nodegroup",
        model: "aws_eks_node_group",
        tags: Tags::Tags,
        rules: &[
            Attr("cluster_name", "ClusterName"),
            Attr("node_group_name", "NodegroupName"),
            Attr("node_role_arn", "NodeRole"),
            Attr("subnet_ids", "Subnets"),
            Attr("instance_types", "InstanceTypes"),
            Attr("capacity_type", "CapacityType"),
            Attr("ami_type", "AmiType"),
            Attr("disk_size", "DiskSize"),
            Attr("scaling_config.desired_size", "ScalingConfig.DesiredSize"),
            Attr("scaling_config.min_size", "ScalingConfig.MinSize"),
            Attr("scaling_config.max_size", "ScalingConfig.MaxSize"),
            Attr(
                "update_config.max_unavailable",
                "UpdateConfig.MaxUnavailable",
            ),
            Attr(
                "update_config.max_unavailable_percentage",
                "UpdateConfig.MaxUnavailablePercentage",
            ),
            Attr("labels", "Labels"),
            Each(
                "taint",
                "Taints",
                &[
                    Attr("key", "Key"),
                    Attr("value", "Value"),
                    Attr("effect", "Effect"),
                ],
            ),
        ],
    },
    Spec {
        cfn: "AWS::KMS::Key",
        model: "aws_kms_key",
        tags: Tags::Tags,
        rules: &[
            Attr("description", "Description"),
            Attr("key_usage", "KeyUsage"),
            Attr("customer_master_key_spec", "KeySpec"),
            Attr("enable_key_rotation", "EnableKeyRotation"),
            Attr("rotation_period_in_days", "RotationPeriodInDays"),
            Attr("deletion_window_in_days", "PendingWindowInDays"),
            Attr("multi_region", "MultiRegion"),
            Attr("is_enabled", "Enabled"),
            Attr("policy", "KeyPolicy"),
        ],
    },
    Spec {
        cfn: "AWS::KMS::Alias",
        model: "aws_kms_alias",
        tags: Tags::Tags,
        rules: &[
            Attr("name", "AliasName"),
            Attr("target_key_id", "TargetKeyId"),
        ],
    },
    Spec {
        cfn: "AWS::IAM::Role",
        model: "aws_iam_role",
        tags: Tags::Tags,
        rules: &[
            Attr("name", "RoleName"),
            Attr("description", "Description"),
            Attr("path", "Path"),
            Attr("assume_role_policy", "AssumeRolePolicyDocument"),
            Attr("permissions_boundary", "PermissionsBoundary"),
            Attr("max_session_duration", "MaxSessionDuration"),
            Attr("managed_policy_arns", "ManagedPolicyArns"),
            Each(
                "inline_policy",
                "Policies",
                &[Attr("name", "PolicyName"), Attr("policy", "PolicyDocument")],
            ),
        ],
    },
    Spec {
        cfn: "AWS::IAM::ManagedPolicy",
        model: "aws_iam_policy",
        tags: Tags::Tags,
        rules: &[
            Attr("name", "ManagedPolicyName"),
            Attr("description", "Description"),
            Attr("path", "Path"),
            Attr("policy", "PolicyDocument"),
        ],
    },
    Spec {
        cfn: "AWS::IAM::User",
        model: "aws_iam_user",
        tags: Tags::Tags,
        rules: &[
            Attr("name", "UserName"),
            Attr("path", "Path"),
            Attr("permissions_boundary", "PermissionsBoundary"),
            Attr("managed_policy_arns", "ManagedPolicyArns"),
            Each(
                "inline_policy",
                "Policies",
                &[Attr("name", "PolicyName"), Attr("policy", "PolicyDocument")],
            ),
        ],
    },
    Spec {
        cfn: "AWS::IAM::InstanceProfile",
        model: "aws_iam_instance_profile",
        tags: Tags::Tags,
        rules: &[
            Attr("name", "InstanceProfileName"),
            Attr("path", "Path"),
            Attr("role", "Roles[0]"),
        ],
    },
    Spec {
        cfn: "AWS::Logs::LogGroup",
        model: "aws_cloudwatch_log_group",
        tags: Tags::Tags,
        rules: &[
            Attr("name", "LogGroupName"),
            Attr("retention_in_days", "RetentionInDays"),
            Attr("kms_key_id", "KmsKeyId"),
            Attr("log_group_class", "LogGroupClass"),
        ],
    },
    Spec {
        cfn: "AWS::SQS::Queue",
        model: "aws_sqs_queue",
        tags: Tags::Tags,
        rules: &[
            Attr("name", "QueueName"),
            Attr("fifo_queue", "FifoQueue"),
            Attr("content_based_deduplication", "ContentBasedDeduplication"),
            Attr("visibility_timeout_seconds", "VisibilityTimeout"),
            Attr("message_retention_seconds", "MessageRetentionPeriod"),
            Attr("max_message_size", "MaximumMessageSize"),
            Attr("delay_seconds", "DelaySeconds"),
            Attr("receive_wait_time_seconds", "ReceiveMessageWaitTimeSeconds"),
            Attr("kms_master_key_id", "KmsMasterKeyId"),
            Attr(
                "kms_data_key_reuse_period_seconds",
                "KmsDataKeyReusePeriodSeconds",
            ),
            Attr("sqs_managed_sse_enabled", "SqsManagedSseEnabled"),
            Attr("redrive_policy", "RedrivePolicy"),
            Attr("redrive_allow_policy", "RedriveAllowPolicy"),
        ],
    },
    Spec {
        cfn: "AWS::SNS::Topic",
        model: "aws_sns_topic",
        tags: Tags::Tags,
        rules: &[
            Attr("name", "TopicName"),
            Attr("display_name", "DisplayName"),
            Attr("kms_master_key_id", "KmsMasterKeyId"),
            Attr("fifo_topic", "FifoTopic"),
        ],
    },
    Spec {
        cfn: "AWS::EC2::VPC",
        model: "aws_vpc",
        tags: Tags::Tags,
        rules: &[
            Attr("cidr_block", "CidrBlock"),
            Attr("enable_dns_support", "EnableDnsSupport"),
            Attr("enable_dns_hostnames", "EnableDnsHostnames"),
            Attr("instance_tenancy", "InstanceTenancy"),
        ],
    },
    Spec {
        cfn: "AWS::EC2::Subnet",
        model: "aws_subnet",
        tags: Tags::Tags,
        rules: &[
            Attr("vpc_id", "VpcId"),
            Attr("cidr_block", "CidrBlock"),
            Attr("availability_zone", "AvailabilityZone"),
            Attr("map_public_ip_on_launch", "MapPublicIpOnLaunch"),
        ],
    },
    Spec {
        cfn: "AWS::EC2::NatGateway",
        model: "aws_nat_gateway",
        tags: Tags::Tags,
        rules: &[
            Attr("allocation_id", "AllocationId"),
            Attr("subnet_id", "SubnetId"),
            Attr("connectivity_type", "ConnectivityType"),
        ],
    },
    Spec {
        cfn: "AWS::EC2::EIP",
        model: "aws_eip",
        tags: Tags::Tags,
        rules: &[Attr("domain", "Domain")],
    },
    Spec {
        cfn: "AWS::EC2::FlowLog",
        model: "aws_flow_log",
        tags: Tags::Tags,
        rules: &[
            Custom(flow_log_target),
            Attr("traffic_type", "TrafficType"),
            Attr("log_destination_type", "LogDestinationType"),
            Attr("log_destination", "LogDestination"),
            Attr("iam_role_arn", "DeliverLogsPermissionArn"),
            Attr("max_aggregation_interval", "MaxAggregationInterval"),
            Attr("log_format", "LogFormat"),
        ],
    },
    Spec {
        cfn: "AWS::RDS::DBSubnetGroup",
        model: "aws_db_subnet_group",
        tags: Tags::Tags,
        rules: &[
            Attr("name", "DBSubnetGroupName"),
            Attr("description", "DBSubnetGroupDescription"),
            Attr("subnet_ids", "SubnetIds"),
        ],
    },
    Spec {
        cfn: "AWS::ElastiCache::SubnetGroup",
        model: "aws_elasticache_subnet_group",
        tags: Tags::Tags,
        rules: &[
            Attr("name", "CacheSubnetGroupName"),
            Attr("description", "Description"),
            Attr("subnet_ids", "SubnetIds"),
        ],
    },
    Spec {
        cfn: "AWS::Lambda::Function",
        model: "aws_lambda_function",
        tags: Tags::Tags,
        rules: &[
            Attr("function_name", "FunctionName"),
            Attr("description", "Description"),
            Attr("role", "Role"),
            Attr("runtime", "Runtime"),
            Attr("handler", "Handler"),
            Attr("architectures", "Architectures"),
            Attr("memory_size", "MemorySize"),
            Attr("timeout", "Timeout"),
            Attr("package_type", "PackageType"),
            Attr("image_uri", "Code.ImageUri"),
            Attr("s3_bucket", "Code.S3Bucket"),
            Attr("s3_key", "Code.S3Key"),
            Attr(
                "reserved_concurrent_executions",
                "ReservedConcurrentExecutions",
            ),
            Attr("kms_key_arn", "KmsKeyArn"),
            Attr("environment.variables", "Environment.Variables"),
            Attr("vpc_config.subnet_ids", "VpcConfig.SubnetIds"),
            Attr(
                "vpc_config.security_group_ids",
                "VpcConfig.SecurityGroupIds",
            ),
            Attr(
                "dead_letter_config.target_arn",
                "DeadLetterConfig.TargetArn",
            ),
            Attr("tracing_config.mode", "TracingConfig.Mode"),
            Attr("logging_config.log_format", "LoggingConfig.LogFormat"),
            Attr("logging_config.log_group", "LoggingConfig.LogGroup"),
            Attr("ephemeral_storage.size", "EphemeralStorage.Size"),
        ],
    },
    // The types teams use beyond the estate's own (issue 9 item 4): Terraform's attribute names.
    Spec {
        cfn: "AWS::EC2::Volume",
        model: "aws_ebs_volume",
        tags: Tags::Tags,
        rules: &[
            Attr("availability_zone", "AvailabilityZone"),
            Attr("size", "Size"),
            Attr("type", "VolumeType"),
            Attr("iops", "Iops"),
            Attr("throughput", "Throughput"),
            Attr("encrypted", "Encrypted"),
            Attr("kms_key_id", "KmsKeyId"),
            Attr("snapshot_id", "SnapshotId"),
            Attr("multi_attach_enabled", "MultiAttachEnabled"),
        ],
    },
    Spec {
        cfn: "AWS::EFS::FileSystem",
        model: "aws_efs_file_system",
        tags: Tags::Tags,
        rules: &[
            Attr("encrypted", "Encrypted"),
            Attr("kms_key_id", "KmsKeyId"),
            Attr("performance_mode", "PerformanceMode"),
            Attr("throughput_mode", "ThroughputMode"),
            Attr(
                "provisioned_throughput_in_mibps",
                "ProvisionedThroughputInMibps",
            ),
            Each(
                "lifecycle_policy",
                "LifecyclePolicies",
                &[
                    Attr("transition_to_ia", "TransitionToIA"),
                    Attr("transition_to_archive", "TransitionToArchive"),
                    Attr(
                        "transition_to_primary_storage_class",
                        "TransitionToPrimaryStorageClass",
                    ),
                ],
            ),
        ],
    },
    Spec {
        cfn: "AWS::DynamoDB::Table",
        model: "aws_dynamodb_table",
        tags: Tags::Tags,
        rules: &[
            Attr("name", "TableName"),
            Attr("billing_mode", "BillingMode"),
            Attr("table_class", "TableClass"),
            Attr("deletion_protection_enabled", "DeletionProtectionEnabled"),
            Attr("read_capacity", "ProvisionedThroughput.ReadCapacityUnits"),
            Attr("write_capacity", "ProvisionedThroughput.WriteCapacityUnits"),
            Each(
                "attribute",
                "AttributeDefinitions",
                &[Attr("name", "AttributeName"), Attr("type", "AttributeType")],
            ),
            Attr(
                "server_side_encryption.enabled",
                "SSESpecification.SSEEnabled",
            ),
            Attr(
                "server_side_encryption.kms_key_arn",
                "SSESpecification.KMSMasterKeyId",
            ),
            Attr(
                "point_in_time_recovery.enabled",
                "PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled",
            ),
            Attr("ttl.enabled", "TimeToLiveSpecification.Enabled"),
            Attr(
                "ttl.attribute_name",
                "TimeToLiveSpecification.AttributeName",
            ),
            Attr("stream_view_type", "StreamSpecification.StreamViewType"),
        ],
    },
    Spec {
        cfn: "AWS::Elasticsearch::Domain",
        model: "aws_elasticsearch_domain",
        tags: Tags::Tags,
        rules: &[
            Attr("domain_name", "DomainName"),
            Attr("elasticsearch_version", "ElasticsearchVersion"),
            Attr(
                "cluster_config.instance_type",
                "ElasticsearchClusterConfig.InstanceType",
            ),
            Attr(
                "cluster_config.instance_count",
                "ElasticsearchClusterConfig.InstanceCount",
            ),
            Attr(
                "cluster_config.dedicated_master_enabled",
                "ElasticsearchClusterConfig.DedicatedMasterEnabled",
            ),
            Attr(
                "cluster_config.zone_awareness_enabled",
                "ElasticsearchClusterConfig.ZoneAwarenessEnabled",
            ),
            Shared(DOMAIN_STORAGE),
            Shared(DOMAIN_PROTECTION),
            Attr("access_policies", "AccessPolicies"),
        ],
    },
    Spec {
        cfn: "AWS::Redshift::Cluster",
        model: "aws_redshift_cluster",
        tags: Tags::Tags,
        rules: &[
            Attr("cluster_identifier", "ClusterIdentifier"),
            Attr("node_type", "NodeType"),
            Attr("number_of_nodes", "NumberOfNodes"),
            Attr("cluster_type", "ClusterType"),
            Attr("database_name", "DBName"),
            Attr("master_username", "MasterUsername"),
            Attr("manage_master_password", "ManageMasterPassword"),
            Attr("encrypted", "Encrypted"),
            Attr("kms_key_id", "KmsKeyId"),
            Attr("publicly_accessible", "PubliclyAccessible"),
            Attr("cluster_subnet_group_name", "ClusterSubnetGroupName"),
            Attr("vpc_security_group_ids", "VpcSecurityGroupIds"),
            Attr(
                "automated_snapshot_retention_period",
                "AutomatedSnapshotRetentionPeriod",
            ),
            Attr("enhanced_vpc_routing", "EnhancedVpcRouting"),
            Attr("logging.bucket_name", "LoggingProperties.BucketName"),
            Attr(
                "logging.log_destination_type",
                "LoggingProperties.LogDestinationType",
            ),
        ],
    },
    Spec {
        cfn: "AWS::DocDB::DBCluster",
        model: "aws_docdb_cluster",
        tags: Tags::Tags,
        rules: &[
            Attr("cluster_identifier", "DBClusterIdentifier"),
            Attr("engine_version", "EngineVersion"),
            Attr("master_username", "MasterUsername"),
            Attr("storage_encrypted", "StorageEncrypted"),
            Attr("kms_key_id", "KmsKeyId"),
            Attr("backup_retention_period", "BackupRetentionPeriod"),
            Attr("preferred_backup_window", "PreferredBackupWindow"),
            Attr("deletion_protection", "DeletionProtection"),
            Attr("db_subnet_group_name", "DBSubnetGroupName"),
            Attr("vpc_security_group_ids", "VpcSecurityGroupIds"),
            Attr(
                "enabled_cloudwatch_logs_exports",
                "EnableCloudwatchLogsExports",
            ),
            Attr("port", "Port"),
        ],
    },
    Spec {
        cfn: "AWS::Kinesis::Stream",
        model: "aws_kinesis_stream",
        tags: Tags::Tags,
        rules: &[
            Attr("name", "Name"),
            Attr("shard_count", "ShardCount"),
            Attr("retention_period", "RetentionPeriodHours"),
            Attr("encryption_type", "StreamEncryption.EncryptionType"),
            Attr("kms_key_id", "StreamEncryption.KeyId"),
            Attr(
                "stream_mode_details.stream_mode",
                "StreamModeDetails.StreamMode",
            ),
        ],
    },
    Spec {
        cfn: "AWS::MSK::Cluster",
        model: "aws_msk_cluster",
        tags: Tags::Tags,
        rules: &[
            Attr("cluster_name", "ClusterName"),
            Attr("kafka_version", "KafkaVersion"),
            Attr("number_of_broker_nodes", "NumberOfBrokerNodes"),
            Attr(
                "broker_node_group_info.instance_type",
                "BrokerNodeGroupInfo.InstanceType",
            ),
            Attr(
                "broker_node_group_info.client_subnets",
                "BrokerNodeGroupInfo.ClientSubnets",
            ),
            Attr(
                "broker_node_group_info.security_groups",
                "BrokerNodeGroupInfo.SecurityGroups",
            ),
            Attr(
                "encryption_info.encryption_at_rest_kms_key_arn",
                "EncryptionInfo.EncryptionAtRest.DataVolumeKMSKeyId",
            ),
            Attr(
                "encryption_info.encryption_in_transit.client_broker",
                "EncryptionInfo.EncryptionInTransit.ClientBroker",
            ),
            Attr(
                "encryption_info.encryption_in_transit.in_cluster",
                "EncryptionInfo.EncryptionInTransit.InCluster",
            ),
            Attr(
                "client_authentication.unauthenticated",
                "ClientAuthentication.Unauthenticated.Enabled",
            ),
            Attr(
                "client_authentication.sasl.iam",
                "ClientAuthentication.Sasl.Iam.Enabled",
            ),
            Attr(
                "client_authentication.sasl.scram",
                "ClientAuthentication.Sasl.Scram.Enabled",
            ),
        ],
    },
    Spec {
        cfn: "AWS::ECR::Repository",
        model: "aws_ecr_repository",
        tags: Tags::Tags,
        rules: &[
            Attr("name", "RepositoryName"),
            Attr("image_tag_mutability", "ImageTagMutability"),
            Attr("force_delete", "EmptyOnDelete"),
            Attr(
                "image_scanning_configuration.scan_on_push",
                "ImageScanningConfiguration.ScanOnPush",
            ),
            Attr(
                "encryption_configuration.encryption_type",
                "EncryptionConfiguration.EncryptionType",
            ),
            Attr(
                "encryption_configuration.kms_key",
                "EncryptionConfiguration.KmsKey",
            ),
        ],
    },
    Spec {
        cfn: "AWS::SecretsManager::Secret",
        model: "aws_secretsmanager_secret",
        tags: Tags::Tags,
        rules: &[
            Attr("name", "Name"),
            Attr("description", "Description"),
            Attr("kms_key_id", "KmsKeyId"),
        ],
    },
    Spec {
        cfn: "AWS::Backup::BackupVault",
        model: "aws_backup_vault",
        tags: Tags::Tags,
        rules: &[
            Attr("name", "BackupVaultName"),
            Attr("kms_key_arn", "EncryptionKeyArn"),
        ],
    },
    Spec {
        cfn: "AWS::IAM::Group",
        model: "aws_iam_group",
        tags: Tags::Tags,
        rules: &[Attr("name", "GroupName"), Attr("path", "Path")],
    },
    Spec {
        cfn: "AWS::IAM::UserPolicy",
        model: "aws_iam_user_policy",
        tags: Tags::Tags,
        rules: &[
            Attr("name", "PolicyName"),
            Attr("user", "UserName"),
            Attr("policy", "PolicyDocument"),
        ],
    },
    Spec {
        cfn: "AWS::IAM::GroupPolicy",
        model: "aws_iam_group_policy",
        tags: Tags::Tags,
        rules: &[
            Attr("name", "PolicyName"),
            Attr("group", "GroupName"),
            Attr("policy", "PolicyDocument"),
        ],
    },
    Spec {
        cfn: "AWS::ElasticLoadBalancingV2::LoadBalancer",
        model: "aws_lb",
        tags: Tags::Tags,
        rules: &[
            Attr("name", "Name"),
            Custom(load_balancer_settings),
            Attr("load_balancer_type", "Type"),
            Attr("subnets", "Subnets"),
            Attr("security_groups", "SecurityGroups"),
            Attr("ip_address_type", "IpAddressType"),
        ],
    },
    Spec {
        cfn: "AWS::ElasticLoadBalancingV2::Listener",
        model: "aws_lb_listener",
        tags: Tags::Tags,
        rules: &[
            Attr("load_balancer_arn", "LoadBalancerArn"),
            Attr("port", "Port"),
            Attr("protocol", "Protocol"),
            Attr("ssl_policy", "SslPolicy"),
            Attr("certificate_arn", "Certificates[0].CertificateArn"),
            Each(
                "default_action",
                "DefaultActions",
                &[
                    Custom(listener_action_type),
                    Attr("target_group_arn", "TargetGroupArn"),
                    Attr("redirect.protocol", "RedirectConfig.Protocol"),
                    Attr("redirect.port", "RedirectConfig.Port"),
                    Attr("redirect.host", "RedirectConfig.Host"),
                    Attr("redirect.path", "RedirectConfig.Path"),
                    Attr("redirect.status_code", "RedirectConfig.StatusCode"),
                    Attr(
                        "fixed_response.status_code",
                        "FixedResponseConfig.StatusCode",
                    ),
                ],
            ),
        ],
    },
    Spec {
        cfn: "AWS::ElasticLoadBalancingV2::TargetGroup",
        model: "aws_lb_target_group",
        tags: Tags::Tags,
        rules: &[
            Attr("name", "Name"),
            Attr("port", "Port"),
            Attr("protocol", "Protocol"),
            Attr("protocol_version", "ProtocolVersion"),
            Attr("target_type", "TargetType"),
            Attr("vpc_id", "VpcId"),
            Attr("health_check.enabled", "HealthCheckEnabled"),
            Attr("health_check.path", "HealthCheckPath"),
            Attr("health_check.protocol", "HealthCheckProtocol"),
        ],
    },
    Spec {
        cfn: "AWS::CloudFront::Distribution",
        model: "aws_cloudfront_distribution",
        tags: Tags::Tags,
        rules: &[
            Attr("enabled", "DistributionConfig.Enabled"),
            Attr("comment", "DistributionConfig.Comment"),
            Attr("aliases", "DistributionConfig.Aliases"),
            Attr("price_class", "DistributionConfig.PriceClass"),
            Attr("web_acl_id", "DistributionConfig.WebACLId"),
            Attr("http_version", "DistributionConfig.HttpVersion"),
            Attr("is_ipv6_enabled", "DistributionConfig.IPV6Enabled"),
            Attr(
                "default_root_object",
                "DistributionConfig.DefaultRootObject",
            ),
            Each(
                "origin",
                "DistributionConfig.Origins",
                &[
                    Attr("domain_name", "DomainName"),
                    Attr("origin_id", "Id"),
                    Attr("origin_access_control_id", "OriginAccessControlId"),
                    Attr(
                        "custom_origin_config.origin_protocol_policy",
                        "CustomOriginConfig.OriginProtocolPolicy",
                    ),
                    Attr(
                        "custom_origin_config.origin_ssl_protocols",
                        "CustomOriginConfig.OriginSSLProtocols",
                    ),
                ],
            ),
            Attr(
                "default_cache_behavior.target_origin_id",
                "DistributionConfig.DefaultCacheBehavior.TargetOriginId",
            ),
            Attr(
                "default_cache_behavior.viewer_protocol_policy",
                "DistributionConfig.DefaultCacheBehavior.ViewerProtocolPolicy",
            ),
            Each(
                "ordered_cache_behavior",
                "DistributionConfig.CacheBehaviors",
                &[
                    Attr("path_pattern", "PathPattern"),
                    Attr("target_origin_id", "TargetOriginId"),
                    Attr("viewer_protocol_policy", "ViewerProtocolPolicy"),
                ],
            ),
            Attr(
                "viewer_certificate.cloudfront_default_certificate",
                "DistributionConfig.ViewerCertificate.CloudFrontDefaultCertificate",
            ),
            Attr(
                "viewer_certificate.acm_certificate_arn",
                "DistributionConfig.ViewerCertificate.AcmCertificateArn",
            ),
            Attr(
                "viewer_certificate.minimum_protocol_version",
                "DistributionConfig.ViewerCertificate.MinimumProtocolVersion",
            ),
            Attr(
                "viewer_certificate.ssl_support_method",
                "DistributionConfig.ViewerCertificate.SslSupportMethod",
            ),
            Attr("logging_config.bucket", "DistributionConfig.Logging.Bucket"),
            Attr("logging_config.prefix", "DistributionConfig.Logging.Prefix"),
            Attr(
                "logging_config.include_cookies",
                "DistributionConfig.Logging.IncludeCookies",
            ),
        ],
    },
    Spec {
        cfn: "AWS::ApiGateway::RestApi",
        model: "aws_api_gateway_rest_api",
        tags: Tags::Tags,
        rules: &[
            Attr("name", "Name"),
            Attr("description", "Description"),
            Attr("api_key_source", "ApiKeySourceType"),
            Attr("disable_execute_api_endpoint", "DisableExecuteApiEndpoint"),
            Attr("minimum_compression_size", "MinimumCompressionSize"),
            Attr(
                "endpoint_configuration.types",
                "EndpointConfiguration.Types",
            ),
            Attr(
                "endpoint_configuration.vpc_endpoint_ids",
                "EndpointConfiguration.VpcEndpointIds",
            ),
            Attr("policy", "Policy"),
        ],
    },
    Spec {
        cfn: "AWS::ApiGateway::Stage",
        model: "aws_api_gateway_stage",
        tags: Tags::Tags,
        rules: &[
            Attr("rest_api_id", "RestApiId"),
            Attr("stage_name", "StageName"),
            Attr("deployment_id", "DeploymentId"),
            Attr("xray_tracing_enabled", "TracingEnabled"),
            Attr("cache_cluster_enabled", "CacheClusterEnabled"),
            Attr("client_certificate_id", "ClientCertificateId"),
            Attr(
                "access_log_settings.destination_arn",
                "AccessLogSetting.DestinationArn",
            ),
            Attr("access_log_settings.format", "AccessLogSetting.Format"),
        ],
    },
    Spec {
        cfn: "AWS::ApiGatewayV2::Api",
        model: "aws_apigatewayv2_api",
        tags: Tags::Tags,
        rules: &[
            Attr("name", "Name"),
            Attr("protocol_type", "ProtocolType"),
            Attr("description", "Description"),
            Attr("disable_execute_api_endpoint", "DisableExecuteApiEndpoint"),
            Attr("route_selection_expression", "RouteSelectionExpression"),
            Attr(
                "cors_configuration.allow_origins",
                "CorsConfiguration.AllowOrigins",
            ),
            Attr(
                "cors_configuration.allow_credentials",
                "CorsConfiguration.AllowCredentials",
            ),
        ],
    },
    Spec {
        cfn: "AWS::ApiGatewayV2::Stage",
        model: "aws_apigatewayv2_stage",
        tags: Tags::Tags,
        rules: &[
            Attr("api_id", "ApiId"),
            Attr("name", "StageName"),
            Attr("auto_deploy", "AutoDeploy"),
            Attr("deployment_id", "DeploymentId"),
            Attr(
                "access_log_settings.destination_arn",
                "AccessLogSettings.DestinationArn",
            ),
            Attr("access_log_settings.format", "AccessLogSettings.Format"),
            Attr(
                "default_route_settings.detailed_metrics_enabled",
                "DefaultRouteSettings.DetailedMetricsEnabled",
            ),
            Attr(
                "default_route_settings.logging_level",
                "DefaultRouteSettings.LoggingLevel",
            ),
        ],
    },
    Spec {
        cfn: "AWS::CloudTrail::Trail",
        model: "aws_cloudtrail",
        tags: Tags::Tags,
        rules: &[
            Attr("name", "TrailName"),
            Attr("s3_bucket_name", "S3BucketName"),
            Attr("s3_key_prefix", "S3KeyPrefix"),
            Attr("is_multi_region_trail", "IsMultiRegionTrail"),
            Attr("is_organization_trail", "IsOrganizationTrail"),
            Attr(
                "include_global_service_events",
                "IncludeGlobalServiceEvents",
            ),
            Attr("enable_log_file_validation", "EnableLogFileValidation"),
            Attr("enable_logging", "IsLogging"),
            Attr("kms_key_id", "KMSKeyId"),
            Attr("cloud_watch_logs_group_arn", "CloudWatchLogsLogGroupArn"),
            Attr("cloud_watch_logs_role_arn", "CloudWatchLogsRoleArn"),
            Attr("sns_topic_name", "SnsTopicName"),
        ],
    },
    Spec {
        cfn: "AWS::EC2::NetworkAclEntry",
        model: "aws_network_acl_rule",
        tags: Tags::Tags,
        rules: &[
            Attr("network_acl_id", "NetworkAclId"),
            Attr("rule_number", "RuleNumber"),
            Attr("egress", "Egress"),
            Custom(nacl_entry_protocol),
            Attr("rule_action", "RuleAction"),
            Attr("cidr_block", "CidrBlock"),
            Attr("ipv6_cidr_block", "Ipv6CidrBlock"),
            Attr("from_port", "PortRange.From"),
            Attr("to_port", "PortRange.To"),
            Attr("icmp_type", "Icmp.Type"),
            Attr("icmp_code", "Icmp.Code"),
        ],
    },
    Spec {
        cfn: "AWS::EC2::Route",
        model: "aws_route",
        tags: Tags::Tags,
        rules: &[
            Attr("route_table_id", "RouteTableId"),
            Attr("destination_cidr_block", "DestinationCidrBlock"),
            Attr("destination_ipv6_cidr_block", "DestinationIpv6CidrBlock"),
            Attr("destination_prefix_list_id", "DestinationPrefixListId"),
            Attr("gateway_id", "GatewayId"),
            Attr("nat_gateway_id", "NatGatewayId"),
            Attr("transit_gateway_id", "TransitGatewayId"),
            Attr("vpc_peering_connection_id", "VpcPeeringConnectionId"),
            Attr("vpc_endpoint_id", "VpcEndpointId"),
            Attr("network_interface_id", "NetworkInterfaceId"),
            Attr("egress_only_gateway_id", "EgressOnlyInternetGatewayId"),
        ],
    },
    Spec {
        cfn: "AWS::EC2::VPCEndpoint",
        model: "aws_vpc_endpoint",
        tags: Tags::Tags,
        rules: &[
            Attr("vpc_id", "VpcId"),
            Attr("service_name", "ServiceName"),
            Attr("vpc_endpoint_type", "VpcEndpointType"),
            Attr("private_dns_enabled", "PrivateDnsEnabled"),
            Attr("subnet_ids", "SubnetIds"),
            Attr("security_group_ids", "SecurityGroupIds"),
            Attr("route_table_ids", "RouteTableIds"),
            Attr("policy", "PolicyDocument"),
        ],
    },
    Spec {
        cfn: "AWS::ECS::Cluster",
        model: "aws_ecs_cluster",
        tags: Tags::Tags,
        rules: &[
            Attr("name", "ClusterName"),
            Each(
                "setting",
                "ClusterSettings",
                &[Attr("name", "Name"), Attr("value", "Value")],
            ),
            Attr(
                "configuration.execute_command_configuration.kms_key_id",
                "Configuration.ExecuteCommandConfiguration.KmsKeyId",
            ),
            Attr(
                "configuration.execute_command_configuration.logging",
                "Configuration.ExecuteCommandConfiguration.Logging",
            ),
        ],
    },
    Spec {
        cfn: "AWS::ECS::Service",
        model: "aws_ecs_service",
        tags: Tags::Tags,
        rules: &[
            Attr("name", "ServiceName"),
            Attr("cluster", "Cluster"),
            Attr("task_definition", "TaskDefinition"),
            Attr("desired_count", "DesiredCount"),
            Attr("launch_type", "LaunchType"),
            Attr("platform_version", "PlatformVersion"),
            Attr("enable_execute_command", "EnableExecuteCommand"),
            Attr(
                "network_configuration.subnets",
                "NetworkConfiguration.AwsvpcConfiguration.Subnets",
            ),
            Attr(
                "network_configuration.security_groups",
                "NetworkConfiguration.AwsvpcConfiguration.SecurityGroups",
            ),
            Status(
                "network_configuration.assign_public_ip",
                "NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp",
            ),
            Each(
                "load_balancer",
                "LoadBalancers",
                &[
                    Attr("target_group_arn", "TargetGroupArn"),
                    Attr("container_name", "ContainerName"),
                    Attr("container_port", "ContainerPort"),
                ],
            ),
        ],
    },
    Spec {
        cfn: "AWS::ECS::TaskDefinition",
        model: "aws_ecs_task_definition",
        tags: Tags::Tags,
        rules: &[
            Attr("family", "Family"),
            Attr("network_mode", "NetworkMode"),
            Attr("requires_compatibilities", "RequiresCompatibilities"),
            Attr("cpu", "Cpu"),
            Attr("memory", "Memory"),
            Attr("task_role_arn", "TaskRoleArn"),
            Attr("execution_role_arn", "ExecutionRoleArn"),
            Attr("container_definitions", "ContainerDefinitions"),
            Attr("pid_mode", "PidMode"),
            Attr("ipc_mode", "IpcMode"),
        ],
    },
    Spec {
        cfn: "AWS::Lambda::Permission",
        model: "aws_lambda_permission",
        tags: Tags::Tags,
        rules: &[
            Attr("action", "Action"),
            Attr("function_name", "FunctionName"),
            Attr("principal", "Principal"),
            Attr("source_arn", "SourceArn"),
            Attr("source_account", "SourceAccount"),
            Attr("principal_org_id", "PrincipalOrgID"),
            Attr("function_url_auth_type", "FunctionUrlAuthType"),
            Attr("event_source_token", "EventSourceToken"),
        ],
    },
    Spec {
        cfn: "AWS::WAFv2::WebACL",
        model: "aws_wafv2_web_acl",
        tags: Tags::Tags,
        rules: &[
            Attr("name", "Name"),
            Attr("description", "Description"),
            Attr("scope", "Scope"),
            Attr("default_action", "DefaultAction"),
            Attr("rule", "Rules"),
            Attr(
                "visibility_config.cloudwatch_metrics_enabled",
                "VisibilityConfig.CloudWatchMetricsEnabled",
            ),
            Attr(
                "visibility_config.metric_name",
                "VisibilityConfig.MetricName",
            ),
            Attr(
                "visibility_config.sampled_requests_enabled",
                "VisibilityConfig.SampledRequestsEnabled",
            ),
        ],
    },
    Spec {
        cfn: "AWS::SSM::Parameter",
        model: "aws_ssm_parameter",
        tags: Tags::Tags,
        rules: &[
            Attr("name", "Name"),
            Attr("type", "Type"),
            Attr("description", "Description"),
            Attr("tier", "Tier"),
            Attr("data_type", "DataType"),
            Attr("allowed_pattern", "AllowedPattern"),
        ],
    },
    Spec {
        cfn: "AWS::AutoScaling::LaunchConfiguration",
        model: "aws_launch_configuration",
        tags: Tags::Tags,
        rules: &[
            Attr("name", "LaunchConfigurationName"),
            Attr("image_id", "ImageId"),
            Attr("instance_type", "InstanceType"),
            Attr("iam_instance_profile", "IamInstanceProfile"),
            Attr("security_groups", "SecurityGroups"),
            Attr("associate_public_ip_address", "AssociatePublicIpAddress"),
            Attr("enable_monitoring", "InstanceMonitoring"),
            Attr("ebs_optimized", "EbsOptimized"),
            Each(
                "ebs_block_device",
                "BlockDeviceMappings",
                &[
                    Attr("device_name", "DeviceName"),
                    Attr("encrypted", "Ebs.Encrypted"),
                    Attr("snapshot_id", "Ebs.SnapshotId"),
                    Attr("volume_size", "Ebs.VolumeSize"),
                    Attr("volume_type", "Ebs.VolumeType"),
                    Attr("delete_on_termination", "Ebs.DeleteOnTermination"),
                    Attr("iops", "Ebs.Iops"),
                    Attr("throughput", "Ebs.Throughput"),
                ],
            ),
            Attr("metadata_options.http_tokens", "MetadataOptions.HttpTokens"),
            Attr(
                "metadata_options.http_endpoint",
                "MetadataOptions.HttpEndpoint",
            ),
            Attr(
                "metadata_options.http_put_response_hop_limit",
                "MetadataOptions.HttpPutResponseHopLimit",
            ),
        ],
    },
    Spec {
        cfn: "AWS::EC2::RouteTable",
        model: "aws_route_table",
        tags: Tags::Tags,
        rules: &[Attr("vpc_id", "VpcId")],
    },
    Spec {
        cfn: "AWS::EC2::SubnetRouteTableAssociation",
        model: "aws_route_table_association",
        tags: Tags::Tags,
        rules: &[
            Attr("subnet_id", "SubnetId"),
            Attr("route_table_id", "RouteTableId"),
        ],
    },
    Spec {
        cfn: "AWS::EC2::InternetGateway",
        model: "aws_internet_gateway",
        tags: Tags::Tags,
        rules: &[],
    },
    Spec {
        cfn: "AWS::EC2::VPCGatewayAttachment",
        model: "aws_internet_gateway_attachment",
        tags: Tags::Tags,
        rules: &[
            Attr("internet_gateway_id", "InternetGatewayId"),
            Attr("vpc_id", "VpcId"),
        ],
    },
    Spec {
        cfn: "AWS::EC2::NetworkAcl",
        model: "aws_network_acl",
        tags: Tags::Tags,
        rules: &[Attr("vpc_id", "VpcId")],
    },
    Spec {
        cfn: "AWS::EC2::NetworkInterface",
        model: "aws_network_interface",
        tags: Tags::Tags,
        rules: &[
            Attr("subnet_id", "SubnetId"),
            Attr("security_groups", "GroupSet"),
            Attr("source_dest_check", "SourceDestCheck"),
            Attr("description", "Description"),
        ],
    },
    Spec {
        cfn: "AWS::EC2::KeyPair",
        model: "aws_key_pair",
        tags: Tags::Tags,
        rules: &[
            Attr("key_name", "KeyName"),
            Attr("public_key", "PublicKeyMaterial"),
        ],
    },
    Spec {
        cfn: "AWS::EC2::VolumeAttachment",
        model: "aws_volume_attachment",
        tags: Tags::Tags,
        rules: &[
            Attr("device_name", "Device"),
            Attr("volume_id", "VolumeId"),
            Attr("instance_id", "InstanceId"),
        ],
    },
    Spec {
        cfn: "AWS::Route53::HostedZone",
        model: "aws_route53_zone",
        tags: Tags::Tags,
        rules: &[
            Attr("name", "Name"),
            Attr("comment", "HostedZoneConfig.Comment"),
        ],
    },
    Spec {
        cfn: "AWS::Route53::RecordSet",
        model: "aws_route53_record",
        tags: Tags::Tags,
        rules: &[
            Attr("zone_id", "HostedZoneId"),
            Attr("name", "Name"),
            Attr("type", "Type"),
            Attr("records", "ResourceRecords"),
        ],
    },
    Spec {
        cfn: "AWS::CertificateManager::Certificate",
        model: "aws_acm_certificate",
        tags: Tags::Tags,
        rules: &[
            Attr("domain_name", "DomainName"),
            Attr("subject_alternative_names", "SubjectAlternativeNames"),
            Attr("validation_method", "ValidationMethod"),
            Attr("key_algorithm", "KeyAlgorithm"),
        ],
    },
    Spec {
        cfn: "AWS::CloudWatch::Alarm",
        model: "aws_cloudwatch_metric_alarm",
        tags: Tags::Tags,
        rules: &[
            Attr("alarm_name", "AlarmName"),
            Attr("namespace", "Namespace"),
            Attr("metric_name", "MetricName"),
            Attr("comparison_operator", "ComparisonOperator"),
            Attr("evaluation_periods", "EvaluationPeriods"),
            Attr("period", "Period"),
            Attr("statistic", "Statistic"),
            Attr("alarm_actions", "AlarmActions"),
        ],
    },
    Spec {
        cfn: "AWS::Events::Rule",
        model: "aws_cloudwatch_event_rule",
        tags: Tags::Tags,
        rules: &[
            Attr("name", "Name"),
            Attr("description", "Description"),
            Attr("schedule_expression", "ScheduleExpression"),
            Attr("event_pattern", "EventPattern"),
            Attr("state", "State"),
            Attr("event_bus_name", "EventBusName"),
        ],
    },
    Spec {
        cfn: "AWS::RDS::DBParameterGroup",
        model: "aws_db_parameter_group",
        tags: Tags::Tags,
        rules: &[
            Attr("name", "DBParameterGroupName"),
            Attr("family", "Family"),
            Attr("description", "Description"),
        ],
    },
    Spec {
        cfn: "AWS::RDS::OptionGroup",
        model: "aws_db_option_group",
        tags: Tags::Tags,
        rules: &[
            Attr("name", "OptionGroupName"),
            Attr("engine_name", "EngineName"),
            Attr("major_engine_version", "MajorEngineVersion"),
        ],
    },
    Spec {
        cfn: "AWS::SNS::Subscription",
        model: "aws_sns_topic_subscription",
        tags: Tags::Tags,
        rules: &[
            Attr("topic_arn", "TopicArn"),
            Attr("protocol", "Protocol"),
            Attr("endpoint", "Endpoint"),
            Attr("raw_message_delivery", "RawMessageDelivery"),
        ],
    },
    Spec {
        cfn: "AWS::AutoScaling::ScalingPolicy",
        model: "aws_autoscaling_policy",
        tags: Tags::Tags,
        rules: &[
            Attr("autoscaling_group_name", "AutoScalingGroupName"),
            Attr("policy_type", "PolicyType"),
            Attr("adjustment_type", "AdjustmentType"),
            Attr("scaling_adjustment", "ScalingAdjustment"),
        ],
    },
    Spec {
        cfn: "AWS::ElasticLoadBalancingV2::ListenerRule",
        model: "aws_lb_listener_rule",
        tags: Tags::Tags,
        rules: &[
            Attr("listener_arn", "ListenerArn"),
            Attr("priority", "Priority"),
        ],
    },
    Spec {
        cfn: "AWS::IAM::AccessKey",
        model: "aws_iam_access_key",
        tags: Tags::Tags,
        rules: &[Attr("user", "UserName"), Attr("status", "Status")],
    },
    Spec {
        cfn: "AWS::Lambda::EventSourceMapping",
        model: "aws_lambda_event_source_mapping",
        tags: Tags::Tags,
        rules: &[
            Attr("event_source_arn", "EventSourceArn"),
            Attr("function_name", "FunctionName"),
            Attr("batch_size", "BatchSize"),
            Attr(
                "maximum_batching_window_in_seconds",
                "MaximumBatchingWindowInSeconds",
            ),
            Attr("enabled", "Enabled"),
            Attr("function_response_types", "FunctionResponseTypes"),
        ],
    },
];

/// A load balancer's attributes (`LoadBalancerAttributes: [{Key, Value}]`) that rules read.
fn load_balancer_settings(src: &Value, out: &mut Tree) {
    let scheme = dig(src, "Scheme");
    out.set(
        "internal",
        match &scheme {
            Value::String(s) => Value::from(s.as_ref() == "internal"),
            v => v.clone(),
        },
    );
    let Value::Array(attrs) = &src["LoadBalancerAttributes"] else {
        return;
    };
    for a in attrs.iter() {
        let (Value::String(key), value) = (&a["Key"], &a["Value"]) else {
            continue;
        };
        let flag = |v: &Value| match v {
            Value::String(s) if s.as_ref() == "true" || s.as_ref() == "false" => {
                Value::from(s.as_ref() == "true")
            }
            v => v.clone(),
        };
        match key.as_ref() {
            "access_logs.s3.enabled" => out.set("access_logs.enabled", flag(value)),
            "access_logs.s3.bucket" => out.set("access_logs.bucket", value.clone()),
            "access_logs.s3.prefix" => out.set("access_logs.prefix", value.clone()),
            "routing.http.drop_invalid_header_fields.enabled" => {
                out.set("drop_invalid_header_fields", flag(value))
            }
            "deletion_protection.enabled" => out.set("enable_deletion_protection", flag(value)),
            _ => {}
        }
    }
}

/// A listener action's `Type` as Terraform writes it (`forward`, `redirect`, …).
fn listener_action_type(src: &Value, out: &mut Tree) {
    out.set("type", dig(src, "Type"));
}

/// A network ACL entry's protocol number as Terraform's names (`6` → `tcp`, `-1` stays).
fn nacl_entry_protocol(src: &Value, out: &mut Tree) {
    out.set("protocol", protocol(&src["Protocol"]));
}

/// Properties a rule needs that the mapping does not read: when a template sets one, the
/// resource is still judged on the rest, and the gap is a coverage finding (`TG-COV-003`) rather
/// than skipped. (cloudformation type, property, whether this template's value is a gap, why.)
type UnmappedCheck = (&'static str, &'static str, fn(&Value) -> bool, &'static str);
static UNMAPPED: &[UnmappedCheck] = &[(
    "AWS::EC2::Instance",
    "BlockDeviceMappings",
    |p| {
        matches!(&p["BlockDeviceMappings"], Value::Array(m)
                if m.iter().filter(|m| m["Ebs"] != Value::Undefined).count() > 1)
    },
    "only the root volume is read, so TG-ENC-005 cannot see whether the other volumes are encrypted",
)];

/// The gaps [`UNMAPPED`] finds in one resource's (resolved) properties.
fn unmapped_settings(id: &str, cfn_type: &str, props: &Value, at: LineCol) -> Vec<Unmodelled> {
    UNMAPPED
        .iter()
        .filter(|(t, _, gap, _)| *t == cfn_type && gap(props))
        .map(|(_, property, _, why)| Unmodelled::setting(id, cfn_type, *property, at).because(*why))
        .collect()
}

/// `AWS::RDS::DBInstance` without `DBClusterIdentifier`: a database of its own (the
/// instance is then not an Aurora member, and carries storage, backups and protection itself).
static STANDALONE_DB_INSTANCE: Spec = Spec {
    cfn: "AWS::RDS::DBInstance",
    model: "aws_db_instance",
    tags: Tags::Tags,
    rules: &[
        Attr("identifier", "DBInstanceIdentifier"),
        Attr("engine", "Engine"),
        Attr("engine_version", "EngineVersion"),
        Attr("instance_class", "DBInstanceClass"),
        Attr("allocated_storage", "AllocatedStorage"),
        Attr("max_allocated_storage", "MaxAllocatedStorage"),
        Attr("storage_type", "StorageType"),
        Attr("iops", "Iops"),
        Attr("storage_encrypted", "StorageEncrypted"),
        Attr("kms_key_id", "KmsKeyId"),
        Attr("publicly_accessible", "PubliclyAccessible"),
        Attr("backup_retention_period", "BackupRetentionPeriod"),
        Attr("backup_window", "PreferredBackupWindow"),
        Attr("maintenance_window", "PreferredMaintenanceWindow"),
        Attr("deletion_protection", "DeletionProtection"),
        Attr("multi_az", "MultiAZ"),
        Attr("db_subnet_group_name", "DBSubnetGroupName"),
        Attr("vpc_security_group_ids", "VPCSecurityGroups"),
        Attr(
            "iam_database_authentication_enabled",
            "EnableIAMDatabaseAuthentication",
        ),
        Attr(
            "enabled_cloudwatch_logs_exports",
            "EnableCloudwatchLogsExports",
        ),
        Attr("performance_insights_enabled", "EnablePerformanceInsights"),
        Attr(
            "performance_insights_kms_key_id",
            "PerformanceInsightsKMSKeyId",
        ),
        Attr("monitoring_interval", "MonitoringInterval"),
        Attr("monitoring_role_arn", "MonitoringRoleArn"),
        Attr("auto_minor_version_upgrade", "AutoMinorVersionUpgrade"),
        Attr("copy_tags_to_snapshot", "CopyTagsToSnapshot"),
        Attr("username", "MasterUsername"),
        Attr("manage_master_user_password", "ManageMasterUserPassword"),
        Attr("parameter_group_name", "DBParameterGroupName"),
        Attr("port", "Port"),
        Attr("db_name", "DBName"),
        Attr("ca_cert_identifier", "CACertificateIdentifier"),
        Attr("availability_zone", "AvailabilityZone"),
        Attr("replicate_source_db", "SourceDBInstanceIdentifier"),
    ],
};

fn spec_for(cfn_type: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.cfn == cfn_type)
}

/// Split resources: kept apart in CloudFormation, folded into the object they configure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Split {
    BucketPolicy,
    Ingress,
    Egress,
    IamPolicy,
    RolePolicy,
    QueuePolicy,
    TopicPolicy,
}

/// The split types and the registered type each folds into.
pub const SPLIT_TYPES: &[(&str, &str)] = &[
    ("AWS::S3::BucketPolicy", "aws_s3_bucket"),
    ("AWS::EC2::SecurityGroupIngress", "aws_security_group"),
    ("AWS::EC2::SecurityGroupEgress", "aws_security_group"),
    ("AWS::IAM::Policy", "aws_iam_role"),
    ("AWS::IAM::RolePolicy", "aws_iam_role"),
    ("AWS::SQS::QueuePolicy", "aws_sqs_queue"),
    ("AWS::SNS::TopicPolicy", "aws_sns_topic"),
];

impl Split {
    fn of(cfn_type: &str) -> Option<Split> {
        Some(match cfn_type {
            "AWS::S3::BucketPolicy" => Split::BucketPolicy,
            "AWS::EC2::SecurityGroupIngress" => Split::Ingress,
            "AWS::EC2::SecurityGroupEgress" => Split::Egress,
            "AWS::IAM::Policy" => Split::IamPolicy,
            "AWS::IAM::RolePolicy" => Split::RolePolicy,
            "AWS::SQS::QueuePolicy" => Split::QueuePolicy,
            "AWS::SNS::TopicPolicy" => Split::TopicPolicy,
            _ => return None,
        })
    }

    fn model(self) -> &'static str {
        match self {
            Split::BucketPolicy => "aws_s3_bucket",
            Split::Ingress | Split::Egress => "aws_security_group",
            Split::IamPolicy | Split::RolePolicy => "aws_iam_role",
            Split::QueuePolicy => "aws_sqs_queue",
            Split::TopicPolicy => "aws_sns_topic",
        }
    }

    /// The property naming the object(s) it configures, and the model attribute a literal name
    /// is matched against.
    fn link(self) -> (&'static str, Option<&'static str>) {
        match self {
            Split::BucketPolicy => ("Bucket", Some("bucket")),
            Split::Ingress | Split::Egress => ("GroupId", None),
            Split::IamPolicy => ("Roles", Some("name")),
            Split::RolePolicy => ("RoleName", Some("name")),
            Split::QueuePolicy => ("Queues", None),
            Split::TopicPolicy => ("Topics", None),
        }
    }

    fn apply(self, props: &mut BTreeMap<Value, Value>, raw: &Value, self_id: &str) {
        let push = |props: &mut BTreeMap<Value, Value>, key: &str, item: Value| {
            let mut items: Vec<Value> = match props.get(&Value::from(key)) {
                Some(Value::Array(a)) => a.iter().cloned().collect(),
                _ => Vec::new(),
            };
            items.push(item);
            props.insert(Value::from(key), Value::from(items));
        };
        match self {
            Split::BucketPolicy | Split::QueuePolicy | Split::TopicPolicy => {
                let policy = raw["PolicyDocument"].clone();
                if policy != Value::Undefined {
                    props.insert(Value::from("policy"), policy);
                }
            }
            Split::Ingress => push(props, "ingress", sg_rule(raw, false, Some(self_id))),
            Split::Egress => push(props, "egress", sg_rule(raw, true, Some(self_id))),
            Split::IamPolicy | Split::RolePolicy => {
                let mut t = Tree::default();
                t.set("name", raw["PolicyName"].clone());
                t.set("policy", raw["PolicyDocument"].clone());
                push(props, "inline_policy", t.into_value());
            }
        }
    }
}

/// Model properties being built: nested by dotted paths.
#[derive(Default)]
struct Tree(BTreeMap<String, Slot>);

enum Slot {
    Leaf(Value),
    Sub(Tree),
}

impl Tree {
    fn set(&mut self, path: &str, v: Value) {
        if matches!(v, Value::Undefined | Value::Null) {
            return;
        }
        match path.split_once('.') {
            None => {
                self.0.insert(path.to_owned(), Slot::Leaf(v));
            }
            Some((head, rest)) => {
                let slot = self
                    .0
                    .entry(head.to_owned())
                    .or_insert_with(|| Slot::Sub(Tree::default()));
                if let Slot::Leaf(_) = slot {
                    *slot = Slot::Sub(Tree::default());
                }
                if let Slot::Sub(t) = slot {
                    t.set(rest, v);
                }
            }
        }
    }

    fn has(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    fn into_value(self) -> Value {
        Value::from(
            self.0
                .into_iter()
                .map(|(k, s)| {
                    let v = match s {
                        Slot::Leaf(v) => v,
                        Slot::Sub(t) => t.into_value(),
                    };
                    (Value::from(k), v)
                })
                .collect::<BTreeMap<_, _>>(),
        )
    }
}

/// The value at a dotted path (`[0]` takes a list's first item). An unknown value on the way
/// makes the whole value unknown.
fn dig(v: &Value, path: &str) -> Value {
    let mut cur = v;
    for seg in path.split('.') {
        let (key, first) = match seg.strip_suffix("[0]") {
            Some(k) => (k, true),
            None => (seg, false),
        };
        if is_unknown(cur) {
            return cur.clone();
        }
        cur = &cur[key];
        if first {
            if is_unknown(cur) {
                return cur.clone();
            }
            cur = match cur {
                Value::Array(items) => items.first().unwrap_or(&Value::Undefined),
                _ => &Value::Undefined,
            };
        }
    }
    cur.clone()
}

fn status(v: Value) -> Value {
    match &v {
        _ if is_unknown(&v) => v,
        Value::String(s) => Value::from(s.as_ref() == "Enabled"),
        _ => Value::Undefined,
    }
}

fn wrap(v: Value) -> Value {
    match v {
        Value::Undefined | Value::Null => Value::Undefined,
        Value::Array(_) => v,
        v => Value::from(vec![v]),
    }
}

fn each(list: Value, f: impl Fn(&Value) -> Value) -> Value {
    match &list {
        Value::Array(items) => Value::from(
            items
                .iter()
                .map(|i| if is_unknown(i) { i.clone() } else { f(i) })
                .filter(|v| *v != Value::Undefined)
                .collect::<Vec<_>>(),
        ),
        // Missing, unknown, or the wrong shape (the schema check names that).
        _ => list,
    }
}

fn apply_rules(rules: &[Rule], src: &Value, out: &mut Tree) {
    for rule in rules {
        match *rule {
            Attr(to, from) => out.set(to, dig(src, from)),
            Status(to, from) => out.set(to, status(dig(src, from))),
            Each(to, from, inner) => out.set(
                to,
                each(dig(src, from), |item| {
                    let mut t = Tree::default();
                    apply_rules(inner, item, &mut t);
                    t.into_value()
                }),
            ),
            Pluck(to, from, field) => out.set(to, each(dig(src, from), |item| dig(item, field))),
            Custom(f) => f(src, out),
            Shared(rules) => apply_rules(rules, src, out),
        }
    }
}

fn protocol(v: &Value) -> Value {
    let text = match v {
        _ if is_unknown(v) => return v.clone(),
        Value::String(s) => s.to_ascii_lowercase(),
        Value::Number(_) => number_text(v),
        _ => return Value::Undefined,
    };
    Value::from(match text.as_str() {
        "6" => "tcp",
        "17" => "udp",
        "1" => "icmp",
        "58" => "icmpv6",
        "all" => "-1",
        other => other,
    })
}

/// One security group rule (inline or a split `SecurityGroupIngress` / `Egress`).
fn sg_rule(r: &Value, egress: bool, self_id: Option<&str>) -> Value {
    if is_unknown(r) {
        return r.clone();
    }
    let mut t = Tree::default();
    let proto = protocol(&r["IpProtocol"]);
    let every = matches!(&proto, Value::String(s) if s.as_ref() == "-1");
    t.set("description", r["Description"].clone());
    t.set("protocol", proto);
    // `-1` means every protocol and port.
    t.set(
        "from_port",
        match &r["FromPort"] {
            Value::Undefined if every => Value::from(0i64),
            v => v.clone(),
        },
    );
    t.set(
        "to_port",
        match &r["ToPort"] {
            Value::Undefined if every => Value::from(65535i64),
            v => v.clone(),
        },
    );
    t.set("cidr_blocks", wrap(r["CidrIp"].clone()));
    t.set("ipv6_cidr_blocks", wrap(r["CidrIpv6"].clone()));
    let group = if egress {
        &r["DestinationSecurityGroupId"]
    } else {
        &r["SourceSecurityGroupId"]
    };
    let is_self = matches!((group, self_id), (Value::String(s), Some(id)) if s.as_ref() == format!("${{{id}}}"));
    if is_self {
        t.set("self", Value::from(true));
    } else {
        t.set("security_groups", wrap(group.clone()));
    }
    t.into_value()
}

fn security_group_rules(src: &Value, out: &mut Tree) {
    out.set(
        "ingress",
        each(src["SecurityGroupIngress"].clone(), |r| {
            sg_rule(r, false, None)
        }),
    );
    out.set(
        "egress",
        each(src["SecurityGroupEgress"].clone(), |r| {
            sg_rule(r, true, None)
        }),
    );
}

/// An instance's root volume (the mapping for a root device name, else the first EBS mapping)
/// and its primary network interface.
fn instance_devices(src: &Value, out: &mut Tree) {
    const ROOT_DEVICES: [&str; 5] = ["/dev/xvda", "/dev/sda1", "/dev/sda", "/dev/nvme0n1", "xvda"];
    let mappings = &src["BlockDeviceMappings"];
    let root = match mappings {
        Value::Array(items) => items
            .iter()
            .find(|m| matches!(&m["DeviceName"], Value::String(d) if ROOT_DEVICES.contains(&d.as_ref())))
            .or_else(|| items.iter().find(|m| m["Ebs"] != Value::Undefined))
            .cloned(),
        v if is_unknown(v) => Some(v.clone()),
        _ => None,
    };
    if let Some(m) = root {
        for (to, from) in [
            ("encrypted", "Encrypted"),
            ("volume_size", "VolumeSize"),
            ("volume_type", "VolumeType"),
            ("kms_key_id", "KmsKeyId"),
            ("delete_on_termination", "DeleteOnTermination"),
        ] {
            out.set(
                &format!("root_block_device.{to}"),
                dig(&m, &format!("Ebs.{from}")),
            );
        }
    }
    let nics = &src["NetworkInterfaces"];
    let primary = match nics {
        Value::Array(items) => items
            .iter()
            .find(|n| literal_text(&n["DeviceIndex"]).as_deref() == Some("0"))
            .or_else(|| items.first())
            .cloned(),
        v if is_unknown(v) => Some(v.clone()),
        _ => None,
    };
    if let Some(n) = primary {
        out.set(
            "associate_public_ip_address",
            dig(&n, "AssociatePublicIpAddress"),
        );
        if !out.has("subnet_id") {
            out.set("subnet_id", dig(&n, "SubnetId"));
        }
        if !out.has("vpc_security_group_ids") {
            out.set("vpc_security_group_ids", dig(&n, "GroupSet"));
        }
    }
}

/// OpenSearch's `LogPublishingOptions` is a mapping by log type; the model has a list.
fn opensearch_logs(src: &Value, out: &mut Tree) {
    let options = &src["LogPublishingOptions"];
    let list = match options {
        Value::Object(o) => Value::from(
            o.iter()
                .map(|(log_type, v)| {
                    let mut t = Tree::default();
                    t.set("log_type", log_type.clone());
                    t.set(
                        "cloudwatch_log_group_arn",
                        dig(v, "CloudWatchLogsLogGroupArn"),
                    );
                    t.set("enabled", dig(v, "Enabled"));
                    t.into_value()
                })
                .collect::<Vec<_>>(),
        ),
        v => v.clone(),
    };
    out.set("log_publishing_options", list);
}

fn flow_log_target(src: &Value, out: &mut Tree) {
    let id = src["ResourceId"].clone();
    match &src["ResourceType"] {
        Value::String(t) if t.as_ref() == "VPC" => out.set("vpc_id", id),
        Value::String(t) if t.as_ref() == "Subnet" => out.set("subnet_id", id),
        _ => {}
    }
}

/// Reads typed values the way CloudFormation does (`"22"` for a port, `"true"` for a flag,
/// a number for a string attribute, a JSON string for a policy document).
fn coerce(v: Value, t: &PropType) -> Value {
    if is_unknown(&v) {
        return v;
    }
    match (t, v) {
        (PropType::Int, Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .map_or(Value::String(s), Value::from),
        (PropType::Int, v @ Value::Number(_)) => match v.as_f64() {
            Ok(f) if f.fract() == 0.0 && v.as_i64().is_err() && f.abs() < 9.0e15 => {
                Value::from(f as i64)
            }
            _ => v,
        },
        (PropType::Bool, Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "true" => Value::from(true),
            "false" => Value::from(false),
            _ => Value::String(s),
        },
        (PropType::String, v @ Value::Number(_)) => Value::from(number_text(&v)),
        (PropType::String, Value::Bool(b)) => Value::from(b.to_string()),
        // Policy documents written as JSON strings.
        (PropType::Json, Value::String(s)) if s.trim_start().starts_with(['{', '[']) => {
            json::parse_strict(&s).unwrap_or(Value::String(s))
        }
        (PropType::StringMap, Value::Object(o)) => Value::from(
            o.iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::Number(_) | Value::Bool(_) => {
                            literal_text(v).map_or(v.clone(), Value::from)
                        }
                        _ => v.clone(),
                    };
                    (k.clone(), v)
                })
                .collect::<BTreeMap<_, _>>(),
        ),
        (PropType::List(inner), Value::Array(items)) => Value::from(
            items
                .iter()
                .map(|i| coerce(i.clone(), inner))
                .collect::<Vec<_>>(),
        ),
        (PropType::Object(fields), Value::Object(o)) => Value::from(
            o.iter()
                .map(|(k, v)| {
                    let key = k.as_string().map(|s| s.to_string()).unwrap_or_default();
                    let v = match fields.get(&key) {
                        Some(t) => coerce(v.clone(), t),
                        None => v.clone(),
                    };
                    (k.clone(), v)
                })
                .collect::<BTreeMap<_, _>>(),
        ),
        (_, v) => v,
    }
}

/// A resource's tags: `[{Key, Value}]` or a mapping.
fn read_tags(v: &Value) -> Result<BTreeMap<String, String>, String> {
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.to_string()),
        Value::Number(_) | Value::Bool(_) => literal_text(v),
        _ => None,
    };
    let mut tags = BTreeMap::new();
    match v {
        Value::Undefined | Value::Null => {}
        // Tags decided at deploy time (`!If`): none known, so tag rules fail closed.
        _ if is_unknown(v) => {}
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                // A tag decided at deploy time (`!If` on an unknown condition): not known.
                if is_unknown(item) {
                    continue;
                }
                match (text(&item["Key"]), text(&item["Value"])) {
                    (Some(k), Some(v)) => {
                        tags.insert(k, v);
                    }
                    _ => {
                        return Err(format!(
                            "Tags[{i}]: a tag is {{Key: string, Value: string}}"
                        ));
                    }
                }
            }
        }
        Value::Object(o) => {
            for (k, v) in o.iter() {
                match (text(k), text(v)) {
                    (Some(k), Some(v)) => {
                        tags.insert(k, v);
                    }
                    _ => return Err("tag values must be strings".into()),
                }
            }
        }
        _ => return Err("Tags must be a list of {Key, Value}".into()),
    }
    Ok(tags)
}

fn launch_template_tags(props: &Value) -> Value {
    match &props["TagSpecifications"] {
        Value::Array(specs) => specs
            .iter()
            .find(|s| matches!(&s["ResourceType"], Value::String(t) if t.as_ref() == "launch-template"))
            .map_or(Value::Undefined, |s| s["Tags"].clone()),
        _ => Value::Undefined,
    }
}

// ---------------------------------------------------------------------------------------------
// Reading a template
// ---------------------------------------------------------------------------------------------

/// What the template's `Metadata.Tollgate` says about its stack.
#[derive(Debug, Default)]
struct Meta {
    stack: Option<String>,
    environment: Option<String>,
    region: Option<String>,
    account: Option<String>,
    owner: Option<String>,
    repository: Option<String>,
    depends_on: Vec<String>,
    budget: Option<Budget>,
}

fn read_meta(file: &Path, root: &Node) -> Result<Meta, Vec<LoadError>> {
    let mut meta = Meta::default();
    let Some(entry) = root.get("Metadata").and_then(|m| m.value.get("Tollgate")) else {
        return Ok(meta);
    };
    let base = "$.Metadata.Tollgate";
    let err = |at: LineCol, path: String, message: String| {
        LoadError::plain(file, LoadErrorKind::Shape, message)
            .at(at)
            .with_path(path)
    };
    let Kind::Map(fields) = &entry.value.kind else {
        return Err(vec![err(
            entry.at,
            base.into(),
            format!(
                "Metadata.Tollgate must be a mapping, got {}",
                entry.value.describe()
            ),
        )]);
    };
    let mut errors = Vec::new();
    let int = |n: &Node| match n.kind {
        Kind::Int(i) => Some(i),
        _ => None,
    };
    for f in fields {
        let path = format!("{base}.{}", f.key);
        let text = match &f.value.kind {
            Kind::Str(s) => Some(s.clone()),
            _ => None,
        };
        let want_text = |errors: &mut Vec<LoadError>| {
            if text.is_none() {
                errors.push(err(
                    f.value.at,
                    path.clone(),
                    format!("`{}` must be a string, got {}", f.key, f.value.describe()),
                ));
            }
            text.clone()
        };
        match f.key.as_str() {
            "stack" => meta.stack = want_text(&mut errors),
            "environment" => meta.environment = want_text(&mut errors),
            "region" => meta.region = want_text(&mut errors),
            "account" => meta.account = want_text(&mut errors),
            "owner" => meta.owner = want_text(&mut errors),
            "repository" => meta.repository = want_text(&mut errors),
            "depends_on" => match &f.value.kind {
                Kind::Seq(items) => {
                    for (i, item) in items.iter().enumerate() {
                        match &item.kind {
                            Kind::Str(s) if is_identifier(s) => meta.depends_on.push(s.clone()),
                            _ => errors.push(err(
                                item.at,
                                format!("{path}[{i}]"),
                                "depends_on lists stack ids".into(),
                            )),
                        }
                    }
                }
                _ => errors.push(err(f.value.at, path, "depends_on lists stack ids".into())),
            },
            "budget" => {
                let limit = f.value.get("monthly_limit_usd").and_then(|e| int(&e.value));
                let thresholds = match f.value.get("alert_thresholds_pct").map(|e| &e.value.kind) {
                    None => Some(Vec::new()),
                    Some(Kind::Seq(items)) => items.iter().map(int).collect(),
                    Some(_) => None,
                };
                let extra = match &f.value.kind {
                    Kind::Map(es) => es
                        .iter()
                        .find(|e| e.key != "monthly_limit_usd" && e.key != "alert_thresholds_pct"),
                    _ => None,
                };
                match (limit, thresholds, extra) {
                    (Some(monthly_limit_usd), Some(alert_thresholds_pct), None) => {
                        meta.budget = Some(Budget {
                            monthly_limit_usd,
                            alert_thresholds_pct,
                        })
                    }
                    _ => errors.push(err(
                        f.value.at,
                        path,
                        "budget is {monthly_limit_usd: integer, alert_thresholds_pct: [integers]}"
                            .into(),
                    )),
                }
            }
            other => errors.push(err(
                f.at,
                path,
                format!(
                    "unknown field `{other}` (Metadata.Tollgate has stack, environment, region, account, owner, repository, depends_on and budget)"
                ),
            )),
        }
    }
    for (field, value) in [("stack", &meta.stack), ("environment", &meta.environment)] {
        if let Some(v) = value
            && !is_identifier(v)
        {
            errors.push(err(
                entry.at,
                format!("{base}.{field}"),
                format!("`{v}` is not a valid {field} id"),
            ));
        }
    }
    if errors.is_empty() {
        Ok(meta)
    } else {
        Err(errors)
    }
}

/// One resource as declared.
struct Decl<'a> {
    id: &'a str,
    at: LineCol,
    cfn_type: &'a str,
    properties: Option<&'a Node>,
    depends_on: Vec<(&'a str, LineCol, String)>,
    /// Its `Condition`, and where.
    condition: Option<(&'a str, LineCol)>,
}

/// What a resource becomes.
enum Class {
    Object(&'static Spec),
    Split(Split),
    Other,
}

fn is_logical_id(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Parses a template into a stack. All problems are returned together.
///
/// When the template does not say its stack's environment or region, the stack has them empty:
/// a stack document of the same id checked in the same run fills them, else
/// [`unfilled_envelope`] reports them.
pub fn parse_template(
    file: &Path,
    text: &str,
    registry: &Registry,
) -> Result<Stack, Vec<LoadError>> {
    let root = if is_yaml(file, text) {
        parse_yaml(file, text)
    } else {
        parse_json(file, text)
    }
    .map_err(|e| vec![e])?;
    let mut notes = Vec::new();
    let root = transforms::apply(file, root, &mut notes)?;
    read_template(file, &root, registry, notes)
}

fn read_template(
    file: &Path,
    root: &Node,
    registry: &Registry,
    notes: Vec<Unmodelled>,
) -> Result<Stack, Vec<LoadError>> {
    let shape = |at: LineCol, path: String, message: String| {
        LoadError::plain(file, LoadErrorKind::Shape, message)
            .at(at)
            .with_path(path)
    };
    let not_template = |at, why: &str| {
        let mut e = shape(
            at,
            "$".into(),
            format!("not a CloudFormation template: {why}"),
        );
        e.help = Some(
            "Tollgate reads YAML files (and JSON with a top-level `Resources`) as CloudFormation templates"
                .into(),
        );
        vec![e]
    };
    let Kind::Map(sections) = &root.kind else {
        return Err(not_template(
            root.at,
            &format!("the document is {}, not a mapping", root.describe()),
        ));
    };
    let mut errors = Vec::new();
    for s in sections {
        if !SECTIONS.contains(&s.key.as_str()) {
            errors.push(shape(
                s.at,
                format!("$.{}", s.key),
                format!(
                    "unknown template section `{}` (a template has {})",
                    s.key,
                    SECTIONS.join(", ")
                ),
            ));
        }
    }
    let Some(resources) = root.get("Resources") else {
        return Err(not_template(root.at, "it has no `Resources` section"));
    };
    let Kind::Map(resource_entries) = &resources.value.kind else {
        return Err(vec![shape(
            resources.at,
            "$.Resources".into(),
            format!(
                "`Resources` must be a mapping of logical ids to resources, got {}",
                resources.value.describe()
            ),
        )]);
    };
    // (A template whose every resource is in a loop known only at deploy is not empty: said.)
    if resource_entries.is_empty() && notes.is_empty() {
        return Err(vec![shape(
            resources.at,
            "$.Resources".into(),
            "`Resources` is empty".into(),
        )]);
    }
    let meta = read_meta(file, root)?;

    // Parameters, conditions, mappings.
    let mut params: HashMap<&str, Param> = HashMap::new();
    if let Some(p) = root.get("Parameters") {
        match &p.value.kind {
            Kind::Map(entries) => {
                for e in entries {
                    let path = format!("$.Parameters.{}", e.key);
                    if !is_logical_id(&e.key) {
                        errors.push(shape(
                            e.at,
                            path.clone(),
                            format!(
                                "`{}` is not a valid parameter name (letters and digits)",
                                e.key
                            ),
                        ));
                    }
                    match read_param(&e.value) {
                        Ok(param) => {
                            params.insert(e.key.as_str(), param);
                        }
                        Err(m) => errors.push(shape(e.value.at, path, m)),
                    }
                }
            }
            Kind::Null => {}
            _ => errors.push(shape(
                p.at,
                "$.Parameters".into(),
                "`Parameters` must be a mapping".into(),
            )),
        }
    }
    let names = |section: &str| -> HashMap<&str, &Node> {
        match root.get(section).map(|s| &s.value.kind) {
            Some(Kind::Map(entries)) => {
                entries.iter().map(|e| (e.key.as_str(), &e.value)).collect()
            }
            _ => HashMap::new(),
        }
    };
    let conditions = names("Conditions");
    let mappings = names("Mappings");
    let environment_param = environment_parameter(&params);

    // Resources as declared.
    let mut decls: Vec<Decl<'_>> = Vec::with_capacity(resource_entries.len());
    let mut unmodelled = notes;
    for e in resource_entries {
        let path = format!("$.Resources.{}", e.key);
        if e.key.starts_with("Fn::ForEach::") {
            unmodelled.push(
                Unmodelled::resource(e.key.as_str(), "Fn::ForEach", e.at)
                    .because("expanded only by the AWS::LanguageExtensions transform"),
            );
            continue;
        }
        if !is_logical_id(&e.key) {
            errors.push(shape(
                e.at,
                path,
                format!(
                    "`{}` is not a valid logical id (letters and digits only)",
                    e.key
                ),
            ));
            continue;
        }
        if params.contains_key(e.key.as_str()) {
            errors.push(shape(
                e.at,
                path,
                format!("`{}` names both a parameter and a resource", e.key),
            ));
            continue;
        }
        let Kind::Map(attrs) = &e.value.kind else {
            errors.push(shape(
                e.at,
                path,
                format!(
                    "a resource is a mapping with a `Type`, got {}",
                    e.value.describe()
                ),
            ));
            continue;
        };
        // `Version` is an attribute of custom resources (AWS's older samples write it).
        let custom = matches!(e.value.get("Type").map(|t| &t.value.kind),
            Some(Kind::Str(t)) if t.starts_with("Custom::") || t == "AWS::CloudFormation::CustomResource");
        if let Some(a) = attrs.iter().find(|a| {
            !(RESOURCE_ATTRIBUTES.contains(&a.key.as_str()) || (custom && a.key == "Version"))
        }) {
            errors.push(shape(
                a.at,
                format!("{path}.{}", a.key),
                format!("unknown resource attribute `{}`", a.key),
            ));
            continue;
        }
        let cfn_type = match e.value.get("Type").map(|t| &t.value) {
            Some(Node {
                kind: Kind::Str(t), ..
            }) => t.as_str(),
            Some(t) => {
                errors.push(shape(
                    t.at,
                    format!("{path}.Type"),
                    format!("`Type` must be a string, got {}", t.describe()),
                ));
                continue;
            }
            None => {
                errors.push(shape(e.at, path, "the resource has no `Type`".into()));
                continue;
            }
        };
        let properties = match e.value.get("Properties") {
            Some(p) if matches!(p.value.kind, Kind::Map(_)) => Some(&p.value),
            Some(Entry {
                value: Node {
                    kind: Kind::Null, ..
                },
                ..
            })
            | None => None,
            Some(p) => {
                errors.push(shape(
                    p.at,
                    format!("{path}.Properties"),
                    format!("`Properties` must be a mapping, got {}", p.value.describe()),
                ));
                continue;
            }
        };
        let mut depends_on = Vec::new();
        if let Some(d) = e.value.get("DependsOn") {
            let dpath = format!("{path}.DependsOn");
            match &d.value.kind {
                Kind::Str(s) => depends_on.push((s.as_str(), d.value.at, dpath)),
                Kind::Seq(items) => {
                    for (i, item) in items.iter().enumerate() {
                        match &item.kind {
                            Kind::Str(s) => {
                                depends_on.push((s.as_str(), item.at, format!("{dpath}[{i}]")))
                            }
                            _ => errors.push(shape(
                                item.at,
                                format!("{dpath}[{i}]"),
                                "DependsOn lists logical ids".into(),
                            )),
                        }
                    }
                }
                _ => errors.push(shape(
                    d.value.at,
                    dpath,
                    "DependsOn is a logical id or a list of them".into(),
                )),
            }
        }
        let mut condition = None;
        if let Some(c) = e.value.get("Condition") {
            match &c.value.kind {
                Kind::Str(name) if conditions.contains_key(name.as_str()) => {
                    condition = Some((name.as_str(), c.value.at));
                }
                _ => errors.push(
                    LoadError::plain(
                        file,
                        LoadErrorKind::MissingReference,
                        "the resource's Condition is not in this template's Conditions",
                    )
                    .at(c.value.at)
                    .with_path(format!("{path}.Condition")),
                ),
            }
        }
        decls.push(Decl {
            id: e.key.as_str(),
            at: e.at,
            cfn_type,
            properties,
            depends_on,
            condition,
        });
    }

    let classify = |d: &Decl<'_>| -> Class {
        if let Some(split) = Split::of(d.cfn_type) {
            return Class::Split(split);
        }
        match spec_for(d.cfn_type) {
            // A DB instance is a member of an Aurora cluster when it names one; a standalone
            // one is an aws_db_instance.
            Some(s)
                if s.cfn == "AWS::RDS::DBInstance"
                    && d.properties
                        .and_then(|p| p.get("DBClusterIdentifier"))
                        .is_none() =>
            {
                Class::Object(&STANDALONE_DB_INSTANCE)
            }
            Some(s) if registry.get(s.model).is_some() => Class::Object(s),
            _ => Class::Other,
        }
    };
    let classes: Vec<Class> = decls.iter().map(classify).collect();

    let mut scope = Scope {
        file,
        params,
        resources: decls
            .iter()
            .zip(&classes)
            .map(|(d, c)| {
                (
                    d.id,
                    Target {
                        cfn_type: d.cfn_type,
                        model: match c {
                            Class::Object(s) => Some(s.model),
                            _ => None,
                        },
                    },
                )
            })
            .collect(),
        conditions,
        condition_values: RefCell::new(HashMap::new()),
        evaluating: RefCell::new(Vec::new()),
        mappings,
        region: meta.region.as_deref(),
    };

    // Conditions are evaluated (parameters by their defaults); a resource whose condition is
    // false is not deployed with them, and is listed.
    let mut names: Vec<&str> = scope.conditions.keys().copied().collect();
    names.sort_unstable();
    for name in names {
        let path = format!("$.Conditions.{name}");
        if let Err(e) = scope.condition(name, LineCol { line: 1, column: 1 }, &path) {
            errors.push(e);
        }
    }
    let mut skipped = vec![false; decls.len()];
    for (i, d) in decls.iter().enumerate() {
        if let Some((c, at)) = d.condition
            && let Ok(Some(false)) =
                scope.condition(c, at, &format!("$.Resources.{}.Condition", d.id))
        {
            skipped[i] = true;
            unmodelled.push(
                Unmodelled::resource(d.id, d.cfn_type, d.at).because(format!(
                    "its condition `{c}` is false with the parameters' defaults"
                )),
            );
            if let Some(t) = scope.resources.get_mut(d.id) {
                t.model = None;
            }
        }
    }

    // Outputs are checked too: a broken reference there is a broken template.
    for section in ["Outputs"] {
        if let Some(Entry {
            value: Node {
                kind: Kind::Map(entries),
                ..
            },
            ..
        }) = root.get(section)
        {
            for e in entries {
                if let Err(err) = scope.resolve(&e.value, &format!("$.{section}.{}", e.key)) {
                    errors.push(err);
                }
            }
        }
    }

    // Resolve, map, and set split resources aside.
    let mut objects: Vec<(usize, Resource)> = Vec::new();
    let mut splits: Vec<(usize, Split, Value)> = Vec::new();
    for (i, (d, class)) in decls.iter().zip(&classes).enumerate() {
        if skipped[i] {
            continue;
        }
        let path = format!("$.Resources.{}", d.id);
        for (target, at, dpath) in &d.depends_on {
            if !scope.resources.contains_key(target) {
                errors.push(scope.missing(
                    *at,
                    dpath,
                    format!("DependsOn names `{target}`, which is not a resource of this template"),
                ));
            }
        }
        let props = match d.properties {
            Some(p) => match scope.resolve(p, &format!("{path}.Properties")) {
                Ok(v) => v,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            },
            None => Value::new_object(),
        };
        match class {
            Class::Other => unmodelled.push(Unmodelled::resource(d.id, d.cfn_type, d.at)),
            Class::Split(s) => splits.push((i, *s, props)),
            Class::Object(spec) => {
                let Some(def) = registry.get(spec.model) else {
                    continue;
                };
                unmodelled.extend(unmapped_settings(d.id, d.cfn_type, &props, d.at));
                let mut tree = Tree::default();
                apply_rules(spec.rules, &props, &mut tree);
                let tags = match spec.tags {
                    Tags::Tags => props["Tags"].clone(),
                    Tags::LaunchTemplate => launch_template_tags(&props),
                };
                let tags = if def.taggable {
                    match read_tags(&tags) {
                        Ok(t) => t,
                        Err(m) => {
                            errors.push(
                                LoadError::plain(file, LoadErrorKind::Schema, m)
                                    .at(d.at)
                                    .with_path(format!("{path}.Properties.Tags")),
                            );
                            continue;
                        }
                    }
                } else {
                    BTreeMap::new()
                };
                let properties = tree.into_value();
                // Dependencies: the object's own references and DependsOn (folded parts add
                // references but no dependencies, so two groups allowing each other stay legal).
                let mut refs = Vec::new();
                crate::load::collect_references(&properties, "$", &mut refs);
                let mut depends_on: Vec<String> = refs
                    .iter()
                    .filter(|r| r.stack.is_none())
                    .map(|r| r.resource.clone())
                    .chain(
                        d.depends_on
                            .iter()
                            .filter(|(t, ..)| {
                                scope.resources.get(t).is_some_and(|t| t.model.is_some())
                            })
                            .map(|(t, ..)| (*t).to_owned()),
                    )
                    .filter(|t| t != d.id)
                    .collect();
                depends_on.sort();
                depends_on.dedup();
                objects.push((
                    i,
                    Resource {
                        id: d.id.to_owned(),
                        type_name: spec.model.to_owned(),
                        properties,
                        tags,
                        depends_on,
                        usage: Value::Null,
                        position: d.at,
                        references: Vec::new(),
                        change: Change::Create,
                    },
                ));
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    // Fold split resources into their objects.
    for (i, split, raw) in splits {
        let d = &decls[i];
        let (link_key, name_attr) = split.link();
        let model = split.model();
        let link = match (split, &raw[link_key]) {
            (Split::Ingress | Split::Egress, Value::Undefined) => raw["GroupName"].clone(),
            (_, v) => v.clone(),
        };
        let links: Vec<Value> = match link {
            Value::Array(items) => items.iter().cloned().collect(),
            Value::Undefined => Vec::new(),
            v => vec![v],
        };
        let mut folded = false;
        for l in &links {
            let target = match l {
                Value::String(s) => match Reference::parse(s, String::new) {
                    Some(r) if r.stack.is_none() => {
                        let t = scope.resources.get(r.resource.as_str());
                        if let Some(t) = t
                            && t.model != Some(model)
                        {
                            errors.push(scope.shape(
                                d.at,
                                &format!("$.Resources.{}.Properties.{link_key}", d.id),
                                format!(
                                    "{} `{}` configures `{}`, a {}, not a {}",
                                    d.cfn_type, d.id, r.resource, t.cfn_type, model
                                ),
                            ));
                            continue;
                        }
                        objects.iter().position(|(_, o)| o.id == r.resource)
                    }
                    _ if is_unknown(l) => None,
                    // A literal name: the object of that name, if it is here.
                    _ => name_attr.and_then(|attr| {
                        objects
                            .iter()
                            .position(|(_, o)| o.type_name == model && o.properties[attr] == *l)
                    }),
                },
                _ => None,
            };
            if let Some(t) = target {
                let r = &mut objects[t].1;
                let mut props: BTreeMap<Value, Value> = match &r.properties {
                    Value::Object(o) => o.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                    _ => BTreeMap::new(),
                };
                split.apply(&mut props, &raw, &r.id);
                r.properties = Value::from(props);
                folded = true;
            }
        }
        if !folded {
            unmodelled.push(
                Unmodelled::resource(d.id, d.cfn_type, d.at)
                    .because(format!("the {model} it configures is not in this template")),
            );
        }
    }

    // Typed values, the schema, references.
    let mut resources = Vec::with_capacity(objects.len());
    for (i, mut r) in objects {
        let Some(def) = registry.get(&r.type_name) else {
            continue;
        };
        r.properties = coerce(
            std::mem::replace(&mut r.properties, Value::Null),
            &PropType::Object(def.properties.clone()),
        );
        if let Err(v) = registry::check_object(&r.properties, &def.properties, &[], "$") {
            errors.push(
                LoadError::plain(
                    file,
                    LoadErrorKind::Schema,
                    format!(
                        "{} `{}` (as {}): {}: {}",
                        decls[i].cfn_type,
                        r.id,
                        def.name,
                        v.path.trim_start_matches("$."),
                        v.message
                    ),
                )
                .at(r.position)
                .with_path(format!("$.Resources.{}.Properties", r.id)),
            );
            continue;
        }
        crate::load::collect_references(&r.properties, "$", &mut r.references);
        resources.push(r);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    resources.sort_by(|a, b| a.id.cmp(&b.id));
    unmodelled.sort();
    envelope(file, meta, environment_param, resources, unmodelled)
}

/// Parameter names that say a template's environment, by their default.
const ENVIRONMENT_PARAMETERS: [&str; 8] = [
    "environment",
    "environmentname",
    "environmenttype",
    "env",
    "envname",
    "envtype",
    "stage",
    "stagename",
];

/// The environment a template's parameters say by default (`Environment: {Default: prod}`).
fn environment_parameter(params: &HashMap<&str, Param>) -> Option<String> {
    let mut names: Vec<&&str> = params.keys().collect();
    names.sort_unstable();
    names.into_iter().find_map(|name| {
        let lower = name.to_ascii_lowercase();
        let value = literal_text(&params[*name].value)?;
        (ENVIRONMENT_PARAMETERS.contains(&lower.as_str()) && is_identifier(&value)).then_some(value)
    })
}

fn read_param(n: &Node) -> Result<Param, String> {
    let Kind::Map(_) = &n.kind else {
        return Err(format!(
            "a parameter is a mapping with a `Type`, got {}",
            n.describe()
        ));
    };
    let ty = match n.get("Type").map(|e| &e.value.kind) {
        Some(Kind::Str(t)) => t.as_str(),
        _ => return Err("a parameter needs a `Type` (a string)".into()),
    };
    let no_echo = matches!(
        n.get("NoEcho").map(|e| &e.value.kind),
        Some(Kind::Bool(true))
    ) || matches!(n.get("NoEcho").map(|e| &e.value.kind), Some(Kind::Str(s)) if s.eq_ignore_ascii_case("true"));
    let list = ty == "CommaDelimitedList" || ty.starts_with("List<");
    let value = match n.get("Default").map(|e| &e.value) {
        _ if no_echo => Value::from(SENSITIVE),
        None => unknown(),
        Some(d) => match &d.kind {
            Kind::Str(s) if list => Value::from(
                s.split(',')
                    .map(|p| Value::from(p.trim()))
                    .collect::<Vec<_>>(),
            ),
            Kind::Str(s) if ty == "Number" => match plain_scalar(s.trim()) {
                Kind::Int(i) => Value::from(i),
                Kind::Float(f) => Value::from(f),
                _ => Value::from(s.as_str()),
            },
            Kind::Str(s) => Value::from(s.as_str()),
            Kind::Int(i) if ty == "Number" => Value::from(*i),
            Kind::Float(f) if ty == "Number" => Value::from(*f),
            Kind::Int(i) => Value::from(i.to_string()),
            Kind::Float(f) => Value::from(f.to_string()),
            Kind::Bool(b) => Value::from(b.to_string()),
            Kind::Seq(items) => Value::from(
                items
                    .iter()
                    .map(|i| match &i.kind {
                        Kind::Str(s) => Value::from(s.as_str()),
                        _ => unknown(),
                    })
                    .collect::<Vec<_>>(),
            ),
            Kind::Null | Kind::Map(_) => unknown(),
        },
    };
    Ok(Param { value })
}

fn envelope(
    file: &Path,
    meta: Meta,
    environment_param: Option<String>,
    resources: Vec<Resource>,
    unmodelled: Vec<Unmodelled>,
) -> Result<Stack, Vec<LoadError>> {
    let common_tag = |k: &str| super::common_tag(&resources, k);
    let stem = file
        .file_name()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    // The file name as a stack id: characters an id cannot have become `-`.
    let stem: String = stem
        .split('.')
        .next()
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let stem = stem.trim_start_matches(['-', '_']).to_owned();
    let stack = meta.stack.or_else(|| common_tag("stack")).unwrap_or(stem);
    if !is_identifier(&stack) {
        let mut e = LoadError::plain(
            file,
            LoadErrorKind::Shape,
            format!("`{stack}` (from the file name) is not a valid stack id"),
        );
        e.help = Some("set Metadata.Tollgate.stack, or tag every resource with `stack`".into());
        return Err(vec![e]);
    }
    let environment = meta
        .environment
        .or_else(|| common_tag("environment"))
        .or(environment_param)
        .unwrap_or_default();
    let mut depends_on = meta.depends_on;
    depends_on.sort();
    depends_on.dedup();
    Ok(Stack {
        id: stack,
        repository: meta.repository.unwrap_or_default(),
        account: meta.account.unwrap_or_else(|| environment.clone()),
        owner: meta
            .owner
            .or_else(|| common_tag("owner"))
            .unwrap_or_default(),
        environment,
        region: meta.region.unwrap_or_default(),
        depends_on,
        budget: meta.budget,
        resources,
        source: Source::new(file, LineCol { line: 1, column: 1 }),
        origin: Origin::CloudFormation,
        unmodelled,
        managed_elsewhere: Default::default(),
        envelope: Default::default(),
    })
}

/// A template checked without the stack document of its id must say its environment and region
/// itself; this names what it left out.
pub fn unfilled_envelope(stack: &Stack) -> Vec<LoadError> {
    let mut errors = Vec::new();
    for (what, value, how) in [
        (
            "environment",
            &stack.environment,
            "set Metadata.Tollgate.environment or tag every resource with `environment`",
        ),
        ("region", &stack.region, "set Metadata.Tollgate.region"),
    ] {
        if value.is_empty() {
            errors.push(
                LoadError::plain(
                    &stack.source.file,
                    LoadErrorKind::Shape,
                    format!(
                        "the template does not say its stack's {what}: {how}, or check it together with the stack document `{}`",
                        stack.id
                    ),
                )
                .at(stack.source.position)
                .with_path("$.Metadata.Tollgate"),
            );
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Result<Node, LoadError> {
        parse_yaml(Path::new("t.yaml"), text)
    }

    #[test]
    fn short_forms_become_long_forms() {
        let n = yaml("a: !Ref X\nb: !GetAtt Y.Arn\nc: !Sub [\"${A}\", {A: 1}]\nd: !Condition C\n")
            .unwrap();
        let key = |k: &str| match &n.get(k).unwrap().value.kind {
            Kind::Map(es) => es[0].key.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(key("a"), "Ref");
        assert_eq!(key("b"), "Fn::GetAtt");
        assert_eq!(key("c"), "Fn::Sub");
        assert_eq!(key("d"), "Condition");
        assert_eq!(n.get("b").unwrap().at.line, 2);
        let err = yaml("a: !Reff X\n").unwrap_err();
        assert!(err.message.contains("unknown YAML tag `!Reff`"), "{err}");
    }

    #[test]
    fn yaml_keys_are_unique_and_nesting_is_bounded() {
        let err = yaml("a:\n  b: 1\n  b: 2\n").unwrap_err();
        assert!(err.message.contains("duplicate key `b`"), "{err}");
        assert_eq!(err.position.map(|p| p.line), Some(3));
        // Flow nesting stops in the parser, block nesting here; neither overflows the stack.
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let err = yaml(&deep).unwrap_err();
        assert!(err.message.contains("recursion limit"), "{err}");
        let deep = format!("{}x\n", "- ".repeat(10_000));
        let err = yaml(&deep).unwrap_err();
        assert!(err.message.contains("deeper than 128"), "{err}");
        let err = yaml("a: 1\n---\nb: 2\n").unwrap_err();
        assert!(err.message.contains("one YAML document"), "{err}");
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let err = yaml(&text).unwrap_err();
        assert!(err.message.contains("aliases expand"), "{err}");
    }

    #[test]
    fn scalars_follow_the_core_schema_and_keep_non_canonical_numbers() {
        assert!(matches!(plain_scalar("22"), Kind::Int(22)));
        assert!(matches!(plain_scalar("-1"), Kind::Int(-1)));
        assert!(matches!(plain_scalar("true"), Kind::Bool(true)));
        assert!(matches!(plain_scalar("yes"), Kind::Str(_)));
        assert!(matches!(plain_scalar("~"), Kind::Null));
        assert!(matches!(plain_scalar("2.5"), Kind::Float(_)));
        assert!(matches!(plain_scalar("8.0"), Kind::Str(ref s) if s == "8.0"));
        assert!(matches!(plain_scalar("012345678901"), Kind::Str(_)));
        assert!(matches!(plain_scalar("10.0.0.0/16"), Kind::Str(_)));
        assert!(matches!(plain_scalar(".inf"), Kind::Str(_)));
    }

    #[test]
    fn json_positions_reach_nested_values() {
        let text = "{\n  \"Resources\": {\n    \"B\": {\n      \"Type\": \"AWS::S3::Bucket\"\n    }\n  }\n}";
        let n = parse_json(Path::new("t.json"), text).unwrap();
        let b = n.get("Resources").unwrap().value.get("B").unwrap();
        assert_eq!(b.at.line, 3);
        assert_eq!(b.value.get("Type").unwrap().at.line, 4);
    }

    /// The model attribute at a dotted path.
    fn lookup<'a>(fields: &'a BTreeMap<String, PropType>, path: &str) -> Option<&'a PropType> {
        let mut cur = fields;
        let mut segs = path.split('.').peekable();
        loop {
            let t = cur.get(segs.next()?)?;
            if segs.peek().is_none() {
                return Some(t);
            }
            match t {
                PropType::Object(f) => cur = f,
                _ => return None,
            }
        }
    }

    fn check_rules(rules: &[Rule], fields: &BTreeMap<String, PropType>, at: &str) {
        for rule in rules {
            match *rule {
                Attr(to, _) | Status(to, _) => {
                    assert!(
                        lookup(fields, to).is_some(),
                        "{at}: `{to}` is not registered"
                    )
                }
                Each(to, _, inner) => match lookup(fields, to) {
                    Some(PropType::List(item)) => match &**item {
                        PropType::Object(f) => check_rules(inner, f, &format!("{at}.{to}[]")),
                        other => panic!("{at}: `{to}` holds {other:?}, not objects"),
                    },
                    other => panic!("{at}: `{to}` is {other:?}, not a list"),
                },
                Pluck(to, ..) => assert!(
                    matches!(lookup(fields, to), Some(PropType::List(_))),
                    "{at}: `{to}` is not a registered list"
                ),
                // Checked by the schema on every template read (see the fixtures).
                Custom(_) => {}
                Shared(rules) => check_rules(rules, fields, at),
            }
        }
    }

    #[test]
    fn every_mapped_attribute_is_registered() {
        let registry = Registry::builtin();
        for spec in SPECS {
            let def = registry
                .get(spec.model)
                .unwrap_or_else(|| panic!("{} maps to unregistered {}", spec.cfn, spec.model));
            check_rules(spec.rules, &def.properties, spec.cfn);
            assert_eq!(
                spec_for(spec.cfn).map(|s| s.model),
                Some(spec.model),
                "listed once"
            );
        }
        let standalone = &STANDALONE_DB_INSTANCE;
        let def = registry.get(standalone.model).unwrap();
        check_rules(standalone.rules, &def.properties, standalone.cfn);
        for (cfn, model) in SPLIT_TYPES {
            assert_eq!(Split::of(cfn).map(Split::model), Some(*model));
            let def = registry.get(model).unwrap();
            let (_, name) = Split::of(cfn).unwrap().link();
            if let Some(name) = name {
                assert!(def.properties.contains_key(name), "{cfn}: {name}");
            }
        }
    }

    #[test]
    fn detection() {
        let p = Path::new("x.json");
        assert!(looks_like_template(
            p,
            r#"{"AWSTemplateFormatVersion": "2010-09-09", "Resources": {}}"#
        ));
        assert!(looks_like_template(
            p,
            r#"{"Resources": {"B": {"Type": "AWS::S3::Bucket"}}}"#
        ));
        assert!(!looks_like_template(
            p,
            r#"{"stack": "s", "resources": [{"properties": {"Resources": "AWS::x"}}]}"#
        ));
        let y = Path::new("x.yaml");
        assert!(looks_like_template(
            y,
            "Resources:\n  B:\n    Type: AWS::S3::Bucket\n"
        ));
        assert!(!looks_like_template(y, "apiVersion: v1\nkind: ConfigMap\n"));
    }
}
