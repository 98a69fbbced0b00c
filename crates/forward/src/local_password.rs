//! A database's local password (`local_password = true`): for clients that insist on sending a
//! password, the forwarder asks for one with SCRAM-SHA-256, as a PostgreSQL server would, before
//! it asks for a token. Only the verifier is held here (the password itself is in the person's
//! `~/.pgpass`); SCRAM never sends the password, and a wrong one never costs a tap. The token
//! still only ever goes upstream.
//!
//! The exchange: AuthenticationSASL, SASLInitialResponse, AuthenticationSASLContinue,
//! SASLResponse, AuthenticationSASLFinal. The AuthenticationOk that follows is the server's.

use std::time::Duration;

use base64::Engine as _;
use bytes::{Buf, BufMut, BytesMut};
use rand::RngCore;
use tapgate_pgwire::scram_server::{SCRAM_SHA_256, parse_sasl_initial_response};
use tapgate_pgwire::{ScramFailure, ScramServer, ScramVerifier};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::ForwardError;
use crate::client_stream::ClientStream;

/// The longest SASL message a client may send (PostgreSQL allows far more; SCRAM needs ~200 B).
const MAX_SASL_MESSAGE: usize = 4096;

/// Authentication request codes (protocol "AuthenticationSASL" and friends).
const SASL: i32 = 10;
const SASL_CONTINUE: i32 = 11;
const SASL_FINAL: i32 = 12;

/// Runs the exchange within `timeout`. `pending` holds what the client already sent after its
/// StartupMessage (and keeps what it sends after the exchange); `to_client` is written first
/// (a NegotiateProtocolVersion must precede the authentication request).
pub(crate) async fn check(
    client: &mut ClientStream,
    pending: &mut BytesMut,
    to_client: &mut BytesMut,
    verifier: &ScramVerifier,
    name: &str,
    user: &str,
    timeout: Duration,
) -> Result<(), ForwardError> {
    let exchange = exchange(client, pending, to_client, verifier, name, user);
    match tokio::time::timeout(timeout, exchange).await {
        Ok(result) => result,
        Err(_) => Err(ForwardError::ClientProtocol("did not finish the password exchange in time")),
    }
}

async fn exchange(
    client: &mut ClientStream,
    pending: &mut BytesMut,
    to_client: &mut BytesMut,
    verifier: &ScramVerifier,
    name: &str,
    user: &str,
) -> Result<(), ForwardError> {
    let mut scram = ScramServer::new(verifier.clone());
    let mut mechanisms = BytesMut::new();
    mechanisms.put_slice(SCRAM_SHA_256.as_bytes());
    mechanisms.put_slice(b"\0\0");
    authentication(to_client, SASL, &mechanisms);
    send(client, to_client).await?;

    let initial = read_password_message(client, pending).await?;
    let (mechanism, client_first) = parse_sasl_initial_response(&initial)
        .map_err(|_| ForwardError::ClientProtocol("sent an unreadable SASLInitialResponse"))?;
    if mechanism != SCRAM_SHA_256 {
        return Err(ForwardError::ClientProtocol("chose a SASL mechanism other than SCRAM-SHA-256"));
    }
    let mut nonce = [0u8; 18];
    rand::thread_rng().fill_bytes(&mut nonce);
    let nonce = base64::engine::general_purpose::STANDARD.encode(nonce);
    let server_first = scram.first(client_first, &nonce).map_err(|e| refusal(e, name, user))?;
    authentication(to_client, SASL_CONTINUE, server_first.as_bytes());
    send(client, to_client).await?;

    let client_final = read_password_message(client, pending).await?;
    let server_final = scram.finish(&client_final).map_err(|e| refusal(e, name, user))?;
    authentication(to_client, SASL_FINAL, server_final.as_bytes());
    send(client, to_client).await
}

fn refusal(failure: ScramFailure, name: &str, user: &str) -> ForwardError {
    match failure {
        ScramFailure::WrongPassword => {
            ForwardError::LocalPassword { name: name.to_owned(), user: user.to_owned() }
        }
        ScramFailure::Malformed(why) => {
            tracing::info!(database = %name, why, "a client broke the local password exchange");
            ForwardError::ClientProtocol("broke the SCRAM exchange of the local password")
        }
    }
}

/// Appends an Authentication message with `code` and `data`.
fn authentication(buf: &mut BytesMut, code: i32, data: &[u8]) {
    buf.put_u8(b'R');
    buf.put_i32(i32::try_from(8 + data.len()).unwrap_or(i32::MAX));
    buf.put_i32(code);
    buf.put_slice(data);
}

async fn send(client: &mut ClientStream, buf: &mut BytesMut) -> Result<(), ForwardError> {
    client.write_all(buf).await.map_err(|_| ForwardError::ClientGone("during the password exchange"))?;
    buf.clear();
    Ok(())
}

/// The body of the client's next message, which must be a `p` (password/SASL) message.
async fn read_password_message(
    client: &mut ClientStream,
    pending: &mut BytesMut,
) -> Result<Vec<u8>, ForwardError> {
    loop {
        if pending.len() >= 5 {
            if pending[0] != b'p' {
                return Err(ForwardError::ClientProtocol("sent something other than a password message"));
            }
            let length = i32::from_be_bytes([pending[1], pending[2], pending[3], pending[4]]);
            let length = usize::try_from(length)
                .ok()
                .filter(|l| (4..=MAX_SASL_MESSAGE).contains(l))
                .ok_or(ForwardError::ClientProtocol("sent a password message of an impossible length"))?;
            if pending.len() > length {
                pending.advance(5);
                let body = pending.split_to(length - 4);
                return Ok(body.to_vec());
            }
        }
        let read = client
            .read_buf(pending)
            .await
            .map_err(|_| ForwardError::ClientGone("during the password exchange"))?;
        if read == 0 {
            // libpq hangs up here when it has no password to give: say so in the log.
            return Err(ForwardError::ClientGone("when asked for the local password (is it in ~/.pgpass?)"));
        }
    }
}
