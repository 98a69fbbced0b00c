//! [`WireError`]: everything that can be wrong with bytes on the wire, typed.
//!
//! Messages are written for the log and for a client's ErrorResponse: they name the packet and
//! the rule it broke, never a password or token.

/// A packet or message that breaks the PostgreSQL protocol, or one Tapgate will not build.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The length word of a startup-phase packet is below the 8 bytes any packet needs.
    #[error("invalid startup packet: length {0} is below the minimum of 8 bytes")]
    StartupTooShort(i64),

    /// The length word of a startup-phase packet is above PostgreSQL's `MAX_STARTUP_PACKET_LENGTH`.
    #[error("invalid startup packet: length {0} is above the limit of 10000 bytes")]
    StartupTooLong(i64),

    /// The first byte is a TLS handshake record: the client tried direct TLS (`sslnegotiation=direct`).
    #[error(
        "the client started TLS directly (sslnegotiation=direct); Tapgate's loopback listener speaks \
         plaintext, so connect with sslmode=disable or prefer (Tapgate does the TLS upstream)"
    )]
    DirectTls,

    /// A request code with PostgreSQL's special major number 1234 that is not SSL, GSSENC or cancel.
    #[error("invalid startup packet: unknown request code 1234.{0}")]
    UnknownRequestCode(u16),

    /// A protocol version other than 3.x (2.0 and older are gone since PostgreSQL 14).
    #[error("unsupported frontend protocol {major}.{minor}: Tapgate speaks protocol 3")]
    UnsupportedProtocol {
        /// Major version the client asked for.
        major: u16,
        /// Minor version the client asked for.
        minor: u16,
    },

    /// An SSLRequest or GSSENCRequest whose length is not exactly 8.
    #[error("invalid {packet}: length {length}, expected 8")]
    BadRequestLength {
        /// Which request.
        packet: &'static str,
        /// The length it claimed.
        length: usize,
    },

    /// A CancelRequest whose secret key is shorter than 4 or longer than 256 bytes.
    #[error("invalid CancelRequest: a {0}-byte secret key (protocol 3.0 uses 4 bytes, 3.2 up to 256)")]
    BadCancelKeyLength(usize),

    /// The StartupMessage does not end with the `\0` that closes the parameter list.
    #[error("invalid StartupMessage: the parameter list does not end with a terminator")]
    MissingTerminator,

    /// A parameter name without its value (the list has an odd number of strings).
    #[error("invalid StartupMessage: parameter \"{0}\" has no value")]
    MissingValue(String),

    /// A parameter name or value that is not UTF-8.
    #[error("invalid StartupMessage: a parameter name or value is not UTF-8")]
    NotUtf8,

    /// The same parameter appears twice, which would make its meaning ambiguous.
    #[error("invalid StartupMessage: parameter \"{0}\" appears twice")]
    DuplicateParameter(String),

    /// A parameter with an empty name, which the wire would read as the end of the list.
    #[error("invalid StartupMessage: a parameter has an empty name")]
    EmptyParameterName,

    /// No `user` parameter, or an empty one: PostgreSQL requires it.
    #[error("no PostgreSQL user name specified in startup packet")]
    MissingUser,

    /// A client's message in the local password exchange is not what the protocol says.
    #[error("invalid {0} from the client")]
    Malformed(&'static str),

    /// A name or value handed to an encoder contains a `\0`, which cannot be framed.
    #[error("cannot encode {0}: it contains a NUL byte")]
    EmbeddedNul(&'static str),

    /// A backend message whose length word is below 4 or above the handshake limit.
    #[error("invalid message from the server: message '{tag}' claims {length} bytes")]
    BadServerMessageLength {
        /// The message's type byte, as a character.
        tag: char,
        /// The length it claimed.
        length: i64,
    },

    /// A backend message that postgres-protocol (or our own parser) could not read.
    #[error("invalid message from the server: {0}")]
    BadServerMessage(String),

    /// A backend message that is well formed but not allowed at this point of the exchange.
    #[error("unexpected message from the server during {phase}: '{tag}'")]
    UnexpectedServerMessage {
        /// Where in the protocol flow we were.
        phase: &'static str,
        /// The message's type byte, as a character.
        tag: char,
    },
}
