//! The IVR end to end: the demo flow (`ctibox_daemon::config::demo`) on a
//! daemon driving a scripted simulator (`ctibox-sim run --fast`), a caller
//! navigating it by DTMF.
//!
//! What the caller heard is recorded by the simulator bit-exactly (the
//! G.711 codes the daemon sent), so every prompt is checked sample by
//! sample: the expected audio is built from the same prompt set and
//! `say` rules, through the same A-law coding, and must appear in the
//! recording whole.

#[path = "daemon_flows_harness.rs"]
mod harness;

use std::path::Path;

use ctibox_daemon::config::demo::install_ivr;
use ctibox_daemon::ivr::flow::{Lang, SayAs, SayOptions};
use ctibox_daemon::ivr::interp::Spoken;
use ctibox_daemon::ivr::prompts::{PromptIndex, Prompts};
use ctibox_daemon::ivr::say::say;
use ctibox_daemon::records::CallRecord;
use ctibox_driver::dsp::g711;
use ctibox_driver::hal::Law;
use ctibox_e2e::Scratch;
use harness::run;

/// One CO line with caller ID; the caller's hang-up is a loop drop.
const BOARD: &str = r#"
[board]
fxo = 4
fxs = 4
law = "alaw"
country = "CN"
max_time = "4m"

[[line]]
port = 1
number = "88880000"
disconnect = ["loop_drop"]
loop_drop = "600ms"
caller_id = "fsk"
"#;

/// The board, and alice calling line 1 at 1 s with `source` (a scenario
/// line: `record = …` or `audio = …`) until the IVR answers; then her
/// `steps`; then `more` (other actors).
fn alice(source: &str, steps: &str, more: &str) -> String {
    format!(
        "{BOARD}\n[[caller]]\nname = \"alice\"\nfrom = \"13800138000\"\nline = 1\n{source}\nsteps = [\n  \
         {{ at = \"1s\", do = \"call\" }},\n  {{ wait_for = \"answered\", timeout = \"30s\", desc = \"the IVR answers\" }},\n\
         {steps}\n]\n{more}"
    )
}

/// What to expect in a recording: prompts and spoken values in a row (one
/// `Play` of the flow).
enum Part<'a> {
    Prompt(&'a str),
    Say(SayAs, &'a str),
}

struct Expect {
    prompts: Prompts,
}

impl Expect {
    fn new(ivr_dir: &Path) -> Expect {
        let index = PromptIndex::scan(ivr_dir).expect("prompt index");
        Expect { prompts: Prompts::load(&index).expect("prompts load") }
    }

    /// The audio of parts played as one buffer, as the caller hears it
    /// after A-law coding.
    fn audio(&self, parts: &[Part<'_>]) -> Vec<i16> {
        let items: Vec<Spoken> = parts
            .iter()
            .map(|p| match p {
                Part::Prompt(n) => Spoken::Prompt { lang: Lang::Zh, name: n.to_string() },
                Part::Say(kind, value) => {
                    // The words must exist: `say` itself is checked by its
                    // unit tables.
                    say(Lang::Zh, *kind, value, &SayOptions::default()).expect("say");
                    Spoken::Say {
                        lang: Lang::Zh,
                        kind: *kind,
                        value: value.to_string(),
                        options: SayOptions::default(),
                    }
                }
            })
            .collect();
        let (audio, missing) = self.prompts.render(&items);
        assert!(missing.is_empty(), "{missing:?}");
        audio.iter().map(|&s| g711::decode(Law::ALaw, g711::encode(Law::ALaw, s))).collect()
    }
}

/// Where `needle` appears whole in `hay` (sample for sample), from `from`.
fn find(hay: &[i16], needle: &[i16], from: usize) -> Option<usize> {
    assert!(needle.len() > 400, "a prompt of {} samples is too short to find", needle.len());
    // Skip the leading near-silence of a prompt for the anchor.
    let key = needle.iter().position(|s| s.unsigned_abs() > 300).unwrap_or(0);
    let anchor = &needle[key..key + 160];
    let mut i = from + key;
    while i + anchor.len() <= hay.len() {
        if &hay[i..i + anchor.len()] == anchor {
            let start = i - key;
            if hay.get(start..start + needle.len()) == Some(needle) {
                return Some(start);
            }
        }
        i += 1;
    }
    None
}

/// Check that every expected buffer appears in the recording, in order.
fn assert_heard_in_order(heard: &[i16], expected: &[(&str, Vec<i16>)]) -> Vec<usize> {
    let mut at = 0;
    let mut starts = Vec::new();
    for (what, audio) in expected {
        match find(heard, audio, at) {
            Some(s) => {
                starts.push(s);
                at = s + audio.len();
            }
            None => panic!(
                "the caller did not hear `{what}` ({} samples) whole after sample {at} of {}",
                audio.len(),
                heard.len()
            ),
        }
    }
    starts
}

fn read_recording(path: &Path) -> Vec<i16> {
    let w = ctibox_driver::media::wav::read_file(path).expect("caller's recording");
    w.mono_i16()
}

fn ivr_events<'a>(call: &'a CallRecord, kind: &str) -> Vec<&'a serde_json::Value> {
    call.events.iter().filter(|e| e.kind == kind).map(|e| &e.detail).collect()
}

