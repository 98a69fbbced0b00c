//! The client's side of the startup phase: SSLRequest and GSSENCRequest answered `N` (the
//! loopback leg stays plaintext), then a StartupMessage or a CancelRequest, within a deadline.

use std::time::Duration;

use bytes::BytesMut;
use tapgate_pgwire::{CancelRequest, StartupMessage, StartupPacket, parse_startup};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::ForwardError;
use crate::client_stream::ClientStream;

/// What the client wants.
#[derive(Debug)]
pub(crate) enum ClientHello {
    /// A session; `pipelined` holds whatever the client sent after its StartupMessage.
    Startup { message: StartupMessage, pipelined: BytesMut },
    /// A cancel for some session.
    Cancel(CancelRequest),
    /// The client connected and left without a word (a port probe): nothing to record.
    Closed,
}

/// Reads the first packets, answering encryption requests, until the client says what it wants.
pub(crate) async fn read_hello(
    client: &mut ClientStream,
    timeout: Duration,
) -> Result<ClientHello, ForwardError> {
    match tokio::time::timeout(timeout, read_hello_unbounded(client)).await {
        Ok(result) => result,
        Err(_) => Err(ForwardError::StartupTimeout(timeout)),
    }
}

async fn read_hello_unbounded(client: &mut ClientStream) -> Result<ClientHello, ForwardError> {
    let mut buf = BytesMut::with_capacity(512);
    let mut declined_tls = false;
    let mut declined_gss = false;
    loop {
        match parse_startup(&mut buf).map_err(ForwardError::BadStartup)? {
            Some(StartupPacket::SslRequest) => {
                // PostgreSQL refuses a second SSLRequest too: the sequence is at most one of each.
                if declined_tls {
                    return Err(ForwardError::ClientProtocol("sent SSLRequest twice"));
                }
                declined_tls = true;
                decline(client).await?;
            }
            Some(StartupPacket::GssEncRequest) => {
                if declined_gss {
                    return Err(ForwardError::ClientProtocol("sent GSSENCRequest twice"));
                }
                declined_gss = true;
                decline(client).await?;
            }
            Some(StartupPacket::Cancel(request)) => return Ok(ClientHello::Cancel(request)),
            Some(StartupPacket::Startup(message)) => {
                return Ok(ClientHello::Startup { message, pipelined: buf });
            }
            None => {
                let read = client
                    .read_buf(&mut buf)
                    .await
                    .map_err(|_| ForwardError::ClientGone("during startup"))?;
                if read == 0 {
                    return match (buf.is_empty(), declined_tls) {
                        (true, false) if !declined_gss => Ok(ClientHello::Closed),
                        (true, true) => Err(ForwardError::ClientWantedTls),
                        (true, false) => Err(ForwardError::ClientGone("after its GSSENCRequest")),
                        (false, _) => Err(ForwardError::ClientProtocol(
                            "closed the connection in the middle of its startup packet",
                        )),
                    };
                }
            }
        }
    }
}

/// `N`: no encryption on this leg; the client goes on in plaintext (sslmode=prefer).
async fn decline(client: &mut ClientStream) -> Result<(), ForwardError> {
    client.write_all(b"N").await.map_err(|_| ForwardError::ClientGone("during startup"))
}
