//! Test support: a scripted PostgreSQL server behind TLS (test CA from rcgen), a token source,
//! an observer that records, a raw client, and a harness that runs a forwarder between them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{BufMut, BytesMut};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use secrecy::SecretString;
use tapgate_forward::{
    BoxFuture, ClientInfo, ConnectionEnd, ConnectionObserver, ConnectionStart, ForwardError, Forwarder,
    ForwarderConfig, TokenError, TokenSource, UpstreamToken,
};
use tapgate_pgwire::backend::MAX_HANDSHAKE_MESSAGE_LENGTH;
use tapgate_pgwire::{
    BackendMessage, CancelRequest, ErrorReport, StartupPacket, parse_startup, split_backend_message,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

pub const TOKEN: &str = "eyJ0eXAiOiJKV1QifQ.test-token-secret.sig";
pub const IDENTITY: &str = "alice@example.com";
/// Generous bound for anything a test waits for.
pub const PATIENCE: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// Certificates

/// A test CA and a server certificate it signed.
pub struct TestPki {
    pub ca_pem: String,
    pub cert: CertificateDer<'static>,
    pub key_pem: String,
}

fn ca_params(serial: u64) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, format!("Tapgate forward test CA {serial}"));
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    params
}

impl TestPki {
    /// A CA and a server certificate naming `names`.
    pub fn new(names: &[&str]) -> TestPki {
        // A distinct name per CA, so "another CA" is an unknown issuer, not a same-name impostor.
        static SERIAL: AtomicU64 = AtomicU64::new(0);
        let serial = SERIAL.fetch_add(1, Ordering::SeqCst);
        let ca_key = KeyPair::generate().expect("key");
        let ca_pem = ca_params(serial).self_signed(&ca_key).expect("ca").pem();
        let issuer = Issuer::new(ca_params(serial), ca_key);
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).expect("params");
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &issuer).expect("cert");
        TestPki { ca_pem, cert: cert.der().clone(), key_pem: key.serialize_pem() }
    }

    /// A self-signed server certificate naming `names` that says it is a CA, as `openssl req
    /// -x509` makes them; "the CA" is the certificate itself (to pin it).
    pub fn self_signed(names: &[&str]) -> TestPki {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("cert");
        TestPki { ca_pem: cert.pem(), cert: cert.der().clone(), key_pem: key.serialize_pem() }
    }

    pub fn server_config(&self, alpn: bool) -> Arc<ServerConfig> {
        let key = PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes()).expect("key");
        let mut config =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("versions")
                .with_no_client_auth()
                .with_single_cert(vec![self.cert.clone()], key)
                .expect("server config");
        if alpn {
            config.alpn_protocols = vec![b"postgresql".to_vec()];
        }
        Arc::new(config)
    }
}

// ---------------------------------------------------------------------------------------------
// Scripted upstream server

/// How the scripted server authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerAuth {
    /// AuthenticationCleartextPassword; the password must be [`TOKEN`].
    Cleartext,
    /// AuthenticationMD5Password.
    Md5,
    /// AuthenticationSASL with SCRAM only.
    Scram,
    /// AuthenticationSASL with OAUTHBEARER; `refuse` answers with the error JSON.
    OAuth { refuse: bool },
}

/// What the scripted server does.
#[derive(Debug, Clone)]
pub struct Script {
    pub ssl_answer: u8,
    pub direct_tls: bool,
    pub auth: ServerAuth,
    /// After authentication, an ErrorResponse instead of the welcome (e.g. missing role).
    pub fail_after_ok: bool,
}

impl Default for Script {
    fn default() -> Script {
        Script { ssl_answer: b'S', direct_tls: false, auth: ServerAuth::Cleartext, fail_after_ok: false }
    }
}

/// Everything the scripted server saw.
#[derive(Debug, Default)]
pub struct ServerLog {
    pub tcp_connections: usize,
    pub tls_sessions: usize,
    pub alpn: Vec<Option<Vec<u8>>>,
    pub startups: Vec<Vec<(String, String)>>,
    /// Every frontend message with type `p` after the startup (passwords, SASL), raw bodies.
    pub password_messages: Vec<Vec<u8>>,
    pub cancels: Vec<CancelRequest>,
    /// Exact bytes of the welcome each session got (AuthenticationOk .. ReadyForQuery).
    pub welcomes: Vec<Vec<u8>>,
    /// Cancel keys handed out, per session.
    pub keys: Vec<(i32, [u8; 4])>,
}

