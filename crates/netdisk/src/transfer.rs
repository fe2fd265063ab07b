//! `netdisk put` and `netdisk get`: which file goes where (cp/scp rules),
//! then verified transfers through the client library.

use crate::filter::Filter;
use crate::incremental::{count, filter_downloads, filter_uploads, Rule, Skipped, Verdict};
use crate::output::{Bars, Output};
use crate::remote::Session;
use crate::remote::{close, connect_as, Login};
use crate::size::human;
use crate::tree::{plan_download, plan_upload, FileJob, Plan};
use crate::{report, AlreadyReported};
use anyhow::{anyhow, bail, Context};
use netdisk_client::{ClientError, GetReport, PutReport, SmallDownload, SmallUpload};
use netdisk_proto::request::PUT_SMALL_MAX;
use netdisk_proto::time::to_epoch_secs;
use netdisk_proto::{EntryKind, ErrorCode};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// "SRC... [DST]": with one argument there is no destination.
fn split_sources(mut paths: Vec<String>) -> (Vec<String>, Option<String>) {
    if paths.len() < 2 {
        return (paths, None);
    }
    let dest = paths.pop();
    (paths, dest)
}

/// True when a remote path can only mean a directory.
fn names_remote_dir(path: &str) -> bool {
    path.ends_with('/')
        || matches!(path, "~" | "." | "..")
        || path.ends_with("/.")
        || path.ends_with("/..")
}

/// The last name of a remote path ("docs/a.txt" -> "a.txt").
fn remote_base_name(path: &str) -> Option<&str> {
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|name| !name.is_empty() && !matches!(*name, "." | ".." | "~"))
}

/// The remote file an upload of `local_name` goes to.
fn remote_target(dest: Option<&str>, dest_is_dir: bool, local_name: &str) -> String {
    match dest {
        None => local_name.to_owned(),
        Some(dir) if dest_is_dir => format!("{}/{local_name}", dir.trim_end_matches('/')),
        Some(file) => file.to_owned(),
    }
}

/// The local file a download of `remote` goes to.
fn local_target(dest: &Path, dest_is_dir: bool, remote: &str) -> anyhow::Result<PathBuf> {
    if !dest_is_dir {
        return Ok(dest.to_owned());
    }
    let name = remote_base_name(remote).ok_or_else(|| anyhow!("{remote}: not a file name"))?;
    Ok(dest.join(name))
}

/// " (1.2 MiB)", and under -v the hash too.
fn size_and_hash(output: Output, size: u64, blake3: &str) -> String {
    if output.verbose {
        format!("({}, blake3 {blake3})", human(size))
    } else {
        format!("({})", human(size))
    }
}

fn report_put(output: Output, source: &str, done: &PutReport) {
    if let Some(reason) = done.restarted.as_deref() {
        output.note(format_args!("{source}: started over: {reason}"));
    }
    output.say(format_args!(
        "uploaded {source} -> {} {}",
        done.path,
        size_and_hash(output, done.size, &done.blake3)
    ));
    output.record(serde_json::json!({
        "type": "put",
        "local": source,
        "remote": done.path,
        "size": done.size,
        "blake3": done.blake3,
        "seconds": done.elapsed.as_secs_f64(),
        "resumed_from": done.resumed_from,
        "restarted": done.restarted,
    }));
}

fn report_get(output: Output, remote: &str, local: &Path, done: &GetReport) {
    if let Some(reason) = done.restarted.as_deref() {
        output.note(format_args!("{remote}: started over: {reason}"));
    }
    output.say(format_args!(
        "downloaded {remote} -> {} {}",
        local.display(),
        size_and_hash(output, done.size, &done.blake3)
    ));
    output.record(serde_json::json!({
        "type": "get",
        "remote": remote,
        "local": local,
        "size": done.size,
        "blake3": done.blake3,
        "seconds": done.elapsed.as_secs_f64(),
        "resumed_from": done.resumed_from,
        "restarted": done.restarted,
    }));
}

