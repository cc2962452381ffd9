//! Transfers of queue calls end to end: a caller (alice, line 1, voice
//! pattern 7) waits in queue `q`; agent 1001 at 801 (pattern 11) takes
//! her, attaches a note and a data item through the core's request API,
//! and hands her on to agent 1002 at 802 (pattern 13):
//!
//! - blind to `queue:q`: she waits again and the queue offers her to 1002;
//! - blind to `agent:1002`: 802 rings at once;
//! - attended to extension 802: 1001 consults 1002, then completes;
//! - attended to `queue:q`: 1001 waits in the queue while alice is held,
//!   the queue offers the consultation to 1002, they talk, 1001 completes;
//! - attended to `queue:q`, completed at once: alice takes 1001's place in
//!   the queue (a blind transfer after all).
//!
//! Each time 1002's screen pop carries the customer's variables, the note
//! and `transferred_by = 1001`, alice ends up hearing 1002, 1001's phone is
//! released, and the journal has the note, the data, the transfer and (for
//! the queue) the queue's `transfer` event followed by a second `enter`.
//!
//! Apart: a consultation of the queue that nobody takes is cancelled, and
//! alice is back with 1001.

#[path = "daemon_flows_harness.rs"]
mod harness;

use std::time::{Duration, Instant};

use ctibox_daemon::core::{CallView, CoreRequest, CtiEventKind, ScreenPop, TransferMode};
use ctibox_daemon::records::{AgentStateKind, CallRecord, HistoryRequest, QueueEventKind};
use harness::{Run, ask, cause, config, leg_on, leg_up, legs, run_config, snapshot};

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

/// Queue `q` (1001 first, then 1002), agents 1001 at 801 and 1002 at 802.
const ACD: &str = r#"
[[queue]]
name = "q"
strategy = "linear"
members = ["1001", "1002"]

[[agent]]
id = "1001"
name = "Alice Agent"
extension = "801"

[[agent]]
id = "1002"
name = "Bob Agent"
extension = "802"
"#;

const NOTE: &str = "wants the invoice of May resent";

/// The scenario: alice calls at 1 s, talks with agent 1 (11), then with
/// agent 2 (13), and hangs up; 801 answers and is released by the
/// transfer; 802 is rung, answers and hears alice (after agent 1, for a
/// consultation).
fn scenario(consult: bool) -> String {
    let consultation = if consult {
        "{ expect = \"audio\", pattern = 11, within = \"5s\", desc = \"802 consults with 801\" },"
    } else {
        ""
    };
    format!(
        r#"{BOARD}
[[caller]]
name = "alice"
from = "13800138000"
line = 1
audio = {{ pattern = 7 }}
steps = [
  {{ at = "1s", do = "call" }},
  {{ wait_for = "answered", timeout = "20s", desc = "the queue answers" }},
  {{ expect = "audio", pattern = 11, within = "10s", desc = "alice talks with agent 1" }},
  {{ expect = "audio", pattern = 13, within = "30s", desc = "alice talks with agent 2 after the transfer" }},
  {{ expect = "silence", pattern = 11, for = "1s", within = "3s", desc = "agent 1 has left" }},
  {{ after = "2s", do = "hangup" }},
]

[[phone]]
port = 5
number = "801"
auto_answer = 1
hang_up_on_release = "500ms"
audio = {{ pattern = 11 }}
steps = [
  {{ wait_for = "answered", timeout = "20s", desc = "agent 1 takes alice" }},
  {{ expect = "on_hook", within = "30s", desc = "the transfer releases agent 1" }},
]

[[phone]]
port = 6
number = "802"
auto_answer = 1
hang_up_on_release = "500ms"
audio = {{ pattern = 13 }}
steps = [
  {{ wait_for = "ringing", timeout = "40s", desc = "agent 2 is rung for alice" }},
  {{ expect = "answered", within = "10s" }},
  {consultation}
  {{ expect = "audio", pattern = 7, within = "15s", desc = "agent 2 talks with alice" }},
  {{ expect = "on_hook", within = "30s", desc = "alice hung up: agent 2 is released" }},
]
"#
    )
}

/// What one run saw live: the screen pops in order, and the call as the
/// core showed it once the transfer was done.
struct Seen {
    pops: Vec<ScreenPop>,
    after: Option<CallView>,
}

