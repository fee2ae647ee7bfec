//! Process definitions, drafts, validation findings, diffs and deploys: what
//! the designer and the process library read and write.

use serde::{Deserialize, Serialize};

/// A deployed definition version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DefinitionOut {
    /// Process key.
    pub key: String,
    /// Version.
    pub version: i64,
    /// Name.
    pub name: Option<String>,
    /// The BPMN file.
    pub resource_name: String,
    /// When deployed.
    pub deployed_at: String,
    /// By whom.
    pub deployed_by: Option<String>,
    /// Retired: no new instances.
    pub retired: bool,
    /// The deployer's note.
    #[serde(default)]
    pub note: Option<String>,
    /// Instances of this version still running.
    #[serde(default)]
    pub running: i64,
}

/// What a deployment did for one process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeployedOut {
    /// Process key.
    pub key: String,
    /// Version after the deployment.
    pub version: i64,
    /// Whether this deployment made the version (false: unchanged).
    pub created: bool,
}

/// What changed between two versions (or a draft and the latest version), by element id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DiffOut {
    /// Elements only in the newer version.
    pub added: Vec<String>,
    /// Elements only in the older version.
    pub removed: Vec<String>,
    /// Elements in both whose definition differs.
    pub changed: Vec<String>,
}

impl DiffOut {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// One finding of the engine's validator, placed in the file and on the diagram.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DiagnosticOut {
    /// `error`, `warning` or `info`.
    pub severity: String,
    /// The rule (`E012`).
    pub code: String,
    /// Line in the BPMN file (1-based).
    pub line: u32,
    /// Column in the BPMN file (1-based).
    pub column: u32,
    /// The element concerned, when it has an id.
    #[serde(default)]
    pub element_id: Option<String>,
    /// Why.
    pub message: String,
    /// For a script or condition that does not compile: the line inside the script (1-based).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script_line: Option<u32>,
    /// …and the column inside the script (1-based).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script_column: Option<u32>,
}

/// A process in the library: its deployed versions and its draft, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LibraryEntry {
    /// Process key (the BPMN process id).
    pub key: String,
    /// Name of the newest version or of the draft.
    pub name: Option<String>,
    /// Deployed versions, newest first.
    pub versions: Vec<DefinitionOut>,
    /// The draft being edited, if there is one.
    pub draft: Option<DraftSummary>,
}

/// A draft without its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DraftSummary {
    /// Revision: every save adds one.
    pub revision: i64,
    /// Who saved last.
    pub updated_by: String,
    /// When (RFC 3339).
    pub updated_at: String,
    /// The version the draft started from (0: a new process).
    pub based_on: i64,
}

/// A draft: the BPMN being edited, with its forms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DraftOut {
    /// Process key.
    pub key: String,
    /// The BPMN XML.
    pub xml: String,
    /// Revision (0: not saved yet; the text is the latest deployed version's).
    pub revision: i64,
    /// Who saved last.
    pub updated_by: Option<String>,
    /// When.
    pub updated_at: Option<String>,
    /// The version it started from (0: a new process).
    pub based_on: i64,
    /// The form-js forms (`*.form`) deployed with it: the draft's own, and
    /// the latest version's it has not changed.
    #[serde(default)]
    pub forms: Vec<FormFile>,
    /// The named queries (`*.sql`) and document templates (`*.typ`) deployed
    /// with it, the same way: the draft's own, and the latest version's.
    #[serde(default)]
    pub files: Vec<DraftFile>,
}

/// A named-query file (`.sql`) or document template (`.typ`) of a draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DraftFile {
    /// Its name in the deployment (`disconnection/receipt.typ`).
    pub name: String,
    /// Its text.
    pub content: String,
}

/// A form-js form file of a draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FormFile {
    /// Its file name (`forms/verify-payment.form`); a task's `camunda:formRef`
    /// names the form's `id` or this name without `.form`.
    pub name: String,
    /// The form-js JSON.
    pub content: String,
}

