//! The call journal's read side: one call with everything linked to it, and
//! filtered, paged lists of calls.
//!
//! Paging is by cursor: calls are ordered by start wall time, then id
//! (ascending or descending); a page returns the cursor of its last call, and
//! the next request continues strictly after it. Calls started while paging
//! therefore never shift a page, unlike an offset.

use std::fmt;
use std::str::FromStr;

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params_from_iter};
use serde::Serialize;

use super::error::QueryError;
use super::journal::{CallId, Direction, HangupCause, LegId, LegRole, TransferKind};
use super::phone::{self, MatchPlan};
use super::reader::RecordsReader;

/// Most calls in one page.
pub const PAGE_MAX: u32 = 1000;

/// A call with its legs, events and transfers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallRecord {
    pub id: CallId,
    pub direction: Direction,
    pub caller_number: String,
    pub caller_name: String,
    pub called_number: String,
    pub channel: Option<u32>,
    pub start_board_ms: i64,
    pub start_wall_ms: i64,
    pub answer_board_ms: Option<i64>,
    pub answer_wall_ms: Option<i64>,
    pub end_board_ms: Option<i64>,
    /// `None` while the call is in flight.
    pub end_wall_ms: Option<i64>,
    pub cause: Option<HangupCause>,
    pub cause_detail: String,
    pub legs: Vec<LegRecord>,
    pub events: Vec<CallEventRecord>,
    pub transfers: Vec<TransferRecord>,
}

/// A leg of a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LegRecord {
    pub id: LegId,
    pub role: LegRole,
    pub channel: Option<u32>,
    pub party_number: String,
    pub party_name: String,
    pub extension: Option<String>,
    pub start_board_ms: i64,
    pub start_wall_ms: i64,
    pub answer_board_ms: Option<i64>,
    pub answer_wall_ms: Option<i64>,
    pub end_board_ms: Option<i64>,
    pub end_wall_ms: Option<i64>,
    pub cause: Option<HangupCause>,
    pub cause_detail: String,
}

/// An event of a call, in the order written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallEventRecord {
    pub id: i64,
    pub leg: Option<LegId>,
    pub board_ms: i64,
    pub wall_ms: i64,
    pub kind: String,
    pub detail: serde_json::Value,
}

/// A transfer of a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransferRecord {
    pub id: i64,
    pub kind: TransferKind,
    pub from_leg: Option<LegId>,
    pub to_leg: Option<LegId>,
    pub target: String,
    pub board_ms: i64,
    pub wall_ms: i64,
}

/// Which calls to list; every field set narrows the list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallFilter {
    /// Started at or after (wall ms).
    pub from_wall_ms: Option<i64>,
    /// Started before (wall ms).
    pub until_wall_ms: Option<i64>,
    /// A number: matches calls whose caller, called or any leg's party number
    /// ends with these digits (after the normalisation of
    /// [`super::phone`]), or matches it under the loose rule. Non-digits are
    /// ignored.
    pub number: Option<String>,
    /// An extension: calls with a leg on it, or from or to it.
    pub extension: Option<String>,
    /// A board channel: calls on it or with a leg on it.
    pub channel: Option<u32>,
    pub direction: Option<Direction>,
    pub cause: Option<HangupCause>,
    /// `Some(true)`: only calls in flight; `Some(false)`: only ended calls.
    pub in_flight: Option<bool>,
}

/// Order of a call list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CallOrder {
    /// Newest first (the journal view).
    #[default]
    NewestFirst,
    OldestFirst,
}

/// Where a page continues: after the call with this start time and id.
/// Its text form (`Display`, `FromStr`, and how it serializes) is
/// `START_WALL_MS.ID`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallCursor {
    pub start_wall_ms: i64,
    pub id: CallId,
}

impl fmt::Display for CallCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.start_wall_ms, self.id.0)
    }
}

impl Serialize for CallCursor {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl FromStr for CallCursor {
    type Err = QueryError;

    /// Parses the text form `START_WALL_MS.ID` given out by a page.
    fn from_str(text: &str) -> Result<CallCursor, QueryError> {
        let bad = || QueryError::Invalid { field: "cursor", problem: format!("{text:?} is not START_WALL_MS.ID") };
        let (start, id) = text.split_once('.').ok_or_else(bad)?;
        Ok(CallCursor { start_wall_ms: start.parse().map_err(|_| bad())?, id: CallId(id.parse().map_err(|_| bad())?) })
    }
}

/// A page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallPageRequest {
    /// 1..=[`PAGE_MAX`].
    pub limit: u32,
    /// Continue after this call; `None` for the first page.
    pub after: Option<CallCursor>,
    pub order: CallOrder,
}

