//! The ACD's routing rules, one test per rule, with hand-worked outcomes.

use std::collections::BTreeMap;

use super::*;

fn agents(n: usize) -> Vec<AgentSpec> {
    (1..=n)
        .map(|i| {
            let mut a = AgentSpec::new(&format!("10{i:02}"), &format!("Agent {i}"));
            a.extension = Some(format!("8{i:02}"));
            a
        })
        .collect()
}

fn ids(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("10{i:02}")).collect()
}

/// An ACD with one queue `q` of `n` agents, all logged in and ready.
fn acd(strategy: Strategy, n: usize) -> Acd {
    let members = ids(n);
    let refs: Vec<&str> = members.iter().map(String::as_str).collect();
    let mut acd = Acd::new(vec![QueueSpec::new("q", strategy, &refs)], agents(n), 7);
    for (k, id) in members.iter().enumerate() {
        acd.login(id, None, None, 1 + k as u64).unwrap();
    }
    acd.take_events();
    acd
}

fn call(n: i64) -> CallId {
    CallId(n)
}

/// The offers in the outbox: (call, agents).
fn offers(acd: &mut Acd) -> Vec<(CallId, Vec<String>)> {
    acd.take_events()
        .into_iter()
        .filter_map(|e| match e {
            AcdEvent::Offer { call, agents, .. } => Some((call, agents.into_iter().map(|a| a.agent).collect())),
            _ => None,
        })
        .collect()
}

/// One caller through: joins at `t`, is offered, answered at once, talks
/// `talk` ms; the agent who took it.
fn one_call(acd: &mut Acd, id: i64, t: u64, talk: u64) -> String {
    acd.enqueue(call(id), "q", Entry::default(), t).unwrap();
    acd.route(t);
    let o = offers(acd);
    assert_eq!(o.len(), 1, "one offer for call {id}: {o:?}");
    let agent = o[0].1[0].clone();
    acd.answered(call(id), &agent, t).unwrap();
    acd.call_ended(&agent, t + talk).unwrap();
    acd.take_events();
    agent
}

#[test]
fn linear_takes_the_first_listed_free_agent() {
    let mut a = acd(Strategy::Linear, 3);
    for k in 0..4 {
        assert_eq!(one_call(&mut a, k, 100 + k as u64 * 10, 5), "1001");
    }
    a.not_ready("1001", "lunch", 200).unwrap();
    assert_eq!(one_call(&mut a, 9, 210, 5), "1002");
}

#[test]
fn round_robin_remembers_where_it_stopped() {
    let mut a = acd(Strategy::RoundRobin, 3);
    let got: Vec<String> = (0..7).map(|k| one_call(&mut a, k, 100 + k as u64 * 10, 5)).collect();
    assert_eq!(got, ["1001", "1002", "1003", "1001", "1002", "1003", "1001"]);
    // 1002 busy elsewhere: skipped, and the turn goes on after 1003.
    a.set_busy("802", true);
    let got: Vec<String> = (10..13).map(|k| one_call(&mut a, k, 300 + k as u64 * 10, 5)).collect();
    assert_eq!(got, ["1003", "1001", "1003"]);
}

#[test]
fn longest_idle_always_offers_the_agent_idle_longest() {
    let mut a = acd(Strategy::LongestIdle, 3);
    // Logged in at 1, 2, 3: 1001 has been idle longest.
    assert_eq!(one_call(&mut a, 1, 100, 50), "1001"); // idle again from 150
    assert_eq!(one_call(&mut a, 2, 160, 10), "1002"); // idle from 170
    assert_eq!(one_call(&mut a, 3, 180, 10), "1003"); // idle from 190
    assert_eq!(one_call(&mut a, 4, 200, 10), "1001");
    assert_eq!(one_call(&mut a, 5, 220, 10), "1002");
}

#[test]
fn fewest_calls_keeps_counts_within_one() {
    let mut a = acd(Strategy::FewestCalls, 5);
    let mut counts: BTreeMap<String, u32> = BTreeMap::new();
    for k in 0..23 {
        *counts.entry(one_call(&mut a, k, 100 + k as u64 * 100, 30)).or_default() += 1;
    }
    let (min, max) = (counts.values().min().unwrap(), counts.values().max().unwrap());
    assert_eq!(counts.len(), 5);
    assert!(max - min <= 1, "{counts:?}");
}

