//! The sign-in prompt bridge: the engine's key ceremony runs on a blocking thread and calls
//! [`DesktopPrompt`]; the window shows the prompt and answers through `answer_prompt`.
//!
//! One prompt at a time (the engine signs in once per IdP at a time). Each ceremony gets a new
//! id so a late click can never answer the next ceremony.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use tapgate_core::{BrowserOpener, BrowserRequest, DeviceRequest, KeyKind, Prompt, TouchRequest};
use tapgate_desktop_model::prompt::{prompt_message, qr_rows};
use tapgate_desktop_model::{KeyKindView, PromptAnswer, PromptStage, PromptView};

/// How long a prompt waits for the person. The forwarder holds a client for 60 s while a
/// sign-in runs, so waiting longer would only answer a client that has gone.
const ANSWER_WAIT: Duration = Duration::from_secs(55);

/// What the broker needs from the rest of the app when a prompt opens or closes.
pub trait PromptSurface: Send + Sync {
    /// Show the prompt: UI event, window forward, notification, tray attention.
    fn opened(&self, prompt: &PromptView);
    /// Hide it.
    fn closed(&self, id: u64);
}

/// The prompt that is open, if any, and where its answer goes.
pub struct PromptBroker {
    surface: Arc<dyn PromptSurface>,
    next_id: AtomicU64,
    open: Mutex<Option<OpenPrompt>>,
    /// Opens a browser sign-in page again ("Open again").
    opener: Option<Arc<dyn BrowserOpener>>,
}

struct OpenPrompt {
    view: PromptView,
    answer: Option<mpsc::Sender<PromptAnswer>>,
}

impl PromptBroker {
    pub fn new(surface: Arc<dyn PromptSurface>) -> PromptBroker {
        PromptBroker { surface, next_id: AtomicU64::new(1), open: Mutex::default(), opener: None }
    }

    /// The same broker, opening browser sign-in pages again with `opener`.
    pub fn with_opener(self, opener: Arc<dyn BrowserOpener>) -> PromptBroker {
        PromptBroker { opener: Some(opener), ..self }
    }

    /// A prompt for one sign-in, saying why it is needed.
    pub fn prompt(self: &Arc<Self>, reason: Option<String>) -> Arc<dyn Prompt> {
        self.prompt_lazy(move || reason.clone())
    }

    /// A prompt whose reason is worked out only if it is shown.
    pub fn prompt_lazy(
        self: &Arc<Self>,
        reason: impl Fn() -> Option<String> + Send + Sync + 'static,
    ) -> Arc<dyn Prompt> {
        Arc::new(DesktopPrompt {
            broker: self.clone(),
            reason: Box::new(reason),
            shown_reason: std::sync::OnceLock::new(),
            id: Mutex::default(),
            cancel: Arc::new(tokio::sync::Notify::new()),
        })
    }

    /// The prompt on screen, to show again when the window comes forward.
    pub fn current(&self) -> Option<PromptView> {
        self.lock().as_ref().map(|p| p.view.clone())
    }

    /// The person answered prompt `id`. Answers to a prompt that is no longer open are dropped.
    pub fn answer(&self, id: u64, answer: PromptAnswer) -> bool {
        let open = self.lock();
        match open.as_ref() {
            Some(p) if p.view.id == id => match &p.answer {
                Some(sender) => sender.send(answer).is_ok(),
                // A touch prompt waits for the key, not for the window; Cancel just hides it.
                None => {
                    drop(open);
                    if answer == PromptAnswer::Cancel {
                        self.close(id);
                    }
                    true
                }
            },
            _ => false,
        }
    }

    fn show(&self, view: PromptView, answer: Option<mpsc::Sender<PromptAnswer>>) {
        *self.lock() = Some(OpenPrompt { view: view.clone(), answer });
        self.surface.opened(&view);
    }

