//! Command-line arguments of the `tapgate-devidp` binary, as parsed by clap.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// A small, real OIDC provider for Tapgate demos and tests.
///
/// It speaks the Auth0 Native Passkeys flow over HTTPS on loopback: a client asks
/// /passkey/challenge for a user's challenge, signs it with an enrolled security key and
/// trades the assertion for ES256 tokens at /oauth/token. Browsers sign in at /authorize
/// (authorization code + PKCE S256, loopback redirect URIs) with the same keys.
///
/// Quick start:
///
///   tapgate-devidp enroll --data ./idp --user alice@example.com --groups dba,dev --soft-key alice.key
///
///   tapgate-devidp serve --data ./idp
///
/// Clients trust ./idp/ca.pem; the issuer is printed on stdout and written to ./idp/issuer.
#[derive(Debug, Parser)]
#[command(name = "tapgate-devidp", version, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the IdP over HTTPS until Ctrl-C or SIGTERM.
    ///
    /// Prints the issuer (https://localhost:PORT) as the first line on stdout; logs go to
    /// stderr. Users, keys and signing keys are re-read from the data directory, so enroll
    /// and rotate-key work while the server runs.
    Serve(ServeArgs),

    /// Enroll a security key for a user, creating the user if new.
    ///
    /// Runs a real WebAuthn registration. Enrolling an existing user again adds a key and,
    /// with --groups, replaces the groups. Works whether or not the server is running.
    Enroll(EnrollArgs),

    /// Start signing tokens with a new key.
    ///
    /// The old key stays in the JWKS until every token it signed has expired (one
    /// --token-ttl of the server after the rotation).
    RotateKey(DataArgs),

    /// List users, their groups and how many keys each has.
    Users(DataArgs),

    /// Print a soft key's credentials for a WebDriver virtual authenticator.
    ///
    /// Prints a JSON array with one object per credential of FILE enrolled in the data
    /// directory; each object is the body of the WebDriver "Add Credential" call
    /// (credentialId, isResidentCredential, rpId, privateKey as base64url PKCS#8,
    /// userHandle, signCount). The output holds the private key: treat it like FILE.
    ExportCredential(ExportArgs),
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub data: DataArgs,

    /// Software key file written by `enroll --soft-key`.
    #[arg(long, value_name = "FILE")]
    pub soft_key: PathBuf,
}

#[derive(Debug, Args)]
pub struct DataArgs {
    /// Data directory holding the CA, users, credentials and signing keys.
    #[arg(long, value_name = "DIR", env = "TAPGATE_DEVIDP_DATA")]
    pub data: PathBuf,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub data: DataArgs,

    /// Loopback address to listen on; port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8443")]
    pub listen: String,

    /// Lifetime of access and ID tokens (e.g. 15m, 1h, 90s).
    #[arg(long, value_name = "DURATION", default_value = "15m", value_parser = parse_duration)]
    pub token_ttl: Duration,

    /// How long refresh tokens keep working after a key tap (e.g. 8h).
    #[arg(long, value_name = "DURATION", default_value = "8h", value_parser = parse_duration)]
    pub refresh_ttl: Duration,

    /// Seconds to add to the system clock (negative: behind), to play a skewed IdP.
    #[arg(long, value_name = "SECONDS", default_value_t = 0, allow_negative_numbers = true)]
    pub clock_offset: i64,

    /// A file whose whole seconds are added to the clock at every reading (tests let time pass
    /// by writing it; the test build of `tapgate` reads the same file).
    #[arg(long, value_name = "FILE")]
    pub clock_file: Option<PathBuf>,

    /// The OAuth client_id to accept.
    #[arg(long, value_name = "ID", default_value = "tapgate")]
    pub client_id: String,

    /// How long device-flow clients must wait between polls (RFC 8628 `interval`; whole
    /// seconds, e.g. 5s). Polling sooner is answered with slow_down.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub device_interval: Duration,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("authenticator").required(true).args(["soft_key", "usb"])))]
pub struct EnrollArgs {
    #[command(flatten)]
    pub data: DataArgs,

    /// User name, also the e-mail address (alice@example.com).
    #[arg(long, value_name = "NAME")]
    pub user: String,

    /// Comma-separated groups for the groups claim; replaces the user's groups.
    #[arg(long, value_name = "GROUPS", value_delimiter = ',')]
    pub groups: Option<Vec<String>>,

    /// Software key file (created if missing, mode 0600). Holds a private key: keep it safe.
    #[arg(long, value_name = "FILE")]
    pub soft_key: Option<PathBuf>,

    /// Enroll a real USB security key instead (needs a build with --features usb).
    #[arg(long)]
    pub usb: bool,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if duration.is_zero() {
        return Err("must be longer than zero".to_owned());
    }
    Ok(duration)
}
