//! `ctibox agents | agent … | queues | queue …` run as a user would, against
//! a real API server (`TestServer`: the daemon's HTTP API over the fake
//! call core with its real ACD, and a temporary database): the tables and
//! JSON, an agent's state changes, a supervisor's actions on a waiting
//! caller, refusals with their exit code, and the queue report and agent
//! history read from the records.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use ctibox_daemon::api::testing::{TEST_USERS, TestServer, TestServerOptions};
use ctibox_daemon::records::{AgentStateKind, CallId, Direction, JournalOp, QueueEventKind, RecordsHandle, Stamp};
use serde_json::{Value, json};

struct Fixture {
    server: TestServer,
}

impl Fixture {
    /// A server with no call at start, its database under the target's
    /// temporary directory.
    fn start(name: &str) -> Fixture {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("acd_cli").join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        let options = TestServerOptions { ringing_call: false, ..TestServerOptions::default() };
        Fixture { server: TestServer::start_with(&dir, options).expect("test server") }
    }

    /// `ctibox ARGS` as `user`: (exit code, stdout, stderr).
    fn run(&self, user: &str, args: &[&str]) -> (i32, String, String) {
        let password = TEST_USERS.iter().find(|u| u.0 == user).map(|u| u.1).expect("a test user");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ctibox"));
        for var in ["CTIBOX_API", "CTIBOX_USER", "CTIBOX_PASSWORD", "CTIBOX_TOKEN"] {
            cmd.env_remove(var);
        }
        let out = cmd
            .args(args)
            .env("CTIBOX_API", &self.server.url)
            .env("CTIBOX_USER", user)
            .env("CTIBOX_PASSWORD", password)
            .stdin(Stdio::null())
            .output()
            .expect("run ctibox");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Like [`Fixture::run`], and it must succeed: its stdout.
    fn ok(&self, user: &str, args: &[&str]) -> String {
        let (code, out, err) = self.run(user, args);
        assert_eq!(code, 0, "ctibox {args:?} as {user}:\nstdout: {out}\nstderr: {err}");
        out
    }

    /// It must fail with exit code 2: its stderr.
    fn fails(&self, user: &str, args: &[&str]) -> String {
        let (code, out, err) = self.run(user, args);
        assert_eq!(code, 2, "ctibox {args:?} as {user}:\nstdout: {out}\nstderr: {err}");
        err
    }
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// The whitespace-separated cells of the table line starting with `first`.
fn row<'a>(table: &'a str, first: &str) -> Vec<&'a str> {
    table
        .lines()
        .find(|l| l.split_whitespace().next() == Some(first))
        .unwrap_or_else(|| panic!("no row {first} in:\n{table}"))
        .split_whitespace()
        .collect()
}

#[test]
fn agents_and_queues_as_tables_and_json() {
    let f = Fixture::start("tables");
    let table = f.ok("agent", &["agents"]);
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["ID", "NAME", "STATE", "REASON", "SINCE", "EXT", "QUEUES", "ANSWERED"], "{table}");
    assert_eq!(row(&table, "1001"), ["1001", "Alice", "logged_out", "0.000s", "0"], "{table}");
    assert_eq!(table.lines().count(), 4, "{table}");
    let agents = json(&f.ok("agent", &["agents", "--json"]));
    assert_eq!(agents.as_array().map(Vec::len), Some(3), "{agents}");
    assert_eq!(agents[2]["name"], "Carol");

    f.ok("super", &["agent", "login", "1002"]);
    let table = f.ok("agent", &["queues"]);
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["QUEUE", "WAITING", "LONGEST", "READY/IN", "ANSWERED", "ABANDONED", "SL%"], "{table}");
    assert_eq!(row(&table, "sales"), ["sales", "0", "1/1", "0", "0", "100"], "{table}");
    assert_eq!(row(&table, "support"), ["support", "0", "1/1", "0", "0", "100"], "{table}");
    let queues = json(&f.ok("agent", &["queues", "--json"]));
    assert_eq!(queues[0]["title"], "Sales", "{queues}");
}

