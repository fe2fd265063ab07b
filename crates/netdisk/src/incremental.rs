//! Re-runs that copy only what changed: before a transfer, each file is
//! compared with what is at its destination, and identical ones are left
//! alone (rsync's "quick check": same size and modification time, or with
//! --checksum the same BLAKE3; --ignore-existing skips whatever exists).

use crate::remote::Session;
use crate::tree::{split_remote, FileJob};
use anyhow::Context;
use netdisk_proto::time::to_epoch_secs;
use netdisk_proto::{Entry, EntryKind, ErrorCode};
use std::collections::HashMap;
use std::path::Path;

/// How a file at the destination is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Same size and modification time (seconds).
    SizeAndTime,
    /// Same size and BLAKE3.
    Checksum,
    /// Anything there counts.
    Existing,
}

/// What a run left alone, for its summary.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Skipped {
    pub identical: usize,
    pub existing: usize,
    /// Left out by --exclude.
    pub excluded: usize,
}

/// What is at a destination, as far as the rule needs it.
struct Found {
    size: u64,
    modified: Option<i64>,
}

/// Why a file is skipped, if it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Copy,
    Identical,
    Exists,
}

/// The quick check, before any hashing.
fn quick(rule: Rule, source: &FileJob, found: Option<&Found>) -> Verdict {
    match (rule, found) {
        (_, None) => Verdict::Copy,
        (Rule::Existing, Some(_)) => Verdict::Exists,
        (_, Some(found)) if found.size != source.size => Verdict::Copy,
        (Rule::SizeAndTime, Some(found))
            if source.modified.is_some() && found.modified == source.modified =>
        {
            Verdict::Identical
        }
        // Same size: only the hashes can tell.
        (Rule::Checksum, Some(_)) => Verdict::Identical,
        (Rule::SizeAndTime, Some(_)) => Verdict::Copy,
    }
}

/// The BLAKE3 of a local file, read off the async threads.
async fn local_blake3(path: &Path) -> anyhow::Result<String> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut hasher = blake3::Hasher::new();
        hasher
            .update_reader(std::fs::File::open(&path)?)
            .map(|h| h.finalize().to_hex().to_string())
    })
    .await
    .context("hashing worker")?
    .context("hashing")
}

/// Same hash on both sides?
async fn same_content(client: &mut Session, job: &FileJob) -> anyhow::Result<bool> {
    let remote = client
        .stat_with_hash(&job.remote)
        .await
        .with_context(|| format!("stat {}", job.remote))?;
    let local = local_blake3(&job.local)
        .await
        .with_context(|| job.local.display().to_string())?;
    Ok(remote.blake3.as_deref() == Some(local.as_str()))
}

/// Splits `jobs` into those to copy and the verdicts of those skipped:
/// uploads, compared with the remote listing of each target directory
/// (one `ls` per directory; a missing one holds nothing).
pub async fn filter_uploads(
    client: &mut Session,
    jobs: Vec<FileJob>,
    rule: Rule,
) -> anyhow::Result<(Vec<FileJob>, Vec<(FileJob, Verdict)>)> {
    let mut listings: HashMap<String, HashMap<String, Entry>> = HashMap::new();
    let mut keep = Vec::new();
    let mut skipped = Vec::new();
    for job in jobs {
        let (dir, name) = split_remote(&job.remote);
        if !listings.contains_key(dir) {
            let entries = match client.ls(Some(dir)).await {
                Ok(listing) => listing.entries,
                Err(e) if matches!(e.code(), Some(ErrorCode::NotFound)) => Vec::new(),
                Err(e) => return Err(anyhow::Error::new(e).context(format!("ls {dir}"))),
            };
            let by_name = entries.into_iter().map(|e| (e.name.clone(), e)).collect();
            listings.insert(dir.to_owned(), by_name);
        }
        let found = listings
            .get(dir)
            .and_then(|entries| entries.get(name))
            .filter(|e| e.kind == EntryKind::File || rule == Rule::Existing)
            .map(|e| Found {
                size: e.size,
                modified: e.modified,
            });
        let verdict = decide(client, rule, &job, found.as_ref()).await?;
        match verdict {
            Verdict::Copy => keep.push(job),
            other => skipped.push((job, other)),
        }
    }
    Ok((keep, skipped))
}

/// As `filter_uploads`, for downloads: compared with the local files.
pub async fn filter_downloads(
    client: &mut Session,
    jobs: Vec<FileJob>,
    rule: Rule,
) -> anyhow::Result<(Vec<FileJob>, Vec<(FileJob, Verdict)>)> {
    let mut keep = Vec::new();
    let mut skipped = Vec::new();
    for job in jobs {
        let found = std::fs::metadata(&job.local)
            .ok()
            .filter(|m| m.is_file() || rule == Rule::Existing)
            .map(|m| Found {
                size: m.len(),
                modified: m.modified().ok().and_then(to_epoch_secs),
            });
        match decide(client, rule, &job, found.as_ref()).await? {
            Verdict::Copy => keep.push(job),
            other => skipped.push((job, other)),
        }
    }
    Ok((keep, skipped))
}

async fn decide(
    client: &mut Session,
    rule: Rule,
    job: &FileJob,
    found: Option<&Found>,
) -> anyhow::Result<Verdict> {
    let verdict = quick(rule, job, found);
    if rule == Rule::Checksum && verdict == Verdict::Identical && !same_content(client, job).await?
    {
        return Ok(Verdict::Copy);
    }
    Ok(verdict)
}

/// Counts verdicts for the summary.
pub fn count(skipped: &[(FileJob, Verdict)], excluded: usize) -> Skipped {
    Skipped {
        identical: skipped
            .iter()
            .filter(|(_, v)| *v == Verdict::Identical)
            .count(),
        existing: skipped
            .iter()
            .filter(|(_, v)| *v == Verdict::Exists)
            .count(),
        excluded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(size: u64, modified: Option<i64>) -> FileJob {
        FileJob {
            local: "a".into(),
            remote: "a".into(),
            size,
            modified,
        }
    }

    #[test]
    fn the_quick_check_wants_the_same_size_and_time() {
        let there = Found {
            size: 10,
            modified: Some(100),
        };
        assert_eq!(
            quick(Rule::SizeAndTime, &job(10, Some(100)), Some(&there)),
            Verdict::Identical
        );
        assert_eq!(
            quick(Rule::SizeAndTime, &job(10, Some(101)), Some(&there)),
            Verdict::Copy
        );
        assert_eq!(
            quick(Rule::SizeAndTime, &job(11, Some(100)), Some(&there)),
            Verdict::Copy
        );
        assert_eq!(
            quick(Rule::SizeAndTime, &job(10, None), Some(&there)),
            Verdict::Copy
        );
        assert_eq!(
            quick(Rule::SizeAndTime, &job(10, Some(100)), None),
            Verdict::Copy
        );
        assert_eq!(
            quick(Rule::Existing, &job(1, None), Some(&there)),
            Verdict::Exists
        );
        assert_eq!(
            quick(Rule::Checksum, &job(10, Some(5)), Some(&there)),
            Verdict::Identical,
            "then hashed"
        );
        assert_eq!(
            quick(Rule::Checksum, &job(9, Some(100)), Some(&there)),
            Verdict::Copy
        );
    }
}
