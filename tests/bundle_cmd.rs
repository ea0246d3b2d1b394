//! End-to-end tests of `tollgate bundle` and `tollgate check --bundle`: build → sign → verify →
//! check gives the same findings as the folder; the tamper matrix; hostile archives (built here
//! with the tar crate); deterministic builds. Each test runs the real binary in a child process.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns unwrap too

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const TODAY: &str = "2026-11-26";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tollgate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(args)
        .current_dir(root())
        .env_remove("RAYON_NUM_THREADS")
        .output()
        .expect("run tollgate")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited normally, not by a signal")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A raw archive entry: name, type, bytes, link target.
type RawEntry<'a> = (&'a str, tar::EntryType, &'a [u8], Option<&'a str>);

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A temporary folder with a key pair and a built (unsigned) bundle of the default policies.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let setup = Self { dir };
        let o = tollgate(&[
            "bundle",
            "keygen",
            "--private",
            s(&setup.path("key.pem")),
            "--public",
            s(&setup.path("key.pub")),
        ]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let o = tollgate(&[
            "bundle",
            "build",
            "policies",
            "-o",
            s(&setup.path("unsigned.tar.gz")),
            "--revision",
            "test-1",
        ]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let o = tollgate(&[
            "bundle",
            "sign",
            s(&setup.path("unsigned.tar.gz")),
            "--key",
            s(&setup.path("key.pem")),
            "-o",
            s(&setup.path("signed.tar.gz")),
        ]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        setup
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `check --bundle FILE [--verify-key PUB] --format json` on the estate.
    fn check(&self, bundle: &Path, key: Option<&Path>) -> Output {
        let mut args = vec![
            "check",
            "stacks",
            "--bundle",
            s(bundle),
            "--format",
            "json",
            "--as-of",
            TODAY,
        ];
        if let Some(k) = key {
            args.extend(["--verify-key", s(k)]);
        }
        tollgate(&args)
    }
}

/// The archive's entries, in order, read with the tar crate.
fn entries(path: &Path) -> Vec<(String, Vec<u8>)> {
    let file = std::fs::File::open(path).unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut out = Vec::new();
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        e.read_to_end(&mut bytes).unwrap();
        out.push((name, bytes));
    }
    out
}

/// Writes raw entries (name, type, bytes, link target) as a .tar.gz, putting each name straight
/// into the header so hostile names survive.
fn write_raw(path: &Path, entries: &[RawEntry<'_>]) {
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
            h.set_link_name(l).unwrap();
        }
        h.set_cksum();
        b.append(&h, *bytes).unwrap();
    }
    std::fs::write(path, b.into_inner().unwrap().finish().unwrap()).unwrap();
}

fn rewrite(path: &Path, entries: &[(String, Vec<u8>)]) {
    let raw: Vec<RawEntry<'_>> = entries
        .iter()
        .map(|(n, b)| (n.as_str(), tar::EntryType::Regular, b.as_slice(), None))
        .collect();
    write_raw(path, &raw);
}

fn findings(o: &Output) -> (Value, Value) {
    let v: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&o.stdout)));
    (v["findings"].clone(), v["summary"].clone())
}

