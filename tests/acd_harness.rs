//! What the ACD end-to-end tests share (included with `#[path]` by
//! `acd_e2e.rs` and `acd_strategies_e2e.rs`, next to
//! `daemon_flows_harness.rs` as `harness`): a scripted world of CO lines
//! and five agents' phones, a daemon config with queue `q`, a run with
//! every agent logged in, and readings of the journal afterwards (queue
//! events, agent states, and a replay of the agents' states at each offer).
//!
//! Agents' phones answer after `answer` rings and hang up `talk_s` later
//! (the call's end), so each scenario runs unattended.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

use ctibox_daemon::core::CoreRequest;
use ctibox_daemon::daemon::Daemon;
use ctibox_daemon::records::{AgentStateKind, AgentStateRecord, CallId, HistoryRequest, QueueEventKind};

use crate::harness::{Live, Run, ask, run_config};

/// Five agents 1001–1005 at extensions 801–805 (channels LINES+1…).
pub const AGENTS: usize = 5;
/// CO lines 1…LINES; caller `k` calls on line `k % LINES + 1`.
pub const LINES: usize = 24;

/// Seeded exponential inter-arrival times (ms) with mean `mean_ms`,
/// starting after `start_ms`.
pub fn poisson_arrivals(n: usize, start_ms: u64, mean_ms: f64, seed: u64) -> Vec<u64> {
    let mut s = seed;
    let mut t = start_ms as f64;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let u = ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
            t += -mean_ms * u.ln();
            t as u64
        })
        .collect()
}

/// How an agent's phone behaves.
#[derive(Clone, Copy)]
pub struct Phone {
    /// Rings before answering; `None`: never answers.
    pub answer: Option<u32>,
    pub talk_s: u32,
}

pub const ALIKE: Phone = Phone { answer: Some(1), talk_s: 20 };

/// The scenario: lines, the agents' phones, a caller per arrival time
/// (caller `k` on line `k % LINES + 1` from number `numbers[k]`), each
/// waiting until the call ends. Callers that share a line must not
/// overlap in time.
pub fn scenario(arrivals: &[u64], numbers: &[String], phones: &[Phone]) -> String {
    let mut s = String::from(
        "[board]\nfxo = 24\nfxs = 5\nlaw = \"alaw\"\ncountry = \"CN\"\nmax_time = \"40m\"\n\n[co]\nabandon_after = \"30m\"\n",
    );
    for l in 1..=LINES {
        s += &format!(
            "\n[[line]]\nport = {l}\nnumber = \"888800{l:02}\"\ndisconnect = [\"loop_drop\"]\nloop_drop = \"600ms\"\ncaller_id = \"fsk\"\n"
        );
    }
    for (i, p) in phones.iter().enumerate() {
        s += &format!("\n[[phone]]\nport = {}\nnumber = \"80{}\"\n", LINES + 1 + i, i + 1);
        if let Some(n) = p.answer {
            s += &format!("auto_answer = {n}\ntalk_for = \"{}s\"\n", p.talk_s);
        }
        s += "hang_up_on_release = \"1s\"\n";
    }
    for (k, at) in arrivals.iter().enumerate() {
        s += &format!(
            "\n[[caller]]\nname = \"c{k}\"\nfrom = \"{}\"\nline = {}\nsteps = [\n  {{ at = \"{}ms\", do = \"call\" }},\n  \
             {{ wait_for = \"answered\", timeout = \"60s\" }},\n  {{ wait_for = \"ended\", timeout = \"30m\" }},\n]\n",
            numbers[k],
            k % LINES + 1,
            at
        );
    }
    s
}

/// The call center around queue `q` (members 1001–1005 in order), as the
/// daemon's config says it.
pub struct Center<'a> {
    /// The queue's strategy, as the config names it.
    pub strategy: &'a str,
    /// More `[[queue]]` keys.
    pub queue_extra: &'a str,
    /// Where the trunk sends inbound calls.
    pub inbound: &'a str,
    /// Each agent's skills table (`billing = 7, ru = 3`), empty for none.
    pub skills: [&'a str; AGENTS],
    /// Sections added at the end (`[acd]`, `[ivr]`).
    pub extra: String,
}

