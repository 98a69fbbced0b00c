//! The demo's PostgreSQL 18: binaries from `scripts/install-pg18.sh`, a cluster made once, and on
//! every start the settings that can change between runs (port, issuer, validator module path):
//! TLS from the demo CA, `oauth_validator_libraries`, the `oauth` pg_hba line, the validator's
//! `tapgate-verify.toml` in the data directory (where the module looks, see
//! crates/pg-validator/src/location.rs), then the demo roles and sample schema.
//!
//! PostgreSQL refuses to run as root: started by root, every server command runs as the
//! `postgres` OS user through runuser(1), and the files it reads are handed to that user.
//!
//! This file holds [`Cluster`] (where it lives, who runs it) and the helpers every step uses;
//! each step has its own file:
//! - `server_binaries`: [`find_binaries`], the PostgreSQL 18 server binaries, installed when missing.
//! - `server_user`: who runs the server's commands (ourselves, or `postgres` when we are root).
//! - `home`: the folder of the server's files, and the port remembered there.
//! - `initdb`: [`Cluster::init`], making the cluster once.
//! - `settings`: [`Cluster::configure`], what every start rewrites: server settings, pg_hba.conf.
//! - `tls`: the server's certificate and key from the demo CA (made once).
//! - `validator`: the OAuth validator module's copy and its `tapgate-verify.toml`.
//! - `lifecycle`: [`Cluster::start`] and [`Cluster::stop`] with pg_ctl, the postmaster's PID,
//!   the last-resort stop on drop.
//! - `schema`: the demo roles and the sample database, through psql.

mod home;
mod initdb;
mod lifecycle;
mod schema;
mod server_binaries;
mod server_user;
mod settings;
mod tls;
mod validator;

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::process::Command;

use crate::dir::{DemoDir, set_mode};
use crate::error::{DemoError, IoContext as _};
use crate::processes;
pub use server_binaries::find_binaries;
use server_user::ServerUser;

/// The OS user (and superuser role) of the cluster.
const PG_USER: &str = "postgres";

/// A demo cluster (maybe not running).
pub struct Cluster {
    bin: PathBuf,
    home: PathBuf,
    data: PathBuf,
    pub port: u16,
    user: ServerUser,
}

impl Cluster {
    /// Where the cluster lives and who runs it; nothing is created on disk but folders.
    pub async fn prepare(dir: &DemoDir, bin: PathBuf) -> Result<Cluster, DemoError> {
        let user = server_user::server_user().await?;
        let home = home::server_home(dir, user).await?;
        let data = home.join("data");
        let port = home::remembered_port(&home)?;
        Ok(Cluster { bin, home, data, port, user })
    }

    /// Whether the cluster has been made (by an earlier run).
    pub fn exists(&self) -> bool {
        self.data.join("PG_VERSION").is_file()
    }

    pub fn log(&self) -> PathBuf {
        self.home.join("postgres.log")
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
