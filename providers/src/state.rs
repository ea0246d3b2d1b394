//! What Tollgate has provisioned: per resource, the provider's handle and the document last
//! applied. A local file by default (`.tollgate/state.json`), or an S3 object for teams.
//!
//! Every write is whole and atomic (a temporary file renamed into place; one S3 PUT), and apply
//! writes after each resource, so a crash loses at most the call in flight. A lock — a file
//! created exclusively, or an S3 object written with `If-None-Match: *` — keeps two applies apart.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use tollgate_engine::fsio::{read_bounded, write_atomically};
use tollgate_engine::json::{MAX_FILE_BYTES, ReadError};

use crate::provider::{Handle, error_chain};

/// The state document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// Format version of this document.
    pub version: u32,
    /// Identifies one history of states: a plan made against another lineage is refused.
    pub lineage: String,
    /// Bumped on every write.
    pub serial: u64,
    /// Digest of the plan whose apply wrote this state last: that plan may resume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_plan: Option<String>,
    /// By address (`stack/id`).
    #[serde(default)]
    pub resources: BTreeMap<String, ResourceState>,
}

pub const STATE_VERSION: u32 = 1;

/// One provisioned (or being provisioned) resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceState {
    #[serde(rename = "type")]
    pub type_name: String,
    pub status: Status,
    /// Set once the object exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<Handle>,
    /// The stack document's resource as last applied (`properties`, `tags`), references
    /// unresolved: what the next plan compares the stack document with.
    pub document: Value,
    /// Addresses this resource depends on (deletes run in the reverse order).
    #[serde(default)]
    pub depends_on: Vec<String>,
    pub updated_at: String,
}

/// Where a resource's provisioning stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Exists and matches `document`.
    Applied,
    /// A create was started and not recorded as finished: the object may or may not exist.
    /// The next apply looks for it (by name or owner tag) before creating anything.
    Creating,
}

impl State {
    /// A new, empty history.
    pub fn new() -> Self {
        let seed = format!(
            "{}-{}-{:?}",
            std::process::id(),
            chrono::Utc::now().to_rfc3339(),
            std::thread::current().id()
        );
        let digest = Sha256::digest(seed.as_bytes());
        Self {
            version: STATE_VERSION,
            lineage: hex::encode(&digest[..16]),
            serial: 0,
            last_plan: None,
            resources: BTreeMap::new(),
        }
    }

    /// Parses a state document; `origin` names it in errors.
    pub fn parse(bytes: &[u8], origin: &str) -> Result<Self, StateError> {
        let state: State = serde_json::from_slice(bytes).map_err(|e| StateError::Corrupt {
            location: origin.to_owned(),
            message: format!("line {}, column {}: {e}", e.line(), e.column()),
        })?;
        if state.version != STATE_VERSION {
            return Err(StateError::Corrupt {
                location: origin.to_owned(),
                message: format!(
                    "state format version {} is not supported (this tollgate reads {STATE_VERSION})",
                    state.version
                ),
            });
        }
        Ok(state)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }
}

impl Default for State {
    fn default() -> Self {
        Self::new()
    }
}

/// Who holds a lock, and since when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    pub id: String,
    pub who: String,
    pub operation: String,
    pub created: String,
}

impl LockInfo {
    /// A new lock for `operation`, held by this user on this host.
    pub fn new(operation: &str) -> Self {
        let who = format!(
            "{}@{} (pid {})",
            std::env::var("USER").unwrap_or_else(|_| "unknown".to_owned()),
            std::fs::read_to_string("/etc/hostname")
                .map(|h| h.trim().to_owned())
                .unwrap_or_else(|_| "localhost".to_owned()),
            std::process::id()
        );
        let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        // Random, so two locks taken by one process in the same second differ (the holder
        // recognises its own lock by id after a retried write).
        let mut nonce = [0u8; 16];
        if getrandom::fill(&mut nonce).is_err() {
            let nanos = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
            nonce[..8].copy_from_slice(&nanos.to_le_bytes());
        }
        let mut hasher = Sha256::new();
        hasher.update(format!("{who}{created}{operation}").as_bytes());
        hasher.update(nonce);
        let id = hex::encode(&hasher.finalize()[..8]);
        Self {
            id,
            who,
            operation: operation.to_owned(),
            created,
        }
    }
}

