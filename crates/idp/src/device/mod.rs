//! Device sign-in: the OAuth 2.0 Device Authorization Grant (RFC 8628), for machines where
//! no browser can come back to a loopback port (SSH sessions, headless servers).
//!
//! The steps, in order: ask the `device_authorization_endpoint` for a device code and a user
//! code (`authorization`), show the person where to type the user code through
//! [`Prompt::device_sign_in`], poll the token endpoint on the plan `schedule` makes until the
//! answer (`answer` judges each poll) is tokens or a reason to stop, then check the ID token
//! when one came back (the browser flow's `id_token` checks, without a nonce: RFC 8628 has no
//! authorization request to carry one).
//!
//! Waits use tokio time, so a test can pause it; [`DeviceSettings`] lets a test count the
//! IdP's interval in a smaller unit. Production code keeps the default: one second per
//! second, never faster than the IdP asks.

mod answer;
mod authorization;
mod schedule;

use std::future::Future;
use std::time::Duration;

use secrecy::ExposeSecret as _;
use tapgate_clock::Clock;
use tapgate_config::IdpConfig;
use url::Url;

use crate::browser::{id_token, resource_indicator};
use crate::discovery::Discovery;
use crate::http::{IdpHttp, IdpResponse};
use crate::token::{for_database, token_set};
use crate::{IdpError, Prompt, TokenSet};

use answer::{DEVICE_CODE_GRANT, PollAnswer, judge};
use schedule::Schedule;

/// How a device sign-in waits between polls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceSettings {
    /// How long one of the IdP's seconds lasts for the poll waits (`interval`, `slow_down`).
    time_unit: Duration,
}

impl Default for DeviceSettings {
    fn default() -> DeviceSettings {
        DeviceSettings { time_unit: Duration::from_secs(1) }
    }
}

impl DeviceSettings {
    /// Polls at the IdP's interval: what every program should use.
    pub fn new() -> DeviceSettings {
        DeviceSettings::default()
    }

    /// For tests only: counts the IdP's `interval` and the `slow_down` step in `unit`
    /// instead of seconds. Anything under a second polls faster than the IdP asked, which an
    /// IdP may answer with `slow_down` (the flow then waits longer, as RFC 8628 §3.5 says).
    pub fn time_unit_for_tests(mut self, unit: Duration) -> DeviceSettings {
        self.time_unit = unit;
        self
    }
}

/// A device sign-in waiting for the person, as [`Prompt::device_sign_in`] shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceRequest {
    /// The IdP's name in the configuration.
    pub idp: String,
    /// The page where the person types the code (on a phone or another computer).
    pub verification_uri: Url,
    /// The same page with the code filled in (RFC 8628 §3.3.1), for a QR code or a link.
    pub verification_uri_complete: Option<Url>,
    /// The code to type, as the IdP formats it (`BCDF-GHJK`). Not a secret on its own: it is
    /// worth something only together with the person's sign-in at the IdP.
    pub user_code: String,
    /// How long the code stays valid.
    pub expires_in: Duration,
}