    fn close(&self, id: u64) {
        let mut open = self.lock();
        if open.as_ref().is_some_and(|p| p.view.id == id) {
            *open = None;
            drop(open);
            self.surface.closed(id);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<OpenPrompt>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The [`Prompt`] of one sign-in.
struct DesktopPrompt {
    broker: Arc<PromptBroker>,
    reason: Box<dyn Fn() -> Option<String> + Send + Sync>,
    /// The reason, worked out the first time the prompt shows.
    shown_reason: std::sync::OnceLock<Option<String>>,
    /// The id of this ceremony's prompt, once shown.
    id: Mutex<Option<u64>>,
    /// Fired by Cancel on a browser sign-in, which waits asynchronously (see `cancelled`).
    cancel: Arc<tokio::sync::Notify>,
}

impl DesktopPrompt {
    fn reason(&self) -> Option<String> {
        self.shown_reason.get_or_init(|| (self.reason)()).clone()
    }

    fn prompt_id(&self) -> u64 {
        let mut id = self.id.lock().unwrap_or_else(|p| p.into_inner());
        *id.get_or_insert_with(|| self.broker.next_id.fetch_add(1, Ordering::Relaxed))
    }

    fn view(&self, request: &TouchRequest, stage: PromptStage) -> PromptView {
        let id = self.prompt_id();
        PromptView {
            id,
            idp: request.idp.clone(),
            username: request.username.clone(),
            key_kind: match request.kind {
                KeyKind::Usb => KeyKindView::Usb,
                KeyKind::Soft => KeyKindView::Soft,
            },
            stage,
            message: prompt_message(stage, &request.idp),
            reason: self.reason(),
            url: None,
            user_code: None,
            qr_rows: None,
        }
    }

    /// Shows a prompt that needs an answer and waits for it (on the ceremony's blocking thread).
    fn ask(&self, request: &TouchRequest, stage: PromptStage) -> Option<PromptAnswer> {
        let (sender, receiver) = mpsc::channel();
        let view = self.view(request, stage);
        let id = view.id;
        self.broker.show(view, Some(sender));
        let answer = receiver.recv_timeout(ANSWER_WAIT).ok();
        if answer.is_none() || answer == Some(PromptAnswer::Cancel) {
            self.broker.close(id);
        }
        answer
    }
}

impl Prompt for DesktopPrompt {
    fn touch_key(&self, request: &TouchRequest) {
        self.broker.show(self.view(request, PromptStage::Touch), None);
    }

    fn insert_key(&self, request: &TouchRequest) {
        self.broker.show(self.view(request, PromptStage::Insert), None);
    }

    fn request_pin(&self, request: &TouchRequest) -> Option<String> {
        match self.ask(request, PromptStage::Pin) {
            Some(PromptAnswer::Pin { pin }) => Some(pin),
            _ => None,
        }
    }

    fn approve_soft_key(&self, request: &TouchRequest) -> bool {
        matches!(self.ask(request, PromptStage::Approve), Some(PromptAnswer::Approve))
    }

    fn browser_sign_in(&self, request: &BrowserRequest) {
        let view = PromptView {
            id: self.prompt_id(),
            idp: request.idp.clone(),
            username: String::new(),
            // The IdP's page decides which key; the prompt shows no key of ours.
            key_kind: KeyKindView::Browser,
            stage: PromptStage::Browser,
            message: prompt_message(PromptStage::Browser, &request.idp),
            reason: self.reason(),
            url: Some(request.url.to_string()),
            user_code: None,
            qr_rows: None,
        };
        let (sender, answers) = mpsc::channel();
        self.broker.show(view, Some(sender));
        // Answers arrive until the prompt closes (the sender is dropped with it).
        let (broker, cancel, url) = (self.broker.clone(), self.cancel.clone(), request.url.clone());
        std::thread::spawn(move || {
            while let Ok(answer) = answers.recv() {
                match answer {
                    PromptAnswer::OpenAgain => match &broker.opener {
                        Some(opener) => {
                            if let Err(e) = opener.open(&url) {
                                tracing::warn!("cannot open the sign-in page again: {e}");
                            }
                        }
                        None => tracing::warn!("no browser opener to open the sign-in page again"),
                    },
                    PromptAnswer::Cancel => cancel.notify_one(),
                    PromptAnswer::Approve | PromptAnswer::Pin { .. } => {}
                }
            }
        });
    }

    fn device_sign_in(&self, request: &DeviceRequest) {
        let page = request.verification_uri_complete.as_ref().unwrap_or(&request.verification_uri);
        let view = PromptView {
            id: self.prompt_id(),
            idp: request.idp.clone(),
            username: String::new(),
            key_kind: KeyKindView::Device,
            stage: PromptStage::Device,
            message: prompt_message(PromptStage::Device, &request.idp),
            reason: self.reason(),
            url: Some(request.verification_uri.to_string()),
            user_code: Some(request.user_code.clone()),
            qr_rows: qr_rows(page.as_str()),
        };
        let (sender, answers) = mpsc::channel();
        self.broker.show(view, Some(sender));
        let cancel = self.cancel.clone();
        std::thread::spawn(move || {
            while let Ok(answer) = answers.recv() {
                if answer == PromptAnswer::Cancel {
                    cancel.notify_one();
                }
            }
        });
    }

    fn cancelled(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        Box::pin(self.cancel.notified())
    }

    fn finished(&self) {
        if let Some(id) = *self.id.lock().unwrap_or_else(|p| p.into_inner()) {
            self.broker.close(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Recorded(Mutex<Vec<String>>);

    impl PromptSurface for Recorded {
        fn opened(&self, prompt: &PromptView) {
            self.0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(format!("open {} {}", prompt.id, prompt.message));
        }
        fn closed(&self, id: u64) {
            self.0.lock().unwrap_or_else(|p| p.into_inner()).push(format!("closed {id}"));
        }
    }

    fn request() -> TouchRequest {
        TouchRequest { idp: "demo".into(), username: "alice@example.com".into(), kind: KeyKind::Soft }
    }

    #[test]
    fn approve_answers_the_waiting_ceremony_and_stale_answers_are_dropped() {
        let surface = Arc::new(Recorded::default());
        let broker = Arc::new(PromptBroker::new(surface.clone()));
        let prompt = broker.prompt(Some("Connect demo".into()));
        let ceremony = std::thread::spawn(move || {
            let approved = prompt.approve_soft_key(&request());
            prompt.finished();
            approved
        });
        let shown = loop {
            if let Some(view) = broker.current() {
                break view;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        assert_eq!(shown.stage, PromptStage::Approve);
        assert_eq!(shown.reason.as_deref(), Some("Connect demo"));
        assert!(!broker.answer(shown.id + 1, PromptAnswer::Approve), "another prompt's answer is dropped");
        assert!(broker.answer(shown.id, PromptAnswer::Approve));
        assert!(ceremony.join().unwrap_or(false), "approved");
        assert!(broker.current().is_none());
        let log = surface.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        assert_eq!(
            log,
            [
                format!("open {} Approve the sign-in to demo with the software key", shown.id),
                format!("closed {}", shown.id)
            ]
        );
    }

    #[test]
    fn cancel_refuses_the_software_key() {
        let broker = Arc::new(PromptBroker::new(Arc::new(Recorded::default())));
        let prompt = broker.prompt(None);
        let ceremony = std::thread::spawn(move || prompt.approve_soft_key(&request()));
        let id = loop {
            if let Some(view) = broker.current() {
                break view.id;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        broker.answer(id, PromptAnswer::Cancel);
        assert!(!ceremony.join().unwrap_or(true));
        assert!(broker.current().is_none());
    }
}
