//! The ACD: queues, agents and routing decisions.
//!
//! Pure: no I/O, no clock. Board time (ms) comes in with every call and
//! every change goes out as an [`AcdEvent`] in the outbox
//! ([`Acd::take_events`]); the core (`core/acd.rs`) rings phones, plays
//! announcements, writes the journal and publishes CTI events from them.
//!
//! Routing ([`Acd::route`]) is caller first: waiting callers are taken in
//! order of priority (VIP level, higher first) and then arrival; each gets
//! the agent its queue's strategy picks among the agents that may take it
//! now (ready, phone free, logged in to the queue, skills good enough after
//! relaxation, not already tried for this caller while others can be). A
//! caller whose personal manager is logged in waits for that agent alone
//! for the queue's sticky time; a caller a supervisor reserved for an agent
//! waits for that agent. An agent is offered one call at a time: offered,
//! on a call, in wrap-up or busy on another call, it is not offered more.

pub mod agent;
pub mod campaign;
mod pick;
pub mod spec;
#[cfg(test)]
mod tests;
mod view;

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use agent::{After, Agent};
pub use agent::{AgentState, AgentView};
pub use spec::{AgentSpec, Member, QueueSpec, Relax, Strategy};
pub use view::{QueueView, WaitingView};

use crate::records::CallId;

/// What a caller brings to a queue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    /// VIP level: higher is served first (0 = normal).
    pub priority: u8,
    /// Skills needed, with minimum levels.
    pub skills: Vec<(String, u8)>,
    /// The customer's personal manager (agent id), offered first.
    pub sticky: Option<String>,
}

/// Why a caller left a queue without an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaveWhy {
    /// Waited the queue's maximum.
    MaxWait,
    /// The last agent logged out (`leave_empty`).
    Empty,
    /// The queue is gone from the configuration.
    Removed,
}

/// Why a caller could not join.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("there is no queue `{0}`")]
    NoQueue(String),
    #[error("queue `{queue}` is full ({max} callers waiting)")]
    Full { queue: String, max: usize },
    #[error("queue `{0}` has no agent logged in")]
    Empty(String),
    #[error("call {0} is already waiting in a queue")]
    AlreadyQueued(CallId),
}

/// A request about an agent that cannot be done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcdError {
    #[error("there is no agent `{0}`")]
    NoAgent(String),
    #[error("there is no queue `{0}`")]
    NoQueue(String),
    #[error("agent {0} is not logged in")]
    LoggedOut(String),
    #[error("agent {0} has no extension to sit at (give one at login)")]
    NoSeat(String),
    #[error("extension {extension} is taken by agent {agent}")]
    SeatTaken { extension: String, agent: String },
    #[error("call {0} is not waiting in a queue")]
    NotWaiting(CallId),
    #[error("agent {agent} does not serve queue `{queue}`")]
    NotInQueue { agent: String, queue: String },
    #[error("agent {agent} is {state}")]
    WrongState { agent: String, state: &'static str },
}

/// What the core must act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcdEvent {
    /// Ring these agents' phones for the caller (several for ring-all).
    Offer { call: CallId, queue: String, agents: Vec<OfferedAgent>, wait_ms: u64 },
    /// Stop ringing this agent for the caller (ring-out, another agent
    /// answered, the caller left, the agent went not ready).
    Withdraw { call: CallId, agent: String, extension: Option<String>, why: WithdrawWhy },
    /// An agent's state changed (write it, publish it).
    AgentState {
        agent: String,
        state: AgentState,
        reason: String,
        extension: Option<String>,
        call: Option<CallId>,
        at_ms: u64,
    },
    /// A caller left the queue without an agent: send it to the queue's
    /// overflow target.
    Left { call: CallId, queue: String, why: LeaveWhy, wait_ms: u64 },
}

/// One agent an offer rings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedAgent {
    pub agent: String,
    pub extension: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WithdrawWhy {
    /// Nobody answered within the offer timeout.
    NoAnswer,
    /// Another agent answered (ring-all).
    Taken,
    /// The caller hung up or left the queue.
    CallerLeft,
    /// The agent logged out or went not ready.
    AgentLeft,
}

#[derive(Debug, Clone)]
struct Caller {
    call: CallId,
    queue: usize,
    priority: u8,
    seq: u64,
    arrived: u64,
    skills: Vec<(String, u8)>,
    sticky: Option<usize>,
    reserved: Option<usize>,
    /// Agents ringing now, and when the offer times out.
    offered: Vec<usize>,
    offer_deadline: u64,
    /// Agents who let this caller ring out or could not be rung.
    tried: Vec<usize>,
    callback: bool,
}