/// The whole device sign-in for `config`.
pub(crate) async fn sign_in(
    http: &IdpHttp,
    discovery: &Discovery,
    config: &IdpConfig,
    clock: &dyn Clock,
    settings: &DeviceSettings,
    prompt: &dyn Prompt,
) -> Result<TokenSet, IdpError> {
    let endpoint = discovery
        .device_authorization_endpoint
        .as_ref()
        .ok_or_else(|| IdpError::NoDeviceFlow { idp: config.name.clone() })?;
    if endpoint.scheme() != "https" {
        return Err(IdpError::BadDiscovery {
            idp: config.name.clone(),
            issuer: config.issuer.clone(),
            reason: format!("device_authorization_endpoint {endpoint} is not https"),
        });
    }

    // RFC 8628 §3.1-3.3: a device code for us, a user code for the person.
    let authorization = authorization::request(http, endpoint, config).await?;
    prompt.device_sign_in(&DeviceRequest {
        idp: config.name.clone(),
        verification_uri: authorization.verification_uri.clone(),
        verification_uri_complete: authorization.verification_uri_complete.clone(),
        user_code: authorization.user_code.clone(),
        expires_in: authorization.expires_in,
    });

    // §3.4-3.5: poll until the person has answered at the IdP.
    let schedule = Schedule::new(authorization.interval_secs, settings.time_unit, authorization.expires_in);
    let token_endpoint = &discovery.token_endpoint;
    let endpoint_name = format!("POST {token_endpoint}");
    let device_code = authorization.device_code.expose_secret();
    let polling = poll_until_answered(
        schedule,
        config,
        |response| judge(config, &endpoint_name, response, device_code),
        || poll_once(http, token_endpoint, config, device_code),
    );
    // The person may give up (Cancel in the app): polling stops at once.
    let result = tokio::select! {
        result = polling => result,
        () = prompt.cancelled() => Err(IdpError::Cancelled { idp: config.name.clone() }),
    };
    prompt.finished();
    let response = result?;

    let tokens = token_set(&config.name, &endpoint_name, &response, None, http.latest_skew(), clock)?;
    if let Some(id_token) = &tokens.id_token {
        // The token comes straight from the token endpoint over TLS, but `token = "id"` sends
        // it to the database, so it gets the same checks as the browser flow's.
        let idp_now = tokens.skew.idp_now(clock);
        id_token::fetch_and_verify(http, discovery, config, id_token.expose_secret(), None, idp_now).await?;
    }
    for_database(tokens, config, config.token)
}

/// One poll of the token endpoint (§3.4).
async fn poll_once(
    http: &IdpHttp,
    endpoint: &Url,
    config: &IdpConfig,
    device_code: &str,
) -> Result<IdpResponse, IdpError> {
    let mut form = vec![
        ("grant_type", DEVICE_CODE_GRANT),
        ("device_code", device_code),
        ("client_id", config.client_id.as_str()),
    ];
    if let Some(secret) = &config.provider.client_secret {
        form.push(("client_secret", secret.as_str()));
    }
    // RFC 8707 §2.2: the token request names the resource again, as the code grant does.
    if let Some(resource) = resource_indicator(config) {
        form.push(("resource", resource));
    }
    let built = http.client().post(endpoint.clone()).form(&form).build();
    drop(form); // holds the device code
    http.execute(built.map_err(|err| http.transport_error(&err, endpoint))?).await
}

