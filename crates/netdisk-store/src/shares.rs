//! Share links: a user hands out an unguessable token that reaches one
//! file (downloads) or one folder (a read-only listing, or an upload-only
//! drop box) of their home, with no login. A link may expire, allow a
//! number of downloads, or want a password (hashed like a user's, and
//! throttled like a login). The token is kept as it is, so its owner can
//! list their links again; it is 144 random bits, unguessable like a
//! session token. A revoked link is gone from the table: it answers "not
//! found"; an expired or used-up one stays, so it answers "gone".
//!
//! A path inside a shared folder is resolved on its own (it cannot climb
//! out with `..`), then put under the share's root, and no name on the
//! way down may be a symlink: a link to elsewhere in the home would leak
//! what was not shared.

use crate::audit::Event;
use crate::error::{ErrorKind, StoreError};
use crate::space::Space;
use crate::throttle::LoginThrottle;
use crate::upload::{Upload, UploadSpec};
use crate::users::{now, UserDb};
use crate::{Download, SourceAttributes};
use base64::Engine;
use hmac::{Hmac, Mac};
use netdisk_proto::scram::Verifier;
use netdisk_proto::{Entry, EntryKind, HomePath};
use rand::RngCore;
use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;
use sha2::Sha256;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use subtle::ConstantTimeEq;

/// What a share token starts with, so it is recognisable in a leak scan.
const PREFIX: &str = "nds_";
/// A password-unlocked link stays unlocked this long for that browser.
const UNLOCK_LIFETIME: i64 = 12 * 3600;
/// Links expired longer ago than this are dropped from the table.
const KEEP_EXPIRED: i64 = 30 * 24 * 3600;
const SHARE_COLUMNS: &str = "id, token, user, path, kind, password_hash IS NOT NULL, \
     upload_only, max_downloads, downloads, created, expires";

/// A link as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Share {
    pub id: i64,
    pub token: String,
    /// The owner.
    #[serde(skip)]
    pub user: String,
    /// Relative to the owner's home ("." for the home itself).
    #[serde(skip)]
    pub relative: String,
    /// As users see it: "~/photos".
    pub path: String,
    /// "file" or "dir".
    pub kind: &'static str,
    pub has_password: bool,
    pub upload_only: bool,
    pub max_downloads: Option<u64>,
    pub downloads: u64,
    /// Seconds since the Unix epoch.
    pub created: i64,
    pub expires: Option<i64>,
}

impl Share {
    pub fn is_dir(&self) -> bool {
        self.kind == "dir"
    }

    /// Why the link no longer works, if it does not.
    fn ended(&self, at: i64) -> Option<&'static str> {
        if self.expires.is_some_and(|expires| expires <= at) {
            return Some("expired");
        }
        if self.max_downloads.is_some_and(|max| self.downloads >= max) {
            return Some("used up");
        }
        None
    }
}

/// A link's password as stored: PBKDF2-HMAC-SHA256 (the SCRAM stored key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkPassword {
    pub salt: Vec<u8>,
    pub hash: Vec<u8>,
    /// PBKDF2's count when it was set (a later default may differ).
    pub iterations: u32,
}

/// A link to store, made and checked by `Shares`.
#[derive(Debug, Clone)]
pub struct NewShare {
    pub token: String,
    pub user: String,
    /// Relative to the owner's home ("." for the home itself).
    pub relative: String,
    /// "file" or "dir".
    pub kind: &'static str,
    pub password: Option<LinkPassword>,
    pub upload_only: bool,
    pub max_downloads: Option<u64>,
    pub created: i64,
    pub expires: Option<i64>,
}

