//! Caller-ID receiver and generator speed, in channels processed in real
//! time per core (samples per second / 8000).
//!
//! `cargo bench -p ctibox-driver --bench cid --features spandsp` puts
//! spandsp's `adsi_rx` (libspandsp-dev, through the FFI shim below) beside
//! ours on the same audio: one second holding 100 ms of silence, a full
//! MDMF caller ID (seizure, 180 marks, message) and silence to the end, fed
//! in 160-sample (20 ms) blocks as the engine does.
#![allow(unsafe_code)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use ctibox_driver::dsp::cid::{
    CallerId, CallerIdGenerator, CallerIdReceiver, CidEvent, CidMessage, CidStandard, CidText, CidTxConfig, DateTime,
};

const BLOCK: usize = 160;
const SECOND: usize = 8000;

fn signal(standard: CidStandard) -> Vec<i16> {
    let cid = CallerId {
        date_time: Some(DateTime { month: 3, day: 24, hour: 9, minute: 30 }),
        number: Some(CidText::new(b"5551212345").unwrap()),
        name: Some(CidText::new(b"JOHN DOE").unwrap()),
        ..Default::default()
    };
    let mut g = CallerIdGenerator::new(&CidTxConfig::new(standard), &CidMessage::MdmfCallerId(cid)).unwrap();
    let mut sig = vec![0i16; SECOND];
    let n = g.tx(&mut sig[800..]);
    assert!(800 + n < SECOND);
    sig
}

fn ours(sig: &[i16], standard: CidStandard) -> usize {
    let mut rx = CallerIdReceiver::new(standard);
    let mut n = 0;
    for c in sig.chunks(BLOCK) {
        rx.rx_with(black_box(c), &mut |e: CidEvent| n += e.caller_id().is_some() as usize);
    }
    n
}

#[cfg(feature = "spandsp")]
mod spandsp {
    use std::ffi::{c_int, c_void};

    #[repr(C)]
    pub struct AdsiRxState {
        _opaque: [u8; 0],
    }

    type PutMsg = unsafe extern "C" fn(user_data: *mut c_void, msg: *const u8, len: c_int);

    pub const ADSI_STANDARD_CLASS: c_int = 1;
    pub const ADSI_STANDARD_CLIP: c_int = 2;

    #[link(name = "spandsp")]
    unsafe extern "C" {
        fn adsi_rx_init(
            s: *mut AdsiRxState,
            standard: c_int,
            put_msg: PutMsg,
            user_data: *mut c_void,
        ) -> *mut AdsiRxState;
        fn adsi_rx(s: *mut AdsiRxState, amp: *const i16, len: c_int) -> c_int;
        fn adsi_rx_free(s: *mut AdsiRxState) -> c_int;
    }

    unsafe extern "C" fn count(user_data: *mut c_void, _msg: *const u8, _len: c_int) {
        // SAFETY: user_data is the `*mut usize` passed to adsi_rx_init by
        // `run`, alive for the whole run.
        unsafe { *(user_data as *mut usize) += 1 };
    }

    /// Run spandsp's receiver over `sig` in blocks; returns messages found.
    pub fn run(sig: &[i16], standard: c_int, block: usize) -> usize {
        let mut found: usize = 0;
        // SAFETY: a NULL state asks spandsp to allocate one; the callback
        // and its user data outlive the state, freed below.
        let s = unsafe { adsi_rx_init(std::ptr::null_mut(), standard, count, &mut found as *mut usize as *mut c_void) };
        assert!(!s.is_null());
        for c in sig.chunks(block) {
            // SAFETY: `s` is a live state and `c` a valid slice of `c.len()` samples.
            unsafe { adsi_rx(s, c.as_ptr(), c.len() as c_int) };
        }
        // SAFETY: `s` came from adsi_rx_init and is not used after this.
        unsafe { adsi_rx_free(s) };
        found
    }
}

/// Channels in real time per core: the best of `rounds` timings of one
/// second of audio (the least disturbed by other work on the machine).
fn best_channels(times: &[Duration]) -> f64 {
    let best = times.iter().min().copied().unwrap_or(Duration::MAX);
    1.0 / best.as_secs_f64()
}

fn time_one(f: &mut impl FnMut() -> usize) -> Duration {
    let t = Instant::now();
    black_box(f());
    t.elapsed()
}

fn bench(c: &mut Criterion) {
    for standard in [CidStandard::Bell202, CidStandard::V23] {
        let sig = signal(standard);
        assert_eq!(ours(&sig, standard), 1, "our receiver must find the message");
        let mut g = c.benchmark_group(format!("cid_rx_{standard:?}"));
        g.throughput(Throughput::Elements(sig.len() as u64));
        g.bench_function("ctibox", |b| b.iter(|| ours(&sig, standard)));
        #[cfg(feature = "spandsp")]
        {
            let std_code = if standard == CidStandard::Bell202 {
                spandsp::ADSI_STANDARD_CLASS
            } else {
                spandsp::ADSI_STANDARD_CLIP
            };
            assert_eq!(spandsp::run(&sig, std_code, BLOCK), 1, "spandsp must find the message");
            g.bench_function("spandsp_adsi_rx", |b| b.iter(|| spandsp::run(&sig, std_code, BLOCK)));
        }
        g.finish();
    }
    let mut g = c.benchmark_group("cid_tx");
    g.throughput(Throughput::Elements(SECOND as u64));
    g.bench_function("ctibox_bell202_mdmf", |b| b.iter(|| signal(CidStandard::Bell202)));
    g.finish();
}

fn summary() {
    const ROUNDS: usize = 400;
    println!(
        "\nchannels processed in real time per core (1 s of audio with one MDMF caller ID, 160-sample blocks; \
         best of {ROUNDS} interleaved rounds):"
    );
    for standard in [CidStandard::Bell202, CidStandard::V23] {
        let sig = signal(standard);
        let mut ours_t = Vec::with_capacity(ROUNDS);
        #[cfg(feature = "spandsp")]
        let mut theirs_t = Vec::with_capacity(ROUNDS);
        #[cfg(feature = "spandsp")]
        let code =
            if standard == CidStandard::Bell202 { spandsp::ADSI_STANDARD_CLASS } else { spandsp::ADSI_STANDARD_CLIP };
        for _ in 0..ROUNDS {
            ours_t.push(time_one(&mut || ours(&sig, standard)));
            #[cfg(feature = "spandsp")]
            theirs_t.push(time_one(&mut || spandsp::run(&sig, code, BLOCK)));
        }
        let o = best_channels(&ours_t);
        print!("  {standard:?}: ctibox {o:.0}");
        #[cfg(feature = "spandsp")]
        {
            let s = best_channels(&theirs_t);
            print!(", spandsp adsi_rx {s:.0}, ratio {:.2}", o / s);
        }
        println!();
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
    summary();
}
