//! An upload on its way into the cluster: its object written in parts
//! (the engine's `Staged`), then named by one catalog transaction. Until
//! that transaction no server shows it; a failed or abandoned upload's
//! object is removed here, or by the collector when this server died. A
//! resumable upload's confirmed parts are recorded as they come, so a cut
//! one is kept for the next attempt on any server.

use crate::backend::Shared;
use crate::catalog::{NewFile, Reservation};
use crate::object_body::ObjectBody;
use crate::objects::ObjectKey;
use crate::part_hasher::PartHasher;
use crate::part_writer::PartWriter;
use crate::partial::{abort_kept, LeaseRenewer, PartRecorder, PartialRecord};
use bytes::Bytes;
use netdisk_proto::HomePath;
use netdisk_store::{
    ActiveClaim, BodyWriter, ErrorKind, Existing, PartialRelease, RoomTicket, SmallFile,
    SourceAttributes, Staged, StoreError,
};
use std::io;
use tokio::sync::oneshot;

/// Where committed objects go: the store and the owner's catalog rows.
pub(crate) struct StagedObject {
    pub(crate) shared: Shared,
    pub(crate) owner: String,
}

impl StagedObject {
    /// Names the complete object `object` as the file at `target`, in the
    /// transaction that also drops the upload's reservation. Refused, the
    /// object goes. Returns the bytes that left the account.
    async fn name(
        &self,
        file: NewFile,
        room: Option<RoomTicket>,
        existing: Existing,
    ) -> Result<u64, StoreError> {
        let committed = match room {
            Some(room) => {
                let reservation = Reservation {
                    id: room.id,
                    owner: self.owner.clone(),
                    bytes: room.bytes,
                };
                self.shared
                    .catalog
                    .commit_file(
                        &self.owner,
                        &file,
                        &reservation,
                        existing,
                        &self.shared.server,
                    )
                    .await
            }
            None => Err(StoreError::new(
                ErrorKind::Internal,
                "an upload reached its commit without a reservation",
            )),
        };
        match committed {
            Ok(replaced) => {
                // A partial the commit made moot (not this upload's own).
                if let Some(moot) = replaced.partial.filter(|kept| kept.object != file.object) {
                    abort_kept(&self.shared, &moot).await;
                }
                Ok(replaced.bytes)
            }
            Err(err) => {
                self.forget(&file.object).await;
                Err(err)
            }
        }
    }

    /// Deletes an object nothing names; should that fail, the collector
    /// finds it unnamed later.
    async fn forget(&self, object: &ObjectKey) {
        if let Err(error) = self.shared.objects.delete(object).await {
            tracing::warn!(%error, object = object.as_str(), "unnamed object left for the collector");
        }
    }

    /// A small upload of a batch: one PUT, then its commit.
    pub(crate) async fn commit_small(&self, file: SmallFile) -> Result<u64, StoreError> {
        let object = ObjectKey::fresh();
        let size = file.body.len() as u64;
        self.shared
            .objects
            .put(&object, Bytes::from(file.body))
            .await?;
        let named = new_file(&file.target, size, file.blake3, object, &file.attributes);
        self.name(named, file.room, file.existing).await
    }
}

fn new_file(
    target: &HomePath,
    size: u64,
    blake3: String,
    object: ObjectKey,
    attributes: &SourceAttributes,
) -> NewFile {
    NewFile {
        path: target.clone(),
        size,
        blake3,
        object,
        modified: attributes.modified,
        mode: attributes.mode,
    }
}

/// The part writer, wherever it is now.
enum WriterAt {
    Here(PartWriter),
    /// With the task taking the body, which gives it back when the body ends.
    WithBody(oneshot::Receiver<PartWriter>),
    Gone,
}

/// A resumable upload's record, and the lease this server holds on it.
pub(crate) struct Resumable {
    pub(crate) record: PartialRecord,
    pub(crate) _lease: LeaseRenewer,
    /// Held for the upload's life: one writer per partial in this process.
    pub(crate) _claim: ActiveClaim,
}

/// A streamed upload's object in the making.
pub(crate) struct ObjectStaged {
    target: StagedObject,
    writer: WriterAt,
    /// The hash of what the writer holds, until the body takes it.
    hasher: Option<PartHasher>,
    keep: bool,
    resumable: Option<Resumable>,
}

impl ObjectStaged {
    /// `hasher` covers what `writer` holds; a `resumable` upload is kept
    /// when cut, unless the engine says otherwise.
    pub(crate) fn new(
        target: StagedObject,
        writer: PartWriter,
        hasher: PartHasher,
        resumable: Option<Resumable>,
    ) -> ObjectStaged {
        ObjectStaged {
            target,
            writer: WriterAt::Here(writer),
            hasher: Some(hasher),
            keep: resumable.is_some(),
            resumable,
        }
    }

    /// The writer back from the body's task (waiting for it on this
    /// blocking thread), or `None` if that task died.
    fn take_writer(&mut self) -> Option<PartWriter> {
        match std::mem::replace(&mut self.writer, WriterAt::Gone) {
            WriterAt::Here(writer) => Some(writer),
            WriterAt::WithBody(back) => back.blocking_recv().ok(),
            WriterAt::Gone => None,
        }
    }
}

