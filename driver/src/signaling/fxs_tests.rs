//! FXS unit tests on literal timelines (board times in ms).

// Configs are built from the defaults field by field, as in a TOML file.
#![allow(clippy::field_reassign_with_default)]

use super::*;
use crate::dsp::faxtone::FaxTone;
use crate::signaling::analog::{LineOutput, STEP_OUTPUTS};

use EventKind::{OffHook, OnHook};
use LineOutput::{Board, Event, Media};

fn at(v: u64) -> BoardTime {
    BoardTime::from_ms(v)
}

struct T {
    line: FxsLine,
    out: LineOutputs,
}

impl T {
    fn new(cfg: FxsConfig) -> Self {
        T { line: FxsLine::new(ChannelId(5), cfg).unwrap(), out: LineOutputs::new() }
    }
    fn take(&mut self) -> Vec<LineOutput> {
        assert_eq!(self.out.overflow(), 0);
        assert!(self.out.len() <= STEP_OUTPUTS, "one call made {} outputs", self.out.len());
        let v = self.out.iter().copied().collect();
        self.out.clear();
        v
    }
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
    /// DTMF keys, one per 200 ms from `t`; returns everything.
    fn keys(&mut self, t: u64, keys: &str) -> Vec<LineOutput> {
        let mut v = Vec::new();
        for (i, c) in keys.chars().enumerate() {
            let d = DtmfDigit::from_char(c).unwrap();
            v.extend(self.dsp(t + 200 * i as u64, DspInput::Digit(d)));
        }
        v
    }
    fn state(&self) -> FxsState {
        self.line.state()
    }
    /// Phone off-hook at `t` (reported 30 ms later), dial tone.
    fn off_hook(&mut self, t: u64) {
        self.board(t, OffHook);
        self.until(t + 30);
        assert_eq!(self.state(), FxsState::DialTone);
    }
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

fn media(v: &[LineOutput]) -> Vec<MediaAction> {
    v.iter()
        .filter_map(|o| match o {
            Media(m) => Some(*m),
            _ => None,
        })
        .collect()
}

fn tone(v: &[LineOutput]) -> Option<ToneKind> {
    v.iter().find_map(|o| match o {
        Media(MediaAction::PlayTone { kind, .. }) => Some(*kind),
        _ => None,
    })
}

fn token_of(v: &[LineOutput]) -> MediaToken {
    v.iter()
        .find_map(|o| match o {
            Media(
                MediaAction::PlayTone { token, .. }
                | MediaAction::SendCallerId { token, .. }
                | MediaAction::PlayHowler { token }
                | MediaAction::PlayDtmf { token, .. },
            ) => Some(*token),
            _ => None,
        })
        .expect("a media action with a token")
}

fn dialed(n: &str, end: DialEnd) -> LineEvent {
    LineEvent::Dialed { number: DigitString::new(n).unwrap(), end }
}

fn failed(n: &str, why: DialFailure) -> LineEvent {
    LineEvent::DialFailed { digits: DigitString::new(n).unwrap(), why }
}

const DTMF: Detectors = Detectors { dtmf: true, ..Detectors::NONE };
const CALL: Detectors = Detectors { dtmf: true, fax: true, ..Detectors::NONE };

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

#[test]
fn defaults_validate_and_errors_name_fields() {
    for c in Country::ALL {
        FxsConfig::for_country(c).validate().unwrap();
    }
    let mut c = FxsConfig::for_country(Country::Uk);
    c.cid_after_ring_ms = 2000;
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "cid_after_ring_ms (2000 ms) must be shorter than ring_cadence (pause) (2000 ms)"
    );
    let mut c = FxsConfig::default();
    c.hook.flash_max_ms = 50;
    assert!(matches!(c.validate(), Err(ConfigError::Order { field: "hook.flash_min_ms", .. })));
    let mut c = FxsConfig::default();
    c.release.loop_open_ms = Some(10);
    assert!(matches!(c.validate(), Err(ConfigError::TooShort { field: "release.loop_open_ms", .. })));
    let mut c = FxsConfig::default();
    c.match_digit_ms = 0;
    assert!(matches!(c.validate(), Err(ConfigError::TooShort { field: "match_digit_ms", .. })));
    assert!(FxsLine::new(ChannelId(1), c).is_err());
    assert_eq!(FxsState::DialTone.to_string(), "dial_tone");
    assert!(FxsState::Howler.phone_off_hook() && !FxsState::Alerting.phone_off_hook());
}

