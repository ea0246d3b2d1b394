//! Writing files so that a reader sees the old content or the new, never part of either.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `file` through a temporary file in the same folder (fsynced, then renamed
/// into place, then the folder fsynced). A failure leaves any previous file untouched. The folder
/// must exist: a missing one is the caller's mistake to report, not to paper over.
pub fn write_atomically(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(file).map_err(|e| e.error)?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_whole_and_leaves_no_temporary_behind() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("out.json");
        write_atomically(&file, b"old").unwrap();
        write_atomically(&file, b"new").unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_missing_folder_is_an_error_and_is_not_created() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("no/such/out.json");
        assert!(write_atomically(&file, b"x").is_err());
        assert!(!dir.path().join("no").exists());
    }
}
