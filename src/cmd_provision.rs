//! `tollgate plan`, `tollgate apply` and `tollgate state`: the gated path to the provisioner.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tollgate_engine::check::{EstateCheck, check_estate};
use tollgate_engine::load;
use tollgate_engine::model::Estate;
use tollgate_engine::policy::files::BundleFiles;
use tollgate_engine::policy::{BundleOptions, PolicyBundle, Principal};
use tollgate_engine::registry::Registry;
use tollgate_engine::report::Verdict;
use tollgate_engine::waiver::{self, Waiver};
use tollgate_providers::apply::{self, ApplyOptions};
use tollgate_providers::aws::{AwsClients, AwsSettings};
use tollgate_providers::catalogue;
use tollgate_providers::plan::{self, InputDigest, Plan, PlanInputs};
use tollgate_providers::state::{Backend, Location, LockInfo, State, StateError};

use crate::cli::Failure;

/// Where the policies come from.
#[derive(Debug, clap::Args)]
pub struct PolicyArgs {
    /// The policy bundle folder (rego/, cedar/, data/).
    #[arg(long, default_value = "policies", value_name = "DIR")]
    policies: PathBuf,
    /// A bundle archive (`tollgate bundle build`) to use instead of --policies.
    #[arg(long, value_name = "FILE")]
    bundle: Option<PathBuf>,
    /// Public key the bundle's signature must verify with (refuses unsigned or altered bundles).
    #[arg(long, value_name = "FILE", requires = "bundle")]
    verify_key: Option<PathBuf>,
    /// Waivers file (default: `waivers.json` in the current folder, when there is one).
    #[arg(long, value_name = "FILE", conflicts_with = "no_waivers")]
    waivers: Option<PathBuf>,
    /// Apply no waivers.
    #[arg(long)]
    no_waivers: bool,
}

/// How to reach AWS (the standard chain — environment, profiles, `AWS_ENDPOINT_URL` — plus these).
#[derive(Debug, clap::Args)]
pub struct AwsArgs {
    /// One endpoint for every AWS service (an emulator such as moto's server).
    #[arg(long, value_name = "URL", env = "TOLLGATE_ENDPOINT_URL")]
    endpoint_url: Option<String>,
    /// AWS region (default: the configuration chain's).
    #[arg(long)]
    region: Option<String>,
    /// Named profile of the shared AWS configuration.
    #[arg(long)]
    profile: Option<String>,
    /// Attempts per AWS call, the first included: throttling and 5xx answers are retried with
    /// exponential backoff up to this bound.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=20))]
    max_attempts: u32,
}

impl AwsArgs {
    fn settings(&self) -> AwsSettings {
        AwsSettings {
            endpoint_url: self.endpoint_url.clone(),
            region: self.region.clone(),
            profile: self.profile.clone(),
            max_attempts: self.max_attempts,
            initial_backoff: None,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// Stack documents or folders of them.
    #[arg(default_value = "stacks")]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    policy: PolicyArgs,
    /// Who makes the changes, for Cedar: `ci:NAME`, `team:NAME`, or a Cedar entity uid.
    #[arg(long, default_value = "ci:tollgate-ci")]
    principal: String,
    /// State location: a file, or s3://BUCKET/KEY.
    #[arg(long, default_value = ".tollgate/state.json", value_name = "LOCATION")]
    state: String,
    /// Where to write the plan.
    #[arg(
        short = 'o',
        long = "out",
        default_value = "plan.json",
        value_name = "FILE"
    )]
    out: PathBuf,
    #[command(flatten)]
    aws: AwsArgs,
}

#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// The plan file `tollgate plan` wrote.
    plan: PathBuf,
    #[command(flatten)]
    policy: PolicyArgs,
    /// State location (default: the one the plan was made against).
    #[arg(long, value_name = "LOCATION")]
    state: Option<String>,
    /// Apply without asking (for CI).
    #[arg(long)]
    auto_approve: bool,
    /// Provider calls in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    parallelism: u16,
    #[command(flatten)]
    aws: AwsArgs,
}

#[derive(Debug, clap::Args)]
pub struct StateArgs {
    #[command(subcommand)]
    command: StateCommand,
    /// State location: a file, or s3://BUCKET/KEY.
    #[arg(
        long,
        global = true,
        default_value = ".tollgate/state.json",
        value_name = "LOCATION"
    )]
    state: String,
    #[command(flatten)]
    aws: AwsArgs,
}

