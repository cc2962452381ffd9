use super::*;
use crate::dsp::dtmf::DtmfTxConfig;
use crate::dsp::tonegen::ToneFreq;
use crate::hal::{BoardLayout, BoardStats, CommandKind, EventKind, SignalState, TickLength};
use crate::media::player::PlayBuffer;
use crate::media::recorder::RecordWhat;
use crate::signaling::analog::{AnalogLine, LineCommand, LineEvent};
use crate::signaling::fxo::FxoConfig;
use crate::signaling::fxs::FxsConfig;

/// A board in memory: the test sets what each channel receives and
/// reads what the engine sent.
struct MemBoard {
    info: BoardInfo,
    tick: u64,
    rx: Vec<u8>,
    tx: Vec<u8>,
    commands: Vec<BoardCommand>,
    pending_events: Vec<BoardEvent>,
    signals: SignalState,
}

impl MemBoard {
    fn new(fxo: u16, fxs: u16) -> Self {
        let info = BoardLayout::new("mem", TickLength::DEFAULT).analog_span(Law::ALaw, fxo, fxs).build().unwrap();
        let n = info.tick_bytes();
        let signals = SignalState::idle(&info);
        MemBoard { info, tick: 0, rx: vec![0xD5; n], tx: vec![0; n], commands: vec![], pending_events: vec![], signals }
    }
    fn chan(&mut self, c: u16) -> &mut [u8] {
        let n = self.info.tick.samples();
        let i = ChannelId(c).index();
        &mut self.rx[i * n..(i + 1) * n]
    }
    fn sent(&self, c: u16) -> &[u8] {
        let n = self.info.tick.samples();
        let i = ChannelId(c).index();
        &self.tx[i * n..(i + 1) * n]
    }
}

impl Board for MemBoard {
    fn info(&self) -> &BoardInfo {
        &self.info
    }
    fn read_tick(&mut self, rx: &mut [u8], events: &mut Vec<BoardEvent>) -> Result<Tick, BoardError> {
        rx.copy_from_slice(&self.rx);
        events.append(&mut self.pending_events);
        let t = Tick { number: self.tick, start: BoardTime::from_samples(self.tick * 160) };
        self.tick += 1;
        Ok(t)
    }
    fn write_tick(&mut self, tx: &[u8], commands: &[BoardCommand]) -> Result<(), BoardError> {
        self.tx.copy_from_slice(tx);
        self.commands.extend_from_slice(commands);
        Ok(())
    }
    fn stats(&self) -> BoardStats {
        BoardStats::default()
    }
    fn signals(&self) -> &SignalState {
        &self.signals
    }
}

fn engine(fxo: u16, fxs: u16) -> (Engine<MemBoard>, EngineHandle) {
    Engine::new(MemBoard::new(fxo, fxs), EngineConfig { event_capacity: 8192, ..EngineConfig::default() })
}

/// The next event that is not a tick.
fn next_event(h: &EngineHandle) -> Option<EngineEvent> {
    h.events.try_iter().find(|e| !matches!(e, EngineEvent::Tick { .. }))
}

#[test]
fn bridge_passes_codes_bit_exact_both_ways() {
    let (mut e, h) = engine(2, 2);
    h.send(EngineCommand::Bridge { a: ChannelId(1), b: ChannelId(3) }).unwrap();
    let pattern: Vec<u8> = (0..160).map(|i| (i * 37 % 256) as u8).collect();
    e.board_mut().chan(1).copy_from_slice(&pattern);
    e.board_mut().chan(3).fill(0x2A);
    e.step().unwrap();
    assert_eq!(e.board().sent(3), &pattern[..]);
    assert!(e.board().sent(1).iter().all(|&c| c == 0x2A));
    assert!(e.board().sent(2).iter().all(|&c| c == 0xD5), "idle channels send silence");
    h.send(EngineCommand::Isolate { channel: ChannelId(3) }).unwrap();
    e.step().unwrap();
    assert!(e.board().sent(3).iter().all(|&c| c == 0xD5));
}