/// Where links are kept (the data directory's user database, or one
/// several servers share). Each call is one statement or transaction;
/// calls block: the engine makes them on tokio's blocking pool.
pub trait ShareBook: Send + Sync + 'static {
    /// Stores `link`, and drops links that expired before `forget_before`
    /// (seconds since the epoch); returns the link as stored.
    fn insert(&self, link: NewShare, forget_before: i64) -> Result<Share, StoreError>;
    /// A user's links, newest first.
    fn list(&self, user: &str) -> Result<Vec<Share>, StoreError>;
    /// Removes the user's link `id`; whether there was one.
    fn remove(&self, user: &str, id: i64) -> Result<bool, StoreError>;
    /// The link `token` names, ended or not.
    fn find(&self, token: &str) -> Result<Option<Share>, StoreError>;
    /// Counts one download unless the link is used up or expired at `at`
    /// (decided atomically); whether it was counted.
    fn count_download(&self, id: i64, at: i64) -> Result<bool, StoreError>;
    /// The link's password, if it has one.
    fn password_of(&self, id: i64) -> Result<Option<LinkPassword>, StoreError>;
}

/// What a new link allows.
#[derive(Debug, Clone, Default)]
pub struct ShareSpec {
    pub password: Option<String>,
    pub expires_in: Option<Duration>,
    pub max_downloads: Option<u64>,
    /// A folder only: visitors may add files, not see or fetch any.
    pub upload_only: bool,
}

/// Why a link was not opened.
#[derive(Debug)]
pub enum ShareRefused {
    /// No such link, or revoked: the same answer, so tokens cannot be probed.
    NotFound,
    /// Expired or used up (the reason is for people).
    Gone(&'static str),
    /// The link wants its password first (`Store::unlock_share`).
    Locked,
    /// A wrong password.
    WrongPassword,
    /// Too many wrong passwords: try after this.
    Throttled(Duration),
    /// What the visitor asked is not something this link does (a listing
    /// of a drop box, a path inside a file link, a name that exists).
    Store(StoreError),
}

impl From<StoreError> for ShareRefused {
    fn from(err: StoreError) -> ShareRefused {
        ShareRefused::Store(err)
    }
}

fn internal(e: rusqlite::Error) -> StoreError {
    StoreError::new(ErrorKind::Internal, format!("share database: {e}"))
}

fn new_token() -> String {
    let mut secret = [0u8; 18];
    rand::thread_rng().fill_bytes(&mut secret);
    format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
    )
}

