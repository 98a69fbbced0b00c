//! The loopback forwarder against a real PostgreSQL 15 whose logins go through PAM and
//! `tapgate-pam-verify`, with the dev IdP and a software key: what a person with psql sees.

use std::io::Write;
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tapgate_e2e::pg::{ServerTls, psql_client, psql_via_forwarder as psql};
use tapgate_e2e::{Background, DevIdpOptions, Run, TestClock, files_containing};

use crate::site::{Site, SiteOptions};

#[test]
fn psql_logs_in_through_the_forwarder_as_the_role_with_the_identity_in_application_name() {
    let site = Site::new(SiteOptions::default());
    let (connect, port) = site.connect();

    let run = psql(
        port,
        "app_rw",
        &[
            "-tA",
            "-c",
            "select current_user, application_name from pg_stat_activity where pid = pg_backend_pid()",
        ],
    );
    assert!(run.ok(), "{run:?}\ndecisions: {}\n{}", site.pam.decisions(), connect.stderr());
    let row = run.stdout.trim();
    assert!(row.starts_with("app_rw|"), "{row}");
    assert!(row.contains("psql via tapgate (alice@example.com)"), "{row}");

    // A client may pick another allowed role by its user name.
    let ro = psql(port, "app_ro", &["-tA", "-c", "select current_user"]);
    assert_eq!(ro.stdout.trim(), "app_ro", "{ro:?}");

    // The history has the connection, with identity and outcome.
    let history = site.person.tapgate(&["history", "--db", "prod", "--json"]);
    history.expect_ok();
    let rows = history.json();
    let rows = rows.as_array().unwrap();
    assert!(rows.len() >= 2, "{rows:?}");
    let first = rows.last().unwrap();
    assert_eq!(first["outcome"], "ok");
    assert_eq!(first["role"], "app_rw");
    assert_eq!(first["identity"], "alice@example.com");
    assert_eq!(first["application"], "psql");
    assert!(first["bytes_down"].as_u64().unwrap() > 0);

    // The sign-in of `tapgate connect` is in the history too.
    let sign_ins = site.person.tapgate(&["history", "--sign-ins", "--json"]).json();
    assert_eq!(sign_ins[0]["method"], "tap", "{sign_ins}");
    assert_eq!(sign_ins[0]["identity"], "alice@example.com", "{sign_ins}");

    // `tapgate status` in another terminal sees the running forwarder.
    let status = site.person.tapgate(&["status", "--json"]).json();
    let forwarders = &status["processes"][0]["forwarders"][0];
    assert_eq!(forwarders["database"], "prod");
    assert_eq!(forwarders["local_port"], port);
    drop(connect);
}

#[test]
fn a_person_whose_groups_do_not_map_to_the_role_is_refused_with_the_reason() {
    let site = Site::new(SiteOptions { groups: "dev", ..Default::default() });
    let (_connect, port) = site.connect();

    let started = Instant::now();
    let run = psql(port, "app_rw", &["-c", "select 1"]);
    assert!(!run.ok());
    assert!(started.elapsed() < Duration::from_secs(20), "no hang");
    assert!(run.stderr.contains("PAM authentication failed for user \"app_rw\""), "{}", run.stderr);
    assert!(site.pam.decisions().contains("denied alice@example.com as app_rw"), "{}", site.pam.decisions());

    let rows = site.person.tapgate(&["history", "--json"]).json();
    assert_eq!(rows[0]["outcome"], "refused", "{rows}");
}

#[test]
fn a_role_outside_roles_gets_the_list_of_allowed_roles() {
    let site = Site::new(SiteOptions::default());
    let (_connect, port) = site.connect();
    let run = psql(port, "postgres", &["-c", "select 1"]);
    assert!(!run.ok());
    assert!(run.stderr.contains("app_rw") && run.stderr.contains("app_ro"), "{}", run.stderr);
    assert!(site.pam.decisions().is_empty(), "no token was sent: {}", site.pam.decisions());
}

