//! Analog signalling end to end, without audio: our FXS and FXO state
//! machines against scripted phones and central offices, and against each
//! other through a wire that turns one port's board commands and media
//! into the other port's board events and detector reports.
//!
//! The harness is a small discrete-event simulator in board time (ms):
//! queued actions and the lines' own deadlines run in time order; every
//! line output is logged and shown to the "world", which schedules what
//! the other end does about it.

use std::collections::BTreeMap;

use ctibox_driver::dsp::cid::CallerId;
use ctibox_driver::dsp::cid_dtmf::DtmfCidFormat;
use ctibox_driver::dsp::dtmf::DtmfDigit;
use ctibox_driver::dsp::tones::{Country, ToneKind};
use ctibox_driver::hal::{BoardTime, ChannelId, CommandKind, EventKind};
use ctibox_driver::signaling::analog::{
    AnalogLine, AnswerBy, CidSignal, Detectors, DialEnd, DigitString, DisconnectCause, DspInput, LineCommand,
    LineEvent, LineOutput, LineOutputs, MediaAction, MediaToken, ProgressResult,
};
use ctibox_driver::signaling::fxo::{CidReceive, FxoConfig, FxoState};
use ctibox_driver::signaling::fxs::{CidSend, FxsConfig, FxsState, ReleaseConfig};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Side {
    Fxo,
    Fxs,
}

#[derive(Debug, Clone, Copy)]
enum Act {
    Board(Side, EventKind),
    Dsp(Side, DspInput),
    Cmd(Side, LineCommand),
    /// A world timer.
    Timer(u64),
}

/// What is behind the ports.
trait World {
    /// A port produced `o` at `t`.
    fn output(&mut self, t: u64, side: Side, o: &LineOutput, s: &mut Sched);
    /// A timer the world set went off.
    fn timer(&mut self, _t: u64, _id: u64, _s: &mut Sched) {}
}

#[derive(Default)]
struct Sched {
    acts: Vec<(u64, Act)>,
}

impl Sched {
    fn at(&mut self, t: u64, a: Act) {
        self.acts.push((t, a));
    }
}

struct Sim {
    lines: BTreeMap<Side, AnalogLine>,
    queue: BTreeMap<(u64, u64), Act>,
    seq: u64,
    out: LineOutputs,
    events: Vec<(u64, Side, LineEvent)>,
    boards: Vec<(u64, Side, CommandKind)>,
    media: Vec<(u64, Side, MediaAction)>,
    now: u64,
}

impl Sim {
    fn new() -> Self {
        Sim {
            lines: BTreeMap::new(),
            queue: BTreeMap::new(),
            seq: 0,
            out: LineOutputs::new(),
            events: Vec::new(),
            boards: Vec::new(),
            media: Vec::new(),
            now: 0,
        }
    }
    fn fxo(mut self, cfg: FxoConfig) -> Self {
        self.lines.insert(Side::Fxo, AnalogLine::fxo(ChannelId(1), cfg).unwrap());
        self
    }
    fn fxs(mut self, cfg: FxsConfig) -> Self {
        self.lines.insert(Side::Fxs, AnalogLine::fxs(ChannelId(2), cfg).unwrap());
        self
    }
    fn at(&mut self, t: u64, a: Act) {
        self.seq += 1;
        self.queue.insert((t, self.seq), a);
    }
    fn cmd(&mut self, t: u64, side: Side, c: LineCommand) {
        self.at(t, Act::Cmd(side, c));
    }
    fn state(&self, side: Side) -> String {
        self.lines[&side].state().to_string()
    }

    /// Run everything due up to `end` ms.
    fn run(&mut self, end: u64, world: &mut dyn World) {
        for _ in 0..1_000_000 {
            let q = self.queue.keys().next().map(|&(t, _)| t);
            let d =
                self.lines.iter().filter_map(|(&s, l)| l.next_deadline().map(|d| (d.samples().div_ceil(8), s))).min();
            let next = match (q, d) {
                (Some(q), Some((d, _))) => q.min(d),
                (Some(q), None) => q,
                (None, Some((d, _))) => d,
                (None, None) => break,
            };
            if next > end {
                break;
            }
            assert!(next >= self.now, "time went backwards: {next} < {}", self.now);
            self.now = next;
            let mut s = Sched::default();
            if q == Some(next) {
                let (_, act) = self.queue.pop_first().unwrap();
                match act {
                    Act::Timer(id) => world.timer(next, id, &mut s),
                    Act::Board(side, ev) => self.deliver(next, side, world, &mut s, |l, t, o| l.on_board(t, &ev, o)),
                    Act::Dsp(side, i) => self.deliver(next, side, world, &mut s, |l, t, o| l.on_dsp(t, &i, o)),
                    Act::Cmd(side, c) => self.deliver(next, side, world, &mut s, |l, t, o| l.on_command(t, &c, o)),
                }
            } else if let Some((_, side)) = d {
                self.deliver(next, side, world, &mut s, |l, t, o| l.poll(t, o));
            }
            for (t, a) in s.acts {
                assert!(t >= next);
                self.at(t, a);
            }
        }
        self.now = end;
        for (&side, l) in self.lines.iter_mut() {
            self.out.clear();
            l.poll(BoardTime::from_ms(end), &mut self.out);
            assert!(self.out.is_empty(), "{side:?}: outputs at the end of the run: {:?}", self.out);
        }
    }

