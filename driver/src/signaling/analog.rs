//! Analog loop-start signalling, both sides: the common shape the engine
//! drives.
//!
//! An [`AnalogLine`] is either an [`FxoLine`] (our FXO port on a line from
//! the central office: we detect ringing and go off-hook) or an
//! [`FxsLine`] (our FXS port feeding a phone: we ring it and watch its
//! hook). Both are pure state machines in the smoltcp manner: an explicit
//! state enum displayed with the names used in the traces, every
//! transition through one `set_state()` that traces `old => new`, and board
//! time passed in, never read.
//!
//! # What the engine does, per channel
//!
//! - Keeps one [`AnalogLine`] and one [`LineOutputs`] buffer (reused; it
//!   never allocates).
//! - Board events of the channel: `line.on_board(ev.at, &ev.kind, &mut out)`
//!   (`RingOn`/`RingOff`, `PolarityReversal`, `LoopCurrentDrop`/`Restore`
//!   on FXO; raw `OffHook`/`OnHook` and hardware `Flash` on FXS; others are
//!   ignored).
//! - Detector reports of the channel, mapped to [`DspInput`]:
//!   `line.on_dsp(at, &input, &mut out)`. The detectors to run are the
//!   line's [`Detectors`] ([`AnalogLine::detectors`] at start, then every
//!   [`MediaAction::Detectors`]).
//! - Daemon commands for the channel: `line.on_command(now, &cmd, &mut out)`.
//! - Once per tick (or when [`AnalogLine::next_deadline`] has passed):
//!   `line.poll(now, &mut out)`.
//! - After each call, carries out every [`LineOutput`] in order:
//!   [`LineOutput::Board`] goes to the board for this channel,
//!   [`LineOutput::Media`] to the channel's media port (tones, DTMF,
//!   caller ID, stop, detector set), [`LineOutput::Event`] to the daemon;
//!   then `out.clear()`.
//! - Reports the end of media the line started, with the action's
//!   [`MediaToken`]: `DspInput::MediaDone { token, finished }`.
//!
//! # Mapping the detectors and the media port
//!
//! | Report | Input |
//! |---|---|
//! | `DtmfEvent::Begin` / `DtmfEvent::Digit` | [`DspInput::DigitBegin`] / [`DspInput::Digit`] |
//! | `ToneEvent::Tone` / `ToneEvent::ToneEnd` | [`DspInput::Tone`] / [`DspInput::ToneEnded`] |
//! | `CidEvent::Message` with a caller ID, `DtmfCidEvent::CallerId` | [`DspInput::CallerId`] |
//! | `CidEvent::Error`, `DtmfCidEvent::Error` | [`DspInput::CallerIdFailed`] |
//! | `FaxToneEvent::Detected` / `Ended` | [`DspInput::Fax`] / [`DspInput::FaxEnded`] |
//! | `VadEvent::VoiceStart` / `VoiceStop` (others unused) | [`DspInput::VoiceStart`] / [`DspInput::VoiceStop`] |
//! | `EngineEvent::MediaDone { id, finished }` of a line action | [`DspInput::MediaDone`] with `MediaToken(id)` |
//!
//! | Action | What the media port does |
//! |---|---|
//! | [`MediaAction::PlayTone`] | the span country's `ToneProfile::spec(kind)`, id = token |
//! | [`MediaAction::PlayHowler`] | a loud off-hook warning tone of the engine's choosing (no profile has one yet) |
//! | [`MediaAction::PlayDtmf`] | `DtmfGenerator` with the given `DtmfTxConfig`, once |
//! | [`MediaAction::SendCallerId`] | `CallerIdGenerator` (`CidTxConfig::new(standard)`, with `AlertTone::default()` when `alert`) or `DtmfCidGenerator`, once |
//! | [`MediaAction::Stop`] | stop what the line started |
//! | [`MediaAction::Detectors`] | run exactly these detectors (reset the ones switched on) |
//!
//! Inputs must come in board-time order; an input stamped earlier than one
//! already seen is taken as happening at the later time. Every entry point
//! first runs the timers that fell due before `now`, so the engine may call
//! `poll` as rarely as once a tick without reordering anything.
//!
//! No call allocates, panics or blocks, whatever the input sequence.
//! Numbers travel as [`DigitString`] (inline, 32 keys) and caller ID as the
//! inline [`CallerId`] of `dsp::cid`.
//!
//! # Not here yet
//!
//! Ground start, pulse (rotary) dialling in either direction, US Type II
//! (call-waiting) caller ID and call waiting on FXS, Russian AON, the ETSI
//! line-reversal pre-alert before caller ID, distinctive ringing.

