//! The daemon's call features end to end: transfers (blind and attended,
//! by hook flash and through the core's request API), three-party
//! conferences, and hold with music on hold. Same set-up as
//! `daemon_e2e.rs` (the shared harness): a scripted world in a separate
//! `ctibox-sim --fast` process, the daemon in this process as its driver.
//!
//! Every far end speaks its own seeded pattern — alice (an outside caller
//! on line 1) 7, 801 11, 802 13 — and each step that says who hears whom
//! checks that voice (`expect = "audio", pattern = N`, found by correlation
//! also in a conference mix), not just any audio.

#[path = "daemon_flows_harness.rs"]
mod harness;

use ctibox_daemon::core::{CoreRequest, TransferMode};
use ctibox_daemon::records::CallRecord;
use harness::{ask, cause, leg_on, leg_up, legs, run, run_with};

/// CN, 4 CO lines, 4 phones; line 1 sends FSK caller ID and signals the
/// caller's hang-up by a loop drop.
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
"#;

/// Alice calls line 1 at 1 s (the trunk sends inbound calls to 801) and
/// speaks pattern 7; then `steps`.
fn alice(steps: &str) -> String {
    format!(
        r#"
[[caller]]
name = "alice"
from = "13800138000"
line = 1
audio = {{ pattern = 7 }}
steps = [
  {{ at = "1s", do = "call" }},
  {{ wait_for = "answered", timeout = "40s", desc = "801 answers" }},
  {{ expect = "audio", pattern = 11, within = "2s", desc = "alice hears 801" }},
{steps}
]
"#
    )
}

/// 801 answers alice after two rings and speaks pattern 11; then `steps`.
fn agent_801(steps: &str) -> String {
    format!(
        r#"
[[phone]]
port = 5
number = "801"
auto_answer = 2
audio = {{ pattern = 11 }}
steps = [
  {{ wait_for = "ringing", timeout = "30s" }},
  {{ expect = "answered", within = "15s" }},
  {{ expect = "audio", pattern = 7, within = "2s", desc = "801 hears alice" }},
{steps}
]
"#
    )
}

/// 802 answers after `rings` rings, showing `caller_id`, and speaks pattern
/// 13; then `steps`.
fn agent_802(rings: u32, caller_id: &str, steps: &str) -> String {
    format!(
        r#"
[[phone]]
port = 6
number = "802"
auto_answer = {rings}
audio = {{ pattern = 13 }}
steps = [
  {{ wait_for = "ringing", timeout = "60s", desc = "802 is rung" }},
  {{ expect = "caller_id", number = "{caller_id}", within = "8s", desc = "802 shows {caller_id}" }},
  {{ expect = "answered", within = "20s" }},
{steps}
]
"#
    )
}

/// Board time (ms) at which the expectation described `desc` passed, from
/// the scenario's report.
fn passed_at(out: &str, desc: &str) -> u64 {
    let line = out
        .lines()
        .find(|l| l.starts_with("PASS") && l.contains(&format!(": {desc} —")))
        .unwrap_or_else(|| panic!("no PASS line for \"{desc}\" in:\n{out}"));
    let secs = line.split_whitespace().nth(1).and_then(|t| t.strip_suffix('s')).expect("time");
    (secs.parse::<f64>().expect("seconds") * 1000.0).round() as u64
}

/// The call's leg on `channel`.
fn leg_id(c: &CallRecord, channel: u32) -> ctibox_daemon::records::LegId {
    c.legs.iter().find(|l| l.channel == Some(channel)).map(|l| l.id).unwrap_or_else(|| panic!("{c:#?}"))
}