fn finish(failed: bool) -> anyhow::Result<()> {
    if failed {
        Err(AlreadyReported.into())
    } else {
        Ok(())
    }
}

/// What a run did, for its summary line; shared by its workers.
#[derive(Default)]
struct Tally {
    files: AtomicUsize,
    bytes: AtomicU64,
    failed: AtomicUsize,
}

impl Tally {
    fn done(&self, bytes: u64) {
        self.files.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    fn fail(&self) {
        self.failed.fetch_add(1, Ordering::Relaxed);
    }

    fn failed(&self) -> usize {
        self.failed.load(Ordering::Relaxed)
    }
}

/// The end-of-run line of a tree or multi-file copy: files, bytes, time,
/// rate, and what was skipped, left out or failed.
fn summarize(
    output: Output,
    direction: Direction,
    tally: &Tally,
    skipped: &Skipped,
    elapsed: std::time::Duration,
) {
    let files = tally.files.load(Ordering::Relaxed);
    let bytes = tally.bytes.load(Ordering::Relaxed);
    let failed = tally.failed();
    let seconds = elapsed.as_secs_f64();
    let verb = match direction {
        Direction::Up => "uploaded",
        Direction::Down => "downloaded",
    };
    let rate = if seconds > 0.0 {
        format!(" ({}/s)", human((bytes as f64 / seconds) as u64))
    } else {
        String::new()
    };
    output.say(format_args!(
        "{verb} {files} file{} ({}) in {seconds:.1} s{rate}{}",
        plural(files),
        human(bytes),
        left_alone(skipped, failed)
    ));
    output.record(serde_json::json!({
        "type": "summary",
        "direction": verb,
        "files": files,
        "bytes": bytes,
        "seconds": seconds,
        "skipped_identical": skipped.identical,
        "skipped_existing": skipped.existing,
        "excluded": skipped.excluded,
        "failed": failed,
    }));
}

/// "; 3 identical, skipped; 1 failed": what a summary adds, nothing when
/// everything was copied.
fn left_alone(skipped: &Skipped, failed: usize) -> String {
    [
        (skipped.identical, "identical, skipped"),
        (skipped.existing, "existing, skipped"),
        (skipped.excluded, "excluded"),
        (failed, "failed"),
    ]
    .into_iter()
    .filter(|(count, _)| *count > 0)
    .map(|(count, what)| format!("; {count} {what}"))
    .collect()
}

fn plural(count: usize) -> &'static str {
    if count == 1 {
        ""
    } else {
        "s"
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Up,
    Down,
}

/// Files per session before another session is worth its login.
const FILES_PER_SESSION: usize = 16;
/// Most sessions one command uses at once.
const MAX_SESSIONS: usize = 4;

/// Copies every file, over several sessions at once when there are many
/// (so small files do not each wait for the previous one's round trips),
/// counting what was done in `tally`.
async fn run_jobs(
    first: &mut Session,
    request: &TransferRequest,
    output: Output,
    jobs: Vec<FileJob>,
    direction: Direction,
    tally: &Tally,
) {
    let total = jobs.iter().map(|f| f.size).sum();
    let bars = output.bars(jobs.len(), Some(total));
    let wanted = (jobs.len() / FILES_PER_SESSION).clamp(1, MAX_SESSIONS);
    let mut extra = Vec::new();
    for _ in 1..wanted {
        match connect_as(&request.login).await {
            Ok(mut session) => {
                session.set_preserve_mode(request.preserve);
                extra.push(session)
            }
            Err(e) => {
                bars.print(|| {
                    output.note(format_args!(
                        "netdisk: continuing with fewer connections: {e:#}"
                    ))
                });
                break;
            }
        }
    }
    let queue = Mutex::new(VecDeque::from(in_working_order(jobs)));
    first.set_preserve_mode(request.preserve);
    let shared = Shared {
        queue: &queue,
        bars: &bars,
        tally,
        output,
        resume: request.resume,
        direction,
    };
    let workers = std::iter::once(first)
        .chain(extra.iter_mut())
        .map(|session| worker(session, &shared));
    futures_util::future::join_all(workers).await;
    futures_util::future::join_all(extra.into_iter().map(close)).await;
    bars.clear();
}

struct Shared<'a> {
    queue: &'a Mutex<VecDeque<FileJob>>,
    bars: &'a Bars,
    tally: &'a Tally,
    output: Output,
    resume: bool,
    direction: Direction,
}

