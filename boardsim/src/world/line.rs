//! One CO line behind one FXO port: the central office's side of the loop.
//!
//! Inbound: [`Line::call`] rings the port with the country cadence
//! (`RingOn`/`RingOff` at exact board times), optionally sends caller ID,
//! connects the caller when the port goes off-hook, and signals the
//! caller's hang-up as the line is configured (loop-current drop, busy tone,
//! polarity reversal). The caller gives up after its ring time.
//!
//! Outbound: the port going off-hook on an idle line gets dial tone; DTMF
//! from the port is collected (dial tone stops at the first digit); the
//! number is complete when it matches a party (and no longer number starts
//! with it) or after the inter-digit timeout; then ringback and the party's
//! behaviour (answer, busy, no answer, fax), or SIT/congestion for an
//! unknown number. The port going on-hook ends the call at any stage.
//!
//! Audio from the CO to the port is encoded with the span law once per
//! sample, so with no impairment a far end's samples reach the driver
//! bit-exact; the driver's codes reach the far end's recorder as sent.

use std::sync::Arc;

use ctibox_driver::dsp::cid::{CallerId, CallerIdGenerator, CidMessage, CidStandard, CidTxConfig};
use ctibox_driver::dsp::cid_dtmf::{DtmfCidFormat, DtmfCidGenerator};
use ctibox_driver::dsp::dtmf::{DtmfDetector, DtmfEvent, DtmfRxDescriptor, DtmfTxConfig};
use ctibox_driver::dsp::g711;
use ctibox_driver::dsp::level::db_to_gain;
use ctibox_driver::dsp::noise::NoiseGenerator;
use ctibox_driver::dsp::tonegen::ToneGenerator;
use ctibox_driver::hal::{BoardEvent, BoardTime, ChannelId, Duration, EventKind, Law, Polarity};

use super::config::{Behaviour, CallerIdMode, CoTimers, LineConfig};
use super::country::{CallerIdSignalling, CountryProfile, ProgressTone};
use super::peer::{EndReason, Peer};
use super::request::{ControlError, LineStatus};
use super::ring::Ringer;

/// Most digits the CO collects on one seizure.
pub const MAX_DIALLED: usize = 32;
/// Caller-ID audio kept per line: 4 s.
pub const CID_MAX_SAMPLES: usize = 32_000;
/// FSK caller ID starts this long after the first ring ends.
pub const CID_AFTER_RING_MS: u64 = 500;
/// DTMF caller ID ends this long before the first ring.
pub const CID_DTMF_BEFORE_RING_MS: u64 = 300;

/// A party outbound calls can reach, with its far end.
#[derive(Debug)]
pub struct Party {
    pub cfg: super::config::PartyConfig,
    pub peer: Peer,
}

/// Where a line stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineState {
    Idle,
    /// Caller-ID digits before the first ring (DTMF caller ID).
    Alerting {
        caller: usize,
    },
    /// Ringing the port for an inbound caller.
    Ringing {
        caller: usize,
    },
    /// The port answered the caller.
    Talking {
        caller: usize,
    },
    /// The port seized the line: dial tone, then digits.
    Dialling,
    /// Ringback while the party is rung.
    Calling {
        party: usize,
    },
    /// The party answered.
    Connected {
        party: usize,
    },
    /// A tone until the port hangs up (busy, congestion, SIT).
    Failed(ProgressTone),
    /// The far end hung up; the port is still off-hook.
    Released,
}

impl LineState {
    pub fn name(&self, digits: usize) -> &'static str {
        match self {
            LineState::Idle => "idle",
            LineState::Alerting { .. } => "alerting",
            LineState::Ringing { .. } => "ringing",
            LineState::Talking { .. } => "talking",
            LineState::Dialling if digits == 0 => "dial_tone",
            LineState::Dialling => "dialling",
            LineState::Calling { .. } => "ringback",
            LineState::Connected { .. } => "connected",
            LineState::Failed(ProgressTone::Busy) => "busy",
            LineState::Failed(ProgressTone::Sit) => "sit",
            LineState::Failed(_) => "congestion",
            LineState::Released => "released",
        }
    }
}

/// Audio the CO sends to the port at a set time (caller ID).
#[derive(Debug)]
struct TimedAudio {
    samples: Vec<i16>,
    start: Option<BoardTime>,
    pos: usize,
}

