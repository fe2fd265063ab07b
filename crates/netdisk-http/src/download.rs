//! `GET`/`HEAD /api/v1/files/PATH`: the file as an attachment, streamed
//! from the store, with `ETag` = its BLAKE3 when the store recorded one
//! (`If-None-Match` answers 304), `Last-Modified`, and one `Range`.

use crate::auth::Authed;
use crate::error::ApiError;
use crate::error::ErrorBody;
use crate::files::{home_path, InHome};
use crate::range::{self, RangeAsk};
use axum::body::Body;
use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use netdisk_store::Download;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::time::{Duration, UNIX_EPOCH};

/// RFC 8187's attr-char: what may stand unencoded in `filename*`.
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

#[utoipa::path(method(get, head), path = "/api/v1/files/{*path}", tag = "files",
    security(("bearer" = []), ("session_cookie" = [])),
    params(
        InHome,
        ("Range" = Option<String>, Header, description = "One range: `bytes=A-B`, `A-` or `-N`"),
        ("If-Range" = Option<String>, Header, description = "The ETag the range is for"),
        ("If-None-Match" = Option<String>, Header, description = "ETags the client has"),
    ),
    responses(
        (status = 200, description = "The file, as an attachment (HEAD: the headers alone)",
            content_type = "application/octet-stream", body = String, headers(
            ("ETag" = String, description = "`\"BLAKE3-HEX\"`, when the store recorded the hash"),
            ("Content-Disposition" = String, description = "attachment, with RFC 8187 `filename*`"),
            ("Last-Modified" = String),
            ("Accept-Ranges" = String))),
        (status = 206, description = "The range asked for", content_type = "application/octet-stream",
            body = String, headers(("Content-Range" = String, description = "`bytes A-B/SIZE`"))),
        (status = 304, description = "The client's copy (If-None-Match) is current"),
        (status = 400, description = "A path the rules refuse", body = ErrorBody),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "A path out of the home", body = ErrorBody),
        (status = 404, description = "No such file", body = ErrorBody),
        (status = 409, description = "A directory", body = ErrorBody),
        (status = 416, description = "A range past the end",
            headers(("Content-Range" = String, description = "`bytes */SIZE`"))),
    ))]
pub(crate) async fn get_file(
    authed: Authed,
    method: Method,
    headers: HeaderMap,
    Path(InHome { path }): Path<InHome>,
) -> Result<Response, ApiError> {
    let path = home_path(&path)?;
    let download = authed.space.open_download(&path, None).await?;
    let reply = Reply::prepare(&download, &method, &headers);
    reply.send(download)
}

/// What a GET or HEAD of an opened file answers.
enum Answer {
    NotModified,
    Unsatisfiable,
    Part { start: u64, len: u64 },
    Whole,
}

/// The answer to a download request, decided before a byte is sent (a
/// share link counts its downloads by it).
pub(crate) struct Reply {
    response: axum::http::response::Builder,
    answer: Answer,
    head: bool,
    size: u64,
}

impl Reply {
    pub(crate) fn prepare(download: &Download, method: &Method, headers: &HeaderMap) -> Reply {
        let entry = download.entry();
        let etag = download.recorded_hash().map(|hash| format!("\"{hash}\""));
        let mut response = Response::builder()
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .header(header::ACCEPT_RANGES, "bytes")
            .header(header::CONTENT_DISPOSITION, disposition(&entry.name));
        if let Some(etag) = &etag {
            response = response.header(header::ETAG, etag);
        }
        if let Some(seconds) = entry.modified.and_then(|s| u64::try_from(s).ok()) {
            let time = UNIX_EPOCH + Duration::from_secs(seconds);
            response = response.header(header::LAST_MODIFIED, httpdate::fmt_http_date(time));
        }
        let not_modified = etag.as_deref().is_some_and(|etag| {
            headers
                .get(header::IF_NONE_MATCH)
                .and_then(|value| value.to_str().ok())
                .is_some_and(|wanted| {
                    wanted
                        .split(',')
                        .any(|tag| tag.trim() == etag || tag.trim() == "*")
                })
        });
        let range_header = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
        // If-Range with a validator other than the current ETag: the whole file.
        let range_applies = headers
            .get(header::IF_RANGE)
            .and_then(|v| v.to_str().ok())
            .is_none_or(|if_range| etag.as_deref() == Some(if_range.trim()));
        let answer = if not_modified {
            Answer::NotModified
        } else if !range_applies {
            Answer::Whole
        } else {
            match range::parse(range_header, entry.size) {
                RangeAsk::Whole => Answer::Whole,
                RangeAsk::Part { start, len } => Answer::Part { start, len },
                RangeAsk::Unsatisfiable => Answer::Unsatisfiable,
            }
        };
        Reply {
            response,
            answer,
            head: *method == Method::HEAD,
            size: entry.size,
        }
    }

