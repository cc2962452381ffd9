//! FXO unit tests on literal timelines (board times in ms).

// Configs are built from the defaults field by field, as in a TOML file.
#![allow(clippy::field_reassign_with_default)]

use super::*;
use crate::dsp::cid::CallerId;
use crate::dsp::dtmf::DtmfDigit;
use crate::dsp::faxtone::FaxTone;
use crate::signaling::analog::{LineOutput, STEP_OUTPUTS};

use EventKind::*;
use LineOutput::{Board, Event, Media};

fn at(v: u64) -> BoardTime {
    BoardTime::from_ms(v)
}

/// A line under test with a log of `(ms, output)`.
struct T {
    line: FxoLine,
    out: LineOutputs,
}

impl T {
    fn new(cfg: FxoConfig) -> Self {
        T { line: FxoLine::new(ChannelId(1), cfg).unwrap(), out: LineOutputs::new() }
    }
    fn take(&mut self) -> Vec<LineOutput> {
        assert_eq!(self.out.overflow(), 0);
        assert!(self.out.len() <= STEP_OUTPUTS, "one call made {} outputs", self.out.len());
        let v = self.out.iter().copied().collect();
        self.out.clear();
        v
    }
    /// Run timers up to `t` (firing each at its deadline), then return
    /// everything that came out.
    fn until(&mut self, t: u64) -> Vec<LineOutput> {
        let mut v = Vec::new();
        while let Some(d) = self.line.next_deadline().filter(|&d| d <= at(t)) {
            self.line.poll(d, &mut self.out);
            v.extend(self.take());
        }
        self.line.poll(at(t), &mut self.out);
        v.extend(self.take());
        v
    }
    fn board(&mut self, t: u64, ev: EventKind) -> Vec<LineOutput> {
        let mut v = self.until(t);
        self.line.on_board(at(t), &ev, &mut self.out);
        v.extend(self.take());
        v
    }
    fn dsp(&mut self, t: u64, input: DspInput) -> Vec<LineOutput> {
        let mut v = self.until(t);
        self.line.on_dsp(at(t), &input, &mut self.out);
        v.extend(self.take());
        v
    }
    fn cmd(&mut self, t: u64, c: LineCommand) -> Vec<LineOutput> {
        let mut v = self.until(t);
        self.line.on_command(at(t), &c, &mut self.out);
        v.extend(self.take());
        v
    }
    fn state(&self) -> FxoState {
        self.line.state()
    }
    /// One ring burst `on..off`; returns the outputs.
    fn ring(&mut self, on: u64, off: u64) -> Vec<LineOutput> {
        let mut v = self.board(on, RingOn);
        v.extend(self.board(off, RingOff));
        v
    }
    /// Ring and answer with the defaults' FSK caller ID: connected at 2500.
    fn inbound_connected(&mut self) {
        self.ring(0, 2000);
        let v = self.dsp(2500, DspInput::CallerId(cid("5551234")));
        assert!(v.contains(&Event(LineEvent::Answered)));
        assert_eq!(self.state(), FxoState::Connected);
    }
    /// Dial and get to proceeding at 1000.
    fn outbound_proceeding(&mut self) -> MediaToken {
        self.cmd(0, LineCommand::Dial { number: DigitString::new("123").unwrap() });
        let v = self.dsp(300, DspInput::Tone(ToneKind::Dial));
        let token = dtmf_token(&v);
        self.dsp(1000, DspInput::MediaDone { token, finished: true });
        assert_eq!(self.state(), FxoState::Proceeding);
        token
    }
}

fn cid(n: &str) -> CallerId {
    CallerId::with_number(n).unwrap()
}

fn events(v: &[LineOutput]) -> Vec<LineEvent> {
    v.iter()
        .filter_map(|o| match o {
            Event(e) => Some(*e),
            _ => None,
        })
        .collect()
}

fn boards(v: &[LineOutput]) -> Vec<CommandKind> {
    v.iter()
        .filter_map(|o| match o {
            Board(c) => Some(*c),
            _ => None,
        })
        .collect()
}

fn dtmf_token(v: &[LineOutput]) -> MediaToken {
    v.iter()
        .find_map(|o| match o {
            Media(MediaAction::PlayDtmf { token, .. }) => Some(*token),
            _ => None,
        })
        .expect("a PlayDtmf")
}

fn progress(r: ProgressResult) -> LineOutput {
    Event(LineEvent::Progress { result: r })
}

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

