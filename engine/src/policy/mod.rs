//! Policy bundles: a folder with Rego rules (`rego/`), Cedar policies (`cedar/`) and data
//! (`data/`, including the price catalogues `prices-<region>.json`).
//!
//! A bundle loads whole or not at all: a parse, compile or validation error anywhere stops the run
//! before anything is evaluated.

pub mod bounds;
pub mod cedar;
pub mod files;
pub mod rego;
pub mod testing;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::cost::PriceCatalogue;
use crate::finding::PolicyMeta;
use crate::json::{JsonError, LineCol};
use crate::registry::Registry;

pub use cedar::{CedarBundle, Principal};
pub use files::{BundleFiles, FileKind, Source};
pub use rego::{RegoBundle, RegoMode};

/// Files under `dir` (recursively) whose path `keep` accepts, sorted, walked by
/// [`crate::fsio::walk`]: links not followed, only regular files listed. A folder that does not
/// exist contributes nothing (callers check that the bundle's folders exist); a refused entry
/// (a FIFO named `*.rego`, a link out of the bundle, an unreadable folder) is an error.
pub fn files_under(dir: &Path, keep: impl Fn(&Path) -> bool) -> Result<Vec<PathBuf>, PolicyError> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    crate::fsio::walk(dir, keep).map_err(|errors| walk_error(&errors))
}

/// The first of a walk's refusals as a policy error, counting the rest.
pub(crate) fn walk_error(errors: &[crate::fsio::WalkError]) -> PolicyError {
    match errors {
        [] => PolicyError::new(Path::new(""), "cannot read the folder"),
        [one] => PolicyError::new(&one.path, one.message.clone()),
        [first, rest @ ..] => PolicyError::new(
            &first.path,
            format!(
                "{} (and {} more refused entries)",
                first.message,
                rest.len()
            ),
        ),
    }
}

/// A problem with a policy bundle, with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pub file: PathBuf,
    pub position: Option<LineCol>,
    pub message: String,
    pub help: Option<String>,
}

impl PolicyError {
    pub fn new(file: &Path, message: impl Into<String>) -> Self {
        Self {
            file: file.to_path_buf(),
            position: None,
            message: message.into(),
            help: None,
        }
    }

    pub fn at(mut self, position: LineCol) -> Self {
        self.position = Some(position);
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn from_json(file: &Path, e: JsonError) -> Self {
        let mut err = Self::new(file, e.message);
        err.position = e.position;
        err
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(p) = self.position {
            write!(f, ":{p}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(h) = &self.help {
            write!(f, " (help: {h})")?;
        }
        Ok(())
    }
}

impl std::error::Error for PolicyError {}

/// Everything a run evaluates with.
#[derive(Debug)]
pub struct PolicyBundle {
    pub dir: PathBuf,
    pub rego: RegoBundle,
    pub cedar: CedarBundle,
    /// Price catalogues by region.
    pub prices: BTreeMap<String, PriceCatalogue>,
}

/// How to load a bundle.
#[derive(Debug, Clone, Default)]
pub struct BundleOptions {
    pub rego_mode: RegoMode,
    /// Wall-clock bound on one run's Rego evaluations (default
    /// [`bounds::RUN_TIME_LIMIT`]); what is left when it runs out becomes error findings.
    pub run_time_limit: Option<std::time::Duration>,
}

impl PolicyBundle {
    /// Loads `dir`: `rego/`, `cedar/` and `data/`. Missing folders are an error, so a typo in
    /// `--policies` cannot pass everything by evaluating nothing.
    pub fn load(
        dir: &Path,
        registry: &Registry,
        options: &BundleOptions,
    ) -> Result<Self, PolicyError> {
        if !dir.is_dir() {
            return Err(PolicyError::new(dir, "policy bundle folder not found"));
        }
        if !dir.join("rego").is_dir() && !dir.join("cedar").is_dir() {
            return Err(PolicyError::new(
                dir,
                "neither `rego/` nor `cedar/` found: not a policy bundle",
            ));
        }
        let files = BundleFiles::from_dir(dir)?;
        Self::from_files(&files, registry, options)
    }

    /// Loads a bundle from files in memory (a folder read by [`BundleFiles::from_dir`], or an
    /// archive read by [`crate::bundle`]): data first, then Rego, then Cedar, then the price
    /// catalogues (`data/prices-*.json`). The files' root becomes the bundle's `dir`.
    pub fn from_files(
        files: &BundleFiles,
        registry: &Registry,
        options: &BundleOptions,
    ) -> Result<Self, PolicyError> {
        let data_files = files.sources(FileKind::Data)?;
        let data = rego::data_from_sources(&data_files)?;
        let mut rego = RegoBundle::from_sources(
            &files.path("rego"),
            &files.sources(FileKind::Rego)?,
            data,
            registry,
            options.rego_mode,
        )?;
        if let Some(limit) = options.run_time_limit {
            rego.set_run_time_limit(limit);
        }
        let cedar = CedarBundle::from_sources(
            &files.path("cedar"),
            &files.sources(FileKind::Cedar)?,
            registry,
        )?;
        check_shared_ids(rego.rules().iter().map(|r| &*r.meta), cedar.metas())?;

        let mut prices = BTreeMap::new();
        for source in &data_files {
            let name = source
                .path
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            if name.starts_with("prices-") {
                let catalogue = PriceCatalogue::from_text(&source.path, &source.text)
                    .map_err(|e| PolicyError::new(&source.path, e.message))?;
                prices.insert(catalogue.region.clone(), catalogue);
            }
        }
        Ok(Self {
            dir: files.root().to_path_buf(),
            rego,
            cedar,
            prices,
        })
    }

    /// Every rule's metadata, Rego then Cedar, each sorted by id, then the built-in checks
    /// (`TG-AUTHZ-001`, `TG-COST-000`, the `TG-COV-*` coverage checks) so reports can describe every finding's rule.
    pub fn metas(&self) -> Vec<&PolicyMeta> {
        let mut out: Vec<&PolicyMeta> = self.rego.rules().iter().map(|r| &*r.meta).collect();
        out.extend(self.cedar.metas());
        out.push(self.cedar.not_permitted_meta());
        out.push(crate::eval::cost_meta());
        out.extend(crate::coverage::metas());
        out
    }
}

/// A rule may exist in both languages under one id (a mirrored rule); then the two must agree on
/// family, severity and enforcement, or the id would mean two things.
fn check_shared_ids<'a>(
    rego: impl Iterator<Item = &'a PolicyMeta>,
    cedar: impl Iterator<Item = &'a PolicyMeta>,
) -> Result<(), PolicyError> {
    let rego: BTreeMap<&str, &PolicyMeta> = rego.map(|m| (m.id.as_str(), m)).collect();
    for c in cedar {
        if let Some(r) = rego.get(c.id.as_str())
            && (r.family != c.family || r.severity != c.severity || r.enforcement != c.enforcement)
        {
            return Err(PolicyError::new(
                Path::new(&c.file),
                format!(
                    "policy `{}` is also a Rego rule ({}) with other metadata: family {}/{}, severity {}/{}, enforcement {}/{}",
                    c.id,
                    r.file,
                    c.family,
                    r.family,
                    c.severity,
                    r.severity,
                    c.enforcement,
                    r.enforcement
                ),
            ));
        }
    }
    Ok(())
}
