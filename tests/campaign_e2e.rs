//! Outbound campaigns end to end: a daemon dials a campaign's numbers
//! through simulated CO lines (`ctibox-sim run --fast`) to simulated
//! parties that answer, are busy, do not answer or are fax machines;
//! answered parties go to the campaign queue's agents on simulated phones.
//! What happened is read back from the records (numbers, attempts, queue
//! events, the call journal).

#[path = "daemon_flows_harness.rs"]
mod harness;

use std::collections::BTreeMap;
use std::path::Path;

use ctibox_daemon::core::{CoreReply, CoreRequest};
use ctibox_daemon::records::{CallResult, NumberState, QueueEventKind};
use harness::{Run, ask, run_config};

/// CO lines of the trunk.
const LINES: usize = 3;
/// Agents 1001… at extensions 801… (channels LINES+1…).
const AGENTS: usize = 3;

/// How a called party behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Party {
    Answer,
    Busy,
    NoAnswer,
    Fax,
    /// No party has the number (the exchange says so).
    Unknown,
    /// On the do-not-call list.
    Dnc,
}

fn number(k: usize) -> String {
    format!("1390000{k:04}")
}

/// The 50 numbers: answer, answer, busy, no answer, fax, in turn; number
/// 47 is unknown to the exchange, 48 goes on the do-not-call list, 49
/// answers.
fn parties() -> Vec<Party> {
    (0..50)
        .map(|k| match k {
            47 => Party::Unknown,
            48 => Party::Dnc,
            49 => Party::Answer,
            _ => [Party::Answer, Party::Answer, Party::Busy, Party::NoAnswer, Party::Fax][k % 5],
        })
        .collect()
}

/// The world: LINES CO lines, the agents' phones (answer after a ring,
/// talk 4 s), the parties, and a spare phone whose one step keeps the
/// scenario going until `horizon`.
fn scenario(parties: &[Party], horizon: &str, agents_talk: Option<&str>) -> String {
    let mut s =
        format!("[board]\nfxo = {LINES}\nfxs = {}\nlaw = \"alaw\"\ncountry = \"CN\"\nmax_time = \"30m\"\n", AGENTS + 1);
    for l in 1..=LINES {
        s += &format!(
            "\n[[line]]\nport = {l}\nnumber = \"888800{l:02}\"\ndisconnect = [\"loop_drop\"]\nloop_drop = \"600ms\"\n"
        );
    }
    for i in 1..=AGENTS {
        s += &format!("\n[[phone]]\nport = {}\nnumber = \"80{i}\"\nhang_up_on_release = \"1s\"\n", LINES + i);
        if let Some(talk) = agents_talk {
            s += &format!("auto_answer = 1\ntalk_for = \"{talk}\"\n");
        }
    }
    s += &format!(
        "\n[[phone]]\nport = {}\nnumber = \"899\"\nsteps = [ {{ at = \"{horizon}\", expect = \"on_hook\", within = \"1s\" }} ]\n",
        LINES + AGENTS + 1
    );
    for (k, p) in parties.iter().enumerate() {
        let behaviour = match p {
            Party::Answer => "answer",
            Party::Busy => "busy",
            Party::NoAnswer => "no_answer",
            Party::Fax => "fax",
            Party::Unknown | Party::Dnc => continue,
        };
        // A person says something when answering (the line's answer
        // detection listens for voice).
        s += &format!(
            "\n[[party]]\nname = \"p{k}\"\nnumber = \"{}\"\nbehaviour = \"{behaviour}\"\nanswer_after = \"2s\"\naudio = {{ wav = \"{}\" }}\n",
            number(k),
            concat!(env!("CARGO_MANIFEST_DIR"), "/../prompts/en/welcome.wav")
        );
    }
    s
}

