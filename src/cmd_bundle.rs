//! `tollgate bundle`: build, sign and verify policy bundle archives, and make signing keys.
//!
//! The archive format, its checks and its signature are the engine's
//! ([`tollgate_engine::bundle`]); this module resolves flags, picks the default revision from git,
//! and writes files atomically (a private key with mode 0600).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use tollgate_engine::bundle;
use tollgate_engine::registry::Registry;

use crate::cli::Failure;

#[derive(Debug, clap::Args)]
pub struct BundleArgs {
    #[command(subcommand)]
    command: BundleCommand,
}

#[derive(Debug, clap::Subcommand)]
enum BundleCommand {
    /// Package a policy folder as a bundle archive (.tar.gz): .manifest, the Rego modules (not
    /// the *_test.rego tests), the Cedar policies, the data, the generated Cedar schema and the
    /// SHA-256 digest of every file. The same folder always gives the same bytes.
    Build(BuildArgs),
    /// Sign a bundle archive with an Ed25519 private key (replacing any earlier signature).
    Sign(SignArgs),
    /// Check a bundle archive: its entries, every file against its digest, the signature with the
    /// given public key, and that its policies load.
    Verify(VerifyArgs),
    /// Make an Ed25519 key pair (PEM: PKCS#8 private key, mode 0600; SubjectPublicKeyInfo public
    /// key).
    Keygen(KeygenArgs),
}

#[derive(Debug, clap::Args)]
struct BuildArgs {
    /// The policy folder (rego/, cedar/, data/).
    #[arg(default_value = "policies", value_name = "DIR")]
    dir: PathBuf,
    /// Where to write the archive.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: PathBuf,
    /// The manifest's revision (default: `git:<commit>` when the folder has no uncommitted
    /// change, else `sha256:<digest of the files>`).
    #[arg(long, value_name = "REV")]
    revision: Option<String>,
}

#[derive(Debug, clap::Args)]
struct SignArgs {
    /// The bundle archive.
    #[arg(value_name = "BUNDLE")]
    bundle: PathBuf,
    /// The Ed25519 private key (PKCS#8 PEM).
    #[arg(long, value_name = "KEY")]
    key: PathBuf,
    /// Where to write the signed archive (default: replace BUNDLE).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct VerifyArgs {
    /// The bundle archive.
    #[arg(value_name = "BUNDLE")]
    bundle: PathBuf,
    /// The signer's Ed25519 public key (PEM).
    #[arg(long, value_name = "PUB")]
    verify_key: PathBuf,
}

#[derive(Debug, clap::Args)]
struct KeygenArgs {
    /// Where to write the private key (mode 0600). An existing file is not overwritten.
    #[arg(long, value_name = "FILE")]
    private: PathBuf,
    /// Where to write the public key. An existing file is not overwritten.
    #[arg(long, value_name = "FILE")]
    public: PathBuf,
}

/// Runs `tollgate bundle …`: exit 0 on success, 2 on bad input, a bundle that fails a check, or
/// bad usage.
pub fn run(args: BundleArgs) -> Result<ExitCode, Failure> {
    match args.command {
        BundleCommand::Build(a) => build(a),
        BundleCommand::Sign(a) => sign(a),
        BundleCommand::Verify(a) => verify(a),
        BundleCommand::Keygen(a) => keygen(a),
    }
}

fn usage(e: impl std::fmt::Display) -> Failure {
    Failure::Usage(e.to_string())
}

fn build(args: BuildArgs) -> Result<ExitCode, Failure> {
    let revision = match args.revision {
        Some(r) if r.trim().is_empty() => return Err(usage("--revision: empty")),
        Some(r) => Some(r),
        None => git_revision(&args.dir),
    };
    let built = bundle::build(&args.dir, revision, Registry::builtin()).map_err(usage)?;
    write_file(&args.output, &built.bytes, 0o644, true)?;
    say(&format!(
        "wrote {}: revision {}, {} files, {} Rego rules, {} Cedar policies (unsigned)",
        args.output.display(),
        built.manifest.revision,
        built.entries,
        built.manifest.metadata.tollgate.rego_rules,
        built.manifest.metadata.tollgate.cedar_policies
    ))
}