/// A demo IVR directory in its own scratch dir, and the config lines that
/// point the daemon at it.
fn demo_ivr(tag: &str) -> (Scratch, String) {
    let d = Scratch::new(tag);
    let dir = d.path("ivr");
    install_ivr(&dir).expect("demo ivr");
    // The demo's support queue is ring group 601.
    let extra =
        format!("\n[[ring_group]]\nnumber = \"601\"\nmembers = [\"803\"]\n\n[ivr]\ndir = \"{}\"\n", dir.display());
    (d, extra)
}

#[test]
fn order_status_is_spoken_with_the_right_number_and_date() {
    let (ivr, extra) = demo_ivr("ivr-order");
    let scenario = alice(
        r#"record = "{dir}/alice.wav""#,
        r#"
  { wait_for = "silence", for = "1500ms", timeout = "60s", desc = "greeting and menu played" },
  { do = "dtmf", digits = "3" },
  { wait_for = "silence", for = "1500ms", timeout = "30s", desc = "asked for the order number" },
  { do = "dtmf", digits = "10001#" },
  { wait_for = "silence", for = "3s", timeout = "90s", desc = "status, date and the menu again" },
  { do = "hangup" },
"#,
        "",
    );
    let r = run("ivr-order-run", &scenario, "ivr:main", &extra);
    r.assert_passed();
    let e = Expect::new(&ivr.path("ivr"));
    let heard = read_recording(&r._dir.path("alice.wav"));
    assert_heard_in_order(
        &heard,
        &[
            ("greeting", e.audio(&[Part::Prompt("demo/welcome")])),
            ("main menu", e.audio(&[Part::Prompt("demo/main-menu")])),
            ("enter order", e.audio(&[Part::Prompt("demo/enter-order")])),
            (
                "order 10001 has been shipped",
                e.audio(&[
                    Part::Prompt("demo/order"),
                    Part::Say(SayAs::Digits, "10001"),
                    Part::Prompt("demo/status-shipped"),
                ]),
            ),
            (
                "delivery 2026-11-25",
                e.audio(&[Part::Prompt("demo/delivery-date"), Part::Say(SayAs::Date, "2026-11-25")]),
            ),
            ("main menu again", e.audio(&[Part::Prompt("demo/main-menu")])),
        ],
    );
    let call = r.only_call();
    let digits: Vec<String> =
        ivr_events(&call, "ivr.digits").iter().map(|d| d["digits"].as_str().unwrap_or("").to_string()).collect();
    assert_eq!(digits, ["10001"], "digits in the journal: {:#?}", call.events);
    let nodes: Vec<&str> = ivr_events(&call, "ivr.node").iter().filter_map(|d| d["node"].as_str()).collect();
    assert_eq!(
        nodes,
        ["greeting", "menu", "order_number", "find_order", "say_order", "has_delivery", "say_delivery", "menu"],
        "every node visited is in the journal"
    );
    let results: Vec<&str> = ivr_events(&call, "ivr.result").iter().filter_map(|d| d["result"].as_str()).collect();
    assert!(results.contains(&"choice 3"), "the menu choice is in the journal: {results:?}");
    assert!(results.contains(&"found"), "the lookup result is in the journal: {results:?}");
    // The caller left in the menu: the journal says where.
    let left: Vec<&serde_json::Value> = ivr_events(&call, "ivr.leave");
    assert_eq!(left.len(), 1, "{:#?}", call.events);
    assert_eq!(left[0]["node"], "menu");
}