// ---------------------------------------------------------------------------
// The phone calls
// ---------------------------------------------------------------------------

#[test]
fn off_hook_gives_dial_tone_after_the_debounce() {
    let mut t = T::new(FxsConfig::default());
    assert_eq!(t.line.detectors(), Detectors::NONE);
    assert_eq!(t.board(100, OffHook), vec![]);
    assert_eq!(t.until(129), vec![]);
    let v = t.until(130);
    assert_eq!(
        v,
        vec![
            Event(LineEvent::OffHook),
            Media(MediaAction::PlayTone { kind: ToneKind::Dial, token: MediaToken(1) }),
            Media(MediaAction::Detectors(DTMF)),
        ]
    );
    assert_eq!(t.state(), FxsState::DialTone);
    // A bounce shorter than the debounce is not a change.
    let mut t = T::new(FxsConfig::default());
    t.board(100, OffHook);
    t.board(110, OnHook);
    assert_eq!(t.until(1000), vec![]);
}

#[test]
fn complete_number_is_dialed_at_once() {
    let mut t = T::new(FxsConfig::default());
    t.off_hook(0);
    let v = t.dsp(1000, DspInput::Digit(DtmfDigit::D1));
    assert_eq!(v, vec![Media(MediaAction::Stop)]);
    assert_eq!(t.state(), FxsState::Collecting);
    assert_eq!(t.dsp(1200, DspInput::Digit(DtmfDigit::D2)), vec![]);
    let v = t.dsp(1400, DspInput::Digit(DtmfDigit::D3));
    assert_eq!(v, vec![Event(dialed("123", DialEnd::Match)), Media(MediaAction::Detectors(CALL))]);
    assert_eq!(t.state(), FxsState::Call);
    assert_eq!(t.until(100_000), vec![]);
}

#[test]
fn digit_begin_stops_dial_tone_early() {
    let mut t = T::new(FxsConfig::default());
    t.off_hook(0);
    assert_eq!(t.dsp(1000, DspInput::DigitBegin(DtmfDigit::D0)), vec![Media(MediaAction::Stop)]);
    assert_eq!(t.state(), FxsState::Collecting);
    assert_eq!(events(&t.dsp(1060, DspInput::Digit(DtmfDigit::D0))), vec![dialed("0", DialEnd::Match)]);
    // A begin that never became a digit: inter-digit timeout with no key.
    let mut t = T::new(FxsConfig::default());
    t.off_hook(0);
    t.dsp(1000, DspInput::DigitBegin(DtmfDigit::D0));
    assert_eq!(events(&t.until(9000)), vec![failed("", DialFailure::NoDigits)]);
}

#[test]
fn open_pattern_completes_on_the_match_timeout_or_the_end_key() {
    let mut t = T::new(FxsConfig::default());
    t.off_hook(0);
    t.keys(1000, "9555");
    // Last key at 1600; match timeout 3 s.
    assert_eq!(t.until(4599), vec![]);
    assert_eq!(events(&t.until(4600)), vec![dialed("9555", DialEnd::Timeout)]);
    let mut t = T::new(FxsConfig::default());
    t.off_hook(0);
    assert_eq!(events(&t.keys(1000, "9555#")), vec![dialed("9555", DialEnd::EndKey)]);
}

#[test]
fn end_key_is_a_digit_where_a_pattern_takes_it() {
    let mut c = FxsConfig::default();
    c.digit_map = DigitMap::parse("*XX#|1XX").unwrap();
    let mut t = T::new(c);
    t.off_hook(0);
    assert_eq!(events(&t.keys(1000, "*72#")), vec![dialed("*72#", DialEnd::Match)]);
}

