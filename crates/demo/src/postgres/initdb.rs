//! Making the cluster once with initdb: an empty data directory the server owns, trust for the
//! superuser on the unix socket only, and postgresql.conf told to include the settings file the
//! demo rewrites on every start.

use super::settings::DEMO_CONF;
use super::{Cluster, PG_USER};
use crate::dir::set_mode;
use crate::error::{DemoError, IoContext as _};

impl Cluster {
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
}
