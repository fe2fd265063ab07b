//! Paths inside a user's home, resolved without touching any file system.
//!
//! A client names files relative to its session's current directory
//! (`docs/a.txt`, `../b`) or to its home (`~`, `~/docs`). Everything that
//! could reach outside the home or confuse a later layer is refused here,
//! before the server's capability-based file access (which additionally
//! refuses symlinks leading outside) ever sees the path.

use crate::error::ErrorCode;
use std::fmt;

/// Longest path, in bytes, once resolved: relative to the home, as the
/// server hands it to the kernel. Linux's PATH_MAX (4096) counts the
/// terminating NUL, so 4095 bytes is the longest a system call takes.
/// What a client sends may be longer (`a/../b`); the header limit bounds it.
pub const MAX_PATH_LEN: usize = 4095;
/// Longest single name (path component), in bytes.
pub const MAX_NAME_LEN: usize = 255;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("empty path")]
    Empty,
    #[error("path is longer than {MAX_PATH_LEN} bytes")]
    TooLong,
    #[error("name {0:?}... is longer than {MAX_NAME_LEN} bytes")]
    NameTooLong(String),
    #[error("path contains a NUL byte")]
    Nul,
    #[error("path contains a backslash; use '/' to separate names")]
    Backslash,
    #[error("path contains a control character")]
    ControlChar,
    #[error("absolute paths are not allowed; paths are relative to the current directory, or to your home as ~/...")]
    Absolute,
    #[error("path contains an empty component ('//')")]
    EmptyComponent,
    #[error("path leads outside your home")]
    EscapesHome,
    #[error("the home directory itself cannot be {0}")]
    IsHome(&'static str),
}

impl PathError {
    pub fn code(&self) -> ErrorCode {
        match self {
            PathError::Absolute | PathError::EscapesHome | PathError::IsHome(_) => {
                ErrorCode::PermissionDenied
            }
            PathError::TooLong | PathError::NameTooLong(_) => ErrorCode::TooLarge,
            _ => ErrorCode::BadRequest,
        }
    }
}

/// A normalised location inside a home: a list of names, none of them
/// empty, ".", ".." or containing '/', NUL or control characters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct HomePath {
    names: Vec<String>,
}

impl HomePath {
    /// The home directory itself.
    pub fn home() -> Self {
        HomePath { names: Vec::new() }
    }

    /// Resolves what a client sent against the session's current directory.
    pub fn resolve(&self, input: &str) -> Result<HomePath, PathError> {
        if input.is_empty() {
            return Err(PathError::Empty);
        }
        if input.contains('\0') {
            return Err(PathError::Nul);
        }
        if input.contains('\\') {
            return Err(PathError::Backslash);
        }
        if input.chars().any(char::is_control) {
            return Err(PathError::ControlChar);
        }
        if input.starts_with('/') {
            return Err(PathError::Absolute);
        }
        let (mut names, rest) = if input == "~" {
            (Vec::new(), "")
        } else if let Some(rest) = input.strip_prefix("~/") {
            (Vec::new(), rest)
        } else {
            (self.names.clone(), input)
        };
        // One trailing '/' marks a directory ("docs/"), as shells complete it.
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.is_empty() {
            return if input == "~" || input == "~/" {
                Ok(HomePath { names })
            } else {
                Err(PathError::EmptyComponent)
            };
        }
        for name in rest.split('/') {
            match name {
                "" => return Err(PathError::EmptyComponent),
                "." => {}
                ".." => {
                    if names.pop().is_none() {
                        return Err(PathError::EscapesHome);
                    }
                }
                _ => {
                    if name.len() > MAX_NAME_LEN {
                        let shown: String = name.chars().take(16).collect();
                        return Err(PathError::NameTooLong(shown));
                    }
                    names.push(name.to_owned());
                }
            }
        }
        let resolved = HomePath { names };
        if resolved.relative().len() > MAX_PATH_LEN {
            return Err(PathError::TooLong);
        }
        Ok(resolved)
    }

