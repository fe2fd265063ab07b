//! A user's share links: `POST /api/v1/shares` makes one, `GET` lists
//! them, `DELETE /api/v1/shares/{id}` revokes one. The rules (what can be
//! shared, how a link ends) are the store's (`netdisk_store::ShareSpec`).

use crate::auth::Authed;
use crate::error::ApiError;
use crate::error::ErrorBody;
use crate::files::home_path;
use crate::schemas::JsonBodyRefused;
use crate::schemas::ShareSchema;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use netdisk_store::{Share, ShareSpec};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ShareRequest {
    /// What to share, as in the other endpoints: "~/photos" or "photos".
    #[schema(example = "photos")]
    path: String,
    /// Visitors give it first (throttled like a login).
    #[schema(format = Password)]
    password: Option<String>,
    /// Seconds from now; none: until revoked.
    expires_in: Option<u64>,
    max_downloads: Option<u64>,
    #[serde(default)]
    upload_only: bool,
}

/// A link as the API shows it (`schemas::ShareSchema`): the store's, with
/// the page to open.
#[derive(Serialize)]
pub(crate) struct ShareView {
    #[serde(flatten)]
    share: Share,
    url: String,
}

impl From<Share> for ShareView {
    fn from(share: Share) -> ShareView {
        let url = format!("/s/{}", share.token);
        ShareView { share, url }
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ShareList {
    #[schema(value_type = Vec<ShareSchema>)]
    shares: Vec<ShareView>,
}

#[utoipa::path(post, path = "/api/v1/shares", tag = "shares",
    security(("bearer" = []), ("session_cookie" = [])),
    request_body = ShareRequest,
    responses(
        (status = 201, description = "The new link", body = ShareSchema),
        (status = 400, description = "A path the rules refuse, a malformed body, `max_downloads` 0, an upload-only file", body = ErrorBody),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "A path out of the home, or no CSRF token", body = ErrorBody),
        (status = 404, description = "Nothing at that path", body = ErrorBody),
        JsonBodyRefused,
    ))]
pub(crate) async fn add_share(
    authed: Authed,
    Json(request): Json<ShareRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let path = home_path(&request.path)?;
    let spec = ShareSpec {
        password: request.password,
        expires_in: request.expires_in.map(Duration::from_secs),
        max_downloads: request.max_downloads,
        upload_only: request.upload_only,
    };
    let share = authed.space.add_share(&path, spec).await?;
    Ok((StatusCode::CREATED, Json(ShareView::from(share))))
}

#[utoipa::path(get, path = "/api/v1/shares", tag = "shares",
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The user's links", body = ShareList),
        (status = 401, description = "Not logged in", body = ErrorBody),
    ))]
pub(crate) async fn list_shares(authed: Authed) -> Result<Json<ShareList>, ApiError> {
    let shares = authed.space.shares().await?;
    Ok(Json(ShareList {
        shares: shares.into_iter().map(ShareView::from).collect(),
    }))
}

#[utoipa::path(delete, path = "/api/v1/shares/{id}", tag = "shares",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = i64, Path, description = "The link's id, as listed")),
    responses(
        (status = 204, description = "Revoked: the link answers 404 from now on"),
        (status = 400, description = "An id that is not a number", body = ErrorBody),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "A cookie session without its CSRF token", body = ErrorBody),
        (status = 404, description = "The user has no such link", body = ErrorBody),
    ))]
pub(crate) async fn remove_share(
    authed: Authed,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    authed.space.remove_share(id).await?;
    Ok(StatusCode::NO_CONTENT)
}