    fn deliver(
        &mut self,
        t: u64,
        side: Side,
        world: &mut dyn World,
        s: &mut Sched,
        f: impl FnOnce(&mut AnalogLine, BoardTime, &mut LineOutputs),
    ) {
        let Some(line) = self.lines.get_mut(&side) else { return };
        self.out.clear();
        f(line, BoardTime::from_ms(t), &mut self.out);
        assert_eq!(self.out.overflow(), 0);
        for o in self.out.iter() {
            match o {
                LineOutput::Event(e) => self.events.push((t, side, *e)),
                LineOutput::Board(c) => self.boards.push((t, side, *c)),
                LineOutput::Media(m) => self.media.push((t, side, *m)),
            }
            world.output(t, side, o, s);
        }
    }

    fn events_of(&self, side: Side) -> Vec<(u64, LineEvent)> {
        self.events.iter().filter(|e| e.1 == side).map(|e| (e.0, e.2)).collect()
    }
    fn event_names(&self, side: Side) -> Vec<&'static str> {
        self.events.iter().filter(|e| e.1 == side).map(|e| e.2.name()).collect()
    }
    fn boards_of(&self, side: Side) -> Vec<(u64, CommandKind)> {
        self.boards.iter().filter(|e| e.1 == side).map(|e| (e.0, e.2)).collect()
    }
}

fn cid(n: &str) -> CallerId {
    CallerId::with_number(n).unwrap()
}

fn digits(s: &str) -> DigitString {
    DigitString::new(s).unwrap()
}

// ---------------------------------------------------------------------------
// The wire: our FXS port cabled to our FXO port
// ---------------------------------------------------------------------------

/// How long the FXO's receiver takes to report caller ID after the FXS
/// starts sending it (FSK: seizure + marks + message, about 0.8 s).
const CID_MS: u64 = 800;
/// How long a tone detector takes to confirm a tone.
const TONE_DETECT_MS: u64 = 300;

#[derive(Debug, Clone, Copy)]
enum WireTimer {
    /// Ring cadence step `step` of ringing generation `gen`.
    Ring { generation: u32, step: usize },
    /// The FXS's caller ID is out.
    CidDone { token: MediaToken, caller_id: CallerId, signal: CidSignal },
    /// The FXS's tone has been heard long enough to be recognised.
    ToneHeard { token: MediaToken, kind: ToneKind },
    /// One DTMF key of the FXO's dialling reaches the FXS.
    Key { token: MediaToken, digit: DtmfDigit },
    /// The FXO's dialling is done.
    DtmfDone { token: MediaToken },
}

struct Wire {
    cadence: Vec<u32>,
    ring_generation: u32,
    voltage: bool,
    fxo_det: Detectors,
    fxs_det: Detectors,
    fxs_media: Option<(MediaToken, Option<ToneKind>)>,
    fxo_media: Option<MediaToken>,
    timers: Vec<WireTimer>,
}

impl Wire {
    fn new(fxs: &FxsConfig, fxo: &FxoConfig, sim: &Sim) -> Self {
        Wire {
            cadence: fxs.ring_cadence.steps().to_vec(),
            ring_generation: 0,
            voltage: false,
            fxo_det: sim.lines[&Side::Fxo].detectors(),
            fxs_det: sim.lines[&Side::Fxs].detectors(),
            fxs_media: None,
            fxo_media: None,
            timers: Vec::new(),
        }
        .with(fxo)
    }
    fn with(self, _fxo: &FxoConfig) -> Self {
        self
    }
    fn timer(&mut self, s: &mut Sched, t: u64, w: WireTimer) {
        self.timers.push(w);
        s.at(t, Act::Timer(self.timers.len() as u64 - 1));
    }
    fn stop_fxs_media(&mut self, t: u64, s: &mut Sched) {
        if let Some((_, Some(kind))) = self.fxs_media.take() {
            if self.fxo_det.tones {
                s.at(t + 200, Act::Dsp(Side::Fxo, DspInput::ToneEnded(kind)));
            }
        }
    }
}

