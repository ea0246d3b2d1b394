//! The envelope of a plan or template: which stack it is, its environment, region, account,
//! owner and repository — the metadata a stack document states and another tool's file does not.
//!
//! A plain `terraform show -json` output or a template from another team is checked as it is:
//! nothing Tollgate-specific is required in it. Each field is taken, in this order, from
//!
//! 1. the stack document of the same id, when one is checked in the same run;
//! 2. the command line (`check --stack --environment --region --account --owner --repository`),
//!    for every plan and template of the run;
//! 3. the `tollgate.toml` (or `tollgate.json`) of the input's repository — the nearest folder
//!    above the input that has one, else the current folder — whose `[[envelope]]` entries map
//!    path globs to envelopes ([`Config`]);
//! 4. what the input says itself: the importer's findings — a plan's variables and its aws
//!    provider's region, a template's `Metadata.Tollgate` — then the tags every resource shares;
//! 5. the strict default: an unknown environment is judged as `prod`, an unknown account as the
//!    environment, the stack id is the file's name; an unknown region, owner or repository stays
//!    empty (cost is then not estimated, tag rules see no owner).
//!
//! A field that reached 5 is reported once, in a note under the table and in the JSON report
//! (`stacks[].envelope.<field> = {value, from}`); it never refuses the file.
//!
//! **Importers** record what they found in [`Stack::envelope`] with [`Envelope::found`] (the
//! value and where it came from, e.g. "plan variable `environment`") and leave the rest empty;
//! [`resolve`] (called by the loader for every imported stack) does the rest. A field an importer
//! filled on the `Stack` without recording its source is taken as found in the input.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::load::{LoadError, LoadErrorKind};
use crate::model::{Origin, Stack};

/// The envelope fields, in the order reports list them.
pub const FIELDS: [&str; 6] = [
    "stack",
    "environment",
    "region",
    "account",
    "owner",
    "repository",
];

/// Where an environment nobody gave comes from: the strict choice.
pub const STRICT_ENVIRONMENT: &str = "prod";

/// One envelope value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resolved {
    /// Empty when nothing gave it (see `from`).
    pub value: String,
    /// Where the value came from, for people: "flag --environment", "tollgate.toml", "plan
    /// variable `environment`", "default (unknown: judged as prod)", …
    pub from: String,
    /// Whether the value is the strict default rather than something the user gave.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub defaulted: bool,
}

/// An imported stack's envelope, field by field, with each value's source. Empty for stack
/// documents (they state every field).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Envelope(pub BTreeMap<String, Resolved>);

impl Envelope {
    /// Records that the input itself gave `field` (an importer's finding).
    pub fn found(&mut self, field: &str, value: impl Into<String>, from: impl Into<String>) {
        self.0.insert(
            field.to_owned(),
            Resolved {
                value: value.into(),
                from: from.into(),
                defaulted: false,
            },
        );
    }

    /// Where `field`'s value came from, when recorded.
    pub fn get(&self, field: &str) -> Option<&Resolved> {
        self.0.get(field)
    }