#[test]
fn defaults_validate_and_errors_name_fields() {
    for c in Country::ALL {
        FxoConfig::for_country(c).validate().unwrap();
    }
    let mut c = FxoConfig::default();
    c.flash_ms = 10;
    assert_eq!(c.validate().unwrap_err().to_string(), "flash_ms must be at least 50 ms, not 10 ms");
    let mut c = FxoConfig::default();
    c.dial_tone = DialToneWait::Detect { timeout_ms: 100 };
    assert!(matches!(c.validate(), Err(ConfigError::TooShort { field: "dial_tone.timeout_ms", .. })));
    let mut c = FxoConfig::default();
    c.dtmf.low_dbm0 = 10.0;
    assert!(matches!(c.validate(), Err(ConfigError::Invalid { field: "dtmf.low_dbm0", .. })));
    let mut c = FxoConfig::default();
    c.ring.stop_ms = 100;
    assert!(matches!(c.validate(), Err(ConfigError::TooShort { field: "ring.stop_ms", .. })));
    let mut c = FxoConfig::default();
    c.disconnect.silence_ms = Some(10);
    assert!(matches!(c.validate(), Err(ConfigError::TooShort { field: "disconnect.silence_ms", .. })));
    let mut c = FxoConfig::default();
    c.answer_rings = 99;
    assert!(matches!(c.validate(), Err(ConfigError::Invalid { field: "answer_rings", .. })));
    assert!(FxoLine::new(ChannelId(1), c).is_err());
}

#[test]
fn state_names() {
    assert_eq!(FxoState::Proceeding.to_string(), "proceeding");
    assert_eq!(FxoState::Guard.name(), "guard");
    assert!(FxoState::Held.is_off_hook() && !FxoState::Flashing.is_off_hook());
}

// ---------------------------------------------------------------------------
// Inbound
// ---------------------------------------------------------------------------

#[test]
fn idle_line_listens_for_caller_id() {
    let t = T::new(FxoConfig::default());
    assert_eq!(t.state(), FxoState::Idle);
    assert_eq!(t.line.detectors(), Detectors { cid_fsk: true, ..Detectors::NONE });
    let mut c = FxoConfig::default();
    c.caller_id = CidReceive::DtmfBeforeRing;
    assert_eq!(T::new(c).line.detectors(), Detectors { cid_dtmf: true, ..Detectors::NONE });
    c.caller_id = CidReceive::None;
    assert_eq!(T::new(c).line.detectors(), Detectors::NONE);
    assert_eq!(T::new(c).line.next_deadline(), None);
}

#[test]
fn fsk_caller_id_after_first_ring_answers_at_once() {
    let mut t = T::new(FxoConfig::default());
    // Ring 1 qualifies at 150 ms; caller ID is awaited.
    assert_eq!(t.board(0, RingOn), vec![]);
    assert_eq!(t.until(150), vec![Event(LineEvent::RingCount { count: 1 })]);
    assert_eq!(t.state(), FxoState::Ringing);
    assert_eq!(t.board(2000, RingOff), vec![]);
    let c = cid("5551234");
    let v = t.dsp(2900, DspInput::CallerId(c));
    assert_eq!(
        v,
        vec![
            Event(LineEvent::Incoming { caller_id: Some(c) }),
            Board(CommandKind::OffHook),
            Event(LineEvent::Answered),
            Media(MediaAction::Detectors(Detectors { dtmf: true, tones: true, fax: true, ..Detectors::NONE })),
        ]
    );
    assert_eq!(t.state(), FxoState::Connected);
    assert!(t.line.is_off_hook());
    // Ring-off from the CO after the answer is nothing.
    assert_eq!(t.board(2950, RingOff), vec![]);
    assert_eq!(t.until(60_000), vec![]);
}

#[test]
fn no_caller_id_answers_after_n_rings() {
    let mut c = FxoConfig::default();
    c.answer_on_caller_id = false;
    c.answer_rings = 3;
    let mut t = T::new(c);
    assert_eq!(events(&t.ring(0, 2000)), vec![LineEvent::RingCount { count: 1 }]);
    // Ring 2: the caller-ID window closed empty.
    assert_eq!(
        events(&t.ring(6000, 8000)),
        vec![LineEvent::RingCount { count: 2 }, LineEvent::Incoming { caller_id: None }]
    );
    let v = t.ring(12_000, 14_000);
    assert_eq!(
        v[..3],
        [Event(LineEvent::RingCount { count: 3 }), Board(CommandKind::OffHook), Event(LineEvent::Answered)]
    );
    assert_eq!(t.state(), FxoState::Connected);
    assert_eq!(t.line.rings(), 3);
}

