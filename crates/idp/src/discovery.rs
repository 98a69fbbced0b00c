//! OpenID Connect Discovery 1.0 §4: fetch and validate the IdP's provider metadata.
//!
//! openidconnect's `CoreProviderMetadata` parses the document; we check issuer equality (§4.3).
//! The request goes through our shared reqwest client so that `Date` is measured and failures
//! are classified like every other IdP call. The JWKS is fetched only by the browser sign-in,
//! which checks its ID token (OIDC Core §3.1.3.7); the passkey path never verifies signatures
//! (the database side does).

use openidconnect::IssuerUrl;
use openidconnect::core::{CoreGrantType, CoreJwsSigningAlgorithm, CoreProviderMetadata};
use tapgate_config::IdpConfig;
use url::Url;

use crate::IdpError;
use crate::http::IdpHttp;

/// What the client needs from the provider metadata.
#[derive(Clone, Debug)]
pub(crate) struct Discovery {
    /// The OAuth token endpoint (RFC 6749 §3.2).
    pub(crate) token_endpoint: Url,
    /// `grant_types_supported`, when the IdP lists it.
    pub(crate) grant_types: Option<Vec<String>>,
    /// The authorization endpoint (RFC 6749 §3.1), opened in the browser.
    pub(crate) authorization_endpoint: Url,
    /// Where the ID token's signing keys are (OIDC Discovery §3 `jwks_uri`).
    pub(crate) jwks_uri: Url,
    /// `id_token_signing_alg_values_supported` (required by OIDC Discovery §3).
    pub(crate) id_token_algs: Vec<CoreJwsSigningAlgorithm>,
    /// RFC 7009 token revocation (RFC 8414 `revocation_endpoint`), when the IdP has one.
    pub(crate) revocation_endpoint: Option<Url>,
    /// RFC 8628 §4 `device_authorization_endpoint`, when the IdP offers the device flow.
    pub(crate) device_authorization_endpoint: Option<Url>,
}

/// The members of the document openidconnect's core metadata has no field for.
#[derive(serde::Deserialize)]
struct ExtraMetadata {
    #[serde(default)]
    device_authorization_endpoint: Option<Url>,
}

impl Discovery {
    /// Whether the IdP may accept `grant_type`: listed, or no list at all (the field is optional).
    pub(crate) fn may_support_grant(&self, grant_type: &str) -> bool {
        self.grant_types.as_ref().is_none_or(|listed| listed.iter().any(|g| g == grant_type))
    }
}

/// Fetches `<issuer>/.well-known/openid-configuration` and checks it names exactly our issuer.
pub(crate) async fn discover(http: &IdpHttp, config: &IdpConfig) -> Result<Discovery, IdpError> {
    let bad = |reason: String| IdpError::BadDiscovery {
        idp: config.name.clone(),
        issuer: config.issuer.clone(),
        reason,
    };
    let issuer = IssuerUrl::new(config.issuer.clone())
        .map_err(|err| bad(format!("the issuer is not a URL ({err})")))?;

    // Fetched here, not through `discover_async`: its HTTP client is a closure returning a
    // borrowing future, which makes every caller's future fail rustc's `Send` check once boxed
    // (the forwarder boxes sign-ins). openidconnect still parses the document.
    let url = discovery_url(&config.issuer);
    let request = reqwest::Request::new(
        reqwest::Method::GET,
        reqwest::Url::parse(&url).map_err(|err| bad(format!("the discovery URL is not valid ({err})")))?,
    );
    let response = http.execute(request).await?;
    if !response.status.is_success() {
        return Err(bad(crate::http::status_text(response.status)));
    }
    let metadata: CoreProviderMetadata =
        serde_json::from_slice(&response.body).map_err(|err| bad(format!("unreadable JSON: {err}")))?;
    // OIDC Discovery §4.3: the document must name exactly the issuer it was fetched for.
    if metadata.issuer() != &issuer {
        return Err(bad(format!(
            "unexpected issuer URI `{}` (expected `{}`)",
            metadata.issuer().as_str(),
            issuer.as_str()
        )));
    }

    let token_endpoint = metadata
        .token_endpoint()
        .map(|endpoint| endpoint.url().clone())
        .ok_or_else(|| bad("it has no token_endpoint".to_string()))?;
    if token_endpoint.scheme() != "https" {
        return Err(bad(format!("token_endpoint {token_endpoint} is not https")));
    }
    let grant_types = metadata.grant_types_supported().map(|grants| grants.iter().map(grant_name).collect());
    // Both are required members of the document; checked for https when the browser flow uses them.
    let authorization_endpoint = metadata.authorization_endpoint().url().clone();
    let jwks_uri = metadata.jwks_uri().url().clone();
    let id_token_algs = metadata.id_token_signing_alg_values_supported().clone();
    // Not a member of openidconnect's core metadata (it comes from RFC 8414); read from the raw
    // document. Only an https endpoint is used: the refresh token goes in the request.
    let revocation_endpoint = serde_json::from_slice::<serde_json::Value>(&response.body)
        .ok()
        .and_then(|doc| doc.get("revocation_endpoint")?.as_str().map(str::to_string))
        .and_then(|text| Url::parse(&text).ok())
        .filter(|url| url.scheme() == "https");
    let extra: ExtraMetadata =
        serde_json::from_slice(&response.body).map_err(|err| bad(format!("unreadable JSON: {err}")))?;
    Ok(Discovery {
        token_endpoint,
        grant_types,
        authorization_endpoint,
        jwks_uri,
        id_token_algs,
        revocation_endpoint,
        device_authorization_endpoint: extra.device_authorization_endpoint,
    })
}

/// `<issuer>/.well-known/openid-configuration` (OIDC Discovery §4.1).
pub(crate) fn discovery_url(issuer: &str) -> String {
    format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'))
}

fn grant_name(grant: &CoreGrantType) -> String {
    match grant {
        CoreGrantType::Extension(name) => name.clone(),
        // The standard names, as the document spells them.
        known => serde_json::to_value(known)
            .ok()
            .and_then(|value| value.as_str().map(str::to_string))
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_names_round_trip() {
        assert_eq!(grant_name(&CoreGrantType::RefreshToken), "refresh_token");
        assert_eq!(
            grant_name(&CoreGrantType::Extension("urn:okta:params:oauth:grant-type:webauthn".into())),
            "urn:okta:params:oauth:grant-type:webauthn"
        );
    }

    #[test]
    fn an_absent_grant_list_allows_anything() {
        let url = Url::parse("https://localhost:8443/oauth/token").expect("url");
        let open = Discovery {
            token_endpoint: url.clone(),
            grant_types: None,
            authorization_endpoint: url.clone(),
            jwks_uri: url.clone(),
            id_token_algs: vec![CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256],
            revocation_endpoint: None,
            device_authorization_endpoint: None,
        };
        assert!(open.may_support_grant("refresh_token"));
        let listed = Discovery { grant_types: Some(vec!["authorization_code".into()]), ..open };
        assert!(!listed.may_support_grant("refresh_token"));
    }
}
