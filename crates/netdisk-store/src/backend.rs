//! The seam between the engine and the place names and bytes live. The
//! engine (`Space`, `Upload`, `Download`) keeps the rules: which paths a
//! user may name, the quota, the claims on partials, the audit trail,
//! hashing and verification. A back-end keeps the files. The local file
//! system (`local`) is the first; docs/ARCHITECTURE.md lists what every
//! back-end promises.
//!
//! Calls block: the engine runs them on tokio's blocking pool, never on
//! an async thread (except the bounded lookups named in `Home`'s docs).

use crate::claims::{ActiveClaim, ActivePartials, PartialRelease};
use crate::error::StoreError;
use bytes::Bytes;
use netdisk_proto::response::{FileVersion, PartialUpload, TrashItem};
use netdisk_proto::{Entry, HomePath};
use std::future::Future;
use std::io;
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// A file's stored hash, or why it must be computed.
#[derive(Debug, PartialEq, Eq)]
pub enum HashLookup {
    Recorded(String),
    /// No record, or a stale one: the file as it was when looked up, to
    /// record a hash computed from it later (`Home::record_hash`).
    Missing(FileStamp),
}

/// What a commit does with a file already at its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Replace it: its bytes leave the disk.
    Replace,
    /// Replace it, keeping it as the target's newest old version, and
    /// keep at most this many old versions of the target.
    KeepVersions(u32),
    /// Refuse (`exists`), decided atomically: the upload only makes a new file.
    Refuse,
}

/// Bytes kept in the trash and as old versions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeptBytes {
    pub trash: u64,
    pub versions: u64,
}

/// What a file was (for the local back-end: its size and modification
/// time), opaque to the engine. `None` when it could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStamp(pub(crate) Option<String>);

impl FileStamp {
    /// What a back-end that records every file's hash at its commit says
    /// of a file it cannot describe.
    pub fn unknown() -> FileStamp {
        FileStamp(None)
    }
}

/// Where every user's home lives.
pub trait Backend: Send + Sync + 'static {
    /// The user's home, created on first use.
    fn open_home(&self, user: &str) -> Result<Arc<dyn Home>, StoreError>;

    /// Removes staging files older than `max_age` that no upload is
    /// writing; `at_startup`, every plain (non-resumable) upload too,
    /// since a crash left it. Returns, per user, the bytes of kept
    /// partials removed (they counted toward the quota).
    fn sweep(
        &self,
        max_age: Duration,
        active: &ActivePartials,
        at_startup: bool,
    ) -> Vec<(String, u64)>;
}