#[test]
fn an_open_session_survives_token_expiry_and_the_next_connection_gets_a_fresh_token() {
    // Only the forwarder's clock moves: the IdP and the server stay on real time, so the token
    // the IdP renews is valid for the server too.
    let clock = TestClock::new();
    let mut site = Site::new(SiteOptions::default());
    site.person.use_clock(&clock);
    let (connect, port) = site.connect();
    // One session that outlives its token: logged in before the token expires...
    let mut long = Command::new("/usr/bin/psql")
        .args(["-X", "-w", "-tA", "-d"])
        .arg(format!("host=127.0.0.1 port={port} dbname=postgres user=app_rw sslmode=disable"))
        .env_remove("PGPASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut to_long = long.stdin.take().unwrap();
    writeln!(to_long, "select 'logged in';").unwrap();
    site.pg.wait_for_queries("select 'logged in'", 1);
    let first = site.person.token();

    // ...which then expires (on the forwarder's clock). A new connection gets in
    // on a renewed token, and the open session carries on.
    clock.advance(16 * 60);
    let next = psql(port, "app_rw", &["-tA", "-c", "select current_user"]);
    assert_eq!(next.stdout.trim(), "app_rw", "{next:?}\n{}", connect.stderr());
    assert!(connect.stderr().contains("Renewed the"), "{}", connect.stderr());
    assert_ne!(site.person.token(), first, "the next connection used a fresh token");
    writeln!(to_long, "select 'still here';").unwrap();
    drop(to_long);
    let long = long.wait_with_output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&long.stdout), String::from_utf8_lossy(&long.stderr));
    assert!(long.status.success() && stdout.contains("still here"), "{stdout}\n{stderr}");
}

#[test]
fn ctrl_c_in_psql_cancels_its_query_within_a_second_and_no_other_session() {
    let site = Site::new(SiteOptions::default());
    let (_connect, port) = site.connect();
    let conninfo = format!("host=127.0.0.1 port={port} dbname=postgres user=app_rw sslmode=disable");
    let spawn = |sql: &str| {
        Command::new("/usr/bin/psql")
            .args(["-X", "-w", "-d", &conninfo, "-c", sql])
            .env_remove("PGPASSWORD")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let victim = spawn("select pg_sleep(30)");
    let bystander = spawn("select pg_sleep(2), 'bystander done'");
    site.pg.wait_for_queries("select pg_sleep(", 2);

    let sent = Instant::now();
    tapgate_e2e::signal(victim.id(), "INT");
    let out = victim.wait_with_output().unwrap();
    let took = sent.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("canceling statement due to user request"), "{stderr}");
    assert!(took < Duration::from_secs(1), "cancelled in {took:?}");

    let other = bystander.wait_with_output().unwrap();
    assert!(other.status.success(), "{}", String::from_utf8_lossy(&other.stderr));
    assert!(String::from_utf8_lossy(&other.stdout).contains("bystander done"));
}

/// The server is unusable for a token: psql gets `expected`, and the verifier never saw a token.
fn assert_refused_without_sending_the_token(site: &Site, port: u16, expected: &[&str]) {
    let run = psql(port, "app_rw", &["-c", "select 1"]);
    assert!(!run.ok(), "{run:?}");
    for text in expected {
        assert!(run.stderr.contains(text), "expected {text:?} in: {}", run.stderr);
    }
    assert!(site.pam.decisions().is_empty(), "the token reached the server: {}", site.pam.decisions());
    assert!(!site.pg.log().contains("authentication"), "{}", site.pg.log());
}

#[test]
fn an_untrusted_server_certificate_is_refused_before_the_token_is_sent() {
    let site = Site::new(SiteOptions { no_ca_file: true, ..Default::default() });
    let (_connect, port) = site.connect();
    assert_refused_without_sending_the_token(&site, port, &["certificate", "ca_file"]);
}

#[test]
fn a_hostname_mismatch_is_refused_before_the_token_is_sent() {
    let site = Site::new(SiteOptions {
        tls: ServerTls::ForNames(vec!["db.example.com".into()]),
        ..Default::default()
    });
    let (_connect, port) = site.connect();
    assert_refused_without_sending_the_token(&site, port, &["127.0.0.1", "db.example.com"]);
}

