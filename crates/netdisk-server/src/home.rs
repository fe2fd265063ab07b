//! A user's home, reached only through capability handles (cap-std): every
//! path is resolved beneath the home directory by the kernel (openat2 with
//! RESOLVE_BENEATH where available), so `..` and symlinks cannot lead out,
//! whatever the path checks before it missed.
//!
//! Calls here block; the async code runs them with `spawn_blocking`.

use crate::error::CommandError;
use cap_std::ambient_authority;
use cap_std::fs::{Dir, Metadata, OpenOptions};
use netdisk_proto::{Entry, EntryKind, ErrorCode, HomePath};
use rand::RngCore;
use std::io;
use std::path::Path;
use std::sync::Arc;

#[derive(Clone)]
pub(crate) struct Home {
    dir: Arc<Dir>,
    staging: Arc<Dir>,
}

fn entry_of(name: String, meta: &Metadata) -> Entry {
    let file_type = meta.file_type();
    let kind = if file_type.is_symlink() {
        EntryKind::Symlink
    } else if file_type.is_dir() {
        EntryKind::Dir
    } else if file_type.is_file() {
        EntryKind::File
    } else {
        EntryKind::Other
    };
    let modified = meta
        .modified()
        .ok()
        .map(|t| t.into_std())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64);
    Entry {
        name,
        kind,
        size: if kind == EntryKind::Dir {
            0
        } else {
            meta.len()
        },
        modified,
    }
}

fn io_err(path: &HomePath) -> impl Fn(io::Error) -> CommandError + '_ {
    move |e| CommandError::from_io(&e, &path.to_string())
}

/// An upload in progress: removed on drop unless it was committed.
pub(crate) struct Staged {
    staging: Arc<Dir>,
    name: String,
    committed: bool,
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            if let Err(e) = self.staging.remove_file(&self.name) {
                tracing::warn!(file = %self.name, error = %e, "could not remove staging file");
            }
        }
    }
}

impl Home {
    pub(crate) fn open(home: &Path, staging: &Path) -> io::Result<Home> {
        Ok(Home {
            dir: Arc::new(Dir::open_ambient_dir(home, ambient_authority())?),
            staging: Arc::new(Dir::open_ambient_dir(staging, ambient_authority())?),
        })
    }