#[test]
fn least_talk_time_offers_who_talked_least() {
    let mut a = acd(Strategy::LeastTalkTime, 3);
    assert_eq!(one_call(&mut a, 1, 100, 1000), "1001");
    assert_eq!(one_call(&mut a, 2, 2000, 300), "1002");
    assert_eq!(one_call(&mut a, 3, 3000, 500), "1003");
    // Talk: 1001 1000, 1002 300, 1003 500.
    assert_eq!(one_call(&mut a, 4, 4000, 100), "1002"); // now 400
    assert_eq!(one_call(&mut a, 5, 5000, 200), "1002"); // now 600
    assert_eq!(one_call(&mut a, 6, 6000, 10), "1003");
}

#[test]
fn weighted_random_follows_the_weights() {
    let mut spec = QueueSpec::new("q", Strategy::WeightedRandom, &["1001", "1002", "1003"]);
    spec.members[2].weight = 3;
    let mut a = Acd::new(vec![spec], agents(3), 42);
    for id in ids(3) {
        a.login(&id, None, None, 1).unwrap();
    }
    let mut counts: BTreeMap<String, u32> = BTreeMap::new();
    for k in 0..5000 {
        *counts.entry(one_call(&mut a, k, 100 + k as u64 * 10, 1)).or_default() += 1;
    }
    // Expected 1000 : 1000 : 3000; allow 4 standard deviations.
    for (id, expect) in [("1001", 1000.0), ("1002", 1000.0), ("1003", 3000.0)] {
        let got = f64::from(counts[id]);
        let p: f64 = expect / 5000.0;
        let sd = (5000.0 * p * (1.0 - p)).sqrt();
        assert!((got - expect).abs() < 4.0 * sd, "{id}: {got} vs {expect} ({counts:?})");
    }
    // The same seed makes the same choices.
    let mut b = Acd::new(vec![a.queues[0].spec.clone()], agents(3), 42);
    let mut c = Acd::new(vec![a.queues[0].spec.clone()], agents(3), 42);
    for id in ids(3) {
        b.login(&id, None, None, 1).unwrap();
        c.login(&id, None, None, 1).unwrap();
    }
    let sb: Vec<String> = (0..50).map(|k| one_call(&mut b, k, 100 + k as u64, 1)).collect();
    let sc: Vec<String> = (0..50).map(|k| one_call(&mut c, k, 100 + k as u64, 1)).collect();
    assert_eq!(sb, sc);
}

#[test]
fn ring_all_rings_every_free_agent_and_the_first_answer_wins() {
    let mut a = acd(Strategy::RingAll, 3);
    a.not_ready("1002", "break", 50).unwrap();
    a.take_events();
    a.enqueue(call(1), "q", Entry::default(), 100).unwrap();
    a.route(100);
    let o = offers(&mut a);
    assert_eq!(o, vec![(call(1), vec!["1001".to_string(), "1003".to_string()])]);
    a.answered(call(1), "1003", 105).unwrap();
    let ev = a.take_events();
    assert!(ev.contains(&AcdEvent::Withdraw {
        call: call(1),
        agent: "1001".into(),
        extension: Some("801".into()),
        why: WithdrawWhy::Taken
    }));
    assert_eq!(a.agent_state("1001"), Some(AgentState::Ready));
    assert_eq!(a.agent_state("1003"), Some(AgentState::OnCall));
}

#[test]
fn vip_callers_go_before_earlier_normal_callers_and_equal_levels_keep_arrival_order() {
    let mut a = acd(Strategy::Linear, 1);
    a.not_ready("1001", "x", 10).unwrap();
    let vip = |p| Entry { priority: p, ..Entry::default() };
    a.enqueue(call(1), "q", vip(0), 100).unwrap();
    a.enqueue(call(2), "q", vip(0), 110).unwrap();
    a.enqueue(call(3), "q", vip(5), 120).unwrap();
    a.enqueue(call(4), "q", vip(2), 130).unwrap();
    a.enqueue(call(5), "q", vip(5), 140).unwrap();
    assert_eq!(a.position(call(3)).unwrap().0, 1);
    assert_eq!(a.position(call(5)).unwrap().0, 2);
    assert_eq!(a.position(call(1)).unwrap().0, 4);
    a.ready("1001", 200).unwrap();
    let mut served = Vec::new();
    for t in 0..5 {
        a.route(200 + t * 100);
        let o = offers(&mut a);
        let c = o[0].0;
        served.push(c.0);
        a.answered(c, "1001", 200 + t * 100).unwrap();
        a.call_ended("1001", 250 + t * 100).unwrap();
    }
    assert_eq!(served, [3, 5, 4, 1, 2]);
}

