//! The server's data directory: everything it keeps, in one place.
//!
//! ```text
//! ROOT/users.db        user database (SQLite)
//! ROOT/homes/NAME/     each user's files
//! ROOT/staging/NAME/   uploads in progress; outside the home, so no
//!                      client path can ever name them
//! ROOT/kept/NAME/      the trash and old versions of files, outside the
//!                      home too
//! ```

use crate::users::{UserDb, UserDbError};
use std::io;
use std::path::{Path, PathBuf};

/// The default data directory, relative to where the server starts.
pub const DEFAULT_ROOT: &str = "netdisk-data";

#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error("data directory {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error(transparent)]
    Users(#[from] UserDbError),
}

pub struct DataDir {
    root: PathBuf,
}

fn create_private_dir(path: &Path) -> Result<(), DataDirError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(|source| DataDirError::Io {
            path: path.to_owned(),
            source,
        })
}

impl DataDir {
    /// Opens the data directory, creating its layout on first use.
    pub fn open(root: &Path) -> Result<DataDir, DataDirError> {
        for dir in [
            root.to_owned(),
            root.join("homes"),
            root.join("staging"),
            root.join("kept"),
        ] {
            create_private_dir(&dir)?;
        }
        Ok(DataDir {
            root: root.to_owned(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn users(&self) -> Result<UserDb, DataDirError> {
        Ok(UserDb::open(&self.root.join("users.db"))?)
    }

    pub fn home(&self, user: &str) -> PathBuf {
        self.root.join("homes").join(user)
    }

    pub fn staging(&self, user: &str) -> PathBuf {
        self.root.join("staging").join(user)
    }

    pub fn kept(&self, user: &str) -> PathBuf {
        self.root.join("kept").join(user)
    }

    /// Creates a user's home, staging and kept directories (idempotent).
    pub fn create_home(&self, user: &str) -> Result<(), DataDirError> {
        create_private_dir(&self.home(user))?;
        create_private_dir(&self.staging(user))?;
        create_private_dir(&self.kept(user))
    }

    /// Deletes a user's files and unfinished uploads.
    pub fn remove_home(&self, user: &str) -> Result<(), DataDirError> {
        for dir in [self.home(user), self.staging(user), self.kept(user)] {
            match std::fs::remove_dir_all(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(source) => return Err(DataDirError::Io { path: dir, source }),
            }
        }
        Ok(())
    }
}