fn sign(args: SignArgs) -> Result<ExitCode, Failure> {
    let key = bundle::read_signing_key(&args.key).map_err(usage)?;
    let bytes = bundle::sign(&args.bundle, &key, &bundle::Limits::default()).map_err(usage)?;
    let out = args.output.as_ref().unwrap_or(&args.bundle);
    write_file(out, &bytes, 0o644, true)?;
    say(&format!(
        "signed {} with key {}",
        out.display(),
        bundle::key_id(&key.verifying_key())
    ))
}

fn verify(args: VerifyArgs) -> Result<ExitCode, Failure> {
    let key = bundle::read_verifying_key(&args.verify_key).map_err(usage)?;
    let loaded = bundle::load(
        &args.bundle,
        Some(&key),
        Registry::builtin(),
        &Default::default(),
    )
    .map_err(usage)?;
    let mut text = format!(
        "OK: {}: revision {}, signed by key {}, {} Rego rules, {} Cedar policies; every file matches its digest",
        args.bundle.display(),
        loaded.archive.manifest.revision,
        loaded.archive.signed_by.as_deref().unwrap_or("-"),
        loaded.bundle.rego.rules().len(),
        loaded.bundle.cedar.policy_count()
    );
    if loaded.schema_differs {
        text.push_str(
            "\nnote: the bundle's Cedar schema differs from this Tollgate's; its policies were validated against this Tollgate's schema",
        );
    }
    say(&text)
}

fn keygen(args: KeygenArgs) -> Result<ExitCode, Failure> {
    for p in [&args.private, &args.public] {
        if p.exists() {
            return Err(usage(format!(
                "{}: already exists; remove it first (keys are never overwritten)",
                p.display()
            )));
        }
    }
    let key = bundle::generate_key().map_err(usage)?;
    let (private, public) = bundle::key_pems(&key).map_err(usage)?;
    write_file(&args.private, private.as_bytes(), 0o600, false)?;
    write_file(&args.public, public.as_bytes(), 0o644, false)?;
    say(&format!(
        "wrote {} (private, mode 0600) and {} (public); key id {}",
        args.private.display(),
        args.public.display(),
        bundle::key_id(&key.verifying_key())
    ))
}

fn say(text: &str) -> Result<ExitCode, Failure> {
    let text = tollgate_engine::secrets::redact(text);
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(Failure::BrokenPipe),
        Err(e) => Err(usage(format!("writing to stdout: {e}"))),
    }
}

/// The default revision: `git:<commit>` when `dir` is in a git work tree and has no uncommitted
/// or untracked change under it; `None` (the engine then uses the content digest) otherwise.
fn git_revision(dir: &Path) -> Option<String> {
    let git = |args: &[&str]| -> Option<String> {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let commit = git(&["rev-parse", "--verify", "--quiet", "HEAD"])?;
    let status = git(&["status", "--porcelain", "--untracked-files=all", "--", "."])?;
    (status.is_empty() && !commit.is_empty()).then(|| format!("git:{commit}"))
}

/// Writes `bytes` to `path` through a temporary file in the same folder (synced, then renamed),
/// with permissions `mode` on Unix, so a reader never sees a partial file. Without `overwrite`,
/// an existing file is an error, checked at the rename itself.
fn write_file(path: &Path, bytes: &[u8], mode: u32, overwrite: bool) -> Result<(), Failure> {
    let fail = |e: std::io::Error| usage(format!("{}: {e}", path.display()));
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // The temporary file is created 0600, so a private key is never readable by others.
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    tmp.write_all(bytes).map_err(fail)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(fail)?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    tmp.as_file().sync_all().map_err(fail)?;
    if overwrite {
        tmp.persist(path).map_err(|e| fail(e.error))?;
    } else {
        tmp.persist_noclobber(path).map_err(|e| fail(e.error))?;
    }
    Ok(())
}

/// `check --bundle FILE [--verify-key PUB]`: the archive opened, verified and loaded with the
/// check's options.
pub fn load_for_check(
    file: &Path,
    verify_key: Option<&Path>,
    settings: &tollgate_engine::check::CheckSettings,
) -> Result<tollgate_engine::policy::PolicyBundle, tollgate_engine::check::CheckError> {
    let key = verify_key.map(bundle::read_verifying_key).transpose()?;
    let _span = tracing::info_span!("load_policies").entered();
    let loaded = bundle::load(file, key.as_ref(), Registry::builtin(), &settings.bundle)?;
    Ok(loaded.bundle)
}
