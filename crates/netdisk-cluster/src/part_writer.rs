use crate::objects::{ObjectKey, Objects, ObjectsError};
use bytes::{Bytes, BytesMut};
use tokio::task::JoinHandle;

/// S3's smallest part but the last.
pub const MIN_PART_SIZE: usize = 8 << 20;
/// S3's most parts in one upload.
const MAX_PARTS: u64 = 10_000;

/// The part size for an object of `total` bytes: 8 MiB, or the next power
/// of two when 10,000 parts of 8 MiB would not hold it. A power of two,
/// so each part is a whole BLAKE3 subtree (see `PartHasher`).
pub fn part_size_for(total: u64) -> usize {
    let needed = total.div_ceil(MAX_PARTS).next_power_of_two();
    usize::try_from(needed).map_or(usize::MAX, |needed| needed.max(MIN_PART_SIZE))
}

/// A part in the store: what completing the upload, or resuming it on
/// another server, needs to know of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedPart {
    pub index: usize,
    pub etag: String,
    pub size: u64,
}

/// Streams one object into the store in parts of a fixed size: at most
/// one part gathering and one in flight, so an upload holds two parts of
/// memory whatever its size. Nothing is visible under the key until
/// `finish`; a writer dropped unfinished leaves a multipart upload that
/// `abort` (or the store's expiry of incomplete uploads) removes.
pub struct PartWriter {
    objects: Objects,
    key: ObjectKey,
    /// The multipart upload, once started (a deferred writer starts it
    /// with its first full part; an object smaller than one is one PUT).
    upload: Option<String>,
    part_size: usize,
    gathering: BytesMut,
    uploaded: Vec<UploadedPart>,
    in_flight: Option<JoinHandle<Result<UploadedPart, ObjectsError>>>,
}

impl PartWriter {
    /// Starts a multipart upload of a new object under `key`.
    pub async fn start(
        objects: Objects,
        key: ObjectKey,
        part_size: usize,
    ) -> Result<PartWriter, ObjectsError> {
        let upload = objects.start_multipart(&key).await?;
        Ok(PartWriter::resume(
            objects,
            key,
            upload,
            part_size,
            Vec::new(),
        ))
    }

    /// A writer of a new object under `key` that asks the store nothing
    /// until it has a full part: an object smaller than one part is then
    /// written by one PUT at `finish`, not three requests.
    pub fn deferred(objects: Objects, key: ObjectKey, part_size: usize) -> PartWriter {
        PartWriter {
            objects,
            key,
            upload: None,
            part_size,
            gathering: BytesMut::new(),
            uploaded: Vec::new(),
            in_flight: None,
        }
    }

    /// Continues the upload `upload` of `key` after `uploaded` (its parts
    /// so far, in order, all of `part_size`), begun here or elsewhere.
    pub fn resume(
        objects: Objects,
        key: ObjectKey,
        upload: String,
        part_size: usize,
        uploaded: Vec<UploadedPart>,
    ) -> PartWriter {
        PartWriter {
            objects,
            key,
            upload: Some(upload),
            part_size,
            gathering: BytesMut::new(),
            uploaded,
            in_flight: None,
        }
    }

    pub fn key(&self) -> &ObjectKey {
        &self.key
    }

    pub fn part_size(&self) -> usize {
        self.part_size
    }

    /// The multipart upload's id in the store, once started.
    pub fn upload_id(&self) -> Option<&str> {
        self.upload.as_deref()
    }

    /// Bytes in parts the store has confirmed (a resume starts here).
    pub fn confirmed(&self) -> u64 {
        self.uploaded.iter().map(|part| part.size).sum()
    }

    /// The confirmed parts, in order.
    pub fn parts(&self) -> &[UploadedPart] {
        &self.uploaded
    }

    /// Bytes taken so far, confirmed or not.
    pub fn written(&self) -> u64 {
        let in_flight = if self.in_flight.is_some() {
            self.part_size as u64
        } else {
            0
        };
        self.confirmed() + in_flight + self.gathering.len() as u64
    }

