//! The core's picture of the world: channels, calls and their legs.

use ctibox_driver::hal::{BoardTime, ChannelId, ChannelKind};

use super::api::{CallId, CallStatus, CallView, ChannelStatus, ChannelView, LegId, LegStatus, LegView};
use crate::config::Target;
use crate::records::{Direction, HangupCause, LegRole};

/// What a channel is for, from the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChanRole {
    /// An FXO line of this trunk group.
    Trunk(String),
    /// The phone of this extension.
    Extension(String),
    /// Not in the config: left alone.
    Unused,
}

/// What a channel plays, as the core last asked (to avoid asking twice).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    None,
    Ringback,
    Busy,
    Congestion,
    MusicOnHold,
    /// IVR prompts.
    Prompt,
}

/// One board channel.
#[derive(Debug, Clone)]
pub struct Chan {
    pub id: ChannelId,
    pub kind: ChannelKind,
    pub role: ChanRole,
    pub status: ChannelStatus,
    pub since: BoardTime,
    /// The call and leg using the channel.
    pub call: Option<(CallId, LegId)>,
    pub media: Media,
}

impl Chan {
    pub fn is_free(&self) -> bool {
        self.status == ChannelStatus::Idle && self.call.is_none()
    }

    pub fn view(&self) -> ChannelView {
        let (role, name) = match &self.role {
            ChanRole::Trunk(t) => ("trunk".to_string(), t.clone()),
            ChanRole::Extension(e) => ("extension".to_string(), e.clone()),
            ChanRole::Unused => ("unused".to_string(), String::new()),
        };
        ChannelView {
            channel: self.id,
            kind: self.kind.name().to_string(),
            role,
            name,
            status: self.status,
            call: self.call.map(|(c, _)| c),
            since_ms: self.since.as_ms(),
        }
    }
}

/// One party of a call on one channel.
#[derive(Debug, Clone)]
pub struct Leg {
    pub id: LegId,
    pub channel: ChannelId,
    pub role: LegRole,
    /// Extension number or outside number.
    pub party: String,
    pub status: LegStatus,
    pub held: bool,
    /// An outbound trunk leg: the line is being dialled by us.
    pub outbound_trunk: bool,
    pub answered: Option<BoardTime>,
}

impl Leg {
    /// Whether the leg takes part in the call's audio: answered and not on
    /// hold, or an outbound line whose progress tones the caller should
    /// hear.
    pub fn in_audio(&self) -> bool {
        match self.status {
            LegStatus::Up => !self.held,
            LegStatus::Alerting => self.outbound_trunk,
            _ => false,
        }
    }
    pub fn is_live(&self) -> bool {
        self.status != LegStatus::Ended
    }
}

/// Why legs are being rung.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RingPurpose {
    /// The call's destination.
    Connect,
    /// A transfer of the party on `moved` (blind, or a completed attended
    /// transfer whose target was still ringing); on no answer, `recall`
    /// rings again.
    Transfer { moved: LegId, recall: Option<String> },
    /// A consultation call from `by` while `held` waits.
    Consult { by: LegId, held: LegId },
    /// A third party for a conference.
    Conference,
    /// Click-to-dial: the extension is rung first; once it answers, `to` is
    /// called.
    Originate { to: String },
}

/// A ringing in progress.
#[derive(Debug, Clone)]
pub struct Ringing {
    pub purpose: RingPurpose,
    /// When to give up (board time).
    pub deadline: BoardTime,
    /// Sequential ring groups: members still to try, and ring time each.
    pub next_members: Vec<String>,
    pub each_ms: u64,
    /// Where an unanswered call goes next.
    pub no_answer: Target,
}

/// A consultation in progress (flash on an extension, or an API attended
/// transfer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Consult {
    /// The party consulting (the one who flashed).
    pub by: LegId,
    /// The party waiting on hold.
    pub held: LegId,
}

/// A call: a journal id linking every leg.
#[derive(Debug, Clone)]
pub struct Call {
    pub id: CallId,
    pub direction: Direction,
    pub caller_number: String,
    pub caller_name: String,
    pub called_number: String,
    pub legs: Vec<Leg>,
    pub started: BoardTime,
    pub answered: Option<BoardTime>,
    pub ended: Option<BoardTime>,
    pub cause: Option<(HangupCause, String)>,
    pub ringing: Option<Ringing>,
    pub consult: Option<Consult>,
    /// Data attached to the call (IVR variables: digits collected, lookup
    /// results…), carried to whoever takes it next.
    pub vars: std::collections::BTreeMap<String, String>,
    /// Notes attached by agents and supervisors, oldest first.
    pub notes: Vec<super::api::CallNote>,
}

impl Call {
    pub fn leg(&self, id: LegId) -> Option<&Leg> {
        self.legs.iter().find(|l| l.id == id)
    }
    pub fn leg_mut(&mut self, id: LegId) -> Option<&mut Leg> {
        self.legs.iter_mut().find(|l| l.id == id)
    }
    pub fn live_legs(&self) -> impl Iterator<Item = &Leg> {
        self.legs.iter().filter(|l| l.is_live())
    }
    pub fn status(&self) -> CallStatus {
        if self.ended.is_some() {
            CallStatus::Ended
        } else if self.answered.is_some() {
            CallStatus::Up
        } else {
            CallStatus::Ringing
        }
    }

    pub fn view(&self) -> CallView {
        let dir = match self.direction {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
            Direction::Internal => "internal",
        };
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        CallView {
            call: self.id,
            direction: dir.to_string(),
            caller_number: opt(&self.caller_number),
            caller_name: opt(&self.caller_name),
            called_number: opt(&self.called_number),
            status: self.status(),
            legs: self
                .legs
                .iter()
                .map(|l| LegView {
                    leg: l.id,
                    channel: l.channel,
                    role: l.role.as_str().to_string(),
                    party: l.party.clone(),
                    status: if l.held && l.status == LegStatus::Up { LegStatus::Held } else { l.status },
                    held: l.held,
                })
                .collect(),
            started_ms: self.started.as_ms(),
            answered_ms: self.answered.map(BoardTime::as_ms),
            ended_ms: self.ended.map(BoardTime::as_ms),
            cause: self.cause.as_ref().map(|(c, _)| c.as_str().to_string()),
            vars: self.vars.clone(),
            notes: self.notes.clone(),
        }
    }
}