pub struct Upstream {
    pub port: u16,
    pub log: Arc<Mutex<ServerLog>>,
    task: JoinHandle<()>,
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Upstream {
    pub async fn start(script: Script, tls: Arc<ServerConfig>) -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind upstream");
        let port = listener.local_addr().expect("addr").port();
        let log = Arc::new(Mutex::new(ServerLog::default()));
        let task_log = log.clone();
        let task = tokio::spawn(async move {
            let acceptor = tokio_rustls::TlsAcceptor::from(tls);
            let sessions = Arc::new(AtomicUsize::new(0));
            while let Ok((tcp, _)) = listener.accept().await {
                let (script, log, acceptor, sessions) =
                    (script.clone(), task_log.clone(), acceptor.clone(), sessions.clone());
                tokio::spawn(async move {
                    let _ = serve_one(tcp, script, log, acceptor, sessions).await;
                });
            }
        });
        Upstream { port, log, task }
    }

    pub fn log(&self) -> std::sync::MutexGuard<'_, ServerLog> {
        self.log.lock().expect("log")
    }
}

async fn serve_one(
    mut tcp: TcpStream,
    script: Script,
    log: Arc<Mutex<ServerLog>>,
    acceptor: tokio_rustls::TlsAcceptor,
    sessions: Arc<AtomicUsize>,
) -> std::io::Result<()> {
    log.lock().expect("log").tcp_connections += 1;
    if !script.direct_tls {
        let mut request = [0u8; 8];
        tcp.read_exact(&mut request).await?;
        assert_eq!(request, [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f], "the forwarder starts with SSLRequest");
        tcp.write_all(&[script.ssl_answer]).await?;
        if script.ssl_answer != b'S' {
            // Whatever comes next in plaintext would be recorded as a startup: read it.
            let mut buf = BytesMut::new();
            let _ = tokio::time::timeout(Duration::from_millis(500), tcp.read_buf(&mut buf)).await;
            if let Ok(Some(StartupPacket::Startup(m))) = parse_startup(&mut buf) {
                log.lock().expect("log").startups.push(m.params().to_vec());
            }
            return Ok(());
        }
    }
    let mut tls = acceptor.accept(tcp).await?;
    {
        let mut log = log.lock().expect("log");
        log.tls_sessions += 1;
        log.alpn.push(tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec));
    }

    let mut buf = BytesMut::new();
    let packet = loop {
        if let Some(packet) = parse_startup(&mut buf).map_err(std::io::Error::other)? {
            break packet;
        }
        if tls.read_buf(&mut buf).await? == 0 {
            return Ok(());
        }
    };
    let startup = match packet {
        StartupPacket::Cancel(request) => {
            log.lock().expect("log").cancels.push(request);
            return Ok(());
        }
        StartupPacket::Startup(message) => message,
        other => return Err(std::io::Error::other(format!("unexpected {other:?}"))),
    };
    log.lock().expect("log").startups.push(startup.params().to_vec());

    let authenticated = match script.auth {
        ServerAuth::Cleartext => {
            write_message(&mut tls, b'R', &3_i32.to_be_bytes()).await?;
            match read_p(&mut tls, &mut buf, &log).await? {
                Some(body) => body == [TOKEN.as_bytes(), b"\0"].concat(),
                None => return Ok(()),
            }
        }
        ServerAuth::Md5 => {
            write_message(&mut tls, b'R', &[0, 0, 0, 5, 1, 2, 3, 4]).await?;
            let _ = tokio::time::timeout(Duration::from_millis(500), read_p(&mut tls, &mut buf, &log)).await;
            return Ok(());
        }
        ServerAuth::Scram => {
            write_message(&mut tls, b'R', b"\0\0\0\x0aSCRAM-SHA-256\0\0").await?;
            let _ = tokio::time::timeout(Duration::from_millis(500), read_p(&mut tls, &mut buf, &log)).await;
            return Ok(());
        }
        ServerAuth::OAuth { refuse } => {
            write_message(&mut tls, b'R', b"\0\0\0\x0aOAUTHBEARER\0\0").await?;
            if read_p(&mut tls, &mut buf, &log).await?.is_none() {
                return Ok(());
            }
            if refuse {
                let json = br#"{"status":"invalid_token","scope":"openid postgres"}"#;
                write_message(&mut tls, b'R', &[&11_i32.to_be_bytes()[..], json].concat()).await?;
                read_p(&mut tls, &mut buf, &log).await?;
                false
            } else {
                true
            }
        }
    };
    if !authenticated {
        let error = ErrorReport::fatal("28P01", "password authentication failed for user \"app_rw\"");
        tls.write_all(&error.to_bytes()).await?;
        tls.shutdown().await?;
        return Ok(());
    }

    let n = sessions.fetch_add(1, Ordering::SeqCst) as i32;
    let (pid, key) = (1000 + n, [0xa0, 0xb0, 0xc0, n as u8]);
    let mut welcome = BytesMut::new();
    put_message(&mut welcome, b'R', &0_i32.to_be_bytes());
    let app_name = startup.param("application_name").unwrap_or_default();
    put_message(&mut welcome, b'S', format!("application_name\0{app_name}\0").as_bytes());
    put_message(&mut welcome, b'S', b"server_version\x0015.13\0");
    if script.fail_after_ok {
        ErrorReport::fatal("3D000", "database \"nope\" does not exist").encode(&mut welcome);
    } else {
        put_message(&mut welcome, b'K', &[&pid.to_be_bytes()[..], &key].concat());
        put_message(&mut welcome, b'Z', b"I");
    }
    {
        let mut log = log.lock().expect("log");
        log.welcomes.push(welcome.to_vec());
        log.keys.push((pid, key));
    }
    tls.write_all(&welcome).await?;
    if script.fail_after_ok {
        return Ok(());
    }
    // Echo: whatever the client sends comes back.
    if !buf.is_empty() {
        tls.write_all(&buf).await?;
    }
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        let read = tls.read(&mut chunk).await?;
        if read == 0 {
            return Ok(());
        }
        tls.write_all(&chunk[..read]).await?;
    }
}

