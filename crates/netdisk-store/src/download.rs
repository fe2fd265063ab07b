//! A download: the bytes of a committed file from where the client's kept
//! prefix (if any) ends, and the BLAKE3 of the whole file at the end. A
//! client that kept the first bytes of an interrupted download offers
//! them (their length and hash, and the file's size and modification
//! time it saw); the store, which holds the whole file, checks them and
//! sends only the rest, or everything with the reason.

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

/// An open download. Take the body with [`Download::next_chunk`], then
/// [`Download::finish`]; dropped before that, it is audited as interrupted.
pub struct Download {
    path: HomePath,
    entry: Entry,
    offset: u64,
    restarted: Option<String>,
    body: Body,
    record: Audited,
}

enum Body {
    /// A small file sent from the start, read and hashed when opened.
    Whole(Option<Vec<u8>>, blake3::Hasher),
    /// Not started yet: the file positioned at `offset`, and the hash
    /// state over the bytes before it.
    Waiting(std::fs::File, blake3::Hasher),
    Streaming(FileSource),
}

/// What the blocking open gives back.
struct Opened {
    entry: Entry,
    offset: u64,
    restarted: Option<String>,
    body: Body,
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
                open_at(file, entry, kept.unwrap_or_default())
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
fn open_at(mut file: std::fs::File, entry: Entry, kept: KeptPrefix) -> io::Result<Opened> {
    let size = entry.size;
    if kept.offset == 0 {
        if size <= READ_WHOLE_MAX {
            // Bounded by READ_WHOLE_MAX. A file that shrank since its
            // size was read fails here, before anything is sent.
            let mut whole = vec![0; usize::try_from(size).unwrap_or(0)];
            file.read_exact(&mut whole)?;
            let mut hasher = blake3::Hasher::new();
            hasher.update(&whole);
            return Ok(Opened {
                entry,
                offset: 0,
                restarted: None,
                body: Body::Whole(Some(whole), hasher),
            });
        }
        return Ok(Opened {
            entry,
            offset: 0,
            restarted: None,
            body: Body::Waiting(file, blake3::Hasher::new()),
        });
    }
    let reason = if kept.size != Some(size) || kept.modified != entry.modified {
        Some("the file changed on the server since the kept bytes were received")
    } else if kept.offset > size {
        Some("more bytes were kept than the file has")
    } else {
        match hash_prefix(&mut file, kept.offset) {
            Ok(hasher)
                if kept.blake3.as_deref() == Some(hasher.clone().finalize().to_hex().as_str()) =>
            {
                return Ok(Opened {
                    entry,
                    offset: kept.offset,
                    restarted: None,
                    body: Body::Waiting(file, hasher),
                });
            }
            _ => Some("the kept bytes differ from the server's"),
        }
    };
    file.seek(SeekFrom::Start(0))?;
    Ok(Opened {
        entry,
        offset: 0,
        restarted: reason.map(str::to_owned),
        body: Body::Waiting(file, blake3::Hasher::new()),
    })
}

impl Download {
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

    /// The next piece of the body; `None` once all of it was given out.
    /// An error means the file shrank or could not be read after its size
    /// was announced: the promised bytes cannot be delivered.
    pub async fn next_chunk(&mut self) -> Option<io::Result<Bytes>> {
        if matches!(self.body, Body::Waiting(..)) {
            let len = self.body_len();
            let placeholder = Body::Whole(None, blake3::Hasher::new());
            if let Body::Waiting(file, hasher) = std::mem::replace(&mut self.body, placeholder) {
                self.body = Body::Streaming(FileSource::start(file, hasher, len));
            }
        }
        let chunk = match &mut self.body {
            Body::Whole(whole, _) => whole.take().map(|bytes| Ok(Bytes::from(bytes))),
            Body::Streaming(source) => source.next().await,
            Body::Waiting(..) => None,
        };
        if let Some(Ok(bytes)) = &chunk {
            self.record.0.bytes += bytes.len() as u64;
        }
        if let Some(Err(e)) = &chunk {
            tracing::warn!(path = %self.path, error = %e, "download cut short");
        }
        chunk
    }

    /// After the whole body: the BLAKE3 of the whole file.
    pub async fn finish(mut self) -> io::Result<String> {
        let body = std::mem::replace(&mut self.body, Body::Whole(None, blake3::Hasher::new()));
        let hasher = match body {
            Body::Whole(_, hasher) | Body::Waiting(_, hasher) => hasher,
            Body::Streaming(source) => source.finish().await?,
        };
        let blake3 = hasher.finalize().to_hex().to_string();
        tracing::info!(user = %self.record.1.user, path = %self.path, bytes = self.entry.size, resumed_from = self.offset, "download sent");
        self.record.0.blake3 = Some(blake3.clone());
        self.record.0.result = "ok";
        Ok(blake3)
    }
}
