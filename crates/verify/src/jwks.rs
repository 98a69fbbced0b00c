//! The IdP's public keys (a JWK Set, RFC 7517 §5) and the choice of the one key that may verify a
//! token: same `kid`, a key type that fits the pinned algorithm, meant for signatures.

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

use crate::VerifyError;

/// The usable keys of a JWK Set, by `kid`.
#[derive(Debug, Clone, Default)]
pub struct PublicKeys {
    keys: Vec<(String, Jwk)>,
}

impl PublicKeys {
    /// Reads a JWK Set document. Keys this crate cannot use (no `kid`, an unknown key type) are
    /// skipped rather than failing the whole set: IdPs publish encryption keys and new key types
    /// next to the signing keys.
    pub fn from_document(document: &Value) -> Result<PublicKeys, String> {
        let Some(entries) = document.get("keys").and_then(Value::as_array) else {
            return Err("the JWKS has no \"keys\" array".to_string());
        };
        let keys = entries
            .iter()
            .filter_map(|entry| {
                let jwk: Jwk = serde_json::from_value(entry.clone()).ok()?;
                let kid = jwk.common.key_id.clone()?;
                Some((kid, jwk))
            })
            .collect();
        Ok(PublicKeys { keys })
    }

    /// The key with `kid`, if published.
    pub fn get(&self, kid: &str) -> Option<&Jwk> {
        self.keys.iter().find(|(k, _)| k == kid).map(|(_, jwk)| jwk)
    }

    /// The published `kid`s, in document order.
    pub fn kids(&self) -> Vec<String> {
        self.keys.iter().map(|(kid, _)| kid.clone()).collect()
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// A decoding key for `alg` from `jwk`, refusing any key that does not fit it.
///
/// This is where "never accept an HMAC algorithm with a key meant for RSA/EC" is enforced from the
/// key's side: an `oct` key is never usable, an EC key only for ES256 on P-256, an RSA key only
/// for RS256, and a key that declares another `alg` or `use` is not used at all.
pub fn decoding_key(kid: &str, jwk: &Jwk, alg: Algorithm) -> Result<DecodingKey, VerifyError> {
    let unusable = |reason: &str| VerifyError::KeyUnusable {
        kid: kid.to_string(),
        alg: format!("{alg:?}"),
        reason: reason.to_string(),
    };
    if matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature) {
        return Err(unusable("the key is not published for signatures (use is not \"sig\")"));
    }
    if let Some(declared) = jwk.common.key_algorithm {
        let fits = matches!(
            (declared, alg),
            (KeyAlgorithm::ES256, Algorithm::ES256) | (KeyAlgorithm::RS256, Algorithm::RS256)
        );
        if !fits {
            return Err(unusable(&format!("the key is published for {declared:?}")));
        }
    }
    let fits = match (&jwk.algorithm, alg) {
        (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES256) => ec.curve == EllipticCurve::P256,
        (AlgorithmParameters::RSA(_), Algorithm::RS256) => true,
        _ => false,
    };
    if !fits {
        return Err(unusable("its key type does not match the algorithm"));
    }
    DecodingKey::from_jwk(jwk).map_err(|e| unusable(&format!("the key cannot be read ({e})")))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ec_key(kid: &str) -> Value {
        // A valid P-256 point (the generator) is enough to build a decoding key.
        json!({
            "kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
            "x": "axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY",
            "y": "T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU"
        })
    }

    #[test]
    fn keys_without_kid_or_of_unknown_types_are_skipped() {
        let doc = json!({"keys": [
            ec_key("one"),
            {"kty": "EC", "crv": "P-256", "x": "axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY", "y": "T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU"},
            {"kty": "weird", "kid": "w"},
            ec_key("two"),
        ]});
        let keys = PublicKeys::from_document(&doc).expect("parsed");
        assert_eq!(keys.kids(), vec!["one", "two"]);
        assert!(PublicKeys::from_document(&json!({"nokeys": []})).is_err());
    }

    #[test]
    fn an_ec_key_verifies_es256_only() {
        let doc = json!({"keys": [ec_key("one")]});
        let keys = PublicKeys::from_document(&doc).expect("parsed");
        let jwk = keys.get("one").expect("one");
        assert!(decoding_key("one", jwk, Algorithm::ES256).is_ok());
        let err = decoding_key("one", jwk, Algorithm::RS256).expect_err("rs256").to_string();
        assert!(err.contains("cannot verify a RS256 token"), "{err}");
    }

    #[test]
    fn an_hmac_key_is_never_usable() {
        let doc = json!({"keys": [{"kty": "oct", "kid": "h", "k": "c2VjcmV0"}]});
        let keys = PublicKeys::from_document(&doc).expect("parsed");
        let jwk = keys.get("h").expect("h");
        assert!(decoding_key("h", jwk, Algorithm::ES256).is_err());
        assert!(decoding_key("h", jwk, Algorithm::RS256).is_err());
    }

    #[test]
    fn an_encryption_key_is_not_used_for_signatures() {
        let mut key = ec_key("enc");
        key["use"] = json!("enc");
        let keys = PublicKeys::from_document(&json!({"keys": [key]})).expect("parsed");
        let err = decoding_key("enc", keys.get("enc").expect("enc"), Algorithm::ES256).expect_err("enc");
        assert!(err.to_string().contains("not published for signatures"), "{err}");
    }
}
