//! The server's byte stream cut into whole raw messages, so the forwarder can read them and
//! still pass them on verbatim (`type byte, int32 length, body`).

use std::fmt;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use fallible_iterator::FallibleIterator;
use postgres_protocol::message::backend::{ErrorFields, Message};

use crate::report::{ErrorReport, Severity};
use crate::{CancelKey, CancelRequest, WireError};

/// Largest server message read before relaying starts (authentication, ParameterStatus,
/// BackendKeyData, notices, errors): real ones are a few hundred bytes.
pub const MAX_HANDSHAKE_MESSAGE_LENGTH: usize = 1 << 20;

/// Type byte of an authentication request (`R`).
pub const AUTHENTICATION: u8 = b'R';
/// Type byte of BackendKeyData (`K`).
pub const BACKEND_KEY_DATA: u8 = b'K';
/// Type byte of ErrorResponse (`E`).
pub const ERROR_RESPONSE: u8 = b'E';
/// Type byte of NoticeResponse (`N`).
pub const NOTICE_RESPONSE: u8 = b'N';
/// Type byte of NegotiateProtocolVersion (`v`), which postgres-protocol does not know.
pub const NEGOTIATE_PROTOCOL_VERSION: u8 = b'v';
/// Type byte of ParameterStatus (`S`).
pub const PARAMETER_STATUS: u8 = b'S';
/// Type byte of ReadyForQuery (`Z`).
pub const READY_FOR_QUERY: u8 = b'Z';

/// One whole backend message, bytes exactly as the server sent them.
#[derive(Clone, PartialEq, Eq)]
pub struct BackendMessage(Bytes);

impl BackendMessage {
    /// A message with this type byte and body (the length word is computed).
    pub fn build(tag: u8, body: &[u8]) -> BackendMessage {
        let mut buf = BytesMut::with_capacity(body.len() + 5);
        buf.put_u8(tag);
        buf.put_i32(i32::try_from(body.len() + 4).unwrap_or(i32::MAX));
        buf.put_slice(body);
        BackendMessage(buf.freeze())
    }

    /// The type byte.
    pub fn tag(&self) -> u8 {
        self.0.first().copied().unwrap_or_default()
    }

    /// The whole message, type byte and length included.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The whole message, for passing on.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// The body after the type byte and length word.
    pub fn body(&self) -> &[u8] {
        self.0.get(5..).unwrap_or_default()
    }

    /// The message read by postgres-protocol (which knows protocol 3.0's messages).
    pub fn parse(&self) -> Result<Message, WireError> {
        let mut copy = BytesMut::from(self.as_bytes());
        match Message::parse(&mut copy) {
            Ok(Some(message)) => Ok(message),
            Ok(None) => {
                Err(WireError::BadServerMessage(format!("message '{}' is truncated", self.tag_char())))
            }
            Err(e) => Err(WireError::BadServerMessage(e.to_string())),
        }
    }

    /// BackendKeyData (`K`): the session's cancel key; a 3.0 `int32` or a 3.2 longer key.
    pub fn backend_key_data(&self) -> Result<Option<CancelRequest>, WireError> {
        if self.tag() != BACKEND_KEY_DATA {
            return Ok(None);
        }
        let mut body = self.0.slice(5..);
        let process_id = body
            .try_get_i32()
            .map_err(|_| WireError::BadServerMessage("BackendKeyData is truncated".into()))?;
        Ok(Some(CancelRequest { process_id, secret_key: CancelKey::new(body)? }))
    }

    /// The fields of an ErrorResponse or NoticeResponse, for logs and history; `None` for other
    /// messages. Texts that are not UTF-8 are read lossily.
    pub fn report(&self) -> Option<ErrorReport> {
        let default = match self.tag() {
            ERROR_RESPONSE => Severity::Error,
            NOTICE_RESPONSE => Severity::Notice,
            _ => return None,
        };
        let fields = match self.parse() {
            Ok(Message::ErrorResponse(body)) => collect_fields(body.fields()),
            Ok(Message::NoticeResponse(body)) => collect_fields(body.fields()),
            _ => return None,
        };
        let field = |kind: u8| fields.iter().find(|(k, _)| *k == kind).map(|(_, v)| v.clone());
        let severity =
            field(b'V').or_else(|| field(b'S')).and_then(|s| parse_severity(&s)).unwrap_or(default);
        Some(ErrorReport {
            severity,
            code: field(b'C').unwrap_or_default(),
            message: field(b'M').unwrap_or_default(),
            detail: field(b'D'),
            hint: field(b'H'),
        })
    }

    fn tag_char(&self) -> char {
        char::from(self.tag())
    }
}

impl fmt::Debug for BackendMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Bodies are not printed: they may carry SASL data.
        write!(f, "BackendMessage('{}', {} bytes)", self.tag_char().escape_default(), self.0.len())
    }
}