/// One user's files, and their uploads in progress. Every path is
/// already checked and normalised (`HomePath`); a back-end still makes
/// sure no name leads out of the home (symlinks, races).
///
/// `entry`, `require_dir` and `list_at_most` with a small limit are
/// called on an async thread when `answers_at_once` says they may be.
pub trait Home: Send + Sync + 'static {
    /// Whether `entry`, `require_dir` and `list_at_most` with a small
    /// limit answer at once (from memory or the kernel's caches), so the
    /// engine may call them on an async thread. A back-end that asks
    /// another server (a database) says no: they run on the blocking pool.
    fn answers_at_once(&self) -> bool {
        true
    }
    /// Describes a path without following a final symlink.
    fn entry(&self, path: &HomePath) -> Result<Entry, StoreError>;
    /// True if the path is a directory (following symlinks that stay inside).
    fn is_dir(&self, path: &HomePath) -> bool;
    /// `not_a_directory` unless the path is one.
    fn require_dir(&self, path: &HomePath) -> Result<(), StoreError>;
    /// A directory's entries sorted by name (or a file's own entry), or
    /// `None` once there are more than `limit`.
    fn list_at_most(&self, path: &HomePath, limit: usize)
        -> Result<Option<Vec<Entry>>, StoreError>;
    fn mkdir(&self, path: &HomePath, parents: bool) -> Result<(), StoreError>;
    /// Removes a file or symlink; returns the bytes it held.
    fn remove_file(&self, path: &HomePath) -> Result<u64, StoreError>;
    /// Removes a directory and all in it (a file alone, too); returns the bytes.
    fn remove_tree(&self, path: &HomePath) -> Result<u64, StoreError>;
    /// Removes an empty directory.
    fn remove_dir(&self, path: &HomePath) -> Result<(), StoreError>;
    /// Renames `from` to `to` atomically, replacing a file at `to`; with
    /// `keep_versions`, the replaced file is kept as `to`'s newest old
    /// version (of at most that many), as an upload's commit does.
    /// Returns the bytes that left (the file replaced, or versions trimmed).
    fn rename(
        &self,
        from: &HomePath,
        to: &HomePath,
        keep_versions: Option<u32>,
    ) -> Result<u64, StoreError>;

    /// Moves what is at `path` (a file, a symlink, a whole tree) into the
    /// user's trash, atomically: a crash leaves it in one place or the
    /// other, whole.
    fn trash(&self, path: &HomePath) -> Result<TrashItem, StoreError>;
    /// The trash, oldest first.
    fn trash_items(&self) -> Result<Vec<TrashItem>, StoreError>;
    /// Moves a trash item back into the home at `to` (missing parents
    /// made), only onto a free name, decided atomically.
    fn restore_trash(&self, id: &str, to: &HomePath) -> Result<(), StoreError>;
    /// Deletes a trash item for good; returns its bytes.
    fn purge_trash(&self, id: &str) -> Result<u64, StoreError>;
    /// Deletes all but the newest `keep` old versions of `path`; returns the bytes.
    fn trim_versions(&self, path: &HomePath, keep: u32) -> Result<u64, StoreError>;
    /// A file's old versions, oldest first.
    fn versions(&self, path: &HomePath) -> Result<Vec<FileVersion>, StoreError>;
    /// Opens an old version for reading.
    fn open_version(&self, path: &HomePath, id: &str) -> Result<FileBytes, StoreError>;
    /// Deletes an old version for good; returns its bytes.
    fn purge_version(&self, path: &HomePath, id: &str) -> Result<u64, StoreError>;
    /// Bytes in the trash and in old versions.
    fn kept_bytes(&self) -> Result<KeptBytes, StoreError>;
    /// Deletes the oldest trash items, then (`versions_too`) the oldest old
    /// versions, until `wanted` bytes are freed; returns the bytes. Deletes
    /// nothing when all of them together would not free enough.
    fn release_oldest(&self, wanted: u64, versions_too: bool) -> Result<u64, StoreError>;
    /// Deletes trash items kept before `before` (seconds since the epoch);
    /// returns the bytes.
    fn expire_trash(&self, before: i64) -> Result<u64, StoreError>;
    /// Removes kept items a crash left half made; run before the usage is measured.
    fn sweep_kept(&self);
    /// Bytes of the regular file at `path`; 0 for anything else or nothing.
    fn file_size(&self, path: &HomePath) -> u64;
    /// Bytes in the home's regular files.
    fn usage(&self) -> Result<u64, StoreError>;

    /// Opens a regular file for reading; anything else is refused, and
    /// the open never blocks (a FIFO). Returns its bytes and its entry.
    fn open_file(&self, path: &HomePath) -> Result<(FileBytes, Entry), StoreError>;
    /// A local file's BLAKE3 as recorded when it was committed, if the
    /// record is still true of it (same size and modification time).
    fn stored_hash(&self, file: &std::fs::File) -> HashLookup;
    /// Records `blake3`, hashed from the file's bytes after `before` was
    /// looked up, if the file has not changed since; best effort.
    fn record_hash(&self, file: &std::fs::File, before: &FileStamp, blake3: &str);

    /// Sets a file's or directory's modification time (seconds since the
    /// epoch), keeping a true hash record true.
    fn set_modified(&self, path: &HomePath, modified: i64) -> Result<(), StoreError>;

    /// The dead properties recorded on a file or directory (as the
    /// engine encoded them), `None` when there are none.
    fn properties(&self, path: &HomePath) -> Result<Option<Vec<u8>>, StoreError>;
    /// Records them durably with the file or directory (`None` clears
    /// them); they go with it when it is renamed or removed.
    fn set_properties(&self, path: &HomePath, encoded: Option<&[u8]>) -> Result<(), StoreError>;

    /// Checks that `target` can receive an upload of `size` bytes and
    /// prepares its staging file: a fresh one, or with a `claim` (a
    /// resumable upload) the kept partial of this version of the source,
    /// positioned after its bytes.
    fn prepare_upload(
        &self,
        target: &HomePath,
        size: u64,
        modified: Option<i64>,
        claim: Option<ActiveClaim>,
    ) -> Result<Prepared, StoreError>;
    /// Bytes held by kept partial uploads.
    fn kept_partial_bytes(&self) -> u64;
    /// The kept partial uploads, sorted by target; `expires` is `ttl`
    /// after each one's last write.
    fn kept_partials(
        &self,
        partials: &PartialRelease,
        ttl: Duration,
    ) -> Result<Vec<PartialUpload>, StoreError>;
    /// Removes the kept partial upload to `target`; returns its bytes.
    /// `busy` while an upload writes it, `not_found` when there is none.
    fn discard_partial(
        &self,
        target: &HomePath,
        partials: &PartialRelease,
    ) -> Result<u64, StoreError>;
    /// Commits small uploads with one durability step for all (each
    /// file's `existing` as for `Staged::commit`); returns, in order, the
    /// bytes each freed or why it failed.
    fn commit_small_batch(
        &self,
        files: Vec<SmallFile>,
        partials: &PartialRelease,
    ) -> Vec<Result<u64, StoreError>>;
}

