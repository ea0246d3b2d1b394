//! A bundle archive: read in memory with the default limits, then verified (no key, and a
//! fixed key), never a panic and never more memory than the limits allow.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tollgate_engine::bundle::{Limits, entries_from_bytes, verify_entries};

fuzz_target!(|data: &[u8]| {
    let path = std::path::Path::new("bundle.tar.gz");
    if let Ok(entries) = entries_from_bytes(path, data, &Limits::default()) {
        let _ = verify_entries(path, entries, None);
    }
});
