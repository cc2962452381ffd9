//! Outbound campaigns and the do-not-call list over the API (docs/api.md,
//! "Campaigns"), through the FakeCore (its campaign `spring` runs without
//! numbers; it journals do-not-call entries as the core does): the live
//! views and the records' counts, the CSV import (bad rows reported by
//! line, good rows imported, a dry run writing nothing, the core told to
//! read the numbers), the numbers with their attempts filtered and paged,
//! pause and resume by user, the do-not-call list, who may do what, and
//! every bad input named by its field.

mod api_support;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use api_support::Api;
use ctibox_daemon::api::testing::TestServerOptions;
use ctibox_daemon::records::{AttemptWrite, CallResult, CampaignNumberId, JournalOp, NumberState, Stamp};
use serde_json::{Value, json};

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object().unwrap_or_else(|| panic!("not an object: {v}")).keys().map(String::as_str).collect()
}

fn set<'a>(names: &[&'a str]) -> BTreeSet<&'a str> {
    names.iter().copied().collect()
}

const VIEW_KEYS: &[&str] = &[
    "name",
    "queue",
    "trunk",
    "loaded",
    "summary",
    "calls_out",
    "dialing_now",
    "ready_agents",
    "free_lines",
    "paused_by",
    "paused_at_wall_ms",
    "previews",
];
const REPORT_KEYS: &[&str] =
    &["campaign", "numbers", "pending", "dialing", "retry_wait", "done", "results", "attempts", "attempt_results"];
const NUMBER_KEYS: &[&str] = &[
    "id",
    "campaign",
    "position",
    "number",
    "digits",
    "customer",
    "state",
    "attempts",
    "tries",
    "next_at_wall_ms",
    "result",
    "last_call",
    "on_dnc",
    "added_wall_ms",
    "updated_wall_ms",
    "attempt_list",
];
const IMPORT_KEYS: &[&str] =
    &["campaign", "rows", "added", "dnc", "problems", "ignored_columns", "dry_run", "warnings"];

