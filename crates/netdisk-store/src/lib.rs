//! netdisk's storage engine, shared by every front-end (the native
//! protocol's server, and later HTTP and WebDAV): it knows nothing of
//! sockets or frames. Given a logged-in user, a [`Space`] offers what a
//! front-end needs (stat, list, mkdir, remove, rename, verified uploads
//! and downloads, small-file batches, usage, kept partials), with the
//! rules in one place: the jail, the quota, the durable atomic commit,
//! the audit trail. [`Store`] holds what all users share: the user
//! database and logins, the back-end, the quota book.
//!
//! Where names and bytes live is the [`Backend`] trait; the local file
//! system ([`local`]) is its first implementation. docs/ARCHITECTURE.md
//! lists what a back-end promises.

mod audit;
mod auth;
mod backend;
mod claims;
mod copy;
mod data_dir;
mod directory;
mod download;
mod error;
mod hashing;
pub mod local;
mod properties;
mod quota;
mod resumable;
mod retention;
mod shares;
mod small;
mod source;
mod space;
mod store;
mod throttle;
mod tokens;
mod upload;
mod user_name;
mod users;

pub use audit::{AuditDestination, AuditLog, AuditSink, Event, TransferRecord};
pub use auth::{Credentials, Logins, PasswordAccepted, PasswordRefused};
pub use backend::{
    Backend, BodyWriter, BodyWritten, BoxFuture, ByteRanges, Existing, FileBytes, FileStamp,
    HashLookup, Home, KeptBytes, Prepared, RoomTicket, SmallFile, SourceAttributes, Staged,
    StreamedFile,
};
pub use claims::{ActiveClaim, ActivePartials, PartialRelease};
pub use data_dir::{DataDir, DataDirError, DEFAULT_ROOT};
pub use directory::UserDirectory;
pub use download::{Download, FileBody, KeptPrefix};
pub use error::{ErrorKind, StoreError};
pub use properties::{DeadProperty, PropertyChange, PropertyName, MAX_PROPERTY_BYTES};
pub use quota::{quota_exceeded, Account, HeldRoom, QuotaBook, QuotaLedger, Reservation};
pub use resumable::{RecordedUpload, ResumableBook, ResumableUpload};
pub use retention::{Retention, TrashPurge, TrashRef};
pub use shares::{
    share_display, LinkPassword, NewShare, OpenShare, Share, ShareBook, ShareRefused, ShareSpec,
};
pub use small::{BatchResults, SmallPending};
pub use source::source_of;
pub use space::{ListPage, Space, SpaceUsage};
pub use store::{Backing, OpenError, Store, StoreConfig};
pub use throttle::{FailureRecords, MemoryRecords};
pub use tokens::{
    token_digest, token_expiry, ApiToken, LoginLifetimes, LoginTokens, NewToken, TokenBook,
    TokenKind, TokenOwner, Tokens,
};
pub use upload::{Committed, Upload, UploadSpec};
pub use user_name::{validate_user_name, UserNameError, MAX_USER_NAME_LEN};
pub use users::{new_verifier, now as unix_now, RetentionOverrides, UserDb, UserDbError, UserInfo};
