use crate::objects::{ObjectKey, Objects};
use bytes::Bytes;
use futures_util::StreamExt;
use netdisk_store::ByteRanges;
use std::io;
use std::ops::Range;
use tokio::runtime::Handle;
use tokio::sync::mpsc;

/// Pieces queued between the store's stream and the download.
const QUEUE: usize = 8;

/// One object's bytes for the engine's downloads: each range is a ranged
/// GET whose pieces a task passes on as they arrive.
pub struct ObjectRanges {
    objects: Objects,
    key: ObjectKey,
    runtime: Handle,
}

impl ObjectRanges {
    /// For `key`; its reads run on `runtime` (they may be asked for from
    /// a blocking thread, which has none of its own).
    pub fn new(objects: Objects, key: ObjectKey, runtime: Handle) -> ObjectRanges {
        ObjectRanges {
            objects,
            key,
            runtime,
        }
    }
}

impl ByteRanges for ObjectRanges {
    fn read(&self, range: Range<u64>) -> mpsc::Receiver<io::Result<Bytes>> {
        let (sender, receiver) = mpsc::channel(QUEUE);
        let (objects, key) = (self.objects.clone(), self.key.clone());
        self.runtime.spawn(async move {
            let mut pieces = match objects.read(&key, range).await {
                Ok(pieces) => pieces,
                Err(error) => {
                    let _ = sender.send(Err(io::Error::other(error))).await;
                    return;
                }
            };
            while let Some(piece) = pieces.next().await {
                let failed = piece.is_err();
                // The receiver is gone when the download was abandoned.
                if sender.send(piece.map_err(io::Error::other)).await.is_err() || failed {
                    return;
                }
            }
        });
        receiver
    }
}