use std::fmt;
use std::str::FromStr;

use crate::dsp::cid::{CallerId, CidStandard};
use crate::dsp::cid_dtmf::DtmfCidFormat;
use crate::dsp::dtmf::{DtmfDigit, DtmfTxConfig};
use crate::dsp::faxtone::FaxTone;
use crate::dsp::tones::ToneKind;
use crate::hal::{BoardTime, ChannelId, ChannelKind, CommandKind, EventKind};

use super::digitmap::DigitMapError;
pub use super::fxo::{FxoConfig, FxoLine, FxoState};
pub use super::fxs::{FxsConfig, FxsLine, FxsState};

// ---------------------------------------------------------------------------
// Configuration errors
// ---------------------------------------------------------------------------

/// A configuration value that does not make sense. `field` is the path of
/// the field inside the config struct that was validated
/// (`hook.flash_max_ms`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{field} must be at least {min} ms, not {value} ms")]
    TooShort { field: &'static str, value: u32, min: u32 },
    #[error("{field} must be at most {max} ms, not {value} ms")]
    TooLong { field: &'static str, value: u32, max: u32 },
    #[error("{field} ({value} ms) must be {relation} {other} ({other_value} ms)")]
    Order { field: &'static str, value: u32, relation: &'static str, other: &'static str, other_value: u32 },
    #[error("{field}: {problem}")]
    Invalid { field: &'static str, problem: &'static str },
    #[error("digit_map: {0}")]
    DigitMap(#[from] DigitMapError),
}

/// `value` must lie in `min..=max` (ms).
pub(crate) fn check_range(field: &'static str, value: u32, min: u32, max: u32) -> Result<(), ConfigError> {
    if value < min {
        Err(ConfigError::TooShort { field, value, min })
    } else if value > max {
        Err(ConfigError::TooLong { field, value, max })
    } else {
        Ok(())
    }
}

/// `a` must be strictly less than `b`.
pub(crate) fn check_less(
    field: &'static str,
    value: u32,
    other: &'static str,
    other_value: u32,
) -> Result<(), ConfigError> {
    if value < other_value {
        Ok(())
    } else {
        Err(ConfigError::Order { field, value, relation: "shorter than", other, other_value })
    }
}

// ---------------------------------------------------------------------------
// Digit strings
// ---------------------------------------------------------------------------

/// Most keys in a [`DigitString`].
pub const MAX_DIGITS: usize = 32;

/// A number or key sequence held inline (no allocation): up to
/// [`MAX_DIGITS`] of `0`–`9`, `*`, `#`, `A`–`D` (stored upper case).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DigitString {
    len: u8,
    bytes: [u8; MAX_DIGITS],
}

/// A string that cannot be a [`DigitString`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DigitStringError {
    #[error("{0:?} is not a DTMF key (0-9 * # A-D)")]
    BadDigit(char),
    #[error("{0} keys do not fit: at most {MAX_DIGITS}")]
    TooLong(usize),
}

impl DigitString {
    pub const EMPTY: DigitString = DigitString { len: 0, bytes: [0; MAX_DIGITS] };

    /// Parse `"0123*#"`; `a`–`d` are taken as `A`–`D`.
    pub fn new(s: &str) -> Result<Self, DigitStringError> {
        let mut d = DigitString::EMPTY;
        let n = s.chars().count();
        if n > MAX_DIGITS {
            return Err(DigitStringError::TooLong(n));
        }
        for c in s.chars() {
            d.push(DtmfDigit::from_char(c).ok_or(DigitStringError::BadDigit(c))?)?;
        }
        Ok(d)
    }

    /// Append one key.
    pub fn push(&mut self, digit: DtmfDigit) -> Result<(), DigitStringError> {
        let n = self.len as usize;
        if n == MAX_DIGITS {
            return Err(DigitStringError::TooLong(n + 1));
        }
        self.bytes[n] = digit.as_char() as u8;
        self.len += 1;
        Ok(())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
    pub fn as_str(&self) -> &str {
        // Only ASCII keys are ever stored.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
    pub fn len(&self) -> usize {
        self.len as usize
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn clear(&mut self) {
        self.len = 0;
    }
    /// The keys in order.
    pub fn digits(&self) -> impl Iterator<Item = DtmfDigit> + '_ {
        self.as_bytes().iter().filter_map(|&b| DtmfDigit::from_char(b as char))
    }
}

impl FromStr for DigitString {
    type Err = DigitStringError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DigitString::new(s)
    }
}
impl fmt::Display for DigitString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
impl fmt::Debug for DigitString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

// ---------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------

/// Names one media action a line started, so that its end can be told
/// apart from the end of anything else the channel played. Tokens count up
/// per line from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MediaToken(pub u32);

/// What the channel's detectors and media port report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DspInput {
    /// A DTMF key began (`DtmfEvent::Begin`). Optional: FXS stops dial
    /// tone on it a little earlier than on [`DspInput::Digit`].
    DigitBegin(DtmfDigit),
    /// A DTMF key was received (`DtmfEvent::Digit`).
    Digit(DtmfDigit),
    /// A call-progress tone was confirmed (`ToneEvent::Tone`).
    Tone(ToneKind),
    /// The tone reported last ended (`ToneEvent::ToneEnd`).
    ToneEnded(ToneKind),
    /// A caller-ID message (FSK or DTMF) was received.
    CallerId(CallerId),
    /// A caller-ID message was received damaged (so none will follow).
    CallerIdFailed,
    /// A fax or modem tone was recognised (`FaxToneEvent::Detected`).
    Fax(FaxTone),
    /// It stopped (`FaxToneEvent::Ended`).
    FaxEnded(FaxTone),
    /// The voice activity detector heard speech start (`VadEvent::VoiceStart`).
    VoiceStart,
    /// Speech stopped (`VadEvent::VoiceStop`).
    VoiceStop,
    /// Media this line started ended: played to its end (`finished`) or
    /// stopped or replaced.
    MediaDone { token: MediaToken, finished: bool },
}

impl DspInput {
    pub fn name(&self) -> &'static str {
        match self {
            DspInput::DigitBegin(_) => "digit_begin",
            DspInput::Digit(_) => "digit",
            DspInput::Tone(_) => "tone",
            DspInput::ToneEnded(_) => "tone_ended",
            DspInput::CallerId(_) => "caller_id",
            DspInput::CallerIdFailed => "caller_id_failed",
            DspInput::Fax(_) => "fax",
            DspInput::FaxEnded(_) => "fax_ended",
            DspInput::VoiceStart => "voice_start",
            DspInput::VoiceStop => "voice_stop",
            DspInput::MediaDone { .. } => "media_done",
        }
    }
}

