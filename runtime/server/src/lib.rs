//! The composition root: the HTTP API (axum), sign-in and permissions, the
//! OpenAPI document, metrics and health, and the job worker, over one store.
//! `router(state)` is what tests call in-process; `serve` is `millrace serve`.

pub mod admin;
pub mod api;
pub mod attachments;
pub mod auth;
pub mod authz;
pub mod batches;
pub mod documents;
pub mod drafts;
pub mod error;
pub mod filters;
pub mod forms;
pub mod heatmap;
pub mod listen;
pub mod mail;
mod openapi;
pub mod recorder;
pub mod reports;
pub mod requests;
mod serve;
pub mod slas;
pub mod web;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use chrono::Utc;
use millrace_store::Store;
use serde::de::DeserializeOwned;

pub use serve::{serve, ServeConfig, ServeError};

use crate::error::ApiError;

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Instances started through the API.
    pub instances_started: AtomicU64,
    /// Tasks completed through the API.
    pub tasks_completed: AtomicU64,
    /// HTTP requests served.
    pub requests: AtomicU64,
    /// Their total latency, in microseconds.
    pub request_micros: AtomicU64,
    /// Responses with a 5xx status.
    pub server_errors: AtomicU64,
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The store.
    pub store: Arc<Store>,
    /// Failed sign-ins.
    pub limiter: Arc<auth::LoginThrottle>,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// This node's id (logs, metrics, job leases).
    pub node_id: Arc<str>,
    /// Group commit for starts and task completions.
    pub committer: millrace_store::Committer,
    /// Recently resolved API tokens.
    pub tokens: Arc<auth::TokenCache>,
    /// This node's job worker's outcomes.
    pub jobs: Arc<millrace_store::JobCounters>,
    /// The processes folder, where the scenario tests the designer runs live.
    pub processes: Option<Arc<std::path::Path>>,
    /// `/health`'s last write probe: when, and what it found.
    pub write_probe: Arc<std::sync::Mutex<Option<WriteProbe>>>,
}

impl AppState {
    /// State over a store; spawns the group-commit writer on the current runtime.
    pub fn new(store: Arc<Store>, node_id: &str) -> Self {
        AppState {
            committer: millrace_store::Committer::spawn(store.clone()),
            tokens: Arc::new(auth::TokenCache::default()),
            store,
            limiter: Arc::new(auth::LoginThrottle::default()),
            metrics: Arc::new(Metrics::default()),
            node_id: node_id.into(),
            jobs: Arc::default(),
            processes: None,
            write_probe: Arc::default(),
        }
    }

    /// The same state, with the processes folder whose scenario tests the designer runs.
    pub fn with_processes(mut self, dir: &std::path::Path) -> Self {
        self.processes = Some(dir.into());
        self
    }

    /// Records an action or denial; a failure to record is logged, never hidden.
    pub async fn audit(
        &self,
        actor: Option<&str>,
        action: &str,
        target: Option<&str>,
        outcome: &str,
    ) {
        if let Err(e) = self
            .store
            .audit(actor, action, target, outcome, None, Utc::now())
            .await
        {
            tracing::error!(error = %e, action, "the audit entry could not be written");
        }
    }
}

/// JSON body extractor whose rejections are JSON errors naming the problem.
/// Every body is bounded before it is read into its type: at most
/// [`MAX_BODY_DEPTH`] arrays and objects deep, and no NUL characters in any
/// text or key (a NUL cannot be stored in PostgreSQL text, and has no business
/// in a name or a business key).
pub struct ApiJson<T>(pub T);

/// How deep a request body may nest (variables inside it have their own,
/// lower limit, [`millrace_engine::value::MAX_DEPTH`]).
pub const MAX_BODY_DEPTH: usize = 40;

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let value = match Json::<serde_json::Value>::from_request(req, state).await {
            Ok(Json(v)) => v,
            Err(rejection) => return Err(json_rejection(rejection)),
        };
        check_body(&value, "body", 0)?;
        serde_json::from_value::<T>(value)
            .map(ApiJson)
            .map_err(|e| serde_rejection(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))
    }
}

