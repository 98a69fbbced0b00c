//! The browser's answer on the loopback redirect URI, sans IO: one HTTP request parsed with
//! httparse, judged against this sign-in (RFC 6749 §4.1.2, §4.1.2.1, §10.12; RFC 9207), and
//! the bytes of the reply. `listener.rs` does the sockets.

use url::Url;

use crate::IdpError;
use crate::error::one_line;

/// The redirect URI's path (RFC 8252 §7.3: `http://127.0.0.1:PORT/callback`).
pub(crate) const CALLBACK_PATH: &str = "/callback";

/// Request heads longer than this are refused: an authorization response is a few hundred bytes.
pub(crate) const MAX_HEAD: usize = 16 * 1024;

/// Most headers read from one request.
const MAX_HEADERS: usize = 64;

/// One parsed request: its method and target (path and query).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) target: String,
}

/// Parses a request head. `Ok(None)`: incomplete, read more. The body (there is none in a
/// redirect) is never read.
pub(crate) fn parse(buffer: &[u8]) -> Result<Option<Request>, String> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(buffer) {
        Ok(httparse::Status::Complete(_)) => Ok(Some(Request {
            method: request.method.unwrap_or_default().to_string(),
            target: request.path.unwrap_or_default().to_string(),
        })),
        Ok(httparse::Status::Partial) if buffer.len() >= MAX_HEAD => {
            Err("the request head is too long".to_string())
        }
        Ok(httparse::Status::Partial) => Ok(None),
        Err(err) => Err(err.to_string()),
    }
}

/// What to do with a request.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// Not the redirect (a favicon, a stray request): answer `status` and keep waiting.
    NotOurs { status: u16 },
    /// The authorization code: answer "signed in", stop listening, exchange it.
    Code(String),
    /// The sign-in failed: answer what went wrong, stop listening, report `error`.
    Failed(IdpError),
}

/// What this sign-in expects back.
pub(crate) struct Expected<'a> {
    pub(crate) idp: &'a str,
    pub(crate) state: &'a str,
    /// The configured issuer, compared with RFC 9207's `iss` when the IdP sends one.
    pub(crate) issuer: &'a str,
}

/// Judges a request against the sign-in.
pub(crate) fn judge(request: &Request, expected: &Expected<'_>) -> Verdict {
    // A relative target resolved against any base gives its path and decoded query.
    let Ok(url) = Url::parse("http://127.0.0.1").and_then(|base| base.join(&request.target)) else {
        return Verdict::NotOurs { status: 400 };
    };
    if url.path() != CALLBACK_PATH {
        return Verdict::NotOurs { status: 404 };
    }
    if request.method != "GET" {
        return Verdict::NotOurs { status: 405 };
    }
    let param = |name: &str| url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
    let idp = expected.idp.to_string();
    let bad = |reason: String| Verdict::Failed(IdpError::BadCallback { idp: idp.clone(), reason });

    // §10.12: an answer carrying another state belongs to another request (or an attacker).
    // An error answer may come without state (the IdP could not read the request).
    match param("state") {
        Some(state) if state != expected.state => {
            return Verdict::Failed(IdpError::StateMismatch { idp });
        }
        None if param("error").is_none() => {
            return Verdict::Failed(IdpError::StateMismatch { idp });
        }
        _ => {}
    }
    // RFC 9207 §2.4: an `iss` that is not our issuer is a mix-up with another IdP.
    if let Some(iss) = param("iss")
        && iss.trim_end_matches('/') != expected.issuer.trim_end_matches('/')
    {
        return bad(format!("it comes from issuer {}, not {}", one_line(&iss), expected.issuer));
    }
    if let Some(error) = param("error") {
        return Verdict::Failed(IdpError::AuthorizationDenied {
            idp,
            description: describe_error(&error, param("error_description").as_deref()),
            error: one_line(&error),
        });
    }
    match param("code") {
        Some(code) if !code.is_empty() => Verdict::Code(code),
        _ => bad("it has neither a code nor an error".to_string()),
    }
}

/// RFC 6749 §4.1.2.1 error codes in words, with the IdP's own description when it gave one.
fn describe_error(error: &str, description: Option<&str>) -> String {
    let words = match error {
        "access_denied" => "the sign-in was cancelled or refused",
        "login_required" | "interaction_required" | "consent_required" => {
            "the IdP needs you to sign in or consent on its page"
        }
        "unauthorized_client" => {
            "this client may not use the browser sign-in: check client_id and its grants"
        }
        "invalid_request" | "invalid_scope" | "invalid_target" | "unsupported_response_type" => {
            "the IdP refused the request: check client_id, scopes, audience and the redirect URI registered at the IdP"
        }
        "server_error" | "temporarily_unavailable" => "the IdP had a problem: try again later",
        _ => "the IdP refused the sign-in",
    };
    match description.map(one_line).filter(|d| !d.is_empty()) {
        Some(description) => format!("{words} ({}: {description})", one_line(error)),
        None => format!("{words} ({})", one_line(error)),
    }
}

