//! The HTTP API handlers: JSON in, JSON out, every request authenticated
//! (but sign-in and health), permissions checked, actions and denials audited.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use millrace_api::{
    AuditOut, CancelRequest, HistoryOut, IncidentOut, InstanceListItem, InstanceOut, MailOut,
    ModificationInstruction, ModificationRequest, ReferenceChanged, ReferenceRows, ReferenceTable,
    RetryOutcome, UserIn, UserOut,
};
use millrace_engine::instance::{SubscriptionKind, TokenState};
use millrace_engine::value::{variables_from_json, variables_to_json};
use millrace_engine::{Command, Modification, Variables};
use millrace_store::{split_id, DeploymentFile, TaskFilter, TaskView};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json_;
use utoipa::{IntoParams, ToSchema};

pub use millrace_api::{DefinitionOut, DeployedOut, DiffOut, LoginRequest, Me, TaskOut};

use crate::auth::{self, Principal, Role};
use crate::authz::{self, Permission};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::{ApiJson, ApiPath, ApiQuery, AppState};

/// Reads a body's variables, bounded (depth, names, each variable's weight
/// and all of them together: [`millrace_engine::value::check_variables`]).
pub(crate) fn variables(json: &Option<Json_>, field: &str) -> ApiResult<Variables> {
    let vars = match json {
        None => Variables::new(),
        Some(j) => variables_from_json(j).map_err(|e| ApiError::field(field, e.to_string()))?,
    };
    millrace_engine::value::check_variables(&vars)
        .map_err(|e| ApiError::field(&format!("{field}.{}", e.path), e.reason))?;
    Ok(vars)
}

/// The most a message's or signal's variables may weigh: a signal is copied
/// into every instance that catches it.
pub const MAX_EVENT_PAYLOAD_BYTES: usize = 256 * 1024;

/// [`variables`] of a message or signal, within [`MAX_EVENT_PAYLOAD_BYTES`].
fn payload(json: &Option<Json_>, field: &str) -> ApiResult<Variables> {
    let vars = variables(json, field)?;
    let weight: usize = vars.values().map(|v| v.weight(usize::MAX)).sum();
    if weight > MAX_EVENT_PAYLOAD_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "{field}: a message's or signal's variables weigh at most {} KiB, not {} KiB",
                MAX_EVENT_PAYLOAD_BYTES / 1024,
                weight / 1024
            ),
        )
        .with_field(field));
    }
    Ok(vars)
}

/// Refuses a name or key longer than `max` bytes, naming the field.
pub(crate) fn bounded(value: Option<&str>, field: &str, max: usize) -> ApiResult<()> {
    match value {
        Some(v) if v.is_empty() || v.len() > max => {
            Err(ApiError::field(field, format!("must be 1 to {max} bytes")))
        }
        _ => Ok(()),
    }
}

// ----- sign-in ---------------------------------------------------------------

/// Signs in: sets a fresh session cookie and returns the CSRF token.
#[utoipa::path(post, path = "/api/login", request_body = LoginRequest,
    responses((status = 200, body = Me), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    crate::listen::Peer(source): crate::listen::Peer,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    let (cookie, body) = sign_in(&state, &req, source).await?;
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

/// Checks a user name and password (rate-limited, audited) and opens a
/// session: its `Set-Cookie` value and who signed in, with the CSRF token.
/// Failed attempts are throttled by account and by source address
/// ([`auth::LoginThrottle`]): each waits first, and the right password always
/// signs in, but for a source refused after very many failures.
pub async fn sign_in(
    state: &AppState,
    req: &LoginRequest,
    source: Option<std::net::IpAddr>,
) -> ApiResult<(String, Me)> {
    if req.username.is_empty() || req.username.len() > 200 {
        return Err(ApiError::field("username", "1 to 200 bytes"));
    }
    match state
        .limiter
        .delay(&req.username, source, std::time::Instant::now())
    {
        auth::Throttled::After(wait) => {
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
        auth::Throttled::Refused(left) => {
            state
                .audit(Some(&req.username), "login", None, "rate-limited")
                .await;
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "too many failed sign-ins from your address; try again in {} minutes",
                    left.as_secs().div_ceil(60).max(1)
                ),
            ));
        }
    }
    // Counted as a failure before the check and taken back on success, so
    // attempts made at once all count against the next one.
    state
        .limiter
        .failed(&req.username, source, std::time::Instant::now());
    let found = state.store.user_with_hash(&req.username).await?;
    // An unknown name costs one Argon2 verification too, so timing does not tell which names exist.
    let valid = match &found {
        Some((_, hash)) => auth::verify_password(&req.password, hash),
        None => {
            let _ = auth::verify_password(&req.password, auth::dummy_hash());
            false
        }
    };
    let Some((user, _)) = found.filter(|(u, _)| valid && !u.disabled) else {
        state
            .audit(Some(&req.username), "login", None, "denied")
            .await;
        return Err(ApiError::unauthenticated("wrong user name or password"));
    };
    state.limiter.succeeded(&req.username, source);
    let token = auth::random_token(32);
    let csrf = auth::random_token(16);
    state
        .store
        .create_session(&auth::token_hash(&token), &user.name, &csrf, Utc::now())
        .await?;
    state.audit(Some(&user.name), "login", None, "ok").await;
    let cookie = format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        auth::SESSION_COOKIE,
        auth::ABSOLUTE_EXPIRY.num_seconds()
    );
    let body = Me {
        user: user.name,
        role: user.role,
        groups: user.groups,
        csrf_token: Some(csrf),
    };
    Ok((cookie, body))
}

/// Signs out: ends the session.
#[utoipa::path(post, path = "/api/logout", responses((status = 204)))]
pub async fn logout(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
) -> ApiResult<Response> {
    if let Some(t) = auth::cookie(&headers, auth::SESSION_COOKIE) {
        state.store.delete_session(&auth::token_hash(&t)).await?;
    }
    state
        .audit(Some(&principal.user), "logout", None, "ok")
        .await;
    let clear = format!(
        "{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0",
        auth::SESSION_COOKIE
    );
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
}

/// Who is signed in.
#[utoipa::path(get, path = "/api/me", responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn me(principal: Principal) -> Json<Me> {
    // The CSRF token is handed out at sign-in only.
    Json(Me {
        csrf_token: None,
        ..principal.me()
    })
}

// ----- deployments and definitions ----------------------------------------------

/// A file of a deployment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FileIn {
    /// Its name (`support-case.bpmn`, `scripts/fee.rhai`, `forms/x.form`).
    pub name: String,
    /// Its text.
    pub content: String,
}

/// A deployment request: BPMN files with their scripts and forms.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeploymentRequest {
    /// A name for the deployment.
    pub name: String,
    /// The files.
    pub files: Vec<FileIn>,
    /// Why: shown beside the versions it makes.
    #[serde(default)]
    pub note: Option<String>,
}

/// Deploys BPMN files with their scripts and forms (administrators).
#[utoipa::path(post, path = "/api/deployments", request_body = DeploymentRequest,
    responses((status = 201, body = [DeployedOut]), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn deploy(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<DeploymentRequest>,
) -> ApiResult<Response> {
    principal.require(&state, "deploy", &[Role::Admin]).await?;
    if req.files.is_empty() {
        return Err(ApiError::field(
            "files",
            "a deployment needs at least one file",
        ));
    }
    let files: Vec<DeploymentFile> = req
        .files
        .into_iter()
        .map(|f| DeploymentFile {
            name: f.name,
            content: f.content,
        })
        .collect();
    let deployed = match state
        .store
        .deploy(
            &req.name,
            &files,
            Some(&principal.user),
            req.note.as_deref(),
            Utc::now(),
        )
        .await
    {
        Ok(d) => d,
        Err(e) => {
            state
                .audit(Some(&principal.user), "deploy", Some(&req.name), "refused")
                .await;
            return Err(e.into());
        }
    };
    state
        .audit(Some(&principal.user), "deploy", Some(&req.name), "ok")
        .await;
    Ok((StatusCode::CREATED, Json(deployed_out(deployed))).into_response())
}

/// What a deployment did, as the API shows it.
pub fn deployed_out(deployed: Vec<millrace_store::DeployedDefinition>) -> Vec<DeployedOut> {
    deployed
        .into_iter()
        .map(|d| DeployedOut {
            key: d.key,
            version: d.version,
            created: d.created,
        })
        .collect()
}

/// Filter for definitions.
#[derive(Debug, Deserialize, IntoParams)]
pub struct DefinitionQuery {
    /// All versions of this key (otherwise the latest of every key).
    pub key: Option<String>,
}

/// Latest versions of every process, or every version of one key.
#[utoipa::path(get, path = "/api/process-definitions", params(DefinitionQuery), responses((status = 200, body = [DefinitionOut])))]
pub async fn definitions(
    State(state): State<AppState>,
    _p: Principal,
    ApiQuery(q): ApiQuery<DefinitionQuery>,
) -> ApiResult<Json<Vec<DefinitionOut>>> {
    let rows = state.store.definitions(q.key.as_deref()).await?;
    Ok(Json(rows.into_iter().map(definition_out).collect()))
}

/// A definition version as the API shows it.
pub fn definition_out(d: millrace_store::DefinitionRow) -> DefinitionOut {
    DefinitionOut {
        key: d.key,
        version: d.version,
        name: d.name,
        resource_name: d.resource_name,
        deployed_at: d.deployed_at,
        deployed_by: d.deployed_by,
        retired: d.retired,
        note: d.note,
        running: d.running,
    }
}

/// The BPMN XML of a version.
#[utoipa::path(get, path = "/api/process-definitions/{key}/versions/{version}/xml",
    params(("key" = String, Path), ("version" = i64, Path)), responses((status = 200, content_type = "application/xml", body = String)))]
