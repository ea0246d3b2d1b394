//! Policy bundle archives: build, sign, read and verify `bundle.tar.gz`.
//!
//! A bundle archive is a gzip-compressed tar file, laid out like an OPA bundle:
//!
//! | entry | what |
//! |---|---|
//! | `.manifest` | JSON: `revision`, `roots` (the `data` namespaces the bundle owns), `metadata.tollgate` (format, the Tollgate version that built it, rule counts) |
//! | `rego/**/*.rego` | Rego modules (policy tests, `*_test.rego`, are left out) |
//! | `cedar/**/*.cedar` | Cedar policies |
//! | `data/*.json` | data, including the price catalogues |
//! | `schema/tollgate.cedarschema.json` | the Cedar schema the policies were validated against when built |
//! | `.signatures.json` | the SHA-256 digest of every other entry, and an optional Ed25519 signature over that list |
//!
//! `.signatures.json` is `{"files": [{"name", "hash", "algorithm": "SHA-256"}, …], "signatures":
//! [{"algorithm": "Ed25519", "keyid", "signature"}]}`. The signature (hex) covers the bytes of
//! [`signed_payload`]: the compact JSON `{"format":"tollgate-bundle-signature/1","files":[…]}` with
//! the files sorted by name — so it covers the manifest and every file through their digests. The
//! `keyid` (first 8 bytes of the SHA-256 of the public key, hex) only helps messages; it is not
//! trusted.
//!
//! Reading never unpacks to disk: entries are read into memory one by one, and the archive is
//! refused — naming the entry — for a path with `..`, an absolute path, a link or device, a name
//! that appears twice, more entries or more bytes than [`Limits`] allow (a decompression bomb),
//! or any file a bundle does not carry. Then:
//!
//! - with a verification key, an unsigned bundle, a signature that does not verify, a file whose
//!   bytes differ from its digest, a listed file that is missing and a file the list does not cover
//!   are each refused, naming the file;
//! - without a key, a signed bundle is refused too: a signature is never silently ignored (the
//!   public key is not secret, so whoever runs a signed bundle can pass it); an unsigned bundle
//!   loads, and its digests, when present, are still checked.
//!
//! Building is deterministic: entries sorted by name, mode 0644, uid/gid 0, mtime 0, and a gzip
//! header without a time, so the same folder gives the same bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::policy::{BundleFiles, BundleOptions, FileKind, PolicyBundle, PolicyError};
use crate::registry::Registry;

/// The manifest entry.
pub const MANIFEST: &str = ".manifest";
/// The digests and signature entry.
pub const SIGNATURES: &str = ".signatures.json";
/// The generated Cedar schema entry.
pub const SCHEMA: &str = "schema/tollgate.cedarschema.json";
/// The bundle format this Tollgate writes and reads (`metadata.tollgate.format`).
pub const FORMAT: u32 = 1;
/// The domain-separation string inside every signed payload.
pub const SIGNATURE_FORMAT: &str = "tollgate-bundle-signature/1";
/// The digest algorithm named in `.signatures.json`.
pub const DIGEST_ALGORITHM: &str = "SHA-256";
/// The signature algorithm named in `.signatures.json`.
pub const SIGNATURE_ALGORITHM: &str = "Ed25519";

/// Caps on what reading an archive may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The archive file itself (compressed).
    pub archive_bytes: u64,
    /// All files' sizes added up, once decompressed.
    pub unpacked_bytes: u64,
    /// One file, decompressed.
    pub file_bytes: u64,
    /// Entries in the archive (directories included).
    pub entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            archive_bytes: 64 * 1024 * 1024,
            unpacked_bytes: 256 * 1024 * 1024,
            file_bytes: 64 * 1024 * 1024,
            entries: 10_000,
        }
    }
}

/// `.manifest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub revision: String,
    pub roots: Vec<String>,
    pub metadata: ManifestMetadata,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestMetadata {
    pub tollgate: TollgateMetadata,
}

/// What Tollgate records about a bundle it built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TollgateMetadata {
    pub format: u32,
    /// The Tollgate version that built the bundle.
    pub built_by: String,
    pub rego_rules: usize,
    pub cedar_policies: usize,
}

/// One entry of the digest list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileDigest {
    pub name: String,
    /// Lowercase hex.
    pub hash: String,
    pub algorithm: String,
}

/// One signature over the digest list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureEntry {
    pub algorithm: String,
    /// A hint naming the key: not trusted.
    pub keyid: String,
    /// Lowercase hex of the 64-byte Ed25519 signature.
    pub signature: String,
}

/// `.signatures.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signatures {
    pub files: Vec<FileDigest>,
    #[serde(default)]
    pub signatures: Vec<SignatureEntry>,
}

/// The bytes a signature covers: compact JSON of the format string and the digest list, the list
/// sorted by name.
pub fn signed_payload(files: &[FileDigest]) -> Vec<u8> {
    #[derive(Serialize)]
    struct Payload<'a> {
        format: &'a str,
        files: Vec<&'a FileDigest>,
    }
    let mut sorted: Vec<&FileDigest> = files.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    // Serialising plain strings cannot fail.
    serde_json::to_vec(&Payload {
        format: SIGNATURE_FORMAT,
        files: sorted,
    })
    .unwrap_or_default()
}

