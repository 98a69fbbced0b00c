//! The demo's PostgreSQL 18: binaries from `scripts/install-pg18.sh`, a cluster made once, and on
//! every start the settings that can change between runs (port, issuer, validator module path):
//! TLS from the demo CA, `oauth_validator_libraries`, the `oauth` pg_hba line, the validator's
//! `tapgate-verify.toml` in the data directory (where the module looks, see
//! crates/pg-validator/src/location.rs), then the demo roles and sample schema.
//!
//! PostgreSQL refuses to run as root: started by root, every server command runs as the
//! `postgres` OS user through runuser(1), and the files it reads are handed to that user.

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt as _;
use tokio::process::Command;

use crate::binaries::{DemoBinaries, INSTALL_PG18, VALIDATOR};
use crate::dir::{DemoDir, set_mode, toml_string};
use crate::error::{DemoError, IoContext as _};
use crate::progress::Progress;
use crate::{certs, processes};

/// The OS user (and superuser role) of the cluster.
const PG_USER: &str = "postgres";
/// The settings file the demo rewrites on every start, included from postgresql.conf.
const DEMO_CONF: &str = "tapgate-demo.conf";
/// The verifier config the validator module reads from the data directory.
const VERIFY_CONF: &str = "tapgate-verify.toml";

/// Who runs the server's commands.
#[derive(Debug, Clone, Copy)]
enum ServerUser {
    /// The current user (not root).
    Me,
    /// The `postgres` OS user, through runuser (we are root).
    Postgres { uid: u32, gid: u32 },
}

/// A demo cluster (maybe not running).
pub struct Cluster {
    bin: PathBuf,
    home: PathBuf,
    data: PathBuf,
    pub port: u16,
    user: ServerUser,
}

/// The PostgreSQL 18 server binaries' folder: `TAPGATE_PG18_BIN`, else what
/// scripts/install-pg18.sh installed (running it when the demo's executable sits in a Tapgate
/// checkout and nothing is installed yet). Returns the folder and whether it installed now.
pub async fn find_binaries(binaries: &DemoBinaries) -> Result<(PathBuf, bool), DemoError> {
    if let Some(dir) = std::env::var_os("TAPGATE_PG18_BIN").filter(|v| !v.is_empty()) {
        let dir = PathBuf::from(dir);
        if !dir.join("postgres").is_file() {
            return Err(DemoError::BadPostgresBin(dir));
        }
        return Ok((dir, false));
    }
    let Some(repo) = binaries.checkout() else {
        return Err(DemoError::NoPostgres);
    };
    if let Ok(text) = std::fs::read_to_string(repo.join(".cache/pg18.path")) {
        let dir = PathBuf::from(text.trim());
        if dir.join("postgres").is_file() && dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
            return Ok((dir, false));
        }
    }
    let script = repo.join(INSTALL_PG18);
    let out = processes::command(&script)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|error| DemoError::Run { program: script.clone(), error })?;
    if !out.status.success() {
        let detail = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(DemoError::InstallPostgres { script, detail });
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let dir = stdout.lines().last().map(|l| PathBuf::from(l.trim())).unwrap_or_default();
    if !dir.join("postgres").is_file() {
        let detail = format!("it printed no bin folder (got {:?})", stdout.trim());
        return Err(DemoError::InstallPostgres { script, detail });
    }
    Ok((dir, true))
}

impl Cluster {
    /// Where the cluster lives and who runs it; nothing is created on disk but folders.
    pub async fn prepare(dir: &DemoDir, bin: PathBuf) -> Result<Cluster, DemoError> {
        let user = server_user().await?;
        let home = server_home(dir, user).await?;
        let data = home.join("data");
        let port = remembered_port(&home)?;
        Ok(Cluster { bin, home, data, port, user })
    }

    /// Whether the cluster has been made (by an earlier run).
    pub fn exists(&self) -> bool {
        self.data.join("PG_VERSION").is_file()
    }