impl World for Wire {
    fn output(&mut self, t: u64, side: Side, o: &LineOutput, s: &mut Sched) {
        match (side, o) {
            (Side::Fxs, LineOutput::Board(CommandKind::RingStart)) => {
                self.ring_generation += 1;
                let generation = self.ring_generation;
                self.timer(s, t, WireTimer::Ring { generation, step: 0 });
            }
            (Side::Fxs, LineOutput::Board(CommandKind::RingStop)) => {
                self.ring_generation += 1;
                if self.voltage {
                    self.voltage = false;
                    s.at(t, Act::Board(Side::Fxo, EventKind::RingOff));
                }
            }
            (Side::Fxs, LineOutput::Board(CommandKind::SetLoopCurrent { on })) => {
                let ev = if *on { EventKind::LoopCurrentRestore } else { EventKind::LoopCurrentDrop };
                s.at(t, Act::Board(Side::Fxo, ev));
            }
            (Side::Fxs, LineOutput::Board(CommandKind::SetPolarity { .. })) => {
                s.at(t, Act::Board(Side::Fxo, EventKind::PolarityReversal));
            }
            (Side::Fxo, LineOutput::Board(CommandKind::OffHook)) => s.at(t, Act::Board(Side::Fxs, EventKind::OffHook)),
            (Side::Fxo, LineOutput::Board(CommandKind::OnHook)) => s.at(t, Act::Board(Side::Fxs, EventKind::OnHook)),
            (Side::Fxo, LineOutput::Media(MediaAction::Detectors(d))) => self.fxo_det = *d,
            (Side::Fxs, LineOutput::Media(MediaAction::Detectors(d))) => self.fxs_det = *d,
            (Side::Fxs, LineOutput::Media(MediaAction::SendCallerId { caller_id, signal, token })) => {
                self.stop_fxs_media(t, s);
                self.fxs_media = Some((*token, None));
                let w = WireTimer::CidDone { token: *token, caller_id: *caller_id, signal: *signal };
                self.timer(s, t + CID_MS, w);
            }
            (Side::Fxs, LineOutput::Media(MediaAction::PlayTone { kind, token })) => {
                self.stop_fxs_media(t, s);
                self.fxs_media = Some((*token, Some(*kind)));
                self.timer(s, t + TONE_DETECT_MS, WireTimer::ToneHeard { token: *token, kind: *kind });
            }
            (Side::Fxs, LineOutput::Media(MediaAction::PlayHowler { token })) => {
                self.stop_fxs_media(t, s);
                self.fxs_media = Some((*token, None));
            }
            (Side::Fxs, LineOutput::Media(MediaAction::Stop)) => self.stop_fxs_media(t, s),
            (Side::Fxo, LineOutput::Media(MediaAction::PlayDtmf { digits, tx, token })) => {
                self.fxo_media = Some(*token);
                let step = (tx.on_ms + tx.off_ms) as u64;
                for (i, digit) in digits.digits().enumerate() {
                    self.timer(s, t + step * i as u64 + tx.on_ms as u64, WireTimer::Key { token: *token, digit });
                }
                self.timer(s, t + step * digits.len() as u64, WireTimer::DtmfDone { token: *token });
            }
            (Side::Fxo, LineOutput::Media(MediaAction::Stop)) => self.fxo_media = None,
            _ => {}
        }
    }

    fn timer(&mut self, t: u64, id: u64, s: &mut Sched) {
        let Some(&w) = self.timers.get(id as usize) else { return };
        match w {
            WireTimer::Ring { generation, step } => {
                if generation != self.ring_generation {
                    return;
                }
                let on = step % 2 == 0;
                self.voltage = on;
                s.at(t, Act::Board(Side::Fxo, if on { EventKind::RingOn } else { EventKind::RingOff }));
                let len = self.cadence[step % self.cadence.len()] as u64;
                self.timer(s, t + len, WireTimer::Ring { generation, step: step + 1 });
            }
            WireTimer::CidDone { token, caller_id, signal } => {
                if self.fxs_media.map(|m| m.0) != Some(token) {
                    return;
                }
                self.fxs_media = None;
                let heard = match signal {
                    CidSignal::Fsk { .. } => self.fxo_det.cid_fsk,
                    CidSignal::Dtmf { .. } => self.fxo_det.cid_dtmf,
                };
                if heard {
                    s.at(t, Act::Dsp(Side::Fxo, DspInput::CallerId(caller_id)));
                }
                s.at(t, Act::Dsp(Side::Fxs, DspInput::MediaDone { token, finished: true }));
            }
            WireTimer::ToneHeard { token, kind } => {
                if self.fxs_media.map(|m| m.0) == Some(token) && self.fxo_det.tones {
                    s.at(t, Act::Dsp(Side::Fxo, DspInput::Tone(kind)));
                }
            }
            WireTimer::Key { token, digit } => {
                if self.fxo_media == Some(token) && self.fxs_det.dtmf {
                    s.at(t, Act::Dsp(Side::Fxs, DspInput::Digit(digit)));
                }
            }
            WireTimer::DtmfDone { token } => {
                if self.fxo_media == Some(token) {
                    self.fxo_media = None;
                    s.at(t, Act::Dsp(Side::Fxo, DspInput::MediaDone { token, finished: true }));
                }
            }
        }
    }
}

