//! The upstream authentication exchange as a state machine (protocol flow "Start-up"; RFC 7628
//! for OAUTHBEARER), fed one backend message at a time.
//!
//! It answers AuthenticationCleartextPassword with the token as a PasswordMessage, and an
//! AuthenticationSASL offering OAUTHBEARER with `n,,\x01auth=Bearer <token>\x01\x01`, both only
//! over an encrypted channel. Everything else that asks for a credential (MD5, SCRAM, GSSAPI, ...)
//! is refused without the token ever being written.

use std::fmt;

use bytes::BytesMut;
use fallible_iterator::FallibleIterator;
use postgres_protocol::message::backend::Message;
use postgres_protocol::message::frontend;
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::backend::{ERROR_RESPONSE, NEGOTIATE_PROTOCOL_VERSION, NOTICE_RESPONSE};
use crate::{BackendMessage, Refusal, SensitiveBytes, WireError};

/// The SASL mechanism of RFC 7628, as PostgreSQL 18 names it.
pub const OAUTHBEARER: &str = "OAUTHBEARER";

/// How the token is presented to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthMethod {
    /// As the password of cleartext password authentication (Azure Entra ID, Cloud SQL IAM, PAM).
    #[default]
    Password,
    /// As an OAuth bearer token in SASL OAUTHBEARER (PostgreSQL 18 `oauth`).
    OAuthBearer,
}

impl fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The spelling of Tapgate's configuration file.
        f.write_str(match self {
            AuthMethod::Password => "password",
            AuthMethod::OAuthBearer => "oauthbearer",
        })
    }
}

/// What to do with the message just fed in.
#[derive(Debug)]
pub enum AuthStep {
    /// Write these bytes to the server, then feed in its next message.
    Send(SensitiveBytes),
    /// Pass this message (a NoticeResponse) to the client verbatim and feed in the next one.
    Forward(BackendMessage),
    /// Wait for the server's next message (nothing to send).
    Continue,
    /// AuthenticationOk: pass it to the client verbatim; the exchange is over.
    Authenticated(BackendMessage),
    /// The server sent ErrorResponse: pass it to the client verbatim, then close.
    ServerRefused(BackendMessage),
    /// Tapgate will not go on; the token was not sent in answer to this request. Tell the
    /// client why (and close the server connection).
    Refuse(Refusal),
}

/// The server's answer to a refused OAuth token (the JSON of RFC 7628 section 3.2.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OAuthFailure {
    /// `status`, e.g. `invalid_token`.
    pub status: Option<String>,
    /// `scope` the server wants.
    pub scope: Option<String>,
    /// `openid-configuration` of the issuer the server trusts.
    pub openid_configuration: Option<String>,
}

impl fmt::Display for OAuthFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the server refused the OAuth token (status {}",
            self.status.as_deref().unwrap_or("unknown")
        )?;
        if let Some(scope) = &self.scope {
            write!(f, ", scope \"{scope}\"")?;
        }
        if let Some(issuer) = &self.openid_configuration {
            write!(f, ", issuer configuration {issuer}")?;
        }
        f.write_str(")")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// StartupMessage sent; waiting for an authentication request.
    AwaitingRequest,
    /// PasswordMessage sent; waiting for AuthenticationOk or ErrorResponse.
    PasswordSent,
    /// SASLInitialResponse (OAUTHBEARER) sent; waiting for Ok, SASL final, or the error JSON.
    OAuthSent,
    /// The error JSON was acknowledged with `\x01`; the server's ErrorResponse comes next.
    OAuthFailureAcknowledged,
    /// Authenticated, refused, or failed: nothing more to do.
    Finished,
}

/// One authentication exchange with the server, from StartupMessage to AuthenticationOk.
pub struct UpstreamAuth {
    method: AuthMethod,
    token: SecretString,
    encrypted: bool,
    state: State,
    token_sent: bool,
    oauth_failure: Option<OAuthFailure>,
}

impl fmt::Debug for UpstreamAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpstreamAuth")
            .field("method", &self.method)
            .field("encrypted", &self.encrypted)
            .field("state", &self.state)
            .field("token_sent", &self.token_sent)
            .finish_non_exhaustive()
    }
}