#[test]
fn dial_failures_play_reorder() {
    // No key at all.
    let mut t = T::new(FxsConfig::default());
    t.off_hook(0);
    assert_eq!(t.until(16_029), vec![]);
    let v = t.until(16_030);
    assert_eq!(events(&v), vec![failed("", DialFailure::NoDigits)]);
    assert_eq!(tone(&v), Some(ToneKind::Congestion));
    assert_eq!(t.state(), FxsState::Reorder);
    // An incomplete number.
    let mut t = T::new(FxsConfig::default());
    t.off_hook(0);
    t.keys(1000, "12");
    assert_eq!(t.until(9199), vec![]);
    assert_eq!(events(&t.until(9200)), vec![failed("12", DialFailure::Timeout)]);
    // A key no pattern takes.
    let mut t = T::new(FxsConfig::default());
    t.off_hook(0);
    assert_eq!(events(&t.keys(1000, "5")), vec![failed("5", DialFailure::NoMatch)]);
    // The end key on an incomplete number.
    let mut t = T::new(FxsConfig::default());
    t.off_hook(0);
    assert_eq!(events(&t.keys(1000, "12#")), vec![failed("12", DialFailure::NoMatch)]);
    // Keys after the failure are ignored.
    assert_eq!(t.keys(2000, "123"), vec![]);
    // Too many keys.
    let mut c = FxsConfig::default();
    c.digit_map = DigitMap::parse("9.").unwrap();
    let mut t = T::new(c);
    t.off_hook(0);
    let v = events(&t.keys(1000, &"9".repeat(33)));
    assert_eq!(v, vec![failed(&"9".repeat(32), DialFailure::TooLong)]);
}

#[test]
fn howler_after_reorder() {
    let mut c = FxsConfig::default();
    c.release.howler_after_ms = Some(30_000);
    let mut t = T::new(c);
    t.off_hook(0);
    t.keys(1000, "5");
    let v = t.until(31_000);
    assert_eq!(media(&v), vec![MediaAction::Stop, MediaAction::PlayHowler { token: MediaToken(3) }]);
    assert_eq!(t.state(), FxsState::Howler);
    // Hang-up ends it.
    t.board(40_000, OnHook);
    let v = t.until(41_251);
    assert_eq!(events(&v), vec![LineEvent::OnHook, LineEvent::Idle]);
    assert_eq!(media(&v), vec![MediaAction::Stop]);
}

#[test]
fn hang_up_is_reported_after_the_flash_window() {
    let mut t = T::new(FxsConfig::default());
    t.off_hook(0);
    t.board(5000, OnHook);
    assert_eq!(t.until(6250), vec![], "still in the flash window");
    let v = t.until(6251);
    assert_eq!(
        v,
        vec![
            Event(LineEvent::OnHook),
            Media(MediaAction::Stop),
            Media(MediaAction::Detectors(Detectors::NONE)),
            Event(LineEvent::Idle),
        ]
    );
    assert_eq!(t.state(), FxsState::Idle);
    assert_eq!(t.line.next_deadline(), None);
}

#[test]
fn flash_during_a_call() {
    let mut t = T::new(FxsConfig::default());
    t.off_hook(0);
    t.keys(1000, "123");
    // 500 ms on-hook: flash.
    t.board(5000, OnHook);
    t.board(5500, OffHook);
    assert_eq!(events(&t.until(5530)), vec![LineEvent::Flash]);
    // 50 ms: nothing.
    t.board(8000, OnHook);
    t.board(8050, OffHook);
    assert_eq!(t.until(9000), vec![]);
    // A hardware-timed flash.
    assert_eq!(events(&t.board(9500, EventKind::Flash)), vec![LineEvent::Flash]);
    assert_eq!(t.state(), FxsState::Call);
    // The daemon gives dial tone for a consultation call.
    let v = t.cmd(10_000, LineCommand::DialTone);
    assert_eq!(tone(&v), Some(ToneKind::Dial));
    assert_eq!(t.state(), FxsState::DialTone);
    assert_eq!(events(&t.keys(11_000, "8123")), vec![dialed("8123", DialEnd::Match)]);
}

