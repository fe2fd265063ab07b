//! The name operations: usage, list, stat, mkdir, move, delete. Each
//! resolves the URL's path against the user's home (the jail's first
//! check, `HomePath`) and calls the store.

use crate::auth::Authed;
use crate::error::ApiError;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use netdisk_proto::{Entry, ErrorCode, HomePath};
use serde::Deserialize;

/// Entries per page unless the client asks for fewer (or more, up to the maximum).
const DEFAULT_PAGE: usize = 1000;
const MAX_PAGE: usize = 10_000;

/// A path from the URL, relative to the home; the rules (and refusals)
/// of the native protocol's paths, empty components included.
pub(crate) fn home_path(path: &str) -> Result<HomePath, ApiError> {
    if path.is_empty() {
        return Ok(HomePath::home());
    }
    Ok(HomePath::home().resolve(path)?)
}

pub(crate) async fn usage(authed: Authed) -> Result<impl IntoResponse, ApiError> {
    let usage = authed.space.usage().await?;
    Ok(Json(serde_json::json!({
        "used": usage.used,
        "reserved": usage.reserved,
        "partials": usage.partials,
        "quota": usage.quota,
    })))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "snake_case")]
enum SortKey {
    #[default]
    Name,
    Size,
    Modified,
}

#[derive(Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    sort: SortKey,
    /// Largest (or latest, or last by name) first.
    #[serde(default)]
    desc: bool,
    limit: Option<usize>,
    /// Name order: the page after this name (the previous page's `next`).
    after: Option<String>,
    /// Other orders: skip this many entries (the previous page's `next_offset`).
    offset: Option<usize>,
}

pub(crate) async fn list_home(
    authed: Authed,
    query: Query<ListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    list_at(authed, HomePath::home(), query.0).await
}

pub(crate) async fn list(
    authed: Authed,
    Path(path): Path<String>,
    query: Query<ListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    list_at(authed, home_path(&path)?, query.0).await
}

async fn list_at(
    authed: Authed,
    path: HomePath,
    query: ListQuery,
) -> Result<Json<serde_json::Value>, ApiError> {
    authed.space.require_dir(&path)?;
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
        return Ok(Json(serde_json::json!({
            "path": path.to_string(),
            "entries": page.entries,
            "next": next,
        })));
    }
    let mut entries = authed.space.list(&path).await?;
    sort(&mut entries, &query.sort, query.desc);
    let start = query.offset.unwrap_or(0).min(entries.len());
    let end = start.saturating_add(limit).min(entries.len());
    let next_offset = (end < entries.len()).then_some(end);
    Ok(Json(serde_json::json!({
        "path": path.to_string(),
        "entries": &entries[start..end],
        "next_offset": next_offset,
    })))
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

pub(crate) async fn stat(
    authed: Authed,
    Path(path): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let path = home_path(&path)?;
    let (entry, blake3) = authed.space.stat_with_hash(&path).await?;
    Ok(Json(serde_json::json!({
        "path": path.to_string(),
        "entry": entry,
        "blake3": blake3,
    })))
}

#[derive(Deserialize)]
pub(crate) struct MkdirQuery {
    #[serde(default)]
    parents: bool,
}

pub(crate) async fn mkdir(
    authed: Authed,
    Path(path): Path<String>,
    Query(query): Query<MkdirQuery>,
) -> Result<StatusCode, ApiError> {
    let path = home_path(&path)?;
    authed.space.mkdir(&path, query.parents).await?;
    Ok(StatusCode::CREATED)
}

#[derive(Deserialize)]
pub(crate) struct MoveRequest {
    from: String,
    to: String,
}

/// mv(1)'s meaning: into a directory, over a file.
pub(crate) async fn rename(
    authed: Authed,
    Json(request): Json<MoveRequest>,
) -> Result<StatusCode, ApiError> {
    let from = home_path(&request.from)?;
    let to = home_path(&request.to)?;
    authed.space.rename(&from, &to).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub(crate) struct RemoveQuery {
    /// A directory and everything in it; else only a file or an empty directory.
    #[serde(default)]
    recursive: bool,
}

pub(crate) async fn remove(
    authed: Authed,
    Path(path): Path<String>,
    Query(query): Query<RemoveQuery>,
) -> Result<StatusCode, ApiError> {
    let path = home_path(&path)?;
    let entry = authed.space.entry(&path)?;
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
