//! **Test double** of the call-control core, and a ready API server around
//! it, for the API's tests (daemon/tests/api_*.rs) and the CLI's
//! (tests/cli_*.rs). Not used by the daemon itself.
//!
//! [`FakeCore`] is a thread that answers [`CoreInbox`] requests from a tiny
//! in-memory model: four channels (FXO 1 on trunk `pstn`, FXS 2–4 for
//! extensions 801–803), calls that ring, are answered, held, transferred
//! and hung up, and a CTI event for every change. It checks what the real
//! core would refuse (unknown call or leg, busy extension, no route for
//! numbers starting with `000`) so that the API's error mapping can be
//! tested, and nothing more: no timing, no audio, no journal.
//!
//! [`TestServer`] opens a records database in a directory the caller owns,
//! seeds the users of [`TEST_USERS`], starts a `FakeCore` and serves the API
//! on `127.0.0.1:0` in its own runtime thread until dropped.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use ctibox_driver::hal::ChannelId;
use tokio::sync::broadcast;

use super::{ApiState, Auth, StatusView, seed_users};
use crate::config::{Password, Role as ConfigRole, UserConfig};
use crate::core::{
    CallStatus, CallView, ChannelStatus, ChannelView, CoreError, CoreHandle, CoreInbox, CoreReply, CoreRequest,
    CoreResult, CtiEvent, CtiEventKind, LegStatus, LegView, Snapshot, TransferMode,
};
use crate::records::{CallId, LegId, Records, RecordsConfig, RecordsHandle, RecordsReader};

/// The model behind [`FakeCore`].
#[derive(Debug)]
struct Model {
    seq: u64,
    board_ms: u64,
    channels: Vec<ChannelView>,
    calls: BTreeMap<CallId, CallView>,
    next_call: i64,
    next_leg: i64,
    events: broadcast::Sender<CtiEvent>,
}

const EXTENSIONS: [(&str, u16); 3] = [("801", 2), ("802", 3), ("803", 4)];

fn channel(n: u16, kind: &str, role: &str, name: &str) -> ChannelView {
    ChannelView {
        channel: ChannelId(n),
        kind: kind.into(),
        role: role.into(),
        name: name.into(),
        status: ChannelStatus::Idle,
        call: None,
        since_ms: 0,
    }
}

impl Model {
    fn new(events: broadcast::Sender<CtiEvent>) -> Model {
        let mut channels = vec![channel(1, "fxo", "trunk", "pstn")];
        channels.extend(EXTENSIONS.iter().map(|(x, ch)| channel(*ch, "fxs", "extension", x)));
        Model { seq: 0, board_ms: 1000, channels, calls: BTreeMap::new(), next_call: 1, next_leg: 1, events }
    }

