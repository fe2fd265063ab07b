//! The name operations: usage, list, stat, mkdir, move, delete. Each
//! resolves the URL's path against the user's home (the jail's first
//! check, `HomePath`) and calls the store.

use crate::auth::Authed;
use crate::error::ApiError;
use crate::error::ErrorBody;
use crate::schemas::EntrySchema;
use crate::schemas::JsonBodyRefused;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::Json;
use netdisk_proto::{Entry, ErrorCode, HomePath};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Entries per page unless the client asks for fewer (or more, up to the maximum).
const DEFAULT_PAGE: usize = 1000;
const MAX_PAGE: usize = 10_000;

/// The `{path}` of a URL: a file or directory in the user's home.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct InHome {
    /// Relative to the home, percent-encoded UTF-8, components separated
    /// by `/` (which stand as they are): `photos/2024/a.jpg`.
    pub(crate) path: String,
}

/// A path from the URL, relative to the home; the rules (and refusals)
/// of the native protocol's paths, empty components included.
pub(crate) fn home_path(path: &str) -> Result<HomePath, ApiError> {
    if path.is_empty() {
        return Ok(HomePath::home());
    }
    Ok(HomePath::home().resolve(path)?)
}

/// The user's space, in bytes.
#[derive(Serialize, ToSchema)]
pub(crate) struct Usage {
    /// Committed files, kept partials, the trash and old versions.
    used: u64,
    /// Held for uploads under way.
    reserved: u64,
    /// Kept parts of cut resumable uploads.
    partials: u64,
    /// Of `used`, what is in the trash.
    trash: u64,
    /// Of `used`, old versions of files.
    versions: u64,
    /// Null: unlimited.
    #[schema(required = true)]
    quota: Option<u64>,
}

#[utoipa::path(get, path = "/api/v1/usage", tag = "files",
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The user's usage and quota", body = Usage),
        (status = 401, description = "Not logged in", body = ErrorBody),
    ))]
pub(crate) async fn usage(authed: Authed) -> Result<Json<Usage>, ApiError> {
    let usage = authed.space.usage().await?;
    Ok(Json(Usage {
        used: usage.used,
        reserved: usage.reserved,
        partials: usage.partials,
        trash: usage.trash,
        versions: usage.versions,
        quota: usage.quota,
    }))
}

#[derive(Deserialize, Default, ToSchema)]
#[serde(rename_all = "snake_case")]
enum SortKey {
    #[default]
    Name,
    Size,
    Modified,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    #[serde(default)]
    #[param(inline)]
    sort: SortKey,
    /// Largest (or latest, or last by name) first.
    #[serde(default)]
    desc: bool,
    /// Entries per page: 1,000 unless asked, at most 10,000.
    limit: Option<usize>,
    /// Name order: the page after this name (the previous page's `next`).
    after: Option<String>,
    /// Other orders: skip this many entries (the previous page's `next_offset`).
    offset: Option<usize>,
}

/// A page of a directory: keyed by name in name order, by offset in the
/// other orders.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum ListPage {
    ByName {
        /// The directory, as answers show paths (`~/photos`).
        path: String,
        #[schema(value_type = Vec<EntrySchema>)]
        entries: Vec<Entry>,
        /// The next page is `?after=NEXT`; null: this was the last.
        #[schema(required = true)]
        next: Option<String>,
    },
    ByOffset {
        path: String,
        #[schema(value_type = Vec<EntrySchema>)]
        entries: Vec<Entry>,
        /// The next page is `?offset=NEXT_OFFSET`; null: this was the last.
        #[schema(required = true)]
        next_offset: Option<usize>,
    },
}

#[utoipa::path(get, path = "/api/v1/list", tag = "files",
    security(("bearer" = []), ("session_cookie" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "A page of the home directory", body = ListPage),
        (status = 401, description = "Not logged in", body = ErrorBody),
    ))]
pub(crate) async fn list_home(
    authed: Authed,
    query: Query<ListQuery>,
) -> Result<Json<ListPage>, ApiError> {
    list_at(authed, HomePath::home(), query.0).await
}

#[utoipa::path(get, path = "/api/v1/list/{*path}", tag = "files",
    security(("bearer" = []), ("session_cookie" = [])),
    params(InHome, ListQuery),
    responses(
        (status = 200, description = "A page of the directory", body = ListPage),
        (status = 400, description = "A path the rules refuse", body = ErrorBody),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "A path out of the home", body = ErrorBody),
        (status = 404, description = "No such directory", body = ErrorBody),
        (status = 409, description = "Not a directory", body = ErrorBody),
    ))]
pub(crate) async fn list(
    authed: Authed,
    Path(InHome { path }): Path<InHome>,
    query: Query<ListQuery>,
) -> Result<Json<ListPage>, ApiError> {
    list_at(authed, home_path(&path)?, query.0).await
}

async fn list_at(
    authed: Authed,
    path: HomePath,
    query: ListQuery,
) -> Result<Json<ListPage>, ApiError> {
    authed.space.require_dir(&path).await?;
    let limit = query.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    if matches!(query.sort, SortKey::Name) && !query.desc {
        // Keyed by name: a change between pages never repeats or skips an entry.
        let page = authed
            .space
            .list_page(&path, query.after.as_deref(), limit)
            .await?;
        let next = page
            .more
            .then(|| page.entries.last().map(|e| e.name.clone()))
            .flatten();
        return Ok(Json(ListPage::ByName {
            path: path.to_string(),
            entries: page.entries,
            next,
        }));
    }
    let mut entries = authed.space.list(&path).await?;
    sort(&mut entries, &query.sort, query.desc);
    let start = query.offset.unwrap_or(0).min(entries.len());
    let end = start.saturating_add(limit).min(entries.len());
    let next_offset = (end < entries.len()).then_some(end);
    entries.truncate(end);
    entries.drain(..start);
    Ok(Json(ListPage::ByOffset {
        path: path.to_string(),
        entries,
        next_offset,
    }))
}

