//! The ACD end to end: a daemon with a queue of five agents on simulated
//! phones (`ctibox-sim run --fast`), callers arriving on CO lines at
//! seeded Poisson times; what happened is read back from the journal
//! (queue events, agent states, calls).
//!
//! Agents' phones answer after one ring and hang up after `talk_for`
//! (the call's end), so each scenario runs unattended.

#[path = "acd_harness.rs"]
mod acd;
#[path = "daemon_flows_harness.rs"]
mod harness;

use std::path::Path;

use acd::{
    AGENTS, ALIKE, LINES, Phone, answers_by_agent, common_checks, config, numbers, offers_seen, poisson_arrivals,
    queue_events, run_logged_in, run_queue, scenario, states,
};
use ctibox_daemon::core::{CoreRequest, CtiEventKind};
use ctibox_daemon::records::{AgentStateKind, AssignedAgent, CallId, NewCustomer, QueueEventKind};
use harness::{ask, run_config};

#[test]
fn fewest_calls_spreads_poisson_arrivals_evenly() {
    let n = 20;
    let arrivals = poisson_arrivals(n, 3000, 6000.0, 11);
    let run = run_queue("acd-fewest", "fewest_calls", "", &arrivals, &numbers(n), &[ALIKE; AGENTS], |_| {});
    common_checks(&run, n);
    let events = queue_events(&run);
    let counts = answers_by_agent(&events);
    assert_eq!(counts.values().sum::<u32>(), n as u32, "{events:#?}");
    assert_eq!(counts.len(), AGENTS, "every agent took calls: {counts:?}");
    let (min, max) = (counts.values().min().unwrap(), counts.values().max().unwrap());
    assert!(max - min <= 1, "fewest calls: counts differ by at most 1: {counts:?}");
}

#[test]
fn longest_idle_always_offers_the_agent_idle_longest() {
    let n = 16;
    let arrivals = poisson_arrivals(n, 3000, 5000.0, 5);
    let run = run_queue("acd-idle", "longest_idle", "", &arrivals, &numbers(n), &[ALIKE; AGENTS], |_| {});
    common_checks(&run, n);
    // Replay the agents' states: at each offer, the agent chosen must be
    // the ready one whose last `ready` began earliest.
    let offers = offers_seen(&run);
    for o in &offers {
        let best = o.ready.iter().min_by_key(|(a, t)| (**t, *a)).map(|(a, _)| a.as_str());
        assert_eq!(
            best,
            Some(o.agent.as_str()),
            "offer at {} ms went to {}; ready: {:?}",
            o.board_ms,
            o.agent,
            o.ready
        );
    }
    let offers = offers.len();
    assert!(offers >= n, "{offers} offers for {n} calls");
}

#[test]
fn a_vip_caller_is_answered_before_earlier_callers() {
    // Six callers while five agents talk: the fifth caller (the second to
    // wait) is a VIP customer; the first agent free takes the VIP.
    let arrivals = vec![3000, 3500, 4000, 4500, 5000, 8000, 9000];
    let nums = numbers(arrivals.len());
    let vip = nums[6].clone();
    let run = run_queue("acd-vip", "linear", "", &arrivals, &nums, &[ALIKE; AGENTS], |d| {
        d.records
            .handle()
            .create_customer(NewCustomer {
                name: "Big Buyer".into(),
                vip: 7,
                phones: vec![vip.clone()],
                ..NewCustomer::default()
            })
            .expect("customer");
    });
    common_checks(&run, arrivals.len());
    let calls = run.calls();
    let call_of = |num: &str| calls.iter().find(|c| c.caller_number == num).map(|c| c.id).expect("call");
    let events = queue_events(&run);
    let answered_at = |call: CallId| {
        events.iter().find(|e| e.0 == call && e.1 == QueueEventKind::Answer).map(|e| e.3).expect("answered")
    };
    let (normal, vip_call) = (call_of(&nums[5]), call_of(&vip));
    assert!(answered_at(vip_call) < answered_at(normal), "the VIP (arrived 1 s later) is answered first: {events:#?}");
}