#[test]
fn a_supervisor_can_raise_a_callers_priority() {
    let mut a = acd(Strategy::Linear, 1);
    a.not_ready("1001", "x", 10).unwrap();
    a.enqueue(call(1), "q", Entry::default(), 100).unwrap();
    a.enqueue(call(2), "q", Entry::default(), 110).unwrap();
    a.set_priority(call(2), 3).unwrap();
    assert_eq!(a.position(call(2)).unwrap().0, 1);
    a.ready("1001", 200).unwrap();
    a.route(200);
    assert_eq!(offers(&mut a)[0].0, call(2));
}

fn skilled(id: &str, ext: &str, skills: &[(&str, u8)]) -> AgentSpec {
    let mut a = AgentSpec::new(id, id);
    a.extension = Some(ext.into());
    a.skills = skills.iter().map(|(s, l)| (s.to_string(), *l)).collect();
    a
}

#[test]
fn skills_pick_the_best_match_and_relax_with_the_wait() {
    let mut spec = QueueSpec::new("q", Strategy::Skills, &["a", "b", "c"]);
    spec.relax = vec![Relax { after_ms: 30_000, lower_by: 2 }, Relax { after_ms: 60_000, lower_by: Relax::ANY }];
    let agents = vec![
        skilled("a", "801", &[("ru", 3), ("sales", 5)]),
        skilled("b", "802", &[("ru", 6), ("sales", 4)]),
        skilled("c", "803", &[("en", 9)]),
    ];
    let mut acd = Acd::new(vec![spec], agents, 1);
    for id in ["a", "b", "c"] {
        acd.login(id, None, None, 1).unwrap();
    }
    acd.take_events();
    let need =
        |s: &[(&str, u8)]| Entry { skills: s.iter().map(|(n, l)| (n.to_string(), *l)).collect(), ..Entry::default() };
    // ru≥3 and sales≥4: a (3+5=8) and b (6+4=10) qualify; b matches best.
    acd.enqueue(call(1), "q", need(&[("ru", 3), ("sales", 4)]), 0).unwrap();
    acd.route(0);
    assert_eq!(offers(&mut acd), vec![(call(1), vec!["b".to_string()])]);
    // ru≥7: nobody at first; after 30 s the minimum is 5 (b), after 60 s anyone.
    acd.enqueue(call(2), "q", need(&[("ru", 7)]), 1000).unwrap();
    acd.route(1000);
    assert!(offers(&mut acd).is_empty());
    acd.answered(call(1), "b", 1000).unwrap();
    acd.route(31_000);
    assert!(offers(&mut acd).is_empty(), "b is on a call; a has ru 3 < 5");
    acd.call_ended("b", 32_000).unwrap();
    acd.route(32_000);
    assert_eq!(offers(&mut acd), vec![(call(2), vec!["b".to_string()])]);
    acd.answered(call(2), "b", 32_000).unwrap();
    // en≥9 only c; fr≥1 nobody until requirements drop at 60 s.
    acd.enqueue(call(3), "q", need(&[("fr", 1)]), 40_000).unwrap();
    acd.route(40_000);
    assert!(offers(&mut acd).is_empty());
    acd.tick(100_000);
    acd.route(100_000);
    let o = offers(&mut acd);
    assert_eq!(o.len(), 1);
    assert_eq!(o[0].0, call(3));
}

#[test]
fn the_personal_manager_gets_the_caller_first_then_the_queue_after_the_sticky_time() {
    let mut spec = QueueSpec::new("q", Strategy::Linear, &["1001", "1002", "1003"]);
    spec.sticky_ms = 20_000;
    let mut a = Acd::new(vec![spec], agents(3), 1);
    for id in ids(3) {
        a.login(&id, None, None, 1).unwrap();
    }
    a.take_events();
    let sticky = Entry { sticky: Some("1003".into()), ..Entry::default() };
    // Manager free: offered at once, although 1001 comes first in line.
    a.enqueue(call(1), "q", sticky.clone(), 100).unwrap();
    a.route(100);
    assert_eq!(offers(&mut a), vec![(call(1), vec!["1003".to_string()])]);
    a.answered(call(1), "1003", 100).unwrap();
    // Manager busy: the caller waits for him for 20 s, then anyone.
    a.enqueue(call(2), "q", sticky.clone(), 1000).unwrap();
    a.route(1000);
    assert!(offers(&mut a).is_empty());
    a.route(20_999);
    assert!(offers(&mut a).is_empty());
    a.route(21_000);
    assert_eq!(offers(&mut a), vec![(call(2), vec!["1001".to_string()])]);
    // Manager logged out: no waiting for him.
    a.call_ended("1003", 30_000).unwrap();
    a.logout("1003", 30_000).unwrap();
    a.enqueue(call(3), "q", sticky, 31_000).unwrap();
    a.route(31_000);
    assert_eq!(offers(&mut a), vec![(call(3), vec!["1002".to_string()])]);
}

