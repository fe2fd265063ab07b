//! How the client ends a TLS connection, seen from a TLS server: with
//! `close`, an orderly end (close_notify), which the server can tell from
//! a connection that was cut.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use futures_util::SinkExt;
use netdisk_client::{Client, ServerTrust, Transport};
use netdisk_proto::handshake::Hello;
use netdisk_proto::{Fingerprint, Message, NetdiskCodec, PROTOCOL_VERSION};
use rustls::pki_types::PrivatePkcs8KeyDer;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::codec::Framed;

const LIMIT: Duration = Duration::from_secs(30);

/// A TLS 1.3 listener with a fresh self-signed certificate.
async fn tls_listener() -> (TcpListener, TlsAcceptor, Fingerprint) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("certificate");
    let cert = certified.cert.der().clone();
    let fingerprint = Fingerprint::of_certificate(&cert);
    let key = PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])
    .expect("TLS 1.3")
    .with_no_client_auth()
    .with_single_cert(vec![cert], key.into())
    .expect("server config");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    (listener, TlsAcceptor::from(Arc::new(config)), fingerprint)
}

fn hello() -> Message {
    Message::Hello(Hello {
        protocol: PROTOCOL_VERSION,
        server: "tls-close-test".into(),
        version: "0".into(),
        auth: vec!["SCRAM-SHA-256".into()],
        challenge: B64.encode([7u8; 32]),
        site_key: false,
        idle_timeout: None,
    })
}

/// Serves one client: the hello, then reads to the end. `Ok` only for an
/// orderly end; a connection closed without close_notify is an
/// `UnexpectedEof` error. Answers an orderly end with its own, as the
/// netdisk server does.
async fn serve_one(listener: TcpListener, acceptor: TlsAcceptor) -> std::io::Result<()> {
    let (tcp, _) = listener.accept().await?;
    let tls = acceptor.accept(tcp).await?;
    let mut framed = Framed::new(tls, NetdiskCodec::new());
    framed
        .send(hello())
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut tls = framed.into_inner();
    let mut rest = Vec::new();
    tls.read_to_end(&mut rest).await?;
    tls.shutdown().await
}

async fn connect(addr: &str, fingerprint: Fingerprint) -> Client<netdisk_client::NetStream> {
    let transport = Transport::Tls(ServerTrust::Fingerprint(fingerprint));
    Client::connect_within(addr, &transport, LIMIT)
        .await
        .expect("connect")
}

#[tokio::test]
async fn close_sends_close_notify_and_waits_for_the_servers_end() {
    let (listener, acceptor, fingerprint) = tls_listener().await;
    let addr = listener.local_addr().expect("addr").to_string();
    let server = tokio::spawn(serve_one(listener, acceptor));
    let client = connect(&addr, fingerprint).await;
    tokio::time::timeout(LIMIT, client.close())
        .await
        .expect("closed in time")
        .expect("orderly close");
    let seen = tokio::time::timeout(LIMIT, server)
        .await
        .expect("server done in time")
        .expect("server task");
    assert!(seen.is_ok(), "the server saw {seen:?}");
}

/// The other half of the proof: the server above does notice a cut.
#[tokio::test]
async fn a_client_dropped_without_close_is_a_cut_connection() {
    let (listener, acceptor, fingerprint) = tls_listener().await;
    let addr = listener.local_addr().expect("addr").to_string();
    let server = tokio::spawn(serve_one(listener, acceptor));
    drop(connect(&addr, fingerprint).await);
    let seen = tokio::time::timeout(LIMIT, server)
        .await
        .expect("server done in time")
        .expect("server task");
    let error = seen.expect_err("a dropped client ended in good order");
    assert_eq!(error.kind(), std::io::ErrorKind::UnexpectedEof, "{error}");
}
