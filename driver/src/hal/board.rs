//! The [`Board`] trait every backend implements, and the per-channel
//! signalling state a board keeps so a technician can see it.
//!
//! A board moves audio one tick at a time, like a DAHDI span's
//! `readchunk`/`writechunk`: [`Board::read_tick`] waits for the next tick
//! (a hardware or real-time board paces it; a lock-step simulator hands it
//! over at once) and fills the caller's buffers; [`Board::write_tick`] sends
//! the driver's audio and commands for that tick. Buffers belong to the
//! caller, so the steady state allocates nothing.
//!
//! Audio is channel-major: channel `c` owns bytes
//! `[c.index() * n .. (c.index() + 1) * n]` where `n` is the tick length in
//! samples, G.711 in the channel's span law.

use serde::{Deserialize, Serialize};

use super::signal::{Alarms, BoardCommand, BoardEvent, CasBits, CommandKind, EventKind, Polarity, Target};
use super::time::BoardTime;
use super::types::{BoardInfo, ChannelId, ChannelKind, SpanId};

/// The tick just read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tick {
    /// Tick number since the board started, from 0.
    pub number: u64,
    /// Board time of the tick's first sample.
    pub start: BoardTime,
}

/// Counters a board keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BoardStats {
    /// Ticks exchanged.
    pub ticks: u64,
    /// Ticks the board had to play out without the driver's audio because
    /// the driver answered late (as counted by the board).
    pub slips: u64,
    /// Events the board could not deliver (its queue overflowed).
    pub events_dropped: u64,
}

/// What a board or its transport did wrong.
#[derive(Debug, thiserror::Error)]
pub enum BoardError {
    /// `error` is part of the message, so it is not also a `source`.
    #[error("{what}: {error}")]
    Io { what: String, error: std::io::Error },
    #[error("board protocol error: {0}")]
    Protocol(String),
    #[error("the board went away: {0}")]
    Disconnected(String),
    #[error("{which} buffer is {got} bytes, the board needs {expected}")]
    BufferSize { which: &'static str, expected: usize, got: usize },
    #[error(transparent)]
    Command(#[from] CommandError),
}

/// A command that a channel cannot carry out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("channel {0} does not exist on this board")]
    NoSuchChannel(ChannelId),
    #[error("channel {channel} is {kind}: it cannot {command}")]
    WrongKind { channel: ChannelId, kind: ChannelKind, command: &'static str },
}

/// Check that `cmd` makes sense for its channel's kind.
pub fn check_command(info: &BoardInfo, cmd: &BoardCommand) -> Result<(), CommandError> {
    let ch = info.channel(cmd.channel).ok_or(CommandError::NoSuchChannel(cmd.channel))?;
    let ok = match cmd.kind {
        CommandKind::OffHook | CommandKind::OnHook => ch.kind == ChannelKind::Fxo,
        CommandKind::RingStart
        | CommandKind::RingStop
        | CommandKind::SetPolarity { .. }
        | CommandKind::SetLoopCurrent { .. } => ch.kind == ChannelKind::Fxs,
        CommandKind::SetCasBits { .. } => ch.kind == ChannelKind::E1Bearer,
        CommandKind::SendHdlc { .. } => ch.kind == ChannelKind::DChannel,
    };
    if ok {
        Ok(())
    } else {
        Err(CommandError::WrongKind { channel: cmd.channel, kind: ch.kind, command: cmd.kind.name() })
    }
}

/// Signalling state of one channel, as last reported or commanded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChannelSignal {
    /// FXO: our port is off-hook. FXS: the phone is off-hook.
    pub off_hook: bool,
    /// FXO: ringing voltage is on the line. FXS: we are ringing the phone.
    pub ringing: bool,
    /// FXO: the CO feeds loop current. FXS: we feed loop current.
    pub loop_current: bool,
    /// Line polarity (fed on FXS, seen on FXO).
    pub polarity: Polarity,
    /// E1: ABCD bits received.
    pub rx_cas: CasBits,
    /// E1: ABCD bits sent.
    pub tx_cas: CasBits,
}

impl ChannelSignal {
    /// The state of an idle channel of this kind.
    pub fn idle(kind: ChannelKind) -> Self {
        ChannelSignal { loop_current: matches!(kind, ChannelKind::Fxo | ChannelKind::Fxs), ..ChannelSignal::default() }
    }
}

/// Signalling state of a whole board, kept up to date from its events and
/// commands. Backends hold one so `ctibox board status` can show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignalState {
    pub channels: Vec<ChannelSignal>,
    pub span_alarms: Vec<Alarms>,
}

