//! The scenarios of issue #6, each returning its figures. Clients run in
//! this process; the server is a child process (see `server.rs`).

use crate::report::Figure;
use crate::server::{ServerProcess, PASSWORD, REALISTIC_USER, USER};
use netdisk_client::{Client, NetStream, SmallDownload, SmallUpload};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Sizes {
    pub big_file: u64,
    pub small_files: usize,
    pub concurrent_clients: usize,
    pub concurrent_size: u64,
    pub ls_clients: usize,
    pub ls_requests: usize,
    pub idle_connections: usize,
    pub login_seconds: f64,
    pub photo_files: usize,
    pub mixed_files: usize,
}

const MB: f64 = 1_000_000.0;

pub async fn login_as(server: &ServerProcess, user: &str) -> anyhow::Result<Client<NetStream>> {
    let mut client = Client::connect(&server.addr, &server.transport).await?;
    client.login(user, PASSWORD).await?;
    Ok(client)
}

pub async fn login(server: &ServerProcess) -> anyhow::Result<Client<NetStream>> {
    login_as(server, USER).await
}

/// Writes `size` bytes of non-repeating data (so nothing compresses or dedups).
pub fn make_file(path: &Path, size: u64) -> anyhow::Result<()> {
    use std::io::Write;
    let mut file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut block = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        for chunk in block.chunks_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let bytes = state.to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        let n = left.min(block.len() as u64) as usize;
        file.write_all(&block[..n])?;
        left -= n as u64;
    }
    file.flush()?;
    Ok(())
}

/// Writes back everything the setup wrote, so its writeback does not run
/// during a measurement.
pub fn settle(path: &Path) -> anyhow::Result<()> {
    netdisk_fileio::sync_filesystem(std::fs::File::open(path)?)?;
    Ok(())
}

/// One round of scenario 1: MB/s each way, the raw-TCP baseline of the
/// same round, and the server's CPU seconds per GiB each way.
pub struct BigFileRun {
    pub up: f64,
    pub down: f64,
    pub reference: f64,
    pub up_cpu: f64,
    pub down_cpu: f64,
}

/// Scenario 1: one big file up and down; MB/s each way, and what each
/// direction cost the server in CPU.
pub async fn big_file(
    server: &ServerProcess,
    source: &Path,
    size: u64,
    scratch: &Path,
    reference: f64,
) -> anyhow::Result<BigFileRun> {
    let mut client = login(server).await?;
    let gib = size as f64 / f64::from(1u32 << 30);
    let (cpu, started) = (server.cpu_seconds()?, Instant::now());
    client.put_file(source, "big.bin", false, None).await?;
    let up = size as f64 / started.elapsed().as_secs_f64() / MB;
    let up_cpu = (server.cpu_seconds()? - cpu) / gib;
    let target = scratch.join("big.back");
    let (cpu, started) = (server.cpu_seconds()?, Instant::now());
    client.get_file("big.bin", &target, false, None).await?;
    let down = size as f64 / started.elapsed().as_secs_f64() / MB;
    let down_cpu = (server.cpu_seconds()? - cpu) / gib;
    std::fs::remove_file(&target)?;
    client.rm("big.bin").await?;
    Ok(BigFileRun {
        up,
        down,
        reference,
        up_cpu,
        down_cpu,
    })
}

/// The medians of scenario 1's rounds: each ratio is taken within its
/// round (against that round's baseline), then the median.
pub fn big_file_figures(mode: &str, runs: &[BigFileRun]) -> Vec<Figure> {
    let note = format!(
        "median of {} rounds, each against its own baseline",
        runs.len()
    );
    let speed = |name: &str, pick: fn(&BigFileRun) -> f64| {
        let values: Vec<f64> = runs.iter().map(pick).collect();
        let ratios: Vec<f64> = runs.iter().map(|run| pick(run) / run.reference).collect();
        let mut figure = Figure::new(name, mode, median(&values), "MB/s").note(&note);
        figure.ratio = Some(median(&ratios));
        figure
    };
    let cpu = |name: &str, pick: fn(&BigFileRun) -> f64| {
        let values: Vec<f64> = runs.iter().map(pick).collect();
        Figure::new(name, mode, median(&values), "CPU s/GiB").note(&format!(
            "server process, user + system, median of {} rounds",
            runs.len()
        ))
    };
    vec![
        speed("1 big file upload", |run| run.up),
        speed("1 big file download", |run| run.down),
        cpu("1 big file upload: server CPU", |run| run.up_cpu),
        cpu("1 big file download: server CPU", |run| run.down_cpu),
    ]
}

