//! [`LoopbackListener`]: one port on 127.0.0.1 and ::1, never on any other address.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use tokio::net::{TcpListener, TcpStream};

use crate::ForwardError;

/// How often to retry when port 0 gave a v4 port whose v6 twin is taken.
const PORT_PICK_ATTEMPTS: usize = 16;

/// Listening sockets on the IPv4 and (when the system has it) IPv6 loopback, same port.
#[derive(Debug)]
pub(crate) struct LoopbackListener {
    v4: TcpListener,
    v6: Option<TcpListener>,
    port: u16,
}

impl LoopbackListener {
    /// Binds `port` (0: any free port that is free on both loopbacks). ::1 failing because IPv6
    /// is off is logged, not fatal; ::1 taken by someone else on a fixed port is fatal, since
    /// clients connecting to `localhost` could reach them instead.
    pub(crate) async fn bind(port: u16) -> Result<LoopbackListener, ForwardError> {
        let attempts = if port == 0 { PORT_PICK_ATTEMPTS } else { 1 };
        let mut last_error = None;
        for _ in 0..attempts {
            let v4_addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            let v4 = TcpListener::bind(v4_addr)
                .await
                .map_err(|source| ForwardError::Bind { addr: v4_addr, source })?;
            let bound =
                v4.local_addr().map_err(|source| ForwardError::Bind { addr: v4_addr, source })?.port();
            let v6_addr = SocketAddr::from((Ipv6Addr::LOCALHOST, bound));
            match TcpListener::bind(v6_addr).await {
                Ok(v6) => return Ok(LoopbackListener { v4, v6: Some(v6), port: bound }),
                Err(source) if source.kind() == io::ErrorKind::AddrInUse => {
                    last_error = Some(ForwardError::Bind { addr: v6_addr, source });
                }
                Err(error) => {
                    tracing::info!(%error, port = bound, "IPv6 loopback unavailable; listening on 127.0.0.1 only");
                    return Ok(LoopbackListener { v4, v6: None, port: bound });
                }
            }
        }
        Err(last_error.unwrap_or(ForwardError::Bind {
            addr: SocketAddr::from((Ipv6Addr::LOCALHOST, port)),
            source: io::Error::from(io::ErrorKind::AddrInUse),
        }))
    }

    /// The port, the same on both addresses.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// The addresses listened on.
    pub(crate) fn local_addrs(&self) -> Vec<SocketAddr> {
        let mut addrs = vec![SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))];
        if self.v6.is_some() {
            addrs.push(SocketAddr::from((Ipv6Addr::LOCALHOST, self.port)));
        }
        addrs
    }

    /// The next client on either address.
    pub(crate) async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        match &self.v6 {
            Some(v6) => tokio::select! {
                accepted = self.v4.accept() => accepted,
                accepted = v6.accept() => accepted,
            },
            None => self.v4.accept().await,
        }
    }
}
