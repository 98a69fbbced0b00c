//! `tapgate demo` from nothing: a fresh home and demo folder, the dev IdP, PostgreSQL 18 with the
//! validator module, the forwarder; psql through the printed connection string; Ctrl-C leaves no
//! process behind; a second run reuses the folder.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tapgate_e2e::pg::psql_client;
use tapgate_e2e::pg18::pg18_bin_dir;
use tapgate_e2e::{bin, signal};

const READY: Duration = Duration::from_secs(180);
const STOP: Duration = Duration::from_secs(20);

/// A running `tapgate demo` with its output in files.
struct Demo {
    child: Option<Child>,
    stdout: tempfile::NamedTempFile,
    stderr: tempfile::NamedTempFile,
}

impl Demo {
    fn spawn(home: &Path, dir: &Path) -> Demo {
        let stdout = tempfile::NamedTempFile::new().unwrap();
        let stderr = tempfile::NamedTempFile::new().unwrap();
        let mut cmd = Command::new(bin("tapgate"));
        cmd.args(["demo", "--dir"])
            .arg(dir)
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("TAPGATE_PG18_BIN", pg18_bin_dir())
            .env_remove("TAPGATE_CONFIG")
            .env_remove("TAPGATE_DATA_DIR")
            .env_remove("TAPGATE_LOG")
            .stdin(Stdio::null())
            .stdout(stdout.reopen().unwrap())
            .stderr(stderr.reopen().unwrap());
        Demo { child: Some(cmd.spawn().unwrap()), stdout, stderr }
    }

    fn output(&self) -> String {
        format!(
            "stdout:\n{}\nstderr:\n{}",
            std::fs::read_to_string(self.stdout.path()).unwrap_or_default(),
            std::fs::read_to_string(self.stderr.path()).unwrap_or_default()
        )
    }

    /// Waits for "Press Ctrl-C to stop." and returns the printed URI connection string.
    fn wait_ready(&mut self) -> String {
        let deadline = Instant::now() + READY;
        loop {
            let stdout = std::fs::read_to_string(self.stdout.path()).unwrap_or_default();
            if stdout.contains("Press Ctrl-C to stop.") {
                let uri = stdout.lines().map(str::trim).find(|l| l.starts_with("postgresql://"));
                return uri
                    .unwrap_or_else(|| panic!("no connection string printed:\n{}", self.output()))
                    .to_string();
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("tapgate demo exited ({status}) before it was ready:\n{}", self.output());
            }
            assert!(Instant::now() < deadline, "tapgate demo not ready within {READY:?}:\n{}", self.output());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Ctrl-C; returns the exit code, panicking unless it exits within [`STOP`].
    fn interrupt(&mut self) -> Option<i32> {
        let mut child = self.child.take().unwrap();
        signal(child.id(), "INT");
        let deadline = Instant::now() + STOP;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("tapgate demo did not stop within {STOP:?} of SIGINT:\n{}", self.output());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal(child.id(), "INT");
            let deadline = Instant::now() + STOP;
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The `name pid` lines of the demo's `pids` file.
fn recorded_pids(dir: &Path) -> Vec<(String, u32)> {
    let text = std::fs::read_to_string(dir.join("pids")).unwrap_or_default();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(' '))
        .map(|(name, pid)| (name.to_string(), pid.trim().parse().unwrap()))
        .collect()
}

/// Whether `pid` still runs (a zombie waiting for init to reap it has exited).
fn running(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
    let state = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next());
    !matches!(state, Some("Z" | "X"))
}

/// Processes whose command line mentions `dir` (a server or IdP the pids file might have missed).
fn processes_mentioning(dir: &Path) -> Vec<String> {
    let needle = dir.display().to_string();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(&needle) && running(pid) {
            found.push(format!("{pid}: {cmdline}"));
        }
    }
    found
}

/// One run: up, a query through the printed string, Ctrl-C, nothing left. Returns the time to ready.
fn run_once(home: &Path, dir: &Path) -> Duration {
    let started = Instant::now();
    let mut demo = Demo::spawn(home, dir);
    let uri = demo.wait_ready();
    let ready_after = started.elapsed();

    let run = psql_client(
        &uri,
        None,
        &["-tA", "-F", "|", "-c", "select system_user, current_user, count(*) from orders"],
    );
    assert!(run.ok(), "psql through {uri} failed: {}\n{}", run.stderr, demo.output());
    assert_eq!(run.stdout.trim(), "oauth:alice@example.com|app_rw|5", "{}", demo.output());

    let pids = recorded_pids(dir);
    let names: Vec<&str> = pids.iter().map(|(n, _)| n.as_str()).collect();
    // The forwarder runs inside `tapgate demo` itself: the servers are its only children.
    assert_eq!(names, ["tapgate-devidp", "postgres"], "{}", demo.output());
    assert!(pids.iter().all(|(_, pid)| running(*pid)), "{pids:?} not all running:\n{}", demo.output());

    assert_eq!(demo.interrupt(), Some(0), "{}", demo.output());
    let left: Vec<_> = pids.iter().filter(|(_, pid)| running(*pid)).collect();
    assert!(left.is_empty(), "still running after Ctrl-C: {left:?}\n{}", demo.output());
    let mentioning = processes_mentioning(dir);
    assert!(mentioning.is_empty(), "still running after Ctrl-C: {mentioning:?}\n{}", demo.output());
    ready_after
}

#[test]
fn demo_comes_up_from_nothing_serves_psql_and_stops_clean_then_restarts_faster() {
    let home = tempfile::tempdir().unwrap();
    // Its own temp dir (under /tmp, which the postgres user can traverse), so the cluster lives
    // inside it and goes when the test ends.
    let demo_dir = tempfile::tempdir().unwrap();
    let dir = demo_dir.path().to_path_buf();

    let first = run_once(home.path(), &dir);
    let second = run_once(home.path(), &dir);
    println!(
        "tapgate demo: first run ready in {first:.1?}, second run (reusing {}) in {second:.1?}",
        dir.display()
    );
    assert!(dir.join("config.toml").is_file(), "the demo config belongs in the demo folder");
    assert!(dir.join("engine/history.sqlite3").is_file(), "the demo's history belongs in the demo folder");
    assert!(
        !home.path().join(".local/share/tapgate/history.sqlite3").exists()
            && !home.path().join(".local/share/tapgate/ports.json").exists(),
        "the demo must not write history or ports into the person's data folder"
    );
    assert!(
        !home.path().join(".config/tapgate/config.toml").exists(),
        "the demo must not write the user's config"
    );
}