impl Caller {
    fn key(&self) -> (Reverse<u8>, u64) {
        (Reverse(self.priority), self.seq)
    }
}

#[derive(Debug, Clone)]
struct Queue {
    spec: QueueSpec,
    /// Member position → agent index (members that are not agents are
    /// dropped by the config check; unknown ones here are `None`).
    members: Vec<Option<usize>>,
    /// Per member position: calls answered and talk time in this queue.
    calls: Vec<u32>,
    talk_ms: Vec<u64>,
    /// Round robin: the member position to try first next time.
    rr_next: usize,
    /// Waiting callers by (priority, arrival).
    waiting: BTreeSet<((Reverse<u8>, u64), CallId)>,
    /// Average handle time (moving average), for estimated waits.
    avg_handle_ms: u64,
    entered: u64,
    answered: u64,
    answered_in_level: u64,
    abandoned: u64,
    abandoned_after_level: u64,
    overflowed: u64,
}

impl Queue {
    fn new(spec: QueueSpec, agents: &[Agent]) -> Queue {
        let members: Vec<Option<usize>> =
            spec.members.iter().map(|m| agents.iter().position(|a| a.spec.id == m.agent)).collect();
        let n = members.len();
        Queue {
            spec,
            members,
            calls: vec![0; n],
            talk_ms: vec![0; n],
            rr_next: 0,
            waiting: BTreeSet::new(),
            avg_handle_ms: DEFAULT_HANDLE_MS,
            entered: 0,
            answered: 0,
            answered_in_level: 0,
            abandoned: 0,
            abandoned_after_level: 0,
            overflowed: 0,
        }
    }

    fn member_pos(&self, agent: usize) -> Option<usize> {
        self.members.iter().position(|m| *m == Some(agent))
    }
}

/// What a caller needs: queue, skill relaxation reached, skills.
type Need = (usize, u8, Vec<(String, u8)>);

/// Handle time assumed before a queue has answered calls (2 minutes).
const DEFAULT_HANDLE_MS: u64 = 120_000;

/// The ACD. See the module doc.
#[derive(Debug, Clone)]
pub struct Acd {
    queues: Vec<Queue>,
    agents: Vec<Agent>,
    callers: HashMap<CallId, Caller>,
    /// Every waiting caller with no offer out, in routing order.
    order: BTreeSet<((Reverse<u8>, u64), CallId)>,
    seq: u64,
    rng: u64,
    out: Vec<AcdEvent>,
    now: u64,
}

impl Acd {
    /// An ACD with these queues and agents; `seed` drives weighted random.
    pub fn new(queues: Vec<QueueSpec>, agents: Vec<AgentSpec>, seed: u64) -> Acd {
        let agents: Vec<Agent> = agents.into_iter().map(Agent::new).collect();
        let queues = queues.into_iter().map(|q| Queue::new(q, &agents)).collect();
        Acd {
            queues,
            agents,
            callers: HashMap::new(),
            order: BTreeSet::new(),
            seq: 0,
            rng: seed ^ 0x9E37_79B9_7F4A_7C15,
            out: Vec::new(),
            now: 0,
        }
    }