#[derive(Debug, clap::Subcommand)]
enum StateCommand {
    /// Every recorded resource: address, type, status, provider id.
    List,
    /// One recorded resource, as JSON.
    Show { address: String },
    /// Release a stuck lock (its id is in the error of the run that found it). `--force`
    /// releases whatever lock is there — an empty or corrupt one a crash left — after a
    /// confirmation (`--yes` to skip it).
    Unlock {
        #[arg(required_unless_present = "force")]
        id: Option<String>,
        /// Release the lock whatever it holds, after a confirmation.
        #[arg(long)]
        force: bool,
        /// With `--force`: do not ask (for scripts; stdin need not be a terminal).
        #[arg(long, requires = "force")]
        yes: bool,
    },
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::Usage(format!("cannot start the async runtime: {e}")))
}

fn usage(e: impl std::fmt::Display) -> Failure {
    Failure::Usage(e.to_string())
}

/// Refusals that are not bad input (a held lock, a non-compliant plan): message, exit 1.
fn refuse(message: &str) -> ExitCode {
    let message = tollgate_engine::secrets::redact(message);
    let _ = writeln!(std::io::stderr(), "error: {message}");
    ExitCode::from(1)
}

/// The bundle, its content digest, the waivers and theirs.
struct Policies {
    bundle: PolicyBundle,
    digest: InputDigest,
    waivers: Vec<Waiver>,
    waivers_digest: Option<InputDigest>,
}

fn load_policies(p: &PolicyArgs, registry: &Registry) -> Result<Policies, Failure> {
    let options = BundleOptions::default();
    let (bundle, digest) = match &p.bundle {
        Some(archive) => {
            let key = match &p.verify_key {
                Some(k) => Some(tollgate_engine::bundle::read_verifying_key(k).map_err(usage)?),
                None => None,
            };
            let loaded = tollgate_engine::bundle::load(archive, key.as_ref(), registry, &options)
                .map_err(usage)?;
            let digest = InputDigest {
                path: archive.display().to_string(),
                sha256: tollgate_engine::bundle::content_revision(&loaded.archive.files),
            };
            (loaded.bundle, digest)
        }
        None => {
            let files = BundleFiles::from_dir(&p.policies).map_err(usage)?;
            let bundle = PolicyBundle::from_files(&files, registry, &options).map_err(usage)?;
            let digest = InputDigest {
                path: p.policies.display().to_string(),
                sha256: tollgate_engine::bundle::content_revision(&files),
            };
            (bundle, digest)
        }
    };
    let file = crate::cli::waivers_file(p.waivers.clone(), p.no_waivers);
    let waivers = match &file {
        Some(f) => waiver::load_waivers(f, &bundle.metas()).map_err(usage)?,
        None => Vec::new(),
    };
    let waivers_digest = match &file {
        Some(f) => Some(plan::file_digest(f).map_err(|e| usage(format!("{}: {e}", f.display())))?),
        None => None,
    };
    Ok(Policies {
        bundle,
        digest,
        waivers,
        waivers_digest,
    })
}

async fn backend(location: &str, aws: &AwsArgs) -> Result<Backend, Failure> {
    let location = Location::parse(location).map_err(usage)?;
    Ok(match location {
        Location::File(_) => Backend::new(location, None),
        Location::S3 { .. } => {
            let clients = AwsClients::load(&aws.settings()).await;
            Backend::new(location, Some(clients.s3))
        }
    })
}

fn write_file(file: &Path, bytes: &[u8]) -> Result<(), Failure> {
    tollgate_engine::fsio::write_atomically(file, bytes)
        .map_err(|e| usage(format!("writing {}: {e}", file.display())))
}

fn print(text: &str) -> Result<(), Failure> {
    let text = tollgate_engine::secrets::redact(text);
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(Failure::BrokenPipe),
        Err(e) => Err(usage(format!("writing to stdout: {e}"))),
    }
}

