//! Property tests for the frame codec: every message type round-trips, and
//! no byte stream (random, truncated, hostile) makes the decoder panic,
//! loop, or allocate on the strength of a length prefix.

use bytes::{BufMut, Bytes, BytesMut};
use netdisk_proto::handshake::*;
use netdisk_proto::request::*;
use netdisk_proto::response::*;
use netdisk_proto::{
    CodecError, Entry, EntryKind, ErrorCode, Frame, Message, NetdiskCodec, MAX_HEADER_LEN,
};
use proptest::prelude::*;
use tokio_util::codec::{Decoder, Encoder};

fn text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[a-z0-9_./~ -]{0,40}"]
}

fn entry_kind() -> impl Strategy<Value = EntryKind> {
    prop_oneof![
        Just(EntryKind::File),
        Just(EntryKind::Dir),
        Just(EntryKind::Symlink),
        Just(EntryKind::Other)
    ]
}

fn entry() -> impl Strategy<Value = Entry> {
    (
        text(),
        entry_kind(),
        any::<u64>(),
        proptest::option::of(any::<i64>()),
        proptest::option::of(any::<u32>()),
    )
        .prop_map(|(name, kind, size, modified, mode)| Entry {
            name,
            kind,
            size,
            modified,
            mode,
        })
}

fn partial_upload() -> impl Strategy<Value = PartialUpload> {
    (
        text(),
        any::<u64>(),
        any::<u64>(),
        proptest::option::of(any::<i64>()),
        proptest::option::of(any::<i64>()),
        any::<bool>(),
    )
        .prop_map(
            |(path, size, kept, modified, expires, active)| PartialUpload {
                path,
                size,
                kept,
                modified,
                expires,
                active,
            },
        )
}

fn code() -> impl Strategy<Value = ErrorCode> {
    proptest::sample::select(ErrorCode::ALL.to_vec())
}