#[test]
fn caller_id_does_not_answer_before_the_ring_count_when_told_not_to() {
    let mut c = FxoConfig::default();
    c.answer_on_caller_id = false;
    let mut t = T::new(c);
    t.ring(0, 2000);
    let n = cid("100");
    assert_eq!(events(&t.dsp(2600, DspInput::CallerId(n))), vec![LineEvent::Incoming { caller_id: Some(n) }]);
    // A second message is ignored.
    assert_eq!(t.dsp(2700, DspInput::CallerId(cid("200"))), vec![]);
    let v = events(&t.ring(6000, 8000));
    assert_eq!(v, vec![LineEvent::RingCount { count: 2 }, LineEvent::Answered]);
}

#[test]
fn damaged_caller_id_closes_the_window() {
    let mut c = FxoConfig::default();
    c.answer_rings = 2;
    let mut t = T::new(c);
    t.ring(0, 2000);
    assert_eq!(events(&t.dsp(2600, DspInput::CallerIdFailed)), vec![LineEvent::Incoming { caller_id: None }]);
    assert_eq!(t.state(), FxoState::Ringing);
    assert_eq!(events(&t.ring(6000, 8000)), vec![LineEvent::RingCount { count: 2 }, LineEvent::Answered]);
}

#[test]
fn answer_at_ring_one_waits_for_the_caller_id_window() {
    let mut c = FxoConfig::default();
    c.answer_rings = 1;
    c.answer_on_caller_id = false;
    let mut t = T::new(c);
    assert_eq!(events(&t.ring(0, 2000)), vec![LineEvent::RingCount { count: 1 }]);
    assert_eq!(
        events(&t.dsp(2600, DspInput::CallerIdFailed)),
        vec![LineEvent::Incoming { caller_id: None }, LineEvent::Answered]
    );
}

#[test]
fn dtmf_caller_id_before_the_first_ring() {
    let mut c = FxoConfig::default();
    c.caller_id = CidReceive::DtmfBeforeRing;
    let mut t = T::new(c);
    let n = cid("13800138000");
    assert_eq!(t.dsp(0, DspInput::CallerId(n)), vec![]);
    // The first ring brings the held caller ID, and it answers (caller ID
    // arrived, answer_on_caller_id).
    let v = events(&t.ring(1000, 2000));
    assert_eq!(
        v,
        vec![LineEvent::RingCount { count: 1 }, LineEvent::Incoming { caller_id: Some(n) }, LineEvent::Answered]
    );
}

#[test]
fn held_caller_id_expires() {
    let mut c = FxoConfig::default();
    c.caller_id = CidReceive::FskBeforeRing;
    c.answer_rings = 0;
    let mut t = T::new(c);
    t.dsp(0, DspInput::CallerId(cid("1")));
    assert_eq!(t.line.next_deadline(), Some(at(5000)));
    let v = events(&t.ring(6000, 7000));
    assert_eq!(v, vec![LineEvent::RingCount { count: 1 }, LineEvent::Incoming { caller_id: None }]);
}

#[test]
fn ringing_that_stops_is_reported_with_its_incoming() {
    let mut c = FxoConfig::default();
    c.answer_rings = 0;
    c.answer_on_caller_id = false;
    let mut t = T::new(c);
    t.ring(0, 2000);
    assert_eq!(t.until(8999), vec![]);
    assert_eq!(
        events(&t.until(9000)),
        vec![LineEvent::Incoming { caller_id: None }, LineEvent::RingingStopped, LineEvent::Idle]
    );
    assert_eq!(t.state(), FxoState::Idle);
    assert_eq!(t.line.next_deadline(), None);
}

#[test]
fn daemon_answer_during_the_first_ring() {
    let mut c = FxoConfig::default();
    c.answer_rings = 0;
    let mut t = T::new(c);
    t.board(0, RingOn);
    t.until(200);
    let v = t.cmd(500, LineCommand::Answer);
    assert_eq!(
        v[..3],
        [Event(LineEvent::Incoming { caller_id: None }), Board(CommandKind::OffHook), Event(LineEvent::Answered)]
    );
    // A second Answer is refused.
    assert_eq!(
        events(&t.cmd(600, LineCommand::Answer)),
        vec![LineEvent::Refused { command: "answer", state: "connected" }]
    );
}