#[test]
fn an_unknown_order_and_invalid_keys_follow_the_retry_paths() {
    let (ivr, extra) = demo_ivr("ivr-invalid");
    let scenario = alice(
        r#"record = "{dir}/alice.wav""#,
        r#"
  { wait_for = "silence", for = "1500ms", timeout = "60s", desc = "greeting and menu played" },
  { do = "dtmf", digits = "7" },
  { wait_for = "silence", for = "1500ms", timeout = "60s", desc = "invalid choice, menu again" },
  { do = "dtmf", digits = "3" },
  { wait_for = "silence", for = "1500ms", timeout = "30s" },
  { do = "dtmf", digits = "99999#" },
  { wait_for = "silence", for = "1500ms", timeout = "60s", desc = "no such order, menu again" },
  { do = "hangup" },
"#,
        "",
    );
    let r = run("ivr-invalid-run", &scenario, "ivr:main", &extra);
    r.assert_passed();
    let e = Expect::new(&ivr.path("ivr"));
    let heard = read_recording(&r._dir.path("alice.wav"));
    assert_heard_in_order(
        &heard,
        &[
            ("main menu", e.audio(&[Part::Prompt("demo/main-menu")])),
            ("invalid choice", e.audio(&[Part::Prompt("invalid-choice")])),
            ("main menu again", e.audio(&[Part::Prompt("demo/main-menu")])),
            ("enter order", e.audio(&[Part::Prompt("demo/enter-order")])),
            ("no such order", e.audio(&[Part::Prompt("demo/no-such-order")])),
            ("main menu a third time", e.audio(&[Part::Prompt("demo/main-menu")])),
        ],
    );
    let call = r.only_call();
    let results: Vec<&str> = ivr_events(&call, "ivr.result").iter().filter_map(|d| d["result"].as_str()).collect();
    assert!(results.contains(&"invalid 7"), "{results:?}");
    assert!(results.contains(&"not_found"), "{results:?}");
}

#[test]
fn no_input_retries_then_the_operator_takes_the_call_with_its_data() {
    let (_ivr, extra) = demo_ivr("ivr-noinput");
    let scenario = alice(
        r#"audio = { pattern = 7 }"#,
        r#"
  { expect = "audio", pattern = 13, within = "120s", desc = "after three tries without a key the operator answers" },
  { after = "2s", do = "hangup" },
"#,
        r#"
[[phone]]
port = 8
number = "804"
auto_answer = 1
audio = { pattern = 13 }
steps = [
  { wait_for = "ringing", timeout = "120s", desc = "the operator is rung" },
  { expect = "audio", pattern = 7, within = "10s", desc = "the operator hears the caller" },
]
"#,
    );
    let r = run("ivr-noinput-run", &scenario, "ivr:main", &extra);
    r.assert_passed();
    let call = r.only_call();
    let results: Vec<&str> = ivr_events(&call, "ivr.result").iter().filter_map(|d| d["result"].as_str()).collect();
    assert_eq!(results.iter().filter(|r| **r == "no_input").count(), 3, "three tries without input: {results:?}");
    let nodes: Vec<&str> = ivr_events(&call, "ivr.node").iter().filter_map(|d| d["node"].as_str()).collect();
    assert!(nodes.ends_with(&["operator", "operator_transfer"]), "{nodes:?}");
    assert!(call.legs.iter().any(|l| l.extension.as_deref() == Some("804") && l.answer_wall_ms.is_some()));
}

