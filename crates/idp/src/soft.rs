//! Software keys: a webauthn-authenticator-rs `SoftToken` persisted in a file (demos and tests).

use std::fs::OpenOptions;
use std::path::PathBuf;
use std::sync::Mutex;

use url::Url;
use webauthn_authenticator_rs::WebauthnAuthenticator as _;
use webauthn_authenticator_rs::error::WebauthnCError;
use webauthn_authenticator_rs::softtoken::SoftTokenFile;
use webauthn_rs_proto::{PublicKeyCredential, RequestChallengeResponse};

use crate::IdpError;
use crate::authenticator::{Authenticator, KeyKind, Prompt, TouchRequest, ceremony_error};

/// A software key stored at `path` (created by `tapgate-devidp enroll --soft-key`).
pub(crate) struct SoftKey {
    path: PathBuf,
    /// One ceremony at a time per key: each one rewrites the file with the new signature
    /// counter, and two interleaved rewrites would lose an increment.
    in_use: Mutex<()>,
}

impl SoftKey {
    pub(crate) fn new(path: PathBuf) -> SoftKey {
        SoftKey { path, in_use: Mutex::new(()) }
    }

    fn open(&self) -> Result<SoftTokenFile, IdpError> {
        let key_file = |reason: String| IdpError::KeyFile { path: self.path.clone(), reason };
        // Read + write: the token saves its incremented signature counter back on drop.
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&self.path)
            .map_err(|err| key_file(err.to_string()))?;
        SoftTokenFile::open(file).map_err(|err| match err {
            WebauthnCError::Cbor => {
                key_file("not a software key file (its CBOR does not decode)".to_string())
            }
            other => key_file(other.to_string()),
        })
    }
}

impl Authenticator for SoftKey {
    fn kind(&self) -> KeyKind {
        KeyKind::Soft
    }

    fn authenticate(
        &self,
        request: &TouchRequest,
        origin: &Url,
        challenge: RequestChallengeResponse,
        prompt: &dyn Prompt,
    ) -> Result<PublicKeyCredential, IdpError> {
        // A software key has no button: the user's consent is the app's Approve button.
        if !prompt.approve_soft_key(request) {
            return Err(IdpError::Cancelled { idp: request.idp.clone() });
        }
        let _one_at_a_time = self.in_use.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut token = self.open()?;
        let rp_id = challenge.public_key.rp_id.clone();
        token.do_authentication(origin.clone(), challenge).map_err(|err| match err {
            // SoftToken::perform_u2f_sign answers `Internal` when none of allowCredentials is
            // among its credentials: that is "this key is not registered".
            WebauthnCError::Internal => IdpError::KeyNotRegistered {
                idp: request.idp.clone(),
                username: request.username.clone(),
                kind: KeyKind::Soft,
            },
            other => ceremony_error(other, request, origin, &rp_id),
        })
        // `token` drops here and saves the new counter to the file.
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use webauthn_authenticator_rs::softtoken::SoftToken;
    use webauthn_rs_proto::CreationChallengeResponse;

    use super::*;

    /// A prompt that records what it was asked.
    #[derive(Default)]
    pub(crate) struct RecordingPrompt {
        pub(crate) refuse: bool,
        pub(crate) approvals: AtomicUsize,
        pub(crate) touches: AtomicUsize,
    }

    impl Prompt for RecordingPrompt {
        fn touch_key(&self, _request: &TouchRequest) {
            self.touches.fetch_add(1, Ordering::SeqCst);
        }
        fn request_pin(&self, _request: &TouchRequest) -> Option<String> {
            None
        }
        fn approve_soft_key(&self, _request: &TouchRequest) -> bool {
            self.approvals.fetch_add(1, Ordering::SeqCst);
            !self.refuse
        }
    }

    pub(crate) fn origin() -> Url {
        Url::parse("https://localhost:8443").expect("url")
    }

    pub(crate) fn request() -> TouchRequest {
        TouchRequest { idp: "corp".into(), username: "alice@example.com".into(), kind: KeyKind::Soft }
    }

    /// Creates a software key file holding one credential for rpId `localhost`; returns the
    /// credential id.
    pub(crate) fn enrolled_key_file(path: &std::path::Path) -> Vec<u8> {
        let (mut token, _ca) = SoftToken::new(false).expect("soft token");
        let creation: CreationChallengeResponse = serde_json::from_value(serde_json::json!({
            "publicKey": {
                "rp": { "id": "localhost", "name": "test" },
                "user": { "id": "AAEC", "name": "alice@example.com", "displayName": "Alice" },
                "challenge": "AAECAwQFBgcICQoLDA0ODw",
                "pubKeyCredParams": [{ "type": "public-key", "alg": -7 }],
                "timeout": 60000,
                "attestation": "direct",
            }
        }))
        .expect("creation options");
        let registered = token.do_registration(origin(), creation).expect("registers");
        let file = std::fs::File::create(path).expect("create key file");
        drop(SoftTokenFile::new(token, file)); // saves on drop
        registered.raw_id.to_vec()
    }

    pub(crate) fn challenge_for(credential_id: &[u8]) -> RequestChallengeResponse {
        use base64::Engine as _;
        let id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(credential_id);
        serde_json::from_value(serde_json::json!({
            "publicKey": {
                "challenge": "c2lnbi1pbi1jaGFsbGVuZ2U",
                "rpId": "localhost",
                "timeout": 60000,
                "userVerification": "preferred",
                "allowCredentials": [{ "type": "public-key", "id": id }],
            }
        }))
        .expect("request options")
    }

    #[test]
    fn signs_with_an_enrolled_key_and_saves_the_counter() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("alice.key");
        let id = enrolled_key_file(&path);
        let before = std::fs::read(&path).expect("read");

        let prompt = RecordingPrompt::default();
        let key = SoftKey::new(path.clone());
        let credential = key.authenticate(&request(), &origin(), challenge_for(&id), &prompt).expect("signs");
        assert_eq!(credential.raw_id.to_vec(), id);
        assert_eq!(prompt.approvals.load(Ordering::SeqCst), 1);
        assert_eq!(prompt.touches.load(Ordering::SeqCst), 0, "software keys only ask for approval");
        assert_ne!(std::fs::read(&path).expect("read"), before, "the counter was saved back");
    }

