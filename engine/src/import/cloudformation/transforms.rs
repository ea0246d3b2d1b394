//! What CloudFormation does to a template before it reads it, done here so a template is judged
//! as it will deploy.
//!
//! - Pre-processor inputs that are not CloudFormation yet are refused, saying which: Rain
//!   directives (`!Rain::Module`, `!Rain::Embed`, … — `rain pkg` writes the template), macros
//!   named by `Transform` (anything but the two below) and `Fn::Transform` (including
//!   `AWS::Include`): what they produce is only known when CloudFormation runs them.
//! - `AWS::LanguageExtensions`: `Fn::ForEach::Name` loops are expanded wherever they stand
//!   (Resources, Outputs, Conditions, properties) when their collection is a literal list or a
//!   parameter's default; a loop over a collection known only at deploy is listed (its outputs
//!   are not evaluated). `Fn::Length`, `Fn::ToJsonString` and `Fn::FindInMap`'s `DefaultValue`
//!   are evaluated with the other intrinsics.
//! - `AWS::Serverless-2016-10-31` (SAM): `Globals` are merged into each serverless resource
//!   (the resource's own values win, mappings merge, lists add up, `IgnoreGlobals` honoured), and
//!   `AWS::Serverless::Function`, `::Api`, `::HttpApi` and `::SimpleTable` become the resources
//!   SAM generates for them — the Lambda function and its execution role, the API Gateway REST
//!   or HTTP API and its stage, the DynamoDB table — named as SAM names them. Other serverless
//!   types stay as they are (not modelled); what SAM generates from `Events`, `AutoPublishAlias`
//!   or `FunctionUrlConfig` is listed as not modelled.

use std::collections::HashMap;
use std::path::Path;

use super::{Entry, Kind, Node};
use crate::json::LineCol;
use crate::load::{LoadError, LoadErrorKind};
use crate::model::Unmodelled;

pub(super) const SAM: &str = "AWS::Serverless-2016-10-31";
pub(super) const LANGUAGE_EXTENSIONS: &str = "AWS::LanguageExtensions";

/// Most outputs `Fn::ForEach` loops may write in one template (a nested loop multiplies).
const MAX_FOR_EACH_OUTPUTS: usize = 10_000;

fn error(file: &Path, at: LineCol, path: &str, message: String, help: Option<&str>) -> LoadError {
    let mut e = LoadError::plain(file, LoadErrorKind::Shape, message)
        .at(at)
        .with_path(path);
    e.help = help.map(str::to_owned);
    e
}

fn str_node(s: &str, at: LineCol) -> Node {
    Node {
        at,
        kind: Kind::Str(s.to_owned()),
    }
}

fn map_node(entries: Vec<(&str, Node)>, at: LineCol) -> Node {
    Node {
        at,
        kind: Kind::Map(
            entries
                .into_iter()
                .map(|(k, value)| Entry {
                    key: k.to_owned(),
                    at: value.at,
                    value,
                })
                .collect(),
        ),
    }
}

fn seq_node(items: Vec<Node>, at: LineCol) -> Node {
    Node {
        at,
        kind: Kind::Seq(items),
    }
}

fn take(entries: &mut Vec<Entry>, key: &str) -> Option<Node> {
    let i = entries.iter().position(|e| e.key == key)?;
    Some(entries.remove(i).value)
}

fn entries_mut(n: &mut Node) -> Option<&mut Vec<Entry>> {
    match &mut n.kind {
        Kind::Map(es) => Some(es),
        _ => None,
    }
}

/// Whether a mapping is an intrinsic function call (its only key `Ref` or `Fn::…`).
fn is_call(n: &Node) -> bool {
    matches!(&n.kind, Kind::Map(es) if es.len() == 1 && super::is_function(&es[0].key))
}