fn ok_get(api: &Api, path: &str, token: &str) -> Value {
    let (status, body) = api.get(path, token);
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

fn ok_post(api: &Api, path: &str, token: &str, body: &str) -> Value {
    let (status, answer) = api.post(path, token, body);
    assert_eq!(status, 200, "POST {path} {body}: {answer}");
    answer
}

/// The request must fail with `status`, blaming `field` (or no field).
fn refused(api: &Api, method: &str, path: &str, token: &str, body: Option<&str>, status: u16, field: Option<&str>) {
    let (got, answer) = api.req(method, path, Some(token), body);
    assert_eq!(got, status, "{method} {path} {body:?}: {answer}");
    assert!(answer["error"].as_str().is_some_and(|e| !e.is_empty()), "{answer}");
    assert_eq!(answer["field"].as_str(), field, "{method} {path} {body:?}: {answer}");
}

/// `POST /campaigns/{name}/numbers{query}` with a CSV body: (status, answer).
fn import(api: &Api, token: &str, name: &str, query: &str, csv: &str) -> (u16, Value) {
    api.raw("POST", &format!("/campaigns/{name}/numbers{query}"), Some(token), Some(("text/csv", csv)))
}

fn ok_import(api: &Api, token: &str, query: &str, csv: &str) -> Value {
    let (status, report) = import(api, token, "spring", query, csv);
    assert_eq!(status, 200, "import{query}: {report}");
    assert_eq!(keys(&report), set(IMPORT_KEYS), "{report}");
    report
}

fn problem_lines(report: &Value) -> Vec<(u64, Option<&str>)> {
    report["problems"].as_array().unwrap().iter().map(|p| (p["line"].as_u64().unwrap(), p["column"].as_str())).collect()
}

/// The numbers of `spring` as `GET …/numbers{query}` lists them.
fn numbers(api: &Api, token: &str, query: &str) -> Value {
    ok_get(api, &format!("/campaigns/spring/numbers{query}"), token)
}

fn listed(page: &Value) -> Vec<&str> {
    page["numbers"].as_array().unwrap().iter().map(|n| n["number"].as_str().unwrap()).collect()
}

/// Five rows, three good: line 4 has a bad character, line 5 is line 2's
/// number in international form, line 6 lacks a field.
const CSV: &str = "name,phone\n\
Wang Wei,138 0013 8000\n\
Li Na,+86 10 6552 9988\n\
Bad,555-1234x\n\
Again,+86 138 0013 8000\n\
Short\n\
Zhao Lei,13900139000\n";

#[test]
fn campaigns_are_listed_live_for_every_role_and_shown_with_the_records_counts() {
    let api = Api::quiet();
    for user in ["admin", "super", "agent"] {
        let token = api.login(user);
        let list = ok_get(&api, "/campaigns", &token);
        let list = list.as_array().expect("an array of CampaignView");
        assert_eq!(list.len(), 1, "{user}: {list:?}");
        assert_eq!(keys(&list[0]), set(VIEW_KEYS), "{}", list[0]);
        assert_eq!(
            (&list[0]["name"], &list[0]["queue"], &list[0]["trunk"], &list[0]["paused_by"]),
            (&json!("spring"), &json!("sales"), &json!("pstn"), &Value::Null),
            "{}",
            list[0]
        );
        assert_eq!(list[0]["summary"]["paused"], false, "{}", list[0]);
    }
    let sup = api.login("super");
    let agent = api.login("agent");
    let show = ok_get(&api, "/campaigns/spring", &agent);
    let mut want = set(VIEW_KEYS);
    want.insert("records");
    assert_eq!(keys(&show), want, "{show}");
    assert_eq!(keys(&show["records"]), set(REPORT_KEYS), "{show}");
    assert_eq!((&show["records"]["campaign"], &show["records"]["numbers"]), (&json!("spring"), &json!(0)), "{show}");

    ok_import(&api, &sup, "", CSV);
    let records = &ok_get(&api, "/campaigns/spring", &agent)["records"];
    assert_eq!((&records["numbers"], &records["pending"], &records["done"]), (&json!(3), &json!(3), &json!(0)));

    refused(&api, "GET", "/campaigns/autumn", &agent, None, 404, None);
    let (_, answer) = api.get("/campaigns/autumn", &agent);
    assert!(answer["error"].as_str().unwrap().contains("\"autumn\""), "{answer}");
    for path in ["/campaigns", "/campaigns/spring", "/campaigns/spring/numbers", "/dnc", "/dnc/13800138000"] {
        let (status, _) = api.req("GET", path, None, None);
        assert_eq!(status, 401, "{path}");
    }
}

#[test]
fn an_import_reports_bad_rows_by_line_imports_the_good_ones_and_has_the_core_read_them() {
    let api = Api::quiet();
    let sup = api.login("super");
    let admin = api.login("admin");
    let core = &api.server.core;

    let report = ok_import(&api, &sup, "?dry_run=true", CSV);
    assert_eq!(
        (&report["campaign"], &report["rows"], &report["added"], &report["dnc"], &report["dry_run"]),
        (&json!("spring"), &json!(6), &json!(3), &json!(0), &json!(true)),
        "{report}"
    );
    assert_eq!(problem_lines(&report), vec![(4, Some("phone")), (5, Some("phone")), (6, None)], "{report}");
    for p in report["problems"].as_array().unwrap() {
        assert!(p["problem"].as_str().is_some_and(|t| !t.is_empty()), "{p}");
    }
    assert!(report["problems"][0]["problem"].as_str().unwrap().contains("'x'"), "{report}");
    assert!(report["problems"][1]["problem"].as_str().unwrap().contains("line 2"), "{report}");
    assert_eq!(report["ignored_columns"], json!(["name"]));
    assert_eq!(report["warnings"], json!([]));
    assert_eq!(numbers(&api, &sup, "")["total"], 0, "a dry run writes nothing");
    assert_eq!(core.campaign_reads("spring"), Some(0), "nor tells the core");

    let report = ok_import(&api, &admin, "", CSV);
    assert_eq!((&report["added"], &report["dry_run"]), (&json!(3), &json!(false)), "{report}");
    assert_eq!(problem_lines(&report).len(), 3, "{report}");
    assert_eq!(core.campaign_reads("spring"), Some(1), "the core reads the new numbers");
    let page = numbers(&api, &sup, "");
    assert_eq!(listed(&page), ["138 0013 8000", "+86 10 6552 9988", "13900139000"], "{page}");
    let first = &page["numbers"][0];
    assert_eq!(keys(first), set(NUMBER_KEYS), "{first}");
    assert_eq!(
        (&first["state"], &first["attempts"], &first["result"], &first["on_dnc"], &first["attempt_list"]),
        (&json!("pending"), &json!(0), &Value::Null, &json!(false), &json!([])),
        "{first}"
    );
    assert_eq!(first["digits"], "13800138000", "{first}");

    // The same numbers again: every row is already in the campaign, and
    // the core has nothing new to read.
    let report = ok_import(&api, &sup, "", "tel\n+8613800138000\n010 6552 9988\n");
    assert_eq!((&report["rows"], &report["added"]), (&json!(2), &json!(0)), "{report}");
    assert_eq!(problem_lines(&report), vec![(2, Some("tel")), (3, Some("tel"))], "{report}");
    assert!(report["problems"][0]["problem"].as_str().unwrap().contains("already in campaign"), "{report}");
    assert_eq!(core.campaign_reads("spring"), Some(1));
    assert_eq!(numbers(&api, &sup, "")["total"], 3);
}

/// Sends a request head and `sent` bytes of a body that claims to be
/// `declared` bytes long, then reads the answer's status line.
fn status_of_oversized(api: &Api, path: &str, token: &str, declared: usize, sent: usize) -> String {
    let addr = api.server.url.trim_start_matches("http://").to_string();
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let head = format!(
        "POST /api/v1{path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: text/csv\r\nContent-Length: {declared}\r\n\r\n"
    );
    s.write_all(head.as_bytes()).unwrap();
    let _ = s.write_all(&vec![b'1'; sent]);
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&answer).lines().next().unwrap_or("").to_string()
}

