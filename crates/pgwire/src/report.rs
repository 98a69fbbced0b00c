//! ErrorResponse and NoticeResponse messages Tapgate writes to clients itself, and
//! NegotiateProtocolVersion.
//!
//! Fields follow the protocol's "Error and Notice Message Fields": `S` (localized severity),
//! `V` (severity, never localized), `C` (SQLSTATE), `M`, and optional `D` (detail) and `H` (hint).
//! libpq prints them as `FATAL:  message`, `DETAIL:  ...`, `HINT:  ...`.

use std::fmt;

use bytes::{BufMut, BytesMut};

/// SQLSTATE codes Tapgate answers with (PostgreSQL's `errcodes.txt`).
pub mod sqlstate {
    /// 08001: the forwarder could not establish the upstream connection.
    pub const UNABLE_TO_ESTABLISH_CONNECTION: &str = "08001";
    /// 08006: the upstream connection failed during the handshake.
    pub const CONNECTION_FAILURE: &str = "08006";
    /// 08P01: the client broke the protocol.
    pub const PROTOCOL_VIOLATION: &str = "08P01";
    /// 28000: the login cannot go on (role not allowed, no sign-in, unsafe authentication).
    pub const INVALID_AUTHORIZATION_SPECIFICATION: &str = "28000";
    /// 28P01: the database's local password was wrong.
    pub const INVALID_PASSWORD: &str = "28P01";
    /// 53300: too many connections through this forwarder.
    pub const TOO_MANY_CONNECTIONS: &str = "53300";
    /// 57P01: Tapgate is shutting down.
    pub const ADMIN_SHUTDOWN: &str = "57P01";
}

/// How serious a report is; the first three make an ErrorResponse, the rest a NoticeResponse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The current command failed.
    Error,
    /// The session ends (what a refused login gets).
    Fatal,
    /// Every session of the server ends.
    Panic,
    /// A warning.
    Warning,
    /// A notice.
    Notice,
    /// Debugging output.
    Debug,
    /// Information the client asked for.
    Info,
    /// Server log output.
    Log,
}