impl SignalState {
    /// All channels idle, no alarms.
    pub fn idle(info: &BoardInfo) -> Self {
        SignalState {
            channels: info.channels.iter().map(|c| ChannelSignal::idle(c.kind)).collect(),
            span_alarms: vec![Alarms::NONE; info.spans.len()],
        }
    }

    pub fn channel(&self, id: ChannelId) -> Option<&ChannelSignal> {
        self.channels.get(id.index())
    }
    pub fn alarms(&self, id: SpanId) -> Option<Alarms> {
        self.span_alarms.get(id.index()).copied()
    }

    /// Apply an event the board reported. Unknown channels are ignored.
    pub fn apply_event(&mut self, ev: &BoardEvent) {
        match ev.target {
            Target::Span(s) => {
                if let (Some(a), EventKind::Alarm { alarms }) = (self.span_alarms.get_mut(s.index()), ev.kind) {
                    *a = alarms;
                }
            }
            Target::Channel(c) => {
                let Some(st) = self.channels.get_mut(c.index()) else { return };
                match ev.kind {
                    EventKind::RingOn => st.ringing = true,
                    EventKind::RingOff => st.ringing = false,
                    EventKind::PolarityReversal => {
                        st.polarity = match st.polarity {
                            Polarity::Normal => Polarity::Reversed,
                            Polarity::Reversed => Polarity::Normal,
                        }
                    }
                    EventKind::LoopCurrentDrop => st.loop_current = false,
                    EventKind::LoopCurrentRestore => st.loop_current = true,
                    EventKind::OffHook => st.off_hook = true,
                    EventKind::OnHook => st.off_hook = false,
                    EventKind::CasBits { bits } => st.rx_cas = bits,
                    EventKind::Flash
                    | EventKind::Alarm { .. }
                    | EventKind::HdlcFrame { .. }
                    | EventKind::HdlcBadFrame => {}
                }
            }
        }
    }

    /// Apply a command the driver gave.
    pub fn apply_command(&mut self, cmd: &BoardCommand) {
        let Some(st) = self.channels.get_mut(cmd.channel.index()) else { return };
        match cmd.kind {
            CommandKind::OffHook => st.off_hook = true,
            CommandKind::OnHook => st.off_hook = false,
            CommandKind::RingStart => st.ringing = true,
            CommandKind::RingStop => st.ringing = false,
            CommandKind::SetPolarity { polarity } => st.polarity = polarity,
            CommandKind::SetLoopCurrent { on } => st.loop_current = on,
            CommandKind::SetCasBits { bits } => st.tx_cas = bits,
            CommandKind::SendHdlc { .. } => {}
        }
    }
}

/// A voice board: the simulator, a DAHDI card, a voice modem.
///
/// Methods are called from the engine thread only. `read_tick` is the one
/// call allowed to wait (for the board's clock); neither method may allocate
/// once the caller's buffers have their capacity.
pub trait Board: Send {
    /// The board's layout and tick length.
    fn info(&self) -> &BoardInfo;

    /// Wait for the next tick. Fills `rx` (exactly `info().tick_bytes()`
    /// bytes) with the audio received during the tick and appends the tick's
    /// events, in time order, to `events`.
    fn read_tick(&mut self, rx: &mut [u8], events: &mut Vec<BoardEvent>) -> Result<Tick, BoardError>;