#[test]
fn blind_transfer_by_flash_connects_the_caller_to_802_when_it_answers() {
    // 801 flashes (alice waits with music), dials 802 and hangs up while
    // 802 rings: a transfer on ring.
    let scenario = format!(
        "{BOARD}{}{}{}",
        alice(
            r#"  { expect = "audio", pattern = 13, within = "40s", desc = "alice reaches 802" },
  { expect = "silence", pattern = 11, for = "2s", within = "3s", desc = "801 has left" },
  { after = "2s", do = "hangup" },"#
        ),
        agent_801(
            r#"  { after = "2s", do = "flash" },
  { expect = "dial_tone", within = "3s" },
  { after = "300ms", do = "dial", digits = "802" },
  { expect = "ringback", within = "8s", desc = "801 hears 802 ringing" },
  { after = "500ms", do = "hangup", desc = "801 hangs up: transfer" },"#
        ),
        agent_802(
            3,
            "801",
            r#"  { expect = "audio", pattern = 7, within = "3s", desc = "802 hears alice" },
  { expect = "busy", within = "15s", desc = "alice hung up: 802 hears the release tone" },
  { after = "1s", do = "hangup" },"#
        )
    );
    let r = run("blind-transfer-flash", &scenario, "ext:801", "");
    r.assert_passed();
    let c = r.only_call();
    assert_eq!(c.direction.as_str(), "inbound");
    assert_eq!(cause(&c), Some("far_end_disconnect"), "alice hung up last: {c:#?}");
    assert_eq!(
        legs(&c),
        vec![("caller", Some(1), true), ("callee", Some(5), true), ("consult", Some(6), true)],
        "{c:#?}"
    );
    assert_eq!(c.transfers.len(), 1, "one transfer: {:#?}", c.transfers);
    let t = &c.transfers[0];
    assert_eq!(t.kind.as_str(), "blind", "802 had not answered: {t:#?}");
    assert_eq!((t.from_leg, t.to_leg), (Some(leg_id(&c, 1)), Some(leg_id(&c, 6))), "{t:#?}");
    assert_eq!(t.target, "802");
    let l801 = &c.legs[1];
    assert_eq!(l801.cause_detail, "801 hung up", "{l801:#?}");
    assert!(l801.end_board_ms < c.legs[2].answer_board_ms, "801 left while 802 rang: {c:#?}");
    assert!(t.board_ms <= c.legs[2].answer_board_ms.expect("802 answered"), "transferred while 802 rang");
}

#[test]
fn attended_transfer_by_flash_connects_the_caller_to_802_after_the_consultation() {
    let scenario = format!(
        "{BOARD}{}{}{}",
        alice(
            r#"  { expect = "silence", pattern = 11, for = "2s", within = "6s", desc = "801 holds alice" },
  { expect = "audio", within = "1s", desc = "alice hears music on hold" },
  { expect = "audio", pattern = 13, within = "40s", desc = "alice reaches 802" },
  { expect = "silence", pattern = 11, for = "2s", within = "3s", desc = "801 has left" },
  { after = "2s", do = "hangup" },"#
        ),
        agent_801(
            r#"  { after = "2s", do = "flash" },
  { expect = "dial_tone", within = "3s" },
  { after = "300ms", do = "dial", digits = "802" },
  { expect = "audio", pattern = 13, within = "15s", desc = "801 consults 802" },
  { expect = "silence", pattern = 7, for = "1s", within = "2s", desc = "801 does not hear alice meanwhile" },
  { after = "1s", do = "hangup", desc = "801 hangs up: transfer" },"#
        ),
        agent_802(
            2,
            "801",
            r#"  { expect = "audio", pattern = 11, within = "2s", desc = "802 hears 801" },
  { expect = "audio", pattern = 7, within = "10s", desc = "802 hears alice" },
  { expect = "busy", within = "15s", desc = "alice hung up: 802 hears the release tone" },
  { after = "1s", do = "hangup" },"#
        )
    );
    let r = run("attended-transfer-flash", &scenario, "ext:801", "");
    r.assert_passed();
    let c = r.only_call();
    assert_eq!(cause(&c), Some("far_end_disconnect"), "{c:#?}");
    assert_eq!(
        legs(&c),
        vec![("caller", Some(1), true), ("callee", Some(5), true), ("consult", Some(6), true)],
        "{c:#?}"
    );
    assert_eq!(c.transfers.len(), 1, "{:#?}", c.transfers);
    let t = &c.transfers[0];
    assert_eq!(t.kind.as_str(), "attended", "{t:#?}");
    assert_eq!((t.from_leg, t.to_leg), (Some(leg_id(&c, 1)), Some(leg_id(&c, 6))), "{t:#?}");
    assert_eq!(t.target, "802");
    assert!(
        c.events.iter().any(|e| e.kind == "hold" && e.detail["for"] == "consultation"),
        "the consultation is journalled: {:#?}",
        c.events
    );
    // Alice heard 802 only once the transfer was done.
    let reached = passed_at(&r.out, "alice reaches 802");
    assert!(reached as i64 >= t.board_ms, "alice heard 802 at {reached} ms, transfer at {} ms", t.board_ms);
}