#[test]
fn no_answer_goes_to_the_next_agent_and_the_first_goes_not_ready() {
    let mut phones = [ALIKE; AGENTS];
    phones[0] = Phone { answer: None, talk_s: 0 };
    let run = run_queue("acd-noanswer", "linear", "offer_timeout = \"8s\"", &[3000], &numbers(1), &phones, |_| {});
    common_checks(&run, 1);
    let events = queue_events(&run);
    let kinds: Vec<(QueueEventKind, Option<&str>)> = events.iter().map(|e| (e.1, e.2.as_deref())).collect();
    assert_eq!(
        kinds,
        vec![
            (QueueEventKind::Enter, None),
            (QueueEventKind::Offer, Some("1001")),
            (QueueEventKind::NoAnswer, Some("1001")),
            (QueueEventKind::Offer, Some("1002")),
            (QueueEventKind::Answer, Some("1002")),
        ],
        "{events:#?}"
    );
    let offer = events[1].3;
    let no_answer = events[2].3;
    assert!((8000..8200).contains(&(no_answer - offer)), "offer timeout 8 s: {offer} → {no_answer}");
    let st = &states(&run)["1001"];
    let last = st.last().expect("states");
    assert_eq!((last.state, last.reason.as_str()), (AgentStateKind::NotReady, "no_answer"), "{st:#?}");
}

#[test]
fn the_screen_pop_arrives_before_the_second_ring_with_the_customer() {
    let nums = numbers(1);
    let scen = scenario(&[3000], &nums, &[Phone { answer: Some(2), talk_s: 5 }; AGENTS]);
    let pops = std::sync::Mutex::new(Vec::new());
    let run = run_config("acd-pop", &scen, &|dir| config(dir, "linear", ""), |live| {
        let mut rx = live.daemon.core.subscribe();
        live.at(0, |d| {
            for i in 1..=AGENTS {
                ask(d, CoreRequest::AgentLogin { agent: format!("100{i}"), extension: None, queues: None });
            }
            d.records
                .handle()
                .create_customer(NewCustomer {
                    name: "Zhang Wei".into(),
                    company: "Truck Co".into(),
                    phones: vec![nums[0].clone()],
                    ..NewCustomer::default()
                })
                .expect("customer");
        });
        let start = std::time::Instant::now();
        while start.elapsed() < std::time::Duration::from_secs(60) {
            match rx.try_recv() {
                Ok(ev) => {
                    if let CtiEventKind::ScreenPop { pop } = ev.kind {
                        pops.lock().unwrap().push((ev.at_ms, *pop));
                        break;
                    }
                }
                Err(tokio::sync::broadcast::error::TryRecvError::Empty) => {
                    std::thread::sleep(std::time::Duration::from_millis(1))
                }
                Err(tokio::sync::broadcast::error::TryRecvError::Lagged(_)) => {}
                Err(e) => panic!("events: {e}"),
            }
        }
    });
    common_checks(&run, 1);
    let pops = pops.into_inner().unwrap();
    let (at, pop) = pops.first().expect("a screen pop");
    assert_eq!(pop.agent, "1001");
    assert_eq!(pop.caller_number, nums[0]);
    assert_eq!(pop.queue, "q");
    let customer = pop.customer.as_ref().expect("the customer record in the pop");
    assert_eq!(customer["name"], "Zhang Wei");
    assert_eq!(customer["company"], "Truck Co");
    // The phone starts ringing with the offer; its second ring comes one
    // cadence later (CN: 1 s on, 4 s off).
    let offered = states(&run)["1001"].iter().find(|s| s.state == AgentStateKind::Offered).map(|s| s.board_ms).unwrap();
    assert!((*at as i64) < offered + 5000, "pop at {at} ms, offer at {offered} ms");
}

