//! Common PostgreSQL clients through a real `tapgate connect`, with the peer check on (the
//! default): psql and psycopg (both libpq), node-postgres (pure JavaScript) and pgjdbc (pure
//! Java), each over TCP and over the Unix-domain socket, with the connection strings
//! `tapgate dsn` prints; and another OS user refused on TCP whichever client they use.
//!
//! The clients' programs are in `tests/clients/`: a Python script for psycopg (Debian's
//! python3-psycopg, so Debian's /usr/bin/python3), a node script with its own lock file
//! (`scripts/install-test-clients.sh`, which `make test` runs), and a Java program compiled here
//! against Debian's pgjdbc, with Debian's junixsocket for the socket.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use tapgate_e2e::Run;
use tapgate_e2e::pg::{
    OTHER_USER, PSQL, clean_pg_env, ensure_other_user, postgres_readable_tempdir, run_with_timeout,
};
use tempfile::TempDir;

use crate::site::{Site, SiteOptions};

/// What each client runs: its own session's role and application_name, as `role|name`.
const QUERY: &str =
    "select current_user, application_name from pg_stat_activity where pid = pg_backend_pid()";
/// Debian's Python, where python3-psycopg is (a `python3` earlier on PATH may be another one).
const PYTHON: &str = "/usr/bin/python3";
/// Debian's pgjdbc (libpostgresql-jdbc-java).
const PGJDBC_JAR: &str = "/usr/share/java/postgresql.jar";
/// Debian's junixsocket (libjunixsocket-java), which finds its native part (libjunixsocket-jni)
/// by itself.
const JUNIXSOCKET_JAR: &str = "/usr/share/java/junixsocket-common.jar";
/// pgjdbc opens its connection through this junixsocket factory, given the socket's path.
const JUNIXSOCKET_FACTORY: &str = "org.newsclub.net.unix.AFUNIXSocketFactory$FactoryArg";
/// How long a client may take (a JVM starting on a busy 2-core machine included).
const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Client {
    Psql,
    Psycopg,
    NodePostgres,
    Jdbc,
}

impl Client {
    /// The application_name the client sends, which the forwarder keeps in front of the identity.
    fn application_name(self) -> &'static str {
        match self {
            Client::Psql => "psql",
            Client::Psycopg => "psycopg",
            Client::NodePostgres => "node-postgres",
            // pgjdbc's own default: the test's program leaves it as it is.
            Client::Jdbc => "PostgreSQL JDBC Driver",
        }
    }
}

/// The client programs, ready to run: the Java one compiled into a folder any user can read.
struct Clients {
    java_classes: TempDir,
}

