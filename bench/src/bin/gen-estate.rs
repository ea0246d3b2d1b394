//! Generates a large estate for benchmarks from the shipped one.
//!
//! Generated stack `i` is a copy of template stack `i % T` (templates sorted by id), named
//! `<template>-<i>`; the stacks `g*T .. g*T+T-1` form group `g`, and a cross-stack reference
//! `${s.r}` in a stack of group `g` points at `s`'s copy in the same group (or becomes a plain
//! string when that copy is beyond `--stacks`). Resources are repeated (`<id>-r<k>`) until the
//! stack holds its share of `--resources`; same-stack references follow the copy they belong to.
//! About `--violating-pct` percent of resources get one mutation that breaks a default policy.
//! Output is deterministic for a given seed and inputs.

// A benchmark tool: its `expect`s are on documents it built itself from the shipped estate, not
// on user input.
#![allow(clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use rayon::prelude::*;
use serde_json::{Map, Value, json};
use tollgate_engine::registry::Registry;

/// Generate a large benchmark estate from the shipped stacks.
#[derive(Debug, Parser)]
#[command(name = "gen-estate")]
struct Args {
    /// Number of stacks to generate.
    #[arg(long, default_value_t = 1000)]
    stacks: usize,
    /// Total number of resources, spread evenly over the stacks.
    #[arg(long, default_value_t = 100_000)]
    resources: usize,
    /// Percentage of resources that get one policy-breaking mutation.
    #[arg(long, default_value_t = 20.0)]
    violating_pct: f64,
    /// Seed for the deterministic generator.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Folder of template stacks.
    #[arg(long, default_value = "stacks")]
    from: PathBuf,
    /// Output folder (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Delete existing `*.json` files in the output folder first.
    #[arg(long)]
    force: bool,
}

/// Marker written last; its contents name the parameters. Not a `.json` file, so never loaded.
const MANIFEST: &str = ".gen-estate";
const BUDGET_TYPE: &str = "aws_budgets_budget";
const STACK_FILTER_PREFIX: &str = "user:stack$";

/// xorshift64* seeded through splitmix64: tiny, deterministic, good enough for picking.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64) -> Self {
        let mut z = seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Self(if z == 0 { 0x2545_F491_4F6C_DD1D } else { z })
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[derive(Debug)]
struct Template {
    id: String,
    doc: Map<String, Value>,
    resources: Vec<Value>,
    ids: Vec<String>,
    index: HashMap<String, usize>,
    /// Resources copied again (`-r<k>`) when the stack needs more: all but AWS budgets, which
    /// cover one stack each and are kept once.
    repeatable: Vec<usize>,
    cap: Option<i64>,
}

/// Which template resource, and which copy of it, fills each slot of a generated stack.
fn slots(t: &Template, count: usize) -> Vec<(usize, usize)> {
    let base = count.min(t.resources.len());
    let mut out: Vec<(usize, usize)> = (0..base).map(|j| (j, 0)).collect();
    let rep = if t.repeatable.is_empty() {
        (0..t.resources.len()).collect()
    } else {
        t.repeatable.clone()
    };
    for m in 0..count.saturating_sub(base) {
        out.push((rep[m % rep.len()], 1 + m / rep.len()));
    }
    out
}

fn copy_id(id: &str, k: usize) -> String {
    if k == 0 {
        id.to_owned()
    } else {
        format!("{id}-r{k}")
    }
}

struct Plan<'a> {
    templates: &'a [Template],
    by_id: HashMap<&'a str, usize>,
    counts: Vec<usize>,
    caps: Vec<Option<i64>>,
    stacks: usize,
}

impl Plan<'_> {
    fn template_of(&self, i: usize) -> &Template {
        &self.templates[i % self.templates.len()]
    }

    fn name(&self, i: usize) -> String {
        format!("{}-{i}", self.template_of(i).id)
    }

    /// The generated stack in group `group` copied from template stack `template`, if it exists.
    fn sibling(&self, group: usize, template: &str) -> Option<usize> {
        let ts = *self.by_id.get(template)?;
        let i = group * self.templates.len() + ts;
        (i < self.stacks).then_some(i)
    }
}

/// Same-stack resource mapping for one generated stack: template id + copy → generated id.
struct Local<'a> {
    t: &'a Template,
    /// Highest copy present per template resource (None: not in this stack).
    max_copy: Vec<Option<usize>>,
}

