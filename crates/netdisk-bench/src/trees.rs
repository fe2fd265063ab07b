//! Scenario 7 (issue #18): folders as people upload them, by the real
//! `netdisk put -r` / `get -r` processes (process start, handshake and
//! login included), beside the floors measured in the same run: a local
//! `cp -r` + `sync` of the same tree, and an rsync daemon on loopback
//! (when `rsync` is installed) pushing and pulling it, with and without a
//! `sync` afterwards (rsync does not make what it wrote durable; netdisk
//! does before it reports a file).

use crate::report::Figure;
use crate::scenarios::{median, NetdiskCli};
use crate::server::{ServerProcess, REALISTIC_USER};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One tree to move: its files (path relative to the root, size).
pub struct Tree {
    pub name: &'static str,
    pub files: Vec<(PathBuf, u64)>,
}

impl Tree {
    /// `count` files of `size` bytes in one directory: a folder of photos,
    /// or of small documents.
    pub fn flat(name: &'static str, count: usize, size: u64) -> Tree {
        Tree {
            name,
            files: (0..count)
                .map(|n| (PathBuf::from(format!("IMG_{n:04}.jpg")), size))
                .collect(),
        }
    }

    /// `count` files over three directory levels, sizes drawn as in a
    /// photo library: a few empty files, many small ones (notes,
    /// thumbnails, sidecars), most between 100 KiB and 8 MiB (photos,
    /// music), log-uniformly. Deterministic.
    pub fn mixed(name: &'static str, count: usize) -> Tree {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let files = (0..count)
            .map(|n| {
                let roll = next() % 100;
                let size = match roll {
                    0..=2 => 0,
                    // 1 KiB .. 100 KiB, and 100 KiB .. 8 MiB, log-uniform.
                    3..=29 => log_uniform(next(), 1 << 10, 100 << 10),
                    _ => log_uniform(next(), 100 << 10, 8 << 20),
                };
                let (a, b) = (n % 4, (n / 4) % 5);
                let path = PathBuf::from(format!(
                    "{}/album-{a}/day-{b}/file-{n:04}.dat",
                    2020 + n % 3
                ));
                (path, size)
            })
            .collect();
        Tree { name, files }
    }

    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|(_, size)| size).sum()
    }

    /// Writes the tree under `root`, with non-repeating bytes, and makes it durable.
    pub fn write(&self, root: &Path) -> anyhow::Result<()> {
        for (path, size) in &self.files {
            let path = root.join(path);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            crate::scenarios::make_file(&path, *size)?;
        }
        crate::scenarios::settle(root)?;
        Ok(())
    }
}

fn log_uniform(random: u64, low: u64, high: u64) -> u64 {
    let unit = (random >> 11) as f64 / (1u64 << 53) as f64;
    let (low, high) = (low as f64, high as f64);
    (low * (high / low).powf(unit)) as u64
}

/// The ways of moving a tree that a round times.
#[derive(Debug, Clone, Copy)]
enum Way {
    Netdisk,
    /// `cp -r` + `sync`: the file system's floor.
    LocalCopy,
    Rsync,
}

const WAYS: [Way; 3] = [Way::Netdisk, Way::LocalCopy, Way::Rsync];

/// What one direction of one round took, each way of moving the tree.
#[derive(Default)]
struct Round {
    netdisk: Spent,
    floor: Spent,
    rsync: Option<Spent>,
    rsync_sync: Option<Spent>,
}

/// The wall time of a way, and the whole machine's busy CPU time over it
/// (both processes, the kernel's writeback): what each way costs, and
/// whether a slow round waited or worked.
#[derive(Default, Clone, Copy)]
struct Spent {
    wall: Duration,
    cpu: Option<Duration>,
}

impl std::ops::Add for Spent {
    type Output = Spent;

    fn add(self, other: Spent) -> Spent {
        Spent {
            wall: self.wall + other.wall,
            cpu: self.cpu.zip(other.cpu).map(|(a, b)| a + b),
        }
    }
}

/// The CPU time all cores have spent busy since boot (user, nice,
/// system, interrupts) from `/proc/stat`; `None` where it cannot be read.
fn busy_cpu() -> Option<Duration> {
    // /proc/stat counts in USER_HZ, which is 100 wherever Linux exports it.
    const TICK: Duration = Duration::from_millis(10);
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    Some(TICK * u32::try_from(busy_ticks(&stat)?).ok()?)
}

/// The busy ticks of the all-cores line of a `/proc/stat` text.
fn busy_ticks(stat: &str) -> Option<u64> {
    let line = stat.lines().find(|line| line.starts_with("cpu "))?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|field| field.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq ...
    [0, 1, 2, 5, 6]
        .iter()
        .map(|&field| ticks.get(field).copied())
        .sum()
}