impl Clients {
    fn prepare() -> Clients {
        for (path, install) in [
            (PGJDBC_JAR, "libpostgresql-jdbc-java"),
            (JUNIXSOCKET_JAR, "libjunixsocket-java"),
            ("/usr/lib/python3/dist-packages/psycopg", "python3-psycopg"),
        ] {
            assert!(Path::new(path).exists(), "{path} is missing: install {install} (`make deps` does)");
        }
        let node_pg = clients_dir().join("node/node_modules/pg");
        assert!(
            node_pg.exists(),
            "{} is missing: run scripts/install-test-clients.sh (`make test` does)",
            node_pg.display()
        );

        // Readable by the other OS user too, who runs the same program.
        let java_classes = postgres_readable_tempdir("tapgate-jdbc-client-");
        let javac = run_with_timeout(
            Command::new("javac")
                .arg("-d")
                .arg(java_classes.path())
                .arg(clients_dir().join("java/Client.java")),
            CLIENT_TIMEOUT,
        );
        assert!(javac.ok(), "javac (install default-jdk-headless): {javac:?}");
        for class in std::fs::read_dir(java_classes.path()).unwrap() {
            std::fs::set_permissions(class.unwrap().path(), std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        Clients { java_classes }
    }

    /// `client` connecting with `target` (a libpq connection string or URI, or a `jdbc:` URL),
    /// as the person or as [`OTHER_USER`]. Its stdout is `role|application_name` when it got in.
    fn run(&self, client: Client, target: &str, as_other_user: bool) -> Run {
        let (program, args): (&str, Vec<String>) = match client {
            Client::Psql => (PSQL, ["-X", "-w", "-tA", "-d", target, "-c", QUERY].map(String::from).to_vec()),
            Client::Psycopg => {
                (PYTHON, vec![path_arg(&clients_dir().join("psycopg_client.py")), target.into()])
            }
            Client::NodePostgres => {
                ("node", vec![path_arg(&clients_dir().join("node/client.js")), target.into()])
            }
            Client::Jdbc => {
                let class_path =
                    format!("{}:{PGJDBC_JAR}:{JUNIXSOCKET_JAR}", self.java_classes.path().display());
                let args = [
                    // No shared-memory performance file in a temp folder: nothing to clean up.
                    "-XX:-UsePerfData",
                    "-cp",
                    &class_path,
                    "Client",
                    target,
                ];
                ("java", args.map(String::from).to_vec())
            }
        };
        let mut cmd = if as_other_user {
            ensure_other_user();
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", OTHER_USER, "--", program]);
            cmd
        } else {
            Command::new(program)
        };
        cmd.args(args).current_dir("/");
        clean_pg_env(&mut cmd);
        cmd.env("PGCONNECT_TIMEOUT", "10");
        run_with_timeout(&mut cmd, CLIENT_TIMEOUT)
    }
}

/// `tests/clients`, where the client programs are.
fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("clients")
}

fn path_arg(path: &Path) -> String {
    path.display().to_string()
}

/// The connection strings `tapgate dsn` prints for `prod` while `connect` runs.
struct Dsns {
    /// `postgresql://app_rw@/postgres?host=<runtime dir>&port=N`: the socket, printed first.
    socket: String,
    /// `postgresql://app_rw@127.0.0.1:N/postgres?sslmode=disable`.
    tcp: String,
    /// `jdbc:postgresql://127.0.0.1:N/postgres?user=app_rw&sslmode=disable`.
    jdbc: String,
}

fn dsns(site: &Site) -> Dsns {
    let dsn = |args: &[&str]| {
        let run = site.person.tapgate(&[&["dsn", "prod"], args].concat());
        run.expect_ok();
        run.stdout.trim().to_string()
    };
    Dsns { socket: dsn(&[]), tcp: dsn(&["--tcp"]), jdbc: dsn(&["--format", "jdbc"]) }
}

/// pgjdbc over the forwarder's socket: junixsocket's factory opens `socket` instead of a TCP
/// connection. The host must be `localhost` (the factory refuses a connection to an IP address);
/// it and the port then only name the database to the driver.
fn jdbc_over_socket(jdbc: &str, socket: &Path) -> String {
    let jdbc = jdbc.replacen("//127.0.0.1:", "//localhost:", 1);
    format!("{jdbc}&socketFactory={JUNIXSOCKET_FACTORY}&socketFactoryArg={}", socket.display())
}

/// Every client gets in as the role over TCP, where the peer check maps the connection to the
/// person's uid, and over the socket, where the kernel vouches for them; the server sees the
/// client's own name with the identity after it, and the history has a row per session.
#[test]
fn psql_psycopg_node_postgres_and_jdbc_get_in_over_tcp_and_the_socket() {
    let site = Site::new(SiteOptions::default());
    let clients = Clients::prepare();
    let (connect, port) = site.connect();
    let dsns = dsns(&site);
    let socket = site.person.runtime_dir().join(format!(".s.PGSQL.{port}"));
    assert!(dsns.socket.contains(&site.person.runtime_dir().display().to_string()), "{}", dsns.socket);
    // The printed URL tells pgjdbc the server is at least 9.0, so that it sends its
    // application_name at login, where the forwarder adds the identity (otherwise it sends none
    // and runs `SET application_name` after, replacing the forwarder's).
    assert!(dsns.jdbc.contains("assumeMinServerVersion=9.0"), "{}", dsns.jdbc);
    let jdbc_socket = jdbc_over_socket(&dsns.jdbc, &socket);

    // (client, over, connection string, whether the server sees the identity)
    let cases = [
        (Client::Psql, "TCP", dsns.tcp.as_str(), true),
        (Client::Psql, "socket", dsns.socket.as_str(), true),
        (Client::Psycopg, "TCP", dsns.tcp.as_str(), true),
        (Client::Psycopg, "socket", dsns.socket.as_str(), true),
        (Client::NodePostgres, "TCP", dsns.tcp.as_str(), true),
        (Client::NodePostgres, "socket", dsns.socket.as_str(), true),
        (Client::Jdbc, "TCP", dsns.jdbc.as_str(), true),
        (Client::Jdbc, "socket", jdbc_socket.as_str(), true),
    ];
    // Every case runs, and the failures are reported together: one broken client hides no other.
    let mut failures = Vec::new();
    for (client, over, target, with_identity) in cases {
        let run = clients.run(client, target, false);
        let expected = if with_identity {
            format!("app_rw|{} via tapgate (alice@example.com)", client.application_name())
        } else {
            format!("app_rw|{}", client.application_name())
        };
        if run.stdout.trim() != expected {
            failures
                .push(format!("{client:?} over {over} with {target}: expected {expected:?}, got {run:?}"));
        }
        site.person.keep_transcript(run.stdout + &run.stderr);
    }
    assert!(failures.is_empty(), "{}\ntapgate connect said:\n{}", failures.join("\n"), connect.stderr());

    // The history names each client that sent its name at login, with two sessions that both
    // ended well (and pgjdbc's third, nameless one).
    tapgate_e2e::desktop::wait_until(
        "two finished sessions per client in the history",
        Duration::from_secs(30),
        || {
            let rows = site.person.tapgate(&["history", "--db", "prod", "--json"]).json();
            let rows = rows.as_array().unwrap().clone();
            [Client::Psql, Client::Psycopg, Client::NodePostgres, Client::Jdbc]
                .iter()
                .all(|client| {
                    rows.iter()
                        .filter(|r| r["application"] == client.application_name() && r["outcome"] == "ok")
                        .filter(|r| r["identity"] == "alice@example.com" && r["role"] == "app_rw")
                        .count()
                        == 2
                })
                .then_some(())
        },
        || site.person.tapgate(&["history", "--json"]).stdout,
    );

    // No client saw the token.
    let signature = site.person.token().rsplit('.').next().unwrap().to_string();
    assert!(!site.person.transcripts().contains(&signature), "a token reached a client");
}

/// The peer check holds whatever the client: another OS user's psycopg, node-postgres and pgjdbc
/// are refused on TCP with the reason, before any sign-in, and each attempt is in the history.
#[test]
fn another_os_user_is_refused_on_tcp_by_every_client() {
    let site = Site::new(SiteOptions::default());
    let clients = Clients::prepare();
    let (connect, _port) = site.connect();
    let dsns = dsns(&site);

    let mut failures = Vec::new();
    for (client, target) in [
        (Client::Psycopg, dsns.tcp.as_str()),
        (Client::NodePostgres, dsns.tcp.as_str()),
        (Client::Jdbc, dsns.jdbc.as_str()),
    ] {
        let run = clients.run(client, target, true);
        if run.ok() || !run.stderr.contains("only for the programs of the user who runs it") {
            failures.push(format!("{client:?} as {OTHER_USER} with {target}: {run:?}"));
        }
    }
    assert!(failures.is_empty(), "{}\ntapgate connect said:\n{}", failures.join("\n"), connect.stderr());

    tapgate_e2e::desktop::wait_until(
        "the three refusals in the history",
        Duration::from_secs(30),
        || {
            let rows = site.person.tapgate(&["history", "--db", "prod", "--json"]).json();
            let refusals =
                rows.as_array().unwrap().iter().filter(|r| r["outcome"] == "refused: another user");
            (refusals.count() == 3).then_some(())
        },
        || site.person.tapgate(&["history", "--json"]).stdout,
    );
    // Only the connect's own sign-in: the refused clients asked for none.
    let sign_ins = site.person.tapgate(&["history", "--sign-ins", "--json"]).json();
    assert_eq!(sign_ins.as_array().unwrap().len(), 1, "{sign_ins}");
}
