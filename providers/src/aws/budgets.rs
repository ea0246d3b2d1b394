//! `aws_budgets_budget`: a cost budget with its notifications and their subscribers (e-mail
//! addresses and SNS topics) inline.
//!
//! Budgets are addressed by account id and name; the account id comes from STS
//! `GetCallerIdentity` once per provider. Update changes a budget in place with `UpdateBudget`,
//! then brings the notifications to the document: a notification is identified by its type,
//! comparison, threshold and threshold type; one that is no longer in the document is deleted,
//! a new one is created with its subscribers, and a kept one has its subscribers added or removed
//! (`CreateSubscriber` / `DeleteSubscriber`). A budget is never deleted and recreated to change
//! it (that would lose its history).
//!
//! Documents are compared in canonical form ([`Provider::normalize`]): amounts without trailing
//! zeros (`"350"`, not `"350.0"`), notifications sorted, subscriber lists sorted.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use aws_sdk_budgets::types::{
    Budget, BudgetType, ComparisonOperator, Notification, NotificationType,
    NotificationWithSubscribers, ResourceTag, Spend, Subscriber, SubscriptionType, ThresholdType,
    TimeUnit,
};
use serde_json::Value;
use tokio::sync::OnceCell;

use super::doc::{Obj, build_error, changed, field_str, invalid, str_list, without_owner};
use crate::provider::{Desired, Handle, Live, Provider, ProviderError, sdk_error};

const SERVICE: &str = "budgets";
const TYPE: &str = "aws_budgets_budget";

/// The AWS Budgets provider.
#[derive(Debug, Clone)]
pub struct BudgetsProvider {
    client: aws_sdk_budgets::Client,
    sts: aws_sdk_sts::Client,
    account: Arc<OnceCell<String>>,
}

/// A notification and its subscribers, as the document describes them.
#[derive(Debug, Clone, PartialEq)]
struct Alert {
    notification: Notification,
    subscribers: Vec<Subscriber>,
}

/// What identifies a notification within a budget.
fn key(n: &Notification) -> (String, String, String, String) {
    (
        n.notification_type().as_str().to_owned(),
        n.comparison_operator().as_str().to_owned(),
        canonical_number(&n.threshold().to_string()),
        n.threshold_type()
            .map(|t| t.as_str().to_owned())
            .unwrap_or_else(|| "PERCENTAGE".to_owned()),
    )
}

fn subscriber_key(s: &Subscriber) -> (String, String) {
    (
        s.subscription_type().as_str().to_owned(),
        s.address().to_owned(),
    )
}

/// `"350.0"` → `"350"`, `"12.50"` → `"12.5"`; anything that is not a decimal stays as it is.
pub fn canonical_number(s: &str) -> String {
    let t = s.trim();
    if t.is_empty() || !t.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return t.to_owned();
    }
    if t.contains('.') {
        let trimmed = t.trim_end_matches('0').trim_end_matches('.');
        if trimmed.is_empty() {
            "0".to_owned()
        } else {
            trimmed.to_owned()
        }
    } else {
        t.to_owned()
    }
}

/// A threshold as a JSON number: an integer when whole.
fn threshold_value(t: f64) -> Value {
    if t.fract() == 0.0 && t.abs() < 1e15 {
        #[allow(clippy::cast_possible_truncation)] // whole and small: exact
        Value::from(t as i64)
    } else {
        Value::from(t)
    }
}

