//! Stamps every response with a `Date` header from the IdP clock, so clients can measure the
//! IdP's clock skew. hyper's own `Date` is switched off in `server::run`.

use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header::DATE;
use axum::response::Response;

use crate::clock::IdpClock;

/// `map_response` middleware: sets (never appends) `Date`.
pub(crate) async fn stamp(State(clock): State<IdpClock>, mut response: Response) -> Response {
    let date = httpdate::fmt_http_date(clock.now());
    if let Ok(value) = HeaderValue::from_str(&date) {
        response.headers_mut().insert(DATE, value);
    }
    response
}
