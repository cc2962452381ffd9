//! The HTTP + WebSocket JSON API (docs/api.md is the contract).
//!
//! # Shape
//!
//! [`router`] builds the axum router over an [`ApiState`]: the core's
//! handle, the records' handles, three callbacks into the daemon (its
//! [`StatusView`], a config reload and the config in force) and the
//! session store ([`Auth`]).
//! [`serve`] runs it on a listener until a shutdown future completes, like
//! mini-redis's `server::run`: tests bind `127.0.0.1:0` and call it.
//!
//! Every handler checks the token first (401), then the role (403, with the
//! [`auth::Caller`], [`auth::Staff`] and [`auth::Admin`] extractors), then
//! its input (400 naming the field, 413 for bodies over the limits), then
//! does its work: call control through [`CoreHandle::request_async`] with a
//! timeout, records through `spawn_blocking`.
//!
//! [`testing`] holds a test double of the call-control core and a server
//! with a temporary database for tests of this API and of the CLI.
//!
//! [`console`] serves the web console's three files at `/`.
//!
//! Not implemented yet: ring groups over the API,
//! rate limiting of logins.

pub mod acd;
pub mod auth;
pub mod body;
pub mod calls;
pub mod campaign;
pub mod console;
pub mod customers;
pub mod de;
pub mod directory;
pub mod error;
pub mod events;
pub mod status;
pub mod supervise;
pub mod testing;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use tokio::net::TcpListener;

pub use auth::{
    Auth, HashError, LoginResponse, SeedError, SeedReport, Session, hash_password, seed_users, verify_password,
};
pub use calls::CallDone;
pub use error::ApiError;
pub use status::{BoardStatus, EngineStatus, RecordsStatus, StatusView};

use crate::config::Config;
use crate::core::CoreHandle;
use crate::records::{RecordsHandle, RecordsReader};

/// How long a handler waits for the core by default.
pub const CORE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long [`serve`] waits, when it stops, for the event streams to send
/// their close frames.
pub const STREAMS_CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Fills `GET /status`. Called on the async threads: must not block.
pub type StatusFn = Arc<dyn Fn() -> StatusView + Send + Sync>;

/// Reloads the configuration (`POST /config/reload`): `Err` holds every
/// problem as `file:line:col: message`, and the old config stays. Called
/// from a blocking thread.
pub type ReloadFn = Arc<dyn Fn() -> Result<(), Vec<String>> + Send + Sync>;

/// The configuration in force (a reload replaces it): which agent a user
/// is, the queues and their service levels. Called on the async threads:
/// must not block.
pub type ConfigFn = Arc<dyn Fn() -> Arc<Config> + Send + Sync>;

/// Everything the handlers share. Cheap to clone.
#[derive(Clone)]
pub struct ApiState {
    pub core: CoreHandle,
    pub records: RecordsHandle,
    pub reader: RecordsReader,
    pub status: StatusFn,
    pub reload: ReloadFn,
    pub config: ConfigFn,
    pub auth: Auth,
    /// How long to wait for the core's answer (503 after).
    pub core_timeout: Duration,
    /// Set when [`serve`] shuts down: open event streams close.
    closing: Arc<tokio::sync::watch::Sender<bool>>,
}

impl std::fmt::Debug for ApiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiState")
            .field("core", &self.core)
            .field("records", &self.records)
            .field("reader", &self.reader)
            .field("auth", &self.auth)
            .field("core_timeout", &self.core_timeout)
            .finish_non_exhaustive()
    }
}

impl ApiState {
    pub fn new(
        core: CoreHandle,
        records: RecordsHandle,
        reader: RecordsReader,
        status: StatusFn,
        reload: ReloadFn,
        config: ConfigFn,
        auth: Auth,
    ) -> ApiState {
        ApiState {
            core,
            records,
            reader,
            status,
            reload,
            config,
            auth,
            core_timeout: CORE_TIMEOUT,
            closing: Arc::new(tokio::sync::watch::channel(false).0),
        }
    }
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint (the API is under /api/v1, see docs/api.md)")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(axum::http::StatusCode::METHOD_NOT_ALLOWED, "this endpoint does not take that method")
}

