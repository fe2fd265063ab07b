//! Servers this user has chosen to trust, by certificate fingerprint, like
//! ssh's known_hosts: `$XDG_CONFIG_HOME/netdisk/known_hosts` (default
//! `~/.config/netdisk/known_hosts`), one "ADDRESS FINGERPRINT" per line,
//! keyed by the address as typed in --server.

use anyhow::Context;
use netdisk_proto::Fingerprint;
use std::io::Write;
use std::path::{Path, PathBuf};

pub struct KnownHosts {
    path: PathBuf,
}

/// What the file says about a server.
#[derive(Debug, PartialEq, Eq)]
pub enum Known {
    Match,
    /// Pinned with another fingerprint, on this line (1-based).
    Mismatch {
        line: usize,
        pinned: Fingerprint,
    },
    Unknown,
}

impl KnownHosts {
    /// The user's file (it need not exist yet).
    pub fn default_location() -> anyhow::Result<KnownHosts> {
        Ok(KnownHosts {
            path: crate::user_config::dir()?.join("known_hosts"),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn check(&self, server: &str, fingerprint: Fingerprint) -> anyhow::Result<Known> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Known::Unknown),
            Err(e) => return Err(e).with_context(|| format!("reading {}", self.path.display())),
        };
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut fields = line.split_whitespace();
            let (Some(address), Some(pinned)) = (fields.next(), fields.next()) else {
                continue;
            };
            if address != server {
                continue;
            }
            let pinned: Fingerprint = pinned
                .parse()
                .with_context(|| format!("{} line {}", self.path.display(), index + 1))?;
            return Ok(if pinned == fingerprint {
                Known::Match
            } else {
                Known::Mismatch {
                    line: index + 1,
                    pinned,
                }
            });
        }
        Ok(Known::Unknown)
    }

    /// Remembers a server (appends a line; creates the file and its directory).
    pub fn add(&self, server: &str, fingerprint: Fingerprint) -> anyhow::Result<()> {
        use std::os::unix::fs::OpenOptionsExt;
        let context = || format!("writing {}", self.path.display());
        crate::user_config::create_parent(&self.path)?;
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&self.path)
            .with_context(context)?;
        writeln!(file, "{server} {fingerprint}").with_context(context)?;
        file.sync_all().with_context(context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_then_added_then_matched_and_a_change_names_the_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let hosts = KnownHosts {
            path: dir.path().join("sub").join("known_hosts"),
        };
        let one = Fingerprint::of_certificate(b"one");
        let two = Fingerprint::of_certificate(b"two");
        assert_eq!(hosts.check("a:1", one).unwrap(), Known::Unknown);
        hosts.add("other:2", two).unwrap();
        hosts.add("a:1", one).unwrap();
        assert_eq!(hosts.check("a:1", one).unwrap(), Known::Match);
        assert_eq!(
            hosts.check("a:1", two).unwrap(),
            Known::Mismatch {
                line: 2,
                pinned: one
            }
        );
        assert_eq!(hosts.check("a:2", one).unwrap(), Known::Unknown);
    }
}