/// Any message of any type, with arbitrary field values.
fn message() -> impl Strategy<Value = Message> {
    let id = any::<u64>();
    prop_oneof![
        (
            any::<u32>(),
            text(),
            text(),
            proptest::collection::vec(text(), 0..3),
            text(),
            any::<bool>(),
            proptest::option::of(any::<u64>())
        )
            .prop_map(
                |(protocol, server, version, auth, challenge, site_key, idle_timeout)| {
                    Message::Hello(Hello {
                        protocol,
                        server,
                        version,
                        auth,
                        challenge,
                        site_key,
                        idle_timeout,
                    })
                }
            ),
        text().prop_map(|mac| Message::SiteProof(SiteProof { mac })),
        (id, any::<u32>(), text(), text()).prop_map(|(id, protocol, mechanism, data)| {
            Message::Login(Login {
                id,
                protocol,
                mechanism,
                data,
            })
        }),
        (id, text()).prop_map(|(id, data)| Message::LoginChallenge(LoginChallenge { id, data })),
        (id, text()).prop_map(|(id, data)| Message::LoginProof(LoginProof { id, data })),
        (id, text(), text(), text()).prop_map(|(id, data, user, cwd)| Message::LoginOk(LoginOk {
            id,
            data,
            user,
            cwd
        })),
        id.prop_map(|id| Message::Pwd(Pwd { id })),
        (id, text()).prop_map(|(id, path)| Message::Cd(Cd { id, path })),
        (id, proptest::option::of(text())).prop_map(|(id, path)| Message::Ls(Ls { id, path })),
        (id, text(), any::<bool>()).prop_map(|(id, path, blake3)| Message::Stat(Stat {
            id,
            path,
            blake3
        })),
        (id, text(), any::<bool>()).prop_map(|(id, path, parents)| Message::Mkdir(Mkdir {
            id,
            path,
            parents
        })),
        (id, text(), any::<bool>()).prop_map(|(id, path, recursive)| Message::Rm(Rm {
            id,
            path,
            recursive
        })),
        (id, text()).prop_map(|(id, path)| Message::Rmdir(Rmdir { id, path })),
        (id, text(), text()).prop_map(|(id, from, to)| Message::Mv(Mv { id, from, to })),
        id.prop_map(|id| Message::Df(Df { id })),
        id.prop_map(|id| Message::Partials(Partials { id })),
        (id, text()).prop_map(|(id, path)| Message::PartialRm(PartialRm { id, path })),
        (id, proptest::collection::vec(partial_upload(), 0..4))
            .prop_map(|(id, partials)| Message::PartialList(PartialList { id, partials })),
        (
            id,
            text(),
            any::<u64>(),
            proptest::option::of(any::<i64>()),
            proptest::option::of(any::<u32>()),
            any::<bool>()
        )
            .prop_map(
                |(id, path, size, modified, mode, resume)| Message::Put(Put {
                    id,
                    path,
                    size,
                    modified,
                    mode,
                    resume
                })
            ),
        (id, any::<u64>(), 0u64..4096).prop_map(|(id, offset, size)| Message::PutData(PutData {
            id,
            offset,
            size
        })),
        (id, text()).prop_map(|(id, blake3)| Message::PutEnd(PutEnd { id, blake3 })),
        (
            id,
            text(),
            0u64..4096,
            text(),
            proptest::option::of(any::<i64>()),
            proptest::option::of(any::<u32>())
        )
            .prop_map(
                |(id, path, size, blake3, modified, mode)| Message::PutSmall(PutSmall {
                    id,
                    path,
                    size,
                    blake3,
                    modified,
                    mode
                })
            ),
        (
            id,
            text(),
            any::<u64>(),
            proptest::option::of(text()),
            proptest::option::of(any::<u64>()),
            proptest::option::of(any::<i64>())
        )
            .prop_map(
                |(id, path, offset, prefix_blake3, size, modified)| Message::Get(Get {
                    id,
                    path,
                    offset,
                    prefix_blake3,
                    size,
                    modified
                })
            ),
        id.prop_map(|id| Message::Done(Done { id })),
        (id, text()).prop_map(|(id, path)| Message::Cwd(Cwd { id, path })),
        (id, text(), proptest::collection::vec(entry(), 0..5)).prop_map(|(id, path, entries)| {
            let more = entries.len() % 2 == 1;
            Message::Listing(Listing {
                id,
                path,
                entries,
                more,
            })
        }),
        (id, text(), entry(), proptest::option::of(text())).prop_map(
            |(id, path, entry, blake3)| Message::Info(Info {
                id,
                path,
                entry,
                blake3
            })
        ),
        (
            id,
            any::<u64>(),
            any::<u64>(),
            any::<u64>(),
            proptest::option::of(any::<u64>()),
            (any::<u64>(), any::<u64>())
        )
            .prop_map(|(id, used, reserved, partials, quota, (trash, versions))| {
                Message::Usage(Usage {
                    id,
                    used,
                    reserved,
                    partials,
                    quota,
                    trash,
                    versions,
                })
            }),
        (
            id,
            any::<u64>(),
            proptest::option::of(text()),
            proptest::option::of(text())
        )
            .prop_map(|(id, offset, prefix_blake3, restarted)| Message::PutReady(
                PutReady {
                    id,
                    offset,
                    prefix_blake3,
                    restarted
                }
            )),
        (id, text(), any::<u64>(), text()).prop_map(|(id, path, size, blake3)| Message::PutDone(
            PutDone {
                id,
                path,
                size,
                blake3
            }
        )),
        (
            id,
            any::<u64>(),
            0u64..4096,
            proptest::option::of(any::<i64>()),
            proptest::option::of(any::<u32>()),
            proptest::option::of(text()),
            proptest::option::of(text())
        )
            .prop_map(|(id, offset, size, modified, mode, restarted, blake3)| {
                Message::GetData(GetData {
                    id,
                    offset,
                    size,
                    modified,
                    mode,
                    restarted,
                    blake3,
                })
            }),
        (id, text()).prop_map(|(id, blake3)| Message::GetEnd(GetEnd { id, blake3 })),
        (proptest::option::of(id), code(), text())
            .prop_map(|(id, code, message)| Message::Error(Error { id, code, message })),
        links(),
        kept(),
    ]
}

fn share_link() -> impl Strategy<Value = ShareLink> {
    (
        (any::<i64>(), text(), text(), text()),
        (any::<bool>(), any::<bool>()),
        (proptest::option::of(any::<u64>()), any::<u64>()),
        (any::<i64>(), proptest::option::of(any::<i64>())),
    )
        .prop_map(
            |(
                (share, token, path, kind),
                (has_password, upload_only),
                (max_downloads, downloads),
                (created, expires),
            )| ShareLink {
                share,
                token,
                path,
                kind,
                has_password,
                upload_only,
                max_downloads,
                downloads,
                created,
                expires,
            },
        )
}