impl TimedAudio {
    fn new() -> Self {
        TimedAudio { samples: Vec::with_capacity(CID_MAX_SAMPLES), start: None, pos: 0 }
    }
    fn clear(&mut self) {
        self.samples.clear();
        self.start = None;
        self.pos = 0;
    }
    /// Mix into `out`, which starts at `now`.
    fn play(&mut self, now: BoardTime, out: &mut [i16]) {
        let Some(start) = self.start else { return };
        let end = now + Duration::from_samples(out.len() as u64);
        if start >= end || self.pos >= self.samples.len() {
            return;
        }
        let skip = start.since(now).samples() as usize;
        let n = (out.len() - skip).min(self.samples.len() - self.pos);
        for (o, s) in out[skip..skip + n].iter_mut().zip(&self.samples[self.pos..self.pos + n]) {
            *o = o.saturating_add(*s);
        }
        self.pos += n;
    }
    fn end_time(&self) -> Option<BoardTime> {
        self.start.map(|s| s + Duration::from_samples(self.samples.len() as u64))
    }
}

/// One CO line and its FXO port as the CO sees it.
#[derive(Debug)]
pub struct Line {
    pub port: ChannelId,
    pub cfg: LineConfig,
    pub state: LineState,
    /// Our board's port is off-hook.
    pub port_off_hook: bool,
    polarity: Polarity,
    loop_current: bool,
    loop_restore_at: Option<BoardTime>,
    ringer: Ringer,
    /// Inbound: the caller gives up then. Outbound: the CO gives up
    /// (first-digit timeout, no answer).
    give_up_at: Option<BoardTime>,
    /// Inbound: the caller hangs up then.
    hangup_at: Option<BoardTime>,
    /// Outbound: the party answers then.
    answer_at: Option<BoardTime>,
    /// The caller's talk time, armed on answer.
    caller_talk: Option<Duration>,
    tone: Option<ToneGenerator>,
    cid: TimedAudio,
    dtmf_rx: DtmfDetector,
    dtmf_events: Vec<DtmfEvent>,
    /// Board time of the DTMF detector's sample 0.
    dtmf_origin: BoardTime,
    digits: [u8; MAX_DIALLED],
    ndigits: usize,
    last_digit_end: Option<BoardTime>,
    noise: Option<NoiseGenerator>,
    gain: f32,
}

impl Line {
    pub fn new(
        port: ChannelId,
        cfg: LineConfig,
        profile: &CountryProfile,
        dtmf: &Arc<DtmfRxDescriptor>,
        seed: u64,
    ) -> Self {
        let noise = cfg.impairment.noise_dbm0.map(|d| NoiseGenerator::new(seed ^ (port.0 as u64) << 32, d));
        let gain = db_to_gain(cfg.impairment.gain_db) as f32;
        Line {
            port,
            cfg,
            state: LineState::Idle,
            port_off_hook: false,
            polarity: Polarity::Normal,
            loop_current: true,
            loop_restore_at: None,
            ringer: Ringer::new(profile.ring_cadence_ms()),
            give_up_at: None,
            hangup_at: None,
            answer_at: None,
            caller_talk: None,
            tone: None,
            cid: TimedAudio::new(),
            dtmf_rx: DtmfDetector::new(dtmf.clone()),
            dtmf_events: Vec::with_capacity(16),
            dtmf_origin: BoardTime::ZERO,
            digits: [0; MAX_DIALLED],
            ndigits: 0,
            last_digit_end: None,
            noise,
            gain,
        }
    }

    /// The digits dialled on this seizure.
    pub fn dialled(&self) -> &str {
        std::str::from_utf8(&self.digits[..self.ndigits]).unwrap_or("")
    }

    pub fn rings(&self) -> u32 {
        self.ringer.rings()
    }
    pub fn is_ringing(&self) -> bool {
        self.ringer.is_on()
    }

    /// The caller index of an inbound call in progress.
    pub fn caller(&self) -> Option<usize> {
        match self.state {
            LineState::Alerting { caller } | LineState::Ringing { caller } | LineState::Talking { caller } => {
                Some(caller)
            }
            _ => None,
        }
    }
    /// The party index of an outbound call in progress.
    pub fn party(&self) -> Option<usize> {
        match self.state {
            LineState::Calling { party } | LineState::Connected { party } => Some(party),
            _ => None,
        }
    }

    fn play_tone(&mut self, profile: &CountryProfile, t: ProgressTone) {
        self.tone = profile.tones.generator(t);
    }

    fn ev(&self, at: BoardTime, kind: EventKind, events: &mut Vec<BoardEvent>) {
        events.push(BoardEvent::channel(at, self.port, kind));
    }

