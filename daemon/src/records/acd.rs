//! The ACD's records: what happened to calls in queues ([`QueueEventKind`])
//! and which state each agent was in ([`AgentStateKind`]), linked to the
//! call journal by call id; read back per call, per agent, and for the
//! screen pop (a customer's last calls). The reports over them are
//! [`super::acd_report`].
//!
//! # Writing
//!
//! The ACD core sends [`JournalOp::QueueEvent`] and [`JournalOp::AgentState`]
//! like the other journal operations; the records thread applies them in
//! order. An event naming a call the journal does not have is refused with
//! the same [`ApplyError::Unknown`] as the others (the core writes
//! `CallStarted` first).
//!
//! # Agent states
//!
//! A row of `agent_states` is the state an agent **entered** at its time;
//! the previous state of that agent ends there. An agent's current state is
//! its latest row (by wall time, then insertion order). No row is ever
//! updated, so history is never rewritten.
//!
//! [`JournalOp::QueueEvent`]: super::JournalOp::QueueEvent
//! [`JournalOp::AgentState`]: super::JournalOp::AgentState
//! [`ApplyError::Unknown`]: super::journal::ApplyError::Unknown

use std::fmt;
use std::str::FromStr;

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::error::QueryError;
use super::journal::{CallId, Direction, HangupCause, Stamp};
use super::journal_query::{self, CallFilter, CallOrder, CallPageRequest, PAGE_MAX};
use super::reader::RecordsReader;

/// What happened to a call in a queue. Stored as the snake_case text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueEventKind {
    /// The caller joined the queue (`position`: where).
    Enter,
    /// The call was offered to `agent` (the agent's phone rings).
    Offer,
    /// `agent` answered; `wait_ms` is the time the caller waited.
    Answer,
    /// `agent` let the offer ring out or refused it; the caller waits on.
    NoAnswer,
    /// The caller hung up while waiting (`wait_ms`: after how long).
    Abandon,
    /// The caller was sent to the queue's overflow destination without
    /// waiting out the queue (queue full, no agent logged in).
    Overflow,
    /// The caller waited the queue's longest wait and was sent on.
    Timeout,
    /// The caller asked to be called back and left the line.
    Callback,
    /// The call was transferred into this queue (`agent`: the agent who
    /// transferred it, if one did); its `enter` follows.
    Transfer,
    /// The caller left the queue another way (an exit key of the flow).
    Leave,
    /// The caller's priority changed (`detail`: the new priority).
    Priority,
}

impl QueueEventKind {
    /// Every kind, in the order of the schema's CHECK list.
    pub const ALL: [QueueEventKind; 11] = [
        QueueEventKind::Enter,
        QueueEventKind::Offer,
        QueueEventKind::Answer,
        QueueEventKind::NoAnswer,
        QueueEventKind::Abandon,
        QueueEventKind::Overflow,
        QueueEventKind::Timeout,
        QueueEventKind::Callback,
        QueueEventKind::Transfer,
        QueueEventKind::Leave,
        QueueEventKind::Priority,
    ];

