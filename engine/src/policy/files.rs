//! A policy bundle's files in memory, whatever they were read from.
//!
//! A folder (`--policies DIR`) and a bundle archive (`--bundle FILE`, see [`crate::bundle`]) both
//! become a [`BundleFiles`]: relative names with `/` separators (`rego/encryption/s3_kms.rego`)
//! mapped to their bytes, plus the root shown in messages. The loaders in this module's siblings
//! read from it, so a rule loaded from an archive behaves exactly like the same rule in a folder,
//! and an error names `policies/rego/x.rego` or `bundle.tar.gz!/rego/x.rego` alike.
//!
//! Which files belong to a bundle is decided here, once: `rego/**/*.rego` except policy tests
//! (`*_test.rego`), `cedar/**/*.cedar`, and `data/*.json` (the data folder is not searched
//! recursively: its files become `data.config.<stem>`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::PolicyError;
use crate::json::{self, ReadError};

/// What a bundle file is, from its relative name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A Rego module under `rego/` (not a `_test.rego` policy test).
    Rego,
    /// A Cedar policy file under `cedar/`.
    Cedar,
    /// A JSON data file directly under `data/`.
    Data,
}

impl FileKind {
    /// The kind of the file at relative name `name` (`/` separators), or `None` when a bundle does
    /// not carry such a file.
    pub fn of(name: &str) -> Option<Self> {
        let file_name = name.rsplit('/').next().unwrap_or(name);
        if let Some(rest) = name.strip_prefix("rego/") {
            (!rest.is_empty() && file_name.ends_with(".rego") && !file_name.ends_with("_test.rego"))
                .then_some(Self::Rego)
        } else if let Some(rest) = name.strip_prefix("cedar/") {
            (!rest.is_empty() && file_name.ends_with(".cedar")).then_some(Self::Cedar)
        } else if let Some(rest) = name.strip_prefix("data/") {
            (!rest.contains('/') && rest.ends_with(".json") && rest.len() > ".json".len())
                .then_some(Self::Data)
        } else {
            None
        }
    }
}

/// One policy file's text, with the path shown in messages.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: PathBuf,
    pub text: String,
}

/// Reads `files` from disk as text (size-capped, UTF-8 without BOM).
pub fn read_sources(files: &[PathBuf]) -> Result<Vec<Source>, PolicyError> {
    files
        .iter()
        .map(|f| {
            let text = json::read_text(f, json::MAX_FILE_BYTES)
                .map_err(|e| PolicyError::new(f, e.to_string()))?;
            Ok(Source {
                path: f.clone(),
                text,
            })
        })
        .collect()
}

/// Decodes a file's bytes as text the way [`json::read_text`] does: UTF-8, no byte-order mark.
pub fn decode_text(path: &Path, bytes: &[u8]) -> Result<String, PolicyError> {
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Err(PolicyError::new(path, ReadError::ByteOrderMark.to_string()));
    }
    String::from_utf8(bytes.to_vec()).map_err(|e| {
        PolicyError::new(
            path,
            ReadError::NotUtf8 {
                offset: e.utf8_error().valid_up_to(),
            }
            .to_string(),
        )
    })
}

/// A bundle's files in memory: relative name → bytes, sorted by name.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct BundleFiles {
    root: PathBuf,
    files: BTreeMap<String, Vec<u8>>,
}

