//! Call journal queries: one call with everything linked, every filter, and
//! paging in both orders.

use std::time::Duration;

use ctibox_daemon::records::{
    CallCursor, CallFilter, CallId, CallOrder, CallPageRequest, Direction, HangupCause, JournalOp, LegId, LegRole,
    QueryError, Records, RecordsConfig, RecordsHandle, RecordsReader, Stamp, TransferKind,
};

const BASE_WALL_MS: i64 = 1_700_000_000_000;

fn at(ms: i64) -> Stamp {
    Stamp { board_ms: ms, wall_ms: BASE_WALL_MS + ms }
}

struct CallSpec<'a> {
    direction: Direction,
    caller: &'a str,
    called: &'a str,
    channel: u32,
    /// Extension of an agent leg, if any.
    agent: Option<(&'a str, u32)>,
    start_ms: i64,
    cause: HangupCause,
}

fn write_call(handle: &RecordsHandle, spec: &CallSpec<'_>) -> (CallId, u64) {
    let call = handle.next_call_id();
    handle
        .submit(JournalOp::CallStarted {
            call,
            direction: spec.direction,
            caller_number: spec.caller.into(),
            caller_name: "CALLER".into(),
            called_number: spec.called.into(),
            channel: Some(spec.channel),
            at: at(spec.start_ms),
        })
        .unwrap();
    let caller_leg = handle.next_leg_id();
    handle
        .submit(JournalOp::LegAdded {
            leg: caller_leg,
            call,
            role: LegRole::Caller,
            channel: Some(spec.channel),
            party_number: spec.caller.into(),
            party_name: String::new(),
            extension: None,
            at: at(spec.start_ms),
        })
        .unwrap();
    if let Some((extension, channel)) = spec.agent {
        let leg = handle.next_leg_id();
        handle
            .submit(JournalOp::LegAdded {
                leg,
                call,
                role: LegRole::Agent,
                channel: Some(channel),
                party_number: extension.into(),
                party_name: "Agent".into(),
                extension: Some(extension.into()),
                at: at(spec.start_ms + 5),
            })
            .unwrap();
        handle.submit(JournalOp::LegAnswered { leg, at: at(spec.start_ms + 8) }).unwrap();
    }
    let seq = handle
        .submit(JournalOp::CallEnded {
            call,
            at: at(spec.start_ms + 60),
            cause: spec.cause.clone(),
            detail: String::new(),
        })
        .unwrap();
    (call, seq)
}

/// Ten calls, one second apart, with varied numbers, channels and causes.
fn journal() -> (tempfile::TempDir, Records, Vec<CallId>) {
    let dir = tempfile::tempdir().unwrap();
    let records = Records::open(dir.path().join("records.db"), &RecordsConfig::default()).unwrap();
    let handle = records.handle();
    let specs = [
        CallSpec {
            direction: Direction::Inbound,
            caller: "+86 138-0013-8000",
            called: "62001000",
            channel: 1,
            agent: Some(("8001", 5)),
            start_ms: 0,
            cause: HangupCause::Normal,
        },
        CallSpec {
            direction: Direction::Inbound,
            caller: "13900139000",
            called: "62001000",
            channel: 2,
            agent: Some(("8002", 6)),
            start_ms: 1_000,
            cause: HangupCause::Normal,
        },
        CallSpec {
            direction: Direction::Inbound,
            caller: "13800138000",
            called: "62001000",
            channel: 1,
            agent: None,
            start_ms: 2_000,
            cause: HangupCause::Cancelled,
        },
        CallSpec {
            direction: Direction::Outbound,
            caller: "8001",
            called: "010 6552 9988",
            channel: 3,
            agent: None,
            start_ms: 3_000,
            cause: HangupCause::Busy,
        },
        CallSpec {
            direction: Direction::Outbound,
            caller: "8002",
            called: "13800138000",
            channel: 4,
            agent: None,
            start_ms: 4_000,
            cause: HangupCause::NoAnswer,
        },
        CallSpec {
            direction: Direction::Internal,
            caller: "8001",
            called: "8002",
            channel: 5,
            agent: None,
            start_ms: 5_000,
            cause: HangupCause::Normal,
        },
        CallSpec {
            direction: Direction::Inbound,
            caller: "",
            called: "62001000",
            channel: 2,
            agent: None,
            start_ms: 6_000,
            cause: HangupCause::Congestion,
        },
        CallSpec {
            direction: Direction::Inbound,
            caller: "02087654321",
            called: "62001000",
            channel: 1,
            agent: Some(("8001", 5)),
            start_ms: 7_000,
            cause: HangupCause::FarEndDisconnect,
        },
        CallSpec {
            direction: Direction::Outbound,
            caller: "8003",
            called: "+44 20 8765 4321",
            channel: 3,
            agent: None,
            start_ms: 8_000,
            cause: HangupCause::Failed,
        },
        CallSpec {
            direction: Direction::Inbound,
            caller: "13800138000",
            called: "62001000",
            channel: 2,
            agent: Some(("8003", 7)),
            start_ms: 9_000,
            cause: HangupCause::Normal,
        },
    ];
    let mut ids = Vec::new();
    let mut last = 0;
    for spec in &specs {
        let (id, seq) = write_call(&handle, spec);
        ids.push(id);
        last = seq;
    }
    handle.wait_committed(last, Duration::from_secs(10)).unwrap();
    (dir, records, ids)
}