impl Default for CallPageRequest {
    fn default() -> CallPageRequest {
        CallPageRequest { limit: 50, after: None, order: CallOrder::NewestFirst }
    }
}

/// A page of calls.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallPage {
    pub calls: Vec<CallRecord>,
    /// Cursor for the next page; `None` when this page is the last.
    pub next: Option<CallCursor>,
}

const CALL_COLUMNS: &str = "c.id, c.direction, c.caller_number, c.caller_name, c.called_number, c.channel,
    c.start_board_ms, c.start_wall_ms, c.answer_board_ms, c.answer_wall_ms, c.end_board_ms, c.end_wall_ms,
    c.cause, c.cause_detail";

fn call_row(row: &rusqlite::Row<'_>) -> Result<(CallRecord, String), rusqlite::Error> {
    let direction: String = row.get(1)?;
    let record = CallRecord {
        id: CallId(row.get(0)?),
        direction: Direction::Inbound,
        caller_number: row.get(2)?,
        caller_name: row.get(3)?,
        called_number: row.get(4)?,
        channel: row.get(5)?,
        start_board_ms: row.get(6)?,
        start_wall_ms: row.get(7)?,
        answer_board_ms: row.get(8)?,
        answer_wall_ms: row.get(9)?,
        end_board_ms: row.get(10)?,
        end_wall_ms: row.get(11)?,
        cause: row.get::<_, Option<String>>(12)?.map(|c| HangupCause::parse(&c)),
        cause_detail: row.get(13)?,
        legs: Vec::new(),
        events: Vec::new(),
        transfers: Vec::new(),
    };
    Ok((record, direction))
}

