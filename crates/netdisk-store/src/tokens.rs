//! Bearer tokens for the HTTP API: a login's session token (short-lived)
//! and its refresh token (longer-lived, good once: it buys a new pair),
//! and personal tokens for scripts (named, long-lived, revocable). A
//! token is 32 random bytes shown once; the user database keeps only its
//! SHA-256 (the token has full entropy, so a slow hash adds nothing), so a
//! copy of the database logs no one in. Tokens live in a database (a
//! `TokenBook`: the data directory's SQLite, or one several servers
//! share) and so survive a restart; deleting a user ends their tokens.

use crate::error::{ErrorKind, StoreError};
use crate::users::{now, UserDb};
use base64::Engine;
use rand::RngCore;
use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;

/// What a token text starts with, so it is recognisable in a leak scan.
const PREFIX: &str = "ndt_";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Issued by a login with the password; expires.
    Session,
    /// Issued beside a session token; buys a new pair once, nothing else.
    Refresh,
    /// Made for a script (`netdisk token add`); expires only if told to.
    Personal,
}

impl TokenKind {
    /// As a book stores it.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Session => "session",
            TokenKind::Refresh => "refresh",
            TokenKind::Personal => "personal",
        }
    }

    pub fn parse(text: &str) -> TokenKind {
        match text {
            "personal" => TokenKind::Personal,
            "refresh" => TokenKind::Refresh,
            _ => TokenKind::Session,
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

/// Whom a presented token logs in, and as what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenOwner {
    pub user: String,
    pub token_id: i64,
    pub kind: TokenKind,
    /// Seconds since the Unix epoch; None: until revoked.
    pub expires: Option<i64>,
}

/// What a login (or a refresh) hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginTokens {
    pub user: String,
    pub session: String,
    /// None for a login that asked for none (a browser's cookie session).
    pub refresh: Option<String>,
}

/// How long a login's tokens live.
#[derive(Debug, Clone, Copy)]
pub struct LoginLifetimes {
    pub session: Duration,
    /// None: no refresh token.
    pub refresh: Option<Duration>,
}

/// Where tokens are kept. Each call is one transaction. Calls block: the
/// engine's callers make them on tokio's blocking pool.
pub trait TokenBook: Send + Sync + 'static {
    /// Makes a token for `user` outside any login; returns its id and its
    /// text (`NewToken`), which is shown this once and kept nowhere.
    /// Expired tokens of anyone go on the way.
    fn issue(
        &self,
        user: &str,
        kind: TokenKind,
        name: &str,
        lifetime: Option<Duration>,
    ) -> Result<(i64, String), StoreError>;
    /// The tokens of a login with the password (which the caller checked).
    fn issue_login(&self, user: &str, lifetimes: LoginLifetimes)
        -> Result<LoginTokens, StoreError>;
    /// Trades a live refresh token for a new pair of the same login, ending
    /// the login's other tokens; `None` if it is not one.
    fn refresh(
        &self,
        text: &str,
        lifetimes: LoginLifetimes,
    ) -> Result<Option<LoginTokens>, StoreError>;
    /// The owner of a known, unexpired token whose user exists; an expired
    /// one found is removed.
    fn authenticate(&self, text: &str) -> Result<Option<TokenOwner>, StoreError>;
    /// The user's unexpired tokens but refresh tokens, oldest first.
    fn list(&self, user: &str) -> Result<Vec<ApiToken>, StoreError>;
    /// Removes the user's token `id` and the rest of its login, if any.
    fn revoke(&self, user: &str, id: i64) -> Result<bool, StoreError>;
}

/// The API's tokens, in whichever book the store keeps them.
#[derive(Clone)]
pub struct Tokens {
    book: Arc<dyn TokenBook>,
}

/// A token's stored form: the SHA-256 of its text.
pub fn token_digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

fn internal(e: rusqlite::Error) -> StoreError {
    StoreError::new(ErrorKind::Internal, format!("token database: {e}"))
}

/// A new token's text, shown once, and the digest a book keeps of it.
pub struct NewToken {
    pub text: String,
    pub digest: Vec<u8>,
}

impl NewToken {
    pub fn generate() -> NewToken {
        let mut secret = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut secret);
        let text = format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
        );
        NewToken {
            digest: token_digest(&text),
            text,
        }
    }
}

/// When a token made at `from` (seconds since the epoch) expires.
pub fn token_expiry(from: i64, lifetime: Option<Duration>) -> Option<i64> {
    lifetime.map(|d| from.saturating_add(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)))
}

