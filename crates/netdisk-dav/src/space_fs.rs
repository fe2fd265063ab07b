//! dav-server's file system trait over one logged-in user's `Space`:
//! each call is one store call (or, for a file's ETag, a look at its
//! recorded hash), so the jail, the quota, the durable atomic commit and
//! the audit log are the store's. Directories are walked by dav-server
//! (a COPY or DELETE of a tree is one store call per entry).

use crate::errors::fs_error;
use crate::meta::EntryMeta;
use crate::paths::home_path;
use crate::properties;
use crate::read_file::ReadFile;
use crate::write_file::WriteFile;
use dav_server::davpath::DavPath;
use dav_server::fs::{
    DavDirEntry, DavFile, DavFileSystem, DavMetaData, DavProp, FsError, FsFuture, FsStream,
    OpenOptions, ReadDirMeta,
};
use futures_util::FutureExt;
use http::StatusCode;
use netdisk_proto::{Entry, EntryKind, HomePath};
use netdisk_store::{ErrorKind, Space};
use std::future::Future;
use std::pin::Pin;

#[derive(Clone)]
pub(crate) struct SpaceFs {
    space: Space,
}

impl SpaceFs {
    pub(crate) fn new(space: Space) -> SpaceFs {
        SpaceFs { space }
    }
}

async fn describe(space: &Space, path: &HomePath) -> Result<Box<dyn DavMetaData>, FsError> {
    let (entry, blake3) = space
        .entry_with_recorded_hash(path)
        .await
        .map_err(fs_error)?;
    Ok(Box::new(EntryMeta::new(entry, blake3)))
}