fn finish_call(conn: &Connection, (mut call, direction): (CallRecord, String)) -> Result<CallRecord, QueryError> {
    call.direction = Direction::parse(&direction).ok_or_else(|| QueryError::BadValue {
        table: "calls",
        id: call.id.to_string(),
        column: "direction",
        value: direction,
    })?;
    call.legs = conn
        .prepare_cached(
            "SELECT id, role, channel, party_number, party_name, extension, start_board_ms, start_wall_ms,
               answer_board_ms, answer_wall_ms, end_board_ms, end_wall_ms, cause, cause_detail
             FROM legs WHERE call_id = ?1 ORDER BY start_wall_ms, id",
        )
        .and_then(|mut s| {
            s.query_map([call.id.0], |row| {
                Ok(LegRecord {
                    id: LegId(row.get(0)?),
                    role: LegRole::parse(&row.get::<_, String>(1)?),
                    channel: row.get(2)?,
                    party_number: row.get(3)?,
                    party_name: row.get(4)?,
                    extension: row.get(5)?,
                    start_board_ms: row.get(6)?,
                    start_wall_ms: row.get(7)?,
                    answer_board_ms: row.get(8)?,
                    answer_wall_ms: row.get(9)?,
                    end_board_ms: row.get(10)?,
                    end_wall_ms: row.get(11)?,
                    cause: row.get::<_, Option<String>>(12)?.map(|c| HangupCause::parse(&c)),
                    cause_detail: row.get(13)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()
        })
        .map_err(QueryError::sqlite("read legs"))?;
    call.events = conn
        .prepare_cached(
            "SELECT id, leg_id, board_ms, wall_ms, kind, detail FROM call_events WHERE call_id = ?1 ORDER BY id",
        )
        .and_then(|mut s| {
            s.query_map([call.id.0], |row| {
                let detail: String = row.get(5)?;
                Ok(CallEventRecord {
                    id: row.get(0)?,
                    leg: row.get::<_, Option<i64>>(1)?.map(LegId),
                    board_ms: row.get(2)?,
                    wall_ms: row.get(3)?,
                    kind: row.get(4)?,
                    detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::String(detail)),
                })
            })?
            .collect::<Result<Vec<_>, _>>()
        })
        .map_err(QueryError::sqlite("read call events"))?;
    let transfers = conn
        .prepare_cached(
            "SELECT id, kind, from_leg_id, to_leg_id, target, board_ms, wall_ms FROM transfers
             WHERE call_id = ?1 ORDER BY id",
        )
        .and_then(|mut s| {
            s.query_map([call.id.0], |row| {
                Ok((
                    row.get::<_, String>(1)?,
                    TransferRecord {
                        id: row.get(0)?,
                        kind: TransferKind::Blind,
                        from_leg: row.get::<_, Option<i64>>(2)?.map(LegId),
                        to_leg: row.get::<_, Option<i64>>(3)?.map(LegId),
                        target: row.get(4)?,
                        board_ms: row.get(5)?,
                        wall_ms: row.get(6)?,
                    },
                ))
            })?
            .collect::<Result<Vec<_>, _>>()
        })
        .map_err(QueryError::sqlite("read transfers"))?;
    for (kind, mut transfer) in transfers {
        transfer.kind = TransferKind::parse(&kind).ok_or_else(|| QueryError::BadValue {
            table: "transfers",
            id: transfer.id.to_string(),
            column: "kind",
            value: kind,
        })?;
        call.transfers.push(transfer);
    }
    Ok(call)
}

/// One call with everything linked to it.
pub(crate) fn get_call(conn: &Connection, id: CallId) -> Result<Option<CallRecord>, QueryError> {
    let row = conn
        .prepare_cached(&format!("SELECT {CALL_COLUMNS} FROM calls c WHERE c.id = ?1"))
        .and_then(|mut s| s.query_row([id.0], call_row).optional())
        .map_err(QueryError::sqlite("read call"))?;
    row.map(|row| finish_call(conn, row)).transpose()
}

/// Builds the WHERE clause of a call list.
struct Where {
    terms: Vec<String>,
    values: Vec<Value>,
}

impl Where {
    fn param(&mut self, value: impl Into<Value>) -> String {
        self.values.push(value.into());
        format!("?{}", self.values.len())
    }

    /// `(column >= rev AND column < rev:)` or exact matches of the plan.
    fn number_terms(&mut self, column: &str, plan: &MatchPlan) -> Vec<String> {
        let lo = self.param(plan.key_rev.clone());
        let hi = self.param(phone::rev_upper(&plan.key_rev));
        let mut terms = vec![format!("({column} >= {lo} AND {column} < {hi})")];
        for rev in &plan.shorter_revs {
            let p = self.param(rev.clone());
            terms.push(format!("{column} = {p}"));
        }
        terms
    }
}

/// Lists calls matching `filter`, one page.
pub(crate) fn list_calls(
    conn: &Connection,
    filter: &CallFilter,
    page: &CallPageRequest,
) -> Result<CallPage, QueryError> {
    if page.limit == 0 || page.limit > PAGE_MAX {
        return Err(QueryError::Invalid {
            field: "limit",
            problem: format!("{} is not within 1..={PAGE_MAX}", page.limit),
        });
    }
    let mut w = Where { terms: Vec::new(), values: Vec::new() };
    if let Some(from) = filter.from_wall_ms {
        let p = w.param(from);
        w.terms.push(format!("c.start_wall_ms >= {p}"));
    }
    if let Some(until) = filter.until_wall_ms {
        let p = w.param(until);
        w.terms.push(format!("c.start_wall_ms < {p}"));
    }
    if let Some(number) = &filter.number {
        let key = phone::match_key_lenient(number);
        let plan = MatchPlan::for_key(&key)
            .ok_or_else(|| QueryError::Invalid { field: "number", problem: format!("{number:?} has no digits") })?;
        let mut any = w.number_terms("c.caller_rev", &plan);
        any.extend(w.number_terms("c.called_rev", &plan));
        let legs = w.number_terms("l.party_rev", &plan).join(" OR ");
        any.push(format!("c.id IN (SELECT l.call_id FROM legs l WHERE {legs})"));
        w.terms.push(format!("({})", any.join(" OR ")));
    }
    if let Some(extension) = &filter.extension {
        // Caller and called numbers are compared through their indexed keys.
        let rev = w.param(phone::reverse(&phone::match_key_lenient(extension)));
        let p = w.param(extension.clone());
        w.terms.push(format!(
            "(c.caller_rev = {rev} OR c.called_rev = {rev}
              OR c.id IN (SELECT l.call_id FROM legs l WHERE l.extension = {p}))"
        ));
    }
    if let Some(channel) = filter.channel {
        let p = w.param(i64::from(channel));
        w.terms.push(format!("(c.channel = {p} OR c.id IN (SELECT l.call_id FROM legs l WHERE l.channel = {p}))"));
    }
    if let Some(direction) = filter.direction {
        let p = w.param(direction.as_str().to_string());
        w.terms.push(format!("c.direction = {p}"));
    }
    if let Some(cause) = &filter.cause {
        let p = w.param(cause.as_str().to_string());
        w.terms.push(format!("c.cause = {p}"));
    }
    match filter.in_flight {
        Some(true) => w.terms.push("c.end_wall_ms IS NULL".into()),
        Some(false) => w.terms.push("c.end_wall_ms IS NOT NULL".into()),
        None => {}
    }
    let (cmp, dir) = match page.order {
        CallOrder::NewestFirst => ("<", "DESC"),
        CallOrder::OldestFirst => (">", "ASC"),
    };
    if let Some(after) = page.after {
        let t = w.param(after.start_wall_ms);
        let id = w.param(after.id.0);
        w.terms.push(format!("(c.start_wall_ms, c.id) {cmp} ({t}, {id})"));
    }
    let limit = w.param(i64::from(page.limit) + 1);
    let where_clause = if w.terms.is_empty() { String::new() } else { format!("WHERE {}", w.terms.join(" AND ")) };
    let sql = format!(
        "SELECT {CALL_COLUMNS} FROM calls c {where_clause} ORDER BY c.start_wall_ms {dir}, c.id {dir} LIMIT {limit}"
    );
    let rows = conn
        .prepare_cached(&sql)
        .and_then(|mut s| s.query_map(params_from_iter(w.values.iter()), call_row)?.collect::<Result<Vec<_>, _>>())
        .map_err(QueryError::sqlite("list calls"))?;
    let more = rows.len() > page.limit as usize;
    let mut calls = Vec::with_capacity(rows.len().min(page.limit as usize));
    for row in rows.into_iter().take(page.limit as usize) {
        calls.push(finish_call(conn, row)?);
    }
    let next = if more { calls.last().map(|c| CallCursor { start_wall_ms: c.start_wall_ms, id: c.id }) } else { None };
    Ok(CallPage { calls, next })
}

/// A board channel as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelRecord {
    pub number: u32,
    pub kind: String,
    pub span: u32,
    pub role: String,
    pub name: String,
    pub updated_wall_ms: i64,
}

/// An event on a channel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChannelEventRecord {
    pub id: i64,
    pub channel: u32,
    pub board_ms: i64,
    pub wall_ms: i64,
    pub kind: String,
    pub detail: serde_json::Value,
}

