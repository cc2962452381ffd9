//! FXO loop-start signalling: our port on a line from the central office.
//!
//! Read with: TELEPHONY_FACTS §8 (DAHDI defaults: tx flash 750 ms, battery
//! debounce, `polarityonanswerdelay` 600 ms), §4 (caller-ID timing: FSK
//! between ring 1 and 2 per GR-30 / YDN 069, DTMF before the first ring,
//! ETSI before-ring with DT-AS), §3 (call-progress tones).
//!
//! # Inbound
//!
//! `idle` → rings (counted by [`RingDetector`]) → `ringing`. Caller ID is
//! captured by the engine's receiver, which the line keeps enabled while
//! on-hook, and arrives as [`DspInput::CallerId`]: before the first ring
//! (DTMF, ETSI DT-AS) it is held for [`FxoConfig::cid_hold_ms`]; with
//! [`CidReceive::FskAfterFirstRing`] it is awaited until ring 2 begins.
//! [`LineEvent::Incoming`] goes out once the caller ID is in or known not
//! to come. The line answers (board `OffHook`, [`LineEvent::Answered`])
//! after [`FxoConfig::answer_rings`] rings, or as soon as caller ID
//! arrives if [`FxoConfig::answer_on_caller_id`], or on the daemon's
//! `Answer` — never before the caller-ID window has closed unless the
//! daemon says so. Ringing that stops first: [`LineEvent::RingingStopped`].
//!
//! # Outbound
//!
//! `Dial{number}` → `seized` (board `OffHook`) → dial tone
//! ([`DialToneWait::Detect`]) or a blind delay → `dialing` (a
//! [`MediaAction::PlayDtmf`], ended by its `MediaDone`) → `proceeding`:
//! call-progress analysis reported as [`LineEvent::Progress`]: ringback,
//! then one final result — answered by polarity reversal or by voice (VAD
//! voice start once ringback has stopped, or voice when no ringback was
//! heard), fax/modem answer tone, busy, congestion, SIT, no answer
//! (ringback, or nothing, for [`ProgressConfig::no_answer_ms`]), no dial
//! tone. Busy, congestion, no answer and no dial tone release the line
//! when [`ProgressConfig::release_on_failure`]; SIT always leaves it seized
//! (`held`) for the daemon to decide.
//!
//! # Connected, release
//!
//! The far end's disconnect is found by any of (each configurable in
//! [`DisconnectConfig`]): a loop-current drop of the CPC time, a polarity
//! reversal (not within [`DisconnectConfig::polarity_gap_ms`] of the
//! answer, and not the late answer supervision of a call found answered by
//! voice), busy/congestion/dial tone, or no voice for
//! [`DisconnectConfig::silence_ms`]. The line then goes on-hook by itself
//! and reports [`LineEvent::Disconnected`]. The daemon's `Hangup` releases
//! it; `Flash` opens the loop for [`FxoConfig::flash_ms`]. After every
//! release the line stays in `guard` for [`FxoConfig::release_guard_ms`]
//! (a new `Dial` is refused; a new ringing call is taken), then reports
//! [`LineEvent::Idle`].

use std::fmt;

use crate::dsp::cid::CallerId;
use crate::dsp::dtmf::DtmfTxConfig;
use crate::dsp::tones::{Country, ToneKind};
use crate::hal::{BoardTime, ChannelId, CommandKind, Duration, EventKind};

use super::analog::{
    AnswerBy, ConfigError, Detectors, DigitString, DisconnectCause, DspInput, LineCommand, LineEvent, LineOutputs,
    MAX_TIMER_STEPS, MediaAction, MediaToken, ProgressResult, check_range, earliest,
};
use super::cadence::{RingConfig, RingDetector, RingEvent};
use super::hook::{LoopCurrentConfig, LoopCurrentMonitor};

/// Where and how the CO sends caller ID to us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CidReceive {
    /// No caller ID.
    None,
    /// FSK in the silence after the first ring (US/CN, GR-30 Type I).
    FskAfterFirstRing,
    /// FSK before the first ring (ETSI DT-AS or RP-AS, UK SIN227).
    FskBeforeRing,
    /// DTMF before the first ring (CN/DK/NL/… DTMF CLIP).
    DtmfBeforeRing,
}