impl UpstreamAuth {
    /// An exchange presenting `token` by `method`. `encrypted` says whether the channel to the
    /// server is TLS; without it no token is ever sent.
    pub fn new(method: AuthMethod, token: SecretString, encrypted: bool) -> UpstreamAuth {
        UpstreamAuth {
            method,
            token,
            encrypted,
            state: State::AwaitingRequest,
            token_sent: false,
            oauth_failure: None,
        }
    }

    /// True once a message carrying the token has been handed out with [`AuthStep::Send`].
    pub fn token_sent(&self) -> bool {
        self.token_sent
    }

    /// True after AuthenticationOk.
    pub fn is_finished(&self) -> bool {
        self.state == State::Finished
    }

    /// The server's reasons for refusing an OAuth token, once it has given them.
    pub fn oauth_failure(&self) -> Option<&OAuthFailure> {
        self.oauth_failure.as_ref()
    }

    /// Feeds in the server's next message and says what to do.
    pub fn on_message(&mut self, message: BackendMessage) -> Result<AuthStep, WireError> {
        if self.state == State::Finished {
            return Err(unexpected("after authentication", &message));
        }
        match message.tag() {
            ERROR_RESPONSE => {
                self.state = State::Finished;
                return Ok(AuthStep::ServerRefused(message));
            }
            NOTICE_RESPONSE => return Ok(AuthStep::Forward(message)),
            // We ask for 3.0 with no `_pq_.` options, so a server has nothing to negotiate;
            // if one answers anyway, its newest minor version is not the client's business.
            NEGOTIATE_PROTOCOL_VERSION if self.state == State::AwaitingRequest => {
                return Ok(AuthStep::Continue);
            }
            _ => {}
        }

        let step = match (self.state, message.parse()?) {
            (_, Message::AuthenticationOk) => {
                self.state = State::Finished;
                AuthStep::Authenticated(message)
            }
            (State::AwaitingRequest, Message::AuthenticationCleartextPassword) => self.send_password()?,
            (State::AwaitingRequest, Message::AuthenticationSasl(body)) => {
                let mechanisms: Vec<String> = body
                    .mechanisms()
                    .map(|m| Ok(m.to_owned()))
                    .collect()
                    .map_err(|e| WireError::BadServerMessage(format!("AuthenticationSASL: {e}")))?;
                self.choose_sasl(mechanisms)?
            }
            (State::AwaitingRequest, Message::AuthenticationMd5Password(_)) => self.refuse(Refusal::Md5),
            (State::AwaitingRequest, Message::AuthenticationKerberosV5) => {
                self.refuse(Refusal::Unsupported { method: "Kerberos V5" })
            }
            (State::AwaitingRequest, Message::AuthenticationScmCredential) => {
                self.refuse(Refusal::Unsupported { method: "SCM credential" })
            }
            (State::AwaitingRequest, Message::AuthenticationGss | Message::AuthenticationGssContinue(_)) => {
                self.refuse(Refusal::Unsupported { method: "GSSAPI" })
            }
            (State::AwaitingRequest, Message::AuthenticationSspi) => {
                self.refuse(Refusal::Unsupported { method: "SSPI" })
            }
            (State::OAuthSent, Message::AuthenticationSaslContinue(body)) => {
                // RFC 7628 section 3.2.2: the server sends error JSON; the client must answer
                // with a single 0x01 (kvsep) and the server then fails the exchange.
                self.oauth_failure = Some(parse_oauth_failure(body.data()));
                self.state = State::OAuthFailureAcknowledged;
                let mut buf = BytesMut::with_capacity(8);
                frontend::sasl_response(b"\x01", &mut buf)
                    .map_err(|e| WireError::BadServerMessage(e.to_string()))?;
                AuthStep::Send(SensitiveBytes::new(buf))
            }
            // OAUTHBEARER has no server-final data, but a server may still send an empty one.
            (State::OAuthSent, Message::AuthenticationSaslFinal(_)) => AuthStep::Continue,
            _ => return Err(unexpected(self.phase(), &message)),
        };
        Ok(step)
    }

