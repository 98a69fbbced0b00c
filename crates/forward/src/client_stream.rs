//! [`ClientStream`]: a client's connection, over loopback TCP or the database's Unix-domain
//! socket, read and written alike; [`ClientAddr`] says which, for logs and history.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};

/// Where a client connected from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAddr {
    /// Loopback TCP, from this address.
    Tcp(SocketAddr),
    /// The Unix-domain socket (its peer has no address; its owner is known from the kernel).
    Unix,
}

impl std::fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientAddr::Tcp(addr) => addr.fmt(f),
            ClientAddr::Unix => f.write_str("unix socket"),
        }
    }
}

/// One client connection.
#[derive(Debug)]
pub(crate) enum ClientStream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl ClientStream {
    /// Waits for the client to send a byte (1) or close (0), without consuming anything: how a
    /// client that left is told from one still there.
    pub(crate) async fn peek_one(&self) -> io::Result<usize> {
        match self {
            ClientStream::Tcp(stream) => stream.peek(&mut [0u8; 1]).await,
            ClientStream::Unix(stream) => {
                // UnixStream has no async peek: wait until readable, then peek without blocking
                // (`try_io` clears the readiness when the peek would block).
                loop {
                    stream.readable().await?;
                    let peeked = stream.try_io(tokio::io::Interest::READABLE, || {
                        let mut one = [std::mem::MaybeUninit::<u8>::uninit(); 1];
                        socket2::SockRef::from(stream).peek(&mut one)
                    });
                    match peeked {
                        Ok(read) => return Ok(read),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                        Err(e) => return Err(e),
                    }
                }
            }
        }
    }
}

impl AsyncRead for ClientStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Tcp(stream) => Pin::new(stream).poll_read(cx, buf),
            ClientStream::Unix(stream) => Pin::new(stream).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ClientStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ClientStream::Tcp(stream) => Pin::new(stream).poll_write(cx, buf),
            ClientStream::Unix(stream) => Pin::new(stream).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Tcp(stream) => Pin::new(stream).poll_flush(cx),
            ClientStream::Unix(stream) => Pin::new(stream).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Tcp(stream) => Pin::new(stream).poll_shutdown(cx),
            ClientStream::Unix(stream) => Pin::new(stream).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ClientStream::Tcp(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
            ClientStream::Unix(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            ClientStream::Tcp(stream) => stream.is_write_vectored(),
            ClientStream::Unix(stream) => stream.is_write_vectored(),
        }
    }
}