fn alerts(desired: &Desired) -> Result<Vec<Alert>, ProviderError> {
    let Some(list) = desired.prop("notification").filter(|v| !v.is_null()) else {
        return Ok(Vec::new());
    };
    let list = list
        .as_array()
        .ok_or_else(|| invalid(desired, "`notification` must be a list"))?;
    list.iter()
        .enumerate()
        .map(|(i, n)| {
            let req = |name: &str| {
                field_str(n, name).ok_or_else(|| {
                    invalid(
                        desired,
                        format!("`notification[{i}].{name}` must be a string"),
                    )
                })
            };
            let threshold = n.get("threshold").and_then(Value::as_f64).ok_or_else(|| {
                invalid(
                    desired,
                    format!("`notification[{i}].threshold` must be a number"),
                )
            })?;
            let notification = Notification::builder()
                .notification_type(NotificationType::from(req("notification_type")?))
                .comparison_operator(ComparisonOperator::from(req("comparison_operator")?))
                .threshold(threshold)
                .threshold_type(ThresholdType::from(
                    field_str(n, "threshold_type").unwrap_or("PERCENTAGE"),
                ))
                .build()
                .map_err(|e| build_error(desired, e))?;
            let mut subscribers = Vec::new();
            for (field, kind) in [
                ("subscriber_email_addresses", SubscriptionType::Email),
                ("subscriber_sns_topic_arns", SubscriptionType::Sns),
            ] {
                let addresses = match n.get(field) {
                    None | Some(Value::Null) => Vec::new(),
                    Some(v) => str_list(v).ok_or_else(|| {
                        invalid(
                            desired,
                            format!("`notification[{i}].{field}` must be a list of strings"),
                        )
                    })?,
                };
                for a in addresses {
                    subscribers.push(
                        Subscriber::builder()
                            .subscription_type(kind.clone())
                            .address(a)
                            .build()
                            .map_err(|e| build_error(desired, e))?,
                    );
                }
            }
            if subscribers.is_empty() {
                return Err(invalid(
                    desired,
                    format!("`notification[{i}]` has no subscriber (e-mail address or SNS topic)"),
                ));
            }
            Ok(Alert {
                notification,
                subscribers,
            })
        })
        .collect()
}

/// One notification in the document's shape.
fn alert_doc(n: &Notification, subscribers: &[Subscriber]) -> Value {
    let mut emails: Vec<&str> = Vec::new();
    let mut topics: Vec<&str> = Vec::new();
    for s in subscribers {
        match s.subscription_type() {
            SubscriptionType::Sns => topics.push(s.address()),
            _ => emails.push(s.address()),
        }
    }
    emails.sort_unstable();
    topics.sort_unstable();
    Obj::new()
        .set("comparison_operator", n.comparison_operator().as_str())
        .set("threshold", threshold_value(n.threshold()))
        .set(
            "threshold_type",
            n.threshold_type().map_or("PERCENTAGE", |t| t.as_str()),
        )
        .set("notification_type", n.notification_type().as_str())
        .set("subscriber_email_addresses", emails)
        .set("subscriber_sns_topic_arns", topics)
        .build()
}

/// Sort key of a notification document.
fn alert_doc_key(v: &Value) -> (String, String, String, String) {
    let s = |k: &str| v.get(k).map(|x| x.to_string()).unwrap_or_default();
    (
        s("notification_type"),
        s("comparison_operator"),
        canonical_number(&s("threshold")),
        s("threshold_type"),
    )
}

impl BudgetsProvider {
    /// A provider that learns the account id from STS on first use.
    pub fn new(client: aws_sdk_budgets::Client, sts: aws_sdk_sts::Client) -> Self {
        Self {
            client,
            sts,
            account: Arc::new(OnceCell::new()),
        }
    }

    /// A provider for a known account (no STS call).
    pub fn with_account_id(
        client: aws_sdk_budgets::Client,
        sts: aws_sdk_sts::Client,
        account_id: impl Into<String>,
    ) -> Self {
        Self {
            client,
            sts,
            account: Arc::new(OnceCell::new_with(Some(account_id.into()))),
        }
    }

    async fn account(&self) -> Result<&str, ProviderError> {
        self.account
            .get_or_try_init(|| async {
                let out = self
                    .sts
                    .get_caller_identity()
                    .send()
                    .await
                    .map_err(|e| sdk_error("sts", "GetCallerIdentity", e))?;
                out.account.ok_or_else(|| ProviderError::Api {
                    service: "sts",
                    operation: "GetCallerIdentity",
                    code: None,
                    status: None,
                    message: "the answer names no account".to_owned(),
                })
            })
            .await
            .map(String::as_str)
    }

    async fn handle(&self, name: &str) -> Result<Handle, ProviderError> {
        let mut h = Handle::new(name);
        let arn = format!("arn:aws:budgets::{}:budget/{name}", self.account().await?);
        h.attributes.insert("arn".into(), arn);
        Ok(h)
    }