pub fn plan(args: PlanArgs) -> Result<ExitCode, Failure> {
    let registry = Registry::builtin();
    let principal =
        Principal::parse(&args.principal).map_err(|e| usage(format!("--principal: {e}")))?;
    let policies = load_policies(&args.policy, registry)?;
    let estate = load::load_estate(&args.paths, registry).map_err(|errors| {
        let lines: Vec<String> = errors.0.iter().map(|e| e.to_string()).collect();
        Failure::Usage(lines.join("\nerror: "))
    })?;
    let mut documents = std::collections::BTreeMap::new();
    let mut digests = Vec::new();
    for s in &estate.stacks {
        let bytes = read_input(&s.source.file)?;
        let mut doc: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| usage(format!("{}: {e}", s.source.file.display())))?;
        // What is applied is what was judged: policy documents written as strings, parsed.
        tollgate_engine::documents::write_judged_documents(s, registry, &mut doc);
        documents.insert(s.id.clone(), doc);
        digests.push(
            plan::file_digest(&s.source.file)
                .map_err(|e| usage(format!("{}: {e}", s.source.file.display())))?,
        );
    }
    let rt = runtime()?;
    let backend = rt.block_on(backend(&args.state, &args.aws))?;
    let state = rt.block_on(backend.load()).map_err(usage)?;
    let fresh = state.is_none();
    let mut state = state.unwrap_or_default();
    if fresh {
        // No history yet: the plan records an empty lineage, which apply accepts only while
        // there is still no state.
        state.lineage = String::new();
    }
    let providers = catalogue::offline_providers();
    let inputs = PlanInputs {
        estate: &estate,
        documents: &documents,
        state: &state,
        state_location: backend.location().to_string(),
        providers: &providers,
        principal: principal.to_string(),
        stacks_digests: digests,
        policies: policies.digest.clone(),
        waivers: policies.waivers_digest.clone(),
    };
    let mut changes = plan::diff(&inputs).map_err(usage)?;
    let judged = plan::estate_with_changes(&estate, &changes, &state).map_err(usage)?;
    let report = judge_estate(&judged, &policies, principal)?;
    let (verdict, blockers) = plan::judge(&mut changes, &report);
    let plan = plan::assemble(inputs, changes, verdict, blockers);
    write_file(&args.out, &plan.to_bytes())?;
    print(&plan.render())?;
    print(&format!(
        "\nPlan written to {} ({}).\n",
        args.out.display(),
        plan.digest
    ))?;
    Ok(match verdict {
        Verdict::Pass => ExitCode::SUCCESS,
        Verdict::Fail => ExitCode::from(1),
    })
}

fn judge_estate(
    estate: &Estate,
    policies: &Policies,
    principal: Principal,
) -> Result<tollgate_engine::report::Report, Failure> {
    Ok(check_estate(
        estate,
        &EstateCheck {
            bundle: &policies.bundle,
            waivers: &policies.waivers,
            overrides: &[],
            principal,
            today: chrono::Utc::now().date_naive(),
            only: None,
        },
    ))
}

/// Reads an input file the way the engine reads every input: a regular file, size-capped.
fn read_input(file: &Path) -> Result<Vec<u8>, Failure> {
    tollgate_engine::fsio::read_bounded(file, tollgate_engine::json::MAX_FILE_BYTES)
        .map_err(|e| usage(format!("{}: {e}", file.display())))
}

/// Reads and checks a plan file: its own digest, then the policies and waivers it was made with.
fn verified_plan(file: &Path, policies: &Policies) -> Result<Plan, Failure> {
    let bytes = read_input(file)?;
    let plan: Plan = serde_json::from_slice(&bytes).map_err(|e| {
        usage(format!(
            "{}:{}:{}: not a Tollgate plan: {e}",
            file.display(),
            e.line(),
            e.column()
        ))
    })?;
    if plan.format != plan::PLAN_FORMAT {
        return Err(usage(format!(
            "{}: plan format `{}` is not supported (this tollgate reads {})",
            file.display(),
            plan.format,
            plan::PLAN_FORMAT
        )));
    }
    if plan.compute_digest() != plan.digest {
        return Err(usage(format!(
            "{}: the plan has been edited since it was written (its content no longer matches \
             its digest {}); make a new one with `tollgate plan`",
            file.display(),
            plan.digest
        )));
    }
    if plan.policies.sha256 != policies.digest.sha256 {
        return Err(usage(format!(
            "{}: the plan was made with other policies ({} {}), not {} ({}); make a new plan",
            file.display(),
            plan.policies.path,
            plan.policies.sha256,
            policies.digest.path,
            policies.digest.sha256
        )));
    }
    let now = policies.waivers_digest.as_ref().map(|w| &w.sha256);
    if plan.waivers.as_ref().map(|w| &w.sha256) != now {
        return Err(usage(format!(
            "{}: the plan was made with other waivers ({}), not {}; make a new plan",
            file.display(),
            plan.waivers
                .as_ref()
                .map(|w| w.path.as_str())
                .unwrap_or("none"),
            policies
                .waivers_digest
                .as_ref()
                .map(|w| w.path.as_str())
                .unwrap_or("none")
        )));
    }
    Ok(plan)
}

