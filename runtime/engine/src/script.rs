//! The engine's view of scripting: compile a text once, run it many times
//! against the variables in scope. The Rhai implementation lives in the
//! `millrace-script` crate, so the engine knows no script language.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};

pub use millrace_model::validate::{ScriptFault, ScriptKind};

use crate::value::{Value, Variables};

/// How a host finds the script files (`camunda:resource`) a deployment
/// names: by name, the file's text or why it cannot be had.
pub type Resources = Arc<dyn Fn(&str) -> Result<String, String> + Send + Sync>;

/// A script language: makes the host that checks and compiles one
/// deployment's scripts. The program is given one where it is put together
/// (the server, the CLI, scenarios) and hands it to the store, so the store
/// knows no script crate.
pub trait ScriptLanguage: Send + Sync {
    /// A host reading the deployment's script files through `resources`.
    fn host(&self, resources: Resources) -> Box<dyn ScriptTools>;
}

/// A script host that also checks scripts for the validator: what
/// [`crate::ProcessDefinition::compile_all`] needs.
pub trait ScriptTools: ScriptHost + millrace_model::validate::ScriptChecker {}

impl<T: ScriptHost + millrace_model::validate::ScriptChecker> ScriptTools for T {}

impl ScriptHost for Box<dyn ScriptTools> {
    fn compile(
        &self,
        kind: ScriptKind,
        text: &str,
    ) -> Result<Arc<dyn CompiledScript>, ScriptFault> {
        (**self).compile(kind, text)
    }
}

impl millrace_model::validate::ScriptChecker for Box<dyn ScriptTools> {
    fn check(&self, kind: ScriptKind, text: &str) -> Result<(), ScriptFault> {
        (**self).check(kind, text)
    }

    fn resource(&self, name: &str) -> Result<String, String> {
        (**self).resource(name)
    }
}

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
