//! Authorization codes (RFC 6749 4.1.2): random, single use, valid for 60 seconds on the IdP
//! clock, bound to everything the `/authorize` request named and to the person who tapped.
//!
//! Kept in `authorization-codes.json` as SHA-256 digests only, under the data directory lock,
//! so any process serving the directory can redeem a code and none can read one back. A
//! redeemed code stays on file (marked used) until well after it expires, so a second
//! redemption is recognised as a replay (RFC 6749 4.1.2) rather than as an unknown code.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::data_dir::DataDir;
use crate::error::Error;
use crate::pending::random_id;

/// How long a code may be redeemed (RFC 6749 4.1.2 recommends at most 10 minutes; the
/// client redeems at once).
pub(crate) const CODE_TTL_SECS: i64 = 60;

/// How long a code is remembered after it expires, to recognise a replay.
const REMEMBERED_SECS: i64 = 3600;

/// `authorization-codes.json`: digest of the code -> what it grants.
#[derive(Debug, Default, Serialize, Deserialize)]
struct CodesFile {
    codes: BTreeMap<String, CodeRecord>,
}

/// What a code was issued for; the token request must match it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CodeRecord {
    pub(crate) client_id: String,
    /// Exactly as sent to `/authorize` (RFC 6749 4.1.3: the token request repeats it).
    pub(crate) redirect_uri: String,
    pub(crate) code_challenge: String,
    pub(crate) nonce: Option<String>,
    pub(crate) sub: Uuid,
    pub(crate) user_name: String,
    pub(crate) audience: String,
    pub(crate) scope: String,
    /// IdP time of the key tap.
    pub(crate) authenticated_at: i64,
    /// How the person signed in (RFC 8176: `hwk` or `swk`).
    #[serde(default)]
    pub(crate) amr: Vec<String>,
    pub(crate) expires_at: i64,
    /// Set at the first redemption, whatever its outcome.
    #[serde(default)]
    pub(crate) used: bool,
}

/// The outcome of presenting a code.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Redeemed {
    /// First presentation within its lifetime: the code is now used up. `grant` names the
    /// tokens issued from it (see [`grant_id`]).
    Valid { record: CodeRecord, grant: String },
    /// Presented again: whatever was issued from `grant` should be revoked.
    Replayed { record: CodeRecord, grant: String },
    /// Known but too late (now used up as well).
    Expired(CodeRecord),
    /// Never issued, or forgotten long ago.
    Unknown,
}

/// Stores `record` under a fresh code and returns the code, which is not kept anywhere.
pub(crate) fn issue(dir: &DataDir, record: CodeRecord, now: i64) -> Result<String, Error> {
    let code = random_id();
    let _lock = dir.lock()?;
    let mut file = load(dir)?;
    file.codes.retain(|_, r| r.expires_at.saturating_add(REMEMBERED_SECS) > now);
    file.codes.insert(grant_id(&code), CodeRecord { used: false, ..record });
    dir.write_json(&dir.authorization_codes_path(), &file)?;
    Ok(code)
}

/// Presents `code`: the first presentation uses it up, whatever the token request's other
/// fields turn out to be.
pub(crate) fn redeem(dir: &DataDir, code: &str, now: i64) -> Result<Redeemed, Error> {
    let grant = grant_id(code);
    let _lock = dir.lock()?;
    let mut file = load(dir)?;
    let Some(record) = file.codes.get_mut(&grant) else {
        return Ok(Redeemed::Unknown);
    };
    let first = !record.used;
    record.used = true;
    let record = record.clone();
    if first {
        dir.write_json(&dir.authorization_codes_path(), &file)?;
    }
    Ok(if !first {
        Redeemed::Replayed { record, grant }
    } else if record.expires_at <= now {
        Redeemed::Expired(record)
    } else {
        Redeemed::Valid { record, grant }
    })
}

/// The digest under which a code is filed, also the id of the grant its tokens descend
/// from (refresh tokens carry it, so a replay can revoke them). Not secret: it cannot be
/// turned back into the code.
pub(crate) fn grant_id(code: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(code.as_bytes()))
}

fn load(dir: &DataDir) -> Result<CodesFile, Error> {
    Ok(dir.read_json(&dir.authorization_codes_path())?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(now: i64) -> CodeRecord {
        CodeRecord {
            client_id: "tapgate".into(),
            redirect_uri: "http://127.0.0.1:5555/callback".into(),
            code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
            nonce: Some("n-0S6_WzA2Mj".into()),
            sub: Uuid::new_v4(),
            user_name: "alice@example.com".into(),
            audience: "postgres".into(),
            scope: "openid groups".into(),
            authenticated_at: now,
            amr: vec!["swk".into()],
            expires_at: now + CODE_TTL_SECS,
            used: false,
        }
    }

    #[test]
    fn a_code_redeems_once_with_everything_it_was_bound_to() -> Result<(), Box<dyn std::error::Error>> {
        let temp = tempfile::tempdir()?;
        let dir = DataDir::create(temp.path())?;
        let issued = record(1000);
        let code = issue(&dir, issued.clone(), 1000)?;
        assert!(code.len() >= 43);

        let Redeemed::Valid { record, grant } = redeem(&dir, &code, 1010)? else {
            return Err("first redemption should be valid".into());
        };
        assert_eq!(record, CodeRecord { used: true, ..issued });
        assert_eq!(grant, grant_id(&code));
        assert!(matches!(redeem(&dir, &code, 1011)?, Redeemed::Replayed { grant: g, .. } if g == grant));
        assert_eq!(redeem(&dir, "not-a-code", 1011)?, Redeemed::Unknown);
        Ok(())
    }

    #[test]
    fn a_code_expires_after_sixty_seconds_of_idp_time() -> Result<(), Box<dyn std::error::Error>> {
        let temp = tempfile::tempdir()?;
        let dir = DataDir::create(temp.path())?;
        let code = issue(&dir, record(1000), 1000)?;
        let late = issue(&dir, record(1000), 1000)?;
        assert!(matches!(redeem(&dir, &code, 1059)?, Redeemed::Valid { .. }));
        assert!(matches!(redeem(&dir, &late, 1060)?, Redeemed::Expired(_)));
        // Using it up late still counts as its one use.
        assert!(matches!(redeem(&dir, &late, 1061)?, Redeemed::Replayed { .. }));
        Ok(())
    }

    #[test]
    fn only_digests_are_stored() -> Result<(), Box<dyn std::error::Error>> {
        let temp = tempfile::tempdir()?;
        let dir = DataDir::create(temp.path())?;
        let code = issue(&dir, record(1000), 1000)?;
        let stored = std::fs::read_to_string(dir.authorization_codes_path())?;
        assert!(!stored.contains(&code));
        assert!(stored.contains(&grant_id(&code)));
        Ok(())
    }

    #[test]
    fn old_codes_are_forgotten() -> Result<(), Box<dyn std::error::Error>> {
        let temp = tempfile::tempdir()?;
        let dir = DataDir::create(temp.path())?;
        let old = issue(&dir, record(0), 0)?;
        issue(&dir, record(10_000), 10_000)?;
        assert_eq!(redeem(&dir, &old, 10_000)?, Redeemed::Unknown);
        Ok(())
    }
}
