//! The world driven through an in-process board by a small hand-written
//! "driver" loop: no engine, just ticks, commands and bytes.

use ctibox_boardsim::InProcessBoard;
use ctibox_boardsim::world::{
    AudioSource, Behaviour, CallRequest, CallerIdMode, Country, DisconnectSignal, EndReason, LineConfig, PartyConfig,
    PatternGenerator, PeerState, PhoneConfig, PortRef, ProgressTone, Reply, Request, World, WorldConfig,
};
use ctibox_driver::dsp::dtmf::{DtmfDetector, DtmfEvent, DtmfTxConfig, dtmf_samples};
use ctibox_driver::dsp::g711;
use ctibox_driver::hal::{
    Board, BoardCommand, BoardEvent, BoardTime, ChannelId, CommandKind, Duration, EventKind, Law, Target,
};

/// A minimal driver: reads ticks, writes audio and commands.
struct Driver {
    board: InProcessBoard<World>,
    rx: Vec<u8>,
    tx: Vec<u8>,
    events: Vec<BoardEvent>,
    n: usize,
    law: Law,
    /// Every event seen, in order.
    log: Vec<BoardEvent>,
}

impl Driver {
    /// A driver of a world whose far ends are observed (most tests look at
    /// what they record and hear).
    fn new(cfg: WorldConfig) -> Driver {
        let mut world = World::new(cfg).unwrap();
        world.observe_far_ends();
        Driver::with_world(world)
    }
    fn with_world(world: World) -> Driver {
        let law = world.config().law;
        let board = InProcessBoard::new(world);
        let bytes = board.info().tick_bytes();
        let n = board.info().tick.samples();
        let mut tx = vec![0u8; bytes];
        ctibox_boardsim::fill_idle(board.info(), &mut tx);
        Driver { board, rx: vec![0; bytes], tx, events: Vec::new(), n, law, log: Vec::new() }
    }
    fn world(&mut self) -> &mut World {
        self.board.world_mut()
    }
    fn now(&self) -> BoardTime {
        self.board.now()
    }
    /// One tick: read, then let `f` fill the driver's audio, then write
    /// `commands`.
    fn tick_with(&mut self, commands: &[BoardCommand], mut f: impl FnMut(BoardTime, &[u8], &mut [u8])) {
        self.events.clear();
        let t = self.board.read_tick(&mut self.rx, &mut self.events).unwrap();
        self.log.extend_from_slice(&self.events);
        f(t.start, &self.rx, &mut self.tx);
        self.board.write_tick(&self.tx, commands).unwrap();
    }
    fn tick(&mut self, commands: &[BoardCommand]) {
        self.tick_with(commands, |_, _, _| {});
    }
    /// Run until board time `t`.
    fn run_until(&mut self, t: BoardTime) {
        while self.now() < t {
            self.tick(&[]);
        }
    }
    fn ch(&self, c: u16) -> std::ops::Range<usize> {
        (c as usize - 1) * self.n..c as usize * self.n
    }
    fn events_of(&self, c: u16) -> Vec<(u64, EventKind)> {
        self.log.iter().filter(|e| e.target == Target::Channel(ChannelId(c))).map(|e| (e.at.as_ms(), e.kind)).collect()
    }
}

fn cmd(c: u16, k: CommandKind) -> BoardCommand {
    BoardCommand::new(ChannelId(c), k)
}

fn cfg(fxo: u16, fxs: u16) -> WorldConfig {
    WorldConfig { fxo, fxs, ..WorldConfig::default() }
}

