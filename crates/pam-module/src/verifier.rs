//! One login: runs the verifier (`tapgate-pam-verify`) with the whole token on stdin and the
//! environment pam_exec gives its command, waits for it at most the module's timeout, and turns
//! its exit status into a [`Decision`]. Safe code only: the PAM handle is read in `ffi`.

use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::decision_log::module_refusal_json;
use crate::{DecisionLog, ModuleArgs};

/// What the PAM handle told us about this login.
#[derive(Debug, Clone, Default)]
pub struct PamRequest {
    /// `pam_get_user`: the database role asked for.
    pub user: Vec<u8>,
    /// `pam_get_authtok`: the client's password, here the access token.
    pub token: Vec<u8>,
    /// `PAM_SERVICE`.
    pub service: Option<Vec<u8>>,
    /// `PAM_RHOST`: the client's address.
    pub rhost: Option<Vec<u8>>,
    /// `PAM_RUSER`.
    pub ruser: Option<Vec<u8>>,
    /// `PAM_TTY`.
    pub tty: Option<Vec<u8>>,
}

/// The verifier's answer for one login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The verifier exited 0 (`PAM_SUCCESS`).
    Allowed,
    /// Any other exit, a signal, no answer in time, or no verifier to run (`PAM_AUTH_ERR`).
    Refused,
}

/// Runs the verifier for `request` and turns its exit status into a [`Decision`].
pub fn run_verifier(module: &ModuleArgs, request: &PamRequest) -> Decision {
    let mut log = DecisionLog::open(module.log.as_deref());
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
    command.stderr(log.verifier_stderr());

    let refuse = |log: &mut DecisionLog, reason: String| {
        log.note(&format!("pam_tapgate[{}]: {reason}", std::process::id()));
        log.note(&module_refusal_json(&request.user, request.rhost.as_deref(), &reason));
        Decision::Refused
    };
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => return refuse(&mut log, format!("cannot run {}: {e}", module.command.display())),
    };
    if let Some(mut stdin) = child.stdin.take() {
        // A verifier that exits without reading makes this fail; its exit status still decides.
        let _ = stdin.write_all(&request.token);
    }
    match wait(&mut child, module.timeout) {
        Some(status) if status.success() => Decision::Allowed,
        // The verifier wrote its own lines for an exit it chose.
        Some(status) if status.code().is_some() => Decision::Refused,
        Some(status) => refuse(&mut log, format!("the verifier ended with {status}")),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            refuse(
                &mut log,
                format!("the verifier gave no answer within {} s; killed", module.timeout.as_secs()),
            )
        }
    }
}

/// Waits for `child` until `timeout`; `None` when it is still running then.
///
/// Why a `try_wait` loop and not the `wait-timeout` crate: on Unix that crate installs a
/// process-wide SIGCHLD handler (`sigaction`) the first time it waits and never removes it. This
/// code runs inside someone else's process (a PostgreSQL backend, or any other PAM client) that
/// may have its own SIGCHLD disposition, and libpam unloads modules at `pam_end`, which could leave
/// that handler pointing into unmapped code. A pidfd (`pidfd_open` + `poll`) would wake at
/// once without a handler, but needs Linux 5.3 and still this loop as a fallback. Polling every
/// 5 ms costs nothing next to a verifier run and touches no process-wide state.
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

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;

    use super::*;
    use crate::args::DEFAULT_TIMEOUT;

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
        assert_eq!(run_verifier(&module, &request(long.as_bytes())), Decision::Allowed);
        assert_eq!(run_verifier(&module, &request(b"bad")), Decision::Refused);

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
        assert_eq!(run_verifier(&module, &request(b"good")), Decision::Refused);
        assert!(started.elapsed() < Duration::from_secs(10));
        let text = std::fs::read_to_string(&log).expect("log");
        assert!(text.contains("no answer within 1 s; killed"), "{text}");
        // The module's own decision, as JSON, with the backend's pid (ours here) and the client.
        let json = text.lines().find(|l| l.starts_with('{')).expect("a JSON line");
        let json: serde_json::Value = serde_json::from_str(json).expect("json");
        assert_eq!(json["program"], "pam_tapgate");
        assert_eq!(json["decision"], "denied");
        assert_eq!(json["backend_pid"], std::process::id());
        assert_eq!(json["client_addr"], "127.0.0.1");
        assert_eq!(json["role"], "app_rw");
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
        assert_eq!(run_verifier(&module, &request(b"good")), Decision::Refused);
        assert!(std::fs::read_to_string(&log).expect("log").contains("cannot run"));
    }
}