/// The plan's stack documents, loaded again as the engine loads stack files.
fn plan_estate(file: &Path, plan: &Plan, registry: &Registry) -> Result<Estate, Failure> {
    let mut stacks = Vec::new();
    for s in &plan.stacks {
        let text = serde_json::to_string_pretty(&s.document).map_err(usage)?;
        let name = PathBuf::from(format!("{}#stacks/{}", file.display(), s.id));
        let stack = load::parse_stack(&name, &text, registry).map_err(|errors| {
            let lines: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            Failure::Usage(lines.join("\nerror: "))
        })?;
        stacks.push(stack);
    }
    stacks.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(Estate { stacks })
}

fn state_is_current(plan: &Plan, state: Option<&State>) -> Result<(), String> {
    match state {
        None if plan.state.lineage.is_empty() && plan.state.serial == 0 => Ok(()),
        None => Err(format!(
            "the plan was made against state serial {} of lineage {}, but there is no state at {} now",
            plan.state.serial, plan.state.lineage, plan.state.location
        )),
        Some(s) if s.last_plan.as_deref() == Some(plan.digest.as_str()) => Ok(()),
        Some(s) if plan.state.lineage.is_empty() => Err(format!(
            "the plan is stale: it was made when there was no state, and state (serial {}) has been \
             written since",
            s.serial
        )),
        Some(s) if s.lineage != plan.state.lineage => Err(format!(
            "the plan was made against another state history (lineage {}, now {})",
            plan.state.lineage, s.lineage
        )),
        Some(s) if s.serial != plan.state.serial => Err(format!(
            "the plan is stale: it was made against state serial {}, and the state is at serial {} now",
            plan.state.serial, s.serial
        )),
        Some(_) => Ok(()),
    }
}

fn confirm(plan: &Plan) -> Result<bool, Failure> {
    if !std::io::stdin().is_terminal() {
        return Err(usage(
            "apply asks for confirmation and stdin is not a terminal: pass --auto-approve",
        ));
    }
    print(&plan.render())?;
    print("\nDo you want to perform these actions? Only 'yes' will be accepted: ")?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| usage(format!("reading the answer: {e}")))?;
    Ok(answer.trim() == "yes")
}

pub fn apply(args: ApplyArgs) -> Result<ExitCode, Failure> {
    let registry = Registry::builtin();
    let policies = load_policies(&args.policy, registry)?;
    let plan = verified_plan(&args.plan, &policies)?;
    if plan.verdict != Verdict::Pass {
        let mut msg = format!(
            "{}: the plan is not compliant ({} blocking finding(s)); nothing was applied",
            args.plan.display(),
            plan.blockers.len()
        );
        for b in plan.blockers.iter().take(10) {
            msg.push_str(&format!(
                "\n  {} {}{}: {}",
                b.policy,
                b.stack,
                b.resource
                    .as_deref()
                    .map(|r| format!("/{r}"))
                    .unwrap_or_default(),
                b.message
            ));
        }
        return Ok(refuse(&msg));
    }
    let rt = runtime()?;
    let location = args
        .state
        .clone()
        .unwrap_or_else(|| plan.state.location.clone());
    let backend = rt.block_on(backend(&location, &args.aws))?;
    let lock = LockInfo::new("apply");
    match rt.block_on(backend.lock(&lock)) {
        Ok(()) => {}
        Err(e @ (StateError::Locked { .. } | StateError::CorruptLock { .. })) => {
            return Ok(refuse(&e.to_string()));
        }
        Err(e) => return Err(usage(e)),
    }
    // From here on the lock is held: a signal must not leave it behind.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let applying = Arc::new(AtomicBool::new(false));
    let signals =
        Signals::new(&rt).map_err(|e| usage(format!("installing signal handlers: {e}")))?;
    rt.spawn(on_signals(
        signals,
        backend.clone(),
        lock.id.clone(),
        stop_tx,
        applying.clone(),
    ));
    let result = apply_locked(
        &rt, &args, &plan, &policies, &backend, registry, stop_rx, &applying,
    );
    if let Err(e) = rt.block_on(backend.unlock(&lock.id)) {
        let _ = writeln!(std::io::stderr(), "error: releasing the lock: {e}");
    }
    result
}

