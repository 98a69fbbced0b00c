//! PostgreSQL wire framing for Tapgate's forwarder: sans-IO (no sockets, no tokio), so every
//! parser can be fed arbitrary bytes in tests.
//!
//! # Layout
//! - [`startup`]: the untagged first packets of a client (SSLRequest, GSSENCRequest,
//!   CancelRequest, StartupMessage) and [`parse_startup`], with PostgreSQL's strict bounds.
//! - [`frontend`]: encoders for those packets, on postgres-protocol where it can (protocol 3.0)
//!   and by hand where it cannot (3.2 startups, GSSENCRequest, long cancel keys).
//! - [`report`]: ErrorResponse / NoticeResponse that Tapgate writes to clients itself, and
//!   NegotiateProtocolVersion.
//! - [`backend`]: the server's stream cut into whole raw messages, to read and pass on verbatim.
//! - [`auth`]: [`UpstreamAuth`], the upstream authentication exchange as a state machine
//!   (token as a cleartext password, or OAUTHBEARER), and [`refusal`] for why it stops.
//! - [`auth_request`]: [`ServerAuthRequest`], what a server asks a role for first, read
//!   without answering (`tapgate doctor`).
//! - [`scram_server`]: the server side of SCRAM-SHA-256, for a database's local password.
//! - [`sensitive`]: [`SensitiveBytes`], outgoing bytes that may carry the token.
//! - [`error`]: [`WireError`], the one error type of this crate.

pub mod auth;
pub mod auth_request;
pub mod backend;
pub mod error;
pub mod frontend;
pub mod refusal;
pub mod report;
pub mod scram_server;
pub mod sensitive;
pub mod startup;

pub use auth::{AuthMethod, AuthStep, OAuthFailure, UpstreamAuth};
pub use auth_request::{ServerAuthRequest, first_auth_request};
pub use backend::{BackendMessage, split_backend_message};
pub use error::WireError;
pub use refusal::Refusal;
pub use report::{ErrorReport, Severity, sqlstate};
pub use scram_server::{ScramFailure, ScramServer, ScramVerifier};
pub use sensitive::SensitiveBytes;
pub use startup::{
    CancelKey, CancelRequest, MAX_STARTUP_PACKET_LENGTH, ProtocolVersion, StartupMessage, StartupPacket,
    parse_startup,
};
