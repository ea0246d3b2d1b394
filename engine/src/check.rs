//! The `check` pipeline: load stacks and policies, evaluate, apply waivers, report.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use crate::eval::{self, EvalOptions};
use crate::load::{self, LoadErrors};
use crate::policy::cedar::Action;
use crate::policy::{BundleOptions, PolicyBundle, PolicyError, Principal};
use crate::registry::Registry;
use crate::report::{Report, RuleCounts, RunInfo};
use crate::waiver;

/// What to check, resolved from flags.
#[derive(Debug, Clone)]
pub struct CheckSettings {
    pub paths: Vec<PathBuf>,
    /// What the inputs are (`Auto`: each file's content decides).
    pub input_format: crate::import::InputFormat,
    pub policies: PathBuf,
    pub waivers: Option<PathBuf>,
    pub principal: Principal,
    pub today: NaiveDate,
    pub bundle: BundleOptions,
    /// Soft-mandatory policies let through for this run.
    pub overrides: Vec<waiver::Override>,
    /// Check only the stacks these files touch (and the stacks that depend on them).
    pub changed: Option<ChangedFiles>,
    /// Envelope values for every plan and template checked (`--stack`, `--environment`, …).
    pub envelope: crate::envelope::Given,
}

impl CheckSettings {
    /// Checks `paths` against the bundle in `policies` as `principal` on `today`, with what a
    /// bare `tollgate check` has for the rest: formats detected, no waivers or overrides, every
    /// stack, no envelope flags, the default bundle options.
    pub fn new(
        paths: Vec<PathBuf>,
        policies: PathBuf,
        principal: Principal,
        today: NaiveDate,
    ) -> Self {
        CheckSettings {
            paths,
            input_format: crate::import::InputFormat::Auto,
            policies,
            waivers: None,
            principal,
            today,
            bundle: BundleOptions::default(),
            overrides: vec![],
            changed: None,
            envelope: crate::envelope::Given::default(),
        }
    }
}

/// Files changed since a git reference (`--changed-since`), as absolute paths.
#[derive(Debug, Clone)]
pub struct ChangedFiles {
    pub since: String,
    pub files: Vec<PathBuf>,
}

/// Which stacks a `--changed-since` run checked and which it skipped.
#[derive(Debug, Clone, serde::Serialize, PartialEq, Eq)]
pub struct Selection {
    pub since: String,
    /// Why every stack was checked, when something every stack depends on changed.
    pub all_because: Option<String>,
    pub changed: Vec<String>,
    /// Stacks checked because they depend (transitively) on a changed one.
    pub dependents: Vec<String>,
    pub skipped: Vec<String>,
}

fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// The stacks whose files changed, plus every stack that depends on one of them.
fn select(
    estate: &crate::model::Estate,
    settings: &CheckSettings,
    changed: &ChangedFiles,
) -> Selection {
    let files: BTreeSet<PathBuf> = changed.files.iter().map(|f| canonical(f)).collect();
    let policies = canonical(&settings.policies);
    let waivers = settings.waivers.as_deref().map(canonical);
    let all_because = files.iter().find_map(|f| {
        if f.starts_with(&policies) {
            Some(format!("the policy bundle changed ({})", f.display()))
        } else if Some(f) == waivers.as_ref() {
            Some(format!("the waivers changed ({})", f.display()))
        } else {
            None
        }
    });
    let ids: Vec<&str> = estate.stacks.iter().map(|s| s.id.as_str()).collect();
    let direct: BTreeSet<String> = match &all_because {
        Some(_) => ids.iter().map(|s| s.to_string()).collect(),
        None => estate
            .stacks
            .iter()
            .filter(|s| files.contains(&canonical(&s.source.file)))
            .map(|s| s.id.clone())
            .collect(),
    };
    let mut chosen = direct.clone();
    loop {
        let more: Vec<String> = estate
            .stacks
            .iter()
            .filter(|s| !chosen.contains(&s.id) && s.depends_on.iter().any(|d| chosen.contains(d)))
            .map(|s| s.id.clone())
            .collect();
        if more.is_empty() {
            break;
        }
        chosen.extend(more);
    }
    Selection {
        since: changed.since.clone(),
        all_because,
        changed: direct.iter().cloned().collect(),
        dependents: chosen.difference(&direct).cloned().collect(),
        skipped: ids
            .iter()
            .filter(|id| !chosen.contains(**id))
            .map(|s| s.to_string())
            .collect(),
    }
}

