use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, PutPayload, RetryConfig};
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

#[derive(Debug, thiserror::Error)]
pub enum ObjectsError {
    #[error("bad objects URL {url:?}: {why}")]
    BadUrl { url: String, why: String },
    #[error("object store: {0}")]
    Store(#[from] object_store::Error),
}

/// The object store failed: the client sees an internal error with the
/// store's reason.
impl From<ObjectsError> for netdisk_store::StoreError {
    fn from(error: ObjectsError) -> netdisk_store::StoreError {
        netdisk_store::StoreError::new(netdisk_store::ErrorKind::Internal, error.to_string())
    }
}

/// Where the objects live: a bucket on an S3 endpoint, and a key prefix
/// within it (several netdisk installations may share one bucket).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    pub prefix: String,
    /// `http(s)://host:port`; `None` for AWS itself.
    pub endpoint: Option<String>,
    pub region: String,
}

impl S3Location {
    /// Parses `s3://BUCKET[/PREFIX][?endpoint=URL&region=NAME]`. Keys are
    /// not taken from the URL (it shows in `ps` and in logs): they come
    /// from the environment as for every S3 tool (`AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`) or from the configuration file.
    pub fn parse(text: &str) -> Result<S3Location, ObjectsError> {
        let bad = |why: &str| ObjectsError::BadUrl {
            url: text.to_owned(),
            why: why.to_owned(),
        };
        let url = url::Url::parse(text).map_err(|error| bad(&error.to_string()))?;
        if url.scheme() != "s3" {
            return Err(bad("the scheme must be s3://"));
        }
        let bucket = url
            .host_str()
            .filter(|host| !host.is_empty())
            .ok_or_else(|| bad("no bucket"))?;
        let mut location = S3Location {
            bucket: bucket.to_owned(),
            prefix: url.path().trim_matches('/').to_owned(),
            endpoint: None,
            region: "us-east-1".to_owned(),
        };
        for (name, value) in url.query_pairs() {
            match name.as_ref() {
                "endpoint" => location.endpoint = Some(value.into_owned()),
                "region" => location.region = value.into_owned(),
                "access_key_id" | "secret_access_key" => {
                    return Err(bad("keys do not belong in the URL: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"))
                }
                other => return Err(bad(&format!("unknown parameter {other:?}"))),
            }
        }
        Ok(location)
    }
}

/// The name of one object: random, never reused, so an object is written
/// once and never changed (what a reader sees under a key is what was
/// committed under it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey(String);

impl ObjectKey {
    /// A fresh key: 128 random bits in hex.
    pub fn fresh() -> ObjectKey {
        ObjectKey(format!("{:032x}", rand::random::<u128>()))
    }