/// The alice call in a snapshot.
fn alice_call(d: &ctibox_daemon::daemon::Daemon) -> Option<CallView> {
    snapshot(d).calls.into_iter().find(|c| c.caller_number.as_deref() == Some("13800138000"))
}

/// Run the scenario: both agents log in at 0; 3 s after agent 1 answers,
/// the note, the data and the transfer `to` in `mode`; for a consultation,
/// the transfer completes 3 s after agent 2 answers, or at once, before
/// anyone answers (`complete_at_once`).
fn run_transfer(tag: &str, to: &str, mode: TransferMode, complete_at_once: bool) -> (Run, Seen) {
    let seen = std::sync::Mutex::new(Seen { pops: Vec::new(), after: None });
    let make = |dir: &std::path::Path| {
        // The agents' phones get an open-loop disconnect when released
        // (their `hang_up_on_release` acts on it).
        config(dir, "queue:q", ACD)
            .replace("channel = 5\n", "channel = 5\nrelease_loop_open = \"600ms\"\n")
            .replace("channel = 6\n", "channel = 6\nrelease_loop_open = \"600ms\"\n")
    };
    let consult = mode == TransferMode::Attended && !complete_at_once;
    let run = run_config(tag, &scenario(consult), &make, |live| {
        let mut rx = live.daemon.core.subscribe();
        live.at(0, |d| {
            for agent in ["1001", "1002"] {
                ask(d, CoreRequest::AgentLogin { agent: agent.into(), extension: None, queues: None });
            }
        });
        let (_, answered) = live.when("agent 1 talks with alice", |c, _| leg_up(c, 1) && leg_up(c, 5), |_, _| {});
        live.at(answered + 3000, |d| {
            let c = alice_call(d).expect("alice's call");
            let call = c.call;
            ask(d, CoreRequest::AddNote { call, author: "agent".into(), text: NOTE.into() });
            ask(
                d,
                CoreRequest::SetCallData { call, author: "agent".into(), key: "invoice".into(), value: "A-17".into() },
            );
            ask(d, CoreRequest::Transfer { call, leg: leg_on(&c, 1), to: to.into(), mode });
            if complete_at_once {
                ask(d, CoreRequest::CompleteTransfer { call });
            }
        });
        if consult {
            let (_, up) = live.when("agent 2 answers the consultation", |c, _| leg_up(c, 6), |_, _| {});
            live.at(up + 3000, |d| {
                let call = alice_call(d).expect("alice's call").call;
                ask(d, CoreRequest::CompleteTransfer { call });
            });
        }
        let (c, _) = live.when(
            "alice talks with agent 2",
            |c, _| {
                leg_up(c, 1)
                    && leg_up(c, 6)
                    && c.legs.iter().all(|l| l.channel.0 != 5 || l.status == ctibox_daemon::core::LegStatus::Ended)
            },
            |_, _| {},
        );
        let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.after = Some(c);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            match rx.try_recv() {
                Ok(ev) => {
                    if let CtiEventKind::ScreenPop { pop } = ev.kind {
                        seen.pops.push(*pop);
                    }
                }
                Err(tokio::sync::broadcast::error::TryRecvError::Empty) => break,
                Err(tokio::sync::broadcast::error::TryRecvError::Lagged(n)) => panic!("{n} events lost"),
                Err(e) => panic!("events: {e}"),
            }
        }
    });
    (run, seen.into_inner().unwrap_or_else(|p| p.into_inner()))
}

