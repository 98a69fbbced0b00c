//! The query of `GET /authorize` (RFC 6749 4.1.1, RFC 7636 4.3, OIDC Core 3.1.2.1), checked
//! in the order RFC 6749 4.1.2.1 asks: first the client and the redirect URI, whose errors
//! are shown to the person and never redirected, then everything else, whose errors go back
//! to the client at its redirect URI.

use url::Url;

use crate::redirect_uri::{parse_loopback, with_params};

/// Scopes granted when a client asks for none.
pub(crate) const DEFAULT_SCOPE: &str = "openid profile email offline_access";

/// A browser sign-in request that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AuthorizeRequest {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: Url,
    /// Echoed back unchanged; the client checks it against CSRF.
    pub(crate) state: Option<String>,
    /// Copied into the ID token (OIDC Core 3.1.2.1).
    pub(crate) nonce: Option<String>,
    /// S256 challenge the token request's `code_verifier` must match.
    pub(crate) code_challenge: String,
    pub(crate) scope: String,
    /// The access token's `aud`: `audience` (Auth0), else `resource` (RFC 8707), else the
    /// client id.
    pub(crate) audience: String,
    /// Prefills the user name on the sign-in page.
    pub(crate) login_hint: Option<String>,
}

/// Why `/authorize` refuses, and where the refusal goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AuthorizeRefusal {
    /// A bad client or redirect URI: shown on an error page, never redirected.
    Show(String),
    /// Anything else: sent to the client as `error`, `error_description` and `state`.
    /// (The URL is boxed to keep `Result`s small.)
    Redirect { redirect_uri: Box<Url>, error: &'static str, description: String, state: Option<String> },
}

impl AuthorizeRefusal {
    /// The URL the browser is sent to (RFC 6749 4.1.2.1), for `Redirect`.
    pub(crate) fn location(&self) -> Option<Url> {
        match self {
            Self::Show(_) => None,
            Self::Redirect { redirect_uri, error, description, state } => {
                Some(error_redirect(redirect_uri, error, description, state.as_deref()))
            }
        }
    }
}

/// `redirect_uri?error=..&error_description=..&state=..`.
pub(crate) fn error_redirect(redirect_uri: &Url, error: &str, description: &str, state: Option<&str>) -> Url {
    let mut params = vec![("error", error), ("error_description", description)];
    if let Some(state) = state {
        params.push(("state", state));
    }
    with_params(redirect_uri, &params)
}