fn token_info() -> impl Strategy<Value = TokenInfo> {
    (
        any::<i64>(),
        text(),
        text(),
        any::<i64>(),
        proptest::option::of(any::<i64>()),
    )
        .prop_map(|(token, name, kind, created, expires)| TokenInfo {
            token,
            name,
            kind,
            created,
            expires,
        })
}

/// The share link and API token requests and their answers.
fn links() -> impl Strategy<Value = Message> {
    let id = any::<u64>();
    let port = || proptest::option::of(any::<u16>());
    prop_oneof![
        (
            id,
            text(),
            proptest::option::of(text()),
            proptest::option::of(any::<u64>()),
            proptest::option::of(any::<u64>()),
            any::<bool>()
        )
            .prop_map(
                |(id, path, password, expires_in, max_downloads, upload_only)| {
                    Message::ShareAdd(ShareAdd {
                        id,
                        path,
                        password,
                        expires_in,
                        max_downloads,
                        upload_only,
                    })
                }
            ),
        id.prop_map(|id| Message::Shares(Shares { id })),
        (id, any::<i64>()).prop_map(|(id, share)| Message::ShareRm(ShareRm { id, share })),
        (id, text(), proptest::option::of(any::<u64>())).prop_map(|(id, name, expires_in)| {
            Message::TokenAdd(TokenAdd {
                id,
                name,
                expires_in,
            })
        }),
        id.prop_map(|id| Message::Tokens(Tokens { id })),
        (id, any::<i64>()).prop_map(|(id, token)| Message::TokenRm(TokenRm { id, token })),
        (id, share_link(), port()).prop_map(|(id, link, http_port)| Message::ShareMade(
            ShareMade {
                id,
                link,
                http_port
            }
        )),
        (id, proptest::collection::vec(share_link(), 0..3), port()).prop_map(
            |(id, shares, http_port)| Message::ShareList(ShareList {
                id,
                shares,
                http_port
            })
        ),
        (id, any::<i64>(), text()).prop_map(|(id, token, secret)| Message::TokenMade(TokenMade {
            id,
            token,
            secret
        })),
        (id, proptest::collection::vec(token_info(), 0..3))
            .prop_map(|(id, tokens)| Message::TokenList(TokenList { id, tokens })),
    ]
}

fn trash_item() -> impl Strategy<Value = TrashItem> {
    (text(), text(), entry_kind(), any::<u64>(), any::<i64>()).prop_map(
        |(id, path, kind, size, deleted)| TrashItem {
            id,
            path,
            kind,
            size,
            deleted,
        },
    )
}

fn file_version() -> impl Strategy<Value = FileVersion> {
    (
        text(),
        any::<u64>(),
        any::<i64>(),
        proptest::option::of(any::<i64>()),
        proptest::option::of(text()),
    )
        .prop_map(|(id, size, replaced, modified, blake3)| FileVersion {
            id,
            size,
            replaced,
            modified,
            blake3,
        })
}

/// The trash and versions requests and their answers.
fn kept() -> impl Strategy<Value = Message> {
    let id = any::<u64>();
    let maybe = || proptest::option::of(text());
    prop_oneof![
        id.prop_map(|id| Message::Trash(Trash { id })),
        (id, maybe(), maybe(), maybe()).prop_map(|(id, item, path, to)| {
            Message::TrashRestore(TrashRestore { id, item, path, to })
        }),
        (
            id,
            proptest::collection::vec(text(), 0..3),
            proptest::option::of(any::<u64>()),
            any::<bool>()
        )
            .prop_map(|(id, items, older_than, all)| {
                Message::TrashPurge(TrashPurge {
                    id,
                    items,
                    older_than,
                    all,
                })
            }),
        (id, text()).prop_map(|(id, path)| Message::Versions(Versions { id, path })),
        (id, text(), text()).prop_map(|(id, path, version)| {
            Message::VersionRestore(VersionRestore { id, path, version })
        }),
        (id, text(), maybe()).prop_map(|(id, path, version)| {
            Message::VersionsPurge(VersionsPurge { id, path, version })
        }),
        (id, proptest::collection::vec(trash_item(), 0..3))
            .prop_map(|(id, items)| Message::TrashList(TrashList { id, items })),
        (id, text(), proptest::collection::vec(file_version(), 0..3)).prop_map(
            |(id, path, versions)| Message::VersionList(VersionList { id, path, versions })
        ),
        (id, text()).prop_map(|(id, path)| Message::Restored(Restored { id, path })),
        (id, any::<u64>(), any::<u64>()).prop_map(|(id, items, bytes)| Message::Purged(Purged {
            id,
            items,
            bytes
        })),
    ]
}