fn back_to_back(fxs: FxsConfig, fxo: FxoConfig) -> (Sim, Wire) {
    let sim = Sim::new().fxs(fxs.clone()).fxo(fxo);
    let wire = Wire::new(&fxs, &fxo, &sim);
    (sim, wire)
}

#[test]
fn fxs_rings_fxo_with_caller_id_after_the_first_ring() {
    let (mut sim, mut wire) = back_to_back(FxsConfig::default(), FxoConfig::default());
    let n = cid("5551234");
    sim.cmd(1000, Side::Fxs, LineCommand::Ring { caller_id: Some(n) });
    sim.run(20_000, &mut wire);
    // US: ring 1 at 1000..3000, caller ID sent at 3500 and received at
    // 4300, when the FXO answers (answer_on_caller_id).
    assert_eq!(
        sim.events_of(Side::Fxo),
        vec![
            (1150, LineEvent::RingCount { count: 1 }),
            (4300, LineEvent::Incoming { caller_id: Some(n) }),
            (4300, LineEvent::Answered),
        ]
    );
    assert_eq!(sim.events_of(Side::Fxs), vec![(4330, LineEvent::Answered)]);
    assert_eq!(sim.boards_of(Side::Fxs), vec![(1000, CommandKind::RingStart), (4330, CommandKind::RingStop)]);
    assert_eq!(sim.state(Side::Fxo), "connected");
    assert_eq!(sim.state(Side::Fxs), "call");

    // The FXO's daemon hangs up: the phone side sees the hang-up once the
    // flash window (1250 ms; the next ms, as exactly 1250 is still a flash)
    // has passed; the FXO is idle after its guard.
    sim.cmd(30_000, Side::Fxo, LineCommand::Hangup);
    sim.run(40_000, &mut wire);
    assert_eq!(sim.events_of(Side::Fxs)[1..], [(31_251, LineEvent::OnHook), (31_251, LineEvent::Idle)]);
    assert_eq!(sim.events_of(Side::Fxo)[3..], [(31_500, LineEvent::Idle)]);
    assert_eq!(sim.state(Side::Fxs), "idle");
    assert_eq!(sim.state(Side::Fxo), "idle");
}

#[test]
fn uk_caller_id_before_ringing_is_answered_at_the_first_ring() {
    let fxo = FxoConfig::for_country(Country::Uk);
    assert_eq!(fxo.caller_id, CidReceive::FskBeforeRing);
    let (mut sim, mut wire) = back_to_back(FxsConfig::for_country(Country::Uk), fxo);
    let n = cid("01632960001");
    sim.cmd(0, Side::Fxs, LineCommand::Ring { caller_id: Some(n) });
    sim.run(10_000, &mut wire);
    // Caller ID 0..800; ring 300 ms later at 1100; counted at 1250.
    assert_eq!(
        sim.events_of(Side::Fxo),
        vec![
            (1250, LineEvent::RingCount { count: 1 }),
            (1250, LineEvent::Incoming { caller_id: Some(n) }),
            (1250, LineEvent::Answered),
        ]
    );
    assert_eq!(sim.events_of(Side::Fxs), vec![(1280, LineEvent::Answered)]);
}

