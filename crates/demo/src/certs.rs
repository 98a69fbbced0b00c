//! The demo's own CA and the PostgreSQL server certificate it signs (localhost, 127.0.0.1), so
//! the forwarder checks the server with `sslmode = verify-full` exactly as in production.

use rcgen::{BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair};

/// PEM texts of a fresh CA certificate and a server certificate + key it signed.
pub struct ServerTls {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
}

/// Makes the demo CA and a server certificate for `localhost` and `127.0.0.1`. The CA key is
/// dropped: nothing else is ever signed with it.
pub fn generate() -> Result<ServerTls, rcgen::Error> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    let mut ca_name = DistinguishedName::new();
    ca_name.push(DnType::CommonName, "Tapgate demo PostgreSQL CA");
    ca_params.distinguished_name = ca_name;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);

    // rcgen makes an IP address SAN of a name that parses as one.
    let mut params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])?;
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, "localhost");
    params.distinguished_name = name;
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &issuer)?;
    Ok(ServerTls { ca_pem: ca_cert.pem(), cert_pem: cert.pem(), key_pem: key.serialize_pem() })
}