/// The daemon: the trunk, a queue of the agents, the campaign.
fn config(dir: &Path, queue_extra: &str, campaign_extra: &str) -> String {
    let mut c = format!(
        r#"
[system]
country = "CN"
data_dir = "{dir}"

[board]
backend = "sim"

[[trunk]]
name = "pstn"
channels = "1-{LINES}"
number = "88880000"
disconnect = ["loop_drop"]
inbound = "queue:out"

[dial_plan]
digit_map = ["8XX"]

[[dial_plan.route]]
pattern = "8XX"
to = "ext"

[[queue]]
name = "out"
strategy = "longest_idle"
members = [{members}]
{queue_extra}

[[campaign]]
name = "spring"
queue = "out"
trunk = "pstn"
max_lines = {LINES}
ring_timeout = "8s"
retry.busy = {{ after = "20s", max = 2 }}
retry.no_answer = {{ after = "30s", max = 1 }}
retry.fax = {{ max = 0 }}
retry.failed = {{ after = "10s", max = 1 }}
{campaign_extra}
"#,
        dir = dir.display(),
        members = (1..=AGENTS).map(|i| format!("\"100{i}\"")).collect::<Vec<_>>().join(", ")
    );
    for i in 1..=AGENTS {
        c += &format!(
            "\n[[extension]]\nnumber = \"80{i}\"\nchannel = {}\n\n[[agent]]\nid = \"100{i}\"\nname = \"Agent {i}\"\nextension = \"80{i}\"\n",
            LINES + i
        );
    }
    c
}

/// Import the numbers and put those of [`Party::Dnc`] on the do-not-call
/// list.
fn import(d: &ctibox_daemon::daemon::Daemon, parties: &[Party]) {
    let mut csv = String::from("name,phone\n");
    for k in 0..parties.len() {
        csv += &format!("Customer {k},{}\n", number(k));
    }
    let report = d.records.handle().import_campaign_numbers("spring", csv.as_bytes(), false).expect("import");
    assert_eq!(report.added, parties.len(), "{report:?}");
    ask(d, CoreRequest::CampaignNumbersAdded { campaign: "spring".into() });
    for (k, p) in parties.iter().enumerate() {
        if *p == Party::Dnc {
            ask(d, CoreRequest::DoNotCall { number: number(k), reason: "asked not to be called".into() });
        }
    }
}

/// [`import`], and every agent logs in.
fn start_campaign(d: &ctibox_daemon::daemon::Daemon, parties: &[Party]) {
    import(d, parties);
    for i in 1..=AGENTS {
        ask(d, CoreRequest::AgentLogin { agent: format!("100{i}"), extension: None, queues: None });
    }
}

fn campaign_view(d: &ctibox_daemon::daemon::Daemon) -> ctibox_daemon::core::CampaignView {
    match ask(d, CoreRequest::Campaigns) {
        CoreReply::Campaigns { campaigns } => campaigns.into_iter().find(|c| c.name == "spring").expect("campaign"),
        other => panic!("campaigns: {other:?}"),
    }
}

fn run_campaign(tag: &str, parties: &[Party], horizon_min: u64) -> (Run, bool) {
    let scen = scenario(parties, &format!("{horizon_min}m"), Some("4s"));
    let mut finished = false;
    let run = run_config(tag, &scen, &|dir| config(dir, "", ""), |live| {
        live.at(0, |d| start_campaign(d, parties));
        // Until the campaign is done (or the horizon is near).
        let horizon_ms = horizon_min * 60_000;
        let mut t = 10_000;
        while t < horizon_ms {
            let mut done = false;
            live.at(t, |d| done = campaign_view(d).summary.finished);
            if done {
                finished = true;
                break;
            }
            t += 10_000;
        }
    });
    (run, finished)
}