    /// The fields that fell to the strict default (or stayed unknown).
    pub fn defaulted(&self) -> impl Iterator<Item = (&str, &Resolved)> {
        self.0
            .iter()
            .filter(|(_, r)| r.defaulted)
            .map(|(k, r)| (k.as_str(), r))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Envelope values given for every imported input of a run (the command line's flags).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Given {
    pub stack: Option<String>,
    pub environment: Option<String>,
    pub region: Option<String>,
    pub account: Option<String>,
    pub owner: Option<String>,
    pub repository: Option<String>,
}

impl Given {
    fn get(&self, field: &str) -> Option<&str> {
        match field {
            "stack" => self.stack.as_deref(),
            "environment" => self.environment.as_deref(),
            "region" => self.region.as_deref(),
            "account" => self.account.as_deref(),
            "owner" => self.owner.as_deref(),
            "repository" => self.repository.as_deref(),
            _ => None,
        }
    }

    /// Whether any field is given.
    pub fn is_empty(&self) -> bool {
        FIELDS.iter().all(|f| self.get(f).is_none())
    }
}

/// The file names a repository's envelope configuration may have, in the order they are looked
/// for (a folder with both is an error).
pub const CONFIG_FILES: [&str; 2] = ["tollgate.toml", "tollgate.json"];

/// A repository's `tollgate.toml` / `tollgate.json`:
///
/// ```toml
/// # Envelopes of the plans and templates below this folder, by path. (Tollgate reads this much
/// # of TOML: `[[envelope]]` tables of one-line strings and lists of strings.)
/// [[envelope]]
/// paths = ["envs/prod/**", "prod.tfplan.json"]  # globs, relative to this file's folder
/// stack = "storage"                             # every field is optional
/// environment = "prod"
/// region = "eu-west-1"
/// account = "prod"
/// owner = "data-platform"
/// repository = "aws-eu-west-1-prod-storage-main"
///
/// [[envelope]]                                  # no `paths`: every input
/// owner = "platform"
/// ```
///
/// Each field is taken from the first entry that matches the input and sets it.
#[derive(Debug)]
pub struct Config {
    file: PathBuf,
    dir: PathBuf,
    entries: Vec<(Option<globset::GlobSet>, EntryFile)>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    envelope: Vec<EntryFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryFile {
    #[serde(default)]
    paths: Option<Vec<String>>,
    #[serde(default)]
    stack: Option<String>,
    #[serde(default)]
    environment: Option<String>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    repository: Option<String>,
}

impl EntryFile {
    fn get(&self, field: &str) -> Option<&str> {
        match field {
            "stack" => self.stack.as_deref(),
            "environment" => self.environment.as_deref(),
            "region" => self.region.as_deref(),
            "account" => self.account.as_deref(),
            "owner" => self.owner.as_deref(),
            "repository" => self.repository.as_deref(),
            _ => None,
        }
    }
}

impl Config {
    /// Reads a `tollgate.toml` or `tollgate.json` (by its extension).
    pub fn read(file: &Path) -> Result<Config, LoadError> {
        let err = |m: String| LoadError::plain(file, LoadErrorKind::Shape, m);
        let text = crate::json::read_text(file, 1024 * 1024)
            .map_err(|e| LoadError::plain(file, LoadErrorKind::Read, e.to_string()))?;
        let value: serde_json::Value = if file.extension().is_some_and(|e| e == "toml") {
            read_toml(file, &text)?
        } else {
            crate::json::parse_strict(&text)
                .map_err(|e| LoadError::json(file, e, "$"))
                .and_then(|_| serde_json::from_str(&text).map_err(|e| err(e.to_string())))?
        };
        let parsed: ConfigFile = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            err(e.into_inner().to_string()).with_path(format!("$.{path}"))
        })?;
        let dir = file
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let mut entries = Vec::with_capacity(parsed.envelope.len());
        for (i, e) in parsed.envelope.into_iter().enumerate() {
            let globs = match &e.paths {
                None => None,
                Some(ps) => {
                    let mut b = globset::GlobSetBuilder::new();
                    for (j, p) in ps.iter().enumerate() {
                        let g = globset::GlobBuilder::new(p)
                            .literal_separator(true)
                            .build()
                            .map_err(|x| {
                                err(format!("`{p}` is not a glob: {}", x.kind()))
                                    .with_path(format!("$.envelope[{i}].paths[{j}]"))
                            })?;
                        b.add(g);
                    }
                    Some(b.build().map_err(|x| {
                        err(format!("the globs cannot be compiled: {x}"))
                            .with_path(format!("$.envelope[{i}].paths"))
                    })?)
                }
            };
            for field in FIELDS {
                if e.get(field).is_some_and(|v| v.trim().is_empty()) {
                    return Err(err(format!(
                        "`{field}` is empty; leave it out to let the input say it"
                    ))
                    .with_path(format!("$.envelope[{i}].{field}")));
                }
            }
            entries.push((globs, e));
        }
        Ok(Config {
            file: file.to_path_buf(),
            dir,
            entries,
        })
    }

    /// The value of `field` for `input`, from the first matching entry that sets it.
    fn get(&self, input: &Path, field: &str) -> Option<&str> {
        let input = absolute(input);
        let relative = input
            .strip_prefix(absolute(&self.dir))
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| input.clone());
        self.entries
            .iter()
            .filter(|(globs, _)| globs.as_ref().is_none_or(|g| g.is_match(&relative)))
            .find_map(|(_, e)| e.get(field))
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    })
}