/// A server with a self-signed certificate (`openssl req -x509`), given as `ca_file` as one
/// would give it to libpq as `sslrootcert`: verify-full works, as with libpq.
#[test]
fn a_self_signed_server_certificate_given_as_ca_file_works_under_verify_full() {
    let site = Site::new(SiteOptions { tls: ServerTls::SelfSigned, ..Default::default() });
    let (connect, port) = site.connect();
    let run = psql(port, "app_rw", &["-tA", "-c", "select current_user"]);
    assert_eq!(run.stdout.trim(), "app_rw", "{run:?}\n{}", connect.stderr());
    // libpq takes the same file the same way (it gets as far as asking for a password).
    let libpq = tapgate_e2e::pg::psql_client(
        &format!(
            "host=127.0.0.1 port={} dbname=postgres user=app_rw sslmode=verify-full sslrootcert={}",
            site.pg.port(),
            site.pg.ca().display()
        ),
        None,
        &["-c", "select 1"],
    );
    assert!(libpq.stderr.contains("password") && !libpq.stderr.contains("certificate"), "{libpq:?}");
}

/// `ca_file` replaces the system's roots, as libpq's `sslrootcert` does; `ca_file_add = true`
/// keeps them. The "system" roots here are the server's CA in `SSL_CERT_FILE`, which Tapgate
/// reads as the system store.
#[test]
fn ca_file_replaces_the_system_roots_unless_ca_file_add() {
    let mut site = Site::new(SiteOptions { no_ca_file: true, ..Default::default() });
    site.person.set_env("SSL_CERT_FILE", &site.pg.ca().display().to_string());
    let (system, system_port) = site.connect();
    let run = psql(system_port, "app_rw", &["-tA", "-c", "select 'system roots'"]);
    assert_eq!(run.stdout.trim(), "system roots", "{run:?}\n{}", system.stderr());
    drop(system);

    // Another CA as ca_file (the IdP's): the system roots are no longer trusted for this server.
    let other_ca = site.idp.ca();
    let table = |name: &str, extra: &str| {
        format!(
            "[db.{name}]\nidp = \"{}\"\nhost = \"127.0.0.1\"\nport = {}\ndbname = \"postgres\"\nrole = \"app_rw\"\n\
             auth = \"password\"\nca_file = \"{}\"\n{extra}\n",
            site.person.idp_name,
            site.pg.port(),
            other_ca.display()
        )
    };
    site.person.append_config(&table("replaced", ""));
    site.person.append_config(&table("added", "ca_file_add = true"));
    let (_replaced, replaced_port) = site.person.connect("replaced");
    let refused = psql(replaced_port, "app_rw", &["-c", "select 1"]);
    assert!(refused.stderr.contains("not signed by a CA Tapgate trusts"), "{refused:?}");
    let (_added, added_port) = site.person.connect("added");
    let run = psql(added_port, "app_rw", &["-tA", "-c", "select 'both'"]);
    assert_eq!(run.stdout.trim(), "both", "{run:?}");
}

#[test]
fn a_server_without_tls_never_gets_the_token() {
    let site = Site::new(SiteOptions { tls: ServerTls::Off, ..Default::default() });
    let (_connect, port) = site.connect();
    assert_refused_without_sending_the_token(&site, port, &["TLS"]);
}

#[test]
fn an_upstream_that_is_down_is_a_clear_error() {
    let site = Site::new(SiteOptions::default());
    // Point the database at a port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = std::fs::read_to_string(&site.person.config).unwrap();
    site.person
        .write_config(&config.replace(&format!("port = {}", site.pg.port()), &format!("port = {closed}")));
    let (_connect, port) = site.connect();
    let run = psql(port, "app_rw", &["-c", "select 1"]);
    assert!(!run.ok());
    assert!(run.stderr.contains(&format!("127.0.0.1:{closed}")), "{}", run.stderr);
    let rows = site.person.tapgate(&["history", "--json"]).json();
    assert_eq!(rows[0]["outcome"], "upstream unreachable", "{rows}");
}