    #[allow(deprecated)] // `CostFilters`: what the document's `cost_filter` list maps onto
    fn budget(desired: &Desired) -> Result<Budget, ProviderError> {
        let mut filters: HashMap<String, Vec<String>> = HashMap::new();
        if let Some(list) = desired.prop("cost_filter").filter(|v| !v.is_null()) {
            let list = list
                .as_array()
                .ok_or_else(|| invalid(desired, "`cost_filter` must be a list"))?;
            for (i, f) in list.iter().enumerate() {
                let name = field_str(f, "name").ok_or_else(|| {
                    invalid(desired, format!("`cost_filter[{i}].name` must be a string"))
                })?;
                let values = f.get("values").and_then(str_list).ok_or_else(|| {
                    invalid(
                        desired,
                        format!("`cost_filter[{i}].values` must be a list of strings"),
                    )
                })?;
                filters.entry(name.to_owned()).or_default().extend(values);
            }
        }
        Budget::builder()
            .budget_name(desired.str_prop("name")?)
            .budget_type(BudgetType::from(desired.str_prop("budget_type")?))
            .time_unit(TimeUnit::from(desired.str_prop("time_unit")?))
            .budget_limit(
                Spend::builder()
                    .amount(desired.str_prop("limit_amount")?)
                    .unit(desired.str_prop("limit_unit")?)
                    .build()
                    .map_err(|e| build_error(desired, e))?,
            )
            .set_cost_filters((!filters.is_empty()).then_some(filters))
            .build()
            .map_err(|e| build_error(desired, e))
    }

    fn resource_tags(desired: &Desired) -> Result<Vec<ResourceTag>, ProviderError> {
        desired
            .tags_with_owner()
            .into_iter()
            .map(|(k, v)| {
                ResourceTag::builder()
                    .key(k)
                    .value(v)
                    .build()
                    .map_err(|e| build_error(desired, e))
            })
            .collect()
    }

    async fn describe(&self, name: &str) -> Result<Option<Budget>, ProviderError> {
        let account = self.account().await?;
        match self
            .client
            .describe_budget()
            .account_id(account)
            .budget_name(name)
            .send()
            .await
        {
            Ok(out) => Ok(out.budget),
            Err(e) => {
                let e = sdk_error(SERVICE, "DescribeBudget", e);
                if e.is_not_found() { Ok(None) } else { Err(e) }
            }
        }
    }