    fn reverse(&mut self, at: BoardTime, events: &mut Vec<BoardEvent>) {
        self.polarity = match self.polarity {
            Polarity::Normal => Polarity::Reversed,
            Polarity::Reversed => Polarity::Normal,
        };
        self.ev(at, EventKind::PolarityReversal, events);
    }

    /// Ring the port for `caller` from `at`.
    #[allow(clippy::too_many_arguments)]
    pub fn call(
        &mut self,
        at: BoardTime,
        caller_idx: usize,
        caller: &mut Peer,
        hangup_after: Option<Duration>,
        abandon_after: Duration,
        profile: &CountryProfile,
    ) -> Result<(), ControlError> {
        if self.state != LineState::Idle || self.port_off_hook {
            let what = if self.port_off_hook { "the port is off-hook" } else { self.state.name(self.ndigits) };
            return Err(ControlError::LineBusy(self.port.0, what.to_string()));
        }
        caller.begin(at, self.port);
        self.cid.clear();
        self.caller_talk = hangup_after;
        let mut ring_at = at;
        if self.cfg.caller_id == CallerIdMode::Dtmf && fill_dtmf_cid(&mut self.cid.samples, &caller.number) {
            self.cid.start = Some(at);
            ring_at = self.cid.end_time().unwrap_or(at) + Duration::from_ms(CID_DTMF_BEFORE_RING_MS);
            self.state = LineState::Alerting { caller: caller_idx };
            self.answer_at = Some(ring_at);
        } else {
            self.state = LineState::Ringing { caller: caller_idx };
            self.ringer.start(ring_at);
        }
        self.give_up_at = Some(ring_at + abandon_after);
        let _ = profile;
        Ok(())
    }

    /// The line's far end hangs up at `at` (caller or party).
    pub fn far_end_hangup(
        &mut self,
        at: BoardTime,
        callers: &mut [Peer],
        parties: &mut [Party],
        profile: &CountryProfile,
        events: &mut Vec<BoardEvent>,
    ) -> Result<(), ControlError> {
        match self.state {
            LineState::Alerting { caller } | LineState::Ringing { caller } => {
                if self.ringer.stop(at) {
                    self.ev(at, EventKind::RingOff, events);
                }
                if let Some(c) = callers.get_mut(caller) {
                    c.rings = self.ringer.rings();
                    c.end(at, EndReason::Abandoned);
                }
                self.go_idle();
                Ok(())
            }
            LineState::Talking { caller } => {
                if let Some(c) = callers.get_mut(caller) {
                    c.end(at, EndReason::FarEndHungUp);
                }
                self.disconnect(at, profile, events);
                Ok(())
            }
            LineState::Calling { party } => {
                if let Some(p) = parties.get_mut(party) {
                    p.peer.end(at, EndReason::FarEndHungUp);
                }
                self.answer_at = None;
                self.give_up_at = None;
                self.state = LineState::Failed(ProgressTone::Busy);
                self.play_tone(profile, ProgressTone::Busy);
                Ok(())
            }
            LineState::Connected { party } => {
                if let Some(p) = parties.get_mut(party) {
                    p.peer.end(at, EndReason::FarEndHungUp);
                }
                self.disconnect(at, profile, events);
                Ok(())
            }
            _ => Err(ControlError::NoCall(self.port.0)),
        }
    }

    fn go_idle(&mut self) {
        self.state = LineState::Idle;
        self.give_up_at = None;
        self.hangup_at = None;
        self.answer_at = None;
        self.cid.clear();
        self.tone = None;
    }

    /// Signal the far end's disconnect to the off-hook port.
    fn disconnect(&mut self, at: BoardTime, profile: &CountryProfile, events: &mut Vec<BoardEvent>) {
        let d = self.cfg.disconnect;
        if let Some(len) = d.loop_drop {
            if self.loop_current {
                self.loop_current = false;
                self.ev(at, EventKind::LoopCurrentDrop, events);
            }
            self.loop_restore_at = Some(at + len);
        }
        if d.polarity_reversal {
            self.reverse(at, events);
        }
        self.tone = None;
        if d.busy_tone {
            self.play_tone(profile, ProgressTone::Busy);
        }
        self.hangup_at = None;
        self.give_up_at = None;
        self.state = LineState::Released;
        if !self.port_off_hook {
            // Nobody to wait for: the port is already on-hook.
            self.go_idle();
        }
    }

