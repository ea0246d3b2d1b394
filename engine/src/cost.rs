//! Monthly cost estimates, from the registry's cost components and a price catalogue kept as data
//! (`policies/data/prices-<region>.json`).
//!
//! A component names a catalogue path such as `ec2.{properties.instance_type}`: segments are split
//! on dots outside braces, and a braced segment is replaced by the resource's value at that path, so
//! instance types with dots in them (`t3.micro`) stay one key. A price that cannot be found is an
//! error for that resource, never a silent zero: a budget check must not pass by omission.

use std::path::{Path, PathBuf};

use regorus::Value;

use crate::json;
use crate::model::{Resource, Stack};
use crate::registry::{CostComponent, Count, Registry};

/// A price catalogue for one region.
#[derive(Debug, Clone)]
pub struct PriceCatalogue {
    pub region: String,
    pub currency: String,
    pub hours_per_month: f64,
    prices: Value,
    pub file: PathBuf,
}

/// The catalogue file is missing or malformed.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct CatalogueError {
    pub file: String,
    pub message: String,
}

impl PriceCatalogue {
    /// Reads a catalogue file.
    pub fn load(file: &Path) -> Result<Self, CatalogueError> {
        let err = |message: String| CatalogueError {
            file: file.display().to_string(),
            message,
        };
        let text = json::read_text(file, json::MAX_FILE_BYTES).map_err(|e| err(e.to_string()))?;
        Self::from_text(file, &text)
    }

    /// Reads a catalogue from its text; `file` is the path shown in messages.
    pub fn from_text(file: &Path, text: &str) -> Result<Self, CatalogueError> {
        let err = |message: String| CatalogueError {
            file: file.display().to_string(),
            message,
        };
        let v = json::parse_strict(text).map_err(|e| {
            let at = e.position.map(|p| format!("{p}: ")).unwrap_or_default();
            err(format!("{at}{}", e.message))
        })?;
        let text_field = |k: &str| match &v[k] {
            Value::String(s) => Ok(s.to_string()),
            _ => Err(err(format!("`{k}` must be a string"))),
        };
        let hours_per_month = v["hours_per_month"]
            .as_f64()
            .map_err(|_| err("`hours_per_month` must be a number".into()))?;
        if !matches!(v["prices"], Value::Object(_)) {
            return Err(err("`prices` must be an object".into()));
        }
        Ok(Self {
            region: text_field("region")?,
            currency: text_field("currency")?,
            hours_per_month,
            prices: v["prices"].clone(),
            file: file.to_path_buf(),
        })
    }

    /// The price at a resolved path, or an error naming the path.
    fn price(&self, template: &str, resource: &Value) -> Result<f64, String> {
        let mut node = &self.prices;
        let mut resolved = Vec::new();
        for segment in split_outside_braces(template) {
            let key = match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(path) => match lookup(resource, path) {
                    Value::String(s) => s.to_string(),
                    Value::Number(n) => n.format_decimal(),
                    Value::Undefined | Value::Null => {
                        return Err(format!(
                            "`{path}` is not set, so the price `{template}` cannot be looked up"
                        ));
                    }
                    _ => {
                        return Err(format!(
                            "`{path}` is not a string, so the price `{template}` cannot be looked up"
                        ));
                    }
                },
                None => segment.to_owned(),
            };
            resolved.push(key.clone());
            node = &node[key.as_str()];
        }
        node.as_f64().map_err(|_| {
            format!(
                "no price `{}` in the catalogue {} (from `{template}`)",
                resolved.join("."),
                self.file.display()
            )
        })
    }
}

fn split_outside_braces(s: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0usize, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            '.' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

/// The value at a dotted path (numeric segments index lists); `Undefined` when absent.
pub fn lookup<'v>(root: &'v Value, path: &str) -> &'v Value {
    let mut node = root;
    for seg in path.split('.') {
        node = match (node, seg.parse::<usize>()) {
            (Value::Array(items), Ok(i)) => items.get(i).unwrap_or(&Value::Undefined),
            (Value::Object(_), _) => &node[seg],
            _ => &Value::Undefined,
        };
    }
    node
}

fn resource_root(r: &Resource) -> Value {
    let mut root = std::collections::BTreeMap::new();
    root.insert(Value::from("properties"), r.properties.clone());
    root.insert(Value::from("usage"), r.usage.clone());
    Value::from(root)
}

