//! How start-up is reported: the CLI prints "Starting the dev IdP… ok (https://localhost:8443)"
//! lines, the desktop app shows a list of steps. The demo itself prints nothing.

/// Receives the demo's steps as they happen. Called from the task running
/// [`DemoEnvironment::start`](crate::DemoEnvironment::start) or `stop`, one step at a time.
pub trait Progress: Send + Sync {
    /// A step began, e.g. "Starting the dev IdP".
    fn started(&self, step: &str);

    /// The step last started succeeded; `detail` may be empty ("ok") or say what came of it
    /// ("new key", "127.0.0.1:5433, TLS, …"). A step that fails is never finished: the error
    /// returned by `start` says why.
    fn finished(&self, step: &str, detail: &str);

    /// Something done along the way that is not a step of its own, e.g. stopping a server an
    /// earlier demo left running.
    fn note(&self, message: &str) {
        let _ = message;
    }

    /// Something went wrong that does not stop the demo (the PID list could not be written).
    fn warning(&self, message: &str) {
        let _ = message;
    }
}

/// Reports nothing: for callers that only want the environment.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Progress for Silent {
    fn started(&self, _step: &str) {}
    fn finished(&self, _step: &str, _detail: &str) {}
}
