//! PostgreSQL 18 native OAuth against a real server (the npm build), the dev IdP and a software
//! key: the forwarder presents the token over SASL OAUTHBEARER (RFC 7628) and Tapgate's validator
//! module decides inside the server. Crafted tokens go over a raw TLS socket (psql 15 cannot do
//! OAUTHBEARER itself).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tapgate_e2e::pg::psql_via_forwarder as psql;
use tapgate_e2e::pg18::{Pg18Options, Pg18Server};
use tapgate_e2e::{
    Background, DEV_IDP_POLICY, DevIdp, DevIdpOptions, Person, Run, TestClock, age_jwks_cache, jwt_claims,
    jwt_kid,
};

/// A PostgreSQL 18 server with the validator, the dev IdP, and a person allowed in (or not).
struct Site {
    pg: Pg18Server,
    person: Person,
    idp: DevIdp,
}

struct SiteOptions {
    groups: &'static str,
    idp: DevIdpOptions,
    leeway_seconds: u64,
}

impl Default for SiteOptions {
    fn default() -> Self {
        SiteOptions { groups: "dba,dev", idp: DevIdpOptions::default(), leeway_seconds: 30 }
    }
}

impl Site {
    fn new(options: SiteOptions) -> Site {
        let idp = DevIdp::start(options.idp.clone());
        let pg = Pg18Server::start(Pg18Options {
            issuer: idp.issuer.clone(),
            verify_toml: format!(
                "issuer = \"{}\"\naudience = \"postgres\"\nca_file = \"{{dir}}/idp-ca.pem\"\n\
                 leeway_seconds = {}\n{DEV_IDP_POLICY}[roles]\napp_rw = [\"dba\"]\napp_ro = [\"dba\", \"analysts\"]\n",
                idp.issuer, options.leeway_seconds
            ),
            roles: vec!["app_rw".into(), "app_ro".into()],
            settings: Vec::new(),
        });
        pg.add_file("idp-ca.pem", &idp.ca());

        let person = Person::new();
        idp.enroll("alice@example.com", options.groups, &person.key);
        person.configure(&idp, "alice@example.com", "");
        person.append_config(&format!(
            "[db.prod]\nidp = \"{}\"\nhost = \"127.0.0.1\"\nport = {}\ndbname = \"postgres\"\nrole = \"app_rw\"\n\
             roles = [\"app_ro\", \"app_rw\"]\nauth = \"oauthbearer\"\nca_file = \"{}\"\n",
            person.idp_name,
            pg.port(),
            pg.ca().display()
        ));
        Site { pg, person, idp }
    }

    /// `tapgate connect prod`, waiting until it listens; returns it and the port.
    fn connect(&self) -> (Background, u16) {
        self.person.connect("prod")
    }

    /// A fresh token of the person (signing in with the soft key when needed).
    fn token(&self) -> String {
        self.person.tapgate(&["login"]).expect_ok();
        self.person.token()
    }

    /// A raw OAUTHBEARER login as `role` with `token`, straight to the server.
    fn raw_login(&self, role: &str, token: &[u8]) -> RawLogin {
        raw_oauth_login(self.pg.port(), self.pg.ca(), role, token)
    }

    #[track_caller]
    fn assert_raw_refused(&self, what: &str, token: &[u8]) -> RawLogin {
        let started = Instant::now();
        let login = self.raw_login("app_rw", token);
        assert!(!login.logged_in, "{what}: logged in!\n{}", self.pg.log());
        assert!(started.elapsed() < Duration::from_secs(15), "{what}: took {:?}", started.elapsed());
        assert!(!login.error.is_empty(), "{what}: {login:?}");
        login
    }

    #[track_caller]
    fn assert_no_backend_crash(&self) {
        let log = self.pg.log();
        assert!(!log.contains("terminated by signal"), "a backend crashed:\n{log}");
        assert!(!log.contains("panicked"), "the module panicked:\n{log}");
    }
}