    /// A key read back from the catalog; `None` unless it is one `fresh` makes.
    pub fn parse(text: &str) -> Option<ObjectKey> {
        let valid = text.len() == 32
            && text
                .bytes()
                .all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'));
        valid.then(|| ObjectKey(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One bucket (and prefix) of an S3 store.
#[derive(Clone)]
pub struct Objects {
    store: Arc<AmazonS3>,
    prefix: String,
}

impl Objects {
    /// Connects to `location` with these keys (`None`: from the environment).
    pub fn open(
        location: &S3Location,
        keys: Option<(&str, &str)>,
    ) -> Result<Objects, ObjectsError> {
        // A store that stays down fails the request in seconds, not the
        // library's default of minutes: the client is waiting.
        let retry = RetryConfig {
            max_retries: 3,
            retry_timeout: Duration::from_secs(20),
            ..RetryConfig::default()
        };
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&location.bucket)
            .with_region(&location.region)
            .with_retry(retry);
        if let Some(endpoint) = &location.endpoint {
            // Self-hosted stores (Garage, MinIO, Ceph) answer at one host
            // name, not at BUCKET.host.
            builder = builder
                .with_endpoint(endpoint)
                .with_virtual_hosted_style_request(false)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        if let Some((id, secret)) = keys {
            builder = builder
                .with_access_key_id(id)
                .with_secret_access_key(secret);
        }
        Ok(Objects {
            store: Arc::new(builder.build()?),
            prefix: location.prefix.clone(),
        })
    }

    fn path(&self, key: &ObjectKey) -> Path {
        if self.prefix.is_empty() {
            Path::from(key.as_str())
        } else {
            Path::from(format!("{}/{}", self.prefix, key.as_str()))
        }
    }

    /// Writes a whole object in one request (small files).
    pub async fn put(&self, key: &ObjectKey, bytes: Bytes) -> Result<(), ObjectsError> {
        self.store
            .put(&self.path(key), PutPayload::from_bytes(bytes))
            .await?;
        Ok(())
    }

    /// Begins a multipart upload; its id names it in later calls, from
    /// this server or another.
    pub async fn start_multipart(&self, key: &ObjectKey) -> Result<String, ObjectsError> {
        Ok(self.store.create_multipart(&self.path(key)).await?)
    }

    /// Uploads part `index` (from 0); returns the store's id for it (its ETag).
    pub async fn put_part(
        &self,
        key: &ObjectKey,
        upload: &str,
        index: usize,
        bytes: Bytes,
    ) -> Result<String, ObjectsError> {
        let part = self
            .store
            .put_part(
                &self.path(key),
                &upload.to_owned(),
                index,
                PutPayload::from_bytes(bytes),
            )
            .await?;
        Ok(part.content_id)
    }

    /// Makes the parts (their ids in order) the object.
    pub async fn complete_multipart(
        &self,
        key: &ObjectKey,
        upload: &str,
        parts: Vec<String>,
    ) -> Result<(), ObjectsError> {
        let parts = parts
            .into_iter()
            .map(|content_id| PartId { content_id })
            .collect();
        self.store
            .complete_multipart(&self.path(key), &upload.to_owned(), parts)
            .await?;
        Ok(())
    }

    /// Drops a multipart upload and its parts.
    pub async fn abort_multipart(&self, key: &ObjectKey, upload: &str) -> Result<(), ObjectsError> {
        self.store
            .abort_multipart(&self.path(key), &upload.to_owned())
            .await?;
        Ok(())
    }

    /// The bytes of `range` of an object, as they arrive.
    pub async fn read(
        &self,
        key: &ObjectKey,
        range: Range<u64>,
    ) -> Result<BoxStream<'static, Result<Bytes, ObjectsError>>, ObjectsError> {
        if range.is_empty() {
            return Ok(futures_util::stream::empty().boxed());
        }
        let options = GetOptions {
            range: Some(GetRange::Bounded(range)),
            ..GetOptions::default()
        };
        let result = self.store.get_opts(&self.path(key), options).await?;
        Ok(result.into_stream().map_err(ObjectsError::from).boxed())
    }

    /// An object's size.
    pub async fn size(&self, key: &ObjectKey) -> Result<u64, ObjectsError> {
        Ok(self.store.head(&self.path(key)).await?.size)
    }

    /// Deletes an object (deleting a missing one is not an error).
    pub async fn delete(&self, key: &ObjectKey) -> Result<(), ObjectsError> {
        match self.store.delete(&self.path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    /// Every object under the prefix with its last modification, for the
    /// collector of objects no catalog row names.
    pub async fn list(&self) -> Result<Vec<(ObjectKey, SystemTime)>, ObjectsError> {
        let prefix = (!self.prefix.is_empty()).then(|| Path::from(self.prefix.as_str()));
        let mut listing = self.store.list(prefix.as_ref());
        let mut found = Vec::new();
        while let Some(meta) = listing.next().await {
            let meta = meta?;
            if let Some(key) = meta.location.filename().and_then(ObjectKey::parse) {
                found.push((key, SystemTime::from(meta.last_modified)));
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations() {
        let location =
            S3Location::parse("s3://photos/netdisk/a?endpoint=http://127.0.0.1:3900&region=garage")
                .expect("parse");
        assert_eq!(
            location,
            S3Location {
                bucket: "photos".into(),
                prefix: "netdisk/a".into(),
                endpoint: Some("http://127.0.0.1:3900".into()),
                region: "garage".into(),
            }
        );
        let plain = S3Location::parse("s3://photos").expect("parse");
        assert_eq!(
            (plain.prefix.as_str(), plain.endpoint, plain.region.as_str()),
            ("", None, "us-east-1")
        );
        for bad in [
            "http://photos",
            "s3://",
            "s3://photos?endpoint=x&colour=red",
            "s3://photos?secret_access_key=x",
            "not a url",
        ] {
            assert!(S3Location::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn keys() {
        let key = ObjectKey::fresh();
        assert_eq!(ObjectKey::parse(key.as_str()), Some(key.clone()));
        assert_ne!(ObjectKey::fresh(), key);
        for bad in [
            "",
            "../etc/passwd",
            &"A".repeat(32),
            &"0".repeat(31),
            &"0".repeat(33),
        ] {
            assert_eq!(ObjectKey::parse(bad), None, "{bad}");
        }
    }
}
