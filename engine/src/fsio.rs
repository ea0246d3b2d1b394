//! Files in and out: writing so that a reader sees the old content or the new, never part of
//! either; reading only regular files, bounded by a cap even when the file grows; and walking
//! folders without following links out of, or back into, the tree.
//!
//! Every file Tollgate reads from a path (stacks, plans, templates, policies, waivers, bundles,
//! state, locks) goes through [`read_bounded`], and every folder it searches through [`walk`]. A
//! pull request is untrusted input: a FIFO named `x.json` must not block the run, `/dev/zero`
//! must not fill memory, and two links to `.` must not make the walk exponential.

use std::collections::HashSet;
use std::fs::{File, Metadata};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::json::ReadError;

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

/// What a non-regular file is, in words for a message.
fn kind_of(meta: &Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        return "a directory";
    }
    if t.is_symlink() {
        return "a symbolic link";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
    }
    "not a regular file"
}

fn regular(meta: &Metadata) -> Result<(), ReadError> {
    if meta.is_file() {
        Ok(())
    } else {
        Err(ReadError::NotRegular {
            what: kind_of(meta),
        })
    }
}

/// Opens `path` for reading without blocking on a FIFO that has no writer (the file was
/// checked to be regular, but it may have been replaced since).
fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    options.open(path)
}

/// Reads the whole of regular file `path`, at most `limit` bytes. A FIFO, socket, device or
/// folder is refused, saying what it is, before it is opened; the size is checked again on the
/// open file, and the read stops at `limit` even when the file grows meanwhile. A symbolic link
/// named directly is followed (the caller named it; [`walk`] does not follow links).
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let meta = std::fs::metadata(path)?;
    regular(&meta)?;
    if meta.len() > limit {
        return Err(ReadError::TooLarge {
            limit,
            actual: meta.len(),
        });
    }
    let file = open_nonblocking(path)?;
    let meta = file.metadata()?;
    regular(&meta)?;
    if meta.len() > limit {
        return Err(ReadError::TooLarge {
            limit,
            actual: meta.len(),
        });
    }
    read_capped(file, meta.len(), limit)
}

/// Reads `reader` to its end, refusing at `limit` bytes however much more there is: the file
/// may grow after its size was checked.
fn read_capped(reader: impl Read, size_hint: u64, limit: u64) -> Result<Vec<u8>, ReadError> {
    let mut bytes = Vec::with_capacity(usize::try_from(size_hint.min(limit)).unwrap_or(0));
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::Grew { limit });
    }
    Ok(bytes)
}

/// A folder entry [`walk`] refused, or a folder it could not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct WalkError {
    pub path: PathBuf,
    pub message: String,
}

