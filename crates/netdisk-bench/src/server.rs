//! The server under test runs in a child process (this binary, `serve`
//! subcommand), so its memory can be read from /proc without the clients'.

use crate::cluster::Cluster;
use netdisk_client::{ServerTrust, Transport};
use netdisk_cluster::ClusterBackend;
use netdisk_http::{HttpConfig, HttpGateway};
use netdisk_proto::Fingerprint;
use netdisk_server::{AuditDestination, Server, ServerConfig};
use netdisk_store::DataDir;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Logs in cheaply (4,096 iterations): for scenarios that log in a lot.
pub const USER: &str = "bench";
/// Logs in at the default cost (100,000 iterations), as real users do.
pub const REALISTIC_USER: &str = "realistic";
pub const PASSWORD: &str = "bench-password";
/// The bench users and their verifiers' iteration counts.
pub const BENCH_USERS: [(&str, u32); 2] = [
    (USER, netdisk_proto::scram::MIN_ITERATIONS),
    (REALISTIC_USER, netdisk_proto::scram::DEFAULT_ITERATIONS),
];

/// The child side: serve `root` until stdin closes; with `shared` (a
/// catalog URL and a bucket URL), on the scale-out back-end, where the
/// HTTP gateway does not run yet.
pub async fn serve(
    root: &Path,
    plaintext: bool,
    shared: Option<(&str, &str)>,
) -> anyhow::Result<()> {
    raise_fd_limit();
    let config = ServerConfig {
        root: root.to_owned(),
        listen: "127.0.0.1:0".into(),
        transport: if plaintext {
            netdisk_server::Transport::Plaintext
        } else {
            netdisk_server::Transport::Tls
        },
        max_connections: 50_000,
        max_connections_per_ip: 50_000,
        // The audit log is part of the server's work; keep it on, in the data directory.
        audit: AuditDestination::default(),
        ..ServerConfig::default()
    };
    let backing = match shared {
        Some((store, objects)) => Some(ClusterBackend::connect(store, objects, 16).await?),
        None => None,
    };
    let server = Server::bind_on(config, backing).await?;
    // The HTTP gateway too, as `netdisk serve --http` runs it.
    let http = match shared {
        Some(_) => None,
        None => Some(
            HttpGateway::bind(
                server.store(),
                server.tls(),
                HttpConfig {
                    listen: "127.0.0.1:0".into(),
                    max_connections: 50_000,
                    max_connections_per_ip: 50_000,
                    ..HttpConfig::default()
                },
            )
            .await?,
        ),
    };
    let fingerprint = server
        .fingerprint()
        .map(|f| f.to_string())
        .unwrap_or_else(|| "-".into());
    let http_addr = match &http {
        Some(http) => http.local_addr()?.to_string(),
        None => "-".into(),
    };
    println!("{} {fingerprint} {http_addr}", server.local_addr()?);
    let stop = tokio_util::sync::CancellationToken::new();
    let stopper = stop.clone();
    tokio::spawn(async move {
        // The parent closes our stdin to stop us.
        let _ = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
        })
        .await;
        stopper.cancel();
    });
    match http {
        Some(http) => {
            let (served, ()) = tokio::join!(
                server.run(stop.clone().cancelled_owned()),
                http.run(stop.cancelled_owned())
            );
            served?;
        }
        None => server.run(stop.cancelled_owned()).await?,
    }
    Ok(())
}

/// The parent side: a running server process and how to reach it.
pub struct ServerProcess {
    child: Child,
    pub addr: String,
    pub transport: Transport,
    /// The HTTP gateway's address.
    pub http_addr: String,
}

impl ServerProcess {
    /// Creates the data directory with the two bench users and starts the
    /// server; on `cluster`'s catalog and bucket (its users are there)
    /// when given.
    pub fn start(
        root: &Path,
        plaintext: bool,
        cluster: Option<&Cluster>,
    ) -> anyhow::Result<ServerProcess> {
        let data = DataDir::open(root)?;
        // On a cluster the users are in its catalog already.
        let local_users = match cluster {
            Some(_) => &[][..],
            None => &BENCH_USERS[..],
        };
        for &(user, iterations) in local_users {
            let users = data.users()?.with_iterations(iterations);
            if users.credentials(user)?.is_none() {
                users.add(user, PASSWORD, None)?;
            }
            data.create_home(user)?;
        }
        let mut command = Command::new(std::env::current_exe()?);
        command.arg("serve").arg("--root").arg(root);
        if let Some(cluster) = cluster {
            command.args(cluster.serve_args()).envs(cluster.keys());
        }
        if plaintext {
            command.arg("--plaintext");
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let mut fields = line.split_whitespace();
        let addr = fields
            .next()
            .ok_or_else(|| anyhow::anyhow!("the server printed no address"))?
            .to_owned();
        let transport = match fields.next() {
            Some("-") | None => Transport::Plaintext,
            Some(fingerprint) => {
                let fingerprint: Fingerprint = fingerprint.parse()?;
                Transport::Tls(ServerTrust::Fingerprint(fingerprint))
            }
        };
        let http_addr = fields
            .next()
            .ok_or_else(|| anyhow::anyhow!("the server printed no HTTP address"))?
            .to_owned();
        Ok(ServerProcess {
            child,
            addr,
            transport,
            http_addr,
        })
    }

    pub fn is_plaintext(&self) -> bool {
        matches!(self.transport, Transport::Plaintext)
    }

    /// The HTTP API's base URL ("https://127.0.0.1:PORT/api/v1").
    pub fn http_url(&self) -> String {
        let scheme = if self.is_plaintext() { "http" } else { "https" };
        format!("{scheme}://{}/api/v1", self.http_addr)
    }

    /// CPU time the server process has used so far (user + system, all
    /// its threads, those ended too), in seconds.
    pub fn cpu_seconds(&self) -> anyhow::Result<f64> {
        // /proc counts in USER_HZ ticks, which Linux fixes at 100 for
        // every program on every architecture it runs this bench on.
        const USER_HZ: f64 = 100.0;
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))?;
        // Fields after the command name, which is in parentheses and may
        // hold spaces: state is the 1st, utime the 12th, stime the 13th.
        let after_name = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest)
            .ok_or_else(|| anyhow::anyhow!("unreadable /proc/PID/stat"))?;
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let ticks = |i: usize| -> anyhow::Result<f64> {
            Ok(fields
                .get(i)
                .ok_or_else(|| anyhow::anyhow!("short /proc/PID/stat"))?
                .parse::<u64>()? as f64)
        };
        Ok((ticks(11)? + ticks(12)?) / USER_HZ)
    }

    /// Resident memory of the server process, in bytes.
    pub fn rss(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| anyhow::anyhow!("no VmRSS in /proc/PID/status"))?;
        Ok(kib * 1024)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // Closing stdin asks for a graceful stop; kill if it takes too long.
        drop(self.child.stdin.take());
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Thousands of connections need more descriptors than the usual soft limit.
pub fn raise_fd_limit() {
    if let Ok((_, hard)) = rlimit::Resource::NOFILE.get() {
        let _ = rlimit::Resource::NOFILE.set(hard, hard);
    }
}