#[test]
fn blind_transfer_through_the_api_moves_the_caller_to_802() {
    let scenario = format!(
        "{BOARD}{}{}{}",
        alice(
            r#"  { expect = "audio", pattern = 13, within = "60s", desc = "alice reaches 802" },
  { after = "2s", do = "hangup" },"#
        ),
        agent_801(
            r#"  { expect = "busy", within = "60s", desc = "the transfer releases 801" }, { after = "1s", do = "hangup" },"#
        ),
        agent_802(
            2,
            "13800138000",
            r#"  { expect = "audio", pattern = 7, within = "3s", desc = "802 hears alice" },
  { expect = "busy", within = "60s", desc = "alice hung up: 802 hears the release tone" },
  { after = "1s", do = "hangup" },"#
        )
    );
    let r = run_with("blind-transfer-api", &scenario, "ext:801", "", |live| {
        let (c, up) = live.when("with alice and 801 talking", |c, _| leg_up(c, 1) && leg_up(c, 5), |_, _| {});
        live.when(
            "2 s later",
            |x, now| x.call == c.call && now >= up + 2000,
            |d, c| {
                let to = "802".into();
                ask(d, CoreRequest::Transfer { call: c.call, leg: leg_on(c, 1), to, mode: TransferMode::Blind });
            },
        );
    });
    r.assert_passed();
    let c = r.only_call();
    assert_eq!(cause(&c), Some("far_end_disconnect"), "{c:#?}");
    assert_eq!(
        legs(&c),
        vec![("caller", Some(1), true), ("callee", Some(5), true), ("callee", Some(6), true)],
        "{c:#?}"
    );
    assert_eq!(c.transfers.len(), 1, "{:#?}", c.transfers);
    let t = &c.transfers[0];
    assert_eq!(t.kind.as_str(), "blind");
    assert_eq!((t.from_leg, t.to_leg), (Some(leg_id(&c, 1)), Some(leg_id(&c, 6))), "{t:#?}");
    assert_eq!(t.target, "802");
    assert_eq!(c.legs[1].cause_detail, "transferred");
}

#[test]
fn three_party_conference_by_flash_lets_everyone_hear_the_two_others() {
    // 801 flashes, consults 802, flashes again: alice, 801 and 802 talk.
    let scenario = format!(
        "{BOARD}{}{}{}",
        alice(
            r#"  { expect = "audio", pattern = 13, within = "40s", desc = "alice hears 802 in the conference" },
  { expect = "audio", pattern = 11, within = "1s", desc = "and 801" },
  { after = "4s", do = "hangup" },"#
        ),
        agent_801(
            r#"  { after = "2s", do = "flash" },
  { expect = "dial_tone", within = "3s" },
  { after = "300ms", do = "dial", digits = "802" },
  { expect = "audio", pattern = 13, within = "15s", desc = "801 consults 802" },
  { after = "1s", do = "flash", desc = "801 flashes again: conference" },
  { expect = "audio", pattern = 7, within = "3s", desc = "801 hears alice in the conference" },
  { expect = "audio", pattern = 13, within = "1s", desc = "and 802" },
  { after = "8s", do = "hangup" },"#
        ),
        agent_802(
            2,
            "801",
            r#"  { expect = "audio", pattern = 11, within = "2s", desc = "802 hears 801" },
  { expect = "audio", pattern = 7, within = "10s", desc = "802 hears alice in the conference" },
  { expect = "audio", pattern = 11, within = "1s", desc = "and 801 still" },
  { expect = "silence", pattern = 7, for = "1s", within = "8s", desc = "alice left the conference" },
  { expect = "audio", pattern = 11, within = "1s", desc = "802 and 801 still talk" },
  { expect = "busy", within = "20s", desc = "the others left: 802 hears the release tone" },
  { after = "1s", do = "hangup" },"#
        )
    );
    let r = run("conference-flash", &scenario, "ext:801", "");
    r.assert_passed();
    let c = r.only_call();
    assert_eq!(
        legs(&c),
        vec![("caller", Some(1), true), ("callee", Some(5), true), ("consult", Some(6), true)],
        "{c:#?}"
    );
    assert!(c.events.iter().any(|e| e.kind == "conference"), "{:#?}", c.events);
    assert!(c.transfers.is_empty(), "{:#?}", c.transfers);
    assert_eq!(c.cause_detail, "801 hung up", "{c:#?}");
}

