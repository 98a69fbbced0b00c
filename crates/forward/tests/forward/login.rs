//! The happy path: login upstream with the token, messages verbatim, relay, history.

use std::net::SocketAddr;

use tapgate_forward::{AuthMethod, Outcome, SslNegotiation};

use crate::support::*;

#[tokio::test]
async fn psql_like_client_logs_in_and_gets_the_servers_messages_verbatim() -> TestResult {
    let harness = Harness::start(Setup::default()).await;
    let (mut client, welcome) = harness.logged_in("app_rw").await;

    let upstream_welcome = harness.upstream.log().welcomes.first().cloned().expect("the server welcomed us");
    assert_eq!(welcome, upstream_welcome, "AuthenticationOk .. ReadyForQuery pass through byte for byte");
    assert_eq!(harness.gauge.open(), 1);

    // The server got the token as the password, inside TLS, and a StartupMessage naming who.
    {
        let log = harness.upstream.log();
        assert_eq!(log.password_messages, vec![[TOKEN.as_bytes(), b"\0"].concat()]);
        let startup = &log.startups[0];
        let param = |name: &str| startup.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
        assert_eq!(param("user").as_deref(), Some("app_rw"));
        assert_eq!(param("database").as_deref(), Some("app"));
        let app = param("application_name").expect("application_name");
        assert_eq!(app, "psql via tapgate (alice@example.com)");
        assert!(app.len() <= 63);
        // ALPN "postgresql" is offered; this scripted server, like PostgreSQL 16 and older, picks none.
        assert_eq!(log.alpn, vec![None]);
    }

    // Then bytes flow both ways untouched.
    let payload: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(client.echo(&payload).await, payload);
    drop(client);

    let closed = harness.recorder.closed(1).await;
    let (start, end) = &closed[0];
    assert_eq!(start.database, "prod");
    assert_eq!(start.dbname.as_deref(), Some("app"));
    assert_eq!(start.role.as_deref(), Some("app_rw"));
    assert_eq!(start.application_name.as_deref(), Some("psql"));
    assert_eq!(start.local_port, harness.addr.port());
    assert_eq!(end.outcome, Outcome::Ok);
    assert_eq!(end.identity.as_deref(), Some(IDENTITY));
    assert_eq!(end.bytes_from_client, payload.len() as u64);
    assert_eq!(end.bytes_to_client, (welcome.len() + payload.len()) as u64);
    assert_eq!(harness.gauge.open(), 0);
    Ok(())
}

#[tokio::test]
async fn a_role_from_roles_and_another_database_pass_through() -> TestResult {
    let harness = Harness::start(Setup::default()).await;
    let mut client = harness.client().await;
    // No SSLRequest this time (sslmode=disable), and no application_name.
    client.startup(&[("user", "app_ro"), ("database", "reports"), ("options", "-c search_path=x")]).await;
    client.until_ready().await;
    let log = harness.upstream.log();
    let startup = &log.startups[0];
    let param = |name: &str| startup.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    assert_eq!(param("user").as_deref(), Some("app_ro"));
    assert_eq!(param("database").as_deref(), Some("reports"));
    assert_eq!(param("options").as_deref(), Some("-c search_path=x"));
    assert_eq!(param("application_name").as_deref(), Some("tapgate via tapgate (alice@example.com)"));
    Ok(())
}

#[tokio::test]
async fn libpq_default_database_means_the_configured_one_and_long_names_are_cut() -> TestResult {
    let harness = Harness::start(Setup::default()).await;
    let mut client = harness.client().await;
    let long_name = "A Very Long GUI Client Name That Goes On And On Forever 2025.1";
    client.startup(&[("user", "app_rw"), ("database", "app_rw"), ("application_name", long_name)]).await;
    client.until_ready().await;
    let log = harness.upstream.log();
    let startup = &log.startups[0];
    let param = |name: &str| startup.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    assert_eq!(param("database").as_deref(), Some("app"));
    let app = param("application_name").expect("application_name");
    assert_eq!(app.len(), 63);
    assert!(app.ends_with(" via tapgate (alice@example.com)"), "{app}");
    Ok(())
}

#[tokio::test]
async fn gssenc_then_ssl_requests_are_both_declined() -> TestResult {
    let harness = Harness::start(Setup::default()).await;
    let mut client = harness.client().await;
    client.send(&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x30]).await;
    let mut answer = [0u8; 1];
    tokio::io::AsyncReadExt::read_exact(&mut client.stream, &mut answer).await?;
    assert_eq!(answer, *b"N");
    client.ssl_request().await;
    client.startup(&[("user", "app_rw")]).await;
    client.until_ready().await;
    Ok(())
}