/// What the daemon asks of a line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LineCommand {
    /// FXO: answer the ringing line now.
    Answer,
    /// FXO: release the line (or decline the ringing call: stop answering
    /// it automatically and stop reporting its rings). FXS: stop ringing,
    /// or send the disconnect treatment to an off-hook phone.
    Hangup,
    /// FXO: seize the line and dial `number`.
    Dial { number: DigitString },
    /// FXO: send a hook flash on the connected line.
    Flash,
    /// FXS: ring the phone, with caller ID if given.
    Ring { caller_id: Option<CallerId> },
    /// FXS: stop ringing (the caller went away).
    StopRing,
    /// FXS: give the off-hook phone dial tone and collect a number again
    /// (after a flash, for a consultation call).
    DialTone,
}

impl LineCommand {
    pub fn name(&self) -> &'static str {
        match self {
            LineCommand::Answer => "answer",
            LineCommand::Hangup => "hangup",
            LineCommand::Dial { .. } => "dial",
            LineCommand::Flash => "flash",
            LineCommand::Ring { .. } => "ring",
            LineCommand::StopRing => "stop_ring",
            LineCommand::DialTone => "dial_tone",
        }
    }
}

// ---------------------------------------------------------------------------
// Outputs
// ---------------------------------------------------------------------------

