//! The `ctibox` CLI against a real API server (`TestServer`: the daemon's
//! HTTP API over a fake call core and a temporary SQLite database): login,
//! the read commands, call control, error reporting and exit codes, the
//! call journal with paging, customer import, the live event stream, and
//! the offline commands (config check, completions, man pages).

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use ctibox_daemon::api::testing::{TestServer, TestServerOptions};
use ctibox_daemon::records::{CallId, CustomerQuery, Direction, HangupCause, JournalOp, LegRole, RecordsHandle, Stamp};
use ctibox_e2e::{Proc, Scratch, bin};
use serde_json::Value;

const RUN_TIMEOUT: Duration = Duration::from_secs(30);

struct Fixture {
    server: TestServer,
    dir: Scratch,
}

impl Fixture {
    fn start() -> Fixture {
        Fixture::start_with(TestServerOptions::default())
    }

    fn start_with(options: TestServerOptions) -> Fixture {
        let dir = Scratch::new("cli-api");
        let server = TestServer::start_with(&dir.0, options).expect("test server");
        Fixture { server, dir }
    }

    /// A token of `user`, from `ctibox login`.
    fn token(&self, user: &str) -> String {
        let pw = password(user);
        let (code, out, err) = self.run(&[("CTIBOX_PASSWORD", pw)], &["login", "--user", user]);
        assert_eq!(code, 0, "login {user}: {err}");
        out.trim().to_string()
    }

    /// `ctibox ARGS --api URL` with these environment variables (and no
    /// other CTIBOX_* from the test's environment).
    fn run(&self, env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
        let mut cmd = command(env);
        cmd.args(args).env("CTIBOX_API", &self.server.url);
        finish(&mut cmd, args)
    }

    /// `ctibox ARGS` as `user` (a fresh token each time).
    fn as_user(&self, user: &str, args: &[&str]) -> (i32, String, String) {
        let token = self.token(user);
        self.run(&[("CTIBOX_TOKEN", &token)], args)
    }

    /// Like [`Fixture::as_user`], and it must succeed: its stdout.
    fn ok(&self, user: &str, args: &[&str]) -> String {
        let (code, out, err) = self.as_user(user, args);
        assert_eq!(code, 0, "ctibox {args:?} as {user}:\nstdout: {out}\nstderr: {err}");
        out
    }
}

fn password(user: &str) -> &'static str {
    ctibox_daemon::api::testing::TEST_USERS.iter().find(|u| u.0 == user).map(|u| u.1).expect("a test user")
}