#[test]
fn declined_call_rings_out_quietly() {
    let mut t = T::new(FxoConfig::default());
    t.ring(0, 2000);
    assert_eq!(t.cmd(2100, LineCommand::Hangup), vec![]);
    // Caller ID and ring 2 neither answer nor report.
    assert_eq!(t.dsp(2600, DspInput::CallerId(cid("1"))), vec![]);
    assert_eq!(t.ring(6000, 8000), vec![]);
    assert_eq!(events(&t.until(15_000)), vec![LineEvent::RingingStopped, LineEvent::Idle]);
    // Declined, then answered after all: reported in full.
    let mut t = T::new(FxoConfig::default());
    t.ring(0, 2000);
    t.cmd(2100, LineCommand::Hangup);
    t.dsp(2600, DspInput::CallerId(cid("1")));
    assert_eq!(
        events(&t.cmd(3000, LineCommand::Answer)),
        vec![LineEvent::Incoming { caller_id: Some(cid("1")) }, LineEvent::Answered]
    );
}

#[test]
fn ring_spikes_are_not_calls() {
    let mut t = T::new(FxoConfig::default());
    assert_eq!(t.ring(0, 60), vec![]);
    assert_eq!(t.until(20_000), vec![]);
    assert_eq!(t.state(), FxoState::Idle);
}

// ---------------------------------------------------------------------------
// Connected: far-end disconnect
// ---------------------------------------------------------------------------

#[test]
fn loop_current_drop_disconnects_after_the_cpc_time() {
    let mut t = T::new(FxoConfig::default());
    t.inbound_connected();
    // A 50 ms glitch is nothing.
    t.board(10_000, LoopCurrentDrop);
    assert_eq!(t.board(10_050, LoopCurrentRestore), vec![]);
    assert_eq!(t.line.loop_current_stats().glitches, 1);
    t.board(20_000, LoopCurrentDrop);
    assert_eq!(t.until(20_099), vec![]);
    assert_eq!(
        t.until(20_100),
        vec![
            Event(LineEvent::Disconnected { cause: DisconnectCause::LoopCurrent }),
            Board(CommandKind::OnHook),
            Media(MediaAction::Detectors(Detectors { cid_fsk: true, ..Detectors::NONE })),
        ]
    );
    assert_eq!(t.state(), FxoState::Guard);
    assert_eq!(t.board(20_600, LoopCurrentRestore), vec![]);
    assert_eq!(events(&t.until(21_600)), vec![LineEvent::Idle]);
    assert_eq!(t.state(), FxoState::Idle);
}

#[test]
fn polarity_reversal_disconnects_when_configured() {
    let mut c = FxoConfig::default();
    c.disconnect.polarity = true;
    let mut t = T::new(c);
    t.inbound_connected();
    // Within polarityonanswerdelay of the answer: ignored.
    assert_eq!(t.board(2900, PolarityReversal), vec![]);
    let v = t.board(30_000, PolarityReversal);
    assert_eq!(events(&v), vec![LineEvent::Disconnected { cause: DisconnectCause::Polarity }]);
    assert_eq!(boards(&v), vec![CommandKind::OnHook]);
    // Not configured: reversals are ignored.
    let mut t = T::new(FxoConfig::default());
    t.inbound_connected();
    assert_eq!(t.board(30_000, PolarityReversal), vec![]);
}

#[test]
fn tones_disconnect_as_configured() {
    for (kind, hangs) in
        [(ToneKind::Busy, true), (ToneKind::Congestion, true), (ToneKind::Dial, false), (ToneKind::Ringback, false)]
    {
        let mut t = T::new(FxoConfig::default());
        t.inbound_connected();
        let v = events(&t.dsp(9000, DspInput::Tone(kind)));
        if hangs {
            assert_eq!(v, vec![LineEvent::Disconnected { cause: DisconnectCause::Tone(kind) }], "{kind}");
        } else {
            assert_eq!(v, vec![], "{kind}");
        }
    }
    let mut c = FxoConfig::default();
    c.disconnect.dial_tone = true;
    c.disconnect.busy_tone = false;
    let mut t = T::new(c);
    t.inbound_connected();
    assert_eq!(t.dsp(9000, DspInput::Tone(ToneKind::Busy)), vec![]);
    assert_eq!(
        events(&t.dsp(9100, DspInput::Tone(ToneKind::Dial))),
        vec![LineEvent::Disconnected { cause: DisconnectCause::Tone(ToneKind::Dial) }]
    );
}

