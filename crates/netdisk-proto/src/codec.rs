//! Framing: a 4-byte little-endian length, a JSON header, then the raw body
//! the header announces. Built on tokio-util's `Decoder`/`Encoder`, so the
//! same state machine serves the server, the client and the fuzzer.
//!
//! The codec is generic over the header type: netdisk's is [`Message`]
//! ([`NetdiskCodec`]); the examples frame their own messages with it.

use crate::error::ErrorCode;
use crate::message::Message;
use crate::MAX_HEADER_LEN;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::marker::PhantomData;
use tokio_util::codec::{Decoder, Encoder, Framed};

/// A frame header: JSON, and how many raw body bytes follow it.
pub trait Header: Serialize + DeserializeOwned {
    fn body_len(&self) -> u64;
}

impl Header for Message {
    fn body_len(&self) -> u64 {
        Message::body_len(self)
    }
}

/// What the decoder yields: a header, or a piece of the body it announced.
/// Body pieces arrive in order and add up to exactly the header's `body_len()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame<H = Message> {
    Message(H),
    Body(Bytes),
}

/// Why bytes from a peer could not be decoded. After any of these the
/// stream is out of step: send an `error` frame and close the connection.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("header of {len} bytes is over the {max}-byte limit")]
    HeaderTooLarge { len: usize, max: usize },
    #[error("empty header (length prefix 0)")]
    EmptyHeader,
    #[error("header is not valid UTF-8 JSON: {0}")]
    BadJson(String),
    /// Valid JSON, but not a message: unknown `type`, missing or mistyped field.
    #[error("invalid message: {reason}")]
    BadMessage { id: Option<u64>, reason: String },
    #[error("connection closed in the middle of a frame")]
    Truncated,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl CodecError {
    /// The error code to report to the peer.
    pub fn code(&self) -> ErrorCode {
        match self {
            CodecError::HeaderTooLarge { .. } => ErrorCode::TooLarge,
            CodecError::Io(_) => ErrorCode::Internal,
            _ => ErrorCode::BadRequest,
        }
    }

    /// The request id the bad frame carried, when it could be read.
    pub fn request_id(&self) -> Option<u64> {
        match self {
            CodecError::BadMessage { id, .. } => *id,
            _ => None,
        }
    }
}

/// Read-buffer room the decoder asks for while inside a body.
pub const BODY_READ_SIZE: usize = 256 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadState {
    Header,
    Body { remaining: u64 },
}

/// The frame codec for headers of type `H`. Decoding never allocates more
/// than the header limit on the strength of a peer's length prefix.
#[derive(Debug)]
pub struct FrameCodec<H> {
    state: ReadState,
    max_header: usize,
    // fn() -> H: the codec holds no H, so it is Send and Sync whatever H is.
    header: PhantomData<fn() -> H>,
}

/// The netdisk protocol's codec.
pub type NetdiskCodec = FrameCodec<Message>;

impl<H> Default for FrameCodec<H> {
    fn default() -> Self {
        Self::new()
    }
}

impl<H> FrameCodec<H> {
    pub fn new() -> Self {
        Self::with_max_header(MAX_HEADER_LEN)
    }

    pub fn with_max_header(max_header: usize) -> Self {
        FrameCodec {
            state: ReadState::Header,
            max_header,
            header: PhantomData,
        }
    }

    /// True while the decoder is inside an announced body.
    pub fn in_body(&self) -> bool {
        matches!(self.state, ReadState::Body { .. })
    }

    /// Bytes of the announced body not yet decoded (0 between frames).
    pub fn body_remaining(&self) -> u64 {
        match self.state {
            ReadState::Body { remaining } => remaining,
            ReadState::Header => 0,
        }
    }

    /// Counts `taken` bytes of the body as read by the caller itself (from
    /// the read buffer or straight from the stream, into a buffer of its
    /// own, which saves a copy of every byte). At most
    /// [`FrameCodec::body_remaining`] count; the next frame is a header once
    /// the body is all taken.
    pub fn body_taken(&mut self, taken: u64) {
        if let ReadState::Body { remaining } = self.state {
            self.state = match remaining.saturating_sub(taken) {
                0 => ReadState::Header,
                left => ReadState::Body { remaining: left },
            };
        }
    }
}

/// For a reader that takes a whole body into one buffer of its own (each
/// byte copied once, not again out of body frames): moves the body bytes
/// the read buffer already holds onto the end of `dst`, with room for the
/// rest, and returns how many are still to come. The caller reads those
/// straight from the stream, counting each read with
/// [`FrameCodec::body_taken`]. The room is reserved on the strength of the
/// peer's header: the caller must have bounded the body's size first.
pub fn take_buffered_body<T, H>(framed: &mut Framed<T, FrameCodec<H>>, dst: &mut Vec<u8>) -> u64 {
    let remaining = framed.codec().body_remaining();
    dst.reserve(usize::try_from(remaining).unwrap_or(0));
    let buffered = framed.read_buffer_mut();
    let from_buffer = buffered
        .len()
        .min(usize::try_from(remaining).unwrap_or(usize::MAX));
    dst.extend_from_slice(&buffered.split_to(from_buffer));
    framed.codec_mut().body_taken(from_buffer as u64);
    remaining - from_buffer as u64
}

