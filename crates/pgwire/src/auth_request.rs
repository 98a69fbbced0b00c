//! What a server asks a role for first, read without answering it (protocol flow "Start-up":
//! after the StartupMessage the server sends an authentication request, an ErrorResponse, or
//! AuthenticationOk). `tapgate doctor` reads it and closes the connection, so it learns which
//! authentication the server's `pg_hba.conf` picks for the role without ever sending a token
//! or a password.

use fallible_iterator::FallibleIterator;
use postgres_protocol::message::backend::Message;

use crate::auth::OAUTHBEARER;
use crate::backend::{ERROR_RESPONSE, NEGOTIATE_PROTOCOL_VERSION, NOTICE_RESPONSE};
use crate::{BackendMessage, WireError};

/// The server's first answer to a StartupMessage, as far as authentication goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerAuthRequest {
    /// AuthenticationCleartextPassword: a password in clear inside the connection (`password`,
    /// `pam`, `ldap`, `radius` in `pg_hba.conf`; the clouds' IAM logins).
    Password,
    /// AuthenticationSASL with the mechanisms offered (`OAUTHBEARER` for PostgreSQL 18's
    /// `oauth`, `SCRAM-SHA-256` for `scram-sha-256`, or `md5` with a SCRAM-hashed password).
    Sasl {
        /// The mechanisms, in the server's order.
        mechanisms: Vec<String>,
    },
    /// AuthenticationMD5Password.
    Md5,
    /// AuthenticationOk at once: the server lets the role in with no credential (`trust`).
    Trust,
    /// Kerberos V5, GSSAPI, SSPI or SCM credentials.
    Other {
        /// The method's name.
        method: &'static str,
    },
    /// ErrorResponse before any authentication (no `pg_hba.conf` line for the role, the server
    /// is starting up, too many connections, ...).
    Refused {
        /// The server's message, with its SQLSTATE.
        message: String,
    },
}

impl ServerAuthRequest {
    /// SASL with OAUTHBEARER among the mechanisms: the server takes an OAuth bearer token.
    pub fn offers_oauth(&self) -> bool {
        matches!(self, ServerAuthRequest::Sasl { mechanisms } if mechanisms.iter().any(|m| m == OAUTHBEARER))
    }
}

/// Reads one backend message that arrived after the StartupMessage: `Ok(Some(_))` for the
/// authentication request (or the refusal), `Ok(None)` for what may come before it and does
/// not answer the question (NoticeResponse, NegotiateProtocolVersion: read the next one).
pub fn first_auth_request(message: &BackendMessage) -> Result<Option<ServerAuthRequest>, WireError> {
    match message.tag() {
        NOTICE_RESPONSE | NEGOTIATE_PROTOCOL_VERSION => return Ok(None),
        ERROR_RESPONSE => {
            let message = match message.report() {
                Some(report) if !report.code.is_empty() => format!("{} ({})", report.message, report.code),
                Some(report) => report.message,
                None => "an unreadable ErrorResponse".to_owned(),
            };
            return Ok(Some(ServerAuthRequest::Refused { message }));
        }
        _ => {}
    }
    let request = match message.parse()? {
        Message::AuthenticationCleartextPassword => ServerAuthRequest::Password,
        Message::AuthenticationSasl(body) => ServerAuthRequest::Sasl {
            mechanisms: body
                .mechanisms()
                .map(|m| Ok(m.to_owned()))
                .collect()
                .map_err(|e| WireError::BadServerMessage(format!("AuthenticationSASL: {e}")))?,
        },
        Message::AuthenticationMd5Password(_) => ServerAuthRequest::Md5,
        Message::AuthenticationOk => ServerAuthRequest::Trust,
        Message::AuthenticationKerberosV5 => ServerAuthRequest::Other { method: "Kerberos V5" },
        Message::AuthenticationGss | Message::AuthenticationGssContinue(_) => {
            ServerAuthRequest::Other { method: "GSSAPI" }
        }
        Message::AuthenticationSspi => ServerAuthRequest::Other { method: "SSPI" },
        Message::AuthenticationScmCredential => ServerAuthRequest::Other { method: "SCM credential" },
        _ => {
            return Err(WireError::UnexpectedServerMessage {
                phase: "the start of authentication",
                tag: char::from(message.tag()),
            });
        }
    };
    Ok(Some(request))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(code: i32, extra: &[u8]) -> BackendMessage {
        let mut body = code.to_be_bytes().to_vec();
        body.extend_from_slice(extra);
        BackendMessage::build(b'R', &body)
    }

    fn read(message: &BackendMessage) -> Option<ServerAuthRequest> {
        first_auth_request(message).expect("a valid message")
    }

    #[test]
    fn each_request_is_named_as_the_server_sent_it() {
        assert_eq!(read(&auth(3, b"")), Some(ServerAuthRequest::Password));
        assert_eq!(read(&auth(5, b"salt")), Some(ServerAuthRequest::Md5));
        assert_eq!(read(&auth(0, b"")), Some(ServerAuthRequest::Trust));
        assert_eq!(read(&auth(7, b"")), Some(ServerAuthRequest::Other { method: "GSSAPI" }));
        assert_eq!(read(&auth(9, b"")), Some(ServerAuthRequest::Other { method: "SSPI" }));
    }

    #[test]
    fn sasl_lists_its_mechanisms_and_says_whether_oauth_is_one() {
        let scram = read(&auth(10, b"SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0")).expect("a request");
        assert_eq!(
            scram,
            ServerAuthRequest::Sasl { mechanisms: vec!["SCRAM-SHA-256-PLUS".into(), "SCRAM-SHA-256".into()] }
        );
        assert!(!scram.offers_oauth());
        let oauth = read(&auth(10, b"OAUTHBEARER\0\0")).expect("a request");
        assert!(oauth.offers_oauth());
    }

    #[test]
    fn an_error_before_authentication_is_a_refusal_with_its_sqlstate() {
        let error = BackendMessage::build(
            b'E',
            b"SFATAL\0VFATAL\0C28000\0Mno pg_hba.conf entry for host \"127.0.0.1\", user \"x\"\0\0",
        );
        assert_eq!(
            read(&error),
            Some(ServerAuthRequest::Refused {
                message: "no pg_hba.conf entry for host \"127.0.0.1\", user \"x\" (28000)".into()
            })
        );
    }

    #[test]
    fn notices_and_protocol_negotiation_come_before_the_answer() {
        let notice = BackendMessage::build(b'N', b"SNOTICE\0Mhello\0\0");
        assert_eq!(read(&notice), None);
        let negotiate = BackendMessage::build(b'v', &[0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(read(&negotiate), None);
    }

    #[test]
    fn anything_else_is_a_protocol_error() {
        let ready = BackendMessage::build(b'Z', b"I");
        assert!(first_auth_request(&ready).is_err());
        // SASLContinue is not a first request.
        assert!(first_auth_request(&auth(11, b"data")).is_err());
    }
}