#[test]
fn imports_are_refused_to_agents_for_unknown_campaigns_and_bad_files() {
    let api = Api::quiet();
    let sup = api.login("super");
    let agent = api.login("agent");
    let (status, answer) = import(&api, &agent, "spring", "", CSV);
    assert_eq!(status, 403, "{answer}");
    let (status, answer) = import(&api, &sup, "autumn", "", CSV);
    assert_eq!(status, 404, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("autumn"), "{answer}");

    // A file that cannot be imported at all: 400 on the body, naming why.
    let (status, answer) = import(&api, &sup, "spring", "", "name,company\nA,B\n");
    assert_eq!((status, answer["field"].as_str()), (400, Some("body")), "{answer}");
    let error = answer["error"].as_str().unwrap();
    assert!(error.starts_with("campaign import: line 1: no number column"), "{answer}");
    let (status, answer) = import(&api, &sup, "spring", "", "");
    assert_eq!((status, answer["field"].as_str()), (400, Some("body")), "{answer}");
    let (status, answer) = import(&api, &sup, "spring", "", "number\n\"13800138000\n");
    assert_eq!((status, answer["field"].as_str()), (400, Some("body")), "an unclosed quote: {answer}");
    // Bad query values.
    let (status, answer) = import(&api, &sup, "spring", "?dry_run=maybe", CSV);
    assert_eq!((status, answer["field"].as_str()), (400, Some("dry_run")), "{answer}");
    let (status, answer) = import(&api, &sup, "spring", "?dryrun=true", CSV);
    assert_eq!((status, answer["field"].as_str()), (400, Some("dryrun")), "{answer}");
    // Over the CSV limit (8 MiB): refused unread.
    let line = status_of_oversized(&api, "/campaigns/spring/numbers", &sup, 10_000_000, 65_536);
    assert!(line.starts_with("HTTP/1.1 413"), "{line}");

    assert_eq!(numbers(&api, &sup, "")["total"], 0, "nothing was imported");
    assert_eq!(api.server.core.campaign_reads("spring"), Some(0));
}

