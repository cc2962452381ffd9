//! Call control: the core thread that owns every call.
//!
//! The core takes the engine's events (line events from the analog
//! signalling state machines, detector events, the per-tick board time) and
//! the API's requests, keeps the call model (calls made of legs on
//! channels), tells the engine what to do (ring, answer, dial, hang up,
//! connect channels, play tones and music on hold), writes every step to the
//! call journal through the records thread, and publishes CTI events.
//!
//! Timing is board time only: ring timeouts and the like are checked when a
//! tick event says board time has passed them. With a lock-step engine
//! (fast simulated boards) the core acknowledges every tick after handling
//! it, and after the answers of the worker jobs it waits for (lookups,
//! webhooks, caller cards, campaign reads: they take no board time), so a
//! run is deterministic however busy the machine is.
//!
//! Audio follows one rule ([`Core::reconnect`]): in a call, the legs that are
//! answered and not on hold hear each other (two legs: a bridge; three: a
//! conference); a held leg hears music on hold; a caller alone while its
//! destination rings hears ringback.

mod acd;
pub mod api;
pub mod call_data;
mod campaign;
mod features;
mod flows;
pub mod handle;
mod ivr;
pub mod ivr_io;
pub mod lines;
mod model;
pub mod moh;
mod requests;
mod supervise;
pub mod transfer;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::select;

use ctibox_driver::dsp::tones::{ToneKind, ToneProfile};
use ctibox_driver::engine::{EngineCommand, EngineEvent, EngineHandle};
use ctibox_driver::hal::{BoardTime, ChannelId, ChannelKind};
use ctibox_driver::media::player::PlayBuffer;
use ctibox_driver::signaling::analog::LineCommand;

pub use api::*;
pub use handle::{CoreHandle, CoreInbox, CoreResult, Envelope, ReplyTo};
use model::{Call, Chan, ChanRole, Media};

use crate::config::Config;
use crate::ivr::set::IvrSet;
use crate::records::{HangupCause, JournalOp, RecordsHandle, Stamp, now_wall_ms};
use ivr::{IvrRun, PendingRecording};
use ivr_io::IvrIo;

/// Control messages from the daemon itself (not the API).
#[derive(Debug)]
pub enum CoreControl {
    /// Take a new, already validated config (lines of channels in a call
    /// keep their settings until the call ends).
    Reload(Arc<Config>, Arc<IvrSet>),
    /// Stop: end every call as interrupted and leave.
    Shutdown,
}

/// The call-control core. Build with [`Core::new`], run with [`Core::run`]
/// on its own thread.
pub struct Core {
    config: Arc<Config>,
    engine: EngineHandle,
    records: RecordsHandle,
    inbox: CoreInbox,
    control: crossbeam_channel::Receiver<CoreControl>,
    chans: Vec<Chan>,
    calls: BTreeMap<CallId, Call>,
    now: BoardTime,
    seq: u64,
    moh: PlayBuffer,
    tones: ToneProfile,
    /// Round-robin position per trunk group.
    hunt_pos: BTreeMap<String, usize>,
    dirty_chans: BTreeSet<usize>,
    dirty_calls: BTreeSet<CallId>,
    /// Ended calls whose CTI event waits until their journal rows are
    /// committed (journal sequence, event).
    pending_ended: Vec<(u64, CtiEventKind)>,
    media_ids: u32,
    stop: Arc<AtomicBool>,
    /// Flows and prompts in force (calls in a flow keep theirs).
    ivr: Arc<IvrSet>,
    ivr_runs: BTreeMap<CallId, IvrRun>,
    ivr_io: IvrIo,
    /// A tick of a lock-step board not yet acknowledged: worker answers
    /// are awaited (see [`IvrIo::awaited`]).
    tick_owed: bool,
    ivr_jobs: u64,
    /// Inputs for sessions, handled at the next tick (see `ivr_run_deferred`).
    ivr_deferred: Vec<(CallId, crate::ivr::interp::Input)>,
    /// Recordings being written, by engine recording id.
    pending_recordings: BTreeMap<u32, PendingRecording>,
    /// The records database file (lookups on `database = "records"`).
    records_db: std::path::PathBuf,
    /// The ACD's router, callers waiting in queues, agents on queue calls
    /// (agent → call and leg), customer data looked up for calls.
    acd: crate::acd::Acd,
    queued: BTreeMap<CallId, acd::Queued>,
    agent_calls: BTreeMap<String, (CallId, LegId)>,
    customers: BTreeMap<CallId, acd::CallerCard>,
    /// A queue changed: publish the queues at the next tick.
    dirty_queues: bool,
    /// Customer lookups under way (since when), and calls that wait for
    /// theirs before joining a queue (which queue).
    card_pending: BTreeMap<CallId, BoardTime>,
    awaiting_card: BTreeMap<CallId, String>,
    /// Supervisors' legs on agents' calls.
    monitors: BTreeMap<LegId, supervise::Monitor>,
    /// Feature-code confirmations playing: channel → media id.
    feature_plays: BTreeMap<ChannelId, u32>,
    /// Read connections to the records (customer lookups on workers).
    reader: crate::records::RecordsReader,
    /// Outbound campaigns by name, and their calls (call → campaign).
    campaigns: BTreeMap<String, campaign::CampaignRun>,
    campaign_calls: BTreeMap<CallId, String>,
    /// Numbers put on the do-not-call list while a campaign's numbers were
    /// being read (applied again when the read comes in).
    dnc_during_read: Vec<String>,
    /// Preview dialling: numbers shown to agents, by agent.
    previews: BTreeMap<String, campaign::Preview>,
    /// Attended transfers to a queue under way: the call's
    /// `transferred_by` before the consultation (put back if cancelled).
    consult_was: BTreeMap<CallId, Option<String>>,
}

