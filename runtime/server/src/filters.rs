//! Saved inbox filters (`/api/filters`): a user saves the inbox's filter
//! under a name, for themselves or shared with one of their groups, and sees
//! each filter they may use with how many tasks it selects for them now.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use millrace_api::{FilterCriteria, SavedFilterIn, SavedFilterOut, FILTER_COUNT_CAP};
use millrace_store::{SavedFilterRow, TaskFilter};

use crate::api::given;
use crate::auth::{Principal, Role};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::{ApiJson, ApiPath, AppState};

/// The longest filter name.
const NAME_MAX: usize = 80;

/// The task filter `criteria` mean for `reader`; an SLA status other than
/// those the inbox knows is an error (checked on saving, so only a row
/// edited by hand has one).
fn task_filter(criteria: &FilterCriteria, reader: &str) -> ApiResult<TaskFilter> {
    let given = |v: &Option<String>| given(v).map(str::to_string);
    let sla = crate::slas::sla_filter(criteria.sla.as_deref(), Utc::now())
        .map_err(|e| e.with_field("criteria.sla"))?;
    Ok(TaskFilter {
        assignee: criteria.mine.then(|| reader.to_string()),
        candidate_group: given(&criteria.group),
        process_key: given(&criteria.process),
        instance_id: None,
        request: given(&criteria.request),
        status: given(&criteria.status),
        variable: given(&criteria.variable).zip(given(&criteria.value)),
        sla,
    })
}

/// Every saved filter the caller may use (their own first), each with the
/// number of tasks it selects for them now, counted up to 1000.
#[utoipa::path(get, path = "/api/filters", responses((status = 200, body = [SavedFilterOut])))]
pub async fn filters(
    State(state): State<AppState>,
    p: Principal,
) -> ApiResult<Json<Vec<SavedFilterOut>>> {
    let mut out = Vec::new();
    for row in state.store.filters_for(&p.user, &p.groups).await? {
        // A row the API did not write (edited by hand) is left out, not an error for everyone.
        let Ok(criteria) = serde_json::from_str::<FilterCriteria>(&row.criteria) else {
            tracing::warn!(filter = %row.id, "a saved filter's criteria do not read; left out");
            continue;
        };
        let filter = match task_filter(&criteria, &p.user) {
            Ok(f) => f,
            Err(e) => {
                // Counting it without its SLA status would show a wrong number.
                tracing::warn!(filter = %row.id, error = ?e, "a saved filter's criteria are not valid; left out");
                continue;
            }
        };
        let count = state
            .store
            .inbox_count(&p.user, &p.groups, &filter, FILTER_COUNT_CAP)
            .await?;
        out.push(SavedFilterOut {
            id: row.id,
            name: row.name,
            owner: row.owner,
            shared_with: row.shared_with,
            criteria,
            count,
        });
    }
    Ok(Json(out))
}

/// Saves the caller's filter under a name, for them alone or shared with one
/// of their groups. A name they already use is a conflict (409).
#[utoipa::path(post, path = "/api/filters", request_body = SavedFilterIn,
    responses((status = 201, body = SavedFilterOut), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn save_filter(
    State(state): State<AppState>,
    p: Principal,
    ApiJson(f): ApiJson<SavedFilterIn>,
) -> ApiResult<(StatusCode, Json<SavedFilterOut>)> {
    let name = f.name.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX || name.chars().any(char::is_control) {
        return Err(ApiError::field(
            "name",
            format!("1 to {NAME_MAX} characters, no control characters"),
        ));
    }
    let shared_with = given(&f.shared_with);
    if let Some(g) = shared_with {
        if !p.groups.iter().any(|mine| mine == g) {
            return Err(ApiError::field(
                "sharedWith",
                format!("you are not in the group {g:?}: a filter is shared with one of your own groups"),
            ));
        }
    }
    let c = &f.criteria;
    if given(&c.variable).is_some() != given(&c.value).is_some() {
        return Err(ApiError::field(
            if given(&c.variable).is_some() {
                "criteria.value"
            } else {
                "criteria.variable"
            },
            "a variable filter names the variable and the value it must hold",
        ));
    }
    let filter = task_filter(c, &p.user)?;
    for (field, v) in [
        ("criteria.process", &c.process),
        ("criteria.group", &c.group),
        ("criteria.request", &c.request),
        ("criteria.status", &c.status),
        ("criteria.variable", &c.variable),
        ("criteria.value", &c.value),
    ] {
        if v.as_deref().is_some_and(|v| v.len() > 200) {
            return Err(ApiError::field(field, "at most 200 bytes"));
        }
    }
    let row = SavedFilterRow {
        id: uuid::Uuid::now_v7().to_string(),
        owner: p.user.clone(),
        name: name.to_string(),
        criteria: serde_json::to_string(&f.criteria)
            .map_err(|e| ApiError::internal(format!("the criteria do not serialise: {e}")))?,
        shared_with: shared_with.map(str::to_string),
    };
    if !state.store.save_filter(&row, Utc::now()).await? {
        return Err(ApiError::conflict(format!(
            "you already have a filter named {name:?}; choose another name or delete it first"
        )));
    }
    let count = state
        .store
        .inbox_count(&p.user, &p.groups, &filter, FILTER_COUNT_CAP)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(SavedFilterOut {
            id: row.id,
            name: row.name,
            owner: row.owner,
            shared_with: row.shared_with,
            criteria: f.criteria,
            count,
        }),
    ))
}

/// Deletes a filter: its owner's, or any for an administrator. Another's
/// filter, or none, is a 404.
#[utoipa::path(delete, path = "/api/filters/{id}", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_filter(
    State(state): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let owner = (p.role != Role::Admin).then_some(p.user.as_str());
    if state.store.delete_filter(&id, owner).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!(
            "you have no saved filter {id:?}"
        )))
    }
}
