//! `GET /events`: the CTI event stream over a WebSocket.
//!
//! The handler subscribes to the core's broadcast *before* it asks for the
//! snapshot, sends the snapshot first, then every event whose sequence is
//! above the snapshot's (older ones are already in it). A client that falls
//! more than the broadcast's backlog behind is told how many events it
//! missed (`{"type": "lagged", "missed": K}`) and the stream closes (code
//! 1013, try again): a client that carried on would show calls and
//! channels as they no longer are, so it must reconnect for a fresh
//! snapshot. The stream also ends, with a close frame, when the session
//! ends (logout, expiry: 1008), when the client closes it, when the core
//! stops or the server shuts down (1001).

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::response::Response;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use super::ApiState;
use super::auth::{Session, bearer};
use super::body::Params;
use super::calls::snapshot;
use super::error::ApiError;

/// How often the stream checks that its session is still valid.
const SESSION_CHECK: Duration = Duration::from_secs(1);

/// The close reason after `{"type": "lagged"}` (close code 1013, try again).
const LAGGED_REASON: &str = "lagged behind the events: reconnect for a fresh snapshot";

/// The caller of `/events`: a bearer token, or `?token=`.
#[derive(Debug)]
pub(crate) struct EventsCaller(Session);

impl FromRequestParts<ApiState> for EventsCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let mut params = Params::parse(parts.uri.query())?;
        let query_token = params.text("token");
        params.finish()?;
        let token = bearer(parts)
            .map(str::to_string)
            .or(query_token)
            .ok_or_else(|| ApiError::unauthorized("log in first: no bearer token and no ?token="))?;
        state
            .auth
            .session(&token)
            .map(EventsCaller)
            .ok_or_else(|| ApiError::unauthorized("the token is unknown or has expired: log in again"))
    }
}

pub(crate) async fn events(
    State(state): State<ApiState>,
    EventsCaller(session): EventsCaller,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let ws = ws.map_err(|e| ApiError::bad_request(format!("/events is a WebSocket: {e}")))?;
    Ok(ws.on_upgrade(move |socket| stream(socket, state, session)))
}

async fn send_json(socket: &mut WebSocket, value: &impl serde::Serialize) -> bool {
    match serde_json::to_string(value) {
        Ok(text) => socket.send(Message::Text(text.into())).await.is_ok(),
        Err(e) => {
            tracing::error!(error = %e, "api: cannot serialize an event");
            true
        }
    }
}

async fn close(socket: &mut WebSocket, code: u16, reason: &str) {
    let frame = CloseFrame { code, reason: reason.to_string().into() };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

async fn stream(mut socket: WebSocket, state: ApiState, session: Session) {
    let mut events = state.core.subscribe();
    let mut closing = state.closing.subscribe();
    let snap = match snapshot(&state).await {
        Ok(s) => s,
        Err(e) => {
            let _ = send_json(&mut socket, &json!({"type": "error", "error": e.message})).await;
            close(&mut socket, close_code::AGAIN, "call control is not answering").await;
            return;
        }
    };
    let mut first = match serde_json::to_value(&snap) {
        Ok(v) => v,
        Err(e) => {
            tracing::error!(error = %e, "api: cannot serialize a snapshot");
            return;
        }
    };
    if let Some(map) = first.as_object_mut() {
        map.insert("type".into(), "snapshot".into());
    }
    if !send_json(&mut socket, &first).await {
        return;
    }
    tracing::debug!(user = %session.username, seq = snap.seq, "api: event stream open");
    let mut check = tokio::time::interval(SESSION_CHECK);
    if *closing.borrow() {
        close(&mut socket, close_code::AWAY, "the server is shutting down").await;
        return;
    }
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(event) if event.seq <= snap.seq => {}
                Ok(event) => {
                    if !send_json(&mut socket, &event).await {
                        break;
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    // The client's view is now wrong: going on with later
                    // events would hide that. It must take a fresh snapshot.
                    tracing::warn!(user = %session.username, missed, "api: event stream client lagged; closing");
                    if send_json(&mut socket, &json!({"type": "lagged", "missed": missed})).await {
                        close(&mut socket, close_code::AGAIN, LAGGED_REASON).await;
                    }
                    break;
                }
                Err(RecvError::Closed) => {
                    close(&mut socket, close_code::AWAY, "call control stopped").await;
                    break;
                }
            },
            message = socket.recv() => match message {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                Some(Ok(_)) => {}
            },
            _ = check.tick() => {
                if state.auth.session(&session.token).is_none() {
                    close(&mut socket, close_code::POLICY, "the session ended: log in again").await;
                    break;
                }
            }
            _ = closing.changed() => {
                close(&mut socket, close_code::AWAY, "the server is shutting down").await;
                break;
            }
        }
    }
    tracing::debug!(user = %session.username, "api: event stream closed");
}