/// What a core needs besides the engine and the records.
#[derive(Debug)]
pub struct CoreParts {
    pub inbox: CoreInbox,
    pub control: crossbeam_channel::Receiver<CoreControl>,
    pub moh: PlayBuffer,
    pub ivr: Arc<IvrSet>,
    pub ivr_io: IvrIo,
    pub records_db: std::path::PathBuf,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core").field("now", &self.now).field("calls", &self.calls.len()).finish_non_exhaustive()
    }
}

impl Core {
    /// A core for the configured channels of the engine's board.
    pub fn new(config: Arc<Config>, engine: EngineHandle, records: RecordsHandle, parts: CoreParts) -> Core {
        let CoreParts { inbox, control, moh, ivr, ivr_io, records_db } = parts;
        let tones = tone_profile(&config);
        let acd = crate::acd::Acd::new(
            config.queues.iter().map(|q| q.spec.clone()).collect(),
            config.agents.iter().map(|a| a.spec.clone()).collect(),
            config.acd.seed,
        );
        let chans = engine
            .info
            .channels
            .iter()
            .map(|c| Chan {
                id: c.id,
                kind: c.kind,
                role: role_of(&config, c.id),
                status: if role_of(&config, c.id) == ChanRole::Unused {
                    ChannelStatus::Down
                } else {
                    ChannelStatus::Idle
                },
                since: BoardTime::ZERO,
                call: None,
                media: Media::None,
            })
            .collect();
        Core {
            config,
            engine,
            records,
            inbox,
            control,
            chans,
            calls: BTreeMap::new(),
            now: BoardTime::ZERO,
            seq: 0,
            moh,
            tones,
            hunt_pos: BTreeMap::new(),
            dirty_chans: BTreeSet::new(),
            dirty_calls: BTreeSet::new(),
            pending_ended: Vec::new(),
            media_ids: 0,
            stop: Arc::new(AtomicBool::new(false)),
            ivr,
            ivr_runs: BTreeMap::new(),
            ivr_io,
            tick_owed: false,
            ivr_jobs: 0,
            ivr_deferred: Vec::new(),
            pending_recordings: BTreeMap::new(),
            acd,
            queued: BTreeMap::new(),
            agent_calls: BTreeMap::new(),
            customers: BTreeMap::new(),
            dirty_queues: false,
            card_pending: BTreeMap::new(),
            awaiting_card: BTreeMap::new(),
            monitors: BTreeMap::new(),
            feature_plays: BTreeMap::new(),
            reader: crate::records::RecordsReader::new(&records_db, 2),
            campaigns: BTreeMap::new(),
            campaign_calls: BTreeMap::new(),
            dnc_during_read: Vec::new(),
            previews: BTreeMap::new(),
            consult_was: BTreeMap::new(),
            records_db,
        }
    }

