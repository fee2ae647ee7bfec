//! Instances, their history and incidents, as the API and the operations
//! pages show them.

use serde::{Deserialize, Serialize};

/// An instance as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct InstanceListItem {
    /// Id.
    pub id: String,
    /// Process key.
    pub key: String,
    /// Version.
    pub version: i64,
    /// State.
    pub state: String,
    /// Has an open incident.
    pub has_incident: bool,
    /// Business key.
    #[serde(default)]
    pub business_key: Option<String>,
    /// When it started.
    #[serde(default)]
    pub started_at: String,
}

/// One instance: state, where it waits, its variables and incidents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct InstanceOut {
    /// Id.
    pub id: String,
    /// Process key.
    pub key: String,
    /// Version.
    pub version: i64,
    /// Business key.
    pub business_key: Option<String>,
    /// `active`, `completed` or `terminated`.
    pub state: String,
    /// Elements that hold a waiting token (an element once per token).
    pub active_activities: Vec<String>,
    /// Elements stopped by an incident.
    pub incidents: Vec<String>,
    /// Process variables.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub variables: serde_json::Value,
    /// When it started.
    pub started_at: String,
    /// When it ended.
    pub ended_at: Option<String>,
}

/// One audit-trail entry of an instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryOut {
    /// Order.
    pub seq: i64,
    /// When.
    pub at: String,
    /// Who.
    pub actor: Option<String>,
    /// What.
    pub event: String,
    /// Which element.
    pub node: Option<String>,
    /// Detail (null for events that carry none).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub detail: Option<serde_json::Value>,
}

/// An open incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct IncidentOut {
    /// Id.
    pub id: String,
    /// Instance.
    pub instance_id: String,
    /// Element.
    pub element_id: String,
    /// Error.
    pub message: String,
    /// The instance's process key.
    #[serde(default)]
    pub process_key: String,
    /// When it was raised.
    #[serde(default)]
    pub created_at: String,
}

/// What a retry did, once it has run: the work the incident stopped either
/// went on, or stopped again with the error it met this time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RetryOutcome {
    /// `resolved` or `failed`.
    pub outcome: String,
    /// When it failed again: the new incident.
    pub incident: Option<IncidentOut>,
}

/// Why an instance is cancelled (kept in the audit trail).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    /// The reason, up to 500 characters.
    pub reason: Option<String>,
}

/// An instance modification: instructions carried out in order, all or
/// nothing (Camunda 7's `modification` body, without its listener flags).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModificationRequest {
    /// What to do, in order; at least one.
    pub instructions: Vec<ModificationInstruction>,
    /// Why, up to 500 characters (kept in the audit trail).
    #[serde(default)]
    pub annotation: Option<String>,
}

/// One instruction of a modification, naming an element by its BPMN id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
pub enum ModificationInstruction {
    /// Cancel every token at the element.
    #[serde(rename_all = "camelCase")]
    Cancel {
        /// The element's BPMN id.
        activity_id: String,
    },
    /// Start a token that enters the element.
    #[serde(rename_all = "camelCase")]
    StartBeforeActivity {
        /// The element's BPMN id.
        activity_id: String,
    },
    /// Start a token that takes the element's outgoing flows.
    #[serde(rename_all = "camelCase")]
    StartAfterActivity {
        /// The element's BPMN id.
        activity_id: String,
    },
}

/// A comment to add to an instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CommentIn {
    /// The text.
    pub text: String,
}

/// A stored comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommentOut {
    /// When.
    pub at: String,
    /// Who.
    pub user: String,
    /// What.
    pub text: String,
}

/// A file attached to a request (an instance), from one of its tasks or its page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AttachmentOut {
    /// Id.
    pub id: String,
    /// The instance.
    pub instance_id: String,
    /// The task it was added from, if any.
    pub task_id: Option<String>,
    /// The file's name.
    pub name: String,
    /// Its media type.
    pub media_type: String,
    /// Bytes.
    pub size: i64,
    /// Who added it.
    pub added_by: String,
    /// When.
    pub created_at: String,
    /// Where its content is read (`/api/attachments/{id}`).
    pub url: String,
}

/// A document a process typeset and kept with the instance (a receipt, a bill).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DocumentOut {
    /// Id.
    pub id: String,
    /// The instance it belongs to.
    pub instance_id: String,
    /// The task that made it.
    pub element_id: String,
    /// Its name, e.g. "Receipt REQ-2024-000001".
    pub name: String,
    /// The template it was typeset from.
    pub template: String,
    /// Its media type (`application/pdf`).
    pub media_type: String,
    /// Its size in bytes.
    pub size: i64,
    /// When it was made.
    pub created_at: String,
    /// Where its content is read: `/api/documents/{id}`.
    pub url: String,
}

