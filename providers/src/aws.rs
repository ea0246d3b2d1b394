//! AWS clients from the standard configuration chain (environment, profiles, `AWS_ENDPOINT_URL`),
//! with an explicit endpoint for emulators, and the providers built on them.

use std::time::Duration;

use aws_config::BehaviorVersion;

pub mod budgets;
pub mod config;
pub mod doc;
pub mod ec2;
pub mod eks;
pub mod elasticache;
pub mod iam;
pub mod kms;
pub mod logs;
pub mod opensearch;
pub mod organizations;
pub mod rds;
pub mod s3;
pub mod sns;

/// Registers the S3, IAM, Organizations, Budgets and Config providers.
pub fn register_account_services(set: &mut crate::ProviderSet, clients: &AwsClients) {
    s3::register(set, clients);
    iam::register(set, clients);
    organizations::register(set, clients);
    budgets::register(set, clients);
    config::register(set, clients);
}
use aws_config::retry::RetryConfig;

/// How to reach AWS. Everything not set here comes from the standard chain.
#[derive(Debug, Clone, Default)]
pub struct AwsSettings {
    /// `--endpoint-url`: one endpoint for every service (an emulator such as moto's server).
    pub endpoint_url: Option<String>,
    /// Overrides the chain's region.
    pub region: Option<String>,
    /// A named profile of the shared config files.
    pub profile: Option<String>,
    /// Attempts per call, the first included (throttling and 5xx answers are retried with
    /// exponential backoff by the SDK). 0 means the default, 3.
    pub max_attempts: u32,
    /// First retry's backoff; `None` means the SDK's default (1 s).
    pub initial_backoff: Option<Duration>,
}

/// One SDK configuration and the clients made from it.
#[derive(Debug, Clone)]
pub struct AwsClients {
    pub sdk: aws_types_config::SdkConfig,
    pub s3: aws_sdk_s3::Client,
    pub iam: aws_sdk_iam::Client,
    pub organizations: aws_sdk_organizations::Client,
    pub budgets: aws_sdk_budgets::Client,
    pub config: aws_sdk_config::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub kms: aws_sdk_kms::Client,
    pub sns: aws_sdk_sns::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub rds: aws_sdk_rds::Client,
    pub elasticache: aws_sdk_elasticache::Client,
    pub opensearch: aws_sdk_opensearch::Client,
    pub eks: aws_sdk_eks::Client,
}

mod aws_types_config {
    pub use aws_config::SdkConfig;
}

impl AwsClients {
    /// Loads the configuration chain, applies `settings` on top, and builds the clients.
    pub async fn load(settings: &AwsSettings) -> Self {
        let mut retry = RetryConfig::standard().with_max_attempts(match settings.max_attempts {
            0 => 3,
            n => n,
        });
        if let Some(b) = settings.initial_backoff {
            retry = retry.with_initial_backoff(b);
        }
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).retry_config(retry);
        if let Some(url) = &settings.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some(region) = &settings.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        if let Some(profile) = &settings.profile {
            loader = loader.profile_name(profile);
        }
        let sdk = loader.load().await;
        Self::from_sdk(sdk)
    }

    /// Clients from a loaded configuration. S3 uses path-style addressing whenever an endpoint
    /// is configured (S3-compatible endpoints rarely serve virtual-hosted buckets).
    pub fn from_sdk(sdk: aws_config::SdkConfig) -> Self {
        let path_style = sdk.endpoint_url().is_some();
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&sdk)
                .force_path_style(path_style)
                .build(),
        );
        Self {
            iam: aws_sdk_iam::Client::new(&sdk),
            organizations: aws_sdk_organizations::Client::new(&sdk),
            budgets: aws_sdk_budgets::Client::new(&sdk),
            config: aws_sdk_config::Client::new(&sdk),
            ec2: aws_sdk_ec2::Client::new(&sdk),
            kms: aws_sdk_kms::Client::new(&sdk),
            sns: aws_sdk_sns::Client::new(&sdk),
            logs: aws_sdk_cloudwatchlogs::Client::new(&sdk),
            rds: aws_sdk_rds::Client::new(&sdk),
            elasticache: aws_sdk_elasticache::Client::new(&sdk),
            opensearch: aws_sdk_opensearch::Client::new(&sdk),
            eks: aws_sdk_eks::Client::new(&sdk),
            s3,
            sdk,
        }
    }
}