pub async fn definition_xml(
    State(state): State<AppState>,
    _p: Principal,
    ApiPath((key, version)): ApiPath<(String, i64)>,
) -> ApiResult<Response> {
    let xml = state.store.definition_xml(&key, version).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        xml,
    )
        .into_response())
}

/// Retire or reinstate a version.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetireRequest {
    /// True to retire, false to reinstate.
    pub retired: bool,
}

/// Retires a version: it starts no new instance; running ones go on (administrators).
#[utoipa::path(post, path = "/api/process-definitions/{key}/versions/{version}/retire", request_body = RetireRequest,
    params(("key" = String, Path), ("version" = i64, Path)), responses((status = 204), (status = 403, body = ErrorBody)))]
pub async fn retire(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((key, version)): ApiPath<(String, i64)>,
    ApiJson(req): ApiJson<RetireRequest>,
) -> ApiResult<StatusCode> {
    principal.require(&state, "retire", &[Role::Admin]).await?;
    state.store.set_retired(&key, version, req.retired).await?;
    state
        .audit(
            Some(&principal.user),
            if req.retired { "retire" } else { "reinstate" },
            Some(&format!("{key} v{version}")),
            "ok",
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Versions to compare.
#[derive(Debug, Deserialize, IntoParams)]
pub struct DiffQuery {
    /// The older version.
    pub from: i64,
    /// The newer version.
    pub to: i64,
}

/// A semantic diff between two versions: flow nodes and sequence flows added, removed or changed.
#[utoipa::path(get, path = "/api/process-definitions/{key}/diff", params(("key" = String, Path), DiffQuery), responses((status = 200, body = DiffOut)))]
pub async fn diff(
    State(state): State<AppState>,
    _p: Principal,
    ApiPath(key): ApiPath<String>,
    ApiQuery(q): ApiQuery<DiffQuery>,
) -> ApiResult<Json<DiffOut>> {
    let read = |xml: String| -> ApiResult<millrace_model::bpmn::Definitions> {
        Ok(millrace_model::Model::import(xml.as_bytes())
            .map_err(|e| ApiError::conflict(e.to_string()))?
            .definitions)
    };
    let older = read(state.store.definition_xml(&key, q.from).await?)?;
    let newer = read(state.store.definition_xml(&key, q.to).await?)?;
    let d = millrace_model::diff::diff_process(&older, &newer, &key);
    Ok(Json(DiffOut {
        added: d.added,
        removed: d.removed,
        changed: d.changed,
    }))
}

// ----- instances ---------------------------------------------------------------------

/// Start request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StartRequest {
    /// Variables to start with (a JSON object; numbers with fractions are exact decimals).
    #[schema(value_type = Object)]
    pub variables: Option<Json_>,
    /// The business key.
    pub business_key: Option<String>,
}

/// A started instance.
#[derive(Debug, Serialize, ToSchema)]
pub struct Started {
    /// The instance id.
    pub id: String,
}

/// Starts an instance of the latest version of `key` that is not retired.
#[utoipa::path(post, path = "/api/process-definitions/{key}/start", request_body = StartRequest,
    params(("key" = String, Path)), responses((status = 201, body = Started), (status = 404, body = ErrorBody)))]
pub async fn start(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(key): ApiPath<String>,
    ApiJson(req): ApiJson<StartRequest>,
) -> ApiResult<Response> {
    let vars = variables(&req.variables, "variables")?;
    bounded(req.business_key.as_deref(), "businessKey", 200)?;
    let startable = state.store.startable_version(&key).await?;
    if startable.is_some_and(|v| state.store.definition(&key, v).is_none()) {
        // Deployed through another node since this one last looked.
        state.store.sync_definitions().await?;
    }
    let latest = state.store.latest_definition(&key).map(|d| d.version);
    match (startable, latest) {
        (None, None) => {
            return Err(ApiError::not_found(format!(
                "no process {key:?} is deployed"
            )))
        }
        (None, Some(_)) => {
            return Err(ApiError::conflict(format!(
                "every version of {key:?} is retired"
            )))
        }
        (Some(v), Some(l)) if v != l => {
            return Err(ApiError::conflict(format!(
                "the latest version of {key:?} is retired; reinstate it or deploy a new one"
            )))
        }
        _ => {}
    }
    let def = startable.and_then(|v| state.store.definition(&key, v));
    let allowed = match &def {
        Some(def) => authz::may_start(&state, &principal, def).await?,
        None => false,
    };
    if !allowed {
        state
            .audit(Some(&principal.user), "start", Some(&key), "denied")
            .await;
        return Err(ApiError::forbidden(format!(
            "you may not start {key:?}: the process names its starters (candidate starter groups and users), or an administrator grants start"
        )));
    }
    if let Some(def) = &def {
        crate::forms::validate_start(&state, def, &vars).await?;
    }
    let done = state
        .committer
        .submit(
            &principal.user,
            millrace_store::Write::Start {
                key: key.clone(),
                variables: vars,
                business_key: req.business_key,
            },
        )
        .await?;
    let millrace_store::Done::Started(id) = done else {
        return Err(ApiError::internal("the start answered no instance"));
    };
    if def.as_deref().is_some_and(calls_connectors) {
        run_connectors_now(&state, &id).await;
    }
    state
        .metrics
        .instances_started
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok((StatusCode::CREATED, Json(Started { id })).into_response())
}

/// Instance filters and paging.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct InstanceQuery {
    /// Process key.
    pub key: Option<String>,
    /// `active`, `completed` or `terminated`.
    pub state: Option<String>,
    /// Business key.
    pub business_key: Option<String>,
    /// Only those with an open incident.
    pub incident: Option<bool>,
    /// Only those with this process variable (with `variableValue`).
    pub variable_name: Option<String>,
    /// The value `variableName` must hold, exactly (numbers as `456.78`,
    /// booleans as `true`).
    pub variable_value: Option<String>,
    /// Only those started on or after this day, `YYYY-MM-DD`.
    pub started_from: Option<String>,
    /// Only those started on or before this day, `YYYY-MM-DD`.
    pub started_to: Option<String>,
    /// Page size (default 50, at most 500).
    pub limit: Option<i64>,
    /// Rows to skip.
    pub offset: Option<i64>,
}

/// A day of a query (`YYYY-MM-DD`), as the timestamp of its start, or of the
/// next day's start when `end` (an inclusive last day).
fn query_day(field: &str, text: Option<&str>, end: bool) -> ApiResult<Option<String>> {
    let Some(t) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let d = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .map_err(|_| ApiError::field(field, format!("{t:?} is not a day: write YYYY-MM-DD")))?;
    let d = if end {
        d.checked_add_days(chrono::Days::new(1))
            .ok_or_else(|| ApiError::field(field, "is past the last day there is"))?
    } else {
        d
    };
    Ok(Some(millrace_store::timestamp(
        d.and_time(chrono::NaiveTime::MIN).and_utc(),
    )))
}

/// The variable filter of a query: a name and a value, both or neither.
fn variable_filter<'a>(
    name: &'a Option<String>,
    value: &'a Option<String>,
) -> ApiResult<Option<(&'a str, &'a str)>> {
    match (given(name), given(value)) {
        (Some(n), Some(v)) => Ok(Some((n, v))),
        (None, None) => Ok(None),
        (Some(_), None) => Err(ApiError::field(
            "variableValue",
            "give the value the variable must hold",
        )),
        (None, Some(_)) => Err(ApiError::field(
            "variableName",
            "name the variable the value is for",
        )),
    }
}

