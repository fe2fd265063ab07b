//! The shell's local side: `~` and wildcards in local arguments, and the
//! local commands (`lcd`, `lls`, `lpwd`, `lmkdir`, `!COMMAND`).

use crate::output::print_line;
use crate::{report, AlreadyReported};
use anyhow::{anyhow, bail, Context};
use netdisk_proto::{Entry, EntryKind};
use std::path::{Path, PathBuf};

/// The local home directory.
fn home() -> anyhow::Result<PathBuf> {
    std::env::var_os("HOME")
        .filter(|home| !home.is_empty())
        .map(PathBuf::from)
        .ok_or_else(|| anyhow!("HOME is not set"))
}

/// `~` and `~/x` as the local home; anything else as it is (`~user` too).
pub(super) fn expand_tilde(word: &str) -> anyhow::Result<PathBuf> {
    if word == "~" {
        return home();
    }
    match word.strip_prefix("~/") {
        Some(rest) => Ok(home()?.join(rest)),
        None => Ok(PathBuf::from(word)),
    }
}

/// Like [`expand_tilde`], for a path still being typed (completion).
pub(super) fn expand_tilde_lossy(word: &str) -> PathBuf {
    expand_tilde(word).unwrap_or_else(|_| PathBuf::from(word))
}

fn has_wildcards(word: &str) -> bool {
    word.contains(['*', '?', '['])
}

/// A local argument with `~` expanded and wildcards matched, like a shell:
/// `*` does not match a leading dot, and the matches come sorted. A
/// pattern that matches nothing is an error, unless a file has that very
/// name (the line was split already, so `'a*.txt'` still reaches here).
pub(super) fn expand(word: &str) -> anyhow::Result<Vec<PathBuf>> {
    if !has_wildcards(word) {
        return Ok(vec![expand_tilde(word)?]);
    }
    let pattern = match word.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
            let home = home()?;
            let home = home
                .to_str()
                .ok_or_else(|| anyhow!("HOME is not UTF-8: cannot match {word}"))?;
            format!("{}{rest}", glob::Pattern::escape(home))
        }
        _ => word.to_owned(),
    };
    let options = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: true,
    };
    let matches = glob::glob_with(&pattern, options)
        .map_err(|e| anyhow!("bad pattern {word}: {e}"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow!("{word}: {e}"))?;
    if !matches.is_empty() {
        return Ok(matches);
    }
    let literal = expand_tilde(word)?;
    if literal.symlink_metadata().is_ok() {
        return Ok(vec![literal]);
    }
    bail!("no local match for {word}")
}

/// Local paths as text for a transfer (the server's names are UTF-8).
pub(super) fn expand_to_text(word: &str) -> anyhow::Result<Vec<String>> {
    expand(word)?
        .into_iter()
        .map(|path| {
            path.into_os_string().into_string().map_err(|path| {
                anyhow!(
                    "{}: the name is not UTF-8 (the server cannot store it)",
                    Path::new(&path).display()
                )
            })
        })
        .collect()
}

pub(super) fn lcd(path: Option<&str>) -> anyhow::Result<()> {
    let target = match path {
        Some(path) => expand_tilde(path)?,
        None => home().context("lcd: no directory given")?,
    };
    std::env::set_current_dir(&target).map_err(|e| anyhow!("lcd {}: {e}", target.display()))
}

pub(super) fn lpwd() -> anyhow::Result<()> {
    print_line(std::env::current_dir().context("lpwd")?.display());
    Ok(())
}

/// `lls [-l] [PATH...]`: each file by its name, each directory's entries
/// (under a `DIR:` heading when there are several), reporting each
/// failure and going on.
pub(super) fn lls(long: bool, patterns: &[String]) -> anyhow::Result<()> {
    let mut paths = Vec::new();
    let mut failed = false;
    for pattern in patterns {
        match expand(pattern) {
            Ok(found) => paths.extend(found),
            Err(e) => {
                report(&e.context("lls"));
                failed = true;
            }
        }
    }
    if patterns.is_empty() {
        paths.push(PathBuf::from("."));
    }
    let (dirs, files): (Vec<PathBuf>, Vec<PathBuf>) = paths.into_iter().partition(|p| p.is_dir());
    for file in &files {
        match std::fs::symlink_metadata(file) {
            Ok(meta) => print_line(show(&entry(file.display().to_string(), &meta), long)),
            Err(e) => {
                report(&anyhow!("lls {}: {e}", file.display()));
                failed = true;
            }
        }
    }
    let headings = dirs.len() + files.len() > 1;
    for (n, dir) in dirs.iter().enumerate() {
        if headings {
            if n > 0 || !files.is_empty() {
                print_line("");
            }
            print_line(format_args!("{}:", dir.display()));
        }
        if let Err(e) = list_dir(dir, long) {
            report(&e);
            failed = true;
        }
    }
    if failed {
        Err(AlreadyReported.into())
    } else {
        Ok(())
    }
}