#[test]
fn conference_mixes_the_other_two() {
    let (mut e, h) = engine(3, 0);
    for (a, b) in [(1, 2), (1, 3), (2, 3)] {
        h.send(EngineCommand::Bridge { a: ChannelId(a), b: ChannelId(b) }).unwrap();
    }
    let code = |v: i16| g711::linear_to_alaw(v);
    e.board_mut().chan(1).fill(code(1000));
    e.board_mut().chan(2).fill(code(2000));
    e.board_mut().chan(3).fill(code(-4000));
    e.step().unwrap();
    let heard = |c: u16| g711::alaw_to_linear(e.board().sent(c)[0]) as i32;
    assert!((heard(1) - (2000 - 4000)).abs() <= 64, "{}", heard(1));
    assert!((heard(2) - (1000 - 4000)).abs() <= 64, "{}", heard(2));
    assert!((heard(3) - 3000).abs() <= 64, "{}", heard(3));
}

#[test]
fn play_tone_and_media_done_events() {
    let (mut e, h) = engine(1, 1);
    let buf = PlayBuffer::new((0..400).map(|i| (i * 10) as i16).collect());
    h.send(EngineCommand::Play { channel: ChannelId(2), id: 9, buffer: buf.clone(), repeat: false }).unwrap();
    e.step().unwrap();
    let got: Vec<i16> = e.board().sent(2).iter().map(|&c| g711::alaw_to_linear(c)).collect();
    for (g, w) in got.iter().zip(buf.samples()) {
        assert!((g - w).abs() <= 16 + w.abs() / 16, "{g} vs {w}");
    }
    e.step().unwrap();
    assert!(next_event(&h).is_none(), "still playing after 320 of 400 samples");
    e.step().unwrap();
    match next_event(&h).unwrap() {
        EngineEvent::MediaDone { channel, id, kind, at, finished, buffer } => {
            assert_eq!((channel, id, kind, finished), (ChannelId(2), 9, MediaKind::Play, true));
            assert_eq!(at, BoardTime::from_samples(320));
            assert_eq!(buffer.unwrap(), buf, "the buffer comes back to be freed off the tick");
        }
        other => panic!("{other:?}"),
    }
    // A tone replaced by another reports the first as not finished.
    let spec = ToneSpec::continuous(&[ToneFreq { hz: 425.0, dbm0: -10.0 }]).unwrap();
    h.send(EngineCommand::Tone { channel: ChannelId(2), id: 1, spec }).unwrap();
    h.send(EngineCommand::Tone { channel: ChannelId(2), id: 2, spec }).unwrap();
    e.step().unwrap();
    assert!(matches!(
        next_event(&h).unwrap(),
        EngineEvent::MediaDone { id: 1, kind: MediaKind::Tone, finished: false, .. }
    ));
    let lvl =
        crate::dsp::level::block_dbm0(&e.board().sent(2).iter().map(|&c| g711::alaw_to_linear(c)).collect::<Vec<_>>());
    assert!((lvl + 10.0).abs() < 0.5, "{lvl}");
}

#[test]
fn board_events_and_commands_pass_through_with_refusals() {
    let (mut e, h) = engine(1, 1);
    let ev = BoardEvent::channel(BoardTime::from_samples(5), ChannelId(1), EventKind::RingOn);
    e.board_mut().pending_events.push(ev);
    h.send(EngineCommand::Board(BoardCommand::new(ChannelId(1), CommandKind::OffHook))).unwrap();
    h.send(EngineCommand::Board(BoardCommand::new(ChannelId(1), CommandKind::RingStart))).unwrap();
    h.send(EngineCommand::Bridge { a: ChannelId(1), b: ChannelId(1) }).unwrap();
    h.send(EngineCommand::StopMedia { channel: ChannelId(7) }).unwrap();
    e.step().unwrap();
    assert_eq!(e.board().commands, [BoardCommand::new(ChannelId(1), CommandKind::OffHook)]);
    let evs: Vec<EngineEvent> = h.events.try_iter().filter(|e| !matches!(e, EngineEvent::Tick { .. })).collect();
    assert!(matches!(evs[0], EngineEvent::Refused { command: "ring_start", .. }));
    assert!(matches!(evs[1], EngineEvent::Refused { command: "bridge", why: Refusal::Switch(_), .. }));
    assert!(matches!(evs[2], EngineEvent::Refused { why: Refusal::NoSuchChannel(ChannelId(7)), .. }));
    assert!(matches!(evs[3], EngineEvent::Board(b) if b == ev));
    assert_eq!(h.stats.snapshot().commands_refused, 3);
}

