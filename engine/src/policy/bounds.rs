//! Bounds on what one Rego evaluation, and one whole run, may cost.
//!
//! regorus's execution timer is cooperative: it is checked between work units, so a builtin that
//! allocates its whole result up front runs to the end first. `numbers.range(0, 1e15)` asked for
//! a 16-petabyte array and aborted the process; `sprintf("%999999999d", [1])` allocated a gigabyte
//! string. Those builtins are replaced here by extensions (regorus looks extensions up before
//! builtins) that refuse an oversized request — an evaluation error, so the rule fails closed —
//! and otherwise give the builtin's answer.
//!
//! regorus's memory limit (`allocator-memory-limits`) needs its own global allocator and is
//! process-wide for the interpreter; Tollgate uses mimalloc as its allocator and does not enable
//! it. The guards below bound the builtins that allocate in proportion to a number in the policy
//! or the input; everything else allocates in proportion to the input, which is size-capped.
//!
//! [`RunClock`] bounds a whole run: once its time is up, every evaluation not yet started is an
//! error ("not evaluated: the run's time limit …") instead of up to five seconds each.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use regorus::{Engine, Value};

/// Most elements `numbers.range` or `numbers.range_step` may return from one call.
pub const MAX_RANGE_ELEMENTS: u64 = 1_000_000;

/// Largest width or precision a `sprintf` verb may ask for (`%10000d`, `%.10000f`).
pub const MAX_SPRINTF_WIDTH: u64 = 10_000;

/// Default wall-clock bound on one run's Rego evaluations.
pub const RUN_TIME_LIMIT: Duration = Duration::from_secs(30 * 60);

/// Registers the bounded builtins on `engine`. Fails only if an extension of the same name was
/// already added.
pub fn guard_builtins(engine: &mut Engine) -> anyhow::Result<()> {
    engine.add_extension(
        "numbers.range".to_owned(),
        2,
        Box::new(|args: Vec<Value>| range("numbers.range", &args, None)),
    )?;
    engine.add_extension(
        "numbers.range_step".to_owned(),
        3,
        Box::new(|args: Vec<Value>| {
            let step = integer("numbers.range_step", args.get(2))?;
            if step <= 0 {
                anyhow::bail!("numbers.range_step: step must be a positive integer");
            }
            range("numbers.range_step", &args, Some(step))
        }),
    )?;
    engine.add_extension("sprintf".to_owned(), 2, Box::new(sprintf))?;
    Ok(())
}

fn integer(name: &str, v: Option<&Value>) -> anyhow::Result<i64> {
    match v {
        Some(Value::Number(n)) if n.is_integer() => v
            .and_then(|v| v.as_i64().ok())
            .ok_or_else(|| anyhow::anyhow!("{name}: operand too large")),
        Some(Value::Number(_)) => anyhow::bail!("{name}: operand must be integer"),
        _ => anyhow::bail!("{name}: operand must be a number"),
    }
}

/// `numbers.range(a, b)` (`step` `None`) or `numbers.range_step(a, b, step)`: the integers from
/// `a` to `b` inclusive, counting down when `b < a` (`range_step` stops before passing `b`).
fn range(name: &str, args: &[Value], step: Option<i64>) -> anyhow::Result<Value> {
    let (from, to) = (integer(name, args.first())?, integer(name, args.get(1))?);
    let span = i128::from(to) - i128::from(from);
    let step_size = i128::from(step.unwrap_or(1));
    let count = span.abs() / step_size + 1;
    if count > i128::from(MAX_RANGE_ELEMENTS) {
        anyhow::bail!(
            "{name}: would make {count} numbers; the limit is {MAX_RANGE_ELEMENTS} (a bound \
             against exhausting memory)"
        );
    }
    let signed = if span < 0 { -step_size } else { step_size };
    let values: Vec<Value> = (0..count)
        .map(|k| Value::from(i64::try_from(i128::from(from) + k * signed).unwrap_or(to)))
        .collect();
    Ok(Value::from(values))
}

/// The widths and precisions the verbs of `format` ask for, as regorus's `sprintf` reads them
/// (`%` then digits or `.` and digits), saturating rather than overflowing.
fn widths(format: &str) -> impl Iterator<Item = u64> + '_ {
    let mut chars = format.chars().peekable();
    std::iter::from_fn(move || {
        while let Some(c) = chars.next() {
            if c != '%' {
                continue;
            }
            match chars.peek() {
                Some('%') => {
                    chars.next();
                }
                Some(c) if *c == '.' || c.is_ascii_digit() => {
                    let mut w: u64 = 0;
                    if chars.peek() == Some(&'.') {
                        chars.next();
                    }
                    while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                        w = w.saturating_mul(10).saturating_add(u64::from(d));
                        chars.next();
                    }
                    return Some(w);
                }
                _ => {}
            }
        }
        None
    })
}

