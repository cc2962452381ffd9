//! Campaign records: code points against the schema, the CSV import (bad
//! rows, duplicates, do-not-call, customers), the journal operations and
//! the queries over them.

use serde_json::json;

use super::super::acd::test_db::{T0, TestDb, at};
use super::super::customers::{NewCustomer, ValidCustomer};
use super::super::journal::{self, ApplyError, JournalOp};
use super::super::{Records, RecordsConfig};
use super::import::{import_rows, parse_numbers_csv};
use super::*;
use crate::records::customers;
use crate::records::error::WriteError;
use crate::records::import::ImportFileError;
use crate::records::phone::PhoneNumber;

/// Parses and imports `csv` into `campaign` on the test database.
fn import(db: &TestDb, campaign: &str, csv: &str, dry_run: bool) -> CampaignImportReport {
    let (rows, mut report) = parse_numbers_csv(csv.as_bytes()).unwrap();
    report.campaign = campaign.into();
    report.dry_run = dry_run;
    import_rows(&db.conn, campaign, rows, report, dry_run).unwrap()
}

fn problems(report: &CampaignImportReport) -> Vec<String> {
    report.problems.iter().map(ToString::to_string).collect()
}

fn dnc(db: &TestDb, number: &str, reason: &str) {
    db.apply(JournalOp::DoNotCall { number: PhoneNumber::parse(number).unwrap(), reason: reason.into(), at: at(0) });
}

fn numbers(db: &TestDb, campaign: &str) -> Vec<CampaignNumberRecord> {
    campaign_numbers(&db.conn, campaign).unwrap()
}

