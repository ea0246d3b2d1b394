//! Flags, their resolution into settings, and the commands.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use tollgate_engine::check::{self, ChangedFiles, CheckError, CheckSettings};
use tollgate_engine::envelope::Given;
use tollgate_engine::fsio::write_atomically;
use tollgate_engine::import::InputFormat;
use tollgate_engine::policy::{BundleOptions, Principal, RegoMode};
use tollgate_engine::report::Verdict;
use tollgate_engine::waiver::Override;
use tollgate_reports::{Format, RenderOptions};

/// Policy-as-code governance: Rego and Cedar over infrastructure stacks.
#[derive(Debug, Parser)]
#[command(name = "tollgate", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Evaluate stacks against the policy bundles (no cloud needed).
    ///
    /// Exit status: 0 when no finding fails, 1 when a soft- or hard-mandatory finding is not
    /// waived (or a rule could not be evaluated), 2 on bad input or usage.
    Check(CheckArgs),
    /// Explain one resource (`--stack S --resource ID`: every rule that applies, fired or passed,
    /// the input values each read, Cedar's decisions) or document one policy (`POLICY-ID`).
    ///
    /// Exit status: 0 when the explanation was printed, 2 on bad input or usage.
    Explain(crate::cmd_explain::ExplainArgs),
    /// Run the bundle's policy tests: Rego `test_*` rules in `*_test.rego` files and Cedar cases
    /// in `cedar/tests/**/*.cedartest.json`.
    ///
    /// Exit status: 0 when every test passed, 1 when a test failed or errored, 2 when a test or
    /// the bundle could not be loaded, or on bad usage.
    Test(crate::cmd_test::TestArgs),
    /// Validate a policy bundle, stack documents and waivers, reporting every problem with its
    /// file, line, column and source snippet.
    ///
    /// Exit status: 0 when everything is valid (warnings allowed), 2 when anything is invalid or
    /// on bad usage.
    Validate(crate::cmd_validate::ValidateArgs),
    /// Print the schemas generated from the type registry: the Cedar schema, or a JSON Schema
    /// for stack documents (`--write` refreshes the copies under policies/schema/).
    Schema(crate::cmd_schema::SchemaArgs),
    /// Compare the stack documents with the recorded state: what would be created, updated,
    /// replaced or deleted, in dependency order, with the policy verdict and Cedar's
    /// authorisation of every change. Writes the plan file `apply` takes.
    ///
    /// Exit status: 0 when the plan is compliant, 1 when it is not (the file is still written,
    /// and apply will refuse it), 2 on bad input or usage.
    #[cfg(feature = "provision")]
    Plan(crate::cmd_provision::PlanArgs),
    /// Carry out a plan: refuses one that is not compliant, was edited, was made with other
    /// policies or waivers, or is stale; provisions in dependency order and records each outcome
    /// in the state as it happens.
    ///
    /// Exit status: 0 applied, 1 refused (not compliant, lock held) or a resource failed, 2 bad
    /// input (edited or stale plan, other policies), 130 stopped by Ctrl-C (state saved).
    #[cfg(feature = "provision")]
    Apply(crate::cmd_provision::ApplyArgs),
    /// Inspect the state, or release a stuck lock.
    #[cfg(feature = "provision")]
    State(crate::cmd_provision::StateArgs),
    /// Build, sign and verify policy bundle archives (`bundle.tar.gz`), and make signing keys.
    ///
    /// Exit status: 0 on success, 2 when a bundle fails a check, on bad input or usage.
    Bundle(crate::cmd_bundle::BundleArgs),
}

