//! What crosses between the engine and the slow side: commands, events,
//! counters, and the handle that holds the channels.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crossbeam_channel::{Receiver, Sender, TrySendError};
use serde::Serialize;

use crate::dsp::tonegen::ToneSpec;
use crate::hal::{BoardCommand, BoardEvent, BoardInfo, BoardTime, ChannelId, CommandError};
use crate::media::detectors::{ChannelDetectors, DetectorEvent, Detectors};
use crate::media::player::PlayBuffer;
use crate::media::recorder::{BlockPool, RecordBlock, RecordWhat};
use crate::media::switch::SwitchError;
use crate::signaling::analog::{AnalogLine, LineCommand, LineEvent};

/// How a channel is set up: its line state machine (if the engine runs its
/// signalling) and its detectors. Built off the real-time path.
#[derive(Debug)]
pub struct ChannelSetup {
    pub line: Option<AnalogLine>,
    pub detectors: ChannelDetectors,
}

/// What the slow side asks the engine to do.
#[derive(Debug)]
pub enum EngineCommand {
    /// Pass a signalling command to the board.
    Board(BoardCommand),
    /// Replace a channel's line state machine and detectors. The old setup
    /// comes back in [`EngineEvent::Released`].
    Setup { channel: ChannelId, setup: Box<ChannelSetup> },
    /// Tell a channel's line state machine what to do.
    Line { channel: ChannelId, command: LineCommand },
    /// Run these detectors on a channel, besides those its line asks for.
    SetDetectors { channel: ChannelId, detectors: Detectors },
    /// Play a buffer on a channel, replacing whatever it was playing.
    Play { channel: ChannelId, id: u32, buffer: PlayBuffer, repeat: bool },
    /// Play a tone (dial tone, ringback, a beep…), replacing whatever the
    /// channel was playing.
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
            EngineCommand::Setup { .. } => "setup",
            EngineCommand::Line { command, .. } => command.name(),
            EngineCommand::SetDetectors { .. } => "set_detectors",
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
    #[error("channel {0} has no line state machine")]
    NoLine(ChannelId),
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
    pub(crate) fn new(e: SwitchError, listener: ChannelId, talker: ChannelId) -> Self {
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
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Play,
    Tone,
    Dtmf,
    CallerId,
}

/// Things the engine is done with, handed back to be freed off the
/// real-time path.
#[derive(Debug)]
pub enum Released {
    Setup(Box<ChannelSetup>),
}

/// What the engine tells the slow side.
#[derive(Debug)]
pub enum EngineEvent {
    /// A signalling event from the board.
    Board(BoardEvent),
    /// What a channel's line state machine reports.
    Line { channel: ChannelId, at: BoardTime, event: LineEvent },
    /// What a channel's detectors found.
    Detected { channel: ChannelId, event: DetectorEvent },
    /// A buffer or tone the slow side started ended: `finished` when it
    /// played to its end, false when it was stopped or replaced. A played
    /// buffer comes back in `buffer` so it is freed off the real-time path.
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
    /// Something to drop off the real-time path.
    Released(Released),
    /// The board failed; the engine has stopped.
    BoardFailed { at: BoardTime, error: String },
    /// A tick is done; board time is now `end`. Sent last for every tick,
    /// after the tick's other events: the slow side's clock.
    Tick { end: BoardTime },
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
    /// Line outputs lost because a line produced more than the buffer holds
    /// (should stay 0).
    pub line_overflow: AtomicU64,
    /// Nanoseconds spent working (not waiting for the board), in total.
    pub busy_ns: AtomicU64,
    /// Longest single tick of work, in nanoseconds.
    pub max_tick_ns: AtomicU64,
    /// Board time of the end of the last tick, in samples.
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
    pub line_overflow: u64,
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
            line_overflow: l(&self.line_overflow),
            busy_ns: l(&self.busy_ns),
            max_tick_ns: l(&self.max_tick_ns),
            board_time: BoardTime::from_samples(l(&self.board_time)),
        }
    }
}

/// Why a command could not be queued for the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("the engine's command queue is full")]
    Full,
    #[error("the engine has stopped")]
    Gone,
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
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) ack: Sender<()>,
    /// Whether the engine waits for [`EngineHandle::ack_tick`] after each
    /// tick.
    pub lockstep: bool,
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
    /// In lock-step mode, let the engine start its next tick. Call it after
    /// handling an [`EngineEvent::Tick`] (and whatever came before it).
    pub fn ack_tick(&self) {
        if self.lockstep {
            let _ = self.ack.try_send(());
        }
    }

    /// Ask the engine to stop after its current tick.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.commands.try_send(EngineCommand::Shutdown);
        // An engine in lock-step may be waiting for us.
        let _ = self.ack.try_send(());
    }
}
