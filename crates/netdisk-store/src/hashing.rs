//! BLAKE3 over files the engine reads itself: the kept prefix of a
//! resumed transfer, and a whole file whose stored hash is missing or stale.

use std::io::{self, Read, Seek, SeekFrom};

/// Hashes the first `len` bytes of `file`, leaving it positioned at `len`.
pub(crate) fn hash_prefix(file: &mut std::fs::File, len: u64) -> io::Result<blake3::Hasher> {
    let mut hasher = blake3::Hasher::new();
    file.seek(SeekFrom::Start(0))?;
    let copied = io::copy(&mut file.take(len), &mut hasher)?;
    if copied != len {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(hasher)
}

/// The BLAKE3 of the whole file, read from its start (positioned after).
pub(crate) fn hash_file(file: &mut std::fs::File) -> io::Result<String> {
    let mut hasher = blake3::Hasher::new();
    file.seek(SeekFrom::Start(0))?;
    hasher.update_reader(file)?;
    Ok(hasher.finalize().to_hex().to_string())
}
