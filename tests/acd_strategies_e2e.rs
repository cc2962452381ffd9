//! The ACD's strategies end to end, one scenario each for those
//! `acd_e2e.rs` does not cover (`ring_all`, `round_robin`,
//! `least_talk_time`, `linear`, `weighted_random`), and skills with
//! relaxation behind an IVR flow: a daemon with queue `q` of five agents
//! on simulated phones (`ctibox-sim run --fast`), callers on CO lines.
//!
//! Each strategy is checked against its definition (docs/acd.md) on the
//! journal: the agents' state history is replayed and, at every offer, the
//! agent the definition names among those ready then must be the one
//! offered. Times are board times from the journal (never the test's
//! polling, which overshoots).

#[path = "acd_harness.rs"]
mod acd;
#[path = "daemon_flows_harness.rs"]
mod harness;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use acd::{
    AGENTS, Center, LINES, OfferSeen, Phone, answers_by_agent, common_checks, config_with_flow, member_pos, numbers,
    offers_seen, poisson_arrivals, queue_events, run_logged_in, run_queue, scenario, states,
};
use ctibox_daemon::records::{AgentStateKind, CallRecord, LegRole, QueueEventKind, QueueEventRecord};

/// A board tick (20 ms): routing runs once per tick.
const TICK_MS: i64 = 20;

fn agent(i: usize) -> String {
    format!("100{i}")
}

/// The queue events of the call from `number`.
fn events_of(run: &harness::Run, calls: &[CallRecord], number: &str) -> Vec<QueueEventRecord> {
    let c = calls.iter().find(|c| c.caller_number == number).unwrap_or_else(|| panic!("no call from {number}"));
    run.reader.queue_events_of_call(c.id).expect("queue events").unwrap_or_default()
}

/// (kind, agent) of each queue event.
fn kinds(events: &[QueueEventRecord]) -> Vec<(QueueEventKind, Option<&str>)> {
    events.iter().map(|e| (e.kind, e.agent.as_deref())).collect()
}

/// Fail unless every offer went to the agent `expected` names among the
/// ready ones (`None`: nobody should have been offered).
fn assert_each_offer(offers: &[OfferSeen], mut expected: impl FnMut(&OfferSeen) -> Option<String>) {
    for (k, o) in offers.iter().enumerate() {
        let want = expected(o);
        assert_eq!(
            want.as_deref(),
            Some(o.agent.as_str()),
            "offer #{k} at {} ms (call {:?}) went to {}; ready then: {:?}; talk so far: {:?}",
            o.board_ms,
            o.call,
            o.agent,
            o.ready,
            o.talk_ms
        );
    }
}