/// Refuses a body deeper than [`MAX_BODY_DEPTH`] or with a NUL character,
/// naming where.
fn check_body(v: &serde_json::Value, path: &str, depth: usize) -> Result<(), ApiError> {
    use serde_json::Value as J;
    match v {
        J::String(s) if s.contains('\0') => Err(ApiError::field(
            path,
            "a text must not contain a NUL character",
        )),
        J::Array(_) | J::Object(_) if depth >= MAX_BODY_DEPTH => Err(ApiError::field(
            path,
            format!("the body nests more than {MAX_BODY_DEPTH} arrays and objects deep"),
        )),
        J::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, x)| check_body(x, &format!("{path}[{i}]"), depth + 1)),
        J::Object(map) => map.iter().try_for_each(|(k, x)| {
            let inner = if path == "body" {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            if k.contains('\0') {
                return Err(ApiError::field(
                    &inner,
                    "a key must not contain a NUL character",
                ));
            }
            check_body(x, &inner, depth + 1)
        }),
        _ => Ok(()),
    }
}

fn json_rejection(r: JsonRejection) -> ApiError {
    serde_rejection(r.status(), r.body_text())
}

fn serde_rejection(status: StatusCode, text: String) -> ApiError {
    // serde names the field in its message (`unknown field `x``, `missing field `y``).
    let field = text
        .split('`')
        .nth(1)
        .filter(|_| text.contains("field"))
        .unwrap_or("body")
        .to_string();
    let mut e = ApiError::new(status, "invalid", text);
    e.body.field = Some(field);
    e
}

/// Query-string extractor with JSON errors.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|r: QueryRejection| {
                let mut e = ApiError::new(StatusCode::BAD_REQUEST, "invalid", r.body_text());
                e.body.field = Some("query".into());
                e
            })
    }
}

/// Path extractor with JSON errors.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|r: PathRejection| {
                let mut e = ApiError::new(StatusCode::BAD_REQUEST, "invalid", r.body_text());
                e.body.field = Some("path".into());
                e
            })
    }
}

async fn measure(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let response = next.run(req).await;
    let micros = started.elapsed().as_micros() as u64;
    state.metrics.requests.fetch_add(1, Ordering::Relaxed);
    state
        .metrics
        .request_micros
        .fetch_add(micros, Ordering::Relaxed);
    if response.status().is_server_error() {
        state.metrics.server_errors.fetch_add(1, Ordering::Relaxed);
    }
    tracing::info!(node = %state.node_id, %method, %path, status = response.status().as_u16(), micros, "request");
    response
}

/// When `/health` last probed a write, and what it found.
pub type WriteProbe = (Instant, Result<(), String>);

/// How long a client has to send a request's body.
pub const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// How long `/health` trusts its last write probe: a load balancer asking
/// every second costs at most one small write a second.
const HEALTH_PROBE_TTL: std::time::Duration = std::time::Duration::from_secs(1);

/// The free space an SQLite database's disk must keep for `/health` to say
/// ok: a write that fails for want of it is refused, but one small probe
/// could still fit into space the database already holds.
const DISK_FREE_MIN: u64 = 1024 * 1024;

