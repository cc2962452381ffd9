//! Records benchmarks:
//!
//! - `journal/events`: call events through the records thread, from
//!   `submit` until `wait_committed` says the last one is on disk (target:
//!   at least 5 000 events/s);
//! - `journal/calls`: whole calls (start, 2 legs, 6 events, answer, end);
//! - `customers/lookup_100k`: screen-pop lookup by phone among 100 000
//!   customers, the incoming number in national form, the stored one
//!   international; and a miss.
//!
//! Run: `cargo bench -p ctibox-daemon --bench records`.
//!
//! Measured on the 2-core development machine, shared with other builds
//! (load average about 7), two runs: `journal/events` 128 000 and 134 000
//! events/s; `journal/calls` 7 600 and 6 900 calls/s (11 operations each,
//! about 80 000 operations/s); 100 000 customers imported from CSV in 4.0 and
//! 5.0 s; `customers/lookup_100k` 22.5 and 32.6 µs; `lookup_100k_miss` 8.1
//! and 8.8 µs.

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ctibox_daemon::records::{
    Direction, HangupCause, ImportOptions, JournalOp, LegRole, Records, RecordsConfig, RecordsHandle, Stamp,
    SubmitError,
};

const EVENTS_PER_ITER: u64 = 10_000;
const CUSTOMERS: usize = 100_000;

fn at(ms: i64) -> Stamp {
    Stamp { board_ms: ms, wall_ms: 1_700_000_000_000 + ms }
}

/// Submits, retrying while the queue is full (the bench measures the
/// writer's throughput, so it waits where the daemon would count a drop).
fn submit(handle: &RecordsHandle, op: JournalOp) -> u64 {
    loop {
        match handle.submit(op.clone()) {
            Ok(seq) => return seq,
            Err(SubmitError::QueueFull { .. }) => std::thread::sleep(Duration::from_micros(200)),
            Err(e) => panic!("{e}"),
        }
    }
}

fn start_call(handle: &RecordsHandle, t: i64) -> ctibox_daemon::records::CallId {
    let call = handle.next_call_id();
    submit(
        handle,
        JournalOp::CallStarted {
            call,
            direction: Direction::Inbound,
            caller_number: "+86 138 0013 8000".into(),
            caller_name: "ZHANG".into(),
            called_number: "62001000".into(),
            channel: Some(1),
            at: at(t),
        },
    );
    call
}

fn journal(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let records = Records::open(dir.path().join("records.db"), &RecordsConfig::default()).unwrap();
    let handle = records.handle();
    let mut group = c.benchmark_group("journal");
    group.sample_size(10).measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Elements(EVENTS_PER_ITER));
    group.bench_function("events", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let call = start_call(&handle, 0);
                let began = Instant::now();
                let mut last = 0;
                for i in 0..EVENTS_PER_ITER as i64 {
                    last = submit(
                        &handle,
                        JournalOp::CallEvent {
                            call,
                            leg: None,
                            at: at(i),
                            kind: "dtmf".into(),
                            detail: serde_json::json!({ "digit": "5", "duration_ms": 80 }),
                        },
                    );
                }
                handle.wait_committed(last, Duration::from_secs(60)).unwrap();
                total += began.elapsed();
            }
            total
        })
    });
    const CALLS_PER_ITER: u64 = 1_000;
    group.throughput(Throughput::Elements(CALLS_PER_ITER));
    group.bench_function("calls", |b| {
        b.iter_custom(|iters| {
            let began = Instant::now();
            for _ in 0..iters {
                let mut last = 0;
                for t in 0..CALLS_PER_ITER as i64 {
                    let call = start_call(&handle, t);
                    for (role, number) in [(LegRole::Caller, "13800138000"), (LegRole::Agent, "8001")] {
                        let leg = handle.next_leg_id();
                        submit(
                            &handle,
                            JournalOp::LegAdded {
                                leg,
                                call,
                                role,
                                channel: Some(1),
                                party_number: number.into(),
                                party_name: String::new(),
                                extension: None,
                                at: at(t),
                            },
                        );
                    }
                    for i in 0..6 {
                        submit(
                            &handle,
                            JournalOp::CallEvent {
                                call,
                                leg: None,
                                at: at(t + i),
                                kind: "ivr".into(),
                                detail: serde_json::json!({ "node": i }),
                            },
                        );
                    }
                    submit(&handle, JournalOp::CallAnswered { call, at: at(t + 10) });
                    last = submit(
                        &handle,
                        JournalOp::CallEnded {
                            call,
                            at: at(t + 20),
                            cause: HangupCause::Normal,
                            detail: String::new(),
                        },
                    );
                }
                handle.wait_committed(last, Duration::from_secs(60)).unwrap();
            }
            began.elapsed()
        })
    });
    group.finish();
    let stats = handle.stats();
    eprintln!(
        "records thread: {} ops committed in {} transactions (largest {}), {} refused while full (retried)",
        stats.committed_ops, stats.batches, stats.max_batch, stats.queue_full
    );
    records.shutdown();
}

fn customers(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let records = Records::open(dir.path().join("records.db"), &RecordsConfig::default()).unwrap();
    let mut csv = String::from("name,company,phone,vip\n");
    for i in 0..CUSTOMERS {
        // Stored international: +86 139 NNNN NNNN.
        csv.push_str(&format!(
            "Customer {i},Company {},+86 139 {:04} {:04},{}\n",
            i % 997,
            i / 10_000,
            i % 10_000,
            i % 10
        ));
    }
    let began = Instant::now();
    let report = records.handle().import_customers(csv.as_bytes(), ImportOptions::default()).unwrap();
    eprintln!("imported {} customers in {:.2?} ({} problems)", report.inserted, began.elapsed(), report.problems.len());
    assert_eq!(report.inserted, CUSTOMERS);
    let reader = records.reader();
    let mut group = c.benchmark_group("customers");
    group.throughput(Throughput::Elements(1));
    let mut i = 0usize;
    group.bench_function("lookup_100k", |b| {
        b.iter(|| {
            i = (i + 7_919) % CUSTOMERS;
            // Incoming national form: 139NNNNNNNN.
            let number = format!("139{:04}{:04}", i / 10_000, i % 10_000);
            let found = reader.customers_by_phone(&number).unwrap();
            assert_eq!(found.len(), 1, "{number}");
        })
    });
    group.bench_function("lookup_100k_miss", |b| {
        b.iter(|| {
            let found = reader.customers_by_phone("13712345678").unwrap();
            assert!(found.is_empty());
        })
    });
    group.finish();
    records.shutdown();
}

criterion_group!(benches, journal, customers);
criterion_main!(benches);
