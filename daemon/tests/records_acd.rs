//! ACD records through the records thread: queue events and agent states
//! submitted like the other journal operations, one naming an unknown call
//! rolled back alone, a version 2 database migrated with its calls kept,
//! and the queries on a reader.

use std::time::Duration;

use ctibox_daemon::records::{
    AgentStateKind, CallId, Direction, HistoryRequest, JournalOp, QueueEventKind, Records, RecordsConfig,
    ServiceLevels, Stamp, WaitError,
};
use rusqlite::Connection;

const WAIT: Duration = Duration::from_secs(10);
const T0: i64 = 1_700_000_000_000;

fn at(ms: i64) -> Stamp {
    Stamp { board_ms: ms, wall_ms: T0 + ms }
}

fn queue_event(call: CallId, kind: QueueEventKind, agent: Option<&str>, wait_ms: i64, ms: i64) -> JournalOp {
    JournalOp::QueueEvent {
        call,
        queue: "sales".into(),
        kind,
        agent: agent.map(Into::into),
        position: Some(1),
        wait_ms: Some(wait_ms),
        detail: serde_json::json!({}),
        at: at(ms),
    }
}

#[test]
fn queue_events_and_agent_states_are_written_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let records = Records::open(dir.path().join("records.db"), &RecordsConfig::default()).unwrap();
    let handle = records.handle();
    let call = handle.next_call_id();
    let submit = |op| handle.submit(op).unwrap();
    submit(JournalOp::CallStarted {
        call,
        direction: Direction::Inbound,
        caller_number: "13800138000".into(),
        caller_name: String::new(),
        called_number: "88880000".into(),
        channel: Some(1),
        at: at(0),
    });
    submit(JournalOp::AgentState {
        agent: "1001".into(),
        state: AgentStateKind::Ready,
        reason: String::new(),
        extension: Some("801".into()),
        call: None,
        at: at(0),
    });
    submit(queue_event(call, QueueEventKind::Enter, None, 0, 1_000));
    submit(queue_event(call, QueueEventKind::Offer, Some("1001"), 2_000, 3_000));
    let bad = submit(queue_event(CallId(call.0 + 100), QueueEventKind::Enter, None, 0, 3_500));
    submit(JournalOp::AgentState {
        agent: "1001".into(),
        state: AgentStateKind::OnCall,
        reason: String::new(),
        extension: Some("801".into()),
        call: Some(call),
        at: at(5_000),
    });
    let last = submit(queue_event(call, QueueEventKind::Answer, Some("1001"), 4_000, 5_000));
    handle.wait_committed(last, WAIT).unwrap();
    assert_eq!(handle.wait_committed(bad, WAIT), Err(WaitError::Failed { seq: bad }));
    assert_eq!(handle.stats().failed_ops, 1);

    let reader = records.reader();
    let events = reader.queue_events_of_call(call).unwrap().unwrap();
    let kinds: Vec<_> = events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [QueueEventKind::Enter, QueueEventKind::Offer, QueueEventKind::Answer]);
    let page = reader.agent_history("1001", &HistoryRequest::default()).unwrap();
    assert_eq!(page.states.len(), 2);
    assert_eq!(page.states[0].until_wall_ms, Some(T0 + 5_000));
    assert_eq!(page.states[1].call, Some(call));
    let report = reader.queue_report(T0, T0 + 10_000, &ServiceLevels::default()).unwrap();
    assert_eq!((report[0].entered, report[0].answered, report[0].service_level_pct), (1, 1, Some(100.0)));
    let agents = reader.agent_report(T0, T0 + 10_000).unwrap();
    assert_eq!((agents[0].offers, agents[0].answered), (1, 1));
    assert_eq!((agents[0].states.ready_ms, agents[0].states.on_call_ms), (5_000, 5_000));
    assert_eq!(reader.last_calls("13800138000", 5).unwrap()[0].id, call);
    records.shutdown();
}

#[test]
fn a_version_2_database_gains_the_acd_tables_and_keeps_its_calls() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("records.db");
    {
        let conn = Connection::open(&path).unwrap();
        for step in &ctibox_daemon::records::schema::MIGRATIONS[..2] {
            conn.execute_batch(step).unwrap();
        }
        conn.pragma_update(None, "user_version", 2).unwrap();
        conn.execute(
            "INSERT INTO calls (id, direction, start_board_ms, start_wall_ms, end_board_ms, end_wall_ms, cause)
             VALUES (5, 'inbound', 0, ?1, 1000, ?2, 'normal')",
            [T0, T0 + 1_000],
        )
        .unwrap();
    }
    let records = Records::open(&path, &RecordsConfig::default()).unwrap();
    let handle = records.handle();
    let seq = handle.submit(queue_event(CallId(5), QueueEventKind::Abandon, None, 900, 900)).unwrap();
    handle.wait_committed(seq, WAIT).unwrap();
    let events = records.reader().queue_events_of_call(CallId(5)).unwrap().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(records.reader().call(CallId(5)).unwrap().unwrap().end_wall_ms, Some(T0 + 1_000));
    records.shutdown();
}
