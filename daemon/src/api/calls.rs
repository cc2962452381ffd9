//! Channels and calls: views from the core's snapshot, call control through
//! [`CoreRequest`]s, ended calls from the journal.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::ApiState;
use super::auth::{Caller, Session, Staff, extensions_of};
use super::body::{JsonBody, OptionalJson};
use super::error::ApiError;
use crate::core::call_data::{DataError, check_data_key, check_data_value, check_note};
use crate::core::{CallView, ChannelView, CoreReply, CoreRequest, Snapshot, TransferMode};
use crate::records::{CallId, CallRecord, LegId, Role};

/// Sends a request to the core and waits (up to the state's timeout).
pub(crate) async fn ask(state: &ApiState, request: CoreRequest) -> Result<CoreReply, ApiError> {
    Ok(state.core.request_async(request, state.core_timeout).await?)
}

/// The core's current snapshot.
pub(crate) async fn snapshot(state: &ApiState) -> Result<Snapshot, ApiError> {
    match ask(state, CoreRequest::Snapshot).await? {
        CoreReply::Snapshot(s) => Ok(s),
        other => {
            tracing::error!(?other, "api: the core answered a snapshot request with something else");
            Err(ApiError::internal("the call-control core gave a wrong answer to a snapshot request"))
        }
    }
}

/// Parses a call id from the path.
pub(crate) fn call_id(text: &str) -> Result<CallId, ApiError> {
    text.parse::<i64>().map(CallId).map_err(|_| ApiError::bad_field("id", format!("id: {text:?} is not a call id")))
}

/// Whether one of `extensions` takes part in `call`.
pub fn call_involves(call: &CallView, extensions: &BTreeSet<String>) -> bool {
    let is_own = |n: &Option<String>| n.as_ref().is_some_and(|n| extensions.contains(n));
    call.legs.iter().any(|l| extensions.contains(&l.party))
        || is_own(&call.caller_number)
        || is_own(&call.called_number)
}

/// Agents may only control calls their extension is in.
async fn check_agent_call(state: &ApiState, session: &Session, id: CallId) -> Result<(), ApiError> {
    if session.role != Role::Agent {
        return Ok(());
    }
    let own = extensions_of(state, session).await?;
    let snap = snapshot(state).await?;
    match snap.calls.iter().find(|c| c.call == id) {
        None => Err(ApiError::not_found(format!("no call {id}"))),
        Some(call) if call_involves(call, &own) => Ok(()),
        Some(_) => Err(ApiError::forbidden(format!("call {id} is not a call of your extension"))),
    }
}

/// What call control answers: the call concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallDone {
    pub call: Option<CallId>,
}

fn done(reply: CoreReply) -> Json<CallDone> {
    match reply {
        CoreReply::Ok { call } => Json(CallDone { call }),
        CoreReply::Snapshot(_) | CoreReply::Acd { .. } | CoreReply::Campaigns { .. } => Json(CallDone { call: None }),
    }
}

pub(crate) async fn channels(State(state): State<ApiState>, _c: Caller) -> Result<Json<Vec<ChannelView>>, ApiError> {
    Ok(Json(snapshot(&state).await?.channels))
}

pub(crate) async fn list(State(state): State<ApiState>, _c: Caller) -> Result<Json<Vec<CallView>>, ApiError> {
    Ok(Json(snapshot(&state).await?.calls))
}

/// Whether one of `extensions` took part in a journalled call: a leg on
/// it, or the call was from or to it (as `GET /cdr?extension=` finds it).
pub fn record_involves(record: &CallRecord, extensions: &BTreeSet<String>) -> bool {
    record.legs.iter().any(|l| l.extension.as_ref().is_some_and(|x| extensions.contains(x)))
        || extensions.contains(&record.caller_number)
        || extensions.contains(&record.called_number)
}