/// Estimates one resource's monthly cost in the catalogue's currency.
pub fn estimate_resource(
    r: &Resource,
    registry: &Registry,
    prices: &PriceCatalogue,
) -> Result<f64, String> {
    let Some(def) = registry.get(&r.type_name) else {
        return Err(format!("unknown type `{}`", r.type_name));
    };
    if def.cost.is_empty() {
        return Ok(0.0);
    }
    let root = resource_root(r);
    let count = |c: &Count| -> Result<f64, String> {
        match c {
            Count::Fixed(n) => Ok(*n as f64),
            Count::Path(p) => match lookup(&root, p) {
                Value::Undefined | Value::Null => Ok(1.0),
                v => v
                    .as_f64()
                    .map_err(|_| format!("`{p}` must be a number to count units")),
            },
        }
    };
    let mut total = 0.0;
    for c in &def.cost {
        total += match c {
            CostComponent::Hourly { price, count: n } => {
                prices.price(price, &root)? * prices.hours_per_month * count(n)?
            }
            CostComponent::Monthly { price, count: n } => prices.price(price, &root)? * count(n)?,
            CostComponent::PerUnit { price, quantity } => match lookup(&root, quantity) {
                Value::Undefined | Value::Null => 0.0,
                q => {
                    let q = q
                        .as_f64()
                        .map_err(|_| format!("`{quantity}` must be a number"))?;
                    prices.price(price, &root)? * q
                }
            },
        };
    }
    Ok(total)
}

/// A stack's estimate: the total of what could be priced, each resource's share, and what could not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StackCost {
    pub monthly_usd: f64,
    /// `(resource index, monthly cost)` for every resource that could be priced.
    pub resources: Vec<(usize, f64)>,
    /// `(resource index, why it could not be priced)`.
    pub errors: Vec<(usize, String)>,
    /// Why nothing was priced, when the stack's region has no price catalogue: its cost is
    /// "not estimated" (reported; only the budget rules that need the estimate fail).
    pub not_estimated: Option<String>,
}

/// Estimates every resource of a stack that exists after the change (deletions cost nothing).
pub fn estimate_stack(stack: &Stack, registry: &Registry, prices: &PriceCatalogue) -> StackCost {
    use rayon::prelude::*;
    let priced: Vec<(usize, Result<f64, String>)> = stack
        .resources
        .par_iter()
        .with_min_len(256)
        .enumerate()
        .filter(|(_, r)| r.change.remains())
        .map(|(i, r)| (i, estimate_resource(r, registry, prices)))
        .collect();
    let mut cost = StackCost::default();
    for (i, result) in priced {
        match result {
            Ok(usd) => {
                cost.monthly_usd += usd;
                cost.resources.push((i, usd));
            }
            Err(e) => cost.errors.push((i, e)),
        }
    }
    cost
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::{LineCol, parse_strict};

    fn catalogue() -> PriceCatalogue {
        PriceCatalogue {
            region: "eu-west-1".into(),
            currency: "USD".into(),
            hours_per_month: 730.0,
            prices: parse_strict(r#"{"ec2": {"t3.micro": 0.01, "m6i.large": 0.1}, "s3": {"standard_gb_month": 0.02}}"#)
                .unwrap(),
            file: "prices.json".into(),
        }
    }

    fn resource(type_name: &str, props: &str, usage: &str) -> Resource {
        Resource {
            id: "r".into(),
            type_name: type_name.into(),
            properties: parse_strict(props).unwrap(),
            tags: Default::default(),
            depends_on: vec![],
            usage: parse_strict(usage).unwrap(),
            position: LineCol { line: 1, column: 1 },
            references: vec![],
            change: crate::model::Change::Create,
        }
    }

    #[test]
    fn split_keeps_dotted_values_in_braces() {
        assert_eq!(
            split_outside_braces("ec2.{properties.instance_type}"),
            vec!["ec2", "{properties.instance_type}"]
        );
    }

    #[test]
    fn hourly_and_per_unit_components_are_priced() {
        let r = resource("aws_instance", r#"{"instance_type": "t3.micro"}"#, "null");
        let usd = estimate_resource(&r, Registry::builtin(), &catalogue()).unwrap();
        assert!(usd >= 0.01 * 730.0 - 1e-9, "{usd}");
        let r = resource(
            "aws_s3_bucket",
            r#"{"bucket": "b"}"#,
            r#"{"storage_gb": 1000}"#,
        );
        let mut cat = catalogue();
        cat.prices =
            parse_strict(r#"{"s3": {"standard_gb_month": 0.02, "requests_per_million": 0.4}}"#)
                .unwrap();
        let usd = estimate_resource(&r, Registry::builtin(), &cat).unwrap();
        assert!((usd - 20.0).abs() < 1e-9, "{usd}");
    }

    #[test]
    fn a_missing_price_is_an_error_not_zero() {
        let r = resource("aws_instance", r#"{"instance_type": "x9.huge"}"#, "null");
        let err = estimate_resource(&r, Registry::builtin(), &catalogue()).unwrap_err();
        assert!(err.contains("no price `ec2.x9.huge`"), "{err}");
    }
}
