//! Tapgate's loopback forwarder: PostgreSQL clients connect to 127.0.0.1:PORT without a
//! password; the forwarder logs in to the real server over TLS with a short-lived token and then
//! relays bytes.
//!
//! # Layout
//! - [`config`]: [`ForwarderConfig`], [`SslMode`], [`SslNegotiation`] and their defaults.
//! - [`token`]: [`TokenSource`], where tokens come from (Tapgate's core implements it).
//! - [`observer`]: [`ConnectionObserver`], told about each connection at open and close.
//! - [`forwarder`]: [`Forwarder`]: bind, accept loop, connection limit, graceful shutdown.
//! - `listener`: the 127.0.0.1 + ::1 listening sockets.
//! - `session`: one client connection from accept to close.
//! - `client`: the client's first packets (SSLRequest/GSSENCRequest answered `N`).
//! - `login`: role, database, `application_name` and parameters for the server.
//! - `upstream` and `upstream_tls`: TCP + TLS to the server, roots, certificate checks, and
//!   handshake failures explained.
//! - `handshake`: the server's login up to ReadyForQuery (authentication in `tapgate-pgwire`).
//! - `relay`: bytes both ways, counted.
//! - `cancel`: live sessions' cancel keys and forwarding CancelRequests.
//! - [`error`]: [`ForwardError`], the one error type, with each failure's [`Outcome`] and
//!   the ErrorResponse the client gets.
//!
//! The loopback leg is plaintext (loopback only, and clients are told `N` to SSLRequest); the
//! upstream leg is always TLS, and the token is only ever written inside it.

mod cancel;
mod client;
pub mod config;
pub mod error;
pub mod forwarder;
mod handshake;
mod listener;
mod login;
pub mod observer;
mod peer_owner;
mod relay;
mod session;
pub mod token;
mod upstream;
mod upstream_tls;

pub use config::{AuthMethod, ForwarderConfig, LocalAccess, SslMode, SslNegotiation};
pub use error::ForwardError;
pub use forwarder::{ConnectionGauge, Forwarder};
pub use observer::{ConnectionEnd, ConnectionObserver, ConnectionStart, NoObserver, Outcome};
pub use peer_owner::{ClientProgram, ClientSocket, loopback_listener_uid, own_uid};
pub use token::{BoxFuture, ClientInfo, TokenError, TokenSource, UpstreamToken};
