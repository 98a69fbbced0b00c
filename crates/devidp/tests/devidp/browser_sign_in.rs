//! The browser sign-in over real HTTPS (wire contract 6 and 7): `/authorize`, the sign-in
//! page's WebAuthn calls answered with a soft key, the code redeemed with its PKCE
//! verifier, replay, expiry on the IdP clock, revocation and the refusals a client sees.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use url::Url;

use crate::support::{CLIENT_ID, TestIdp, TestResult, enroll, jwt_parts, refusal, sign, temp_data};

pub(crate) const REDIRECT_URI: &str = "http://127.0.0.1:53127/callback";
pub(crate) const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// A client that shows redirects instead of following them.
fn no_redirects(data: &Path) -> TestResult<reqwest::Client> {
    let ca = std::fs::read(data.join("ca.pem"))?;
    Ok(reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&ca)?)
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

fn challenge_of(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The `/authorize` query of a well-behaved client, with `extra` added or replacing.
pub(crate) fn authorize_url(idp: &TestIdp, extra: &[(&str, &str)]) -> TestResult<Url> {
    let challenge = challenge_of(VERIFIER);
    let mut params: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("client_id", CLIENT_ID),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "openid profile email groups offline_access"),
        ("state", "state-123"),
        ("nonce", "nonce-456"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
        ("login_hint", "alice@example.com"),
        ("audience", "postgres"),
    ];
    params.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
    params.extend_from_slice(extra);
    Ok(Url::parse_with_params(&idp.url("/authorize"), &params)?)
}

/// The `data-request` id of a served sign-in page.
pub(crate) fn request_id(page: &str) -> TestResult<String> {
    let start = page.find("data-request=\"").ok_or("no data-request")? + "data-request=\"".len();
    let end = page[start..].find('"').ok_or("unterminated data-request")?;
    Ok(page[start..start + end].to_owned())
}

pub(crate) async fn post_json(idp: &TestIdp, path: &str, body: &Value) -> TestResult<reqwest::Response> {
    Ok(idp.client.post(idp.url(path)).json(body).send().await?)
}

/// Opens the sign-in page, taps the soft key for `user`; returns where the page is sent.
pub(crate) async fn sign_in_in_page(idp: &TestIdp, url: &Url, user: &str, key: &Path) -> TestResult<Url> {
    let page = idp.client.get(url.as_str()).send().await?;
    assert_eq!(page.status(), 200);
    let request = request_id(&page.text().await?)?;
    let options =
        post_json(idp, "/authorize/challenge", &json!({ "request": request, "username": user })).await?;
    assert_eq!(options.status(), 200);
    let options: Value = options.json().await?;
    let assertion = sign(key, &idp.issuer, &options["publicKey"])?;
    let done =
        post_json(idp, "/authorize/assertion", &json!({ "request": request, "credential": assertion }))
            .await?;
    assert_eq!(done.status(), 200, "assertion accepted");
    let done: Value = done.json().await?;
    Ok(Url::parse(done["redirect_to"].as_str().ok_or("no redirect_to")?)?)
}

