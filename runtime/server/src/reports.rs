//! Reports: the named queries a process's `.sql` files mark `-- report:`,
//! for whoever may read that process's instances (administrators, holders
//! of a `read` grant), as JSON or CSV. Each run is audited: a report reads
//! the utility's customer data.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use millrace_api::{ReportOut, ReportParameter, ReportRun};
use millrace_store::{ReportError, ReportInfo, ReportTable};

use crate::auth::{Principal, Role};
use crate::authz::{self, Permission};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::{ApiPath, AppState};

fn report_out(r: ReportInfo) -> ReportOut {
    ReportOut {
        key: r.key,
        process_name: r.process_name,
        version: r.version,
        name: r.name,
        title: r.title,
        about: r.about,
        parameters: r
            .parameters
            .into_iter()
            .map(|(name, default)| ReportParameter { name, default })
            .collect(),
    }
}

/// The reports of the processes the caller may read, by process and name.
#[utoipa::path(get, path = "/api/reports", responses((status = 200, body = [ReportOut])))]
pub async fn reports(
    State(state): State<AppState>,
    p: Principal,
) -> ApiResult<Json<Vec<ReportOut>>> {
    let granted = authz::granted(&state, &p, Permission::Read).await?;
    let today = chrono::Utc::now().date_naive();
    let list = state.store.reports(today, |k| granted.covers(k)).await?;
    Ok(Json(list.into_iter().map(report_out).collect()))
}

/// Runs a report with the parameters in the query string (one left out
/// takes its default); `format=csv` answers a CSV file instead of JSON.
#[utoipa::path(get, path = "/api/reports/{key}/{name}", params(("key" = String, Path), ("name" = String, Path),
        ("format" = Option<String>, Query, description = "csv for a CSV file")),
    responses((status = 200, body = ReportRun), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn report(
    State(state): State<AppState>,
    p: Principal,
    ApiPath((key, name)): ApiPath<(String, String)>,
    Query(mut input): Query<BTreeMap<String, String>>,
) -> ApiResult<Response> {
    let csv = match input.remove("format").as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::field(
                "format",
                format!("{other:?} is not a format: json or csv"),
            ))
        }
    };
    // One answer for "no such report" and "not yours to read".
    let missing = || ApiError::not_found(format!("no report {name:?} of {key:?}"));
    if !authz::granted(&state, &p, Permission::Read)
        .await?
        .covers(&key)
    {
        return Err(missing());
    }
    let today = chrono::Utc::now().date_naive();
    let (info, table) = match state.store.run_report(&key, &name, &input, today).await? {
        None => return Err(missing()),
        Some(Err(ReportError::Missing(parameter))) => {
            return Err(ApiError::field(
                &parameter,
                format!("the report needs {parameter}: give it a value"),
            ))
        }
        Some(Err(ReportError::Query(e))) => {
            return Err(ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "invalid",
                e.to_string(),
            ))
        }
        Some(Ok(found)) => found,
    };
    if p.role != Role::System {
        state
            .audit(
                Some(&p.user),
                "report.read",
                Some(&format!("{key}/{name}")),
                "ok",
            )
            .await;
    }
    if csv {
        let file = format!("{key}-{name}.csv");
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{file}\""),
                ),
                (header::CACHE_CONTROL, "private, no-store".to_string()),
            ],
            csv_of(&table)?,
        )
            .into_response());
    }
    Ok(Json(ReportRun {
        report: report_out(info),
        input: table.input,
        columns: table.columns,
        rows: table
            .rows
            .iter()
            .map(|r| r.iter().map(|v| v.to_shown_json()).collect())
            .collect(),
    })
    .into_response())
}

/// A CSV cell a spreadsheet will not run as a formula: text starting with
/// `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`
/// (OWASP's advice), unless it is a number (`-200.00` stays a number). What
/// a customer typed, or a sign-in name someone tried, reaches these files.
pub fn spreadsheet_safe(cell: &str) -> String {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && cell.parse::<rust_decimal::Decimal>().is_err() {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}

/// The table as CSV (RFC 4180, a header row first): money with its scale,
/// null as an empty field, text made spreadsheet-safe.
fn csv_of(table: &ReportTable) -> ApiResult<Vec<u8>> {
    let broken = |e: csv::Error| ApiError::internal(format!("writing the CSV: {e}"));
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(&table.columns).map_err(broken)?;
    for row in &table.rows {
        out.write_record(row.iter().map(|v| match v.to_shown_json() {
            serde_json::Value::Null => String::new(),
            serde_json::Value::String(s) => spreadsheet_safe(&s),
            other => other.to_string(),
        }))
        .map_err(broken)?;
    }
    out.into_inner()
        .map_err(|e| ApiError::internal(format!("writing the CSV: {e}")))
}

#[cfg(test)]
mod tests {
    use super::spreadsheet_safe;

    #[test]
    fn formulas_are_defused_and_numbers_kept() {
        assert_eq!(spreadsheet_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(spreadsheet_safe("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(spreadsheet_safe("-200.00"), "-200.00");
        assert_eq!(spreadsheet_safe("+1 555"), "'+1 555");
        assert_eq!(spreadsheet_safe("John Smith"), "John Smith");
    }
}
