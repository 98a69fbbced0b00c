//! Tapgate's OAuth validator module on the server side: a copy of the module the server can
//! read, and its `tapgate-verify.toml` in the data directory (where the module looks, see
//! crates/pg-validator/src/location.rs) with the dev IdP's issuer, CA and the demo's roles.

use std::path::{Path, PathBuf};

use super::Cluster;
use crate::binaries::VALIDATOR;
use crate::dir::{DemoDir, set_mode, toml_string};
use crate::error::{DemoError, IoContext as _};

/// The verifier config the validator module reads from the data directory.
const VERIFY_CONF: &str = "tapgate-verify.toml";

impl Cluster {
    /// Copies `validator` into the server's `lib/`, refreshed so a rebuilt module is picked up;
    /// returns the copy's path for `oauth_validator_libraries`.
    pub(super) fn install_validator(&self, validator: &Path) -> Result<PathBuf, DemoError> {
        // A copy the server can read, refreshed so a rebuilt module is picked up.
        let lib = self.home.join("lib");
        std::fs::create_dir_all(&lib).context_with(|| format!("cannot create {}", lib.display()))?;
        set_mode(&lib, 0o755)?;
        let module = lib.join(VALIDATOR);
        std::fs::copy(validator, &module)
            .context_with(|| format!("cannot copy {} to {}", validator.display(), module.display()))?;
        set_mode(&module, 0o644)?;
        Ok(module)
    }

    /// The module's settings for this run's IdP (`issuer`), and the IdP's CA beside them.
    pub(super) fn write_verify_config(&self, dir: &DemoDir, issuer: &str) -> Result<(), DemoError> {
        let idp_ca = std::fs::read_to_string(dir.idp_data().join("ca.pem"))
            .context_with(|| format!("cannot read the dev IdP's CA in {}", dir.idp_data().display()))?;
        self.write_server_file(&self.data.join("tapgate-idp-ca.pem"), &idp_ca, 0o644)?;
        let verify = format!(
            "# Written by `tapgate demo` on every start: the validator module's settings.\n\
             issuer = {issuer}\n\
             audience = \"postgres\"\n\
             ca_file = \"tapgate-idp-ca.pem\"\n\
             jwks_cache = \"tapgate-jwks.json\"\n\
             # The demo signs in with a software key (amr swk); a real server requires hwk.\n\
             require_amr = [\"swk\", \"hwk\"]\n\
             allowed_clients = [\"tapgate\"]\n\
             max_token_lifetime = \"1h\"\n\
             require_typ = \"at+jwt\"\n\
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
}
