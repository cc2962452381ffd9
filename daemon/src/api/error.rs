//! API errors: one JSON shape, `{"error": "...", "field": "..."}`, and the
//! status each failure of the layers below maps to (docs/api.md, "Errors").

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::core::CoreError;
use crate::records::{ImportError, QueryError, WriteError};

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// The request field to blame, when one is.
    pub field: Option<String>,
    /// Further lines (config reload: every `file:line:col: …`).
    pub errors: Vec<String>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    errors: &'a [String],
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError { status, message: message.into(), field: None, errors: Vec::new() }
    }

    /// 400 naming a field.
    pub fn bad_field(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError { field: Some(field.into()), ..ApiError::new(StatusCode::BAD_REQUEST, message) }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, message)
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, message)
    }

    pub fn too_large(limit: usize) -> ApiError {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, format!("request body larger than {} bytes", limit))
    }

    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    /// A blocking task that did not finish (panicked or was cancelled).
    pub fn task(e: tokio::task::JoinError) -> ApiError {
        tracing::error!(error = %e, "api: a blocking task failed");
        ApiError::internal("internal error (see the daemon log)")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody { error: &self.message, field: self.field.as_deref(), errors: &self.errors };
        (self.status, Json(body)).into_response()
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> ApiError {
        use crate::core::AgentUnavailable;
        let status = match &e {
            CoreError::BadData { field, .. } => return ApiError::bad_field(field.clone(), e.to_string()),
            CoreError::AgentUnavailable(AgentUnavailable::NoSuchAgent { .. }) => StatusCode::NOT_FOUND,
            CoreError::AgentUnavailable(AgentUnavailable::LoggedOut { .. } | AgentUnavailable::Busy { .. }) => {
                StatusCode::CONFLICT
            }
            CoreError::NoSuchCall(_) | CoreError::NoSuchLeg { .. } | CoreError::NoSuchExtension(_) => {
                StatusCode::NOT_FOUND
            }
            CoreError::Busy(_) => StatusCode::CONFLICT,
            CoreError::NoRoute(_)
            | CoreError::NoFreeLine(_)
            | CoreError::InvalidState(_)
            | CoreError::Acd(_)
            | CoreError::Campaign(_) => StatusCode::UNPROCESSABLE_ENTITY,
            CoreError::Gone | CoreError::Timeout => StatusCode::SERVICE_UNAVAILABLE,
        };
        ApiError::new(status, e.to_string())
    }
}

impl From<WriteError> for ApiError {
    fn from(e: WriteError) -> ApiError {
        match e {
            WriteError::Invalid { field, problem } => ApiError::bad_field(field.clone(), format!("{field}: {problem}")),
            WriteError::NotFound { .. } => ApiError::not_found(e.to_string()),
            WriteError::Conflict { .. } => ApiError::conflict(e.to_string()),
            WriteError::Submit(_) | WriteError::Timeout { .. } | WriteError::Dropped { .. } => {
                ApiError::unavailable(e.to_string())
            }
            WriteError::Sqlite { .. } | WriteError::Commit { .. } => {
                tracing::error!(error = %e, "api: records write failed");
                ApiError::internal(e.to_string())
            }
        }
    }
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> ApiError {
        match e {
            QueryError::Invalid { field, .. } => ApiError::bad_field(field, e.to_string()),
            QueryError::Sqlite { .. } | QueryError::BadValue { .. } => {
                tracing::error!(error = %e, "api: records query failed");
                ApiError::internal(e.to_string())
            }
        }
    }
}

impl From<ImportError> for ApiError {
    fn from(e: ImportError) -> ApiError {
        match e {
            ImportError::File(file) => ApiError::bad_field("body", format!("customer import: {file}")),
            ImportError::Write(w) => w.into(),
        }
    }
}
