//! A download: the bytes of a committed file from where the client's kept
//! prefix (if any) ends, and the BLAKE3 of the whole file at the end. A
//! client that kept the first bytes of an interrupted download offers
//! them (their length and hash, and the file's size and modification
//! time it saw); the store, which holds the whole file, checks them and
//! sends only the rest, or everything with the reason.
//!
//! A file whose hash the store recorded at its commit (and which has not
//! changed since) is sent without being hashed: the hash is known before
//! the first byte, and a front-end may send the file itself, zero-copy.

use crate::backend::{ByteRanges, FileBytes, FileStamp, HashLookup, StreamedFile};
use crate::error::StoreError;
use crate::hashing::hash_prefix;
use crate::space::Space;
use crate::upload::Audited;
use bytes::Bytes;
use netdisk_fileio::FileSource;
use netdisk_proto::{Entry, HomePath};
use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Files up to this size are read whole when opened, in the same trip
/// to the blocking pool, instead of through a reader thread of their own.
const READ_WHOLE_MAX: u64 = 256 * 1024;

/// What the client kept of an interrupted download of the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeptPrefix {
    pub offset: u64,
    pub blake3: Option<String>,
    /// The file's size and modification time when those bytes came.
    pub size: Option<u64>,
    pub modified: Option<i64>,
}

/// An open download. Take the body with [`Download::next_chunk`] (or,
/// when offered, [`Download::take_file`]), then [`Download::finish`];
/// dropped before that, it is audited as interrupted.
pub struct Download {
    path: HomePath,
    entry: Entry,
    offset: u64,
    restarted: Option<String>,
    body: Body,
    hash: FileHash,
    record: Audited,
}

enum Body {
    /// A small file sent from the start, read (and hashed) when opened.
    Whole(Option<Bytes>),
    /// Not started yet: the file positioned at `offset`.
    Waiting(std::fs::File),
    Streaming(FileSource),
    /// A file the back-end streams, not started yet.
    Ranged(Arc<dyn ByteRanges>),
    /// A streamed file's bytes arriving; `left` of them still due.
    Arriving {
        chunks: mpsc::Receiver<io::Result<Bytes>>,
        left: u64,
    },
    /// Given to the front-end to send itself.
    Taken,
}

/// The whole file's BLAKE3: recorded at its commit, or computed from the
/// bytes as they are read.
enum FileHash {
    Recorded(String),
    /// The hash state over the bytes read so far (none while streaming:
    /// the reader thread holds it), and what to record the result under.
    Computing {
        hasher: Option<Box<blake3::Hasher>>,
        record: Option<(std::fs::File, FileStamp)>,
    },
}

/// A download's body as the open file, for a front-end that sends it
/// without copying it through memory (`sendfile`).
pub struct FileBody {
    pub file: std::fs::File,
    pub offset: u64,
    pub len: u64,
}

/// What the blocking open gives back.
struct Opened {
    entry: Entry,
    offset: u64,
    restarted: Option<String>,
    body: Body,
    hash: FileHash,
}

impl Space {
    /// Opens a regular file to send, checking the prefix the client kept.
    pub async fn open_download(
        &self,
        path: &HomePath,
        kept: Option<KeptPrefix>,
    ) -> Result<Download, StoreError> {
        let mut record = Audited::start(self, "download", path);
        let open_path = path.clone();
        let opened = self
            .run(move |home| {
                let kept = kept.unwrap_or_default();
                let (file, entry) = match home.open_file(&open_path)? {
                    (FileBytes::Local(file), entry) => (file, entry),
                    (FileBytes::Streamed(streamed), entry) => {
                        return open_streamed(streamed, entry, kept)
                            .map_err(|e| StoreError::from_io(&e, "download"));
                    }
                };
                let hash = match home.stored_hash(&file) {
                    HashLookup::Recorded(blake3) => FileHash::Recorded(blake3),
                    HashLookup::Missing(stamp) => FileHash::Computing {
                        hasher: Some(Box::default()),
                        // A second handle: the first goes to the reader.
                        record: file.try_clone().ok().map(|dup| (dup, stamp)),
                    },
                };
                open_at(file, entry, kept, hash).map_err(|e| StoreError::from_io(&e, "download"))
            })
            .await;
        match opened {
            Ok(opened) => Ok(Download {
                path: path.clone(),
                entry: opened.entry,
                offset: opened.offset,
                restarted: opened.restarted,
                body: opened.body,
                hash: opened.hash,
                record,
            }),
            Err(err) => {
                record.0.result = err.code().as_str();
                Err(err)
            }
        }
    }
}

