//! A committed file's BLAKE3, kept in an extended attribute of the file
//! itself (`user.netdisk.blake3`) with the size and modification time it
//! was true of. On the inode, the record is renamed with the file and
//! made durable by the file's own fsync: no second database to keep in
//! step, and nothing left behind when a file is removed. A file changed
//! behind the server's back (another size or modification time) has a
//! stale record, which is ignored until the file is hashed again.
//!
//! File systems without user extended attributes (some tmpfs and network
//! mounts) keep no record: every hash is then computed when asked for.

use crate::backend::{FileStamp, HashLookup};
use std::os::unix::fs::MetadataExt;

const NAME: &str = "user.netdisk.blake3";

/// What the record says of the file: "SIZE MTIME_SECS MTIME_NANOS HEX".
fn stamp_of(file: &std::fs::File) -> Option<String> {
    let meta = file.metadata().ok()?;
    Some(format!(
        "{} {} {}",
        meta.size(),
        meta.mtime(),
        meta.mtime_nsec()
    ))
}

/// The recorded hash, if it is still true of the file; else the file's
/// stamp now, under which a hash computed next may be recorded.
pub(crate) fn read(file: &std::fs::File) -> HashLookup {
    use xattr::FileExt;
    let now = stamp_of(file);
    let recorded = file
        .get_xattr(NAME)
        .ok()
        .flatten()
        .and_then(|value| String::from_utf8(value).ok());
    if let (Some(now), Some(value)) = (&now, recorded) {
        if let Some((stamp, hash)) = value.rsplit_once(' ') {
            let valid = hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit());
            if valid && stamp == now {
                return HashLookup::Recorded(hash.to_owned());
            }
        }
    }
    HashLookup::Missing(FileStamp(now))
}

/// Records `blake3` as the hash of the file the committing upload just
/// wrote. Best effort: without a record the hash is computed when needed.
pub(crate) fn write(file: &std::fs::File, blake3: &str) {
    if let Some(stamp) = stamp_of(file) {
        set(file, &stamp, blake3);
    }
}

/// Records `blake3`, computed from the file's bytes after `before` was
/// taken, only if the file is still as it was then: a change that raced
/// the hashing would otherwise leave a wrong hash trusted.
pub(crate) fn write_if_unchanged(file: &std::fs::File, before: &FileStamp, blake3: &str) {
    if let (Some(before), Some(now)) = (&before.0, stamp_of(file)) {
        if *before == now {
            set(file, &now, blake3);
        }
    }
}

fn set(file: &std::fs::File, stamp: &str, blake3: &str) {
    use xattr::FileExt;
    if let Err(e) = file.set_xattr(NAME, format!("{stamp} {blake3}").as_bytes()) {
        tracing::debug!(error = %e, "no stored hash: extended attributes refused");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_holds_until_the_file_changes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        std::fs::write(&path, b"first").expect("write");
        let file = std::fs::File::options()
            .read(true)
            .write(true)
            .open(&path)
            .expect("open");
        let hash = blake3::hash(b"first").to_hex().to_string();
        let HashLookup::Missing(before) = read(&file) else {
            panic!("no record yet");
        };
        write_if_unchanged(&file, &before, &hash);
        use xattr::FileExt;
        if file.get_xattr(NAME).ok().flatten().is_none() {
            eprintln!("skipped: this file system keeps no extended attributes");
            return;
        }
        assert_eq!(read(&file), HashLookup::Recorded(hash.clone()));
        // Changed behind the server's back: same size, new bytes and time.
        std::fs::write(&path, b"other").expect("rewrite");
        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
        file.set_modified(later).expect("touch");
        let HashLookup::Missing(before) = read(&file) else {
            panic!("a stale record is not trusted");
        };
        // A hash computed while the file changed again is not recorded.
        file.set_modified(later + std::time::Duration::from_secs(5))
            .expect("touch");
        write_if_unchanged(&file, &before, &hash);
        assert!(matches!(read(&file), HashLookup::Missing(_)));
        write(&file, blake3::hash(b"other").to_hex().as_str());
        assert!(matches!(read(&file), HashLookup::Recorded(_)));
    }
}