impl<'a> Center<'a> {
    /// Every line into queue `q` with this strategy; no skills.
    pub fn new(strategy: &'a str, queue_extra: &'a str) -> Center<'a> {
        Center { strategy, queue_extra, inbound: "queue:q", skills: [""; AGENTS], extra: String::new() }
    }

    /// The daemon's config (`dir` is the run's data directory).
    pub fn config(&self, dir: &Path) -> String {
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
inbound = "{inbound}"

[dial_plan]
digit_map = ["8XX"]

[[dial_plan.route]]
pattern = "8XX"
to = "ext"

[[queue]]
name = "q"
strategy = "{strategy}"
members = ["1001", "1002", "1003", "1004", "1005"]
{queue_extra}
"#,
            dir = dir.display(),
            inbound = self.inbound,
            strategy = self.strategy,
            queue_extra = self.queue_extra,
        );
        for i in 1..=AGENTS {
            c += &format!(
                "\n[[extension]]\nnumber = \"80{i}\"\nchannel = {}\n\n[[agent]]\nid = \"100{i}\"\nname = \"Agent {i}\"\nextension = \"80{i}\"\n",
                LINES + i
            );
            if !self.skills[i - 1].is_empty() {
                c += &format!("skills = {{ {} }}\n", self.skills[i - 1]);
            }
        }
        c += &self.extra;
        c
    }
}

/// The daemon's config of `c` with every line sent to IVR flow `name`
/// (written from `flow` under the run's data directory `dir`), and `extra`
/// sections before the `[ivr]` that names the flow directory.
pub fn config_with_flow(dir: &Path, c: Center<'_>, name: &str, flow: &str, extra: &str) -> String {
    let ivr = dir.join("ivr");
    std::fs::create_dir_all(&ivr).expect("ivr dir");
    std::fs::write(ivr.join(format!("{name}.toml")), flow).expect("flow file");
    let inbound = format!("ivr:{name}");
    let mut c = c;
    c.inbound = &inbound;
    c.extra = format!("{extra}\n[ivr]\ndir = \"{}\"\n", ivr.display());
    c.config(dir)
}

/// The daemon's config: every line into queue `q` (strategy and extra
/// queue keys given), five agents.
pub fn config(dir: &Path, strategy: &str, queue_extra: &str) -> String {
    Center::new(strategy, queue_extra).config(dir)
}

/// Callers' numbers 1390000kkkk.
pub fn numbers(n: usize) -> Vec<String> {
    (0..n).map(|k| format!("1390000{k:04}")).collect()
}

/// Log every agent in at board time 0, and `before` acts then too.
pub fn log_in_all(live: &Live<'_>, before: impl FnOnce(&Daemon)) {
    live.at(0, |d| {
        for i in 1..=AGENTS {
            ask(d, CoreRequest::AgentLogin { agent: format!("100{i}"), extension: None, queues: None });
        }
        before(d);
    });
}

/// Run `scen` against the daemon `make` configures, every agent logged in
/// at the start (`before` may act then too).
pub fn run_logged_in(tag: &str, scen: &str, make: &dyn Fn(&Path) -> String, before: impl FnOnce(&Daemon)) -> Run {
    run_config(tag, scen, make, |live| log_in_all(live, before))
}

/// Run a queue scenario: agents log in at the start (`before` may act
/// then too), callers arrive at `arrivals`.
pub fn run_queue(
    tag: &str,
    strategy: &str,
    queue_extra: &str,
    arrivals: &[u64],
    numbers: &[String],
    phones: &[Phone],
    before: impl FnOnce(&Daemon),
) -> Run {
    let scen = scenario(arrivals, numbers, phones);
    run_logged_in(tag, &scen, &|dir| config(dir, strategy, queue_extra), before)
}

/// Every agent's state history, oldest first.
pub fn states(run: &Run) -> BTreeMap<String, Vec<AgentStateRecord>> {
    (1..=AGENTS)
        .map(|i| {
            let id = format!("100{i}");
            let page = run
                .reader
                .agent_history(&id, &HistoryRequest { limit: 1000, ..HistoryRequest::default() })
                .expect("agent history");
            (id, page.states)
        })
        .collect()
}

