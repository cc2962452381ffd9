//! The real-time engine: the tick loop that ties board, detectors, line
//! signalling, media and switch together and talks to the rest of ctibox
//! over bounded channels.
//!
//! Each tick the engine
//! 1. reads the tick from the board (the only place it may wait: for the
//!    board's clock),
//! 2. takes the commands that have arrived (never waiting for one),
//! 3. hands the board's events to the channels' line state machines and
//!    forwards them, stamped in board time,
//! 4. decodes the G.711 of every channel with detectors on and runs its
//!    enabled detectors (DTMF, call-progress tones, caller ID, fax tones,
//!    voice activity), feeding what they find to the line and to the slow
//!    side,
//! 5. runs the lines' timers,
//! 6. builds each channel's transmit audio: what it plays itself (a buffer,
//!    a tone, DTMF, caller ID) plus what it hears through the [`Switch`],
//!    and feeds recorder taps,
//! 7. encodes and writes the tick with the board commands.
//!
//! A channel's receive audio is decoded at most once a tick, and only when
//! something uses it (detectors, a mix, echo, a recording): a channel that
//! only passes codes through a bridge is never decoded.
//!
//! Board time is the only clock. After construction nothing allocates: all
//! buffers are sized for the board, vectors keep their capacity, and a full
//! event or record channel is counted in [`EngineStats`], never waited on.
//! Things the engine is done with (played buffers, replaced channel setups)
//! travel back to the slow side inside events, so they are freed there.
//!
//! A line state machine ([`AnalogLine`]) asks for media through its outputs
//! (play a country tone, DTMF digits, caller ID; switch detectors); the
//! engine carries them out and reports their end back to the line.

mod api;
mod port;
pub mod priority;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, TryRecvError, TrySendError, bounded};

pub use api::{
    ChannelSetup, CommandErrorCopy, EngineCommand, EngineEvent, EngineHandle, EngineStats, EngineStatsSnapshot,
    MediaKind, Refusal, Released, SendError, SwitchErrorCopy,
};
use port::{Owner, Port, Source, any, union};

use crate::dsp::cid::{CallerIdGenerator, CidMessage, CidStandard, CidTxConfig};
use crate::dsp::cid_dtmf::DtmfCidGenerator;
use crate::dsp::dtmf::{DtmfGenerator, DtmfTxConfig};
use crate::dsp::g711;
use crate::dsp::tonegen::{ToneFreq, ToneGenerator, ToneSpec};
use crate::dsp::tones::{Country, ToneProfile};
use crate::hal::{
    Board, BoardCommand, BoardError, BoardEvent, BoardInfo, BoardTime, ChannelId, ChannelKind, Duration, Law, Target,
    Tick, check_command,
};
use crate::media::detectors::{ChannelDetectors, DetectorEvent, DetectorShared, Detectors};
use crate::media::player::Player;
use crate::media::recorder::{BlockPool, RecordBlock, RecordTap};
use crate::media::switch::{MAX_INPUTS, Switch, mix_into};
use crate::signaling::analog::{CidSignal, DspInput, LineOutput, LineOutputs, MediaAction, MediaToken};

/// How the engine is set up.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Events buffered towards the slow side before new ones are dropped.
    pub event_capacity: usize,
    /// Commands buffered towards the engine.
    pub command_capacity: usize,
    /// Most commands taken in one tick (the rest wait for the next tick).
    pub commands_per_tick: usize,
    /// Record blocks (200 ms each) in the pool shared by all recordings.
    pub record_blocks: usize,
    /// Call-progress tones the lines play (dial tone, busy…).
    pub tones: ToneProfile,
    /// Detector descriptors shared by the channels.
    pub detectors: DetectorShared,
    /// FSK caller-ID standard of the channels' default receivers.
    pub cid_standard: CidStandard,
    /// Lock-step with the slow side: after each tick the engine sends
    /// [`EngineEvent::Tick`] and waits until [`EngineHandle::ack_tick`] is
    /// called, so the slow side reacts to tick N before tick N+1 starts.
    /// For fast simulated boards only (deterministic tests, load runs): a
    /// real-time board must never wait, so leave this off there.
    pub lockstep: bool,
    /// `SCHED_FIFO` priority [`Engine::run`] asks for its thread when the
    /// board is paced by a clock ([`priority`]); refused, the thread keeps
    /// the normal scheduler and the log says why. `None`: leave the
    /// thread's scheduling alone.
    pub rt_priority: Option<u8>,
}

