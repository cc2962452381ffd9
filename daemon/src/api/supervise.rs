//! Supervisors on agents' calls (docs/api.md, "Supervisor"): listen,
//! whisper, barge-in and take over from the supervisor's phone, and force
//! release. Supervisors and admins only. `{id}` is an agent id or an
//! extension number.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;

use super::ApiState;
use super::auth::{Staff, extensions_of};
use super::body::{JsonBody, OptionalJson};
use super::calls::{CallDone, ask};
use super::error::ApiError;
use crate::core::{CoreReply, CoreRequest, MonitorMode};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MonitorBody {
    /// The supervisor's phone; default: the one extension of the user.
    extension: Option<String>,
    /// listen, whisper, barge or take_over.
    mode: MonitorMode,
}

/// 404 unless `id` is an agent or an extension of the configuration.
fn check_target(state: &ApiState, id: &str) -> Result<(), ApiError> {
    let config = (state.config)();
    if config.agent(id).is_some() || config.extension(id).is_some() {
        Ok(())
    } else {
        Err(ApiError::not_found(format!("there is no agent or extension `{id}`")))
    }
}

pub(crate) async fn monitor(
    State(state): State<ApiState>,
    Staff(session): Staff,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<MonitorBody>,
) -> Result<Json<CallDone>, ApiError> {
    check_target(&state, &id)?;
    let extension = match body.extension.map(|e| e.trim().to_string()) {
        Some(e) if e.is_empty() => return Err(ApiError::bad_field("extension", "extension: empty")),
        Some(e) => {
            if (state.config)().extension(&e).is_none() {
                return Err(ApiError {
                    field: Some("extension".into()),
                    ..ApiError::not_found(format!("extension: there is no extension {e}"))
                });
            }
            e
        }
        None => {
            let mine = extensions_of(&state, &session).await?;
            match mine.len() {
                1 => mine.into_iter().next().unwrap_or_default(),
                0 => {
                    return Err(ApiError::bad_field(
                        "extension",
                        format!("extension: user {} has no phone; say which extension to ring", session.username),
                    ));
                }
                _ => {
                    return Err(ApiError::bad_field(
                        "extension",
                        format!("extension: user {} has several phones; say which one to ring", session.username),
                    ));
                }
            }
        }
    };
    tracing::info!(by = %session.username, agent = %id, %extension, mode = body.mode.as_str(), "api: monitor");
    let reply = ask(&state, CoreRequest::Monitor { supervisor: extension, agent: id, mode: body.mode }).await?;
    Ok(Json(CallDone { call: call_of(reply) }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoBody {}

pub(crate) async fn release(
    State(state): State<ApiState>,
    Staff(session): Staff,
    Path(id): Path<String>,
    OptionalJson(NoBody {}): OptionalJson<NoBody>,
) -> Result<Json<CallDone>, ApiError> {
    check_target(&state, &id)?;
    tracing::info!(by = %session.username, agent = %id, "api: force release");
    let reply = ask(&state, CoreRequest::ForceRelease { agent: id, by: session.username.clone() }).await?;
    Ok(Json(CallDone { call: call_of(reply) }))
}

fn call_of(reply: CoreReply) -> Option<crate::records::CallId> {
    match reply {
        CoreReply::Ok { call } => call,
        _ => None,
    }
}
