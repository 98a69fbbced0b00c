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
//! The unsafe code is reading the user and the password from the PAM handle.
#![allow(unsafe_code)]

use std::ffi::{CStr, OsStr, c_char, c_int, c_void};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime};

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

/// The verifier is killed after this long unless `timeout=` says otherwise: the JWKS fetch it may
/// make is bounded at 5 s and PostgreSQL's own authentication_timeout is 60 s.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

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
        run(&module, &request)
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

/// The module's arguments from the PAM line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ModuleArgs {
    log: Option<PathBuf>,
    timeout: Duration,
    command: PathBuf,
    command_args: Vec<Vec<u8>>,
}

impl ModuleArgs {
    /// Options until the first absolute path, which is the command; the rest are its arguments.
    fn parse(args: &[Vec<u8>]) -> Option<ModuleArgs> {
        let mut log = None;
        let mut timeout = DEFAULT_TIMEOUT;
        let mut rest = args.iter();
        for arg in rest.by_ref() {
            if arg.first() == Some(&b'/') {
                return Some(ModuleArgs {
                    log,
                    timeout,
                    command: PathBuf::from(OsStr::from_bytes(arg)),
                    command_args: rest.cloned().collect(),
                });
            } else if let Some(path) = arg.strip_prefix(b"log=") {
                log = Some(PathBuf::from(OsStr::from_bytes(path)));
            } else if let Some(secs) = arg.strip_prefix(b"timeout=") {
                let secs: u64 = std::str::from_utf8(secs).ok()?.parse().ok()?;
                timeout = Duration::from_secs(secs.max(1));
            } else {
                return None;
            }
        }
        None
    }
}

/// What the PAM handle told us about this login.
#[derive(Debug, Clone, Default)]
struct PamRequest {
    user: Vec<u8>,
    token: Vec<u8>,
    service: Option<Vec<u8>>,
    rhost: Option<Vec<u8>>,
    ruser: Option<Vec<u8>>,
    tty: Option<Vec<u8>>,
}

/// Runs the verifier for `request` and turns its exit status into a PAM answer.
fn run(module: &ModuleArgs, request: &PamRequest) -> c_int {
    let mut log = module.log.as_deref().and_then(|path| match open_log(path) {
        Ok(file) => Some(file),
        Err(e) => {
            eprintln!("pam_tapgate: cannot open log={} ({e}); the decision goes to stderr", path.display());
            None
        }
    });
    let mut command = Command::new(&module.command);
    command
        .args(module.command_args.iter().map(|a| OsStr::from_bytes(a)))
        // The environment pam_exec gives its command; nothing of the backend's leaks through.
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("PAM_TYPE", "auth")
        .env("PAM_USER", OsStr::from_bytes(&request.user))
        .stdin(Stdio::piped())
        .stdout(Stdio::null());
    for (name, value) in [
        ("PAM_SERVICE", &request.service),
        ("PAM_RHOST", &request.rhost),
        ("PAM_RUSER", &request.ruser),
        ("PAM_TTY", &request.tty),
    ] {
        if let Some(value) = value {
            command.env(name, OsStr::from_bytes(value));
        }
    }
    match log.as_mut().map(|file| (file.write_all(timestamp().as_bytes()), file.try_clone())) {
        Some((Ok(()), Ok(clone))) => command.stderr(clone),
        _ => command.stderr(Stdio::inherit()),
    };

    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            note(&mut log, &format!("pam_tapgate: cannot run {}: {e}", module.command.display()));
            return PAM_AUTH_ERR;
        }
    };
    if let Some(mut stdin) = child.stdin.take() {
        // A verifier that exits without reading makes this fail; its exit status still decides.
        let _ = stdin.write_all(&request.token);
    }
    match wait(&mut child, module.timeout) {
        Some(status) if status.success() => PAM_SUCCESS,
        Some(status) => {
            if status.code().is_none() {
                note(&mut log, &format!("pam_tapgate: the verifier ended with {status}"));
            }
            PAM_AUTH_ERR
        }
        None => {
            let _ = child.kill();
            let _ = child.wait();
            note(
                &mut log,
                &format!(
                    "pam_tapgate: the verifier gave no answer within {} s; killed",
                    module.timeout.as_secs()
                ),
            );
            PAM_AUTH_ERR
        }
    }
}

/// Waits for `child` until `timeout`; `None` when it is still running then.
fn wait(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Ok(None) | Err(_) => return None,
        }
    }
}

