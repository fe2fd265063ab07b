//! Bearer tokens for the HTTP API: a session's token (issued at a login
//! with the password, short-lived) and personal tokens for scripts
//! (named, long-lived, revocable). A token is 32 random bytes shown once;
//! the user database keeps only its SHA-256 (the token has full entropy,
//! so a slow hash adds nothing), so a copy of the database logs no one in.
//! Tokens live in SQLite and so survive a restart; deleting a user ends
//! their tokens.

use crate::error::{ErrorKind, StoreError};
use crate::users::{now, UserDb};
use base64::Engine;
use rand::RngCore;
use rusqlite::{params, OptionalExtension};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;

/// What a token text starts with, so it is recognisable in a leak scan.
const PREFIX: &str = "ndt_";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Issued by a login with the password; expires.
    Session,
    /// Made for a script (`netdisk token add`); expires only if told to.
    Personal,
}

impl TokenKind {
    fn as_str(self) -> &'static str {
        match self {
            TokenKind::Session => "session",
            TokenKind::Personal => "personal",
        }
    }
}

/// A token as listed: never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub kind: &'static str,
    /// Seconds since the Unix epoch.
    pub created: i64,
    pub expires: Option<i64>,
}

/// Whom a presented token logs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenOwner {
    pub user: String,
    pub token_id: i64,
}

/// The token book, on the user database.
#[derive(Clone)]
pub struct Tokens {
    users: Arc<UserDb>,
}

fn digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

fn internal(e: rusqlite::Error) -> StoreError {
    StoreError::new(ErrorKind::Internal, format!("token database: {e}"))
}

impl Tokens {
    pub(crate) fn new(users: Arc<UserDb>) -> Tokens {
        Tokens { users }
    }