    #[test]
    fn an_unknown_credential_is_not_registered() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("alice.key");
        enrolled_key_file(&path);
        let err = SoftKey::new(path)
            .authenticate(
                &request(),
                &origin(),
                challenge_for(b"someone else's key"),
                &RecordingPrompt::default(),
            )
            .expect_err("not registered");
        assert_eq!(err.to_string(), "this software key is not registered for alice@example.com at corp");
    }

    #[test]
    fn refusing_approval_cancels_without_touching_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("alice.key");
        let id = enrolled_key_file(&path);
        let before = std::fs::read(&path).expect("read");
        let prompt = RecordingPrompt { refuse: true, ..Default::default() };
        let err = SoftKey::new(path.clone())
            .authenticate(&request(), &origin(), challenge_for(&id), &prompt)
            .expect_err("refused");
        assert!(matches!(err, IdpError::Cancelled { .. }), "{err}");
        assert_eq!(std::fs::read(&path).expect("read"), before);
    }

    #[test]
    fn missing_and_corrupt_files_name_the_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("missing.key");
        let err = SoftKey::new(missing.clone())
            .authenticate(&request(), &origin(), challenge_for(b"x"), &RecordingPrompt::default())
            .expect_err("missing");
        let text = err.to_string();
        assert!(text.starts_with(&format!("cannot open software key {}: ", missing.display())), "{text}");

        let corrupt = dir.path().join("corrupt.key");
        std::fs::write(&corrupt, b"definitely not CBOR").expect("write");
        let err = SoftKey::new(corrupt.clone())
            .authenticate(&request(), &origin(), challenge_for(b"x"), &RecordingPrompt::default())
            .expect_err("corrupt");
        assert_eq!(
            err.to_string(),
            format!(
                "cannot open software key {}: not a software key file (its CBOR does not decode)",
                corrupt.display()
            )
        );
        assert_eq!(
            std::fs::read(&corrupt).expect("read"),
            b"definitely not CBOR",
            "a bad file is left alone"
        );
    }

    #[test]
    fn an_origin_outside_the_rp_id_is_reported_as_such() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("alice.key");
        let id = enrolled_key_file(&path);
        let elsewhere = Url::parse("https://idp.example.com").expect("url");
        let err = SoftKey::new(path)
            .authenticate(&request(), &elsewhere, challenge_for(&id), &RecordingPrompt::default())
            .expect_err("origin mismatch");
        assert!(matches!(err, IdpError::OriginMismatch { .. }), "{err}");
    }
}
