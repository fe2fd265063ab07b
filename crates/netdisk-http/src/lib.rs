//! netdisk's web gateway: the HTTP API (`/api/v1/...`, docs/HTTP.md) over
//! the storage engine, served by `netdisk serve --http ADDR` in the same
//! process as the native protocol, for the same users, jail, quotas,
//! verified atomic commit and audit log. Every rule is the store's; this
//! crate translates requests into `Space` calls and the answers into
//! HTTP.

mod auth;
mod config;
mod cookies;
mod download;
mod error;
mod files;
mod gateway;
mod openapi;
mod public;
mod range;
mod routes;
mod schemas;
mod shares;
mod tus;
mod ui;
mod upload;
mod whole_reads;

pub use config::HttpConfig;
pub use gateway::HttpGateway;
