//! The shortest path through the server: hello, login, a request.

mod common;

use common::{RawClient, TestServer};
use netdisk_proto::request::Pwd;
use netdisk_proto::{ErrorCode, Message, PROTOCOL_VERSION};

#[tokio::test]
async fn hello_login_pwd() {
    let server = TestServer::start().await;
    server.add_user("alice", "secret");
    let (mut client, hello) = RawClient::connect_hello(server.addr).await;
    let Message::Hello(hello) = hello else {
        panic!("no hello")
    };
    assert_eq!(hello.protocol, PROTOCOL_VERSION);
    assert_eq!(hello.auth, vec!["SCRAM-SHA-256".to_string()]);
    assert_eq!(base64_len(&hello.challenge), 32);
    // The default idle timeout, so a waiting client knows when to speak.
    assert_eq!(hello.idle_timeout, Some(600));
    assert!(matches!(
        client.try_login("alice", "secret").await,
        Message::LoginOk(_)
    ));
    let id = client.id();
    client.send(Message::Pwd(Pwd { id })).await;
    match client.recv().await {
        Message::Cwd(cwd) => {
            assert_eq!(cwd.id, id);
            assert_eq!(cwd.path, "~");
        }
        other => panic!("got {other:?}"),
    }
    server.shutdown().await;
}

#[tokio::test]
async fn wrong_password_and_unknown_user_look_the_same() {
    let server = TestServer::start().await;
    server.add_user("alice", "secret");
    let mut replies = Vec::new();
    for (user, password) in [("alice", "wrong"), ("mallory", "secret")] {
        let (mut client, _) = RawClient::connect_hello(server.addr).await;
        match client.try_login(user, password).await {
            Message::Error(e) => replies.push((e.code, e.message)),
            other => panic!("got {other:?}"),
        }
        client.expect_closed().await;
    }
    assert_eq!(replies[0].0, ErrorCode::AuthFailed);
    assert_eq!(replies[0], replies[1]);
    server.shutdown().await;
}

fn base64_len(text: &str) -> usize {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map(|b| b.len())
        .unwrap_or(0)
}