#[test]
fn ring_all_rings_every_ready_agent_and_the_first_to_answer_takes_the_call() {
    // Phones answer after 4, 2, 1, 3 rings and never (1005); a ring is
    // 5 s (CN: 1 s on, 4 s off), so the fewest rings answers first. Calls
    // last 45 s: each new caller finds those who took the earlier ones
    // still talking, until the last, when all are free again.
    let rings = [Some(4), Some(2), Some(1), Some(3), None];
    let phones: Vec<Phone> = rings.iter().map(|&answer| Phone { answer, talk_s: 45 }).collect();
    let arrivals = [3000, 12_000, 24_000, 40_000, 125_000];
    let nums = numbers(arrivals.len());
    let run = run_queue("acd-ringall", "ring_all", "offer_timeout = \"30s\"", &arrivals, &nums, &phones, |_| {});
    common_checks(&run, arrivals.len());
    let calls = run.calls();
    let expected: [(&[usize], usize); 5] =
        [(&[1, 2, 3, 4, 5], 3), (&[1, 2, 4, 5], 2), (&[1, 4, 5], 4), (&[1, 5], 1), (&[1, 2, 3, 4, 5], 3)];
    let seen = offers_seen(&run);
    let history = states(&run);
    for (k, (rung, winner)) in expected.iter().enumerate() {
        let ev = events_of(&run, &calls, &nums[k]);
        let rung: BTreeSet<String> = rung.iter().map(|&i| agent(i)).collect();
        let winner = agent(*winner);
        // Enter, one offer per ready agent in the same instant, then the
        // answer; nobody rang out.
        assert_eq!(ev.first().map(|e| e.kind), Some(QueueEventKind::Enter), "caller {k}: {ev:#?}");
        let offers: Vec<&QueueEventRecord> = ev.iter().filter(|e| e.kind == QueueEventKind::Offer).collect();
        let offered: BTreeSet<String> = offers.iter().filter_map(|e| e.agent.clone()).collect();
        assert_eq!(offered, rung, "caller {k} rang every ready agent: {ev:#?}");
        assert_eq!(offers.len(), rung.len(), "caller {k}: each agent rung once: {ev:#?}");
        let offer_at = offers[0].board_ms;
        assert!(offers.iter().all(|e| e.board_ms == offer_at), "caller {k}: all rung at once: {ev:#?}");
        let answers: Vec<&QueueEventRecord> = ev.iter().filter(|e| e.kind == QueueEventKind::Answer).collect();
        assert_eq!(answers.len(), 1, "caller {k}: {ev:#?}");
        assert_eq!(answers[0].agent.as_deref(), Some(winner.as_str()), "caller {k}: the fewest rings wins: {ev:#?}");
        assert_eq!(ev.len(), 2 + rung.len(), "caller {k}: enter, offers, answer and nothing else: {ev:#?}");
        // Those rung were exactly the agents ready then.
        let call = ev[0].call;
        let first = seen.iter().find(|o| o.call == Some(call)).expect("the offers in the agents' history");
        let ready: BTreeSet<String> = first.ready.keys().cloned().collect();
        assert_eq!(ready, rung, "caller {k}: the agents ready at {offer_at} ms");
        // The winner answered at the end of its last ring; the others'
        // phones stopped ringing then (their legs ended unanswered within
        // a tick or two) and they went back to ready.
        let answered_at = answers[0].board_ms;
        let rings_needed = rings[member_pos(&winner)].expect("the winner answers");
        let ring_ms = i64::from(rings_needed - 1) * 5000 + 1000;
        assert!(
            (ring_ms - 2 * TICK_MS..=ring_ms + 300).contains(&(answered_at - offer_at)),
            "caller {k}: {winner} answered {} ms after the offer ({rings_needed} rings)",
            answered_at - offer_at
        );
        let rec = calls.iter().find(|c| c.id == call).expect("call");
        for a in rung.iter().filter(|a| **a != winner) {
            let channel = (LINES + member_pos(a) + 1) as u32;
            let legs: Vec<_> =
                rec.legs.iter().filter(|l| l.role == LegRole::Agent && l.channel == Some(channel)).collect();
            assert_eq!(legs.len(), 1, "caller {k}: one leg rang {a}: {rec:#?}");
            let leg = legs[0];
            assert_eq!(leg.answer_board_ms, None, "caller {k}: {a} did not answer: {leg:#?}");
            let end = leg.end_board_ms.expect("the leg ended");
            assert!(
                (answered_at..=answered_at + 2 * TICK_MS).contains(&end),
                "caller {k}: {a} stopped ringing at {end} ms, the call was answered at {answered_at} ms"
            );
            let st = &history[a];
            let back = st
                .iter()
                .find(|s| s.board_ms >= offer_at && s.state != AgentStateKind::Offered)
                .expect("a state after the offer");
            assert_eq!(back.state, AgentStateKind::Ready, "caller {k}: {a} is ready again: {st:#?}");
            assert!(back.board_ms <= answered_at + 2 * TICK_MS, "caller {k}: {a}: {st:#?}");
        }
    }
    // 1005 never answered but never rang out either: never not ready.
    let st = &history["1005"];
    assert!(st.iter().all(|s| s.state != AgentStateKind::NotReady), "{st:#?}");
    assert_eq!(st.iter().filter(|s| s.state == AgentStateKind::Offered).count(), 5, "{st:#?}");
}

