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