#[test]
fn full_event_channel_is_counted_not_waited_on() {
    let (mut e, _h) = Engine::new(MemBoard::new(1, 0), EngineConfig { event_capacity: 64, ..EngineConfig::default() });
    for _ in 0..100 {
        let ev = BoardEvent::channel(BoardTime::ZERO, ChannelId(1), EventKind::RingOn);
        e.board_mut().pending_events.push(ev);
        e.step().unwrap();
    }
    let s = e.stats.snapshot();
    // Each tick sends the ring and its tick event: 200 into a queue of 64.
    assert_eq!(s.events_dropped, 200 - 64);
    assert_eq!(s.ticks, 100);
    assert_eq!(s.board_time, BoardTime::from_samples(100 * 160));
}

#[test]
fn records_what_the_channel_hears() {
    let (mut e, h) = engine(1, 0);
    h.send(EngineCommand::RecordStart { channel: ChannelId(1), id: 4, what: RecordWhat::Rx }).unwrap();
    e.board_mut().chan(1).fill(g711::linear_to_alaw(1200));
    for _ in 0..12 {
        e.step().unwrap();
    }
    h.send(EngineCommand::RecordStop { channel: ChannelId(1) }).unwrap();
    e.step().unwrap();
    let blocks: Vec<RecordBlock> = h.records.try_iter().collect();
    let total: usize = blocks.iter().map(|b| b.len).sum();
    assert_eq!(total, 12 * 160, "the stop takes effect before the 13th tick's audio");
    assert!(blocks.last().unwrap().last);
    assert!(blocks.iter().flat_map(|b| b.audio()).all(|&s| s == g711::alaw_to_linear(g711::linear_to_alaw(1200))));
    assert!(h.events.try_iter().any(|ev| matches!(ev, EngineEvent::RecordDone { id: 4, dropped_samples: 0, .. })));
}

#[test]
fn echo_returns_the_channel_s_own_audio() {
    let (mut e, h) = engine(1, 0);
    h.send(EngineCommand::Echo { channel: ChannelId(1), on: true }).unwrap();
    let pattern: Vec<u8> = (0..160).map(|i| (i * 11 % 256) as u8).collect();
    e.board_mut().chan(1).copy_from_slice(&pattern);
    e.step().unwrap();
    assert_eq!(e.board().sent(1), &pattern[..], "A-law round trip through linear is exact");
    h.send(EngineCommand::Echo { channel: ChannelId(1), on: false }).unwrap();
    e.step().unwrap();
    assert!(e.board().sent(1).iter().all(|&c| c == 0xD5));
}

#[test]
fn shutdown_ends_the_loop() {
    let (mut e, h) = engine(1, 0);
    h.stop();
    assert!(e.run().is_ok());
    assert_eq!(e.stats.snapshot().ticks, 1);
}

fn step_n(e: &mut Engine<MemBoard>, n: usize) {
    for _ in 0..n {
        e.step().unwrap();
    }
}

fn line_events(h: &EngineHandle) -> Vec<(BoardTime, LineEvent)> {
    h.events
        .try_iter()
        .filter_map(|ev| match ev {
            EngineEvent::Line { at, event, .. } => Some((at, event)),
            _ => None,
        })
        .collect()
}

fn tone_level(samples: &[i16], hz: f32) -> f64 {
    let d = crate::dsp::goertzel::GoertzelDescriptor::new(hz, samples.len());
    let mut st = crate::dsp::goertzel::GoertzelState::new();
    st.update(&d, samples);
    d.energy_to_dbm0(st.result(&d))
}

