//! The authorization request of a browser sign-in (RFC 6749 §4.1.1, OIDC Core §3.1.2.1) with
//! PKCE S256 (RFC 7636 §4) and a loopback redirect URI (RFC 8252 §7.3).
//!
//! `state`, `nonce` and the PKCE verifier come from openidconnect's random generators (32
//! bytes from the OS, base64url). The URL itself is built here: every parameter is in plain
//! sight, including the two audience parameters openidconnect has no field for.

use openidconnect::{CsrfToken, Nonce, PkceCodeChallenge, PkceCodeVerifier};
use tapgate_config::IdpConfig;
use url::Url;

/// One sign-in's request: the URL for the browser and what checks the answer.
pub(crate) struct AuthorizationRequest {
    /// The authorization endpoint with every parameter.
    pub(crate) url: Url,
    /// Must come back unchanged on the redirect (RFC 6749 §10.12, CSRF).
    pub(crate) state: CsrfToken,
    /// Must be in the ID token (OIDC Core §3.1.2.1, replay).
    pub(crate) nonce: Nonce,
    /// Proves at the token endpoint that we sent this request (RFC 7636 §4.5).
    pub(crate) verifier: PkceCodeVerifier,
}

/// The loopback redirect URI for `port` (RFC 8252 §7.3: the IP literal, not `localhost`, so no
/// resolver or firewall can send the code elsewhere).
pub(crate) fn redirect_uri(port: u16) -> String {
    format!("http://127.0.0.1:{port}/callback")
}

/// The audience as an RFC 8707 `resource`: only an absolute URI may be one (§2), and IdPs that
/// follow it refuse anything else (`invalid_target`).
pub(crate) fn resource_indicator(config: &IdpConfig) -> Option<&str> {
    resource_of(config.audience.as_deref()?)
}

/// `audience` when it can be an RFC 8707 `resource`.
pub(crate) fn resource_of(audience: &str) -> Option<&str> {
    match Url::parse(audience) {
        Ok(url) if url.fragment().is_none() => Some(audience),
        _ => None,
    }
}

impl AuthorizationRequest {
    /// A fresh request to `endpoint` for `config`, answered at `redirect_uri`.
    pub(crate) fn new(endpoint: &Url, config: &IdpConfig, redirect_uri: &str) -> AuthorizationRequest {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let state = CsrfToken::new_random();
        let nonce = Nonce::new_random();
        let mut url = endpoint.clone();
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", &config.client_id)
                .append_pair("redirect_uri", redirect_uri)
                .append_pair("scope", &config.scopes.join(" "))
                .append_pair("state", state.secret())
                .append_pair("nonce", nonce.secret())
                .append_pair("code_challenge", challenge.as_str())
                .append_pair("code_challenge_method", challenge.method().as_str());
            if let Some(username) = &config.username {
                // OIDC Core §3.1.2.1: a hint; the IdP may let the person change it.
                query.append_pair("login_hint", username);
            }
            if let Some(audience) = &config.audience {
                // Auth0 and IdPs modelled on it pick the access token's audience by this.
                query.append_pair("audience", audience);
            }
            if let Some(resource) = resource_indicator(config) {
                query.append_pair("resource", resource);
            }
            // The provider preset's own (Google: access_type=offline, for a refresh token).
            for (name, value) in &config.provider.authorize_params {
                query.append_pair(name, value);
            }
            if config.scopes.iter().any(|s| s == "offline_access")
                && config.provider.provider == tapgate_config::Provider::Generic
            {
                // OIDC Core §11: an IdP must ignore offline_access unless the request asks for
                // consent, and strict ones do (oidc-provider): without this no refresh token
                // comes back and every expiry means the browser again. The presets' IdPs
                // give refresh tokens without it, and Entra tenants that allow no user consent
                // would refuse the person outright.
                query.append_pair("prompt", "consent");
            }
        }
        AuthorizationRequest { url, state, nonce, verifier }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::HashMap;
    use std::path::PathBuf;

    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use sha2::{Digest as _, Sha256};
    use tapgate_config::{AuthenticatorChoice, Flow, TokenChoice};

    use super::*;

    pub(crate) fn config() -> IdpConfig {
        IdpConfig {
            name: "corp".into(),
            issuer: "https://login.example.com".into(),
            client_id: "tapgate".into(),
            username: Some("alice@example.com".into()),
            flow: Flow::Browser,
            authenticator: AuthenticatorChoice::Soft(PathBuf::from("/nonexistent")),
            rp_origin: Url::parse("https://login.example.com").expect("url"),
            audience: Some("https://postgres.example.com".into()),
            scopes: vec!["openid".into(), "groups".into(), "offline_access".into()],
            ca_file: None,
            token: TokenChoice::Access,
            redirect_port: 0,
            provider: Default::default(),
        }
    }

    fn params(url: &Url) -> HashMap<String, String> {
        url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
    }