#[test]
fn three_party_conference_through_the_api_lets_everyone_hear_the_two_others() {
    let scenario = format!(
        "{BOARD}{}{}{}",
        alice(
            r#"  { expect = "audio", pattern = 13, within = "60s", desc = "alice hears 802 in the conference" },
  { expect = "audio", pattern = 11, within = "1s", desc = "and 801" },
  { after = "4s", do = "hangup" },"#
        ),
        agent_801(
            r#"  { expect = "audio", pattern = 13, within = "60s", desc = "801 hears 802 in the conference" },
  { expect = "audio", pattern = 7, within = "1s", desc = "and alice" },
  { after = "8s", do = "hangup" },"#
        ),
        agent_802(
            2,
            "13800138000",
            r#"  { expect = "audio", pattern = 7, within = "2s", desc = "802 hears alice in the conference" },
  { expect = "audio", pattern = 11, within = "1s", desc = "and 801" },
  { expect = "busy", within = "60s", desc = "the others left: 802 hears the release tone" },
  { after = "1s", do = "hangup" },"#
        )
    );
    let r = run_with("conference-api", &scenario, "ext:801", "", |live| {
        let (c, up) = live.when("with alice and 801 talking", |c, _| leg_up(c, 1) && leg_up(c, 5), |_, _| {});
        live.when(
            "2 s later",
            |x, now| x.call == c.call && now >= up + 2000,
            |d, c| {
                ask(d, CoreRequest::Conference { call: c.call, to: "802".into() });
            },
        );
    });
    r.assert_passed();
    let c = r.only_call();
    assert_eq!(
        legs(&c),
        vec![("caller", Some(1), true), ("callee", Some(5), true), ("conference", Some(6), true)],
        "{c:#?}"
    );
    assert!(c.events.iter().any(|e| e.kind == "conference_add" && e.detail["to"] == "802"), "{:#?}", c.events);
}

