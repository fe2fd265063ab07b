//! Resumable uploads with tus 1.0 (https://tus.io/protocols/resumable-upload):
//! core, creation, termination and checksum (sha256, blake3), under
//! `/api/v1/tus`. An upload is the store's `ResumableUpload`: its bytes
//! are the target's kept partial (counted toward the quota, expiring
//! like the native protocol's), each PATCH a store `Upload` that goes on
//! from the kept bytes; the last one commits it, verified against the
//! whole file's BLAKE3 when the creation's metadata gave one. By hand:
//! the tus crates on crates.io are servers of their own with their own
//! storage, not a protocol layer over ours.

use crate::auth::Authed;
use crate::error::ApiError;
use crate::error::ErrorBody;
use crate::files::home_path;
use crate::routes::AppState;
use crate::upload::{at_hand_or_flushed, drain_if_refused};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use netdisk_proto::ErrorCode;
use netdisk_store::{ResumableUpload, Upload};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::IntoParams;

const VERSION: &str = "1.0.0";
const TUS_RESUMABLE: HeaderName = HeaderName::from_static("tus-resumable");
const UPLOAD_OFFSET: HeaderName = HeaderName::from_static("upload-offset");
const UPLOAD_LENGTH: HeaderName = HeaderName::from_static("upload-length");
const UPLOAD_EXPIRES: HeaderName = HeaderName::from_static("upload-expires");
/// tus's status for a body whose `Upload-Checksum` did not match.
const CHECKSUM_MISMATCH: u16 = 460;

/// Every tus answer, errors included, names the protocol version.
fn tus(result: Result<Response, ApiError>) -> Response {
    let mut response = result.unwrap_or_else(IntoResponse::into_response);
    response
        .headers_mut()
        .insert(TUS_RESUMABLE, HeaderValue::from_static(VERSION));
    response
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A request must say it speaks tus 1.0.0.
fn require_version(headers: &HeaderMap) -> Result<(), ApiError> {
    if header_str(headers, "tus-resumable") == Some(VERSION) {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::PRECONDITION_FAILED,
        ErrorCode::UnsupportedVersion,
        format!("send Tus-Resumable: {VERSION}"),
    ))
}

fn number(headers: &HeaderMap, name: &str) -> Result<u64, ApiError> {
    header_str(headers, name)
        .and_then(|v| v.trim().parse::<u64>().ok())
        .ok_or_else(|| ApiError::bad_request(format!("{name}: a number of bytes is needed")))
}

/// The `{id}` of an upload's URL.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct UploadId {
    /// As the creation's `Location` gave it.
    id: String,
}

/// `OPTIONS /api/v1/tus`: what this server speaks (no login needed).
#[utoipa::path(options, path = "/api/v1/tus", tag = "tus",
    responses(
        (status = 204, description = "What this server speaks", headers(
            ("Tus-Resumable" = String, description = "`1.0.0`"),
            ("Tus-Version" = String, description = "`1.0.0`"),
            ("Tus-Extension" = String, description = "`creation,termination,checksum`"),
            ("Tus-Checksum-Algorithm" = String, description = "`sha256,blake3`"))),
    ))]
pub(crate) async fn options() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert("tus-version", HeaderValue::from_static(VERSION));
    headers.insert(
        "tus-extension",
        HeaderValue::from_static("creation,termination,checksum"),
    );
    headers.insert(
        "tus-checksum-algorithm",
        HeaderValue::from_static("sha256,blake3"),
    );
    tus(Ok(response))
}

/// `Upload-Metadata`: comma-separated `key base64value` pairs.
fn metadata(headers: &HeaderMap) -> Result<Vec<(String, String)>, ApiError> {
    let Some(text) = header_str(headers, "upload-metadata") else {
        return Ok(Vec::new());
    };
    let mut pairs = Vec::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once(' ').unwrap_or((pair, ""));
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(value.trim())
            .map_err(|_| ApiError::bad_request(format!("Upload-Metadata: {key}: not base64")))?;
        let value = String::from_utf8(bytes)
            .map_err(|_| ApiError::bad_request(format!("Upload-Metadata: {key}: not UTF-8")))?;
        pairs.push((key.to_owned(), value));
    }
    Ok(pairs)
}