#[test]
fn psql_through_the_forwarder_logs_in_with_system_user_oauth_identity_and_the_role() {
    let site = Site::new(SiteOptions::default());
    let (connect, port) = site.connect();

    let run = psql(port, "app_rw", &["-tA", "-c", "select system_user, current_user"]);
    assert!(run.ok(), "{run:?}\nforwarder: {}\nserver log:\n{}", connect.stderr(), site.pg.log());
    assert_eq!(run.stdout.trim(), "oauth:alice@example.com|app_rw");

    let ro = psql(port, "app_ro", &["-tA", "-c", "select system_user, current_user"]);
    assert_eq!(ro.stdout.trim(), "oauth:alice@example.com|app_ro", "{ro:?}");

    // The module found its configuration in the data directory (its working directory), and
    // reported each decision in the server log, never the token.
    let decisions = site.pg.decisions();
    assert!(
        decisions.iter().any(|l| l.contains("LOG: allowed alice@example.com as app_rw: group dba")),
        "{decisions:?}"
    );
    assert!(decisions.iter().any(|l| l.contains("allowed alice@example.com as app_ro")), "{decisions:?}");
    let token = site.person.token();
    assert!(!site.pg.log().contains(&token), "the token is in the server log");
    assert!(site.pg.log().contains("connection authenticated: identity=\"alice@example.com\" method=oauth"));
    site.assert_no_backend_crash();
    drop(connect);
}

#[test]
fn a_person_whose_groups_do_not_map_is_refused_with_the_servers_status() {
    let site = Site::new(SiteOptions { groups: "dev", ..Default::default() });
    let (connect, port) = site.connect();

    let started = Instant::now();
    let run = psql(port, "app_rw", &["-c", "select 1"]);
    assert!(!run.ok());
    assert!(started.elapsed() < Duration::from_secs(20), "no hang");
    // The server's FATAL, and the forwarder's notice with RFC 7628's status and scope.
    assert!(
        run.stderr.contains("OAuth bearer authentication failed for user \"app_rw\""),
        "{}\nforwarder: {}",
        run.stderr,
        connect.stderr()
    );
    assert!(run.stderr.contains("invalid_token"), "{}", run.stderr);
    assert!(run.stderr.contains("openid"), "{}", run.stderr);
    let decisions = site.pg.decisions().join("\n");
    assert!(
        decisions.contains("denied alice@example.com as app_rw: groups [dev] are not allowed for app_rw"),
        "{decisions}"
    );
    site.assert_no_backend_crash();
}

#[test]
fn expired_tokens_and_tokens_for_another_audience_are_refused() {
    let clock = TestClock::new();
    let mut site = Site::new(SiteOptions {
        idp: DevIdpOptions { token_ttl: Some("60s"), clock_file: Some(clock.file()), ..Default::default() },
        leeway_seconds: 0,
        ..Default::default()
    });
    site.person.use_clock(&clock);
    let token = site.token();
    assert!(site.raw_login("app_rw", token.as_bytes()).logged_in, "{}", site.pg.log());

    // The IdP and the client, 2 minutes behind the server, sign in again: the new 1-minute
    // token looks fresh to them and ran out a minute ago on the server's clock.
    clock.advance(-120);
    site.person.tapgate(&["login", "--force"]).expect_ok();
    let token = site.token();
    let expired = site.assert_raw_refused("expired", token.as_bytes());
    assert!(expired.server_json.contains("invalid_token"), "{expired:?}");
    assert!(site.pg.decisions().join("\n").contains("token expired at"), "{:?}", site.pg.decisions());

    // The same person, back on the server's time, asking the IdP for another audience.
    clock.advance(120);
    let config = std::fs::read_to_string(&site.person.config).unwrap();
    site.person.write_config(&config.replacen("audience = \"postgres\"", "audience = \"billing\"", 1));
    site.person.tapgate(&["login", "--force"]).expect_ok();
    let billing = site.person.token();
    assert_eq!(jwt_claims(&billing)["aud"], "billing", "{}", jwt_claims(&billing));
    site.assert_raw_refused("other audience", billing.as_bytes());
    let decisions = site.pg.decisions().join("\n");
    assert!(decisions.contains("does not include the configured audience postgres"), "{decisions}");
    site.assert_no_backend_crash();
}