/// Which detectors the engine should run on the channel's received audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Detectors {
    /// DTMF receiver ([`DspInput::Digit`]).
    pub dtmf: bool,
    /// Call-progress tone detector ([`DspInput::Tone`]).
    pub tones: bool,
    /// FSK caller-ID receiver ([`DspInput::CallerId`]).
    pub cid_fsk: bool,
    /// DTMF caller-ID receiver ([`DspInput::CallerId`]).
    pub cid_dtmf: bool,
    /// Fax/modem tone detector ([`DspInput::Fax`]).
    pub fax: bool,
    /// Voice activity detector ([`DspInput::VoiceStart`]).
    pub vad: bool,
}

impl Detectors {
    pub const NONE: Detectors =
        Detectors { dtmf: false, tones: false, cid_fsk: false, cid_dtmf: false, fax: false, vad: false };
}

/// How caller ID is to be sent to a phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CidSignal {
    /// FSK, after the ETSI dual-tone alert (DT-AS) when `alert`.
    Fsk { standard: CidStandard, alert: bool },
    /// DTMF digits in this layout.
    Dtmf { format: DtmfCidFormat },
}

/// What the line asks of the channel's media port.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MediaAction {
    /// Play the country's call-progress tone of this kind (repeating per
    /// its cadence) until stopped, replacing what plays.
    PlayTone { kind: ToneKind, token: MediaToken },
    /// Play the off-hook warning tone ("howler") until stopped.
    PlayHowler { token: MediaToken },
    /// Play these DTMF keys once with these tone settings.
    PlayDtmf { digits: DigitString, tx: DtmfTxConfig, token: MediaToken },
    /// Send this caller ID once (audio towards the phone, on-hook).
    SendCallerId { caller_id: CallerId, signal: CidSignal, token: MediaToken },
    /// Stop what the line started.
    Stop,
    /// Run exactly these detectors from now on.
    Detectors(Detectors),
}

/// How an outbound call was found answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerBy {
    /// The CO reversed the line polarity (answer supervision).
    Polarity,
    /// Voice after the ringback stopped, or voice with no ringback at all.
    Voice,
}

/// Call-progress analysis of an outbound call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressResult {
    /// Ringback heard (not final).
    Ringback,
    /// The far end answered; the line is connected.
    Answered {
        by: AnswerBy,
    },
    /// A fax machine or modem answered (CED/ANS, V.21); connected.
    Fax {
        tone: FaxTone,
    },
    Busy,
    Congestion,
    /// Ringback (or nothing) for longer than the no-answer timeout.
    NoAnswer,
    /// No dial tone after seizing the line.
    NoDialTone,
    /// A special information tone: the line stays seized for the daemon to
    /// decide (record the announcement, hang up).
    Sit,
}

impl ProgressResult {
    /// Whether the analysis is over.
    pub fn is_final(self) -> bool {
        !matches!(self, ProgressResult::Ringback)
    }
    pub fn name(self) -> &'static str {
        match self {
            ProgressResult::Ringback => "ringback",
            ProgressResult::Answered { by: AnswerBy::Polarity } => "answered_polarity",
            ProgressResult::Answered { by: AnswerBy::Voice } => "answered_voice",
            ProgressResult::Fax { .. } => "fax",
            ProgressResult::Busy => "busy",
            ProgressResult::Congestion => "congestion",
            ProgressResult::NoAnswer => "no_answer",
            ProgressResult::NoDialTone => "no_dial_tone",
            ProgressResult::Sit => "sit",
        }
    }
}

/// How the far end of an FXO line was found gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisconnectCause {
    /// Loop current dropped for at least the CPC time.
    LoopCurrent,
    /// The CO reversed the polarity.
    Polarity,
    /// A busy, congestion or dial tone came down the line.
    Tone(ToneKind),
    /// No voice for the silence timeout.
    Silence,
}

/// How an FXS number was found complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialEnd {
    /// A pattern matched and nothing longer could.
    Match,
    /// A pattern matched and the match timeout passed.
    Timeout,
    /// The end key (`#`) was pressed after a match.
    EndKey,
}

/// Why FXS dialling failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialFailure {
    /// No key before the first-digit timeout.
    NoDigits,
    /// The digits cannot match any pattern (or the end key came early).
    NoMatch,
    /// The inter-digit timeout passed with the number incomplete.
    Timeout,
    /// More keys than a [`DigitString`] holds.
    TooLong,
}