    /// Take a new configuration: agents keep their state by id, queues
    /// their callers and counters by name. Agents that are gone are logged
    /// out (a call they are on goes on, outside the ACD); callers of a
    /// queue that is gone leave it ([`LeaveWhy::Removed`]).
    pub fn reconfigure(&mut self, queues: Vec<QueueSpec>, agents: Vec<AgentSpec>, now: u64) {
        self.now = self.now.max(now);
        // Agents gone from the config log out first, with the old indexes.
        let gone: Vec<String> = self
            .agents
            .iter()
            .filter(|a| !agents.iter().any(|s| s.id == a.spec.id))
            .map(|a| a.spec.id.clone())
            .collect();
        for id in gone {
            let _ = self.logout(&id, now);
        }
        let old_agents = std::mem::take(&mut self.agents);
        let old_queue_names: Vec<String> = self.queues.iter().map(|q| q.spec.name.clone()).collect();
        self.agents = agents
            .into_iter()
            .map(|spec| match old_agents.iter().find(|a| a.spec.id == spec.id) {
                Some(old) => Agent { spec, ..old.clone() },
                None => Agent::new(spec),
            })
            .collect();
        let agent_map: Vec<Option<usize>> =
            old_agents.iter().map(|a| self.agents.iter().position(|b| b.spec.id == a.spec.id)).collect();
        let old_queues = std::mem::take(&mut self.queues);
        let mut new_queues: Vec<Queue> = Vec::with_capacity(queues.len());
        for spec in queues {
            let mut q = Queue::new(spec, &self.agents);
            if let Some(old) = old_queues.iter().find(|o| o.spec.name == q.spec.name) {
                q.rr_next = old.rr_next.min(q.members.len());
                q.avg_handle_ms = old.avg_handle_ms;
                q.entered = old.entered;
                q.answered = old.answered;
                q.answered_in_level = old.answered_in_level;
                q.abandoned = old.abandoned;
                q.abandoned_after_level = old.abandoned_after_level;
                q.overflowed = old.overflowed;
                for (pos, m) in q.members.clone().iter().enumerate() {
                    if let Some(a) = m
                        && let Some(opos) = old.members.iter().position(|om| om.and_then(|i| agent_map[i]) == Some(*a))
                    {
                        q.calls[pos] = old.calls[opos];
                        q.talk_ms[pos] = old.talk_ms[opos];
                    }
                }
                q.waiting = old.waiting.clone();
            }
            new_queues.push(q);
        }
        self.queues = new_queues;
        let queue_map: Vec<Option<usize>> =
            old_queue_names.iter().map(|n| self.queues.iter().position(|q| &q.spec.name == n)).collect();
        // Remap agents' queues and calls' queue and agent indexes.
        for a in &mut self.agents {
            a.queues = a.queues.iter().filter_map(|&q| queue_map.get(q).copied().flatten()).collect();
            a.call_queue = a.call_queue.and_then(|q| queue_map.get(q).copied().flatten());
        }
        let remap = |v: &mut Vec<usize>| *v = v.iter().filter_map(|&i| agent_map.get(i).copied().flatten()).collect();
        let mut removed = Vec::new();
        for c in self.callers.values_mut() {
            remap(&mut c.offered);
            remap(&mut c.tried);
            c.sticky = c.sticky.and_then(|i| agent_map.get(i).copied().flatten());
            c.reserved = c.reserved.and_then(|i| agent_map.get(i).copied().flatten());
            match queue_map.get(c.queue).copied().flatten() {
                Some(q) => c.queue = q,
                None => removed.push((c.call, old_queue_names[c.queue].clone(), c.arrived)),
            }
        }
        for (call, queue, arrived) in removed {
            self.drop_caller(call);
            self.out.push(AcdEvent::Left { call, queue, why: LeaveWhy::Removed, wait_ms: now.saturating_sub(arrived) });
        }
    }

    /// Events since the last call, oldest first.
    pub fn take_events(&mut self) -> Vec<AcdEvent> {
        std::mem::take(&mut self.out)
    }

    fn agent_ix(&self, id: &str) -> Result<usize, AcdError> {
        self.agents.iter().position(|a| a.spec.id == id).ok_or_else(|| AcdError::NoAgent(id.to_string()))
    }

    fn queue_ix(&self, name: &str) -> Option<usize> {
        self.queues.iter().position(|q| q.spec.name == name)
    }

    /// The agent sitting at an extension.
    pub fn agent_at(&self, extension: &str) -> Option<&str> {
        self.agents
            .iter()
            .find(|a| a.logged_in() && a.extension.as_deref() == Some(extension))
            .map(|a| a.spec.id.as_str())
    }

    /// An agent's configuration.
    pub fn agent_spec(&self, id: &str) -> Option<&AgentSpec> {
        self.agents.iter().find(|a| a.spec.id == id).map(|a| &a.spec)
    }

    /// An agent's state, or `None` when there is no such agent.
    pub fn agent_state(&self, id: &str) -> Option<AgentState> {
        self.agents.iter().find(|a| a.spec.id == id).map(|a| a.state)
    }

    fn set_state(&mut self, ix: usize, state: AgentState, reason: &str) {
        let now = self.now;
        let a = &mut self.agents[ix];
        if a.state == state && a.reason == reason {
            return;
        }
        let was_busy = matches!(a.state, AgentState::Offered | AgentState::OnCall | AgentState::WrapUp);
        a.state = state;
        a.reason = reason.to_string();
        a.since = now;
        if state == AgentState::Ready && (was_busy || a.idle_since == 0) {
            a.idle_since = now;
        }
        let call = match state {
            AgentState::Offered | AgentState::OnCall | AgentState::WrapUp => a.call,
            _ => None,
        };
        self.out.push(AcdEvent::AgentState {
            agent: a.spec.id.clone(),
            state,
            reason: reason.to_string(),
            extension: a.extension.clone(),
            call,
            at_ms: now,
        });
    }