#[test]
fn china_dtmf_caller_id_before_ringing() {
    let mut fxs = FxsConfig::for_country(Country::Cn);
    fxs.caller_id = CidSend::DtmfBeforeRing { format: DtmfCidFormat::StartAEndC };
    let mut fxo = FxoConfig::for_country(Country::Cn);
    fxo.caller_id = CidReceive::DtmfBeforeRing;
    fxo.answer_on_caller_id = false;
    fxo.answer_rings = 2;
    let (mut sim, mut wire) = back_to_back(fxs, fxo);
    let n = cid("13800138000");
    sim.cmd(0, Side::Fxs, LineCommand::Ring { caller_id: Some(n) });
    sim.run(20_000, &mut wire);
    // DTMF 0..800, ring at 1100 (CN 1000/4000): rings counted at 1250 and
    // 6250, answered on ring 2.
    assert_eq!(
        sim.events_of(Side::Fxo),
        vec![
            (1250, LineEvent::RingCount { count: 1 }),
            (1250, LineEvent::Incoming { caller_id: Some(n) }),
            (6250, LineEvent::RingCount { count: 2 }),
            (6250, LineEvent::Answered),
        ]
    );
}

#[test]
fn fxs_stops_ringing_and_fxo_reports_the_caller_gave_up() {
    let fxo = FxoConfig { answer_rings: 0, answer_on_caller_id: false, ..FxoConfig::default() };
    let (mut sim, mut wire) = back_to_back(FxsConfig::default(), fxo);
    sim.cmd(0, Side::Fxs, LineCommand::Ring { caller_id: Some(cid("200")) });
    sim.cmd(14_000, Side::Fxs, LineCommand::StopRing);
    sim.run(40_000, &mut wire);
    // Rings at 0 and 6000 and 12 000 (on until 14 000); stopped 7 s later.
    assert_eq!(
        sim.event_names(Side::Fxo),
        vec!["ring_count", "incoming", "ring_count", "ring_count", "ringing_stopped", "idle"]
    );
    assert_eq!(sim.events_of(Side::Fxo)[4].0, 21_000);
    assert_eq!(sim.state(Side::Fxo), "idle");
    assert_eq!(sim.state(Side::Fxs), "idle");
}

#[test]
fn fxs_disconnect_by_loop_current_is_seen_by_the_fxo() {
    let mut fxs = FxsConfig::default();
    fxs.release = ReleaseConfig { loop_open_ms: Some(500), ..fxs.release };
    let (mut sim, mut wire) = back_to_back(fxs, FxoConfig::default());
    sim.cmd(0, Side::Fxs, LineCommand::Ring { caller_id: Some(cid("300")) });
    sim.run(5000, &mut wire);
    assert_eq!(sim.state(Side::Fxo), "connected");
    sim.cmd(10_000, Side::Fxs, LineCommand::Hangup);
    sim.run(20_000, &mut wire);
    // Loop current off at 10 000: the FXO qualifies the CPC at 10 100 and
    // hangs up; the FXS sees that hang-up past its flash window.
    assert_eq!(
        sim.events_of(Side::Fxo)[3..],
        [(10_100, LineEvent::Disconnected { cause: DisconnectCause::LoopCurrent }), (11_600, LineEvent::Idle)]
    );
    assert_eq!(sim.events_of(Side::Fxs)[1..], [(11_351, LineEvent::OnHook), (11_351, LineEvent::Idle)]);
    assert_eq!(
        sim.boards_of(Side::Fxs)[2..],
        [(10_000, CommandKind::SetLoopCurrent { on: false }), (10_500, CommandKind::SetLoopCurrent { on: true }),]
    );
}

#[test]
fn fxs_disconnect_by_busy_tone_is_seen_by_the_fxo() {
    let (mut sim, mut wire) = back_to_back(FxsConfig::default(), FxoConfig::default());
    sim.cmd(0, Side::Fxs, LineCommand::Ring { caller_id: Some(cid("300")) });
    sim.cmd(10_000, Side::Fxs, LineCommand::Hangup);
    sim.run(20_000, &mut wire);
    assert_eq!(
        sim.events_of(Side::Fxo)[3],
        (10_300, LineEvent::Disconnected { cause: DisconnectCause::Tone(ToneKind::Busy) })
    );
    assert_eq!(sim.events_of(Side::Fxs)[1..], [(11_551, LineEvent::OnHook), (11_551, LineEvent::Idle)]);
}

#[test]
fn fxo_dials_the_fxs_extension() {
    let (mut sim, mut wire) = back_to_back(FxsConfig::default(), FxoConfig::default());
    sim.cmd(0, Side::Fxo, LineCommand::Dial { number: digits("8123") });
    sim.run(10_000, &mut wire);
    // Seize at 0, the FXS gives dial tone at 30, heard at 330; keys at
    // 430, 630, 830, 1030: the number is complete on the last.
    assert_eq!(
        sim.events_of(Side::Fxs),
        vec![(30, LineEvent::OffHook), (1030, LineEvent::Dialed { number: digits("8123"), end: DialEnd::Match })]
    );
    assert_eq!(sim.state(Side::Fxo), "proceeding");
    // The extension's daemon rejects the call: busy tone, heard by the FXO.
    sim.cmd(12_000, Side::Fxs, LineCommand::Hangup);
    sim.run(30_000, &mut wire);
    assert_eq!(
        sim.events_of(Side::Fxo),
        vec![(12_300, LineEvent::Progress { result: ProgressResult::Busy }), (13_800, LineEvent::Idle)]
    );
    assert_eq!(sim.events_of(Side::Fxs)[2..], [(13_551, LineEvent::OnHook), (13_551, LineEvent::Idle)]);
}

