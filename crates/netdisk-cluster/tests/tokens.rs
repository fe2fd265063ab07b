//! The HTTP API's tokens in the catalog, against a real PostgreSQL
//! server, through two servers' `Tokens` (the engine's rules over
//! `CatalogTokens`): what one server issues, revokes or refreshes holds on
//! the other at once.

mod common;

use common::{postgres, Books};
use netdisk_cluster::{Catalog, CatalogTokens};
use netdisk_proto::scram::Verifier;
use netdisk_store::{ErrorKind, LoginLifetimes, TokenKind, Tokens};
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Handle;

/// A server's token book (its own connections to the catalog).
async fn server(url: &str) -> Tokens {
    let catalog = Catalog::connect(url, 2).await.expect("catalog");
    Tokens::new(Arc::new(CatalogTokens::new(catalog, Handle::current())))
}

/// Runs `work` on the blocking pool, where the engine calls its books.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work).await.expect("blocking")
}

const LIFETIMES: LoginLifetimes = LoginLifetimes {
    session: Duration::from_secs(60),
    refresh: Some(Duration::from_secs(600)),
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_from_one_server_works_on_the_other_until_revoked() {
    let Some(postgres) = postgres() else { return };
    let catalog = Catalog::connect(&postgres.url(), 2).await.expect("catalog");
    let verifier = Verifier::from_password("pw", b"salt", 4096).expect("verifier");
    for user in ["alice", "bob"] {
        catalog.add_user(user, &verifier, None).await.expect("user");
    }
    let (a, b) = (server(&postgres.url()).await, server(&postgres.url()).await);

    let (issuer, checker) = (a.clone(), b.clone());
    blocking(move || {
        let (id, text) = issuer
            .add_personal("alice", "ci", None)
            .expect("issue on A");
        let owner = checker
            .authenticate(&text)
            .expect("check")
            .expect("B knows it");
        assert_eq!((owner.user.as_str(), owner.token_id), ("alice", id));
        assert_eq!(owner.kind, TokenKind::Personal);
        assert_eq!(checker.list("alice").expect("list")[0].name, "ci");
        assert!(checker.list("bob").expect("list").is_empty());
        assert!(
            !checker.revoke("bob", id).expect("revoke"),
            "bob cannot revoke alice's token"
        );
        assert!(checker.revoke("alice", id).expect("revoke"));
        assert_eq!(issuer.authenticate(&text).expect("check"), None);

        // Expired, unknown, malformed, and a user that is not there.
        let (_, expired) = issuer
            .issue("alice", TokenKind::Session, "login", Some(Duration::ZERO))
            .expect("issue");
        assert_eq!(checker.authenticate(&expired).expect("check"), None);
        assert_eq!(checker.authenticate("ndt_made-up").expect("check"), None);
        assert_eq!(checker.authenticate("").expect("check"), None);
        let nobody = issuer
            .issue("nobody", TokenKind::Personal, "x", None)
            .unwrap_err();
        assert_eq!(nobody.kind, ErrorKind::NotFound, "{nobody}");
        let empty_name = issuer.add_personal("alice", " ", None).unwrap_err();
        assert_eq!(empty_name.kind, ErrorKind::Invalid);
    })
    .await;

    // Deleting a user ends their tokens, on every server.
    let bobs = {
        let issuer = a.clone();
        blocking(move || issuer.add_personal("bob", "x", None).expect("issue").1).await
    };
    catalog.delete_user("bob").await.expect("delete");
    let checker = b.clone();
    let after = blocking(move || checker.authenticate(&bobs).expect("check")).await;
    assert_eq!(after, None);

    // Only digests are kept: no token's text is in the table.
    let issuer = a.clone();
    let text = blocking(move || issuer.add_personal("alice", "kept", None).expect("issue").1).await;
    let books = Books::open(&postgres).await;
    let holding: i64 = books
        .client
        .query_one(
            "SELECT count(*) FROM tokens WHERE position($1 in hash) > 0 OR name = $2",
            &[&text.as_bytes(), &text],
        )
        .await
        .expect("look")
        .get(0);
    assert_eq!(holding, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_token_buys_one_new_pair_whichever_server_takes_it() {
    let Some(postgres) = postgres() else { return };
    let catalog = Catalog::connect(&postgres.url(), 2).await.expect("catalog");
    let verifier = Verifier::from_password("pw", b"salt", 4096).expect("verifier");
    catalog
        .add_user("carol", &verifier, None)
        .await
        .expect("user");
    let (a, b) = (server(&postgres.url()).await, server(&postgres.url()).await);

    let (on_a, on_b) = (a.clone(), b.clone());
    let (first, second) = blocking(move || {
        let first = on_a.issue_login("carol", LIFETIMES).expect("login on A");
        let refresh = first.refresh.clone().expect("a refresh token");
        assert_eq!(
            on_b.refresh(&first.session, LIFETIMES).expect("refresh"),
            None,
            "a session token is no refresh token"
        );
        let second = on_b
            .refresh(&refresh, LIFETIMES)
            .expect("refresh")
            .expect("a new pair from B");
        assert_eq!(second.user, "carol");
        assert_eq!(on_a.authenticate(&first.session).expect("check"), None);
        assert_eq!(
            on_a.refresh(&refresh, LIFETIMES).expect("refresh"),
            None,
            "a refresh token works once"
        );
        assert_eq!(
            on_a.list("carol").expect("list").len(),
            1,
            "refresh tokens are not listed apart"
        );
        (first, second)
    })
    .await;
    assert_ne!(first.session, second.session);

    // Two servers refreshing one token at once: one new pair, not two.
    let refresh = second.refresh.clone().expect("refresh");
    let racing = [a.clone(), b.clone()].map(|tokens| {
        let refresh = refresh.clone();
        tokio::task::spawn_blocking(move || tokens.refresh(&refresh, LIFETIMES))
    });
    let mut pairs = 0;
    for outcome in racing {
        if outcome.await.expect("task").expect("refresh").is_some() {
            pairs += 1;
        }
    }
    assert_eq!(pairs, 1);

    // A logout on one server ends the login on the other.
    let (on_a, on_b) = (a, b);
    blocking(move || {
        let login = on_a.issue_login("carol", LIFETIMES).expect("login");
        let owner = on_b
            .authenticate(&login.session)
            .expect("check")
            .expect("live");
        assert!(on_b.revoke("carol", owner.token_id).expect("revoke"));
        let refresh = login.refresh.expect("refresh");
        assert_eq!(on_a.authenticate(&refresh).expect("check"), None);
    })
    .await;
}
