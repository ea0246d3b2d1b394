//! Policy documents written as JSON strings, parsed once at load.
//!
//! An IAM policy, a trust policy, an inline policy, a bucket, key, topic or queue policy, an SCP:
//! Terraform writes each as a JSON *string* (`jsonencode(…)`, a heredoc), and anyone may in a
//! stack document or a template. The registry marks these properties `policy_document`; after a
//! file is read (a stack document, a Terraform plan, a CloudFormation template alike) every such
//! string is parsed here with the strict JSON parser, so the rules, Cedar and the provider that
//! applies it all see the same object — the provider sends that object serialised, never the
//! string it was written as. A string that is not JSON, or is JSON but not an object, is an input
//! error naming the file, the resource's line and the JSON path. A blank string is no document
//! (`null`). What is left a string on purpose: the importers' markers for values only known at
//! apply and sensitive values (the rules judge those as unknown), and a whole-value `${…}`
//! reference, which provisioning resolves.

use regorus::Value;

use crate::import::{SENSITIVE, UNKNOWN};
use crate::json;
use crate::load::{LoadError, LoadErrorKind};
use crate::model::{Origin, Reference, Stack};
use crate::registry::{PropType, Registry, kind};

/// Parses every `policy_document` property of `stack` given as a JSON string into its object.
/// Every problem is returned, each with its place.
pub fn parse_policy_documents(stack: &mut Stack, registry: &Registry) -> Vec<LoadError> {
    let file = stack.source.file.clone();
    let origin = stack.origin;
    let mut errors = Vec::new();
    for (i, r) in stack.resources.iter_mut().enumerate() {
        let Some(def) = registry.get(&r.type_name) else {
            continue;
        };
        if !def.properties.values().any(holds_document) {
            continue;
        }
        let root = match origin {
            Origin::Document => format!("$.resources[{i}].properties"),
            Origin::TerraformPlan => {
                format!("$.resource_changes[?(@.address=='{}')].change.after", r.id)
            }
            Origin::CloudFormation => format!("$.Resources.{}.Properties", r.id),
        };
        let Value::Object(_) = r.properties else {
            continue;
        };
        let mut found = Vec::new();
        for (key, t) in &def.properties {
            if !holds_document(t) {
                continue;
            }
            if let Ok(obj) = r.properties.as_object_mut()
                && let Some(v) = obj.get_mut(&Value::from(key.as_str()))
            {
                walk(v, t, &format!("{root}.{key}"), &mut found);
            }
        }
        for (path, message) in found {
            errors.push(
                LoadError::plain(
                    &file,
                    LoadErrorKind::Schema,
                    format!("{} `{}`: {message}", def.name, r.id),
                )
                .at(r.position)
                .with_path(path),
            );
        }
    }
    errors
}

/// Writes `stack`'s policy documents as they were judged (strings parsed into objects) into
/// `doc`, the stack document the stack was read from, so what is provisioned from the document is
/// exactly what was judged. Only `policy_document` values change; a resource the document does
/// not hold at its index is left alone (the provider then refuses a string it is handed).
pub fn write_judged_documents(stack: &Stack, registry: &Registry, doc: &mut serde_json::Value) {
    if stack.origin != Origin::Document {
        return;
    }
    for (i, r) in stack.resources.iter().enumerate() {
        let Some(def) = registry.get(&r.type_name) else {
            continue;
        };
        let Some(raw) = doc
            .get_mut("resources")
            .and_then(|rs| rs.get_mut(i))
            .filter(|raw| raw.get("id").and_then(|id| id.as_str()) == Some(r.id.as_str()))
            .and_then(|raw| raw.get_mut("properties"))
        else {
            continue;
        };
        for (key, t) in &def.properties {
            if let (true, Some(raw)) = (holds_document(t), raw.get_mut(key)) {
                write_back(raw, &r.properties[key.as_str()], t);
            }
        }
    }
}

fn write_back(raw: &mut serde_json::Value, judged: &Value, t: &PropType) {
    match t {
        PropType::PolicyDocument => {
            if raw.is_string()
                && let Ok(v) = serde_json::to_value(judged)
            {
                *raw = v;
            }
        }
        PropType::List(inner) if holds_document(inner) => {
            if let (Some(items), Value::Array(judged)) = (raw.as_array_mut(), judged) {
                for (item, j) in items.iter_mut().zip(judged.iter()) {
                    write_back(item, j, inner);
                }
            }
        }
        PropType::Object(fields) => {
            if let Some(obj) = raw.as_object_mut() {
                for (key, t) in fields {
                    if let (true, Some(item)) = (holds_document(t), obj.get_mut(key)) {
                        write_back(item, &judged[key.as_str()], t);
                    }
                }
            }
        }
        _ => {}
    }
}

