//! `PUT /api/v1/files/PATH`: a streamed upload (never held in memory)
//! through the store's verified upload: space reserved before the first
//! byte, staged outside the home, committed durably and atomically once
//! whole. The client's BLAKE3, when it sends one (`X-Netdisk-Blake3: HEX`
//! or `Content-Digest: blake3=:BASE64:`), must match or nothing is stored.

use crate::auth::Authed;
use crate::error::ApiError;
use crate::error::ErrorBody;
use crate::files::{home_path, InHome};
use crate::routes::AppState;
use axum::body::{Body, BodyDataStream, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use base64::Engine;
use netdisk_proto::ErrorCode;
use netdisk_store::{Committed, SourceAttributes, Upload, UploadSpec};
use serde::Serialize;
use utoipa::ToSchema;

/// A refused upload's body is read and dropped up to this much, so a
/// client that sends its body without waiting (no `Expect: 100-continue`)
/// reads the refusal instead of a reset; a larger one is cut.
const DRAIN_MAX: u64 = 64 * 1024 * 1024;

/// What a committed upload answers.
#[derive(Serialize, ToSchema)]
pub(crate) struct Stored {
    /// As answers show paths (`~/photos/a.jpg`).
    path: String,
    size: u64,
    /// The BLAKE3 of what was stored (hex).
    blake3: String,
}

#[utoipa::path(put, path = "/api/v1/files/{*path}", tag = "files",
    security(("bearer" = []), ("session_cookie" = [])),
    params(
        InHome,
        ("Content-Length" = u64, Header, description = "Required: the quota is checked before the body"),
        ("X-Netdisk-Blake3" = Option<String>, Header, description = "The body's BLAKE3, 64 hex digits"),
        ("Content-Digest" = Option<String>, Header, description = "RFC 9530: `blake3=:BASE64:`"),
        ("If-None-Match" = Option<String>, Header, description = "`*`: refuse if the target exists"),
        ("X-Netdisk-Modified" = Option<i64>, Header, description = "Modification time to keep, seconds since the epoch"),
    ),
    request_body(content = String, content_type = "application/octet-stream",
        description = "The file's bytes, streamed"),
    responses(
        (status = 201, description = "Stored whole and durably, replacing any old file atomically", body = Stored),
        (status = 400, description = "A path the rules refuse, a body longer or shorter than Content-Length, a malformed hash header", body = ErrorBody),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "A path out of the home, or no CSRF token", body = ErrorBody),
        (status = 404, description = "A missing parent directory", body = ErrorBody),
        (status = 408, description = "The body stalled", body = ErrorBody),
        (status = 409, description = "A directory in the way", body = ErrorBody),
        (status = 411, description = "No Content-Length", body = ErrorBody),
        (status = 412, description = "`If-None-Match: *` and the target exists", body = ErrorBody),
        (status = 422, description = "The body's BLAKE3 is not the one sent; nothing stored", body = ErrorBody),
        (status = 507, description = "Over the quota, or the disk is full; nothing stored", body = ErrorBody),
    ))]
pub(crate) async fn put_file(
    State(state): State<AppState>,
    // A refused login is answered like any refusal: after the body is drained.
    authed: Result<Authed, ApiError>,
    headers: HeaderMap,
    Path(InHome { path }): Path<InHome>,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    let mut body = Some(body);
    let outcome = upload(&state, authed, &headers, &path, &mut body).await;
    drain_if_refused(&state, &headers, outcome.is_err(), body).await;
    outcome
}

/// A refused upload's body, still unread, is drained before the answer
/// goes out, unless the client waits for `100 Continue` (then it never
/// sent one).
pub(crate) async fn drain_if_refused(
    state: &AppState,
    headers: &HeaderMap,
    refused: bool,
    body: Option<Body>,
) {
    let waits_for_continue = headers
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    if let (true, Some(body), false) = (refused, body, waits_for_continue) {
        drain(body, state.0.config.stall_timeout).await;
    }
}

async fn drain(body: Body, stall: std::time::Duration) {
    let mut body = body.into_data_stream();
    let mut drained = 0u64;
    while drained <= DRAIN_MAX {
        match tokio::time::timeout(stall, futures_util::StreamExt::next(&mut body)).await {
            Ok(Some(Ok(chunk))) => drained += chunk.len() as u64,
            _ => return,
        }
    }
}

/// The upload's size: `Content-Length`, which an upload must have (the
/// quota is checked before the body).
pub(crate) fn content_length(headers: &HeaderMap) -> Result<u64, ApiError> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::LENGTH_REQUIRED,
                ErrorCode::BadRequest,
                "an upload needs Content-Length (the quota is checked before the body)",
            )
        })
}

/// `X-Netdisk-Modified`: the file's modification time to keep.
pub(crate) fn modified_header(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    headers
        .get("x-netdisk-modified")
        .map(|v| v.to_str().ok().and_then(|v| v.parse::<i64>().ok()))
        .map(|parsed| {
            parsed
                .ok_or_else(|| ApiError::bad_request("X-Netdisk-Modified: seconds since the epoch"))
        })
        .transpose()
}

