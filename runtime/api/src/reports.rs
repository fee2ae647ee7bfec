//! Reports: a process's named queries marked `-- report:`, run with the
//! parameters a reader chooses (the KPIs, the takeover statistics).

use serde::{Deserialize, Serialize};

/// One parameter of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReportParameter {
    /// Its name (`monthStart`), as the report's address takes it.
    pub name: String,
    /// What it is when the reader gives nothing (today's value of
    /// `month_start`, …); none: the reader must give it.
    pub default: Option<String>,
}

/// A report a process offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReportOut {
    /// The process key.
    pub key: String,
    /// The process's name.
    pub process_name: Option<String>,
    /// The version whose queries it is (the latest).
    pub version: i64,
    /// The query's name, as `/api/reports/{key}/{name}` names it.
    pub name: String,
    /// Its title.
    pub title: String,
    /// What it shows.
    pub about: String,
    /// Its parameters.
    pub parameters: Vec<ReportParameter>,
}

/// A report run: what it is, the values it ran with, its columns and rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReportRun {
    /// The report.
    pub report: ReportOut,
    /// Each parameter's value in this run.
    pub input: std::collections::BTreeMap<String, String>,
    /// The columns, in the query's order (none when there are no rows).
    pub columns: Vec<String>,
    /// The rows: text, numbers (money as text with its scale) or null.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Vec<Value>>))]
    pub rows: Vec<Vec<serde_json::Value>>,
}
