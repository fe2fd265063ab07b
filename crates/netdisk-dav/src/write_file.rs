//! A file opened for PUT: the store's verified upload (the quota checked
//! and the space reserved for the announced size before the first byte,
//! the body staged outside the home), committed durably and atomically
//! by `flush` only when exactly the announced bytes arrived. A PUT cut
//! part-way never reaches `flush`: the upload is abandoned and the old
//! file, if any, is untouched.

use crate::errors::fs_error;
use crate::meta::EntryMeta;
use bytes::{Buf, Bytes};
use dav_server::fs::{DavFile, DavMetaData, FsError, FsFuture, OpenOptions};
use futures_util::FutureExt;
use netdisk_proto::{EntryKind, HomePath};
use netdisk_store::{ErrorKind, Space, Upload, UploadSpec};
use std::io::SeekFrom;
use std::sync::Mutex;

pub(crate) struct WriteFile {
    space: Space,
    target: HomePath,
    /// `None` once committed (or never begun). In a mutex only because
    /// dav-server wants files `Sync`; reached through `get_mut`, never locked.
    upload: Mutex<Option<Upload>>,
    size: u64,
    written: u64,
    /// What the committed file is, with its hash.
    committed: Option<EntryMeta>,
}

impl std::fmt::Debug for WriteFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteFile")
            .field("target", &self.target.to_string())
            .field("size", &self.size)
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

impl WriteFile {
    pub(crate) async fn open(
        space: &Space,
        target: HomePath,
        options: &OpenOptions,
    ) -> Result<Box<dyn DavFile>, FsError> {
        if options.append {
            return Err(FsError::NotImplemented);
        }
        match space.entry(&target).await {
            Ok(entry) if entry.kind == EntryKind::Dir => return Err(FsError::Forbidden),
            Ok(_) if options.create_new => return Err(FsError::Exists),
            Ok(_) => {}
            Err(err) if err.kind == ErrorKind::NotFound && !options.create => {
                return Err(FsError::NotFound)
            }
            Err(err) if err.kind == ErrorKind::NotFound => {}
            Err(err) => return Err(fs_error(err)),
        }
        let mut file = WriteFile {
            space: space.clone(),
            target,
            upload: Mutex::new(None),
            size: options.size.unwrap_or(0),
            written: 0,
            committed: None,
        };
        let Some(size) = options.size else {
            // No body will come (a LOCK of an unmapped URL): the
            // resource it creates is an empty file, unless one exists.
            if space.entry(&file.target).await.is_err() {
                file.begin(0).await?;
                file.commit().await?;
            }
            return Ok(Box::new(file));
        };
        file.begin(size).await?;
        Ok(Box::new(file))
    }

    fn upload_slot(&mut self) -> &mut Option<Upload> {
        self.upload.get_mut().unwrap_or_else(|e| e.into_inner())
    }

    async fn begin(&mut self, size: u64) -> Result<(), FsError> {
        let spec = UploadSpec {
            size,
            ..UploadSpec::default()
        };
        let mut upload = self
            .space
            .begin_upload(&self.target, spec)
            .await
            .map_err(fs_error)?;
        if let Err(e) = upload.start_body(0).await {
            tracing::warn!(error = %e, "WebDAV upload could not start");
            upload.abandon().await;
            return Err(FsError::GeneralFailure);
        }
        *self.upload_slot() = Some(upload);
        Ok(())
    }

    async fn write(&mut self, chunk: Bytes) -> Result<(), FsError> {
        self.written += chunk.len() as u64;
        if self.written > self.size {
            return Err(FsError::TooLarge);
        }
        let upload = self.upload_slot().as_mut().ok_or(FsError::Forbidden)?;
        upload.write(chunk).await.map_err(|e| {
            tracing::warn!(error = %e, "WebDAV upload's writer failed");
            FsError::GeneralFailure
        })
    }

    /// The whole body arrived: the verified, durable, atomic commit.
    async fn commit(&mut self) -> Result<(), FsError> {
        let Some(upload) = self.upload_slot().take() else {
            return Ok(());
        };
        if self.written != self.size {
            // A body that ended early (a chunked one that announced its
            // length in X-Expected-Entity-Length): nothing is stored.
            upload.abandon().await;
            return Err(FsError::GeneralFailure);
        }
        let committed = upload.finish_unhashed().await.map_err(fs_error)?;
        let entry = self.space.entry(&self.target).await.map_err(fs_error)?;
        self.committed = Some(EntryMeta::new(entry, Some(committed.blake3)));
        Ok(())
    }
}

impl Drop for WriteFile {
    fn drop(&mut self) {
        // Cut before `flush`: nothing is stored, the space is given back.
        if let Some(upload) = self.upload_slot().take() {
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    runtime.spawn(upload.abandon());
                }
                Err(_) => drop(upload),
            }
        }
    }
}

impl DavFile for WriteFile {
    fn metadata(&mut self) -> FsFuture<'_, Box<dyn DavMetaData>> {
        async move {
            if let Some(meta) = &self.committed {
                return Ok(Box::new(meta.clone()) as Box<dyn DavMetaData>);
            }
            let (entry, blake3) = self
                .space
                .entry_with_recorded_hash(&self.target)
                .await
                .map_err(fs_error)?;
            Ok(Box::new(EntryMeta::new(entry, blake3)) as Box<dyn DavMetaData>)
        }
        .boxed()
    }

    fn write_buf(&mut self, mut buf: Box<dyn Buf + Send>) -> FsFuture<'_, ()> {
        let chunk = buf.copy_to_bytes(buf.remaining());
        self.write(chunk).boxed()
    }

    fn write_bytes(&mut self, buf: Bytes) -> FsFuture<'_, ()> {
        self.write(buf).boxed()
    }

    fn read_bytes(&mut self, _count: usize) -> FsFuture<'_, Bytes> {
        Box::pin(std::future::ready(Err(FsError::Forbidden)))
    }

    /// Partial updates (Content-Range PUT) are not offered: an upload
    /// replaces the whole file.
    fn seek(&mut self, position: SeekFrom) -> FsFuture<'_, u64> {
        let done = match position {
            SeekFrom::Start(0) if self.written == 0 => Ok(0),
            _ => Err(FsError::NotImplemented),
        };
        Box::pin(std::future::ready(done))
    }

    fn flush(&mut self) -> FsFuture<'_, ()> {
        self.commit().boxed()
    }
}
