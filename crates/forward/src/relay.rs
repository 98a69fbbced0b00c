//! The relay after login: bytes both ways with `copy_bidirectional_with_sizes` (64 KiB buffers,
//! no per-message work), counted for history, stopped when Tapgate's grace period runs out.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_util::sync::CancellationToken;

/// Relay buffer per direction: 64 KiB measured 5.4 Gbit/s through a loopback relay here,
/// against 3.5 with 8 KiB.
const RELAY_BUFFER: usize = 64 * 1024;

/// What a relay moved, and why it ended if not by a clean close.
#[derive(Debug, Default)]
pub(crate) struct Relayed {
    pub(crate) from_client: u64,
    pub(crate) to_client: u64,
    /// The I/O error that ended it, if one did.
    pub(crate) error: Option<String>,
    /// True when the grace period after shutdown ended it.
    pub(crate) stopped: bool,
}

/// Copies until both sides have closed, either side fails, or `stop` fires.
pub(crate) async fn relay<C, U>(client: C, upstream: U, stop: &CancellationToken) -> Relayed
where
    C: AsyncRead + AsyncWrite + Unpin,
    U: AsyncRead + AsyncWrite + Unpin,
{
    let mut client = Counted { inner: client, read: 0 };
    let mut upstream = Counted { inner: upstream, read: 0 };
    let copy =
        tokio::io::copy_bidirectional_with_sizes(&mut client, &mut upstream, RELAY_BUFFER, RELAY_BUFFER);
    let (error, stopped) = tokio::select! {
        result = copy => (result.err().map(|e| e.to_string()), false),
        () = stop.cancelled() => (None, true),
    };
    // Counted reads, not the copy's totals: those are lost when the copy is cut short.
    Relayed { from_client: client.read, to_client: upstream.read, error, stopped }
}

/// A stream that counts the bytes read from it: one addition per read call, nothing per message.
struct Counted<S> {
    inner: S,
    read: u64,
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = poll {
            self.read += (buf.filled().len() - before) as u64;
        }
        poll
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
