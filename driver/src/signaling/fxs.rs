//! FXS loop-start signalling: our port feeding a phone.
//!
//! Read with: TELEPHONY_FACTS §8 (hook debounce ~32 ms, rx flash maximum
//! 1250 ms, kewlstart disconnect), §4 (caller-ID timing: GR-30 Type I FSK
//! ≥ 500 ms after the first ring; ETSI EN 300 659-1 before the first ring
//! with DT-AS; DTMF before the first ring), §3 (dial, busy, congestion
//! tones).
//!
//! # The phone calls
//!
//! Off-hook (debounced by [`HookMonitor`]) → [`LineEvent::OffHook`] and
//! dial tone (`dial_tone`) → the first DTMF key stops it (`collecting`) →
//! keys are checked against the [`DigitMap`] after each one: a complete
//! match is [`LineEvent::Dialed`] (`call`); a match that could grow waits
//! for [`FxsConfig::match_digit_ms`]; an incomplete number waits for
//! [`FxsConfig::inter_digit_ms`]; the end key (`#`) ends dialling. Failure
//! (no key for [`FxsConfig::first_digit_ms`], no possible match, timeout)
//! plays the reorder tone (`reorder`) and reports
//! [`LineEvent::DialFailed`]; after [`ReleaseConfig::howler_after_ms`] the
//! howler follows.
//!
//! # The phone is called
//!
//! `Ring{caller_id}` → board `RingStart` (the board applies the country
//! cadence) → `ringing`. Caller ID goes out per [`CidSend`]: after the first
//! ring, [`FxsConfig::cid_after_ring_ms`] after its end as computed from
//! [`FxsConfig::ring_cadence`] (the phone never tells us when the ring
//! ends); or before the first ring (`alerting`): the caller ID plays, and
//! [`FxsConfig::cid_ring_gap_ms`] after its `MediaDone` (or at the latest
//! after [`FxsConfig::cid_max_ms`]) ringing starts. The phone going
//! off-hook stops ringing and caller ID and reports
//! [`LineEvent::Answered`] (`call`). `StopRing`/`Hangup` stop ringing.
//!
//! # In a call
//!
//! A flash is [`LineEvent::Flash`]; the daemon may answer it with
//! `DialTone` to collect a number for a consultation call. A flash during
//! that dial tone, the number or the reorder tone after a failed one goes
//! back to the call (`call`) and is reported as [`LineEvent::Flash`]: the
//! daemon returns to the party on hold. (A flash while dialling a call of
//! the phone's own is ignored.) DTMF keys are
//! [`LineEvent::Digit`]. Hang-up (on-hook past the flash window) is
//! [`LineEvent::OnHook`] and the line is idle. The daemon's `Hangup` sends
//! the disconnect treatment ([`ReleaseConfig`]): loop current withdrawn
//! for `loop_open_ms` (`loop_open`; answering machines take it as the
//! caller's hang-up), then the busy (or another) tone until the phone
//! hangs up (`released`), and the howler after `howler_after_ms`.

use std::fmt;

use crate::dsp::cid::{CallerId, CidStandard};
use crate::dsp::cid_dtmf::DtmfCidFormat;
use crate::dsp::dtmf::DtmfDigit;
use crate::dsp::tones::{Country, ToneKind};
use crate::hal::{BoardTime, ChannelId, CommandKind, Duration, EventKind};

use super::analog::{
    CidSignal, ConfigError, Detectors, DialEnd, DialFailure, DigitString, DspInput, LineCommand, LineEvent,
    LineOutputs, MAX_TIMER_STEPS, MediaAction, MediaToken, check_less, check_range, earliest,
};
use super::cadence::RingCadence;
use super::digitmap::{DigitMap, MapMatch};
use super::hook::{HookConfig, HookEvent, HookMonitor};

/// Where and how caller ID is sent to the phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CidSend {
    None,
    /// FSK in the silence after the first ring (US/CN Type I; ETSI after
    /// first ring with V.23).
    FskAfterFirstRing {
        standard: CidStandard,
    },
    /// FSK before the first ring, after the ETSI DT-AS when `alert`.
    FskBeforeRing {
        standard: CidStandard,
        alert: bool,
    },
    /// DTMF before the first ring.
    DtmfBeforeRing {
        format: DtmfCidFormat,
    },
}