#[test]
fn a_campaign_of_50_numbers_ends_with_the_right_result_per_number_and_its_retries() {
    let parties = parties();
    let (run, finished) = run_campaign("campaign50", &parties, 15);
    run.assert_passed();
    assert!(finished, "the campaign finished before the scenario's end:\n{}", run.out);
    let results = run.reader.campaign_results("spring").expect("results");
    assert_eq!(results.len(), 50);
    let mut by_result: BTreeMap<String, u32> = BTreeMap::new();
    for (k, r) in results.iter().enumerate() {
        let n = &r.number;
        assert_eq!(n.digits, number(k), "import order is dialling order");
        assert_eq!(n.state, NumberState::Done, "number {k} is done: {r:#?}");
        let (result, attempts) = match parties[k] {
            Party::Answer => (CallResult::Answered, 1),
            Party::Busy => (CallResult::Busy, 3),
            Party::NoAnswer => (CallResult::NoAnswer, 2),
            Party::Fax => (CallResult::Fax, 1),
            Party::Unknown => (CallResult::Failed, 2),
            Party::Dnc => (CallResult::Dnc, 0),
        };
        let first_call = r.attempt_list.first().and_then(|a| a.call).and_then(|c| run.reader.call(c).ok().flatten());
        assert_eq!(n.result, Some(result), "number {k} ({:?}): {r:#?}\nits first call: {first_call:#?}", parties[k]);
        assert_eq!(n.attempts, attempts, "number {k} ({:?}) attempts: {r:#?}", parties[k]);
        assert_eq!(r.attempt_list.len(), attempts as usize, "an attempt row per dial: {r:#?}");
        *by_result.entry(result.as_str().to_string()).or_insert(0) += 1;
        let mut calls = Vec::new();
        for (i, a) in r.attempt_list.iter().enumerate() {
            assert_eq!(a.attempt, i as u32 + 1);
            assert_eq!(a.result, result, "the same result each time: {r:#?}");
            assert!(a.ended_wall_ms.is_some(), "attempt ended: {r:#?}");
            let call = a.call.expect("each dial is a call in the journal");
            let c = run.reader.call(call).expect("journal").expect("the call");
            assert_eq!(c.called_number, number(k));
            assert!(c.end_board_ms.is_some(), "{c:#?}");
            calls.push(c);
        }
        // Retries wait as configured (board time, from the end of one call
        // to the start of the next): busy 20 s, no answer 30 s, failed 10 s.
        let after_ms = match result {
            CallResult::Busy => 20_000,
            CallResult::NoAnswer => 30_000,
            CallResult::Failed => 10_000,
            _ => 0,
        };
        for w in calls.windows(2) {
            let gap = w[1].start_board_ms - w[0].end_board_ms.unwrap_or(i64::MAX);
            assert!(gap >= after_ms - 20, "number {k}: retry {gap} ms after the last call, not {after_ms}: {calls:#?}");
        }
    }
    assert_eq!(
        by_result,
        BTreeMap::from([
            ("answered".to_string(), 21),
            ("busy".to_string(), 9),
            ("dnc".to_string(), 1),
            ("failed".to_string(), 1),
            ("fax".to_string(), 9),
            ("no_answer".to_string(), 9),
        ])
    );
    // Answered parties talked to an agent: an answer queue event each.
    let mut answered_by: BTreeMap<String, u32> = BTreeMap::new();
    for r in &results {
        if r.number.result != Some(CallResult::Answered) {
            continue;
        }
        let call = r.attempt_list[0].call.expect("call");
        let events = run.reader.queue_events_of_call(call).expect("queue events").unwrap_or_default();
        let answer = events.iter().find(|e| e.kind == QueueEventKind::Answer).unwrap_or_else(|| {
            panic!("number {} was answered by an agent: {events:#?}", r.number.digits);
        });
        *answered_by.entry(answer.agent.clone().unwrap_or_default()).or_insert(0) += 1;
    }
    assert_eq!(answered_by.values().sum::<u32>(), 21);
    assert_eq!(answered_by.len(), AGENTS, "every agent took calls: {answered_by:?}");
}