/// Runs `command`, failing with what it printed unless it succeeds.
fn run(command: &mut Command) -> anyhow::Result<()> {
    let output = command.stdin(Stdio::null()).output()?;
    anyhow::ensure!(
        output.status.success(),
        "{command:?} failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

fn timed(command: &mut Command) -> anyhow::Result<Spent> {
    let (busy, started) = (busy_cpu(), Instant::now());
    run(command)?;
    let wall = started.elapsed();
    let cpu = busy
        .zip(busy_cpu())
        .map(|(before, after)| after.saturating_sub(before));
    Ok(Spent { wall, cpu })
}

fn sync() -> anyhow::Result<Spent> {
    timed(&mut Command::new("sync"))
}

/// Scenario 7 for one tree in one mode: `rounds` rounds of upload then
/// download, each beside its floors.
pub fn tree_transfers(
    server: &ServerProcess,
    mode: &str,
    tree: &Tree,
    rounds: usize,
    scratch: &Path,
) -> anyhow::Result<Vec<Figure>> {
    let Some(cli) = NetdiskCli::find(server, scratch)? else {
        eprintln!("7 trees: skipped, no netdisk binary (cargo build --release -p netdisk)");
        return Ok(Vec::new());
    };
    // As someone would use it: a login saved once, then commands.
    cli.saved_login(REALISTIC_USER, true)?;
    let netdisk = || cli.command(REALISTIC_USER, false);
    let work = scratch.join(format!("tree-{}-{mode}", tree.name));
    let source = work.join("source");
    tree.write(&source)?;
    let rsync = RsyncDaemon::start(&work)?;
    let (mut ups, mut downs) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let remote = format!("{}-{round}", tree.name);
        let back = work.join(format!("back-{round}"));
        let copy = work.join("copy");
        let mut up = Round::default();
        let mut down = Round::default();
        // Each way leaves deleted files and freed memory behind, which
        // slow the next one on this VM (ext4's inode allocator reads past
        // recently deleted inodes; memory handed back to the host faults
        // in again), so the ways take turns at going first.
        let order: Vec<Way> = (0..WAYS.len())
            .map(|k| WAYS[(round + k) % WAYS.len()])
            .collect();
        for way in &order {
            match way {
                Way::Netdisk => {
                    sync()?;
                    up.netdisk = timed(netdisk()?.arg("put").arg("-r").arg(&source).arg(&remote))?;
                    sync()?;
                    down.netdisk = timed(netdisk()?.arg("get").arg("-r").arg(&remote).arg(&back))?;
                    run(netdisk()?.arg("rm").arg("-r").arg(&remote))?;
                    std::fs::remove_dir_all(&back)?;
                }
                Way::LocalCopy => {
                    sync()?;
                    up.floor =
                        timed(Command::new("cp").arg("-r").arg(&source).arg(&copy))? + sync()?;
                    // A local copy's "download" is the same copy back.
                    down.floor =
                        timed(Command::new("cp").arg("-r").arg(&copy).arg(&back))? + sync()?;
                    std::fs::remove_dir_all(&copy)?;
                    std::fs::remove_dir_all(&back)?;
                }
                Way::Rsync => {
                    let Some(daemon) = &rsync else { continue };
                    sync()?;
                    let pushed = timed(&mut daemon.push(&source, &remote))?;
                    up.rsync = Some(pushed);
                    up.rsync_sync = Some(pushed + sync()?);
                    let pulled = timed(&mut daemon.pull(&remote, &back))?;
                    down.rsync = Some(pulled);
                    down.rsync_sync = Some(pulled + sync()?);
                    std::fs::remove_dir_all(daemon.module.join(&remote))?;
                    std::fs::remove_dir_all(&back)?;
                }
            }
        }
        eprintln!(
            "7 {} [{mode}] round {round} ({order:?}), wall (busy CPU) in ms: up netdisk {}, cp+sync {}, rsync {}, rsync+sync {}; down netdisk {}, rsync {}",
            tree.name,
            up.netdisk,
            up.floor,
            shown(up.rsync),
            shown(up.rsync_sync),
            down.netdisk,
            shown(down.rsync),
        );
        ups.push(up);
        downs.push(down);
    }
    std::fs::remove_dir_all(&work)?;
    cli.saved_login(REALISTIC_USER, false)?;
    let mut figures = figures_for(tree, mode, "upload", &ups);
    figures.extend(figures_for(tree, mode, "download", &downs));
    Ok(figures)
}

impl std::fmt::Display for Spent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.wall.as_millis())?;
        match self.cpu {
            Some(cpu) => write!(f, " ({})", cpu.as_millis()),
            None => Ok(()),
        }
    }
}

/// A way that may not have run (no rsync installed).
fn shown(spent: Option<Spent>) -> String {
    spent.map_or_else(|| "-".into(), |spent| spent.to_string())
}