/// The disconnect treatment when the daemon hangs up on an off-hook phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReleaseConfig {
    /// Tone played until the phone hangs up (`None`: silence).
    pub tone: Option<ToneKind>,
    /// Withdraw loop current this long first (kewlstart-style disconnect
    /// for answering machines; DAHDI's is 500 ms).
    pub loop_open_ms: Option<u32>,
    /// Switch to the howler after this long off-hook in the tone (also
    /// after a failed dial).
    pub howler_after_ms: Option<u32>,
}

impl Default for ReleaseConfig {
    fn default() -> Self {
        ReleaseConfig { tone: Some(ToneKind::Busy), loop_open_ms: None, howler_after_ms: None }
    }
}

/// Everything an FXS line is configured with.
#[derive(Debug, Clone, PartialEq)]
pub struct FxsConfig {
    pub hook: HookConfig,
    /// The cadence the board rings with.
    pub ring_cadence: RingCadence,
    pub caller_id: CidSend,
    /// After-first-ring caller ID starts this long after the first ring
    /// ends (GR-30: at least 500 ms).
    pub cid_after_ring_ms: u32,
    /// Before-ring caller ID: silence between its end and the first ring.
    pub cid_ring_gap_ms: u32,
    /// Before-ring caller ID: ring at the latest this long after it began,
    /// even if its end was never reported.
    pub cid_max_ms: u32,
    /// Give dial tone and collect a number when the phone goes off-hook;
    /// otherwise go straight to `call` and let the daemon decide.
    pub dial_tone: bool,
    pub digit_map: DigitMap,
    /// No key this long after dial tone: dialling failed.
    pub first_digit_ms: u32,
    /// No key this long while the number is incomplete: dialling failed
    /// (Asterisk `gendigittimeout`).
    pub inter_digit_ms: u32,
    /// No key this long after a match that could grow: the number is
    /// complete (Asterisk `matchdigittimeout`).
    pub match_digit_ms: u32,
    /// The key that ends dialling, unless a pattern takes it as a digit.
    pub end_key: Option<DtmfDigit>,
    /// Tone after failed dialling.
    pub reorder_tone: ToneKind,
    pub release: ReleaseConfig,
}

impl Default for FxsConfig {
    /// US (DAHDI/Asterisk) defaults.
    fn default() -> Self {
        FxsConfig::for_country(Country::Us)
    }
}

impl FxsConfig {
    /// Defaults with the country's ring cadence and caller-ID method:
    /// Bell 202 after the first ring (US, CN), V.23 after the first ring
    /// (EU), V.23 with DT-AS before ringing (UK), none (RU).
    pub fn for_country(country: Country) -> Self {
        let caller_id = match country {
            Country::Us | Country::Cn => CidSend::FskAfterFirstRing { standard: CidStandard::Bell202 },
            Country::Eu => CidSend::FskAfterFirstRing { standard: CidStandard::V23 },
            Country::Uk => CidSend::FskBeforeRing { standard: CidStandard::V23, alert: true },
            Country::Ru => CidSend::None,
        };
        FxsConfig {
            hook: HookConfig::default(),
            ring_cadence: RingCadence::for_country(country),
            caller_id,
            cid_after_ring_ms: 500,
            cid_ring_gap_ms: 300,
            cid_max_ms: 4000,
            dial_tone: true,
            digit_map: DigitMap::default(),
            first_digit_ms: 16_000,
            inter_digit_ms: 8000,
            match_digit_ms: 3000,
            end_key: Some(DtmfDigit::Hash),
            reorder_tone: ToneKind::Congestion,
            release: ReleaseConfig::default(),
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.hook.validate()?;
        check_range("cid_after_ring_ms", self.cid_after_ring_ms, 0, 10_000)?;
        check_less("cid_after_ring_ms", self.cid_after_ring_ms, "ring_cadence (pause)", self.ring_cadence.pause_ms())?;
        check_range("cid_ring_gap_ms", self.cid_ring_gap_ms, 0, 5000)?;
        check_range("cid_max_ms", self.cid_max_ms, 500, 10_000)?;
        if self.digit_map.patterns().is_empty() {
            return Err(ConfigError::Invalid { field: "digit_map", problem: "has no patterns" });
        }
        check_range("first_digit_ms", self.first_digit_ms, 1000, 120_000)?;
        check_range("inter_digit_ms", self.inter_digit_ms, 500, 60_000)?;
        check_range("match_digit_ms", self.match_digit_ms, 100, 60_000)?;
        if let Some(t) = self.release.loop_open_ms {
            check_range("release.loop_open_ms", t, 50, 5000)?;
        }
        if let Some(t) = self.release.howler_after_ms {
            check_range("release.howler_after_ms", t, 1000, 3_600_000)?;
        }
        Ok(())
    }
}

/// Where an FXS line stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FxsState {
    /// Phone on-hook, not rung.
    Idle,
    /// Caller ID before the first ring.
    Alerting,
    /// Ringing the phone.
    Ringing,
    /// Phone off-hook, dial tone, no key yet.
    DialTone,
    /// Phone off-hook, keys being collected.
    Collecting,
    /// Phone off-hook in a call (or handed to the daemon).
    Call,
    /// Dialling failed: reorder tone until on-hook.
    Reorder,
    /// The daemon hung up: loop current withdrawn.
    LoopOpen,
    /// The daemon hung up: release tone until on-hook.
    Released,
    /// Howler until on-hook.
    Howler,
}