// ---------------------------------------------------------------------------
// A scripted central office behind our FXO port
// ---------------------------------------------------------------------------

/// What the called party does.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Party {
    /// Ringback, then answers with a polarity reversal after `after` ms.
    AnswerPolarity {
        after: u64,
    },
    /// Ringback, then a voice answers after `after` ms (no reversal).
    AnswerVoice {
        after: u64,
    },
    Busy,
    /// Ringback for ever.
    NoAnswer,
    /// SIT and an announcement.
    Unobtainable,
    /// No dial tone at all.
    Dead,
}

struct Co {
    party: Party,
    off_hook: bool,
    dialled: Option<u64>,
}

impl Co {
    fn new(party: Party) -> Self {
        Co { party, off_hook: false, dialled: None }
    }
}

impl World for Co {
    fn output(&mut self, t: u64, side: Side, o: &LineOutput, s: &mut Sched) {
        assert_eq!(side, Side::Fxo);
        let dsp = |s: &mut Sched, at: u64, i: DspInput| s.at(at, Act::Dsp(Side::Fxo, i));
        match o {
            LineOutput::Board(CommandKind::OffHook) => {
                self.off_hook = true;
                if self.party != Party::Dead {
                    dsp(s, t + 300, DspInput::Tone(ToneKind::Dial));
                }
            }
            LineOutput::Board(CommandKind::OnHook) => self.off_hook = false,
            LineOutput::Media(MediaAction::PlayDtmf { digits, tx, token }) => {
                let done = t + digits.len() as u64 * (tx.on_ms + tx.off_ms) as u64;
                self.dialled = Some(done);
                dsp(s, done, DspInput::MediaDone { token: *token, finished: true });
                let rb = done + 1500;
                match self.party {
                    Party::AnswerPolarity { after } => {
                        dsp(s, rb, DspInput::Tone(ToneKind::Ringback));
                        s.at(rb + after, Act::Board(Side::Fxo, EventKind::PolarityReversal));
                    }
                    Party::AnswerVoice { after } => {
                        dsp(s, rb, DspInput::Tone(ToneKind::Ringback));
                        dsp(s, rb + after, DspInput::VoiceStart);
                        dsp(s, rb + after + 200, DspInput::ToneEnded(ToneKind::Ringback));
                    }
                    Party::Busy => dsp(s, rb, DspInput::Tone(ToneKind::Busy)),
                    Party::NoAnswer => dsp(s, rb, DspInput::Tone(ToneKind::Ringback)),
                    Party::Unobtainable => {
                        dsp(s, rb, DspInput::Tone(ToneKind::Sit));
                        dsp(s, rb + 1500, DspInput::VoiceStart);
                    }
                    Party::Dead => {}
                }
            }
            _ => {}
        }
    }
}

fn outbound(party: Party, cfg: FxoConfig, end: u64) -> Sim {
    let mut sim = Sim::new().fxo(cfg);
    sim.cmd(0, Side::Fxo, LineCommand::Dial { number: digits("5551234") });
    sim.run(end, &mut Co::new(party));
    sim
}

#[test]
fn co_outbound_answered_by_polarity_then_far_end_clears() {
    let mut sim = Sim::new().fxo(FxoConfig::default());
    let mut co = Co::new(Party::AnswerPolarity { after: 8000 });
    sim.cmd(0, Side::Fxo, LineCommand::Dial { number: digits("5551234") });
    sim.run(30_000, &mut co);
    // Dial tone 300, 7 keys × 200 ms: dialled at 1700, ringback at 3200,
    // answered at 11 200.
    assert_eq!(
        sim.events_of(Side::Fxo),
        vec![
            (3200, LineEvent::Progress { result: ProgressResult::Ringback }),
            (11_200, LineEvent::Progress { result: ProgressResult::Answered { by: AnswerBy::Polarity } }),
        ]
    );
    // The far end clears with a 600 ms CPC and busy tone.
    sim.at(40_000, Act::Board(Side::Fxo, EventKind::LoopCurrentDrop));
    sim.at(40_000, Act::Dsp(Side::Fxo, DspInput::Tone(ToneKind::Busy)));
    sim.at(40_600, Act::Board(Side::Fxo, EventKind::LoopCurrentRestore));
    sim.run(50_000, &mut co);
    // The busy tone is reported first (same instant, queued first); the
    // loop drop is then moot.
    assert_eq!(
        sim.events_of(Side::Fxo)[2..],
        [(40_000, LineEvent::Disconnected { cause: DisconnectCause::Tone(ToneKind::Busy) }), (41_500, LineEvent::Idle)]
    );
    assert_eq!(sim.boards_of(Side::Fxo), vec![(0, CommandKind::OffHook), (40_000, CommandKind::OnHook)]);
    assert!(!co.off_hook);
}