impl EngineConfig {
    /// Defaults for a country: its tones, detectors and caller-ID standard.
    pub fn for_country(country: Country) -> Self {
        EngineConfig {
            event_capacity: 16_384,
            command_capacity: 4096,
            commands_per_tick: 1024,
            record_blocks: 4096,
            tones: country.profile(),
            detectors: DetectorShared::for_country(country),
            cid_standard: default_cid_standard(country),
            lockstep: false,
            rt_priority: Some(priority::DEFAULT_RT_PRIORITY),
        }
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self::for_country(Country::Cn)
    }
}

/// The FSK caller-ID standard a country uses: Bell 202 in China and North
/// America, V.23 (ETSI) elsewhere.
pub fn default_cid_standard(country: Country) -> CidStandard {
    match country {
        Country::Cn | Country::Us => CidStandard::Bell202,
        Country::Ru | Country::Uk | Country::Eu => CidStandard::V23,
    }
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Continue,
    Shutdown,
}

/// The off-hook warning tone ("howler"): loud, two tones, fast cadence.
fn howler() -> Option<ToneSpec> {
    let f = [ToneFreq { hz: 1400.0, dbm0: -3.0 }, ToneFreq { hz: 2060.0, dbm0: -3.0 }];
    ToneSpec::cadence(&f, &[100, 100]).ok()
}

/// The tick loop. Build with [`Engine::new`], then call [`Engine::run`] on
/// a dedicated thread, or [`Engine::step`] from a test.
pub struct Engine<B: Board> {
    board: B,
    info: BoardInfo,
    samples: usize,
    ports: Vec<Port>,
    switch: Switch,
    rx_codes: Vec<u8>,
    tx_codes: Vec<u8>,
    /// Code-to-code tables for bridges across laws.
    a_to_u: [u8; 256],
    u_to_a: [u8; 256],
    rx_pcm: Vec<i16>,
    /// Whether `rx_pcm` holds this tick's audio of each channel.
    rx_decoded: Vec<bool>,
    tx_pcm: Vec<i16>,
    board_events: Vec<BoardEvent>,
    board_commands: Vec<BoardCommand>,
    /// Detector events of this tick, by port index.
    detected: Vec<(usize, DetectorEvent)>,
    /// Line outputs of one call into a line.
    line_out: LineOutputs,
    /// Inputs for lines produced while carrying out outputs (media ends).
    line_pending: Vec<(usize, BoardTime, DspInput)>,
    cmd_rx: Receiver<EngineCommand>,
    evt_tx: Sender<EngineEvent>,
    ack_rx: Receiver<()>,
    rec_tx: Sender<RecordBlock>,
    pool: Arc<BlockPool>,
    stats: Arc<EngineStats>,
    stop: Arc<AtomicBool>,
    config: EngineConfig,
    howler: Option<ToneSpec>,
    /// Board time of the tick being processed.
    now: BoardTime,
}

impl<B: Board> std::fmt::Debug for Engine<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("board", &self.info.name).field("now", &self.now).finish_non_exhaustive()
    }
}