/// Encodes a message and, if it announces a body, that many patterned bytes.
fn encode_with_body(message: &Message, out: &mut BytesMut) -> Bytes {
    let mut codec = NetdiskCodec::new();
    codec.encode(message, out).expect("encode");
    let body: Bytes = (0..message.body_len())
        .map(|i| (i % 251) as u8)
        .collect::<Vec<u8>>()
        .into();
    codec.encode(body.clone(), out).expect("encode body");
    body
}

/// Decodes everything in `input`, feeding it in pieces of `step` bytes.
fn decode_all(input: &[u8], step: usize) -> Result<Vec<Frame>, CodecError> {
    let mut codec = NetdiskCodec::new();
    let mut buffer = BytesMut::new();
    let mut frames = Vec::new();
    for piece in input.chunks(step.max(1)) {
        buffer.extend_from_slice(piece);
        while let Some(frame) = codec.decode(&mut buffer)? {
            frames.push(frame);
        }
    }
    while let Some(frame) = codec.decode_eof(&mut buffer)? {
        frames.push(frame);
    }
    Ok(frames)
}

/// Decodes `input` as a reader does that takes up to `take` bytes of each
/// body itself, into a buffer of its own (first from the read buffer, then
/// straight from the input, as from a stream), telling the codec with
/// `body_taken`, and leaves the rest of the body to the decoder. Returns
/// the headers and every body byte in order, whoever read it.
fn decode_taking_bodies(
    input: &[u8],
    step: usize,
    take: u64,
) -> Result<(Vec<Message>, Vec<u8>), CodecError> {
    let mut codec = NetdiskCodec::new();
    let mut buffer = BytesMut::new();
    let (mut messages, mut bodies) = (Vec::new(), Vec::new());
    let mut fed = 0;
    loop {
        match codec.decode(&mut buffer)? {
            Some(Frame::Message(message)) => {
                messages.push(message);
                let own = codec.body_remaining().min(take);
                let from_buffer = (buffer.len() as u64).min(own) as usize;
                bodies.extend_from_slice(&buffer.split_to(from_buffer));
                let from_input = (own as usize - from_buffer).min(input.len() - fed);
                bodies.extend_from_slice(&input[fed..fed + from_input]);
                fed += from_input;
                codec.body_taken((from_buffer + from_input) as u64);
            }
            Some(Frame::Body(chunk)) => bodies.extend_from_slice(&chunk),
            None if fed < input.len() => {
                let piece = step.max(1).min(input.len() - fed);
                buffer.extend_from_slice(&input[fed..fed + piece]);
                fed += piece;
            }
            None => break,
        }
    }
    match codec.decode_eof(&mut buffer)? {
        None => Ok((messages, bodies)),
        Some(frame) => panic!("a frame after the end: {frame:?}"),
    }
}

fn join_bodies(frames: &[Frame]) -> Vec<u8> {
    frames
        .iter()
        .filter_map(|f| match f {
            Frame::Body(b) => Some(b.to_vec()),
            Frame::Message(_) => None,
        })
        .flatten()
        .collect()
}

proptest! {
    #[test]
    fn every_message_round_trips(messages in proptest::collection::vec(message(), 1..6), step in 1usize..300) {
        let mut wire = BytesMut::new();
        let mut bodies = Vec::new();
        for m in &messages {
            bodies.extend_from_slice(&encode_with_body(m, &mut wire));
        }
        let frames = decode_all(&wire, step).expect("decode");
        let decoded: Vec<Message> = frames.iter().filter_map(|f| match f {
            Frame::Message(m) => Some(m.clone()),
            Frame::Body(_) => None,
        }).collect();
        prop_assert_eq!(decoded, messages);
        prop_assert_eq!(join_bodies(&frames), bodies);
    }

    #[test]
    fn bodies_taken_by_the_reader_keep_the_stream_in_step(
        messages in proptest::collection::vec(message(), 1..6),
        step in 1usize..300,
        take in prop_oneof![Just(0u64), Just(u64::MAX), 0u64..2048],
    ) {
        let mut wire = BytesMut::new();
        let mut bodies = Vec::new();
        for m in &messages {
            bodies.extend_from_slice(&encode_with_body(m, &mut wire));
        }
        let (decoded, read) = decode_taking_bodies(&wire, step, take).expect("decode");
        prop_assert_eq!(decoded, messages);
        prop_assert_eq!(read, bodies);
    }

    #[test]
    fn random_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..2048), step in 1usize..64) {
        // Any outcome but a panic or a hang is fine; errors must be typed.
        let _ = decode_all(&input, step);
    }

    #[test]
    fn truncated_streams_are_reported(message in message(), cut_fraction in 0.0f64..1.0) {
        let mut wire = BytesMut::new();
        encode_with_body(&message, &mut wire);
        let cut = ((wire.len() as f64) * cut_fraction) as usize;
        prop_assume!(cut > 0 && cut < wire.len());
        let result = decode_all(&wire[..cut], 7);
        prop_assert!(matches!(result, Err(CodecError::Truncated)), "got {:?}", result);
    }
}