    pub fn is_home(&self) -> bool {
        self.names.is_empty()
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The last name, or `None` for the home itself.
    pub fn file_name(&self) -> Option<&str> {
        self.names.last().map(String::as_str)
    }

    /// The containing directory (the home is its own parent).
    pub fn parent(&self) -> HomePath {
        let mut names = self.names.clone();
        names.pop();
        HomePath { names }
    }

    /// This path with one more name appended; the name must be a valid single name.
    pub fn join(&self, name: &str) -> Result<HomePath, PathError> {
        if name.is_empty() {
            return Err(PathError::Empty);
        }
        if name.contains('/') || name == "." || name == ".." {
            return Err(PathError::EscapesHome);
        }
        let mut names = self.names.clone();
        names.push(name.to_owned());
        let joined = HomePath { names };
        // Re-validate the new name through the same rules.
        HomePath::home().resolve(&joined.relative())
    }

    /// `inner` (resolved on its own, so it cannot climb out) inside this
    /// path: a shared folder's root and a path inside the share.
    pub fn within(&self, inner: &HomePath) -> Result<HomePath, PathError> {
        let mut names = self.names.clone();
        names.extend(inner.names.iter().cloned());
        let joined = HomePath { names };
        if joined.relative().len() > MAX_PATH_LEN {
            return Err(PathError::TooLong);
        }
        Ok(joined)
    }

    /// The path relative to the home directory, "." for the home itself:
    /// what the server hands to its jailed file access.
    pub fn relative(&self) -> String {
        if self.names.is_empty() {
            ".".to_owned()
        } else {
            self.names.join("/")
        }
    }
}

/// Shown to users as "~" or "~/docs/a.txt".
impl fmt::Display for HomePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("~")?;
        for name in &self.names {
            write!(f, "/{name}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cwd(path: &str) -> HomePath {
        HomePath::home().resolve(path).expect("valid cwd")
    }

    #[test]
    fn resolves_relative_and_home_anchored_paths() {
        let docs = cwd("docs");
        assert_eq!(docs.to_string(), "~/docs");
        assert_eq!(docs.resolve("a.txt").unwrap().relative(), "docs/a.txt");
        assert_eq!(docs.resolve("..").unwrap().relative(), ".");
        assert_eq!(docs.resolve("../x/./y/").unwrap().to_string(), "~/x/y");
        assert_eq!(docs.resolve("~").unwrap(), HomePath::home());
        assert_eq!(docs.resolve("~/").unwrap(), HomePath::home());
        assert_eq!(docs.resolve("~/z").unwrap().to_string(), "~/z");
        assert_eq!(docs.resolve("~z").unwrap().to_string(), "~/docs/~z");
        assert_eq!(docs.resolve("a/../b").unwrap().to_string(), "~/docs/b");
    }

    #[test]
    fn refuses_hostile_forms() {
        let docs = cwd("docs");
        let long_name = "n".repeat(256);
        let long_path = "a/".repeat(2100);
        let cases: Vec<(&str, PathError)> = vec![
            ("", PathError::Empty),
            ("/etc/passwd", PathError::Absolute),
            ("/", PathError::Absolute),
            ("../..", PathError::EscapesHome),
            ("../../etc/passwd", PathError::EscapesHome),
            ("a/../../..", PathError::EscapesHome),
            ("~/..", PathError::EscapesHome),
            ("a\0b", PathError::Nul),
            ("..\\..\\x", PathError::Backslash),
            ("a//b", PathError::EmptyComponent),
            ("a/b//", PathError::EmptyComponent),
            ("a\nb", PathError::ControlChar),
            ("a\u{7f}", PathError::ControlChar),
        ];
        for (input, want) in cases {
            assert_eq!(docs.resolve(input), Err(want), "input {input:?}");
        }
        assert!(matches!(
            docs.resolve(&long_name),
            Err(PathError::NameTooLong(_))
        ));
        assert_eq!(docs.resolve(&long_path), Err(PathError::TooLong));
    }

    #[test]
    fn the_limit_is_on_the_resolved_path_from_the_home() {
        let names = |count: usize| vec!["n".repeat(200); count].join("/");
        // 20 names of 200 bytes and 19 slashes: 4019 bytes.
        let deep = cwd(&names(20));
        let tail = "t".repeat(MAX_PATH_LEN - deep.relative().len() - 1);
        let longest = deep.resolve(&tail).expect("exactly the limit");
        assert_eq!(longest.relative().len(), MAX_PATH_LEN);
        assert_eq!(deep.resolve(&format!("{tail}u")), Err(PathError::TooLong));
        // Sent longer than the limit, resolved shorter: accepted.
        let roundabout = format!("{}x", "../n/".repeat(1000));
        assert!(roundabout.len() > MAX_PATH_LEN);
        let resolved = deep.resolve(&roundabout).expect("resolves short");
        assert_eq!(
            resolved,
            deep.parent()
                .join("n")
                .and_then(|n| n.join("x"))
                .expect("path")
        );
    }

    #[test]
    fn join_rejects_separators() {
        let home = HomePath::home();
        assert!(home.join("a/b").is_err());
        assert!(home.join("..").is_err());
        assert_eq!(home.join(""), Err(PathError::Empty));
        assert_eq!(home.join("ok").unwrap().to_string(), "~/ok");
    }

    #[test]
    fn within_keeps_an_inner_path_inside_its_root() {
        let root = cwd("photos/2026");
        let inner = HomePath::home().resolve("trip/a.jpg").expect("inner");
        assert_eq!(
            root.within(&inner).expect("joined").to_string(),
            "~/photos/2026/trip/a.jpg"
        );
        // Resolved on its own, an inner path cannot climb above its root.
        assert_eq!(
            HomePath::home().resolve("../secret"),
            Err(PathError::EscapesHome)
        );
        let deep = cwd(&vec!["n".repeat(200); 20].join("/"));
        let long = HomePath::home().resolve(&"t".repeat(200)).expect("name");
        assert_eq!(deep.within(&long), Err(PathError::TooLong));
    }
}