/// Waits and polls on `schedule` until `judge` says tokens (the response is returned) or stop.
async fn poll_until_answered<P, F>(
    mut schedule: Schedule,
    config: &IdpConfig,
    judge: impl Fn(&IdpResponse) -> PollAnswer,
    mut poll: P,
) -> Result<IdpResponse, IdpError>
where
    P: FnMut() -> F,
    F: Future<Output = Result<IdpResponse, IdpError>>,
{
    let start = tokio::time::Instant::now();
    loop {
        let Some(due) = schedule.due() else {
            return Err(IdpError::DeviceCodeTimedOut {
                idp: config.name.clone(),
                seconds: schedule.lifetime().as_secs(),
            });
        };
        tokio::time::sleep_until(start + due).await;
        let response = poll().await?;
        let slow_down = match judge(&response) {
            PollAnswer::Tokens => return Ok(response),
            PollAnswer::Stop(err) => return Err(err),
            PollAnswer::Pending => false,
            PollAnswer::SlowDown => {
                tracing::debug!(idp = %config.name, "the IdP asked to poll more slowly");
                true
            }
        };
        schedule.answered(start.elapsed(), slow_down);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use reqwest::StatusCode;
    use serde_json::json;

    use super::*;
    use crate::browser::tests_support::config;

    /// A token endpoint that answers from a script and notes when it was asked.
    struct Script {
        answers: Mutex<Vec<serde_json::Value>>,
        asked_at: Mutex<Vec<Duration>>,
        start: tokio::time::Instant,
    }

    impl Script {
        fn new(answers: Vec<serde_json::Value>) -> Script {
            Script {
                answers: Mutex::new(answers.into_iter().rev().collect()),
                asked_at: Mutex::new(Vec::new()),
                start: tokio::time::Instant::now(),
            }
        }

        async fn poll(&self) -> Result<IdpResponse, IdpError> {
            self.asked_at.lock().expect("lock").push(self.start.elapsed());
            let body = self
                .answers
                .lock()
                .expect("lock")
                .pop()
                .unwrap_or(json!({ "error": "authorization_pending" }));
            let status = if body.get("error").is_some() { 400 } else { 200 };
            Ok(IdpResponse {
                status: StatusCode::from_u16(status).expect("status"),
                body: body.to_string().into_bytes(),
                skew: None,
            })
        }

        fn asked_at_secs(&self) -> Vec<u64> {
            self.asked_at.lock().expect("lock").iter().map(Duration::as_secs).collect()
        }
    }

    async fn run(script: &Script, schedule: Schedule) -> Result<IdpResponse, IdpError> {
        let config = config();
        poll_until_answered(
            schedule,
            &config,
            |r| judge(&config, "POST t", r, "device-code"),
            || script.poll(),
        )
        .await
    }

    #[tokio::test(start_paused = true)]
    async fn pending_then_slow_down_then_tokens_on_the_rfc_schedule() {
        let script = Script::new(vec![
            json!({ "error": "authorization_pending" }),
            json!({ "error": "slow_down" }),
            json!({ "error": "authorization_pending" }),
            json!({ "access_token": "at" }),
        ]);
        let response = run(&script, Schedule::new(5, Duration::from_secs(1), Duration::from_secs(600)))
            .await
            .expect("tokens");
        assert!(response.status.is_success());
        // 5 s apart, then 10 s apart for good after the slow_down.
        assert_eq!(script.asked_at_secs(), vec![5, 10, 20, 30]);
    }

    #[tokio::test(start_paused = true)]
    async fn expired_token_and_access_denied_end_the_wait_in_words() {
        let script = Script::new(vec![
            json!({ "error": "authorization_pending" }),
            json!({ "error": "expired_token" }),
        ]);
        let err = run(&script, Schedule::new(5, Duration::from_secs(1), Duration::from_secs(600)))
            .await
            .err()
            .expect("expired");
        assert_eq!(err.to_string(), "the code for corp expired before it was confirmed; run it again");

        let script = Script::new(vec![json!({ "error": "access_denied" })]);
        let err = run(&script, Schedule::new(5, Duration::from_secs(1), Duration::from_secs(600)))
            .await
            .err()
            .expect("denied");
        assert_eq!(err.to_string(), "the sign-in to corp was refused at the IdP");
        assert_eq!(script.asked_at_secs(), vec![5]);
    }

    #[tokio::test(start_paused = true)]
    async fn the_device_codes_own_lifetime_ends_the_wait() {
        let script = Script::new(Vec::new());
        let started = tokio::time::Instant::now();
        let err = run(&script, Schedule::new(5, Duration::from_secs(1), Duration::from_secs(17)))
            .await
            .err()
            .expect("timed out");
        assert_eq!(err.to_string(), "the code for corp was not confirmed within 17 s; run it again");
        assert_eq!(script.asked_at_secs(), vec![5, 10, 15], "no poll after the code expired");
        assert!(started.elapsed() < Duration::from_secs(17));
    }

    #[test]
    fn production_settings_count_real_seconds() {
        assert_eq!(DeviceSettings::new().time_unit, Duration::from_secs(1));
        let fast = DeviceSettings::new().time_unit_for_tests(Duration::from_millis(20));
        assert_eq!(fast.time_unit, Duration::from_millis(20));
    }
}