#[test]
fn inbound_call_rings_with_cn_cadence_and_audio_is_bit_exact_both_ways() {
    let mut d = Driver::new(cfg(2, 1));
    d.world()
        .request(Request::Call(CallRequest {
            line: 1,
            from: "13800138000".into(),
            audio: AudioSource::Pattern { seed: 7 },
            hangup_after: None,
            abandon_after: None,
            name: None,
        }))
        .unwrap();
    d.run_until(BoardTime::from_ms(11_000));
    assert_eq!(
        d.events_of(1),
        vec![
            (0, EventKind::RingOn),
            (1000, EventKind::RingOff),
            (5000, EventKind::RingOn),
            (6000, EventKind::RingOff),
            (10_000, EventKind::RingOn),
        ]
    );
    assert!(d.events_of(2).is_empty(), "line 2 stays quiet");
    assert_eq!(d.board.world().line(1).unwrap().rings(), 3);
    // Off-hook in the middle of the third ring: ring trip at once.
    let mut ours = PatternGenerator::new(99);
    let mut sent: Vec<u8> = Vec::new();
    let mut got: Vec<u8> = Vec::new();
    let law = d.law;
    let r1 = d.ch(1);
    let answer_at = d.now();
    for k in 0..100 {
        let commands = if k == 0 { vec![cmd(1, CommandKind::OffHook)] } else { vec![] };
        d.tick_with(&commands, |_, rx, tx| {
            if k > 0 {
                got.extend_from_slice(&rx[r1.clone()]);
            }
            for c in &mut tx[r1.clone()] {
                *c = g711::encode(law, ours.next_sample());
            }
            sent.extend_from_slice(&tx[r1.clone()]);
        });
    }
    let ev = d.events_of(1);
    assert_eq!(ev.last(), Some(&(answer_at.as_ms(), EventKind::RingOff)), "ring trip when the port answers");
    // The caller's pattern arrives bit-exact from the first tick after the
    // answer.
    let mut theirs = PatternGenerator::new(7);
    let want: Vec<u8> = (0..got.len()).map(|_| g711::encode(law, theirs.next_sample())).collect();
    assert_eq!(got, want);
    // What the driver sent with and after its OffHook reached the caller.
    let caller = d.board.world().caller("line 1").unwrap();
    assert_eq!(caller.state, PeerState::Talking);
    let rec = caller.recorder().codes();
    assert_eq!(rec, &sent[..rec.len()]);
    assert_eq!(rec.len(), sent.len() - d.n, "all but the last tick, still in flight");
}

#[test]
fn far_ends_record_and_listen_only_once_observed() {
    let world = World::new(cfg(1, 0)).unwrap();
    assert!(!world.far_ends_observed(), "a world without a director does not observe its far ends");
    let mut d = Driver::with_world(world);
    d.world()
        .request(Request::Call(CallRequest {
            line: 1,
            from: "100".into(),
            audio: AudioSource::Silence,
            hangup_after: None,
            abandon_after: None,
            name: None,
        }))
        .unwrap();
    d.tick(&[cmd(1, CommandKind::OffHook)]);
    let law = d.law;
    let r1 = d.ch(1);
    let digits = ctibox_driver::dsp::dtmf::dtmf_samples("5", Default::default()).unwrap();
    let play = |d: &mut Driver| {
        for chunk in digits.chunks(d.n) {
            d.tick_with(&[], |_, _, tx| {
                for (c, &s) in tx[r1.clone()].iter_mut().zip(chunk) {
                    *c = g711::encode(law, s);
                }
            });
        }
        // Silence after the digit, so it ends.
        for _ in 0..10 {
            d.tick(&[]);
        }
    };
    play(&mut d);
    let caller = d.board.world().caller("line 1").unwrap();
    assert!(caller.recorder().is_empty(), "nothing recorded while not observed");
    assert_eq!(caller.listener().digits_since(BoardTime::ZERO), "");
    assert!(caller.listener().last_audio().is_none());

    d.world().observe_far_ends();
    let from = d.now();
    play(&mut d);
    let caller = d.board.world().caller("line 1").unwrap();
    assert!(!caller.recorder().is_empty(), "recording once observed");
    assert_eq!(caller.recorder().started(), Some(from));
    assert!(caller.listener().heard_digits("5", from), "{}", caller.listener().digits_since(BoardTime::ZERO));
    assert!(caller.listener().last_audio().is_some());
}