fn frame_of(json: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    out.put_u32_le(json.len() as u32);
    out.extend_from_slice(json);
    out.to_vec()
}

#[test]
fn huge_length_prefix_is_refused_without_allocating() {
    let mut buffer = BytesMut::from(&u32::MAX.to_le_bytes()[..]);
    let err = NetdiskCodec::new()
        .decode(&mut buffer)
        .expect_err("must refuse");
    assert!(matches!(err, CodecError::HeaderTooLarge { .. }));
    assert_eq!(err.code(), ErrorCode::TooLarge);
    assert!(
        buffer.capacity() < 1024,
        "decoder reserved {} bytes",
        buffer.capacity()
    );
}

#[test]
fn header_at_the_limit_is_accepted_and_one_over_is_not() {
    let pad = |n: usize| {
        let base = br#"{"type":"pwd","id":1,"x":""}"#.len();
        let filler = "a".repeat(n - base);
        format!(r#"{{"type":"pwd","id":1,"x":"{filler}"}}"#)
    };
    let exact = pad(MAX_HEADER_LEN);
    assert_eq!(exact.len(), MAX_HEADER_LEN);
    let frames = decode_all(&frame_of(exact.as_bytes()), 4096).expect("at the limit");
    assert_eq!(frames, vec![Frame::Message(Message::Pwd(Pwd { id: 1 }))]);
    let over = pad(MAX_HEADER_LEN + 1);
    assert!(matches!(
        decode_all(&frame_of(over.as_bytes()), 4096),
        Err(CodecError::HeaderTooLarge { .. })
    ));
}

#[test]
fn malformed_headers_get_typed_errors() {
    let cases: &[(&[u8], &str)] = &[
        (b"{not json", "bad json"),
        (b"\xff\xfe\x00", "bad utf-8"),
        (br#"{"type":"frobnicate","id":3}"#, "unknown type"),
        (br#"{"type":"mkdir","id":4}"#, "missing field"),
        (
            br#"{"type":"mkdir","id":"four","path":"a"}"#,
            "mistyped field",
        ),
        (br#"{"id":5}"#, "no type"),
        (br#"[1,2,3]"#, "not an object"),
    ];
    for (json, what) in cases {
        let err = decode_all(&frame_of(json), 3).expect_err(what);
        assert_eq!(err.code(), ErrorCode::BadRequest, "{what}: {err}");
    }
    let err = decode_all(&frame_of(br#"{"type":"frobnicate","id":3}"#), 64).expect_err("unknown");
    assert_eq!(err.request_id(), Some(3), "the id is echoed when readable");
    assert!(matches!(
        decode_all(&[0, 0, 0, 0], 4),
        Err(CodecError::EmptyHeader)
    ));
}

#[test]
fn unknown_fields_are_ignored_for_forward_compatibility() {
    let frames = decode_all(
        &frame_of(br#"{"type":"rm","id":9,"path":"a","future":true}"#),
        5,
    )
    .expect("decode");
    assert_eq!(
        frames,
        vec![Frame::Message(Message::Rm(Rm {
            id: 9,
            path: "a".into(),
            recursive: false,
        }))]
    );
}

#[test]
fn body_bytes_that_look_like_frames_stay_body() {
    let inner = frame_of(br#"{"type":"pwd","id":1}"#);
    let mut wire = BytesMut::new();
    NetdiskCodec::new()
        .encode(
            &Message::PutData(PutData {
                id: 2,
                offset: 0,
                size: inner.len() as u64,
            }),
            &mut wire,
        )
        .expect("encode");
    wire.extend_from_slice(&inner);
    let frames = decode_all(&wire, 1).expect("decode");
    assert_eq!(frames.len(), 1 + inner.len(), "one body frame per byte fed");
    assert_eq!(join_bodies(&frames), inner);
}