/// A link's path as users see it: "~/photos".
pub fn share_display(relative: &str) -> String {
    if relative == "." {
        "~".to_owned()
    } else {
        format!("~/{relative}")
    }
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<Share> {
    let relative: String = row.get(3)?;
    let kind: String = row.get(4)?;
    Ok(Share {
        id: row.get(0)?,
        token: row.get(1)?,
        user: row.get(2)?,
        path: share_display(&relative),
        relative,
        kind: if kind == "dir" { "dir" } else { "file" },
        has_password: row.get(5)?,
        upload_only: row.get(6)?,
        max_downloads: row
            .get::<_, Option<i64>>(7)?
            .map(|n| u64::try_from(n).unwrap_or(0)),
        downloads: u64::try_from(row.get::<_, i64>(8)?).unwrap_or(0),
        created: row.get(9)?,
        expires: row.get(10)?,
    })
}

/// The links' rules over their book. Cheap to clone.
#[derive(Clone)]
pub struct Shares {
    book: Arc<dyn ShareBook>,
    /// PBKDF2's count for a new link's password.
    iterations: u32,
    /// Keys the proofs that a browser gave a link's password.
    unlock_key: [u8; 32],
    throttle: Arc<LoginThrottle>,
}

impl Shares {
    pub(crate) fn new(
        book: Arc<dyn ShareBook>,
        iterations: u32,
        unlock_key: [u8; 32],
        throttle: LoginThrottle,
    ) -> Shares {
        Shares {
            book,
            iterations,
            unlock_key,
            throttle: Arc::new(throttle),
        }
    }

    fn insert(
        &self,
        user: &str,
        path: &HomePath,
        kind: &'static str,
        spec: &ShareSpec,
    ) -> Result<Share, StoreError> {
        let password = match spec.password.as_deref() {
            Some("") => {
                return Err(StoreError::new(
                    ErrorKind::Invalid,
                    "a link's password cannot be empty",
                ))
            }
            Some(password) => {
                let mut salt = [0u8; 16];
                rand::thread_rng().fill_bytes(&mut salt);
                let iterations = self.iterations;
                let verifier = Verifier::from_password(password, &salt, iterations)
                    .map_err(|e| StoreError::new(ErrorKind::Invalid, e.to_string()))?;
                Some(LinkPassword {
                    salt: salt.to_vec(),
                    hash: verifier.stored_key.to_vec(),
                    iterations,
                })
            }
            None => None,
        };
        let created = now();
        let expires = spec
            .expires_in
            .map(|d| created.saturating_add(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)));
        let link = NewShare {
            token: new_token(),
            user: user.to_owned(),
            relative: path.relative().to_owned(),
            kind,
            password,
            upload_only: spec.upload_only,
            max_downloads: spec.max_downloads,
            created,
            expires,
        };
        self.book.insert(link, created.saturating_sub(KEEP_EXPIRED))
    }

    /// A user's links, newest first (ended ones too, until removed).
    pub fn list(&self, user: &str) -> Result<Vec<Share>, StoreError> {
        self.book.list(user)
    }

    fn remove(&self, user: &str, id: i64) -> Result<bool, StoreError> {
        self.book.remove(user, id)
    }

    /// The link `token` names, if it still works.
    fn find(&self, token: &str) -> Result<Share, ShareRefused> {
        let share = self.book.find(token)?.ok_or(ShareRefused::NotFound)?;
        match share.ended(now()) {
            Some(reason) => Err(ShareRefused::Gone(reason)),
            None => Ok(share),
        }
    }

    /// Counts one download, unless the link ended meanwhile (two visitors
    /// racing for the last download: one gets it).
    fn count_download(&self, id: i64) -> Result<(), ShareRefused> {
        if self.book.count_download(id, now())? {
            Ok(())
        } else {
            Err(ShareRefused::Gone("used up"))
        }
    }

    fn proof_mac(&self, share: &Share, until: i64) -> Vec<u8> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.unlock_key)
            .expect("HMAC takes any key length");
        mac.update(b"netdisk share unlock v1\0");
        mac.update(&share.id.to_be_bytes());
        mac.update(share.token.as_bytes());
        mac.update(&until.to_be_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// Proof that the bearer gave the link's password: "until.mac".
    fn proof(&self, share: &Share) -> String {
        let until = now().saturating_add(UNLOCK_LIFETIME);
        let mac = self.proof_mac(share, until);
        format!(
            "{until}.{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac)
        )
    }

    fn proof_holds(&self, share: &Share, proof: &str) -> bool {
        let Some((until, mac)) = proof.split_once('.') else {
            return false;
        };
        let (Ok(until), Ok(mac)) = (
            until.parse::<i64>(),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(mac),
        ) else {
            return false;
        };
        until > now() && bool::from(self.proof_mac(share, until).ct_eq(&mac))
    }
}

impl Space {
    /// A new link to `path` (a file or a folder of this user's).
    pub async fn add_share(&self, path: &HomePath, spec: ShareSpec) -> Result<Share, StoreError> {
        let share = self.insert_share(path, spec).await;
        self.audit(Event::ShareAdd {
            peer: self.peer,
            user: &self.user,
            path: &path.to_string(),
            share: share.as_ref().map_or(0, |s| s.id),
            result: share.as_ref().map_or_else(|e| e.code().as_str(), |_| "ok"),
        });
        share
    }

