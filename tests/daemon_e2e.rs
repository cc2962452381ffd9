//! The daemon's call control end to end: `ctibox-sim run` plays a scripted
//! world (callers on CO lines, phones on extensions, called parties) as a
//! separate process in fast mode; the daemon, started in this process with
//! a temporary database, is its driver. Afterwards the scenario's verdicts
//! and the call journal are checked.
//!
//! Basic calls: inbound to a ring group and to an extension, extension to
//! extension, extension out through a trunk (answered, busy, no answer).
//! Far ends speak distinct seeded patterns and each must hear the other's
//! (`expect = "audio", pattern = N`), not just any audio. Transfers,
//! conferences and hold are in `daemon_flows_features.rs`.

#[path = "daemon_flows_harness.rs"]
mod harness;

use harness::{cause, legs, run};

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
  { at = "1s", do = "call" },
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
    let r = run("inbound", INBOUND, "group:600", "");
    r.assert_passed();
    let calls = r.calls();
    assert_eq!(calls.len(), 1, "{calls:#?}");
    let c = &calls[0];
    assert_eq!(c.direction.as_str(), "inbound");
    assert_eq!(c.caller_number, "13800138000", "caller ID captured");
    assert_eq!(c.called_number, "88880000");
    assert_eq!(c.cause.as_ref().map(|c| c.as_str()), Some("far_end_disconnect"), "{c:#?}");
    let answered = c.answer_board_ms.expect("answered");
    let ended = c.end_board_ms.expect("ended");
    // The line rings at 1 s; caller ID is whole after the first ring
    // (~3 s), when 801 starts ringing; it answers as its second ring ends
    // (CN: 1 s on, 4 s off), ~9 s.
    assert!((8500..10_000).contains(&answered), "answered at {answered} ms");
    assert!((ended - answered - 5000).abs() < 1500, "talked about 5 s: {answered}..{ended}");
    let roles: Vec<(&str, Option<u32>, bool)> =
        c.legs.iter().map(|l| (l.role.as_str(), l.channel, l.answer_board_ms.is_some())).collect();
    assert!(roles.contains(&("caller", Some(1), true)), "{roles:?}");
    assert!(roles.contains(&("callee", Some(5), true)), "{roles:?}");
    assert!(roles.contains(&("callee", Some(6), false)), "802 rang but did not answer: {roles:?}");
}

/// The board of every scenario here: CN, 4 CO lines, 4 phones; line 1
/// sends FSK caller ID, signals the far end's hang-up by a loop drop and
/// an outbound call's answer by a polarity reversal (answer supervision:
/// the parties here speak white patterns, which voice detection rightly
/// takes for line noise).
const BOARD: &str = r#"
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
answer_supervision = true
"#;

/// Alice (pattern 7) calls line 1; the trunk's inbound route is 801
/// (pattern 11), which answers after two rings.
const TO_801: &str = r#"
[[phone]]
port = 5
number = "801"
auto_answer = 2
audio = { pattern = 11 }
"#;

