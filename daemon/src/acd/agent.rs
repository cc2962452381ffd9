//! An agent as the ACD follows it: state, seat, queues and counters.

use serde::{Deserialize, Serialize};

use super::spec::AgentSpec;
use crate::records::CallId;

/// Where an agent is. Every change is reported as
/// [`super::AcdEvent::AgentState`] with its time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentState {
    LoggedOut,
    /// Waiting for a call.
    Ready,
    /// Logged in, taking no calls (with a reason code).
    NotReady,
    /// A call is ringing the agent's phone.
    Offered,
    /// In a call from a queue.
    OnCall,
    /// After-call work; ready again when the queue's wrap-up time is over.
    WrapUp,
}

impl AgentState {
    /// The name the API and the journal use (`not_ready`, `wrap_up`…).
    pub fn as_str(self) -> &'static str {
        match self {
            AgentState::LoggedOut => "logged_out",
            AgentState::Ready => "ready",
            AgentState::NotReady => "not_ready",
            AgentState::Offered => "offered",
            AgentState::OnCall => "on_call",
            AgentState::WrapUp => "wrap_up",
        }
    }
}

impl AgentState {
    pub fn name(self) -> &'static str {
        match self {
            AgentState::LoggedOut => "logged_out",
            AgentState::Ready => "ready",
            AgentState::NotReady => "not_ready",
            AgentState::Offered => "offered",
            AgentState::OnCall => "on_call",
            AgentState::WrapUp => "wrap_up",
        }
    }
}

/// What happens to an agent once the current call is over (asked for while
/// the agent was busy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum After {
    /// The queue's wrap-up, then ready.
    Normal,
    NotReady(String),
    LogOut,
}

#[derive(Debug, Clone)]
pub(crate) struct Agent {
    pub spec: AgentSpec,
    pub state: AgentState,
    pub reason: String,
    pub since: u64,
    /// The seat while logged in.
    pub extension: Option<String>,
    /// Queues logged in to (indexes), in login order.
    pub queues: Vec<usize>,
    /// The agent's phone is in a call that is not the ACD's (a personal or
    /// internal call): not offered anything.
    pub busy: bool,
    /// When the agent last became free (end of a call or of wrap-up, login).
    pub idle_since: u64,
    /// The call offered to or taken by the agent.
    pub call: Option<CallId>,
    /// The queue that call came from, and when the agent answered it.
    pub call_queue: Option<usize>,
    pub answered_at: u64,
    pub wrap_until: u64,
    pub after: After,
    /// Calls answered and talk time since the daemon started.
    pub answered: u32,
    pub talk_ms: u64,
}

impl Agent {
    pub fn new(spec: AgentSpec) -> Agent {
        Agent {
            spec,
            state: AgentState::LoggedOut,
            reason: String::new(),
            since: 0,
            extension: None,
            queues: Vec::new(),
            busy: false,
            idle_since: 0,
            call: None,
            call_queue: None,
            answered_at: 0,
            wrap_until: 0,
            after: After::Normal,
            answered: 0,
            talk_ms: 0,
        }
    }

    /// Free to be offered a call now.
    pub fn available(&self) -> bool {
        self.state == AgentState::Ready && !self.busy
    }

    pub fn logged_in(&self) -> bool {
        self.state != AgentState::LoggedOut
    }

    /// Sum of the agent's levels in `skills`, or `None` when one is missing
    /// or below its minimum lowered by `lower_by`.
    pub fn skill_score(&self, skills: &[(String, u8)], lower_by: u8) -> Option<u32> {
        let mut score = 0u32;
        for (name, min) in skills {
            let have = self.spec.skills.get(name).copied().unwrap_or(0);
            if lower_by == super::spec::Relax::ANY {
                score += u32::from(have);
                continue;
            }
            let need = min.saturating_sub(lower_by).max(1);
            if have < need {
                return None;
            }
            score += u32::from(have);
        }
        Some(score)
    }
}

/// An agent as the API and the supervisor see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentView {
    pub id: String,
    pub name: String,
    pub state: AgentState,
    /// Not-ready reason code (empty otherwise).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// Board time of the last state change, ms.
    pub since_ms: u64,
    pub extension: Option<String>,
    pub queues: Vec<String>,
    /// On a personal (non-queue) call.
    pub busy: bool,
    pub call: Option<CallId>,
    pub answered: u32,
    pub talk_ms: u64,
    pub skills: std::collections::BTreeMap<String, u8>,
}