#[test]
fn agents_log_in_and_change_state_with_feature_codes_on_their_phones() {
    // Agent 1001 (PIN 1234) at 801, channel LINES+1, logs in from the phone:
    // first with a wrong PIN (refused), then right; takes a caller; then
    // goes not ready with reason 12 and finally logs out.
    let nums = numbers(1);
    let mut scen = scenario(&[20_000], &nums, &[Phone { answer: Some(1), talk_s: 5 }; AGENTS]);
    scen += &format!(
        r#"
[[timeline]]
actor = "phone:{port}"
steps = [
  {{ at = "1s", do = "offhook" }},
  {{ after = "1s", do = "dial", digits = "*511001*9999#" }},
  {{ expect = "busy", within = "8s", desc = "refused: a spoken refusal, then the release tone" }},
  {{ after = "200ms", do = "hangup" }},
  {{ after = "2s", do = "offhook", desc = "on-hook longer than a flash" }},
  {{ after = "1s", do = "dial", digits = "*511001*1234#" }},
  {{ expect = "busy", within = "8s", desc = "logged in: confirmation, then the release tone" }},
  {{ after = "200ms", do = "hangup" }},
  {{ wait_for = "ringing", timeout = "30s", desc = "the queue offers the caller to the agent" }},
  {{ at = "40s", do = "offhook" }},
  {{ after = "1s", do = "dial", digits = "*5412#" }},
  {{ expect = "busy", within = "8s" }},
  {{ after = "200ms", do = "hangup" }},
  {{ at = "55s", do = "offhook" }},
  {{ after = "1s", do = "dial", digits = "*52" }},
  {{ expect = "busy", within = "10s", desc = "*52 completes after the match timeout" }},
  {{ after = "200ms", do = "hangup" }},
]
"#,
        port = LINES + 1
    );
    let cfg = |dir: &Path| {
        config(dir, "linear", "").replace(
            "[[agent]]\nid = \"1001\"\nname = \"Agent 1\"\n",
            "[[agent]]\nid = \"1001\"\nname = \"Agent 1\"\npin = \"1234\"\n",
        )
    };
    assert!(cfg(Path::new("/tmp")).contains("pin = \"1234\""), "the PIN is in the config");
    let run = run_config("acd-codes", &scen, &cfg, |_| {});
    common_checks(&run, 1);
    let st = &states(&run)["1001"];
    let seq: Vec<(AgentStateKind, &str, Option<&str>)> =
        st.iter().map(|s| (s.state, s.reason.as_str(), s.extension.as_deref())).collect();
    let login = st.first().expect("a login").board_ms;
    assert!(
        (10_000..16_000).contains(&login),
        "the wrong PIN at ~2 s logged nobody in; the right one at ~10 s did: {st:#?}"
    );
    assert_eq!(seq.first().map(|s| (s.0, s.2)), Some((AgentStateKind::Ready, Some("801"))), "{st:#?}");
    assert!(seq.contains(&(AgentStateKind::OnCall, "", Some("801"))), "{st:#?}");
    let tail: Vec<(AgentStateKind, &str)> = seq.iter().rev().take(2).rev().map(|s| (s.0, s.1)).collect();
    assert_eq!(tail, vec![(AgentStateKind::NotReady, "12"), (AgentStateKind::LoggedOut, "")], "{st:#?}");
    let answered = queue_events(&run).into_iter().find(|e| e.1 == QueueEventKind::Answer).expect("answered");
    assert_eq!(answered.2.as_deref(), Some("1001"));
}