fn page(limit: Option<i64>, offset: Option<i64>) -> ApiResult<(i64, i64)> {
    let limit = limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::field("limit", "must be between 1 and 500"));
    }
    let offset = offset.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::field("offset", "must not be negative"));
    }
    Ok((limit, offset))
}

/// Instances, newest first, with filters and paging.
#[utoipa::path(get, path = "/api/process-instances", params(InstanceQuery), responses((status = 200, body = [InstanceListItem])))]
pub async fn instances(
    State(state): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<InstanceQuery>,
) -> ApiResult<Json<Vec<InstanceListItem>>> {
    let (limit, offset) = page(q.limit, q.offset)?;
    if let Some(s) = &q.state {
        if !matches!(s.as_str(), "active" | "completed" | "terminated") {
            return Err(ApiError::field(
                "state",
                "must be active, completed or terminated",
            ));
        }
    }
    let keys = authz::granted(&state, &p, Permission::Read).await?;
    let reader = millrace_store::Reader {
        user: &p.user,
        groups: &p.groups,
        keys: &keys,
    };
    let rows = state
        .store
        .list_instances(
            &reader,
            &millrace_store::InstanceSearch {
                key: q.key.as_deref(),
                state: q.state.as_deref(),
                business_key: q.business_key.as_deref(),
                incident: q.incident.unwrap_or(false),
                variable: variable_filter(&q.variable_name, &q.variable_value)?,
                started_from: query_day("startedFrom", q.started_from.as_deref(), false)?
                    .as_deref(),
                started_before: query_day("startedTo", q.started_to.as_deref(), true)?.as_deref(),
            },
            limit,
            offset,
        )
        .await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| InstanceListItem {
                id: r.id,
                key: r.key,
                version: r.version,
                state: r.state,
                has_incident: r.has_incident,
                business_key: r.business_key,
                started_at: r.started_at,
            })
            .collect(),
    ))
}

/// The ids of the elements where an instance's tokens wait, and of those
/// stopped by an incident (one entry per token, so counts can be drawn).
pub(crate) fn waiting_and_failed(
    def: &millrace_engine::ProcessDefinition,
    inst: &millrace_engine::Instance,
) -> (Vec<String>, Vec<String>) {
    let incidents = inst
        .tokens
        .values()
        .filter(|t| matches!(t.state, TokenState::Incident { .. }))
        .map(|t| def.node(t.node).id.clone())
        .collect();
    (def.waiting_nodes(inst), incidents)
}

/// One instance.
#[utoipa::path(get, path = "/api/process-instances/{id}", params(("id" = String, Path)), responses((status = 200, body = InstanceOut), (status = 404, body = ErrorBody)))]
pub async fn instance(
    State(state): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<InstanceOut>> {
    authz::readable(&state, &p, &id, "instance.read").await?;
    let inst = state.store.instance(&id).await?;
    if p.role != Role::System {
        // Who saw which customer's data, and when.
        state
            .audit(Some(&p.user), "instance.read", Some(&id), "ok")
            .await;
    }
    let def = state.store.definition(&inst.key, inst.version);
    let (waiting, incidents) = def
        .as_ref()
        .map(|d| waiting_and_failed(d, &inst))
        .unwrap_or_default();
    Ok(Json(InstanceOut {
        variables: variables_to_json(&inst.root_variables()),
        id: inst.id,
        key: inst.key,
        version: inst.version,
        business_key: inst.business_key,
        state: inst.state.as_str().to_string(),
        active_activities: waiting,
        incidents,
        started_at: millrace_store::timestamp(inst.started_at),
        ended_at: inst.ended_at.map(millrace_store::timestamp),
    }))
}

/// The audit trail of an instance.
#[utoipa::path(get, path = "/api/process-instances/{id}/history", params(("id" = String, Path)), responses((status = 200, body = [HistoryOut])))]
pub async fn history(
    State(state): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<HistoryOut>>> {
    authz::readable(&state, &p, &id, "instance.history").await?;
    if p.role != Role::System {
        // The history holds variables' values too.
        state
            .audit(Some(&p.user), "instance.history", Some(&id), "ok")
            .await;
    }
    Ok(Json(
        state
            .store
            .history(&id)
            .await?
            .into_iter()
            .map(|h| HistoryOut {
                seq: h.seq,
                at: h.at,
                actor: h.actor,
                event: h.event,
                node: h.node_id,
                detail: h.detail.and_then(|d| serde_json::from_str(&d).ok()),
            })
            .collect(),
    ))
}

/// Cancels an instance (administrators).
#[utoipa::path(post, path = "/api/process-instances/{id}/cancel", params(("id" = String, Path)), request_body(content = Option<CancelRequest>, description = "Why (optional)"), responses((status = 204), (status = 409, body = ErrorBody)))]
pub async fn cancel(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    body: axum::body::Bytes,
) -> ApiResult<StatusCode> {
    // The body is optional: `{}` or none cancels without a reason.
    let request: CancelRequest = if body.iter().all(u8::is_ascii_whitespace) {
        CancelRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::field("reason", e.to_string()))?
    };
    let reason = request.reason.filter(|r| !r.trim().is_empty());
    bounded(reason.as_deref(), "reason", 500)?;
    authz::operable(&state, &principal, &id, "cancel").await?;
    let mut unit = state.store.begin(Utc::now(), Some(&principal.user)).await?;
    match unit.command(&id, Command::Cancel).await {
        Ok(()) => {}
        Err(millrace_store::StoreError::Corrupt(_, reason)) => {
            // The engine cannot read it to cancel it; its rows end instead.
            drop(unit);
            state
                .store
                .terminate_unreadable(&id, &principal.user, &reason, Utc::now())
                .await?;
            state
                .audit(Some(&principal.user), "cancel", Some(&id), "ok")
                .await;
            return Ok(StatusCode::NO_CONTENT);
        }
        Err(e) => return Err(e.into()),
    }
    unit.audit_with("cancel", Some(&id), reason.as_deref())
        .await?;
    unit.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Modifies a running instance (who may operate it): cancels the tokens at
/// elements and starts tokens before or after others, in the order given, in
/// one step. A refused instruction refuses them all and changes nothing; the
/// modification is audited with its instructions and annotation.
#[utoipa::path(post, path = "/api/process-instances/{id}/modification", params(("id" = String, Path)), request_body = ModificationRequest, responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn modify(
    State(state): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<ModificationRequest>,
) -> ApiResult<StatusCode> {
    if req.instructions.is_empty() {
        return Err(ApiError::field("instructions", "names no instruction"));
    }
    if req.instructions.len() > 100 {
        return Err(ApiError::field(
            "instructions",
            "holds more than 100 instructions",
        ));
    }
    let annotation = req.annotation.as_deref().filter(|a| !a.trim().is_empty());
    bounded(annotation, "annotation", 500)?;
    let instructions = modifications(&req.instructions);
    authz::operable(&state, &p, &id, "instance.modify").await?;
    let mut unit = state.store.begin(Utc::now(), Some(&p.user)).await?;
    unit.command(&id, Command::Modify { instructions }).await?;
    let detail = serde_json::json!({ "instructions": req.instructions, "annotation": annotation });
    unit.audit_with("instance.modify", Some(&id), Some(&detail.to_string()))
        .await?;
    unit.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The engine's instructions for the API's.
pub(crate) fn modifications(instructions: &[ModificationInstruction]) -> Vec<Modification> {
    instructions
        .iter()
        .map(|i| match i.clone() {
            ModificationInstruction::Cancel { activity_id } => Modification::Cancel {
                element: activity_id,
            },
            ModificationInstruction::StartBeforeActivity { activity_id } => {
                Modification::StartBefore {
                    element: activity_id,
                }
            }
            ModificationInstruction::StartAfterActivity { activity_id } => {
                Modification::StartAfter {
                    element: activity_id,
                }
            }
        })
        .collect()
}

/// Variables someone who may operate an instance sets on it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetVariablesRequest {
    /// The variables (on the process scope), by name.
    #[schema(value_type = Object)]
    pub variables: Json_,
}

/// Sets process variables of a running instance (who may operate it): each
/// change is audited with its old and new value, and conditional events
/// see the new values at once.
#[utoipa::path(put, path = "/api/process-instances/{id}/variables", params(("id" = String, Path)), request_body = SetVariablesRequest, responses((status = 204), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn set_variables(
    State(state): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<SetVariablesRequest>,
) -> ApiResult<StatusCode> {
    let vars = variables(&Some(req.variables), "variables")?;
    if vars.is_empty() {
        return Err(ApiError::field("variables", "names no variable to set"));
    }
    authz::operable(&state, &p, &id, "variables.set").await?;
    let mut unit = state.store.begin(Utc::now(), Some(&p.user)).await?;
    let before = unit.instance(&id).await?.root_variables();
    unit.command(
        &id,
        Command::SetVariables {
            variables: vars.clone(),
        },
    )
    .await?;
    for (name, value) in &vars {
        let old = before.get(name).map_or(Json_::Null, |v| v.to_json());
        let detail = serde_json::json!({ "name": name, "old": old, "new": value.to_json() });
        unit.audit_with("variables.set", Some(&id), Some(&detail.to_string()))
            .await?;
    }
    unit.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

pub use millrace_api::{CommentIn, CommentOut};

/// Comments on an instance.
#[utoipa::path(get, path = "/api/process-instances/{id}/comments", params(("id" = String, Path)), responses((status = 200, body = [CommentOut])))]
pub async fn comments(
    State(state): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<CommentOut>>> {
    authz::readable(&state, &p, &id, "comments.read").await?;
    Ok(Json(
        state
            .store
            .comments(&id)
            .await?
            .into_iter()
            .map(|c| CommentOut {
                at: c.at,
                user: c.user_name,
                text: c.text,
            })
            .collect(),
    ))
}

/// Adds a comment to an instance.
#[utoipa::path(post, path = "/api/process-instances/{id}/comments", request_body = CommentIn, params(("id" = String, Path)), responses((status = 201), (status = 400, body = ErrorBody)))]
pub async fn add_comment(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(c): ApiJson<CommentIn>,
) -> ApiResult<StatusCode> {
    let text = c.text.trim();
    if text.is_empty() || text.len() > 10_000 {
        return Err(ApiError::field(
            "text",
            "a comment has 1 to 10000 characters",
        ));
    }
    authz::readable(&state, &principal, &id, "comment").await?;
    state
        .store
        .add_comment(&id, &principal.user, text, Utc::now())
        .await?;
    state
        .audit(Some(&principal.user), "comment", Some(&id), "ok")
        .await;
    Ok(StatusCode::CREATED)
}

// ----- tasks ---------------------------------------------------------------------------

/// Task filters and paging.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct TaskQuery {
    /// Only tasks assigned to this user.
    pub assignee: Option<String>,
    /// Only tasks offered to this group.
    pub candidate_group: Option<String>,
    /// Only tasks of this process.
    pub process_key: Option<String>,
    /// Only tasks of this instance.
    pub instance_id: Option<String>,
    /// Only tasks of requests whose number (business key, or else
    /// `requestId` variable) holds this text, in any case.
    pub request: Option<String>,
    /// Only tasks of requests whose status (`status` variable) holds this
    /// text, in any case.
    pub status: Option<String>,
    /// Only tasks of instances with this process variable (with `variableValue`).
    pub variable_name: Option<String>,
    /// The value `variableName` must hold, exactly.
    pub variable_value: Option<String>,
    /// Only tasks whose SLA (their own activity's or their request's) is
    /// `breached` now, or `onTrack`.
    pub sla: Option<String>,
    /// Page size (default 50, at most 500).
    pub limit: Option<i64>,
    /// Rows to skip.
    pub offset: Option<i64>,
}

/// How long task changes are gathered into one event: a burst of commits
/// (a batch of starts, say) makes one refresh, not hundreds.
const TASK_EVENT_GATHER: std::time::Duration = std::time::Duration::from_millis(200);

/// Server-sent events: `tasks` whenever tasks may have changed (arrived,
/// ended, claimed, handed over) on any node. The event carries nothing; the
/// reader asks `/api/tasks` again with its own rights.
#[utoipa::path(get, path = "/api/tasks/events", responses((status = 200, content_type = "text/event-stream", body = String)))]
pub async fn task_events(
    State(state): State<AppState>,
    _p: Principal,
) -> axum::response::sse::Sse<
    impl futures_util::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>,
> {
    use tokio::sync::broadcast::error::RecvError;
    let rx = state.store.task_events();
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        match rx.recv().await {
            Ok(()) | Err(RecvError::Lagged(_)) => {
                tokio::time::sleep(TASK_EVENT_GATHER).await;
                // What came meanwhile is in this one event.
                while let Ok(()) | Err(tokio::sync::broadcast::error::TryRecvError::Lagged(_)) =
                    rx.try_recv()
                {}
                let event = axum::response::sse::Event::default()
                    .event("tasks")
                    .data("changed");
                Some((Ok(event), rx))
            }
            Err(RecvError::Closed) => None,
        }
    });
    axum::response::sse::Sse::new(stream).keep_alive(axum::response::sse::KeepAlive::default())
}

