//! Many small files both ways over one connection (`put_small_files`,
//! `get_small_files`), with bad files among good ones.

mod common;

use common::*;
use netdisk_client::{Client, ClientError, NetStream, SmallDownload, SmallUpload};
use netdisk_proto::request::PUT_SMALL_MAX;
use netdisk_proto::ErrorCode;

async fn login(server: &TestServer) -> Client<NetStream> {
    let mut client = Client::connect(&server.addr.to_string(), &server.transport())
        .await
        .expect("connect");
    client.login("alice", "pw").await.expect("login");
    client
}

fn size_of(i: usize) -> usize {
    (i * 997) % 60_000
}

/// Every file name in `dir` (partial downloads included), sorted.
fn names_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn small_files_go_up_and_down_and_bad_ones_fail_alone() {
    let server = TestServer::start();
    server.add_user("alice", "pw");
    let mut client = login(&server).await;
    client.mkdir("tree", false).await.expect("mkdir");
    let local = server.scratch("up");
    let mut uploads = Vec::new();
    for i in 0..600usize {
        let name = format!("f{i:03}");
        // 0 bytes up to about 60 KiB, 18 MB in all (more than one batch
        // of downloads held in memory); the one at 333 does not exist.
        if i != 333 {
            write_file(&local.join(&name), &pattern(size_of(i), i as u8));
        }
        uploads.push(SmallUpload {
            local: local.join(&name),
            remote: format!("tree/{name}"),
        });
    }
    // Too large for put_small, and a target that is a directory.
    write_file(&local.join("big"), &pattern(PUT_SMALL_MAX as usize + 1, 1));
    uploads.push(SmallUpload {
        local: local.join("big"),
        remote: "tree/big".into(),
    });
    uploads.push(SmallUpload {
        local: local.join("f001"),
        remote: "tree".into(),
    });
    let mut results = vec![None; uploads.len()];
    client
        .put_small_files(&uploads, |index, result| {
            assert!(results[index].is_none(), "one report per file");
            results[index] = Some(result.map_err(|e| (e.code(), e.to_string())));
        })
        .await
        .expect("connection stays up");
    for (i, result) in results.iter().enumerate() {
        let result = result.as_ref().expect("every file reported");
        match i {
            333 => assert!(result.as_ref().is_err_and(|(_, m)| m.contains("f333"))),
            600 => assert!(result.as_ref().is_err_and(|(_, m)| m.contains("too large"))),
            601 => assert_eq!(
                result.as_ref().err().map(|e| e.0),
                Some(Some(ErrorCode::IsADirectory))
            ),
            _ => {
                let done = result.as_ref().expect("uploaded");
                assert_eq!(done.size, size_of(i) as u64);
                assert_eq!(done.path, format!("~/tree/f{i:03}"));
            }
        }
    }

    // Down again, with a missing remote file and an unusable local directory.
    let back = server.scratch("down");
    let mut downloads: Vec<SmallDownload> = (0..600usize)
        .filter(|i| *i != 333)
        .map(|i| SmallDownload {
            remote: format!("tree/f{i:03}"),
            local: back.join(format!("f{i:03}")),
        })
        .collect();
    downloads.push(SmallDownload {
        remote: "tree/nothing".into(),
        local: back.join("nothing"),
    });
    downloads.push(SmallDownload {
        remote: "tree/f001".into(),
        local: back.join("no-such-dir/f001"),
    });
    let mut outcomes: Vec<Option<Result<u64, ClientError>>> =
        (0..downloads.len()).map(|_| None).collect();
    client
        .get_small_files(&downloads, |index, result| {
            assert!(outcomes[index].is_none(), "one report per file");
            outcomes[index] = Some(result.map(|done| done.size));
        })
        .await
        .expect("connection stays up");
    let count = downloads.len();
    for (n, outcome) in outcomes.into_iter().enumerate() {
        let outcome = outcome.expect("every file reported");
        if n == count - 2 {
            assert_eq!(
                outcome.err().and_then(|e| e.code()),
                Some(ErrorCode::NotFound)
            );
        } else if n == count - 1 {
            assert!(matches!(outcome, Err(ClientError::Local { .. })));
        } else {
            let name = downloads[n].local.file_name().expect("name").to_owned();
            let got = std::fs::read(&downloads[n].local).expect("downloaded");
            assert_eq!(outcome.expect("ok"), got.len() as u64);
            assert_eq!(got, std::fs::read(local.join(name)).expect("source"));
        }
    }
    // Nothing but the files themselves: no partial downloads left behind.
    assert_eq!(names_in(&back).len(), 599);
    assert!(names_in(&back).iter().all(|n| !n.contains("netdisk-part")));

    // The same connection still serves lockstep requests.
    assert_eq!(
        client.ls(Some("tree")).await.expect("ls").entries.len(),
        599
    );
}
