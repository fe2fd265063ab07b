//! Closing a connection without losing what was last sent to the peer.
//!
//! A socket closed with unread input is reset, and a reset can destroy
//! what the peer has not read yet: the farewell that says why, or the last
//! answers to a client that pipelines. So the closing side shuts down its
//! sending half, then reads and drops what the peer still sends until the
//! peer closes too or goes quiet, for a bounded time.

use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The longest a closing connection reads and drops what the peer sends.
pub const LINGER: Duration = Duration::from_secs(1);
/// A peer silent this long is taken to have sent everything.
pub const LINGER_QUIET: Duration = Duration::from_millis(50);

/// Shuts down our sending side, then drains the peer's input (see the
/// module). Errors only end the draining early: the connection is being
/// dropped either way.
pub async fn close_lingering<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S) {
    let _ = stream.shutdown().await;
    // On the heap: an array here would sit in every connection's task for
    // its whole life (a future is as large as its largest state).
    let mut scrap = vec![0u8; 16 * 1024];
    let drain = async {
        while let Ok(Ok(read)) = tokio::time::timeout(LINGER_QUIET, stream.read(&mut scrap)).await {
            if read == 0 {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, drain).await;
}
