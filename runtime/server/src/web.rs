//! The web app's pages and files: each page URL is rendered by the designer
//! crate (Leptos, server side) for the signed-in user, or sends them to sign
//! in; a page their role may not use answers 403 with a page that says so.
//! Files under `/assets/` are the wasm, its glue and the JavaScript bundles,
//! compiled into the binary.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use millrace_designer::{Page, PageState};
use serde::Deserialize;

use crate::auth::{Principal, Role};
use crate::error::ApiError;
use crate::AppState;

/// Who may open a page.
#[derive(Clone, Copy)]
enum Audience {
    Designers,
    Workers,
    Operators,
}

impl Audience {
    fn admits(self, role: Role) -> bool {
        match self {
            Audience::Designers => matches!(role, Role::Admin | Role::Analyst),
            Audience::Workers => role != Role::System,
            Audience::Operators => role == Role::Admin,
        }
    }
}

fn page(status: StatusCode, state: PageState) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Html(millrace_designer::render_page(&state)),
    )
        .into_response()
}

/// A page for signed-in users of `audience`; others are sent to sign in or refused.
async fn guarded(
    state: &AppState,
    principal: Result<Principal, ApiError>,
    uri: &Uri,
    audience: Audience,
    what: &str,
    shown: Page,
) -> Response {
    match principal {
        Err(_) => {
            let next = uri.path_and_query().map_or("/", |p| p.as_str());
            Redirect::to(&format!("/login?next={}", encode(next))).into_response()
        }
        Ok(p) if !audience.admits(p.role) => {
            state
                .audit(Some(&p.user), "page", Some(uri.path()), "denied")
                .await;
            page(
                StatusCode::FORBIDDEN,
                PageState {
                    page: Page::Forbidden { what: what.into() },
                    me: Some(p.me()),
                },
            )
        }
        Ok(p) => page(
            StatusCode::OK,
            PageState {
                page: shown,
                me: Some(p.me()),
            },
        ),
    }
}

/// `/`: the section the user works in.
pub async fn home(principal: Result<Principal, ApiError>) -> Response {
    match principal {
        Err(_) => Redirect::to("/login").into_response(),
        Ok(p) if Audience::Designers.admits(p.role) => Redirect::to("/designer").into_response(),
        Ok(_) => Redirect::to("/inbox").into_response(),
    }
}

/// Where to go after signing in.
#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    ended: Option<String>,
}

/// `/login`.
pub async fn login(Query(q): Query<LoginQuery>) -> Response {
    let next = safe_next(q.next);
    let notice = q
        .ended
        .map(|_| "Your session has ended. Sign in again to go on where you were.".to_string());
    page(
        StatusCode::OK,
        PageState {
            page: Page::Login { next, notice },
            me: None,
        },
    )
}

/// The sign-in form as a browser posts it before (or without) the page's script.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    next: String,
}

/// `POST /login`: the sign-in form without script. Signed in, to `next`;
/// refused, the form again with the reason. A post from another site's page
/// is refused (its `Origin` is not this server).
pub async fn login_form(
    State(state): State<AppState>,
    crate::listen::Peer(source): crate::listen::Peer,
    headers: HeaderMap,
    axum::Form(form): axum::Form<LoginForm>,
) -> Response {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok());
    let foreign = match (origin, host) {
        (Some(o), Some(h)) => o.split("://").nth(1) != Some(h),
        _ => false,
    };
    let next = safe_next(Some(form.next));
    let shown = |notice: String, status| {
        page(
            status,
            PageState {
                page: Page::Login {
                    next: next.clone(),
                    notice: Some(notice),
                },
                me: None,
            },
        )
    };
    if foreign {
        return shown(
            "Sign in from this server's own page.".into(),
            StatusCode::FORBIDDEN,
        );
    }
    let req = millrace_api::LoginRequest {
        username: form.username,
        password: form.password,
    };
    match crate::api::sign_in(&state, &req, source).await {
        Ok((cookie, _)) => ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response(),
        Err(e) => shown(e.body.reason, e.status),
    }
}

/// Only a path on this server: never an address elsewhere.
fn safe_next(next: Option<String>) -> String {
    next.filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
        .unwrap_or_else(|| "/".into())
}