    fn phase(&self) -> &'static str {
        match self.state {
            State::AwaitingRequest => "authentication",
            State::PasswordSent => "password authentication",
            State::OAuthSent | State::OAuthFailureAcknowledged => "OAuth authentication",
            State::Finished => "after authentication",
        }
    }

    fn refuse(&mut self, refusal: Refusal) -> AuthStep {
        self.state = State::Finished;
        AuthStep::Refuse(refusal)
    }

    /// AuthenticationCleartextPassword: the token is the password (inside TLS only).
    fn send_password(&mut self) -> Result<AuthStep, WireError> {
        if !self.encrypted {
            return Ok(self.refuse(Refusal::NotEncrypted));
        }
        let token = self.token.expose_secret().as_bytes();
        // Sized up front so the buffer never reallocates and leaves a copy behind.
        let mut buf = BytesMut::with_capacity(token.len() + 8);
        frontend::password_message(token, &mut buf).map_err(|_| WireError::EmbeddedNul("the token"))?;
        self.state = State::PasswordSent;
        self.token_sent = true;
        Ok(AuthStep::Send(SensitiveBytes::new(buf)))
    }

    /// AuthenticationSASL: OAUTHBEARER when configured and offered, otherwise a refusal.
    fn choose_sasl(&mut self, mechanisms: Vec<String>) -> Result<AuthStep, WireError> {
        let offers_oauth = mechanisms.iter().any(|m| m == OAUTHBEARER);
        match (self.method, offers_oauth) {
            (AuthMethod::OAuthBearer, true) => self.send_oauth(),
            (AuthMethod::OAuthBearer, false) => Ok(self.refuse(Refusal::OAuthNotOffered { mechanisms })),
            (AuthMethod::Password, true) => Ok(self.refuse(Refusal::OAuthNotConfigured { mechanisms })),
            (AuthMethod::Password, false) => Ok(self.refuse(Refusal::Scram { mechanisms })),
        }
    }

    /// SASLInitialResponse for OAUTHBEARER (RFC 7628 section 3.1: gs2 header `n,,`, then
    /// `auth=Bearer <token>`, each key/value closed by 0x01, and a final 0x01).
    fn send_oauth(&mut self) -> Result<AuthStep, WireError> {
        if !self.encrypted {
            return Ok(self.refuse(Refusal::NotEncrypted));
        }
        let token = self.token.expose_secret();
        let mut data = Zeroizing::new(Vec::with_capacity(token.len() + 24));
        data.extend_from_slice(b"n,,\x01auth=Bearer ");
        data.extend_from_slice(token.as_bytes());
        data.extend_from_slice(b"\x01\x01");
        let mut buf = BytesMut::with_capacity(data.len() + OAUTHBEARER.len() + 16);
        frontend::sasl_initial_response(OAUTHBEARER, &data, &mut buf)
            .map_err(|e| WireError::BadServerMessage(e.to_string()))?;
        self.state = State::OAuthSent;
        self.token_sent = true;
        Ok(AuthStep::Send(SensitiveBytes::new(buf)))
    }
}

fn unexpected(phase: &'static str, message: &BackendMessage) -> WireError {
    WireError::UnexpectedServerMessage { phase, tag: char::from(message.tag()) }
}

