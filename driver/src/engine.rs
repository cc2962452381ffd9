//! The real-time engine: the tick loop that ties board, media and switch
//! together and talks to the rest of ctibox over bounded channels.
//!
//! Each tick the engine
//! 1. takes the commands that have arrived (never waiting for one),
//! 2. reads the tick from the board (the only place it may wait: for the
//!    board's clock),
//! 3. decodes every channel's G.711 to linear,
//! 4. forwards the board's events, stamped in board time,
//! 5. builds each channel's transmit audio: what it plays itself (a buffer
//!    or a tone) plus what it hears through the [`Switch`],
//! 6. feeds recorder taps,
//! 7. encodes and writes the tick with the board commands.
//!
//! Board time is the only clock. After construction nothing allocates: all
//! buffers are sized for the board, vectors keep their capacity, and a full
//! event or record channel is counted in [`EngineStats`], never waited on.
//! Buffers that stop playing travel back to the slow side inside their
//! [`EngineEvent::MediaDone`], so their memory is freed there.
//!
//! Not here yet: detectors (DTMF, call progress, caller ID, fax, VAD) and
//! line signalling state machines run per channel in later work; the hook
//! for them is the decoded receive audio of step 3.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, TryRecvError, TrySendError, bounded};
use serde::Serialize;

use crate::dsp::g711;
use crate::dsp::tonegen::{ToneGenerator, ToneSpec};
use crate::hal::{
    Board, BoardCommand, BoardError, BoardEvent, BoardInfo, BoardTime, ChannelId, CommandError, Duration, Law, Tick,
    check_command,
};
use crate::media::player::{PlayBuffer, PlayStatus, Player};
use crate::media::recorder::{BlockPool, RecordBlock, RecordTap, RecordWhat};
use crate::media::switch::{Switch, SwitchError, mix_into};

/// Sizes of the engine's queues.
#[derive(Debug, Clone, Copy)]
pub struct EngineConfig {
    /// Events buffered towards the slow side before new ones are dropped.
    pub event_capacity: usize,
    /// Commands buffered towards the engine.
    pub command_capacity: usize,
    /// Most commands taken in one tick (the rest wait for the next tick).
    pub commands_per_tick: usize,
    /// Record blocks (200 ms each) in the pool shared by all recordings.
    pub record_blocks: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig { event_capacity: 16_384, command_capacity: 4096, commands_per_tick: 1024, record_blocks: 4096 }
    }
}

/// What the slow side asks the engine to do.
#[derive(Debug, Clone)]
pub enum EngineCommand {
    /// Pass a signalling command to the board.
    Board(BoardCommand),
    /// Play a buffer on a channel, replacing whatever it was playing.
    Play { channel: ChannelId, id: u32, buffer: PlayBuffer, repeat: bool },
    /// Play a tone (dial tone, ringback, DTMF, beep…), replacing whatever
    /// the channel was playing.
    Tone { channel: ChannelId, id: u32, spec: ToneSpec },
    /// Stop the channel's buffer or tone.
    StopMedia { channel: ChannelId },
    /// `listener` hears `talker`.
    Connect { listener: ChannelId, talker: ChannelId },
    /// `listener` stops hearing `talker`.
    Disconnect { listener: ChannelId, talker: ChannelId },
    /// Two channels hear each other.
    Bridge { a: ChannelId, b: ChannelId },
    /// Remove every connection to and from a channel.
    Isolate { channel: ChannelId },
    /// Send a channel's own received audio back to it (a technician's echo
    /// test), on or off.
    Echo { channel: ChannelId, on: bool },
    /// Start recording a channel (replacing a recording in progress).
    RecordStart { channel: ChannelId, id: u32, what: RecordWhat },
    /// Stop the channel's recording.
    RecordStop { channel: ChannelId },
    /// Leave the tick loop after this tick.
    Shutdown,
}