    /// Runs blocking file-system work off the async threads.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Home) -> Result<T, CommandError> + Send + 'static,
    ) -> Result<T, CommandError> {
        let home = self.clone();
        tokio::task::spawn_blocking(move || work(&home))
            .await
            .map_err(|e| CommandError::new(ErrorCode::Internal, format!("worker failed: {e}")))?
    }

    /// Describes a path without following a final symlink.
    pub(crate) fn entry(&self, path: &HomePath) -> Result<Entry, CommandError> {
        let meta = self
            .dir
            .symlink_metadata(path.relative())
            .map_err(io_err(path))?;
        let name = path.file_name().unwrap_or("~").to_owned();
        Ok(entry_of(name, &meta))
    }

    /// True if the path is a directory (following symlinks that stay inside).
    pub(crate) fn is_dir(&self, path: &HomePath) -> bool {
        self.dir
            .metadata(path.relative())
            .map(|m| m.is_dir())
            .unwrap_or(false)
    }

    pub(crate) fn require_dir(&self, path: &HomePath) -> Result<(), CommandError> {
        let meta = self.dir.metadata(path.relative()).map_err(io_err(path))?;
        if meta.is_dir() {
            Ok(())
        } else {
            Err(CommandError::new(
                ErrorCode::NotADirectory,
                format!("{path}: not a directory"),
            ))
        }
    }

    pub(crate) fn list(&self, path: &HomePath) -> Result<Vec<Entry>, CommandError> {
        let meta = self.dir.metadata(path.relative()).map_err(io_err(path))?;
        if !meta.is_dir() {
            return Ok(vec![self.entry(path)?]);
        }
        let mut entries = Vec::new();
        for item in self.dir.read_dir(path.relative()).map_err(io_err(path))? {
            let item = item.map_err(io_err(path))?;
            let name = item.file_name().to_string_lossy().into_owned();
            // An entry that vanished between readdir and stat is simply skipped.
            if let Ok(meta) = item.metadata() {
                entries.push(entry_of(name, &meta));
            }
        }
        entries.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
        Ok(entries)
    }

    pub(crate) fn mkdir(&self, path: &HomePath, parents: bool) -> Result<(), CommandError> {
        if parents {
            if let Ok(meta) = self.dir.symlink_metadata(path.relative()) {
                return if meta.is_dir() {
                    Ok(())
                } else {
                    Err(CommandError::new(
                        ErrorCode::Exists,
                        format!("{path}: exists and is not a directory"),
                    ))
                };
            }
            self.dir
                .create_dir_all(path.relative())
                .map_err(io_err(path))
        } else {
            self.dir.create_dir(path.relative()).map_err(io_err(path))
        }
    }

    pub(crate) fn remove_file(&self, path: &HomePath) -> Result<(), CommandError> {
        let entry = self.entry(path)?;
        if entry.kind == EntryKind::Dir {
            return Err(CommandError::new(
                ErrorCode::IsADirectory,
                format!("{path}: is a directory (use rmdir)"),
            ));
        }
        self.dir.remove_file(path.relative()).map_err(io_err(path))
    }

    pub(crate) fn remove_dir(&self, path: &HomePath) -> Result<(), CommandError> {
        if self.entry(path)?.kind != EntryKind::Dir {
            return Err(CommandError::new(
                ErrorCode::NotADirectory,
                format!("{path}: not a directory"),
            ));
        }
        self.dir.remove_dir(path.relative()).map_err(io_err(path))
    }

    pub(crate) fn rename(&self, from: &HomePath, to: &HomePath) -> Result<(), CommandError> {
        self.entry(from)?;
        self.dir
            .rename(from.relative(), &self.dir, to.relative())
            .map_err(|e| match e.kind() {
                io::ErrorKind::InvalidInput => CommandError::new(
                    ErrorCode::BadRequest,
                    format!("cannot move {from} into itself ({to})"),
                ),
                _ => CommandError::from_io(&e, &format!("{from} -> {to}")),
            })
    }

    /// Bytes in regular files under the home. Symlinks are not followed.
    pub(crate) fn usage(&self) -> Result<u64, CommandError> {
        let mut total = 0u64;
        let mut pending = vec![HomePath::home()];
        while let Some(dir) = pending.pop() {
            let Ok(items) = self.dir.read_dir(dir.relative()) else {
                continue;
            };
            for item in items.flatten() {
                let Ok(meta) = item.metadata() else { continue };
                if meta.is_dir() {
                    if let Ok(child) = dir.join(&item.file_name().to_string_lossy()) {
                        pending.push(child);
                    }
                } else if meta.is_file() {
                    total = total.saturating_add(meta.len());
                }
            }
        }
        Ok(total)
    }

    /// Opens a regular file for reading; returns it with its size.
    pub(crate) fn open_file(&self, path: &HomePath) -> Result<(std::fs::File, u64), CommandError> {
        let file = self.dir.open(path.relative()).map_err(io_err(path))?;
        let meta = file.metadata().map_err(io_err(path))?;
        if meta.is_dir() {
            return Err(CommandError::new(
                ErrorCode::IsADirectory,
                format!("{path}: is a directory"),
            ));
        }
        if !meta.is_file() {
            return Err(CommandError::new(
                ErrorCode::BadRequest,
                format!("{path}: not a regular file"),
            ));
        }
        Ok((file.into_std(), meta.len()))
    }

    /// Checks that `target` can receive an upload, then creates a staging file for it.
    pub(crate) fn stage_upload(
        &self,
        target: &HomePath,
    ) -> Result<(Staged, std::fs::File), CommandError> {
        if target.is_home() {
            return Err(CommandError::new(
                ErrorCode::PermissionDenied,
                "cannot replace the home directory",
            ));
        }
        self.require_dir(&target.parent())?;
        if self.is_dir(target) {
            return Err(CommandError::new(
                ErrorCode::IsADirectory,
                format!("{target}: is a directory"),
            ));
        }
        let mut random = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut random);
        let name: String = random
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
            + ".part";
        let file = self
            .staging
            .open_with(&name, OpenOptions::new().write(true).create_new(true))
            .map_err(|e| CommandError::from_io(&e, "staging file"))?;
        Ok((
            Staged {
                staging: self.staging.clone(),
                name,
                committed: false,
            },
            file.into_std(),
        ))
    }

    /// Moves a complete, synced upload into place and makes the rename durable.
    pub(crate) fn commit_upload(
        &self,
        mut staged: Staged,
        target: &HomePath,
    ) -> Result<(), CommandError> {
        if self.is_dir(target) {
            return Err(CommandError::new(
                ErrorCode::IsADirectory,
                format!("{target}: is a directory"),
            ));
        }
        self.staging
            .rename(&staged.name, &self.dir, target.relative())
            .map_err(io_err(target))?;
        staged.committed = true;
        // fsync the directory so the rename survives a crash. A read-only
        // handle: cap-std's open_dir gives an O_PATH one, which fsync refuses.
        let parent = target.parent();
        let dir = self.dir.open(parent.relative()).map_err(io_err(&parent))?;
        dir.sync_all().map_err(io_err(&parent))
    }
}