fn list_dir(dir: &Path, long: bool) -> anyhow::Result<()> {
    let mut entries: Vec<Entry> = std::fs::read_dir(dir)
        .map_err(|e| anyhow!("lls {}: {e}", dir.display()))?
        .flatten()
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            Some(entry(e.file_name().to_string_lossy().into_owned(), &meta))
        })
        .collect();
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    for entry in &entries {
        print_line(show(entry, long));
    }
    Ok(())
}

/// A local file described as the server describes its entries, so `lls`
/// prints what `ls` prints.
fn entry(name: String, meta: &std::fs::Metadata) -> Entry {
    let kind = if meta.is_dir() {
        EntryKind::Dir
    } else if meta.is_file() {
        EntryKind::File
    } else if meta.file_type().is_symlink() {
        EntryKind::Symlink
    } else {
        EntryKind::Other
    };
    Entry::describe(
        name,
        kind,
        meta.len(),
        meta.modified().ok(),
        std::os::unix::fs::PermissionsExt::mode(&meta.permissions()),
    )
}

fn show(entry: &Entry, long: bool) -> String {
    if long {
        crate::remote::long_line(entry, false)
    } else if entry.kind == EntryKind::Dir {
        format!("{}/", entry.name)
    } else {
        entry.name.clone()
    }
}

/// `lmkdir [-p] DIR...`, reporting each failure and going on.
pub(super) fn lmkdir(parents: bool, dirs: &[String]) -> anyhow::Result<()> {
    let mut failed = false;
    for dir in dirs {
        let made = expand_tilde(dir).and_then(|path| {
            let made = if parents {
                std::fs::create_dir_all(&path)
            } else {
                std::fs::create_dir(&path)
            };
            made.map_err(|e| anyhow!("{}: {e}", path.display()))
        });
        if let Err(e) = made {
            report(&e.context("lmkdir"));
            failed = true;
        }
    }
    if failed {
        Err(AlreadyReported.into())
    } else {
        Ok(())
    }
}

/// Where a `!COMMAND` reads its input from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum CommandInput {
    /// The terminal, as for any program started from a shell.
    Terminal,
    /// Nothing: the shell's input is the script, which is not the
    /// command's to read.
    None,
}

/// `!COMMAND` through `sh -c`; a lone `!` starts `$SHELL`. The command
/// owns the terminal until it ends (Ctrl-C is its to handle).
pub(super) async fn shell_escape(command: &str, input: CommandInput) -> anyhow::Result<()> {
    let command = command.trim();
    let mut process = if command.is_empty() {
        let shell = std::env::var_os("SHELL")
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "/bin/sh".into());
        std::process::Command::new(shell)
    } else {
        let mut sh = std::process::Command::new("/bin/sh");
        sh.arg("-c").arg(command);
        sh
    };
    if input == CommandInput::None {
        process.stdin(std::process::Stdio::null());
    }
    let status = tokio::task::spawn_blocking(move || process.status())
        .await
        .context("!: the command's waiter failed")?
        .with_context(|| format!("!{command}"))?;
    if !status.success() {
        bail!("!{command}: {status}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_like_a_shell_and_no_match_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in ["a.txt", "b.txt", ".hidden.txt", "c.jpg", "lit*eral"] {
            std::fs::write(dir.path().join(name), b"x").expect("file");
        }
        std::fs::create_dir(dir.path().join("sub")).expect("sub");
        std::fs::write(dir.path().join("sub/d.txt"), b"x").expect("file");
        let root = dir.path().to_str().expect("utf-8 temp dir");
        let names = |pattern: &str| -> Vec<String> {
            expand(&format!("{root}/{pattern}"))
                .expect("matches")
                .into_iter()
                .map(|p| p.strip_prefix(root).expect("inside").display().to_string())
                .collect()
        };
        assert_eq!(names("*.txt"), ["a.txt", "b.txt"], "no dot files, sorted");
        assert_eq!(names("*/*.txt"), ["sub/d.txt"]);
        assert_eq!(names("?.jpg"), ["c.jpg"]);
        assert_eq!(names("lit*eral"), ["lit*eral"]);
        assert_eq!(names("plain"), ["plain"], "no wildcard: as it is");
        let none = expand(&format!("{root}/*.png")).expect_err("no match");
        assert_eq!(none.to_string(), format!("no local match for {root}/*.png"));
        assert!(expand("[").is_err(), "a bad pattern is an error");
    }

    #[test]
    fn tilde_is_the_local_home() {
        let home = home().expect("tests run with HOME");
        assert_eq!(expand_tilde("~").expect("home"), home);
        assert_eq!(expand_tilde("~/a b").expect("home"), home.join("a b"));
        assert_eq!(
            expand_tilde("~other/x").expect("as is"),
            PathBuf::from("~other/x")
        );
        assert_eq!(expand_tilde("a/~").expect("as is"), PathBuf::from("a/~"));
    }
}
