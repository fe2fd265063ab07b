//! One WebDAV request: the login first, then dav-server's handler over
//! the user's space, with the user's own lock system.

use crate::auth::{authenticate, Refusal};
use crate::locks::LockSystems;
use crate::paths::home_path;
use crate::space_fs::SpaceFs;
use crate::win32_times;
use bytes::Buf;
use dav_server::body::Body;
use dav_server::davpath::DavPath;
use dav_server::{DavHandler, DavMethod, DavMethodSet};
use futures_util::FutureExt;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use netdisk_store::Store;
use std::error::Error as StdError;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;

/// Where the gateway mounts WebDAV: `https://HOST:PORT/dav/` is the home.
pub const DAV_PREFIX: &str = "/dav";

/// RFC 4918's compliance classes: 1, 2 (locks), 3 (RFC 4918 itself).
const COMPLIANCE: &str = "1, 2, 3";

/// dav-server reads XML bodies up to this much; so does a PROPPATCH read here.
const XML_BODY_MAX: usize = 64 * 1024;

/// Bytes read from a file per piece of a GET's body: the store's reader
/// hands out 256 KiB pieces, so none is cut in smaller ones.
const READ_PIECE: usize = 256 * 1024;

/// The WebDAV service; cheap to clone.
#[derive(Clone)]
pub struct DavService {
    store: Store,
    locks: LockSystems,
}

impl DavService {
    pub fn new(store: Store) -> DavService {
        DavService {
            store,
            locks: LockSystems::default(),
        }
    }

    /// Answers one request whose path starts with [`DAV_PREFIX`], from
    /// `peer` (for the login throttle and the audit log).
    pub async fn handle<B, D, E>(&self, mut request: Request<B>, peer: SocketAddr) -> Response<Body>
    where
        B: http_body::Body<Data = D, Error = E>,
        D: Buf + Send + 'static,
        E: StdError + Send + Sync + 'static,
    {
        let user = match authenticate(&self.store, request.headers(), peer).await {
            Ok(user) => user,
            Err(refusal) => return refusal.response(),
        };
        if request.method() == Method::PUT && !framed(&request) {
            // No length and not chunked: HTTP/1.1 says the body is empty.
            request
                .headers_mut()
                .insert(header::CONTENT_LENGTH, header::HeaderValue::from(0));
        }
        if request.method() == Method::PUT && !announces_length(&request) {
            // The quota is checked and the space reserved before the body.
            return Refusal::status(
                StatusCode::LENGTH_REQUIRED,
                "a PUT needs Content-Length (or X-Expected-Entity-Length)",
            )
            .response();
        }
        let space = match self.store.space(&user, peer).await {
            Ok(space) => space,
            Err(err) => {
                tracing::warn!(%user, error = %err, "WebDAV: no space for a logged-in user");
                return Refusal::status(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the home cannot be opened",
                )
                .response();
            }
        };
        // dav-server answers a Depth: infinity PROPFIND (a whole tree in
        // one answer: unbounded work) when the request says it is litmus.
        request.headers_mut().remove("x-litmus");
        if if_header_malformed(&request) {
            // dav-server's parser panics on some (an unclosed '[').
            return Refusal::status(StatusCode::BAD_REQUEST, "malformed If header").response();
        }
        let mut methods = DavMethodSet::all();
        methods.remove(DavMethod::Patch);
        let handler = DavHandler::builder()
            .methods(methods)
            .strip_prefix(DAV_PREFIX)
            .filesystem(Box::new(SpaceFs::new(space.clone())))
            .locksystem(self.locks.of(&user))
            .principal(user)
            .hide_symlinks(true)
            .autoindex(false)
            .read_buf_size(READ_PIECE)
            .build_handler();
        if request.method().as_str() != "PROPPATCH" {
            return answer(&handler, request).await;
        }
        // A PROPPATCH's body (small XML) is read here first, for the
        // Win32 time that dav-server would drop.
        let (parts, body) = request.into_parts();
        let Ok(collected) = Limited::new(body, XML_BODY_MAX).collect().await else {
            return Refusal::status(
                StatusCode::PAYLOAD_TOO_LARGE,
                "a PROPPATCH body is small XML",
            )
            .response();
        };
        let body = collected.to_bytes();
        let modified = win32_times::modified_time_set(&body);
        let target = target_path(&parts.uri);
        let response = answer(&handler, Request::from_parts(parts, Full::new(body))).await;
        if let (StatusCode::MULTI_STATUS, Some(modified), Some(target)) =
            (response.status(), modified, target)
        {
            if let Err(err) = space.set_modified(&target, modified).await {
                tracing::info!(path = %target, error = %err, "WebDAV: Win32LastModifiedTime not set");
            }
        }
        response
    }
}

