//! The PostgreSQL 18 C ABI of an OAuth validator module: the module magic block
//! (`src/include/fmgr.h`, `PG_MODULE_MAGIC_EXT`), `_PG_oauth_validator_module_init` and its
//! callbacks (`src/include/libpq/oauth.h`, docs "OAuth Validator Modules"), and `palloc`.
//!
//! Why unsafe is allowed here (the workspace denies it): PostgreSQL calls this module through C
//! function pointers with raw pointers, and the result's `authn_id` must be allocated with the
//! server's `palloc`, which only C can hand us. Everything else is in safe modules; each unsafe
//! block below says why it holds.
//!
//! Rules kept at this boundary:
//! - No panic unwinds into PostgreSQL: every callback body runs under `catch_unwind`.
//! - A refused token is `return true` with `authorized = false`; `false` is only for internal
//!   errors (PostgreSQL then logs "internal error in OAuth validator module").
//! - Nothing here calls `ereport`/`elog` (a `longjmp` through Rust frames is undefined
//!   behaviour): decisions go to stderr, which is the server log (see `server_log`).
#![allow(unsafe_code)]

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::server_log::{write_decision, write_line};
use crate::{ConfigLocation, Outcome, Validator, ValidatorError};

/// `PG_OAUTH_VALIDATOR_MAGIC` (src/include/libpq/oauth.h, PostgreSQL 18).
const PG_OAUTH_VALIDATOR_MAGIC: u32 = 0x2025_0220;

/// `Pg_abi_values` (src/include/fmgr.h, PostgreSQL 18): what the server compares with its own.
#[repr(C)]
struct PgAbiValues {
    /// `PG_VERSION_NUM / 100`.
    version: c_int,
    /// `FUNC_MAX_ARGS`.
    funcmaxargs: c_int,
    /// `INDEX_MAX_KEYS`.
    indexmaxkeys: c_int,
    /// `NAMEDATALEN`.
    namedatalen: c_int,
    /// `FLOAT8PASSBYVAL` (true on 64-bit builds).
    float8byval: c_int,
    /// `FMGR_ABI_EXTRA`, NUL-padded.
    abi_extra: [u8; 32],
}

/// `Pg_magic_struct` (PostgreSQL 18): 72 bytes on x86-64 / aarch64.
#[repr(C)]
struct PgMagicStruct {
    len: c_int,
    abi_fields: PgAbiValues,
    name: *const c_char,
    version: *const c_char,
}

/// A `static` home for the magic block, whose name/version pointers make it `!Sync` by default.
#[repr(transparent)]
struct MagicBlock(PgMagicStruct);

// SAFETY: the block is immutable and its pointers point at `'static` NUL-terminated literals, so
// sharing it between threads cannot race.
unsafe impl Sync for MagicBlock {}

const fn abi_extra() -> [u8; 32] {
    let mut out = [0u8; 32];
    let text = b"PostgreSQL";
    let mut i = 0;
    while i < text.len() {
        out[i] = text[i];
        i += 1;
    }
    out
}

static MAGIC: MagicBlock = MagicBlock(PgMagicStruct {
    len: std::mem::size_of::<PgMagicStruct>() as c_int,
    abi_fields: PgAbiValues {
        version: 1800,
        funcmaxargs: 100,
        indexmaxkeys: 32,
        namedatalen: 64,
        float8byval: 1,
        abi_extra: abi_extra(),
    },
    name: c"tapgate-pg-validator".as_ptr(),
    version: concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast(),
});

/// `PG_MODULE_MAGIC_EXT`: the server calls this right after `dlopen` and refuses the library
/// ("incompatible library ... version mismatch") unless the block matches its own build.
#[unsafe(no_mangle)]
pub extern "C" fn Pg_magic_func() -> *const c_void {
    (&raw const MAGIC).cast()
}

/// `ValidatorModuleState`: `sversion` is set by the server, `private_data` is ours.
#[repr(C)]
struct ValidatorModuleState {
    sversion: c_int,
    private_data: *mut c_void,
}