/// Reads the part of TOML a `tollgate.toml` needs: comments, blank lines, `[[envelope]]` tables,
/// and `key = "string"` or `key = ["string", …]` (basic or literal strings, on one line). Anything
/// else is an error with its line, never skipped.
fn read_toml(file: &Path, text: &str) -> Result<serde_json::Value, LoadError> {
    use serde_json::{Map, Value as J};
    let at = |line: usize, column: usize, m: String| {
        LoadError::plain(file, LoadErrorKind::Syntax, m).at(crate::json::LineCol { line, column })
    };
    let mut entries: Vec<Map<String, J>> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(header) = line.strip_prefix("[[") {
            let name = header.split("]]").next().unwrap_or_default().trim();
            let rest = header.splitn(2, "]]").nth(1).map(str::trim);
            if name != "envelope" || !rest.is_some_and(|r| r.is_empty() || r.starts_with('#')) {
                return Err(at(
                    n,
                    1,
                    format!(
                        "expected `[[envelope]]`, found `{line}` (a tollgate.toml holds only [[envelope]] tables)"
                    ),
                ));
            }
            entries.push(Map::new());
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(at(n, 1, format!("expected `key = value`, found `{line}`")));
        };
        let key = key.trim();
        let Some(entry) = entries.last_mut() else {
            return Err(at(n, 1, format!("`{key}` before the first `[[envelope]]`")));
        };
        let mut chars = value.trim().chars().peekable();
        let column = raw.find('=').unwrap_or(0) + 2;
        let string =
            |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| -> Result<String, String> {
                let quote = chars.next().ok_or("a value is missing")?;
                if quote != '"' && quote != '\'' {
                    return Err("expected a string in quotes".into());
                }
                let mut out = String::new();
                loop {
                    match chars.next() {
                        None => return Err("the string is not closed on its line".into()),
                        Some(c) if c == quote => return Ok(out),
                        Some('\\') if quote == '"' => match chars.next() {
                            Some('"') => out.push('"'),
                            Some('\\') => out.push('\\'),
                            Some(c) => return Err(format!("escape `\\{c}` is not supported here")),
                            None => return Err("the string is not closed on its line".into()),
                        },
                        Some(c) => out.push(c),
                    }
                }
            };
        let skip_space = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| {
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
        };
        let value = if chars.peek() == Some(&'[') {
            chars.next();
            let mut items = Vec::new();
            loop {
                skip_space(&mut chars);
                if chars.peek() == Some(&']') {
                    chars.next();
                    break;
                }
                items.push(J::from(string(&mut chars).map_err(|m| at(n, column, m))?));
                skip_space(&mut chars);
                match chars.next() {
                    Some(',') => {}
                    Some(']') => break,
                    _ => {
                        return Err(at(
                            n,
                            column,
                            "expected `,` or `]` in the list (lists are written on one line)"
                                .into(),
                        ));
                    }
                }
            }
            J::Array(items)
        } else {
            J::from(string(&mut chars).map_err(|m| at(n, column, m))?)
        };
        skip_space(&mut chars);
        if chars.peek().is_some_and(|c| *c != '#') {
            return Err(at(n, column, "unexpected text after the value".into()));
        }
        if entry.insert(key.to_owned(), value).is_some() {
            return Err(at(
                n,
                1,
                format!("duplicate key `{key}` in one [[envelope]]"),
            ));
        }
    }
    let mut root = Map::new();
    root.insert(
        "envelope".into(),
        J::Array(entries.into_iter().map(J::Object).collect()),
    );
    Ok(J::Object(root))
}