/// Reads the next `p` message, records its body, and returns it (`None` at EOF).
async fn read_p<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut BytesMut,
    log: &Mutex<ServerLog>,
) -> std::io::Result<Option<Vec<u8>>> {
    loop {
        if let Some(message) = split_backend_message(buf, 100_000).map_err(std::io::Error::other)? {
            assert_eq!(message.tag(), b'p');
            let body = message.body().to_vec();
            log.lock().expect("log").password_messages.push(body.clone());
            return Ok(Some(body));
        }
        if stream.read_buf(buf).await? == 0 {
            return Ok(None);
        }
    }
}

pub fn put_message(buf: &mut BytesMut, tag: u8, body: &[u8]) {
    buf.put_u8(tag);
    buf.put_i32(body.len() as i32 + 4);
    buf.put_slice(body);
}

/// A whole message: tag, length, body.
pub fn framed(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut buf = BytesMut::new();
    put_message(&mut buf, tag, body);
    buf.to_vec()
}

async fn write_message<S: AsyncWrite + Unpin>(stream: &mut S, tag: u8, body: &[u8]) -> std::io::Result<()> {
    let mut buf = BytesMut::new();
    put_message(&mut buf, tag, body);
    stream.write_all(&buf).await
}

// ---------------------------------------------------------------------------------------------
// Token source and observer

pub struct Tokens {
    pub result: Result<UpstreamToken, TokenError>,
    pub delay: Duration,
    pub calls: AtomicUsize,
    /// What `expiry_without_tap` answers: a renewed sign-in's expiry, or none.
    pub renewed: Mutex<Option<std::time::SystemTime>>,
    /// How often `expiry_without_tap` was asked.
    pub renewal_checks: AtomicUsize,
}

impl Tokens {
    pub fn valid() -> Tokens {
        Tokens {
            result: Ok(UpstreamToken {
                access_token: SecretString::from(TOKEN),
                identity: IDENTITY.to_owned(),
                expires_at: None,
                login_user: None,
            }),
            delay: Duration::ZERO,
            calls: AtomicUsize::new(0),
            renewed: Mutex::new(None),
            renewal_checks: AtomicUsize::new(0),
        }
    }

    /// Waits until `expiry_without_tap` has been asked `count` times.
    pub async fn wait_for_renewal_checks(&self, count: usize) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while self.renewal_checks.load(Ordering::SeqCst) < count {
            assert!(tokio::time::Instant::now() < deadline, "no renewal check within {PATIENCE:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// A valid token that expires at `expires_at`.
    pub fn expiring(expires_at: std::time::SystemTime) -> Tokens {
        let mut tokens = Tokens::valid();
        if let Ok(token) = &mut tokens.result {
            token.expires_at = Some(expires_at);
        }
        tokens
    }
}

impl TokenSource for Tokens {
    fn token(
        &self,
        database: &str,
        _client: &ClientInfo,
    ) -> BoxFuture<'static, Result<UpstreamToken, TokenError>> {
        assert_eq!(database, "prod");
        self.calls.fetch_add(1, Ordering::SeqCst);
        let (result, delay) = (self.result.clone(), self.delay);
        Box::pin(async move {
            tokio::time::sleep(delay).await;
            result
        })
    }

    fn expiry_without_tap(&self, _database: &str) -> BoxFuture<'static, Option<std::time::SystemTime>> {
        let renewed = *self.renewed.lock().expect("renewed");
        self.renewal_checks.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move { renewed })
    }
}