/// A task as the API shows it.
pub fn task_out(t: TaskView) -> TaskOut {
    TaskOut {
        id: t.id,
        instance_id: t.instance_id,
        process_key: t.key,
        element_id: t.node_id,
        name: t.name,
        assignee: t.assignee,
        candidate_groups: t.candidate_groups,
        candidate_users: t.candidate_users,
        due: t.due,
        priority: t.priority,
        form: t.form,
        created_at: t.created_at,
        request: t.request,
        status: t.status,
        sla: crate::slas::task_sla(t.sla, chrono::Utc::now()),
    }
}

/// The tasks the caller may see: assigned to them, or offered to them or their groups.
#[utoipa::path(get, path = "/api/tasks", params(TaskQuery), responses((status = 200, body = [TaskOut])))]
pub async fn tasks(
    State(state): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<TaskQuery>,
) -> ApiResult<Json<Vec<TaskOut>>> {
    let (limit, offset) = page(q.limit, q.offset)?;
    let filter = TaskFilter {
        assignee: q.assignee,
        candidate_group: q.candidate_group,
        process_key: q.process_key,
        instance_id: q.instance_id,
        request: q.request.filter(|r| !r.trim().is_empty()),
        status: q.status.filter(|s| !s.trim().is_empty()),
        variable: variable_filter(&q.variable_name, &q.variable_value)?
            .map(|(n, v)| (n.to_string(), v.to_string())),
        sla: crate::slas::sla_filter(q.sla.as_deref(), chrono::Utc::now())?,
    };
    let rows = state
        .store
        .inbox(&p.user, &p.groups, &filter, limit, offset)
        .await?;
    Ok(Json(rows.into_iter().map(task_out).collect()))
}

/// The task, when `p` may see it (its assignee, a candidate user or a
/// member of a candidate group); otherwise 403, audited as `action`.
pub async fn visible_task(
    state: &AppState,
    p: &Principal,
    id: &str,
    action: &str,
) -> ApiResult<TaskView> {
    let task = match state.store.task(id).await {
        Ok(t) => t,
        Err(millrace_store::StoreError::NotFound(..)) => {
            // An id its instance once issued names a task that was completed or
            // cancelled meanwhile (someone was quicker): a conflict, not a typo.
            // Said only to one who may read the instance: to anyone else the
            // id names nothing.
            if let Some((instance, local)) = split_id(id) {
                if authz::may_read(state, p, instance).await? {
                    if let Ok(inst) = state.store.instance(instance).await {
                        if local <= inst.next_id {
                            return Err(ApiError::conflict(
                                "the task was completed or cancelled meanwhile",
                            ));
                        }
                    }
                }
            }
            return Err(ApiError::not_found(format!("no task {id:?}")));
        }
        Err(e) => return Err(e.into()),
    };
    if !task.visible_to(&p.user, &p.groups) {
        state.audit(Some(&p.user), action, Some(id), "denied").await;
        return Err(ApiError::forbidden(
            "the task is neither assigned nor offered to you or your groups",
        ));
    }
    Ok(task)
}