#[test]
fn silence_timeout_disconnects() {
    let mut c = FxoConfig::default();
    c.disconnect.silence_ms = Some(10_000);
    let mut t = T::new(c);
    t.inbound_connected();
    assert!(t.line.detectors().vad);
    // Connected at 2500; voice 4000..16 000; silence from 16 000.
    t.dsp(4000, DspInput::VoiceStart);
    assert_eq!(t.until(15_000), vec![]);
    t.dsp(16_000, DspInput::VoiceStop);
    assert_eq!(t.until(25_999), vec![]);
    assert_eq!(events(&t.until(26_000)), vec![LineEvent::Disconnected { cause: DisconnectCause::Silence }]);
    // Never a word: 10 s after the answer.
    let mut t = T::new(c);
    t.inbound_connected();
    assert_eq!(events(&t.until(12_500)), vec![LineEvent::Disconnected { cause: DisconnectCause::Silence }]);
}

#[test]
fn digits_and_fax_tones_while_connected() {
    let mut t = T::new(FxoConfig::default());
    t.inbound_connected();
    assert_eq!(events(&t.dsp(3000, DspInput::Digit(DtmfDigit::D5))), vec![LineEvent::Digit { digit: DtmfDigit::D5 }]);
    assert_eq!(events(&t.dsp(4000, DspInput::Fax(FaxTone::Cng))), vec![LineEvent::FaxTone { tone: FaxTone::Cng }]);
    assert_eq!(t.dsp(4500, DspInput::FaxEnded(FaxTone::Cng)), vec![]);
}

// ---------------------------------------------------------------------------
// Daemon commands on a connected line
// ---------------------------------------------------------------------------

#[test]
fn hangup_then_guard_then_idle() {
    let mut t = T::new(FxoConfig::default());
    t.inbound_connected();
    let v = t.cmd(10_000, LineCommand::Hangup);
    assert_eq!(boards(&v), vec![CommandKind::OnHook]);
    assert_eq!(events(&v), vec![]);
    assert_eq!(t.state(), FxoState::Guard);
    assert_eq!(
        events(&t.cmd(10_500, LineCommand::Dial { number: DigitString::new("1").unwrap() })),
        vec![LineEvent::Refused { command: "dial", state: "guard" }]
    );
    assert_eq!(t.cmd(10_600, LineCommand::Hangup), vec![], "hangup is idempotent");
    assert_eq!(events(&t.until(11_500)), vec![LineEvent::Idle]);
    let v = t.cmd(11_600, LineCommand::Dial { number: DigitString::new("1").unwrap() });
    assert_eq!(boards(&v), vec![CommandKind::OffHook]);
}

#[test]
fn ringing_during_the_guard_is_a_new_call() {
    let mut t = T::new(FxoConfig::default());
    t.inbound_connected();
    t.cmd(10_000, LineCommand::Hangup);
    t.board(10_500, RingOn);
    assert_eq!(events(&t.until(10_650)), vec![LineEvent::RingCount { count: 1 }]);
    assert_eq!(t.state(), FxoState::Ringing);
    assert_eq!(t.until(13_000), vec![], "no Idle from the old guard timer");
}

#[test]
fn flash_opens_the_loop_for_750_ms() {
    let mut t = T::new(FxoConfig::default());
    t.inbound_connected();
    let v = t.cmd(5000, LineCommand::Flash);
    assert_eq!(v, vec![Board(CommandKind::OnHook)]);
    assert_eq!(t.state(), FxoState::Flashing);
    // The CO's view of our open loop is no disconnect.
    t.board(5010, LoopCurrentDrop);
    assert_eq!(t.until(5749), vec![]);
    assert_eq!(t.until(5750), vec![Board(CommandKind::OffHook), Event(LineEvent::FlashDone)]);
    t.board(5760, LoopCurrentRestore);
    assert_eq!(t.state(), FxoState::Connected);
    assert_eq!(t.until(20_000), vec![]);
    // Hangup during a flash.
    t.cmd(21_000, LineCommand::Flash);
    let v = t.cmd(21_100, LineCommand::Hangup);
    assert_eq!(boards(&v), vec![]);
    assert_eq!(t.state(), FxoState::Guard);
}