/// A key's short id: the first 8 bytes of the SHA-256 of its 32 public bytes, hex.
pub fn key_id(key: &VerifyingKey) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..8])
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A bundle archive read, checked and verified, not yet loaded into the engines.
#[derive(Debug, Clone)]
pub struct VerifiedArchive {
    pub path: PathBuf,
    pub manifest: Manifest,
    /// The policy files (`rego/`, `cedar/`, `data/`), shown as `ARCHIVE!/name`.
    pub files: BundleFiles,
    /// The generated Cedar schema the bundle carries, if any.
    pub schema: Option<Vec<u8>>,
    /// The id of the key whose signature verified, when a key was given.
    pub signed_by: Option<String>,
    /// Whether the archive holds a signature at all.
    pub signed: bool,
    /// Every entry of the archive, for `sign` to write back.
    entries: BTreeMap<String, Vec<u8>>,
}

/// A bundle archive loaded into the engines, ready to evaluate with.
#[derive(Debug)]
pub struct LoadedBundle {
    pub bundle: PolicyBundle,
    pub archive: VerifiedArchive,
    /// Whether the schema the bundle carries differs from this Tollgate's (the policies were
    /// validated again against this Tollgate's schema, so this is information, not an error).
    pub schema_differs: bool,
}

fn err(file: impl AsRef<Path>, message: impl Into<String>) -> PolicyError {
    PolicyError::new(file.as_ref(), message)
}

/// The display root of an archive's files: `ARCHIVE!`, so `ARCHIVE!/rego/x.rego`.
fn display_root(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push("!");
    PathBuf::from(s)
}

/// A reader that fails once more than `limit` bytes went through it: caps what a gzip stream
/// may decompress to, headers included.
struct Capped<R> {
    inner: R,
    left: u64,
    limit: u64,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left {
            return Err(std::io::Error::other(format!(
                "decompresses to more than {} bytes (decompression bomb?)",
                self.limit
            )));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Checks an entry's raw path and returns its normalised name (`./` and `.` parts dropped).
fn entry_name(raw: &[u8]) -> Result<String, String> {
    let shown = String::from_utf8_lossy(raw).into_owned();
    let s = std::str::from_utf8(raw).map_err(|_| format!("`{shown}`: name is not valid UTF-8"))?;
    if s.contains('\0') || s.contains('\\') {
        return Err(format!(
            "`{shown}`: name has a NUL or backslash; bundles use `/` paths"
        ));
    }
    if s.starts_with('/') {
        return Err(format!("`{s}`: absolute path; bundle entries are relative"));
    }
    let mut parts = Vec::new();
    for part in s.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(format!("`{s}`: path leaves the bundle (`..`)")),
            p => parts.push(p),
        }
    }
    if parts.first().is_some_and(|p| p.contains(':')) {
        return Err(format!("`{s}`: absolute path; bundle entries are relative"));
    }
    Ok(parts.join("/"))
}

/// Reads an archive file's entries into memory, refusing unsafe or oversized archives. `Ok` holds
/// every regular file by normalised name; nothing about the layout or signatures is checked yet.
pub fn read_entries(
    path: &Path,
    limits: &Limits,
) -> Result<BTreeMap<String, Vec<u8>>, PolicyError> {
    use crate::json::ReadError;
    let bytes = crate::fsio::read_bounded(path, limits.archive_bytes).map_err(|e| match e {
        ReadError::TooLarge { limit, actual } => err(
            path,
            format!("archive too large: limit {limit} bytes, got {actual} bytes"),
        ),
        ReadError::Grew { limit } => err(path, format!("archive too large: limit {limit} bytes")),
        ReadError::NotRegular { what } => err(
            path,
            format!("not a file ({what}): a bundle archive is a .tar.gz file"),
        ),
        e => err(path, e.to_string()),
    })?;
    entries_from_bytes(path, &bytes, limits)
}