/// (call, kind, agent, board ms) of every queue event, in order.
pub fn queue_events(run: &Run) -> Vec<(CallId, QueueEventKind, Option<String>, i64)> {
    let mut out = Vec::new();
    for c in run.calls() {
        for e in run.reader.queue_events_of_call(c.id).expect("queue events").unwrap_or_default() {
            out.push((e.call, e.kind, e.agent, e.board_ms));
        }
    }
    out.sort_by_key(|e| e.3);
    out
}

/// Checks every scenario shares: each caller's call is in the journal,
/// ended, answered by an agent; no agent was offered a call while offered
/// or on a call.
pub fn common_checks(run: &Run, callers: usize) {
    run.assert_passed();
    let calls = run.calls();
    assert_eq!(calls.len(), callers, "every call is in the journal:\n{calls:#?}");
    for c in &calls {
        assert!(c.end_wall_ms.is_some(), "call {} ended: {c:#?}", c.id.0);
    }
    for (agent, st) in states(run) {
        for w in st.windows(2) {
            let (a, b) = (w[0].state, w[1].state);
            assert!(
                !(b == AgentStateKind::Offered && matches!(a, AgentStateKind::Offered | AgentStateKind::OnCall)),
                "{agent} was offered a call while {a:?}: {st:#?}"
            );
        }
    }
}

/// How many calls each agent answered.
pub fn answers_by_agent(events: &[(CallId, QueueEventKind, Option<String>, i64)]) -> BTreeMap<String, u32> {
    let mut m = BTreeMap::new();
    for (_, k, a, _) in events {
        if *k == QueueEventKind::Answer {
            *m.entry(a.clone().unwrap_or_default()).or_insert(0) += 1;
        }
    }
    m
}

/// One offer as the agents' state history shows it, with what the
/// strategies compare at that moment.
#[derive(Debug, Clone)]
pub struct OfferSeen {
    pub board_ms: i64,
    /// The agent offered the call.
    pub agent: String,
    pub call: Option<CallId>,
    /// Every agent ready just before the offer (the offered one included),
    /// with the board time its last `ready` began.
    pub ready: BTreeMap<String, i64>,
    /// Every agent's talk time (ms) so far: the time from each `on_call`
    /// to the state after it.
    pub talk_ms: BTreeMap<String, i64>,
}

/// Replay the agents' state changes in the order they were written and
/// note, at each `offered`, who was ready and everyone's talk time. An
/// agent offered while ringing for another call (ring-all) sees the
/// agents offered before it in the same instant as no longer ready.
pub fn offers_seen(run: &Run) -> Vec<OfferSeen> {
    let all = states(run);
    let mut rows: Vec<&AgentStateRecord> = all.values().flatten().collect();
    rows.sort_by_key(|r| (r.board_ms, r.id));
    let mut ready: BTreeMap<String, i64> = BTreeMap::new();
    let mut talk: BTreeMap<String, i64> = (1..=AGENTS).map(|i| (format!("100{i}"), 0)).collect();
    let mut on_call_since: BTreeMap<String, i64> = BTreeMap::new();
    let mut out = Vec::new();
    for r in rows {
        if let Some(since) = on_call_since.remove(&r.agent) {
            *talk.entry(r.agent.clone()).or_insert(0) += r.board_ms - since;
        }
        match r.state {
            AgentStateKind::Offered => {
                out.push(OfferSeen {
                    board_ms: r.board_ms,
                    agent: r.agent.clone(),
                    call: r.call,
                    ready: ready.clone(),
                    talk_ms: talk.clone(),
                });
                ready.remove(&r.agent);
            }
            AgentStateKind::Ready => {
                ready.insert(r.agent.clone(), r.board_ms);
            }
            AgentStateKind::OnCall => {
                ready.remove(&r.agent);
                on_call_since.insert(r.agent.clone(), r.board_ms);
            }
            _ => {
                ready.remove(&r.agent);
            }
        }
    }
    out
}

/// Position of an agent (`100N`) in the queue's member list.
pub fn member_pos(agent: &str) -> usize {
    let n: usize = agent.strip_prefix("100").and_then(|d| d.parse().ok()).expect("an agent id 100N");
    n - 1
}