thread_local! {
    /// An engine with the real `sprintf`, to which the guarded one delegates.
    static PLAIN_SPRINTF: RefCell<Option<Engine>> = const { RefCell::new(None) };
}

const SPRINTF_PACKAGE: &str =
    "package tollgate_bounded_sprintf\n\nout := sprintf(input.f, input.a)\n";

fn sprintf(args: Vec<Value>) -> anyhow::Result<Value> {
    let Some(Value::String(format)) = args.first() else {
        anyhow::bail!("sprintf: the format must be a string");
    };
    if let Some(w) = widths(format).find(|w| *w > MAX_SPRINTF_WIDTH) {
        anyhow::bail!(
            "sprintf: a width or precision of {w} is over the limit of {MAX_SPRINTF_WIDTH} (a \
             bound against exhausting memory)"
        );
    }
    PLAIN_SPRINTF.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.is_none() {
            let mut e = Engine::new();
            e.set_rego_v0(false);
            e.set_strict_builtin_errors(true);
            e.add_policy(
                "bounded_sprintf.rego".to_owned(),
                SPRINTF_PACKAGE.to_owned(),
            )?;
            *cell = Some(e);
        }
        let Some(engine) = cell.as_mut() else {
            anyhow::bail!("sprintf: no engine");
        };
        let mut input = std::collections::BTreeMap::new();
        input.insert(Value::from("f"), args[0].clone());
        input.insert(
            Value::from("a"),
            args.get(1).cloned().unwrap_or(Value::Undefined),
        );
        engine.set_input(Value::from(input));
        engine.eval_rule("data.tollgate_bounded_sprintf.out".to_owned())
    })
}

/// The wall-clock bound on one run: [`RunClock::start`] when the run begins, then
/// [`RunClock::check`] before each evaluation.
#[derive(Debug)]
pub struct RunClock {
    base: Instant,
    limit: Duration,
    /// Nanoseconds after `base` at which the run's time is up; 0 while no run has started.
    deadline: AtomicU64,
}

impl Default for RunClock {
    fn default() -> Self {
        Self::new(RUN_TIME_LIMIT)
    }
}

impl RunClock {
    pub fn new(limit: Duration) -> Self {
        Self {
            base: Instant::now(),
            limit,
            deadline: AtomicU64::new(0),
        }
    }

    pub fn limit(&self) -> Duration {
        self.limit
    }

    /// Starts (or restarts) the run: its time is up `limit` from now.
    pub fn start(&self) {
        let end = self.base.elapsed().saturating_add(self.limit).as_nanos();
        self.deadline.store(
            u64::try_from(end).unwrap_or(u64::MAX).max(1),
            Ordering::Relaxed,
        );
    }