#[test]
fn an_import_the_core_does_not_hear_of_is_stored_with_a_warning() {
    let api = Api::start_with(TestServerOptions {
        ringing_call: false,
        core_timeout: Duration::from_millis(300),
        ..TestServerOptions::default()
    });
    let sup = api.login("super");
    api.server.core.set_silent(true);
    let report = ok_import(&api, &sup, "", "number\n13800138000\n");
    assert_eq!(report["added"], 1, "{report}");
    let warnings = report["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{report}");
    assert!(warnings[0].as_str().unwrap().contains("config reload or a restart"), "{report}");
    api.server.core.set_silent(false);
    assert_eq!(numbers(&api, &sup, "")["total"], 1, "the numbers are stored");
}

/// Writes the engine's change of a number, as the core journals it, and
/// waits for it to be committed.
fn write_number(api: &Api, number: i64, state: NumberState, result: Option<CallResult>, tried: &[CallResult]) {
    let records = &api.server.records;
    let stamp = Stamp { board_ms: 1000, wall_ms: 1_700_000_000_000 };
    let mut seq = 0;
    for (i, r) in tried.iter().enumerate() {
        let last = i + 1 == tried.len();
        seq = records
            .submit(JournalOp::CampaignNumber {
                number: CampaignNumberId(number),
                state: if last { state } else { NumberState::RetryWait },
                attempts: i as u32 + 1,
                next_at_wall_ms: (state == NumberState::RetryWait || !last).then_some(1_700_000_300_000),
                result: if last { result } else { None },
                attempt: Some(AttemptWrite {
                    call: None,
                    result: *r,
                    detail: String::new(),
                    started: stamp,
                    ended: Some(Stamp { board_ms: 31_000, wall_ms: 1_700_000_030_000 }),
                }),
                at: stamp,
            })
            .expect("journal submit");
    }
    records.wait_committed(seq, Duration::from_secs(5)).expect("committed");
}

