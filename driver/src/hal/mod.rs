//! The board model, after DAHDI: a board has spans, a span has channels, and
//! audio and signalling cross between board and driver one tick at a time.
//!
//! - [`time`]: board time (8 kHz samples) and tick length.
//! - [`types`]: spans, channels, their kinds and numbering, G.711 law.
//! - [`signal`]: events from the board and commands to it.
//! - [`board`]: the [`Board`] trait and the signalling state a board keeps.

pub mod board;
pub mod signal;
pub mod time;
pub mod types;

pub use board::{Board, BoardError, BoardStats, ChannelSignal, CommandError, SignalState, Tick, check_command};
pub use signal::{
    Alarms, BoardCommand, BoardEvent, CasBits, CommandKind, EventKind, FrameTooLong, HDLC_MAX_FRAME, HdlcFrame,
    Polarity, Target,
};
pub use time::{BadTickLength, BoardTime, Duration, SAMPLE_RATE_HZ, SAMPLES_PER_MS, TickLength};
pub use types::{
    BoardInfo, BoardLayout, ChannelId, ChannelInfo, ChannelKind, E1Signalling, Law, LayoutError, SpanId, SpanInfo,
    SpanKind,
};