/// How to start dialling after seizing the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialToneWait {
    /// Wait for dial tone, up to `timeout_ms`; none is
    /// [`ProgressResult::NoDialTone`].
    Detect { timeout_ms: u32 },
    /// Dial blind after `delay_ms`.
    Blind { delay_ms: u32 },
}

/// How the far end's disconnect is recognised on a connected line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DisconnectConfig {
    /// A qualified loop-current drop (CPC).
    pub loop_current: bool,
    /// A polarity reversal (Asterisk `hanguponpolarityswitch`).
    pub polarity: bool,
    /// Reversals this soon after the answer are ignored (Asterisk
    /// `polarityonanswerdelay`).
    pub polarity_gap_ms: u32,
    /// Busy tone.
    pub busy_tone: bool,
    /// Congestion tone.
    pub congestion_tone: bool,
    /// Dial tone (some COs return it once the far end has gone).
    pub dial_tone: bool,
    /// No voice for this long.
    pub silence_ms: Option<u32>,
}

impl Default for DisconnectConfig {
    fn default() -> Self {
        DisconnectConfig {
            loop_current: true,
            polarity: false,
            polarity_gap_ms: 600,
            busy_tone: true,
            congestion_tone: true,
            dial_tone: false,
            silence_ms: None,
        }
    }
}

/// Outbound call-progress analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgressConfig {
    /// A polarity reversal answers the call.
    pub answer_on_polarity: bool,
    /// Voice answers the call (after ringback, or with none heard).
    pub answer_on_voice: bool,
    /// Ringback (timed from the first ringback) or nothing (timed from the
    /// end of dialling) for this long: no answer.
    pub no_answer_ms: u32,
    /// Release the line by itself on busy, congestion, no answer, no dial
    /// tone; otherwise hold it for the daemon's `Hangup`.
    pub release_on_failure: bool,
}

impl Default for ProgressConfig {
    fn default() -> Self {
        ProgressConfig {
            answer_on_polarity: true,
            answer_on_voice: true,
            no_answer_ms: 60_000,
            release_on_failure: true,
        }
    }
}

/// Everything an FXO line is configured with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FxoConfig {
    pub ring: RingConfig,
    pub loop_current: LoopCurrentConfig,
    pub caller_id: CidReceive,
    /// Caller ID received before ringing is kept this long for the first
    /// ring.
    pub cid_hold_ms: u32,
    /// Answer after this many rings (0: only on the daemon's `Answer` or
    /// on caller ID).
    pub answer_rings: u8,
    /// Answer as soon as caller ID arrives.
    pub answer_on_caller_id: bool,
    pub disconnect: DisconnectConfig,
    pub dial_tone: DialToneWait,
    /// How digits are dialled (level, on and off times).
    pub dtmf: DtmfTxConfig,
    pub progress: ProgressConfig,
    /// Length of the hook flash we send (DAHDI tx flash: 750 ms).
    pub flash_ms: u32,
    /// On-hook time after a release before the line is idle again.
    pub release_guard_ms: u32,
    /// Run the fax tone detector on connected calls and report
    /// [`LineEvent::FaxTone`].
    pub detect_fax: bool,
}

impl Default for FxoConfig {
    /// US (DAHDI) defaults.
    fn default() -> Self {
        FxoConfig::for_country(Country::Us)
    }
}

