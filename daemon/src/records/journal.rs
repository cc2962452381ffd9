//! The call journal's write side: identifiers, code points, and the typed
//! operations ([`JournalOp`]) that the call model sends to the records
//! thread, with how each one is applied.
//!
//! One call id links every leg, event, transfer, voicemail and ACD queue
//! event of a call (later work adds recordings keyed by the same id). Ids are allocated by
//! the daemon through [`super::RecordsHandle::next_call_id`] and
//! [`super::RecordsHandle::next_leg_id`] before anything is written, so the
//! call model never waits for the database to learn an id.

use std::fmt;

use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize, Serializer};

use super::acd::{self, AgentStateKind, QueueEventKind};
use super::campaign::{self, AttemptWrite, CallResult, CampaignNumberId, NumberState};
use super::phone::{self, PhoneNumber};

/// Identifies a call in the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CallId(pub i64);

/// Identifies a leg of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LegId(pub i64);

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for LegId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Defines a text code point enum with an `Other` catch-all, `as_str`,
/// `parse`, `Display` and `Serialize` as the text.
macro_rules! code_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value written by newer code or another tool.
            Other(String),
        }

        impl $name {
            /// The text stored in the database and shown by the API.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)+
                    $name::Other(text) => text,
                }
            }

            /// Reads the stored text; unknown text becomes `Other`.
            pub fn parse(text: &str) -> $name {
                match text {
                    $($text => $name::$variant,)+
                    other => $name::Other(other.to_string()),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
    };
}

code_enum! {
    /// Why a call or leg ended.
    HangupCause {
        /// Answered and cleared normally by either side.
        Normal => "normal",
        /// The called party was busy.
        Busy => "busy",
        /// Rang without answer until the timeout.
        NoAnswer => "no_answer",
        /// No route or no free channel (reorder tone, congestion signal).
        Congestion => "congestion",
        /// The caller gave up before the answer.
        Cancelled => "cancelled",
        /// Refused by policy (blacklist, closed hours with no flow).
        Rejected => "rejected",
        /// The far end cleared (loop current drop, disconnect tone, DISCONNECT).
        FarEndDisconnect => "far_end_disconnect",
        /// A failure of ours or of the line (detail says which).
        Failed => "failed",
        /// The daemon stopped or crashed while the call was up.
        Interrupted => "interrupted",
        /// A supervisor dropped the call (force release).
        ForceReleased => "force_released",
    }
}

code_enum! {
    /// What part a leg plays in its call.
    LegRole {
        /// The party who placed the call.
        Caller => "caller",
        /// The party called (outside number or extension).
        Callee => "callee",
        /// An agent's phone reached through the ACD.
        Agent => "agent",
        /// A consultation leg of an attended transfer.
        Consult => "consult",
        /// A member of a conference.
        Conference => "conference",
        /// A supervisor listening, whispering or barging in.
        Monitor => "monitor",
        /// The IVR (the box itself answering).
        Ivr => "ivr",
    }
}

/// Which way a call goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From a trunk (FXO, E1) to the box.
    Inbound,
    /// From the box or an extension out over a trunk.
    Outbound,
    /// Between extensions.
    Internal,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
            Direction::Internal => "internal",
        }
    }

    pub fn parse(text: &str) -> Option<Direction> {
        match text {
            "inbound" => Some(Direction::Inbound),
            "outbound" => Some(Direction::Outbound),
            "internal" => Some(Direction::Internal),
            _ => None,
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Direction {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// How a call was transferred.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransferKind {
    /// Handed over without talking to the target first.
    Blind,
    /// After a consultation leg.
    Attended,
}

impl TransferKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TransferKind::Blind => "blind",
            TransferKind::Attended => "attended",
        }
    }

    pub fn parse(text: &str) -> Option<TransferKind> {
        match text {
            "blind" => Some(TransferKind::Blind),
            "attended" => Some(TransferKind::Attended),
            _ => None,
        }
    }
}

impl Serialize for TransferKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A moment, in both clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Board time, milliseconds.
    pub board_ms: i64,
    /// Wall-clock UTC, milliseconds since the Unix epoch.
    pub wall_ms: i64,
}