/// Why state could not be read, written or locked.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(
        "the state at {location} is corrupt ({message}); it was not changed. {}",
        backup_hint(location)
    )]
    Corrupt { location: String, message: String },
    #[error(
        "the state at {location} is locked by {} since {} for `{}` (lock id {}). If that run is \
         gone, release it with `tollgate state unlock {}`",
        holder.who, holder.created, holder.operation, holder.id, holder.id
    )]
    Locked { location: String, holder: LockInfo },
    #[error(
        "the lock of the state at {location} is {problem}: a run probably stopped between \
         creating the lock and writing it. If no run is going on, release it with `tollgate \
         state unlock --force`"
    )]
    CorruptLock { location: String, problem: String },
    #[error("the state at {location} is not locked by {id}{}", held_by(holder))]
    NotLockHolder {
        location: String,
        id: String,
        holder: Option<LockInfo>,
    },
    #[error("{location}: {message}")]
    Io { location: String, message: String },
    #[error("`{0}` is not a state location: give a file path or s3://BUCKET/KEY")]
    BadLocation(String),
}

fn backup_hint(location: &str) -> String {
    if location.starts_with("s3://") {
        "Restore an earlier version of the object (enable versioning on state buckets)".to_owned()
    } else {
        format!("The previous state is at {location}.backup")
    }
}

fn held_by(holder: &Option<LockInfo>) -> String {
    match holder {
        Some(h) => format!(" (it is held by {} as lock id {})", h.who, h.id),
        None => " (it is not locked)".to_owned(),
    }
}

/// Where state lives.
#[derive(Debug, Clone)]
pub enum Location {
    File(PathBuf),
    S3 { bucket: String, key: String },
}

impl Location {
    /// `s3://bucket/key` or a file path.
    pub fn parse(s: &str) -> Result<Self, StateError> {
        if let Some(rest) = s.strip_prefix("s3://") {
            let (bucket, key) = rest
                .split_once('/')
                .filter(|(b, k)| !b.is_empty() && !k.is_empty())
                .ok_or_else(|| StateError::BadLocation(s.to_owned()))?;
            return Ok(Location::S3 {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
            });
        }
        if s.is_empty() || s.contains("://") {
            return Err(StateError::BadLocation(s.to_owned()));
        }
        Ok(Location::File(PathBuf::from(s)))
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::File(p) => write!(f, "{}", p.display()),
            Location::S3 { bucket, key } => write!(f, "s3://{bucket}/{key}"),
        }
    }
}

/// A state location with the client it needs.
#[derive(Debug, Clone)]
pub struct Backend {
    location: Location,
    s3: Option<aws_sdk_s3::Client>,
}

