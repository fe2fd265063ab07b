//! What a share link's visitor (no login) may do, under
//! `/api/v1/public/{token}`: learn what the link is, give its password,
//! list a shared folder, download, or drop a file into an upload-only
//! folder. The store decides everything (`netdisk_store::OpenShare`);
//! this translates. An unknown or revoked link answers 404, an expired or
//! used-up one 410, and nothing else about it.

use crate::cookies;
use crate::download::Reply;
use crate::error::ApiError;
use crate::error::ErrorBody;
use crate::gateway::Peer;
use crate::routes::AppState;
use crate::schemas::EntryKindSchema;
use crate::schemas::JsonBodyRefused;
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
use serde::{Deserialize, Serialize};
use std::time::Duration;
use utoipa::{IntoParams, ToSchema};

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

/// The `{token}` of a share link's URLs.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct LinkToken {
    /// The link's token (`nds_...`), as in its page `/s/TOKEN`.
    token: String,
}

/// What a visitor learns of a link.
#[derive(Serialize, ToSchema)]
pub(crate) struct LinkInfo {
    /// `file` or `dir`.
    #[schema(example = "file")]
    kind: &'static str,
    has_password: bool,
    /// The password was given (or none is wanted): the rest may be used.
    unlocked: bool,
    upload_only: bool,
    /// Seconds since the Unix epoch; null: until revoked.
    #[schema(required = true)]
    expires: Option<i64>,
    /// The shared file's or folder's name; null until unlocked.
    #[schema(required = true)]
    name: Option<String>,
    /// A shared file's size, once unlocked.
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
    /// A shared file's modification time (seconds since the epoch), once
    /// unlocked and when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    modified: Option<i64>,
}

/// What the link is, for its page: before the password, only whether it wants one.
#[utoipa::path(get, path = "/api/v1/public/{token}", tag = "public",
    operation_id = "describe_share_link",
    params(LinkToken),
    responses(
        (status = 200, description = "What the link is", body = LinkInfo),
        (status = 404, description = "No such link (or revoked)", body = ErrorBody),
        (status = 410, description = "The link expired or ran out of downloads", body = ErrorBody),
    ))]
pub(crate) async fn describe(
    State(state): State<AppState>,
    Extension(peer): Extension<Peer>,
    Path(LinkToken { token }): Path<LinkToken>,
    headers: HeaderMap,
) -> Result<Json<LinkInfo>, ApiError> {
    let share = open(&state, peer, &token, &headers).await?;
    let mut answer = LinkInfo {
        kind: share.share.kind,
        has_password: share.share.has_password,
        unlocked: share.unlocked,
        upload_only: share.share.upload_only,
        expires: share.share.expires,
        name: None,
        size: None,
        modified: None,
    };
    if share.unlocked {
        let entry = share.entry(None).await?;
        if entry.kind == EntryKind::File {
            answer.size = Some(entry.size);
            answer.modified = entry.modified;
        }
        answer.name = Some(entry.name);
    }
    Ok(Json(answer))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct UnlockRequest {
    #[schema(format = Password)]
    password: String,
}

/// The link's password; right, it answers the cookie that unlocks the link.
#[utoipa::path(post, path = "/api/v1/public/{token}/unlock", tag = "public",
    params(LinkToken),
    request_body = UnlockRequest,
    responses(
        (status = 204, description = "Unlocked: the `nd_share` cookie (scoped to the link) proves it",
            headers(("Set-Cookie" = String))),
        (status = 400, description = "A malformed body", body = ErrorBody),
        (status = 401, description = "Wrong password", body = ErrorBody),
        (status = 404, description = "No such link (or revoked)", body = ErrorBody),
        (status = 410, description = "The link expired or ran out of downloads", body = ErrorBody),
        (status = 429, description = "Too many wrong passwords; see Retry-After", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        JsonBodyRefused,
    ))]