/// One write to the call journal. Sent with [`super::RecordsHandle::submit`];
/// applied in order on the records thread.
#[derive(Debug, Clone, PartialEq)]
pub enum JournalOp {
    /// A board channel as configured (upserted by number).
    Channel { number: u32, kind: String, span: u32, role: String, name: String, wall_ms: i64 },
    /// Something happened on a channel outside any call (alarm, slip, hook).
    ChannelEvent { channel: u32, at: Stamp, kind: String, detail: serde_json::Value },
    /// A call begins (first ring, seizure, or an extension going off hook).
    CallStarted {
        call: CallId,
        direction: Direction,
        caller_number: String,
        caller_name: String,
        called_number: String,
        channel: Option<u32>,
        at: Stamp,
    },
    /// Caller ID or dialled digits learned after the start; `None` keeps the value.
    CallParties {
        call: CallId,
        caller_number: Option<String>,
        caller_name: Option<String>,
        called_number: Option<String>,
    },
    /// The call was answered (first answer wins; later ones are ignored).
    CallAnswered { call: CallId, at: Stamp },
    /// A leg joins the call.
    LegAdded {
        leg: LegId,
        call: CallId,
        role: LegRole,
        channel: Option<u32>,
        party_number: String,
        party_name: String,
        extension: Option<String>,
        at: Stamp,
    },
    /// A leg was answered.
    LegAnswered { leg: LegId, at: Stamp },
    /// A leg ended.
    LegEnded { leg: LegId, at: Stamp, cause: HangupCause, detail: String },
    /// An event of a call (ring, dtmf, ivr node, queue, hold...).
    CallEvent { call: CallId, leg: Option<LegId>, at: Stamp, kind: String, detail: serde_json::Value },
    /// The call was transferred.
    Transfer {
        call: CallId,
        kind: TransferKind,
        from_leg: Option<LegId>,
        to_leg: Option<LegId>,
        target: String,
        at: Stamp,
    },
    /// The call ended; legs still open end with it, with the same cause.
    CallEnded { call: CallId, at: Stamp, cause: HangupCause, detail: String },
    /// A caller left a voicemail (the WAV file is written).
    Voicemail { call: CallId, mailbox: String, caller: String, path: String, duration_ms: i64, at: Stamp },
    /// Something happened to a call in an ACD queue (see [`QueueEventKind`]).
    QueueEvent {
        call: CallId,
        queue: String,
        kind: QueueEventKind,
        /// The agent concerned (offered, answering, not answering).
        agent: Option<String>,
        /// Place in the queue, 1 first.
        position: Option<u32>,
        /// Time waited in the queue so far.
        wait_ms: Option<i64>,
        detail: serde_json::Value,
        at: Stamp,
    },
    /// An agent entered a state at `at` (the previous one ends there).
    AgentState {
        agent: String,
        state: AgentStateKind,
        /// Why (a not-ready reason: `break`, `lunch`, `no_answer`); may be empty.
        reason: String,
        /// Where the agent sits; `None` when logged out.
        extension: Option<String>,
        /// The call the state is about (offered, on call, wrap-up).
        call: Option<CallId>,
        at: Stamp,
    },
    /// A campaign's number is being dialled on `call` (the call's
    /// `CallStarted` comes first).
    CampaignDial { number: CampaignNumberId, call: CallId, at: Stamp },
    /// A campaign's number changed (the engine's change after a result, a
    /// do-not-call entry, a restart), with the attempt that led to it.
    CampaignNumber {
        number: CampaignNumberId,
        state: NumberState,
        /// Attempts made so far (the attempt's row is numbered with it).
        attempts: u32,
        /// `retry_wait`: not dialled again before this (wall ms).
        next_at_wall_ms: Option<i64>,
        /// The final result once `done`.
        result: Option<CallResult>,
        /// `None` when no dialling led to the change.
        attempt: Option<AttemptWrite>,
        at: Stamp,
    },
    /// The call of a campaign attempt ended (answered calls end after their
    /// result was written).
    CampaignAttemptEnded { call: CallId, at: Stamp },
    /// A number goes on the do-not-call list (one already there keeps its
    /// entry; a non-empty reason replaces the old one).
    DoNotCall { number: PhoneNumber, reason: String, at: Stamp },
    /// Every entry matching the number leaves the do-not-call list.
    DoNotCallRemoved { number: PhoneNumber },
    /// A campaign is paused or resumed (kept across restarts).
    CampaignPaused { campaign: String, paused: bool, by: String, at: Stamp },
}

