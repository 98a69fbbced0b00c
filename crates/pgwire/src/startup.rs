//! The untagged packets a client sends first: SSLRequest, GSSENCRequest, CancelRequest and
//! StartupMessage, parsed with PostgreSQL's bounds (`src/backend/tcop/backend_startup.c`).
//!
//! Every one of them is `int32 length, int32 code, ...`. The length word is checked as soon as
//! it has arrived, so an oversized packet is refused before its body is buffered; a prefix of a
//! valid packet is always "incomplete", never an error.

use std::fmt;

use bytes::{Buf, Bytes, BytesMut};

use crate::WireError;

/// PostgreSQL's `MAX_STARTUP_PACKET_LENGTH`: no startup-phase packet may be longer.
pub const MAX_STARTUP_PACKET_LENGTH: usize = 10_000;

/// The smallest startup-phase packet: a length word and a code.
pub const MIN_STARTUP_PACKET_LENGTH: usize = 8;

/// The code of an SSLRequest: "version" 1234.5679.
pub const SSL_REQUEST_CODE: i32 = (1234 << 16) | 5679;

/// The code of a GSSENCRequest: "version" 1234.5680.
pub const GSSENC_REQUEST_CODE: i32 = (1234 << 16) | 5680;

/// The code of a CancelRequest: "version" 1234.5678.
pub const CANCEL_REQUEST_CODE: i32 = (1234 << 16) | 5678;

/// Shortest cancel key: protocol 3.0's `int32`.
pub const MIN_CANCEL_KEY_LENGTH: usize = 4;

/// Longest cancel key protocol 3.2 allows (servers send at most 32 bytes).
pub const MAX_CANCEL_KEY_LENGTH: usize = 256;

/// The first byte of a TLS handshake record, which is how a direct-TLS client starts.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// The special major version that marks SSL, GSSENC and cancel requests.
const REQUEST_MAJOR: u16 = 1234;

/// A frontend protocol version, `major.minor` (the wire carries `major << 16 | minor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProtocolVersion {
    /// Always 3 for anything Tapgate accepts.
    pub major: u16,
    /// 0 for every PostgreSQL up to 17; 2 for PostgreSQL 18's longer cancel keys.
    pub minor: u16,
}

impl ProtocolVersion {
    /// Protocol 3.0 (196608), what every PostgreSQL since 7.4 speaks.
    pub const V3_0: ProtocolVersion = ProtocolVersion { major: 3, minor: 0 };
    /// Protocol 3.2 (196610), PostgreSQL 18: variable-length cancel keys.
    pub const V3_2: ProtocolVersion = ProtocolVersion { major: 3, minor: 2 };

    /// The version as the wire carries it.
    pub fn code(self) -> i32 {
        (i32::from(self.major) << 16) | i32::from(self.minor)
    }

    fn from_code(code: i32) -> ProtocolVersion {
        // The code is two big-endian u16 halves; splitting the bit pattern cannot fail.
        let bits = code as u32;
        ProtocolVersion { major: (bits >> 16) as u16, minor: (bits & 0xffff) as u16 }
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The secret half of a session's cancel key: 4 bytes in protocol 3.0, up to 256 in 3.2.
///
/// Anyone holding it can cancel that session's queries, so `Debug` shows only its length.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CancelKey(Bytes);

impl CancelKey {
    /// A key of 4..=256 bytes.
    pub fn new(bytes: impl Into<Bytes>) -> Result<CancelKey, WireError> {
        let bytes = bytes.into();
        if !(MIN_CANCEL_KEY_LENGTH..=MAX_CANCEL_KEY_LENGTH).contains(&bytes.len()) {
            return Err(WireError::BadCancelKeyLength(bytes.len()));
        }
        Ok(CancelKey(bytes))
    }

    /// A protocol 3.0 key (an `int32`).
    pub fn from_i32(key: i32) -> CancelKey {
        CancelKey(Bytes::copy_from_slice(&key.to_be_bytes()))
    }

    /// The key as sent on the wire.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The key as an `int32` when it is a protocol 3.0 key.
    pub fn as_i32(&self) -> Option<i32> {
        <[u8; 4]>::try_from(&self.0[..]).ok().map(i32::from_be_bytes)
    }
}

impl fmt::Debug for CancelKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CancelKey({} bytes)", self.0.len())
    }
}

/// A request to cancel the query running in backend `process_id`, proven by its `secret_key`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CancelRequest {
    /// The backend's process id, from its BackendKeyData.
    pub process_id: i32,
    /// The backend's secret key, from its BackendKeyData.
    pub secret_key: CancelKey,
}

