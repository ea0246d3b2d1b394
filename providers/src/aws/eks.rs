//! Placeholder: the eks provider is being written. Registers nothing, so `plan` still refuses
//! these types unless a stack marks them `managed_elsewhere`.

use super::AwsClients;
use crate::provider::ProviderSet;

/// Registers nothing yet.
pub fn register(_set: &mut ProviderSet, _clients: &AwsClients) {}