    /// initdb (trust on the unix socket for the superuser; TCP is configured by [`Cluster::configure`]).
    pub async fn init(&self) -> Result<(), DemoError> {
        if self.data.exists() {
            // Left over from a run stopped during initdb: initdb wants an empty folder.
            std::fs::remove_dir_all(&self.data)
                .context_with(|| format!("cannot clear {}", self.data.display()))?;
        }
        std::fs::create_dir_all(&self.data)
            .context_with(|| format!("cannot create {}", self.data.display()))?;
        self.give_to_server(&self.data)?;
        set_mode(&self.data, 0o700)?;
        let out = self
            .server_command("initdb")
            .arg("-D")
            .arg(&self.data)
            .args(["-U", PG_USER, "--auth-local=trust", "--auth-host=reject", "-E", "UTF8", "--locale=C"])
            .args(["--no-sync", "--no-instructions"])
            .output()
            .await
            .map_err(|error| DemoError::Run { program: self.bin.join("initdb"), error })?;
        if !out.status.success() {
            return Err(DemoError::Initdb(String::from_utf8_lossy(&out.stderr).trim().to_string()));
        }
        let conf = self.data.join("postgresql.conf");
        let mut text =
            std::fs::read_to_string(&conf).context_with(|| format!("cannot read {}", conf.display()))?;
        text.push_str(&format!(
            "\n# Rewritten by `tapgate demo` on every start.\ninclude_if_exists = '{DEMO_CONF}'\n"
        ));
        self.write_server_file(&conf, &text, 0o600)
    }

    /// Writes everything a start needs that may differ from last time: TLS (made once),
    /// settings, pg_hba.conf, the validator module and its verifier config.
    pub fn configure(&self, dir: &DemoDir, issuer: &str, validator: &Path) -> Result<(), DemoError> {
        if !self.data.join("server.crt").is_file() || !dir.server_ca().is_file() {
            let tls = certs::generate().map_err(DemoError::Certificates)?;
            std::fs::write(dir.server_ca(), &tls.ca_pem)
                .context_with(|| format!("cannot write {}", dir.server_ca().display()))?;
            self.write_server_file(&self.data.join("server.key"), &tls.key_pem, 0o600)?;
            self.write_server_file(&self.data.join("server.crt"), &tls.cert_pem, 0o644)?;
        }

        // A copy the server can read, refreshed so a rebuilt module is picked up.
        let lib = self.home.join("lib");
        std::fs::create_dir_all(&lib).context_with(|| format!("cannot create {}", lib.display()))?;
        set_mode(&lib, 0o755)?;
        let module = lib.join(VALIDATOR);
        std::fs::copy(validator, &module)
            .context_with(|| format!("cannot copy {} to {}", validator.display(), module.display()))?;
        set_mode(&module, 0o644)?;

        let settings = format!(
            "# Written by `tapgate demo` on every start.\n\
             listen_addresses = '127.0.0.1'\n\
             port = {port}\n\
             unix_socket_directories = '{data}'\n\
             ssl = on\n\
             ssl_cert_file = 'server.crt'\n\
             ssl_key_file = 'server.key'\n\
             oauth_validator_libraries = '{module}'\n\
             log_connections = on\n",
            port = self.port,
            data = conf_quote(&self.data.display().to_string()),
            module = conf_quote(&module.display().to_string()),
        );
        self.write_server_file(&self.data.join(DEMO_CONF), &settings, 0o600)?;

        let hba = format!(
            "# Written by `tapgate demo` on every start.\n\
             # The superuser over the unix socket, for the demo's own setup.\n\
             local   all  {PG_USER}  trust\n\
             # Everyone else: TLS and a token from the demo IdP, checked by the validator module.\n\
             hostssl all  all       127.0.0.1/32  oauth issuer=\"{issuer}\" scope=\"openid\" delegate_ident_mapping=1\n"
        );
        self.write_server_file(&self.data.join("pg_hba.conf"), &hba, 0o600)?;

        let idp_ca = std::fs::read_to_string(dir.idp_data().join("ca.pem"))
            .context_with(|| format!("cannot read the dev IdP's CA in {}", dir.idp_data().display()))?;
        self.write_server_file(&self.data.join("tapgate-idp-ca.pem"), &idp_ca, 0o644)?;
        let verify = format!(
            "# Written by `tapgate demo` on every start: the validator module's settings.\n\
             issuer = {issuer}\n\
             audience = \"postgres\"\n\
             ca_file = \"tapgate-idp-ca.pem\"\n\
             jwks_cache = \"tapgate-jwks.json\"\n\
             \n\
             [roles]\n\
             app_rw = [\"dba\"]\n\
             app_ro = [\"dba\"]\n",
            issuer = toml_string(issuer),
        );
        self.write_server_file(&self.data.join(VERIFY_CONF), &verify, 0o600)?;
        // Keys cached from an earlier run's IdP address would only be refetched anyway.
        let _ = std::fs::remove_file(self.data.join("tapgate-jwks.json"));
        Ok(())
    }