/// A StartupMessage: a protocol version and ordered `(name, value)` parameters, `user` among them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartupMessage {
    version: ProtocolVersion,
    params: Vec<(String, String)>,
}

impl StartupMessage {
    /// A message with these parameters in this order.
    ///
    /// Refuses what PostgreSQL would refuse or what cannot be framed: no (or an empty) `user`,
    /// an empty or repeated name, a `\0` inside a name or value.
    pub fn new(version: ProtocolVersion, params: Vec<(String, String)>) -> Result<StartupMessage, WireError> {
        for (index, (name, value)) in params.iter().enumerate() {
            if name.is_empty() {
                // An empty name is the list terminator on the wire.
                return Err(WireError::EmptyParameterName);
            }
            if name.contains('\0') {
                return Err(WireError::EmbeddedNul("a startup parameter name"));
            }
            if value.contains('\0') {
                return Err(WireError::EmbeddedNul("a startup parameter value"));
            }
            if params[..index].iter().any(|(earlier, _)| earlier == name) {
                return Err(WireError::DuplicateParameter(name.clone()));
            }
        }
        let message = StartupMessage { version, params };
        if message.param("user").is_none_or(str::is_empty) {
            return Err(WireError::MissingUser);
        }
        Ok(message)
    }

    /// The protocol version the client asked for.
    pub fn version(&self) -> ProtocolVersion {
        self.version
    }

    /// The `user` parameter (never empty).
    pub fn user(&self) -> &str {
        self.param("user").unwrap_or_default()
    }

    /// The value of parameter `name`, if present.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// All parameters, in the order the client sent them.
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }
}

/// One untagged startup-phase packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartupPacket {
    /// SSLRequest: the client asks whether it may start TLS (answer `S` or `N`).
    SslRequest,
    /// GSSENCRequest: the client asks whether it may start GSSAPI encryption (answer `G` or `N`).
    GssEncRequest,
    /// CancelRequest, on a connection of its own.
    Cancel(CancelRequest),
    /// StartupMessage: the session's parameters.
    Startup(StartupMessage),
}

/// Parses one startup-phase packet from the front of `buf`.
///
/// `Ok(None)` while the packet is incomplete (nothing is consumed); `Ok(Some(_))` consumes exactly
/// that packet and leaves whatever follows in `buf`. A packet breaking the rules is an error as
/// soon as the bytes that break them have arrived.
pub fn parse_startup(buf: &mut BytesMut) -> Result<Option<StartupPacket>, WireError> {
    if buf.first() == Some(&TLS_HANDSHAKE_RECORD) {
        // A valid length word starts with 0x00 (it is at most 10000), so this is direct TLS.
        return Err(WireError::DirectTls);
    }
    let Some(length) = read_i32(buf, 0) else { return Ok(None) };
    let length = check_length(length)?;
    let Some(code) = read_i32(buf, 4) else { return Ok(None) };
    check_code(code, length)?;
    if buf.len() < length {
        return Ok(None);
    }

    let mut packet = buf.split_to(length).freeze();
    packet.advance(8);
    let parsed = match code {
        SSL_REQUEST_CODE => StartupPacket::SslRequest,
        GSSENC_REQUEST_CODE => StartupPacket::GssEncRequest,
        CANCEL_REQUEST_CODE => StartupPacket::Cancel(parse_cancel_body(packet)?),
        _ => StartupPacket::Startup(parse_startup_body(ProtocolVersion::from_code(code), &packet)?),
    };
    Ok(Some(parsed))
}

fn read_i32(buf: &[u8], at: usize) -> Option<i32> {
    let bytes = buf.get(at..at + 4)?;
    <[u8; 4]>::try_from(bytes).ok().map(i32::from_be_bytes)
}

/// Bounds of the length word, checked before the body is waited for.
fn check_length(length: i32) -> Result<usize, WireError> {
    let wide = i64::from(length);
    let Ok(length) = usize::try_from(length) else { return Err(WireError::StartupTooShort(wide)) };
    if length < MIN_STARTUP_PACKET_LENGTH {
        return Err(WireError::StartupTooShort(wide));
    }
    if length > MAX_STARTUP_PACKET_LENGTH {
        return Err(WireError::StartupTooLong(wide));
    }
    Ok(length)
}