#[test]
fn outside_caller_reaches_an_extension_and_hangs_up_first() {
    let scenario = format!(
        r#"{BOARD}
[[caller]]
name = "alice"
from = "13800138000"
line = 1
audio = {{ pattern = 7 }}
steps = [
  {{ at = "1s", do = "call" }},
  {{ wait_for = "answered", timeout = "40s", desc = "801 answers" }},
  {{ expect = "audio", pattern = 11, within = "2s", desc = "alice hears 801's voice" }},
  {{ after = "5s", do = "hangup" }},
  {{ expect = "ended", within = "1s" }},
]
{TO_801}steps = [
  {{ wait_for = "ringing", timeout = "30s", desc = "the trunk's inbound route rings 801" }},
  {{ expect = "caller_id", number = "13800138000", within = "8s", desc = "801 shows alice's number" }},
  {{ expect = "answered", within = "15s" }},
  {{ expect = "audio", pattern = 7, within = "2s", desc = "801 hears alice's voice" }},
  {{ expect = "busy", within = "8s", desc = "alice left: 801 hears the release tone" }},
  {{ expect = "silence", pattern = 7, for = "1s", within = "2s", desc = "and no more of alice" }},
  {{ after = "1s", do = "hangup" }},
]
"#
    );
    let r = run("inbound-ext-caller-hangs-up", &scenario, "ext:801", "");
    r.assert_passed();
    let c = r.only_call();
    assert_eq!(c.direction.as_str(), "inbound");
    assert_eq!(c.caller_number, "13800138000", "caller ID captured");
    assert_eq!(c.called_number, "88880000");
    assert_eq!(cause(&c), Some("far_end_disconnect"), "{c:#?}");
    assert!(c.cause_detail.contains("loop current"), "{c:#?}");
    // Line 1 rings at 1 s; caller ID is whole after its first ring, when
    // 801 starts ringing; 801 answers as its second ring ends (CN: 1 s on,
    // 4 s off): ~9 s. Alice hangs up 5 s after she hears 801; the loop
    // drop (600 ms) is the disconnect signal.
    let answered = c.answer_board_ms.expect("answered");
    let ended = c.end_board_ms.expect("ended");
    assert!((8500..10_000).contains(&answered), "answered at {answered} ms");
    assert!((5000..6500).contains(&(ended - answered)), "talked about 5 s: {answered}..{ended}");
    assert_eq!(legs(&c), vec![("caller", Some(1), true), ("callee", Some(5), true)], "{c:#?}");
    let l801 = &c.legs[1];
    assert_eq!(l801.extension.as_deref(), Some("801"));
    assert_eq!(l801.party_name, "Alice Agent");
    assert_eq!(l801.answer_board_ms, Some(answered));
    assert_eq!(c.legs[0].cause.as_ref().map(|c| c.as_str()), Some("far_end_disconnect"));
    assert!(c.legs.iter().all(|l| l.end_board_ms == Some(ended)), "every leg ends with the call: {c:#?}");
    assert!(
        c.events.iter().any(|e| e.kind == "caller_id" && e.detail["number"] == "13800138000"),
        "caller ID event: {:#?}",
        c.events
    );
}

#[test]
fn outside_caller_reaches_an_extension_and_the_agent_hangs_up_first() {
    let scenario = format!(
        r#"{BOARD}
[[caller]]
name = "alice"
from = "13800138000"
line = 1
audio = {{ pattern = 7 }}
steps = [
  {{ at = "1s", do = "call" }},
  {{ wait_for = "answered", timeout = "40s", desc = "801 answers" }},
  {{ expect = "audio", pattern = 11, within = "2s", desc = "alice hears 801's voice" }},
  {{ expect = "ended", within = "6s", desc = "801 hung up: the line is released" }},
]
{TO_801}steps = [
  {{ wait_for = "ringing", timeout = "30s" }},
  {{ expect = "caller_id", number = "13800138000", within = "8s", desc = "801 shows alice's number" }},
  {{ expect = "answered", within = "15s" }},
  {{ expect = "audio", pattern = 7, within = "2s", desc = "801 hears alice's voice" }},
  {{ after = "4s", do = "hangup" }},
]
"#
    );
    let r = run("inbound-ext-agent-hangs-up", &scenario, "ext:801", "");
    r.assert_passed();
    let c = r.only_call();
    assert_eq!(c.direction.as_str(), "inbound");
    assert_eq!(c.caller_number, "13800138000");
    assert_eq!(cause(&c), Some("normal"), "{c:#?}");
    assert_eq!(c.cause_detail, "801 hung up");
    let answered = c.answer_board_ms.expect("answered");
    let ended = c.end_board_ms.expect("ended");
    assert!((8500..10_000).contains(&answered), "answered at {answered} ms");
    // 801 hangs up 4 s after it hears alice; an on-hook is a hang-up once
    // it outlasts a flash (1.25 s).
    assert!((5000..6000).contains(&(ended - answered)), "801 hung up ~4 s after the answer: {answered}..{ended}");
    assert_eq!(legs(&c), vec![("caller", Some(1), true), ("callee", Some(5), true)], "{c:#?}");
    assert!(c.legs.iter().all(|l| l.end_board_ms == Some(ended)), "{c:#?}");
}