fn ids(reader: &RecordsReader, filter: CallFilter) -> Vec<i64> {
    let page =
        reader.calls(&filter, &CallPageRequest { limit: 100, after: None, order: CallOrder::OldestFirst }).unwrap();
    assert!(page.next.is_none());
    page.calls.iter().map(|c| c.id.0).collect()
}

#[test]
fn one_call_with_everything_linked() {
    let dir = tempfile::tempdir().unwrap();
    let records = Records::open(dir.path().join("records.db"), &RecordsConfig::default()).unwrap();
    let handle = records.handle();
    let call = handle.next_call_id();
    let (caller, agent, consult) = (handle.next_leg_id(), handle.next_leg_id(), handle.next_leg_id());
    let ops = vec![
        JournalOp::Channel {
            number: 1,
            kind: "fxo".into(),
            span: 1,
            role: "trunk".into(),
            name: "CO line 1".into(),
            wall_ms: BASE_WALL_MS,
        },
        JournalOp::CallStarted {
            call,
            direction: Direction::Inbound,
            caller_number: String::new(),
            caller_name: String::new(),
            called_number: String::new(),
            channel: Some(1),
            at: at(0),
        },
        JournalOp::CallParties {
            call,
            caller_number: Some("13800138000".into()),
            caller_name: Some("ZHANG SAN".into()),
            called_number: None,
        },
        JournalOp::LegAdded {
            leg: caller,
            call,
            role: LegRole::Caller,
            channel: Some(1),
            party_number: "13800138000".into(),
            party_name: "ZHANG SAN".into(),
            extension: None,
            at: at(0),
        },
        JournalOp::CallEvent {
            call,
            leg: Some(caller),
            at: at(100),
            kind: "ivr".into(),
            detail: serde_json::json!({"node": "menu", "digit": "1"}),
        },
        JournalOp::CallAnswered { call, at: at(200) },
        JournalOp::LegAdded {
            leg: agent,
            call,
            role: LegRole::Agent,
            channel: Some(5),
            party_number: "8001".into(),
            party_name: "Li".into(),
            extension: Some("8001".into()),
            at: at(300),
        },
        JournalOp::LegAnswered { leg: agent, at: at(400) },
        JournalOp::LegAdded {
            leg: consult,
            call,
            role: LegRole::Consult,
            channel: Some(6),
            party_number: "8002".into(),
            party_name: String::new(),
            extension: Some("8002".into()),
            at: at(500),
        },
        JournalOp::Transfer {
            call,
            kind: TransferKind::Attended,
            from_leg: Some(agent),
            to_leg: Some(consult),
            target: "8002".into(),
            at: at(600),
        },
        JournalOp::LegEnded { leg: agent, at: at(600), cause: HangupCause::Normal, detail: "transferred".into() },
        JournalOp::CallEnded {
            call,
            at: at(900),
            cause: HangupCause::FarEndDisconnect,
            detail: "loop current drop".into(),
        },
        JournalOp::ChannelEvent {
            channel: 1,
            at: at(950),
            kind: "alarm".into(),
            detail: serde_json::json!({"red": true}),
        },
    ];
    let mut last = 0;
    for op in ops {
        last = handle.submit(op).unwrap();
    }
    handle.wait_committed(last, Duration::from_secs(10)).unwrap();
    assert_eq!(handle.stats().failed_ops, 0);
    let reader = records.reader();
    let record = reader.call(call).unwrap().unwrap();
    assert_eq!(record.caller_number, "13800138000");
    assert_eq!(record.caller_name, "ZHANG SAN");
    assert_eq!(record.answer_board_ms, Some(200));
    assert_eq!(record.end_wall_ms, Some(BASE_WALL_MS + 900));
    assert_eq!(record.cause, Some(HangupCause::FarEndDisconnect));
    assert_eq!(record.cause_detail, "loop current drop");
    assert_eq!(record.legs.iter().map(|l| l.id).collect::<Vec<_>>(), vec![caller, agent, consult]);
    assert_eq!(record.legs[1].cause_detail, "transferred");
    assert_eq!(record.legs[1].answer_board_ms, Some(400));
    assert_eq!(record.legs[2].cause, Some(HangupCause::FarEndDisconnect), "open legs end with the call");
    assert_eq!(record.events.len(), 1);
    assert_eq!(record.events[0].detail["node"], "menu");
    assert_eq!(record.transfers.len(), 1);
    assert_eq!(record.transfers[0].to_leg, Some(consult));
    assert_eq!(record.transfers[0].kind, TransferKind::Attended);
    assert!(reader.call(CallId(4242)).unwrap().is_none());
    let json = serde_json::to_value(&record).unwrap();
    assert_eq!(json["direction"], "inbound");
    assert_eq!(json["legs"][1]["role"], "agent");
    let channels = reader.channels().unwrap();
    assert_eq!(channels[0].name, "CO line 1");
    let events = reader.channel_events(1, 10).unwrap();
    assert_eq!(events[0].kind, "alarm");
    let _ = LegId(0);
    records.shutdown();
}

