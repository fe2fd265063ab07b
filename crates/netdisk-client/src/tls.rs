//! How a client decides to trust a server: by the fingerprint of its
//! certificate (pinned, like ssh's known_hosts), or by a CA and the name
//! in the address; and the TCP or TLS stream that results.

use crate::ClientError;
use netdisk_proto::Fingerprint;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::path::Path;
use std::sync::Arc;

/// How the client protects a connection and checks the server.
#[derive(Debug, Clone)]
pub enum Transport {
    /// No encryption; the server must run in plaintext mode too.
    Plaintext,
    Tls(ServerTrust),
}

#[derive(Debug, Clone)]
pub enum ServerTrust {
    /// The certificate must have exactly this fingerprint.
    Fingerprint(Fingerprint),
    /// Any certificate is accepted for the handshake; the caller must
    /// check [`crate::Client::server_fingerprint`] before logging in
    /// (trust on first use, with its own record of known servers).
    FirstUse,
    /// The certificate must chain to one of these roots and name the host
    /// of the address.
    Ca(Arc<RootCertStore>),
}

impl ServerTrust {
    /// Trust by CA: the roots are the certificates in a PEM file.
    pub fn ca_from_pem_file(path: &Path) -> Result<ServerTrust, ClientError> {
        let bad = |message: String| ClientError::Tls(format!("{}: {message}", path.display()));
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(path).map_err(|e| bad(e.to_string()))? {
            let cert = cert.map_err(|e| bad(e.to_string()))?;
            roots.add(cert).map_err(|e| bad(e.to_string()))?;
        }
        if roots.is_empty() {
            return Err(bad("no certificate in the file".into()));
        }
        Ok(ServerTrust::Ca(Arc::new(roots)))
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The rustls client configuration for a trust mode (TLS 1.3 only).
pub(crate) fn client_config(trust: &ServerTrust) -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])?;
    let config = match trust {
        ServerTrust::Ca(roots) => {
            let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
                roots.clone(),
                provider,
            )
            .build()
            .map_err(|e| rustls::Error::General(e.to_string()))?;
            builder.with_webpki_verifier(verifier).with_no_client_auth()
        }
        ServerTrust::Fingerprint(_) | ServerTrust::FirstUse => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate { provider }))
            .with_no_client_auth(),
    };
    Ok(config)
}

/// Accepts whatever certificate the server shows, so that its fingerprint
/// can be checked against the pin after the handshake (before a single
/// byte of ours is sent). It still checks the handshake signatures: the
/// server must hold the key of the certificate it shows.
#[derive(Debug)]
struct AnyCertificate {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The host part of "host:port" or "[v6]:port", for SNI and CA name checks.
pub(crate) fn host_of(addr: &str) -> &str {
    if let Some(rest) = addr.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match addr.rsplit_once(':') {
        Some((host, _port)) => host,
        None => addr,
    }
}

#[cfg(test)]
mod tests {
    use super::host_of;

    #[test]
    fn host_is_taken_from_every_address_form() {
        assert_eq!(host_of("localhost:7420"), "localhost");
        assert_eq!(host_of("127.0.0.1:1"), "127.0.0.1");
        assert_eq!(host_of("[::1]:7420"), "::1");
        assert_eq!(host_of("example.org"), "example.org");
    }
}
