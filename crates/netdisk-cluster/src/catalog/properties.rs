//! What a row keeps besides its bytes: dead properties (WebDAV), as the
//! engine encoded them, and the modification time. Both are columns of
//! the row, so they follow it through renames, into the trash and back.

use super::namespace::not_found;
use super::quota::no_account;
use super::{database, Catalog};
use netdisk_proto::HomePath;
use netdisk_store::{ErrorKind, StoreError};

impl Catalog {
    /// The dead properties recorded on `path` (a file or a directory, the
    /// home too), `None` when there are none.
    pub async fn properties(
        &self,
        owner: &str,
        path: &HomePath,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let client = self.client().await?;
        // The home has no row of its own: its properties are its account's.
        let row = match path.is_home() {
            true => client
                .query_opt(
                    "SELECT home_properties FROM accounts WHERE owner = $1",
                    &[&owner],
                )
                .await
                .map_err(database)?
                .ok_or_else(|| no_account(owner))?,
            false => client
                .query_opt(
                    "SELECT properties FROM entries WHERE owner = $1 AND path = $2",
                    &[&owner, &path.relative()],
                )
                .await
                .map_err(database)?
                .ok_or_else(|| not_found(path))?,
        };
        Ok(row.get(0))
    }

    /// Records `encoded` as the dead properties of `path` (`None` clears
    /// them).
    pub async fn set_properties(
        &self,
        owner: &str,
        path: &HomePath,
        encoded: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        let changed = match path.is_home() {
            true => client
                .execute(
                    "UPDATE accounts SET home_properties = $2 WHERE owner = $1",
                    &[&owner, &encoded],
                )
                .await
                .map_err(database)?,
            false => client
                .execute(
                    "UPDATE entries SET properties = $3 WHERE owner = $1 AND path = $2",
                    &[&owner, &path.relative(), &encoded],
                )
                .await
                .map_err(database)?,
        };
        match (changed, path.is_home()) {
            (0, true) => Err(no_account(owner)),
            (0, false) => Err(not_found(path)),
            _ => Ok(()),
        }
    }

    /// Sets the modification time (seconds since the epoch) of the file
    /// or directory `path`. The home has none in the catalog: `invalid`.
    pub async fn set_modified(
        &self,
        owner: &str,
        path: &HomePath,
        modified: i64,
    ) -> Result<(), StoreError> {
        if path.is_home() {
            return Err(StoreError::new(
                ErrorKind::Invalid,
                "the home directory keeps no modification time",
            ));
        }
        let changed = self
            .client()
            .await?
            .execute(
                "UPDATE entries SET modified = $3 WHERE owner = $1 AND path = $2",
                &[&owner, &path.relative(), &modified],
            )
            .await
            .map_err(database)?;
        match changed {
            0 => Err(not_found(path)),
            _ => Ok(()),
        }
    }
}