/// `ValidatorModuleResult`: zeroed by the server (`palloc0`) before `validate_cb`.
#[repr(C)]
struct ValidatorModuleResult {
    authorized: bool,
    /// palloc'd; the server takes ownership.
    authn_id: *mut c_char,
}

type StartupCb = unsafe extern "C" fn(*mut ValidatorModuleState);
type ShutdownCb = unsafe extern "C" fn(*mut ValidatorModuleState);
type ValidateCb = unsafe extern "C" fn(
    *const ValidatorModuleState,
    *const c_char,
    *const c_char,
    *mut ValidatorModuleResult,
) -> bool;

/// `OAuthValidatorCallbacks`.
#[repr(C)]
struct OAuthValidatorCallbacks {
    magic: u32,
    startup_cb: Option<StartupCb>,
    shutdown_cb: Option<ShutdownCb>,
    validate_cb: Option<ValidateCb>,
}

static CALLBACKS: OAuthValidatorCallbacks = OAuthValidatorCallbacks {
    magic: PG_OAUTH_VALIDATOR_MAGIC,
    startup_cb: Some(startup),
    shutdown_cb: Some(shutdown),
    validate_cb: Some(validate),
};

/// The entry point the server looks up in each library of `oauth_validator_libraries`.
#[unsafe(no_mangle)]
pub extern "C" fn _PG_oauth_validator_module_init() -> *const c_void {
    (&raw const CALLBACKS).cast()
}

#[cfg(not(test))]
unsafe extern "C" {
    /// The server's allocator (src/include/utils/palloc.h), resolved from the postgres binary
    /// when the module is loaded. Errors `longjmp` (out of memory only, for these sizes).
    fn palloc(size: usize) -> *mut c_void;
}

/// Unit tests link without a server: a leaking stand-in.
#[cfg(test)]
unsafe fn palloc(size: usize) -> *mut c_void {
    Box::leak(vec![0u8; size].into_boxed_slice()).as_mut_ptr().cast()
}

/// `startup_cb`: the [`Validator`] of this backend, boxed into `private_data`.
unsafe extern "C" fn startup(state: *mut ValidatorModuleState) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        if state.is_null() {
            return;
        }
        let validator = Box::new(Validator::new(ConfigLocation::from_server_environment()));
        // SAFETY: the server passes its palloc0'd state, valid and unaliased during this call.
        unsafe { (*state).private_data = Box::into_raw(validator).cast() };
    }));
}

/// `shutdown_cb`: frees what `startup` boxed (run from a memory-context reset callback).
unsafe extern "C" fn shutdown(state: *mut ValidatorModuleState) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        if state.is_null() {
            return;
        }
        // SAFETY: the state is valid during this call; `private_data` is null or the pointer
        // `startup` made with `Box::into_raw`, taken once and nulled so it is never freed twice.
        unsafe {
            let data = std::mem::replace(&mut (*state).private_data, std::ptr::null_mut());
            if !data.is_null() {
                drop(Box::from_raw(data.cast::<Validator>()));
            }
        }
    }));
}

/// `validate_cb`: one login. `token` is the bearer token (already checked by the server to be
/// RFC 6750 b64token syntax), `role` the requested user name.
unsafe extern "C" fn validate(
    state: *const ValidatorModuleState,
    token: *const c_char,
    role: *const c_char,
    result: *mut ValidatorModuleResult,
) -> bool {
    let caught = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the server passes a valid state (or null, handled) for the duration of the call.
        let private = if state.is_null() { std::ptr::null_mut() } else { unsafe { (*state).private_data } };
        let mut fallback = None;
        let validator: &mut Validator = if private.is_null() {
            // No startup (cannot happen in 18, where startup_cb is always called): one-shot state.
            fallback.insert(Validator::new(ConfigLocation::from_server_environment()))
        } else {
            // SAFETY: `private` came from `startup`'s Box::into_raw and lives until `shutdown`;
            // a backend runs one login at a time on one thread, so this is the only reference.
            unsafe { &mut *private.cast::<Validator>() }
        };
        // SAFETY: the server passes NUL-terminated strings valid for the call (null is refused).
        let token = unsafe { c_bytes(token) }.ok_or(ValidatorError::NullArgument { what: "token" })?;
        // SAFETY: as above.
        let role = unsafe { c_bytes(role) }.ok_or(ValidatorError::NullArgument { what: "role" })?;
        let outcome = validator.validate(token, role)?;
        if result.is_null() {
            return Err(ValidatorError::NullArgument { what: "result" });
        }
        // SAFETY: `result` is the server's palloc0'd result, valid and unaliased for the call.
        unsafe { fill(&mut *result, &outcome) };
        Ok(outcome)
    }));
    let outcome = caught.unwrap_or_else(|panic| Err(ValidatorError::Panic(panic_message(&panic))));
    match outcome {
        Ok(outcome) => {
            write_decision(&outcome.line, &outcome.json);
            true
        }
        Err(error) => {
            write_line("ERROR", &format!("login refused: {error}"));
            false
        }
    }
}

