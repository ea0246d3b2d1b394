//! Which `input` and `data` values a Rego rule reads, found statically from the rule's source.
//!
//! regorus 0.14 evaluates without a trace (its `explanations` feature has the report types but no
//! capture yet), so `tollgate explain` cannot ask the interpreter what a rule looked at. Instead
//! each module is parsed with regorus's own parser (`regorus::unstable`, the AST the interpreter
//! runs) and walked:
//!
//! - a reference rooted at `input` or `data` (directly, through an import alias, or through a
//!   variable bound by `some x in …`, `x := …` or `every x in …`) is a read, with every static
//!   field kept and dynamic indexes written `[_]`;
//! - `object.get(x, "k", default)` reads `x.k`;
//! - a reference to a rule of another module (`lib.name`) walks that rule; a rule that is a plain
//!   alias (`props := input.resource.properties`) is substituted, so `lib.props.x` reads
//!   `input.resource.properties.x`;
//! - a call to a user function (`lib.covers_port(rule, 22)`) walks the function's definitions with
//!   its parameters bound to the arguments' paths.
//!
//! This is an over-approximation of what one evaluation reads — every branch of the module is
//! walked, whether or not evaluation reached it — and each read says where it was found, so the
//! output can say how the values were determined.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::Path;

use regorus::unstable::{Expr, Literal, Module, Parser, Query, Rule, RuleHead, Source};

/// One step of a reference path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Seg {
    Key(String),
    Index(i64),
    /// A dynamic index (a variable, an expression): every element.
    Any,
}

/// A reference path rooted at `input` or `data`: `["input", "resource", …]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RefPath(pub Vec<Seg>);

impl RefPath {
    fn root(name: &str) -> Self {
        Self(vec![Seg::Key(name.to_owned())])
    }

    fn child(&self, seg: Seg) -> Self {
        let mut v = self.0.clone();
        v.push(seg);
        Self(v)
    }

    fn is_prefix_of(&self, other: &RefPath) -> bool {
        other.0.len() > self.0.len() && other.0[..self.0.len()] == self.0[..]
    }

    /// The first segment (`input` or `data`).
    pub fn root_name(&self) -> &str {
        match self.0.first() {
            Some(Seg::Key(k)) => k,
            _ => "",
        }
    }
}

/// Whether `key` can be written after a dot in Rego (`[A-Za-z_][A-Za-z0-9_]*`).
pub fn is_rego_identifier(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Writes a key the way Rego would accept it: `.name`, or `["odd-name"]`.
pub fn push_key(out: &mut String, key: &str) {
    if is_rego_identifier(key) {
        out.push('.');
        out.push_str(key);
    } else {
        out.push_str(&format!("[{key:?}]"));
    }
}

impl fmt::Display for RefPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => s.push_str(k),
                Seg::Key(k) => push_key(&mut s, k),
                Seg::Index(n) => s.push_str(&format!("[{n}]")),
                Seg::Any => s.push_str("[_]"),
            }
        }
        f.write_str(&s)
    }
}

/// A path a rule reads, and where the read was found: `None` in the rule's own module, else the
/// rule or function of another module (`data.tollgate.lib.name`) it was found in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Read {
    pub path: RefPath,
    pub via: Option<String>,
}

/// One parsed module.
struct ModuleInfo {
    module: Module,
    /// Import alias → path (`lib` → `data.tollgate.lib`).
    imports: HashMap<String, RefPath>,
    /// Rule name → its definitions.
    rules: BTreeMap<String, Vec<usize>>,
}

/// The parsed modules of a bundle, by package path (`data.tollgate.lib`).
pub struct Modules {
    by_package: BTreeMap<String, ModuleInfo>,
    by_file: HashMap<String, String>,
}

