//! Logging in: a login with the user's password (checked against the
//! stored SCRAM verifier, throttled like the native login) answers either
//! a bearer session token with a refresh token (scripts, other clients),
//! or, for a browser, an HttpOnly session cookie and the CSRF token every
//! cookie-authenticated write must carry. Every other request presents a
//! token as `Authorization: Bearer ...` (a session's, or a personal one)
//! or the cookie. Tokens are the store's (`netdisk_store::Tokens`).

use crate::cookies;
use crate::error::ApiError;
use crate::error::ErrorBody;
use crate::gateway::Peer;
use crate::routes::AppState;
use crate::schemas::ApiTokenSchema;
use crate::schemas::JsonBodyRefused;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use base64::Engine;
use netdisk_proto::ErrorCode;
use netdisk_store::ApiToken;
use netdisk_store::{
    Event, LoginLifetimes, LoginTokens, PasswordRefused, Space, StoreError, TokenKind, TokenOwner,
    Tokens,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

/// The browser session's cookie.
pub(crate) const SESSION_COOKIE: &str = "nd_session";
/// The header a cookie-authenticated write carries.
const CSRF_HEADER: &str = "x-csrf-token";

/// A request from a logged-in user: their space, and the token used.
pub(crate) struct Authed {
    pub(crate) space: Space,
    pub(crate) owner: TokenOwner,
    /// The request came with the session cookie (not a bearer token).
    by_cookie: Option<String>,
    tokens: Tokens,
}

/// The CSRF token of a cookie session: derived from the session token,
/// which the page's script never sees (HttpOnly), so another site can
/// neither read nor forge it, and nothing more is stored.
fn csrf_token(session: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"netdisk csrf v1\0")
        .chain_update(session.as_bytes())
        .finalize();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
}

/// The presented token, and whether it came as the cookie.
fn presented_token(headers: &HeaderMap) -> Option<(String, bool)> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let bearer = value.to_str().ok()?.strip_prefix("Bearer ")?.trim();
        return Some((bearer.to_owned(), false));
    }
    cookies::find(headers, SESSION_COOKIE).map(|token| (token, true))
}