/// What a line tells the daemon.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LineEvent {
    /// FXO: a call is ringing in; sent once per call, as soon as its caller
    /// ID has arrived or is known not to come, and always before
    /// `Answered`/`RingingStopped`.
    Incoming { caller_id: Option<CallerId> },
    /// FXO: ring `count` of the call began.
    RingCount { count: u8 },
    /// FXO: the ringing stopped before anyone answered (the caller gave
    /// up); the line is idle.
    RingingStopped,
    /// FXO: we answered the ringing line. FXS: the rung phone went
    /// off-hook.
    Answered,
    /// FXO outbound: call-progress analysis.
    Progress { result: ProgressResult },
    /// FXO: the far end went away; the line has been released.
    Disconnected { cause: DisconnectCause },
    /// FXS: the extension dialled a complete number.
    Dialed { number: DigitString, end: DialEnd },
    /// FXS: dialling failed; reorder tone is playing.
    DialFailed { digits: DigitString, why: DialFailure },
    /// A DTMF key during a call.
    Digit { digit: DtmfDigit },
    /// A fax or modem tone during a call.
    FaxTone { tone: FaxTone },
    /// FXS: the idle phone went off-hook.
    OffHook,
    /// FXS: the phone hung up (on-hook past the flash window).
    OnHook,
    /// FXS: the phone flashed during a call.
    Flash,
    /// FXO: the flash the daemon asked for is done.
    FlashDone,
    /// The line is idle again (after the release guard on FXO).
    Idle,
    /// The command cannot be carried out in this state.
    Refused { command: &'static str, state: &'static str },
}

impl LineEvent {
    pub fn name(&self) -> &'static str {
        match self {
            LineEvent::Incoming { .. } => "incoming",
            LineEvent::RingCount { .. } => "ring_count",
            LineEvent::RingingStopped => "ringing_stopped",
            LineEvent::Answered => "answered",
            LineEvent::Progress { .. } => "progress",
            LineEvent::Disconnected { .. } => "disconnected",
            LineEvent::Dialed { .. } => "dialed",
            LineEvent::DialFailed { .. } => "dial_failed",
            LineEvent::Digit { .. } => "digit",
            LineEvent::FaxTone { .. } => "fax_tone",
            LineEvent::OffHook => "off_hook",
            LineEvent::OnHook => "on_hook",
            LineEvent::Flash => "flash",
            LineEvent::FlashDone => "flash_done",
            LineEvent::Idle => "idle",
            LineEvent::Refused { .. } => "refused",
        }
    }
}

/// One thing for the engine to do.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LineOutput {
    /// A command to the board for this channel.
    Board(CommandKind),
    /// An action of the channel's media port.
    Media(MediaAction),
    /// An event for the daemon.
    Event(LineEvent),
}

/// Most outputs one input or one timer firing makes.
pub const STEP_OUTPUTS: usize = 8;

/// Room in a [`LineOutputs`].
pub const MAX_OUTPUTS: usize = 64;

/// The outputs of line calls, in order, held inline (one buffer serves all
/// lines of an engine thread: clear it after each call).
///
/// One input or timer firing makes at most [`STEP_OUTPUTS`] outputs; a
/// call first runs the timers that fell due, so after a long gap without
/// `poll` it may make more. Timers stop running while fewer than
/// [`STEP_OUTPUTS`] slots are free (then `next_deadline()` is still due:
/// call `poll` again). Outputs beyond [`MAX_OUTPUTS`] are counted in
/// [`LineOutputs::overflow`] and lost, which would be a bug.
#[derive(Debug, Clone)]
pub struct LineOutputs {
    items: [Option<LineOutput>; MAX_OUTPUTS],
    len: usize,
    overflow: u32,
}

impl Default for LineOutputs {
    fn default() -> Self {
        LineOutputs { items: [None; MAX_OUTPUTS], len: 0, overflow: 0 }
    }
}