#[test]
fn wrap_up_keeps_an_agent_from_the_next_call_until_it_is_over() {
    // Linear: 1001 first whenever ready. Its first call ends at ~9 s; with
    // a 10 s wrap-up the caller at 12 s goes to 1002, the one at 25 s to
    // 1001 again.
    let arrivals = vec![3000, 12_000, 25_000];
    let phones = [Phone { answer: Some(1), talk_s: 5 }; AGENTS];
    let run = run_queue("acd-wrap", "linear", "wrap_up = \"10s\"", &arrivals, &numbers(3), &phones, |_| {});
    common_checks(&run, 3);
    let events = queue_events(&run);
    let answers: Vec<Option<&str>> =
        events.iter().filter(|e| e.1 == QueueEventKind::Answer).map(|e| e.2.as_deref()).collect();
    assert_eq!(answers, vec![Some("1001"), Some("1002"), Some("1001")], "{events:#?}");
    let st = &states(&run)["1001"];
    let wrap = st.iter().position(|s| s.state == AgentStateKind::WrapUp).expect("a wrap-up");
    let (from, to) = (st[wrap].board_ms, st[wrap + 1].board_ms);
    assert_eq!(st[wrap + 1].state, AgentStateKind::Ready, "{st:#?}");
    assert!((10_000..10_100).contains(&(to - from)), "wrap-up lasted {} ms: {st:#?}", to - from);
}

#[test]
fn max_wait_sends_the_caller_to_the_overflow_target() {
    // Four agents talk a minute; the fifth caller waits 15 s, then goes to
    // extension 805 (whose agent is logged out), which answers.
    let arrivals = vec![3000, 3500, 4000, 4500, 5000];
    let nums = numbers(5);
    let phones = [Phone { answer: Some(1), talk_s: 60 }; AGENTS];
    let run = run_queue(
        "acd-maxwait",
        "linear",
        "max_wait = \"15s\"\noverflow = \"ext:805\"",
        &arrivals,
        &nums,
        &phones,
        |d| {
            ask(d, CoreRequest::AgentLogout { agent: "1005".into() });
        },
    );
    common_checks(&run, 5);
    let calls = run.calls();
    let last = calls.iter().find(|c| c.caller_number == nums[4]).expect("the fifth call");
    let events = run.reader.queue_events_of_call(last.id).expect("events").unwrap_or_default();
    let kinds: Vec<QueueEventKind> = events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, vec![QueueEventKind::Enter, QueueEventKind::Timeout], "{events:#?}");
    let (entered, left) = (events[0].board_ms, events[1].board_ms);
    assert!((15_000..15_100).contains(&(left - entered)), "waited {} ms", left - entered);
    let to_805 = last.legs.iter().find(|l| l.channel == Some((LINES + 5) as u32)).expect("805 was rung");
    assert!(to_805.answer_board_ms.is_some(), "805 answered the overflow: {last:#?}");
}