    /// Send the driver's audio for the tick just read (`tx`, exactly
    /// `info().tick_bytes()` bytes) and the commands to carry out.
    fn write_tick(&mut self, tx: &[u8], commands: &[BoardCommand]) -> Result<(), BoardError>;

    /// Counters: ticks, slips, dropped events.
    fn stats(&self) -> BoardStats;

    /// Current signalling state of every channel and span.
    fn signals(&self) -> &SignalState;

    /// Whether ticks come on a clock (hardware, a real-time simulator) —
    /// the driver must keep up and never wait — or as fast as the driver
    /// asks (a fast simulator), when the driver may take its time.
    fn paced_by_clock(&self) -> bool {
        true
    }
}

impl std::fmt::Debug for dyn Board {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Board({})", self.info().name)
    }
}

impl<B: Board + ?Sized> Board for Box<B> {
    fn info(&self) -> &BoardInfo {
        (**self).info()
    }
    fn read_tick(&mut self, rx: &mut [u8], events: &mut Vec<BoardEvent>) -> Result<Tick, BoardError> {
        (**self).read_tick(rx, events)
    }
    fn write_tick(&mut self, tx: &[u8], commands: &[BoardCommand]) -> Result<(), BoardError> {
        (**self).write_tick(tx, commands)
    }
    fn stats(&self) -> BoardStats {
        (**self).stats()
    }
    fn signals(&self) -> &SignalState {
        (**self).signals()
    }
    fn paced_by_clock(&self) -> bool {
        (**self).paced_by_clock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hal::{BoardLayout, E1Signalling, HdlcFrame, Law, TickLength};

    fn board() -> BoardInfo {
        BoardLayout::new("t", TickLength::DEFAULT)
            .analog_span(Law::ALaw, 1, 1)
            .e1_span(Law::ALaw, E1Signalling::Ccs, false)
            .build()
            .unwrap()
    }

    #[test]
    fn commands_are_checked_against_channel_kind() {
        let info = board();
        let ok = |c: u16, k| check_command(&info, &BoardCommand::new(ChannelId(c), k));
        assert!(ok(1, CommandKind::OffHook).is_ok());
        assert!(ok(2, CommandKind::RingStart).is_ok());
        assert_eq!(
            ok(1, CommandKind::RingStart),
            Err(CommandError::WrongKind { channel: ChannelId(1), kind: ChannelKind::Fxo, command: "ring_start" })
        );
        assert!(ok(3, CommandKind::SetCasBits { bits: CasBits::new(9) }).is_ok());
        let frame = HdlcFrame::new(&[1, 2]).unwrap();
        assert!(ok(2 + 16, CommandKind::SendHdlc { frame }).is_ok());
        assert!(ok(3, CommandKind::SendHdlc { frame }).is_err());
        assert_eq!(ok(99, CommandKind::OnHook), Err(CommandError::NoSuchChannel(ChannelId(99))));
    }

    #[test]
    fn signal_state_follows_events_and_commands() {
        let info = board();
        let mut st = SignalState::idle(&info);
        assert!(st.channel(ChannelId(1)).unwrap().loop_current);
        let t = BoardTime::ZERO;
        st.apply_event(&BoardEvent::channel(t, ChannelId(1), EventKind::RingOn));
        st.apply_event(&BoardEvent::channel(t, ChannelId(1), EventKind::PolarityReversal));
        st.apply_command(&BoardCommand::new(ChannelId(1), CommandKind::OffHook));
        st.apply_event(&BoardEvent::span(t, SpanId(2), EventKind::Alarm { alarms: Alarms::LOS }));
        let c1 = st.channel(ChannelId(1)).unwrap();
        assert!(c1.ringing && c1.off_hook);
        assert_eq!(c1.polarity, Polarity::Reversed);
        assert_eq!(st.alarms(SpanId(2)), Some(Alarms::LOS));
        // Events for channels that do not exist are ignored, not a panic.
        st.apply_event(&BoardEvent::channel(t, ChannelId(0), EventKind::RingOn));
        st.apply_event(&BoardEvent::channel(t, ChannelId(500), EventKind::RingOn));
    }
}
