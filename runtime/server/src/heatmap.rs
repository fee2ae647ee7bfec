//! A version's heatmap (issue 13 §4): tokens at each element now, and over a
//! period (30 days up to today unless the address says otherwise) how often
//! each element completed, how long tokens stayed there, and how often each
//! sequence flow was taken. For whoever may read the process's instances.

use axum::extract::{Query, State};
use axum::Json;
use chrono::{Duration, NaiveDate, Utc};
use millrace_api::{HeatElement, HeatFlow, HeatmapOut};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Principal;
use crate::authz::{self, Permission};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::{ApiPath, AppState};

/// The period, as whole days.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct Period {
    /// First day, `YYYY-MM-DD` (default: 29 days before `to`).
    pub from: Option<String>,
    /// Last day, inclusive, `YYYY-MM-DD` (default: today, UTC).
    pub to: Option<String>,
}

fn day(field: &str, text: Option<&str>, default: NaiveDate) -> ApiResult<NaiveDate> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(default),
        Some(t) => NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .map_err(|_| ApiError::field(field, format!("{t:?} is not a day: write YYYY-MM-DD"))),
    }
}

/// The heatmap of one version.
#[utoipa::path(get, path = "/api/process-definitions/{key}/versions/{version}/heatmap",
    params(("key" = String, Path), ("version" = i64, Path), Period),
    responses((status = 200, body = HeatmapOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn heatmap(
    State(state): State<AppState>,
    p: Principal,
    ApiPath((key, version)): ApiPath<(String, i64)>,
    Query(period): Query<Period>,
) -> ApiResult<Json<HeatmapOut>> {
    // One answer for "no such version" and "not yours to read".
    let missing = || ApiError::not_found(format!("no version {version} of {key:?}"));
    if !authz::granted(&state, &p, Permission::Read)
        .await?
        .covers(&key)
        || state.store.definition(&key, version).is_none()
    {
        return Err(missing());
    }
    let to = day("to", period.to.as_deref(), Utc::now().date_naive())?;
    let from = day("from", period.from.as_deref(), to - Duration::days(29))?;
    if from > to {
        return Err(ApiError::field("from", "comes after to"));
    }
    let start = from.and_time(chrono::NaiveTime::MIN).and_utc();
    let end = (to + Duration::days(1))
        .and_time(chrono::NaiveTime::MIN)
        .and_utc();
    let map = state.store.heatmap(&key, version, start, end).await?;
    Ok(Json(HeatmapOut {
        key,
        version,
        from: from.to_string(),
        to: to.to_string(),
        elements: map
            .elements
            .into_iter()
            .map(|(id, e)| HeatElement {
                id,
                now: e.now,
                incidents: e.incidents,
                completed: e.completed,
                median_seconds: e.median_seconds,
                p90_seconds: e.p90_seconds,
            })
            .collect(),
        flows: map
            .flows
            .into_iter()
            .map(|(id, taken)| HeatFlow { id, taken })
            .collect(),
    }))
}