impl JournalOp {
    /// A short name for logs and errors.
    pub fn name(&self) -> &'static str {
        match self {
            JournalOp::Channel { .. } => "channel",
            JournalOp::ChannelEvent { .. } => "channel event",
            JournalOp::CallStarted { .. } => "call started",
            JournalOp::CallParties { .. } => "call parties",
            JournalOp::CallAnswered { .. } => "call answered",
            JournalOp::LegAdded { .. } => "leg added",
            JournalOp::LegAnswered { .. } => "leg answered",
            JournalOp::LegEnded { .. } => "leg ended",
            JournalOp::CallEvent { .. } => "call event",
            JournalOp::Transfer { .. } => "transfer",
            JournalOp::CallEnded { .. } => "call ended",
            JournalOp::Voicemail { .. } => "voicemail",
            JournalOp::QueueEvent { .. } => "queue event",
            JournalOp::AgentState { .. } => "agent state",
            JournalOp::CampaignDial { .. } => "campaign dial",
            JournalOp::CampaignNumber { .. } => "campaign number",
            JournalOp::CampaignAttemptEnded { .. } => "campaign attempt ended",
            JournalOp::DoNotCall { .. } => "do not call",
            JournalOp::DoNotCallRemoved { .. } => "do not call removed",
            JournalOp::CampaignPaused { .. } => "campaign paused",
        }
    }
}

/// Why an operation could not be applied (logged and counted by the writer).
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("{op}: {what} {id} is not in the journal")]
    Unknown { op: &'static str, what: &'static str, id: i64 },
    #[error("{op}: {source}")]
    Sqlite { op: &'static str, source: rusqlite::Error },
}

fn rev_key(number: &str) -> String {
    phone::reverse(&phone::match_key_lenient(number))
}

fn channel_sql(channel: Option<u32>) -> Option<i64> {
    channel.map(i64::from)
}

