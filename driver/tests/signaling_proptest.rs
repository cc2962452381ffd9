//! Property tests of the analog lines: random sequences of board events,
//! detector reports and daemon commands, at random board times, against
//! several configurations. Whatever the sequence:
//! - nothing panics, the output buffer never overflows, and when the
//!   engine polls at every deadline no call makes more than two steps'
//!   worth of outputs (an input and a zero-length timer it started);
//! - no timer is left due after a call (`next_deadline() > now`) unless
//!   the buffer ran short of room;
//! - board commands alternate (no OffHook twice, RingStart twice, …) and
//!   agree with the state;
//! - the last detector set sent is the line's `detectors()`;
//! - after the phone or CO goes quiet and the daemon hangs up, the line is
//!   idle once the timeouts pass, with nothing pending.

use proptest::prelude::*;

use ctibox_driver::dsp::cid::CallerId;
use ctibox_driver::dsp::cid_dtmf::DtmfCidFormat;
use ctibox_driver::dsp::dtmf::DtmfDigit;
use ctibox_driver::dsp::faxtone::FaxTone;
use ctibox_driver::dsp::tones::{Country, ToneKind};
use ctibox_driver::hal::{Alarms, BoardTime, ChannelId, CommandKind, Duration, EventKind};
use ctibox_driver::signaling::analog::{
    AnalogLine, DigitString, DspInput, LineCommand, LineOutput, LineOutputs, LineState, MediaAction, MediaToken,
    STEP_OUTPUTS,
};
use ctibox_driver::signaling::digitmap::DigitMap;
use ctibox_driver::signaling::fxo::{CidReceive, DialToneWait, FxoConfig, FxoState};
use ctibox_driver::signaling::fxs::{CidSend, FxsConfig, FxsState};

#[derive(Debug, Clone)]
enum Input {
    Board(EventKind),
    Dsp(DspInput),
    Cmd(LineCommand),
    Poll,
}

fn digit() -> impl Strategy<Value = DtmfDigit> {
    (0usize..16).prop_map(|i| DtmfDigit::ALL[i])
}

fn tone() -> impl Strategy<Value = ToneKind> {
    (0usize..ToneKind::ALL.len()).prop_map(|i| ToneKind::ALL[i])
}

fn fax() -> impl Strategy<Value = FaxTone> {
    prop_oneof![Just(FaxTone::Cng), Just(FaxTone::Ans), Just(FaxTone::AnsAmPr), Just(FaxTone::V21Preamble)]
}

fn board() -> impl Strategy<Value = EventKind> {
    prop_oneof![
        3 => Just(EventKind::RingOn),
        3 => Just(EventKind::RingOff),
        1 => Just(EventKind::PolarityReversal),
        2 => Just(EventKind::LoopCurrentDrop),
        2 => Just(EventKind::LoopCurrentRestore),
        4 => Just(EventKind::OffHook),
        4 => Just(EventKind::OnHook),
        1 => Just(EventKind::Flash),
        1 => Just(EventKind::Alarm { alarms: Alarms::LOS }),
        1 => Just(EventKind::HdlcBadFrame),
    ]
}

fn dsp() -> impl Strategy<Value = DspInput> {
    prop_oneof![
        1 => digit().prop_map(DspInput::DigitBegin),
        3 => digit().prop_map(DspInput::Digit),
        2 => tone().prop_map(DspInput::Tone),
        1 => tone().prop_map(DspInput::ToneEnded),
        1 => Just(DspInput::CallerId(CallerId::with_number("5551234").unwrap())),
        1 => Just(DspInput::CallerIdFailed),
        1 => fax().prop_map(DspInput::Fax),
        1 => fax().prop_map(DspInput::FaxEnded),
        1 => Just(DspInput::VoiceStart),
        1 => Just(DspInput::VoiceStop),
        2 => (0u32..6, any::<bool>()).prop_map(|(t, finished)| DspInput::MediaDone { token: MediaToken(t), finished }),
    ]
}

fn command() -> impl Strategy<Value = LineCommand> {
    prop_oneof![
        1 => Just(LineCommand::Answer),
        2 => Just(LineCommand::Hangup),
        1 => prop_oneof![Just(""), Just("5"), Just("5551234"), Just("*72#")]
            .prop_map(|n| LineCommand::Dial { number: DigitString::new(n).unwrap() }),
        1 => Just(LineCommand::Flash),
        1 => Just(LineCommand::Ring { caller_id: None }),
        1 => Just(LineCommand::Ring { caller_id: Some(CallerId::with_number("100").unwrap()) }),
        1 => Just(LineCommand::StopRing),
        1 => Just(LineCommand::DialTone),
    ]
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        4 => board().prop_map(Input::Board),
        4 => dsp().prop_map(Input::Dsp),
        2 => command().prop_map(Input::Cmd),
        1 => Just(Input::Poll),
    ]
}