#[test]
fn far_end_disconnect_is_a_loop_current_drop_then_busy_tone() {
    let mut c = cfg(1, 0);
    c.lines = vec![LineConfig { disconnect: DisconnectSignal::default(), ..LineConfig::new("88880001") }];
    let mut d = Driver::new(c);
    d.world()
        .request(Request::Call(CallRequest {
            line: 1,
            from: "13800138000".into(),
            audio: AudioSource::Silence,
            hangup_after: Some(Duration::from_ms(3010)),
            abandon_after: None,
            name: Some("alice".into()),
        }))
        .unwrap();
    d.run_until(BoardTime::from_ms(2000));
    d.tick(&[cmd(1, CommandKind::OffHook)]);
    let answered = d.now();
    // The caller hangs up 3.01 s after the answer.
    let mut busy = ToneClassifierProbe::new(Country::Cn);
    let r = d.ch(1);
    let law = d.law;
    for _ in 0..250 {
        d.tick_with(&[], |t, rx, _| busy.feed(t, law, &rx[r.clone()]));
    }
    let drop_at = answered.as_ms() + 3010;
    let ev = d.events_of(1);
    assert!(ev.contains(&(drop_at, EventKind::LoopCurrentDrop)), "{ev:?}");
    assert!(ev.contains(&(drop_at + 600, EventKind::LoopCurrentRestore)), "{ev:?}");
    assert!(busy.heard(ProgressTone::Busy), "busy tone follows the drop");
    let alice = d.board.world().caller("alice").unwrap();
    assert_eq!(alice.end_reason, Some(EndReason::FarEndHungUp));
    // The port hangs up: the line is idle, the tone stops.
    d.tick(&[cmd(1, CommandKind::OnHook)]);
    d.tick(&[]);
    d.tick(&[]);
    assert!(d.rx[d.ch(1)].iter().all(|&c| c == law.silence()));
    assert_eq!(d.board.world().line(1).unwrap().status(None).state, "idle");
}

/// A listener built from the world's own classifier, fed from outside.
struct ToneClassifierProbe {
    l: ctibox_boardsim::world::listen::Listener,
    buf: Vec<i16>,
}
impl ToneClassifierProbe {
    fn new(c: Country) -> Self {
        let p = ctibox_boardsim::world::CountryProfile::of(c);
        ToneClassifierProbe {
            l: ctibox_boardsim::world::listen::Listener::new(
                p,
                &ctibox_driver::dsp::dtmf::DtmfRxDescriptor::shared_default(),
            ),
            buf: Vec::new(),
        }
    }
    fn feed(&mut self, t: BoardTime, law: Law, codes: &[u8]) {
        self.buf.resize(codes.len(), 0);
        g711::decode_block(law, codes, &mut self.buf);
        self.l.hear(t, &self.buf);
    }
    fn heard(&self, t: ProgressTone) -> bool {
        self.l.tone_heard(t).is_some()
    }
}

/// Drive an outbound call: seize, wait for dial tone, dial `number`, and
/// return the driver with its probe.
fn dial_out(c: WorldConfig, number: &str) -> (Driver, ToneClassifierProbe) {
    let country = c.country;
    let mut d = Driver::new(c);
    let law = d.law;
    let r = d.ch(1);
    let mut probe = ToneClassifierProbe::new(country);
    d.tick(&[cmd(1, CommandKind::OffHook)]);
    for _ in 0..100 {
        d.tick_with(&[], |t, rx, _| probe.feed(t, law, &rx[r.clone()]));
    }
    assert!(probe.heard(ProgressTone::Dial), "dial tone after seizing");
    let digits = dtmf_samples(number, DtmfTxConfig::new(-8.0, 0.0, 80, 80)).unwrap();
    let mut at = 0;
    while at < digits.len() {
        let take = (digits.len() - at).min(d.n);
        d.tick_with(&[], |t, rx, tx| {
            probe.feed(t, law, &rx[r.clone()]);
            tx[r.clone()].fill(law.silence());
            g711::encode_block(law, &digits[at..at + take], &mut tx[r.clone()]);
        });
        at += take;
    }
    // Back to silence.
    d.tick_with(&[], |t, rx, tx| {
        probe.feed(t, law, &rx[r.clone()]);
        tx[r.clone()].fill(law.silence());
    });
    (d, probe)
}

