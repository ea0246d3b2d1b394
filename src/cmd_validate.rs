//! `tollgate validate`: flags, settings, and rendering of the engine's validation problems —
//! `miette`'s graphical report with the source snippet for people, or JSON.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::ValueEnum;
use miette::{GraphicalReportHandler, GraphicalTheme};
use tollgate_engine::registry::Registry;
use tollgate_engine::validate::{self, ValidateSettings, Validation};

use crate::cli::Failure;

/// Width the human report wraps at. Fixed, so the output does not depend on the terminal.
const REPORT_WIDTH: usize = 100;

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// The policy bundle folder (rego/, cedar/, data/).
    #[arg(default_value = "policies", value_name = "DIR")]
    policies: PathBuf,
    /// Stack documents or folders of them (repeatable; default: `stacks` when it exists).
    #[arg(long = "stacks", value_name = "PATH", conflicts_with = "no_stacks")]
    stacks: Vec<PathBuf>,
    /// Validate no stack documents.
    #[arg(long)]
    no_stacks: bool,
    /// Waivers file (default: `waivers.json` in the current folder, when there is one).
    #[arg(long, value_name = "FILE", conflicts_with = "no_waivers")]
    waivers: Option<PathBuf>,
    /// Validate no waivers.
    #[arg(long)]
    no_waivers: bool,
    /// Judge waiver expiry as of this date (YYYY-MM-DD) instead of today (UTC).
    #[arg(long, value_name = "DATE")]
    as_of: Option<String>,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = ValidateFormat::Human)]
    format: ValidateFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ValidateFormat {
    /// Each problem with its source snippet (coloured on a terminal unless NO_COLOR is set).
    Human,
    /// `{"valid", "errors", "warnings", "checked", "diagnostics": [{file, line, column, code,
    /// level, message, help}]}`.
    Json,
}

/// Runs `tollgate validate`: exit 0 when everything is valid (warnings allowed), 2 when anything
/// is invalid or on bad usage.
pub fn run(args: ValidateArgs) -> Result<ExitCode, Failure> {
    let today = match &args.as_of {
        Some(d) => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|e| Failure::Usage(format!("--as-of `{d}`: expected YYYY-MM-DD ({e})")))?,
        None => chrono::Utc::now().date_naive(),
    };
    let stacks = match (args.stacks.is_empty(), args.no_stacks) {
        (_, true) => Vec::new(),
        (false, false) => args.stacks,
        (true, false) => vec![PathBuf::from("stacks")]
            .into_iter()
            .filter(|p| p.exists())
            .collect(),
    };
    let waivers = crate::cli::waivers_file(args.waivers, args.no_waivers);
    let settings = ValidateSettings {
        policies: args.policies,
        stacks,
        waivers,
        today,
    };
    let validation = validate::run(&settings, Registry::builtin());
    let text = match args.format {
        ValidateFormat::Human => {
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            render_human(&validation, color)
        }
        ValidateFormat::Json => render_json(&validation),
    };
    // Snippets quote input values: secrets never echo.
    let text = tollgate_engine::secrets::redact(&text);
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Err(Failure::BrokenPipe),
        Err(e) => return Err(Failure::Usage(format!("writing the report: {e}"))),
    }
    Ok(if validation.is_valid() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// Every problem as `miette` renders it (source snippet, span marked, help), then a summary line.
pub fn render_human(validation: &Validation, color: bool) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(REPORT_WIDTH)
        .with_links(false);
    let mut out = String::new();
    for p in &validation.problems {
        let d = validation.diagnostic(p);
        if handler.render_report(&mut out, &d).is_err() {
            // Rendering into a String cannot fail short of a formatting bug; keep the message.
            out.push_str(&format!("{}: {}\n", p.file.display(), p.message));
        }
        out.push('\n');
    }
    let c = &validation.checked;
    let what = format!(
        "{} Rego modules ({} rules), {} Cedar files ({} policies), {} stack files, {} waivers",
        c.rego_modules, c.rego_rules, c.cedar_files, c.cedar_policies, c.stack_files, c.waivers
    );
    if validation.is_valid() {
        out.push_str(&format!("valid: {what}"));
        if validation.warnings() > 0 {
            out.push_str(&format!("; {} warning(s)", validation.warnings()));
        }
    } else {
        out.push_str(&format!(
            "invalid: {} error(s), {} warning(s) in {what}",
            validation.errors(),
            validation.warnings()
        ));
    }
    out.push('\n');
    out
}

fn render_json(validation: &Validation) -> String {
    let v = serde_json::json!({
        "valid": validation.is_valid(),
        "errors": validation.errors(),
        "warnings": validation.warnings(),
        "checked": validation.checked,
        "diagnostics": validation.problems,
    });
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}
