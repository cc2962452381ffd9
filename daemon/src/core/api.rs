//! The call-control core's interface: what the API and the CLI may ask of
//! it, what it answers, and the events it publishes (CTI events).
//!
//! The core is one thread that owns every call. Requests reach it over a
//! bounded channel with a one-shot reply; events leave it on a broadcast
//! channel that every WebSocket client subscribes to. Every event carries a
//! sequence number; a client that (re)connects takes a [`Snapshot`] (which
//! carries the sequence it is current to) and then ignores events with a
//! sequence at or below it.

use serde::{Deserialize, Serialize};

use ctibox_driver::hal::ChannelId;

pub use crate::acd::{AgentView, QueueView};

pub use crate::records::{CallId, LegId};

/// What a channel is doing, as a technician or a console shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelStatus {
    /// Free.
    Idle,
    /// FXO: a call is ringing in. FXS: we ring the phone.
    Ringing,
    /// FXS: off-hook, hearing dial tone or dialling.
    Dialing,
    /// FXO: seized for an outgoing call, dialling or waiting for an answer.
    Calling,
    /// In a call.
    Talking,
    /// The party on this channel is on hold.
    Held,
    /// FXS: the call is over but the phone is still off-hook.
    Releasing,
    /// Not usable (no line state machine, board alarm).
    Down,
}

/// One channel as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelView {
    pub channel: ChannelId,
    /// `fxo`, `fxs`, `e1`, `dchan`.
    pub kind: String,
    /// The trunk group or extension it belongs to.
    pub role: String,
    /// Extension number or trunk name.
    pub name: String,
    pub status: ChannelStatus,
    pub call: Option<CallId>,
    /// Board time of the last change, ms.
    pub since_ms: u64,
}

/// State of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallStatus {
    /// Ringing its destination (or dialling out).
    Ringing,
    /// Connected.
    Up,
    /// Ended.
    Ended,
}

/// State of one leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegStatus {
    /// Being rung (an extension) or dialled (a trunk).
    Ringing,
    /// The far end's line is alerting (ringback heard).
    Alerting,
    Up,
    Held,
    Ended,
}

/// One leg as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegView {
    pub leg: LegId,
    pub channel: ChannelId,
    /// `caller`, `callee`, `consult`, `conference`…
    pub role: String,
    /// The party: an extension number or an outside number.
    pub party: String,
    pub status: LegStatus,
    /// On hold (hearing music).
    pub held: bool,
}

/// One call as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallView {
    pub call: CallId,
    /// `inbound`, `outbound`, `internal`.
    pub direction: String,
    pub caller_number: Option<String>,
    pub caller_name: Option<String>,
    pub called_number: Option<String>,
    pub status: CallStatus,
    pub legs: Vec<LegView>,
    pub started_ms: u64,
    pub answered_ms: Option<u64>,
    pub ended_ms: Option<u64>,
    /// Why it ended (`normal`, `busy`, `no_answer`…).
    pub cause: Option<String>,
    /// Data attached to the call: what the caller entered in the IVR,
    /// lookup results (empty when none).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub vars: std::collections::BTreeMap<String, String>,
    /// Notes agents and supervisors attached to the call, oldest first
    /// (left out when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<CallNote>,
}

/// A note attached to a call in progress (`POST /calls/{id}/notes`); it
/// goes with the call to whoever takes it next, and to the journal as a
/// `note` call event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallNote {
    /// Who wrote it: the API user's name.
    pub author: String,
    pub text: String,
    /// Board time it was attached, ms.
    pub at_ms: u64,
}

/// Everything current, for a client that just connected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The sequence of the last event this snapshot includes.
    pub seq: u64,
    pub board_ms: u64,
    pub channels: Vec<ChannelView>,
    pub calls: Vec<CallView>,
    /// ACD agents and queues (empty without `[[queue]]`/`[[agent]]`).
    #[serde(default)]
    pub agents: Vec<AgentView>,
    #[serde(default)]
    pub queues: Vec<QueueView>,
}

/// What an agent's screen shows when a queue call is offered: who calls,
/// the customer's record (none: a new customer), the IVR's path and
/// variables, the queue and the wait, and the customer's last calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScreenPop {
    pub agent: String,
    pub call: CallId,
    pub queue: String,
    pub queue_title: String,
    pub caller_number: String,
    pub caller_name: String,
    pub wait_ms: u64,
    /// The customer asked to be called back (the agent answers first, then
    /// the customer is dialled).
    pub callback: bool,
    /// The customer record (as `GET /customers/{id}` shows it); `null`
    /// for an unknown number.
    pub customer: Option<serde_json::Value>,
    /// The customer's last calls, newest first.
    pub last_calls: Vec<serde_json::Value>,
    /// IVR nodes the caller went through.
    pub ivr_path: Vec<String>,
    /// Everything attached to the call (IVR variables, lookups, data set
    /// by agents).
    pub vars: std::collections::BTreeMap<String, String>,
    /// The notes attached to the call so far, oldest first.
    #[serde(default)]
    pub notes: Vec<CallNote>,
    /// The agent who transferred the call here (to the queue, or straight
    /// to this agent); `None` when it was not transferred by an agent.
    #[serde(default)]
    pub transferred_by: Option<String>,
}