#[test]
fn barge_in_stops_the_greeting_within_a_tick_of_the_key() {
    let (ivr, extra) = demo_ivr("ivr-barge");
    let scenario = alice(
        r#"record = "{dir}/alice.wav""#,
        r#"
  { wait_for = "audio", timeout = "5s", desc = "the greeting starts" },
  { after = "500ms", do = "dtmf", digits = "3" },
  { wait_for = "silence", for = "1500ms", timeout = "30s", desc = "asked for the order number" },
  { do = "hangup" },
"#,
        "",
    );
    let r = run("ivr-barge-run", &scenario, "ivr:main", &extra);
    r.assert_passed();
    let e = Expect::new(&ivr.path("ivr"));
    let heard = read_recording(&r._dir.path("alice.wav"));
    let greeting = e.audio(&[Part::Prompt("demo/welcome")]);
    let enter = e.audio(&[Part::Prompt("demo/enter-order")]);
    // The greeting is cut: it never plays whole, and the order prompt
    // follows it.
    assert_eq!(find(&heard, &greeting, 0), None, "the greeting was not cut by the key");
    let order_at = find(&heard, &enter, 0).expect("the order prompt follows the key");
    // Where the greeting stopped: the last sample that still matches its
    // start in the recording.
    let key = greeting.iter().position(|s| s.unsigned_abs() > 300).unwrap_or(0);
    let anchor = &greeting[key..key + 160];
    let start = (0..heard.len() - 160).find(|&i| &heard[i..i + 160] == anchor).expect("greeting start") - key;
    let played = (0..greeting.len()).take_while(|&i| heard.get(start + i) == Some(&greeting[i])).count();
    // The key went at 500 ms after the greeting was first heard; the
    // detector needs ~40 ms of it; the prompt must stop within one tick
    // (160 samples) after that, with a tick of slack for where the
    // detector's decision falls in its tick.
    let limit = 4000 + 40 * 8 + 2 * 160 + 160;
    assert!(played <= limit, "the greeting went on {} ms after the start, limit {} ms", played / 8, limit / 8);
    assert!(played >= 3600, "the greeting stopped before the key: {} ms", played / 8);
    assert!(
        order_at >= start + played,
        "order prompt after the cut: greeting at {start}, {played} samples played, order prompt at {order_at}"
    );
}

#[test]
fn a_voicemail_is_stored_with_what_the_caller_said() {
    let (_ivr, extra) = demo_ivr("ivr-vm");
    // The caller's message: the digits 1 2 3 (the recording must hold
    // them), then silence until the flow ends the message.
    let scenario = alice(
        r#"audio = { sequence = [ { silence = "60s" } ] }"#,
        r#"
  { after = "1s", do = "dtmf", digits = "8" },
  { wait_for = "silence", for = "700ms", timeout = "60s", desc = "the message prompt and the beep" },
  { do = "dtmf", digits = "123" },
  { wait_for = "ended", timeout = "60s", desc = "the flow thanks and hangs up after 5 s of silence" },
"#,
        "",
    );
    let r = run("ivr-vm-run", &scenario, "ivr:main", &extra);
    r.assert_passed();
    let call = r.only_call();
    let rows = voicemail_rows(&r.reader);
    assert_eq!(rows.len(), 1, "one voicemail: {rows:?}");
    let (mailbox, caller, path, ms) = &rows[0];
    assert_eq!(mailbox, "general");
    assert_eq!(caller, "13800138000");
    let wav = ctibox_driver::media::wav::read_file(path).expect("voicemail file");
    assert_eq!(wav.sample_rate_hz(), 8000);
    let audio = wav.mono_i16();
    assert_eq!(audio.len() as i64 / 8, *ms, "duration in SQLite matches the file");
    // The caller's DTMF digits 1 2 3 are in the message.
    use ctibox_driver::dsp::dtmf::{DtmfDetector, DtmfEvent, DtmfRxDescriptor};
    let mut rx = DtmfDetector::new(DtmfRxDescriptor::shared_default());
    let mut events = Vec::new();
    rx.rx(&audio, &mut events);
    let digits: String = events
        .iter()
        .filter_map(|e| match e {
            DtmfEvent::Begin { digit, .. } => Some(digit.as_char()),
            _ => None,
        })
        .collect();
    assert_eq!(digits, "123", "the message holds what the caller sent");
    let results: Vec<&str> = ivr_events(&call, "ivr.result").iter().filter_map(|d| d["result"].as_str()).collect();
    assert!(results.iter().any(|r| r.starts_with("recorded")), "{results:?}");
}

/// (mailbox, caller, path, duration_ms) of every voicemail row.
fn voicemail_rows(reader: &ctibox_daemon::records::RecordsReader) -> Vec<(String, String, String, i64)> {
    let conn = rusqlite::Connection::open(reader.path()).expect("db");
    let mut st = conn.prepare("SELECT mailbox, caller_number, path, duration_ms FROM voicemail ORDER BY id").unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).unwrap().map(Result::unwrap).collect()
}

