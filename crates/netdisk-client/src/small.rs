//! Many small files over one connection without a round trip each.
//!
//! Up: `put_small` requests (header and body in one go) are sent ahead of
//! their answers, up to a window, and the answers are read in order. The
//! server commits them in batches, so the round trip and the durability
//! step are paid once per batch rather than once per file.
//!
//! Down: `get` requests are sent ahead in the same way; each file is
//! verified into its partial file as it comes, and a batch of them is
//! made durable together (one `syncfs`, the renames, one fsync per
//! directory) before each is reported.

use crate::attributes::Attributes;
use crate::client::{unexpected, Client};
use crate::error::ClientError;
use crate::transfer::{GetReport, PartFile, Partials, PutReport};
use netdisk_fileio::{FileSink, PageCache};
use netdisk_proto::request::{Get, PutSmall, PUT_SMALL_MAX};
use netdisk_proto::{Frame, Message};
use std::collections::VecDeque;
use std::io::Read;
use std::path::PathBuf;
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncWrite};

/// Most requests sent ahead of their answers...
const WINDOW_FILES: usize = 1024;
/// ...and most body bytes (also what a download batch holds in memory;
/// a session holds two: one received, one being made durable).
const WINDOW_BYTES: u64 = 8 * 1024 * 1024;

/// One file for [`Client::put_small_files`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmallUpload {
    pub local: PathBuf,
    pub remote: String,
}

/// One file for [`Client::get_small_files`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmallDownload {
    pub remote: String,
    pub local: PathBuf,
}