#[derive(Debug, clap::Args)]
struct CheckArgs {
    /// Stack documents or folders of them.
    #[arg(default_value = "stacks")]
    paths: Vec<PathBuf>,
    /// The policy bundle folder (rego/, cedar/, data/).
    #[arg(long, default_value = "policies", value_name = "DIR")]
    policies: PathBuf,
    /// Evaluate with this bundle archive (`tollgate bundle build`) instead of --policies. Read in
    /// memory; a signed bundle needs --verify-key.
    #[arg(long, value_name = "FILE", conflicts_with = "policies")]
    bundle: Option<PathBuf>,
    /// The Ed25519 public key (PEM) the bundle must be signed with; an unsigned or altered
    /// bundle is then refused.
    #[arg(long, value_name = "PUB", requires = "bundle")]
    verify_key: Option<PathBuf>,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    format: FormatArg,
    /// Also write FORMAT to FILE (repeatable), e.g. `--output sarif=tollgate.sarif`. Files are
    /// written atomically: a failed run never leaves a truncated report behind.
    #[arg(long = "output", value_name = "FORMAT=FILE", value_parser = parse_output)]
    outputs: Vec<(FormatArg, PathBuf)>,
    /// What the inputs are; by default each file's content decides.
    #[arg(long, value_enum, default_value_t = InputFormatArg::Auto)]
    input_format: InputFormatArg,
    /// Check only the stacks whose files changed since this git reference, and the stacks that
    /// depend on them (all of them when the policies or waivers changed).
    #[arg(long, value_name = "GIT_REF")]
    changed_since: Option<String>,
    /// Worker threads (default: every core; RAYON_NUM_THREADS is honoured too).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
    /// Who Cedar is asked about: `ci:NAME`, `team:NAME`, or a Cedar entity uid.
    #[arg(long, default_value = "ci:tollgate-ci", value_name = "PRINCIPAL")]
    principal: String,
    /// Waivers file (default: `waivers.json` in the current folder, when there is one).
    #[arg(long, value_name = "FILE", conflicts_with = "no_waivers")]
    waivers: Option<PathBuf>,
    /// Apply no waivers.
    #[arg(long)]
    no_waivers: bool,
    /// Judge waiver expiry as of this date (YYYY-MM-DD) instead of today (UTC).
    #[arg(long, value_name = "DATE")]
    as_of: Option<String>,
    /// Let a soft-mandatory policy's violations through for this run (repeatable; needs
    /// --reason). Recorded in every output. Hard-mandatory policies cannot be overridden.
    #[arg(long = "override", value_name = "POLICY", requires = "reason")]
    overrides: Vec<String>,
    /// Why the overrides are needed (recorded in every output).
    #[arg(long, value_name = "TEXT", requires = "overrides")]
    reason: Option<String>,
    /// Wall-clock bound on the run's Rego evaluations, in seconds (default 1800): once it is
    /// reached, every rule not yet evaluated becomes an error finding (the run fails closed).
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    max_run_time: Option<u64>,
    #[command(flatten)]
    envelope: EnvelopeArgs,
    /// How Rego runs. `vm` (regorus's compiled mode) is for benchmarks only: it turns runtime
    /// errors in rules into "undefined", which fails open.
    #[arg(long, value_enum, default_value_t = RegoModeArg::Interpreter, hide = true)]
    rego_mode: RegoModeArg,
}

/// Where a plan's or template's envelope comes from when no stack document gives it: the
/// flags, then `tollgate.toml`, the plan's variables and the common tags (engine::envelope).
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Envelope of plans and templates")]
struct EnvelopeArgs {
    /// The stack id of every Terraform plan and CloudFormation template checked (default: the
    /// plan's variable `stack`, a `tollgate.toml`, the `stack` tag every resource shares, the
    /// file's name). A stack document of that id checked with it gives the envelope instead.
    #[arg(long, value_name = "ID")]
    stack: Option<String>,
    /// Their environment (default: `tollgate.toml`, the plan's variables or common tags; when
    /// nothing says it, the strict choice `prod`, noted under the report).
    #[arg(long, value_name = "ENV")]
    environment: Option<String>,
    /// Their AWS region (default: `tollgate.toml`, the plan's variables or aws provider).
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
    /// Their account (default: `tollgate.toml`, the variable `account`, else the environment).
    #[arg(long, value_name = "ACCOUNT")]
    account: Option<String>,
    /// Their owner (default: `tollgate.toml`, the variable `owner` or the common `owner` tag).
    #[arg(long, value_name = "OWNER")]
    owner: Option<String>,
    /// Their repository name (default: `tollgate.toml`, the variable `repository`).
    #[arg(long, value_name = "NAME")]
    repository: Option<String>,
}