#[test]
fn a_callback_keeps_the_callers_place_and_the_customer_is_called_back() {
    // Five agents talk 30 s. Caller 6 (6 s) presses 1 for a callback and
    // hangs up; caller 7 (15 s) waits on the line. When agents free up
    // (~34 s), the callback comes first: an agent is rung, then caller 6's
    // number is dialled (the simulated party answers).
    let nums = numbers(7);
    // Lines signal the far end's answer by polarity reversal (the party
    // is silent, so voice could not tell).
    let mut scen =
        scenario(&[3000, 3500, 4000, 4500, 5000], &nums[..5], &[Phone { answer: Some(1), talk_s: 30 }; AGENTS])
            .replace("caller_id = \"fsk\"\n", "caller_id = \"fsk\"\nanswer_supervision = true\n");
    scen += &format!(
        r#"
[[caller]]
name = "cb"
from = "{cb}"
line = 6
steps = [
  {{ at = "6s", do = "call" }},
  {{ wait_for = "answered", timeout = "20s", desc = "the queue answers" }},
  {{ after = "2s", do = "dtmf", digits = "1" }},
  {{ expect = "ended", within = "15s", desc = "callback confirmed, line released" }},
]

[[caller]]
name = "late"
from = "{late}"
line = 7
steps = [
  {{ at = "15s", do = "call" }},
  {{ wait_for = "answered", timeout = "20s" }},
  {{ wait_for = "ended", timeout = "5m" }},
]

[[party]]
name = "back"
number = "{cb}"
behaviour = "answer"
answer_after = "2s"
talk_for = "10s"
"#,
        cb = nums[5],
        late = nums[6]
    );
    let run = run_logged_in("acd-callback", &scen, &|dir| config(dir, "linear", "callback_key = \"1\""), |_| {});
    common_checks(&run, 7);
    let calls = run.calls();
    let call_of = |num: &str| calls.iter().find(|c| c.caller_number == num).expect("call");
    let (cb, late) = (call_of(&nums[5]), call_of(&nums[6]));
    let ev = |c: &ctibox_daemon::records::CallRecord| {
        run.reader.queue_events_of_call(c.id).expect("events").unwrap_or_default()
    };
    let (cb_ev, late_ev) = (ev(cb), ev(late));
    let kinds: Vec<QueueEventKind> = cb_ev.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        vec![QueueEventKind::Enter, QueueEventKind::Callback, QueueEventKind::Offer, QueueEventKind::Answer],
        "{cb_ev:#?}"
    );
    let offered = |evs: &[ctibox_daemon::records::QueueEventRecord]| {
        evs.iter().find(|e| e.kind == QueueEventKind::Offer).map(|e| e.board_ms).expect("offered")
    };
    assert!(offered(&cb_ev) <= offered(&late_ev), "the callback kept its place: {cb_ev:#?} {late_ev:#?}");
    // The customer was dialled back over a line after the agent answered.
    let agent_up = cb.legs.iter().find(|l| l.role.as_str() == "agent").and_then(|l| l.answer_board_ms).expect("agent");
    let back = cb
        .legs
        .iter()
        .find(|l| l.party_number == nums[5] && l.start_board_ms >= agent_up)
        .expect("the customer's number was dialled after the agent answered");
    assert!(back.answer_board_ms.is_some(), "the customer answered the callback: {cb:#?}");
}

#[test]
fn a_customers_personal_manager_is_offered_first_then_the_queue_after_the_sticky_time() {
    // Linear would pick 1001 first. Customers A and B have 1003 as their
    // personal manager. At 10 s 1003 talks (with 1001 and 1002): A waits
    // the 20 s sticky time although 1004 is ready, then goes to 1004. At
    // 75 s everyone is free: B goes straight to 1003.
    let arrivals = vec![3000, 3500, 4000, 10_000, 75_000];
    let nums = numbers(5);
    let phones = [Phone { answer: Some(1), talk_s: 60 }; AGENTS];
    let run = run_queue("acd-sticky", "linear", "sticky = \"20s\"", &arrivals, &nums, &phones, |d| {
        for (name, num) in [("A", &nums[3]), ("B", &nums[4])] {
            d.records
                .handle()
                .create_customer(NewCustomer {
                    name: format!("Customer {name}"),
                    assigned: Some(AssignedAgent::Name("1003".into())),
                    phones: vec![num.clone()],
                    ..NewCustomer::default()
                })
                .expect("customer");
        }
    });
    common_checks(&run, 5);
    let calls = run.calls();
    let answer = |num: &str| {
        let c = calls.iter().find(|c| c.caller_number == num).expect("call");
        let ev = run.reader.queue_events_of_call(c.id).expect("events").unwrap_or_default();
        let entered = ev.iter().find(|e| e.kind == QueueEventKind::Enter).expect("entered").board_ms;
        let a = ev.iter().find(|e| e.kind == QueueEventKind::Answer).expect("answered");
        (a.agent.clone().unwrap_or_default(), a.board_ms - entered)
    };
    let (a_agent, a_wait) = answer(&nums[3]);
    assert_eq!(a_agent, "1004", "after the sticky time, the queue's next agent");
    assert!((20_000..22_000).contains(&a_wait), "A waited the sticky time for 1003: {a_wait} ms");
    let (b_agent, b_wait) = answer(&nums[4]);
    assert_eq!(b_agent, "1003", "B goes to its personal manager, not linear's 1001");
    assert!(b_wait < 2000, "B was offered at once: {b_wait} ms");
}