#[test]
fn every_filter() {
    let (_dir, records, c) = journal();
    let reader = records.reader();
    let id = |i: usize| c[i].0;
    assert_eq!(ids(&reader, CallFilter::default()).len(), 10);
    // Wall-time range: [2 s, 5 s).
    assert_eq!(
        ids(
            &reader,
            CallFilter {
                from_wall_ms: Some(BASE_WALL_MS + 2_000),
                until_wall_ms: Some(BASE_WALL_MS + 5_000),
                ..Default::default()
            }
        ),
        vec![id(2), id(3), id(4)]
    );
    // Number: caller or called, any format; national vs international forms.
    let by_number = |n: &str| ids(&reader, CallFilter { number: Some(n.into()), ..Default::default() });
    assert_eq!(by_number("13800138000"), vec![id(0), id(2), id(4), id(9)]);
    assert_eq!(by_number("+86 138 0013 8000"), vec![id(0), id(2), id(4), id(9)]);
    assert_eq!(by_number("65529988"), vec![id(3)]);
    assert_eq!(by_number("+86 10 6552 9988"), vec![id(3)]);
    assert_eq!(by_number("020 8765 4321"), vec![id(7), id(8)]);
    // Suffix search finds every number ending in the digits.
    assert_eq!(by_number("9000"), vec![id(1)]);
    assert!(matches!(
        reader.calls(&CallFilter { number: Some("abc".into()), ..Default::default() }, &CallPageRequest::default()),
        Err(QueryError::Invalid { field: "number", .. })
    ));
    // Extension: agent legs, or internal/outbound calls from/to it.
    let by_ext = |e: &str| ids(&reader, CallFilter { extension: Some(e.into()), ..Default::default() });
    assert_eq!(by_ext("8001"), vec![id(0), id(3), id(5), id(7)]);
    assert_eq!(by_ext("8003"), vec![id(8), id(9)]);
    // Channel: the call's channel or a leg's.
    assert_eq!(ids(&reader, CallFilter { channel: Some(5), ..Default::default() }), vec![id(0), id(5), id(7)]);
    assert_eq!(ids(&reader, CallFilter { channel: Some(4), ..Default::default() }), vec![id(4)]);
    // Direction and cause.
    assert_eq!(
        ids(&reader, CallFilter { direction: Some(Direction::Outbound), ..Default::default() }),
        vec![id(3), id(4), id(8)]
    );
    assert_eq!(ids(&reader, CallFilter { direction: Some(Direction::Internal), ..Default::default() }), vec![id(5)]);
    assert_eq!(
        ids(&reader, CallFilter { cause: Some(HangupCause::Normal), ..Default::default() }),
        vec![id(0), id(1), id(5), id(9)]
    );
    assert_eq!(ids(&reader, CallFilter { cause: Some(HangupCause::Congestion), ..Default::default() }), vec![id(6)]);
    // Combined.
    assert_eq!(
        ids(
            &reader,
            CallFilter {
                number: Some("13800138000".into()),
                direction: Some(Direction::Inbound),
                cause: Some(HangupCause::Normal),
                ..Default::default()
            }
        ),
        vec![id(0), id(9)]
    );
    assert_eq!(ids(&reader, CallFilter { in_flight: Some(true), ..Default::default() }), Vec::<i64>::new());
    assert_eq!(ids(&reader, CallFilter { in_flight: Some(false), ..Default::default() }).len(), 10);
    records.shutdown();
}