#[test]
fn after_the_idp_rotates_its_key_new_tokens_verify_without_a_server_restart() {
    let site = Site::new(SiteOptions::default());
    let before = site.token();
    assert!(site.raw_login("app_rw", before.as_bytes()).logged_in, "{}", site.pg.log());
    let postmaster = site.pg.postmaster_pid();

    site.idp.rotate_key();
    site.person.tapgate(&["login", "--force"]).expect_ok();
    let after = site.person.token();
    assert_ne!(jwt_kid(&after), jwt_kid(&before));

    // The module refetches the JWKS on an unknown kid, but at most once per 30 s: right after the
    // first login's fetch the new key is not known yet.
    site.assert_raw_refused("new kid within the refetch interval", after.as_bytes());
    let decisions = site.pg.decisions().join("\n");
    assert!(decisions.contains("limited to one per 30 s"), "{decisions}");
    // Once the interval has passed (the cache is made 31 s older), the unknown kid triggers the
    // refetch and the new key verifies.
    age_jwks_cache(&site.pg.module_dir().join("jwks.json"), 31);
    assert!(site.raw_login("app_rw", after.as_bytes()).logged_in, "{:?}", site.pg.decisions());
    assert_eq!(site.pg.postmaster_pid(), postmaster, "the server was not restarted");
    // Tokens signed by the old key still verify while the IdP publishes it.
    assert!(site.raw_login("app_rw", before.as_bytes()).logged_in);
    site.assert_no_backend_crash();
}

#[test]
fn garbage_tokens_are_clean_refusals_and_the_server_keeps_serving() {
    let site = Site::new(SiteOptions::default());
    let good = site.token();
    assert!(site.raw_login("app_rw", good.as_bytes()).logged_in, "{}", site.pg.log());

    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let mut random = vec![0u8; 512];
    std::fs::File::open("/dev/urandom").unwrap().read_exact(&mut random).unwrap();
    let parts: Vec<&str> = good.split('.').collect();
    let mut header = jwt_part(&good, 0);
    header["kid"] = "no-such-key".into();
    let wrong_kid = format!("{}.{}.{}", b64(header.to_string().as_bytes()), parts[1], parts[2]);
    let none_header = b64(br#"{"alg":"none","typ":"JWT","kid":"x"}"#);
    let none = format!("{none_header}.{}.", parts[1]);
    let none_signed = format!("{none_header}.{}.{}", parts[1], parts[2]);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("random bytes", random.clone()),
        ("random base64url", b64(&random).into_bytes()),
        (
            "three random parts",
            format!("{}.{}.{}", b64(&random[..32]), b64(&random[32..64]), b64(&random[64..])).into_bytes(),
        ),
        ("60 KiB token", format!("{}.{}.{}", parts[0], "A".repeat(60 * 1024), parts[2]).into_bytes()),
        ("64 KiB token", "A".repeat(64 * 1024).into_bytes()),
        ("alg none", none.into_bytes()),
        ("alg none with a signature", none_signed.into_bytes()),
        ("wrong kid", wrong_kid.into_bytes()),
        (
            "signature of another token",
            format!("{}.{}.{}", parts[0], parts[1], b64(&random[..64])).into_bytes(),
        ),
    ];
    for (what, token) in &cases {
        site.assert_raw_refused(what, token);
        // The next real login still works.
        let next = site.raw_login("app_rw", good.as_bytes());
        assert!(next.logged_in, "after {what}: {next:?}\n{}", site.pg.log());
    }
    let decisions = site.pg.decisions().join("\n");
    assert!(decisions.contains("signing key no-such-key is not in the IdP's JWKS"), "{decisions}");
    assert!(decisions.contains("token algorithm none is not allowed"), "{decisions}");
    assert!(!site.pg.log().contains("internal error in OAuth validator module"), "{}", site.pg.log());
    assert!(!site.pg.log().contains(&good), "the token is in the server log");
    site.assert_no_backend_crash();
}

#[test]
fn fifty_concurrent_logins_through_the_forwarder_succeed() {
    let site = Site::new(SiteOptions::default());
    let (connect, port) = site.connect();
    // One login first: it signs in and warms the JWKS cache.
    let first = psql(port, "app_rw", &["-tA", "-c", "select 1"]);
    assert!(first.ok(), "{first:?}\n{}", connect.stderr());

    let runs: Vec<Run> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..50)
            .map(|_| scope.spawn(|| psql(port, "app_rw", &["-tA", "-c", "select system_user"])))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let failed: Vec<&Run> = runs.iter().filter(|r| !r.ok()).collect();
    assert!(
        failed.is_empty(),
        "{} of 50 failed, e.g. {:?}\nforwarder: {}",
        failed.len(),
        failed[0],
        connect.stderr()
    );
    assert!(runs.iter().all(|r| r.stdout.trim() == "oauth:alice@example.com"));
    site.assert_no_backend_crash();
}

