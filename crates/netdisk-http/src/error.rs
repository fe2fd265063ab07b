//! Errors as the API answers them: a status and a JSON body with the
//! native protocol's stable code, `{"error": {"code": "not_found",
//! "message": "..."}}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use netdisk_proto::{ErrorCode, PathError};
use netdisk_store::{ErrorKind, StoreError};
use serde::Serialize;
use std::time::Duration;
use utoipa::ToSchema;

#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
    /// For 429: when to try again.
    pub(crate) retry_after: Option<Duration>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: code.as_str(),
            message: message.into(),
            retry_after: None,
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::BadRequest, message)
    }

    pub(crate) fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, ErrorCode::AuthFailed, message)
    }

    pub(crate) fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            message,
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> ApiError {
        let status = match err.kind {
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Exists
            | ErrorKind::NotADirectory
            | ErrorKind::IsADirectory
            | ErrorKind::NotEmpty
            | ErrorKind::Busy => StatusCode::CONFLICT,
            ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
            ErrorKind::QuotaExceeded | ErrorKind::DiskFull => StatusCode::INSUFFICIENT_STORAGE,
            ErrorKind::Integrity => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::NameTooLong | ErrorKind::Invalid => StatusCode::BAD_REQUEST,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let code = match err.kind {
            ErrorKind::DiskFull => "disk_full",
            kind => kind.code().as_str(),
        };
        ApiError {
            status,
            code,
            message: err.message,
            retry_after: None,
        }
    }
}

impl From<PathError> for ApiError {
    fn from(err: PathError) -> ApiError {
        StoreError::from(err).into()
    }
}

/// Every error's body.
#[derive(Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ErrorDetail {
    /// Stable: the native protocol's code (`not_found`, `quota_exceeded`,
    /// ...) or one of the API's own (`csrf`, `gone`, `locked`,
    /// `offset_mismatch`, `disk_full`).
    #[schema(example = "not_found")]
    code: &'static str,
    /// For people; may change.
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
            },
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(wait) = self.retry_after {
            let seconds = wait.as_secs().max(1).to_string();
            if let Ok(value) = HeaderValue::from_str(&seconds) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}