#[test]
fn numbers_come_with_their_attempts_filtered_by_state_and_result_and_paged() {
    let api = Api::quiet();
    let sup = api.login("super");
    let agent = api.login("agent");
    ok_import(&api, &sup, "", "number\n13800138000\n13900139000\n13700137000\n13600136000\n");
    let ids: Vec<i64> =
        numbers(&api, &agent, "")["numbers"].as_array().unwrap().iter().map(|n| n["id"].as_i64().unwrap()).collect();
    assert_eq!(ids.len(), 4);
    write_number(&api, ids[0], NumberState::RetryWait, None, &[CallResult::Busy]);
    write_number(
        &api,
        ids[1],
        NumberState::Done,
        Some(CallResult::NoAnswer),
        &[CallResult::Busy, CallResult::NoAnswer],
    );
    write_number(&api, ids[3], NumberState::Done, Some(CallResult::Answered), &[CallResult::Answered]);

    let page = numbers(&api, &agent, "");
    assert_eq!(
        (&page["campaign"], &page["total"], &page["offset"], &page["limit"]),
        (&json!("spring"), &json!(4), &json!(0), &json!(100)),
        "{page}"
    );
    let second = &page["numbers"][1];
    assert_eq!(
        (&second["state"], &second["attempts"], &second["result"]),
        (&json!("done"), &json!(2), &json!("no_answer")),
        "{second}"
    );
    assert_eq!((&second["tries"]["busy"], &second["tries"]["no_answer"]), (&json!(1), &json!(1)), "{second}");
    let attempts = second["attempt_list"].as_array().unwrap();
    let results: Vec<&str> = attempts.iter().map(|a| a["result"].as_str().unwrap()).collect();
    assert_eq!(results, ["busy", "no_answer"], "{second}");
    assert_eq!((&attempts[0]["attempt"], &attempts[0]["duration_ms"]), (&json!(1), &json!(30_000)), "{second}");
    assert_eq!(page["numbers"][0]["next_at_wall_ms"], 1_700_000_300_000i64, "{page}");

    assert_eq!(listed(&numbers(&api, &agent, "?state=done")), ["13900139000", "13600136000"]);
    assert_eq!(listed(&numbers(&api, &agent, "?state=done&result=no_answer")), ["13900139000"]);
    assert_eq!(listed(&numbers(&api, &agent, "?result=answered")), ["13600136000"]);
    assert_eq!(listed(&numbers(&api, &agent, "?state=retry_wait")), ["13800138000"]);
    assert_eq!(listed(&numbers(&api, &agent, "?state=pending")), ["13700137000"]);
    let busy = numbers(&api, &agent, "?result=busy");
    assert_eq!(busy["total"], 0, "busy is no number's final result: {busy}");
    let page = numbers(&api, &agent, "?limit=2&offset=1");
    assert_eq!((&page["total"], &page["limit"], &page["offset"]), (&json!(4), &json!(2), &json!(1)), "{page}");
    assert_eq!(listed(&page), ["13900139000", "13700137000"]);
    assert_eq!(numbers(&api, &agent, "?offset=9")["numbers"], json!([]));

    let records = &ok_get(&api, "/campaigns/spring", &agent)["records"];
    assert_eq!(
        (&records["numbers"], &records["pending"], &records["retry_wait"], &records["done"], &records["attempts"]),
        (&json!(4), &json!(1), &json!(1), &json!(2), &json!(4)),
        "{records}"
    );
    assert_eq!((&records["results"]["no_answer"], &records["attempt_results"]["busy"]), (&json!(1), &json!(2)));

    for (query, field) in [
        ("?state=ringing", "state"),
        ("?result=voicemail", "result"),
        ("?state=pending&result=busy", "result"),
        ("?limit=0", "limit"),
        ("?limit=1001", "limit"),
        ("?limit=ten", "limit"),
        ("?offset=-1", "offset"),
        ("?page=2", "page"),
    ] {
        refused(&api, "GET", &format!("/campaigns/spring/numbers{query}"), &agent, None, 400, Some(field));
    }
    refused(&api, "GET", "/campaigns/autumn/numbers", &agent, None, 404, None);
}

