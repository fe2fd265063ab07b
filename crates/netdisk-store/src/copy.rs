//! A file copied within a user's home (WebDAV's COPY): the source read
//! through a download and written through a verified upload, so the copy
//! obeys every rule an upload does (the quota reserved before the first
//! byte, staged outside the home, committed durably and atomically only
//! if its BLAKE3 is the source's), then the source's properties recorded
//! on it. A directory is copied by its front-end, one mkdir and one file
//! at a time.

use crate::audit::Event;
use crate::backend::SourceAttributes;
use crate::error::{ErrorKind, StoreError};
use crate::space::{outcome, Space};
use crate::upload::{Committed, UploadSpec};
use netdisk_proto::{EntryKind, HomePath};

impl Space {
    /// Copies the regular file `from` to `to` (replacing a file there):
    /// bytes, modification time, permission bits and properties.
    pub async fn copy_file(&self, from: &HomePath, to: &HomePath) -> Result<Committed, StoreError> {
        let result = self.copy_unaudited(from, to).await;
        self.audit(Event::Copy {
            peer: self.peer,
            user: &self.user,
            from: &from.to_string(),
            to: &to.to_string(),
            result: outcome(&result),
        });
        result
    }

    async fn copy_unaudited(
        &self,
        from: &HomePath,
        to: &HomePath,
    ) -> Result<Committed, StoreError> {
        if from == to {
            return Err(StoreError::new(
                ErrorKind::Invalid,
                format!("cannot copy {from} onto itself"),
            ));
        }
        if self
            .entry(to)
            .await
            .is_ok_and(|entry| entry.kind == EntryKind::Dir)
        {
            return Err(StoreError::new(
                ErrorKind::IsADirectory,
                format!("{to}: is a directory"),
            ));
        }
        let mut source = self.open_download(from, None).await?;
        let entry = source.entry().clone();
        let spec = UploadSpec {
            size: entry.size,
            attributes: SourceAttributes {
                modified: entry.modified,
                mode: entry.mode,
            },
            resume: false,
            create_new: false,
        };
        let mut copy = self.begin_upload(to, spec).await?;
        if let Err(e) = copy.start_body(0).await {
            copy.abandon().await;
            return Err(StoreError::from_io(&e, &to.to_string()));
        }
        while let Some(chunk) = source.next_chunk().await {
            let written = match chunk {
                Ok(chunk) => copy.write(chunk).await,
                Err(e) => Err(e),
            };
            if let Err(e) = written {
                copy.abandon().await;
                return Err(StoreError::from_io(&e, &from.to_string()));
            }
        }
        let source_hash = match source.finish().await {
            Ok(hash) => hash,
            Err(e) => {
                copy.abandon().await;
                return Err(StoreError::from_io(&e, &from.to_string()));
            }
        };
        // The source's hash: a copy that differs from it is not committed.
        let committed = copy.finish(&source_hash).await?;
        let properties = self.properties(from).await?;
        if !properties.is_empty() {
            self.replace_properties(to, properties).await?;
        }
        Ok(committed)
    }
}