impl EngineCommand {
    pub fn name(&self) -> &'static str {
        match self {
            EngineCommand::Board(c) => c.kind.name(),
            EngineCommand::Play { .. } => "play",
            EngineCommand::Tone { .. } => "tone",
            EngineCommand::StopMedia { .. } => "stop_media",
            EngineCommand::Connect { .. } => "connect",
            EngineCommand::Disconnect { .. } => "disconnect",
            EngineCommand::Bridge { .. } => "bridge",
            EngineCommand::Isolate { .. } => "isolate",
            EngineCommand::Echo { .. } => "echo",
            EngineCommand::RecordStart { .. } => "record_start",
            EngineCommand::RecordStop { .. } => "record_stop",
            EngineCommand::Shutdown => "shutdown",
        }
    }
}

/// Why the engine refused a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, Serialize)]
pub enum Refusal {
    #[error("channel {0} does not exist")]
    NoSuchChannel(ChannelId),
    #[error("channel {0} carries no audio")]
    NoAudio(ChannelId),
    #[error("{0}")]
    Board(#[from] CommandErrorCopy),
    #[error("{0}")]
    Switch(#[from] SwitchErrorCopy),
}

/// [`CommandError`] in a form that crosses threads without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("channel {channel}: {what}")]
pub struct CommandErrorCopy {
    pub channel: ChannelId,
    pub what: &'static str,
}

impl From<CommandError> for CommandErrorCopy {
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::NoSuchChannel(c) => CommandErrorCopy { channel: c, what: "no such channel" },
            CommandError::WrongKind { channel, command, .. } => CommandErrorCopy { channel, what: command },
        }
    }
}

/// [`SwitchError`] in a form that is `Copy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("cannot connect {listener} to {talker}: {what}")]
pub struct SwitchErrorCopy {
    pub listener: ChannelId,
    pub talker: ChannelId,
    pub what: &'static str,
}

impl SwitchErrorCopy {
    fn new(e: SwitchError, listener: ChannelId, talker: ChannelId) -> Self {
        let what = match e {
            SwitchError::NoSuchChannel(_) => "no such channel",
            SwitchError::SelfLoop(_) => "a channel cannot hear itself",
            SwitchError::TooManyInputs { .. } => "the listener already hears the most channels allowed",
        };
        SwitchErrorCopy { listener, talker, what }
    }
}

/// What a media playback was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    Play,
    Tone,
}

/// What the engine tells the slow side.
#[derive(Debug)]
pub enum EngineEvent {
    /// A signalling event from the board.
    Board(BoardEvent),
    /// A buffer or tone ended: `finished` when it played to its end, false
    /// when it was stopped or replaced. A played buffer comes back in
    /// `buffer` so it is freed off the real-time path.
    MediaDone {
        channel: ChannelId,
        id: u32,
        kind: MediaKind,
        at: BoardTime,
        finished: bool,
        buffer: Option<PlayBuffer>,
    },
    /// A recording ended; its last block has been sent.
    RecordDone { channel: ChannelId, id: u32, at: BoardTime, dropped_samples: u64 },
    /// A command could not be carried out.
    Refused { command: &'static str, at: BoardTime, why: Refusal },
    /// The board failed; the engine has stopped.
    BoardFailed { at: BoardTime, error: String },
}

/// Why a command could not be queued for the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("the engine's command queue is full")]
    Full,
    #[error("the engine has stopped")]
    Gone,
}

/// Counters the engine keeps; readable from any thread.
#[derive(Debug, Default)]
pub struct EngineStats {
    pub ticks: AtomicU64,
    /// Slips the board reports.
    pub board_slips: AtomicU64,
    /// Events dropped because the event channel was full.
    pub events_dropped: AtomicU64,
    pub commands: AtomicU64,
    pub commands_refused: AtomicU64,
    /// Nanoseconds spent working (not waiting for the board), in total.
    pub busy_ns: AtomicU64,
    /// Longest single tick of work, in nanoseconds.
    pub max_tick_ns: AtomicU64,
    /// Board time of the last tick, in samples.
    pub board_time: AtomicU64,
}