#[tokio::test]
async fn a_protocol_3_2_client_is_told_3_0_first() -> TestResult {
    let harness = Harness::start(Setup::default()).await;
    let mut client = harness.client().await;
    let message = tapgate_pgwire::StartupMessage::new(
        tapgate_pgwire::ProtocolVersion::V3_2,
        vec![("user".into(), "app_rw".into()), ("_pq_.test_option".into(), "1".into())],
    )?;
    let mut buf = bytes::BytesMut::new();
    tapgate_pgwire::frontend::startup_message(&message, &mut buf)?;
    client.send(&buf).await;
    let first = client.next().await.expect("a message");
    assert_eq!(first.tag(), b'v');
    assert_eq!(first.body(), b"\0\0\0\0\0\0\0\x01_pq_.test_option\0");
    client.until_ready().await;
    let log = harness.upstream.log();
    assert!(log.startups[0].iter().all(|(n, _)| !n.starts_with("_pq_.")), "no protocol options upstream");
    Ok(())
}

#[tokio::test]
async fn direct_tls_uses_alpn_postgresql() -> TestResult {
    let harness = Harness::start(Setup {
        script: Script { direct_tls: true, ..Script::default() },
        configure: Box::new(|c| c.ssl_negotiation = SslNegotiation::Direct),
        ..Setup::default()
    })
    .await;
    let (_client, _) = harness.logged_in("app_rw").await;
    assert_eq!(harness.upstream.log().alpn, vec![Some(b"postgresql".to_vec())]);
    Ok(())
}

#[tokio::test]
async fn oauthbearer_sends_the_rfc_7628_initial_response() -> TestResult {
    let harness = Harness::start(Setup {
        script: Script { auth: ServerAuth::OAuth { refuse: false }, ..Script::default() },
        configure: Box::new(|c| c.auth = AuthMethod::OAuthBearer),
        ..Setup::default()
    })
    .await;
    let (_client, _) = harness.logged_in("app_rw").await;
    let log = harness.upstream.log();
    let initial = &log.password_messages[0];
    let data = format!("n,,\x01auth=Bearer {TOKEN}\x01\x01");
    let mut expected = b"OAUTHBEARER\0".to_vec();
    expected.extend_from_slice(&(data.len() as i32).to_be_bytes());
    expected.extend_from_slice(data.as_bytes());
    assert_eq!(initial, &expected);
    Ok(())
}

#[tokio::test]
async fn a_refused_oauth_token_gets_the_servers_error_with_the_oauth_status_in_its_detail() -> TestResult {
    let harness = Harness::start(Setup {
        script: Script { auth: ServerAuth::OAuth { refuse: true }, ..Script::default() },
        configure: Box::new(|c| c.auth = AuthMethod::OAuthBearer),
        ..Setup::default()
    })
    .await;
    let mut client = harness.client().await;
    client.startup(&[("user", "app_rw")]).await;
    let (error, notices) = client.error().await;
    assert_eq!(error.code, "28P01", "the server's own error code and message");
    // No notice before the error: libpq aborts on one before the first authentication request.
    assert!(notices.is_empty(), "{notices:?}");
    let detail = error.detail.clone().unwrap_or_default();
    assert!(detail.contains("status invalid_token, scope \"openid postgres\""), "{error:?}");
    assert_eq!(harness.upstream.log().password_messages[1], b"\x01", "the error JSON was acknowledged");
    let closed = harness.recorder.closed(1).await;
    assert_eq!(closed[0].1.outcome, Outcome::Refused);
    Ok(())
}

#[tokio::test]
async fn the_server_refusing_the_password_is_passed_on_verbatim() -> TestResult {
    let harness = Harness::start(Setup {
        tokens: Tokens {
            result: Ok(tapgate_forward::UpstreamToken {
                access_token: "wrong-token".to_owned().into(),
                identity: IDENTITY.into(),
                expires_at: None,
                login_user: None,
            }),
            ..Tokens::valid()
        },
        ..Setup::default()
    })
    .await;
    let mut client = harness.client().await;
    client.startup(&[("user", "app_rw")]).await;
    let (error, _) = client.error().await;
    assert_eq!(error.code, "28P01");
    assert_eq!(error.message, "password authentication failed for user \"app_rw\"");
    assert!(client.closed().await);
    let closed = harness.recorder.closed(1).await;
    assert_eq!(closed[0].1.outcome, Outcome::Refused);
    let text = closed[0].1.error.clone().unwrap_or_default();
    assert!(text.contains("password authentication failed") && text.contains("28P01"), "{text}");
    Ok(())
}

#[tokio::test]
async fn an_error_after_authentication_is_passed_on() -> TestResult {
    let harness = Harness::start(Setup {
        script: Script { fail_after_ok: true, ..Script::default() },
        ..Setup::default()
    })
    .await;
    let mut client = harness.client().await;
    client.startup(&[("user", "app_rw")]).await;
    let (error, _) = client.error().await;
    assert_eq!(error.code, "3D000");
    assert_eq!(harness.recorder.closed(1).await[0].1.outcome, Outcome::Refused);
    Ok(())
}

#[tokio::test]
async fn ipv6_loopback_is_served_on_the_same_port_when_available() -> TestResult {
    let harness = Harness::start(Setup::default()).await;
    let v6 = SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, harness.addr.port()));
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        return Ok(()); // No IPv6 on this machine: the forwarder logs it and serves 127.0.0.1 only.
    }
    let mut client = Client::connect(v6).await;
    client.startup(&[("user", "app_rw")]).await;
    client.until_ready().await;
    Ok(())
}
