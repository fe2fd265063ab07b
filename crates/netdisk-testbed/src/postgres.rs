use crate::ports::free_port;
use crate::process::{find_program, run, tail, Server};
use crate::TestbedError;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const READY_LIMIT: Duration = Duration::from_secs(60);
const READY_LINE: &str = "database system is ready to accept connections";
/// The superuser `initdb` makes; connections need no password (trust on
/// loopback and the socket: a throw-away server in a private directory).
const USER: &str = "netdisk";

/// A throw-away PostgreSQL server on 127.0.0.1, its cluster in a
/// temporary directory. fsync is off: the tests kill netdisk servers and
/// Garage nodes, never PostgreSQL, and a test run should not wait on its
/// disk.
pub struct Postgres {
    server: Server,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Postgres {
    /// Makes a cluster (`initdb`) and starts `postgres` on a free port.
    pub fn start() -> Result<Postgres, TestbedError> {
        let bin_dir = binaries()?;
        let dir = tempfile::Builder::new()
            .prefix("netdisk-pg-")
            .tempdir()
            .map_err(TestbedError::io("temporary directory"))?;
        let data = dir.path().join("data");
        let sockets = dir.path().join("sockets");
        let log = dir.path().join("postgres.log");
        for made in [&data, &sockets] {
            std::fs::create_dir(made)
                .map_err(TestbedError::io(format!("mkdir {}", made.display())))?;
        }
        let run_as = RunAs::for_postgres(&[dir.path(), &data, &sockets])?;
        run(run_as
            .command(&bin_dir.join("initdb"))
            .args([
                "--no-sync",
                "--no-instructions",
                "-E",
                "UTF8",
                "-A",
                "trust",
                "-U",
                USER,
                "-D",
            ])
            .arg(&data))?;
        let port = free_port()?;
        let mut server = Server::spawn(
            run_as
                .command(&bin_dir.join("postgres"))
                .arg("-D")
                .arg(&data)
                .arg("-k")
                .arg(&sockets)
                .args(["-p", &port.to_string()])
                .args(["-c", "listen_addresses=127.0.0.1"])
                .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
                .args(["-c", "full_page_writes=off", "-c", "max_connections=300"]),
            &log,
        )?;
        let deadline = Instant::now() + READY_LIMIT;
        loop {
            if std::fs::read_to_string(&log).is_ok_and(|text| text.contains(READY_LINE)) {
                break;
            }
            if !server.running() || Instant::now() > deadline {
                return Err(TestbedError::NotReady {
                    what: format!("PostgreSQL on 127.0.0.1:{port}"),
                    seconds: READY_LIMIT.as_secs(),
                    tail: tail(&log),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Postgres {
            server,
            port,
            log,
            _dir: dir,
        })
    }

    /// A libpq-style connection string for the database `postgres`.
    pub fn connection_string(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user={USER} dbname=postgres",
            self.port
        )
    }

    /// The same as a URL (`postgres://...`), as `netdisk serve --store` takes it.
    pub fn url(&self) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/postgres", self.port)
    }

    /// What the server logged so far, for a failing test's message.
    pub fn log_tail(&self) -> String {
        tail(&self.log)
    }
}

impl Drop for Postgres {
    /// An immediate shutdown (SIGQUIT): the server's backends go with it,
    /// where SIGKILL would leave them behind for a moment.
    fn drop(&mut self) {
        self.server.stop("QUIT", Duration::from_secs(10));
    }
}

/// PostgreSQL's programs: on PATH, or the newest version's directory
/// under Debian's /usr/lib/postgresql.
fn binaries() -> Result<PathBuf, TestbedError> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .collect();
    // Newest first: "15" before "13" (numeric, so "9" after "10").
    versions.sort_by_key(|dir| {
        let version = dir
            .parent()
            .and_then(|version| version.file_name())
            .and_then(|name| name.to_str())
            .and_then(|name| name.parse::<u32>().ok());
        std::cmp::Reverse(version)
    });
    let hint = "apt-get install postgresql";
    let postgres = find_program("postgres", &versions, hint)?;
    let dir = postgres.parent().map(Path::to_path_buf).unwrap_or_default();
    find_program("initdb", std::slice::from_ref(&dir), hint)?;
    Ok(dir)
}

/// PostgreSQL refuses to run as root: as root, its programs run as the
/// `postgres` user (made by Debian's package), which gets the directories.
enum RunAs {
    Me,
    Postgres,
}

impl RunAs {
    fn for_postgres(dirs: &[&Path]) -> Result<RunAs, TestbedError> {
        if run(Command::new("id").arg("-u"))?.trim() != "0" {
            return Ok(RunAs::Me);
        }
        let ids = |flag| -> Result<u32, TestbedError> {
            let text = run(Command::new("id").args([flag, "postgres"]))?;
            text.trim().parse().map_err(|_| TestbedError::Output {
                command: format!("id {flag} postgres"),
                output: text,
            })
        };
        let (uid, gid) = (ids("-u")?, ids("-g")?);
        for dir in dirs {
            std::os::unix::fs::chown(dir, Some(uid), Some(gid))
                .map_err(TestbedError::io(format!("chown {}", dir.display())))?;
        }
        Ok(RunAs::Postgres)
    }

    fn command(&self, program: &Path) -> Command {
        match self {
            RunAs::Me => Command::new(program),
            // setpriv execs the program (runuser would fork and wait, and
            // killing it would leave the server running).
            RunAs::Postgres => {
                let mut command = Command::new("setpriv");
                command
                    .args([
                        "--reuid=postgres",
                        "--regid=postgres",
                        "--init-groups",
                        "--",
                    ])
                    .arg(program);
                command
            }
        }
    }
}