/// Takes files from the queue until it is empty.
async fn worker(session: &mut Session, shared: &Shared<'_>) {
    loop {
        let next = shared
            .queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop_front();
        let Some(job) = next else { return };
        if job.size <= PUT_SMALL_MAX {
            let group = take_small_group(job, shared.queue);
            match shared.direction {
                Direction::Up => put_small_group(session, group, shared).await,
                Direction::Down => get_small_group(session, group, shared).await,
            }
            continue;
        }
        let name = match shared.direction {
            Direction::Up => local_name(&job.local).unwrap_or_default(),
            Direction::Down => remote_base_name(&job.remote)
                .unwrap_or(&job.remote)
                .to_owned(),
        };
        let bar = shared.bars.file(&name, job.size);
        let output = shared.output;
        let mut first_report = true;
        // Said when the kept bytes are accepted, before the rest moves.
        let mut progress = |done: u64, size: u64| {
            if std::mem::take(&mut first_report) && done > 0 {
                shared.bars.print(|| {
                    output.note(format_args!("{name}: resuming at {done} bytes"));
                });
            }
            bar.update(done, size);
        };
        match shared.direction {
            Direction::Up => {
                let result = session
                    .put_file(&job.local, &job.remote, shared.resume, Some(&mut progress))
                    .await;
                bar.done();
                report_put_result(shared, &job, result);
            }
            Direction::Down => {
                let result = session
                    .get_file(&job.remote, &job.local, shared.resume, Some(&mut progress))
                    .await;
                bar.done();
                match result {
                    Ok(done) => {
                        shared.tally.done(done.size);
                        shared
                            .bars
                            .print(|| report_get(output, &job.remote, &job.local, &done))
                    }
                    Err(e) => {
                        shared.tally.fail();
                        shared.bars.print(|| {
                            report(&anyhow::Error::new(e).context(format!("get {}", job.remote)))
                        });
                    }
                }
            }
        }
        shared.bars.finished();
    }
}

fn report_put_result(shared: &Shared<'_>, job: &FileJob, result: Result<PutReport, ClientError>) {
    let source = job.local.display().to_string();
    match result {
        Ok(done) => {
            shared.tally.done(done.size);
            shared
                .bars
                .print(|| report_put(shared.output, &source, &done))
        }
        Err(e) => {
            shared.tally.fail();
            shared
                .bars
                .print(|| report(&anyhow::Error::new(e).context(format!("put {source}"))));
        }
    }
}

/// Most small files sent together on one session (see `put_small_group`,
/// `get_small_group`)...
const SMALL_GROUP: usize = 1024;
/// ...and most bytes, so that the sessions share a folder of photos
/// (one session for 200 photos of 1 MiB: 346 ms TLS; groups of 32 MiB:
/// 280 ms; 8 to 64 MiB alike).
const SMALL_GROUP_BYTES: u64 = 32 << 20;

/// The order the sessions take the files in: the large ones first,
/// largest first, so that no session is left with a big file at the end
/// while the others wait; then the small ones in the order they were
/// listed, together, so that they make few and full groups (each group
/// ends with a wait for its last answer) of files in few directories (the
/// server makes each directory of a batch durable once).
fn in_working_order(mut jobs: Vec<FileJob>) -> Vec<FileJob> {
    jobs.sort_by_key(|job| {
        let small = job.size <= PUT_SMALL_MAX;
        (small, std::cmp::Reverse(if small { 0 } else { job.size }))
    });
    jobs
}