impl<B: Board> Engine<B> {
    /// An engine for `board` and the handle to talk to it. Every audio
    /// channel starts with all detectors built and switched off, and no line
    /// state machine.
    pub fn new(board: B, config: EngineConfig) -> (Engine<B>, EngineHandle) {
        let info = board.info().clone();
        let samples = info.tick.samples();
        let n = info.channel_count();
        let ports: Vec<Port> = info
            .channels
            .iter()
            .map(|c| Port {
                law: info.law_of(c.id).unwrap_or(Law::ALaw),
                audio: c.kind.has_audio(),
                source: Source::Idle,
                owner: Owner::Daemon(0),
                record: None,
                echo: false,
                setup: Box::new(ChannelSetup {
                    line: None,
                    detectors: ChannelDetectors::new(&config.detectors, config.cid_standard),
                }),
                daemon_detectors: Detectors::NONE,
                line_detectors: Detectors::NONE,
            })
            .collect();
        let (cmd_tx, cmd_rx) = bounded(config.command_capacity);
        let (evt_tx, evt_rx) = bounded(config.event_capacity);
        let (ack_tx, ack_rx) = bounded(1);
        // Enough room for every record block in the pool.
        let (rec_tx, rec_rx) = bounded(config.record_blocks.max(1));
        let pool = BlockPool::new(config.record_blocks);
        let stats = Arc::new(EngineStats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let handle = EngineHandle {
            commands: cmd_tx,
            events: evt_rx,
            records: rec_rx,
            pool: pool.clone(),
            stats: stats.clone(),
            info: info.clone(),
            stop: stop.clone(),
            ack: ack_tx,
            lockstep: config.lockstep,
        };
        let mut tx_codes = vec![0u8; n * samples];
        for (p, chunk) in ports.iter().zip(tx_codes.chunks_mut(samples)) {
            chunk.fill(p.law.silence());
        }
        let engine = Engine {
            board,
            samples,
            ports,
            switch: Switch::new(n),
            rx_codes: vec![0u8; n * samples],
            tx_codes,
            a_to_u: g711::transcode_table(Law::ALaw, Law::MuLaw),
            u_to_a: g711::transcode_table(Law::MuLaw, Law::ALaw),
            rx_pcm: vec![0i16; n * samples],
            rx_decoded: vec![false; n],
            tx_pcm: vec![0i16; n * samples],
            board_events: Vec::with_capacity(4 * n + 64),
            board_commands: Vec::with_capacity(config.commands_per_tick + 4 * n),
            detected: Vec::with_capacity(4 * n + 64),
            line_out: LineOutputs::new(),
            line_pending: Vec::with_capacity(256),
            cmd_rx,
            evt_tx,
            ack_rx,
            rec_tx,
            pool,
            stats,
            stop,
            howler: howler(),
            config,
            now: BoardTime::ZERO,
            info,
        };
        (engine, handle)
    }

    pub fn board(&self) -> &B {
        &self.board
    }
    pub fn board_mut(&mut self) -> &mut B {
        &mut self.board
    }
    pub fn into_board(self) -> B {
        self.board
    }
    /// Decoded receive audio of the last tick (channel-major; channels
    /// without audio read as zero).
    pub fn rx_pcm(&mut self) -> &[i16] {
        for i in 0..self.ports.len() {
            self.decode_rx(i);
        }
        &self.rx_pcm
    }

    /// Decode channel `i`'s received codes of this tick, unless done
    /// already or the channel has no audio.
    fn decode_rx(&mut self, i: usize) {
        if self.rx_decoded[i] || !self.ports[i].audio {
            return;
        }
        let n = self.samples;
        let r = i * n..(i + 1) * n;
        g711::decode_block(self.ports[i].law, &self.rx_codes[r.clone()], &mut self.rx_pcm[r]);
        self.rx_decoded[i] = true;
    }

    /// Run ticks until shutdown or a board failure. On a board paced by a
    /// clock the calling thread first asks for real-time scheduling
    /// ([`EngineConfig::rt_priority`]).
    pub fn run(&mut self) -> Result<(), BoardError> {
        if self.board.paced_by_clock()
            && let Some(p) = self.config.rt_priority
        {
            match priority::set_fifo(p) {
                Ok(()) => tracing::info!("engine thread runs under SCHED_FIFO priority {p}"),
                Err(e) => tracing::info!("engine thread keeps the normal scheduler: {e}"),
            }
        }
        loop {
            match self.step() {
                Ok(Step::Continue) => {}
                Ok(Step::Shutdown) => return Ok(()),
                Err(e) => {
                    let _ = self.evt_tx.try_send(EngineEvent::BoardFailed { at: self.now, error: e.to_string() });
                    return Err(e);
                }
            }
        }
    }

    /// One tick.
    pub fn step(&mut self) -> Result<Step, BoardError> {
        let mut shutdown = self.stop.load(Ordering::Relaxed);
        self.board_events.clear();
        let tick = self.board.read_tick(&mut self.rx_codes, &mut self.board_events)?;
        let started = Instant::now();
        self.now = tick.start;
        let end = tick.start + Duration::from_samples(self.samples as u64);
        self.board_commands.clear();
        // Commands take effect at the start of this tick.
        for _ in 0..self.config.commands_per_tick {
            match self.cmd_rx.try_recv() {
                Ok(EngineCommand::Shutdown) => shutdown = true,
                Ok(cmd) => self.apply(cmd),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        for k in 0..self.board_events.len() {
            let ev = self.board_events[k];
            self.emit(EngineEvent::Board(ev));
            if let Target::Channel(ch) = ev.target {
                let i = ch.index();
                if let Some(line) = self.ports.get_mut(i).and_then(|p| p.setup.line.as_mut()) {
                    line.on_board(ev.at, &ev.kind, &mut self.line_out);
                    self.carry_out(i);
                }
            }
        }
        self.decode_and_detect();
        for i in 0..self.ports.len() {
            if let Some(line) = self.ports[i].setup.line.as_mut()
                && line.next_deadline().is_some_and(|d| d <= end)
            {
                line.poll(end, &mut self.line_out);
                self.carry_out(i);
            }
        }
        self.build_tx(tick);
        self.feed_pending();
        self.board.write_tick(&self.tx_codes, &self.board_commands)?;

        let s = &self.stats;
        s.ticks.fetch_add(1, Ordering::Relaxed);
        s.board_slips.store(self.board.stats().slips, Ordering::Relaxed);
        s.board_time.store(end.samples(), Ordering::Relaxed);
        let ns = started.elapsed().as_nanos() as u64;
        s.busy_ns.fetch_add(ns, Ordering::Relaxed);
        s.max_tick_ns.fetch_max(ns, Ordering::Relaxed);
        if self.config.lockstep {
            // Wait for the slow side to take in this tick. A slow side that
            // is gone ends the loop. A stop asked for before the wait is not
            // waited on; one asked for during it sends an ack of its own.
            if self.evt_tx.send(EngineEvent::Tick { end }).is_err() {
                return Ok(Step::Shutdown);
            }
            if shutdown || self.stop.load(Ordering::Relaxed) || self.ack_rx.recv().is_err() {
                return Ok(Step::Shutdown);
            }
            shutdown |= self.stop.load(Ordering::Relaxed);
        } else {
            self.emit(EngineEvent::Tick { end });
        }
        Ok(if shutdown { Step::Shutdown } else { Step::Continue })
    }

    fn emit(&self, ev: EngineEvent) {
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) = self.evt_tx.try_send(ev) {
            self.stats.events_dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn refuse(&self, command: &'static str, why: Refusal) {
        self.stats.commands_refused.fetch_add(1, Ordering::Relaxed);
        self.emit(EngineEvent::Refused { command, at: self.now, why });
    }

    fn port_index(&mut self, ch: ChannelId, command: &'static str) -> Option<usize> {
        let i = ch.index();
        if i < self.ports.len() {
            Some(i)
        } else {
            self.refuse(command, Refusal::NoSuchChannel(ch));
            None
        }
    }

    fn audio_port(&mut self, ch: ChannelId, command: &'static str) -> Option<usize> {
        let i = self.port_index(ch, command)?;
        if self.ports[i].audio {
            Some(i)
        } else {
            self.refuse(command, Refusal::NoAudio(ch));
            None
        }
    }

    /// End whatever the channel plays and report it to its owner.
    fn end_source(&mut self, i: usize, finished: bool) {
        let channel = ChannelId::from_index(i);
        let port = &mut self.ports[i];
        let kind = port.source.kind();
        let owner = port.owner;
        match std::mem::replace(&mut port.source, Source::Idle) {
            Source::Idle => {}
            src => match owner {
                Owner::Daemon(id) => {
                    let buffer = match src {
                        Source::Play(p) => Some(p.into_buffer()),
                        _ => None,
                    };
                    self.emit(EngineEvent::MediaDone { channel, id, kind, at: self.now, finished, buffer });
                }
                Owner::Line(token) => {
                    if self.line_pending.len() < self.line_pending.capacity() {
                        self.line_pending.push((i, self.now, DspInput::MediaDone { token, finished }));
                    }
                }
            },
        }
    }

    fn start_source(&mut self, i: usize, source: Source, owner: Owner) {
        self.end_source(i, false);
        let port = &mut self.ports[i];
        port.source = source;
        port.owner = owner;
    }

    fn end_record(&mut self, i: usize) {
        if let Some(tap) = self.ports[i].record.take() {
            let id = tap.id;
            let dropped = tap.finish(&self.pool, &self.rec_tx);
            self.emit(EngineEvent::RecordDone {
                channel: ChannelId::from_index(i),
                id,
                at: self.now,
                dropped_samples: dropped,
            });
        }
    }

    fn set_detectors(&mut self, i: usize, at: BoardTime) {
        let p = &mut self.ports[i];
        let want = union(p.daemon_detectors, p.line_detectors);
        p.setup.detectors.set_enabled(at, want);
    }

    fn apply(&mut self, cmd: EngineCommand) {
        self.stats.commands.fetch_add(1, Ordering::Relaxed);
        let name = cmd.name();
        let now = self.now;
        match cmd {
            EngineCommand::Board(c) => match check_command(&self.info, &c) {
                Ok(()) => {
                    if self.board_commands.len() < self.board_commands.capacity() {
                        self.board_commands.push(c);
                    }
                }
                Err(e) => self.refuse(name, Refusal::Board(e.into())),
            },
            EngineCommand::Setup { channel, setup } => {
                if let Some(i) = self.audio_port(channel, name) {
                    let old = std::mem::replace(&mut self.ports[i].setup, setup);
                    self.ports[i].line_detectors =
                        self.ports[i].setup.line.as_ref().map_or(Detectors::NONE, |l| l.detectors());
                    // The new detectors start from scratch.
                    self.ports[i].setup.detectors.set_enabled(now, Detectors::NONE);
                    self.set_detectors(i, now);
                    if matches!(self.ports[i].owner, Owner::Line(_)) {
                        self.end_source(i, false);
                        self.line_pending.retain(|(p, _, _)| *p != i);
                    }
                    self.emit(EngineEvent::Released(Released::Setup(old)));
                }
            }
            EngineCommand::Line { channel, command } => {
                if let Some(i) = self.port_index(channel, name) {
                    match self.ports[i].setup.line.as_mut() {
                        Some(line) => {
                            line.on_command(now, &command, &mut self.line_out);
                            self.carry_out(i);
                        }
                        None => self.refuse(name, Refusal::NoLine(channel)),
                    }
                }
            }
            EngineCommand::SetDetectors { channel, detectors } => {
                if let Some(i) = self.audio_port(channel, name) {
                    self.ports[i].daemon_detectors = detectors;
                    self.set_detectors(i, now);
                }
            }
            EngineCommand::Play { channel, id, buffer, repeat } => {
                if let Some(i) = self.audio_port(channel, name) {
                    self.start_source(i, Source::Play(Player::new(buffer, repeat, id)), Owner::Daemon(id));
                }
            }
            EngineCommand::Tone { channel, id, spec } => {
                if let Some(i) = self.audio_port(channel, name) {
                    self.start_source(i, Source::Tone(ToneGenerator::new(&spec)), Owner::Daemon(id));
                }
            }
            EngineCommand::StopMedia { channel } => {
                if let Some(i) = self.audio_port(channel, name) {
                    self.end_source(i, false);
                }
            }
            EngineCommand::Connect { listener, talker } => {
                if self.audio_port(listener, name).is_some()
                    && self.audio_port(talker, name).is_some()
                    && let Err(e) = self.switch.connect(listener, talker)
                {
                    self.refuse(name, Refusal::Switch(SwitchErrorCopy::new(e, listener, talker)));
                }
            }
            EngineCommand::Disconnect { listener, talker } => self.switch.disconnect(listener, talker),
            EngineCommand::Bridge { a, b } => {
                if self.audio_port(a, name).is_some()
                    && self.audio_port(b, name).is_some()
                    && let Err(e) = self.switch.bridge(a, b)
                {
                    self.refuse(name, Refusal::Switch(SwitchErrorCopy::new(e, a, b)));
                }
            }
            EngineCommand::Isolate { channel } => self.switch.isolate(channel),
            EngineCommand::Echo { channel, on } => {
                if let Some(i) = self.audio_port(channel, name) {
                    self.ports[i].echo = on;
                }
            }
            EngineCommand::RecordStart { channel, id, what } => {
                if let Some(i) = self.audio_port(channel, name) {
                    self.end_record(i);
                    self.ports[i].record = Some(RecordTap::new(id, channel, what));
                }
            }
            EngineCommand::RecordStop { channel } => {
                if let Some(i) = self.audio_port(channel, name) {
                    self.end_record(i);
                }
            }
            EngineCommand::Shutdown => {}
        }
    }

    /// Carry out what the line of port `i` asked for in `self.line_out`.
    fn carry_out(&mut self, i: usize) {
        let ch = ChannelId::from_index(i);
        if self.line_out.overflow() > 0 {
            self.stats.line_overflow.fetch_add(self.line_out.overflow() as u64, Ordering::Relaxed);
        }
        let at = self.now;
        for k in 0..self.line_out.len() {
            let Some(out) = self.line_out.iter().nth(k).copied() else { break };
            match out {
                LineOutput::Board(kind) => {
                    let c = BoardCommand::new(ch, kind);
                    match check_command(&self.info, &c) {
                        Ok(()) if self.board_commands.len() < self.board_commands.capacity() => {
                            self.board_commands.push(c)
                        }
                        Ok(()) => {}
                        Err(e) => self.refuse(kind.name(), Refusal::Board(e.into())),
                    }
                }
                LineOutput::Media(action) => self.media_action(i, action),
                LineOutput::Event(event) => self.emit(EngineEvent::Line { channel: ch, at, event }),
            }
        }
        self.line_out.clear();
    }

    fn media_action(&mut self, i: usize, action: MediaAction) {
        let line_owned = |t: MediaToken| Owner::Line(t);
        match action {
            MediaAction::PlayTone { kind, token } => match self.config.tones.spec(kind) {
                Some(spec) => self.start_source(i, Source::Tone(ToneGenerator::new(&spec)), line_owned(token)),
                // A profile without this tone: tell the line it is over.
                None => self.line_pending_push(i, DspInput::MediaDone { token, finished: true }),
            },
            MediaAction::PlayHowler { token } => match self.howler {
                Some(spec) => self.start_source(i, Source::Tone(ToneGenerator::new(&spec)), line_owned(token)),
                None => self.line_pending_push(i, DspInput::MediaDone { token, finished: true }),
            },
            MediaAction::PlayDtmf { digits, tx, token } => {
                let dtmf = DtmfGenerator::new(tx).and_then(|mut g| g.push(digits.as_str()).map(|()| g));
                match dtmf {
                    Ok(g) => self.start_source(i, Source::Dtmf(g), line_owned(token)),
                    Err(_) => self.line_pending_push(i, DspInput::MediaDone { token, finished: false }),
                }
            }
            MediaAction::SendCallerId { caller_id, signal, token } => {
                let src = match signal {
                    CidSignal::Fsk { standard, alert } => {
                        let cfg = if alert {
                            CidTxConfig { standard, ..CidTxConfig::etsi_dtas() }
                        } else {
                            CidTxConfig::new(standard)
                        };
                        CallerIdGenerator::new(&cfg, &CidMessage::MdmfCallerId(caller_id)).ok().map(Source::CidFsk)
                    }
                    CidSignal::Dtmf { format } => {
                        DtmfCidGenerator::new(&caller_id, format, DtmfTxConfig::default()).ok().map(Source::CidDtmf)
                    }
                };
                match src {
                    Some(s) => self.start_source(i, s, line_owned(token)),
                    None => self.line_pending_push(i, DspInput::MediaDone { token, finished: false }),
                }
            }
            MediaAction::Stop => {
                if matches!(self.ports[i].owner, Owner::Line(_)) {
                    self.end_source(i, false);
                }
            }
            MediaAction::Detectors(d) => {
                self.ports[i].line_detectors = d;
                let at = self.now;
                self.set_detectors(i, at);
            }
        }
    }

    fn line_pending_push(&mut self, i: usize, input: DspInput) {
        if self.line_pending.len() < self.line_pending.capacity() {
            self.line_pending.push((i, self.now, input));
        }
    }

    /// Feed lines the inputs that came up while carrying out their outputs
    /// (media that ended); what they ask in turn is carried out too. Bounded
    /// so a line that keeps restarting media cannot hold up the tick.
    fn feed_pending(&mut self) {
        for _ in 0..4 {
            if self.line_pending.is_empty() {
                return;
            }
            let n = self.line_pending.len();
            for k in 0..n {
                let (i, at, input) = self.line_pending[k];
                if let Some(line) = self.ports[i].setup.line.as_mut() {
                    line.on_dsp(at, &input, &mut self.line_out);
                    self.carry_out(i);
                }
            }
            self.line_pending.drain(..n);
        }
    }

    fn decode_and_detect(&mut self) {
        let n = self.samples;
        self.detected.clear();
        self.rx_decoded.fill(false);
        for i in 0..self.ports.len() {
            if !self.ports[i].audio || !any(self.ports[i].setup.detectors.enabled()) {
                continue;
            }
            self.decode_rx(i);
            let r = i * n..(i + 1) * n;
            let found = &mut self.detected;
            self.ports[i].setup.detectors.rx(&self.rx_pcm[r], &mut |e| {
                if found.len() < found.capacity() {
                    found.push((i, e));
                }
            });
        }
        for k in 0..self.detected.len() {
            let (i, event) = self.detected[k];
            self.emit(EngineEvent::Detected { channel: ChannelId::from_index(i), event });
            let input = match event {
                DetectorEvent::DtmfBegin { digit, .. } => DspInput::DigitBegin(digit),
                DetectorEvent::Dtmf { digit, .. } => DspInput::Digit(digit),
                DetectorEvent::Tone { kind, .. } => DspInput::Tone(kind),
                DetectorEvent::ToneEnd { kind, .. } => DspInput::ToneEnded(kind),
                DetectorEvent::CallerId { caller_id, .. } => DspInput::CallerId(caller_id),
                DetectorEvent::CallerIdFailed { .. } => DspInput::CallerIdFailed,
                DetectorEvent::Fax { tone, .. } => DspInput::Fax(tone),
                DetectorEvent::FaxEnded { tone, .. } => DspInput::FaxEnded(tone),
                DetectorEvent::VoiceStart { .. } => DspInput::VoiceStart,
                DetectorEvent::VoiceStop { .. } => DspInput::VoiceStop,
                DetectorEvent::SilenceTimeout { .. } => continue,
            };
            if let Some(line) = self.ports[i].setup.line.as_mut() {
                line.on_dsp(event.at().max(self.now), &input, &mut self.line_out);
                self.carry_out(i);
            }
        }
    }

    fn build_tx(&mut self, tick: Tick) {
        let n = self.samples;
        for i in 0..self.ports.len() {
            if !self.ports[i].audio {
                continue;
            }
            let r = i * n..(i + 1) * n;
            let inputs = self.switch.inputs_at(i);
            let law = self.ports[i].law;
            // Fast path: plays nothing, hears one channel: pass its codes
            // through untouched (bit-exact) when the laws agree, or through
            // the code-to-code table (the same as decode and encode).
            if matches!(self.ports[i].source, Source::Idle)
                && !self.ports[i].echo
                && inputs.len() == 1
                && self.ports[i].record.is_none()
            {
                let t = inputs[0] as usize;
                let src = t * n..(t + 1) * n;
                if self.ports[t].law == law {
                    self.tx_codes[r].copy_from_slice(&self.rx_codes[src]);
                } else {
                    let table = if law == Law::MuLaw { &self.a_to_u } else { &self.u_to_a };
                    for (o, &c) in self.tx_codes[r].iter_mut().zip(&self.rx_codes[src]) {
                        *o = table[c as usize];
                    }
                }
                continue;
            }
            // What this channel mixes must be decoded first.
            let mut heard = [0u16; MAX_INPUTS];
            heard[..inputs.len()].copy_from_slice(inputs);
            let heard = &heard[..inputs.len()];
            for &t in heard {
                self.decode_rx(t as usize);
            }
            if self.ports[i].echo || self.ports[i].record.is_some() {
                self.decode_rx(i);
            }
            let ended = {
                let out = &mut self.tx_pcm[r.clone()];
                let ended = self.ports[i].source.fill(out);
                for &t in heard {
                    let t = t as usize;
                    mix_into(out, &self.rx_pcm[t * n..(t + 1) * n]);
                }
                if self.ports[i].echo {
                    mix_into(out, &self.rx_pcm[r.clone()]);
                }
                ended
            };
            if ended {
                self.end_source(i, true);
            }
            if let Some(tap) = self.ports[i].record.as_mut() {
                tap.push(tick.start, &self.rx_pcm[r.clone()], &self.tx_pcm[r.clone()], &self.pool, &self.rec_tx);
            }
            g711::encode_block(law, &self.tx_pcm[r.clone()], &mut self.tx_codes[r]);
        }
    }
}

/// A channel's setup with a line state machine suited to its kind and the
/// detectors for `config`'s country. Use off the real-time path.
pub fn channel_setup(config: &EngineConfig, line: Option<crate::signaling::analog::AnalogLine>) -> Box<ChannelSetup> {
    Box::new(ChannelSetup { line, detectors: ChannelDetectors::new(&config.detectors, config.cid_standard) })
}

/// Whether a channel kind can have an analog line state machine.
pub fn has_analog_line(kind: ChannelKind) -> bool {
    matches!(kind, ChannelKind::Fxo | ChannelKind::Fxs)
}

/// Start an engine on its own thread. The thread is named `ctibox-engine`.
pub fn spawn<B: Board + 'static>(
    board: B,
    config: EngineConfig,
) -> std::io::Result<(EngineHandle, std::thread::JoinHandle<Result<(), BoardError>>)> {
    let (mut engine, handle) = Engine::new(board, config);
    let join = std::thread::Builder::new().name("ctibox-engine".into()).spawn(move || engine.run())?;
    Ok((handle, join))
}

#[cfg(test)]
mod tests;