/// Checks every transfer shares: the run passed; agent 1 was popped for
/// the queue's offer, agent 2 for the transfer with the data, the note and
/// who transferred; after the transfer the call still has them; the
/// journal has the note and the data item, and alice ended the call.
fn common_checks(run: &Run, seen: &Seen) -> CallRecord {
    run.assert_passed();
    let who: Vec<(&str, Option<&str>)> =
        seen.pops.iter().map(|p| (p.agent.as_str(), p.transferred_by.as_deref())).collect();
    assert_eq!(who, [("1001", None), ("1002", Some("1001"))], "{:#?}", seen.pops);
    let pop = &seen.pops[1];
    assert_eq!((pop.caller_number.as_str(), pop.queue.as_str()), ("13800138000", "q"), "{pop:#?}");
    assert_eq!(pop.vars.get("invoice").map(String::as_str), Some("A-17"), "{pop:#?}");
    let notes: Vec<(&str, &str)> = pop.notes.iter().map(|n| (n.author.as_str(), n.text.as_str())).collect();
    assert_eq!(notes, [("agent", NOTE)], "{pop:#?}");
    let after = seen.after.as_ref().expect("the call after the transfer");
    assert_eq!(after.vars.get("invoice").map(String::as_str), Some("A-17"), "{after:#?}");
    assert_eq!(after.notes, pop.notes, "{after:#?}");

    let c = run.only_call();
    assert_eq!(cause(&c), Some("far_end_disconnect"), "alice hung up: {c:#?}");
    let note = c.events.iter().find(|e| e.kind == "note").unwrap_or_else(|| panic!("a note event: {:#?}", c.events));
    assert_eq!(note.detail, serde_json::json!({"author": "agent", "text": NOTE}));
    let data = c.events.iter().find(|e| e.kind == "data").unwrap_or_else(|| panic!("a data event: {:#?}", c.events));
    assert_eq!(data.detail, serde_json::json!({"author": "agent", "key": "invoice", "value": "A-17"}));
    assert!(note.board_ms <= data.board_ms, "{:#?}", c.events);
    c
}

/// (kind, agent) of the call's queue events, in order.
fn queue_events(run: &Run, c: &CallRecord) -> Vec<(QueueEventKind, Option<String>)> {
    run.reader
        .queue_events_of_call(c.id)
        .expect("queue events")
        .unwrap_or_default()
        .into_iter()
        .map(|e| (e.kind, e.agent))
        .collect()
}

/// Agent 1001's states from the journal.
fn states_1001(run: &Run) -> Vec<AgentStateKind> {
    let page =
        run.reader.agent_history("1001", &HistoryRequest { limit: 100, ..HistoryRequest::default() }).expect("history");
    page.states.iter().map(|s| s.state).collect()
}

fn agent(a: &str) -> Option<String> {
    Some(a.to_string())
}

/// The queue events of a call agent 1 took and handed on through the queue
/// to agent 2.
fn through_the_queue_twice() -> Vec<(QueueEventKind, Option<String>)> {
    use QueueEventKind as K;
    vec![
        (K::Enter, None),
        (K::Offer, agent("1001")),
        (K::Answer, agent("1001")),
        (K::Transfer, agent("1001")),
        (K::Enter, None),
        (K::Offer, agent("1002")),
        (K::Answer, agent("1002")),
    ]
}

#[test]
fn a_blind_transfer_to_the_queue_brings_the_caller_to_the_next_agent_with_the_data_and_the_note() {
    let (run, seen) = run_transfer("xfer-queue", "queue:q", TransferMode::Blind, false);
    let c = common_checks(&run, &seen);
    assert_eq!(queue_events(&run, &c), through_the_queue_twice());
    assert_eq!(legs(&c), [("caller", Some(1), true), ("agent", Some(5), true), ("agent", Some(6), true)], "{c:#?}");
    assert_eq!(c.transfers.len(), 1, "{:#?}", c.transfers);
    let t = &c.transfers[0];
    assert_eq!((t.kind.as_str(), t.target.as_str(), t.to_leg), ("blind", "queue:q", None), "{t:#?}");
    assert_eq!(t.from_leg, Some(c.legs[0].id), "{t:#?}");
    // Agent 1's queue call ended with the transfer: ready again (no
    // wrap-up time in `q`) before alice's call is over.
    let st = states_1001(&run);
    assert_eq!(
        st[..],
        [AgentStateKind::Ready, AgentStateKind::Offered, AgentStateKind::OnCall, AgentStateKind::Ready],
        "{st:?}"
    );
    let agent1_end = c.legs[1].end_board_ms.expect("agent 1's leg ended");
    assert!(agent1_end < c.end_board_ms.expect("ended") - 3000, "{c:#?}");
}