/// Reads change nothing; every other method with a cookie needs the CSRF token.
fn needs_csrf(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn csrf_refused() -> ApiError {
    ApiError {
        status: StatusCode::FORBIDDEN,
        code: "csrf",
        message: "a request with the session cookie needs its X-CSRF-Token header".into(),
        retry_after: None,
    }
}

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Authed, ApiError> {
        let peer = parts
            .extensions
            .get::<Peer>()
            .copied()
            .ok_or_else(|| ApiError::internal("request without its peer"))?;
        let (token, cookie) = presented_token(&parts.headers).ok_or_else(|| {
            ApiError::unauthorized("log in first: no 'Authorization: Bearer' token or session")
        })?;
        if cookie && needs_csrf(&parts.method) {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .map(HeaderValue::as_bytes)
                .unwrap_or_default();
            if !bool::from(sent.ct_eq(csrf_token(&token).as_bytes())) {
                return Err(csrf_refused());
            }
        }
        let tokens = state.0.store.tokens();
        let book = tokens.clone();
        let presented = token.clone();
        let owner = blocking(move || book.authenticate(&presented))
            .await?
            .filter(|owner| owner.kind != TokenKind::Refresh)
            .ok_or_else(|| ApiError::unauthorized("the token is unknown, expired or revoked"))?;
        let space = state.0.store.space(&owner.user, peer.0).await?;
        Ok(Authed {
            space,
            owner,
            by_cookie: cookie.then_some(token),
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

#[derive(Deserialize, ToSchema)]
pub(crate) struct LoginRequest {
    user: String,
    #[schema(format = Password)]
    password: String,
    /// A browser: answer a session cookie (and its CSRF token) instead
    /// of bearer tokens.
    #[serde(default)]
    cookie: bool,
}

/// What a login answers: bearer tokens, or for a browser (`cookie`) the
/// CSRF token, the session itself coming as the `nd_session` cookie.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum LoginAnswer {
    Bearer(BearerLogin),
    Cookie(CookieLogin),
}

#[derive(Serialize, ToSchema)]
pub(crate) struct BearerLogin {
    /// `Authorization: Bearer TOKEN` for every other request.
    #[schema(example = "ndt_...")]
    token: String,
    /// For `POST /api/v1/refresh`, once.
    #[schema(required = true)]
    refresh_token: Option<String>,
    user: String,
    /// Seconds the token lives.
    expires_in: u64,
    /// Seconds the refresh token lives.
    #[schema(required = true)]
    refresh_expires_in: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct CookieLogin {
    user: String,
    /// Seconds the session lives.
    expires_in: u64,
    /// `X-CSRF-Token` for every write made with the cookie.
    csrf: String,
}

#[utoipa::path(post, path = "/api/v1/login", tag = "login",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in (a cookie login also sets `nd_session`)", body = LoginAnswer),
        (status = 400, description = "A malformed body", body = ErrorBody),
        (status = 401, description = "Wrong user name or password", body = ErrorBody),
        (status = 429, description = "Too many failed logins; see Retry-After", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        JsonBodyRefused,
    ))]
pub(crate) async fn login(
    State(state): State<AppState>,
    Extension(peer): Extension<Peer>,
    Json(request): Json<LoginRequest>,
) -> Result<Response, ApiError> {
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
    let config = &state.0.config;
    let lifetimes = LoginLifetimes {
        session: config.session_lifetime,
        refresh: (!request.cookie).then_some(config.refresh_lifetime),
    };
    let tokens = store.tokens();
    let user = request.user.clone();
    let issued = blocking(move || tokens.issue_login(&user, lifetimes)).await?;
    if request.cookie {
        let cookie = cookies::set(
            SESSION_COOKIE,
            &issued.session,
            "/",
            Some(config.session_lifetime),
            state.0.https,
        );
        let body = Json(LoginAnswer::Cookie(CookieLogin {
            csrf: csrf_token(&issued.session),
            user: issued.user,
            expires_in: config.session_lifetime.as_secs(),
        }));
        return Ok(([(header::SET_COOKIE, cookie)], body).into_response());
    }
    Ok(Json(LoginAnswer::Bearer(bearer_answer(issued, lifetimes))).into_response())
}

fn bearer_answer(issued: LoginTokens, lifetimes: LoginLifetimes) -> BearerLogin {
    BearerLogin {
        token: issued.session,
        refresh_token: issued.refresh,
        user: issued.user,
        expires_in: lifetimes.session.as_secs(),
        refresh_expires_in: lifetimes.refresh.map(|d| d.as_secs()),
    }
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct RefreshRequest {
    refresh_token: String,
}

/// A refresh token for a new pair; the old pair ends.
#[utoipa::path(post, path = "/api/v1/refresh", tag = "login",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token and refresh token", body = BearerLogin),
        (status = 400, description = "A malformed body", body = ErrorBody),
        (status = 401, description = "The refresh token is unknown, used or expired", body = ErrorBody),
        JsonBodyRefused,
    ))]
pub(crate) async fn refresh(
    State(state): State<AppState>,
    Json(request): Json<RefreshRequest>,
) -> Result<Json<BearerLogin>, ApiError> {
    let config = &state.0.config;
    let lifetimes = LoginLifetimes {
        session: config.session_lifetime,
        refresh: Some(config.refresh_lifetime),
    };
    let tokens = state.0.store.tokens();
    let issued = blocking(move || tokens.refresh(&request.refresh_token, lifetimes))
        .await?
        .ok_or_else(|| ApiError::unauthorized("the refresh token is unknown, used or expired"))?;
    Ok(Json(bearer_answer(issued, lifetimes)))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct SessionInfo {
    user: String,
    /// Seconds left; null: a personal token without an end.
    #[schema(required = true)]
    expires_in: Option<i64>,
    /// A cookie session's CSRF token; null for bearer tokens.
    #[schema(required = true)]
    csrf: Option<String>,
}

/// Who is logged in, until when, and (for a cookie session) the CSRF
/// token: a page reloaded learns it here.
#[utoipa::path(get, path = "/api/v1/session", tag = "login",
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The session", body = SessionInfo),
        (status = 401, description = "Not logged in", body = ErrorBody),
    ))]
