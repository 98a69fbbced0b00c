//! `make bench`: pgbench select-only through Tapgate's forwarder, side by side with direct TLS to
//! PostgreSQL and a plain socat TCP relay, against a real PostgreSQL 15 whose logins go through
//! PAM and `tapgate-pam-verify` (the same authentication on every path).
//!
//! Rounds are interleaved (direct, forwarder, socat, direct, ...) so drift on a shared machine
//! hits every path alike; the table shows medians and the ratio to direct. Numbers are printed
//! and written as JSON to `target/bench/forwarder.json`. Nothing here asserts a target.
//!
//! Environment: `TAPGATE_BIN_DIR` (the binaries to measure; `make bench` uses target/release),
//! `BENCH_ROUNDS` (default 3), `BENCH_SECONDS` (per pgbench run, default 5).
#![allow(clippy::unwrap_used, clippy::panic)]

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tapgate_e2e::pg::{PG_BIN_DIR, PamService, PgOptions, PgServer};
use tapgate_e2e::{DEV_IDP_POLICY, DevIdp, DevIdpOptions, Person, bin};

struct Scenario {
    name: &'static str,
    args: &'static [&'static str],
}

const SCENARIOS: &[Scenario] = &[
    Scenario { name: "select-only, 1 client", args: &["-c", "1", "-j", "1"] },
    Scenario { name: "select-only, 8 clients", args: &["-c", "8", "-j", "2"] },
    Scenario { name: "new connection per transaction (-C), 1 client", args: &["-C", "-c", "1", "-j", "1"] },
];

struct Target {
    name: &'static str,
    conninfo: String,
    password: Option<String>,
}

#[derive(Clone, Copy)]
struct Sample {
    latency_ms: f64,
    tps: f64,
}

fn main() {
    let rounds: usize = std::env::var("BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let seconds: u64 = std::env::var("BENCH_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);

    eprintln!("bench: starting the dev IdP, PostgreSQL 15 with PAM, and the forwarder");
    let idp = DevIdp::start(DevIdpOptions { token_ttl: Some("1h"), ..Default::default() });
    let pam = PamService::install(
        &bin("tapgate-pam-verify"),
        &format!(
            "issuer = \"{}\"\naudience = \"postgres\"\nca_file = \"{{dir}}/idp-ca.pem\"\n{DEV_IDP_POLICY}[roles]\napp_rw = [\"dba\"]\n",
            idp.issuer
        ),
    );
    pam.add_file("idp-ca.pem", &idp.ca());
    let pg = PgServer::start(PgOptions { pam_service: Some(pam.name.clone()), ..Default::default() });
    pg.create_role("app_rw");
    let init = Command::new(format!("{PG_BIN_DIR}/pgbench"))
        .args(["-i", "-q", "-s", "1", "-h"])
        .arg(pg.data_dir())
        .args(["-p", &pg.port().to_string(), "-U", "postgres", "postgres"])
        .output()
        .unwrap();
    assert!(init.status.success(), "pgbench -i: {}", String::from_utf8_lossy(&init.stderr));
    pg.sql("grant select on all tables in schema public to app_rw");

    let person = Person::new();
    idp.enroll("alice@example.com", "dba", &person.key);
    person.configure(&idp, "alice@example.com", "");
    person.append_config(&format!(
        "[db.bench]\nidp = \"{}\"\nhost = \"127.0.0.1\"\nport = {}\ndbname = \"postgres\"\nrole = \"app_rw\"\nca_file = \"{}\"\n",
        person.idp_name,
        pg.port(),
        pg.ca().display()
    ));
    let mut connect = person.spawn(&["connect", "bench"]);
    let line = connect.wait_for_stdout("bench ready on 127.0.0.1:", Duration::from_secs(60));
    let forwarder_port: u16 = line.rsplit(':').next().unwrap().trim().parse().unwrap();
    let token = person.token();

    let socat_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let _socat = Reaped(
        Command::new("socat")
            .arg(format!("TCP-LISTEN:{socat_port},bind=127.0.0.1,reuseaddr,fork"))
            .arg(format!("TCP:127.0.0.1:{}", pg.port()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("socat (make deps installs it)"),
    );
    std::thread::sleep(Duration::from_millis(300));

    let tls = format!("sslmode=verify-full sslrootcert={}", pg.ca().display());
    let targets = [
        Target {
            name: "direct TLS",
            conninfo: format!("host=127.0.0.1 port={} user=app_rw dbname=postgres {tls}", pg.port()),
            password: Some(token.clone()),
        },
        Target {
            name: "tapgate forwarder",
            conninfo: format!(
                "host=127.0.0.1 port={forwarder_port} user=app_rw dbname=postgres sslmode=disable"
            ),
            password: None,
        },
        Target {
            name: "socat relay (TLS end to end)",
            conninfo: format!("host=127.0.0.1 port={socat_port} user=app_rw dbname=postgres {tls}"),
            password: Some(token.clone()),
        },
    ];

    let mut results = Vec::new();
    for scenario in SCENARIOS {
        let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); targets.len()];
        for round in 0..rounds {
            for (i, target) in targets.iter().enumerate() {
                eprintln!("bench: {} / {} / round {}", scenario.name, target.name, round + 1);
                samples[i].push(pgbench(target, scenario, seconds));
            }
        }
        results.push((scenario, samples));
    }
    let _ = connect.interrupt(Duration::from_secs(15));

    print_table(&targets, &results, rounds, seconds);
    write_json(&targets, &results, rounds, seconds);
}

