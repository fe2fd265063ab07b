//! The API's routes (docs/HTTP.md lists them) and what every response
//! carries.

use crate::config::HttpConfig;
use crate::gateway::Peer;
use crate::{auth, download, files, public, shares, tus, ui, upload};
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderValue};
use axum::response::Response;
use axum::routing::{any, delete, get, head, options, post};
use axum::Extension;
use axum::Router;
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

pub(crate) fn router(state: AppState) -> Router {
    // WebDAV (docs/WEBDAV.md): its own crate, every method under /dav.
    let dav = netdisk_dav::DavService::new(state.0.store.clone());
    let serve_dav = move |Extension(peer): Extension<Peer>, request: Request| {
        let dav = dav.clone();
        async move { dav.handle(request, peer.0).await.map(axum::body::Body::new) }
    };
    Router::new()
        .route("/dav", any(serve_dav.clone()))
        .route("/dav/", any(serve_dav.clone()))
        .route("/dav/{*path}", any(serve_dav))
        .route("/api/v1/login", post(auth::login))
        .route("/api/v1/logout", post(auth::logout))
        .route("/api/v1/refresh", post(auth::refresh))
        .route("/api/v1/session", get(auth::session))
        .route(
            "/api/v1/tokens",
            get(auth::list_tokens).post(auth::add_token),
        )
        .route("/api/v1/tokens/{id}", delete(auth::revoke_token))
        .route("/api/v1/usage", get(files::usage))
        .route("/api/v1/list", get(files::list_home))
        .route("/api/v1/list/{*path}", get(files::list))
        .route("/api/v1/stat/{*path}", get(files::stat))
        .route("/api/v1/mkdir/{*path}", post(files::mkdir))
        .route("/api/v1/move", post(files::rename))
        .route(
            "/api/v1/files/{*path}",
            get(download::get_file)
                .put(upload::put_file)
                .delete(files::remove),
        )
        .route(
            "/api/v1/shares",
            get(shares::list_shares).post(shares::add_share),
        )
        .route("/api/v1/shares/{id}", delete(shares::remove_share))
        .route("/api/v1/public/{token}", get(public::describe))
        .route("/api/v1/public/{token}/unlock", post(public::unlock))
        .route("/api/v1/public/{token}/list", get(public::list))
        .route(
            "/api/v1/public/{token}/file",
            get(public::download).put(public::drop_file),
        )
        .route("/api/v1/tus", options(tus::options).post(tus::create))
        .route(
            "/api/v1/tus/{id}",
            head(tus::head).patch(tus::patch).delete(tus::terminate),
        )
        .merge(ui::router())
        .fallback(files::no_route)
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .layer(axum::middleware::map_response(harden))
        .with_state(state)
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
