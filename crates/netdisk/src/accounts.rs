//! Where `netdisk user` finds the accounts: the data directory's user
//! database (SQLite allows this while a server runs; a new user can log
//! in at once), or the catalog several servers share (`--store
//! postgres://...`).

use anyhow::Context;
use netdisk_cluster::Catalog;
use netdisk_proto::scram::DEFAULT_ITERATIONS;
use netdisk_store::{DataDir, RetentionOverrides, UserDb, UserInfo};
use std::path::Path;

/// Connections `netdisk user` opens to a catalog: it runs one statement at a time.
const CATALOG_CONNECTIONS: usize = 1;

/// How to add the first user, for the place accounts are kept. A
/// catalog's URL is not repeated: it may hold a password.
pub fn first_user_hint(root: &Path, shared: bool) -> String {
    if shared {
        "no users yet: add one with 'netdisk user add NAME --store URL' (the catalog's URL)"
            .to_owned()
    } else {
        format!(
            "no users yet: add one with 'netdisk user add NAME --root {}'",
            root.display()
        )
    }
}

pub enum Accounts {
    Local { data: DataDir, users: UserDb },
    Shared(Catalog),
}

/// What became of a deleted user's files.
pub enum FilesOf {
    Removed,
    KeptIn(std::path::PathBuf),
}

impl Accounts {
    /// The accounts of `store` (a catalog URL) if given, else of the data
    /// directory `root`; only `create` (user add) may make a new one, so
    /// a mistyped --root is an error, not a new empty data directory.
    pub async fn open(root: &Path, store: Option<&str>, create: bool) -> anyhow::Result<Accounts> {
        if let Some(url) = store {
            let catalog = Catalog::connect(url, CATALOG_CONNECTIONS)
                .await
                .context("catalog")?;
            return Ok(Accounts::Shared(catalog));
        }
        if !create {
            let exists = root
                .join("users.db")
                .try_exists()
                .with_context(|| format!("data directory {}", root.display()))?;
            if !exists {
                anyhow::bail!(
                    "{} is not a netdisk data directory (it has no users.db): check --root, or create one with 'netdisk user add NAME --root {}'",
                    root.display(),
                    root.display()
                );
            }
        }
        let data = DataDir::open(root)?;
        let users = data.users()?;
        Ok(Accounts::Local { data, users })
    }

    /// Adds the user; returns where their files live.
    pub async fn add(
        &self,
        name: &str,
        password: &str,
        quota: Option<u64>,
    ) -> anyhow::Result<String> {
        match self {
            Accounts::Local { data, users } => {
                users.add(name, password, quota)?;
                data.create_home(name)?;
                Ok(format!("home {}", data.home(name).display()))
            }
            Accounts::Shared(catalog) => {
                let verifier = netdisk_store::new_verifier(password, DEFAULT_ITERATIONS)?;
                catalog.add_user(name, &verifier, quota).await?;
                Ok("in the shared catalog".to_owned())
            }
        }
    }

    pub async fn exists(&self, name: &str) -> anyhow::Result<bool> {
        Ok(match self {
            Accounts::Local { users, .. } => users.credentials(name)?.is_some(),
            Accounts::Shared(catalog) => catalog.credentials(name).await?.is_some(),
        })
    }

    pub async fn set_password(&self, name: &str, password: &str) -> anyhow::Result<()> {
        match self {
            Accounts::Local { users, .. } => users.set_password(name, password)?,
            Accounts::Shared(catalog) => {
                let verifier = netdisk_store::new_verifier(password, DEFAULT_ITERATIONS)?;
                catalog.set_verifier(name, &verifier).await?;
            }
        }
        Ok(())
    }

    pub async fn set_quota(&self, name: &str, quota: Option<u64>) -> anyhow::Result<()> {
        match self {
            Accounts::Local { users, .. } => users.set_quota(name, quota)?,
            Accounts::Shared(catalog) => catalog.set_quota(name, quota).await?,
        }
        Ok(())
    }

    /// Deletes the user, and with `purge` their files. In a shared
    /// catalog the files are rows that name the user: they go with it,
    /// so `purge` is required there.
    pub async fn delete(&self, name: &str, purge: bool) -> anyhow::Result<FilesOf> {
        match self {
            Accounts::Local { data, users } => {
                users.delete(name)?;
                if purge {
                    data.remove_home(name)?;
                    Ok(FilesOf::Removed)
                } else {
                    Ok(FilesOf::KeptIn(data.home(name)))
                }
            }
            Accounts::Shared(_) if !purge => anyhow::bail!(
                "in a shared catalog a user's files go with the user: add --purge to delete both"
            ),
            Accounts::Shared(catalog) => {
                // Their objects are doomed in the same transaction; the
                // servers' collectors delete them, and the object store's
                // expiry of incomplete uploads takes any cut multipart upload.
                catalog.delete_user(name).await?;
                Ok(FilesOf::Removed)
            }
        }
    }

    /// Changes the user's own retention settings (`None`: back to the
    /// server's); returns them as they now are.
    pub async fn set_retention(
        &self,
        name: &str,
        changes: Option<RetentionOverrides>,
    ) -> anyhow::Result<RetentionOverrides> {
        Ok(match (self, changes) {
            (Accounts::Local { users, .. }, Some(changes)) => users.set_retention(name, changes)?,
            (Accounts::Local { users, .. }, None) => {
                users.reset_retention(name)?;
                RetentionOverrides::default()
            }
            (Accounts::Shared(catalog), Some(changes)) => {
                catalog.set_retention(name, changes).await?
            }
            (Accounts::Shared(catalog), None) => {
                catalog.reset_retention(name).await?;
                RetentionOverrides::default()
            }
        })
    }

    pub async fn list(&self) -> anyhow::Result<Vec<UserInfo>> {
        Ok(match self {
            Accounts::Local { users, .. } => users.list()?,
            Accounts::Shared(catalog) => catalog.list_users().await?,
        })
    }
}
