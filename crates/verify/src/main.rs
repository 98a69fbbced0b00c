//! `tapgate-pam-verify`: the PAM-side verifier. Reads the token on stdin and the role in
//! `PAM_USER`, prints one decision line on stderr, and exits 0 (allowed), 1 (denied) or
//! 2 (no decision: bad configuration or invocation). `--check` tests a configuration by hand.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use tapgate_verify::pam_input::{PAM_EXEC_LIMIT, PAM_USER_ENV, read_token, role_from};
use tapgate_verify::{DEFAULT_CONFIG_PATH, Verifier, VerifyConfig};

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
}

fn main() -> ExitCode {
    let args = Args::parse();
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
    let config = match VerifyConfig::load(&args.config) {
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
    eprintln!("{PREFIX}: {decision}");
    if decision.allowed { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

/// `--check`: the configuration loads and the IdP's keys can be fetched and cached.
fn check(args: &Args) -> anyhow::Result<String> {
    let config = VerifyConfig::load(&args.config)?;
    let verifier = Verifier::new(config.clone());
    let mut warnings = Vec::new();
    let keys = verifier.refresh_keys(&mut warnings)?;
    let roles: Vec<String> =
        config.roles.iter().map(|(role, groups)| format!("{role} <- {}", groups.join(", "))).collect();
    let mut summary = format!(
        "{PREFIX}: {} is valid\n  issuer: {}\n  audience: {}\n  leeway: {} s, identity claim: {}\n  \
         JWKS: {} key(s) ({}), cached in {}\n  roles: {}",
        config.path.display(),
        config.issuer,
        config.audience,
        config.leeway.as_secs(),
        config.identity_claim,
        keys.len(),
        keys.kids().join(", "),
        config.jwks_cache.display(),
        roles.join("; "),
    );
    for warning in warnings {
        summary.push_str(&format!("\n  warning: {warning}"));
    }
    Ok(summary)
}
