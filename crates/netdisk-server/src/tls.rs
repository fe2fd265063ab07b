//! TLS 1.3 for every connection: the certificate the server presents (its
//! own, generated on first start, or the operator's), and the handshake.

use crate::config::Transport;
use netdisk_fileio::ReadAhead;
use netdisk_proto::Fingerprint;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("TLS certificate {path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("cannot generate the server's TLS certificate: {0}")]
    Generate(String),
    #[error("TLS set-up: {0}")]
    Config(#[from] rustls::Error),
}

fn file_error(path: &Path, message: impl ToString) -> TlsError {
    TlsError::File {
        path: path.to_owned(),
        message: message.to_string(),
    }
}

/// What the listener needs to speak TLS.
pub struct ServerTls {
    acceptor: TlsAcceptor,
    fingerprint: Fingerprint,
}

impl ServerTls {
    /// Loads (or, for the default, creates) the certificate `transport` names.
    /// `None` for plaintext.
    pub(crate) fn load(transport: &Transport, root: &Path) -> Result<Option<ServerTls>, TlsError> {
        let (cert, key) = match transport {
            Transport::Plaintext => return Ok(None),
            Transport::TlsWith { cert, key } => (cert.clone(), key.clone()),
            Transport::Tls => generated_identity(&root.join("tls"))?,
        };
        let chain = CertificateDer::pem_file_iter(&cert)
            .map_err(|e| file_error(&cert, e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| file_error(&cert, e))?;
        let Some(leaf) = chain.first() else {
            return Err(file_error(&cert, "no certificate in the file"));
        };
        let fingerprint = Fingerprint::of_certificate(leaf);
        let private_key = PrivateKeyDer::from_pem_file(&key).map_err(|e| file_error(&key, e))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_no_client_auth()
            .with_single_cert(chain, private_key)?;
        Ok(Some(ServerTls {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            fingerprint,
        }))
    }

    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// The server side of the handshake, bounded by `limit`.
    pub async fn accept(
        &self,
        stream: TcpStream,
        limit: Duration,
    ) -> std::io::Result<TlsStream<ReadAhead<TcpStream>>> {
        tokio::time::timeout(limit, self.acceptor.accept(ReadAhead::new(stream)))
            .await
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::TimedOut, "TLS handshake timed out")
            })?
    }
}

/// The data directory's own certificate, made on first start. Clients pin
/// it by fingerprint, so it lives as long as the data directory.
fn generated_identity(dir: &Path) -> Result<(PathBuf, PathBuf), TlsError> {
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    // The certificate is written last: with it present, both are complete.
    if cert.exists() {
        return Ok((cert, key));
    }
    std::fs::create_dir_all(dir).map_err(|e| file_error(dir, e))?;
    let names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    let generated =
        rcgen::generate_simple_self_signed(names).map_err(|e| TlsError::Generate(e.to_string()))?;
    write_new(&key, generated.key_pair.serialize_pem().as_bytes(), 0o600)?;
    write_new(&cert, generated.cert.pem().as_bytes(), 0o644)?;
    tracing::info!(path = %cert.display(), "generated a TLS certificate for this server");
    Ok((cert, key))
}

/// Writes a file durably under a temporary name, then renames it into place.
fn write_new(path: &Path, contents: &[u8], mode: u32) -> Result<(), TlsError> {
    use std::os::unix::fs::OpenOptionsExt;
    let temporary = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&temporary)
        .map_err(|e| file_error(&temporary, e))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|e| file_error(&temporary, e))?;
    std::fs::rename(&temporary, path).map_err(|e| file_error(path, e))
}
