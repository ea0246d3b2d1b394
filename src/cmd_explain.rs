//! `tollgate explain`: why a resource passed or failed (`--stack S --resource R`), or what a
//! policy is for (`POLICY-ID`). Flags are resolved here; the engine's `explain` module does the
//! work; this file renders its answer as text or JSON.

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::ValueEnum;
use serde_json::Value as Json;
use tollgate_engine::explain::{
    self, ExplainError, PolicyDoc, ResourceExplanation, ResourceSettings, RuleStatus,
};
use tollgate_engine::finding::Scope;
use tollgate_engine::import::InputFormat;
use tollgate_engine::policy::{BundleOptions, Principal};

use crate::cli::Failure;

/// Longest value shown on one line of text output.
const MAX_VALUE_CHARS: usize = 160;
/// Width text paragraphs are wrapped to.
const WRAP: usize = 96;

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// The policy id to document (`explain TG-ENC-001`); with --stack and --resource, the stack
    /// documents or folders to load instead (default `stacks`).
    #[arg(value_name = "POLICY-ID | PATH")]
    targets: Vec<String>,
    /// The stack of the resource to explain.
    #[arg(long, requires = "resource", value_name = "STACK")]
    stack: Option<String>,
    /// The resource to explain (its id in the stack).
    #[arg(long, requires = "stack", value_name = "ID")]
    resource: Option<String>,
    /// Explain only this policy (a Rego rule and/or Cedar policy id) for the resource.
    #[arg(long, requires = "stack", value_name = "POLICY-ID")]
    policy: Option<String>,
    /// The policy bundle folder (rego/, cedar/, data/).
    #[arg(long, default_value = "policies", value_name = "DIR")]
    policies: PathBuf,
    /// Per-policy fixtures (`<ID>/violating`, `<ID>/compliant`) for a policy's examples
    /// (default: `fixtures/policies` beside the policy bundle folder).
    #[arg(long, value_name = "DIR")]
    fixtures: Option<PathBuf>,
    /// Who Cedar is asked about: `ci:NAME`, `team:NAME`, or a Cedar entity uid.
    #[arg(long, default_value = "ci:tollgate-ci", value_name = "PRINCIPAL")]
    principal: String,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = ExplainFormat::Text)]
    format: ExplainFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ExplainFormat {
    Text,
    Json,
}

/// Runs `tollgate explain`. Exit 0 when an explanation was printed, 2 on bad input or usage.
pub fn run(args: ExplainArgs) -> Result<ExitCode, Failure> {
    let text = match (&args.stack, &args.resource) {
        (Some(stack), Some(resource)) => {
            let principal = Principal::parse(&args.principal)
                .map_err(|e| Failure::Usage(format!("--principal: {e}")))?;
            let paths = if args.targets.is_empty() {
                vec![PathBuf::from("stacks")]
            } else {
                args.targets.iter().map(PathBuf::from).collect()
            };
            let settings = ResourceSettings {
                paths,
                input_format: InputFormat::Auto,
                policies: args.policies.clone(),
                principal,
                bundle: BundleOptions::default(),
                stack: stack.clone(),
                resource: resource.clone(),
                policy: args.policy.clone(),
            };
            let e = explain::explain_resource(&settings).map_err(usage)?;
            match args.format {
                ExplainFormat::Json => to_json(serde_json::to_string_pretty(&e))?,
                ExplainFormat::Text => render_resource(&e),
            }
        }
        _ => {
            let id = match args.targets.as_slice() {
                [id] => id,
                [] => {
                    return Err(Failure::Usage(
                        "explain needs a POLICY-ID, or --stack STACK --resource ID".into(),
                    ));
                }
                more => {
                    return Err(Failure::Usage(format!(
                        "explain takes one POLICY-ID, got {} ({}); to explain a resource, give --stack and --resource",
                        more.len(),
                        more.join(", ")
                    )));
                }
            };
            let fixtures = args
                .fixtures
                .clone()
                .unwrap_or_else(|| default_fixtures(&args.policies));
            let doc =
                explain::explain_policy(&args.policies, &fixtures, &BundleOptions::default(), id)
                    .map_err(usage)?;
            match args.format {
                ExplainFormat::Json => to_json(serde_json::to_string_pretty(&doc))?,
                ExplainFormat::Text => render_policy(&doc),
            }
        }
    };
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(Failure::BrokenPipe),
        Err(e) => Err(Failure::Usage(format!("writing the explanation: {e}"))),
    }
}

/// `fixtures/policies` beside the policy bundle folder.
fn default_fixtures(policies: &Path) -> PathBuf {
    let parent = match policies.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::new(),
    };
    parent.join("fixtures").join("policies")
}

fn usage(e: ExplainError) -> Failure {
    match e {
        ExplainError::Stacks(errors) => {
            let lines: Vec<String> = errors.0.iter().map(|e| e.to_string()).collect();
            Failure::Usage(lines.join("\nerror: "))
        }
        other => Failure::Usage(other.to_string()),
    }
}