/// An upload's staging area. Dropped uncommitted, it is removed, unless
/// it is a partial worth keeping.
pub trait Staged: Send {
    /// Bytes in it now.
    fn written(&self) -> u64;
    /// Keep it for a later resume when dropped uncommitted (resumable only).
    fn set_keep(&mut self, keep: bool);
    fn keeps(&self) -> bool;
    /// Bytes a later attempt would go on from, once the body has landed
    /// (those a resumable upload keeps when it is dropped now).
    fn kept(&mut self) -> u64;
    /// Starts taking the body at byte `start`: 0 (the client starts over:
    /// kept bytes are dropped) or the kept bytes' end. Returns a writer
    /// that stores each chunk in order and hashes it after the bytes
    /// before `start` (the back-end keeps the hash state of what it
    /// holds). With `hash_only` nothing is stored: for a body already
    /// refused, read to stay in step with the client. `room` is the
    /// ledger's record of the room the upload holds, for a back-end that
    /// counts a kept part's bytes as used the moment it keeps it.
    fn take_body(
        &mut self,
        start: u64,
        hash_only: bool,
        room: Option<RoomTicket>,
    ) -> io::Result<Box<dyn BodyWriter>>;
    /// Cuts what is staged back to its first `len` bytes (a refused body).
    fn cut_back(&mut self, len: u64) -> io::Result<()>;
    /// Makes the complete upload the file at `target`: sets its
    /// `attributes`, records `blake3` as its hash, makes all of it
    /// durable, then puts it at `target` atomically and durably, doing
    /// with a file there what `existing` says. Returns the bytes that
    /// left the disk: the file it replaced (unless kept as a version),
    /// old versions trimmed, any kept partial of the target.
    /// `room` is the quota ledger's record of the room the upload holds,
    /// for a back-end whose commit drops it in the same transaction.
    #[allow(clippy::too_many_arguments)]
    fn commit(
        self: Box<Self>,
        attributes: SourceAttributes,
        blake3: &str,
        target: &HomePath,
        partials: &PartialRelease,
        existing: Existing,
        room: Option<RoomTicket>,
    ) -> Result<u64, StoreError>;
}

/// A quota ledger's record of the room one upload holds (a row of a
/// shared database's reservations), as the back-end's commit needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomTicket {
    pub id: i64,
    pub bytes: u64,
}