/// A version's heatmap: tokens at each element now, and over a period how
/// often each element completed, how long tokens stayed, and how often each
/// sequence flow was taken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct HeatmapOut {
    /// Process key.
    pub key: String,
    /// Version.
    pub version: i64,
    /// The period's first day (inclusive), `YYYY-MM-DD`.
    pub from: String,
    /// The period's last day (inclusive), `YYYY-MM-DD`.
    pub to: String,
    /// Elements with anything to show.
    pub elements: Vec<HeatElement>,
    /// Sequence flows taken within the period.
    pub flows: Vec<HeatFlow>,
}

/// One element of a heatmap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct HeatElement {
    /// The element's BPMN id.
    pub id: String,
    /// Tokens at it now, in running instances.
    pub now: i64,
    /// Open incidents at it.
    pub incidents: i64,
    /// Times it completed within the period.
    pub completed: i64,
    /// Median time tokens stayed (entered to left), for those that left within the period.
    pub median_seconds: Option<f64>,
    /// 90th percentile of the same.
    pub p90_seconds: Option<f64>,
}

/// One sequence flow of a heatmap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct HeatFlow {
    /// The flow's BPMN id.
    pub id: String,
    /// Times taken within the period.
    pub taken: i64,
}

/// A process's dashboard over a period of days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DashboardOut {
    /// Process key.
    pub key: String,
    /// The period's first day, `YYYY-MM-DD`.
    pub from: String,
    /// The period's last day (inclusive).
    pub to: String,
    /// Every day of the period, in order, with its counts (zero included).
    pub days: Vec<DayOut>,
    /// Instances completed in the period.
    pub completed: i64,
    /// Their median duration, start to end.
    pub median_seconds: Option<f64>,
    /// Their 90th-percentile duration.
    pub p90_seconds: Option<f64>,
    /// How many took how long: `under 1 h`, `1–4 h`, `4–24 h`, `1–3 days`,
    /// `3–7 days`, `over 7 days`.
    pub durations: Vec<DurationBucket>,
    /// Open tasks by candidate group, most first, with the oldest one's age.
    pub groups: Vec<GroupTasksOut>,
    /// SLA compliance by month (of the due date), SLA and group.
    #[serde(default)]
    pub slas: Vec<SlaMonthOut>,
}

/// How one SLA fared in one month, for one group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SlaMonthOut {
    /// `YYYY-MM`.
    pub month: String,
    /// The SLA's name.
    pub name: String,
    /// The first candidate group of the task that declares it; none for a
    /// process-level SLA.
    pub group: Option<String>,
    /// Met by the due date.
    pub met: i64,
    /// Met late, or past due and unmet.
    pub missed: i64,
    /// `met / (met + missed)` as a percentage with one decimal (`87.5`).
    pub compliance: String,
}

/// One SLA clock of an instance, as the request view shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SlaOut {
    /// The SLA's name (`acknowledgement`).
    pub name: String,
    /// The activity that declares it; none: the process.
    pub element_id: Option<String>,
    /// `onTrack`, `breached`, `met`, `metLate` or `cancelled`, at the time of the answer.
    pub status: String,
    /// The target, in hours with two decimals (`2.00`).
    pub target_hours: String,
    /// Counted in working hours of the business calendar.
    pub business_hours: bool,
    /// When it started.
    pub started_at: String,
    /// When it falls due.
    pub due_at: String,
    /// When it was met.
    pub met_at: Option<String>,
    /// How long it took to meet, in hours with two decimals.
    pub achieved_hours: Option<String>,
    /// While it runs: seconds left until it falls due (negative once past).
    pub remaining_seconds: Option<i64>,
    /// The first candidate group of the task that declares it.
    pub group: Option<String>,
}

/// One day of a dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DayOut {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// Instances started.
    pub started: i64,
    /// Instances completed.
    pub completed: i64,
    /// Instances cancelled or terminated.
    pub terminated: i64,
    /// Incidents raised.
    pub incidents: i64,
}

/// How many completed instances took a duration in this range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DurationBucket {
    /// The range, as shown.
    pub label: String,
    /// How many.
    pub count: i64,
}

/// Open tasks offered to one group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct GroupTasksOut {
    /// The candidate group.
    pub group: String,
    /// Its open tasks.
    pub open: i64,
    /// How long its oldest open task has waited, in hours.
    pub oldest_hours: f64,
}

/// A mail in the outbox, with its delivery state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MailOut {
    /// The idempotency key (also the Message-ID).
    pub id: String,
    /// The instance that sent it.
    pub instance_id: String,
    /// Recipients.
    pub to: Vec<String>,
    /// Subject.
    pub subject: String,
    /// Body.
    pub body: String,
    /// Delivery attempts.
    pub attempts: i64,
    /// When delivered.
    pub sent_at: Option<String>,
    /// The last delivery error.
    pub last_error: Option<String>,
    /// The ids of the instance's documents it carries as files (each read at
    /// `/api/documents/{id}`).
    #[serde(default)]
    pub attachments: Vec<String>,
}