/// `/designer`: the process library.
pub async fn library(
    State(state): State<AppState>,
    principal: Result<Principal, ApiError>,
    uri: Uri,
) -> Response {
    guarded(
        &state,
        principal,
        &uri,
        Audience::Designers,
        "the designer",
        Page::Library,
    )
    .await
}

/// `/designer/{key}`: the modeler on a process.
pub async fn designer(
    State(state): State<AppState>,
    principal: Result<Principal, ApiError>,
    uri: Uri,
    Path(key): Path<String>,
) -> Response {
    guarded(
        &state,
        principal,
        &uri,
        Audience::Designers,
        "the designer",
        Page::Designer { key },
    )
    .await
}

/// `/inbox`.
pub async fn inbox(
    State(state): State<AppState>,
    principal: Result<Principal, ApiError>,
    uri: Uri,
) -> Response {
    guarded(
        &state,
        principal,
        &uri,
        Audience::Workers,
        "the inbox",
        Page::Inbox {
            filter: millrace_designer::InboxFilter::from_query(uri.query().unwrap_or("")),
        },
    )
    .await
}

/// `/tasks/{id}`: one task with its form (the API says whether the user may
/// see it; the page asks it).
pub async fn task(
    State(state): State<AppState>,
    principal: Result<Principal, ApiError>,
    Path(id): Path<String>,
    uri: Uri,
) -> Response {
    // A task one may not see answers 403 as a page too (the API says the same).
    if let Ok(p) = &principal {
        let visible = match state.store.task(&id).await {
            Ok(t) => t.visible_to(&p.user, &p.groups),
            // Gone or never there: the page says what the API says.
            Err(_) => true,
        };
        if !visible {
            state
                .audit(Some(&p.user), "task.read", Some(&id), "denied")
                .await;
            return page(
                StatusCode::FORBIDDEN,
                PageState {
                    page: Page::Forbidden {
                        what:
                            "this task (it is neither assigned nor offered to you or your groups)"
                                .into(),
                    },
                    me: Some(p.me()),
                },
            );
        }
    }
    guarded(
        &state,
        principal,
        &uri,
        Audience::Workers,
        "tasks",
        Page::Task { id },
    )
    .await
}

/// `/requests/{id}`: a request as staff see it (the API says whether the
/// user may read it; the page asks it).
pub async fn request(
    State(state): State<AppState>,
    principal: Result<Principal, ApiError>,
    Path(id): Path<String>,
    uri: Uri,
) -> Response {
    guarded(
        &state,
        principal,
        &uri,
        Audience::Workers,
        "requests",
        Page::Request { id },
    )
    .await
}

/// `/requests?q=…`: the request search.
pub async fn requests(
    State(state): State<AppState>,
    principal: Result<Principal, ApiError>,
    uri: Uri,
    axum::extract::Query(query): axum::extract::Query<std::collections::BTreeMap<String, String>>,
) -> Response {
    let q = query.get("q").cloned().unwrap_or_default();
    guarded(
        &state,
        principal,
        &uri,
        Audience::Workers,
        "requests",
        Page::Requests { q },
    )
    .await
}

/// `/start/{key}`: a process's start form (the API says whether the user may
/// start it; the page asks it).
pub async fn start(
    State(state): State<AppState>,
    principal: Result<Principal, ApiError>,
    uri: Uri,
    Path(key): Path<String>,
) -> Response {
    guarded(
        &state,
        principal,
        &uri,
        Audience::Workers,
        "starting processes",
        Page::Start { key },
    )
    .await
}

/// `/operations`: instances, filtered as the address says (administrators).
pub async fn operations(
    State(state): State<AppState>,
    principal: Result<Principal, ApiError>,
    uri: Uri,
) -> Response {
    guarded(
        &state,
        principal,
        &uri,
        Audience::Operators,
        "operations",
        Page::Operations {
            filter: millrace_designer::InstanceFilter::from_query(uri.query().unwrap_or("")),
        },
    )
    .await
}

/// `/operations/instances/{id}`: one instance (administrators).
pub async fn instance(
    State(state): State<AppState>,
    principal: Result<Principal, ApiError>,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    guarded(
        &state,
        principal,
        &uri,
        Audience::Operators,
        "operations",
        Page::Instance { id },
    )
    .await
}