impl Backend {
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Self {
            location: Location::File(path.into()),
            s3: None,
        }
    }

    pub fn new(location: Location, s3: Option<aws_sdk_s3::Client>) -> Self {
        Self { location, s3 }
    }

    pub fn location(&self) -> &Location {
        &self.location
    }

    fn name(&self) -> String {
        self.location.to_string()
    }

    fn s3(&self) -> Result<&aws_sdk_s3::Client, StateError> {
        self.s3.as_ref().ok_or_else(|| StateError::Io {
            location: self.name(),
            message: "no S3 client configured".to_owned(),
        })
    }

    fn io(&self, what: &str, e: impl std::fmt::Display) -> StateError {
        StateError::Io {
            location: self.name(),
            message: format!("{what}: {e}"),
        }
    }

    /// Reads the state; `None` when there is none yet.
    pub async fn load(&self) -> Result<Option<State>, StateError> {
        let name = self.name();
        match &self.location {
            Location::File(path) => match read_file(path) {
                Ok(bytes) => State::parse(&bytes, &name).map(Some),
                Err(e) if is_not_found(&e) => Ok(None),
                Err(e) => Err(self.io("reading", e)),
            },
            Location::S3 { bucket, key } => {
                match self.s3()?.get_object().bucket(bucket).key(key).send().await {
                    Ok(out) => {
                        let bytes = out
                            .body
                            .collect()
                            .await
                            .map_err(|e| self.io("reading", e))?
                            .into_bytes();
                        State::parse(&bytes, &name).map(Some)
                    }
                    Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => Ok(None),
                    Err(e) => Err(self.io("GetObject", error_chain(&e))),
                }
            }
        }
    }

    /// Writes the state whole, atomically. A local file's previous content is kept as
    /// `<file>.backup`.
    pub async fn save(&self, state: &State) -> Result<(), StateError> {
        let bytes = state.to_bytes();
        match &self.location {
            Location::File(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| self.io("creating the folder", e))?;
                }
                if path.exists() {
                    let old = read_file(path).map_err(|e| self.io("reading", e))?;
                    write_atomically(&backup_path(path), &old)
                        .map_err(|e| self.io("writing the backup", e))?;
                }
                write_atomically(path, &bytes).map_err(|e| self.io("writing", e))
            }
            Location::S3 { bucket, key } => self
                .s3()?
                .put_object()
                .bucket(bucket)
                .key(key)
                .content_type("application/json")
                .body(bytes.into())
                .send()
                .await
                .map(drop)
                .map_err(|e| self.io("PutObject", error_chain(&e))),
        }
    }

    /// Takes the lock, or says who holds it.
    pub async fn lock(&self, info: &LockInfo) -> Result<(), StateError> {
        let body = serde_json::to_vec_pretty(info).unwrap_or_default();
        match &self.location {
            Location::File(path) => {
                let lock = lock_path(path);
                if let Some(dir) = lock.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| self.io("creating the folder", e))?;
                }
                match std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&lock)
                {
                    Ok(mut f) => {
                        f.write_all(&body)
                            .and_then(|()| f.sync_all())
                            .map_err(|e| self.io("writing the lock", e))?;
                        Ok(())
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        Err(self.held(self.read_lock().await?))
                    }
                    Err(e) => Err(self.io("creating the lock", e)),
                }
            }
            Location::S3 { bucket, key } => {
                let res = self
                    .s3()?
                    .put_object()
                    .bucket(bucket)
                    .key(lock_key(key))
                    .if_none_match("*")
                    .content_type("application/json")
                    .body(body.into())
                    .send()
                    .await;
                match res {
                    Ok(_) => Ok(()),
                    Err(e) if is_precondition_failed(&e) => {
                        // A retried write whose first attempt succeeded (the answer was lost)
                        // meets its own lock: that is ours.
                        match self.read_lock().await? {
                            Some(holder) if holder == *info => Ok(()),
                            holder => Err(self.held(holder)),
                        }
                    }
                    Err(e) => Err(self.io("PutObject (lock)", error_chain(&e))),
                }
            }
        }
    }

    fn held(&self, holder: Option<LockInfo>) -> StateError {
        StateError::Locked {
            location: self.name(),
            holder: holder.unwrap_or(LockInfo {
                id: "unknown".to_owned(),
                who: "an unknown holder (the lock could not be read)".to_owned(),
                operation: "unknown".to_owned(),
                created: "an unknown time".to_owned(),
            }),
        }
    }

    /// The current lock, if any.
    pub async fn read_lock(&self) -> Result<Option<LockInfo>, StateError> {
        let bytes = match &self.location {
            Location::File(path) => match read_file(&lock_path(path)) {
                Ok(b) => b,
                Err(e) if is_not_found(&e) => return Ok(None),
                Err(e) => return Err(self.io("reading the lock", e)),
            },
            Location::S3 { bucket, key } => {
                match self
                    .s3()?
                    .get_object()
                    .bucket(bucket)
                    .key(lock_key(key))
                    .send()
                    .await
                {
                    Ok(out) => out
                        .body
                        .collect()
                        .await
                        .map_err(|e| self.io("reading the lock", e))?
                        .into_bytes()
                        .to_vec(),
                    Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                        return Ok(None);
                    }
                    Err(e) => return Err(self.io("GetObject (lock)", error_chain(&e))),
                }
            }
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(StateError::CorruptLock {
                location: self.name(),
                problem: "empty".to_owned(),
            });
        }
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StateError::CorruptLock {
                location: self.name(),
                problem: format!("corrupt (not a Tollgate lock: {e})"),
            })
    }

    /// What holds the state, in words, for a confirmation: `None` when it is not locked.
    pub async fn describe_lock(&self) -> Result<Option<String>, StateError> {
        match self.read_lock().await {
            Ok(Some(h)) => Ok(Some(format!(
                "held by {} since {} for `{}` (lock id {})",
                h.who, h.created, h.operation, h.id
            ))),
            Ok(None) => Ok(None),
            Err(StateError::CorruptLock { problem, .. }) => Ok(Some(problem.to_string())),
            Err(e) => Err(e),
        }
    }

    /// Removes the lock whatever it holds — an empty or corrupt lock, or another run's. The
    /// caller asks for confirmation first.
    pub async fn force_unlock(&self) -> Result<(), StateError> {
        match &self.location {
            Location::File(path) => match std::fs::remove_file(lock_path(path)) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(self.io("removing the lock", e)),
            },
            Location::S3 { bucket, key } => self
                .s3()?
                .delete_object()
                .bucket(bucket)
                .key(lock_key(key))
                .send()
                .await
                .map(drop)
                .map_err(|e| self.io("DeleteObject (lock)", error_chain(&e))),
        }
    }

    /// Releases the lock `id`; refuses when another lock (or none) is held.
    pub async fn unlock(&self, id: &str) -> Result<(), StateError> {
        let holder = self.read_lock().await?;
        if holder.as_ref().map(|h| h.id.as_str()) != Some(id) {
            return Err(StateError::NotLockHolder {
                location: self.name(),
                id: id.to_owned(),
                holder,
            });
        }
        self.force_unlock().await
    }
}