    // --- agents ------------------------------------------------------------

    /// Log an agent in at `extension` (or its configured seat) to `queues`
    /// (or every queue listing it as a member); the agent is ready.
    pub fn login(
        &mut self,
        id: &str,
        extension: Option<&str>,
        queues: Option<&[String]>,
        now: u64,
    ) -> Result<(), AcdError> {
        self.now = self.now.max(now);
        let ix = self.agent_ix(id)?;
        let seat = extension
            .map(str::to_string)
            .or_else(|| self.agents[ix].extension.clone())
            .or_else(|| self.agents[ix].spec.extension.clone())
            .ok_or_else(|| AcdError::NoSeat(id.to_string()))?;
        if let Some(other) =
            self.agents.iter().find(|a| a.spec.id != id && a.logged_in() && a.extension.as_deref() == Some(&seat))
        {
            return Err(AcdError::SeatTaken { extension: seat, agent: other.spec.id.clone() });
        }
        let qs: Vec<usize> = match queues {
            Some(names) => names
                .iter()
                .map(|n| self.queue_ix(n).ok_or_else(|| AcdError::NoQueue(n.clone())))
                .collect::<Result<_, _>>()?,
            None => (0..self.queues.len()).filter(|&q| self.queues[q].member_pos(ix).is_some()).collect(),
        };
        let a = &mut self.agents[ix];
        if a.logged_in() {
            // A second login changes seat (when free) and queues.
            if matches!(a.state, AgentState::Offered | AgentState::OnCall) && a.extension.as_deref() != Some(&seat) {
                return Err(AcdError::WrongState { agent: id.to_string(), state: a.state.name() });
            }
            a.extension = Some(seat);
            a.queues = qs;
            return Ok(());
        }
        a.extension = Some(seat);
        a.queues = qs;
        a.after = After::Normal;
        a.idle_since = now.max(1);
        self.set_state(ix, AgentState::Ready, "");
        Ok(())
    }

    /// Log an agent out; on a call, once the call is over. An offer ringing
    /// is withdrawn and its caller waits for the next agent.
    pub fn logout(&mut self, id: &str, now: u64) -> Result<(), AcdError> {
        self.now = self.now.max(now);
        let ix = self.agent_ix(id)?;
        match self.agents[ix].state {
            AgentState::LoggedOut => return Err(AcdError::LoggedOut(id.to_string())),
            AgentState::OnCall => {
                self.agents[ix].after = After::LogOut;
                return Ok(());
            }
            AgentState::Offered => self.withdraw_agent(ix, WithdrawWhy::AgentLeft),
            _ => {}
        }
        self.set_state(ix, AgentState::LoggedOut, "");
        let queues = std::mem::take(&mut self.agents[ix].queues);
        self.agents[ix].extension = None;
        self.agents[ix].call = None;
        self.agents[ix].call_queue = None;
        for q in queues {
            self.check_empty(q);
        }
        Ok(())
    }

    /// Ready for calls (from not ready or wrap-up).
    pub fn ready(&mut self, id: &str, now: u64) -> Result<(), AcdError> {
        self.now = self.now.max(now);
        let ix = self.agent_ix(id)?;
        match self.agents[ix].state {
            AgentState::LoggedOut => Err(AcdError::LoggedOut(id.to_string())),
            AgentState::OnCall => {
                self.agents[ix].after = After::Normal;
                Ok(())
            }
            AgentState::Ready | AgentState::Offered => Ok(()),
            AgentState::NotReady | AgentState::WrapUp => {
                self.set_state(ix, AgentState::Ready, "");
                Ok(())
            }
        }
    }

    /// Not ready with a reason code; on a call, once the call is over
    /// (skipping wrap-up). An offer ringing is withdrawn.
    pub fn not_ready(&mut self, id: &str, reason: &str, now: u64) -> Result<(), AcdError> {
        self.now = self.now.max(now);
        let ix = self.agent_ix(id)?;
        match self.agents[ix].state {
            AgentState::LoggedOut => return Err(AcdError::LoggedOut(id.to_string())),
            AgentState::OnCall => {
                self.agents[ix].after = After::NotReady(reason.to_string());
                return Ok(());
            }
            AgentState::Offered => self.withdraw_agent(ix, WithdrawWhy::AgentLeft),
            _ => {}
        }
        self.set_state(ix, AgentState::NotReady, reason);
        Ok(())
    }