    /// `Err` with the one message every evaluation left gets, once the run's time is up.
    pub fn check(&self) -> Result<(), String> {
        let deadline = self.deadline.load(Ordering::Relaxed);
        if deadline == 0 {
            return Ok(());
        }
        let now = u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX);
        if now < deadline {
            Ok(())
        } else {
            Err(format!(
                "not evaluated: the run reached its time limit of {} s before this rule ran, so \
                 it fails closed (a slow rule over many resources; make the rule faster or raise \
                 the limit)",
                self.limit.as_secs_f64()
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine(rule: &str) -> Engine {
        let mut e = Engine::new();
        e.set_rego_v0(false);
        e.set_strict_builtin_errors(true);
        guard_builtins(&mut e).unwrap();
        e.add_policy("t.rego".into(), format!("package t\n{rule}\n"))
            .unwrap();
        e
    }

    fn eval(rule: &str) -> Result<Value, String> {
        engine(rule)
            .eval_rule("data.t.x".into())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn fault_rego_builtins_that_allocate_up_front_are_refused() {
        // Without the guard this asks regorus for a 10^15-element vector: the process aborts.
        let e = eval("x := numbers.range(0, 1e15)").unwrap_err();
        assert!(
            e.contains("numbers.range: would make 1000000000000001 numbers"),
            "{e}"
        );
        let e = eval("x := numbers.range_step(0, 1e15, 2)").unwrap_err();
        assert!(e.contains("numbers.range_step: would make"), "{e}");
        // Without the guard this builds a 2 GB string.
        let e = eval(r#"x := sprintf("%2000000000d", [1])"#).unwrap_err();
        assert!(e.contains("width or precision of 2000000000"), "{e}");
        let e = eval(r#"x := sprintf("%.99999999f", [1.5])"#).unwrap_err();
        assert!(e.contains("99999999"), "{e}");
        // A width past u32 used to overflow inside regorus.
        let e = eval(r#"x := sprintf("%99999999999999999999999d", [1])"#).unwrap_err();
        assert!(e.contains("over the limit"), "{e}");
    }

    #[test]
    fn the_guarded_builtins_answer_like_the_real_ones() {
        let v = |r: &str| {
            let v = eval(r).unwrap();
            match v.as_string() {
                Ok(s) => format!("{s:?}"),
                Err(_) => v.to_json_str().unwrap().split_whitespace().collect(),
            }
        };
        assert_eq!(v("x := numbers.range(1, 4)"), "[1,2,3,4]");
        assert_eq!(v("x := numbers.range(2, -1)"), "[2,1,0,-1]");
        assert_eq!(v("x := numbers.range(3, 3)"), "[3]");
        assert_eq!(v("x := numbers.range_step(0, 10, 3)"), "[0,3,6,9]");
        assert_eq!(v("x := numbers.range_step(10, 0, 4)"), "[10,6,2]");
        assert_eq!(
            v(r#"x := sprintf("%s has %d ports, %05d, %.2f %v %%", ["sg", 3, 42, 1.234, [1]])"#),
            r#""sg has 3 ports, 00042, 1.23 [1] %""#.to_owned()
        );
        assert!(eval("x := numbers.range(0, 1.5)").is_err());
        assert!(eval("x := numbers.range_step(0, 5, 0)").is_err());
        assert!(eval(r#"x := sprintf(1, [])"#).is_err());
        // An undefined argument stays undefined, as with the builtin.
        assert!(eval("x := numbers.range(0, input.nothing)").is_ok());
    }

    #[test]
    fn a_run_past_its_time_is_refused_with_one_message() {
        let clock = RunClock::new(Duration::ZERO);
        assert!(clock.check().is_ok(), "no run started");
        clock.start();
        let e = clock.check().unwrap_err();
        assert!(
            e.starts_with("not evaluated: the run reached its time limit"),
            "{e}"
        );
        let clock = RunClock::new(Duration::from_secs(3600));
        clock.start();
        assert!(clock.check().is_ok());
    }

    fn bundle(deny: &str) -> crate::policy::RegoBundle {
        let text = format!(
            "package t\nimport rego.v1\nmetadata := {{\"id\": \"T-1\", \"title\": \"t\", \
             \"family\": \"tagging\", \"severity\": \"low\", \"enforcement\": \"advisory\", \
             \"remediation\": \"r\"}}\n{deny}\n"
        );
        let source = crate::policy::Source {
            path: "t.rego".into(),
            text,
        };
        crate::policy::RegoBundle::from_sources(
            std::path::Path::new("rego"),
            &[source],
            crate::policy::rego::data_from_sources(&[]).unwrap(),
            crate::registry::Registry::builtin(),
            crate::policy::RegoMode::Interpreter,
        )
        .unwrap()
    }

    #[test]
    fn fault_rego_that_runs_too_long_is_stopped_by_the_per_evaluation_timer() {
        // 10^9 iterations: hours without the timer; an error after about five seconds with it.
        let b = bundle(
            "deny contains \"x\" if {\n  count([1 | some i in numbers.range(1, 1000000); some j in numbers.range(1, 1000)]) == 0\n}",
        );
        let e = b.eval(0, Value::new_object()).unwrap_err();
        assert!(e.to_lowercase().contains("time"), "{e}");
    }

    #[test]
    fn a_bundle_s_rules_get_the_bounded_builtins_and_the_run_clock() {
        let mut b = bundle("deny contains \"x\" if {\n  count(numbers.range(0, 1e15)) > 0\n}");
        let e = b.eval(0, Value::new_object()).unwrap_err();
        assert!(e.contains("numbers.range: would make"), "{e}");
        b.set_run_time_limit(Duration::ZERO);
        b.start_run();
        let e = b.eval(0, Value::new_object()).unwrap_err();
        assert!(
            e.starts_with("not evaluated: the run reached its time limit"),
            "{e}"
        );
    }
}