/// The Site's verifier configuration with `policy` instead of [`DEV_IDP_POLICY`] and `extra`
/// top-level keys.
fn site_verify_toml(site: &Site, policy: &str, extra: &str) -> String {
    format!(
        "issuer = \"{}\"\naudience = \"postgres\"\nca_file = \"{{dir}}/idp-ca.pem\"\n{policy}{extra}\
         [roles]\napp_rw = [\"dba\"]\napp_ro = [\"dba\", \"analysts\"]\n",
        site.idp.issuer
    )
}

/// Accepts every connection on `port` (IPv4 and, where it can, IPv6 loopback) and never sends a
/// byte: an IdP whose TLS handshake hangs. Runs until the test process ends.
fn hang_port(port: u16) {
    for addr in ["127.0.0.1", "::1"] {
        let Ok(listener) = std::net::TcpListener::bind((addr, port)) else { continue };
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming().flatten() {
                held.push(stream);
            }
        });
    }
}

/// Holds `path`'s flock from this process, as a stuck or hostile process would.
fn hold_lock(path: &std::path::Path) -> std::fs::File {
    let file = std::fs::OpenOptions::new().read(true).open(path).unwrap();
    file.try_lock().unwrap();
    file
}

#[test]
fn a_hung_jwks_endpoint_and_a_held_lock_do_not_block_valid_logins() {
    const FETCH_TIMEOUT_SECS: u64 = 3;
    let mut site = Site::new(SiteOptions::default());
    site.pg.write_verify_config(&site_verify_toml(
        &site,
        DEV_IDP_POLICY,
        &format!("fetch_timeout = \"{FETCH_TIMEOUT_SECS}s\"\n"),
    ));
    let token = site.token();
    let timed = |site: &Site, what: &str| {
        let started = Instant::now();
        let login = site.raw_login("app_rw", token.as_bytes());
        let took = started.elapsed();
        eprintln!("measured: {what}: {} ms", took.as_millis());
        assert!(login.logged_in, "{what}: {login:?}\n{:?}", site.pg.decisions());
        took
    };
    timed(&site, "first login (fetches the JWKS)");
    let cache = site.pg.module_dir().join("jwks.json");
    let lock = site.pg.module_dir().join("jwks.json.lock");
    use std::os::unix::fs::PermissionsExt;
    for file in [&cache, &lock] {
        let mode = std::fs::metadata(file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", file.display());
    }

    // The IdP's port now accepts connections and never answers; the cached keys are two hours
    // old, so the next login must try to refresh them.
    let port = site.idp.port();
    site.idp.stop();
    hang_port(port);
    age_jwks_cache(&cache, 7200);
    let deadline = Duration::from_secs(FETCH_TIMEOUT_SECS);
    let hung = timed(&site, "hung JWKS endpoint, stale cache (one fetch attempt)");
    assert!(hung < deadline + Duration::from_secs(2), "took {hung:?}");
    let decisions = site.pg.decisions().join("\n");
    assert!(
        decisions.contains("refreshing the JWKS failed") && decisions.contains("fetch_timeout deadline"),
        "{decisions}"
    );
    // The failed attempt is remembered: the next logins do not try again for 30 s.
    let after = timed(&site, "hung JWKS endpoint, right after the failed attempt");
    assert!(after < Duration::from_secs(1), "took {after:?}");

    // Another process holds the lock file; a refresh is due again. A login that has a usable
    // cached key does not wait for the holder.
    age_jwks_cache(&cache, 7200);
    let held = hold_lock(&lock);
    let locked = timed(&site, "held lock file + hung JWKS endpoint, stale cache");
    assert!(locked < Duration::from_secs(1), "took {locked:?}");
    assert!(site.pg.decisions().join("\n").contains("another process holds"), "{:?}", site.pg.decisions());

    // A token whose key is not cached cannot be helped: it is refused at the deadline, with the
    // lock named, instead of hanging the backend.
    let parts: Vec<&str> = token.split('.').collect();
    let mut header = jwt_part(&token, 0);
    header["kid"] = "rotated-away".into();
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let unknown = format!("{}.{}.{}", b64(header.to_string().as_bytes()), parts[1], parts[2]);
    let started = Instant::now();
    site.assert_raw_refused("unknown kid with the lock held", unknown.as_bytes());
    let refused = started.elapsed();
    eprintln!("measured: held lock, unknown kid (refused): {} ms", refused.as_millis());
    assert!(refused < deadline + Duration::from_secs(2), "took {refused:?}");
    let decisions = site.pg.decisions().join("\n");
    assert!(
        decisions.contains("another process held") && decisions.contains("jwks.json.lock"),
        "{decisions}"
    );
    drop(held);

    // Every decision has its JSON line with the backend's pid.
    let json_lines: Vec<serde_json::Value> = site
        .pg
        .log()
        .lines()
        .filter(|l| l.starts_with("{\"") && l.contains("tapgate-pg-validator"))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(json_lines.len() >= 5, "{json_lines:?}");
    let allowed = json_lines.iter().find(|j| j["decision"] == "allowed").unwrap();
    assert!(allowed["backend_pid"].as_u64().unwrap() > 0);
    assert_eq!(allowed["amr"], serde_json::json!(["swk"]));
    assert_eq!(allowed["client_id"], "tapgate");
    assert_eq!(allowed["jti"], jwt_claims(&token)["jti"]);
    site.assert_no_backend_crash();
}

#[test]
fn a_token_from_another_sign_in_method_or_client_is_refused_by_the_server() {
    let site = Site::new(SiteOptions::default());
    let token = site.token();
    let claims = jwt_claims(&token);
    assert_eq!(claims["amr"], serde_json::json!(["swk"]), "{claims}");
    assert_eq!(claims["azp"], "tapgate", "{claims}");
    assert_eq!(jwt_part(&token, 0)["typ"], "at+jwt");
    assert!(site.raw_login("app_rw", token.as_bytes()).logged_in, "{:?}", site.pg.decisions());

    // A server that demands a hardware key: the software key's token is refused.
    site.pg.write_verify_config(&site_verify_toml(
        &site,
        "require_amr = [\"hwk\"]\nallowed_clients = [\"tapgate\"]\n",
        "",
    ));
    site.assert_raw_refused("software key where hwk is required", token.as_bytes());
    let decisions = site.pg.decisions().join("\n");
    assert!(
        decisions.contains(
            "denied alice@example.com as app_rw: the token's amr [swk] has none of the required sign-in methods [hwk]"
        ),
        "{decisions}"
    );

    // A server that only accepts another client's tokens.
    site.pg.write_verify_config(&site_verify_toml(
        &site,
        "require_amr = [\"swk\"]\nallowed_clients = [\"tapgate-prod\"]\n",
        "",
    ));
    site.assert_raw_refused("token for another client", token.as_bytes());
    let decisions = site.pg.decisions().join("\n");
    assert!(
        decisions
            .contains("the token was issued to client tapgate, not one of allowed_clients [tapgate-prod]"),
        "{decisions}"
    );

    // A legacy configuration (no policy keys) still lets the token in, and says what it skips.
    site.pg.write_verify_config(&site_verify_toml(&site, "", ""));
    assert!(site.raw_login("app_rw", token.as_bytes()).logged_in, "{:?}", site.pg.decisions());
    let last = site.pg.decisions().last().cloned().unwrap_or_default();
    assert!(last.contains("warning: legacy configuration") && last.contains("amr"), "{last}");
    site.assert_no_backend_crash();
}

#[test]
fn a_planted_data_directory_configuration_others_can_read_is_refused() {
    let site = Site::new(SiteOptions::default());
    let token = site.token();
    assert!(site.raw_login("app_rw", token.as_bytes()).logged_in, "{:?}", site.pg.decisions());
    use std::os::unix::fs::PermissionsExt;
    let planted = site.pg.data_dir().join(tapgate_e2e::pg18::VERIFY_CONFIG_FILE);
    std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o644)).unwrap();
    let login = site.raw_login("app_rw", token.as_bytes());
    assert!(!login.logged_in, "{login:?}");
    let log = site.pg.log();
    assert!(
        log.contains("configuration not trusted")
            && log.contains("mode 0644")
            && log.contains("tapgate-verify.toml"),
        "{log}"
    );
    site.assert_no_backend_crash();
}