#[test]
fn flash_back_from_a_consultation_dial_tone() {
    let mut t = T::new(FxsConfig::default());
    t.off_hook(0);
    t.keys(1000, "123");
    assert_eq!(events(&t.board(5000, EventKind::Flash)), vec![LineEvent::Flash]);
    t.cmd(5100, LineCommand::DialTone);
    // A flash before any key: back to the call, dial tone off.
    let v = t.board(7000, EventKind::Flash);
    assert_eq!(events(&v), vec![LineEvent::Flash]);
    assert!(media(&v).contains(&MediaAction::Stop), "{v:?}");
    assert_eq!(t.state(), FxsState::Call);
    assert_eq!(t.line.next_deadline(), None, "no digit timer left");
    // Flash, two keys, flash: back again, the keys forgotten.
    t.board(9000, EventKind::Flash);
    t.cmd(9100, LineCommand::DialTone);
    t.keys(9500, "80");
    assert_eq!(t.state(), FxsState::Collecting);
    assert_eq!(events(&t.board(10_500, EventKind::Flash)), vec![LineEvent::Flash]);
    assert_eq!((t.state(), t.line.digits().len()), (FxsState::Call, 0));
    // No key at all: reorder; a flash still goes back.
    t.board(11_000, EventKind::Flash);
    t.cmd(11_100, LineCommand::DialTone);
    let v = t.until(11_100 + 16_001);
    assert!(matches!(events(&v)[..], [LineEvent::DialFailed { .. }]), "{v:?}");
    assert_eq!(t.state(), FxsState::Reorder);
    assert_eq!(events(&t.board(30_000, EventKind::Flash)), vec![LineEvent::Flash]);
    assert_eq!(t.state(), FxsState::Call);
    // A consultation number dialled: in the call again, flashes as usual.
    t.board(31_000, EventKind::Flash);
    t.cmd(31_100, LineCommand::DialTone);
    assert_eq!(events(&t.keys(31_500, "8123")), vec![dialed("8123", DialEnd::Match)]);
    assert_eq!(events(&t.board(33_000, EventKind::Flash)), vec![LineEvent::Flash]);
}

#[test]
fn flash_while_dialing_is_ignored() {
    let mut t = T::new(FxsConfig::default());
    t.off_hook(0);
    t.board(1000, OnHook);
    t.board(1300, OffHook);
    assert_eq!(t.until(2000), vec![]);
    assert_eq!(t.state(), FxsState::DialTone);
}

#[test]
fn digits_and_fax_in_a_call() {
    let mut t = T::new(FxsConfig::default());
    t.off_hook(0);
    t.keys(1000, "0");
    assert_eq!(
        events(&t.dsp(2000, DspInput::Digit(DtmfDigit::Star))),
        vec![LineEvent::Digit { digit: DtmfDigit::Star }]
    );
    assert_eq!(events(&t.dsp(3000, DspInput::Fax(FaxTone::Cng))), vec![LineEvent::FaxTone { tone: FaxTone::Cng }]);
}

#[test]
fn no_dial_tone_when_configured() {
    let mut c = FxsConfig::default();
    c.dial_tone = false;
    let mut t = T::new(c);
    t.board(0, OffHook);
    let v = t.until(30);
    assert_eq!(v, vec![Event(LineEvent::OffHook), Media(MediaAction::Detectors(CALL))]);
    assert_eq!(t.state(), FxsState::Call);
}

// ---------------------------------------------------------------------------
// The phone is called
// ---------------------------------------------------------------------------

fn cid() -> CallerId {
    CallerId::with_number("5551234").unwrap()
}

#[test]
fn ring_with_caller_id_after_the_first_ring() {
    let mut t = T::new(FxsConfig::default());
    let v = t.cmd(1000, LineCommand::Ring { caller_id: Some(cid()) });
    assert_eq!(v, vec![Board(CommandKind::RingStart)]);
    assert_eq!(t.state(), FxsState::Ringing);
    // US: the first ring ends at 2 s; caller ID 500 ms later.
    assert_eq!(t.until(3499), vec![]);
    let v = t.until(3500);
    assert_eq!(
        v,
        vec![Media(MediaAction::SendCallerId {
            caller_id: cid(),
            signal: CidSignal::Fsk { standard: CidStandard::Bell202, alert: false },
            token: MediaToken(1),
        })]
    );
    assert_eq!(t.dsp(4300, DspInput::MediaDone { token: MediaToken(1), finished: true }), vec![]);
    // The phone answers during ring 2.
    t.board(7500, OffHook);
    let v = t.until(7530);
    assert_eq!(v, vec![Board(CommandKind::RingStop), Event(LineEvent::Answered), Media(MediaAction::Detectors(CALL))]);
    assert_eq!(t.state(), FxsState::Call);
    assert!(!t.line.is_ringing());
}