#[test]
fn a_blind_transfer_to_an_agent_rings_the_agents_phone_with_the_data_and_the_note() {
    let (run, seen) = run_transfer("xfer-agent", "agent:1002", TransferMode::Blind, false);
    let c = common_checks(&run, &seen);
    let pop = &seen.pops[1];
    assert_eq!(pop.wait_ms, 0, "a direct transfer did not wait: {pop:#?}");
    assert_eq!(legs(&c), [("caller", Some(1), true), ("agent", Some(5), true), ("callee", Some(6), true)], "{c:#?}");
    assert_eq!(c.transfers.len(), 1, "{:#?}", c.transfers);
    let t = &c.transfers[0];
    assert_eq!((t.kind.as_str(), t.target.as_str()), ("blind", "802"), "{t:#?}");
    assert_eq!((t.from_leg, t.to_leg), (Some(c.legs[0].id), Some(c.legs[2].id)), "{t:#?}");
    use QueueEventKind as K;
    assert_eq!(queue_events(&run, &c), [(K::Enter, None), (K::Offer, agent("1001")), (K::Answer, agent("1001"))]);
    assert_eq!(states_1001(&run).last(), Some(&AgentStateKind::Ready));
}

#[test]
fn a_consult_transfer_to_another_agents_extension_keeps_the_data_and_the_note() {
    let (run, seen) = run_transfer("xfer-consult", "802", TransferMode::Attended, false);
    let c = common_checks(&run, &seen);
    assert_eq!(legs(&c), [("caller", Some(1), true), ("agent", Some(5), true), ("consult", Some(6), true)], "{c:#?}");
    assert_eq!(c.transfers.len(), 1, "{:#?}", c.transfers);
    let t = &c.transfers[0];
    assert_eq!((t.kind.as_str(), t.target.as_str()), ("attended", "802"), "{t:#?}");
    assert_eq!((t.from_leg, t.to_leg), (Some(c.legs[0].id), Some(c.legs[2].id)), "{t:#?}");
    let after = seen.after.as_ref().expect("after");
    assert_eq!(after.vars.get("queue").map(String::as_str), Some("q"), "{after:#?}");
}

#[test]
fn a_consult_transfer_to_the_queue_lets_the_agent_talk_to_the_next_agent_first() {
    let (run, seen) = run_transfer("xfer-consult-queue", "queue:q", TransferMode::Attended, false);
    let c = common_checks(&run, &seen);
    assert_eq!(queue_events(&run, &c), through_the_queue_twice());
    assert_eq!(legs(&c), [("caller", Some(1), true), ("agent", Some(5), true), ("agent", Some(6), true)], "{c:#?}");
    assert_eq!(c.transfers.len(), 1, "{:#?}", c.transfers);
    let t = &c.transfers[0];
    assert_eq!((t.kind.as_str(), t.target.as_str()), ("attended", "802"), "{t:#?}");
    assert_eq!((t.from_leg, t.to_leg), (Some(c.legs[0].id), Some(c.legs[2].id)), "{t:#?}");
    // Agent 1 was on the call until the transfer completed, then ready.
    let st = states_1001(&run);
    assert_eq!(
        st[..],
        [AgentStateKind::Ready, AgentStateKind::Offered, AgentStateKind::OnCall, AgentStateKind::Ready],
        "{st:?}"
    );
    // Agent 2 answered the consultation before the transfer completed
    // (3 s of talk between the agents).
    let agent2_up = c.legs[2].answer_board_ms.expect("agent 2 answered");
    let agent1_end = c.legs[1].end_board_ms.expect("agent 1 left");
    assert!(agent1_end >= agent2_up + 2500, "{c:#?}");
}

#[test]
fn completing_a_consultation_still_waiting_in_the_queue_puts_the_caller_in_its_place() {
    let (run, seen) = run_transfer("xfer-consult-queue-early", "queue:q", TransferMode::Attended, true);
    let c = common_checks(&run, &seen);
    assert_eq!(queue_events(&run, &c), through_the_queue_twice());
    assert_eq!(legs(&c), [("caller", Some(1), true), ("agent", Some(5), true), ("agent", Some(6), true)], "{c:#?}");
    assert_eq!(c.transfers.len(), 1, "{:#?}", c.transfers);
    let t = &c.transfers[0];
    assert_eq!((t.kind.as_str(), t.target.as_str(), t.to_leg), ("blind", "queue:q", None), "{t:#?}");
    assert_eq!(t.from_leg, Some(c.legs[0].id), "{t:#?}");
    // Agent 1 left before agent 2 answered.
    let agent2_up = c.legs[2].answer_board_ms.expect("agent 2 answered");
    assert!(c.legs[1].end_board_ms.expect("agent 1 left") <= agent2_up, "{c:#?}");
}