#[test]
fn round_robin_goes_around_the_members_continuing_after_the_last_offered() {
    // Agents talk 12, 40, 8, 30 and 10 s a call, callers come every 6 s
    // on average: the member whose turn it is is sometimes still talking
    // and skipped; the turn continues after whoever was offered last, not
    // from the top of the list.
    let n = 20;
    let arrivals = poisson_arrivals(n, 3000, 6000.0, 21);
    let phones: Vec<Phone> = [12, 40, 8, 30, 10].map(|talk_s| Phone { answer: Some(1), talk_s }).to_vec();
    let run = run_queue("acd-rr", "round_robin", "", &arrivals, &numbers(n), &phones, |_| {});
    common_checks(&run, n);
    let offers = offers_seen(&run);
    assert_eq!(offers.len(), n, "one offer per caller (all answer at once): {offers:#?}");
    let mut next = 0usize;
    let (mut skipped, mut not_linear) = (0, 0);
    assert_each_offer(&offers, |o| {
        let turn = |a: &String| (member_pos(a) + AGENTS - next) % AGENTS;
        let want = o.ready.keys().min_by_key(|a| turn(a)).cloned();
        if want.as_ref().is_some_and(|a| turn(a) != 0) {
            skipped += 1;
        }
        if want != o.ready.keys().min_by_key(|a| member_pos(a)).cloned() {
            not_linear += 1;
        }
        next = member_pos(&o.agent) + 1;
        want
    });
    // The scenario exercised what sets round robin apart.
    assert!(skipped >= 3, "busy members were skipped {skipped} times: {offers:#?}");
    assert!(not_linear >= 3, "the turn differed from the top of the list {not_linear} times: {offers:#?}");
    // While everyone is free the offers go 1001, 1002, … in turn.
    let first: Vec<&str> = offers.iter().take(AGENTS).map(|o| o.agent.as_str()).collect();
    assert_eq!(first, ["1001", "1002", "1003", "1004", "1005"], "{offers:#?}");
}

#[test]
fn least_talk_time_offers_the_agent_who_talked_least() {
    // 1001 talks 20 s a call, 1002 16 s, … 1005 4 s: by talk time the
    // short talkers get more calls, the reverse of the list order.
    let n = 20;
    let arrivals = poisson_arrivals(n, 3000, 4000.0, 33);
    let phones: Vec<Phone> = (0..AGENTS).map(|i| Phone { answer: Some(1), talk_s: 20 - 4 * i as u32 }).collect();
    let run = run_queue("acd-talk", "least_talk_time", "", &arrivals, &numbers(n), &phones, |_| {});
    common_checks(&run, n);
    let offers = offers_seen(&run);
    assert_eq!(offers.len(), n, "{offers:#?}");
    // The least talk time among the ready; ties: idle longest, then list order.
    assert_each_offer(&offers, |o| {
        o.ready.iter().min_by_key(|(a, since)| (o.talk_ms[*a], **since, member_pos(a))).map(|(a, _)| a.clone())
    });
    let distinct = offers.iter().filter(|o| o.talk_ms.values().collect::<BTreeSet<_>>().len() > 1).count();
    assert!(distinct >= n / 2, "talk times differed at {distinct} offers: {offers:#?}");
    let counts = answers_by_agent(&queue_events(&run));
    let count = |a: &str| counts.get(a).copied().unwrap_or(0);
    assert!(count("1005") > count("1001"), "the short talker took more calls: {counts:?}");
}

