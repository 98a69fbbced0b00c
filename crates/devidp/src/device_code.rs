//! Device codes of the device flow (RFC 8628 §3.2, §3.5): random, single use, valid for
//! ten minutes on the IdP clock, each tied to a user code the person types on the
//! verification page and to what the device asked for (client, scope, audience).
//!
//! Kept in `device-codes.json` under the data directory lock, keyed by the SHA-256 digest of
//! the device code, with only the digest of the user code: nothing on disk can be presented
//! to the token endpoint or typed on the page. A redeemed or refused code stays on file
//! until well after it expires, so a second poll is told so rather than "unknown".

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::data_dir::DataDir;
use crate::error::Error;
use crate::pending::random_id;
use crate::user_code;

/// How long a device code (and its user code) can be confirmed and redeemed.
pub(crate) const DEVICE_CODE_TTL_SECS: i64 = 600;

/// How long a code is remembered after it expires.
const REMEMBERED_SECS: i64 = 3600;

/// `device-codes.json`: digest of the device code -> the sign-in it stands for.
#[derive(Debug, Default, Serialize, Deserialize)]
struct CodesFile {
    codes: BTreeMap<String, DeviceRecord>,
}

/// What the device asked for, and how far the person has got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DeviceRecord {
    pub(crate) client_id: String,
    pub(crate) scope: String,
    /// The access token's `aud`, chosen as `/authorize` chooses it.
    pub(crate) audience: String,
    /// Digest of the canonical user code.
    pub(crate) user_code_digest: String,
    /// Seconds the device must wait between polls (RFC 8628 §3.5).
    pub(crate) interval_secs: i64,
    pub(crate) expires_at: i64,
    /// IdP time of the latest poll in milliseconds, for `slow_down` (whole seconds would let
    /// two quick polls either side of a second's turn pass).
    #[serde(default)]
    pub(crate) last_polled_ms: Option<i64>,
    pub(crate) state: DeviceState,
}

/// Where a device sign-in stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub(crate) enum DeviceState {
    /// Nobody has answered on the verification page yet.
    Pending,
    /// The person signed in with a key and let the device in.
    Approved {
        sub: Uuid,
        user_name: String,
        authenticated_at: i64,
        /// How the person signed in on the verification page (RFC 8176).
        #[serde(default)]
        amr: Vec<String>,
    },
    /// The person refused.
    Denied,
    /// Tokens were issued for it: it cannot buy any more.
    Redeemed,
}

/// The outcome of a poll at the token endpoint, in RFC 8628 §3.5 terms.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Polled {
    /// `authorization_pending`.
    Pending,
    /// `slow_down`: polled sooner than `interval_secs` after the previous poll.
    SlowDown,
    /// `expired_token`.
    Expired,
    /// `access_denied`.
    Denied,
    /// Tokens: the code is now redeemed. `grant` names the tokens it bought. Boxed: the record
    /// is much bigger than the other answers.
    Approved { record: Box<DeviceRecord>, grant: String },
    /// Redeemed before (`invalid_grant`).
    AlreadyRedeemed,
    /// Issued to another client (`invalid_grant`).
    OtherClient,
    /// Never issued, or forgotten (`invalid_grant`).
    Unknown,
}

/// The answer of the verification page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    Approve { sub: Uuid, user_name: String, authenticated_at: i64, amr: Vec<String> },
    Deny,
}

/// A new device sign-in: (device code, user code in canonical form). Neither is kept.
pub(crate) struct Issued {
    pub(crate) device_code: String,
    pub(crate) user_code: String,
}

/// Files a new device sign-in for `record` (its `user_code_digest` and `state` are set here).
pub(crate) fn issue(dir: &DataDir, record: DeviceRecord, now: i64) -> Result<Issued, Error> {
    let device_code = random_id();
    let _lock = dir.lock()?;
    let mut file = load(dir)?;
    file.codes.retain(|_, r| r.expires_at.saturating_add(REMEMBERED_SECS) > now);
    // A user code must point at one live sign-in only.
    let user_code = loop {
        let candidate = user_code::generate();
        let digest = digest(&candidate);
        if !file.codes.values().any(|r| r.user_code_digest == digest && r.expires_at > now) {
            break candidate;
        }
    };
    let record = DeviceRecord {
        user_code_digest: digest(&user_code),
        state: DeviceState::Pending,
        last_polled_ms: None,
        ..record
    };
    file.codes.insert(digest(&device_code), record);
    save(dir, &file)?;
    Ok(Issued { device_code, user_code })
}

