//! The web app's pages and files: each page URL is rendered by the designer
//! crate (Leptos, server side) for the signed-in user, or sends them to sign
//! in; a page their role may not use answers 403 with a page that says so.
//! Files under `/assets/` are the wasm, its glue and the JavaScript bundles,
//! compiled into the binary.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use millrace_api::Me;
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
}

impl Audience {
    fn admits(self, role: Role) -> bool {
        match self {
            Audience::Designers => matches!(role, Role::Admin | Role::Analyst),
            Audience::Workers => role != Role::System,
        }
    }
}

fn me(p: &Principal) -> Me {
    Me {
        user: p.user.clone(),
        role: format!("{:?}", p.role).to_lowercase(),
        groups: p.groups.clone(),
        csrf_token: p.csrf.clone(),
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
                    me: Some(me(&p)),
                },
            )
        }
        Ok(p) => page(
            StatusCode::OK,
            PageState {
                page: shown,
                me: Some(me(&p)),
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
    match crate::api::sign_in(&state, &req).await {
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
        Page::Inbox,
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
            me: principal.ok().as_ref().map(me),
        },
    )
}

/// `/assets/{*path}`: a compiled-in file, revalidated by its ETag, gzipped
/// for browsers that take it (compressed once per file, then kept).
pub async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    let Some(a) = millrace_designer::asset(&path) else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    let etag = etag_of(&path, a.bytes);
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag);
    if fresh {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    let gzip_ok = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    let common = [
        (header::CONTENT_TYPE, a.content_type.to_string()),
        (header::ETAG, etag),
        (header::CACHE_CONTROL, "no-cache".to_string()),
        (header::VARY, "accept-encoding".to_string()),
    ];
    if gzip_ok {
        let bytes = a.bytes;
        let key = path.clone();
        if let Ok(Some(gz)) = tokio::task::spawn_blocking(move || gzipped(&key, bytes)).await {
            return (common, [(header::CONTENT_ENCODING, "gzip")], gz).into_response();
        }
    }
    (common, a.bytes).into_response()
}

/// The file gzipped, compressed on first use and kept for the process's life
/// (the assets are compiled in, so they never change under it).
fn gzipped(path: &str, bytes: &'static [u8]) -> Option<&'static [u8]> {
    use std::io::Write;
    static CACHE: std::sync::OnceLock<
        std::sync::Mutex<std::collections::HashMap<String, &'static [u8]>>,
    > = std::sync::OnceLock::new();
    // Held while compressing, so each file is compressed once however many
    // browsers ask at the same moment.
    let mut cache = CACHE.get_or_init(Default::default).lock().ok()?;
    if let Some(hit) = cache.get(path) {
        return Some(hit);
    }
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).ok()?;
    // Leaked on purpose: one copy per asset, kept as long as the binary's own bytes.
    let gz: &'static [u8] = Box::leak(enc.finish().ok()?.into_boxed_slice());
    cache.insert(path.to_string(), gz);
    Some(gz)
}

/// Each file's ETag, computed once.
fn etag_of(path: &str, bytes: &[u8]) -> String {
    static TAGS: std::sync::OnceLock<std::sync::Mutex<std::collections::HashMap<String, String>>> =
        std::sync::OnceLock::new();
    let tags = TAGS.get_or_init(Default::default);
    let mut tags = match tags.lock() {
        Ok(t) => t,
        // A panic while holding the lock left at worst a missing entry.
        Err(poisoned) => poisoned.into_inner(),
    };
    tags.entry(path.to_string())
        .or_insert_with(|| format!("\"{:016x}\"", fingerprint(bytes)))
        .clone()
}

/// FNV-1a over the file: a cheap, stable validator (not a security hash).
fn fingerprint(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
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
