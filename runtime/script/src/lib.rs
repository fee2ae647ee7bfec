//! Rhai, sandboxed, as Millrace's script and expression language.
//!
//! Exact numbers (`decimal` + `no_float`: `0.1 + 0.2 == 0.3`), date-times and
//! a business calendar; bounded operations, depth, sizes and wall-clock time;
//! no file, module or network access. Implements the engine's [`ScriptHost`]
//! and the model's [`ScriptChecker`].

mod calendar;
mod convert;

use std::cell::Cell;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Utc};
use millrace_engine::script::{
    CompiledScript, Resources, ScriptError, ScriptHost, ScriptLanguage, ScriptOutcome, ScriptTools,
};
use millrace_engine::value::{Value, Variables};
use millrace_model::validate::{ScriptChecker, ScriptFault, ScriptKind};
use rhai::{Dynamic, Engine, Scope, AST};

pub use calendar::BusinessCalendar;

/// The sandbox's bounds.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most operations one run may take.
    pub max_operations: u64,
    /// Deepest function-call nesting.
    pub max_call_levels: usize,
    /// Deepest expression nesting (statements, function bodies).
    pub max_expr_depth: usize,
    /// Longest string, in bytes.
    pub max_string_size: usize,
    /// Largest array.
    pub max_array_size: usize,
    /// Largest map.
    pub max_map_size: usize,
    /// Longest wall-clock time one run may take.
    pub max_time: StdDuration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_operations: 1_000_000,
            max_call_levels: 32,
            max_expr_depth: 64,
            max_string_size: 1024 * 1024,
            max_array_size: 100_000,
            max_map_size: 10_000,
            // Scripts run inside the write transaction of the step that calls
            // them, so every other write waits while one runs: the limit is
            // short (docs/PERFORMANCE.md has other requests' p99 while a
            // script runs at it).
            max_time: StdDuration::from_millis(100),
        }
    }
}

thread_local! {
    /// When the run on this thread must stop. Rhai's progress callback is
    /// engine-wide, so the per-run deadline lives beside the running thread.
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Finds the text of a `camunda:resource` script by name.
pub type ResourceLoader = dyn Fn(&str) -> Result<String, String> + Send + Sync;

/// The Rhai script host: one configured engine, shared by every compiled script.
#[derive(Clone)]
pub struct Rhai {
    engine: Arc<Engine>,
    max_time: StdDuration,
    resources: Arc<ResourceLoader>,
}

impl std::fmt::Debug for Rhai {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Rhai")
    }
}

impl Rhai {
    /// A host with the default limits and calendar, and no script resources.
    pub fn new() -> Self {
        Rhai::with(Limits::default(), BusinessCalendar::default())
    }

    /// A host with explicit limits and business calendar.
    pub fn with(limits: Limits, calendar: BusinessCalendar) -> Self {
        let mut engine = Engine::new();
        engine
            .set_max_operations(limits.max_operations)
            .set_max_call_levels(limits.max_call_levels)
            .set_max_expr_depths(limits.max_expr_depth, limits.max_expr_depth)
            .set_max_string_size(limits.max_string_size)
            .set_max_array_size(limits.max_array_size)
            .set_max_map_size(limits.max_map_size)
            .set_module_resolver(rhai::module_resolvers::DummyModuleResolver::new())
            .on_print(|_| {})
            .on_debug(|_, _, _| {});
        engine.disable_symbol("eval");
        // Rhai's `sleep` blocks the thread where the time limit cannot reach
        // it (the progress callback runs between operations), holding the
        // write transaction the script runs in. A function registered here
        // takes precedence over the package's, and refuses.
        engine.register_fn(
            "sleep",
            |_: rhai::INT| -> Result<(), Box<rhai::EvalAltResult>> {
                Err("sleep is not available: a script must not wait (it runs inside the step that called it); use a timer event".into())
            },
        );
        let max_time = limits.max_time;
        engine.on_progress(move |ops| {
            if ops % 512 != 0 {
                return None;
            }
            let late = DEADLINE.with(|d| d.get().is_some_and(|at| Instant::now() > at));
            late.then(|| {
                Dynamic::from(format!(
                    "the script ran longer than {} ms",
                    max_time.as_millis()
                ))
            })
        });
        calendar::register(&mut engine, calendar);
        Rhai {
            engine: Arc::new(engine),
            max_time,
            resources: Arc::new(|name| {
                Err(format!(
                    "no script folder is configured to find {name:?} in"
                ))
            }),
        }
    }

    /// The same host, finding `camunda:resource` scripts through `load`.
    pub fn with_resources(
        mut self,
        load: impl Fn(&str) -> Result<String, String> + Send + Sync + 'static,
    ) -> Self {
        self.resources = Arc::new(load);
        self
    }