impl Staged for ObjectStaged {
    /// While the body's task holds the writer, 0: the catalog counts an
    /// upload's bytes at its commit, so the engine's figure is not used.
    fn written(&self) -> u64 {
        match &self.writer {
            WriterAt::Here(writer) => writer.written(),
            _ => 0,
        }
    }

    fn set_keep(&mut self, keep: bool) {
        self.keep = keep;
    }

    fn keeps(&self) -> bool {
        self.keep
    }

    /// The confirmed parts only: what is gathered of the next part is not
    /// in the store, and goes.
    fn kept(&mut self) -> u64 {
        if let WriterAt::WithBody(back) = &mut self.writer {
            // The body has landed: its task gave the writer back already.
            if let Ok(writer) = back.try_recv() {
                self.writer = WriterAt::Here(writer);
            }
        }
        match &self.writer {
            WriterAt::Here(writer) => writer.confirmed(),
            _ => 0,
        }
    }

    fn take_body(
        &mut self,
        start: u64,
        hash_only: bool,
        room: Option<RoomTicket>,
    ) -> io::Result<Box<dyn BodyWriter>> {
        let (WriterAt::Here(mut writer), Some(mut hasher)) = (
            std::mem::replace(&mut self.writer, WriterAt::Gone),
            self.hasher.take(),
        ) else {
            return Err(io::Error::other("the upload's body was taken already"));
        };
        if start == 0 && writer.written() > 0 {
            // The client starts over: a new object. The kept one stays
            // recorded until this one's first part replaces it (or its
            // commit does), so a cut now loses nothing kept.
            let part_size = writer.part_size();
            writer = PartWriter::deferred(
                self.target.shared.objects.clone(),
                ObjectKey::fresh(),
                part_size,
            );
            hasher = PartHasher::new(part_size);
        }
        if start != writer.written() {
            return Err(io::Error::other(format!(
                "an object holding {} bytes cannot take a body from byte {start}",
                writer.written()
            )));
        }
        let recorder = self.resumable.as_ref().map(|resumable| {
            PartRecorder::new(
                resumable.record.clone(),
                writer.parts().len(),
                room.map(|room| room.id),
            )
        });
        let (body, back) = ObjectBody::recording(writer, hasher, hash_only, recorder);
        self.writer = WriterAt::WithBody(back);
        Ok(Box::new(body))
    }

    /// Parts sent cannot be taken back: the engine then keeps nothing.
    fn cut_back(&mut self, len: u64) -> io::Result<()> {
        match &self.writer {
            WriterAt::Here(writer) if writer.written() == len => Ok(()),
            _ => Err(io::Error::other(
                "an upload to the object store cannot be cut back",
            )),
        }
    }

    fn commit(
        mut self: Box<Self>,
        attributes: SourceAttributes,
        blake3: &str,
        target: &HomePath,
        _partials: &PartialRelease,
        existing: Existing,
        room: Option<RoomTicket>,
    ) -> Result<u64, StoreError> {
        let writer = self.take_writer().ok_or_else(|| {
            StoreError::new(ErrorKind::Internal, "the upload's object writer failed")
        })?;
        let runtime = self.target.shared.runtime.clone();
        let committed = runtime.block_on(async {
            let object = writer.key().clone();
            let size = writer.finish().await?;
            let file = new_file(target, size, blake3.to_owned(), object, &attributes);
            self.target.name(file, room, existing).await
        });
        if committed.is_ok() {
            // The commit forgot the partial in its own transaction.
            self.resumable = None;
        }
        committed
    }
}

impl Drop for ObjectStaged {
    /// Kept (a cut resumable upload): the lease is let go, for the next
    /// attempt anywhere; a multipart upload with no part recorded is
    /// aborted (the record keeps none of it). Otherwise the multipart
    /// upload is aborted (once the body's task gives the writer back), so
    /// the store frees its parts, and the record is forgotten.
    fn drop(&mut self) {
        let writer = std::mem::replace(&mut self.writer, WriterAt::Gone);
        let keep = self.keep;
        let resumable = self.resumable.take();
        let settle = async move {
            let writer = match writer {
                WriterAt::Here(writer) => Some(writer),
                WriterAt::WithBody(back) => back.await.ok(),
                WriterAt::Gone => None,
            };
            let record = resumable.as_ref().map(|resumable| &resumable.record);
            if let (true, Some(record)) = (keep, record) {
                let recorded = writer.as_ref().is_some_and(|w| !w.parts().is_empty());
                if let Some(unrecorded) = writer.filter(|_| !recorded) {
                    if let Err(error) = unrecorded.abort().await {
                        tracing::warn!(%error, "an unrecorded multipart upload was not aborted");
                    }
                }
                record.release().await;
                return;
            }
            if let Some(writer) = writer {
                if let Err(error) = writer.abort().await {
                    tracing::warn!(%error, "an abandoned multipart upload was not aborted");
                }
            }
            if let Some(record) = record {
                match record.discard().await {
                    Ok(_) => {}
                    // Another server went on with it meanwhile: it is theirs.
                    Err(err) if err.kind == ErrorKind::Busy => {}
                    Err(error) => tracing::warn!(%error, "a partial was not forgotten"),
                }
            }
        };
        self.target.shared.runtime.spawn(settle);
    }
}