#[test]
fn supervisors_pause_and_resume_by_name_and_agents_may_not() {
    let api = Api::quiet();
    let sup = api.login("super");
    let admin = api.login("admin");
    let agent = api.login("agent");
    let view = ok_post(&api, "/campaigns/spring/pause", &sup, "");
    assert_eq!(keys(&view), set(VIEW_KEYS), "{view}");
    assert_eq!((&view["summary"]["paused"], &view["paused_by"]), (&json!(true), &json!("super")), "{view}");
    let list = ok_get(&api, "/campaigns", &agent);
    assert_eq!(list[0]["summary"]["paused"], true, "{list}");
    let view = ok_post(&api, "/campaigns/spring/resume", &admin, "{}");
    assert_eq!((&view["summary"]["paused"], &view["paused_by"]), (&json!(false), &json!("admin")), "{view}");

    refused(&api, "POST", "/campaigns/spring/pause", &agent, Some("{}"), 403, None);
    refused(&api, "POST", "/campaigns/spring/resume", &agent, Some("{}"), 403, None);
    refused(&api, "POST", "/campaigns/autumn/pause", &sup, Some("{}"), 404, None);
    refused(&api, "POST", "/campaigns/spring/pause", &sup, Some(r#"{"until": 5}"#), 400, Some("until"));
    let (status, _) = api.req("GET", "/campaigns/spring/pause", Some(&sup), None);
    assert_eq!(status, 405);
    assert_eq!(ok_get(&api, "/campaigns/spring", &agent)["summary"]["paused"], false, "still running");
}

#[test]
fn the_do_not_call_list_is_read_by_all_and_changed_by_supervisors() {
    let api = Api::quiet();
    let sup = api.login("super");
    let admin = api.login("admin");
    let agent = api.login("agent");
    assert_eq!(ok_get(&api, "/dnc", &agent), json!({"total": 0, "offset": 0, "limit": 100, "entries": []}));

    let added = ok_post(&api, "/dnc", &sup, r#"{"number": " 137 0013 7000 ", "reason": " asked us "}"#);
    assert_eq!(keys(&added), set(&["number", "listed", "entry"]), "{added}");
    assert_eq!((&added["number"], &added["listed"]), (&json!("137 0013 7000"), &json!(true)), "{added}");
    assert_eq!(keys(&added["entry"]), set(&["id", "number", "digits", "reason", "added_wall_ms"]), "{added}");
    assert_eq!((&added["entry"]["digits"], &added["entry"]["reason"]), (&json!("13700137000"), &json!("asked us")));

    // Read by everyone; matched loosely (international form, spaces).
    let list = ok_get(&api, "/dnc", &agent);
    assert_eq!((&list["total"], list["entries"].as_array().map(Vec::len)), (&json!(1), Some(1)), "{list}");
    let check = ok_get(&api, "/dnc/+86%20137%200013%207000", &agent);
    assert_eq!((&check["number"], &check["listed"]), (&json!("+86 137 0013 7000"), &json!(true)), "{check}");
    assert_eq!(check["entry"], list["entries"][0], "{check}");
    let check = ok_get(&api, "/dnc/13800138000", &agent);
    assert_eq!((&check["listed"], &check["entry"]), (&json!(false), &Value::Null), "{check}");
    refused(&api, "GET", "/dnc/555-1234x", &agent, None, 400, Some("number"));
    refused(&api, "GET", "/dnc?limit=0", &agent, None, 400, Some("limit"));
    refused(&api, "GET", "/dnc?limit=1001", &agent, None, 400, Some("limit"));
    refused(&api, "GET", "/dnc?offset=-1", &agent, None, 400, Some("offset"));
    refused(&api, "GET", "/dnc?page=2", &agent, None, 400, Some("page"));

    // Again with another reason: the entry stays, the reason changes.
    let again = ok_post(&api, "/dnc", &admin, r#"{"number": "137-0013-7000", "reason": "complained"}"#);
    assert_eq!((&again["entry"]["id"], &again["entry"]["reason"]), (&added["entry"]["id"], &json!("complained")));
    assert_eq!(ok_get(&api, "/dnc", &agent)["entries"].as_array().map(Vec::len), Some(1));
    // With the country code it is an entry of its own, matching the same
    // numbers (the exact one first).
    let international = ok_post(&api, "/dnc", &admin, r#"{"number": "+86 137 0013 7000"}"#);
    assert_ne!(international["entry"]["id"], added["entry"]["id"], "{international}");
    assert_eq!(ok_get(&api, "/dnc", &agent)["entries"].as_array().map(Vec::len), Some(2));
    assert_eq!(ok_get(&api, "/dnc/13700137000", &agent)["entry"]["id"], added["entry"]["id"]);
    // Pages, oldest first, with the total over every page.
    let second = ok_get(&api, "/dnc?limit=1&offset=1", &agent);
    assert_eq!((&second["total"], &second["offset"], &second["limit"]), (&json!(2), &json!(1), &json!(1)), "{second}");
    assert_eq!(
        second["entries"].as_array().map(|e| e.iter().map(|e| e["id"].clone()).collect::<Vec<_>>()),
        Some(vec![international["entry"]["id"].clone()]),
        "{second}"
    );
    let past = ok_get(&api, "/dnc?offset=5", &agent);
    assert_eq!((&past["total"], &past["entries"]), (&json!(2), &json!([])), "{past}");

    // A listed number imported into a campaign is done as `dnc`.
    let report = ok_import(&api, &sup, "", "number\n13700137000\n13900139000\n");
    assert_eq!((&report["added"], &report["dnc"]), (&json!(1), &json!(1)), "{report}");
    let page = numbers(&api, &agent, "?result=dnc");
    assert_eq!(listed(&page), ["13700137000"], "{page}");
    assert_eq!((&page["numbers"][0]["state"], &page["numbers"][0]["on_dnc"]), (&json!("done"), &json!(true)));

    // Bad bodies and roles.
    refused(&api, "POST", "/dnc", &agent, Some(r#"{"number": "13800138000"}"#), 403, None);
    refused(&api, "POST", "/dnc", &sup, Some(r#"{"number": "12ab"}"#), 400, Some("number"));
    refused(&api, "POST", "/dnc", &sup, Some(r#"{"number": ""}"#), 400, Some("number"));
    refused(&api, "POST", "/dnc", &sup, Some(r#"{"reason": "x"}"#), 400, Some("number"));
    let long = format!(r#"{{"number": "13800138000", "reason": "{}"}}"#, "x".repeat(201));
    refused(&api, "POST", "/dnc", &sup, Some(&long), 400, Some("reason"));
    refused(&api, "POST", "/dnc", &sup, Some(r#"{"number": "13800138000", "why": "x"}"#), 400, Some("why"));
    assert_eq!(ok_get(&api, "/dnc", &agent)["entries"].as_array().map(Vec::len), Some(2), "nothing refused was added");

    // Taking it off the list.
    refused(&api, "DELETE", "/dnc/13700137000", &agent, None, 403, None);
    refused(&api, "DELETE", "/dnc/13800138000", &sup, None, 404, None);
    refused(&api, "DELETE", "/dnc/12ab", &sup, None, 400, Some("number"));
    let (status, removed) = api.delete("/dnc/+86%20137%200013%207000", &sup);
    assert_eq!(status, 200, "{removed}");
    assert_eq!(removed["number"], "+86 137 0013 7000", "{removed}");
    let ids: Vec<&Value> = removed["removed"].as_array().unwrap().iter().map(|e| &e["id"]).collect();
    assert_eq!(ids, [&international["entry"]["id"], &added["entry"]["id"]], "both, the exact one first: {removed}");
    assert_eq!(ok_get(&api, "/dnc", &agent)["entries"], json!([]));
    assert_eq!(ok_get(&api, "/dnc/13700137000", &agent)["listed"], false);
    // The number stays done as `dnc`; it is no longer on the list.
    let page = numbers(&api, &agent, "?result=dnc");
    assert_eq!((&page["numbers"][0]["state"], &page["numbers"][0]["on_dnc"]), (&json!("done"), &json!(false)));
    refused(&api, "DELETE", "/dnc/13700137000", &sup, None, 404, None);
}

#[test]
fn an_agent_answers_its_own_preview_and_nobody_elses() {
    let api = Api::quiet();
    let agent = api.login("agent");
    let agent2 = api.login("agent2");
    let sup = api.login("super");
    // Agent 1001 ("agent") has no number on screen: the core says so.
    for action in ["accept", "skip"] {
        let path = format!("/agents/1001/preview/{action}");
        refused(&api, "POST", &path, &agent, Some("{}"), 422, None);
        // Another agent may not act for 1001; a supervisor may.
        refused(&api, "POST", &path, &agent2, Some("{}"), 403, None);
        refused(&api, "POST", &path, &sup, Some("{}"), 422, None);
        refused(&api, "POST", &format!("/agents/9999/preview/{action}"), &sup, Some("{}"), 404, None);
        refused(&api, "POST", &path, &agent, Some("{\"accept\": true}"), 400, Some("accept"));
    }
}
