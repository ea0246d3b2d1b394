//! AWS Organizations: policies (service control policies, tag policies, …) and their
//! attachments to a root, an organisational unit or an account.
//!
//! An organisation must already exist: Tollgate does not create one (creating an organisation
//! turns the calling account into a management account, a decision no stack document should take
//! in passing). Without one, every call fails with a message saying so.
//!
//! `target_id` is an Organizations id as AWS writes it — a root (`r-…`), an organisational unit
//! (`ou-…`) or an account (twelve digits) — or a `${…}` reference resolving to one. Names are not
//! looked up: a target that does not exist is reported by AWS (`TargetNotFoundException`).
//! A policy's `${id}` reference resolves to its policy id (`p-…`), what attachments take.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_organizations::types::{PolicyType, Tag};

use super::doc::{
    Obj, build_error, changed, check_owner, invalid, json_doc, opt_str, owner_of, parse_policy,
    tag_keys_to_remove, without_owner,
};
use crate::provider::{Desired, Handle, Live, Provider, ProviderError, found, sdk_error};

const SERVICE: &str = "organizations";
const POLICY: &str = "aws_organizations_policy";
const ATTACHMENT: &str = "aws_organizations_policy_attachment";
const DEFAULT_POLICY_TYPE: &str = "SERVICE_CONTROL_POLICY";

/// The Organizations provider.
#[derive(Debug, Clone)]
pub struct OrganizationsProvider {
    client: aws_sdk_organizations::Client,
}

/// Adds context to the error AWS gives when the account belongs to no organisation.
fn explain(e: ProviderError) -> ProviderError {
    match e {
        ProviderError::Api {
            service,
            operation,
            code,
            status,
            message,
        } if code.as_deref() == Some("AWSOrganizationsNotInUseException") => ProviderError::Api {
            service,
            operation,
            code,
            status,
            message: format!(
                "{message} — this account is in no organisation; create it first \
                 (Tollgate does not create organisations)"
            ),
        },
        e => e,
    }
}

fn err<E>(
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
    move |e| explain(sdk_error(SERVICE, operation, e))
}

/// Gone, for a detach: the policy, the target, or the attachment itself
/// (`PolicyNotAttachedException`).
fn is_detached(e: &ProviderError) -> bool {
    e.is_not_found() || e.code() == Some("PolicyNotAttachedException")
}

fn org_tags(desired: &Desired) -> Result<Vec<Tag>, ProviderError> {
    desired
        .tags_with_owner()
        .into_iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| build_error(desired, e))
        })
        .collect()
}

fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect()
}

impl OrganizationsProvider {
    pub fn new(client: aws_sdk_organizations::Client) -> Self {
        Self { client }
    }

    fn policy_handle(id: &str, arn: Option<&str>) -> Handle {
        let mut h = Handle::new(id);
        if let Some(arn) = arn {
            h.attributes.insert("arn".into(), arn.to_owned());
        }
        h
    }

    async fn tags(&self, resource: &str) -> Result<Vec<Tag>, ProviderError> {
        self.client
            .list_tags_for_resource()
            .resource_id(resource)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(err("ListTagsForResource"))
    }

    fn policy_type(desired: &Desired) -> Result<PolicyType, ProviderError> {
        Ok(PolicyType::from(
            opt_str(desired, "type")?.unwrap_or(DEFAULT_POLICY_TYPE),
        ))
    }

    async fn create_policy(&self, desired: &Desired) -> Result<Handle, ProviderError> {
        let content = json_doc(desired, "content")?
            .ok_or_else(|| invalid(desired, "`content` is required"))?;
        let out = self
            .client
            .create_policy()
            .name(desired.str_prop("name")?)
            .description(opt_str(desired, "description")?.unwrap_or(""))
            .r#type(Self::policy_type(desired)?)
            .content(content)
            .set_tags(Some(org_tags(desired)?))
            .send()
            .await
            .map_err(err("CreatePolicy"))?;
        let summary = out
            .policy()
            .and_then(|p| p.policy_summary())
            .ok_or_else(|| invalid(desired, "CreatePolicy answered without a policy"))?;
        let id = summary
            .id()
            .ok_or_else(|| invalid(desired, "CreatePolicy answered without a policy id"))?;
        Ok(Self::policy_handle(id, summary.arn()))
    }