/// `/health`: 200 when the database answers reads and takes writes (a small
/// write probe, at most one per [`HEALTH_PROBE_TTL`]; for SQLite, at least
/// [`DISK_FREE_MIN`] free on its disk); otherwise 503 and why.
async fn health(State(state): State<AppState>) -> Response {
    let unavailable = |reason: String| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "status": "unavailable", "node": &*state.node_id, "reason": reason })),
        )
            .into_response()
    };
    if let Err(e) = state.store.pending_jobs().await {
        return unavailable(format!("the database cannot be read: {e}"));
    }
    if let Some(free) = state.store.disk_free().filter(|f| *f < DISK_FREE_MIN) {
        return unavailable(format!(
            "the database cannot be written to safely: its disk has {free} bytes free (at least {DISK_FREE_MIN} are wanted)"
        ));
    }
    let cached = state
        .write_probe
        .lock()
        .ok()
        .and_then(|p| p.clone())
        .filter(|(at, _)| at.elapsed() < HEALTH_PROBE_TTL);
    let outcome = match cached {
        Some((_, outcome)) => outcome,
        None => {
            let outcome = state
                .store
                .probe_write(&state.node_id, Utc::now())
                .await
                .map_err(|e| e.to_string());
            if let Ok(mut p) = state.write_probe.lock() {
                *p = Some((Instant::now(), outcome.clone()));
            }
            outcome
        }
    };
    match outcome {
        Ok(()) => {
            Json(serde_json::json!({ "status": "ok", "node": &*state.node_id })).into_response()
        }
        Err(e) => unavailable(format!("the database cannot be written to: {e}")),
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    let m = &state.metrics;
    let lag = state.store.job_lag_seconds(Utc::now()).await.unwrap_or(0.0);
    // Whole-database figures: every node reports the same, unlike the per-node counters.
    let counts = state.store.counts().await.unwrap_or_default();
    let incidents = counts.incidents_open;
    let node = &state.node_id;
    let text = format!(
        "# HELP millrace_instances_started_total Instances started through the API.\n\
         # TYPE millrace_instances_started_total counter\nmillrace_instances_started_total{{node=\"{node}\"}} {}\n\
         # HELP millrace_tasks_completed_total Tasks completed through the API.\n\
         # TYPE millrace_tasks_completed_total counter\nmillrace_tasks_completed_total{{node=\"{node}\"}} {}\n\
         # HELP millrace_http_requests_total HTTP requests served.\n\
         # TYPE millrace_http_requests_total counter\nmillrace_http_requests_total{{node=\"{node}\"}} {}\n\
         # HELP millrace_http_request_seconds Request latency.\n\
         # TYPE millrace_http_request_seconds summary\nmillrace_http_request_seconds_sum{{node=\"{node}\"}} {}\nmillrace_http_request_seconds_count{{node=\"{node}\"}} {}\n\
         # HELP millrace_http_server_errors_total Responses with a 5xx status.\n\
         # TYPE millrace_http_server_errors_total counter\nmillrace_http_server_errors_total{{node=\"{node}\"}} {}\n\
         # HELP millrace_jobs_total Jobs this node's worker claimed, by outcome (lease_lost: refused by fencing).\n\
         # TYPE millrace_jobs_total counter\nmillrace_jobs_total{{node=\"{node}\",outcome=\"applied\"}} {}\nmillrace_jobs_total{{node=\"{node}\",outcome=\"lease_lost\"}} {}\nmillrace_jobs_total{{node=\"{node}\",outcome=\"failed\"}} {}\n\
         # HELP millrace_incidents_open Open incidents.\n\
         # TYPE millrace_incidents_open gauge\nmillrace_incidents_open {incidents}\n\
         # HELP millrace_job_lag_seconds How late the most overdue timer or async job is.\n\
         # TYPE millrace_job_lag_seconds gauge\nmillrace_job_lag_seconds {lag}\n\
         # HELP millrace_instances Instances in the database by state (started = the sum; ended = completed + terminated).\n\
         # TYPE millrace_instances gauge\nmillrace_instances{{state=\"active\"}} {}\nmillrace_instances{{state=\"completed\"}} {}\nmillrace_instances{{state=\"terminated\"}} {}\n\
         # HELP millrace_tasks_created_total User tasks created.\n\
         # TYPE millrace_tasks_created_total counter\nmillrace_tasks_created_total {}\n\
         # HELP millrace_tasks_open Open user tasks.\n\
         # TYPE millrace_tasks_open gauge\nmillrace_tasks_open {}\n",
        m.instances_started.load(Ordering::Relaxed),
        m.tasks_completed.load(Ordering::Relaxed),
        m.requests.load(Ordering::Relaxed),
        m.request_micros.load(Ordering::Relaxed) as f64 / 1e6,
        m.requests.load(Ordering::Relaxed),
        m.server_errors.load(Ordering::Relaxed),
        state.jobs.applied.load(Ordering::Relaxed),
        state.jobs.lease_lost.load(Ordering::Relaxed),
        state.jobs.failed.load(Ordering::Relaxed),
        counts.active,
        counts.completed,
        counts.terminated,
        counts.tasks_created,
        counts.tasks_open,
    );
    let mut text = text;
    text.push_str(&process_metrics(
        &state
            .store
            .process_counts(Utc::now())
            .await
            .unwrap_or_default(),
    ));
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

/// The per-process families of `/metrics`, one series per process key.
fn process_metrics(counts: &[millrace_store::ProcessCounts]) -> String {
    use std::fmt::Write;
    // A key is an XML id, but a label value is escaped all the same.
    let label = |k: &str| k.replace('\\', "\\\\").replace('"', "\\\"");
    let mut out = String::from(
        "# HELP millrace_process_instances Instances of each process by state.\n\
         # TYPE millrace_process_instances gauge\n",
    );
    for c in counts {
        for (state, n) in [
            ("active", c.active),
            ("completed", c.completed),
            ("terminated", c.terminated),
        ] {
            let _ = writeln!(
                out,
                "millrace_process_instances{{process=\"{}\",state=\"{state}\"}} {n}",
                label(&c.key)
            );
        }
    }
    type Figure = fn(&millrace_store::ProcessCounts) -> f64;
    let gauges: [(&str, &str, Figure); 4] = [
        (
            "millrace_process_tasks_open",
            "Open user tasks per process.",
            |c| c.tasks_open as f64,
        ),
        (
            "millrace_process_tasks_overdue",
            "Open user tasks past their due date (deadlines missed now), per process.",
            |c| c.tasks_overdue as f64,
        ),
        (
            "millrace_process_incidents_open",
            "Open incidents per process.",
            |c| c.incidents_open as f64,
        ),
        (
            "millrace_process_job_lag_seconds",
            "How late each process's most overdue timer or async job of its instances is (timer start events are in millrace_job_lag_seconds only).",
            |c| c.job_lag_seconds,
        ),
    ];
    for (name, help, figure) in gauges {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for c in counts {
            let _ = writeln!(out, "{name}{{process=\"{}\"}} {}", label(&c.key), figure(c));
        }
    }
    out
}

async fn openapi_json() -> Response {
    Json(openapi::document()).into_response()
}

async fn api_docs() -> Html<&'static str> {
    Html(include_str!("api-docs.html"))
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    use api::*;
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/api/openapi.json", get(openapi_json))
        .route("/api/docs", get(api_docs))
        .route("/api/login", post(login))
        .route("/api/logout", post(logout))
        .route("/api/me", get(me))
        .route("/api/deployments", post(deploy))
        .route("/api/process-definitions", get(definitions))
        .route("/api/process-definitions/{key}/start", post(start))
        .route("/api/process-definitions/{key}/diff", get(diff))
        .route(
            "/api/process-definitions/{key}/start-form",
            get(forms::start_form),
        )
        .route("/api/start-forms", get(forms::start_forms))
        .route(
            "/api/process-definitions/{key}/versions/{version}/xml",
            get(definition_xml),
        )
        .route(
            "/api/process-definitions/{key}/versions/{version}/retire",
            post(retire),
        )
        .route("/api/process-instances", get(instances))
        .route("/api/process-instances/{id}", get(instance))
        .route("/api/process-instances/{id}/history", get(history))
        .route(
            "/api/process-instances/{id}/documents",
            get(documents::documents),
        )
        .route("/api/process-instances/{id}/mail", get(instance_mail))
        .route("/api/documents/{id}", get(documents::document))
        .route("/api/process-instances/{id}/slas", get(slas::instance_slas))
        .route("/api/requests", get(requests::find_requests))
        .route("/api/requests/{id}", get(requests::request))
        .route(
            "/api/process-instances/{id}/attachments",
            get(attachments::attachments).post(attachments::add_attachment),
        )
        .route("/api/attachments/{id}", get(attachments::attachment))
        .route(
            "/api/process-definitions/{key}/versions/{version}/heatmap",
            get(heatmap::heatmap),
        )
        .route(
            "/api/process-definitions/{key}/dashboard",
            get(heatmap::dashboard),
        )
        .route("/api/reports", get(reports::reports))
        .route("/api/reports/{key}/{name}", get(reports::report))
        .route("/api/process-instances/{id}/cancel", post(cancel))
        .route("/api/process-instances/{id}/modification", post(modify))
        .route("/api/process-instances/{id}/variables", put(set_variables))
        .route(
            "/api/process-instances/{id}/comments",
            get(comments).post(add_comment),
        )
        .route("/api/tasks", get(tasks))
        .route(
            "/api/filters",
            get(filters::filters).post(filters::save_filter),
        )
        .route("/api/filters/{id}", delete(filters::delete_filter))
        .route("/api/tasks/events", get(api::task_events))
        .route("/api/tasks/{id}", get(task))
        .route("/api/tasks/{id}/form", get(forms::task_form))
        .route("/api/tasks/{id}/progress", put(forms::save_progress))
        .route("/api/tasks/{id}/claim", post(claim))
        .route("/api/tasks/{id}/unclaim", post(unclaim))
        .route("/api/tasks/{id}/assign", post(assign))
        .route("/api/tasks/{id}/complete", post(complete))
        .route("/api/messages", post(message))
        .route("/api/signals", post(signal))
        .route("/api/incidents", get(incidents))
        .route("/api/incidents/{id}/retry", post(retry))
        .route("/api/external-tasks/fetch-and-lock", post(fetch_and_lock))
        .route("/api/external-tasks/{id}/complete", post(external_complete))
        .route("/api/external-tasks/{id}/failure", post(external_failure))
        .route("/api/users", get(users).post(put_user))
        .route("/api/reference", get(api::reference_tables))
        .route(
            "/api/reference/{table}",
            get(api::reference_table).put(api::put_reference_rows),
        )
        .route("/api/users/{name}", delete(remove_user))
        .route("/api/tokens", get(admin::tokens).post(admin::create_token))
        .route("/api/tokens/{id}", delete(admin::revoke_token))
        .route(
            "/api/grants",
            get(grants).post(add_grant).delete(remove_grant),
        )
        .route("/api/audit", get(audit))
        .route("/api/outbox", get(outbox))
        .route("/api/migrations", post(batches::migrate))
        .route("/api/migrations/preview", post(batches::preview))
        .route("/api/batches", get(batches::batches).post(batches::create))
        .route("/api/batches/{id}", get(batches::batch))
        .route("/api/batches/{id}/stop", post(batches::stop))
        .route("/api/library", get(drafts::library))
        .route("/api/drafts", post(drafts::create_draft))
        .route(
            "/api/drafts/{key}",
            get(drafts::draft).put(drafts::save_draft),
        )
        .route("/api/drafts/{key}/validate", post(drafts::validate_draft))
        .route("/api/drafts/{key}/diff", get(drafts::draft_diff))
        .route("/api/drafts/{key}/deploy", post(drafts::deploy_draft))
        .route("/api/drafts/{key}/scenarios", post(drafts::run_scenarios))
        .route(
            "/api/drafts/{key}/scenarios/save",
            post(recorder::save_scenario),
        )
        .route(
            "/api/drafts/{key}/scenarios/try",
            post(recorder::try_scenario),
        )
        .route("/api/scripts/check", post(drafts::check_script))
        .route("/api/drafts/{key}/files/check", post(drafts::check_file))
        .route(
            "/api/{*rest}",
            axum::routing::any(|| async { ApiError::not_found("no such path") }),
        )
        .route("/", get(web::home))
        .route("/login", get(web::login).post(web::login_form))
        .route("/designer", get(web::library))
        .route("/designer/{key}", get(web::designer))
        .route("/inbox", get(web::inbox))
        .route("/tasks/{id}", get(web::task))
        .route("/requests", get(web::requests))
        .route("/requests/{id}", get(web::request))
        .route("/start/{key}", get(web::start))
        .route("/operations", get(web::operations))
        .route("/operations/instances/{id}", get(web::instance))
        .route("/operations/heatmap/{key}/{version}", get(web::heatmap))
        .route("/operations/incidents", get(web::incidents))
        .route("/operations/migrate/{key}", get(web::migration))
        .route("/operations/batches", get(web::batches))
        .route("/operations/batches/{id}", get(web::batch))
        .route("/operations/dashboard/{key}", get(web::dashboard))
        .route("/reports", get(web::reports))
        .route("/reports/{key}/{name}", get(web::reports))
        .route("/admin/settings", get(web::settings))
        .route("/admin/users", get(web::users))
        .route("/admin/audit", get(web::audit))
        .route("/admin/settings/{table}", get(web::settings))
        .route("/assets/{*path}", get(web::asset))
        .fallback(web::not_found)
        .layer(axum::extract::DefaultBodyLimit::max(4 * 1024 * 1024))
        // A body that never finishes must not hold a request (and a shutdown) forever.
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            BODY_READ_TIMEOUT,
        ))
        .layer(axum::middleware::from_fn_with_state(state.clone(), measure))
        .with_state(state)
}