#[test]
fn malformed_startup_packets_get_an_error_and_the_listener_keeps_serving() {
    use std::io::Read;
    let site = Site::new(SiteOptions::default());
    let (_connect, port) = site.connect();
    let packets: [&[u8]; 4] = [
        b"GET / HTTP/1.1\r\n\r\n",                          // not PostgreSQL at all
        &[0, 0, 0, 8, 0, 3, 0],                             // truncated, then closed
        &[0, 0, 0x27, 0x11, 0, 3, 0, 0],                    // claims 10,001 bytes
        &[0, 0, 0, 12, 0, 3, 0, 0, b'u', b's', b'e', b'r'], // no terminators
    ];
    for packet in packets {
        let mut socket = TcpStream::connect(("127.0.0.1", port)).unwrap();
        socket.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        socket.write_all(packet).unwrap();
        let _ = socket.shutdown(std::net::Shutdown::Write);
        let mut reply = Vec::new();
        let _ = socket.read_to_end(&mut reply);
        assert!(reply.is_empty() || reply[0] == b'E', "an ErrorResponse or a close: {reply:?}");
    }
    let run = psql(port, "app_rw", &["-tA", "-c", "select 42"]);
    assert_eq!(run.stdout.trim(), "42", "{run:?}");
}

#[test]
fn fifty_concurrent_sessions_succeed() {
    let site = Site::new(SiteOptions::default());
    let (connect, port) = site.connect();
    let sessions: Vec<_> = (0..50)
        .map(|_| {
            std::thread::spawn(move || {
                psql(port, "app_rw", &["-tA", "-c", "select pg_sleep(1), current_user"])
            })
        })
        .collect();
    let failures: Vec<Run> = sessions.into_iter().map(|s| s.join().unwrap()).filter(|r| !r.ok()).collect();
    assert!(
        failures.is_empty(),
        "{} of 50 failed: {:?}\n{}",
        failures.len(),
        failures.first(),
        connect.stderr()
    );
}

#[test]
fn past_the_connection_limit_a_client_is_told_so() {
    let site = Site::new(SiteOptions { db_extra: "max_connections = 3".into(), ..Default::default() });
    let (_connect, port) = site.connect();
    let holders: Vec<_> = (0..3)
        .map(|_| std::thread::spawn(move || psql(port, "app_rw", &["-c", "select pg_sleep(2)"])))
        .collect();
    site.pg.wait_for_queries("select pg_sleep(2)", 3);
    let extra = psql(port, "app_rw", &["-c", "select 1"]);
    assert!(!extra.ok());
    assert!(extra.stderr.contains("too many connections") && extra.stderr.contains("3"), "{}", extra.stderr);
    for h in holders {
        assert!(h.join().unwrap().ok());
    }
    let rows = site.person.tapgate(&["history", "--json"]).json();
    assert!(rows.as_array().unwrap().iter().any(|r| r["outcome"] == "over limit"), "{rows}");
}

#[test]
fn exec_runs_a_command_against_a_forwarder_that_ends_with_it() {
    let site = Site::new(SiteOptions::default());
    let run = site.person.tapgate(&[
        "exec",
        "prod",
        "--",
        "sh",
        "-c",
        "echo port=$PGPORT; psql -X -tA -c 'select current_user'; exit 3",
    ]);
    assert_eq!(run.code, Some(3), "the command's exit code: {run:?}");
    assert!(run.stdout.contains("app_rw"), "{run:?}");
    let port: u16 = run.stdout.lines().find_map(|l| l.strip_prefix("port=")).unwrap().parse().unwrap();
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "no listener is left behind on {port}");
}

#[test]
fn dsn_prints_every_format_on_the_stable_port_with_the_socket_first() {
    let site = Site::new(SiteOptions::default());
    let uri = site.person.tapgate(&["dsn", "prod"]);
    uri.expect_ok();
    let (_connect, port) = site.connect();
    let socket_dir = site.person.runtime_dir();
    assert_eq!(
        uri.stdout.trim(),
        format!("postgresql://app_rw@/postgres?host={}&port={port}", socket_dir.display())
    );
    let tcp = site.person.tapgate(&["dsn", "prod", "--tcp"]);
    assert_eq!(tcp.stdout.trim(), format!("postgresql://app_rw@127.0.0.1:{port}/postgres?sslmode=disable"));
    let jdbc = site.person.tapgate(&["dsn", "prod", "--format", "jdbc"]);
    assert!(jdbc.stdout.starts_with(&format!("jdbc:postgresql://127.0.0.1:{port}/postgres")), "{jdbc:?}");
    // Each works as printed.
    for printed in [uri.stdout.trim(), tcp.stdout.trim()] {
        let run = psql_client(printed, None, &["-tA", "-c", "select current_user"]);
        assert_eq!(run.stdout.trim(), "app_rw", "{printed}: {run:?}");
    }
    let keyword = site.person.tapgate(&["dsn", "prod", "--format", "keyword"]);
    let run = psql_client(keyword.stdout.trim(), None, &["-tA", "-c", "select current_user"]);
    assert_eq!(run.stdout.trim(), "app_rw", "{keyword:?}: {run:?}");
}

