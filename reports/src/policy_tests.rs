//! Renders a policy test run (`tollgate test`): a line per test for people, JSON for machines,
//! JUnit XML for CI test reporters. Like the check reports, nothing here reads a clock: times are
//! `0` and the same run always renders to the same bytes.

use std::fmt::Write as _;
use std::io;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, Event};
use tollgate_engine::policy::testing::{Coverage, TestOutcome, TestResult, TestRun};

use crate::junit::{attrs, text};

/// One line per test (`PASS`/`FAIL`/`ERROR`, name, place, why), a summary, then coverage.
pub fn render_table(run: &TestRun, color: bool) -> String {
    let mut out = String::new();
    let paint = |s: &str, code: &str| {
        if color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    };
    let width = run.tests.iter().map(|t| t.name.len()).max().unwrap_or(0);
    for t in &run.tests {
        let label = match t.outcome {
            TestOutcome::Pass => paint("PASS ", "32"),
            TestOutcome::Fail => paint("FAIL ", "31"),
            TestOutcome::Error => paint("ERROR", "35"),
        };
        let _ = write!(out, "{label} {:<width$}  {}:{}", t.name, t.file, t.line);
        if !t.message.is_empty() {
            let _ = write!(out, "\n      {}", t.message);
        }
        out.push('\n');
    }
    let s = &run.summary;
    if s.total == 0 {
        let _ = writeln!(out, "no tests found in {}", run.dir);
    }
    let _ = write!(
        out,
        "{} {}: {} passed, {} failed, {} {}",
        s.total,
        if s.total == 1 { "test" } else { "tests" },
        s.passed,
        s.failed,
        s.errors,
        if s.errors == 1 { "error" } else { "errors" }
    );
    if s.deselected > 0 {
        let _ = write!(out, " ({} deselected by --run)", s.deselected);
    }
    out.push('\n');
    if let Some(c) = &run.coverage {
        coverage_table(c, &mut out);
    }
    out
}

fn coverage_table(c: &Coverage, out: &mut String) {
    let _ = writeln!(
        out,
        "\nRego line coverage (bundle modules, tests excluded):"
    );
    let width = c
        .rego
        .files
        .iter()
        .map(|f| f.file.len())
        .max()
        .unwrap_or(0)
        .max("total".len());
    for f in &c.rego.files {
        let _ = writeln!(
            out,
            "  {:<width$}  {:>5}/{:<5} {:>5.1}%",
            f.file, f.covered, f.coverable, f.percent
        );
    }
    let _ = writeln!(
        out,
        "  {:<width$}  {:>5}/{:<5} {:>5.1}%",
        "total", c.rego.covered, c.rego.coverable, c.rego.percent
    );
    let cedar = &c.cedar;
    let _ = writeln!(
        out,
        "\nCedar policies exercised (a determining policy of some case): {}/{} {:.1}%",
        cedar.exercised, cedar.policies, cedar.percent
    );
    if !cedar.never_exercised.is_empty() {
        let _ = writeln!(out, "  never exercised:");
        for id in &cedar.never_exercised {
            let _ = writeln!(out, "    {id}");
        }
    }
}

/// The run as pretty JSON: `dir`, `summary`, `tests`, and `coverage` when gathered.
pub fn render_json(run: &TestRun) -> String {
    match serde_json::to_string_pretty(run) {
        Ok(mut s) => {
            s.push('\n');
            s
        }
        // Plain data with string keys always serialises; say so in JSON rather than panic.
        Err(e) => format!("{{\"error\": {:?}}}\n", e.to_string()),
    }
}

/// JUnit XML: one `<testsuite>` per test file, one `<testcase>` per test (`classname` the file,
/// `name` the test's full name, `file` and `line` its place), `<failure>` or `<error>` with the
/// reason.
pub fn render_junit(run: &TestRun) -> String {
    match write_junit(run) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- could not write the JUnit report: {} -->\n",
            e.to_string().replace("--", "- -")
        ),
    }
}

fn write_junit(run: &TestRun) -> io::Result<Vec<u8>> {
    let mut suites: Vec<(&str, Vec<&TestResult>)> = Vec::new();
    for t in &run.tests {
        match suites.iter_mut().find(|(f, _)| *f == t.file) {
            Some((_, tests)) => tests.push(t),
            None => suites.push((&t.file, vec![t])),
        }
    }
    let count = |tests: &[&TestResult], o: TestOutcome| {
        tests.iter().filter(|t| t.outcome == o).count().to_string()
    };
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let all: Vec<&TestResult> = run.tests.iter().collect();
    let root = [
        ("name", "tollgate test".to_owned()),
        ("tests", all.len().to_string()),
        ("failures", count(&all, TestOutcome::Fail)),
        ("errors", count(&all, TestOutcome::Error)),
        ("skipped", "0".to_owned()),
        ("time", "0".to_owned()),
    ];
    w.create_element("testsuites")
        .with_attributes(attrs(&root))
        .write_inner_content(|w| {
            for (file, tests) in &suites {
                let head = [
                    ("name", (*file).to_owned()),
                    ("tests", tests.len().to_string()),
                    ("failures", count(tests, TestOutcome::Fail)),
                    ("errors", count(tests, TestOutcome::Error)),
                    ("skipped", "0".to_owned()),
                    ("time", "0".to_owned()),
                ];
                w.create_element("testsuite")
                    .with_attributes(attrs(&head))
                    .write_inner_content(|w| {
                        for t in tests {
                            write_case(w, t)?;
                        }
                        Ok(())
                    })?;
            }
            Ok(())
        })?;
    let mut bytes = w.into_inner();
    bytes.push(b'\n');
    Ok(bytes)
}

fn write_case(w: &mut Writer<Vec<u8>>, t: &TestResult) -> io::Result<()> {
    let head = [
        ("classname", t.file.clone()),
        ("name", t.name.clone()),
        ("file", t.file.clone()),
        ("line", t.line.to_string()),
        ("time", "0".to_owned()),
    ];
    let element = w.create_element("testcase").with_attributes(attrs(&head));
    let (tag, kind) = match t.outcome {
        TestOutcome::Pass => {
            element.write_empty()?;
            return Ok(());
        }
        TestOutcome::Fail => ("failure", "fail"),
        TestOutcome::Error => ("error", "error"),
    };
    element.write_inner_content(|w| {
        let a = [("message", t.message.clone()), ("type", kind.to_owned())];
        let mut body = t.message.clone();
        if let Some(d) = &t.decision {
            let _ = write!(body, "\ndecision: {d}");
        }
        if let Some(ids) = &t.determining {
            let _ = write!(body, "\ndetermining: [{}]", ids.join(", "));
        }
        w.create_element(tag)
            .with_attributes(attrs(&a))
            .write_text_content(text(&body))?;
        Ok(())
    })?;
    Ok(())
}