impl DavFileSystem for SpaceFs {
    fn open<'a>(
        &'a self,
        path: &'a DavPath,
        options: OpenOptions,
    ) -> FsFuture<'a, Box<dyn DavFile>> {
        async move {
            let target = home_path(path)?;
            if options.write {
                WriteFile::open(&self.space, target, &options).await
            } else {
                ReadFile::open(&self.space, target).await
            }
        }
        .boxed()
    }

    fn read_dir<'a>(
        &'a self,
        path: &'a DavPath,
        _meta: ReadDirMeta,
    ) -> FsFuture<'a, FsStream<Box<dyn DavDirEntry>>> {
        async move {
            let dir = home_path(path)?;
            self.space.require_dir(&dir).await.map_err(fs_error)?;
            let entries = self.space.list(&dir).await.map_err(fs_error)?;
            let space = self.space.clone();
            let children = entries.into_iter().map(move |entry| {
                let child = DirEntry {
                    path: dir.join(&entry.name).map_err(|_| FsError::Forbidden)?,
                    entry,
                    space: space.clone(),
                };
                Ok(Box::new(child) as Box<dyn DavDirEntry>)
            });
            Ok(Box::pin(futures_util::stream::iter(children)) as FsStream<Box<dyn DavDirEntry>>)
        }
        .boxed()
    }

    fn metadata<'a>(&'a self, path: &'a DavPath) -> FsFuture<'a, Box<dyn DavMetaData>> {
        async move { describe(&self.space, &home_path(path)?).await }.boxed()
    }

    fn create_dir<'a>(&'a self, path: &'a DavPath) -> FsFuture<'a, ()> {
        async move {
            let dir = home_path(path)?;
            self.space.mkdir(&dir, false).await.map_err(fs_error)
        }
        .boxed()
    }

    fn remove_dir<'a>(&'a self, path: &'a DavPath) -> FsFuture<'a, ()> {
        async move {
            let dir = home_path(path)?;
            self.space.rmdir(&dir).await.map_err(fs_error)
        }
        .boxed()
    }

    fn remove_file<'a>(&'a self, path: &'a DavPath) -> FsFuture<'a, ()> {
        async move {
            let file = home_path(path)?;
            self.space.remove(&file, false).await.map_err(fs_error)
        }
        .boxed()
    }

    fn rename<'a>(&'a self, from: &'a DavPath, to: &'a DavPath) -> FsFuture<'a, ()> {
        async move {
            let (from, to) = (home_path(from)?, home_path(to)?);
            self.space.rename(&from, &to).await.map_err(fs_error)
        }
        .boxed()
    }

    fn copy<'a>(&'a self, from: &'a DavPath, to: &'a DavPath) -> FsFuture<'a, ()> {
        async move {
            let (from, to) = (home_path(from)?, home_path(to)?);
            self.space
                .copy_file(&from, &to)
                .await
                .map(|_| ())
                .map_err(fs_error)
        }
        .boxed()
    }

    fn have_props<'a>(
        &'a self,
        _path: &'a DavPath,
    ) -> Pin<Box<dyn Future<Output = bool> + Send + 'a>> {
        Box::pin(std::future::ready(true))
    }

    fn patch_props<'a>(
        &'a self,
        path: &'a DavPath,
        patch: Vec<(bool, DavProp)>,
    ) -> FsFuture<'a, Vec<(StatusCode, DavProp)>> {
        async move {
            let target = home_path(path)?;
            let changes = patch
                .iter()
                .map(|(set, prop)| properties::change(*set, prop))
                .collect::<Result<Vec<_>, _>>()?;
            let answered = |status| {
                patch
                    .iter()
                    .map(|(_, prop)| (status, properties::named(prop)))
                    .collect()
            };
            match self.space.change_properties(&target, changes).await {
                Ok(()) => Ok(answered(StatusCode::OK)),
                Err(err) if err.kind == ErrorKind::DiskFull => {
                    Ok(answered(StatusCode::INSUFFICIENT_STORAGE))
                }
                Err(err) => Err(fs_error(err)),
            }
        }
        .boxed()
    }

    fn get_props<'a>(&'a self, path: &'a DavPath, do_content: bool) -> FsFuture<'a, Vec<DavProp>> {
        async move {
            let target = home_path(path)?;
            let recorded = self.space.properties(&target).await.map_err(fs_error)?;
            Ok(recorded
                .into_iter()
                .map(|property| properties::dav_prop(property, do_content))
                .collect())
        }
        .boxed()
    }

    fn get_prop<'a>(&'a self, path: &'a DavPath, prop: DavProp) -> FsFuture<'a, Vec<u8>> {
        async move {
            let target = home_path(path)?;
            let wanted = properties::name_of(&prop);
            self.space
                .properties(&target)
                .await
                .map_err(fs_error)?
                .into_iter()
                .find(|property| property.name == wanted)
                .map(|property| property.xml.into_bytes())
                .ok_or(FsError::NotFound)
        }
        .boxed()
    }

    /// RFC 4331: bytes used, and the quota (`None`: unlimited).
    fn get_quota(&self) -> FsFuture<'_, (u64, Option<u64>)> {
        async move {
            let usage = self.space.usage().await.map_err(fs_error)?;
            Ok((usage.used, usage.quota))
        }
        .boxed()
    }
}

/// A directory's entry, as listed; a file's recorded hash is looked up
/// only when dav-server asks for its metadata.
struct DirEntry {
    path: HomePath,
    entry: Entry,
    space: Space,
}

impl DavDirEntry for DirEntry {
    fn name(&self) -> Vec<u8> {
        self.entry.name.as_bytes().to_vec()
    }

    fn metadata(&self) -> FsFuture<'_, Box<dyn DavMetaData>> {
        async move {
            if self.entry.kind != EntryKind::File {
                return Ok(
                    Box::new(EntryMeta::new(self.entry.clone(), None)) as Box<dyn DavMetaData>
                );
            }
            describe(&self.space, &self.path).await
        }
        .boxed()
    }

    fn is_dir(&self) -> FsFuture<'_, bool> {
        Box::pin(std::future::ready(Ok(self.entry.kind == EntryKind::Dir)))
    }

    fn is_file(&self) -> FsFuture<'_, bool> {
        Box::pin(std::future::ready(Ok(self.entry.kind == EntryKind::File)))
    }

    fn is_symlink(&self) -> FsFuture<'_, bool> {
        Box::pin(std::future::ready(
            Ok(self.entry.kind == EntryKind::Symlink),
        ))
    }
}
