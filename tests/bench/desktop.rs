//! `make bench`, the desktop app's footprint: how long from launch until the tray shows the
//! databases, and what the app costs while it waits in the tray with the window hidden (CPU
//! share and memory, PSS of the whole process tree: the app and its WebKit processes).
//!
//! The app runs under Xvfb (`tapgate_e2e::desktop::Display`) inside `scripts/with-keyring.sh`,
//! with a person signed in beforehand (a software key and the dev IdP) and one database whose
//! forwarder is started from the tray menu, so the idle period includes a listening forwarder
//! and the tray's countdown redraws. Numbers are printed and written to
//! `target/bench/desktop.json`; nothing asserts a target (aims: ready under 3 s, idle CPU under 1 %).
//!
//! Environment: `TAPGATE_BIN_DIR` (`make bench` uses target/release), `BENCH_LAUNCHES`
//! (default 3), `BENCH_IDLE_SECONDS` (default 60).
#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tapgate_e2e::desktop::{Display, MenuEntry, TrayReader, artifacts_dir, descendants};
use tapgate_e2e::{DevIdp, DevIdpOptions, Person, bin};

fn main() {
    let launches: usize = env_or("BENCH_LAUNCHES", 3);
    let idle_seconds: u64 = env_or("BENCH_IDLE_SECONDS", 60);

    eprintln!("desktop bench: dev IdP, a signed-in person, Xvfb");
    let idp = DevIdp::start(DevIdpOptions { token_ttl: Some("1h"), ..Default::default() });
    let person = Person::new();
    idp.enroll("alice@example.com", "dba", &person.key);
    person.configure(&idp, "alice@example.com", "");
    // The upstream is never dialled: no client connects during the measurement.
    person.append_config(&format!(
        "[db.prod]\nidp = \"{}\"\nhost = \"127.0.0.1\"\nport = 5432\ndbname = \"app\"\nrole = \"app_rw\"\n",
        person.idp_name
    ));
    person.tapgate(&["login"]).expect_ok();
    let logs = tempfile::tempdir().unwrap();
    let display = Display::start(&logs.path().join("xvfb.log"));

    let mut ready_ms = Vec::new();
    for round in 1..=launches {
        let (mut app, elapsed) = launch(&person, &display, logs.path());
        eprintln!("  launch {round}: tray ready in {} ms", elapsed.as_millis());
        ready_ms.push(elapsed.as_secs_f64() * 1000.0);
        quit(&mut app);
    }

    let (mut app, _) = launch(&person, &display, logs.path());
    let tray = TrayReader::new(app.id());
    let connect = tray
        .poll(Duration::from_secs(30), |menu| {
            find(menu, "Connect").map(|_| ()).ok_or("no Connect item".into())
        })
        .map(|menu| find(&menu, "Connect").map(|e| e.id).unwrap_or(0))
        .unwrap();
    tray.click(connect).unwrap();
    tray.poll(Duration::from_secs(30), |menu| {
        find(menu, "Disconnect").map(|_| ()).ok_or("the forwarder did not start".into())
    })
    .unwrap();
    // Let start-up work (WebKit's first paint, caches) settle before measuring idle.
    std::thread::sleep(Duration::from_secs(5));

    eprintln!("  idle for {idle_seconds} s with the window hidden and prod listening…");
    let tree_before = process_tree(app.id());
    let cpu_before = cpu_ticks(&tree_before);
    let mut pss_max = 0;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(idle_seconds) {
        pss_max = pss_max.max(pss_kib(&process_tree(app.id())));
        std::thread::sleep(Duration::from_secs(5));
    }
    let tree_after = process_tree(app.id());
    let cpu_seconds = (cpu_ticks(&tree_after).saturating_sub(cpu_before)) as f64 / clock_ticks();
    let wall = started.elapsed().as_secs_f64();
    let pss_end = pss_kib(&tree_after);
    pss_max = pss_max.max(pss_end);
    let breakdown: Vec<(String, u64)> = tree_after
        .iter()
        .map(|pid| {
            let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            (name.trim().to_string(), pss_kib(&[*pid]))
        })
        .collect();
    quit(&mut app);

    let mut sorted = ready_ms.clone();
    sorted.sort_by(f64::total_cmp);
    let median_ready = sorted[sorted.len() / 2];
    let cpu_percent = cpu_seconds / wall * 100.0;
    println!();
    println!("| tapgate-desktop footprint | value | aim |");
    println!("| --- | --- | --- |");
    println!("| launch to tray ready (median of {launches}) | {median_ready:.0} ms | under 3000 ms |");
    println!("| idle CPU over {wall:.0} s, whole tree | {cpu_percent:.2} % | under 1 % |");
    println!("| idle memory (PSS, whole tree) at the end | {:.1} MiB | |", pss_end as f64 / 1024.0);
    println!("| idle memory (PSS, whole tree), highest sample | {:.1} MiB | |", pss_max as f64 / 1024.0);
    for (name, pss) in &breakdown {
        println!("| of which {name} | {:.1} MiB | |", *pss as f64 / 1024.0);
    }

    let json = serde_json::json!({
        "launch_to_tray_ready_ms": ready_ms,
        "launch_to_tray_ready_median_ms": median_ready,
        "idle_seconds": wall,
        "idle_cpu_percent": cpu_percent,
        "idle_pss_kib_end": pss_end,
        "idle_pss_kib_max": pss_max,
        "processes": breakdown.iter().map(|(name, pss)| serde_json::json!({ "name": name, "pss_kib": pss })).collect::<Vec<_>>(),
    });
    let out = artifacts_dir().join("../bench");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("desktop.json"), serde_json::to_string_pretty(&json).unwrap()).unwrap();
    eprintln!("written: {}", out.join("desktop.json").display());
}

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Starts the app hidden in the tray (as at login) and waits until the tray shows prod.
fn launch(person: &Person, display: &Display, logs: &Path) -> (Child, Duration) {
    let started = Instant::now();
    let home = person.home.path();
    let app = Command::new(bin("tapgate-desktop"))
        .arg("--hidden")
        .env("DISPLAY", display.name())
        .env("TAPGATE_CONFIG", &person.config)
        .env("TAPGATE_DATA_DIR", home.join("data"))
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("NO_AT_BRIDGE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(logs.join("app.log")).unwrap())
        .spawn()
        .unwrap();
    let tray = TrayReader::new(app.id());
    tray.poll(Duration::from_secs(60), |menu| {
        menu.iter().any(|e| e.label.contains("prod — ")).then_some(()).ok_or("no prod entry yet".into())
    })
    .unwrap_or_else(|e| {
        panic!("{e}\napp log:\n{}", std::fs::read_to_string(logs.join("app.log")).unwrap_or_default())
    });
    (app, started.elapsed())
}

/// SIGTERM (the app quits cleanly on it) and wait.
fn quit(app: &mut Child) {
    tapgate_e2e::signal(app.id(), "TERM");
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = app.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = app.kill();
    let _ = app.wait();
}

fn find<'a>(menu: &'a [MenuEntry], label: &str) -> Option<&'a MenuEntry> {
    menu.iter().flat_map(MenuEntry::walk).find(|e| e.label == label)
}

/// `pid` and all its descendants (WebKitWebProcess, WebKitNetworkProcess, …).
fn process_tree(pid: u32) -> Vec<u32> {
    let mut tree = vec![pid];
    tree.extend(descendants(pid));
    tree
}

/// utime + stime of the processes, in clock ticks.
fn cpu_ticks(pids: &[u32]) -> u64 {
    pids.iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok())
        .map(|stat| {
            // Fields after the command name (which may contain spaces) start after the last ')'.
            let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
            let fields: Vec<&str> = rest.split_whitespace().collect();
            // utime and stime are fields 14 and 15 of stat, i.e. 11 and 12 after the name.
            fields.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
                + fields.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        })
        .sum()
}

/// Proportional set size of the processes, in KiB (`/proc/PID/smaps_rollup`).
fn pss_kib(pids: &[u32]) -> u64 {
    pids.iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok())
        .filter_map(|text| {
            text.lines()
                .find(|l| l.starts_with("Pss:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .sum()
}

fn clock_ticks() -> f64 {
    let out = Command::new("getconf").arg("CLK_TCK").output().ok();
    out.and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok()).unwrap_or(100.0)
}
