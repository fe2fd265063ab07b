//! The back-end that lets several netdisk servers share users and files:
//! file bytes live in an S3 object store ([`Objects`]), written as
//! immutable objects under fresh random keys, streamed in parts
//! ([`PartWriter`]) so no file is ever held in memory whole; names,
//! sizes, hashes and the rest of the state live in PostgreSQL, where a
//! file becomes visible by one transaction after its object is complete
//! and verified.
//!
//! A resumable upload's confirmed parts are recorded with their BLAKE3
//! subtree hashes ([`PartHasher`]), so an upload cut on one server goes
//! on from them on any other.
//!
//! [`ClusterBackend`] is the engine's `Backend` over all this, and brings
//! the catalog's users, login failures, API tokens, share links, tus
//! uploads and audit lines with it; see docs/CLUSTER.md for running
//! several servers on it.

mod audit;
mod backend;
mod catalog;
mod collector;
mod directory;
mod home;
mod ledger;
mod object_body;
mod object_ranges;
mod objects;
mod part_hasher;
mod part_writer;
mod partial;
mod resumables;
mod shares;
mod staged;
mod throttle;
mod tokens;

pub use audit::CatalogAudit;
pub use backend::ClusterBackend;
pub use catalog::{
    AuditRow, Catalog, CatalogEntry, Claimed, KeptPart, KeptPartial, KeptUpload, KeptVersion,
    NewFile, PartialSource, Replaced, Reservation, Usage,
};
pub use collector::{collect, Collected};
pub use directory::CatalogUsers;
pub use ledger::CatalogLedger;
pub use object_body::ObjectBody;
pub use object_ranges::ObjectRanges;
pub use objects::{ObjectKey, Objects, ObjectsError, S3Location};
pub use part_hasher::{PartHash, PartHasher};
pub use part_writer::{part_size_for, PartWriter, UploadedPart, MIN_PART_SIZE};
pub use resumables::CatalogResumables;
pub use shares::CatalogShares;
pub use throttle::CatalogFailures;
pub use tokens::CatalogTokens;
