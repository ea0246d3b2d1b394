//! SARIF 2.1.0, the format code-scanning services read (GitHub code scanning among them).
//!
//! One run; the driver lists one rule per policy id (a policy enforced by both Rego and Cedar is
//! one rule tagged with both engines) and one result per finding. Waived and overridden findings
//! stay in the log with their level and an accepted external suppression that says why, so an
//! exception is visible where the alert would be. Each result carries a partial fingerprint
//! computed from what identifies the problem (policy, engine, stack, resource, outcome) and not
//! from its wording or line, so an alert survives a reworded message or a moved resource.
//!
//! Everything is built from the typed structs below and serialised by serde; nothing depends on
//! the clock, so the same report gives the same bytes.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use sha2::{Digest, Sha256};
use tollgate_engine::finding::{Finding, Outcome, Severity};
use tollgate_engine::report::{Report, Summary};
use tollgate_engine::waiver::{OverrideUse, WaiverReport};

use crate::common::{self, Rule, Status};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const VERSION: &str = "2.1.0";
const INFORMATION_URI: &str = "https://github.com/wer1/tollgate";
/// The key of the partial fingerprint; bump the suffix if what goes into it ever changes.
pub(crate) const FINGERPRINT_KEY: &str = "tollgate/v1";

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool<'a>,
    invocations: [Invocation; 1],
    results: Vec<SarifResult<'a>>,
    properties: RunProperties<'a>,
}

#[derive(Serialize)]
struct Tool<'a> {
    driver: Driver<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver<'a> {
    name: &'a str,
    information_uri: &'static str,
    version: &'a str,
    semantic_version: &'a str,
    rules: Vec<ReportingDescriptor<'a>>,
}

/// A rule (SARIF's `reportingDescriptor`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportingDescriptor<'a> {
    id: &'a str,
    name: String,
    short_description: Text<'a>,
    full_description: Text<'a>,
    help: Help,
    default_configuration: Configuration,
    properties: RuleProperties,
}

#[derive(Serialize)]
struct Text<'a> {
    text: &'a str,
}