/// Positions the file after the kept prefix when it checks out.
fn open_at(
    mut file: std::fs::File,
    entry: Entry,
    kept: KeptPrefix,
    mut hash: FileHash,
) -> io::Result<Opened> {
    let size = entry.size;
    let from_start = |body, hash, restarted: Option<&str>| Opened {
        entry: entry.clone(),
        offset: 0,
        restarted: restarted.map(str::to_owned),
        body,
        hash,
    };
    if kept.offset == 0 {
        if size <= READ_WHOLE_MAX {
            // Bounded by READ_WHOLE_MAX. A file that shrank since its
            // size was read fails here, before anything is sent.
            let mut whole = vec![0; usize::try_from(size).unwrap_or(0)];
            file.read_exact(&mut whole)?;
            if let FileHash::Computing {
                hasher: Some(hasher),
                ..
            } = &mut hash
            {
                hasher.update(&whole);
            }
            return Ok(from_start(
                Body::Whole(Some(Bytes::from(whole))),
                hash,
                None,
            ));
        }
        return Ok(from_start(Body::Waiting(file), hash, None));
    }
    let reason = if let Some(refused) = refuse_kept(&kept, &entry) {
        refused
    } else {
        // The kept bytes are checked by hashing the server's copy of them
        // (the one place a download with a recorded hash still hashes).
        match hash_prefix(&mut file, kept.offset) {
            Ok(prefix)
                if kept.blake3.as_deref() == Some(prefix.clone().finalize().to_hex().as_str()) =>
            {
                if let FileHash::Computing { hasher, .. } = &mut hash {
                    *hasher = Some(Box::new(prefix));
                }
                return Ok(Opened {
                    entry,
                    offset: kept.offset,
                    restarted: None,
                    body: Body::Waiting(file),
                    hash,
                });
            }
            _ => "the kept bytes differ from the server's",
        }
    };
    file.seek(SeekFrom::Start(0))?;
    Ok(from_start(Body::Waiting(file), hash, Some(reason)))
}

/// Why a kept prefix cannot be of this file, before any byte is read.
fn refuse_kept(kept: &KeptPrefix, entry: &Entry) -> Option<&'static str> {
    if kept.size != Some(entry.size) || kept.modified != entry.modified {
        Some("the file changed on the server since the kept bytes were received")
    } else if kept.offset > entry.size {
        Some("more bytes were kept than the file has")
    } else {
        None
    }
}

/// `open_at` for a file the back-end streams: its hash is recorded, a
/// small one is read whole, and a kept prefix is checked by hashing the
/// same bytes of the stored file (read here, on the blocking pool).
fn open_streamed(file: StreamedFile, entry: Entry, kept: KeptPrefix) -> io::Result<Opened> {
    let size = entry.size;
    let hash = FileHash::Recorded(file.blake3);
    let ranges = file.ranges;
    if kept.offset == 0 && size <= READ_WHOLE_MAX {
        let mut whole = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        read_range(ranges.as_ref(), 0..size, |piece| {
            whole.extend_from_slice(piece)
        })?;
        return Ok(Opened {
            entry,
            offset: 0,
            restarted: None,
            body: Body::Whole(Some(Bytes::from(whole))),
            hash,
        });
    }
    let mut restarted = None;
    let mut offset = 0;
    if kept.offset > 0 {
        match refuse_kept(&kept, &entry) {
            Some(reason) => restarted = Some(reason),
            None => {
                let mut prefix = blake3::Hasher::new();
                read_range(ranges.as_ref(), 0..kept.offset, |piece| {
                    prefix.update(piece);
                })?;
                if kept.blake3.as_deref() == Some(prefix.finalize().to_hex().as_str()) {
                    offset = kept.offset;
                } else {
                    restarted = Some("the kept bytes differ from the server's");
                }
            }
        }
    }
    Ok(Opened {
        entry,
        offset,
        restarted: restarted.map(str::to_owned),
        body: Body::Ranged(ranges),
        hash,
    })
}