/// One task.
#[utoipa::path(get, path = "/api/tasks/{id}", params(("id" = String, Path)), responses((status = 200, body = TaskOut), (status = 403, body = ErrorBody)))]
pub async fn task(
    State(state): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<TaskOut>> {
    Ok(Json(task_out(
        visible_task(&state, &p, &id, "task.read").await?,
    )))
}

/// Claims a task.
#[utoipa::path(post, path = "/api/tasks/{id}/claim", params(("id" = String, Path)), responses((status = 204), (status = 409, body = ErrorBody)))]
pub async fn claim(
    State(state): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    visible_task(&state, &p, &id, "task.claim").await?;
    if !state.store.claim(&id, &p.user).await? {
        state
            .audit(Some(&p.user), "task.claim", Some(&id), "refused")
            .await;
        // Two claiming at once: the one who lost is told who won.
        let holder = state.store.task(&id).await.ok().and_then(|t| t.assignee);
        return Err(ApiError::conflict(match holder {
            Some(h) => format!("{h} has claimed the task"),
            None => "someone else has claimed the task".to_string(),
        }));
    }
    state
        .audit(Some(&p.user), "task.claim", Some(&id), "ok")
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Gives a claimed task back.
#[utoipa::path(post, path = "/api/tasks/{id}/unclaim", params(("id" = String, Path)), responses((status = 204), (status = 403, body = ErrorBody)))]
pub async fn unclaim(
    State(state): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let task = visible_task(&state, &p, &id, "task.unclaim").await?;
    if task.assignee.as_deref() != Some(&p.user) && p.role != Role::Admin {
        state
            .audit(Some(&p.user), "task.unclaim", Some(&id), "denied")
            .await;
        return Err(ApiError::forbidden(
            "only the assignee may give the task back",
        ));
    }
    state.store.assign(&id, None).await?;
    state
        .audit(Some(&p.user), "task.unclaim", Some(&id), "ok")
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Assignment request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// The user to assign, or null to clear.
    pub user: Option<String>,
}

/// Assigns a task to a user (administrators, or the current assignee handing it on).
#[utoipa::path(post, path = "/api/tasks/{id}/assign", request_body = AssignRequest, params(("id" = String, Path)), responses((status = 204), (status = 403, body = ErrorBody)))]
pub async fn assign(
    State(state): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<AssignRequest>,
) -> ApiResult<StatusCode> {
    let task = state.store.task(&id).await?;
    if p.role != Role::Admin && task.assignee.as_deref() != Some(&p.user) {
        state
            .audit(Some(&p.user), "task.assign", Some(&id), "denied")
            .await;
        return Err(ApiError::forbidden(
            "only an administrator or the assignee may assign the task",
        ));
    }
    if let Some(u) = &req.user {
        let Some(target) = state.store.user(u).await? else {
            return Err(ApiError::field("user", format!("no user {u:?}")));
        };
        // A task goes only to someone who may work it: a candidate (by name
        // or group); a task that names no candidates, to any person (not to a
        // system account, which works only what it is a candidate for).
        let open_to_all = task.candidate_users.is_empty() && task.candidate_groups.is_empty();
        let may_work = task.visible_to(&target.name, &target.groups)
            || (open_to_all && target.role != Role::System.as_str());
        if !may_work || target.disabled {
            state
                .audit(Some(&p.user), "task.assign", Some(&id), "refused")
                .await;
            return Err(ApiError::field(
                "user",
                format!("{u:?} may not work this task: they are not among its candidates"),
            ));
        }
    }
    state.store.assign(&id, req.user.as_deref()).await?;
    state
        .audit(Some(&p.user), "task.assign", Some(&id), "ok")
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Completion request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteRequest {
    /// The submitted variables (checked against the task's form).
    #[schema(value_type = Object)]
    pub variables: Option<Json_>,
}

/// What completing a task led to.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Completed {
    /// The caller's next task in the same instance, if the flow gave them one
    /// (the next step of a wizard).
    pub next_task: Option<TaskOut>,
}

/// Completes a task with the submitted variables, validated against its form on the server.
#[utoipa::path(post, path = "/api/tasks/{id}/complete", request_body = CompleteRequest, params(("id" = String, Path)),
    responses((status = 200, body = Completed), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn complete(
    State(state): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<CompleteRequest>,
) -> ApiResult<Json<Completed>> {
    let task = visible_task(&state, &p, &id, "task.complete").await?;
    if task.assignee.as_deref().is_some_and(|a| a != p.user) {
        state
            .audit(Some(&p.user), "task.complete", Some(&id), "denied")
            .await;
        return Err(ApiError::forbidden("the task is assigned to someone else"));
    }
    let vars = variables(&req.variables, "variables")?;
    let (key, version) = state.store.instance_version(&task.instance_id).await?;
    let def = state.store.definition(&key, version);
    if let Some(def) = &def {
        if let Some(ix) = def.node_ix(&task.node_id) {
            if let millrace_engine::definition::NodeKind::UserTask(spec) = &def.node(ix).kind {
                crate::forms::validate(&spec.form_fields, &vars)?;
                if let Some(form_ref) = &spec.form {
                    if let Some(form) = state.store.form(&key, version, form_ref).await? {
                        // Options from variables are checked against what the form was
                        // shown with, the instance's variables; only then are they read.
                        let shown = if form.contains("\"valuesKey\"") {
                            state
                                .store
                                .instance(&task.instance_id)
                                .await?
                                .root_variables()
                        } else {
                            millrace_engine::Variables::new()
                        };
                        let context = crate::forms::FormContext {
                            variables: &shown,
                            today: chrono::Utc::now().date_naive(),
                        };
                        crate::forms::validate_form_js(&form, &vars, &context)?;
                    }
                }
            }
        }
    }
    state
        .committer
        .submit(
            &p.user,
            millrace_store::Write::CompleteTask {
                task: id.clone(),
                variables: vars,
            },
        )
        .await?;
    state
        .metrics
        .tasks_completed
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if def.as_deref().is_some_and(calls_connectors) {
        run_connectors_now(&state, &task.instance_id).await;
    }
    // The next step of a wizard: a task the flow now gives the same person in this instance.
    let mut next = None;
    for other in state.store.task_ids_of(&task.instance_id).await? {
        let t = state.store.task(&other).await?;
        if t.visible_to(&p.user, &p.groups) {
            next = Some(task_out(t));
            break;
        }
    }
    Ok(Json(Completed { next_task: next }))
}

// ----- messages, signals, incidents -----------------------------------------------------

/// A message to correlate.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MessageRequest {
    /// The message name.
    pub name: String,
    /// Only an instance with this business key.
    pub business_key: Option<String>,
    /// Only this instance (a request view's quick action).
    pub process_instance_id: Option<String>,
    /// Only an instance whose process variables have these values.
    #[schema(value_type = Object)]
    pub correlation_keys: Option<Json_>,
    /// Variables delivered with it (set on the receiving instance).
    #[schema(value_type = Object)]
    pub variables: Option<Json_>,
    /// Answer 200 rather than 422 when nothing waits for the message.
    #[serde(default)]
    pub accept_no_match: bool,
    /// The sender's id for this message. A message whose id was already
    /// correlated changes nothing and answers as the first delivery did,
    /// with `duplicate: true`: senders that retry cannot deliver twice.
    pub message_id: Option<String>,
}

/// Where a message went.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Correlated {
    /// The instance that received it (none when unmatched and accepted).
    pub instance_id: Option<String>,
    /// True when this `messageId` was delivered before: nothing was done now.
    pub duplicate: bool,
}

/// Correlates a message by business key or variable values; a message start event starts a new instance.
#[utoipa::path(post, path = "/api/messages", request_body = MessageRequest, responses((status = 200, body = Correlated), (status = 422, body = ErrorBody)))]
pub async fn message(
    State(state): State<AppState>,
    p: Principal,
    ApiJson(req): ApiJson<MessageRequest>,
) -> ApiResult<Json<Correlated>> {
    let reach = authz::granted(&state, &p, Permission::Act).await?;
    bounded(Some(&req.name), "name", 200)?;
    bounded(req.business_key.as_deref(), "businessKey", 200)?;
    bounded(req.process_instance_id.as_deref(), "processInstanceId", 200)?;
    let keys = variables(&req.correlation_keys, "correlationKeys")?;
    let vars = payload(&req.variables, "variables")?;
    if req
        .message_id
        .as_ref()
        .is_some_and(|m| m.is_empty() || m.len() > 200)
    {
        return Err(ApiError::field("messageId", "must be 1 to 200 characters"));
    }
    if let Some(id) = &req.process_instance_id {
        check_message_form(&state, &p, id, &req.name, &vars).await?;
    }
    let done = state
        .committer
        .submit(
            &p.user,
            millrace_store::Write::Message {
                name: req.name.clone(),
                business_key: req.business_key.clone(),
                instance: req.process_instance_id.clone(),
                keys,
                variables: vars,
                message_id: req.message_id.clone(),
                accept_no_match: req.accept_no_match,
                reach,
            },
        )
        .await?;
    match done {
        millrace_store::Done::Correlated {
            instance,
            duplicate: true,
        } => {
            // Which instance took it is told only to one who may read that instance.
            let instance_id = match instance {
                Some(i) if authz::may_read(&state, &p, &i).await? => Some(i),
                _ => None,
            };
            Ok(Json(Correlated {
                instance_id,
                duplicate: true,
            }))
        }
        millrace_store::Done::Correlated { instance, .. } => Ok(Json(Correlated {
            instance_id: instance,
            duplicate: false,
        })),
        millrace_store::Done::Unmatched { withheld } => {
            if withheld {
                state
                    .audit(Some(&p.user), "message", Some(&req.name), "denied")
                    .await;
            }
            Err(no_match(&req.name))
        }
        _ => Err(ApiError::internal("the message answered no delivery")),
    }
}

/// Checks a message sent to one instance against the form the element
/// waiting for it declares (a quick action's), as a task's completion is
/// checked against the task's form. An instance the sender may not read is
/// left for the delivery to answer, so this tells nothing about it.
async fn check_message_form(
    state: &AppState,
    p: &Principal,
    instance_id: &str,
    message: &str,
    vars: &Variables,
) -> ApiResult<()> {
    if !authz::may_read(state, p, instance_id).await? {
        return Ok(());
    }
    let Ok(inst) = state.store.instance(instance_id).await else {
        return Ok(());
    };
    let Some(def) = state.store.definition(&inst.key, inst.version) else {
        return Ok(());
    };
    let waiting = inst.subscriptions.values().find_map(|sub| match &sub.kind {
        SubscriptionKind::Message(name) if name == message => def.message_forms.get(&sub.node),
        _ => None,
    });
    match waiting {
        Some(form) => {
            crate::forms::validate_event_form(state, &def, form, vars, &inst.root_variables()).await
        }
        None => Ok(()),
    }
}

/// The answer when nothing (that the sender may act on) waits for a message:
/// the same whether something else waits or not.
fn no_match(name: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "no_match",
        format!("nothing waits for the message {name:?} with these keys"),
    )
}