/// [`read_entries`] on bytes already in memory; `path` is only shown in messages.
pub fn entries_from_bytes(
    path: &Path,
    bytes: &[u8],
    limits: &Limits,
) -> Result<BTreeMap<String, Vec<u8>>, PolicyError> {
    let root = display_root(path);
    let stream_limit = limits
        .unpacked_bytes
        .saturating_add(1024 * (limits.entries as u64 + 16));
    let decoder = Capped {
        inner: flate2::read::GzDecoder::new(bytes),
        left: stream_limit,
        limit: stream_limit,
    };
    let mut archive = tar::Archive::new(decoder);
    let bad = |e: std::io::Error| err(path, format!("not a valid .tar.gz archive: {e}"));
    let mut out: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let (mut count, mut total) = (0usize, 0u64);
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        count += 1;
        if count > limits.entries {
            return Err(err(
                path,
                format!("too many entries: limit {}", limits.entries),
            ));
        }
        let name = entry_name(&entry.path_bytes()).map_err(|m| err(path, format!("entry {m}")))?;
        let shown = root.join(&name);
        let kind = entry.header().entry_type();
        match kind {
            tar::EntryType::Directory => continue,
            tar::EntryType::Regular => {}
            tar::EntryType::Symlink | tar::EntryType::Link => {
                let target = entry
                    .link_name_bytes()
                    .map(|t| String::from_utf8_lossy(&t).into_owned())
                    .unwrap_or_default();
                let what = if kind == tar::EntryType::Symlink {
                    "a symbolic link"
                } else {
                    "a hard link"
                };
                return Err(err(
                    &shown,
                    format!("is {what} (to `{target}`); bundles hold regular files only"),
                ));
            }
            other => {
                return Err(err(
                    &shown,
                    format!(
                        "unsupported entry type ({}); bundles hold regular files only",
                        entry_type_name(other)
                    ),
                ));
            }
        }
        if name.is_empty() {
            return Err(err(path, "an entry has an empty name"));
        }
        let size = entry.size();
        if size > limits.file_bytes {
            return Err(err(
                &shown,
                format!(
                    "file too large: limit {} bytes, got {size} bytes",
                    limits.file_bytes
                ),
            ));
        }
        total = total.saturating_add(size);
        if total > limits.unpacked_bytes {
            return Err(err(
                &shown,
                format!(
                    "the archive's files add up to more than {} bytes",
                    limits.unpacked_bytes
                ),
            ));
        }
        let mut data = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        (&mut entry)
            .take(limits.file_bytes + 1)
            .read_to_end(&mut data)
            .map_err(|e| err(&shown, format!("cannot read: {e}")))?;
        if data.len() as u64 != size {
            return Err(err(&shown, "truncated entry"));
        }
        if out.contains_key(&name) {
            return Err(err(
                &shown,
                "appears twice in the archive; a later copy could shadow the checked one",
            ));
        }
        out.insert(name, data);
    }
    // Read to the end of the gzip stream so its CRC and length are checked.
    let mut rest = archive.into_inner();
    std::io::copy(&mut rest, &mut std::io::sink()).map_err(bad)?;
    Ok(out)
}

fn entry_type_name(t: tar::EntryType) -> &'static str {
    match t {
        tar::EntryType::Char => "character device",
        tar::EntryType::Block => "block device",
        tar::EntryType::Fifo => "FIFO",
        tar::EntryType::Continuous => "contiguous file",
        tar::EntryType::GNUSparse => "GNU sparse file",
        tar::EntryType::XGlobalHeader => "pax global header",
        _ => "special entry",
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(
    shown: &Path,
    bytes: &[u8],
) -> Result<T, PolicyError> {
    let text = crate::policy::files::decode_text(shown, bytes)?;
    // The strict parser refuses repeated keys (serde's derive would also); it gives the place.
    crate::json::parse_strict(&text).map_err(|e| PolicyError::from_json(shown, e))?;
    let de = &mut serde_json::Deserializer::from_str(&text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let inner = e.inner();
        let at = crate::json::LineCol {
            line: inner.line(),
            column: inner.column(),
        };
        PolicyError::new(shown, format!("{}: {inner}", e.path())).at(at)
    })
}

/// Reads `path` and checks it as described in the module documentation. With `key`, the bundle
/// must carry a signature that verifies with it.
pub fn open(
    path: &Path,
    key: Option<&VerifyingKey>,
    limits: &Limits,
) -> Result<VerifiedArchive, PolicyError> {
    let entries = read_entries(path, limits)?;
    verify_entries(path, entries, key)
}