#[test]
fn code_points_round_trip_and_match_the_schema() {
    for s in NumberState::ALL {
        assert_eq!(NumberState::parse(s.as_str()), Some(s));
        assert_eq!(serde_json::to_value(s).unwrap(), json!(s.as_str()));
    }
    for r in CallResult::ALL {
        assert_eq!(CallResult::parse(r.as_str()), Some(r));
        assert_eq!(serde_json::to_value(r).unwrap(), json!(r.as_str()));
    }
    assert_eq!(NumberState::parse("ringing"), None);
    assert_eq!(CallResult::parse("voicemail"), None);
    let db = TestDb::new();
    import(&db, "c", "number\n13800138000\n", false);
    let id = numbers(&db, "c")[0].id;
    // Every state and final result the enums have is accepted…
    for s in NumberState::ALL {
        for r in CallResult::ALL {
            db.apply(JournalOp::CampaignNumber {
                number: id,
                state: s,
                attempts: 0,
                next_at_wall_ms: None,
                result: Some(r),
                attempt: None,
                at: at(0),
            });
        }
    }
    // …and what they do not have is refused.
    let bad = db.conn.execute("UPDATE campaign_numbers SET state = 'ringing' WHERE id = ?1", [id.0]);
    assert!(bad.is_err());
    let bad = db.conn.execute("UPDATE campaign_numbers SET result = 'voicemail' WHERE id = ?1", [id.0]);
    assert!(bad.is_err());
    // An attempt is never `dnc` (a number on the list is not dialled).
    let bad = db.conn.execute(
        "INSERT INTO campaign_attempts (number_id, attempt, result, started_board_ms, started_wall_ms)
         VALUES (?1, 1, 'dnc', 0, 0)",
        [id.0],
    );
    assert!(bad.is_err());
    let mut counts = ResultCounts::default();
    for (i, r) in CallResult::ALL.into_iter().enumerate() {
        counts.add(r, i as u32 + 1);
    }
    assert_eq!(CallResult::ALL.map(|r| counts.get(r)), [1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(counts.total(), 28);
}

#[test]
fn import_reports_each_bad_row_with_its_line_and_why() {
    let db = TestDb::new();
    let csv = "Name,Phone Number,Note\n\
               Ann,138 0013 8000,vip\n\
               Bob,555-1234x,\n\
               Cid,,\n\
               Dan,+86 138 0013 8000,same as Ann\n\
               Eve,010-6552-9988\n\
               \n\
               Fay,\"(010) 6552 9989\",\"two\nlines\"\n\
               Gus,010 6552 9988,dup of Eve? no: Eve's row was bad\n";
    let report = import(&db, "spring", csv, false);
    assert_eq!(report.rows, 7);
    assert_eq!((report.added, report.dnc), (3, 0));
    assert_eq!(report.ignored_columns, ["Name", "Note"]);
    assert_eq!(
        problems(&report),
        [
            "line 3, Phone Number: phone number \"555-1234x\" has 'x' at position 9: only digits, one leading '+', \
             spaces and - . / ( ) are allowed",
            "line 4, Phone Number: phone number is empty",
            "line 5, Phone Number: +86 138 0013 8000 is the same number as 138 0013 8000 on line 2",
            "line 6: 2 fields, the header has 3",
        ]
    );
    let stored = numbers(&db, "spring");
    let got: Vec<(&str, &str, i64, NumberState)> =
        stored.iter().map(|n| (n.number.as_str(), n.digits.as_str(), n.position, n.state)).collect();
    assert_eq!(
        got,
        [
            ("138 0013 8000", "13800138000", 1, NumberState::Pending),
            ("(010) 6552 9989", "01065529989", 2, NumberState::Pending),
            ("010 6552 9988", "01065529988", 3, NumberState::Pending),
        ]
    );
    assert!(stored.iter().all(|n| n.attempts == 0 && n.result.is_none() && !n.on_dnc && n.customer.is_none()));
}

#[test]
fn a_second_import_reports_numbers_already_in_the_campaign_and_goes_on_after_them() {
    let db = TestDb::new();
    import(&db, "spring", "number\n13800138000\n13900139000\n", false);
    let report = import(&db, "spring", "tel\n+8613800138000\n13700137000\n", false);
    assert_eq!(report.added, 1);
    let first = numbers(&db, "spring")[0].id;
    assert_eq!(
        problems(&report),
        [format!(
            "line 2, tel: +8613800138000 is already in campaign `spring` (number {first}, imported as 13800138000)"
        )]
    );
    let positions: Vec<(String, i64)> = numbers(&db, "spring").into_iter().map(|n| (n.digits, n.position)).collect();
    assert_eq!(positions, [("13800138000".into(), 1), ("13900139000".into(), 2), ("13700137000".into(), 3)]);
    // Another campaign may call the same number.
    let report = import(&db, "autumn", "phone\n13800138000\n", false);
    assert_eq!((report.added, report.problems.len()), (1, 0));
    assert_eq!(numbers(&db, "autumn")[0].position, 1);
}

#[test]
fn numbers_on_the_do_not_call_list_are_stored_as_dnc_and_customers_are_linked() {
    let db = TestDb::new();
    dnc(&db, "+86 139 0013 9000", "asked us");
    let valid = ValidCustomer::check(&NewCustomer {
        name: "Ann".into(),
        phones: vec!["010-6552-9988".into()],
        ..NewCustomer::default()
    })
    .unwrap();
    let ann = customers::insert(&db.conn, &valid, T0).unwrap();
    let report = import(&db, "c", "number\n13900139000\n6552 9988\n13800138000\n", false);
    assert_eq!((report.added, report.dnc, report.problems.len()), (2, 1, 0));
    let stored = numbers(&db, "c");
    assert_eq!((stored[0].state, stored[0].result, stored[0].on_dnc), (NumberState::Done, Some(CallResult::Dnc), true));
    assert_eq!((stored[1].state, stored[1].customer), (NumberState::Pending, Some(ann)));
    assert_eq!((stored[2].customer, stored[2].on_dnc), (None, false));
    // Put on the list after the import: the load says so, the row is unchanged.
    dnc(&db, "138-0013-8000", "");
    let stored = numbers(&db, "c");
    assert_eq!((stored[2].state, stored[2].on_dnc), (NumberState::Pending, true));
    let summary = campaign_summary(&db.conn, "c").unwrap();
    assert_eq!((summary.numbers, summary.pending, summary.done, summary.results.dnc), (3, 2, 1, 1));
}

#[test]
fn a_dry_run_reports_and_writes_nothing() {
    let db = TestDb::new();
    let report = import(&db, "c", "number\n13900139000\n13900139000\n", true);
    assert!(report.dry_run);
    assert_eq!((report.added, report.problems.len()), (1, 1));
    assert!(numbers(&db, "c").is_empty());
}

#[test]
fn file_problems_stop_the_import() {
    let header = |csv: &str| match parse_numbers_csv(csv.as_bytes()) {
        Err(ImportFileError::Header { line, problem }) => format!("line {line}: {problem}"),
        other => panic!("{other:?}"),
    };
    assert!(matches!(parse_numbers_csv(b""), Err(ImportFileError::Empty)));
    assert_eq!(
        header("name,company\nAnn,ACME\n"),
        "line 1: no number column (name one of: number, phone, phone_number, tel, telephone, mobile, msisdn, \
         number_to_dial; columns found: name, company)"
    );
    assert_eq!(
        header("Phone,Mobile\n1,2\n"),
        "line 1: two number columns: \"Phone\" (field 1) and \"Mobile\" (field 2)"
    );
    // A byte order mark alone is an empty file.
    assert!(matches!(parse_numbers_csv("\u{feff}".as_bytes()), Err(ImportFileError::Empty)));
    assert!(matches!(parse_numbers_csv(b"\xFF\xFEn\0"), Err(ImportFileError::Header { line: 1, .. })));
    assert!(matches!(
        parse_numbers_csv(b"number\n\"138\n"),
        Err(ImportFileError::Syntax(super::super::csv::CsvSyntaxError::UnclosedQuote { line: 2 }))
    ));
    let (rows, report) = parse_numbers_csv(b"number\n138\xFF\n").unwrap();
    assert!(rows.is_empty());
    assert!(report.problems[0].to_string().starts_with("line 2, number: field 1 is not UTF-8"), "{report:?}");
}

/// A campaign `c` of three numbers, an outbound call 100 to the first.
fn dialled() -> (TestDb, Vec<CampaignNumberId>) {
    let db = TestDb::new();
    import(&db, "c", "number\n13800138000\n13900139000\n13700137000\n", false);
    let ids = numbers(&db, "c").iter().map(|n| n.id).collect();
    db.call(100, "13800138000", 1_000);
    (db, ids)
}

fn busy_attempt(call: Option<CallId>, started: i64, ended: i64) -> AttemptWrite {
    AttemptWrite { call, result: CallResult::Busy, detail: String::new(), started: at(started), ended: Some(at(ended)) }
}

#[test]
fn dial_result_retry_and_the_end_of_an_answered_call() {
    let (db, ids) = dialled();
    db.apply(JournalOp::CampaignDial { number: ids[0], call: CallId(100), at: at(1_000) });
    let n = &numbers(&db, "c")[0];
    assert_eq!((n.state, n.last_call, n.updated_wall_ms), (NumberState::Dialing, Some(CallId(100)), T0 + 1_000));
    // Busy: retry in 5 minutes.
    db.apply(JournalOp::CampaignNumber {
        number: ids[0],
        state: NumberState::RetryWait,
        attempts: 1,
        next_at_wall_ms: Some(T0 + 305_000),
        result: None,
        attempt: Some(busy_attempt(Some(CallId(100)), 1_000, 5_000)),
        at: at(5_000),
    });
    // Dialled again on call 101: answered, the call ends later.
    db.call(101, "13800138000", 400_000);
    db.apply(JournalOp::CampaignDial { number: ids[0], call: CallId(101), at: at(400_000) });
    db.apply(JournalOp::CampaignNumber {
        number: ids[0],
        state: NumberState::Done,
        attempts: 2,
        next_at_wall_ms: None,
        result: Some(CallResult::Answered),
        attempt: Some(AttemptWrite {
            call: Some(CallId(101)),
            result: CallResult::Answered,
            detail: "voice".into(),
            started: at(400_000),
            ended: None,
        }),
        at: at(412_000),
    });
    let open = attempts_of(&db.conn, ids[0]).unwrap();
    assert_eq!(open[1].duration_ms, None);
    db.apply(JournalOp::CampaignAttemptEnded { call: CallId(101), at: at(520_000) });
    // Ending it twice is refused: no open attempt is left on that call.
    match journal::apply(&db.conn, &JournalOp::CampaignAttemptEnded { call: CallId(101), at: at(530_000) }) {
        Err(ApplyError::Unknown { op: "campaign attempt ended", id: 101, .. }) => {}
        other => panic!("{other:?}"),
    }
    let attempts = attempts_of(&db.conn, ids[0]).unwrap();
    let got: Vec<(u32, Option<CallId>, CallResult, Option<i64>)> =
        attempts.iter().map(|a| (a.attempt, a.call, a.result, a.duration_ms)).collect();
    assert_eq!(
        got,
        [
            (1, Some(CallId(100)), CallResult::Busy, Some(4_000)),
            (2, Some(CallId(101)), CallResult::Answered, Some(120_000))
        ]
    );
    assert_eq!(attempts[1].detail, "voice");
    assert_eq!(attempts[0].started_board_ms, 1_000);
    let n = &numbers(&db, "c")[0];
    assert_eq!((n.state, n.attempts, n.result), (NumberState::Done, 2, Some(CallResult::Answered)));
    assert_eq!((n.tries.busy, n.tries.answered, n.tries.total()), (1, 1, 2));
    assert_eq!(n.last_call, Some(CallId(101)));
}

#[test]
fn an_attempt_without_a_call_and_refusals_of_unknown_numbers_and_calls() {
    let (db, ids) = dialled();
    // No free line: an attempt with no call; the last call stays.
    db.apply(JournalOp::CampaignNumber {
        number: ids[1],
        state: NumberState::RetryWait,
        attempts: 1,
        next_at_wall_ms: Some(T0 + 60_000),
        result: None,
        attempt: Some(AttemptWrite {
            call: None,
            result: CallResult::Failed,
            detail: "no_free_line".into(),
            started: at(2_000),
            ended: Some(at(2_000)),
        }),
        at: at(2_000),
    });
    let n = &numbers(&db, "c")[1];
    assert_eq!(
        (n.state, n.next_at_wall_ms, n.last_call, n.tries.failed),
        (NumberState::RetryWait, Some(T0 + 60_000), None, 1)
    );
    match journal::apply(
        &db.conn,
        &JournalOp::CampaignDial { number: CampaignNumberId(999), call: CallId(100), at: at(0) },
    ) {
        Err(ApplyError::Unknown { op: "campaign dial", what: "campaign number", id: 999 }) => {}
        other => panic!("{other:?}"),
    }
    match journal::apply(&db.conn, &JournalOp::CampaignDial { number: ids[0], call: CallId(77), at: at(0) }) {
        Err(ApplyError::Unknown { op: "campaign dial", what: "call", id: 77 }) => {}
        other => panic!("{other:?}"),
    }
    let op = JournalOp::CampaignNumber {
        number: ids[0],
        state: NumberState::RetryWait,
        attempts: 1,
        next_at_wall_ms: None,
        result: None,
        attempt: Some(busy_attempt(Some(CallId(78)), 0, 1)),
        at: at(1),
    };
    match journal::apply(&db.conn, &op) {
        Err(ApplyError::Unknown { op: "campaign number", what: "call", id: 78 }) => {}
        other => panic!("{other:?}"),
    }
    let op = JournalOp::CampaignNumber {
        number: CampaignNumberId(999),
        state: NumberState::Done,
        attempts: 0,
        next_at_wall_ms: None,
        result: Some(CallResult::Dnc),
        attempt: None,
        at: at(1),
    };
    match journal::apply(&db.conn, &op) {
        Err(ApplyError::Unknown { op: "campaign number", what: "campaign number", id: 999 }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn summary_and_results_per_number() {
    let (db, ids) = dialled();
    // Number 1: busy, then busy again → done busy; number 2: fax → done;
    // number 3 untouched.
    db.call(102, "13800138000", 10_000);
    for (k, call) in [(1u32, 100), (2, 102)] {
        db.apply(JournalOp::CampaignNumber {
            number: ids[0],
            state: if k == 1 { NumberState::RetryWait } else { NumberState::Done },
            attempts: k,
            next_at_wall_ms: (k == 1).then_some(T0 + 9_000),
            result: (k == 2).then_some(CallResult::Busy),
            attempt: Some(busy_attempt(Some(CallId(call)), i64::from(k) * 1_000, i64::from(k) * 1_000 + 500)),
            at: at(i64::from(k) * 1_000 + 500),
        });
    }
    db.call(103, "13900139000", 20_000);
    db.apply(JournalOp::CampaignNumber {
        number: ids[1],
        state: NumberState::Done,
        attempts: 1,
        next_at_wall_ms: None,
        result: Some(CallResult::Fax),
        attempt: Some(AttemptWrite {
            call: Some(CallId(103)),
            result: CallResult::Fax,
            detail: "ced".into(),
            started: at(20_000),
            ended: Some(at(31_000)),
        }),
        at: at(31_000),
    });
    let s = campaign_summary(&db.conn, "c").unwrap();
    assert_eq!((s.numbers, s.pending, s.dialing, s.retry_wait, s.done), (3, 1, 0, 0, 2));
    assert_eq!((s.results.busy, s.results.fax, s.results.total()), (1, 1, 2));
    assert_eq!((s.attempts, s.attempt_results.busy, s.attempt_results.fax), (3, 2, 1));
    assert_eq!(
        campaign_summary(&db.conn, "none").unwrap(),
        CampaignReport { campaign: "none".into(), ..Default::default() }
    );
    let results = campaign_results(&db.conn, "c").unwrap();
    let got: Vec<(Option<CallResult>, Vec<u32>)> =
        results.iter().map(|r| (r.number.result, r.attempt_list.iter().map(|a| a.attempt).collect())).collect();
    assert_eq!(got, [(Some(CallResult::Busy), vec![1, 2]), (Some(CallResult::Fax), vec![1]), (None, vec![])]);
    assert_eq!(results[1].attempt_list[0].duration_ms, Some(11_000));
    let json = serde_json::to_value(&results[1]).unwrap();
    assert_eq!(json["state"], "done");
    assert_eq!(json["result"], "fax");
    assert_eq!(json["attempt_list"][0]["result"], "fax");
    assert_eq!(json["tries"]["fax"], 1);
    // Pages read in SQL agree with filtering and paging all the results.
    let selections = [
        NumberSelection::ALL,
        NumberSelection { state: Some(NumberState::Done), ..NumberSelection::ALL },
        NumberSelection { result: Some(CallResult::Fax), ..NumberSelection::ALL },
        NumberSelection { state: Some(NumberState::Pending), ..NumberSelection::ALL },
        NumberSelection { offset: 1, limit: Some(1), ..NumberSelection::ALL },
        NumberSelection { state: Some(NumberState::Done), offset: 1, limit: Some(5), ..NumberSelection::ALL },
        NumberSelection { offset: 3, limit: Some(2), ..NumberSelection::ALL },
        NumberSelection { limit: Some(0), ..NumberSelection::ALL },
    ];
    for sel in selections {
        let want: Vec<&NumberResult> = results
            .iter()
            .filter(|r| {
                sel.state.is_none_or(|s| r.number.state == s) && sel.result.is_none_or(|x| r.number.result == Some(x))
            })
            .collect();
        let total = campaign_numbers_count(&db.conn, "c", &sel).unwrap();
        assert_eq!(total, want.len() as u64, "{sel:?}");
        let page = selected_results(&db.conn, "c", &sel).unwrap();
        let want_page: Vec<NumberResult> = want
            .into_iter()
            .skip(sel.offset as usize)
            .take(sel.limit.map_or(usize::MAX, |l| l as usize))
            .cloned()
            .collect();
        assert_eq!(page, want_page, "{sel:?}");
    }
    assert_eq!(campaign_numbers_count(&db.conn, "none", &NumberSelection::ALL).unwrap(), 0);
}

#[test]
fn the_do_not_call_list_matches_loosely_and_keeps_one_entry_per_number() {
    let db = TestDb::new();
    dnc(&db, "010-6552-9988", "complained");
    dnc(&db, "+86 10 6552 9988", "");
    dnc(&db, "13800138000", "");
    // The same key again keeps the entry; a reason replaces an empty one.
    dnc(&db, "138 0013 8000", "moved");
    let list = dnc_entries(&db.conn, 0, None).unwrap();
    let got: Vec<(&str, &str)> = list.iter().map(|e| (e.digits.as_str(), e.reason.as_str())).collect();
    assert_eq!(got, [("01065529988", "complained"), ("+861065529988", ""), ("13800138000", "moved")]);
    assert_eq!(dnc_lookup(&db.conn, "6552 9988").unwrap().unwrap().digits, "01065529988");
    assert_eq!(dnc_lookup(&db.conn, "+86 138 0013 8000").unwrap().unwrap().reason, "moved");
    assert_eq!(dnc_lookup(&db.conn, "13800138001").unwrap(), None);
    assert!(matches!(dnc_lookup(&db.conn, "P"), Err(QueryError::Invalid { field: "number", .. })));
    // Removing takes every matching entry.
    db.apply(JournalOp::DoNotCallRemoved { number: PhoneNumber::parse("6552 9988").unwrap() });
    let left: Vec<String> = dnc_entries(&db.conn, 0, None).unwrap().into_iter().map(|e| e.digits).collect();
    assert_eq!(left, ["13800138000"]);
}

#[test]
fn through_the_records_thread() {
    let dir = tempfile::tempdir().unwrap();
    let records = Records::open(dir.path().join("records.db"), &RecordsConfig::default()).unwrap();
    let handle = records.handle();
    let reader = records.reader();
    let seq = handle
        .submit(JournalOp::DoNotCall {
            number: PhoneNumber::parse("13900139000").unwrap(),
            reason: "asked".into(),
            at: at(0),
        })
        .unwrap();
    handle.wait_committed(seq, std::time::Duration::from_secs(5)).unwrap();
    let report = handle.import_campaign_numbers("c", b"number\n13800138000\n13900139000\n12\n", false).unwrap();
    assert_eq!((report.rows, report.added, report.dnc, report.problems.len()), (3, 2, 1, 0));
    assert!(matches!(
        handle.import_campaign_numbers("Bad Name", b"number\n1\n", false),
        Err(CampaignImportError::Write(WriteError::Invalid { .. }))
    ));
    assert!(matches!(
        handle.import_campaign_numbers("c", b"", false),
        Err(CampaignImportError::File(ImportFileError::Empty))
    ));
    let loaded = reader.campaign_numbers("c").unwrap();
    assert_eq!(loaded.len(), 3);
    assert_eq!(loaded[1].result, Some(CallResult::Dnc));
    assert_eq!(reader.dnc_lookup("+86 139 0013 9000").unwrap().unwrap().reason, "asked");
    assert_eq!(reader.dnc_page(0, 10).unwrap().0, 1);
    assert_eq!(reader.campaign_summary("c").unwrap().pending, 2);
    assert_eq!(reader.campaign_results("c").unwrap().len(), 3);
    assert!(reader.campaign_attempts(loaded[0].id).unwrap().is_empty());
    records.shutdown();
}