    /// The text stored in the database and shown by the API.
    pub fn as_str(self) -> &'static str {
        match self {
            QueueEventKind::Enter => "enter",
            QueueEventKind::Offer => "offer",
            QueueEventKind::Answer => "answer",
            QueueEventKind::NoAnswer => "no_answer",
            QueueEventKind::Abandon => "abandon",
            QueueEventKind::Overflow => "overflow",
            QueueEventKind::Timeout => "timeout",
            QueueEventKind::Callback => "callback",
            QueueEventKind::Transfer => "transfer",
            QueueEventKind::Leave => "leave",
            QueueEventKind::Priority => "priority",
        }
    }

    /// Reads the stored text; `None` for text this code does not know.
    pub fn parse(text: &str) -> Option<QueueEventKind> {
        QueueEventKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

impl fmt::Display for QueueEventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The state an agent is in. Stored as the snake_case text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentStateKind {
    /// Not at work: takes no calls.
    LoggedOut,
    /// Logged in and waiting for a call.
    Ready,
    /// Logged in but takes no calls (`reason` says why).
    NotReady,
    /// A queue call rings at the agent's phone.
    Offered,
    /// Talking on a queue call.
    OnCall,
    /// After-call work; ready again when it ends.
    WrapUp,
}

impl AgentStateKind {
    /// Every state, in the order of the schema's CHECK list.
    pub const ALL: [AgentStateKind; 6] = [
        AgentStateKind::LoggedOut,
        AgentStateKind::Ready,
        AgentStateKind::NotReady,
        AgentStateKind::Offered,
        AgentStateKind::OnCall,
        AgentStateKind::WrapUp,
    ];

    /// The text stored in the database and shown by the API.
    pub fn as_str(self) -> &'static str {
        match self {
            AgentStateKind::LoggedOut => "logged_out",
            AgentStateKind::Ready => "ready",
            AgentStateKind::NotReady => "not_ready",
            AgentStateKind::Offered => "offered",
            AgentStateKind::OnCall => "on_call",
            AgentStateKind::WrapUp => "wrap_up",
        }
    }

    /// Reads the stored text; `None` for text this code does not know.
    pub fn parse(text: &str) -> Option<AgentStateKind> {
        AgentStateKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

impl fmt::Display for AgentStateKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A queue event as [`insert_queue_event`] writes it.
pub(crate) struct NewQueueEvent<'a> {
    pub call: CallId,
    pub queue: &'a str,
    pub kind: QueueEventKind,
    pub agent: Option<&'a str>,
    pub position: Option<u32>,
    pub wait_ms: Option<i64>,
    pub detail: &'a serde_json::Value,
    pub at: Stamp,
}

/// Writes one queue event (on the writer's connection).
pub(crate) fn insert_queue_event(conn: &Connection, e: &NewQueueEvent<'_>) -> Result<(), rusqlite::Error> {
    conn.prepare_cached(
        "INSERT INTO queue_events (call_id, queue, kind, agent, position, wait_ms, detail, board_ms, wall_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        e.call.0,
        e.queue,
        e.kind.as_str(),
        e.agent,
        e.position,
        e.wait_ms,
        e.detail.to_string(),
        e.at.board_ms,
        e.at.wall_ms
    ])
    .map(|_| ())
}

/// Writes one agent state (on the writer's connection).
pub(crate) fn insert_agent_state(
    conn: &Connection,
    agent: &str,
    state: AgentStateKind,
    reason: &str,
    extension: Option<&str>,
    call: Option<CallId>,
    at: Stamp,
) -> Result<(), rusqlite::Error> {
    conn.prepare_cached(
        "INSERT INTO agent_states (agent, state, reason, extension, call_id, board_ms, wall_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![agent, state.as_str(), reason, extension, call.map(|c| c.0), at.board_ms, at.wall_ms])
    .map(|_| ())
}

/// A queue event as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueEventRecord {
    pub id: i64,
    pub call: CallId,
    pub queue: String,
    pub kind: QueueEventKind,
    pub agent: Option<String>,
    pub position: Option<u32>,
    pub wait_ms: Option<i64>,
    pub detail: serde_json::Value,
    pub board_ms: i64,
    pub wall_ms: i64,
}

/// An agent state as recorded, with when it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentStateRecord {
    pub id: i64,
    pub agent: String,
    pub state: AgentStateKind,
    pub reason: String,
    pub extension: Option<String>,
    pub call: Option<CallId>,
    pub board_ms: i64,
    /// When the agent entered the state.
    pub wall_ms: i64,
    /// When the agent's next state began; `None` while this is the current
    /// state.
    pub until_wall_ms: Option<i64>,
}

/// Where a page of agent history continues: after the state row with this
/// wall time and id. Its text form is `WALL_MS.ID`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateCursor {
    pub wall_ms: i64,
    pub id: i64,
}

impl fmt::Display for StateCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.wall_ms, self.id)
    }
}

impl Serialize for StateCursor {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for StateCursor {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<StateCursor, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl FromStr for StateCursor {
    type Err = QueryError;