/// A signal to broadcast.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignalRequest {
    /// The signal name.
    pub name: String,
    /// Variables delivered with it.
    #[schema(value_type = Object)]
    pub variables: Option<Json_>,
}

/// How many subscriptions caught a signal.
#[derive(Debug, Serialize, ToSchema)]
pub struct Signalled {
    /// The count.
    pub delivered: usize,
}

/// Broadcasts a signal to every subscription of that name.
#[utoipa::path(post, path = "/api/signals", request_body = SignalRequest, responses((status = 200, body = Signalled)))]
pub async fn signal(
    State(state): State<AppState>,
    p: Principal,
    ApiJson(req): ApiJson<SignalRequest>,
) -> ApiResult<Json<Signalled>> {
    let reach = authz::granted(&state, &p, Permission::Act).await?;
    bounded(Some(&req.name), "name", 200)?;
    let vars = payload(&req.variables, "variables")?;
    let done = state
        .committer
        .submit(
            &p.user,
            millrace_store::Write::Signal {
                name: req.name.clone(),
                variables: vars,
                reach,
            },
        )
        .await?;
    let millrace_store::Done::Signalled {
        delivered,
        withheld,
    } = done
    else {
        return Err(ApiError::internal("the signal answered no count"));
    };
    if withheld {
        // Delivered to what the sender may act on; the rest did not hear it.
        state
            .audit(Some(&p.user), "signal", Some(&req.name), "denied")
            .await;
    }
    Ok(Json(Signalled { delivered }))
}

/// A query or body field's text, trimmed; `None` when absent or blank.
pub(crate) fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// Which incidents to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IncidentQuery {
    /// Only this instance's.
    pub instance_id: Option<String>,
    /// Only this process's.
    pub process_key: Option<String>,
    /// Only those at this element.
    pub element_id: Option<String>,
    /// Only those whose error holds this text, in any case.
    pub message: Option<String>,
}

fn incident_out(i: millrace_store::IncidentRow) -> IncidentOut {
    IncidentOut {
        id: i.id,
        instance_id: i.instance_id,
        element_id: i.node_id,
        message: i.message,
        process_key: i.key,
        created_at: i.created_at,
    }
}

/// Open incidents, oldest first (of one instance, with `instanceId`).
#[utoipa::path(get, path = "/api/incidents", params(IncidentQuery), responses((status = 200, body = [IncidentOut])))]
pub async fn incidents(
    State(state): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<IncidentQuery>,
) -> ApiResult<Json<Vec<IncidentOut>>> {
    if let Some(instance) = &q.instance_id {
        authz::readable(&state, &p, instance, "instance.read").await?;
        let rows = state.store.incidents(Some(instance), 500).await?;
        // One instance's incidents are few: the other filters apply here.
        let message = given(&q.message).map(str::to_lowercase);
        return Ok(Json(
            rows.into_iter()
                .filter(|i| given(&q.process_key).is_none_or(|k| i.key == k))
                .filter(|i| given(&q.element_id).is_none_or(|e| i.node_id == e))
                .filter(|i| {
                    message
                        .as_deref()
                        .is_none_or(|m| i.message.to_lowercase().contains(m))
                })
                .map(incident_out)
                .collect(),
        ));
    }
    let keys = authz::granted(&state, &p, Permission::Read).await?;
    let reader = millrace_store::Reader {
        user: &p.user,
        groups: &p.groups,
        keys: &keys,
    };
    Ok(Json(
        state
            .store
            .readable_incidents(
                &reader,
                &millrace_store::IncidentSearch {
                    key: given(&q.process_key),
                    element: given(&q.element_id),
                    message: given(&q.message),
                },
                500,
            )
            .await?
            .into_iter()
            .map(incident_out)
            .collect(),
    ))
}

/// Retries the work an incident stopped (administrators), and says how it
/// went: resolved, or failed again with the new incident and its error.
#[utoipa::path(post, path = "/api/incidents/{id}/retry", params(("id" = String, Path)), responses((status = 200, body = RetryOutcome), (status = 404, body = ErrorBody)))]
pub async fn retry(
    State(state): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<RetryOutcome>> {
    let (instance, _) =
        split_id(&id).ok_or_else(|| ApiError::not_found(format!("no incident {id:?}")))?;
    authz::operable(&state, &p, instance, "retry").await?;
    let before = state.store.incidents(Some(instance), 10_000).await?;
    let node = before
        .iter()
        .find(|i| i.id == id)
        .map(|i| i.node_id.clone())
        .ok_or_else(|| ApiError::not_found(format!("no open incident {id:?}")))?;
    state
        .committer
        .submit(
            &p.user,
            millrace_store::Write::Retry {
                incident: id.clone(),
            },
        )
        .await?;
    // An incident at the same element that was not there before: the retry
    // met an error again.
    let again = state
        .store
        .incidents(Some(instance), 10_000)
        .await?
        .into_iter()
        .find(|i| i.node_id == node && !before.iter().any(|b| b.id == i.id));
    Ok(Json(RetryOutcome {
        outcome: if again.is_some() {
            "failed"
        } else {
            "resolved"
        }
        .into(),
        incident: again.map(incident_out),
    }))
}

// ----- reference data -----------------------------------------------------------------------

/// The most rows one change of reference data takes.
const REFERENCE_ROWS_MAX: usize = 500;

/// The reference-data tables administrators edit, with their columns.
#[utoipa::path(get, path = "/api/reference",
    responses((status = 200, body = [ReferenceTable]), (status = 403, body = ErrorBody)))]
pub async fn reference_tables(
    State(state): State<AppState>,
    p: Principal,
) -> ApiResult<Json<Vec<ReferenceTable>>> {
    p.require(&state, "read reference data", &[Role::Admin])
        .await?;
    let strings = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
    Ok(Json(
        millrace_store::reference::EDITABLE
            .iter()
            .map(|t| ReferenceTable {
                table: t.name.to_string(),
                label: t.label.to_string(),
                keys: strings(t.keys),
                columns: strings(t.columns),
            })
            .collect(),
    ))
}

