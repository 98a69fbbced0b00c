//! The fault suite: what a person sees when the network, a client or Tapgate itself fails, with
//! a misbehaving TCP proxy ([`FaultProxy`]) between the forwarder and PostgreSQL. Each fault
//! ends in a clear error for the session it hits, and the forwarder keeps serving the next.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tapgate_e2e::desktop::wait_until;
use tapgate_e2e::fault_proxy::{FaultMode, FaultProxy};
use tapgate_e2e::pg::{PSQL, clean_pg_env, psql_via_forwarder as psql};
use tapgate_e2e::signal;

use super::site::{Site, SiteOptions};

const WAIT: Duration = Duration::from_secs(60);

/// `[db.faulty]`: the site's server behind `proxy`.
fn behind_proxy(site: &Site, proxy: &FaultProxy) {
    site.person.append_config(&format!(
        "[db.faulty]\nidp = \"{}\"\nhost = \"127.0.0.1\"\nport = {}\ndbname = \"postgres\"\nrole = \"app_rw\"\n\
         auth = \"password\"\nca_file = \"{}\"\n",
        site.person.idp_name,
        proxy.port(),
        site.pg.ca().display()
    ));
}

/// psql through the forwarder on `port`, in the background, running `sql`.
fn psql_in_background(port: u16, sql: &str, stdout: Stdio) -> Child {
    let mut cmd = Command::new(PSQL);
    clean_pg_env(&mut cmd);
    cmd.args([
        "-X",
        "-w",
        "-d",
        &format!("host=127.0.0.1 port={port} dbname=postgres user=app_rw sslmode=disable"),
    ])
    .args(["-c", sql])
    .stdout(stdout)
    .stderr(Stdio::piped())
    .spawn()
    .unwrap()
}