/// Saves a draft. The revision is the one the editor last read: a save over a
/// newer revision is refused (409), never merged.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DraftSave {
    /// The BPMN XML.
    pub xml: String,
    /// The revision this text was edited from.
    pub revision: i64,
    /// Forms added or changed since that revision (saved with the BPMN, under
    /// the same revision); forms not named here stay as they are.
    #[serde(default)]
    pub forms: Vec<FormFile>,
    /// Named-query and template files added or changed since that revision,
    /// the same way; each is checked (its SQL, its Typst syntax) first.
    #[serde(default)]
    pub files: Vec<DraftFile>,
}

/// BPMN text to check without saving it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BpmnText {
    /// The BPMN XML.
    pub xml: String,
}

/// A saved draft, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DraftSaved {
    /// The new revision.
    pub revision: i64,
    /// When it was saved.
    pub updated_at: String,
    /// What the engine's validator found.
    pub diagnostics: Vec<DiagnosticOut>,
}

/// A new draft: blank, a copy of another process, or an uploaded file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DraftCreate {
    /// The new process's key (its BPMN process id); for an upload, taken from the file when absent.
    #[serde(default)]
    pub key: Option<String>,
    /// Its name.
    #[serde(default)]
    pub name: Option<String>,
    /// Copy this process (its draft, else its latest version) under the new key.
    #[serde(default)]
    pub copy_of: Option<String>,
    /// An uploaded BPMN file's text.
    #[serde(default)]
    pub xml: Option<String>,
}

/// Deploys a draft as the next version (administrators).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DraftDeploy {
    /// Why this version: shown in the library beside it.
    pub note: String,
    /// The draft revision that was reviewed; a newer one is refused (409).
    pub revision: i64,
}

/// The scenario tests of a process, run against its draft.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ScenarioRun {
    /// One result per `*.scenario.json` of the process.
    pub scenarios: Vec<ScenarioResult>,
    /// Flow nodes some scenario completed.
    pub reached: Vec<String>,
    /// Flow nodes of the draft no scenario completed.
    pub unreached: Vec<String>,
}

/// One scenario's run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ScenarioResult {
    /// The scenario file, relative to the processes folder.
    pub file: String,
    /// Whether every step held.
    pub passed: bool,
    /// Each step and how it went.
    pub steps: Vec<StepResult>,
    /// Why it failed or could not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The flow nodes the instance completed, in order: the path it took.
    pub completed: Vec<String>,
}

/// One step of a scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct StepResult {
    /// 1-based.
    pub number: u32,
    /// What it does: `complete Task_X`, `expectWaiting`, `advance PT48H`, …
    pub summary: String,
    /// `passed`, `failed` or `not run`.
    pub outcome: String,
}

/// A condition or script to compile as the analyst types.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScriptCheck {
    /// `condition` (a boolean expression), `expression` (a value) or `script` (statements).
    pub kind: String,
    /// The Rhai text.
    pub text: String,
}

/// Where a script does not compile, inside its own text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScriptProblem {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// The compiler's reason.
    pub message: String,
}

/// A scenario being recorded in the designer, as far as it has gone: run
/// against the draft on a temporary store (the live database is never touched).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScenarioTry {
    /// The scenario (the `*.scenario.json` format: `clock`, `start`, `steps`);
    /// its `process` and `processId` are the draft's, whatever it says.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub scenario: serde_json::Value,
}

/// Where a scenario being recorded has got to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ScenarioState {
    /// `active`, `completed`, `terminated` or `incident` (empty: it did not start).
    pub state: String,
    /// Completed flow nodes, in order: the path so far.
    pub completed: Vec<String>,
    /// The flow nodes waiting: the user tasks to complete next, timers, messages.
    pub waiting: Vec<String>,
    /// The instance's variables.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub variables: serde_json::Value,
    /// Flow nodes with open incidents.
    pub incidents: Vec<String>,
    /// Why the last step could not be taken (the steps before it stand).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Saves a recorded scenario beside the process's BPMN file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScenarioSave {
    /// The file's name without `.scenario.json`: lower-case letters, digits and `-`.
    pub name: String,
    /// The scenario as recorded; what it ended with is added as its expectations.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub scenario: serde_json::Value,
}

/// A saved scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ScenarioSaved {
    /// Its file, relative to the processes folder.
    pub file: String,
}