#[test]
fn no_answer_goes_to_the_next_agent_and_the_first_goes_not_ready() {
    let mut a = acd(Strategy::Linear, 3);
    a.enqueue(call(1), "q", Entry::default(), 100).unwrap();
    a.route(100);
    assert_eq!(offers(&mut a), vec![(call(1), vec!["1001".to_string()])]);
    assert_eq!(a.next_deadline(), Some(100 + 15_000));
    a.tick(15_100);
    let ev = a.take_events();
    assert!(
        ev.iter().any(|e| matches!(e, AcdEvent::Withdraw { agent, why: WithdrawWhy::NoAnswer, .. } if agent == "1001"))
    );
    assert_eq!(a.agent_state("1001"), Some(AgentState::NotReady));
    assert_eq!(a.agent_view("1001").unwrap().reason, "no_answer");
    a.route(15_100);
    assert_eq!(offers(&mut a), vec![(call(1), vec!["1002".to_string()])]);
}

#[test]
fn with_no_answer_ready_the_agent_stays_ready_but_others_are_tried_first() {
    let mut spec = QueueSpec::new("q", Strategy::Linear, &["1001", "1002"]);
    spec.no_answer_not_ready = false;
    spec.offer_timeout_ms = 1000;
    let mut a = Acd::new(vec![spec], agents(2), 1);
    a.login("1001", None, None, 1).unwrap();
    a.login("1002", None, None, 1).unwrap();
    a.enqueue(call(1), "q", Entry::default(), 0).unwrap();
    a.route(0);
    a.take_events();
    a.tick(1000);
    assert_eq!(a.agent_state("1001"), Some(AgentState::Ready));
    a.route(1000);
    assert_eq!(offers(&mut a), vec![(call(1), vec!["1002".to_string()])]);
    a.tick(2000);
    // Both tried: back to the first in line.
    a.route(2000);
    assert_eq!(offers(&mut a), vec![(call(1), vec!["1001".to_string()])]);
}

