//! `tollgate test [DIR]`: runs the bundle's Rego tests (`*_test.rego`, rules `test_*`) and Cedar
//! tests (`cedar/tests/**/*.cedartest.json`). Exit 0 when every test passed, 1 when one failed or
//! errored, 2 when a test (or the bundle) could not be loaded, or on bad usage.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::ValueEnum;
use tollgate_engine::policy::testing::{TestOptions, run_tests};
use tollgate_engine::registry::Registry;
use tollgate_reports::policy_tests;

use crate::cli::Failure;

#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// The policy bundle folder (rego/, cedar/, data/) whose tests to run.
    #[arg(default_value = "policies", value_name = "DIR")]
    dir: PathBuf,
    /// Run only the tests whose name matches this regular expression (`package.test_name` for
    /// Rego, `file::case` for Cedar).
    #[arg(long, value_name = "REGEX")]
    run: Option<String>,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = TestFormat::Table)]
    format: TestFormat,
    /// Report line coverage of the bundle's Rego modules and the Cedar policies no case exercised.
    #[arg(long)]
    coverage: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TestFormat {
    Table,
    Json,
    Junit,
}

pub fn run(args: TestArgs) -> Result<ExitCode, Failure> {
    let run = match &args.run {
        Some(re) => {
            Some(regex::Regex::new(re).map_err(|e| Failure::Usage(format!("--run `{re}`: {e}")))?)
        }
        None => None,
    };
    let options = TestOptions {
        run,
        coverage: args.coverage,
    };
    let result = run_tests(&args.dir, Registry::builtin(), &options)
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let text = match args.format {
        TestFormat::Table => policy_tests::render_table(
            &result,
            std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        ),
        TestFormat::Json => policy_tests::render_json(&result),
        TestFormat::Junit => policy_tests::render_junit(&result),
    };
    let text = tollgate_engine::secrets::redact(&text);
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Err(Failure::BrokenPipe),
        Err(e) => return Err(Failure::Usage(format!("writing the results: {e}"))),
    }
    Ok(if result.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
