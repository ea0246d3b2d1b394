//! Secrets never echo: a detector for values that look like credentials, and their redaction.
//!
//! Messages, `explain` and `validate` quote input values, and an input may hold a secret by
//! mistake (a key pasted into a description, a token in a webhook URL). Every text Tollgate
//! shows or writes — each report format, `explain`, `validate`, error lines, log lines, report
//! files — passes through [`redact`], which replaces each secret with `[REDACTED:<kind>]`. The
//! replacement holds no quote, backslash, `<`, `&` or `|`, so it is safe inside JSON, XML,
//! Markdown and table cells alike.
//!
//! Detected: AWS access key ids (`AKIA…`, `ASIA…`, …) and secret access keys (40 characters of
//! mixed-case base64), GitHub tokens (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`, `github_pat_`),
//! JWTs, PEM private key blocks (also with JSON-escaped newlines), `whsec_` signing secrets, and
//! the user:password part of a URL. Redaction errs towards hiding: a 40-character mixed-case
//! base64 run that is not a key is hidden too.

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::Regex;

/// What replaced a secret of `kind`.
pub fn marker(kind: &str) -> String {
    format!("[REDACTED:{kind}]")
}

struct Pattern {
    kind: &'static str,
    re: Regex,
    /// A capture group kept in front of the marker (a URL's scheme).
    keep: Option<usize>,
}

fn patterns() -> &'static [Pattern] {
    static PATTERNS: OnceLock<Vec<Pattern>> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        let p = |kind, re: &str, keep| Pattern {
            kind,
            #[allow(clippy::expect_used)]
            re: Regex::new(re).expect("the secret patterns are valid (tested)"),
            keep,
        };
        vec![
            // A whole PEM block, newlines raw or JSON-escaped; a block cut short is hidden to
            // the end of its base64.
            p(
                "private-key",
                r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?s:.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)",
                None,
            ),
            p(
                "private-key",
                r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[A-Za-z0-9+/=\s\\]*",
                None,
            ),
            p(
                "github-token",
                r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,255}\b",
                None,
            ),
            p("github-token", r"\bgithub_pat_[A-Za-z0-9_]{20,255}", None),
            p(
                "jwt",
                r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}",
                None,
            ),
            p("signing-secret", r"\bwhsec_[A-Za-z0-9+/=_-]{10,}", None),
            p(
                "aws-access-key-id",
                r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA|ASCA)[A-Z0-9]{16}\b",
                None,
            ),
            p(
                "url-credentials",
                r"([A-Za-z][A-Za-z0-9+.-]*://)[^\s/:@'<>]+:[^\s/@'<>]+@",
                Some(1),
            ),
        ]
    })
}

/// A 40-character run of base64 with upper case, lower case and a digit, that is not a file
/// path: the shape of an AWS secret access key. Found by hand, as the regex crate has no look-around for its edges.
fn secret_key_spans(text: &str) -> Vec<(usize, usize)> {
    let is_b64 = |b: u8| b.is_ascii_alphanumeric() || b == b'/' || b == b'+';
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !is_b64(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_b64(bytes[i]) {
            i += 1;
        }
        // `=` padding belongs to a longer base64 value, not a key.
        let padded = bytes.get(i) == Some(&b'=');
        let run = &bytes[start..i];
        // A file path of that length is not a key: `/tmp/corpus/cloudformation/aws/IoT/amzn2`
        // has the shape, but four or more `/` (or an absolute path's leading `/` and two more)
        // are rare in a random key (about 1 in 250 keys), common in paths.
        let slashes = run.iter().filter(|&&b| b == b'/').count();
        let path = slashes >= 4 || (run[0] == b'/' && slashes >= 3);
        if run.len() == 40
            && !padded
            && !path
            && run.iter().any(u8::is_ascii_uppercase)
            && run.iter().any(u8::is_ascii_lowercase)
            && run.iter().any(u8::is_ascii_digit)
        {
            out.push((start, i));
        }
    }
    out
}

/// `text` with every secret replaced by its marker; borrowed when there is none.
pub fn redact(text: &str) -> Cow<'_, str> {
    let mut current = Cow::Borrowed(text);
    for p in patterns() {
        if !p.re.is_match(&current) {
            continue;
        }
        let replaced =
            p.re.replace_all(&current, |c: &regex::Captures<'_>| {
                let kept = p.keep.and_then(|g| c.get(g)).map_or("", |m| m.as_str());
                // A URL keeps its scheme and host: only `user:password@` goes.
                let at = if p.kind == "url-credentials" { "@" } else { "" };
                format!("{kept}{}{at}", marker(p.kind))
            })
            .into_owned();
        current = Cow::Owned(replaced);
    }
    let spans = secret_key_spans(&current);
    if !spans.is_empty() {
        let mut out = String::with_capacity(current.len());
        let mut last = 0;
        for (s, e) in spans {
            out.push_str(&current[last..s]);
            out.push_str(&marker("aws-secret-access-key"));
            last = e;
        }
        out.push_str(&current[last..]);
        current = Cow::Owned(out);
    }
    current
}

/// Whether `text` holds something [`redact`] would hide.
pub fn contains_secret(text: &str) -> bool {
    matches!(redact(text), Cow::Owned(_))
}

/// A writer that redacts what passes through it, line by line (for log output): text is held
/// until a newline or a flush, so a secret split across two writes is still seen whole.
pub struct RedactingWriter<W: std::io::Write> {
    inner: W,
    pending: Vec<u8>,
}

