//! What `tapgate doctor` asks of an IdP without signing in: its discovery document and its
//! signing keys (JWKS), through the same HTTPS client as every other call (system roots plus
//! `ca_file`, timeouts, https only), and the clock skew measured on those answers' `Date`.

use url::Url;

use crate::discovery::discovery_url;
use crate::{IdpClient, IdpError};

/// The IdP's discovery document, fetched and checked (OIDC Discovery §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryProbe {
    /// Where it was fetched: `<issuer>/.well-known/openid-configuration`.
    pub url: String,
    /// Where it says the signing keys are.
    pub jwks_uri: Url,
}

/// The IdP's signing keys, fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwksProbe {
    pub url: Url,
    /// How many keys the set holds.
    pub keys: usize,
}

impl IdpClient {
    /// Fetches and checks the discovery document (the issuer it names must be ours). A client
    /// made for the check fetches it afresh; one that already has it answers from memory.
    pub async fn probe_discovery(&self) -> Result<DiscoveryProbe, IdpError> {
        let discovery = self.discovery().await?;
        Ok(DiscoveryProbe { url: discovery_url(&self.config().issuer), jwks_uri: discovery.jwks_uri.clone() })
    }

    /// Fetches the signing keys named by the discovery document.
    pub async fn probe_jwks(&self) -> Result<JwksProbe, IdpError> {
        let discovery = self.discovery().await?;
        let jwks = crate::browser::id_token::fetch_jwks(self.http(), discovery, self.config()).await?;
        Ok(JwksProbe { url: discovery.jwks_uri.clone(), keys: jwks.keys().len() })
    }
}
