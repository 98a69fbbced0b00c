//! Token signing keys: ES256 (P-256) keys kept in `signing-keys.json`, rotation, and the
//! JWKS document that publishes them.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::EncodingKey;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::clock::real_unix_now;
use crate::data_dir::DataDir;
use crate::error::Error;

/// `signing-keys.json`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct KeysFile {
    keys: Vec<StoredKey>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredKey {
    /// RFC 7638 thumbprint of the public key, so a kid names exactly one key.
    kid: String,
    /// Real Unix time the key was made.
    created_at: i64,
    /// Real Unix time the key stopped signing; `None` for the key in use.
    #[serde(default)]
    retired_at: Option<i64>,
    /// PKCS#8 PEM of the private key.
    private_key_pem: String,
}

/// The key new tokens are signed with.
pub(crate) struct ActiveKey {
    pub(crate) kid: String,
    pub(crate) encoding_key: EncodingKey,
}

/// What `rotate-key` did.
#[derive(Debug, Clone)]
pub struct RotatedKey {
    /// The key new tokens will carry in their `kid` header.
    pub new_kid: String,
    /// The key that stopped signing; still published until its tokens have expired.
    pub retired_kid: Option<String>,
}

/// The signing keys as currently on disk.
pub(crate) struct SigningKeys {
    keys: Vec<StoredKey>,
}

impl SigningKeys {
    /// Reads `signing-keys.json`. Cheap enough to do per request, which is how the server
    /// notices `rotate-key` run by another process.
    pub(crate) fn load(dir: &DataDir) -> Result<Self, Error> {
        let file: KeysFile = dir.read_json(&dir.signing_keys_path())?.unwrap_or_default();
        Ok(Self { keys: file.keys })
    }

    /// The newest key that is not retired.
    pub(crate) fn active(&self) -> Result<ActiveKey, Error> {
        let stored = self.keys.iter().rev().find(|k| k.retired_at.is_none()).ok_or_else(|| {
            Error::SigningKey("no active signing key: run `tapgate-devidp rotate-key`".into())
        })?;
        let secret = parse_secret(stored)?;
        let der = secret.to_pkcs8_der().map_err(|e| Error::SigningKey(e.to_string()))?;
        Ok(ActiveKey { kid: stored.kid.clone(), encoding_key: EncodingKey::from_ec_der(der.as_bytes()) })
    }

    /// The JWKS document: the active key, plus each retired key while tokens it signed may
    /// still be valid (retired less than `token_lifetime` ago).
    pub(crate) fn jwks(&self, token_lifetime: Duration) -> Result<Value, Error> {
        let now = real_unix_now();
        let lifetime = i64::try_from(token_lifetime.as_secs()).unwrap_or(i64::MAX);
        // Keys are appended as they are made, so reversing puts the key in use first.
        let keys = self
            .keys
            .iter()
            .rev()
            .filter(|k| match k.retired_at {
                None => true,
                Some(retired) => retired.saturating_add(lifetime) > now,
            })
            .map(|k| public_jwk(&parse_secret(k)?, &k.kid))
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(json!({ "keys": keys }))
    }

    fn has_active(&self) -> bool {
        self.keys.iter().any(|k| k.retired_at.is_none())
    }
}

/// Makes sure there is a key to sign with, creating the first one on a fresh directory.
pub(crate) fn ensure_signing_key(dir: &DataDir) -> Result<(), Error> {
    let _lock = dir.lock()?;
    let mut keys = SigningKeys::load(dir)?;
    if keys.has_active() {
        return Ok(());
    }
    let key = generate_key()?;
    tracing::info!(kid = %key.kid, "created the first signing key");
    keys.keys.push(key);
    save(dir, keys)
}

/// Adds a new signing key that new tokens will use and retires the current one (which stays
/// published while tokens it signed can still be valid).
pub fn rotate_key(dir: &DataDir) -> Result<RotatedKey, Error> {
    let _lock = dir.lock()?;
    let mut keys = SigningKeys::load(dir)?;
    let now = real_unix_now();
    let mut retired_kid = None;
    for key in keys.keys.iter_mut().filter(|k| k.retired_at.is_none()) {
        key.retired_at = Some(now);
        retired_kid = Some(key.kid.clone());
    }
    let key = generate_key()?;
    let new_kid = key.kid.clone();
    keys.keys.push(key);
    save(dir, keys)?;
    Ok(RotatedKey { new_kid, retired_kid })
}

fn save(dir: &DataDir, keys: SigningKeys) -> Result<(), Error> {
    dir.write_json(&dir.signing_keys_path(), &KeysFile { keys: keys.keys })
}

fn generate_key() -> Result<StoredKey, Error> {
    let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
    let pem = secret.to_pkcs8_pem(LineEnding::LF).map_err(|e| Error::SigningKey(e.to_string()))?;
    let (x, y) = coordinates(&secret)?;
    Ok(StoredKey {
        kid: thumbprint(&x, &y),
        created_at: real_unix_now(),
        retired_at: None,
        private_key_pem: pem.to_string(),
    })
}

fn parse_secret(stored: &StoredKey) -> Result<p256::SecretKey, Error> {
    p256::SecretKey::from_pkcs8_pem(&stored.private_key_pem)
        .map_err(|e| Error::SigningKey(format!("signing key {} cannot be read: {e}", stored.kid)))
}

/// Base64url x and y of the public point.
fn coordinates(secret: &p256::SecretKey) -> Result<(String, String), Error> {
    let point = secret.public_key().to_encoded_point(false);
    match (point.x(), point.y()) {
        (Some(x), Some(y)) => Ok((URL_SAFE_NO_PAD.encode(x), URL_SAFE_NO_PAD.encode(y))),
        _ => Err(Error::SigningKey("public key has no coordinates".into())),
    }
}

fn public_jwk(secret: &p256::SecretKey, kid: &str) -> Result<Value, Error> {
    let (x, y) = coordinates(secret)?;
    Ok(json!({
        "kty": "EC",
        "crv": "P-256",
        "x": x,
        "y": y,
        "kid": kid,
        "use": "sig",
        "alg": "ES256",
    }))
}

/// RFC 7638 JWK thumbprint: SHA-256 over the required members in lexicographic order.
fn thumbprint(x: &str, y: &str) -> String {
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kids(jwks: &Value) -> Vec<String> {
        jwks["keys"]
            .as_array()
            .map(|keys| keys.iter().filter_map(|k| k["kid"].as_str().map(String::from)).collect())
            .unwrap_or_default()
    }

    #[test]
    fn rotation_keeps_the_old_key_published_for_one_token_lifetime() -> Result<(), Box<dyn std::error::Error>>
    {
        let temp = tempfile::tempdir()?;
        let dir = DataDir::create(temp.path())?;
        ensure_signing_key(&dir)?;
        let first = SigningKeys::load(&dir)?.active()?.kid;
        let rotated = rotate_key(&dir)?;
        assert_eq!(rotated.retired_kid.as_deref(), Some(first.as_str()));

        let keys = SigningKeys::load(&dir)?;
        assert_eq!(keys.active()?.kid, rotated.new_kid);
        let within = kids(&keys.jwks(Duration::from_secs(900))?);
        assert_eq!(within, vec![rotated.new_kid.clone(), first]);
        // With a zero lifetime no token of the old key can still be valid.
        let after = kids(&keys.jwks(Duration::ZERO)?);
        assert_eq!(after, vec![rotated.new_kid]);
        Ok(())
    }
}
