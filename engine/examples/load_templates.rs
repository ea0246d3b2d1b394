//! Loads each file given as a stack of its own and prints one line per file, for the corpus
//! script (`scripts/corpus-cloudformation.py --engine`) when the `tollgate` binary is not built:
//! `FILE<TAB>ok<TAB>not-modelled entries (0x1f-separated)` or `FILE<TAB>err<TAB>first error`,
//! with `envelope` instead of `err` when the only errors are the missing environment/region.

use std::path::PathBuf;

use tollgate_engine::load;
use tollgate_engine::registry::Registry;

fn main() {
    for arg in std::env::args().skip(1) {
        let file = PathBuf::from(&arg);
        match load::load_estate(std::slice::from_ref(&file), Registry::builtin()) {
            Ok(estate) => {
                let notes: Vec<String> = estate
                    .stacks
                    .iter()
                    .flat_map(|s| s.unmodelled.iter().map(|u| u.to_string()))
                    .collect();
                println!("{arg}\tok\t{}", notes.join("\u{1f}"));
            }
            Err(e) => {
                let envelope_only =
                    e.0.iter()
                        .all(|x| x.message.contains("does not say its stack's"));
                let first = e.0.first().map(|x| x.to_string()).unwrap_or_default();
                let first = first.replace(['\t', '\n'], " ");
                let tag = if envelope_only { "envelope" } else { "err" };
                println!("{arg}\t{tag}\t{first}");
            }
        }
    }
}