pub(crate) async fn unlock(
    State(state): State<AppState>,
    Extension(peer): Extension<Peer>,
    Path(LinkToken { token }): Path<LinkToken>,
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

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct InnerPath {
    /// A path inside a shared folder ("sub/file.txt"); none: the link's own.
    path: Option<String>,
}

/// An entry as a visitor sees it: no permission bits.
#[derive(Serialize, ToSchema)]
pub(crate) struct PublicEntry {
    name: String,
    #[schema(value_type = EntryKindSchema)]
    kind: EntryKind,
    size: u64,
    /// Seconds since the Unix epoch; null when unknown.
    #[schema(required = true)]
    modified: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct PublicListing {
    entries: Vec<PublicEntry>,
}

#[utoipa::path(get, path = "/api/v1/public/{token}/list", tag = "public",
    operation_id = "list_shared_folder",
    params(LinkToken, InnerPath),
    responses(
        (status = 200, description = "A shared folder's entries (symlinks left out)", body = PublicListing),
        (status = 400, description = "A path the rules refuse", body = ErrorBody),
        (status = 401, description = "The link wants its password first (`locked`)", body = ErrorBody),
        (status = 403, description = "An upload-only link, or a path out of the shared folder", body = ErrorBody),
        (status = 404, description = "No such link, or nothing at that path", body = ErrorBody),
        (status = 410, description = "The link expired or ran out of downloads", body = ErrorBody),
    ))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Extension(peer): Extension<Peer>,
    Path(LinkToken { token }): Path<LinkToken>,
    Query(query): Query<InnerPath>,
    headers: HeaderMap,
) -> Result<Json<PublicListing>, ApiError> {
    let share = open(&state, peer, &token, &headers).await?;
    let entries = share.list(query.path.as_deref()).await?;
    let entries = entries
        .into_iter()
        .map(|entry| PublicEntry {
            name: entry.name,
            kind: entry.kind,
            size: entry.size,
            modified: entry.modified,
        })
        .collect();
    Ok(Json(PublicListing { entries }))
}

/// A file of the link, as an attachment (Range, ETag and If-None-Match as
/// for the owner's downloads). A request that starts sending from the
/// first byte counts as one download of the link.
#[utoipa::path(method(get, head), path = "/api/v1/public/{token}/file", tag = "public",
    operation_id = "download_shared_file",
    params(
        LinkToken,
        InnerPath,
        ("Range" = Option<String>, Header, description = "One range: `bytes=A-B`, `A-` or `-N`"),
        ("If-None-Match" = Option<String>, Header, description = "ETags the client has"),
    ),
    responses(
        (status = 200, description = "The file, as an attachment (one download of the link)",
            content_type = "application/octet-stream", body = String),
        (status = 206, description = "The range asked for (from byte 0: one download of the link)",
            content_type = "application/octet-stream", body = String),
        (status = 304, description = "The client's copy is current (not a download)"),
        (status = 400, description = "A path the rules refuse", body = ErrorBody),
        (status = 401, description = "The link wants its password first (`locked`)", body = ErrorBody),
        (status = 403, description = "An upload-only link, or a path out of the shared folder", body = ErrorBody),
        (status = 404, description = "No such link, or nothing at that path", body = ErrorBody),
        (status = 409, description = "A folder", body = ErrorBody),
        (status = 410, description = "The link expired or ran out of downloads", body = ErrorBody),
        (status = 416, description = "A range past the end"),
    ))]
pub(crate) async fn download(
    State(state): State<AppState>,
    Extension(peer): Extension<Peer>,
    Path(LinkToken { token }): Path<LinkToken>,
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

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DropName {
    /// The new file's name (one component).
    name: String,
}

/// What a visitor learns of a dropped file: not where it is.
#[derive(Serialize, ToSchema)]
pub(crate) struct Dropped {
    name: String,
    size: u64,
    blake3: String,
}

/// A file dropped into an upload-only folder link, on its owner's quota.
#[utoipa::path(put, path = "/api/v1/public/{token}/file", tag = "public",
    params(
        LinkToken,
        DropName,
        ("Content-Length" = u64, Header, description = "Required"),
        ("X-Netdisk-Blake3" = Option<String>, Header, description = "The body's BLAKE3, 64 hex digits"),
    ),
    request_body(content = String, content_type = "application/octet-stream",
        description = "The file's bytes, streamed"),
    responses(
        (status = 201, description = "Stored in the shared folder", body = Dropped),
        (status = 400, description = "No or a bad name, a body that is not Content-Length long", body = ErrorBody),
        (status = 401, description = "The link wants its password first (`locked`)", body = ErrorBody),
        (status = 403, description = "Not an upload-only link, or a name that climbs out", body = ErrorBody),
        (status = 404, description = "No such link (or revoked)", body = ErrorBody),
        (status = 409, description = "A file of that name is there already", body = ErrorBody),
        (status = 410, description = "The link expired", body = ErrorBody),
        (status = 411, description = "No Content-Length", body = ErrorBody),
        (status = 422, description = "The body's BLAKE3 is not the one sent; nothing stored", body = ErrorBody),
        (status = 507, description = "Over the owner's quota; nothing stored", body = ErrorBody),
    ))]
pub(crate) async fn drop_file(
    State(state): State<AppState>,
    Extension(peer): Extension<Peer>,
    Path(LinkToken { token }): Path<LinkToken>,
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
) -> Result<(StatusCode, Json<Dropped>), ApiError> {
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
        Json(Dropped {
            name,
            size: committed.size,
            blake3: committed.blake3,
        }),
    ))
}
