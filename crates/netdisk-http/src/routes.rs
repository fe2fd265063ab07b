//! The API's routes (docs/HTTP.md lists them) and what every response
//! carries.

use crate::config::HttpConfig;
use crate::error::ApiError;
use crate::gateway::Peer;
use crate::{files, openapi, ui};
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Extension;
use axum::Router;
use netdisk_proto::ErrorCode;
use netdisk_store::Store;
use std::sync::Arc;

/// JSON request bodies (logins, moves, token names) are small.
const JSON_BODY_LIMIT: usize = 64 * 1024;

#[derive(Clone)]
pub(crate) struct AppState(pub(crate) Arc<Shared>);

pub(crate) struct Shared {
    pub(crate) store: Store,
    pub(crate) config: HttpConfig,
    /// Cookies get `Secure` when the gateway speaks HTTPS.
    pub(crate) https: bool,
}

impl AppState {
    pub(crate) fn new(store: Store, config: HttpConfig, https: bool) -> AppState {
        AppState(Arc::new(Shared {
            store,
            config,
            https,
        }))
    }
}

/// The API (its routes and their documentation: `openapi::api_routes`),
/// WebDAV and the web UI.
pub(crate) fn router(state: AppState) -> Router {
    // WebDAV (docs/WEBDAV.md): its own crate, every method under /dav.
    let dav = netdisk_dav::DavService::new(state.0.store.clone());
    let serve_dav = move |Extension(peer): Extension<Peer>, request: Request| {
        let dav = dav.clone();
        async move { dav.handle(request, peer.0).await.map(axum::body::Body::new) }
    };
    let webdav = Router::new()
        .route("/dav", any(serve_dav.clone()))
        .route("/dav/", any(serve_dav.clone()))
        .route("/dav/{*path}", any(serve_dav));
    openapi::api_routes()
        .layer(axum::middleware::map_response(errors_as_json))
        .merge(webdav)
        .merge(ui::router())
        .fallback(files::no_route)
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .layer(axum::middleware::map_response(harden))
        .with_state(state)
}

/// The API answers every error as JSON with a stable code; axum's own
/// refusals (a body or query that does not parse, a method the route does
/// not take, a JSON body over the limit) come as plain text or empty, and
/// are turned into that shape here, their text the message.
async fn errors_as_json(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    // Only bodiless answers (HEAD, 416) and axum's short texts get here.
    if response.headers().contains_key(header::CONTENT_RANGE) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let code = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::TooLarge,
        StatusCode::NOT_FOUND => ErrorCode::NotFound,
        s if s.is_server_error() => ErrorCode::Internal,
        _ => ErrorCode::BadRequest,
    };
    let message = match String::from_utf8_lossy(&text).trim() {
        "" => status.canonical_reason().unwrap_or("refused").to_owned(),
        text => text.to_owned(),
    };
    let mut answer = ApiError::new(status, code, message).into_response();
    // Allow (405) and the like stay.
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            answer.headers_mut().insert(name, value.clone());
        }
    }
    answer
}

/// Every answer: no type sniffing, no framing, and nothing in it ever runs
/// as a page of this origin (a downloaded HTML file included); only the
/// web UI's own pages come with their CSP (`ui::UI_CSP`), which is kept.
async fn harden(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static("default-src 'none'; sandbox"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}
