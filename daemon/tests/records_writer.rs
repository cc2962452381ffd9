//! The records thread: batched commits, the committed mark, a full queue
//! counted, bad operations rolled back alone, recovery of in-flight calls.

use std::time::Duration;

use ctibox_daemon::records::{
    CallId, Direction, HangupCause, JournalOp, LegRole, Records, RecordsConfig, RecordsHandle, Stamp, SubmitError,
    WaitError,
};
use rusqlite::Connection;

const WAIT: Duration = Duration::from_secs(10);

fn at(board_ms: i64) -> Stamp {
    Stamp { board_ms, wall_ms: 1_700_000_000_000 + board_ms }
}

fn start(handle: &RecordsHandle, call: CallId, t: i64) -> u64 {
    handle
        .submit(JournalOp::CallStarted {
            call,
            direction: Direction::Inbound,
            caller_number: "13800138000".into(),
            caller_name: "ZHANG".into(),
            called_number: "8001".into(),
            channel: Some(1),
            at: at(t),
        })
        .unwrap()
}

fn count(path: &std::path::Path, sql: &str) -> i64 {
    Connection::open(path).unwrap().query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn batches_commit_and_the_mark_advances() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("records.db");
    let records = Records::open(&path, &RecordsConfig::default()).unwrap();
    let handle = records.handle();
    let call = handle.next_call_id();
    let first = start(&handle, call, 0);
    assert_eq!(first, 1);
    let mut last = first;
    for i in 0..5_000 {
        last = handle
            .submit(JournalOp::CallEvent {
                call,
                leg: None,
                at: at(i),
                kind: "dtmf".into(),
                detail: serde_json::json!({ "digit": (i % 10).to_string() }),
            })
            .unwrap();
    }
    handle.wait_committed(last, WAIT).unwrap();
    assert!(handle.committed_seq() >= last);
    let stats = handle.stats();
    assert_eq!(stats.committed_ops, 5_001);
    assert_eq!(stats.failed_ops, 0);
    assert_eq!(stats.queue_full, 0);
    // 5001 operations in far fewer transactions.
    assert!(stats.batches < 5_001, "{stats:?}");
    assert!(stats.max_batch > 1, "{stats:?}");
    assert_eq!(count(&path, "SELECT count(*) FROM call_events"), 5_000);
    // A sequence number not issued yet is refused, not waited for.
    assert_eq!(handle.wait_committed(last + 100, WAIT), Err(WaitError::NotIssued { seq: last + 100 }));
    records.shutdown();
}

#[test]
fn a_full_queue_is_counted_and_never_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("records.db");
    let config = RecordsConfig { queue_capacity: 4, max_batch: 2, ..RecordsConfig::default() };
    let records = Records::open(&path, &config).unwrap();
    let handle = records.handle();
    let call = handle.next_call_id();
    let first = start(&handle, call, 0);
    handle.wait_committed(first, WAIT).unwrap();
    let mut accepted = Vec::new();
    let mut refused = 0;
    let began = std::time::Instant::now();
    for i in 0..20_000 {
        match handle.submit(JournalOp::CallEvent {
            call,
            leg: None,
            at: at(i),
            kind: "tick".into(),
            detail: serde_json::Value::Null,
        }) {
            Ok(seq) => accepted.push(seq),
            Err(SubmitError::QueueFull { capacity: 4, op: "call event" }) => refused += 1,
            Err(other) => panic!("unexpected {other}"),
        }
    }
    assert!(began.elapsed() < Duration::from_secs(5), "submit blocked");
    assert!(refused > 0, "a queue of 4 never filled over 20000 submissions");
    let last = *accepted.last().unwrap();
    // Refused sequence numbers do not hold the mark back.
    handle.wait_committed(last, WAIT).unwrap();
    let stats = handle.stats();
    assert_eq!(stats.queue_full, refused);
    assert_eq!(stats.committed_ops as usize, accepted.len() + 1);
    assert_eq!(count(&path, "SELECT count(*) FROM call_events") as usize, accepted.len());
    records.shutdown();
}

#[test]
fn a_bad_operation_is_rolled_back_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("records.db");
    let records = Records::open(&path, &RecordsConfig::default()).unwrap();
    let handle = records.handle();
    let call = handle.next_call_id();
    start(&handle, call, 0);
    // Unknown call, unknown leg, duplicate call id: each fails alone.
    let unknown = handle.submit(JournalOp::CallAnswered { call: CallId(9_999), at: at(5) }).unwrap();
    handle.submit(JournalOp::LegAnswered { leg: ctibox_daemon::records::LegId(77), at: at(6) }).unwrap();
    let duplicate = start(&handle, call, 7);
    let leg = handle.next_leg_id();
    handle
        .submit(JournalOp::LegAdded {
            leg,
            call,
            role: LegRole::Caller,
            channel: Some(1),
            party_number: "13800138000".into(),
            party_name: String::new(),
            extension: None,
            at: at(0),
        })
        .unwrap();
    let last = handle
        .submit(JournalOp::CallEnded { call, at: at(10), cause: HangupCause::Normal, detail: String::new() })
        .unwrap();
    handle.wait_committed(last, WAIT).unwrap();
    // The waiter learns which operations were rolled back.
    assert_eq!(handle.wait_committed(unknown, WAIT), Err(WaitError::Failed { seq: unknown }));
    assert_eq!(handle.wait_committed(duplicate, WAIT), Err(WaitError::Failed { seq: duplicate }));
    let stats = handle.stats();
    assert_eq!(stats.failed_ops, 3, "{stats:?}");
    assert_eq!(stats.committed_ops, 3, "{stats:?}");
    let call = records.reader().call(call).unwrap().unwrap();
    assert_eq!(call.cause, Some(HangupCause::Normal));
    assert_eq!(call.legs.len(), 1);
    assert_eq!(call.legs[0].cause, Some(HangupCause::Normal), "open legs end with the call");
    records.shutdown();
}

