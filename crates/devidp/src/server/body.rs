//! Request bodies of the IdP endpoints: JSON or form-urlencoded (wire contract 4), read into
//! one flat map of fields.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde_json::{Map, Value};

use super::api_error::ApiError;

/// The fields of a request body, whichever encoding the client chose.
#[derive(Debug)]
pub(crate) struct OAuthBody(Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for OAuthBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.to_ascii_lowercase())
            .unwrap_or_default();
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|e| ApiError::invalid_request(format!("cannot read the body: {e}")))?;
        Self::parse(&content_type, &bytes)
    }
}

impl OAuthBody {
    fn parse(content_type: &str, bytes: &[u8]) -> Result<Self, ApiError> {
        if content_type.starts_with("application/x-www-form-urlencoded") {
            let fields = url::form_urlencoded::parse(bytes)
                .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
                .collect();
            return Ok(Self(fields));
        }
        // No content type is read as JSON: that is what most hand-written clients send.
        if !(content_type.is_empty() || content_type.starts_with("application/json")) {
            return Err(ApiError::invalid_request(format!(
                "unsupported content type {content_type:?}: send application/json or \
                 application/x-www-form-urlencoded"
            )));
        }
        match serde_json::from_slice(bytes) {
            Ok(Value::Object(fields)) => Ok(Self(fields)),
            Ok(_) => Err(ApiError::invalid_request("the body must be a JSON object")),
            Err(e) => Err(ApiError::invalid_request(format!("the body is not valid JSON: {e}"))),
        }
    }

    /// A string field; absent, null and empty all read as `None`.
    pub(crate) fn field(&self, name: &str) -> Result<Option<String>, ApiError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ApiError::invalid_request(format!("{name} must be a string"))),
        }
    }

    /// A string field the request cannot do without.
    pub(crate) fn required(&self, name: &str) -> Result<String, ApiError> {
        self.field(name)?.ok_or_else(|| ApiError::invalid_request(format!("{name} is required")))
    }

    /// A JSON object field. Form bodies carry it as a JSON string, and some JSON clients
    /// do too, so a string holding JSON is accepted as well.
    pub(crate) fn object(&self, name: &str) -> Result<Value, ApiError> {
        match self.0.get(name) {
            Some(value @ Value::Object(_)) => Ok(value.clone()),
            Some(Value::String(text)) => serde_json::from_str(text)
                .map_err(|e| ApiError::invalid_request(format!("{name} is not valid JSON: {e}"))),
            Some(_) => Err(ApiError::invalid_request(format!("{name} must be a JSON object"))),
            None => Err(ApiError::invalid_request(format!("{name} is required"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_and_json_read_the_same() -> Result<(), ApiError> {
        let form = OAuthBody::parse(
            "application/x-www-form-urlencoded",
            b"client_id=tapgate&authn_response=%7B%22id%22%3A%22x%22%7D",
        )?;
        let json = OAuthBody::parse(
            "application/json; charset=utf-8",
            br#"{"client_id":"tapgate","authn_response":{"id":"x"}}"#,
        )?;
        assert_eq!(form.required("client_id")?, json.required("client_id")?);
        assert_eq!(form.object("authn_response")?, json.object("authn_response")?);
        Ok(())
    }

    #[test]
    fn missing_fields_are_invalid_requests() -> Result<(), ApiError> {
        let body = OAuthBody::parse("application/json", b"{}")?;
        assert!(body.required("username").is_err());
        assert!(OAuthBody::parse("application/json", b"[1]").is_err());
        assert!(OAuthBody::parse("text/plain", b"hi").is_err());
        Ok(())
    }
}
