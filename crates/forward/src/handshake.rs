//! The server's login, from our StartupMessage to its ReadyForQuery: authentication through
//! [`UpstreamAuth`], then ParameterStatus, BackendKeyData and notices passed to the client
//! verbatim. After this the forwarder only copies bytes.

use std::time::Duration;

use bytes::BytesMut;
use tapgate_pgwire::backend::{
    BACKEND_KEY_DATA, ERROR_RESPONSE, MAX_HANDSHAKE_MESSAGE_LENGTH, READY_FOR_QUERY,
};
use tapgate_pgwire::{AuthStep, BackendMessage, CancelRequest, StartupMessage, UpstreamAuth, WireError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::ForwardError;
use crate::upstream::UpstreamStream;
use crate::upstream_tls::UpstreamTls;

/// A logged-in server connection, ready to relay.
#[derive(Debug)]
pub(crate) struct LoggedIn {
    /// The session's cancel key, from BackendKeyData (a server may send none).
    pub(crate) cancel_key: Option<CancelRequest>,
    /// Server bytes read past ReadyForQuery, for the client before relaying starts.
    pub(crate) early: BytesMut,
}

/// Runs the login within `timeout`. Everything for the client (the server's messages from
/// AuthenticationOk on, notices, its ErrorResponse) is appended to `to_client`, which the caller
/// writes in one go; Tapgate's own refusals come back as errors.
pub(crate) async fn login(
    tls: &UpstreamTls,
    upstream: &mut UpstreamStream,
    startup: &StartupMessage,
    auth: UpstreamAuth,
    timeout: Duration,
    to_client: &mut BytesMut,
) -> Result<LoggedIn, ForwardError> {
    let run = login_unbounded(tls, upstream, startup, auth, to_client);
    match tokio::time::timeout(timeout, run).await {
        Ok(result) => result,
        Err(_) => Err(ForwardError::UpstreamTimeout {
            host: tls.host.clone(),
            port: tls.port,
            step: "finish the login",
            timeout,
        }),
    }
}

async fn login_unbounded(
    tls: &UpstreamTls,
    upstream: &mut UpstreamStream,
    startup: &StartupMessage,
    mut auth: UpstreamAuth,
    to_client: &mut BytesMut,
) -> Result<LoggedIn, ForwardError> {
    let lost = |e: std::io::Error| ForwardError::UpstreamLost {
        host: tls.host.clone(),
        port: tls.port,
        reason: e.to_string(),
    };
    let invalid =
        |source: WireError| ForwardError::UpstreamProtocol { host: tls.host.clone(), port: tls.port, source };

    let mut out = BytesMut::with_capacity(256);
    tapgate_pgwire::frontend::startup_message(startup, &mut out).map_err(ForwardError::BadStartup)?;
    upstream.write_all(&out).await.map_err(lost)?;
    upstream.flush().await.map_err(lost)?;

    let mut buf = BytesMut::with_capacity(4096);
    let mut cancel_key = None;
    loop {
        let message = match tapgate_pgwire::split_backend_message(&mut buf, MAX_HANDSHAKE_MESSAGE_LENGTH) {
            Ok(Some(message)) => message,
            Ok(None) => {
                let read = upstream.read_buf(&mut buf).await.map_err(lost)?;
                if read == 0 {
                    return Err(lost(std::io::ErrorKind::UnexpectedEof.into()));
                }
                continue;
            }
            Err(e) => return Err(invalid(e)),
        };

        if !auth.is_finished() {
            match auth.on_message(message).map_err(invalid)? {
                AuthStep::Send(bytes) => {
                    upstream.write_all(bytes.expose()).await.map_err(lost)?;
                    upstream.flush().await.map_err(lost)?;
                }
                AuthStep::Forward(notice) => to_client.extend_from_slice(notice.as_bytes()),
                AuthStep::Continue => {}
                AuthStep::Authenticated(ok) => to_client.extend_from_slice(ok.as_bytes()),
                AuthStep::ServerRefused(error) => {
                    // RFC 7628's error JSON never reaches a stock client, so its status and scope
                    // go into the ErrorResponse's DETAIL. Not a separate notice: before the first
                    // authentication request libpq accepts only an error, and aborts on a notice.
                    let detail = auth.oauth_failure().map(|failure| format!("Tapgate: {failure}"));
                    return Err(server_refused(&error, detail, to_client));
                }
                AuthStep::Refuse(refusal) => return Err(ForwardError::AuthRefused { refusal }),
            }
            continue;
        }

        // After AuthenticationOk: ParameterStatus, BackendKeyData, NoticeResponse, then
        // ReadyForQuery, or an ErrorResponse (e.g. the role does not exist). All verbatim.
        match message.tag() {
            BACKEND_KEY_DATA => cancel_key = message.backend_key_data().map_err(invalid)?,
            ERROR_RESPONSE => return Err(server_refused(&message, None, to_client)),
            _ => {}
        }
        to_client.extend_from_slice(message.as_bytes());
        if message.tag() == READY_FOR_QUERY {
            return Ok(LoggedIn { cancel_key, early: buf });
        }
    }
}

/// The server's ErrorResponse goes to the client verbatim, or with Tapgate's `extra_detail`
/// added; the error keeps its text for logs.
fn server_refused(
    error: &BackendMessage,
    extra_detail: Option<String>,
    to_client: &mut BytesMut,
) -> ForwardError {
    match (extra_detail, error.report()) {
        (Some(extra), Some(mut report)) => {
            report.detail = Some(match report.detail.take() {
                Some(detail) => format!("{detail}\n{extra}"),
                None => extra,
            });
            report.encode(to_client);
        }
        _ => to_client.extend_from_slice(error.as_bytes()),
    }
    let message = match error.report() {
        Some(report) if !report.code.is_empty() => format!("{} ({})", report.message, report.code),
        Some(report) => report.message,
        None => "an unreadable ErrorResponse".to_owned(),
    };
    ForwardError::ServerRefused { message }
}