    fn publish(&mut self, kind: CtiEventKind) {
        self.seq += 1;
        let _ = self.events.send(CtiEvent { seq: self.seq, at_ms: self.board_ms, kind });
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            seq: self.seq,
            board_ms: self.board_ms,
            channels: self.channels.clone(),
            calls: self.calls.values().cloned().collect(),
            agents: Vec::new(),
            queues: Vec::new(),
        }
    }

    fn set_channel(&mut self, ch: ChannelId, status: ChannelStatus, call: Option<CallId>) {
        let at = self.board_ms;
        let Some(view) = self.channels.iter_mut().find(|c| c.channel == ch) else { return };
        if view.status == status && view.call == call {
            return;
        }
        view.status = status;
        view.call = call;
        view.since_ms = at;
        let view = view.clone();
        self.publish(CtiEventKind::Channel { channel: view });
    }

    fn publish_call(&mut self, id: CallId) {
        if let Some(call) = self.calls.get(&id).cloned() {
            self.publish(CtiEventKind::Call { call });
        }
    }

    fn ext_channel(number: &str) -> Option<ChannelId> {
        EXTENSIONS.iter().find(|(x, _)| *x == number).map(|(_, ch)| ChannelId(*ch))
    }

    fn channel_free(&self, ch: ChannelId) -> bool {
        self.channels.iter().any(|c| c.channel == ch && c.status == ChannelStatus::Idle)
    }

    fn leg(&mut self, channel: ChannelId, role: &str, party: &str, status: LegStatus) -> LegView {
        let leg = LegId(self.next_leg);
        self.next_leg += 1;
        LegView { leg, channel, role: role.into(), party: party.into(), status, held: status == LegStatus::Held }
    }

    /// Where a dialled number goes: an extension's channel, or the trunk.
    fn route(&self, to: &str) -> Result<ChannelId, CoreError> {
        if to.starts_with("000") || to.is_empty() {
            return Err(CoreError::NoRoute(to.into()));
        }
        match Model::ext_channel(to) {
            Some(ch) if self.channel_free(ch) => Ok(ch),
            Some(_) => Err(CoreError::Busy(to.into())),
            None if to.len() == 3 => Err(CoreError::NoSuchExtension(to.into())),
            None if self.channel_free(ChannelId(1)) => Ok(ChannelId(1)),
            None => Err(CoreError::NoFreeLine("pstn".into())),
        }
    }

    fn new_call(&mut self, direction: &str, caller: &str, called: &str, legs: Vec<LegView>) -> CallId {
        let id = CallId(self.next_call);
        self.next_call += 1;
        for leg in &legs {
            self.set_channel(leg.channel, ChannelStatus::Ringing, Some(id));
        }
        self.calls.insert(
            id,
            CallView {
                call: id,
                direction: direction.into(),
                caller_number: Some(caller.into()),
                caller_name: None,
                called_number: Some(called.into()),
                status: CallStatus::Ringing,
                legs,
                started_ms: self.board_ms,
                answered_ms: None,
                ended_ms: None,
                cause: None,
                vars: Default::default(),
            },
        );
        self.publish_call(id);
        id
    }

    fn ring_inbound(&mut self, from: &str, to_ext: &str) -> Result<CallId, CoreError> {
        let ext_ch = Model::ext_channel(to_ext).ok_or_else(|| CoreError::NoSuchExtension(to_ext.into()))?;
        if !self.channel_free(ChannelId(1)) {
            return Err(CoreError::NoFreeLine("pstn".into()));
        }
        if !self.channel_free(ext_ch) {
            return Err(CoreError::Busy(to_ext.into()));
        }
        let caller = self.leg(ChannelId(1), "caller", from, LegStatus::Up);
        let callee = self.leg(ext_ch, "callee", to_ext, LegStatus::Ringing);
        Ok(self.new_call("inbound", from, to_ext, vec![caller, callee]))
    }

    fn call_mut(&mut self, id: CallId) -> Result<&mut CallView, CoreError> {
        self.calls.get_mut(&id).ok_or(CoreError::NoSuchCall(id))
    }

    fn end_call(&mut self, id: CallId, cause: &str) {
        let Some(mut call) = self.calls.remove(&id) else { return };
        call.status = CallStatus::Ended;
        call.ended_ms = Some(self.board_ms);
        call.cause = Some(cause.into());
        for leg in &mut call.legs {
            leg.status = LegStatus::Ended;
        }
        let channels: Vec<ChannelId> = call.legs.iter().map(|l| l.channel).collect();
        self.publish(CtiEventKind::Call { call });
        for ch in channels {
            self.set_channel(ch, ChannelStatus::Idle, None);
        }
    }

    fn handle(&mut self, request: CoreRequest) -> CoreResult {
        self.board_ms += 20;
        match request {
            CoreRequest::Snapshot => Ok(CoreReply::Snapshot(self.snapshot())),
            CoreRequest::Originate { from, to } => {
                let from_ch = Model::ext_channel(&from).ok_or_else(|| CoreError::NoSuchExtension(from.clone()))?;
                if !self.channel_free(from_ch) {
                    return Err(CoreError::Busy(from));
                }
                let to_ch = self.route(&to)?;
                let direction = if to_ch == ChannelId(1) { "outbound" } else { "internal" };
                let caller = self.leg(from_ch, "caller", &from, LegStatus::Ringing);
                let callee = self.leg(to_ch, "callee", &to, LegStatus::Ringing);
                let id = self.new_call(direction, &from, &to, vec![caller, callee]);
                Ok(CoreReply::Ok { call: Some(id) })
            }
            CoreRequest::Answer { call } => {
                let at = self.board_ms;
                let view = self.call_mut(call)?;
                if view.status != CallStatus::Ringing || view.direction != "inbound" {
                    return Err(CoreError::InvalidState(format!("call {call} is not a ringing inbound call")));
                }
                view.status = CallStatus::Up;
                view.answered_ms = Some(at);
                for leg in &mut view.legs {
                    leg.status = if leg.role == "caller" { LegStatus::Held } else { LegStatus::Ended };
                    leg.held = leg.role == "caller";
                }
                let trunk = view.legs.iter().find(|l| l.role == "caller").map(|l| l.channel);
                let ended: Vec<ChannelId> =
                    view.legs.iter().filter(|l| l.role != "caller").map(|l| l.channel).collect();
                view.legs.retain(|l| l.role == "caller");
                self.publish_call(call);
                for ch in ended {
                    self.set_channel(ch, ChannelStatus::Idle, None);
                }
                if let Some(ch) = trunk {
                    self.set_channel(ch, ChannelStatus::Held, Some(call));
                }
                Ok(CoreReply::Ok { call: Some(call) })
            }
            CoreRequest::Hangup { call, leg } => {
                let view = self.call_mut(call)?;
                match leg {
                    None => self.end_call(call, "normal"),
                    Some(leg) => {
                        let l = view
                            .legs
                            .iter_mut()
                            .find(|l| l.leg == leg && l.status != LegStatus::Ended)
                            .ok_or(CoreError::NoSuchLeg { call, leg })?;
                        l.status = LegStatus::Ended;
                        let ch = l.channel;
                        let live = view.legs.iter().filter(|l| l.status != LegStatus::Ended).count();
                        if live < 2 {
                            self.end_call(call, "normal");
                        } else {
                            self.publish_call(call);
                            self.set_channel(ch, ChannelStatus::Idle, None);
                        }
                    }
                }
                Ok(CoreReply::Ok { call: Some(call) })
            }
            CoreRequest::Hold { call, leg } | CoreRequest::Unhold { call, leg } => {
                let hold = matches!(request, CoreRequest::Hold { .. });
                let view = self.call_mut(call)?;
                if view.status != CallStatus::Up {
                    return Err(CoreError::InvalidState(format!("call {call} is not connected")));
                }
                let l = view.legs.iter_mut().find(|l| l.leg == leg).ok_or(CoreError::NoSuchLeg { call, leg })?;
                l.status = if hold { LegStatus::Held } else { LegStatus::Up };
                l.held = hold;
                let ch = l.channel;
                self.publish_call(call);
                let status = if hold { ChannelStatus::Held } else { ChannelStatus::Talking };
                self.set_channel(ch, status, Some(call));
                Ok(CoreReply::Ok { call: Some(call) })
            }
            CoreRequest::Transfer { call, leg, to, mode } => {
                let view = self.call_mut(call)?;
                if !view.legs.iter().any(|l| l.leg == leg) {
                    return Err(CoreError::NoSuchLeg { call, leg });
                }
                let ch = self.route(&to)?;
                let role = match mode {
                    TransferMode::Blind => "callee",
                    TransferMode::Attended => "consult",
                };
                let new_leg = self.leg(ch, role, &to, LegStatus::Ringing);
                let view = self.call_mut(call)?;
                if mode == TransferMode::Blind {
                    view.legs.retain(|l| l.leg == leg || l.role == "caller");
                }
                view.legs.push(new_leg);
                self.publish_call(call);
                self.set_channel(ch, ChannelStatus::Ringing, Some(call));
                Ok(CoreReply::Ok { call: Some(call) })
            }
            CoreRequest::CompleteTransfer { call } => {
                let view = self.call_mut(call)?;
                let consult = view.legs.iter_mut().find(|l| l.role == "consult");
                match consult {
                    None => Err(CoreError::InvalidState(format!("call {call} has no attended transfer in progress"))),
                    Some(l) => {
                        l.role = "callee".into();
                        l.status = LegStatus::Up;
                        self.publish_call(call);
                        Ok(CoreReply::Ok { call: Some(call) })
                    }
                }
            }
            CoreRequest::Conference { call, to } => {
                self.call_mut(call)?;
                let ch = self.route(&to)?;
                let leg = self.leg(ch, "conference", &to, LegStatus::Ringing);
                self.call_mut(call)?.legs.push(leg);
                self.publish_call(call);
                self.set_channel(ch, ChannelStatus::Ringing, Some(call));
                Ok(CoreReply::Ok { call: Some(call) })
            }
            CoreRequest::Acd
            | CoreRequest::AgentLogin { .. }
            | CoreRequest::AgentLogout { .. }
            | CoreRequest::AgentReady { .. }
            | CoreRequest::AgentNotReady { .. }
            | CoreRequest::QueuePriority { .. }
            | CoreRequest::QueuePick { .. }
            | CoreRequest::Monitor { .. }
            | CoreRequest::ForceRelease { .. } => Err(CoreError::Acd("the fake core has no ACD".into())),
        }
    }
}