/// The rows of a reference-data table administrators edit (the processes'
/// settings: `disconnection_reasons`, `time_slots`, `checklist_items`,
/// `sla_targets`, `utility_settings`, `holidays`).
#[utoipa::path(get, path = "/api/reference/{table}", params(("table" = String, Path)),
    responses((status = 200, body = [Object]), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn reference_table(
    State(state): State<AppState>,
    p: Principal,
    ApiPath(table): ApiPath<String>,
) -> ApiResult<Json<Vec<serde_json::Map<String, serde_json::Value>>>> {
    p.require(&state, "read reference data", &[Role::Admin])
        .await?;
    Ok(Json(state.store.reference_table(&table).await?))
}

/// Adds or changes rows of a reference-data table (administrators; audited
/// with the rows): a reason's priority or approval amount, a time slot, a
/// checklist item, an SLA target, a setting. New requests read them.
#[utoipa::path(put, path = "/api/reference/{table}", request_body = ReferenceRows, params(("table" = String, Path)),
    responses((status = 200, body = ReferenceChanged), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn put_reference_rows(
    State(state): State<AppState>,
    p: Principal,
    ApiPath(table): ApiPath<String>,
    ApiJson(req): ApiJson<ReferenceRows>,
) -> ApiResult<Json<ReferenceChanged>> {
    p.require(&state, "change reference data", &[Role::Admin])
        .await?;
    if req.rows.is_empty() || req.rows.len() > REFERENCE_ROWS_MAX {
        return Err(ApiError::field(
            "rows",
            format!("give 1 to {REFERENCE_ROWS_MAX} rows"),
        ));
    }
    let changed = state
        .store
        .put_reference_rows(&table, &req.rows, &p.user, chrono::Utc::now())
        .await?;
    Ok(Json(ReferenceChanged { changed }))
}

// ----- users and audit ---------------------------------------------------------------------

/// Users (administrators).
#[utoipa::path(get, path = "/api/users", responses((status = 200, body = [UserOut])))]
pub async fn users(State(state): State<AppState>, p: Principal) -> ApiResult<Json<Vec<UserOut>>> {
    p.require(&state, "list users", &[Role::Admin]).await?;
    Ok(Json(
        state
            .store
            .users()
            .await?
            .into_iter()
            .map(|u| UserOut {
                name: u.name,
                role: u.role,
                groups: u.groups,
                disabled: u.disabled,
            })
            .collect(),
    ))
}

/// Creates or updates a user (administrators).
#[utoipa::path(post, path = "/api/users", request_body = UserIn, responses((status = 204), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn put_user(
    State(state): State<AppState>,
    p: Principal,
    ApiJson(u): ApiJson<UserIn>,
) -> ApiResult<StatusCode> {
    p.require(&state, "manage users", &[Role::Admin]).await?;
    if u.name.trim().is_empty() || u.name.len() > 100 || u.name.contains(char::is_whitespace) {
        return Err(ApiError::field(
            "name",
            "1 to 100 characters without spaces",
        ));
    }
    if Role::parse(&u.role).is_none() {
        return Err(ApiError::field(
            "role",
            "must be admin, analyst, staff or system",
        ));
    }
    let existing = state.store.user(&u.name).await?;
    // An administrator cannot lock themselves out: another one must do it.
    if u.name == p.user && (u.role != "admin" || u.disabled == Some(true)) {
        return Err(ApiError::conflict(
            "you cannot change your own role or disable yourself",
        ));
    }
    let hash = match (&u.password, &existing) {
        (Some(password), _) if password.chars().count() < 10 => {
            return Err(ApiError::field("password", "at least 10 characters"));
        }
        (Some(password), _) => Some(auth::hash_password(password)?),
        (None, Some(_)) => None,
        (None, None) => {
            return Err(ApiError::field(
                "password",
                "a new user needs a password of at least 10 characters",
            ))
        }
    };
    for g in &u.groups {
        if g.trim().is_empty() || g.len() > 100 || g.contains(char::is_whitespace) {
            return Err(ApiError::field(
                "groups",
                format!("{g:?}: a group is 1 to 100 characters without spaces"),
            ));
        }
    }
    let disabled = u
        .disabled
        .unwrap_or_else(|| existing.as_ref().is_some_and(|e| e.disabled));
    state
        .store
        .put_user(
            &u.name,
            hash.as_deref(),
            &u.role,
            &u.groups,
            disabled,
            Utc::now(),
        )
        .await?;
    // Their sessions ended with the change; resolved API tokens are forgotten too.
    state.tokens.clear();
    state
        .audit(Some(&p.user), "user.put", Some(&u.name), "ok")
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// An audit entry.
/// Removes a user: their sessions and API tokens end at once (administrators).
#[utoipa::path(delete, path = "/api/users/{name}", params(("name" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn remove_user(
    State(state): State<AppState>,
    p: Principal,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<StatusCode> {
    p.require(&state, "manage users", &[Role::Admin]).await?;
    if name == p.user {
        return Err(ApiError::conflict("you cannot remove yourself"));
    }
    if !state.store.remove_user(&name).await? {
        return Err(ApiError::not_found(format!("no user {name:?}")));
    }
    state.tokens.clear();
    state
        .audit(Some(&p.user), "user.remove", Some(&name), "ok")
        .await;
    Ok(StatusCode::NO_CONTENT)
}

// ----- grants ----------------------------------------------------------------------------

/// A permission on a process's instances given to a group or a user.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct GrantIn {
    /// The process key, or `*` for every process.
    pub key: String,
    /// `start`, `read`, `act` or `operate`.
    pub permission: String,
    /// The group it is given to (exactly one of `group` and `user`).
    #[serde(default)]
    pub group: Option<String>,
    /// The user it is given to.
    #[serde(default)]
    pub user: Option<String>,
}

/// A grant as listed.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GrantOut {
    /// The process key, or `*`.
    pub key: String,
    /// `start`, `read`, `act` or `operate`.
    pub permission: String,
    /// The group, when given to a group.
    pub group: Option<String>,
    /// The user, when given to a user.
    pub user: Option<String>,
    /// Who gave it.
    pub granted_by: Option<String>,
    /// When.
    pub granted_at: String,
}

impl GrantIn {
    fn checked(&self) -> ApiResult<millrace_store::Grant> {
        if authz::Permission::parse(&self.permission).is_none() {
            return Err(ApiError::field(
                "permission",
                "must be start, read, act or operate",
            ));
        }
        if self.key.trim().is_empty() || self.key.len() > 200 {
            return Err(ApiError::field(
                "key",
                "a process key (1 to 200 characters) or *",
            ));
        }
        let (kind, name) = match (&self.group, &self.user) {
            (Some(g), None) => ("group", g),
            (None, Some(u)) => ("user", u),
            _ => {
                return Err(ApiError::field(
                    "group",
                    "give exactly one of group and user",
                ))
            }
        };
        if name.trim().is_empty() || name.len() > 200 {
            return Err(ApiError::field(kind, "1 to 200 characters"));
        }
        Ok(millrace_store::Grant {
            key: self.key.clone(),
            permission: self.permission.clone(),
            kind: kind.to_string(),
            name: name.clone(),
            granted_by: None,
            granted_at: String::new(),
        })
    }
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct GrantQuery {
    /// Only the grants on this process key.
    pub key: Option<String>,
}

/// The grants (administrators).
#[utoipa::path(get, path = "/api/grants", params(GrantQuery), responses((status = 200, body = [GrantOut]), (status = 403, body = ErrorBody)))]
pub async fn grants(
    State(state): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<GrantQuery>,
) -> ApiResult<Json<Vec<GrantOut>>> {
    p.require(&state, "read grants", &[Role::Admin]).await?;
    Ok(Json(
        state
            .store
            .grants(q.key.as_deref())
            .await?
            .into_iter()
            .map(|g| {
                let group = g.kind == "group";
                GrantOut {
                    key: g.key,
                    permission: g.permission,
                    group: group.then(|| g.name.clone()),
                    user: (!group).then_some(g.name),
                    granted_by: g.granted_by,
                    granted_at: g.granted_at,
                }
            })
            .collect(),
    ))
}

/// Gives a permission to a group or a user (administrators; audited).
#[utoipa::path(post, path = "/api/grants", request_body = GrantIn, responses((status = 201), (status = 200), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn add_grant(
    State(state): State<AppState>,
    p: Principal,
    ApiJson(g): ApiJson<GrantIn>,
) -> ApiResult<StatusCode> {
    p.require(&state, "change grants", &[Role::Admin]).await?;
    let grant = g.checked()?;
    let added = state.store.add_grant(&grant, &p.user, Utc::now()).await?;
    Ok(if added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    })
}