impl fmt::Debug for Modules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Modules")
            .field("packages", &self.by_package.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The dotted path of a simple reference (`data.tollgate.lib`, `object.get`), if it is one.
fn dotted(e: &Expr) -> Option<Vec<String>> {
    match e {
        Expr::Var { value, .. } => Some(vec![value.as_string().ok()?.to_string()]),
        Expr::RefDot { refr, field, .. } => {
            let mut v = dotted(refr)?;
            v.push(field.1.as_string().ok()?.to_string());
            Some(v)
        }
        _ => None,
    }
}

/// A rule head's name.
fn head_name(head: &RuleHead) -> Option<String> {
    let refr = match head {
        RuleHead::Compr { refr, .. } | RuleHead::Set { refr, .. } | RuleHead::Func { refr, .. } => {
            refr
        }
    };
    dotted(refr).and_then(|v| v.into_iter().next())
}

impl Modules {
    /// Parses each `(file name, source)`; a module that does not parse is an error naming it.
    pub fn parse(sources: &[(String, String)]) -> Result<Self, String> {
        let mut by_package = BTreeMap::new();
        let mut by_file = HashMap::new();
        for (file, text) in sources {
            let source = Source::from_contents(file.clone(), text.clone())
                .map_err(|e| format!("{file}: {e}"))?;
            let mut parser = Parser::new(&source).map_err(|e| format!("{file}: {e}"))?;
            parser
                .enable_rego_v1()
                .map_err(|e| format!("{file}: {e}"))?;
            let module = parser.parse().map_err(|e| format!("{file}: {e}"))?;
            let package = dotted(&module.package.refr)
                .map(|v| format!("data.{}", v.join(".")))
                .ok_or_else(|| format!("{file}: package is not a simple name"))?;
            let mut imports = HashMap::new();
            for import in &module.imports {
                let Some(path) = dotted(&import.refr) else {
                    continue;
                };
                let alias = match &import.r#as {
                    Some(span) => span.text().to_owned(),
                    None => path.last().cloned().unwrap_or_default(),
                };
                if path.first().is_some_and(|r| r == "data" || r == "input") {
                    imports.insert(alias, RefPath(path.into_iter().map(Seg::Key).collect()));
                }
            }
            let mut rules: BTreeMap<String, Vec<usize>> = BTreeMap::new();
            for (i, rule) in module.policy.iter().enumerate() {
                let name = match rule.as_ref() {
                    Rule::Spec { head, .. } => head_name(head),
                    Rule::Default { refr, .. } => dotted(refr).and_then(|v| v.into_iter().next()),
                };
                if let Some(name) = name {
                    rules.entry(name).or_default().push(i);
                }
            }
            by_file.insert(file.clone(), package.clone());
            by_package.insert(
                package,
                ModuleInfo {
                    module,
                    imports,
                    rules,
                },
            );
        }
        Ok(Self {
            by_package,
            by_file,
        })
    }

    /// Reads the `.rego` files under `dir` (tests excluded) and parses them.
    pub fn load(dir: &Path) -> Result<Self, String> {
        let mut sources = Vec::new();
        for f in crate::policy::rego::rego_files(dir, false).map_err(|e| e.to_string())? {
            let text = crate::json::read_text(&f, crate::json::MAX_FILE_BYTES)
                .map_err(|e| format!("{}: {e}", f.display()))?;
            sources.push((f.display().to_string(), text));
        }
        Self::parse(&sources)
    }

    /// Everything the module of `file` reads (its `metadata` aside), following other modules'
    /// rules and functions. Reads that are a prefix of a longer read are dropped: the longer one
    /// says more.
    pub fn reads_of_file(&self, file: &str) -> Option<Vec<Read>> {
        let package = self.by_file.get(file)?;
        let info = self.by_package.get(package)?;
        let mut walker = Walker {
            modules: self,
            out: BTreeSet::new(),
            visited: BTreeSet::new(),
        };
        for (name, defs) in &info.rules {
            if name == "metadata" {
                continue;
            }
            for &i in defs {
                walker.rule_def(package, i, &[], None);
            }
        }
        let all: Vec<Read> = walker.out.into_iter().collect();
        let keep: Vec<Read> = all
            .iter()
            .filter(|r| !all.iter().any(|o| r.path.is_prefix_of(&o.path)))
            .cloned()
            .collect();
        // One line per path: the read found in the module itself wins over one found elsewhere.
        let mut by_path: BTreeMap<RefPath, Read> = BTreeMap::new();
        for r in keep {
            by_path
                .entry(r.path.clone())
                .and_modify(|old| {
                    if r.via.is_none() {
                        *old = r.clone();
                    }
                })
                .or_insert(r);
        }
        Some(by_path.into_values().collect())
    }
}

