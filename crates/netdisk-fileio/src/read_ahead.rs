//! Large socket reads under TLS. rustls asks its transport for at most
//! one record's room at a time (its deframer starts at 4 KiB and grows by
//! 4 KiB per read, up to about 18 KiB), so a bulk upload cost a `recvfrom`
//! per 4-16 KiB (13,023 for a 210 MB upload, `strace -c`). This layer
//! reads up to `READ_AHEAD` bytes per call and hands rustls its pieces
//! from memory. tokio's `BufReader` would do the reading but
//! keeps its buffer for the connection's life, 64 KiB on every idle
//! connection; this one holds a buffer only while a burst of bytes is
//! arriving, and never touches one for a lone request.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, ReadBuf};

/// Bytes one socket read may take: several TLS records.
const READ_AHEAD: usize = 64 * 1024;

pub struct ReadAhead<S> {
    inner: S,
    /// Empty until a read shows a burst arriving; `READ_AHEAD` long while
    /// it lasts.
    buffer: Vec<u8>,
    /// The unread bytes are `buffer[start..end]`.
    start: usize,
    end: usize,
}

impl<S> ReadAhead<S> {
    pub fn new(inner: S) -> ReadAhead<S> {
        ReadAhead {
            inner,
            buffer: Vec::new(),
            start: 0,
            end: 0,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ReadAhead<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.start == this.end {
            if this.buffer.is_empty() || buf.remaining() >= READ_AHEAD {
                // Nothing known to be arriving in bulk: read straight into
                // the caller's buffer, so a connection waiting for its next
                // request never holds (nor touches) a read-ahead buffer. A
                // read that fills a small buffer says more is waiting.
                let (asked, before) = (buf.remaining(), buf.filled().len());
                ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
                if buf.filled().len() - before == asked && asked < READ_AHEAD {
                    this.buffer = vec![0; READ_AHEAD];
                }
                return Poll::Ready(Ok(()));
            }
            let mut ahead = ReadBuf::new(&mut this.buffer);
            match Pin::new(&mut this.inner).poll_read(cx, &mut ahead) {
                Poll::Pending => {
                    // The burst is over: let the buffer go until the next.
                    this.buffer = Vec::new();
                    return Poll::Pending;
                }
                Poll::Ready(result) => result?,
            }
            this.start = 0;
            this.end = ahead.filled().len();
        }
        let n = buf.remaining().min(this.end - this.start);
        buf.put_slice(&this.buffer[this.start..this.start + n]);
        this.start += n;
        Poll::Ready(Ok(()))
    }
}

crate::write_through!(ReadAhead);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    /// Sends `data` in `pieces` (sizes, cycled) through a pipe that holds
    /// `pipe` bytes, and reads it back through a `ReadAhead` with reads
    /// of `reads` bytes (cycled); returns what came out.
    async fn through(data: &[u8], pieces: &[usize], reads: &[usize], pipe: usize) -> Vec<u8> {
        let (mut writer, reader) = tokio::io::duplex(pipe);
        let sent = data.to_vec();
        let pieces = pieces.to_vec();
        let sender = tokio::spawn(async move {
            let mut at = 0;
            for size in pieces.iter().cycle() {
                if at == sent.len() {
                    break;
                }
                let end = (at + size.max(&1)).min(sent.len());
                writer.write_all(&sent[at..end]).await.expect("write");
                at = end;
            }
        });
        let mut reader = ReadAhead::new(reader);
        let mut got = Vec::with_capacity(data.len());
        for size in reads.iter().cycle() {
            let mut buf = vec![0u8; (*size).max(1)];
            let n = reader.read(&mut buf).await.expect("read");
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        sender.await.expect("sender");
        got
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn every_byte_comes_out_once_and_in_order(
            len in 0usize..300_000,
            pieces in proptest::collection::vec(1usize..100_000, 1..6),
            reads in proptest::collection::vec(1usize..(2 * READ_AHEAD), 1..6),
            pipe in 1usize..200_000,
        ) {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let got = runtime().block_on(through(&data, &pieces, &reads, pipe));
            prop_assert_eq!(got, data);
        }
    }

    #[test]
    fn small_reads_take_large_pieces_and_an_idle_stream_holds_no_buffer() {
        runtime().block_on(async {
            let (mut writer, reader) = tokio::io::duplex(1 << 20);
            let data: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
            writer.write_all(&data).await.expect("write");
            let mut reader = ReadAhead::new(reader);
            // A fresh stream waiting for its first bytes holds no buffer.
            let mut buf = [0u8; 4096];
            let (_silent, idle) = tokio::io::duplex(64);
            let mut idle = ReadAhead::new(idle);
            let waiting =
                tokio::time::timeout(std::time::Duration::from_millis(50), idle.read(&mut buf))
                    .await;
            assert!(waiting.is_err(), "nothing was sent, yet a read returned");
            assert_eq!(idle.buffer.capacity(), 0);
            // The first small read is direct; it filled up, so the next
            // takes a whole buffer's worth ahead in one read of the pipe.
            reader.read_exact(&mut buf).await.expect("read");
            assert_eq!(&buf[..], &data[..4096]);
            assert_eq!((reader.buffer.len(), reader.end), (READ_AHEAD, 0));
            reader.read_exact(&mut buf).await.expect("read");
            assert_eq!(&buf[..], &data[4096..8192]);
            assert_eq!(reader.end, READ_AHEAD);
            let mut rest = vec![0u8; data.len() - 8192];
            reader.read_exact(&mut rest).await.expect("rest");
            assert_eq!(rest, &data[8192..]);
            // Drained, and the next read waits: the buffer is let go.
            let waiting =
                tokio::time::timeout(std::time::Duration::from_millis(50), reader.read(&mut buf))
                    .await;
            assert!(waiting.is_err(), "nothing was sent, yet a read returned");
            assert_eq!(reader.buffer.capacity(), 0);
            // The stream still works after that, and ends.
            writer.write_all(b"late").await.expect("write");
            drop(writer);
            let mut tail = Vec::new();
            reader.read_to_end(&mut tail).await.expect("tail");
            assert_eq!(tail, b"late");
        });
    }

    #[test]
    fn writes_pass_through() {
        runtime().block_on(async {
            let (near, mut far) = tokio::io::duplex(1024);
            let mut stream = ReadAhead::new(near);
            stream.write_all(b"hello").await.expect("write");
            stream.flush().await.expect("flush");
            let mut got = [0u8; 5];
            far.read_exact(&mut got).await.expect("read");
            assert_eq!(&got, b"hello");
        });
    }
}