/// `first` and the small files right after it in the queue, while the
/// group has room.
fn take_small_group(first: FileJob, queue: &Mutex<VecDeque<FileJob>>) -> Vec<FileJob> {
    let mut bytes = first.size;
    let mut group = vec![first];
    let mut queue = queue.lock().unwrap_or_else(|p| p.into_inner());
    while group.len() < SMALL_GROUP && bytes < SMALL_GROUP_BYTES {
        match queue.front() {
            Some(job) if job.size <= PUT_SMALL_MAX => {
                bytes += job.size;
                group.extend(queue.pop_front());
            }
            _ => break,
        }
    }
    group
}

/// Uploads small files pipelined (`put_small`): no round trip per file,
/// and the server commits them in batches. A file that grew past the
/// `put_small` limit since it was listed goes up the usual way.
async fn put_small_group(session: &mut Session, group: Vec<FileJob>, shared: &Shared<'_>) {
    let uploads: Vec<SmallUpload> = group
        .iter()
        .map(|job| SmallUpload {
            local: job.local.clone(),
            remote: job.remote.clone(),
        })
        .collect();
    let mut answered = vec![false; group.len()];
    let mut grown = Vec::new();
    let outcome = session
        .put_small_files(&uploads, |index, result| {
            answered[index] = true;
            match result {
                Err(ClientError::Local { error, .. })
                    if error.kind() == std::io::ErrorKind::FileTooLarge =>
                {
                    grown.push(index);
                    return;
                }
                Ok(ref done) => shared.bars.add_bytes(done.size),
                Err(_) => {}
            }
            report_put_result(shared, &group[index], result);
            shared.bars.finished();
        })
        .await;
    if let Err(e) = outcome {
        for (job, _) in group.iter().zip(&answered).filter(|(_, done)| !**done) {
            shared.tally.fail();
            shared.bars.print(|| {
                report(&anyhow!(
                    "put {}: not confirmed by the server: {e}",
                    job.local.display()
                ))
            });
            shared.bars.finished();
        }
        return;
    }
    for index in grown {
        let job = &group[index];
        let bar = shared
            .bars
            .file(&local_name(&job.local).unwrap_or_default(), job.size);
        let mut progress = |done: u64, size: u64| bar.update(done, size);
        let result = session
            .put_file(&job.local, &job.remote, shared.resume, Some(&mut progress))
            .await;
        bar.done();
        report_put_result(shared, job, result);
        shared.bars.finished();
    }
}

/// Downloads small files pipelined, each made durable with its batch.
async fn get_small_group(session: &mut Session, group: Vec<FileJob>, shared: &Shared<'_>) {
    let downloads: Vec<SmallDownload> = group
        .iter()
        .map(|job| SmallDownload {
            remote: job.remote.clone(),
            local: job.local.clone(),
        })
        .collect();
    let mut answered = vec![false; group.len()];
    let outcome = session
        .get_small_files(&downloads, |index, result| {
            answered[index] = true;
            let job = &group[index];
            match result {
                Ok(done) => {
                    shared.bars.add_bytes(done.size);
                    shared.tally.done(done.size);
                    shared
                        .bars
                        .print(|| report_get(shared.output, &job.remote, &job.local, &done));
                }
                Err(e) => {
                    shared.tally.fail();
                    shared.bars.print(|| {
                        report(&anyhow::Error::new(e).context(format!("get {}", job.remote)))
                    });
                }
            }
            shared.bars.finished();
        })
        .await;
    if let Err(e) = outcome {
        for (job, _) in group.iter().zip(&answered).filter(|(_, done)| !**done) {
            shared.tally.fail();
            shared
                .bars
                .print(|| report(&anyhow!("get {}: not received: {e}", job.remote)));
            shared.bars.finished();
        }
    }
}

