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

use std::os::unix::fs::MetadataExt;

const NAME: &str = "user.netdisk.blake3";

/// What the record says of the file: "SIZE MTIME_SECS MTIME_NANOS HEX".
fn stamp(file: &std::fs::File) -> Option<String> {
    let meta = file.metadata().ok()?;
    Some(format!(
        "{} {} {}",
        meta.size(),
        meta.mtime(),
        meta.mtime_nsec()
    ))
}

/// The recorded hash, if it is still true of the file.
pub(crate) fn read(file: &std::fs::File) -> Option<String> {
    use xattr::FileExt;
    let value = file.get_xattr(NAME).ok()??;
    let value = String::from_utf8(value).ok()?;
    let (recorded, hash) = value.rsplit_once(' ')?;
    let valid = hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit());
    (valid && stamp(file)? == recorded).then(|| hash.to_owned())
}

/// Records `blake3` as the file's hash now. Best effort: without a
/// record the hash is computed when needed.
pub(crate) fn write(file: &std::fs::File, blake3: &str) {
    use xattr::FileExt;
    let Some(stamp) = stamp(file) else { return };
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
        assert_eq!(read(&file), None, "no record yet");
        write(&file, &hash);
        use xattr::FileExt;
        if file.get_xattr(NAME).ok().flatten().is_none() {
            eprintln!("skipped: this file system keeps no extended attributes");
            return;
        }
        assert_eq!(read(&file), Some(hash.clone()));
        // Changed behind the server's back: same size, new bytes and time.
        std::fs::write(&path, b"other").expect("rewrite");
        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
        file.set_modified(later).expect("touch");
        assert_eq!(read(&file), None, "a stale record is not trusted");
    }
}