/// An active call (every role sees every active call), or an ended one
/// from the journal: that is call history, which agents read only for
/// their own extensions (as in `GET /cdr`).
pub(crate) async fn get(
    State(state): State<ApiState>,
    Caller(session): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = call_id(&id)?;
    if let Some(call) = snapshot(&state).await?.calls.into_iter().find(|c| c.call == id) {
        return Ok(Json(call).into_response());
    }
    let reader = state.reader.clone();
    let Some(record) = tokio::task::spawn_blocking(move || reader.call(id)).await.map_err(ApiError::task)?? else {
        return Err(ApiError::not_found(format!("no call {id}")));
    };
    if session.role == Role::Agent && !record_involves(&record, &extensions_of(&state, &session).await?) {
        return Err(ApiError::forbidden(format!("call {id} is not in your extension's call history")));
    }
    Ok(Json(record).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OriginateBody {
    from: String,
    to: String,
}

pub(crate) async fn originate(
    State(state): State<ApiState>,
    Caller(session): Caller,
    JsonBody(body): JsonBody<OriginateBody>,
) -> Result<Json<CallDone>, ApiError> {
    let from = body.from.trim().to_string();
    let to = body.to.trim().to_string();
    if from.is_empty() {
        return Err(ApiError::bad_field("from", "from: empty"));
    }
    if to.is_empty() {
        return Err(ApiError::bad_field("to", "to: empty"));
    }
    if session.role == Role::Agent && !extensions_of(&state, &session).await?.contains(&from) {
        return Err(ApiError::forbidden(format!("agents may only call from their own extension, not {from}")));
    }
    tracing::info!(by = %session.username, %from, %to, "api: originate");
    Ok(done(ask(&state, CoreRequest::Originate { from, to }).await?))
}

pub(crate) async fn answer(
    State(state): State<ApiState>,
    Staff(session): Staff,
    Path(id): Path<String>,
) -> Result<Json<CallDone>, ApiError> {
    let call = call_id(&id)?;
    tracing::info!(by = %session.username, %call, "api: answer");
    Ok(done(ask(&state, CoreRequest::Answer { call }).await?))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HangupBody {
    leg: Option<LegId>,
}

pub(crate) async fn hangup(
    State(state): State<ApiState>,
    Caller(session): Caller,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<HangupBody>,
) -> Result<Json<CallDone>, ApiError> {
    let call = call_id(&id)?;
    check_agent_call(&state, &session, call).await?;
    tracing::info!(by = %session.username, %call, leg = ?body.leg, "api: hangup");
    Ok(done(ask(&state, CoreRequest::Hangup { call, leg: body.leg }).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LegBody {
    leg: LegId,
}

pub(crate) async fn hold(
    State(state): State<ApiState>,
    Caller(session): Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<LegBody>,
) -> Result<Json<CallDone>, ApiError> {
    let call = call_id(&id)?;
    check_agent_call(&state, &session, call).await?;
    Ok(done(ask(&state, CoreRequest::Hold { call, leg: body.leg }).await?))
}

pub(crate) async fn unhold(
    State(state): State<ApiState>,
    Caller(session): Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<LegBody>,
) -> Result<Json<CallDone>, ApiError> {
    let call = call_id(&id)?;
    check_agent_call(&state, &session, call).await?;
    Ok(done(ask(&state, CoreRequest::Unhold { call, leg: body.leg }).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TransferBody {
    leg: LegId,
    to: String,
    #[serde(default = "blind")]
    mode: TransferMode,
}

fn blind() -> TransferMode {
    TransferMode::Blind
}

pub(crate) async fn transfer(
    State(state): State<ApiState>,
    Caller(session): Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<TransferBody>,
) -> Result<Json<CallDone>, ApiError> {
    let call = call_id(&id)?;
    let to = body.to.trim().to_string();
    if to.is_empty() {
        return Err(ApiError::bad_field("to", "to: empty"));
    }
    check_agent_call(&state, &session, call).await?;
    tracing::info!(by = %session.username, %call, leg = %body.leg, %to, mode = ?body.mode, "api: transfer");
    Ok(done(ask(&state, CoreRequest::Transfer { call, leg: body.leg, to, mode: body.mode }).await?))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoBody {}

pub(crate) async fn complete_transfer(
    state: State<ApiState>,
    session: Caller,
    id: Path<String>,
    body: OptionalJson<NoBody>,
) -> Result<Json<CallDone>, ApiError> {
    finish_transfer(state, session, id, body, |call| CoreRequest::CompleteTransfer { call }).await
}

pub(crate) async fn cancel_transfer(
    state: State<ApiState>,
    session: Caller,
    id: Path<String>,
    body: OptionalJson<NoBody>,
) -> Result<Json<CallDone>, ApiError> {
    finish_transfer(state, session, id, body, |call| CoreRequest::CancelTransfer { call }).await
}

/// Complete or cancel the attended transfer on a call.
async fn finish_transfer(
    State(state): State<ApiState>,
    Caller(session): Caller,
    Path(id): Path<String>,
    OptionalJson(NoBody {}): OptionalJson<NoBody>,
    request: fn(CallId) -> CoreRequest,
) -> Result<Json<CallDone>, ApiError> {
    let call = call_id(&id)?;
    check_agent_call(&state, &session, call).await?;
    Ok(done(ask(&state, request(call)).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConferenceBody {
    to: String,
}

pub(crate) async fn conference(
    State(state): State<ApiState>,
    Caller(session): Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ConferenceBody>,
) -> Result<Json<CallDone>, ApiError> {
    let call = call_id(&id)?;
    let to = body.to.trim().to_string();
    if to.is_empty() {
        return Err(ApiError::bad_field("to", "to: empty"));
    }
    check_agent_call(&state, &session, call).await?;
    Ok(done(ask(&state, CoreRequest::Conference { call, to }).await?))
}

/// A note or data item the core would refuse: 400 naming the field.
fn bad_data(e: DataError) -> ApiError {
    ApiError::bad_field(e.field(), format!("{}: {e}", e.field()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoteBody {
    text: String,
}

/// Attach a note to a call in progress; the author is the session's user.
pub(crate) async fn add_note(
    State(state): State<ApiState>,
    Caller(session): Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<NoteBody>,
) -> Result<Json<CallDone>, ApiError> {
    let call = call_id(&id)?;
    let text = check_note(&body.text).map_err(bad_data)?.to_string();
    check_agent_call(&state, &session, call).await?;
    tracing::info!(by = %session.username, %call, chars = text.chars().count(), "api: note");
    Ok(done(ask(&state, CoreRequest::AddNote { call, author: session.username.clone(), text }).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DataBody {
    key: String,
    value: String,
}

/// Set a variable of a call in progress (attached data).
pub(crate) async fn set_data(
    State(state): State<ApiState>,
    Caller(session): Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<DataBody>,
) -> Result<Json<CallDone>, ApiError> {
    let call = call_id(&id)?;
    check_data_key(&body.key).map_err(bad_data)?;
    check_data_value(&body.value).map_err(bad_data)?;
    check_agent_call(&state, &session, call).await?;
    tracing::info!(by = %session.username, %call, key = %body.key, "api: call data");
    let request = CoreRequest::SetCallData { call, author: session.username.clone(), key: body.key, value: body.value };
    Ok(done(ask(&state, request).await?))
}