#[test]
fn hold_plays_music_to_the_held_caller_and_unhold_brings_the_agent_back() {
    let scenario = format!(
        "{BOARD}{}{}",
        alice(
            r#"  { expect = "silence", pattern = 11, for = "2s", within = "60s", desc = "on hold: alice no longer hears 801" },
  { expect = "audio", within = "1s", desc = "alice hears music on hold" },
  { expect = "silence", pattern = 11, for = "2s", within = "3s", desc = "still not 801" },
  { expect = "audio", pattern = 11, within = "60s", desc = "off hold: alice hears 801 again" },
  { after = "2s", do = "hangup" },"#
        ),
        agent_801(
            r#"  { expect = "silence", pattern = 7, for = "2s", within = "60s", desc = "801 does not hear the held alice" },
  { expect = "audio", pattern = 7, within = "60s", desc = "off hold: 801 hears alice again" },
  { expect = "busy", within = "10s", desc = "alice hung up: 801 hears the release tone" },
  { after = "1s", do = "hangup" },"#
        )
    );
    let mut times = (0, 0);
    let r = run_with("hold-api", &scenario, "ext:801", "", |live| {
        let (c, up) = live.when("with alice and 801 talking", |c, _| leg_up(c, 1) && leg_up(c, 5), |_, _| {});
        let alice = leg_on(&c, 1);
        let (_, held) = live.when(
            "3 s later",
            |x, now| x.call == c.call && now >= up + 3000,
            |d, c| {
                ask(d, CoreRequest::Hold { call: c.call, leg: alice });
            },
        );
        let (_, unheld) = live.when(
            "8 s on hold",
            |x, now| x.call == c.call && now >= held + 8000,
            |d, c| {
                ask(d, CoreRequest::Unhold { call: c.call, leg: alice });
            },
        );
        times = (held as i64, unheld as i64);
    });
    r.assert_passed();
    let c = r.only_call();
    assert_eq!(cause(&c), Some("far_end_disconnect"), "{c:#?}");
    assert_eq!(legs(&c), vec![("caller", Some(1), true), ("callee", Some(5), true)], "{c:#?}");
    let kinds: Vec<&str> =
        c.events.iter().filter(|e| e.kind == "hold" || e.kind == "unhold").map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["hold", "unhold"], "{:#?}", c.events);
    // Journalled at the board times the requests were made.
    let at = |kind: &str| c.events.iter().find(|e| e.kind == kind).map(|e| e.board_ms).unwrap_or_default();
    let (hold, unhold) = (at("hold"), at("unhold"));
    assert!((hold - times.0).abs() <= 40 && (unhold - times.1).abs() <= 40, "{hold}, {unhold} vs {times:?}");
    assert!(unhold - hold >= 8000, "held 8 s or more: {hold}..{unhold}");
    let back = passed_at(&r.out, "off hold: alice hears 801 again") as i64;
    assert!(back >= unhold, "alice heard 801 again at {back} ms, unhold at {unhold} ms");
}

#[test]
fn flash_holds_the_caller_with_music_and_a_second_flash_returns_to_it() {
    let scenario = format!(
        "{BOARD}{}{}",
        alice(
            r#"  { expect = "silence", pattern = 11, for = "2s", within = "6s", desc = "801 holds alice" },
  { expect = "audio", within = "1s", desc = "alice hears music on hold" },
  { expect = "audio", pattern = 11, within = "10s", desc = "801 is back" },
  { expect = "ended", within = "10s", desc = "801 hung up" },"#
        ),
        agent_801(
            r#"  { after = "2s", do = "flash" },
  { expect = "dial_tone", within = "3s" },
  { after = "3s", do = "flash", desc = "801 flashes back to alice" },
  { expect = "audio", pattern = 7, within = "3s", desc = "801 hears alice again" },
  { after = "2s", do = "hangup" },"#
        )
    );
    let r = run("flash-back", &scenario, "ext:801", "");
    r.assert_passed();
    let c = r.only_call();
    assert_eq!(cause(&c), Some("normal"), "{c:#?}");
    assert_eq!(c.cause_detail, "801 hung up");
    assert_eq!(legs(&c), vec![("caller", Some(1), true), ("callee", Some(5), true)], "{c:#?}");
    assert!(c.transfers.is_empty(), "{:#?}", c.transfers);
}

