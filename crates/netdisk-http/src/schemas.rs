//! How the protocol's and the store's own types look in JSON, for the
//! OpenAPI document. Those crates serialise them and know nothing of
//! OpenAPI (netdisk-proto stays pure), so their shapes are described here;
//! tests/openapi.rs checks real answers against these descriptions with
//! no property left undescribed, so the two cannot drift apart unseen.

// The fields are read by utoipa's derive only.
#![allow(dead_code)]

use crate::error::ErrorBody;
use utoipa::{IntoResponses, ToSchema};

/// `netdisk_proto::EntryKind`.
#[derive(ToSchema)]
#[schema(as = EntryKind, rename_all = "snake_case")]
pub(crate) enum EntryKindSchema {
    File,
    Dir,
    Symlink,
    /// Sockets, FIFOs, devices: listed but never transferred.
    Other,
}

/// `netdisk_proto::Entry`: one directory entry.
#[derive(ToSchema)]
#[schema(as = Entry)]
pub(crate) struct EntrySchema {
    /// The last path component.
    name: String,
    kind: EntryKindSchema,
    /// Bytes (0 for directories).
    size: u64,
    /// Last modification, seconds since the Unix epoch; absent when unknown.
    modified: Option<i64>,
    /// Permission bits (`0o644` is 420); absent when unknown.
    mode: Option<u32>,
}

/// `netdisk_store::ApiToken`: a token as listed, never its secret.
#[derive(ToSchema)]
#[schema(as = ApiToken)]
pub(crate) struct ApiTokenSchema {
    id: i64,
    name: String,
    /// `session` (a login's) or `personal` (for scripts).
    #[schema(example = "personal")]
    kind: String,
    /// Seconds since the Unix epoch.
    created: i64,
    /// Seconds since the Unix epoch; null: until revoked.
    #[schema(required = true)]
    expires: Option<i64>,
}

/// `netdisk_store::Share` with the page that opens it: a share link as
/// its owner sees it.
#[derive(ToSchema)]
#[schema(as = Share)]
pub(crate) struct ShareSchema {
    id: i64,
    /// The link's secret part (`nds_...`).
    token: String,
    /// What is shared, as answers show paths (`~/photos`).
    path: String,
    /// `file` or `dir`.
    #[schema(example = "dir")]
    kind: String,
    has_password: bool,
    /// A drop box: visitors may add files, not list or download.
    upload_only: bool,
    /// Null: unlimited.
    #[schema(required = true)]
    max_downloads: Option<u64>,
    downloads: u64,
    /// Seconds since the Unix epoch.
    created: i64,
    /// Seconds since the Unix epoch; null: until revoked.
    #[schema(required = true)]
    expires: Option<i64>,
    /// The web page of the link, from the server's root: `/s/TOKEN`.
    url: String,
}

/// How axum's JSON extractor refuses a request body, answered as the
/// API's JSON error like every refusal (`routes::errors_as_json`).
#[derive(IntoResponses)]
pub(crate) enum JsonBodyRefused {
    #[response(status = 415, description = "Not `Content-Type: application/json`")]
    NotJson(ErrorBody),
    #[response(
        status = 422,
        description = "JSON without the fields wanted, or of the wrong types"
    )]
    WrongFields(ErrorBody),
}
