//! ACD routing decisions with 1 000 callers waiting and 200 agents.
//!
//! The decision measured: an agent becomes ready and [`Acd::route`] finds
//! the caller it takes (or that nobody waiting can go to it). Cases:
//! - `plain`: one queue, longest idle, callers of 3 VIP levels;
//! - `skills`: 10 queues, skills-based, every caller needing 1–2 of 12
//!   skills at levels 1–9 (most callers cannot go to the freed agent, so
//!   most of the line is looked at);
//! - `arrival`: 200 agents ready, 999 callers waiting for skills nobody
//!   has, and one caller arrives that one agent can take.
//!
//! Run: `cargo bench -p ctibox-daemon --bench acd_route`.
//! Target (issue 6): under 1 ms per decision.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use ctibox_daemon::acd::{Acd, AgentSpec, Entry, QueueSpec, Strategy};
use ctibox_daemon::records::CallId;

const AGENTS: usize = 200;
const CALLERS: i64 = 1000;

fn lcg(state: &mut u64) -> u64 {
    *state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    *state >> 33
}

fn agent(i: usize, skills: &[(String, u8)]) -> AgentSpec {
    let mut a = AgentSpec::new(&format!("{}", 1000 + i), &format!("Agent {i}"));
    a.extension = Some(format!("{}", 2000 + i));
    a.skills = skills.iter().cloned().collect();
    a
}

/// Every agent busy on a call but `free`, which is not ready; `CALLERS`
/// waiting.
fn busy_world(queues: Vec<QueueSpec>, specs: Vec<AgentSpec>, entry: impl Fn(i64, &mut u64) -> (String, Entry)) -> Acd {
    let names: Vec<String> = queues.iter().map(|q| q.name.clone()).collect();
    let mut acd = Acd::new(queues, specs, 1);
    for i in 0..AGENTS {
        let id = format!("{}", 1000 + i);
        acd.login(&id, None, Some(&names), 1).unwrap();
    }
    // Put every agent on a call.
    let mut t = 10;
    for i in 0..AGENTS as i64 {
        let id = format!("{}", 1000 + i);
        acd.enqueue(CallId(-1 - i), &names[0], Entry::default(), t).unwrap();
        acd.route(t);
        for e in acd.take_events() {
            if let ctibox_daemon::acd::AcdEvent::Offer { call, agents, .. } = e {
                acd.answered(call, &agents[0].agent, t).unwrap();
            }
        }
        let _ = id;
        t += 1;
    }
    let mut rng = 7u64;
    for k in 0..CALLERS {
        let (q, e) = entry(k, &mut rng);
        acd.enqueue(CallId(k), &q, e, t + k as u64).unwrap();
    }
    acd.take_events();
    acd
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("acd_route");
    // plain
    let specs: Vec<AgentSpec> = (0..AGENTS).map(|i| agent(i, &[])).collect();
    let members: Vec<String> = specs.iter().map(|a| a.id.clone()).collect();
    let refs: Vec<&str> = members.iter().map(String::as_str).collect();
    let plain = busy_world(vec![QueueSpec::new("sales", Strategy::LongestIdle, &refs)], specs, |_, rng| {
        ("sales".into(), Entry { priority: (lcg(rng) % 3) as u8, ..Entry::default() })
    });
    g.bench_function("plain: agent ready, 1000 waiting x 200 agents", |b| {
        b.iter_batched(
            || plain.clone(),
            |mut acd| {
                acd.call_ended("1100", 100_000).unwrap();
                acd.route(100_000);
                acd
            },
            BatchSize::LargeInput,
        )
    });
    // skills
    let skill_names: Vec<String> = (0..12).map(|s| format!("s{s}")).collect();
    let mut rng = 3u64;
    let specs: Vec<AgentSpec> = (0..AGENTS)
        .map(|i| {
            let skills: Vec<(String, u8)> = (0..3)
                .map(|_| (skill_names[(lcg(&mut rng) % 12) as usize].clone(), 1 + (lcg(&mut rng) % 9) as u8))
                .collect();
            agent(i, &skills)
        })
        .collect();
    let members: Vec<String> = specs.iter().map(|a| a.id.clone()).collect();
    let refs: Vec<&str> = members.iter().map(String::as_str).collect();
    let queues: Vec<QueueSpec> = (0..10).map(|q| QueueSpec::new(&format!("q{q}"), Strategy::Skills, &refs)).collect();
    let skills = busy_world(queues, specs, |k, rng| {
        let n = 1 + (lcg(rng) % 2) as usize;
        let need = (0..n).map(|_| (format!("s{}", lcg(rng) % 12), 1 + (lcg(rng) % 9) as u8)).collect();
        (format!("q{}", k % 10), Entry { priority: (lcg(rng) % 3) as u8, skills: need, sticky: None })
    });
    g.bench_function("skills: agent ready, 1000 waiting x 200 agents", |b| {
        b.iter_batched(
            || skills.clone(),
            |mut acd| {
                acd.call_ended("1100", 100_000).unwrap();
                acd.route(100_000);
                acd
            },
            BatchSize::LargeInput,
        )
    });
    // arrival: everyone ready, nobody waiting can be served, one caller comes.
    let mut arrival = skills.clone();
    for i in 0..AGENTS {
        let _ = arrival.call_ended(&format!("{}", 1000 + i), 90_000);
    }
    for k in 0..CALLERS {
        arrival.leave(CallId(k), false, 90_000);
    }
    for k in 0..CALLERS - 1 {
        arrival
            .enqueue(
                CallId(10_000 + k),
                &format!("q{}", k % 10),
                Entry { skills: vec![("nobody".into(), 1)], ..Entry::default() },
                90_000,
            )
            .unwrap();
    }
    arrival.route(90_000);
    arrival.take_events();
    g.bench_function("arrival: 200 agents ready, 999 unservable waiting, 1 arrives", |b| {
        b.iter_batched(
            || arrival.clone(),
            |mut acd| {
                acd.enqueue(CallId(1), "q3", Entry { skills: vec![("s4".into(), 1)], ..Entry::default() }, 100_000)
                    .unwrap();
                acd.route(100_000);
                acd
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