#[test]
fn china_cadence_times_caller_id_from_its_first_ring() {
    let mut t = T::new(FxsConfig::for_country(Country::Cn));
    t.cmd(0, LineCommand::Ring { caller_id: Some(cid()) });
    assert_eq!(t.until(1499), vec![]);
    assert_eq!(media(&t.until(1500)).len(), 1);
}

#[test]
fn answer_during_caller_id_stops_it() {
    let mut t = T::new(FxsConfig::default());
    t.cmd(0, LineCommand::Ring { caller_id: Some(cid()) });
    t.until(2500);
    t.board(2700, OffHook);
    let v = t.until(2730);
    assert_eq!(v[..3], [Board(CommandKind::RingStop), Media(MediaAction::Stop), Event(LineEvent::Answered)]);
}

#[test]
fn ring_without_caller_id() {
    let mut t = T::new(FxsConfig::default());
    t.cmd(0, LineCommand::Ring { caller_id: None });
    assert_eq!(t.until(60_000), vec![]);
    let v = t.cmd(60_000, LineCommand::StopRing);
    assert_eq!(v, vec![Board(CommandKind::RingStop), Event(LineEvent::Idle)]);
    // Hangup stops ringing too, before caller ID is due.
    let mut t = T::new(FxsConfig::default());
    t.cmd(0, LineCommand::Ring { caller_id: Some(cid()) });
    assert_eq!(events(&t.cmd(1000, LineCommand::Hangup)), vec![LineEvent::Idle]);
    assert_eq!(t.until(10_000), vec![], "no caller ID after the ringing stopped");
}

#[test]
fn etsi_caller_id_before_the_first_ring() {
    let mut t = T::new(FxsConfig::for_country(Country::Uk));
    let v = t.cmd(0, LineCommand::Ring { caller_id: Some(cid()) });
    assert_eq!(
        v,
        vec![Media(MediaAction::SendCallerId {
            caller_id: cid(),
            signal: CidSignal::Fsk { standard: CidStandard::V23, alert: true },
            token: MediaToken(1),
        })]
    );
    assert_eq!(t.state(), FxsState::Alerting);
    assert_eq!(t.dsp(1100, DspInput::MediaDone { token: MediaToken(1), finished: true }), vec![]);
    assert_eq!(t.until(1399), vec![]);
    assert_eq!(t.until(1400), vec![Board(CommandKind::RingStart)]);
    assert_eq!(t.state(), FxsState::Ringing);
    // Its end never reported: ring after cid_max_ms, stopping it first.
    let mut t = T::new(FxsConfig::for_country(Country::Uk));
    t.cmd(0, LineCommand::Ring { caller_id: Some(cid()) });
    assert_eq!(t.until(4000), vec![Media(MediaAction::Stop), Board(CommandKind::RingStart)]);
    // Answered while alerting.
    let mut t = T::new(FxsConfig::for_country(Country::Uk));
    t.cmd(0, LineCommand::Ring { caller_id: Some(cid()) });
    t.board(500, OffHook);
    assert_eq!(events(&t.until(530)), vec![LineEvent::Answered]);
    assert_eq!(boards(&t.until(10_000)), vec![]);
}

#[test]
fn dtmf_caller_id_before_the_first_ring() {
    let mut c = FxsConfig::default();
    c.caller_id = CidSend::DtmfBeforeRing { format: DtmfCidFormat::StartAEndC };
    let mut t = T::new(c);
    let v = t.cmd(0, LineCommand::Ring { caller_id: Some(cid()) });
    assert!(matches!(
        media(&v)[..],
        [MediaAction::SendCallerId { signal: CidSignal::Dtmf { format: DtmfCidFormat::StartAEndC }, .. }]
    ));
    let token = token_of(&v);
    t.dsp(1500, DspInput::MediaDone { token, finished: true });
    assert_eq!(boards(&t.until(1800)), vec![CommandKind::RingStart]);
}