/// The API's routes, under `/api/v1`.
pub fn router(state: ApiState) -> Router {
    let v1 = Router::new()
        .route("/login", post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/status", get(status::status))
        .route("/channels", get(calls::channels))
        .route("/calls", get(calls::list).post(calls::originate))
        .route("/calls/{id}", get(calls::get))
        .route("/calls/{id}/answer", post(calls::answer))
        .route("/calls/{id}/hangup", post(calls::hangup))
        .route("/calls/{id}/hold", post(calls::hold))
        .route("/calls/{id}/unhold", post(calls::unhold))
        .route("/calls/{id}/transfer", post(calls::transfer))
        .route("/calls/{id}/transfer/complete", post(calls::complete_transfer))
        .route("/calls/{id}/transfer/cancel", post(calls::cancel_transfer))
        .route("/calls/{id}/conference", post(calls::conference))
        .route("/calls/{id}/notes", post(calls::add_note))
        .route("/calls/{id}/data", post(calls::set_data))
        .route("/calls/{id}/queue", get(acd::call_queue_events))
        .route("/agents", get(acd::agents))
        .route("/agents/{id}", get(acd::agent))
        .route("/agents/{id}/login", post(acd::login))
        .route("/agents/{id}/logout", post(acd::logout))
        .route("/agents/{id}/ready", post(acd::ready))
        .route("/agents/{id}/not_ready", post(acd::not_ready))
        .route("/agents/{id}/history", get(acd::history))
        .route("/agents/{id}/preview/accept", post(acd::preview_accept))
        .route("/agents/{id}/preview/skip", post(acd::preview_skip))
        .route("/agents/{id}/monitor", post(supervise::monitor))
        .route("/agents/{id}/release", post(supervise::release))
        .route("/queues", get(acd::queues))
        .route("/queues/{name}", get(acd::queue))
        .route("/queues/calls/{call}/priority", post(acd::priority))
        .route("/queues/calls/{call}/pick", post(acd::pick))
        .route("/reports/queues", get(acd::queue_report))
        .route("/reports/agents", get(acd::agent_report))
        .route("/campaigns", get(campaign::list))
        .route("/campaigns/{name}", get(campaign::get))
        .route("/campaigns/{name}/numbers", get(campaign::numbers).post(campaign::import))
        .route("/campaigns/{name}/pause", post(campaign::pause))
        .route("/campaigns/{name}/resume", post(campaign::resume))
        .route("/dnc", get(campaign::dnc_list).post(campaign::dnc_add))
        .route("/dnc/{number}", get(campaign::dnc_check).delete(campaign::dnc_remove))
        .route("/extensions", get(directory::list_extensions).post(directory::create_extension))
        .route(
            "/extensions/{number}",
            axum::routing::put(directory::update_extension).delete(directory::delete_extension),
        )
        .route("/customers", get(customers::search).post(customers::create))
        .route("/customers/lookup", get(customers::lookup))
        .route("/customers/import", post(customers::import))
        .route("/customers/{id}", get(customers::get).put(customers::update).delete(customers::delete))
        .route("/cdr", get(customers::cdr))
        .route("/users", get(directory::list_users).post(directory::create_user))
        .route("/users/{id}", axum::routing::put(directory::update_user).delete(directory::delete_user))
        .route("/config/reload", post(status::reload))
        .route("/events", get(events::events))
        .method_not_allowed_fallback(method_not_allowed);
    Router::new().nest("/api/v1", v1).merge(console::routes()).fallback(not_found).with_state(state)
}

/// Serves the API on `listener` until `shutdown` completes; then stops
/// accepting, closes the event streams and waits for requests in flight.
pub async fn serve(
    listener: TcpListener,
    state: ApiState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let closing = state.closing.clone();
    let streams = state.closing.clone();
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "api: listening");
    }
    let app = router(state);
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("api: shutting down");
            closing.send_replace(true);
        })
        .await;
    // An upgraded connection is no longer the server's: the graceful
    // shutdown does not wait for it. Each event stream holds a receiver of
    // `closing` until it has sent its close frame; wait for them, so that
    // the caller dropping the runtime does not cut them off mid-close.
    if tokio::time::timeout(STREAMS_CLOSE_TIMEOUT, streams.closed()).await.is_err() {
        tracing::warn!(open = streams.receiver_count(), "api: event streams did not close in time");
    }
    served
}