#[test]
fn extension_calls_extension_which_shows_its_caller_id() {
    let scenario = format!(
        r#"{BOARD}
[[phone]]
port = 5
number = "801"
audio = {{ sequence = [ {{ silence = "2s" }}, {{ pattern = 11 }} ] }}
steps = [
  {{ at = "1s", do = "offhook" }},
  {{ expect = "dial_tone", within = "2s" }},
  {{ after = "300ms", do = "dial", digits = "802" }},
  {{ expect = "ringback", within = "8s", desc = "801 hears 802 ringing" }},
  {{ expect = "audio", pattern = 13, within = "12s", desc = "802 answered: 801 hears its voice" }},
  {{ after = "4s", do = "hangup" }},
]

[[phone]]
port = 6
number = "802"
auto_answer = 2
audio = {{ pattern = 13 }}
steps = [
  {{ wait_for = "ringing", timeout = "10s" }},
  {{ expect = "caller_id", number = "801", within = "8s", desc = "802 shows 801 as the caller" }},
  {{ expect = "answered", within = "10s" }},
  {{ expect = "audio", pattern = 11, within = "2s", desc = "802 hears 801's voice" }},
  {{ expect = "busy", within = "8s", desc = "801 hung up: 802 hears the release tone" }},
  {{ after = "1s", do = "hangup" }},
]
"#
    );
    let r = run("internal", &scenario, "group:600", "");
    r.assert_passed();
    let c = r.only_call();
    assert_eq!(c.direction.as_str(), "internal");
    assert_eq!(c.caller_number, "801");
    assert_eq!(c.caller_name, "Alice Agent");
    assert_eq!(c.called_number, "802");
    assert_eq!(cause(&c), Some("normal"), "{c:#?}");
    assert_eq!(c.cause_detail, "801 hung up");
    assert_eq!(legs(&c), vec![("caller", Some(5), true), ("callee", Some(6), true)], "{c:#?}");
    let answered = c.answer_board_ms.expect("answered");
    assert_eq!(c.legs[1].answer_board_ms, Some(answered), "the call is answered when 802 answers");
    assert!((c.legs[1].start_board_ms..c.legs[1].start_board_ms + 7000).contains(&answered), "{c:#?}");
}

/// 801 lifts at 1 s and dials 9 + `number`; it speaks pattern 11 once it
/// has dialled.
fn dial_out(number: &str, then: &str) -> String {
    format!(
        r#"
[[phone]]
port = 5
number = "801"
audio = {{ sequence = [ {{ silence = "4s" }}, {{ pattern = 11 }} ] }}
steps = [
  {{ at = "1s", do = "offhook" }},
  {{ expect = "dial_tone", within = "2s" }},
  {{ after = "300ms", do = "dial", digits = "9{number}" }},
  {then}
]
"#
    )
}