#[test]
fn fxs_line_gives_dial_tone_collects_dtmf_and_reports_the_number() {
    let (mut e, h) = engine(0, 1);
    let cfg = EngineConfig::default();
    let mut fxs = FxsConfig::for_country(Country::Cn);
    fxs.digit_map = crate::signaling::digitmap::DigitMap::from_patterns(["8XX", "9."]).unwrap();
    let line = AnalogLine::fxs(ChannelId(1), fxs).unwrap();
    h.send(EngineCommand::Setup { channel: ChannelId(1), setup: channel_setup(&cfg, Some(line)) }).unwrap();
    step_n(&mut e, 1);
    // The phone goes off-hook.
    let ev = BoardEvent::channel(BoardTime::from_ms(20), ChannelId(1), EventKind::OffHook);
    e.board_mut().pending_events.push(ev);
    step_n(&mut e, 5);
    // CN dial tone: 450 Hz at -10 dBm0 on the line.
    let heard: Vec<i16> = e.board().sent(1).iter().map(|&c| g711::alaw_to_linear(c)).collect();
    assert!((tone_level(&heard, 450.0) + 10.0).abs() < 1.0, "dial tone level {}", tone_level(&heard, 450.0));
    assert!(line_events(&h).iter().any(|(_, ev)| *ev == LineEvent::OffHook));
    // The phone dials 801 as DTMF audio.
    let audio = crate::dsp::dtmf::dtmf_samples("801", DtmfTxConfig::default()).unwrap();
    for chunk in audio.chunks(160) {
        let mut codes = [0xD5u8; 160];
        g711::encode_block(Law::ALaw, chunk, &mut codes[..chunk.len()]);
        e.board_mut().chan(1).copy_from_slice(&codes);
        e.step().unwrap();
    }
    e.board_mut().chan(1).fill(0xD5);
    // Dial tone stopped at the first digit.
    let heard: Vec<i16> = e.board().sent(1).iter().map(|&c| g711::alaw_to_linear(c)).collect();
    assert!(tone_level(&heard, 450.0) < -40.0);
    // 8XX is complete at the third digit.
    step_n(&mut e, 10);
    let evs = line_events(&h);
    let dialed = evs.iter().find_map(|(_, ev)| match ev {
        LineEvent::Dialed { number, .. } => Some(number.as_str().to_string()),
        _ => None,
    });
    assert_eq!(dialed.as_deref(), Some("801"), "{evs:?}");
    assert_eq!(e.stats.snapshot().line_overflow, 0);
}

#[test]
fn fxo_line_answers_after_two_rings_and_reports_incoming() {
    let (mut e, h) = engine(1, 0);
    let cfg = EngineConfig::default();
    let mut fxo = FxoConfig::for_country(Country::Cn);
    fxo.answer_rings = 2;
    let line = AnalogLine::fxo(ChannelId(1), fxo).unwrap();
    h.send(EngineCommand::Setup { channel: ChannelId(1), setup: channel_setup(&cfg, Some(line)) }).unwrap();
    step_n(&mut e, 1);
    for (ms, kind) in [(20, EventKind::RingOn), (1020, EventKind::RingOff), (5020, EventKind::RingOn)] {
        while e.board().tick * 20 < ms {
            e.step().unwrap();
        }
        e.board_mut().pending_events.push(BoardEvent::channel(BoardTime::from_ms(ms), ChannelId(1), kind));
    }
    step_n(&mut e, 50);
    assert!(
        e.board().commands.contains(&BoardCommand::new(ChannelId(1), CommandKind::OffHook)),
        "{:?}",
        e.board().commands
    );
    let evs = line_events(&h);
    assert!(evs.iter().any(|(_, ev)| matches!(ev, LineEvent::Incoming { .. })), "{evs:?}");
    let answered = evs.iter().find(|(_, ev)| *ev == LineEvent::Answered).map(|(t, _)| *t);
    assert!(answered.is_some_and(|t| t >= BoardTime::from_ms(5020)), "{evs:?}");
    // The daemon hangs up.
    h.send(EngineCommand::Line { channel: ChannelId(1), command: LineCommand::Hangup }).unwrap();
    step_n(&mut e, 1);
    assert_eq!(e.board().commands.last(), Some(&BoardCommand::new(ChannelId(1), CommandKind::OnHook)));
}

