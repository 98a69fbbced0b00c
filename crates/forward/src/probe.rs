//! [`probe`]: how far a connection to a database's server gets without logging in, for
//! `tapgate doctor`: TCP, the TLS handshake under the database's sslmode and trust roots (the
//! forwarder's own `UpstreamTls`), and the authentication the server asks the role for. That
//! request is read and never answered, so no token or password is sent; the connection is then
//! closed, which PostgreSQL takes quietly during authentication (psql does the same when it
//! has to ask for a password).

use std::time::Duration;

use bytes::BytesMut;
use tapgate_pgwire::backend::MAX_HANDSHAKE_MESSAGE_LENGTH;
use tapgate_pgwire::{ProtocolVersion, ServerAuthRequest, StartupMessage, WireError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::upstream::{UpstreamStream, connect_tcp, start_tls};
use crate::upstream_tls::UpstreamTls;
use crate::{ForwardError, ForwarderConfig};

/// The `application_name` of a probe, as the server's log and `pg_stat_activity` would show it.
const PROBE_APPLICATION_NAME: &str = "tapgate doctor";

/// The step a probe stopped at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeStep {
    /// The TCP connection to `host:port`.
    Reach,
    /// The TLS set-up (trust roots) or handshake.
    Tls,
    /// The StartupMessage and the server's first answer.
    Auth,
}

/// Why a probe stopped, and where.
#[derive(Debug)]
pub struct ProbeFailure {
    pub step: ProbeStep,
    pub error: ForwardError,
}

/// What a probe found, when every step went through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerProbe {
    /// The TLS version the handshake settled on ("TLS 1.3").
    pub tls_version: String,
    /// What the server asked `user` for.
    pub auth: ServerAuthRequest,
}

/// Connects to the server of `config` (each step within `timeout`), completes TLS as its
/// forwarder would, sends a StartupMessage for `user` and the configured database, reads the
/// server's first authentication request and closes.
pub async fn probe(
    config: &ForwarderConfig,
    user: &str,
    timeout: Duration,
) -> Result<ServerProbe, ProbeFailure> {
    let at = |step: ProbeStep| move |error: ForwardError| ProbeFailure { step, error };
    let timed_out = |step: &'static str| ForwardError::UpstreamTimeout {
        host: config.upstream_host.clone(),
        port: config.upstream_port,
        step,
        timeout,
    };

    let tcp = tokio::time::timeout(timeout, connect_tcp(&config.upstream_host, config.upstream_port))
        .await
        .map_err(|_| timed_out("accept the connection"))
        .and_then(|connected| connected)
        .map_err(at(ProbeStep::Reach))?;
    // Built after the TCP step, so a server that cannot be reached is said first.
    let tls = UpstreamTls::new(config).map_err(at(ProbeStep::Tls))?;
    let mut stream = tokio::time::timeout(timeout, start_tls(&tls, tcp))
        .await
        .map_err(|_| timed_out("finish the TLS handshake"))
        .and_then(|handshake| handshake)
        .map_err(at(ProbeStep::Tls))?;
    let tls_version = tls_version(&stream);

    let auth = tokio::time::timeout(timeout, first_request(config, &mut stream, user))
        .await
        .map_err(|_| timed_out("answer the StartupMessage"))
        .and_then(|answer| answer)
        .map_err(at(ProbeStep::Auth));
    // close_notify, then the socket closes on drop; a server that is slow to take it is not
    // waited for.
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.shutdown()).await;
    Ok(ServerProbe { tls_version, auth: auth? })
}

/// The StartupMessage, then messages until the one that says what the server wants.
async fn first_request(
    config: &ForwarderConfig,
    stream: &mut UpstreamStream,
    user: &str,
) -> Result<ServerAuthRequest, ForwardError> {
    let (host, port) = (config.upstream_host.clone(), config.upstream_port);
    let lost =
        |e: std::io::Error| ForwardError::UpstreamLost { host: host.clone(), port, reason: e.to_string() };
    let invalid = |source: WireError| ForwardError::UpstreamProtocol { host: host.clone(), port, source };

    let startup = StartupMessage::new(
        ProtocolVersion::V3_0,
        vec![
            ("user".to_owned(), user.to_owned()),
            ("database".to_owned(), config.dbname.clone()),
            ("application_name".to_owned(), PROBE_APPLICATION_NAME.to_owned()),
        ],
    )
    .map_err(ForwardError::BadStartup)?;
    let mut out = BytesMut::with_capacity(128);
    tapgate_pgwire::frontend::startup_message(&startup, &mut out).map_err(ForwardError::BadStartup)?;
    stream.write_all(&out).await.map_err(lost)?;
    stream.flush().await.map_err(lost)?;

    let mut buf = BytesMut::with_capacity(1024);
    loop {
        match tapgate_pgwire::split_backend_message(&mut buf, MAX_HANDSHAKE_MESSAGE_LENGTH)
            .map_err(invalid)?
        {
            Some(message) => {
                if let Some(request) = tapgate_pgwire::first_auth_request(&message).map_err(invalid)? {
                    return Ok(request);
                }
            }
            None => {
                if stream.read_buf(&mut buf).await.map_err(lost)? == 0 {
                    return Err(lost(std::io::ErrorKind::UnexpectedEof.into()));
                }
            }
        }
    }
}

/// "TLS 1.3", from the finished handshake.
fn tls_version(stream: &UpstreamStream) -> String {
    match stream.get_ref().1.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLS 1.3".to_owned(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLS 1.2".to_owned(),
        Some(other) => format!("{other:?}"),
        None => "TLS".to_owned(),
    }
}