pub(crate) fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// POST /oauth/token with the authorization_code grant, form-encoded as clients send it.
pub(crate) async fn redeem(
    idp: &TestIdp,
    code: &str,
    verifier: &str,
    redirect_uri: &str,
) -> TestResult<reqwest::Response> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", code)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("client_id", CLIENT_ID)
        .append_pair("code_verifier", verifier)
        .finish();
    Ok(idp
        .client
        .post(idp.url("/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await?)
}

pub(crate) async fn form(idp: &TestIdp, path: &str, pairs: &[(&str, &str)]) -> TestResult<reqwest::Response> {
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    Ok(idp
        .client
        .post(idp.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await?)
}

#[tokio::test]
async fn a_browser_sign_in_yields_a_code_that_buys_the_right_tokens_once() -> TestResult {
    let (_temp, data) = temp_data()?;
    let key = enroll(&data, "alice@example.com", &["dba", "dev"])?;
    let idp = TestIdp::start(&data, |_| {})?;

    // The page: prefilled, self-contained, under a strict policy.
    let url = authorize_url(&idp, &[])?;
    let page = idp.client.get(url.as_str()).send().await?;
    assert_eq!(page.status(), 200);
    let csp = page.headers().get("content-security-policy").ok_or("no CSP")?.to_str()?.to_owned();
    assert!(csp.starts_with("default-src 'none'; script-src 'sha256-"), "{csp}");
    assert!(!csp.contains("unsafe-inline"));
    let html = page.text().await?;
    assert!(html.contains(r#"value="alice@example.com""#));
    assert!(html.contains("navigator.credentials.get"));
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"), "no external resources");

    let back = sign_in_in_page(&idp, &url, "alice@example.com", &key).await?;
    assert_eq!(format!("{}://{}{}", back.scheme(), back.authority(), back.path()), REDIRECT_URI);
    assert_eq!(param(&back, "state").as_deref(), Some("state-123"));
    assert_eq!(param(&back, "iss").as_deref(), Some(idp.issuer.as_str()));
    let code = param(&back, "code").ok_or("no code")?;

    let response = redeem(&idp, &code, VERIFIER, REDIRECT_URI).await?;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers().get("cache-control").map(|v| v.as_bytes()), Some(&b"no-store"[..]));
    let tokens: Value = response.json().await?;
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "openid profile email groups offline_access");
    let (_, access) = jwt_parts(tokens["access_token"].as_str().ok_or("no access token")?)?;
    assert_eq!(access["aud"], "postgres");
    assert_eq!(access["iss"], idp.issuer.as_str());
    assert_eq!(access["email"], "alice@example.com");
    assert_eq!(access["groups"], json!(["dba", "dev"]));
    assert_eq!(access["client_id"], CLIENT_ID);
    let (_, id) = jwt_parts(tokens["id_token"].as_str().ok_or("no id token")?)?;
    assert_eq!(id["aud"], CLIENT_ID);
    assert_eq!(id["azp"], CLIENT_ID);
    assert_eq!(id["nonce"], "nonce-456");
    assert_eq!(id["sub"], access["sub"]);
    assert_eq!(id["email"], "alice@example.com");
    assert_eq!(id["groups"], json!(["dba", "dev"]));

    // The refresh token works (and rotates) like the passkey grant's.
    let refresh = tokens["refresh_token"].as_str().ok_or("no refresh token")?;
    let refreshed = form(
        &idp,
        "/oauth/token",
        &[("grant_type", "refresh_token"), ("client_id", CLIENT_ID), ("refresh_token", refresh)],
    )
    .await?;
    assert_eq!(refreshed.status(), 200);
    let refreshed: Value = refreshed.json().await?;
    let (_, again) = jwt_parts(refreshed["access_token"].as_str().ok_or("no access token")?)?;
    assert_eq!(again["aud"], "postgres");
    let rotated = refreshed["refresh_token"].as_str().ok_or("no refresh token")?.to_owned();

    // A replayed code is refused and takes the tokens it bought with it (RFC 6749 4.1.2).
    let (status, error, description) = refusal(redeem(&idp, &code, VERIFIER, REDIRECT_URI).await?).await?;
    assert_eq!(
        (status, error.as_str(), description.as_str()),
        (400, "invalid_grant", "authorization code already used")
    );
    let after_replay = form(
        &idp,
        "/oauth/token",
        &[("grant_type", "refresh_token"), ("client_id", CLIENT_ID), ("refresh_token", &rotated)],
    )
    .await?;
    let (status, error, _) = refusal(after_replay).await?;
    assert_eq!((status, error.as_str()), (400, "invalid_grant"));

    // Neither the code nor its digest's preimage is on disk.
    let stored = std::fs::read_to_string(data.join("authorization-codes.json"))?;
    assert!(!stored.contains(&code));
    Ok(())
}

#[tokio::test]
async fn the_code_needs_the_right_verifier_and_redirect_uri_and_resource() -> TestResult {
    let (_temp, data) = temp_data()?;
    let key = enroll(&data, "alice@example.com", &["dba"])?;
    let idp = TestIdp::start(&data, |_| {})?;
    let other_verifier = "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5d2FsZG8";

    let cases: [(&str, &str, &str); 2] = [
        (other_verifier, REDIRECT_URI, "code_verifier does not match the code_challenge"),
        (VERIFIER, "http://127.0.0.1:53128/callback", "redirect_uri differs from the one sent to /authorize"),
    ];
    for (verifier, redirect_uri, expected) in cases {
        let url = authorize_url(&idp, &[])?;
        let back = sign_in_in_page(&idp, &url, "alice@example.com", &key).await?;
        let code = param(&back, "code").ok_or("no code")?;
        let (status, error, description) =
            refusal(redeem(&idp, &code, verifier, redirect_uri).await?).await?;
        assert_eq!((status, error.as_str(), description.as_str()), (400, "invalid_grant", expected));
        // A failed redemption used the code up.
        let (_, _, description) = refusal(redeem(&idp, &code, VERIFIER, REDIRECT_URI).await?).await?;
        assert_eq!(description, "authorization code already used");
    }

    // RFC 8707: `resource` names the audience; the token request may not change it.
    let url = authorize_url(&idp, &[("audience", ""), ("resource", "https://db.example.com/")])?;
    let back = sign_in_in_page(&idp, &url, "alice@example.com", &key).await?;
    let code = param(&back, "code").ok_or("no code")?;
    let changed = form(
        &idp,
        "/oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("client_id", CLIENT_ID),
            ("code_verifier", VERIFIER),
            ("resource", "https://other.example.com/"),
        ],
    )
    .await?;
    let (status, error, _) = refusal(changed).await?;
    assert_eq!((status, error.as_str()), (400, "invalid_target"));

    let url = authorize_url(&idp, &[("audience", ""), ("resource", "https://db.example.com/")])?;
    let back = sign_in_in_page(&idp, &url, "alice@example.com", &key).await?;
    let tokens: Value =
        redeem(&idp, &param(&back, "code").ok_or("no code")?, VERIFIER, REDIRECT_URI).await?.json().await?;
    let (_, access) = jwt_parts(tokens["access_token"].as_str().ok_or("no access token")?)?;
    assert_eq!(access["aud"], "https://db.example.com/");
    Ok(())
}

#[tokio::test]
async fn a_code_expires_after_sixty_seconds_on_the_idp_clock_of_any_process() -> TestResult {
    let (_temp, data) = temp_data()?;
    let key = enroll(&data, "alice@example.com", &["dba"])?;
    let idp = TestIdp::start(&data, |_| {})?;
    let back = sign_in_in_page(&idp, &authorize_url(&idp, &[])?, "alice@example.com", &key).await?;
    let code = param(&back, "code").ok_or("no code")?;

    // A second server on the same data directory, its clock 61 s ahead, sees the code and
    // finds it too old.
    let later = TestIdp::start(&data, |o| o.clock_offset_secs = 61)?;
    let (status, error, description) = refusal(redeem(&later, &code, VERIFIER, REDIRECT_URI).await?).await?;
    assert_eq!(
        (status, error.as_str(), description.as_str()),
        (400, "invalid_grant", "authorization code expired")
    );
    later.stop().await?;
    idp.stop().await?;
    Ok(())
}

#[tokio::test]
async fn bad_clients_and_redirect_uris_get_an_error_page_never_a_redirect() -> TestResult {
    let (_temp, data) = temp_data()?;
    enroll(&data, "alice@example.com", &["dba"])?;
    let idp = TestIdp::start(&data, |_| {})?;
    let client = no_redirects(&data)?;

    for extra in [
        vec![("client_id", "someone-else")],
        vec![("redirect_uri", "https://127.0.0.1:53127/callback")],
        vec![("redirect_uri", "http://localhost:53127/callback")],
        vec![("redirect_uri", "http://attacker.example/callback")],
        vec![("redirect_uri", "")],
    ] {
        let response = client.get(authorize_url(&idp, &extra)?.as_str()).send().await?;
        assert_eq!(response.status(), 400, "{extra:?}");
        assert!(response.headers().get("location").is_none(), "{extra:?}");
        let content_type = response.headers().get("content-type").ok_or("no type")?.to_str()?.to_owned();
        assert!(content_type.starts_with("text/html"), "{content_type}");
        assert!(response.text().await?.contains("This sign-in cannot continue"));
    }
    // No parameters at all: the same page.
    assert_eq!(client.get(idp.url("/authorize")).send().await?.status(), 400);
    Ok(())
}

#[tokio::test]
async fn other_errors_are_redirected_to_the_client_with_state() -> TestResult {
    let (_temp, data) = temp_data()?;
    enroll(&data, "alice@example.com", &["dba"])?;
    let idp = TestIdp::start(&data, |_| {})?;
    let client = no_redirects(&data)?;

    for (extra, expected) in [
        (vec![("code_challenge_method", "plain")], "invalid_request"),
        (vec![("code_challenge", "")], "invalid_request"),
        (vec![("response_type", "token")], "unsupported_response_type"),
    ] {
        let response = client.get(authorize_url(&idp, &extra)?.as_str()).send().await?;
        assert_eq!(response.status(), 302, "{extra:?}");
        let location = Url::parse(response.headers().get("location").ok_or("no location")?.to_str()?)?;
        assert!(location.as_str().starts_with(REDIRECT_URI), "{location}");
        assert_eq!(param(&location, "error").as_deref(), Some(expected));
        assert!(param(&location, "error_description").is_some_and(|d| !d.is_empty()));
        assert_eq!(param(&location, "state").as_deref(), Some("state-123"));
        assert!(param(&location, "code").is_none());
    }
    Ok(())
}

#[tokio::test]
async fn the_page_reports_unknown_users_and_wrong_keys_and_can_cancel() -> TestResult {
    let (_temp, data) = temp_data()?;
    enroll(&data, "alice@example.com", &["dba"])?;
    let mallory_key = enroll(&data, "mallory@example.com", &["dev"])?;
    let idp = TestIdp::start(&data, |_| {})?;
    let page = idp.client.get(authorize_url(&idp, &[])?.as_str()).send().await?.text().await?;
    let request = request_id(&page)?;

    let unknown = post_json(
        &idp,
        "/authorize/challenge",
        &json!({ "request": request, "username": "bob@example.com" }),
    )
    .await?;
    let (status, error, _) = refusal(unknown).await?;
    assert_eq!((status, error.as_str()), (404, "user_not_found"));

    // Mallory answers Alice's challenge with her own key: refused, and the page may retry.
    let options: Value = post_json(
        &idp,
        "/authorize/challenge",
        &json!({ "request": request, "username": "alice@example.com" }),
    )
    .await?
    .json()
    .await?;
    let (_, mallory_options) = idp.ok_challenge("mallory@example.com").await?;
    let mut alice_options = options["publicKey"].clone();
    alice_options["allowCredentials"] = mallory_options["allowCredentials"].clone();
    let assertion = sign(&mallory_key, &idp.issuer, &alice_options)?;
    let wrong =
        post_json(&idp, "/authorize/assertion", &json!({ "request": request, "credential": assertion }))
            .await?;
    let (status, error, description) = refusal(wrong).await?;
    assert_eq!((status, error.as_str()), (403, "access_denied"));
    assert_eq!(description, "security key not registered for alice@example.com");

    // Cancel sends the client access_denied with its state.
    let cancelled: Value =
        post_json(&idp, "/authorize/cancel", &json!({ "request": request })).await?.json().await?;
    let location = Url::parse(cancelled["redirect_to"].as_str().ok_or("no redirect_to")?)?;
    assert_eq!(param(&location, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&location, "state").as_deref(), Some("state-123"));

    // The page is gone after cancelling.
    let (status, error, _) =
        refusal(post_json(&idp, "/authorize/cancel", &json!({ "request": request })).await?).await?;
    assert_eq!((status, error.as_str()), (400, "sign_in_expired"));
    Ok(())
}

#[tokio::test]
async fn a_revoked_refresh_token_stops_working_and_unknown_tokens_are_fine() -> TestResult {
    let (_temp, data) = temp_data()?;
    let key = enroll(&data, "alice@example.com", &["dba"])?;
    let idp = TestIdp::start(&data, |_| {})?;
    let back = sign_in_in_page(&idp, &authorize_url(&idp, &[])?, "alice@example.com", &key).await?;
    let tokens: Value =
        redeem(&idp, &param(&back, "code").ok_or("no code")?, VERIFIER, REDIRECT_URI).await?.json().await?;
    let refresh = tokens["refresh_token"].as_str().ok_or("no refresh token")?;

    let revoked = form(
        &idp,
        "/oauth/revoke",
        &[("token", refresh), ("token_type_hint", "refresh_token"), ("client_id", CLIENT_ID)],
    )
    .await?;
    assert_eq!(revoked.status(), 200);
    let refused = form(
        &idp,
        "/oauth/token",
        &[("grant_type", "refresh_token"), ("client_id", CLIENT_ID), ("refresh_token", refresh)],
    )
    .await?;
    let (status, error, _) = refusal(refused).await?;
    assert_eq!((status, error.as_str()), (400, "invalid_grant"));

    // RFC 7009 2.2: unknown (and already revoked) tokens are answered 200 all the same.
    assert_eq!(form(&idp, "/oauth/revoke", &[("token", "never-issued")]).await?.status(), 200);
    assert_eq!(form(&idp, "/oauth/revoke", &[("token", refresh)]).await?.status(), 200);
    let (status, error, _) = refusal(form(&idp, "/oauth/revoke", &[]).await?).await?;
    assert_eq!((status, error.as_str()), (400, "invalid_request"));
    Ok(())
}

#[tokio::test]
async fn discovery_announces_the_browser_flow() -> TestResult {
    let (_temp, data) = temp_data()?;
    let idp = TestIdp::start(&data, |_| {})?;
    let doc = idp.get_json("/.well-known/openid-configuration").await?;
    assert_eq!(doc["authorization_endpoint"], idp.url("/authorize"));
    assert_eq!(doc["revocation_endpoint"], idp.url("/oauth/revoke"));
    assert_eq!(doc["response_types_supported"], json!(["code"]));
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    assert!(
        doc["grant_types_supported"].as_array().ok_or("no grants")?.contains(&json!("authorization_code"))
    );
    Ok(())
}
