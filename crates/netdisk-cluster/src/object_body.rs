use crate::part_hasher::PartHasher;
use crate::part_writer::PartWriter;
use crate::partial::PartRecorder;
use bytes::Bytes;
use netdisk_store::{BodyWriter, BodyWritten, BoxFuture};
use std::io;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Chunks queued between the receiving task and the writer (a part is
/// 8 MiB; this is a few network reads' worth on top).
const QUEUE: usize = 8;

/// An upload's body on its way to the object store: a task of its own
/// hashes each chunk and writes it through a [`PartWriter`], so the
/// connection reading the body goes on receiving while a part is sent.
/// A resumable upload's parts are recorded as the store confirms them.
/// When the body ends, the writer comes back through the receiver
/// `start` returned, for the commit to finish the object.
pub struct ObjectBody {
    chunks: mpsc::Sender<Bytes>,
    worker: JoinHandle<BodyWritten>,
}

impl ObjectBody {
    /// Starts taking a body for `writer`; `hasher` covers the bytes the
    /// writer holds already. With `hash_only` (a body already refused)
    /// nothing is written and the writer is returned untouched.
    pub fn start(
        writer: PartWriter,
        hasher: PartHasher,
        hash_only: bool,
    ) -> (ObjectBody, oneshot::Receiver<PartWriter>) {
        ObjectBody::recording(writer, hasher, hash_only, None)
    }

    /// As `start`, recording each confirmed part with `recorder`.
    pub(crate) fn recording(
        mut writer: PartWriter,
        mut hasher: PartHasher,
        hash_only: bool,
        mut recorder: Option<PartRecorder>,
    ) -> (ObjectBody, oneshot::Receiver<PartWriter>) {
        let (chunks, mut receiving) = mpsc::channel::<Bytes>(QUEUE);
        let (give_back, writer_back) = oneshot::channel();
        let worker = tokio::spawn(async move {
            let mut error = None;
            while let Some(chunk) = receiving.recv().await {
                hasher.update(&chunk);
                if hash_only || error.is_some() {
                    continue;
                }
                error = match writer.write(&chunk).await {
                    Ok(()) => record(recorder.as_mut(), &writer, &hasher).await,
                    Err(failed) => Some(io::Error::other(failed)),
                };
            }
            if error.is_none() && !hash_only {
                // Every full part confirmed before the body counts as stored.
                error = match writer.flush().await {
                    Ok(()) => record(recorder.as_mut(), &writer, &hasher).await,
                    Err(failed) => Some(io::Error::other(failed)),
                };
            }
            // The receiver may be gone (an abandoned upload): nothing to give back to.
            let _ = give_back.send(writer);
            BodyWritten {
                blake3: hasher.finalize_hex(),
                count: hasher.count(),
                error,
            }
        });
        (ObjectBody { chunks, worker }, writer_back)
    }
}

/// Records the parts `writer` had confirmed since the last call (a
/// resumable upload's); the failure, if any (a lost lease).
async fn record(
    recorder: Option<&mut PartRecorder>,
    writer: &PartWriter,
    hasher: &PartHasher,
) -> Option<io::Error> {
    let recorder = recorder?;
    recorder
        .catch_up(writer, hasher)
        .await
        .err()
        .map(|error| io::Error::other(error.message))
}

impl BodyWriter for ObjectBody {
    fn push(&mut self, chunk: Bytes) -> BoxFuture<'_, io::Result<()>> {
        Box::pin(async move {
            self.chunks
                .send(chunk)
                .await
                .map_err(|_| io::Error::other("the object store writer stopped"))
        })
    }

    fn finish(self: Box<Self>) -> BoxFuture<'static, io::Result<BodyWritten>> {
        let ObjectBody { chunks, worker } = *self;
        drop(chunks);
        Box::pin(async move { worker.await.map_err(io::Error::other) })
    }
}