#[test]
fn extension_dials_out_and_the_party_answers() {
    let scenario = format!(
        r#"{BOARD}
[[party]]
name = "bob"
number = "12345678"
behaviour = "answer"
answer_after = "12s"
audio = {{ pattern = 17 }}
steps = [
  {{ wait_for = "answered", timeout = "40s" }},
  {{ expect = "audio", pattern = 11, within = "3s", desc = "bob hears 801's voice" }},
  {{ expect = "ended", within = "10s", desc = "801 hung up: the line is released" }},
]
{}"#,
        dial_out(
            "12345678",
            r#"{ expect = "ringback", within = "10s", desc = "the exchange's ringback reaches 801" },
  { expect = "audio", pattern = 17, within = "12s", desc = "bob answered: 801 hears his voice" },
  { after = "5s", do = "hangup" },"#
        )
    );
    let r = run("outbound-answered", &scenario, "group:600", "");
    r.assert_passed();
    let c = r.only_call();
    assert_eq!(c.direction.as_str(), "outbound");
    assert_eq!(c.caller_number, "801");
    assert_eq!(c.called_number, "912345678", "the number 801 dialled");
    assert_eq!(cause(&c), Some("normal"), "{c:#?}");
    assert_eq!(c.cause_detail, "801 hung up");
    assert_eq!(legs(&c), vec![("caller", Some(5), true), ("callee", Some(1), true)], "line 1 hunted: {c:#?}");
    assert_eq!(c.legs[1].party_number, "12345678", "the route strips the 9 for the line");
    let progress: Vec<&str> =
        c.events.iter().filter(|e| e.kind == "progress").filter_map(|e| e.detail["result"].as_str()).collect();
    assert_eq!(progress.first(), Some(&"ringback"), "{:#?}", c.events);
    assert!(progress.last().is_some_and(|p| p.starts_with("answered")), "{progress:?}");
    let answered = c.answer_board_ms.expect("answered");
    let ended = c.end_board_ms.expect("ended");
    assert!((ended - answered - 5000).abs() < 2500, "talked about 5 s: {answered}..{ended}");
}

#[test]
fn extension_dials_out_and_the_party_is_busy() {
    let scenario = format!(
        r#"{BOARD}
[[party]]
name = "carol"
number = "22223333"
behaviour = "busy"
{}"#,
        dial_out(
            "22223333",
            r#"{ expect = "busy", within = "10s", desc = "801 hears busy" },
  { after = "2s", do = "hangup" },"#
        )
    );
    let r = run("outbound-busy", &scenario, "group:600", "");
    r.assert_passed();
    let c = r.only_call();
    assert_eq!(c.direction.as_str(), "outbound");
    assert_eq!(c.called_number, "922223333");
    assert_eq!(c.legs[1].party_number, "22223333");
    assert_eq!(cause(&c), Some("busy"), "{c:#?}");
    assert!(c.answer_board_ms.is_none());
    assert_eq!(legs(&c), vec![("caller", Some(5), true), ("callee", Some(1), false)], "{c:#?}");
    assert_eq!(c.legs[1].cause.as_ref().map(|c| c.as_str()), Some("busy"));
}

#[test]
fn extension_dials_out_and_nobody_answers() {
    let scenario = format!(
        r#"{BOARD}
[[party]]
name = "dave"
number = "33334444"
behaviour = "no_answer"
{}"#,
        dial_out(
            "33334444",
            r#"{ expect = "ringback", within = "10s" },
  { expect = "congestion", within = "70s", desc = "no answer: 801 hears congestion" },
  { after = "1s", do = "hangup" },"#
        )
    );
    let r = run("outbound-no-answer", &scenario, "group:600", "");
    r.assert_passed();
    let c = r.only_call();
    assert_eq!(c.direction.as_str(), "outbound");
    assert_eq!(cause(&c), Some("no_answer"), "{c:#?}");
    assert!(c.answer_board_ms.is_none());
    // The line's no-answer time (60 s) counts from the first ringback.
    let ringback = c
        .events
        .iter()
        .find(|e| e.kind == "progress" && e.detail["result"] == "ringback")
        .map(|e| e.board_ms)
        .expect("ringback");
    let ended = c.end_board_ms.expect("ended");
    assert!((ended - ringback - 60_000).abs() < 1000, "no answer after 60 s of ringback: {ringback}..{ended}");
    assert_eq!(legs(&c), vec![("caller", Some(5), true), ("callee", Some(1), false)], "{c:#?}");
}

