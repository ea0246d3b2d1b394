//! JUnit XML, the shape CI test reporters read (GitLab's `artifacts:reports:junit`, GitHub
//! actions such as dorny/test-reporter and mikepenz/action-junit-report).
//!
//! One `<testsuite>` per stack, and in it one `<testcase>` per policy id (every policy of the
//! report, in its order; a policy enforced by both Rego and Cedar is one test case whose lines
//! name the engine). Estate- and stack-level findings belong to the stack they name. A case:
//!
//! - has an `<error>` when any of its findings is a rule error that fails the run (fail closed);
//!   its text lists the errors, then the failing violations;
//! - else has a `<failure>` when any of its findings fails the run, one line per failing finding
//!   (`resource: message (file:line) [engine]`);
//! - else is `<skipped>` when it has findings and every one is waived (`waived: W-0001`), so an
//!   accepted exception stays visible the way an expected failure does;
//! - else passes.
//!
//! Findings that do not fail (waived, overridden, advisory) are listed in the case's
//! `<system-out>`. Failing cases carry `file` and `line` attributes (the first failing finding's),
//! which reporters use for annotations. Times are `0`: a check does not time its rules, and the
//! output must not depend on the clock.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::io;

use quick_xml::Writer;
use quick_xml::escape::partial_escape;
use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::name::QName;
use tollgate_engine::finding::Finding;
use tollgate_engine::report::Report;

use crate::common::{self, Rule, Status};

/// What one stack × policy test case came to.
enum CaseResult<'a> {
    Pass,
    Failure(Vec<&'a Finding>),
    /// Rule errors, then failing violations.
    Error(Vec<&'a Finding>, Vec<&'a Finding>),
    /// Every finding waived: the waiver ids.
    Skipped(BTreeSet<&'a str>),
}

struct Case<'a> {
    rule: &'a Rule<'a>,
    result: CaseResult<'a>,
    /// Findings that do not fail the run.
    passing: Vec<&'a Finding>,
}

struct Suite<'a> {
    stack: &'a str,
    properties: Vec<(&'static str, String)>,
    cases: Vec<Case<'a>>,
}

impl Suite<'_> {
    fn count(&self, f: impl Fn(&CaseResult<'_>) -> bool) -> usize {
        self.cases.iter().filter(|c| f(&c.result)).count()
    }
    fn failures(&self) -> usize {
        self.count(|r| matches!(r, CaseResult::Failure(_)))
    }
    fn errors(&self) -> usize {
        self.count(|r| matches!(r, CaseResult::Error(..)))
    }
    fn skipped(&self) -> usize {
        self.count(|r| matches!(r, CaseResult::Skipped(_)))
    }
}

pub fn render(report: &Report) -> String {
    let rules = common::rules(report);
    let suites = suites(report, &rules);
    match write(&suites) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        // Writing to a Vec cannot fail; say so in XML rather than panic if it ever does.
        Err(e) => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- could not write the JUnit report: {} -->\n",
            e.to_string().replace("--", "- -")
        ),
    }
}