#[test]
fn an_agent_changes_state_and_may_not_touch_others() {
    let f = Fixture::start("states");
    let out = f.ok("agent", &["agent", "login", "1001"]);
    assert_eq!(out, "agent 1001 (Alice): ready at 801, queues sales\n");
    let out = f.ok("agent", &["agent", "not-ready", "1001", "--reason", "lunch"]);
    assert_eq!(out, "agent 1001 (Alice): not ready (lunch) at 801, queues sales\n");
    let table = f.ok("agent", &["agents"]);
    assert_eq!(&row(&table, "1001")[..4], ["1001", "Alice", "not_ready", "lunch"], "{table}");
    assert_eq!(f.ok("agent", &["agent", "ready", "1001"]), "agent 1001 (Alice): ready at 801, queues sales\n");
    let out =
        f.ok("super", &["agent", "login", "1001", "--extension", "803", "--queue", "support", "--queue", "sales"]);
    assert_eq!(out, "agent 1001 (Alice): ready at 803, queues support,sales\n");
    assert_eq!(f.ok("agent", &["agent", "logout", "1001"]), "agent 1001 (Alice): logged out\n");

    // Refusals: the request, the status, the daemon's message, the field.
    let err = f.fails("agent", &["agent", "login", "1002"]);
    assert!(err.starts_with("ctibox: POST /agents/1002/login: 403 Forbidden: you are agent 1001"), "{err}");
    let err = f.fails("super", &["agent", "login", "1001", "--extension", "899"]);
    assert!(err.contains("404") && err.contains("899") && err.contains("(field: extension)"), "{err}");
    let err = f.fails("super", &["agent", "login", "1001", "--queue", "nope"]);
    assert!(err.contains("(field: queues[0])"), "{err}");
    let err = f.fails("super", &["agent", "ready", "1001"]);
    assert!(err.contains("422") && err.contains("agent 1001 is not logged in"), "{err}");
    let err = f.fails("super", &["agent", "ready", "9999"]);
    assert!(err.contains("404") && err.contains("no agent 9999"), "{err}");
    // Preview dialling: nothing on screen is refused with the core's word.
    let err = f.fails("agent", &["agent", "accept", "1001"]);
    assert!(
        err.starts_with("ctibox: POST /agents/1001/preview/accept: 422") && err.contains("no number to preview"),
        "{err}"
    );
    let err = f.fails("agent", &["agent", "skip", "1002"]);
    assert!(err.contains("403"), "{err}");
}

