//! IAM: roles (trust policy, inline policies, permissions boundary), customer managed policies
//! (versioned documents), users, managed policy attachments to roles and users, instance
//! profiles and OpenID Connect identity providers.
//!
//! What other resources receive for a `${id}` reference: a role's, policy's, user's or OIDC
//! provider's ARN; an instance profile's name (EC2 takes the name). Properties that name a role
//! or user (`role`, `user`) take either the name or the ARN, since references resolve to ARNs,
//! and read back in the form they were given.
//!
//! Policy documents are compared as JSON values: IAM returns trust and inline policies
//! percent-encoded, and some endpoints return policy versions as plain JSON; both are decoded.
//!
//! `force_detach_policies` (roles) and `force_destroy` (users) are instructions for deletion, not
//! settings IAM stores: they are recorded in the handle's attributes and never read back
//! (see [`Provider::write_only`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_iam::types::Tag;
use serde_json::Value;

use super::doc::{
    Obj, build_error, changed, check_owner, invalid, json_doc, name_from_arn, opt_bool, opt_i64,
    opt_str, opt_str_list, owner_of, parse_policy, policy_document, tag_keys_to_remove,
    without_owner,
};
use crate::provider::{Desired, Handle, Live, Provider, ProviderError, found, sdk_error};

const SERVICE: &str = "iam";

const ROLE: &str = "aws_iam_role";
const POLICY: &str = "aws_iam_policy";
const ROLE_ATTACHMENT: &str = "aws_iam_role_policy_attachment";
const USER: &str = "aws_iam_user";
const USER_ATTACHMENT: &str = "aws_iam_user_policy_attachment";
const INSTANCE_PROFILE: &str = "aws_iam_instance_profile";
const OIDC: &str = "aws_iam_openid_connect_provider";

/// IAM keeps at most five versions of a managed policy.
const MAX_POLICY_VERSIONS: usize = 5;

/// The IAM provider: every IAM type above.
#[derive(Debug, Clone)]
pub struct IamProvider {
    client: aws_sdk_iam::Client,
}

/// `Ok(())` for a not-found answer: deleting what is gone succeeds.
fn gone_ok<T>(r: Result<T, ProviderError>) -> Result<(), ProviderError> {
    found(r).map(|_| ())
}