/// Random operations on an ACD of 5 agents in 2 queues; after each, no
/// agent is offered or holds two calls, and every caller an agent rings
/// for names that agent.
#[test]
fn an_agent_is_never_offered_two_calls() {
    for strategy in Strategy::ALL.map(|(s, _)| s) {
        let mut q2 = QueueSpec::new("r", strategy, &["1003", "1004", "1005"]);
        q2.offer_timeout_ms = 700;
        q2.wrap_up_ms = 300;
        let mut q1 = QueueSpec::new("q", strategy, &["1001", "1002", "1003"]);
        q1.offer_timeout_ms = 500;
        let mut a = Acd::new(vec![q1, q2], agents(5), 3);
        for id in ids(5) {
            a.login(&id, None, None, 1).unwrap();
        }
        let mut rng = 0x1234_5678u64 ^ strategy as u64;
        let mut next = move |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        let mut on_call: Vec<(String, CallId)> = Vec::new();
        let mut t = 10;
        for k in 0..3000i64 {
            t += next(200);
            match next(6) {
                0 | 1 => {
                    let q = if next(2) == 0 { "q" } else { "r" };
                    let _ = a.enqueue(call(k), q, Entry { priority: next(3) as u8, ..Entry::default() }, t);
                }
                2 => {
                    // Answer an offer at random.
                    let offered: Vec<AgentView> =
                        a.agents_view().into_iter().filter(|v| v.state == AgentState::Offered).collect();
                    if let Some(v) = offered.get(next(offered.len().max(1) as u64) as usize) {
                        let c = v.call.unwrap();
                        a.answered(c, &v.id, t).unwrap();
                        on_call.push((v.id.clone(), c));
                    }
                }
                3 => {
                    if !on_call.is_empty() {
                        let (id, _) = on_call.remove(next(on_call.len() as u64) as usize);
                        a.call_ended(&id, t).unwrap();
                    }
                }
                4 => {
                    let id = format!("10{:02}", 1 + next(5));
                    match next(4) {
                        0 => {
                            let _ = a.not_ready(&id, "x", t);
                        }
                        1 => {
                            let _ = a.ready(&id, t);
                        }
                        2 => a.set_busy(&format!("8{}", &id[2..]), next(2) == 0),
                        _ => {}
                    }
                }
                _ => {
                    let waiting: Vec<CallId> =
                        a.queues_view(t).into_iter().flat_map(|q| q.waiting).map(|w| w.call).collect();
                    if let Some(&c) = waiting.get(next(waiting.len().max(1) as u64) as usize) {
                        a.leave(c, true, t);
                    }
                }
            }
            a.tick(t);
            a.route(t);
            a.take_events();
            // Invariants.
            let mut holders: BTreeMap<String, CallId> = BTreeMap::new();
            for c in a.callers.values() {
                for &ix in &c.offered {
                    let id = a.agents[ix].spec.id.clone();
                    assert!(holders.insert(id.clone(), c.call).is_none(), "{strategy:?}: {id} offered twice");
                    assert_eq!(a.agents[ix].state, AgentState::Offered, "{strategy:?}: {id}");
                    assert_eq!(a.agents[ix].call, Some(c.call));
                }
            }
            for ag in &a.agents {
                if ag.state == AgentState::Offered {
                    assert!(holders.contains_key(&ag.spec.id), "{strategy:?}: {} offered nothing", ag.spec.id);
                }
                if ag.state == AgentState::OnCall {
                    assert!(!holders.contains_key(&ag.spec.id));
                }
            }
        }
    }
}

#[test]
fn withdrawn_ring_all_agent_is_offered_the_next_caller() {
    let mut a = acd(Strategy::RingAll, 2);
    a.enqueue(call(0), "q", Entry::default(), 0).unwrap();
    a.enqueue(call(1), "q", Entry::default(), 1).unwrap();
    a.route(2);
    assert_eq!(offers(&mut a).len(), 1);
    a.answered(call(0), "1002", 20).unwrap();
    a.route(21);
    assert_eq!(offers(&mut a), vec![(call(1), vec!["1001".to_string()])]);
}

#[test]
fn busy_phone_and_wrap_up_keep_offers_away() {
    let mut spec = QueueSpec::new("q", Strategy::Linear, &["1001", "1002"]);
    spec.wrap_up_ms = 10_000;
    let mut a = Acd::new(vec![spec], agents(2), 1);
    a.login("1001", None, None, 1).unwrap();
    a.login("1002", None, None, 1).unwrap();
    a.set_busy("801", true);
    a.enqueue(call(1), "q", Entry::default(), 0).unwrap();
    a.route(0);
    assert_eq!(offers(&mut a), vec![(call(1), vec!["1002".to_string()])]);
    a.answered(call(1), "1002", 0).unwrap();
    a.call_ended("1002", 5000).unwrap();
    assert_eq!(a.agent_state("1002"), Some(AgentState::WrapUp));
    a.enqueue(call(2), "q", Entry::default(), 6000).unwrap();
    a.route(6000);
    assert!(offers(&mut a).is_empty());
    assert_eq!(a.next_deadline(), Some(15_000));
    a.tick(15_000);
    assert_eq!(a.agent_state("1002"), Some(AgentState::Ready));
    a.route(15_000);
    assert_eq!(offers(&mut a), vec![(call(2), vec!["1002".to_string()])]);
}

#[test]
fn max_wait_and_max_length_send_callers_to_overflow() {
    let mut spec = QueueSpec::new("q", Strategy::Linear, &["1001"]);
    spec.max_wait_ms = Some(60_000);
    spec.max_len = Some(2);
    let mut a = Acd::new(vec![spec], agents(1), 1);
    a.enqueue(call(1), "q", Entry::default(), 0).unwrap();
    a.enqueue(call(2), "q", Entry::default(), 1000).unwrap();
    assert_eq!(a.enqueue(call(3), "q", Entry::default(), 2000), Err(Refusal::Full { queue: "q".into(), max: 2 }));
    a.tick(59_999);
    assert!(a.take_events().is_empty());
    a.tick(60_000);
    assert_eq!(
        a.take_events(),
        vec![AcdEvent::Left { call: call(1), queue: "q".into(), why: LeaveWhy::MaxWait, wait_ms: 60_000 }]
    );
    assert!(!a.is_waiting(call(1)));
    assert_eq!(a.position(call(2)).unwrap().0, 1);
    let v = &a.queues_view(60_000)[0];
    assert_eq!((v.entered, v.overflowed), (2, 2));
}