/// The middle value (the mean of the two middle ones for an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Runs `work` for every item on `sessions` connections sharing one queue,
/// as `netdisk put -r` does.
async fn on_sessions<T, F, Fut>(
    server: &ServerProcess,
    sessions: usize,
    items: Vec<T>,
    work: F,
) -> anyhow::Result<()>
where
    T: Send + 'static,
    F: Fn(Client<NetStream>, T) -> Fut + Send + Sync + Copy + 'static,
    Fut: std::future::Future<Output = anyhow::Result<Client<NetStream>>> + Send,
{
    let queue = Arc::new(Mutex::new(items));
    let mut tasks = Vec::new();
    for _ in 0..sessions {
        let mut client = login(server).await?;
        let queue = queue.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let next = queue.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.pop();
                match next {
                    Some(item) => client = work(client, item).await?,
                    None => return Ok::<(), anyhow::Error>(()),
                }
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(())
}

/// Scenario 2: many small files as one directory, up and down, on four
/// sessions as the CLI does.
pub async fn small_files(
    server: &ServerProcess,
    mode: &str,
    count: usize,
    scratch: &Path,
) -> anyhow::Result<Vec<Figure>> {
    let local = scratch.join(format!("small-{mode}"));
    std::fs::create_dir_all(&local)?;
    let mut names = Vec::new();
    for n in 0..count {
        let name = format!("f{n:05}.bin");
        make_file(&local.join(&name), 4096)?;
        names.push(name);
    }
    settle(&local)?;
    login(server).await?.mkdir("small", false).await?;
    // As `netdisk put -r` sends them: groups of 1,024 pipelined on a session.
    let uploads: Vec<SmallUpload> = names
        .iter()
        .map(|n| SmallUpload {
            local: local.join(n),
            remote: format!("small/{n}"),
        })
        .collect();
    let groups: Vec<Vec<SmallUpload>> = uploads.chunks(1024).map(<[_]>::to_vec).collect();
    let started = Instant::now();
    on_sessions(server, 4, groups, |mut client, group| async move {
        let mut failure = None;
        client
            .put_small_files(&group, |_, result| {
                if let Err(e) = result {
                    failure.get_or_insert(e);
                }
            })
            .await?;
        match failure {
            Some(e) => Err(e.into()),
            None => Ok(client),
        }
    })
    .await?;
    let up = count as f64 / started.elapsed().as_secs_f64();
    let back = scratch.join(format!("small-back-{mode}"));
    std::fs::create_dir_all(&back)?;
    let downloads: Vec<SmallDownload> = names
        .iter()
        .map(|n| SmallDownload {
            remote: format!("small/{n}"),
            local: back.join(n),
        })
        .collect();
    let groups: Vec<Vec<SmallDownload>> = downloads.chunks(1024).map(<[_]>::to_vec).collect();
    let started = Instant::now();
    on_sessions(server, 4, groups, |mut client, group| async move {
        let mut failure = None;
        client
            .get_small_files(&group, |_, result| {
                if let Err(e) = result {
                    failure.get_or_insert(e);
                }
            })
            .await?;
        match failure {
            Some(e) => Err(e.into()),
            None => Ok(client),
        }
    })
    .await?;
    let down = count as f64 / started.elapsed().as_secs_f64();
    login(server).await?.rm_tree("small").await?;
    std::fs::remove_dir_all(&local)?;
    std::fs::remove_dir_all(&back)?;
    Ok(vec![
        Figure::new("2 small files upload", mode, up, "files/s"),
        Figure::new("2 small files download", mode, down, "files/s"),
    ])
}

/// Scenario 3: many clients uploading at once.
pub async fn concurrent_uploads(
    server: &ServerProcess,
    mode: &str,
    sizes: &Sizes,
    scratch: &Path,
    single_stream: Option<f64>,
) -> anyhow::Result<Vec<Figure>> {
    let source = scratch.join("concurrent.bin");
    make_file(&source, sizes.concurrent_size)?;
    let mut clients = Vec::new();
    for _ in 0..sizes.concurrent_clients {
        clients.push(login(server).await?);
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (n, mut client) in clients.into_iter().enumerate() {
        let source = source.clone();
        tasks.push(tokio::spawn(async move {
            client
                .put_file(&source, &format!("c{n}.bin"), false, None)
                .await
                .map(|_| ())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let total = sizes.concurrent_size as f64 * sizes.concurrent_clients as f64;
    let aggregate = total / started.elapsed().as_secs_f64() / MB;
    let mut cleanup = login(server).await?;
    for n in 0..sizes.concurrent_clients {
        cleanup.rm(&format!("c{n}.bin")).await?;
    }
    std::fs::remove_file(&source)?;
    let mut figure = Figure::new("3 concurrent uploads, aggregate", mode, aggregate, "MB/s");
    if let Some(single) = single_stream {
        figure = figure
            .ratio_to(single)
            .note("ratio: to the single-stream upload");
    }
    Ok(vec![figure])
}

/// Scenario 4: `ls` round trips with many clients asking at once.
pub async fn ls_latency(
    server: &ServerProcess,
    mode: &str,
    sizes: &Sizes,
) -> anyhow::Result<Vec<Figure>> {
    let mut clients = Vec::new();
    for _ in 0..sizes.ls_clients {
        clients.push(login(server).await?);
    }
    let start = Arc::new(tokio::sync::Barrier::new(sizes.ls_clients));
    let requests = sizes.ls_requests;
    let mut tasks = Vec::new();
    for mut client in clients {
        let start = start.clone();
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            let mut latencies = Vec::with_capacity(requests);
            for _ in 0..requests {
                let asked = Instant::now();
                client.ls(None).await?;
                latencies.push(asked.elapsed());
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await??);
    }
    all.sort();
    let at = |q: f64| all[((all.len() - 1) as f64 * q) as usize].as_secs_f64() * 1000.0;
    Ok(vec![
        Figure::new("4 ls latency p50", mode, at(0.50), "ms"),
        Figure::new("4 ls latency p99", mode, at(0.99), "ms"),
    ])
}

/// Scenario 5: server memory per idle, logged-in connection.
pub async fn idle_memory(
    server: &ServerProcess,
    mode: &str,
    count: usize,
) -> anyhow::Result<Vec<Figure>> {
    // A few connections first, so one-time allocations are not counted.
    let mut warm = Vec::new();
    for _ in 0..8 {
        warm.push(login(server).await?);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = server.rss()?;
    let mut clients = Vec::with_capacity(count);
    for _ in 0..count {
        clients.push(login(server).await?);
    }
    // Let the server finish its side of the last logins.
    for client in clients.iter_mut().take(8) {
        client.pwd().await?;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = server.rss()?;
    let per = after.saturating_sub(before) as f64 / count as f64 / 1024.0;
    drop(clients);
    Ok(vec![Figure::new(
        "5 idle connection memory",
        mode,
        per,
        "KiB/conn",
    )
    .note(&format!(
        "{count} connections, RSS {} -> {} MiB",
        before >> 20,
        after >> 20
    ))])
}

/// Scenario 6: logins per second (the verifier's cost is deliberate), and
/// the whole cost of a one-shot command: connect, handshake, log in, put 1 byte.
pub async fn logins(
    server: &ServerProcess,
    mode: &str,
    seconds: f64,
    scratch: &Path,
) -> anyhow::Result<Vec<Figure>> {
    let mut figures = Vec::new();
    for (user, what) in [
        (REALISTIC_USER, "6 logins, default 100,000 iterations"),
        (USER, "6 logins, 4,096 iterations"),
    ] {
        let started = Instant::now();
        let mut count = 0u32;
        while started.elapsed().as_secs_f64() < seconds || count == 0 {
            login_as(server, user).await?;
            count += 1;
        }
        figures.push(Figure::new(
            what,
            mode,
            f64::from(count) / started.elapsed().as_secs_f64(),
            "logins/s",
        ));
    }
    let one = scratch.join("one-byte");
    std::fs::write(&one, b"x")?;
    let mut times = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        let mut client = login_as(server, REALISTIC_USER).await?;
        client.put_file(&one, "one-byte", false, None).await?;
        drop(client);
        times.push(started.elapsed());
    }
    times.sort();
    figures.push(
        Figure::new(
            "6 one-shot put of 1 byte (median)",
            mode,
            times[times.len() / 2].as_secs_f64() * 1000.0,
            "ms",
        )
        .note("in-process: connect, handshake, login (100,000 iterations), put; no process start"),
    );
    figures.extend(one_shot_processes(server, mode, &one, scratch)?);
    Ok(figures)
}

/// The `netdisk` binary beside this one, as a command aimed at the bench
/// server: its config (known hosts, saved logins) in the scratch
/// directory. `None` when it is not built (`cargo build --release -p netdisk`).
pub struct NetdiskCli {
    binary: PathBuf,
    server: String,
    transport: netdisk_client::Transport,
    config: PathBuf,
}

impl NetdiskCli {
    pub fn find(server: &ServerProcess, scratch: &Path) -> anyhow::Result<Option<NetdiskCli>> {
        let binary = std::env::current_exe()?.with_file_name("netdisk");
        if !binary.exists() {
            return Ok(None);
        }
        Ok(Some(NetdiskCli {
            binary,
            server: server.addr.clone(),
            transport: server.transport.clone(),
            config: scratch.to_owned(),
        }))
    }

    /// A quiet command as `user`, with the password in the environment or
    /// (`password` false) relying on a login saved by `netdisk login`.
    pub fn command(&self, user: &str, password: bool) -> anyhow::Result<std::process::Command> {
        let mut command = std::process::Command::new(&self.binary);
        command
            .env("NETDISK_SERVER", &self.server)
            .env("NETDISK_USER", user)
            .env("XDG_CONFIG_HOME", &self.config)
            .env_remove("NETDISK_PASSWORD")
            .arg("-q");
        if password {
            command.env("NETDISK_PASSWORD", PASSWORD);
        }
        match &self.transport {
            netdisk_client::Transport::Plaintext => {
                command.arg("--plaintext");
            }
            netdisk_client::Transport::Tls(netdisk_client::ServerTrust::Fingerprint(f)) => {
                command.env("NETDISK_FINGERPRINT", f.to_string());
            }
            netdisk_client::Transport::Tls(_) => anyhow::bail!("bench servers are pinned"),
        }
        Ok(command)
    }

    /// Runs `netdisk login` (or `logout`) for `user`.
    pub fn saved_login(&self, user: &str, keep: bool) -> anyhow::Result<()> {
        let verb = if keep { "login" } else { "logout" };
        let status = self.command(user, keep)?.arg(verb).status()?;
        anyhow::ensure!(status.success(), "netdisk {verb} failed: {status}");
        Ok(())
    }
}

/// The whole one-shot command: a new `netdisk put` process per upload of
/// one byte (process start, TLS handshake, login, put, exit), for both
/// bench users, and with a login saved by `netdisk login` (no PBKDF2 on
/// the client). Needs the `netdisk` binary beside this one; skipped with
/// a notice otherwise.
fn one_shot_processes(
    server: &ServerProcess,
    mode: &str,
    one: &Path,
    scratch: &Path,
) -> anyhow::Result<Vec<Figure>> {
    let Some(cli) = NetdiskCli::find(server, scratch)? else {
        eprintln!(
            "6 one-shot process: skipped, no netdisk binary (cargo build --release -p netdisk)"
        );
        return Ok(Vec::new());
    };
    cli.saved_login(REALISTIC_USER, true)?;
    let mut figures = Vec::new();
    for (user, password, what) in [
        (
            REALISTIC_USER,
            true,
            "6 one-shot `netdisk put` process, 100,000 iterations",
        ),
        (
            USER,
            true,
            "6 one-shot `netdisk put` process, 4,096 iterations",
        ),
        (
            REALISTIC_USER,
            false,
            "6 one-shot `netdisk put` process, saved login",
        ),
    ] {
        let mut times = Vec::new();
        for _ in 0..20 {
            let mut put = cli.command(user, password)?;
            put.arg("put").arg(one).arg("one-byte-process");
            let started = Instant::now();
            let status = put.status()?;
            times.push(started.elapsed());
            anyhow::ensure!(status.success(), "netdisk put failed: {status}");
        }
        times.sort();
        figures.push(
            Figure::new(
                what,
                mode,
                times[times.len() / 2].as_secs_f64() * 1000.0,
                "ms",
            )
            .note("median of 20 runs: process start, handshake, login, put, exit"),
        );
    }
    cli.saved_login(REALISTIC_USER, false)?;
    Ok(figures)
}