/// Parses one header: UTF-8, then JSON, then a known message.
pub fn parse_header<H: DeserializeOwned>(bytes: &[u8]) -> Result<H, CodecError> {
    let text = std::str::from_utf8(bytes).map_err(|e| CodecError::BadJson(e.to_string()))?;
    // Straight into the message type: every frame passes here, and a
    // detour through serde_json::Value built a map per header first. Only
    // a refused header is parsed again, to tell why and find its id.
    serde_json::from_str(text).map_err(|e| match serde_json::from_str::<serde_json::Value>(text) {
        Err(not_json) => CodecError::BadJson(not_json.to_string()),
        Ok(value) => CodecError::BadMessage {
            id: value.get("id").and_then(serde_json::Value::as_u64),
            reason: e.to_string(),
        },
    })
}

impl<H: Header> Decoder for FrameCodec<H> {
    type Item = Frame<H>;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame<H>>, CodecError> {
        match self.state {
            ReadState::Body { remaining } => {
                if src.is_empty() {
                    // Room for a large read, so bodies arrive in few pieces.
                    // Bounded by BODY_READ_SIZE, not by the peer's `size`.
                    let want = usize::try_from(remaining)
                        .unwrap_or(usize::MAX)
                        .min(BODY_READ_SIZE);
                    src.reserve(want);
                    return Ok(None);
                }
                let take = usize::try_from(remaining)
                    .unwrap_or(usize::MAX)
                    .min(src.len());
                let chunk = src.split_to(take).freeze();
                let left = remaining - take as u64;
                self.state = if left == 0 {
                    ReadState::Header
                } else {
                    ReadState::Body { remaining: left }
                };
                Ok(Some(Frame::Body(chunk)))
            }
            ReadState::Header => {
                if src.len() < 4 {
                    return Ok(None);
                }
                let len = u32::from_le_bytes([src[0], src[1], src[2], src[3]]) as usize;
                if len == 0 {
                    return Err(CodecError::EmptyHeader);
                }
                if len > self.max_header {
                    return Err(CodecError::HeaderTooLarge {
                        len,
                        max: self.max_header,
                    });
                }
                if src.len() < 4 + len {
                    // Bounded by max_header, checked above.
                    src.reserve(4 + len - src.len());
                    return Ok(None);
                }
                src.advance(4);
                let header = src.split_to(len);
                let message: H = parse_header(&header)?;
                let body = message.body_len();
                if body > 0 {
                    self.state = ReadState::Body { remaining: body };
                }
                Ok(Some(Frame::Message(message)))
            }
        }
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Frame<H>>, CodecError> {
        match self.decode(src)? {
            Some(frame) => Ok(Some(frame)),
            None if src.is_empty() && self.state == ReadState::Header => Ok(None),
            None => Err(CodecError::Truncated),
        }
    }
}

/// Serialises a message as a frame: length prefix, then JSON.
pub fn encode_message<H: Serialize>(
    message: &H,
    max_header: usize,
    dst: &mut BytesMut,
) -> Result<(), CodecError> {
    let json = serde_json::to_vec(message).map_err(|e| CodecError::BadJson(e.to_string()))?;
    if json.len() > max_header {
        return Err(CodecError::HeaderTooLarge {
            len: json.len(),
            max: max_header,
        });
    }
    dst.reserve(4 + json.len());
    // Cannot truncate: json.len() <= max_header, which is far below u32::MAX.
    dst.put_u32_le(json.len() as u32);
    dst.extend_from_slice(&json);
    Ok(())
}

impl<H: Header> Encoder<&H> for FrameCodec<H> {
    type Error = CodecError;

    fn encode(&mut self, message: &H, dst: &mut BytesMut) -> Result<(), CodecError> {
        encode_message(message, self.max_header, dst)
    }
}

impl<H: Header> Encoder<H> for FrameCodec<H> {
    type Error = CodecError;

    fn encode(&mut self, message: H, dst: &mut BytesMut) -> Result<(), CodecError> {
        encode_message(&message, self.max_header, dst)
    }
}

/// Body bytes go out as they are; the header before them announced their length.
impl<H> Encoder<Bytes> for FrameCodec<H> {
    type Error = CodecError;

    fn encode(&mut self, body: Bytes, dst: &mut BytesMut) -> Result<(), CodecError> {
        dst.extend_from_slice(&body);
        Ok(())
    }
}
