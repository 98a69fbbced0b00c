//! The engine's error type: configuration, IdP and store errors, composed, and what can go
//! wrong on this machine, each with the path, port or name a person needs to act on it.

use std::path::PathBuf;

/// Why the engine could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error(transparent)]
    Config(#[from] tapgate_config::ConfigError),
    #[error(transparent)]
    Idp(#[from] tapgate_idp::IdpError),
    /// A managed cloud refused or could not be reached (AWS STS), or its token could not be made.
    #[error("{database}: {source}")]
    Cloud { database: String, source: Box<tapgate_cloud::CloudError> },
    /// No HTTP client for AWS STS (the TLS backend would not start).
    #[error("cannot set up the HTTPS client for AWS STS: {reason}")]
    StsClient { reason: String },
    /// `user = "{claim}"` names a claim the person's token does not carry.
    #[error(
        "{database}: the database user is \"{template}\", but the token of {identity} has no {claim} claim: name another claim in [db.{database}] user, or have the IdP include {claim}"
    )]
    UserClaimMissing { database: String, template: String, claim: &'static str, identity: String },
    #[error(transparent)]
    Store(#[from] tapgate_store::StoreError),
    /// A forwarder could not listen on its loopback port.
    #[error("cannot start the forwarder for {database} on 127.0.0.1:{port}: {source}")]
    Bind {
        database: String,
        port: u16,
        #[source]
        source: tapgate_forward::ForwardError,
    },
    /// A database's port is held by a program of another OS user: a client saved with that
    /// port would hand its connection (and its password, if it has one) to that program.
    #[error(
        "cannot start the forwarder for {database}: 127.0.0.1:{port} is held by another user (uid {uid}), so a client saved with that port would talk to their program, not Tapgate; set another local_port for {database}, or remove its line from ports.json in Tapgate's data folder to get a new one"
    )]
    PortHeldByOtherUser { database: String, port: u16, uid: u32 },
    /// A serving forwarder stopped by itself.
    #[error("the forwarder for {database} failed: {source}")]
    ForwarderFailed {
        database: String,
        #[source]
        source: tapgate_forward::ForwardError,
    },
    /// No free loopback port could be found for a database.
    #[error("cannot find a free loopback port: {0}")]
    NoFreePort(#[source] std::io::Error),
    /// A file in Tapgate's data or runtime folder could not be read or written.
    #[error("cannot {action} {}: {source}", path.display())]
    LocalFile {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Only a tap would give a session, and the caller asked for none ([`crate::SignInPolicy::NoTap`]).
    #[error("signing in to {idp} needs a tap")]
    TapNeeded { idp: String },
    /// A client asked for a role the database's configuration does not allow.
    #[error("role `{role}` is not allowed for {database} (allowed: {})", allowed.join(", "))]
    RoleNotAllowed { database: String, role: String, allowed: Vec<String> },
}
