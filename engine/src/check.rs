//! The `check` pipeline: load stacks and policies, evaluate, apply waivers, report.

use std::path::PathBuf;

use chrono::NaiveDate;

use crate::eval::{self, EvalOptions};
use crate::load::{self, LoadErrors};
use crate::policy::cedar::Action;
use crate::policy::{BundleOptions, PolicyBundle, PolicyError, Principal};
use crate::registry::Registry;
use crate::report::{Report, RuleCounts};
use crate::waiver;

/// What to check, resolved from flags.
#[derive(Debug, Clone)]
pub struct CheckSettings {
    pub paths: Vec<PathBuf>,
    pub policies: PathBuf,
    pub waivers: Option<PathBuf>,
    pub principal: Principal,
    pub today: NaiveDate,
    pub bundle: BundleOptions,
    /// Soft-mandatory policies let through for this run.
    pub overrides: Vec<waiver::Override>,
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
    let bundle = PolicyBundle::load(&settings.policies, registry, &settings.bundle)?;
    let waivers = match &settings.waivers {
        Some(f) => waiver::load_waivers(f, &bundle.metas())?,
        None => Vec::new(),
    };
    waiver::check_overrides(&settings.overrides, &bundle.metas()).map_err(CheckError::Usage)?;
    let estate = load::load_estate(&settings.paths, registry)?;
    let options = EvalOptions {
        principal: settings.principal.clone(),
        stack_action: Action::Create,
    };
    let mut evaluation = eval::evaluate(&estate, &bundle, registry, &options);
    let waiver_report = waiver::apply_waivers(&mut evaluation.findings, &waivers, settings.today);
    let overrides = waiver::apply_overrides(&mut evaluation.findings, &settings.overrides);
    Ok(Report::new(
        &estate,
        evaluation,
        waiver_report,
        overrides,
        bundle.metas().into_iter().cloned().collect(),
        settings.principal.to_string(),
        Action::Create.name().to_owned(),
        RuleCounts {
            rego: bundle.rego.rules().len(),
            cedar: bundle.cedar.policy_count(),
        },
    ))
}
