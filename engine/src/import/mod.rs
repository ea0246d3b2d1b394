//! Importers: Terraform plans and CloudFormation templates, resolved into the same model as stack
//! documents so one policy gives the same answer on each.
//!
//! Each importer reads only what the model needs, keeps the line of every resource for reports,
//! folds split resources (a bucket's encryption configuration, a group's rules) into the object
//! they configure, and marks values that are unknown until apply with [`UNKNOWN`] — a string, so a
//! rule that expects `true` sees "not true" (fail closed) and never "false".

pub mod cloudformation;
pub mod terraform;

use std::path::Path;

/// The value Tollgate puts where a plan says "known after apply".
pub const UNKNOWN: &str = "(known after apply)";

/// The value Tollgate puts where a plan marks a value sensitive: it is never read, stored or shown.
pub const SENSITIVE: &str = "(sensitive value)";

/// The value of tag `key` when every tagged resource carries it with the same value: importers
/// use it to find a stack's id, environment or owner when the input does not say them.
pub(crate) fn common_tag(resources: &[crate::model::Resource], key: &str) -> Option<String> {
    let mut values = resources
        .iter()
        .filter(|r| !r.tags.is_empty())
        .map(|r| r.tags.get(key));
    let first = values.next().flatten()?;
    values.all(|v| v == Some(first)).then(|| first.clone())
}

/// What kind of document a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// Decide from the content (and, for YAML, the extension).
    Auto,
    /// A Tollgate stack document.
    Stack,
    /// `terraform show -json PLAN` (or `terraform show -json` of a state).
    TerraformPlan,
    /// A CloudFormation template, JSON or YAML.
    CloudFormation,
}

impl InputFormat {
    /// What `text` (read from `file`) is, when the format is `Auto`. Terraform writes
    /// `format_version` first; stack documents begin with `stack`; a CloudFormation template has
    /// a top-level `Resources` and `AWSTemplateFormatVersion` or `AWS::` types. YAML (`.yaml`,
    /// `.yml`, a `.template` not starting with `{`) is only ever read as CloudFormation: one that
    /// is not a template is an error naming the file.
    pub fn detect(file: &Path, text: &str) -> InputFormat {
        if cloudformation::has_template_extension(file) && cloudformation::is_yaml(file, text) {
            return InputFormat::CloudFormation;
        }
        let head: String = text.chars().take(4096).collect();
        // A plan has `resource_changes` or `planned_values`; `terraform show -json` of a state
        // has `values`; both have `terraform_version`.
        if head.contains("\"format_version\"")
            && (text.contains("\"resource_changes\"")
                || text.contains("\"planned_values\"")
                || text.contains("\"terraform_version\""))
        {
            InputFormat::TerraformPlan
        } else if cloudformation::looks_like_template(file, text) {
            InputFormat::CloudFormation
        } else {
            InputFormat::Stack
        }
    }
}
