//! Tollgate's engine: the model, the type registry, loaders, Rego and Cedar bundles, parallel
//! evaluation, findings, waivers and verdicts.
//!
//! It is synchronous and knows nothing of AWS or HTTP: callers hand it files and get a
//! [`report::Report`] back. [`check::run`] is the whole `tollgate check` pipeline.

pub mod bundle;
pub mod check;
pub mod cost;
pub mod coverage;
pub mod envelope;
pub mod eval;
pub mod explain;
pub mod finding;
pub mod fsio;
pub mod import;
pub mod json;
pub mod load;
pub mod model;
pub mod policy;
pub mod registry;
pub mod report;
pub mod schema;
pub mod validate;
pub mod waiver;
