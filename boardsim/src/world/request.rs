//! Live control of a running world: requests, replies, status.
//!
//! A [`ControlHandle`] (from [`super::World::control_handle`]) sends
//! requests over a bounded crossbeam channel; the world drains it at the
//! start of every tick, carries each request out at that tick's board time
//! and answers on the request's own reply channel. Errors (no such line,
//! line busy, phone already off-hook…) are replies, never panics.
//!
//! Whatever a request needs that allocates (a caller's recorder, a WAV
//! file's samples) is built by the handle in the requesting thread, so the
//! tick only moves it into place.

use std::sync::Arc;
use std::time::Duration as WallDuration;

use crossbeam_channel::{Receiver, Sender, bounded};
use ctibox_driver::dsp::dtmf::DtmfRxDescriptor;
use ctibox_driver::hal::{Duration, Law, Polarity};
use serde::{Deserialize, Serialize};

use super::audio::{AudioSource, check_digits};
use super::country::CountryProfile;
use super::peer::{EndReason, Peer, PeerState, default_peer_dtmf};

/// Requests waiting for the world at most.
pub const CONTROL_QUEUE: usize = 64;

/// A port a request is about: a CO line (FXO port) or a phone (FXS port),
/// by channel number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PortRef {
    Line(u16),
    Phone(u16),
}

impl std::fmt::Display for PortRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PortRef::Line(n) => write!(f, "line {n}"),
            PortRef::Phone(n) => write!(f, "phone {n}"),
        }
    }
}

/// An inbound call to place.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRequest {
    /// FXO port (channel number) to ring.
    pub line: u16,
    /// The caller's number (sent as caller ID when the line has it).
    pub from: String,
    /// What the caller says once answered.
    pub audio: AudioSource,
    /// Hang up this long after the answer (`None`: stay until the driver
    /// hangs up).
    pub hangup_after: Option<Duration>,
    /// Give up after ringing this long (`None`: the world's default).
    pub abandon_after: Option<Duration>,
    /// Caller name for status and scenarios (`None`: `line N`).
    pub name: Option<String>,
}

/// One live request.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// Ring a line from a caller.
    Call(CallRequest),
    /// Send DTMF: from a line's caller or party, or dialled by a phone.
    Dial { port: PortRef, digits: String },
    /// A line's far end hangs up, or a phone goes on-hook.
    Hangup { port: PortRef },
    /// A phone goes off-hook.
    OffHook { phone: u16 },
    /// A phone flashes the hook.
    Flash { phone: u16 },
    /// A ringing phone answers.
    Answer { phone: u16 },
    /// A snapshot of everything.
    Status,
}

/// What a request did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    Ok { at_ms: u64 },
    Status { status: Box<WorldStatus> },
}

/// Why a request could not be carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "error", content = "detail", rename_all = "snake_case")]
pub enum ControlError {
    #[error("there is no line {0} (FXO ports are channels {1})")]
    NoSuchLine(u16, String),
    #[error("there is no phone {0} (FXS ports are channels {1})")]
    NoSuchPhone(u16, String),
    #[error("line {0} is busy ({1})")]
    LineBusy(u16, String),
    #[error("line {0} has no call")]
    NoCall(u16),
    #[error("phone {0} is already off-hook")]
    AlreadyOffHook(u16),
    #[error("phone {0} is on-hook")]
    OnHook(u16),
    #[error("phone {0} is not ringing")]
    NotRinging(u16),
    #[error("caller `{0}` is already in a call")]
    CallerBusy(String),
    #[error("bad digits: {0}")]
    BadDigits(String),
    #[error("the world's control queue is full")]
    QueueFull,
    #[error("the world did not answer within {0} ms (in fast mode it only moves while a driver is attached)")]
    Timeout(u64),
    #[error("the world is gone")]
    Gone,
}

/// A snapshot of the world.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorldStatus {
    pub now_ms: u64,
    /// Country code (CN, RU, US, UK, EU).
    pub country: String,
    pub law: Law,
    pub lines: Vec<LineStatus>,
    pub phones: Vec<PhoneStatus>,
    pub callers: Vec<PeerStatus>,
    pub parties: Vec<PeerStatus>,
    /// The socket server's counters (ticks served, slips, overruns) as of
    /// the last tick; absent when the world is not served over a socket.
    #[serde(default)]
    pub serving: Option<crate::server::ServeReport>,
}