#[test]
fn join_empty_and_leave_empty() {
    let mut spec = QueueSpec::new("q", Strategy::Linear, &["1001"]);
    spec.join_empty = false;
    spec.leave_empty = true;
    let mut a = Acd::new(vec![spec], agents(1), 1);
    assert_eq!(a.enqueue(call(1), "q", Entry::default(), 0), Err(Refusal::Empty("q".into())));
    a.login("1001", None, None, 10).unwrap();
    a.not_ready("1001", "x", 11).unwrap();
    a.enqueue(call(2), "q", Entry::default(), 20).unwrap();
    a.take_events();
    a.logout("1001", 30).unwrap();
    let ev = a.take_events();
    assert!(ev.contains(&AcdEvent::Left { call: call(2), queue: "q".into(), why: LeaveWhy::Empty, wait_ms: 10 }));
}

#[test]
fn a_caller_who_hangs_up_while_offered_frees_the_agent() {
    let mut a = acd(Strategy::Linear, 1);
    a.enqueue(call(1), "q", Entry::default(), 0).unwrap();
    a.route(0);
    a.take_events();
    assert_eq!(a.leave(call(1), true, 5000), Some(("q".to_string(), 5000)));
    let ev = a.take_events();
    assert!(matches!(&ev[0], AcdEvent::Withdraw { why: WithdrawWhy::CallerLeft, .. }));
    assert_eq!(a.agent_state("1001"), Some(AgentState::Ready));
    assert_eq!(a.queues_view(5000)[0].abandoned, 1);
}

#[test]
fn agent_state_changes_are_all_reported_with_their_time() {
    let mut spec = QueueSpec::new("q", Strategy::Linear, &["1001"]);
    spec.wrap_up_ms = 3000;
    let mut a = Acd::new(vec![spec], agents(1), 1);
    a.login("1001", None, None, 10).unwrap();
    a.enqueue(call(1), "q", Entry::default(), 20).unwrap();
    a.route(20);
    a.answered(call(1), "1001", 25).unwrap();
    a.not_ready("1001", "7", 30).unwrap(); // after the call
    a.call_ended("1001", 90).unwrap();
    a.ready("1001", 100).unwrap();
    a.logout("1001", 110).unwrap();
    let states: Vec<(AgentState, String, u64, Option<CallId>)> = a
        .take_events()
        .into_iter()
        .filter_map(|e| match e {
            AcdEvent::AgentState { state, reason, at_ms, call, .. } => Some((state, reason, at_ms, call)),
            _ => None,
        })
        .collect();
    assert_eq!(
        states,
        vec![
            (AgentState::Ready, String::new(), 10, None),
            (AgentState::Offered, String::new(), 20, Some(call(1))),
            (AgentState::OnCall, String::new(), 25, Some(call(1))),
            (AgentState::NotReady, "7".into(), 90, None),
            (AgentState::Ready, String::new(), 100, None),
            (AgentState::LoggedOut, String::new(), 110, None),
        ]
    );
    let v = a.agent_view("1001").unwrap();
    assert_eq!((v.answered, v.talk_ms), (1, 65));
}

#[test]
fn logout_while_on_call_happens_after_the_call() {
    let mut a = acd(Strategy::Linear, 1);
    a.enqueue(call(1), "q", Entry::default(), 0).unwrap();
    a.route(0);
    a.answered(call(1), "1001", 0).unwrap();
    a.logout("1001", 10).unwrap();
    assert_eq!(a.agent_state("1001"), Some(AgentState::OnCall));
    a.call_ended("1001", 20).unwrap();
    assert_eq!(a.agent_state("1001"), Some(AgentState::LoggedOut));
    assert_eq!(a.agent_at("801"), None);
}

