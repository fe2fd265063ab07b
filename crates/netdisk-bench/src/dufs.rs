//! dufs (a file server many people script with curl) beside netdisk's
//! HTTP API in scenario 8: the reference issue #19 measures against, run
//! in the same rounds on the same machine state. Optional: the scenario
//! runs without it when it is not installed (`cargo install dufs`).

use crate::http::HttpTarget;
use crate::http_client::Auth;
use crate::server::ServerProcess;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const USER: &str = "bench";
const PASSWORD: &str = "bench-password";
/// Lines dufs may print before it says it listens.
const MAX_BANNER_LINES: usize = 50;

pub struct Dufs {
    child: Child,
    target: HttpTarget,
}

/// `NETDISK_BENCH_DUFS`, else `dufs` on the PATH.
fn program() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("NETDISK_BENCH_DUFS") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("dufs"))
        .find(|candidate| candidate.is_file())
}

impl Dufs {
    /// Starts dufs on loopback serving a fresh directory under `scratch`,
    /// with uploads and deletes allowed for one user, over TLS with
    /// netdisk's certificate when `server` is on TLS; `None` when dufs is
    /// not installed.
    pub fn start(
        server: &ServerProcess,
        netdisk_root: &Path,
        scratch: &Path,
    ) -> anyhow::Result<Option<Dufs>> {
        let Some(program) = program() else {
            return Ok(None);
        };
        let served = scratch.join("dufs-root");
        std::fs::create_dir_all(&served)?;
        // dufs takes a port, not a listener: ask the kernel for a free one.
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut command = Command::new(&program);
        command
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--allow-upload", "--allow-delete"])
            .args(["--auth", &format!("{USER}:{PASSWORD}@/:rw")]);
        let tls = !server.is_plaintext();
        let mut ca = None;
        if tls {
            let dir = netdisk_root.join("tls");
            command
                .arg("--tls-cert")
                .arg(dir.join("cert.pem"))
                .arg("--tls-key")
                .arg(dir.join("key.pem"));
            ca = Some(dir.join("cert.pem"));
        }
        let mut child = command
            .arg(&served)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| anyhow::anyhow!("{}: {e}", program.display()))?;
        // It says "Listening on:" once its socket is bound.
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("dufs: no stdout"))?;
        let mut lines = BufReader::new(stdout).lines();
        let listening = lines
            .by_ref()
            .take(MAX_BANNER_LINES)
            .map_while(Result::ok)
            .any(|line| line.contains("Listening"));
        let scheme = if tls { "https" } else { "http" };
        let mut dufs = Dufs {
            child,
            target: HttpTarget {
                name: "8 dufs",
                files: format!("{scheme}://127.0.0.1:{port}"),
                ca,
                auth: Auth::Basic {
                    user: USER.to_owned(),
                    password: PASSWORD.to_owned(),
                },
            },
        };
        anyhow::ensure!(listening, "dufs did not start: {:?}", dufs.child.try_wait());
        // Keep reading what it prints, so a full pipe never stalls it.
        std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
        Ok(Some(dufs))
    }

    pub fn target(&self) -> &HttpTarget {
        &self.target
    }
}

impl Drop for Dufs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
