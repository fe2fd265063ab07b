//! Resumable uploads named by an id, for protocols that create an upload
//! first and send its bytes in later requests (tus over HTTP). The bytes
//! are the target's kept partial, as for the native protocol's resumable
//! `put`: they count toward the quota, and expire when nobody writes them
//! for the partial lifetime. What the id names (target, size, source
//! time, the whole file's BLAKE3 if the client gave it) is a row of a
//! `ResumableBook` (the user database, or one several servers share), so
//! an upload survives a server restart.

use crate::claims::ActivePartials;
use crate::error::{ErrorKind, StoreError};
use crate::space::Space;
use crate::upload::UploadSpec;
use crate::users::{now, UserDb};
use crate::SourceAttributes;
use base64::Engine;
use netdisk_proto::HomePath;
use rand::RngCore;
use rusqlite::{params, OptionalExtension};
use std::time::Duration;

/// How long a lookup waits for a request still writing the upload.
const SETTLE_PATIENCE: Duration = Duration::from_secs(5);

/// A resumable upload as it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumableUpload {
    pub id: String,
    pub target: HomePath,
    pub size: u64,
    /// The source's modification time (seconds since the epoch).
    pub modified: Option<i64>,
    /// The whole file's BLAKE3 (hex), checked at the commit, if given.
    pub blake3: Option<String>,
    /// Bytes received so far.
    pub offset: u64,
    /// When its bytes are discarded unless more arrive (seconds since the epoch).
    pub expires: Option<i64>,
}

/// What a book keeps of an upload by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedUpload {
    /// The target, relative to the home.
    pub relative: String,
    pub size: u64,
    pub modified: Option<i64>,
    pub blake3: Option<String>,
}

/// Where resumable uploads' ids are kept. Calls block: the engine makes
/// them on tokio's blocking pool.
pub trait ResumableBook: Send + Sync + 'static {
    /// Records `upload` of `user`, made at `created`, forgetting any other
    /// id of the same target.
    fn record(&self, user: &str, upload: &ResumableUpload, created: i64) -> Result<(), StoreError>;
    /// What `user`'s upload `id` is for, if it is recorded.
    fn find(&self, user: &str, id: &str) -> Result<Option<RecordedUpload>, StoreError>;
    /// Forgets `user`'s upload `id` (done, cancelled, or expired).
    fn forget(&self, user: &str, id: &str) -> Result<(), StoreError>;
}

impl ResumableUpload {
    /// What an upload continuing it says of the file.
    pub fn spec(&self) -> UploadSpec {
        UploadSpec {
            size: self.size,
            attributes: SourceAttributes {
                modified: self.modified,
                mode: None,
            },
            resume: true,
            create_new: false,
        }
    }
}

fn internal(e: rusqlite::Error) -> StoreError {
    StoreError::new(ErrorKind::Internal, format!("upload database: {e}"))
}

fn not_found(id: &str) -> StoreError {
    StoreError::new(
        ErrorKind::NotFound,
        format!("no upload {id} (it was finished, cancelled, or expired)"),
    )
}

