//! PostgreSQL 15 (Debian's packages) for end-to-end tests: a fresh cluster per [`PgServer`] in a
//! temp dir, TLS from a test CA, and PAM services ([`PamService`]) that run Tapgate's verifier.
//!
//! Tests run as root (CI does); the server runs as the `postgres` OS user, so everything it reads
//! lives in folders that user can traverse, and the PAM service file goes to /etc/pam.d.
//!
//! - [`PgServer::start`]: initdb + pg_ctl on a free 127.0.0.1 port, unix socket in the data dir,
//!   `ssl = on` with a certificate for 127.0.0.1 and localhost (or other names, or no TLS),
//!   `log_connections = on`; stopped (`-m immediate`) and removed on drop.
//! - [`PgServer::psql`]: the superuser over the unix socket; [`psql_client`] / [`PgServer::psql_tcp`]:
//!   a client over TCP with a password (a token) and verify-full.
//! - [`PamService::install`]: the verifier binary, its PAM module and `verify.toml` in a folder
//!   the server can read, and `/etc/pam.d/tapgate-test-*`; removed on drop.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair};
use tempfile::TempDir;

use crate::Run;

/// Debian's PostgreSQL 15 server binaries.
pub const PG_BIN_DIR: &str = "/usr/lib/postgresql/15/bin";
/// Debian's psql (the version-picking wrapper).
pub const PSQL: &str = "/usr/bin/psql";
/// The OS user the server runs as, and the superuser role created by initdb.
pub const PG_USER: &str = "postgres";
/// How long any psql or pg_ctl call may take before the test fails instead of hanging.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

static NEXT_SERVICE: AtomicUsize = AtomicUsize::new(1);

/// The server's TLS setup.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ServerTls {
    /// `ssl = on`, certificate for `127.0.0.1` and `localhost` from the test CA.
    #[default]
    Localhost,
    /// `ssl = on`, certificate for these names only (e.g. `db.example.com`, for a hostname
    /// mismatch), still from the test CA.
    ForNames(Vec<String>),
    /// `ssl = on` with a self-signed certificate for `127.0.0.1` and `localhost`, made with
    /// `openssl req -x509` as people make them (so it says it is a CA); [`PgServer::ca`] is the
    /// certificate itself.
    SelfSigned,
    /// `ssl = on`, certificate from the test CA that names no host: only this common name, as
    /// Cloud SQL's name the instance (`project:instance`).
    CommonNameOnly(String),
    /// `ssl = off`.
    Off,
}

/// Options for [`PgServer::start`].
#[derive(Debug, Clone, Default)]
pub struct PgOptions {
    pub tls: ServerTls,
    /// Adds `hostssl all all 127.0.0.1/32 pam pamservice=<service>` to pg_hba.conf (`host` when
    /// TLS is off, so a server without TLS really asks for the password).
    pub pam_service: Option<String>,
    /// More pg_hba.conf lines, after `local all postgres trust` and the PAM line.
    pub hba: Vec<String>,
    /// More postgresql.conf lines.
    pub settings: Vec<String>,
}

/// A running PostgreSQL 15 cluster; stopped and deleted on drop.
pub struct PgServer {
    port: u16,
    data: PathBuf,
    ca: Option<PathBuf>,
    log: PathBuf,
    // Last: removed after the server is stopped in `drop`.
    _dir: TempDir,
}

impl PgServer {
    /// initdb, configure, start; panics with the server log if it does not come up.
    pub fn start(options: PgOptions) -> PgServer {
        let dir = postgres_readable_tempdir("tapgate-pg-");
        let data = init_cluster(Path::new(PG_BIN_DIR), dir.path());

        let ca = match &options.tls {
            ServerTls::Off => None,
            ServerTls::Localhost => Some(write_tls(dir.path(), &["127.0.0.1", "localhost"])),
            ServerTls::ForNames(names) => {
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                Some(write_tls(dir.path(), &names))
            }
            ServerTls::SelfSigned => Some(write_self_signed_tls(dir.path())),
            ServerTls::CommonNameOnly(name) => Some(write_tls_named(dir.path(), &[], name)),
        };

        let tls_dir = dir.path().join("tls");
        let mut conf = vec![
            "listen_addresses = '127.0.0.1'".to_string(),
            format!("unix_socket_directories = '{}'", data.display()),
            "log_connections = on".to_string(),
            "log_disconnections = on".to_string(),
            // As docs/server-setup.md: the pid joins Tapgate's decision lines to the server's.
            "log_line_prefix = '%m [%p] %q%u@%d '".to_string(),
            "fsync = off".to_string(),
            "max_connections = 120".to_string(),
        ];
        if ca.is_some() {
            conf.push("ssl = on".to_string());
            conf.push(format!("ssl_cert_file = '{}'", tls_dir.join("server.crt").display()));
            conf.push(format!("ssl_key_file = '{}'", tls_dir.join("server.key").display()));
        } else {
            conf.push("ssl = off".to_string());
        }
        conf.extend(options.settings.iter().cloned());
        let conf_path = data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf_path).unwrap();
        text.push_str("\n# Tapgate test harness\n");
        text.push_str(&conf.join("\n"));
        text.push('\n');
        std::fs::write(&conf_path, text).unwrap();

