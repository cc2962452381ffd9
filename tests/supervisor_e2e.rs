//! Supervisor actions on an agent's queue call, checked by what each party
//! hears: the caller speaks pattern 7, the agent (801) pattern 11, the
//! supervisor (803) pattern 13, and each side's expectations say whose
//! voice it must hear and whose it must not, window by window:
//!
//! | board time | mode    | supervisor hears | agent hears sup. | caller hears sup. |
//! |------------|---------|------------------|------------------|-------------------|
//! | 10–15 s    | listen  | caller and agent | no               | no                |
//! | 17–22 s    | whisper | caller           | yes              | no                |
//! | 24–29 s    | barge   | caller           | yes              | yes               |
//! | 30 s       | force release: every phone and the line are released |
//!
//! A second run takes over the call: the agent's leg goes, the caller and
//! the supervisor talk on.

#[path = "daemon_flows_harness.rs"]
mod harness;

use ctibox_daemon::core::{CoreRequest, MonitorMode};
use harness::{Run, ask, cause, config, run_config};

const BOARD: &str = r#"
[board]
fxo = 4
fxs = 4
country = "CN"
max_time = "1m"

[[line]]
port = 1
number = "88880000"
disconnect = ["loop_drop"]
loop_drop = "600ms"
caller_id = "fsk"
"#;

/// Queue `q` with agent 1001 at 801.
const ACD: &str = r#"
[[queue]]
name = "q"
strategy = "linear"
members = ["1001"]

[[agent]]
id = "1001"
name = "Alice Agent"
extension = "801"
"#;

/// "Not heard for the whole window": quiet for 4.9 s within 5 s of the
/// step's start (a voice heard after the first 0.1 s fails it).
fn never(at_s: u32, pattern: u32, desc: &str) -> String {
    format!(
        "{{ at = \"{at_s}s\", expect = \"silence\", pattern = {pattern}, for = \"4.9s\", within = \"5s\", desc = \"{desc}\" }},"
    )
}

fn hears(at_s: u32, pattern: u32, desc: &str) -> String {
    format!("{{ at = \"{at_s}s\", expect = \"audio\", pattern = {pattern}, within = \"3s\", desc = \"{desc}\" }},")
}

/// Run the scenario, making the requests at (or just after: the test
/// sees board time by polling) their board times; also returns when each
/// was made.
fn run(tag: &str, scenario: &str, acts: &[(u64, CoreRequest)]) -> (Run, Vec<u64>) {
    let done = std::sync::Mutex::new(Vec::new());
    // The agent's and the supervisor's phones get an open-loop disconnect
    // when released (their `hang_up_on_release` acts on it).
    let make = |dir: &std::path::Path| {
        config(dir, "queue:q", ACD)
            .replace("channel = 5\n", "channel = 5\nrelease_loop_open = \"600ms\"\n")
            .replace("channel = 7\n", "channel = 7\nrelease_loop_open = \"600ms\"\n")
    };
    let run = run_config(tag, scenario, &make, |live| {
        live.at(0, |d| {
            ask(d, CoreRequest::AgentLogin { agent: "1001".into(), extension: None, queues: None });
        });
        for (ms, req) in acts {
            let at = live.at(*ms, |d| {
                ask(d, req.clone());
            });
            done.lock().unwrap_or_else(|p| p.into_inner()).push(at);
        }
    });
    (run, done.into_inner().unwrap_or_else(|p| p.into_inner()))
}

fn monitor(mode: MonitorMode) -> CoreRequest {
    CoreRequest::Monitor { supervisor: "803".into(), agent: "1001".into(), mode }
}