/// The code must be a known request with a length that fits it, or protocol 3.
fn check_code(code: i32, length: usize) -> Result<(), WireError> {
    let version = ProtocolVersion::from_code(code);
    match code {
        SSL_REQUEST_CODE if length != 8 => Err(WireError::BadRequestLength { packet: "SSLRequest", length }),
        GSSENC_REQUEST_CODE if length != 8 => {
            Err(WireError::BadRequestLength { packet: "GSSENCRequest", length })
        }
        SSL_REQUEST_CODE | GSSENC_REQUEST_CODE => Ok(()),
        CANCEL_REQUEST_CODE => {
            // int32 length, int32 code, int32 pid, then the key.
            let key = length.saturating_sub(12);
            if (MIN_CANCEL_KEY_LENGTH..=MAX_CANCEL_KEY_LENGTH).contains(&key) {
                Ok(())
            } else {
                Err(WireError::BadCancelKeyLength(key))
            }
        }
        _ if version.major == REQUEST_MAJOR => Err(WireError::UnknownRequestCode(version.minor)),
        // Any 3.x is a StartupMessage: like PostgreSQL, a newer minor is negotiated down later.
        _ if version.major == 3 => Ok(()),
        _ => Err(WireError::UnsupportedProtocol { major: version.major, minor: version.minor }),
    }
}

fn parse_cancel_body(mut body: Bytes) -> Result<CancelRequest, WireError> {
    // check_code guaranteed at least 4 + 4 bytes here.
    let process_id = body.try_get_i32().map_err(|_| WireError::BadCancelKeyLength(0))?;
    Ok(CancelRequest { process_id, secret_key: CancelKey::new(body)? })
}

/// `(name \0 value \0)* \0`, and nothing after the final terminator.
fn parse_startup_body(version: ProtocolVersion, body: &[u8]) -> Result<StartupMessage, WireError> {
    let mut params = Vec::new();
    let mut rest = body;
    loop {
        let name = take_cstr(&mut rest).ok_or(WireError::MissingTerminator)?;
        if name.is_empty() {
            break;
        }
        let name = std::str::from_utf8(name).map_err(|_| WireError::NotUtf8)?;
        let value = take_cstr(&mut rest).ok_or_else(|| WireError::MissingValue(truncate_for_error(name)))?;
        let value = std::str::from_utf8(value).map_err(|_| WireError::NotUtf8)?;
        params.push((name.to_owned(), value.to_owned()));
    }
    if !rest.is_empty() {
        return Err(WireError::MissingTerminator);
    }
    StartupMessage::new(version, params)
}

/// Takes a `\0`-terminated string off the front of `rest`; `None` when there is no `\0`.
fn take_cstr<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let end = rest.iter().position(|&b| b == 0)?;
    let (s, tail) = rest.split_at(end);
    *rest = tail.get(1..).unwrap_or_default();
    Some(s)
}