#[test]
fn linear_always_offers_the_first_ready_member_in_list_order() {
    // Calls of 12 s every 8 s on average: the first members are sometimes
    // busy, and when they come back they are idle shorter than the later
    // members who waited; linear takes them all the same.
    let n = 16;
    let arrivals = poisson_arrivals(n, 3000, 8000.0, 44);
    let phones = [Phone { answer: Some(1), talk_s: 12 }; AGENTS];
    let run = run_queue("acd-linear", "linear", "", &arrivals, &numbers(n), &phones, |_| {});
    common_checks(&run, n);
    let offers = offers_seen(&run);
    assert_eq!(offers.len(), n, "{offers:#?}");
    assert_each_offer(&offers, |o| o.ready.keys().min_by_key(|a| member_pos(a)).cloned());
    // The scenario exercised what sets linear apart.
    let past_busy = offers.iter().filter(|o| o.agent != "1001").count();
    assert!(past_busy >= 3, "{past_busy} offers went past a busy 1001: {offers:#?}");
    let not_idlest = offers
        .iter()
        .filter(|o| o.ready.iter().min_by_key(|(a, since)| (**since, member_pos(a))).map(|(a, _)| a) != Some(&o.agent))
        .count();
    assert!(not_idlest >= 3, "{not_idlest} offers went to an agent idle shorter than another: {offers:#?}");
}

#[test]
fn weighted_random_offers_follow_the_weights() {
    // Weights 1:1:2:4:8. At each offer, agent i's chance is its weight
    // over the ready agents' total; the count each got must lie within 4
    // standard deviations of the sum of those chances (the variance is
    // the sum of p(1-p)): the router's draws are seeded, but which agents
    // are ready at each draw may shift by a tick from run to run (the
    // customer lookup runs on a worker thread), so the test allows for
    // chance: even if every run drew anew, a false alarm would come in
    // fewer than 1 run in 1000. A uniform or list-order choice lies 5
    // standard deviations or more out for 1001 and 1005.
    let n = 100;
    let arrivals = poisson_arrivals(n, 3000, 10_000.0, 55);
    let phones = [Phone { answer: Some(1), talk_s: 2 }; AGENTS];
    let weights: BTreeMap<String, f64> =
        [(1, 1.0), (2, 1.0), (3, 2.0), (4, 4.0), (5, 8.0)].into_iter().map(|(i, w)| (agent(i), w)).collect();
    let queue_extra = "weights = { \"1001\" = 1, \"1002\" = 1, \"1003\" = 2, \"1004\" = 4, \"1005\" = 8 }";
    let scen = scenario(&arrivals, &numbers(n), &phones);
    let make = |dir: &Path| {
        let mut c = Center::new("weighted_random", queue_extra);
        c.extra = "\n[acd]\nseed = 7\n".into();
        c.config(dir)
    };
    let run = run_logged_in("acd-weighted", &scen, &make, |_| {});
    common_checks(&run, n);
    let offers = offers_seen(&run);
    assert_eq!(offers.len(), n, "{offers:#?}");
    let mut expect: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for o in &offers {
        assert!(o.ready.contains_key(&o.agent), "{} was offered while not ready: {o:#?}", o.agent);
        let total: f64 = o.ready.keys().map(|a| weights[a]).sum();
        for a in o.ready.keys() {
            let p = weights[a] / total;
            let e = expect.entry(a.clone()).or_insert((0.0, 0.0));
            e.0 += p;
            e.1 += p * (1.0 - p);
        }
    }
    let mut got: BTreeMap<String, u32> = BTreeMap::new();
    for o in &offers {
        *got.entry(o.agent.clone()).or_insert(0) += 1;
    }
    let mut report = String::new();
    for i in 1..=AGENTS {
        let a = agent(i);
        let (mean, var) = expect.get(&a).copied().unwrap_or((0.0, 0.0));
        let k = f64::from(got.get(&a).copied().unwrap_or(0));
        report += &format!("{a}: {k} offers, expected {mean:.1} ± {:.1}\n", var.sqrt());
    }
    for i in 1..=AGENTS {
        let a = agent(i);
        let (mean, var) = expect.get(&a).copied().unwrap_or((0.0, 0.0));
        let k = f64::from(got.get(&a).copied().unwrap_or(0));
        assert!((k - mean).abs() <= 4.0 * var.sqrt(), "{a} is off its weight:\n{report}");
    }
    // Many offers found every agent free: the weights, not who was busy,
    // made the shares.
    let all_free = offers.iter().filter(|o| o.ready.len() == AGENTS).count();
    assert!(all_free * 5 >= n * 2, "{all_free} of {n} offers with every agent ready:\n{report}");
}