/// Milliseconds to the next input: mostly short (debounce, flash and ring
/// timing), sometimes long (timeouts), sometimes backwards.
fn step() -> impl Strategy<Value = i64> {
    prop_oneof![
        4 => 0i64..60,
        3 => 0i64..2000,
        1 => 0i64..30_000,
        1 => -500i64..0,
    ]
}

fn fxo_config(i: u8) -> FxoConfig {
    let mut c = FxoConfig::default();
    match i % 4 {
        0 => {}
        1 => {
            c.caller_id = CidReceive::DtmfBeforeRing;
            c.answer_rings = 0;
            c.answer_on_caller_id = false;
        }
        2 => {
            c.dial_tone = DialToneWait::Blind { delay_ms: 0 };
            c.progress.release_on_failure = false;
            c.disconnect.polarity = true;
            c.disconnect.dial_tone = true;
            c.disconnect.silence_ms = Some(5000);
            c.release_guard_ms = 0;
        }
        _ => c = FxoConfig::for_country(Country::Uk),
    }
    c
}

fn fxs_config(i: u8) -> FxsConfig {
    let mut c = FxsConfig::default();
    match i % 4 {
        0 => {}
        1 => c = FxsConfig::for_country(Country::Uk),
        2 => {
            c.release.loop_open_ms = Some(800);
            c.release.howler_after_ms = Some(5000);
            c.digit_map = DigitMap::parse("9.|*XX#|X").unwrap();
            c.hook.debounce_ms = 0;
        }
        _ => {
            c.caller_id = CidSend::DtmfBeforeRing { format: DtmfCidFormat::StartAEndHash };
            c.dial_tone = false;
            c.release.tone = None;
        }
    }
    c
}

/// What the board and media port would hold, followed from the outputs.
#[derive(Debug, Default)]
struct Port {
    off_hook: bool,
    ringing: bool,
    loop_open: bool,
}

struct Run {
    line: AnalogLine,
    out: LineOutputs,
    port: Port,
    /// Latest time given.
    now: BoardTime,
    /// Poll at every deadline before each input, as an engine that polls
    /// every tick would.
    dense: bool,
}

impl Run {
    fn new(line: AnalogLine) -> Self {
        Run { line, out: LineOutputs::new(), port: Port::default(), now: BoardTime::ZERO, dense: false }
    }

    fn apply(&mut self, t: BoardTime, input: &Input) {
        self.out.clear();
        match input {
            Input::Board(e) => self.line.on_board(t, e, &mut self.out),
            Input::Dsp(d) => self.line.on_dsp(t, d, &mut self.out),
            Input::Cmd(c) => self.line.on_command(t, c, &mut self.out),
            Input::Poll => self.line.poll(t, &mut self.out),
        }
        self.now = self.now.max(t);
        self.check(input);
    }

    fn check(&mut self, input: &Input) {
        assert_eq!(self.out.overflow(), 0, "{input:?}");
        if self.dense {
            assert!(self.out.len() <= 2 * STEP_OUTPUTS, "{input:?} made {} outputs: {:?}", self.out.len(), self.out);
        }
        if let Some(d) = self.line.next_deadline().filter(|_| self.out.room() >= STEP_OUTPUTS) {
            assert!(d > self.now, "timer {d} left due at {} after {input:?} in {}", self.now, self.line.state());
        }
        let mut last_detectors = None;
        for o in self.out.iter() {
            match o {
                LineOutput::Board(c) => match c {
                    CommandKind::OffHook => {
                        assert!(!self.port.off_hook, "OffHook twice");
                        self.port.off_hook = true;
                    }
                    CommandKind::OnHook => {
                        assert!(self.port.off_hook, "OnHook twice");
                        self.port.off_hook = false;
                    }
                    CommandKind::RingStart => {
                        assert!(!self.port.ringing, "RingStart twice");
                        self.port.ringing = true;
                    }
                    CommandKind::RingStop => {
                        assert!(self.port.ringing, "RingStop twice");
                        self.port.ringing = false;
                    }
                    CommandKind::SetLoopCurrent { on } => {
                        assert_eq!(self.port.loop_open, *on, "loop current set twice");
                        self.port.loop_open = !on;
                    }
                    other => panic!("unexpected board command {other:?}"),
                },
                LineOutput::Media(MediaAction::Detectors(d)) => last_detectors = Some(*d),
                _ => {}
            }
        }
        if let Some(d) = last_detectors {
            assert_eq!(d, self.line.detectors());
        }
        match (&self.line, self.line.state()) {
            (AnalogLine::Fxo(l), LineState::Fxo(s)) => {
                assert_eq!(self.port.off_hook, l.is_off_hook());
                assert_eq!(l.is_off_hook(), s.is_off_hook(), "hook in {s}");
                assert!(!self.port.ringing && !self.port.loop_open);
            }
            (AnalogLine::Fxs(l), LineState::Fxs(s)) => {
                assert_eq!(self.port.ringing, l.is_ringing());
                assert_eq!(l.is_ringing(), s == FxsState::Ringing, "ringing in {s}");
                assert_eq!(self.port.loop_open, l.is_loop_open());
                assert_eq!(l.is_loop_open(), s == FxsState::LoopOpen, "loop open in {s}");
                assert!(!self.port.off_hook);
            }
            _ => unreachable!(),
        }
    }