impl FxsState {
    pub fn name(self) -> &'static str {
        match self {
            FxsState::Idle => "idle",
            FxsState::Alerting => "alerting",
            FxsState::Ringing => "ringing",
            FxsState::DialTone => "dial_tone",
            FxsState::Collecting => "collecting",
            FxsState::Call => "call",
            FxsState::Reorder => "reorder",
            FxsState::LoopOpen => "loop_open",
            FxsState::Released => "released",
            FxsState::Howler => "howler",
        }
    }
    /// Whether the phone is off-hook in this state.
    pub fn phone_off_hook(self) -> bool {
        !matches!(self, FxsState::Idle | FxsState::Alerting | FxsState::Ringing)
    }
}

impl fmt::Display for FxsState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One FXS port's signalling; see the module doc.
#[derive(Debug, Clone)]
pub struct FxsLine {
    channel: ChannelId,
    cfg: FxsConfig,
    state: FxsState,
    now: BoardTime,
    hook: HookMonitor,
    detectors: Detectors,
    /// The state's timer: caller ID / ring start, digit timeouts, howler,
    /// loop restore.
    timer: Option<BoardTime>,
    /// When after-first-ring caller ID is due.
    cid_at: Option<BoardTime>,
    caller_id: Option<CallerId>,
    /// Whether we told the board to ring.
    ringing: bool,
    /// Whether loop current is withdrawn.
    loop_open: bool,
    /// The dial tone (and what follows it until a number or a flash) was
    /// given in a call, for a consultation.
    consulting: bool,
    /// Media we started and that has not ended.
    media: Option<MediaToken>,
    next_token: u32,
    digits: DigitString,
}

impl FxsLine {
    /// A line, idle, phone on-hook, for `channel` (which only names it in
    /// traces).
    pub fn new(channel: ChannelId, config: FxsConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(FxsLine {
            channel,
            hook: HookMonitor::new(config.hook),
            cfg: config,
            state: FxsState::Idle,
            now: BoardTime::ZERO,
            detectors: Detectors::NONE,
            timer: None,
            cid_at: None,
            caller_id: None,
            ringing: false,
            loop_open: false,
            consulting: false,
            media: None,
            next_token: 1,
            digits: DigitString::EMPTY,
        })
    }

    pub fn channel(&self) -> ChannelId {
        self.channel
    }
    pub fn state(&self) -> FxsState {
        self.state
    }
    pub fn config(&self) -> &FxsConfig {
        &self.cfg
    }
    pub fn detectors(&self) -> Detectors {
        self.detectors
    }
    /// Whether the board has been told to ring.
    pub fn is_ringing(&self) -> bool {
        self.ringing
    }
    /// Whether loop current is withdrawn.
    pub fn is_loop_open(&self) -> bool {
        self.loop_open
    }
    /// Keys collected so far.
    pub fn digits(&self) -> &DigitString {
        &self.digits
    }

