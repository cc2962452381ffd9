//! `GET /status` and `POST /config/reload`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::ApiState;
use super::auth::{Admin, Caller};
use super::error::ApiError;

/// The board, as `GET /status` shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BoardStatus {
    pub name: String,
    pub channels: u32,
    pub tick_ms: u32,
    /// Clock slips seen so far.
    pub slips: u64,
}

/// The real-time engine's counters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EngineStatus {
    pub ticks: u64,
    /// Events that the engine could not hand over (a full channel).
    pub events_dropped: u64,
    /// Share of each tick spent working, 0.0–1.0, since the start.
    pub busy_ratio: f64,
    /// Nanoseconds spent working since the start (two readings give the
    /// engine's CPU share over a window).
    #[serde(default)]
    pub busy_ns: u64,
}

/// The records thread's counters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RecordsStatus {
    pub committed_seq: u64,
    pub queue_full: u64,
}

/// What `GET /status` answers. The daemon fills it (see
/// [`super::ApiState::status`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StatusView {
    /// The system's name (`[system] name`).
    pub name: String,
    /// The daemon's version.
    pub version: String,
    pub board: BoardStatus,
    /// Board time, ms.
    pub board_ms: u64,
    pub engine: EngineStatus,
    pub calls_active: u64,
    pub records: RecordsStatus,
}

pub(crate) async fn status(State(state): State<ApiState>, _caller: Caller) -> Json<StatusView> {
    Json((state.status)())
}

#[derive(Debug, Serialize)]
pub(crate) struct Reloaded {
    ok: bool,
}

pub(crate) async fn reload(State(state): State<ApiState>, Admin(session): Admin) -> Result<Json<Reloaded>, ApiError> {
    let reload = state.reload.clone();
    match tokio::task::spawn_blocking(move || reload()).await.map_err(ApiError::task)? {
        Ok(()) => {
            tracing::info!(by = %session.username, "api: configuration reloaded");
            Ok(Json(Reloaded { ok: true }))
        }
        Err(errors) => {
            tracing::warn!(by = %session.username, errors = errors.len(), "api: configuration reload refused");
            Err(ApiError {
                errors,
                ..ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "the new configuration has errors; the old one stays in force",
                )
            })
        }
    }
}
