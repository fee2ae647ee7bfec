//! Documents a process typeset (receipts, bills): listed with their instance
//! and read by whoever may read that instance.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use millrace_api::DocumentOut;
use millrace_store::DocumentInfo;

use crate::auth::{Principal, Role};
use crate::authz;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::{ApiPath, AppState};

/// A stored document as the API shows it.
pub fn document_out(d: DocumentInfo) -> DocumentOut {
    DocumentOut {
        url: format!("/api/documents/{}", d.id),
        id: d.id,
        instance_id: d.instance_id,
        element_id: d.node_id,
        name: d.name,
        template: d.template,
        media_type: d.media_type,
        size: d.size,
        created_at: d.created_at,
    }
}

/// The documents kept with an instance, oldest first.
#[utoipa::path(get, path = "/api/process-instances/{id}/documents", params(("id" = String, Path)),
    responses((status = 200, body = [DocumentOut]), (status = 404, body = ErrorBody)))]
pub async fn documents(
    State(state): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<DocumentOut>>> {
    authz::readable(&state, &p, &id, "instance.documents").await?;
    let found = state.store.documents_of(&id).await?;
    Ok(Json(found.into_iter().map(document_out).collect()))
}

/// A document's content (a PDF), for whoever may read its instance.
#[utoipa::path(get, path = "/api/documents/{id}", params(("id" = String, Path)),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 404, body = ErrorBody)))]
pub async fn document(
    State(state): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let missing = || ApiError::not_found(format!("no document {id:?}"));
    let Some(info) = state.store.document_info(&id).await? else {
        return Err(missing());
    };
    // One answer for "no such document" and "not yours to read" (which
    // would otherwise name the instance).
    authz::readable(&state, &p, &info.instance_id, "document.read")
        .await
        .map_err(|e| {
            if e.status == axum::http::StatusCode::NOT_FOUND {
                missing()
            } else {
                e
            }
        })?;
    let Some(content) = state.store.document_content(&id).await? else {
        return Err(missing());
    };
    if p.role != Role::System {
        // A receipt or a bill holds the customer's data: who read it, and when.
        state
            .audit(Some(&p.user), "document.read", Some(&id), "ok")
            .await;
    }
    Ok(file_response(
        "inline",
        &format!("{}.pdf", info.name),
        info.media_type,
        content,
    ))
}

/// A stored file as a response: its type, what a browser saves it as (the
/// name with anything but letters, digits, `-_. ` made `_`, so it cannot
/// break out of the header), `inline` or `attachment`, never cached.
/// `name` made safe for a header's `filename`: anything but ASCII letters,
/// digits and `-_. ` becomes `_`, trimmed.
pub(crate) fn safe_file_name(name: &str) -> String {
    let file: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_. ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    file.trim().to_string()
}

pub(crate) fn file_response(
    disposition: &str,
    name: &str,
    media_type: String,
    content: Vec<u8>,
) -> Response {
    let file = safe_file_name(name);
    (
        [
            (header::CONTENT_TYPE, media_type),
            (
                header::CONTENT_DISPOSITION,
                format!("{disposition}; filename=\"{}\"", file),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        content,
    )
        .into_response()
}