fn command(env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(bin("ctibox"));
    for var in ["CTIBOX_API", "CTIBOX_USER", "CTIBOX_PASSWORD", "CTIBOX_TOKEN"] {
        cmd.env_remove(var);
    }
    cmd.stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Runs `ctibox` with no daemon needed.
fn offline(args: &[&str]) -> (i32, String, String) {
    finish(command(&[]).args(args), args)
}

/// Runs `cmd` to its end, reading its output as it comes (a completion
/// script or a long CSV fills a pipe); fails the test after
/// [`RUN_TIMEOUT`].
fn finish(cmd: &mut Command, args: &[&str]) -> (i32, String, String) {
    let child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start ctibox");
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(RUN_TIMEOUT) {
        Ok(Ok(out)) => (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ),
        Ok(Err(e)) => panic!("ctibox {args:?}: {e}"),
        Err(_) => {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            panic!("ctibox {args:?} did not finish within {RUN_TIMEOUT:?}");
        }
    }
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn login_and_the_read_commands() {
    let f = Fixture::start();
    let token = f.token("admin");
    assert!(f.server.auth.session(&token).is_some(), "ctibox login printed {token:?}, not a live token");

    // A wrong password: the API's 401, in the error format, exit code 2.
    let (code, out, err) = f.run(&[("CTIBOX_PASSWORD", "nope")], &["login", "--user", "admin"]);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert_eq!(err, "ctibox: POST /login: 401 Unauthorized: wrong username or password\n");

    // No credentials at all: says how to give them.
    let (code, _, err) = f.run(&[], &["status"]);
    assert_eq!(code, 2);
    assert!(err.contains("CTIBOX_TOKEN") && err.contains("--user"), "{err}");

    let status = f.run(&[("CTIBOX_TOKEN", &token)], &["status"]);
    assert_eq!(status.0, 0, "{status:?}");
    assert!(status.1.contains("ctibox-test (ctiboxd "), "{}", status.1);
    assert!(status.1.contains("fake: 4 channels, 20 ms ticks, 0 clock slips"), "{}", status.1);
    assert!(status.1.contains("1 active"), "{}", status.1);

    // --user with a password file logs in by itself, and logs out after.
    let pw = f.dir.path("pw");
    std::fs::write(&pw, "super-pw\n").unwrap();
    let sessions = f.server.auth.session_count();
    let (code, out, err) =
        f.run(&[], &["status", "--json", "--user", "super", "--password-file", pw.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["calls_active"], 1);
    assert_eq!(f.server.auth.session_count(), sessions, "the CLI's own session was not closed");
    // CTIBOX_USER and CTIBOX_PASSWORD work too.
    let (code, _, err) = f.run(&[("CTIBOX_USER", "agent"), ("CTIBOX_PASSWORD", "agent-pw")], &["calls"]);
    assert_eq!(code, 0, "{err}");

    let channels = json(&f.ok("admin", &["channels", "--json"]));
    let channels = channels.as_array().expect("an array");
    assert_eq!(channels.len(), 4);
    assert_eq!(channels[1]["channel"], 2);
    assert_eq!(channels[1]["name"], "801");
    assert_eq!(channels[1]["status"], "ringing");
    assert_eq!(channels[1]["call"], 1);

    let table = f.ok("admin", &["channels"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 5, "{table}");
    let cols: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(cols[..6], ["2", "fxs", "801", "extension", "ringing", "1"], "{table}");

    // The ringing call 1 from 13800138000 to 801, one row per leg.
    let calls = f.ok("agent", &["calls"]);
    let lines: Vec<&str> = calls.lines().collect();
    assert_eq!(lines.len(), 3, "{calls}");
    let first: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(first[..5], ["1", "inbound", "ringing", "13800138000", "801"], "{calls}");
    let second: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(second, ["2", "callee", "801", "2", "ringing"], "{calls}");
    let raw = json(&f.ok("admin", &["calls", "--json"]));
    assert_eq!(raw[0]["legs"].as_array().map(Vec::len), Some(2));
}

#[test]
fn call_control_and_error_reporting() {
    let f = Fixture::start();
    let admin = f.token("admin");
    let run = |args: &[&str]| f.run(&[("CTIBOX_TOKEN", &admin)], args);

    let (code, out, err) = run(&["originate", "802", "803"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "2\n");
    assert_eq!(f.server.core.active_calls(), 2);
    let (code, out, err) = run(&["hangup", "2"]);
    assert_eq!((code, out.as_str()), (0, "call 2: hung up\n"), "{err}");
    assert_eq!(f.server.core.active_calls(), 1);

    // Call control refuses: 422 with the core's reason.
    let (code, out, err) = run(&["hold", "1", "--leg", "1"]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert_eq!(err, "ctibox: POST /calls/1/hold: 422 Unprocessable Entity: call 1 is not connected\n");
    // A bad field is named.
    let (code, _, err) = run(&["originate", "801", " "]);
    assert_eq!(code, 2);
    assert_eq!(err, "ctibox: POST /calls: 400 Bad Request: to: empty (field: to)\n");
    // No such call.
    let (code, _, err) = run(&["hangup", "99"]);
    assert_eq!(code, 2);
    assert!(err.starts_with("ctibox: POST /calls/99/hangup: 404 Not Found: "), "{err}");

    // An agent may not answer calls: 403, exit code 2.
    let (code, out, err) = f.as_user("agent", &["answer", "1"]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert_eq!(err, "ctibox: POST /calls/1/answer: 403 Forbidden: only an admin or a supervisor may do this\n");
    assert_eq!(f.server.core.active_calls(), 1);

    for (args, want) in [
        (&["answer", "1"][..], "call 1: answered; the caller is on hold\n"),
        (&["unhold", "1", "--leg", "1"], "call 1: leg 1 off hold\n"),
        (&["hold", "1", "--leg", "1"], "call 1: leg 1 on hold\n"),
        (&["transfer", "1", "--leg", "1", "802", "--attended"], ""),
        (&["transfer", "1", "--complete"], "call 1: transfer completed\n"),
        (&["conference", "1", "803"], "call 1: adding 803\n"),
        (&["hangup", "1", "--leg", "1"], ""),
        (&["hangup", "1"], "call 1: hung up\n"),
    ] {
        let (code, out, err) = run(args);
        assert_eq!(code, 0, "{args:?}: {err}");
        if !want.is_empty() {
            assert_eq!(out, want, "{args:?}");
        }
    }
    assert_eq!(f.server.core.active_calls(), 0);
    assert_eq!(run(&["calls"]).1, "no active calls\n");

    // clap refuses a transfer with neither a target nor --complete.
    let (code, _, err) = run(&["transfer", "1"]);
    assert_eq!(code, 2, "{err}");

    // Nothing listening: where we looked and how to look elsewhere (--api
    // wins over the CTIBOX_API that run() sets).
    let (code, _, err) = f.run(&[("CTIBOX_TOKEN", &admin)], &["status", "--api", "http://127.0.0.1:1"]);
    assert_eq!(code, 2);
    assert!(err.starts_with("ctibox: the daemon is not reachable at http://127.0.0.1:1 ("), "{err}");
    assert!(err.contains("--api URL or CTIBOX_API"), "{err}");
}

const DAY_MS: i64 = 86_400_000;
/// 2023-11-14T22:13:20Z.
const T0: i64 = 1_700_000_000_000;

struct JournalCall<'a> {
    direction: Direction,
    caller: &'a str,
    caller_name: &'a str,
    called: &'a str,
    extension: &'a str,
    start_wall_ms: i64,
    answered: bool,
    cause: HangupCause,
}

/// Writes a finished call to the journal; the sequence to wait for.
fn journal(records: &RecordsHandle, c: &JournalCall<'_>) -> (CallId, u64) {
    let at = |ms: i64| Stamp { board_ms: ms - T0, wall_ms: ms };
    let call = records.next_call_id();
    records
        .submit(JournalOp::CallStarted {
            call,
            direction: c.direction,
            caller_number: c.caller.into(),
            caller_name: c.caller_name.into(),
            called_number: c.called.into(),
            channel: Some(1),
            at: at(c.start_wall_ms),
        })
        .unwrap();
    let leg = records.next_leg_id();
    records
        .submit(JournalOp::LegAdded {
            leg,
            call,
            role: LegRole::Agent,
            channel: Some(2),
            party_number: c.extension.into(),
            party_name: String::new(),
            extension: Some(c.extension.into()),
            at: at(c.start_wall_ms + 100),
        })
        .unwrap();
    if c.answered {
        records.submit(JournalOp::CallAnswered { call, at: at(c.start_wall_ms + 5_000) }).unwrap();
    }
    let seq = records
        .submit(JournalOp::CallEnded {
            call,
            at: at(c.start_wall_ms + 65_000),
            cause: c.cause.clone(),
            detail: String::new(),
        })
        .unwrap();
    (call, seq)
}

#[test]
fn cdr_filters_and_formats() {
    let f = Fixture::start();
    let records = &f.server.records;
    let calls = [
        JournalCall {
            direction: Direction::Inbound,
            caller: "13800138000",
            caller_name: "Zhang, \"Wei\"",
            called: "88880000",
            extension: "801",
            start_wall_ms: T0,
            answered: true,
            cause: HangupCause::Normal,
        },
        JournalCall {
            direction: Direction::Outbound,
            caller: "802",
            caller_name: "",
            called: "913900139000",
            extension: "802",
            start_wall_ms: T0 + DAY_MS,
            answered: false,
            cause: HangupCause::Busy,
        },
        JournalCall {
            direction: Direction::Internal,
            caller: "801",
            caller_name: "Alice",
            called: "803",
            extension: "801",
            start_wall_ms: T0 + 2 * DAY_MS,
            answered: false,
            cause: HangupCause::NoAnswer,
        },
    ];
    let mut ids = Vec::new();
    let mut last = 0;
    for c in &calls {
        let (id, seq) = journal(records, c);
        ids.push(id.0);
        last = seq;
    }
    records.wait_committed(last, Duration::from_secs(10)).unwrap();

    let ids_of = |out: &str| -> Vec<i64> {
        json(out).as_array().expect("an array").iter().map(|c| c["id"].as_i64().unwrap()).collect()
    };
    // Newest first by default; oldest first on request.
    assert_eq!(ids_of(&f.ok("admin", &["cdr", "--format", "json"])), [ids[2], ids[1], ids[0]]);
    assert_eq!(ids_of(&f.ok("admin", &["cdr", "--format", "json", "--oldest-first"])), ids);

    // CSV: a header and one quoted record per call.
    let csv = f.ok("admin", &["cdr", "--format", "csv", "--oldest-first"]);
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(lines.len(), 5, "{csv}");
    assert!(lines[0].starts_with("call,start,start_ms,direction,caller_number,caller_name,called_number,"), "{csv}");
    assert_eq!(
        lines[1],
        format!(
            "{},2023-11-14T22:13:20.000Z,{T0},inbound,13800138000,\"Zhang, \"\"Wei\"\"\",88880000,801,1,yes,{},{},65,60,normal,",
            ids[0],
            T0 + 5_000,
            T0 + 65_000
        )
    );
    assert!(lines[2].contains(",outbound,802,,913900139000,802,1,no,,"), "{csv}");

    // Times: a date as --from and --to is that whole day (UTC); an RFC
    // 3339 time with an offset; epoch ms.
    assert_eq!(
        ids_of(&f.ok("admin", &["cdr", "--format", "json", "--from", "2023-11-15", "--to", "2023-11-15"])),
        [ids[1]]
    );
    let from = "2023-11-16T06:13:20+08:00"; // = T0 + 1 day
    assert_eq!(ids_of(&f.ok("admin", &["cdr", "--format", "json", "--from", from])), [ids[2], ids[1]]);
    let to = (T0 + DAY_MS).to_string();
    assert_eq!(ids_of(&f.ok("admin", &["cdr", "--format", "json", "--to", &to])), [ids[0]]);
    let (code, _, err) = f.as_user("admin", &["cdr", "--from", "yesterday"]);
    assert_eq!(code, 2);
    assert!(err.contains("is not a time"), "{err}");

    // Filters.
    assert_eq!(ids_of(&f.ok("admin", &["cdr", "--format", "json", "--number", "13800138000"])), [ids[0]]);
    assert_eq!(ids_of(&f.ok("admin", &["cdr", "--format", "json", "--direction", "outbound"])), [ids[1]]);
    assert_eq!(ids_of(&f.ok("admin", &["cdr", "--format", "json", "--cause", "no_answer"])), [ids[2]]);
    assert_eq!(ids_of(&f.ok("admin", &["cdr", "--format", "json", "--extension", "801"])), [ids[2], ids[0]]);
    assert_eq!(ids_of(&f.ok("admin", &["cdr", "--format", "json", "--limit", "2"])), [ids[2], ids[1]]);

    // The table.
    let table = f.ok("admin", &["cdr", "--direction", "inbound"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    assert!(lines[0].starts_with("CALL  START (UTC)"), "{table}");
    assert!(lines[1].contains("2023-11-14 22:13:20  inbound  13800138000"), "{table}");
    assert!(lines[1].contains("65s") && lines[1].contains("60s") && lines[1].ends_with("normal"), "{table}");

    // Agents see only their own extension's calls, and are told so.
    assert_eq!(ids_of(&f.ok("agent2", &["cdr", "--format", "json"])), [ids[1]]);
    let (code, _, err) = f.as_user("agent2", &["cdr", "--extension", "801"]);
    assert_eq!(code, 2);
    assert_eq!(err, "ctibox: GET /cdr: 403 Forbidden: agents may only read their own extension's calls, not 801\n");
}

#[test]
fn cdr_follows_pages() {
    let f = Fixture::start();
    let n = 1003;
    let mut last = 0;
    for i in 0..n {
        let c = JournalCall {
            direction: Direction::Inbound,
            caller: "13800138000",
            caller_name: "",
            called: "88880000",
            extension: "801",
            start_wall_ms: T0 + i * 1000,
            answered: true,
            cause: HangupCause::Normal,
        };
        last = journal(&f.server.records, &c).1;
    }
    f.server.records.wait_committed(last, Duration::from_secs(30)).unwrap();
    // More than one page (the API gives at most 1000 calls a page).
    let csv = f.ok("admin", &["cdr", "--format", "csv"]);
    assert_eq!(csv.split("\r\n").filter(|l| !l.is_empty()).count(), n as usize + 1);
    let all = json(&f.ok("admin", &["cdr", "--format", "json", "--limit", "1001"]));
    let starts: Vec<i64> = all.as_array().unwrap().iter().map(|c| c["start_wall_ms"].as_i64().unwrap()).collect();
    assert_eq!(starts.len(), 1001);
    assert!(starts.windows(2).all(|w| w[0] > w[1]), "not newest first without repeats");
    assert_eq!(starts[0], T0 + (n - 1) * 1000);
}

fn customer_count(f: &Fixture) -> usize {
    f.server
        .reader
        .search_customers(&CustomerQuery { text: String::new(), limit: 1000, offset: 0 })
        .expect("customers")
        .len()
}

#[test]
fn customer_import_reports_bad_rows_by_line() {
    let f = Fixture::start();
    let file = f.dir.path("customers.csv");
    let path = file.to_str().unwrap();
    std::fs::write(
        &file,
        "name,phone,company,fax\nZhang Wei,13800138000,ACME,\n,13900139000,Nobody Ltd,\nLi Na,13700137000,,010-1234\n",
    )
    .unwrap();

    let (code, out, err) = f.as_user("admin", &["customers", "import", path, "--dry-run"]);
    assert_eq!(code, 1, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        format!("{path}: 3 rows: 2 would be inserted, 0 would be updated, 1 refused (dry run: nothing written)")
    );
    assert!(lines[1].starts_with(&format!("{path}:3: name: ")), "{out}");
    assert_eq!(lines[2], "ignored columns: fax");
    assert_eq!(customer_count(&f), 0, "a dry run wrote");

    let (code, out, _) = f.as_user("admin", &["customers", "import", path]);
    assert_eq!(code, 1, "{out}");
    assert!(out.starts_with(&format!("{path}: 3 rows: 2 inserted, 0 updated, 1 refused\n{path}:3: name: ")), "{out}");
    assert_eq!(customer_count(&f), 2);

    // Importing again: duplicates refused, or updated with --update.
    let good = f.dir.path("good.csv");
    std::fs::write(&good, "name,phone\nZhang Wei,13800138000\n").unwrap();
    let good = good.to_str().unwrap();
    let (code, out, _) = f.as_user("admin", &["customers", "import", good]);
    assert_eq!(code, 1, "{out}");
    let (code, out, err) = f.as_user("super", &["customers", "import", good, "--update", "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(json(&out)["updated"], 1);
    assert_eq!(customer_count(&f), 2);

    // Agents may not import.
    let (code, _, err) = f.as_user("agent", &["customers", "import", good]);
    assert_eq!(code, 2);
    assert!(err.starts_with("ctibox: POST /customers/import: 403 Forbidden: "), "{err}");
    // A missing file is an error of ours.
    let (code, _, err) = f.as_user("admin", &["customers", "import", "/nonexistent.csv"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read /nonexistent.csv"), "{err}");
}

/// A running `ctibox monitor` whose stdout lines arrive on a channel.
struct Monitor {
    proc: Proc,
    lines: mpsc::Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl Monitor {
    fn start(f: &Fixture, env: &[(&str, &str)], args: &[&str]) -> Monitor {
        let mut cmd = command(env);
        cmd.arg("monitor").args(args).env("CTIBOX_API", &f.server.url);
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start ctibox monitor");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let (mut pipe, text) = (child.stderr.take().expect("stderr"), stderr.clone());
        std::thread::spawn(move || {
            let mut buf = String::new();
            let _ = pipe.read_to_string(&mut buf);
            text.lock().unwrap().push_str(&buf);
        });
        Monitor { proc: Proc { child, name: "ctibox monitor".into() }, lines, stderr }
    }

    /// The next line, within 10 s.
    fn line(&self) -> String {
        self.lines.recv_timeout(Duration::from_secs(10)).expect("a line from ctibox monitor")
    }

    /// Lines until one satisfies `want` (within 10 s).
    fn until(&self, want: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let left = Duration::from_secs(10).saturating_sub(start.elapsed());
            let line = self.lines.recv_timeout(left).expect("the line wanted from ctibox monitor");
            if want(&line) {
                return line;
            }
        }
    }

    /// Waits (10 s at most) for the monitor to end by itself: its exit
    /// code and stderr.
    fn exit(mut self) -> (i32, String) {
        let start = Instant::now();
        let code = loop {
            if let Some(status) = self.proc.child.try_wait().expect("try_wait") {
                break status.code().unwrap_or(-1);
            }
            assert!(start.elapsed() < Duration::from_secs(10), "ctibox monitor did not end");
            std::thread::sleep(Duration::from_millis(20));
        };
        // The stderr thread ends with the pipe.
        std::thread::sleep(Duration::from_millis(100));
        let err = self.stderr.lock().unwrap().clone();
        (code, err)
    }
}

#[test]
fn monitor_prints_the_snapshot_and_events() {
    let f = Fixture::start();
    let token = f.token("agent");

    let m = Monitor::start(&f, &[("CTIBOX_TOKEN", &token)], &["--json"]);
    let snap = json(&m.line());
    assert_eq!(snap["type"], "snapshot");
    assert_eq!(snap["calls"][0]["call"], 1);
    assert_eq!(snap["calls"][0]["caller_number"], "13800138000");
    // The snapshot is sent after the subscription: this event must arrive.
    f.server.core.dtmf(2, '5', Some(CallId(1)));
    let ev = json(&m.line());
    assert_eq!((ev["type"].as_str(), ev["digit"].as_str(), ev["call"].as_i64()), (Some("dtmf"), Some("5"), Some(1)));
    assert_eq!(ev["seq"].as_u64(), Some(snap["seq"].as_u64().unwrap() + 1));
    drop(m);

    // Human lines.
    let m = Monitor::start(&f, &[("CTIBOX_TOKEN", &token)], &[]);
    let head = m.line();
    assert!(head.starts_with("snapshot at ") && head.ends_with("4 channels, 2 in calls; 1 active call"), "{head}");
    assert!(m.line().contains("call 1 inbound ringing: 13800138000 -> 801"));
    f.server.core.caller_id(1, "13900139000", None);
    f.server.core.dtmf(2, '#', Some(CallId(1)));
    assert!(m.line().ends_with("ch 1 caller id: 13900139000"));
    assert!(m.line().ends_with("ch 2 dtmf # (call 1)"));
    drop(m);
}

#[test]
fn monitor_reconnects_and_logs_in_again_when_its_session_ends() {
    let f = Fixture::start();
    let m = Monitor::start(&f, &[("CTIBOX_PASSWORD", "admin-pw")], &["--json", "--user", "admin"]);
    assert_eq!(json(&m.line())["type"], "snapshot");
    // End the session: the daemon closes the stream (within a second); the
    // monitor is refused (401), logs in again and starts from a snapshot.
    let admin = f.server.reader.user_by_username("admin").unwrap().expect("admin").id;
    f.server.auth.end_sessions_of(admin);
    let again = json(&m.until(|l| l.contains("\"snapshot\"")));
    assert_eq!(again["calls"][0]["call"], 1);
    f.server.core.dtmf(1, '7', None);
    let ev = json(&m.until(|l| l.contains("\"dtmf\"")));
    assert_eq!(ev["digit"], "7");

    // With a token of its own that ends, it cannot log in again: exit 2,
    // naming the refusal.
    let token = f.token("super");
    let m = Monitor::start(&f, &[("CTIBOX_TOKEN", &token)], &["--json"]);
    assert_eq!(json(&m.line())["type"], "snapshot");
    assert!(f.server.auth.logout(&token));
    let (code, err) = m.exit();
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("the daemon closed the stream (the session ended: log in again); reconnecting"), "{err}");
    assert!(
        err.ends_with("ctibox: GET /events: 401 Unauthorized: the token is unknown or has expired: log in again\n"),
        "{err}"
    );
}

#[test]
fn monitor_catches_up_after_lagging() {
    // A backlog of 4 events: a burst of 300 overflows it while the stream
    // is busy sending, and the monitor must come back with a snapshot.
    let f = Fixture::start_with(TestServerOptions { event_backlog: 4, ..TestServerOptions::default() });
    let token = f.token("admin");
    let m = Monitor::start(&f, &[("CTIBOX_TOKEN", &token)], &["--json"]);
    assert_eq!(json(&m.line())["type"], "snapshot");
    for _ in 0..20 {
        for _ in 0..300 {
            f.server.core.dtmf(2, '1', None);
        }
        // Either it lagged (and then reconnects) or it kept up: look for
        // the lagged notice within what it printed.
        let start = Instant::now();
        let mut lagged = false;
        while let Ok(line) = m.lines.recv_timeout(Duration::from_millis(500)) {
            if line.contains("\"lagged\"") {
                lagged = true;
                break;
            }
            if start.elapsed() > Duration::from_secs(5) {
                break;
            }
        }
        if lagged {
            let snap = json(&m.until(|l| l.contains("\"snapshot\"")));
            assert_eq!(snap["calls"][0]["call"], 1);
            return;
        }
    }
    panic!("the event stream never lagged with a backlog of 4");
}

#[test]
fn config_check() {
    let d = Scratch::new("cli-config");
    let good = d.path("ctibox.toml");
    std::fs::write(&good, ctibox_daemon::config::demo::DEMO_CONFIG).unwrap();
    ctibox_daemon::config::demo::install_ivr(&d.path("ivr")).unwrap();
    let good = good.to_str().unwrap();
    let (code, out, err) = offline(&["config", "check", good]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("ok: 4 trunk lines in 1 trunk group, 4 extensions, 2 ring groups, 5 dial-plan routes, 5 users"),
        "{out}"
    );
    assert!(out.trim_end().ends_with("; 1 IVR flow"), "{out}");

    // Against boards: the demo's layout fits 4 FXO + 4 FXS, not 2 + 2.
    let (code, out, err) = offline(&["config", "check", good, "--board", "builtin:fxo=4,fxs=4,pace=fast"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("channels match board"), "{out}");
    let (code, _, err) = offline(&["config", "check", good, "--board", "builtin:fxo=2,fxs=2,pace=fast"]);
    assert_eq!(code, 1);
    let line = ctibox_daemon::config::demo::DEMO_CONFIG.lines().position(|l| l.starts_with("channel = 7")).unwrap() + 1;
    assert!(err.contains(&format!("{good}:{line}:")), "{err}");

    // A broken file: every error with file:line:col, in file order, exit
    // code 1, nothing on stdout.
    let bad = d.path("bad.toml");
    let text = ctibox_daemon::config::demo::DEMO_CONFIG
        .replace("channel = 7", "channel = 5")
        .replace("members = [\"801\", \"802\"]", "members = [\"801\", \"809\"]")
        .replace("to = \"group:600\"", "to = \"group:699\"");
    std::fs::write(&bad, &text).unwrap();
    let bad = bad.to_str().unwrap();
    let (code, out, err) = offline(&["config", "check", bad]);
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with(bad) && !l.contains(": warning: ")).collect();
    assert_eq!(errors.len(), 3, "{err}");
    // (The replacements keep every line where it was.)
    let demo_line =
        |needle: &str| ctibox_daemon::config::demo::DEMO_CONFIG.lines().position(|l| l.contains(needle)).unwrap() + 1;
    assert!(
        errors[0].starts_with(&format!("{bad}:{}:11: channel 5 is already used", demo_line("channel = 7"))),
        "{err}"
    );
    assert!(errors[1].starts_with(&format!("{bad}:{}:", line_of("\"809\""))) && errors[1].contains("809"), "{err}");
    assert!(errors[2].starts_with(&format!("{bad}:{}:", line_of("group:699"))) && errors[2].contains("699"), "{err}");
    assert_eq!(err.lines().last(), Some("3 errors in the configuration"), "{err}");
    // A value of the wrong type.
    std::fs::write(
        d.path("type.toml"),
        ctibox_daemon::config::demo::DEMO_CONFIG.replace("answer_after_rings = 2", "answer_after_rings = \"two\""),
    )
    .unwrap();
    let ty = d.path("type.toml");
    let (code, _, err) = offline(&["config", "check", ty.to_str().unwrap()]);
    assert_eq!(code, 1);
    let line =
        ctibox_daemon::config::demo::DEMO_CONFIG.lines().position(|l| l.starts_with("answer_after_rings")).unwrap() + 1;
    assert!(err.starts_with(&format!("{}:{line}:22: ", ty.display())), "{err}");

    let (code, _, err) = offline(&["config", "check", "/nonexistent/ctibox.toml"]);
    assert_eq!(code, 1);
    assert!(err.starts_with("/nonexistent/ctibox.toml: cannot read"), "{err}");
}

#[test]
fn completions_and_man_pages() {
    let (code, out, _) = offline(&["completions", "bash"]);
    assert_eq!(code, 0);
    assert!(out.contains("_ctibox()") && out.contains("originate") && out.contains("--password-file"), "{out}");
    let (code, out, _) = offline(&["completions", "zsh"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("#compdef ctibox"), "{out}");
    let (code, out, _) = offline(&["completions", "fish"]);
    assert_eq!(code, 0);
    assert!(out.contains("complete -c ctibox"), "{out}");

    let (code, out, _) = offline(&["man"]);
    assert_eq!(code, 0);
    assert!(out.contains("\n.TH ctibox 1 "), "{out}");
    assert!(out.contains(".SH NAME") && out.contains("cdr"), "{out}");

    let d = Scratch::new("cli-man");
    let dir = d.path("man1");
    let (code, _, err) = offline(&["man", "--dir", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    for page in
        ["ctibox.1", "ctibox-cdr.1", "ctibox-customers-import.1", "ctibox-config-check.1", "ctibox-board-status.1"]
    {
        let text = std::fs::read_to_string(dir.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".TH "), "{page}: {text}");
    }
}