/// [`open`] on entries already read.
pub fn verify_entries(
    path: &Path,
    entries: BTreeMap<String, Vec<u8>>,
    key: Option<&VerifyingKey>,
) -> Result<VerifiedArchive, PolicyError> {
    let root = display_root(path);
    for name in entries.keys() {
        let known = name == MANIFEST
            || name == SIGNATURES
            || name == SCHEMA
            || FileKind::of(name).is_some();
        if !known {
            return Err(err(
                root.join(name),
                format!(
                    "not a bundle file; a bundle holds {MANIFEST}, {SIGNATURES}, {SCHEMA}, \
                     rego/**/*.rego (no *_test.rego), cedar/**/*.cedar and data/*.json"
                ),
            ));
        }
    }
    let signatures: Option<Signatures> = match entries.get(SIGNATURES) {
        Some(b) => Some(parse_json(&root.join(SIGNATURES), b)?),
        None => None,
    };
    let shown_sig = root.join(SIGNATURES);
    let signed = signatures
        .as_ref()
        .is_some_and(|s| !s.signatures.is_empty());
    if let Some(s) = &signatures
        && s.signatures.len() > 1
    {
        return Err(err(
            &shown_sig,
            format!(
                "{} signatures; this Tollgate reads bundles with one",
                s.signatures.len()
            ),
        ));
    }

    // The signature first: it says whether the digest list itself can be trusted.
    let signed_by = match (key, &signatures) {
        (Some(_), None) => {
            return Err(err(
                path,
                format!("bundle is not signed (no {SIGNATURES}), and a verification key was given"),
            )
            .help("sign it with `tollgate bundle sign`"));
        }
        (Some(_), Some(s)) if s.signatures.is_empty() => {
            return Err(err(
                &shown_sig,
                "bundle is not signed (no signature), and a verification key was given",
            )
            .help("sign it with `tollgate bundle sign`"));
        }
        (Some(key), Some(s)) => {
            let entry = &s.signatures[0];
            if entry.algorithm != SIGNATURE_ALGORITHM {
                return Err(err(
                    &shown_sig,
                    format!(
                        "signature algorithm `{}` is not supported (expected {SIGNATURE_ALGORITHM})",
                        entry.algorithm
                    ),
                ));
            }
            let ours = key_id(key);
            let sig_bytes: [u8; 64] = hex::decode(&entry.signature)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| err(&shown_sig, "signature is not 64 bytes of hex"))?;
            let sig = ed25519_dalek::Signature::from_bytes(&sig_bytes);
            if key.verify_strict(&signed_payload(&s.files), &sig).is_err() {
                let why = if entry.keyid != ours {
                    format!(
                        "signature does not verify: the bundle names key {}, the verification key is {ours}",
                        entry.keyid
                    )
                } else {
                    "signature does not verify with the verification key: the file list was altered after signing".to_owned()
                };
                return Err(err(&shown_sig, why));
            }
            Some(ours)
        }
        (None, Some(s)) if !s.signatures.is_empty() => {
            return Err(err(
                &shown_sig,
                format!(
                    "bundle is signed (key {}) but no verification key was given; a signature is never ignored",
                    s.signatures[0].keyid
                ),
            )
            .help("pass the signer's public key with --verify-key"));
        }
        (None, _) => None,
    };

    if let Some(s) = &signatures {
        let covered = if signed {
            "the signature"
        } else {
            "the digest list"
        };
        let mut listed = BTreeSet::new();
        for d in &s.files {
            let shown = root.join(&d.name);
            if !listed.insert(d.name.as_str()) {
                return Err(err(&shown_sig, format!("`{}` is listed twice", d.name)));
            }
            if d.name == SIGNATURES {
                return Err(err(&shown_sig, format!("lists itself (`{SIGNATURES}`)")));
            }
            if d.algorithm != DIGEST_ALGORITHM {
                return Err(err(
                    &shown,
                    format!(
                        "digest algorithm `{}` is not supported (expected {DIGEST_ALGORITHM})",
                        d.algorithm
                    ),
                ));
            }
            let Some(bytes) = entries.get(&d.name) else {
                return Err(err(
                    &shown,
                    format!("missing: listed in {SIGNATURES} but not in the archive"),
                ));
            };
            if sha256_hex(bytes) != d.hash.to_ascii_lowercase() {
                return Err(err(
                    &shown,
                    format!(
                        "content does not match its digest in {SIGNATURES} (the file was altered)"
                    ),
                ));
            }
        }
        if let Some(extra) = entries
            .keys()
            .find(|n| n.as_str() != SIGNATURES && !listed.contains(n.as_str()))
        {
            return Err(err(
                root.join(extra),
                format!(
                    "not covered by {covered} in {SIGNATURES} (a file added after the bundle was built)"
                ),
            ));
        }
    }

    let manifest: Manifest = match entries.get(MANIFEST) {
        Some(b) => parse_json(&root.join(MANIFEST), b)?,
        None => return Err(err(path, format!("no {MANIFEST}: not a Tollgate bundle"))),
    };
    if manifest.metadata.tollgate.format != FORMAT {
        return Err(err(
            root.join(MANIFEST),
            format!(
                "bundle format {} is not supported (this Tollgate reads format {FORMAT})",
                manifest.metadata.tollgate.format
            ),
        ));
    }
    let mut files = BundleFiles::new(&root);
    for (name, bytes) in &entries {
        if FileKind::of(name).is_some() {
            files.insert(name.clone(), bytes.clone());
        }
    }
    if files.names(FileKind::Rego).is_empty() && files.names(FileKind::Cedar).is_empty() {
        return Err(err(
            path,
            "bundle holds no Rego or Cedar policy: it would evaluate nothing",
        ));
    }
    Ok(VerifiedArchive {
        path: path.to_path_buf(),
        manifest,
        schema: entries.get(SCHEMA).cloned(),
        files,
        signed_by,
        signed,
        entries,
    })
}

/// Opens, verifies and loads a bundle archive: the whole of `--bundle FILE [--verify-key PUB]`.
/// The policies are compiled and the Cedar policies validated against this Tollgate's schema,
/// whatever schema the bundle carries.
pub fn load(
    path: &Path,
    key: Option<&VerifyingKey>,
    registry: &Registry,
    options: &BundleOptions,
) -> Result<LoadedBundle, PolicyError> {
    let archive = open(path, key, &Limits::default())?;
    let bundle = PolicyBundle::from_files(&archive.files, registry, options)?;
    let schema_differs = archive
        .schema
        .as_deref()
        .is_some_and(|s| s != schema_bytes(registry).as_slice());
    if schema_differs {
        tracing::warn!(
            bundle = %path.display(),
            "the bundle's Cedar schema differs from this Tollgate's; its policies were validated against this Tollgate's"
        );
    }
    Ok(LoadedBundle {
        bundle,
        archive,
        schema_differs,
    })
}

fn schema_bytes(registry: &Registry) -> Vec<u8> {
    let mut out =
        serde_json::to_vec_pretty(&crate::policy::cedar::schema_json(registry)).unwrap_or_default();
    out.push(b'\n');
    out
}

fn json_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    // Plain structs of strings and numbers always serialise.
    let mut out = serde_json::to_vec_pretty(value).unwrap_or_default();
    out.push(b'\n');
    out
}

