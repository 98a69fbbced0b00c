//! Test harness: a dev IdP on its own thread and runtime, an HTTPS client trusting its CA,
//! and a soft-key client of the passkey flow.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tapgate_devidp::{EnrollKey, EnrollOptions, IdpServer, ServeOptions};
use tokio::sync::oneshot;
use url::Url;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softtoken::SoftTokenFile;
use webauthn_rs_proto::RequestChallengeResponse;

pub type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

pub const CLIENT_ID: &str = "tapgate";
pub const WEBAUTHN_GRANT: &str = "urn:okta:params:oauth:grant-type:webauthn";

/// A running IdP. Dropping it asks the server to stop without waiting; `stop` waits.
pub struct TestIdp {
    pub issuer: String,
    pub listen: std::net::SocketAddr,
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<Result<(), tapgate_devidp::Error>>>,
}

impl TestIdp {
    /// Serves `data_dir` on 127.0.0.1 port 0 with default options changed by `tweak`.
    pub fn start(data_dir: &Path, tweak: impl FnOnce(&mut ServeOptions)) -> TestResult<Self> {
        tapgate_devidp::install_ring_provider();
        let mut options = ServeOptions::new(data_dir);
        options.listen = "127.0.0.1:0".parse()?;
        tweak(&mut options);
        let server = IdpServer::bind(options)?;
        let issuer = server.issuer().to_owned();
        let listen = server.local_addr();
        let (shutdown, stopped) = oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
        let thread = std::thread::spawn(move || {
            runtime.block_on(server.run(async {
                let _ = stopped.await;
            }))
        });
        Ok(Self {
            client: https_client(data_dir, false)?,
            issuer,
            listen,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// A client of a server someone else started (the binary), serving `data_dir`.
    pub fn external(issuer: &str, data_dir: &Path) -> TestResult<Self> {
        let port: u16 = issuer.rsplit(':').next().ok_or("no port in the issuer")?.parse()?;
        Ok(Self {
            client: https_client(data_dir, false)?,
            issuer: issuer.to_owned(),
            listen: std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, port)),
            shutdown: None,
            thread: None,
        })
    }

    /// Stops the server and reports how `run` ended. Waits off the test's runtime: the
    /// server's graceful HTTP/2 shutdown needs this process's client to answer it.
    pub async fn stop(mut self) -> TestResult {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            tokio::task::spawn_blocking(move || thread.join())
                .await?
                .map_err(|_| "server thread panicked")??;
        }
        Ok(())
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    pub async fn get_json(&self, path: &str) -> TestResult<Value> {
        let response = self.client.get(self.url(path)).send().await?;
        assert_eq!(response.status(), 200, "GET {path}");
        Ok(response.json().await?)
    }

    /// POST /passkey/challenge for `user`.
    pub async fn challenge(&self, user: &str) -> TestResult<reqwest::Response> {
        Ok(self
            .client
            .post(self.url("/passkey/challenge"))
            .json(&json!({ "client_id": CLIENT_ID, "username": user }))
            .send()
            .await?)
    }

    /// A challenge that must succeed: (auth_session, authn_params_public_key).
    pub async fn ok_challenge(&self, user: &str) -> TestResult<(String, Value)> {
        let response = self.challenge(user).await?;
        assert_eq!(response.status(), 200, "challenge for {user}");
        let body: Value = response.json().await?;
        let session = body["auth_session"].as_str().ok_or("no auth_session")?.to_owned();
        Ok((session, body["authn_params_public_key"].clone()))
    }

    /// POST /oauth/token with a JSON body.
    pub async fn token(&self, body: &Value) -> TestResult<reqwest::Response> {
        Ok(self.client.post(self.url("/oauth/token")).json(body).send().await?)
    }

    /// Posts the webauthn grant for `auth_session`.
    pub async fn webauthn_grant(
        &self,
        auth_session: &str,
        assertion: Value,
    ) -> TestResult<reqwest::Response> {
        self.token(&json!({
            "grant_type": WEBAUTHN_GRANT,
            "client_id": CLIENT_ID,
            "auth_session": auth_session,
            "scope": "openid profile email offline_access",
            "authn_response": assertion,
        }))
        .await
    }

    /// The whole sign-in with the soft key at `key_file`; returns the token response.
    pub async fn sign_in(&self, user: &str, key_file: &Path) -> TestResult<Value> {
        let (session, options) = self.ok_challenge(user).await?;
        let assertion = sign(key_file, &self.issuer, &options)?;
        let response = self.webauthn_grant(&session, assertion).await?;
        assert_eq!(response.status(), 200, "sign-in of {user}");
        Ok(response.json().await?)
    }

    /// The kids currently in the JWKS.
    pub async fn jwks_kids(&self) -> TestResult<Vec<String>> {
        let jwks = self.get_json("/.well-known/jwks.json").await?;
        Ok(jwks["keys"]
            .as_array()
            .ok_or("no keys")?
            .iter()
            .filter_map(|k| k["kid"].as_str().map(String::from))
            .collect())
    }
}

impl Drop for TestIdp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// A client trusting only the IdP's CA.
pub fn https_client(data_dir: &Path, http1_only: bool) -> TestResult<reqwest::Client> {
    let ca = std::fs::read(data_dir.join("ca.pem"))?;
    let mut builder = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&ca)?);
    if http1_only {
        builder = builder.http1_only();
    }
    Ok(builder.build()?)
}