    async fn insert_share(&self, path: &HomePath, spec: ShareSpec) -> Result<Share, StoreError> {
        let entry = self.entry(path).await?;
        let kind = match entry.kind {
            EntryKind::File => "file",
            EntryKind::Dir => "dir",
            _ => {
                return Err(StoreError::new(
                    ErrorKind::Invalid,
                    format!("{path} is neither a file nor a folder: it cannot be shared"),
                ))
            }
        };
        if spec.upload_only && kind == "file" {
            return Err(StoreError::new(
                ErrorKind::Invalid,
                "only a folder can be an upload-only link",
            ));
        }
        if spec.max_downloads == Some(0) {
            return Err(StoreError::new(
                ErrorKind::Invalid,
                "max_downloads must be at least 1 (none: no limit)",
            ));
        }
        if spec.upload_only && spec.max_downloads.is_some() {
            return Err(StoreError::new(
                ErrorKind::Invalid,
                "an upload-only link has no downloads to count",
            ));
        }
        let shares = self.store.shares.clone();
        let (user, at) = (self.user.clone(), path.clone());
        tokio::task::spawn_blocking(move || shares.insert(&user, &at, kind, &spec))
            .await
            .map_err(StoreError::worker)?
    }

    /// This user's links.
    pub async fn shares(&self) -> Result<Vec<Share>, StoreError> {
        let shares = self.store.shares.clone();
        let user = self.user.clone();
        tokio::task::spawn_blocking(move || shares.list(&user))
            .await
            .map_err(StoreError::worker)?
    }

    /// Revokes one of this user's links: it answers "not found" from now on.
    pub async fn remove_share(&self, id: i64) -> Result<(), StoreError> {
        let shares = self.store.shares.clone();
        let user = self.user.clone();
        let removed = tokio::task::spawn_blocking(move || shares.remove(&user, id))
            .await
            .map_err(StoreError::worker)??;
        self.audit(Event::ShareRemove {
            peer: self.peer,
            user: &self.user,
            share: id,
            result: if removed { "ok" } else { "not_found" },
        });
        if removed {
            Ok(())
        } else {
            Err(StoreError::new(
                ErrorKind::NotFound,
                format!("you have no share link {id}"),
            ))
        }
    }
}

/// A working link, opened for one visitor's request. Until its password
/// is given (`unlocked`), it tells only what `Share` says of it.
pub struct OpenShare {
    pub share: Share,
    pub unlocked: bool,
    root: HomePath,
    /// The owner's files, for the visitor's address.
    space: Space,
    shares: Shares,
}

impl crate::Store {
    /// Opens link `token` for a visitor at `peer`; `proof` is what
    /// `unlock` gave them, for a link with a password.
    pub async fn open_share(
        &self,
        token: &str,
        peer: SocketAddr,
        proof: Option<&str>,
    ) -> Result<OpenShare, ShareRefused> {
        let shares = self.inner.shares.clone();
        let lookup = token.to_owned();
        let found = tokio::task::spawn_blocking(move || shares.find(&lookup))
            .await
            .map_err(StoreError::worker)?;
        let share = match found {
            Ok(share) => share,
            Err(refused) => {
                self.audit().record(Event::ShareUse {
                    peer,
                    share: 0,
                    user: "",
                    action: "open",
                    path: "",
                    result: match refused {
                        ShareRefused::Gone(_) => "gone",
                        _ => "not_found",
                    },
                });
                return Err(refused);
            }
        };
        let unlocked =
            !share.has_password || proof.is_some_and(|p| self.inner.shares.proof_holds(&share, p));
        let root = HomePath::home()
            .resolve(&share.relative)
            .map_err(StoreError::from)?;
        let space = self.space(&share.user, peer).await?;
        Ok(OpenShare {
            share,
            unlocked,
            root,
            space,
            shares: self.inner.shares.clone(),
        })
    }