/// A CTI event, published on every change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CtiEvent {
    pub seq: u64,
    /// Board time, ms.
    pub at_ms: u64,
    #[serde(flatten)]
    pub kind: CtiEventKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CtiEventKind {
    /// A channel changed state.
    Channel { channel: ChannelView },
    /// A call changed state (the whole call).
    Call { call: CallView },
    /// Caller ID arrived on a line.
    CallerId { channel: ChannelId, number: Option<String>, name: Option<String>, call: Option<CallId> },
    /// A DTMF key during a call.
    Dtmf { channel: ChannelId, digit: char, call: Option<CallId> },
    /// An ACD agent changed state.
    Agent { agent: AgentView },
    /// A queue changed (callers joined, left, were offered).
    Queue { queue: QueueView },
    /// A queue call is offered to an agent, or a call is transferred
    /// to an agent's phone (sent as the phone starts ringing).
    ScreenPop { pop: Box<ScreenPop> },
    /// Preview dialling: a number is shown to an agent (`offered`), or the
    /// preview ended (`accepted`, `skipped`, `expired`).
    Preview { preview: PreviewView },
}

/// A campaign's number shown to an agent before it is dialled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreviewView {
    pub agent: String,
    pub campaign: String,
    /// `offered`, `accepted`, `skipped` or `expired`.
    pub state: String,
    pub number_id: crate::records::CampaignNumberId,
    pub number: String,
    /// The customer the number belongs to (`GET /customers/{id}`).
    pub customer: Option<crate::records::customers::CustomerId>,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// How long the agent has to accept or skip.
    pub timeout_ms: u64,
}

/// Blind or consultative transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferMode {
    /// Send the other party to the target at once.
    Blind,
    /// Call the target first; complete the transfer with
    /// [`CoreRequest::CompleteTransfer`] (or by the transferring extension
    /// hanging up).
    Attended,
}

/// What the API or CLI asks of the core.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum CoreRequest {
    Snapshot,
    /// Ring extension `from`; when it answers, call `to` (an extension or an
    /// outside number, through the dial plan).
    Originate {
        from: String,
        to: String,
    },
    /// Answer a ringing inbound trunk call and hold the caller (music on
    /// hold) until it is transferred.
    Answer {
        call: CallId,
    },
    /// End a call, or one leg of it.
    Hangup {
        call: CallId,
        leg: Option<LegId>,
    },
    /// Put a leg's party on hold (music on hold).
    Hold {
        call: CallId,
        leg: LegId,
    },
    Unhold {
        call: CallId,
        leg: LegId,
    },
    /// Transfer a leg's party to `to`: an extension, group or number as
    /// dialled, `agent:ID` (the agent's seat, if logged in and free) or
    /// `queue:NAME` (blind only: the party waits in the queue again).
    Transfer {
        call: CallId,
        leg: LegId,
        to: String,
        mode: TransferMode,
    },
    /// Finish an attended transfer: connect the held party to the consulted
    /// one and drop the transferring leg.
    CompleteTransfer {
        call: CallId,
    },
    /// Give up an attended transfer: the consulted party (or the queue the
    /// consultation waits in) is dropped and the held party is back with the
    /// transferring one.
    CancelTransfer {
        call: CallId,
    },
    /// Add `to` to the call as a third party.
    Conference {
        call: CallId,
        to: String,
    },
    /// Attach a note by `author` to a call in progress (see
    /// [`super::call_data::check_note`]).
    AddNote {
        call: CallId,
        author: String,
        text: String,
    },
    /// Set a variable of a call in progress (see
    /// [`super::call_data::check_data_key`]); `author` is journalled.
    SetCallData {
        call: CallId,
        author: String,
        key: String,
        value: String,
    },
    /// ACD agents and queues, live.
    Acd,
    /// Log an agent in at `extension` (default: the agent's configured
    /// seat) to `queues` (default: every queue listing the agent).
    AgentLogin {
        agent: String,
        #[serde(default)]
        extension: Option<String>,
        #[serde(default)]
        queues: Option<Vec<String>>,
    },
    /// Log an agent out (after the current call, if any).
    AgentLogout {
        agent: String,
    },
    AgentReady {
        agent: String,
    },
    /// Not ready, with a reason code.
    AgentNotReady {
        agent: String,
        #[serde(default)]
        reason: String,
    },
    /// A supervisor changes a waiting caller's priority (0–9).
    QueuePriority {
        call: CallId,
        priority: u8,
    },
    /// A supervisor gives a waiting caller to an agent.
    QueuePick {
        call: CallId,
        agent: String,
    },
    /// A supervisor at extension `supervisor` listens to, whispers to,
    /// barges in on or takes over the call of `agent` (an agent id or an
    /// extension). Repeated for the same call, it changes the mode.
    Monitor {
        supervisor: String,
        agent: String,
        mode: MonitorMode,
    },
    /// A supervisor (`by`) drops the call of `agent` (an agent id or an
    /// extension).
    ForceRelease {
        agent: String,
        by: String,
    },
    /// Outbound campaigns, live.
    Campaigns,
    /// Pause (or resume) a campaign's dialling; calls out go on. Kept
    /// across restarts.
    CampaignPause {
        campaign: String,
        paused: bool,
        by: String,
    },
    /// Numbers were imported into a campaign: read them.
    CampaignNumbersAdded {
        campaign: String,
    },
    /// Preview dialling: the agent accepts the number shown (its phone
    /// rings, then the number is dialled) or skips it.
    Preview {
        agent: String,
        accept: bool,
    },
    /// Put a number on the do-not-call list: no campaign dials it again.
    DoNotCall {
        number: String,
        #[serde(default)]
        reason: String,
    },
}