/// What `put` and `get` were asked to do.
pub struct TransferRequest {
    pub login: Login,
    pub paths: Vec<String>,
    pub resume: bool,
    pub recursive: bool,
    pub follow_links: bool,
    pub preserve: bool,
    /// How files already at the destination are judged; `None`: copied
    /// whatever is there (named files, as cp and scp do).
    pub skip: Option<Rule>,
    pub dry_run: bool,
    pub filter: Filter,
}

/// The last name of a local path, also for "." and "..".
fn local_name(path: &Path) -> Option<String> {
    let name = match path.file_name() {
        Some(name) => name.to_owned(),
        None => std::fs::canonicalize(path).ok()?.file_name()?.to_owned(),
    };
    name.into_string().ok()
}

pub async fn put(
    client: &mut Session,
    output: Output,
    mut request: TransferRequest,
) -> anyhow::Result<()> {
    let (sources, dest) = split_sources(std::mem::take(&mut request.paths));
    if sources.iter().any(|s| s == "-") {
        if request.dry_run {
            output.say(format_args!(
                "would upload standard input -> {}",
                dest.as_deref().unwrap_or("?")
            ));
            return Ok(());
        }
        return put_stdin(client, output, &sources, dest.as_deref()).await;
    }
    let dest_is_dir = match dest.as_deref() {
        None => true,
        Some(d) if names_remote_dir(d) => true,
        Some(d) => match client.stat(d).await {
            Ok(info) => info.entry.kind == EntryKind::Dir,
            Err(e) if e.code() == Some(ErrorCode::NotFound) => false,
            Err(e) => return Err(e).context("put"),
        },
    };
    if sources.len() > 1 && !dest_is_dir {
        bail!(
            "put: {} is not a directory, and there are several sources",
            dest.unwrap_or_default()
        );
    }
    let started = Instant::now();
    let mut plan = Plan::default();
    let mut failed = false;
    for source in sources {
        let local = PathBuf::from(&source);
        let Some(name) = local_name(&local) else {
            report(&anyhow!("put: {source}: not a file name"));
            failed = true;
            continue;
        };
        let target = remote_target(dest.as_deref(), dest_is_dir, &name);
        let planned = match std::fs::metadata(&local) {
            Ok(meta) if request.filter.skips(&name, meta.is_dir()) => {
                plan.excluded += 1;
                Ok(())
            }
            Ok(meta) if meta.is_dir() && !request.recursive => {
                Err(anyhow!("{source}: is a directory (use -r to copy it)"))
            }
            Ok(meta) if meta.is_dir() => plan_upload(
                &local,
                &target,
                request.follow_links,
                &request.filter,
                output,
                &mut plan,
            ),
            Ok(meta) => {
                plan.files.push(FileJob {
                    local,
                    remote: target,
                    size: meta.len(),
                    modified: meta.modified().ok().and_then(to_epoch_secs),
                });
                Ok(())
            }
            Err(e) => Err(anyhow::Error::new(e).context(source.clone())),
        };
        if let Err(e) = planned {
            report(&e.context("put"));
            failed = true;
        }
    }
    let several = request.recursive || plan.files.len() > 1;
    let (jobs, skipped) = choose(client, &request, output, Direction::Up, &mut plan)
        .await
        .context("put")?;
    if request.dry_run {
        dry_run(output, Direction::Up, &jobs, &skipped);
        return finish(failed);
    }
    for dir in &plan.remote_dirs {
        if let Err(e) = client.mkdir(dir, true).await {
            report(&anyhow::Error::new(e).context(format!("put: mkdir {dir}")));
            failed = true;
        }
    }
    let tally = Tally::default();
    run_jobs(client, &request, output, jobs, Direction::Up, &tally).await;
    failed |= tally.failed() > 0;
    if several {
        summarize(output, Direction::Up, &tally, &skipped, started.elapsed());
    }
    if plan.unstorable > 0 {
        // The warnings scrolled past with the transfer: say it again at the end.
        report(&anyhow!(
            "put: {} local name{} skipped (see the warnings above): the server cannot store {}; rename and run again",
            plan.unstorable,
            if plan.unstorable == 1 { " was" } else { "s were" },
            if plan.unstorable == 1 { "it" } else { "them" },
        ));
        failed = true;
    }
    finish(failed)
}