#[test]
fn seats_and_logins_are_checked() {
    let mut a = Acd::new(vec![QueueSpec::new("q", Strategy::Linear, &["1001", "1002"])], agents(2), 1);
    a.login("1001", Some("805"), None, 0).unwrap();
    assert_eq!(
        a.login("1002", Some("805"), None, 0),
        Err(AcdError::SeatTaken { extension: "805".into(), agent: "1001".into() })
    );
    assert_eq!(a.login("9999", None, None, 0), Err(AcdError::NoAgent("9999".into())));
    assert_eq!(a.login("1002", None, Some(&["nope".to_string()]), 0), Err(AcdError::NoQueue("nope".into())));
    let mut bare = AgentSpec::new("2000", "No seat");
    bare.extension = None;
    let mut b = Acd::new(vec![], vec![bare], 1);
    assert_eq!(b.login("2000", None, None, 0), Err(AcdError::NoSeat("2000".into())));
    assert_eq!(a.agent_at("805"), Some("1001"));
    assert_eq!(a.ready("1002", 0), Err(AcdError::LoggedOut("1002".into())));
}

#[test]
fn a_reserved_caller_waits_for_the_chosen_agent() {
    let mut a = acd(Strategy::Linear, 2);
    a.not_ready("1002", "x", 1).unwrap();
    a.enqueue(call(1), "q", Entry::default(), 10).unwrap();
    a.enqueue(call(2), "q", Entry::default(), 20).unwrap();
    a.reserve(call(2), "1002").unwrap();
    a.take_events();
    a.route(30);
    // 1001 takes call 1; call 2 waits for 1002 even though it is first now.
    assert_eq!(offers(&mut a), vec![(call(1), vec!["1001".to_string()])]);
    a.answered(call(1), "1001", 30).unwrap();
    a.call_ended("1001", 40).unwrap();
    a.route(40);
    assert!(offers(&mut a).is_empty());
    a.ready("1002", 50).unwrap();
    a.route(50);
    assert_eq!(offers(&mut a), vec![(call(2), vec!["1002".to_string()])]);
}

#[test]
fn reconfigure_keeps_agents_callers_and_counters() {
    let mut a = acd(Strategy::FewestCalls, 2);
    one_call(&mut a, 1, 10, 100);
    a.not_ready("1002", "x", 200).unwrap();
    a.enqueue(call(2), "q", Entry::default(), 300).unwrap();
    a.not_ready("1001", "y", 301).unwrap();
    let mut spec = QueueSpec::new("q", Strategy::Linear, &["1002", "1001"]);
    spec.wrap_up_ms = 5;
    a.reconfigure(vec![spec, QueueSpec::new("new", Strategy::Linear, &[])], agents(2), 400);
    assert!(a.is_waiting(call(2)));
    assert_eq!(a.agent_state("1001"), Some(AgentState::NotReady));
    let v = &a.queues_view(400)[0];
    assert_eq!((v.entered, v.answered), (2, 1));
    // A queue that is gone sends its callers to overflow.
    a.reconfigure(vec![QueueSpec::new("new", Strategy::Linear, &[])], agents(2), 500);
    assert_eq!(
        a.take_events().last(),
        Some(&AcdEvent::Left { call: call(2), queue: "q".into(), why: LeaveWhy::Removed, wait_ms: 200 })
    );
}

#[test]
fn estimated_wait_shares_the_line_among_staffed_agents() {
    let mut a = acd(Strategy::Linear, 2);
    a.not_ready("1001", "x", 1).unwrap();
    a.not_ready("1002", "x", 1).unwrap();
    a.enqueue(call(1), "q", Entry::default(), 10).unwrap();
    assert_eq!(a.position(call(1)), Some((1, None)));
    a.ready("1001", 20).unwrap();
    a.set_busy("801", true);
    a.ready("1002", 20).unwrap();
    a.set_busy("802", true);
    a.enqueue(call(2), "q", Entry::default(), 30).unwrap();
    // Two staffed agents, 120 s default handle time.
    assert_eq!(a.position(call(2)), Some((2, Some(120_000))));
}

#[test]
fn callback_keeps_the_place() {
    let mut a = acd(Strategy::Linear, 1);
    a.not_ready("1001", "x", 1).unwrap();
    a.enqueue(call(1), "q", Entry::default(), 10).unwrap();
    a.enqueue(call(2), "q", Entry::default(), 20).unwrap();
    a.set_callback(call(1)).unwrap();
    assert!(a.is_callback(call(1)));
    assert_eq!(a.position(call(1)).unwrap().0, 1);
    a.ready("1001", 30).unwrap();
    a.route(30);
    assert_eq!(offers(&mut a)[0].0, call(1));
}