/// Why a transfer to `agent:ID` cannot ring the agent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "why", rename_all = "snake_case")]
pub enum AgentUnavailable {
    #[error("there is no agent `{agent}`")]
    NoSuchAgent { agent: String },
    #[error("agent {agent} is logged out")]
    LoggedOut { agent: String },
    /// On or offered a queue call, or its phone is in use.
    #[error("agent {agent} is busy ({what})")]
    Busy { agent: String, what: String },
}

impl AgentUnavailable {
    /// The agent id concerned.
    pub fn agent(&self) -> &str {
        match self {
            AgentUnavailable::NoSuchAgent { agent }
            | AgentUnavailable::LoggedOut { agent }
            | AgentUnavailable::Busy { agent, .. } => agent,
        }
    }
}

/// How a supervisor joins an agent's call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MonitorMode {
    /// Hears both parties; nobody hears the supervisor.
    Listen,
    /// Hears both; only the agent hears the supervisor.
    Whisper,
    /// A three-party call.
    Barge,
    /// The supervisor replaces the agent.
    TakeOver,
}

/// What the core answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum CoreReply {
    Snapshot(Snapshot),
    /// ACD agents and queues.
    Acd {
        agents: Vec<AgentView>,
        queues: Vec<QueueView>,
    },
    /// Done; the call concerned.
    Ok {
        call: Option<CallId>,
    },
    /// Outbound campaigns.
    Campaigns {
        campaigns: Vec<CampaignView>,
    },
}

/// A campaign as the core runs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignView {
    pub name: String,
    pub queue: String,
    pub trunk: String,
    /// Its numbers are read from the records (until then it dials
    /// nothing).
    pub loaded: bool,
    /// Numbers per state, final results, attempts, paused, finished.
    pub summary: crate::acd::campaign::CampaignSummary,
    /// Calls out: dialling, answered and waiting for an agent, or talking.
    pub calls_out: usize,
    /// Calls dialling or ringing.
    pub dialing_now: usize,
    /// Ready agents of its queue, free lines of its trunk.
    pub ready_agents: usize,
    pub free_lines: usize,
    /// Who paused or resumed it last, and when (wall ms).
    pub paused_by: Option<String>,
    pub paused_at_wall_ms: Option<i64>,
    /// Preview dialling: the numbers agents have on screen.
    #[serde(default)]
    pub previews: Vec<PreviewView>,
}

/// Why the core refused a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "error", content = "detail", rename_all = "snake_case")]
pub enum CoreError {
    #[error("no call {0}")]
    NoSuchCall(CallId),
    #[error("call {call} has no leg {leg}")]
    NoSuchLeg { call: CallId, leg: LegId },
    #[error("no extension {0}")]
    NoSuchExtension(String),
    #[error("`{0}` matches no route of the dial plan")]
    NoRoute(String),
    #[error("extension {0} is busy")]
    Busy(String),
    #[error("no free line in trunk group `{0}`")]
    NoFreeLine(String),
    #[error("{0}")]
    InvalidState(String),
    /// The ACD refused (no such agent or queue, wrong state, seat taken…).
    #[error("{0}")]
    Acd(String),
    /// No such campaign, a bad number for the do-not-call list.
    #[error("{0}")]
    Campaign(String),
    /// A transfer to `agent:ID` found no agent to ring.
    #[error("transfer to agent:{agent}: {0}", agent = .0.agent())]
    AgentUnavailable(AgentUnavailable),
    /// A note or call variable that cannot be attached (the field and
    /// what is wrong with it).
    #[error("{field}: {problem}")]
    BadData { field: String, problem: String },
    #[error("the call-control core is not running")]
    Gone,
    #[error("the call-control core did not answer in time")]
    Timeout,
}
