//! Remote wildcards: `get '*.jpg'`, `rm *.tmp` in the shell. The server
//! knows no patterns, so the last name of a path with `*`, `?` or `[` is
//! matched against a listing of its directory, as a shell matches local
//! names (a leading dot only by a leading dot). A backslash, which no
//! remote name may hold, escapes: `rm 'a\*b'` removes the file `a*b`.

use crate::remote::Session;
use crate::tree::{join_remote, split_remote};
use anyhow::{anyhow, Context};
use glob::{MatchOptions, Pattern};
use netdisk_proto::Entry;

const OPTIONS: MatchOptions = MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: true,
};

/// A path's directory and wildcard name, if its name is a pattern.
fn split_pattern(path: &str) -> Option<(&str, &str)> {
    if path.contains('\\') {
        return None;
    }
    let (dir, name) = split_remote(path);
    name.contains(['*', '?', '[']).then_some((dir, name))
}

/// A path without its escaping backslashes.
fn unescape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.extend(chars.next());
        } else {
            out.push(c);
        }
    }
    out
}

/// The entries of `dir` that `name` matches, sorted by name.
async fn matching(client: &mut Session, dir: &str, name: &str) -> anyhow::Result<Vec<Entry>> {
    let pattern = Pattern::new(name).with_context(|| format!("pattern {name:?}"))?;
    let listing = client
        .ls(Some(dir))
        .await
        .with_context(|| format!("ls {dir}"))?;
    Ok(listing
        .entries
        .into_iter()
        .filter(|e| pattern.matches_with(&e.name, OPTIONS))
        .collect())
}

/// Every path, with patterns replaced by what they match; a pattern that
/// matches nothing is an error, as in sftp.
pub async fn expand(client: &mut Session, paths: Vec<String>) -> anyhow::Result<Vec<String>> {
    let mut expanded = Vec::with_capacity(paths.len());
    for path in paths {
        match split_pattern(&path) {
            None => expanded.push(unescape(&path)),
            Some((dir, name)) => {
                let found = matching(client, dir, name).await?;
                if found.is_empty() {
                    return Err(anyhow!("{path}: no remote match"));
                }
                expanded.extend(found.into_iter().map(|e| join_remote(dir, &e.name)));
            }
        }
    }
    Ok(expanded)
}

/// For `ls PATTERN`: the directory listed and the entries that match, or
/// `None` when the path is not a pattern.
pub async fn list(
    client: &mut Session,
    path: &str,
) -> anyhow::Result<Option<(String, Vec<Entry>)>> {
    let Some((dir, name)) = split_pattern(path) else {
        return Ok(None);
    };
    let found = matching(client, dir, name).await?;
    if found.is_empty() {
        return Err(anyhow!("{path}: no remote match"));
    }
    Ok(Some((dir.to_owned(), found)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_last_name_with_wildcards_is_a_pattern() {
        assert_eq!(split_pattern("*.jpg"), Some((".", "*.jpg")));
        assert_eq!(
            split_pattern("~/photos/IMG_?.jpg"),
            Some(("~/photos", "IMG_?.jpg"))
        );
        assert_eq!(split_pattern("a[12].txt"), Some((".", "a[12].txt")));
        assert_eq!(split_pattern("plain.txt"), None);
        assert_eq!(split_pattern("dir*/plain.txt"), None, "only the last name");
        assert_eq!(split_pattern("a\\*b"), None);
        assert_eq!(unescape("a\\*b"), "a*b");
    }

    #[test]
    fn wildcards_skip_dot_files_as_shells_do() {
        let star = Pattern::new("*").expect("pattern");
        assert!(star.matches_with("a.txt", OPTIONS));
        assert!(!star.matches_with(".hidden", OPTIONS));
        assert!(Pattern::new(".*")
            .expect("pattern")
            .matches_with(".hidden", OPTIONS));
    }
}
