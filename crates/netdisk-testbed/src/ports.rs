use crate::TestbedError;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// A port free on 127.0.0.1 now. Servers that take a port number, not a
/// listening socket, need one; another process may take it before the
/// server binds, which the caller sees as a server that never comes up.
pub(crate) fn free_port() -> Result<u16, TestbedError> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(TestbedError::io("bind 127.0.0.1:0"))?;
    let port = listener
        .local_addr()
        .map_err(TestbedError::io("local address"))?
        .port();
    Ok(port)
}

/// Waits until `addr` accepts a TCP connection, at most `limit`.
pub(crate) fn wait_listening(addr: SocketAddr, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}