#[test]
fn refusals() {
    let mut t = T::new(FxoConfig::default());
    for c in [LineCommand::Answer, LineCommand::Flash, LineCommand::Ring { caller_id: None }, LineCommand::StopRing] {
        assert_eq!(events(&t.cmd(0, c)), vec![LineEvent::Refused { command: c.name(), state: "idle" }]);
    }
    t.board(100, RingOn);
    t.until(300);
    assert_eq!(
        events(&t.cmd(400, LineCommand::Dial { number: DigitString::new("1").unwrap() })),
        vec![LineEvent::Refused { command: "dial", state: "ringing" }]
    );
}

// ---------------------------------------------------------------------------
// Outbound
// ---------------------------------------------------------------------------

#[test]
fn outbound_answered_by_polarity() {
    let mut t = T::new(FxoConfig::default());
    let number = DigitString::new("5551234").unwrap();
    let v = t.cmd(0, LineCommand::Dial { number });
    assert_eq!(
        v,
        vec![Board(CommandKind::OffHook), Media(MediaAction::Detectors(Detectors { tones: true, ..Detectors::NONE }))]
    );
    assert_eq!(t.state(), FxoState::Seized);
    let v = t.dsp(400, DspInput::Tone(ToneKind::Dial));
    let token = dtmf_token(&v);
    assert_eq!(v, vec![Media(MediaAction::PlayDtmf { digits: number, tx: FxoConfig::default().dtmf, token })]);
    assert_eq!(t.state(), FxoState::Dialing);
    // The tone detector still hears dial tone: nothing.
    assert_eq!(t.dsp(500, DspInput::Tone(ToneKind::Dial)), vec![]);
    let v = t.dsp(1800, DspInput::MediaDone { token, finished: true });
    assert_eq!(
        v,
        vec![Media(MediaAction::Detectors(Detectors { tones: true, fax: true, vad: true, ..Detectors::NONE }))]
    );
    assert_eq!(t.state(), FxoState::Proceeding);
    assert_eq!(t.dsp(4000, DspInput::Tone(ToneKind::Ringback)), vec![progress(ProgressResult::Ringback)]);
    // Ringback again after a detector restart is not reported twice.
    assert_eq!(t.dsp(9000, DspInput::Tone(ToneKind::Ringback)), vec![]);
    let v = t.board(12_000, PolarityReversal);
    assert_eq!(v[0], progress(ProgressResult::Answered { by: AnswerBy::Polarity }));
    assert_eq!(t.state(), FxoState::Connected);
    // Polarity back when the far end hangs up (configured), past the gap.
    let mut c = FxoConfig::default();
    c.disconnect.polarity = true;
    let mut t = T::new(c);
    t.outbound_proceeding();
    t.board(5000, PolarityReversal);
    assert_eq!(
        events(&t.board(50_000, PolarityReversal)),
        vec![LineEvent::Disconnected { cause: DisconnectCause::Polarity }]
    );
}

#[test]
fn outbound_answered_by_voice_after_ringback() {
    let mut c = FxoConfig::default();
    c.disconnect.polarity = true;
    let mut t = T::new(c);
    t.outbound_proceeding();
    t.dsp(2000, DspInput::Tone(ToneKind::Ringback));
    // Voice while ringback is on (the detector has not ended it yet).
    assert_eq!(t.dsp(8000, DspInput::VoiceStart), vec![]);
    let v = t.dsp(8100, DspInput::ToneEnded(ToneKind::Ringback));
    assert_eq!(v[0], progress(ProgressResult::Answered { by: AnswerBy::Voice }));
    assert_eq!(t.state(), FxoState::Connected);
    // The CO's late answer supervision is not a disconnect…
    assert_eq!(t.board(9000, PolarityReversal), vec![]);
    // …but the next reversal is.
    assert_eq!(
        events(&t.board(30_000, PolarityReversal)),
        vec![LineEvent::Disconnected { cause: DisconnectCause::Polarity }]
    );
}

