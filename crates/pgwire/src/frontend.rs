//! Encoders for the untagged packets the forwarder sends upstream (and tests send to it).
//!
//! postgres-protocol's `message::frontend` writes the protocol 3.0 forms; it speaks nothing
//! newer, so 3.2 startups, GSSENCRequest and variable-length cancel keys are written here.

use bytes::{BufMut, BytesMut};
use postgres_protocol::message::frontend;

use crate::startup::{CANCEL_REQUEST_CODE, GSSENC_REQUEST_CODE, MAX_STARTUP_PACKET_LENGTH};
use crate::{CancelRequest, ProtocolVersion, StartupMessage, StartupPacket, WireError};

/// Appends a StartupMessage: `int32 length, int32 version, (name\0 value\0)*, \0`.
///
/// Refuses a message longer than [`MAX_STARTUP_PACKET_LENGTH`], which any server would refuse.
pub fn startup_message(message: &StartupMessage, buf: &mut BytesMut) -> Result<(), WireError> {
    let start = buf.len();
    let params = message.params().iter().map(|(n, v)| (n.as_str(), v.as_str()));
    if message.version() == ProtocolVersion::V3_0 {
        frontend::startup_message(params, buf).map_err(|_| WireError::EmbeddedNul("a startup parameter"))?;
    } else {
        begin_packet(buf);
        buf.put_i32(message.version().code());
        for (name, value) in params {
            // StartupMessage::new already refused NULs; the list cannot be misframed.
            buf.put_slice(name.as_bytes());
            buf.put_u8(0);
            buf.put_slice(value.as_bytes());
            buf.put_u8(0);
        }
        buf.put_u8(0);
        finish_packet(buf, start)?;
    }
    let length = buf.len() - start;
    if length > MAX_STARTUP_PACKET_LENGTH {
        buf.truncate(start);
        return Err(WireError::StartupTooLong(i64::try_from(length).unwrap_or(i64::MAX)));
    }
    Ok(())
}

/// Appends an SSLRequest (8 bytes).
pub fn ssl_request(buf: &mut BytesMut) {
    frontend::ssl_request(buf);
}

/// Appends a GSSENCRequest (8 bytes).
pub fn gssenc_request(buf: &mut BytesMut) {
    buf.put_i32(8);
    buf.put_i32(GSSENC_REQUEST_CODE);
}

/// Appends a CancelRequest: the 3.0 form for a 4-byte key, the 3.2 form for a longer one.
pub fn cancel_request(request: &CancelRequest, buf: &mut BytesMut) -> Result<(), WireError> {
    if let Some(key) = request.secret_key.as_i32() {
        frontend::cancel_request(request.process_id, key, buf);
        return Ok(());
    }
    let start = begin_packet(buf);
    buf.put_i32(CANCEL_REQUEST_CODE);
    buf.put_i32(request.process_id);
    buf.put_slice(request.secret_key.as_bytes());
    finish_packet(buf, start)
}

impl StartupPacket {
    /// Appends this packet exactly as a client would send it.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), WireError> {
        match self {
            StartupPacket::SslRequest => ssl_request(buf),
            StartupPacket::GssEncRequest => gssenc_request(buf),
            StartupPacket::Cancel(request) => cancel_request(request, buf)?,
            StartupPacket::Startup(message) => startup_message(message, buf)?,
        }
        Ok(())
    }
}

/// Reserves the length word; returns where the packet starts.
fn begin_packet(buf: &mut BytesMut) -> usize {
    let start = buf.len();
    buf.put_i32(0);
    start
}

/// Fills in the length word (it counts itself) of the packet that starts at `start`.
fn finish_packet(buf: &mut BytesMut, start: usize) -> Result<(), WireError> {
    let length = i32::try_from(buf.len() - start).map_err(|_| WireError::StartupTooLong(i64::MAX))?;
    buf[start..start + 4].copy_from_slice(&length.to_be_bytes());
    Ok(())
}
