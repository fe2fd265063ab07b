//! Feeds arbitrary bytes, in arbitrary pieces, to the frame decoder: it must
//! never panic, never yield more body bytes than a header announced, and
//! never reserve more than the header limit plus one body read.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use netdisk_proto::codec::BODY_READ_SIZE;
use netdisk_proto::{Frame, NetdiskCodec, MAX_HEADER_LEN};
use tokio_util::codec::Decoder;

fuzz_target!(|data: &[u8]| {
    let Some((&step, input)) = data.split_first() else { return };
    let mut codec = NetdiskCodec::new();
    let mut buffer = BytesMut::new();
    let mut announced = 0u64;
    let mut body = 0u64;
    for piece in input.chunks(usize::from(step).max(1)) {
        buffer.extend_from_slice(piece);
        loop {
            match codec.decode(&mut buffer) {
                Ok(Some(Frame::Message(m))) => announced += m.body_len(),
                Ok(Some(Frame::Body(b))) => body += b.len() as u64,
                Ok(None) => break,
                Err(_) => return,
            }
            assert!(body <= announced);
        }
        assert!(buffer.capacity() <= input.len() + 4 + MAX_HEADER_LEN + BODY_READ_SIZE);
    }
    let _ = codec.decode_eof(&mut buffer);
});