/// Whether a property of type `t` holds a policy document somewhere.
fn holds_document(t: &PropType) -> bool {
    match t {
        PropType::PolicyDocument => true,
        PropType::List(inner) => holds_document(inner),
        PropType::Object(fields) => fields.values().any(holds_document),
        _ => false,
    }
}

/// Follows the schema `t` (not the value, so the depth is the registry's) down to its policy
/// documents, parsing those given as strings; problems go to `out` as (JSON path, message).
fn walk(v: &mut Value, t: &PropType, path: &str, out: &mut Vec<(String, String)>) {
    match t {
        PropType::PolicyDocument => {
            if let Err(message) = parse_in_place(v) {
                out.push((path.to_owned(), message));
            }
        }
        PropType::List(inner) if holds_document(inner) => {
            if let Ok(items) = v.as_array_mut() {
                for (i, item) in items.iter_mut().enumerate() {
                    walk(item, inner, &format!("{path}[{i}]"), out);
                }
            }
        }
        PropType::Object(fields) => {
            if let Ok(obj) = v.as_object_mut() {
                for (key, t) in fields {
                    if holds_document(t)
                        && let Some(item) = obj.get_mut(&Value::from(key.as_str()))
                    {
                        walk(item, t, &format!("{path}.{key}"), out);
                    }
                }
            }
        }
        _ => {}
    }
}

/// Replaces a policy document written as a JSON string with its object.
fn parse_in_place(v: &mut Value) -> Result<(), String> {
    let Value::String(s) = &*v else {
        return Ok(());
    };
    let text = s.as_ref();
    if text == UNKNOWN || text == SENSITIVE {
        return Ok(());
    }
    if text.trim().is_empty() {
        *v = Value::Null;
        return Ok(());
    }
    if text.starts_with("${") && Reference::parse(text, String::new).is_some() {
        return Ok(());
    }
    match json::parse_strict(text) {
        Ok(doc @ Value::Object(_)) => {
            *v = doc;
            Ok(())
        }
        Ok(other) => Err(format!(
            "a policy document must be a JSON object, but this string holds {}",
            kind(&other)
        )),
        Err(e) => Err(format!(
            "a policy document given as a string must be valid JSON: {}{}",
            e.message,
            e.position
                .map(|p| format!(" (line {}, column {} of the string)", p.line, p.column))
                .unwrap_or_default()
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::json::LineCol;
    use crate::load::parse_stack;

    fn stack(properties: &str) -> Result<Stack, Vec<LoadError>> {
        let text = format!(
            r#"{{"stack": "s", "repository": "r", "environment": "dev", "region": "eu-west-1", "account": "a", "owner": "o",
  "resources": [{{"id": "role", "type": "aws_iam_role", "properties": {properties}}}]}}"#
        );
        parse_stack(Path::new("s.json"), &text, Registry::builtin())
    }

    #[test]
    fn strings_become_the_objects_they_hold_at_every_depth() {
        let s = stack(
            r#"{"name": "r", "assume_role_policy": "{\"Version\": \"2012-10-17\", \"Statement\": []}",
                "inline_policy": [{"name": "p", "policy": "{\"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"*\"}]}"}]}"#,
        )
        .unwrap();
        let p = &s.resources[0].properties;
        assert_eq!(
            p["assume_role_policy"]["Version"],
            Value::from("2012-10-17")
        );
        assert_eq!(
            p["inline_policy"][0]["policy"]["Statement"][0]["Action"],
            Value::from("*")
        );
    }

    #[test]
    fn a_string_that_is_not_json_is_an_input_error_with_its_place() {
        let errors = stack(r#"{"name": "r", "assume_role_policy": "{\"Version\": "}"#).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        let e = &errors[0];
        assert_eq!(
            e.path.as_deref(),
            Some("$.resources[0].properties.assume_role_policy")
        );
        assert_eq!(e.position.map(|p: LineCol| p.line), Some(2));
        assert!(e.message.contains("must be valid JSON"), "{e}");

        let errors = stack(
            r#"{"name": "r", "assume_role_policy": "{}", "inline_policy": [{"name": "p", "policy": "[1]"}]}"#,
        )
        .unwrap_err();
        assert_eq!(
            errors[0].path.as_deref(),
            Some("$.resources[0].properties.inline_policy[0].policy")
        );
        assert!(
            errors[0].message.contains("must be a JSON object"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn markers_references_and_blanks_are_left_as_they_mean() {
        let s = stack(
            r#"{"name": "r", "assume_role_policy": "(known after apply)", "inline_policy": [{"name": "p", "policy": "  "}]}"#,
        )
        .unwrap();
        let p = &s.resources[0].properties;
        assert_eq!(p["assume_role_policy"], Value::from(UNKNOWN));
        assert_eq!(p["inline_policy"][0]["policy"], Value::Null);
    }
}
