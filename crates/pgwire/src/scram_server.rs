//! The server side of SCRAM-SHA-256 (RFC 5802, RFC 7677), as PostgreSQL runs it: how the
//! forwarder checks a database's local password (`local_password = true`) without ever holding
//! the password, only its verifier.
//!
//! postgres-protocol has the client side and makes verifiers
//! (`postgres_protocol::password::scram_sha_256`); the server's two steps are here, sans-IO:
//! [`ScramServer::first`] answers the client-first-message, [`ScramServer::finish`] checks the
//! client's proof and returns the server-final-message. No channel binding: the client's leg to
//! the forwarder is loopback or a Unix-domain socket without TLS, so clients send `n,,`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::WireError;

/// The SASL mechanism name.
pub const SCRAM_SHA_256: &str = "SCRAM-SHA-256";

/// A stored SCRAM-SHA-256 verifier, in PostgreSQL's text form
/// `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` (base64).
#[derive(Clone, PartialEq, Eq)]
pub struct ScramVerifier {
    iterations: u32,
    salt: Vec<u8>,
    stored_key: [u8; 32],
    server_key: [u8; 32],
}

impl std::fmt::Debug for ScramVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The keys let anyone who has them pose as the server to a client: not for logs.
        f.debug_struct("ScramVerifier").field("iterations", &self.iterations).finish_non_exhaustive()
    }
}

impl ScramVerifier {
    /// Reads PostgreSQL's text form; `None` when it is not one.
    pub fn parse(text: &str) -> Option<ScramVerifier> {
        let rest = text.strip_prefix("SCRAM-SHA-256$")?;
        let (params, keys) = rest.split_once('$')?;
        let (iterations, salt) = params.split_once(':')?;
        let (stored, server) = keys.split_once(':')?;
        Some(ScramVerifier {
            iterations: iterations.parse().ok().filter(|i| *i > 0)?,
            salt: STANDARD.decode(salt).ok()?,
            stored_key: STANDARD.decode(stored).ok()?.try_into().ok()?,
            server_key: STANDARD.decode(server).ok()?.try_into().ok()?,
        })
    }
}

/// One SCRAM exchange with one client.
pub struct ScramServer {
    verifier: ScramVerifier,
    /// The client-first-message without its GS2 header, and our answer: both go into the
    /// AuthMessage the proofs sign.
    said: Option<(String, String, String)>,
}

/// Why an exchange failed. `WrongPassword` is the one a person can fix by typing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScramFailure {
    /// The proof does not match: the password is wrong.
    WrongPassword,
    /// The client broke the protocol (or asked for channel binding, which needs TLS).
    Malformed(&'static str),
}

impl ScramServer {
    pub fn new(verifier: ScramVerifier) -> ScramServer {
        ScramServer { verifier, said: None }
    }

    /// The server-first-message for `client_first` (`n,,n=user,r=nonce`). `server_nonce` is
    /// fresh random printable text from the caller (no `,`).
    pub fn first(&mut self, client_first: &[u8], server_nonce: &str) -> Result<String, ScramFailure> {
        let text = std::str::from_utf8(client_first).map_err(|_| ScramFailure::Malformed("not UTF-8"))?;
        let bare = match text.split_once(",,") {
            Some(("n" | "y", bare)) => bare,
            Some((p, _)) if p.starts_with("p=") => {
                return Err(ScramFailure::Malformed("asked for channel binding, which needs TLS"));
            }
            _ => return Err(ScramFailure::Malformed("no GS2 header")),
        };
        let client_nonce = bare
            .split(',')
            .find_map(|attr| attr.strip_prefix("r="))
            .filter(|nonce| !nonce.is_empty())
            .ok_or(ScramFailure::Malformed("no client nonce"))?;
        let nonce = format!("{client_nonce}{server_nonce}");
        let first =
            format!("r={nonce},s={},i={}", STANDARD.encode(&self.verifier.salt), self.verifier.iterations);
        self.said = Some((bare.to_owned(), first.clone(), nonce));
        Ok(first)
    }

    /// Checks `client_final` (`c=biws,r=nonce,p=proof`); the server-final-message (`v=...`)
    /// when the proof holds.
    pub fn finish(&mut self, client_final: &[u8]) -> Result<String, ScramFailure> {
        let (bare, first, nonce) = self.said.take().ok_or(ScramFailure::Malformed("final before first"))?;
        let text = std::str::from_utf8(client_final).map_err(|_| ScramFailure::Malformed("not UTF-8"))?;
        let (without_proof, proof) = text.rsplit_once(",p=").ok_or(ScramFailure::Malformed("no proof"))?;
        let mut attrs = without_proof.split(',');
        match attrs.next() {
            // base64 of the GS2 header `n,,` or `y,,`: no channel binding data.
            Some("c=biws" | "c=eSws") => {}
            _ => return Err(ScramFailure::Malformed("unexpected channel binding")),
        }
        if attrs.next() != Some(&format!("r={nonce}")) {
            return Err(ScramFailure::Malformed("the nonce changed"));
        }
        let proof: [u8; 32] = STANDARD
            .decode(proof)
            .ok()
            .and_then(|p| p.try_into().ok())
            .ok_or(ScramFailure::Malformed("unreadable proof"))?;

        let auth_message = format!("{bare},{first},{without_proof}");
        let signature = hmac(&self.verifier.stored_key, auth_message.as_bytes());
        let client_key: Vec<u8> = proof.iter().zip(signature).map(|(p, s)| p ^ s).collect();
        let stored_key = Sha256::digest(&client_key);
        if !bool::from(stored_key[..].ct_eq(&self.verifier.stored_key)) {
            return Err(ScramFailure::WrongPassword);
        }
        let server_signature = hmac(&self.verifier.server_key, auth_message.as_bytes());
        Ok(format!("v={}", STANDARD.encode(server_signature)))
    }
}