/// A copy of [`EngineStats`] at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct EngineStatsSnapshot {
    pub ticks: u64,
    pub board_slips: u64,
    pub events_dropped: u64,
    pub commands: u64,
    pub commands_refused: u64,
    pub busy_ns: u64,
    pub max_tick_ns: u64,
    pub board_time: BoardTime,
}

impl EngineStats {
    pub fn snapshot(&self) -> EngineStatsSnapshot {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        EngineStatsSnapshot {
            ticks: l(&self.ticks),
            board_slips: l(&self.board_slips),
            events_dropped: l(&self.events_dropped),
            commands: l(&self.commands),
            commands_refused: l(&self.commands_refused),
            busy_ns: l(&self.busy_ns),
            max_tick_ns: l(&self.max_tick_ns),
            board_time: BoardTime::from_samples(l(&self.board_time)),
        }
    }
}

/// The slow side's end of an engine.
#[derive(Debug, Clone)]
pub struct EngineHandle {
    pub commands: Sender<EngineCommand>,
    pub events: Receiver<EngineEvent>,
    /// Record blocks; give each buffer back to `pool` when written.
    pub records: Receiver<RecordBlock>,
    pub pool: Arc<BlockPool>,
    pub stats: Arc<EngineStats>,
    pub info: BoardInfo,
    stop: Arc<AtomicBool>,
}

impl EngineHandle {
    /// Send a command; fails only when the engine is gone or its queue is
    /// full (the slow side decides whether to retry).
    pub fn send(&self, cmd: EngineCommand) -> Result<(), SendError> {
        self.commands.try_send(cmd).map_err(|e| match e {
            TrySendError::Full(_) => SendError::Full,
            TrySendError::Disconnected(_) => SendError::Gone,
        })
    }
    /// Ask the engine to stop after its current tick.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.commands.try_send(EngineCommand::Shutdown);
    }
}

/// What the channel plays itself.
#[derive(Debug)]
enum Source {
    Idle,
    Play(Player),
    Tone { id: u32, tone: ToneGenerator },
}

/// Per-channel media state.
#[derive(Debug)]
struct Port {
    law: Law,
    audio: bool,
    source: Source,
    record: Option<RecordTap>,
    echo: bool,
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Continue,
    Shutdown,
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
    rx_pcm: Vec<i16>,
    tx_pcm: Vec<i16>,
    board_events: Vec<BoardEvent>,
    board_commands: Vec<BoardCommand>,
    cmd_rx: Receiver<EngineCommand>,
    evt_tx: Sender<EngineEvent>,
    rec_tx: Sender<RecordBlock>,
    pool: Arc<BlockPool>,
    stats: Arc<EngineStats>,
    stop: Arc<AtomicBool>,
    config: EngineConfig,
    /// Board time of the tick being processed.
    now: BoardTime,
}