#[derive(Default)]
pub struct Recorder {
    next: AtomicU64,
    pub connections: Mutex<Vec<(u64, ConnectionStart, Option<ConnectionEnd>)>>,
}

impl ConnectionObserver for Recorder {
    fn opened(&self, connection: &ConnectionStart) -> u64 {
        let id = self.next.fetch_add(1, Ordering::SeqCst) + 1;
        self.connections.lock().expect("recorder").push((id, connection.clone(), None));
        id
    }

    fn closed(&self, id: u64, end: &ConnectionEnd) {
        let mut connections = self.connections.lock().expect("recorder");
        let entry = connections.iter_mut().find(|(i, _, _)| *i == id).expect("opened before closed");
        assert!(entry.2.is_none(), "closed twice");
        entry.2 = Some(end.clone());
    }
}

impl Recorder {
    /// Waits until `count` connections have closed; returns them in opening order.
    pub async fn closed(&self, count: usize) -> Vec<(ConnectionStart, ConnectionEnd)> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            {
                let connections = self.connections.lock().expect("recorder");
                let closed: Vec<_> =
                    connections.iter().filter_map(|(_, s, e)| e.clone().map(|e| (s.clone(), e))).collect();
                if closed.len() >= count {
                    return closed;
                }
            }
            assert!(tokio::time::Instant::now() < deadline, "waited too long for {count} closed connections");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub fn opened_count(&self) -> usize {
        self.connections.lock().expect("recorder").len()
    }
}

// ---------------------------------------------------------------------------------------------
// A raw client

pub struct Client<S = TcpStream> {
    pub stream: S,
    buf: BytesMut,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).await.expect("connect to the forwarder");
        Client { stream, buf: BytesMut::new() }
    }
}

impl Client<tokio::net::UnixStream> {
    /// A client of the forwarder's Unix-domain socket.
    pub async fn connect_unix(path: &std::path::Path) -> Client<tokio::net::UnixStream> {
        let stream = tokio::net::UnixStream::connect(path).await.expect("connect to the socket");
        Client { stream, buf: BytesMut::new() }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    /// SSLRequest; the forwarder must answer `N`.
    pub async fn ssl_request(&mut self) {
        self.send(&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]).await;
        let mut answer = [0u8; 1];
        tokio::time::timeout(PATIENCE, self.stream.read_exact(&mut answer))
            .await
            .expect("answer")
            .expect("read");
        assert_eq!(answer, *b"N");
    }

    pub async fn startup(&mut self, params: &[(&str, &str)]) {
        let message = tapgate_pgwire::StartupMessage::new(
            tapgate_pgwire::ProtocolVersion::V3_0,
            params.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
        )
        .expect("valid startup");
        let mut buf = BytesMut::new();
        tapgate_pgwire::frontend::startup_message(&message, &mut buf).expect("encode");
        self.send(&buf).await;
    }

    /// The next whole message, or `None` at EOF.
    pub async fn next(&mut self) -> Option<BackendMessage> {
        loop {
            if let Some(message) =
                split_backend_message(&mut self.buf, MAX_HANDSHAKE_MESSAGE_LENGTH).expect("valid")
            {
                return Some(message);
            }
            let read = tokio::time::timeout(PATIENCE, self.stream.read_buf(&mut self.buf))
                .await
                .expect("the forwarder answers in time")
                .unwrap_or(0);
            if read == 0 {
                return None;
            }
        }
    }

    /// Messages up to and including ReadyForQuery, as raw bytes.
    pub async fn until_ready(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(message) = self.next().await {
            out.extend_from_slice(message.as_bytes());
            assert_ne!(message.tag(), b'E', "unexpected error: {:?}", message.report());
            if message.tag() == b'Z' {
                return out;
            }
        }
        out
    }

