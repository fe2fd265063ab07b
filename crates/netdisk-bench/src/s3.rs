//! Scenario 10: the S3 engine the scale-out back-end stands on, alone: a
//! 3-node Garage cluster on loopback (every object on every node), the
//! big file PUT and GET once by `curl --aws-sigv4` (one request each,
//! the engine's own speed) and once through `netdisk-cluster`'s object
//! layer (object_store, 8 MiB parts, one in flight), as ratios to the
//! raw-TCP baseline measured just before. Garage does not fsync its data
//! by default, where the baseline does.

use crate::report::Figure;
use bytes::Bytes;
use futures_util::TryStreamExt;
use netdisk_cluster::{part_size_for, ObjectKey, Objects, PartWriter, S3Location};
use netdisk_testbed::Garage;
use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

const MB: f64 = 1_000_000.0;
/// What the object layer is handed at a time (as a connection's reads would).
const CHUNK: usize = 1 << 20;

fn curl(garage: &Garage) -> Command {
    let mut command = Command::new("curl");
    command
        .args(["--silent", "--show-error", "--fail"])
        // curl 7.88 signs no payload hash of its own for an upload; S3
        // stores want the header, and this one unsigned (streamed).
        .args(["-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD"])
        .arg("--aws-sigv4")
        .arg(format!("aws:amz:{}:s3", garage.region()))
        .arg("--user")
        .arg(format!(
            "{}:{}",
            garage.access_key_id(),
            garage.secret_access_key()
        ));
    command
}

fn mbs(size: u64, started: Instant) -> f64 {
    size as f64 / started.elapsed().as_secs_f64() / MB
}

pub async fn s3_engine(
    source: &Path,
    size: u64,
    scratch: &Path,
    baseline: f64,
) -> anyhow::Result<Vec<Figure>> {
    let garage = match Garage::start(3) {
        Ok(garage) => garage,
        Err(netdisk_testbed::TestbedError::Missing(missing)) => {
            eprintln!("scenario 10 skipped: {missing}");
            return Ok(Vec::new());
        }
        Err(error) => return Err(error.into()),
    };
    let url = format!("{}/{}/curl-big", garage.endpoint(0), garage.bucket());
    let started = Instant::now();
    crate::tool::run(
        curl(&garage)
            .arg("-T")
            .arg(source)
            .arg(&url)
            .args(["-o", "/dev/null"]),
        "curl PUT",
        "scenario 10 needs curl",
    )?;
    let curl_up = mbs(size, started);
    let back = scratch.join("s3.back");
    let started = Instant::now();
    crate::tool::run(
        curl(&garage).arg("-o").arg(&back).arg(&url),
        "curl GET",
        "scenario 10 needs curl",
    )?;
    let curl_down = mbs(size, started);
    anyhow::ensure!(std::fs::metadata(&back)?.len() == size, "curl GET: short");
    std::fs::remove_file(&back)?;

    let location = S3Location::parse(&format!(
        "s3://{}/bench?endpoint={}&region={}",
        garage.bucket(),
        garage.endpoint(1),
        garage.region()
    ))?;
    let objects = Objects::open(
        &location,
        Some((garage.access_key_id(), garage.secret_access_key())),
    )?;
    let key = ObjectKey::fresh();
    let started = Instant::now();
    let mut writer = PartWriter::start(objects.clone(), key.clone(), part_size_for(size)).await?;
    let mut file = std::fs::File::open(source)?;
    let mut chunk = vec![0; CHUNK];
    loop {
        let read = file.read(&mut chunk)?;
        if read == 0 {
            break;
        }
        writer.write(&chunk[..read]).await?;
    }
    anyhow::ensure!(writer.finish().await? == size, "object layer PUT: short");
    let layer_up = mbs(size, started);
    let started = Instant::now();
    let mut out = std::fs::File::create(&back)?;
    let mut stream = objects.read(&key, 0..size).await?;
    let mut got = 0;
    while let Some(piece) = stream.try_next().await? {
        let piece: Bytes = piece;
        out.write_all(&piece)?;
        got += piece.len() as u64;
    }
    let layer_down = mbs(size, started);
    anyhow::ensure!(got == size, "object layer GET: short");
    std::fs::remove_file(&back)?;

    let note = "3-node Garage on loopback, replication 3, no data fsync; baseline: raw TCP + fsync";
    Ok(vec![
        Figure::new(
            "10 S3 engine: big file PUT (curl, one request)",
            "http",
            curl_up,
            "MB/s",
        )
        .ratio_to(baseline)
        .note(note),
        Figure::new(
            "10 S3 engine: big file GET (curl, to a file)",
            "http",
            curl_down,
            "MB/s",
        )
        .ratio_to(baseline)
        .note(note),
        Figure::new(
            "10 S3 object layer: PUT (8 MiB parts)",
            "http",
            layer_up,
            "MB/s",
        )
        .ratio_to(baseline)
        .note("netdisk-cluster PartWriter over object_store, one part in flight"),
        Figure::new(
            "10 S3 object layer: GET (to a file)",
            "http",
            layer_down,
            "MB/s",
        )
        .ratio_to(baseline)
        .note("netdisk-cluster Objects::read over object_store"),
    ])
}