/// The reply to a request: a complete HTTP/1.1 response that closes the connection.
pub(crate) fn reply(idp: &str, verdict: &Verdict) -> Vec<u8> {
    let (status, title, text) = match verdict {
        Verdict::NotOurs { status } => {
            (*status, "Not found", "This is Tapgate's sign-in callback.".to_string())
        }
        Verdict::Code(_) => (200, "Signed in", format!("Signed in to {idp}, you can close this tab.")),
        Verdict::Failed(err) => (
            200,
            "Sign-in failed",
            format!("The sign-in to {idp} did not work: {err}. You can close this tab."),
        ),
    };
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Tapgate: {title}</title></head>\
         <body style=\"font-family: sans-serif; margin: 3em\"><h1>{title}</h1><p>{}</p></body></html>\n",
        escape(&text)
    );
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Error",
    };
    // no-store: the page follows a URL holding the code; no-referrer: nothing links onwards.
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPECTED: Expected<'static> =
        Expected { idp: "corp", state: "st-123", issuer: "https://login.example.com" };

    /// The error a request ends the sign-in with, or what else it was.
    fn failure(verdict: Verdict) -> String {
        match verdict {
            Verdict::Failed(err) => err.to_string(),
            other => format!("not a failure: {other:?}"),
        }
    }

    fn get(target: &str) -> Request {
        parse(format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1:4000\r\n\r\n").as_bytes())
            .expect("parses")
            .expect("complete")
    }

    #[test]
    fn a_head_is_parsed_once_complete() {
        assert_eq!(parse(b"GET /callback?code=c HTTP/1.1\r\nHost: x\r\n").expect("partial"), None);
        let request = get("/callback?code=c&state=s");
        assert_eq!(request.method, "GET");
        assert_eq!(request.target, "/callback?code=c&state=s");
        assert!(parse(b"\x16\x03\x01 TLS hello\r\n\r\n").is_err());
        assert!(parse(&vec![b'a'; MAX_HEAD]).is_err());
    }

    #[test]
    fn the_code_comes_back_with_our_state() {
        let verdict = judge(
            &get("/callback?code=abc%2Bdef&state=st-123&iss=https%3A%2F%2Flogin.example.com"),
            &EXPECTED,
        );
        assert!(matches!(verdict, Verdict::Code(code) if code == "abc+def"));
    }

    #[test]
    fn other_paths_and_methods_do_not_end_the_wait() {
        assert!(matches!(judge(&get("/favicon.ico"), &EXPECTED), Verdict::NotOurs { status: 404 }));
        assert!(matches!(judge(&get("/"), &EXPECTED), Verdict::NotOurs { status: 404 }));
        assert!(matches!(
            judge(&get("/callback/x?code=c&state=st-123"), &EXPECTED),
            Verdict::NotOurs { status: 404 }
        ));
        let post = Request { method: "POST".into(), target: "/callback?code=c&state=st-123".into() };
        assert!(matches!(judge(&post, &EXPECTED), Verdict::NotOurs { status: 405 }));
    }

    #[test]
    fn another_state_or_none_is_a_mismatch() {
        for target in ["/callback?code=c&state=st-999", "/callback?code=c"] {
            assert_eq!(
                failure(judge(&get(target), &EXPECTED)),
                "the browser's answer for corp is not for this sign-in (state mismatch): sign in again, from one window at a time"
            );
        }
    }

    #[test]
    fn an_error_answer_is_told_in_words() {
        let verdict = judge(
            &get(
                "/callback?error=access_denied&error_description=End-User%20aborted%0Ainteraction&state=st-123",
            ),
            &EXPECTED,
        );
        assert_eq!(
            failure(verdict),
            "the IdP corp did not sign you in: the sign-in was cancelled or refused (access_denied: End-User aborted interaction)"
        );
        assert_eq!(
            failure(judge(&get("/callback?error=server_error"), &EXPECTED)),
            "the IdP corp did not sign you in: the IdP had a problem: try again later (server_error)"
        );
    }

    #[test]
    fn another_issuer_is_a_mix_up() {
        assert_eq!(
            failure(judge(&get("/callback?code=c&state=st-123&iss=https%3A%2F%2Fevil.example"), &EXPECTED)),
            "the browser's answer for corp was not understood: it comes from issuer https://evil.example, not https://login.example.com"
        );
    }

    #[test]
    fn replies_are_complete_responses_that_never_echo_the_code() {
        let text = String::from_utf8(reply("corp", &Verdict::Code("SECRET-code".into()))).expect("utf8");
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(text.contains("Signed in to corp, you can close this tab."), "{text}");
        assert!(!text.contains("SECRET"), "{text}");
        let (head, body) = text.split_once("\r\n\r\n").expect("head");
        assert!(head.contains(&format!("Content-Length: {}", body.len())), "{head}");
        assert!(head.contains("Connection: close"));

        let text = String::from_utf8(reply("<corp>", &Verdict::NotOurs { status: 404 })).expect("utf8");
        assert!(text.starts_with("HTTP/1.1 404 Not Found\r\n"), "{text}");

        let failed = Verdict::Failed(IdpError::StateMismatch { idp: "<b>corp</b>".into() });
        let text = String::from_utf8(reply("<b>corp</b>", &failed)).expect("utf8");
        assert!(text.contains("did not work: the browser's answer for &lt;b&gt;corp&lt;/b&gt;"), "{text}");
        assert!(!text.contains("<b>"), "escaped: {text}");
    }
}
