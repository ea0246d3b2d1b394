//! The parse-only floor of `tollgate check`: how long loading an estate takes with no policy
//! evaluation. Default mode is the engine's loader (JSON parse, schema validation, reference and
//! cycle checks); `--raw` only parses every file into a `serde_json::Value`, in parallel.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use rayon::prelude::*;
use tollgate_engine::load;
use tollgate_engine::registry::Registry;

/// Time loading an estate without evaluating any policy.
#[derive(Debug, Parser)]
#[command(name = "parse-floor")]
struct Args {
    /// Stack documents or folders of them.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Only parse each file as JSON (`serde_json::Value`), in parallel: the pure JSON floor.
    #[arg(long)]
    raw: bool,
    /// Worker threads (default: every core).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(n) = args.threads
        && let Err(e) = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
    {
        eprintln!("parse-floor: --threads: {e}");
        return ExitCode::from(2);
    }
    let threads = rayon::current_num_threads();
    let started = Instant::now();
    if args.raw {
        let files = match load::expand_paths(&args.paths) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("parse-floor: {e}");
                return ExitCode::from(2);
            }
        };
        let results: Vec<Result<(usize, usize), String>> = files
            .par_iter()
            .map(|f| {
                let text =
                    std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
                let v: serde_json::Value =
                    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", f.display()))?;
                let resources = v["resources"].as_array().map_or(0, Vec::len);
                Ok((text.len(), resources))
            })
            .collect();
        let (mut bytes, mut resources) = (0, 0);
        for r in results {
            match r {
                Ok((b, n)) => {
                    bytes += b;
                    resources += n;
                }
                Err(e) => {
                    eprintln!("parse-floor: {e}");
                    return ExitCode::from(2);
                }
            }
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "raw JSON: {} files, {resources} resources, {:.1} MiB in {secs:.3} s wall ({threads} threads, {:.0} MiB/s)",
            files.len(),
            bytes as f64 / 1048576.0,
            bytes as f64 / 1048576.0 / secs
        );
    } else {
        match load::load_estate(&args.paths, Registry::builtin()) {
            Ok(estate) => {
                let secs = started.elapsed().as_secs_f64();
                println!(
                    "load_estate: {} stacks, {} resources in {secs:.3} s wall ({threads} threads)",
                    estate.stacks.len(),
                    estate.resource_count()
                );
            }
            Err(e) => {
                eprintln!("parse-floor: {} load errors\n{e}", e.0.len());
                return ExitCode::from(2);
            }
        }
    }
    ExitCode::SUCCESS
}
