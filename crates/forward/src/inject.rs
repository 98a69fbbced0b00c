//! Messages of Tapgate's own in the server's stream to the client: a NOTICE that the session
//! will close, and the FATAL that closes it.
//!
//! The relay copies bytes without parsing messages, so an extra message can only go in where
//! the server's stream is between two messages. [`Injecting`] wraps the server side of the relay
//! and follows message boundaries as bytes pass (a 5-byte header, then `length - 4` bytes of
//! body, counted rather than read), and hands out a queued message when it stands on a
//! boundary. PostgreSQL allows NoticeResponse at any time, and a FATAL ErrorResponse followed
//! by the end of the stream is how a server closes a session.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::mpsc;

/// A message for the client.
#[derive(Debug)]
pub(crate) enum Injection {
    /// Sent, then the relay goes on.
    Notice(BytesMut),
    /// Sent, then the server side reads as closed: the relay ends.
    Close(BytesMut),
}

/// Queues messages for an [`Injecting`] stream.
pub(crate) type Injector = mpsc::UnboundedSender<Injection>;

/// Resolves once a [`Injection::Close`] message has been written out whole: the relay asks for
/// more only after it wrote what it had.
pub(crate) type Delivered = tokio::sync::oneshot::Receiver<()>;

/// Where the server's stream stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    /// Between messages.
    Boundary,
    /// Inside a header, this many of its 5 bytes seen (the length is gathered in `length`).
    Header { seen: u8, length: u32 },
    /// Inside a body, this many bytes still to come.
    Body(u64),
}

/// The server side of a relay, with Tapgate's messages slipped in between the server's.
pub(crate) struct Injecting<S> {
    inner: S,
    queue: mpsc::UnboundedReceiver<Injection>,
    position: Position,
    /// An injected message not yet handed out in full.
    sending: BytesMut,
    /// After a Close has been handed out: reads return the end of the stream.
    closed: bool,
    closing: bool,
    delivered: Option<tokio::sync::oneshot::Sender<()>>,
}

impl<S> Injecting<S> {
    /// Wraps `inner`; messages queued on the returned [`Injector`] go out at the next boundary.
    pub(crate) fn new(inner: S) -> (Injecting<S>, Injector, Delivered) {
        let (injector, queue) = mpsc::unbounded_channel();
        let (delivered, on_delivered) = tokio::sync::oneshot::channel();
        let stream = Injecting {
            inner,
            queue,
            position: Position::Boundary,
            sending: BytesMut::new(),
            closed: false,
            closing: false,
            delivered: Some(delivered),
        };
        (stream, injector, on_delivered)
    }

    /// Follows the server's messages through `bytes`: what passed to the client before the
    /// relay began (the server may have sent more than its login), then each read.
    pub(crate) fn track(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            match self.position {
                Position::Boundary => self.position = Position::Header { seen: 0, length: 0 },
                Position::Header { seen, length } => {
                    // Byte 0 is the type; bytes 1..5 the big-endian length, which counts itself.
                    let length = if seen == 0 { 0 } else { (length << 8) | u32::from(bytes[0]) };
                    bytes = &bytes[1..];
                    self.position = if seen == 4 {
                        match u64::from(length).saturating_sub(4) {
                            0 => Position::Boundary,
                            body => Position::Body(body),
                        }
                    } else {
                        Position::Header { seen: seen + 1, length }
                    };
                }
                Position::Body(left) => {
                    let take = left.min(bytes.len() as u64);
                    bytes = &bytes[take as usize..];
                    self.position =
                        if take == left { Position::Boundary } else { Position::Body(left - take) };
                }
            }
        }
    }

    /// Copies what is being sent into `buf`; true once it has all gone.
    fn hand_out(&mut self, buf: &mut ReadBuf<'_>) -> bool {
        let n = self.sending.len().min(buf.remaining());
        buf.put_slice(&self.sending[..n]);
        self.sending.advance(n);
        self.sending.is_empty()
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Injecting<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.closed {
            // Asked for more: what was handed out before has been written.
            if let Some(delivered) = this.delivered.take() {
                let _ = delivered.send(());
            }
            return Poll::Ready(Ok(()));
        }
        if !this.sending.is_empty() {
            if this.hand_out(buf) && this.closing {
                this.closed = true;
            }
            return Poll::Ready(Ok(()));
        }
        if this.position == Position::Boundary
            && let Poll::Ready(Some(injection)) = this.queue.poll_recv(cx)
        {
            let (bytes, closing) = match injection {
                Injection::Notice(bytes) => (bytes, false),
                Injection::Close(bytes) => (bytes, true),
            };
            this.sending = bytes;
            this.closing = closing;
            if this.hand_out(buf) && closing {
                this.closed = true;
            }
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = poll {
            this.track(&buf.filled()[before..]);
        }
        poll
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Injecting<S> {
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

#[cfg(test)]
mod tests {
    use tapgate_pgwire::ErrorReport;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// A server message: type byte, length, body.
    fn message(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![tag];
        m.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    #[tokio::test]
    async fn a_notice_waits_for_the_end_of_the_message_in_flight() -> io::Result<()> {
        let (mut server, ours) = tokio::io::duplex(1024);
        let (mut stream, injector, _) = Injecting::new(ours);
        let row = message(b'D', b"0123456789");
        // Half a message arrives, then the notice is queued: it must not split the row.
        server.write_all(&row[..7]).await?;
        let mut out = vec![0u8; 64];
        let n = stream.read(&mut out).await?;
        assert_eq!(&out[..n], &row[..7]);
        let notice = ErrorReport::notice("closing soon").to_bytes();
        injector.send(Injection::Notice(notice.clone())).expect("queued");
        server.write_all(&row[7..]).await?;
        let n = stream.read(&mut out).await?;
        assert_eq!(&out[..n], &row[7..]);
        let n = stream.read(&mut out).await?;
        assert_eq!(&out[..n], &notice[..]);
        Ok(())
    }

    #[tokio::test]
    async fn a_close_ends_the_stream_after_its_message() -> io::Result<()> {
        let (_server, ours) = tokio::io::duplex(1024);
        let (mut stream, injector, delivered) = Injecting::new(ours);
        let fatal = ErrorReport::fatal("57P01", "bye").to_bytes();
        injector.send(Injection::Close(fatal.clone())).expect("queued");
        let mut all = Vec::new();
        stream.read_to_end(&mut all).await?;
        assert_eq!(all, fatal.to_vec());
        assert!(delivered.await.is_ok(), "delivery is reported");
        Ok(())
    }

    #[test]
    fn boundaries_are_followed_across_any_split() {
        let mut stream_bytes = message(b'T', b"abc");
        stream_bytes.extend(message(b'Z', b"I"));
        stream_bytes.extend(message(b'C', b""));
        for split in 0..stream_bytes.len() {
            let (mut stream, _injector, _) = Injecting::new(tokio::io::empty());
            stream.track(&stream_bytes[..split]);
            stream.track(&stream_bytes[split..]);
            assert_eq!(stream.position, Position::Boundary, "split at {split}");
        }
        let (mut stream, _injector, _) = Injecting::new(tokio::io::empty());
        stream.track(&stream_bytes[..3]);
        assert_ne!(stream.position, Position::Boundary);
    }
}
