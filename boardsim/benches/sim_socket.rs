//! The simulator over its Unix socket in fast (lock-step) mode: 240 FXO
//! lines, every one in a call whose caller plays a pseudo-random pattern,
//! the driver side running the real engine with the lines bridged in pairs.
//!
//! Measures ticks per second through the whole loop (world → socket →
//! engine → socket → world); real-time factor = ticks/s × tick length.
//! Run: `cargo bench -p ctibox-boardsim --bench sim_socket`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};

use ctibox_boardsim::server::{Pace, Server};
use ctibox_boardsim::world::{AudioSource, CallRequest, World, WorldConfig};
use ctibox_driver::backend::sim::SimBoard;
use ctibox_driver::engine::{Engine, EngineCommand, EngineConfig};
use ctibox_driver::hal::{BoardCommand, ChannelId, CommandKind, Duration};

const LINES: u16 = 240;

fn world() -> World {
    let cfg = WorldConfig { fxo: LINES, fxs: 0, ..WorldConfig::default() };
    let mut w = World::new(cfg).expect("world");
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

fn bench(c: &mut Criterion) {
    let path = std::env::temp_dir().join(format!("ctibox-bench-{}.sock", std::process::id()));
    let server = Server::bind(&path).expect("bind");
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let serving = std::thread::spawn(move || {
        let mut w = world();
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

    let mut g = c.benchmark_group("sim_socket_fast");
    g.bench_function("240_lines_in_calls_tick", |b| {
        b.iter(|| {
            engine.step().expect("tick");
        })
    });
    g.finish();
    while handle.events.try_recv().is_ok() {}

    // A plain figure as well: ten seconds of board time.
    let t0 = Instant::now();
    let ticks = 500;
    for _ in 0..ticks {
        engine.step().expect("tick");
    }
    let el = t0.elapsed();
    let factor = (ticks as f64 * 0.020) / el.as_secs_f64();
    println!("sim_socket_fast: {ticks} ticks of 240 lines in {el:?}: {factor:.0}x real time");

    stop.store(true, Ordering::Relaxed);
    drop(engine);
    let report = serving.join().expect("server thread");
    assert_eq!(report.slips, 0);
}

criterion_group!(benches, bench);
criterion_main!(benches);