#[test]
fn attended_transfer_through_the_api_completes_when_asked() {
    let scenario = format!(
        "{BOARD}{}{}{}",
        alice(
            r#"  { expect = "silence", pattern = 11, for = "2s", within = "60s", desc = "alice waits on hold" },
  { expect = "audio", within = "1s", desc = "alice hears music on hold" },
  { expect = "audio", pattern = 13, within = "60s", desc = "alice reaches 802" },
  { after = "2s", do = "hangup" },"#
        ),
        agent_801(
            r#"  { expect = "audio", pattern = 13, within = "60s", desc = "801 consults 802" },
  { expect = "busy", within = "60s", desc = "the completed transfer releases 801" },
  { after = "1s", do = "hangup" },"#
        ),
        agent_802(
            2,
            "801",
            r#"  { expect = "audio", pattern = 11, within = "2s", desc = "802 hears 801" },
  { expect = "audio", pattern = 7, within = "60s", desc = "802 hears alice" },
  { expect = "busy", within = "60s", desc = "alice hung up: 802 hears the release tone" },
  { after = "1s", do = "hangup" },"#
        )
    );
    let r = run_with("attended-transfer-api", &scenario, "ext:801", "", |live| {
        let (c, up) = live.when("with alice and 801 talking", |c, _| leg_up(c, 1) && leg_up(c, 5), |_, _| {});
        live.when(
            "2 s later",
            |x, now| x.call == c.call && now >= up + 2000,
            |d, c| {
                let to = "802".into();
                ask(d, CoreRequest::Transfer { call: c.call, leg: leg_on(c, 1), to, mode: TransferMode::Attended });
            },
        );
        let (_, consulted) = live.when("with 802 consulted", |x, _| x.call == c.call && leg_up(x, 6), |_, _| {});
        live.when(
            "3 s later",
            |x, now| x.call == c.call && now >= consulted + 3000,
            |d, c| {
                ask(d, CoreRequest::CompleteTransfer { call: c.call });
            },
        );
    });
    r.assert_passed();
    let c = r.only_call();
    assert_eq!(cause(&c), Some("far_end_disconnect"), "{c:#?}");
    assert_eq!(
        legs(&c),
        vec![("caller", Some(1), true), ("callee", Some(5), true), ("consult", Some(6), true)],
        "{c:#?}"
    );
    assert_eq!(c.transfers.len(), 1, "{:#?}", c.transfers);
    let t = &c.transfers[0];
    assert_eq!(t.kind.as_str(), "attended", "{t:#?}");
    assert_eq!((t.from_leg, t.to_leg), (Some(leg_id(&c, 1)), Some(leg_id(&c, 6))), "{t:#?}");
    assert_eq!(c.legs[1].cause_detail, "transferred");
    let reached = passed_at(&r.out, "alice reaches 802");
    assert!(reached as i64 >= t.board_ms, "alice heard 802 at {reached} ms, transfer at {} ms", t.board_ms);
}

#[test]
fn a_blind_transfer_nobody_answers_rings_the_transferring_extension_again() {
    let scenario = format!(
        "{BOARD}{}{}{}",
        alice(
            r#"  { expect = "ringback", within = "60s", desc = "alice hears 803 ringing" },
  { expect = "audio", pattern = 11, within = "60s", desc = "the transfer comes back to 801" },
  { expect = "ended", within = "10s", desc = "801 hung up" },"#
        ),
        agent_801(
            r#"  { expect = "busy", within = "60s", desc = "the transfer releases 801" },
  { after = "1s", do = "hangup" },
  { wait_for = "ringing", timeout = "45s", desc = "801 is rung again" },
  { expect = "caller_id", number = "13800138000", within = "8s", desc = "801 sees alice coming back" },
  { expect = "answered", within = "10s" },
  { expect = "audio", pattern = 7, within = "2s", desc = "801 hears alice again" },
  { after = "2s", do = "hangup" },"#
        ),
        r#"
[[phone]]
port = 7
number = "803"
steps = [ { wait_for = "ringing", timeout = "40s" }, { expect = "rang", rings = 5, within = "60s" } ]
"#
    );
    let r = run_with("transfer-recall", &scenario, "ext:801", "", |live| {
        let (c, up) = live.when("with alice and 801 talking", |c, _| leg_up(c, 1) && leg_up(c, 5), |_, _| {});
        live.when(
            "2 s later",
            |x, now| x.call == c.call && now >= up + 2000,
            |d, c| {
                let to = "803".into();
                ask(d, CoreRequest::Transfer { call: c.call, leg: leg_on(c, 1), to, mode: TransferMode::Blind });
            },
        );
    });
    r.assert_passed();
    let c = r.only_call();
    assert_eq!(cause(&c), Some("normal"), "{c:#?}");
    assert_eq!(c.cause_detail, "801 hung up");
    assert_eq!(
        legs(&c),
        vec![
            ("caller", Some(1), true),
            ("callee", Some(5), true),
            ("callee", Some(7), false),
            ("callee", Some(5), true)
        ],
        "{c:#?}"
    );
    assert_eq!(c.legs[2].cause.as_ref().map(|c| c.as_str()), Some("no_answer"));
    assert!(c.transfers.is_empty(), "nobody took the transfer: {:#?}", c.transfers);
    assert!(c.events.iter().any(|e| e.kind == "transfer_recall" && e.detail["extension"] == "801"), "{:#?}", c.events);
}