    fn set_state(&mut self, state: FxsState, out: &mut LineOutputs) {
        if self.state != state {
            tracing::trace!(channel = self.channel.0, "fxs {} => {}", self.state, state);
            self.state = state;
        }
        let d = match state {
            FxsState::DialTone | FxsState::Collecting => Detectors { dtmf: true, ..Detectors::NONE },
            FxsState::Call => Detectors { dtmf: true, fax: true, ..Detectors::NONE },
            _ => Detectors::NONE,
        };
        if d != self.detectors {
            self.detectors = d;
            out.media(MediaAction::Detectors(d));
        }
    }

    fn token(&mut self) -> MediaToken {
        let t = MediaToken(self.next_token);
        self.next_token = self.next_token.wrapping_add(1).max(1);
        t
    }

    fn play(&mut self, action: impl FnOnce(MediaToken) -> MediaAction, out: &mut LineOutputs) {
        let t = self.token();
        self.media = Some(t);
        out.media(action(t));
    }

    fn stop_media(&mut self, out: &mut LineOutputs) {
        if self.media.take().is_some() {
            out.media(MediaAction::Stop);
        }
    }

    fn ring(&mut self, on: bool, out: &mut LineOutputs) {
        if self.ringing != on {
            self.ringing = on;
            out.board(if on { CommandKind::RingStart } else { CommandKind::RingStop });
        }
    }