fn run_probe(d: &mut Driver, probe: &mut ToneClassifierProbe, ticks: usize) {
    let law = d.law;
    let r = d.ch(1);
    for _ in 0..ticks {
        d.tick_with(&[], |t, rx, _| probe.feed(t, law, &rx[r.clone()]));
    }
}

fn parties() -> Vec<PartyConfig> {
    vec![
        PartyConfig {
            talk_for: Some(Duration::from_secs(5)),
            audio: AudioSource::Pattern { seed: 5 },
            ..PartyConfig::new("1234", Behaviour::Answer { after: Duration::from_secs(6) })
        },
        PartyConfig::new("5555", Behaviour::Busy),
        PartyConfig::new("7777", Behaviour::NoAnswer),
    ]
}

#[test]
fn outbound_dial_tone_digits_ringback_answer_with_polarity_and_hangup() {
    let mut c = cfg(1, 0);
    c.parties = parties();
    c.lines = vec![LineConfig {
        answer_supervision: true,
        disconnect: DisconnectSignal::loop_drop_ms(300),
        ..LineConfig::new("88880001")
    }];
    let (mut d, mut probe) = dial_out(c, "1234");
    let line = d.board.world().line(1).unwrap();
    assert_eq!(line.dialled(), "1234");
    assert_eq!(line.status(None).state, "ringback", "1234 is complete at once: it matches a party");
    // The shared detector confirms CN ringback once a whole 1 s on / 4 s
    // off cycle has been heard.
    run_probe(&mut d, &mut probe, 320);
    assert!(probe.heard(ProgressTone::Ringback));
    let p = d.board.world().party("1234").unwrap();
    assert_eq!(p.peer.state, PeerState::Talking);
    let answered = p.peer.answered_at.unwrap();
    let ev = d.events_of(1);
    assert!(ev.contains(&(answered.as_ms(), EventKind::PolarityReversal)), "{ev:?}");
    // The party talks its pattern, bit-exact, from the answer on.
    let law = d.law;
    let r = d.ch(1);
    let mut got = Vec::new();
    for _ in 0..10 {
        d.tick_with(&[], |_, rx, _| got.extend_from_slice(&rx[r.clone()]));
    }
    let played = (d.now().samples() - answered.samples()) as usize;
    let mut g = PatternGenerator::new(5);
    let want: Vec<u8> = (0..played).map(|_| g711::encode(law, g.next_sample())).collect();
    assert_eq!(got, want[played - got.len()..]);
    // It hangs up after 5 s: loop current drop for 300 ms.
    run_probe(&mut d, &mut probe, 300);
    let p = d.board.world().party("1234").unwrap();
    assert_eq!(p.peer.end_reason, Some(EndReason::FarEndHungUp));
    let hung = p.peer.ended_at.unwrap().as_ms();
    assert_eq!(hung, answered.as_ms() + 5000);
    let ev = d.events_of(1);
    assert!(ev.contains(&(hung, EventKind::LoopCurrentDrop)));
    assert!(ev.contains(&(hung + 300, EventKind::LoopCurrentRestore)));
    // On-hook: polarity back to normal.
    d.tick(&[cmd(1, CommandKind::OnHook)]);
    d.tick(&[]);
    let ev = d.events_of(1);
    assert_eq!(ev.iter().filter(|(_, k)| *k == EventKind::PolarityReversal).count(), 2);
}