impl Severity {
    /// The name PostgreSQL puts in the `S` and `V` fields.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "ERROR",
            Severity::Fatal => "FATAL",
            Severity::Panic => "PANIC",
            Severity::Warning => "WARNING",
            Severity::Notice => "NOTICE",
            Severity::Debug => "DEBUG",
            Severity::Info => "INFO",
            Severity::Log => "LOG",
        }
    }

    /// True for the severities carried by ErrorResponse rather than NoticeResponse.
    pub fn is_error(self) -> bool {
        matches!(self, Severity::Error | Severity::Fatal | Severity::Panic)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error or notice for a client: severity, SQLSTATE, message, optional detail and hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorReport {
    /// Severity (`S` and `V`).
    pub severity: Severity,
    /// Five-character SQLSTATE (`C`), see [`sqlstate`].
    pub code: String,
    /// The primary message (`M`), one line.
    pub message: String,
    /// Optional detail (`D`).
    pub detail: Option<String>,
    /// Optional hint: what to do about it (`H`).
    pub hint: Option<String>,
}

impl ErrorReport {
    /// A FATAL report: how a refused login ends.
    pub fn fatal(code: &str, message: impl Into<String>) -> ErrorReport {
        ErrorReport {
            severity: Severity::Fatal,
            code: code.to_owned(),
            message: message.into(),
            detail: None,
            hint: None,
        }
    }

    /// A NOTICE (SQLSTATE 00000).
    pub fn notice(message: impl Into<String>) -> ErrorReport {
        ErrorReport {
            severity: Severity::Notice,
            code: "00000".to_owned(),
            message: message.into(),
            detail: None,
            hint: None,
        }
    }

    /// Adds a detail line.
    pub fn with_detail(mut self, detail: impl Into<String>) -> ErrorReport {
        self.detail = Some(detail.into());
        self
    }

    /// Adds a hint line.
    pub fn with_hint(mut self, hint: impl Into<String>) -> ErrorReport {
        self.hint = Some(hint.into());
        self
    }

    /// Appends this report as ErrorResponse (`'E'`) or NoticeResponse (`'N'`), by its severity.
    pub fn encode(&self, buf: &mut BytesMut) {
        let tag = if self.severity.is_error() { b'E' } else { b'N' };
        buf.put_u8(tag);
        let start = buf.len();
        buf.put_i32(0);
        put_field(buf, b'S', self.severity.as_str());
        put_field(buf, b'V', self.severity.as_str());
        put_field(buf, b'C', &self.code);
        put_field(buf, b'M', &self.message);
        if let Some(detail) = &self.detail {
            put_field(buf, b'D', detail);
        }
        if let Some(hint) = &self.hint {
            put_field(buf, b'H', hint);
        }
        buf.put_u8(0);
        put_length(buf, start);
    }

    /// This report as a complete message.
    pub fn to_bytes(&self) -> BytesMut {
        let mut buf = BytesMut::new();
        self.encode(&mut buf);
        buf
    }
}

/// Appends NegotiateProtocolVersion (`'v'`): the newest minor version we speak and the
/// `_pq_.` options we do not recognise, as a 3.0 server answers a client asking for more.
pub fn negotiate_protocol_version(newest_minor: u16, unsupported_options: &[&str], buf: &mut BytesMut) {
    buf.put_u8(b'v');
    let start = buf.len();
    buf.put_i32(0);
    buf.put_i32(i32::from(newest_minor));
    buf.put_i32(i32::try_from(unsupported_options.len()).unwrap_or(i32::MAX));
    for option in unsupported_options {
        put_cstr(buf, option);
    }
    put_length(buf, start);
}

fn put_field(buf: &mut BytesMut, kind: u8, value: &str) {
    buf.put_u8(kind);
    put_cstr(buf, value);
}

/// A C string; a stray `\0` in text we did not write (a TokenSource message) would end the
/// field early and misframe the message, so it becomes a space.
fn put_cstr(buf: &mut BytesMut, value: &str) {
    buf.extend(value.bytes().map(|b| if b == 0 { b' ' } else { b }));
    buf.put_u8(0);
}

/// Fills in the length word at `start` (it counts itself, not the type byte).
fn put_length(buf: &mut BytesMut, start: usize) {
    let length = i32::try_from(buf.len() - start).unwrap_or(i32::MAX);
    buf[start..start + 4].copy_from_slice(&length.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{MAX_HANDSHAKE_MESSAGE_LENGTH, split_backend_message};

    #[test]
    fn error_response_bytes() {
        let report =
            ErrorReport::fatal(sqlstate::TOO_MANY_CONNECTIONS, "too many").with_detail("d").with_hint("h");
        let expected: &[u8] = b"E\0\0\0\x2aSFATAL\0VFATAL\0C53300\0Mtoo many\0Dd\0Hh\0\0";
        assert_eq!(&report.to_bytes()[..], expected);
    }

    #[test]
    fn reports_round_trip_through_postgres_protocol() {
        for report in [
            ErrorReport::fatal(sqlstate::INVALID_AUTHORIZATION_SPECIFICATION, "Tapgate: nö"),
            ErrorReport::fatal(sqlstate::PROTOCOL_VIOLATION, "bad").with_hint("do this"),
            ErrorReport::notice("the server refused the OAuth token").with_detail("status invalid_token"),
        ] {
            let mut buf = report.to_bytes();
            let message = split_backend_message(&mut buf, MAX_HANDSHAKE_MESSAGE_LENGTH)
                .expect("valid")
                .expect("complete");
            assert!(buf.is_empty());
            assert_eq!(message.report(), Some(report));
        }
    }

    #[test]
    fn a_nul_in_a_message_cannot_misframe_it() {
        let mut buf = ErrorReport::fatal("28000", "a\0b").to_bytes();
        let message = split_backend_message(&mut buf, 1000).expect("valid").expect("complete");
        assert_eq!(message.report().map(|r| r.message), Some("a b".to_owned()));
    }

    #[test]
    fn negotiate_protocol_version_bytes() {
        let mut buf = BytesMut::new();
        negotiate_protocol_version(0, &["_pq_.x"], &mut buf);
        assert_eq!(&buf[..], b"v\0\0\0\x13\0\0\0\0\0\0\0\x01_pq_.x\0");
    }
}
