//! Compiling the files of one deployment: a BPMN file's executable processes,
//! with the script files (`camunda:resource`) they read found among the
//! deployment's other files. The store and the in-memory engine both compile
//! through here, so a scenario sees the same versions either way.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use millrace_model::Model;

use crate::definition::{DeployError, ProcessDefinition};
use crate::script::ScriptLanguage;

/// Why a deployment's file does not compile.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FileError {
    /// The file is not BPMN the reader accepts.
    #[error("{file}: {reason}")]
    Unreadable {
        /// The file's name.
        file: String,
        /// Why.
        reason: String,
    },
    /// The BPMN does not validate or compile.
    #[error("{file}: {error}")]
    Invalid {
        /// The file's name.
        file: String,
        /// Why.
        error: DeployError,
    },
}

/// The script files a compilation read, as (name as written, text): they go
/// into the version's fingerprint.
pub type UsedResources = Vec<(String, String)>;

/// Compiles the BPMN file `file` (text `xml`) of a deployment whose files
/// are `files` (by name) as `version`, its scripts in `scripts`. A
/// `camunda:resource` name is found as written, without a leading
/// `scripts/`, or with one.
pub fn compile_file(
    scripts: &dyn ScriptLanguage,
    file: &str,
    xml: &str,
    files: Arc<HashMap<String, String>>,
    version: i64,
) -> Result<(Vec<ProcessDefinition>, UsedResources), FileError> {
    let model = Model::import(xml.as_bytes()).map_err(|e| FileError::Unreadable {
        file: file.to_string(),
        reason: e.to_string(),
    })?;
    let used: Arc<Mutex<UsedResources>> = Arc::new(Mutex::new(Vec::new()));
    let recorder = used.clone();
    let host = scripts.host(Arc::new(move |name: &str| {
        let stripped = name.strip_prefix("scripts/").unwrap_or(name);
        let found = files
            .get(name)
            .or_else(|| files.get(stripped))
            .or_else(|| files.get(&format!("scripts/{stripped}")))
            .cloned()
            .ok_or_else(|| format!("the deployment has no file {name:?}"));
        if let (Ok(text), Ok(mut used)) = (&found, recorder.lock()) {
            used.push((name.to_string(), text.clone()));
        }
        found
    }));
    let defs = ProcessDefinition::compile_all(&model, &host, version).map_err(|error| {
        FileError::Invalid {
            file: file.to_string(),
            error,
        }
    })?;
    let used = used.lock().map(|u| u.clone()).unwrap_or_default();
    Ok((defs, used))
}