/// `POST /api/v1/tus` (creation): `Upload-Length`, and `Upload-Metadata`
/// with `path` (in the home, as elsewhere), optionally `modified`
/// (seconds since the epoch) and `blake3` (the whole file's, hex).
#[utoipa::path(post, path = "/api/v1/tus", tag = "tus",
    security(("bearer" = []), ("session_cookie" = [])),
    params(
        ("Tus-Resumable" = String, Header, description = "`1.0.0`"),
        ("Upload-Length" = u64, Header, description = "The whole file's size"),
        ("Upload-Metadata" = String, Header,
            description = "`path BASE64` (the target in the home), optionally `modified BASE64` (seconds since the epoch) and `blake3 BASE64` (the whole file's hash, hex), comma-separated"),
    ),
    responses(
        (status = 201, description = "Created: PATCH the bytes to Location", headers(
            ("Location" = String, description = "`/api/v1/tus/ID`"),
            ("Upload-Offset" = u64, description = "0"))),
        (status = 400, description = "A missing or malformed header, a path the rules refuse", body = ErrorBody),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "A path out of the home, or no CSRF token", body = ErrorBody),
        (status = 404, description = "A missing parent directory", body = ErrorBody),
        (status = 409, description = "A directory in the way, or an upload to that path under way", body = ErrorBody),
        (status = 412, description = "No `Tus-Resumable: 1.0.0`", body = ErrorBody),
        (status = 507, description = "Over the quota", body = ErrorBody),
    ))]
pub(crate) async fn create(authed: Authed, headers: HeaderMap) -> Response {
    tus(create_upload(authed, &headers).await)
}

async fn create_upload(authed: Authed, headers: &HeaderMap) -> Result<Response, ApiError> {
    require_version(headers)?;
    if headers.contains_key("upload-defer-length") {
        return Err(ApiError::bad_request(
            "Upload-Defer-Length is not supported: send Upload-Length",
        ));
    }
    let size = number(headers, "upload-length")?;
    let metadata = metadata(headers)?;
    let field = |name: &str| {
        metadata
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    let path = field("path")
        .ok_or_else(|| ApiError::bad_request("Upload-Metadata needs path (the target)"))?;
    let target = home_path(path)?;
    let modified = field("modified")
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| ApiError::bad_request("metadata modified: seconds since the epoch"))
        })
        .transpose()?;
    let blake3 = field("blake3")
        .map(|v| {
            let hex = v.trim().to_ascii_lowercase();
            if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                Ok(hex)
            } else {
                Err(ApiError::bad_request("metadata blake3: 64 hex digits"))
            }
        })
        .transpose()?;
    let upload = authed
        .space
        .create_resumable(&target, size, modified, blake3)
        .await?;
    let location = format!("/api/v1/tus/{}", upload.id);
    Ok((
        StatusCode::CREATED,
        [
            (header::LOCATION, location),
            (UPLOAD_OFFSET, "0".to_owned()),
        ],
    )
        .into_response())
}

fn state_headers(upload: &ResumableUpload, response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(UPLOAD_OFFSET, HeaderValue::from(upload.offset));
    headers.insert(UPLOAD_LENGTH, HeaderValue::from(upload.size));
    if let Some(time) = upload
        .expires
        .and_then(|s| u64::try_from(s).ok())
        .map(|s| std::time::UNIX_EPOCH + std::time::Duration::from_secs(s))
    {
        if let Ok(value) = HeaderValue::from_str(&httpdate::fmt_http_date(time)) {
            headers.insert(UPLOAD_EXPIRES, value);
        }
    }
}

/// `HEAD /api/v1/tus/ID`: how many bytes the server has.
#[utoipa::path(head, path = "/api/v1/tus/{id}", tag = "tus",
    security(("bearer" = []), ("session_cookie" = [])),
    params(UploadId, ("Tus-Resumable" = String, Header, description = "`1.0.0`")),
    responses(
        (status = 200, description = "The upload's state", headers(
            ("Upload-Offset" = u64, description = "Bytes the server has: PATCH from here"),
            ("Upload-Length" = u64),
            ("Upload-Expires" = String, description = "When the kept bytes expire (HTTP date)"))),
        (status = 401, description = "Not logged in"),
        (status = 404, description = "No such upload (or another user's, or expired)"),
        (status = 412, description = "No `Tus-Resumable: 1.0.0`"),
    ))]
pub(crate) async fn head(
    authed: Authed,
    headers: HeaderMap,
    Path(UploadId { id }): Path<UploadId>,
) -> Response {
    tus(async {
        require_version(&headers)?;
        let upload = authed.space.resumable(&id).await?;
        let mut response = StatusCode::OK.into_response();
        state_headers(&upload, &mut response);
        Ok(response)
    }
    .await)
}

/// `DELETE /api/v1/tus/ID` (termination): the bytes are discarded.
#[utoipa::path(delete, path = "/api/v1/tus/{id}", tag = "tus",
    security(("bearer" = []), ("session_cookie" = [])),
    params(UploadId, ("Tus-Resumable" = String, Header, description = "`1.0.0`")),
    responses(
        (status = 204, description = "The upload and its bytes are gone"),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "A cookie session without its CSRF token", body = ErrorBody),
        (status = 404, description = "No such upload", body = ErrorBody),
        (status = 412, description = "No `Tus-Resumable: 1.0.0`", body = ErrorBody),
    ))]
