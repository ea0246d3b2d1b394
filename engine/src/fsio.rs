//! Writing files so that a reader sees the old content or the new, never part of either.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `file` through a temporary file in the same folder (fsynced, then renamed
/// into place, then the folder fsynced). A failure leaves any previous file untouched.
pub fn write_atomically(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(file).map_err(|e| e.error)?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
