//! Crash test: a child process (this test binary, re-run with an environment
//! variable) writes calls through the records thread and prints each call id
//! once its "call ended" is committed; the parent kills it with SIGKILL in
//! the middle of that work, reopens the database and checks that every
//! reported call is there, ended normally, that calls in flight were closed
//! as interrupted, and that `PRAGMA integrity_check` says ok.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use ctibox_daemon::records::{
    CallFilter, CallId, CallPageRequest, Direction, HangupCause, JournalOp, LegRole, Records, RecordsConfig, Stamp,
};

const CHILD_ENV: &str = "CTIBOX_RECORDS_CRASH_CHILD";
const KILL_AFTER_CALLS: usize = 40;

fn at(board_ms: i64) -> Stamp {
    Stamp { board_ms, wall_ms: 1_700_000_000_000 + board_ms }
}

/// The child: runs only when the parent sets the variable.
#[test]
fn crash_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let records = Records::open(&path, &RecordsConfig::default()).unwrap();
    let handle = records.handle();
    let stdout = std::io::stdout();
    // A long call that is up for the whole run: always in flight at the kill.
    let long = handle.next_call_id();
    handle
        .submit(JournalOp::CallStarted {
            call: long,
            direction: Direction::Internal,
            caller_number: "8001".into(),
            caller_name: String::new(),
            called_number: "8002".into(),
            channel: Some(7),
            at: at(0),
        })
        .unwrap();
    let mut t = 0i64;
    loop {
        // Two calls overlap: one ends, the other is still in flight when the
        // kill comes.
        let call = handle.next_call_id();
        t += 10;
        handle
            .submit(JournalOp::CallStarted {
                call,
                direction: Direction::Inbound,
                caller_number: format!("1380013{:04}", call.0 % 10_000),
                caller_name: String::new(),
                called_number: "8000".into(),
                channel: Some(1 + (call.0 % 4) as u32),
                at: at(t),
            })
            .unwrap();
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
                at: at(t),
            })
            .unwrap();
        for i in 0..20 {
            handle
                .submit(JournalOp::CallEvent {
                    call,
                    leg: Some(leg),
                    at: at(t + i),
                    kind: "dtmf".into(),
                    detail: serde_json::json!({ "digit": i % 10 }),
                })
                .unwrap();
        }
        handle.submit(JournalOp::CallAnswered { call, at: at(t + 30) }).unwrap();
        let ended = handle
            .submit(JournalOp::CallEnded { call, at: at(t + 40), cause: HangupCause::Normal, detail: String::new() })
            .unwrap();
        // Another call starts and is left open.
        let open = handle.next_call_id();
        handle
            .submit(JournalOp::CallStarted {
                call: open,
                direction: Direction::Outbound,
                caller_number: "8000".into(),
                caller_name: String::new(),
                called_number: "95555".into(),
                channel: Some(2),
                at: at(t + 41),
            })
            .unwrap();
        handle.wait_committed(ended, Duration::from_secs(30)).unwrap();
        let mut out = stdout.lock();
        writeln!(out, "committed {}", call.0).unwrap();
        out.flush().unwrap();
        // Close the open one on the next round, as a real call would end.
        handle
            .submit(JournalOp::CallEnded {
                call: open,
                at: at(t + 45),
                cause: HangupCause::Busy,
                detail: String::new(),
            })
            .unwrap();
    }
}

/// Runs the child on `path` and kills it once it reported `calls` committed
/// calls; returns their ids.
fn run_child_and_kill(path: &std::path::Path, calls: usize) -> Vec<i64> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut committed: Vec<i64> = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(id) = line.strip_prefix("committed ") {
            committed.push(id.trim().parse().unwrap());
            if committed.len() == calls {
                // SIGKILL right after a "call ended" was reported committed,
                // while the child goes on writing the next calls.
                child.kill().unwrap();
                break;
            }
        }
    }
    child.wait().unwrap();
    assert_eq!(committed.len(), calls, "the child stopped before reporting enough calls");
    committed
}

#[test]
fn killed_writer_loses_no_committed_call() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("records.db");
    let mut committed: Vec<i64> = Vec::new();
    // Three runs on the same database: each one recovers what the previous
    // kill left in flight, then is killed in turn.
    for (round, calls) in [KILL_AFTER_CALLS, 17, 63].into_iter().enumerate() {
        committed.extend(run_child_and_kill(&path, calls));
        check_after_kill(&path, &committed, round);
    }
}

fn check_after_kill(path: &std::path::Path, committed: &[i64], round: usize) {
    let records = Records::open(path, &RecordsConfig::default()).unwrap();
    let reader = records.reader();
    for id in committed {
        let call =
            reader.call(CallId(*id)).unwrap().unwrap_or_else(|| panic!("round {round}: committed call {id} lost"));
        assert_eq!(call.cause, Some(HangupCause::Normal), "call {id}");
        assert_eq!(call.events.len(), 20, "call {id}");
        assert_eq!(call.legs.len(), 1, "call {id}");
        assert_eq!(call.legs[0].cause, Some(HangupCause::Normal), "call {id}");
    }
    // At least the long call of this round was in flight.
    let report = records.recovery();
    assert!(report.interrupted_calls >= 1, "round {round}: {report:?}");
    let interrupted = reader
        .calls(
            &CallFilter { cause: Some(HangupCause::Interrupted), ..CallFilter::default() },
            &CallPageRequest { limit: 1000, ..CallPageRequest::default() },
        )
        .unwrap();
    assert!(interrupted.calls.len() as u64 >= report.interrupted_calls);
    for call in &interrupted.calls {
        assert!(call.end_wall_ms.is_some());
        assert_eq!(call.events.last().map(|e| e.kind.as_str()), Some("interrupted"));
    }
    let in_flight = reader
        .calls(&CallFilter { in_flight: Some(true), ..CallFilter::default() }, &CallPageRequest::default())
        .unwrap();
    assert!(in_flight.calls.is_empty());
    records.shutdown();

    let conn = rusqlite::Connection::open(path).unwrap();
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok", "round {round}");
    let fk: i64 = conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0)).unwrap();
    assert_eq!(fk, 0, "round {round}");
}
