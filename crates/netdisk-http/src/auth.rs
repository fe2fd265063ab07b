//! Logging in: a login with the user's password (checked against the
//! stored SCRAM verifier, throttled like the native login) answers a
//! session token; every other request presents a token as `Authorization:
//! Bearer ...` (a session's, or a personal one for scripts). Tokens are
//! the store's (`netdisk_store::Tokens`).

use crate::error::ApiError;
use crate::gateway::Peer;
use crate::routes::AppState;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::{Extension, Json};
use netdisk_proto::ErrorCode;
use netdisk_store::{Event, PasswordRefused, Space, StoreError, TokenKind, TokenOwner, Tokens};
use serde::Deserialize;

/// A request from a logged-in user: their space, and the token used.
pub(crate) struct Authed {
    pub(crate) space: Space,
    pub(crate) owner: TokenOwner,
    tokens: Tokens,
}

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Authed, ApiError> {
        let peer = parts
            .extensions
            .get::<Peer>()
            .copied()
            .ok_or_else(|| ApiError::internal("request without its peer"))?;
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                ApiError::unauthorized("log in first: no 'Authorization: Bearer' token")
            })?
            .to_owned();
        let tokens = state.0.store.tokens();
        let book = tokens.clone();
        let owner = blocking(move || book.authenticate(&token))
            .await?
            .ok_or_else(|| ApiError::unauthorized("the token is unknown, expired or revoked"))?;
        let space = state.0.store.space(&owner.user, peer.0).await?;
        Ok(Authed {
            space,
            owner,
            tokens,
        })
    }
}

/// A token-book call, off the async threads (SQLite).
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::internal(format!("worker failed: {e}")))?
        .map_err(ApiError::from)
}

#[derive(Deserialize)]
pub(crate) struct LoginRequest {
    user: String,
    password: String,
}

pub(crate) async fn login(
    State(state): State<AppState>,
    Extension(peer): Extension<Peer>,
    Json(request): Json<LoginRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let store = &state.0.store;
    let outcome = store
        .logins()
        .verify_password(peer.0.ip(), &request.user, &request.password)
        .await;
    let result = match &outcome {
        Ok(()) => "ok",
        Err(PasswordRefused::Throttled(_)) => "throttled",
        Err(_) => "failed",
    };
    store.audit().record(Event::Login {
        peer: peer.0,
        user: &request.user,
        result,
    });
    match outcome {
        Ok(()) => {}
        Err(PasswordRefused::Wrong) => {
            return Err(ApiError::unauthorized("wrong user name or password"))
        }
        Err(PasswordRefused::Throttled(wait)) => {
            let mut err = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::Throttled,
                "too many failed logins; try again later",
            );
            err.retry_after = Some(wait);
            return Err(err);
        }
        Err(PasswordRefused::Internal(e)) => return Err(e.into()),
    }
    let lifetime = state.0.config.session_lifetime;
    let tokens = store.tokens();
    let user = request.user.clone();
    let (_, token) =
        blocking(move || tokens.issue(&user, TokenKind::Session, "login", Some(lifetime))).await?;
    Ok(Json(serde_json::json!({
        "token": token,
        "user": request.user,
        "expires_in": lifetime.as_secs(),
    })))
}

/// Revokes the token the request came with.
pub(crate) async fn logout(authed: Authed) -> Result<StatusCode, ApiError> {
    let (tokens, owner) = (authed.tokens, authed.owner.clone());
    blocking(move || tokens.revoke(&owner.user, owner.token_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn list_tokens(authed: Authed) -> Result<impl IntoResponse, ApiError> {
    let (tokens, user) = (authed.tokens, authed.owner.user.clone());
    let list = blocking(move || tokens.list(&user)).await?;
    Ok(Json(serde_json::json!({ "tokens": list })))
}

#[derive(Deserialize)]
pub(crate) struct TokenRequest {
    name: String,
    /// Lifetime in seconds; none: until revoked.
    expires_in: Option<u64>,
}

pub(crate) async fn add_token(
    authed: Authed,
    Json(request): Json<TokenRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let name = request.name.trim().to_owned();
    if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "a token needs a name of 1 to 100 printable characters",
        ));
    }
    let (tokens, user) = (authed.tokens, authed.owner.user.clone());
    let lifetime = request.expires_in.map(std::time::Duration::from_secs);
    let (id, token) =
        blocking(move || tokens.issue(&user, TokenKind::Personal, &name, lifetime)).await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "id": id, "token": token })),
    ))
}

pub(crate) async fn revoke_token(
    authed: Authed,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let (tokens, user) = (authed.tokens, authed.owner.user.clone());
    if blocking(move || tokens.revoke(&user, id)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(StoreError::new(netdisk_store::ErrorKind::NotFound, format!("no token {id}")).into())
    }
}
