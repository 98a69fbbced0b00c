//! Redirect URIs of native clients (RFC 8252 7.3): `http` on a loopback IP literal, any
//! port, since the client picks a free port for each sign-in and cannot register it.

use std::net::{Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

/// Parses and checks a `redirect_uri`. The error says what is wrong, for the error page
/// (a bad redirect URI is never redirected to, RFC 6749 4.1.2.1).
pub(crate) fn parse_loopback(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("redirect_uri {text:?} is not a URL ({e})"))?;
    if url.scheme() != "http" {
        return Err(format!(
            "redirect_uri {text:?} must use http on a loopback address (RFC 8252 7.3), not {}",
            url.scheme()
        ));
    }
    match url.host() {
        Some(Host::Ipv4(ip)) if ip == Ipv4Addr::LOCALHOST => {}
        Some(Host::Ipv6(ip)) if ip == Ipv6Addr::LOCALHOST => {}
        // RFC 8252 8.3: "localhost" may resolve elsewhere; only the IP literals are safe.
        _ => {
            return Err(format!(
                "redirect_uri {text:?} must name http://127.0.0.1:PORT/ or http://[::1]:PORT/ \
                 (RFC 8252 7.3)"
            ));
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("redirect_uri {text:?} must not carry a user name or password"));
    }
    // RFC 6749 3.1.2: the endpoint URI must not include a fragment.
    if url.fragment().is_some() {
        return Err(format!("redirect_uri {text:?} must not have a #fragment"));
    }
    Ok(url)
}

/// The redirect URI with the response parameters added to its query (RFC 6749 4.1.2: an
/// existing query is kept).
pub(crate) fn with_params(redirect_uri: &Url, params: &[(&str, &str)]) -> Url {
    let mut url = redirect_uri.clone();
    url.query_pairs_mut().extend_pairs(params);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_port_on_a_loopback_literal_is_accepted() {
        for ok in [
            "http://127.0.0.1:53127/callback",
            "http://127.0.0.1/",
            "http://[::1]:8080/cb?x=1",
            "http://127.0.0.1:1/any/path",
        ] {
            assert!(parse_loopback(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn other_redirects_are_refused() {
        for bad in [
            "https://127.0.0.1:5000/callback",
            "http://localhost:5000/callback",
            "http://127.0.0.2:5000/callback",
            "http://example.com/callback",
            "http://evil@127.0.0.1:5000/callback",
            "http://127.0.0.1:5000/callback#frag",
            "com.example.app:/callback",
            "/callback",
        ] {
            assert!(parse_loopback(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parameters_are_appended_to_an_existing_query() -> Result<(), String> {
        let base = parse_loopback("http://127.0.0.1:4000/cb?keep=1")?;
        let url = with_params(&base, &[("code", "a b"), ("state", "s&t")]);
        assert_eq!(url.as_str(), "http://127.0.0.1:4000/cb?keep=1&code=a+b&state=s%26t");
        Ok(())
    }
}