/// What [`build`] made.
#[derive(Debug, Clone)]
pub struct Built {
    /// The `.tar.gz` bytes.
    pub bytes: Vec<u8>,
    pub manifest: Manifest,
    /// Files in the archive (manifest, schema and signatures included).
    pub entries: usize,
}

/// The content revision of a bundle's files: `sha256:` and the digest of their digest list.
pub fn content_revision(files: &BundleFiles) -> String {
    let digests: Vec<FileDigest> = files
        .iter()
        .map(|(name, bytes)| FileDigest {
            name: name.to_owned(),
            hash: sha256_hex(bytes),
            algorithm: DIGEST_ALGORITHM.to_owned(),
        })
        .collect();
    format!("sha256:{}", sha256_hex(&signed_payload(&digests)))
}

/// Builds an unsigned bundle archive from folder `dir`. The folder must load as a bundle (the
/// same checks as `--policies DIR`), so a broken bundle is never packaged. `revision` defaults to
/// [`content_revision`].
pub fn build(
    dir: &Path,
    revision: Option<String>,
    registry: &Registry,
) -> Result<Built, PolicyError> {
    let bundle = PolicyBundle::load(dir, registry, &BundleOptions::default())?;
    let files = BundleFiles::from_dir(dir)?;
    let mut roots = BTreeSet::new();
    for source in files.sources(FileKind::Rego)? {
        let mut engine = regorus::Engine::new();
        engine.set_rego_v0(false);
        let package = engine
            .add_policy(source.path.display().to_string(), source.text)
            .map_err(|e| PolicyError::new(&source.path, e.to_string()))?;
        let package = package.strip_prefix("data.").unwrap_or(&package);
        if let Some(first) = package.split('.').next() {
            roots.insert(first.to_owned());
        }
    }
    if !files.names(FileKind::Data).is_empty() {
        roots.insert("config".to_owned());
    }
    let manifest = Manifest {
        revision: revision.unwrap_or_else(|| content_revision(&files)),
        roots: roots.into_iter().collect(),
        metadata: ManifestMetadata {
            tollgate: TollgateMetadata {
                format: FORMAT,
                built_by: format!("tollgate {}", env!("CARGO_PKG_VERSION")),
                rego_rules: bundle.rego.rules().len(),
                cedar_policies: bundle.cedar.policy_count(),
            },
        },
    };
    if manifest.revision.trim().is_empty() {
        return Err(err(dir, "the revision is empty"));
    }
    let mut entries: BTreeMap<String, Vec<u8>> = files
        .iter()
        .map(|(n, b)| (n.to_owned(), b.to_vec()))
        .collect();
    entries.insert(MANIFEST.to_owned(), json_bytes(&manifest));
    entries.insert(SCHEMA.to_owned(), schema_bytes(registry));
    let signatures = Signatures {
        files: digests(&entries),
        signatures: Vec::new(),
    };
    entries.insert(SIGNATURES.to_owned(), json_bytes(&signatures));
    let bytes =
        write_archive(&entries).map_err(|e| err(dir, format!("writing the archive: {e}")))?;
    Ok(Built {
        bytes,
        manifest,
        entries: entries.len(),
    })
}

fn digests(entries: &BTreeMap<String, Vec<u8>>) -> Vec<FileDigest> {
    entries
        .iter()
        .filter(|(n, _)| n.as_str() != SIGNATURES)
        .map(|(name, bytes)| FileDigest {
            name: name.clone(),
            hash: sha256_hex(bytes),
            algorithm: DIGEST_ALGORITHM.to_owned(),
        })
        .collect()
}

/// Writes entries as a deterministic `.tar.gz`: sorted by name, regular files, mode 0644,
/// uid/gid 0, mtime 0, no user names, a gzip header with no time or file name.
pub fn write_archive(entries: &BTreeMap<String, Vec<u8>>) -> std::io::Result<Vec<u8>> {
    let gz = flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    tar.mode(tar::HeaderMode::Deterministic);
    for (name, bytes) in entries {
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        tar.append_data(&mut header, name, bytes.as_slice())?;
    }
    tar.into_inner()?.finish()
}

/// Signs the bundle archive at `path` with `key`: checks it as [`open`] does without a key
/// (any existing signature is replaced, so it is not required to verify), recomputes every
/// digest and refuses when one differs from the list, then returns the new archive's bytes.
pub fn sign(path: &Path, key: &SigningKey, limits: &Limits) -> Result<Vec<u8>, PolicyError> {
    let mut entries = read_entries(path, limits)?;
    let root = display_root(path);
    // Drop an existing signature so `open` does not demand a key for it; the digests must still
    // match, so signing cannot bless an altered file.
    if let Some(bytes) = entries.get(SIGNATURES) {
        let mut s: Signatures = parse_json(&root.join(SIGNATURES), bytes)?;
        s.signatures.clear();
        entries.insert(SIGNATURES.to_owned(), json_bytes(&s));
    } else {
        return Err(err(
            path,
            format!("no {SIGNATURES}: build the bundle with `tollgate bundle build` first"),
        ));
    }
    let archive = verify_entries(path, entries, None)?;
    let mut entries = archive.entries;
    let files = digests(&entries);
    let signature = key.sign(&signed_payload(&files));
    let signatures = Signatures {
        files,
        signatures: vec![SignatureEntry {
            algorithm: SIGNATURE_ALGORITHM.to_owned(),
            keyid: key_id(&key.verifying_key()),
            signature: hex::encode(signature.to_bytes()),
        }],
    };
    entries.insert(SIGNATURES.to_owned(), json_bytes(&signatures));
    write_archive(&entries).map_err(|e| err(path, format!("writing the archive: {e}")))
}