/// Directories first for size and time, ties broken by name, so the
/// order is total and pages by offset are stable while nothing changes.
fn sort(entries: &mut [Entry], key: &SortKey, desc: bool) {
    entries.sort_by(|a, b| {
        let primary = match key {
            SortKey::Name => std::cmp::Ordering::Equal,
            SortKey::Size => a.size.cmp(&b.size),
            SortKey::Modified => a.modified.cmp(&b.modified),
        };
        primary.then_with(|| a.name.cmp(&b.name))
    });
    if desc {
        entries.reverse();
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct Stat {
    path: String,
    #[schema(value_type = EntrySchema)]
    entry: Entry,
    /// A regular file's BLAKE3 (hex), computed and recorded if the store
    /// had none; null for anything else.
    #[schema(required = true)]
    blake3: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/stat/{*path}", tag = "files",
    security(("bearer" = []), ("session_cookie" = [])),
    params(InHome),
    responses(
        (status = 200, description = "The entry, with a file's BLAKE3", body = Stat),
        (status = 400, description = "A path the rules refuse", body = ErrorBody),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "A path out of the home", body = ErrorBody),
        (status = 404, description = "No such file or directory", body = ErrorBody),
    ))]
pub(crate) async fn stat(
    authed: Authed,
    Path(InHome { path }): Path<InHome>,
) -> Result<Json<Stat>, ApiError> {
    let path = home_path(&path)?;
    let (entry, blake3) = authed.space.stat_with_hash(&path).await?;
    Ok(Json(Stat {
        path: path.to_string(),
        entry,
        blake3,
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct MkdirQuery {
    /// Make missing parents too; an existing directory is then no error.
    #[serde(default)]
    parents: bool,
}

#[utoipa::path(post, path = "/api/v1/mkdir/{*path}", tag = "files",
    security(("bearer" = []), ("session_cookie" = [])),
    params(InHome, MkdirQuery),
    responses(
        (status = 201, description = "Made"),
        (status = 400, description = "A path the rules refuse", body = ErrorBody),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "A path out of the home, or no CSRF token", body = ErrorBody),
        (status = 404, description = "A missing parent (without `parents`)", body = ErrorBody),
        (status = 409, description = "It exists, or a parent is not a directory", body = ErrorBody),
    ))]
pub(crate) async fn mkdir(
    authed: Authed,
    Path(InHome { path }): Path<InHome>,
    Query(query): Query<MkdirQuery>,
) -> Result<StatusCode, ApiError> {
    let path = home_path(&path)?;
    authed.space.mkdir(&path, query.parents).await?;
    Ok(StatusCode::CREATED)
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct MoveRequest {
    /// As in URLs: relative to the home.
    #[schema(example = "a/x")]
    from: String,
    #[schema(example = "b/")]
    to: String,
}

/// mv(1)'s meaning: into a directory, over a file.
#[utoipa::path(post, path = "/api/v1/move", tag = "files",
    security(("bearer" = []), ("session_cookie" = [])),
    request_body = MoveRequest,
    responses(
        (status = 204, description = "Moved"),
        (status = 400, description = "A path the rules refuse, a directory into itself, or a malformed body", body = ErrorBody),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "A path out of the home, or no CSRF token", body = ErrorBody),
        (status = 404, description = "No such source", body = ErrorBody),
        (status = 409, description = "A directory over a file, or a file over a directory that is not empty", body = ErrorBody),
        JsonBodyRefused,
    ))]
pub(crate) async fn rename(
    authed: Authed,
    Json(request): Json<MoveRequest>,
) -> Result<StatusCode, ApiError> {
    let from = home_path(&request.from)?;
    let to = home_path(&request.to)?;
    authed.space.rename(&from, &to).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct RemoveQuery {
    /// A directory and everything in it; else only a file or an empty directory.
    #[serde(default)]
    recursive: bool,
}

#[utoipa::path(delete, path = "/api/v1/files/{*path}", tag = "files",
    security(("bearer" = []), ("session_cookie" = [])),
    params(InHome, RemoveQuery),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "A path the rules refuse (the home itself included)", body = ErrorBody),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "A path out of the home, or no CSRF token", body = ErrorBody),
        (status = 404, description = "No such file or directory", body = ErrorBody),
        (status = 409, description = "A directory that is not empty (without `recursive`)", body = ErrorBody),
    ))]
pub(crate) async fn remove(
    authed: Authed,
    Path(InHome { path }): Path<InHome>,
    Query(query): Query<RemoveQuery>,
) -> Result<StatusCode, ApiError> {
    let path = home_path(&path)?;
    let entry = authed.space.entry(&path).await?;
    if entry.kind == netdisk_proto::EntryKind::Dir && !query.recursive {
        authed.space.rmdir(&path).await?;
    } else {
        authed.space.remove(&path, query.recursive).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn no_route() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        "no such API endpoint (see /api/v1 in docs/HTTP.md)",
    )
}
