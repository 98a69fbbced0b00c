//! `pam_tapgate.so`: a PAM auth module that runs the verifier binary with the whole token on its
//! stdin, as pam_exec.so does, without pam_exec's cut.
//!
//! Why not `pam_exec.so expose_authtok`: Linux-PAM's pam_exec copies the password into a
//! PAM_MAX_RESP_SIZE (512-byte) buffer, so the command reads at most 511 bytes, and an access
//! token is 600 to 2,000+ bytes (the dev IdP's are about 650). Checked on Debian 12's PostgreSQL
//! 15: a 700-byte password reached the command as 511 bytes.
//!
//! The module stays a thin launcher on purpose: the JWT checks and the HTTPS fetches run in the
//! verifier's own process, not inside the PostgreSQL backend that loaded this module, and a
//! crash or hang there costs one login, not the backend.
//!
//! PAM line (same shape as pam_exec's):
//! `auth required /path/pam_tapgate.so [log=FILE] [timeout=SECONDS] /path/tapgate-pam-verify [ARGS...]`
//! - `log=FILE`: the verifier's stderr (its decision line) is appended to FILE, each line
//!   prefixed with the time; without it the line goes to the backend's stderr, which is the
//!   PostgreSQL server log.
//! - `timeout=SECONDS` (default 20): the verifier is killed after this long and the login fails.
//!
//! Its own crate, apart from `tapgate-verify`: a cdylib exports every `#[no_mangle]` function of
//! its dependencies, so PAM entry points living in the verifier library would leak into the
//! PostgreSQL 18 validator module (which uses that library) and make it need libpam.
//!
//! # Layout
//! - `ffi`: the Linux-PAM ABI (`pam_sm_authenticate`, `pam_sm_setcred`, reading the user, the
//!   token and the login's items from the PAM handle, PAM return codes). The crate's only unsafe
//!   code.
//! - [`args`]: [`ModuleArgs`], the module's options and the verifier's command line from the
//!   PAM line.
//! - [`verifier`]: [`run_verifier`], one login: the verifier run with the token on stdin, the
//!   environment pam_exec gives, the timeout, the [`Decision`].
//! - [`decision_log`]: [`DecisionLog`], where the verifier's decision line and the module's own
//!   notes go (`log=FILE` with a time prefix, else the server log).

pub mod args;
pub mod decision_log;
mod ffi;
pub mod verifier;

pub use args::ModuleArgs;
pub use decision_log::DecisionLog;
pub use verifier::{Decision, PamRequest, run_verifier};