    /// The phone at `extension` is (or is no longer) in a call the ACD did
    /// not give it: its agent is not offered calls meanwhile.
    pub fn set_busy(&mut self, extension: &str, busy: bool) {
        if let Some(a) = self.agents.iter_mut().find(|a| a.logged_in() && a.extension.as_deref() == Some(extension)) {
            a.busy = busy;
        }
    }

    /// Withdraw the offer ringing agent `ix` (it goes on to whatever state
    /// the caller sets next); its caller goes back to waiting.
    fn withdraw_agent(&mut self, ix: usize, why: WithdrawWhy) {
        let Some(call) = self.agents[ix].call.take() else { return };
        self.agents[ix].call_queue = None;
        let ext = self.agents[ix].extension.clone();
        self.out.push(AcdEvent::Withdraw { call, agent: self.agents[ix].spec.id.clone(), extension: ext, why });
        if let Some(c) = self.callers.get_mut(&call) {
            c.offered.retain(|&a| a != ix);
            if !c.tried.contains(&ix) {
                c.tried.push(ix);
            }
            if c.offered.is_empty() {
                self.order.insert((c.key(), call));
            }
        }
    }

    // --- callers -----------------------------------------------------------

    /// A caller joins a queue; its position (1 = next).
    pub fn enqueue(&mut self, call: CallId, queue: &str, entry: Entry, now: u64) -> Result<usize, Refusal> {
        self.now = self.now.max(now);
        let q = self.queue_ix(queue).ok_or_else(|| Refusal::NoQueue(queue.to_string()))?;
        if self.callers.contains_key(&call) {
            return Err(Refusal::AlreadyQueued(call));
        }
        let spec = &self.queues[q].spec;
        if let Some(max) = spec.max_len
            && self.queues[q].waiting.len() >= max
        {
            self.queues[q].overflowed += 1;
            return Err(Refusal::Full { queue: queue.to_string(), max });
        }
        if !spec.join_empty && self.logged_in_count(q) == 0 {
            self.queues[q].overflowed += 1;
            return Err(Refusal::Empty(queue.to_string()));
        }
        self.seq += 1;
        let sticky = entry.sticky.as_deref().and_then(|id| self.agents.iter().position(|a| a.spec.id == id));
        let c = Caller {
            call,
            queue: q,
            priority: entry.priority,
            seq: self.seq,
            arrived: now,
            skills: entry.skills,
            sticky,
            reserved: None,
            offered: Vec::new(),
            offer_deadline: 0,
            tried: Vec::new(),
            callback: false,
        };
        let key = (c.key(), call);
        self.queues[q].waiting.insert(key);
        self.queues[q].entered += 1;
        self.order.insert(key);
        self.callers.insert(call, c);
        Ok(self.position(call).map_or(1, |(p, _)| p))
    }

    /// Whether a call is waiting in a queue (or being offered from one).
    pub fn is_waiting(&self, call: CallId) -> bool {
        self.callers.contains_key(&call)
    }

    /// The queue a waiting call is in.
    pub fn queue_of(&self, call: CallId) -> Option<&QueueSpec> {
        self.callers.get(&call).map(|c| &self.queues[c.queue].spec)
    }

    /// How long a waiting call has waited.
    pub fn wait_of(&self, call: CallId, now: u64) -> Option<u64> {
        self.callers.get(&call).map(|c| now.saturating_sub(c.arrived))
    }

    fn drop_caller(&mut self, call: CallId) -> Option<Caller> {
        let c = self.callers.remove(&call)?;
        let key = (c.key(), call);
        self.order.remove(&key);
        if let Some(q) = self.queues.get_mut(c.queue) {
            q.waiting.remove(&key);
        }
        Some(c)
    }

    /// The caller hung up (or was taken out by the core): offers ringing
    /// for it are withdrawn. Counts as abandoned unless `abandon` is false.
    pub fn leave(&mut self, call: CallId, abandon: bool, now: u64) -> Option<(String, u64)> {
        self.now = self.now.max(now);
        let c = self.drop_caller(call)?;
        let wait = now.saturating_sub(c.arrived);
        for &ix in &c.offered {
            self.agents[ix].call = None;
            self.agents[ix].call_queue = None;
            self.out.push(AcdEvent::Withdraw {
                call,
                agent: self.agents[ix].spec.id.clone(),
                extension: self.agents[ix].extension.clone(),
                why: WithdrawWhy::CallerLeft,
            });
            if self.agents[ix].state == AgentState::Offered {
                self.set_state(ix, AgentState::Ready, "");
            }
        }
        let q = &mut self.queues[c.queue];
        if abandon {
            q.abandoned += 1;
            if wait > q.spec.service_level_ms {
                q.abandoned_after_level += 1;
            }
        }
        Some((q.spec.name.clone(), wait))
    }