    /// `pg_ctl start`, waiting until the server accepts connections.
    pub async fn start(&self, progress: &dyn Progress) -> Result<(), DemoError> {
        // A server still running on this folder was left by a demo that did not get to stop it
        // (killed, or the terminal closed): it is ours, so stop it rather than fail on its lock.
        if let Some(pid) = self.postmaster_pid()
            && processes::alive(pid)
        {
            progress.note(&format!("stopping PostgreSQL left running by an earlier demo, pid {pid}"));
            self.stop().await;
        }
        let out = self
            .server_command("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(self.log())
            .args(["-w", "-t", "60", "-s", "start"])
            .output()
            .await
            .map_err(|error| DemoError::Run { program: self.bin.join("pg_ctl"), error })?;
        if !out.status.success() {
            return Err(DemoError::PostgresStart {
                log: self.log(),
                log_tail: processes::log_tail(&self.log(), 10),
            });
        }
        Ok(())
    }

    /// `pg_ctl stop -m fast`: sessions are ended, the cluster is kept for the next run.
    pub async fn stop(&self) {
        let pid = self.postmaster_pid();
        let stop = self
            .server_command("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "fast", "-w", "-t", "30", "-s", "stop"])
            .output();
        let _ = tokio::time::timeout(Duration::from_secs(40), stop).await;
        // pg_ctl returns once postmaster.pid is gone, a moment before the process is; and if
        // pg_ctl gave up or could not run, the server must not be left behind either.
        if let Some(pid) = pid
            && !processes::gone_within(pid, Duration::from_secs(5)).await
        {
            processes::send_signal(pid, "QUIT").await;
            processes::gone_within(pid, Duration::from_secs(5)).await;
        }
    }

    /// The running postmaster's PID, from postmaster.pid (present only while a server runs).
    pub fn postmaster_pid(&self) -> Option<u32> {
        let text = std::fs::read_to_string(self.data.join("postmaster.pid")).ok()?;
        text.lines().next()?.trim().parse().ok()
    }

    pub fn log(&self) -> PathBuf {
        self.home.join("postgres.log")
    }

    /// Whether the sample database is there already.
    pub async fn has_schema(&self) -> Result<bool, DemoError> {
        let out = self
            .psql("postgres")
            .args(["-tAc", "SELECT 1 FROM pg_database WHERE datname = 'demo'"])
            .stdin(Stdio::null())
            .output()
            .await
            .map_err(|error| DemoError::Run { program: "psql".into(), error })?;
        if !out.status.success() {
            return Err(DemoError::Psql(String::from_utf8_lossy(&out.stderr).trim().to_string()));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim() == "1")
    }

    /// The demo roles and the sample database, tables, rows and grants. Safe to run again.
    pub async fn create_schema(&self) -> Result<(), DemoError> {
        let mut child = self
            .psql("postgres")
            .args(["-q", "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| DemoError::Run { program: "psql".into(), error })?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(SCHEMA.as_bytes()).await.context_with(|| "cannot talk to psql".into())?;
        }
        let out = child.wait_with_output().await.context_with(|| "psql failed".into())?;
        if !out.status.success() {
            return Err(DemoError::Schema(String::from_utf8_lossy(&out.stderr).trim().to_string()));
        }
        Ok(())
    }

    /// psql as the superuser over the unix socket (Debian's psql: the npm package has none).
    fn psql(&self, db: &str) -> Command {
        let mut cmd = processes::command("psql");
        cmd.args(["-X", "-w", "-v", "ON_ERROR_STOP=1", "-h"]).arg(&self.data).args([
            "-p",
            &self.port.to_string(),
            "-U",
            PG_USER,
            "-d",
            db,
        ]);
        cmd
    }

    /// A server binary, as the `postgres` OS user when we are root.
    fn server_command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        let mut cmd = match self.user {
            ServerUser::Me => processes::command(&path),
            ServerUser::Postgres { .. } => {
                let mut cmd = processes::command("runuser");
                cmd.args(["-u", PG_USER, "--"]).arg(&path);
                cmd
            }
        };
        // initdb refuses a working folder it cannot read.
        cmd.current_dir("/").stdin(Stdio::null());
        cmd
    }

    /// Writes a file the server reads (and owns, when we are root).
    fn write_server_file(&self, path: &Path, text: &str, mode: u32) -> Result<(), DemoError> {
        std::fs::write(path, text).context_with(|| format!("cannot write {}", path.display()))?;
        set_mode(path, mode)?;
        self.give_to_server(path)
    }

    fn give_to_server(&self, path: &Path) -> Result<(), DemoError> {
        if let ServerUser::Postgres { uid, gid } = self.user {
            std::os::unix::fs::chown(path, Some(uid), Some(gid))
                .context_with(|| format!("cannot hand {} to the {PG_USER} user", path.display()))?;
        }
        Ok(())
    }
}

/// The demo roles and sample data. `\gexec` makes the CREATEs conditional, so a run stopped
/// halfway through can simply run it again.
const SCHEMA: &str = r#"
SELECT 'CREATE ROLE app_rw LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'app_rw') \gexec
SELECT 'CREATE ROLE app_ro LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'app_ro') \gexec
SELECT 'CREATE DATABASE demo' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'demo') \gexec
GRANT CONNECT ON DATABASE demo TO app_rw, app_ro;
\connect demo
CREATE TABLE IF NOT EXISTS customers (
    id   int  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    city text NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    id          int  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id int  NOT NULL REFERENCES customers,
    item        text NOT NULL,
    amount      numeric(10, 2) NOT NULL,
    ordered_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO customers (name, city)
SELECT * FROM (VALUES ('Ada Lovelace', 'London'), ('Grace Hopper', 'Arlington'), ('Edsger Dijkstra', 'Nuenen')) AS v
WHERE NOT EXISTS (SELECT 1 FROM customers);
INSERT INTO orders (customer_id, item, amount)
SELECT c.id, v.item, v.amount
FROM (VALUES ('Ada Lovelace', 'Analytical engine gears', 120.00),
             ('Ada Lovelace', 'Punched cards (box)', 18.50),
             ('Grace Hopper', 'Nanosecond wire', 2.75),
             ('Grace Hopper', 'COBOL manual', 34.90),
             ('Edsger Dijkstra', 'Fountain pen', 49.00)) AS v (name, item, amount)
JOIN customers c ON c.name = v.name
WHERE NOT EXISTS (SELECT 1 FROM orders);
GRANT USAGE ON SCHEMA public TO app_rw, app_ro;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO app_ro;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO app_rw;
"#;

/// Root runs the server as `postgres`; anyone else runs it as themselves.
async fn server_user() -> Result<ServerUser, DemoError> {
    let me = std::fs::metadata("/proc/self").map(|m| m.uid()).unwrap_or(u32::MAX);
    if me != 0 {
        return Ok(ServerUser::Me);
    }
    let id = |flag: &'static str| async move {
        let out = Command::new("id").args([flag, PG_USER]).output().await.ok()?;
        if !out.status.success() {
            return None;
        }
        String::from_utf8_lossy(&out.stdout).trim().parse::<u32>().ok()
    };
    match (id("-u").await, id("-g").await) {
        (Some(uid), Some(gid)) => Ok(ServerUser::Postgres { uid, gid }),
        _ => Err(DemoError::NoPostgresUser),
    }
}

/// The folder of the server's files: `postgres/` in the demo folder, which the `postgres` user
/// must be able to reach when we are root (the demo folder is then opened to traversal only:
/// its files keep their own modes); failing that, a folder under /var/lib/tapgate named after
/// the demo folder, so a second run finds the same cluster.
async fn server_home(dir: &DemoDir, user: ServerUser) -> Result<PathBuf, DemoError> {
    let home = match user {
        ServerUser::Me => dir.server_home(),
        ServerUser::Postgres { .. } => {
            if !postgres_can_reach(dir.root()).await {
                set_mode(dir.root(), 0o711)?;
            }
            if postgres_can_reach(dir.root()).await {
                dir.server_home()
            } else {
                let base = PathBuf::from("/var/lib/tapgate");
                std::fs::create_dir_all(&base)
                    .context_with(|| format!("cannot create {}", base.display()))?;
                set_mode(&base, 0o755)?;
                base.join(format!("demo-{:016x}", fnv1a(dir.root().as_os_str().as_encoded_bytes())))
            }
        }
    };
    std::fs::create_dir_all(&home).context_with(|| format!("cannot create {}", home.display()))?;
    set_mode(&home, 0o755)?;
    if let ServerUser::Postgres { uid, gid } = user {
        // The server writes its log here.
        std::os::unix::fs::chown(&home, Some(uid), Some(gid))
            .context_with(|| format!("cannot hand {} to the {PG_USER} user", home.display()))?;
    }
    Ok(home)
}

async fn postgres_can_reach(path: &Path) -> bool {
    Command::new("runuser")
        .args(["-u", PG_USER, "--", "test", "-x"])
        .arg(path)
        .current_dir("/")
        .status()
        .await
        .map(|s| s.success())
        .unwrap_or(false)
}

/// The port of last time when it is still free, else a free one; remembered in `home/port`.
fn remembered_port(home: &Path) -> Result<u16, DemoError> {
    let file = home.join("port");
    let previous = std::fs::read_to_string(&file).ok().and_then(|t| t.trim().parse::<u16>().ok());
    if let Some(port) = previous
        && std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
    {
        return Ok(port);
    }
    let port = std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .context_with(|| "cannot find a free loopback port".into())?
        .port();
    std::fs::write(&file, format!("{port}\n")).context_with(|| format!("cannot write {}", file.display()))?;
    Ok(port)
}

/// A postgresql.conf string value's inside.
fn conf_quote(value: &str) -> String {
    value.replace('\\', "\\\\").replace('\'', "''")
}

/// FNV-1a: a stable name for a path (std's hasher may change between Rust releases).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// A last resort for when the demo unwinds (a panic) without reaching [`Cluster::stop`]: the
/// server runs detached from our process group, so nothing else would stop it. SIGINT is
/// PostgreSQL's fast shutdown. After a normal stop there is no postmaster.pid and this does nothing.
impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(pid) = self.postmaster_pid()
            && processes::alive(pid)
        {
            let _ = std::process::Command::new("kill").arg("-INT").arg(pid.to_string()).status();
        }
    }
}
