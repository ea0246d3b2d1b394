//! Strict JSON reading.
//!
//! Every document Tollgate reads goes through here. `serde_json::Value` keeps the last of two
//! equal keys silently, so `{"storage_encrypted": false, "storage_encrypted": true}` would pass as
//! encrypted; the visitor below builds the policy engine's value type directly (no second
//! conversion) and rejects a repeated key instead. Sizes are capped before a file is read whole,
//! a byte-order mark is refused with a clear word, and positions are turned into line and column.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use regorus::Value;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// Largest input file Tollgate reads, in bytes. Checked against the file's size before reading.
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// A line and column, both counted from 1 (columns in characters of the line's bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct LineCol {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for LineCol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Why a file could not be read as text.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    #[error("file too large: limit {limit} bytes, got {actual} bytes")]
    TooLarge { limit: u64, actual: u64 },
    #[error("not valid UTF-8 (at byte {offset})")]
    NotUtf8 { offset: usize },
    #[error("starts with a byte-order mark; save the file as UTF-8 without BOM")]
    ByteOrderMark,
    #[error("{what} is not read: only regular files are")]
    NotRegular { what: &'static str },
    #[error("file too large: limit {limit} bytes, and it grew past it while being read")]
    Grew { limit: u64 },
    #[error(
        "UTF-16 text (it starts with a UTF-16 byte-order mark) that does not decode at byte {offset}"
    )]
    NotUtf16 { offset: usize },
    #[error(
        "UTF-16 text; Tollgate's own files must be UTF-8 without BOM (convert it, e.g. `iconv -f UTF-16 -t UTF-8`)"
    )]
    Utf16,
}

/// Reads a whole text file: a regular file only, at most `limit` bytes (see
/// [`crate::fsio::read_bounded`]), UTF-8 without a byte-order mark.
pub fn read_text(path: &Path, limit: u64) -> Result<String, ReadError> {
    decode_utf8(read_bytes(path, limit)?)
}

/// UTF-8 without a byte-order mark: the only encoding Tollgate's own files (stack documents,
/// policies, waivers) may use.
pub fn decode_utf8(bytes: Vec<u8>) -> Result<String, ReadError> {
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Err(ReadError::ByteOrderMark);
    }
    String::from_utf8(bytes).map_err(|e| ReadError::NotUtf8 {
        offset: e.utf8_error().valid_up_to(),
    })
}

/// How a file another tool wrote (a plan, a template) was encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    Utf8,
    /// UTF-8 after a byte-order mark (Windows tools write one).
    Utf8Bom,
    /// UTF-16 after its byte-order mark (PowerShell's `>` writes UTF-16LE).
    Utf16Le,
    Utf16Be,
}

/// Text written by another tool: UTF-8, with or without a byte-order mark, or UTF-16 with one.
/// UTF-16 without a mark is not guessed at (it fails as "not valid UTF-8" at byte 1 or 0).
pub fn decode_foreign(bytes: Vec<u8>) -> Result<(String, TextEncoding), ReadError> {
    let utf16 = |rest: &[u8], little: bool, enc| {
        if !rest.len().is_multiple_of(2) {
            return Err(ReadError::NotUtf16 {
                offset: rest.len() + 1,
            });
        }
        let units = rest.chunks_exact(2).map(|p| {
            if little {
                u16::from_le_bytes([p[0], p[1]])
            } else {
                u16::from_be_bytes([p[0], p[1]])
            }
        });
        let mut text = String::with_capacity(rest.len() / 2);
        for (i, c) in char::decode_utf16(units).enumerate() {
            match c {
                Ok(c) => text.push(c),
                Err(_) => return Err(ReadError::NotUtf16 { offset: 2 + 2 * i }),
            }
        }
        Ok((text, enc))
    };
    match bytes.as_slice() {
        [0xFF, 0xFE, rest @ ..] => utf16(rest, true, TextEncoding::Utf16Le),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, false, TextEncoding::Utf16Be),
        [0xEF, 0xBB, 0xBF, rest @ ..] => std::str::from_utf8(rest)
            .map(|t| (t.to_owned(), TextEncoding::Utf8Bom))
            .map_err(|e| ReadError::NotUtf8 {
                offset: 3 + e.valid_up_to(),
            }),
        _ => decode_utf8(bytes).map(|t| (t, TextEncoding::Utf8)),
    }
}