    fn compile_ast(&self, kind: ScriptKind, text: &str) -> Result<AST, ScriptFault> {
        let result = match kind {
            ScriptKind::Condition | ScriptKind::Expression => self.engine.compile_expression(text),
            ScriptKind::Script => self.engine.compile(text),
        };
        result.map_err(|e| {
            let p = e.position();
            ScriptFault {
                line: p.line().unwrap_or(1) as u32,
                column: p.position().unwrap_or(1) as u32,
                message: e.err_type().to_string(),
            }
        })
    }
}

impl Default for Rhai {
    fn default() -> Self {
        Rhai::new()
    }
}

/// Rhai as the language the store compiles deployments with: a fresh
/// sandboxed host per deployment, reading that deployment's files.
#[derive(Debug, Default, Clone, Copy)]
pub struct RhaiLanguage;

impl ScriptLanguage for RhaiLanguage {
    fn host(&self, resources: Resources) -> Box<dyn ScriptTools> {
        Box::new(Rhai::new().with_resources(move |name| resources(name)))
    }
}

impl ScriptChecker for Rhai {
    fn check(&self, kind: ScriptKind, text: &str) -> Result<(), ScriptFault> {
        self.compile_ast(kind, text).map(|_| ())
    }

    fn resource(&self, name: &str) -> Result<String, String> {
        (self.resources)(name)
    }
}

impl ScriptHost for Rhai {
    fn compile(
        &self,
        kind: ScriptKind,
        text: &str,
    ) -> Result<Arc<dyn CompiledScript>, ScriptFault> {
        let ast = self.compile_ast(kind, text)?;
        Ok(Arc::new(RhaiScript {
            engine: self.engine.clone(),
            ast,
            kind,
            max_time: self.max_time,
        }))
    }
}

/// A compiled Rhai script.
struct RhaiScript {
    engine: Arc<Engine>,
    ast: AST,
    kind: ScriptKind,
    max_time: StdDuration,
}

impl std::fmt::Debug for RhaiScript {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RhaiScript({:?})", self.kind)
    }
}

fn script_error(e: &rhai::EvalAltResult) -> ScriptError {
    let line = e.position().line().map(|l| l as u32);
    let message = match e {
        rhai::EvalAltResult::ErrorTerminated(reason, _) => reason.to_string(),
        other => other.to_string(),
    };
    // Rhai appends " (line N, position M)" itself; the line is kept in its own field.
    let message = match message.rfind(" (line ") {
        Some(at) => message[..at].to_string(),
        None => message,
    };
    ScriptError { line, message }
}

impl CompiledScript for RhaiScript {
    fn run(&self, scopes: &[&Variables], now: DateTime<Utc>) -> Result<ScriptOutcome, ScriptError> {
        let mut scope = Scope::new();
        let mut originals: Vec<&Value> = Vec::new();
        for vars in scopes {
            for (name, value) in vars.iter() {
                scope.push_dynamic(name.as_str(), convert::to_dynamic(value));
                originals.push(value);
            }
        }
        scope.push_constant("now", now);
        let given = scope.len();
        DEADLINE.with(|d| d.set(Some(Instant::now() + self.max_time)));
        let result = self
            .engine
            .eval_ast_with_scope::<Dynamic>(&mut scope, &self.ast);
        DEADLINE.with(|d| d.set(None));
        let value = result.map_err(|e| script_error(&e))?;
        let value = convert::from_dynamic(value).map_err(|message| ScriptError {
            line: None,
            message: format!("the script's value {message}"),
        })?;
        if self.kind == ScriptKind::Condition && !matches!(value, Value::Bool(_)) {
            return Err(ScriptError {
                line: None,
                message: format!("the condition gave a {}, not a boolean", value.type_name()),
            });
        }
        let mut writes: Vec<(String, Value)> = Vec::new();
        // Rhai iterates a scope newest first; the positions below count oldest first.
        let mut entries: Vec<_> = scope.iter_raw().collect();
        entries.reverse();
        for (i, (name, _, dynamic)) in entries.into_iter().enumerate() {
            if i + 1 == given {
                continue; // `now`
            }
            let new = convert::from_dynamic(dynamic.clone()).map_err(|message| ScriptError {
                line: None,
                message: format!("the variable {name:?} {message}"),
            })?;
            let changed = match originals.get(i) {
                Some(old) if i + 1 < given => **old != new,
                _ => true,
            };
            if changed {
                match writes.iter_mut().find(|(n, _)| n == name) {
                    Some(slot) => slot.1 = new,
                    None => writes.push((name.to_string(), new)),
                }
            }
        }
        Ok(ScriptOutcome { value, writes })
    }
}

#[cfg(test)]
mod tests;