/// psql with the person's `.pgpass` (or `password` through PGPASSWORD), never prompting.
fn psql_with_pgpass(site: &Site, conninfo: &str, password: Option<&str>, args: &[&str]) -> Run {
    let mut cmd = Command::new("/usr/bin/psql");
    tapgate_e2e::pg::clean_pg_env(&mut cmd);
    cmd.args(["-X", "-w", "-d", conninfo])
        .args(args)
        .env("PGPASSFILE", site.person.home.path().join(".pgpass"))
        .env("PGCONNECT_TIMEOUT", "10");
    if let Some(password) = password {
        cmd.env("PGPASSWORD", password);
    }
    tapgate_e2e::pg::run_with_timeout(&mut cmd, Duration::from_secs(60))
}

/// `local_password = true`: the forwarder asks clients for a password with SCRAM-SHA-256 before
/// anything else; the one Tapgate wrote to `~/.pgpass` lets psql in over TCP and the socket, a
/// wrong or missing one is refused without a sign-in, and neither the password's transcript nor
/// anything the client sees holds the token.
#[test]
fn a_local_password_lets_in_the_clients_that_have_it() {
    let site = Site::new(SiteOptions { db_extra: "local_password = true".into(), ..Default::default() });
    let (connect, port) = site.connect();
    let pgpass = site.person.home.path().join(".pgpass");
    assert!(
        connect.stdout().contains(&format!("a local password for prod is in {}", pgpass.display())),
        "{}",
        connect.stdout()
    );
    let text = std::fs::read_to_string(&pgpass).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&pgpass).unwrap().permissions().mode() & 0o777, 0o600);
    let password = text
        .lines()
        .find_map(|l| l.strip_prefix(&format!("127.0.0.1:{port}:*:*:")))
        .unwrap_or_else(|| panic!("no line for the port in .pgpass:\n{text}"))
        .to_string();

    // A wrong password, and none at all: refused, and no sign-in is even tried for them.
    let wrong = psql_with_pgpass(
        &site,
        &format!("host=127.0.0.1 port={port} dbname=postgres user=app_rw sslmode=disable"),
        Some("not-the-password"),
        &["-c", "select 1"],
    );
    assert!(!wrong.ok() && wrong.stderr.contains("password authentication failed"), "{wrong:?}");
    let mut none = Command::new("/usr/bin/psql");
    tapgate_e2e::pg::clean_pg_env(&mut none);
    none.args(["-X", "-w", "-d"])
        .arg(format!("host=127.0.0.1 port={port} dbname=postgres user=app_rw sslmode=disable"))
        .args(["-c", "select 1"])
        .env("PGPASSFILE", "/nonexistent");
    let none = tapgate_e2e::pg::run_with_timeout(&mut none, Duration::from_secs(60));
    assert!(!none.ok() && none.stderr.contains("no password supplied"), "{none:?}");

    // The right one, from .pgpass, over TCP and over the socket.
    for conninfo in [
        format!("host=127.0.0.1 port={port} dbname=postgres user=app_rw sslmode=disable"),
        format!("host={} port={port} dbname=postgres user=app_rw", site.person.runtime_dir().display()),
    ] {
        let run = psql_with_pgpass(&site, &conninfo, None, &["-tA", "-c", "select current_user"]);
        assert_eq!(run.stdout.trim(), "app_rw", "{conninfo}: {run:?}\n{}", connect.stderr());
        site.person.keep_transcript(run.stdout + &run.stderr);
    }
    let rows = site.person.tapgate(&["history", "--db", "prod", "--json"]).json();
    assert!(
        rows.as_array().unwrap().iter().any(|r| r["outcome"] == "refused"
            && r["error"].as_str().is_some_and(|e| e.contains("password authentication failed"))),
        "{rows}"
    );

    // The local password is not the token, and the token reached no client.
    let token = site.person.token();
    assert_ne!(password, token);
    let signature = token.rsplit('.').next().unwrap().to_string();
    site.person.keep_transcript(wrong.stdout + &wrong.stderr + &none.stdout + &none.stderr);
    assert!(!site.person.transcripts().contains(&signature), "a token reached a client");
    assert!(!text.contains(&signature));
    // One sign-in (the connect's own): the refused clients asked for none.
    let sign_ins = site.person.tapgate(&["history", "--sign-ins", "--json"]).json();
    assert_eq!(sign_ins.as_array().unwrap().len(), 1, "{sign_ins}");
}

