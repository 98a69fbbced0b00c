//! Query cancellation: the cancel keys of this forwarder's live sessions, and forwarding a
//! client's CancelRequest to the server over a new TLS connection.
//!
//! The server's BackendKeyData reaches the client verbatim, so a client's CancelRequest carries
//! the server's own (pid, key). It is forwarded only when that pair belongs to a live session
//! of this forwarder: a cancel can reach no other backend, and an unknown key is dropped
//! without a word, as PostgreSQL does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::BytesMut;
use tapgate_pgwire::CancelRequest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::ForwardError;
use crate::upstream::connect;
use crate::upstream_tls::UpstreamTls;

/// How long to wait for the server to close the cancel connection after our request.
const CANCEL_LINGER: Duration = Duration::from_secs(5);

/// A live session's entry: how many sessions hold the key, and the role it logged in as.
#[derive(Debug)]
struct Entry {
    // Two live sessions never share a backend, but counting makes that an assumption we do
    // not depend on.
    holders: usize,
    role: String,
}

/// The cancel keys of live sessions.
#[derive(Debug, Default, Clone)]
pub(crate) struct CancelRegistry {
    live: Arc<Mutex<HashMap<CancelRequest, Entry>>>,
}

impl CancelRegistry {
    /// Records a live session's key until the returned guard is dropped.
    pub(crate) fn register(&self, key: CancelRequest, role: &str) -> LiveKey {
        self.lock()
            .entry(key.clone())
            .or_insert_with(|| Entry { holders: 0, role: role.to_owned() })
            .holders += 1;
        LiveKey { registry: self.clone(), key }
    }

    /// The role of the live session `key` belongs to; `None` when no live session has it.
    pub(crate) fn live_role(&self, key: &CancelRequest) -> Option<String> {
        self.lock().get(key).map(|entry| entry.role.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<CancelRequest, Entry>> {
        // The map holds plain data; a panic elsewhere cannot leave it half-updated.
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A live session's key; dropping it forgets the key.
#[derive(Debug)]
pub(crate) struct LiveKey {
    registry: CancelRegistry,
    key: CancelRequest,
}

impl Drop for LiveKey {
    fn drop(&mut self) {
        let mut live = self.registry.lock();
        if let Some(entry) = live.get_mut(&self.key) {
            entry.holders -= 1;
            if entry.holders == 0 {
                live.remove(&self.key);
            }
        }
    }
}

/// Sends `request` to the server: a new connection with the session's TLS settings
/// (SSLRequest, TLS, CancelRequest), then waits briefly for the server to close it.
pub(crate) async fn forward_cancel(
    tls: &UpstreamTls,
    request: &CancelRequest,
    connect_timeout: Duration,
) -> Result<(), ForwardError> {
    let mut upstream = connect(tls, connect_timeout).await?;
    let lost = |e: std::io::Error| ForwardError::UpstreamLost {
        host: tls.host.clone(),
        port: tls.port,
        reason: e.to_string(),
    };
    let mut packet = BytesMut::with_capacity(16);
    tapgate_pgwire::frontend::cancel_request(request, &mut packet).map_err(ForwardError::BadStartup)?;
    upstream.write_all(&packet).await.map_err(lost)?;
    upstream.flush().await.map_err(lost)?;
    // The server answers nothing and closes; waiting for that keeps our close from racing the
    // request on its way in.
    let mut sink = [0u8; 64];
    let _ = tokio::time::timeout(CANCEL_LINGER, async {
        while let Ok(read) = upstream.read(&mut sink).await {
            if read == 0 {
                break;
            }
        }
    })
    .await;
    Ok(())
}
