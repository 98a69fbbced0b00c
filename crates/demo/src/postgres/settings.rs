//! What every start rewrites, because it may differ from last time (port, issuer, module path):
//! [`Cluster::configure`] in order (TLS, the validator module, the server settings file,
//! pg_hba.conf, the validator's config), and the text of the settings file and pg_hba.conf.

use std::path::Path;

use super::{Cluster, PG_USER};
use crate::dir::DemoDir;
use crate::error::DemoError;

/// The settings file the demo rewrites on every start, included from postgresql.conf.
pub(super) const DEMO_CONF: &str = "tapgate-demo.conf";

impl Cluster {
    /// Writes everything a start needs that may differ from last time: TLS (made once),
    /// settings, pg_hba.conf, the validator module and its verifier config.
    pub fn configure(&self, dir: &DemoDir, issuer: &str, validator: &Path) -> Result<(), DemoError> {
        self.ensure_tls(dir)?;
        let module = self.install_validator(validator)?;

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

        self.write_verify_config(dir, issuer)
    }
}

/// A postgresql.conf string value's inside.
fn conf_quote(value: &str) -> String {
    value.replace('\\', "\\\\").replace('\'', "''")
}

#[cfg(test)]
mod tests {
    use super::conf_quote;

    #[test]
    fn settings_values_double_quotes_and_escape_backslashes() {
        assert_eq!(conf_quote(r"/home/o'brien\x"), r"/home/o''brien\\x");
    }
}
