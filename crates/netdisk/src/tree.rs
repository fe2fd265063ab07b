//! Planning whole-directory copies: which directories to create and which
//! files go where, walked before anything moves (so progress knows the
//! total, and a tree is created top-down).

use crate::filter::Filter;
use crate::output::Output;
use crate::remote::Session;
use anyhow::Context;
use netdisk_proto::time::to_epoch_secs;
use netdisk_proto::{EntryKind, HomePath};
use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// One file to copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileJob {
    pub local: PathBuf,
    pub remote: String,
    /// The source's size and modification time, when planned.
    pub size: u64,
    pub modified: Option<i64>,
}

/// Directories to create (parents first), then files to copy.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub remote_dirs: Vec<String>,
    pub local_dirs: Vec<PathBuf>,
    pub files: Vec<FileJob>,
    /// Local names the server cannot store (each said in a warning); a
    /// directory among them counts once, with all it holds.
    pub unstorable: usize,
    /// Files and directories left out by --exclude (a directory once).
    pub excluded: usize,
}

/// `dir/name` below a copied directory ("" is the directory itself).
fn join_relative(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

/// "a" + "b" -> "a/b", keeping "~" and "." readable.
pub fn join_remote(dir: &str, name: &str) -> String {
    match dir {
        "" | "." => name.to_owned(),
        _ => format!("{}/{name}", dir.trim_end_matches('/')),
    }
}

/// "dir/name" -> ("dir", "name"): a bare name is in ".", "/name" in "/".
pub fn split_remote(path: &str) -> (&str, &str) {
    match path.rsplit_once('/') {
        Some(("", name)) => ("/", name),
        Some((dir, name)) => (dir, name),
        None => (".", path),
    }
}

/// Walks a local directory into `plan`, mapping it to `remote_root`.
/// Symlinks are skipped with a warning unless `follow_links`; a link
/// cycle is never entered twice.
pub fn plan_upload(
    local_root: &Path,
    remote_root: &str,
    follow_links: bool,
    filter: &Filter,
    output: Output,
    plan: &mut Plan,
) -> anyhow::Result<()> {
    let mut seen = HashSet::new();
    let mut pending = vec![(
        local_root.to_path_buf(),
        remote_root.to_owned(),
        String::new(),
    )];
    while let Some((local, remote, relative)) = pending.pop() {
        let meta = std::fs::metadata(&local).with_context(|| local.display().to_string())?;
        if !seen.insert((meta.dev(), meta.ino())) {
            output.note(format_args!(
                "netdisk: skipping {}: directory already copied (link cycle)",
                local.display()
            ));
            continue;
        }
        plan.remote_dirs.push(remote.clone());
        let mut entries: Vec<_> = std::fs::read_dir(&local)
            .with_context(|| local.display().to_string())?
            .collect::<Result<_, _>>()
            .with_context(|| local.display().to_string())?;
        entries.sort_by_key(|e| e.file_name());
        let mut subdirs = Vec::new();
        for entry in entries {
            let path = entry.path();
            // A name the server would refuse is skipped here, with all it
            // holds, so the rest of the tree still goes up.
            let name = match storable_name(entry.file_name()) {
                Ok(name) => name,
                Err(why) => {
                    // Escaped: the name may hold a newline or a terminal escape.
                    output.note(format_args!(
                        "netdisk: skipping {}: {why}; the server cannot store that name",
                        path.display().to_string().escape_debug()
                    ));
                    plan.unstorable += 1;
                    continue;
                }
            };
            let kind = entry
                .file_type()
                .with_context(|| path.display().to_string())?;
            let meta = if kind.is_symlink() {
                if !follow_links {
                    output.note(format_args!(
                        "netdisk: skipping symlink {} (use --follow-links to copy what it points to)",
                        path.display()
                    ));
                    continue;
                }
                match std::fs::metadata(&path) {
                    Ok(meta) => meta,
                    Err(e) => {
                        output.note(format_args!(
                            "netdisk: skipping broken symlink {}: {e}",
                            path.display()
                        ));
                        continue;
                    }
                }
            } else {
                entry
                    .metadata()
                    .with_context(|| path.display().to_string())?
            };
            let target = join_remote(&remote, &name);
            let below = join_relative(&relative, &name);
            if filter.skips(&below, meta.is_dir()) {
                plan.excluded += 1;
                continue;
            }
            if meta.is_dir() {
                subdirs.push((path, target, below));
            } else if meta.is_file() {
                plan.files.push(FileJob {
                    local: path,
                    remote: target,
                    size: meta.len(),
                    modified: meta.modified().ok().and_then(to_epoch_secs),
                });
            } else {
                output.note(format_args!(
                    "netdisk: skipping {}: not a regular file",
                    path.display()
                ));
            }
        }
        // Reverse so the stack visits them in name order.
        pending.extend(subdirs.into_iter().rev());
    }
    Ok(())
}

/// The name as the server will take it, or why it will not: not UTF-8,
/// or against the path rules (a backslash, a control character, over
/// 255 bytes), checked by the same code the server uses.
fn storable_name(name: std::ffi::OsString) -> Result<String, String> {
    let name = name
        .into_string()
        .map_err(|raw| format!("the name is not UTF-8 ({raw:?})"))?;
    HomePath::home().join(&name).map_err(|e| e.to_string())?;
    Ok(name)
}

/// Walks a remote directory into `plan`, mapping it to `local_root`.
pub async fn plan_download(
    client: &mut Session,
    remote_root: &str,
    local_root: &Path,
    filter: &Filter,
    output: Output,
    plan: &mut Plan,
) -> anyhow::Result<()> {
    let mut pending = vec![(
        remote_root.to_owned(),
        local_root.to_path_buf(),
        String::new(),
    )];
    while let Some((remote, local, relative)) = pending.pop() {
        let listing = client
            .ls(Some(&remote))
            .await
            .with_context(|| format!("ls {remote}"))?;
        plan.local_dirs.push(local.clone());
        let mut subdirs = Vec::new();
        for entry in listing.entries {
            let source = join_remote(&remote, &entry.name);
            let below = join_relative(&relative, &entry.name);
            if filter.skips(&below, entry.kind == EntryKind::Dir) {
                plan.excluded += 1;
                continue;
            }
            match entry.kind {
                EntryKind::Dir => subdirs.push((source, local.join(&entry.name), below)),
                EntryKind::File => plan.files.push(FileJob {
                    local: local.join(&entry.name),
                    remote: source,
                    size: entry.size,
                    modified: entry.modified,
                }),
                EntryKind::Symlink | EntryKind::Other => {
                    output.note(format_args!(
                        "netdisk: skipping {source}: not a regular file or directory"
                    ));
                }
            }
        }
        pending.extend(subdirs.into_iter().rev());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_a_local_tree_parents_first_and_skips_links() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("src");
        std::fs::create_dir_all(root.join("b/deep")).expect("dirs");
        std::fs::create_dir_all(root.join("empty")).expect("dirs");
        std::fs::write(root.join("a.txt"), b"aa").expect("file");
        std::fs::write(root.join("b/deep/c.txt"), b"ccc").expect("file");
        std::os::unix::fs::symlink(root.join("a.txt"), root.join("link.txt")).expect("link");
        std::os::unix::fs::symlink(&root, root.join("b/loop")).expect("loop");
        let quiet = Output {
            json: false,
            quiet: true,
            verbose: false,
        };

        let mut plan = Plan::default();
        plan_upload(&root, "dst", false, &Filter::default(), quiet, &mut plan).expect("plan");
        assert_eq!(
            plan.remote_dirs,
            vec!["dst", "dst/b", "dst/b/deep", "dst/empty"]
        );
        let files: Vec<_> = plan
            .files
            .iter()
            .map(|f| (f.remote.as_str(), f.size))
            .collect();
        assert_eq!(files, vec![("dst/a.txt", 2), ("dst/b/deep/c.txt", 3)]);

        let mut followed = Plan::default();
        plan_upload(&root, "dst", true, &Filter::default(), quiet, &mut followed).expect("plan");
        let files: Vec<_> = followed.files.iter().map(|f| f.remote.as_str()).collect();
        assert_eq!(files, vec!["dst/a.txt", "dst/link.txt", "dst/b/deep/c.txt"]);
        assert!(
            !followed.remote_dirs.iter().any(|d| d.contains("loop/b")),
            "cycle entered: {:?}",
            followed.remote_dirs
        );
    }

    #[test]
    fn names_the_server_would_refuse_are_skipped_with_what_they_hold() {
        use std::os::unix::ffi::OsStringExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("src");
        std::fs::create_dir_all(root.join("bad\\dir")).expect("dirs");
        std::fs::write(root.join("bad\\dir/inside.txt"), b"x").expect("file");
        for name in ["ok.txt", "back\\slash.txt", "new\nline.txt"] {
            std::fs::write(root.join(name), b"x").expect("file");
        }
        let latin1 = std::ffi::OsString::from_vec(b"caf\xe9.txt".to_vec());
        std::fs::write(root.join(latin1), b"x").expect("file");
        let quiet = Output {
            json: false,
            quiet: true,
            verbose: false,
        };
        let mut plan = Plan::default();
        plan_upload(&root, "dst", false, &Filter::default(), quiet, &mut plan).expect("plan");
        let files: Vec<_> = plan.files.iter().map(|f| f.remote.as_str()).collect();
        assert_eq!(files, vec!["dst/ok.txt"]);
        assert_eq!(plan.remote_dirs, vec!["dst"]);
        assert_eq!(plan.unstorable, 4, "a directory counts once");
    }

    #[test]
    fn joins_remote_paths() {
        assert_eq!(join_remote(".", "a"), "a");
        assert_eq!(join_remote("~", "a"), "~/a");
        assert_eq!(join_remote("x/", "a"), "x/a");
        assert_eq!(join_remote("/", "a"), "/a");
        assert_eq!(split_remote("a.txt"), (".", "a.txt"));
        assert_eq!(split_remote("~/d/a.txt"), ("~/d", "a.txt"));
        assert_eq!(split_remote("/a.txt"), ("/", "a.txt"));
    }
}