#[test]
fn outbound_busy_no_answer_and_unknown_numbers() {
    let mut c = cfg(1, 0);
    c.parties = parties();
    let (mut d, mut probe) = dial_out(c.clone(), "5555");
    run_probe(&mut d, &mut probe, 120);
    assert!(probe.heard(ProgressTone::Busy));
    assert_eq!(d.board.world().party("5555").unwrap().peer.end_reason, Some(EndReason::Busy));

    let (mut d, mut probe) = dial_out(c.clone(), "7777");
    run_probe(&mut d, &mut probe, 300);
    assert!(probe.heard(ProgressTone::Ringback));
    assert!(!probe.heard(ProgressTone::Congestion));
    d.tick(&[cmd(1, CommandKind::OnHook)]);
    d.tick(&[]);
    assert_eq!(d.board.world().party("7777").unwrap().peer.end_reason, Some(EndReason::DriverHungUp));

    // An unknown number: the inter-digit timeout (3 s), then congestion (CN).
    let (mut d, mut probe) = dial_out(c.clone(), "999");
    assert_eq!(d.board.world().line(1).unwrap().status(None).state, "dialling");
    run_probe(&mut d, &mut probe, 400);
    assert!(probe.heard(ProgressTone::Congestion));
    assert_eq!(d.board.world().line(1).unwrap().status(None).state, "congestion");

    // US: SIT.
    let mut us = c;
    us.country = Country::Us;
    us.law = Law::MuLaw;
    let (mut d, mut probe) = dial_out(us, "999");
    run_probe(&mut d, &mut probe, 400);
    assert!(probe.heard(ProgressTone::Sit));
}

#[test]
fn phone_dials_dtmf_as_audio_flashes_and_hangs_up() {
    let mut c = cfg(1, 1);
    c.phones = vec![PhoneConfig { dtmf: DtmfTxConfig::new(-8.0, 2.0, 80, 80), ..PhoneConfig::new("801") }];
    let mut d = Driver::new(c);
    d.tick(&[]);
    assert_eq!(d.world().request(Request::OffHook { phone: 2 }).unwrap(), Reply::Ok { at_ms: 20 });
    assert!(d.world().request(Request::OffHook { phone: 2 }).is_err(), "already off-hook");
    assert!(d.world().request(Request::Dial { port: PortRef::Phone(3), digits: "1".into() }).is_err());
    d.world().request(Request::Dial { port: PortRef::Phone(2), digits: "1234".into() }).unwrap();
    let mut det = DtmfDetector::default();
    let mut evs = Vec::new();
    let mut lin = vec![0i16; d.n];
    let r = d.ch(2);
    let law = d.law;
    for _ in 0..60 {
        d.tick_with(&[], |_, rx, _| {
            g711::decode_block(law, &rx[r.clone()], &mut lin);
            det.rx(&lin, &mut evs);
        });
    }
    let digits: String =
        evs.iter().filter_map(|e| if let DtmfEvent::Digit(t) = e { Some(t.digit.as_char()) } else { None }).collect();
    assert_eq!(digits, "1234");
    // Flash: on-hook for 600 ms, then off-hook.
    let t = d.now();
    d.world().request(Request::Flash { phone: 2 }).unwrap();
    d.run_until(t + Duration::from_ms(1000));
    // Hang up.
    let t2 = d.now();
    d.world().request(Request::Hangup { port: PortRef::Phone(2) }).unwrap();
    d.tick(&[]);
    assert_eq!(
        d.events_of(2),
        vec![
            (20, EventKind::OffHook),
            (t.as_ms(), EventKind::OnHook),
            (t.as_ms() + 600, EventKind::OffHook),
            (t2.as_ms(), EventKind::OnHook),
        ]
    );
    assert!(d.world().request(Request::Hangup { port: PortRef::Phone(2) }).is_err(), "already on-hook");
}