#[test]
fn paging_is_stable_in_both_orders() {
    let (_dir, records, c) = journal();
    let reader = records.reader();
    for order in [CallOrder::NewestFirst, CallOrder::OldestFirst] {
        let mut seen = Vec::new();
        let mut after = None;
        let mut pages = 0;
        loop {
            let page = reader.calls(&CallFilter::default(), &CallPageRequest { limit: 3, after, order }).unwrap();
            pages += 1;
            assert!(page.calls.len() <= 3);
            seen.extend(page.calls.iter().map(|c| c.id));
            match page.next {
                Some(cursor) => {
                    // The cursor survives its text form (as an API would pass it).
                    let text = cursor.to_string();
                    assert_eq!(serde_json::to_value(cursor).unwrap(), serde_json::Value::String(text.clone()));
                    after = Some(text.parse::<CallCursor>().unwrap());
                }
                None => break,
            }
        }
        assert_eq!(pages, 4);
        let mut expected = c.clone();
        if order == CallOrder::NewestFirst {
            expected.reverse();
        }
        assert_eq!(seen, expected, "{order:?}");
    }
    // An exact multiple of the page size ends without an empty extra page.
    let page = reader
        .calls(&CallFilter::default(), &CallPageRequest { limit: 10, after: None, order: CallOrder::OldestFirst })
        .unwrap();
    assert_eq!(page.calls.len(), 10);
    assert!(page.next.is_none());
    // Filters and paging together.
    let filter = CallFilter { direction: Some(Direction::Inbound), ..Default::default() };
    let first =
        reader.calls(&filter, &CallPageRequest { limit: 4, after: None, order: CallOrder::NewestFirst }).unwrap();
    assert_eq!(first.calls.iter().map(|c| c.id).collect::<Vec<_>>(), vec![c[9], c[7], c[6], c[2]]);
    let second =
        reader.calls(&filter, &CallPageRequest { limit: 4, after: first.next, order: CallOrder::NewestFirst }).unwrap();
    assert_eq!(second.calls.iter().map(|c| c.id).collect::<Vec<_>>(), vec![c[1], c[0]]);
    assert!(second.next.is_none());
    // Bad requests.
    assert!(matches!(
        reader.calls(&CallFilter::default(), &CallPageRequest { limit: 0, ..Default::default() }),
        Err(QueryError::Invalid { field: "limit", .. })
    ));
    assert!(matches!("12-3".parse::<CallCursor>(), Err(QueryError::Invalid { field: "cursor", .. })));
    records.shutdown();
}

#[test]
fn same_start_time_is_ordered_by_id() {
    let dir = tempfile::tempdir().unwrap();
    let records = Records::open(dir.path().join("records.db"), &RecordsConfig::default()).unwrap();
    let handle = records.handle();
    let mut all = Vec::new();
    let mut last = 0;
    for _ in 0..7 {
        let spec = CallSpec {
            direction: Direction::Inbound,
            caller: "1",
            called: "2",
            channel: 1,
            agent: None,
            start_ms: 0,
            cause: HangupCause::Normal,
        };
        let (id, seq) = write_call(&handle, &spec);
        all.push(id);
        last = seq;
    }
    handle.wait_committed(last, Duration::from_secs(10)).unwrap();
    let reader = records.reader();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = reader
            .calls(&CallFilter::default(), &CallPageRequest { limit: 2, after, order: CallOrder::OldestFirst })
            .unwrap();
        seen.extend(page.calls.iter().map(|c| c.id));
        if page.next.is_none() {
            break;
        }
        after = page.next;
    }
    assert_eq!(seen, all);
    records.shutdown();
}
