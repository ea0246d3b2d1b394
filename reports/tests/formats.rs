//! Every format over reports made by the real pipeline (`check::run`), as golden snapshots, plus
//! the checks a consumer of each format relies on: SARIF validates against the official 2.1.0
//! schema and has what GitHub code scanning needs; JUnit parses and counts right; Markdown stays
//! under a pull-request comment's size limit.
//!
//! Three reports: `violating` (one policy's failing fixture, no waivers), `estate` (the shipped
//! stacks with the shipped waivers.json: one waived finding) and `mixed` (tests/fixtures/mixed:
//! a failing, a waived, an overridden and an advisory finding, an expired and an unused waiver,
//! and a passing stack). File paths in the reports are made relative to the repository root, as
//! `tollgate check` run from there reports them; the snapshots redact the version and any
//! absolute path that would still show.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns unwrap too

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde_json::Value;
use tollgate_engine::check::{self, CheckSettings};
use tollgate_engine::finding::Outcome;
use tollgate_engine::policy::Principal;
use tollgate_engine::report::Report;
use tollgate_engine::waiver::Override;
use tollgate_reports::{Format, RenderOptions, render};

const SCHEMA_SCRIPT: &str = "fixtures/sarif/fetch-schema.sh";
const SCHEMA_FILE: &str = "fixtures/sarif/sarif-schema-2.1.0.json";
const FINGERPRINT_KEY: &str = "tollgate/v1";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn check(paths: &[&str], waivers: Option<&str>, overrides: Vec<Override>) -> Report {
    let root = root();
    let mut settings = CheckSettings::new(
        paths.iter().map(|p| root.join(p)).collect(),
        root.join("policies"),
        Principal::parse("ci:tollgate-ci").unwrap(),
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(),
    );
    settings.waivers = waivers.map(|w| root.join(w));
    settings.overrides = overrides;
    let mut report = check::run(&settings).unwrap_or_else(|e| panic!("{paths:?}: {e}"));
    relativize(&mut report, &root);
    report
}

/// Paths as `tollgate check` reports them when run from the repository root.
fn relativize(report: &mut Report, root: &Path) {
    let prefix = format!("{}/", root.display());
    let strip = |s: &mut String| {
        if let Some(rest) = s.strip_prefix(&prefix) {
            *s = rest.to_owned();
        }
    };
    report.findings.iter_mut().for_each(|f| strip(&mut f.file));
    report.stacks.iter_mut().for_each(|s| strip(&mut s.file));
    report.policies.iter_mut().for_each(|p| strip(&mut p.file));
}

fn violating() -> Report {
    check(&["fixtures/policies/TG-ENC-001/violating"], None, vec![])
}

fn estate() -> Report {
    check(&["stacks"], Some("waivers.json"), vec![])
}

fn mixed() -> Report {
    check(
        &["reports/tests/fixtures/mixed/stacks"],
        Some("reports/tests/fixtures/mixed/waivers.json"),
        vec![Override {
            policy: "TG-BAK-001".into(),
            reason: "Ledger restore drill moved to Q1 | retention raised in PAY-1234".into(),
        }],
    )
}