/// Reads a whole file: a regular file only, at most `limit` bytes (see
/// [`crate::fsio::read_bounded`]).
pub fn read_bytes(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    crate::fsio::read_bounded(path, limit)
}

/// The line and column of a byte offset in `text`.
pub fn line_col(text: &str, offset: usize) -> LineCol {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    LineCol {
        line,
        column: offset - line_start + 1,
    }
}

/// Counts newlines incrementally, for positions that arrive in increasing order.
#[derive(Debug)]
pub struct LineCounter<'a> {
    text: &'a str,
    offset: usize,
    line: usize,
    line_start: usize,
}

impl<'a> LineCounter<'a> {
    pub fn new(text: &'a str) -> Self {
        Self {
            text,
            offset: 0,
            line: 1,
            line_start: 0,
        }
    }

    /// Position of `offset`; falls back to a full scan when offsets go backwards.
    pub fn at(&mut self, offset: usize) -> LineCol {
        if offset < self.offset {
            return line_col(self.text, offset);
        }
        let bytes = self.text.as_bytes();
        for (i, &b) in bytes[self.offset..offset.min(bytes.len())]
            .iter()
            .enumerate()
        {
            if b == b'\n' {
                self.line += 1;
                self.line_start = self.offset + i + 1;
            }
        }
        self.offset = offset.min(bytes.len());
        LineCol {
            line: self.line,
            column: offset - self.line_start + 1,
        }
    }

    /// Byte offset of a slice borrowed from this counter's text.
    pub fn offset_of(&self, slice: &str) -> usize {
        (slice.as_ptr() as usize).saturating_sub(self.text.as_ptr() as usize)
    }
}

/// A `DeserializeSeed` that builds a [`regorus::Value`] and rejects repeated keys.
#[derive(Debug, Clone, Copy, Default)]
pub struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(StrictVisitor)
    }
}

/// A field type for derived structs: a strictly parsed value.
#[derive(Debug, Clone, PartialEq)]
pub struct Strict(pub Value);

impl Default for Strict {
    fn default() -> Self {
        Strict(Value::Undefined)
    }
}

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        StrictValue.deserialize(deserializer).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        if v.is_finite() {
            Ok(Value::from(v))
        } else {
            Err(E::custom("number out of range"))
        }
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(StrictValue)? {
            items.push(item);
        }
        Ok(Value::from(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = BTreeMap::new();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let value = map.next_value_seed(StrictValue)?;
            if entries.insert(Value::from(key.as_ref()), value).is_some() {
                return Err(de::Error::custom(format_args!(
                    "duplicate key `{key}` in one object (JSON parsers would silently keep only the last value)"
                )));
            }
        }
        Ok(Value::from(entries))
    }
}

/// Parses `text` strictly into a value; `Err` carries the message and position.
pub fn parse_strict(text: &str) -> Result<Value, JsonError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = {
        let mut track = serde_path_to_error::Track::new();
        let tracked = serde_path_to_error::Deserializer::new(&mut de, &mut track);
        StrictValue
            .deserialize(tracked)
            .map_err(|e| JsonError::from_serde(&e, Some(track.path())))?
    };
    de.end().map_err(|e| JsonError::from_serde(&e, None))?;
    Ok(value)
}

/// A JSON syntax or shape error with its position and JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    pub message: String,
    pub position: Option<LineCol>,
    pub path: Option<String>,
}