fn pgbench(target: &Target, scenario: &Scenario, seconds: u64) -> Sample {
    let mut cmd = Command::new(format!("{PG_BIN_DIR}/pgbench"));
    cmd.args(["-n", "-S", "-T", &seconds.to_string()]).args(scenario.args).arg(&target.conninfo);
    cmd.env_remove("PGPASSWORD");
    if let Some(password) = &target.password {
        cmd.env("PGPASSWORD", password);
    }
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "pgbench via {} failed: {}{}",
        target.name,
        text,
        String::from_utf8_lossy(&out.stderr)
    );
    let number = |prefix: &str| -> f64 {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {prefix:?} in pgbench output:\n{text}"))
    };
    Sample { latency_ms: number("latency average ="), tps: number("tps =") }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    if n % 2 == 1 { values[n / 2] } else { (values[n / 2 - 1] + values[n / 2]) / 2.0 }
}

type Results<'a> = Vec<(&'a Scenario, Vec<Vec<Sample>>)>;

fn medians(samples: &[Sample]) -> (f64, f64) {
    let mut latency: Vec<f64> = samples.iter().map(|s| s.latency_ms).collect();
    let mut tps: Vec<f64> = samples.iter().map(|s| s.tps).collect();
    (median(&mut latency), median(&mut tps))
}

fn print_table(targets: &[Target], results: &Results<'_>, rounds: usize, seconds: u64) {
    println!();
    println!(
        "pgbench -S against PostgreSQL 15 (PAM + tapgate-pam-verify), {rounds} interleaved rounds of {seconds} s; medians"
    );
    println!();
    println!("| scenario | path | latency (ms) | tps | latency vs direct |");
    println!("| --- | --- | ---: | ---: | ---: |");
    for (scenario, samples) in results {
        let (direct_latency, _) = medians(&samples[0]);
        for (target, s) in targets.iter().zip(samples) {
            let (latency, tps) = medians(s);
            println!(
                "| {} | {} | {latency:.3} | {tps:.0} | {:.2}x |",
                scenario.name,
                target.name,
                latency / direct_latency
            );
        }
    }
    println!();
}

fn write_json(targets: &[Target], results: &Results<'_>, rounds: usize, seconds: u64) {
    let rows: Vec<serde_json::Value> = results
        .iter()
        .flat_map(|(scenario, samples)| {
            let (direct_latency, _) = medians(&samples[0]);
            targets.iter().zip(samples).map(move |(target, s)| {
                let (latency, tps) = medians(s);
                serde_json::json!({
                    "scenario": scenario.name,
                    "path": target.name,
                    "median_latency_ms": latency,
                    "median_tps": tps,
                    "latency_ratio_to_direct": latency / direct_latency,
                    "samples": s.iter().map(|x| serde_json::json!({"latency_ms": x.latency_ms, "tps": x.tps})).collect::<Vec<_>>(),
                })
            })
        })
        .collect();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    std::fs::create_dir_all(&dir).unwrap();
    let dir = dir.canonicalize().unwrap();
    let path = dir.join("forwarder.json");
    let doc = serde_json::json!({ "rounds": rounds, "seconds_per_run": seconds, "results": rows });
    std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    println!("JSON: {}", path.display());
}

/// A child process killed when dropped.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