impl Local<'_> {
    fn map(&self, id: &str, k: usize) -> Option<String> {
        let j = *self.t.index.get(id)?;
        let max = self.max_copy[j]?;
        Some(copy_id(id, if k <= max { k } else { 0 }))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Mutation {
    S3Sse,
    S3Versioning,
    S3PublicAccess(&'static str),
    RdsStorage,
    CacheTransit,
    EksPublic,
    Imdsv1,
    KmsRotation,
    SgOpenSsh,
    DropTag(&'static str),
    GithubPublic,
}

impl Mutation {
    fn label(self) -> &'static str {
        match self {
            Self::S3Sse => "s3 sse AES256",
            Self::S3Versioning => "s3 versioning off",
            Self::S3PublicAccess(_) => "s3 public access flag off",
            Self::RdsStorage => "rds storage unencrypted",
            Self::CacheTransit => "elasticache transit unencrypted",
            Self::EksPublic => "eks public endpoint",
            Self::Imdsv1 => "instance IMDSv1",
            Self::KmsRotation => "kms rotation off",
            Self::SgOpenSsh => "sg ssh from 0.0.0.0/0",
            Self::DropTag(_) => "required tag removed",
            Self::GithubPublic => "github repo public",
        }
    }
}

const REQUIRED_TAGS: [&str; 4] = ["owner", "environment", "cost-center", "stack"];
const PAB_FLAGS: [&str; 4] = [
    "block_public_acls",
    "block_public_policy",
    "ignore_public_acls",
    "restrict_public_buckets",
];

fn applicable(r: &Value, registry: &Registry) -> Vec<Mutation> {
    let ty = r["type"].as_str().unwrap_or_default();
    let mut out = Vec::new();
    match ty {
        "aws_s3_bucket" => {
            out.push(Mutation::S3Sse);
            out.push(Mutation::S3Versioning);
            out.extend(PAB_FLAGS.iter().map(|f| Mutation::S3PublicAccess(f)));
        }
        "aws_rds_cluster" => out.push(Mutation::RdsStorage),
        "aws_elasticache_replication_group" => out.push(Mutation::CacheTransit),
        "aws_eks_cluster" => out.push(Mutation::EksPublic),
        "aws_instance" | "aws_launch_template" => out.push(Mutation::Imdsv1),
        "aws_kms_key" => out.push(Mutation::KmsRotation),
        "aws_security_group" => out.push(Mutation::SgOpenSsh),
        "github_repository" => out.push(Mutation::GithubPublic),
        _ => {}
    }
    if registry.get(ty).is_some_and(|t| t.taggable)
        && let Some(tags) = r.get("tags").and_then(Value::as_object)
    {
        for tag in REQUIRED_TAGS {
            if tags
                .get(tag)
                .and_then(Value::as_str)
                .is_some_and(|v| !v.is_empty())
            {
                out.push(Mutation::DropTag(tag));
            }
        }
    }
    out
}

fn props(r: &mut Value) -> &mut Map<String, Value> {
    let obj = r.as_object_mut().expect("resource is an object");
    let p = obj.entry("properties").or_insert_with(|| json!({}));
    if !p.is_object() {
        *p = json!({});
    }
    p.as_object_mut().expect("just made an object")
}

fn sub<'a>(m: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let v = m.entry(key).or_insert_with(|| json!({}));
    if !v.is_object() {
        *v = json!({});
    }
    v.as_object_mut().expect("just made an object")
}

fn apply(r: &mut Value, m: Mutation) {
    match m {
        Mutation::S3Sse => {
            sub(props(r), "server_side_encryption").insert("sse_algorithm".into(), json!("AES256"));
        }
        Mutation::S3Versioning => {
            sub(props(r), "versioning").insert("enabled".into(), json!(false));
        }
        Mutation::S3PublicAccess(flag) => {
            sub(props(r), "public_access_block").insert(flag.into(), json!(false));
        }
        Mutation::RdsStorage => {
            props(r).insert("storage_encrypted".into(), json!(false));
        }
        Mutation::CacheTransit => {
            props(r).insert("transit_encryption_enabled".into(), json!(false));
        }
        Mutation::EksPublic => {
            sub(props(r), "vpc_config").insert("endpoint_public_access".into(), json!(true));
        }
        Mutation::Imdsv1 => {
            sub(props(r), "metadata_options").insert("http_tokens".into(), json!("optional"));
        }
        Mutation::KmsRotation => {
            props(r).insert("enable_key_rotation".into(), json!(false));
        }
        Mutation::SgOpenSsh => {
            let p = props(r);
            let ingress = p.entry("ingress").or_insert_with(|| json!([]));
            if !ingress.is_array() {
                *ingress = json!([]);
            }
            if let Some(a) = ingress.as_array_mut() {
                a.push(json!({
                    "description": "SSH from anywhere (benchmark mutation)",
                    "from_port": 22,
                    "to_port": 22,
                    "protocol": "tcp",
                    "cidr_blocks": ["0.0.0.0/0"]
                }));
            }
        }
        Mutation::DropTag(tag) => {
            if let Some(tags) = r.get_mut("tags").and_then(Value::as_object_mut) {
                tags.remove(tag);
            }
        }
        Mutation::GithubPublic => {
            props(r).insert("visibility".into(), json!("public"));
        }
    }
}

/// Parses `${id}` / `${stack.id}` the way the loader does (whole string only).
fn parse_ref(s: &str) -> Option<(Option<&str>, &str)> {
    let inner = s.strip_prefix("${")?.strip_suffix('}')?;
    let (stack, id) = match inner.split_once('.') {
        Some((st, id)) => (Some(st), id),
        None => (None, inner),
    };
    let ident = |x: &str| {
        let mut c = x.chars();
        c.next().is_some_and(|c| c.is_ascii_alphanumeric())
            && c.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    (ident(id) && stack.is_none_or(ident)).then_some((stack, id))
}

struct Rewriter<'a> {
    plan: &'a Plan<'a>,
    local: &'a Local<'a>,
    locals: &'a BTreeMap<usize, Local<'a>>,
    group: usize,
    me: usize,
    copy: usize,
}

impl Rewriter<'_> {
    fn rewrite(&self, v: &mut Value) {
        match v {
            Value::String(s) => {
                if let Some(new) = self.reference(s) {
                    *s = new;
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|x| self.rewrite(x)),
            Value::Object(o) => o.values_mut().for_each(|x| self.rewrite(x)),
            _ => {}
        }
    }

    fn reference(&self, s: &str) -> Option<String> {
        let (stack, id) = parse_ref(s)?;
        let own = &self.local.t.id;
        match stack {
            None => Some(match self.local.map(id, self.copy) {
                Some(new) => format!("${{{new}}}"),
                None => format!("{id}-0123"),
            }),
            Some(st) if st == own => Some(match self.local.map(id, self.copy) {
                Some(new) => format!("${{{}.{new}}}", self.plan.name(self.me)),
                None => format!("{id}-0123"),
            }),
            Some(st) => {
                // A stack outside the templates is left as written (the loader takes it as is).
                self.plan.by_id.get(st)?;
                let target = self.plan.sibling(self.group, st);
                let mapped = target.and_then(|ti| Some((ti, self.locals.get(&ti)?.map(id, 0)?)));
                Some(match mapped {
                    Some((ti, new)) => format!("${{{}.{new}}}", self.plan.name(ti)),
                    None => format!("{id}-0123"),
                })
            }
        }
    }
}

struct Generated {
    id: String,
    text: String,
    resources: usize,
    mutations: BTreeMap<Mutation, usize>,
}

fn generate(
    plan: &Plan<'_>,
    locals: &BTreeMap<usize, Local<'_>>,
    i: usize,
    p_mutate: f64,
    seed: u64,
    registry: &Registry,
) -> Generated {
    let t = plan.template_of(i);
    let group = i / plan.templates.len();
    let name = plan.name(i);
    let local = &locals[&i];
    let mut rng = Rng::new(seed, i as u64);
    let mut mutations = BTreeMap::new();

    let mut resources = Vec::with_capacity(plan.counts[i]);
    for (j, k) in slots(t, plan.counts[i]) {
        let mut r = t.resources[j].clone();
        let rw = Rewriter {
            plan,
            local,
            locals,
            group,
            me: i,
            copy: k,
        };
        let obj = r.as_object_mut().expect("resource is an object");
        obj.insert("id".into(), json!(copy_id(&t.ids[j], k)));
        if let Some(p) = obj.get_mut("properties") {
            rw.rewrite(p);
        }
        if let Some(deps) = obj.get_mut("depends_on").and_then(Value::as_array_mut) {
            *deps = deps
                .iter()
                .filter_map(|d| local.map(d.as_str()?, k).map(Value::from))
                .collect();
        }
        let budget_for = if obj.get("type").and_then(Value::as_str) == Some(BUDGET_TYPE) {
            retarget_budget(plan, group, obj)
        } else {
            None
        };
        if let Some(tags) = obj.get_mut("tags").and_then(Value::as_object_mut) {
            if tags.contains_key("stack") {
                tags.insert("stack".into(), json!(name));
            }
            if let (Some(b), true) = (&budget_for, tags.contains_key("budget-for")) {
                tags.insert("budget-for".into(), json!(b));
            }
        }

        let options = applicable(&r, registry);
        if !options.is_empty() && rng.unit() < p_mutate {
            let m = options[rng.below(options.len())];
            apply(&mut r, m);
            *mutations.entry(m).or_insert(0) += 1;
        }
        resources.push(r);
    }

    let mut doc = t.doc.clone();
    doc.insert("stack".into(), json!(name));
    if let Some(repo) = doc.get("repository").and_then(Value::as_str) {
        let repo = match repo.strip_suffix("-main") {
            Some(stem) => format!("{stem}-{i}-main"),
            None => format!("{repo}-{i}"),
        };
        doc.insert("repository".into(), json!(repo));
    }
    if let Some(deps) = doc.get_mut("depends_on").and_then(Value::as_array_mut) {
        *deps = deps
            .iter()
            .filter_map(|d| {
                plan.sibling(group, d.as_str()?)
                    .map(|s| json!(plan.name(s)))
            })
            .collect();
    }
    if let (Some(cap), Some(b)) = (
        plan.caps[i],
        doc.get_mut("budget").and_then(Value::as_object_mut),
    ) {
        b.insert("monthly_limit_usd".into(), json!(cap));
    }
    let n = resources.len();
    doc.insert("resources".into(), Value::Array(resources));
    let mut text = serde_json::to_string_pretty(&Value::Object(doc)).expect("serialisable");
    text.push('\n');
    Generated {
        id: name,
        text,
        resources: n,
        mutations,
    }
}

/// Points an AWS budget at the generated copy of the stack it covers, with that copy's cap.
/// Returns the covered stack's new id.
fn retarget_budget(plan: &Plan<'_>, group: usize, r: &mut Map<String, Value>) -> Option<String> {
    let p = r.get_mut("properties")?.as_object_mut()?;
    let mut covered = None;
    for f in p.get_mut("cost_filter")?.as_array_mut()? {
        for v in f
            .get_mut("values")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            let Some(stack) = v.as_str().and_then(|s| s.strip_prefix(STACK_FILTER_PREFIX)) else {
                continue;
            };
            let Some(&ts) = plan.by_id.get(stack) else {
                continue;
            };
            let ti = group * plan.templates.len() + ts;
            let new = format!("{stack}-{ti}");
            *v = json!(format!("{STACK_FILTER_PREFIX}{new}"));
            covered = Some((ti, new));
        }
    }
    let (ti, new) = covered?;
    if let Some(cap) = plan.caps.get(ti).copied().flatten() {
        p.insert("limit_amount".into(), json!(cap.to_string()));
    }
    if p.contains_key("name") {
        p.insert("name".into(), json!(format!("wer1-{new}-monthly")));
    }
    Some(new)
}