/// The flow: the caller's number says what the caller needs (a `branch`
/// on the number, a `set` of `skills`, or the `queue` node's own list).
const SKILLS_FLOW: &str = r#"
name = "skills"
language = "en"
start = "need"

[nodes.need]
type = "branch"
cases = [
  { when = { caller = "^1391" }, goto = "billing5" },
  { when = { caller = "^1392" }, goto = "tech8" },
  { when = { caller = "^1393" }, goto = "billing8" },
  { when = { caller = "^1394" }, goto = "ru8" },
]
default = "billing_and_tech"

[nodes.billing5]
type = "set"
vars = { skills = "billing:5" }
next = "to_queue"

[nodes.tech8]
type = "set"
vars = { skills = "tech:8" }
next = "to_queue"

[nodes.billing8]
type = "set"
vars = { skills = "billing:8" }
next = "to_queue"

[nodes.ru8]
type = "set"
vars = { skills = "ru:8" }
next = "to_queue"

[nodes.to_queue]
type = "queue"
queue = "q"

[nodes.billing_and_tech]
type = "queue"
queue = "q"
skills = ["billing:3", "tech:3"]
"#;

#[test]
fn skills_pick_the_best_match_and_requirements_relax_with_the_wait() {
    // Agents: 1001 billing 6 tech 8; 1002 billing 9; 1003 tech 9;
    // 1004 billing 6 tech 7; 1005 ru 3. Relaxation: after 15 s minimums
    // drop by 2, after 30 s there are none. Calls last 60 s.
    //  c0  3 s billing:5  → 1002 (9 beats 1001's and 1004's 6)
    //  c1  6 s tech:8     → 1003 (9 beats 1001's 8)
    //  c2  9 s billing:8  → nobody free has 8 (1002 talks): waits; at 15 s
    //                       of wait billing:6 → 1001 and 1004 tie; 1001
    //                       comes first in the list
    //  c3 12 s ru:8       → nobody has it; at 15 s ru:6 still nobody,
    //                       although 1004 and 1005 are ready; at 30 s any
    //                       agent: 1005 (ru 3) beats 1004 (ru 0)
    //  c4 125 s billing:3 + tech:3 → 1001 (6+8) beats 1004 (6+7), although
    //                       1004 is idle longer (longest idle would take it)
    let nums: Vec<String> =
        ["13910000000", "13920000001", "13930000002", "13940000003", "13950000004"].map(String::from).to_vec();
    let arrivals = [3000, 6000, 9000, 12_000, 125_000];
    let scen = scenario(&arrivals, &nums, &[Phone { answer: Some(1), talk_s: 60 }; AGENTS]);
    let make = |dir: &Path| {
        let mut c =
            Center::new("skills", "relax = [ { after = \"15s\", lower = 2 }, { after = \"30s\", lower = \"any\" } ]");
        c.skills = ["billing = 6, tech = 8", "billing = 9", "tech = 9", "billing = 6, tech = 7", "ru = 3"];
        config_with_flow(dir, c, "skills", SKILLS_FLOW, "")
    };
    let run = run_logged_in("acd-skills", &scen, &make, |_| {});
    common_checks(&run, arrivals.len());
    let calls = run.calls();
    let want: [(&str, serde_json::Value, &str); 5] = [
        ("1002", serde_json::json!([["billing", 5]]), "the best match"),
        ("1003", serde_json::json!([["tech", 8]]), "the best match"),
        ("1001", serde_json::json!([["billing", 8]]), "after the first relaxation"),
        ("1005", serde_json::json!([["ru", 8]]), "after the requirement is dropped"),
        ("1001", serde_json::json!([["billing", 3], ["tech", 3]]), "the highest sum of levels"),
    ];
    let mut evs = Vec::new();
    for (k, (who, skills, why)) in want.iter().enumerate() {
        let ev = events_of(&run, &calls, &nums[k]);
        assert_eq!(
            kinds(&ev),
            vec![
                (QueueEventKind::Enter, None),
                (QueueEventKind::Offer, Some(*who)),
                (QueueEventKind::Answer, Some(*who)),
            ],
            "caller {k} goes to {who}, {why}: {ev:#?}"
        );
        assert_eq!(ev[0].detail["skills"], *skills, "caller {k} needs what the flow set: {ev:#?}");
        evs.push(ev);
    }
    let waited = |k: usize| evs[k][1].board_ms - evs[k][0].board_ms;
    for k in [0, 1, 4] {
        assert!(waited(k) <= 2 * TICK_MS, "caller {k} was offered at once: {} ms", waited(k));
    }
    assert!(
        (15_000..=15_000 + 2 * TICK_MS).contains(&waited(2)),
        "caller 2 waited for the first relaxation (15 s): {} ms",
        waited(2)
    );
    assert!(
        (30_000..=30_000 + 2 * TICK_MS).contains(&waited(3)),
        "caller 3 waited until the requirement was dropped (30 s): {} ms",
        waited(3)
    );
    // Caller 3 waited although agents were ready all along.
    let seen = offers_seen(&run);
    let c3 = seen.iter().find(|o| o.call == Some(evs[3][0].call)).expect("caller 3's offer");
    let entered = evs[3][0].board_ms;
    for a in ["1004", "1005"] {
        assert!(
            c3.ready.get(a).is_some_and(|&since| since < entered),
            "{a} was ready from before caller 3 came ({entered} ms) until its offer: {c3:#?}"
        );
    }
    // Caller 4: 1004 was idle longer than 1001, yet 1001 matched better.
    let c4 = seen.iter().find(|o| o.call == Some(evs[4][0].call)).expect("caller 4's offer");
    assert!(c4.ready["1004"] < c4.ready["1001"], "1004 idle longer than 1001: {c4:#?}");
}

