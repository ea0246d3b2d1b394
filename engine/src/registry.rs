//! The type registry: every resource type Tollgate knows, registered once.
//!
//! For each type it records the property schema (which the loader validates documents against and
//! from which the Cedar schema is generated), whether the type carries tags, its provider, its
//! cost model (components priced from the catalogue in `policies/data/`) and its coverage: the
//! policy families whose type-specific rules judge it, or why nothing needs to. The registry is
//! data, shipped inside the binary from `engine/registry/types.json`.

use std::collections::BTreeMap;
use std::fmt;

use regorus::Value;
use serde::Deserialize;

/// The registry shipped with Tollgate.
const BUILTIN: &str = include_str!("../registry/types.json");

/// The schema of one property value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropType {
    String,
    Bool,
    Int,
    /// Any JSON value (policy documents, Helm values, manifests). Invisible to Cedar.
    Json,
    /// An object whose values are strings. Invisible to Cedar.
    StringMap,
    List(Box<PropType>),
    Object(BTreeMap<String, PropType>),
}

impl PropType {
    fn parse(v: &serde_json::Value, at: &str) -> Result<Self, String> {
        match v {
            serde_json::Value::String(s) => match s.as_str() {
                "string" => Ok(Self::String),
                "bool" => Ok(Self::Bool),
                "int" => Ok(Self::Int),
                "json" => Ok(Self::Json),
                "string_map" => Ok(Self::StringMap),
                other => Err(format!("{at}: unknown scalar type `{other}`")),
            },
            serde_json::Value::Array(items) if items.len() == 1 => {
                Ok(Self::List(Box::new(Self::parse(&items[0], at)?)))
            }
            serde_json::Value::Object(fields) => fields
                .iter()
                .map(|(k, v)| Ok((k.clone(), Self::parse(v, &format!("{at}.{k}"))?)))
                .collect::<Result<_, String>>()
                .map(Self::Object),
            _ => Err(format!("{at}: a type is a name, [type] or {{fields}}")),
        }
    }

    /// A short name for messages.
    pub fn describe(&self) -> &'static str {
        match self {
            Self::String => "a string",
            Self::Bool => "a boolean",
            Self::Int => "an integer",
            Self::Json => "any JSON value",
            Self::StringMap => "an object of strings",
            Self::List(_) => "a list",
            Self::Object(_) => "an object",
        }
    }
}

/// How many of a priced unit a resource runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Count {
    Fixed(i64),
    /// A path into the resource (`properties.x` or `usage.x`).
    Path(String),
}

/// One priced part of a resource's monthly cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CostComponent {
    /// Catalogue price per hour × hours per month × count.
    Hourly { price: String, count: Count },
    /// Catalogue price per month × count.
    Monthly { price: String, count: Count },
    /// Catalogue price per unit × a quantity read from the resource (missing counts as 0).
    PerUnit { price: String, quantity: String },
}

/// Which policy families judge a type, or why none needs to: written down for every type, so a
/// resource that no rule looks at is a decision someone made, not an accident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Coverage {
    /// The families whose type-specific rules judge it (`encryption`, `network`, …).
    Families(Vec<String>),
    /// It holds nothing a policy needs to see, for this reason.
    NothingToJudge(String),
}

impl Coverage {
    /// The families that judge the type (none when it holds nothing to judge).
    pub fn families(&self) -> &[String] {
        match self {
            Self::Families(f) => f,
            Self::NothingToJudge(_) => &[],
        }
    }
}

/// One registered resource type.
#[derive(Debug, Clone)]
pub struct TypeDef {
    pub name: String,
    pub provider: String,
    pub service: Option<String>,
    pub taggable: bool,
    pub description: String,
    pub required: Vec<String>,
    pub properties: BTreeMap<String, PropType>,
    pub usage: BTreeMap<String, PropType>,
    pub cost: Vec<CostComponent>,
    pub coverage: Coverage,
}

/// The `provider` of a type Tollgate judges but does not provision yet: `plan` names it so.
pub const NOT_PROVISIONED: &str = "none";

impl TypeDef {
    /// Whether some provider of Tollgate's provisions this type (its `provider` is not
    /// [`NOT_PROVISIONED`]).
    pub fn is_provisioned(&self) -> bool {
        self.provider != NOT_PROVISIONED
    }
}