#[test]
fn outbound_answered_by_voice_without_ringback() {
    let mut t = T::new(FxoConfig::default());
    t.outbound_proceeding();
    let v = t.dsp(3000, DspInput::VoiceStart);
    assert_eq!(v[0], progress(ProgressResult::Answered { by: AnswerBy::Voice }));
    // Voice that stopped before ringback ended is no answer.
    let mut t = T::new(FxoConfig::default());
    t.outbound_proceeding();
    t.dsp(2000, DspInput::Tone(ToneKind::Ringback));
    t.dsp(3000, DspInput::VoiceStart);
    t.dsp(3500, DspInput::VoiceStop);
    assert_eq!(t.dsp(4000, DspInput::ToneEnded(ToneKind::Ringback)), vec![]);
    assert_eq!(t.state(), FxoState::Proceeding);
    // Not configured: voice answers nothing.
    let mut c = FxoConfig::default();
    c.progress.answer_on_voice = false;
    let mut t = T::new(c);
    t.outbound_proceeding();
    assert_eq!(t.dsp(3000, DspInput::VoiceStart), vec![]);
}

#[test]
fn outbound_failures_release_the_line() {
    for (tone, result) in [(ToneKind::Busy, ProgressResult::Busy), (ToneKind::Congestion, ProgressResult::Congestion)] {
        let mut t = T::new(FxoConfig::default());
        t.outbound_proceeding();
        let v = t.dsp(3000, DspInput::Tone(tone));
        assert_eq!(v[..2], [progress(result), Board(CommandKind::OnHook)]);
        assert_eq!(t.state(), FxoState::Guard);
        assert_eq!(events(&t.until(4500)), vec![LineEvent::Idle]);
    }
}

#[test]
fn busy_while_dialing_stops_the_digits() {
    let mut t = T::new(FxoConfig::default());
    t.cmd(0, LineCommand::Dial { number: DigitString::new("123456").unwrap() });
    t.dsp(300, DspInput::Tone(ToneKind::Dial));
    let v = t.dsp(700, DspInput::Tone(ToneKind::Busy));
    assert_eq!(v[..3], [Media(MediaAction::Stop), progress(ProgressResult::Busy), Board(CommandKind::OnHook)]);
}

#[test]
fn sit_holds_the_line_for_the_daemon() {
    let mut t = T::new(FxoConfig::default());
    t.outbound_proceeding();
    let v = t.dsp(3000, DspInput::Tone(ToneKind::Sit));
    assert_eq!(v[0], progress(ProgressResult::Sit));
    assert_eq!(boards(&v), vec![]);
    assert_eq!(t.state(), FxoState::Held);
    assert_eq!(t.until(100_000), vec![]);
    let v = t.cmd(100_000, LineCommand::Hangup);
    assert_eq!(boards(&v), vec![CommandKind::OnHook]);
}

#[test]
fn failures_held_when_configured() {
    let mut c = FxoConfig::default();
    c.progress.release_on_failure = false;
    let mut t = T::new(c);
    t.outbound_proceeding();
    t.dsp(3000, DspInput::Tone(ToneKind::Busy));
    assert_eq!(t.state(), FxoState::Held);
    // The CO clears down: loop current drop.
    t.board(20_000, LoopCurrentDrop);
    assert_eq!(events(&t.until(20_100)), vec![LineEvent::Disconnected { cause: DisconnectCause::LoopCurrent }]);
    assert_eq!(t.state(), FxoState::Guard);
}

#[test]
fn no_dial_tone() {
    let mut t = T::new(FxoConfig::default());
    t.cmd(0, LineCommand::Dial { number: DigitString::new("1").unwrap() });
    assert_eq!(t.until(4999), vec![]);
    let v = t.until(5000);
    assert_eq!(v[..2], [progress(ProgressResult::NoDialTone), Board(CommandKind::OnHook)]);
}

#[test]
fn no_answer_timed_from_the_first_ringback() {
    let mut t = T::new(FxoConfig::default());
    t.outbound_proceeding();
    t.dsp(5000, DspInput::Tone(ToneKind::Ringback));
    assert_eq!(t.until(64_999), vec![]);
    assert_eq!(t.until(65_000)[0], progress(ProgressResult::NoAnswer));
    // Nothing at all: timed from the end of dialling (1000).
    let mut t = T::new(FxoConfig::default());
    t.outbound_proceeding();
    assert_eq!(t.until(60_999), vec![]);
    assert_eq!(t.until(61_000)[0], progress(ProgressResult::NoAnswer));
}

