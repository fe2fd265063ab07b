//! The `cluster` mode: the server under test on the scale-out back-end
//! (docs/CLUSTER.md), a PostgreSQL catalog and a 3-node Garage on
//! loopback, with the bench users in the catalog. Scenarios 1-3 run on
//! it beside the local back-end's, with the raw-TCP baseline of the same
//! run; the S3 engine's own speed is scenario 10.

use crate::server::{BENCH_USERS, PASSWORD};
use netdisk_cluster::Catalog;
use netdisk_testbed::{Garage, Postgres, TestbedError};

pub struct Cluster {
    postgres: Postgres,
    garage: Garage,
}

impl Cluster {
    /// The engines with the bench users, or `None` (said why) where they
    /// are not installed.
    pub async fn start() -> anyhow::Result<Option<Cluster>> {
        let engines = Postgres::start().and_then(|postgres| Ok((postgres, Garage::start(3)?)));
        let (postgres, garage) = match engines {
            Ok(engines) => engines,
            Err(TestbedError::Missing(missing)) => {
                eprintln!("cluster mode skipped: {missing}");
                return Ok(None);
            }
            Err(error) => return Err(error.into()),
        };
        let catalog = Catalog::connect(&postgres.url(), 1).await?;
        for (user, iterations) in BENCH_USERS {
            let verifier = netdisk_store::new_verifier(PASSWORD, iterations)?;
            catalog.add_user(user, &verifier, None).await?;
        }
        Ok(Some(Cluster { postgres, garage }))
    }

    /// `netdisk serve`'s `--store` and `--objects` for the server under test.
    pub fn serve_args(&self) -> [String; 4] {
        [
            "--store".into(),
            self.postgres.url(),
            "--objects".into(),
            format!(
                "s3://{}/bench?endpoint={}&region={}",
                self.garage.bucket(),
                self.garage.endpoint(0),
                self.garage.region()
            ),
        ]
    }

    /// The object store's keys, for the server's environment.
    pub fn keys(&self) -> [(&'static str, &str); 2] {
        [
            ("AWS_ACCESS_KEY_ID", self.garage.access_key_id()),
            ("AWS_SECRET_ACCESS_KEY", self.garage.secret_access_key()),
        ]
    }
}