    /// The caller chose to be called back: it keeps its place but is no
    /// longer on the line.
    pub fn set_callback(&mut self, call: CallId) -> Result<(), AcdError> {
        let c = self.callers.get_mut(&call).ok_or(AcdError::NotWaiting(call))?;
        c.callback = true;
        Ok(())
    }

    /// Whether a waiting call asked to be called back.
    pub fn is_callback(&self, call: CallId) -> bool {
        self.callers.get(&call).is_some_and(|c| c.callback)
    }

    /// Change a waiting caller's priority (it keeps its arrival order among
    /// callers of the new level).
    pub fn set_priority(&mut self, call: CallId, priority: u8) -> Result<(), AcdError> {
        let c = self.callers.get_mut(&call).ok_or(AcdError::NotWaiting(call))?;
        let old = (c.key(), call);
        c.priority = priority;
        let new = (c.key(), call);
        let in_order = self.order.remove(&old);
        if in_order {
            self.order.insert(new);
        }
        let q = &mut self.queues[c.queue];
        q.waiting.remove(&old);
        q.waiting.insert(new);
        Ok(())
    }

    /// Raise a waiting caller's priority to at least `priority` (a VIP
    /// level learned after the caller joined).
    pub fn raise_priority(&mut self, call: CallId, priority: u8) -> Result<(), AcdError> {
        let c = self.callers.get(&call).ok_or(AcdError::NotWaiting(call))?;
        if priority > c.priority { self.set_priority(call, priority) } else { Ok(()) }
    }

    /// The caller's personal manager (learned after the caller joined):
    /// offered the call first for the queue's sticky time from its arrival.
    pub fn set_sticky(&mut self, call: CallId, agent: &str) -> Result<(), AcdError> {
        let ix = self.agent_ix(agent)?;
        let c = self.callers.get_mut(&call).ok_or(AcdError::NotWaiting(call))?;
        c.sticky = Some(ix);
        Ok(())
    }

    /// A supervisor gives a waiting caller to an agent: only that agent is
    /// offered it from now on, as soon as the agent is free.
    pub fn reserve(&mut self, call: CallId, agent: &str) -> Result<(), AcdError> {
        let ix = self.agent_ix(agent)?;
        if !self.agents[ix].logged_in() {
            return Err(AcdError::LoggedOut(agent.to_string()));
        }
        let c = self.callers.get_mut(&call).ok_or(AcdError::NotWaiting(call))?;
        c.reserved = Some(ix);
        c.tried.retain(|&a| a != ix);
        Ok(())
    }

    // --- offers ------------------------------------------------------------

    /// An agent answered the caller's offer: the caller leaves the queue,
    /// the agent is on the call, other agents ringing for it are withdrawn.
    pub fn answered(&mut self, call: CallId, agent: &str, now: u64) -> Result<(), AcdError> {
        self.now = self.now.max(now);
        let ix = self.agent_ix(agent)?;
        let offered = self.callers.get(&call).is_some_and(|c| c.offered.contains(&ix));
        if !offered {
            return Err(AcdError::NotWaiting(call));
        }
        let c = self.drop_caller(call).ok_or(AcdError::NotWaiting(call))?;
        for &other in c.offered.iter().filter(|&&o| o != ix) {
            self.agents[other].call = None;
            self.agents[other].call_queue = None;
            self.out.push(AcdEvent::Withdraw {
                call,
                agent: self.agents[other].spec.id.clone(),
                extension: self.agents[other].extension.clone(),
                why: WithdrawWhy::Taken,
            });
            self.set_state(other, AgentState::Ready, "");
        }
        let wait = now.saturating_sub(c.arrived);
        let q = &mut self.queues[c.queue];
        q.answered += 1;
        if wait <= q.spec.service_level_ms {
            q.answered_in_level += 1;
        }
        if let Some(pos) = q.member_pos(ix) {
            q.calls[pos] += 1;
        }
        let a = &mut self.agents[ix];
        a.call = Some(call);
        a.call_queue = Some(c.queue);
        a.answered_at = now;
        a.answered += 1;
        self.set_state(ix, AgentState::OnCall, "");
        Ok(())
    }

