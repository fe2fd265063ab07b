//! A user's share links: `POST /api/v1/shares` makes one, `GET` lists
//! them, `DELETE /api/v1/shares/{id}` revokes one. The rules (what can be
//! shared, how a link ends) are the store's (`netdisk_store::ShareSpec`).

use crate::auth::Authed;
use crate::error::ApiError;
use crate::files::home_path;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use netdisk_store::{Share, ShareSpec};
use serde::Deserialize;
use std::time::Duration;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ShareRequest {
    /// What to share, as in the other endpoints: "~/photos" or "photos".
    path: String,
    password: Option<String>,
    /// Seconds from now; none: until revoked.
    expires_in: Option<u64>,
    max_downloads: Option<u64>,
    #[serde(default)]
    upload_only: bool,
}

/// A link as the API shows it: the store's, with the page to open.
pub(crate) fn share_json(share: &Share) -> serde_json::Value {
    let mut value = serde_json::to_value(share).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.insert("url".into(), format!("/s/{}", share.token).into());
    }
    value
}

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
    Ok((StatusCode::CREATED, Json(share_json(&share))))
}

pub(crate) async fn list_shares(authed: Authed) -> Result<impl IntoResponse, ApiError> {
    let shares = authed.space.shares().await?;
    let shares: Vec<_> = shares.iter().map(share_json).collect();
    Ok(Json(serde_json::json!({ "shares": shares })))
}

pub(crate) async fn remove_share(
    authed: Authed,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    authed.space.remove_share(id).await?;
    Ok(StatusCode::NO_CONTENT)
}