fn to_json(v: Result<String, serde_json::Error>) -> Result<String, Failure> {
    v.map(|s| s + "\n")
        .map_err(|e| Failure::Usage(format!("rendering JSON: {e}")))
}

/// A value on one line, shortened when long.
fn short(v: &Json) -> String {
    let s = serde_json::to_string(v).unwrap_or_default();
    if s.chars().count() > MAX_VALUE_CHARS {
        let cut: String = s.chars().take(MAX_VALUE_CHARS).collect();
        format!("{cut}…")
    } else {
        s
    }
}

/// Wraps `text` at [`WRAP`] columns, each line indented by `indent`.
fn wrap(out: &mut String, text: &str, indent: &str) {
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && indent.len() + line.len() + 1 + word.len() > WRAP {
            let _ = writeln!(out, "{indent}{line}");
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        let _ = writeln!(out, "{indent}{line}");
    }
}

fn render_resource(e: &ResourceExplanation) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{}/{} ({})  {}:{}  change: {}",
        e.stack,
        e.resource,
        e.resource_type,
        e.file,
        e.line,
        serde_json::to_value(e.change)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    );
    if let Some(p) = &e.policy {
        let _ = writeln!(o, "policy: {p}");
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "Rego rules for {} ({}):", e.resource_type, e.rego.len());
    wrap(
        &mut o,
        &format!("Values read are found {}.", e.reads_method),
        "  ",
    );
    if e.rego.is_empty() {
        let _ = writeln!(o, "  none");
    }
    for r in &e.rego {
        let status = match r.status {
            RuleStatus::Fired => "FIRED",
            RuleStatus::Unknown => "UNKNOWN",
            RuleStatus::Passed => "passed",
            RuleStatus::Error => "ERROR",
            RuleStatus::Skipped => "skipped",
        };
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "  {status:<7} {}  {}  [{}, {}]",
            r.id, r.title, r.severity, r.enforcement
        );
        let _ = writeln!(o, "          {}", r.file);
        for m in &r.messages {
            let _ = writeln!(o, "          message: {m}");
        }
        for m in &r.unknown {
            let _ = writeln!(o, "          unknown: {m}");
        }
        if let Some(err) = &r.error {
            let _ = writeln!(o, "          error: {err}");
        }
        if r.status == RuleStatus::Skipped {
            let _ = writeln!(
                o,
                "          not evaluated: the resource is being deleted, so its settings are not judged"
            );
        }
        if r.reads.is_empty() {
            let _ = writeln!(o, "          reads: nothing from input or data");
        } else {
            let _ = writeln!(o, "          reads:");
        }
        for v in &r.reads {
            let value = match &v.value {
                Some(v) => format!("= {}", short(v)),
                None => "(absent)".to_owned(),
            };
            let via = match &v.via {
                Some(via) => format!("   [via {via}]"),
                None => String::new(),
            };
            let _ = writeln!(o, "            {} {value}{via}", v.path);
        }
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "Cedar, as {}:", e.cedar.principal);
    if e.cedar.actions.is_empty() {
        let _ = writeln!(o, "  no action asked (the change is a no-op)");
    }
    for a in &e.cedar.actions {
        let _ = writeln!(o, "  {}: {}", a.action, a.decision.to_uppercase());
        if a.determining.is_empty() {
            let why = if a.decision == "deny" && a.errors.is_empty() {
                "no permit policy matched (TG-AUTHZ-001)"
            } else {
                "none"
            };
            let _ = writeln!(o, "    determined by: {why}");
        } else {
            let _ = writeln!(o, "    determined by:");
            for p in &a.determining {
                let _ = writeln!(
                    o,
                    "      {} ({}{}){}",
                    p.id,
                    p.effect,
                    p.outcome.map(|o| format!(", {o}")).unwrap_or_default(),
                    p.title
                        .as_deref()
                        .map(|t| format!("  {t}"))
                        .unwrap_or_default()
                );
            }
        }
        if a.errors.is_empty() {
            let _ = writeln!(o, "    errors: none");
        }
        for err in &a.errors {
            let _ = writeln!(
                o,
                "    error{}: {}",
                err.policy
                    .as_deref()
                    .map(|p| format!(" in {p}"))
                    .unwrap_or_default(),
                err.message
            );
        }
    }
    let ids: Vec<String> = e
        .cedar
        .policies
        .iter()
        .map(|p| format!("{} ({})", p.id, p.effect))
        .collect();
    let _ = writeln!(
        o,
        "  policies evaluated for {}{}:",
        e.resource_type,
        if e.policy.is_some() { " (that id)" } else { "" }
    );
    wrap(&mut o, &ids.join(", "), "    ");
    let kv = |o: &mut String, title: &str, v: &Json| match v.as_object() {
        Some(m) if !m.is_empty() => {
            let _ = writeln!(o, "  {title}:");
            for (k, v) in m {
                let _ = writeln!(o, "    {k} = {}", short(v));
            }
        }
        _ => {
            let _ = writeln!(o, "  {title}: none");
        }
    };
    kv(&mut o, "entity attributes", &e.cedar.attributes);
    kv(&mut o, "entity tags", &e.cedar.tags);
    kv(&mut o, "context.stack", &e.cedar.stack);
    let _ = writeln!(o);
    let _ = writeln!(o, "Stack- and estate-level findings about this resource:");
    if e.related.is_empty() {
        let _ = writeln!(o, "  none");
    }
    for f in &e.related {
        let scope = f
            .scope
            .and_then(|s| serde_json::to_value(s).ok())
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| "built-in".to_owned());
        let outcome = serde_json::to_value(f.outcome)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "  {} ({}, {scope}) {outcome}: {}",
            f.policy,
            serde_json::to_value(f.engine)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            f.message
        );
    }
    o
}