/// A verified download waiting for its batch's durability step: in its
/// partial file, or still in memory (`body`) for a small one, written by
/// the batch. The partial is removed if it never gets into place.
struct Fetched {
    index: usize,
    part: PartFile,
    body: Option<Vec<u8>>,
    local: PathBuf,
    attributes: Attributes,
    report: GetReport,
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
        // The read of `files[next]`, started while the file before it was
        // sent; its buffer comes back to `spare` once sent.
        let mut reading: Option<Reading> = None;
        let mut spare: Vec<Vec<u8>> = Vec::new();
        while next < files.len() || !in_flight.is_empty() {
            // Refill only once half the window is answered, so requests go
            // out in bursts and the server can commit them as one batch.
            if next < files.len()
                && in_flight.len() <= WINDOW_FILES / 2
                && bytes_in_flight <= WINDOW_BYTES / 2
            {
                while next < files.len()
                    && in_flight.len() < WINDOW_FILES
                    && bytes_in_flight < WINDOW_BYTES
                {
                    let preserve_mode = self.preserve_mode;
                    let read = reading.take().unwrap_or_else(|| {
                        Reading::start(&files[next], preserve_mode, spare.pop())
                    });
                    if let Some(after) = files.get(next + 1) {
                        reading = Some(Reading::start(after, preserve_mode, spare.pop()));
                    }
                    match read.finish().await {
                        Ok(local) => {
                            let sent = self.feed_small(&files[next], &local).await?;
                            spare.push(local.body);
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

    /// Sends one `put_small` and its body (a small body only queued).
    async fn feed_small(
        &mut self,
        file: &SmallUpload,
        local: &LocalSmall,
    ) -> Result<InFlight, ClientError> {
        let id = self.next_id();
        let size = local.body.len() as u64;
        let started = Instant::now();
        self.feed(&Message::PutSmall(PutSmall {
            id,
            path: file.remote.clone(),
            size,
            blake3: local.blake3.clone(),
            modified: local.attributes.modified,
            mode: local.attributes.mode,
        }))
        .await?;
        self.send_body(&local.body).await?;
        Ok(InFlight {
            index: 0,
            id,
            size,
            blake3: local.blake3.clone(),
            started,
        })
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    /// Downloads files, several requests ahead of their answers; meant for
    /// small files (a large one works but cannot be resumed: use
    /// [`Client::get_file`]). Each local file is replaced only once it is
    /// verified and durable. `on_done` is called once per file, not
    /// necessarily in order; a refused or failed file does not stop the
    /// others. An `Err` means the connection failed: the files not yet
    /// reported were not written (no partial files are left).
    pub async fn get_small_files(
        &mut self,
        files: &[SmallDownload],
        mut on_done: impl FnMut(usize, Result<GetReport, ClientError>),
    ) -> Result<(), ClientError> {
        let mut pending = None;
        let outcome = self
            .fetch_small_files(files, &mut pending, &mut on_done)
            .await;
        // Even when the connection failed: what was verified is placed
        // and reported, and nothing is written after this returns.
        if let Some(batch) = pending {
            batch.report(&mut on_done).await;
        }
        outcome
    }

    /// The body of [`Client::get_small_files`]: each full window of
    /// verified files goes to be made durable (`pending`) while the next
    /// one is received.
    async fn fetch_small_files(
        &mut self,
        files: &[SmallDownload],
        pending: &mut Option<DurableBatch>,
        on_done: &mut impl FnMut(usize, Result<GetReport, ClientError>),
    ) -> Result<(), ClientError> {
        let mut requested: VecDeque<(usize, u64, Instant)> = VecDeque::new();
        let mut fetched = Vec::new();
        // Bytes of verified files held in memory until their batch is written.
        let mut held = 0u64;
        let mut next = 0;
        while next < files.len() || !requested.is_empty() {
            if next < files.len() && requested.len() <= WINDOW_FILES / 2 {
                // Before asking for more: hand over what came.
                make_durable(std::mem::take(&mut fetched), pending, on_done).await;
                held = 0;
                while next < files.len() && requested.len() < WINDOW_FILES {
                    let id = self.next_id();
                    self.feed(&Message::Get(Get {
                        id,
                        path: files[next].remote.clone(),
                        ..Get::default()
                    }))
                    .await?;
                    requested.push_back((next, id, Instant::now()));
                    next += 1;
                }
                self.flush().await?;
            }
            let Some((index, id, started)) = requested.pop_front() else {
                continue;
            };
            match self.receive_small(&files[index], id, started).await? {
                Ok((part, body, attributes, report)) => {
                    held += body.as_ref().map_or(0, |b| b.len() as u64);
                    fetched.push(Fetched {
                        index,
                        part,
                        body,
                        local: files[index].local.clone(),
                        attributes,
                        report,
                    });
                }
                Err(error) => on_done(index, Err(error)),
            }
            if held >= WINDOW_BYTES {
                make_durable(std::mem::take(&mut fetched), pending, on_done).await;
                held = 0;
            }
        }
        make_durable(fetched, pending, on_done).await;
        Ok(())
    }

    /// One answer to a pipelined `get`, verified: its bytes in memory (at
    /// most PUT_SMALL_MAX of them) or, for a larger file, in its partial
    /// file. The outer error is the connection's; the inner one this file's.
    async fn receive_small(
        &mut self,
        file: &SmallDownload,
        id: u64,
        started: Instant,
    ) -> Result<Result<(PartFile, Option<Vec<u8>>, Attributes, GetReport), ClientError>, ClientError>
    {
        let data = match self.response(id).await {
            Ok(Message::GetData(data)) if data.offset == 0 => data,
            Ok(other) => return Err(unexpected("get_data from offset 0", &other)),
            Err(refused @ ClientError::Remote { .. }) => return Ok(Err(refused)),
            Err(broken) => return Err(broken),
        };
        // The body comes whatever happens here; it is read to the end so
        // the connection stays in step.
        let (part, mut destination) = match Partials::of(&file.local) {
            Err(error) => (None, Destination::Failed(error)),
            Ok(partials) => {
                let part = PartFile {
                    path: partials.path_for(data.size, data.modified),
                    keep: false,
                };
                let destination = if data.size <= PUT_SMALL_MAX {
                    // Filled by read_body_into: at most PUT_SMALL_MAX bytes.
                    Destination::Memory(Vec::new())
                } else {
                    match tokio::fs::File::create(&part.path).await {
                        Ok(created) => Destination::File(FileSink::start(
                            created.into_std().await,
                            blake3::Hasher::new(),
                            PageCache::DropBehind,
                        )),
                        Err(error) => Destination::Failed(ClientError::Local {
                            path: part.path.clone(),
                            error,
                        }),
                    }
                };
                (Some(part), destination)
            }
        };
        if let Destination::Memory(body) = &mut destination {
            self.read_body_into(body).await?;
        } else {
            let mut received = 0;
            while received < data.size {
                let chunk = match self.read().await? {
                    Frame::Body(chunk) => chunk,
                    Frame::Message(m) => return Err(unexpected("download bytes", &m)),
                };
                received += chunk.len() as u64;
                if let Destination::File(writer) = &mut destination {
                    writer.push(chunk).await?;
                }
            }
        }
        let end = match self.response(id).await? {
            Message::GetEnd(end) => end,
            other => return Err(unexpected("get_end", &other)),
        };
        let (body, blake3) = match destination {
            Destination::Memory(body) => {
                let hash = blake3::hash(&body);
                (Some(body), hash)
            }
            Destination::File(writer) => {
                let written = writer.finish().await?;
                if let Some(error) = written.error {
                    return Ok(Err(ClientError::Local {
                        path: file.local.clone(),
                        error,
                    }));
                }
                (None, written.hasher.finalize())
            }
            Destination::Failed(error) => return Ok(Err(error)),
        };
        let Some(part) = part else {
            return Err(ClientError::Protocol(
                "download without a local file".into(),
            ));
        };
        let blake3 = blake3.to_hex().to_string();
        if end.blake3 != blake3 {
            return Ok(Err(ClientError::Integrity {
                expected: end.blake3,
                actual: blake3,
            }));
        }
        let report = GetReport {
            path: file.local.clone(),
            size: data.size,
            blake3,
            elapsed: started.elapsed(),
            resumed_from: 0,
            restarted: None,
        };
        let attributes = Attributes::from_server(data.modified, data.mode, self.preserve_mode);
        Ok(Ok((part, body, attributes, report)))
    }
}

/// Where a pipelined download's body goes while it is read.
enum Destination {
    Memory(Vec<u8>),
    File(FileSink),
    /// No usable local file; the error is reported after the body.
    Failed(ClientError),
}

/// Makes a batch of verified downloads durable and puts each in place:
/// their bytes with one `syncfs` (an fsync each for one or two files, or
/// where syncfs is missing), then the renames, then an fsync of each
/// directory that received one. Reports every file.
/// A batch of verified downloads being written and made durable on the
/// blocking pool while the session receives the next one.
struct DurableBatch {
    indices: Vec<usize>,
    work: tokio::task::JoinHandle<Vec<(usize, Result<GetReport, ClientError>)>>,
}

impl DurableBatch {
    /// Waits for the batch and reports each of its files.
    async fn report(self, on_done: &mut impl FnMut(usize, Result<GetReport, ClientError>)) {
        match self.work.await {
            Ok(placed) => {
                for (index, result) in placed {
                    on_done(index, result);
                }
            }
            // The worker panicked; its drop guards removed the partial files.
            Err(e) => {
                for index in self.indices {
                    let error = std::io::Error::other(format!("durability step failed: {e}"));
                    on_done(index, Err(ClientError::Io(error)));
                }
            }
        }
    }
}

/// Hands `fetched` to the blocking pool to be made durable, once the
/// batch before it (if any) is done and reported: one batch in flight, so
/// a session holds at most two windows of bodies.
async fn make_durable(
    fetched: Vec<Fetched>,
    pending: &mut Option<DurableBatch>,
    on_done: &mut impl FnMut(usize, Result<GetReport, ClientError>),
) {
    if fetched.is_empty() {
        return;
    }
    if let Some(previous) = pending.take() {
        previous.report(on_done).await;
    }
    *pending = Some(start_durable(fetched));
}

/// Taken around each file a batch creates or renames, so that the
/// sessions of one `get -r` take turns here instead of at the kernel's
/// directory lock. Creating a file holds its directory's lock, and on an
/// ext4 without a journal the inode allocator then reads past every
/// recently deleted inode of the group; the other sessions' threads spun
/// on that lock meanwhile (34% of the machine's samples in a `perf` of a
/// `get -r` of 2,000 files of 4 KiB), taking the CPU the one holding it
/// and the network needed. Waiting here, they sleep.
static DIRECTORY_TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `change` (a create or a rename) in turn; a holder that panicked
/// left nothing to repair.
fn in_directory_turn<T>(change: impl FnOnce() -> T) -> T {
    let _turn = DIRECTORY_TURN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    change()
}

/// Writes the batch's small bodies, gives each file its attributes, makes
/// them durable together and moves them into place.
fn start_durable(fetched: Vec<Fetched>) -> DurableBatch {
    let indices: Vec<usize> = fetched.iter().map(|f| f.index).collect();
    let work = tokio::task::spawn_blocking(move || {
        // Small bodies are written here, together, rather than one trip
        // to the blocking pool each.
        let mut placed = Vec::new();
        let mut fetched_on_disk = Vec::with_capacity(fetched.len());
        for mut f in fetched {
            let written = match f.body.take() {
                Some(body) => in_directory_turn(|| std::fs::File::create(&f.part.path))
                    .and_then(|file| netdisk_fileio::write_in_pieces(&file, &body).map(|()| file)),
                None => std::fs::File::options().write(true).open(&f.part.path),
            }
            .and_then(|file| f.attributes.apply(&file));
            match written {
                Err(error) => placed.push((
                    f.index,
                    Err(ClientError::Local {
                        path: f.local.clone(),
                        error,
                    }),
                )),
                Ok(()) => fetched_on_disk.push(f),
            }
        }
        let fetched = fetched_on_disk;
        if fetched.is_empty() {
            return placed;
        }
        let fsync_each = fetched.len() <= 2 || !netdisk_fileio::SYNCS_FILESYSTEMS;
        let synced = if fsync_each {
            fetched
                .iter()
                .try_for_each(|f| std::fs::File::open(&f.part.path)?.sync_all())
        } else {
            sync_file_systems(fetched.iter().map(|f| f.part.path.as_path()))
        };
        let mut dirs = std::collections::HashSet::new();
        placed.extend(fetched.into_iter().map(|mut f| {
            let placed = match &synced {
                Err(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
                Ok(()) => in_directory_turn(|| std::fs::rename(&f.part.path, &f.local)),
            };
            match placed {
                Ok(()) => {
                    f.part.keep = true;
                    dirs.insert(parent_dir(&f.local));
                    (f.index, Ok(f.report.clone()))
                }
                Err(error) => (
                    f.index,
                    Err(ClientError::Local {
                        path: f.local.clone(),
                        error,
                    }),
                ),
            }
        }));
        // A failed directory fsync loses nothing already verified; the
        // file is in place either way (as with `get_file`).
        for dir in dirs {
            if let Ok(handle) = std::fs::File::open(&dir) {
                let _ = handle.sync_all();
            }
        }
        placed
    });
    DurableBatch { indices, work }
}

/// One `syncfs` per file system holding any of `paths`.
fn sync_file_systems<'a>(paths: impl Iterator<Item = &'a std::path::Path>) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let mut synced = std::collections::HashSet::new();
    for path in paths {
        let file = std::fs::File::open(path)?;
        if synced.insert(file.metadata()?.dev()) {
            netdisk_fileio::sync_filesystem(&file)?;
        }
    }
    Ok(())
}

/// The directory a local path is in ("." for a bare name).
fn parent_dir(path: &std::path::Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// A local file read whole for `put_small`, with its hash.
struct LocalSmall {
    body: Vec<u8>,
    blake3: String,
    attributes: Attributes,
}

/// A local file being read and hashed on the blocking pool.
struct Reading(tokio::task::JoinHandle<Result<LocalSmall, ClientError>>);

impl Reading {
    /// Starts reading `file` into `buffer` (a spare one, or a new one):
    /// buffers used again are not faulted in afresh for every file.
    fn start(file: &SmallUpload, preserve_mode: bool, buffer: Option<Vec<u8>>) -> Reading {
        let path = file.local.clone();
        let buffer = buffer.unwrap_or_default();
        Reading(tokio::task::spawn_blocking(move || {
            read_small(path, preserve_mode, buffer)
        }))
    }

    async fn finish(self) -> Result<LocalSmall, ClientError> {
        self.0.await.map_err(|e| {
            ClientError::Io(std::io::Error::other(format!("reading a file failed: {e}")))
        })?
    }
}

/// The whole local file, if it is small enough for `put_small`, and its hash.
fn read_small(
    path: PathBuf,
    preserve_mode: bool,
    mut body: Vec<u8>,
) -> Result<LocalSmall, ClientError> {
    let local = |error| ClientError::Local {
        path: path.clone(),
        error,
    };
    let opened = std::fs::File::open(&path).map_err(local)?;
    let meta = opened.metadata().map_err(local)?;
    if meta.len() > PUT_SMALL_MAX {
        return Err(too_large_for_small(local));
    }
    body.clear();
    body.reserve(usize::try_from(meta.len()).unwrap_or(0));
    // One byte past the limit is enough to see a file that grew.
    opened
        .take(PUT_SMALL_MAX + 1)
        .read_to_end(&mut body)
        .map_err(local)?;
    if body.len() as u64 > PUT_SMALL_MAX {
        return Err(too_large_for_small(local));
    }
    Ok(LocalSmall {
        blake3: blake3::hash(&body).to_hex().to_string(),
        attributes: Attributes::of_local(&meta, preserve_mode),
        body,
    })
}

/// What the caller takes as "upload this one with `put_file`".
fn too_large_for_small(local: impl Fn(std::io::Error) -> ClientError) -> ClientError {
    local(std::io::Error::new(
        std::io::ErrorKind::FileTooLarge,
        format!("over {PUT_SMALL_MAX} bytes: too large for put_small"),
    ))
}
