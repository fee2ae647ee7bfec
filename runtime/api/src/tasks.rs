//! Tasks as an inbox lists them.

use serde::{Deserialize, Serialize};

/// A user task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TaskOut {
    /// Id.
    pub id: String,
    /// Instance.
    pub instance_id: String,
    /// Process key.
    pub process_key: String,
    /// The user task's element id.
    pub element_id: String,
    /// Name.
    pub name: Option<String>,
    /// Assignee.
    pub assignee: Option<String>,
    /// Candidate groups.
    pub candidate_groups: Vec<String>,
    /// Candidate users.
    pub candidate_users: Vec<String>,
    /// Due date.
    pub due: Option<String>,
    /// Priority.
    pub priority: i64,
    /// Form reference.
    pub form: Option<String>,
    /// Created.
    pub created_at: String,
    /// The request it belongs to: the instance's business key, or else its
    /// process-level `requestId` variable.
    #[serde(default)]
    pub request: Option<String>,
    /// The request's status: its process-level `status` variable (an
    /// onboarding's milestone, a disconnection's `In Progress`).
    #[serde(default)]
    pub status: Option<String>,
    /// The running SLA that falls due first among the task's own and its
    /// request's; none when none runs.
    #[serde(default)]
    pub sla: Option<TaskSlaOut>,
}

/// The SLA a task's inbox row shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TaskSlaOut {
    /// The SLA's name.
    pub name: String,
    /// When it falls due.
    pub due_at: String,
    /// `onTrack` or `breached`, at the time of the answer.
    pub status: String,
    /// Seconds left until it falls due (negative once past).
    pub remaining_seconds: i64,
}

/// One choice of a select field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct FormOption {
    /// The value stored.
    pub value: String,
    /// What the person sees.
    pub label: String,
}

/// One field of a task's form, as the web app renders it: from
/// `camunda:formData` or from a form-js form's input components alike.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct FormFieldOut {
    /// The variable it sets.
    pub id: String,
    /// Its label.
    pub label: String,
    /// `text`, `textarea`, `integer`, `number`, `boolean`, `date`, `select`
    /// or `display` (text shown, nothing submitted).
    pub kind: String,
    /// Must be given.
    pub required: bool,
    /// Shown, not changed.
    pub readonly: bool,
    /// The choices of a select.
    pub options: Vec<FormOption>,
    /// Lower bound of a number, as written in the form.
    pub min: Option<String>,
    /// Upper bound of a number.
    pub max: Option<String>,
    /// Shortest text.
    pub min_length: Option<u64>,
    /// Longest text.
    pub max_length: Option<u64>,
    /// What the input shows first: the variable's current value, else the
    /// form's default, as text (`true`/`false` for a checkbox).
    pub value: Option<String>,
}

/// A task with the form to work it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TaskForm {
    /// The task.
    pub task: TaskOut,
    /// The instance's business key.
    pub business_key: Option<String>,
    /// The process's name.
    pub process_name: Option<String>,
    /// The fields, in the form's order (none: the task is completed as it is).
    pub fields: Vec<FormFieldOut>,
    /// The task's form-js form (`camunda:formRef`) as its JSON, for the form-js
    /// viewer; its fields are also among `fields`.
    #[serde(default)]
    pub form_schema: Option<String>,
    /// Progress saved without completing: the fields' values above already
    /// include it; this says who saved it and when.
    #[serde(default)]
    pub progress: Option<SavedProgress>,
    /// A wizard's step indicator: its user tasks done in this instance (in
    /// the order they were done), the current one, and those still
    /// reachable, nearest first (empty when there are fewer than two).
    #[serde(default)]
    pub steps: Vec<WizardStep>,
    /// What the form-js form shows besides its fields: the instance's
    /// variables its options (`valuesKey`) and texts (`{{name}}`) read, as JSON.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub context: std::collections::BTreeMap<String, serde_json::Value>,
    /// Messages for this form's fields that the process sent the person back
    /// with (the instance's `formErrors` variable: field to message).
    #[serde(default)]
    pub field_errors: std::collections::BTreeMap<String, String>,
    /// The documents the process typeset for this request so far (a receipt,
    /// a draft bill), oldest first.
    #[serde(default)]
    pub documents: Vec<crate::DocumentOut>,
}

/// One step of a wizard: a user task of the process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WizardStep {
    /// The user task's element id.
    pub element_id: String,
    /// Its name.
    pub name: Option<String>,
    /// `done` (completed in this instance), `current` (this task) or `ahead`.
    pub state: String,
}

/// Who saved a task's progress, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SavedProgress {
    /// Who saved it.
    pub saved_by: String,
    /// When (RFC 3339).
    pub saved_at: String,
}

/// A process one may start, with the form its start event declares: what the
/// "New …" page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct StartForm {
    /// Process key.
    pub key: String,
    /// The version a start now runs.
    pub version: i64,
    /// The process's name.
    pub name: Option<String>,
    /// The fields of the start event's `camunda:formData`, then of its form-js form (none: it starts as it is).
    pub fields: Vec<FormFieldOut>,
    /// The start event's form-js form (`camunda:formRef`) as its JSON, for the form-js viewer.
    #[serde(default)]
    pub form_schema: Option<String>,
}

/// What a saved inbox filter selects: the inbox page's filter, without its
/// page. `mine` means the reader's own tasks, whoever reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct FilterCriteria {
    /// Only tasks of this process key.
    pub process: Option<String>,
    /// Only tasks offered to this candidate group.
    pub group: Option<String>,
    /// Only tasks assigned to the reader.
    pub mine: bool,
    /// Only tasks of requests whose number holds this text (any case).
    pub request: Option<String>,
    /// Only tasks of requests whose status holds this text (any case).
    pub status: Option<String>,
    /// Only tasks of instances with this process variable…
    pub variable: Option<String>,
    /// …holding exactly this value.
    pub value: Option<String>,
    /// Only tasks whose SLA is `breached`, or `onTrack`.
    #[serde(default)]
    pub sla: Option<String>,
}

/// A filter to save: for its owner alone, or shared with one of the owner's groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SavedFilterIn {
    /// Its name, unique among its owner's filters (1 to 80 characters).
    pub name: String,
    /// What it selects.
    pub criteria: FilterCriteria,
    /// The group it is shared with (one the owner is in); none: the owner's alone.
    #[serde(default)]
    pub shared_with: Option<String>,
}

/// A saved filter the reader may use, with how many of the reader's tasks it selects now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SavedFilterOut {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Who saved it.
    pub owner: String,
    /// The group it is shared with, if any.
    pub shared_with: Option<String>,
    /// What it selects.
    pub criteria: FilterCriteria,
    /// How many tasks the reader sees through it now, counted up to [`FILTER_COUNT_CAP`].
    pub count: i64,
}

/// Counts per saved filter stop here: the inbox shows "1000+" beyond.
pub const FILTER_COUNT_CAP: i64 = 1000;