impl FxoConfig {
    /// Defaults with the country's caller-ID method: FSK after the first
    /// ring in the US and China (and ETSI-style Europe), FSK before ringing
    /// in the UK, none in Russia (AON is not implemented).
    pub fn for_country(country: Country) -> Self {
        let caller_id = match country {
            Country::Us | Country::Cn | Country::Eu => CidReceive::FskAfterFirstRing,
            Country::Uk => CidReceive::FskBeforeRing,
            Country::Ru => CidReceive::None,
        };
        FxoConfig {
            ring: RingConfig::default(),
            loop_current: LoopCurrentConfig::default(),
            caller_id,
            cid_hold_ms: 5000,
            answer_rings: 2,
            answer_on_caller_id: true,
            disconnect: DisconnectConfig::default(),
            dial_tone: DialToneWait::Detect { timeout_ms: 5000 },
            dtmf: DtmfTxConfig::new(-8.0, 2.0, 100, 100),
            progress: ProgressConfig::default(),
            flash_ms: 750,
            release_guard_ms: 1500,
            detect_fax: true,
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.ring.validate()?;
        self.loop_current.validate()?;
        check_range("cid_hold_ms", self.cid_hold_ms, 0, 30_000)?;
        if self.answer_rings > 50 {
            return Err(ConfigError::Invalid { field: "answer_rings", problem: "must be at most 50" });
        }
        check_range("disconnect.polarity_gap_ms", self.disconnect.polarity_gap_ms, 0, 10_000)?;
        if let Some(s) = self.disconnect.silence_ms {
            check_range("disconnect.silence_ms", s, 1000, 3_600_000)?;
        }
        match self.dial_tone {
            DialToneWait::Detect { timeout_ms } => check_range("dial_tone.timeout_ms", timeout_ms, 500, 60_000)?,
            DialToneWait::Blind { delay_ms } => check_range("dial_tone.delay_ms", delay_ms, 0, 30_000)?,
        }
        check_range("dtmf.on_ms", self.dtmf.on_ms, 20, 1000)?;
        check_range("dtmf.off_ms", self.dtmf.off_ms, 20, 1000)?;
        for (field, level) in [("dtmf.low_dbm0", self.dtmf.low_dbm0), ("dtmf.high_dbm0", self.dtmf.high_dbm0)] {
            if !(-50.0..=3.0).contains(&level) {
                return Err(ConfigError::Invalid { field, problem: "must be a level from -50 to +3 dBm0" });
            }
        }
        check_range("progress.no_answer_ms", self.progress.no_answer_ms, 1000, 3_600_000)?;
        check_range("flash_ms", self.flash_ms, 50, 2000)?;
        check_range("release_guard_ms", self.release_guard_ms, 0, 60_000)?;
        Ok(())
    }
}

/// Where an FXO line stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FxoState {
    /// On-hook, no call.
    Idle,
    /// On-hook, a call ringing in.
    Ringing,
    /// Off-hook for an outbound call, waiting for dial tone (or the blind
    /// delay).
    Seized,
    /// Off-hook, our DTMF digits playing.
    Dialing,
    /// Off-hook, call-progress analysis.
    Proceeding,
    /// Off-hook, in a call.
    Connected,
    /// On-hook briefly: a hook flash we send.
    Flashing,
    /// Off-hook after a final non-answer result, waiting for the daemon.
    Held,
    /// On-hook after a release, waiting before the line counts as idle.
    Guard,
}

impl FxoState {
    pub fn name(self) -> &'static str {
        match self {
            FxoState::Idle => "idle",
            FxoState::Ringing => "ringing",
            FxoState::Seized => "seized",
            FxoState::Dialing => "dialing",
            FxoState::Proceeding => "proceeding",
            FxoState::Connected => "connected",
            FxoState::Flashing => "flashing",
            FxoState::Held => "held",
            FxoState::Guard => "guard",
        }
    }
    /// Whether our port has the loop closed in this state.
    pub fn is_off_hook(self) -> bool {
        matches!(
            self,
            FxoState::Seized | FxoState::Dialing | FxoState::Proceeding | FxoState::Connected | FxoState::Held
        )
    }
}

impl fmt::Display for FxoState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which way the current call goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Inbound,
    Outbound,
}

/// Extra time given to the engine's DTMF playback past its own length.
const DIAL_MARGIN_MS: u64 = 2000;

/// One FXO port's signalling; see the module doc.
#[derive(Debug, Clone)]
pub struct FxoLine {
    channel: ChannelId,
    cfg: FxoConfig,
    state: FxoState,
    /// Latest time seen.
    now: BoardTime,
    /// The hook state we last commanded.
    off_hook: bool,
    detectors: Detectors,
    ring: RingDetector,
    loop_current: LoopCurrentMonitor,
    /// The state's timer: dial-tone wait, dialling safety, no answer, flash
    /// end, guard end.
    timer: Option<BoardTime>,
    /// Caller ID held while idle (before-ring methods) and when it expires.
    held_cid: Option<(BoardTime, CallerId)>,
    // Inbound call.
    rings: u8,
    caller_id: Option<CallerId>,
    cid_done: bool,
    incoming_sent: bool,
    declined: bool,
    // Outbound call.
    number: DigitString,
    next_token: u32,
    media: Option<MediaToken>,
    ringback_on: bool,
    ringback_seen: bool,
    voice_on: bool,
    // Connected call.
    direction: Direction,
    connected_at: BoardTime,
    polarity_seen: bool,
    silence_at: Option<BoardTime>,
}