/// A paused campaign dials nothing until it is resumed; an answered party
/// whose agent lets the offer ring out hears the apology once no agent's
/// phone rings for it for `agent_wait`, and the number waits for its
/// `abandoned` retry; with no agent ready, nothing more is dialled.
#[test]
fn a_paused_campaign_waits_and_an_answered_party_nobody_takes_is_abandoned() {
    let parties = [Party::Answer, Party::Answer];
    let scen = scenario(&parties, "3m", None);
    let mut resumed_at = 0;
    let run = run_config(
        "campaign-abandon",
        &scen,
        &|dir| {
            config(dir, "offer_timeout = \"5s\"", "agent_wait = \"2s\"\nretry.abandoned = { after = \"10m\", max = 1 }")
        },
        |live| {
            live.at(0, |d| {
                import(d, &parties);
                ask(d, CoreRequest::CampaignPause { campaign: "spring".into(), paused: true, by: "tester".into() });
                ask(d, CoreRequest::AgentLogin { agent: "1001".into(), extension: None, queues: None });
            });
            live.at(20_000, |d| {
                let v = campaign_view(d);
                assert!(v.summary.paused, "{v:?}");
                assert_eq!((v.summary.pending, v.calls_out, v.ready_agents), (2, 0, 1), "nothing dialled: {v:?}");
            });
            resumed_at = live.at(20_000, |d| {
                ask(d, CoreRequest::CampaignPause { campaign: "spring".into(), paused: false, by: "tester".into() });
            });
        },
    );
    run.assert_passed();
    let results = run.reader.campaign_results("spring").expect("results");
    let (first, second) = (&results[0], &results[1]);
    assert_eq!(first.number.state, NumberState::RetryWait, "{first:#?}");
    assert_eq!(first.number.attempts, 1, "{first:#?}");
    assert_eq!(first.attempt_list.len(), 1);
    let a = &first.attempt_list[0];
    assert_eq!(a.result, CallResult::Abandoned, "{first:#?}");
    assert!(a.started_board_ms >= resumed_at as i64, "dialled after the resume at {resumed_at}: {a:#?}");
    // Nobody is ready after the offer rang out: the second is not dialled.
    assert_eq!((second.number.state, second.number.attempts), (NumberState::Pending, 0), "{second:#?}");
    let call = a.call.expect("call");
    let c = run.reader.call(call).expect("journal").expect("call");
    assert_eq!(c.cause_detail, "no agent was free: the apology was played", "{c:#?}");
    let kinds: Vec<(QueueEventKind, Option<String>)> = run
        .reader
        .queue_events_of_call(call)
        .expect("queue events")
        .unwrap_or_default()
        .into_iter()
        .map(|e| (e.kind, e.agent))
        .collect();
    let agent = Some("1001".to_string());
    assert_eq!(
        kinds,
        vec![
            (QueueEventKind::Enter, None),
            (QueueEventKind::Offer, agent.clone()),
            (QueueEventKind::NoAnswer, agent),
            (QueueEventKind::Leave, None),
        ]
    );
    // The offer rang 5 s, then 2 s without an agent ringing: the apology
    // starts 7 s after the answer (a tick or two of slack).
    let answered = c.answer_board_ms.expect("answered");
    let leave = run.reader.queue_events_of_call(call).expect("q").unwrap_or_default().last().map(|e| e.board_ms);
    let waited = leave.expect("leave") - answered;
    assert!((6_960..=7_100).contains(&waited), "left the queue {waited} ms after the answer");
    let paused = run.reader.campaign_paused("spring").expect("paused state");
    assert_eq!(paused.map(|(p, by, _)| (p, by)), Some((false, "tester".to_string())));
}

/// Waits (board time, polling every half second) until agent 1001 has a
/// number on screen; its number and the board time.
fn preview_shown(live: &harness::Live<'_>, from_ms: u64) -> (String, u64) {
    let mut t = from_ms;
    loop {
        let mut shown = None;
        let at = live.at(t, |d| shown = campaign_view(d).previews.iter().find(|p| p.agent == "1001").cloned());
        if let Some(p) = shown {
            assert_eq!((p.state.as_str(), p.campaign.as_str()), ("offered", "spring"));
            return (p.number, at);
        }
        t = at + 500;
        assert!(t < 600_000, "no preview for agent 1001 by board time {t} ms");
    }
}