    /// A flag that stops [`Core::run`] when set.
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        self.stop.clone()
    }

    /// Write the configured channels to the journal.
    fn journal_channels(&self) {
        for c in &self.chans {
            let (role, name) = match &c.role {
                ChanRole::Trunk(t) => ("trunk", t.clone()),
                ChanRole::Extension(e) => ("extension", e.clone()),
                ChanRole::Unused => ("unused", String::new()),
            };
            let span = self.engine.info.channel(c.id).map_or(0, |i| i.span.0 as u32);
            self.journal(JournalOp::Channel {
                number: c.id.0 as u32,
                kind: c.kind.name().to_string(),
                span,
                role: role.to_string(),
                name,
                wall_ms: now_wall_ms(),
            });
        }
    }

    /// Run until shutdown, the engine's end, or the stop flag.
    pub fn run(mut self) {
        self.journal_channels();
        self.campaigns_sync();
        let events = self.engine.events.clone();
        let requests = self.inbox.requests.clone();
        let control = self.control.clone();
        let ivr_done = self.ivr_io.done.clone();
        loop {
            if self.stop.load(Ordering::Relaxed) {
                self.shutdown("the daemon stopped");
                return;
            }
            select! {
                recv(events) -> ev => match ev {
                    Ok(ev) => {
                        if !self.on_engine(ev) {
                            self.shutdown("the board stopped");
                            return;
                        }
                    }
                    Err(_) => {
                        self.shutdown("the engine stopped");
                        return;
                    }
                },
                recv(requests) -> env => {
                    if let Ok(env) = env {
                        let r = self.on_request(env.request);
                        env.reply.send(r);
                        self.publish();
                    }
                },
                recv(ivr_done) -> d => {
                    if let Ok(d) = d {
                        self.ivr_io.taken(&d);
                        self.ivr_io_done(d);
                        self.publish();
                        if self.tick_owed && self.ivr_io.awaited() == 0 {
                            self.tick_owed = false;
                            self.engine.ack_tick();
                        }
                    }
                },
                recv(control) -> c => match c {
                    Ok(CoreControl::Reload(cfg, ivr)) => self.reload(cfg, ivr),
                    Ok(CoreControl::Shutdown) | Err(_) => {
                        self.shutdown("the daemon stopped");
                        return;
                    }
                },
                default(std::time::Duration::from_millis(50)) => self.flush_pending_ended(),
            }
        }
    }

    /// Handle one engine event; false when the board is gone.
    fn on_engine(&mut self, ev: EngineEvent) -> bool {
        match ev {
            EngineEvent::Tick { end } => {
                self.now = end;
                self.ivr_run_deferred();
                self.on_timers();
                self.acd_tick();
                self.campaign_tick();
                self.monitor_tick();
                self.publish();
                // A lock-step board waits for the answers of worker jobs
                // (lookups, webhooks, caller cards) before time moves on.
                if self.ivr_io.awaited() > 0 {
                    self.tick_owed = true;
                } else {
                    self.engine.ack_tick();
                }
            }
            EngineEvent::Line { channel, at, event } => {
                self.now = self.now.max(at);
                self.on_line(channel, event);
            }
            EngineEvent::Detected { channel, event } => {
                tracing::trace!(channel = channel.0, ?event, "detected");
                if !self.acd_detected(channel, &event) {
                    self.ivr_detected(channel, &event);
                }
            }
            EngineEvent::Board(ev) => tracing::trace!(?ev, "board event"),
            EngineEvent::MediaDone { channel, id, .. } => {
                if !self.acd_media_done(channel, id)
                    && !self.feature_media_done(channel, id)
                    && !self.campaign_media_done(channel, id)
                {
                    self.ivr_media_done(channel, id);
                }
            }
            EngineEvent::RecordDone { id, .. } => self.ivr_record_done(id),
            EngineEvent::Released(_) => {}
            EngineEvent::Refused { command, why, .. } => {
                tracing::warn!(command, %why, "the engine refused a command");
            }
            EngineEvent::BoardFailed { error, .. } => {
                tracing::error!("board failed: {error}");
                return false;
            }
        }
        true
    }

    fn reload(&mut self, cfg: Arc<Config>, ivr: Arc<IvrSet>) {
        // Roles of channels follow the new config; channels in a call keep
        // going and pick up their new role when idle.
        for i in 0..self.chans.len() {
            let role = role_of(&cfg, self.chans[i].id);
            self.chans[i].role = role;
        }
        self.tones = tone_profile(&cfg);
        self.acd.reconfigure(
            cfg.queues.iter().map(|q| q.spec.clone()).collect(),
            cfg.agents.iter().map(|a| a.spec.clone()).collect(),
            self.now.as_ms(),
        );
        self.config = cfg;
        self.dirty_queues = true;
        self.campaigns_sync();
        // Calls in a flow finish on the flow they started on.
        self.ivr = ivr;
        tracing::info!("configuration reloaded");
    }

    /// End every call as interrupted (the daemon is going down).
    fn shutdown(&mut self, why: &str) {
        let ids: Vec<CallId> = self.calls.keys().copied().collect();
        for id in ids {
            self.end_call(id, HangupCause::Interrupted, why);
        }
        self.publish();
        // Give the records thread a moment to commit the last rows.
        let seq = self.records.committed_seq();
        let _ = self.records.wait_committed(seq.max(self.last_journal_seq()), std::time::Duration::from_secs(2));
        self.flush_pending_ended();
    }

    fn last_journal_seq(&self) -> u64 {
        self.records.stats().submitted
    }

    // --- helpers used by the flows ---------------------------------------

    fn stamp(&self) -> Stamp {
        Stamp { board_ms: self.now.as_ms() as i64, wall_ms: now_wall_ms() }
    }

    /// Submit a journal op; returns its sequence (0 if it could not be
    /// queued, which the records thread counts).
    fn journal(&self, op: JournalOp) -> u64 {
        match self.records.submit(op) {
            Ok(seq) => seq,
            Err(e) => {
                tracing::error!("journal: {e}");
                0
            }
        }
    }

    fn engine_cmd(&self, cmd: EngineCommand) {
        if let Err(e) = self.engine.send(cmd) {
            tracing::error!("engine: {e}");
        }
    }

    fn line(&self, ch: ChannelId, command: LineCommand) {
        tracing::debug!(channel = ch.0, ?command, at_ms = self.now.as_ms(), "line command");
        self.engine_cmd(EngineCommand::Line { channel: ch, command });
    }

    fn chan(&self, ch: ChannelId) -> Option<&Chan> {
        self.chans.get(ch.index())
    }

    fn set_status(&mut self, ch: ChannelId, status: ChannelStatus) {
        let now = self.now;
        if let Some(c) = self.chans.get_mut(ch.index())
            && c.status != status
        {
            c.status = status;
            c.since = now;
            self.dirty_chans.insert(ch.index());
            self.acd_seat_changed(ch);
        }
    }

    fn set_chan_call(&mut self, ch: ChannelId, call: Option<(CallId, LegId)>) {
        if let Some(c) = self.chans.get_mut(ch.index())
            && c.call != call
        {
            c.call = call;
            self.dirty_chans.insert(ch.index());
            self.acd_seat_changed(ch);
        }
    }

    /// Play (or stop) a tone or music on a channel, if it is not already.
    fn set_media(&mut self, ch: ChannelId, media: Media) {
        let Some(c) = self.chans.get(ch.index()) else { return };
        if c.media == media {
            return;
        }
        self.media_ids = self.media_ids.wrapping_add(1);
        let id = self.media_ids;
        let tone = |kind: ToneKind, tones: &ToneProfile| tones.spec(kind);
        let cmd = match media {
            Media::None => Some(EngineCommand::StopMedia { channel: ch }),
            Media::Ringback => {
                tone(ToneKind::Ringback, &self.tones).map(|spec| EngineCommand::Tone { channel: ch, id, spec })
            }
            Media::Busy => tone(ToneKind::Busy, &self.tones).map(|spec| EngineCommand::Tone { channel: ch, id, spec }),
            Media::Congestion => {
                tone(ToneKind::Congestion, &self.tones).map(|spec| EngineCommand::Tone { channel: ch, id, spec })
            }
            Media::MusicOnHold => {
                Some(EngineCommand::Play { channel: ch, id, buffer: self.music_for(ch), repeat: true })
            }
            // IVR prompts are started by the IVR (`core/ivr.rs`).
            Media::Prompt => None,
        };
        if let Some(cmd) = cmd {
            self.engine_cmd(cmd);
        }
        if let Some(c) = self.chans.get_mut(ch.index()) {
            c.media = media;
        }
    }

    fn emit(&mut self, kind: CtiEventKind) {
        self.seq += 1;
        let _ = self.inbox.events.send(CtiEvent { seq: self.seq, at_ms: self.now.as_ms(), kind });
    }

    /// Publish the channels and calls that changed.
    fn publish(&mut self) {
        let chans = std::mem::take(&mut self.dirty_chans);
        for i in chans {
            let view = self.chans[i].view();
            self.emit(CtiEventKind::Channel { channel: view });
        }
        let calls = std::mem::take(&mut self.dirty_calls);
        for id in calls {
            if let Some(c) = self.calls.get(&id) {
                let view = c.view();
                self.emit(CtiEventKind::Call { call: view });
            }
        }
        self.flush_pending_ended();
    }

    /// Publish ended calls whose journal rows are committed.
    fn flush_pending_ended(&mut self) {
        if self.pending_ended.is_empty() {
            return;
        }
        let committed = self.records.committed_seq();
        let mut i = 0;
        while i < self.pending_ended.len() {
            if self.pending_ended[i].0 <= committed {
                let (_, kind) = self.pending_ended.remove(i);
                self.emit(kind);
            } else {
                i += 1;
            }
        }
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            seq: self.seq,
            board_ms: self.now.as_ms(),
            channels: self.chans.iter().map(Chan::view).collect(),
            calls: self.calls.values().map(Call::view).collect(),
            agents: self.acd.agents_view(),
            queues: self.acd.queues_view(self.now.as_ms()),
        }
    }

    /// Make the call's audio follow its legs (see the module doc).
    fn reconnect(&mut self, id: CallId) {
        let Some(call) = self.calls.get(&id) else { return };
        let live: Vec<model::Leg> = call.live_legs().cloned().collect();
        // Supervisors' monitor legs are wired apart (wire_monitors).
        let parties: Vec<(LegId, ChannelId)> =
            live.iter().filter(|l| l.in_audio() && !self.is_monitor(l.id)).map(|l| (l.id, l.channel)).collect();
        let audio: Vec<ChannelId> = parties.iter().map(|p| p.1).collect();
        let ringing =
            live.iter().any(|l| matches!(l.status, LegStatus::Ringing | LegStatus::Alerting) && !l.in_audio());
        for l in &live {
            self.engine_cmd(EngineCommand::Isolate { channel: l.channel });
        }
        for (k, &a) in audio.iter().enumerate() {
            for &b in &audio[k + 1..] {
                self.engine_cmd(EngineCommand::Bridge { a, b });
            }
        }
        self.wire_monitors(id, &parties);
        for l in &live {
            let media = if l.held && l.status == LegStatus::Up {
                Media::MusicOnHold
            } else if let Some(m) = self.queue_media(id, l.id).filter(|_| audio.len() <= 1 && l.status == LegStatus::Up)
            {
                m
            } else if l.in_audio() && audio.len() == 1 && ringing && self.hears_our_tones(l) {
                Media::Ringback
            } else {
                Media::None
            };
            self.set_media(l.channel, media);
        }
    }

    /// Whether a leg can hear tones we play: a phone, or a line we answered
    /// (an outbound line hears the exchange, not us).
    fn hears_our_tones(&self, leg: &model::Leg) -> bool {
        match self.chan(leg.channel).map(|c| c.kind) {
            Some(ChannelKind::Fxs) => true,
            Some(_) => !leg.outbound_trunk,
            None => false,
        }
    }
}

/// The role of a channel in a config.
fn role_of(config: &Config, ch: ChannelId) -> ChanRole {
    if let Some(t) = config.trunk_on(ch) {
        ChanRole::Trunk(t.name.clone())
    } else if let Some(e) = config.extension_on(ch) {
        ChanRole::Extension(e.number.clone())
    } else {
        ChanRole::Unused
    }
}

/// The country's tones with the config's overrides.
fn tone_profile(config: &Config) -> ToneProfile {
    let mut p = config.country.profile();
    for (kind, pattern) in &config.tones {
        if let Ok(def) = ctibox_driver::dsp::tones::ToneDef::parse(
            *kind,
            pattern,
            ctibox_driver::dsp::tones::DEFAULT_TONE_LEVEL_DBM0,
        ) {
            p.insert(def);
        }
    }
    p
}

/// Start the core on its own thread, named `ctibox-core`.
pub fn spawn(core: Core) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new().name("ctibox-core".into()).spawn(move || core.run())
}

/// For the flows: what an extension's caller ID looks like.
fn extension_caller(config: &Config, number: &str) -> (String, String) {
    let name = config.extension(number).map(|e| e.name.clone()).unwrap_or_default();
    (number.to_string(), name)
}
