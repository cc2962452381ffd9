//! What the configuration says about queues and agents, as the ACD takes it.
//!
//! The config file's `[[queue]]` and `[[agent]]` sections become these
//! (`config/acd.rs` checks them); the API can change agents' queue
//! memberships at login. Times are milliseconds of board time.

use std::collections::BTreeMap;

/// How a queue picks among the ready agents that may take a caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Ring every eligible ready agent; the first to answer takes the call.
    RingAll,
    /// The next member after the one offered last (the queue remembers).
    RoundRobin,
    /// The agent idle longest (since the end of the last call, or login).
    LongestIdle,
    /// The agent with the fewest calls answered in this queue; ties go to
    /// the one idle longest (an even distribution).
    FewestCalls,
    /// The agent with the least talk time in this queue; ties go to the
    /// one idle longest.
    LeastTalkTime,
    /// Members in the order listed: the first ready one.
    Linear,
    /// At random, in proportion to each member's weight.
    WeightedRandom,
    /// The caller's skills decide: among agents with every required skill
    /// at or above its minimum level (minimums relax with the wait), the
    /// best match (highest sum of levels in the required skills) wins; ties
    /// go to the one idle longest.
    Skills,
}

impl Strategy {
    /// Every strategy with its config name.
    pub const ALL: [(Strategy, &'static str); 8] = [
        (Strategy::RingAll, "ring_all"),
        (Strategy::RoundRobin, "round_robin"),
        (Strategy::LongestIdle, "longest_idle"),
        (Strategy::FewestCalls, "fewest_calls"),
        (Strategy::LeastTalkTime, "least_talk_time"),
        (Strategy::Linear, "linear"),
        (Strategy::WeightedRandom, "weighted_random"),
        (Strategy::Skills, "skills"),
    ];

    /// The config name (`round_robin`…).
    pub fn name(self) -> &'static str {
        Strategy::ALL.iter().find(|(s, _)| *s == self).map_or("?", |(_, n)| n)
    }

    /// From a config name; `-` and `_` are the same.
    pub fn parse(s: &str) -> Option<Strategy> {
        let s = s.trim().replace('-', "_");
        Strategy::ALL.iter().find(|(_, n)| *n == s).map(|(st, _)| *st)
    }
}

/// One step of skill relaxation: once a caller has waited `after_ms`, every
/// minimum level it needs is lowered by `lower_by` (the latest step reached
/// counts, not their sum); `lower_by` of [`Relax::ANY`] drops the
/// requirements altogether.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Relax {
    pub after_ms: u64,
    pub lower_by: u8,
}

impl Relax {
    /// Drop every skill requirement.
    pub const ANY: u8 = u8::MAX;
}

/// A queue member: an agent by id, with a weight for weighted random.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub agent: String,
    /// Weighted random: share of the offers (≥ 1).
    pub weight: u32,
}

/// A queue as configured.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueSpec {
    /// The name flows, routes and the API use (`sales`).
    pub name: String,
    /// What callers and consoles see (`Sales`).
    pub title: String,
    pub strategy: Strategy,
    /// Agents that serve the queue, in order (the order matters for
    /// `linear` and `round_robin`).
    pub members: Vec<Member>,
    /// How long an agent's phone rings before the next agent is tried.
    pub offer_timeout_ms: u64,
    /// An agent who lets an offer ring out goes not ready (reason
    /// `no_answer`).
    pub no_answer_not_ready: bool,
    /// After-call work before the agent is ready again.
    pub wrap_up_ms: u64,
    /// A caller waiting this long leaves the queue for `overflow`.
    pub max_wait_ms: Option<u64>,
    /// At most this many callers wait; more go to `overflow` at once.
    pub max_len: Option<usize>,
    /// Callers may join when no member is logged in.
    pub join_empty: bool,
    /// When the last member logs out, waiting callers leave for `overflow`.
    pub leave_empty: bool,
    /// Skill relaxation steps, by `after_ms` ascending.
    pub relax: Vec<Relax>,
    /// How long a caller's personal manager has the call to himself.
    pub sticky_ms: u64,
    /// Service level: answered within this wait counts as in service.
    pub service_level_ms: u64,
}

impl QueueSpec {
    /// A queue with the usual settings (tests and the demo start here).
    pub fn new(name: &str, strategy: Strategy, members: &[&str]) -> QueueSpec {
        QueueSpec {
            name: name.to_string(),
            title: name.to_string(),
            strategy,
            members: members.iter().map(|a| Member { agent: a.to_string(), weight: 1 }).collect(),
            offer_timeout_ms: 15_000,
            no_answer_not_ready: true,
            wrap_up_ms: 0,
            max_wait_ms: None,
            max_len: None,
            join_empty: true,
            leave_empty: false,
            relax: Vec::new(),
            sticky_ms: 20_000,
            service_level_ms: 20_000,
        }
    }
}

/// An agent as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSpec {
    /// Login id (`1001`), also typed on the phone.
    pub id: String,
    pub name: String,
    /// PIN for logging in from a phone (digits).
    pub pin: Option<String>,
    /// Skill → level (1–10).
    pub skills: BTreeMap<String, u8>,
    /// The extension the agent sits at unless the login says otherwise.
    pub extension: Option<String>,
}

impl AgentSpec {
    pub fn new(id: &str, name: &str) -> AgentSpec {
        AgentSpec { id: id.to_string(), name: name.to_string(), pin: None, skills: BTreeMap::new(), extension: None }
    }
}
