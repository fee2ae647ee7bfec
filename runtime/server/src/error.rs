//! One error type for every handler, mapped to HTTP: a 4xx says what and
//! which field; a 5xx is logged and says nothing of the inside.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use millrace_engine::CommandError;
use millrace_store::StoreError;

pub use millrace_api::ErrorBody;

/// The longest reason an error body gives, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// The longest field name an error body gives, in characters.
pub const MAX_FIELD_CHARS: usize = 200;

/// A refused or failed request.
#[derive(Debug)]
pub struct ApiError {
    /// The status.
    pub status: StatusCode,
    /// The body.
    pub body: ErrorBody,
}

impl ApiError {
    /// An error with a status, kind and reason. The reason is cut to
    /// [`MAX_REASON_CHARS`]: it may quote the input (a serde message quotes the
    /// value it could not read), and an error must not echo a megabyte back.
    pub fn new(status: StatusCode, error: &str, reason: impl Into<String>) -> Self {
        let mut reason = reason.into();
        if let Some((cut, _)) = reason.char_indices().nth(MAX_REASON_CHARS) {
            reason.truncate(cut);
            reason.push('…');
        }
        ApiError {
            status,
            body: ErrorBody {
                error: error.to_string(),
                field: None,
                reason,
            },
        }
    }

    /// 400 naming a field.
    pub fn field(field: &str, reason: impl Into<String>) -> Self {
        let mut e = ApiError::new(StatusCode::BAD_REQUEST, "invalid", reason);
        e.body.field = Some(field.to_string());
        e
    }

    /// The same error, naming `field`.
    pub fn with_field(mut self, field: &str) -> Self {
        self.body.field = Some(field.to_string());
        self
    }

    /// 401.
    pub fn unauthenticated(reason: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", reason)
    }

    /// 403.
    pub fn forbidden(reason: impl Into<String>) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", reason)
    }

    /// 404.
    pub fn not_found(reason: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", reason)
    }

    /// 409.
    pub fn conflict(reason: impl Into<String>) -> Self {
        ApiError::new(StatusCode::CONFLICT, "conflict", reason)
    }

    /// 500: the server broke one of its own promises (a write answered
    /// what its kind never answers).
    pub fn internal(reason: impl Into<String>) -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", reason)
    }
}

impl IntoResponse for ApiError {
    fn into_response(mut self) -> Response {
        // A field name may come from the input (an unknown field's name).
        if let Some(field) = &mut self.body.field {
            if let Some((cut, _)) = field.char_indices().nth(MAX_FIELD_CHARS) {
                field.truncate(cut);
                field.push('…');
            }
        }
        (self.status, Json(self.body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match &e {
            StoreError::NotFound(..) => ApiError::not_found(e.to_string()),
            StoreError::Conflict(_) | StoreError::DraftChanged { .. } => {
                ApiError::conflict(e.to_string())
            }
            StoreError::Migration(_) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "refused", e.to_string())
            }
            StoreError::NoMatch(..) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "no_match", e.to_string())
            }
            StoreError::BadRow { row, .. } => {
                let mut err = ApiError::new(StatusCode::BAD_REQUEST, "bad_request", e.to_string());
                err.body.field = Some(format!("rows[{row}]"));
                err
            }
            StoreError::Deploy { file, .. } | StoreError::BadFile { file, .. } => {
                let mut err = ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_model",
                    e.to_string(),
                );
                err.body.field = Some(format!("files[{file}]"));
                err
            }
            StoreError::Command(c) => match c {
                // The thing was there a moment ago: someone else completed or ended it.
                CommandError::NotFound(..) | CommandError::Ended(_) => {
                    ApiError::conflict(c.to_string())
                }
                CommandError::NoStartEvent(_)
                | CommandError::AlreadyStarted
                | CommandError::Modification(_) => {
                    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "refused", c.to_string())
                }
                CommandError::Limit(l) => {
                    ApiError::field(&format!("variables.{}", l.path), l.reason.clone())
                }
                CommandError::InstanceFull(_) => {
                    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", c.to_string())
                }
            },
            StoreError::Corrupt(..) => {
                // Not a server fault to retry into: this instance's stored state
                // is unreadable, and stays so until an administrator cancels it.
                tracing::error!(error = %e, "unreadable instance");
                ApiError::conflict(format!("{e}; an administrator can cancel the instance"))
            }
            StoreError::Database(_) if e.is_transient() => {
                // Lost connection, restart, deadlock: nothing was acknowledged; the client may retry.
                tracing::warn!(error = %e, "store briefly unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the database is briefly unavailable; try again",
                )
            }
            StoreError::Unavailable(_) => {
                tracing::error!(error = %e, "store unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the server cannot take writes just now; try again",
                )
            }
            StoreError::Database(_) | StoreError::Migrate(_) => {
                tracing::error!(error = %e, "store failure");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the server failed; the failure is logged",
                )
            }
        }
    }
}

/// Handler result.
pub type ApiResult<T> = Result<T, ApiError>;