#[test]
fn a_consultation_with_a_busy_extension_returns_to_the_held_caller() {
    // 802 is off-hook (busy); 801 flashes and dials it.
    let scenario = format!(
        "{BOARD}{}{}{}",
        alice(
            r#"  { expect = "silence", pattern = 11, for = "2s", within = "6s", desc = "801 holds alice" },
  { expect = "audio", pattern = 11, within = "15s", desc = "801 is back" },
  { expect = "ended", within = "10s" },"#
        ),
        agent_801(
            r#"  { after = "2s", do = "flash" },
  { expect = "dial_tone", within = "3s" },
  { after = "300ms", do = "dial", digits = "802" },
  { expect = "audio", pattern = 7, within = "5s", desc = "802 busy: 801 is back with alice" },
  { after = "2s", do = "hangup" },"#
        ),
        r#"
[[phone]]
port = 6
number = "802"
steps = [ { at = "500ms", do = "offhook" }, { at = "40s", do = "hangup" } ]
"#
    );
    let r = run("consult-busy", &scenario, "ext:801", "");
    r.assert_passed();
    let calls = r.calls();
    let c = calls.iter().find(|c| c.direction.as_str() == "inbound").expect("alice's call");
    assert_eq!(legs(c), vec![("caller", Some(1), true), ("callee", Some(5), true)], "{c:#?}");
    assert!(
        c.events.iter().any(|e| e.kind == "consult_failed" && e.detail["error"] == "extension 802 is busy"),
        "{:#?}",
        c.events
    );
}

#[test]
fn the_api_can_hold_the_extension_side_too() {
    let scenario = format!(
        "{BOARD}{}{}",
        alice(
            r#"  { expect = "silence", pattern = 11, for = "2s", within = "60s", desc = "801 on hold: alice hears no 801" },
  { expect = "audio", pattern = 11, within = "60s", desc = "801 back" },
  { after = "2s", do = "hangup" },"#
        ),
        agent_801(
            r#"  { expect = "silence", pattern = 7, for = "2s", within = "60s", desc = "801 on hold: no alice" },
  { expect = "audio", within = "1s", desc = "801 hears music on hold" },
  { expect = "audio", pattern = 7, within = "60s", desc = "off hold: 801 hears alice" },
  { expect = "busy", within = "10s" },
  { after = "1s", do = "hangup" },"#
        )
    );
    let r = run_with("hold-extension-api", &scenario, "ext:801", "", |live| {
        let (c, up) = live.when("with alice and 801 talking", |c, _| leg_up(c, 1) && leg_up(c, 5), |_, _| {});
        let agent = leg_on(&c, 5);
        let (_, held) = live.when(
            "3 s later",
            |x, now| x.call == c.call && now >= up + 3000,
            |d, c| {
                ask(d, CoreRequest::Hold { call: c.call, leg: agent });
            },
        );
        live.when(
            "6 s on hold",
            |x, now| x.call == c.call && now >= held + 6000,
            |d, c| {
                ask(d, CoreRequest::Unhold { call: c.call, leg: agent });
            },
        );
    });
    r.assert_passed();
    let c = r.only_call();
    assert_eq!(cause(&c), Some("far_end_disconnect"), "{c:#?}");
}