    async fn read_policy(&self, handle: &Handle) -> Result<Option<Live>, ProviderError> {
        let id = handle.provider_id.as_str();
        let Some(out) = found(
            self.client
                .describe_policy()
                .policy_id(id)
                .send()
                .await
                .map_err(err("DescribePolicy")),
        )?
        else {
            return Ok(None);
        };
        let Some(policy) = out.policy() else {
            return Ok(None);
        };
        let summary = policy.policy_summary();
        let tags = self.tags(id).await?;
        let props = Obj::new()
            .opt("name", summary.and_then(|s| s.name()))
            .opt(
                "description",
                summary
                    .and_then(|s| s.description())
                    .filter(|d| !d.is_empty()),
            )
            .opt("type", summary.and_then(|s| s.r#type()).map(|t| t.as_str()))
            .opt("content", policy.content().map(parse_policy))
            .build();
        Ok(Some(Live {
            handle: Self::policy_handle(id, summary.and_then(|s| s.arn())),
            properties: props,
            tags: without_owner(tag_map(&tags)),
        }))
    }

    async fn update_policy(
        &self,
        desired: &Desired,
        handle: &Handle,
        changed_props: &[String],
    ) -> Result<Handle, ProviderError> {
        let id = handle.provider_id.as_str();
        let mut req = self.client.update_policy().policy_id(id);
        let mut any = false;
        if changed(changed_props, "name") {
            req = req.name(desired.str_prop("name")?);
            any = true;
        }
        if changed(changed_props, "description") {
            req = req.description(opt_str(desired, "description")?.unwrap_or(""));
            any = true;
        }
        if changed(changed_props, "content") {
            req = req.content(
                json_doc(desired, "content")?
                    .ok_or_else(|| invalid(desired, "`content` is required"))?,
            );
            any = true;
        }
        if any {
            req.send().await.map_err(err("UpdatePolicy"))?;
        }
        if changed(changed_props, "tags") {
            let live = self.tags(id).await?;
            let remove = tag_keys_to_remove(&tag_map(&live), &desired.tags);
            if !remove.is_empty() {
                self.client
                    .untag_resource()
                    .resource_id(id)
                    .set_tag_keys(Some(remove))
                    .send()
                    .await
                    .map_err(err("UntagResource"))?;
            }
            self.client
                .tag_resource()
                .resource_id(id)
                .set_tags(Some(org_tags(desired)?))
                .send()
                .await
                .map_err(err("TagResource"))?;
        }
        Ok(Self::policy_handle(
            id,
            handle.attributes.get("arn").map(String::as_str),
        ))
    }

    async fn find_policy(&self, desired: &Desired) -> Result<Option<Handle>, ProviderError> {
        let name = desired.str_prop("name")?;
        let pages: Vec<_> = self
            .client
            .list_policies()
            .filter(Self::policy_type(desired)?)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(err("ListPolicies"))?;
        let policies: Vec<_> = pages.iter().flat_map(|p| p.policies()).collect();
        let Some(p) = policies
            .iter()
            .find(|p| p.name() == Some(name) && !p.aws_managed())
        else {
            return Ok(None);
        };
        let id = p
            .id()
            .ok_or_else(|| invalid(desired, "ListPolicies answered a policy without an id"))?;
        let tags = self.tags(id).await?;
        check_owner(
            desired,
            owner_of(tags.iter().map(|t| (t.key(), t.value()))),
            &format!("Organizations policy `{name}`"),
        )?;
        Ok(Some(Self::policy_handle(id, p.arn())))
    }

    // ---------------------------------------------------------------- attachments

    async fn targets(&self, policy_id: &str) -> Result<Option<Vec<String>>, ProviderError> {
        let pages: Result<Vec<_>, _> = self
            .client
            .list_targets_for_policy()
            .policy_id(policy_id)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(err("ListTargetsForPolicy"));
        Ok(found(pages)?.map(|pages| {
            pages
                .iter()
                .flat_map(|p| p.targets())
                .filter_map(|t| t.target_id().map(str::to_owned))
                .collect()
        }))
    }

    fn attachment_handle(policy_id: &str, target_id: &str) -> Handle {
        Handle::new(format!("{policy_id}|{target_id}"))
    }

    fn attachment_parts(handle: &Handle) -> Result<(&str, &str), ProviderError> {
        handle
            .provider_id
            .split_once('|')
            .ok_or_else(|| ProviderError::Invalid {
                resource: handle.provider_id.clone(),
                message: "not a policy attachment id (`policy_id|target_id`)".to_owned(),
            })
    }
}

#[async_trait::async_trait]
impl Provider for OrganizationsProvider {
    fn types(&self) -> &'static [&'static str] {
        &[POLICY, ATTACHMENT]
    }

    fn replace_on_change(&self, type_name: &str) -> &'static [&'static str] {
        match type_name {
            POLICY => &["type"],
            ATTACHMENT => &["policy_id", "target_id"],
            _ => &[],
        }
    }

