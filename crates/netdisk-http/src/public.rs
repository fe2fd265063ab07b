//! What a share link's visitor (no login) may do, under
//! `/api/v1/public/{token}`: learn what the link is, give its password,
//! list a shared folder, download, or drop a file into an upload-only
//! folder. The store decides everything (`netdisk_store::OpenShare`);
//! this translates. An unknown or revoked link answers 404, an expired or
//! used-up one 410, and nothing else about it.

use crate::cookies;
use crate::download::Reply;
use crate::error::ApiError;
use crate::gateway::Peer;
use crate::routes::AppState;
use crate::upload::{
    client_hash, content_length, drain_if_refused, modified_header, receive_and_commit,
};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use netdisk_proto::{EntryKind, ErrorCode};
use netdisk_store::{OpenShare, ShareRefused};
use serde::Deserialize;
use std::time::Duration;

/// The cookie that proves a link's password was given (scoped to the link).
const UNLOCK_COOKIE: &str = "nd_share";
/// How long that cookie lasts (the proof inside expires then too).
const UNLOCK_LIFETIME: Duration = Duration::from_secs(12 * 3600);

impl From<ShareRefused> for ApiError {
    fn from(refused: ShareRefused) -> ApiError {
        let refusal = |status, code: &'static str, message: &str| ApiError {
            status,
            code,
            message: message.to_owned(),
            retry_after: None,
        };
        match refused {
            ShareRefused::NotFound => refusal(
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound.as_str(),
                "no such share link",
            ),
            ShareRefused::Gone(reason) => refusal(
                StatusCode::GONE,
                "gone",
                &format!("this share link has ended ({reason})"),
            ),
            ShareRefused::Locked => refusal(
                StatusCode::UNAUTHORIZED,
                "locked",
                "this share link wants its password first",
            ),
            ShareRefused::WrongPassword => {
                ApiError::unauthorized("wrong password for this share link")
            }
            ShareRefused::Throttled(wait) => {
                let mut err = ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    ErrorCode::Throttled,
                    "too many wrong passwords for this link; try again later",
                );
                err.retry_after = Some(wait);
                err
            }
            ShareRefused::Store(err) => err.into(),
        }
    }
}

/// The link, opened with the visitor's unlock cookie if they have one.
async fn open(
    state: &AppState,
    peer: Peer,
    token: &str,
    headers: &HeaderMap,
) -> Result<OpenShare, ApiError> {
    let proof = cookies::find(headers, UNLOCK_COOKIE);
    Ok(state
        .0
        .store
        .open_share(token, peer.0, proof.as_deref())
        .await?)
}

/// What the link is, for its page: before the password, only whether it wants one.
pub(crate) async fn describe(
    State(state): State<AppState>,
    Extension(peer): Extension<Peer>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let share = open(&state, peer, &token, &headers).await?;
    let mut answer = serde_json::json!({
        "kind": share.share.kind,
        "has_password": share.share.has_password,
        "unlocked": share.unlocked,
        "upload_only": share.share.upload_only,
        "expires": share.share.expires,
        "name": null,
    });
    if share.unlocked {
        let entry = share.entry(None)?;
        answer["name"] = entry.name.into();
        if entry.kind == EntryKind::File {
            answer["size"] = entry.size.into();
            answer["modified"] = entry.modified.into();
        }
    }
    Ok(Json(answer))
}

#[derive(Deserialize)]
pub(crate) struct UnlockRequest {
    password: String,
}

/// The link's password; right, it answers the cookie that unlocks the link.
pub(crate) async fn unlock(
    State(state): State<AppState>,
    Extension(peer): Extension<Peer>,
    Path(token): Path<String>,
    Json(request): Json<UnlockRequest>,
) -> Result<Response, ApiError> {
    let proof = state
        .0
        .store
        .unlock_share(&token, peer.0, &request.password)
        .await?;
    // The token is base64url (checked by the lookup), safe in a cookie path.
    let cookie = cookies::set(
        UNLOCK_COOKIE,
        &proof,
        &format!("/api/v1/public/{token}"),
        Some(UNLOCK_LIFETIME),
        state.0.https,
    );
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

#[derive(Deserialize)]
pub(crate) struct InnerPath {
    /// A path inside a shared folder ("sub/file.txt"); none: the link's own.
    path: Option<String>,
}

pub(crate) async fn list(
    State(state): State<AppState>,
    Extension(peer): Extension<Peer>,
    Path(token): Path<String>,
    Query(query): Query<InnerPath>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let share = open(&state, peer, &token, &headers).await?;
    let entries = share.list(query.path.as_deref()).await?;
    let entries: Vec<_> = entries
        .iter()
        .map(|entry| {
            serde_json::json!({
                "name": entry.name,
                "kind": entry.kind,
                "size": entry.size,
                "modified": entry.modified,
            })
        })
        .collect();
    Ok(Json(serde_json::json!({ "entries": entries })))
}

/// A file of the link, as an attachment (Range, ETag and If-None-Match as
/// for the owner's downloads). A request that starts sending from the
/// first byte counts as one download of the link.
pub(crate) async fn download(
    State(state): State<AppState>,
    Extension(peer): Extension<Peer>,
    Path(token): Path<String>,
    Query(query): Query<InnerPath>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let share = open(&state, peer, &token, &headers).await?;
    let download = share.open_download(query.path.as_deref()).await?;
    let reply = Reply::prepare(&download, &method, &headers);
    if reply.starts_download() {
        if let Err(refused) = share.count_download(&download).await {
            download.finish_part();
            return Err(refused.into());
        }
    }
    reply.send(download)
}

#[derive(Deserialize)]
pub(crate) struct DropName {
    name: String,
}

/// A file dropped into an upload-only folder link, on its owner's quota.
pub(crate) async fn drop_file(
    State(state): State<AppState>,
    Extension(peer): Extension<Peer>,
    Path(token): Path<String>,
    query: Result<Query<DropName>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    let mut body = Some(body);
    let outcome = drop_into(&state, peer, &token, query, &headers, &mut body).await;
    drain_if_refused(&state, &headers, outcome.is_err(), body).await;
    outcome
}

async fn drop_into(
    state: &AppState,
    peer: Peer,
    token: &str,
    query: Result<Query<DropName>, axum::extract::rejection::QueryRejection>,
    headers: &HeaderMap,
    body: &mut Option<Body>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let Query(DropName { name }) =
        query.map_err(|_| ApiError::bad_request("a dropped file needs ?name=FILE_NAME"))?;
    let share = open(state, peer, token, headers).await?;
    let size = content_length(headers)?;
    let expected = client_hash(headers)?;
    let upload = share
        .begin_drop(&name, size, modified_header(headers)?)
        .await?;
    let committed = receive_and_commit(state, upload, body, size, expected).await?;
    // The visitor learns what arrived, not where it is in the owner's home.
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({
            "name": name,
            "size": committed.size,
            "blake3": committed.blake3,
        })),
    ))
}
