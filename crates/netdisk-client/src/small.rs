//! Many small files up one connection without a round trip each: `put_small`
//! requests (header and body in one go) are sent ahead of their answers,
//! up to a window, and the answers are read in order. The server commits
//! them in batches, so the round trip and the durability step are paid
//! once per batch rather than once per file.

use crate::client::{unexpected, Client};
use crate::error::ClientError;
use crate::transfer::PutReport;
use bytes::Bytes;
use netdisk_proto::request::{PutSmall, PUT_SMALL_MAX};
use netdisk_proto::Message;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncWrite};

/// Most requests sent ahead of their answers...
const WINDOW_FILES: usize = 1024;
/// ...and most body bytes.
const WINDOW_BYTES: u64 = 8 * 1024 * 1024;

/// One file for [`Client::put_small_files`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmallUpload {
    pub local: PathBuf,
    pub remote: String,
}

/// A request on the wire, waiting for its answer.
struct InFlight {
    index: usize,
    id: u64,
    size: u64,
    blake3: String,
    started: Instant,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    /// Uploads files of at most [`PUT_SMALL_MAX`] bytes each (larger ones
    /// fail with a local error; use [`Client::put_file`]), several at a
    /// time. `on_done` is called once per file, in order, with its
    /// verified result; a refused file does not stop the others. An `Err`
    /// means the connection failed: the files not yet reported to
    /// `on_done` may or may not have been committed.
    pub async fn put_small_files(
        &mut self,
        files: &[SmallUpload],
        mut on_done: impl FnMut(usize, Result<PutReport, ClientError>),
    ) -> Result<(), ClientError> {
        let mut in_flight: VecDeque<InFlight> = VecDeque::new();
        let mut bytes_in_flight = 0u64;
        let mut next = 0;
        while next < files.len() || !in_flight.is_empty() {
            // Refill only once half the window is answered, so requests go
            // out in bursts and the server can commit them as one batch.
            if in_flight.len() <= WINDOW_FILES / 2 && bytes_in_flight <= WINDOW_BYTES / 2 {
                while next < files.len()
                    && in_flight.len() < WINDOW_FILES
                    && bytes_in_flight < WINDOW_BYTES
                {
                    let file = &files[next];
                    match read_small(file).await {
                        Ok(body) => {
                            let sent = self.feed_small(file, body).await?;
                            bytes_in_flight += sent.size;
                            in_flight.push_back(InFlight {
                                index: next,
                                ..sent
                            });
                        }
                        Err(error) => on_done(next, Err(error)),
                    }
                    next += 1;
                }
                self.flush().await?;
            }
            let Some(request) = in_flight.pop_front() else {
                continue;
            };
            bytes_in_flight -= request.size;
            let result = match self.response(request.id).await {
                Ok(Message::PutDone(done)) => {
                    if done.blake3 != request.blake3 || done.size != request.size {
                        Err(ClientError::Integrity {
                            expected: done.blake3,
                            actual: request.blake3,
                        })
                    } else {
                        Ok(PutReport {
                            path: done.path,
                            size: done.size,
                            blake3: done.blake3,
                            elapsed: request.started.elapsed(),
                            resumed_from: 0,
                            restarted: None,
                        })
                    }
                }
                Ok(other) => return Err(unexpected("put_done", &other)),
                Err(refused @ ClientError::Remote { .. }) => Err(refused),
                Err(broken) => return Err(broken),
            };
            on_done(request.index, result);
        }
        Ok(())
    }

    /// Queues one `put_small` and its body without flushing.
    async fn feed_small(
        &mut self,
        file: &SmallUpload,
        body: Bytes,
    ) -> Result<InFlight, ClientError> {
        let id = self.next_id();
        let blake3 = blake3::hash(&body).to_hex().to_string();
        let size = body.len() as u64;
        let started = Instant::now();
        self.feed(&Message::PutSmall(PutSmall {
            id,
            path: file.remote.clone(),
            size,
            blake3: blake3.clone(),
        }))
        .await?;
        self.feed_body(body).await?;
        Ok(InFlight {
            index: 0,
            id,
            size,
            blake3,
            started,
        })
    }
}

/// The whole local file, if it is small enough for `put_small`.
async fn read_small(file: &SmallUpload) -> Result<Bytes, ClientError> {
    let local = |error| ClientError::Local {
        path: file.local.clone(),
        error,
    };
    let body = tokio::fs::read(&file.local).await.map_err(local)?;
    if body.len() as u64 > PUT_SMALL_MAX {
        return Err(local(std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!("over {PUT_SMALL_MAX} bytes: too large for put_small"),
        )));
    }
    Ok(Bytes::from(body))
}