    /// Checks a link's password; the proof to present from now on, or why not.
    pub async fn unlock_share(
        &self,
        token: &str,
        peer: SocketAddr,
        password: &str,
    ) -> Result<String, ShareRefused> {
        let shares = self.inner.shares.clone();
        let lookup = token.to_owned();
        let share = tokio::task::spawn_blocking(move || shares.find(&lookup))
            .await
            .map_err(StoreError::worker)??;
        let throttle_key = share.id.to_string();
        let ip: IpAddr = peer.ip();
        let shares = self.inner.shares.clone();
        shares
            .throttle
            .check(ip, &throttle_key)
            .await
            .map_err(ShareRefused::Throttled)?;
        let (id, given) = (share.id, password.to_owned());
        let lookup_shares = shares.clone();
        let matches = tokio::task::spawn_blocking(move || {
            // No password on the link: nothing to unlock, any proof is moot.
            let Some(LinkPassword {
                salt,
                hash,
                iterations,
            }) = lookup_shares.book.password_of(id)?
            else {
                return Ok::<_, StoreError>(true);
            };
            Ok(Verifier::from_password(&given, &salt, iterations)
                .is_ok_and(|derived| bool::from(derived.stored_key.ct_eq(&hash))))
        })
        .await
        .map_err(StoreError::worker)??;
        let result = if matches { "ok" } else { "failed" };
        self.audit().record(Event::ShareUse {
            peer,
            share: share.id,
            user: &share.user,
            action: "unlock",
            path: &share.path,
            result,
        });
        if !matches {
            tokio::time::sleep(shares.throttle.failed(ip, &throttle_key).await).await;
            return Err(ShareRefused::WrongPassword);
        }
        shares.throttle.succeeded(ip, &throttle_key).await;
        Ok(shares.proof(&share))
    }
}

impl OpenShare {
    fn audit(&self, action: &str, path: &HomePath, result: &str) {
        self.space.audit(Event::ShareUse {
            peer: self.space.peer,
            share: self.share.id,
            user: &self.share.user,
            action,
            path: &path.to_string(),
            result,
        });
    }

    fn refuse(&self, action: &str, path: &HomePath, err: StoreError) -> ShareRefused {
        self.audit(action, path, err.code().as_str());
        ShareRefused::Store(err)
    }

    /// A refusal from the owner's space as the visitor sees it: the path
    /// shown from the link's root, never where the owner keeps it (the
    /// space's messages name the owner's path).
    fn refuse_hiding_owner(&self, action: &str, path: &HomePath, err: StoreError) -> ShareRefused {
        let message = format!("{}: {}", self.shown(path), err.code().describe());
        self.refuse(action, path, StoreError::new(err.kind, message))
    }

    /// A path a visitor named inside the link (`None`: the shared file
    /// or folder itself), refused if it climbs out or passes a symlink.
    pub async fn resolve(&self, inner: Option<&str>) -> Result<HomePath, ShareRefused> {
        if !self.unlocked {
            return Err(ShareRefused::Locked);
        }
        Ok(self.resolve_unlocked(inner).await?)
    }

    async fn resolve_unlocked(&self, inner: Option<&str>) -> Result<HomePath, StoreError> {
        let Some(inner) = inner.filter(|p| !p.is_empty() && *p != "/") else {
            return Ok(self.root.clone());
        };
        if !self.share.is_dir() {
            return Err(StoreError::new(
                ErrorKind::NotFound,
                "a file link has no paths inside it",
            ));
        }
        let inner = HomePath::home().resolve(inner.trim_start_matches('/'))?;
        let target = self.root.within(&inner)?;
        let not_here = || StoreError::new(ErrorKind::NotFound, "no such file in this link");
        let mut walked = self.root.clone();
        for name in inner.names() {
            walked = walked.join(name)?;
            match self.space.entry(&walked).await {
                Ok(entry) if entry.kind != EntryKind::Symlink => {}
                // Missing, a symlink (which leads nowhere through a link),
                // or unreadable: the visitor learns no more than "not here".
                Ok(_) | Err(_) => return Err(not_here()),
            }
        }
        Ok(target)
    }