/// Cuts the next whole message off the front of `buf`.
///
/// `Ok(None)` while incomplete (nothing consumed). A length word below 4 or above `max_length`
/// is an error as soon as it arrives.
pub fn split_backend_message(
    buf: &mut BytesMut,
    max_length: usize,
) -> Result<Option<BackendMessage>, WireError> {
    let (Some(&tag), Some(word)) = (buf.first(), buf.get(1..5)) else { return Ok(None) };
    let mut word_bytes = [0u8; 4];
    word_bytes.copy_from_slice(word);
    let length = i32::from_be_bytes(word_bytes);
    let bad = || WireError::BadServerMessageLength { tag: char::from(tag), length: i64::from(length) };
    let length = usize::try_from(length).map_err(|_| bad())?;
    if length < 4 || length > max_length {
        return Err(bad());
    }
    if buf.len() < length + 1 {
        return Ok(None);
    }
    Ok(Some(BackendMessage(buf.split_to(length + 1).freeze())))
}

/// The fields up to the first malformed one (a report is for people; best effort is right).
fn collect_fields(mut fields: ErrorFields<'_>) -> Vec<(u8, String)> {
    let mut out = Vec::new();
    while let Ok(Some(field)) = fields.next() {
        out.push((field.type_(), String::from_utf8_lossy(field.value_bytes()).into_owned()));
    }
    out
}

fn parse_severity(text: &str) -> Option<Severity> {
    Some(match text {
        "ERROR" => Severity::Error,
        "FATAL" => Severity::Fatal,
        "PANIC" => Severity::Panic,
        "WARNING" => Severity::Warning,
        "NOTICE" => Severity::Notice,
        "DEBUG" => Severity::Debug,
        "INFO" => Severity::Info,
        "LOG" => Severity::Log,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_cut_whole_and_verbatim_at_any_split() {
        let mut stream = BytesMut::new();
        stream.extend_from_slice(b"R\0\0\0\x08\0\0\0\0");
        stream.extend_from_slice(b"S\0\0\0\x16application_name\0\0");
        stream.extend_from_slice(b"K\0\0\0\x0c\0\0\x04\xd2\x01\x02\x03\x04");
        stream.extend_from_slice(b"Z\0\0\0\x05I");
        let whole = stream.clone();
        for cut in 0..whole.len() {
            let mut buf = BytesMut::from(&whole[..cut]);
            let mut out = Vec::new();
            while let Some(message) = split_backend_message(&mut buf, 100).expect("valid stream") {
                out.extend_from_slice(message.as_bytes());
            }
            buf.extend_from_slice(&whole[cut..]);
            while let Some(message) = split_backend_message(&mut buf, 100).expect("valid stream") {
                out.extend_from_slice(message.as_bytes());
            }
            assert_eq!(out, whole.to_vec(), "cut at {cut}");
        }
    }

    #[test]
    fn bad_lengths_are_refused() {
        for (bytes, length) in
            [(&b"Z\0\0\0\x03"[..], 3_i64), (&b"E\xff\xff\xff\xff"[..], -1), (&b"E\0\0\x01\0"[..], 256)]
        {
            let mut buf = BytesMut::from(bytes);
            let tag = char::from(bytes[0]);
            assert_eq!(
                split_backend_message(&mut buf, 100),
                Err(WireError::BadServerMessageLength { tag, length })
            );
        }
    }

    #[test]
    fn backend_key_data_of_both_protocol_versions() {
        let v30 = BackendMessage::build(b'K', b"\0\0\x04\xd2\x01\x02\x03\x04");
        let request = v30.backend_key_data().expect("valid").expect("is K");
        assert_eq!(request.process_id, 1234);
        assert_eq!(request.secret_key.as_bytes(), [1, 2, 3, 4]);

        let mut body = vec![0, 0, 0, 7];
        body.extend_from_slice(&[0xab; 32]);
        let v32 = BackendMessage::build(b'K', &body);
        assert_eq!(v32.backend_key_data().expect("valid").expect("is K").secret_key.as_bytes().len(), 32);

        assert!(BackendMessage::build(b'K', b"\0\0").backend_key_data().is_err());
        assert_eq!(BackendMessage::build(b'Z', b"I").backend_key_data(), Ok(None));
    }

    #[test]
    fn reports_are_read_from_server_errors() {
        let error = BackendMessage::build(
            b'E',
            b"SFATAL\0VFATAL\0C28000\0MPAM authentication failed for user \"app_rw\"\0Rauth_failed\0\0",
        );
        let report = error.report().expect("an error");
        assert_eq!(report.severity, Severity::Fatal);
        assert_eq!(report.code, "28000");
        assert_eq!(report.message, "PAM authentication failed for user \"app_rw\"");
        assert_eq!(BackendMessage::build(b'Z', b"I").report(), None);
        assert!(format!("{error:?}").starts_with("BackendMessage('E'"));
    }
}
