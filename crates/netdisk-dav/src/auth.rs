//! Who is asking: HTTP Basic with the user's password (checked against
//! the stored SCRAM verifier, throttled like every login), or one of the
//! HTTP API's tokens, as `Authorization: Bearer ndt_...` or as the Basic
//! password (for clients that only know user and password: a personal
//! token for rclone or a phone app). Anything else is answered 401 with
//! the Basic challenge; only TLS keeps the password from the network.

use base64::Engine;
use dav_server::body::Body;
use http::{header, HeaderMap, HeaderValue, Response, StatusCode};
use netdisk_store::{Event, PasswordAccepted, PasswordRefused, Store, TokenKind};
use std::net::SocketAddr;
use std::time::Duration;

const CHALLENGE: &str = "Basic realm=\"netdisk\", charset=\"UTF-8\"";
/// What the API's tokens start with.
const TOKEN_PREFIX: &str = "ndt_";

/// A refused request and its answer.
pub(crate) struct Refusal {
    status: StatusCode,
    message: &'static str,
    retry_after: Option<Duration>,
}

impl Refusal {
    pub(crate) fn status(status: StatusCode, message: &'static str) -> Refusal {
        Refusal {
            status,
            message,
            retry_after: None,
        }
    }

    fn unauthorized(message: &'static str) -> Refusal {
        Refusal::status(StatusCode::UNAUTHORIZED, message)
    }

    pub(crate) fn response(self) -> Response<Body> {
        let mut response = Response::new(Body::from(format!("{}\n", self.message)));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(CHALLENGE),
            );
        }
        if let Some(wait) = self.retry_after {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from(wait.as_secs().max(1)),
            );
        }
        response
    }
}

/// The user a request's credentials log in.
pub(crate) async fn authenticate(
    store: &Store,
    headers: &HeaderMap,
    peer: SocketAddr,
) -> Result<String, Refusal> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(Refusal::unauthorized(
            "log in (HTTP Basic, or a Bearer token)",
        ));
    };
    let value = value
        .to_str()
        .map_err(|_| Refusal::unauthorized("unreadable Authorization header"))?;
    let (scheme, credentials) = value.trim().split_once(' ').unwrap_or((value, ""));
    if scheme.eq_ignore_ascii_case("bearer") {
        return by_token(store, credentials.trim(), None).await;
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(Refusal::unauthorized(
            "only Basic and Bearer are understood",
        ));
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(credentials.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| Refusal::unauthorized("Basic credentials are not base64 of UTF-8"))?;
    let (user, password) = decoded
        .split_once(':')
        .ok_or_else(|| Refusal::unauthorized("Basic credentials without a ':'"))?;
    if password.starts_with(TOKEN_PREFIX) {
        return by_token(store, password, Some(user)).await;
    }
    by_password(store, user, password, peer).await
}

async fn by_password(
    store: &Store,
    user: &str,
    password: &str,
    peer: SocketAddr,
) -> Result<String, Refusal> {
    let outcome = store
        .logins()
        .verify_repeated_password(peer.ip(), user, password)
        .await;
    let result = match &outcome {
        // A password remembered from moments ago is no new login.
        Ok(PasswordAccepted::Remembered) => return Ok(user.to_owned()),
        Ok(PasswordAccepted::Verified) => "ok",
        Err(PasswordRefused::Throttled(_)) => "throttled",
        Err(_) => "failed",
    };
    store.audit().record(Event::Login { peer, user, result });
    match outcome {
        Ok(_) => Ok(user.to_owned()),
        Err(PasswordRefused::Wrong) => Err(Refusal::unauthorized("wrong user name or password")),
        Err(PasswordRefused::Throttled(wait)) => Err(Refusal {
            status: StatusCode::TOO_MANY_REQUESTS,
            message: "too many failed logins; try again later",
            retry_after: Some(wait),
        }),
        Err(PasswordRefused::Internal(err)) => {
            tracing::warn!(error = %err, "WebDAV login failed inside");
            Err(Refusal::status(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the login could not be checked",
            ))
        }
    }
}

/// A session or personal token (a refresh token opens nothing); with
/// Basic, the user name given must be the token's (or empty).
async fn by_token(store: &Store, token: &str, user: Option<&str>) -> Result<String, Refusal> {
    let tokens = store.tokens();
    let presented = token.to_owned();
    let owner = tokio::task::spawn_blocking(move || tokens.authenticate(&presented))
        .await
        .map_err(|_| Refusal::status(StatusCode::INTERNAL_SERVER_ERROR, "token check failed"))?
        .map_err(|err| {
            tracing::warn!(error = %err, "WebDAV token check failed");
            Refusal::status(StatusCode::INTERNAL_SERVER_ERROR, "token check failed")
        })?
        .filter(|owner| owner.kind != TokenKind::Refresh)
        .ok_or_else(|| Refusal::unauthorized("the token is unknown, expired or revoked"))?;
    match user {
        Some(name) if !name.is_empty() && name != owner.user => {
            Err(Refusal::unauthorized("the token is not this user's"))
        }
        _ => Ok(owner.user),
    }
}