/// Reads the fields people need from the server's error JSON; anything unreadable is left out.
fn parse_oauth_failure(data: &[u8]) -> OAuthFailure {
    let Ok(serde_json::Value::Object(fields)) = serde_json::from_slice::<serde_json::Value>(data) else {
        return OAuthFailure::default();
    };
    let text = |key: &str| fields.get(key).and_then(|v| v.as_str()).map(str::to_owned);
    OAuthFailure {
        status: text("status"),
        scope: text("scope"),
        openid_configuration: text("openid-configuration"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::BackendMessage;

    const TOKEN: &str = "eyJhbGciOiJFUzI1NiJ9.secret-token.sig";

    fn auth_request(code: i32, extra: &[u8]) -> BackendMessage {
        let mut body = code.to_be_bytes().to_vec();
        body.extend_from_slice(extra);
        BackendMessage::build(b'R', &body)
    }

    fn ok() -> BackendMessage {
        auth_request(0, b"")
    }

    fn exchange(method: AuthMethod, encrypted: bool) -> UpstreamAuth {
        UpstreamAuth::new(method, SecretString::from(TOKEN), encrypted)
    }

    fn sent(step: AuthStep) -> Vec<u8> {
        match step {
            AuthStep::Send(bytes) => bytes.expose().to_vec(),
            other => {
                assert!(matches!(other, AuthStep::Send(_)), "expected Send, got {other:?}");
                Vec::new()
            }
        }
    }

    fn refusal(step: AuthStep) -> Option<Refusal> {
        match step {
            AuthStep::Refuse(refusal) => Some(refusal),
            _ => None,
        }
    }

    #[test]
    fn cleartext_password_gets_the_token_then_ok_finishes() {
        let mut auth = exchange(AuthMethod::Password, true);
        let bytes = sent(auth.on_message(auth_request(3, b"")).expect("valid"));
        let mut expected = b"p".to_vec();
        expected.extend_from_slice(&(4 + TOKEN.len() as i32 + 1).to_be_bytes());
        expected.extend_from_slice(TOKEN.as_bytes());
        expected.push(0);
        assert_eq!(bytes, expected);
        assert!(auth.token_sent());

        let step = auth.on_message(ok()).expect("valid");
        assert!(matches!(&step, AuthStep::Authenticated(m) if m.as_bytes() == ok().as_bytes()));
        assert!(auth.is_finished());
        assert!(auth.on_message(ok()).is_err(), "nothing is accepted after the end");
    }

    #[test]
    fn no_token_without_tls() {
        let mut auth = exchange(AuthMethod::Password, false);
        assert_eq!(
            refusal(auth.on_message(auth_request(3, b"")).expect("valid")),
            Some(Refusal::NotEncrypted)
        );
        assert!(!auth.token_sent());

        let mut auth = exchange(AuthMethod::OAuthBearer, false);
        let step = auth.on_message(auth_request(10, b"OAUTHBEARER\0\0")).expect("valid");
        assert_eq!(refusal(step), Some(Refusal::NotEncrypted));
        assert!(!auth.token_sent());
    }

    #[test]
    fn md5_scram_and_kerberos_family_are_refused_without_the_token() {
        let cases = [
            (auth_request(5, b"salt"), Refusal::Md5),
            (
                auth_request(10, b"SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0"),
                Refusal::Scram { mechanisms: vec!["SCRAM-SHA-256-PLUS".into(), "SCRAM-SHA-256".into()] },
            ),
            (auth_request(2, b""), Refusal::Unsupported { method: "Kerberos V5" }),
            (auth_request(6, b""), Refusal::Unsupported { method: "SCM credential" }),
            (auth_request(7, b""), Refusal::Unsupported { method: "GSSAPI" }),
            (auth_request(9, b""), Refusal::Unsupported { method: "SSPI" }),
        ];
        for (request, expected) in cases {
            let mut auth = exchange(AuthMethod::Password, true);
            assert_eq!(refusal(auth.on_message(request).expect("valid")), Some(expected));
            assert!(!auth.token_sent());
        }
    }

    #[test]
    fn scram_refusal_says_why_and_what_to_do() {
        let text = Refusal::Scram { mechanisms: vec!["SCRAM-SHA-256".into()] }.to_string();
        assert_eq!(
            text,
            "the server asked for SCRAM password authentication (SCRAM-SHA-256); Tapgate sends tokens \
             only to servers that accept them as a password (auth = \"password\") or via OAuth \
             (auth = \"oauthbearer\")"
        );
        assert!(Refusal::Md5.hint().contains("pg_hba.conf"));
    }

    #[test]
    fn oauth_offered_but_not_configured_and_the_reverse() {
        let mut auth = exchange(AuthMethod::Password, true);
        let step = auth.on_message(auth_request(10, b"OAUTHBEARER\0\0")).expect("valid");
        assert_eq!(refusal(step), Some(Refusal::OAuthNotConfigured { mechanisms: vec![OAUTHBEARER.into()] }));

        let mut auth = exchange(AuthMethod::OAuthBearer, true);
        let step = auth.on_message(auth_request(10, b"SCRAM-SHA-256\0\0")).expect("valid");
        assert_eq!(
            refusal(step),
            Some(Refusal::OAuthNotOffered { mechanisms: vec!["SCRAM-SHA-256".into()] })
        );
        assert!(!auth.token_sent());
    }

    #[test]
    fn oauthbearer_initial_response_is_rfc_7628() {
        let mut auth = exchange(AuthMethod::OAuthBearer, true);
        let bytes =
            sent(auth.on_message(auth_request(10, b"SCRAM-SHA-256\0OAUTHBEARER\0\0")).expect("valid"));
        let data = format!("n,,\x01auth=Bearer {TOKEN}\x01\x01");
        let mut expected = b"p".to_vec();
        let length = 4 + OAUTHBEARER.len() + 1 + 4 + data.len();
        expected.extend_from_slice(&(length as i32).to_be_bytes());
        expected.extend_from_slice(b"OAUTHBEARER\0");
        expected.extend_from_slice(&(data.len() as i32).to_be_bytes());
        expected.extend_from_slice(data.as_bytes());
        assert_eq!(bytes, expected);

        // Success without server-final data, and with an empty one.
        assert!(matches!(auth.on_message(ok()).expect("valid"), AuthStep::Authenticated(_)));
        let mut auth = exchange(AuthMethod::OAuthBearer, true);
        sent(auth.on_message(auth_request(10, b"OAUTHBEARER\0\0")).expect("valid"));
        assert!(matches!(auth.on_message(auth_request(12, b"")).expect("valid"), AuthStep::Continue));
        assert!(matches!(auth.on_message(ok()).expect("valid"), AuthStep::Authenticated(_)));
    }

    #[test]
    fn oauth_failure_is_acknowledged_and_reported() {
        let mut auth = exchange(AuthMethod::OAuthBearer, true);
        sent(auth.on_message(auth_request(10, b"OAUTHBEARER\0\0")).expect("valid"));
        let json = br#"{"status":"invalid_token","openid-configuration":"https://idp/.well-known/openid-configuration","scope":"openid postgres"}"#;
        let ack = sent(auth.on_message(auth_request(11, json)).expect("valid"));
        assert_eq!(ack, b"p\0\0\0\x05\x01");
        let failure = auth.oauth_failure().expect("reported").clone();
        assert_eq!(failure.status.as_deref(), Some("invalid_token"));
        assert_eq!(failure.scope.as_deref(), Some("openid postgres"));
        assert!(failure.to_string().contains("status invalid_token, scope \"openid postgres\""));

        let error = BackendMessage::build(b'E', b"SFATAL\0C28000\0MOAuth bearer authentication failed\0\0");
        let step = auth.on_message(error.clone()).expect("valid");
        assert!(matches!(&step, AuthStep::ServerRefused(m) if m == &error));
    }

    #[test]
    fn server_errors_pass_verbatim_and_notices_are_forwarded() {
        let mut auth = exchange(AuthMethod::Password, true);
        let notice = BackendMessage::build(b'N', b"SNOTICE\0C00000\0Mhello\0\0");
        assert!(
            matches!(auth.on_message(notice.clone()).expect("valid"), AuthStep::Forward(m) if m == notice)
        );
        assert!(matches!(
            auth.on_message(BackendMessage::build(b'v', b"\0\0\0\0\0\0\0\0")).expect("valid"),
            AuthStep::Continue
        ));
        sent(auth.on_message(auth_request(3, b"")).expect("valid"));
        let error = BackendMessage::build(b'E', b"SFATAL\0C28P01\0Mpassword authentication failed\0\0");
        assert!(
            matches!(auth.on_message(error.clone()).expect("valid"), AuthStep::ServerRefused(m) if m == error)
        );
    }

    #[test]
    fn trust_authentication_needs_no_token() {
        let mut auth = exchange(AuthMethod::Password, true);
        assert!(matches!(auth.on_message(ok()).expect("valid"), AuthStep::Authenticated(_)));
        assert!(!auth.token_sent());
    }

    #[test]
    fn out_of_order_messages_are_protocol_errors() {
        let mut auth = exchange(AuthMethod::Password, true);
        assert!(auth.on_message(BackendMessage::build(b'Z', b"I")).is_err());

        let mut auth = exchange(AuthMethod::Password, true);
        sent(auth.on_message(auth_request(3, b"")).expect("valid"));
        assert!(auth.on_message(auth_request(3, b"")).is_err(), "asked twice: never send again");

        let mut auth = exchange(AuthMethod::Password, true);
        assert!(auth.on_message(auth_request(11, b"{}")).is_err(), "SASL continue without SASL");
        assert!(exchange(AuthMethod::Password, true).on_message(auth_request(99, b"")).is_err());
    }

    #[test]
    fn the_token_never_shows_in_debug_output() {
        let mut auth = exchange(AuthMethod::Password, true);
        let step = auth.on_message(auth_request(3, b"")).expect("valid");
        for text in [format!("{step:?}"), format!("{auth:?}")] {
            assert!(!text.contains("secret-token"), "{text}");
        }
    }
}
