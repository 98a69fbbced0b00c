//! `assume_role_with_web_identity` against moto's server, a local AWS STS, over HTTPS with a
//! throwaway CA: credentials come back, and botocore signs the same RDS auth token with them.
//! Also: a plaintext endpoint is refused before any connection, and an endpoint that cannot be
//! reached or trusted is named in the error.
//!
//! Needs the venv of scripts/install-aws-test-tools.sh (make test runs it).

#![allow(clippy::panic)]

mod support;

use std::fs;
use std::net::{Ipv4Addr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rcgen::{BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair};
use secrecy::{ExposeSecret as _, SecretString};
use support::{TokenCase, botocore_tokens, exposed, venv_program};
use tapgate_cloud::{
    CloudError, WebIdentityRequest, assume_role_with_web_identity, rds_auth_token, role_session_name,
};
use url::Url;

const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/tapgate-db";
/// moto takes a few seconds to import on a busy 2-core machine.
const STARTUP_DEADLINE: Duration = Duration::from_secs(60);

/// moto's server on 127.0.0.1 with our certificate; killed when dropped.
struct MotoServer {
    child: Child,
    endpoint: Url,
    _dir: tempfile::TempDir,
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// PEM texts of a fresh CA and a server certificate + key for localhost and 127.0.0.1.
struct TestTls {
    ca_pem: String,
    cert_pem: String,
    key_pem: String,
}

fn test_tls() -> TestTls {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    let mut ca_name = DistinguishedName::new();
    ca_name.push(DnType::CommonName, "Tapgate cloud test CA");
    ca_params.distinguished_name = ca_name;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    let ca_key = KeyPair::generate().expect("ca key");
    let ca_cert = ca_params.self_signed(&ca_key).expect("ca cert");
    let issuer = Issuer::new(ca_params, ca_key);

    let mut params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).expect("params");
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, "localhost");
    params.distinguished_name = name;
    let key = KeyPair::generate().expect("key");
    let cert = params.signed_by(&key, &issuer).expect("cert");
    TestTls { ca_pem: ca_cert.pem(), cert_pem: cert.pem(), key_pem: key.serialize_pem() }
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind").local_addr().expect("addr").port()
}

fn client_trusting(ca_pem: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).expect("CA PEM"))
        .https_only(true)
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

fn log_of(dir: &Path) -> String {
    fs::read_to_string(dir.join("moto.log")).unwrap_or_default()
}