/// The forwarder's Unix-domain socket: the person's psql gets in through it (and the history
/// says so), another OS user cannot even open its folder, and `tapgate exec` hands it out as
/// PGHOST. When the forwarder stops, the socket file goes with it.
#[test]
fn the_unix_socket_is_the_persons_alone() {
    use tapgate_e2e::pg::{OTHER_USER, ensure_other_user};
    let site = Site::new(SiteOptions::default());
    let (mut connect, port) = site.connect();
    let folder = site.person.runtime_dir();
    let socket = folder.join(format!(".s.PGSQL.{port}"));
    assert!(
        connect.stdout().contains(&format!("and on the socket {}", socket.display())),
        "{}",
        connect.stdout()
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&folder).unwrap().permissions().mode() & 0o777, 0o700);

    let own = psql_client(
        &format!("host={} port={port} dbname=postgres user=app_rw", folder.display()),
        None,
        &["-tA", "-c", "select current_user"],
    );
    assert_eq!(own.stdout.trim(), "app_rw", "{own:?}\n{}", connect.stderr());

    ensure_other_user();
    let intruder = Command::new("runuser")
        .args(["-u", OTHER_USER, "--", "/usr/bin/psql", "-X", "-w", "-d"])
        .arg(format!("host={} port={port} dbname=postgres user=app_rw", folder.display()))
        .args(["-c", "select 1"])
        .current_dir("/")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&intruder.stderr);
    assert!(!intruder.status.success(), "{said}");
    assert!(said.contains("Permission denied"), "the kernel stops them at the folder: {said}");

    let exec = site.person.tapgate(&[
        "exec",
        "prod",
        "--",
        "sh",
        "-c",
        "echo host=$PGHOST; psql -X -tA -c 'select 42'",
    ]);
    assert!(exec.stdout.contains(&format!("host={}", folder.display())), "{exec:?}");
    assert!(exec.stdout.contains("42"), "{exec:?}");

    assert_eq!(connect.interrupt(Duration::from_secs(15)), Some(0), "Ctrl-C stops cleanly");
    assert!(!socket.exists(), "the socket went with the forwarder");
}