    async fn create(&self, desired: &Desired) -> Result<Handle, ProviderError> {
        match desired.type_name.as_str() {
            POLICY => self.create_policy(desired).await,
            ATTACHMENT => {
                let policy = desired.str_prop("policy_id")?;
                let target = desired.str_prop("target_id")?;
                self.client
                    .attach_policy()
                    .policy_id(policy)
                    .target_id(target)
                    .send()
                    .await
                    .map_err(err("AttachPolicy"))?;
                Ok(Self::attachment_handle(policy, target))
            }
            other => Err(invalid(
                desired,
                format!("the Organizations provider has no type `{other}`"),
            )),
        }
    }

    async fn read(&self, type_name: &str, handle: &Handle) -> Result<Option<Live>, ProviderError> {
        match type_name {
            POLICY => self.read_policy(handle).await,
            _ => {
                let (policy, target) = Self::attachment_parts(handle)?;
                let attached = self
                    .targets(policy)
                    .await?
                    .is_some_and(|t| t.iter().any(|t| t == target));
                Ok(attached.then(|| Live {
                    handle: handle.clone(),
                    properties: Obj::new()
                        .set("policy_id", policy)
                        .set("target_id", target)
                        .build(),
                    tags: BTreeMap::new(),
                }))
            }
        }
    }

    async fn update(
        &self,
        desired: &Desired,
        handle: &Handle,
        changed_props: &[String],
    ) -> Result<Handle, ProviderError> {
        for fixed in self.replace_on_change(&desired.type_name) {
            if changed(changed_props, fixed) {
                return Err(invalid(
                    desired,
                    format!("`{fixed}` cannot change in place (plan a replacement)"),
                ));
            }
        }
        match desired.type_name.as_str() {
            POLICY => self.update_policy(desired, handle, changed_props).await,
            _ => Ok(handle.clone()),
        }
    }

    async fn delete(&self, type_name: &str, handle: &Handle) -> Result<(), ProviderError> {
        let result = match type_name {
            POLICY => self
                .client
                .delete_policy()
                .policy_id(&handle.provider_id)
                .send()
                .await
                .map(|_| ())
                .map_err(err("DeletePolicy")),
            _ => {
                let (policy, target) = Self::attachment_parts(handle)?;
                self.client
                    .detach_policy()
                    .policy_id(policy)
                    .target_id(target)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(err("DetachPolicy"))
            }
        };
        match result {
            Err(e) if is_detached(&e) => Ok(()),
            other => other,
        }
    }

    async fn find(&self, desired: &Desired) -> Result<Option<Handle>, ProviderError> {
        match desired.type_name.as_str() {
            POLICY => self.find_policy(desired).await,
            _ => {
                let policy = desired.str_prop("policy_id")?;
                let target = desired.str_prop("target_id")?;
                let attached = self
                    .targets(policy)
                    .await?
                    .is_some_and(|t| t.iter().any(|t| t == target));
                Ok(attached.then(|| Self::attachment_handle(policy, target)))
            }
        }
    }
}

/// Adds the Organizations provider to `set`.
pub fn register(set: &mut crate::ProviderSet, clients: &super::AwsClients) {
    set.add(Arc::new(OrganizationsProvider::new(
        clients.organizations.clone(),
    )));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_organisation_is_explained() {
        let e = explain(ProviderError::Api {
            service: SERVICE,
            operation: "CreatePolicy",
            code: Some("AWSOrganizationsNotInUseException".into()),
            status: Some(400),
            message: "Your account is not a member of an organization.".into(),
        });
        let text = e.to_string();
        assert!(
            text.starts_with("organizations CreatePolicy: AWSOrganizationsNotInUseException"),
            "{text}"
        );
        assert!(
            text.contains("in no organisation; create it first"),
            "{text}"
        );
        let other = ProviderError::Api {
            service: SERVICE,
            operation: "CreatePolicy",
            code: Some("DuplicatePolicyException".into()),
            status: Some(400),
            message: "exists".into(),
        };
        assert_eq!(explain(other.clone()), other);
    }
}