    /// The share's path as the visitor sees it: "/" for its root.
    pub fn shown(&self, path: &HomePath) -> String {
        let names = &path.names()[self.root.names().len().min(path.names().len())..];
        format!("/{}", names.join("/"))
    }

    /// Describes what the link (or a path inside it) is, for its page.
    pub async fn entry(&self, inner: Option<&str>) -> Result<Entry, ShareRefused> {
        let path = self.resolve(inner).await?;
        Ok(self.space.entry(&path).await?)
    }

    fn readable(&self, action: &str, path: &HomePath) -> Result<(), ShareRefused> {
        if self.share.upload_only {
            let refusal =
                StoreError::new(ErrorKind::PermissionDenied, "this link only takes uploads");
            self.audit(action, path, refusal.code().as_str());
            return Err(ShareRefused::Store(refusal));
        }
        Ok(())
    }

    /// A folder link's listing (of its root or a folder inside it).
    pub async fn list(&self, inner: Option<&str>) -> Result<Vec<Entry>, ShareRefused> {
        // A drop box says nothing of what it holds, not even whether a name exists.
        self.readable("list", &self.root)?;
        let path = self.resolve(inner).await?;
        let mut entries = match self.space.list(&path).await {
            Ok(entries) => entries,
            Err(err) => return Err(self.refuse_hiding_owner("list", &path, err)),
        };
        // A symlink leads nowhere through a link: not shown.
        entries.retain(|entry| entry.kind != EntryKind::Symlink);
        self.audit("list", &path, "ok");
        Ok(entries)
    }

    /// Opens a file of the link to send (its bytes are audited as a
    /// transfer of the owner's file to the visitor's address).
    pub async fn open_download(&self, inner: Option<&str>) -> Result<Download, ShareRefused> {
        self.readable("download", &self.root)?;
        let path = self.resolve(inner).await?;
        self.space
            .open_download(&path, None)
            .await
            .map_err(|err| self.refuse_hiding_owner("download", &path, err))
    }

    /// A download through the link starts (its first byte is about to be
    /// sent): it uses one of the link's allowed downloads, or is refused
    /// if they ran out meanwhile (two visitors racing for the last one:
    /// one gets it). A later range of the same download is not counted.
    pub async fn count_download(&self, download: &Download) -> Result<(), ShareRefused> {
        let shares = self.shares.clone();
        let id = self.share.id;
        let counted = tokio::task::spawn_blocking(move || shares.count_download(id))
            .await
            .map_err(StoreError::worker)?;
        let path = download.path().clone();
        self.audit(
            "download",
            &path,
            if counted.is_ok() { "ok" } else { "gone" },
        );
        counted
    }

    /// An upload into a drop box (an upload-only folder link): a new
    /// file `name` in its root, on the owner's quota; never replaces one.
    pub async fn begin_drop(
        &self,
        name: &str,
        size: u64,
        modified: Option<i64>,
    ) -> Result<Upload, ShareRefused> {
        if !self.unlocked {
            return Err(ShareRefused::Locked);
        }
        if !self.share.upload_only {
            return Err(self.refuse(
                "upload",
                &self.root,
                StoreError::new(
                    ErrorKind::PermissionDenied,
                    "this link does not take uploads",
                ),
            ));
        }
        let path = self.root.join(name).map_err(StoreError::from)?;
        match self.space.entry(&path).await {
            Ok(_) => {
                return Err(self.refuse(
                    "upload",
                    &path,
                    StoreError::new(ErrorKind::Exists, format!("{name} is already there")),
                ))
            }
            Err(err) if err.kind == ErrorKind::NotFound => {}
            Err(err) => return Err(self.refuse_hiding_owner("upload", &path, err)),
        }
        let spec = UploadSpec {
            size,
            attributes: SourceAttributes {
                modified,
                mode: None,
            },
            resume: false,
            // Never replaces: two visitors dropping one name, one gets it.
            create_new: true,
        };
        match self.space.begin_upload(&path, spec).await {
            Ok(upload) => {
                self.audit("upload", &path, "ok");
                Ok(upload)
            }
            Err(err) => Err(self.refuse_hiding_owner("upload", &path, err)),
        }
    }
}

