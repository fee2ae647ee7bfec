//! The reference data administrators edit as data: the processes' settings.

use serde::{Deserialize, Serialize};

/// A reference-data table administrators edit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReferenceTable {
    /// The table (`time_slots`), as `/api/reference/{table}` names it.
    pub table: String,
    /// What administrators call it ("Time slots").
    pub label: String,
    /// The columns that pick a row out.
    pub keys: Vec<String>,
    /// Every column, in order.
    pub columns: Vec<String>,
}

/// The rows to add or change in a reference-data table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReferenceRows {
    /// Each row: column to value (text, a whole number, a flag or null;
    /// money as text such as "100.00"); rows are matched by their key columns.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub rows: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// What a change of reference data did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReferenceChanged {
    /// Rows added or changed.
    pub changed: u64,
}