/// A verifier for `password` (random salt, 4096 iterations), by postgres-protocol.
pub fn make_verifier(password: &str) -> String {
    postgres_protocol::password::scram_sha_256(password.as_bytes())
}

/// A random password: 32 bytes from the OS's generator, base64url (43 characters, no `:` or
/// `\`, so it needs no escaping in `.pgpass` or a URI).
pub fn random_password() -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut bytes = [0u8; 32];
    getrandom_fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn getrandom_fill(bytes: &mut [u8]) {
    use rand::RngCore;
    rand::rngs::OsRng.fill_bytes(bytes);
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// SASLInitialResponse's body: the mechanism and the client-first-message.
pub fn parse_sasl_initial_response(body: &[u8]) -> Result<(&str, &[u8]), WireError> {
    let nul = body.iter().position(|b| *b == 0).ok_or(WireError::Malformed("SASLInitialResponse"))?;
    let mechanism =
        std::str::from_utf8(&body[..nul]).map_err(|_| WireError::Malformed("SASLInitialResponse"))?;
    let rest = &body[nul + 1..];
    let length = rest.get(..4).ok_or(WireError::Malformed("SASLInitialResponse"))?;
    let length =
        i32::from_be_bytes(length.try_into().map_err(|_| WireError::Malformed("SASLInitialResponse"))?);
    let data = &rest[4..];
    if usize::try_from(length).ok() != Some(data.len()) {
        return Err(WireError::Malformed("SASLInitialResponse"));
    }
    Ok((mechanism, data))
}

#[cfg(test)]
mod tests {
    use postgres_protocol::authentication::sasl::{ChannelBinding, ScramSha256};

    use super::*;

    fn verifier(password: &str) -> ScramVerifier {
        ScramVerifier::parse(&postgres_protocol::password::scram_sha_256(password.as_bytes()))
            .expect("verifier")
    }

    /// postgres-protocol's client against this server: the real other side of the exchange.
    fn exchange(client_password: &str, stored: &ScramVerifier) -> Result<(), ScramFailure> {
        let mut client = ScramSha256::new(client_password.as_bytes(), ChannelBinding::unsupported());
        let mut server = ScramServer::new(stored.clone());
        let first = server.first(client.message(), "server-nonce")?;
        client.update(first.as_bytes()).expect("the client takes our first message");
        let last = server.finish(client.message())?;
        client.finish(last.as_bytes()).expect("the client checks our signature");
        Ok(())
    }

    #[test]
    fn the_right_password_passes_and_the_client_accepts_the_server() {
        let stored = verifier("correct horse");
        assert_eq!(exchange("correct horse", &stored), Ok(()));
    }

    #[test]
    fn a_wrong_password_is_refused() {
        let stored = verifier("correct horse");
        assert_eq!(exchange("battery staple", &stored), Err(ScramFailure::WrongPassword));
    }

    #[test]
    fn channel_binding_and_garbage_are_refused_in_words() {
        let mut server = ScramServer::new(verifier("pw"));
        assert!(matches!(
            server.first(b"p=tls-server-end-point,,n=,r=abc", "x"),
            Err(ScramFailure::Malformed(_))
        ));
        assert!(matches!(server.first(b"n=,r=abc", "x"), Err(ScramFailure::Malformed(_))));
        assert!(matches!(server.finish(b"c=biws,r=abc,p=AAAA"), Err(ScramFailure::Malformed(_))));
        let first = server.first(b"n,,n=,r=abc", "def").expect("first");
        assert!(first.starts_with("r=abcdef,s="));
        // A final message with a nonce of its own is refused.
        assert!(matches!(server.finish(b"c=biws,r=other,p=AAAA"), Err(ScramFailure::Malformed(_))));
    }

    #[test]
    fn verifiers_parse_from_postgres_text_form_only() {
        assert!(ScramVerifier::parse("md5abc").is_none());
        assert!(ScramVerifier::parse("SCRAM-SHA-256$0:AAAA$AAAA:AAAA").is_none());
        assert!(format!("{:?}", verifier("pw")).contains("4096"));
    }

    #[test]
    fn sasl_initial_response_bodies_are_checked() {
        let mut body = b"SCRAM-SHA-256\0".to_vec();
        body.extend_from_slice(&5i32.to_be_bytes());
        body.extend_from_slice(b"n,,n=");
        assert_eq!(parse_sasl_initial_response(&body).expect("ok"), ("SCRAM-SHA-256", &b"n,,n="[..]));
        body.push(b'x');
        assert!(parse_sasl_initial_response(&body).is_err());
        assert!(parse_sasl_initial_response(b"no nul").is_err());
    }
}