    /// The agent's phone could not be rung, or rang out: the agent is
    /// withdrawn from the offer; `rang_out` applies the queue's no-answer
    /// rule (not ready), otherwise the agent stays ready.
    pub fn offer_failed(&mut self, call: CallId, agent: &str, rang_out: bool, now: u64) -> Result<(), AcdError> {
        self.now = self.now.max(now);
        let ix = self.agent_ix(agent)?;
        if self.agents[ix].call != Some(call) || self.agents[ix].state != AgentState::Offered {
            return Err(AcdError::NotWaiting(call));
        }
        let queue = self.callers.get(&call).map(|c| c.queue);
        self.withdraw_agent(ix, if rang_out { WithdrawWhy::NoAnswer } else { WithdrawWhy::AgentLeft });
        let not_ready = rang_out && queue.is_some_and(|q| self.queues[q].spec.no_answer_not_ready);
        if not_ready {
            self.set_state(ix, AgentState::NotReady, "no_answer");
        } else {
            self.set_state(ix, AgentState::Ready, "");
        }
        Ok(())
    }

    /// The agent's queue call is over: wrap-up (the queue's), then ready,
    /// unless not ready or logout was asked for meanwhile.
    pub fn call_ended(&mut self, agent: &str, now: u64) -> Result<(), AcdError> {
        self.now = self.now.max(now);
        let ix = self.agent_ix(agent)?;
        if self.agents[ix].state != AgentState::OnCall {
            return Err(AcdError::WrongState { agent: agent.to_string(), state: self.agents[ix].state.name() });
        }
        let talk = now.saturating_sub(self.agents[ix].answered_at);
        let queue = self.agents[ix].call_queue.take();
        self.agents[ix].talk_ms += talk;
        let mut wrap = 0;
        if let Some(q) = queue {
            let qq = &mut self.queues[q];
            if let Some(pos) = qq.member_pos(ix) {
                qq.talk_ms[pos] += talk;
            }
            // Moving average over about the last 8 calls.
            qq.avg_handle_ms = (qq.avg_handle_ms * 7 + talk + qq.spec.wrap_up_ms) / 8;
            wrap = qq.spec.wrap_up_ms;
        }
        match std::mem::replace(&mut self.agents[ix].after, After::Normal) {
            After::LogOut => {
                self.agents[ix].state = AgentState::OnCall;
                self.agents[ix].call = None;
                self.set_state(ix, AgentState::LoggedOut, "");
                let queues = std::mem::take(&mut self.agents[ix].queues);
                self.agents[ix].extension = None;
                for q in queues {
                    self.check_empty(q);
                }
            }
            After::NotReady(reason) => {
                self.set_state(ix, AgentState::NotReady, &reason);
                self.agents[ix].call = None;
                self.agents[ix].idle_since = now;
            }
            After::Normal if wrap > 0 => {
                self.agents[ix].wrap_until = now + wrap;
                self.set_state(ix, AgentState::WrapUp, "");
                self.agents[ix].call = None;
            }
            After::Normal => {
                self.agents[ix].call = None;
                self.set_state(ix, AgentState::Ready, "");
            }
        }
        Ok(())
    }

    fn logged_in_count(&self, q: usize) -> usize {
        self.agents.iter().filter(|a| a.logged_in() && a.queues.contains(&q)).count()
    }

    /// With `leave_empty`, callers leave a queue nobody is logged in to.
    fn check_empty(&mut self, q: usize) {
        if !self.queues[q].spec.leave_empty || self.logged_in_count(q) > 0 {
            return;
        }
        let calls: Vec<CallId> = self.queues[q].waiting.iter().map(|(_, c)| *c).collect();
        for call in calls {
            if let Some(c) = self.drop_caller(call) {
                self.queues[q].overflowed += 1;
                self.out.push(AcdEvent::Left {
                    call,
                    queue: self.queues[q].spec.name.clone(),
                    why: LeaveWhy::Empty,
                    wait_ms: self.now.saturating_sub(c.arrived),
                });
            }
        }
    }

    // --- time --------------------------------------------------------------