impl FxoLine {
    /// A line, idle and on-hook, for `channel` (which only names it in
    /// traces).
    pub fn new(channel: ChannelId, config: FxoConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let mut l = FxoLine {
            channel,
            cfg: config,
            state: FxoState::Idle,
            now: BoardTime::ZERO,
            off_hook: false,
            detectors: Detectors::NONE,
            ring: RingDetector::new(config.ring),
            loop_current: LoopCurrentMonitor::new(config.loop_current),
            timer: None,
            held_cid: None,
            rings: 0,
            caller_id: None,
            cid_done: false,
            incoming_sent: false,
            declined: false,
            number: DigitString::EMPTY,
            next_token: 1,
            media: None,
            ringback_on: false,
            ringback_seen: false,
            voice_on: false,
            direction: Direction::Inbound,
            connected_at: BoardTime::ZERO,
            polarity_seen: false,
            silence_at: None,
        };
        l.detectors = l.detectors_for(FxoState::Idle);
        Ok(l)
    }

    pub fn channel(&self) -> ChannelId {
        self.channel
    }
    pub fn state(&self) -> FxoState {
        self.state
    }
    pub fn config(&self) -> &FxoConfig {
        &self.cfg
    }
    pub fn detectors(&self) -> Detectors {
        self.detectors
    }
    /// Whether we hold the loop closed.
    pub fn is_off_hook(&self) -> bool {
        self.off_hook
    }
    /// Rings counted on the current inbound call.
    pub fn rings(&self) -> u8 {
        self.rings
    }
    /// Loop-current drops that were not disconnects.
    pub fn loop_current_stats(&self) -> super::hook::LoopCurrentStats {
        self.loop_current.stats()
    }

    fn set_state(&mut self, state: FxoState, out: &mut LineOutputs) {
        if self.state != state {
            tracing::trace!(channel = self.channel.0, "fxo {} => {}", self.state, state);
            self.state = state;
        }
        let d = self.detectors_for(state);
        if d != self.detectors {
            self.detectors = d;
            out.media(MediaAction::Detectors(d));
        }
    }

    fn detectors_for(&self, state: FxoState) -> Detectors {
        let cid = Detectors {
            cid_fsk: matches!(self.cfg.caller_id, CidReceive::FskAfterFirstRing | CidReceive::FskBeforeRing),
            cid_dtmf: self.cfg.caller_id == CidReceive::DtmfBeforeRing,
            ..Detectors::NONE
        };
        match state {
            FxoState::Idle | FxoState::Ringing | FxoState::Guard => cid,
            FxoState::Seized | FxoState::Dialing => Detectors { tones: true, ..Detectors::NONE },
            FxoState::Proceeding => {
                Detectors { tones: true, fax: true, vad: self.cfg.progress.answer_on_voice, ..Detectors::NONE }
            }
            FxoState::Connected | FxoState::Flashing => {
                let d = &self.cfg.disconnect;
                Detectors {
                    dtmf: true,
                    tones: d.busy_tone || d.congestion_tone || d.dial_tone,
                    fax: self.cfg.detect_fax,
                    vad: d.silence_ms.is_some(),
                    ..Detectors::NONE
                }
            }
            FxoState::Held => Detectors::NONE,
        }
    }

    fn token(&mut self) -> MediaToken {
        let t = MediaToken(self.next_token);
        self.next_token = self.next_token.wrapping_add(1).max(1);
        t
    }

    fn hook(&mut self, off: bool, out: &mut LineOutputs) {
        if self.off_hook != off {
            self.off_hook = off;
            out.board(if off { CommandKind::OffHook } else { CommandKind::OnHook });
        }
    }

    fn stop_media(&mut self, out: &mut LineOutputs) {
        if self.media.take().is_some() {
            out.media(MediaAction::Stop);
        }
    }

    fn refuse(&self, cmd: &LineCommand, out: &mut LineOutputs) {
        out.event(LineEvent::Refused { command: cmd.name(), state: self.state.name() });
    }