    /// The driver's hook command at `at`.
    #[allow(clippy::too_many_arguments)]
    pub fn hook(
        &mut self,
        at: BoardTime,
        off_hook: bool,
        callers: &mut [Peer],
        parties: &mut [Party],
        timers: &CoTimers,
        profile: &CountryProfile,
        events: &mut Vec<BoardEvent>,
    ) {
        if off_hook == self.port_off_hook {
            return;
        }
        self.port_off_hook = off_hook;
        if off_hook {
            match self.state {
                LineState::Idle => {
                    self.state = LineState::Dialling;
                    self.ndigits = 0;
                    self.last_digit_end = None;
                    self.dtmf_rx.reset();
                    self.dtmf_origin = at;
                    self.play_tone(profile, ProgressTone::Dial);
                    self.give_up_at = Some(at + timers.first_digit);
                }
                LineState::Ringing { caller } | LineState::Alerting { caller } => {
                    if self.ringer.stop(at) {
                        self.ev(at, EventKind::RingOff, events);
                    }
                    self.cid.clear();
                    self.answer_at = None;
                    self.give_up_at = None;
                    self.state = LineState::Talking { caller };
                    if let Some(c) = callers.get_mut(caller) {
                        c.rings = self.ringer.rings();
                        c.connect(at);
                    }
                    self.hangup_at = self.caller_talk.map(|d| at + d);
                }
                _ => {}
            }
        } else {
            match self.state {
                LineState::Talking { caller } => {
                    if let Some(c) = callers.get_mut(caller) {
                        c.end(at, EndReason::DriverHungUp);
                    }
                }
                LineState::Calling { party } | LineState::Connected { party } => {
                    if let Some(p) = parties.get_mut(party) {
                        p.peer.end(at, EndReason::DriverHungUp);
                    }
                }
                _ => {}
            }
            // The port's on-hook releases the line whatever it was doing:
            // a caller it talked to has been ended above.
            self.go_idle();
            self.ndigits = 0;
            if self.polarity == Polarity::Reversed {
                self.reverse(at, events);
            }
        }
    }

    /// The driver went away: the port is on-hook now.
    pub fn detach(&mut self, at: BoardTime, callers: &mut [Peer], parties: &mut [Party], events: &mut Vec<BoardEvent>) {
        if !self.port_off_hook {
            return;
        }
        self.port_off_hook = false;
        if let Some(c) = self.caller().and_then(|c| callers.get_mut(c)) {
            c.end(at, EndReason::DriverDetached);
        }
        if let Some(p) = self.party().and_then(|p| parties.get_mut(p)) {
            p.peer.end(at, EndReason::DriverDetached);
        }
        self.go_idle();
        self.ndigits = 0;
        if self.polarity == Polarity::Reversed {
            self.reverse(at, events);
        }
    }