#[derive(Serialize)]
struct Help {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
struct Configuration {
    level: Level,
}

#[derive(Serialize)]
struct RuleProperties {
    /// `security` first: GitHub reads `security-severity` only for rules tagged `security`.
    tags: Vec<String>,
    /// GitHub's alert severity, a CVSS-like score as a string.
    #[serde(rename = "security-severity")]
    security_severity: &'static str,
    /// Deterministic rules over declared configuration: no false positives by construction.
    precision: &'static str,
    severity: Severity,
    enforcement: String,
}

#[derive(Serialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
enum Level {
    Error,
    Warning,
    Note,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation {
    execution_successful: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'a str,
    rule_index: usize,
    level: Level,
    message: Text<'a>,
    locations: [Location<'a>; 1],
    partial_fingerprints: BTreeMap<&'static str, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    suppressions: Vec<Suppression>,
    properties: ResultProperties<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location<'a> {
    physical_location: PhysicalLocation,
    logical_locations: [LogicalLocation<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    region: Region,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation {
    uri: String,
    /// `%SRCROOT%` for a relative path: relative to where the check ran (the repository root).
    #[serde(skip_serializing_if = "Option::is_none")]
    uri_base_id: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogicalLocation<'a> {
    name: &'a str,
    fully_qualified_name: String,
    kind: &'static str,
}

#[derive(Serialize)]
struct Suppression {
    kind: &'static str,
    status: &'static str,
    justification: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultProperties<'a> {
    outcome: Outcome,
    status: &'static str,
    severity: Severity,
    enforcement: String,
    engine: String,
    stack: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    waiver: Option<&'a str>,
}

#[derive(Serialize)]
struct RunProperties<'a> {
    summary: &'a Summary,
    waivers: &'a WaiverReport,
    overrides: &'a [OverrideUse],
}

pub fn render(report: &Report) -> String {
    let rules = common::rules(report);
    let index: BTreeMap<&str, usize> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.meta.id.as_str(), i))
        .collect();
    let fingerprints = fingerprints(&report.findings);
    let results = report
        .findings
        .iter()
        .zip(fingerprints)
        .map(|(f, fingerprint)| result(report, f, &index, fingerprint))
        .collect();
    let log = Log {
        schema: SCHEMA,
        version: VERSION,
        runs: [Run {
            tool: Tool {
                driver: Driver {
                    name: report.tool.name,
                    information_uri: INFORMATION_URI,
                    version: report.tool.version,
                    semantic_version: report.tool.version,
                    rules: rules.iter().map(descriptor).collect(),
                },
            },
            // The check ran to the end; rule errors are results (level error), not a failed run.
            invocations: [Invocation {
                execution_successful: true,
            }],
            results,
            properties: RunProperties {
                summary: &report.summary,
                waivers: &report.waivers,
                overrides: &report.overrides,
            },
        }],
    };
    let mut out = serde_json::to_string_pretty(&log)
        .unwrap_or_else(|e| format!(r#"{{"error": "could not serialise the SARIF log: {e}"}}"#));
    out.push('\n');
    out
}

fn level(severity: Severity) -> Level {
    match severity {
        Severity::Critical | Severity::High => Level::Error,
        Severity::Medium => Level::Warning,
        Severity::Low | Severity::Info => Level::Note,
    }
}

fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "1.0",
    }
}

fn descriptor<'a>(rule: &'a Rule<'a>) -> ReportingDescriptor<'a> {
    let m = &*rule.meta;
    let engines = common::engine_list(&rule.engines);
    let why = if m.description.is_empty() {
        m.title.as_str()
    } else {
        m.description.as_str()
    };
    let defined_in = rule.files.join(", ");
    let title = m.title.trim_end_matches('.');
    let mut text = format!(
        "What it checks: {title}.\nWhy it matters: {why}\nHow to fix: {}\n\nSeverity: {}. Enforcement: {}. Engines: {engines}.",
        m.remediation, m.severity, m.enforcement
    );
    let mut markdown = format!(
        "**What it checks.** {title}.\n\n**Why it matters.** {why}\n\n**How to fix.** {}\n\nSeverity **{}**, enforcement **{}**, engines: {engines}.",
        m.remediation, m.severity, m.enforcement
    );
    if !defined_in.is_empty() {
        let _ = write!(text, " Defined in {defined_in}.");
        let files: Vec<String> = rule.files.iter().map(|f| format!("`{f}`")).collect();
        let _ = write!(markdown, " Defined in {}.", files.join(", "));
    }
    let mut tags = vec!["security".to_owned(), m.family.clone()];
    tags.extend(rule.engines.iter().map(ToString::to_string));
    ReportingDescriptor {
        id: &m.id,
        name: rule_name(&m.title, &m.id),
        short_description: Text { text: &m.title },
        full_description: Text { text: why },
        help: Help { text, markdown },
        default_configuration: Configuration {
            level: level(m.severity),
        },
        properties: RuleProperties {
            tags,
            security_severity: security_severity(m.severity),
            precision: "very-high",
            severity: m.severity,
            enforcement: m.enforcement.to_string(),
        },
    }
}

/// A PascalCase name from a title: `S3 buckets keep object versions` → `S3BucketsKeepObjectVersions`.
fn rule_name(title: &str, id: &str) -> String {
    let name: String = title
        .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’'))
        .flat_map(|word| {
            let mut chars = word.chars().filter(|c| c.is_alphanumeric());
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect::<String>())
        })
        .collect();
    if name.is_empty() {
        id.replace(|c: char| !c.is_alphanumeric(), "")
    } else {
        name
    }
}

fn result<'a>(
    report: &'a Report,
    f: &'a Finding,
    index: &BTreeMap<&str, usize>,
    fingerprint: String,
) -> SarifResult<'a> {
    let status = Status::of(f);
    let (uri, uri_base_id) = artifact_uri(&f.file);
    let suppressions = match status {
        Status::Waived(id) => {
            let justification = match report.waivers.applied.iter().find(|w| w.id == id) {
                Some(w) => format!(
                    "waiver {id} (approved by {}, expires {}): {}",
                    w.approved_by, w.expires, w.reason
                ),
                None => format!("waiver {id}"),
            };
            vec![accepted(justification)]
        }
        Status::Overridden => {
            let reason = report
                .overrides
                .iter()
                .find(|o| o.policy == f.policy)
                .map_or("no reason recorded", |o| o.reason.as_str());
            vec![accepted(format!(
                "override of {} for this run: {reason}",
                f.policy
            ))]
        }
        Status::Fail | Status::Error | Status::Unknown | Status::Advisory => Vec::new(),
    };
    SarifResult {
        rule_id: &f.policy,
        // `rules` covers every finding's policy, so the lookup cannot miss.
        rule_index: index.get(f.policy.as_str()).copied().unwrap_or_default(),
        level: if f.outcome == Outcome::Error {
            Level::Error
        } else {
            level(f.severity)
        },
        message: Text { text: &f.message },
        locations: [Location {
            physical_location: PhysicalLocation {
                artifact_location: ArtifactLocation { uri, uri_base_id },
                region: Region {
                    start_line: f.line.unwrap_or(1).max(1),
                },
            },
            logical_locations: [LogicalLocation {
                name: f.resource.as_deref().unwrap_or(&f.stack),
                fully_qualified_name: common::subject(f),
                kind: if f.resource.is_some() {
                    "resource"
                } else {
                    "module"
                },
            }],
        }],
        partial_fingerprints: BTreeMap::from([(FINGERPRINT_KEY, fingerprint)]),
        suppressions,
        properties: ResultProperties {
            outcome: f.outcome,
            status: status.word(),
            severity: f.severity,
            enforcement: f.enforcement.to_string(),
            engine: f.engine.to_string(),
            stack: &f.stack,
            resource_type: f.resource_type.as_deref(),
            waiver: f.waiver.as_deref(),
        },
    }
}

