//! Property tests: loaders never panic on damaged input, cycle detection agrees with a
//! topological sort, and waiver results do not depend on the order waivers are written in.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns unwrap too

use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;
use tollgate_engine::finding::{
    Enforcement, EngineKind, Finding, Outcome, PolicyMeta, Severity, Subject,
};
use tollgate_engine::load::{find_cycle, parse_stack};
use tollgate_engine::registry::Registry;
use tollgate_engine::waiver::{apply_waivers, load_waivers};

const STACK: &str = include_str!("../../fixtures/policies/TG-ENC-001/compliant/stack.json");

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Truncating a valid document anywhere gives an error with a position, never a panic.
    #[test]
    fn truncated_stacks_are_errors_not_panics(cut in 0usize..STACK.trim_end().len()) {
        let text = &STACK[..cut];
        let result = parse_stack(Path::new("s.json"), text, Registry::builtin());
        let errors = result.unwrap_err();
        prop_assert!(!errors.is_empty());
        prop_assert!(errors[0].position.is_some(), "{}", errors[0]);
    }

    /// Overwriting one byte anywhere never panics (it may still parse).
    #[test]
    fn mutated_stacks_never_panic(at in 0usize..STACK.len(), byte in any::<u8>()) {
        let mut bytes = STACK.as_bytes().to_vec();
        bytes[at] = byte;
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let _ = parse_stack(Path::new("s.json"), text, Registry::builtin());
        }
    }

    /// A cycle is found exactly when Kahn's algorithm cannot order every node, and what is
    /// reported is a real closed path of the graph.
    #[test]
    fn cycle_detection_agrees_with_topological_sort(edges in prop::collection::vec((0u8..12, 0u8..12), 0..30)) {
        let names: Vec<String> = (0..12).map(|i| format!("n{i:02}")).collect();
        let mut graph: BTreeMap<&str, Vec<&str>> = names.iter().map(|n| (n.as_str(), vec![])).collect();
        for (a, b) in &edges {
            graph.get_mut(names[*a as usize].as_str()).unwrap().push(names[*b as usize].as_str());
        }
        let mut indegree: BTreeMap<&str, usize> = graph.keys().map(|k| (*k, 0)).collect();
        for succ in graph.values() {
            for s in succ {
                *indegree.get_mut(s).unwrap() += 1;
            }
        }
        let mut ready: Vec<&str> = indegree.iter().filter(|(_, d)| **d == 0).map(|(k, _)| *k).collect();
        let mut ordered = 0;
        while let Some(n) = ready.pop() {
            ordered += 1;
            for s in &graph[n] {
                let d = indegree.get_mut(s).unwrap();
                *d -= 1;
                if *d == 0 {
                    ready.push(s);
                }
            }
        }
        let has_cycle = ordered < graph.len();
        let found = find_cycle(&graph);
        prop_assert_eq!(found.is_some(), has_cycle);
        if let Some(cycle) = found {
            prop_assert_eq!(cycle.first(), cycle.last());
            for pair in cycle.windows(2) {
                prop_assert!(graph[pair[0]].contains(&pair[1]), "{:?} is not an edge", pair);
            }
        }
    }

    /// The same waivers in any order waive the same findings with the same waiver ids.
    #[test]
    fn waivers_are_order_independent(order in Just((0..5).collect::<Vec<usize>>()).prop_shuffle()) {
        let meta = PolicyMeta {
            id: "P".into(), title: "t".into(), family: "f".into(), severity: Severity::Low,
            enforcement: Enforcement::SoftMandatory, remediation: "r".into(), description: String::new(),
            engine: EngineKind::Rego, file: "p".into(),
        };
        let specs = [
            ("W5", r#"["a/*"]"#, "2030-01-01"),
            ("W1", r#"["a/x"]"#, "2020-01-01"),
            ("W3", r#"["**"]"#, "2030-01-01"),
            ("W2", r#"["b"]"#, "2030-01-01"),
            ("W4", r#"["c/*"]"#, "2030-01-01"),
        ];
        let body: Vec<String> = order.iter().map(|&i| {
            let (id, globs, expires) = specs[i];
            format!(r#"{{"id": "{id}", "policy": "P", "resources": {globs}, "reason": "r", "approved_by": "a", "expires": "{expires}"}}"#)
        }).collect();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("w.json");
        std::fs::write(&file, format!(r#"{{"waivers": [{}]}}"#, body.join(","))).unwrap();
        let waivers = load_waivers(&file, &[&meta]).unwrap();
        let subject = |stack: &'static str, resource: Option<&'static str>| Subject {
            stack, resource, resource_type: None, file: "s", line: None,
        };
        let mut findings: Vec<Finding> = [("a", Some("x")), ("a", Some("y")), ("b", None), ("c", None)]
            .iter()
            .map(|(s, r)| Finding::new(&meta, &subject(s, *r), Outcome::Violation, "m".into()))
            .collect();
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        let report = apply_waivers(&mut findings, &waivers, today);
        let got: Vec<Option<&str>> = findings.iter().map(|f| f.waiver.as_deref()).collect();
        prop_assert_eq!(got, vec![Some("W3"), Some("W3"), Some("W2"), Some("W3")]);
        prop_assert_eq!(report.expired.len(), 1);
        prop_assert_eq!(report.unused.iter().map(|w| w.id.as_str()).collect::<Vec<_>>(), vec!["W4"]);
    }
}

#[test]
fn the_size_cap_is_checked_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.json");
    std::fs::write(&file, "x".repeat(1000)).unwrap();
    for (limit, ok) in [(999, false), (1000, true), (1001, true)] {
        let result = tollgate_engine::json::read_text(&file, limit);
        assert_eq!(result.is_ok(), ok, "limit {limit}");
        if !ok {
            assert_eq!(
                result.unwrap_err().to_string(),
                "file too large: limit 999 bytes, got 1000 bytes"
            );
        }
    }
}