fn iam_tags(desired: &Desired) -> Result<Vec<Tag>, ProviderError> {
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

fn owner_in(tags: &[Tag]) -> Option<&str> {
    owner_of(tags.iter().map(|t| (t.key(), t.value())))
}

/// An attachment's provider id: `principal|policy_arn` (IAM names never contain `|`).
fn attachment_id(principal: &str, policy_arn: &str) -> String {
    format!("{principal}|{policy_arn}")
}

fn split_attachment(handle: &Handle) -> Result<(&str, &str), ProviderError> {
    handle
        .provider_id
        .split_once('|')
        .ok_or_else(|| ProviderError::Invalid {
            resource: handle.provider_id.clone(),
            message: "not an attachment id (`principal|policy_arn`)".to_owned(),
        })
}

/// How a role or user was named in the document, echoed back when it still names the same
/// principal; otherwise the live principal's ARN (drift shows).
fn principal_as_given(handle: &Handle, key: &str, live_name: &str, live_arn: &str) -> String {
    match handle.attributes.get(key) {
        Some(given) if name_from_arn(given) == live_name => given.clone(),
        _ => live_arn.to_owned(),
    }
}

/// A URL as IAM stores an OIDC provider's (no scheme), and as documents write it (`https://`).
fn oidc_url_doc(url: &str) -> String {
    if url.contains("://") {
        url.to_owned()
    } else {
        format!("https://{url}")
    }
}

impl IamProvider {
    pub fn new(client: aws_sdk_iam::Client) -> Self {
        Self { client }
    }

    // ---------------------------------------------------------------- roles

    fn role_handle(role: &aws_sdk_iam::types::Role, force_detach: Option<bool>) -> Handle {
        let mut h = Handle::with_reference(role.role_name(), role.arn());
        h.attributes.insert("arn".into(), role.arn().to_owned());
        h.attributes.insert("id".into(), role.role_id().to_owned());
        if let Some(f) = force_detach {
            h.attributes
                .insert("force_detach_policies".into(), f.to_string());
        }
        h
    }

    async fn get_role(
        &self,
        name: &str,
    ) -> Result<Option<aws_sdk_iam::types::Role>, ProviderError> {
        let out = found(
            self.client
                .get_role()
                .role_name(name)
                .send()
                .await
                .map_err(|e| sdk_error(SERVICE, "GetRole", e)),
        )?;
        Ok(out.and_then(|o| o.role))
    }

    fn inline_policies(desired: &Desired) -> Result<Vec<(String, String)>, ProviderError> {
        let Some(list) = desired.prop("inline_policy").filter(|v| !v.is_null()) else {
            return Ok(Vec::new());
        };
        let list = list
            .as_array()
            .ok_or_else(|| invalid(desired, "`inline_policy` must be a list"))?;
        list.iter()
            .enumerate()
            .map(|(i, p)| {
                let name = p.get("name").and_then(Value::as_str).ok_or_else(|| {
                    invalid(
                        desired,
                        format!("`inline_policy[{i}].name` must be a string"),
                    )
                })?;
                let what = format!("inline_policy[{i}].policy");
                let doc = policy_document(desired, p.get("policy"), &what)?
                    .ok_or_else(|| invalid(desired, format!("`{what}` is required")))?;
                Ok((name.to_owned(), doc))
            })
            .collect()
    }

    async fn put_inline_policies(
        &self,
        desired: &Desired,
        role: &str,
    ) -> Result<(), ProviderError> {
        let wanted = Self::inline_policies(desired)?;
        for (name, doc) in &wanted {
            self.client
                .put_role_policy()
                .role_name(role)
                .policy_name(name)
                .policy_document(doc)
                .send()
                .await
                .map_err(|e| sdk_error(SERVICE, "PutRolePolicy", e))?;
        }
        for existing in self.role_policy_names(role).await? {
            if !wanted.iter().any(|(n, _)| *n == existing) {
                gone_ok(
                    self.client
                        .delete_role_policy()
                        .role_name(role)
                        .policy_name(existing)
                        .send()
                        .await
                        .map_err(|e| sdk_error(SERVICE, "DeleteRolePolicy", e)),
                )?;
            }
        }
        Ok(())
    }

    async fn role_policy_names(&self, role: &str) -> Result<Vec<String>, ProviderError> {
        self.client
            .list_role_policies()
            .role_name(role)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error(SERVICE, "ListRolePolicies", e))
    }

    async fn create_role(&self, desired: &Desired) -> Result<Handle, ProviderError> {
        let name = desired.str_prop("name")?;
        let trust = json_doc(desired, "assume_role_policy")?
            .ok_or_else(|| invalid(desired, "`assume_role_policy` is required"))?;
        let max = opt_i64(desired, "max_session_duration")?
            .map(|m| {
                i32::try_from(m)
                    .map_err(|_| invalid(desired, "`max_session_duration` is out of range"))
            })
            .transpose()?;
        let out = self
            .client
            .create_role()
            .role_name(name)
            .set_path(opt_str(desired, "path")?.map(str::to_owned))
            .assume_role_policy_document(trust)
            .set_description(opt_str(desired, "description")?.map(str::to_owned))
            .set_max_session_duration(max)
            .set_permissions_boundary(opt_str(desired, "permissions_boundary")?.map(str::to_owned))
            .set_tags(Some(iam_tags(desired)?))
            .send()
            .await
            .map_err(|e| sdk_error(SERVICE, "CreateRole", e))?;
        let role = out
            .role
            .ok_or_else(|| invalid(desired, "CreateRole answered without a role"))?;
        self.put_inline_policies(desired, name).await?;
        Ok(Self::role_handle(
            &role,
            opt_bool(desired, "force_detach_policies")?,
        ))
    }

    async fn read_role(&self, handle: &Handle) -> Result<Option<Live>, ProviderError> {
        let Some(role) = self.get_role(&handle.provider_id).await? else {
            return Ok(None);
        };
        let name = role.role_name();
        let mut inline = Vec::new();
        for policy in self.role_policy_names(name).await? {
            let Some(out) = found(
                self.client
                    .get_role_policy()
                    .role_name(name)
                    .policy_name(&policy)
                    .send()
                    .await
                    .map_err(|e| sdk_error(SERVICE, "GetRolePolicy", e)),
            )?
            else {
                continue;
            };
            inline.push(
                Obj::new()
                    .set("name", policy)
                    .set("policy", parse_policy(out.policy_document()))
                    .build(),
            );
        }
        let tags: Vec<Tag> = self
            .client
            .list_role_tags()
            .role_name(name)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error(SERVICE, "ListRoleTags", e))?;
        let props = Obj::new()
            .set("name", name)
            .set("path", role.path())
            .opt("description", role.description().filter(|d| !d.is_empty()))
            .opt(
                "assume_role_policy",
                role.assume_role_policy_document().map(parse_policy),
            )
            .opt("max_session_duration", role.max_session_duration())
            .opt(
                "permissions_boundary",
                role.permissions_boundary()
                    .and_then(|b| b.permissions_boundary_arn()),
            )
            .set("inline_policy", Value::Array(inline))
            .build();
        let force = handle
            .attributes
            .get("force_detach_policies")
            .map(|f| f == "true");
        Ok(Some(Live {
            handle: Self::role_handle(&role, force),
            properties: props,
            tags: without_owner(tag_map(&tags)),
        }))
    }

    async fn update_role(
        &self,
        desired: &Desired,
        handle: &Handle,
        changed_props: &[String],
    ) -> Result<Handle, ProviderError> {
        let name = handle.provider_id.as_str();
        if changed(changed_props, "assume_role_policy") {
            let trust = json_doc(desired, "assume_role_policy")?
                .ok_or_else(|| invalid(desired, "`assume_role_policy` is required"))?;
            self.client
                .update_assume_role_policy()
                .role_name(name)
                .policy_document(trust)
                .send()
                .await
                .map_err(|e| sdk_error(SERVICE, "UpdateAssumeRolePolicy", e))?;
        }
        if changed(changed_props, "description") || changed(changed_props, "max_session_duration") {
            let max = opt_i64(desired, "max_session_duration")?
                .map(|m| {
                    i32::try_from(m)
                        .map_err(|_| invalid(desired, "`max_session_duration` is out of range"))
                })
                .transpose()?;
            self.client
                .update_role()
                .role_name(name)
                .description(opt_str(desired, "description")?.unwrap_or(""))
                .set_max_session_duration(max.or(Some(3600)))
                .send()
                .await
                .map_err(|e| sdk_error(SERVICE, "UpdateRole", e))?;
        }
        if changed(changed_props, "permissions_boundary") {
            match opt_str(desired, "permissions_boundary")? {
                Some(b) => {
                    self.client
                        .put_role_permissions_boundary()
                        .role_name(name)
                        .permissions_boundary(b)
                        .send()
                        .await
                        .map_err(|e| sdk_error(SERVICE, "PutRolePermissionsBoundary", e))?;
                }
                None => gone_ok(
                    self.client
                        .delete_role_permissions_boundary()
                        .role_name(name)
                        .send()
                        .await
                        .map_err(|e| sdk_error(SERVICE, "DeleteRolePermissionsBoundary", e)),
                )?,
            }
        }
        if changed(changed_props, "inline_policy") {
            self.put_inline_policies(desired, name).await?;
        }
        if changed(changed_props, "tags") {
            let live: Vec<Tag> = self
                .client
                .list_role_tags()
                .role_name(name)
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(|e| sdk_error(SERVICE, "ListRoleTags", e))?;
            let remove = tag_keys_to_remove(&tag_map(&live), &desired.tags);
            if !remove.is_empty() {
                self.client
                    .untag_role()
                    .role_name(name)
                    .set_tag_keys(Some(remove))
                    .send()
                    .await
                    .map_err(|e| sdk_error(SERVICE, "UntagRole", e))?;
            }
            self.client
                .tag_role()
                .role_name(name)
                .set_tags(Some(iam_tags(desired)?))
                .send()
                .await
                .map_err(|e| sdk_error(SERVICE, "TagRole", e))?;
        }
        let role = self
            .get_role(name)
            .await?
            .ok_or_else(|| invalid(desired, format!("role `{name}` vanished during the update")))?;
        Ok(Self::role_handle(
            &role,
            opt_bool(desired, "force_detach_policies")?,
        ))
    }

    async fn delete_role(&self, handle: &Handle) -> Result<(), ProviderError> {
        let name = handle.provider_id.as_str();
        if self.get_role(name).await?.is_none() {
            return Ok(());
        }
        // Inline policies belong to the role document: they go with it.
        for policy in self.role_policy_names(name).await? {
            gone_ok(
                self.client
                    .delete_role_policy()
                    .role_name(name)
                    .policy_name(policy)
                    .send()
                    .await
                    .map_err(|e| sdk_error(SERVICE, "DeleteRolePolicy", e)),
            )?;
        }
        // Managed attachments are resources of their own; only `force_detach_policies` detaches
        // those still there (else IAM's DeleteConflict reports them).
        if handle
            .attributes
            .get("force_detach_policies")
            .is_some_and(|f| f == "true")
        {
            let attached: Vec<_> = self
                .client
                .list_attached_role_policies()
                .role_name(name)
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(|e| sdk_error(SERVICE, "ListAttachedRolePolicies", e))?;
            for p in attached {
                if let Some(arn) = p.policy_arn() {
                    gone_ok(
                        self.client
                            .detach_role_policy()
                            .role_name(name)
                            .policy_arn(arn)
                            .send()
                            .await
                            .map_err(|e| sdk_error(SERVICE, "DetachRolePolicy", e)),
                    )?;
                }
            }
        }
        gone_ok(
            self.client
                .delete_role()
                .role_name(name)
                .send()
                .await
                .map_err(|e| sdk_error(SERVICE, "DeleteRole", e)),
        )
    }

    async fn find_role(&self, desired: &Desired) -> Result<Option<Handle>, ProviderError> {
        let Some(role) = self.get_role(desired.str_prop("name")?).await? else {
            return Ok(None);
        };
        let tags: Vec<Tag> = self
            .client
            .list_role_tags()
            .role_name(role.role_name())
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error(SERVICE, "ListRoleTags", e))?;
        check_owner(
            desired,
            owner_in(&tags),
            &format!("role `{}`", role.role_name()),
        )?;
        Ok(Some(Self::role_handle(
            &role,
            opt_bool(desired, "force_detach_policies")?,
        )))
    }

    // ---------------------------------------------------------------- managed policies

    fn policy_handle(arn: &str, id: Option<&str>) -> Handle {
        let mut h = Handle::with_reference(arn, arn);
        h.attributes.insert("arn".into(), arn.to_owned());
        if let Some(id) = id {
            h.attributes.insert("id".into(), id.to_owned());
        }
        h
    }

    async fn create_policy(&self, desired: &Desired) -> Result<Handle, ProviderError> {
        let doc =
            json_doc(desired, "policy")?.ok_or_else(|| invalid(desired, "`policy` is required"))?;
        let out = self
            .client
            .create_policy()
            .policy_name(desired.str_prop("name")?)
            .set_path(opt_str(desired, "path")?.map(str::to_owned))
            .set_description(opt_str(desired, "description")?.map(str::to_owned))
            .policy_document(doc)
            .set_tags(Some(iam_tags(desired)?))
            .send()
            .await
            .map_err(|e| sdk_error(SERVICE, "CreatePolicy", e))?;
        let policy = out
            .policy
            .ok_or_else(|| invalid(desired, "CreatePolicy answered without a policy"))?;
        let arn = policy
            .arn()
            .ok_or_else(|| invalid(desired, "CreatePolicy answered without an ARN"))?;
        Ok(Self::policy_handle(arn, policy.policy_id()))
    }

    async fn read_policy(&self, handle: &Handle) -> Result<Option<Live>, ProviderError> {
        let arn = handle.provider_id.as_str();
        let Some(out) = found(
            self.client
                .get_policy()
                .policy_arn(arn)
                .send()
                .await
                .map_err(|e| sdk_error(SERVICE, "GetPolicy", e)),
        )?
        else {
            return Ok(None);
        };
        let Some(policy) = out.policy else {
            return Ok(None);
        };
        let mut document = None;
        if let Some(version) = policy.default_version_id() {
            let v = self
                .client
                .get_policy_version()
                .policy_arn(arn)
                .version_id(version)
                .send()
                .await
                .map_err(|e| sdk_error(SERVICE, "GetPolicyVersion", e))?;
            document = v
                .policy_version()
                .and_then(|v| v.document())
                .map(parse_policy);
        }
        let tags: Vec<Tag> = self
            .client
            .list_policy_tags()
            .policy_arn(arn)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error(SERVICE, "ListPolicyTags", e))?;
        let props = Obj::new()
            .opt("name", policy.policy_name())
            .opt("path", policy.path())
            .opt(
                "description",
                policy.description().filter(|d| !d.is_empty()),
            )
            .opt("policy", document)
            .build();
        Ok(Some(Live {
            handle: Self::policy_handle(arn, policy.policy_id()),
            properties: props,
            tags: without_owner(tag_map(&tags)),
        }))
    }

    async fn policy_versions(
        &self,
        arn: &str,
    ) -> Result<Vec<aws_sdk_iam::types::PolicyVersion>, ProviderError> {
        let mut versions: Vec<_> = self
            .client
            .list_policy_versions()
            .policy_arn(arn)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error(SERVICE, "ListPolicyVersions", e))?;
        versions.sort_by_key(|v| v.create_date().map(|d| (d.secs(), d.subsec_nanos())));
        Ok(versions)
    }

    async fn delete_policy_version(&self, arn: &str, version: &str) -> Result<(), ProviderError> {
        gone_ok(
            self.client
                .delete_policy_version()
                .policy_arn(arn)
                .version_id(version)
                .send()
                .await
                .map_err(|e| sdk_error(SERVICE, "DeletePolicyVersion", e)),
        )
    }

    async fn update_policy(
        &self,
        desired: &Desired,
        handle: &Handle,
        changed_props: &[String],
    ) -> Result<Handle, ProviderError> {
        let arn = handle.provider_id.as_str();
        if changed(changed_props, "policy") {
            let doc = json_doc(desired, "policy")?
                .ok_or_else(|| invalid(desired, "`policy` is required"))?;
            // Make room: IAM refuses a sixth version. The oldest non-default one goes.
            let versions = self.policy_versions(arn).await?;
            if versions.len() >= MAX_POLICY_VERSIONS
                && let Some(oldest) = versions
                    .iter()
                    .find(|v| !v.is_default_version())
                    .and_then(|v| v.version_id())
            {
                self.delete_policy_version(arn, oldest).await?;
            }
            self.client
                .create_policy_version()
                .policy_arn(arn)
                .policy_document(doc)
                .set_as_default(true)
                .send()
                .await
                .map_err(|e| sdk_error(SERVICE, "CreatePolicyVersion", e))?;
            // The document is the only truth: earlier versions are not kept for rollback.
            for v in self.policy_versions(arn).await? {
                if !v.is_default_version()
                    && let Some(id) = v.version_id()
                {
                    self.delete_policy_version(arn, id).await?;
                }
            }
        }
        if changed(changed_props, "tags") {
            let live: Vec<Tag> = self
                .client
                .list_policy_tags()
                .policy_arn(arn)
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(|e| sdk_error(SERVICE, "ListPolicyTags", e))?;
            let remove = tag_keys_to_remove(&tag_map(&live), &desired.tags);
            if !remove.is_empty() {
                self.client
                    .untag_policy()
                    .policy_arn(arn)
                    .set_tag_keys(Some(remove))
                    .send()
                    .await
                    .map_err(|e| sdk_error(SERVICE, "UntagPolicy", e))?;
            }
            self.client
                .tag_policy()
                .policy_arn(arn)
                .set_tags(Some(iam_tags(desired)?))
                .send()
                .await
                .map_err(|e| sdk_error(SERVICE, "TagPolicy", e))?;
        }
        Ok(Self::policy_handle(
            arn,
            handle.attributes.get("id").map(String::as_str),
        ))
    }

    async fn delete_policy(&self, handle: &Handle) -> Result<(), ProviderError> {
        let arn = handle.provider_id.as_str();
        let versions = match found(self.policy_versions(arn).await)? {
            Some(v) => v,
            None => return Ok(()),
        };
        for v in versions {
            if !v.is_default_version()
                && let Some(id) = v.version_id()
            {
                self.delete_policy_version(arn, id).await?;
            }
        }
        gone_ok(
            self.client
                .delete_policy()
                .policy_arn(arn)
                .send()
                .await
                .map_err(|e| sdk_error(SERVICE, "DeletePolicy", e)),
        )
    }

    async fn find_policy(&self, desired: &Desired) -> Result<Option<Handle>, ProviderError> {
        let name = desired.str_prop("name")?;
        let path = opt_str(desired, "path")?.unwrap_or("/");
        let policies: Vec<_> = self
            .client
            .list_policies()
            .scope(aws_sdk_iam::types::PolicyScopeType::Local)
            .path_prefix(path)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error(SERVICE, "ListPolicies", e))?;
        let Some(p) = policies
            .iter()
            .find(|p| p.policy_name() == Some(name) && p.path().unwrap_or("/") == path)
        else {
            return Ok(None);
        };
        let arn = p
            .arn()
            .ok_or_else(|| invalid(desired, "ListPolicies answered a policy without an ARN"))?;
        let tags: Vec<Tag> = self
            .client
            .list_policy_tags()
            .policy_arn(arn)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error(SERVICE, "ListPolicyTags", e))?;
        check_owner(desired, owner_in(&tags), &format!("policy `{name}`"))?;
        Ok(Some(Self::policy_handle(arn, p.policy_id())))
    }

    // ---------------------------------------------------------------- attachments

    /// The principal (role or user name) and policy ARN an attachment document names.
    fn attachment_parts<'a>(
        desired: &'a Desired,
        principal_prop: &str,
    ) -> Result<(&'a str, &'a str, &'a str), ProviderError> {
        let given = desired.str_prop(principal_prop)?;
        Ok((given, name_from_arn(given), desired.str_prop("policy_arn")?))
    }

    fn attachment_handle(principal_prop: &str, given: &str, name: &str, arn: &str) -> Handle {
        let mut h = Handle::new(attachment_id(name, arn));
        h.attributes
            .insert(principal_prop.to_owned(), given.to_owned());
        h
    }

    async fn attached(
        &self,
        is_role: bool,
        principal: &str,
    ) -> Result<Option<Vec<String>>, ProviderError> {
        let list = if is_role {
            self.client
                .list_attached_role_policies()
                .role_name(principal)
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(|e| sdk_error(SERVICE, "ListAttachedRolePolicies", e))
        } else {
            self.client
                .list_attached_user_policies()
                .user_name(principal)
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(|e| sdk_error(SERVICE, "ListAttachedUserPolicies", e))
        };
        Ok(found(list)?.map(|l| {
            l.into_iter()
                .filter_map(|p| p.policy_arn().map(str::to_owned))
                .collect()
        }))
    }

    async fn attach(&self, desired: &Desired) -> Result<Handle, ProviderError> {
        let is_role = desired.type_name == ROLE_ATTACHMENT;
        let prop = if is_role { "role" } else { "user" };
        let (given, name, arn) = Self::attachment_parts(desired, prop)?;
        if is_role {
            self.client
                .attach_role_policy()
                .role_name(name)
                .policy_arn(arn)
                .send()
                .await
                .map_err(|e| sdk_error(SERVICE, "AttachRolePolicy", e))?;
        } else {
            self.client
                .attach_user_policy()
                .user_name(name)
                .policy_arn(arn)
                .send()
                .await
                .map_err(|e| sdk_error(SERVICE, "AttachUserPolicy", e))?;
        }
        Ok(Self::attachment_handle(prop, given, name, arn))
    }

    async fn read_attachment(
        &self,
        type_name: &str,
        handle: &Handle,
    ) -> Result<Option<Live>, ProviderError> {
        let is_role = type_name == ROLE_ATTACHMENT;
        let prop = if is_role { "role" } else { "user" };
        let (name, arn) = split_attachment(handle)?;
        let Some(attached) = self.attached(is_role, name).await? else {
            return Ok(None);
        };
        if !attached.iter().any(|a| a == arn) {
            return Ok(None);
        }
        let given = handle
            .attributes
            .get(prop)
            .cloned()
            .unwrap_or_else(|| name.to_owned());
        Ok(Some(Live {
            handle: handle.clone(),
            properties: Obj::new().set(prop, given).set("policy_arn", arn).build(),
            tags: BTreeMap::new(),
        }))
    }

    async fn detach(&self, type_name: &str, handle: &Handle) -> Result<(), ProviderError> {
        let (name, arn) = split_attachment(handle)?;
        if type_name == ROLE_ATTACHMENT {
            gone_ok(
                self.client
                    .detach_role_policy()
                    .role_name(name)
                    .policy_arn(arn)
                    .send()
                    .await
                    .map_err(|e| sdk_error(SERVICE, "DetachRolePolicy", e)),
            )
        } else {
            gone_ok(
                self.client
                    .detach_user_policy()
                    .user_name(name)
                    .policy_arn(arn)
                    .send()
                    .await
                    .map_err(|e| sdk_error(SERVICE, "DetachUserPolicy", e)),
            )
        }
    }

    async fn find_attachment(&self, desired: &Desired) -> Result<Option<Handle>, ProviderError> {
        let is_role = desired.type_name == ROLE_ATTACHMENT;
        let prop = if is_role { "role" } else { "user" };
        let (given, name, arn) = Self::attachment_parts(desired, prop)?;
        let attached = self.attached(is_role, name).await?.unwrap_or_default();
        Ok(attached
            .iter()
            .any(|a| a == arn)
            .then(|| Self::attachment_handle(prop, given, name, arn)))
    }

    // ---------------------------------------------------------------- users

    fn user_handle(user: &aws_sdk_iam::types::User, force_destroy: Option<bool>) -> Handle {
        let mut h = Handle::with_reference(user.user_name(), user.arn());
        h.attributes.insert("arn".into(), user.arn().to_owned());
        h.attributes.insert("id".into(), user.user_id().to_owned());
        if let Some(f) = force_destroy {
            h.attributes.insert("force_destroy".into(), f.to_string());
        }
        h
    }

    async fn get_user(
        &self,
        name: &str,
    ) -> Result<Option<aws_sdk_iam::types::User>, ProviderError> {
        let out = found(
            self.client
                .get_user()
                .user_name(name)
                .send()
                .await
                .map_err(|e| sdk_error(SERVICE, "GetUser", e)),
        )?;
        Ok(out.and_then(|o| o.user))
    }

    async fn user_tags(&self, name: &str) -> Result<Vec<Tag>, ProviderError> {
        self.client
            .list_user_tags()
            .user_name(name)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error(SERVICE, "ListUserTags", e))
    }

    async fn create_user(&self, desired: &Desired) -> Result<Handle, ProviderError> {
        let out = self
            .client
            .create_user()
            .user_name(desired.str_prop("name")?)
            .set_path(opt_str(desired, "path")?.map(str::to_owned))
            .set_permissions_boundary(opt_str(desired, "permissions_boundary")?.map(str::to_owned))
            .set_tags(Some(iam_tags(desired)?))
            .send()
            .await
            .map_err(|e| sdk_error(SERVICE, "CreateUser", e))?;
        let user = out
            .user
            .ok_or_else(|| invalid(desired, "CreateUser answered without a user"))?;
        Ok(Self::user_handle(
            &user,
            opt_bool(desired, "force_destroy")?,
        ))
    }

    async fn read_user(&self, handle: &Handle) -> Result<Option<Live>, ProviderError> {
        let Some(user) = self.get_user(&handle.provider_id).await? else {
            return Ok(None);
        };
        let tags = self.user_tags(user.user_name()).await?;
        let props = Obj::new()
            .set("name", user.user_name())
            .set("path", user.path())
            .opt(
                "permissions_boundary",
                user.permissions_boundary()
                    .and_then(|b| b.permissions_boundary_arn()),
            )
            .build();
        let force = handle.attributes.get("force_destroy").map(|f| f == "true");
        Ok(Some(Live {
            handle: Self::user_handle(&user, force),
            properties: props,
            tags: without_owner(tag_map(&tags)),
        }))
    }

    async fn update_user(
        &self,
        desired: &Desired,
        handle: &Handle,
        changed_props: &[String],
    ) -> Result<Handle, ProviderError> {
        let name = handle.provider_id.as_str();
        if changed(changed_props, "path") {
            self.client
                .update_user()
                .user_name(name)
                .new_path(opt_str(desired, "path")?.unwrap_or("/"))
                .send()
                .await
                .map_err(|e| sdk_error(SERVICE, "UpdateUser", e))?;
        }
        if changed(changed_props, "permissions_boundary") {
            match opt_str(desired, "permissions_boundary")? {
                Some(b) => {
                    self.client
                        .put_user_permissions_boundary()
                        .user_name(name)
                        .permissions_boundary(b)
                        .send()
                        .await
                        .map_err(|e| sdk_error(SERVICE, "PutUserPermissionsBoundary", e))?;
                }
                None => gone_ok(
                    self.client
                        .delete_user_permissions_boundary()
                        .user_name(name)
                        .send()
                        .await
                        .map_err(|e| sdk_error(SERVICE, "DeleteUserPermissionsBoundary", e)),
                )?,
            }
        }
        if changed(changed_props, "tags") {
            let live = self.user_tags(name).await?;
            let remove = tag_keys_to_remove(&tag_map(&live), &desired.tags);
            if !remove.is_empty() {
                self.client
                    .untag_user()
                    .user_name(name)
                    .set_tag_keys(Some(remove))
                    .send()
                    .await
                    .map_err(|e| sdk_error(SERVICE, "UntagUser", e))?;
            }
            self.client
                .tag_user()
                .user_name(name)
                .set_tags(Some(iam_tags(desired)?))
                .send()
                .await
                .map_err(|e| sdk_error(SERVICE, "TagUser", e))?;
        }
        let user = self
            .get_user(name)
            .await?
            .ok_or_else(|| invalid(desired, format!("user `{name}` vanished during the update")))?;
        Ok(Self::user_handle(
            &user,
            opt_bool(desired, "force_destroy")?,
        ))
    }

    async fn delete_user(&self, handle: &Handle) -> Result<(), ProviderError> {
        let name = handle.provider_id.as_str();
        if self.get_user(name).await?.is_none() {
            return Ok(());
        }
        if handle
            .attributes
            .get("force_destroy")
            .is_some_and(|f| f == "true")
        {
            self.strip_user(name).await?;
        }
        gone_ok(
            self.client
                .delete_user()
                .user_name(name)
                .send()
                .await
                .map_err(|e| sdk_error(SERVICE, "DeleteUser", e)),
        )
    }

    /// `force_destroy`: removes what IAM refuses to delete a user with — access keys, a login
    /// profile, inline and attached policies, group memberships.
    async fn strip_user(&self, name: &str) -> Result<(), ProviderError> {
        let c = &self.client;
        let keys: Vec<_> = c
            .list_access_keys()
            .user_name(name)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error(SERVICE, "ListAccessKeys", e))?;
        for k in keys {
            if let Some(id) = k.access_key_id() {
                gone_ok(
                    c.delete_access_key()
                        .user_name(name)
                        .access_key_id(id)
                        .send()
                        .await
                        .map_err(|e| sdk_error(SERVICE, "DeleteAccessKey", e)),
                )?;
            }
        }
        gone_ok(
            c.delete_login_profile()
                .user_name(name)
                .send()
                .await
                .map_err(|e| sdk_error(SERVICE, "DeleteLoginProfile", e)),
        )?;
        let inline: Vec<String> = c
            .list_user_policies()
            .user_name(name)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error(SERVICE, "ListUserPolicies", e))?;
        for p in inline {
            gone_ok(
                c.delete_user_policy()
                    .user_name(name)
                    .policy_name(p)
                    .send()
                    .await
                    .map_err(|e| sdk_error(SERVICE, "DeleteUserPolicy", e)),
            )?;
        }
        for arn in self.attached(false, name).await?.unwrap_or_default() {
            gone_ok(
                c.detach_user_policy()
                    .user_name(name)
                    .policy_arn(arn)
                    .send()
                    .await
                    .map_err(|e| sdk_error(SERVICE, "DetachUserPolicy", e)),
            )?;
        }
        let groups: Vec<_> = c
            .list_groups_for_user()
            .user_name(name)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error(SERVICE, "ListGroupsForUser", e))?;
        for g in groups {
            gone_ok(
                c.remove_user_from_group()
                    .user_name(name)
                    .group_name(g.group_name())
                    .send()
                    .await
                    .map_err(|e| sdk_error(SERVICE, "RemoveUserFromGroup", e)),
            )?;
        }
        Ok(())
    }

    async fn find_user(&self, desired: &Desired) -> Result<Option<Handle>, ProviderError> {
        let Some(user) = self.get_user(desired.str_prop("name")?).await? else {
            return Ok(None);
        };
        let tags = self.user_tags(user.user_name()).await?;
        check_owner(
            desired,
            owner_in(&tags),
            &format!("user `{}`", user.user_name()),
        )?;
        Ok(Some(Self::user_handle(
            &user,
            opt_bool(desired, "force_destroy")?,
        )))
    }

    // ---------------------------------------------------------------- instance profiles

    fn profile_handle(p: &aws_sdk_iam::types::InstanceProfile, role_given: Option<&str>) -> Handle {
        let mut h = Handle::new(p.instance_profile_name());
        h.attributes.insert("arn".into(), p.arn().to_owned());
        h.attributes
            .insert("id".into(), p.instance_profile_id().to_owned());
        if let Some(r) = role_given {
            h.attributes.insert("role".into(), r.to_owned());
        }
        h
    }

    async fn get_profile(
        &self,
        name: &str,
    ) -> Result<Option<aws_sdk_iam::types::InstanceProfile>, ProviderError> {
        let out = found(
            self.client
                .get_instance_profile()
                .instance_profile_name(name)
                .send()
                .await
                .map_err(|e| sdk_error(SERVICE, "GetInstanceProfile", e)),
        )?;
        Ok(out.and_then(|o| o.instance_profile))
    }

    async fn create_profile(&self, desired: &Desired) -> Result<Handle, ProviderError> {
        let name = desired.str_prop("name")?;
        let role = desired.str_prop("role")?;
        let out = self
            .client
            .create_instance_profile()
            .instance_profile_name(name)
            .set_path(opt_str(desired, "path")?.map(str::to_owned))
            .set_tags(Some(iam_tags(desired)?))
            .send()
            .await
            .map_err(|e| sdk_error(SERVICE, "CreateInstanceProfile", e))?;
        let profile = out
            .instance_profile
            .ok_or_else(|| invalid(desired, "CreateInstanceProfile answered without a profile"))?;
        self.client
            .add_role_to_instance_profile()
            .instance_profile_name(name)
            .role_name(name_from_arn(role))
            .send()
            .await
            .map_err(|e| sdk_error(SERVICE, "AddRoleToInstanceProfile", e))?;
        Ok(Self::profile_handle(&profile, Some(role)))
    }

    async fn read_profile(&self, handle: &Handle) -> Result<Option<Live>, ProviderError> {
        let Some(p) = self.get_profile(&handle.provider_id).await? else {
            return Ok(None);
        };
        // GetInstanceProfile carries the tags: no ListInstanceProfileTags call needed.
        let tags = p.tags().to_vec();
        let role = p
            .roles()
            .first()
            .map(|r| principal_as_given(handle, "role", r.role_name(), r.arn()));
        let props = Obj::new()
            .set("name", p.instance_profile_name())
            .set("path", p.path())
            .opt("role", role)
            .build();
        Ok(Some(Live {
            handle: Self::profile_handle(&p, handle.attributes.get("role").map(String::as_str)),
            properties: props,
            tags: without_owner(tag_map(&tags)),
        }))
    }

    async fn update_profile(
        &self,
        desired: &Desired,
        handle: &Handle,
        changed_props: &[String],
    ) -> Result<Handle, ProviderError> {
        let name = handle.provider_id.as_str();
        let p = self
            .get_profile(name)
            .await?
            .ok_or_else(|| invalid(desired, format!("instance profile `{name}` is gone")))?;
        let role = desired.str_prop("role")?;
        if changed(changed_props, "role") {
            for r in p.roles() {
                gone_ok(
                    self.client
                        .remove_role_from_instance_profile()
                        .instance_profile_name(name)
                        .role_name(r.role_name())
                        .send()
                        .await
                        .map_err(|e| sdk_error(SERVICE, "RemoveRoleFromInstanceProfile", e)),
                )?;
            }
            self.client
                .add_role_to_instance_profile()
                .instance_profile_name(name)
                .role_name(name_from_arn(role))
                .send()
                .await
                .map_err(|e| sdk_error(SERVICE, "AddRoleToInstanceProfile", e))?;
        }
        if changed(changed_props, "tags") {
            let remove = tag_keys_to_remove(&tag_map(p.tags()), &desired.tags);
            if !remove.is_empty() {
                self.client
                    .untag_instance_profile()
                    .instance_profile_name(name)
                    .set_tag_keys(Some(remove))
                    .send()
                    .await
                    .map_err(|e| sdk_error(SERVICE, "UntagInstanceProfile", e))?;
            }
            self.client
                .tag_instance_profile()
                .instance_profile_name(name)
                .set_tags(Some(iam_tags(desired)?))
                .send()
                .await
                .map_err(|e| sdk_error(SERVICE, "TagInstanceProfile", e))?;
        }
        Ok(Self::profile_handle(&p, Some(role)))
    }

    async fn delete_profile(&self, handle: &Handle) -> Result<(), ProviderError> {
        let name = handle.provider_id.as_str();
        let Some(p) = self.get_profile(name).await? else {
            return Ok(());
        };
        for r in p.roles() {
            gone_ok(
                self.client
                    .remove_role_from_instance_profile()
                    .instance_profile_name(name)
                    .role_name(r.role_name())
                    .send()
                    .await
                    .map_err(|e| sdk_error(SERVICE, "RemoveRoleFromInstanceProfile", e)),
            )?;
        }
        gone_ok(
            self.client
                .delete_instance_profile()
                .instance_profile_name(name)
                .send()
                .await
                .map_err(|e| sdk_error(SERVICE, "DeleteInstanceProfile", e)),
        )
    }

    async fn find_profile(&self, desired: &Desired) -> Result<Option<Handle>, ProviderError> {
        let Some(p) = self.get_profile(desired.str_prop("name")?).await? else {
            return Ok(None);
        };
        check_owner(
            desired,
            owner_in(p.tags()),
            &format!("instance profile `{}`", p.instance_profile_name()),
        )?;
        Ok(Some(Self::profile_handle(&p, opt_str(desired, "role")?)))
    }

    // ---------------------------------------------------------------- OIDC providers

    fn oidc_handle(arn: &str) -> Handle {
        let mut h = Handle::with_reference(arn, arn);
        h.attributes.insert("arn".into(), arn.to_owned());
        h
    }

    async fn create_oidc(&self, desired: &Desired) -> Result<Handle, ProviderError> {
        let out = self
            .client
            .create_open_id_connect_provider()
            .url(desired.str_prop("url")?)
            .set_client_id_list(opt_str_list(desired, "client_id_list")?)
            .set_thumbprint_list(opt_str_list(desired, "thumbprint_list")?)
            .set_tags(Some(iam_tags(desired)?))
            .send()
            .await
            .map_err(|e| sdk_error(SERVICE, "CreateOpenIDConnectProvider", e))?;
        let arn = out.open_id_connect_provider_arn().ok_or_else(|| {
            invalid(
                desired,
                "CreateOpenIDConnectProvider answered without an ARN",
            )
        })?;
        Ok(Self::oidc_handle(arn))
    }

    async fn read_oidc(&self, handle: &Handle) -> Result<Option<Live>, ProviderError> {
        let arn = handle.provider_id.as_str();
        let Some(out) = found(
            self.client
                .get_open_id_connect_provider()
                .open_id_connect_provider_arn(arn)
                .send()
                .await
                .map_err(|e| sdk_error(SERVICE, "GetOpenIDConnectProvider", e)),
        )?
        else {
            return Ok(None);
        };
        let props = Obj::new()
            .opt("url", out.url().map(oidc_url_doc))
            .set("client_id_list", out.client_id_list().to_vec())
            .set("thumbprint_list", out.thumbprint_list().to_vec())
            .build();
        Ok(Some(Live {
            handle: Self::oidc_handle(arn),
            properties: props,
            tags: without_owner(tag_map(out.tags())),
        }))
    }

    async fn update_oidc(
        &self,
        desired: &Desired,
        handle: &Handle,
        changed_props: &[String],
    ) -> Result<Handle, ProviderError> {
        let arn = handle.provider_id.as_str();
        let live = self
            .client
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .send()
            .await
            .map_err(|e| sdk_error(SERVICE, "GetOpenIDConnectProvider", e))?;
        if changed(changed_props, "client_id_list") {
            let wanted = opt_str_list(desired, "client_id_list")?.unwrap_or_default();
            for id in wanted.iter().filter(|w| !live.client_id_list().contains(w)) {
                self.client
                    .add_client_id_to_open_id_connect_provider()
                    .open_id_connect_provider_arn(arn)
                    .client_id(id)
                    .send()
                    .await
                    .map_err(|e| sdk_error(SERVICE, "AddClientIDToOpenIDConnectProvider", e))?;
            }
            for id in live.client_id_list().iter().filter(|l| !wanted.contains(l)) {
                self.client
                    .remove_client_id_from_open_id_connect_provider()
                    .open_id_connect_provider_arn(arn)
                    .client_id(id)
                    .send()
                    .await
                    .map_err(|e| {
                        sdk_error(SERVICE, "RemoveClientIDFromOpenIDConnectProvider", e)
                    })?;
            }
        }
        if changed(changed_props, "thumbprint_list") {
            self.client
                .update_open_id_connect_provider_thumbprint()
                .open_id_connect_provider_arn(arn)
                .set_thumbprint_list(Some(
                    opt_str_list(desired, "thumbprint_list")?.unwrap_or_default(),
                ))
                .send()
                .await
                .map_err(|e| sdk_error(SERVICE, "UpdateOpenIDConnectProviderThumbprint", e))?;
        }
        if changed(changed_props, "tags") {
            let remove = tag_keys_to_remove(&tag_map(live.tags()), &desired.tags);
            if !remove.is_empty() {
                self.client
                    .untag_open_id_connect_provider()
                    .open_id_connect_provider_arn(arn)
                    .set_tag_keys(Some(remove))
                    .send()
                    .await
                    .map_err(|e| sdk_error(SERVICE, "UntagOpenIDConnectProvider", e))?;
            }
            self.client
                .tag_open_id_connect_provider()
                .open_id_connect_provider_arn(arn)
                .set_tags(Some(iam_tags(desired)?))
                .send()
                .await
                .map_err(|e| sdk_error(SERVICE, "TagOpenIDConnectProvider", e))?;
        }
        Ok(Self::oidc_handle(arn))
    }

    async fn find_oidc(&self, desired: &Desired) -> Result<Option<Handle>, ProviderError> {
        let url = desired.str_prop("url")?;
        let host_path = url.split_once("://").map_or(url, |(_, rest)| rest);
        let out = self
            .client
            .list_open_id_connect_providers()
            .send()
            .await
            .map_err(|e| sdk_error(SERVICE, "ListOpenIDConnectProviders", e))?;
        // The ARN ends with `oidc-provider/<host and path of the URL>`, unique per account.
        Ok(out
            .open_id_connect_provider_list()
            .iter()
            .filter_map(|p| p.arn())
            .find(|arn| arn.ends_with(&format!("oidc-provider/{host_path}")))
            .map(Self::oidc_handle))
    }
}