/// SIGINT (Ctrl-C) and SIGTERM (what CI cancellation and container stops send), registered
/// before they are awaited so none is lost in between.
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn new(rt: &tokio::runtime::Runtime) -> std::io::Result<Self> {
        let _in_runtime = rt.enter();
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    /// The next SIGINT or SIGTERM; `false` if signals can no longer arrive.
    async fn next(&mut self) -> bool {
        #[cfg(unix)]
        {
            tokio::select! {
                s = self.interrupt.recv() => s.is_some(),
                s = self.terminate.recv() => s.is_some(),
            }
        }
        #[cfg(not(unix))]
        tokio::signal::ctrl_c().await.is_ok()
    }
}

/// Longest wait for the lock's release when quitting at once on a signal.
const UNLOCK_ON_EXIT: std::time::Duration = std::time::Duration::from_secs(5);

/// What signals do while `apply` holds the lock. Before anything is applied, the first one
/// releases the lock and exits 130. While applying, the first one stops scheduling (the calls in
/// flight finish, the state is saved, the lock released: exit 130 from the apply itself); a
/// second one quits at once — the state on disk is whole (written atomically after each
/// resource), and the lock is still released.
async fn on_signals(
    mut signals: Signals,
    backend: Backend,
    lock_id: String,
    stop: tokio::sync::watch::Sender<bool>,
    applying: Arc<AtomicBool>,
) {
    let quit = |why: &'static str| {
        let backend = backend.clone();
        let lock_id = lock_id.clone();
        async move {
            let released = tokio::time::timeout(UNLOCK_ON_EXIT, backend.unlock(&lock_id)).await;
            let lock = match released {
                Ok(Ok(())) => "the lock is released".to_owned(),
                Ok(Err(e)) => format!("releasing the lock: {e}"),
                Err(_) => format!(
                    "the lock could not be released in time: release it with `tollgate state \
                     unlock {lock_id}`"
                ),
            };
            let _ = writeln!(std::io::stderr(), "\n{why}; {lock}.");
            std::process::exit(130);
        }
    };
    if !signals.next().await {
        return;
    }
    if !applying.load(Ordering::SeqCst) {
        quit("Stopped before anything was applied").await;
    }
    let _ = writeln!(
        std::io::stderr(),
        "\nStopping: letting the calls in flight finish and saving the state (Ctrl-C again to \
         quit at once; the state stays consistent and the lock is released)."
    );
    let _ = stop.send(true);
    if signals.next().await {
        quit("Quit at once: calls in flight were abandoned, the state holds what was recorded; run apply again to finish").await;
    }
}

