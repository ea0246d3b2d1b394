//! The provider contract: one implementation per family of resource types.
//!
//! A provider is handed a resource as the stack document describes it, with every `${…}`
//! reference already resolved to the referenced object's [`Handle::reference`], and reads objects
//! back in that same document shape, so desired and live compare field by field.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Tag every provider puts on the objects it creates (where the type takes tags), so a re-run
/// after a crash can find an object whose creation was never recorded. Providers strip it when
/// reading tags back.
pub const OWNER_TAG: &str = "tollgate:resource";

/// A resource to create or update: its settings, references resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub stack: String,
    pub id: String,
    pub type_name: String,
    /// The `properties` object of the stack document, references replaced by values.
    pub properties: Value,
    pub tags: BTreeMap<String, String>,
}

impl Desired {
    /// `stack/id`: the value of [`OWNER_TAG`].
    pub fn address(&self) -> String {
        format!("{}/{}", self.stack, self.id)
    }

    /// A property by top-level name.
    pub fn prop(&self, name: &str) -> Option<&Value> {
        self.properties.get(name)
    }

    /// A required string property, or [`ProviderError::Invalid`] naming it.
    pub fn str_prop(&self, name: &str) -> Result<&str, ProviderError> {
        self.prop(name)
            .and_then(Value::as_str)
            .ok_or_else(|| ProviderError::Invalid {
                resource: self.address(),
                message: format!("property `{name}` must be a string"),
            })
    }

    /// The tags to write: the document's tags plus [`OWNER_TAG`].
    pub fn tags_with_owner(&self) -> BTreeMap<String, String> {
        let mut tags = self.tags.clone();
        tags.insert(OWNER_TAG.to_owned(), self.address());
        tags
    }
}

/// How Tollgate finds an object again: recorded in the state after each create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handle {
    /// The provider's own id: a bucket or role name, a policy or topic ARN, a VPC id, …
    pub provider_id: String,
    /// What a `${id}` reference to this resource resolves to: the ARN where other resources
    /// take one (keys, roles, policies, topics), else the id (VPCs, subnets, groups).
    pub reference: String,
    /// Further attributes worth keeping (`arn`, `id`, …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

impl Handle {
    /// A handle whose reference is its id.
    pub fn new(provider_id: impl Into<String>) -> Self {
        let provider_id = provider_id.into();
        Self {
            reference: provider_id.clone(),
            provider_id,
            attributes: BTreeMap::new(),
        }
    }

    /// A handle whose references resolve to `reference` (an ARN, usually).
    pub fn with_reference(provider_id: impl Into<String>, reference: impl Into<String>) -> Self {
        Self {
            provider_id: provider_id.into(),
            reference: reference.into(),
            attributes: BTreeMap::new(),
        }
    }
}

/// An object as read back from its service, in the stack document's shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Live {
    pub handle: Handle,
    /// Every property the provider can read, named and shaped as in stack documents.
    pub properties: Value,
    /// Tags without [`OWNER_TAG`].
    pub tags: BTreeMap<String, String>,
}

/// Why a provider call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProviderError {
    /// The endpoint does not implement the operation (an emulator answering 500 with no error
    /// code, or 501). Reported apart from real failures.
    #[error("{service} {operation}: not supported by this endpoint ({detail})")]
    NotSupported {
        service: &'static str,
        operation: &'static str,
        detail: String,
    },
    /// The service refused the call (4xx, or 5xx after the retries ran out).
    #[error("{service} {operation}: {}{message}{}", code.as_deref().map(|c| format!("{c}: ")).unwrap_or_default(), status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
    Api {
        service: &'static str,
        operation: &'static str,
        code: Option<String>,
        status: Option<u16>,
        message: String,
    },
    /// The call never got an answer (connection refused, timeout, …).
    #[error("{service} {operation}: {message}")]
    Transport {
        service: &'static str,
        operation: &'static str,
        message: String,
    },
    /// The resource's settings cannot be expressed to the service.
    #[error("{resource}: {message}")]
    Invalid { resource: String, message: String },
}