/// Finds and reads the configuration that applies to each input: the nearest folder above it
/// with a `tollgate.toml` or `tollgate.json`, else the current folder's. Each file is read once.
#[derive(Debug, Default)]
pub struct Configs {
    by_dir: HashMap<PathBuf, Option<std::sync::Arc<Config>>>,
}

impl Configs {
    /// The configuration for `input`, if any; an unreadable or invalid one is an error.
    pub fn for_input(&mut self, input: &Path) -> Result<Option<std::sync::Arc<Config>>, LoadError> {
        let start = absolute(input);
        let cwd = std::env::current_dir().ok();
        let dirs = start
            .ancestors()
            .skip(1)
            .map(Path::to_path_buf)
            .chain(cwd)
            .collect::<Vec<_>>();
        for dir in dirs {
            if let Some(found) = self.by_dir.get(&dir) {
                if found.is_some() {
                    return Ok(found.clone());
                }
                continue;
            }
            let present: Vec<PathBuf> = CONFIG_FILES
                .iter()
                .map(|n| dir.join(n))
                .filter(|p| p.is_file())
                .collect();
            let config = match present.as_slice() {
                [] => None,
                [one] => Some(std::sync::Arc::new(Config::read(one)?)),
                [first, ..] => {
                    return Err(LoadError::plain(
                        first,
                        LoadErrorKind::Shape,
                        format!(
                            "both {} and {} are in {}; keep one",
                            CONFIG_FILES[0],
                            CONFIG_FILES[1],
                            dir.display()
                        ),
                    ));
                }
            };
            self.by_dir.insert(dir, config.clone());
            if config.is_some() {
                return Ok(config);
            }
        }
        Ok(None)
    }
}

/// Fills an imported stack's envelope from the flags, the configuration and what the importer
/// found (steps 2–4 of the module's order); the stack document (step 1) and the strict default
/// (step 5) are applied by [`from_document`] and [`strict_defaults`] once the id is known.
pub fn resolve(stack: &mut Stack, given: &Given, config: Option<&Config>) {
    let input = match stack.origin {
        Origin::CloudFormation => "the template",
        _ => "the plan",
    };
    for field in FIELDS {
        let current = field_value(stack, field).to_owned();
        let resolved = if let Some(v) = given.get(field) {
            Some(Resolved {
                value: v.to_owned(),
                from: format!("flag --{field}"),
                defaulted: false,
            })
        } else if let Some((v, c)) =
            config.and_then(|c| Some((c.get(&stack.source.file, field)?, c)))
        {
            Some(Resolved {
                value: v.to_owned(),
                from: c.file.display().to_string(),
                defaulted: false,
            })
        } else if let Some(found) = stack.envelope.get(field).filter(|r| !r.value.is_empty()) {
            Some(found.clone())
        } else if field == "stack" {
            // The importer's last resort is the file's name, which may hold dots.
            let stem = file_stem(&stack.source.file);
            Some(if current == stem || current.is_empty() {
                Resolved {
                    value: identifier_from(&stem),
                    from: "the file's name".to_owned(),
                    defaulted: false,
                }
            } else {
                Resolved {
                    value: current,
                    from: input.to_owned(),
                    defaulted: false,
                }
            })
        } else if !current.is_empty() {
            Some(Resolved {
                value: current,
                from: input.to_owned(),
                defaulted: false,
            })
        } else {
            None
        };
        match resolved {
            Some(r) => {
                set_field(stack, field, &r.value);
                stack.envelope.0.insert(field.to_owned(), r);
            }
            None => {
                stack.envelope.0.remove(field);
            }
        }
    }
}

