use crate::ports::{free_port, wait_listening};
use crate::process::{find_program, run, tail, Server};
use crate::TestbedError;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const READY_LIMIT: Duration = Duration::from_secs(60);
/// The cluster's shared RPC secret (any 32 bytes in hex; a throw-away cluster).
const RPC_SECRET: &str = "6e65746469736b2d746573746265642d67617261676521212121212121212121";
/// A fixed key, imported into every cluster: tests and the servers they
/// start need no step to learn it. Garage wants "GK" and 24 hex digits,
/// and a secret of 64.
const KEY_ID: &str = "GK6e65746469736b2d746573";
const SECRET: &str = "746869732d69732d6e6f742d612d7365637265742d6f6e6c792d612d74657374";
const KEY_NAME: &str = "netdisk";
const BUCKET: &str = "netdisk";
const REGION: &str = "garage";

/// A Garage cluster on 127.0.0.1: each node a process with its own
/// directory and ports, every object on every node (replication factor
/// = nodes, up to 3), one bucket and one key that may read and write it.
pub struct Garage {
    nodes: Vec<GarageNode>,
    program: PathBuf,
    _dir: tempfile::TempDir,
}

/// One node of a [`Garage`] cluster.
struct GarageNode {
    server: Option<Server>,
    config: PathBuf,
    log: PathBuf,
    s3: SocketAddr,
    rpc: SocketAddr,
}

impl Garage {
    /// Starts `nodes` nodes, joins them, lays the data out over all of
    /// them, and makes the bucket and the key.
    pub fn start(nodes: usize) -> Result<Garage, TestbedError> {
        let program = find_program("garage", &cargo_bin(), "cargo install garage")?;
        let dir = tempfile::Builder::new()
            .prefix("netdisk-garage-")
            .tempdir()
            .map_err(TestbedError::io("temporary directory"))?;
        let replication = nodes.clamp(1, 3);
        let mut cluster = Garage {
            nodes: Vec::with_capacity(nodes),
            program,
            _dir: dir,
        };
        for index in 0..nodes {
            let node = GarageNode::configure(cluster._dir.path(), index, replication)?;
            cluster.nodes.push(node);
        }
        for index in 0..nodes {
            cluster.start_node(index)?;
        }
        cluster.form(nodes)?;
        Ok(cluster)
    }

    /// Joins the nodes, assigns each a role, applies the layout, and
    /// makes the key and the bucket.
    fn form(&self, nodes: usize) -> Result<(), TestbedError> {
        let mut ids = Vec::with_capacity(nodes);
        for index in 0..nodes {
            let output = self.retry_cli(index, &["node", "id", "-q"])?;
            let id = output.trim().to_owned();
            if !id.contains('@') {
                return Err(TestbedError::Output {
                    command: "garage node id -q".into(),
                    output,
                });
            }
            ids.push(id);
        }
        for id in &ids[1..] {
            self.retry_cli(0, &["node", "connect", id])?;
        }
        for id in &ids {
            let (node, _) = id.split_once('@').unwrap_or((id, ""));
            self.retry_cli(0, &["layout", "assign", "-z", "dc1", "-c", "1GB", node])?;
        }
        self.cli(0, &["layout", "apply", "--version", "1"])?;
        self.cli(
            0,
            &["key", "import", "--yes", "-n", KEY_NAME, KEY_ID, SECRET],
        )?;
        self.retry_cli(0, &["bucket", "create", BUCKET])?;
        self.cli(
            0,
            &[
                "bucket", "allow", "--read", "--write", "--owner", BUCKET, "--key", KEY_NAME,
            ],
        )?;
        Ok(())
    }

    /// Runs the `garage` command line against node `index`.
    pub fn cli(&self, index: usize, args: &[&str]) -> Result<String, TestbedError> {
        run(Command::new(&self.program)
            .arg("-c")
            .arg(&self.nodes[index].config)
            .args(args))
    }

    /// `cli`, tried again while it fails (the cluster is still forming), at
    /// most `READY_LIMIT`.
    fn retry_cli(&self, index: usize, args: &[&str]) -> Result<String, TestbedError> {
        let deadline = Instant::now() + READY_LIMIT;
        loop {
            match self.cli(index, args) {
                Ok(output) => return Ok(output),
                Err(error) if Instant::now() > deadline => return Err(error),
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    }

    /// Starts node `index` (again, after `kill`), and waits for its ports.
    pub fn start_node(&mut self, index: usize) -> Result<(), TestbedError> {
        let node = &mut self.nodes[index];
        let server = Server::spawn(
            Command::new(&self.program)
                .arg("-c")
                .arg(&node.config)
                .arg("server")
                .env("RUST_LOG", "garage=warn"),
            &node.log,
        )?;
        node.server = Some(server);
        for addr in [node.rpc, node.s3] {
            if !wait_listening(addr, READY_LIMIT) {
                return Err(TestbedError::NotReady {
                    what: format!("Garage node {index} on {addr}"),
                    seconds: READY_LIMIT.as_secs(),
                    tail: tail(&node.log),
                });
            }
        }
        Ok(())
    }

    /// Kills node `index` at once (SIGKILL), as a crash would.
    pub fn kill_node(&mut self, index: usize) {
        if let Some(mut server) = self.nodes[index].server.take() {
            server.kill();
        }
    }

    /// The S3 endpoint of node `index`: `http://127.0.0.1:PORT`.
    pub fn endpoint(&self, index: usize) -> String {
        format!("http://{}", self.nodes[index].s3)
    }

    pub fn bucket(&self) -> &'static str {
        BUCKET
    }

    pub fn region(&self) -> &'static str {
        REGION
    }

    pub fn access_key_id(&self) -> &'static str {
        KEY_ID
    }

    pub fn secret_access_key(&self) -> &'static str {
        SECRET
    }
}

impl GarageNode {
    /// Writes node `index`'s configuration, on fresh ports.
    fn configure(
        root: &Path,
        index: usize,
        replication: usize,
    ) -> Result<GarageNode, TestbedError> {
        let dir = root.join(format!("node{index}"));
        std::fs::create_dir(&dir).map_err(TestbedError::io(format!("mkdir {}", dir.display())))?;
        let rpc = SocketAddr::from(([127, 0, 0, 1], free_port()?));
        let s3 = SocketAddr::from(([127, 0, 0, 1], free_port()?));
        let config = dir.join("garage.toml");
        let text = format!(
            r#"metadata_dir = "{meta}"
data_dir = "{data}"
db_engine = "lmdb"
lmdb_map_size = "1G"
# What netdisk stores is mostly compressed already (photos, video,
# archives): zstd would spend the two cores for nothing.
compression_level = "none"
replication_factor = {replication}
rpc_bind_addr = "{rpc}"
rpc_public_addr = "{rpc}"
rpc_secret = "{RPC_SECRET}"

[s3_api]
s3_region = "{REGION}"
api_bind_addr = "{s3}"
"#,
            meta = dir.join("meta").display(),
            data = dir.join("data").display(),
        );
        std::fs::write(&config, text)
            .map_err(TestbedError::io(format!("write {}", config.display())))?;
        Ok(GarageNode {
            server: None,
            config,
            log: dir.join("garage.log"),
            s3,
            rpc,
        })
    }
}

/// Where `cargo install` puts programs, searched after PATH.
fn cargo_bin() -> Vec<PathBuf> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    cargo_home
        .map(|home| home.join("bin"))
        .into_iter()
        .collect()
}