    /// Run every timer until `end`.
    fn settle(&mut self, end: BoardTime) {
        while let Some(d) = self.line.next_deadline().filter(|&d| d <= end) {
            self.apply(d, &Input::Poll);
        }
        self.apply(end, &Input::Poll);
    }

    fn feed(&mut self, steps: &[(i64, Input)]) {
        let mut t: i64 = 0;
        for (dt, input) in steps {
            t = (t + dt).max(0);
            let at = BoardTime::from_ms(t as u64);
            if self.dense {
                while let Some(d) = self.line.next_deadline().filter(|&d| d <= at) {
                    self.apply(d, &Input::Poll);
                }
            }
            self.apply(at, input);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: ProptestConfig::default().cases.max(512), ..ProptestConfig::default() })]

    #[test]
    fn fxo_never_sticks(cfg in 0u8..4, dense: bool, steps in prop::collection::vec((step(), input()), 0..200)) {
        let mut r = Run::new(AnalogLine::fxo(ChannelId(1), fxo_config(cfg)).unwrap());
        r.dense = dense;
        r.feed(&steps);
        // The CO goes quiet, the daemon hangs up.
        let t = r.now + Duration::from_ms(1);
        r.apply(t, &Input::Board(EventKind::RingOff));
        r.apply(t, &Input::Board(EventKind::LoopCurrentRestore));
        r.apply(t, &Input::Cmd(LineCommand::Hangup));
        r.settle(t + Duration::from_secs(120));
        prop_assert_eq!(r.line.state(), LineState::Fxo(FxoState::Idle));
        prop_assert!(!r.port.off_hook);
        prop_assert_eq!(r.line.next_deadline(), None);
    }

    #[test]
    fn fxs_never_sticks(cfg in 0u8..4, dense: bool, steps in prop::collection::vec((step(), input()), 0..200)) {
        let mut r = Run::new(AnalogLine::fxs(ChannelId(2), fxs_config(cfg)).unwrap());
        r.dense = dense;
        r.feed(&steps);
        // The phone hangs up, the daemon hangs up.
        let t = r.now + Duration::from_ms(1);
        r.apply(t, &Input::Board(EventKind::OnHook));
        r.apply(t, &Input::Cmd(LineCommand::Hangup));
        r.settle(t + Duration::from_secs(120));
        prop_assert_eq!(r.line.state(), LineState::Fxs(FxsState::Idle));
        prop_assert!(!r.port.ringing && !r.port.loop_open);
        prop_assert_eq!(r.line.next_deadline(), None);
    }
}

/// Long random walks (thousands of inputs, gaps up to 400 ms) through
/// both machines and every configuration, polled sparsely and densely.
#[test]
fn fxs_survives_a_long_random_walk() {
    use proptest::test_runner::{Config, TestRunner};
    let mut runner = TestRunner::new(Config { cases: 16, ..Config::default() });
    let strategy = prop::collection::vec((0i64..400, input()), 2000..4000);
    runner
        .run(&strategy, |steps| {
            for cfg in 0..4 {
                for dense in [false, true] {
                    let mut r = Run::new(AnalogLine::fxs(ChannelId(2), fxs_config(cfg)).unwrap());
                    r.dense = dense;
                    r.feed(&steps);
                    let mut r = Run::new(AnalogLine::fxo(ChannelId(1), fxo_config(cfg)).unwrap());
                    r.dense = dense;
                    r.feed(&steps);
                }
            }
            Ok(())
        })
        .unwrap();
}