pub(crate) async fn session(authed: Authed) -> Json<SessionInfo> {
    let expires_in = authed
        .owner
        .expires
        .map(|at| at.saturating_sub(netdisk_store::unix_now()).max(0));
    Json(SessionInfo {
        csrf: authed.by_cookie.as_deref().map(csrf_token),
        user: authed.owner.user,
        expires_in,
    })
}

/// Revokes the token the request came with (and the rest of its login);
/// a cookie session's cookie is cleared.
#[utoipa::path(post, path = "/api/v1/logout", tag = "login",
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 204, description = "Logged out"),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "A cookie session without its CSRF token", body = ErrorBody),
    ))]
pub(crate) async fn logout(
    State(state): State<AppState>,
    authed: Authed,
) -> Result<Response, ApiError> {
    let (tokens, owner) = (authed.tokens, authed.owner.clone());
    blocking(move || tokens.revoke(&owner.user, owner.token_id)).await?;
    if authed.by_cookie.is_some() {
        let cleared = cookies::set(SESSION_COOKIE, "", "/", None, state.0.https);
        return Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cleared)]).into_response());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Serialize, ToSchema)]
pub(crate) struct TokenList {
    /// Sessions and personal tokens (a session's refresh token is part of it).
    #[schema(value_type = Vec<ApiTokenSchema>)]
    tokens: Vec<ApiToken>,
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "login",
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The user's tokens, never their secrets", body = TokenList),
        (status = 401, description = "Not logged in", body = ErrorBody),
    ))]
pub(crate) async fn list_tokens(authed: Authed) -> Result<Json<TokenList>, ApiError> {
    let (tokens, user) = (authed.tokens, authed.owner.user.clone());
    let tokens = blocking(move || tokens.list(&user)).await?;
    Ok(Json(TokenList { tokens }))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct TokenRequest {
    #[schema(example = "ci")]
    name: String,
    /// Lifetime in seconds; none: until revoked.
    expires_in: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct NewToken {
    id: i64,
    /// Shown this once.
    #[schema(example = "ndt_...")]
    token: String,
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "login",
    security(("bearer" = []), ("session_cookie" = [])),
    request_body = TokenRequest,
    responses(
        (status = 201, description = "A personal token for scripts", body = NewToken),
        (status = 400, description = "A blank or over-long name, or a malformed body", body = ErrorBody),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "A cookie session without its CSRF token", body = ErrorBody),
        JsonBodyRefused,
    ))]
pub(crate) async fn add_token(
    authed: Authed,
    Json(request): Json<TokenRequest>,
) -> Result<(StatusCode, Json<NewToken>), ApiError> {
    let (tokens, user) = (authed.tokens, authed.owner.user.clone());
    let lifetime = request.expires_in.map(std::time::Duration::from_secs);
    let (id, token) = blocking(move || tokens.add_personal(&user, &request.name, lifetime)).await?;
    Ok((StatusCode::CREATED, Json(NewToken { id, token })))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "login",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = i64, Path, description = "The token's id, as listed")),
    responses(
        (status = 204, description = "Revoked (a session's id ends its refresh token too)"),
        (status = 400, description = "An id that is not a number", body = ErrorBody),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "A cookie session without its CSRF token", body = ErrorBody),
        (status = 404, description = "The user has no such token", body = ErrorBody),
    ))]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csrf_token_depends_on_the_session_and_is_not_it() {
        let a = csrf_token("ndt_a");
        assert_ne!(a, csrf_token("ndt_b"));
        assert_eq!(a, csrf_token("ndt_a"));
        assert!(!a.contains("ndt_a"));
    }

    #[test]
    fn a_bearer_header_wins_over_the_cookie() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("nd_session=ndt_c"));
        assert_eq!(presented_token(&headers), Some(("ndt_c".into(), true)));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer ndt_b"),
        );
        assert_eq!(presented_token(&headers), Some(("ndt_b".into(), false)));
        assert!(needs_csrf(&Method::POST) && needs_csrf(&Method::PUT));
        assert!(!needs_csrf(&Method::GET) && !needs_csrf(&Method::HEAD));
    }
}
