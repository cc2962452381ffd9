//! `ctibox campaign …` and `ctibox dnc …` run as a user would, against a
//! real API server (`TestServer`: the daemon's HTTP API over the fake call
//! core, whose campaign `spring` runs without numbers, and a temporary
//! database): the tables and JSON, an import's report with each bad line
//! and its exit code, pause and resume, the do-not-call list, and refusals
//! with their exit code.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use ctibox_daemon::api::testing::{TEST_USERS, TestServer, TestServerOptions};
use ctibox_daemon::records::{AttemptWrite, CallResult, CampaignNumberId, JournalOp, NumberState, Stamp};
use serde_json::{Value, json};

struct Fixture {
    server: TestServer,
    dir: PathBuf,
}

impl Fixture {
    /// A server with no call at start, its database under the target's
    /// temporary directory.
    fn start(name: &str) -> Fixture {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("campaign_cli").join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        let options = TestServerOptions { ringing_call: false, ..TestServerOptions::default() };
        Fixture { server: TestServer::start_with(&dir, options).expect("test server"), dir }
    }

    /// Writes `text` into the scratch directory: its path.
    fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.join(name);
        std::fs::write(&path, text).expect("write a scratch file");
        path.display().to_string()
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

    /// It must exit with `code`: its stdout.
    fn exits(&self, code: i32, user: &str, args: &[&str]) -> String {
        let (got, out, err) = self.run(user, args);
        assert_eq!(got, code, "ctibox {args:?} as {user}:\nstdout: {out}\nstderr: {err}");
        out
    }

