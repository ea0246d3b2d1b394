//! Tollgate's provisioner: providers that create, read, update and delete real objects (AWS through
//! the official SDK crates), the state they are recorded in, and the plan → apply path that only a
//! compliant plan may take.
//!
//! The engine (`tollgate-engine`) decides; this crate acts. It is async (tokio) because it waits
//! on networks; the engine stays synchronous.

pub mod apply;
pub mod aws;
pub mod catalogue;
pub mod plan;
pub mod provider;
pub mod state;

pub use provider::{Desired, Handle, Live, Provider, ProviderError, ProviderSet};
