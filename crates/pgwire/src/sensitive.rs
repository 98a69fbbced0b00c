//! [`SensitiveBytes`]: an outgoing message that may hold the token, wiped when dropped.

use std::fmt;

use bytes::BytesMut;
use zeroize::Zeroize;

/// Bytes to send that may contain a secret (a PasswordMessage, a SASLInitialResponse).
///
/// `Debug` shows only the length, and the buffer is zeroed on drop so the token does not linger
/// in freed memory longer than the write takes.
pub struct SensitiveBytes(BytesMut);

impl SensitiveBytes {
    pub(crate) fn new(bytes: BytesMut) -> SensitiveBytes {
        SensitiveBytes(bytes)
    }

    /// The bytes, to write to the server.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for SensitiveBytes {
    fn drop(&mut self) {
        self.0.as_mut().zeroize();
    }
}

impl fmt::Debug for SensitiveBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SensitiveBytes({} bytes, redacted)", self.0.len())
    }
}