impl JsonError {
    pub fn from_serde(e: &serde_json::Error, path: Option<serde_path_to_error::Path>) -> Self {
        let position = (e.line() > 0).then(|| LineCol {
            line: e.line(),
            column: e.column().max(1),
        });
        // serde_json appends " at line X column Y" to its messages; the position is kept apart.
        let mut message = e.to_string();
        if let Some(cut) = message.rfind(" at line ") {
            message.truncate(cut);
        }
        let path = path.map(|p| json_path(&p.to_string())).filter(|p| p != "$");
        Self {
            message,
            position,
            path,
        }
    }

    /// Moves a position measured inside a slice to the enclosing text.
    pub fn shift(mut self, base: LineCol) -> Self {
        if let Some(p) = self.position.as_mut() {
            if p.line == 1 {
                p.column += base.column - 1;
            }
            p.line += base.line - 1;
        }
        self
    }
}

/// Turns serde_path_to_error's `a.b[3].c` (or `.` for the root) into `$.a.b[3].c`.
pub fn json_path(inner: &str) -> String {
    if inner.is_empty() || inner == "." {
        "$".to_owned()
    } else if inner.starts_with('[') {
        format!("${inner}")
    } else {
        format!("$.{inner}")
    }
}

/// Returns the deepest bracket nesting in `text` outside string literals and `//` comments.
/// Used to refuse inputs that would overflow a recursive parser's stack before handing them over.
pub fn max_nesting(text: &str) -> usize {
    let bytes = text.as_bytes();
    let (mut depth, mut max, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    max
}

/// The byte range of the value at JSON path `path` (`$.resources[3].properties.versioning`) in
/// `text`, for pointing at it in messages. `None` when the path is malformed or does not lead to
/// a value (the text need not be valid beyond that value). Iterative: deep input cannot overflow.
pub fn locate(text: &str, path: &str) -> Option<std::ops::Range<usize>> {
    let b = text.as_bytes();
    let mut pos = skip_ws(b, 0);
    let mut rest = path.strip_prefix('$')?;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('[') {
            let close = r.find(']')?;
            let index: usize = r[..close].parse().ok()?;
            rest = &r[close + 1..];
            if *b.get(pos)? != b'[' {
                return None;
            }
            pos += 1;
            for _ in 0..index {
                pos = skip_ws(b, skip_value(b, skip_ws(b, pos))?);
                if *b.get(pos)? != b',' {
                    return None;
                }
                pos += 1;
            }
            pos = skip_ws(b, pos);
            if *b.get(pos)? == b']' {
                return None;
            }
        } else {
            let r = rest.strip_prefix('.')?;
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let key = &r[..end];
            rest = &r[end..];
            if *b.get(pos)? != b'{' {
                return None;
            }
            pos += 1;
            loop {
                pos = skip_ws(b, pos);
                if *b.get(pos)? != b'"' {
                    return None;
                }
                let key_end = skip_value(b, pos)?;
                let name: String = serde_json::from_str(&text[pos..key_end]).ok()?;
                pos = skip_ws(b, key_end);
                if *b.get(pos)? != b':' {
                    return None;
                }
                pos = skip_ws(b, pos + 1);
                if name == key {
                    break;
                }
                pos = skip_ws(b, skip_value(b, pos)?);
                if *b.get(pos)? != b',' {
                    return None;
                }
                pos += 1;
            }
        }
    }
    Some(pos..skip_value(b, pos)?)
}

fn skip_ws(b: &[u8], mut pos: usize) -> usize {
    while b.get(pos).is_some_and(|c| c.is_ascii_whitespace()) {
        pos += 1;
    }
    pos
}