/// dav-server's answer; a panic in the protocol code on a peer's input
/// answers 500 instead of dropping the connection without an answer.
async fn answer<B, D, E>(handler: &DavHandler, request: Request<B>) -> Response<Body>
where
    B: http_body::Body<Data = D, Error = E>,
    D: Buf + Send + 'static,
    E: StdError + Send + Sync + 'static,
{
    match AssertUnwindSafe(handler.handle(request))
        .catch_unwind()
        .await
    {
        Ok(mut response) => {
            // dav-server also announces SabreDAV's partial updates
            // (PATCH), which netdisk does not offer: uploads are whole.
            if response.headers().contains_key("dav") {
                response
                    .headers_mut()
                    .insert("dav", header::HeaderValue::from_static(COMPLIANCE));
            }
            response
        }
        Err(_) => {
            tracing::error!("WebDAV handler panicked");
            Refusal::status(StatusCode::INTERNAL_SERVER_ERROR, "internal error").response()
        }
    }
}

/// The home path a request's URL names, if it is a good one.
fn target_path(uri: &http::Uri) -> Option<netdisk_proto::HomePath> {
    let mut path = DavPath::from_uri(uri).ok()?;
    path.set_prefix(DAV_PREFIX).ok()?;
    home_path(&path).ok()
}

/// An `If` header (RFC 4918 10.4) whose brackets or quotes do not pair up.
fn if_header_malformed<B>(request: &Request<B>) -> bool {
    request
        .headers()
        .get_all("if")
        .iter()
        .any(|value| !balanced(value.as_bytes()))
}

/// `(`…`)` holding `<`…`>` and `[`…`]`, which may hold a `"`…`"`.
fn balanced(text: &[u8]) -> bool {
    let mut open: Vec<u8> = Vec::new();
    for &byte in text {
        match (open.last().copied(), byte) {
            (Some(b'"'), b'"') | (Some(b'<'), b'>') | (Some(b'['), b']') => {
                open.pop();
            }
            (Some(b'"' | b'<'), _) => {}
            (Some(b'['), b'"') => open.push(byte),
            (Some(b'['), _) => {}
            (_, b'(' | b'<' | b'[' | b'"') => open.push(byte),
            (Some(b'('), b')') => {
                open.pop();
            }
            (_, b')' | b'>' | b']') => return false,
            _ => {}
        }
    }
    open.is_empty()
}

/// The body's end is announced (a length, or chunked transfer coding).
fn framed<B>(request: &Request<B>) -> bool {
    let headers = request.headers();
    headers.contains_key(header::CONTENT_LENGTH) || headers.contains_key(header::TRANSFER_ENCODING)
}

/// A body of known length: `Content-Length`, or macOS Finder's
/// `X-Expected-Entity-Length` beside a chunked body.
fn announces_length<B>(request: &Request<B>) -> bool {
    let headers = request.headers();
    [
        header::CONTENT_LENGTH,
        header::HeaderName::from_static("x-expected-entity-length"),
    ]
    .iter()
    .any(|name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().parse::<u64>().is_ok())
    })
}

#[cfg(test)]
mod tests {
    use super::balanced;

    #[test]
    fn if_headers_must_pair_up() {
        assert!(balanced(
            b"(<urn:uuid:1> [\"ab\"]) (Not <DAV:no-lock> [\"ab\"])"
        ));
        assert!(balanced(b"<http://h/a> (<urn:uuid:1>)"));
        assert!(!balanced(b"(<urn:uuid:1> [\"ab"));
        assert!(!balanced(b"(<urn:uuid:1>))"));
        assert!(!balanced(b"]"));
    }
}