#[test]
fn line_commands_without_a_line_are_refused_and_setups_come_back() {
    let (mut e, h) = engine(1, 0);
    h.send(EngineCommand::Line { channel: ChannelId(1), command: LineCommand::Answer }).unwrap();
    let cfg = EngineConfig::default();
    h.send(EngineCommand::Setup { channel: ChannelId(1), setup: channel_setup(&cfg, None) }).unwrap();
    step_n(&mut e, 1);
    let evs: Vec<EngineEvent> = h.events.try_iter().collect();
    assert!(evs.iter().any(|ev| matches!(ev, EngineEvent::Refused { why: Refusal::NoLine(ChannelId(1)), .. })));
    assert!(evs.iter().any(|ev| matches!(ev, EngineEvent::Released(Released::Setup(_)))));
}

#[test]
fn daemon_detectors_report_dtmf_in_board_time() {
    let (mut e, h) = engine(1, 0);
    step_n(&mut e, 10);
    h.send(EngineCommand::SetDetectors {
        channel: ChannelId(1),
        detectors: Detectors { dtmf: true, ..Detectors::NONE },
    })
    .unwrap();
    let audio = crate::dsp::dtmf::dtmf_samples("7", DtmfTxConfig::default()).unwrap();
    for chunk in audio.chunks(160) {
        let mut codes = [0xD5u8; 160];
        g711::encode_block(Law::ALaw, chunk, &mut codes[..chunk.len()]);
        e.board_mut().chan(1).copy_from_slice(&codes);
        e.step().unwrap();
    }
    e.board_mut().chan(1).fill(0xD5);
    step_n(&mut e, 5);
    let digits: Vec<(char, BoardTime)> = h
        .events
        .try_iter()
        .filter_map(|ev| match ev {
            EngineEvent::Detected { event: DetectorEvent::Dtmf { digit, start, .. }, .. } => {
                Some((digit.as_char(), start))
            }
            _ => None,
        })
        .collect();
    assert_eq!(digits.len(), 1, "{digits:?}");
    assert_eq!(digits[0].0, '7');
    // Switched on at tick 10 (200 ms); the tone starts at its first sample.
    assert!(digits[0].1.as_ms().abs_diff(200) <= 2, "{:?}", digits[0].1);
}

#[test]
fn lockstep_waits_for_the_slow_side() {
    let (mut e, h) = Engine::new(MemBoard::new(1, 0), EngineConfig { lockstep: true, ..EngineConfig::default() });
    let t = std::thread::spawn(move || {
        for _ in 0..3 {
            e.step().unwrap();
        }
        e.stats.snapshot().ticks
    });
    let mut ticks = Vec::new();
    while ticks.len() < 3 {
        if let EngineEvent::Tick { end } = h.events.recv().unwrap() {
            ticks.push(end);
            // The engine is waiting: it has not started the next tick.
            std::thread::sleep(std::time::Duration::from_millis(5));
            assert_eq!(h.stats.snapshot().ticks, ticks.len() as u64);
            h.ack_tick();
        }
    }
    assert_eq!(t.join().unwrap(), 3);
    assert_eq!(ticks, [BoardTime::from_ms(20), BoardTime::from_ms(40), BoardTime::from_ms(60)]);
}

#[test]
fn lockstep_engine_stops_whenever_stop_comes() {
    // Stop asked for at every point of a tick: while the engine waits for
    // the ack, and while it works (the stop's own ack is then taken as the
    // tick's). The engine must end either way, not wait for an ack nobody
    // sends.
    for delay_us in [0u64, 50, 200, 1000, 5000] {
        let (mut e, h) = Engine::new(MemBoard::new(2, 2), EngineConfig { lockstep: true, ..EngineConfig::default() });
        let t = std::thread::spawn(move || e.run());
        // Ack a few ticks, then stop without acking any more.
        let mut acked = 0;
        while acked < 5 {
            if let EngineEvent::Tick { .. } = h.events.recv().unwrap() {
                h.ack_tick();
                acked += 1;
            }
        }
        std::thread::sleep(std::time::Duration::from_micros(delay_us));
        h.stop();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !t.is_finished() {
            assert!(std::time::Instant::now() < deadline, "engine still running 5 s after stop (delay {delay_us} µs)");
            let _ = h.events.try_recv();
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert!(t.join().unwrap().is_ok());
    }
}
