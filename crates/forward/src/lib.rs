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
//! - `socket_listener`: the Unix-domain socket `.s.PGSQL.PORT` in the person's private folder.
//! - `client_stream`: a client's connection over either, and [`ClientAddr`].
//! - `peer_owner`: whose program a client is (the kernel's socket tables, `SO_PEERCRED`).
//! - `session`: one client connection from accept to close.
//! - `client`: the client's first packets (SSLRequest/GSSENCRequest answered `N`).
//! - `login`: role, database, `application_name` and parameters for the server.
//! - `upstream` and `upstream_tls`: TCP + TLS to the server, roots, certificate checks, and
//!   handshake failures explained.
//! - [`probe`]: how far a connection gets without logging in (TCP, TLS, the authentication the
//!   server asks for, never answered), for `tapgate doctor`.
//! - `handshake`: the server's login up to ReadyForQuery (authentication in `tapgate-pgwire`).
//! - `relay`: bytes both ways, counted.
//! - `inject`: Tapgate's own NOTICE or FATAL slipped in between the server's messages.
//! - [`session_limit`]: sessions end when the sign-in does (`session_limit = "token"`).
//! - `cancel`: live sessions' cancel keys and forwarding CancelRequests.
//! - [`error`]: [`ForwardError`], the one error type, with each failure's [`Outcome`] and
//!   the ErrorResponse the client gets.
//!
//! The loopback leg is plaintext (loopback only, and clients are told `N` to SSLRequest); the
//! upstream leg is always TLS, and the token is only ever written inside it.

mod cancel;
mod client;
mod client_stream;
pub mod config;
pub mod error;
pub mod forwarder;
mod handshake;
mod inject;
mod instance_name;
mod listener;
mod local_password;
mod login;
pub mod observer;
mod peer_owner;
mod pinned_certificate;
pub mod probe;
mod relay;
mod session;
pub mod session_limit;
mod socket_listener;
pub mod token;
mod upstream;
mod upstream_tls;

pub use client_stream::ClientAddr;
pub use config::{AuthMethod, ForwarderConfig, LocalAccess, SessionLimit, SslMode, SslNegotiation};
pub use error::ForwardError;
pub use forwarder::{ConnectionGauge, Forwarder, Shutdown};
pub use observer::{ConnectionEnd, ConnectionObserver, ConnectionStart, NoObserver, Outcome};
pub use peer_owner::{ClientProgram, ClientSocket, loopback_listener_uid, own_uid};
pub use probe::{ProbeFailure, ProbeStep, ServerProbe, probe};
pub use socket_listener::socket_path;
pub use token::{BoxFuture, ClientInfo, TokenError, TokenSource, UpstreamToken};