#[test]
fn blind_dial_and_lost_media_done() {
    let mut c = FxoConfig::default();
    c.dial_tone = DialToneWait::Blind { delay_ms: 2000 };
    let mut t = T::new(c);
    t.cmd(0, LineCommand::Dial { number: DigitString::new("12").unwrap() });
    // Dial tone is not waited for.
    assert_eq!(t.dsp(300, DspInput::Tone(ToneKind::Dial)), vec![]);
    assert_eq!(t.until(1999), vec![]);
    let v = t.until(2000);
    let token = dtmf_token(&v);
    // A stale MediaDone is ignored.
    assert_eq!(t.dsp(2100, DspInput::MediaDone { token: MediaToken(token.0 + 7), finished: true }), vec![]);
    assert_eq!(t.state(), FxoState::Dialing);
    // Never reported: 2 digits × 200 ms + 2 s later, analysis starts anyway.
    t.until(4399);
    assert_eq!(t.state(), FxoState::Dialing);
    t.until(4400);
    assert_eq!(t.state(), FxoState::Proceeding);
    // Its late report is harmless.
    assert_eq!(t.dsp(4500, DspInput::MediaDone { token, finished: true }), vec![]);
}

#[test]
fn empty_number_goes_straight_to_progress() {
    let mut c = FxoConfig::default();
    c.dial_tone = DialToneWait::Blind { delay_ms: 0 };
    let mut t = T::new(c);
    t.cmd(0, LineCommand::Dial { number: DigitString::EMPTY });
    assert_eq!(t.state(), FxoState::Proceeding);
}

#[test]
fn fax_answer_connects() {
    let mut t = T::new(FxoConfig::default());
    t.outbound_proceeding();
    let v = t.dsp(5000, DspInput::Fax(FaxTone::AnsPr));
    assert_eq!(v[0], progress(ProgressResult::Fax { tone: FaxTone::AnsPr }));
    assert_eq!(t.state(), FxoState::Connected);
}

#[test]
fn loop_drop_while_proceeding_and_hangup_while_dialing() {
    let mut t = T::new(FxoConfig::default());
    t.outbound_proceeding();
    t.board(3000, LoopCurrentDrop);
    assert_eq!(events(&t.until(3100)), vec![LineEvent::Disconnected { cause: DisconnectCause::LoopCurrent }]);
    let mut t = T::new(FxoConfig::default());
    t.cmd(0, LineCommand::Dial { number: DigitString::new("12").unwrap() });
    t.dsp(300, DspInput::Tone(ToneKind::Dial));
    let v = t.cmd(400, LineCommand::Hangup);
    assert_eq!(v[..2], [Media(MediaAction::Stop), Board(CommandKind::OnHook)]);
}

#[test]
fn seizing_a_line_without_current_is_a_disconnect() {
    let mut t = T::new(FxoConfig::default());
    t.board(0, LoopCurrentDrop);
    assert_eq!(t.until(10_000), vec![], "idle: no report");
    t.cmd(10_000, LineCommand::Dial { number: DigitString::new("1").unwrap() });
    assert_eq!(events(&t.until(10_100)), vec![LineEvent::Disconnected { cause: DisconnectCause::LoopCurrent }]);
}

#[test]
fn time_going_backwards_is_taken_as_now() {
    let mut t = T::new(FxoConfig::default());
    t.board(1000, RingOn);
    // An input stamped earlier than the last.
    t.line.on_board(at(500), &RingOff, &mut t.out);
    assert_eq!(t.take(), vec![]);
    assert_eq!(t.state(), FxoState::Idle);
    t.line.on_dsp(at(100), &DspInput::VoiceStart, &mut t.out);
    assert_eq!(t.take(), vec![]);
}

#[test]
fn ring_voltage_is_followed_while_off_hook() {
    // Answered while the ring burst is still on; the CO's RingOff comes
    // while we are off-hook; after our release no phantom ring is counted.
    let mut c = FxoConfig::default();
    c.answer_rings = 0;
    let mut t = T::new(c);
    t.board(0, RingOn);
    t.cmd(150, LineCommand::Answer);
    t.board(400, RingOff);
    t.cmd(5000, LineCommand::Hangup);
    assert_eq!(events(&t.until(60_000)), vec![LineEvent::Idle]);
    assert_eq!(t.state(), FxoState::Idle);
    // Ring voltage still on when we release is a new call.
    let mut t = T::new(c);
    t.board(0, RingOn);
    t.cmd(150, LineCommand::Answer);
    t.cmd(5000, LineCommand::Hangup);
    assert_eq!(events(&t.until(5150)), vec![LineEvent::RingCount { count: 1 }]);
}