/// The bytes of a C string, or `None` for null.
///
/// # Safety
/// `ptr` is null or a NUL-terminated string valid for `'a`.
unsafe fn c_bytes<'a>(ptr: *const c_char) -> Option<&'a [u8]> {
    // SAFETY: per this function's contract.
    (!ptr.is_null()).then(|| unsafe { CStr::from_ptr(ptr) }.to_bytes())
}

/// Writes `outcome` into the server's result; `authn_id` is copied into palloc'd memory,
/// NUL included, because the server keeps and later pfree's it.
///
/// # Safety
/// Must run inside a backend (palloc needs `CurrentMemoryContext`).
unsafe fn fill(result: &mut ValidatorModuleResult, outcome: &Outcome) {
    // An identity with a NUL byte cannot be a C string: refuse rather than cut it.
    let identity = outcome.authn_id.as_deref().and_then(|id| CString::new(id).ok());
    result.authn_id = std::ptr::null_mut();
    result.authorized = false;
    if let Some(identity) = identity {
        let bytes = identity.as_bytes_with_nul();
        // SAFETY: palloc returns `bytes.len()` writable bytes or does not return at all.
        let copy = unsafe { palloc(bytes.len()) }.cast::<u8>();
        // SAFETY: `copy` has room for `bytes.len()` bytes and does not overlap `bytes`.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), copy, bytes.len()) };
        result.authn_id = copy.cast();
        result.authorized = outcome.authorized;
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_magic_block_has_the_postgresql_18_layout() {
        assert_eq!(std::mem::size_of::<PgMagicStruct>(), 72);
        assert_eq!(std::mem::offset_of!(PgMagicStruct, abi_fields), 4);
        assert_eq!(std::mem::offset_of!(PgMagicStruct, name), 56);
        assert_eq!(MAGIC.0.len, 72);
        assert_eq!(&MAGIC.0.abi_fields.abi_extra[..11], b"PostgreSQL\0");
    }

    #[test]
    fn the_callbacks_carry_the_validator_magic() {
        // SAFETY: the pointer is to the static above.
        let callbacks = unsafe { &*_PG_oauth_validator_module_init().cast::<OAuthValidatorCallbacks>() };
        assert_eq!(callbacks.magic, 0x2025_0220);
        assert!(callbacks.validate_cb.is_some());
    }

    #[test]
    fn an_identity_is_copied_with_its_nul_and_a_refusal_sets_none() {
        let mut result = ValidatorModuleResult { authorized: false, authn_id: std::ptr::null_mut() };
        let allowed = Outcome {
            authorized: true,
            authn_id: Some("alice@example.com".into()),
            line: String::new(),
            json: String::new(),
        };
        // SAFETY: the test palloc needs no backend.
        unsafe { fill(&mut result, &allowed) };
        assert!(result.authorized);
        // SAFETY: `fill` wrote a NUL-terminated copy.
        let copied = unsafe { CStr::from_ptr(result.authn_id) };
        assert_eq!(copied.to_str().ok(), Some("alice@example.com"));

        let refused = Outcome { authorized: false, authn_id: None, line: String::new(), json: String::new() };
        // SAFETY: as above.
        unsafe { fill(&mut result, &refused) };
        assert!(!result.authorized && result.authn_id.is_null());
    }
}
