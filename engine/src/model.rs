//! The model every engine judges: an estate of stacks, each a list of resources.
//!
//! Stack documents, Terraform plans and (later) the live cloud are all resolved into these types,
//! so one policy serves them all. A resource keeps the place it was read from, for messages and
//! for SARIF locations.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use regorus::Value;

use crate::json::LineCol;

/// Every stack that was loaded, sorted by id.
#[derive(Debug, Clone, Default)]
pub struct Estate {
    pub stacks: Vec<Stack>,
}

impl Estate {
    pub fn resource_count(&self) -> usize {
        self.stacks.iter().map(|s| s.resources.len()).sum()
    }

    pub fn stack(&self, id: &str) -> Option<&Stack> {
        self.stacks
            .binary_search_by(|s| s.id.as_str().cmp(id))
            .ok()
            .map(|i| &self.stacks[i])
    }
}

/// A stack's monthly budget cap and the percentages at which its alerts fire.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Budget {
    pub monthly_limit_usd: i64,
    pub alert_thresholds_pct: Vec<i64>,
}

/// One component of the estate: a repository's worth of resources.
#[derive(Debug, Clone)]
pub struct Stack {
    pub id: String,
    pub repository: String,
    pub environment: String,
    pub region: String,
    pub account: String,
    pub owner: String,
    /// Declared stack dependencies plus those implied by cross-stack references, sorted.
    pub depends_on: Vec<String>,
    pub budget: Option<Budget>,
    pub resources: Vec<Resource>,
    pub source: Source,
    pub origin: Origin,
    /// What was read from the input that no rule can see: resources whose type is not
    /// registered (or that configure an object outside the input), and settings of modelled
    /// resources the importer could not map. Each is a coverage finding (`TG-COV-001`,
    /// `TG-COV-003`), not a silent pass.
    pub unmodelled: Vec<Unmodelled>,
    /// Resources that policies judge but Tollgate does not provision: resource ids or type
    /// names, each with the reason (who manages them instead).
    pub managed_elsewhere: BTreeMap<String, String>,
    /// For a plan or template: where each envelope field came from ([`crate::envelope`]).
    /// Empty for stack documents, which state their envelope.
    pub envelope: crate::envelope::Envelope,
}

impl Stack {
    /// Why `resource` is not provisioned by Tollgate, when the stack says it is managed
    /// elsewhere (by its id or by its type).
    pub fn managed_elsewhere(&self, resource: &Resource) -> Option<&str> {
        self.managed_elsewhere
            .get(&resource.id)
            .or_else(|| self.managed_elsewhere.get(&resource.type_name))
            .map(String::as_str)
    }
}

/// Something an importer read but could not model: a whole resource (its type is not
/// registered, or the object it configures is not in the input), or one setting of a modelled
/// resource.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Unmodelled {
    /// The resource as the input names it: a plan address, a logical id.
    pub address: String,
    /// Its type as the input names it (`random_id`, `AWS::CloudWatch::Alarm`).
    pub type_name: String,
    /// The setting that was not mapped (an input path such as `Policies`), when the resource
    /// itself is modelled; `None` when the whole resource is not.
    pub attribute: Option<String>,
    /// Why, when there is more to say than "not registered".
    pub reason: Option<String>,
    /// Where it starts in its file.
    pub position: LineCol,
}

impl Unmodelled {
    /// A resource of a type Tollgate does not model.
    pub fn resource(
        address: impl Into<String>,
        type_name: impl Into<String>,
        position: LineCol,
    ) -> Self {
        Self {
            address: address.into(),
            type_name: type_name.into(),
            attribute: None,
            reason: None,
            position,
        }
    }

    /// A setting of a modelled resource that the importer could not map.
    pub fn setting(
        address: impl Into<String>,
        type_name: impl Into<String>,
        attribute: impl Into<String>,
        position: LineCol,
    ) -> Self {
        Self {
            attribute: Some(attribute.into()),
            ..Self::resource(address, type_name, position)
        }
    }