/// S3's answer to a conditional write whose condition failed: HTTP 412 (the SDK models no error
/// variant for it).
fn is_precondition_failed<E>(
    e: &aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> bool
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata,
{
    use aws_smithy_runtime_api::client::result::SdkError;
    match e {
        SdkError::ServiceError(s) => {
            s.err().code() == Some("PreconditionFailed") || s.raw().status().as_u16() == 412
        }
        _ => false,
    }
}

/// A local state or lock file: a regular file, size-capped (a FIFO or device named as the state
/// is refused, saying what it is).
fn read_file(path: &Path) -> Result<Vec<u8>, ReadError> {
    read_bounded(path, MAX_FILE_BYTES)
}

fn is_not_found(e: &ReadError) -> bool {
    matches!(e, ReadError::Io(e) if e.kind() == std::io::ErrorKind::NotFound)
}

fn lock_path(state: &Path) -> PathBuf {
    let mut s = state.as_os_str().to_owned();
    s.push(".lock");
    PathBuf::from(s)
}

fn backup_path(state: &Path) -> PathBuf {
    let mut s = state.as_os_str().to_owned();
    s.push(".backup");
    PathBuf::from(s)
}

fn lock_key(key: &str) -> String {
    format!("{key}.lock")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn a_local_state_round_trips_and_keeps_a_backup() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".tollgate/state.json");
        let backend = Backend::file(&path);
        rt().block_on(async {
            assert!(backend.load().await.unwrap().is_none());
            let mut state = State::new();
            backend.save(&state).await.unwrap();
            state.serial = 1;
            backend.save(&state).await.unwrap();
            assert_eq!(backend.load().await.unwrap().unwrap(), state);
            let backup = State::parse(&std::fs::read(backup_path(&path)).unwrap(), "b").unwrap();
            assert_eq!(backup.serial, 0);
        });
    }

    #[test]
    fn a_truncated_state_is_refused_at_every_length_naming_the_backup() {
        let mut state = State::new();
        state.resources.insert(
            "s/r".into(),
            ResourceState {
                type_name: "aws_s3_bucket".into(),
                status: Status::Applied,
                handle: Some(Handle::new("b")),
                document: serde_json::json!({"properties": {"bucket": "b"}}),
                depends_on: vec![],
                updated_at: "2026-11-26T00:00:00Z".into(),
            },
        );
        let bytes = state.to_bytes();
        // Every proper prefix that is not the whole document (minus trailing whitespace).
        let whole = bytes.len() - 1;
        for n in 0..whole {
            let err = State::parse(&bytes[..n], "/x/state.json").unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains("/x/state.json.backup"), "{msg}");
            assert!(msg.contains("corrupt"), "{msg}");
        }
        assert_eq!(State::parse(&bytes, "x").unwrap(), state);
    }

    #[test]
    fn a_second_lock_names_the_holder_and_unlock_needs_its_id() {
        let dir = tempfile::tempdir().unwrap();
        let backend = Backend::file(dir.path().join("state.json"));
        rt().block_on(async {
            let first = LockInfo::new("apply");
            backend.lock(&first).await.unwrap();
            let err = backend.lock(&LockInfo::new("apply")).await.unwrap_err();
            let msg = err.to_string();
            assert!(
                msg.contains(&first.id) && msg.contains(&first.created),
                "{msg}"
            );
            let wrong = backend.unlock("nope").await.unwrap_err().to_string();
            assert!(wrong.contains(&first.id), "{wrong}");
            backend.unlock(&first.id).await.unwrap();
            backend.lock(&LockInfo::new("apply")).await.unwrap();
        });
    }

    #[test]
    fn fault_an_empty_or_corrupt_lock_is_reported_as_such_and_force_unlock_releases_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let backend = Backend::file(&path);
        rt().block_on(async {
            for (bytes, word) in [
                (&b""[..], "is empty"),
                (&b"{\"id\": \"ab"[..], "is corrupt"),
            ] {
                std::fs::write(lock_path(&path), bytes).unwrap();
                let msg = backend
                    .lock(&LockInfo::new("apply"))
                    .await
                    .unwrap_err()
                    .to_string();
                assert!(
                    msg.contains(word) && msg.contains("state unlock --force"),
                    "{msg}"
                );
                // Unlocking by an id cannot release it; forcing does.
                let msg = backend.unlock("unknown").await.unwrap_err().to_string();
                assert!(msg.contains(word), "{msg}");
                assert!(backend.describe_lock().await.unwrap().is_some());
                backend.force_unlock().await.unwrap();
                assert!(backend.describe_lock().await.unwrap().is_none());
                backend.lock(&LockInfo::new("apply")).await.unwrap();
                backend.force_unlock().await.unwrap();
            }
        });
    }

    #[test]
    fn a_fifo_named_as_the_state_is_refused_saying_what_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let ok = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(ok.success());
        let msg = rt()
            .block_on(Backend::file(&path).load())
            .unwrap_err()
            .to_string();
        assert!(msg.contains("FIFO"), "{msg}");
    }

    #[test]
    fn locations_parse() {
        assert!(matches!(
            Location::parse("s3://b/k/state.json").unwrap(),
            Location::S3 { ref bucket, ref key } if bucket == "b" && key == "k/state.json"
        ));
        assert!(Location::parse("s3://b").is_err());
        assert!(Location::parse("s3:///k").is_err());
        assert!(Location::parse("gs://b/k").is_err());
        assert!(matches!(
            Location::parse(".tollgate/state.json").unwrap(),
            Location::File(_)
        ));
    }

    // The fault catalogue's names (docs/faults.md) for the tests above.
    #[test]
    fn fault_state_file_truncated_or_corrupt() {
        a_truncated_state_is_refused_at_every_length_naming_the_backup();
    }
}
