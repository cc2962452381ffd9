//! The daemon's call control end to end: `ctibox-sim run` plays a scripted
//! world (callers on CO lines, phones on extensions, called parties) as a
//! separate process in fast mode; the daemon, started in this process with
//! a temporary database, is its driver. Afterwards the scenario's verdicts
//! and the call journal are checked.

use std::path::Path;
use std::time::Duration as WallDuration;

use ctibox_daemon::config::Config;
use ctibox_daemon::daemon::{Daemon, DaemonOptions};
use ctibox_daemon::records::{CallFilter, CallPageRequest, CallRecord, RecordsReader};
use ctibox_e2e::{Proc, Scratch, wait_for_socket};

/// A daemon config for 4 CO lines (1-4) and 4 phones (801-804 on 5-8).
fn config(dir: &Path, extra: &str) -> String {
    format!(
        r#"
[system]
country = "CN"
data_dir = "{dir}"

[board]
backend = "sim"

[[trunk]]
name = "pstn"
channels = "1-4"
number = "88880000"
disconnect = ["loop_drop"]
inbound = "group:600"

[[extension]]
number = "801"
name = "Alice Agent"
channel = 5

[[extension]]
number = "802"
name = "Bob Agent"
channel = 6

[[extension]]
number = "803"
channel = 7

[[extension]]
number = "804"
channel = 8

[[ring_group]]
number = "600"
members = ["801", "802"]
ring_time = "30s"

[dial_plan]
digit_map = ["8XX", "600", "9.", "0"]
interdigit_timeout = "3s"

[[dial_plan.route]]
pattern = "8XX"
to = "ext"

[[dial_plan.route]]
pattern = "9."
to = "trunk:pstn"
strip = 1
{extra}
"#,
        dir = dir.display()
    )
}

/// What a run produced.
struct Run {
    code: i32,
    out: String,
    reader: RecordsReader,
    _dir: Scratch,
}

impl Run {
    fn calls(&self) -> Vec<CallRecord> {
        let page = self
            .reader
            .calls(&CallFilter::default(), &CallPageRequest { limit: 100, ..CallPageRequest::default() })
            .expect("journal query");
        let mut calls = page.calls;
        calls.sort_by_key(|c| c.id);
        calls
    }
}

/// Run `scenario` against a daemon with `config_extra` added to the base
/// config.
fn run(tag: &str, scenario: &str, config_extra: &str) -> Run {
    // `RUST_LOG=ctibox_daemon=debug` shows what the daemon did.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let dir = Scratch::new(tag);
    let scen = dir.path("scenario.toml");
    std::fs::write(&scen, scenario.replace("{dir}", &dir.0.display().to_string())).unwrap();
    let sock = dir.path("sim.sock");
    let sim = Proc::start("ctibox-sim", &["run", scen.to_str().unwrap(), "--fast", "--socket", sock.to_str().unwrap()]);
    wait_for_socket(&sock, WallDuration::from_secs(10));
    let cfg = Config::parse("test.toml", &config(&dir.0, config_extra)).expect("test config");
    let db = dir.path("ctibox.db");
    let mut daemon = Daemon::start(DaemonOptions {
        config: cfg,
        board: Some(format!("sim:{}", sock.display())),
        database: Some(db.clone()),
    })
    .expect("daemon starts");
    let (code, out, err) = sim.wait(WallDuration::from_secs(120));
    let _ = daemon.wait_engine();
    daemon.shutdown();
    let reader = RecordsReader::open(&db).expect("journal");
    Run { code, out: format!("{out}{err}"), reader, _dir: dir }
}

const INBOUND: &str = r#"
[board]
fxo = 4
fxs = 4
country = "CN"
max_time = "2m"

[[line]]
port = 1
number = "88880000"
disconnect = ["loop_drop"]
loop_drop = "600ms"
caller_id = "fsk"

[[caller]]
name = "alice"
from = "13800138000"
line = 1
record = "{dir}/alice.wav"
audio = { pattern = 7 }
steps = [
  { at = "0s", do = "call" },
  { wait_for = "answered", timeout = "40s", desc = "the call center answers" },
  { expect = "audio", within = "2s", desc = "alice hears the agent" },
  { after = "5s", do = "hangup" },
  { expect = "ended", within = "2s" },
]

[[phone]]
port = 5
number = "801"
auto_answer = 2
record = "{dir}/agent.wav"
audio = { pattern = 11 }
steps = [
  { wait_for = "ringing", timeout = "30s", desc = "the sales group rings 801" },
  { expect = "caller_id", number = "13800138000", within = "8s", desc = "801 shows the caller's number" },
  { expect = "answered", within = "15s" },
  { expect = "audio", within = "2s", desc = "the agent hears alice" },
  { expect = "busy", within = "20s", desc = "alice left: busy tone" },
  { after = "1s", do = "hangup" },
]

[[phone]]
port = 6
number = "802"
steps = [
  { wait_for = "ringing", timeout = "30s", desc = "the sales group rings 802 too" },
  { expect = "on_hook", within = "1s" },
]
"#;

#[test]
fn outside_caller_reaches_the_sales_group_and_the_journal_has_it() {
    let r = run("inbound", INBOUND, "");
    assert_eq!(r.code, 0, "every expectation passed:\n{}", r.out);
    let calls = r.calls();
    assert_eq!(calls.len(), 1, "{calls:#?}");
    let c = &calls[0];
    assert_eq!(c.direction.as_str(), "inbound");
    assert_eq!(c.caller_number, "13800138000", "caller ID captured");
    assert_eq!(c.called_number, "88880000");
    assert_eq!(c.cause.as_ref().map(|c| c.as_str()), Some("far_end_disconnect"), "{c:#?}");
    let answered = c.answer_board_ms.expect("answered");
    let ended = c.end_board_ms.expect("ended");
    // The line rings at 0.14 s; caller ID is whole after the first ring
    // (~2 s), when 801 starts ringing; it answers as its second ring ends
    // (CN: 1 s on, 4 s off), ~8 s.
    assert!((7500..9000).contains(&answered), "answered at {answered} ms");
    assert!((ended - answered - 5000).abs() < 1500, "talked about 5 s: {answered}..{ended}");
    let roles: Vec<(&str, Option<u32>, bool)> =
        c.legs.iter().map(|l| (l.role.as_str(), l.channel, l.answer_board_ms.is_some())).collect();
    assert!(roles.contains(&("caller", Some(1), true)), "{roles:?}");
    assert!(roles.contains(&("callee", Some(5), true)), "{roles:?}");
    assert!(roles.contains(&("callee", Some(6), false)), "802 rang but did not answer: {roles:?}");
}