/// Alice talks with agent 1 (11), is held while agent 1 consults the queue
/// (nobody else is logged in), hears agent 1 again once the consultation
/// is cancelled, and hangs up.
const CANCEL_SCENARIO: &str = r#"
[[caller]]
name = "alice"
from = "13800138000"
line = 1
audio = { pattern = 7 }
steps = [
  { at = "1s", do = "call" },
  { wait_for = "answered", timeout = "20s", desc = "the queue answers" },
  { expect = "audio", pattern = 11, within = "10s", desc = "alice talks with agent 1" },
  { expect = "silence", pattern = 11, for = "1s", within = "6s", desc = "alice is held during the consultation" },
  { expect = "audio", pattern = 11, within = "10s", desc = "agent 1 is back after the cancel" },
  { after = "2s", do = "hangup" },
]

[[phone]]
port = 5
number = "801"
auto_answer = 1
hang_up_on_release = "500ms"
audio = { pattern = 11 }
steps = [
  { wait_for = "answered", timeout = "20s", desc = "agent 1 takes alice" },
  { expect = "audio", pattern = 7, within = "3s", desc = "agent 1 hears alice" },
  { expect = "silence", pattern = 7, for = "1s", within = "6s", desc = "agent 1 waits in the queue, not hearing alice" },
  { expect = "audio", pattern = 7, within = "10s", desc = "agent 1 hears alice again" },
  { expect = "on_hook", within = "30s", desc = "alice hung up: agent 1 is released" },
]
"#;

#[test]
fn a_consultation_of_the_queue_nobody_takes_is_cancelled_and_the_caller_is_back() {
    let make = |dir: &std::path::Path| {
        config(dir, "queue:q", ACD).replace("channel = 5\n", "channel = 5\nrelease_loop_open = \"600ms\"\n")
    };
    let during_wait = std::sync::Mutex::new(None);
    let after_cancel = std::sync::Mutex::new(None);
    let run = run_config("xfer-consult-queue-cancel", &format!("{BOARD}{CANCEL_SCENARIO}"), &make, |live| {
        live.at(0, |d| {
            ask(d, CoreRequest::AgentLogin { agent: "1001".into(), extension: None, queues: None });
        });
        let (_, answered) = live.when("agent 1 talks with alice", |c, _| leg_up(c, 1) && leg_up(c, 5), |_, _| {});
        live.at(answered + 2000, |d| {
            let c = alice_call(d).expect("alice's call");
            ask(
                d,
                CoreRequest::Transfer {
                    call: c.call,
                    leg: leg_on(&c, 1),
                    to: "queue:q".into(),
                    mode: TransferMode::Attended,
                },
            );
        });
        live.at(answered + 5000, |d| {
            let c = alice_call(d).expect("alice's call");
            let s = snapshot(d);
            let q = s.queues.iter().find(|q| q.name == "q").expect("queue q");
            *during_wait.lock().unwrap() = Some((q.waiting.len(), c.vars.get("transferred_by").cloned()));
            ask(d, CoreRequest::CancelTransfer { call: c.call });
        });
        live.at(answered + 6000, |d| {
            let c = alice_call(d).expect("alice's call");
            *after_cancel.lock().unwrap() = Some(c.vars.get("transferred_by").cloned());
        });
    });
    run.assert_passed();
    let (waiting, by) = during_wait.into_inner().unwrap().expect("looked during the consultation");
    assert_eq!((waiting, by.as_deref()), (1, Some("1001")), "the consultation waits in the queue, by agent 1");
    let c = run.only_call();
    assert_eq!(cause(&c), Some("far_end_disconnect"), "alice hung up: {c:#?}");
    use QueueEventKind as K;
    assert_eq!(
        queue_events(&run, &c),
        [
            (K::Enter, None),
            (K::Offer, agent("1001")),
            (K::Answer, agent("1001")),
            (K::Transfer, agent("1001")),
            (K::Enter, None),
            (K::Leave, None),
        ]
    );
    assert_eq!(legs(&c), [("caller", Some(1), true), ("agent", Some(5), true)], "{c:#?}");
    assert!(c.transfers.is_empty(), "{:#?}", c.transfers);
    let after = after_cancel.into_inner().unwrap().expect("looked after the cancel");
    assert_eq!(after, None, "transferred_by is put back by the cancel");
}