    /// Run the line's timers for the tick `[now, end)`.
    #[allow(clippy::too_many_arguments)]
    pub fn run_timers(
        &mut self,
        now: BoardTime,
        end: BoardTime,
        callers: &mut [Peer],
        parties: &mut [Party],
        timers: &CoTimers,
        profile: &CountryProfile,
        events: &mut Vec<BoardEvent>,
    ) {
        if let Some(t) = self.loop_restore_at.filter(|&t| t < end) {
            self.loop_restore_at = None;
            self.loop_current = true;
            self.ev(t.max(now), EventKind::LoopCurrentRestore, events);
        }
        match self.state {
            LineState::Alerting { caller } => {
                if let Some(t) = self.answer_at.filter(|&t| t < end) {
                    self.answer_at = None;
                    self.state = LineState::Ringing { caller };
                    self.ringer.start(t);
                }
            }
            LineState::Talking { .. } | LineState::Connected { .. } => {
                if let Some(t) = self.hangup_at.filter(|&t| t < end) {
                    self.hangup_at = None;
                    let _ = self.far_end_hangup(t.max(now), callers, parties, profile, events);
                }
            }
            _ => {}
        }
        if let LineState::Ringing { caller } = self.state {
            let give_up = self.give_up_at.filter(|&t| t < end);
            let until = give_up.unwrap_or(end);
            let port = self.port;
            let mut first_off = None;
            self.ringer.run(until, |e| {
                events.push(BoardEvent::channel(e.at, port, if e.on { EventKind::RingOn } else { EventKind::RingOff }));
                if e.ring_over && e.rings == 1 {
                    first_off = Some(e.at);
                }
            });
            if let Some(c) = callers.get_mut(caller) {
                c.rings = self.ringer.rings();
                if let (Some(off), CallerIdMode::Fsk) = (first_off, self.cfg.caller_id) {
                    self.cid.clear();
                    if fill_fsk_cid(&mut self.cid.samples, profile, &c.number) {
                        self.cid.start = Some(off + Duration::from_ms(CID_AFTER_RING_MS));
                    }
                }
            }
            if let Some(t) = give_up {
                let _ = self.far_end_hangup(t, callers, parties, profile, events);
            }
        }
        match self.state {
            LineState::Dialling => {
                let complete = match self.last_digit_end {
                    Some(t) if self.dtmf_rx.current().is_none() => {
                        let number = self.dialled();
                        let exact = parties.iter().any(|p| p.cfg.number == number);
                        let longer = parties
                            .iter()
                            .any(|p| p.cfg.number.len() > number.len() && p.cfg.number.starts_with(number));
                        if exact && !longer {
                            Some(t.max(now))
                        } else {
                            Some(t + timers.inter_digit).filter(|&d| d < end).map(|d| d.max(now))
                        }
                    }
                    _ => None,
                };
                if let Some(at) = complete {
                    self.route(at, parties, timers, profile);
                } else if self.ndigits == 0 && self.give_up_at.is_some_and(|t| t < end) {
                    self.give_up_at = None;
                    self.state = LineState::Failed(ProgressTone::Congestion);
                    self.play_tone(profile, ProgressTone::Congestion);
                }
            }
            LineState::Calling { party } => {
                if let Some(t) = self.answer_at.filter(|&t| t < end) {
                    self.answer_at = None;
                    self.give_up_at = None;
                    self.tone = None;
                    self.state = LineState::Connected { party };
                    if let Some(p) = parties.get_mut(party) {
                        p.peer.rings = self.ringer.rings();
                        p.peer.connect(t);
                        self.hangup_at = p.cfg.talk_for.map(|d| t + d);
                    }
                    self.ringer.stop(t);
                    if self.cfg.answer_supervision {
                        self.reverse(t.max(now), events);
                    }
                } else if let Some(t) = self.give_up_at.filter(|&t| t < end) {
                    self.give_up_at = None;
                    self.ringer.stop(t);
                    if let Some(p) = parties.get_mut(party) {
                        p.peer.end(t, EndReason::NoAnswer);
                    }
                    self.state = LineState::Failed(ProgressTone::Congestion);
                    self.play_tone(profile, ProgressTone::Congestion);
                } else {
                    // The party's phone rings with the country cadence.
                    self.ringer.run(end, |_| {});
                    if let Some(p) = parties.get_mut(party) {
                        p.peer.rings = self.ringer.rings();
                    }
                }
            }
            _ => {}
        }
    }

    /// The dialled number is complete at `at`: ring the party it names.
    fn route(&mut self, at: BoardTime, parties: &mut [Party], timers: &CoTimers, profile: &CountryProfile) {
        self.last_digit_end = None;
        self.give_up_at = None;
        let number = self.dialled();
        let Some(idx) = parties.iter().position(|p| p.cfg.number == number) else {
            let t = timers.unknown_number.unwrap_or(profile.unknown_number);
            self.state = LineState::Failed(t);
            self.play_tone(profile, t);
            return;
        };
        let party = &mut parties[idx];
        if party.peer.in_call() {
            self.state = LineState::Failed(ProgressTone::Busy);
            self.play_tone(profile, ProgressTone::Busy);
            return;
        }
        party.peer.begin(at, self.port);
        match party.cfg.behaviour {
            Behaviour::Busy => {
                party.peer.end(at, EndReason::Busy);
                self.state = LineState::Failed(ProgressTone::Busy);
                self.play_tone(profile, ProgressTone::Busy);
            }
            Behaviour::Answer { after } | Behaviour::Fax { after } => {
                self.state = LineState::Calling { party: idx };
                self.answer_at = Some(at + after);
                self.give_up_at = Some(at + timers.no_answer);
                self.ringer.start(at);
                self.play_tone(profile, ProgressTone::Ringback);
            }
            Behaviour::NoAnswer => {
                self.state = LineState::Calling { party: idx };
                self.answer_at = None;
                self.give_up_at = Some(at + timers.no_answer);
                self.ringer.start(at);
                self.play_tone(profile, ProgressTone::Ringback);
            }
        }
    }

