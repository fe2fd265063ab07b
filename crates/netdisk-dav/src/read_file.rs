//! A file opened for GET: read from its first byte through the store's
//! download (hashed on the way unless the hash is recorded, and recorded
//! at the end), or, after a seek (a Range request), read where asked
//! from the open file itself (a part proves nothing of the whole, so
//! nothing is hashed).

use crate::errors::fs_error;
use crate::meta::EntryMeta;
use bytes::Bytes;
use dav_server::fs::{DavFile, DavMetaData, FsError, FsFuture};
use futures_util::FutureExt;
use netdisk_proto::HomePath;
use netdisk_store::{Download, FileBody, Space};
use std::io::SeekFrom;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

pub(crate) struct ReadFile {
    meta: EntryMeta,
    position: u64,
    reading: Reading,
}

enum Reading {
    /// From the first byte on, in the store's pieces; `pending` is what
    /// of the last piece dav-server has not asked for yet. A `part` (a
    /// streamed file read from a seek) ends without the whole file's hash.
    Sequential {
        download: Option<Download>,
        pending: Bytes,
        part: bool,
    },
    /// After a seek.
    Positioned {
        bytes: Positioned,
        download: Option<Download>,
    },
}

enum Positioned {
    /// A small file, read whole when it was opened.
    Memory(Bytes),
    File(Arc<std::fs::File>),
}

impl std::fmt::Debug for ReadFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadFile")
            .field("meta", &self.meta)
            .field("position", &self.position)
            .finish_non_exhaustive()
    }
}

impl ReadFile {
    pub(crate) async fn open(space: &Space, path: HomePath) -> Result<Box<dyn DavFile>, FsError> {
        let download = space.open_download(&path, None).await.map_err(fs_error)?;
        let meta = EntryMeta::new(
            download.entry().clone(),
            download.recorded_hash().map(str::to_owned),
        );
        Ok(Box::new(ReadFile {
            meta,
            position: 0,
            reading: Reading::Sequential {
                download: Some(download),
                pending: Bytes::new(),
                part: false,
            },
        }))
    }

    fn seek_to(&mut self, position: u64) -> Result<u64, FsError> {
        if position > self.meta.entry.size {
            return Err(FsError::GeneralFailure);
        }
        if let Reading::Sequential {
            download: slot,
            pending,
            part,
        } = &mut self.reading
        {
            if position == self.position {
                return Ok(position);
            }
            // Only a download not started yet can hand over its file.
            if self.position != 0 || !pending.is_empty() || *part {
                return Err(FsError::GeneralFailure);
            }
            let mut download = slot.take().ok_or(FsError::GeneralFailure)?;
            let size = self.meta.entry.size;
            let bytes = match download.whole_bytes() {
                Some(whole) => Positioned::Memory(whole),
                None => match download.take_range(0, size) {
                    Some(FileBody { file, .. }) => Positioned::File(Arc::new(file)),
                    // A file the back-end streams: read on from here.
                    None if download.select_range(position, size - position) => {
                        *slot = Some(download);
                        *part = true;
                        self.position = position;
                        return Ok(position);
                    }
                    None => return Err(FsError::GeneralFailure),
                },
            };
            self.reading = Reading::Positioned {
                bytes,
                download: Some(download),
            };
        }
        self.position = position;
        Ok(position)
    }

    async fn read(&mut self, count: usize) -> Result<Bytes, FsError> {
        let left = self.meta.entry.size.saturating_sub(self.position);
        let count = count.min(usize::try_from(left).unwrap_or(usize::MAX));
        let bytes = match &mut self.reading {
            Reading::Sequential {
                download, pending, ..
            } => {
                if pending.is_empty() {
                    let source = download.as_mut().ok_or(FsError::GeneralFailure)?;
                    *pending = match source.next_chunk().await {
                        Some(Ok(piece)) => piece,
                        Some(Err(e)) => {
                            tracing::warn!(error = %e, "WebDAV download cut short");
                            return Err(FsError::GeneralFailure);
                        }
                        None => Bytes::new(),
                    };
                }
                pending.split_to(count.min(pending.len()))
            }
            Reading::Positioned { bytes, download } => {
                let part = match bytes {
                    Positioned::Memory(whole) => {
                        let start =
                            usize::try_from(self.position).map_err(|_| FsError::GeneralFailure)?;
                        whole.slice(start..start + count)
                    }
                    Positioned::File(file) => read_at(file.clone(), self.position, count).await?,
                };
                if let Some(download) = download {
                    download.sent(part.len() as u64);
                }
                part
            }
        };
        self.position += bytes.len() as u64;
        if self.position == self.meta.entry.size {
            self.finish_sequential().await;
        }
        Ok(bytes)
    }

    /// After the last byte: the whole file's hash, recorded for the next
    /// download if it was not yet, and the download audited as done.
    async fn finish_sequential(&mut self) {
        if let Reading::Sequential {
            download,
            pending,
            part,
        } = &mut self.reading
        {
            if !pending.is_empty() {
                return;
            }
            match download.take() {
                Some(download) if *part => download.finish_part(),
                Some(download) => {
                    if let Err(e) = download.finish().await {
                        tracing::warn!(error = %e, "WebDAV download's hash not finished");
                    }
                }
                None => {}
            }
        }
    }
}

/// Up to `count` bytes at `position`, on the blocking pool.
async fn read_at(file: Arc<std::fs::File>, position: u64, count: usize) -> Result<Bytes, FsError> {
    tokio::task::spawn_blocking(move || {
        let mut buffer = vec![0u8; count];
        let mut filled = 0;
        while filled < count {
            match file.read_at(&mut buffer[filled..], position + filled as u64) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    tracing::warn!(error = %e, "WebDAV range read failed");
                    return Err(FsError::GeneralFailure);
                }
            }
        }
        buffer.truncate(filled);
        Ok(Bytes::from(buffer))
    })
    .await
    .map_err(|_| FsError::GeneralFailure)?
}

impl Drop for ReadFile {
    fn drop(&mut self) {
        let download = match &mut self.reading {
            Reading::Positioned { download, .. } => download.take(),
            // Opened and never read (HEAD, a 304): nothing was sent.
            Reading::Sequential { download, .. } if self.position == 0 => download.take(),
            // Cut part-way: audited as interrupted when dropped.
            Reading::Sequential { .. } => None,
        };
        if let Some(download) = download {
            download.finish_part();
        }
    }
}

impl DavFile for ReadFile {
    fn metadata(&mut self) -> FsFuture<'_, Box<dyn DavMetaData>> {
        let meta = self.meta.clone();
        async move { Ok(Box::new(meta) as Box<dyn DavMetaData>) }.boxed()
    }

    fn write_buf(&mut self, _buf: Box<dyn bytes::Buf + Send>) -> FsFuture<'_, ()> {
        Box::pin(std::future::ready(Err(FsError::Forbidden)))
    }

    fn write_bytes(&mut self, _buf: Bytes) -> FsFuture<'_, ()> {
        Box::pin(std::future::ready(Err(FsError::Forbidden)))
    }

    fn read_bytes(&mut self, count: usize) -> FsFuture<'_, Bytes> {
        self.read(count).boxed()
    }

    fn seek(&mut self, position: SeekFrom) -> FsFuture<'_, u64> {
        let done = match position {
            SeekFrom::Start(at) => self.seek_to(at),
            SeekFrom::Current(0) => Ok(self.position),
            _ => Err(FsError::NotImplemented),
        };
        Box::pin(std::future::ready(done))
    }

    fn flush(&mut self) -> FsFuture<'_, ()> {
        Box::pin(std::future::ready(Ok(())))
    }
}
