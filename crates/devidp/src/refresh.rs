//! Refresh tokens: opaque random strings handed to clients, of which only a SHA-256 is kept
//! (in `refresh-tokens.json`); each is single use and rotated on redemption.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::data_dir::DataDir;
use crate::error::Error;

/// How long an expired token is remembered, to explain a refusal.
const EXPIRED_KEPT_SECS: i64 = 24 * 3600;

/// `refresh-tokens.json`: SHA-256 (base64url) of the token -> what it grants.
#[derive(Debug, Default, Serialize, Deserialize)]
struct RefreshFile {
    tokens: BTreeMap<String, RefreshRecord>,
}

/// What a refresh token lets its holder obtain again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RefreshRecord {
    pub(crate) sub: Uuid,
    pub(crate) client_id: String,
    pub(crate) audience: String,
    pub(crate) scope: String,
    /// IdP time of the sign-in this token descends from.
    pub(crate) authenticated_at: i64,
    /// IdP time after which the token (and every rotation of it) is refused. Rotation keeps
    /// it: `--refresh-ttl` bounds how long one key tap lasts, not the idle time.
    pub(crate) expires_at: i64,
    /// The authorization code this token descends from (its digest, see
    /// `auth_code::grant_id`), so replaying the code can revoke it. Rotation keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) grant: Option<String>,
    /// How the person signed in at the key tap (RFC 8176), repeated in every token of the
    /// family: a refresh proves nothing new.
    #[serde(default)]
    pub(crate) amr: Vec<String>,
}

/// The outcome of presenting a refresh token.
#[derive(Debug)]
pub(crate) enum Redeemed {
    /// Valid: the token is now used up, the caller issues a new one.
    Valid(RefreshRecord),
    /// Known but past its expiry (now removed).
    Expired(RefreshRecord),
    /// Never issued, or already used.
    Unknown,
}

/// Stores `record` under a fresh token and returns the token, which is not kept anywhere.
pub(crate) fn issue(dir: &DataDir, record: RefreshRecord, now: i64) -> Result<String, Error> {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);

    let _lock = dir.lock()?;
    let mut file = load(dir)?;
    // Housekeeping: expired tokens can never be redeemed. Keep them a day longer so a late
    // client is told "expired" rather than "unknown".
    file.tokens.retain(|_, r| r.expires_at.saturating_add(EXPIRED_KEPT_SECS) > now);
    file.tokens.insert(digest(&token), record);
    dir.write_json(&dir.refresh_tokens_path(), &file)?;
    Ok(token)
}

/// Consumes `token`: whatever the outcome it cannot be presented again.
pub(crate) fn redeem(dir: &DataDir, token: &str, now: i64) -> Result<Redeemed, Error> {
    let _lock = dir.lock()?;
    let mut file = load(dir)?;
    let Some(record) = file.tokens.remove(&digest(token)) else {
        return Ok(Redeemed::Unknown);
    };
    dir.write_json(&dir.refresh_tokens_path(), &file)?;
    if record.expires_at <= now { Ok(Redeemed::Expired(record)) } else { Ok(Redeemed::Valid(record)) }
}

/// Puts back a token [`redeem`] took, for a request refused for what it asked (a scope not
/// granted): RFC 6749 §5.2 errors about the request leave the grant as it was.
pub(crate) fn put_back(dir: &DataDir, token: &str, record: RefreshRecord) -> Result<(), Error> {
    let _lock = dir.lock()?;
    let mut file = load(dir)?;
    file.tokens.insert(digest(token), record);
    dir.write_json(&dir.refresh_tokens_path(), &file)
}

/// RFC 7009 2.1: forgets `token`. Returns what it granted, `None` when it was unknown
/// (which the caller does not reveal).
pub(crate) fn revoke(dir: &DataDir, token: &str) -> Result<Option<RefreshRecord>, Error> {
    let _lock = dir.lock()?;
    let mut file = load(dir)?;
    let removed = file.tokens.remove(&digest(token));
    if removed.is_some() {
        dir.write_json(&dir.refresh_tokens_path(), &file)?;
    }
    Ok(removed)
}

/// Forgets every token descending from the authorization code `grant`; returns how many.
pub(crate) fn revoke_grant(dir: &DataDir, grant: &str) -> Result<usize, Error> {
    let _lock = dir.lock()?;
    let mut file = load(dir)?;
    let before = file.tokens.len();
    file.tokens.retain(|_, r| r.grant.as_deref() != Some(grant));
    let revoked = before - file.tokens.len();
    if revoked > 0 {
        dir.write_json(&dir.refresh_tokens_path(), &file)?;
    }
    Ok(revoked)
}

fn load(dir: &DataDir) -> Result<RefreshFile, Error> {
    Ok(dir.read_json(&dir.refresh_tokens_path())?.unwrap_or_default())
}

fn digest(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(expires_at: i64) -> RefreshRecord {
        RefreshRecord {
            sub: Uuid::new_v4(),
            client_id: "tapgate".into(),
            audience: "tapgate".into(),
            scope: "openid".into(),
            authenticated_at: 0,
            expires_at,
            grant: None,
            amr: vec!["swk".into()],
        }
    }

    #[test]
    fn a_token_works_once_and_is_not_stored() -> Result<(), Box<dyn std::error::Error>> {
        let temp = tempfile::tempdir()?;
        let dir = DataDir::create(temp.path())?;
        let token = issue(&dir, record(200), 100)?;
        let stored = std::fs::read_to_string(dir.refresh_tokens_path())?;
        assert!(!stored.contains(&token));
        assert!(matches!(redeem(&dir, &token, 150)?, Redeemed::Valid(_)));
        assert!(matches!(redeem(&dir, &token, 150)?, Redeemed::Unknown));
        Ok(())
    }

    #[test]
    fn an_expired_token_is_refused() -> Result<(), Box<dyn std::error::Error>> {
        let temp = tempfile::tempdir()?;
        let dir = DataDir::create(temp.path())?;
        let token = issue(&dir, record(200), 100)?;
        assert!(matches!(redeem(&dir, &token, 200)?, Redeemed::Expired(_)));
        Ok(())
    }

    #[test]
    fn a_revoked_token_no_longer_redeems() -> Result<(), Box<dyn std::error::Error>> {
        let temp = tempfile::tempdir()?;
        let dir = DataDir::create(temp.path())?;
        let token = issue(&dir, record(200), 100)?;
        assert!(revoke(&dir, &token)?.is_some());
        assert!(revoke(&dir, &token)?.is_none());
        assert!(revoke(&dir, "never-issued")?.is_none());
        assert!(matches!(redeem(&dir, &token, 150)?, Redeemed::Unknown));
        Ok(())
    }

    #[test]
    fn revoking_a_grant_takes_every_token_from_it() -> Result<(), Box<dyn std::error::Error>> {
        let temp = tempfile::tempdir()?;
        let dir = DataDir::create(temp.path())?;
        let from_code = RefreshRecord { grant: Some("g1".into()), ..record(200) };
        let first = issue(&dir, from_code.clone(), 100)?;
        let second = issue(&dir, from_code, 100)?;
        let other = issue(&dir, record(200), 100)?;
        assert_eq!(revoke_grant(&dir, "g1")?, 2);
        assert!(matches!(redeem(&dir, &first, 150)?, Redeemed::Unknown));
        assert!(matches!(redeem(&dir, &second, 150)?, Redeemed::Unknown));
        assert!(matches!(redeem(&dir, &other, 150)?, Redeemed::Valid(_)));
        Ok(())
    }
}