#[test]
fn co_outbound_results() {
    let d = FxoConfig::default();
    let sim = outbound(Party::AnswerVoice { after: 6000 }, d, 30_000);
    assert_eq!(
        sim.events_of(Side::Fxo)[1],
        (9400, LineEvent::Progress { result: ProgressResult::Answered { by: AnswerBy::Voice } })
    );
    let sim = outbound(Party::Busy, d, 30_000);
    assert_eq!(
        sim.events_of(Side::Fxo),
        vec![(3200, LineEvent::Progress { result: ProgressResult::Busy }), (4700, LineEvent::Idle)]
    );
    let sim = outbound(Party::NoAnswer, d, 100_000);
    assert_eq!(
        sim.events_of(Side::Fxo),
        vec![
            (3200, LineEvent::Progress { result: ProgressResult::Ringback }),
            (63_200, LineEvent::Progress { result: ProgressResult::NoAnswer }),
            (64_700, LineEvent::Idle)
        ]
    );
    let sim = outbound(Party::Dead, d, 30_000);
    assert_eq!(
        sim.events_of(Side::Fxo),
        vec![(5000, LineEvent::Progress { result: ProgressResult::NoDialTone }), (6500, LineEvent::Idle)]
    );
    // SIT: the announcement's voice does not count as an answer; the line
    // stays seized until the daemon hangs up.
    let mut sim = outbound(Party::Unobtainable, d, 30_000);
    assert_eq!(sim.events_of(Side::Fxo), vec![(3200, LineEvent::Progress { result: ProgressResult::Sit })]);
    assert_eq!(sim.state(Side::Fxo), FxoState::Held.name());
    sim.cmd(30_000, Side::Fxo, LineCommand::Hangup);
    sim.run(40_000, &mut Co::new(Party::Unobtainable));
    assert_eq!(sim.state(Side::Fxo), "idle");
}

#[test]
fn co_inbound_with_fsk_caller_id_and_far_end_hangup() {
    let mut sim = Sim::new().fxo(FxoConfig::for_country(Country::Cn));
    let mut co = Co::new(Party::NoAnswer);
    // CN cadence 1000/4000; FSK 500 ms after ring 1, received at 2300.
    let n = cid("13912345678");
    sim.at(0, Act::Board(Side::Fxo, EventKind::RingOn));
    sim.at(1000, Act::Board(Side::Fxo, EventKind::RingOff));
    sim.at(2300, Act::Dsp(Side::Fxo, DspInput::CallerId(n)));
    // A ring-voltage blip after the answer is not counted.
    sim.at(2310, Act::Board(Side::Fxo, EventKind::RingOn));
    sim.at(2320, Act::Board(Side::Fxo, EventKind::RingOff));
    sim.at(60_000, Act::Board(Side::Fxo, EventKind::LoopCurrentDrop));
    sim.at(60_600, Act::Board(Side::Fxo, EventKind::LoopCurrentRestore));
    sim.run(70_000, &mut co);
    assert_eq!(
        sim.events_of(Side::Fxo),
        vec![
            (150, LineEvent::RingCount { count: 1 }),
            (2300, LineEvent::Incoming { caller_id: Some(n) }),
            (2300, LineEvent::Answered),
            (60_100, LineEvent::Disconnected { cause: DisconnectCause::LoopCurrent }),
            (61_600, LineEvent::Idle),
        ]
    );
    assert_eq!(sim.boards_of(Side::Fxo), vec![(2300, CommandKind::OffHook), (60_100, CommandKind::OnHook)]);
}

// ---------------------------------------------------------------------------
// A scripted phone behind our FXS port
// ---------------------------------------------------------------------------

/// A phone that answers `answer_after` ms after ringing starts, with
/// contact bounce, talks, flashes once, and hangs up.
struct Phone {
    answer_after: u64,
    bounce: bool,
    ringing: bool,
    off_hook: bool,
}