        let mut hba = vec![format!("local all {PG_USER} trust")];
        if let Some(service) = &options.pam_service {
            let kind = if ca.is_some() { "hostssl" } else { "host" };
            hba.push(format!("{kind} all all 127.0.0.1/32 pam pamservice={service}"));
        }
        hba.extend(options.hba.iter().cloned());
        std::fs::write(data.join("pg_hba.conf"), hba.join("\n") + "\n").unwrap();

        let log = data.join("server.log");
        // A free port can be taken between our probe and the server's bind: try a few.
        for _ in 0..3 {
            let port = free_port();
            let started = run_with_timeout(
                as_postgres(dir.path(), &format!("{PG_BIN_DIR}/pg_ctl"))
                    .arg("-D")
                    .arg(&data)
                    .arg("-l")
                    .arg(&log)
                    .args(["-o", &format!("-p {port}"), "-w", "-t", "30", "-s", "start"]),
                COMMAND_TIMEOUT,
            );
            if started.ok() {
                return PgServer { port, data, ca, log, _dir: dir };
            }
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            assert!(
                text.contains("could not bind") || text.contains("Address already in use"),
                "PostgreSQL did not start: {}\n{}\nlog:\n{text}",
                started.stdout,
                started.stderr
            );
        }
        panic!("PostgreSQL did not start: no free port after 3 tries");
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The data directory (also the unix socket directory).
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// The test CA's certificate (PEM, world-readable); panics when TLS is off.
    pub fn ca(&self) -> &Path {
        self.ca.as_deref().expect("this server runs without TLS: it has no CA")
    }