    /// With the reason said.
    pub fn because(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// Whether it is an AWS resource (Terraform's `aws_…`, CloudFormation's `AWS::…`): a gap
    /// there fails until waived; other providers' gaps are advisory.
    pub fn is_aws(&self) -> bool {
        self.type_name.starts_with("aws_")
            || self.type_name.starts_with("AWS::")
            || self.type_name.starts_with("Fn::ForEach")
    }
}

impl std::fmt::Display for Unmodelled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.attribute, &self.reason) {
            (None, None) => write!(f, "{} ({})", self.address, self.type_name),
            (None, Some(r)) => write!(f, "{} ({}: {r})", self.address, self.type_name),
            (Some(a), None) => write!(f, "{} ({}: `{a}` not read)", self.address, self.type_name),
            (Some(a), Some(r)) => {
                write!(
                    f,
                    "{} ({}: `{a}` not read: {r})",
                    self.address, self.type_name
                )
            }
        }
    }
}

/// Compares with the text reports show (`address (type)`).
impl PartialEq<&str> for Unmodelled {
    fn eq(&self, other: &&str) -> bool {
        let shown: &str = &self.to_string();
        shown == *other
    }
}

/// What a stack was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Document,
    TerraformPlan,
    CloudFormation,
}

impl Origin {
    /// Imported from another tool's format (a plan or a template): checked together with the
    /// stack document of the same id, it replaces that document's resources.
    pub fn is_imported(self) -> bool {
        matches!(self, Origin::TerraformPlan | Origin::CloudFormation)
    }
}

/// Where a stack was read from.
#[derive(Debug, Clone)]
pub struct Source {
    pub file: Arc<Path>,
    pub position: LineCol,
}

impl Source {
    pub fn new(file: &Path, position: LineCol) -> Self {
        Self {
            file: Arc::from(file),
            position,
        }
    }

    pub fn path(&self) -> PathBuf {
        self.file.to_path_buf()
    }
}

/// One real object (a bucket with its encryption, a security group with its rules, …).
#[derive(Debug, Clone)]
pub struct Resource {
    pub id: String,
    pub type_name: String,
    /// The settings, validated against the type's schema.
    pub properties: Value,
    pub tags: BTreeMap<String, String>,
    /// Declared dependencies plus those implied by same-stack references, sorted.
    pub depends_on: Vec<String>,
    /// Usage estimates for the cost model (Infracost style); `Value::Null` when absent.
    pub usage: Value,
    /// Where the resource's object starts in its file.
    pub position: LineCol,
    /// `${id}` / `${stack.id}` references found in its properties.
    pub references: Vec<Reference>,
    /// What the change does to it: stack documents describe resources to create; plans say.
    pub change: Change,
}

/// What a change does to one resource (Terraform's plan actions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    Create,
    Update,
    /// Deleted, then created again (or created before the old one is deleted).
    Replace,
    Delete,
    NoOp,
}

impl Change {
    /// Whether the resource exists after the change (so policies on its settings apply).
    pub fn remains(self) -> bool {
        self != Change::Delete
    }
}

/// A reference from a property value to another resource.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Reference {
    /// `None` for the same stack.
    pub stack: Option<String>,
    pub resource: String,
    /// JSON path of the property holding it, below the resource.
    pub at: String,
}

impl Reference {
    /// Parses a whole-string reference: `${id}` or `${stack.id}`.
    pub fn parse(s: &str, at: impl FnOnce() -> String) -> Option<Reference> {
        let inner = s.strip_prefix("${")?.strip_suffix('}')?;
        let (stack, resource) = match inner.split_once('.') {
            Some((stack, id)) => (Some(stack), id),
            None => (None, inner),
        };
        if !is_identifier(resource) || !stack.is_none_or(is_identifier) {
            return None;
        }
        Some(Reference {
            stack: stack.map(str::to_owned),
            resource: resource.to_owned(),
            at: at(),
        })
    }
}

/// Stack and resource ids: a letter or digit, then letters, digits, `_` or `-`.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_whole_strings_only() {
        let r = Reference::parse("${networking.vpc}", || "x".into()).unwrap();
        assert_eq!(r.stack.as_deref(), Some("networking"));
        assert_eq!(r.resource, "vpc");
        let r = Reference::parse("${events_key}", || "x".into()).unwrap();
        assert_eq!(r.stack, None);
        assert!(Reference::parse("arn:${x}", || "x".into()).is_none());
        assert!(Reference::parse("${a.b.c}", || "x".into()).is_none());
        assert!(Reference::parse("${}", || "x".into()).is_none());
    }
}
