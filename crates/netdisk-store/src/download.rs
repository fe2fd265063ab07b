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

use crate::backend::{FileStamp, HashLookup};
use crate::error::StoreError;
use crate::hashing::hash_prefix;
use crate::space::Space;
use crate::upload::Audited;
use bytes::Bytes;
use netdisk_fileio::FileSource;
use netdisk_proto::{Entry, HomePath};
use std::io::{self, Read, Seek, SeekFrom};

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
    Whole(Option<Vec<u8>>),
    /// Not started yet: the file positioned at `offset`.
    Waiting(std::fs::File),
    Streaming(FileSource),
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
                let (file, entry) = home.open_file(&open_path)?;
                let hash = match home.stored_hash(&file) {
                    HashLookup::Recorded(blake3) => FileHash::Recorded(blake3),
                    HashLookup::Missing(stamp) => FileHash::Computing {
                        hasher: Some(Box::default()),
                        // A second handle: the first goes to the reader.
                        record: file.try_clone().ok().map(|dup| (dup, stamp)),
                    },
                };
                open_at(file, entry, kept.unwrap_or_default(), hash)
                    .map_err(|e| StoreError::from_io(&e, "download"))
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
            return Ok(from_start(Body::Whole(Some(whole)), hash, None));
        }
        return Ok(from_start(Body::Waiting(file), hash, None));
    }
    let reason = if kept.size != Some(size) || kept.modified != entry.modified {
        "the file changed on the server since the kept bytes were received"
    } else if kept.offset > size {
        "more bytes were kept than the file has"
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

    /// The bytes of a small file read whole at opening, when it was (a
    /// front-end may slice them for a range).
    pub fn whole_bytes(&mut self) -> Option<Bytes> {
        match &mut self.body {
            Body::Whole(whole) => whole.take().map(Bytes::from),
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
            Body::Whole(whole) => whole.take().map(|bytes| Ok(Bytes::from(bytes))),
            Body::Streaming(source) => source.next().await,
            Body::Waiting(_) | Body::Taken => None,
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
