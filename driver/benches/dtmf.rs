//! DTMF receiver and generator speed.
//!
//! `cargo bench -p ctibox-driver --bench dtmf --features spandsp` puts
//! spandsp's `dtmf_rx` beside ours on the same signal, both fed in 20 ms
//! ticks (160 samples) as the engine does, one channel at a time. Without
//! the `spandsp` feature only ours runs (a fresh machine builds without
//! libspandsp).
//!
//! Criterion reports elements (samples) per second; channels processed in
//! real time on one core = samples/s ÷ 8000. After the criterion groups,
//! `main` prints that figure for each receiver from one more timed pass.

#![allow(unsafe_code)] // only the spandsp FFI shim below

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use ctibox_driver::dsp::dtmf::{DtmfDetector, DtmfEvent, DtmfGenerator, DtmfTxConfig, dtmf_samples};
use ctibox_driver::dsp::noise::NoiseGenerator;
use ctibox_driver::dsp::tonegen::{ToneFreq, ToneGenerator, ToneSpec};

const TICK: usize = 160;

/// 8 s of line audio: digits, silence, noise and a vowel-like harmonic
/// sound, so that every path of a receiver is exercised.
fn signal() -> Vec<i16> {
    let mut s = dtmf_samples("123A456B789C*0#D", DtmfTxConfig::default()).unwrap_or_default();
    s.extend(std::iter::repeat_n(0i16, 8000));
    let mut noise = vec![0i16; 16000];
    NoiseGenerator::new(3, -30.0).tx(&mut noise);
    s.extend(noise);
    // Harmonics of 120 Hz under a formant-like envelope, 2 s.
    for k in 0..2 {
        let f0 = 120.0 + 60.0 * k as f32;
        let freqs = [ToneFreq { hz: f0 * 5.0, dbm0: -14.0 }, ToneFreq { hz: f0 * 11.0, dbm0: -18.0 }];
        if let Ok(spec) = ToneSpec::continuous(&freqs) {
            let mut g = ToneGenerator::new(&spec);
            let mut v = vec![0i16; 8000];
            g.tx(&mut v);
            s.extend(v);
        }
    }
    s.extend(dtmf_samples("0987654321", DtmfTxConfig::new(-20.0, 3.0, 40, 40)).unwrap_or_default());
    let mut tail = vec![0i16; 64000 - s.len().min(64000)];
    NoiseGenerator::new(4, -45.0).tx(&mut tail);
    s.extend(tail);
    s
}

fn run_ours(det: &mut DtmfDetector, s: &[i16], ev: &mut Vec<DtmfEvent>) -> usize {
    let mut n = 0;
    for tick in s.chunks(TICK) {
        det.rx(tick, ev);
        n += ev.len();
        ev.clear();
    }
    n
}

#[cfg(feature = "spandsp")]
mod spandsp {
    //! The few spandsp calls the bench needs (libspandsp, Debian
    //! libspandsp-dev).
    use std::ffi::{c_char, c_int, c_void};

    #[repr(C)]
    pub struct DtmfRxState {
        _opaque: [u8; 0],
    }

    type DigitsCallback = Option<unsafe extern "C" fn(*mut c_void, *const c_char, c_int)>;

    #[link(name = "spandsp")]
    unsafe extern "C" {
        fn dtmf_rx_init(s: *mut DtmfRxState, callback: DigitsCallback, user_data: *mut c_void) -> *mut DtmfRxState;
        fn dtmf_rx(s: *mut DtmfRxState, amp: *const i16, samples: c_int) -> c_int;
        fn dtmf_rx_get(s: *mut DtmfRxState, digits: *mut c_char, max: c_int) -> usize;
        fn dtmf_rx_free(s: *mut DtmfRxState) -> c_int;
    }

    /// One spandsp receiver with default settings.
    pub struct Rx(*mut DtmfRxState);