/// Criteria routing: the flow looks the caller up in the customer records
/// and a rule on the record picks the queue.
const CRITERIA_FLOW: &str = r#"
name = "criteria"
language = "en"
start = "who"

[nodes.who]
type = "lookup"
sql = "SELECT c.company AS company, c.vip AS vip FROM customers c JOIN customer_phones p ON p.customer_id = c.id WHERE p.digits = :caller"
prefix = "cust_"
found = "route"
not_found = "general"
error = "general"

[nodes.route]
type = "branch"
cases = [ { when = { var = "cust_company", op = "matches", value = "(?i).*truck.*" }, goto = "trucks" } ]
default = "general"

[nodes.trucks]
type = "queue"
queue = "trucks"

[nodes.general]
type = "queue"
queue = "q"
"#;

#[test]
fn criteria_routing_sends_customers_who_bought_trucks_to_truck_sales() {
    // c0 is a customer of "Big Truck Co", c1 of "Flower Shop", c2 unknown.
    let nums: Vec<String> = ["13910000000", "13920000001", "13930000002"].map(String::from).to_vec();
    let arrivals = [3000, 6000, 9000];
    let scen = scenario(&arrivals, &nums, &[Phone { answer: Some(1), talk_s: 30 }; AGENTS]);
    let make = |dir: &Path| {
        let trucks = "\n[[queue]]\nname = \"trucks\"\nstrategy = \"linear\"\nmembers = [\"1005\"]\n";
        config_with_flow(dir, Center::new("linear", ""), "criteria", CRITERIA_FLOW, trucks)
    };
    let customers = [("Wang Truck", "Big Truck Co", &nums[0]), ("Li Hua", "Flower Shop", &nums[1])];
    let run = run_logged_in("acd-criteria", &scen, &make, |d| {
        for (name, company, phone) in customers {
            d.records
                .handle()
                .create_customer(ctibox_daemon::records::NewCustomer {
                    name: name.into(),
                    company: company.into(),
                    phones: vec![phone.clone()],
                    ..Default::default()
                })
                .expect("customer");
        }
    });
    common_checks(&run, arrivals.len());
    let calls = run.calls();
    let want = [("trucks", "1005"), ("q", "1001"), ("q", "1002")];
    for (k, (queue, who)) in want.iter().enumerate() {
        let ev = events_of(&run, &calls, &nums[k]);
        assert!(ev.iter().all(|e| e.queue == *queue), "caller {k} is routed to {queue}: {ev:#?}");
        assert_eq!(
            kinds(&ev),
            vec![
                (QueueEventKind::Enter, None),
                (QueueEventKind::Offer, Some(*who)),
                (QueueEventKind::Answer, Some(*who))
            ],
            "caller {k}: {ev:#?}"
        );
    }
}