/// Starts moto over HTTPS and waits until it answers (polling, up to `STARTUP_DEADLINE`).
async fn start_moto(tls: &TestTls) -> MotoServer {
    let program = venv_program("moto_server");
    let dir = tempfile::tempdir().expect("temp dir");
    let (cert, key) = (dir.path().join("server.pem"), dir.path().join("server.key"));
    fs::write(&cert, &tls.cert_pem).expect("write cert");
    fs::write(&key, &tls.key_pem).expect("write key");
    let log = fs::File::create(dir.path().join("moto.log")).expect("log file");
    let port = free_port();
    let child = Command::new(&program)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .arg("--ssl-cert")
        .arg(&cert)
        .arg("--ssl-key")
        .arg(&key)
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .unwrap_or_else(|err| panic!("cannot start {}: {err}", program.display()));
    let endpoint = Url::parse(&format!("https://127.0.0.1:{port}/")).expect("endpoint");
    let mut server = MotoServer { child, endpoint, _dir: dir };

    let client = client_trusting(&tls.ca_pem);
    let started = Instant::now();
    loop {
        // Any HTTP answer over our TLS means the server is up (moto's dashboard API path).
        let probe = server.endpoint.join("moto-api/").expect("probe url");
        if client.get(probe).send().await.is_ok() {
            return server;
        }
        if let Some(status) = server.child.try_wait().expect("moto status") {
            panic!("moto_server exited ({status}) before answering:\n{}", log_of(server._dir.path()));
        }
        assert!(
            started.elapsed() < STARTUP_DEADLINE,
            "moto_server did not answer on {} within {:?}:\n{}",
            server.endpoint,
            STARTUP_DEADLINE,
            log_of(server._dir.path())
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// An unsigned but JWT-shaped token, as an IdP would issue (moto does not check signatures).
fn web_identity_token() -> SecretString {
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","kid":"test"}"#);
    let payload = URL_SAFE_NO_PAD.encode(
        r#"{"iss":"https://idp.example.com","aud":"tapgate","sub":"alice","email":"alice@example.com","exp":4102444800}"#,
    );
    let signature = URL_SAFE_NO_PAD.encode([7u8; 64]);
    SecretString::from(format!("{header}.{payload}.{signature}"))
}

#[tokio::test]
async fn moto_issues_credentials_that_sign_the_same_rds_token_as_botocore() {
    let tls = test_tls();
    let moto = start_moto(&tls).await;
    let client = client_trusting(&tls.ca_pem);
    let token = web_identity_token();
    let session_name = role_session_name("alice@example.com");
    let mut request = WebIdentityRequest::new(&moto.endpoint, ROLE_ARN, &session_name, &token);
    request.duration_seconds = 900;

    let asked_at = SystemTime::now();
    let credentials = assume_role_with_web_identity(&client, &request).await.expect("credentials from moto");
    assert!(credentials.access_key_id.starts_with("ASIA"), "{}", credentials.access_key_id);
    assert!(!credentials.secret_access_key.expose_secret().is_empty());
    assert!(!credentials.session_token.expose_secret().is_empty());
    // moto grants the duration asked for, from now (its Expiration has whole seconds or ms).
    let lifetime = credentials.expiration.duration_since(asked_at).expect("expiration in the future");
    assert!(
        lifetime > Duration::from_secs(900 - 60) && lifetime <= Duration::from_secs(900 + 60),
        "expires {lifetime:?} from now, asked for 900 s"
    );
    assert!(!credentials.needs_renewal(asked_at));

    // The credentials sign an RDS token exactly as botocore signs with them.
    let case = TokenCase {
        credentials: &credentials,
        region: "eu-west-1",
        host: "prod.cluster-abc123.eu-west-1.rds.amazonaws.com",
        port: 5432,
        user: "alice@example.com",
        at: asked_at,
    };
    let ours =
        rds_auth_token(&credentials, case.region, case.host, case.port, case.user, case.at).expect("token");
    let botocore = botocore_tokens(&[case]);
    assert_eq!(exposed(&ours), botocore[0]);

    // Nothing about the sign-in token in moto's log.
    let log = log_of(moto._dir.path());
    assert!(!log.contains(token.expose_secret()), "moto's log holds the token:\n{log}");

    // A client that does not trust our CA: the error names the endpoint.
    let untrusting = reqwest::Client::builder().https_only(true).build().expect("client");
    let error =
        assume_role_with_web_identity(&untrusting, &request).await.expect_err("untrusted certificate");
    assert!(matches!(error, CloudError::StsUnreachable { .. }), "{error:?}");
    let text = error.to_string();
    assert!(text.contains(moto.endpoint.as_str()), "{text}");
    assert!(!text.contains(token.expose_secret()), "{text}");
}

#[tokio::test]
async fn a_plaintext_endpoint_is_refused_without_a_request() {
    // A listener that would see any connection attempt.
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let endpoint = Url::parse(&format!("http://127.0.0.1:{}/", listener.local_addr().expect("addr").port()))
        .expect("endpoint");
    let token = web_identity_token();
    let request = WebIdentityRequest::new(&endpoint, ROLE_ARN, "alice", &token);

    let error = assume_role_with_web_identity(&reqwest::Client::new(), &request).await.expect_err("refused");
    assert!(matches!(error, CloudError::InsecureStsEndpoint { .. }), "{error:?}");
    assert!(error.to_string().contains(endpoint.as_str()), "{error}");
    match listener.accept() {
        Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {}
        Ok((_, peer)) => panic!("a connection reached the plaintext endpoint from {peer}"),
        Err(err) => panic!("accept: {err}"),
    }
}

#[tokio::test]
async fn an_unreachable_endpoint_is_named() {
    let endpoint = Url::parse(&format!("https://127.0.0.1:{}/", free_port())).expect("endpoint");
    let token = web_identity_token();
    let request = WebIdentityRequest::new(&endpoint, ROLE_ARN, "alice", &token);
    let error =
        assume_role_with_web_identity(&reqwest::Client::new(), &request).await.expect_err("unreachable");
    let text = error.to_string();
    assert!(matches!(error, CloudError::StsUnreachable { .. }), "{error:?}");
    assert!(text.contains(endpoint.as_str()) && text.contains("could not connect"), "{text}");
}
