//! The API's OpenAPI 3.1 document, served at `/api/v1/openapi.json` and
//! made from the code: every `/api/v1` route is registered through
//! utoipa-axum's `OpenApiRouter` together with its handler's
//! `#[utoipa::path]`, so no route goes undocumented and no documented
//! operation lacks its route. tests/openapi.rs checks the document and
//! calls every operation on a running gateway against it.

use crate::error::ErrorBody;
use crate::routes::AppState;
use crate::{auth, download, files, public, shares, tus, upload};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use bytes::Bytes;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::OpenApi as Document;
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "netdisk HTTP API",
        description = "netdisk's web gateway over its storage engine: the same users, jail, \
            quotas, verified atomic commit and audit log as the native protocol. \
            docs/HTTP.md explains the conventions (paths, errors, limits).",
        license(name = "MIT OR Apache-2.0"),
    ),
    components(schemas(ErrorBody)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "login", description = "Logging in, sessions and API tokens"),
        (name = "files", description = "The user's files and directories"),
        (name = "shares", description = "The user's share links"),
        (name = "public", description = "What a share link's visitor may do, without a login"),
        (name = "tus", description = "Resumable uploads (tus 1.0.0: creation, termination, checksum)"),
        (name = "meta", description = "This document"),
    )
)]
struct ApiDoc;

/// The two ways to present a login: a bearer token, or a browser's
/// session cookie (whose writes also carry `X-CSRF-Token`).
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A session token from /api/v1/login or a personal token (`ndt_...`)",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::auth::SESSION_COOKIE,
                "A browser's session (login with `cookie: true`); writes also need \
                 `X-CSRF-Token`",
            ))),
        );
    }
}

/// The document, serialised once.
#[derive(Clone)]
struct DocumentJson(Bytes);

/// The API's routes, each with its documentation, and the route that
/// serves the document.
pub(crate) fn api_routes() -> Router<AppState> {
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::session))
        .routes(routes!(auth::list_tokens, auth::add_token))
        .routes(routes!(auth::revoke_token))
        .routes(routes!(files::usage))
        .routes(routes!(files::list_home))
        .routes(routes!(files::list))
        .routes(routes!(files::stat))
        .routes(routes!(files::mkdir))
        .routes(routes!(files::rename))
        .routes(routes!(download::get_file, upload::put_file, files::remove))
        .routes(routes!(shares::list_shares, shares::add_share))
        .routes(routes!(shares::remove_share))
        .routes(routes!(public::describe))
        .routes(routes!(public::unlock))
        .routes(routes!(public::list))
        .routes(routes!(public::download, public::drop_file))
        .routes(routes!(tus::options, tus::create))
        .routes(routes!(tus::head, tus::patch, tus::terminate))
        .routes(routes!(openapi_json))
        .split_for_parts();
    openapi_paths(&mut doc);
    // Made from types in this crate alone: it serialises, or the build is wrong.
    let json = serde_json::to_vec_pretty(&doc).expect("the OpenAPI document serialises");
    router.layer(Extension(DocumentJson(json.into())))
}

/// What OpenAPI wants and axum's spelling does not give: axum writes a
/// parameter that takes the rest of the path, slashes included, as
/// `{*path}` (OpenAPI: `{path}`), and a handler that serves GET and HEAD
/// gives both operations its name (OpenAPI: ids are unique).
fn openapi_paths(doc: &mut Document) {
    let paths = std::mem::take(&mut doc.paths.paths);
    doc.paths.paths = paths
        .into_iter()
        .map(|(path, mut item)| {
            if let (Some(get), Some(head)) = (&item.get, &mut item.head) {
                if head.operation_id == get.operation_id {
                    head.operation_id = get.operation_id.as_ref().map(|id| format!("{id}_head"));
                }
            }
            (path.replace("{*", "{"), item)
        })
        .collect();
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API",
        content_type = "application/json", body = Object)))]
async fn openapi_json(Extension(doc): Extension<DocumentJson>) -> Response {
    let mut response = doc.0.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