/// The data directory's book: the `shares` table of the user database.
impl ShareBook for UserDb {
    fn insert(&self, link: NewShare, forget_before: i64) -> Result<Share, StoreError> {
        let conn = self.conn();
        conn.execute(
            "DELETE FROM shares WHERE expires IS NOT NULL AND expires <= ?1",
            params![forget_before],
        )
        .map_err(internal)?;
        conn.execute(
            "INSERT INTO shares (token, user, path, kind, password_salt, password_hash,
                 password_iterations, upload_only, max_downloads, downloads, created, expires)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0, ?10, ?11)",
            params![
                link.token,
                link.user,
                link.relative,
                link.kind,
                link.password.as_ref().map(|p| &p.salt),
                link.password.as_ref().map(|p| &p.hash),
                link.password.as_ref().map(|p| p.iterations),
                link.upload_only,
                link.max_downloads
                    .map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
                link.created,
                link.expires
            ],
        )
        .map_err(internal)?;
        let id = conn.last_insert_rowid();
        conn.query_row(
            &format!("SELECT {SHARE_COLUMNS} FROM shares WHERE id = ?1"),
            params![id],
            from_row,
        )
        .map_err(internal)
    }

    fn list(&self, user: &str) -> Result<Vec<Share>, StoreError> {
        let conn = self.conn();
        let mut statement = conn
            .prepare(&format!(
                "SELECT {SHARE_COLUMNS} FROM shares WHERE user = ?1 ORDER BY id DESC"
            ))
            .map_err(internal)?;
        let shares = statement
            .query_map(params![user], from_row)
            .map_err(internal)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(internal);
        shares
    }

    fn remove(&self, user: &str, id: i64) -> Result<bool, StoreError> {
        let removed = self
            .conn()
            .execute(
                "DELETE FROM shares WHERE id = ?1 AND user = ?2",
                params![id, user],
            )
            .map_err(internal)?;
        Ok(removed > 0)
    }

    fn find(&self, token: &str) -> Result<Option<Share>, StoreError> {
        self.conn()
            .query_row(
                &format!("SELECT {SHARE_COLUMNS} FROM shares WHERE token = ?1"),
                params![token],
                from_row,
            )
            .optional()
            .map_err(internal)
    }

    fn count_download(&self, id: i64, at: i64) -> Result<bool, StoreError> {
        let counted = self
            .conn()
            .execute(
                "UPDATE shares SET downloads = downloads + 1
                 WHERE id = ?1 AND (max_downloads IS NULL OR downloads < max_downloads)
                   AND (expires IS NULL OR expires > ?2)",
                params![id, at],
            )
            .map_err(internal)?;
        Ok(counted == 1)
    }

    fn password_of(&self, id: i64) -> Result<Option<LinkPassword>, StoreError> {
        let found = self
            .conn()
            .query_row(
                "SELECT password_salt, password_hash, password_iterations
                 FROM shares WHERE id = ?1",
                params![id],
                |row| {
                    Ok((
                        row.get::<_, Option<Vec<u8>>>(0)?,
                        row.get::<_, Option<Vec<u8>>>(1)?,
                        row.get::<_, Option<u32>>(2)?,
                    ))
                },
            )
            .optional()
            .map_err(internal)?;
        Ok(match found {
            // A link made before the count was kept: made with the default.
            Some((Some(salt), Some(hash), iterations)) => Some(LinkPassword {
                salt,
                hash,
                iterations: iterations.unwrap_or(netdisk_proto::scram::DEFAULT_ITERATIONS),
            }),
            _ => None,
        })
    }
}
