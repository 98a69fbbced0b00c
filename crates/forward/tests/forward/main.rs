//! Wire-level tests of the forwarder over real sockets on 127.0.0.1: a raw client on one side,
//! a scripted TLS PostgreSQL server on the other.

mod cancel;
mod logging;
mod login;
mod probe;
mod refusals;
mod robustness;
mod session_end;
mod shutdown;
mod support;
mod tls;