/// A new random Ed25519 key (from the operating system's generator).
pub fn generate_key() -> Result<SigningKey, String> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| format!("no randomness from the system: {e}"))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// The PEM texts of a key pair: PKCS#8 private key, SubjectPublicKeyInfo public key.
pub fn key_pems(key: &SigningKey) -> Result<(String, String), String> {
    let line = ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF;
    let private = key
        .to_pkcs8_pem(line)
        .map_err(|e| format!("encoding the private key: {e}"))?;
    let public = key
        .verifying_key()
        .to_public_key_pem(line)
        .map_err(|e| format!("encoding the public key: {e}"))?;
    Ok((private.to_string(), public))
}

fn read_key_text(path: &Path) -> Result<String, PolicyError> {
    crate::json::read_text(path, 64 * 1024).map_err(|e| err(path, e.to_string()))
}

/// Reads an Ed25519 private key (PKCS#8 PEM, as `tollgate bundle keygen` or `openssl genpkey
/// -algorithm ed25519` write it).
pub fn read_signing_key(path: &Path) -> Result<SigningKey, PolicyError> {
    let text = read_key_text(path)?;
    SigningKey::from_pkcs8_pem(&text).map_err(|e| {
        err(
            path,
            format!("not an Ed25519 private key in PKCS#8 PEM form ({e})"),
        )
    })
}