/// `put - REMOTE`: standard input, spooled to a private temporary file
/// first (an upload announces its size), then uploaded like a file.
async fn put_stdin(
    client: &mut Session,
    output: Output,
    sources: &[String],
    dest: Option<&str>,
) -> anyhow::Result<()> {
    let (true, Some(dest)) = (sources.len() == 1, dest) else {
        bail!("put -: standard input goes to one remote file: put - REMOTE");
    };
    if names_remote_dir(dest) {
        bail!("put -: {dest} names a directory; name the remote file");
    }
    let spool = tokio::task::spawn_blocking(|| -> std::io::Result<tempfile::NamedTempFile> {
        let mut spool = tempfile::NamedTempFile::new()?;
        std::io::copy(&mut std::io::stdin().lock(), &mut spool)?;
        spool.as_file().sync_data()?;
        Ok(spool)
    })
    .await
    .context("put -")?
    .context("put -: spooling standard input")?;
    // The spool's own mode (0600) says nothing about the data.
    client.set_preserve_mode(false);
    let done = client
        .put_file(spool.path(), dest, false, None)
        .await
        .context("put -")?;
    report_put(output, "-", &done);
    Ok(())
}

/// `get REMOTE -` and `cat`: a remote file's bytes on standard output,
/// verified as they pass. A mismatch is found only at the end, when the
/// bytes are out: it is reported and the exit status says so.
pub async fn get_to_stdout(client: &mut Session, remote: &str) -> anyhow::Result<()> {
    let mut stdout = tokio::io::stdout();
    match client.get_to_writer(remote, &mut stdout).await {
        Ok(_) => Ok(()),
        // `netdisk cat big | head`: quiet, as cat is; the exit status says it.
        Err(ClientError::Local { error, .. }) if error.kind() == std::io::ErrorKind::BrokenPipe => {
            crate::output::mark_stdout_lost();
            Ok(())
        }
        Err(e) => Err(anyhow::Error::new(e).context(format!("get {remote}"))),
    }
}

/// The planned files the destination does not have yet (by
/// `request.skip`); the others are said under -v and counted.
async fn choose(
    client: &mut Session,
    request: &TransferRequest,
    output: Output,
    direction: Direction,
    plan: &mut Plan,
) -> anyhow::Result<(Vec<FileJob>, Skipped)> {
    let files = std::mem::take(&mut plan.files);
    let (jobs, skipped) = match (request.skip, direction) {
        (None, _) => (files, Vec::new()),
        (Some(rule), Direction::Up) => filter_uploads(client, files, rule).await?,
        (Some(rule), Direction::Down) => filter_downloads(client, files, rule).await?,
    };
    tell_skipped(output, direction, &skipped, request.dry_run);
    Ok((jobs, count(&skipped, plan.excluded)))
}

/// Under -v (or in a dry run), one line per skipped file.
fn tell_skipped(
    output: Output,
    direction: Direction,
    skipped: &[(FileJob, Verdict)],
    dry_run: bool,
) {
    if !output.verbose && !dry_run {
        return;
    }
    for (job, verdict) in skipped {
        let why = match verdict {
            Verdict::Identical => "identical",
            Verdict::Exists => "exists",
            Verdict::Copy => continue,
        };
        let (source, target) = match direction {
            Direction::Up => (job.local.display().to_string(), job.remote.clone()),
            Direction::Down => (job.remote.clone(), job.local.display().to_string()),
        };
        output.say(format_args!("skipped {source} -> {target} ({why})"));
    }
}