/// Applies the template-level transforms; `notes` gets what is left unevaluated.
pub(super) fn apply(
    file: &Path,
    mut root: Node,
    notes: &mut Vec<Unmodelled>,
) -> Result<Node, Vec<LoadError>> {
    if let Some((at, path, what)) = find_rain(&root, "$".into()) {
        return Err(vec![error(
            file,
            at,
            &path,
            format!(
                "`{what}` is a Rain directive: this is a Rain template, not CloudFormation yet, so Tollgate cannot judge what it will deploy"
            ),
            Some("run `rain pkg` on it and check the template it writes"),
        )]);
    }
    let macro_help = "check the processed template instead (`aws cloudformation get-template --template-stage Processed`); Tollgate runs only the AWS::Serverless-2016-10-31 (SAM) and AWS::LanguageExtensions transforms itself";
    let (mut sam, mut _extensions) = (false, false);
    if let Some(t) = root.get("Transform") {
        let items: Vec<&Node> = match &t.value.kind {
            Kind::Seq(items) => items.iter().collect(),
            _ => vec![&t.value],
        };
        for (i, n) in items.iter().enumerate() {
            let name = match &n.kind {
                Kind::Str(s) => Some(s.as_str()),
                Kind::Map(_) => n.get("Name").and_then(|e| match &e.value.kind {
                    Kind::Str(s) => Some(s.as_str()),
                    _ => None,
                }),
                _ => None,
            };
            let path = match &t.value.kind {
                Kind::Seq(_) => format!("$.Transform[{i}]"),
                _ => "$.Transform".into(),
            };
            match name {
                Some(SAM) => sam = true,
                Some(LANGUAGE_EXTENSIONS) => _extensions = true,
                Some(other) => {
                    return Err(vec![error(
                        file,
                        n.at,
                        &path,
                        format!(
                            "`Transform: {other}` names a macro: the template is not CloudFormation until CloudFormation runs it, so Tollgate cannot judge what it will deploy"
                        ),
                        Some(macro_help),
                    )]);
                }
                None => {
                    return Err(vec![error(
                        file,
                        n.at,
                        &path,
                        format!(
                            "a transform is named by a string (or {{Name, Parameters}}), got {}",
                            n.describe()
                        ),
                        None,
                    )]);
                }
            }
        }
    }
    if let Some((at, path, name)) = find_fn_transform(&root, "$".into()) {
        return Err(vec![error(
            file,
            at,
            &path,
            format!(
                "Fn::Transform runs the macro `{name}`: what it writes is only known when CloudFormation runs it, so Tollgate cannot judge it"
            ),
            Some(macro_help),
        )]);
    }
    if let Some((at, path, ty)) = find_module(&root) {
        return Err(vec![error(
            file,
            at,
            &path,
            format!(
                "`{ty}` is a CloudFormation module: CloudFormation expands it into resources from the registry when it runs the template, so Tollgate cannot judge what it will deploy"
            ),
            Some(macro_help),
        )]);
    }
    let defaults = param_defaults(&root);
    let mut budget = MAX_FOR_EACH_OUTPUTS;
    root = for_each(file, root, "$", &defaults, notes, &mut budget)?;
    if sam {
        root = serverless(file, root, notes)?;
    } else if let Some(g) = root.get("Globals") {
        return Err(vec![error(
            file,
            g.at,
            "$.Globals",
            "`Globals` is a section of SAM templates, and this template does not declare `Transform: AWS::Serverless-2016-10-31`".into(),
            None,
        )]);
    }
    Ok(root)
}

// ---------------------------------------------------------------------------------------------
// Pre-processors Tollgate does not run
// ---------------------------------------------------------------------------------------------

/// The first resource whose type is a registry module (`Org::Service::Thing::MODULE`).
fn find_module(root: &Node) -> Option<(LineCol, String, String)> {
    let resources = root.get("Resources")?;
    let Kind::Map(entries) = &resources.value.kind else {
        return None;
    };
    entries.iter().find_map(|r| {
        let ty = r.value.get("Type")?;
        match &ty.value.kind {
            Kind::Str(s) if s.ends_with("::MODULE") => Some((
                ty.value.at,
                format!("$.Resources.{}.Type", r.key),
                s.clone(),
            )),
            _ => None,
        }
    })
}

/// The first Rain directive: a key `Rain::…` / `Fn::Rain::…` (the JSON and YAML spellings).
fn find_rain(n: &Node, path: String) -> Option<(LineCol, String, String)> {
    match &n.kind {
        Kind::Map(es) => es.iter().find_map(|e| {
            let here = format!("{path}.{}", e.key);
            if e.key.starts_with("Rain::") || e.key.starts_with("Fn::Rain::") {
                Some((e.at, here, e.key.trim_start_matches("Fn::").to_owned()))
            } else {
                find_rain(&e.value, here)
            }
        }),
        Kind::Seq(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| find_rain(item, format!("{path}[{i}]"))),
        _ => None,
    }
}

