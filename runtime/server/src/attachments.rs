//! Files attached to a request (`/api/process-instances/{id}/attachments`,
//! `/api/attachments/{id}`): who may read an instance lists, downloads and
//! adds them, as with comments. A file is refused, naming why, unless its
//! type is one staff exchange (PDF, images, text, office documents), its
//! bytes agree with the type it claims, and it holds at most 3 MiB.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use chrono::Utc;
use millrace_api::AttachmentOut;
use millrace_store::{AttachmentInfo, NewAttachment};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Principal;
use crate::authz;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::{ApiPath, ApiQuery, AppState};

/// The largest file one may attach (the request body limit is 4 MiB).
pub const ATTACHMENT_MAX: usize = 3 * 1024 * 1024;

/// The media types one may attach, with the bytes each must start with
/// (empty: no fixed signature; text must be UTF-8).
const ALLOWED: &[(&str, &[u8])] = &[
    ("application/pdf", b"%PDF-"),
    ("image/png", b"\x89PNG\r\n\x1a\n"),
    ("image/jpeg", b"\xff\xd8\xff"),
    ("image/gif", b"GIF8"),
    ("text/plain", b""),
    ("text/csv", b""),
    // Office Open XML files are zip archives.
    (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        b"PK\x03\x04",
    ),
    (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        b"PK\x03\x04",
    ),
];

fn attachment_out(a: AttachmentInfo) -> AttachmentOut {
    AttachmentOut {
        url: format!("/api/attachments/{}", a.id),
        id: a.id,
        instance_id: a.instance_id,
        task_id: a.task_id,
        name: a.name,
        media_type: a.media_type,
        size: a.size,
        added_by: a.added_by,
        created_at: a.created_at,
    }
}

/// The file's type as the request declares it (parameters dropped), checked
/// against [`ALLOWED`] and the bytes.
fn checked_type(headers: &HeaderMap, content: &[u8]) -> ApiResult<&'static str> {
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let Some((media_type, signature)) = ALLOWED.iter().find(|(t, _)| *t == declared) else {
        let allowed: Vec<&str> = ALLOWED.iter().map(|(t, _)| *t).collect();
        return Err(ApiError::field(
            "Content-Type",
            format!(
                "{declared:?} cannot be attached; attach one of {}",
                allowed.join(", ")
            ),
        ));
    };
    if !content.starts_with(signature) {
        return Err(ApiError::field(
            "body",
            format!("the file is not a {media_type} file (its first bytes say otherwise)"),
        ));
    }
    if signature.is_empty() && std::str::from_utf8(content).is_err() {
        return Err(ApiError::field(
            "body",
            format!("a {media_type} file must be UTF-8 text"),
        ));
    }
    Ok(media_type)
}

/// The files attached to an instance, oldest first.
#[utoipa::path(get, path = "/api/process-instances/{id}/attachments", params(("id" = String, Path)),
    responses((status = 200, body = [AttachmentOut]), (status = 404, body = ErrorBody)))]
pub async fn attachments(
    State(state): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<AttachmentOut>>> {
    authz::readable(&state, &p, &id, "attachments.read").await?;
    let found = state.store.attachments_of(&id).await?;
    Ok(Json(found.into_iter().map(attachment_out).collect()))
}

/// The file's name and the task it is added from.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AttachQuery {
    /// The file's name (what a download saves it as).
    pub name: String,
    /// The task of this instance it is added from.
    pub task_id: Option<String>,
}

/// Attaches a file to an instance: the body is the file, `Content-Type` its
/// type. Audited as `attachment.add`.
#[utoipa::path(post, path = "/api/process-instances/{id}/attachments", params(("id" = String, Path), AttachQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file's bytes, sent with its own Content-Type"),
    responses((status = 201, body = AttachmentOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn add_attachment(
    State(state): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<AttachQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<AttachmentOut>)> {
    let name = q.name.trim();
    if name.is_empty()
        || name.chars().count() > 200
        || name
            .chars()
            .any(|c| c.is_control() || c == '/' || c == '\\')
    {
        return Err(ApiError::field(
            "name",
            "a file name has 1 to 200 characters and no slashes or control characters",
        ));
    }
    if body.is_empty() {
        return Err(ApiError::field("body", "the file is empty"));
    }
    if body.len() > ATTACHMENT_MAX {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "the file has {} bytes; a file holds at most {} MiB",
                body.len(),
                ATTACHMENT_MAX / (1024 * 1024)
            ),
        ));
    }
    let media_type = checked_type(&headers, &body)?;
    authz::readable(&state, &p, &id, "attachment.add").await?;
    let task = q
        .task_id
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    if let Some(t) = task {
        if millrace_store::split_id(t).is_none_or(|(instance, _)| instance != id) {
            return Err(ApiError::field(
                "taskId",
                format!("{t:?} is not a task of instance {id}"),
            ));
        }
    }
    let attachment = uuid::Uuid::now_v7().to_string();
    state
        .store
        .add_attachment(
            &NewAttachment {
                id: &attachment,
                instance_id: &id,
                task_id: task,
                name,
                media_type,
                content: &body,
                added_by: &p.user,
            },
            Utc::now(),
        )
        .await?;
    state
        .audit(Some(&p.user), "attachment.add", Some(&attachment), "ok")
        .await;
    let info = state
        .store
        .attachment_info(&attachment)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no attachment {attachment:?}")))?;
    Ok((StatusCode::CREATED, Json(attachment_out(info))))
}

/// An attachment's content, for whoever may read its instance (a download:
/// `Content-Disposition: attachment`). Audited as `attachment.read`.
#[utoipa::path(get, path = "/api/attachments/{id}", params(("id" = String, Path)),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 404, body = ErrorBody)))]
pub async fn attachment(
    State(state): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let missing = || ApiError::not_found(format!("no attachment {id:?}"));
    let Some(info) = state.store.attachment_info(&id).await? else {
        return Err(missing());
    };
    // One answer for "no such attachment" and "not yours to read".
    authz::readable(&state, &p, &info.instance_id, "attachment.read")
        .await
        .map_err(|e| {
            if e.status == StatusCode::NOT_FOUND {
                missing()
            } else {
                e
            }
        })?;
    let Some(content) = state.store.attachment_content(&id).await? else {
        return Err(missing());
    };
    state
        .audit(Some(&p.user), "attachment.read", Some(&id), "ok")
        .await;
    Ok(crate::documents::file_response(
        "attachment",
        &info.name,
        info.media_type,
        content,
    ))
}
