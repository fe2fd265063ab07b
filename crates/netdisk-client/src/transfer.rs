//! Verified, resumable transfers. Both directions hash the bytes with
//! BLAKE3 as they pass and compare with the other side's hash at the end.
//!
//! Resume: an interrupted upload's bytes wait on the server, an
//! interrupted download's in `.NAME.netdisk-part.SIZE.MTIME` beside the
//! target. Before continuing, the side holding the whole file checks a
//! hash of the kept prefix; if it differs, or the source changed, the
//! transfer starts over and the report says why.

use crate::attributes::Attributes;
use crate::client::{unexpected, Client};
use crate::error::ClientError;
use netdisk_fileio::{FileSink, FileSource, PageCache};
use netdisk_proto::request::{Get, Put, PutData, PutEnd};
use netdisk_proto::response::{GetData, GetEnd};
use netdisk_proto::{Frame, Message};
use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeekExt, AsyncWrite};

/// Bytes read from the local file per write to the socket.
const CHUNK: usize = 256 * 1024;

/// Called with the bytes of the file transferred so far (including bytes
/// kept from an earlier attempt) and the file's size.
pub type Progress<'a> = Option<&'a mut (dyn FnMut(u64, u64) + Send)>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutReport {
    /// Where the file now is on the server ("~/a/b").
    pub path: String,
    pub size: u64,
    pub blake3: String,
    pub elapsed: Duration,
    /// Bytes the server had kept from an interrupted attempt and were reused.
    pub resumed_from: u64,
    /// Why kept bytes could not be reused, if there were some.
    pub restarted: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetReport {
    pub path: PathBuf,
    pub size: u64,
    pub blake3: String,
    pub elapsed: Duration,
    pub resumed_from: u64,
    pub restarted: Option<String>,
}

/// Hashes the first `len` bytes of `file`, leaving it positioned at `len`.
/// Checks a download's bytes (`actual`, their BLAKE3) against the hash
/// the server gave: in `get_end`, and in `get_data` too when it knew the
/// hash before sending (the two must agree).
fn check_hash(data: &GetData, end: GetEnd, actual: &str) -> Result<(), ClientError> {
    if let Some(announced) = &data.blake3 {
        if *announced != end.blake3 {
            return Err(ClientError::Protocol(format!(
                "the server announced BLAKE3 {announced} but ended with {}",
                end.blake3
            )));
        }
    }
    if end.blake3 != actual {
        return Err(ClientError::Integrity {
            expected: end.blake3,
            actual: actual.to_owned(),
        });
    }
    Ok(())
}

async fn hash_prefix(file: &mut tokio::fs::File, len: u64) -> std::io::Result<blake3::Hasher> {
    file.seek(SeekFrom::Start(0)).await?;
    let mut hasher = blake3::Hasher::new();
    let mut buffer = vec![0u8; CHUNK];
    let mut left = len;
    while left > 0 {
        let want = usize::try_from(left).unwrap_or(CHUNK).min(CHUNK);
        let n = file.read(&mut buffer[..want]).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        hasher.update(&buffer[..n]);
        left -= n as u64;
    }
    Ok(hasher)
}

/// A download's partial file, removed on drop unless it is kept.
pub(crate) struct PartFile {
    pub(crate) path: PathBuf,
    pub(crate) keep: bool,
}

impl Drop for PartFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Partial downloads of `target`: `.NAME.netdisk-part.SIZE.MTIME` beside it.
pub(crate) struct Partials {
    dir: PathBuf,
    prefix: String,
}

impl Partials {
    pub(crate) fn of(target: &Path) -> Result<Partials, ClientError> {
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| ClientError::Local {
                path: target.to_owned(),
                error: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"),
            })?;
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        Ok(Partials {
            dir,
            prefix: format!(".{name}.netdisk-part."),
        })
    }

    pub(crate) fn path_for(&self, size: u64, modified: Option<i64>) -> PathBuf {
        let modified = modified.map_or_else(|| "x".to_owned(), |m| m.to_string());
        self.dir.join(format!("{}{size}.{modified}", self.prefix))
    }

    /// Existing partials, as (path, size, modified, bytes kept).
    fn existing(&self) -> Vec<(PathBuf, u64, Option<i64>, u64)> {
        let Ok(items) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut found = Vec::new();
        for item in items.flatten() {
            let name = item.file_name().to_string_lossy().into_owned();
            let Some(version) = name.strip_prefix(&self.prefix) else {
                continue;
            };
            let Some((size, modified)) = version.split_once('.') else {
                continue;
            };
            let Ok(size) = size.parse::<u64>() else {
                continue;
            };
            let modified = modified.parse::<i64>().ok();
            let kept = item.metadata().map(|m| m.len()).unwrap_or(0);
            found.push((item.path(), size, modified, kept));
        }
        found
    }

    fn remove_all(&self) {
        for (path, ..) in self.existing() {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    /// Uploads a local file to `remote` (a file path, not a directory).
    /// With `resume`, bytes the server kept from an interrupted upload of
    /// this version of the file are verified and reused, and an upload cut
    /// now can be continued later.
    pub async fn put_file(
        &mut self,
        local: &Path,
        remote: &str,
        resume: bool,
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
                error: std::io::ErrorKind::IsADirectory.into(),
            });
        }
        let size = meta.len();
        let attributes = Attributes::of_local(&meta, self.preserve_mode);
        let id = self.next_id();
        self.send(&Message::Put(Put {
            id,
            path: remote.into(),
            size,
            modified: attributes.modified,
            mode: attributes.mode,
            resume,
        }))
        .await?;
        let ready = match self.response(id).await? {
            Message::PutReady(ready) => ready,
            other => return Err(unexpected("put_ready", &other)),
        };
        let mut restarted = ready.restarted;
        let mut start = 0;
        let mut hasher = blake3::Hasher::new();
        if ready.offset > 0 && ready.offset <= size {
            let kept = hash_prefix(&mut file, ready.offset)
                .await
                .map_err(ClientError::local(local))?;
            if ready.prefix_blake3.as_deref() == Some(kept.clone().finalize().to_hex().as_str()) {
                start = ready.offset;
                hasher = kept;
            } else {
                restarted = Some("the bytes kept on the server differ from this file's".into());
            }
        } else if ready.offset > size {
            restarted = Some("the server kept more bytes than this file has".into());
        }
        file.seek(SeekFrom::Start(start))
            .await
            .map_err(ClientError::local(local))?;
        self.send(&Message::PutData(PutData {
            id,
            offset: start,
            size: size - start,
        }))
        .await?;
        let mut sent = start;
        if let Some(report) = progress.as_mut() {
            report(sent, size);
        }
        let mut reader = FileSource::start(file.into_std().await, Some(hasher), size - start);
        while let Some(chunk) = reader.next().await {
            // A file that shrank was announced with its old size: the
            // stream cannot be repaired, so the connection is abandoned.
            let chunk = chunk.map_err(|error| ClientError::Local {
                path: local.to_owned(),
                error: std::io::Error::new(
                    error.kind(),
                    format!("{error} ({sent} of {size} bytes sent); connection abandoned"),
                ),
            })?;
            self.write_body(&chunk).await?;
            sent += chunk.len() as u64;
            if let Some(report) = progress.as_mut() {
                report(sent, size);
            }
        }
        // Started with a hasher, the reader gives it back; never a silent
        // empty hash in its place.
        let hasher = reader
            .finish()
            .await
            .and_then(|hasher| {
                hasher.ok_or_else(|| std::io::Error::other("the file reader lost its hash"))
            })
            .map_err(ClientError::local(local))?;
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
            resumed_from: start,
            restarted,
        })
    }

    /// Downloads `remote` to the local file path `local`, which is replaced
    /// only once the whole file is verified. With `resume`, a partial
    /// download kept beside `local` is verified and continued, and one cut
    /// now is kept for later.
    pub async fn get_file(
        &mut self,
        remote: &str,
        local: &Path,
        resume: bool,
        mut progress: Progress<'_>,
    ) -> Result<GetReport, ClientError> {
        let started = Instant::now();
        let partials = Partials::of(local)?;
        if !resume {
            partials.remove_all();
        }
        // Offer the partial with the most bytes; the others are stale.
        let mut found = partials.existing();
        found.sort_by_key(|(.., kept)| std::cmp::Reverse(*kept));
        let offered = found.first().cloned();
        let mut kept_file = None;
        let mut request = Get {
            id: self.next_id(),
            path: remote.into(),
            offset: 0,
            prefix_blake3: None,
            size: None,
            modified: None,
        };
        if let Some((path, size, modified, kept)) = &offered {
            if *kept > 0 && kept <= size {
                let mut file = tokio::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(path)
                    .await
                    .map_err(ClientError::local(path))?;
                let hasher = hash_prefix(&mut file, *kept)
                    .await
                    .map_err(ClientError::local(path))?;
                request.offset = *kept;
                request.prefix_blake3 = Some(hasher.clone().finalize().to_hex().to_string());
                request.size = Some(*size);
                request.modified = *modified;
                kept_file = Some((file, hasher));
            }
        }
        let id = request.id;
        self.send(&Message::Get(request.clone())).await?;
        let data = match self.response(id).await? {
            Message::GetData(data) => data,
            other => return Err(unexpected("get_data", &other)),
        };
        let total = data
            .offset
            .checked_add(data.size)
            .ok_or_else(|| ClientError::Protocol("size overflows".into()))?;
        let resumed = data.offset > 0 && data.offset == request.offset;
        if data.offset > 0 && !resumed {
            return Err(ClientError::Protocol(format!(
                "server sent bytes from {} but {} were offered",
                data.offset, request.offset
            )));
        }
        let (out, hasher, mut part) = match (resumed, kept_file, &offered) {
            (true, Some((file, hasher)), Some((path, ..))) => (
                file,
                hasher,
                PartFile {
                    path: path.clone(),
                    keep: true,
                },
            ),
            _ => {
                partials.remove_all();
                let path = partials.path_for(total, data.modified);
                let file = tokio::fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .open(&path)
                    .await
                    .map_err(ClientError::local(&path))?;
                (file, blake3::Hasher::new(), PartFile { path, keep: resume })
            }
        };
        let restarted = if request.offset > 0 && !resumed {
            data.restarted.clone()
        } else {
            None
        };

        // Even when the local file cannot be written, the body is read to
        // the end so the connection stays in step for the next request.
        let mut received = data.offset;
        if let Some(report) = progress.as_mut() {
            report(received, total);
        }
        let mut writer = FileSink::start(out.into_std().await, hasher, PageCache::DropBehind);
        while received < total {
            let chunk = match self.read().await? {
                Frame::Body(chunk) => chunk,
                Frame::Message(m) => return Err(unexpected("download bytes", &m)),
            };
            received += chunk.len() as u64;
            writer
                .push(chunk)
                .await
                .map_err(ClientError::local(&part.path))?;
            if let Some(report) = progress.as_mut() {
                report(received, total);
            }
        }
        let written = writer
            .finish()
            .await
            .map_err(ClientError::local(&part.path))?;
        let end = match self.response(id).await? {
            Message::GetEnd(end) => end,
            other => return Err(unexpected("get_end", &other)),
        };
        // From here the partial is either the finished file or worthless.
        part.keep = false;
        if let Some(error) = written.error {
            return Err(ClientError::Local {
                path: part.path.clone(),
                error,
            });
        }
        let blake3 = written.hasher.finalize().to_hex().to_string();
        check_hash(&data, end, &blake3)?;
        Attributes::from_server(data.modified, data.mode, self.preserve_mode)
            .apply(&written.file)
            .map_err(ClientError::local(&part.path))?;
        let out = tokio::fs::File::from_std(written.file);
        out.sync_all()
            .await
            .map_err(ClientError::local(&part.path))?;
        drop(out);
        tokio::fs::rename(&part.path, local)
            .await
            .map_err(ClientError::local(local))?;
        part.keep = true;
        // Make the rename itself durable; a failure here loses nothing already verified.
        if let Ok(dir) = tokio::fs::File::open(&partials.dir).await {
            let _ = dir.sync_all().await;
        }
        Ok(GetReport {
            path: local.to_owned(),
            size: total,
            blake3,
            elapsed: started.elapsed(),
            resumed_from: if resumed { data.offset } else { 0 },
            restarted,
        })
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    /// Streams `remote` into `out` (standard output, a pipe), hashing the
    /// bytes as they pass. Unlike [`Client::get_file`] nothing can be held
    /// back until it is verified: a mismatch is an `Integrity` error after
    /// the bytes are written, for the caller to report. Not resumable.
    pub async fn get_to_writer(
        &mut self,
        remote: &str,
        out: &mut (impl tokio::io::AsyncWrite + Unpin),
    ) -> Result<GetReport, ClientError> {
        use tokio::io::AsyncWriteExt;
        let started = Instant::now();
        let id = self.next_id();
        self.send(&Message::Get(Get {
            id,
            path: remote.into(),
            ..Get::default()
        }))
        .await?;
        let data = match self.response(id).await? {
            Message::GetData(data) if data.offset == 0 => data,
            other => return Err(unexpected("get_data from offset 0", &other)),
        };
        let mut hasher = blake3::Hasher::new();
        let mut received = 0;
        // A reader that went away (`| head`) is noted, and the body still
        // read to the end so the connection stays in step.
        let mut write_error = None;
        while received < data.size {
            let chunk = match self.read().await? {
                Frame::Body(chunk) => chunk,
                Frame::Message(m) => return Err(unexpected("download bytes", &m)),
            };
            received += chunk.len() as u64;
            hasher.update(&chunk);
            if write_error.is_none() {
                write_error = out.write_all(&chunk).await.err();
            }
        }
        if write_error.is_none() {
            write_error = out.flush().await.err();
        }
        let end = match self.response(id).await? {
            Message::GetEnd(end) => end,
            other => return Err(unexpected("get_end", &other)),
        };
        if let Some(error) = write_error {
            return Err(ClientError::Local {
                path: PathBuf::from("-"),
                error,
            });
        }
        let blake3 = hasher.finalize().to_hex().to_string();
        check_hash(&data, end, &blake3)?;
        Ok(GetReport {
            path: PathBuf::from("-"),
            size: data.size,
            blake3,
            elapsed: started.elapsed(),
            resumed_from: 0,
            restarted: None,
        })
    }
}
