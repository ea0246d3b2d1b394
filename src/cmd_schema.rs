//! `tollgate schema`: prints or writes the schemas generated from the type registry — the Cedar
//! schema (Cedar's schema syntax or its JSON form) and the JSON Schema for stack documents.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use tollgate_engine::fsio::write_atomically;
use tollgate_engine::registry::Registry;
use tollgate_engine::schema;

use crate::cli::Failure;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("which").args(["cedar", "cedar_json", "json_schema"])))]
pub struct SchemaArgs {
    /// The Cedar schema in Cedar's schema syntax (the default).
    #[arg(long)]
    cedar: bool,
    /// The Cedar schema in Cedar's JSON schema format.
    #[arg(long)]
    cedar_json: bool,
    /// A JSON Schema (draft 2020-12) for stack documents, for editors.
    #[arg(long)]
    json_schema: bool,
    /// Write to FILE (atomically) instead of stdout.
    #[arg(short = 'o', long, value_name = "FILE", conflicts_with = "write")]
    output: Option<PathBuf>,
    /// Refresh the committed copies: DIR/schema/tollgate.cedarschema, tollgate.cedarschema.json
    /// and stack.schema.json, DIR being --policies.
    #[arg(long, conflicts_with = "which")]
    write: bool,
    /// The policy bundle folder whose `schema/` folder --write refreshes.
    #[arg(long, value_name = "DIR", default_value = "policies")]
    policies: PathBuf,
}

/// Runs `tollgate schema`: exit 0, or 2 when a file cannot be written.
pub fn run(args: SchemaArgs) -> Result<ExitCode, Failure> {
    let registry = Registry::builtin();
    let cedar_text =
        || schema::cedar_schema_text(registry).map_err(|e| Failure::Usage(e.to_string()));
    if args.write {
        let dir = args.policies.join("schema");
        std::fs::create_dir_all(&dir)
            .map_err(|e| Failure::Usage(format!("creating {}: {e}", dir.display())))?;
        let files = [
            (schema::CEDAR_SCHEMA_FILE, cedar_text()?),
            (
                schema::CEDAR_SCHEMA_JSON_FILE,
                schema::cedar_schema_json_text(registry),
            ),
            (
                schema::STACK_SCHEMA_FILE,
                schema::stack_schema_text(registry),
            ),
        ];
        for (name, text) in files {
            let path = dir.join(name);
            write(&path, &text)?;
            println!("wrote {}", path.display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let text = if args.json_schema {
        schema::stack_schema_text(registry)
    } else if args.cedar_json {
        schema::cedar_schema_json_text(registry)
    } else {
        cedar_text()?
    };
    match &args.output {
        Some(path) => write(path, &text)?,
        None => {
            let mut stdout = std::io::stdout().lock();
            match stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
            {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                    return Err(Failure::BrokenPipe);
                }
                Err(e) => return Err(Failure::Usage(format!("writing the schema: {e}"))),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn write(path: &Path, text: &str) -> Result<(), Failure> {
    write_atomically(path, text.as_bytes())
        .map_err(|e| Failure::Usage(format!("{}: {e}", path.display())))
}