    /// Bytes go out from the file's first byte: a download starts (a
    /// later range continues one; a HEAD or 304 sends nothing).
    pub(crate) fn starts_download(&self) -> bool {
        !self.head && matches!(self.answer, Answer::Whole | Answer::Part { start: 0, .. })
    }

    pub(crate) fn send(self, download: Download) -> Result<Response, ApiError> {
        let Reply {
            response,
            answer,
            head,
            size,
        } = self;
        match answer {
            Answer::NotModified => {
                download.finish_part();
                build(response.status(StatusCode::NOT_MODIFIED), Body::empty())
            }
            Answer::Unsatisfiable => {
                download.finish_part();
                build(
                    response
                        .status(StatusCode::RANGE_NOT_SATISFIABLE)
                        .header(header::CONTENT_RANGE, format!("bytes */{size}")),
                    Body::empty(),
                )
            }
            Answer::Part { start, len } => {
                let response = response
                    .status(StatusCode::PARTIAL_CONTENT)
                    .header(
                        header::CONTENT_RANGE,
                        format!("bytes {start}-{}/{size}", start + len - 1),
                    )
                    .header(header::CONTENT_LENGTH, len);
                if head {
                    download.finish_part();
                    return build(response, Body::empty());
                }
                build(response, part_body(download, start, len)?)
            }
            Answer::Whole => {
                let response = response
                    .status(StatusCode::OK)
                    .header(header::CONTENT_LENGTH, size);
                if head {
                    download.finish_part();
                    return build(response, Body::empty());
                }
                build(response, whole_body(download))
            }
        }
    }
}

fn build(response: axum::http::response::Builder, body: Body) -> Result<Response, ApiError> {
    response
        .body(body)
        .map_err(|e| ApiError::internal(format!("response: {e}")))
}

/// The whole file through the store: its hash is finished (and recorded,
/// if it was not) when the last byte went out; a cut download is audited
/// as interrupted when the body is dropped.
fn whole_body(download: Download) -> Body {
    let stream = futures_util::stream::unfold(Some(download), |state| async move {
        let mut download = state?;
        match download.next_chunk().await {
            Some(Ok(chunk)) => Some((Ok::<Bytes, std::io::Error>(chunk), Some(download))),
            Some(Err(e)) => Some((Err(e), None)),
            None => {
                if let Err(e) = download.finish().await {
                    tracing::warn!(error = %e, "download's hash not finished");
                }
                None
            }
        }
    });
    Body::from_stream(stream)
}

/// Part of the file, from whatever holds it (none of it hashed).
fn part_body(mut download: Download, start: u64, len: u64) -> Result<Body, ApiError> {
    if !download.select_range(start, len) {
        return Err(ApiError::internal("the range could not be read"));
    }
    let stream = futures_util::stream::unfold(Some(download), |state| async move {
        let mut download = state?;
        match download.next_chunk().await {
            Some(Ok(chunk)) => Some((Ok::<Bytes, std::io::Error>(chunk), Some(download))),
            Some(Err(e)) => Some((Err(e), None)),
            // A part is never the whole file's proof: audited as sent,
            // with no hash.
            None => {
                download.finish_part();
                None
            }
        }
    });
    Ok(Body::from_stream(stream))
}

/// `attachment`, with the name as ASCII for old clients and exactly, in
/// UTF-8, as `filename*` (RFC 6266, RFC 8187).
fn disposition(name: &str) -> HeaderValue {
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let exact = utf8_percent_encode(name, ATTR_CHAR);
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{fallback}\"; filename*=UTF-8''{exact}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

#[cfg(test)]
mod tests {
    use super::disposition;

    #[test]
    fn names_are_quoted_and_encoded() {
        assert_eq!(
            disposition("photo 1.jpg"),
            "attachment; filename=\"photo 1.jpg\"; filename*=UTF-8''photo%201.jpg"
        );
        assert_eq!(
            disposition("rapport \"été\".pdf"),
            "attachment; filename=\"rapport __t__.pdf\"; filename*=UTF-8''rapport%20%22%C3%A9t%C3%A9%22.pdf"
        );
        assert_eq!(
            disposition("网盘.txt"),
            "attachment; filename=\"__.txt\"; filename*=UTF-8''%E7%BD%91%E7%9B%98.txt"
        );
    }
}
