//! The simulator over its Unix socket in fast (lock-step) mode: 240 FXO
//! lines, every one in a call whose caller plays a pseudo-random pattern,
//! the driver side running the real engine with the lines bridged in pairs.
//!
//! Measures ticks per second through the whole loop (world → socket →
//! engine → socket → world); real-time factor = ticks/s × tick length.
//! Run: `cargo bench -p ctibox-boardsim --bench sim_socket`.
//!
//! Two worlds: served live, as `ctibox-sim serve` serves it (no director:
//! the far ends neither record nor listen), and observed, as a scenario
//! runs it (every far end records what it hears and runs its DTMF and tone
//! detectors). The criterion figure is the first; both print a plain
//! "N× real time" line over 500 ticks (10 s of board time).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};

use ctibox_boardsim::server::{Pace, ServeReport, Server};
use ctibox_boardsim::world::{AudioSource, CallRequest, World, WorldConfig};
use ctibox_driver::backend::sim::SimBoard;
use ctibox_driver::engine::{Engine, EngineCommand, EngineConfig, EngineHandle};
use ctibox_driver::hal::{BoardCommand, ChannelId, CommandKind, Duration};

const LINES: u16 = 240;

fn world(observed: bool) -> World {
    let cfg = WorldConfig { fxo: LINES, fxs: 0, ..WorldConfig::default() };
    let mut w = World::new(cfg).expect("world");
    if observed {
        w.observe_far_ends();
    }
    for line in 1..=LINES {
        w.call(CallRequest {
            line,
            from: format!("1380000{line:04}"),
            audio: AudioSource::Pattern { seed: line as u64 },
            hangup_after: None,
            abandon_after: Some(Duration::from_secs(3600)),
            name: None,
        })
        .expect("call");
    }
    w
}

/// A simulator thread serving the world and an engine attached to it, the
/// calls answered and bridged in pairs.
struct Rig {
    engine: Engine<SimBoard>,
    handle: EngineHandle,
    stop: Arc<AtomicBool>,
    serving: JoinHandle<ServeReport>,
    path: PathBuf,
}

fn rig(observed: bool) -> Rig {
    let path = std::env::temp_dir().join(format!("ctibox-bench-{}-{observed}.sock", std::process::id()));
    let server = Server::bind(&path).expect("bind");
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let serving = std::thread::spawn(move || {
        let mut w = world(observed);
        server.run(&mut w, Pace::Fast, &stop2).expect("serve")
    });
    let board = SimBoard::connect(&path, "bench").expect("connect");
    let (mut engine, handle) = Engine::new(board, EngineConfig::default());
    for line in (1..=LINES).step_by(2) {
        handle.send(EngineCommand::Bridge { a: ChannelId(line), b: ChannelId(line + 1) }).expect("queue");
    }
    for line in 1..=LINES {
        handle.send(EngineCommand::Board(BoardCommand::new(ChannelId(line), CommandKind::OffHook))).expect("queue");
    }
    // Let the calls connect.
    for _ in 0..50 {
        engine.step().expect("tick");
    }
    while handle.events.try_recv().is_ok() {}
    Rig { engine, handle, stop, serving, path }
}

impl Rig {
    /// Ten seconds of board time; prints and returns the real-time factor.
    fn figure(&mut self, label: &str) -> f64 {
        let t0 = Instant::now();
        let ticks = 500;
        for _ in 0..ticks {
            self.engine.step().expect("tick");
            while self.handle.events.try_recv().is_ok() {}
        }
        let el = t0.elapsed();
        let factor = (ticks as f64 * 0.020) / el.as_secs_f64();
        println!("sim_socket_fast ({label}): {ticks} ticks of {LINES} lines in {el:?}: {factor:.0}x real time");
        factor
    }

    fn finish(self) {
        self.stop.store(true, Ordering::Relaxed);
        drop(self.engine);
        let report = self.serving.join().expect("server thread");
        assert_eq!(report.slips, 0);
        let _ = std::fs::remove_file(&self.path);
    }
}

fn bench(c: &mut Criterion) {
    let mut live = rig(false);
    let mut g = c.benchmark_group("sim_socket_fast");
    g.bench_function("240_lines_in_calls_tick", |b| {
        b.iter(|| {
            live.engine.step().expect("tick");
            while live.handle.events.try_recv().is_ok() {}
        })
    });
    g.finish();
    live.figure("served live");
    live.finish();

    let mut observed = rig(true);
    observed.figure("far ends observed, as in a scenario");
    observed.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