/// `/operations/incidents?process=…&element=…&error=…`: open incidents
/// (administrators).
pub async fn incidents(
    State(state): State<AppState>,
    principal: Result<Principal, ApiError>,
    uri: Uri,
    axum::extract::Query(filter): axum::extract::Query<std::collections::BTreeMap<String, String>>,
) -> Response {
    guarded(
        &state,
        principal,
        &uri,
        Audience::Operators,
        "operations",
        Page::Incidents { filter },
    )
    .await
}

/// `/operations/dashboard/{key}?from=…&to=…`: a process's dashboard
/// (administrators).
pub async fn dashboard(
    State(state): State<AppState>,
    principal: Result<Principal, ApiError>,
    uri: Uri,
    Path(key): Path<String>,
    axum::extract::Query(period): axum::extract::Query<std::collections::BTreeMap<String, String>>,
) -> Response {
    guarded(
        &state,
        principal,
        &uri,
        Audience::Operators,
        "operations",
        Page::Dashboard {
            key,
            from: period.get("from").cloned().unwrap_or_default(),
            to: period.get("to").cloned().unwrap_or_default(),
        },
    )
    .await
}

/// `/operations/heatmap/{key}/{version}?from=…&to=…`: a version's heatmap
/// (administrators).
pub async fn heatmap(
    State(state): State<AppState>,
    principal: Result<Principal, ApiError>,
    uri: Uri,
    Path((key, version)): Path<(String, i64)>,
    axum::extract::Query(period): axum::extract::Query<std::collections::BTreeMap<String, String>>,
) -> Response {
    guarded(
        &state,
        principal,
        &uri,
        Audience::Operators,
        "operations",
        Page::Heatmap {
            key,
            version,
            from: period.get("from").cloned().unwrap_or_default(),
            to: period.get("to").cloned().unwrap_or_default(),
        },
    )
    .await
}

/// `/operations/migrate/{key}?from=…&to=…`: migrating a version's running
/// instances to another version (administrators).
pub async fn migration(
    State(state): State<AppState>,
    principal: Result<Principal, ApiError>,
    uri: Uri,
    Path(key): Path<String>,
    axum::extract::Query(q): axum::extract::Query<std::collections::BTreeMap<String, String>>,
) -> Response {
    let version = |name: &str| q.get(name).and_then(|v| v.trim().parse().ok());
    guarded(
        &state,
        principal,
        &uri,
        Audience::Operators,
        "operations",
        Page::Migration {
            key,
            from: version("from"),
            to: version("to"),
        },
    )
    .await
}

/// `/operations/batches`: the latest batch operations (administrators).
pub async fn batches(
    State(state): State<AppState>,
    principal: Result<Principal, ApiError>,
    uri: Uri,
) -> Response {
    guarded(
        &state,
        principal,
        &uri,
        Audience::Operators,
        "operations",
        Page::Batches,
    )
    .await
}

/// `/operations/batches/{id}`: one batch operation's progress and results.
pub async fn batch(
    State(state): State<AppState>,
    principal: Result<Principal, ApiError>,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    guarded(
        &state,
        principal,
        &uri,
        Audience::Operators,
        "operations",
        Page::Batch { id },
    )
    .await
}

/// `/admin/users`: users and their groups, and API tokens (administrators).
pub async fn users(
    State(state): State<AppState>,
    principal: Result<Principal, ApiError>,
    uri: Uri,
) -> Response {
    guarded(
        &state,
        principal,
        &uri,
        Audience::Operators,
        "users",
        Page::Users,
    )
    .await
}

/// `/admin/audit?actor=…&action=…`: the audit trail, filtered as the
/// address says (administrators).
pub async fn audit(
    State(state): State<AppState>,
    principal: Result<Principal, ApiError>,
    uri: Uri,
    axum::extract::Query(filter): axum::extract::Query<std::collections::BTreeMap<String, String>>,
) -> Response {
    guarded(
        &state,
        principal,
        &uri,
        Audience::Operators,
        "the audit trail",
        Page::Audit { filter },
    )
    .await
}

