//! `tapgate whoami [IDP] [--json]`: identity, groups and time left, from the cache only.
//!
//! No network call and no tap: this answers "am I signed in?" instantly. Exit 1 when signed
//! out or expired, so scripts can test it.

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::json;

use crate::args::WhoamiArgs;
use crate::output::{countdown, timestamp};

pub async fn run(config: Option<PathBuf>, args: WhoamiArgs) -> anyhow::Result<ExitCode> {
    let engine = super::engine(config).await?;
    let idp = engine.idp(args.idp.idp.as_deref())?.clone();
    let session = engine.cached_session(Some(&idp.name)).await?;

    let Some(session) = session else {
        if args.json {
            println!("{}", json!({ "idp": idp.name, "signed_in": false, "expired": false }));
        } else {
            println!("{}: signed out. Run `tapgate login {}` to sign in.", idp.name, idp.name);
        }
        return Ok(ExitCode::FAILURE);
    };

    let left = session.seconds_left();
    let expired = session.is_expired();
    if args.json {
        let value = json!({
            "idp": session.idp,
            "issuer": session.claims.iss,
            "signed_in": !expired,
            "expired": expired,
            "identity": session.identity(),
            "subject": session.claims.sub,
            "email": session.claims.email,
            "preferred_username": session.claims.preferred_username,
            "groups": session.claims.groups,
            "expires_at": timestamp(session.expires_at),
            "expires_at_unix": session.expires_at,
            "expires_in_seconds": left.max(0),
            "can_refresh": session.can_refresh,
            "clock_skew_seconds": session.skew.seconds,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        let groups = if session.claims.groups.is_empty() {
            "none".to_string()
        } else {
            session.claims.groups.join(", ")
        };
        println!("{}: {}", session.idp, session.identity());
        println!("  groups:  {groups}");
        if expired {
            println!("  expired: {} ago ({})", countdown(-left), timestamp(session.expires_at));
        } else {
            println!("  expires: in {} ({})", countdown(left), timestamp(session.expires_at));
        }
        if session.skew.is_significant() {
            println!(
                "  clock:   this machine is {} s off the IdP's clock; times above use the IdP's",
                session.skew.seconds.abs()
            );
        }
        println!(
            "  renew:   {}",
            if session.can_refresh { "without a tap (refresh token held)" } else { "needs a tap" }
        );
        if expired {
            println!("Run `tapgate login {}` to sign in again.", session.idp);
        }
    }
    Ok(if expired { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