/// `session_limit = "token"` (the default): a session whose sign-in runs out, with no refresh
/// possible, gets a NOTICE a minute before the end of the grace, then a FATAL that says why, and
/// the history records it. With a working refresh token the session carries on instead.
#[test]
fn a_session_ends_when_its_sign_in_does_unless_it_is_renewed() {
    let clock = TestClock::new();
    // Refresh tokens that last two minutes on the same clock: past them, only a tap would do.
    let idp = DevIdpOptions {
        token_ttl: Some("60s"),
        refresh_ttl: Some("2m"),
        clock_file: Some(clock.file()),
        ..Default::default()
    };
    let mut site =
        Site::new(SiteOptions { idp, db_extra: "session_grace = \"3m\"".into(), ..Default::default() });
    site.person.use_clock(&clock);
    let (connect, port) = site.connect();
    let mut watching = watching_psql(&site, port, "ends");

    // The grace's last minute: the notice, which psql prints as its next query returns.
    clock.advance(60 + 180 - 60 + 1);
    watching.wait_for_stderr("has run out; this session to prod closes in", &connect);
    clock.advance(60);
    watching.wait_for_stderr("ran out and was not renewed", &connect);
    let status = watching.wait_exit();
    assert!(!status.success(), "psql lost its session: {}", watching.stderr());
    tapgate_e2e::desktop::wait_until(
        "the history row of the closed session",
        Duration::from_secs(30),
        || {
            let rows = site.person.tapgate(&["history", "--db", "prod", "--json"]).json();
            rows.as_array()
                .unwrap()
                .iter()
                .any(|r| r["error"].as_str().is_some_and(|e| e.contains("ran out and was not renewed")))
                .then_some(())
        },
        || site.person.tapgate(&["history", "--json"]).stdout,
    );
    drop(connect);

    // The same with refresh tokens that last: the refresh comes first, and the session stays.
    let clock = TestClock::new();
    let idp = DevIdpOptions { token_ttl: Some("60s"), clock_file: Some(clock.file()), ..Default::default() };
    let mut site =
        Site::new(SiteOptions { idp, db_extra: "session_grace = \"3m\"".into(), ..Default::default() });
    site.person.use_clock(&clock);
    let (connect, port) = site.connect();
    let mut watching = watching_psql(&site, port, "carries on");
    clock.advance(60 + 180 - 60 + 1);
    tapgate_e2e::desktop::wait_until(
        "the session's sign-in renewed",
        Duration::from_secs(30),
        || connect.stderr().contains("Renewed the").then_some(()),
        || connect.stderr(),
    );
    // Another full round of its queries after the renewal: no notice, still running.
    site.pg.wait_for_queries("select 'carries on'", 1);
    assert!(watching.child.try_wait().unwrap().is_none(), "still running: {}", watching.stderr());
    assert!(!watching.stderr().contains("run out"), "{}", watching.stderr());
}

/// psql running `select 'LABEL'` every 0.2 s on one session through the forwarder: it reads the
/// server's stream often, so it prints Tapgate's notices as they come.
struct Watching {
    child: std::process::Child,
    stderr: tempfile::NamedTempFile,
}

