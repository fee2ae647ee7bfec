//! Version migration and batch operations (administrators):
//! `POST /api/migrations/preview` shows which running instances of a version
//! can move to another and why the others cannot; `POST /api/migrations`
//! and `POST /api/batches` start batches (migrate; cancel, retry, modify
//! many), which every node's worker works in chunks; `GET /api/batches…`
//! shows their progress and per-item results, and `…/stop` stops one.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use millrace_api::{
    BatchDetail, BatchIn, BatchItemOut, BatchOut, MigrationCandidateOut, MigrationPlanIn,
    MigrationPreview, ModificationInstruction, VersionElement,
};
use millrace_engine::definition::NodeKind;
use millrace_engine::ProcessDefinition;
use millrace_store::{BatchRow, BatchWork};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::{bounded, modifications};
use crate::auth::{Principal, Role};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::{ApiJson, ApiPath, ApiQuery, AppState};

/// The most instances a preview reads, and a batch takes.
const BATCH_MAX: i64 = 100_000;

/// The most instances a preview lists one by one.
const PREVIEW_LISTED: usize = 500;

/// Elements a token can stand at (not flows' ends that pass at once: start
/// and end events, throw events, script and mail tasks never wait).
fn can_hold_a_token(kind: &NodeKind) -> bool {
    !matches!(
        kind,
        NodeKind::StartEvent { .. } | NodeKind::EndEvent(_) | NodeKind::ThrowEvent(_)
    )
}

fn elements(def: &ProcessDefinition, counts: &BTreeMap<String, i64>) -> Vec<VersionElement> {
    def.nodes
        .iter()
        .filter(|n| can_hold_a_token(&n.kind))
        .map(|n| VersionElement {
            id: n.id.clone(),
            name: n.name.clone(),
            kind: n.kind.kind_name().to_string(),
            instances: counts.get(&n.id).copied().unwrap_or(0),
        })
        .collect()
}

/// The plan's versions, after checking that they exist, differ and that the
/// mapping names real elements of one kind (400 naming `mapping` otherwise).
async fn plan_versions(
    state: &AppState,
    plan: &MigrationPlanIn,
) -> ApiResult<(
    std::sync::Arc<ProcessDefinition>,
    std::sync::Arc<ProcessDefinition>,
)> {
    if plan.from_version == plan.to_version {
        return Err(ApiError::field(
            "toVersion",
            "is the version the instances run on already",
        ));
    }
    let (from, to) = state
        .store
        .two_versions(&plan.process_key, plan.from_version, plan.to_version)
        .await?;
    let problems = millrace_engine::check_mapping(&from, &to, &plan.mapping);
    if let Some(first) = problems.first() {
        return Err(ApiError::field("mapping", first.clone()));
    }
    Ok((from, to))
}

