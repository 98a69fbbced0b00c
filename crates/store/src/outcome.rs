//! How a connection ended and how a sign-in went, as types: the history stores their short
//! names ("ok", "tls error", "refresh"), the CLI and the app show them, nobody parses them.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde::{Serialize, Serializer};

/// Generates the string form, `Display`, `Serialize` and the SQLite mapping of a unit enum.
macro_rules! named_enum {
    ($ty:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// The short lower-case name kept in the history ("ok", "tls error", ...).
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $name),+ }
            }

            /// The value whose [`Self::as_str`] is `name`.
            pub fn from_name(name: &str) -> Option<$ty> {
                match name { $($name => Some($ty::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.as_str())
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl ToSql for $ty {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        impl FromSql for $ty {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                let text = value.as_str()?;
                $ty::from_name(text).ok_or_else(|| FromSqlError::Other(format!("unknown value {text:?}").into()))
            }
        }
    };
}

/// Where a connection through a forwarder stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectionOutcome {
    /// Still open.
    Open,
    /// Logged in and relayed until one side closed.
    Ok,
    /// Logged in and relayed until the server's side failed mid-session (a reset, a cut).
    ServerLost,
    /// Refused by the server or by Tapgate (role not allowed, an unsupported auth method).
    Refused,
    /// Refused by Tapgate: the client is a program of another OS user on this machine.
    RefusedOtherUser,
    /// The server could not be reached, did not answer in time, or dropped the login.
    UpstreamUnreachable,
    /// The server offers no TLS, or its certificate or the handshake failed.
    TlsError,
    /// Past the database's `max_connections`.
    OverLimit,
    /// No token could be had for the connection.
    SignInFailed,
    /// The client broke the protocol.
    ProtocolError,
    /// A cancel request for a running query, passed on to the server.
    Cancelled,
    /// Ended before the login finished (the client left, or Tapgate shut down).
    Aborted,
}

named_enum!(ConnectionOutcome {
    Open => "open",
    Ok => "ok",
    ServerLost => "server lost",
    Refused => "refused",
    RefusedOtherUser => "refused: another user",
    UpstreamUnreachable => "upstream unreachable",
    TlsError => "tls error",
    OverLimit => "over limit",
    SignInFailed => "sign-in failed",
    ProtocolError => "protocol error",
    Cancelled => "cancelled",
    Aborted => "aborted",
});

impl ConnectionOutcome {
    /// Whether a person should look at it: anything but a connection that is open or went well.
    pub fn is_failure(self) -> bool {
        !matches!(self, ConnectionOutcome::Open | ConnectionOutcome::Ok | ConnectionOutcome::Cancelled)
    }
}

/// How a session was obtained from the IdP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignInMethod {
    /// A new sign-in with a key tap.
    Tap,
    /// Renewed with the refresh token, no tap.
    Refresh,
    /// An attempt that failed before it was known which it would be.
    SignIn,
}

named_enum!(SignInMethod { Tap => "tap", Refresh => "refresh", SignIn => "sign-in" });

/// Whether a sign-in worked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignInOutcome {
    Ok,
    Failed,
}

named_enum!(SignInOutcome { Ok => "ok", Failed => "failed" });

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for outcome in [ConnectionOutcome::Open, ConnectionOutcome::TlsError, ConnectionOutcome::SignInFailed]
        {
            assert_eq!(ConnectionOutcome::from_name(outcome.as_str()), Some(outcome));
        }
        assert_eq!(SignInMethod::from_name("refresh"), Some(SignInMethod::Refresh));
        assert_eq!(
            serde_json::to_string(&ConnectionOutcome::UpstreamUnreachable).ok().as_deref(),
            Some("\"upstream unreachable\"")
        );
        assert_eq!(ConnectionOutcome::from_name("nonsense"), None);
    }
}