#[test]
fn hearing_a_pattern_means_that_partys_voice_not_just_any_audio() {
    // 802 speaks pattern 13 but is never in alice's call: alice hears audio
    // (801), yet not pattern 13; the scenario must fail on exactly that.
    let scenario = format!(
        r#"{BOARD}
[[caller]]
name = "alice"
from = "13800138000"
line = 1
audio = {{ pattern = 7 }}
steps = [
  {{ at = "1s", do = "call" }},
  {{ wait_for = "answered", timeout = "40s" }},
  {{ expect = "audio", within = "2s", desc = "alice hears something" }},
  {{ expect = "audio", pattern = 13, within = "3s", desc = "alice hears 802" }},
  {{ after = "1s", do = "hangup" }},
]
{TO_801}
[[phone]]
port = 6
number = "802"
audio = {{ pattern = 13 }}
"#
    );
    let r = run("wrong-voice", &scenario, "ext:801", "");
    assert_eq!(r.code, 1, "{}", r.out);
    assert!(r.out.lines().any(|l| l.starts_with("PASS") && l.contains("alice hears something")), "{}", r.out);
    let fail = r.out.lines().find(|l| l.starts_with("FAIL")).unwrap_or_default();
    assert!(fail.contains("alice hears 802") && fail.contains("pattern 13 never heard"), "{}", r.out);
    assert_eq!(r.out.lines().filter(|l| l.starts_with("FAIL")).count(), 1, "{}", r.out);
}

#[test]
fn the_called_party_hangs_up_first_on_an_outbound_call() {
    let scenario = format!(
        r#"{BOARD}
[[party]]
name = "bob"
number = "12345678"
behaviour = "answer"
answer_after = "12s"
talk_for = "5s"
audio = {{ pattern = 17 }}
{}"#,
        dial_out(
            "12345678",
            r#"{ expect = "audio", pattern = 17, within = "30s", desc = "bob answered" },
  { expect = "busy", within = "10s", desc = "bob hung up: 801 hears the release tone" },
  { after = "1s", do = "hangup" },"#
        )
    );
    let r = run("outbound-far-end-hangs-up", &scenario, "group:600", "");
    r.assert_passed();
    let c = r.only_call();
    assert_eq!(cause(&c), Some("far_end_disconnect"), "{c:#?}");
    let answered = c.answer_board_ms.expect("answered");
    let ended = c.end_board_ms.expect("ended");
    assert!((5000..6500).contains(&(ended - answered)), "bob talked 5 s: {answered}..{ended}");
    assert_eq!(legs(&c), vec![("caller", Some(5), true), ("callee", Some(1), true)], "{c:#?}");
}

#[test]
fn an_outside_caller_who_gives_up_stops_the_ringing() {
    let scenario = format!(
        r#"{BOARD}
[[caller]]
name = "alice"
from = "13800138000"
line = 1
abandon_after = "9s"
steps = [
  {{ at = "1s", do = "call" }},
  {{ expect = "ended", within = "12s", desc = "alice gives up" }},
]

[[phone]]
port = 5
number = "801"
steps = [
  {{ wait_for = "ringing", timeout = "10s" }},
  {{ expect = "rang", rings = 2, within = "8s" }},
  {{ at = "20s", expect = "on_hook", desc = "801 never answered" }},
]
"#
    );
    let r = run("inbound-abandoned", &scenario, "ext:801", "");
    r.assert_passed();
    let c = r.only_call();
    assert_eq!(cause(&c), Some("cancelled"), "{c:#?}");
    assert!(c.answer_board_ms.is_none());
    assert_eq!(legs(&c), vec![("caller", Some(1), false), ("callee", Some(5), false)], "{c:#?}");
    // Alice gives up at 10 s, between the line's rings at 6 s and 11 s; the
    // daemon knows when no ring has come for 7 s after the last (at 7 s)
    // and stops ringing 801 then.
    let ended = c.end_board_ms.expect("ended");
    assert!((13_500..14_500).contains(&ended), "ended at {ended} ms");
    assert_eq!(c.legs[1].end_board_ms, Some(ended), "801 stops ringing with the call");
}