    /// Board time passed: offers ring out, wrap-ups end, callers reach the
    /// maximum wait. Call [`Acd::route`] after.
    pub fn tick(&mut self, now: u64) {
        self.now = self.now.max(now);
        // Offers that rang out.
        let expired: Vec<(CallId, Vec<usize>)> = self
            .callers
            .values()
            .filter(|c| !c.offered.is_empty() && now >= c.offer_deadline)
            .map(|c| (c.call, c.offered.clone()))
            .collect();
        for (call, agents) in expired {
            for ix in agents {
                let id = self.agents[ix].spec.id.clone();
                let _ = self.offer_failed(call, &id, true, now);
            }
        }
        // Wrap-ups over.
        for ix in 0..self.agents.len() {
            if self.agents[ix].state == AgentState::WrapUp && now >= self.agents[ix].wrap_until {
                self.set_state(ix, AgentState::Ready, "");
            }
        }
        // Callers past the maximum wait (not while an agent's phone rings).
        let late: Vec<CallId> = self
            .callers
            .values()
            .filter(|c| {
                c.offered.is_empty()
                    && self.queues[c.queue].spec.max_wait_ms.is_some_and(|m| now.saturating_sub(c.arrived) >= m)
            })
            .map(|c| c.call)
            .collect();
        for call in late {
            if let Some(c) = self.drop_caller(call) {
                let q = &mut self.queues[c.queue];
                q.overflowed += 1;
                self.out.push(AcdEvent::Left {
                    call,
                    queue: q.spec.name.clone(),
                    why: LeaveWhy::MaxWait,
                    wait_ms: now.saturating_sub(c.arrived),
                });
            }
        }
    }

    /// The next board time at which [`Acd::tick`] has something to do
    /// (`None`: nothing pending).
    pub fn next_deadline(&self) -> Option<u64> {
        let offers = self.callers.values().filter(|c| !c.offered.is_empty()).map(|c| c.offer_deadline);
        let waits = self.callers.values().filter_map(|c| self.queues[c.queue].spec.max_wait_ms.map(|m| c.arrived + m));
        let wraps = self.agents.iter().filter(|a| a.state == AgentState::WrapUp).map(|a| a.wrap_until);
        offers.chain(waits).chain(wraps).min()
    }

    // --- routing -----------------------------------------------------------

    /// Match waiting callers with free agents; every match is an
    /// [`AcdEvent::Offer`] in the outbox, and its agents are offered.
    pub fn route(&mut self, now: u64) {
        self.now = self.now.max(now);
        let mut ready: Vec<usize> = (0..self.agents.len()).filter(|&a| self.agents[a].available()).collect();
        if ready.is_empty() || self.order.is_empty() {
            return;
        }
        // Callers with nothing special whom nobody can take now, by what
        // they need: the next caller needing the same is skipped.
        let mut hopeless: Vec<Need> = Vec::new();
        let order: Vec<CallId> = self.order.iter().map(|(_, c)| *c).collect();
        for call in order {
            let Some(c) = self.callers.get(&call) else { continue };
            let lower = self.lower_by(c, now);
            let plain = c.sticky.is_none() && c.reserved.is_none() && c.tried.is_empty();
            if plain && hopeless.iter().any(|(q, l, s)| *q == c.queue && *l == lower && *s == c.skills) {
                continue;
            }
            let queue = c.queue;
            let picked = pick::pick(self, call, lower, &ready, now);
            if picked.is_empty() {
                if plain && let Some(c) = self.callers.get(&call) {
                    hopeless.push((queue, lower, c.skills.clone()));
                }
                continue;
            }
            ready.retain(|a| !picked.contains(a));
            self.offer(call, picked, now);
            if ready.is_empty() {
                break;
            }
        }
    }

    /// How far a caller's skill minimums are lowered after its wait.
    fn lower_by(&self, c: &Caller, now: u64) -> u8 {
        let waited = now.saturating_sub(c.arrived);
        self.queues[c.queue].spec.relax.iter().rev().find(|r| waited >= r.after_ms).map_or(0, |r| r.lower_by)
    }

    fn offer(&mut self, call: CallId, agents: Vec<usize>, now: u64) {
        let Some(c) = self.callers.get_mut(&call) else { return };
        let q = c.queue;
        self.order.remove(&(c.key(), call));
        c.offered = agents.clone();
        c.offer_deadline = now + self.queues[q].spec.offer_timeout_ms;
        let wait_ms = now.saturating_sub(c.arrived);
        if self.queues[q].spec.strategy == Strategy::RoundRobin
            && let Some(pos) = agents.first().and_then(|&a| self.queues[q].member_pos(a))
        {
            self.queues[q].rr_next = pos + 1;
        }
        let mut offered = Vec::with_capacity(agents.len());
        for &ix in &agents {
            self.agents[ix].call = Some(call);
            self.agents[ix].call_queue = Some(q);
            self.set_state(ix, AgentState::Offered, "");
            offered.push(OfferedAgent {
                agent: self.agents[ix].spec.id.clone(),
                extension: self.agents[ix].extension.clone().unwrap_or_default(),
            });
        }
        self.out.push(AcdEvent::Offer { call, queue: self.queues[q].spec.name.clone(), agents: offered, wait_ms });
    }

    /// Next pseudo-random number (splitmix64).
    fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}