fn find_fn_transform(n: &Node, path: String) -> Option<(LineCol, String, String)> {
    match &n.kind {
        Kind::Map(es) => es.iter().find_map(|e| {
            let here = format!("{path}.{}", e.key);
            if e.key == "Fn::Transform" {
                let name = match e.value.get("Name").map(|n| &n.value.kind) {
                    Some(Kind::Str(s)) => s.clone(),
                    _ => "(unnamed)".into(),
                };
                Some((e.at, here, name))
            } else {
                find_fn_transform(&e.value, here)
            }
        }),
        Kind::Seq(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| find_fn_transform(item, format!("{path}[{i}]"))),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Fn::ForEach (AWS::LanguageExtensions)
// ---------------------------------------------------------------------------------------------

/// Each parameter's default as the list a loop would walk (a single value is a list of one).
fn param_defaults(root: &Node) -> HashMap<String, Vec<String>> {
    let mut out = HashMap::new();
    let Some(Entry {
        value: Node {
            kind: Kind::Map(params),
            ..
        },
        ..
    }) = root.get("Parameters")
    else {
        return out;
    };
    for p in params {
        let no_echo = p.value.get("NoEcho").is_some_and(|e| match &e.value.kind {
            Kind::Bool(b) => *b,
            Kind::Str(s) => s.eq_ignore_ascii_case("true"),
            _ => false,
        });
        let Some(d) = p.value.get("Default").filter(|_| !no_echo) else {
            continue;
        };
        let items = match &d.value.kind {
            Kind::Str(s) => s.split(',').map(|x| x.trim().to_owned()).collect(),
            Kind::Seq(items) => {
                let texts: Option<Vec<String>> = items.iter().map(scalar_text).collect();
                match texts {
                    Some(t) => t,
                    None => continue,
                }
            }
            _ => match scalar_text(&d.value) {
                Some(t) => vec![t],
                None => continue,
            },
        };
        out.insert(p.key.clone(), items);
    }
    out
}

fn scalar_text(n: &Node) -> Option<String> {
    match &n.kind {
        Kind::Str(s) => Some(s.clone()),
        Kind::Int(i) => Some(i.to_string()),
        Kind::Float(f) => Some(f.to_string()),
        Kind::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Expands every `Fn::ForEach::Name` key of `n` and below.
fn for_each(
    file: &Path,
    n: Node,
    path: &str,
    defaults: &HashMap<String, Vec<String>>,
    notes: &mut Vec<Unmodelled>,
    budget: &mut usize,
) -> Result<Node, Vec<LoadError>> {
    let at = n.at;
    let kind = match n.kind {
        Kind::Seq(items) => Kind::Seq(
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| {
                    for_each(file, item, &format!("{path}[{i}]"), defaults, notes, budget)
                })
                .collect::<Result<_, _>>()?,
        ),
        Kind::Map(entries) => {
            let mut out: Vec<Entry> = Vec::with_capacity(entries.len());
            for e in entries {
                let here = format!("{path}.{}", e.key);
                if !e.key.starts_with("Fn::ForEach::") {
                    let value = for_each(file, e.value, &here, defaults, notes, budget)?;
                    out.push(Entry { value, ..e });
                    continue;
                }
                let shape = |at: LineCol, m: &str| {
                    vec![error(
                        file,
                        at,
                        &here,
                        format!(
                            "{} takes [Identifier, [Collection], {{OutputKey: OutputValue}}]: {m}",
                            e.key
                        ),
                        None,
                    )]
                };
                let Kind::Seq(args) = &e.value.kind else {
                    return Err(shape(e.value.at, "not a list"));
                };
                let [id, collection, template] = args.as_slice() else {
                    return Err(shape(e.value.at, &format!("a list of {}", args.len())));
                };
                let Kind::Str(id) = &id.kind else {
                    return Err(shape(id.at, "the identifier is not a string"));
                };
                let Kind::Map(outputs) = &template.kind else {
                    return Err(shape(template.at, "the outputs are not a mapping"));
                };
                let items: Option<Vec<String>> = match &collection.kind {
                    Kind::Seq(items) => items.iter().map(scalar_text).collect(),
                    Kind::Map(es) if es.len() == 1 && es[0].key == "Ref" => match &es[0].value.kind
                    {
                        Kind::Str(p) => defaults.get(p).cloned(),
                        _ => None,
                    },
                    _ => None,
                };
                let Some(items) = items else {
                    notes.push(
                        Unmodelled::resource(here.trim_start_matches("$."), "Fn::ForEach", e.at)
                            .because("over a collection known only at deploy: what it writes is not evaluated"),
                    );
                    continue;
                };
                for item in &items {
                    for o in outputs {
                        if *budget == 0 {
                            return Err(shape(
                                e.at,
                                &format!(
                                    "the loops write more than {MAX_FOR_EACH_OUTPUTS} outputs"
                                ),
                            ));
                        }
                        *budget -= 1;
                        let key = substitute_text(&o.key, id, item);
                        let value = substitute(&o.value, id, item);
                        let key_path = format!("{path}.{key}");
                        // Nested loops: expand what this iteration wrote.
                        let expanded = for_each(
                            file,
                            map_node(vec![(key.as_str(), value)], o.at),
                            path,
                            defaults,
                            notes,
                            budget,
                        )?;
                        for x in entries_into(expanded) {
                            if out.iter().any(|y| y.key == x.key) {
                                return Err(vec![error(
                                    file,
                                    o.at,
                                    &key_path,
                                    format!(
                                        "{} writes `{}`, which this mapping already has",
                                        e.key, x.key
                                    ),
                                    None,
                                )]);
                            }
                            out.push(x);
                        }
                    }
                }
            }
            Kind::Map(out)
        }
        other => other,
    };
    Ok(Node { at, kind })
}

fn entries_into(n: Node) -> Vec<Entry> {
    match n.kind {
        Kind::Map(es) => es,
        _ => Vec::new(),
    }
}

/// `${Id}` becomes the item, `&{Id}` the item without its non-alphanumeric characters.
fn substitute_text(s: &str, id: &str, item: &str) -> String {
    let bare: String = item.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    s.replace(&format!("${{{id}}}"), item)
        .replace(&format!("&{{{id}}}"), &bare)
}

/// A loop's output with the identifier replaced: `{Ref: Id}` becomes the item, and `${Id}` /
/// `&{Id}` in keys and text (`Fn::Sub` templates among them) are replaced.
fn substitute(n: &Node, id: &str, item: &str) -> Node {
    let kind = match &n.kind {
        Kind::Map(es)
            if es.len() == 1
                && es[0].key == "Ref"
                && matches!(&es[0].value.kind, Kind::Str(s) if s == id) =>
        {
            Kind::Str(item.to_owned())
        }
        Kind::Map(es) => Kind::Map(
            es.iter()
                .map(|e| Entry {
                    key: substitute_text(&e.key, id, item),
                    at: e.at,
                    value: substitute(&e.value, id, item),
                })
                .collect(),
        ),
        Kind::Seq(items) => Kind::Seq(items.iter().map(|i| substitute(i, id, item)).collect()),
        Kind::Str(s) => Kind::Str(substitute_text(s, id, item)),
        other => other.clone(),
    };
    Node { at: n.at, kind }
}

// ---------------------------------------------------------------------------------------------
// SAM (AWS::Serverless-2016-10-31)
// ---------------------------------------------------------------------------------------------

/// The `Globals` sections and the serverless types each applies to.
const GLOBALS: [(&str, &str); 6] = [
    ("Function", "AWS::Serverless::Function"),
    ("Api", "AWS::Serverless::Api"),
    ("HttpApi", "AWS::Serverless::HttpApi"),
    ("SimpleTable", "AWS::Serverless::SimpleTable"),
    ("StateMachine", "AWS::Serverless::StateMachine"),
    ("LayerVersion", "AWS::Serverless::LayerVersion"),
];

/// SAM's merge of a global value under a resource's own: the resource's scalars (and calls)
/// win, mappings merge key by key, lists add the resource's items after the global ones.
fn merge(global: &Node, local: Node) -> Node {
    if is_call(global) || is_call(&local) {
        return local;
    }
    let at = local.at;
    match (&global.kind, local.kind) {
        (Kind::Map(g), Kind::Map(mut l)) => {
            for ge in g {
                match l.iter().position(|e| e.key == ge.key) {
                    Some(i) => {
                        let v = std::mem::replace(&mut l[i].value, str_node("", at));
                        l[i].value = merge(&ge.value, v);
                    }
                    None => l.push(ge.clone()),
                }
            }
            Node {
                at,
                kind: Kind::Map(l),
            }
        }
        (Kind::Seq(g), Kind::Seq(l)) => Node {
            at,
            kind: Kind::Seq(g.iter().cloned().chain(l).collect()),
        },
        (_, kind) => Node { at, kind },
    }
}

fn serverless(
    file: &Path,
    mut root: Node,
    notes: &mut Vec<Unmodelled>,
) -> Result<Node, Vec<LoadError>> {
    let Some(sections) = entries_mut(&mut root) else {
        return Ok(root);
    };
    let globals = take(sections, "Globals");
    let mut by_type: HashMap<&str, Node> = HashMap::new();
    if let Some(g) = &globals {
        let Kind::Map(es) = &g.kind else {
            return Err(vec![error(
                file,
                g.at,
                "$.Globals",
                format!("`Globals` must be a mapping, got {}", g.describe()),
                None,
            )]);
        };
        for e in es {
            let Some((_, t)) = GLOBALS.iter().find(|(s, _)| *s == e.key) else {
                return Err(vec![error(
                    file,
                    e.at,
                    &format!("$.Globals.{}", e.key),
                    format!(
                        "unknown Globals section `{}` (SAM's are {})",
                        e.key,
                        GLOBALS.map(|(s, _)| s).join(", ")
                    ),
                    None,
                )]);
            };
            if !matches!(e.value.kind, Kind::Map(_)) {
                return Err(vec![error(
                    file,
                    e.at,
                    &format!("$.Globals.{}", e.key),
                    format!(
                        "Globals.{} must be a mapping, got {}",
                        e.key,
                        e.value.describe()
                    ),
                    None,
                )]);
            }
            by_type.insert(t, e.value.clone());
        }
    }
    let Some(resources) = sections
        .iter_mut()
        .find(|e| e.key == "Resources")
        .and_then(|e| entries_mut(&mut e.value))
    else {
        return Ok(root);
    };
    let mut out: Vec<Entry> = Vec::with_capacity(resources.len());
    for mut e in std::mem::take(resources) {
        let cfn_type = match e.value.get("Type").map(|t| &t.value.kind) {
            Some(Kind::Str(t)) if t.starts_with("AWS::Serverless::") => t.clone(),
            _ => {
                out.push(e);
                continue;
            }
        };
        let Some(attrs) = entries_mut(&mut e.value) else {
            out.push(e);
            continue;
        };
        let ignore = take(attrs, "IgnoreGlobals");
        take(attrs, "Connectors");
        let ignored = |k: &str| match ignore.as_ref().map(|n| &n.kind) {
            Some(Kind::Str(s)) => s == "*" || s == k,
            Some(Kind::Seq(items)) => items
                .iter()
                .any(|i| matches!(&i.kind, Kind::Str(s) if s == k)),
            _ => false,
        };
        let at = e.at;
        let mut props = take(attrs, "Properties").unwrap_or_else(|| map_node(Vec::new(), at));
        if let Some(Node {
            kind: Kind::Map(g), ..
        }) = by_type.get(cfn_type.as_str())
        {
            let kept: Vec<Entry> = g.iter().filter(|x| !ignored(&x.key)).cloned().collect();
            props = merge(
                &Node {
                    at,
                    kind: Kind::Map(kept),
                },
                props,
            );
        }
        let generated = match cfn_type.as_str() {
            "AWS::Serverless::Function" => function(&e.key, props, at, notes),
            "AWS::Serverless::Api" => rest_api(&e.key, props, at),
            "AWS::Serverless::HttpApi" => http_api(&e.key, props, at),
            "AWS::Serverless::SimpleTable" => simple_table(props, at),
            _ => {
                attrs.push(Entry {
                    key: "Properties".into(),
                    at,
                    value: props,
                });
                out.push(e);
                continue;
            }
        };
        for (suffix, ty, properties) in generated {
            let id = format!("{}{suffix}", e.key);
            let mut resource = vec![("Type", str_node(ty, at)), ("Properties", properties)];
            // The attributes SAM passes on.
            for a in [
                "Condition",
                "DependsOn",
                "DeletionPolicy",
                "UpdateReplacePolicy",
                "Metadata",
            ] {
                if let Some(x) = attrs.iter().find(|x| x.key == a)
                    && (suffix.is_empty() || a == "Condition")
                {
                    resource.push((a, x.value.clone()));
                }
            }
            if out.iter().any(|x| x.key == id) {
                return Err(vec![error(
                    file,
                    at,
                    &format!("$.Resources.{id}"),
                    format!(
                        "SAM names a resource it generates for `{}` `{id}`, which the template already has",
                        e.key
                    ),
                    None,
                )]);
            }
            out.push(Entry {
                key: id,
                at,
                value: map_node(resource, at),
            });
        }
    }
    *resources = out;
    Ok(root)
}

type Generated = Vec<(String, &'static str, Node)>;

/// Copies `from` (SAM's name) to `to` (CloudFormation's) where the names are the same.
fn copy(props: &[Entry], names: &[&str], out: &mut Vec<Entry>) {
    for n in names {
        if let Some(e) = props.iter().find(|e| e.key == *n) {
            out.push(e.clone());
        }
    }
}

fn push(out: &mut Vec<Entry>, key: &str, value: Node) {
    out.push(Entry {
        key: key.into(),
        at: value.at,
        value,
    });
}

fn get<'a>(props: &'a [Entry], key: &str) -> Option<&'a Node> {
    props.iter().find(|e| e.key == key).map(|e| &e.value)
}

/// `s3://bucket/key` as a Lambda `Code` / API `BodyS3Location`.
fn s3_location(n: &Node, bucket: &str, key: &str, version: &str) -> Option<Node> {
    match &n.kind {
        Kind::Str(s) => {
            let (b, k) = s.strip_prefix("s3://")?.split_once('/')?;
            Some(map_node(
                vec![(bucket, str_node(b, n.at)), (key, str_node(k, n.at))],
                n.at,
            ))
        }
        Kind::Map(es) if !is_call(n) => {
            let mut out = Vec::new();
            for (from, to) in [("Bucket", bucket), ("Key", key), ("Version", version)] {
                if let Some(v) = es.iter().find(|e| e.key == from) {
                    out.push((to, v.value.clone()));
                }
            }
            Some(map_node(out, n.at))
        }
        _ => None,
    }
}

fn props_of(n: Node) -> Vec<Entry> {
    match n.kind {
        Kind::Map(es) if !es.iter().any(|e| super::is_function(&e.key)) => es,
        _ => Vec::new(),
    }
}

fn function(id: &str, props: Node, at: LineCol, notes: &mut Vec<Unmodelled>) -> Generated {
    let p = props_of(props);
    let mut f = Vec::new();
    copy(
        &p,
        &[
            "FunctionName",
            "Description",
            "Role",
            "Runtime",
            "Handler",
            "MemorySize",
            "Timeout",
            "Architectures",
            "PackageType",
            "ReservedConcurrentExecutions",
            "KmsKeyArn",
            "Environment",
            "VpcConfig",
            "Layers",
            "FileSystemConfigs",
            "ImageConfig",
            "EphemeralStorage",
            "LoggingConfig",
            "SnapStart",
            "RuntimeManagementConfig",
            "CodeSigningConfigArn",
            "RecursiveLoop",
            "Tags",
        ],
        &mut f,
    );
    let mut code = Vec::new();
    if let Some(c) =
        get(&p, "CodeUri").and_then(|c| s3_location(c, "S3Bucket", "S3Key", "S3ObjectVersion"))
    {
        code.extend(props_of(c));
    }
    if let Some(c) = get(&p, "InlineCode") {
        push(&mut code, "ZipFile", c.clone());
    }
    if let Some(c) = get(&p, "ImageUri") {
        push(&mut code, "ImageUri", c.clone());
    }
    push(
        &mut f,
        "Code",
        Node {
            at,
            kind: Kind::Map(code),
        },
    );
    if let Some(t) = get(&p, "Tracing") {
        push(
            &mut f,
            "TracingConfig",
            map_node(vec![("Mode", t.clone())], t.at),
        );
    }
    if let Some(d) = get(&p, "DeadLetterQueue").and_then(|d| d.get("TargetArn")) {
        push(
            &mut f,
            "DeadLetterConfig",
            map_node(vec![("TargetArn", d.value.clone())], d.at),
        );
    }
    let mut out: Generated = Vec::new();
    if get(&p, "Role").is_none() {
        // SAM's execution role: trusted by Lambda, the basic execution policy, then `Policies`
        // (managed policy names or ARNs, and policy documents; policy templates are SAM's own).
        let role_id = format!("{id}Role");
        push(
            &mut f,
            "Role",
            map_node(
                vec![(
                    "Fn::GetAtt",
                    seq_node(vec![str_node(&role_id, at), str_node("Arn", at)], at),
                )],
                at,
            ),
        );
        let trust = map_node(
            vec![
                ("Version", str_node("2012-10-17", at)),
                (
                    "Statement",
                    seq_node(
                        vec![map_node(
                            vec![
                                ("Effect", str_node("Allow", at)),
                                (
                                    "Principal",
                                    map_node(
                                        vec![(
                                            "Service",
                                            seq_node(
                                                vec![str_node("lambda.amazonaws.com", at)],
                                                at,
                                            ),
                                        )],
                                        at,
                                    ),
                                ),
                                ("Action", seq_node(vec![str_node("sts:AssumeRole", at)], at)),
                            ],
                            at,
                        )],
                        at,
                    ),
                ),
            ],
            at,
        );
        let mut managed = vec![str_node(
            "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
            at,
        )];
        let mut inline = Vec::new();
        let policies: Vec<Node> = match get(&p, "Policies") {
            Some(Node {
                kind: Kind::Seq(items),
                ..
            }) => items.clone(),
            Some(n) => vec![n.clone()],
            None => Vec::new(),
        };
        for (i, pol) in policies.iter().enumerate() {
            match &pol.kind {
                Kind::Str(s) if s.starts_with("arn:") => managed.push(pol.clone()),
                Kind::Str(s) => {
                    managed.push(str_node(&format!("arn:aws:iam::aws:policy/{s}"), pol.at))
                }
                _ if is_call(pol) => managed.push(pol.clone()),
                Kind::Map(_) if pol.get("Statement").is_some() => inline.push(map_node(
                    vec![
                        (
                            "PolicyName",
                            str_node(&format!("{role_id}Policy{i}"), pol.at),
                        ),
                        ("PolicyDocument", pol.clone()),
                    ],
                    pol.at,
                )),
                Kind::Map(es) => notes.push(
                    Unmodelled::resource(role_id.as_str(), "AWS::IAM::Role", pol.at).because(
                        format!(
                            "SAM policy template{} {} not evaluated",
                            if es.len() == 1 { "" } else { "s" },
                            es.iter()
                                .map(|e| e.key.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ),
                ),
                _ => {}
            }
        }
        let mut role = vec![
            ("AssumeRolePolicyDocument", trust),
            ("ManagedPolicyArns", seq_node(managed, at)),
        ];
        if !inline.is_empty() {
            role.push(("Policies", seq_node(inline, at)));
        }
        if let Some(b) = get(&p, "PermissionsBoundary") {
            role.push(("PermissionsBoundary", b.clone()));
        }
        if let Some(t) = get(&p, "Tags") {
            role.push(("Tags", t.clone()));
        }
        out.push(("Role".into(), "AWS::IAM::Role", map_node(role, at)));
    }
    for (what, generated) in [
        (
            "Events",
            "the event sources, permissions and implicit APIs SAM generates from Events",
        ),
        (
            "AutoPublishAlias",
            "the version and alias SAM generates from AutoPublishAlias",
        ),
        (
            "FunctionUrlConfig",
            "the function URL SAM generates from FunctionUrlConfig",
        ),
        (
            "DeploymentPreference",
            "the CodeDeploy resources SAM generates from DeploymentPreference",
        ),
    ] {
        if get(&p, what).is_some() {
            notes
                .push(Unmodelled::resource(id, "AWS::Serverless::Function", at).because(generated));
        }
    }
    out.insert(
        0,
        (
            String::new(),
            "AWS::Lambda::Function",
            Node {
                at,
                kind: Kind::Map(f),
            },
        ),
    );
    out
}

/// The stage's logical id suffix as SAM writes it: the stage name's letters and digits.
fn stage_suffix(stage: Option<&Node>) -> String {
    match stage.map(|s| &s.kind) {
        Some(Kind::Str(s)) => {
            let name: String = s.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
            format!("{name}Stage")
        }
        _ => "Stage".into(),
    }
}

fn rest_api(id: &str, props: Node, at: LineCol) -> Generated {
    let p = props_of(props);
    let mut api = Vec::new();
    copy(
        &p,
        &[
            "Name",
            "Description",
            "BinaryMediaTypes",
            "MinimumCompressionSize",
            "ApiKeySourceType",
            "DisableExecuteApiEndpoint",
            "Mode",
            "Tags",
        ],
        &mut api,
    );
    if let Some(b) = get(&p, "DefinitionBody") {
        push(&mut api, "Body", b.clone());
    }
    if let Some(b) =
        get(&p, "DefinitionUri").and_then(|b| s3_location(b, "Bucket", "Key", "Version"))
    {
        push(&mut api, "BodyS3Location", b);
    }
    match get(&p, "EndpointConfiguration") {
        Some(
            e @ Node {
                kind: Kind::Str(_), ..
            },
        ) => push(
            &mut api,
            "EndpointConfiguration",
            map_node(vec![("Types", seq_node(vec![e.clone()], e.at))], e.at),
        ),
        Some(e) if !is_call(e) => {
            let mut c = Vec::new();
            if let Some(t) = e.get("Type") {
                c.push(("Types", seq_node(vec![t.value.clone()], t.at)));
            }
            if let Some(v) = e.get("VPCEndpointIds") {
                c.push(("VpcEndpointIds", v.value.clone()));
            }
            push(&mut api, "EndpointConfiguration", map_node(c, e.at));
        }
        _ => {}
    }
    if let Some(policy) = get(&p, "Auth").and_then(|a| a.get("ResourcePolicy")) {
        // SAM writes its own policy statements from these keys; a custom statement is kept.
        if let Some(s) = policy.value.get("CustomStatements") {
            push(
                &mut api,
                "Policy",
                map_node(
                    vec![
                        ("Version", str_node("2012-10-17", s.at)),
                        ("Statement", s.value.clone()),
                    ],
                    s.at,
                ),
            );
        }
    }
    let mut stage = vec![Entry {
        key: "RestApiId".into(),
        at,
        value: map_node(vec![("Ref", str_node(id, at))], at),
    }];
    copy(
        &p,
        &[
            "StageName",
            "MethodSettings",
            "AccessLogSetting",
            "TracingEnabled",
            "CacheClusterEnabled",
            "CacheClusterSize",
            "CanarySetting",
            "Tags",
        ],
        &mut stage,
    );
    if let Some(v) = get(&p, "Variables") {
        push(&mut stage, "Variables", v.clone());
    }
    let suffix = stage_suffix(get(&p, "StageName"));
    vec![
        (
            String::new(),
            "AWS::ApiGateway::RestApi",
            Node {
                at,
                kind: Kind::Map(api),
            },
        ),
        (
            suffix,
            "AWS::ApiGateway::Stage",
            Node {
                at,
                kind: Kind::Map(stage),
            },
        ),
    ]
}

fn http_api(id: &str, props: Node, at: LineCol) -> Generated {
    let p = props_of(props);
    let mut api = vec![Entry {
        key: "ProtocolType".into(),
        at,
        value: str_node("HTTP", at),
    }];
    copy(
        &p,
        &[
            "Name",
            "Description",
            "DisableExecuteApiEndpoint",
            "CorsConfiguration",
            "Tags",
        ],
        &mut api,
    );
    if let Some(b) = get(&p, "DefinitionBody") {
        push(&mut api, "Body", b.clone());
    }
    let mut stage = vec![
        Entry {
            key: "ApiId".into(),
            at,
            value: map_node(vec![("Ref", str_node(id, at))], at),
        },
        Entry {
            key: "AutoDeploy".into(),
            at,
            value: Node {
                at,
                kind: Kind::Bool(true),
            },
        },
    ];
    let stage_name = get(&p, "StageName").cloned();
    push(
        &mut stage,
        "StageName",
        stage_name
            .clone()
            .unwrap_or_else(|| str_node("$default", at)),
    );
    copy(
        &p,
        &[
            "AccessLogSettings",
            "DefaultRouteSettings",
            "RouteSettings",
            "StageVariables",
            "Tags",
        ],
        &mut stage,
    );
    let suffix = match &stage_name {
        None => "ApiGatewayDefaultStage".into(),
        Some(s) => stage_suffix(Some(s)),
    };
    vec![
        (
            String::new(),
            "AWS::ApiGatewayV2::Api",
            Node {
                at,
                kind: Kind::Map(api),
            },
        ),
        (
            suffix,
            "AWS::ApiGatewayV2::Stage",
            Node {
                at,
                kind: Kind::Map(stage),
            },
        ),
    ]
}

fn simple_table(props: Node, at: LineCol) -> Generated {
    let p = props_of(props);
    let mut t = Vec::new();
    copy(
        &p,
        &[
            "TableName",
            "SSESpecification",
            "PointInTimeRecoverySpecification",
            "Tags",
        ],
        &mut t,
    );
    let (name, ty) = match get(&p, "PrimaryKey") {
        Some(k) => (
            k.get("Name")
                .map_or_else(|| str_node("id", at), |e| e.value.clone()),
            match k.get("Type").map(|e| &e.value.kind) {
                Some(Kind::Str(s)) if s == "Number" => "N",
                Some(Kind::Str(s)) if s == "Binary" => "B",
                _ => "S",
            },
        ),
        None => (str_node("id", at), "S"),
    };
    push(
        &mut t,
        "AttributeDefinitions",
        seq_node(
            vec![map_node(
                vec![
                    ("AttributeName", name.clone()),
                    ("AttributeType", str_node(ty, at)),
                ],
                at,
            )],
            at,
        ),
    );
    push(
        &mut t,
        "KeySchema",
        seq_node(
            vec![map_node(
                vec![("AttributeName", name), ("KeyType", str_node("HASH", at))],
                at,
            )],
            at,
        ),
    );
    match get(&p, "ProvisionedThroughput") {
        Some(pt) => push(&mut t, "ProvisionedThroughput", pt.clone()),
        None => push(&mut t, "BillingMode", str_node("PAY_PER_REQUEST", at)),
    }
    vec![(
        String::new(),
        "AWS::DynamoDB::Table",
        Node {
            at,
            kind: Kind::Map(t),
        },
    )]
}