    fn loop_current(&mut self, on: bool, out: &mut LineOutputs) {
        if self.loop_open == on {
            self.loop_open = !on;
            out.board(CommandKind::SetLoopCurrent { on });
        }
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
        earliest(earliest(self.timer, self.cid_at), self.hook.next_deadline())
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
            EventKind::OffHook => self.hook.raw(now, true),
            EventKind::OnHook => self.hook.raw(now, false),
            EventKind::Flash => {
                if let Some(e) = self.hook.hardware_flash() {
                    self.on_hook_event(now, e, out);
                }
            }
            _ => {}
        }
        self.poll(now, out);
    }

    /// A detector or media report of this channel.
    pub fn on_dsp(&mut self, now: BoardTime, input: &DspInput, out: &mut LineOutputs) {
        self.poll(now, out);
        let now = self.now;
        match (self.state, input) {
            (FxsState::DialTone, DspInput::DigitBegin(_)) => {
                self.stop_media(out);
                self.timer = Some(now + ms(self.cfg.inter_digit_ms));
                self.set_state(FxsState::Collecting, out);
            }
            (FxsState::DialTone | FxsState::Collecting, DspInput::Digit(d)) => self.collect(now, *d, out),
            (FxsState::Call, DspInput::Digit(d)) => out.event(LineEvent::Digit { digit: *d }),
            (FxsState::Call, DspInput::Fax(tone)) => out.event(LineEvent::FaxTone { tone: *tone }),
            (state, DspInput::MediaDone { token, .. }) if self.media == Some(*token) => {
                self.media = None;
                if state == FxsState::Alerting {
                    // Caller ID is out: ring after the gap.
                    self.timer = Some(now + ms(self.cfg.cid_ring_gap_ms));
                }
            }
            _ => {}
        }
        self.poll(now, out);
    }

    /// A daemon command for this line.
    pub fn on_command(&mut self, now: BoardTime, command: &LineCommand, out: &mut LineOutputs) {
        self.poll(now, out);
        let now = self.now;
        match (self.state, command) {
            (FxsState::Idle, LineCommand::Ring { caller_id }) => self.start_ringing(now, *caller_id, out),
            (FxsState::Alerting | FxsState::Ringing, LineCommand::Hangup | LineCommand::StopRing) => {
                self.ring(false, out);
                self.go_idle(out);
            }
            (FxsState::Idle, LineCommand::Hangup | LineCommand::StopRing) => {}
            (FxsState::DialTone | FxsState::Collecting | FxsState::Call, LineCommand::Hangup) => {
                self.release(now, out);
            }
            (FxsState::Reorder | FxsState::LoopOpen | FxsState::Released | FxsState::Howler, LineCommand::Hangup) => {}
            (FxsState::Call, LineCommand::DialTone) => {
                self.consulting = true;
                self.give_dial_tone(now, out);
            }
            _ => out.event(LineEvent::Refused { command: command.name(), state: self.state.name() }),
        }
        self.poll(now, out);
    }

    // -----------------------------------------------------------------
    // Timers and hook
    // -----------------------------------------------------------------

    fn fire(&mut self, at: BoardTime, out: &mut LineOutputs) {
        if self.hook.next_deadline() == Some(at) {
            for _ in 0..4 {
                match self.hook.poll(at) {
                    Some(e) => self.on_hook_event(at, e, out),
                    None => break,
                }
            }
            return;
        }
        if self.cid_at == Some(at) {
            self.cid_at = None;
            if let (FxsState::Ringing, Some(caller_id), CidSend::FskAfterFirstRing { standard }) =
                (self.state, self.caller_id, self.cfg.caller_id)
            {
                self.play(
                    |token| MediaAction::SendCallerId {
                        caller_id,
                        signal: CidSignal::Fsk { standard, alert: false },
                        token,
                    },
                    out,
                );
            }
            return;
        }
        self.timer = None;
        match self.state {
            FxsState::Alerting => {
                // Caller ID ended a gap ago, or never reported its end.
                self.stop_media(out);
                self.ring(true, out);
                self.set_state(FxsState::Ringing, out);
            }
            FxsState::DialTone => self.fail(at, DialFailure::NoDigits, out),
            FxsState::Collecting => {
                if self.digits.is_empty() {
                    self.fail(at, DialFailure::NoDigits, out);
                } else if matches!(
                    self.cfg.digit_map.check(self.digits.as_bytes()),
                    MapMatch::CompleteMore | MapMatch::Complete
                ) {
                    self.dialed(DialEnd::Timeout, out);
                } else {
                    self.fail(at, DialFailure::Timeout, out);
                }
            }
            FxsState::LoopOpen => {
                self.loop_current(true, out);
                self.release_tone(at, out);
            }
            FxsState::Reorder | FxsState::Released => {
                self.stop_media(out);
                self.play(|token| MediaAction::PlayHowler { token }, out);
                self.set_state(FxsState::Howler, out);
            }
            FxsState::Idle | FxsState::Ringing | FxsState::Call | FxsState::Howler => {}
        }
    }

    fn on_hook_event(&mut self, at: BoardTime, e: HookEvent, out: &mut LineOutputs) {
        match (self.state, e) {
            (FxsState::Idle, HookEvent::OffHook) => {
                out.event(LineEvent::OffHook);
                if self.cfg.dial_tone {
                    self.give_dial_tone(at, out);
                } else {
                    self.set_state(FxsState::Call, out);
                }
            }
            (FxsState::Alerting | FxsState::Ringing, HookEvent::OffHook) => {
                self.ring(false, out);
                self.stop_media(out);
                self.cid_at = None;
                self.timer = None;
                out.event(LineEvent::Answered);
                self.set_state(FxsState::Call, out);
            }
            (s, HookEvent::OnHook) if s.phone_off_hook() => {
                self.loop_current(true, out);
                out.event(LineEvent::OnHook);
                self.go_idle(out);
            }
            (FxsState::Call, HookEvent::Flash) => out.event(LineEvent::Flash),
            (FxsState::DialTone | FxsState::Collecting | FxsState::Reorder, HookEvent::Flash) if self.consulting => {
                // Back to the call the consultation started from.
                self.consulting = false;
                self.stop_media(out);
                self.timer = None;
                self.digits.clear();
                self.set_state(FxsState::Call, out);
                out.event(LineEvent::Flash);
            }
            _ => {}
        }
    }

    // -----------------------------------------------------------------
    // Calls from the phone
    // -----------------------------------------------------------------

    fn give_dial_tone(&mut self, at: BoardTime, out: &mut LineOutputs) {
        self.digits.clear();
        self.stop_media(out);
        self.play(|token| MediaAction::PlayTone { kind: ToneKind::Dial, token }, out);
        self.timer = Some(at + ms(self.cfg.first_digit_ms));
        self.set_state(FxsState::DialTone, out);
    }

    fn collect(&mut self, at: BoardTime, d: DtmfDigit, out: &mut LineOutputs) {
        if self.state == FxsState::DialTone {
            self.stop_media(out);
            self.set_state(FxsState::Collecting, out);
        }
        if self.cfg.end_key == Some(d) {
            let mut with = self.digits;
            let as_digit = with.push(d).is_ok() && self.cfg.digit_map.check(with.as_bytes()) != MapMatch::NoMatch;
            if !as_digit {
                match self.cfg.digit_map.check(self.digits.as_bytes()) {
                    MapMatch::Complete | MapMatch::CompleteMore if !self.digits.is_empty() => {
                        self.dialed(DialEnd::EndKey, out)
                    }
                    _ => self.fail(at, DialFailure::NoMatch, out),
                }
                return;
            }
        }
        if self.digits.push(d).is_err() {
            self.fail(at, DialFailure::TooLong, out);
            return;
        }
        match self.cfg.digit_map.check(self.digits.as_bytes()) {
            MapMatch::Complete => self.dialed(DialEnd::Match, out),
            MapMatch::CompleteMore => self.timer = Some(at + ms(self.cfg.match_digit_ms)),
            MapMatch::Partial => self.timer = Some(at + ms(self.cfg.inter_digit_ms)),
            MapMatch::NoMatch => self.fail(at, DialFailure::NoMatch, out),
        }
    }

    fn dialed(&mut self, end: DialEnd, out: &mut LineOutputs) {
        self.timer = None;
        self.consulting = false;
        out.event(LineEvent::Dialed { number: self.digits, end });
        self.set_state(FxsState::Call, out);
    }

    fn fail(&mut self, at: BoardTime, why: DialFailure, out: &mut LineOutputs) {
        out.event(LineEvent::DialFailed { digits: self.digits, why });
        self.stop_media(out);
        let kind = self.cfg.reorder_tone;
        self.play(|token| MediaAction::PlayTone { kind, token }, out);
        self.timer = self.cfg.release.howler_after_ms.map(|t| at + ms(t));
        self.set_state(FxsState::Reorder, out);
    }

    // -----------------------------------------------------------------
    // Calls to the phone
    // -----------------------------------------------------------------

    fn start_ringing(&mut self, at: BoardTime, caller_id: Option<CallerId>, out: &mut LineOutputs) {
        self.caller_id = caller_id;
        let before = match (self.cfg.caller_id, caller_id) {
            (CidSend::FskBeforeRing { standard, alert }, Some(c)) => Some((c, CidSignal::Fsk { standard, alert })),
            (CidSend::DtmfBeforeRing { format }, Some(c)) => Some((c, CidSignal::Dtmf { format })),
            _ => None,
        };
        if let Some((caller_id, signal)) = before {
            self.play(|token| MediaAction::SendCallerId { caller_id, signal, token }, out);
            self.timer = Some(at + ms(self.cfg.cid_max_ms));
            self.set_state(FxsState::Alerting, out);
            return;
        }
        self.ring(true, out);
        if let (CidSend::FskAfterFirstRing { .. }, Some(_)) = (self.cfg.caller_id, caller_id) {
            let after = self.cfg.ring_cadence.first_ring_ms() + self.cfg.cid_after_ring_ms;
            self.cid_at = Some(at + ms(after));
        }
        self.set_state(FxsState::Ringing, out);
    }

    // -----------------------------------------------------------------
    // Release
    // -----------------------------------------------------------------

    fn release(&mut self, at: BoardTime, out: &mut LineOutputs) {
        self.stop_media(out);
        if let Some(open) = self.cfg.release.loop_open_ms {
            self.loop_current(false, out);
            self.timer = Some(at + ms(open));
            self.set_state(FxsState::LoopOpen, out);
        } else {
            self.release_tone(at, out);
        }
    }

    fn release_tone(&mut self, at: BoardTime, out: &mut LineOutputs) {
        if let Some(kind) = self.cfg.release.tone {
            self.play(|token| MediaAction::PlayTone { kind, token }, out);
        }
        self.timer = self.cfg.release.howler_after_ms.map(|t| at + ms(t));
        self.set_state(FxsState::Released, out);
    }

    fn go_idle(&mut self, out: &mut LineOutputs) {
        self.stop_media(out);
        self.timer = None;
        self.cid_at = None;
        self.caller_id = None;
        self.digits.clear();
        self.consulting = false;
        self.set_state(FxsState::Idle, out);
        out.event(LineEvent::Idle);
    }
}

fn ms(v: u32) -> Duration {
    Duration::from_ms(v as u64)
}

#[cfg(test)]
#[path = "fxs_tests.rs"]
mod tests;
