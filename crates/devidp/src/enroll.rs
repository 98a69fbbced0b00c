//! `enroll`: a real WebAuthn registration ceremony (webauthn-rs against a software or USB
//! security key) whose credential is stored under the user. Works with or without a
//! running server: the credential is bound to rp_id `localhost`, not to a port.

mod soft_key;
#[cfg(feature = "usb")]
mod usb;

use std::path::PathBuf;

use url::Url;
use uuid::Uuid;
use webauthn_rs::Webauthn;
use webauthn_rs::prelude::{CredentialID, SecurityKey};

use crate::clock::real_unix_now;
use crate::data_dir::DataDir;
use crate::error::Error;
use crate::passkey::relying_party;
use crate::users::{StoredCredential, Users, new_user, normalise_name};

/// Origin of registration ceremonies. Any `https://localhost[:port]` would do: assertions
/// are checked against the server's origin, registrations only need the rp_id.
const REGISTRATION_ORIGIN: &str = "https://localhost";

/// Which authenticator to enroll.
#[derive(Debug, Clone)]
pub enum EnrollKey {
    /// A webauthn-authenticator-rs `SoftToken` saved (CBOR, mode 0600) at this path. An
    /// existing file gets one more credential; a missing one is created.
    SoftKey(PathBuf),
    /// The first USB security key found (needs the `usb` cargo feature).
    Usb,
}

/// What `enroll` should do.
#[derive(Debug, Clone)]
pub struct EnrollOptions {
    /// The data directory, created when missing.
    pub data_dir: PathBuf,
    /// Login name, also the e-mail address (`alice@example.com`).
    pub user: String,
    /// New group list; `None` keeps an existing user's groups (a new user gets none).
    pub groups: Option<Vec<String>>,
    /// The authenticator to register.
    pub key: EnrollKey,
}

/// What `enroll` did; contains no secrets.
#[derive(Debug, Clone)]
pub struct Enrolled {
    /// The normalised user name.
    pub user: String,
    /// The user's stable `sub`.
    pub sub: String,
    /// The user's groups after enrolment.
    pub groups: Vec<String>,
    /// Whether the account was created by this enrolment.
    pub new_user: bool,
    /// Number of keys the user now has.
    pub credentials: usize,
    /// The soft key file, when a soft key was enrolled.
    pub key_file: Option<PathBuf>,
}

/// A registered credential and how to describe it.
struct Registered {
    key: SecurityKey,
    label: String,
    /// `swk` or `hwk` (RFC 8176), what signing in with it proves.
    amr: &'static str,
}

/// Runs the registration ceremony and stores the credential. Blocks (a USB key waits for a
/// touch): call it from a thread that may block, not from an async task.
pub fn enroll(options: &EnrollOptions) -> Result<Enrolled, Error> {
    if matches!(options.key, EnrollKey::Usb) && !cfg!(feature = "usb") {
        // Before touching the data directory: nothing to undo.
        return Err(Error::UsbUnsupported);
    }
    let name = normalise_name(&options.user)?;
    let groups = options.groups.as_deref().map(normalise_groups);
    let dir = DataDir::create(&options.data_dir)?;

    // Read without the lock: the ceremony may wait for a person, and the server must keep
    // working meanwhile. The store is re-read under the lock before writing.
    let known = Users::load(&dir)?;
    let (sub, exclude) = match known.by_name(&name) {
        Some(user) => (user.sub, user.credentials.iter().map(|c| c.key.cred_id().clone()).collect()),
        None => (Uuid::new_v4(), Vec::new()),
    };
    let origin = Url::parse(REGISTRATION_ORIGIN)
        .map_err(|e| Error::Registration(format!("bad registration origin: {e}")))?;
    let webauthn = relying_party(&origin)?;
    let ceremony = Ceremony { webauthn: &webauthn, origin: &origin, sub, name: &name, exclude };
    let registered = match &options.key {
        EnrollKey::SoftKey(path) => soft_key::register(&ceremony, path)?,
        EnrollKey::Usb => register_usb(&ceremony)?,
    };

    let _lock = dir.lock()?;
    let mut users = Users::load(&dir)?;
    if let Some(owner) = users.credential_owner(registered.key.cred_id()) {
        return Err(Error::CredentialTaken { owner: owner.name.clone() });
    }
    let credential = StoredCredential {
        label: registered.label,
        added_at: real_unix_now(),
        key: registered.key,
        amr: Some(registered.amr.to_owned()),
    };
    let new_account = users.by_name(&name).is_none();
    if new_account {
        users.insert(new_user(sub, name.clone(), Vec::new()));
    }
    let user = users
        .by_name_mut(&name)
        .ok_or_else(|| Error::Registration(format!("user {name} vanished while enrolling")))?;
    user.credentials.push(credential);
    if let Some(groups) = groups {
        user.groups = groups;
    }
    let enrolled = Enrolled {
        user: user.name.clone(),
        sub: user.sub.to_string(),
        groups: user.groups.clone(),
        new_user: new_account,
        credentials: user.credentials.len(),
        key_file: match &options.key {
            EnrollKey::SoftKey(path) => Some(path.clone()),
            EnrollKey::Usb => None,
        },
    };
    users.save(&dir)?;
    Ok(enrolled)
}