/// Preview dialling: the agent sees each number first; a skipped number
/// waits without an attempt; an accepted one rings the agent's phone, then
/// is dialled (busy: retried; answered: talking); a preview left alone
/// expires and the agent goes not ready.
#[test]
fn preview_dialling_shows_the_number_first_and_the_agent_skips_or_accepts() {
    let parties = [Party::Answer, Party::Busy, Party::Answer];
    let scen = scenario(&parties, "2m", Some("20s"));
    let mut shown = Vec::new();
    let run = run_config(
        "campaign-preview",
        &scen,
        &|dir| config(dir, "", "mode = \"preview\"\npreview_timeout = \"20s\""),
        |live| {
            live.at(0, |d| {
                import(d, &parties);
                ask(d, CoreRequest::AgentLogin { agent: "1001".into(), extension: None, queues: None });
            });
            let (n, at) = preview_shown(live, 0);
            shown.push((n, at));
            live.at(at, |d| {
                ask(d, CoreRequest::Preview { agent: "1001".into(), accept: false });
                // Nothing is previewed twice.
                let err = d.core.request(
                    CoreRequest::Preview { agent: "1001".into(), accept: true },
                    std::time::Duration::from_secs(5),
                );
                assert!(err.is_err() || campaign_view(d).previews.len() == 1, "{err:?}");
            });
            let (n, at) = preview_shown(live, at);
            shown.push((n, at));
            live.at(at, |d| {
                ask(d, CoreRequest::Preview { agent: "1001".into(), accept: true });
            });
            // Busy: the agent is free again and sees the next number.
            let (n, at) = preview_shown(live, at + 1_000);
            shown.push((n, at));
            live.at(at, |d| {
                ask(d, CoreRequest::Preview { agent: "1001".into(), accept: true });
            });
            // The next one (the busy number's retry) is left alone.
            let (n, at) = preview_shown(live, at + 1_000);
            shown.push((n, at));
        },
    );
    run.assert_passed();
    let order: Vec<&str> = shown.iter().map(|(n, _)| n.as_str()).collect();
    // The busy number comes back after its 20 s retry delay (the skipped
    // one only after 5 minutes).
    assert_eq!(order, vec![number(0).as_str(), &number(1), &number(2), &number(1)], "{shown:?}");
    assert!(shown[3].1 >= shown[1].1 + 20_000, "the busy retry waits 20 s: {shown:?}");
    let results = run.reader.campaign_results("spring").expect("results");
    // Skipped, then expired: never an attempt.
    assert_eq!((results[0].number.state, results[0].number.attempts), (NumberState::RetryWait, 0), "{:#?}", results[0]);
    assert!(results[0].attempt_list.is_empty());
    // Busy once, then its retry expired on screen: still one attempt.
    assert_eq!((results[1].number.state, results[1].number.attempts), (NumberState::RetryWait, 1));
    assert_eq!(results[1].attempt_list[0].result, CallResult::Busy, "{:#?}", results[1]);
    assert_eq!((results[2].number.state, results[2].number.result), (NumberState::Done, Some(CallResult::Answered)));
    // The answered call: the agent's phone first, then the line.
    let call = results[2].attempt_list[0].call.expect("call");
    let c = run.reader.call(call).expect("journal").expect("call");
    let legs: Vec<(String, bool)> =
        c.legs.iter().map(|l| (l.role.as_str().to_string(), l.answer_board_ms.is_some())).collect();
    assert_eq!(legs, vec![("agent".to_string(), true), ("callee".to_string(), true)], "{c:#?}");
    assert_eq!(c.called_number, number(2));
    // The preview left alone expired: the agent is not ready.
    let page = run
        .reader
        .agent_history("1001", &ctibox_daemon::records::HistoryRequest { limit: 100, ..Default::default() })
        .expect("history");
    let last = page.states.last().expect("states");
    assert_eq!(
        (last.state, last.reason.as_str()),
        (ctibox_daemon::records::AgentStateKind::NotReady, "no_answer"),
        "{:#?}",
        page.states
    );
}
