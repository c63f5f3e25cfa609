//! Every error the API returns is JSON: `{"error": {"code": "...", "message": "..."}}` with a
//! 4xx status that says whose fault it is. A 5xx means a bug or an outage on our side.

use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The error document.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable code: `malformed_json`, `malformed_hex`, `wrong_length`, `empty_batch`,
    /// `batch_too_large`, `body_too_large`, `unsupported_media_type`, `empty_body`,
    /// `bad_query`, `unauthorized`, `forbidden`, `rate_limited`, `not_found`, `method_not_allowed`,
    /// `internal`.
    pub code: String,
    /// A sentence saying what to change.
    pub message: String,
}

/// An API error.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<u64>,
}

impl ApiError {
    /// An error with a status.
    pub fn new(status: StatusCode, code: &'static str, message: String) -> ApiError {
        ApiError { status, code, message, retry_after: None }
    }

    /// 400.
    pub fn bad_request(code: &'static str, message: String) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 401.
    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send `Authorization: Bearer <token>` with a token from `hashline tokens create`".into(),
        )
    }

    /// 429 with `Retry-After`.
    pub fn rate_limited(retry_after: u64) -> ApiError {
        ApiError {
            retry_after: Some(retry_after.max(1)),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "this token's request rate is exceeded; retry after the Retry-After seconds".into(),
            )
        }
    }

    /// 500 (logged; the message is generic).
    pub fn internal(what: &str) -> ApiError {
        tracing::error!(error = what, "internal error answering an API request");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; it has been logged".into(),
        )
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The sentence saying what to change.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Seconds to wait, for a 429.
    pub fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }

    /// From a JSON body rejection.
    pub fn from_json(e: JsonRejection) -> ApiError {
        match e {
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the hashes as JSON with Content-Type: application/json".into(),
            ),
            JsonRejection::BytesRejection(b) => ApiError::from_bytes(b),
            other => ApiError::bad_request("malformed_json", other.body_text()),
        }
    }

    /// From a body rejection (413 when over the limit).
    pub fn from_bytes(e: BytesRejection) -> ApiError {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "the body is over the size limit".into(),
            )
        } else {
            ApiError::bad_request("bad_body", e.body_text())
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody { error: ErrorDetail { code: self.code.into(), message: self.message } };
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(s) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}