    fn advance(&mut self, now: BoardTime) -> BoardTime {
        if now > self.now {
            self.now = now;
        }
        self.now
    }

    // -----------------------------------------------------------------
    // Entry points
    // -----------------------------------------------------------------

    /// When `poll` next has something to do.
    pub fn next_deadline(&self) -> Option<BoardTime> {
        let mut d = earliest(self.timer, self.silence_at);
        d = earliest(d, self.held_cid.map(|(t, _)| t));
        if !self.off_hook {
            d = earliest(d, self.ring.next_deadline());
        }
        earliest(d, self.loop_current.next_deadline())
    }

    /// Run the timers due at `now`.
    pub fn poll(&mut self, now: BoardTime, out: &mut LineOutputs) {
        let now = self.advance(now);
        for _ in 0..MAX_TIMER_STEPS {
            match self.next_deadline() {
                Some(t) if t <= now && out.has_room_for_step() => self.fire(t, out),
                _ => break,
            }
        }
    }

    /// A board event of this channel.
    pub fn on_board(&mut self, now: BoardTime, event: &EventKind, out: &mut LineOutputs) {
        self.poll(now, out);
        let now = self.now;
        match event {
            // Followed off-hook too (the voltage is known when we release),
            // but counted only on-hook.
            EventKind::RingOn => self.ring.ring_on(now),
            EventKind::RingOff => self.ring.ring_off(now),
            EventKind::LoopCurrentDrop => self.loop_current.drop(now),
            EventKind::LoopCurrentRestore => self.loop_current.restore(now),
            EventKind::PolarityReversal => self.on_polarity(now, out),
            _ => {}
        }
        // A drop with a CPC time of zero, a ring with… anything due now.
        self.poll(now, out);
    }

    /// A detector or media report of this channel.
    pub fn on_dsp(&mut self, now: BoardTime, input: &DspInput, out: &mut LineOutputs) {
        self.poll(now, out);
        let now = self.now;
        match (self.state, input) {
            (FxoState::Idle | FxoState::Guard, DspInput::CallerId(cid)) => {
                self.held_cid = Some((now + ms(self.cfg.cid_hold_ms), *cid));
            }
            (FxoState::Ringing, DspInput::CallerId(cid)) if !self.cid_done => {
                self.caller_id = Some(*cid);
                self.cid_done = true;
                self.send_incoming(out);
                self.check_answer(now, out);
            }
            (FxoState::Ringing, DspInput::CallerIdFailed) if !self.cid_done => {
                self.cid_done = true;
                self.send_incoming(out);
                self.check_answer(now, out);
            }
            (FxoState::Seized, DspInput::Tone(ToneKind::Dial)) => {
                if matches!(self.cfg.dial_tone, DialToneWait::Detect { .. }) {
                    self.start_dialing(now, out);
                }
            }
            (FxoState::Dialing, DspInput::MediaDone { token, .. }) if self.media == Some(*token) => {
                self.media = None;
                self.start_proceeding(now, out);
            }
            (FxoState::Dialing | FxoState::Proceeding, DspInput::Tone(kind)) => self.on_progress_tone(now, *kind, out),
            (FxoState::Proceeding, DspInput::ToneEnded(ToneKind::Ringback)) => {
                self.ringback_on = false;
                if self.voice_on && self.cfg.progress.answer_on_voice {
                    self.answered(now, AnswerBy::Voice, out);
                }
            }
            (FxoState::Proceeding, DspInput::VoiceStart) => {
                self.voice_on = true;
                if !self.ringback_on && self.cfg.progress.answer_on_voice {
                    self.answered(now, AnswerBy::Voice, out);
                }
            }
            (FxoState::Proceeding, DspInput::VoiceStop) => self.voice_on = false,
            (FxoState::Proceeding, DspInput::Fax(tone)) => {
                out.event(LineEvent::Progress { result: ProgressResult::Fax { tone: *tone } });
                self.connect(now, Direction::Outbound, None, out);
            }
            (FxoState::Connected, DspInput::Digit(digit)) => out.event(LineEvent::Digit { digit: *digit }),
            (FxoState::Connected, DspInput::Fax(tone)) => out.event(LineEvent::FaxTone { tone: *tone }),
            (FxoState::Connected, DspInput::Tone(kind)) => {
                let d = &self.cfg.disconnect;
                let hang = match kind {
                    ToneKind::Busy => d.busy_tone,
                    ToneKind::Congestion => d.congestion_tone,
                    ToneKind::Dial => d.dial_tone,
                    _ => false,
                };
                if hang {
                    self.far_end_gone(now, DisconnectCause::Tone(*kind), out);
                }
            }
            (FxoState::Connected | FxoState::Flashing, DspInput::VoiceStart) => self.silence_at = None,
            (FxoState::Connected | FxoState::Flashing, DspInput::VoiceStop) => self.arm_silence(now),
            (_, DspInput::MediaDone { token, .. }) if self.media == Some(*token) => self.media = None,
            _ => {}
        }
        self.poll(now, out);
    }