fn require_user(conn: &Connection, user: &str) -> Result<(), StoreError> {
    let exists = conn
        .query_row("SELECT 1 FROM users WHERE name = ?1", params![user], |_| {
            Ok(())
        })
        .optional()
        .map_err(internal)?
        .is_some();
    if exists {
        Ok(())
    } else {
        Err(StoreError::new(
            ErrorKind::NotFound,
            format!("no such user: {user:?}"),
        ))
    }
}

/// One row; returns its id and the text, which is shown this once.
fn insert(
    conn: &Connection,
    user: &str,
    kind: TokenKind,
    name: &str,
    lifetime: Option<Duration>,
    family: Option<i64>,
) -> Result<(i64, String), StoreError> {
    let token = NewToken::generate();
    let created = now();
    conn.execute(
        "INSERT INTO tokens (hash, user, kind, name, created, expires, family)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            token.digest,
            user,
            kind.as_str(),
            name,
            created,
            token_expiry(created, lifetime),
            family
        ],
    )
    .map_err(internal)?;
    Ok((conn.last_insert_rowid(), token.text))
}

/// A login's pair in `family` (None: a new login, whose family is its
/// session token's id).
fn insert_login(
    conn: &Connection,
    user: &str,
    lifetimes: LoginLifetimes,
    family: Option<i64>,
) -> Result<LoginTokens, StoreError> {
    let (id, session) = insert(
        conn,
        user,
        TokenKind::Session,
        "login",
        Some(lifetimes.session),
        family,
    )?;
    let family = match family {
        Some(family) => family,
        None => {
            conn.execute("UPDATE tokens SET family = ?1 WHERE id = ?1", params![id])
                .map_err(internal)?;
            id
        }
    };
    let refresh = match lifetimes.refresh {
        Some(lifetime) => Some(
            insert(
                conn,
                user,
                TokenKind::Refresh,
                "login",
                Some(lifetime),
                Some(family),
            )?
            .1,
        ),
        None => None,
    };
    Ok(LoginTokens {
        user: user.to_owned(),
        session,
        refresh,
    })
}

/// Expired tokens nobody presents again go here, not only when presented.
fn remove_expired(conn: &Connection) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM tokens WHERE expires IS NOT NULL AND expires <= ?1",
        params![now()],
    )
    .map_err(internal)?;
    Ok(())
}

impl Tokens {
    pub fn new(book: Arc<dyn TokenBook>) -> Tokens {
        Tokens { book }
    }

    /// Makes a token for `user` outside any login (a personal token);
    /// returns its id and its text, which is shown this once and kept
    /// nowhere.
    pub fn issue(
        &self,
        user: &str,
        kind: TokenKind,
        name: &str,
        lifetime: Option<Duration>,
    ) -> Result<(i64, String), StoreError> {
        self.book.issue(user, kind, name, lifetime)
    }

    /// A personal token named `name` (what it is for: 1 to 100 printable
    /// characters) for a script; returns its id and its text.
    pub fn add_personal(
        &self,
        user: &str,
        name: &str,
        lifetime: Option<Duration>,
    ) -> Result<(i64, String), StoreError> {
        let name = name.trim();
        if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
            return Err(StoreError::new(
                ErrorKind::Invalid,
                "a token needs a name of 1 to 100 printable characters",
            ));
        }
        self.issue(user, TokenKind::Personal, name, lifetime)
    }

    /// The tokens of a login with the password (which the caller checked).
    pub fn issue_login(
        &self,
        user: &str,
        lifetimes: LoginLifetimes,
    ) -> Result<LoginTokens, StoreError> {
        self.book.issue_login(user, lifetimes)
    }

    /// Trades a refresh token for a new pair of the same login: the old
    /// refresh token and the login's session tokens end (rotation, so a
    /// stolen refresh token works at most once). None if it is not a live
    /// refresh token.
    pub fn refresh(
        &self,
        text: &str,
        lifetimes: LoginLifetimes,
    ) -> Result<Option<LoginTokens>, StoreError> {
        if !text.starts_with(PREFIX) {
            return Ok(None);
        }
        self.book.refresh(text, lifetimes)
    }

    /// The owner of a presented token, if it is known, unexpired and its
    /// user still exists. Expired tokens found on the way are removed.
    pub fn authenticate(&self, text: &str) -> Result<Option<TokenOwner>, StoreError> {
        if !text.starts_with(PREFIX) {
            return Ok(None);
        }
        self.book.authenticate(text)
    }

    /// The user's tokens that have not expired, oldest first (a login's
    /// refresh token is part of its session and not listed apart).
    pub fn list(&self, user: &str) -> Result<Vec<ApiToken>, StoreError> {
        self.book.list(user)
    }

    /// Revokes one of the user's tokens by id, and with a login's token
    /// the rest of that login; false if they have none such.
    pub fn revoke(&self, user: &str, id: i64) -> Result<bool, StoreError> {
        self.book.revoke(user, id)
    }
}