/// Applies one operation on the writer's connection (inside the writer's
/// transaction).
pub(crate) fn apply(conn: &Connection, op: &JournalOp) -> Result<(), ApplyError> {
    let name = op.name();
    let sql = |source| ApplyError::Sqlite { op: name, source };
    let changed = |n: usize, what: &'static str, id: i64| {
        if n == 0 { Err(ApplyError::Unknown { op: name, what, id }) } else { Ok(()) }
    };
    match op {
        JournalOp::Channel { number, kind, span, role, name: channel_name, wall_ms } => {
            conn.prepare_cached(
                "INSERT INTO channels (number, kind, span, role, name, updated_wall_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (number) DO UPDATE SET kind = excluded.kind, span = excluded.span,
                   role = excluded.role, name = excluded.name, updated_wall_ms = excluded.updated_wall_ms",
            )
            .and_then(|mut s| s.execute(params![number, kind, span, role, channel_name, wall_ms]))
            .map_err(sql)?;
        }
        JournalOp::ChannelEvent { channel, at, kind, detail } => {
            conn.prepare_cached(
                "INSERT INTO channel_events (channel, board_ms, wall_ms, kind, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut s| s.execute(params![channel, at.board_ms, at.wall_ms, kind, detail.to_string()]))
            .map_err(sql)?;
        }
        JournalOp::CallStarted { call, direction, caller_number, caller_name, called_number, channel, at } => {
            conn.prepare_cached(
                "INSERT INTO calls (id, direction, caller_number, caller_name, called_number, caller_rev, called_rev,
                   channel, start_board_ms, start_wall_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    call.0,
                    direction.as_str(),
                    caller_number,
                    caller_name,
                    called_number,
                    rev_key(caller_number),
                    rev_key(called_number),
                    channel_sql(*channel),
                    at.board_ms,
                    at.wall_ms
                ])
            })
            .map_err(sql)?;
        }
        JournalOp::CallParties { call, caller_number, caller_name, called_number } => {
            let n = conn
                .prepare_cached(
                    "UPDATE calls SET caller_number = coalesce(?2, caller_number), caller_name = coalesce(?3, caller_name),
                       called_number = coalesce(?4, called_number),
                       caller_rev = coalesce(?5, caller_rev), called_rev = coalesce(?6, called_rev) WHERE id = ?1",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        call.0,
                        caller_number,
                        caller_name,
                        called_number,
                        caller_number.as_deref().map(rev_key),
                        called_number.as_deref().map(rev_key)
                    ])
                })
                .map_err(sql)?;
            changed(n, "call", call.0)?;
        }
        JournalOp::CallAnswered { call, at } => {
            let n = conn
                .prepare_cached(
                    "UPDATE calls SET answer_board_ms = coalesce(answer_board_ms, ?2),
                       answer_wall_ms = coalesce(answer_wall_ms, ?3) WHERE id = ?1",
                )
                .and_then(|mut s| s.execute(params![call.0, at.board_ms, at.wall_ms]))
                .map_err(sql)?;
            changed(n, "call", call.0)?;
        }
        JournalOp::LegAdded { leg, call, role, channel, party_number, party_name, extension, at } => {
            conn.prepare_cached(
                "INSERT INTO legs (id, call_id, channel, role, party_number, party_name, party_rev, extension,
                   start_board_ms, start_wall_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    leg.0,
                    call.0,
                    channel_sql(*channel),
                    role.as_str(),
                    party_number,
                    party_name,
                    rev_key(party_number),
                    extension,
                    at.board_ms,
                    at.wall_ms
                ])
            })
            .map_err(|source| match source.sqlite_error_code() {
                Some(rusqlite::ErrorCode::ConstraintViolation) if !call_exists(conn, *call) => {
                    ApplyError::Unknown { op: name, what: "call", id: call.0 }
                }
                _ => ApplyError::Sqlite { op: name, source },
            })?;
        }
        JournalOp::LegAnswered { leg, at } => {
            let n = conn
                .prepare_cached(
                    "UPDATE legs SET answer_board_ms = coalesce(answer_board_ms, ?2),
                       answer_wall_ms = coalesce(answer_wall_ms, ?3) WHERE id = ?1",
                )
                .and_then(|mut s| s.execute(params![leg.0, at.board_ms, at.wall_ms]))
                .map_err(sql)?;
            changed(n, "leg", leg.0)?;
        }
        JournalOp::LegEnded { leg, at, cause, detail } => {
            let n = conn
                .prepare_cached(
                    "UPDATE legs SET end_board_ms = ?2, end_wall_ms = ?3, cause = ?4, cause_detail = ?5
                     WHERE id = ?1 AND end_wall_ms IS NULL",
                )
                .and_then(|mut s| s.execute(params![leg.0, at.board_ms, at.wall_ms, cause.as_str(), detail]))
                .map_err(sql)?;
            if n == 0 && !row_exists(conn, "SELECT 1 FROM legs WHERE id = ?1", leg.0) {
                return Err(ApplyError::Unknown { op: name, what: "leg", id: leg.0 });
            }
        }
        JournalOp::CallEvent { call, leg, at, kind, detail } => {
            conn.prepare_cached(
                "INSERT INTO call_events (call_id, leg_id, board_ms, wall_ms, kind, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .and_then(|mut s| {
                s.execute(params![call.0, leg.map(|l| l.0), at.board_ms, at.wall_ms, kind, detail.to_string()])
            })
            .map_err(|source| unknown_parent(conn, name, *call, *leg, source))?;
        }
        JournalOp::Transfer { call, kind, from_leg, to_leg, target, at } => {
            conn.prepare_cached(
                "INSERT INTO transfers (call_id, kind, from_leg_id, to_leg_id, target, board_ms, wall_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    call.0,
                    kind.as_str(),
                    from_leg.map(|l| l.0),
                    to_leg.map(|l| l.0),
                    target,
                    at.board_ms,
                    at.wall_ms
                ])
            })
            .map_err(|source| unknown_parent(conn, name, *call, from_leg.or(*to_leg), source))?;
        }
        JournalOp::CallEnded { call, at, cause, detail } => {
            let n = conn
                .prepare_cached(
                    "UPDATE calls SET end_board_ms = ?2, end_wall_ms = ?3, cause = ?4, cause_detail = ?5
                     WHERE id = ?1 AND end_wall_ms IS NULL",
                )
                .and_then(|mut s| s.execute(params![call.0, at.board_ms, at.wall_ms, cause.as_str(), detail]))
                .map_err(sql)?;
            if n == 0 && !call_exists(conn, *call) {
                return Err(ApplyError::Unknown { op: name, what: "call", id: call.0 });
            }
            conn.prepare_cached(
                "UPDATE legs SET end_board_ms = ?2, end_wall_ms = ?3, cause = ?4, cause_detail = ?5
                 WHERE call_id = ?1 AND end_wall_ms IS NULL",
            )
            .and_then(|mut s| s.execute(params![call.0, at.board_ms, at.wall_ms, cause.as_str(), detail]))
            .map_err(sql)?;
        }
        JournalOp::Voicemail { call, mailbox, caller, path, duration_ms, at } => {
            conn.prepare_cached(
                "INSERT INTO voicemail (call_id, mailbox, caller_number, path, duration_ms, board_ms, wall_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .and_then(|mut s| s.execute(params![call.0, mailbox, caller, path, duration_ms, at.board_ms, at.wall_ms]))
            .map_err(|source| unknown_parent(conn, name, *call, None, source))?;
        }
        JournalOp::QueueEvent { call, queue, kind, agent, position, wait_ms, detail, at } => {
            let event = acd::NewQueueEvent {
                call: *call,
                queue,
                kind: *kind,
                agent: agent.as_deref(),
                position: *position,
                wait_ms: *wait_ms,
                detail,
                at: *at,
            };
            acd::insert_queue_event(conn, &event).map_err(|source| unknown_parent(conn, name, *call, None, source))?;
        }
        JournalOp::AgentState { agent, state, reason, extension, call, at } => {
            acd::insert_agent_state(conn, agent, *state, reason, extension.as_deref(), *call, *at).map_err(
                |source| match call {
                    Some(call) => unknown_parent(conn, name, *call, None, source),
                    None => ApplyError::Sqlite { op: name, source },
                },
            )?;
        }
        JournalOp::CampaignDial { number, call, at } => {
            let n = campaign::write_dial(conn, *number, *call, *at)
                .map_err(|source| unknown_parent(conn, name, *call, None, source))?;
            changed(n, "campaign number", number.0)?;
        }
        JournalOp::CampaignNumber { number, state, attempts, next_at_wall_ms, result, attempt, at } => {
            let n = campaign::write_number(
                conn,
                *number,
                *state,
                *attempts,
                *next_at_wall_ms,
                *result,
                attempt.as_ref(),
                *at,
            )
            .map_err(|source| match attempt.as_ref().and_then(|a| a.call) {
                Some(call) => unknown_parent(conn, name, call, None, source),
                None => ApplyError::Sqlite { op: name, source },
            })?;
            changed(n, "campaign number", number.0)?;
        }
        JournalOp::CampaignAttemptEnded { call, at } => {
            let n = campaign::write_attempt_ended(conn, *call, *at).map_err(sql)?;
            changed(n, "open campaign attempt of call", call.0)?;
        }
        JournalOp::DoNotCall { number, reason, at } => {
            campaign::write_dnc(conn, number, reason, at.wall_ms).map_err(sql)?;
        }
        JournalOp::DoNotCallRemoved { number } => {
            campaign::remove_dnc(conn, number).map_err(sql)?;
        }
        JournalOp::CampaignPaused { campaign, paused, by, at } => {
            campaign::write_paused(conn, campaign, *paused, by, at.wall_ms).map_err(sql)?;
        }
    }
    Ok(())
}

