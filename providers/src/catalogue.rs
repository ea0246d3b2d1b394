//! Every provider this build has, by resource type.

use crate::ProviderSet;
use crate::aws::{self, AwsClients};

/// The AWS providers, on `clients`.
pub fn aws_providers(clients: &AwsClients) -> ProviderSet {
    let mut set = ProviderSet::new();
    aws::register_account_services(&mut set, clients);
    aws::ec2::register(&mut set, clients);
    aws::kms::register(&mut set, clients);
    aws::sns::register(&mut set, clients);
    aws::logs::register(&mut set, clients);
    aws::rds::register(&mut set, clients);
    aws::elasticache::register(&mut set, clients);
    aws::opensearch::register(&mut set, clients);
    aws::eks::register(&mut set, clients);
    set
}

/// Providers for planning: plan never calls a service, so their clients are configured with a
/// region and nothing else (no credential chain, no endpoint).
pub fn offline_providers() -> ProviderSet {
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("eu-west-1"))
        .build();
    aws_providers(&AwsClients::from_sdk(sdk))
}