/// Enrolls a new soft key for `user` in `data_dir`; returns the key file.
pub fn enroll(data_dir: &Path, user: &str, groups: &[&str]) -> TestResult<PathBuf> {
    let key_file = data_dir.parent().ok_or("data dir has no parent")?.join(format!("{user}.key"));
    tapgate_devidp::enroll(&EnrollOptions {
        data_dir: data_dir.to_owned(),
        user: user.to_owned(),
        groups: Some(groups.iter().map(|g| g.to_string()).collect()),
        key: EnrollKey::SoftKey(key_file.clone()),
    })?;
    Ok(key_file)
}

/// Signs a challenge with the soft key as a client at `origin` would, and builds the
/// Auth0-shaped `authn_response`.
pub fn sign(key_file: &Path, origin: &str, options: &Value) -> TestResult<Value> {
    let mut public_key = options.clone();
    let members = public_key.as_object_mut().ok_or("options are not an object")?;
    // protocols.md 5: webauthn-rs-proto has no serde defaults for these two.
    members.entry("allowCredentials").or_insert_with(|| json!([]));
    members.entry("userVerification").or_insert_with(|| json!("preferred"));
    let challenge: RequestChallengeResponse = serde_json::from_value(json!({ "publicKey": public_key }))?;

    let file = OpenOptions::new().read(true).write(true).open(key_file)?;
    let mut token = SoftTokenFile::open(file)?;
    let credential = token.do_authentication(Url::parse(origin)?, challenge)?;
    drop(token); // saves the signature counter

    Ok(json!({
        "id": credential.id,
        "rawId": URL_SAFE_NO_PAD.encode(&credential.raw_id),
        "type": "public-key",
        "authenticatorAttachment": "cross-platform",
        "response": {
            "clientDataJSON": URL_SAFE_NO_PAD.encode(&credential.response.client_data_json),
            "authenticatorData": URL_SAFE_NO_PAD.encode(&credential.response.authenticator_data),
            "signature": URL_SAFE_NO_PAD.encode(&credential.response.signature),
        },
        "clientExtensionResults": {},
    }))
}

/// The JSON error body of a refusal: (status, error, error_description).
pub async fn refusal(response: reqwest::Response) -> TestResult<(u16, String, String)> {
    let status = response.status().as_u16();
    let body: Value = response.json().await?;
    Ok((
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
        body["error_description"].as_str().unwrap_or_default().to_owned(),
    ))
}

/// The decoded (unverified) header and claims of a JWT.
pub fn jwt_parts(jwt: &str) -> TestResult<(Value, Value)> {
    let mut parts = jwt.split('.');
    let header = parts.next().ok_or("no header")?;
    let claims = parts.next().ok_or("no claims")?;
    Ok((
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header)?)?,
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims)?)?,
    ))
}

/// A temp directory with a `data` subdirectory path (not created: the IdP creates it).
pub fn temp_data() -> TestResult<(tempfile::TempDir, PathBuf)> {
    let temp = tempfile::tempdir()?;
    let data = temp.path().join("data");
    Ok((temp, data))
}
