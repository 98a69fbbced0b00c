//! `CallbackListener`: the loopback port the browser is redirected to (RFC 8252 §7.3). Bound
//! before the browser opens; serves requests until the one to `/callback` arrives or the
//! deadline passes; then the port closes, so a second answer finds nobody listening.

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::callback::{self, Expected, Request, Verdict};
use crate::IdpError;

/// A connection that sends no complete request head in this time is dropped (browsers open
/// speculative connections they may never use; they must not hold up the real answer).
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A bound loopback port waiting for the browser.
#[derive(Debug)]
pub(crate) struct CallbackListener {
    listener: TcpListener,
    port: u16,
}

impl CallbackListener {
    /// Binds 127.0.0.1:`port` (0: a free port).
    pub(crate) async fn bind(idp: &str, port: u16) -> Result<CallbackListener, IdpError> {
        let failed = |reason: String| IdpError::CallbackListener { idp: idp.to_string(), port, reason };
        let listener = TcpListener::bind(("127.0.0.1", port)).await.map_err(|err| failed(err.to_string()))?;
        let port = listener.local_addr().map_err(|err| failed(err.to_string()))?.port();
        Ok(CallbackListener { listener, port })
    }

    /// The port actually bound.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// Serves requests until the redirect arrives or `timeout` passes; returns the code.
    ///
    /// Each connection is read on its own task (a silent one cannot block another); the verdict
    /// and the reply are made here, one request at a time. Dropping `self` on return closes the
    /// port and aborts the readers still waiting.
    pub(crate) async fn wait(self, expected: &Expected<'_>, timeout: Duration) -> Result<String, IdpError> {
        let deadline = Instant::now() + timeout;
        let mut readers: JoinSet<Option<(TcpStream, Result<Request, String>)>> = JoinSet::new();
        loop {
            tokio::select! {
                accepted = self.listener.accept() => {
                    // A failed accept (a reset before accept, no file descriptors) concerns that
                    // connection only: keep waiting for the browser.
                    if let Ok((stream, _)) = accepted {
                        readers.spawn(read_head(stream));
                    }
                }
                Some(joined) = readers.join_next() => {
                    let Ok(Some((mut stream, parsed))) = joined else { continue };
                    let verdict = match parsed {
                        Ok(request) => callback::judge(&request, expected),
                        Err(_) => Verdict::NotOurs { status: 400 },
                    };
                    // The page is a courtesy: the sign-in's outcome does not depend on it arriving.
                    let _ = stream.write_all(&callback::reply(expected.idp, &verdict)).await;
                    let _ = stream.shutdown().await;
                    match verdict {
                        Verdict::NotOurs { .. } => continue,
                        Verdict::Code(code) => return Ok(code),
                        Verdict::Failed(err) => return Err(err),
                    }
                }
                () = tokio::time::sleep_until(deadline) => {
                    return Err(IdpError::CallbackTimedOut {
                        idp: expected.idp.to_string(),
                        seconds: timeout.as_secs(),
                    });
                }
            }
        }
    }
}

/// Reads one request head; `None` when the peer sent nothing usable in time or went away.
async fn read_head(mut stream: TcpStream) -> Option<(TcpStream, Result<Request, String>)> {
    let mut buffer = Vec::with_capacity(1024);
    let read = tokio::time::timeout(READ_TIMEOUT, async {
        let mut chunk = [0u8; 2048];
        loop {
            match callback::parse(&buffer) {
                Ok(Some(request)) => return Some(Ok(request)),
                Err(reason) => return Some(Err(reason)),
                Ok(None) => {}
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    match read {
        Ok(Some(parsed)) => Some((stream, parsed)),
        _ => None,
    }
}