#[test]
fn ring_refused_while_off_hook() {
    let mut t = T::new(FxsConfig::default());
    t.off_hook(0);
    assert_eq!(
        events(&t.cmd(500, LineCommand::Ring { caller_id: None })),
        vec![LineEvent::Refused { command: "ring", state: "dial_tone" }]
    );
    for c in [LineCommand::Answer, LineCommand::Flash, LineCommand::Dial { number: DigitString::EMPTY }] {
        assert_eq!(events(&t.cmd(600, c)), vec![LineEvent::Refused { command: c.name(), state: "dial_tone" }]);
    }
    assert_eq!(
        events(&t.cmd(700, LineCommand::DialTone)),
        vec![LineEvent::Refused { command: "dial_tone", state: "dial_tone" }]
    );
}

// ---------------------------------------------------------------------------
// The daemon hangs up
// ---------------------------------------------------------------------------

#[test]
fn daemon_hangup_plays_busy_until_on_hook() {
    let mut t = T::new(FxsConfig::default());
    t.off_hook(0);
    t.keys(1000, "123");
    let v = t.cmd(5000, LineCommand::Hangup);
    assert_eq!(tone(&v), Some(ToneKind::Busy));
    assert_eq!(t.state(), FxsState::Released);
    assert_eq!(t.cmd(5100, LineCommand::Hangup), vec![]);
    assert_eq!(t.until(600_000), vec![]);
    t.board(600_000, OnHook);
    assert_eq!(events(&t.until(601_251)), vec![LineEvent::OnHook, LineEvent::Idle]);
}

#[test]
fn daemon_hangup_withdraws_loop_current_first() {
    let mut c = FxsConfig::default();
    c.release.loop_open_ms = Some(500);
    c.release.howler_after_ms = Some(20_000);
    let mut t = T::new(c);
    t.off_hook(0);
    t.keys(1000, "0");
    let v = t.cmd(5000, LineCommand::Hangup);
    assert_eq!(boards(&v), vec![CommandKind::SetLoopCurrent { on: false }]);
    assert_eq!(t.state(), FxsState::LoopOpen);
    assert!(t.line.is_loop_open());
    let v = t.until(5500);
    assert_eq!(boards(&v), vec![CommandKind::SetLoopCurrent { on: true }]);
    assert_eq!(tone(&v), Some(ToneKind::Busy));
    assert_eq!(t.state(), FxsState::Released);
    let v = t.until(25_500);
    assert!(media(&v).contains(&MediaAction::PlayHowler { token: MediaToken(3) }));
    assert_eq!(t.state(), FxsState::Howler);
}

#[test]
fn phone_hangs_up_while_loop_current_is_withdrawn() {
    let mut c = FxsConfig::default();
    c.release.loop_open_ms = Some(2000);
    let mut t = T::new(c);
    t.off_hook(0);
    t.keys(1000, "0");
    t.cmd(5000, LineCommand::Hangup);
    t.board(5100, OnHook);
    let v = t.until(6351);
    assert_eq!(boards(&v), vec![CommandKind::SetLoopCurrent { on: true }]);
    assert_eq!(events(&v), vec![LineEvent::OnHook, LineEvent::Idle]);
    assert_eq!(t.until(20_000), vec![]);
    assert!(!t.line.is_loop_open());
}

#[test]
fn silent_release_without_a_tone() {
    let mut c = FxsConfig::default();
    c.release.tone = None;
    let mut t = T::new(c);
    t.off_hook(0);
    let v = t.cmd(1000, LineCommand::Hangup);
    assert_eq!(v, vec![Media(MediaAction::Stop), Media(MediaAction::Detectors(Detectors::NONE))]);
    assert_eq!(t.state(), FxsState::Released);
}

#[test]
fn stale_media_done_is_ignored() {
    let mut t = T::new(FxsConfig::default());
    t.off_hook(0);
    assert_eq!(t.dsp(500, DspInput::MediaDone { token: MediaToken(99), finished: false }), vec![]);
    // The dial tone's own end (it was replaced elsewhere) forgets it.
    assert_eq!(t.dsp(600, DspInput::MediaDone { token: MediaToken(1), finished: false }), vec![]);
    assert_eq!(t.dsp(700, DspInput::Digit(DtmfDigit::D1)), vec![], "nothing left to stop");
}