impl WalkError {
    fn new(path: &Path, message: impl Into<String>) -> Self {
        Self {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

/// Walks folders, remembering every folder entered by device and inode, so no folder is walked
/// twice (a bind mount of an ancestor, or the same folder named twice).
#[derive(Debug, Default)]
pub struct Walker {
    visited: HashSet<(u64, u64)>,
}

#[cfg(unix)]
fn identity(meta: &Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn identity(_meta: &Metadata) -> (u64, u64) {
    (0, 0)
}

impl Walker {
    pub fn new() -> Self {
        Self::default()
    }

    /// The files under folder `root` (recursively) whose path `keep` accepts, sorted.
    ///
    /// - Symbolic links are never followed: a link to something inside `root` is skipped (its
    ///   target is walked under its own name), a link leading out of `root` — or broken, or
    ///   looping — is refused when it is a folder or `keep` accepts its name, so nothing a
    ///   reader expects to be judged is silently left out.
    /// - Only regular files are listed: a FIFO, socket or device whose name `keep` accepts is
    ///   refused, saying what it is (it is never opened). Other names are never touched.
    /// - A folder that cannot be read is refused.
    ///
    /// All refusals are returned together.
    pub fn walk(
        &mut self,
        root: &Path,
        keep: impl Fn(&Path) -> bool,
    ) -> Result<Vec<PathBuf>, Vec<WalkError>> {
        let mut files = Vec::new();
        let mut errors = Vec::new();
        let real_root = match std::fs::canonicalize(root) {
            Ok(r) => r,
            Err(e) => return Err(vec![WalkError::new(root, format!("cannot read: {e}"))]),
        };
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            match std::fs::metadata(&dir) {
                Ok(m) if !self.visited.insert(identity(&m)) => continue,
                Ok(_) => {}
                Err(e) => {
                    errors.push(WalkError::new(&dir, format!("cannot read: {e}")));
                    continue;
                }
            }
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) => {
                    errors.push(WalkError::new(&dir, format!("cannot read the folder: {e}")));
                    continue;
                }
            };
            for entry in entries {
                let entry = match entry {
                    Ok(e) => e,
                    Err(e) => {
                        errors.push(WalkError::new(&dir, format!("cannot read the folder: {e}")));
                        continue;
                    }
                };
                let path = entry.path();
                let meta = match std::fs::symlink_metadata(&path) {
                    Ok(m) => m,
                    Err(e) => {
                        if keep(&path) {
                            errors.push(WalkError::new(&path, format!("cannot read: {e}")));
                        }
                        continue;
                    }
                };
                let t = meta.file_type();
                if t.is_symlink() {
                    match std::fs::canonicalize(&path) {
                        Ok(target) if target.starts_with(&real_root) => {}
                        Ok(target) => {
                            if target.is_dir() || keep(&path) {
                                errors.push(WalkError::new(
                                    &path,
                                    format!(
                                        "symbolic link out of the folder being read (to {}): not \
                                         followed; name its target to read it",
                                        target.display()
                                    ),
                                ));
                            }
                        }
                        Err(e) => {
                            if keep(&path) {
                                errors.push(WalkError::new(
                                    &path,
                                    format!("broken or looping symbolic link ({e}): not followed"),
                                ));
                            }
                        }
                    }
                } else if t.is_dir() {
                    stack.push(path);
                } else if keep(&path) {
                    if t.is_file() {
                        files.push(path);
                    } else {
                        errors.push(WalkError::new(
                            &path,
                            format!("{} is not read: only regular files are", kind_of(&meta)),
                        ));
                    }
                }
            }
        }
        if errors.is_empty() {
            files.sort();
            Ok(files)
        } else {
            errors.sort_by(|a, b| a.path.cmp(&b.path));
            Err(errors)
        }
    }
}

/// [`Walker::walk`] of one folder.
pub fn walk(root: &Path, keep: impl Fn(&Path) -> bool) -> Result<Vec<PathBuf>, Vec<WalkError>> {
    Walker::new().walk(root, keep)
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

    fn mkfifo(path: &Path) {
        let status = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Runs `f` on another thread and fails the test if it has not returned within 10 s (a read
    /// that blocks on a FIFO would otherwise hang the test run).
    fn within_seconds<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(f());
        });
        rx.recv_timeout(std::time::Duration::from_secs(10))
            .expect("did not return: blocked")
    }