impl ProviderError {
    /// The HTTP status the service answered, when there was an answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            ProviderError::Api { status, .. } => *status,
            _ => None,
        }
    }

    /// The service's error code (`NoSuchBucket`, `AccessDenied`, …).
    pub fn code(&self) -> Option<&str> {
        match self {
            ProviderError::Api { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// Whether this says the object does not exist: HTTP 404, or a code in one of the services'
    /// spellings (`NoSuchBucket`, `ResourceNotFoundException`, EC2's `InvalidVpcID.NotFound`,
    /// RDS's and ElastiCache's `DBClusterNotFoundFault`).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
            || self.code().is_some_and(|c| {
                c.starts_with("NoSuch")
                    || c.ends_with("NotFoundException")
                    || c.ends_with("NotFound")
                    || c.ends_with("NotFoundFault")
            })
    }
}

impl ProviderError {
    /// An answer without a field the operation always returns (`VpcId` from `CreateVpc`).
    pub fn missing(service: &'static str, operation: &'static str, field: &str) -> Self {
        ProviderError::Api {
            service,
            operation,
            code: None,
            status: None,
            message: format!("the answer has no {field}"),
        }
    }
}

/// A bounded SDK waiter's failure as a [`ProviderError`], saying what was awaited: the bound
/// running out (how long, how many polls), a failure state reached (`describe` tells the last
/// answer's states, or the service's error), or the describe call itself failing.
pub fn waiter_error<O, E>(
    service: &'static str,
    operation: &'static str,
    what: &str,
    describe: impl Fn(&O) -> String,
    e: aws_smithy_runtime_api::client::waiters::error::WaiterError<O, E>,
) -> ProviderError
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata
        + std::error::Error
        + Send
        + Sync
        + 'static,
    O: fmt::Debug,
{
    use aws_smithy_runtime_api::client::waiters::error::WaiterError;
    match e {
        WaiterError::ExceededMaxWait(x) => ProviderError::Transport {
            service,
            operation,
            message: format!(
                "gave up after {}s ({} polls) waiting for {what}",
                x.elapsed().as_secs(),
                x.poll_count()
            ),
        },
        WaiterError::FailureState(f) => match f.final_poll().as_result() {
            Ok(out) => ProviderError::Api {
                service,
                operation,
                code: None,
                status: None,
                message: format!("stopped waiting for {what}: {}", describe(out)),
            },
            Err(err) => ProviderError::Api {
                service,
                operation,
                code: err.code().map(str::to_owned),
                status: None,
                message: format!(
                    "stopped waiting for {what}: {}",
                    err.message()
                        .map(str::to_owned)
                        .unwrap_or_else(|| error_chain(err))
                ),
            },
        },
        WaiterError::OperationFailed(f) => sdk_error(service, operation, f.into_error()),
        other => ProviderError::Transport {
            service,
            operation,
            message: format!("waiting for {what}: {}", error_chain(&other)),
        },
    }
}

/// `Ok(None)` for a not-found error, so a read or a lookup can say "gone" without an error.
pub fn found<T>(r: Result<T, ProviderError>) -> Result<Option<T>, ProviderError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Refuses an update that would change a property in `provider`'s
/// [`Provider::replace_on_change`] list: plan turns such a change into a replacement, so an
/// update carrying one is a caller's mistake the service would refuse or ignore.
pub fn refuse_in_place_change(
    provider: &dyn Provider,
    desired: &Desired,
    changed: &[String],
) -> Result<(), ProviderError> {
    let fixed = provider.replace_on_change(&desired.type_name);
    match changed.iter().find(|c| fixed.contains(&c.as_str())) {
        Some(p) => Err(ProviderError::Invalid {
            resource: desired.address(),
            message: format!("`{p}` cannot change in place; the object must be replaced"),
        }),
        None => Ok(()),
    }
}

/// Turns an SDK error into a [`ProviderError`], keeping the code, status and message, and telling
/// an unimplemented operation apart (HTTP 500/501 with no error code in the body).
pub fn sdk_error<E>(
    service: &'static str,
    operation: &'static str,
    err: aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> ProviderError
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
{
    use aws_smithy_runtime_api::client::result::SdkError;
    let status = err.raw_response().map(|r| r.status().as_u16());
    match &err {
        SdkError::ServiceError(service_err) => {
            let e = service_err.err();
            let code = e.code().map(str::to_owned);
            // AWS names its errors; a 404 with no code is an endpoint that does not route the
            // operation (S3's body-less HEAD 404s get the code `NotFound` from the SDK). Read as
            // "not found", it would make a delete look already done.
            if code.is_none() && matches!(status, Some(404 | 500 | 501)) {
                return ProviderError::NotSupported {
                    service,
                    operation,
                    detail: format!(
                        "HTTP {} with no error code: the endpoint does not implement the \
                         operation, or failed before it could say why",
                        status.unwrap_or_default()
                    ),
                };
            }
            ProviderError::Api {
                service,
                operation,
                // An unmodelled error's own text is "unhandled error": its sources say why.
                message: e
                    .message()
                    .map(str::to_owned)
                    .unwrap_or_else(|| error_chain(e)),
                code,
                status,
            }
        }
        SdkError::ResponseError(_) if matches!(status, Some(404 | 500 | 501)) => {
            ProviderError::NotSupported {
                service,
                operation,
                detail: format!(
                    "HTTP {} with an unreadable body",
                    status.unwrap_or_default()
                ),
            }
        }
        SdkError::ResponseError(_) => ProviderError::Api {
            service,
            operation,
            code: None,
            status,
            message: error_chain(&err),
        },
        _ => ProviderError::Transport {
            service,
            operation,
            message: error_chain(&err),
        },
    }
}

/// [`sdk_error`] as a `map_err` adapter: `.map_err(api_err(SERVICE, "CreateTopic"))`.
pub fn api_err<E>(
    service: &'static str,
    operation: &'static str,
) -> impl FnOnce(
    aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> ProviderError
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
{
    move |e| sdk_error(service, operation, e)
}

/// An error and its sources, joined: the SDK's top-level messages alone ("dispatch failure")
/// say little.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// Creates, reads, updates and deletes the objects of some resource types.
#[async_trait::async_trait]
pub trait Provider: Send + Sync + fmt::Debug {
    /// The resource types (registry names) this provider handles.
    fn types(&self) -> &'static [&'static str];

    /// Top-level properties of `type_name` that the service cannot change in place: a change to
    /// one of them is planned as a replacement.
    fn replace_on_change(&self, type_name: &str) -> &'static [&'static str] {
        let _ = type_name;
        &[]
    }

    /// Top-level properties of `type_name` that steer the provider rather than describe the
    /// object (`revoke_rules_on_delete`, `deletion_window_in_days`, `skip_destroy`): the service
    /// does not keep them, so a read cannot return them and a comparison skips them.
    fn write_only(&self, type_name: &str) -> &'static [&'static str] {
        let _ = type_name;
        &[]
    }

    /// Puts the `properties` of a `type_name` document in canonical form — rule and route lists
    /// sorted, equivalent spellings unified (`"6"` and `"tcp"`) — so that a desired document and
    /// a read-back compare equal field by field. [`Provider::read`] returns canonical documents;
    /// callers apply this to desired ones before comparing.
    fn normalize(&self, type_name: &str, properties: &mut Value) {
        let _ = (type_name, properties);
    }

    /// Creates the object (tagged with [`OWNER_TAG`] where the type takes tags).
    async fn create(&self, desired: &Desired) -> Result<Handle, ProviderError>;

    /// Reads the object back; `None` when it no longer exists.
    async fn read(&self, type_name: &str, handle: &Handle) -> Result<Option<Live>, ProviderError>;

    /// Brings the object to `desired`. `changed` names the top-level properties that differ
    /// (and `tags` when the tags do).
    async fn update(
        &self,
        desired: &Desired,
        handle: &Handle,
        changed: &[String],
    ) -> Result<Handle, ProviderError>;

    /// Deletes the object; deleting one that is already gone succeeds.
    async fn delete(&self, type_name: &str, handle: &Handle) -> Result<(), ProviderError>;

    /// Looks for the object `desired` would create — by its unique name, or by [`OWNER_TAG`] —
    /// so an apply that crashed after a create but before recording it adopts the object
    /// instead of creating a second one.
    async fn find(&self, desired: &Desired) -> Result<Option<Handle>, ProviderError>;
}

/// The providers available to a run, by resource type.
#[derive(Debug, Default, Clone)]
pub struct ProviderSet {
    by_type: HashMap<&'static str, Arc<dyn Provider>>,
}

impl ProviderSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `provider` for each of its types.
    pub fn add(&mut self, provider: Arc<dyn Provider>) {
        for t in provider.types() {
            self.by_type.insert(t, Arc::clone(&provider));
        }
    }

    pub fn get(&self, type_name: &str) -> Option<&Arc<dyn Provider>> {
        self.by_type.get(type_name)
    }

    /// Every type some provider handles, sorted.
    pub fn types(&self) -> Vec<&'static str> {
        let mut t: Vec<_> = self.by_type.keys().copied().collect();
        t.sort_unstable();
        t
    }
}