#[test]
fn phone_counts_rings_auto_answers_and_decodes_caller_id() {
    let mut c = cfg(1, 1);
    c.phones = vec![PhoneConfig { auto_answer_rings: Some(2), ..PhoneConfig::new("801") }];
    let mut d = Driver::new(c);
    let law = d.law;
    // The driver rings the phone and sends FSK caller ID (Bell 202, CN)
    // 500 ms after the first ring.
    use ctibox_driver::dsp::cid::{CallerId, CallerIdGenerator, CidMessage, CidStandard, CidTxConfig};
    let cid = CallerId::with_number("13800138000").unwrap();
    let mut g =
        CallerIdGenerator::new(&CidTxConfig::new(CidStandard::Bell202), &CidMessage::MdmfCallerId(cid)).unwrap();
    let r = d.ch(2);
    d.tick(&[cmd(2, CommandKind::RingStart)]);
    // The command goes with this tick's write: it takes effect next tick.
    let rung = d.now();
    let mut lin = vec![0i16; d.n];
    for _ in 0..400 {
        d.tick_with(&[], |t, _, tx| {
            tx[r.clone()].fill(law.silence());
            if t >= rung + Duration::from_ms(1500) && !g.is_done() {
                lin.fill(0);
                g.tx(&mut lin);
                g711::encode_block(law, &lin, &mut tx[r.clone()]);
            }
        });
    }
    let ph = d.board.world().phone(2).unwrap();
    assert!(ph.off_hook, "answered by itself");
    assert_eq!(ph.answered_at.unwrap(), rung + Duration::from_ms(6000), "as the second ring ends");
    assert_eq!(ph.status().last_caller_id.as_deref(), Some("13800138000"));
    assert_eq!(d.events_of(2), vec![(rung.as_ms() + 6000, EventKind::OffHook)]);
}

#[test]
fn agent_phone_hangs_up_by_itself_call_after_call() {
    let mut c = cfg(1, 1);
    c.phones = vec![PhoneConfig {
        auto_answer_rings: Some(1),
        talk_for: Some(Duration::from_secs(20)),
        hang_up_on_release: Some(Duration::from_ms(1000)),
        ..PhoneConfig::new("801")
    }];
    let mut d = Driver::new(c);
    let mut want = Vec::new();
    // Three calls the phone ends 20 s after answering (as the first ring
    // ends, 1 s after ringing starts).
    for call in 0..3u64 {
        d.run_until(BoardTime::from_ms(call * 30_000 + 100));
        d.tick(&[cmd(2, CommandKind::RingStart)]);
        // Commands go with a tick's write: they take effect next tick.
        let rung = d.now().as_ms();
        d.run_until(BoardTime::from_ms(rung + 1_100));
        d.tick(&[cmd(2, CommandKind::RingStop)]);
        d.run_until(BoardTime::from_ms(rung + 21_000));
        assert!(d.world().phone(2).unwrap().off_hook, "call {call} ended early");
        d.tick(&[]);
        assert!(!d.world().phone(2).unwrap().off_hook, "call {call} goes on");
        want.extend([(rung + 1_000, EventKind::OffHook), (rung + 21_000, EventKind::OnHook)]);
    }
    // A fourth the driver releases 5 s in (loop open 500 ms, as a
    // disconnect treatment): the phone hangs up 1 s after the drop.
    d.tick(&[cmd(2, CommandKind::RingStart)]);
    let rung = d.now().as_ms();
    d.run_until(BoardTime::from_ms(rung + 1_100));
    d.tick(&[cmd(2, CommandKind::RingStop)]);
    d.run_until(BoardTime::from_ms(rung + 5_000));
    d.tick(&[cmd(2, CommandKind::SetLoopCurrent { on: false })]);
    let dropped = d.now().as_ms();
    d.run_until(BoardTime::from_ms(dropped + 500));
    d.tick(&[cmd(2, CommandKind::SetLoopCurrent { on: true })]);
    d.run_until(BoardTime::from_ms(dropped + 1_000));
    assert!(d.world().phone(2).unwrap().off_hook, "hung up before the delay");
    d.run_until(BoardTime::from_ms(dropped + 2_000));
    want.extend([(rung + 1_000, EventKind::OffHook), (dropped + 1_000, EventKind::OnHook)]);
    assert_eq!(d.events_of(2), want);
}