#[test]
fn a_supervisor_acts_on_a_waiting_caller() {
    let f = Fixture::start("waiting");
    let call = f.server.core.enqueue("13800138000", "sales", 0).expect("a caller in sales");
    let id = call.0.to_string();
    let table = f.ok("super", &["queues"]);
    let sales = row(&table, "sales");
    assert_eq!((sales[1], sales[3]), ("1", "0/0"), "one waiting, nobody in: {table}");
    assert!(sales[2].ends_with('s'), "the longest wait: {table}");

    assert_eq!(f.ok("super", &["queue", "priority", &id, "7"]), format!("call {id}: priority 7\n"));
    let queues = json(&f.ok("super", &["queues", "--json"]));
    assert_eq!(queues[0]["waiting"][0]["priority"], 7, "{queues}");
    // clap refuses what the API would.
    let (code, _, err) = f.run("super", &["queue", "priority", &id, "12"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("12"), "{err}");
    let err = f.fails("agent", &["queue", "priority", &id, "3"]);
    assert!(err.contains("403"), "{err}");

    f.ok("super", &["agent", "login", "1003"]);
    assert_eq!(f.ok("super", &["queue", "pick", &id, "1003"]), format!("call {id}: given to agent 1003\n"));
    let table = f.ok("super", &["agents"]);
    assert_eq!(row(&table, "1003")[2], "offered", "{table}");
    let err = f.fails("super", &["queue", "pick", "4242", "1003"]);
    assert!(err.contains("POST /queues/calls/4242/pick: 404"), "{err}");
}

const T0: i64 = 1_700_000_000_000;

fn at(ms: i64) -> Stamp {
    Stamp { board_ms: ms, wall_ms: T0 + ms }
}

/// One answered (5 s wait) and one abandoned (40 s) sales call; 1001 ready,
/// on the call, not ready (lunch), logged out.
fn write_journal(records: &RecordsHandle) {
    let submit = |op| records.submit(op).expect("journal submit");
    let mut calls: Vec<CallId> = Vec::new();
    for i in 0..2 {
        let call = records.next_call_id();
        submit(JournalOp::CallStarted {
            call,
            direction: Direction::Inbound,
            caller_number: "13800138000".into(),
            caller_name: String::new(),
            called_number: "88880000".into(),
            channel: Some(1),
            at: at(i * 100_000),
        });
        calls.push(call);
    }
    let event = |call, kind, agent: Option<&str>, wait_ms, ms| JournalOp::QueueEvent {
        call,
        queue: "sales".into(),
        kind,
        agent: agent.map(Into::into),
        position: Some(1),
        wait_ms: Some(wait_ms),
        detail: json!({}),
        at: at(ms),
    };
    let state = |state, reason: &str, call, ms| JournalOp::AgentState {
        agent: "1001".into(),
        state,
        reason: reason.into(),
        extension: Some("801".into()),
        call,
        at: at(ms),
    };
    submit(state(AgentStateKind::Ready, "", None, 0));
    submit(event(calls[0], QueueEventKind::Enter, None, 0, 1_000));
    submit(event(calls[0], QueueEventKind::Offer, Some("1001"), 4_000, 5_000));
    submit(event(calls[0], QueueEventKind::Answer, Some("1001"), 5_000, 6_000));
    submit(state(AgentStateKind::OnCall, "", Some(calls[0]), 6_000));
    submit(state(AgentStateKind::NotReady, "lunch", None, 60_000));
    submit(event(calls[1], QueueEventKind::Enter, None, 0, 100_000));
    submit(event(calls[1], QueueEventKind::Abandon, None, 40_000, 140_000));
    let last = submit(state(AgentStateKind::LoggedOut, "", None, 200_000));
    records.wait_committed(last, Duration::from_secs(10)).expect("committed");
}

#[test]
fn queue_report_and_agent_history_from_the_records() {
    let f = Fixture::start("records");
    write_journal(&f.server.records);
    // 2023-11-14T22:13:20Z is T0; the report takes that whole day.
    let window = ["--from", "2023-11-14", "--to", "2023-11-14"];
    let mut args = vec!["queues", "report"];
    args.extend(window);
    let table = f.ok("super", &args);
    assert!(table.starts_with("queues from 2023-11-14 00:00:00 to 2023-11-15 00:00:00 UTC\n"), "{table}");
    assert_eq!(row(&table, "sales"), ["sales", "2", "1", "1", "1", "0", "0", "0", "5s", "5s", "40s", "50.0", "20s"]);
    assert_eq!(row(&table, "support"), ["support", "0", "0", "0", "0", "0", "0", "0", "-", "30s"], "{table}");

    let csv = f.ok("super", &[&args[..], &["--csv"]].concat());
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert!(lines[0].starts_with("queue,from,to,service_level_ms,entered,answered"), "{csv}");
    assert!(lines[1].starts_with("sales,2023-11-14T00:00:00.000Z,2023-11-15T00:00:00.000Z,20000,2,1,1,1,"), "{csv}");
    assert!(lines[2].starts_with("support,"), "{csv}");
    let report = json(&f.ok("super", &[&args[..], &["--json"]].concat()));
    assert_eq!(report["queues"][0]["service_level_pct"], 50.0, "{report}");
    let (code, _, err) = f.run("super", &[&args[..], &["--json", "--csv"]].concat());
    assert_eq!(code, 2, "--json and --csv conflict: {err}");
    let err = f.fails("agent", &["queues", "report"]);
    assert!(err.contains("GET /reports/queues: 403"), "{err}");

    // The agent's own history: every state, how long each lasted.
    let table = f.ok("agent", &["agent", "history", "1001"]);
    let states: Vec<&str> = table.lines().skip(1).map(|l| l.split_whitespace().nth(2).unwrap()).collect();
    assert_eq!(states, ["ready", "on_call", "not_ready", "logged_out"], "{table}");
    let lunch = table.lines().find(|l| l.contains("not_ready")).unwrap();
    assert!(lunch.contains("lunch") && lunch.trim_end().ends_with("2m20s"), "{table}");
    assert!(table.lines().last().unwrap().ends_with("(now)"), "{table}");
    // From the middle of the call: the state then comes first.
    let table = f.ok("agent", &["agent", "history", "1001", "--from", "2023-11-14T22:13:30Z"]);
    let first = table.lines().nth(1).unwrap();
    assert!(first.contains("(before)") && first.contains("on_call"), "{table}");
    let history = json(&f.ok("super", &["agent", "history", "1001", "--json"]));
    assert_eq!(history["states"].as_array().map(Vec::len), Some(4), "{history}");
    assert!(history["at_from"].is_null(), "{history}");
    let err = f.fails("agent", &["agent", "history", "1002"]);
    assert!(err.contains("403"), "{err}");
}
