//! The decision line in the server log.
//!
//! PostgreSQL's own `ereport` is a variadic C function whose errors `longjmp`; calling it from
//! Rust is neither simple nor safe. A backend's stderr is the server log instead: `pg_ctl -l FILE`
//! and the logging collector (`logging_collector = on`) both capture it. One `write` per decision,
//! so concurrent backends do not interleave inside it (the log file is opened for append).
//!
//! A decision is two lines: `tapgate-pg-validator[PID]: LOG: <text>` and the same decision as
//! bare JSON (`{"program":"tapgate-pg-validator",...}`), for log shippers.

use std::io::Write;

/// The prefix of every line, so admins can grep for the module.
pub const PREFIX: &str = "tapgate-pg-validator";

/// Writes `tapgate-pg-validator[PID]: LEVEL: message` to stderr; errors are ignored (a full disk
/// must not turn into a failed login or a panic).
pub fn write_line(level: &str, message: &str) {
    let line = format!("{PREFIX}[{}]: {level}: {}\n", std::process::id(), message.replace('\n', " "));
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// The text line and the JSON line of one decision, in one write.
pub fn write_decision(text: &str, json: &str) {
    let lines = format!(
        "{PREFIX}[{}]: LOG: {}\n{}\n",
        std::process::id(),
        text.replace('\n', " "),
        json.replace('\n', " ")
    );
    let _ = std::io::stderr().lock().write_all(lines.as_bytes());
}
