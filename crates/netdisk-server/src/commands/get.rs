//! Download: `get` -> `get_data` + body -> `get_end` with the BLAKE3 of
//! exactly the bytes sent.

use super::resolve;
use crate::connection::{Connection, Fatal};
use crate::session::Session;
use netdisk_proto::request::Get;
use netdisk_proto::response::{GetData, GetEnd};
use netdisk_proto::Message;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};

const CHUNK: usize = 256 * 1024;

pub(crate) async fn apply<S: AsyncRead + AsyncWrite + Unpin>(
    req: Get,
    session: &mut Session,
    conn: &mut Connection<S>,
) -> Result<(), Fatal> {
    let id = req.id;
    let opened = match resolve(session, &req.path) {
        Ok(path) => {
            let open = path.clone();
            session
                .home
                .run(move |home| home.open_file(&open))
                .await
                .map(|(file, size)| (path, file, size))
        }
        Err(e) => Err(e),
    };
    let (path, file, size) = match opened {
        Ok(opened) => opened,
        Err(err) => return conn.send(&err.into_message(id)).await,
    };
    conn.send(&Message::GetData(GetData { id, size })).await?;

    let mut file = tokio::fs::File::from_std(file);
    let mut hasher = blake3::Hasher::new();
    let mut buffer = vec![0u8; CHUNK];
    let mut sent = 0u64;
    while sent < size {
        let want = usize::try_from(size - sent).unwrap_or(CHUNK).min(CHUNK);
        let n = file.read(&mut buffer[..want]).await?;
        if n == 0 {
            // The file shrank after get_data announced its size: the promised
            // bytes cannot be delivered, so the stream cannot stay in step.
            tracing::warn!(path = %path, sent, size, "file shrank during download; closing");
            return Err(Fatal::Io(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("{path} shrank while being sent"),
            )));
        }
        hasher.update(&buffer[..n]);
        conn.write_body(&buffer[..n]).await?;
        sent += n as u64;
    }
    conn.flush().await?;
    let blake3 = hasher.finalize().to_hex().to_string();
    tracing::info!(user = %session.user, path = %path, bytes = size, "download sent");
    conn.send(&Message::GetEnd(GetEnd { id, blake3 })).await
}
