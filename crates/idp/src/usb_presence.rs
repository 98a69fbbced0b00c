//! Whether a FIDO2 security key is plugged in and this user may open it (`tapgate doctor`).
//!
//! Keys are listed the way a sign-in finds them (webauthn-authenticator-rs's USB transport,
//! `usb`). That transport silently skips a device it cannot open, which is exactly the case a
//! person needs told: on Linux the kernel's hidraw devices are also read from sysfs (whose
//! report descriptors anyone may read), so a FIDO device whose `/dev/hidrawN` this user may not
//! open is named.

use std::path::PathBuf;

/// What a look for USB security keys found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsbKeys {
    /// This build has no USB support (cargo feature `usb`).
    NotBuilt,
    /// Keys a sign-in could use.
    Usable {
        /// How many.
        count: usize,
    },
    /// FIDO devices are plugged in, but this user may not open them.
    NoPermission {
        /// Their device files (`/dev/hidraw3`).
        devices: Vec<PathBuf>,
    },
    /// No security key is plugged in.
    NoneFound,
    /// The USB devices could not be listed.
    Unavailable {
        /// Why.
        reason: String,
    },
}

/// Looks for USB security keys. BLOCKING (device files, udev): call it on a blocking thread.
pub fn find_usb_keys() -> UsbKeys {
    find()
}

#[cfg(feature = "usb")]
fn find() -> UsbKeys {
    match crate::usb::usable_keys() {
        Ok(count) if count > 0 => UsbKeys::Usable { count },
        found => {
            let devices = unopenable_fido_devices();
            match found {
                _ if !devices.is_empty() => UsbKeys::NoPermission { devices },
                Ok(_) => UsbKeys::NoneFound,
                Err(err) => UsbKeys::Unavailable { reason: err.to_string() },
            }
        }
    }
}

#[cfg(not(feature = "usb"))]
fn find() -> UsbKeys {
    UsbKeys::NotBuilt
}

/// FIDO devices among the kernel's hidraw devices whose device file this user may not open
/// for reading and writing (what a ceremony needs).
#[cfg(all(feature = "usb", target_os = "linux"))]
fn unopenable_fido_devices() -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir("/sys/class/hidraw") else { return Vec::new() };
    let mut denied = Vec::new();
    for entry in entries.flatten() {
        let Ok(descriptor) = std::fs::read(entry.path().join("device/report_descriptor")) else { continue };
        if !is_fido_descriptor(&descriptor) {
            continue;
        }
        let device = PathBuf::from("/dev").join(entry.file_name());
        let opened = std::fs::OpenOptions::new().read(true).write(true).open(&device);
        if matches!(&opened, Err(err) if err.kind() == std::io::ErrorKind::PermissionDenied) {
            denied.push(device);
        }
    }
    denied.sort();
    denied
}

#[cfg(all(feature = "usb", not(target_os = "linux")))]
fn unopenable_fido_devices() -> Vec<PathBuf> {
    Vec::new()
}

/// Whether a HID report descriptor declares the FIDO Alliance usage page (0xF1D0, CTAPHID §11.2.8.1):
/// the global item Usage Page with a two-byte value, `06 D0 F1`.
#[cfg(any(test, all(feature = "usb", target_os = "linux")))]
fn is_fido_descriptor(descriptor: &[u8]) -> bool {
    descriptor.windows(3).any(|item| item == [0x06, 0xD0, 0xF1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fido_usage_page_marks_a_security_key() {
        // A YubiKey's descriptor starts: Usage Page (FIDO), Usage (CTAPHID), Collection (Application).
        assert!(is_fido_descriptor(&[0x06, 0xD0, 0xF1, 0x09, 0x01, 0xA1, 0x01]));
        // A keyboard: Usage Page (Generic Desktop), Usage (Keyboard).
        assert!(!is_fido_descriptor(&[0x05, 0x01, 0x09, 0x06, 0xA1, 0x01]));
        assert!(!is_fido_descriptor(&[]));
    }

    /// Without the feature the look is skipped, saying so; with it, it always answers (no key
    /// here is `NoneFound`, no udev is `Unavailable`), never `NotBuilt`.
    #[test]
    fn the_look_follows_the_usb_feature() {
        let found = find_usb_keys();
        assert_eq!(found == UsbKeys::NotBuilt, cfg!(not(feature = "usb")), "{found:?}");
    }
}