#[test]
fn line_sends_fsk_caller_id_between_first_and_second_ring() {
    let mut c = cfg(1, 0);
    c.lines = vec![LineConfig { caller_id: CallerIdMode::Fsk, ..LineConfig::new("88880001") }];
    let mut d = Driver::new(c);
    d.world()
        .request(Request::Call(CallRequest {
            line: 1,
            from: "13800138000".into(),
            audio: AudioSource::Silence,
            hangup_after: None,
            abandon_after: None,
            name: None,
        }))
        .unwrap();
    use ctibox_driver::dsp::cid::{CallerIdReceiver, CidStandard};
    let mut rx = CallerIdReceiver::new(CidStandard::Bell202);
    let mut evs = Vec::new();
    let mut lin = vec![0i16; d.n];
    let law = d.law;
    let r = d.ch(1);
    let mut first_sound = None;
    for _ in 0..250 {
        d.tick_with(&[], |t, rxb, _| {
            g711::decode_block(law, &rxb[r.clone()], &mut lin);
            if first_sound.is_none() && lin.iter().any(|&s| s.abs() > 100) {
                first_sound = Some(t);
            }
            rx.rx(&lin, &mut evs);
        });
    }
    let cid = evs.iter().find_map(|e| e.caller_id()).expect("caller ID decoded");
    assert_eq!(cid.number.unwrap(), "13800138000");
    assert_eq!(first_sound, Some(BoardTime::from_ms(1500)), "500 ms after the first ring ends");
}

#[test]
fn caller_abandons_and_control_errors_are_replies() {
    let mut c = cfg(2, 1);
    c.timers.abandon_after = Duration::from_ms(7000);
    let mut d = Driver::new(c);
    let call = |line| {
        Request::Call(CallRequest {
            line,
            from: "100".into(),
            audio: AudioSource::Silence,
            hangup_after: None,
            abandon_after: None,
            name: Some(format!("c{line}")),
        })
    };
    d.world().request(call(1)).unwrap();
    assert!(d.world().request(call(1)).is_err(), "caller c1 is in a call");
    assert!(d.world().request(call(9)).is_err());
    assert!(d.world().request(call(3)).is_err(), "channel 3 is a phone");
    d.run_until(BoardTime::from_ms(8000));
    assert_eq!(
        d.events_of(1),
        vec![(0, EventKind::RingOn), (1000, EventKind::RingOff), (5000, EventKind::RingOn), (6000, EventKind::RingOff)]
    );
    let c1 = d.board.world().caller("c1").unwrap();
    assert_eq!(c1.end_reason, Some(EndReason::Abandoned));
    assert_eq!(c1.rings, 2);
    // Abandon in the middle of a ring: RingOff at the give-up time.
    let mut c = cfg(1, 0);
    c.timers.abandon_after = Duration::from_ms(5500);
    let mut d = Driver::new(c);
    d.world().request(call(1)).unwrap();
    d.run_until(BoardTime::from_ms(8000));
    assert_eq!(d.events_of(1).last(), Some(&(5500, EventKind::RingOff)));
    // Status names every line and phone.
    let Reply::Status { status } = d.world().request(Request::Status).unwrap() else { panic!() };
    assert_eq!(status.lines.len(), 1);
    assert_eq!(status.callers[0].end_reason, Some(EndReason::Abandoned));
}

#[test]
fn control_handle_from_another_thread() {
    let mut d = Driver::new(cfg(1, 1));
    let h = d.world().control_handle();
    let t = std::thread::spawn(move || {
        let r = h.request(Request::OffHook { phone: 2 }, std::time::Duration::from_secs(10));
        let e = h.request(Request::Answer { phone: 7 }, std::time::Duration::from_secs(10));
        (r, e)
    });
    while !t.is_finished() {
        d.tick(&[]);
    }
    let (r, e) = t.join().unwrap();
    assert!(matches!(r, Ok(Reply::Ok { .. })));
    assert_eq!(e.unwrap_err().to_string(), "there is no phone 7 (FXS ports are channels 2-2)");
}

