//! API tokens, made and revoked by administrators in the web app as with
//! `millrace token create`: the token is shown once, only its hash is kept.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use millrace_api::{TokenCreated, TokenIn, TokenOut};

use crate::auth::{self, Principal, Role};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::{ApiJson, ApiPath, AppState};

/// Every API token, newest first (never the tokens themselves).
#[utoipa::path(get, path = "/api/tokens", responses((status = 200, body = [TokenOut]), (status = 403, body = ErrorBody)))]
pub async fn tokens(State(state): State<AppState>, p: Principal) -> ApiResult<Json<Vec<TokenOut>>> {
    p.require(&state, "list API tokens", &[Role::Admin]).await?;
    Ok(Json(
        state
            .store
            .api_tokens()
            .await?
            .into_iter()
            .map(|t| TokenOut {
                id: t.id,
                user: t.user,
                label: t.label,
                created_at: t.created_at,
            })
            .collect(),
    ))
}

/// Makes an API token for a user; the answer is the only time it is shown.
#[utoipa::path(post, path = "/api/tokens", request_body = TokenIn, responses((status = 201, body = TokenCreated), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create_token(
    State(state): State<AppState>,
    p: Principal,
    ApiJson(t): ApiJson<TokenIn>,
) -> ApiResult<(StatusCode, Json<TokenCreated>)> {
    p.require(&state, "make API tokens", &[Role::Admin]).await?;
    let label = t.label.as_deref().map(str::trim).filter(|l| !l.is_empty());
    if label.is_some_and(|l| l.chars().count() > 200) {
        return Err(ApiError::field("label", "at most 200 characters"));
    }
    if state.store.user(&t.user).await?.is_none() {
        return Err(ApiError::field("user", format!("no user {:?}", t.user)));
    }
    let token = auth::random_token(32);
    let hash = auth::token_hash(&token);
    state
        .store
        .create_api_token(&hash, &t.user, label, Utc::now())
        .await?;
    let id = hash[..millrace_store::TOKEN_ID_LEN].to_string();
    state
        .audit(
            Some(&p.user),
            "token.create",
            Some(&format!("{} {id}", t.user)),
            "ok",
        )
        .await;
    Ok((StatusCode::CREATED, Json(TokenCreated { id, token })))
}

/// Revokes an API token by its id: it stops working at once on this node,
/// and on the others once their cache of resolved tokens (10 s) lets it go.
#[utoipa::path(delete, path = "/api/tokens/{id}", params(("id" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    p.require(&state, "revoke API tokens", &[Role::Admin])
        .await?;
    if !state.store.revoke_api_token(&id).await? {
        return Err(ApiError::not_found(format!("no API token {id:?}")));
    }
    state.tokens.clear();
    state
        .audit(Some(&p.user), "token.revoke", Some(&id), "ok")
        .await;
    Ok(StatusCode::NO_CONTENT)
}
