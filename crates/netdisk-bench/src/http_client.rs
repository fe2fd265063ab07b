//! Scenario 8's second downloader: an HTTP client of the bench's own that
//! takes a download as netdisk's own client does. A multi-threaded
//! runtime receives and decrypts (reqwest on rustls with ring, as the
//! server); the bytes go in 256 KiB pieces to a writer thread (`FileSink`,
//! as `netdisk get` uses) that hashes them, writes them, starts their
//! writeback early and drops them from the page cache behind it; at the
//! end the file is fsync'd and its BLAKE3 checked against the ETag when
//! the server sent one. curl, measured beside it, does all of it on one
//! thread: it writes each 16 KiB
//! TLS record in two writes (4 KiB to fill its stdio buffer, then 12 KiB:
//! `strace` counted 131,000 writes for 1 GiB) and leaves the file in the
//! page cache.

use bytes::BytesMut;
use netdisk_fileio::{FileSink, PageCache};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Bytes handed to the writer thread at a time.
const PIECE: usize = 256 * 1024;
/// The longest wait for the answer or for the next piece of the body: a
/// server that stops sending fails the run instead of hanging it.
const STALL: Duration = Duration::from_secs(60);

/// How a request proves who sends it.
#[derive(Clone)]
pub enum Auth {
    None,
    Bearer(String),
    Basic { user: String, password: String },
}

/// One HTTP download: from `url` into `target`, trusting `ca` (the
/// server's certificate, over TLS).
pub struct Download {
    pub url: String,
    pub auth: Auth,
    pub ca: Option<PathBuf>,
    pub target: PathBuf,
}

impl Download {
    /// Runs it on a thread of its own with a runtime of its own,
    /// multi-threaded as netdisk's CLI runs (the bench's runtime is not to
    /// be blocked from inside). When it returns, the file is durable.
    pub fn run(self) -> anyhow::Result<()> {
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?
                .block_on(self.fetch())
        })
        .join()
        .map_err(|_| anyhow::anyhow!("the download thread panicked"))?
    }

    async fn fetch(self) -> anyhow::Result<()> {
        let mut request = client(self.ca.as_deref())?.get(&self.url);
        request = match &self.auth {
            Auth::None => request,
            Auth::Bearer(token) => request.bearer_auth(token),
            Auth::Basic { user, password } => request.basic_auth(user, Some(password)),
        };
        let mut response = tokio::time::timeout(STALL, request.send())
            .await
            .map_err(|_| anyhow::anyhow!("{}: no answer in {STALL:?}", self.url))??
            .error_for_status()?;
        // netdisk's ETag is the file's BLAKE3 in quotes; other servers'
        // are something else, and are not checked.
        let blake3 = response
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|tag| tag.to_str().ok())
            .map(|tag| tag.trim_matches('"').to_owned())
            .filter(|tag| tag.len() == 64 && tag.bytes().all(|b| b.is_ascii_hexdigit()));
        let file = std::fs::File::create(&self.target)?;
        let mut sink = FileSink::start(file, blake3::Hasher::new(), PageCache::DropBehind);
        let mut pending = BytesMut::with_capacity(PIECE);
        while let Some(chunk) = tokio::time::timeout(STALL, response.chunk())
            .await
            .map_err(|_| anyhow::anyhow!("{}: no byte in {STALL:?}", self.url))??
        {
            pending.extend_from_slice(&chunk);
            if pending.len() >= PIECE {
                sink.push(pending.split().freeze()).await?;
                pending.reserve(PIECE);
            }
        }
        sink.push(pending.freeze()).await?;
        let written = sink.finish().await?;
        if let Some(error) = written.error {
            return Err(error.into());
        }
        written.file.sync_all()?;
        let actual = written.hasher.finalize().to_hex().to_string();
        if let Some(expected) = blake3 {
            anyhow::ensure!(
                actual == expected,
                "{}: BLAKE3 {actual}, the ETag says {expected}",
                self.url
            );
        }
        Ok(())
    }
}

/// reqwest on rustls with ring (the server's provider), TLS 1.3 only,
/// trusting the server's certificate as a root (nothing in plaintext: the
/// configuration is still given, as reqwest has no provider of its own).
fn client(ca: Option<&Path>) -> anyhow::Result<reqwest::Client> {
    let mut roots = rustls::RootCertStore::empty();
    if let Some(ca) = ca {
        for cert in CertificateDer::pem_file_iter(ca)? {
            roots.add(cert?)?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .build()?)
}
