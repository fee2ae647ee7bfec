//! The engine's view of scripting: compile a text once, run it many times
//! against the variables in scope. The Rhai implementation lives in the
//! `millrace-script` crate, so the engine knows no script language.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};

pub use millrace_model::validate::{ScriptFault, ScriptKind};

use crate::value::{Value, Variables};

/// Compiles scripts. Implemented by the script crate; compiled once per deployed version.
pub trait ScriptHost: Send + Sync {
    /// Compiles `text` as `kind`.
    fn compile(&self, kind: ScriptKind, text: &str)
        -> Result<Arc<dyn CompiledScript>, ScriptFault>;
}

/// A compiled script, ready to run.
pub trait CompiledScript: Send + Sync + fmt::Debug {
    /// Runs the script. `scopes` are the visible variable scopes, outermost
    /// first (an inner scope's variable hides an outer one of the same name);
    /// `now` is the step's time. On success returns the script's value and
    /// every variable it assigned or declared at its top level.
    fn run(&self, scopes: &[&Variables], now: DateTime<Utc>) -> Result<ScriptOutcome, ScriptError>;
}

/// What a successful script run produced.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScriptOutcome {
    /// The value of the script's last expression.
    pub value: Value,
    /// Variables assigned or declared, in the order first written.
    pub writes: Vec<(String, Value)>,
}

/// Why a script run failed: becomes an incident, changes no variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}{}", .line.map(|l| format!(" (line {l})")).unwrap_or_default())]
pub struct ScriptError {
    /// 1-based line inside the script, when known.
    pub line: Option<u32>,
    /// What went wrong.
    pub message: String,
}
