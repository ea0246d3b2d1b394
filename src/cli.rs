//! Flags, their resolution into settings, and the commands.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use tollgate_engine::check::{self, CheckError, CheckSettings};
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
}

#[derive(Debug, clap::Args)]
struct CheckArgs {
    /// Stack documents or folders of them.
    #[arg(default_value = "stacks")]
    paths: Vec<PathBuf>,
    /// The policy bundle folder (rego/, cedar/, data/).
    #[arg(long, default_value = "policies", value_name = "DIR")]
    policies: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    format: FormatArg,
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
    /// How Rego runs. `vm` (regorus's compiled mode) is for benchmarks only: it turns runtime
    /// errors in rules into "undefined", which fails open.
    #[arg(long, value_enum, default_value_t = RegoModeArg::Interpreter, hide = true)]
    rego_mode: RegoModeArg,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FormatArg {
    Table,
    Json,
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
    let waivers = match (args.waivers, args.no_waivers) {
        (_, true) => None,
        (Some(f), false) => Some(f),
        (None, false) => Some(PathBuf::from("waivers.json")).filter(|p| p.is_file()),
    };
    let settings = CheckSettings {
        paths: args.paths,
        policies: args.policies,
        waivers,
        principal,
        today,
        bundle: BundleOptions {
            rego_mode: match args.rego_mode {
                RegoModeArg::Vm => RegoMode::Vm,
                RegoModeArg::Interpreter => RegoMode::Interpreter,
            },
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
    let report = match check::run(&settings) {
        Ok(r) => r,
        Err(CheckError::Stacks(errors)) => {
            let lines: Vec<String> = errors.0.iter().map(|e| e.to_string()).collect();
            return Err(Failure::Usage(lines.join("\nerror: ")));
        }
        Err(CheckError::Policies(e)) => return Err(Failure::Usage(e.to_string())),
        Err(CheckError::Usage(e)) => return Err(Failure::Usage(e)),
    };
    let format = match args.format {
        FormatArg::Table => Format::Table,
        FormatArg::Json => Format::Json,
    };
    let options = RenderOptions {
        color: format == Format::Table
            && std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none(),
    };
    let text = tollgate_reports::render(&report, format, options);
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
