//! Writing a received body to a file on a blocking thread, hashing it.

use crate::pieces::write_in_pieces;
use crate::writeback::{PageCache, Writeback};
use crate::QUEUE;
use bytes::Bytes;
use std::fs::File;
use std::io;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// What a [`FileSink`] did, once every chunk was handed to it.
#[derive(Debug)]
pub struct Written {
    pub file: File,
    /// The hash state over every chunk pushed (and any prefix it started with),
    /// whether or not the chunks reached the file.
    pub hasher: blake3::Hasher,
    /// The first write error. After it, chunks are still hashed but no
    /// longer written, so the caller can keep reading the body and stay in
    /// step with its peer before it reports the failure.
    pub error: Option<io::Error>,
}

/// Writes chunks to a file, in order, on a blocking thread that hashes them.
pub struct FileSink {
    chunks: mpsc::Sender<Bytes>,
    worker: JoinHandle<Written>,
}

impl FileSink {
    /// Starts writing at the file's current position; `hasher` already
    /// covers any bytes before it (a resumed transfer). `cache` says
    /// whether the written pages stay in the page cache.
    pub fn start(file: File, hasher: blake3::Hasher, cache: PageCache) -> FileSink {
        Self::start_with(file, hasher, cache, None)
    }

    /// A sink that only hashes: for a body that must be read to stay in
    /// step with the peer but is already known to be refused.
    pub fn hash_only(file: File, hasher: blake3::Hasher) -> FileSink {
        let refused = io::Error::other("not written: the transfer was already refused");
        Self::start_with(file, hasher, PageCache::Keep, Some(refused))
    }

    fn start_with(
        file: File,
        hasher: blake3::Hasher,
        cache: PageCache,
        error: Option<io::Error>,
    ) -> FileSink {
        let (chunks, mut queue) = mpsc::channel::<Bytes>(QUEUE);
        let worker = tokio::task::spawn_blocking(move || {
            let mut out = Written {
                file,
                hasher,
                error,
            };
            let mut writeback = Writeback::new(&out.file, cache);
            while let Some(chunk) = queue.blocking_recv() {
                out.hasher.update(&chunk);
                if out.error.is_some() {
                    continue;
                }
                match write_in_pieces(&out.file, &chunk) {
                    Ok(()) => writeback.wrote(&out.file, chunk.len() as u64),
                    Err(e) => out.error = Some(e),
                }
            }
            out
        });
        FileSink { chunks, worker }
    }

    /// Queues a chunk, waiting while the queue is full.
    pub async fn push(&mut self, chunk: Bytes) -> io::Result<()> {
        self.chunks
            .send(chunk)
            .await
            .map_err(|_| io::Error::other("the file writer thread ended early"))
    }

    /// Waits until every queued chunk is hashed and written.
    pub async fn finish(self) -> io::Result<Written> {
        drop(self.chunks);
        self.worker
            .await
            .map_err(|e| io::Error::other(format!("the file writer thread failed: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[tokio::test]
    async fn writes_and_hashes_every_chunk_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out");
        let mut sink = FileSink::start(
            File::create(&path).expect("create"),
            blake3::Hasher::new(),
            PageCache::Keep,
        );
        let mut expected = Vec::new();
        for i in 0..100u32 {
            let chunk: Vec<u8> = (0..(i * 997 % 70_000)).map(|b| (b ^ i) as u8).collect();
            expected.extend_from_slice(&chunk);
            sink.push(Bytes::from(chunk)).await.expect("push");
        }
        let written = sink.finish().await.expect("finish");
        assert!(written.error.is_none());
        assert_eq!(written.hasher.finalize(), blake3::hash(&expected));
        let mut on_disk = Vec::new();
        File::open(&path)
            .expect("open")
            .read_to_end(&mut on_disk)
            .expect("read");
        assert_eq!(on_disk, expected);
    }

    #[tokio::test]
    async fn dropping_the_cache_behind_the_writeback_loses_no_byte() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out");
        let mut file = File::create(&path).expect("create");
        // A resumed download: the sink starts past a prefix already there.
        file.write_all(&[7u8; 1000]).expect("prefix");
        let mut hasher = blake3::Hasher::new();
        hasher.update(&[7u8; 1000]);
        let mut sink = FileSink::start(file, hasher, PageCache::DropBehind);
        let mut expected = vec![7u8; 1000];
        // 40 MiB: five writeback windows, so three are dropped behind.
        for i in 0..160u32 {
            let chunk: Vec<u8> = (0..256 * 1024u32)
                .map(|b| (b.wrapping_mul(31) ^ i) as u8)
                .collect();
            expected.extend_from_slice(&chunk);
            sink.push(Bytes::from(chunk)).await.expect("push");
        }
        let written = sink.finish().await.expect("finish");
        assert!(written.error.is_none());
        written.file.sync_all().expect("fsync");
        assert_eq!(written.hasher.finalize(), blake3::hash(&expected));
        let on_disk = std::fs::read(&path).expect("read");
        assert_eq!(on_disk.len(), expected.len());
        assert!(on_disk == expected, "the file holds every byte pushed");
    }

    #[tokio::test]
    async fn a_write_error_is_kept_and_hashing_goes_on() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ro");
        std::fs::write(&path, b"").expect("create");
        // A read-only handle: every write fails.
        let mut sink = FileSink::start(
            File::open(&path).expect("open"),
            blake3::Hasher::new(),
            PageCache::Keep,
        );
        sink.push(Bytes::from_static(b"abc")).await.expect("push");
        sink.push(Bytes::from_static(b"def")).await.expect("push");
        let written = sink.finish().await.expect("finish");
        assert!(written.error.is_some(), "the write failure is reported");
        assert_eq!(std::fs::metadata(&path).expect("meta").len(), 0);
        assert_eq!(written.hasher.finalize(), blake3::hash(b"abcdef"));
    }
}