/// `--dry-run`: what would be copied, and the summary it would have.
fn dry_run(output: Output, direction: Direction, jobs: &[FileJob], skipped: &Skipped) {
    let verb = match direction {
        Direction::Up => "upload",
        Direction::Down => "download",
    };
    for job in jobs {
        let (source, target) = match direction {
            Direction::Up => (job.local.display().to_string(), job.remote.clone()),
            Direction::Down => (job.remote.clone(), job.local.display().to_string()),
        };
        output.say(format_args!(
            "would {verb} {source} -> {target} ({})",
            human(job.size)
        ));
        output.record(serde_json::json!({
            "type": "would_".to_owned() + verb,
            "source": source,
            "target": target,
            "size": job.size,
        }));
    }
    let bytes: u64 = jobs.iter().map(|j| j.size).sum();
    output.say(format_args!(
        "dry run: would {verb} {} file{} ({}){}",
        jobs.len(),
        plural(jobs.len()),
        human(bytes),
        left_alone(skipped, 0)
    ));
}

pub async fn get(
    client: &mut Session,
    output: Output,
    mut request: TransferRequest,
) -> anyhow::Result<()> {
    let (sources, dest) = split_sources(std::mem::take(&mut request.paths));
    if dest.as_deref() == Some("-") {
        let mut failed = false;
        for remote in &sources {
            if let Err(e) = get_to_stdout(client, remote).await {
                report(&e);
                failed = true;
            }
        }
        return finish(failed);
    }
    let dest_path = PathBuf::from(dest.as_deref().unwrap_or("."));
    let dest_is_dir = dest_path.is_dir();
    if dest.as_deref().is_some_and(|d| d.ends_with('/')) && !dest_is_dir {
        bail!("get: {}: no such local directory", dest_path.display());
    }
    if sources.len() > 1 && !dest_is_dir {
        bail!(
            "get: {} is not a directory, and there are several sources",
            dest_path.display()
        );
    }
    let started = Instant::now();
    let mut plan = Plan::default();
    let mut failed = false;
    for remote in sources {
        let planned = match client.stat(&remote).await {
            Ok(info)
                if request
                    .filter
                    .skips(&info.entry.name, info.entry.kind == EntryKind::Dir) =>
            {
                plan.excluded += 1;
                Ok(())
            }
            Ok(info) if info.entry.kind == EntryKind::Dir => {
                if !request.recursive {
                    Err(anyhow!("{remote}: is a directory (use -r to copy it)"))
                } else {
                    let local_root = match remote_base_name(&info.path) {
                        _ if !dest_is_dir => dest_path.clone(),
                        Some(name) => dest_path.join(name),
                        None => dest_path.join("home"),
                    };
                    plan_download(
                        client,
                        &remote,
                        &local_root,
                        &request.filter,
                        output,
                        &mut plan,
                    )
                    .await
                }
            }
            Ok(info) => local_target(&dest_path, dest_is_dir, &remote).map(|local| {
                plan.files.push(FileJob {
                    local,
                    remote: remote.clone(),
                    size: info.entry.size,
                    modified: info.entry.modified,
                })
            }),
            Err(e) => Err(anyhow::Error::new(e)),
        };
        if let Err(e) = planned {
            report(&e.context(format!("get {remote}")));
            failed = true;
        }
    }
    let several = request.recursive || plan.files.len() > 1;
    let (jobs, skipped) = choose(client, &request, output, Direction::Down, &mut plan)
        .await
        .context("get")?;
    if request.dry_run {
        dry_run(output, Direction::Down, &jobs, &skipped);
        return finish(failed);
    }
    for dir in &plan.local_dirs {
        if let Err(e) = std::fs::create_dir_all(dir) {
            report(&anyhow::Error::new(e).context(format!("get: mkdir {}", dir.display())));
            failed = true;
        }
    }
    let tally = Tally::default();
    run_jobs(client, &request, output, jobs, Direction::Down, &tally).await;
    failed |= tally.failed() > 0;
    if several {
        summarize(output, Direction::Down, &tally, &skipped, started.elapsed());
    }
    finish(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn last_argument_is_the_destination_only_when_there_are_several() {
        assert_eq!(split_sources(strings(&["a"])), (strings(&["a"]), None));
        assert_eq!(
            split_sources(strings(&["a", "b"])),
            (strings(&["a"]), Some("b".into()))
        );
        assert_eq!(
            split_sources(strings(&["a", "b", "c"])),
            (strings(&["a", "b"]), Some("c".into()))
        );
    }

    #[test]
    fn remote_targets_follow_cp_rules() {
        assert_eq!(remote_target(None, true, "x.txt"), "x.txt");
        assert_eq!(remote_target(Some("docs"), true, "x.txt"), "docs/x.txt");
        assert_eq!(remote_target(Some("docs/"), true, "x.txt"), "docs/x.txt");
        assert_eq!(remote_target(Some("~"), true, "x.txt"), "~/x.txt");
        assert_eq!(remote_target(Some("new.txt"), false, "x.txt"), "new.txt");
        assert!(names_remote_dir("~") && names_remote_dir("a/") && names_remote_dir(".."));
        assert!(!names_remote_dir("a") && !names_remote_dir("~x"));
    }

    #[test]
    fn local_targets_take_the_remote_name() {
        let dir = Path::new("/tmp/in");
        assert_eq!(
            local_target(dir, true, "docs/a.txt").unwrap(),
            dir.join("a.txt")
        );
        assert_eq!(
            local_target(dir, true, "docs/sub/").unwrap(),
            dir.join("sub")
        );
        assert_eq!(
            local_target(Path::new("out.bin"), false, "a.txt").unwrap(),
            PathBuf::from("out.bin")
        );
        assert!(local_target(dir, true, "~").is_err());
        assert!(local_target(dir, true, "docs/..").is_err());
    }

    fn job(name: &str, size: u64) -> FileJob {
        FileJob {
            local: PathBuf::from(name),
            remote: name.into(),
            size,
            modified: None,
        }
    }

    fn names(jobs: &[FileJob]) -> Vec<&str> {
        jobs.iter().map(|job| job.remote.as_str()).collect()
    }

    #[test]
    fn large_files_go_first_largest_first_then_the_small_ones_as_listed() {
        let big = PUT_SMALL_MAX + 1;
        let jobs = vec![
            job("s1", 10),
            job("b1", big),
            job("s2", PUT_SMALL_MAX),
            job("b2", 3 * big),
            job("s3", 0),
            job("b3", 2 * big),
        ];
        assert_eq!(
            names(&in_working_order(jobs)),
            ["b2", "b3", "b1", "s1", "s2", "s3"]
        );
    }

    #[test]
    fn a_small_group_stops_at_its_bytes_at_its_count_and_at_a_large_file() {
        let photos = (0..100).map(|n| job(&format!("p{n}"), PUT_SMALL_MAX));
        let queue = Mutex::new(photos.collect::<VecDeque<_>>());
        let first = job("first", PUT_SMALL_MAX);
        let group = take_small_group(first, &queue);
        assert_eq!(group.len() as u64, SMALL_GROUP_BYTES / PUT_SMALL_MAX);
        assert_eq!(queue.lock().unwrap().len(), 100 + 1 - group.len());

        let tiny = (0..2 * SMALL_GROUP).map(|n| job(&format!("t{n}"), 1));
        let queue = Mutex::new(tiny.collect::<VecDeque<_>>());
        assert_eq!(take_small_group(job("first", 1), &queue).len(), SMALL_GROUP);

        let queue = Mutex::new(VecDeque::from([
            job("a", 1),
            job("big", PUT_SMALL_MAX + 1),
            job("b", 1),
        ]));
        assert_eq!(
            names(&take_small_group(job("first", 1), &queue)),
            ["first", "a"]
        );
        assert_eq!(names(&Vec::from(queue.into_inner().unwrap())), ["big", "b"]);
    }
}