impl LineOutputs {
    pub fn new() -> Self {
        Self::default()
    }
    pub(crate) fn push(&mut self, o: LineOutput) {
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = Some(o);
            self.len += 1;
        } else {
            self.overflow = self.overflow.saturating_add(1);
        }
    }
    pub(crate) fn board(&mut self, c: CommandKind) {
        self.push(LineOutput::Board(c));
    }
    pub(crate) fn media(&mut self, m: MediaAction) {
        self.push(LineOutput::Media(m));
    }
    pub(crate) fn event(&mut self, e: LineEvent) {
        self.push(LineOutput::Event(e));
    }
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Free slots.
    pub fn room(&self) -> usize {
        MAX_OUTPUTS - self.len
    }
    /// Whether one more step's outputs surely fit.
    pub(crate) fn has_room_for_step(&self) -> bool {
        self.room() >= STEP_OUTPUTS
    }
    /// Outputs lost to a full buffer since the last `clear`.
    pub fn overflow(&self) -> u32 {
        self.overflow
    }
    pub fn iter(&self) -> impl Iterator<Item = &LineOutput> + '_ {
        self.items[..self.len].iter().flatten()
    }
    /// The events among the outputs.
    pub fn events(&self) -> impl Iterator<Item = &LineEvent> + '_ {
        self.iter().filter_map(|o| match o {
            LineOutput::Event(e) => Some(e),
            _ => None,
        })
    }
    /// The board commands among the outputs.
    pub fn board_commands(&self) -> impl Iterator<Item = CommandKind> + '_ {
        self.iter().filter_map(|o| match o {
            LineOutput::Board(c) => Some(*c),
            _ => None,
        })
    }
    /// The media actions among the outputs.
    pub fn media_actions(&self) -> impl Iterator<Item = &MediaAction> + '_ {
        self.iter().filter_map(|o| match o {
            LineOutput::Media(m) => Some(m),
            _ => None,
        })
    }
    pub fn clear(&mut self) {
        self.len = 0;
        self.overflow = 0;
    }
}

// ---------------------------------------------------------------------------
// Timers shared by both sides
// ---------------------------------------------------------------------------

/// Most timer firings one call handles; each firing clears or moves its
/// deadline, so this bound is never reached in practice.
pub(crate) const MAX_TIMER_STEPS: usize = 32;

/// The earlier of two optional deadlines.
pub(crate) fn earliest(a: Option<BoardTime>, b: Option<BoardTime>) -> Option<BoardTime> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

// ---------------------------------------------------------------------------
// The line
// ---------------------------------------------------------------------------

/// The state of either side, for display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineState {
    Fxo(FxoState),
    Fxs(FxsState),
}

impl LineState {
    pub fn name(self) -> &'static str {
        match self {
            LineState::Fxo(s) => s.name(),
            LineState::Fxs(s) => s.name(),
        }
    }
    /// Whether the line is idle (no call, nothing pending).
    pub fn is_idle(self) -> bool {
        matches!(self, LineState::Fxo(FxoState::Idle) | LineState::Fxs(FxsState::Idle))
    }
}

impl fmt::Display for LineState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An analog port's signalling: one per FXO or FXS channel.
#[derive(Debug, Clone)]
pub enum AnalogLine {
    Fxo(FxoLine),
    Fxs(FxsLine),
}

impl AnalogLine {
    /// An FXO line; the config is validated.
    pub fn fxo(channel: ChannelId, config: FxoConfig) -> Result<Self, ConfigError> {
        FxoLine::new(channel, config).map(AnalogLine::Fxo)
    }
    /// An FXS line; the config is validated.
    pub fn fxs(channel: ChannelId, config: FxsConfig) -> Result<Self, ConfigError> {
        FxsLine::new(channel, config).map(AnalogLine::Fxs)
    }