/// Reads `range` of a streamed file on this (blocking) thread, handing
/// each piece to `each`; an error if fewer bytes come than asked.
fn read_range(
    ranges: &dyn ByteRanges,
    range: Range<u64>,
    mut each: impl FnMut(&[u8]),
) -> io::Result<()> {
    let wanted = range.end - range.start;
    let mut chunks = ranges.read(range);
    let mut got = 0;
    while let Some(piece) = chunks.blocking_recv() {
        let piece = piece?;
        got += piece.len() as u64;
        each(&piece);
    }
    if got == wanted {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("the stored file gave {got} bytes of {wanted}"),
        ))
    }
}

impl Download {
    /// The file's path in its owner's home.
    pub fn path(&self) -> &HomePath {
        &self.path
    }

    /// The file as it was opened (size, modification time, mode).
    pub fn entry(&self) -> &Entry {
        &self.entry
    }

    /// Where the body starts: the kept prefix's length, or 0.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Bytes the body has.
    pub fn body_len(&self) -> u64 {
        self.entry.size - self.offset
    }

    /// Why the kept prefix was refused (the whole file comes), if it was.
    pub fn take_restarted(&mut self) -> Option<String> {
        self.restarted.take()
    }

    /// The whole file's BLAKE3 before any byte is sent, when the store
    /// recorded it at the commit and the file has not changed since (its
    /// size and modification time). Else it comes from [`Download::finish`].
    pub fn recorded_hash(&self) -> Option<&str> {
        match &self.hash {
            FileHash::Recorded(blake3) => Some(blake3),
            FileHash::Computing { .. } => None,
        }
    }

    /// The body as the open file, positioned nowhere in particular, for a
    /// front-end to send itself without copying it through this process
    /// (`sendfile`): offered only when the hash is recorded, so no byte
    /// need be read here, and before any chunk was taken. Tell
    /// [`Download::sent`] how many bytes went.
    pub fn take_file(&mut self) -> Option<FileBody> {
        if self.recorded_hash().is_none() || !matches!(self.body, Body::Waiting(_)) {
            return None;
        }
        match std::mem::replace(&mut self.body, Body::Taken) {
            Body::Waiting(file) => Some(FileBody {
                file,
                offset: self.offset,
                len: self.body_len(),
            }),
            _ => None,
        }
    }

    /// Part of the file, `len` bytes from `start`, as the open file (an HTTP
    /// Range request): offered whatever is known of the hash (none is
    /// computed or checked for a part), before any chunk was taken.
    /// `None` when the range is not inside the file or the body is gone.
    pub fn take_range(&mut self, start: u64, len: u64) -> Option<FileBody> {
        let inside = start
            .checked_add(len)
            .is_some_and(|end| end <= self.entry.size);
        if !inside || self.offset != 0 {
            return None;
        }
        // A small file read whole has no file left here (`whole_bytes`).
        let file = match std::mem::replace(&mut self.body, Body::Taken) {
            Body::Waiting(file) => file,
            other => {
                self.body = other;
                return None;
            }
        };
        Some(FileBody {
            file,
            offset: start,
            len,
        })
    }

    /// Makes the body the `len` bytes from `start` (an HTTP Range, a
    /// WebDAV read after a seek), whatever the back-end: `next_chunk`
    /// then gives exactly them, none hashed; end with `finish_part`.
    /// Offered before any chunk was taken, for a range inside the file;
    /// false otherwise.
    pub fn select_range(&mut self, start: u64, len: u64) -> bool {
        let end = match start.checked_add(len) {
            Some(end) if end <= self.entry.size && self.offset == 0 => end,
            _ => return false,
        };
        self.body = match std::mem::replace(&mut self.body, Body::Taken) {
            // Bounded by READ_WHOLE_MAX, so the indices fit; no copy.
            Body::Whole(Some(whole)) => {
                Body::Whole(Some(whole.slice(start as usize..end as usize)))
            }
            Body::Waiting(mut file) => match file.seek(SeekFrom::Start(start)) {
                Ok(_) => Body::Streaming(FileSource::start(file, None, len)),
                Err(e) => {
                    tracing::warn!(path = %self.path, error = %e, "seek for a range");
                    return false;
                }
            },
            Body::Ranged(ranges) => Body::Arriving {
                chunks: ranges.read(start..end),
                left: len,
            },
            other => {
                self.body = other;
                return false;
            }
        };
        true
    }

    /// The bytes of a small file read whole at opening, when it was (a
    /// front-end may slice them for a range).
    pub fn whole_bytes(&mut self) -> Option<Bytes> {
        match &mut self.body {
            Body::Whole(whole) => whole.take(),
            _ => None,
        }
    }

