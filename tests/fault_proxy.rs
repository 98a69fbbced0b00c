//! A TCP proxy that misbehaves on demand, put between a forwarder and its PostgreSQL server to
//! play the network's faults: connections reset (RST), a blackhole (accepted, then silence),
//! and a half-close from the server's side. Bytes pass through untouched otherwise, so TLS
//! and the server's certificate work as without it.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// What the proxy does with new connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultMode {
    /// Relay both ways.
    Pass = 0,
    /// Accept, then never relay a byte (a dead route, a stuck middlebox).
    Blackhole = 1,
}

/// The proxy: listening on 127.0.0.1, relaying to `upstream`; stopped on drop.
pub struct FaultProxy {
    port: u16,
    mode: Arc<AtomicU8>,
    live: Arc<Mutex<Vec<Link>>>,
    stop: Arc<AtomicBool>,
}

/// One relayed connection: both sockets, for the faults to act on.
struct Link {
    client: TcpStream,
    server: TcpStream,
}

impl FaultProxy {
    /// Starts relaying connections on a free port to `127.0.0.1:upstream`.
    pub fn start(upstream: u16) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let proxy = FaultProxy {
            port,
            mode: Arc::new(AtomicU8::new(FaultMode::Pass as u8)),
            live: Arc::default(),
            stop: Arc::default(),
        };
        let (mode, live, stop) = (proxy.mode.clone(), proxy.live.clone(), proxy.stop.clone());
        thread::spawn(move || {
            for client in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                if mode.load(Ordering::SeqCst) == FaultMode::Blackhole as u8 {
                    // Held open and never read: the peer waits on silence.
                    live.lock().unwrap().push(Link { server: client.try_clone().unwrap(), client });
                    continue;
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else { continue };
                live.lock()
                    .unwrap()
                    .push(Link { client: client.try_clone().unwrap(), server: server.try_clone().unwrap() });
                pump(client.try_clone().unwrap(), server.try_clone().unwrap());
                pump(server, client);
            }
        });
        proxy
    }

    /// The port to give the forwarder as the server's.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// What happens to the next connections.
    pub fn set_mode(&self, mode: FaultMode) {
        self.mode.store(mode as u8, Ordering::SeqCst);
    }

    /// Resets every open connection on both sides (SO_LINGER 0, then close: an RST, as a
    /// crashed middlebox or a server host that rebooted sends).
    pub fn reset_all(&self) {
        for link in self.live.lock().unwrap().drain(..) {
            for socket in [&link.client, &link.server] {
                let _ = rustix::net::sockopt::set_socket_linger(socket, Some(Duration::ZERO));
                let _ = socket.shutdown(Shutdown::Both);
            }
        }
    }

    /// The server side says it is done sending (FIN towards the client) while its socket
    /// stays open for reading: a server that half-closes.
    pub fn half_close_from_server(&self) {
        for link in self.live.lock().unwrap().iter() {
            let _ = link.client.shutdown(Shutdown::Write);
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        self.reset_all();
    }
}

/// Copies `from` into `to` until either ends, then passes the end on as a half-close.
fn pump(mut from: TcpStream, mut to: TcpStream) {
    thread::spawn(move || {
        let mut buffer = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buffer[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}