/// `/admin/settings` and `/admin/settings/{table}`: the reference data the
/// processes read as their rules (administrators).
pub async fn settings(
    State(state): State<AppState>,
    principal: Result<Principal, ApiError>,
    uri: Uri,
    table: Option<Path<String>>,
) -> Response {
    let table = match table {
        Some(Path(t)) => t,
        None => millrace_store::reference::EDITABLE
            .first()
            .map_or_else(String::new, |t| t.name.to_string()),
    };
    guarded(
        &state,
        principal,
        &uri,
        Audience::Operators,
        "settings",
        Page::Settings { table },
    )
    .await
}

/// `/reports` and `/reports/{key}/{name}?…`: the reports of the processes
/// the user may read (the list is filtered by the API), and one report run.
pub async fn reports(
    State(state): State<AppState>,
    principal: Result<Principal, ApiError>,
    uri: Uri,
    report: Option<Path<(String, String)>>,
    axum::extract::Query(input): axum::extract::Query<std::collections::BTreeMap<String, String>>,
) -> Response {
    guarded(
        &state,
        principal,
        &uri,
        Audience::Workers,
        "reports",
        Page::Reports {
            report: report.map(|Path(r)| r),
            input,
        },
    )
    .await
}

/// Any other address outside `/api`: the 404 page.
pub async fn not_found(principal: Result<Principal, ApiError>, uri: Uri) -> Response {
    page(
        StatusCode::NOT_FOUND,
        PageState {
            page: Page::NotFound {
                path: uri.path().to_string(),
            },
            me: principal.ok().as_ref().map(Principal::me),
        },
    )
}

/// `/assets/{*path}`: a compiled-in file, revalidated by its ETag, gzipped
/// for browsers that take it.
pub async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    let Some(a) = millrace_designer::asset(&path) else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    let key = path.clone();
    let Ok(Some(prepared)) = tokio::task::spawn_blocking(move || prepare(&key, a.bytes)).await
    else {
        return ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the file could not be prepared",
        )
        .into_response();
    };
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == prepared.etag);
    if fresh {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, prepared.etag)]).into_response();
    }
    let gzip_ok = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    let common = [
        (header::CONTENT_TYPE, a.content_type),
        (header::ETAG, prepared.etag),
        (header::CACHE_CONTROL, "no-cache"),
        (header::VARY, "accept-encoding"),
    ];
    if gzip_ok {
        return (common, [(header::CONTENT_ENCODING, "gzip")], prepared.gzip).into_response();
    }
    (common, a.bytes).into_response()
}

/// What a compiled-in file is served with, worked out on its first request.
#[derive(Clone, Copy)]
struct Prepared {
    /// A strong validator: the SHA-256 of the bytes, as served.
    etag: &'static str,
    /// The bytes gzipped.
    gzip: &'static [u8],
}

/// The ETag and gzipped bytes of an asset, computed once and kept for the
/// process's life (the assets are compiled in, so they never change).
fn prepare(path: &str, bytes: &'static [u8]) -> Option<Prepared> {
    use sha2::{Digest, Sha256};
    use std::io::Write;
    static CACHE: std::sync::OnceLock<
        std::sync::Mutex<std::collections::HashMap<String, Prepared>>,
    > = std::sync::OnceLock::new();
    // Held while computing, so each file is done once however many browsers
    // ask at the same moment.
    let mut cache = CACHE.get_or_init(Default::default).lock().ok()?;
    if let Some(hit) = cache.get(path) {
        return Some(*hit);
    }
    let hash: String = Sha256::digest(bytes)
        .iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).ok()?;
    // Leaked on purpose: one copy per asset, kept as long as the binary's own bytes.
    let prepared = Prepared {
        etag: Box::leak(format!("\"{hash}\"").into_boxed_str()),
        gzip: Box::leak(enc.finish().ok()?.into_boxed_slice()),
    };
    cache.insert(path.to_string(), prepared);
    Some(prepared)
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn sign_in_goes_on_only_to_paths_of_this_server() {
        use super::safe_next;
        assert_eq!(safe_next(Some("/designer/x?a=1".into())), "/designer/x?a=1");
        for away in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "designer",
        ] {
            assert_eq!(safe_next(Some(away.into())), "/", "{away}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
