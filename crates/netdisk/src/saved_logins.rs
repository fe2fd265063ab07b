//! Logins saved by `netdisk login`, so later commands need no password:
//! `$XDG_CONFIG_HOME/netdisk/logins` (default `~/.config/netdisk/logins`),
//! readable by its owner only, one line per server and user:
//!
//! ```text
//! ADDRESS USER SCRAM-SHA-256 ITERATIONS SALT CLIENT_KEY SERVER_KEY
//! ```
//!
//! (the last three in base64). It holds the SCRAM keys derived from the
//! password, never the password: they open this one account on this one
//! server, like an ssh key without a passphrase, and stop working when the
//! password is changed (the server draws a new salt).

use anyhow::{bail, Context};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use netdisk_client::ClientKeys;
use netdisk_proto::scram::MECHANISM;
use std::path::{Path, PathBuf};

pub struct SavedLogins {
    path: PathBuf,
}

impl SavedLogins {
    /// The user's file (it need not exist yet).
    pub fn default_location() -> anyhow::Result<SavedLogins> {
        Ok(SavedLogins {
            path: crate::user_config::dir()?.join("logins"),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The keys saved for `user` on `server`, if any.
    pub fn find(&self, server: &str, user: &str) -> anyhow::Result<Option<ClientKeys>> {
        let Some(text) = self.read()? else {
            return Ok(None);
        };
        for (index, line) in text.lines().enumerate() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 2 || fields[0] != server || fields[1] != user {
                continue;
            }
            return parse_keys(&fields[2..])
                .map(Some)
                .with_context(|| format!("{} line {}", self.path.display(), index + 1));
        }
        Ok(None)
    }

    /// Saves (or replaces) the keys for `user` on `server`.
    pub fn save(&self, server: &str, user: &str, keys: &ClientKeys) -> anyhow::Result<()> {
        if [server, user]
            .iter()
            .any(|field| field.is_empty() || field.contains(char::is_whitespace))
        {
            bail!("cannot save a login for a server address or user name with spaces");
        }
        let mut text = self.others_than(server, user)?;
        text.push_str(&format!(
            "{server} {user} {MECHANISM} {} {} {} {}\n",
            keys.iterations,
            B64.encode(&keys.salt),
            B64.encode(keys.client_key),
            B64.encode(keys.server_key)
        ));
        crate::user_config::write_private(&self.path, &text)
    }

    /// Forgets the login of `user` on `server`; false if there was none.
    pub fn remove(&self, server: &str, user: &str) -> anyhow::Result<bool> {
        let Some(text) = self.read()? else {
            return Ok(false);
        };
        let kept = self.others_than(server, user)?;
        if kept.len() == text.len() {
            return Ok(false);
        }
        crate::user_config::write_private(&self.path, &kept)?;
        Ok(true)
    }

    /// Every line but the one for `user` on `server`.
    fn others_than(&self, server: &str, user: &str) -> anyhow::Result<String> {
        let text = self.read()?.unwrap_or_default();
        Ok(text
            .lines()
            .filter(|line| {
                let mut fields = line.split_whitespace();
                !(fields.next() == Some(server) && fields.next() == Some(user))
            })
            .map(|line| format!("{line}\n"))
            .collect())
    }

    /// The file's text, refused if others may read it (like ssh's keys).
    fn read(&self) -> anyhow::Result<Option<String>> {
        use std::os::unix::fs::PermissionsExt;
        let what = || format!("saved logins {}", self.path.display());
        let metadata = match std::fs::metadata(&self.path) {
            Ok(metadata) => metadata,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(what),
        };
        if metadata.permissions().mode() & 0o077 != 0 {
            bail!(
                "{}: readable by others; run 'chmod 600 {}' (and 'netdisk login' again if others could read it)",
                what(),
                self.path.display()
            );
        }
        std::fs::read_to_string(&self.path)
            .map(Some)
            .with_context(what)
    }
}

fn parse_keys(fields: &[&str]) -> anyhow::Result<ClientKeys> {
    let [mechanism, iterations, salt, client_key, server_key] = fields else {
        bail!("expected 7 fields");
    };
    if *mechanism != MECHANISM {
        bail!("unknown mechanism {mechanism}");
    }
    let key = |text: &str| -> anyhow::Result<[u8; 32]> {
        B64.decode(text)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .context("a key is not 32 bytes of base64")
    };
    Ok(ClientKeys {
        iterations: iterations.parse().context("bad iteration count")?,
        salt: B64.decode(salt).context("the salt is not base64")?,
        client_key: key(client_key)?,
        server_key: key(server_key)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(seed: u8) -> ClientKeys {
        ClientKeys {
            salt: vec![seed; 16],
            iterations: 4096 + u32::from(seed),
            client_key: [seed; 32],
            server_key: [seed.wrapping_add(1); 32],
        }
    }

    #[test]
    fn saved_found_replaced_and_removed_per_server_and_user() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let logins = SavedLogins {
            path: dir.path().join("sub").join("logins"),
        };
        assert!(logins.find("a:1", "ann").unwrap().is_none());
        assert!(!logins.remove("a:1", "ann").unwrap());

        logins.save("a:1", "ann", &keys(1)).unwrap();
        logins.save("a:1", "bob", &keys(2)).unwrap();
        logins.save("b:2", "ann", &keys(3)).unwrap();
        let mode = std::fs::metadata(logins.path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(logins.find("a:1", "ann").unwrap(), Some(keys(1)));
        assert_eq!(logins.find("a:1", "bob").unwrap(), Some(keys(2)));
        assert_eq!(logins.find("b:2", "ann").unwrap(), Some(keys(3)));
        assert!(logins.find("b:2", "bob").unwrap().is_none());

        // Saving again replaces the line instead of adding one.
        logins.save("a:1", "ann", &keys(4)).unwrap();
        assert_eq!(logins.find("a:1", "ann").unwrap(), Some(keys(4)));
        let text = std::fs::read_to_string(logins.path()).unwrap();
        assert_eq!(text.lines().count(), 3, "{text}");

        assert!(logins.remove("a:1", "ann").unwrap());
        assert!(logins.find("a:1", "ann").unwrap().is_none());
        assert_eq!(logins.find("a:1", "bob").unwrap(), Some(keys(2)));
        assert!(!logins.remove("a:1", "ann").unwrap());
    }

    #[test]
    fn a_file_others_can_read_or_a_damaged_line_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let logins = SavedLogins {
            path: dir.path().join("logins"),
        };
        logins.save("a:1", "ann", &keys(1)).unwrap();
        std::fs::set_permissions(logins.path(), std::fs::Permissions::from_mode(0o644)).unwrap();
        let error = logins.find("a:1", "ann").unwrap_err().to_string();
        assert!(error.contains("chmod 600"), "{error}");

        std::fs::set_permissions(logins.path(), std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(logins.path(), "a:1 ann SCRAM-SHA-256 4096 AAAA short key\n").unwrap();
        let error = format!("{:#}", logins.find("a:1", "ann").unwrap_err());
        assert!(
            error.contains("line 1") && error.contains("32 bytes"),
            "{error}"
        );
        assert!(logins.save("a b:1", "ann", &keys(1)).is_err());
    }
}
