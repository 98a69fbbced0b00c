//! Certificate checks: untrusted CA, name mismatch, and the weaker modes.

use std::time::Duration;

use tapgate_forward::{ForwardError, Forwarder, Outcome, SslMode};

use crate::support::*;

async fn tls_failure(setup: Setup) -> (tapgate_pgwire::ErrorReport, Harness) {
    let harness = Harness::start(setup).await;
    let mut client = harness.client().await;
    client.startup(&[("user", "app_rw")]).await;
    let (error, _) = client.error().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    {
        let log = harness.upstream.log();
        assert_eq!(log.tls_sessions, 0, "the handshake failed");
        assert!(log.startups.is_empty() && log.password_messages.is_empty(), "the token was not sent");
    }
    assert_eq!(harness.recorder.closed(1).await[0].1.outcome, Outcome::TlsError);
    (error, harness)
}

#[tokio::test]
async fn an_untrusted_certificate_is_explained_with_a_ca_file_hint() -> TestResult {
    let (error, harness) = tls_failure(Setup { trust_ca: false, ..Setup::default() }).await;
    assert_eq!(error.code, "08001");
    assert_eq!(
        error.message,
        format!(
            "Tapgate: TLS with the server at 127.0.0.1:{} failed: the server's certificate is not signed by a \
             CA Tapgate trusts",
            harness.upstream.port
        )
    );
    assert_eq!(
        error.hint.as_deref(),
        Some("set ca_file for prod to the CA certificate (PEM) that signed the server's certificate")
    );
    Ok(())
}

#[tokio::test]
async fn a_hostname_mismatch_names_what_the_certificate_has() -> TestResult {
    let (error, _harness) = tls_failure(Setup { names: vec!["db.example.test"], ..Setup::default() }).await;
    assert!(
        error
            .message
            .ends_with("the server's certificate is not valid for 127.0.0.1 (it names: db.example.test)"),
        "{}",
        error.message
    );
    Ok(())
}

/// libpq's `sslrootcert` with the server's own self-signed certificate works under verify-full;
/// so does `ca_file` (the certificate is pinned).
#[tokio::test]
async fn a_self_signed_server_certificate_in_ca_file_works_under_verify_full() -> TestResult {
    let harness = Harness::start(Setup { self_signed: true, ..Setup::default() }).await;
    harness.logged_in("app_rw").await;
    Ok(())
}

/// Pinning is not a blank cheque: the pinned certificate must still name the host.
#[tokio::test]
async fn a_pinned_self_signed_certificate_for_another_name_is_refused() -> TestResult {
    let (error, _harness) =
        tls_failure(Setup { self_signed: true, names: vec!["db.example.test"], ..Setup::default() }).await;
    assert!(error.message.contains("not valid for 127.0.0.1"), "{}", error.message);
    Ok(())
}

/// A self-signed certificate that is not the one in ca_file is refused like any unknown issuer.
#[tokio::test]
async fn a_self_signed_certificate_other_than_the_pinned_one_is_refused() -> TestResult {
    let (error, _harness) = tls_failure(Setup {
        self_signed: true,
        configure: Box::new(|c| {
            let other = TestPki::self_signed(&["127.0.0.1"]);
            let path = std::env::temp_dir().join(format!("tapgate-other-{}.pem", std::process::id()));
            std::fs::write(&path, other.ca_pem).expect("write");
            c.ca_file = Some(path);
        }),
        ..Setup::default()
    })
    .await;
    assert!(
        error.message.ends_with("the server's certificate is self-signed (a CA certificate used as the server's) and is not the one in ca_file"),
        "{}",
        error.message
    );
    assert!(error.hint.as_deref().is_some_and(|h| h.contains("sslrootcert")), "{:?}", error.hint);
    Ok(())
}

#[tokio::test]
async fn verify_ca_accepts_a_name_mismatch_with_a_trusted_chain() -> TestResult {
    let harness = Harness::start(Setup {
        names: vec!["db.example.test"],
        configure: Box::new(|c| c.sslmode = SslMode::VerifyCa),
        ..Setup::default()
    })
    .await;
    harness.logged_in("app_rw").await;
    Ok(())
}

#[tokio::test]
async fn verify_ca_still_refuses_an_untrusted_chain() -> TestResult {
    // The ca_file is some other CA: the server's chain does not lead to it.
    let other = TestPki::new(&["localhost"]);
    let dir = tempfile::tempdir()?;
    let other_ca = dir.path().join("other-ca.pem");
    std::fs::write(&other_ca, &other.ca_pem)?;
    let (error, _harness) = tls_failure(Setup {
        configure: Box::new(move |c| {
            c.sslmode = SslMode::VerifyCa;
            c.ca_file = Some(other_ca);
        }),
        ..Setup::default()
    })
    .await;
    assert!(error.message.contains("not signed by a CA Tapgate trusts"), "{}", error.message);
    drop(dir);
    Ok(())
}

#[tokio::test]
async fn require_encrypts_without_checking_the_certificate() -> TestResult {
    let harness = Harness::start(Setup {
        trust_ca: false,
        names: vec!["db.example.test"],
        configure: Box::new(|c| c.sslmode = SslMode::Require),
        ..Setup::default()
    })
    .await;
    harness.logged_in("app_rw").await;
    assert_eq!(harness.upstream.log().tls_sessions, 1);
    Ok(())
}

#[tokio::test]
async fn bad_tls_settings_fail_at_bind_time() -> TestResult {
    let mut config = base_config(5432, None);
    config.sslmode = SslMode::VerifyCa;
    assert!(matches!(Forwarder::bind(config).await, Err(ForwardError::VerifyCaNeedsCaFile { .. })));

    let dir = tempfile::tempdir()?;
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n")?;
    let config = base_config(5432, Some(empty));
    let error = Forwarder::bind(config).await.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(error.contains("holds no PEM certificate"), "{error}");

    let config = base_config(5432, Some(dir.path().join("missing.pem")));
    assert!(matches!(Forwarder::bind(config).await, Err(ForwardError::CaFile { .. })));
    Ok(())
}
