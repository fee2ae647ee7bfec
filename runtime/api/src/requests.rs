//! The request view: an instance as staff see it, its header and details as
//! the process declares them (`request.*` properties), its SLAs, and the
//! quick actions its current state offers.

use serde::{Deserialize, Serialize};

use crate::{SlaOut, TaskOut};

/// One labelled value of a request's header or details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RequestField {
    /// What staff read beside it (`Customer`, `Account number`).
    pub label: String,
    /// The variable path it comes from (`customer.name`).
    pub path: String,
    /// The value as text (empty when the variable is not set).
    pub value: String,
}

/// A message the request waits for, offered as a button.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RequestAction {
    /// The message name to send (`POST /api/messages` with `processInstanceId`).
    pub message: String,
    /// The catching event's name (`Put on hold`), or else the message name.
    pub label: String,
    /// The catching element's id.
    pub element_id: String,
    /// What the sender fills in first, when the catching element declares a
    /// form (`camunda:formRef` or `camunda:formData`); the server checks the
    /// message's variables against it.
    #[serde(default)]
    pub form: Option<ActionForm>,
}

/// The form a quick action asks for before its message is sent (a reason
/// to close a request, for one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ActionForm {
    /// The `camunda:formData` fields, then the form-js form's, with the
    /// instance's values.
    pub fields: Vec<crate::FormFieldOut>,
    /// The form-js form as its JSON, for the form-js viewer.
    #[serde(default)]
    pub form_schema: Option<String>,
    /// The instance's variables the form-js form's texts and options read.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub context: std::collections::BTreeMap<String, serde_json::Value>,
}

/// A request (an instance) as staff see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RequestOut {
    /// The instance id.
    pub id: String,
    /// Process key.
    pub key: String,
    /// Version.
    pub version: i64,
    /// The process's name.
    pub process_name: Option<String>,
    /// `active`, `completed` or `terminated`.
    pub state: String,
    /// The request's number: the business key, or else its `requestId` variable.
    pub request: Option<String>,
    /// Its title (`request.title`), or else the process's name.
    pub title: String,
    /// Its status (`request.status`, or else the `status` variable).
    pub status: Option<String>,
    /// The customer is a VIP (`request.vip` holds true).
    pub vip: bool,
    /// The header's other fields, in the order declared (customer, account,
    /// phone, priority), only those the process declares.
    pub header: Vec<RequestField>,
    /// The details tab: `request.details` (comma-separated variable paths),
    /// or else every process variable that is a single value.
    pub details: Vec<RequestField>,
    /// Its SLA clocks.
    pub slas: Vec<SlaOut>,
    /// Its open tasks the reader may work.
    pub tasks: Vec<TaskOut>,
    /// The messages it waits for that the reader may send.
    pub actions: Vec<RequestAction>,
    /// Element ids with their names, for the timeline.
    pub element_names: std::collections::BTreeMap<String, String>,
    /// Elements where its tokens wait (one entry per token), for the diagram.
    pub active_activities: Vec<String>,
    /// Elements stopped by an incident (one entry per token).
    pub incidents: Vec<String>,
    /// When it started.
    pub started_at: String,
    /// When it ended.
    pub ended_at: Option<String>,
}

/// A request found by the request search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RequestSummaryOut {
    /// The instance id.
    pub id: String,
    /// Process key.
    pub key: String,
    /// The request's number.
    pub request: Option<String>,
    /// Its status.
    pub status: Option<String>,
    /// `active`, `completed` or `terminated`.
    pub state: String,
    /// When it started.
    pub started_at: String,
}
