//! The data path of a transfer, shared by server and client: a file is
//! read or written on a blocking thread that also hashes the bytes with
//! BLAKE3, while the async task moves them over the network. On two cores
//! the hashing and the page-cache copy run beside the socket work instead
//! of after it, and no chunk is copied between the socket buffer and the
//! file (chunks travel as `Bytes`). Under TLS, the socket is read in
//! large pieces ([`ReadAhead`]), and the allocator keeps the memory of
//! freed chunks for the next ones ([`keep_chunk_memory`]). Files are
//! written at most 256 KiB per call ([`write_in_pieces`]).

mod allocator;
mod durable;
mod pieces;
mod read_ahead;
mod reader;
mod write_through;
mod writeback;
mod writer;

pub use allocator::keep_chunk_memory;
pub use durable::{sync_filesystem, SYNCS_FILESYSTEMS};
pub use pieces::write_in_pieces;
pub use read_ahead::ReadAhead;
pub use reader::FileSource;
pub use writeback::{start_writeback, PageCache};
pub use writer::{FileSink, Written};

/// Bytes per chunk read from a file.
pub const CHUNK: usize = 256 * 1024;

/// Chunks queued between the network task and the file thread: enough to
/// ride out a slow write or a slow peer, bounded so a transfer holds at
/// most `QUEUE * CHUNK` (2 MiB) in flight.
const QUEUE: usize = 8;