fn to_sql(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Space {
    /// A new resumable upload of `size` bytes to `target`: the target and
    /// the quota are checked now, an older partial of the target (and any
    /// upload id for it) is discarded, and an empty partial is kept.
    pub async fn create_resumable(
        &self,
        target: &HomePath,
        size: u64,
        modified: Option<i64>,
        blake3: Option<String>,
    ) -> Result<ResumableUpload, StoreError> {
        let shown = target.to_string();
        if self.partials().await?.iter().any(|p| p.path == shown) {
            self.discard_partial(target).await?;
        }
        let mut secret = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut secret);
        let upload = ResumableUpload {
            id: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret),
            target: target.clone(),
            size,
            modified,
            blake3,
            offset: 0,
            expires: None,
        };
        // Checks the target and the quota, and leaves the empty partial.
        self.begin_upload(target, upload.spec())
            .await?
            .abandon()
            .await;
        let (row, user) = (upload.clone(), self.user.clone());
        let book = self.store.resumables.clone();
        tokio::task::spawn_blocking(move || book.record(&user, &row, now()))
            .await
            .map_err(StoreError::worker)??;
        Ok(upload)
    }

    /// Upload `id` of this user, with the bytes it has now; `not_found`
    /// once it is finished, cancelled, or its partial expired.
    pub async fn resumable(&self, id: &str) -> Result<ResumableUpload, StoreError> {
        let book = self.store.resumables.clone();
        let (lookup, user) = (id.to_owned(), self.user.clone());
        let RecordedUpload {
            relative,
            size,
            modified,
            blake3,
        } = tokio::task::spawn_blocking(move || book.find(&user, &lookup))
            .await
            .map_err(StoreError::worker)??
            .ok_or_else(|| not_found(id))?;
        let target = HomePath::home().resolve(&relative)?;
        let shown = target.to_string();
        // A request cut a moment ago may still be landing its bytes: wait
        // (bounded) until it lets go, so the offset told is all that is kept.
        let key = ActivePartials::key_for(&self.user, &target);
        let _settled = self
            .partials
            .active
            .claim_within(key, SETTLE_PATIENCE)
            .await;
        let kept = self
            .partials()
            .await?
            .into_iter()
            .find(|p| p.path == shown && p.size == size && p.modified == modified);
        let Some(kept) = kept else {
            // Its partial expired, or another upload replaced the target.
            self.forget_resumable(id).await?;
            return Err(not_found(id));
        };
        Ok(ResumableUpload {
            id: id.to_owned(),
            target,
            size,
            modified,
            blake3,
            offset: kept.kept,
            expires: kept.expires,
        })
    }

    /// Forgets upload `id` (after its commit: the partial became the file).
    pub async fn forget_resumable(&self, id: &str) -> Result<(), StoreError> {
        let book = self.store.resumables.clone();
        let (id, user) = (id.to_owned(), self.user.clone());
        tokio::task::spawn_blocking(move || book.forget(&user, &id))
            .await
            .map_err(StoreError::worker)?
    }

    /// Cancels upload `id`: its bytes are discarded (`busy` while a
    /// request writes them).
    pub async fn cancel_resumable(&self, id: &str) -> Result<(), StoreError> {
        let upload = self.resumable(id).await?;
        self.discard_partial(&upload.target).await?;
        self.forget_resumable(id).await
    }
}

/// The data directory's book: the `resumable_uploads` table.
impl ResumableBook for UserDb {
    fn record(&self, user: &str, upload: &ResumableUpload, created: i64) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let transaction = conn.transaction().map_err(internal)?;
        transaction
            .execute(
                "DELETE FROM resumable_uploads WHERE user = ?1 AND path = ?2",
                params![user, upload.target.relative()],
            )
            .map_err(internal)?;
        transaction
            .execute(
                "INSERT INTO resumable_uploads (id, user, path, size, modified, blake3, created)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    upload.id,
                    user,
                    upload.target.relative(),
                    to_sql(upload.size),
                    upload.modified,
                    upload.blake3,
                    created
                ],
            )
            .map_err(internal)?;
        transaction.commit().map_err(internal)
    }

    fn find(&self, user: &str, id: &str) -> Result<Option<RecordedUpload>, StoreError> {
        self.conn()
            .query_row(
                "SELECT path, size, modified, blake3 FROM resumable_uploads
                 WHERE id = ?1 AND user = ?2",
                params![id, user],
                |row| {
                    Ok(RecordedUpload {
                        relative: row.get(0)?,
                        size: u64::try_from(row.get::<_, i64>(1)?).unwrap_or(0),
                        modified: row.get(2)?,
                        blake3: row.get(3)?,
                    })
                },
            )
            .optional()
            .map_err(internal)
    }

    fn forget(&self, user: &str, id: &str) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "DELETE FROM resumable_uploads WHERE id = ?1 AND user = ?2",
                params![id, user],
            )
            .map_err(internal)?;
        Ok(())
    }
}
