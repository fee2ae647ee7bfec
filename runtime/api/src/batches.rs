//! Version migration and batch operations: what an administrator asks for,
//! what a preview answers, and a batch's progress with its per-item results.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Which instances move, from which version to which, and how the old
/// version's elements map to the new one's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MigrationPlanIn {
    /// The process.
    pub process_key: String,
    /// The version the instances run on now.
    pub from_version: i64,
    /// The version they move to.
    pub to_version: i64,
    /// Old element id → new element id, for elements whose id changed; every
    /// other element maps to the element with the same id.
    #[serde(default)]
    pub mapping: BTreeMap<String, String>,
    /// Only these instances (default: every running instance of `fromVersion`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_ids: Option<Vec<String>>,
}

/// One element of a version, as the mapping editor lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct VersionElement {
    /// BPMN id.
    pub id: String,
    /// Name.
    pub name: Option<String>,
    /// What kind (`user task`, `boundary event`…): an element maps only to one of its kind.
    pub kind: String,
    /// For the old version: running instances with a token here.
    pub instances: i64,
}

/// One running instance in a preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MigrationCandidateOut {
    /// The instance.
    pub id: String,
    /// Its business key.
    pub business_key: Option<String>,
    /// Where its tokens stand (old version's element ids).
    pub at: Vec<String>,
    /// Why it cannot move; absent when it can.
    pub refusal: Option<String>,
}

/// What a migration would do, before it is done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MigrationPreview {
    /// The old version's elements that can hold a token, with how many instances stand at each.
    pub source_elements: Vec<VersionElement>,
    /// The new version's elements.
    pub target_elements: Vec<VersionElement>,
    /// The mapping in full: each old element id with running instances → new
    /// id (by id unless the plan said otherwise); absent where nothing matches.
    pub mapping: BTreeMap<String, String>,
    /// Instances that can move.
    pub movable: i64,
    /// Instances that cannot.
    pub refused: i64,
    /// Instances one by one (the first ones, refused first, when there are many).
    pub instances: Vec<MigrationCandidateOut>,
}

/// A batch operation to start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BatchIn {
    /// `cancel` or `modify` (items are instance ids), `retry` (items are incident ids).
    pub kind: String,
    /// The items.
    pub targets: Vec<String>,
    /// For `cancel`: why.
    #[serde(default)]
    pub reason: Option<String>,
    /// For `modify`: the instructions, as `POST /api/process-instances/{id}/modification` takes them.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<Object>>))]
    pub instructions: Option<serde_json::Value>,
    /// For `modify`: why.
    #[serde(default)]
    pub annotation: Option<String>,
}

/// A batch operation and its progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BatchOut {
    /// Id.
    pub id: String,
    /// `migrate`, `cancel`, `retry` or `modify`.
    pub kind: String,
    /// What it does, in words (`Migrate disconnection from version 1 to 2`).
    pub description: String,
    /// Who started it; each item runs as them.
    pub created_by: String,
    /// When.
    pub created_at: String,
    /// `running`, `stopped` or `done`.
    pub state: String,
    /// Items in all.
    pub total: i64,
    /// Items done.
    pub done: i64,
    /// Items that failed.
    pub failed: i64,
    /// Items not yet worked.
    pub pending: i64,
    /// When it finished or was stopped.
    pub ended_at: Option<String>,
}

/// One item of a batch with its result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BatchItemOut {
    /// Its place in the batch, from 1.
    pub seq: i64,
    /// The instance (for a retry: the incident).
    pub target: String,
    /// `pending`, `done` or `failed`.
    pub state: String,
    /// Why it failed.
    pub message: Option<String>,
    /// When it was worked.
    pub done_at: Option<String>,
}

/// A batch with a page of its items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BatchDetail {
    /// The batch.
    pub batch: BatchOut,
    /// Items in order (`?state=failed` for the failed ones only; `?after=` to page on).
    pub items: Vec<BatchItemOut>,
}
