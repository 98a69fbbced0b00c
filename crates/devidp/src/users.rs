//! Users and their enrolled security keys, kept in `users.json`.

use serde::{Deserialize, Serialize};
use uuid::Uuid;
use webauthn_rs::prelude::{AuthenticationResult, SecurityKey};

use crate::clock::real_unix_now;
use crate::data_dir::DataDir;
use crate::error::Error;

/// `users.json`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct UsersFile {
    users: Vec<User>,
}

/// One account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct User {
    /// Stable subject: tokens carry it as `sub`; also the WebAuthn user handle.
    pub(crate) sub: Uuid,
    /// The login name, which is also the e-mail address (normalised to lower case).
    pub(crate) name: String,
    /// Group names carried in the `groups` claim.
    pub(crate) groups: Vec<String>,
    /// Real Unix time the account was created.
    pub(crate) created_at: i64,
    /// Enrolled security keys.
    pub(crate) credentials: Vec<StoredCredential>,
}

/// An enrolled security key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredCredential {
    /// What the key is, for people reading `users` ("soft key alice.key", "USB key").
    pub(crate) label: String,
    /// Real Unix time of enrolment.
    pub(crate) added_at: i64,
    /// The webauthn-rs credential: public key, counter, attestation.
    pub(crate) key: SecurityKey,
    /// The RFC 8176 method a sign-in with it proves: `hwk` for a USB security key, `swk` for a
    /// software key. Absent in files written before it existed: then read from `label`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) amr: Option<String>,
}

/// RFC 8176 `hwk`: proof of possession of a hardware-secured key.
pub(crate) const AMR_HARDWARE_KEY: &str = "hwk";
/// RFC 8176 `swk`: proof of possession of a software-secured key.
pub(crate) const AMR_SOFTWARE_KEY: &str = "swk";

impl StoredCredential {
    /// The `amr` value of a sign-in with this key.
    pub(crate) fn method(&self) -> &str {
        match &self.amr {
            Some(amr) => amr,
            None if self.label.starts_with("soft key") => AMR_SOFTWARE_KEY,
            None => AMR_HARDWARE_KEY,
        }
    }
}

impl User {
    /// `preferred_username`: the part before `@`, or the whole name.
    pub(crate) fn preferred_username(&self) -> &str {
        match self.name.split_once('@') {
            Some((local, _)) if !local.is_empty() => local,
            _ => &self.name,
        }
    }

    /// The keys webauthn-rs should accept for this user.
    pub(crate) fn security_keys(&self) -> Vec<SecurityKey> {
        self.credentials.iter().map(|c| c.key.clone()).collect()
    }

    /// The `amr` claim of a sign-in with the key `credential_id` (empty for a key not theirs).
    pub(crate) fn amr_for(&self, credential_id: &[u8]) -> Vec<String> {
        self.credentials
            .iter()
            .filter(|c| c.key.cred_id().as_slice() == credential_id)
            .map(|c| c.method().to_owned())
            .collect()
    }

    /// Whether the credential id is one of this user's keys.
    pub(crate) fn owns_credential(&self, credential_id: &[u8]) -> bool {
        self.credentials.iter().any(|c| c.key.cred_id().as_slice() == credential_id)
    }
}

/// All users as currently on disk.
#[derive(Debug, Default)]
pub(crate) struct Users {
    users: Vec<User>,
}

impl Users {
    /// Reads `users.json` (empty when missing). Re-read per request so the running server
    /// sees `enroll` done by another process.
    pub(crate) fn load(dir: &DataDir) -> Result<Self, Error> {
        let file: UsersFile = dir.read_json(&dir.users_path())?.unwrap_or_default();
        Ok(Self { users: file.users })
    }

    /// Replaces `users.json`. Callers hold the directory lock since their `load`.
    pub(crate) fn save(self, dir: &DataDir) -> Result<(), Error> {
        dir.write_json(&dir.users_path(), &UsersFile { users: self.users })
    }

    pub(crate) fn by_name(&self, name: &str) -> Option<&User> {
        let name = name.trim().to_lowercase();
        self.users.iter().find(|u| u.name == name)
    }

    pub(crate) fn by_name_mut(&mut self, name: &str) -> Option<&mut User> {
        let name = name.trim().to_lowercase();
        self.users.iter_mut().find(|u| u.name == name)
    }

    pub(crate) fn by_sub(&self, sub: Uuid) -> Option<&User> {
        self.users.iter().find(|u| u.sub == sub)
    }

    /// The user a credential id is enrolled for, if any.
    pub(crate) fn credential_owner(&self, credential_id: &[u8]) -> Option<&User> {
        self.users.iter().find(|u| u.owns_credential(credential_id))
    }

    pub(crate) fn insert(&mut self, user: User) {
        self.users.push(user);
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &User> {
        self.users.iter()
    }
}

/// Lower-cases and checks a user name given on the command line or in a challenge request.
pub(crate) fn normalise_name(name: &str) -> Result<String, Error> {
    let normalised = name.trim().to_lowercase();
    let invalid = |reason: &str| Error::InvalidUserName { name: name.to_owned(), reason: reason.to_owned() };
    if normalised.is_empty() {
        return Err(invalid("it is empty"));
    }
    if normalised.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("it contains spaces or control characters"));
    }
    Ok(normalised)
}

/// Makes a new account (not yet stored).
pub(crate) fn new_user(sub: Uuid, name: String, groups: Vec<String>) -> User {
    User { sub, name, groups, created_at: real_unix_now(), credentials: Vec::new() }
}

/// Saves the new signature counter (and backup state) after a successful assertion, so a
/// cloned key replaying an old counter is caught next time.
pub(crate) fn record_authentication(
    dir: &DataDir,
    sub: Uuid,
    result: &AuthenticationResult,
) -> Result<(), Error> {
    let _lock = dir.lock()?;
    let mut users = Users::load(dir)?;
    let mut changed = false;
    for user in users.users.iter_mut().filter(|u| u.sub == sub) {
        for credential in &mut user.credentials {
            changed |= credential.key.update_credential(result).unwrap_or(false);
        }
    }
    if changed {
        users.save(dir)?;
    }
    Ok(())
}

/// One line of `tapgate-devidp users`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSummary {
    /// Login name and e-mail.
    pub name: String,
    /// The stable `sub` claim.
    pub sub: String,
    /// Groups carried in tokens.
    pub groups: Vec<String>,
    /// Number of enrolled security keys.
    pub credentials: usize,
}

/// Lists the users of a data directory.
pub fn list_users(dir: &DataDir) -> Result<Vec<UserSummary>, Error> {
    Ok(Users::load(dir)?
        .iter()
        .map(|u| UserSummary {
            name: u.name.clone(),
            sub: u.sub.to_string(),
            groups: u.groups.clone(),
            credentials: u.credentials.len(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preferred_username_is_the_local_part() {
        let alice = new_user(Uuid::new_v4(), "alice@example.com".into(), vec![]);
        assert_eq!(alice.preferred_username(), "alice");
        let bob = new_user(Uuid::new_v4(), "bob".into(), vec![]);
        assert_eq!(bob.preferred_username(), "bob");
    }

    #[test]
    fn names_are_normalised() -> Result<(), Error> {
        assert_eq!(normalise_name(" Alice@Example.com ")?, "alice@example.com");
        assert!(normalise_name("").is_err());
        assert!(normalise_name("al ice").is_err());
        Ok(())
    }
}
