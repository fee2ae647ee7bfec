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
}