    /// A daemon command for this line.
    pub fn on_command(&mut self, now: BoardTime, command: &LineCommand, out: &mut LineOutputs) {
        self.poll(now, out);
        let now = self.now;
        match (self.state, command) {
            (FxoState::Ringing, LineCommand::Answer) => {
                // An Answer after a Hangup (decline) takes the call after all.
                self.declined = false;
                if !self.incoming_sent {
                    self.cid_done = true;
                    self.send_incoming(out);
                }
                self.answer(now, out);
            }
            (FxoState::Idle, LineCommand::Dial { number }) => self.seize(now, *number, out),
            (FxoState::Ringing, LineCommand::Hangup) => self.declined = true,
            (FxoState::Idle | FxoState::Guard, LineCommand::Hangup) => {}
            (FxoState::Flashing, LineCommand::Hangup) => self.release(now, out),
            (s, LineCommand::Hangup) if s.is_off_hook() => self.release(now, out),
            (FxoState::Connected, LineCommand::Flash) => {
                self.hook(false, out);
                self.timer = Some(now + ms(self.cfg.flash_ms));
                self.set_state(FxoState::Flashing, out);
            }
            _ => self.refuse(command, out),
        }
        // A blind dial with no delay, and the like.
        self.poll(now, out);
    }

    // -----------------------------------------------------------------
    // Timers
    // -----------------------------------------------------------------

    /// Run the timer due at `at` (the earliest one).
    fn fire(&mut self, at: BoardTime, out: &mut LineOutputs) {
        if self.loop_current.next_deadline() == Some(at) {
            if self.loop_current.poll(at) {
                self.on_loop_disconnect(at, out);
            }
            return;
        }
        if !self.off_hook && self.ring.next_deadline() == Some(at) {
            if let Some(ev) = self.ring.poll(at) {
                self.on_ring(at, ev, out);
            }
            return;
        }
        if self.held_cid.is_some_and(|(t, _)| t == at) {
            self.held_cid = None;
            return;
        }
        if self.silence_at == Some(at) {
            self.silence_at = None;
            if matches!(self.state, FxoState::Connected | FxoState::Flashing) {
                self.far_end_gone(at, DisconnectCause::Silence, out);
            }
            return;
        }
        // The state timer.
        self.timer = None;
        match self.state {
            FxoState::Seized => match self.cfg.dial_tone {
                DialToneWait::Blind { .. } => self.start_dialing(at, out),
                DialToneWait::Detect { .. } => self.failed(at, ProgressResult::NoDialTone, out),
            },
            FxoState::Dialing => {
                // The engine never reported the digits done: go on anyway.
                self.media = None;
                self.start_proceeding(at, out);
            }
            FxoState::Proceeding => self.failed(at, ProgressResult::NoAnswer, out),
            FxoState::Flashing => {
                self.hook(true, out);
                self.ring.reset(at);
                self.loop_current.rearm(at);
                self.connected_at = at;
                self.set_state(FxoState::Connected, out);
                out.event(LineEvent::FlashDone);
            }
            FxoState::Guard => self.go_idle(at, out),
            FxoState::Idle | FxoState::Ringing | FxoState::Connected | FxoState::Held => {}
        }
    }

    // -----------------------------------------------------------------
    // Inbound
    // -----------------------------------------------------------------