impl std::fmt::Debug for BundleFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BundleFiles")
            .field("root", &self.root)
            .field("files", &self.files.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl BundleFiles {
    /// An empty set whose files are shown as `root/<name>`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            files: BTreeMap::new(),
        }
    }

    /// Reads the bundle files of folder `dir` (see the module documentation for which), each
    /// capped at [`json::MAX_FILE_BYTES`]. Other files are left unread.
    pub fn from_dir(dir: &Path) -> Result<Self, PolicyError> {
        let mut out = Self::new(dir);
        let name_of = |path: &Path| -> Option<String> {
            let rel = path.strip_prefix(dir).ok()?;
            let parts: Option<Vec<&str>> =
                rel.components().map(|c| c.as_os_str().to_str()).collect();
            Some(parts?.join("/"))
        };
        // A name that is not UTF-8 is kept, to be refused below.
        let wanted = |path: &Path| name_of(path).is_none_or(|n| FileKind::of(&n).is_some());
        for path in super::files_under(dir, wanted)? {
            let Some(name) = name_of(&path) else {
                return Err(PolicyError::new(&path, "file name is not valid UTF-8"));
            };
            let bytes = crate::fsio::read_bounded(&path, json::MAX_FILE_BYTES)
                .map_err(|e| PolicyError::new(&path, e.to_string()))?;
            out.files.insert(name, bytes);
        }
        Ok(out)
    }

    /// Adds a file; returns the bytes it replaced, if the name was taken.
    pub fn insert(&mut self, name: impl Into<String>, bytes: Vec<u8>) -> Option<Vec<u8>> {
        self.files.insert(name.into(), bytes)
    }

    /// Removes a file, returning its bytes.
    pub fn remove(&mut self, name: &str) -> Option<Vec<u8>> {
        self.files.remove(name)
    }

    /// What files are shown relative to: a folder, or `ARCHIVE!` for an archive.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path shown in messages for file `name`.
    pub fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.files.get(name).map(Vec::as_slice)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.files.contains_key(name)
    }

    /// Every file, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.files.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Names of the files of `kind`, sorted.
    pub fn names(&self, kind: FileKind) -> Vec<&str> {
        self.files
            .keys()
            .filter(|n| FileKind::of(n) == Some(kind))
            .map(String::as_str)
            .collect()
    }

    /// The files of `kind` as text, sorted by name.
    pub fn sources(&self, kind: FileKind) -> Result<Vec<Source>, PolicyError> {
        self.names(kind)
            .into_iter()
            .map(|name| {
                let path = self.path(name);
                let text = decode_text(&path, self.files.get(name).map_or(&[], Vec::as_slice))?;
                Ok(Source { path, text })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_the_bundle_layout() {
        assert_eq!(FileKind::of("rego/a/b.rego"), Some(FileKind::Rego));
        assert_eq!(FileKind::of("rego/a/b_test.rego"), None);
        assert_eq!(FileKind::of("rego/"), None);
        assert_eq!(FileKind::of("cedar/x.cedar"), Some(FileKind::Cedar));
        assert_eq!(FileKind::of("cedar/x.txt"), None);
        assert_eq!(
            FileKind::of("data/prices-eu-west-1.json"),
            Some(FileKind::Data)
        );
        assert_eq!(FileKind::of("data/nested/x.json"), None);
        assert_eq!(FileKind::of("data/.json"), None);
        assert_eq!(FileKind::of("README.md"), None);
        assert_eq!(FileKind::of("x.rego"), None);
    }

    #[test]
    fn text_is_utf8_without_bom() {
        let p = Path::new("b.tar.gz!/rego/x.rego");
        assert_eq!(decode_text(p, b"package x").expect("text"), "package x");
        let bom = decode_text(p, b"\xEF\xBB\xBFpackage x").expect_err("BOM");
        assert!(bom.to_string().contains("byte-order mark"), "{bom}");
        let bad = decode_text(p, b"ab\xFF").expect_err("not UTF-8");
        assert_eq!(
            bad.to_string(),
            "b.tar.gz!/rego/x.rego: not valid UTF-8 (at byte 2)"
        );
    }

    #[test]
    fn a_folder_contributes_only_bundle_files() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
        let files = BundleFiles::from_dir(&dir).expect("default bundle reads");
        assert!(files.names(FileKind::Rego).len() > 10);
        assert!(files.names(FileKind::Cedar).len() > 3);
        assert!(files.contains("data/prices-eu-west-1.json"));
        assert!(files.iter().all(|(n, _)| FileKind::of(n).is_some()));
        assert_eq!(
            files.path("rego/lib/tollgate.rego"),
            dir.join("rego/lib/tollgate.rego")
        );
    }
}
