//! The registry's `coverage` against the default bundle: a family a type says judges it has a
//! type-specific rule of that family for the type, and every type a type-specific rule judges
//! names that rule's family. (Checked here, not at load: users bring their own bundles.)

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use tollgate_engine::finding::Scope;
use tollgate_engine::policy::{BundleOptions, PolicyBundle};
use tollgate_engine::registry::{Coverage, Registry};

fn bundle() -> PolicyBundle {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
    PolicyBundle::load(&dir, Registry::builtin(), &BundleOptions::default()).unwrap()
}

/// Type → the families of the type-specific rules (Rego `resource_types`, Cedar `resource is`)
/// that judge it in the default bundle.
fn judged_by(bundle: &PolicyBundle) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for rule in bundle.rego.rules() {
        if rule.scope != Scope::Resource {
            continue;
        }
        for t in rule.resource_types.iter().flatten() {
            out.entry(t.clone())
                .or_default()
                .insert(rule.meta.family.clone());
        }
    }
    for meta in bundle.cedar.metas() {
        if let Some(t) = bundle.cedar.scope_type(&meta.id)
            && t != "Stack"
        {
            out.entry(t.to_owned())
                .or_default()
                .insert(meta.family.clone());
        }
    }
    out
}

#[test]
fn every_family_a_type_names_has_a_rule_for_it_in_the_default_bundle() {
    let bundle = bundle();
    let judged = judged_by(&bundle);
    let mut problems = Vec::new();
    for t in Registry::builtin().types() {
        let have = judged.get(&t.name).cloned().unwrap_or_default();
        match &t.coverage {
            Coverage::Families(families) => {
                for f in families {
                    if !have.contains(f) {
                        problems.push(format!(
                            "{}: coverage names `{f}`, but no {f} rule of the default bundle lists it in resource_types",
                            t.name
                        ));
                    }
                }
                for f in &have {
                    if !families.contains(f) {
                        problems.push(format!(
                            "{}: a {f} rule judges it, but its coverage does not name `{f}`",
                            t.name
                        ));
                    }
                }
            }
            Coverage::NothingToJudge(_) if !have.is_empty() => problems.push(format!(
                "{}: coverage says nothing_to_judge, but {have:?} rules judge it",
                t.name
            )),
            Coverage::NothingToJudge(_) => {}
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_type_says_how_it_is_covered() {
    // Parsing demands the field; here: the reasons are sentences, not placeholders.
    for t in Registry::builtin().types() {
        if let Coverage::NothingToJudge(reason) = &t.coverage {
            assert!(
                reason.split_whitespace().count() >= 4,
                "{}: `{reason}` does not say why",
                t.name
            );
        }
    }
}
