//! Reaching the server: TCP (bounded, TCP_NODELAY, keepalive), then TLS, either after an
//! SSLRequest answered `S` or directly (PostgreSQL 17+). Used for sessions and for cancels.

use std::time::Duration;

use bytes::BytesMut;
use socket2::{SockRef, TcpKeepalive};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::upstream_tls::UpstreamTls;
use crate::{ForwardError, SslNegotiation};

/// An encrypted connection to the server.
pub(crate) type UpstreamStream = TlsStream<TcpStream>;

/// Idle time before the first keepalive probe: finds a dead server (or NAT entry) on a session
/// that sits idle, long before the OS default of two hours.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(60);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(15);
const KEEPALIVE_RETRIES: u32 = 4;

/// Connects to the server and completes TLS, all within `timeout`.
pub(crate) async fn connect(tls: &UpstreamTls, timeout: Duration) -> Result<UpstreamStream, ForwardError> {
    match tokio::time::timeout(timeout, connect_unbounded(tls)).await {
        Ok(result) => result,
        Err(_) => Err(ForwardError::UpstreamTimeout {
            host: tls.host.clone(),
            port: tls.port,
            step: "accept the connection and TLS",
            timeout,
        }),
    }
}

async fn connect_unbounded(tls: &UpstreamTls) -> Result<UpstreamStream, ForwardError> {
    let tcp = connect_tcp(&tls.host, tls.port).await?;
    start_tls(tls, tcp).await
}

/// The TCP connection to the server (tuned), not yet encrypted.
pub(crate) async fn connect_tcp(host: &str, port: u16) -> Result<TcpStream, ForwardError> {
    let unreachable = |e: std::io::Error| ForwardError::UpstreamUnreachable {
        host: host.to_owned(),
        port,
        reason: e.to_string(),
    };
    let tcp = TcpStream::connect((host, port)).await.map_err(unreachable)?;
    tune_upstream(&tcp);
    Ok(tcp)
}

/// TLS on `tcp`: after an SSLRequest answered `S`, or directly, as the database says.
pub(crate) async fn start_tls(tls: &UpstreamTls, mut tcp: TcpStream) -> Result<UpstreamStream, ForwardError> {
    if tls.negotiation == SslNegotiation::Postgres {
        negotiate_ssl(tls, &mut tcp).await?;
    }
    tls.connector.connect(tls.server_name.clone(), tcp).await.map_err(|e| tls.explain(&e))
}

/// SSLRequest, then one byte: `S` go ahead, `N` no TLS here (protocol flow "SSL Session
/// Encryption"). We read exactly one byte, so nothing a man in the middle injects before the
/// handshake can be buffered and mistaken for server data.
async fn negotiate_ssl(tls: &UpstreamTls, tcp: &mut TcpStream) -> Result<(), ForwardError> {
    let lost = |e: std::io::Error| ForwardError::UpstreamLost {
        host: tls.host.clone(),
        port: tls.port,
        reason: e.to_string(),
    };
    let mut request = BytesMut::with_capacity(8);
    tapgate_pgwire::frontend::ssl_request(&mut request);
    tcp.write_all(&request).await.map_err(lost)?;
    match tcp.read_u8().await.map_err(lost)? {
        b'S' => Ok(()),
        // `E`: a server failure (e.g. it could not fork); its text is not shown, as the protocol
        // asks, since the server is not authenticated yet.
        b'N' | b'E' => Err(ForwardError::NoTls { host: tls.host.clone(), port: tls.port }),
        other => Err(ForwardError::UpstreamProtocol {
            host: tls.host.clone(),
            port: tls.port,
            source: tapgate_pgwire::WireError::BadServerMessage(format!(
                "answer {:?} to SSLRequest (expected 'S' or 'N')",
                char::from(other)
            )),
        }),
    }
}

/// TCP_NODELAY (a relay must not wait for Nagle + delayed ACK, 40 ms per round trip on Linux)
/// and keepalive. Failures only cost performance, so they are logged, not fatal.
pub(crate) fn tune_upstream(tcp: &TcpStream) {
    if let Err(error) = tcp.set_nodelay(true) {
        tracing::debug!(%error, "cannot set TCP_NODELAY");
    }
    let keepalive = TcpKeepalive::new()
        .with_time(KEEPALIVE_IDLE)
        .with_interval(KEEPALIVE_INTERVAL)
        .with_retries(KEEPALIVE_RETRIES);
    if let Err(error) = SockRef::from(tcp).set_tcp_keepalive(&keepalive) {
        tracing::debug!(%error, "cannot set TCP keepalive");
    }
}