/// A direct line to the personal manager: the flow looks up the agent
/// written on the caller's customer record and transfers to `agent:ID`;
/// when that agent cannot take the call, `on_failure` queues it.
const MANAGER_FLOW: &str = r#"
name = "manager"
language = "en"
start = "who"

[nodes.who]
type = "lookup"
sql = "SELECT c.assigned_agent AS agent FROM customers c JOIN customer_phones p ON p.customer_id = c.id WHERE p.digits = :caller"
prefix = "cust_"
found = "manager"
not_found = "general"
error = "general"

[nodes.manager]
type = "transfer"
to = "agent:${cust_agent}"
on_failure = "general"

[nodes.general]
type = "queue"
queue = "q"
"#;

#[test]
fn an_ivr_transfer_to_agent_reaches_the_personal_manager_or_falls_back_to_the_queue() {
    // Both callers are customers of agent 1003; 1003 logs out at 20 s,
    // between caller 0 (3 s, talks 10 s) and caller 1 (25 s).
    let nums: Vec<String> = ["13910000000", "13920000001"].map(String::from).to_vec();
    let arrivals = [3000, 25_000];
    let scen = scenario(&arrivals, &nums, &[Phone { answer: Some(1), talk_s: 10 }; AGENTS]);
    let make = |dir: &Path| config_with_flow(dir, Center::new("linear", ""), "manager", MANAGER_FLOW, "");
    let run = harness::run_config("acd-manager", &scen, &make, |live| {
        acd::log_in_all(live, |d| {
            for (k, phone) in nums.iter().enumerate() {
                d.records
                    .handle()
                    .create_customer(ctibox_daemon::records::NewCustomer {
                        name: format!("Customer {k}"),
                        assigned: Some(ctibox_daemon::records::AssignedAgent::Name("1003".into())),
                        phones: vec![phone.clone()],
                        ..Default::default()
                    })
                    .expect("customer");
            }
        });
        live.at(20_000, |d| {
            harness::ask(d, ctibox_daemon::core::CoreRequest::AgentLogout { agent: "1003".into() });
        });
    });
    let calls = run.calls();
    let call_of = |n: &str| calls.iter().find(|c| c.caller_number == n).unwrap_or_else(|| panic!("no call from {n}"));
    // Caller 0: transferred straight to 1003's extension 803, no queue.
    let c0 = call_of(&nums[0]);
    let callee: Vec<_> = c0.legs.iter().filter(|l| l.role == LegRole::Callee).collect();
    assert_eq!(callee.len(), 1, "one callee leg: {c0:#?}");
    assert_eq!(callee[0].extension.as_deref(), Some("803"), "the manager's phone rang: {c0:#?}");
    assert!(callee[0].answer_board_ms.is_some(), "the manager answered: {c0:#?}");
    assert!(events_of(&run, &calls, &nums[0]).is_empty(), "caller 0 never queued");
    // Caller 1: 1003 is logged out, so the flow's on_failure queues it and
    // the first linear member takes it.
    assert_eq!(
        kinds(&events_of(&run, &calls, &nums[1])),
        vec![
            (QueueEventKind::Enter, None),
            (QueueEventKind::Offer, Some("1001")),
            (QueueEventKind::Answer, Some("1001"))
        ]
    );
    let c1 = call_of(&nums[1]);
    let failed = c1.events.iter().find(|e| e.kind == "ivr.result" && e.detail.to_string().contains("1003"));
    assert!(failed.is_some(), "the journal says why the transfer failed: {:#?}", c1.events);
}
