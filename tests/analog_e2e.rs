//! Issue: foundation, end to end. The real engine drives a simulated analog
//! board with 4 FXO and 4 FXS ports — once with `ctibox-sim` as a separate
//! process over its socket in fast mode, once with the simulator linked in —
//! through the same scripted call:
//!
//! - Alice (13800138000) rings FXO 1 with the Chinese cadence: the driver
//!   must see ring on/off at 0, 1, 5 s; it answers on the second ring,
//! - her audio (a seeded pseudo-random pattern) must reach the driver
//!   bit-exact, and the driver's audio (a known buffer) must reach her
//!   bit-exact,
//! - she hangs up at 12 s: the driver sees a loop-current drop,
//! - meanwhile the phone on port 5 goes off-hook at 1 s, dials 1234 as DTMF
//!   audio (the driver decodes it) and hangs up at 4 s.

use std::path::Path;
use std::time::Duration as WallDuration;

use ctibox_boardsim::InProcessBoard;
use ctibox_boardsim::scenario;
use ctibox_boardsim::world::PatternGenerator;
use ctibox_driver::backend::sim::SimBoard;
use ctibox_driver::dsp::dtmf::{DtmfDetector, DtmfEvent, DtmfRxDescriptor};
use ctibox_driver::dsp::g711;
use ctibox_driver::engine::{Engine, EngineCommand, EngineConfig, EngineEvent, EngineHandle};
use ctibox_driver::hal::{Board, BoardCommand, BoardError, BoardTime, ChannelId, CommandKind, EventKind, Target};
use ctibox_driver::media::player::PlayBuffer;
use ctibox_driver::media::recorder::RecordWhat;
use ctibox_e2e::{Proc, Scratch, wait_for_socket};

const CALLER_SEED: u64 = 7;

fn scenario_text(dir: &Path) -> String {
    format!(
        r#"
[board]
fxo = 4
fxs = 4
law = "alaw"
country = "CN"
tick_ms = 20
seed = 1
max_time = "1m"

[[line]]
port = 1
number = "88880001"
disconnect = ["loop_drop"]
loop_drop = "600ms"

[[caller]]
name = "alice"
from = "13800138000"
line = 1
record = "{dir}/alice.wav"
audio = {{ pattern = {CALLER_SEED} }}
steps = [
  {{ at = "0s", do = "call" }},
  {{ wait_for = "answered", timeout = "30s" }},
  {{ at = "12s", do = "hangup" }},
  {{ expect = "ended", within = "2s" }},
]

[[phone]]
port = 5
number = "801"
steps = [
  {{ at = "1s", do = "offhook" }},
  {{ after = "500ms", do = "dial", digits = "1234" }},
  {{ at = "4s", do = "hangup" }},
]
"#,
        dir = dir.display()
    )
}

/// What the driver saw.
#[derive(Debug, Default)]
struct Seen {
    events: Vec<(u64, u16, EventKind)>,
    /// Linear audio received on FXO 1 from the answer on.
    line1: Vec<i16>,
    /// Linear audio received on FXS 5.
    phone5: Vec<i16>,
}

/// The audio the driver plays to Alice: A-law-exact values, so the codes
/// on the wire are known.
fn driver_audio() -> Vec<i16> {
    let mut p = PatternGenerator::new(99);
    (0..8000 * 5).map(|_| g711::alaw_to_linear(g711::linear_to_alaw(p.next_sample()))).collect()
}

/// Drive the board with the engine for 14 s of board time.
fn drive<B: Board>(engine: &mut Engine<B>, h: &EngineHandle) -> Seen {
    let mut seen = Seen::default();
    h.send(EngineCommand::RecordStart { channel: ChannelId(5), id: 5, what: RecordWhat::Rx }).unwrap();
    let mut rings = 0;
    let mut ticks = 0;
    while ticks < 14 * 50 {
        match engine.step() {
            Ok(_) => {}
            // A scenario run by a separate ctibox-sim ends when its
            // timelines are done, once Alice's call has ended.
            Err(BoardError::Disconnected(why)) if why.contains("the simulation has finished") => break,
            Err(e) => panic!("tick {ticks}: {e}"),
        }
        ticks += 1;
        while let Ok(ev) = h.events.try_recv() {
            if let EngineEvent::Board(b) = ev {
                let Target::Channel(ch) = b.target else { continue };
                seen.events.push((b.at.as_ms(), ch.0, b.kind));
                if ch == ChannelId(1) && b.kind == EventKind::RingOn {
                    rings += 1;
                    if rings == 2 {
                        h.send(EngineCommand::Board(BoardCommand::new(ChannelId(1), CommandKind::OffHook))).unwrap();
                        h.send(EngineCommand::Play {
                            channel: ChannelId(1),
                            id: 1,
                            buffer: PlayBuffer::new(driver_audio()),
                            repeat: false,
                        })
                        .unwrap();
                        h.send(EngineCommand::RecordStart { channel: ChannelId(1), id: 1, what: RecordWhat::Rx })
                            .unwrap();
                    }
                }
            }
        }
        while let Ok(block) = h.records.try_recv() {
            match block.recording {
                1 => seen.line1.extend_from_slice(block.audio()),
                _ => seen.phone5.extend_from_slice(block.audio()),
            }
            h.pool.give(block.samples);
        }
    }
    seen
}