#[test]
fn listen_whisper_barge_and_force_release_reach_the_right_ears() {
    let caller = [
        hears(6, 11, "the caller talks with the agent"),
        never(10, 13, "listen: the caller does not hear the supervisor"),
        never(17, 13, "whisper: the caller does not hear the supervisor"),
        hears(24, 13, "barge: the caller hears the supervisor"),
        "{ expect = \"ended\", within = \"35s\", desc = \"force release ends the call\" },".into(),
    ]
    .join("\n  ");
    let agent = [
        "{ wait_for = \"answered\", timeout = \"20s\" },".to_string(),
        hears(6, 7, "the agent hears the caller"),
        never(10, 13, "listen: the agent does not hear the supervisor"),
        hears(17, 13, "whisper: the agent hears the supervisor"),
        hears(24, 13, "barge: the agent hears the supervisor"),
        "{ expect = \"on_hook\", within = \"35s\", desc = \"released\" },".into(),
    ]
    .join("\n  ");
    let supervisor = [
        "{ wait_for = \"ringing\", timeout = \"20s\", desc = \"the supervisor's phone rings for listen\" },"
            .to_string(),
        hears(10, 7, "listen: the supervisor hears the caller"),
        hears(10, 11, "listen: the supervisor hears the agent"),
        hears(17, 7, "whisper: the supervisor hears the caller"),
        hears(24, 7, "barge: the supervisor hears the caller"),
        "{ expect = \"on_hook\", within = \"35s\", desc = \"released\" },".into(),
    ]
    .join("\n  ");
    let scenario = format!(
        r#"{BOARD}
[[caller]]
name = "alice"
from = "13800138000"
line = 1
audio = {{ pattern = 7 }}
steps = [
  {{ at = "1s", do = "call" }},
  {{ wait_for = "answered", timeout = "20s", desc = "the queue answers" }},
  {caller}
]

[[phone]]
port = 5
number = "801"
auto_answer = 1
hang_up_on_release = "500ms"
audio = {{ pattern = 11 }}
steps = [
  {agent}
]

[[phone]]
port = 7
number = "803"
auto_answer = 1
hang_up_on_release = "500ms"
audio = {{ pattern = 13 }}
steps = [
  {supervisor}
]
"#
    );
    let (r, acted) = run(
        "sup-modes",
        &scenario,
        &[
            (8000, monitor(MonitorMode::Listen)),
            (16_000, monitor(MonitorMode::Whisper)),
            (23_000, monitor(MonitorMode::Barge)),
            (30_000, CoreRequest::ForceRelease { agent: "1001".into(), by: "boss".into() }),
        ],
    );
    r.assert_passed();
    let c = r.only_call();
    assert_eq!(cause(&c), Some("force_released"), "{c:#?}");
    assert_eq!(c.cause_detail, "released by supervisor boss");
    let ended = c.end_board_ms.expect("ended");
    let released = acted[3] as i64;
    assert!((released..released + 200).contains(&ended), "released at {released} ms, ended at {ended} ms");
    let kinds: Vec<(&str, String)> = c
        .events
        .iter()
        .filter(|e| e.kind.starts_with("monitor") || e.kind == "force_release")
        .map(|e| (e.kind.as_str(), e.detail["mode"].as_str().or(e.detail["by"].as_str()).unwrap_or("").to_string()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("monitor", "listen".to_string()),
            ("monitor_mode", "whisper".into()),
            ("monitor_mode", "barge".into()),
            ("force_release", "boss".into())
        ],
        "{:#?}",
        c.events
    );
    let roles: Vec<(&str, Option<u32>)> = c.legs.iter().map(|l| (l.role.as_str(), l.channel)).collect();
    assert_eq!(roles, vec![("caller", Some(1)), ("agent", Some(5)), ("monitor", Some(7))], "{roles:?}");
}

#[test]
fn take_over_releases_the_agent_and_the_supervisor_talks_on() {
    let scenario = format!(
        r#"{BOARD}
[[caller]]
name = "alice"
from = "13800138000"
line = 1
audio = {{ pattern = 7 }}
steps = [
  {{ at = "1s", do = "call" }},
  {{ wait_for = "answered", timeout = "20s" }},
  {never}
  {hears}
  {{ at = "20s", do = "hangup" }},
]

[[phone]]
port = 5
number = "801"
auto_answer = 1
hang_up_on_release = "500ms"
audio = {{ pattern = 11 }}
steps = [
  {{ wait_for = "answered", timeout = "20s" }},
  {{ expect = "on_hook", within = "15s", desc = "the agent is released when the supervisor takes over" }},
]

[[phone]]
port = 7
number = "803"
auto_answer = 1
hang_up_on_release = "500ms"
audio = {{ pattern = 13 }}
steps = [
  {{ wait_for = "ringing", timeout = "20s" }},
  {{ at = "12s", expect = "audio", pattern = 7, within = "3s", desc = "the supervisor talks with the caller" }},
  {{ at = "14s", expect = "silence", pattern = 11, for = "4s", within = "4.1s", desc = "the agent is gone" }},
  {{ expect = "on_hook", within = "5s" }},
]
"#,
        never = never(4, 13, "before the take-over the caller does not hear the supervisor")
            .replace("4.9s", "3.9s")
            .replace("\"5s\"", "\"4s\""),
        hears = hears(12, 13, "after it the caller hears the supervisor"),
    );
    let (r, _) = run("sup-takeover", &scenario, &[(8000, monitor(MonitorMode::TakeOver))]);
    r.assert_passed();
    let c = r.only_call();
    assert_eq!(cause(&c), Some("far_end_disconnect"), "the caller hung up at 20 s: {c:#?}");
    assert!(c.events.iter().any(|e| e.kind == "take_over" && e.detail["by"] == "803"), "{:#?}", c.events);
    let agent = c.legs.iter().find(|l| l.role.as_str() == "agent").expect("agent leg");
    let sup = c.legs.iter().find(|l| l.role.as_str() == "monitor").expect("supervisor leg");
    let (agent_end, sup_end) = (agent.end_board_ms.expect("agent released"), sup.end_board_ms.expect("sup ended"));
    assert!(agent_end < 11_000, "the agent's leg ended at the take-over, not at {agent_end} ms");
    assert!(sup_end >= 20_000, "the supervisor stayed to the end: {sup_end} ms");
}