impl<B: Board> Engine<B> {
    /// An engine for `board` and the handle to talk to it.
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
                record: None,
                echo: false,
            })
            .collect();
        let (cmd_tx, cmd_rx) = bounded(config.command_capacity);
        let (evt_tx, evt_rx) = bounded(config.event_capacity);
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
            rx_pcm: vec![0i16; n * samples],
            tx_pcm: vec![0i16; n * samples],
            board_events: Vec::with_capacity(4 * n + 64),
            board_commands: Vec::with_capacity(config.commands_per_tick),
            cmd_rx,
            evt_tx,
            rec_tx,
            pool,
            stats,
            stop,
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
    /// Decoded receive audio of the last tick (channel-major).
    pub fn rx_pcm(&self) -> &[i16] {
        &self.rx_pcm
    }

    /// Run ticks until shutdown or a board failure.
    pub fn run(&mut self) -> Result<(), BoardError> {
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
        // Commands take effect at the start of this tick.
        self.board_commands.clear();
        for _ in 0..self.config.commands_per_tick {
            match self.cmd_rx.try_recv() {
                Ok(EngineCommand::Shutdown) => shutdown = true,
                Ok(cmd) => self.apply(cmd),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        self.decode();
        for i in 0..self.board_events.len() {
            let ev = self.board_events[i];
            self.emit(EngineEvent::Board(ev));
        }
        self.build_tx(tick);
        self.board.write_tick(&self.tx_codes, &self.board_commands)?;

        let s = &self.stats;
        s.ticks.fetch_add(1, Ordering::Relaxed);
        s.board_slips.store(self.board.stats().slips, Ordering::Relaxed);
        s.board_time.store((tick.start + Duration::from_samples(self.samples as u64)).samples(), Ordering::Relaxed);
        let ns = started.elapsed().as_nanos() as u64;
        s.busy_ns.fetch_add(ns, Ordering::Relaxed);
        s.max_tick_ns.fetch_max(ns, Ordering::Relaxed);
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

    fn audio_port(&mut self, ch: ChannelId, command: &'static str) -> Option<usize> {
        let i = ch.index();
        match self.ports.get(i) {
            None => {
                self.refuse(command, Refusal::NoSuchChannel(ch));
                None
            }
            Some(p) if !p.audio => {
                self.refuse(command, Refusal::NoAudio(ch));
                None
            }
            Some(_) => Some(i),
        }
    }

    /// End whatever the channel plays, reporting it.
    fn end_source(&mut self, i: usize, finished: bool) {
        let channel = ChannelId::from_index(i);
        match std::mem::replace(&mut self.ports[i].source, Source::Idle) {
            Source::Idle => {}
            Source::Play(p) => {
                let id = p.id;
                self.emit(EngineEvent::MediaDone {
                    channel,
                    id,
                    kind: MediaKind::Play,
                    at: self.now,
                    finished,
                    buffer: Some(p.into_buffer()),
                });
            }
            Source::Tone { id, .. } => {
                self.emit(EngineEvent::MediaDone {
                    channel,
                    id,
                    kind: MediaKind::Tone,
                    at: self.now,
                    finished,
                    buffer: None,
                });
            }
        }
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

    fn apply(&mut self, cmd: EngineCommand) {
        self.stats.commands.fetch_add(1, Ordering::Relaxed);
        let name = cmd.name();
        match cmd {
            EngineCommand::Board(c) => match check_command(&self.info, &c) {
                Ok(()) => {
                    if self.board_commands.len() < self.board_commands.capacity() {
                        self.board_commands.push(c);
                    }
                }
                Err(e) => self.refuse(name, Refusal::Board(e.into())),
            },
            EngineCommand::Play { channel, id, buffer, repeat } => {
                if let Some(i) = self.audio_port(channel, name) {
                    self.end_source(i, false);
                    self.ports[i].source = Source::Play(Player::new(buffer, repeat, id));
                }
            }
            EngineCommand::Tone { channel, id, spec } => {
                if let Some(i) = self.audio_port(channel, name) {
                    self.end_source(i, false);
                    self.ports[i].source = Source::Tone { id, tone: ToneGenerator::new(&spec) };
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

    fn decode(&mut self) {
        let n = self.samples;
        for (i, p) in self.ports.iter().enumerate() {
            if p.audio {
                let r = i * n..(i + 1) * n;
                g711::decode_block(p.law, &self.rx_codes[r.clone()], &mut self.rx_pcm[r]);
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
            // Fast path: plays nothing, hears one channel of the same law:
            // pass its codes through untouched (bit-exact).
            if matches!(self.ports[i].source, Source::Idle)
                && !self.ports[i].echo
                && inputs.len() == 1
                && self.ports[inputs[0] as usize].law == law
                && self.ports[i].record.is_none()
            {
                let t = inputs[0] as usize;
                let src = t * n..(t + 1) * n;
                self.tx_codes[r].copy_from_slice(&self.rx_codes[src]);
                continue;
            }
            let mut ended = false;
            {
                let out = &mut self.tx_pcm[r.clone()];
                match &mut self.ports[i].source {
                    Source::Idle => out.fill(0),
                    Source::Play(p) => ended = matches!(p.fill(out), PlayStatus::Finished { .. }),
                    Source::Tone { tone, .. } => {
                        let w = tone.tx(out);
                        out[w..].fill(0);
                        ended = tone.is_done();
                    }
                }
                for &t in inputs {
                    let t = t as usize;
                    mix_into(out, &self.rx_pcm[t * n..(t + 1) * n]);
                }
                if self.ports[i].echo {
                    mix_into(out, &self.rx_pcm[r.clone()]);
                }
            }
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

impl<B: Board> std::fmt::Debug for Engine<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("board", &self.info.name).field("now", &self.now).finish_non_exhaustive()
    }
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
mod tests {
    use super::*;
    use crate::dsp::tonegen::ToneFreq;
    use crate::hal::{BoardLayout, BoardStats, CommandKind, EventKind, SignalState, TickLength};

    /// A board in memory: the test sets what each channel receives and
    /// reads what the engine sent.
    struct MemBoard {
        info: BoardInfo,
        tick: u64,
        rx: Vec<u8>,
        tx: Vec<u8>,
        commands: Vec<BoardCommand>,
        pending_events: Vec<BoardEvent>,
        signals: SignalState,
    }

    impl MemBoard {
        fn new(fxo: u16, fxs: u16) -> Self {
            let info = BoardLayout::new("mem", TickLength::DEFAULT).analog_span(Law::ALaw, fxo, fxs).build().unwrap();
            let n = info.tick_bytes();
            let signals = SignalState::idle(&info);
            MemBoard {
                info,
                tick: 0,
                rx: vec![0xD5; n],
                tx: vec![0; n],
                commands: vec![],
                pending_events: vec![],
                signals,
            }
        }
        fn chan(&mut self, c: u16) -> &mut [u8] {
            let n = self.info.tick.samples();
            let i = ChannelId(c).index();
            &mut self.rx[i * n..(i + 1) * n]
        }
        fn sent(&self, c: u16) -> &[u8] {
            let n = self.info.tick.samples();
            let i = ChannelId(c).index();
            &self.tx[i * n..(i + 1) * n]
        }
    }

    impl Board for MemBoard {
        fn info(&self) -> &BoardInfo {
            &self.info
        }
        fn read_tick(&mut self, rx: &mut [u8], events: &mut Vec<BoardEvent>) -> Result<Tick, BoardError> {
            rx.copy_from_slice(&self.rx);
            events.append(&mut self.pending_events);
            let t = Tick { number: self.tick, start: BoardTime::from_samples(self.tick * 160) };
            self.tick += 1;
            Ok(t)
        }
        fn write_tick(&mut self, tx: &[u8], commands: &[BoardCommand]) -> Result<(), BoardError> {
            self.tx.copy_from_slice(tx);
            self.commands.extend_from_slice(commands);
            Ok(())
        }
        fn stats(&self) -> BoardStats {
            BoardStats::default()
        }
        fn signals(&self) -> &SignalState {
            &self.signals
        }
    }

    fn engine(fxo: u16, fxs: u16) -> (Engine<MemBoard>, EngineHandle) {
        Engine::new(MemBoard::new(fxo, fxs), EngineConfig { event_capacity: 64, ..EngineConfig::default() })
    }

    #[test]
    fn bridge_passes_codes_bit_exact_both_ways() {
        let (mut e, h) = engine(2, 2);
        h.send(EngineCommand::Bridge { a: ChannelId(1), b: ChannelId(3) }).unwrap();
        let pattern: Vec<u8> = (0..160).map(|i| (i * 37 % 256) as u8).collect();
        e.board_mut().chan(1).copy_from_slice(&pattern);
        e.board_mut().chan(3).fill(0x2A);
        e.step().unwrap();
        assert_eq!(e.board().sent(3), &pattern[..]);
        assert!(e.board().sent(1).iter().all(|&c| c == 0x2A));
        assert!(e.board().sent(2).iter().all(|&c| c == 0xD5), "idle channels send silence");
        h.send(EngineCommand::Isolate { channel: ChannelId(3) }).unwrap();
        e.step().unwrap();
        assert!(e.board().sent(3).iter().all(|&c| c == 0xD5));
    }

    #[test]
    fn conference_mixes_the_other_two() {
        let (mut e, h) = engine(3, 0);
        for (a, b) in [(1, 2), (1, 3), (2, 3)] {
            h.send(EngineCommand::Bridge { a: ChannelId(a), b: ChannelId(b) }).unwrap();
        }
        let code = |v: i16| g711::linear_to_alaw(v);
        e.board_mut().chan(1).fill(code(1000));
        e.board_mut().chan(2).fill(code(2000));
        e.board_mut().chan(3).fill(code(-4000));
        e.step().unwrap();
        let heard = |c: u16| g711::alaw_to_linear(e.board().sent(c)[0]) as i32;
        assert!((heard(1) - (2000 - 4000)).abs() <= 64, "{}", heard(1));
        assert!((heard(2) - (1000 - 4000)).abs() <= 64, "{}", heard(2));
        assert!((heard(3) - 3000).abs() <= 64, "{}", heard(3));
    }

    #[test]
    fn play_tone_and_media_done_events() {
        let (mut e, h) = engine(1, 1);
        let buf = PlayBuffer::new((0..400).map(|i| (i * 10) as i16).collect());
        h.send(EngineCommand::Play { channel: ChannelId(2), id: 9, buffer: buf.clone(), repeat: false }).unwrap();
        e.step().unwrap();
        let got: Vec<i16> = e.board().sent(2).iter().map(|&c| g711::alaw_to_linear(c)).collect();
        for (g, w) in got.iter().zip(buf.samples()) {
            assert!((g - w).abs() <= 16 + w.abs() / 16, "{g} vs {w}");
        }
        e.step().unwrap();
        assert!(h.events.try_recv().is_err(), "still playing after 320 of 400 samples");
        e.step().unwrap();
        match h.events.try_recv().unwrap() {
            EngineEvent::MediaDone { channel, id, kind, at, finished, buffer } => {
                assert_eq!((channel, id, kind, finished), (ChannelId(2), 9, MediaKind::Play, true));
                assert_eq!(at, BoardTime::from_samples(320));
                assert_eq!(buffer.unwrap(), buf, "the buffer comes back to be freed off the tick");
            }
            other => panic!("{other:?}"),
        }
        // A tone replaced by another reports the first as not finished.
        let spec = ToneSpec::continuous(&[ToneFreq { hz: 425.0, dbm0: -10.0 }]).unwrap();
        h.send(EngineCommand::Tone { channel: ChannelId(2), id: 1, spec }).unwrap();
        h.send(EngineCommand::Tone { channel: ChannelId(2), id: 2, spec }).unwrap();
        e.step().unwrap();
        assert!(matches!(
            h.events.try_recv().unwrap(),
            EngineEvent::MediaDone { id: 1, kind: MediaKind::Tone, finished: false, .. }
        ));
        let lvl = crate::dsp::level::block_dbm0(
            &e.board().sent(2).iter().map(|&c| g711::alaw_to_linear(c)).collect::<Vec<_>>(),
        );
        assert!((lvl + 10.0).abs() < 0.5, "{lvl}");
    }

    #[test]
    fn board_events_and_commands_pass_through_with_refusals() {
        let (mut e, h) = engine(1, 1);
        let ev = BoardEvent::channel(BoardTime::from_samples(5), ChannelId(1), EventKind::RingOn);
        e.board_mut().pending_events.push(ev);
        h.send(EngineCommand::Board(BoardCommand::new(ChannelId(1), CommandKind::OffHook))).unwrap();
        h.send(EngineCommand::Board(BoardCommand::new(ChannelId(1), CommandKind::RingStart))).unwrap();
        h.send(EngineCommand::Bridge { a: ChannelId(1), b: ChannelId(1) }).unwrap();
        h.send(EngineCommand::StopMedia { channel: ChannelId(7) }).unwrap();
        e.step().unwrap();
        assert_eq!(e.board().commands, [BoardCommand::new(ChannelId(1), CommandKind::OffHook)]);
        let evs: Vec<EngineEvent> = h.events.try_iter().collect();
        assert!(matches!(evs[0], EngineEvent::Refused { command: "ring_start", .. }));
        assert!(matches!(evs[1], EngineEvent::Refused { command: "bridge", why: Refusal::Switch(_), .. }));
        assert!(matches!(evs[2], EngineEvent::Refused { why: Refusal::NoSuchChannel(ChannelId(7)), .. }));
        assert!(matches!(evs[3], EngineEvent::Board(b) if b == ev));
        assert_eq!(h.stats.snapshot().commands_refused, 3);
    }

    #[test]
    fn full_event_channel_is_counted_not_waited_on() {
        let (mut e, _h) = engine(1, 0);
        for _ in 0..100 {
            let ev = BoardEvent::channel(BoardTime::ZERO, ChannelId(1), EventKind::RingOn);
            e.board_mut().pending_events.push(ev);
            e.step().unwrap();
        }
        let s = e.stats.snapshot();
        assert_eq!(s.events_dropped, 100 - 64);
        assert_eq!(s.ticks, 100);
        assert_eq!(s.board_time, BoardTime::from_samples(100 * 160));
    }

    #[test]
    fn records_what_the_channel_hears() {
        let (mut e, h) = engine(1, 0);
        h.send(EngineCommand::RecordStart { channel: ChannelId(1), id: 4, what: RecordWhat::Rx }).unwrap();
        e.board_mut().chan(1).fill(g711::linear_to_alaw(1200));
        for _ in 0..12 {
            e.step().unwrap();
        }
        h.send(EngineCommand::RecordStop { channel: ChannelId(1) }).unwrap();
        e.step().unwrap();
        let blocks: Vec<RecordBlock> = h.records.try_iter().collect();
        let total: usize = blocks.iter().map(|b| b.len).sum();
        assert_eq!(total, 12 * 160, "the stop takes effect before the 13th tick's audio");
        assert!(blocks.last().unwrap().last);
        assert!(blocks.iter().flat_map(|b| b.audio()).all(|&s| s == g711::alaw_to_linear(g711::linear_to_alaw(1200))));
        assert!(h.events.try_iter().any(|ev| matches!(ev, EngineEvent::RecordDone { id: 4, dropped_samples: 0, .. })));
    }

    #[test]
    fn echo_returns_the_channel_s_own_audio() {
        let (mut e, h) = engine(1, 0);
        h.send(EngineCommand::Echo { channel: ChannelId(1), on: true }).unwrap();
        let pattern: Vec<u8> = (0..160).map(|i| (i * 11 % 256) as u8).collect();
        e.board_mut().chan(1).copy_from_slice(&pattern);
        e.step().unwrap();
        assert_eq!(e.board().sent(1), &pattern[..], "A-law round trip through linear is exact");
        h.send(EngineCommand::Echo { channel: ChannelId(1), on: false }).unwrap();
        e.step().unwrap();
        assert!(e.board().sent(1).iter().all(|&c| c == 0xD5));
    }

    #[test]
    fn shutdown_ends_the_loop() {
        let (mut e, h) = engine(1, 0);
        h.stop();
        assert!(e.run().is_ok());
        assert_eq!(e.stats.snapshot().ticks, 1);
    }
}
