//! The byte streams a connection runs over: plain TCP, or TLS over TCP.
//! Only plain TCP can send a file zero-copy: `sendfile` has the kernel
//! move the file's page-cache pages to the socket, so no byte passes
//! through this process. Over TLS each byte must be encrypted here, and
//! goes the ordinary way (read, encrypt, write).

use netdisk_fileio::ReadAhead;
use std::io;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, Interest};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

/// Bytes one `sendfile` call may move: large enough that the call count
/// does not matter, small enough that a read from a cold disk inside it
/// holds this async thread only briefly.
const SENDFILE_MAX: usize = 4 << 20;

pub(crate) trait PeerStream: AsyncRead + AsyncWrite + Unpin {
    /// The TCP socket itself when what is written to it reaches the peer
    /// as it is (plaintext mode); `None` when it must be encrypted first.
    fn plain_socket(&self) -> Option<&TcpStream> {
        None
    }
}

impl PeerStream for TcpStream {
    fn plain_socket(&self) -> Option<&TcpStream> {
        Some(self)
    }
}

impl PeerStream for TlsStream<ReadAhead<TcpStream>> {}

/// Why a zero-copy send ended early.
#[derive(Debug)]
pub(crate) enum SendFileError {
    /// The peer took nothing for `stall`.
    Stalled,
    Io(io::Error),
}

/// Sends `len` bytes of `file` from `offset` to `socket` with `sendfile`,
/// adding each piece sent to `sent`. Each wait for room in the socket is
/// bounded by `stall`. A file shorter than promised (it shrank) is an
/// `UnexpectedEof` error: the bytes announced cannot all be delivered.
pub(crate) async fn send_file(
    socket: &TcpStream,
    file: &std::fs::File,
    mut offset: u64,
    len: u64,
    stall: Duration,
    sent: &mut u64,
) -> Result<(), SendFileError> {
    // Reading ahead is what keeps a cold file's sendfile calls short.
    let _ = rustix::fs::fadvise(
        file,
        offset,
        std::num::NonZeroU64::new(len),
        rustix::fs::Advice::Sequential,
    );
    let mut left = len;
    while left > 0 {
        tokio::time::timeout(stall, socket.writable())
            .await
            .map_err(|_| SendFileError::Stalled)?
            .map_err(SendFileError::Io)?;
        let want = usize::try_from(left)
            .unwrap_or(usize::MAX)
            .min(SENDFILE_MAX);
        let moved = socket.try_io(Interest::WRITABLE, || {
            rustix::fs::sendfile(socket, file, Some(&mut offset), want).map_err(io::Error::from)
        });
        match moved {
            Ok(0) => {
                return Err(SendFileError::Io(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("the file ended {left} bytes early: it shrank while being sent"),
                )))
            }
            Ok(n) => {
                left -= n as u64;
                *sent += n as u64;
            }
            // Woken for room that another write took, or a signal: wait again.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => return Err(SendFileError::Io(e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use tokio::io::AsyncReadExt;

    fn file_with(bytes: &[u8]) -> (tempfile::TempDir, std::fs::File) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        std::fs::File::create(&path)
            .and_then(|mut f| f.write_all(bytes))
            .expect("write");
        (dir, std::fs::File::open(&path).expect("open"))
    }

    async fn socket_pair() -> (TcpStream, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (client, accepted) = tokio::join!(TcpStream::connect(addr), listener.accept());
        (accepted.expect("accept").0, client.expect("connect"))
    }

    #[tokio::test]
    async fn sends_the_range_asked_for_and_counts_it() {
        let data: Vec<u8> = (0..9_000_000u32).map(|i| (i % 251) as u8).collect();
        let (_dir, file) = file_with(&data);
        let (server, mut client) = socket_pair().await;
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            client.read_to_end(&mut got).await.expect("read");
            got
        });
        let mut sent = 0;
        send_file(
            &server,
            &file,
            1000,
            (data.len() - 1000) as u64,
            Duration::from_secs(30),
            &mut sent,
        )
        .await
        .expect("sent");
        drop(server);
        assert_eq!(sent, (data.len() - 1000) as u64);
        assert_eq!(reader.await.expect("reader"), &data[1000..]);
    }

    #[tokio::test]
    async fn a_file_shorter_than_promised_is_an_error() {
        let (_dir, file) = file_with(&[7u8; 5000]);
        let (server, _client) = socket_pair().await;
        let mut sent = 0;
        let err = send_file(&server, &file, 0, 6000, Duration::from_secs(30), &mut sent)
            .await
            .expect_err("short");
        assert!(
            matches!(&err, SendFileError::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof),
            "{err:?}"
        );
        assert_eq!(sent, 5000);
    }

    #[tokio::test]
    async fn a_peer_that_stops_reading_is_cut_after_the_stall_limit() {
        let data = vec![3u8; 64 << 20];
        let (_dir, file) = file_with(&data);
        // The client never reads: the socket buffers fill and stay full.
        let (server, _client) = socket_pair().await;
        let mut sent = 0;
        let err = send_file(
            &server,
            &file,
            0,
            data.len() as u64,
            Duration::from_millis(200),
            &mut sent,
        )
        .await
        .expect_err("stalled");
        assert!(matches!(err, SendFileError::Stalled), "{err:?}");
        assert!(sent < data.len() as u64);
    }
}