/// Stores an upload's body as it arrives, off the caller's task (a
/// thread writing a file, or a task sending parts to an object store).
pub trait BodyWriter: Send {
    /// Hands over the next chunk, waiting while the writer's queue is
    /// full. An error means the writer is gone.
    fn push(&mut self, chunk: Bytes) -> BoxFuture<'_, io::Result<()>>;
    /// Waits for every chunk to be stored.
    fn finish(self: Box<Self>) -> BoxFuture<'static, io::Result<BodyWritten>>;
}

/// A committed file's bytes, as its back-end serves them.
pub enum FileBytes {
    /// A file on this machine: read by a thread of the engine, or sent
    /// zero-copy by a front-end. Its hash may have to be computed.
    Local(std::fs::File),
    /// Bytes a back-end streams on request (an object store), with the
    /// BLAKE3 recorded at the commit (such a file never changes after it).
    Streamed(StreamedFile),
}

/// A file a back-end streams: its recorded hash and its byte ranges.
#[derive(Clone)]
pub struct StreamedFile {
    pub blake3: String,
    pub ranges: Arc<dyn ByteRanges>,
}

/// Reads ranges of one stored file.
pub trait ByteRanges: Send + Sync + 'static {
    /// The bytes of `range`, in order, through a channel the back-end
    /// fills from a task of its own; an error is the last item. Callable
    /// from an async task or a blocking thread.
    fn read(&self, range: Range<u64>) -> mpsc::Receiver<io::Result<Bytes>>;
}

/// A future a trait object can return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a [`BodyWriter`] did with the body.
#[derive(Debug)]
pub struct BodyWritten {
    /// The BLAKE3 (hex) of the whole upload: the bytes before the body
    /// and everything pushed, whether or not it was stored.
    pub blake3: String,
    /// Bytes hashed: those before the body and everything pushed.
    pub count: u64,
    /// The first failure to store (a full disk). After it, chunks are
    /// still hashed, so the caller stays in step with its client.
    pub error: Option<io::Error>,
}

/// A staging area ready to receive bytes from `offset` on.
pub struct Prepared {
    pub staged: Box<dyn Staged>,
    /// Bytes kept from an earlier attempt (counted in the user's usage).
    pub offset: u64,
    /// The BLAKE3 (hex) of those bytes, when there are some.
    pub prefix_blake3: Option<String>,
    /// Why an earlier attempt's bytes were discarded, if they were.
    pub restarted: Option<String>,
    /// Bytes of a discarded earlier attempt (they left the disk).
    pub discarded: u64,
    /// Bytes of the file at the target now, which the commit will free.
    pub replacing: u64,
}

/// A small upload, received and verified, to be committed with its batch.
pub struct SmallFile {
    pub target: HomePath,
    pub body: Vec<u8>,
    pub blake3: String,
    pub attributes: SourceAttributes,
    /// What its commit does with a file at the target.
    pub existing: Existing,
    /// The room its reservation holds (see `Staged::commit`).
    pub room: Option<RoomTicket>,
}

/// What an upload keeps of its source file besides the bytes: its
/// modification time, and with `put -p` its permission bits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceAttributes {
    /// Seconds since the Unix epoch.
    pub modified: Option<i64>,
    pub mode: Option<u32>,
}

impl SourceAttributes {
    /// Sets the modification time on a staging file, after its last write
    /// (a write would move it) and before its sync (which makes it durable).
    pub fn set_modified(&self, file: &std::fs::File) -> io::Result<()> {
        match self.modified.and_then(netdisk_proto::time::from_epoch_secs) {
            Some(time) => file.set_modified(time),
            None => Ok(()),
        }
    }

    /// Sets the permission bits on a staging file, last: a read-only mode
    /// would refuse what is written after it (the hash record).
    pub fn set_mode(&self, file: &std::fs::File) -> io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        match self.mode {
            // The owner's read bit stays, so the server can serve it back.
            Some(mode) => file.set_permissions(std::fs::Permissions::from_mode(
                (mode & netdisk_proto::request::MODE_MASK) | 0o400,
            )),
            None => Ok(()),
        }
    }
}