pub(crate) async fn terminate(
    authed: Authed,
    headers: HeaderMap,
    Path(UploadId { id }): Path<UploadId>,
) -> Response {
    tus(async {
        require_version(&headers)?;
        authed.space.cancel_resumable(&id).await?;
        Ok(StatusCode::NO_CONTENT.into_response())
    }
    .await)
}

/// The body's checksum as `Upload-Checksum` gives it.
enum Checksum {
    Sha256(Sha256, Vec<u8>),
    Blake3(Box<blake3::Hasher>, Vec<u8>),
}

impl Checksum {
    fn from_headers(headers: &HeaderMap) -> Result<Option<Checksum>, ApiError> {
        let Some(value) = header_str(headers, "upload-checksum") else {
            return Ok(None);
        };
        let (algorithm, digest) = value
            .trim()
            .split_once(' ')
            .ok_or_else(|| ApiError::bad_request("Upload-Checksum: ALGORITHM BASE64"))?;
        let digest = base64::engine::general_purpose::STANDARD
            .decode(digest.trim())
            .map_err(|_| ApiError::bad_request("Upload-Checksum: the digest is not base64"))?;
        match algorithm {
            "sha256" => Ok(Some(Checksum::Sha256(Sha256::new(), digest))),
            "blake3" => Ok(Some(Checksum::Blake3(Box::default(), digest))),
            other => Err(ApiError::bad_request(format!(
                "Upload-Checksum: {other} is not supported (sha256, blake3)"
            ))),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        match self {
            Checksum::Sha256(hasher, _) => hasher.update(bytes),
            Checksum::Blake3(hasher, _) => {
                hasher.update(bytes);
            }
        }
    }

    fn matches(self) -> bool {
        match self {
            Checksum::Sha256(hasher, want) => hasher.finalize().as_slice() == want.as_slice(),
            Checksum::Blake3(hasher, want) => hasher.finalize().as_bytes() == want.as_slice(),
        }
    }
}

/// `PATCH /api/v1/tus/ID`: bytes from `Upload-Offset` (which must be the
/// server's), as `application/offset+octet-stream`. The answer is the new
/// offset; the request that brings the last byte commits the file.
#[utoipa::path(patch, path = "/api/v1/tus/{id}", tag = "tus",
    security(("bearer" = []), ("session_cookie" = [])),
    params(
        UploadId,
        ("Tus-Resumable" = String, Header, description = "`1.0.0`"),
        ("Upload-Offset" = u64, Header, description = "Where these bytes go: the offset the server reported"),
        ("Upload-Checksum" = Option<String>, Header, description = "`sha256 BASE64` or `blake3 BASE64` of this body"),
    ),
    request_body(content = String, content_type = "application/offset+octet-stream",
        description = "The next bytes of the file"),
    responses(
        (status = 204, description = "Kept (the last byte: the file is committed)", headers(
            ("Upload-Offset" = u64, description = "The new offset"))),
        (status = 400, description = "A malformed header, a body past Upload-Length", body = ErrorBody),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "A cookie session without its CSRF token", body = ErrorBody),
        (status = 404, description = "No such upload", body = ErrorBody),
        (status = 409, description = "Upload-Offset is not the server's (`offset_mismatch`)", body = ErrorBody),
        (status = 412, description = "No `Tus-Resumable: 1.0.0`", body = ErrorBody),
        (status = 415, description = "Not `application/offset+octet-stream`", body = ErrorBody),
        (status = 422, description = "The whole file's BLAKE3 is not the creation's; nothing stored", body = ErrorBody),
        (status = 460, description = "The body does not match Upload-Checksum; none of it kept", body = ErrorBody),
        (status = 507, description = "Over the quota, or the disk is full", body = ErrorBody),
    ))]
pub(crate) async fn patch(
    State(state): State<AppState>,
    authed: Result<Authed, ApiError>,
    headers: HeaderMap,
    Path(UploadId { id }): Path<UploadId>,
    body: Body,
) -> Response {
    let mut body = Some(body);
    let outcome = append(&state, authed, &headers, &id, &mut body).await;
    drain_if_refused(&state, &headers, outcome.is_err(), body).await;
    tus(outcome)
}

fn conflict(message: String) -> ApiError {
    ApiError {
        status: StatusCode::CONFLICT,
        code: "offset_mismatch",
        message,
        retry_after: None,
    }
}