    fn on_ring(&mut self, at: BoardTime, ev: RingEvent, out: &mut LineOutputs) {
        match (self.state, ev) {
            (FxoState::Idle | FxoState::Guard, RingEvent::Ring { count }) => {
                self.timer = None;
                self.rings = count;
                self.caller_id = self.held_cid.take().map(|(_, c)| c);
                self.declined = false;
                self.incoming_sent = false;
                self.cid_done = self.cfg.caller_id != CidReceive::FskAfterFirstRing;
                self.set_state(FxoState::Ringing, out);
                out.event(LineEvent::RingCount { count });
                if self.cid_done {
                    self.send_incoming(out);
                }
                self.check_answer(at, out);
            }
            (FxoState::Ringing, RingEvent::Ring { count }) => {
                self.rings = count;
                if !self.declined {
                    out.event(LineEvent::RingCount { count });
                }
                if count >= 2 && !self.cid_done {
                    // The caller-ID window after ring 1 closed empty.
                    self.cid_done = true;
                    self.send_incoming(out);
                }
                self.check_answer(at, out);
            }
            (FxoState::Ringing, RingEvent::Stopped) => {
                self.send_incoming(out);
                out.event(LineEvent::RingingStopped);
                self.go_idle(at, out);
            }
            _ => {}
        }
    }

    fn send_incoming(&mut self, out: &mut LineOutputs) {
        if !self.incoming_sent && !self.declined {
            self.incoming_sent = true;
            out.event(LineEvent::Incoming { caller_id: self.caller_id });
        }
    }

    /// Answer by ourselves if the config says it is time.
    fn check_answer(&mut self, at: BoardTime, out: &mut LineOutputs) {
        if self.declined || !self.cid_done || self.state != FxoState::Ringing {
            return;
        }
        let by_rings = self.cfg.answer_rings > 0 && self.rings >= self.cfg.answer_rings;
        let by_cid = self.caller_id.is_some() && self.cfg.answer_on_caller_id;
        if by_rings || by_cid {
            self.answer(at, out);
        }
    }

    fn answer(&mut self, at: BoardTime, out: &mut LineOutputs) {
        self.hook(true, out);
        out.event(LineEvent::Answered);
        self.connect(at, Direction::Inbound, None, out);
    }

    // -----------------------------------------------------------------
    // Outbound
    // -----------------------------------------------------------------

    fn seize(&mut self, at: BoardTime, number: DigitString, out: &mut LineOutputs) {
        self.number = number;
        self.held_cid = None;
        self.ring.reset(at);
        self.hook(true, out);
        self.loop_current.rearm(at);
        self.direction = Direction::Outbound;
        self.timer = Some(
            at + ms(match self.cfg.dial_tone {
                DialToneWait::Detect { timeout_ms } => timeout_ms,
                DialToneWait::Blind { delay_ms } => delay_ms,
            }),
        );
        self.set_state(FxoState::Seized, out);
    }

    fn start_dialing(&mut self, at: BoardTime, out: &mut LineOutputs) {
        if self.number.is_empty() {
            self.start_proceeding(at, out);
            return;
        }
        let token = self.token();
        self.media = Some(token);
        out.media(MediaAction::PlayDtmf { digits: self.number, tx: self.cfg.dtmf, token });
        let per_digit = self.cfg.dtmf.on_ms as u64 + self.cfg.dtmf.off_ms as u64;
        self.timer = Some(at + Duration::from_ms(per_digit * self.number.len() as u64 + DIAL_MARGIN_MS));
        self.set_state(FxoState::Dialing, out);
    }

    fn start_proceeding(&mut self, at: BoardTime, out: &mut LineOutputs) {
        self.ringback_on = false;
        self.ringback_seen = false;
        self.voice_on = false;
        self.timer = Some(at + ms(self.cfg.progress.no_answer_ms));
        self.set_state(FxoState::Proceeding, out);
    }

    fn on_progress_tone(&mut self, at: BoardTime, kind: ToneKind, out: &mut LineOutputs) {
        match kind {
            ToneKind::Ringback if self.state == FxoState::Proceeding => {
                self.ringback_on = true;
                if !self.ringback_seen {
                    self.ringback_seen = true;
                    self.timer = Some(at + ms(self.cfg.progress.no_answer_ms));
                    out.event(LineEvent::Progress { result: ProgressResult::Ringback });
                }
            }
            ToneKind::Busy => self.failed(at, ProgressResult::Busy, out),
            ToneKind::Congestion => self.failed(at, ProgressResult::Congestion, out),
            ToneKind::Sit => self.failed(at, ProgressResult::Sit, out),
            _ => {}
        }
    }

