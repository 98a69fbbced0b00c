//! The key a passkey IdP signs with. A software key file is the credential itself, so it must
//! be the person's own and private (0600; Tapgate also writes it, to keep the signature
//! counter). A USB security key must be plugged in and openable by this user: looked for the
//! way a sign-in finds one, and skipped, saying so, in a build without USB support.

use std::path::Path;

use tapgate_config::{AuthenticatorChoice, Flow, IdpConfig};
use tapgate_idp::UsbKeys;

use super::Check;
use super::config::plural;

pub(super) async fn authenticator(idp: &IdpConfig) -> Check {
    let name = format!("idp.{}.authenticator", idp.name);
    if !matches!(idp.flow, Flow::Passkey(_)) {
        // The key tap happens on the IdP's own page (or another device): no key of ours is used.
        return Check::pass(
            name,
            format!("no key of Tapgate's is used: flow = \"{}\" signs in at the IdP", idp.flow.as_str()),
        );
    }
    match &idp.authenticator {
        AuthenticatorChoice::Soft(path) => soft_key(name, path),
        AuthenticatorChoice::Usb => match tokio::task::spawn_blocking(tapgate_idp::find_usb_keys).await {
            Ok(found) => usb_key(name, found),
            Err(error) => Check::fail(
                name,
                format!("the look for USB security keys stopped: {error}"),
                "run `tapgate doctor` again",
            ),
        },
    }
}

fn soft_key(name: String, path: &Path) -> Check {
    let shown = path.display();
    let chmod = format!("chmod 600 {shown}");
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(error) => {
            return Check::fail(
                name,
                format!("cannot read software key {shown}: {error}"),
                "check authenticator = \"soft:PATH\" in the IdP's table, or enroll the key again",
            );
        }
    };
    if let Err(error) = std::fs::OpenOptions::new().read(true).write(true).open(path) {
        return Check::fail(
            name,
            format!("cannot open software key {shown} to read and write it: {error}"),
            format!("{chmod} (Tapgate reads it and writes back its signature counter)"),
        );
    }
    match private_file(&meta) {
        Ok(mode) => Check::pass(name, format!("software key {shown} is yours and private (mode {mode:04o})")),
        Err(NotPrivate::Owner { uid, own }) => Check::fail(
            name,
            format!(
                "software key {shown} belongs to uid {uid}, not to you (uid {own}): its owner can sign in as you"
            ),
            format!(
                "keep your own copy, owned by you: cp {shown} NEW && {chmod}, and point authenticator at NEW"
            ),
        ),
        Err(NotPrivate::Mode(mode)) => Check::fail(
            name,
            format!(
                "software key {shown} can be read by others (mode {mode:04o}): anyone who reads it can sign in as you"
            ),
            chmod,
        ),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum NotPrivate {
    Owner { uid: u32, own: u32 },
    Mode(u32),
}

/// The file's mode when it is this user's and nobody else may touch it.
#[cfg(unix)]
fn private_file(meta: &std::fs::Metadata) -> Result<u32, NotPrivate> {
    use std::os::unix::fs::MetadataExt;
    let own = tapgate_forward::own_uid();
    judge(meta.uid(), own, meta.mode() & 0o7777)
}

#[cfg(not(unix))]
fn private_file(_meta: &std::fs::Metadata) -> Result<u32, NotPrivate> {
    // No Unix modes: the folder's access rules decide.
    Ok(0o600)
}

/// The rule on its own: owned by `own`, no access for group and others.
#[cfg_attr(not(unix), allow(dead_code))]
fn judge(uid: u32, own: u32, mode: u32) -> Result<u32, NotPrivate> {
    if uid != own {
        Err(NotPrivate::Owner { uid, own })
    } else if mode & 0o077 != 0 {
        Err(NotPrivate::Mode(mode))
    } else {
        Ok(mode)
    }
}

fn usb_key(name: String, found: UsbKeys) -> Check {
    match found {
        UsbKeys::Usable { count } => {
            Check::pass(name, format!("{count} USB security key{} plugged in and usable", plural(count)))
        }
        UsbKeys::NoneFound => Check::warn(name, "no security key found", "plug it in"),
        UsbKeys::NoPermission { devices } => {
            let list = devices.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ");
            Check::fail(
                name,
                format!("a security key is plugged in ({list}), but you may not open it"),
                format!(
                    "let your user open it: install the udev rules for security keys (libfido2's 70-u2f.rules, \
                     or your key maker's), which give the logged-in user access, or add yourself to the group \
                     that owns {list} (often plugdev) and log in again"
                ),
            )
        }
        UsbKeys::Unavailable { reason } => Check::fail(
            name,
            format!("cannot look for USB security keys: {reason}"),
            "check that udev runs and that /sys/class/hidraw and /dev/hidraw* exist (in a container: pass the devices in)",
        ),
        UsbKeys::NotBuilt => Check::warn(
            name,
            "not checked: this build has no USB support (built without the `usb` feature)",
            "use a build with USB support (cargo build --features usb) to sign in with a security key",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;

    #[test]
    fn a_key_file_must_be_yours_and_closed_to_others() {
        assert_eq!(judge(1000, 1000, 0o600), Ok(0o600));
        assert_eq!(judge(1000, 1000, 0o400), Ok(0o400));
        assert_eq!(judge(1000, 1000, 0o644), Err(NotPrivate::Mode(0o644)));
        assert_eq!(judge(1000, 1000, 0o660), Err(NotPrivate::Mode(0o660)));
        assert_eq!(judge(0, 1000, 0o600), Err(NotPrivate::Owner { uid: 0, own: 1000 }));
    }

    #[cfg(unix)]
    #[test]
    fn an_open_key_file_fails_with_the_chmod() -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir()?;
        let key = dir.path().join("alice.key");
        std::fs::write(&key, b"key")?;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644))?;
        let check = soft_key("idp.corp.authenticator".into(), &key);
        assert_eq!(check.status, Status::Fail);
        assert_eq!(check.fix, Some(format!("chmod 600 {}", key.display())));
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))?;
        assert_eq!(soft_key("idp.corp.authenticator".into(), &key).status, Status::Pass);
        Ok(())
    }

    #[test]
    fn usb_findings_read_as_the_person_needs_them() {
        let none = usb_key("k".into(), UsbKeys::NoneFound);
        assert_eq!(
            (none.status, none.detail.as_str(), none.fix.as_deref()),
            (Status::Warn, "no security key found", Some("plug it in"))
        );
        let denied = usb_key("k".into(), UsbKeys::NoPermission { devices: vec!["/dev/hidraw3".into()] });
        assert_eq!(denied.status, Status::Fail);
        assert!(
            denied.fix.as_deref().is_some_and(|f| f.contains("udev") && f.contains("plugdev")),
            "{denied:?}"
        );
        assert_eq!(usb_key("k".into(), UsbKeys::NotBuilt).status, Status::Warn);
        assert_eq!(
            usb_key("k".into(), UsbKeys::Usable { count: 1 }).detail,
            "1 USB security key plugged in and usable"
        );
    }
}