fn row_exists(conn: &Connection, sql: &str, id: i64) -> bool {
    conn.prepare_cached(sql).and_then(|mut s| s.exists([id])).unwrap_or(false)
}

fn call_exists(conn: &Connection, call: CallId) -> bool {
    row_exists(conn, "SELECT 1 FROM calls WHERE id = ?1", call.0)
}

fn unknown_parent(
    conn: &Connection,
    op: &'static str,
    call: CallId,
    leg: Option<LegId>,
    source: rusqlite::Error,
) -> ApplyError {
    if source.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) {
        if !call_exists(conn, call) {
            return ApplyError::Unknown { op, what: "call", id: call.0 };
        }
        if let Some(leg) = leg
            && !row_exists(conn, "SELECT 1 FROM legs WHERE id = ?1", leg.0)
        {
            return ApplyError::Unknown { op, what: "leg", id: leg.0 };
        }
    }
    ApplyError::Sqlite { op, source }
}

/// The highest call and leg ids in the journal (ids continue after them).
pub(crate) fn max_ids(conn: &Connection) -> Result<(i64, i64), rusqlite::Error> {
    let calls = conn.query_row("SELECT coalesce(max(id), 0) FROM calls", [], |r| r.get(0))?;
    let legs = conn.query_row("SELECT coalesce(max(id), 0) FROM legs", [], |r| r.get(0))?;
    Ok((calls, legs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_points_round_trip() {
        for cause in ["normal", "busy", "no_answer", "congestion", "cancelled", "rejected", "far_end_disconnect"] {
            assert_eq!(HangupCause::parse(cause).as_str(), cause);
            assert!(!matches!(HangupCause::parse(cause), HangupCause::Other(_)));
        }
        assert_eq!(HangupCause::parse("odd"), HangupCause::Other("odd".into()));
        assert_eq!(LegRole::parse("agent"), LegRole::Agent);
        assert_eq!(Direction::parse("internal"), Some(Direction::Internal));
        assert_eq!(Direction::parse("sideways"), None);
        assert_eq!(serde_json::to_string(&HangupCause::NoAnswer).unwrap(), "\"no_answer\"");
    }
}