/// Why a check could not run: bad input (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("{0}")]
    Stacks(#[from] LoadErrors),
    #[error("{0}")]
    Policies(#[from] PolicyError),
    #[error("{0}")]
    Usage(String),
}

/// Loads, evaluates and reports. A `Report` whose verdict is `Fail` is still `Ok`.
pub fn run(settings: &CheckSettings) -> Result<Report, CheckError> {
    let registry = Registry::builtin();
    // Stacks and policies load independently; do both before failing so all errors show at once
    // would be nicer, but a broken bundle makes stack errors moot, so policies come first.
    let bundle = {
        let _span = tracing::info_span!("load_policies").entered();
        PolicyBundle::load(&settings.policies, registry, &settings.bundle)?
    };
    run_with_bundle(settings, &bundle)
}

/// [`run`] with a bundle already loaded (e.g. from an archive, [`crate::bundle::load`]);
/// `settings.policies` is then only used to tell whether `--changed-since` touched the bundle.
pub fn run_with_bundle(
    settings: &CheckSettings,
    bundle: &PolicyBundle,
) -> Result<Report, CheckError> {
    let registry = Registry::builtin();
    let waivers = match &settings.waivers {
        Some(f) => waiver::load_waivers(f, &bundle.metas())?,
        None => Vec::new(),
    };
    waiver::check_overrides(&settings.overrides, &bundle.metas()).map_err(CheckError::Usage)?;
    let estate = {
        let _span = tracing::info_span!("load_inputs").entered();
        load::load_estate_with(
            &settings.paths,
            registry,
            &load::LoadOptions {
                format: settings.input_format,
                envelope: settings.envelope.clone(),
            },
        )?
    };
    if !settings.envelope.is_empty() && !estate.stacks.iter().any(|s| s.origin.is_imported()) {
        return Err(CheckError::Usage(
            "--stack, --environment, --region, --account, --owner and --repository apply to Terraform plans and CloudFormation templates; every input here is a stack document, which states its own envelope".into(),
        ));
    }
    let selection = settings
        .changed
        .as_ref()
        .map(|c| select(&estate, settings, c));
    let mut report = check_estate(
        &estate,
        &EstateCheck {
            bundle,
            waivers: &waivers,
            overrides: &settings.overrides,
            principal: settings.principal.clone(),
            today: settings.today,
            only: selection
                .as_ref()
                .map(|s| s.changed.iter().chain(&s.dependents).cloned().collect()),
        },
    );
    if let Some(selection) = selection {
        report.restrict_to(selection);
    }
    Ok(report)
}

/// Judging an estate that is already in memory (a plan's desired stacks, with each resource's
/// change set): the same evaluation, waivers and overrides as [`run`], for callers that loaded
/// the stacks and the bundle themselves.
#[derive(Debug)]
pub struct EstateCheck<'a> {
    pub bundle: &'a PolicyBundle,
    pub waivers: &'a [waiver::Waiver],
    pub overrides: &'a [waiver::Override],
    pub principal: Principal,
    pub today: NaiveDate,
    /// Evaluate only these stacks (the rest are loaded for references and estate rules).
    pub only: Option<BTreeSet<String>>,
}

/// Evaluates `estate` as [`run`] does and returns the report.
pub fn check_estate(estate: &crate::model::Estate, c: &EstateCheck<'_>) -> Report {
    let registry = Registry::builtin();
    let options = EvalOptions {
        principal: c.principal.clone(),
        stack_action: Action::Create,
        only: c.only.clone(),
    };
    let mut evaluation = eval::evaluate(estate, c.bundle, registry, &options);
    let waiver_report = waiver::apply_waivers(&mut evaluation.findings, c.waivers, c.today);
    let overrides = waiver::apply_overrides(&mut evaluation.findings, c.overrides);
    let run = RunInfo {
        waivers: waiver_report,
        overrides,
        policies: c.bundle.metas().into_iter().cloned().collect(),
        principal: c.principal.to_string(),
        action: Action::Create.name().to_owned(),
        rules: RuleCounts {
            rego: c.bundle.rego.rules().len(),
            cedar: c.bundle.cedar.policy_count(),
        },
    };
    Report::new(estate, evaluation, run)
}
