//! A WebDAV path (already percent-decoded, `.` and `..` resolved by
//! dav-server, never above `/dav/`) as a path in the home, with the
//! store's rules: names must be UTF-8 and pass `HomePath::resolve`
//! (no NUL, backslash, control character, over-long name).

use dav_server::davpath::DavPath;
use dav_server::fs::FsError;
use netdisk_proto::HomePath;

pub(crate) fn home_path(path: &DavPath) -> Result<HomePath, FsError> {
    let text = std::str::from_utf8(path.as_bytes()).map_err(|_| FsError::Forbidden)?;
    let relative = text.trim_start_matches('/').trim_end_matches('/');
    if relative.is_empty() {
        return Ok(HomePath::home());
    }
    // "~" and "~/..." mean the home to `resolve`; here they are names.
    let input = format!("~/{relative}");
    HomePath::home().resolve(&input).map_err(|e| {
        tracing::debug!(path = relative, error = %e, "WebDAV path refused");
        match e {
            netdisk_proto::PathError::NameTooLong(_) | netdisk_proto::PathError::TooLong => {
                FsError::PathTooLong
            }
            _ => FsError::Forbidden,
        }
    })
}
