//! Call setup and teardown through the whole daemon, on the simulated board
//! in fast mode (lock-step: board time runs as fast as the engine and the
//! core answer), with the journal written.
//!
//! `LINES` CO lines each route to their own extension; a feeder keeps every
//! idle line ringing: the central office rings the line, sends FSK caller ID
//! after the first ring, the daemon rings the extension (with caller ID),
//! the phone answers after one ring, the caller talks for 1 s of board time
//! and hangs up (loop-current drop), the daemon releases the extension. A
//! call is counted when the core reports it ended; at the end the journal
//! must hold every counted call, closed.
//!
//! The figure is calls per second of wall time, with the whole process
//! (engine, core, records and feeder threads) pinned to one CPU.
//!
//! Run: `cargo bench -p ctibox-daemon --bench call_setup`.
//!
//! Measured on the 2-core development machine while other builds ran
//! (load average about 4), pinned to CPU 0, 60 lines: 456, 512 and 682
//! calls/s in three runs (target: at least 200 calls/s on one core); every
//! answered call was in the journal, closed.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration as WallDuration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ctibox_boardsim::world::request::{CallRequest, Request};
use ctibox_boardsim::world::{AudioSource, ControlHandle};
use ctibox_daemon::config::Config;
use ctibox_daemon::core::{CallStatus, CtiEventKind};
use ctibox_daemon::daemon::{Daemon, DaemonOptions};
use ctibox_daemon::records::{CallFilter, CallPageRequest, RecordsReader};
use ctibox_driver::hal::Duration;

const LINES: u32 = 60;

fn config(dir: &std::path::Path) -> String {
    let mut c = format!(
        "[system]\ncountry = \"CN\"\ndata_dir = \"{}\"\n\n[board]\nbackend = \"builtin:fxo={LINES},fxs={LINES},cid=fsk,answer=1,pace=fast\"\n",
        dir.display()
    );
    for i in 1..=LINES {
        c.push_str(&format!(
            "\n[[trunk]]\nname = \"l{i}\"\nchannels = \"{i}\"\ncaller_id = \"auto\"\ndisconnect = [\"loop_drop\"]\ninbound = \"ext:{ext}\"\n\n[[extension]]\nnumber = \"{ext}\"\nchannel = {ch}\n",
            ext = 1000 + i,
            ch = LINES + i
        ));
    }
    c
}

/// Keeps every idle line ringing until `stop`.
fn feeder(control: ControlHandle, stop: Arc<AtomicBool>) {
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let mut pending = Vec::with_capacity(LINES as usize);
        for line in 1..=LINES {
            n += 1;
            let req = Request::Call(CallRequest {
                line: line as u16,
                from: format!("1380000{:04}", n % 10_000),
                audio: AudioSource::Silence,
                hangup_after: Some(Duration::from_ms(1000)),
                abandon_after: None,
                name: None,
            });
            if let Ok(rx) = control.send(req) {
                pending.push(rx);
            }
        }
        // Replies come once the world has run a tick; busy lines refuse.
        for rx in pending {
            let _ = rx.recv_timeout(WallDuration::from_secs(5));
        }
    }
}

/// Pin this process's threads (those started after this) to CPU 0.
fn pin_to_one_cpu() {
    let mut set = nix::sched::CpuSet::new();
    if set.set(0).is_ok() && nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set).is_ok() {
        eprintln!("call_setup: pinned to CPU 0");
    } else {
        eprintln!("call_setup: could not pin to one CPU; the figure uses every CPU");
    }
}

fn journaled_closed_calls(reader: &RecordsReader) -> usize {
    let mut n = 0;
    let mut req = CallPageRequest { limit: 1000, ..CallPageRequest::default() };
    loop {
        let page = reader.calls(&CallFilter::default(), &req).expect("journal query");
        n += page.calls.iter().filter(|c| c.end_board_ms.is_some() && c.answer_board_ms.is_some()).count();
        match page.next {
            Some(next) => req.after = Some(next),
            None => return n,
        }
    }
}

fn bench_call_setup(c: &mut Criterion) {
    pin_to_one_cpu();
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = Config::parse("bench.toml", &config(dir.path())).expect("bench config");
    let db = dir.path().join("bench.db");
    let daemon = Daemon::start(DaemonOptions { config: cfg, board: None, database: Some(db.clone()) }).expect("daemon");
    let mut events = daemon.core.subscribe();
    let control = daemon.sim_control.clone().expect("a built-in board");
    let stop = Arc::new(AtomicBool::new(false));
    let feeder_thread = {
        let stop = stop.clone();
        std::thread::spawn(move || feeder(control, stop))
    };
    let ended = Arc::new(AtomicU64::new(0));
    let answered_ended = Arc::new(AtomicU64::new(0));
    let counter = {
        let (ended, answered_ended, stop) = (ended.clone(), answered_ended.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut seen = HashSet::new();
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async move {
                while !stop.load(Ordering::Relaxed) {
                    match tokio::time::timeout(WallDuration::from_millis(200), events.recv()).await {
                        Ok(Ok(ev)) => {
                            if let CtiEventKind::Call { call } = ev.kind
                                && call.status == CallStatus::Ended
                                && seen.insert(call.call)
                            {
                                ended.fetch_add(1, Ordering::Relaxed);
                                if call.answered_ms.is_some() {
                                    answered_ended.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                        }
                        Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(n))) => {
                            panic!("the bench lost {n} CTI events")
                        }
                        Ok(Err(_)) => return,
                        Err(_) => {}
                    }
                }
            });
        })
    };

    let mut g = c.benchmark_group("daemon");
    g.sample_size(10).warm_up_time(WallDuration::from_secs(3)).measurement_time(WallDuration::from_secs(20));
    g.throughput(Throughput::Elements(1));
    g.bench_function("call_setup_teardown", |b| {
        b.iter_custom(|iters| {
            let start_count = ended.load(Ordering::Relaxed);
            let start = Instant::now();
            while ended.load(Ordering::Relaxed) < start_count + iters {
                assert!(start.elapsed() < WallDuration::from_secs(600), "calls stopped completing");
                std::thread::sleep(WallDuration::from_micros(200));
            }
            start.elapsed()
        })
    });
    g.finish();

    stop.store(true, Ordering::Relaxed);
    let _ = feeder_thread.join();
    let _ = counter.join();
    let counted = answered_ended.load(Ordering::Relaxed) as usize;
    let all = ended.load(Ordering::Relaxed);
    let reader = daemon.records.reader();
    daemon.shutdown();
    let journaled = journaled_closed_calls(&reader);
    eprintln!("call_setup: {all} calls ended ({counted} answered); the journal holds {journaled} answered and closed");
    assert!(journaled >= counted, "every answered call that ended is in the journal");
    assert!(counted as f64 >= all as f64 * 0.99, "calls must be answered, not failed: {counted} of {all}");
}

criterion_group!(benches, bench_call_setup);
criterion_main!(benches);
