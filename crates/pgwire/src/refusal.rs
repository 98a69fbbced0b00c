//! [`Refusal`]: why Tapgate stopped an authentication exchange without sending the token, in
//! words a person can act on.

use std::fmt;

const WHAT_WE_DO: &str = "Tapgate sends tokens only to servers that accept them as a password \
                          (auth = \"password\") or via OAuth (auth = \"oauthbearer\")";

/// The server asked for something Tapgate will not answer with a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The server asked for a password, but the channel is not encrypted.
    NotEncrypted,
    /// The server asked for an MD5-hashed password (AuthenticationMD5Password).
    Md5,
    /// The server offered only SCRAM (AuthenticationSASL without OAUTHBEARER).
    Scram {
        /// The mechanisms the server offered.
        mechanisms: Vec<String>,
    },
    /// The server offered OAUTHBEARER but this database is set to send the token as a password.
    OAuthNotConfigured {
        /// The mechanisms the server offered.
        mechanisms: Vec<String>,
    },
    /// This database is set to OAuth but the server offered SASL without OAUTHBEARER.
    OAuthNotOffered {
        /// The mechanisms the server offered.
        mechanisms: Vec<String>,
    },
    /// Kerberos, GSSAPI, SSPI or SCM credentials: nothing a token can answer.
    Unsupported {
        /// The method's name, e.g. "GSSAPI".
        method: &'static str,
    },
}

impl Refusal {
    /// What the person can do about it, for an ErrorResponse's hint.
    pub fn hint(&self) -> String {
        match self {
            Refusal::NotEncrypted => "use sslmode = \"verify-full\" (the default) for this database".into(),
            Refusal::OAuthNotConfigured { .. } => {
                "set auth = \"oauthbearer\" for this database in Tapgate's configuration".into()
            }
            Refusal::OAuthNotOffered { .. } => {
                "the server's pg_hba.conf must use the \"oauth\" method for this role, or set \
                 auth = \"password\" if it takes the token as a password"
                    .into()
            }
            Refusal::Md5 | Refusal::Scram { .. } | Refusal::Unsupported { .. } => {
                "the server's pg_hba.conf must use \"password\" or \"pam\" (token as a password, over \
                 hostssl) or \"oauth\" (PostgreSQL 18) for this role"
                    .into()
            }
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NotEncrypted => write!(
                f,
                "the server asked for a password over a connection that is not encrypted; \
                 Tapgate never sends a token without TLS"
            ),
            Refusal::Md5 => write!(f, "the server asked for MD5 password authentication; {WHAT_WE_DO}"),
            Refusal::Scram { mechanisms } => write!(
                f,
                "the server asked for SCRAM password authentication ({}); {WHAT_WE_DO}",
                mechanisms.join(", ")
            ),
            Refusal::OAuthNotConfigured { mechanisms } => write!(
                f,
                "the server asks for OAuth ({}) but this database is set to send the token as a \
                 password (auth = \"password\")",
                mechanisms.join(", ")
            ),
            Refusal::OAuthNotOffered { mechanisms } => write!(
                f,
                "this database is set to OAuth (auth = \"oauthbearer\") but the server offers only {}",
                mechanisms.join(", ")
            ),
            Refusal::Unsupported { method } => {
                write!(f, "the server asked for {method} authentication; {WHAT_WE_DO}")
            }
        }
    }
}