#[test]
fn a_caller_to_a_busy_extension_hears_busy() {
    // 801 and 802 talk; alice's call to 801 (busy) is answered with busy
    // tone.
    let scenario = format!(
        r#"{BOARD}
[[caller]]
name = "alice"
from = "13800138000"
line = 1
steps = [
  {{ at = "15s", do = "call" }},
  {{ expect = "busy", within = "15s", desc = "801 is busy: alice hears busy" }},
  {{ after = "1s", do = "hangup" }},
]

[[phone]]
port = 5
number = "801"
audio = {{ sequence = [ {{ silence = "2s" }}, {{ pattern = 11 }} ] }}
steps = [
  {{ at = "1s", do = "offhook" }},
  {{ expect = "dial_tone", within = "2s" }},
  {{ after = "300ms", do = "dial", digits = "802" }},
  {{ expect = "audio", pattern = 13, within = "15s" }},
  {{ at = "40s", do = "hangup" }},
]

[[phone]]
port = 6
number = "802"
auto_answer = 1
audio = {{ pattern = 13 }}
steps = [
  {{ wait_for = "answered", timeout = "15s" }},
  {{ expect = "silence", pattern = 11, for = "1s", within = "40s", desc = "801 hung up" }},
  {{ after = "1s", do = "hangup" }},
]
"#
    );
    let r = run("busy-extension", &scenario, "ext:801", "");
    r.assert_passed();
    let calls = r.calls();
    assert_eq!(calls.len(), 2, "{calls:#?}");
    let (internal, inbound) = (&calls[0], &calls[1]);
    assert_eq!(internal.direction.as_str(), "internal");
    assert_eq!(cause(internal), Some("normal"));
    assert_eq!(inbound.direction.as_str(), "inbound");
    assert_eq!(cause(inbound), Some("busy"), "{inbound:#?}");
    // The line is answered to play the tone; the call is not.
    assert_eq!(legs(inbound), vec![("caller", Some(1), true)], "only alice's line: {inbound:#?}");
    assert!(inbound.answer_board_ms.is_none(), "{inbound:#?}");
    assert_eq!(inbound.cause_detail, "tone played to the caller");
    // Alice hangs up a second after she hears busy (the tone was recognised
    // some 3 s after the answer).
    let ended = inbound.end_board_ms.expect("ended");
    let answered = inbound.legs[0].answer_board_ms.expect("line answered");
    assert!((2000..6000).contains(&(ended - answered)), "alice hung up on the tone: {answered}..{ended}");
}

#[test]
fn an_extension_nobody_answers_times_out() {
    let scenario = format!(
        r#"{BOARD}
[[phone]]
port = 5
number = "801"
steps = [
  {{ at = "1s", do = "offhook" }},
  {{ expect = "dial_tone", within = "2s" }},
  {{ after = "300ms", do = "dial", digits = "803" }},
  {{ expect = "ringback", within = "8s" }},
  {{ expect = "congestion", within = "35s", desc = "803 never answers" }},
  {{ after = "1s", do = "hangup" }},
]

[[phone]]
port = 7
number = "803"
steps = [ {{ wait_for = "ringing", timeout = "10s" }}, {{ expect = "rang", rings = 5, within = "30s" }} ]
"#
    );
    let r = run("extension-no-answer", &scenario, "ext:801", "");
    r.assert_passed();
    let c = r.only_call();
    assert_eq!(c.direction.as_str(), "internal");
    assert_eq!(cause(&c), Some("no_answer"), "{c:#?}");
    assert_eq!(legs(&c), vec![("caller", Some(5), true), ("callee", Some(7), false)], "{c:#?}");
    let rung = c.legs[1].start_board_ms;
    let ended = c.end_board_ms.expect("ended");
    assert!((ended - rung - 30_000).abs() < 500, "30 s of ringing: {rung}..{ended}");
}