#[test]
fn a_reload_keeps_calls_on_the_flow_they_started_on() {
    let d = Scratch::new("ivr-reload");
    let dir = d.path("ivr");
    std::fs::create_dir_all(&dir).unwrap();
    let flow = |end: &str| {
        format!(
            "start = \"menu\"\nlanguage = \"en\"\n\n[nodes.menu]\ntype = \"menu\"\nprompt = [\"welcome\"]\n\
             choices = {{ \"1\" = \"{end}\" }}\ntimeout = \"8s\"\nfallback = \"{end}\"\n\n\
             [nodes.{end}]\ntype = \"hangup\"\nprompts = [\"goodbye\"]\n"
        )
    };
    std::fs::write(dir.join("main.toml"), flow("old_end")).unwrap();
    let extra = format!("\n[ivr]\ndir = \"{}\"\n", dir.display());
    let scenario = format!(
        r#"{BOARD}
[[line]]
port = 2
number = "88880001"
disconnect = ["loop_drop"]

[[caller]]
name = "alice"
from = "13800138000"
line = 1
steps = [
  {{ at = "1s", do = "call" }},
  {{ wait_for = "answered", timeout = "30s" }},
  {{ at = "14s", do = "dtmf", digits = "1" }},
  {{ wait_for = "ended", timeout = "20s", desc = "alice's flow hangs up" }},
]

[[caller]]
name = "bob"
from = "13900139000"
line = 2
steps = [
  {{ at = "15s", do = "call" }},
  {{ wait_for = "answered", timeout = "30s" }},
  {{ after = "2s", do = "dtmf", digits = "1" }},
  {{ wait_for = "ended", timeout = "20s", desc = "bob's flow hangs up" }},
]
"#
    );
    let r = harness::run_with("ivr-reload-run", &scenario, "ivr:main", &extra, |live| {
        live.at(10_000, |daemon| {
            std::fs::write(dir.join("main.toml"), flow("new_end")).unwrap();
            daemon.reload((*daemon.config).clone()).expect("the new flow loads");
        });
    });
    r.assert_passed();
    let calls = r.calls();
    assert_eq!(calls.len(), 2);
    let nodes = |c: &CallRecord| -> Vec<String> {
        ivr_events(c, "ivr.node").iter().filter_map(|d| d["node"].as_str().map(String::from)).collect()
    };
    assert_eq!(nodes(&calls[0]), ["menu", "old_end"], "alice finishes on the flow she started on");
    assert_eq!(nodes(&calls[1]), ["menu", "new_end"], "bob gets the reloaded flow");
}

#[test]
fn a_queue_nobody_answers_goes_on_at_its_failure_branch() {
    let (ivr, extra) = demo_ivr("ivr-queue");
    let scenario = alice(
        r#"record = "{dir}/alice.wav""#,
        r#"
  { after = "1s", do = "dtmf", digits = "2" },
  { wait_for = "ringback", timeout = "20s", desc = "support (803) is rung" },
  { wait_for = "ended", timeout = "90s", desc = "nobody answers in 30 s: all busy, an empty message, goodbye" },
"#,
        r#"
[[phone]]
port = 7
number = "803"
steps = [ { wait_for = "ringing", timeout = "30s", desc = "803 rings and does not answer" } ]
"#,
    );
    let r = run("ivr-queue-run", &scenario, "ivr:main", &extra);
    r.assert_passed();
    let e = Expect::new(&ivr.path("ivr"));
    let heard = read_recording(&r._dir.path("alice.wav"));
    assert_heard_in_order(
        &heard,
        &[
            ("connecting to support", e.audio(&[Part::Prompt("demo/to-support")])),
            ("all busy", e.audio(&[Part::Prompt("all-busy")])),
            ("leave a message", e.audio(&[Part::Prompt("leave-message")])),
            ("saved, goodbye", e.audio(&[Part::Prompt("message-saved"), Part::Prompt("goodbye")])),
        ],
    );
    let call = r.only_call();
    let results: Vec<&str> = ivr_events(&call, "ivr.result").iter().filter_map(|d| d["result"].as_str()).collect();
    assert!(results.contains(&"queued 601"), "{results:?}");
    assert!(results.iter().any(|r| r.starts_with("failed")), "{results:?}");
    let nodes: Vec<&str> = ivr_events(&call, "ivr.node").iter().filter_map(|d| d["node"].as_str()).collect();
    assert!(nodes.ends_with(&["support", "support_queue", "all_busy", "message", "saved"]), "{nodes:?}");
}