#[test]
fn build_sign_verify_and_check_match_the_folder() {
    let t = Setup::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(t.path("key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "private key is owner-only");
    }
    let o = tollgate(&[
        "bundle",
        "verify",
        s(&t.path("signed.tar.gz")),
        "--verify-key",
        s(&t.path("key.pub")),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.starts_with("OK: ") && out.contains("revision test-1"),
        "{out}"
    );

    let names: Vec<String> = entries(&t.path("signed.tar.gz"))
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "entries sorted");
    assert!(names.contains(&".manifest".to_owned()));
    assert!(names.contains(&"schema/tollgate.cedarschema.json".to_owned()));
    assert!(names.iter().all(|n| !n.ends_with("_test.rego")));

    let folder = tollgate(&[
        "check",
        "stacks",
        "--policies",
        "policies",
        "--format",
        "json",
        "--as-of",
        TODAY,
    ]);
    let archive = t.check(&t.path("signed.tar.gz"), Some(&t.path("key.pub")));
    assert_eq!(code(&archive), code(&folder), "{}", stderr(&archive));
    let (f1, s1) = findings(&folder);
    let (f2, s2) = findings(&archive);
    assert!(f1.as_array().is_some_and(|a| !a.is_empty()));
    assert_eq!(f1, f2, "same findings from the archive as from the folder");
    assert_eq!(s1, s2, "same summary");

    // An unsigned bundle loads without a key too.
    let o = t.check(&t.path("unsigned.tar.gz"), None);
    assert_eq!(code(&o), code(&folder), "{}", stderr(&o));
    assert_eq!(findings(&o).0, f1);
}

#[test]
fn builds_and_signatures_are_deterministic() {
    let t = Setup::new();
    let again = t.path("again.tar.gz");
    let o = tollgate(&[
        "bundle",
        "build",
        "policies",
        "-o",
        s(&again),
        "--revision",
        "test-1",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        std::fs::read(&again).unwrap() == std::fs::read(t.path("unsigned.tar.gz")).unwrap(),
        "same folder, same bytes"
    );
    // Signing in place gives the same bytes as signing to another file (Ed25519 is deterministic).
    let o = tollgate(&["bundle", "sign", s(&again), "--key", s(&t.path("key.pem"))]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(std::fs::read(&again).unwrap() == std::fs::read(t.path("signed.tar.gz")).unwrap());
    // Without --revision the content digest is the revision (the folder may be dirty here).
    let digest = t.path("digest.tar.gz");
    let o = tollgate(&["bundle", "build", "-o", s(&digest)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("revision sha256:") || out.contains("revision git:"),
        "{out}"
    );
}

#[test]
fn tamper_matrix_is_refused_naming_the_file() {
    let t = Setup::new();
    let key = t.path("key.pub");
    let signed = entries(&t.path("signed.tar.gz"));
    let rego = "rego/encryption/s3_kms.rego";

    let expect_refused = |name: &str, archive: &Path, key: Option<&Path>, wants: &[&str]| {
        let o = t.check(archive, key);
        let err = stderr(&o);
        assert_eq!(code(&o), 2, "{name}: {err}");
        assert!(o.stdout.is_empty(), "{name}: nothing on stdout");
        for w in wants {
            assert!(err.contains(w), "{name}: wanted `{w}` in: {err}");
        }
    };

    let edited = t.path("edited.tar.gz");
    let mut e = signed.clone();
    for (n, b) in &mut e {
        if n == rego {
            b.extend_from_slice(b"\n# harmless-looking edit\n");
        }
    }
    rewrite(&edited, &e);
    expect_refused("edited", &edited, Some(&key), &[rego, "altered"]);

    let missing = t.path("missing.tar.gz");
    let e: Vec<_> = signed.iter().filter(|(n, _)| n != rego).cloned().collect();
    rewrite(&missing, &e);
    expect_refused("missing", &missing, Some(&key), &[rego, "missing"]);

    let extra = t.path("extra.tar.gz");
    let mut e = signed.clone();
    e.push((
        "rego/zz_allow_all.rego".into(),
        b"package tollgate.zz\n".to_vec(),
    ));
    rewrite(&extra, &e);
    expect_refused(
        "extra",
        &extra,
        Some(&key),
        &["rego/zz_allow_all.rego", "not covered"],
    );

    let other = t.path("other");
    std::fs::create_dir(&other).unwrap();
    let o = tollgate(&[
        "bundle",
        "keygen",
        "--private",
        s(&other.join("k.pem")),
        "--public",
        s(&other.join("k.pub")),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    expect_refused(
        "wrong key",
        &t.path("signed.tar.gz"),
        Some(&other.join("k.pub")),
        &[".signatures.json", "does not verify"],
    );

    expect_refused(
        "unsigned with a key",
        &t.path("unsigned.tar.gz"),
        Some(&key),
        &["not signed"],
    );
    expect_refused(
        "signature without a key",
        &t.path("signed.tar.gz"),
        None,
        &[".signatures.json", "no verification key"],
    );

    // `bundle verify` refuses the same way.
    let o = tollgate(&["bundle", "verify", s(&edited), "--verify-key", s(&key)]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains(rego), "{}", stderr(&o));
}

#[test]
fn hostile_archives_are_refused_naming_the_entry() {
    use tar::EntryType as T;
    let t = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, Vec<RawEntry<'_>>, &[&str])> = vec![
        (
            "dotdot",
            vec![("rego/../../evil.rego", T::Regular, b"package x", None)],
            &["rego/../../evil.rego", "`..`"],
        ),
        (
            "absolute",
            vec![("/tmp/evil.rego", T::Regular, b"package x", None)],
            &["/tmp/evil.rego", "absolute path"],
        ),
        (
            "symlink",
            vec![("rego/link.rego", T::Symlink, b"", Some("/etc/passwd"))],
            &["rego/link.rego", "symbolic link"],
        ),
        (
            "hardlink",
            vec![("rego/link.rego", T::Link, b"", Some("/etc/passwd"))],
            &["rego/link.rego", "hard link"],
        ),
        (
            "duplicate",
            vec![
                ("rego/a.rego", T::Regular, b"package a", None),
                ("rego/a.rego", T::Regular, b"package b", None),
            ],
            &["rego/a.rego", "appears twice"],
        ),
    ];
    for (name, entries, wants) in cases {
        let path = t.path().join(format!("{name}.tar.gz"));
        write_raw(&path, &entries);
        let o = tollgate(&["check", "stacks", "--bundle", s(&path)]);
        let err = stderr(&o);
        assert_eq!(code(&o), 2, "{name}: {err}");
        for w in wants {
            assert!(err.contains(w), "{name}: wanted `{w}` in: {err}");
        }
    }
    // Nothing was written outside the archive's folder.
    assert!(!Path::new("/tmp/evil.rego").exists());

    // A decompression bomb: 70 MiB of zeros compress to well under the archive cap, but the file
    // is over the 64 MiB per-file cap.
    let bomb = t.path().join("bomb.tar.gz");
    let zeros = vec![0u8; 70 * 1024 * 1024];
    write_raw(&bomb, &[("data/bomb.json", T::Regular, &zeros, None)]);
    assert!(std::fs::metadata(&bomb).unwrap().len() < 1024 * 1024);
    let o = tollgate(&["check", "stacks", "--bundle", s(&bomb)]);
    let err = stderr(&o);
    assert_eq!(code(&o), 2, "{err}");
    assert!(
        err.contains("data/bomb.json") && err.contains("too large"),
        "{err}"
    );

    let garbage = t.path().join("garbage.tar.gz");
    std::fs::write(&garbage, b"this is not an archive").unwrap();
    let o = tollgate(&["check", "stacks", "--bundle", s(&garbage)]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("not a valid .tar.gz archive"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn usage_errors() {
    let t = tempfile::tempdir().unwrap();
    // --verify-key needs --bundle; --bundle excludes --policies.
    let o = tollgate(&["check", "--verify-key", "k.pub"]);
    assert_eq!(code(&o), 2);
    let o = tollgate(&["check", "--bundle", "b.tar.gz", "--policies", "policies"]);
    assert_eq!(code(&o), 2);
    // Keys are never overwritten.
    let (k, p) = (t.path().join("k.pem"), t.path().join("k.pub"));
    let o = tollgate(&["bundle", "keygen", "--private", s(&k), "--public", s(&p)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let before = std::fs::read(&k).unwrap();
    let o = tollgate(&["bundle", "keygen", "--private", s(&k), "--public", s(&p)]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&k).unwrap(), before);
    // A public key is not a private key, and a missing bundle is named.
    let o = tollgate(&["bundle", "sign", "b.tar.gz", "--key", s(&p)]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("k.pub"), "{}", stderr(&o));
    let o = tollgate(&["check", "--bundle", s(&t.path().join("nope.tar.gz"))]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("nope.tar.gz"), "{}", stderr(&o));
    // A broken policy folder is never packaged.
    let broken = t.path().join("broken");
    std::fs::create_dir_all(broken.join("rego")).unwrap();
    std::fs::write(broken.join("rego/bad.rego"), "package x\nallow if {").unwrap();
    let o = tollgate(&[
        "bundle",
        "build",
        s(&broken),
        "-o",
        s(&t.path().join("x.tar.gz")),
    ]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("bad.rego"), "{}", stderr(&o));
    assert!(!t.path().join("x.tar.gz").exists());
}