#[test]
fn concurrent_senders_and_ids() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("records.db");
    let records = Records::open(&path, &RecordsConfig::default()).unwrap();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let handle = records.handle();
            std::thread::spawn(move || {
                let mut last = 0;
                for i in 0..200 {
                    let call = handle.next_call_id();
                    start(&handle, call, i);
                    last = handle
                        .submit(JournalOp::CallEnded {
                            call,
                            at: at(i + 1),
                            cause: HangupCause::Busy,
                            detail: format!("thread {t}"),
                        })
                        .unwrap();
                }
                handle.wait_committed(last, WAIT).unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(count(&path, "SELECT count(*) FROM calls WHERE cause = 'busy'"), 800);
    records.shutdown();
    // Ids continue after a reopen.
    let records = Records::open(&path, &RecordsConfig::default()).unwrap();
    assert_eq!(records.handle().next_call_id(), CallId(801));
    records.shutdown();
}

#[test]
fn in_flight_calls_are_closed_as_interrupted_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("records.db");
    let records = Records::open(&path, &RecordsConfig::default()).unwrap();
    let handle = records.handle();
    let done = handle.next_call_id();
    start(&handle, done, 0);
    handle
        .submit(JournalOp::CallEnded { call: done, at: at(50), cause: HangupCause::Normal, detail: "".into() })
        .unwrap();
    let open = handle.next_call_id();
    start(&handle, open, 100);
    let leg = handle.next_leg_id();
    handle
        .submit(JournalOp::LegAdded {
            leg,
            call: open,
            role: LegRole::Agent,
            channel: Some(5),
            party_number: "8001".into(),
            party_name: "Agent".into(),
            extension: Some("8001".into()),
            at: at(200),
        })
        .unwrap();
    let last = handle
        .submit(JournalOp::CallEvent {
            call: open,
            leg: Some(leg),
            at: at(300),
            kind: "bridge".into(),
            detail: serde_json::json!({}),
        })
        .unwrap();
    handle.wait_committed(last, WAIT).unwrap();
    records.shutdown();

    let before = ctibox_daemon::records::now_wall_ms();
    let records = Records::open(&path, &RecordsConfig::default()).unwrap();
    let report = records.recovery();
    assert_eq!((report.interrupted_calls, report.interrupted_legs), (1, 1));
    let reader = records.reader();
    let call = reader.call(open).unwrap().unwrap();
    assert_eq!(call.cause, Some(HangupCause::Interrupted));
    assert!(call.end_wall_ms.unwrap() >= before);
    assert_eq!(call.end_board_ms, None);
    assert_eq!(call.legs[0].cause, Some(HangupCause::Interrupted));
    let event = call.events.last().unwrap();
    assert_eq!(event.kind, "interrupted");
    assert_eq!(event.board_ms, 300, "the event sits at the call's last board time");
    assert_eq!(reader.call(done).unwrap().unwrap().cause, Some(HangupCause::Normal));
    records.shutdown();
    // Nothing left to close the second time.
    let records = Records::open(&path, &RecordsConfig::default()).unwrap();
    assert_eq!(records.recovery().interrupted_calls, 0);
    records.shutdown();
}

#[test]
fn handles_report_closed_after_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let records = Records::open(dir.path().join("records.db"), &RecordsConfig::default()).unwrap();
    let handle = records.handle();
    records.shutdown();
    assert!(handle.is_closed());
    let call = handle.next_call_id();
    let err = handle.submit(JournalOp::CallAnswered { call, at: at(0) }).unwrap_err();
    assert_eq!(err, SubmitError::Closed { op: "call answered" });
}

#[test]
fn readers_run_while_the_writer_writes() {
    use ctibox_daemon::records::{CallFilter, CallPageRequest};
    let dir = tempfile::tempdir().unwrap();
    let records = Records::open(dir.path().join("records.db"), &RecordsConfig::default()).unwrap();
    let handle = records.handle();
    let writer = {
        let handle = handle.clone();
        std::thread::spawn(move || {
            let mut last = 0;
            for i in 0..2_000 {
                let call = handle.next_call_id();
                start(&handle, call, i);
                last = handle
                    .submit(JournalOp::CallEnded {
                        call,
                        at: at(i + 1),
                        cause: HangupCause::Normal,
                        detail: String::new(),
                    })
                    .unwrap();
            }
            last
        })
    };
    let reader = records.reader();
    let mut reads = 0;
    let mut seen_max = 0;
    while !writer.is_finished() || reads == 0 {
        let page = reader.calls(&CallFilter::default(), &CallPageRequest::default()).unwrap();
        // Newest first; a reader sees a consistent snapshot that only grows.
        let newest = page.calls.first().map_or(0, |c| c.id.0);
        assert!(newest >= seen_max);
        seen_max = newest;
        reads += 1;
    }
    let last = writer.join().unwrap();
    handle.wait_committed(last, WAIT).unwrap();
    assert_eq!(reader.calls(&CallFilter::default(), &CallPageRequest::default()).unwrap().calls[0].id, CallId(2_000));
    assert!(reads > 0);
    records.shutdown();
}
