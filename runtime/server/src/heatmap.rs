//! A version's heatmap: tokens at each element now, and over a period (30
//! days up to today unless the address says otherwise) how often each element
//! completed, how long tokens stayed there, and how often each sequence flow
//! was taken. And a process's dashboard over such a period: instances started
//! and ended per day, durations, incidents, open tasks per group. For whoever
//! may read the process's instances.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use millrace_api::{
    DashboardOut, DayOut, DurationBucket, GroupTasksOut, HeatElement, HeatFlow, HeatmapOut,
    SlaMonthOut,
};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Principal;
use crate::authz::{self, Permission};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::{ApiPath, ApiQuery, AppState};

/// The period, as whole days.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct Period {
    /// First day, `YYYY-MM-DD` (default: 29 days before `to`).
    pub from: Option<String>,
    /// Last day, inclusive, `YYYY-MM-DD` (default: today, UTC).
    pub to: Option<String>,
}

impl Period {
    /// The first and last day, and the instants they span (`end` exclusive).
    pub(crate) fn days(&self) -> ApiResult<(NaiveDate, NaiveDate, DateTime<Utc>, DateTime<Utc>)> {
        let to = day("to", self.to.as_deref(), Utc::now().date_naive())?;
        let from = day(
            "from",
            self.from.as_deref(),
            to.checked_sub_days(chrono::Days::new(29)).unwrap_or(to),
        )?;
        if from > to {
            return Err(ApiError::field("from", "comes after to"));
        }
        if (to - from).num_days() >= 366 {
            return Err(ApiError::field("from", "a period spans at most 366 days"));
        }
        let start = from.and_time(chrono::NaiveTime::MIN).and_utc();
        let end = to
            .checked_add_days(chrono::Days::new(1))
            .ok_or_else(|| ApiError::field("to", "is past the last day there is"))?
            .and_time(chrono::NaiveTime::MIN)
            .and_utc();
        Ok((from, to, start, end))
    }
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
    ApiQuery(period): ApiQuery<Period>,
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
    let (from, to, start, end) = period.days()?;
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

/// The duration ranges a dashboard counts, as (label, upper bound in seconds).
const DURATION_BUCKETS: [(&str, f64); 6] = [
    ("under 1 h", 3600.0),
    ("1–4 h", 4.0 * 3600.0),
    ("4–24 h", 86_400.0),
    ("1–3 days", 3.0 * 86_400.0),
    ("3–7 days", 7.0 * 86_400.0),
    ("over 7 days", f64::INFINITY),
];

/// How many of `durations` fall in each of [`DURATION_BUCKETS`].
fn buckets(durations: &[f64]) -> Vec<DurationBucket> {
    let mut counts = [0i64; DURATION_BUCKETS.len()];
    for &d in durations {
        let i = DURATION_BUCKETS
            .iter()
            .position(|(_, upper)| d < *upper)
            .unwrap_or(DURATION_BUCKETS.len() - 1);
        counts[i] += 1;
    }
    DURATION_BUCKETS
        .iter()
        .zip(counts)
        .map(|((label, _), count)| DurationBucket {
            label: label.to_string(),
            count,
        })
        .collect()
}

/// The dashboard of one process (every version).
#[utoipa::path(get, path = "/api/process-definitions/{key}/dashboard",
    params(("key" = String, Path), Period),
    responses((status = 200, body = DashboardOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn dashboard(
    State(state): State<AppState>,
    p: Principal,
    ApiPath(key): ApiPath<String>,
    ApiQuery(period): ApiQuery<Period>,
) -> ApiResult<Json<DashboardOut>> {
    let missing = || ApiError::not_found(format!("no process {key:?}"));
    if !authz::granted(&state, &p, Permission::Read)
        .await?
        .covers(&key)
        || state.store.latest_definition(&key).is_none()
    {
        return Err(missing());
    }
    let (from, to, start, end) = period.days()?;
    let d = state
        .store
        .dashboard(&key, start, end, chrono::Utc::now())
        .await?;
    let mut days = Vec::new();
    let mut day = from;
    while day <= to {
        let text = day.to_string();
        let c = d.days.get(&text).cloned().unwrap_or_default();
        days.push(DayOut {
            day: text,
            started: c.started,
            completed: c.completed,
            terminated: c.terminated,
            incidents: c.incidents,
        });
        day += Duration::days(1);
    }
    let now = Utc::now();
    Ok(Json(DashboardOut {
        key,
        from: from.to_string(),
        to: to.to_string(),
        days,
        completed: d.durations.len() as i64,
        median_seconds: millrace_store::percentile(&d.durations, 0.5),
        p90_seconds: millrace_store::percentile(&d.durations, 0.9),
        durations: buckets(&d.durations),
        groups: d
            .groups
            .into_iter()
            .map(|g| GroupTasksOut {
                group: g.group,
                open: g.open,
                oldest_hours: DateTime::parse_from_rfc3339(&g.oldest)
                    .map(|t| {
                        let h = (now - t.with_timezone(&Utc)).num_minutes().max(0) as f64 / 60.0;
                        (h * 100.0).round() / 100.0
                    })
                    .unwrap_or(0.0),
            })
            .collect(),
        slas: d
            .slas
            .into_iter()
            .map(|m| {
                let counted = rust_decimal::Decimal::from(m.met + m.missed);
                let compliance = rust_decimal::Decimal::from(m.met * 100)
                    / counted.max(rust_decimal::Decimal::ONE);
                SlaMonthOut {
                    compliance: format!("{:.1}", compliance.round_dp(1)),
                    month: m.month,
                    name: m.name,
                    group: m.group,
                    met: m.met,
                    missed: m.missed,
                }
            })
            .collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::buckets;

    #[test]
    fn durations_fall_in_their_ranges() {
        let counts: Vec<i64> = buckets(&[10.0, 3599.0, 3600.0, 90_000.0, 700_000.0])
            .into_iter()
            .map(|b| b.count)
            .collect();
        assert_eq!(counts, [2, 1, 0, 1, 0, 1]);
    }
}