    impl Rx {
        pub fn new() -> Self {
            // SAFETY: a null state asks spandsp to allocate one; no callback.
            let s = unsafe { dtmf_rx_init(std::ptr::null_mut(), None, std::ptr::null_mut()) };
            assert!(!s.is_null(), "dtmf_rx_init failed");
            Rx(s)
        }

        /// Feed one block and take the digits it found.
        pub fn rx(&mut self, samples: &[i16]) -> usize {
            let mut buf = [0 as c_char; 129];
            // SAFETY: the state is live (freed only in Drop); `samples` is a
            // valid slice of the length passed, far below c_int::MAX.
            unsafe { dtmf_rx(self.0, samples.as_ptr(), samples.len() as c_int) };
            // SAFETY: `buf` has room for 128 digits and the terminator.
            unsafe { dtmf_rx_get(self.0, buf.as_mut_ptr(), 128) }
        }
    }

    impl Drop for Rx {
        fn drop(&mut self) {
            // SAFETY: the state came from dtmf_rx_init and is freed once.
            unsafe { dtmf_rx_free(self.0) };
        }
    }
}

fn bench(c: &mut Criterion) {
    let s = signal();
    let mut g = c.benchmark_group("dtmf_rx");
    g.throughput(Throughput::Elements(s.len() as u64));
    g.measurement_time(Duration::from_secs(4));
    g.bench_function("ctibox", |b| {
        let mut det = DtmfDetector::default();
        let mut ev = Vec::with_capacity(64);
        b.iter(|| run_ours(&mut det, black_box(&s), &mut ev))
    });
    #[cfg(feature = "spandsp")]
    g.bench_function("spandsp", |b| {
        let mut rx = spandsp::Rx::new();
        b.iter(|| black_box(&s).chunks(TICK).map(|t| rx.rx(t)).sum::<usize>())
    });
    g.finish();

    let mut g = c.benchmark_group("dtmf_tx");
    let len = 8000usize;
    g.throughput(Throughput::Elements(len as u64));
    g.bench_function("ctibox", |b| {
        let mut out = vec![0i16; len];
        b.iter(|| {
            let mut tx = DtmfGenerator::new(DtmfTxConfig::default()).unwrap_or_else(|e| panic!("{e}"));
            let _ = tx.push("0123456789");
            let mut n = 0;
            for tick in out.chunks_mut(TICK) {
                n += tx.tx(tick);
            }
            black_box(n)
        })
    });
    g.finish();
}

/// Channels in real time on one core. The machine is shared, so the two
/// receivers run in alternating short rounds (10 passes over the signal
/// each) and each keeps its fastest round: the figure least disturbed by
/// other load, measured under the same conditions for both.
fn channels_per_core() {
    let s = signal();
    let round = |f: &mut dyn FnMut() -> usize| {
        let start = Instant::now();
        for _ in 0..10 {
            black_box(f());
        }
        (10 * s.len()) as f64 / start.elapsed().as_secs_f64() / 8000.0
    };
    let mut det = DtmfDetector::default();
    let mut ev = Vec::with_capacity(64);
    let mut ours = 0f64;
    #[cfg(feature = "spandsp")]
    let (mut rx, mut theirs) = (spandsp::Rx::new(), 0f64);
    for _ in 0..200 {
        ours = ours.max(round(&mut || run_ours(&mut det, &s, &mut ev)));
        #[cfg(feature = "spandsp")]
        {
            theirs = theirs.max(round(&mut || s.chunks(TICK).map(|t| rx.rx(t)).sum()));
        }
    }
    println!("dtmf_rx channels per core (samples/s ÷ 8000, best of 200 rounds): ctibox {ours:.0}");
    #[cfg(feature = "spandsp")]
    println!(
        "dtmf_rx channels per core (samples/s ÷ 8000, best of 200 rounds): spandsp {theirs:.0}; ctibox/spandsp = {:.2}",
        ours / theirs
    );
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
    channels_per_core();
}