fn load_templates(dir: &Path) -> Result<Vec<Template>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
        let Value::Object(mut doc) =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", f.display()))?
        else {
            return Err(format!("{}: not an object", f.display()));
        };
        let id = doc
            .get("stack")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{}: no stack id", f.display()))?
            .to_owned();
        let resources = match doc.remove("resources") {
            Some(Value::Array(a)) => a,
            _ => Vec::new(),
        };
        let ids: Vec<String> = resources
            .iter()
            .map(|r| r["id"].as_str().unwrap_or_default().to_owned())
            .collect();
        let index = ids
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), i))
            .collect();
        let repeatable = resources
            .iter()
            .enumerate()
            .filter(|(_, r)| r["type"].as_str() != Some(BUDGET_TYPE))
            .map(|(i, _)| i)
            .collect();
        let cap = doc
            .get("budget")
            .and_then(|b| b.get("monthly_limit_usd"))
            .and_then(Value::as_i64);
        out.push(Template {
            id,
            doc,
            resources,
            ids,
            index,
            repeatable,
            cap,
        });
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    if out.is_empty() {
        return Err(format!("{}: no stack documents", dir.display()));
    }
    Ok(out)
}

fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = dir.join(format!(".tmp-{name}.partial"));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, dir.join(name))
}

fn run(args: &Args) -> Result<(), String> {
    if args.stacks == 0 || args.resources < args.stacks {
        return Err("need --stacks >= 1 and --resources >= --stacks".into());
    }
    if !(0.0..=100.0).contains(&args.violating_pct) {
        return Err("--violating-pct must be within 0..=100".into());
    }
    let started = Instant::now();
    let registry = Registry::builtin();
    let templates = load_templates(&args.from)?;
    let n = templates.len();
    let counts: Vec<usize> = (0..args.stacks)
        .map(|i| args.resources / args.stacks + usize::from(i < args.resources % args.stacks))
        .collect();
    let caps: Vec<Option<i64>> = (0..args.stacks)
        .map(|i| {
            let t = &templates[i % n];
            t.cap.map(|cap| {
                let scale = counts[i] as f64 / t.resources.len().max(1) as f64;
                ((cap as f64 * scale.max(1.0) * 2.0).ceil() as i64).max(1)
            })
        })
        .collect();
    let plan = Plan {
        templates: &templates,
        by_id: templates
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id.as_str(), i))
            .collect(),
        counts,
        caps,
        stacks: args.stacks,
    };
    // Only some resources can be mutated (a Kubernetes manifest has no tags and no rule to break),
    // so the mutable ones are picked with the probability that makes `--violating-pct` of all.
    let mutable: Vec<bool> = templates
        .iter()
        .flat_map(|t| t.resources.iter())
        .map(|r| !applicable(r, registry).is_empty())
        .collect();
    let offsets: Vec<usize> = templates
        .iter()
        .scan(0, |acc, t| {
            let o = *acc;
            *acc += t.resources.len();
            Some(o)
        })
        .collect();
    let mutable_total: usize = (0..args.stacks)
        .map(|i| {
            let t = plan.template_of(i);
            let o = offsets[i % n];
            slots(t, plan.counts[i])
                .iter()
                .filter(|(j, _)| mutable[o + j])
                .count()
        })
        .sum();
    let wanted = args.violating_pct / 100.0 * args.resources as f64;
    let p_mutate = (wanted / mutable_total.max(1) as f64).min(1.0);
    let locals: BTreeMap<usize, Local<'_>> = (0..args.stacks)
        .map(|i| {
            let t = plan.template_of(i);
            let mut max_copy = vec![None; t.resources.len()];
            for (j, k) in slots(t, plan.counts[i]) {
                max_copy[j] = Some(max_copy[j].map_or(k, |m: usize| m.max(k)));
            }
            (i, Local { t, max_copy })
        })
        .collect();

    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let existing: Vec<PathBuf> = std::fs::read_dir(&args.out)
        .map_err(|e| format!("{}: {e}", args.out.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|e| e == "json")
                || p.file_name().is_some_and(|f| f == MANIFEST)
        })
        .collect();
    if !existing.is_empty() {
        if !args.force {
            return Err(format!(
                "{} already holds {} stack files; pass --force to replace them",
                args.out.display(),
                existing.len()
            ));
        }
        for p in existing {
            std::fs::remove_file(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        }
    }

    let results: Vec<Result<Generated, String>> = (0..args.stacks)
        .into_par_iter()
        .map(|i| {
            let g = generate(&plan, &locals, i, p_mutate, args.seed, registry);
            write_atomic(&args.out, &format!("{}.json", g.id), g.text.as_bytes())
                .map_err(|e| format!("{}: {e}", args.out.display()))?;
            Ok(g)
        })
        .collect();
    let mut bytes = 0usize;
    let mut resources = 0usize;
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for r in results {
        let g = r?;
        bytes += g.text.len();
        resources += g.resources;
        for (m, c) in g.mutations {
            *by_kind.entry(m.label()).or_insert(0) += c;
        }
    }
    let mutated: usize = by_kind.values().sum();
    let manifest = format!(
        "stacks={} resources={} violating-pct={} seed={} from={}\n",
        args.stacks,
        args.resources,
        args.violating_pct,
        args.seed,
        args.from.display()
    );
    write_atomic(&args.out, MANIFEST, manifest.as_bytes())
        .map_err(|e| format!("{}: {e}", args.out.display()))?;

    println!(
        "gen-estate: {} stacks, {} resources, {:.1} MiB ({} bytes) in {}, {} templates, {:.2} s",
        args.stacks,
        resources,
        bytes as f64 / (1024.0 * 1024.0),
        bytes,
        args.out.display(),
        n,
        started.elapsed().as_secs_f64()
    );
    println!(
        "mutated: {mutated} resources ({:.1}%; {mutable_total} could be, each picked with p={p_mutate:.3})",
        100.0 * mutated as f64 / resources.max(1) as f64
    );
    for (k, c) in by_kind {
        println!("  {c:>7}  {k}");
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen-estate: {e}");
            ExitCode::from(2)
        }
    }
}