/// One CO line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineStatus {
    pub line: u16,
    pub number: String,
    /// idle, ringing, talking, dial_tone, dialling, ringback, connected,
    /// busy, congestion, sit, released.
    pub state: String,
    /// Our FXO port is off-hook.
    pub port_off_hook: bool,
    pub ringing: bool,
    pub rings: u32,
    pub loop_current: bool,
    pub polarity: Polarity,
    /// The caller or party on the line.
    pub peer: Option<String>,
    /// Digits the driver dialled on this seizure.
    pub digits: String,
}

/// One phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneStatus {
    pub phone: u16,
    pub number: String,
    pub off_hook: bool,
    /// The driver is ringing it.
    pub ringing: bool,
    pub rings: u32,
    pub loop_current: bool,
    pub polarity: Polarity,
    pub dialling: bool,
    /// Call-progress tone it hears now.
    pub hears: Option<String>,
    pub last_caller_id: Option<String>,
}

/// One caller or party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerStatus {
    pub name: String,
    pub number: String,
    pub state: PeerState,
    pub line: Option<u16>,
    pub calls: u32,
    pub rings: u32,
    pub answered_at_ms: Option<u64>,
    pub ended_at_ms: Option<u64>,
    pub end_reason: Option<EndReason>,
    /// Recorded audio, ms.
    pub recorded_ms: u64,
}

/// A request on its way, with everything it needs prepared.
#[derive(Debug)]
pub(crate) enum Prepared {
    Call { req: CallRequest, peer: Box<Peer> },
    Other(Request),
}

#[derive(Debug)]
pub(crate) struct ControlMsg {
    pub request: Prepared,
    pub reply: Sender<Result<Reply, ControlError>>,
}

/// What a handle needs to prepare requests.
#[derive(Debug, Clone)]
pub(crate) struct PrepareContext {
    pub law: Law,
    pub profile: &'static CountryProfile,
    pub dtmf_rx: Arc<DtmfRxDescriptor>,
    pub record_limit: Duration,
}

/// Sends requests to a running world. Cheap to clone; usable from any
/// thread.
#[derive(Debug, Clone)]
pub struct ControlHandle {
    pub(crate) tx: Sender<ControlMsg>,
    pub(crate) ctx: PrepareContext,
}

impl ControlHandle {
    /// Queue `req`; the reply arrives on the returned channel once the
    /// world has run its next tick.
    pub fn send(&self, req: Request) -> Result<Receiver<Result<Reply, ControlError>>, ControlError> {
        let request = match req {
            Request::Call(c) => {
                let name = c.name.clone().unwrap_or_else(|| format!("line {}", c.line));
                let peer = Peer::new(
                    &name,
                    &c.from,
                    c.audio.clone(),
                    self.ctx.law,
                    self.ctx.profile,
                    &self.ctx.dtmf_rx,
                    default_peer_dtmf(),
                    self.ctx.record_limit,
                );
                Prepared::Call { req: c, peer: Box::new(peer) }
            }
            Request::Dial { digits, .. } if check_digits(&digits).is_err() => {
                let e = check_digits(&digits).err().map(|e| e.to_string()).unwrap_or_default();
                return Err(ControlError::BadDigits(e));
            }
            other => Prepared::Other(other),
        };
        let (rtx, rrx) = bounded(1);
        self.tx.try_send(ControlMsg { request, reply: rtx }).map_err(|e| match e {
            crossbeam_channel::TrySendError::Full(_) => ControlError::QueueFull,
            crossbeam_channel::TrySendError::Disconnected(_) => ControlError::Gone,
        })?;
        Ok(rrx)
    }

    /// Send `req` and wait up to `timeout` for the reply.
    pub fn request(&self, req: Request, timeout: WallDuration) -> Result<Reply, ControlError> {
        let rx = self.send(req)?;
        match rx.recv_timeout(timeout) {
            Ok(r) => r,
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => Err(ControlError::Timeout(timeout.as_millis() as u64)),
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => Err(ControlError::Gone),
        }
    }
}
