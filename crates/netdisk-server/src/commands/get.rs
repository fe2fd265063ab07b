//! Download: `get` -> `get_data` + body -> `get_end` with the BLAKE3 of
//! the whole file. A client that kept the first bytes of an interrupted
//! download offers them (`offset`, their hash, and the file's size and
//! modification time it saw); the server, which holds the whole file,
//! checks them and sends only the rest, or everything with the reason.

use super::{resolve, shown};
use crate::audit::TransferRecord;
use crate::connection::{Connection, Fatal};
use crate::error::CommandError;
use crate::home::Home;
use crate::session::{Session, Shared};
use crate::staging::hash_prefix;
use netdisk_fileio::FileSource;
use netdisk_proto::request::Get;
use netdisk_proto::response::{GetData, GetEnd};
use netdisk_proto::{HomePath, Message};
use std::io::{Read, Seek, SeekFrom};
use tokio::io::{AsyncRead, AsyncWrite};

/// Files up to this size are read whole when opened, in the same trip
/// to the blocking pool, instead of through a reader thread of their own.
const READ_WHOLE_MAX: u64 = 256 * 1024;

/// An opened file, positioned where the transfer starts.
struct Source {
    file: std::fs::File,
    size: u64,
    modified: Option<i64>,
    mode: Option<u32>,
    offset: u64,
    /// Covers `whole` when it is there, else the bytes before `offset`.
    hasher: blake3::Hasher,
    restarted: Option<String>,
    /// The whole file, for a small one sent from the start.
    whole: Option<Vec<u8>>,
}

type OpenWork = Box<dyn FnOnce(&Home) -> Result<Source, CommandError> + Send>;

/// Resolves the path and returns the blocking work that opens the file
/// and checks the bytes the client kept.
fn open(session: &Session, req: &Get) -> Result<(HomePath, OpenWork), CommandError> {
    let path = resolve(session, &req.path)?;
    let open_path = path.clone();
    let (offset, prefix, size_seen, modified_seen) = (
        req.offset,
        req.prefix_blake3.clone(),
        req.size,
        req.modified,
    );
    Ok((
        path,
        Box::new(move |home: &Home| {
            let (file, entry) = home.open_file(&open_path)?;
            let (size, modified) = (entry.size, entry.modified);
            let mut source = Source {
                file,
                size,
                modified,
                mode: entry.mode,
                offset: 0,
                hasher: blake3::Hasher::new(),
                restarted: None,
                whole: None,
            };
            if offset == 0 {
                if size <= READ_WHOLE_MAX {
                    // Bounded by READ_WHOLE_MAX. A file that shrank since
                    // its size was read fails here, before get_data.
                    let mut whole = vec![0; usize::try_from(size).unwrap_or(0)];
                    source
                        .file
                        .read_exact(&mut whole)
                        .map_err(|e| CommandError::from_io(&e, "download"))?;
                    source.hasher.update(&whole);
                    source.whole = Some(whole);
                }
                return Ok(source);
            }
            let reason = if size_seen != Some(size) || modified_seen != modified {
                Some("the file changed on the server since the kept bytes were received")
            } else if offset > size {
                Some("more bytes were kept than the file has")
            } else {
                match hash_prefix(&mut source.file, offset) {
                    Ok(hasher)
                        if prefix.as_deref()
                            == Some(hasher.clone().finalize().to_hex().as_str()) =>
                    {
                        source.offset = offset;
                        source.hasher = hasher;
                        None
                    }
                    _ => Some("the kept bytes differ from the server's"),
                }
            };
            if let Some(reason) = reason {
                source.restarted = Some(reason.into());
                source
                    .file
                    .seek(SeekFrom::Start(0))
                    .map_err(|e| CommandError::from_io(&e, "download"))?;
            }
            Ok(source)
        }),
    ))
}

pub(crate) async fn apply<S: AsyncRead + AsyncWrite + Unpin>(
    req: Get,
    session: &mut Session,
    conn: &mut Connection<S>,
    shared: &Shared,
) -> Result<(), Fatal> {
    let mut record = TransferRecord::start("download", shown(session, &req.path));
    let outcome = download(req, session, conn, &mut record).await;
    record.write(&shared.audit, session.peer, &session.user);
    outcome
}

async fn download<S: AsyncRead + AsyncWrite + Unpin>(
    req: Get,
    session: &mut Session,
    conn: &mut Connection<S>,
    record: &mut TransferRecord,
) -> Result<(), Fatal> {
    let id = req.id;
    let opened = match open(session, &req) {
        Ok((path, work)) => session.home.run(work).await.map(|source| (path, source)),
        Err(e) => Err(e),
    };
    let (path, source) = match opened {
        Ok(opened) => opened,
        Err(err) => {
            record.result = err.code.as_str();
            return conn.send(&err.into_message(id)).await;
        }
    };
    let Source {
        file,
        size,
        modified,
        mode,
        offset,
        hasher,
        restarted,
        whole,
    } = source;
    conn.send(&Message::GetData(GetData {
        id,
        offset,
        size: size - offset,
        modified,
        mode,
        restarted,
    }))
    .await?;

    let hasher = match whole {
        Some(whole) => {
            conn.write_body(&whole).await?;
            record.bytes = whole.len() as u64;
            hasher
        }
        None => stream_file(file, hasher, size - offset, &path, conn, record).await?,
    };
    conn.flush().await?;
    let blake3 = hasher.finalize().to_hex().to_string();
    record.blake3 = Some(blake3.clone());
    tracing::info!(user = %session.user, path = %path, bytes = size, resumed_from = offset, "download sent");
    conn.send(&Message::GetEnd(GetEnd { id, blake3 })).await?;
    record.result = "ok";
    Ok(())
}

/// Sends `len` bytes of `file` from its position, read and hashed on a
/// blocking thread; returns the hash state over them (and `hasher`'s prefix).
async fn stream_file<S: AsyncRead + AsyncWrite + Unpin>(
    file: std::fs::File,
    hasher: blake3::Hasher,
    len: u64,
    path: &HomePath,
    conn: &mut Connection<S>,
    record: &mut TransferRecord,
) -> Result<blake3::Hasher, Fatal> {
    let mut reader = FileSource::start(file, hasher, len);
    while let Some(chunk) = reader.next().await {
        // The file shrank (or could not be read) after get_data announced
        // its size: the promised bytes cannot be delivered, so the stream
        // cannot stay in step.
        let chunk = chunk.map_err(|e| {
            tracing::warn!(path = %path, error = %e, "download cut short; closing");
            Fatal::Io(e)
        })?;
        conn.write_body(&chunk).await?;
        record.bytes += chunk.len() as u64;
    }
    Ok(reader.finish().await?)
}