    /// A final result other than an answer.
    fn failed(&mut self, at: BoardTime, result: ProgressResult, out: &mut LineOutputs) {
        self.stop_media(out);
        out.event(LineEvent::Progress { result });
        if self.cfg.progress.release_on_failure && result != ProgressResult::Sit {
            self.release(at, out);
        } else {
            self.timer = None;
            self.set_state(FxoState::Held, out);
        }
    }

    fn answered(&mut self, at: BoardTime, by: AnswerBy, out: &mut LineOutputs) {
        out.event(LineEvent::Progress { result: ProgressResult::Answered { by } });
        self.connect(at, Direction::Outbound, Some(by), out);
    }

    // -----------------------------------------------------------------
    // Connected, release
    // -----------------------------------------------------------------

    fn connect(&mut self, at: BoardTime, direction: Direction, by: Option<AnswerBy>, out: &mut LineOutputs) {
        self.ring.reset(at);
        self.loop_current.rearm(at);
        self.stop_media(out);
        self.direction = direction;
        self.polarity_seen = by == Some(AnswerBy::Polarity);
        self.connected_at = at;
        self.timer = None;
        self.silence_at = None;
        self.voice_on = false;
        self.arm_silence(at);
        self.set_state(FxoState::Connected, out);
    }

    fn arm_silence(&mut self, at: BoardTime) {
        self.silence_at = self.cfg.disconnect.silence_ms.map(|s| at + ms(s));
    }

    fn on_polarity(&mut self, at: BoardTime, out: &mut LineOutputs) {
        match self.state {
            FxoState::Proceeding if self.cfg.progress.answer_on_polarity => {
                self.answered(at, AnswerBy::Polarity, out);
            }
            FxoState::Connected => {
                let late_answer = self.direction == Direction::Outbound
                    && self.cfg.progress.answer_on_polarity
                    && !self.polarity_seen;
                self.polarity_seen = true;
                if late_answer || at.since(self.connected_at) < ms(self.cfg.disconnect.polarity_gap_ms) {
                    return;
                }
                if self.cfg.disconnect.polarity {
                    self.far_end_gone(at, DisconnectCause::Polarity, out);
                }
            }
            _ => {}
        }
    }

    fn on_loop_disconnect(&mut self, at: BoardTime, out: &mut LineOutputs) {
        if self.cfg.disconnect.loop_current
            && matches!(
                self.state,
                FxoState::Seized | FxoState::Dialing | FxoState::Proceeding | FxoState::Connected | FxoState::Held
            )
        {
            self.far_end_gone(at, DisconnectCause::LoopCurrent, out);
        }
    }

    fn far_end_gone(&mut self, at: BoardTime, cause: DisconnectCause, out: &mut LineOutputs) {
        out.event(LineEvent::Disconnected { cause });
        self.release(at, out);
    }

    /// Go on-hook and wait out the guard time.
    fn release(&mut self, at: BoardTime, out: &mut LineOutputs) {
        self.stop_media(out);
        self.hook(false, out);
        self.ring.reset(at);
        self.clear_call();
        self.timer = Some(at + ms(self.cfg.release_guard_ms));
        self.set_state(FxoState::Guard, out);
    }

    fn clear_call(&mut self) {
        self.rings = 0;
        self.caller_id = None;
        self.cid_done = false;
        self.incoming_sent = false;
        self.declined = false;
        self.number = DigitString::EMPTY;
        self.ringback_on = false;
        self.ringback_seen = false;
        self.voice_on = false;
        self.polarity_seen = false;
        self.silence_at = None;
    }

    fn go_idle(&mut self, at: BoardTime, out: &mut LineOutputs) {
        self.stop_media(out);
        self.hook(false, out);
        self.clear_call();
        self.timer = None;
        let _ = at;
        self.set_state(FxoState::Idle, out);
        out.event(LineEvent::Idle);
    }
}

fn ms(v: u32) -> Duration {
    Duration::from_ms(v as u64)
}

#[cfg(test)]
#[path = "fxo_tests.rs"]
mod tests;