#[async_trait::async_trait]
impl Provider for IamProvider {
    fn types(&self) -> &'static [&'static str] {
        &[
            ROLE,
            POLICY,
            ROLE_ATTACHMENT,
            USER,
            USER_ATTACHMENT,
            INSTANCE_PROFILE,
            OIDC,
        ]
    }

    fn replace_on_change(&self, type_name: &str) -> &'static [&'static str] {
        match type_name {
            ROLE => &["name", "path"],
            // A managed policy's name, path and description are fixed at creation.
            POLICY => &["name", "path", "description"],
            ROLE_ATTACHMENT => &["role", "policy_arn"],
            USER_ATTACHMENT => &["user", "policy_arn"],
            USER => &["name"],
            INSTANCE_PROFILE => &["name", "path"],
            OIDC => &["url"],
            _ => &[],
        }
    }

    fn write_only(&self, type_name: &str) -> &'static [&'static str] {
        match type_name {
            ROLE => &["force_detach_policies"],
            USER => &["force_destroy"],
            _ => &[],
        }
    }

    async fn create(&self, desired: &Desired) -> Result<Handle, ProviderError> {
        match desired.type_name.as_str() {
            ROLE => self.create_role(desired).await,
            POLICY => self.create_policy(desired).await,
            ROLE_ATTACHMENT | USER_ATTACHMENT => self.attach(desired).await,
            USER => self.create_user(desired).await,
            INSTANCE_PROFILE => self.create_profile(desired).await,
            OIDC => self.create_oidc(desired).await,
            other => Err(invalid(
                desired,
                format!("the IAM provider has no type `{other}`"),
            )),
        }
    }

    async fn read(&self, type_name: &str, handle: &Handle) -> Result<Option<Live>, ProviderError> {
        match type_name {
            ROLE => self.read_role(handle).await,
            POLICY => self.read_policy(handle).await,
            ROLE_ATTACHMENT | USER_ATTACHMENT => self.read_attachment(type_name, handle).await,
            USER => self.read_user(handle).await,
            INSTANCE_PROFILE => self.read_profile(handle).await,
            OIDC => self.read_oidc(handle).await,
            other => Err(unknown_type(other, handle)),
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
            ROLE => self.update_role(desired, handle, changed_props).await,
            POLICY => self.update_policy(desired, handle, changed_props).await,
            // Both properties of an attachment force a replacement: nothing to do in place.
            ROLE_ATTACHMENT | USER_ATTACHMENT => Ok(handle.clone()),
            USER => self.update_user(desired, handle, changed_props).await,
            INSTANCE_PROFILE => self.update_profile(desired, handle, changed_props).await,
            OIDC => self.update_oidc(desired, handle, changed_props).await,
            other => Err(invalid(
                desired,
                format!("the IAM provider has no type `{other}`"),
            )),
        }
    }

    async fn delete(&self, type_name: &str, handle: &Handle) -> Result<(), ProviderError> {
        match type_name {
            ROLE => self.delete_role(handle).await,
            POLICY => self.delete_policy(handle).await,
            ROLE_ATTACHMENT | USER_ATTACHMENT => self.detach(type_name, handle).await,
            USER => self.delete_user(handle).await,
            INSTANCE_PROFILE => self.delete_profile(handle).await,
            OIDC => gone_ok(
                self.client
                    .delete_open_id_connect_provider()
                    .open_id_connect_provider_arn(&handle.provider_id)
                    .send()
                    .await
                    .map_err(|e| sdk_error(SERVICE, "DeleteOpenIDConnectProvider", e)),
            ),
            other => Err(unknown_type(other, handle)),
        }
    }

    async fn find(&self, desired: &Desired) -> Result<Option<Handle>, ProviderError> {
        match desired.type_name.as_str() {
            ROLE => self.find_role(desired).await,
            POLICY => self.find_policy(desired).await,
            ROLE_ATTACHMENT | USER_ATTACHMENT => self.find_attachment(desired).await,
            USER => self.find_user(desired).await,
            INSTANCE_PROFILE => self.find_profile(desired).await,
            OIDC => self.find_oidc(desired).await,
            other => Err(invalid(
                desired,
                format!("the IAM provider has no type `{other}`"),
            )),
        }
    }
}

fn unknown_type(type_name: &str, handle: &Handle) -> ProviderError {
    ProviderError::Invalid {
        resource: handle.provider_id.clone(),
        message: format!("the IAM provider has no type `{type_name}`"),
    }
}

/// Adds the IAM provider to `set`.
pub fn register(set: &mut crate::ProviderSet, clients: &super::AwsClients) {
    set.add(Arc::new(IamProvider::new(clients.iam.clone())));
}