/// Line 2, for calls out while alice holds line 1: the called party's
/// answer is signalled by a polarity reversal.
const LINE_2: &str = r#"
[[line]]
port = 2
number = "88880001"
disconnect = ["loop_drop"]
answer_supervision = true
"#;

/// Bob, reached by dialling 9 12345678, answers after 6 s and speaks
/// pattern 17; then `steps`.
fn bob(steps: &str) -> String {
    format!(
        r#"
[[party]]
name = "bob"
number = "12345678"
behaviour = "answer"
answer_after = "6s"
audio = {{ pattern = 17 }}
steps = [
  {{ wait_for = "answered", timeout = "60s" }},
{steps}
]
"#
    )
}

#[test]
fn blind_transfer_through_the_api_to_an_outside_number() {
    let scenario = format!(
        "{BOARD}{LINE_2}{}{}{}",
        alice(
            r#"  { expect = "audio", pattern = 17, within = "60s", desc = "alice reaches bob" },
  { after = "3s", do = "hangup" },"#
        ),
        agent_801(
            r#"  { expect = "busy", within = "60s", desc = "the transfer releases 801" }, { after = "1s", do = "hangup" },"#
        ),
        bob(r#"  { expect = "audio", pattern = 7, within = "3s", desc = "bob hears alice" },
  { expect = "ended", within = "10s", desc = "alice hung up: bob's line is released" },"#)
    );
    let r = run_with("blind-transfer-out", &scenario, "ext:801", "", |live| {
        let (c, up) = live.when("with alice and 801 talking", |c, _| leg_up(c, 1) && leg_up(c, 5), |_, _| {});
        live.when(
            "2 s later",
            |x, now| x.call == c.call && now >= up + 2000,
            |d, c| {
                let to = "912345678".into();
                ask(d, CoreRequest::Transfer { call: c.call, leg: leg_on(c, 1), to, mode: TransferMode::Blind });
            },
        );
    });
    r.assert_passed();
    let c = r.only_call();
    assert_eq!(
        legs(&c),
        vec![("caller", Some(1), true), ("callee", Some(5), true), ("callee", Some(2), true)],
        "{c:#?}"
    );
    assert_eq!(c.legs[2].party_number, "12345678");
    assert_eq!(c.transfers.len(), 1, "{:#?}", c.transfers);
    assert_eq!(c.transfers[0].target, "12345678");
    assert_eq!(cause(&c), Some("far_end_disconnect"), "{c:#?}");
}

#[test]
fn conference_through_the_api_with_an_outside_number() {
    let scenario = format!(
        "{BOARD}{LINE_2}{}{}{}",
        alice(
            r#"  { expect = "audio", pattern = 17, within = "60s", desc = "alice hears bob in the conference" },
  { expect = "audio", pattern = 11, within = "1s", desc = "and 801" },
  { after = "4s", do = "hangup" },"#
        ),
        agent_801(
            r#"  { expect = "audio", pattern = 17, within = "60s", desc = "801 hears bob in the conference" },
  { expect = "audio", pattern = 7, within = "1s", desc = "and alice" },
  { after = "8s", do = "hangup" },"#
        ),
        bob(r#"  { expect = "audio", pattern = 7, within = "3s", desc = "bob hears alice in the conference" },
  { expect = "audio", pattern = 11, within = "1s", desc = "and 801" },
  { expect = "ended", within = "60s", desc = "the others left: bob's line is released" },"#)
    );
    let r = run_with("conference-out", &scenario, "ext:801", "", |live| {
        let (c, up) = live.when("with alice and 801 talking", |c, _| leg_up(c, 1) && leg_up(c, 5), |_, _| {});
        live.when(
            "2 s later",
            |x, now| x.call == c.call && now >= up + 2000,
            |d, c| {
                ask(d, CoreRequest::Conference { call: c.call, to: "912345678".into() });
            },
        );
    });
    r.assert_passed();
    let c = r.only_call();
    assert_eq!(
        legs(&c),
        vec![("caller", Some(1), true), ("callee", Some(5), true), ("conference", Some(2), true)],
        "{c:#?}"
    );
}