fn watching_psql(site: &Site, port: u16, label: &str) -> Watching {
    let stderr = tempfile::NamedTempFile::new().unwrap();
    let mut child = Command::new("/usr/bin/psql")
        .args(["-X", "-w", "-tA", "-d"])
        .arg(format!("host=127.0.0.1 port={port} dbname=postgres user=app_rw sslmode=disable"))
        .env_remove("PGPASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(stderr.reopen().unwrap())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    writeln!(input, "select '{label}' \\watch 0.2").unwrap();
    // psql ends at the end of its input: keep it open while it watches.
    std::mem::forget(input);
    site.pg.wait_for_queries(&format!("select '{label}'"), 1);
    Watching { child, stderr }
}

impl Watching {
    fn stderr(&self) -> String {
        std::fs::read_to_string(self.stderr.path()).unwrap_or_default()
    }

    fn wait_for_stderr(&self, text: &str, connect: &Background) {
        tapgate_e2e::desktop::wait_until(
            text,
            Duration::from_secs(30),
            || self.stderr().contains(text).then_some(()),
            || format!("psql said:\n{}\ntapgate connect said:\n{}", self.stderr(), connect.stderr()),
        );
    }

    fn wait_exit(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "psql still running: {}", self.stderr());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn no_token_text_in_logs_history_config_or_data_after_a_session() {
    let site = Site::new(SiteOptions::default());
    let (mut connect, port) = site.connect();
    assert!(psql(port, "app_rw", &["-c", "select 1"]).ok());
    let token = site.person.token();
    assert_eq!(connect.interrupt(Duration::from_secs(15)), Some(0), "Ctrl-C stops cleanly");
    site.person.keep_transcript(connect.stdout() + &connect.stderr());

    let signature = token.rsplit('.').next().unwrap().to_string();
    let everything = site.person.transcripts() + &site.pg.log() + &site.pam.decisions() + &site.idp.log();
    assert!(!everything.contains(&signature), "a token appeared in output or logs");
    for dir in [site.person.home.path(), site.pg.data_dir()] {
        let leaks = files_containing(dir, &signature);
        assert!(leaks.is_empty(), "token text in {leaks:?}");
    }
}

/// Another OS user on the machine connecting to the person's forwarder is refused before any
/// token is asked for, told why, and recorded; the person's own psql works. With
/// `local_access = "any"` the other user gets in, and `tapgate connect` warns about it.
#[test]
fn another_os_user_is_refused_and_recorded_unless_local_access_is_any() {
    use tapgate_e2e::pg::psql_as_other_user;
    let site = Site::new(SiteOptions::default());
    let (connect, port) = site.connect();

    let intruder = psql_as_other_user(port, "app_rw", &["-tA", "-c", "select current_user"]);
    assert!(!intruder.ok(), "{intruder:?}");
    assert!(intruder.stderr.contains("only for the programs of the user who runs it"), "{}", intruder.stderr);
    let own = psql(port, "app_rw", &["-tA", "-c", "select current_user"]);
    assert_eq!(own.stdout.trim(), "app_rw", "{own:?}\n{}", connect.stderr());
    // A CancelRequest from them (here with a made-up key) is dropped and recorded too.
    let cancel = Command::new("runuser")
        .args(["-u", tapgate_e2e::pg::OTHER_USER, "--", "python3", "-c"])
        .arg(format!(
            "import socket, struct\ns = socket.create_connection(('127.0.0.1', {port}))\n\
             s.sendall(struct.pack('!iiii', 16, 80877102, 4242, 1234))\ns.recv(1)"
        ))
        .current_dir("/")
        .output()
        .unwrap();
    assert!(cancel.status.success(), "{cancel:?}");
    // The forwarder records a session's end as it closes: wait for the rows to be final.
    tapgate_e2e::desktop::wait_until(
        "the refusal and the person's session in the history",
        Duration::from_secs(30),
        || {
            let rows = site.person.tapgate(&["history", "--json"]).json();
            let outcomes: Vec<String> =
                rows.as_array().unwrap().iter().map(|r| r["outcome"].as_str().unwrap().to_string()).collect();
            let refused = rows
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["outcome"] == "refused: another user")
                .map(|r| r["error"].as_str().unwrap_or_default().to_string())
                .collect::<Vec<_>>();
            (refused.len() == 2
                && refused.iter().any(|e| e.starts_with("cancel request dropped"))
                && outcomes.iter().any(|o| o == "ok"))
            .then_some(())
        },
        || site.person.tapgate(&["history", "--json"]).stdout,
    );
    drop(connect);

    let open = Site::new(SiteOptions { db_extra: "local_access = \"any\"".into(), ..Default::default() });
    let (connect, port) = open.connect();
    assert!(
        connect.stderr().contains("lets every user and program on this machine in as you"),
        "{}",
        connect.stderr()
    );
    let guest = psql_as_other_user(port, "app_rw", &["-tA", "-c", "select current_user"]);
    assert_eq!(guest.stdout.trim(), "app_rw", "{guest:?}");
}

/// A database's port held by another user's program (it got there first, or lies in wait): the
/// forwarder does not start, and says whose port it is, so a saved client never talks to an
/// impostor thinking it is Tapgate.
#[test]
fn a_port_held_by_another_user_is_refused_with_whose_it_is() {
    use tapgate_e2e::pg::{OTHER_USER, ensure_other_user, free_port};
    ensure_other_user();
    let port = free_port();
    let mut squatter = Command::new("runuser")
        .args(["-u", OTHER_USER, "--", "python3", "-c"])
        .arg(format!(
            "import socket, time\ns = socket.socket()\ns.bind(('127.0.0.1', {port}))\ns.listen()\ntime.sleep(120)"
        ))
        .spawn()
        .unwrap();
    tapgate_e2e::desktop::wait_until(
        "the other user's program listening",
        Duration::from_secs(30),
        || TcpStream::connect(("127.0.0.1", port)).ok(),
        || format!("nothing on {port}"),
    );

    let site = Site::new(SiteOptions { db_extra: format!("local_port = {port}"), ..Default::default() });
    let run = site.person.tapgate(&["connect", "prod"]);
    let _ = squatter.kill();
    let _ = squatter.wait();
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stderr.contains(&format!("127.0.0.1:{port} is held by another user")), "{}", run.stderr);
}