    /// After a front-end sent the part it took (`take_range`,
    /// `whole_bytes` sliced): audited as sent, with no hash (a part proves
    /// nothing of the whole).
    pub fn finish_part(mut self) {
        self.record.0.result = "ok";
    }

    /// Bytes of a taken body the front-end sent, for the audit trail.
    pub fn sent(&mut self, bytes: u64) {
        self.record.0.bytes += bytes;
    }

    /// The next piece of the body; `None` once all of it was given out
    /// (or the body was taken). An error means the file shrank or could
    /// not be read after its size was announced: the promised bytes
    /// cannot be delivered.
    pub async fn next_chunk(&mut self) -> Option<io::Result<Bytes>> {
        if let Body::Ranged(ranges) = &self.body {
            let (start, end) = (self.offset, self.entry.size);
            self.body = Body::Arriving {
                chunks: ranges.read(start..end),
                left: end - start,
            };
        }
        if matches!(self.body, Body::Waiting(_)) {
            let len = self.body_len();
            let hasher = match &mut self.hash {
                FileHash::Recorded(_) => None,
                FileHash::Computing { hasher, .. } => hasher.take().map(|boxed| *boxed),
            };
            if let Body::Waiting(file) = std::mem::replace(&mut self.body, Body::Taken) {
                self.body = Body::Streaming(FileSource::start(file, hasher, len));
            }
        }
        let chunk = match &mut self.body {
            Body::Whole(whole) => whole.take().map(Ok),
            Body::Streaming(source) => source.next().await,
            Body::Arriving { chunks, left } => arrived(chunks.recv().await, left),
            Body::Waiting(_) | Body::Ranged(_) | Body::Taken => None,
        };
        if let Some(Ok(bytes)) = &chunk {
            self.record.0.bytes += bytes.len() as u64;
        }
        if let Some(Err(e)) = &chunk {
            tracing::warn!(path = %self.path, error = %e, "download cut short");
        }
        chunk
    }

    /// After the whole body: the BLAKE3 of the whole file. One computed
    /// here is recorded for the next download, unless the file changed
    /// while it was read.
    pub async fn finish(mut self) -> io::Result<String> {
        if let Body::Streaming(source) = std::mem::replace(&mut self.body, Body::Taken) {
            let hasher = source.finish().await?;
            if let FileHash::Computing { hasher: mine, .. } = &mut self.hash {
                *mine = hasher.map(Box::new);
            }
        }
        let blake3 = match std::mem::replace(&mut self.hash, FileHash::Recorded(String::new())) {
            FileHash::Recorded(blake3) => blake3,
            FileHash::Computing { hasher, record } => {
                let hasher = hasher.ok_or_else(|| {
                    io::Error::other("the download's hash was lost with its reader")
                })?;
                let blake3 = hasher.finalize().to_hex().to_string();
                if let Some((file, stamp)) = record {
                    let (space, hash) = (self.record.1.clone(), blake3.clone());
                    // Best effort, and off the async thread: an xattr write.
                    let _ = space
                        .run(move |home| {
                            home.record_hash(&file, &stamp, &hash);
                            Ok(())
                        })
                        .await;
                }
                blake3
            }
        };
        tracing::info!(user = %self.record.1.user, path = %self.path, bytes = self.entry.size, resumed_from = self.offset, "download sent");
        self.record.0.blake3 = Some(blake3.clone());
        self.record.0.result = "ok";
        Ok(blake3)
    }
}

