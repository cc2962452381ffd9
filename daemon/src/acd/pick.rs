//! The strategies: which of the free agents a queue offers a caller to.

use super::{Acd, Strategy};
use crate::records::CallId;

/// One agent that may take the caller, with what the strategies compare.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    ix: usize,
    /// Position in the queue's member list; agents logged in to the queue
    /// without being listed come after the members.
    pos: usize,
    idle_since: u64,
    calls: u32,
    talk_ms: u64,
    weight: u32,
    score: u32,
}

/// The agents (indexes) to offer `call` to now: empty when nobody free may
/// take it. `ready` lists the free agents.
pub(super) fn pick(acd: &mut Acd, call: CallId, lower: u8, ready: &[usize], now: u64) -> Vec<usize> {
    let Some(c) = acd.callers.get(&call) else { return Vec::new() };
    let q = &acd.queues[c.queue];
    // A supervisor's pick, then the personal manager while the sticky time
    // runs and the manager is logged in: that agent or nobody.
    if let Some(r) = c.reserved {
        return if ready.contains(&r) { vec![r] } else { Vec::new() };
    }
    if let Some(s) = c.sticky
        && acd.agents[s].logged_in()
        && now < c.arrived + q.spec.sticky_ms
    {
        return if ready.contains(&s) { vec![s] } else { Vec::new() };
    }
    let mut fresh: Vec<Candidate> = Vec::new();
    let mut tried: Vec<Candidate> = Vec::new();
    for &ix in ready {
        let a = &acd.agents[ix];
        if !a.queues.contains(&c.queue) {
            continue;
        }
        let Some(score) = a.skill_score(&c.skills, lower) else { continue };
        let member = q.member_pos(ix);
        let cand = Candidate {
            ix,
            pos: member.unwrap_or(q.members.len() + ix),
            idle_since: a.idle_since,
            calls: member.map_or(a.answered, |p| q.calls[p]),
            talk_ms: member.map_or(a.talk_ms, |p| q.talk_ms[p]),
            weight: member.map_or(1, |p| q.spec.members[p].weight.max(1)),
            score,
        };
        if c.tried.contains(&ix) { tried.push(cand) } else { fresh.push(cand) }
    }
    // Agents who already let this caller ring out only when nobody else can.
    let cands = if fresh.is_empty() { tried } else { fresh };
    if cands.is_empty() {
        return Vec::new();
    }
    let strategy = q.spec.strategy;
    let n = q.members.len().max(1);
    let rr_next = q.rr_next;
    let best = |key: &dyn Fn(&Candidate) -> (u64, u64, u64)| -> usize {
        cands.iter().min_by_key(|c| (key(c), c.pos)).map_or(0, |c| c.ix)
    };
    let one = match strategy {
        Strategy::RingAll => {
            let mut all: Vec<Candidate> = cands;
            all.sort_by_key(|c| c.pos);
            return all.into_iter().map(|c| c.ix).collect();
        }
        Strategy::Linear => best(&|_| (0, 0, 0)),
        Strategy::RoundRobin => best(&|c| {
            let turn = if c.pos < n { (c.pos + n - rr_next % n) % n } else { c.pos };
            (turn as u64, 0, 0)
        }),
        Strategy::LongestIdle => best(&|c| (c.idle_since, 0, 0)),
        Strategy::FewestCalls => best(&|c| (u64::from(c.calls), c.idle_since, 0)),
        Strategy::LeastTalkTime => best(&|c| (c.talk_ms, c.idle_since, 0)),
        Strategy::Skills => best(&|c| (u64::from(u32::MAX - c.score), c.idle_since, 0)),
        Strategy::WeightedRandom => {
            let total: u64 = cands.iter().map(|c| u64::from(c.weight)).sum();
            let mut r = acd.next_random() % total.max(1);
            let mut chosen = cands[0].ix;
            for c in &cands {
                if r < u64::from(c.weight) {
                    chosen = c.ix;
                    break;
                }
                r -= u64::from(c.weight);
            }
            chosen
        }
    };
    vec![one]
}