/// Parameter names end up in error messages: keep them short.
fn truncate_for_error(name: &str) -> String {
    name.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend;

    fn startup(version: ProtocolVersion, params: &[(&str, &str)]) -> StartupMessage {
        let params = params.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
        StartupMessage::new(version, params).expect("valid startup message")
    }

    fn cancel(key: &[u8]) -> CancelRequest {
        CancelRequest { process_id: 4242, secret_key: CancelKey::new(key.to_vec()).expect("valid key") }
    }

    /// One packet of every kind, in both protocol versions where they differ.
    fn every_kind() -> Vec<StartupPacket> {
        vec![
            StartupPacket::SslRequest,
            StartupPacket::GssEncRequest,
            StartupPacket::Cancel(cancel(&[1, 2, 3, 4])),
            StartupPacket::Cancel(cancel(&[7; 32])),
            StartupPacket::Cancel(cancel(&[9; MAX_CANCEL_KEY_LENGTH])),
            StartupPacket::Startup(startup(
                ProtocolVersion::V3_0,
                &[("user", "app_rw"), ("database", "app"), ("application_name", "psql")],
            )),
            StartupPacket::Startup(startup(ProtocolVersion::V3_2, &[("user", "ü"), ("options", "-c x=y")])),
        ]
    }

    fn encoded(packet: &StartupPacket) -> BytesMut {
        let mut buf = BytesMut::new();
        packet.encode(&mut buf).expect("encodes");
        buf
    }

    /// Raw startup packet with the given code and body; the length word is computed.
    fn raw(code: i32, body: &[u8]) -> BytesMut {
        let mut buf = BytesMut::new();
        let length = i32::try_from(8 + body.len()).expect("small");
        buf.extend_from_slice(&length.to_be_bytes());
        buf.extend_from_slice(&code.to_be_bytes());
        buf.extend_from_slice(body);
        buf
    }

    #[test]
    fn every_kind_round_trips_and_leaves_what_follows() {
        for packet in every_kind() {
            let mut buf = encoded(&packet);
            buf.extend_from_slice(b"next");
            assert_eq!(parse_startup(&mut buf), Ok(Some(packet.clone())), "{packet:?}");
            assert_eq!(&buf[..], b"next");
        }
    }

    #[test]
    fn known_bytes_of_each_request() {
        assert_eq!(&encoded(&StartupPacket::SslRequest)[..], &[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
        assert_eq!(&encoded(&StartupPacket::GssEncRequest)[..], &[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x30]);
        assert_eq!(
            &encoded(&StartupPacket::Cancel(cancel(&[0xaa, 0xbb, 0xcc, 0xdd])))[..],
            &[0, 0, 0, 16, 0x04, 0xd2, 0x16, 0x2e, 0, 0, 0x10, 0x92, 0xaa, 0xbb, 0xcc, 0xdd]
        );
        let v3 = encoded(&StartupPacket::Startup(startup(ProtocolVersion::V3_0, &[("user", "u")])));
        assert_eq!(&v3[..], b"\x00\x00\x00\x10\x00\x03\x00\x00user\x00u\x00\x00");
        let v32 = encoded(&StartupPacket::Startup(startup(ProtocolVersion::V3_2, &[("user", "u")])));
        assert_eq!(&v32[..], b"\x00\x00\x00\x10\x00\x03\x00\x02user\x00u\x00\x00");
    }

    #[test]
    fn every_prefix_is_incomplete_and_consumes_nothing() {
        for packet in every_kind() {
            let whole = encoded(&packet);
            for cut in 0..whole.len() {
                let mut prefix = BytesMut::from(&whole[..cut]);
                assert_eq!(parse_startup(&mut prefix), Ok(None), "{packet:?} cut at {cut}");
                assert_eq!(prefix.len(), cut);
            }
        }
    }

    #[test]
    fn byte_by_byte_delivery_yields_the_packet_once() {
        for packet in every_kind() {
            let whole = encoded(&packet);
            let mut buf = BytesMut::new();
            let mut got = Vec::new();
            for byte in whole.iter() {
                buf.extend_from_slice(&[*byte]);
                if let Some(parsed) = parse_startup(&mut buf).expect("never an error") {
                    got.push(parsed);
                }
            }
            assert_eq!(got, vec![packet]);
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn parameters_keep_their_order() {
        let mut buf = raw(196608, b"user\0alice\0zeta\x001\0alpha\x002\0\0");
        let Some(StartupPacket::Startup(message)) = parse_startup(&mut buf).expect("parses") else {
            unreachable!("a startup message was sent")
        };
        let names: Vec<&str> = message.params().iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["user", "zeta", "alpha"]);
        assert_eq!(message.user(), "alice");
        assert_eq!(message.param("alpha"), Some("2"));
        assert_eq!(message.version(), ProtocolVersion::V3_0);
    }

    #[test]
    fn oversized_is_refused_from_the_length_word_alone() {
        let mut buf = BytesMut::from(&10_001_i32.to_be_bytes()[..]);
        assert_eq!(parse_startup(&mut buf), Err(WireError::StartupTooLong(10_001)));
        let mut buf = BytesMut::from(&i32::MAX.to_be_bytes()[..]);
        assert_eq!(parse_startup(&mut buf), Err(WireError::StartupTooLong(i64::from(i32::MAX))));
    }

    #[test]
    fn the_largest_allowed_startup_is_accepted() {
        // 8 header + "user\0u\0" (7) + "x\0" (2) + value + "\0" (1) + final "\0" (1) = 10000.
        let value = "v".repeat(MAX_STARTUP_PACKET_LENGTH - 19);
        let message = startup(ProtocolVersion::V3_0, &[("user", "u"), ("x", &value)]);
        let mut buf = encoded(&StartupPacket::Startup(message));
        assert_eq!(buf.len(), MAX_STARTUP_PACKET_LENGTH);
        assert!(matches!(parse_startup(&mut buf), Ok(Some(StartupPacket::Startup(_)))));

        let too_big = startup(ProtocolVersion::V3_0, &[("user", "u"), ("x", &format!("{value}v"))]);
        let mut out = BytesMut::new();
        assert!(matches!(frontend::startup_message(&too_big, &mut out), Err(WireError::StartupTooLong(_))));
        assert!(out.is_empty(), "a refused encode leaves nothing behind");
    }

    #[test]
    fn undersized_is_refused() {
        for length in [-1_i32, 0, 4, 7] {
            let mut buf = BytesMut::from(&length.to_be_bytes()[..]);
            assert_eq!(parse_startup(&mut buf), Err(WireError::StartupTooShort(i64::from(length))));
        }
    }

    #[test]
    fn bad_framing_is_refused_with_a_typed_error() {
        let cases: Vec<(BytesMut, WireError)> = vec![
            (raw(196608, b"user\0alice\0"), WireError::MissingTerminator),
            (raw(196608, b"user\0alice"), WireError::MissingValue("user".into())),
            (raw(196608, b"user\0alice\0odd\0"), WireError::MissingValue("odd".into())),
            (raw(196608, b"user\0alice\0\0trailing"), WireError::MissingTerminator),
            (raw(196608, b"user\0\xff\0\0"), WireError::NotUtf8),
            (raw(196608, b"database\0app\0\0"), WireError::MissingUser),
            (raw(196608, b"user\0\0\0"), WireError::MissingUser),
            (raw(196608, b"user\0a\0user\0b\0\0"), WireError::DuplicateParameter("user".into())),
            (raw(196608, b""), WireError::MissingTerminator),
            (raw((1234 << 16) | 1, b""), WireError::UnknownRequestCode(1)),
            (raw(2 << 16, b"user\0a\0\0"), WireError::UnsupportedProtocol { major: 2, minor: 0 }),
            (
                raw(SSL_REQUEST_CODE, b"1234"),
                WireError::BadRequestLength { packet: "SSLRequest", length: 12 },
            ),
            (
                raw(GSSENC_REQUEST_CODE, b"1234"),
                WireError::BadRequestLength { packet: "GSSENCRequest", length: 12 },
            ),
            (raw(CANCEL_REQUEST_CODE, b"\0\0\0\x01abc"), WireError::BadCancelKeyLength(3)),
            (raw(CANCEL_REQUEST_CODE, &[0; 4 + 257]), WireError::BadCancelKeyLength(257)),
            (raw(CANCEL_REQUEST_CODE, b""), WireError::BadCancelKeyLength(0)),
        ];
        for (mut buf, expected) in cases {
            let before = buf.clone();
            assert_eq!(parse_startup(&mut buf), Err(expected), "{before:?}");
        }
    }

    #[test]
    fn a_bad_request_length_is_refused_before_the_body_arrives() {
        // An "SSLRequest" that claims 9000 bytes: refused after 8 bytes, not after 9000.
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&9000_i32.to_be_bytes());
        buf.extend_from_slice(&SSL_REQUEST_CODE.to_be_bytes());
        assert!(matches!(parse_startup(&mut buf), Err(WireError::BadRequestLength { .. })));
    }

    #[test]
    fn a_direct_tls_client_is_recognised_from_its_first_byte() {
        let mut buf = BytesMut::from(&[0x16, 0x03, 0x01][..]);
        assert_eq!(parse_startup(&mut buf), Err(WireError::DirectTls));
    }

    #[test]
    fn newer_minor_versions_parse_for_negotiation() {
        let mut buf = raw((3 << 16) | 9, b"user\0a\0_pq_.x\0y\0\0");
        let Some(StartupPacket::Startup(message)) = parse_startup(&mut buf).expect("parses") else {
            unreachable!("a startup message was sent")
        };
        assert_eq!(message.version(), ProtocolVersion { major: 3, minor: 9 });
        assert_eq!(message.version().to_string(), "3.9");
    }

    #[test]
    fn builders_refuse_what_cannot_be_framed() {
        let build = |params: &[(&str, &str)]| {
            StartupMessage::new(
                ProtocolVersion::V3_0,
                params.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
            )
        };
        assert_eq!(build(&[("user", "a\0b")]), Err(WireError::EmbeddedNul("a startup parameter value")));
        assert_eq!(
            build(&[("user", "a"), ("x\0", "b")]),
            Err(WireError::EmbeddedNul("a startup parameter name"))
        );
        assert_eq!(build(&[("user", "a"), ("", "b")]), Err(WireError::EmptyParameterName));
        assert_eq!(build(&[("database", "a")]), Err(WireError::MissingUser));
        assert_eq!(CancelKey::new(vec![0; 3]), Err(WireError::BadCancelKeyLength(3)));
    }

    #[test]
    fn cancel_keys_do_not_show_in_debug() {
        let request = cancel(&[0x5e, 0xc2, 0xe7, 0x00]);
        let text = format!("{request:?}");
        assert!(text.contains("4 bytes"), "{text}");
        assert!(!text.contains("94"), "{text}");
        assert_eq!(CancelKey::from_i32(7).as_i32(), Some(7));
        assert_eq!(CancelKey::new(vec![1; 8]).expect("valid").as_i32(), None);
    }
}