/// Waits for `child` to exit (bounded) and returns its stderr.
fn exit_and_stderr(child: Child) -> (bool, String) {
    let pid = child.id();
    let waiter = std::thread::spawn(move || child.wait_with_output().unwrap());
    wait_until(
        &format!("psql (pid {pid}) to exit"),
        WAIT,
        || waiter.is_finished().then_some(()),
        String::new,
    );
    let out = waiter.join().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn works(port: u16) {
    let run = psql(port, "app_rw", &["-tA", "-c", "select 'still serving'"]);
    assert_eq!(run.stdout.trim(), "still serving", "{run:?}");
}

#[test]
fn an_upstream_reset_or_half_close_ends_that_session_with_an_error_and_the_next_one_works() {
    let site = Site::new(SiteOptions::default());
    let proxy = FaultProxy::start(site.pg.port());
    behind_proxy(&site, &proxy);
    let (connect, port) = site.person.connect("faulty");

    // A reset (RST) in the middle of a query.
    let victim = psql_in_background(port, "select pg_sleep(30)", Stdio::null());
    site.pg.wait_for_queries("select pg_sleep(30)", 1);
    proxy.reset_all();
    let (ok, stderr) = exit_and_stderr(victim);
    assert!(!ok && stderr.contains("server closed the connection unexpectedly"), "{stderr}");
    works(port);

    // The server side half-closes (FIN towards the forwarder) mid-query.
    let victim = psql_in_background(port, "select pg_sleep(31)", Stdio::null());
    site.pg.wait_for_queries("select pg_sleep(31)", 1);
    proxy.half_close_from_server();
    let (ok, stderr) = exit_and_stderr(victim);
    assert!(!ok && stderr.contains("server closed the connection unexpectedly"), "{stderr}");
    works(port);

    // History has both cut sessions as the server's side lost, in words, and the others as ok.
    let rows = site.person.tapgate(&["history", "--db", "faulty", "--json"]).json();
    let rows = rows.as_array().unwrap();
    let lost: Vec<_> = rows.iter().filter(|r| r["outcome"] == "server lost").collect();
    assert_eq!(lost.len(), 2, "{rows:?}\n{}", connect.stderr());
    for row in lost {
        let error = row["error"].as_str().unwrap_or_default();
        assert!(error.contains("mid-session") && !error.contains("docs.rs"), "{row}");
    }
    assert_eq!(rows.iter().filter(|r| r["outcome"] == "ok").count(), 2, "{rows:?}");
}

#[test]
fn a_blackholed_upstream_is_a_clear_error_and_the_forwarder_recovers() {
    let site = Site::new(SiteOptions::default());
    let proxy = FaultProxy::start(site.pg.port());
    behind_proxy(&site, &proxy);
    let (_connect, port) = site.person.connect("faulty");
    proxy.set_mode(FaultMode::Blackhole);

    // The server never answers: psql (which would wait 90 s) is told so by the forwarder.
    let run = tapgate_e2e::pg::psql_client(
        &format!("host=127.0.0.1 port={port} dbname=postgres user=app_rw sslmode=disable connect_timeout=90"),
        None,
        &["-c", "select 1"],
    );
    assert!(!run.ok(), "{run:?}");
    assert!(run.stderr.contains("did not") && run.stderr.contains(&proxy.port().to_string()), "{run:?}");

    proxy.set_mode(FaultMode::Pass);
    works(port);
}

#[test]
fn a_client_killed_mid_copy_leaves_no_backend_and_history_records_the_end() {
    let site = Site::new(SiteOptions::default());
    let (_connect, port) = site.connect();
    // Its output is never read: the pipe fills, psql stops reading, the server blocks sending.
    let copy = psql_in_background(
        port,
        "copy (select repeat('x', 1000) from generate_series(1, 100000000)) to stdout",
        Stdio::piped(),
    );
    site.pg.wait_for_queries("copy (select repeat", 1);
    signal(copy.id(), "KILL");
    let _ = exit_and_stderr(copy);

    let running = "select count(*) from pg_stat_activity where query like 'copy (select repeat%' \
                   and pid <> pg_backend_pid()";
    wait_until(
        "the COPY's backend to end after its client was killed",
        WAIT,
        || (site.pg.sql(running) == "0").then_some(()),
        || site.pg.log(),
    );
    let ended = wait_until(
        "history to record the killed client's session as ended",
        WAIT,
        || {
            let rows = site.person.tapgate(&["history", "--db", "prod", "--json"]).json();
            rows.as_array().unwrap().first().filter(|r| r["outcome"].is_string()).cloned()
        },
        String::new,
    );
    assert!(ended["bytes_down"].as_u64().unwrap() > 0, "{ended}");
    works(port);
}

#[test]
fn a_forwarder_killed_with_sigkill_leaves_history_intact_and_restarts_on_its_port() {
    let site = Site::new(SiteOptions::default());
    let (connect, port) = site.connect();
    works(port);
    works(port);
    // History is written a moment after a session closes (off the relay's path): a kill inside
    // that moment loses the row by design, so the kill comes once both rows are written.
    let ok_rows = || {
        let rows = site.person.tapgate(&["history", "--db", "prod", "--json"]).json();
        rows.as_array().unwrap().iter().filter(|r| r["outcome"] == "ok").count()
    };
    wait_until("history to record both sessions", WAIT, || (ok_rows() == 2).then_some(()), String::new);
    signal(connect.pid(), "KILL");
    wait_until(
        "the killed forwarder's port to close",
        WAIT,
        || std::net::TcpStream::connect(("127.0.0.1", port)).is_err().then_some(()),
        String::new,
    );

    let rows = site.person.tapgate(&["history", "--db", "prod", "--json"]).json();
    let ok = rows.as_array().unwrap().iter().filter(|r| r["outcome"] == "ok").count();
    assert_eq!(ok, 2, "history lost sessions: {rows}");

    // The same port again (remembered), the leftover socket file replaced, and it serves.
    let (_again, again_port) = site.connect();
    assert_eq!(again_port, port);
    works(again_port);
    let socket_dir = site.person.runtime_dir();
    let over_socket = tapgate_e2e::pg::psql_client(
        &format!("host={} port={port} dbname=postgres user=app_rw", socket_dir.display()),
        None,
        &["-tA", "-c", "select 'socket'"],
    );
    assert_eq!(over_socket.stdout.trim(), "socket", "{over_socket:?}");
}

#[test]
fn a_hundred_cancels_at_once_each_cancel_their_own_query_and_no_other() {
    let site = Site::new(SiteOptions {
        db_extra: "max_connections = 150".into(),
        pg_settings: vec!["max_connections = 150".into()],
        ..Default::default()
    });
    let (_connect, port) = site.connect();
    let conninfo = format!("host=127.0.0.1 port={port} dbname=postgres user=app_rw sslmode=disable");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("clients/cancel_storm.py");
    // Debian's Python, where python3-psycopg is (a `python3` earlier on PATH may be another one).
    let mut storm = Command::new("/usr/bin/python3")
        .arg(&script)
        .args([&conninfo, "100"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(storm.stdout.take().unwrap()).lines();
    let started = lines.next().and_then(Result::ok).unwrap_or_default();
    if started != "running" {
        let out = storm.wait_with_output().unwrap();
        panic!("the cancel storm did not start: {started}\n{}", String::from_utf8_lossy(&out.stderr));
    }
    site.pg.wait_for_queries("select pg_sleep(60)", 100);
    let bystander = psql_in_background(port, "select pg_sleep(5), 'bystander done'", Stdio::piped());
    site.pg.wait_for_queries("select pg_sleep(5)", 1);

    storm.stdin.as_mut().unwrap().write_all(b"go\n").unwrap();
    let result = wait_until(
        "the cancel storm's result",
        WAIT,
        || {
            let line = lines.next()?.ok()?;
            line.starts_with('{').then_some(line)
        },
        String::new,
    );
    let result: serde_json::Value = serde_json::from_str(&result).unwrap();
    let status = storm.wait().unwrap();
    assert!(status.success(), "{result}");
    assert_eq!(result["cancelled"], 100, "{result}");

    let out = bystander.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("bystander done"));
}