impl<W: std::io::Write> std::fmt::Debug for RedactingWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedactingWriter")
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl<W: std::io::Write> RedactingWriter<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            pending: Vec::new(),
        }
    }

    fn emit(&mut self, upto: usize) -> std::io::Result<()> {
        let chunk: Vec<u8> = self.pending.drain(..upto).collect();
        let text = String::from_utf8_lossy(&chunk);
        self.inner.write_all(redact(&text).as_bytes())
    }
}

impl<W: std::io::Write> std::io::Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if let Some(last) = self.pending.iter().rposition(|&b| b == b'\n') {
            self.emit(last + 1)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let n = self.pending.len();
        self.emit(n)?;
        self.inner.flush()
    }
}

impl<W: std::io::Write> Drop for RedactingWriter<W> {
    fn drop(&mut self) {
        let _ = std::io::Write::flush(self);
    }
}

/// One canary of each kind the detector knows, for tests that seed inputs with them and search
/// every output. Assembled from parts so the source holds no whole credential.
pub fn canaries() -> Vec<(&'static str, String)> {
    let aws_id = ["AKIA", "QYLPMN5HFIQR7XYZ"].concat();
    let aws_secret = ["wJalrXUtnFEMI", "K7MDENGbPxRfiCY", "CANARYKEY123"].concat();
    let ghp = ["ghp_", "Zq3Vt9LmW2xY7bK4nR8sT1uP6aQ0cD5eF3gH"].concat();
    let gho = ["gho_", "8hJk2Lm4Np6Qr8St0Uv2Wx4Yz6Ab8Cd0Ef2G"].concat();
    let ghs = ["ghs_", "Aa1Bb2Cc3Dd4Ee5Ff6Gg7Hh8Ii9Jj0Kk1Ll2"].concat();
    let pat = [
        "github_pat_",
        "11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEF",
    ]
    .concat();
    let jwt = [
        "eyJhbGciOiJIUzI1NiJ9",
        ".eyJzdWIiOiJjYW5hcnkifQ",
        ".c2lnbmF0dXJlLWNhbmFyeS12YWx1ZQ",
    ]
    .concat();
    let key = [
        "-----BEGIN ",
        "PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjCANARY\n-----END ",
        "PRIVATE KEY-----",
    ]
    .concat();
    let whsec = ["whsec_", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"].concat();
    let url = [
        "https://deploy:",
        "hunter2canary",
        "@git.example.com/repo.git",
    ]
    .concat();
    vec![
        ("aws-access-key-id", aws_id),
        ("aws-secret-access-key", aws_secret),
        ("github-token ghp", ghp),
        ("github-token gho", gho),
        ("github-token ghs", ghs),
        ("github-token github_pat", pat),
        ("jwt", jwt),
        ("private-key", key),
        ("signing-secret", whsec),
        ("url-credentials", url),
    ]
}

/// The part of a canary that must never appear in output (for a URL, its password).
pub fn canary_needle(kind: &str, canary: &str) -> String {
    match kind {
        "url-credentials" => "hunter2canary".to_owned(),
        // The body of a key block: its first line of base64.
        "private-key" => "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjCANARY".to_owned(),
        _ => canary.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_canary_is_redacted_in_plain_json_and_escaped_form() {
        for (kind, canary) in canaries() {
            let needle = canary_needle(kind, &canary);
            for text in [
                format!("value {canary} here"),
                serde_json::to_string(&canary).unwrap(),
                format!("<failure message=\"{canary}\"/>"),
                format!("| {canary} |"),
            ] {
                let out = redact(&text);
                assert!(!out.contains(&needle), "{kind}: {out}");
                assert!(out.contains("[REDACTED:"), "{kind}: {out}");
            }
        }
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        for text in [
            "arn:aws:iam::111111111111:role/wer1-prod-worker",
            "sha256:2d99159ae54a3eea97f81781cff48780548657c35949f4b7f25e99a2ba4de4f8",
            "1d19ecc5568a5d73c3bbd848c682ed941745e3b2",
            "https://example.com/path?x=1",
            "wer1-prod-documents-artifacts",
            "testing",
        ] {
            assert!(!contains_secret(text), "{text}");
        }
    }

    #[test]
    fn a_path_of_forty_characters_is_not_a_secret_key() {
        // From aws-cloudformation-templates: the path was reported as a redacted key.
        let path = "/tmp/corpus/cloudformation/aws/IoT/amzn2-greengrass-cfn.json:3:1: bad";
        assert_eq!(redact(path), path);
        let relative = "templat/corpus/Cloud/formation/IoT/amzn2.yaml";
        assert_eq!(redact(relative), relative);
        // A key with a slash or two is still hidden.
        let key = ["wJalrXUtnFEMI/K7MDEN", "/bPxRfiCYCANARYKEY12"].concat();
        assert_eq!(key.len(), 40);
        assert_eq!(redact(&key), marker("aws-secret-access-key"));
    }

    #[test]
    fn a_url_keeps_its_scheme_and_host() {
        let out = redact("clone https://ci:s3cr3t@git.example.com/r.git now");
        assert_eq!(
            out,
            "clone https://[REDACTED:url-credentials]@git.example.com/r.git now"
        );
    }

    #[test]
    fn the_log_writer_redacts_a_secret_split_across_writes() {
        let canary = canaries()[0].1.clone();
        let mut out = Vec::new();
        {
            let mut w = RedactingWriter::new(&mut out);
            use std::io::Write;
            w.write_all(format!("key {}", &canary[..8]).as_bytes())
                .unwrap();
            w.write_all(format!("{} end\n", &canary[8..]).as_bytes())
                .unwrap();
        }
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, "key [REDACTED:aws-access-key-id] end\n");
    }
}
