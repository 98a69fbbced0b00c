//! The start-up lines: "Starting the dev IdP… ok (https://localhost:8443)", on stderr so stdout
//! carries only what a script wants (the connection strings).

use std::io::Write as _;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

/// One step in progress; finish it with [`Step::ok`]. Dropped unfinished (an error, Ctrl-C),
/// it closes its line with "failed" so the error that follows starts on a line of its own.
pub struct Step {
    started: Instant,
    finished: bool,
}

impl Step {
    /// Prints `what…` and leaves the line open for the outcome.
    pub fn start(what: &str) -> Step {
        eprint!("  {what}… ");
        let _ = std::io::stderr().flush();
        Step { started: Instant::now(), finished: false }
    }

    /// Closes the line with "ok", a detail, and the time when it was long enough to notice.
    pub fn ok(mut self, detail: &str) {
        self.finished = true;
        let took = self.started.elapsed();
        let detail = if detail.is_empty() { String::new() } else { format!(" ({detail})") };
        if took.as_secs_f64() >= 1.0 {
            eprintln!("ok{detail} [{:.1} s]", took.as_secs_f64());
        } else {
            eprintln!("ok{detail}");
        }
    }
}

impl Drop for Step {
    fn drop(&mut self) {
        if !self.finished {
            eprintln!("failed");
        }
    }
}

/// The demo's steps as [`Step`] lines. A step the demo started but never finished (it failed)
/// is closed with "failed" when the next one starts or at [`TerminalProgress::close`].
#[derive(Default)]
pub struct TerminalProgress {
    open: Mutex<Option<Step>>,
}

impl TerminalProgress {
    /// Ends a line left open by a failed step, before the error is printed.
    pub fn close(&self) {
        drop(self.open.lock().unwrap_or_else(PoisonError::into_inner).take());
    }
}

impl tapgate_demo::Progress for TerminalProgress {
    fn started(&self, step: &str) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        drop(open.take());
        *open = Some(Step::start(step));
    }

    fn finished(&self, _step: &str, detail: &str) {
        if let Some(step) = self.open.lock().unwrap_or_else(PoisonError::into_inner).take() {
            step.ok(detail);
        }
    }

    fn note(&self, message: &str) {
        eprintln!("  ({message})");
    }

    fn warning(&self, message: &str) {
        eprintln!("tapgate: warning: {message}");
    }
}