impl RecordsReader {
    /// One call with its legs, events and transfers.
    pub fn call(&self, id: CallId) -> Result<Option<CallRecord>, QueryError> {
        self.with_conn(|conn| get_call(conn, id))
    }

    /// A page of the call journal.
    pub fn calls(&self, filter: &CallFilter, page: &CallPageRequest) -> Result<CallPage, QueryError> {
        self.with_conn(|conn| list_calls(conn, filter, page))
    }

    /// Every recorded channel, by number.
    pub fn channels(&self) -> Result<Vec<ChannelRecord>, QueryError> {
        self.with_conn(|conn| {
            conn.prepare_cached("SELECT number, kind, span, role, name, updated_wall_ms FROM channels ORDER BY number")
                .and_then(|mut s| {
                    s.query_map([], |row| {
                        Ok(ChannelRecord {
                            number: row.get(0)?,
                            kind: row.get(1)?,
                            span: row.get(2)?,
                            role: row.get(3)?,
                            name: row.get(4)?,
                            updated_wall_ms: row.get(5)?,
                        })
                    })?
                    .collect()
                })
                .map_err(QueryError::sqlite("list channels"))
        })
    }

    /// The latest events of a channel (newest first), at most `limit`.
    pub fn channel_events(&self, channel: u32, limit: u32) -> Result<Vec<ChannelEventRecord>, QueryError> {
        self.with_conn(|conn| {
            conn.prepare_cached(
                "SELECT id, channel, board_ms, wall_ms, kind, detail FROM channel_events WHERE channel = ?1
                 ORDER BY wall_ms DESC, id DESC LIMIT ?2",
            )
            .and_then(|mut s| {
                s.query_map([i64::from(channel), i64::from(limit.min(PAGE_MAX))], |row| {
                    let detail: String = row.get(5)?;
                    Ok(ChannelEventRecord {
                        id: row.get(0)?,
                        channel: row.get(1)?,
                        board_ms: row.get(2)?,
                        wall_ms: row.get(3)?,
                        kind: row.get(4)?,
                        detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::String(detail)),
                    })
                })?
                .collect()
            })
            .map_err(QueryError::sqlite("list channel events"))
        })
    }
}