    /// It must succeed: its stdout.
    fn ok(&self, user: &str, args: &[&str]) -> String {
        self.exits(0, user, args)
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

fn header(table: &str) -> Vec<&str> {
    table.lines().next().unwrap_or("").split_whitespace().collect()
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
fn an_import_prints_each_bad_line_and_exits_with_1() {
    let f = Fixture::start("import");
    let file = f.file("numbers.csv", CSV);

    let out = f.exits(1, "super", &["campaign", "import", "spring", &file, "--dry-run"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        format!(
            "{file}: 6 rows: 3 would be added to campaign spring, 0 would be on the do-not-call list, 3 refused \
             (dry run: nothing written)"
        ),
        "{out}"
    );
    assert!(lines[1].starts_with(&format!("{file}:4: phone: ")) && lines[1].contains("'x'"), "{out}");
    assert!(lines[2].starts_with(&format!("{file}:5: phone: ")) && lines[2].contains("line 2"), "{out}");
    assert!(lines[3].starts_with(&format!("{file}:6: 1 fields")), "{out}");
    assert_eq!(lines[4], "ignored columns: name", "{out}");
    assert_eq!(lines.len(), 5, "{out}");
    assert_eq!(f.ok("agent", &["campaign", "numbers", "spring"]), "campaign spring: no numbers\n");
    assert_eq!(f.server.core.campaign_reads("spring"), Some(0));

    let out = f.exits(1, "super", &["campaign", "import", "spring", &file]);
    assert!(
        out.starts_with(&format!(
            "{file}: 6 rows: 3 added to campaign spring, 0 on the do-not-call list (stored as done, dnc), 3 refused\n"
        )),
        "{out}"
    );
    assert_eq!(f.server.core.campaign_reads("spring"), Some(1), "the core was told");
    let more = f.file("more.csv", "tel\n13700137000\n");
    let out = f.ok("admin", &["campaign", "import", "spring", &more]);
    assert_eq!(
        out,
        format!(
            "{more}: 1 rows: 1 added to campaign spring, 0 on the do-not-call list (stored as done, dnc), 0 refused\n"
        )
    );
    let report = json(&f.exits(1, "super", &["campaign", "import", "spring", &more, "--json"]));
    assert_eq!((&report["added"], &report["problems"][0]["line"]), (&Value::from(0), &Value::from(2)), "{report}");

    let err = f.fails("agent", &["campaign", "import", "spring", &file]);
    assert!(err.starts_with("ctibox: POST /campaigns/spring/numbers: 403 Forbidden"), "{err}");
    let err = f.fails("super", &["campaign", "import", "autumn", &file]);
    assert!(err.contains("404") && err.contains("autumn"), "{err}");
    let bad = f.file("bad.csv", "name,company\nA,B\n");
    let err = f.fails("super", &["campaign", "import", "spring", &bad]);
    assert!(err.contains("400") && err.contains("no number column") && err.contains("(field: body)"), "{err}");
    let err = f.fails("super", &["campaign", "import", "spring", "/nonexistent/numbers.csv"]);
    assert!(err.contains("cannot read /nonexistent/numbers.csv"), "{err}");
}

/// Writes the engine's change of a number, as the core journals it, and
/// waits for it to be committed.
fn write_done(f: &Fixture, number: i64, result: CallResult) {
    let records = &f.server.records;
    let stamp = Stamp { board_ms: 1000, wall_ms: 1_700_000_000_000 };
    let seq = records
        .submit(JournalOp::CampaignNumber {
            number: CampaignNumberId(number),
            state: NumberState::Done,
            attempts: 1,
            next_at_wall_ms: None,
            result: Some(result),
            attempt: Some(AttemptWrite {
                call: None,
                result,
                detail: String::new(),
                started: stamp,
                ended: Some(Stamp { board_ms: 31_000, wall_ms: 1_700_000_030_000 }),
            }),
            at: stamp,
        })
        .expect("journal submit");
    records.wait_committed(seq, Duration::from_secs(5)).expect("committed");
}

#[test]
fn campaigns_and_their_numbers_as_tables_and_json() {
    let f = Fixture::start("tables");
    let table = f.ok("agent", &["campaign", "list"]);
    assert_eq!(
        header(&table),
        [
            "CAMPAIGN", "STATE", "QUEUE", "TRUNK", "NUMBERS", "PENDING", "RETRY", "DONE", "ATTEMPTS", "OUT", "READY",
            "LINES"
        ],
        "{table}"
    );
    assert_eq!(row(&table, "spring"), ["spring", "empty", "sales", "pstn", "0", "0", "0", "0", "0", "0", "0", "1"]);
    let list = json(&f.ok("agent", &["campaign", "list", "--json"]));
    assert_eq!(list[0]["name"], "spring", "{list}");

    let file = f.file("numbers.csv", "number\n13800138000\n13900139000\n13700137000\n");
    f.ok("super", &["campaign", "import", "spring", &file]);
    let numbers = json(&f.ok("agent", &["campaign", "numbers", "spring", "--json"]));
    let ids: Vec<i64> = numbers.as_array().unwrap().iter().map(|n| n["id"].as_i64().unwrap()).collect();
    assert_eq!(ids.len(), 3, "{numbers}");
    write_done(&f, ids[1], CallResult::Busy);

    let out = f.ok("agent", &["campaign", "show", "spring"]);
    let lines: Vec<&str> = out.lines().collect();
    // The fake core reads no numbers: its campaign stays empty.
    assert_eq!(lines[0], "campaign spring: empty", "{out}");
    let field = |name: &str| -> String {
        let line = lines.iter().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("no {name} in:\n{out}"));
        line[name.len()..].trim().to_string()
    };
    assert_eq!(field("numbers"), "3 (2 pending, 0 dialing, 0 retry wait, 1 done)", "{out}");
    assert_eq!(field("results"), "busy 1", "{out}");
    assert_eq!(field("attempts"), "1 (busy 1)", "{out}");
    assert_eq!(field("free lines"), "1", "{out}");
    let show = json(&f.ok("agent", &["campaign", "show", "spring", "--json"]));
    assert_eq!(show["records"]["done"], 1, "{show}");

    let table = f.ok("agent", &["campaign", "numbers", "spring"]);
    assert_eq!(
        header(&table),
        ["ID", "NUMBER", "STATE", "ATTEMPTS", "TRIES", "NEXT", "(UTC)", "RESULT", "CUSTOMER", "DNC"],
        "{table}"
    );
    assert_eq!(table.lines().count(), 4, "{table}");
    assert_eq!(row(&table, &ids[1].to_string())[1..], ["13900139000", "done", "1", "busy", "1", "busy"], "{table}");
    assert_eq!(row(&table, &ids[0].to_string())[1..], ["13800138000", "pending", "0", "-"], "{table}");
    let done = f.ok("agent", &["campaign", "numbers", "spring", "--state", "done", "--result", "busy"]);
    assert_eq!(done.lines().count(), 2, "{done}");
    let none = f.ok("agent", &["campaign", "numbers", "spring", "--result", "answered"]);
    assert_eq!(none, "campaign spring: no numbers match\n");

    // clap refuses what the API would; the API's refusals name the field.
    let (code, _, err) = f.run("agent", &["campaign", "numbers", "spring", "--state", "ringing"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("ringing") && err.contains("retry_wait"), "{err}");
    let err = f.fails("agent", &["campaign", "numbers", "spring", "--state", "pending", "--result", "busy"]);
    assert!(err.contains("400") && err.contains("(field: result)"), "{err}");
    let err = f.fails("agent", &["campaign", "show", "autumn"]);
    assert!(err.starts_with("ctibox: GET /campaigns/autumn: 404 Not Found"), "{err}");
}

#[test]
fn supervisors_pause_and_resume_a_campaign() {
    let f = Fixture::start("pause");
    let out = f.ok("super", &["campaign", "pause", "spring"]);
    assert!(out.starts_with("campaign spring: paused by super at ") && out.ends_with(" UTC\n"), "{out}");
    assert_eq!(row(&f.ok("agent", &["campaign", "list"]), "spring")[1], "paused");
    let out = f.ok("admin", &["campaign", "resume", "spring"]);
    assert!(out.starts_with("campaign spring: empty (resumed by admin at "), "{out}");
    let err = f.fails("agent", &["campaign", "pause", "spring"]);
    assert!(err.starts_with("ctibox: POST /campaigns/spring/pause: 403 Forbidden"), "{err}");
    let err = f.fails("super", &["campaign", "resume", "autumn"]);
    assert!(err.contains("404"), "{err}");
}

#[test]
fn the_do_not_call_list_from_the_command_line() {
    let f = Fixture::start("dnc");
    assert_eq!(f.ok("agent", &["dnc", "list"]), "the do-not-call list is empty\n");

    let out = f.ok("super", &["dnc", "add", "+86 137 0013 7000", "--reason", "asked us"]);
    assert!(
        out.starts_with("+86 137 0013 7000: on the do-not-call list as +86 137 0013 7000 (asked us), added "),
        "{out}"
    );
    // Matched in national form; exit 1 for a number that is not listed.
    let out = f.ok("agent", &["dnc", "check", "137 0013 7000"]);
    assert!(out.starts_with("137 0013 7000: on the do-not-call list as +86 137 0013 7000 (asked us)"), "{out}");
    let out = f.exits(1, "agent", &["dnc", "check", "13800138000"]);
    assert_eq!(out, "13800138000: not on the do-not-call list\n");
    let check = json(&f.exits(1, "agent", &["dnc", "check", "13800138000", "--json"]));
    assert_eq!(check["listed"], false, "{check}");

    let table = f.ok("agent", &["dnc", "list"]);
    assert_eq!(header(&table), ["NUMBER", "DIGITS", "ADDED", "(UTC)", "REASON"], "{table}");
    let line = table.lines().nth(1).unwrap();
    assert!(line.starts_with("+86 137 0013 7000  +8613700137000  ") && line.ends_with("  asked us"), "{table}");
    let list = json(&f.ok("agent", &["dnc", "list", "--json"]));
    assert_eq!((&list["total"], list["entries"].as_array().map(Vec::len)), (&json!(1), Some(1)), "{list}");
    // Pages: one entry from the second on is none of one.
    assert_eq!(f.ok("agent", &["dnc", "list", "--offset", "1"]), "no entries from 1 on: the list has 1\n");
    let page = json(&f.ok("agent", &["dnc", "list", "--limit", "1", "--json"]));
    assert_eq!(page["entries"][0]["digits"], "+8613700137000", "{page}");
    let err = f.fails("agent", &["dnc", "list", "--limit", "0"]);
    assert!(err.contains("400") && err.contains("(field: limit)"), "{err}");

    // A listed number imported into a campaign is done as `dnc`.
    let file = f.file("numbers.csv", "number\n13700137000\n13900139000\n");
    let out = f.ok("super", &["campaign", "import", "spring", &file]);
    assert!(out.contains("1 added to campaign spring, 1 on the do-not-call list"), "{out}");

    let err = f.fails("agent", &["dnc", "add", "13800138000"]);
    assert!(err.starts_with("ctibox: POST /dnc: 403 Forbidden"), "{err}");
    let err = f.fails("super", &["dnc", "add", "12ab"]);
    assert!(err.contains("400") && err.contains("(field: number)"), "{err}");
    let err = f.fails("agent", &["dnc", "remove", "13700137000"]);
    assert!(err.contains("403"), "{err}");

    let out = f.ok("admin", &["dnc", "remove", "137-0013-7000"]);
    assert!(out.starts_with("removed from the do-not-call list: +86 137 0013 7000 (asked us), added "), "{out}");
    assert_eq!(out.lines().count(), 1, "{out}");
    f.exits(1, "agent", &["dnc", "check", "+8613700137000"]);
    let err = f.fails("admin", &["dnc", "remove", "13700137000"]);
    assert!(err.starts_with("ctibox: DELETE /dnc/13700137000: 404 Not Found"), "{err}");
}