fn cases() -> [(&'static str, Report); 3] {
    [
        ("violating", violating()),
        ("estate", estate()),
        ("mixed", mixed()),
    ]
}

/// The version and the repository root, wherever the checkout is, made constant.
fn redact(text: &str, report: &Report) -> String {
    let root = root().display().to_string();
    text.replace(&format!("{root}/"), "[ROOT]/")
        .replace(&root, "[ROOT]")
        .replace(&format!("\"{}\"", report.tool.version), "\"[VERSION]\"")
}

fn out(report: &Report, format: Format) -> String {
    render(report, format, RenderOptions::default())
}

fn sarif(report: &Report) -> Value {
    serde_json::from_str(&out(report, Format::Sarif)).unwrap()
}

// ---- golden snapshots ----------------------------------------------------------------------

#[test]
fn golden_outputs() {
    for (name, report) in cases() {
        for (format_name, format) in Format::ALL {
            let text = redact(&out(&report, format), &report);
            assert!(
                !text.contains(&root().display().to_string()),
                "{name} {format_name}: an absolute path is left"
            );
            insta::with_settings!({
                prepend_module_to_snapshot => false,
                omit_expression => true,
                description => format!("tollgate check, {name} report, --format {format_name}"),
            }, {
                insta::assert_snapshot!(format!("{name}__{format_name}"), text);
            });
        }
    }
}

#[test]
fn output_is_deterministic() {
    for (name, report) in cases() {
        let again = match name {
            "violating" => violating(),
            "estate" => estate(),
            _ => mixed(),
        };
        for (format_name, format) in Format::ALL {
            assert_eq!(
                out(&report, format),
                out(&again, format),
                "{name} {format_name} differs between two runs"
            );
        }
    }
}

// ---- SARIF -----------------------------------------------------------------------------------

fn schema() -> Value {
    let path = root().join(SCHEMA_FILE);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read the SARIF 2.1.0 schema at {} ({e}). It is not kept in git: run \
             `{SCHEMA_SCRIPT}` (it fetches the schema from the npm registry and checks its digest).",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "{} is not JSON ({e}); run `{SCHEMA_SCRIPT}` again",
            path.display()
        )
    })
}

/// The `language` pattern of `run` and `toolComponent` in the official schema has a stray `]`:
/// JavaScript (Annex B) reads it as a literal, the `jsonschema` crate rejects the schema for it.
/// Escaping it keeps the meaning; Tollgate's logs have no `language` anyway.
const LANGUAGE_PATTERN: (&str, &str) = (
    "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$",
    "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}\\]?$",
);