/// Takes a permission back (administrators; audited).
#[utoipa::path(delete, path = "/api/grants", params(GrantIn), responses((status = 204), (status = 404, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn remove_grant(
    State(state): State<AppState>,
    p: Principal,
    ApiQuery(g): ApiQuery<GrantIn>,
) -> ApiResult<StatusCode> {
    p.require(&state, "change grants", &[Role::Admin]).await?;
    let grant = g.checked()?;
    if !state
        .store
        .remove_grant(&grant, &p.user, Utc::now())
        .await?
    {
        return Err(ApiError::not_found("no such grant"));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Which audit entries `/api/audit` answers.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only this user's.
    pub actor: Option<String>,
    /// Only this action (`instance.modify`, `login`, …).
    pub action: Option<String>,
    /// Only on this target (an instance id, a user, `key vN`).
    pub target: Option<String>,
    /// Only `ok`, `denied`, `refused` or `rate-limited`.
    pub outcome: Option<String>,
    /// From this day on, `YYYY-MM-DD`.
    pub from: Option<String>,
    /// Up to this day, inclusive, `YYYY-MM-DD`.
    pub to: Option<String>,
    /// At most this many, newest first (1 to 5000; default 500).
    pub limit: Option<i64>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// The audit trail, newest first, filtered as the query says, as JSON or
/// CSV (administrators).
#[utoipa::path(get, path = "/api/audit", params(AuditQuery), responses((status = 200, body = [AuditOut]), (status = 400, body = ErrorBody)))]
pub async fn audit(
    State(state): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Response> {
    p.require(&state, "read the audit", &[Role::Admin]).await?;
    let limit = q.limit.unwrap_or(500);
    if !(1..=5000).contains(&limit) {
        return Err(ApiError::field("limit", "must be 1 to 5000"));
    }
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::field(
                "format",
                format!("{other:?} is not a format: json or csv"),
            ))
        }
    };
    let filter = millrace_store::AuditFilter {
        actor: given(&q.actor).map(str::to_string),
        action: given(&q.action).map(str::to_string),
        target: given(&q.target).map(str::to_string),
        outcome: given(&q.outcome).map(str::to_string),
        from: query_day("from", q.from.as_deref(), false)?,
        to: query_day("to", q.to.as_deref(), true)?,
        limit,
    };
    let entries: Vec<AuditOut> = state
        .store
        .audit_search(&filter)
        .await?
        .into_iter()
        .map(|a| AuditOut {
            at: a.at,
            actor: a.actor,
            action: a.action,
            target: a.target,
            outcome: a.outcome,
            detail: a.detail,
        })
        .collect();
    if !csv {
        return Ok(Json(entries).into_response());
    }
    let broken = |e: csv::Error| ApiError::internal(format!("writing the CSV: {e}"));
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(["at", "actor", "action", "target", "outcome", "detail"])
        .map_err(broken)?;
    for a in &entries {
        out.write_record(
            [
                a.at.as_str(),
                a.actor.as_deref().unwrap_or(""),
                a.action.as_str(),
                a.target.as_deref().unwrap_or(""),
                a.outcome.as_str(),
                a.detail.as_deref().unwrap_or(""),
            ]
            .map(crate::reports::spreadsheet_safe),
        )
        .map_err(broken)?;
    }
    let body = out
        .into_inner()
        .map_err(|e| ApiError::internal(format!("writing the CSV: {e}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"audit.csv\"",
            ),
        ],
        body,
    )
        .into_response())
}

/// A stored mail as the API shows it.
fn mail_out(m: millrace_store::OutboxMail) -> MailOut {
    MailOut {
        id: m.id,
        instance_id: m.instance_id,
        to: m.recipients,
        subject: m.subject,
        body: m.body,
        attempts: m.attempts,
        sent_at: m.sent_at,
        last_error: m.last_error,
        attachments: m.attachments,
    }
}

/// The newest 500 mails, sent or waiting (administrators).
#[utoipa::path(get, path = "/api/outbox", responses((status = 200, body = [MailOut])))]
pub async fn outbox(State(state): State<AppState>, p: Principal) -> ApiResult<Json<Vec<MailOut>>> {
    p.require(&state, "read the outbox", &[Role::Admin]).await?;
    Ok(Json(
        state
            .store
            .outbox(500)
            .await?
            .into_iter()
            .map(mail_out)
            .collect(),
    ))
}

/// The mail an instance sent (newest 200), each with its delivery state:
/// what its request view's Communication tab lists.
#[utoipa::path(get, path = "/api/process-instances/{id}/mail", params(("id" = String, Path)),
    responses((status = 200, body = [MailOut]), (status = 404, body = ErrorBody)))]
pub async fn instance_mail(
    State(state): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<MailOut>>> {
    authz::readable(&state, &p, &id, "instance.mail").await?;
    Ok(Json(
        state
            .store
            .mail_of(&id, 200)
            .await?
            .into_iter()
            .map(mail_out)
            .collect(),
    ))
}

// ----- external tasks ------------------------------------------------------------------------

/// A fetch-and-lock request from an external worker.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FetchAndLock {
    /// The worker's id: it must hold the lock to complete.
    pub worker_id: String,
    /// The topic to work.
    pub topic: String,
    /// How long the lock holds, in milliseconds (1 to 3,600,000).
    pub lock_duration: u64,
    /// Most tasks to lock (1 to 100).
    pub max_tasks: i64,
}

/// A locked external task.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalTaskOut {
    /// Id.
    pub id: String,
    /// Instance.
    pub instance_id: String,
    /// Topic.
    pub topic: String,
    /// The instance's variables.
    #[schema(value_type = Object)]
    pub variables: Json_,
    /// Retries left.
    pub retries: i64,
    /// When the lock ends.
    pub lock_expires: String,
}

/// Locks external tasks of a topic for a worker.
#[utoipa::path(post, path = "/api/external-tasks/fetch-and-lock", request_body = FetchAndLock, responses((status = 200, body = [ExternalTaskOut])))]
pub async fn fetch_and_lock(
    State(state): State<AppState>,
    p: Principal,
    ApiJson(req): ApiJson<FetchAndLock>,
) -> ApiResult<Json<Vec<ExternalTaskOut>>> {
    p.require(&state, "work external tasks", &[Role::Admin, Role::System])
        .await?;
    if !(1..=3_600_000).contains(&req.lock_duration) {
        return Err(ApiError::field(
            "lockDuration",
            "between 1 and 3600000 milliseconds",
        ));
    }
    if !(1..=100).contains(&req.max_tasks) {
        return Err(ApiError::field("maxTasks", "between 1 and 100"));
    }
    let locked = state
        .store
        .fetch_and_lock(
            &req.worker_id,
            &req.topic,
            std::time::Duration::from_millis(req.lock_duration),
            req.max_tasks,
            Utc::now(),
        )
        .await?;
    Ok(Json(
        locked
            .into_iter()
            .map(|t| ExternalTaskOut {
                id: t.id,
                instance_id: t.instance_id,
                topic: t.topic,
                variables: variables_to_json(&t.variables),
                retries: t.retries,
                lock_expires: t.lock_expires,
            })
            .collect(),
    ))
}

/// An external worker's result.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExternalComplete {
    /// The worker that holds the lock.
    pub worker_id: String,
    /// Variables to set.
    #[schema(value_type = Object)]
    pub variables: Option<Json_>,
}

/// Completes an external task; a worker whose lock expired or was taken gets 409.
#[utoipa::path(post, path = "/api/external-tasks/{id}/complete", request_body = ExternalComplete, params(("id" = String, Path)), responses((status = 204), (status = 409, body = ErrorBody)))]
pub async fn external_complete(
    State(state): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<ExternalComplete>,
) -> ApiResult<StatusCode> {
    p.require(&state, "work external tasks", &[Role::Admin, Role::System])
        .await?;
    let vars = variables(&req.variables, "variables")?;
    state
        .store
        .complete_external_task(&id, &req.worker_id, vars, Utc::now())
        .await?;
    state
        .audit(Some(&p.user), "external.complete", Some(&id), "ok")
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// An external worker's failure.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExternalFailure {
    /// The worker that holds the lock.
    pub worker_id: String,
    /// What went wrong.
    pub error_message: String,
    /// Retries left; 0 raises an incident.
    pub retries: i64,
    /// Milliseconds before the task is offered again.
    #[serde(default)]
    pub retry_timeout: u64,
}

/// Reports a failure: the task is offered again later, or becomes an incident at 0 retries.
#[utoipa::path(post, path = "/api/external-tasks/{id}/failure", request_body = ExternalFailure, params(("id" = String, Path)), responses((status = 204), (status = 409, body = ErrorBody)))]
pub async fn external_failure(
    State(state): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<ExternalFailure>,
) -> ApiResult<StatusCode> {
    p.require(&state, "work external tasks", &[Role::Admin, Role::System])
        .await?;
    if req.retries < 0 {
        return Err(ApiError::field("retries", "must not be negative"));
    }
    state
        .store
        .fail_external_task(
            &id,
            &req.worker_id,
            &req.error_message,
            req.retries,
            std::time::Duration::from_millis(req.retry_timeout),
            Utc::now(),
        )
        .await?;
    state
        .audit(Some(&p.user), "external.failure", Some(&id), "ok")
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Whether a definition has connector tasks (whose calls are jobs).
fn calls_connectors(def: &millrace_engine::ProcessDefinition) -> bool {
    def.nodes.iter().any(|n| {
        matches!(
            n.kind,
            millrace_engine::definition::NodeKind::Connector { .. }
        )
    })
}

/// Runs an instance's due connector calls before answering, so the task
/// they lead to is there for the person's next step; a failure here is left
/// to the worker, which makes the same calls.
async fn run_connectors_now(state: &AppState, instance: &str) {
    let owner = format!("{}-request", state.node_id);
    if let Err(e) = state
        .store
        .run_connectors_of(instance, &owner, chrono::Utc::now(), 32)
        .await
    {
        tracing::warn!(%instance, error = %e, "running connector calls at once failed; the worker will");
    }
}
