//! `tapgate-pam-verify`: the PAM-side verifier. Reads the token on stdin and the role in
//! `PAM_USER`, prints the decision on stderr (one text line, then one JSON line with the
//! backend's pid and the client's address), and exits 0 (allowed), 1 (denied) or 2 (no decision:
//! bad configuration or invocation). `--check` tests a configuration by hand; `refresh` fetches
//! the JWKS into the cache (run by a systemd timer or cron, so logins rarely fetch).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

use clap::{Parser, Subcommand};
use tapgate_verify::pam_input::{PAM_EXEC_LIMIT, PAM_USER_ENV, read_token, role_from};
use tapgate_verify::{DEFAULT_CONFIG_PATH, DecisionContext, FileTrust, Verifier, VerifyConfig};

/// The client's address as PAM hands it to its command (pam_tapgate.so and pam_exec.so both).
const PAM_RHOST_ENV: &str = "PAM_RHOST";

/// Every line this program prints starts with this, so decisions are easy to grep in a shared log.
const PREFIX: &str = "tapgate-pam-verify";

#[derive(Debug, Parser)]
#[command(
    name = "tapgate-pam-verify",
    version,
    about = "Verifies a Tapgate token presented as a PostgreSQL password (run by PAM)",
    after_help = "Exit status: 0 allowed, 1 denied, 2 no decision (configuration or invocation error).\n\
                  See docs/server-setup.md for the PAM and pg_hba lines."
)]
struct Args {
    /// The verifier configuration.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_CONFIG_PATH)]
    config: PathBuf,

    /// Check the configuration and fetch the JWKS now (filling the cache), then exit; run it as
    /// the postgres user.
    #[arg(long)]
    check: bool,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Fetch the IdP's JWKS now and write the cache (0600), then exit 0; exit 2 when it cannot.
    /// Run it as the server's OS user from a systemd timer or cron (docs/server-setup.md), so
    /// logins find fresh keys and rarely fetch themselves.
    Refresh,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if matches!(args.command, Some(Command::Refresh)) {
        return match refresh(&args) {
            Ok(summary) => {
                println!("{summary}");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("{PREFIX}: refresh failed: {error:#}");
                ExitCode::from(2)
            }
        };
    }
    if args.check {
        return match check(&args) {
            Ok(summary) => {
                println!("{summary}");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("{PREFIX}: error: {error:#}");
                ExitCode::from(2)
            }
        };
    }

    // The role first, so even an error line says which login it was about.
    let role = match role_from(std::env::var_os(PAM_USER_ENV)) {
        Ok(role) => role,
        Err(error) => {
            eprintln!("{PREFIX}: error: {error}");
            return ExitCode::from(2);
        }
    };
    let config = match VerifyConfig::load(&args.config, &FileTrust::for_this_process()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{PREFIX}: denied (unverified token) as {role}: {error}");
            return ExitCode::from(2);
        }
    };
    let token = match read_token(std::io::stdin().lock()) {
        Ok(token) => token,
        Err(error) => {
            eprintln!("{PREFIX}: denied (unverified token) as {role}: {error}");
            return ExitCode::from(1);
        }
    };

    let mut decision = Verifier::new(config).decide(&token, &role);
    if !decision.allowed && token.len() == PAM_EXEC_LIMIT {
        decision.warnings.push(format!(
            "the token is exactly {PAM_EXEC_LIMIT} bytes, where pam_exec.so cuts passwords: use pam_tapgate.so (docs/server-setup.md)"
        ));
    }
    // PAM runs this program as a child of the backend that authenticates: the parent's pid is
    // `%p` in PostgreSQL's log_line_prefix.
    let context = DecisionContext {
        program: PREFIX,
        backend_pid: Some(std::os::unix::process::parent_id()),
        client_addr: std::env::var(PAM_RHOST_ENV).ok().filter(|v| !v.is_empty()),
        at: SystemTime::now(),
    };
    // Text first (the module puts the time before it), then JSON; written at once so
    // concurrent logins appending to one log file do not interleave inside them.
    let lines = format!("{PREFIX}: {decision}\n{}\n", decision.to_json_line(&context));
    let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), lines.as_bytes());
    if decision.allowed { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

/// `refresh`: fetch and cache the keys, ignoring freshness and the rate limit.
fn refresh(args: &Args) -> anyhow::Result<String> {
    let config = VerifyConfig::load(&args.config, &FileTrust::for_this_process())?;
    let verifier = Verifier::new(config.clone());
    let mut warnings = Vec::new();
    let keys = verifier.refresh_keys(&mut warnings)?;
    let mut summary = format!(
        "{PREFIX}: cached {} key(s) ({}) of {} in {}",
        keys.len(),
        keys.kids().join(", "),
        config.issuer,
        config.jwks_cache.display()
    );
    for warning in warnings {
        summary.push_str(&format!("\n  warning: {warning}"));
    }
    Ok(summary)
}

/// `--check`: the configuration loads and the IdP's keys can be fetched and cached.
fn check(args: &Args) -> anyhow::Result<String> {
    let config = VerifyConfig::load(&args.config, &FileTrust::for_this_process())?;
    let verifier = Verifier::new(config.clone());
    let mut warnings = Vec::new();
    let keys = verifier.refresh_keys(&mut warnings)?;
    let roles: Vec<String> =
        config.roles.iter().map(|(role, groups)| format!("{role} <- {}", groups.join(", "))).collect();
    let policy = &config.policy;
    let list =
        |values: &Option<Vec<String>>| values.as_ref().map_or("(not checked)".to_string(), |v| v.join(", "));
    let mut summary = format!(
        "{PREFIX}: {} is valid\n  issuer: {}\n  audience: {}\n  leeway: {} s, identity claim: {}\n  \
         require_amr: {}\n  allowed_clients: {}\n  max_token_lifetime: {}\n  require_typ: {}\n  \
         email_verified required: {}\n  \
         JWKS: {} key(s) ({}), cached in {}, fetch_timeout {} ms\n  roles: {}",
        config.path.display(),
        config.issuer,
        config.audience,
        config.leeway.as_secs(),
        config.identity_claim,
        list(&policy.require_amr),
        list(&policy.allowed_clients),
        policy
            .max_token_lifetime
            .map_or("(not checked)".to_string(), |d| humantime::format_duration(d).to_string()),
        policy.require_typ.as_deref().unwrap_or("(not checked)"),
        if policy.require_email_verified { "yes" } else { "no" },
        keys.len(),
        keys.kids().join(", "),
        config.jwks_cache.display(),
        config.fetch_timeout.as_millis(),
        roles.join("; "),
    );
    for warning in config.warnings().into_iter().chain(warnings) {
        summary.push_str(&format!("\n  warning: {warning}"));
    }
    Ok(summary)
}