    /// Makes a token for `user`; returns its id and its text, which is
    /// shown this once and kept nowhere.
    pub fn issue(
        &self,
        user: &str,
        kind: TokenKind,
        name: &str,
        lifetime: Option<Duration>,
    ) -> Result<(i64, String), StoreError> {
        let mut secret = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut secret);
        let text = format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
        );
        let created = now();
        let expires = lifetime
            .map(|d| created.saturating_add(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)));
        let conn = self.users.conn();
        let exists: bool = conn
            .query_row("SELECT 1 FROM users WHERE name = ?1", params![user], |_| {
                Ok(())
            })
            .optional()
            .map_err(internal)?
            .is_some();
        if !exists {
            return Err(StoreError::new(
                ErrorKind::NotFound,
                format!("no such user: {user:?}"),
            ));
        }
        // Expired tokens nobody presents again go here, not only when presented.
        conn.execute(
            "DELETE FROM tokens WHERE expires IS NOT NULL AND expires <= ?1",
            params![created],
        )
        .map_err(internal)?;
        conn.execute(
            "INSERT INTO tokens (hash, user, kind, name, created, expires) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![digest(&text), user, kind.as_str(), name, created, expires],
        )
        .map_err(internal)?;
        Ok((conn.last_insert_rowid(), text))
    }

    /// The owner of a presented token, if it is known, unexpired and its
    /// user still exists. Expired tokens found on the way are removed.
    pub fn authenticate(&self, text: &str) -> Result<Option<TokenOwner>, StoreError> {
        if !text.starts_with(PREFIX) {
            return Ok(None);
        }
        let conn = self.users.conn();
        let found: Option<(i64, String, Option<i64>)> = conn
            .query_row(
                "SELECT t.id, t.user, t.expires FROM tokens t JOIN users u ON u.name = t.user WHERE t.hash = ?1",
                params![digest(text)],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .optional()
            .map_err(internal)?;
        match found {
            Some((id, _, Some(expires))) if expires <= now() => {
                conn.execute("DELETE FROM tokens WHERE id = ?1", params![id])
                    .map_err(internal)?;
                Ok(None)
            }
            Some((token_id, user, _)) => Ok(Some(TokenOwner { user, token_id })),
            None => Ok(None),
        }
    }

    /// The user's tokens that have not expired, oldest first.
    pub fn list(&self, user: &str) -> Result<Vec<ApiToken>, StoreError> {
        let conn = self.users.conn();
        let mut statement = conn
            .prepare(
                "SELECT id, name, kind, created, expires FROM tokens
                 WHERE user = ?1 AND (expires IS NULL OR expires > ?2) ORDER BY id",
            )
            .map_err(internal)?;
        let rows = statement
            .query_map(params![user, now()], |row| {
                let kind: String = row.get(2)?;
                Ok(ApiToken {
                    id: row.get(0)?,
                    name: row.get(1)?,
                    kind: if kind == "personal" {
                        TokenKind::Personal.as_str()
                    } else {
                        TokenKind::Session.as_str()
                    },
                    created: row.get(3)?,
                    expires: row.get(4)?,
                })
            })
            .map_err(internal)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(internal)
    }

    /// Revokes one of the user's tokens by id; false if they have none such.
    pub fn revoke(&self, user: &str, id: i64) -> Result<bool, StoreError> {
        let removed = self
            .users
            .conn()
            .execute(
                "DELETE FROM tokens WHERE id = ?1 AND user = ?2",
                params![id, user],
            )
            .map_err(internal)?;
        Ok(removed > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book() -> (tempfile::TempDir, Tokens) {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = UserDb::open(&dir.path().join("users.db"))
            .expect("open")
            .with_iterations(4096);
        db.add("alice", "pw", None).expect("add");
        db.add("bob", "pw", None).expect("add");
        (dir, Tokens::new(Arc::new(db)))
    }

    #[test]
    fn issued_tokens_authenticate_until_revoked() {
        let (_dir, tokens) = book();
        let (id, text) = tokens
            .issue("alice", TokenKind::Personal, "ci", None)
            .unwrap();
        assert!(text.starts_with(PREFIX) && text.len() > 40);
        let owner = tokens.authenticate(&text).unwrap().expect("known token");
        assert_eq!(
            owner,
            TokenOwner {
                user: "alice".into(),
                token_id: id
            }
        );
        assert_eq!(tokens.list("alice").unwrap()[0].name, "ci");
        assert!(tokens.list("bob").unwrap().is_empty());
        assert!(
            !tokens.revoke("bob", id).unwrap(),
            "bob cannot revoke alice's token"
        );
        assert!(tokens.revoke("alice", id).unwrap());
        assert_eq!(tokens.authenticate(&text).unwrap(), None);
    }

    #[test]
    fn expired_unknown_and_orphaned_tokens_are_refused() {
        let (_dir, tokens) = book();
        let (_, expired) = tokens
            .issue("alice", TokenKind::Session, "login", Some(Duration::ZERO))
            .unwrap();
        assert_eq!(tokens.authenticate(&expired).unwrap(), None);
        assert!(tokens.list("alice").unwrap().is_empty());
        assert_eq!(tokens.authenticate("ndt_made-up").unwrap(), None);
        let (_, _never_presented) = tokens
            .issue("alice", TokenKind::Session, "login", Some(Duration::ZERO))
            .unwrap();
        tokens
            .issue("alice", TokenKind::Personal, "ci", None)
            .unwrap();
        let rows: i64 = tokens
            .users
            .conn()
            .query_row("SELECT COUNT(*) FROM tokens", [], |row| row.get(0))
            .unwrap();
        assert_eq!(
            rows, 1,
            "expired tokens are removed when the next is issued"
        );
        assert_eq!(tokens.authenticate("").unwrap(), None);
        let (_, bobs) = tokens.issue("bob", TokenKind::Personal, "x", None).unwrap();
        tokens.users.delete("bob").unwrap();
        assert_eq!(tokens.authenticate(&bobs).unwrap(), None);
        assert!(tokens
            .issue("nobody", TokenKind::Personal, "x", None)
            .is_err());
    }

    #[test]
    fn the_database_keeps_no_token_text() {
        let (dir, tokens) = book();
        let (_, text) = tokens
            .issue("alice", TokenKind::Personal, "ci", None)
            .unwrap();
        drop(tokens);
        let mut raw = Vec::new();
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            raw.extend(std::fs::read(entry.unwrap().path()).unwrap());
        }
        let needle = &text.as_bytes()[PREFIX.len()..];
        assert!(!raw.windows(needle.len()).any(|w| w == needle));
    }
}
