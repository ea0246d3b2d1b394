//! Small helpers shared by the AWS providers: reading typed values out of a resource's
//! properties (with errors naming the resource and property), building read-back documents
//! ([`Obj`]), policy documents as the services return them (plain or percent-encoded JSON), tags,
//! and names taken out of ARNs.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::provider::{Desired, OWNER_TAG, ProviderError};

/// [`ProviderError::Invalid`] for `desired`.
pub fn invalid(desired: &Desired, message: impl Into<String>) -> ProviderError {
    ProviderError::Invalid {
        resource: desired.address(),
        message: message.into(),
    }
}

/// An optional string property (`null` counts as absent).
pub fn opt_str<'a>(desired: &'a Desired, name: &str) -> Result<Option<&'a str>, ProviderError> {
    match desired.prop(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(invalid(
            desired,
            format!("property `{name}` must be a string"),
        )),
    }
}

/// An optional integer property.
pub fn opt_i64(desired: &Desired, name: &str) -> Result<Option<i64>, ProviderError> {
    match desired.prop(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| invalid(desired, format!("property `{name}` must be an integer"))),
    }
}

/// An optional boolean property.
pub fn opt_bool(desired: &Desired, name: &str) -> Result<Option<bool>, ProviderError> {
    match desired.prop(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(invalid(
            desired,
            format!("property `{name}` must be a boolean"),
        )),
    }
}

/// An optional list of strings.
pub fn opt_str_list(desired: &Desired, name: &str) -> Result<Option<Vec<String>>, ProviderError> {
    match desired.prop(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => str_list(v).map(Some).ok_or_else(|| {
            invalid(
                desired,
                format!("property `{name}` must be a list of strings"),
            )
        }),
    }
}

/// A JSON array of strings as a vector.
pub fn str_list(v: &Value) -> Option<Vec<String>> {
    v.as_array()?
        .iter()
        .map(|s| s.as_str().map(str::to_owned))
        .collect()
}

/// A field of a nested object, as a string.
pub fn field_str<'a>(obj: &'a Value, name: &str) -> Option<&'a str> {
    obj.get(name).and_then(Value::as_str)
}

/// A field of a nested object, as a bool.
pub fn field_bool(obj: &Value, name: &str) -> Option<bool> {
    obj.get(name).and_then(Value::as_bool)
}

/// A field of a nested object, as an integer.
pub fn field_i64(obj: &Value, name: &str) -> Option<i64> {
    obj.get(name).and_then(Value::as_i64)
}

/// A policy document property, serialised for the API from the object that was judged. The
/// engine parses documents written as JSON strings at load and the plan carries the parsed
/// object, so a string here was never judged as a document: it is refused, not sent.
pub fn json_doc(desired: &Desired, name: &str) -> Result<Option<String>, ProviderError> {
    policy_document(desired, desired.prop(name), name)
}

/// [`json_doc`] for a document found elsewhere than a top-level property (`what` names it).
pub fn policy_document(
    desired: &Desired,
    value: Option<&Value>,
    what: &str,
) -> Result<Option<String>, ProviderError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(v @ Value::Object(_)) => Ok(Some(v.to_string())),
        Some(Value::String(_)) => Err(invalid(
            desired,
            format!(
                "`{what}` reached the provider as a string, not as the judged document (an object): refusing to send a policy that was not judged"
            ),
        )),
        Some(_) => Err(invalid(
            desired,
            format!("`{what}` must be a JSON policy document (an object)"),
        )),
    }
}

/// A policy document as a service returned it — plain JSON or percent-encoded JSON (IAM encodes
/// trust and inline policies; some endpoints do not) — as a JSON value. A document that is
/// neither is kept as a string, so a comparison shows it rather than failing the read.
pub fn parse_policy(text: &str) -> Value {
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        return v;
    }
    let decoded = percent_encoding::percent_decode_str(text).decode_utf8_lossy();
    serde_json::from_str::<Value>(&decoded).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// The name at the end of an ARN (`arn:aws:iam::1:role/path/name` → `name`), or the value
/// itself when it is not an ARN. References resolve to ARNs; properties that take a name
/// accept either.
pub fn name_from_arn(value: &str) -> &str {
    if value.starts_with("arn:") {
        value.rsplit(['/', ':']).next().unwrap_or(value)
    } else {
        value
    }
}

/// Tags read back, [`OWNER_TAG`] removed.
pub fn without_owner(tags: impl IntoIterator<Item = (String, String)>) -> BTreeMap<String, String> {
    tags.into_iter().filter(|(k, _)| k != OWNER_TAG).collect()
}

/// The value of [`OWNER_TAG`] among `tags`.
pub fn owner_of<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> Option<&'a str> {
    tags.into_iter()
        .find(|(k, _)| *k == OWNER_TAG)
        .map(|(_, v)| v)
}

/// Refuses to adopt an object found by its unique name when its [`OWNER_TAG`] says another
/// resource created it (two stacks claiming one name is a conflict, not a resume).
pub fn check_owner(
    desired: &Desired,
    owner: Option<&str>,
    what: &str,
) -> Result<(), ProviderError> {
    match owner {
        Some(o) if o != desired.address() => Err(invalid(
            desired,
            format!("{what} already exists and belongs to `{o}` (its `{OWNER_TAG}` tag)"),
        )),
        _ => Ok(()),
    }
}

/// Keys to remove so that the live tags become `desired` (the owner tag is never removed).
pub fn tag_keys_to_remove(
    live: &BTreeMap<String, String>,
    desired: &BTreeMap<String, String>,
) -> Vec<String> {
    live.keys()
        .filter(|k| !desired.contains_key(*k) && k.as_str() != OWNER_TAG)
        .cloned()
        .collect()
}

/// Builds a JSON object from optional fields, leaving out the `None`s.
#[derive(Debug, Default)]
pub struct Obj(Map<String, Value>);

impl Obj {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.0.insert(key.to_owned(), value.into());
        self
    }

    pub fn opt(mut self, key: &str, value: Option<impl Into<Value>>) -> Self {
        if let Some(v) = value {
            self.0.insert(key.to_owned(), v.into());
        }
        self
    }

    pub fn build(self) -> Value {
        Value::Object(self.0)
    }
}

/// Whether `changed` names `prop` (an update's list of changed top-level properties).
pub fn changed(changed: &[String], prop: &str) -> bool {
    changed.iter().any(|c| c == prop)
}

/// A builder's error (a required field missing) as an invalid-resource error.
pub fn build_error(desired: &Desired, e: impl std::fmt::Display) -> ProviderError {
    invalid(desired, format!("cannot build the request: {e}"))
}

/// A builder error where there is no desired document (read and delete paths).
pub fn internal_build_error(
    service: &'static str,
    operation: &'static str,
    e: impl std::fmt::Display,
) -> ProviderError {
    ProviderError::Transport {
        service,
        operation,
        message: format!("cannot build the request: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_parse_plain_and_percent_encoded() {
        let plain = r#"{"Version":"2012-10-17","Statement":[]}"#;
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(parse_policy(plain), parse_policy(encoded));
        assert_eq!(parse_policy(plain)["Version"], "2012-10-17");
        assert_eq!(parse_policy("not json"), Value::String("not json".into()));
    }

    #[test]
    fn names_come_out_of_arns() {
        assert_eq!(name_from_arn("arn:aws:iam::123:role/svc/ci"), "ci");
        assert_eq!(name_from_arn("arn:aws:iam::123:user/alice"), "alice");
        assert_eq!(name_from_arn("ci"), "ci");
    }
}