/// The end of the JSON value starting at `pos`: a string, a container (brackets counted outside
/// strings), or a scalar up to the next delimiter.
fn skip_value(b: &[u8], pos: usize) -> Option<usize> {
    match *b.get(pos)? {
        b'"' => skip_string(b, pos),
        b'{' | b'[' => {
            let (mut depth, mut p) = (0usize, pos);
            loop {
                match *b.get(p)? {
                    b'"' => {
                        p = skip_string(b, p)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(p + 1);
                        }
                    }
                    _ => {}
                }
                p += 1;
            }
        }
        _ => {
            let mut p = pos;
            while b
                .get(p)
                .is_some_and(|c| !matches!(c, b',' | b'}' | b']') && !c.is_ascii_whitespace())
            {
                p += 1;
            }
            (p > pos).then_some(p)
        }
    }
}

fn skip_string(b: &[u8], pos: usize) -> Option<usize> {
    let mut p = pos + 1;
    loop {
        match *b.get(p)? {
            b'\\' => p += 2,
            b'"' => return Some(p + 1),
            _ => p += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_key_is_rejected_with_its_path() {
        let err = parse_strict(
            r#"{"properties": {"storage_encrypted": false, "storage_encrypted": true}}"#,
        )
        .unwrap_err();
        assert!(
            err.message.contains("duplicate key `storage_encrypted`"),
            "{err:?}"
        );
        assert_eq!(err.path.as_deref(), Some("$.properties"));
        assert_eq!(err.position.map(|p| p.line), Some(1));
    }

    #[test]
    fn values_keep_their_types() {
        let v = parse_strict(r#"{"a": [1, 2.5, "x", true, null], "b": {}}"#).unwrap();
        assert_eq!(v["a"][0], Value::from(1i64));
        assert_eq!(v["a"][1], Value::from(2.5f64));
        assert_eq!(v["a"][2], Value::from("x"));
        assert_eq!(v["a"][3], Value::from(true));
        assert_eq!(v["a"][4], Value::Null);
    }

    #[test]
    fn trailing_garbage_and_truncation_are_errors_with_positions() {
        let err = parse_strict("{\"a\": 1}\n x").unwrap_err();
        assert_eq!(err.position, Some(LineCol { line: 2, column: 2 }));
        let err = parse_strict("{\"a\": [1, 2").unwrap_err();
        assert!(err.message.contains("EOF"), "{err:?}");
        assert!(parse_strict("NaN").is_err());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let text = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let err = parse_strict(&text).unwrap_err();
        assert!(err.message.contains("recursion limit"), "{err:?}");
    }

    #[test]
    fn line_counter_matches_full_scan() {
        let text = "a\nbc\n\ndef\n";
        let mut counter = LineCounter::new(text);
        for offset in 0..text.len() {
            assert_eq!(
                counter.at(offset),
                line_col(text, offset),
                "offset {offset}"
            );
        }
    }

    #[test]
    fn nesting_ignores_strings_and_comments() {
        assert_eq!(max_nesting(r#"(( "((((" )) // ((((("#), 2);
        assert_eq!(max_nesting("{[()]}"), 3);
    }

    #[test]
    fn locate_finds_values_by_json_path() {
        let text = r#"{"a": 1, "b": {"c": [true, {"d": "x\"y"}, null]}, "e": []}"#;
        let at = |p: &str| locate(text, p).map(|r| &text[r]);
        assert_eq!(at("$.a"), Some("1"));
        assert_eq!(at("$.b.c[1].d"), Some(r#""x\"y""#));
        assert_eq!(at("$.b.c[2]"), Some("null"));
        assert_eq!(at("$.e"), Some("[]"));
        assert_eq!(at("$.b.c[3]"), None);
        assert_eq!(at("$.zz"), None);
        assert_eq!(at("$"), Some(text));
    }

    // The fault catalogue's names (docs/faults.md) for the tests above.
    #[test]
    fn fault_malformed_json_truncated_trailing_garbage_bom_invalid_utf8() {
        trailing_garbage_and_truncation_are_errors_with_positions();
    }

    #[test]
    fn fault_a_key_repeated_in_one_object() {
        repeated_key_is_rejected_with_its_path();
    }

    #[test]
    fn fault_deep_nesting_depth_ladder() {
        deep_nesting_is_an_error_not_a_crash();
    }
}