fn times(seen: &Seen, ch: u16, kind: EventKind) -> Vec<u64> {
    seen.events.iter().filter(|(_, c, k)| *c == ch && *k == kind).map(|(t, _, _)| *t).collect()
}

/// Where `needle` starts in `hay`, comparing every sample.
fn find(hay: &[i16], needle: &[i16]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn check(seen: &Seen, alice_heard: &[i16]) {
    // Ringing with the Chinese cadence, 1 s on / 4 s off, at exact times.
    let ring_on = times(seen, 1, EventKind::RingOn);
    let ring_off = times(seen, 1, EventKind::RingOff);
    assert_eq!(&ring_on[..2], &[0, 5000], "ring on: {ring_on:?}");
    assert_eq!(ring_off[0], 1000, "ring off: {ring_off:?}");
    // Far-end disconnect when Alice hangs up at 12 s.
    assert_eq!(times(seen, 1, EventKind::LoopCurrentDrop), vec![12_000]);
    // The phone's hook.
    assert_eq!(times(seen, 5, EventKind::OffHook), vec![1000]);
    assert_eq!(times(seen, 5, EventKind::OnHook), vec![4000]);

    // Alice's audio reached the driver bit-exact: her pattern, coded in
    // A-law by her side, decoded by ours, sample for sample and unbroken.
    let mut p = PatternGenerator::new(CALLER_SEED);
    let sent: Vec<i16> = (0..8000 * 6).map(|_| g711::alaw_to_linear(g711::linear_to_alaw(p.next_sample()))).collect();
    let at = find(&seen.line1, &sent[..800]).expect("Alice's pattern in what the driver received");
    let got = &seen.line1[at..];
    let n = got.len().min(sent.len());
    assert!(n > 8000 * 5, "at least 5 s of her audio: {n} samples");
    assert_eq!(&got[..n], &sent[..n], "caller → driver is bit-exact");

    // The driver's audio reached Alice bit-exact.
    let mine = driver_audio();
    let at = find(alice_heard, &mine[..800]).expect("the driver's audio in what Alice heard");
    assert_eq!(&alice_heard[at..at + mine.len()], &mine[..], "driver → caller is bit-exact");

    // The phone dialled 1234 as real DTMF audio.
    let mut det = DtmfDetector::new(DtmfRxDescriptor::shared_default());
    let mut evs = Vec::new();
    det.rx(&seen.phone5, &mut evs);
    let digits: String = evs
        .iter()
        .filter_map(|e| match e {
            DtmfEvent::Digit(t) => Some(t.digit.as_char()),
            _ => None,
        })
        .collect();
    assert_eq!(digits, "1234");
}

#[test]
fn separate_simulator_process_in_fast_mode() {
    let dir = Scratch::new("analog");
    let scen = dir.path("call.toml");
    std::fs::write(&scen, scenario_text(&dir.0)).unwrap();
    let sock = dir.path("sim.sock");
    let sim = Proc::start("ctibox-sim", &["run", scen.to_str().unwrap(), "--fast", "--socket", sock.to_str().unwrap()]);
    wait_for_socket(&sock, WallDuration::from_secs(10));
    let board = SimBoard::connect(&sock, "e2e test").expect("attach to ctibox-sim");
    assert_eq!(board.info().channel_count(), 8);
    let (mut engine, h) = Engine::new(board, EngineConfig::default());
    let seen = drive(&mut engine, &h);
    drop(engine);
    let (code, out, err) = sim.wait(WallDuration::from_secs(30));
    assert_eq!(code, 0, "ctibox-sim run passed every expectation:\n{out}\n{err}");
    assert!(out.contains("PASS"), "{out}");
    let wav = ctibox_driver::media::wav::read_file(dir.path("alice.wav")).expect("Alice's recording");
    check(&seen, &wav.mono_i16());
}

#[test]
fn simulator_linked_in_process() {
    let dir = Scratch::new("analog-inproc");
    let scen = dir.path("call.toml");
    std::fs::write(&scen, scenario_text(&dir.0)).unwrap();
    let s = scenario::load(&scen).expect("scenario");
    let world = s.build_world().expect("world");
    let (mut engine, h) = Engine::new(InProcessBoard::new(world), EngineConfig::default());
    let seen = drive(&mut engine, &h);
    let world = engine.into_board().into_world();
    let report = scenario::report(&scen, &world, None);
    assert_eq!(report.failed, 0, "{}", report.render());
    let alice = world.caller("alice").expect("alice").recorder().linear();
    check(&seen, &alice);
    assert_eq!(world.now(), BoardTime::from_ms(14_000), "700 ticks of 20 ms");
}