fn validator(schema: &Value) -> jsonschema::Validator {
    assert_eq!(
        schema["$schema"], "http://json-schema.org/draft-04/schema#",
        "the SARIF schema declares another draft than the validator is built for"
    );
    let mut schema = schema.clone();
    let mut patched = 0;
    for definition in ["run", "toolComponent"] {
        let pattern = &mut schema["definitions"][definition]["properties"]["language"]["pattern"];
        if *pattern == LANGUAGE_PATTERN.0 {
            *pattern = LANGUAGE_PATTERN.1.into();
            patched += 1;
        }
    }
    assert_eq!(
        patched, 2,
        "the schema's language patterns changed: revisit LANGUAGE_PATTERN"
    );
    jsonschema::draft4::options()
        .offline()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

fn schema_errors(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn sarif_validates_against_the_official_schema() {
    let schema = schema();
    let validator = validator(&schema);
    for (name, report) in cases() {
        let log = sarif(&report);
        let errors = schema_errors(&validator, &log);
        assert!(errors.is_empty(), "{name}: {errors:#?}");
    }
    // The validator does reject what the schema forbids.
    let mut broken = sarif(&mixed());
    broken["runs"][0]["results"][0]["level"] = "fatal".into();
    broken["runs"][0]["results"][1]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        0.into();
    assert_eq!(schema_errors(&validator, &broken).len(), 2);
}

#[test]
fn sarif_has_what_github_code_scanning_needs() {
    for (name, report) in cases() {
        let log = sarif(&report);
        assert_eq!(log["version"], "2.1.0");
        let run = &log["runs"][0];
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
        let unique: BTreeSet<&str> = ids.iter().copied().collect();
        assert_eq!(unique.len(), ids.len(), "{name}: rule ids repeat");
        let policies: BTreeSet<&str> = report.policies.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(unique, policies, "{name}: one rule per policy id");
        for rule in rules {
            let score: f64 = rule["properties"]["security-severity"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((0.0..=10.0).contains(&score));
            let tags = rule["properties"]["tags"].as_array().unwrap();
            assert!(tags.iter().any(|t| t == "security"), "{name}: {rule}");
            assert!(!rule["help"]["text"].as_str().unwrap().is_empty());
        }
        let results = run["results"].as_array().unwrap();
        assert_eq!(results.len(), report.findings.len());
        let mut fingerprints = BTreeSet::new();
        for r in results {
            let id = r["ruleId"].as_str().unwrap();
            let index = usize::try_from(r["ruleIndex"].as_u64().unwrap()).unwrap();
            assert_eq!(ids[index], id, "{name}: ruleIndex points at its rule");
            let physical = &r["locations"][0]["physicalLocation"];
            let uri = physical["artifactLocation"]["uri"].as_str().unwrap();
            assert!(!uri.is_empty() && !uri.starts_with('/') && !uri.contains('\\'));
            assert!(physical["region"]["startLine"].as_u64().unwrap() >= 1);
            let fp = r["partialFingerprints"][FINGERPRINT_KEY].as_str().unwrap();
            assert!(fp.len() == 64 && fp.chars().all(|c| c.is_ascii_hexdigit()));
            assert!(
                fingerprints.insert(fp.to_owned()),
                "{name}: fingerprint repeats"
            );
        }
    }
}

fn fingerprints(report: &Report) -> Vec<String> {
    sarif(report)["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["partialFingerprints"][FINGERPRINT_KEY]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[test]
fn fingerprints_are_stable_and_ignore_wording_and_lines() {
    let first = fingerprints(&mixed());
    assert_eq!(first, fingerprints(&mixed()));
    let mut moved = mixed();
    for f in &mut moved.findings {
        f.message.push_str(" (reworded)");
        f.line = f.line.map(|l| l + 40);
    }
    assert_eq!(first, fingerprints(&moved));
    // A mirrored rule's Rego and Cedar halves firing on one resource are one finding, one alert.
    let report = violating();
    assert_eq!(report.findings.len(), 1);
    assert_eq!(report.findings[0].engines.len(), 2);
    let v = fingerprints(&report);
    assert_eq!(v.len(), 1);
    // A rule reporting one resource twice gets two fingerprints.
    let mut twice = violating();
    let mut again = twice.findings[0].clone();
    again.message = "a second problem".into();
    twice.findings.insert(1, again);
    let t = fingerprints(&twice);
    assert_eq!(t.iter().collect::<BTreeSet<_>>().len(), 2);
    assert_eq!(t[0], v[0]);
}

#[test]
fn sarif_suppresses_waived_and_overridden_findings_with_the_reason() {
    let report = mixed();
    let log = sarif(&report);
    let results = log["runs"][0]["results"].as_array().unwrap();
    let mut seen = BTreeMap::new();
    for (r, f) in results.iter().zip(&report.findings) {
        let status = r["properties"]["status"].as_str().unwrap().to_owned();
        let suppressions = r.get("suppressions").and_then(Value::as_array);
        match status.as_str() {
            "waived" => {
                let s = &suppressions.unwrap()[0];
                assert_eq!(s["kind"], "external");
                assert_eq!(s["status"], "accepted");
                let j = s["justification"].as_str().unwrap();
                assert!(
                    j.contains("W-0001") && j.contains("regenerated nightly"),
                    "{j}"
                );
            }
            "overridden" => {
                let j = suppressions.unwrap()[0]["justification"].as_str().unwrap();
                assert!(j.contains("restore drill"), "{j}");
            }
            _ => assert!(suppressions.is_none(), "{status}: {r}"),
        }
        assert_eq!(
            r["level"],
            match f.severity.to_string().as_str() {
                "critical" | "high" => "error",
                "medium" => "warning",
                _ => "note",
            }
        );
        *seen.entry(status).or_insert(0) += 1;
    }
    assert_eq!(
        seen,
        BTreeMap::from([
            ("advisory".to_owned(), 1),
            // Each mirrored problem once (both engines named), not once per engine.
            ("fail".to_owned(), 1),
            ("overridden".to_owned(), 1),
            ("waived".to_owned(), 1),
        ])
    );
}

/// The mixed report with its first failing finding turned into a rule error.
fn with_rule_error() -> Report {
    let mut report = mixed();
    let f = report.findings.iter_mut().find(|f| f.fails()).unwrap();
    f.outcome = Outcome::Error;
    f.message = "rule error: undefined function <crypto.x509>".into();
    report.summary.errors = 1;
    report
}

#[test]
fn rule_errors_are_error_results_everywhere() {
    let report = with_rule_error();
    let log = sarif(&report);
    let errors: Vec<&Value> = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["properties"]["outcome"] == "error")
        .collect();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["level"], "error");
    assert!(schema_errors(&validator(&schema()), &log).is_empty());

    let xml = out(&report, Format::Junit);
    assert!(
        xml.contains(
            r#"<error message="uploads: rule error: undefined function &lt;crypto.x509&gt;"#
        ),
        "{xml}"
    );
    assert!(
        xml.contains(
            r#"<testsuite name="payments" tests="50" failures="0" errors="1" skipped="1""#
        ),
        "{xml}"
    );

    let md = out(&report, Format::Markdown);
    assert!(md.contains("(1 rule error)"), "{md}");
    assert!(
        md.contains("**rule error:** rule error: undefined function &lt;crypto.x509&gt;"),
        "{md}"
    );
}

// ---- JUnit -----------------------------------------------------------------------------------

/// Parses the XML (failing on anything malformed) into (element, attributes) in document order.
fn elements(xml: &str) -> Vec<(String, BTreeMap<String, String>)> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut out = Vec::new();
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) | Event::Empty(e) => {
                let attrs = e
                    .attributes()
                    .map(|a| {
                        let a = a.unwrap();
                        (
                            a.key.as_ref().to_owned(),
                            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                .unwrap()
                                .into_owned(),
                        )
                    })
                    .collect();
                out.push((e.name().as_ref().to_owned(), attrs));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

#[test]
fn junit_parses_and_counts_one_case_per_stack_and_policy() {
    for (name, report) in cases() {
        let xml = out(&report, Format::Junit);
        let elements = elements(&xml);
        let policies: BTreeSet<&str> = report.policies.iter().map(|p| p.id.as_str()).collect();
        let suites: Vec<_> = elements.iter().filter(|(e, _)| e == "testsuite").collect();
        assert_eq!(suites.len(), report.stacks.len(), "{name}");
        let cases: Vec<_> = elements.iter().filter(|(e, _)| e == "testcase").collect();
        assert_eq!(cases.len(), report.stacks.len() * policies.len(), "{name}");
        let root = &elements[0].1;
        assert_eq!(root["tests"], cases.len().to_string());
        let failures = elements.iter().filter(|(e, _)| e == "failure").count();
        assert_eq!(root["failures"], failures.to_string(), "{name}");
        let skipped = elements.iter().filter(|(e, _)| e == "skipped").count();
        assert_eq!(root["skipped"], skipped.to_string(), "{name}");
    }
    // The mixed report: the hard failure fails, the waived policy is skipped, the overridden and
    // advisory ones pass with their findings in system-out.
    let xml = out(&mixed(), Format::Junit);
    assert!(
        xml.contains(
            r#"<testsuite name="payments" tests="50" failures="1" errors="0" skipped="1""#
        ),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<skipped message="waived: W-0001"/>"#),
        "{xml}"
    );
    assert!(xml.contains("overridden: ledger: "), "{xml}");
    assert!(xml.contains("advisory: audit-logs: "), "{xml}");
    assert!(
        xml.contains(r#"<testsuite name="edge" tests="50" failures="0" errors="0" skipped="0""#),
        "{xml}"
    );
}

#[test]
fn hostile_text_stays_inside_its_cell_and_element() {
    let mut report = violating();
    report.findings[0].message = "a|b\nc <x> & \"q\" 'a' \u{1b}[31m".into();
    let xml = out(&report, Format::Junit);
    let failure = elements(&xml)
        .into_iter()
        .find(|(e, _)| e == "failure")
        .unwrap()
        .1;
    assert!(
        failure["message"].starts_with("logs: a|b\nc <x> & \"q\" 'a' \u{fffd}[31m ("),
        "{failure:?}"
    );
    let md = out(&report, Format::Markdown);
    let row = md
        .lines()
        .find(|l| l.starts_with("| fixture | logs |"))
        .unwrap();
    assert!(
        row.contains("| a\\|b<br>c &lt;x&gt; &amp; \"q\" 'a' \u{fffd}\\[31m |"),
        "{row}"
    );
}

// ---- Markdown --------------------------------------------------------------------------------

#[test]
fn markdown_is_capped_for_a_pull_request_comment() {
    let mut report = violating();
    let template = report.findings[0].clone();
    report.findings = (0..5000)
        .map(|i| {
            let mut f = template.clone();
            f.resource = Some(format!("bucket-{i:04}"));
            f.message = format!("{} | {}", "very long message ".repeat(40), i);
            f
        })
        .collect();
    report.summary.failing = report.findings.len();
    let md = out(&report, Format::Markdown);
    assert!(md.chars().count() < 65_536, "{} chars", md.chars().count());
    let rows = md.lines().filter(|l| l.starts_with("| fixture |")).count();
    assert!((1..=200).contains(&rows), "{rows} rows");
    assert!(
        md.contains(&format!("… and {} more failing findings", 5000 - rows)),
        "{md}"
    );
    assert!(md.starts_with("## ❌ Tollgate: FAIL — 5000 failing findings in 1 stack\n"));
}

// ---- Unknown outcomes ---------------------------------------------------------------------------

/// fixtures/unknown: one rule whose value is only known at apply, in both engines.
fn with_unknowns() -> Report {
    let root = root();
    let settings = CheckSettings::new(
        vec![root.join("fixtures/unknown/unknown")],
        root.join("fixtures/unknown/policies"),
        Principal::parse("ci:tollgate-ci").unwrap(),
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(),
    );
    let mut report = check::run(&settings).unwrap();
    relativize(&mut report, &root);
    report
}

#[test]
fn unknown_findings_fail_and_say_so_in_every_format() {
    let report = with_unknowns();
    // Both halves of the rule are unknown: one finding naming both engines.
    assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.outcome == Outcome::Unknown)
    );
    assert_eq!(report.findings[0].engines.len(), 2);
    let why = tollgate_engine::finding::UNKNOWN_EXPLANATION;

    let table = out(&report, Format::Table);
    assert!(table.contains("UNKNOWN"), "{table}");
    assert!(table.contains(why), "{table}");

    let json: Value = serde_json::from_str(&out(&report, Format::Json)).unwrap();
    let findings = json["findings"].as_array().unwrap();
    assert!(findings.iter().all(|f| f["outcome"] == "unknown"), "{json}");
    assert_eq!(json["summary"]["verdict"], "fail");

    let log = sarif(&report);
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    for r in results {
        assert_eq!(
            r["properties"]["engines"],
            serde_json::json!(["rego", "cedar"]),
            "{r}"
        );
        assert_eq!(r["properties"]["outcome"], "unknown", "{r}");
        assert_eq!(r["properties"]["status"], "unknown", "{r}");
        assert!(r["message"]["text"].as_str().unwrap().contains(why));
    }
    assert!(schema_errors(&validator(&schema()), &log).is_empty());

    let xml = out(&report, Format::Junit);
    assert!(xml.contains("<failure"), "{xml}");
    assert!(xml.contains(why), "{xml}");

    let md = out(&report, Format::Markdown);
    assert!(md.contains("**unknown:**"), "{md}");
    assert!(md.contains(why), "{md}");
}
