//! Reads that take all the decrypted bytes at hand. tokio-rustls answers a
//! read with at most one TLS record (16 KiB) even when more have arrived,
//! and hyper makes each read a piece of the request body, so an upload
//! came to the handler in 16 KiB pieces, each a trip through the body
//! stream. This layer keeps reading while bytes come at once, up to the
//! caller's buffer, and returns them together.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, ReadBuf};

pub(crate) struct WholeReads<S> {
    inner: S,
    /// An error met after some bytes were already read: those go out
    /// first, the error with the next read.
    deferred: Option<io::Error>,
}

impl<S> WholeReads<S> {
    pub(crate) fn new(inner: S) -> WholeReads<S> {
        WholeReads {
            inner,
            deferred: None,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WholeReads<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(err) = this.deferred.take() {
            return Poll::Ready(Err(err));
        }
        let start = buf.filled().len();
        // Each turn fills at least one byte or ends: bounded by the buffer.
        while buf.remaining() > 0 {
            let before = buf.filled().len();
            match Pin::new(&mut this.inner).poll_read(cx, buf) {
                Poll::Ready(Ok(())) if buf.filled().len() > before => {}
                // The end of the stream: what was read goes out, and the
                // next read sees the end again.
                Poll::Ready(Ok(())) => break,
                Poll::Ready(Err(err)) if buf.filled().len() > start => {
                    this.deferred = Some(err);
                    break;
                }
                Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
                // Nothing more at hand: the inner stream will wake us for
                // the next read; what was read goes out now.
                Poll::Pending if buf.filled().len() > start => break,
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

netdisk_fileio::write_through!(WholeReads);

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Yields the scripted pieces one per read, `Pending` where a piece
    /// is `None`, then an error or the end.
    struct Scripted {
        pieces: std::collections::VecDeque<Option<Vec<u8>>>,
        then: Option<io::ErrorKind>,
    }

    impl AsyncRead for Scripted {
        fn poll_read(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let this = self.get_mut();
            match this.pieces.pop_front() {
                Some(Some(piece)) => {
                    let n = piece.len().min(buf.remaining());
                    buf.put_slice(&piece[..n]);
                    if n < piece.len() {
                        this.pieces.push_front(Some(piece[n..].to_vec()));
                    }
                    Poll::Ready(Ok(()))
                }
                Some(None) => {
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
                None => match this.then.take() {
                    Some(kind) => Poll::Ready(Err(kind.into())),
                    None => Poll::Ready(Ok(())),
                },
            }
        }
    }

    fn scripted(pieces: &[Option<&[u8]>], then: Option<io::ErrorKind>) -> WholeReads<Scripted> {
        WholeReads::new(Scripted {
            pieces: pieces.iter().map(|p| p.map(<[u8]>::to_vec)).collect(),
            then,
        })
    }

    #[tokio::test]
    async fn a_read_takes_every_piece_at_hand_up_to_its_buffer() {
        let mut reader = scripted(
            &[
                Some(b"abc"),
                Some(b"def"),
                None,
                Some(b"ghijkl"),
                Some(b"m"),
            ],
            None,
        );
        let mut buf = [0u8; 8];
        assert_eq!(reader.read(&mut buf).await.expect("read"), 6);
        assert_eq!(&buf[..6], b"abcdef");
        // The buffer ends the read; the rest of the piece waits.
        assert_eq!(reader.read(&mut buf).await.expect("read"), 7);
        assert_eq!(&buf[..7], b"ghijklm");
        assert_eq!(reader.read(&mut buf).await.expect("end"), 0);
    }

    #[tokio::test]
    async fn an_error_after_some_bytes_comes_with_the_next_read() {
        let mut reader = scripted(&[Some(b"abc")], Some(io::ErrorKind::ConnectionReset));
        let mut buf = [0u8; 8];
        assert_eq!(reader.read(&mut buf).await.expect("read"), 3);
        let err = reader.read(&mut buf).await.expect_err("reset");
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
    }

    #[tokio::test]
    async fn writes_pass_through() {
        let (near, mut far) = tokio::io::duplex(64);
        let mut stream = WholeReads::new(near);
        stream.write_all(b"hello").await.expect("write");
        stream.flush().await.expect("flush");
        let mut got = [0u8; 5];
        far.read_exact(&mut got).await.expect("read");
        assert_eq!(&got, b"hello");
    }
}