/// The live, unanswered sign-in behind what the person typed, if any.
pub(crate) fn waiting(dir: &DataDir, typed: &str, now: i64) -> Result<Option<DeviceRecord>, Error> {
    let Some(code) = user_code::normalize(typed) else {
        return Ok(None);
    };
    let digest = digest(&code);
    let _lock = dir.lock()?;
    Ok(load(dir)?
        .codes
        .into_values()
        .find(|r| r.user_code_digest == digest && r.expires_at > now && r.state == DeviceState::Pending))
}

/// Records the person's answer for the user code `typed`. `false` when no sign-in waits for it
/// any more (mistyped, expired, already answered).
pub(crate) fn decide(dir: &DataDir, typed: &str, decision: Decision, now: i64) -> Result<bool, Error> {
    let Some(code) = user_code::normalize(typed) else {
        return Ok(false);
    };
    let digest = digest(&code);
    let _lock = dir.lock()?;
    let mut file = load(dir)?;
    let Some(record) = file
        .codes
        .values_mut()
        .find(|r| r.user_code_digest == digest && r.expires_at > now && r.state == DeviceState::Pending)
    else {
        return Ok(false);
    };
    record.state = match decision {
        Decision::Approve { sub, user_name, authenticated_at, amr } => {
            DeviceState::Approved { sub, user_name, authenticated_at, amr }
        }
        Decision::Deny => DeviceState::Denied,
    };
    save(dir, &file)?;
    Ok(true)
}

/// One poll by `client_id` with `device_code` at IdP time `now_ms` (milliseconds; RFC 8628 §3.5).
pub(crate) fn poll(dir: &DataDir, device_code: &str, client_id: &str, now_ms: i64) -> Result<Polled, Error> {
    let now = now_ms.div_euclid(1000);
    let grant = digest(device_code);
    let _lock = dir.lock()?;
    let mut file = load(dir)?;
    let Some(record) = file.codes.get_mut(&grant) else {
        return Ok(Polled::Unknown);
    };
    if record.client_id != client_id {
        return Ok(Polled::OtherClient);
    }
    let polled = match &record.state {
        DeviceState::Redeemed => Polled::AlreadyRedeemed,
        _ if record.expires_at <= now => Polled::Expired,
        DeviceState::Denied => Polled::Denied,
        DeviceState::Approved { .. } => {
            let approved = record.clone();
            record.state = DeviceState::Redeemed;
            Polled::Approved { record: Box::new(approved), grant }
        }
        DeviceState::Pending => {
            let interval_ms = record.interval_secs.saturating_mul(1000);
            let too_soon = record.last_polled_ms.is_some_and(|last| now_ms - last < interval_ms);
            record.last_polled_ms = Some(now_ms);
            if too_soon { Polled::SlowDown } else { Polled::Pending }
        }
    };
    save(dir, &file)?;
    Ok(polled)
}

/// The digest under which a code is filed; for a device code also the id of the grant its
/// tokens descend from. Not secret: it cannot be turned back into the code.
fn digest(code: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(code.as_bytes()))
}

fn load(dir: &DataDir) -> Result<CodesFile, Error> {
    Ok(dir.read_json(&dir.device_codes_path())?.unwrap_or_default())
}