#[test]
fn line_impairments_apply_gain_and_noise_and_dtmf_caller_id_precedes_ringing() {
    use ctibox_boardsim::world::Impairment;
    use ctibox_driver::dsp::tonegen::{ToneFreq, ToneSpec};
    let mut c = cfg(2, 0);
    c.lines = vec![
        LineConfig { impairment: Impairment { gain_db: -6.0, noise_dbm0: None }, ..LineConfig::new("1") },
        LineConfig {
            caller_id: CallerIdMode::Dtmf,
            impairment: Impairment { gain_db: 0.0, noise_dbm0: Some(-50.0) },
            ..LineConfig::new("2")
        },
    ];
    let mut d = Driver::new(c);
    let tone = ToneSpec::continuous(&[ToneFreq { hz: 1000.0, dbm0: -10.0 }]).unwrap();
    for line in [1, 2] {
        d.world()
            .request(Request::Call(CallRequest {
                line,
                from: "13800138000".into(),
                audio: AudioSource::Tone(tone),
                hangup_after: None,
                abandon_after: None,
                name: None,
            }))
            .unwrap();
    }
    // Line 2: DTMF caller ID "A13800138000C" before its first ring.
    let law = d.law;
    let r2 = d.ch(2);
    let mut det = DtmfDetector::default();
    let mut evs = Vec::new();
    let mut lin = vec![0i16; d.n];
    let mut noisy = false;
    for _ in 0..200 {
        d.tick_with(&[], |_, rx, _| {
            g711::decode_block(law, &rx[r2.clone()], &mut lin);
            noisy |= lin.iter().any(|&s| s != 0 && s.abs() < 200);
            det.rx(&lin, &mut evs);
        });
    }
    let digits: String =
        evs.iter().filter_map(|e| if let DtmfEvent::Digit(t) = e { Some(t.digit.as_char()) } else { None }).collect();
    assert_eq!(digits, "A13800138000C");
    let first_ring = d.events_of(2).first().copied().unwrap();
    assert_eq!(first_ring.1, EventKind::RingOn);
    assert!(first_ring.0 >= 13 * 140, "ringing starts after the caller ID: {first_ring:?}");
    assert!(noisy, "noise on line 2");
    assert_eq!(d.events_of(1)[0], (0, EventKind::RingOn), "line 1 rings at once");
    // Line 1 answered: the tone arrives 6 dB down.
    d.tick(&[cmd(1, CommandKind::OffHook)]);
    let r1 = d.ch(1);
    let mut peak = 0i16;
    for _ in 0..10 {
        d.tick_with(&[], |_, rx, _| {
            g711::decode_block(law, &rx[r1.clone()], &mut lin);
            peak = peak.max(lin.iter().copied().max().unwrap());
        });
    }
    let want = ctibox_driver::dsp::level::dbm0_to_peak(-16.0);
    assert!((peak as f64 - want).abs() < want * 0.05, "peak {peak}, want {want}");
}

#[test]
fn the_ports_hangup_frees_the_line_for_the_next_call() {
    let mut d = Driver::new(cfg(1, 0));
    let call = |hangup_after: Option<Duration>| {
        Request::Call(CallRequest {
            line: 1,
            from: "100".into(),
            audio: AudioSource::Silence,
            hangup_after,
            abandon_after: None,
            name: None,
        })
    };
    // The caller would talk for 10 minutes; our port hangs up after 1 s.
    d.world().request(call(Some(Duration::from_secs(600)))).unwrap();
    d.run_until(BoardTime::from_ms(500));
    d.tick(&[cmd(1, CommandKind::OffHook)]);
    d.run_until(BoardTime::from_ms(1500));
    assert_eq!(d.board.world().line(1).unwrap().status(None).state, "talking");
    d.tick(&[cmd(1, CommandKind::OnHook)]);
    d.run_until(BoardTime::from_ms(1600));
    assert_eq!(d.board.world().line(1).unwrap().status(None).state, "idle", "the port's on-hook ends the call");
    let ended = d.board.world().callers()[0].end_reason;
    assert_eq!(ended, Some(EndReason::DriverHungUp));
    // The next caller gets through, and the far end hanging up a call the
    // port already left does not wedge the line.
    d.world().request(call(None)).unwrap();
    d.run_until(BoardTime::from_ms(2000));
    d.tick(&[cmd(1, CommandKind::OffHook)]);
    d.tick(&[cmd(1, CommandKind::OnHook)]);
    d.run_until(BoardTime::from_ms(2200));
    assert_eq!(d.board.world().line(1).unwrap().status(None).state, "idle");
    assert!(d.world().request(Request::Hangup { port: PortRef::Line(1) }).is_err(), "no call left to hang up");
    d.world().request(call(None)).unwrap();
}