impl Phone {
    fn hook(&mut self, s: &mut Sched, t: u64, off: bool) {
        let (a, b) =
            if off { (EventKind::OffHook, EventKind::OnHook) } else { (EventKind::OnHook, EventKind::OffHook) };
        if self.bounce {
            // Three bounces over 12 ms before the contact settles.
            s.at(t, Act::Board(Side::Fxs, a));
            s.at(t + 4, Act::Board(Side::Fxs, b));
            s.at(t + 8, Act::Board(Side::Fxs, a));
            s.at(t + 10, Act::Board(Side::Fxs, b));
            s.at(t + 12, Act::Board(Side::Fxs, a));
        } else {
            s.at(t, Act::Board(Side::Fxs, a));
        }
        self.off_hook = off;
    }
}

impl World for Phone {
    fn output(&mut self, t: u64, side: Side, o: &LineOutput, s: &mut Sched) {
        assert_eq!(side, Side::Fxs);
        match o {
            LineOutput::Board(CommandKind::RingStart) => {
                self.ringing = true;
                self.hook(s, t + self.answer_after, true);
            }
            LineOutput::Board(CommandKind::RingStop) => self.ringing = false,
            LineOutput::Event(LineEvent::Answered) => {
                // Talk, flash (400 ms), talk, hang up.
                self.hook(s, t + 5000, false);
                self.hook(s, t + 5400, true);
                self.hook(s, t + 20_000, false);
            }
            _ => {}
        }
    }
}

#[test]
fn phone_answers_with_contact_bounce_flashes_and_hangs_up() {
    let mut sim = Sim::new().fxs(FxsConfig::default());
    let mut phone = Phone { answer_after: 7000, bounce: true, ringing: false, off_hook: false };
    sim.cmd(0, Side::Fxs, LineCommand::Ring { caller_id: Some(cid("5550000")) });
    sim.run(60_000, &mut phone);
    // Off-hook settles at 7012, debounced at 7042; flash spell 12 054 to
    // 12 454 (timed between the last bounces), reported at 12 484; hang-up
    // at 27 042, last bounce at 27 054, reported once the flash window
    // (1250 ms, a spell of exactly 1250 ms still being a flash) has passed.
    assert_eq!(
        sim.events_of(Side::Fxs),
        vec![
            (7042, LineEvent::Answered),
            (12_484, LineEvent::Flash),
            (28_305, LineEvent::OnHook),
            (28_305, LineEvent::Idle)
        ]
    );
    assert!(!phone.ringing && !phone.off_hook);
    let cid_sent: Vec<_> =
        sim.media.iter().filter(|m| matches!(m.2, MediaAction::SendCallerId { .. })).map(|m| m.0).collect();
    assert_eq!(cid_sent, vec![2500]);
    assert_eq!(sim.boards_of(Side::Fxs), vec![(0, CommandKind::RingStart), (7042, CommandKind::RingStop)]);
    assert_eq!(sim.state(Side::Fxs), FxsState::Idle.name());
}

/// A phone that goes off-hook and dials `keys` (DTMF, 80 ms on, 120 off)
/// once it hears dial tone.
struct Dialer {
    keys: &'static str,
}

impl World for Dialer {
    fn output(&mut self, t: u64, _side: Side, o: &LineOutput, s: &mut Sched) {
        if let LineOutput::Media(MediaAction::PlayTone { kind: ToneKind::Dial, .. }) = o {
            for (i, c) in self.keys.chars().enumerate() {
                let d = DtmfDigit::from_char(c).unwrap();
                let start = t + 1000 + 200 * i as u64;
                s.at(start + 40, Act::Dsp(Side::Fxs, DspInput::DigitBegin(d)));
                s.at(start + 80, Act::Dsp(Side::Fxs, DspInput::Digit(d)));
            }
        }
    }
}

#[test]
fn phone_dials_an_outside_number() {
    let mut sim = Sim::new().fxs(FxsConfig::default());
    sim.at(0, Act::Board(Side::Fxs, EventKind::OffHook));
    sim.run(30_000, &mut Dialer { keys: "90123456789" });
    // Dial tone at 30; keys from 1030; last key ends at 3110; the match
    // timeout (3 s) completes "9." at 6110.
    assert_eq!(
        sim.events_of(Side::Fxs),
        vec![
            (30, LineEvent::OffHook),
            (6110, LineEvent::Dialed { number: digits("90123456789"), end: DialEnd::Timeout })
        ]
    );
    // Dial tone stopped on the first key's begin.
    let stops: Vec<_> = sim.media.iter().filter(|m| m.2 == MediaAction::Stop).map(|m| m.0).collect();
    assert_eq!(stops, vec![1070]);
}