    #[test]
    fn fault_fifo_named_json_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("stack.json");
        mkfifo(&fifo);
        let shown = fifo.clone();
        let e = within_seconds(move || read_bounded(&shown, 1 << 20)).unwrap_err();
        assert!(
            e.to_string().contains("a FIFO (named pipe) is not read"),
            "{e}"
        );
        let walked = dir.path().to_path_buf();
        let errors =
            within_seconds(move || walk(&walked, |p| p.extension().is_some())).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].path, fifo);
        assert!(errors[0].message.contains("FIFO"), "{}", errors[0]);
    }

    #[test]
    fn fault_device_dev_zero_is_refused_never_read() {
        let e = read_bounded(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert!(
            matches!(
                e,
                ReadError::NotRegular {
                    what: "a character device"
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn a_socket_in_a_walked_folder_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("policy.rego");
        let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let errors = walk(dir.path(), |_| true).unwrap_err();
        assert_eq!(errors[0].path, sock);
        assert!(errors[0].message.contains("a socket"), "{}", errors[0]);
        // A socket whose name is not wanted is not touched.
        assert_eq!(walk(dir.path(), |_| false).unwrap(), Vec::<PathBuf>::new());
    }

    #[test]
    fn fault_symlink_loops_are_not_followed() {
        // Two links to `.` in every folder made the walk exponential; links back into the tree
        // are skipped (their targets are walked under their own names).
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("stacks");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("a.json"), "{}").unwrap();
        std::fs::write(root.join("sub/b.json"), "{}").unwrap();
        for d in [root.clone(), root.join("sub")] {
            std::os::unix::fs::symlink(".", d.join("self1")).unwrap();
            std::os::unix::fs::symlink(".", d.join("self2")).unwrap();
        }
        std::os::unix::fs::symlink("..", root.join("sub/up")).unwrap();
        std::os::unix::fs::symlink("a.json", root.join("again.json")).unwrap();
        let files =
            within_seconds(move || walk(&root, |p| p.extension().is_some_and(|e| e == "json")))
                .unwrap();
        let names: Vec<String> = files
            .iter()
            .map(|f| f.strip_prefix(dir.path()).unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["stacks/a.json", "stacks/sub/b.json"]);
    }

    #[test]
    fn a_link_out_of_the_tree_is_refused_and_a_broken_one_named_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(outside.join("secret.json"), "{}").unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir(&root).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("elsewhere")).unwrap();
        std::os::unix::fs::symlink(outside.join("secret.json"), root.join("s.json")).unwrap();
        std::os::unix::fs::symlink("nowhere.json", root.join("broken.json")).unwrap();
        // An unwanted name pointing out of the tree at a file is left alone.
        std::os::unix::fs::symlink(outside.join("secret.json"), root.join("notes.txt")).unwrap();
        let errors = walk(&root, |p| p.extension().is_some_and(|e| e == "json")).unwrap_err();
        let got: Vec<(String, bool)> = errors
            .iter()
            .map(|e| {
                (
                    e.path.file_name().unwrap().to_string_lossy().to_string(),
                    e.message.contains("out of the folder"),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("broken.json".to_owned(), false),
                ("elsewhere".to_owned(), true),
                ("s.json".to_owned(), true)
            ]
        );
        assert!(
            errors[0].message.contains("broken or looping"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn a_folder_named_twice_is_walked_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.json"), "{}").unwrap();
        let mut w = Walker::new();
        assert_eq!(w.walk(dir.path(), |_| true).unwrap().len(), 1);
        let again = dir.path().join(".");
        assert_eq!(w.walk(&again, |_| true).unwrap().len(), 0);
    }

    #[test]
    fn fault_huge_document_reads_are_capped_on_the_open_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("big.json");
        std::fs::write(&file, vec![b' '; 101]).unwrap();
        let e = read_bounded(&file, 100).unwrap_err();
        assert!(
            matches!(
                e,
                ReadError::TooLarge {
                    limit: 100,
                    actual: 101
                }
            ),
            "{e}"
        );
        assert_eq!(read_bounded(&file, 101).unwrap().len(), 101);
    }

    #[test]
    fn a_file_that_grows_while_read_stops_at_the_cap() {
        // What the file turns into after its size was checked: an endless stream.
        let e = read_capped(std::io::repeat(b' '), 10, 1 << 20).unwrap_err();
        assert!(
            matches!(e, ReadError::Grew { limit } if limit == 1 << 20),
            "{e}"
        );
        assert_eq!(read_capped(&b"{}"[..], 2, 2).unwrap(), b"{}");
    }
}
