//! The terminal side of a sign-in: "Touch your security key" with a spinner, PIN entry, and
//! the device flow's code (see `device_prompt`).

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use tapgate_core::{BrowserRequest, DeviceRequest, KeyKind, Prompt, TouchRequest};

use crate::device_prompt;

/// Shows prompts on stderr: a spinner on a terminal, plain lines otherwise (logs, CI).
#[derive(Default)]
pub struct TerminalPrompt {
    spinner: Mutex<Option<ProgressBar>>,
}

impl TerminalPrompt {
    fn start(&self, message: String) {
        let mut slot = self.spinner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(old) = slot.take() {
            old.finish_and_clear();
        }
        if std::io::stderr().is_terminal() {
            let spinner = ProgressBar::new_spinner();
            if let Ok(style) = ProgressStyle::with_template("{spinner} {msg}") {
                spinner.set_style(style);
            }
            spinner.set_message(message);
            spinner.enable_steady_tick(Duration::from_millis(100));
            *slot = Some(spinner);
        } else {
            eprintln!("{message}");
        }
    }
}

impl Prompt for TerminalPrompt {
    fn touch_key(&self, request: &TouchRequest) {
        self.start(format!("Touch your security key to sign in to {} as {}", request.idp, request.username));
    }

    fn insert_key(&self, request: &TouchRequest) {
        self.start(format!("Insert your security key to sign in to {} (waiting up to 60 s)", request.idp));
    }

    fn request_pin(&self, request: &TouchRequest) -> Option<String> {
        self.finished();
        rpassword::prompt_password(format!("PIN for your security key ({}): ", request.idp)).ok()
    }

    fn approve_soft_key(&self, request: &TouchRequest) -> bool {
        debug_assert_eq!(request.kind, KeyKind::Soft);
        // A software key needs no touch; say which key signs so nobody mistakes it for hardware.
        self.start(format!("Signing in to {} as {} with a software key", request.idp, request.username));
        true
    }

    fn browser_sign_in(&self, request: &BrowserRequest) {
        self.finished();
        // Printed in full and first: on an SSH session no browser opens, and the person copies
        // it to one that can reach the loopback port (or uses `tapgate login --device`).
        eprintln!(
            "Sign in to {} in your browser. If no browser opened, open this page:\n  {}",
            request.idp, request.url
        );
        self.start(format!(
            "Waiting for the sign-in to {} to finish in the browser (up to 5 minutes)",
            request.idp
        ));
    }

    fn device_sign_in(&self, request: &DeviceRequest) {
        self.finished();
        // On stderr like every prompt: stdout stays for the command's result.
        eprint!("{}", device_prompt::text(request, std::io::stderr().is_terminal()));
        self.start(format!("Waiting for the sign-in to {} to be confirmed…", request.idp));
    }

    fn finished(&self) {
        if let Some(spinner) = self.spinner.lock().unwrap_or_else(|p| p.into_inner()).take() {
            spinner.finish_and_clear();
        }
    }
}