    /// Reads until an ErrorResponse and returns it (notices before it are collected too).
    pub async fn error(&mut self) -> (ErrorReport, Vec<ErrorReport>) {
        let mut notices = Vec::new();
        while let Some(message) = self.next().await {
            match message.tag() {
                b'E' => return (message.report().expect("readable error"), notices),
                b'N' => notices.push(message.report().expect("readable notice")),
                _ => {}
            }
        }
        (ErrorReport::notice("no error before EOF"), notices)
    }

    /// True when the forwarder closes the connection (EOF) within the patience.
    pub async fn closed(&mut self) -> bool {
        let mut byte = [0u8; 64];
        loop {
            match tokio::time::timeout(PATIENCE, self.stream.read(&mut byte)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(_)) => continue,
                Err(_) => return false,
            }
        }
    }

    pub async fn echo(&mut self, payload: &[u8]) -> Vec<u8> {
        self.send(payload).await;
        let mut back = vec![0u8; payload.len()];
        tokio::time::timeout(PATIENCE, self.stream.read_exact(&mut back))
            .await
            .expect("echo in time")
            .expect("read");
        back
    }
}

// ---------------------------------------------------------------------------------------------
// Harness

pub struct Harness {
    pub addr: SocketAddr,
    pub upstream: Upstream,
    pub recorder: Arc<Recorder>,
    pub tokens: Arc<Tokens>,
    pub shutdown: CancellationToken,
    /// The same signal as `shutdown`, which can also close sessions at once.
    pub stop: tapgate_forward::Shutdown,
    /// The forwarder's Unix-domain socket, when the setup gave it a folder.
    pub socket: Option<PathBuf>,
    pub run: JoinHandle<Result<(), ForwardError>>,
    pub gauge: tapgate_forward::ConnectionGauge,
    _dir: tempfile::TempDir,
}

pub struct Setup {
    pub script: Script,
    pub names: Vec<&'static str>,
    pub trust_ca: bool,
    /// The server's certificate is self-signed (and is the `ca_file`).
    pub self_signed: bool,
    pub tokens: Tokens,
    pub configure: Box<dyn FnOnce(&mut ForwarderConfig)>,
}

impl Default for Setup {
    fn default() -> Setup {
        Setup {
            script: Script::default(),
            names: vec!["localhost", "127.0.0.1"],
            trust_ca: true,
            self_signed: false,
            tokens: Tokens::valid(),
            configure: Box::new(|_| {}),
        }
    }
}

pub fn base_config(port: u16, ca_file: Option<PathBuf>) -> ForwarderConfig {
    let mut config = ForwarderConfig::new("prod", "127.0.0.1", port, "app", "app_rw");
    config.roles = vec!["app_ro".into(), "app_rw".into()];
    config.ca_file = ca_file;
    config.connect_timeout = Duration::from_secs(5);
    config.shutdown_grace = Duration::from_millis(500);
    config
}

impl Harness {
    pub async fn start(setup: Setup) -> Harness {
        let pki =
            if setup.self_signed { TestPki::self_signed(&setup.names) } else { TestPki::new(&setup.names) };
        let upstream =
            Upstream::start(setup.script.clone(), pki.server_config(setup.script.direct_tls)).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, &pki.ca_pem).expect("write ca");
        let mut config = base_config(upstream.port, setup.trust_ca.then_some(ca_file));
        (setup.configure)(&mut config);
        let forwarder = Forwarder::bind(config).await.expect("bind");
        let addr = SocketAddr::from(([127, 0, 0, 1], forwarder.local_port()));
        let gauge = forwarder.connection_gauge();
        let recorder = Arc::new(Recorder::default());
        let tokens = Arc::new(setup.tokens);
        let shutdown = CancellationToken::new();
        let stop = tapgate_forward::Shutdown::from(shutdown.clone());
        let socket = forwarder.socket_path().map(PathBuf::from);
        let run = tokio::spawn(forwarder.run(tokens.clone(), recorder.clone(), stop.clone()));
        Harness { addr, upstream, recorder, tokens, shutdown, stop, socket, run, gauge, _dir: dir }
    }

    pub async fn client(&self) -> Client {
        Client::connect(self.addr).await
    }

    /// A client that went through SSLRequest and a psql-like startup, logged in.
    pub async fn logged_in(&self, user: &str) -> (Client, Vec<u8>) {
        let mut client = self.client().await;
        client.ssl_request().await;
        client.startup(&[("user", user), ("database", "app"), ("application_name", "psql")]).await;
        let welcome = client.until_ready().await;
        (client, welcome)
    }
}