/// Variable → the path it is bound to.
type Env = HashMap<String, RefPath>;

/// What a reference denotes once aliases are followed.
enum Target {
    /// A value of the input or the data document.
    Value(RefPath),
    /// A rule of a parsed module, with the segments after its name.
    Rule { package: String, name: String },
}

struct Walker<'m> {
    modules: &'m Modules,
    out: BTreeSet<Read>,
    /// (package, definition index, argument paths) already walked.
    visited: BTreeSet<(String, usize, Vec<Option<RefPath>>)>,
}

impl Walker<'_> {
    /// Walks definition `i` of `package` with its function parameters bound to `args`; `via` is
    /// the rule that led here from another module.
    fn rule_def(&mut self, package: &str, i: usize, args: &[Option<RefPath>], via: Option<&str>) {
        if !self.visited.insert((package.to_owned(), i, args.to_vec())) {
            return;
        }
        let Some(info) = self.modules.by_package.get(package) else {
            return;
        };
        let rule = info.module.policy[i].clone();
        let mut env = Env::new();
        match rule.as_ref() {
            Rule::Spec { head, bodies, .. } => {
                if let RuleHead::Func { args: params, .. } = head {
                    for (p, a) in params.iter().zip(args) {
                        if let (Expr::Var { value, .. }, Some(a)) = (p.as_ref(), a)
                            && let Ok(name) = value.as_string()
                        {
                            env.insert(name.to_string(), a.clone());
                        }
                    }
                }
                for body in bodies {
                    let mut env = env.clone();
                    self.query(package, &body.query, &mut env, via);
                    if let Some(assign) = &body.assign {
                        self.expr(package, &assign.value, &env, via);
                    }
                }
                // The head's value and key are computed with the body's bindings; walk them with
                // the bindings of the first body (the common single-body case).
                let mut env_head = env.clone();
                if let Some(body) = bodies.first() {
                    self.bind_only(package, &body.query, &mut env_head);
                }
                match head {
                    RuleHead::Compr { refr, assign, .. } | RuleHead::Func { refr, assign, .. } => {
                        self.index_exprs(package, refr, &env_head, via);
                        if let Some(a) = assign {
                            self.expr(package, &a.value, &env_head, via);
                        }
                    }
                    RuleHead::Set { refr, key, .. } => {
                        self.index_exprs(package, refr, &env_head, via);
                        if let Some(k) = key {
                            self.expr(package, k, &env_head, via);
                        }
                    }
                }
            }
            Rule::Default { value, .. } => self.expr(package, value, &env, via),
        }
    }

    /// Records the bindings of a query without recording reads (used for rule heads).
    fn bind_only(&mut self, package: &str, q: &Query, env: &mut Env) {
        let saved = std::mem::take(&mut self.out);
        let visited = self.visited.clone();
        self.query(package, q, env, None);
        self.out = saved;
        self.visited = visited;
    }

    fn query(&mut self, package: &str, q: &Query, env: &mut Env, via: Option<&str>) {
        for stmt in &q.stmts {
            for w in &stmt.with_mods {
                self.expr(package, &w.r#as, env, via);
            }
            match &stmt.literal {
                Literal::SomeVars { .. } => {}
                Literal::SomeIn {
                    key,
                    value,
                    collection,
                    ..
                } => {
                    self.expr(package, collection, env, via);
                    if let Some(Target::Value(p)) = self.target(package, collection, env) {
                        if let Expr::Var { value: v, .. } = value.as_ref()
                            && let Ok(name) = v.as_string()
                        {
                            env.insert(name.to_string(), p.child(Seg::Any));
                        } else {
                            self.expr(package, value, env, via);
                        }
                    }
                    if let Some(k) = key
                        && !matches!(k.as_ref(), Expr::Var { .. })
                    {
                        self.expr(package, k, env, via);
                    }
                }
                Literal::Expr { expr, .. } => {
                    if let Expr::AssignExpr { lhs, rhs, .. } = expr.as_ref()
                        && let Expr::Var { value, .. } = lhs.as_ref()
                        && let Ok(name) = value.as_string()
                    {
                        self.expr(package, rhs, env, via);
                        if let Some(Target::Value(p)) = self.target(package, rhs, env) {
                            env.insert(name.to_string(), p);
                        }
                    } else {
                        self.expr(package, expr, env, via);
                    }
                }
                Literal::NotExpr { expr, .. } => self.expr(package, expr, env, via),
                Literal::Every {
                    value,
                    domain,
                    query,
                    ..
                } => {
                    self.expr(package, domain, env, via);
                    let mut inner = env.clone();
                    if let Some(Target::Value(p)) = self.target(package, domain, env) {
                        inner.insert(value.text().to_owned(), p.child(Seg::Any));
                    }
                    self.query(package, query, &mut inner, via);
                }
            }
        }
    }

    /// Walks the bracket indexes of a reference chain (`a[x].b[y]`).
    fn index_exprs(&mut self, package: &str, e: &Expr, env: &Env, via: Option<&str>) {
        match e {
            Expr::RefDot { refr, .. } => self.index_exprs(package, refr, env, via),
            Expr::RefBrack { refr, index, .. } => {
                self.index_exprs(package, refr, env, via);
                self.expr(package, index, env, via);
            }
            _ => {}
        }
    }

    fn record(&mut self, package: &str, target: Target, via: Option<&str>) {
        match target {
            Target::Value(path) => {
                if path.root_name() == "input" || path.root_name() == "data" {
                    self.out.insert(Read {
                        path,
                        via: via.map(str::to_owned),
                    });
                }
            }
            Target::Rule { package: p, name } => {
                let via_here = if p == package || via.is_some() {
                    via.map(str::to_owned)
                } else {
                    Some(format!("{p}.{name}"))
                };
                let defs = self
                    .modules
                    .by_package
                    .get(&p)
                    .and_then(|m| m.rules.get(&name))
                    .cloned()
                    .unwrap_or_default();
                for i in defs {
                    self.rule_def(&p, i, &[], via_here.as_deref());
                }
            }
        }
    }

    fn expr(&mut self, package: &str, e: &Expr, env: &Env, via: Option<&str>) {
        match e {
            Expr::Var { .. } | Expr::RefDot { .. } | Expr::RefBrack { .. } => {
                self.index_exprs(package, e, env, via);
                // A bare local variable is not a read of its own: its uses are.
                if let Expr::Var { value, .. } = e
                    && value
                        .as_string()
                        .is_ok_and(|n| env.contains_key(n.as_ref()))
                {
                    return;
                }
                if let Some(t) = self.target(package, e, env) {
                    self.record(package, t, via);
                }
            }
            Expr::Call { fcn, params, .. } => {
                let name = dotted(fcn).map(|v| v.join("."));
                if name.as_deref() == Some("object.get") && params.len() >= 2 {
                    if let Some(p) = self.object_get(package, params, env) {
                        self.record(package, Target::Value(p), via);
                    } else {
                        self.expr(package, &params[0], env, via);
                    }
                    for p in &params[1..] {
                        self.expr(package, p, env, via);
                    }
                    return;
                }
                for p in params {
                    self.expr(package, p, env, via);
                }
                if let Some(Target::Rule { package: p, name }) = self.target(package, fcn, env) {
                    let args: Vec<Option<RefPath>> = params
                        .iter()
                        .map(|a| match self.target(package, a, env) {
                            Some(Target::Value(p)) => Some(p),
                            _ => None,
                        })
                        .collect();
                    let via_here = if p == package || via.is_some() {
                        via.map(str::to_owned)
                    } else {
                        Some(format!("{p}.{name}"))
                    };
                    let defs = self
                        .modules
                        .by_package
                        .get(&p)
                        .and_then(|m| m.rules.get(&name))
                        .cloned()
                        .unwrap_or_default();
                    for i in defs {
                        self.rule_def(&p, i, &args, via_here.as_deref());
                    }
                }
            }
            Expr::String { .. }
            | Expr::RawString { .. }
            | Expr::Number { .. }
            | Expr::Bool { .. }
            | Expr::Null { .. } => {}
            Expr::Array { items, .. } | Expr::Set { items, .. } => {
                for i in items {
                    self.expr(package, i, env, via);
                }
            }
            Expr::Object { fields, .. } => {
                for (_, k, v) in fields {
                    self.expr(package, k, env, via);
                    self.expr(package, v, env, via);
                }
            }
            Expr::ArrayCompr { term, query, .. } | Expr::SetCompr { term, query, .. } => {
                let mut inner = env.clone();
                self.query(package, query, &mut inner, via);
                self.expr(package, term, &inner, via);
            }
            Expr::ObjectCompr {
                key, value, query, ..
            } => {
                let mut inner = env.clone();
                self.query(package, query, &mut inner, via);
                self.expr(package, key, &inner, via);
                self.expr(package, value, &inner, via);
            }
            Expr::UnaryExpr { expr, .. } => self.expr(package, expr, env, via),
            Expr::BinExpr { lhs, rhs, .. }
            | Expr::BoolExpr { lhs, rhs, .. }
            | Expr::ArithExpr { lhs, rhs, .. }
            | Expr::AssignExpr { lhs, rhs, .. } => {
                self.expr(package, lhs, env, via);
                self.expr(package, rhs, env, via);
            }
            Expr::Membership {
                key,
                value,
                collection,
                ..
            } => {
                if let Some(k) = key {
                    self.expr(package, k, env, via);
                }
                self.expr(package, value, env, via);
                self.expr(package, collection, env, via);
            }
            // Constructs added by optional regorus features: walk nothing rather than guess.
            #[allow(unreachable_patterns)]
            _ => {}
        }
    }

    /// `object.get(x, "k", _)` → the path `x.k` (or `x.a.b` for a key list `["a", "b"]`).
    fn object_get(
        &self,
        package: &str,
        params: &[regorus::unstable::ExprRef],
        env: &Env,
    ) -> Option<RefPath> {
        let Some(Target::Value(base)) = self.target(package, &params[0], env) else {
            return None;
        };
        let key_seg = |e: &Expr| match e {
            Expr::String { value, .. } | Expr::RawString { value, .. } => {
                Some(Seg::Key(value.as_string().ok()?.to_string()))
            }
            Expr::Number { value, .. } => value.as_i64().ok().map(Seg::Index),
            _ => Some(Seg::Any),
        };
        match params[1].as_ref() {
            Expr::Array { items, .. } => {
                let mut p = base;
                for i in items {
                    p = p.child(key_seg(i)?);
                }
                Some(p)
            }
            other => Some(base.child(key_seg(other)?)),
        }
    }

    /// What a reference expression denotes, following variables, imports and alias rules.
    fn target(&self, package: &str, e: &Expr, env: &Env) -> Option<Target> {
        self.target_depth(package, e, env, 0)
    }

    fn target_depth(&self, package: &str, e: &Expr, env: &Env, depth: usize) -> Option<Target> {
        if depth > 16 {
            return None;
        }
        if let Expr::Call { fcn, params, .. } = e
            && dotted(fcn).is_some_and(|n| n == ["object", "get"])
            && params.len() >= 2
        {
            return self.object_get(package, params, env).map(Target::Value);
        }
        let (base, segs) = self.split(e)?;
        let info = self.modules.by_package.get(package)?;
        let start: RefPath = if let Some(p) = env.get(&base) {
            p.clone()
        } else if base == "input" || base == "data" {
            RefPath::root(&base)
        } else if let Some(p) = info.imports.get(&base) {
            p.clone()
        } else if info.rules.contains_key(&base) {
            let p: Vec<String> = package.split('.').map(str::to_owned).collect();
            RefPath(p.into_iter().chain([base]).map(Seg::Key).collect())
        } else {
            return None;
        };
        let mut path = start;
        for s in segs {
            path = path.child(s);
        }
        self.resolve(path, depth)
    }

    /// Follows `data.<package>.<rule>…` into the rule: an alias rule is substituted.
    fn resolve(&self, path: RefPath, depth: usize) -> Option<Target> {
        if path.root_name() != "data" {
            return Some(Target::Value(path));
        }
        // The longest package that prefixes the path.
        let keys: Vec<&str> = path
            .0
            .iter()
            .map_while(|s| match s {
                Seg::Key(k) => Some(k.as_str()),
                _ => None,
            })
            .collect();
        for n in (2..keys.len()).rev() {
            let package = keys[..n].join(".");
            let Some(info) = self.modules.by_package.get(&package) else {
                continue;
            };
            let name = keys[n];
            let Some(defs) = info.rules.get(name) else {
                return Some(Target::Value(path));
            };
            let rest = &path.0[n + 1..];
            // `props := input.resource.properties`: one definition, no body, a reference value.
            if let [i] = defs.as_slice()
                && let Rule::Spec { head, bodies, .. } = info.module.policy[*i].as_ref()
                && bodies.is_empty()
                && let RuleHead::Compr {
                    assign: Some(a), ..
                } = head
                && let Some(Target::Value(mut p)) =
                    self.target_depth(&package, &a.value, &Env::new(), depth + 1)
            {
                p.0.extend(rest.iter().cloned());
                return Some(Target::Value(p));
            }
            return Some(Target::Rule {
                package,
                name: name.to_owned(),
            });
        }
        Some(Target::Value(path))
    }

    /// A reference chain's root variable and its segments.
    fn split(&self, e: &Expr) -> Option<(String, Vec<Seg>)> {
        match e {
            Expr::Var { value, .. } => Some((value.as_string().ok()?.to_string(), Vec::new())),
            Expr::RefDot { refr, field, .. } => {
                let (b, mut s) = self.split(refr)?;
                s.push(Seg::Key(field.1.as_string().ok()?.to_string()));
                Some((b, s))
            }
            Expr::RefBrack { refr, index, .. } => {
                let (b, mut s) = self.split(refr)?;
                s.push(match index.as_ref() {
                    Expr::String { value, .. } | Expr::RawString { value, .. } => {
                        Seg::Key(value.as_string().ok()?.to_string())
                    }
                    Expr::Number { value, .. } => value.as_i64().ok().map_or(Seg::Any, Seg::Index),
                    _ => Seg::Any,
                });
                Some((b, s))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIB: &str = r#"package tollgate.lib
import rego.v1
props := input.resource.properties
is_prod if input.stack.environment == "prod"
name := sprintf("%s/%s", [input.stack.id, input.resource.id])
covers_port(rule, port) if {
	rule.from_port <= port
	port <= rule.to_port
}
covers_port(rule, _) if rule.protocol == "-1"
"#;

    fn reads(rule: &str) -> Vec<(String, Option<String>)> {
        let m = Modules::parse(&[
            ("lib.rego".into(), LIB.into()),
            ("rule.rego".into(), rule.into()),
        ])
        .unwrap();
        m.reads_of_file("rule.rego")
            .unwrap()
            .into_iter()
            .map(|r| (r.path.to_string(), r.via))
            .collect()
    }

    #[test]
    fn alias_rules_are_substituted_and_object_get_reads_its_key() {
        let r = reads(
            r#"package t.enc
import data.tollgate.lib
import rego.v1
metadata := {"id": "X", "note": input.never}
deny contains msg if {
	not lib.props.storage_encrypted == true
	lib.is_prod
	object.get(lib.props, "kms_key_id", "") == ""
	msg := sprintf("%s bad", [lib.name])
}
"#,
        );
        let paths: Vec<&str> = r.iter().map(|(p, _)| p.as_str()).collect();
        assert!(
            paths.contains(&"input.resource.properties.storage_encrypted"),
            "{r:?}"
        );
        assert!(
            paths.contains(&"input.resource.properties.kms_key_id"),
            "{r:?}"
        );
        // Found inside another module's rule: said so.
        assert!(r.contains(&(
            "input.stack.environment".into(),
            Some("data.tollgate.lib.is_prod".into())
        )));
        assert!(r.contains(&(
            "input.stack.id".into(),
            Some("data.tollgate.lib.name".into())
        )));
        // metadata is not walked.
        assert!(!paths.contains(&"input.never"), "{r:?}");
    }

    #[test]
    fn iteration_variables_and_function_arguments_carry_paths() {
        let r = reads(
            r#"package t.net
import data.tollgate.lib
import rego.v1
deny contains msg if {
	some i, rule in object.get(lib.props, "ingress", [])
	lib.covers_port(rule, 22)
	some cidr in rule.cidr_blocks
	cidr in data.config.network.open
	msg := "x"
}
"#,
        );
        let paths: Vec<&str> = r.iter().map(|(p, _)| p.as_str()).collect();
        for want in [
            "input.resource.properties.ingress[_].from_port",
            "input.resource.properties.ingress[_].to_port",
            "input.resource.properties.ingress[_].protocol",
            "input.resource.properties.ingress[_].cidr_blocks",
            "data.config.network.open",
        ] {
            assert!(paths.contains(&want), "{want} not in {paths:?}");
        }
        // The whole list is a prefix of longer reads: dropped.
        assert!(
            !paths.contains(&"input.resource.properties.ingress"),
            "{paths:?}"
        );
        let via = r
            .iter()
            .find(|(p, _)| p.ends_with("from_port"))
            .and_then(|(_, v)| v.clone());
        assert_eq!(via.as_deref(), Some("data.tollgate.lib.covers_port"));
    }

    #[test]
    fn strings_and_comments_are_not_references() {
        let r = reads(
            r#"package t.s
import rego.v1
# input.in_a_comment
deny contains msg if {
	input.resource.type == "input.in_a_string"
	msg := `input.raw`
}
"#,
        );
        let paths: Vec<&str> = r.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["input.resource.type"]);
    }

    #[test]
    fn odd_keys_print_as_brackets() {
        let p = RefPath(vec![
            Seg::Key("input".into()),
            Seg::Key("tags".into()),
            Seg::Key("cost-center".into()),
            Seg::Any,
            Seg::Index(2),
        ]);
        assert_eq!(p.to_string(), r#"input.tags["cost-center"][_][2]"#);
    }

    #[test]
    fn a_module_that_does_not_parse_is_named() {
        let e = Modules::parse(&[("bad.rego".into(), "package x\ndeny contains if {".into())])
            .unwrap_err();
        assert!(e.contains("bad.rego"), "{e}");
    }
}