#[test]
fn click_to_dial_rings_the_agent_first_then_the_number() {
    let scenario = format!(
        r#"{BOARD}
[[phone]]
port = 5
number = "801"
auto_answer = 1
audio = {{ pattern = 11 }}
steps = [
  {{ wait_for = "ringing", timeout = "60s" }},
  {{ expect = "answered", within = "10s" }},
  {{ expect = "audio", pattern = 13, within = "60s", desc = "801 reaches 802" }},
  {{ after = "3s", do = "hangup" }},
]

[[phone]]
port = 6
number = "802"
auto_answer = 2
audio = {{ pattern = 13 }}
steps = [
  {{ wait_for = "ringing", timeout = "30s" }},
  {{ expect = "caller_id", number = "801", within = "8s", desc = "802 sees 801 calling" }},
  {{ expect = "answered", within = "10s" }},
  {{ expect = "audio", pattern = 11, within = "2s", desc = "802 hears 801" }},
  {{ expect = "busy", within = "10s" }},
  {{ after = "1s", do = "hangup" }},
]
"#
    );
    let r = harness::run_with("click-to-dial", &scenario, "ext:801", "", |live| {
        live.at(1000, |d| {
            let req = ctibox_daemon::core::CoreRequest::Originate { from: "801".into(), to: "802".into() };
            harness::ask(d, req);
        });
    });
    r.assert_passed();
    let c = r.only_call();
    assert_eq!(c.direction.as_str(), "internal");
    assert_eq!((c.caller_number.as_str(), c.called_number.as_str()), ("801", "802"), "{c:#?}");
    assert_eq!(cause(&c), Some("normal"));
    assert_eq!(legs(&c), vec![("caller", Some(5), true), ("callee", Some(6), true)], "{c:#?}");
    assert!(c.events.iter().any(|e| e.kind == "originate"), "{:#?}", c.events);
}

#[test]
fn dialling_out_hunts_a_free_line() {
    // Alice's call to 802 holds line 1; 801's call out takes line 2.
    let scenario = format!(
        r#"{BOARD}
[[line]]
port = 2
number = "88880001"
disconnect = ["loop_drop"]
answer_supervision = true

[[caller]]
name = "alice"
from = "13800138000"
line = 1
audio = {{ pattern = 7 }}
steps = [
  {{ at = "1s", do = "call" }},
  {{ wait_for = "answered", timeout = "30s" }},
  {{ at = "60s", do = "hangup" }},
]

[[phone]]
port = 6
number = "802"
auto_answer = 1
audio = {{ pattern = 13 }}
steps = [ {{ wait_for = "answered", timeout = "30s" }}, {{ expect = "audio", pattern = 7, within = "2s" }} ]

[[party]]
name = "bob"
number = "12345678"
behaviour = "answer"
answer_after = "6s"
audio = {{ pattern = 17 }}
steps = [ {{ wait_for = "answered", timeout = "60s" }}, {{ expect = "audio", pattern = 11, within = "3s" }} ]

[[phone]]
port = 5
number = "801"
audio = {{ sequence = [ {{ silence = "4s" }}, {{ pattern = 11 }} ] }}
steps = [
  {{ at = "15s", do = "offhook" }},
  {{ expect = "dial_tone", within = "2s" }},
  {{ after = "300ms", do = "dial", digits = "912345678" }},
  {{ expect = "audio", pattern = 17, within = "25s", desc = "801 reaches bob on another line" }},
  {{ after = "3s", do = "hangup" }},
]
"#
    );
    let r = run("hunt", &scenario, "ext:802", "");
    r.assert_passed();
    let calls = r.calls();
    assert_eq!(calls.len(), 2, "{calls:#?}");
    let out = calls.iter().find(|c| c.direction.as_str() == "outbound").expect("outbound call");
    assert_eq!(legs(out), vec![("caller", Some(5), true), ("callee", Some(2), true)], "line 2 hunted: {out:#?}");
}