#[allow(clippy::too_many_arguments)]
fn apply_locked(
    rt: &tokio::runtime::Runtime,
    args: &ApplyArgs,
    plan: &Plan,
    policies: &Policies,
    backend: &Backend,
    registry: &Registry,
    stop_rx: tokio::sync::watch::Receiver<bool>,
    applying: &AtomicBool,
) -> Result<ExitCode, Failure> {
    let state = rt.block_on(backend.load()).map_err(usage)?;
    if let Err(why) = state_is_current(plan, state.as_ref()) {
        return Err(usage(format!(
            "{}: {why}; make a new plan with `tollgate plan`",
            args.plan.display()
        )));
    }
    let state = state.unwrap_or_default();
    // Judge the plan's own documents again with today's policies, waivers and date: a waiver
    // that expired since the plan was made stops it here.
    let principal = Principal::parse(&plan.principal).map_err(usage)?;
    let estate = plan_estate(&args.plan, plan, registry)?;
    let judged = plan::estate_with_changes(&estate, &plan.changes, &state).map_err(usage)?;
    let report = judge_estate(&judged, policies, principal)?;
    if report.summary.verdict != Verdict::Pass {
        let failing = report.findings.iter().filter(|f| f.fails()).count();
        return Ok(refuse(&format!(
            "{}: the plan's documents no longer pass the policies ({failing} failing finding(s), \
             e.g. a waiver expired); nothing was applied",
            args.plan.display()
        )));
    }
    if plan.actions().next().is_none() {
        print("No changes. Nothing to apply.\n")?;
        return Ok(ExitCode::SUCCESS);
    }
    if !args.auto_approve && !confirm(plan)? {
        print("Apply cancelled.\n")?;
        return Ok(ExitCode::from(1));
    }
    applying.store(true, Ordering::SeqCst);
    let report = rt.block_on(async {
        let clients = AwsClients::load(&args.aws.settings()).await;
        let providers = catalogue::aws_providers(&clients);
        apply::apply(
            plan,
            &providers,
            backend,
            state,
            &ApplyOptions {
                parallelism: usize::from(args.parallelism),
            },
            stop_rx,
        )
        .await
    });
    let report = report.map_err(|e| usage(format!("the state could not be saved: {e}")))?;
    print(&report.render())?;
    Ok(if report.interrupted {
        ExitCode::from(130)
    } else if report.failed() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

pub fn state(args: StateArgs) -> Result<ExitCode, Failure> {
    let rt = runtime()?;
    let backend = rt.block_on(backend(&args.state, &args.aws))?;
    match args.command {
        StateCommand::Unlock {
            id: Some(id),
            force: false,
            ..
        } => {
            rt.block_on(backend.unlock(&id)).map_err(usage)?;
            print(&format!("Released lock {id} on {}.\n", backend.location()))?;
        }
        StateCommand::Unlock { yes, .. } => {
            let Some(what) = rt.block_on(backend.describe_lock()).map_err(usage)? else {
                print(&format!("{} is not locked.\n", backend.location()))?;
                return Ok(ExitCode::SUCCESS);
            };
            if !yes {
                if !std::io::stdin().is_terminal() {
                    return Err(usage(format!(
                        "the lock on {} is {what}; `state unlock --force` asks for confirmation \
                         and stdin is not a terminal: pass --yes",
                        backend.location()
                    )));
                }
                print(&format!(
                    "The lock on {} is {what}.\nRelease it? Only 'yes' will be accepted: ",
                    backend.location()
                ))?;
                let mut answer = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut answer)
                    .map_err(|e| usage(format!("reading the answer: {e}")))?;
                if answer.trim() != "yes" {
                    print("Lock kept.\n")?;
                    return Ok(ExitCode::from(1));
                }
            }
            rt.block_on(backend.force_unlock()).map_err(usage)?;
            print(&format!(
                "Released the lock on {} ({what}).\n",
                backend.location()
            ))?;
        }
        StateCommand::List => {
            let state = rt
                .block_on(backend.load())
                .map_err(usage)?
                .ok_or_else(|| usage(format!("no state at {}", backend.location())))?;
            let mut out = format!(
                "# {} (lineage {}, serial {})\n",
                backend.location(),
                state.lineage,
                state.serial
            );
            for (address, r) in &state.resources {
                out.push_str(&format!(
                    "{address}\t{}\t{:?}\t{}\n",
                    r.type_name,
                    r.status,
                    r.handle
                        .as_ref()
                        .map(|h| h.provider_id.as_str())
                        .unwrap_or("-")
                ));
            }
            print(&out)?;
        }
        StateCommand::Show { address } => {
            let state = rt
                .block_on(backend.load())
                .map_err(usage)?
                .ok_or_else(|| usage(format!("no state at {}", backend.location())))?;
            let r = state.resources.get(&address).ok_or_else(|| {
                usage(format!(
                    "`{address}` is not in the state at {}",
                    backend.location()
                ))
            })?;
            let mut text = serde_json::to_string_pretty(r).map_err(usage)?;
            text.push('\n');
            print(&text)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