    /// Everything the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `psql ARGS` as the superuser over the unix socket (no password, `ON_ERROR_STOP`).
    pub fn psql(&self, args: &[&str]) -> Run {
        let mut cmd = Command::new(PSQL);
        cmd.args(["-X", "-w", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(&self.data)
            .args(["-p", &self.port.to_string(), "-U", PG_USER, "-d", "postgres"])
            .args(args);
        clean_pg_env(&mut cmd);
        run_with_timeout(&mut cmd, COMMAND_TIMEOUT)
    }

    /// Runs `query` as the superuser, asserting success; returns its unaligned, tuples-only output.
    pub fn sql(&self, query: &str) -> String {
        let run = self.psql(&["-tA", "-c", query]);
        assert!(run.ok(), "{query} failed: {}", run.stderr);
        run.stdout.trim().to_string()
    }

    /// Waits until `count` sessions run (or last ran) a query that contains `text`, as
    /// pg_stat_activity shows it, so a test acts once its clients are inside the server rather
    /// than after a guessed pause. Panics after [`COMMAND_TIMEOUT`].
    pub fn wait_for_queries(&self, text: &str, count: usize) {
        let query = format!(
            "select count(*) from pg_stat_activity where backend_type = 'client backend' \
             and pid <> pg_backend_pid() and position({} in query) > 0",
            quote_literal(text)
        );
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        loop {
            let running: usize = self.sql(&query).parse().unwrap();
            if running >= count {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{running} of {count} sessions running {text:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `CREATE ROLE "name" LOGIN` (with PAM the role must exist: PAM runs first, then the role
    /// lookup).
    pub fn create_role(&self, name: &str) {
        self.sql(&format!("CREATE ROLE {} LOGIN", quote_ident(name)));
    }

    /// libpq keywords for `user` over TCP to 127.0.0.1 with `sslmode=verify-full` against the
    /// test CA (`sslmode=disable` when TLS is off).
    pub fn conninfo(&self, user: &str) -> String {
        let tls = match &self.ca {
            Some(ca) => format!("sslmode=verify-full sslrootcert={}", ca.display()),
            None => "sslmode=disable".to_string(),
        };
        format!("host=127.0.0.1 port={} user={user} dbname=postgres {tls}", self.port)
    }

    /// psql over TCP as `user` with `password` (a token, for PAM): [`psql_client`] with
    /// [`PgServer::conninfo`].
    pub fn psql_tcp(&self, user: &str, password: Option<&str>, args: &[&str]) -> Run {
        psql_client(&self.conninfo(user), password, args)
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let _ =
            run_with_timeout(
                as_postgres(Path::new("/"), &format!("{PG_BIN_DIR}/pg_ctl"))
                    .arg("-D")
                    .arg(&self.data)
                    .args(["-m", "immediate", "-w", "-s", "stop"]),
                COMMAND_TIMEOUT,
            );
    }
}

/// A new cluster in `dir/data`, owned by the postgres user, made with `bin_dir/initdb`: the
/// superuser `postgres`, trust on the unix socket, TCP refused until pg_hba says otherwise.
pub fn init_cluster(bin_dir: &Path, dir: &Path) -> PathBuf {
    let data = dir.join("data");
    std::fs::create_dir(&data).unwrap();
    chown_to_postgres(&data);
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
    let initdb = as_postgres(dir, &bin_dir.join("initdb").display().to_string())
        .arg("-D")
        .arg(&data)
        .args(["-U", PG_USER, "--auth-local=trust", "--auth-host=reject", "-E", "UTF8", "--locale=C"])
        // No fsync: a test cluster is thrown away.
        .args(["--no-sync", "--no-instructions"])
        .output()
        .unwrap();
    assert!(initdb.status.success(), "initdb failed: {}", String::from_utf8_lossy(&initdb.stderr));
    data
}

/// psql through a Tapgate forwarder on `port` as `user`: loopback, no password, no TLS.
pub fn psql_via_forwarder(port: u16, user: &str, args: &[&str]) -> Run {
    psql_client(
        &format!("host=127.0.0.1 port={port} dbname=postgres user={user} sslmode=disable"),
        None,
        args,
    )
}

/// psql with the connection string `conninfo`, `password` through PGPASSWORD, never prompting,
/// no psqlrc, connect timeout 10 s; killed after [`COMMAND_TIMEOUT`].
pub fn psql_client(conninfo: &str, password: Option<&str>, args: &[&str]) -> Run {
    let mut cmd = Command::new(PSQL);
    clean_pg_env(&mut cmd);
    cmd.args(["-X", "-w", "-v", "ON_ERROR_STOP=1", "-d", conninfo]).args(args).env("PGCONNECT_TIMEOUT", "10");
    if let Some(password) = password {
        cmd.env("PGPASSWORD", password);
    }
    run_with_timeout(&mut cmd, COMMAND_TIMEOUT)
}

/// How the PAM service launches the verifier.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PamLauncher {
    /// Tapgate's `pam_tapgate.so` (the whole token on stdin): what docs/server-setup.md installs.
    #[default]
    TapgateModule,
    /// `pam_exec.so expose_authtok`, which cuts passwords at 511 bytes: only for the test that
    /// shows why Tapgate ships its own module.
    PamExec,
}

/// A PAM service running `tapgate-pam-verify`: its files in a folder the `postgres` user can
/// read, and `/etc/pam.d/<name>`; both removed on drop.
pub struct PamService {
    /// The service name for `pamservice=`.
    pub name: String,
    /// The verifier's configuration file.
    pub config: PathBuf,
    /// The JWKS cache file the verifier writes (as the postgres user).
    pub jwks_cache: PathBuf,
    /// Where the module appends the verifier's decision lines.
    pub decision_log: PathBuf,
    pam_file: PathBuf,
    dir: TempDir,
}

impl PamService {
    /// Installs `verifier_binary` (normally `bin("tapgate-pam-verify")`; the PAM module
    /// `libpam_tapgate.so` is taken from the same folder) with `verify_toml` as its
    /// configuration, launched by `pam_tapgate.so`. See [`PamService::write_config`] for the text.
    pub fn install(verifier_binary: &Path, verify_toml: &str) -> PamService {
        PamService::install_with(PamLauncher::TapgateModule, verifier_binary, verify_toml)
    }

    /// [`PamService::install`] with a choice of launcher.
    pub fn install_with(launcher: PamLauncher, verifier_binary: &Path, verify_toml: &str) -> PamService {
        let dir = postgres_readable_tempdir("tapgate-pam-");
        // Writable by the server: the JWKS cache and the decision log are written as postgres.
        chown_to_postgres(dir.path());
        let verifier = dir.path().join("tapgate-pam-verify");
        std::fs::copy(verifier_binary, &verifier).unwrap();
        std::fs::set_permissions(&verifier, std::fs::Permissions::from_mode(0o755)).unwrap();

        let name =
            format!("tapgate-test-{}-{}", std::process::id(), NEXT_SERVICE.fetch_add(1, Ordering::SeqCst));
        let config = dir.path().join("verify.toml");
        let decision_log = dir.path().join("decisions.log");
        let launch = match launcher {
            PamLauncher::TapgateModule => {
                let built = pam_module_next_to(verifier_binary);
                let module = dir.path().join("pam_tapgate.so");
                std::fs::copy(&built, &module).unwrap();
                std::fs::set_permissions(&module, std::fs::Permissions::from_mode(0o644)).unwrap();
                format!("{} log={}", module.display(), decision_log.display())
            }
            PamLauncher::PamExec => {
                format!("pam_exec.so expose_authtok quiet log={}", decision_log.display())
            }
        };
        let pam_file = PathBuf::from("/etc/pam.d").join(&name);
        std::fs::write(
            &pam_file,
            format!(
                "# Tapgate end-to-end test service; removed when the test ends.\n\
                 auth required {launch} {} --config {}\naccount required pam_permit.so\n",
                verifier.display(),
                config.display()
            ),
        )
        .unwrap();

        let service = PamService {
            name,
            jwks_cache: dir.path().join("jwks.json"),
            config,
            decision_log,
            pam_file,
            dir,
        };
        service.write_config(verify_toml);
        service
    }

    /// The folder holding the verifier, its config and cache (owned by postgres).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Copies `src` into the folder as `name`, readable by the server (e.g. the IdP's CA for
    /// `ca_file`); returns the new path.
    pub fn add_file(&self, name: &str, src: &Path) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::copy(src, &path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        path
    }

    /// (Re)writes `verify.toml`. `{dir}` in the text becomes [`PamService::dir`]; without a
    /// `jwks_cache` key, one pointing at [`PamService::jwks_cache`] is added. The verifier reads
    /// it on every login, so a test may change it between logins.
    pub fn write_config(&self, verify_toml: &str) {
        let mut text = verify_toml.replace("{dir}", &self.dir.path().display().to_string());
        if !text.contains("jwks_cache") {
            text = format!("jwks_cache = \"{}\"\n{text}", self.jwks_cache.display());
        }
        std::fs::write(&self.config, text).unwrap();
        std::fs::set_permissions(&self.config, std::fs::Permissions::from_mode(0o644)).unwrap();
    }

    /// The decision lines so far.
    pub fn decisions(&self) -> String {
        std::fs::read_to_string(&self.decision_log).unwrap_or_default()
    }
}

impl Drop for PamService {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.pam_file);
    }
}

/// The PAM module built with `verifier_binary`: `libpam_tapgate.so` beside it, or in `deps/`
/// where `cargo build --bins` leaves it without copying it up; the newer one wins.
fn pam_module_next_to(verifier_binary: &Path) -> PathBuf {
    let beside = verifier_binary.with_file_name("libpam_tapgate.so");
    let in_deps = verifier_binary.with_file_name("deps").join("libpam_tapgate.so");
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let newest = [beside.clone(), in_deps]
        .into_iter()
        .filter_map(|p| modified(&p).map(|t| (t, p)))
        .max_by_key(|(t, _)| *t)
        .map(|(_, p)| p);
    newest.unwrap_or_else(|| {
        panic!("{} is not built: run `cargo build --workspace --bins --lib`", beside.display())
    })
}

/// A test CA and a server certificate for `names` in `<dir>/tls`; returns the CA's path.
/// The key is 0600 and owned by postgres, as the server demands.
pub fn write_tls(dir: &Path, names: &[&str]) -> PathBuf {
    write_tls_named(dir, names, names.first().copied().unwrap_or("localhost"))
}

/// As [`write_tls`], with `names` as DNS names (none at all is fine) and its own common name.
fn write_tls_named(dir: &Path, names: &[&str], common_name: &str) -> PathBuf {
    let tls = dir.join("tls");
    std::fs::create_dir(&tls).unwrap();
    std::fs::set_permissions(&tls, std::fs::Permissions::from_mode(0o755)).unwrap();

    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    let mut ca_name = DistinguishedName::new();
    ca_name.push(DnType::CommonName, "Tapgate test PostgreSQL CA");
    ca_params.distinguished_name = ca_name;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);

    let mut params = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    params.distinguished_name = name;
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();

    let ca_path = tls.join("ca.pem");
    for (file, text, mode) in [
        (ca_path.clone(), ca_cert.pem(), 0o644),
        (tls.join("server.crt"), cert.pem(), 0o644),
        (tls.join("server.key"), key.serialize_pem(), 0o600),
    ] {
        std::fs::write(&file, text).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
        chown_to_postgres(&file);
    }
    ca_path
}

/// `tls/server.crt` and `server.key` from `openssl req -x509` for 127.0.0.1 and localhost;
/// returns the certificate's path (it is its own "CA").
fn write_self_signed_tls(dir: &Path) -> PathBuf {
    let tls = dir.join("tls");
    std::fs::create_dir(&tls).unwrap();
    std::fs::set_permissions(&tls, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (crt, key) = (tls.join("server.crt"), tls.join("server.key"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
        ])
        .args(["-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&crt)
        .output()
        .unwrap();
    assert!(made.status.success(), "openssl req -x509 failed: {}", String::from_utf8_lossy(&made.stderr));
    for (file, mode) in [(&crt, 0o644), (&key, 0o600)] {
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(mode)).unwrap();
        chown_to_postgres(file);
    }
    crt
}

/// A temp dir (mode 0755) under a folder the postgres user can traverse: `$TMPDIR` when it can,
/// else /tmp.
pub fn postgres_readable_tempdir(prefix: &str) -> TempDir {
    for base in [std::env::temp_dir(), PathBuf::from("/tmp")] {
        let dir = tempfile::Builder::new().prefix(prefix).tempdir_in(&base).unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let reachable =
            as_postgres(Path::new("/"), "/usr/bin/test").arg("-x").arg(dir.path()).status().unwrap();
        if reachable.success() {
            return dir;
        }
    }
    panic!("no temp folder the postgres user can traverse (tried $TMPDIR and /tmp)");
}

/// A command run as the postgres OS user from `cwd` (initdb refuses a cwd it cannot read).
pub fn as_postgres(cwd: &Path, program: &str) -> Command {
    let mut cmd = Command::new("runuser");
    cmd.args(["-u", PG_USER, "--", program]).current_dir(cwd);
    clean_pg_env(&mut cmd);
    cmd
}

/// A second OS user on this machine, created once (an attacker's account on a shared host).
pub const OTHER_USER: &str = "tapgate-e2e-other";

/// Creates [`OTHER_USER`] if it is missing (the tests run as root, as CI does).
pub fn ensure_other_user() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let exists = Command::new("id").arg(OTHER_USER).output().is_ok_and(|o| o.status.success());
        if !exists {
            let made = Command::new("useradd")
                .args(["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", OTHER_USER])
                .output()
                .expect("useradd");
            assert!(made.status.success(), "useradd: {}", String::from_utf8_lossy(&made.stderr));
        }
    });
}

/// psql to a forwarder's loopback port run by [`OTHER_USER`], as an intruder on the same
/// machine would.
pub fn psql_as_other_user(port: u16, user: &str, args: &[&str]) -> Run {
    ensure_other_user();
    let mut cmd = Command::new("runuser");
    cmd.args(["-u", OTHER_USER, "--", PSQL, "-X", "-w", "-d"])
        .arg(format!("host=127.0.0.1 port={port} dbname=postgres user={user} sslmode=disable"))
        .args(args)
        .current_dir("/")
        .env("PGCONNECT_TIMEOUT", "10");
    clean_pg_env(&mut cmd);
    run_with_timeout(&mut cmd, COMMAND_TIMEOUT)
}

pub fn chown_to_postgres(path: &Path) {
    let (uid, gid) = postgres_ids();
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
}

fn postgres_ids() -> (u32, u32) {
    let id = |flag: &str| -> u32 {
        let out = Command::new("id").args([flag, PG_USER]).output().unwrap();
        assert!(out.status.success(), "no `{PG_USER}` OS user: install postgresql-15");
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    (id("-u"), id("-g"))
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// libpq reads PG* variables; a developer's own must not steer the tests.
pub fn clean_pg_env(cmd: &mut Command) {
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PG") {
            cmd.env_remove(key);
        }
    }
}

/// `text` as a single-quoted SQL string literal.
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// `name` as a double-quoted SQL identifier.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Runs `cmd` with its output captured, killing it after `timeout` (the run then has no exit
/// code and says so on stderr).
pub fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> Run {
    use std::io::Read;
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    // Readers on threads so a chatty child never blocks on a full pipe while we wait.
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + timeout;
    let mut killed = false;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            killed = true;
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut stderr = err.join().unwrap_or_default();
    if killed {
        stderr.push_str(&format!("\n(killed after {} s)", timeout.as_secs()));
    }
    Run { code: if killed { None } else { status.code() }, stdout: out.join().unwrap_or_default(), stderr }
}
