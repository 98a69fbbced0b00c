//! The HTML of the IdP's own pages: the browser sign-in page, the device verification page
//! (the same form and script with a code field; inline CSS and script, nothing loaded from
//! elsewhere) and the error page shown when `/authorize` cannot redirect.
//!
//! Both are served with a Content-Security-Policy that allows only the exact inline style
//! and script they carry (by SHA-256 hash), fetches to this origin, and no framing.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

const STYLE: &str = include_str!("sign_in_page/sign_in.css");
const SCRIPT: &str = include_str!("sign_in_page/sign_in.js");

/// The sign-in page for the pending sign-in `request_id` of `client_id`.
pub(super) fn sign_in(request_id: &str, client_id: &str, login_hint: Option<&str>) -> Response {
    page(&Page {
        title: "Sign in",
        intro: format!("to <strong>{}</strong> with your security key", escape(client_id)),
        endpoint: "/authorize",
        request_id,
        user_code: None,
        login_hint,
        go: "Use security key",
        cancel: "Cancel",
    })
}

/// The device verification page (RFC 8628 §3.3) for the pending page `request_id`, with the
/// code prefilled when the person came from `verification_uri_complete`.
pub(super) fn device(request_id: &str, user_code: Option<&str>) -> Response {
    page(&Page {
        title: "Sign in on another device",
        intro: "Type the code the device shows, then approve with your security key. \
                Deny if you did not start this sign-in."
            .to_owned(),
        endpoint: "/device",
        request_id,
        user_code: Some(user_code.unwrap_or_default()),
        login_hint: None,
        go: "Approve with security key",
        cancel: "Deny",
    })
}

/// What differs between the two pages.
struct Page<'a> {
    title: &'a str,
    /// HTML, already escaped.
    intro: String,
    /// Where the script posts `challenge`, `assertion` and `cancel`.
    endpoint: &'a str,
    request_id: &'a str,
    /// `Some`: the page asks for a user code (prefilled with this).
    user_code: Option<&'a str>,
    login_hint: Option<&'a str>,
    go: &'a str,
    cancel: &'a str,
}

fn page(page: &Page<'_>) -> Response {
    let code_field = match page.user_code {
        None => String::new(),
        Some(code) => format!(
            r#"<label for="user_code">Code</label>
<input id="user_code" name="user_code" type="text" autocomplete="one-time-code" autocapitalize="characters" spellcheck="false" required value="{}">
"#,
            escape(code)
        ),
    };
    let body = format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Tapgate dev IdP</title>
<style>{STYLE}</style>
</head>
<body>
<main>
<h1>{title}</h1>
<p class="sub">{intro}</p>
<form id="sign-in" data-request="{request}" data-endpoint="{endpoint}" autocomplete="on">
{code_field}<label for="username">User name</label>
<input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required autofocus value="{hint}">
<div class="actions">
<button type="submit" id="go">{go}</button>
<button type="button" id="cancel" class="secondary">{cancel}</button>
</div>
</form>
<p id="status" role="status" aria-live="polite"></p>
</main>
<script>{SCRIPT}</script>
</body>
</html>
"#,
        title = escape(page.title),
        intro = page.intro,
        request = escape(page.request_id),
        endpoint = escape(page.endpoint),
        hint = escape(page.login_hint.unwrap_or_default()),
        go = escape(page.go),
        cancel = escape(page.cancel),
    );
    html(StatusCode::OK, body, true)
}

/// A refusal shown to the person: the client or redirect URI cannot be trusted with it.
pub(super) fn error(status: StatusCode, message: &str) -> Response {
    let body = format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign-in error · Tapgate dev IdP</title>
<style>{STYLE}</style>
</head>
<body>
<main>
<h1>This sign-in cannot continue</h1>
<p class="error">{message}</p>
<p class="sub">Start the sign-in again from the application.</p>
</main>
</body>
</html>
"#,
        message = escape(message),
    );
    html(status, body, false)
}

fn html(status: StatusCode, body: String, with_script: bool) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    if let Ok(csp) = HeaderValue::from_str(&content_security_policy(with_script)) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // The page's URL carries state and nonce; the redirect target need not see it.
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// Nothing but this page's own style and script, and fetches back to the IdP.
fn content_security_policy(with_script: bool) -> String {
    let script = if with_script { format!("'{}'", source_hash(SCRIPT)) } else { "'none'".to_owned() };
    format!(
        "default-src 'none'; script-src {script}; style-src '{}'; connect-src 'self'; \
         img-src 'none'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
        source_hash(STYLE)
    )
}

/// CSP3 hash source of an inline element's exact text.
fn source_hash(text: &str) -> String {
    format!("sha256-{}", STANDARD.encode(Sha256::digest(text.as_bytes())))
}

/// Escapes text for HTML element content and double-quoted attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_supplied_text_cannot_break_out_of_the_page() {
        let page = format!("{:?}", escape(r#""><script>alert(1)</script>"#));
        assert!(!page.contains('<') && !page.contains("\"><"));
    }

    #[test]
    fn the_policy_allows_exactly_the_inline_script_and_style() {
        let policy = content_security_policy(true);
        assert!(policy.contains(&source_hash(SCRIPT)));
        assert!(policy.contains(&source_hash(STYLE)));
        assert!(policy.starts_with("default-src 'none'"));
        assert!(!policy.contains("unsafe-inline"));
        assert!(content_security_policy(false).contains("script-src 'none'"));
    }
}
