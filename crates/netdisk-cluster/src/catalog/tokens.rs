//! The HTTP API's bearer tokens in the catalog, so a token issued by one
//! server opens every server, and a refresh or a revocation on one holds
//! on all. The rules are `netdisk_store::Tokens`'s; each operation here is
//! one transaction.

use super::{database, Catalog};
use deadpool_postgres::GenericClient;
use netdisk_store::{
    token_digest, token_expiry, ApiToken, ErrorKind, LoginLifetimes, LoginTokens, NewToken,
    StoreError, TokenKind, TokenOwner,
};
use std::time::Duration;

/// Inserts one token; returns its id and its text (shown this once).
async fn insert(
    client: &impl GenericClient,
    owner: &str,
    kind: TokenKind,
    name: &str,
    lifetime: Option<Duration>,
    family: Option<i64>,
) -> Result<(i64, String), StoreError> {
    let token = NewToken::generate();
    let created = netdisk_store::unix_now();
    let id: i64 = client
        .query_one(
            "INSERT INTO tokens (hash, owner, kind, name, created, expires, family)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            &[
                &token.digest,
                &owner,
                &kind.as_str(),
                &name,
                &created,
                &token_expiry(created, lifetime),
                &family,
            ],
        )
        .await
        .map_err(|error| match error.code() {
            // The owner is no user (any more).
            Some(code) if *code == tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION => {
                StoreError::new(ErrorKind::NotFound, format!("no such user: {owner:?}"))
            }
            _ => database(error),
        })?
        .get(0);
    Ok((id, token.text))
}

/// A login's pair in `family` (`None`: a new login, whose family is its
/// session token's id).
async fn insert_login(
    client: &impl GenericClient,
    owner: &str,
    lifetimes: LoginLifetimes,
    family: Option<i64>,
) -> Result<LoginTokens, StoreError> {
    let (id, session) = insert(
        client,
        owner,
        TokenKind::Session,
        "login",
        Some(lifetimes.session),
        family,
    )
    .await?;
    let family = match family {
        Some(family) => family,
        None => {
            client
                .execute("UPDATE tokens SET family = $1 WHERE id = $1", &[&id])
                .await
                .map_err(database)?;
            id
        }
    };
    let refresh = match lifetimes.refresh {
        Some(lifetime) => Some(
            insert(
                client,
                owner,
                TokenKind::Refresh,
                "login",
                Some(lifetime),
                Some(family),
            )
            .await?
            .1,
        ),
        None => None,
    };
    Ok(LoginTokens {
        user: owner.to_owned(),
        session,
        refresh,
    })
}

/// Expired tokens nobody presents again go here, not only when presented.
async fn remove_expired(client: &impl GenericClient) -> Result<(), StoreError> {
    client
        .execute(
            "DELETE FROM tokens WHERE expires IS NOT NULL AND expires <= $1",
            &[&netdisk_store::unix_now()],
        )
        .await
        .map_err(database)?;
    Ok(())
}

/// The live token `text`, locked for the transaction; an expired one is
/// removed and not returned. With its family.
async fn live_token(
    client: &impl GenericClient,
    text: &str,
) -> Result<Option<(TokenOwner, Option<i64>)>, StoreError> {
    let row = client
        .query_opt(
            "SELECT id, owner, kind, expires, family FROM tokens WHERE hash = $1 FOR UPDATE",
            &[&token_digest(text)],
        )
        .await
        .map_err(database)?;
    let Some(row) = row else { return Ok(None) };
    let owner = TokenOwner {
        token_id: row.get(0),
        user: row.get(1),
        kind: TokenKind::parse(row.get(2)),
        expires: row.get(3),
    };
    if owner
        .expires
        .is_some_and(|expires| expires <= netdisk_store::unix_now())
    {
        client
            .execute("DELETE FROM tokens WHERE id = $1", &[&owner.token_id])
            .await
            .map_err(database)?;
        return Ok(None);
    }
    Ok(Some((owner, row.get(4))))
}

impl Catalog {
    /// See `netdisk_store::TokenBook::issue`.
    pub async fn issue_token(
        &self,
        owner: &str,
        kind: TokenKind,
        name: &str,
        lifetime: Option<Duration>,
    ) -> Result<(i64, String), StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(database)?;
        remove_expired(&transaction).await?;
        let issued = insert(&transaction, owner, kind, name, lifetime, None).await?;
        transaction.commit().await.map_err(database)?;
        Ok(issued)
    }

    /// See `netdisk_store::TokenBook::issue_login`.
    pub async fn issue_login_tokens(
        &self,
        owner: &str,
        lifetimes: LoginLifetimes,
    ) -> Result<LoginTokens, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(database)?;
        remove_expired(&transaction).await?;
        let tokens = insert_login(&transaction, owner, lifetimes, None).await?;
        transaction.commit().await.map_err(database)?;
        Ok(tokens)
    }

    /// See `netdisk_store::TokenBook::refresh`. The refresh token is locked
    /// while its login is replaced: of two servers refreshing it at once,
    /// one gets the new pair and the other `None`.
    pub async fn refresh_tokens(
        &self,
        text: &str,
        lifetimes: LoginLifetimes,
    ) -> Result<Option<LoginTokens>, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(database)?;
        let live = live_token(&transaction, text).await?;
        let Some((owner, Some(family))) = live else {
            transaction.commit().await.map_err(database)?;
            return Ok(None);
        };
        if owner.kind != TokenKind::Refresh {
            transaction.commit().await.map_err(database)?;
            return Ok(None);
        }
        transaction
            .execute("DELETE FROM tokens WHERE family = $1", &[&family])
            .await
            .map_err(database)?;
        let tokens = insert_login(&transaction, &owner.user, lifetimes, Some(family)).await?;
        transaction.commit().await.map_err(database)?;
        Ok(Some(tokens))
    }

    /// See `netdisk_store::TokenBook::authenticate`.
    pub async fn authenticate_token(&self, text: &str) -> Result<Option<TokenOwner>, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(database)?;
        let live = live_token(&transaction, text).await?;
        transaction.commit().await.map_err(database)?;
        Ok(live.map(|(owner, _)| owner))
    }

    /// See `netdisk_store::TokenBook::list`.
    pub async fn tokens_of(&self, owner: &str) -> Result<Vec<ApiToken>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT id, name, kind, created, expires FROM tokens
                 WHERE owner = $1 AND kind <> 'refresh' AND (expires IS NULL OR expires > $2)
                 ORDER BY id",
                &[&owner, &netdisk_store::unix_now()],
            )
            .await
            .map_err(database)?;
        Ok(rows
            .iter()
            .map(|row| ApiToken {
                id: row.get(0),
                name: row.get(1),
                kind: TokenKind::parse(row.get(2)).as_str(),
                created: row.get(3),
                expires: row.get(4),
            })
            .collect())
    }

    /// See `netdisk_store::TokenBook::revoke`.
    pub async fn revoke_token(&self, owner: &str, id: i64) -> Result<bool, StoreError> {
        let removed = self
            .client()
            .await?
            .execute(
                "DELETE FROM tokens WHERE owner = $2 AND (id = $1 OR family =
                   (SELECT family FROM tokens WHERE id = $1 AND owner = $2))",
                &[&id, &owner],
            )
            .await
            .map_err(database)?;
        Ok(removed > 0)
    }
}