fn suites<'a>(report: &'a Report, rules: &'a [Rule<'a>]) -> Vec<Suite<'a>> {
    let mut by_stack: BTreeMap<&str, BTreeMap<&str, Vec<&Finding>>> = BTreeMap::new();
    for f in &report.findings {
        by_stack
            .entry(&f.stack)
            .or_default()
            .entry(&f.policy)
            .or_default()
            .push(f);
    }
    // The report's stacks in order, then any stack a finding names that the list lacks.
    let mut stacks: Vec<(&str, Vec<(&'static str, String)>)> = report
        .stacks
        .iter()
        .map(|s| {
            let mut props = vec![
                ("repository", s.repository.clone()),
                ("file", s.file.clone()),
                ("resources", s.resources.to_string()),
                (
                    "verdict",
                    match s.verdict {
                        tollgate_engine::report::Verdict::Pass => "pass".into(),
                        tollgate_engine::report::Verdict::Fail => "fail".into(),
                    },
                ),
                (
                    "estimated_monthly_cost_usd",
                    format!("{:.2}", s.estimated_monthly_cost_usd),
                ),
            ];
            if let Some(limit) = s.monthly_limit_usd {
                props.push(("monthly_limit_usd", limit.to_string()));
            }
            (s.stack.as_str(), props)
        })
        .collect();
    let known: BTreeSet<&str> = stacks.iter().map(|(s, _)| *s).collect();
    let extra: Vec<&str> = by_stack
        .keys()
        .copied()
        .filter(|s| !known.contains(s))
        .collect();
    stacks.extend(extra.into_iter().map(|s| (s, Vec::new())));

    let none = BTreeMap::new();
    stacks
        .into_iter()
        .map(|(stack, properties)| {
            let mine = by_stack.get(stack).unwrap_or(&none);
            let cases = rules
                .iter()
                .map(|rule| {
                    let findings = mine
                        .get(rule.meta.id.as_str())
                        .map(Vec::as_slice)
                        .unwrap_or_default();
                    case(rule, findings)
                })
                .collect();
            Suite {
                stack,
                properties,
                cases,
            }
        })
        .collect()
}

fn case<'a>(rule: &'a Rule<'a>, findings: &[&'a Finding]) -> Case<'a> {
    let mut errors = Vec::new();
    let mut failures = Vec::new();
    let mut passing = Vec::new();
    let mut waivers = BTreeSet::new();
    for &f in findings {
        match Status::of(f) {
            Status::Error => errors.push(f),
            Status::Fail | Status::Unknown => failures.push(f),
            Status::Waived(id) => {
                waivers.insert(id);
                passing.push(f);
            }
            Status::Overridden | Status::Advisory => passing.push(f),
        }
    }
    let result = if !errors.is_empty() {
        CaseResult::Error(errors, failures)
    } else if !failures.is_empty() {
        CaseResult::Failure(failures)
    } else if !waivers.is_empty() && passing.iter().all(|f| f.waived) {
        CaseResult::Skipped(waivers)
    } else {
        CaseResult::Pass
    };
    Case {
        rule,
        result,
        passing,
    }
}

/// `resource: message (file:line) [engine]`; a stack-level finding names its stack.
fn line(f: &Finding) -> String {
    let what = match &f.resource {
        Some(r) => Cow::Borrowed(r.as_str()),
        None => Cow::Owned(format!("{} (stack)", f.stack)),
    };
    format!(
        "{what}: {} ({}) [{}]",
        f.message,
        common::location(f),
        f.engine
    )
}

fn passing_line(f: &Finding) -> String {
    let why = match Status::of(f) {
        Status::Waived(id) => format!("waived by {id}"),
        other => other.word().to_owned(),
    };
    format!("{why}: {}", line(f))
}

fn summary_message(n: usize, what: (&str, &str), first: &Finding) -> String {
    if n == 1 {
        line(first)
    } else {
        format!(
            "{}; first: {}",
            common::plural(n, what.0, what.1),
            line(first)
        )
    }
}

fn write(suites: &[Suite<'_>]) -> io::Result<Vec<u8>> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let total = |f: fn(&Suite<'_>) -> usize| suites.iter().map(f).sum::<usize>().to_string();
    let root = [
        ("name", "tollgate".to_owned()),
        ("tests", total(|s| s.cases.len())),
        ("failures", total(|s| s.failures())),
        ("errors", total(|s| s.errors())),
        ("skipped", total(|s| s.skipped())),
        ("time", "0".to_owned()),
    ];
    w.create_element("testsuites")
        .with_attributes(attrs(&root))
        .write_inner_content(|w| {
            for suite in suites {
                write_suite(w, suite)?;
            }
            Ok(())
        })?;
    let mut bytes = w.into_inner();
    bytes.push(b'\n');
    Ok(bytes)
}

fn write_suite(w: &mut Writer<Vec<u8>>, suite: &Suite<'_>) -> io::Result<()> {
    let head = [
        ("name", suite.stack.to_owned()),
        ("tests", suite.cases.len().to_string()),
        ("failures", suite.failures().to_string()),
        ("errors", suite.errors().to_string()),
        ("skipped", suite.skipped().to_string()),
        ("time", "0".to_owned()),
    ];
    w.create_element("testsuite")
        .with_attributes(attrs(&head))
        .write_inner_content(|w| {
            if !suite.properties.is_empty() {
                w.create_element("properties").write_inner_content(|w| {
                    for (name, value) in &suite.properties {
                        let p = [("name", (*name).to_owned()), ("value", value.clone())];
                        w.create_element("property")
                            .with_attributes(attrs(&p))
                            .write_empty()?;
                    }
                    Ok(())
                })?;
            }
            for case in &suite.cases {
                write_case(w, suite.stack, case)?;
            }
            Ok(())
        })?;
    Ok(())
}