fn save(dir: &DataDir, file: &CodesFile) -> Result<(), Error> {
    dir.write_json(&dir.device_codes_path(), file)
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn record(now: i64) -> DeviceRecord {
        DeviceRecord {
            client_id: "tapgate".into(),
            scope: "openid groups".into(),
            audience: "postgres".into(),
            user_code_digest: String::new(),
            interval_secs: 5,
            expires_at: now + DEVICE_CODE_TTL_SECS,
            last_polled_ms: None,
            state: DeviceState::Pending,
        }
    }

    /// Seconds to the milliseconds `poll` takes.
    fn ms(seconds: i64) -> i64 {
        seconds * 1000
    }

    fn approve(now: i64) -> Decision {
        Decision::Approve {
            sub: Uuid::nil(),
            user_name: "alice@example.com".into(),
            authenticated_at: now,
            amr: vec!["swk".into()],
        }
    }

    fn dir() -> Result<(tempfile::TempDir, DataDir), Box<dyn std::error::Error>> {
        let temp = tempfile::tempdir()?;
        let dir = DataDir::create(temp.path())?;
        Ok((temp, dir))
    }

    #[test]
    fn pending_then_approved_then_redeemed_once() -> TestResult {
        let (_temp, dir) = dir()?;
        let issued = issue(&dir, record(1000), 1000)?;
        assert_eq!(poll(&dir, &issued.device_code, "tapgate", ms(1005))?, Polled::Pending);
        // The person types the code however they like.
        let typed = user_code::display(&issued.user_code).to_lowercase();
        assert!(waiting(&dir, &typed, 1006)?.is_some());
        assert!(decide(&dir, &typed, approve(1007), 1007)?);
        assert!(!decide(&dir, &typed, Decision::Deny, 1008)?, "answered once");
        let Polled::Approved { record, grant } = poll(&dir, &issued.device_code, "tapgate", ms(1010))? else {
            return Err("should be approved".into());
        };
        assert_eq!(grant, digest(&issued.device_code));
        assert!(matches!(record.state, DeviceState::Approved { authenticated_at: 1007, .. }));
        assert_eq!(poll(&dir, &issued.device_code, "tapgate", ms(1015))?, Polled::AlreadyRedeemed);
        Ok(())
    }

    #[test]
    fn polling_faster_than_the_interval_is_slow_down() -> TestResult {
        let (_temp, dir) = dir()?;
        let issued = issue(&dir, record(1000), 1000)?;
        assert_eq!(poll(&dir, &issued.device_code, "tapgate", ms(1005))?, Polled::Pending);
        assert_eq!(poll(&dir, &issued.device_code, "tapgate", ms(1009) + 999)?, Polled::SlowDown);
        assert_eq!(poll(&dir, &issued.device_code, "tapgate", ms(1015))?, Polled::Pending);
        Ok(())
    }

    #[test]
    fn denied_expired_unknown_and_another_clients_code() -> TestResult {
        let (_temp, dir) = dir()?;
        let denied = issue(&dir, record(1000), 1000)?;
        assert!(decide(&dir, &denied.user_code, Decision::Deny, 1001)?);
        assert_eq!(poll(&dir, &denied.device_code, "tapgate", ms(1005))?, Polled::Denied);

        let late = issue(&dir, record(1000), 1000)?;
        assert!(waiting(&dir, &late.user_code, 1000 + DEVICE_CODE_TTL_SECS)?.is_none());
        assert!(!decide(&dir, &late.user_code, approve(1600), 1000 + DEVICE_CODE_TTL_SECS)?);
        assert_eq!(
            poll(&dir, &late.device_code, "tapgate", ms(1000 + DEVICE_CODE_TTL_SECS))?,
            Polled::Expired
        );

        assert_eq!(poll(&dir, "not-a-code", "tapgate", ms(1001))?, Polled::Unknown);
        assert_eq!(poll(&dir, &late.device_code, "other-app", ms(1001))?, Polled::OtherClient);
        assert!(waiting(&dir, "BCDF-GHJ", 1001)?.is_none(), "not a user code at all");
        Ok(())
    }

    #[test]
    fn only_digests_are_stored() -> TestResult {
        let (_temp, dir) = dir()?;
        let issued = issue(&dir, record(1000), 1000)?;
        let stored = std::fs::read_to_string(dir.device_codes_path())?;
        assert!(!stored.contains(&issued.device_code));
        assert!(!stored.contains(&issued.user_code));
        assert!(!stored.contains(&user_code::display(&issued.user_code)));
        Ok(())
    }
}