/// `tfplan` for `tfplan.json`, `plan.out` for `plan.out.json`.
fn file_stem(file: &Path) -> String {
    file.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A stack id made from a file name: characters an id cannot hold become `-`.
fn identifier_from(name: &str) -> String {
    let id: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let id = id.trim_start_matches(['-', '_']).to_owned();
    if id.is_empty() {
        "stack".to_owned()
    } else {
        id
    }
}

/// The strict defaults for what nothing gave (step 5): environment `prod`, account = the
/// environment, stack id = the file's name; region, owner and repository stay empty.
pub fn strict_defaults(stack: &mut Stack) {
    for field in FIELDS {
        if stack.envelope.get(field).is_some() {
            continue;
        }
        let current = field_value(stack, field).to_owned();
        let (value, from) = match field {
            "environment" => (
                STRICT_ENVIRONMENT.to_owned(),
                "not given: judged as prod, the strict default".to_owned(),
            ),
            "account" => (
                stack.environment.clone(),
                "not given: the environment".to_owned(),
            ),
            "stack" => (identifier_from(&current), "the file's name".to_owned()),
            _ => (String::new(), "not given".to_owned()),
        };
        set_field(stack, field, &value);
        stack.envelope.0.insert(
            field.to_owned(),
            Resolved {
                value,
                from,
                defaulted: field != "stack",
            },
        );
    }
}

/// The envelope of a stack document checked with the plan or template of its id (step 1).
pub fn from_document(doc: &Stack) -> Envelope {
    let from = format!("stack document {}", doc.source.file.display());
    Envelope(
        FIELDS
            .iter()
            .map(|f| {
                (
                    (*f).to_owned(),
                    Resolved {
                        value: field_value(doc, f).to_owned(),
                        from: from.clone(),
                        defaulted: false,
                    },
                )
            })
            .collect(),
    )
}

fn field_value<'s>(stack: &'s Stack, field: &str) -> &'s str {
    match field {
        "stack" => &stack.id,
        "environment" => &stack.environment,
        "region" => &stack.region,
        "account" => &stack.account,
        "owner" => &stack.owner,
        "repository" => &stack.repository,
        _ => "",
    }
}

fn set_field(stack: &mut Stack, field: &str, value: &str) {
    let slot = match field {
        "stack" => &mut stack.id,
        "environment" => &mut stack.environment,
        "region" => &mut stack.region,
        "account" => &mut stack.account,
        "owner" => &mut stack.owner,
        "repository" => &mut stack.repository,
        _ => return,
    };
    value.clone_into(slot);
}

/// One line for people about what the strict defaults decided, for every stack that needed
/// them, or `None` when every envelope was given.
pub fn note<'a>(envelopes: impl Iterator<Item = (&'a str, &'a Envelope)>) -> Option<String> {
    let mut by_field: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (stack, env) in envelopes {
        for (field, _) in env.defaulted() {
            by_field.entry(field).or_default().push(stack);
        }
    }
    if by_field.is_empty() {
        return None;
    }
    let parts: Vec<String> = FIELDS
        .iter()
        .filter_map(|f| {
            let stacks = by_field.get(f)?;
            let what = match *f {
                "environment" => "judged as prod (the strict default)",
                "account" => "taken as the environment",
                "region" => "unknown, so cost is not estimated",
                _ => "unknown",
            };
            Some(format!("{f} of {}: {what}", stacks.join(", ")))
        })
        .collect();
    Some(format!(
        "envelope not given by a stack document, flags, tollgate.toml or the input — {}; set them with --environment/--region/--account/--owner or a tollgate.toml",
        parts.join("; ")
    ))
}
