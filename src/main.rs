//! The `tollgate` command: parses flags, resolves them into settings, calls the libraries and maps
//! the outcome to an exit code — 0 pass, 1 a policy failure, 2 bad input or usage.

mod cli;
mod cmd_bundle;
mod cmd_explain;
#[cfg(feature = "provision")]
mod cmd_provision;
mod cmd_schema;
mod cmd_test;
mod cmd_validate;

use std::io::Write;
use std::process::ExitCode;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // `TOLLGATE_LOG=info` prints how long each phase took (spans closing) to stderr.
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_env("TOLLGATE_LOG") {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
            .with_writer(std::io::stderr)
            .init();
    }
    match cli::run() {
        Ok(code) => code,
        Err(cli::Failure::Usage(msg)) => {
            let _ = writeln!(std::io::stderr(), "error: {msg}");
            ExitCode::from(2)
        }
        Err(cli::Failure::BrokenPipe) => ExitCode::SUCCESS,
    }
}
