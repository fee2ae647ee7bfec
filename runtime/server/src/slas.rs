//! SLAs as the API shows them: an instance's clocks with where each stands
//! now, the SLA a task's inbox row shows, and the inbox's SLA filter.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use millrace_api::{SlaOut, TaskSlaOut};
use millrace_engine::sla::{hours_text, SlaClock};
use millrace_store::SlaFilter;

use crate::auth::Principal;
use crate::authz;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::{ApiPath, AppState};

/// An instance's SLA clocks, in the order they started, each with its
/// status at the time of the answer.
#[utoipa::path(get, path = "/api/process-instances/{id}/slas", params(("id" = String, Path)),
    responses((status = 200, body = [SlaOut]), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn instance_slas(
    State(state): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<SlaOut>>> {
    authz::readable(&state, &p, &id, "instance.slas").await?;
    let now = Utc::now();
    let clocks = state.store.slas(&id).await?;
    Ok(Json(clocks.iter().map(|c| sla_out(c, now)).collect()))
}

/// A clock as the API shows it at `now`.
pub fn sla_out(c: &SlaClock, now: DateTime<Utc>) -> SlaOut {
    SlaOut {
        name: c.name.clone(),
        element_id: c.element.clone(),
        status: c.status(now).as_str().to_string(),
        target_hours: hours_text(c.target_seconds),
        business_hours: c.business_hours,
        started_at: millrace_store::timestamp(c.started_at),
        due_at: millrace_store::timestamp(c.due_at),
        met_at: c.met_at.map(millrace_store::timestamp),
        achieved_hours: c.achieved_seconds.map(hours_text),
        remaining_seconds: c.running().then(|| (c.due_at - now).num_seconds()),
        group: c.group.clone(),
    }
}

/// The SLA of a task's row: its name and due date as the store found them.
pub fn task_sla(sla: Option<(String, String)>, now: DateTime<Utc>) -> Option<TaskSlaOut> {
    let (name, due_at) = sla?;
    let due = DateTime::parse_from_rfc3339(&due_at)
        .ok()?
        .with_timezone(&Utc);
    Some(TaskSlaOut {
        name,
        status: if due <= now { "breached" } else { "onTrack" }.to_string(),
        remaining_seconds: (due - now).num_seconds(),
        due_at,
    })
}

/// The inbox's `sla` filter: `breached` or `onTrack`, as of `now`.
pub fn sla_filter(
    text: Option<&str>,
    now: DateTime<Utc>,
) -> ApiResult<Option<(SlaFilter, DateTime<Utc>)>> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some("breached") => Ok(Some((SlaFilter::Breached, now))),
        Some("onTrack") => Ok(Some((SlaFilter::OnTrack, now))),
        Some(other) => Err(ApiError::field(
            "sla",
            format!("{other:?} is not an SLA status to filter by: write breached or onTrack"),
        )),
    }
}
