//! The full receive chain of one channel as the engine runs it: DTMF,
//! call-progress tones, fax tones and voice activity, over 20 ms ticks.
//!
//! The signal is 12 s of what a line carries during a call: quiet line
//! noise, speech-like audio (noise shaped into syllables, with a voiced
//! buzz), ringback, DTMF digits. Channels per core = seconds of audio
//! processed per second of CPU.
//!
//! Run: `cargo bench -p ctibox-driver --bench rx_chain`.

use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use ctibox_driver::dsp::cid::CidStandard;
use ctibox_driver::dsp::dtmf::{DtmfTxConfig, dtmf_samples};
use ctibox_driver::dsp::noise::NoiseGenerator;
use ctibox_driver::dsp::tones::{Country, ToneKind};
use ctibox_driver::hal::BoardTime;
use ctibox_driver::media::detectors::{ChannelDetectors, DetectorShared, Detectors};

fn signal() -> Vec<i16> {
    let mut s = Vec::with_capacity(8000 * 12);
    // 3 s of line noise at -60 dBm0.
    let mut n = NoiseGenerator::new(1, -60.0);
    let mut buf = vec![0i16; 8000 * 3];
    n.tx(&mut buf);
    s.extend_from_slice(&buf);
    // 5 s of speech-like audio: syllables of 150-300 ms, a 120 Hz buzz with
    // harmonics plus noise, at about -20 dBm0, with short pauses.
    let mut noise = NoiseGenerator::new(2, -26.0);
    let mut t = 0usize;
    while t < 8000 * 5 {
        let syl = 1200 + (t * 7 % 1200);
        for k in 0..syl {
            let env = (std::f64::consts::PI * k as f64 / syl as f64).sin();
            let ph = 2.0 * std::f64::consts::PI * 120.0 * (t + k) as f64 / 8000.0;
            let buzz = (ph.sin() + 0.5 * (2.0 * ph).sin() + 0.3 * (3.0 * ph).sin() + 0.2 * (5.0 * ph).sin()) * 2500.0;
            let v = (buzz + noise.sample() as f64) * env;
            s.push(v.clamp(-32768.0, 32767.0) as i16);
        }
        t += syl;
        let gap = 400;
        for _ in 0..gap {
            s.push(noise.sample() / 16);
        }
        t += gap;
    }
    s.truncate(8000 * 8);
    // 2 s of CN ringback (on 1 s, off).
    let spec = Country::Cn.profile().spec(ToneKind::Ringback).expect("ringback");
    let mut g = ctibox_driver::dsp::tonegen::ToneGenerator::new(&spec);
    let mut rb = vec![0i16; 8000 * 2];
    g.tx(&mut rb);
    s.extend_from_slice(&rb);
    // 2 s of DTMF digits.
    let mut d = dtmf_samples("0123456789", DtmfTxConfig::default()).expect("dtmf");
    d.resize(8000 * 2, 0);
    s.extend_from_slice(&d);
    s
}

const ALL: Detectors = Detectors { dtmf: true, tones: true, cid_fsk: false, cid_dtmf: false, fax: true, vad: true };
const NONE: Detectors =
    Detectors { dtmf: false, tones: false, cid_fsk: false, cid_dtmf: false, fax: false, vad: false };

fn chain_of(which: Detectors) -> ChannelDetectors {
    let shared = DetectorShared::for_country(Country::Cn);
    let mut d = ChannelDetectors::new(&shared, CidStandard::Bell202);
    d.set_enabled(BoardTime::ZERO, which);
    d
}

fn chain() -> ChannelDetectors {
    chain_of(ALL)
}

/// Seconds of CPU for the signal through the given detectors, best of
/// `rounds`; also the number of events.
fn best_time(sig: &[i16], which: Detectors, rounds: usize) -> (f64, usize) {
    let mut best = f64::MAX;
    let mut events = 0;
    for _ in 0..rounds {
        let mut d = chain_of(which);
        let t0 = Instant::now();
        let mut n = 0usize;
        for tick in sig.chunks(160) {
            d.rx(tick, &mut |_| n += 1);
        }
        best = best.min(t0.elapsed().as_secs_f64());
        events = n;
    }
    (best, events)
}

fn bench(c: &mut Criterion) {
    let sig = signal();
    let seconds = sig.len() as f64 / 8000.0;
    let mut g = c.benchmark_group("rx_chain");
    g.throughput(Throughput::Elements(sig.len() as u64));
    g.bench_function("dtmf_tones_fax_vad_12s", |b| {
        b.iter(|| {
            let mut d = chain();
            let mut n = 0usize;
            for tick in sig.chunks(160) {
                d.rx(tick, &mut |_| n += 1);
            }
            n
        })
    });
    g.finish();

    // A plain figure, best of several rounds (the machine may be busy).
    let (best, n) = best_time(&sig, ALL, 100);
    assert!(n > 10, "the chain found the digits and tones");
    println!("rx_chain: {:.0} channels per core (best of 100, {seconds:.0} s of audio)", seconds / best);
    // Each detector alone, to show where the time goes.
    let parts = [
        ("dtmf", Detectors { dtmf: true, ..NONE }),
        ("tones", Detectors { tones: true, ..NONE }),
        ("fax", Detectors { fax: true, ..NONE }),
        ("vad", Detectors { vad: true, ..NONE }),
    ];
    let line: Vec<String> = parts
        .iter()
        .map(|(name, which)| {
            let (t, _) = best_time(&sig, *which, 100);
            format!("{name} {:.0}", seconds / t)
        })
        .collect();
    println!("rx_chain alone, channels per core: {}", line.join(", "));
}

criterion_group!(benches, bench);
criterion_main!(benches);