/// The medians of a direction's rounds: netdisk in files/s with its ratio
/// to rsync with a sync (the target's reference), and the floors as rows
/// of their own.
fn figures_for(tree: &Tree, mode: &str, direction: &str, rounds: &[Round]) -> Vec<Figure> {
    let files = tree.files.len() as f64;
    let rate = |d: Duration| files / d.as_secs_f64();
    let median_of = |pick: &dyn Fn(&Round) -> Option<Spent>| -> Option<f64> {
        let values: Vec<f64> = rounds
            .iter()
            .filter_map(pick)
            .map(|s| rate(s.wall))
            .collect();
        (!values.is_empty()).then(|| median(&values))
    };
    let cpu_of = |pick: &dyn Fn(&Round) -> Option<Spent>| -> String {
        let values: Vec<f64> = rounds
            .iter()
            .filter_map(|round| pick(round)?.cpu)
            .map(|cpu| cpu.as_secs_f64() * 1000.0)
            .collect();
        if values.is_empty() {
            "-".into()
        } else {
            format!("{:.0} ms", median(&values))
        }
    };
    let what = format!(
        "7 {} ({} files, {:.0} MB) {direction}",
        tree.name,
        tree.files.len(),
        tree.bytes() as f64 / 1e6
    );
    let note = format!("median of {} rounds", rounds.len());
    let netdisk = median_of(&|r| Some(r.netdisk)).unwrap_or(0.0);
    let floor = median_of(&|r| Some(r.floor)).unwrap_or(0.0);
    let rsync = median_of(&|r| r.rsync);
    let rsync_sync = median_of(&|r| r.rsync_sync);
    let mut figure = Figure::new(&what, mode, netdisk, "files/s");
    figure.ratio = rsync_sync.map(|reference| netdisk / reference);
    let mut figures = vec![figure.note(&format!(
        "{note}; ratio: to rsync + sync; {:.2}x the cp -r + sync floor; busy CPU (median): netdisk {}, cp -r + sync {}, rsync + sync {}",
        netdisk / floor,
        cpu_of(&|r| Some(r.netdisk)),
        cpu_of(&|r| Some(r.floor)),
        cpu_of(&|r| r.rsync_sync),
    ))];
    figures.push(Figure::new(&what, &format!("cp+sync/{mode}"), floor, "files/s").note(&note));
    if let (Some(rsync), Some(rsync_sync)) = (rsync, rsync_sync) {
        figures.push(Figure::new(&what, &format!("rsync/{mode}"), rsync, "files/s").note(&note));
        figures.push(
            Figure::new(&what, &format!("rsync+sync/{mode}"), rsync_sync, "files/s").note(&note),
        );
    }
    figures
}

/// An rsync daemon on loopback serving one writable module, for as long
/// as this lives; `None` when rsync is not installed.
struct RsyncDaemon {
    child: Child,
    port: u16,
    module: PathBuf,
}

impl RsyncDaemon {
    fn start(work: &Path) -> anyhow::Result<Option<RsyncDaemon>> {
        if Command::new("rsync").arg("--version").output().is_err() {
            eprintln!("7 trees: no rsync installed, its figures are skipped");
            return Ok(None);
        }
        let module = work.join("rsync-module");
        std::fs::create_dir_all(&module)?;
        let config = work.join("rsyncd.conf");
        std::fs::write(
            &config,
            format!(
                "use chroot = no\nuid = root\ngid = root\n[bench]\npath = {}\nread only = false\n",
                module.display()
            ),
        )?;
        // A free port: bind one, let it go, give it to rsync. Bounded retries
        // cover the rare case of another process taking it meanwhile.
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port();
            let child = Command::new("rsync")
                .arg("--daemon")
                .arg("--no-detach")
                .arg(format!("--config={}", config.display()))
                .arg("--address=127.0.0.1")
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?;
            let mut daemon = RsyncDaemon {
                child,
                port,
                module: module.clone(),
            };
            if daemon.wait_listening() {
                return Ok(Some(daemon));
            }
            let _ = daemon.child.kill();
        }
        anyhow::bail!("the rsync daemon did not start")
    }

    /// Waits (bounded: 5 s) until the daemon accepts connections.
    fn wait_listening(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return false;
            }
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    fn url(&self, path: &str) -> String {
        format!("rsync://127.0.0.1:{}/bench/{path}", self.port)
    }

    /// `rsync -r --whole-file` of the tree into the module (as the issue measured).
    fn push(&self, source: &Path, remote: &str) -> Command {
        let mut command = Command::new("rsync");
        command
            .arg("-r")
            .arg("--whole-file")
            .arg(format!("{}/", source.display()))
            .arg(self.url(&format!("{remote}/")));
        command
    }

    fn pull(&self, remote: &str, local: &Path) -> Command {
        let mut command = Command::new("rsync");
        command
            .arg("-r")
            .arg("--whole-file")
            .arg(self.url(&format!("{remote}/")))
            .arg(format!("{}/", local.display()));
        command
    }
}

impl Drop for RsyncDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_ticks_count_user_nice_system_and_interrupts_of_all_cores() {
        let stat = "cpu  100 20 30 4000 50 6 7 8 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n";
        assert_eq!(busy_ticks(stat), Some(100 + 20 + 30 + 6 + 7));
        assert_eq!(busy_ticks("cpu0 1 2 3 4 5 6 7\n"), None);
        assert_eq!(busy_ticks("cpu  1 2 x 4 5 6 7\n"), None);
        assert_eq!(busy_ticks("cpu  1 2 3\n"), None);
    }
}