/// All registered types, by name.
#[derive(Debug, Clone)]
pub struct Registry {
    types: BTreeMap<String, TypeDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryFile {
    types: BTreeMap<String, TypeFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TypeFile {
    provider: String,
    #[serde(default)]
    service: Option<String>,
    taggable: bool,
    #[serde(default)]
    description: String,
    #[serde(default)]
    required: Vec<String>,
    properties: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    usage: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    cost: Vec<CostFile>,
    coverage: CoverageFile,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CoverageFile {
    #[serde(default)]
    families: Option<Vec<String>>,
    #[serde(default)]
    nothing_to_judge: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CostFile {
    #[serde(default)]
    hourly: Option<String>,
    #[serde(default)]
    monthly: Option<String>,
    #[serde(default)]
    per_unit: Option<String>,
    #[serde(default)]
    count: Option<serde_json::Value>,
    #[serde(default)]
    quantity: Option<String>,
}

/// The registry file is malformed (a bug in Tollgate's own data, caught by its tests).
#[derive(Debug, thiserror::Error)]
#[error("type registry: {0}")]
pub struct RegistryError(String);

impl Registry {
    /// The registry shipped with Tollgate.
    pub fn builtin() -> &'static Registry {
        static REGISTRY: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();
        REGISTRY.get_or_init(|| {
            #[allow(clippy::expect_used)]
            Registry::parse(BUILTIN).expect("the shipped type registry is valid (tested)")
        })
    }

    /// Parses a registry file.
    pub fn parse(text: &str) -> Result<Registry, RegistryError> {
        let file: RegistryFile =
            serde_json::from_str(text).map_err(|e| RegistryError(e.to_string()))?;
        let mut types = BTreeMap::new();
        for (name, t) in file.types {
            let props = |m: &serde_json::Map<String, serde_json::Value>, what: &str| {
                m.iter()
                    .map(|(k, v)| {
                        PropType::parse(v, &format!("{name}.{what}.{k}")).map(|t| (k.clone(), t))
                    })
                    .collect::<Result<BTreeMap<_, _>, _>>()
                    .map_err(RegistryError)
            };
            let properties = props(&t.properties, "properties")?;
            let usage = props(&t.usage, "usage")?;
            for r in &t.required {
                if !properties.contains_key(r) {
                    return Err(RegistryError(format!(
                        "{name}: required property `{r}` is not declared"
                    )));
                }
            }
            let cost = t
                .cost
                .into_iter()
                .map(|c| CostComponent::from_file(c, &name))
                .collect::<Result<_, _>>()?;
            let coverage = Coverage::from_file(t.coverage, &name)?;
            types.insert(
                name.clone(),
                TypeDef {
                    name,
                    provider: t.provider,
                    service: t.service,
                    taggable: t.taggable,
                    description: t.description,
                    required: t.required,
                    properties,
                    usage,
                    cost,
                    coverage,
                },
            );
        }
        Ok(Registry { types })
    }

    pub fn get(&self, name: &str) -> Option<&TypeDef> {
        self.types.get(name)
    }

    pub fn types(&self) -> impl Iterator<Item = &TypeDef> {
        self.types.values()
    }

    /// The registered name closest to `name`, for "did you mean" hints.
    pub fn suggest(&self, name: &str) -> Option<&str> {
        closest(name, self.types.keys().map(String::as_str))
    }
}

impl Coverage {
    fn from_file(c: CoverageFile, type_name: &str) -> Result<Self, RegistryError> {
        let err = |m: &str| Err(RegistryError(format!("{type_name}: coverage {m}")));
        match (c.families, c.nothing_to_judge) {
            (Some(families), None) => {
                if families.is_empty() {
                    return err("lists no families: name them, or say `nothing_to_judge` and why");
                }
                let mut seen = std::collections::BTreeSet::new();
                for f in &families {
                    if f.trim().is_empty() || f.trim() != f {
                        return err(&format!("names a blank or padded family `{f}`"));
                    }
                    if !seen.insert(f.as_str()) {
                        return err(&format!("names the family `{f}` twice"));
                    }
                }
                Ok(Self::Families(families))
            }
            (None, Some(reason)) if !reason.trim().is_empty() => Ok(Self::NothingToJudge(reason)),
            (None, Some(_)) => err("says `nothing_to_judge` without a reason"),
            _ => err("is either {\"families\": [...]} or {\"nothing_to_judge\": \"reason\"}"),
        }
    }
}

impl CostComponent {
    fn from_file(c: CostFile, type_name: &str) -> Result<Self, RegistryError> {
        let count = match c.count {
            None => Count::Fixed(1),
            Some(serde_json::Value::Number(n)) => Count::Fixed(n.as_i64().ok_or_else(|| {
                RegistryError(format!("{type_name}: cost count must be an integer"))
            })?),
            Some(serde_json::Value::String(p)) => Count::Path(p),
            Some(_) => {
                return Err(RegistryError(format!(
                    "{type_name}: cost count is an integer or a path"
                )));
            }
        };
        match (c.hourly, c.monthly, c.per_unit, c.quantity) {
            (Some(price), None, None, None) => Ok(Self::Hourly { price, count }),
            (None, Some(price), None, None) => Ok(Self::Monthly { price, count }),
            (None, None, Some(price), Some(quantity)) => Ok(Self::PerUnit { price, quantity }),
            _ => Err(RegistryError(format!(
                "{type_name}: a cost component is one of {{hourly, count}}, {{monthly, count}} or {{per_unit, quantity}}"
            ))),
        }
    }
}

/// A property value that does not fit its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaViolation {
    /// JSON path below the value that was checked, e.g. `.versioning.enabled`.
    pub path: String,
    pub message: String,
}

impl fmt::Display for SchemaViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Checks `value` against the object schema `fields` (with `required` top-level fields).
pub fn check_object(
    value: &Value,
    fields: &BTreeMap<String, PropType>,
    required: &[String],
    path: &str,
) -> Result<(), SchemaViolation> {
    let Value::Object(obj) = value else {
        return Err(SchemaViolation {
            path: path.to_owned(),
            message: format!("expected an object, got {}", kind(value)),
        });
    };
    for r in required {
        if !obj.contains_key(&Value::from(r.as_str())) {
            return Err(SchemaViolation {
                path: path.to_owned(),
                message: format!("required property `{r}` is missing"),
            });
        }
    }
    for (k, v) in obj.iter() {
        let key = k.as_string().map(|s| s.as_ref()).unwrap_or_default();
        let here = format!("{path}.{key}");
        let Some(t) = fields.get(key) else {
            let hint = closest(key, fields.keys().map(String::as_str))
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            return Err(SchemaViolation {
                path: here,
                message: format!("unknown property `{key}`{hint}"),
            });
        };
        check(v, t, &here)?;
    }
    Ok(())
}

/// Checks `value` against `t`. `null` is accepted anywhere and means "not set"; so are the
/// importers' markers for values unknown until apply and sensitive values.
pub fn check(value: &Value, t: &PropType, path: &str) -> Result<(), SchemaViolation> {
    let ok = match (t, value) {
        (_, Value::Null) | (PropType::Json, _) => true,
        (_, Value::String(s))
            if s.as_ref() == crate::import::UNKNOWN || s.as_ref() == crate::import::SENSITIVE =>
        {
            true
        }
        (PropType::String, Value::String(_)) | (PropType::Bool, Value::Bool(_)) => true,
        (PropType::Int, Value::Number(n)) => n.as_i64().is_some() && n.is_integer(),
        (PropType::StringMap, Value::Object(o)) => {
            for (k, v) in o.iter() {
                if !matches!(v, Value::String(_)) {
                    let key = k.as_string().map(|s| s.to_string()).unwrap_or_default();
                    return Err(SchemaViolation {
                        path: format!("{path}.{key}"),
                        message: format!("expected a string, got {}", kind(v)),
                    });
                }
            }
            true
        }
        (PropType::List(inner), Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                check(item, inner, &format!("{path}[{i}]"))?;
            }
            true
        }
        (PropType::Object(fields), Value::Object(_)) => {
            return check_object(value, fields, &[], path);
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(SchemaViolation {
            path: path.to_owned(),
            message: format!("expected {}, got {}", t.describe(), kind(value)),
        })
    }
}

/// The JSON kind of a value, for messages.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_integer() => "an integer",
        Value::Number(_) => "a fractional number",
        Value::String(_) => "a string",
        Value::Array(_) | Value::Set(_) => "a list",
        Value::Object(_) => "an object",
        Value::Undefined => "nothing",
    }
}