fn jwt_part(jwt: &str, index: usize) -> serde_json::Value {
    let part = jwt.split('.').nth(index).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// What a raw OAUTHBEARER login saw.
#[derive(Debug, Default)]
struct RawLogin {
    logged_in: bool,
    /// The RFC 7628 error JSON of a failed exchange.
    server_json: String,
    /// The ErrorResponse fields (`S`everity, `C`ode, `M`essage) joined, or an I/O error.
    error: String,
}

/// SSLRequest, TLS (verify against `ca` for `localhost`), StartupMessage, then SASL OAUTHBEARER
/// with `n,,\x01auth=Bearer <token>\x01\x01` (RFC 7628 §3.1); on the error JSON, the `\x01` ack.
fn raw_oauth_login(port: u16, ca: &std::path::Path, role: &str, token: &[u8]) -> RawLogin {
    let mut outcome = RawLogin::default();
    if let Err(e) = raw_exchange(port, ca, role, token, &mut outcome) {
        outcome.error.push_str(&format!("I/O: {e}"));
    }
    outcome
}

fn raw_exchange(
    port: u16,
    ca: &std::path::Path,
    role: &str,
    token: &[u8],
    outcome: &mut RawLogin,
) -> std::io::Result<()> {
    let mut tcp = TcpStream::connect(("127.0.0.1", port))?;
    tcp.set_read_timeout(Some(Duration::from_secs(20)))?;
    tcp.write_all(&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])?; // SSLRequest 80877103
    let mut answer = [0u8; 1];
    tcp.read_exact(&mut answer)?;
    assert_eq!(&answer, b"S", "the server has TLS on");

    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_file(ca).unwrap()).unwrap();
    let config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    let conn =
        rustls::ClientConnection::new(Arc::new(config), ServerName::try_from("localhost").unwrap()).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);

    let mut body = Vec::new();
    body.extend_from_slice(&196608u32.to_be_bytes());
    for (k, v) in [("user", role), ("database", "postgres")] {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut startup = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    startup.extend_from_slice(&body);
    tls.write_all(&startup)?;

    loop {
        let (tag, payload) = read_message(&mut tls)?;
        match tag {
            b'R' => {
                let code = u32::from_be_bytes(payload[..4].try_into().unwrap());
                match code {
                    0 => {}
                    10 => {
                        let mechanisms = String::from_utf8_lossy(&payload[4..]).to_string();
                        assert!(mechanisms.contains("OAUTHBEARER"), "offered: {mechanisms:?}");
                        let mut data = b"n,,\x01auth=Bearer ".to_vec();
                        data.extend_from_slice(token);
                        data.extend_from_slice(b"\x01\x01");
                        let mut msg = b"OAUTHBEARER\0".to_vec();
                        msg.extend_from_slice(&(data.len() as u32).to_be_bytes());
                        msg.extend_from_slice(&data);
                        write_message(&mut tls, b'p', &msg)?;
                    }
                    11 => {
                        outcome.server_json = String::from_utf8_lossy(&payload[4..]).to_string();
                        write_message(&mut tls, b'p', b"\x01")?;
                    }
                    other => panic!("unexpected authentication request {other}"),
                }
            }
            b'Z' => {
                outcome.logged_in = true;
                write_message(&mut tls, b'X', b"")?;
                return Ok(());
            }
            b'E' => {
                let fields: Vec<String> = payload
                    .split(|b| *b == 0)
                    .filter(|f| !f.is_empty() && matches!(f[0], b'S' | b'C' | b'M'))
                    .map(|f| String::from_utf8_lossy(f).to_string())
                    .collect();
                outcome.error = fields.join(" ");
                return Ok(());
            }
            _ => {}
        }
    }
}

fn read_message(stream: &mut impl Read) -> std::io::Result<(u8, Vec<u8>)> {
    let mut head = [0u8; 5];
    stream.read_exact(&mut head)?;
    let len = u32::from_be_bytes(head[1..].try_into().unwrap()) as usize;
    let mut payload = vec![0u8; len.saturating_sub(4)];
    stream.read_exact(&mut payload)?;
    Ok((head[0], payload))
}

fn write_message(stream: &mut impl Write, tag: u8, payload: &[u8]) -> std::io::Result<()> {
    let mut msg = vec![tag];
    msg.extend_from_slice(&((payload.len() + 4) as u32).to_be_bytes());
    msg.extend_from_slice(payload);
    stream.write_all(&msg)?;
    stream.flush()
}
