//! The engine's `TokenBook` over the catalog: a token issued through one
//! server logs in on every server.

use crate::catalog::Catalog;
use netdisk_store::{
    ApiToken, LoginLifetimes, LoginTokens, StoreError, TokenBook, TokenKind, TokenOwner,
};
use std::time::Duration;
use tokio::runtime::Handle;

pub struct CatalogTokens {
    catalog: Catalog,
    /// The server's runtime, which the engine's blocking threads wait on.
    runtime: Handle,
}

impl CatalogTokens {
    pub fn new(catalog: Catalog, runtime: Handle) -> CatalogTokens {
        CatalogTokens { catalog, runtime }
    }
}

impl TokenBook for CatalogTokens {
    fn issue(
        &self,
        user: &str,
        kind: TokenKind,
        name: &str,
        lifetime: Option<Duration>,
    ) -> Result<(i64, String), StoreError> {
        self.runtime
            .block_on(self.catalog.issue_token(user, kind, name, lifetime))
    }

    fn issue_login(
        &self,
        user: &str,
        lifetimes: LoginLifetimes,
    ) -> Result<LoginTokens, StoreError> {
        self.runtime
            .block_on(self.catalog.issue_login_tokens(user, lifetimes))
    }

    fn refresh(
        &self,
        text: &str,
        lifetimes: LoginLifetimes,
    ) -> Result<Option<LoginTokens>, StoreError> {
        self.runtime
            .block_on(self.catalog.refresh_tokens(text, lifetimes))
    }

    fn authenticate(&self, text: &str) -> Result<Option<TokenOwner>, StoreError> {
        self.runtime.block_on(self.catalog.authenticate_token(text))
    }

    fn list(&self, user: &str) -> Result<Vec<ApiToken>, StoreError> {
        self.runtime.block_on(self.catalog.tokens_of(user))
    }

    fn revoke(&self, user: &str, id: i64) -> Result<bool, StoreError> {
        self.runtime.block_on(self.catalog.revoke_token(user, id))
    }
}