/// A streamed file's next piece, checked against the bytes still due: a
/// stream that ends early or gives too much is an error, never a short
/// or long body.
fn arrived(piece: Option<io::Result<Bytes>>, left: &mut u64) -> Option<io::Result<Bytes>> {
    match piece {
        Some(Ok(bytes)) if bytes.len() as u64 > *left => Some(Err(io::Error::other(
            "the stored file gave more bytes than its size",
        ))),
        Some(Ok(bytes)) => {
            *left -= bytes.len() as u64;
            Some(Ok(bytes))
        }
        Some(Err(e)) => Some(Err(e)),
        None if *left > 0 => Some(Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("the stored file ended {left} bytes early"),
        ))),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netdisk_proto::EntryKind;

    /// A stored file in memory, served as a back-end streams (from a
    /// thread of its own); `short` bytes are held back at the end, as a
    /// failing store would.
    struct InMemory {
        bytes: Vec<u8>,
        short: usize,
    }

    impl ByteRanges for InMemory {
        fn read(&self, range: Range<u64>) -> mpsc::Receiver<io::Result<Bytes>> {
            let (sender, receiver) = mpsc::channel(4);
            let end = (range.end as usize).saturating_sub(self.short);
            let part = self.bytes[range.start as usize..end.max(range.start as usize)].to_vec();
            std::thread::spawn(move || {
                for piece in part.chunks(1000) {
                    if sender
                        .blocking_send(Ok(Bytes::copy_from_slice(piece)))
                        .is_err()
                    {
                        return;
                    }
                }
            });
            receiver
        }
    }

    fn stored(len: usize, short: usize) -> (Vec<u8>, StreamedFile, Entry) {
        let bytes: Vec<u8> = (0..len).map(|n| (n * 7 % 251) as u8).collect();
        let file = StreamedFile {
            blake3: blake3::hash(&bytes).to_hex().to_string(),
            ranges: Arc::new(InMemory {
                bytes: bytes.clone(),
                short,
            }),
        };
        let entry = Entry {
            name: "f".into(),
            kind: EntryKind::File,
            size: len as u64,
            modified: Some(1_700_000_000),
            mode: None,
        };
        (bytes, file, entry)
    }

    fn kept(bytes: &[u8], offset: usize, entry: &Entry) -> KeptPrefix {
        KeptPrefix {
            offset: offset as u64,
            blake3: Some(blake3::hash(&bytes[..offset]).to_hex().to_string()),
            size: Some(entry.size),
            modified: entry.modified,
        }
    }

    #[test]
    fn a_small_streamed_file_is_read_whole_with_its_recorded_hash() {
        let (bytes, file, entry) = stored(5000, 0);
        let opened = open_streamed(file.clone(), entry, KeptPrefix::default()).expect("open");
        assert!(matches!(&opened.body, Body::Whole(Some(whole)) if *whole == bytes));
        assert!(matches!(&opened.hash, FileHash::Recorded(hash) if *hash == file.blake3));
        // A store that gives less than the size fails before anything is sent.
        let (_, short, entry) = stored(5000, 10);
        assert!(open_streamed(short, entry, KeptPrefix::default()).is_err());
    }

    #[test]
    fn a_kept_prefix_of_a_streamed_file_is_checked_against_its_bytes() {
        let size = READ_WHOLE_MAX as usize + 4321;
        let (bytes, file, entry) = stored(size, 0);
        let good =
            open_streamed(file.clone(), entry.clone(), kept(&bytes, 3000, &entry)).expect("open");
        assert_eq!((good.offset, good.restarted), (3000, None));
        assert!(matches!(good.body, Body::Ranged(_)));

        let mut other = bytes.clone();
        other[10] ^= 1;
        let wrong =
            open_streamed(file.clone(), entry.clone(), kept(&other, 3000, &entry)).expect("open");
        assert_eq!(wrong.offset, 0);
        assert_eq!(
            wrong.restarted.as_deref(),
            Some("the kept bytes differ from the server's")
        );

        let mut changed = kept(&bytes, 3000, &entry);
        changed.size = Some(entry.size + 1);
        let changed = open_streamed(file.clone(), entry.clone(), changed).expect("open");
        assert_eq!(changed.offset, 0);
        assert!(changed.restarted.is_some_and(|why| why.contains("changed")));

        let mut beyond = kept(&bytes, 3000, &entry);
        beyond.offset = entry.size + 1;
        let beyond = open_streamed(file, entry, beyond).expect("open");
        assert_eq!(beyond.offset, 0);
    }

    #[test]
    fn a_streamed_body_is_exactly_its_size() {
        let mut left = 10;
        assert_eq!(
            arrived(Some(Ok(Bytes::from_static(b"0123"))), &mut left)
                .expect("piece")
                .expect("bytes")
                .len(),
            4
        );
        assert_eq!(left, 6);
        let early = arrived(None, &mut left).expect("an error, not the end");
        assert_eq!(early.unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
        let long = arrived(Some(Ok(Bytes::from_static(b"0123456"))), &mut left);
        assert!(long.expect("an error").is_err());
        let mut none_left = 0;
        assert!(arrived(None, &mut none_left).is_none());
    }
}