/// The candidate most like `name`, if any is close enough to be a likely typo.
pub fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (strsim::levenshtein(name, c), c))
        .filter(|(d, c)| *d <= (c.len().max(name.len()) / 3).max(1))
        .min()
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse_strict;

    #[test]
    fn shipped_registry_loads_and_is_consistent() {
        let registry = Registry::parse(BUILTIN).unwrap();
        assert!(registry.types().count() >= 40);
        for t in registry.types() {
            assert!(!t.provider.is_empty(), "{} has no provider", t.name);
            assert!(
                !t.properties.contains_key("tags"),
                "{}: tags live in the envelope",
                t.name
            );
        }
        let bucket = registry.get("aws_s3_bucket").unwrap();
        assert!(bucket.taggable);
        assert!(!bucket.cost.is_empty());
        assert!(bucket.coverage.families().iter().any(|f| f == "encryption"));
        let association = registry.get("aws_route_table_association").unwrap();
        assert!(matches!(association.coverage, Coverage::NothingToJudge(_)));
    }

    /// A registry with one type whose coverage is `coverage` (JSON).
    fn with_coverage(coverage: &str) -> Result<Registry, RegistryError> {
        Registry::parse(&format!(
            r#"{{"types": {{"x_thing": {{"provider": "x", "taggable": false, "properties": {{}}, "coverage": {coverage}}}}}}}"#
        ))
    }

    #[test]
    fn coverage_is_required_and_is_one_of_two_forms() {
        let ok = with_coverage(r#"{"families": ["network", "encryption"]}"#).unwrap();
        assert_eq!(
            ok.get("x_thing").unwrap().coverage.families(),
            ["network", "encryption"]
        );
        let ok = with_coverage(r#"{"nothing_to_judge": "links two things"}"#).unwrap();
        assert_eq!(
            ok.get("x_thing").unwrap().coverage,
            Coverage::NothingToJudge("links two things".into())
        );
        for (bad, says) in [
            (r#"{}"#, "is either"),
            (
                r#"{"families": ["network"], "nothing_to_judge": "both"}"#,
                "is either",
            ),
            (r#"{"families": []}"#, "lists no families"),
            (r#"{"families": ["network", "network"]}"#, "twice"),
            (r#"{"families": [" "]}"#, "blank"),
            (r#"{"nothing_to_judge": "  "}"#, "without a reason"),
            (r#"{"family": ["network"]}"#, "unknown field"),
        ] {
            let err = with_coverage(bad).unwrap_err().to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
        let err = Registry::parse(
            r#"{"types": {"x_thing": {"provider": "x", "taggable": false, "properties": {}}}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("missing field `coverage`"), "{err}");
    }

    #[test]
    fn check_reports_the_path_and_a_hint() {
        let registry = Registry::builtin();
        let bucket = registry.get("aws_s3_bucket").unwrap();
        let v = parse_strict(r#"{"bucket": "b", "versioning": {"enabled": "yes"}}"#).unwrap();
        let err = check_object(&v, &bucket.properties, &bucket.required, "$").unwrap_err();
        assert_eq!(err.path, "$.versioning.enabled");
        assert_eq!(err.message, "expected a boolean, got a string");

        let v = parse_strict(r#"{"bucket": "b", "versionning": {"enabled": true}}"#).unwrap();
        let err = check_object(&v, &bucket.properties, &bucket.required, "$").unwrap_err();
        assert!(err.message.contains("did you mean `versioning`"), "{err}");

        let v = parse_strict(r#"{"versioning": {"enabled": true}}"#).unwrap();
        let err = check_object(&v, &bucket.properties, &bucket.required, "$").unwrap_err();
        assert_eq!(err.message, "required property `bucket` is missing");
    }

    #[test]
    fn ints_reject_fractions() {
        let v = parse_strict("1.5").unwrap();
        assert!(check(&v, &PropType::Int, "$").is_err());
        let v = parse_strict("15").unwrap();
        assert!(check(&v, &PropType::Int, "$").is_ok());
    }
}
