//! The catalog in PostgreSQL: what every server must agree on (the
//! users, the namespace, the trash and old versions, the quota). Each
//! operation is one transaction; the rows a rule depends on are locked
//! (`FOR UPDATE`) inside it, so two servers racing see one outcome, never
//! a mix.

mod audit;
mod kept;
mod logins;
mod namespace;
mod partials;
mod properties;
mod quota;
mod resumables;
mod shares;
mod tokens;
mod users;

pub use audit::AuditRow;
pub use kept::KeptVersion;
pub use namespace::{CatalogEntry, NewFile, Replaced};
pub use partials::{Claimed, KeptPart, KeptPartial, KeptUpload, PartialSource};
pub use quota::{Reservation, Usage};

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use netdisk_store::{ErrorKind, StoreError};

const SCHEMA: &str = include_str!("schema.sql");
const SCHEMA_VERSION: i32 = 2;
/// What brings a catalog of each older version to the next.
const MIGRATIONS: [(i32, &str); 1] = [(1, include_str!("schema_1_to_2.sql"))];
/// Any constant key: servers starting together take this advisory lock
/// to apply the schema one at a time.
const SCHEMA_LOCK: i64 = 0x6e65_7464_6973_6b31;

/// The catalog's connections (a pool; each operation borrows one).
#[derive(Clone)]
pub struct Catalog {
    pool: Pool,
}

impl Catalog {
    /// Connects to `url` (`postgres://user@host:port/db` or a libpq
    /// key=value string) with at most `connections` at once, and makes
    /// or checks the schema.
    pub async fn connect(url: &str, connections: usize) -> Result<Catalog, StoreError> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|error| internal(format!("catalog URL: {error}")))?;
        let manager = Manager::from_config(
            config,
            tokio_postgres::NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(connections.max(1))
            .build()
            .map_err(|error| internal(format!("catalog pool: {error}")))?;
        let catalog = Catalog { pool };
        catalog.migrate().await?;
        Ok(catalog)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(database)?;
        transaction
            .execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
            .await
            .map_err(database)?;
        let exists: bool = transaction
            .query_one("SELECT to_regclass('netdisk_schema') IS NOT NULL", &[])
            .await
            .map_err(database)?
            .get(0);
        if exists {
            let mut version: i32 = transaction
                .query_one("SELECT max(version) FROM netdisk_schema", &[])
                .await
                .map_err(database)?
                .get(0);
            for (from, step) in MIGRATIONS {
                if version == from {
                    transaction.batch_execute(step).await.map_err(database)?;
                    version = from + 1;
                    tracing::info!(version, "catalog schema upgraded");
                }
            }
            if version != SCHEMA_VERSION {
                return Err(internal(format!(
                    "the catalog's schema is version {version}; this server knows {SCHEMA_VERSION}"
                )));
            }
        } else {
            transaction.batch_execute(SCHEMA).await.map_err(database)?;
        }
        transaction.commit().await.map_err(database)
    }

    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|error| internal(format!("catalog connection: {error}")))
    }

    /// Makes `owner`'s account (with `quota` bytes, `None` for no limit)
    /// or sets the quota of an existing one.
    pub async fn set_account(&self, owner: &str, quota: Option<u64>) -> Result<(), StoreError> {
        let quota = quota.map(to_sql_size).transpose()?;
        self.client()
            .await?
            .execute(
                "INSERT INTO accounts (owner, quota) VALUES ($1, $2)
                 ON CONFLICT (owner) DO UPDATE SET quota = EXCLUDED.quota",
                &[&owner, &quota],
            )
            .await
            .map_err(database)?;
        Ok(())
    }
}

fn internal(message: String) -> StoreError {
    StoreError::new(ErrorKind::Internal, message)
}

/// A database failure: the operation's outcome is what the transaction
/// did (all or nothing), and the caller sees an internal error.
pub(crate) fn database(error: tokio_postgres::Error) -> StoreError {
    // The server's own message says what went wrong ("db error" alone does not).
    let detail = match error.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => error.to_string(),
    };
    tracing::warn!(error = %detail, "catalog");
    internal(format!("catalog: {detail}"))
}

/// Sizes are u64 here and bigint there.
pub(crate) fn to_sql_size(size: u64) -> Result<i64, StoreError> {
    i64::try_from(size).map_err(|_| StoreError::new(ErrorKind::Invalid, "size out of range"))
}

pub(crate) fn from_sql_size(size: i64) -> u64 {
    u64::try_from(size).unwrap_or(0)
}