fn accepted(justification: String) -> Suppression {
    Suppression {
        kind: "external",
        status: "accepted",
        justification,
    }
}

/// One fingerprint per finding: the SHA-256 of `policy|engine|stack|resource|outcome`. A rule that
/// reports the same resource more than once (two open ports, say) gets `|2`, `|3`, … appended for
/// the repeats, in the report's order, so no two results share a fingerprint.
fn fingerprints(findings: &[Finding]) -> Vec<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    findings
        .iter()
        .map(|f| {
            let key = format!(
                "{}|{}|{}|{}|{}",
                f.policy,
                f.engine,
                f.stack,
                f.resource.as_deref().unwrap_or(""),
                f.outcome.word()
            );
            let n = seen.entry(key.clone()).or_insert(0);
            *n += 1;
            let input = if *n == 1 { key } else { format!("{key}|{n}") };
            let mut hex = String::with_capacity(64);
            for b in Sha256::digest(input.as_bytes()).iter() {
                let _ = write!(hex, "{b:02x}");
            }
            hex
        })
        .collect()
}

/// A finding's file as a SARIF artifact URI: a relative path (forward slashes, percent-encoded)
/// based at `%SRCROOT%`, or a `file://` URI for an absolute path.
fn artifact_uri(file: &str) -> (String, Option<&'static str>) {
    let path = file.replace('\\', "/");
    let bytes = path.as_bytes();
    let drive = bytes.len() >= 3 && bytes[0].is_ascii_alphabetic() && &bytes[1..3] == b":/";
    if drive {
        // `C:/x` → `file:///C:/x`; the drive's colon stays as it is.
        return (
            format!("file:///{}{}", &path[..2], percent_encode(&path[2..])),
            None,
        );
    }
    if path.starts_with('/') {
        return (format!("file://{}", percent_encode(&path)), None);
    }
    let mut rel = path.as_str();
    while let Some(rest) = rel.strip_prefix("./") {
        rel = rest;
    }
    (percent_encode(rel), Some("%SRCROOT%"))
}

/// Percent-encodes everything but RFC 3986's unreserved characters, `/`, and the sub-delimiters
/// and `@` allowed in a path. `:` is encoded, so a relative path never reads as a scheme.
fn percent_encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for &b in path.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=@".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_relative_with_forward_slashes_or_file_uris() {
        assert_eq!(
            artifact_uri("stacks/database.json"),
            ("stacks/database.json".into(), Some("%SRCROOT%"))
        );
        assert_eq!(
            artifact_uri("./stacks\\a b:c%.json"),
            ("stacks/a%20b%3Ac%25.json".into(), Some("%SRCROOT%"))
        );
        assert_eq!(
            artifact_uri("/srv/repo/stacks/é.json"),
            ("file:///srv/repo/stacks/%C3%A9.json".into(), None)
        );
        assert_eq!(
            artifact_uri("C:\\repo\\stacks\\x.json"),
            ("file:///C:/repo/stacks/x.json".into(), None)
        );
    }

    #[test]
    fn rule_names_are_pascal_case() {
        assert_eq!(
            rule_name("S3 buckets keep object versions", "X"),
            "S3BucketsKeepObjectVersions"
        );
        assert_eq!(
            rule_name("The repository's name agrees", "X"),
            "TheRepositorysNameAgrees"
        );
        assert_eq!(
            rule_name("serves HTTPS with TLS 1.2+", "X"),
            "ServesHTTPSWithTLS12"
        );
        assert_eq!(rule_name(" — ", "TG-X-001"), "TGX001");
    }

    #[test]
    fn severities_map_to_levels_and_scores() {
        assert_eq!(level(Severity::Critical), Level::Error);
        assert_eq!(level(Severity::High), Level::Error);
        assert_eq!(level(Severity::Medium), Level::Warning);
        assert_eq!(level(Severity::Low), Level::Note);
        assert_eq!(level(Severity::Info), Level::Note);
        assert_eq!(security_severity(Severity::High), "8.0");
    }
}