    #[test]
    fn the_url_carries_every_parameter_of_a_pkce_code_request() {
        let endpoint = Url::parse("https://login.example.com/authorize?tenant=x").expect("url");
        let request = AuthorizationRequest::new(&endpoint, &config(), &redirect_uri(49152));
        let p = params(&request.url);
        assert_eq!(request.url.path(), "/authorize");
        assert_eq!(p["tenant"], "x", "the endpoint's own query is kept");
        assert_eq!(p["response_type"], "code");
        assert_eq!(p["client_id"], "tapgate");
        assert_eq!(p["redirect_uri"], "http://127.0.0.1:49152/callback");
        assert_eq!(p["scope"], "openid groups offline_access");
        assert_eq!(p["state"], request.state.secret().as_str());
        assert_eq!(p["nonce"], request.nonce.secret().as_str());
        assert_eq!(p["code_challenge_method"], "S256");
        // RFC 7636 §4.2: BASE64URL(SHA256(ASCII(code_verifier))), computed independently.
        let expected = URL_SAFE_NO_PAD.encode(Sha256::digest(request.verifier.secret().as_bytes()));
        assert_eq!(p["code_challenge"], expected);
        assert!(
            !request.url.as_str().contains(request.verifier.secret().as_str()),
            "the verifier stays here"
        );
        assert_eq!(p["login_hint"], "alice@example.com");
        assert_eq!(p["audience"], "https://postgres.example.com");
        assert_eq!(p["resource"], "https://postgres.example.com");
        assert_eq!(p["prompt"], "consent", "offline_access is only granted with consent (OIDC Core §11)");
    }

    /// What each `provider` preset sends, from a table as people write it.
    #[test]
    fn each_preset_sends_what_its_idp_needs() {
        let endpoint = Url::parse("https://idp.example.com/authorize").expect("url");
        let sent = |table: &str| {
            let text = format!("[idp.x]\nclient_id = \"tapgate\"\n{table}");
            let config = tapgate_config::validate::parse(std::path::Path::new("/tmp/config.toml"), &text)
                .expect("valid table");
            let idp = config.idp(None).expect("x").clone();
            params(&AuthorizationRequest::new(&endpoint, &idp, &redirect_uri(1)).url)
        };
        let entra = sent("provider = \"entra\"\ntenant = \"72f988bf-86f1-41af-91ab-2d7cd011db47\"\n");
        assert_eq!(entra["scope"], "openid profile email offline_access");
        assert!(!entra.contains_key("access_type"));
        assert!(
            !entra.contains_key("prompt"),
            "a consent page at every sign-in, refused where users may not consent"
        );

        let google = sent("provider = \"google\"\nclient_secret = \"GOCSPX-not-secret\"\n");
        assert_eq!(google["scope"], "openid email profile");
        assert_eq!(google["access_type"], "offline", "Google's way to a refresh token");
        assert_eq!(google["prompt"], "consent");
        assert!(!google.contains_key("client_secret"), "the secret goes to the token endpoint only");

        let keycloak = sent("provider = \"keycloak\"\nissuer = \"https://sso.example.com/realms/acme\"\n");
        assert_eq!(keycloak["scope"], "openid profile email offline_access");
        let okta = sent("provider = \"okta\"\nissuer = \"https://acme.okta.com/oauth2/default\"\n");
        assert_eq!(okta["scope"], "openid profile groups offline_access");
        let auth0 =
            sent("provider = \"auth0\"\nissuer = \"https://acme.auth0.com/\"\naudience = \"postgres\"\n");
        assert_eq!(auth0["audience"], "postgres");
    }

    #[test]
    fn each_request_is_fresh() {
        let endpoint = Url::parse("https://login.example.com/authorize").expect("url");
        let a = AuthorizationRequest::new(&endpoint, &config(), &redirect_uri(1));
        let b = AuthorizationRequest::new(&endpoint, &config(), &redirect_uri(1));
        assert_ne!(a.state.secret(), b.state.secret());
        assert_ne!(a.nonce.secret(), b.nonce.secret());
        assert_ne!(a.verifier.secret(), b.verifier.secret());
    }

    #[test]
    fn a_bare_audience_is_not_a_resource_and_no_username_no_hint() {
        let endpoint = Url::parse("https://login.example.com/authorize").expect("url");
        let bare = IdpConfig { audience: Some("postgres".into()), username: None, ..config() };
        let p = params(&AuthorizationRequest::new(&endpoint, &bare, &redirect_uri(1)).url);
        assert_eq!(p["audience"], "postgres");
        assert!(!p.contains_key("resource"), "RFC 8707 §2: a resource is an absolute URI");
        assert!(!p.contains_key("login_hint"));
        let none = IdpConfig { audience: None, ..config() };
        let p = params(&AuthorizationRequest::new(&endpoint, &none, &redirect_uri(1)).url);
        assert!(!p.contains_key("audience") && !p.contains_key("resource"));
    }
}
