//! Real engines for tests and benchmarks: a throw-away PostgreSQL server
//! ([`Postgres`]) and a Garage S3 cluster of several nodes ([`Garage`]),
//! each on 127.0.0.1 with free ports, in a temporary directory, killed
//! and removed when dropped. No mocks: the scale-out back-end is tested
//! against what its users run.
//!
//! The programs come from the machine: PostgreSQL's `initdb` and
//! `postgres` (Debian's `postgresql` package), and `garage` (`cargo
//! install garage`); `.ci/run` installs both. [`Missing`] says which is
//! absent, so a test can skip with that message on a developer's machine
//! and fail in CI (`NETDISK_REQUIRE_ENGINES=1`, see [`require_engines`]).

mod error;
mod garage;
mod ports;
mod postgres;
mod process;

pub use error::{Missing, TestbedError};
pub use garage::Garage;
pub use postgres::Postgres;

/// True when tests must not skip for want of an engine (CI sets
/// `NETDISK_REQUIRE_ENGINES=1`).
pub fn require_engines() -> bool {
    std::env::var_os("NETDISK_REQUIRE_ENGINES").is_some_and(|value| value == "1")
}