async fn upload(
    state: &AppState,
    authed: Result<Authed, ApiError>,
    headers: &HeaderMap,
    path: &str,
    body: &mut Option<Body>,
) -> Result<(StatusCode, Json<Stored>), ApiError> {
    let authed = authed?;
    let path = home_path(path)?;
    let size = content_length(headers)?;
    let expected = client_hash(headers)?;
    let create_new = headers.get(header::IF_NONE_MATCH).is_some_and(|v| v == "*");
    let spec = UploadSpec {
        size,
        attributes: SourceAttributes {
            modified: modified_header(headers)?,
            mode: None,
        },
        resume: false,
        create_new,
    };
    // If-None-Match: * is the store's create_new, checked when the upload
    // begins and again, atomically, when it commits; HTTP calls it 412.
    let precondition = |err: ApiError| match err.code {
        "exists" if create_new => ApiError {
            status: StatusCode::PRECONDITION_FAILED,
            message: format!("{path} exists (If-None-Match: *)"),
            ..err
        },
        _ => err,
    };
    let upload = authed
        .space
        .begin_upload(&path, spec)
        .await
        .map_err(|e| precondition(e.into()))?;
    let committed = receive_and_commit(state, upload, body, size, expected)
        .await
        .map_err(precondition)?;
    Ok((
        StatusCode::CREATED,
        Json(Stored {
            path: committed.path.to_string(),
            size: committed.size,
            blake3: committed.blake3,
        }),
    ))
}

/// The body into a begun upload, then its verified commit; an upload
/// that fails on the way is abandoned (nothing stored, space given back).
pub(crate) async fn receive_and_commit(
    state: &AppState,
    mut upload: Upload,
    body: &mut Option<Body>,
    size: u64,
    expected: Option<String>,
) -> Result<Committed, ApiError> {
    if let Err(e) = upload.start_body(0).await {
        upload.abandon().await;
        return Err(ApiError::internal(format!("upload: {e}")));
    }
    let Some(body) = body.take() else {
        upload.abandon().await;
        return Err(ApiError::internal("upload body taken twice"));
    };
    if let Err(err) = receive(body, size, &mut upload, state).await {
        upload.abandon().await;
        return Err(err);
    }
    Ok(match expected {
        Some(hash) => upload.finish(&hash).await?,
        None => upload.finish_unhashed().await?,
    })
}

/// The body into the upload, each wait for the next piece bounded.
async fn receive(
    body: Body,
    size: u64,
    upload: &mut Upload,
    state: &AppState,
) -> Result<(), ApiError> {
    let stall = state.0.config.stall_timeout;
    let mut body = body.into_data_stream();
    let mut remaining = size;
    loop {
        let at_hand = at_hand_or_flushed(&mut body, upload)
            .await
            .map_err(|e| ApiError::internal(format!("upload: {e}")))?;
        let next = match at_hand {
            Some(next) => next,
            None => tokio::time::timeout(stall, futures_util::StreamExt::next(&mut body))
                .await
                .map_err(|_| {
                    ApiError::new(
                        StatusCode::REQUEST_TIMEOUT,
                        ErrorCode::Timeout,
                        format!("no byte of the upload for {} s", stall.as_secs()),
                    )
                })?,
        };
        let Some(chunk) = next else { break };
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("upload body: {e}")))?;
        remaining = remaining
            .checked_sub(chunk.len() as u64)
            .ok_or_else(|| ApiError::bad_request("upload body longer than Content-Length"))?;
        upload
            .write(chunk)
            .await
            .map_err(|e| ApiError::internal(format!("upload: {e}")))?;
    }
    if remaining > 0 {
        return Err(ApiError::bad_request(
            "upload body shorter than Content-Length",
        ));
    }
    Ok(())
}

/// The body's next piece if it has already arrived. When it has not, the
/// pieces the upload gathered go to the disk before the wait, so a client
/// that pauses (or is cut) has all it sent written, as a resumable upload
/// then reports.
pub(crate) async fn at_hand_or_flushed(
    body: &mut BodyDataStream,
    upload: &mut Upload,
) -> std::io::Result<Option<Option<Result<Bytes, axum::Error>>>> {
    let next = futures_util::StreamExt::next(body);
    if let Some(piece) = futures_util::FutureExt::now_or_never(next) {
        return Ok(Some(piece));
    }
    upload.flush().await?;
    Ok(None)
}

/// The client's BLAKE3 of the file, as lower-case hex, if it sent one.
pub(crate) fn client_hash(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    if let Some(value) = headers.get("x-netdisk-blake3") {
        let hex = value.to_str().unwrap_or("").trim().to_ascii_lowercase();
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ApiError::bad_request(
                "X-Netdisk-Blake3 must be 64 hex digits",
            ));
        }
        return Ok(Some(hex));
    }
    let Some(digest) = headers.get("content-digest").and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    // RFC 9530: a dictionary of algorithm=:base64:; only blake3 is checked.
    for member in digest.split(',') {
        let Some((algorithm, value)) = member.trim().split_once('=') else {
            continue;
        };
        if !algorithm.trim().eq_ignore_ascii_case("blake3") {
            continue;
        }
        let bytes = value
            .trim()
            .strip_prefix(':')
            .and_then(|v| v.strip_suffix(':'))
            .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
            .filter(|bytes| bytes.len() == 32)
            .ok_or_else(|| {
                ApiError::bad_request("Content-Digest: blake3=:<32 bytes in base64>:")
            })?;
        return Ok(Some(bytes.iter().map(|b| format!("{b:02x}")).collect()));
    }
    Ok(None)
}
