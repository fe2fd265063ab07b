//! The user database: one SQLite file (`users.db`) in the data directory.
//! SQLite rather than a file of our own because the `netdisk user ...`
//! commands change it while a server is running and reading it.

use crate::user_name::{validate_user_name, UserNameError};
use netdisk_proto::scram::{ScramError, Verifier, DEFAULT_ITERATIONS};
use rand::RngCore;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Debug, thiserror::Error)]
pub enum UserDbError {
    #[error(transparent)]
    Name(#[from] UserNameError),
    #[error("user {0:?} already exists")]
    Exists(String),
    #[error("no such user: {0:?}")]
    NotFound(String),
    #[error("password refused: {0}")]
    Password(#[from] ScramError),
    #[error("password is empty")]
    EmptyPassword,
    #[error("user database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("user database was created by a newer netdisk (schema {0})")]
    Schema(i64),
}

/// A SCRAM verifier for `password` with a fresh random salt: what a user
/// database stores instead of the password.
pub fn new_verifier(password: &str, iterations: u32) -> Result<Verifier, UserDbError> {
    if password.is_empty() {
        return Err(UserDbError::EmptyPassword);
    }
    let mut salt = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut salt);
    Ok(Verifier::from_password(password, &salt, iterations)?)
}

/// What `user list` shows. The verifier is never exposed here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    pub name: String,
    /// Byte quota; `None` is unlimited.
    pub quota: Option<u64>,
    /// Seconds since the Unix epoch.
    pub created: i64,
}

const SCHEMA_VERSION: i64 = 1;

/// A user's own trash and versions settings; each unset one is the server's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionOverrides {
    pub keep_trash: Option<Duration>,
    pub keep_versions: Option<u32>,
    pub free_space_from_trash: Option<bool>,
}

impl RetentionOverrides {
    /// The settings for this user: theirs where set, else `server`'s.
    pub fn over(&self, server: crate::Retention) -> crate::Retention {
        crate::Retention {
            keep_trash: self.keep_trash.unwrap_or(server.keep_trash),
            keep_versions: self.keep_versions.unwrap_or(server.keep_versions),
            free_space_from_trash: self
                .free_space_from_trash
                .unwrap_or(server.free_space_from_trash),
        }
    }
}