    /// Audio for the tick starting at `now`: fill `to_port` (codes the
    /// driver receives) and take `from_port` (the driver's codes).
    #[allow(clippy::too_many_arguments)]
    pub fn run_audio(
        &mut self,
        now: BoardTime,
        law: Law,
        from_port: &[u8],
        to_port: &mut [u8],
        lin_in: &mut [i16],
        lin_out: &mut [i16],
        callers: &mut [Peer],
        parties: &mut [Party],
    ) {
        let peer: Option<&mut Peer> = match self.state {
            LineState::Talking { caller } => callers.get_mut(caller),
            LineState::Connected { party } => parties.get_mut(party).map(|p| &mut p.peer),
            _ => None,
        };
        // What the port hears.
        let mut silent = false;
        match (peer, self.tone.as_mut()) {
            (Some(p), _) => {
                p.speak(now, lin_out);
                p.hear(now, law, from_port, lin_in);
            }
            (None, Some(g)) => {
                let n = g.tx(lin_out);
                lin_out[n..].fill(0);
            }
            (None, None) => {
                lin_out.fill(0);
                silent = self.cid.start.is_none();
            }
        }
        self.cid.play(now, lin_out);
        if self.state == LineState::Dialling {
            g711::decode_block(law, from_port, lin_in);
            self.collect_digits(now, lin_in);
        }
        if !self.cfg.impairment.is_none() {
            if self.gain != 1.0 {
                for s in lin_out.iter_mut() {
                    *s = (*s as f32 * self.gain).round().clamp(-32768.0, 32767.0) as i16;
                }
            }
            if let Some(n) = self.noise.as_mut() {
                n.add_to(lin_out);
            }
            silent = false;
        }
        if silent {
            to_port.fill(law.silence());
        } else {
            g711::encode_block(law, lin_out, to_port);
        }
    }

    fn collect_digits(&mut self, now: BoardTime, lin: &[i16]) {
        self.dtmf_events.clear();
        self.dtmf_rx.rx(lin, &mut self.dtmf_events);
        for i in 0..self.dtmf_events.len() {
            match self.dtmf_events[i] {
                DtmfEvent::Begin { digit, .. } => {
                    // Dial tone stops at the first digit.
                    self.tone = None;
                    self.give_up_at = None;
                    if self.ndigits < MAX_DIALLED {
                        self.digits[self.ndigits] = digit.as_char() as u8;
                        self.ndigits += 1;
                    }
                    self.last_digit_end = None;
                }
                DtmfEvent::Digit(t) => {
                    let end = self.dtmf_origin + Duration::from_samples(t.end);
                    self.last_digit_end = Some(end.max(now));
                }
            }
        }
    }

    pub fn status(&self, peer: Option<String>) -> LineStatus {
        LineStatus {
            line: self.port.0,
            number: self.cfg.number.clone(),
            state: self.state.name(self.ndigits).to_string(),
            port_off_hook: self.port_off_hook,
            ringing: self.ringer.is_on(),
            rings: self.ringer.rings(),
            loop_current: self.loop_current,
            polarity: self.polarity,
            peer,
            digits: self.dialled().to_string(),
        }
    }
}

/// DTMF caller ID before the first ring: `A<number>C` (variant 1), 70 ms
/// tones with 70 ms gaps at −9 dBm0 per tone.
fn fill_dtmf_cid(buf: &mut Vec<i16>, number: &str) -> bool {
    buf.clear();
    let Ok(cid) = CallerId::with_number(number) else { return false };
    let tones = DtmfTxConfig::new(-9.0, 0.0, 70, 70);
    let Ok(mut g) = DtmfCidGenerator::new(&cid, DtmfCidFormat::StartAEndC, tones) else { return false };
    let cap = buf.capacity();
    buf.resize(cap, 0);
    let n = g.tx(buf);
    buf.truncate(n);
    n > 0
}

/// FSK caller ID (MDMF, calling number) between the first and second
/// ring, in the country's modulation.
fn fill_fsk_cid(buf: &mut Vec<i16>, profile: &CountryProfile, number: &str) -> bool {
    buf.clear();
    let standard = match profile.caller_id {
        CallerIdSignalling::Bell202 => CidStandard::Bell202,
        CallerIdSignalling::V23 => CidStandard::V23,
    };
    let Ok(cid) = CallerId::with_number(number) else { return false };
    let Ok(mut g) = CallerIdGenerator::new(&CidTxConfig::new(standard), &CidMessage::MdmfCallerId(cid)) else {
        return false;
    };
    let cap = buf.capacity();
    buf.resize(cap, 0);
    let n = g.tx(buf);
    buf.truncate(n);
    n > 0
}