/// What migrating the running instances of one version to another would
/// do, without doing it: the elements of both versions, the mapping in
/// full, and for each instance whether it can move or why not.
#[utoipa::path(post, path = "/api/migrations/preview", request_body = MigrationPlanIn,
    responses((status = 200, body = MigrationPreview), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn preview(
    State(state): State<AppState>,
    p: Principal,
    ApiJson(plan): ApiJson<MigrationPlanIn>,
) -> ApiResult<Json<MigrationPreview>> {
    p.require(&state, "preview a migration", &[Role::Admin])
        .await?;
    let (from, to) = plan_versions(&state, &plan).await?;
    let mut candidates = state
        .store
        .migration_preview(
            &plan.process_key,
            plan.from_version,
            plan.to_version,
            &plan.mapping,
            BATCH_MAX,
            Utc::now(),
        )
        .await?;
    if let Some(only) = &plan.instance_ids {
        candidates.retain(|c| only.contains(&c.id));
    }
    let mut counts: BTreeMap<String, i64> = BTreeMap::new();
    for c in &candidates {
        for at in &c.at {
            *counts.entry(at.clone()).or_default() += 1;
        }
    }
    let mapping = counts
        .keys()
        .filter_map(|source| {
            let target = plan.mapping.get(source).unwrap_or(source);
            to.node_ix(target).map(|_| (source.clone(), target.clone()))
        })
        .collect();
    let refused = candidates.iter().filter(|c| c.refusal.is_some()).count() as i64;
    let movable = candidates.len() as i64 - refused;
    // Refused ones first: they are what the administrator must look at.
    candidates.sort_by_key(|c| c.refusal.is_none());
    Ok(Json(MigrationPreview {
        source_elements: elements(&from, &counts),
        target_elements: elements(&to, &BTreeMap::new()),
        mapping,
        movable,
        refused,
        instances: candidates
            .into_iter()
            .take(PREVIEW_LISTED)
            .map(|c| MigrationCandidateOut {
                id: c.id,
                business_key: c.business_key,
                at: c.at,
                refusal: c.refusal,
            })
            .collect(),
    }))
}

/// Starts migrating the running instances of one version (or the ones
/// named) to another, as a batch: each instance moves or is refused with
/// its reason, and the batch's progress survives a restart.
#[utoipa::path(post, path = "/api/migrations", request_body = MigrationPlanIn,
    responses((status = 201, body = BatchOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn migrate(
    State(state): State<AppState>,
    p: Principal,
    ApiJson(plan): ApiJson<MigrationPlanIn>,
) -> ApiResult<(StatusCode, Json<BatchOut>)> {
    p.require(&state, "migrate instances", &[Role::Admin])
        .await?;
    plan_versions(&state, &plan).await?;
    let targets = match &plan.instance_ids {
        Some(ids) => ids.clone(),
        None => {
            state
                .store
                .active_instance_ids(&plan.process_key, plan.from_version, BATCH_MAX)
                .await?
        }
    };
    let work = BatchWork::Migrate {
        key: plan.process_key.clone(),
        from_version: plan.from_version,
        to_version: plan.to_version,
        mapping: plan.mapping.clone(),
    };
    start_batch(&state, &p, work, targets).await
}

/// Starts a batch operation on many instances (`cancel`, `modify`) or
/// incidents (`retry`); each item runs as the caller and is audited.
#[utoipa::path(post, path = "/api/batches", request_body = BatchIn,
    responses((status = 201, body = BatchOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    ApiJson(req): ApiJson<BatchIn>,
) -> ApiResult<(StatusCode, Json<BatchOut>)> {
    p.require(&state, "start a batch operation", &[Role::Admin])
        .await?;
    let text = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
    };
    let work = match req.kind.as_str() {
        "cancel" => {
            bounded(req.reason.as_deref(), "reason", 500)?;
            BatchWork::Cancel {
                reason: text(&req.reason),
            }
        }
        "retry" => BatchWork::Retry,
        "modify" => {
            let given = req.instructions.clone().ok_or_else(|| {
                ApiError::field("instructions", "a modify batch needs instructions")
            })?;
            let instructions: Vec<ModificationInstruction> = serde_json::from_value(given)
                .map_err(|e| ApiError::field("instructions", e.to_string()))?;
            if instructions.is_empty() || instructions.len() > 100 {
                return Err(ApiError::field(
                    "instructions",
                    "holds between 1 and 100 instructions",
                ));
            }
            bounded(req.annotation.as_deref(), "annotation", 500)?;
            BatchWork::Modify {
                instructions: modifications(&instructions),
                annotation: text(&req.annotation),
            }
        }
        other => {
            return Err(ApiError::field(
                "kind",
                format!("{other:?} is not a batch operation: cancel, retry or modify"),
            ))
        }
    };
    start_batch(&state, &p, work, req.targets).await
}

async fn start_batch(
    state: &AppState,
    p: &Principal,
    work: BatchWork,
    mut targets: Vec<String>,
) -> ApiResult<(StatusCode, Json<BatchOut>)> {
    let mut seen = std::collections::HashSet::new();
    targets.retain(|t| seen.insert(t.clone()));
    if targets.is_empty() {
        return Err(ApiError::field("targets", "names nothing to work on"));
    }
    if targets.len() as i64 > BATCH_MAX {
        return Err(ApiError::field(
            "targets",
            format!("names more than {BATCH_MAX} items"),
        ));
    }
    if let Some((i, _)) = targets
        .iter()
        .enumerate()
        .find(|(_, t)| t.is_empty() || t.len() > 200 || t.chars().any(char::is_control))
    {
        return Err(ApiError::field(
            &format!("targets[{i}]"),
            "is not an instance or incident id",
        ));
    }
    let id = uuid::Uuid::now_v7().to_string();
    let now = Utc::now();
    state
        .store
        .create_batch(&id, &work, &p.user, &targets, now)
        .await?;
    let detail = serde_json::json!({ "batch": id, "kind": work.kind(), "items": targets.len() });
    state
        .store
        .audit(
            Some(&p.user),
            "batch.create",
            Some(&id),
            "ok",
            Some(&detail.to_string()),
            now,
        )
        .await?;
    let row = state
        .store
        .batch(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no batch {id:?}")))?;
    Ok((StatusCode::CREATED, Json(batch_out(row))))
}

fn batch_out(b: BatchRow) -> BatchOut {
    let description = match &b.work {
        BatchWork::Migrate {
            key,
            from_version,
            to_version,
            ..
        } => format!("Migrate {key} from version {from_version} to {to_version}"),
        BatchWork::Cancel { .. } => "Cancel instances".to_string(),
        BatchWork::Retry => "Retry incidents".to_string(),
        BatchWork::Modify { .. } => "Modify instances".to_string(),
    };
    BatchOut {
        id: b.id,
        kind: b.work.kind().to_string(),
        description,
        created_by: b.created_by,
        created_at: b.created_at,
        state: b.state,
        total: b.total,
        done: b.done,
        failed: b.failed,
        pending: b.total - b.done - b.failed,
        ended_at: b.ended_at,
    }
}

/// The latest batches, newest first, with their progress.
#[utoipa::path(get, path = "/api/batches",
    responses((status = 200, body = [BatchOut]), (status = 403, body = ErrorBody)))]
pub async fn batches(
    State(state): State<AppState>,
    p: Principal,
) -> ApiResult<Json<Vec<BatchOut>>> {
    p.require(&state, "see batch operations", &[Role::Admin])
        .await?;
    let rows = state.store.batches(100).await?;
    Ok(Json(rows.into_iter().map(batch_out).collect()))
}

/// Which items of a batch to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ItemQuery {
    /// Only items in this state (`pending`, `done`, `failed`).
    pub state: Option<String>,
    /// Items after this place (for paging).
    pub after: Option<i64>,
    /// At most this many items (default 100, at most 1000).
    pub limit: Option<i64>,
}

/// A batch with its progress and a page of its items and their results.
#[utoipa::path(get, path = "/api/batches/{id}", params(("id" = String, Path), ItemQuery),
    responses((status = 200, body = BatchDetail), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn batch(
    State(state): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<ItemQuery>,
) -> ApiResult<Json<BatchDetail>> {
    p.require(&state, "see batch operations", &[Role::Admin])
        .await?;
    if let Some(s) = &q.state {
        if !matches!(s.as_str(), "pending" | "done" | "failed") {
            return Err(ApiError::field("state", "is pending, done or failed"));
        }
    }
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::field("limit", "is between 1 and 1000"));
    }
    let row = state
        .store
        .batch(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no batch {id:?}")))?;
    let items = state
        .store
        .batch_items(&id, q.state.as_deref(), q.after.unwrap_or(0), limit)
        .await?;
    Ok(Json(BatchDetail {
        batch: batch_out(row),
        items: items
            .into_iter()
            .map(|i| BatchItemOut {
                seq: i.seq,
                target: i.target,
                state: i.state,
                message: i.message,
                done_at: i.done_at,
            })
            .collect(),
    }))
}

/// Stops a running batch: what is not yet worked stays undone (409 when it
/// is not running).
#[utoipa::path(post, path = "/api/batches/{id}/stop", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn stop(
    State(state): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    p.require(&state, "stop a batch operation", &[Role::Admin])
        .await?;
    if state.store.batch(&id).await?.is_none() {
        return Err(ApiError::not_found(format!("no batch {id:?}")));
    }
    if !state.store.stop_batch(&id, Utc::now()).await? {
        return Err(ApiError::conflict(format!("batch {id} is not running")));
    }
    state
        .audit(Some(&p.user), "batch.stop", Some(&id), "ok")
        .await;
    Ok(StatusCode::NO_CONTENT)
}
