//! Writing into the page cache a piece at a time.
//!
//! The kernel sizes the page-cache folio it allocates for a write to the
//! write's length. A folio of 1 MiB needs a large free block, and on a
//! virtual machine whose balloon hands freed memory back to the host
//! (free page reporting, which works on large free blocks), that block
//! is memory the host must fault in again, page by page. Measured here
//! with `dd ... conv=fsync` of 400 MiB a few seconds after memory was
//! freed: 340-350 MB/s in writes of 1 MiB, 1.1-1.4 GB/s in writes of
//! 128-512 KiB; with the memory just freed, both ran at 1.4 GB/s
//! (docs/PERFORMANCE.md). rsync and cp write in small pieces and never
//! meet it. A few more calls per MiB cost nothing measurable elsewhere.

use std::fs::File;
use std::io::{self, Write};

/// The most bytes one `write` call hands the kernel.
const WRITE_PIECE: usize = 256 * 1024;

/// Writes all of `bytes` at the file's position, at most 256 KiB per
/// call.
pub fn write_in_pieces(file: &File, bytes: &[u8]) -> io::Result<()> {
    let mut handle = file;
    bytes
        .chunks(WRITE_PIECE)
        .try_for_each(|piece| handle.write_all(piece))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Seek;

    #[test]
    fn every_byte_lands_in_order_after_the_position() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out");
        let mut file = File::create(&path).expect("create");
        file.write_all(b"head").expect("head");
        // Three pieces and a bit.
        let body: Vec<u8> = (0..3 * WRITE_PIECE + 17).map(|i| (i % 251) as u8).collect();
        write_in_pieces(&file, &body).expect("write");
        write_in_pieces(&file, &[]).expect("nothing to write");
        assert_eq!(
            file.stream_position().expect("position"),
            4 + body.len() as u64
        );
        let on_disk = std::fs::read(&path).expect("read");
        assert_eq!(&on_disk[..4], b"head");
        assert!(
            on_disk[4..] == body[..],
            "the body follows, whole and in order"
        );
    }
}