pub struct UserDb {
    conn: Mutex<Connection>,
    iterations: u32,
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn quota_to_sql(quota: Option<u64>) -> Option<i64> {
    quota.map(|q| i64::try_from(q).unwrap_or(i64::MAX))
}

impl UserDb {
    /// Opens (creating if needed) the database file at `path`.
    pub fn open(path: &Path) -> Result<UserDb, UserDbError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(UserDbError::Schema(version));
        }
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS users (
                name TEXT PRIMARY KEY NOT NULL,
                salt BLOB NOT NULL,
                iterations INTEGER NOT NULL,
                stored_key BLOB NOT NULL,
                server_key BLOB NOT NULL,
                quota INTEGER,
                created INTEGER NOT NULL
            ) STRICT;
            -- API tokens (tokens.rs); only each token's SHA-256 is kept.
            -- A new table, not a new schema: older builds ignore it.
            CREATE TABLE IF NOT EXISTS tokens (
                id INTEGER PRIMARY KEY,
                hash BLOB NOT NULL UNIQUE,
                user TEXT NOT NULL,
                kind TEXT NOT NULL,
                name TEXT NOT NULL,
                created INTEGER NOT NULL,
                expires INTEGER,
                -- A login's session and refresh tokens share the session's
                -- first id, so one logout or revocation ends them all.
                family INTEGER
            ) STRICT;
            -- Share links (shares.rs).
            CREATE TABLE IF NOT EXISTS shares (
                id INTEGER PRIMARY KEY,
                token TEXT NOT NULL UNIQUE,
                user TEXT NOT NULL,
                path TEXT NOT NULL,
                kind TEXT NOT NULL,
                password_salt BLOB,
                password_hash BLOB,
                password_iterations INTEGER,
                upload_only INTEGER NOT NULL,
                max_downloads INTEGER,
                downloads INTEGER NOT NULL,
                created INTEGER NOT NULL,
                expires INTEGER
            ) STRICT;
            -- Resumable uploads by id (resumable.rs): where each one's
            -- bytes go; the bytes are the target's kept partial.
            CREATE TABLE IF NOT EXISTS resumable_uploads (
                id TEXT PRIMARY KEY NOT NULL,
                user TEXT NOT NULL,
                path TEXT NOT NULL,
                size INTEGER NOT NULL,
                modified INTEGER,
                blake3 TEXT,
                created INTEGER NOT NULL
            ) STRICT;
            -- A user's own trash and versions settings (retention.rs);
            -- NULL: the server's.
            CREATE TABLE IF NOT EXISTS user_retention (
                name TEXT PRIMARY KEY NOT NULL,
                keep_trash INTEGER,
                keep_versions INTEGER,
                free_space_from_trash INTEGER
            ) STRICT;
            CREATE TABLE IF NOT EXISTS secrets (
                name TEXT PRIMARY KEY NOT NULL,
                value BLOB NOT NULL
            ) STRICT;
            PRAGMA user_version = 1;",
        )?;
        // A shares table made before link passwords kept their cost gains it.
        if conn
            .prepare("SELECT password_iterations FROM shares LIMIT 0")
            .is_err()
        {
            conn.execute_batch("ALTER TABLE shares ADD COLUMN password_iterations INTEGER")?;
        }
        // A tokens table made before logins had families gains the column.
        if conn.prepare("SELECT family FROM tokens LIMIT 0").is_err() {
            conn.execute_batch("ALTER TABLE tokens ADD COLUMN family INTEGER")?;
        }
        Ok(UserDb {
            conn: Mutex::new(conn),
            iterations: DEFAULT_ITERATIONS,
        })
    }

    /// Sets the PBKDF2 iteration count used for new and changed passwords.
    pub fn with_iterations(mut self, iterations: u32) -> UserDb {
        self.iterations = iterations;
        self
    }

    /// The PBKDF2 iteration count for new passwords (share links' too).
    pub(crate) fn iterations(&self) -> u32 {
        self.iterations
    }

    pub(crate) fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent
        // (it has its own transactions), so a poisoned lock is still usable.
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn make_verifier(&self, password: &str) -> Result<Verifier, UserDbError> {
        new_verifier(password, self.iterations)
    }

    pub fn add(&self, name: &str, password: &str, quota: Option<u64>) -> Result<(), UserDbError> {
        validate_user_name(name)?;
        let v = self.make_verifier(password)?;
        let inserted = self.conn().execute(
            "INSERT INTO users (name, salt, iterations, stored_key, server_key, quota, created)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(name) DO NOTHING",
            params![
                name,
                v.salt,
                v.iterations,
                &v.stored_key[..],
                &v.server_key[..],
                quota_to_sql(quota),
                now()
            ],
        )?;
        if inserted == 0 {
            return Err(UserDbError::Exists(name.to_owned()));
        }
        Ok(())
    }

    pub fn set_password(&self, name: &str, password: &str) -> Result<(), UserDbError> {
        let v = self.make_verifier(password)?;
        let changed = self.conn().execute(
            "UPDATE users SET salt = ?2, iterations = ?3, stored_key = ?4, server_key = ?5 WHERE name = ?1",
            params![name, v.salt, v.iterations, &v.stored_key[..], &v.server_key[..]],
        )?;
        if changed == 0 {
            return Err(UserDbError::NotFound(name.to_owned()));
        }
        Ok(())
    }

    pub fn set_quota(&self, name: &str, quota: Option<u64>) -> Result<(), UserDbError> {
        let changed = self.conn().execute(
            "UPDATE users SET quota = ?2 WHERE name = ?1",
            params![name, quota_to_sql(quota)],
        )?;
        if changed == 0 {
            return Err(UserDbError::NotFound(name.to_owned()));
        }
        Ok(())
    }

    /// The user's own trash and versions settings (unset: the server's).
    pub fn retention_of(&self, name: &str) -> Result<RetentionOverrides, UserDbError> {
        let conn = self.conn();
        let row = conn
            .query_row(
                "SELECT keep_trash, keep_versions, free_space_from_trash
                 FROM user_retention WHERE name = ?1",
                params![name],
                |row| {
                    let trash: Option<i64> = row.get(0)?;
                    let versions: Option<i64> = row.get(1)?;
                    let free: Option<i64> = row.get(2)?;
                    Ok(RetentionOverrides {
                        keep_trash: trash.map(|s| Duration::from_secs(s.max(0) as u64)),
                        keep_versions: versions.map(|n| n.clamp(0, u32::MAX as i64) as u32),
                        free_space_from_trash: free.map(|f| f != 0),
                    })
                },
            )
            .optional()?;
        Ok(row.unwrap_or_default())
    }

    /// Sets the user's own trash and versions settings: each given one
    /// replaces theirs; `None` leaves it as it is.
    pub fn set_retention(
        &self,
        name: &str,
        changes: RetentionOverrides,
    ) -> Result<RetentionOverrides, UserDbError> {
        self.require(name)?;
        let mut merged = self.retention_of(name)?;
        merged.keep_trash = changes.keep_trash.or(merged.keep_trash);
        merged.keep_versions = changes.keep_versions.or(merged.keep_versions);
        merged.free_space_from_trash = changes
            .free_space_from_trash
            .or(merged.free_space_from_trash);
        self.write_retention(name, &merged)?;
        Ok(merged)
    }

    /// Gives the user the server's trash and versions settings again.
    pub fn reset_retention(&self, name: &str) -> Result<(), UserDbError> {
        self.require(name)?;
        self.conn()
            .execute("DELETE FROM user_retention WHERE name = ?1", params![name])?;
        Ok(())
    }

    fn write_retention(&self, name: &str, values: &RetentionOverrides) -> Result<(), UserDbError> {
        let secs = values
            .keep_trash
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        self.conn().execute(
            "INSERT INTO user_retention (name, keep_trash, keep_versions, free_space_from_trash)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(name) DO UPDATE SET keep_trash = ?2, keep_versions = ?3,
                 free_space_from_trash = ?4",
            params![
                name,
                secs,
                values.keep_versions.map(i64::from),
                values.free_space_from_trash.map(i64::from)
            ],
        )?;
        Ok(())
    }

    fn require(&self, name: &str) -> Result<(), UserDbError> {
        let found: Option<i64> = self
            .conn()
            .query_row(
                "SELECT 1 FROM users WHERE name = ?1",
                params![name],
                |row| row.get(0),
            )
            .optional()?;
        found
            .map(|_| ())
            .ok_or_else(|| UserDbError::NotFound(name.to_owned()))
    }

    pub fn delete(&self, name: &str) -> Result<(), UserDbError> {
        self.conn()
            .execute("DELETE FROM user_retention WHERE name = ?1", params![name])?;
        let changed = self
            .conn()
            .execute("DELETE FROM users WHERE name = ?1", params![name])?;
        if changed == 0 {
            return Err(UserDbError::NotFound(name.to_owned()));
        }
        Ok(())
    }

    pub fn list(&self) -> Result<Vec<UserInfo>, UserDbError> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT name, quota, created FROM users ORDER BY name")?;
        let rows = stmt.query_map([], |row| {
            let quota: Option<i64> = row.get(1)?;
            Ok(UserInfo {
                name: row.get(0)?,
                quota: quota.map(|q| q.max(0) as u64),
                created: row.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    pub fn is_empty(&self) -> Result<bool, UserDbError> {
        let count: i64 = self
            .conn()
            .query_row("SELECT COUNT(*) FROM users", [], |row| row.get(0))?;
        Ok(count == 0)
    }

    /// A 32-byte server secret, created at random on first use and kept.
    pub fn secret(&self, name: &str) -> Result<[u8; 32], UserDbError> {
        let mut fresh = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut fresh);
        let conn = self.conn();
        // INSERT OR IGNORE keeps the first value when two processes race.
        conn.execute(
            "INSERT OR IGNORE INTO secrets (name, value) VALUES (?1, ?2)",
            params![name, &fresh[..]],
        )?;
        let value: Vec<u8> = conn.query_row(
            "SELECT value FROM secrets WHERE name = ?1",
            params![name],
            |row| row.get(0),
        )?;
        value
            .try_into()
            .map_err(|_| UserDbError::Sqlite(rusqlite::Error::InvalidQuery))
    }

    /// The stored SCRAM verifier and quota, or `None` for an unknown user.
    pub fn credentials(&self, name: &str) -> Result<Option<(Verifier, Option<u64>)>, UserDbError> {
        let row = self
            .conn()
            .query_row(
                "SELECT salt, iterations, stored_key, server_key, quota FROM users WHERE name = ?1",
                params![name],
                |row| {
                    let salt: Vec<u8> = row.get(0)?;
                    let iterations: u32 = row.get(1)?;
                    let stored: Vec<u8> = row.get(2)?;
                    let server: Vec<u8> = row.get(3)?;
                    let quota: Option<i64> = row.get(4)?;
                    Ok((salt, iterations, stored, server, quota))
                },
            )
            .optional()?;
        let Some((salt, iterations, stored, server, quota)) = row else {
            return Ok(None);
        };
        let (Ok(stored_key), Ok(server_key)) = (stored.try_into(), server.try_into()) else {
            // A damaged row: treat it like an unknown user rather than fail open.
            tracing::error!(
                user = name,
                "stored verifier has the wrong length; refusing login"
            );
            return Ok(None);
        };
        Ok(Some((
            Verifier {
                salt,
                iterations,
                stored_key,
                server_key,
            },
            quota.map(|q| q.max(0) as u64),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (tempfile::TempDir, UserDb) {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = UserDb::open(&dir.path().join("users.db"))
            .expect("open")
            .with_iterations(4096);
        (dir, db)
    }

    #[test]
    fn add_list_passwd_delete() {
        let (_dir, db) = db();
        assert!(db.is_empty().unwrap());
        db.add("bob", "pw1", None).unwrap();
        db.add("alice", "pw2", Some(1000)).unwrap();
        assert!(matches!(
            db.add("bob", "x", None),
            Err(UserDbError::Exists(_))
        ));
        let names: Vec<_> = db
            .list()
            .unwrap()
            .into_iter()
            .map(|u| (u.name, u.quota))
            .collect();
        assert_eq!(
            names,
            vec![("alice".into(), Some(1000)), ("bob".into(), None)]
        );

        let (before, _) = db.credentials("bob").unwrap().expect("bob exists");
        assert_eq!(
            before,
            Verifier::from_password("pw1", &before.salt, 4096).unwrap()
        );
        db.set_password("bob", "pw3").unwrap();
        let (after, _) = db.credentials("bob").unwrap().expect("bob exists");
        assert_ne!(after.salt, before.salt, "a new password gets a new salt");
        assert_eq!(
            after,
            Verifier::from_password("pw3", &after.salt, 4096).unwrap()
        );

        db.delete("bob").unwrap();
        assert!(db.credentials("bob").unwrap().is_none());
        assert!(matches!(db.delete("bob"), Err(UserDbError::NotFound(_))));
        assert!(matches!(
            db.set_password("bob", "x"),
            Err(UserDbError::NotFound(_))
        ));
    }

    #[test]
    fn secrets_are_created_once_and_kept() {
        let (dir, db) = db();
        let first = db.secret("decoy").unwrap();
        assert_eq!(db.secret("decoy").unwrap(), first);
        assert_ne!(db.secret("other").unwrap(), first);
        drop(db);
        let reopened = UserDb::open(&dir.path().join("users.db")).unwrap();
        assert_eq!(reopened.secret("decoy").unwrap(), first);
    }

    #[test]
    fn refuses_bad_names_and_empty_passwords() {
        let (_dir, db) = db();
        assert!(matches!(
            db.add("../x", "pw", None),
            Err(UserDbError::Name(_))
        ));
        assert!(matches!(
            db.add("carol", "", None),
            Err(UserDbError::EmptyPassword)
        ));
    }

    #[test]
    fn stores_no_password() {
        let (dir, db) = db();
        db.add("dave", "correct horse battery staple", None)
            .unwrap();
        drop(db);
        let mut raw = Vec::new();
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            raw.extend(std::fs::read(entry.unwrap().path()).unwrap());
        }
        let needle = b"correct horse";
        assert!(!raw.windows(needle.len()).any(|w| w == needle));
    }
}
