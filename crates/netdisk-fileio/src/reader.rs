//! Reading a file to send on a blocking thread, hashing it unless its
//! hash is already known.

use crate::{CHUNK, QUEUE};
use bytes::Bytes;
use std::fs::File;
use std::io::{self, Read};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Reads `len` bytes from a file's current position in chunks, on a
/// blocking thread that hashes them (given a hasher); the async side
/// takes the chunks with [`FileSource::next`] and sends them.
pub struct FileSource {
    chunks: mpsc::Receiver<io::Result<Bytes>>,
    worker: JoinHandle<Option<blake3::Hasher>>,
}

impl FileSource {
    /// `hasher` already covers any bytes before the position (a resumed
    /// transfer); `None` when the hash is known and no byte need be hashed.
    pub fn start(mut file: File, hasher: Option<blake3::Hasher>, len: u64) -> FileSource {
        let (sender, chunks) = mpsc::channel(QUEUE);
        let worker = tokio::task::spawn_blocking(move || {
            let mut hasher = hasher;
            let mut left = len;
            while left > 0 {
                let want = left.min(CHUNK as u64);
                // read_to_end fills a fresh buffer without zeroing it first.
                let mut buffer = Vec::with_capacity(CHUNK);
                let item = match (&mut file).take(want).read_to_end(&mut buffer) {
                    Ok(0) => Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("the file ended {left} bytes early: it shrank while being sent"),
                    )),
                    Ok(n) => {
                        if let Some(hasher) = &mut hasher {
                            hasher.update(&buffer);
                        }
                        left -= n as u64;
                        Ok(Bytes::from(buffer))
                    }
                    Err(e) => Err(e),
                };
                let failed = item.is_err();
                // The receiver is gone when the transfer was abandoned.
                if sender.blocking_send(item).is_err() || failed {
                    break;
                }
            }
            hasher
        });
        FileSource { chunks, worker }
    }

    /// The next chunk; `None` once all `len` bytes were given out.
    pub async fn next(&mut self) -> Option<io::Result<Bytes>> {
        self.chunks.recv().await
    }

    /// The hash over everything given out (after `next` returned `None`),
    /// if it was started with a hasher.
    pub async fn finish(self) -> io::Result<Option<blake3::Hasher>> {
        drop(self.chunks);
        self.worker
            .await
            .map_err(|e| io::Error::other(format!("the file reader thread failed: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Seek, SeekFrom, Write};

    fn file_with(bytes: &[u8]) -> (tempfile::TempDir, File) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        File::create(&path)
            .and_then(|mut f| f.write_all(bytes))
            .expect("write");
        let file = File::open(&path).expect("open");
        (dir, file)
    }

    #[tokio::test]
    async fn gives_out_len_bytes_from_the_position_and_their_hash() {
        let data: Vec<u8> = (0..3 * CHUNK + 123).map(|i| (i % 251) as u8).collect();
        let (_dir, mut file) = file_with(&data);
        file.seek(SeekFrom::Start(1000)).expect("seek");
        let mut prefix = blake3::Hasher::new();
        prefix.update(&data[..1000]);
        let mut source = FileSource::start(file, Some(prefix), (data.len() - 1000) as u64);
        let mut got = Vec::new();
        while let Some(chunk) = source.next().await {
            got.extend_from_slice(&chunk.expect("chunk"));
        }
        assert_eq!(got, &data[1000..]);
        let hasher = source.finish().await.expect("finish").expect("hasher");
        assert_eq!(hasher.finalize(), blake3::hash(&data));
    }

    #[tokio::test]
    async fn a_file_shorter_than_announced_is_an_error() {
        let (_dir, file) = file_with(&[7u8; 5000]);
        let mut source = FileSource::start(file, None, 6000);
        let first = source.next().await.expect("item").expect("bytes");
        assert_eq!(first.len(), 5000);
        let err = source.next().await.expect("item").expect_err("short");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert!(source.next().await.is_none());
    }

    #[tokio::test]
    async fn dropping_the_source_early_stops_the_reader() {
        let data = vec![1u8; 4 * CHUNK * crate::QUEUE];
        let (_dir, file) = file_with(&data);
        let mut source = FileSource::start(file, Some(blake3::Hasher::new()), data.len() as u64);
        assert!(source.next().await.is_some());
        // The worker blocks on a full queue until the receiver goes; finish must not hang.
        let hasher = source.finish().await.expect("finish").expect("hasher");
        assert!(hasher.count() < data.len() as u64);
    }
}
