//! The raw-TCP limit: the same bytes read from a file, sent through a plain
//! loopback TCP socket in 256 KiB pieces and written to a file, then
//! fsync'd; no protocol, no hashing. netdisk is measured against this.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

const BUFFER: usize = 256 * 1024;

/// Seconds to move `source` into `target` through loopback TCP, durably.
pub fn file_to_file(source: &Path, target: &Path) -> anyhow::Result<Duration> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let target = target.to_owned();
    let receiver = std::thread::spawn(move || -> anyhow::Result<()> {
        let (mut socket, _) = listener.accept()?;
        let mut file = std::fs::File::create(&target)?;
        let mut buffer = vec![0u8; BUFFER];
        loop {
            let n = socket.read(&mut buffer)?;
            if n == 0 {
                break;
            }
            file.write_all(&buffer[..n])?;
        }
        file.sync_all()?;
        Ok(())
    });
    let started = Instant::now();
    let mut socket = TcpStream::connect(addr)?;
    let mut file = std::fs::File::open(source)?;
    let mut buffer = vec![0u8; BUFFER];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        socket.write_all(&buffer[..n])?;
    }
    drop(socket);
    receiver
        .join()
        .map_err(|_| anyhow::anyhow!("the receiving thread panicked"))??;
    Ok(started.elapsed())
}
