//! Derived facts: the Rego helper library's notions, handed to Cedar.
//!
//! What "open to the world", "administrator access", "a trust policy anyone can assume", "a
//! customer-managed key", "prod" or "an empty tag" mean is written once, in the bundle's Rego
//! library. A bundle that has the package `tollgate.facts` (policies/rego/lib/facts.rego) gets
//! those notions computed per stack (`data.tollgate.facts.stack`, with `input.stack`) and per
//! resource whose type has facts (`data.tollgate.facts.resource`, with `input.resource` and
//! `input.stack`, as the rules see them), and each entity carries the result as its `facts`
//! record, so Cedar guardrails read `resource.facts.world_open` or
//! `context.stack.facts.prod`.
//!
//! The shape of every record is declared once, in `engine/registry/facts.json`: it goes into the
//! generated Cedar schema (so strict validation rejects a misspelt fact) and every record the
//! Rego package returns is checked against it — a missing fact or one of another type is an
//! error for that resource, never a silently absent attribute.

use std::collections::BTreeMap;

use regorus::Value;
use serde_json::json;

use crate::registry::{PropType, Registry, TypeDef};

const BUILTIN: &str = include_str!("../../registry/facts.json");

/// The Rego package that derives the facts.
pub const PACKAGE: &str = "data.tollgate.facts";

/// The shapes of the facts records: the stack's, the taggable resources', and per type.
#[derive(Debug, Clone)]
pub struct FactShapes {
    stack: BTreeMap<String, PropType>,
    taggable: BTreeMap<String, PropType>,
    types: BTreeMap<String, BTreeMap<String, PropType>>,
}

fn fields(v: &serde_json::Value, at: &str) -> Result<BTreeMap<String, PropType>, String> {
    match PropType::parse(v, at)? {
        PropType::Object(f) => Ok(f),
        _ => Err(format!("{at}: a facts record is an object of fact types")),
    }
}

impl FactShapes {
    /// The shapes shipped with Tollgate.
    pub fn builtin() -> &'static FactShapes {
        static SHAPES: std::sync::OnceLock<FactShapes> = std::sync::OnceLock::new();
        SHAPES.get_or_init(|| {
            #[allow(clippy::expect_used)]
            FactShapes::parse(BUILTIN).expect("the shipped facts shapes are valid (tested)")
        })
    }

    /// Parses a facts file (`{"Stack": {…}, "taggable": {…}, "types": {type: {…}}}`).
    pub fn parse(text: &str) -> Result<FactShapes, String> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let empty = json!({});
        let mut types = BTreeMap::new();
        if let Some(t) = v.get("types").and_then(|t| t.as_object()) {
            for (name, shape) in t {
                types.insert(name.clone(), fields(shape, &format!("types.{name}"))?);
            }
        }
        Ok(FactShapes {
            stack: fields(v.get("Stack").unwrap_or(&empty), "Stack")?,
            taggable: fields(v.get("taggable").unwrap_or(&empty), "taggable")?,
            types,
        })
    }

    /// The stack entity's facts.
    pub fn stack(&self) -> &BTreeMap<String, PropType> {
        &self.stack
    }

    /// The facts of resources of type `t`: the taggable facts (if it is taggable) and its own;
    /// `None` when it has none.
    pub fn for_type(&self, t: &TypeDef) -> Option<BTreeMap<String, PropType>> {
        let mut out = if t.taggable {
            self.taggable.clone()
        } else {
            BTreeMap::new()
        };
        if let Some(own) = self.types.get(&t.name) {
            out.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        (!out.is_empty()).then_some(out)
    }

    /// Types the shapes name that the registry does not know (a typo in facts.json).
    pub fn unknown_types<'a>(&'a self, registry: &'a Registry) -> Vec<&'a str> {
        self.types
            .keys()
            .filter(|t| registry.get(t).is_none())
            .map(String::as_str)
            .collect()
    }
}

/// The Cedar schema of a facts record: every fact required.
pub fn cedar_record(shape: &BTreeMap<String, PropType>) -> serde_json::Value {
    let attributes: serde_json::Map<String, serde_json::Value> = shape
        .iter()
        .filter_map(|(k, p)| {
            super::cedar::cedar_type(p).map(|mut ty| {
                ty["required"] = json!(true);
                (k.clone(), ty)
            })
        })
        .collect();
    json!({"type": "Record", "attributes": attributes})
}

/// Checks a record the Rego package returned against its shape: an object with exactly the
/// declared facts, each of its declared type (no importer markers: facts are decided).
pub fn check(value: &Value, shape: &BTreeMap<String, PropType>) -> Result<(), String> {
    let Value::Object(obj) = value else {
        return Err(format!(
            "the facts record is {}, not an object",
            crate::registry::kind(value)
        ));
    };
    for (k, t) in shape {
        let v = obj
            .get(&Value::from(k.as_str()))
            .ok_or_else(|| format!("the facts record lacks `{k}`"))?;
        let ok = match (t, v) {
            (PropType::Bool, Value::Bool(_)) | (PropType::String, Value::String(_)) => true,
            (PropType::Int, Value::Number(n)) => n.as_i64().is_some(),
            (PropType::List(inner), Value::Array(items)) => items.iter().all(|i| {
                matches!(
                    (&**inner, i),
                    (PropType::String, Value::String(_)) | (PropType::Bool, Value::Bool(_))
                )
            }),
            _ => false,
        };
        if !ok {
            return Err(format!(
                "fact `{k}` is {}, expected {}",
                crate::registry::kind(v),
                t.describe()
            ));
        }
    }
    for k in obj.keys() {
        let name = k.as_string().map(|s| s.to_string()).unwrap_or_default();
        if !shape.contains_key(&name) {
            return Err(format!(
                "fact `{name}` is not declared in engine/registry/facts.json"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_shapes_parse_and_name_registered_types() {
        let shapes = FactShapes::builtin();
        assert!(shapes.stack().contains_key("prod"));
        assert!(
            shapes.unknown_types(Registry::builtin()).is_empty(),
            "{:?}",
            shapes.unknown_types(Registry::builtin())
        );
        let sg = Registry::builtin().get("aws_security_group").unwrap();
        let f = shapes.for_type(sg).unwrap();
        assert!(f.contains_key("world_open") && f.contains_key("present_tags"));
    }

    #[test]
    fn records_are_checked_against_their_shape() {
        let shape = fields(&json!({"a": "bool", "t": ["string"]}), "x").unwrap();
        let ok = Value::from_json_str(r#"{"a": true, "t": ["x"]}"#).unwrap();
        assert!(check(&ok, &shape).is_ok());
        let missing = Value::from_json_str(r#"{"t": []}"#).unwrap();
        assert!(check(&missing, &shape).unwrap_err().contains("lacks `a`"));
        let wrong = Value::from_json_str(r#"{"a": "yes", "t": []}"#).unwrap();
        assert!(check(&wrong, &shape).unwrap_err().contains("fact `a`"));
        let extra = Value::from_json_str(r#"{"a": true, "t": [], "b": 1}"#).unwrap();
        assert!(check(&extra, &shape).unwrap_err().contains("`b`"));
    }
}