    async fn live_alerts(&self, name: &str) -> Result<Vec<Alert>, ProviderError> {
        let account = self.account().await?;
        let notifications: Vec<Notification> = self
            .client
            .describe_notifications_for_budget()
            .account_id(account)
            .budget_name(name)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error(SERVICE, "DescribeNotificationsForBudget", e))?;
        let mut out = Vec::with_capacity(notifications.len());
        for n in notifications {
            let subscribers: Vec<Subscriber> = self
                .client
                .describe_subscribers_for_notification()
                .account_id(account)
                .budget_name(name)
                .notification(n.clone())
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(|e| sdk_error(SERVICE, "DescribeSubscribersForNotification", e))?;
            out.push(Alert {
                notification: n,
                subscribers,
            });
        }
        Ok(out)
    }

    async fn tags(&self, arn: &str) -> Result<BTreeMap<String, String>, ProviderError> {
        let out = self
            .client
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| sdk_error(SERVICE, "ListTagsForResource", e))?;
        Ok(out
            .resource_tags()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect())
    }

    #[allow(deprecated)] // `CostFilters`, read back into `cost_filter`
    fn budget_doc(b: &Budget, alerts: &[Alert]) -> Value {
        let mut filters: Vec<Value> = b
            .cost_filters()
            .map(|f| {
                f.iter()
                    .map(|(name, values)| {
                        let mut values = values.clone();
                        values.sort();
                        Obj::new()
                            .set("name", name.as_str())
                            .set("values", values)
                            .build()
                    })
                    .collect()
            })
            .unwrap_or_default();
        filters.sort_by_key(|f| f.get("name").map(ToString::to_string).unwrap_or_default());
        let mut notifications: Vec<Value> = alerts
            .iter()
            .map(|a| alert_doc(&a.notification, &a.subscribers))
            .collect();
        notifications.sort_by_key(alert_doc_key);
        Obj::new()
            .set("name", b.budget_name())
            .set("budget_type", b.budget_type().as_str())
            .opt(
                "limit_amount",
                b.budget_limit().map(|l| canonical_number(l.amount())),
            )
            .opt("limit_unit", b.budget_limit().map(Spend::unit))
            .set("time_unit", b.time_unit().as_str())
            .opt("cost_filter", (!filters.is_empty()).then_some(filters))
            .set("notification", notifications)
            .build()
    }

    async fn sync_alerts(&self, desired: &Desired, name: &str) -> Result<(), ProviderError> {
        let account = self.account().await?.to_owned();
        let wanted = alerts(desired)?;
        let live = self.live_alerts(name).await?;
        for l in &live {
            if !wanted
                .iter()
                .any(|w| key(&w.notification) == key(&l.notification))
            {
                self.client
                    .delete_notification()
                    .account_id(&account)
                    .budget_name(name)
                    .notification(l.notification.clone())
                    .send()
                    .await
                    .map_err(|e| sdk_error(SERVICE, "DeleteNotification", e))?;
            }
        }
        for w in &wanted {
            match live
                .iter()
                .find(|l| key(&l.notification) == key(&w.notification))
            {
                None => {
                    self.client
                        .create_notification()
                        .account_id(&account)
                        .budget_name(name)
                        .notification(w.notification.clone())
                        .set_subscribers(Some(w.subscribers.clone()))
                        .send()
                        .await
                        .map_err(|e| sdk_error(SERVICE, "CreateNotification", e))?;
                }
                Some(l) => {
                    for s in &w.subscribers {
                        if !l
                            .subscribers
                            .iter()
                            .any(|x| subscriber_key(x) == subscriber_key(s))
                        {
                            self.client
                                .create_subscriber()
                                .account_id(&account)
                                .budget_name(name)
                                .notification(l.notification.clone())
                                .subscriber(s.clone())
                                .send()
                                .await
                                .map_err(|e| sdk_error(SERVICE, "CreateSubscriber", e))?;
                        }
                    }
                    for s in &l.subscribers {
                        if !w
                            .subscribers
                            .iter()
                            .any(|x| subscriber_key(x) == subscriber_key(s))
                        {
                            self.client
                                .delete_subscriber()
                                .account_id(&account)
                                .budget_name(name)
                                .notification(l.notification.clone())
                                .subscriber(s.clone())
                                .send()
                                .await
                                .map_err(|e| sdk_error(SERVICE, "DeleteSubscriber", e))?;
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Provider for BudgetsProvider {
    fn types(&self) -> &'static [&'static str] {
        &[TYPE]
    }

    fn replace_on_change(&self, _type_name: &str) -> &'static [&'static str] {
        &["name"]
    }

    fn normalize(&self, _type_name: &str, properties: &mut Value) {
        if let Some(Value::String(a)) = properties.get_mut("limit_amount") {
            *a = canonical_number(a);
        }
        if let Some(Value::Array(list)) = properties.get_mut("notification") {
            for n in list.iter_mut() {
                if let Some(t) = n.get("threshold").and_then(Value::as_f64) {
                    n["threshold"] = threshold_value(t);
                }
                if n.get("threshold_type").is_none() && n.is_object() {
                    n["threshold_type"] = Value::from("PERCENTAGE");
                }
                for field in ["subscriber_email_addresses", "subscriber_sns_topic_arns"] {
                    if n.is_object() && n.get(field).is_none() {
                        n[field] = Value::Array(Vec::new());
                    }
                    if let Some(Value::Array(a)) = n.get_mut(field) {
                        a.sort_by_key(ToString::to_string);
                    }
                }
            }
            list.sort_by_key(alert_doc_key);
        }
        if let Some(Value::Array(list)) = properties.get_mut("cost_filter") {
            for f in list.iter_mut() {
                if let Some(Value::Array(v)) = f.get_mut("values") {
                    v.sort_by_key(ToString::to_string);
                }
            }
            list.sort_by_key(|f| f.get("name").map(ToString::to_string).unwrap_or_default());
        }
    }

    async fn create(&self, desired: &Desired) -> Result<Handle, ProviderError> {
        let name = desired.str_prop("name")?;
        let budget = Self::budget(desired)?;
        let mut with_subscribers = Vec::new();
        for a in alerts(desired)? {
            with_subscribers.push(
                NotificationWithSubscribers::builder()
                    .notification(a.notification)
                    .set_subscribers(Some(a.subscribers))
                    .build()
                    .map_err(|e| build_error(desired, e))?,
            );
        }
        self.client
            .create_budget()
            .account_id(self.account().await?)
            .budget(budget)
            .set_notifications_with_subscribers(Some(with_subscribers))
            .set_resource_tags(Some(Self::resource_tags(desired)?))
            .send()
            .await
            .map_err(|e| sdk_error(SERVICE, "CreateBudget", e))?;
        self.handle(name).await
    }

    async fn read(&self, _type_name: &str, handle: &Handle) -> Result<Option<Live>, ProviderError> {
        let name = handle.provider_id.as_str();
        let Some(budget) = self.describe(name).await? else {
            return Ok(None);
        };
        let alerts = self.live_alerts(name).await?;
        let handle = self.handle(name).await?;
        let tags = match handle.attributes.get("arn") {
            Some(arn) => self.tags(arn).await?,
            None => BTreeMap::new(),
        };
        Ok(Some(Live {
            properties: Self::budget_doc(&budget, &alerts),
            handle,
            tags: without_owner(tags),
        }))
    }

    async fn update(
        &self,
        desired: &Desired,
        handle: &Handle,
        changed_props: &[String],
    ) -> Result<Handle, ProviderError> {
        let name = handle.provider_id.as_str();
        if desired.str_prop("name")? != name {
            return Err(invalid(
                desired,
                "a budget's name cannot change in place (plan a replacement)",
            ));
        }
        let budget_changed = changed_props
            .iter()
            .any(|c| c != "notification" && c != "tags");
        if budget_changed {
            self.client
                .update_budget()
                .account_id(self.account().await?)
                .new_budget(Self::budget(desired)?)
                .send()
                .await
                .map_err(|e| sdk_error(SERVICE, "UpdateBudget", e))?;
        }
        if changed(changed_props, "notification") {
            self.sync_alerts(desired, name).await?;
        }
        let handle = self.handle(name).await?;
        if changed(changed_props, "tags")
            && let Some(arn) = handle.attributes.get("arn")
        {
            let live = self.tags(arn).await?;
            let remove = super::doc::tag_keys_to_remove(&live, &desired.tags);
            if !remove.is_empty() {
                self.client
                    .untag_resource()
                    .resource_arn(arn)
                    .set_resource_tag_keys(Some(remove))
                    .send()
                    .await
                    .map_err(|e| sdk_error(SERVICE, "UntagResource", e))?;
            }
            self.client
                .tag_resource()
                .resource_arn(arn)
                .set_resource_tags(Some(Self::resource_tags(desired)?))
                .send()
                .await
                .map_err(|e| sdk_error(SERVICE, "TagResource", e))?;
        }
        Ok(handle)
    }

    async fn delete(&self, _type_name: &str, handle: &Handle) -> Result<(), ProviderError> {
        let account = self.account().await?;
        match self
            .client
            .delete_budget()
            .account_id(account)
            .budget_name(&handle.provider_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                let e = sdk_error(SERVICE, "DeleteBudget", e);
                if e.is_not_found() { Ok(()) } else { Err(e) }
            }
        }
    }

    /// By name: a budget's name is unique within its account.
    async fn find(&self, desired: &Desired) -> Result<Option<Handle>, ProviderError> {
        let name = desired.str_prop("name")?;
        match self.describe(name).await? {
            Some(_) => Ok(Some(self.handle(name).await?)),
            None => Ok(None),
        }
    }
}

/// Adds the Budgets provider to `set` (the account id is looked up with STS on first use).
pub fn register(set: &mut crate::ProviderSet, clients: &super::AwsClients) {
    set.add(Arc::new(BudgetsProvider::new(
        clients.budgets.clone(),
        aws_sdk_sts::Client::new(&clients.sdk),
    )));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_canonical() {
        assert_eq!(canonical_number("350.0"), "350");
        assert_eq!(canonical_number("350"), "350");
        assert_eq!(canonical_number("12.50"), "12.5");
        assert_eq!(canonical_number("0.0"), "0");
        assert_eq!(canonical_number("abc"), "abc");
    }
}
