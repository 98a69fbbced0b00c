//! Logs: one line per connection open and close, with who and how, and never the token.

use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::support::*;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("capture").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn connections_are_logged_without_the_token() -> TestResult {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // Global, not a thread-local default: tracing caches each log site's interest process-wide,
    // and a site first hit by another test's thread (with no subscriber there) would stay silent
    // here. This is the only test of the binary that installs a subscriber; the others' lines
    // land in the capture too, and must not hold a token either.
    tracing::subscriber::set_global_default(subscriber)?;

    let harness = Harness::start(Setup::default()).await;
    let (client, _) = harness.logged_in("app_rw").await;
    drop(client);
    let mut refused = harness.client().await;
    refused.startup(&[("user", "postgres")]).await;
    refused.error().await;
    harness.recorder.closed(2).await;

    let recorded = format!("{:?}", harness.recorder.connections.lock().expect("recorder"));
    let logs = String::from_utf8(captured.0.lock().expect("capture").clone())?;
    assert!(logs.contains("connection opened"), "{logs}");
    assert!(logs.contains("connection closed") && logs.contains("alice@example.com"), "{logs}");
    assert!(logs.contains("outcome=refused"), "{logs}");
    for text in [&logs, &recorded] {
        assert!(!text.contains("test-token-secret"), "token text leaked: {text}");
    }
    Ok(())
}
