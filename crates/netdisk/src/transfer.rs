//! `netdisk put` and `netdisk get`: which file goes where (cp/scp rules),
//! then verified transfers through the client library.

use crate::output::Output;
use crate::remote::Session;
use crate::{report, AlreadyReported};
use anyhow::{anyhow, bail, Context};
use netdisk_client::{GetReport, PutReport};
use netdisk_proto::{EntryKind, ErrorCode};
use std::path::{Path, PathBuf};

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

fn report_put(output: Output, source: &str, done: &PutReport) {
    tell_resume(output, source, done.resumed_from, done.restarted.as_deref());
    output.say(format_args!(
        "uploaded {source} -> {} ({} bytes, blake3 {})",
        done.path, done.size, done.blake3
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
    tell_resume(output, remote, done.resumed_from, done.restarted.as_deref());
    output.say(format_args!(
        "downloaded {remote} -> {} ({} bytes, blake3 {})",
        local.display(),
        done.size,
        done.blake3
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

/// Says on stderr when a transfer continued, or why it could not.
fn tell_resume(output: Output, what: &str, resumed_from: u64, restarted: Option<&str>) {
    if resumed_from > 0 {
        output.note(format_args!("{what}: resuming at {resumed_from} bytes"));
    }
    if let Some(reason) = restarted {
        output.note(format_args!("{what}: restarting from zero: {reason}"));
    }
}

fn finish(failed: bool) -> anyhow::Result<()> {
    if failed {
        Err(AlreadyReported.into())
    } else {
        Ok(())
    }
}

pub async fn put(
    client: &mut Session,
    output: Output,
    paths: Vec<String>,
    resume: bool,
) -> anyhow::Result<()> {
    let (sources, dest) = split_sources(paths);
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
            "put: {} is not a directory, and there are several files to upload",
            dest.unwrap_or_default()
        );
    }
    let total: u64 = sources
        .iter()
        .filter_map(|s| std::fs::metadata(s).ok())
        .map(|m| m.len())
        .sum();
    let mut bars = output.bars(sources.len(), Some(total));
    let mut failed = false;
    for source in sources {
        let local = PathBuf::from(&source);
        let name = match local.file_name().and_then(|n| n.to_str()) {
            Some(name) if !local.is_dir() => name.to_owned(),
            Some(_) => {
                report(&anyhow!(
                    "put: {source}: is a directory (copying directories is not supported yet)"
                ));
                failed = true;
                continue;
            }
            None => {
                report(&anyhow!("put: {source}: not a file name"));
                failed = true;
                continue;
            }
        };
        let target = remote_target(dest.as_deref(), dest_is_dir, &name);
        let bar = bars.file(&name);
        let mut progress = |done: u64, size: u64| bar.update(done, size);
        let result = client
            .put_file(&local, &target, resume, Some(&mut progress))
            .await;
        bar.done();
        match result {
            Ok(done) => {
                bars.finished(done.size);
                bars.print(|| report_put(output, &source, &done));
            }
            Err(e) => {
                bars.finished(std::fs::metadata(&local).map(|m| m.len()).unwrap_or(0));
                bars.print(|| report(&anyhow::Error::new(e).context(format!("put {source}"))));
                failed = true;
            }
        }
    }
    bars.clear();
    finish(failed)
}

pub async fn get(
    client: &mut Session,
    output: Output,
    paths: Vec<String>,
    resume: bool,
) -> anyhow::Result<()> {
    let (sources, dest) = split_sources(paths);
    let dest_path = PathBuf::from(dest.as_deref().unwrap_or("."));
    let dest_is_dir = dest_path.is_dir();
    if dest.as_deref().is_some_and(|d| d.ends_with('/')) && !dest_is_dir {
        bail!("get: {}: no such local directory", dest_path.display());
    }
    if sources.len() > 1 && !dest_is_dir {
        bail!(
            "get: {} is not a directory, and there are several files to download",
            dest_path.display()
        );
    }
    let mut bars = output.bars(sources.len(), None);
    let mut failed = false;
    for remote in sources {
        let outcome = match local_target(&dest_path, dest_is_dir, &remote) {
            Ok(local) => {
                let bar = bars.file(remote_base_name(&remote).unwrap_or(&remote));
                let mut progress = |done: u64, size: u64| bar.update(done, size);
                let result = client
                    .get_file(&remote, &local, resume, Some(&mut progress))
                    .await;
                bar.done();
                result.map(|done| (local, done)).map_err(anyhow::Error::new)
            }
            Err(e) => Err(e),
        };
        bars.finished(0);
        match outcome {
            Ok((local, done)) => bars.print(|| report_get(output, &remote, &local, &done)),
            Err(e) => {
                bars.print(|| report(&e.context(format!("get {remote}"))));
                failed = true;
            }
        }
    }
    bars.clear();
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
}