fn render_policy(d: &PolicyDoc) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "{}  {}", d.id, d.title);
    let _ = writeln!(o);
    if let Some(f) = &d.family {
        let _ = writeln!(o, "  family       {f}");
    }
    if let Some(s) = d.severity {
        let _ = writeln!(o, "  severity     {s}");
    }
    if let Some(s) = d.enforcement {
        let _ = writeln!(o, "  enforcement  {s}");
    }
    let engines: Vec<String> = d
        .engines
        .iter()
        .map(|e| {
            let name = serde_json::to_value(e.engine)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            format!("{name} {} ({})", e.kind, e.file)
        })
        .collect();
    let _ = writeln!(o, "  engines      {}", engines.join("; "));
    if let Some(s) = d.scope {
        let s = serde_json::to_value(s)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let _ = writeln!(o, "  scope        {s}");
    }
    let _ = writeln!(
        o,
        "  applies to   {}",
        if d.applies_to.is_empty() {
            match d.scope {
                Some(Scope::Stack) => "the stack as a whole".to_owned(),
                Some(Scope::Estate) => "every stack at once (the estate)".to_owned(),
                _ => "every resource type".to_owned(),
            }
        } else {
            d.applies_to.join(", ")
        }
    );
    let section = |o: &mut String, title: &str, text: &str| {
        let _ = writeln!(o);
        let _ = writeln!(o, "{title}");
        if text.trim().is_empty() {
            let _ = writeln!(o, "  (not documented)");
        } else {
            wrap(o, text, "  ");
        }
    };
    section(&mut o, "What it checks", &d.description);
    section(&mut o, "Why it matters", &d.rationale);
    if let Some(m) = &d.message {
        section(&mut o, "Message (Cedar)", m);
    }
    let ex = &d.example;
    let _ = writeln!(o);
    match &ex.violating {
        None => {
            let _ = writeln!(o, "Failing example");
            let _ = writeln!(
                o,
                "  {}",
                ex.note.as_deref().unwrap_or("no fixture shows one")
            );
        }
        Some(bad) => {
            let what = match &bad.resource {
                Some(r) => format!("resource `{r}`"),
                None => "the stack envelope".to_owned(),
            };
            let _ = writeln!(o, "Failing example ({}, {what})", bad.file);
            indent_json(&mut o, &bad.value);
            match &ex.compliant {
                Some(good) => {
                    let _ = writeln!(o);
                    let _ = writeln!(o, "Fix: the compliant twin ({})", good.file);
                    indent_json(&mut o, &good.value);
                    let _ = writeln!(o);
                    let _ = writeln!(o, "What changes");
                    if ex.changes.is_empty() {
                        let _ = writeln!(o, "  nothing in this snippet");
                    }
                    for c in &ex.changes {
                        match (&c.before, &c.after) {
                            (Some(b), Some(a)) => {
                                let _ = writeln!(o, "  - {}: {}", c.path, short(b));
                                let _ = writeln!(o, "  + {}: {}", c.path, short(a));
                            }
                            (Some(b), None) => {
                                let _ = writeln!(o, "  - {}: {}", c.path, short(b));
                            }
                            (None, Some(a)) => {
                                let _ = writeln!(o, "  + {}: {}", c.path, short(a));
                            }
                            (None, None) => {}
                        }
                    }
                }
                None => {
                    let _ = writeln!(o);
                    let _ = writeln!(o, "Fix");
                    let _ = writeln!(o, "  {}", ex.note.as_deref().unwrap_or("no compliant twin"));
                }
            }
        }
    }
    section(&mut o, "Remediation", &d.remediation);
    o
}

fn indent_json(o: &mut String, v: &Json) {
    let text = serde_json::to_string_pretty(v).unwrap_or_default();
    for line in text.lines() {
        let _ = writeln!(o, "  {line}");
    }
}