/// The parts of a registration every authenticator backend needs.
struct Ceremony<'a> {
    webauthn: &'a Webauthn,
    origin: &'a Url,
    sub: Uuid,
    name: &'a str,
    /// The user's existing keys, so a key is not enrolled twice for the same user.
    exclude: Vec<CredentialID>,
}

#[cfg(feature = "usb")]
fn register_usb(ceremony: &Ceremony<'_>) -> Result<Registered, Error> {
    // No attestation CA list: the dev IdP accepts any USB key model.
    let (challenge, state) = ceremony
        .webauthn
        .start_securitykey_registration(
            ceremony.sub,
            ceremony.name,
            ceremony.name,
            Some(ceremony.exclude.clone()),
            None,
            None,
        )
        .map_err(|e| Error::Registration(e.to_string()))?;
    let response = usb::register(ceremony.origin.clone(), challenge)?;
    let key = ceremony
        .webauthn
        .finish_securitykey_registration(&response, &state)
        .map_err(|e| Error::Registration(e.to_string()))?;
    Ok(Registered { key, label: "USB security key".to_owned(), amr: crate::users::AMR_HARDWARE_KEY })
}

#[cfg(not(feature = "usb"))]
fn register_usb(_ceremony: &Ceremony<'_>) -> Result<Registered, Error> {
    Err(Error::UsbUnsupported)
}

/// Splits, trims and de-duplicates group names, keeping their order.
fn normalise_groups(groups: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for group in groups.iter().flat_map(|g| g.split(',')).map(str::trim) {
        if !group.is_empty() && !out.iter().any(|g| g == group) {
            out.push(group.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_trimmed_and_deduplicated() {
        let groups = normalise_groups(&["dba, dev".into(), "dev".into(), "".into()]);
        assert_eq!(groups, vec!["dba".to_owned(), "dev".to_owned()]);
    }

    #[test]
    fn soft_key_enrolment_stores_a_credential() -> Result<(), Box<dyn std::error::Error>> {
        let temp = tempfile::tempdir()?;
        let key_file = temp.path().join("alice.key");
        let options = EnrollOptions {
            data_dir: temp.path().join("data"),
            user: "Alice@Example.com".into(),
            groups: Some(vec!["dba,dev".into()]),
            key: EnrollKey::SoftKey(key_file.clone()),
        };
        let first = enroll(&options)?;
        assert!(first.new_user);
        assert_eq!(first.user, "alice@example.com");
        assert_eq!(first.groups, vec!["dba".to_owned(), "dev".to_owned()]);

        // Again, same key file, new groups: one more credential, same account.
        let again = enroll(&EnrollOptions { groups: Some(vec!["ops".into()]), ..options })?;
        assert!(!again.new_user);
        assert_eq!(again.sub, first.sub);
        assert_eq!(again.credentials, 2);
        assert_eq!(again.groups, vec!["ops".to_owned()]);

        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file)?.permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        Ok(())
    }
}