/// The data directory's book: the `tokens` table of the user database.
impl TokenBook for UserDb {
    /// Makes a token for `user` outside any login (a personal token);
    /// returns its id and its text, which is shown this once and kept
    /// nowhere.
    fn issue(
        &self,
        user: &str,
        kind: TokenKind,
        name: &str,
        lifetime: Option<Duration>,
    ) -> Result<(i64, String), StoreError> {
        let conn = self.conn();
        require_user(&conn, user)?;
        remove_expired(&conn)?;
        insert(&conn, user, kind, name, lifetime, None)
    }

    /// The tokens of a login with the password (which the caller checked).
    fn issue_login(
        &self,
        user: &str,
        lifetimes: LoginLifetimes,
    ) -> Result<LoginTokens, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(internal)?;
        require_user(&tx, user)?;
        remove_expired(&tx)?;
        let tokens = insert_login(&tx, user, lifetimes, None)?;
        tx.commit().map_err(internal)?;
        Ok(tokens)
    }

    /// Trades a refresh token for a new pair of the same login: the old
    /// refresh token and the login's session tokens end (rotation, so a
    /// stolen refresh token works at most once). None if it is not a live
    /// refresh token.
    fn refresh(
        &self,
        text: &str,
        lifetimes: LoginLifetimes,
    ) -> Result<Option<LoginTokens>, StoreError> {
        let Some(owner) = TokenBook::authenticate(self, text)? else {
            return Ok(None);
        };
        if owner.kind != TokenKind::Refresh {
            return Ok(None);
        }
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(internal)?;
        let family: Option<i64> = tx
            .query_row(
                "SELECT family FROM tokens WHERE id = ?1",
                params![owner.token_id],
                |row| row.get(0),
            )
            .optional()
            .map_err(internal)?
            .flatten();
        // Gone meanwhile (a racing refresh or a logout): refused.
        let Some(family) = family else {
            return Ok(None);
        };
        tx.execute("DELETE FROM tokens WHERE family = ?1", params![family])
            .map_err(internal)?;
        let tokens = insert_login(&tx, &owner.user, lifetimes, Some(family))?;
        tx.commit().map_err(internal)?;
        Ok(Some(tokens))
    }

    /// The owner of a presented token, if it is known, unexpired and its
    /// user still exists. Expired tokens found on the way are removed.
    fn authenticate(&self, text: &str) -> Result<Option<TokenOwner>, StoreError> {
        let conn = self.conn();
        let found: Option<(i64, String, String, Option<i64>)> = conn
            .query_row(
                "SELECT t.id, t.user, t.kind, t.expires FROM tokens t
                 JOIN users u ON u.name = t.user WHERE t.hash = ?1",
                params![token_digest(text)],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
            )
            .optional()
            .map_err(internal)?;
        match found {
            Some((id, _, _, Some(expires))) if expires <= now() => {
                conn.execute("DELETE FROM tokens WHERE id = ?1", params![id])
                    .map_err(internal)?;
                Ok(None)
            }
            Some((token_id, user, kind, expires)) => Ok(Some(TokenOwner {
                user,
                token_id,
                kind: TokenKind::parse(&kind),
                expires,
            })),
            None => Ok(None),
        }
    }

    /// The user's tokens that have not expired, oldest first (a login's
    /// refresh token is part of its session and not listed apart).
    fn list(&self, user: &str) -> Result<Vec<ApiToken>, StoreError> {
        let conn = self.conn();
        let mut statement = conn
            .prepare(
                "SELECT id, name, kind, created, expires FROM tokens
                 WHERE user = ?1 AND kind != 'refresh' AND (expires IS NULL OR expires > ?2)
                 ORDER BY id",
            )
            .map_err(internal)?;
        let rows = statement
            .query_map(params![user, now()], |row| {
                let kind: String = row.get(2)?;
                Ok(ApiToken {
                    id: row.get(0)?,
                    name: row.get(1)?,
                    kind: TokenKind::parse(&kind).as_str(),
                    created: row.get(3)?,
                    expires: row.get(4)?,
                })
            })
            .map_err(internal)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(internal)
    }

    /// Revokes one of the user's tokens by id, and with a login's token
    /// the rest of that login; false if they have none such.
    fn revoke(&self, user: &str, id: i64) -> Result<bool, StoreError> {
        let removed = self
            .conn()
            .execute(
                "DELETE FROM tokens WHERE user = ?2 AND (id = ?1 OR family =
                   (SELECT family FROM tokens WHERE id = ?1 AND user = ?2))",
                params![id, user],
            )
            .map_err(internal)?;
        Ok(removed > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book() -> (tempfile::TempDir, Tokens, Arc<UserDb>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = UserDb::open(&dir.path().join("users.db"))
            .expect("open")
            .with_iterations(4096);
        db.add("alice", "pw", None).expect("add");
        db.add("bob", "pw", None).expect("add");
        let db = Arc::new(db);
        (dir, Tokens::new(db.clone()), db)
    }

    #[test]
    fn issued_tokens_authenticate_until_revoked() {
        let (_dir, tokens, _db) = book();
        let (id, text) = tokens
            .issue("alice", TokenKind::Personal, "ci", None)
            .unwrap();
        assert!(text.starts_with(PREFIX) && text.len() > 40);
        let owner = tokens.authenticate(&text).unwrap().expect("known token");
        assert_eq!(
            owner,
            TokenOwner {
                user: "alice".into(),
                token_id: id,
                kind: TokenKind::Personal,
                expires: None,
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
        let (_dir, tokens, db) = book();
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
        let rows: i64 = db
            .conn()
            .query_row("SELECT COUNT(*) FROM tokens", [], |row| row.get(0))
            .unwrap();
        assert_eq!(
            rows, 1,
            "expired tokens are removed when the next is issued"
        );
        assert_eq!(tokens.authenticate("").unwrap(), None);
        let (_, bobs) = tokens.issue("bob", TokenKind::Personal, "x", None).unwrap();
        db.delete("bob").unwrap();
        assert_eq!(tokens.authenticate(&bobs).unwrap(), None);
        assert!(tokens
            .issue("nobody", TokenKind::Personal, "x", None)
            .is_err());
    }

    #[test]
    fn a_refresh_token_buys_one_new_pair_and_logout_ends_the_login() {
        let (_dir, tokens, _db) = book();
        let lifetimes = LoginLifetimes {
            session: Duration::from_secs(60),
            refresh: Some(Duration::from_secs(600)),
        };
        let first = tokens.issue_login("alice", lifetimes).unwrap();
        let refresh = first.refresh.clone().expect("a refresh token");
        let session = tokens.authenticate(&first.session).unwrap().unwrap();
        assert_eq!(session.kind, TokenKind::Session);
        assert_eq!(
            tokens.authenticate(&refresh).unwrap().unwrap().kind,
            TokenKind::Refresh
        );
        assert_eq!(
            tokens.refresh(&first.session, lifetimes).unwrap(),
            None,
            "a session token is no refresh token"
        );
        let second = tokens.refresh(&refresh, lifetimes).unwrap().expect("pair");
        assert_eq!(second.user, "alice");
        assert_eq!(tokens.authenticate(&first.session).unwrap(), None);
        assert_eq!(
            tokens.refresh(&refresh, lifetimes).unwrap(),
            None,
            "a refresh token works once"
        );
        let listed = tokens.list("alice").unwrap();
        assert_eq!(listed.len(), 1, "refresh tokens are not listed apart");
        let owner = tokens.authenticate(&second.session).unwrap().unwrap();
        let other_login = tokens.issue_login("alice", lifetimes).unwrap();
        assert!(tokens.revoke("alice", owner.token_id).unwrap());
        assert_eq!(tokens.authenticate(&second.session).unwrap(), None);
        let second_refresh = second.refresh.expect("refresh");
        assert_eq!(tokens.authenticate(&second_refresh).unwrap(), None);
        assert!(
            tokens.authenticate(&other_login.session).unwrap().is_some(),
            "another login lives on"
        );
        let cookie_login = tokens
            .issue_login(
                "alice",
                LoginLifetimes {
                    session: Duration::from_secs(60),
                    refresh: None,
                },
            )
            .unwrap();
        assert_eq!(cookie_login.refresh, None);
    }

    #[test]
    fn the_database_keeps_no_token_text() {
        let (dir, tokens, db) = book();
        let (_, text) = tokens
            .issue("alice", TokenKind::Personal, "ci", None)
            .unwrap();
        drop((tokens, db));
        let mut raw = Vec::new();
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            raw.extend(std::fs::read(entry.unwrap().path()).unwrap());
        }
        let needle = &text.as_bytes()[PREFIX.len()..];
        assert!(!raw.windows(needle.len()).any(|w| w == needle));
    }
}