/// The test double of the core: a thread answering requests from a small
/// model. Stops (and its handle's requests get [`CoreError::Gone`]) when
/// dropped or [`FakeCore::stop`]ped.
#[derive(Debug)]
pub struct FakeCore {
    model: Arc<Mutex<Model>>,
    /// While set, requests are taken but not answered (the API times out).
    silent: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

fn lock(m: &Mutex<Model>) -> std::sync::MutexGuard<'_, Model> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl FakeCore {
    /// Starts the double; `event_backlog` is the broadcast's depth (how far
    /// an event stream may lag).
    pub fn start(event_backlog: usize) -> (CoreHandle, FakeCore) {
        let (handle, inbox) = crate::core::handle::channel(64, event_backlog);
        let CoreInbox { requests, events } = inbox;
        let model = Arc::new(Mutex::new(Model::new(events)));
        let silent = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (m, s, st) = (model.clone(), silent.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("fake-core".into())
            .spawn(move || {
                let mut unanswered = Vec::new();
                while !st.load(Ordering::Acquire) {
                    match requests.recv_timeout(Duration::from_millis(20)) {
                        Ok(envelope) if s.load(Ordering::Acquire) => unanswered.push(envelope),
                        Ok(envelope) => {
                            let reply = lock(&m).handle(envelope.request);
                            envelope.reply.send(reply);
                        }
                        Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                        Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
                    }
                }
            })
            .ok();
        (handle, FakeCore { model, silent, stop, thread })
    }

    /// Rings extension `to_ext` with an inbound trunk call from `from`.
    pub fn ring_inbound(&self, from: &str, to_ext: &str) -> Result<CallId, CoreError> {
        lock(&self.model).ring_inbound(from, to_ext)
    }

    /// Publishes a DTMF event.
    pub fn dtmf(&self, channel: u16, digit: char, call: Option<CallId>) {
        lock(&self.model).publish(CtiEventKind::Dtmf { channel: ChannelId(channel), digit, call });
    }

    /// Publishes a caller-ID event.
    pub fn caller_id(&self, channel: u16, number: &str, call: Option<CallId>) {
        lock(&self.model).publish(CtiEventKind::CallerId {
            channel: ChannelId(channel),
            number: Some(number.into()),
            name: None,
            call,
        });
    }

    /// The sequence of the last event published.
    pub fn seq(&self) -> u64 {
        lock(&self.model).seq
    }

    /// Calls in progress.
    pub fn active_calls(&self) -> usize {
        lock(&self.model).calls.len()
    }

    /// While `true`, requests are taken and never answered.
    pub fn set_silent(&self, silent: bool) {
        self.silent.store(silent, Ordering::Release);
    }

    /// Stops the thread: requests then fail with [`CoreError::Gone`].
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for FakeCore {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The users a [`TestServer`] has: (username, password, role, extension).
pub const TEST_USERS: &[(&str, &str, &str, Option<&str>)] = &[
    ("admin", "admin-pw", "admin", None),
    ("super", "super-pw", "supervisor", None),
    ("agent", "agent-pw", "agent", Some("801")),
    ("agent2", "agent2-pw", "agent", Some("802")),
];

/// The config users of [`TEST_USERS`].
pub fn test_user_configs() -> Vec<UserConfig> {
    TEST_USERS
        .iter()
        .map(|(name, pw, role, ext)| UserConfig {
            name: (*name).into(),
            role: ConfigRole::parse(role).unwrap_or(ConfigRole::Agent),
            password: Password::Plain((*pw).into()),
            extension: ext.map(Into::into),
        })
        .collect()
}

/// How to start a [`TestServer`].
#[derive(Debug, Clone)]
pub struct TestServerOptions {
    pub token_ttl_ms: u64,
    pub event_backlog: usize,
    pub core_timeout: Duration,
    /// Ring extension 801 from 13800138000 at start (call 1).
    pub ringing_call: bool,
}

impl Default for TestServerOptions {
    fn default() -> TestServerOptions {
        TestServerOptions {
            token_ttl_ms: 3_600_000,
            event_backlog: 1024,
            core_timeout: Duration::from_secs(2),
            ringing_call: true,
        }
    }
}

/// Starting a test server failed.
#[derive(Debug, thiserror::Error)]
pub enum TestServerError {
    #[error(transparent)]
    Records(#[from] crate::records::OpenError),
    #[error(transparent)]
    Seed(#[from] super::SeedError),
    #[error("cannot start the server thread: {0}")]
    Io(#[from] std::io::Error),
    #[error("the server thread ended before it listened")]
    NoListener,
}

/// An API server over a [`FakeCore`] and a records database, on
/// `127.0.0.1:0`, stopped when dropped.
#[derive(Debug)]
pub struct TestServer {
    /// `http://127.0.0.1:PORT` (the API is under `/api/v1`).
    pub url: String,
    pub core: FakeCore,
    pub records: RecordsHandle,
    pub reader: RecordsReader,
    pub auth: Auth,
    /// What `POST /config/reload` answers.
    pub reload_result: Arc<Mutex<Result<(), Vec<String>>>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    db: Option<Records>,
}

impl TestServer {
    /// Starts with the default options, the database in `dir`.
    pub fn start(dir: &Path) -> Result<TestServer, TestServerError> {
        TestServer::start_with(dir, TestServerOptions::default())
    }

    pub fn start_with(dir: &Path, options: TestServerOptions) -> Result<TestServer, TestServerError> {
        let config = RecordsConfig { quick_check_on_open: false, ..RecordsConfig::default() };
        let db = Records::open(dir.join("records.db"), &config)?;
        let (records, reader) = (db.handle(), db.reader());
        let users = test_user_configs();
        seed_users(&records, &reader, &users)?;
        let (core_handle, core) = FakeCore::start(options.event_backlog);
        if options.ringing_call {
            let _ = core.ring_inbound("13800138000", "801");
        }
        let auth = Auth::new(options.token_ttl_ms, &users);
        let reload_result: Arc<Mutex<Result<(), Vec<String>>>> = Arc::new(Mutex::new(Ok(())));
        let model = core.model.clone();
        let stats_records = records.clone();
        let status = Arc::new(move || {
            let stats = stats_records.stats();
            let (board_ms, calls) = {
                let m = lock(&model);
                (m.board_ms, m.calls.len() as u64)
            };
            StatusView {
                name: "ctibox-test".into(),
                version: env!("CARGO_PKG_VERSION").into(),
                board: super::BoardStatus { name: "fake".into(), channels: 4, tick_ms: 20, slips: 0 },
                board_ms,
                engine: super::EngineStatus {
                    ticks: board_ms / 20,
                    events_dropped: 0,
                    busy_ratio: 0.01,
                    busy_ns: board_ms * 200_000,
                },
                calls_active: calls,
                records: super::RecordsStatus { committed_seq: stats.committed_seq, queue_full: stats.queue_full },
            }
        });
        let result = reload_result.clone();
        let reload = Arc::new(move || result.lock().unwrap_or_else(|p| p.into_inner()).clone());
        let mut state = ApiState::new(core_handle, records.clone(), reader.clone(), status, reload, auth.clone());
        state.core_timeout = options.core_timeout;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new().name("test-api".into()).spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
                Ok(r) => r,
                Err(e) => {
                    let _ = addr_tx.send(Err(e));
                    return;
                }
            };
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = addr_tx.send(Err(e));
                        return;
                    }
                };
                let _ = addr_tx.send(listener.local_addr());
                if let Err(e) = super::serve(listener, state, async move {
                    let _ = rx.await;
                })
                .await
                {
                    tracing::error!(error = %e, "test api server failed");
                }
            });
        })?;
        let addr = addr_rx.recv().map_err(|_| TestServerError::NoListener)??;
        Ok(TestServer {
            url: format!("http://{addr}"),
            core,
            records,
            reader,
            auth,
            reload_result,
            shutdown: Some(tx),
            thread: Some(thread),
            db: Some(db),
        })
    }

    /// The full URL of an API path (`/calls` → `http://…/api/v1/calls`).
    pub fn api(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.url)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.core.stop();
        if let Some(db) = self.db.take() {
            db.shutdown();
        }
    }
}