    /// Parses the text form `WALL_MS.ID` given out by a page.
    fn from_str(text: &str) -> Result<StateCursor, QueryError> {
        let bad = || QueryError::Invalid { field: "after", problem: format!("{text:?} is not WALL_MS.ID") };
        let (wall, id) = text.split_once('.').ok_or_else(bad)?;
        Ok(StateCursor { wall_ms: wall.parse().map_err(|_| bad())?, id: id.parse().map_err(|_| bad())? })
    }
}

/// Which part of an agent's history to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryRequest {
    /// States entered at or after (wall ms); `None`: from the beginning.
    pub from_wall_ms: Option<i64>,
    /// States entered before (wall ms); `None`: up to now.
    pub to_wall_ms: Option<i64>,
    /// 1..=[`PAGE_MAX`] states.
    pub limit: u32,
    /// Continue after this state; `None` for the first page.
    pub after: Option<StateCursor>,
}

impl Default for HistoryRequest {
    fn default() -> HistoryRequest {
        HistoryRequest { from_wall_ms: None, to_wall_ms: None, limit: 100, after: None }
    }
}

/// A page of an agent's history, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentHistoryPage {
    pub agent: String,
    /// The state the agent was already in when the window opened (entered
    /// before `from`): on the first page of a request with `from` only.
    pub at_from: Option<AgentStateRecord>,
    pub states: Vec<AgentStateRecord>,
    /// Cursor for the next page; `None` when this page is the last.
    pub next: Option<StateCursor>,
}

/// One of a customer's recent calls, for the screen pop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LastCall {
    pub id: CallId,
    pub start_wall_ms: i64,
    pub direction: Direction,
    pub answered: bool,
    /// Start to end; `None` while the call is in flight.
    pub duration_ms: Option<i64>,
    pub cause: Option<HangupCause>,
    /// The extensions that had a leg in the call (who spoke with the
    /// customer), in order of first appearance.
    pub extensions: Vec<String>,
}

/// Most calls [`last_calls`] returns.
pub const LAST_CALLS_MAX: u32 = 100;

fn bad_value(table: &'static str, id: i64, column: &'static str, value: String) -> QueryError {
    QueryError::BadValue { table, id: id.to_string(), column, value }
}

/// Every queue event of a call, in the order written; `None` when the call
/// is not in the journal.
pub(crate) fn queue_events_of_call(
    conn: &Connection,
    call: CallId,
) -> Result<Option<Vec<QueueEventRecord>>, QueryError> {
    let exists = conn
        .prepare_cached("SELECT 1 FROM calls WHERE id = ?1")
        .and_then(|mut s| s.exists([call.0]))
        .map_err(QueryError::sqlite("read call"))?;
    if !exists {
        return Ok(None);
    }
    let rows = conn
        .prepare_cached(
            "SELECT id, queue, kind, agent, position, wait_ms, detail, board_ms, wall_ms FROM queue_events
             WHERE call_id = ?1 ORDER BY id",
        )
        .and_then(|mut s| {
            s.query_map([call.0], |row| {
                Ok((
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(6)?,
                    QueueEventRecord {
                        id: row.get(0)?,
                        call,
                        queue: row.get(1)?,
                        kind: QueueEventKind::Enter,
                        agent: row.get(3)?,
                        position: row.get(4)?,
                        wait_ms: row.get(5)?,
                        detail: serde_json::Value::Null,
                        board_ms: row.get(7)?,
                        wall_ms: row.get(8)?,
                    },
                ))
            })?
            .collect::<Result<Vec<_>, _>>()
        })
        .map_err(QueryError::sqlite("read queue events"))?;
    let mut events = Vec::with_capacity(rows.len());
    for (kind, detail, mut event) in rows {
        event.kind = QueueEventKind::parse(&kind).ok_or_else(|| bad_value("queue_events", event.id, "kind", kind))?;
        event.detail = serde_json::from_str(&detail).unwrap_or(serde_json::Value::String(detail));
        events.push(event);
    }
    Ok(Some(events))
}

/// The columns of an agent state row and when the agent's next state began.
const STATE_COLUMNS: &str = "s.id, s.agent, s.state, s.reason, s.extension, s.call_id, s.board_ms, s.wall_ms,
    (SELECT n.wall_ms FROM agent_states n WHERE n.agent = s.agent AND (n.wall_ms, n.id) > (s.wall_ms, s.id)
     ORDER BY n.wall_ms, n.id LIMIT 1)";

