//! `server_name` that is not a DNS name: Cloud SQL's server certificates name the instance
//! (`project:instance`, in the subject's common name) rather than a host, and the Cloud SQL
//! connectors check that name after checking the chain. [`InstanceName`] does the same under
//! verify-full: the chain (and a pinned certificate) as always, then the instance name, exactly,
//! among the certificate's DNS names and common name. Nothing is downgraded: a certificate that
//! does not carry the name is refused as one that does not carry the host would be.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

/// Checks the chain with `inner`, then that the certificate names `name`.
#[derive(Debug)]
pub(crate) struct InstanceName {
    pub(crate) inner: Arc<dyn ServerCertVerifier>,
    pub(crate) name: String,
}

impl ServerCertVerifier for InstanceName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // `server_name` is the host (for SNI); the name that matters is checked below.
        match self.inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Ok(_)
            | Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => {}
            Err(other) => return Err(other),
        }
        let presented = names_in(end_entity);
        if presented.contains(&self.name) {
            return Ok(ServerCertVerified::assertion());
        }
        Err(rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
            expected: server_name.to_owned(),
            presented,
        }))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The certificate's DNS subject alternative names and its subject's common names.
fn names_in(certificate: &CertificateDer<'_>) -> Vec<String> {
    let Ok((_, parsed)) = x509_parser::parse_x509_certificate(certificate.as_ref()) else {
        return Vec::new();
    };
    let mut names: Vec<String> =
        parsed.subject().iter_common_name().filter_map(|cn| cn.as_str().ok().map(str::to_owned)).collect();
    if let Ok(Some(san)) = parsed.subject_alternative_name() {
        for name in &san.value.general_names {
            if let x509_parser::extensions::GeneralName::DNSName(dns) = name {
                names.push((*dns).to_owned());
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_common_name_and_the_dns_names_are_both_read() {
        let mut params = rcgen::CertificateParams::new(vec!["db.example.com".to_string()]).expect("params");
        params.distinguished_name.push(rcgen::DnType::CommonName, "my-project:my-instance");
        let key = rcgen::KeyPair::generate().expect("key");
        let certificate = params.self_signed(&key).expect("certificate");
        let names = names_in(certificate.der());
        assert!(names.contains(&"my-project:my-instance".to_string()), "{names:?}");
        assert!(names.contains(&"db.example.com".to_string()), "{names:?}");
    }
}