    /// A board event of this channel.
    pub fn on_board(&mut self, now: BoardTime, event: &EventKind, out: &mut LineOutputs) {
        match self {
            AnalogLine::Fxo(l) => l.on_board(now, event, out),
            AnalogLine::Fxs(l) => l.on_board(now, event, out),
        }
    }
    /// A detector or media report of this channel.
    pub fn on_dsp(&mut self, now: BoardTime, input: &DspInput, out: &mut LineOutputs) {
        match self {
            AnalogLine::Fxo(l) => l.on_dsp(now, input, out),
            AnalogLine::Fxs(l) => l.on_dsp(now, input, out),
        }
    }
    /// A daemon command for this channel.
    pub fn on_command(&mut self, now: BoardTime, command: &LineCommand, out: &mut LineOutputs) {
        match self {
            AnalogLine::Fxo(l) => l.on_command(now, command, out),
            AnalogLine::Fxs(l) => l.on_command(now, command, out),
        }
    }
    /// Run the timers due at `now`.
    pub fn poll(&mut self, now: BoardTime, out: &mut LineOutputs) {
        match self {
            AnalogLine::Fxo(l) => l.poll(now, out),
            AnalogLine::Fxs(l) => l.poll(now, out),
        }
    }
    /// When `poll` next has something to do.
    pub fn next_deadline(&self) -> Option<BoardTime> {
        match self {
            AnalogLine::Fxo(l) => l.next_deadline(),
            AnalogLine::Fxs(l) => l.next_deadline(),
        }
    }
    pub fn state(&self) -> LineState {
        match self {
            AnalogLine::Fxo(l) => LineState::Fxo(l.state()),
            AnalogLine::Fxs(l) => LineState::Fxs(l.state()),
        }
    }
    /// The detectors the line wants now.
    pub fn detectors(&self) -> Detectors {
        match self {
            AnalogLine::Fxo(l) => l.detectors(),
            AnalogLine::Fxs(l) => l.detectors(),
        }
    }
    pub fn kind(&self) -> ChannelKind {
        match self {
            AnalogLine::Fxo(_) => ChannelKind::Fxo,
            AnalogLine::Fxs(_) => ChannelKind::Fxs,
        }
    }
    pub fn channel(&self) -> ChannelId {
        match self {
            AnalogLine::Fxo(l) => l.channel(),
            AnalogLine::Fxs(l) => l.channel(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_strings() {
        let d = DigitString::new("0123456789*#abcd").unwrap();
        assert_eq!(d.as_str(), "0123456789*#ABCD");
        assert_eq!(d.len(), 16);
        assert_eq!(d.digits().count(), 16);
        assert_eq!(format!("{d:?}"), "\"0123456789*#ABCD\"");
        assert_eq!(DigitString::new("12,3"), Err(DigitStringError::BadDigit(',')));
        assert_eq!(DigitString::new(&"1".repeat(33)), Err(DigitStringError::TooLong(33)));
        let mut full = DigitString::new(&"1".repeat(32)).unwrap();
        assert_eq!(full.push(DtmfDigit::D2), Err(DigitStringError::TooLong(33)));
        full.clear();
        assert!(full.is_empty());
        assert_eq!("555".parse::<DigitString>().unwrap().to_string(), "555");
    }

    #[test]
    fn outputs_never_grow() {
        let mut o = LineOutputs::new();
        for _ in 0..MAX_OUTPUTS + 3 {
            o.event(LineEvent::Idle);
        }
        assert_eq!(o.len(), MAX_OUTPUTS);
        assert_eq!(o.overflow(), 3);
        o.clear();
        assert!(o.is_empty());
        assert_eq!(o.overflow(), 0);
        o.board(CommandKind::OffHook);
        o.media(MediaAction::Stop);
        o.event(LineEvent::Answered);
        assert_eq!(o.board_commands().collect::<Vec<_>>(), vec![CommandKind::OffHook]);
        assert_eq!(o.media_actions().count(), 1);
        assert_eq!(o.events().copied().collect::<Vec<_>>(), vec![LineEvent::Answered]);
    }

    #[test]
    fn sizes() {
        // Caller ID (inline numbers and name) dominates; the engine keeps
        // one buffer per thread.
        let item = std::mem::size_of::<LineOutput>();
        eprintln!("LineOutput {item} bytes, LineOutputs {} bytes", std::mem::size_of::<LineOutputs>());
        assert!(item <= 512, "{item}");
    }

    #[test]
    fn config_checks_name_the_field() {
        let e = check_range("hook.debounce_ms", 500, 0, 200).unwrap_err();
        assert_eq!(e.to_string(), "hook.debounce_ms must be at most 200 ms, not 500 ms");
        let e = check_less("hook.flash_min_ms", 90, "hook.flash_max_ms", 80).unwrap_err();
        assert_eq!(e.to_string(), "hook.flash_min_ms (90 ms) must be shorter than hook.flash_max_ms (80 ms)");
    }
}