fn state_row(row: &rusqlite::Row<'_>) -> Result<(String, AgentStateRecord), rusqlite::Error> {
    Ok((
        row.get(2)?,
        AgentStateRecord {
            id: row.get(0)?,
            agent: row.get(1)?,
            state: AgentStateKind::LoggedOut,
            reason: row.get(3)?,
            extension: row.get(4)?,
            call: row.get::<_, Option<i64>>(5)?.map(CallId),
            board_ms: row.get(6)?,
            wall_ms: row.get(7)?,
            until_wall_ms: row.get(8)?,
        },
    ))
}

fn finish_state((state, mut record): (String, AgentStateRecord)) -> Result<AgentStateRecord, QueryError> {
    record.state = AgentStateKind::parse(&state).ok_or_else(|| bad_value("agent_states", record.id, "state", state))?;
    Ok(record)
}

/// One page of an agent's states entered in `[from, to)`, oldest first.
pub(crate) fn agent_history(
    conn: &Connection,
    agent: &str,
    request: &HistoryRequest,
) -> Result<AgentHistoryPage, QueryError> {
    if request.limit == 0 || request.limit > PAGE_MAX {
        return Err(QueryError::Invalid {
            field: "limit",
            problem: format!("{} is not within 1..={PAGE_MAX}", request.limit),
        });
    }
    let from = request.from_wall_ms.unwrap_or(i64::MIN);
    let to = request.to_wall_ms.unwrap_or(i64::MAX);
    if from >= to {
        return Err(QueryError::Invalid { field: "to", problem: format!("{to} is not after from ({from})") });
    }
    let at_from = match (request.from_wall_ms, request.after) {
        (Some(from), None) => conn
            .prepare_cached(&format!(
                "SELECT {STATE_COLUMNS} FROM agent_states s WHERE s.agent = ?1 AND s.wall_ms < ?2
                 ORDER BY s.wall_ms DESC, s.id DESC LIMIT 1"
            ))
            .and_then(|mut s| s.query_row(params![agent, from], state_row).optional())
            .map_err(QueryError::sqlite("read agent history"))?
            .map(finish_state)
            .transpose()?,
        _ => None,
    };
    let after = request.after.map_or((i64::MIN, i64::MIN), |c| (c.wall_ms, c.id));
    let rows = conn
        .prepare_cached(&format!(
            "SELECT {STATE_COLUMNS} FROM agent_states s
             WHERE s.agent = ?1 AND s.wall_ms >= ?2 AND s.wall_ms < ?3 AND (s.wall_ms, s.id) > (?4, ?5)
             ORDER BY s.wall_ms, s.id LIMIT ?6"
        ))
        .and_then(|mut s| {
            s.query_map(params![agent, from, to, after.0, after.1, i64::from(request.limit) + 1], state_row)?
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(QueryError::sqlite("read agent history"))?;
    let more = rows.len() > request.limit as usize;
    let states =
        rows.into_iter().take(request.limit as usize).map(finish_state).collect::<Result<Vec<_>, QueryError>>()?;
    let next = if more { states.last().map(|s| StateCursor { wall_ms: s.wall_ms, id: s.id }) } else { None };
    Ok(AgentHistoryPage { agent: agent.to_string(), at_from, states, next })
}

/// The last `n` calls from, to or through `number` (matched as `GET /cdr`
/// matches it), newest first.
pub(crate) fn last_calls(conn: &Connection, number: &str, n: u32) -> Result<Vec<LastCall>, QueryError> {
    if n == 0 || n > LAST_CALLS_MAX {
        return Err(QueryError::Invalid { field: "n", problem: format!("{n} is not within 1..={LAST_CALLS_MAX}") });
    }
    let filter = CallFilter { number: Some(number.to_string()), ..CallFilter::default() };
    let page = CallPageRequest { limit: n, after: None, order: CallOrder::NewestFirst };
    let calls = journal_query::list_calls(conn, &filter, &page)?;
    Ok(calls
        .calls
        .into_iter()
        .map(|c| {
            let mut extensions: Vec<String> = Vec::new();
            for x in c.legs.iter().filter_map(|l| l.extension.as_ref()) {
                if !extensions.contains(x) {
                    extensions.push(x.clone());
                }
            }
            LastCall {
                id: c.id,
                start_wall_ms: c.start_wall_ms,
                direction: c.direction,
                answered: c.answer_wall_ms.is_some(),
                duration_ms: c.end_wall_ms.map(|end| end - c.start_wall_ms),
                cause: c.cause,
                extensions,
            }
        })
        .collect())
}

impl RecordsReader {
    /// Every queue event of a call, in the order written; `None` when the
    /// call is not in the journal.
    pub fn queue_events_of_call(&self, call: CallId) -> Result<Option<Vec<QueueEventRecord>>, QueryError> {
        self.with_conn(|conn| queue_events_of_call(conn, call))
    }

    /// A page of an agent's state history (see [`HistoryRequest`]).
    pub fn agent_history(&self, agent: &str, request: &HistoryRequest) -> Result<AgentHistoryPage, QueryError> {
        self.with_conn(|conn| agent_history(conn, agent, request))
    }

    /// A customer's last `n` (1..=[`LAST_CALLS_MAX`]) calls, newest first:
    /// calls from, to or through `number`, matched on its last digits.
    pub fn last_calls(&self, number: &str, n: u32) -> Result<Vec<LastCall>, QueryError> {
        self.with_conn(|conn| last_calls(conn, number, n))
    }
}

/// A database in a temporary directory and the writer's connection, for
/// the unit tests of this module and of [`super::acd_report`]: operations
/// are applied directly, without the records thread.
#[cfg(test)]
pub(crate) mod test_db {
    use rusqlite::Connection;

    use super::super::journal::{self, CallId, Direction, HangupCause, JournalOp, LegId, LegRole, Stamp};
    use super::super::schema;
    use super::{AgentStateKind, QueueEventKind};

    /// Wall time of the tests' origin; `at(ms)` is `ms` after it.
    pub const T0: i64 = 1_700_000_000_000;

    pub fn at(ms: i64) -> Stamp {
        Stamp { board_ms: ms, wall_ms: T0 + ms }
    }

    pub struct TestDb {
        pub conn: Connection,
        _dir: tempfile::TempDir,
    }

    impl TestDb {
        pub fn new() -> TestDb {
            let dir = tempfile::tempdir().expect("tempdir");
            let conn = schema::open_writer(&dir.path().join("records.db"), false).expect("open");
            TestDb { conn, _dir: dir }
        }

        pub fn apply(&self, op: JournalOp) {
            let name = op.name();
            journal::apply(&self.conn, &op).unwrap_or_else(|e| panic!("{name}: {e}"));
        }

        /// An inbound call from `caller` starting at `start_ms`.
        pub fn call(&self, id: i64, caller: &str, start_ms: i64) -> CallId {
            let call = CallId(id);
            self.apply(JournalOp::CallStarted {
                call,
                direction: Direction::Inbound,
                caller_number: caller.into(),
                caller_name: String::new(),
                called_number: "88880000".into(),
                channel: Some(1),
                at: at(start_ms),
            });
            call
        }

        /// An agent leg on `extension`, added at `start_ms`, answered at
        /// `answer_ms`, ended at `end_ms`.
        pub fn agent_leg(
            &self,
            call: CallId,
            leg: i64,
            extension: &str,
            start_ms: i64,
            answer_ms: i64,
            end_ms: Option<i64>,
        ) {
            let leg = LegId(leg);
            self.apply(JournalOp::LegAdded {
                leg,
                call,
                role: LegRole::Agent,
                channel: Some(2),
                party_number: extension.into(),
                party_name: String::new(),
                extension: Some(extension.into()),
                at: at(start_ms),
            });
            self.apply(JournalOp::LegAnswered { leg, at: at(answer_ms) });
            self.apply(JournalOp::CallAnswered { call, at: at(answer_ms) });
            if let Some(end) = end_ms {
                self.apply(JournalOp::LegEnded { leg, at: at(end), cause: HangupCause::Normal, detail: String::new() });
            }
        }

        pub fn end(&self, call: CallId, end_ms: i64) {
            self.apply(JournalOp::CallEnded {
                call,
                at: at(end_ms),
                cause: HangupCause::Normal,
                detail: String::new(),
            });
        }

        pub fn queue(
            &self,
            call: CallId,
            queue: &str,
            kind: QueueEventKind,
            agent: Option<&str>,
            wait_ms: Option<i64>,
            ms: i64,
        ) {
            self.apply(JournalOp::QueueEvent {
                call,
                queue: queue.into(),
                kind,
                agent: agent.map(Into::into),
                position: None,
                wait_ms,
                detail: serde_json::json!({}),
                at: at(ms),
            });
        }

        pub fn state(&self, agent: &str, state: AgentStateKind, reason: &str, ms: i64) {
            self.apply(JournalOp::AgentState {
                agent: agent.into(),
                state,
                reason: reason.into(),
                extension: (state != AgentStateKind::LoggedOut).then(|| "801".into()),
                call: None,
                at: at(ms),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::journal::{self, ApplyError, JournalOp};
    use super::test_db::{T0, TestDb, at};
    use super::*;

    #[test]
    fn code_points_round_trip_and_match_the_schema() {
        let db = TestDb::new();
        let call = db.call(1, "13800138000", 0);
        for kind in QueueEventKind::ALL {
            assert_eq!(QueueEventKind::parse(kind.as_str()), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), json!(kind.as_str()));
            db.queue(call, "sales", kind, None, None, 10);
        }
        for state in AgentStateKind::ALL {
            assert_eq!(AgentStateKind::parse(state.as_str()), Some(state));
            assert_eq!(serde_json::to_value(state).unwrap(), json!(state.as_str()));
            db.state("1001", state, "", 10);
        }
        assert_eq!(QueueEventKind::parse("hold"), None);
        assert_eq!(AgentStateKind::parse("busy"), None);
        // The CHECK lists refuse what the enums do not have.
        let bad = db.conn.execute(
            "INSERT INTO queue_events (call_id, queue, kind, board_ms, wall_ms) VALUES (1, 'sales', 'hold', 0, 0)",
            [],
        );
        assert!(bad.is_err());
        let bad = db
            .conn
            .execute("INSERT INTO agent_states (agent, state, board_ms, wall_ms) VALUES ('1001', 'busy', 0, 0)", []);
        assert!(bad.is_err());
        let events = queue_events_of_call(&db.conn, call).unwrap().unwrap();
        assert_eq!(events.iter().map(|e| e.kind).collect::<Vec<_>>(), QueueEventKind::ALL.to_vec());
    }

    #[test]
    fn an_unknown_call_is_refused_like_the_other_operations() {
        let db = TestDb::new();
        let op = JournalOp::QueueEvent {
            call: CallId(42),
            queue: "sales".into(),
            kind: QueueEventKind::Enter,
            agent: None,
            position: Some(1),
            wait_ms: None,
            detail: json!({}),
            at: at(0),
        };
        match journal::apply(&db.conn, &op) {
            Err(ApplyError::Unknown { op: "queue event", what: "call", id: 42 }) => {}
            other => panic!("{other:?}"),
        }
        let op = JournalOp::AgentState {
            agent: "1001".into(),
            state: AgentStateKind::OnCall,
            reason: String::new(),
            extension: Some("801".into()),
            call: Some(CallId(43)),
            at: at(0),
        };
        match journal::apply(&db.conn, &op) {
            Err(ApplyError::Unknown { op: "agent state", what: "call", id: 43 }) => {}
            other => panic!("{other:?}"),
        }
        // Without a call, an agent state needs no journal entry.
        db.state("1001", AgentStateKind::Ready, "", 0);
    }

    #[test]
    fn queue_events_of_a_call_in_order_with_their_fields() {
        let db = TestDb::new();
        let call = db.call(7, "13800138000", 0);
        let other = db.call(8, "13900139000", 0);
        db.apply(JournalOp::QueueEvent {
            call,
            queue: "sales".into(),
            kind: QueueEventKind::Enter,
            agent: None,
            position: Some(3),
            wait_ms: Some(0),
            detail: json!({"priority": 2}),
            at: at(1_000),
        });
        db.queue(other, "sales", QueueEventKind::Enter, None, Some(0), 1_500);
        db.queue(call, "sales", QueueEventKind::Offer, Some("1001"), Some(4_000), 5_000);
        db.queue(call, "sales", QueueEventKind::Answer, Some("1001"), Some(9_000), 10_000);
        let events = queue_events_of_call(&db.conn, call).unwrap().unwrap();
        assert_eq!(events.len(), 3);
        let e = &events[0];
        assert_eq!((e.call, e.queue.as_str(), e.kind, e.position), (call, "sales", QueueEventKind::Enter, Some(3)));
        assert_eq!((e.agent.as_deref(), e.wait_ms, e.wall_ms, e.board_ms), (None, Some(0), T0 + 1_000, 1_000));
        assert_eq!(e.detail, json!({"priority": 2}));
        assert_eq!(events[2].kind, QueueEventKind::Answer);
        assert_eq!(events[2].agent.as_deref(), Some("1001"));
        assert_eq!(events[2].wait_ms, Some(9_000));
        // A call without queue events has an empty list; an unknown one none.
        let quiet = db.call(9, "1", 0);
        assert_eq!(queue_events_of_call(&db.conn, quiet).unwrap(), Some(Vec::new()));
        assert_eq!(queue_events_of_call(&db.conn, CallId(99)).unwrap(), None);
        let json = serde_json::to_value(&events[0]).unwrap();
        assert_eq!(json["kind"], "enter");
        assert_eq!(json["call"], 7);
    }

    fn history(db: &TestDb, agent: &str, request: HistoryRequest) -> AgentHistoryPage {
        agent_history(&db.conn, agent, &request).unwrap()
    }

    #[test]
    fn agent_history_in_a_window_with_the_state_open_at_its_start() {
        let db = TestDb::new();
        db.state("1001", AgentStateKind::Ready, "", 0);
        db.state("1001", AgentStateKind::NotReady, "break", 60_000);
        db.state("1002", AgentStateKind::Ready, "", 70_000);
        db.state("1001", AgentStateKind::Ready, "", 90_000);
        db.state("1001", AgentStateKind::LoggedOut, "", 200_000);
        // All of it.
        let page = history(&db, "1001", HistoryRequest::default());
        assert_eq!(page.at_from, None);
        let states: Vec<_> =
            page.states.iter().map(|s| (s.state, s.wall_ms - T0, s.until_wall_ms.map(|u| u - T0))).collect();
        assert_eq!(
            states,
            [
                (AgentStateKind::Ready, 0, Some(60_000)),
                (AgentStateKind::NotReady, 60_000, Some(90_000)),
                (AgentStateKind::Ready, 90_000, Some(200_000)),
                (AgentStateKind::LoggedOut, 200_000, None),
            ]
        );
        assert_eq!(page.states[1].reason, "break");
        assert_eq!(page.states[1].extension.as_deref(), Some("801"));
        assert_eq!(page.next, None);
        // [70 s, 200 s): the break (entered at 60 s) is open at the start.
        let page = history(
            &db,
            "1001",
            HistoryRequest {
                from_wall_ms: Some(T0 + 70_000),
                to_wall_ms: Some(T0 + 200_000),
                ..HistoryRequest::default()
            },
        );
        let open = page.at_from.as_ref().unwrap();
        assert_eq!(
            (open.state, open.wall_ms, open.until_wall_ms),
            (AgentStateKind::NotReady, T0 + 60_000, Some(T0 + 90_000))
        );
        assert_eq!(page.states.len(), 1);
        assert_eq!(page.states[0].wall_ms, T0 + 90_000);
        // An agent with no rows, and an empty window.
        assert!(history(&db, "9999", HistoryRequest::default()).states.is_empty());
        let page = history(
            &db,
            "1001",
            HistoryRequest {
                from_wall_ms: Some(T0 + 61_000),
                to_wall_ms: Some(T0 + 89_000),
                ..HistoryRequest::default()
            },
        );
        assert!(page.states.is_empty());
        assert_eq!(page.at_from.unwrap().state, AgentStateKind::NotReady);
    }

    #[test]
    fn agent_history_pages_by_cursor_and_ties_by_insertion() {
        let db = TestDb::new();
        for i in 0..5 {
            let state = if i % 2 == 0 { AgentStateKind::Ready } else { AgentStateKind::NotReady };
            // Two states at the same millisecond: insertion order decides.
            db.state("1001", state, &format!("r{i}"), (i / 2) * 1_000);
        }
        let mut seen = Vec::new();
        let mut request = HistoryRequest { limit: 2, ..HistoryRequest::default() };
        loop {
            let page = history(&db, "1001", request);
            assert!(page.states.len() <= 2);
            seen.extend(page.states.iter().map(|s| s.reason.clone()));
            match page.next {
                Some(next) => request.after = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, ["r0", "r1", "r2", "r3", "r4"]);
        let all = history(&db, "1001", HistoryRequest::default()).states;
        // r0 and r1 share 0 ms: r0 ends when r1 begins, at the same time.
        assert_eq!(all[0].until_wall_ms, Some(T0));
        assert_eq!(all[1].until_wall_ms, Some(T0 + 1_000));
        assert_eq!(all[4].until_wall_ms, None);
        let cursor: StateCursor = "1700000000000.4".parse().unwrap();
        assert_eq!(cursor, StateCursor { wall_ms: T0, id: 4 });
        assert_eq!(cursor.to_string(), "1700000000000.4");
        assert!("17.x".parse::<StateCursor>().is_err());
        for bad in [
            HistoryRequest { limit: 0, ..HistoryRequest::default() },
            HistoryRequest { limit: 1001, ..HistoryRequest::default() },
        ] {
            assert!(matches!(agent_history(&db.conn, "1001", &bad), Err(QueryError::Invalid { field: "limit", .. })));
        }
        let backwards = HistoryRequest { from_wall_ms: Some(5), to_wall_ms: Some(5), ..HistoryRequest::default() };
        assert!(matches!(agent_history(&db.conn, "1001", &backwards), Err(QueryError::Invalid { field: "to", .. })));
    }

    #[test]
    fn last_calls_of_a_customer_newest_first() {
        let db = TestDb::new();
        let a = db.call(1, "+86 138 0013 8000", 0);
        db.agent_leg(a, 10, "801", 1_000, 5_000, Some(65_000));
        db.end(a, 65_000);
        let b = db.call(2, "13800138000", 100_000);
        db.end(b, 112_000);
        let other = db.call(3, "13900139000", 150_000);
        db.end(other, 160_000);
        let c = db.call(4, "013800138000", 200_000);
        db.agent_leg(c, 11, "802", 200_500, 203_000, None);
        let calls = last_calls(&db.conn, "138 0013 8000", 10).unwrap();
        let ids: Vec<i64> = calls.iter().map(|c| c.id.0).collect();
        assert_eq!(ids, [4, 2, 1]);
        assert_eq!(calls[0].duration_ms, None);
        assert!(calls[0].answered);
        assert_eq!(calls[0].extensions, ["802"]);
        assert_eq!((calls[1].answered, calls[1].duration_ms), (false, Some(12_000)));
        assert_eq!(calls[1].cause, Some(HangupCause::Normal));
        assert_eq!((calls[2].answered, calls[2].duration_ms, calls[2].start_wall_ms), (true, Some(65_000), T0));
        assert_eq!(calls[2].direction, Direction::Inbound);
        assert_eq!(last_calls(&db.conn, "13800138000", 2).unwrap().len(), 2);
        assert!(last_calls(&db.conn, "555", 5).unwrap().is_empty());
        assert!(matches!(last_calls(&db.conn, "13800138000", 0), Err(QueryError::Invalid { field: "n", .. })));
        assert!(matches!(last_calls(&db.conn, "abc", 5), Err(QueryError::Invalid { field: "number", .. })));
    }
}
