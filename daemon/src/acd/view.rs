//! What the API, the supervisor and announcements see of the ACD.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Acd, AgentState, AgentView, Strategy};
use crate::records::CallId;

/// A waiting caller as a queue view shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitingView {
    pub call: CallId,
    pub position: usize,
    pub priority: u8,
    pub wait_ms: u64,
    /// Agents whose phones ring for the caller now.
    pub offered_to: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserved_for: Option<String>,
    pub callback: bool,
}

/// A queue's live state and counters since the daemon started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueView {
    pub name: String,
    pub title: String,
    pub strategy: Strategy,
    pub waiting: Vec<WaitingView>,
    pub longest_wait_ms: u64,
    /// Agents logged in / ready now.
    pub logged_in: usize,
    pub ready: usize,
    pub entered: u64,
    pub answered: u64,
    pub abandoned: u64,
    pub overflowed: u64,
    /// Answered within the service level, percent of answered plus
    /// abandoned after the level (100 when none).
    pub service_level_pct: u32,
    /// Estimated wait for a caller joining now.
    pub estimated_wait_ms: Option<u64>,
}

impl Acd {
    /// A waiting caller's position (1 = next) and estimated wait.
    pub fn position(&self, call: CallId) -> Option<(usize, Option<u64>)> {
        let c = self.callers.get(&call)?;
        let q = &self.queues[c.queue];
        let key = (c.key(), call);
        let pos = q.waiting.range(..key).count() + 1;
        Some((pos, self.estimate(c.queue, pos)))
    }

    /// Estimated wait for the caller at `pos`: the callers ahead (and this
    /// one) shared among the agents staffing the queue, at its average
    /// handle time. `None` when nobody staffs it.
    fn estimate(&self, q: usize, pos: usize) -> Option<u64> {
        let staffed = self
            .agents
            .iter()
            .filter(|a| a.queues.contains(&q) && !matches!(a.state, AgentState::LoggedOut | AgentState::NotReady))
            .count() as u64;
        if staffed == 0 {
            return None;
        }
        Some(pos as u64 * self.queues[q].avg_handle_ms / staffed)
    }

    pub fn agents_view(&self) -> Vec<AgentView> {
        self.agents
            .iter()
            .map(|a| AgentView {
                id: a.spec.id.clone(),
                name: a.spec.name.clone(),
                state: a.state,
                reason: a.reason.clone(),
                since_ms: a.since,
                extension: a.extension.clone(),
                queues: a.queues.iter().map(|&q| self.queues[q].spec.name.clone()).collect(),
                busy: a.busy,
                call: a.call,
                answered: a.answered,
                talk_ms: a.talk_ms,
                skills: a.spec.skills.clone(),
            })
            .collect()
    }

    pub fn agent_view(&self, id: &str) -> Option<AgentView> {
        self.agents_view().into_iter().find(|a| a.id == id)
    }

    pub fn queues_view(&self, now: u64) -> Vec<QueueView> {
        (0..self.queues.len()).map(|q| self.queue_view(q, now)).collect()
    }

    fn queue_view(&self, q: usize, now: u64) -> QueueView {
        let qq = &self.queues[q];
        let waiting: Vec<WaitingView> = qq
            .waiting
            .iter()
            .enumerate()
            .filter_map(|(i, (_, call))| {
                let c = self.callers.get(call)?;
                Some(WaitingView {
                    call: *call,
                    position: i + 1,
                    priority: c.priority,
                    wait_ms: now.saturating_sub(c.arrived),
                    offered_to: c.offered.iter().map(|&a| self.agents[a].spec.id.clone()).collect(),
                    reserved_for: c.reserved.map(|a| self.agents[a].spec.id.clone()),
                    callback: c.callback,
                })
            })
            .collect();
        let counted = qq.answered + qq.abandoned_after_level;
        QueueView {
            name: qq.spec.name.clone(),
            title: qq.spec.title.clone(),
            strategy: qq.spec.strategy,
            longest_wait_ms: waiting.iter().map(|w| w.wait_ms).max().unwrap_or(0),
            waiting,
            logged_in: self.logged_in_count(q),
            ready: self.agents.iter().filter(|a| a.available() && a.queues.contains(&q)).count(),
            entered: qq.entered,
            answered: qq.answered,
            abandoned: qq.abandoned,
            overflowed: qq.overflowed,
            service_level_pct: (qq.answered_in_level * 100).checked_div(counted).map_or(100, |p| p as u32),
            estimated_wait_ms: self.estimate(q, qq.waiting.len() + 1),
        }
    }

    /// Queue names and titles, in config order.
    pub fn queue_names(&self) -> impl Iterator<Item = &str> {
        self.queues.iter().map(|q| q.spec.name.as_str())
    }

    /// Agents of queue `name` free to take a call now.
    pub fn ready_in(&self, name: &str) -> usize {
        let Some(q) = self.queues.iter().position(|q| q.spec.name == name) else { return 0 };
        self.agents.iter().filter(|a| a.available() && a.queues.contains(&q)).count()
    }

    /// Agents of queue `name` free to take a call now, with their
    /// extensions, in config order.
    pub fn ready_agents_in(&self, name: &str) -> Vec<(String, String)> {
        let Some(q) = self.queues.iter().position(|q| q.spec.name == name) else { return Vec::new() };
        self.agents
            .iter()
            .filter(|a| a.available() && a.queues.contains(&q))
            .filter_map(|a| Some((a.spec.id.clone(), a.extension.clone()?)))
            .collect()
    }

    /// Callers waiting, by queue name (for tests and stats).
    pub fn waiting_counts(&self) -> BTreeMap<String, usize> {
        self.queues.iter().map(|q| (q.spec.name.clone(), q.waiting.len())).collect()
    }
}
