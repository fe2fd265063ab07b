//! Verified transfers. Both directions hash the bytes with BLAKE3 as they
//! pass and compare with the other side's hash at the end; a download only
//! replaces its target once the hashes match and the bytes are on disk.

use crate::client::{unexpected, Client};
use crate::error::ClientError;
use netdisk_proto::request::{Get, Put, PutData, PutEnd};
use netdisk_proto::{Frame, Message};
use rand::RngCore;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Bytes read from the local file per write to the socket.
const CHUNK: usize = 256 * 1024;

/// Called with the number of bytes transferred so far.
pub type Progress<'a> = Option<&'a mut (dyn FnMut(u64) + Send)>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutReport {
    /// Where the file now is on the server ("~/a/b").
    pub path: String,
    pub size: u64,
    pub blake3: String,
    pub elapsed: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetReport {
    pub path: PathBuf,
    pub size: u64,
    pub blake3: String,
    pub elapsed: Duration,
}

/// A download's temporary file, removed unless the download completes.
struct PartFile {
    path: PathBuf,
    keep: bool,
}

impl Drop for PartFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// ".NAME.netdisk-part-RANDOM" beside the target, so the rename is atomic.
fn part_path(target: &Path) -> PathBuf {
    let mut random = [0u8; 6];
    rand::thread_rng().fill_bytes(&mut random);
    let suffix: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "download".into());
    target.with_file_name(format!(".{name}.netdisk-part-{suffix}"))
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    /// Uploads a local file to `remote` (a file path, not a directory).
    pub async fn put_file(
        &mut self,
        local: &Path,
        remote: &str,
        mut progress: Progress<'_>,
    ) -> Result<PutReport, ClientError> {
        let started = Instant::now();
        let mut file = tokio::fs::File::open(local)
            .await
            .map_err(ClientError::local(local))?;
        let meta = file.metadata().await.map_err(ClientError::local(local))?;
        if meta.is_dir() {
            return Err(ClientError::Local {
                path: local.to_owned(),
                source: std::io::ErrorKind::IsADirectory.into(),
            });
        }
        let size = meta.len();
        let id = self.next_id();
        self.send(&Message::Put(Put {
            id,
            path: remote.into(),
            size,
        }))
        .await?;
        match self.response(id).await? {
            Message::PutReady(ready) if ready.offset == 0 => {}
            Message::PutReady(ready) => {
                return Err(ClientError::Protocol(format!(
                    "server asked to resume at {}; this client does not resume yet",
                    ready.offset
                )))
            }
            other => return Err(unexpected("put_ready", &other)),
        }
        self.send(&Message::PutData(PutData { id, size })).await?;
        let mut hasher = blake3::Hasher::new();
        let mut buffer = vec![0u8; CHUNK];
        let mut sent = 0u64;
        while sent < size {
            let want = usize::try_from(size - sent).unwrap_or(CHUNK).min(CHUNK);
            let n = file
                .read(&mut buffer[..want])
                .await
                .map_err(ClientError::local(local))?;
            if n == 0 {
                // The body was announced with the old size; the stream cannot be repaired.
                return Err(ClientError::Local {
                    path: local.to_owned(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        format!("file shrank while uploading ({sent} of {size} bytes); connection abandoned"),
                    ),
                });
            }
            hasher.update(&buffer[..n]);
            self.write_body(&buffer[..n]).await?;
            sent += n as u64;
            if let Some(report) = progress.as_mut() {
                report(sent);
            }
        }
        let blake3 = hasher.finalize().to_hex().to_string();
        self.send(&Message::PutEnd(PutEnd {
            id,
            blake3: blake3.clone(),
        }))
        .await?;
        let done = match self.response(id).await? {
            Message::PutDone(done) => done,
            other => return Err(unexpected("put_done", &other)),
        };
        if done.blake3 != blake3 || done.size != size {
            return Err(ClientError::Integrity {
                expected: done.blake3,
                actual: blake3,
            });
        }
        Ok(PutReport {
            path: done.path,
            size,
            blake3,
            elapsed: started.elapsed(),
        })
    }

    /// Downloads `remote` to the local file path `local` (replaced only on success).
    pub async fn get_file(
        &mut self,
        remote: &str,
        local: &Path,
        mut progress: Progress<'_>,
    ) -> Result<GetReport, ClientError> {
        let started = Instant::now();
        let id = self.next_id();
        self.send(&Message::Get(Get {
            id,
            path: remote.into(),
        }))
        .await?;
        let size = match self.response(id).await? {
            Message::GetData(data) => data.size,
            other => return Err(unexpected("get_data", &other)),
        };
        let mut part = PartFile {
            path: part_path(local),
            keep: false,
        };
        // Even when the local file cannot be written, the body is read to
        // the end so the connection stays in step for the next request.
        let mut local_error: Option<ClientError> = None;
        let mut out = match tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&part.path)
            .await
        {
            Ok(file) => Some(file),
            Err(source) => {
                // Not created by us: never remove it.
                part.keep = true;
                local_error = Some(ClientError::Local {
                    path: part.path.clone(),
                    source,
                });
                None
            }
        };
        let mut hasher = blake3::Hasher::new();
        let mut received = 0u64;
        while received < size {
            let chunk = match self.read().await? {
                Frame::Body(chunk) => chunk,
                Frame::Message(m) => return Err(unexpected("download bytes", &m)),
            };
            received += chunk.len() as u64;
            hasher.update(&chunk);
            if let Some(writer) = out.as_mut() {
                if let Err(e) = writer.write_all(&chunk).await {
                    local_error = Some(ClientError::Local {
                        path: part.path.clone(),
                        source: e,
                    });
                    out = None;
                }
            }
            if let Some(report) = progress.as_mut() {
                report(received);
            }
        }
        let end = match self.response(id).await? {
            Message::GetEnd(end) => end,
            other => return Err(unexpected("get_end", &other)),
        };
        if let Some(err) = local_error {
            return Err(err);
        }
        let blake3 = hasher.finalize().to_hex().to_string();
        if end.blake3 != blake3 {
            return Err(ClientError::Integrity {
                expected: end.blake3,
                actual: blake3,
            });
        }
        if let Some(writer) = out.take() {
            writer
                .sync_all()
                .await
                .map_err(ClientError::local(&part.path))?;
        }
        tokio::fs::rename(&part.path, local)
            .await
            .map_err(ClientError::local(local))?;
        part.keep = true;
        // Make the rename itself durable; a failure here loses nothing already verified.
        if let Some(parent) = local.parent().filter(|p| !p.as_os_str().is_empty()) {
            if let Ok(dir) = tokio::fs::File::open(parent).await {
                let _ = dir.sync_all().await;
            }
        }
        Ok(GetReport {
            path: local.to_owned(),
            size,
            blake3,
            elapsed: started.elapsed(),
        })
    }
}
