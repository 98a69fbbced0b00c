//! The server's TLS: the demo CA (for the demo config's `ca_file`) and the server certificate and
//! key in the data directory, made once and kept while both are there.

use super::Cluster;
use crate::certs;
use crate::dir::DemoDir;
use crate::error::{DemoError, IoContext as _};

impl Cluster {
    /// Writes the demo CA and `server.crt`/`server.key` unless a run made them already.
    pub(super) fn ensure_tls(&self, dir: &DemoDir) -> Result<(), DemoError> {
        if !self.data.join("server.crt").is_file() || !dir.server_ca().is_file() {
            let tls = certs::generate().map_err(DemoError::Certificates)?;
            std::fs::write(dir.server_ca(), &tls.ca_pem)
                .context_with(|| format!("cannot write {}", dir.server_ca().display()))?;
            self.write_server_file(&self.data.join("server.key"), &tls.key_pem, 0o600)?;
            self.write_server_file(&self.data.join("server.crt"), &tls.cert_pem, 0o644)?;
        }
        Ok(())
    }
}