fn open_log(path: &std::path::Path) -> std::io::Result<File> {
    // Asked for 0644 like pam_exec's log; PostgreSQL's umask (0077) makes it 0600, which suits a
    // file naming people and roles.
    OpenOptions::new().create(true).append(true).mode(0o644).open(path)
}

/// `2026-11-27T10:00:00Z `: the verifier's line follows on the same line.
fn timestamp() -> String {
    format!("{} ", humantime::format_rfc3339_seconds(SystemTime::now()))
}

/// A line of our own, to the log when there is one, else to stderr (the server log).
fn note(log: &mut Option<File>, line: &str) {
    match log {
        Some(file) => {
            let _ = writeln!(file, "{line}");
        }
        None => eprintln!("{line}"),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn args(list: &[&str]) -> Vec<Vec<u8>> {
        list.iter().map(|a| a.as_bytes().to_vec()).collect()
    }

    #[test]
    fn arguments_are_options_then_the_command_line() {
        let parsed =
            ModuleArgs::parse(&args(&["log=/var/log/t.log", "timeout=7", "/bin/v", "--config", "/c"]))
                .expect("parsed");
        assert_eq!(parsed.log, Some(PathBuf::from("/var/log/t.log")));
        assert_eq!(parsed.timeout, Duration::from_secs(7));
        assert_eq!(parsed.command, PathBuf::from("/bin/v"));
        assert_eq!(parsed.command_args, args(&["--config", "/c"]));
        assert_eq!(ModuleArgs::parse(&args(&["log=/x"])), None, "no command");
        assert_eq!(ModuleArgs::parse(&args(&["expose_authtok", "/bin/v"])), None, "unknown option");
    }

    /// A stand-in verifier: logs the user and the token's length, allows the token "good".
    fn script(dir: &std::path::Path, body: &str) -> PathBuf {
        let path = dir.join("verifier.sh");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        path
    }

    fn request(token: &[u8]) -> PamRequest {
        PamRequest {
            user: b"app_rw".to_vec(),
            token: token.to_vec(),
            rhost: Some(b"127.0.0.1".to_vec()),
            ..Default::default()
        }
    }

    #[test]
    fn the_whole_token_reaches_the_verifier_and_its_exit_decides() {
        let dir = tempfile::tempdir().expect("tempdir");
        let verifier = script(
            dir.path(),
            r#"t=$(cat); echo "user=$PAM_USER rhost=$PAM_RHOST len=${#t}" >&2; [ "${t#good}" != "$t" ]"#,
        );
        let log = dir.path().join("decisions.log");
        let module = ModuleArgs {
            log: Some(log.clone()),
            timeout: Duration::from_secs(10),
            command: verifier,
            command_args: Vec::new(),
        };
        let long = format!("good{}", "x".repeat(1996));
        assert_eq!(run(&module, &request(long.as_bytes())), PAM_SUCCESS);
        assert_eq!(run(&module, &request(b"bad")), PAM_AUTH_ERR);

        let text = std::fs::read_to_string(&log).expect("log");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].ends_with("Z user=app_rw rhost=127.0.0.1 len=2000"), "{text}");
        assert!(lines[1].ends_with("len=3"), "{text}");
    }

    #[test]
    fn a_hanging_verifier_is_killed_and_the_login_fails() {
        let dir = tempfile::tempdir().expect("tempdir");
        let verifier = script(dir.path(), "exec sleep 30");
        let log = dir.path().join("decisions.log");
        let module = ModuleArgs {
            log: Some(log.clone()),
            timeout: Duration::from_secs(1),
            command: verifier,
            command_args: vec![],
        };
        let started = Instant::now();
        assert_eq!(run(&module, &request(b"good")), PAM_AUTH_ERR);
        assert!(started.elapsed() < Duration::from_secs(10));
        let text = std::fs::read_to_string(&log).expect("log");
        assert!(text.contains("no answer within 1 s; killed"), "{text}");
    }

    #[test]
    fn a_missing_verifier_fails_the_login() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("decisions.log");
        let module = ModuleArgs {
            log: Some(log.clone()),
            timeout: DEFAULT_TIMEOUT,
            command: dir.path().join("absent"),
            command_args: vec![],
        };
        assert_eq!(run(&module, &request(b"good")), PAM_AUTH_ERR);
        assert!(std::fs::read_to_string(&log).expect("log").contains("cannot run"));
    }
}
