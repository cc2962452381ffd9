//! `kill -9` of `ctiboxd` during 20 live calls, then a restart on the same
//! database: no completed call is lost, the calls that were in flight are
//! closed as interrupted, and the database passes `PRAGMA integrity_check`.
//!
//! The world is `ctibox-sim run` in real time (25 callers on 25 CO lines,
//! 25 phones that answer after one ring); the daemon is the real binary,
//! watched through its API.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ctibox_e2e::{Proc, Scratch, bin, wait_for_socket};
use serde_json::Value;

const LINES: u32 = 25;
/// Callers that hang up 2 s after the answer; the others stay on.
const QUICK: u32 = 5;

fn config(dir: &Path) -> String {
    let mut c = format!(
        r#"
[system]
name = "crash test"
country = "CN"
data_dir = "{dir}"

[board]
backend = "sim"

[[user]]
name = "admin"
role = "admin"
password = "crash-test"
"#,
        dir = dir.display()
    );
    for i in 1..=LINES {
        c.push_str(&format!(
            r#"
[[trunk]]
name = "line{i}"
channels = "{i}"
number = "{number}"
caller_id = "auto"
disconnect = ["loop_drop"]
inbound = "ext:{ext}"

[[extension]]
number = "{ext}"
channel = {ch}
"#,
            number = 88880000 + i,
            ext = 800 + i,
            ch = LINES + i
        ));
    }
    c
}

fn scenario() -> String {
    let mut s = format!("[board]\nfxo = {LINES}\nfxs = {LINES}\ncountry = \"CN\"\nmax_time = \"5m\"\n");
    for i in 1..=LINES {
        let stay = if i <= QUICK { "2s" } else { "240s" };
        s.push_str(&format!(
            r#"
[[line]]
port = {i}
number = "{number}"
disconnect = ["loop_drop"]
loop_drop = "600ms"
caller_id = "fsk"

[[caller]]
name = "caller{i}"
from = "1380013{i:04}"
line = {i}
audio = {{ pattern = {i} }}
steps = [
  {{ at = "{at}ms", do = "call" }},
  {{ wait_for = "answered", timeout = "60s" }},
  {{ after = "{stay}", do = "hangup" }},
]

[[phone]]
port = {port}
number = "{ext}"
auto_answer = 1
audio = {{ pattern = {p} }}
steps = []
"#,
            number = 88880000 + i,
            at = i * 40,
            port = LINES + i,
            ext = 800 + i,
            p = 100 + i,
        ));
    }
    s
}

/// A running `ctiboxd` and its API address.
struct Daemon {
    proc: Proc,
    api: String,
}

fn start_daemon(cfg: &Path, db: &Path, board: &str) -> Daemon {
    let child = Command::new(bin("ctiboxd"))
        .args(["--config", cfg.to_str().unwrap(), "--db", db.to_str().unwrap()])
        .args(["--board", board, "--listen", "127.0.0.1:0", "--sim-control", "none"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start ctiboxd");
    let mut proc = Proc { child, name: "ctiboxd".into() };
    let out = proc.child.stdout.take().expect("stdout");
    let mut api = None;
    for line in BufReader::new(out).lines() {
        let line = line.expect("ctiboxd stdout");
        if let Some(rest) = line.trim_start().strip_prefix("API:") {
            api = rest.split_whitespace().next().map(|u| u.trim_end_matches("/api/v1").to_string());
            break;
        }
    }
    let api = api.expect("ctiboxd printed its API address");
    Daemon { proc, api }
}

impl Daemon {
    fn login(&self) -> String {
        let r: Value = ureq::post(&format!("{}/api/v1/login", self.api))
            .send_json(serde_json::json!({"username": "admin", "password": "crash-test"}))
            .expect("login")
            .into_json()
            .expect("login JSON");
        r["token"].as_str().expect("token").to_string()
    }

    fn get(&self, token: &str, path: &str) -> Value {
        ureq::get(&format!("{}/api/v1{path}", self.api))
            .set("Authorization", &format!("Bearer {token}"))
            .call()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
            .into_json()
            .expect("JSON")
    }

    /// Every call in the journal, oldest first.
    fn cdr(&self, token: &str) -> Vec<Value> {
        let v = self.get(token, "/cdr?order=oldest&limit=500");
        v["calls"].as_array().cloned().unwrap_or_default()
    }
}

#[test]
fn kill_9_during_20_live_calls_loses_nothing_completed() {
    let dir = Scratch::new("crash");
    let cfg = dir.path("ctibox.toml");
    std::fs::write(&cfg, config(&dir.0)).unwrap();
    let scen = dir.path("scenario.toml");
    std::fs::write(&scen, scenario()).unwrap();
    let sock = dir.path("sim.sock");
    let db = dir.path("ctibox.db");
    let _sim =
        Proc::start("ctibox-sim", &["run", scen.to_str().unwrap(), "--realtime", "--socket", sock.to_str().unwrap()]);
    wait_for_socket(&sock, Duration::from_secs(10));
    let mut daemon = start_daemon(&cfg, &db, &format!("sim:{}", sock.display()));
    let token = daemon.login();

    // Wait until the quick calls are over and the others are talking.
    let start = Instant::now();
    let (live, done) = loop {
        assert!(start.elapsed() < Duration::from_secs(60), "the calls did not come up in time");
        let calls = daemon.get(&token, "/calls");
        let calls = calls.as_array().cloned().unwrap_or_default();
        let live: Vec<u64> = calls.iter().filter(|c| c["status"] == "up").filter_map(|c| c["call"].as_u64()).collect();
        let done: Vec<Value> = daemon.cdr(&token).into_iter().filter(|c| !c["end_board_ms"].is_null()).collect();
        if live.len() == (LINES - QUICK) as usize && done.len() == QUICK as usize {
            break (live, done);
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    for c in &done {
        assert_eq!(c["cause"], "far_end_disconnect", "{c}");
    }

    daemon.proc.child.kill().expect("kill -9");
    let _ = daemon.proc.child.wait();

    // Restart on the same database (the simulator has lost its driver; a
    // built-in board of the same layout will do).
    let board = format!("builtin:fxo={LINES},fxs={LINES},pace=realtime");
    let daemon = start_daemon(&cfg, &db, &board);
    let token = daemon.login();
    let calls = daemon.cdr(&token);
    assert_eq!(calls.len(), LINES as usize, "every call is in the journal: {calls:#?}");
    for before in &done {
        let after = calls.iter().find(|c| c["id"] == before["id"]).expect("a completed call survives");
        assert_eq!(after, before, "a completed call is kept exactly");
    }
    for id in &live {
        let c = calls.iter().find(|c| c["id"].as_u64() == Some(*id)).expect("a live call is in the journal");
        assert_eq!(c["cause"], "interrupted", "{c}");
        assert!(!c["end_board_ms"].is_null() || !c["end_wall_ms"].is_null(), "an interrupted call is closed: {c}");
        assert!(!c["answer_board_ms"].is_null(), "its answer was kept: {c}");
        assert_eq!(c["legs"].as_array().map(Vec::len), Some(2), "{c}");
    }
    drop(daemon);

    let conn = rusqlite::Connection::open(&db).expect("open the database");
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).expect("integrity_check");
    assert_eq!(check, "ok");
}