    /// Takes `bytes`; sends each part as it fills, waiting for the one
    /// before (back-pressure: a slow store slows the sender).
    pub async fn write(&mut self, mut bytes: &[u8]) -> Result<(), ObjectsError> {
        while !bytes.is_empty() {
            if self.gathering.capacity() == 0 {
                self.gathering.reserve(self.part_size);
            }
            let room = self.part_size - self.gathering.len();
            let (now, later) = bytes.split_at(room.min(bytes.len()));
            self.gathering.extend_from_slice(now);
            bytes = later;
            if self.gathering.len() == self.part_size {
                let part = self.gathering.split().freeze();
                self.send(part).await?;
            }
        }
        Ok(())
    }

    /// Sends `part` in the background after the part before it is confirmed.
    async fn send(&mut self, part: Bytes) -> Result<(), ObjectsError> {
        self.settle().await?;
        let upload = match &self.upload {
            Some(upload) => upload.clone(),
            None => {
                let upload = self.objects.start_multipart(&self.key).await?;
                self.upload = Some(upload.clone());
                upload
            }
        };
        let objects = self.objects.clone();
        let key = self.key.clone();
        let index = self.uploaded.len();
        self.in_flight = Some(tokio::spawn(async move {
            let size = part.len() as u64;
            let etag = objects.put_part(&key, &upload, index, part).await?;
            Ok(UploadedPart { index, etag, size })
        }));
        Ok(())
    }

    /// Waits until every full part sent is confirmed (what a caller then
    /// records of `parts` survives this server).
    pub async fn flush(&mut self) -> Result<(), ObjectsError> {
        self.settle().await
    }

    /// Waits for the part in flight, if any.
    async fn settle(&mut self) -> Result<(), ObjectsError> {
        if let Some(task) = self.in_flight.take() {
            let part = task.await.map_err(|error| {
                ObjectsError::Store(object_store::Error::Generic {
                    store: "S3",
                    source: Box::new(error),
                })
            })??;
            self.uploaded.push(part);
        }
        Ok(())
    }

    /// Sends what is gathered as the last part and makes the object.
    /// Returns its size.
    pub async fn finish(mut self) -> Result<u64, ObjectsError> {
        let Some(upload) = self.upload.clone() else {
            // Less than a part, never started: one PUT.
            let whole = self.gathering.split().freeze();
            let size = whole.len() as u64;
            self.objects.put(&self.key, whole).await?;
            return Ok(size);
        };
        if self.uploaded.is_empty() && self.in_flight.is_none() && self.gathering.is_empty() {
            // An empty object: a multipart upload needs a part, and some
            // stores (Garage) refuse an empty one.
            self.objects.abort_multipart(&self.key, &upload).await?;
            self.objects.put(&self.key, Bytes::new()).await?;
            return Ok(0);
        }
        if !self.gathering.is_empty() {
            let last = self.gathering.split().freeze();
            self.send(last).await?;
        }
        self.settle().await?;
        let size = self.confirmed();
        let parts = self.uploaded.iter().map(|part| part.etag.clone()).collect();
        self.objects
            .complete_multipart(&self.key, &upload, parts)
            .await?;
        Ok(size)
    }

    /// Gives the upload up: its parts leave the store.
    pub async fn abort(mut self) -> Result<(), ObjectsError> {
        if let Some(task) = self.in_flight.take() {
            task.abort();
            let _ = task.await;
        }
        match &self.upload {
            Some(upload) => self.objects.abort_multipart(&self.key, upload).await,
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_sizes() {
        assert_eq!(part_size_for(0), MIN_PART_SIZE);
        assert_eq!(part_size_for(10 << 30), MIN_PART_SIZE);
        // 10,000 parts of 8 MiB hold 78 GiB; beyond, parts double.
        assert_eq!(
            part_size_for(MAX_PARTS * MIN_PART_SIZE as u64),
            MIN_PART_SIZE
        );
        assert_eq!(
            part_size_for(MAX_PARTS * MIN_PART_SIZE as u64 + 1),
            16 << 20
        );
        // S3's largest object (5 TiB) in parts under S3's largest part (5 GiB).
        let huge: u64 = 5 << 40;
        assert!(part_size_for(huge) as u64 * MAX_PARTS >= huge);
        assert!(part_size_for(huge) <= 5 << 30);
        assert!(part_size_for(huge).is_power_of_two());
    }
}
