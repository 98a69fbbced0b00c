//! The Linux-PAM C ABI of an auth module (security/pam_modules.h, "The Linux-PAM Module Writers'
//! Guide"): `pam_sm_authenticate` and `pam_sm_setcred`, the module arguments from `argv`, the
//! user, the token and the login's items read from the PAM handle, and the PAM return codes.
//!
//! Why unsafe is allowed here (the workspace denies it): libpam calls the module through C symbols
//! with raw pointers, and the user and the password can only be read with libpam's own
//! functions. Everything else is in safe modules; each unsafe block below says why it holds.
//!
//! Rules kept at this boundary:
//! - No panic unwinds into libpam: the entry point's body runs under `catch_unwind`
//!   (`PAM_SYSTEM_ERR`).
//! - Every string is copied out of libpam's memory before the verifier runs.
#![allow(unsafe_code)]

use std::ffi::{CStr, c_char, c_int, c_void};

use crate::{Decision, ModuleArgs, PamRequest, run_verifier};

/// Linux-PAM return codes and item types (security/_pam_types.h).
const PAM_SUCCESS: c_int = 0;
const PAM_SERVICE_ERR: c_int = 3;
const PAM_SYSTEM_ERR: c_int = 4;
const PAM_AUTH_ERR: c_int = 7;
const PAM_IGNORE: c_int = 25;
const PAM_SERVICE: c_int = 1;
const PAM_TTY: c_int = 3;
const PAM_RHOST: c_int = 4;
const PAM_AUTHTOK: c_int = 6;
const PAM_RUSER: c_int = 8;

/// libpam's opaque `pam_handle_t`.
type PamHandle = c_void;

// Resolved when PAM loads the module: libpam is already in the process that calls us.
unsafe extern "C" {
    fn pam_get_user(pamh: *mut PamHandle, user: *mut *const c_char, prompt: *const c_char) -> c_int;
    fn pam_get_authtok(
        pamh: *mut PamHandle,
        item: c_int,
        authtok: *mut *const c_char,
        prompt: *const c_char,
    ) -> c_int;
    fn pam_get_item(pamh: *const PamHandle, item_type: c_int, item: *mut *const c_void) -> c_int;
}

/// PAM's `auth` entry point.
///
/// # Safety
/// Called by libpam with a valid handle and `argc` valid C strings in `argv`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pam_sm_authenticate(
    pamh: *mut PamHandle,
    _flags: c_int,
    argc: c_int,
    argv: *const *const c_char,
) -> c_int {
    // A panic must not unwind into C.
    std::panic::catch_unwind(|| {
        // SAFETY: libpam passes argc valid NUL-terminated strings.
        let args = unsafe { module_args(argc, argv) };
        let Some(module) = ModuleArgs::parse(&args) else {
            return PAM_SERVICE_ERR;
        };
        // SAFETY: pamh is the live handle libpam gave us for this call.
        let Some(request) = (unsafe { read_request(pamh) }) else {
            return PAM_AUTH_ERR;
        };
        pam_code(run_verifier(&module, &request))
    })
    .unwrap_or(PAM_SYSTEM_ERR)
}

/// PAM's credential step: nothing to set, as with pam_exec.
///
/// # Safety
/// Called by libpam; the arguments are not used.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pam_sm_setcred(
    _pamh: *mut PamHandle,
    _flags: c_int,
    _argc: c_int,
    _argv: *const *const c_char,
) -> c_int {
    PAM_IGNORE
}

/// The verifier's decision as libpam's answer.
fn pam_code(decision: Decision) -> c_int {
    match decision {
        Decision::Allowed => PAM_SUCCESS,
        Decision::Refused => PAM_AUTH_ERR,
    }
}

/// # Safety
/// `argv` holds `argc` valid NUL-terminated strings.
unsafe fn module_args(argc: c_int, argv: *const *const c_char) -> Vec<Vec<u8>> {
    let count = usize::try_from(argc).unwrap_or(0);
    if argv.is_null() {
        return Vec::new();
    }
    (0..count)
        .filter_map(|i| {
            // SAFETY: i < argc, and each entry is a C string or null.
            let ptr = unsafe { *argv.add(i) };
            // SAFETY: non-null entries are NUL-terminated strings owned by libpam for the call.
            (!ptr.is_null()).then(|| unsafe { CStr::from_ptr(ptr) }.to_bytes().to_vec())
        })
        .collect()
}

/// # Safety
/// `pamh` is a live PAM handle.
unsafe fn read_request(pamh: *mut PamHandle) -> Option<PamRequest> {
    let mut user: *const c_char = std::ptr::null();
    // SAFETY: valid handle and out-pointer; a null prompt means PAM's default.
    if unsafe { pam_get_user(pamh, &mut user, std::ptr::null()) } != PAM_SUCCESS || user.is_null() {
        return None;
    }
    let mut token: *const c_char = std::ptr::null();
    // SAFETY: as above. For PostgreSQL the conversation answers with the client's password.
    if unsafe { pam_get_authtok(pamh, PAM_AUTHTOK, &mut token, std::ptr::null()) } != PAM_SUCCESS
        || token.is_null()
    {
        return None;
    }
    // SAFETY: both pointers are NUL-terminated strings owned by libpam while this call lasts.
    let (user, token) = unsafe { (CStr::from_ptr(user), CStr::from_ptr(token)) };
    let item = |kind: c_int| {
        let mut value: *const c_void = std::ptr::null();
        // SAFETY: valid handle and out-pointer; string items are NUL-terminated or null.
        let found = unsafe { pam_get_item(pamh, kind, &mut value) } == PAM_SUCCESS && !value.is_null();
        found.then(|| unsafe { CStr::from_ptr(value.cast::<c_char>()) }.to_bytes().to_vec())
    };
    Some(PamRequest {
        user: user.to_bytes().to_vec(),
        token: token.to_bytes().to_vec(),
        service: item(PAM_SERVICE),
        rhost: item(PAM_RHOST),
        ruser: item(PAM_RUSER),
        tty: item(PAM_TTY),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_allowed_login_is_pam_success_and_a_refusal_is_an_auth_error() {
        assert_eq!(pam_code(Decision::Allowed), PAM_SUCCESS);
        assert_eq!(pam_code(Decision::Refused), PAM_AUTH_ERR);
    }

    #[test]
    fn module_arguments_are_copied_and_null_entries_skipped() {
        let first = c"log=/tmp/t.log";
        let second = c"/bin/v";
        let argv = [first.as_ptr(), std::ptr::null(), second.as_ptr()];
        // SAFETY: three entries, each a 'static C string or null.
        let args = unsafe { module_args(3, argv.as_ptr()) };
        assert_eq!(args, vec![b"log=/tmp/t.log".to_vec(), b"/bin/v".to_vec()]);
        // SAFETY: a null argv is refused before it is read.
        assert!(unsafe { module_args(2, std::ptr::null()) }.is_empty());
    }
}