/// Checks the query parameters of `/authorize` for the one client the IdP knows.
pub(crate) fn parse(
    params: &[(String, String)],
    known_client: &str,
) -> Result<AuthorizeRequest, AuthorizeRefusal> {
    let query = Query(params);
    let show = AuthorizeRefusal::Show;

    // RFC 6749 4.1.2.1: without a trustworthy client and redirect URI there is nowhere safe
    // to send an error.
    let client_id =
        query.single("client_id").map_err(show)?.ok_or_else(|| show("client_id is missing".into()))?;
    if client_id != known_client {
        return Err(show(format!("unknown client_id {client_id:?}: this IdP only serves {known_client:?}")));
    }
    let redirect_text =
        query.single("redirect_uri").map_err(show)?.ok_or_else(|| show("redirect_uri is missing".into()))?;
    let redirect_uri = parse_loopback(redirect_text).map_err(show)?;

    // From here on the client hears about the problem. A repeated `state` still cannot be
    // echoed: send none rather than pick one.
    let state = query.single("state").ok().flatten().map(str::to_owned);
    let refuse = |error: &'static str, description: String| AuthorizeRefusal::Redirect {
        redirect_uri: Box::new(redirect_uri.clone()),
        error,
        description,
        state: state.clone(),
    };
    let invalid = |description: String| refuse("invalid_request", description);
    let optional = |name: &str| query.single(name).map_err(invalid);

    if query.count("state") > 1 {
        return Err(invalid("state is repeated".into()));
    }
    match optional("response_type")? {
        None => return Err(invalid("response_type is missing".into())),
        Some("code") => {}
        Some(other) => {
            return Err(refuse(
                "unsupported_response_type",
                format!("response_type {other:?} is not supported: use code"),
            ));
        }
    }
    if let Some(mode) = optional("response_mode")?
        && mode != "query"
    {
        return Err(invalid(format!("response_mode {mode:?} is not supported: use query")));
    }
    // RFC 7636 4.4.1: a missing method means plain, which this IdP refuses.
    let code_challenge = optional("code_challenge")?
        .ok_or_else(|| invalid("code_challenge is required (PKCE with S256)".into()))?;
    match optional("code_challenge_method")? {
        Some("S256") => {}
        None | Some("plain") => {
            return Err(invalid("code_challenge_method must be S256 (plain is not accepted)".into()));
        }
        Some(other) => {
            return Err(invalid(format!("code_challenge_method {other:?} is not supported: use S256")));
        }
    }
    crate::pkce::check_challenge(code_challenge).map_err(invalid)?;
    if let Some(prompt) = optional("prompt")?
        && prompt.split_whitespace().any(|p| p == "none")
    {
        return Err(refuse("login_required", "this IdP always asks for a security key".into()));
    }
    for unsupported in ["request", "request_uri"] {
        if query.count(unsupported) > 0 {
            return Err(refuse("request_not_supported", format!("{unsupported} is not supported")));
        }
    }

    let audience = match (optional("audience")?, resource(&query).map_err(|d| refuse("invalid_target", d))?) {
        (Some(audience), Some(resource)) if audience != resource => {
            return Err(refuse(
                "invalid_target",
                format!("audience {audience:?} and resource {resource:?} disagree: send one"),
            ));
        }
        (Some(audience), _) => audience.to_owned(),
        (None, Some(resource)) => resource.to_owned(),
        (None, None) => client_id.to_owned(),
    };

    Ok(AuthorizeRequest {
        client_id: client_id.to_owned(),
        redirect_uri: redirect_uri.clone(),
        state: state.clone(),
        nonce: optional("nonce")?.map(str::to_owned),
        code_challenge: code_challenge.to_owned(),
        scope: optional("scope")?.unwrap_or(DEFAULT_SCOPE).to_owned(),
        audience,
        login_hint: optional("login_hint")?.map(str::to_owned),
    })
}

/// RFC 8707 2: `resource` is an absolute URI without a fragment. Several are allowed by the
/// RFC; this IdP mints one audience, so it takes one.
fn resource<'a>(query: &Query<'a>) -> Result<Option<&'a str>, String> {
    let Some(resource) = query.single("resource").map_err(|_| "only one resource is supported".to_owned())?
    else {
        return Ok(None);
    };
    match Url::parse(resource) {
        Ok(url) if url.fragment().is_none() => Ok(Some(resource)),
        _ => Err(format!("resource {resource:?} must be an absolute URI without a fragment")),
    }
}

/// The query as sent, repeated names kept so they can be refused (RFC 6749 3.1).
struct Query<'a>(&'a [(String, String)]);

impl<'a> Query<'a> {
    fn count(&self, name: &str) -> usize {
        self.0.iter().filter(|(k, _)| k == name).count()
    }