/// Reads an Ed25519 public key (SubjectPublicKeyInfo PEM, `-----BEGIN PUBLIC KEY-----`).
pub fn read_verifying_key(path: &Path) -> Result<VerifyingKey, PolicyError> {
    let text = read_key_text(path)?;
    VerifyingKey::from_public_key_pem(&text)
        .map_err(|e| err(path, format!("not an Ed25519 public key in PEM form ({e})")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policies() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies")
    }

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    /// A tar.gz of raw entries (name, type, bytes, link target), written without the tar
    /// crate's path checks so hostile names reach the reader.
    fn craft(entries: &[(&str, tar::EntryType, &[u8], Option<&str>)]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut b = tar::Builder::new(gz);
        for (name, kind, bytes, link) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(*kind);
            h.set_size(bytes.len() as u64);
            h.set_mode(0o644);
            let field = &mut h.as_old_mut().name;
            field.fill(0);
            field[..name.len()].copy_from_slice(name.as_bytes());
            if let Some(l) = link {
                h.set_link_name(l).expect("link name");
            }
            h.set_cksum();
            b.append(&h, *bytes).expect("append");
        }
        b.into_inner().expect("tar").finish().expect("gz")
    }

    fn read(bytes: &[u8]) -> Result<BTreeMap<String, Vec<u8>>, PolicyError> {
        entries_from_bytes(Path::new("b.tar.gz"), bytes, &Limits::default())
    }

    fn built() -> BTreeMap<String, Vec<u8>> {
        let b = build(&policies(), Some("test".into()), Registry::builtin()).expect("builds");
        read(&b.bytes).expect("reads back")
    }

    fn signed(seed: u8) -> BTreeMap<String, Vec<u8>> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("b.tar.gz");
        let b = build(&policies(), Some("test".into()), Registry::builtin()).expect("builds");
        std::fs::write(&path, &b.bytes).expect("write");
        let bytes = sign(&path, &key(seed), &Limits::default()).expect("signs");
        read(&bytes).expect("reads back")
    }

    fn verify(
        entries: BTreeMap<String, Vec<u8>>,
        key: Option<&VerifyingKey>,
    ) -> Result<VerifiedArchive, String> {
        verify_entries(Path::new("b.tar.gz"), entries, key).map_err(|e| e.to_string())
    }

    #[test]
    fn names_are_normalised_and_hostile_ones_refused() {
        assert_eq!(entry_name(b"./rego/x.rego").as_deref(), Ok("rego/x.rego"));
        assert_eq!(entry_name(b"rego//x.rego").as_deref(), Ok("rego/x.rego"));
        assert!(entry_name(b"../x").expect_err("dotdot").contains("`..`"));
        assert!(entry_name(b"rego/../../x").is_err());
        assert!(
            entry_name(b"/etc/passwd")
                .expect_err("abs")
                .contains("absolute")
        );
        assert!(entry_name(b"C:/x").expect_err("drive").contains("absolute"));
        assert!(entry_name(b"a\\b").is_err());
        assert!(entry_name(b"\xff").expect_err("utf8").contains("UTF-8"));
    }

    #[test]
    fn build_is_deterministic_and_reads_back() {
        let a = build(&policies(), Some("r1".into()), Registry::builtin()).expect("builds");
        let b = build(&policies(), Some("r1".into()), Registry::builtin()).expect("builds");
        assert!(a.bytes == b.bytes, "same folder, same bytes");
        let entries = read(&a.bytes).expect("reads");
        assert!(entries.contains_key(MANIFEST) && entries.contains_key(SIGNATURES));
        assert!(entries.contains_key(SCHEMA));
        assert!(
            entries.keys().all(|n| !n.ends_with("_test.rego")),
            "no tests"
        );
        let v = verify(entries, None).expect("unsigned bundle opens without a key");
        assert!(!v.signed && v.signed_by.is_none());
        assert_eq!(v.manifest.revision, "r1");
        assert!(v.manifest.roots.contains(&"tollgate".to_owned()));
        // The default revision is the content digest, stable too.
        let c = build(&policies(), None, Registry::builtin()).expect("builds");
        assert!(c.manifest.revision.starts_with("sha256:"));
        let d = build(&policies(), None, Registry::builtin()).expect("builds");
        assert_eq!(c.manifest.revision, d.manifest.revision);
    }

    #[test]
    fn a_signed_bundle_verifies_and_loads_like_the_folder() {
        let k = key(7);
        let v = verify(signed(7), Some(&k.verifying_key())).expect("verifies");
        assert_eq!(v.signed_by, Some(key_id(&k.verifying_key())));
        let registry = Registry::builtin();
        let from_archive =
            PolicyBundle::from_files(&v.files, registry, &BundleOptions::default()).expect("loads");
        let from_dir =
            PolicyBundle::load(&policies(), registry, &BundleOptions::default()).expect("loads");
        let ids = |b: &PolicyBundle| b.metas().iter().map(|m| m.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&from_archive), ids(&from_dir));
        assert!(from_archive.prices.contains_key("eu-west-1"));
        let file = &from_archive.rego.rules()[0].meta.file;
        assert!(file.starts_with("b.tar.gz!/rego/"), "{file}");
    }

    #[test]
    fn tamper_matrix() {
        let k = key(7);
        let pk = k.verifying_key();
        let rego = "rego/encryption/s3_kms.rego";

        let mut edited = signed(7);
        edited
            .get_mut(rego)
            .expect("present")
            .extend_from_slice(b"\n# edited\n");
        let e = verify(edited.clone(), Some(&pk)).expect_err("edited");
        assert!(
            e.contains(&format!("b.tar.gz!/{rego}")) && e.contains("altered"),
            "{e}"
        );
        // Without a key the digests still catch it (and the signature is refused first).
        let mut edited_unsigned = built();
        edited_unsigned.get_mut(rego).expect("present").push(b' ');
        let e = verify(edited_unsigned, None).expect_err("edited, unsigned");
        assert!(e.contains(rego) && e.contains("digest"), "{e}");

        let mut missing = signed(7);
        missing.remove(rego);
        let e = verify(missing, Some(&pk)).expect_err("missing");
        assert!(e.contains(rego) && e.contains("missing"), "{e}");

        let mut extra = signed(7);
        extra.insert("rego/zz_backdoor.rego".into(), b"package x".to_vec());
        let e = verify(extra, Some(&pk)).expect_err("extra");
        assert!(
            e.contains("rego/zz_backdoor.rego") && e.contains("not covered"),
            "{e}"
        );

        let e = verify(signed(7), Some(&key(8).verifying_key())).expect_err("wrong key");
        assert!(
            e.contains(SIGNATURES) && e.contains("does not verify"),
            "{e}"
        );

        let e = verify(built(), Some(&pk)).expect_err("unsigned with a key");
        assert!(e.contains("not signed"), "{e}");
        let mut no_list = built();
        no_list.remove(SIGNATURES);
        let e = verify(no_list.clone(), Some(&pk)).expect_err("no list with a key");
        assert!(e.contains("not signed"), "{e}");
        verify(no_list, None).expect("a plain archive without digests opens without a key");

        let e = verify(signed(7), None).expect_err("signature without a key");
        assert!(e.contains("no verification key"), "{e}");

        // The digest list altered to match an edited file: the signature catches it.
        let mut relisted = edited;
        let mut sigs: Signatures =
            serde_json::from_slice(&relisted[SIGNATURES]).expect("signatures parse");
        for d in &mut sigs.files {
            if d.name == rego {
                d.hash = sha256_hex(&relisted[rego]);
            }
        }
        relisted.insert(SIGNATURES.into(), json_bytes(&sigs));
        let e = verify(relisted, Some(&pk)).expect_err("relisted");
        assert!(e.contains("altered after signing"), "{e}");

        let mut unknown = built();
        unknown.insert("README.md".into(), b"hi".to_vec());
        let e = verify(unknown, None).expect_err("unknown file");
        assert!(
            e.contains("README.md") && e.contains("not a bundle file"),
            "{e}"
        );
    }

    #[test]
    fn signing_refuses_an_altered_bundle() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("b.tar.gz");
        let mut entries = built();
        entries
            .get_mut("cedar/access.cedar")
            .expect("present")
            .push(b'\n');
        std::fs::write(&path, write_archive(&entries).expect("writes")).expect("write");
        let e = sign(&path, &key(1), &Limits::default()).expect_err("altered");
        assert!(e.to_string().contains("cedar/access.cedar"), "{e}");
    }

    #[test]
    fn crafted_archives_are_refused_naming_the_entry() {
        use tar::EntryType as T;
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (craft(&[("../evil.rego", T::Regular, b"x", None)]), "`..`"),
            (
                craft(&[("/etc/evil", T::Regular, b"x", None)]),
                "absolute path",
            ),
            (
                craft(&[("rego/link.rego", T::Symlink, b"", Some("/etc/passwd"))]),
                "symbolic link",
            ),
            (
                craft(&[("rego/hard.rego", T::Link, b"", Some("rego/a.rego"))]),
                "hard link",
            ),
            (craft(&[("dev", T::Char, b"", None)]), "character device"),
            (
                craft(&[
                    ("rego/a.rego", T::Regular, b"x", None),
                    ("./rego/a.rego", T::Regular, b"y", None),
                ]),
                "appears twice",
            ),
        ];
        for (bytes, want) in cases {
            let e = read(&bytes).expect_err(want).to_string();
            assert!(e.contains(want), "{want}: {e}");
        }
        let e = read(&craft(&[("rego/link.rego", T::Symlink, b"", Some("x"))]))
            .expect_err("symlink")
            .to_string();
        assert!(e.starts_with("b.tar.gz!/rego/link.rego:"), "{e}");
    }

    #[test]
    fn limits_stop_oversized_archives() {
        use tar::EntryType as T;
        let small = Limits {
            archive_bytes: 1 << 20,
            unpacked_bytes: 3000,
            file_bytes: 2000,
            entries: 3,
        };
        let big = vec![0u8; 2001];
        let e = entries_from_bytes(
            Path::new("b.tar.gz"),
            &craft(&[("data/big.json", T::Regular, &big, None)]),
            &small,
        )
        .expect_err("file cap")
        .to_string();
        assert!(
            e.contains("data/big.json") && e.contains("limit 2000"),
            "{e}"
        );
        let half = vec![b' '; 1600];
        let e = entries_from_bytes(
            Path::new("b.tar.gz"),
            &craft(&[
                ("data/a.json", T::Regular, &half, None),
                ("data/b.json", T::Regular, &half, None),
            ]),
            &small,
        )
        .expect_err("total cap")
        .to_string();
        assert!(e.contains("data/b.json") && e.contains("3000"), "{e}");
        let four: Vec<(&str, T, &[u8], Option<&str>)> = ["a", "b", "c", "d"]
            .iter()
            .map(|n| (*n, T::Regular, &b""[..], None))
            .collect();
        let e = entries_from_bytes(Path::new("b.tar.gz"), &craft(&four), &small)
            .expect_err("entry cap")
            .to_string();
        assert!(e.contains("too many entries"), "{e}");
        // A header that claims a huge size is refused before anything is read.
        let mut h = tar::Header::new_gnu();
        h.set_path("data/huge.json").expect("path");
        h.set_size(1 << 40);
        h.set_entry_type(T::Regular);
        h.set_cksum();
        let mut raw = h.as_bytes().to_vec();
        raw.extend(vec![0u8; 1024]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &raw).expect("gz");
        let e = read(&gz.finish().expect("gz"))
            .expect_err("claimed size")
            .to_string();
        assert!(
            e.contains("data/huge.json") && e.contains("too large"),
            "{e}"
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bytes in [
            &b""[..],
            b"not gzip",
            &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3][..],
        ] {
            let e = read(bytes).expect_err("garbage").to_string();
            assert!(
                e.starts_with("b.tar.gz: not a valid .tar.gz archive"),
                "{e}"
            );
        }
        // Truncated: the gzip stream's end is checked.
        let b = build(&policies(), Some("t".into()), Registry::builtin()).expect("builds");
        assert!(read(&b.bytes[..b.bytes.len() - 4]).is_err());
    }

    #[test]
    fn keys_round_trip_through_pem() {
        let dir = tempfile::tempdir().expect("tempdir");
        let k = generate_key().expect("key");
        let (private, public) = key_pems(&k).expect("pem");
        assert!(private.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(public.starts_with("-----BEGIN PUBLIC KEY-----"));
        std::fs::write(dir.path().join("k"), &private).expect("write");
        std::fs::write(dir.path().join("k.pub"), &public).expect("write");
        let back = read_signing_key(&dir.path().join("k")).expect("reads");
        assert_eq!(back.to_bytes(), k.to_bytes());
        let pk = read_verifying_key(&dir.path().join("k.pub")).expect("reads");
        assert_eq!(pk, k.verifying_key());
        let e = read_verifying_key(&dir.path().join("k")).expect_err("private as public");
        assert!(e.to_string().contains("public key"), "{e}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048)) {
            let _ = read(&bytes);
        }

        #[test]
        fn damaged_archives_never_panic(at in 0usize..4096, byte in proptest::prelude::any::<u8>()) {
            let mut bytes = craft(&[
                ("rego/a.rego", tar::EntryType::Regular, b"package a\n", None),
                ("data/x.json", tar::EntryType::Regular, b"{}", None),
            ]);
            let i = at % bytes.len();
            bytes[i] = byte;
            if let Ok(entries) = read(&bytes) {
                let _ = verify_entries(Path::new("b.tar.gz"), entries, None);
            }
        }
    }

    // The fault catalogue's names (docs/faults.md) for the tests above.
    #[test]
    fn fault_bundle_archive_with_dotdot_absolute_paths_links_duplicates_or_a_zip_bomb() {
        crafted_archives_are_refused_naming_the_entry();
        limits_stop_oversized_archives();
    }

    #[test]
    fn fault_an_unsigned_or_altered_bundle_where_a_key_is_configured() {
        tamper_matrix();
    }
}