fn write_case(w: &mut Writer<Vec<u8>>, stack: &str, case: &Case<'_>) -> io::Result<()> {
    let m = &case.rule.meta;
    let mut head = vec![
        ("classname", stack.to_owned()),
        ("name", format!("{}: {}", m.id, m.title)),
        ("time", "0".to_owned()),
    ];
    let first_failing = match &case.result {
        CaseResult::Failure(fails) => fails.first(),
        CaseResult::Error(errors, _) => errors.first(),
        CaseResult::Pass | CaseResult::Skipped(_) => None,
    };
    if let Some(f) = first_failing {
        head.push(("file", f.file.clone()));
        head.push(("line", f.line.unwrap_or(1).to_string()));
    }
    let element = w.create_element("testcase").with_attributes(attrs(&head));
    if matches!(case.result, CaseResult::Pass) && case.passing.is_empty() {
        element.write_empty()?;
        return Ok(());
    }
    element.write_inner_content(|w| {
        match &case.result {
            CaseResult::Pass => {}
            CaseResult::Failure(fails) => {
                let a = [
                    (
                        "message",
                        summary_message(
                            fails.len(),
                            ("failing finding", "failing findings"),
                            fails[0],
                        ),
                    ),
                    ("type", m.enforcement.to_string()),
                ];
                let body: Vec<String> = fails.iter().map(|f| line(f)).collect();
                w.create_element("failure")
                    .with_attributes(attrs(&a))
                    .write_text_content(text(&body.join("\n")))?;
            }
            CaseResult::Error(errors, fails) => {
                let a = [
                    (
                        "message",
                        summary_message(errors.len(), ("rule error", "rule errors"), errors[0]),
                    ),
                    ("type", "rule-error".to_owned()),
                ];
                let body: Vec<String> = errors
                    .iter()
                    .map(|f| format!("error: {}", line(f)))
                    .chain(fails.iter().map(|f| format!("fail: {}", line(f))))
                    .collect();
                w.create_element("error")
                    .with_attributes(attrs(&a))
                    .write_text_content(text(&body.join("\n")))?;
            }
            CaseResult::Skipped(waivers) => {
                let ids: Vec<&str> = waivers.iter().copied().collect();
                let a = [("message", format!("waived: {}", ids.join(", ")))];
                w.create_element("skipped")
                    .with_attributes(attrs(&a))
                    .write_empty()?;
            }
        }
        if !case.passing.is_empty() {
            let body: Vec<String> = case.passing.iter().map(|f| passing_line(f)).collect();
            w.create_element("system-out")
                .write_text_content(text(&body.join("\n")))?;
        }
        Ok(())
    })?;
    Ok(())
}

/// Attribute pairs, escaped for a double-quoted XML attribute. Only what must be escaped is:
/// `&`, `<`, `>`, `"`, and the white space that attribute-value normalisation would turn into
/// spaces (`\n`, `\r`, `\t`); apostrophes stay readable.
pub(crate) fn attrs<'a>(
    pairs: &'a [(&'a str, String)],
) -> impl Iterator<Item = Attribute<'a>> + 'a {
    pairs.iter().map(|(k, v)| {
        let v = xml_safe(v);
        let mut escaped = String::with_capacity(v.len());
        for c in v.chars() {
            match c {
                '&' => escaped.push_str("&amp;"),
                '<' => escaped.push_str("&lt;"),
                '>' => escaped.push_str("&gt;"),
                '"' => escaped.push_str("&quot;"),
                '\n' => escaped.push_str("&#10;"),
                '\r' => escaped.push_str("&#13;"),
                '\t' => escaped.push_str("&#9;"),
                c => escaped.push(c),
            }
        }
        Attribute {
            key: QName(k),
            value: Cow::Owned(escaped),
        }
    })
}

/// Element text, escaped: `&`, `<`, `>` and `\r` (quotes need no escaping in text).
pub(crate) fn text(s: &str) -> BytesText<'static> {
    BytesText::from_escaped(partial_escape(xml_safe(s).into_owned()).into_owned())
}

/// Replaces characters XML 1.0 forbids even when escaped (most C0 controls, U+FFFE, U+FFFF) with
/// U+FFFD, so a control character in a stack document cannot make the report unreadable.
fn xml_safe(s: &str) -> Cow<'_, str> {
    let bad = |c: char| matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}');
    if s.contains(bad) {
        Cow::Owned(s.replace(bad, "\u{fffd}"))
    } else {
        Cow::Borrowed(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_replaced() {
        assert_eq!(xml_safe("a\u{1b}[31mb\tc\nd"), "a\u{fffd}[31mb\tc\nd");
        assert!(matches!(xml_safe("plain"), Cow::Borrowed(_)));
    }
}