    /// The parameter's value; absent and empty read as `None` (RFC 6749 3.1).
    fn single(&self, name: &str) -> Result<Option<&'a str>, String> {
        let mut values = self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
        match (values.next(), values.next()) {
            (_, Some(_)) => Err(format!("{name} is repeated")),
            (Some(""), None) | (None, None) => Ok(None),
            (Some(value), None) => Ok(Some(value)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn good() -> Vec<(String, String)> {
        [
            ("response_type", "code"),
            ("client_id", "tapgate"),
            ("redirect_uri", "http://127.0.0.1:5555/callback"),
            ("state", "st"),
            ("nonce", "nn"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("scope", "openid groups"),
            ("login_hint", "alice@example.com"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    fn with(mut params: Vec<(String, String)>, name: &str, value: Option<&str>) -> Vec<(String, String)> {
        params.retain(|(k, _)| k != name);
        if let Some(value) = value {
            params.push((name.to_owned(), value.to_owned()));
        }
        params
    }

    fn redirect_error(
        result: Result<AuthorizeRequest, AuthorizeRefusal>,
    ) -> Option<(&'static str, Option<String>)> {
        match result {
            Err(AuthorizeRefusal::Redirect { error, state, .. }) => Some((error, state)),
            _ => None,
        }
    }

    #[test]
    fn a_good_request_is_bound_to_everything_it_names() -> Result<(), AuthorizeRefusal> {
        let request = parse(&good(), "tapgate")?;
        assert_eq!(request.redirect_uri.as_str(), "http://127.0.0.1:5555/callback");
        assert_eq!(request.state.as_deref(), Some("st"));
        assert_eq!(request.nonce.as_deref(), Some("nn"));
        assert_eq!(request.code_challenge, CHALLENGE);
        assert_eq!(request.scope, "openid groups");
        assert_eq!(request.audience, "tapgate");
        assert_eq!(request.login_hint.as_deref(), Some("alice@example.com"));
        Ok(())
    }

    #[test]
    fn audience_or_resource_names_the_access_token_audience() -> Result<(), AuthorizeRefusal> {
        assert_eq!(parse(&with(good(), "audience", Some("postgres")), "tapgate")?.audience, "postgres");
        assert_eq!(
            parse(&with(good(), "resource", Some("https://db.example.com/")), "tapgate")?.audience,
            "https://db.example.com/"
        );
        let both = with(with(good(), "audience", Some("a")), "resource", Some("https://b.example/"));
        assert_eq!(redirect_error(parse(&both, "tapgate")).map(|e| e.0), Some("invalid_target"));
        let relative = with(good(), "resource", Some("postgres"));
        assert_eq!(redirect_error(parse(&relative, "tapgate")).map(|e| e.0), Some("invalid_target"));
        Ok(())
    }

    #[test]
    fn a_bad_client_or_redirect_uri_is_never_redirected() {
        assert!(matches!(parse(&good(), "other"), Err(AuthorizeRefusal::Show(_))));
        for redirect in [None, Some("https://127.0.0.1:5555/cb"), Some("http://localhost:5555/cb")] {
            let params = with(good(), "redirect_uri", redirect);
            assert!(matches!(parse(&params, "tapgate"), Err(AuthorizeRefusal::Show(_))), "{redirect:?}");
        }
        let mut twice = good();
        twice.push(("client_id".into(), "tapgate".into()));
        assert!(matches!(parse(&twice, "tapgate"), Err(AuthorizeRefusal::Show(_))));
    }

    #[test]
    fn other_errors_go_back_to_the_client_with_its_state() {
        let cases = [
            (with(good(), "response_type", Some("token")), "unsupported_response_type"),
            (with(good(), "response_type", None), "invalid_request"),
            (with(good(), "code_challenge", None), "invalid_request"),
            (with(good(), "code_challenge_method", Some("plain")), "invalid_request"),
            (with(good(), "code_challenge_method", None), "invalid_request"),
            (with(good(), "code_challenge", Some("abc")), "invalid_request"),
            (with(good(), "prompt", Some("none")), "login_required"),
        ];
        for (params, expected) in cases {
            assert_eq!(
                redirect_error(parse(&params, "tapgate")),
                Some((expected, Some("st".into()))),
                "{expected}"
            );
        }
    }

    #[test]
    fn the_error_redirect_carries_error_description_and_state() -> Result<(), String> {
        let refusal = AuthorizeRefusal::Redirect {
            redirect_uri: Box::new(parse_loopback("http://127.0.0.1:1/cb")?),
            error: "access_denied",
            description: "the person cancelled".into(),
            state: Some("xyz".into()),
        };
        assert_eq!(
            refusal.location().map(String::from).as_deref(),
            Some(
                "http://127.0.0.1:1/cb?error=access_denied&error_description=the+person+cancelled&state=xyz"
            )
        );
        Ok(())
    }
}