async fn append(
    state: &AppState,
    authed: Result<Authed, ApiError>,
    headers: &HeaderMap,
    id: &str,
    body: &mut Option<Body>,
) -> Result<Response, ApiError> {
    let authed = authed?;
    require_version(headers)?;
    if header_str(headers, "content-type") != Some("application/offset+octet-stream") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::BadRequest,
            "a PATCH body is Content-Type: application/offset+octet-stream",
        ));
    }
    let offset = number(headers, "upload-offset")?;
    let mut checksum = Checksum::from_headers(headers)?;
    let space = &authed.space;
    let mut resumable = space.resumable(id).await?;
    if offset != resumable.offset {
        return Err(conflict(format!(
            "the server has {} bytes of this upload, not {offset}",
            resumable.offset
        )));
    }
    let mut upload = space
        .begin_upload(&resumable.target, resumable.spec())
        .await?;
    // Another request may have written between the lookup and the claim.
    if upload.offset() != offset || upload.take_restarted().is_some() {
        let has = upload.offset();
        upload.abandon().await;
        return Err(conflict(format!(
            "the server has {has} bytes of this upload, not {offset}"
        )));
    }
    if let Err(e) = upload.start_body(offset).await {
        upload.abandon().await;
        return Err(ApiError::internal(format!("upload: {e}")));
    }
    let Some(body) = body.take() else {
        upload.abandon().await;
        return Err(ApiError::internal("upload body taken twice"));
    };
    let room = resumable.size - offset;
    let received = match receive(state, body, room, &mut upload, checksum.as_mut()).await {
        Ok(received) => received,
        Err(Cut::Overlong(err)) => {
            upload.abandon_body().await;
            return Err(err);
        }
        // What landed before the cut stays: HEAD tells the client.
        Err(Cut::Stopped(err)) => {
            upload.abandon().await;
            return Err(err);
        }
    };
    if checksum.is_some_and(|checksum| !checksum.matches()) {
        upload.abandon_body().await;
        return Err(ApiError {
            status: StatusCode::from_u16(CHECKSUM_MISMATCH).unwrap_or(StatusCode::BAD_REQUEST),
            code: ErrorCode::Integrity.as_str(),
            message: "the body does not match its Upload-Checksum; it was not kept".into(),
            retry_after: None,
        });
    }
    if offset + received < resumable.size {
        // Not the end: the bytes stay in the partial for the next PATCH
        // (all of them, or on a cluster the whole parts among them).
        resumable.offset = upload.abandon().await;
    } else {
        resumable.offset = offset + received;
        let committed = match resumable.blake3.as_deref() {
            Some(hash) => upload.finish(hash).await,
            None => upload.finish_unhashed().await,
        };
        // Committed or refused, the partial is gone: so is the id.
        space.forget_resumable(id).await?;
        committed?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    state_headers(&resumable, &mut response);
    response.headers_mut().remove(UPLOAD_EXPIRES);
    Ok(response)
}

/// Why a PATCH body stopped before its end.
enum Cut {
    /// More bytes than the upload has room for: none of this body is kept.
    Overlong(ApiError),
    /// The client stopped sending (a dropped connection, a stall).
    Stopped(ApiError),
}

/// The body into the upload, each wait bounded; returns the bytes.
async fn receive(
    state: &AppState,
    body: Body,
    room: u64,
    upload: &mut Upload,
    mut checksum: Option<&mut Checksum>,
) -> Result<u64, Cut> {
    let stall = state.0.config.stall_timeout;
    let mut body = body.into_data_stream();
    let mut received = 0u64;
    loop {
        let at_hand = at_hand_or_flushed(&mut body, upload)
            .await
            .map_err(|e| Cut::Stopped(ApiError::internal(format!("upload: {e}"))))?;
        let next = match at_hand {
            Some(next) => next,
            None => tokio::time::timeout(stall, futures_util::StreamExt::next(&mut body))
                .await
                .map_err(|_| {
                    Cut::Stopped(ApiError::new(
                        StatusCode::REQUEST_TIMEOUT,
                        ErrorCode::Timeout,
                        format!("no byte of the upload for {} s", stall.as_secs()),
                    ))
                })?,
        };
        let Some(chunk) = next else {
            return Ok(received);
        };
        let chunk =
            chunk.map_err(|e| Cut::Stopped(ApiError::bad_request(format!("upload body: {e}"))))?;
        received += chunk.len() as u64;
        if received > room {
            return Err(Cut::Overlong(ApiError::bad_request(format!(
                "the body goes past Upload-Length ({room} bytes were left)"
            ))));
        }
        if let Some(checksum) = checksum.as_deref_mut() {
            checksum.update(&chunk);
        }
        upload
            .write(chunk)
            .await
            .map_err(|e| Cut::Stopped(ApiError::internal(format!("upload: {e}"))))?;
    }
}