impl From<EnvelopeArgs> for Given {
    fn from(a: EnvelopeArgs) -> Self {
        Given {
            stack: a.stack,
            environment: a.environment,
            region: a.region,
            account: a.account,
            owner: a.owner,
            repository: a.repository,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FormatArg {
    Table,
    Json,
    Sarif,
    Junit,
    Markdown,
}

impl FormatArg {
    fn format(self) -> Format {
        match self {
            FormatArg::Table => Format::Table,
            FormatArg::Json => Format::Json,
            FormatArg::Sarif => Format::Sarif,
            FormatArg::Junit => Format::Junit,
            FormatArg::Markdown => Format::Markdown,
        }
    }
}

fn parse_output(s: &str) -> Result<(FormatArg, PathBuf), String> {
    let (format, file) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}`: expected FORMAT=FILE, e.g. sarif=tollgate.sarif"))?;
    let format = FormatArg::from_str(format, true)
        .map_err(|_| format!("`{format}` is not a format (table, json, sarif, junit, markdown)"))?;
    if file.is_empty() {
        return Err(format!("`{s}`: the file name is empty"));
    }
    Ok((format, PathBuf::from(file)))
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum InputFormatArg {
    Auto,
    Stack,
    TerraformPlan,
    Cloudformation,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RegoModeArg {
    Vm,
    Interpreter,
}

/// Why the command stopped without a verdict.
#[derive(Debug)]
pub enum Failure {
    /// Bad input or usage: exit 2.
    Usage(String),
    /// stdout was closed early (`| head`): exit quietly.
    BrokenPipe,
}

/// Runs the command line; `Ok` carries the verdict's exit code.
pub fn run() -> Result<ExitCode, Failure> {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return Ok(ExitCode::from(code));
        }
    };
    match cli.command {
        Command::Check(args) => check(args),
        Command::Explain(args) => crate::cmd_explain::run(args),
        Command::Test(args) => crate::cmd_test::run(args),
        Command::Validate(args) => crate::cmd_validate::run(args),
        Command::Schema(args) => crate::cmd_schema::run(args),
        #[cfg(feature = "provision")]
        Command::Plan(args) => crate::cmd_provision::plan(args),
        #[cfg(feature = "provision")]
        Command::Apply(args) => crate::cmd_provision::apply(args),
        #[cfg(feature = "provision")]
        Command::State(args) => crate::cmd_provision::state(args),
        Command::Bundle(args) => crate::cmd_bundle::run(args),
    }
}

fn check(args: CheckArgs) -> Result<ExitCode, Failure> {
    if let Some(n) = args.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(usize::from(n))
            .build_global()
            .map_err(|e| Failure::Usage(format!("--threads: {e}")))?;
    }
    let principal = Principal::parse(&args.principal)
        .map_err(|e| Failure::Usage(format!("--principal: {e}")))?;
    let today = match &args.as_of {
        Some(d) => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|e| Failure::Usage(format!("--as-of `{d}`: expected YYYY-MM-DD ({e})")))?,
        None => chrono::Utc::now().date_naive(),
    };
    let waivers = waivers_file(args.waivers, args.no_waivers);
    let changed = match &args.changed_since {
        Some(reference) => Some(changed_files(reference)?),
        None => None,
    };
    let (bundle_file, verify_key) = (args.bundle, args.verify_key);
    let envelope = Given::from(args.envelope);
    for (flag, value) in [
        ("--stack", &envelope.stack),
        ("--environment", &envelope.environment),
    ] {
        if let Some(v) = value
            && !tollgate_engine::model::is_identifier(v)
        {
            return Err(Failure::Usage(format!(
                "{flag} `{v}`: ids are letters, digits, `_` and `-`, starting with a letter or digit"
            )));
        }
    }
    let settings = CheckSettings {
        envelope,
        input_format: match args.input_format {
            InputFormatArg::Auto => InputFormat::Auto,
            InputFormatArg::Stack => InputFormat::Stack,
            InputFormatArg::TerraformPlan => InputFormat::TerraformPlan,
            InputFormatArg::Cloudformation => InputFormat::CloudFormation,
        },
        changed,
        paths: args.paths,
        // With --bundle, --changed-since sees the archive as the bundle.
        policies: bundle_file.clone().unwrap_or(args.policies),
        waivers,
        principal,
        today,
        bundle: BundleOptions {
            rego_mode: match args.rego_mode {
                RegoModeArg::Vm => RegoMode::Vm,
                RegoModeArg::Interpreter => RegoMode::Interpreter,
            },
            run_time_limit: args.max_run_time.map(std::time::Duration::from_secs),
        },
        overrides: args
            .overrides
            .iter()
            .map(|p| Override {
                policy: p.clone(),
                reason: args.reason.clone().unwrap_or_default(),
            })
            .collect(),
    };
    let result = match &bundle_file {
        Some(file) => crate::cmd_bundle::load_for_check(file, verify_key.as_deref(), &settings)
            .and_then(|b| check::run_with_bundle(&settings, &b)),
        None => check::run(&settings),
    };
    let report = match result {
        Ok(r) => r,
        Err(CheckError::Stacks(errors)) => {
            let lines: Vec<String> = errors.0.iter().map(|e| e.to_string()).collect();
            return Err(Failure::Usage(lines.join("\nerror: ")));
        }
        Err(CheckError::Policies(e)) => return Err(Failure::Usage(e.to_string())),
        Err(CheckError::Usage(e)) => return Err(Failure::Usage(e)),
    };
    // Files first: a report that cannot be written is an error before anything is printed.
    for (format, file) in &args.outputs {
        let text = tollgate_reports::render(&report, format.format(), RenderOptions::default());
        // `render` redacts secrets already.
        write_atomically(file, text.as_bytes())
            .map_err(|e| Failure::Usage(format!("--output {}: {e}", file.display())))?;
    }
    let format = args.format.format();
    let options = RenderOptions {
        color: format == Format::Table
            && std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none(),
    };
    let text = {
        let _span = tracing::info_span!("render").entered();
        tollgate_reports::render(&report, format, options)
    };
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Err(Failure::BrokenPipe),
        Err(e) => return Err(Failure::Usage(format!("writing the report: {e}"))),
    }
    Ok(match report.summary.verdict {
        Verdict::Pass => ExitCode::SUCCESS,
        Verdict::Fail => ExitCode::from(1),
    })
}

/// The waivers file a command uses: none with `--no-waivers`, the one `--waivers` names, else
/// `waivers.json` in the current folder when there is one.
pub(crate) fn waivers_file(explicit: Option<PathBuf>, none: bool) -> Option<PathBuf> {
    match (explicit, none) {
        (_, true) => None,
        (Some(f), false) => Some(f),
        (None, false) => Some(PathBuf::from("waivers.json")).filter(|p| p.is_file()),
    }
}

/// Files changed since `reference`: committed changes (`git diff REF`), changes in the working
/// tree, and untracked files — everything a pull request's check would see.
fn changed_files(reference: &str) -> Result<ChangedFiles, Failure> {
    let git = |args: &[&str]| -> Result<String, Failure> {
        let out = std::process::Command::new("git")
            .args(args)
            .output()
            .map_err(|e| Failure::Usage(format!("--changed-since: cannot run git: {e}")))?;
        if !out.status.success() {
            return Err(Failure::Usage(format!(
                "--changed-since {reference}: git {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let top = git(&["rev-parse", "--show-toplevel"])?;
    let top = PathBuf::from(top.trim());
    git(&[
        "rev-parse",
        "--verify",
        "--quiet",
        &format!("{reference}^{{commit}}"),
    ])?;
    let mut files: Vec<PathBuf> = git(&["diff", "--name-only", "--no-renames", reference, "--"])?
        .lines()
        .chain(git(&["ls-files", "--others", "--exclude-standard"])?.lines())
        .map(|l| top.join(l))
        .collect();
    files.sort();
    files.dedup();
    Ok(ChangedFiles {
        since: reference.to_owned(),
        files,
    })
}
