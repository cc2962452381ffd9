//! Outbound campaigns' records: the numbers each campaign dials
//! (`campaign_numbers`), one row per dialling attempt (`campaign_attempts`)
//! and the do-not-call list (`do_not_call`).
//!
//! # Numbers
//!
//! A campaign (a `[[campaign]]` of the config, by name) has numbers, put in
//! by [`RecordsHandle::import_campaign_numbers`] from a CSV file
//! (`campaign/import.rs`). Each is in a [`NumberState`]: `pending` (never
//! dialled), `dialing` (a call is out), `retry_wait` (dialled, to be
//! dialled again not before `next_at`) or `done` with its final
//! [`CallResult`]. A number on the do-not-call list
//! at import is stored `done` with result `dnc` and never dialled. The
//! numbers are dialled in import order (`position`); the pure engine
//! (`acd/campaign.rs`) decides when.
//!
//! # Writing
//!
//! The call core sends [`JournalOp::CampaignDial`] when it dials a number,
//! [`JournalOp::CampaignNumber`] with the engine's change when a result
//! comes in (with the attempt's row when a call was made),
//! [`JournalOp::CampaignAttemptEnded`] when an answered call ends, and
//! [`JournalOp::DoNotCall`]/[`JournalOp::DoNotCallRemoved`] for the list,
//! and `JournalOp::CampaignPaused` when a campaign is paused or resumed
//! (`campaign_control`: a restart keeps a paused campaign paused).
//! A change naming a number or a call the records do not have is refused
//! like the other journal operations. `next_at` is stored in wall time (the
//! board clock restarts with the daemon).
//!
//! # Numbers and matching
//!
//! Numbers are normalised and matched as [`super::phone`] says: a number
//! whose match key matches a do-not-call entry is on the list; two numbers
//! of one campaign may not match each other (the import reports the
//! second); a number matching a customer's links the row to the customer.
//!
//! [`RecordsHandle::import_campaign_numbers`]: super::RecordsHandle::import_campaign_numbers
//! [`JournalOp::CampaignDial`]: super::JournalOp::CampaignDial
//! [`JournalOp::CampaignNumber`]: super::JournalOp::CampaignNumber
//! [`JournalOp::CampaignAttemptEnded`]: super::JournalOp::CampaignAttemptEnded
//! [`JournalOp::DoNotCall`]: super::JournalOp::DoNotCall
//! [`JournalOp::DoNotCallRemoved`]: super::JournalOp::DoNotCallRemoved

use std::collections::HashMap;
use std::fmt;

use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};

use super::customers::CustomerId;
use super::error::QueryError;
use super::journal::{CallId, Stamp};
use super::phone::{self, MatchPlan, PhoneNumber};
use super::reader::RecordsReader;

mod import;
pub use import::{CampaignImportError, CampaignImportReport, NUMBER_COLUMNS};

/// Identifies a number of a campaign (a `campaign_numbers` row).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CampaignNumberId(pub i64);

impl fmt::Display for CampaignNumberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where a number stands in its campaign. Stored as the snake_case text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NumberState {
    /// Not dialled yet.
    Pending,
    /// A call to it is out now.
    Dialing,
    /// Dialled without success; dialled again not before `next_at`.
    RetryWait,
    /// Finished, with a final result.
    Done,
}

impl NumberState {
    /// Every state, in the order of the schema's CHECK list.
    pub const ALL: [NumberState; 4] =
        [NumberState::Pending, NumberState::Dialing, NumberState::RetryWait, NumberState::Done];

    /// The text stored in the database and shown by the API.
    pub fn as_str(self) -> &'static str {
        match self {
            NumberState::Pending => "pending",
            NumberState::Dialing => "dialing",
            NumberState::RetryWait => "retry_wait",
            NumberState::Done => "done",
        }
    }

    /// Reads the stored text; `None` for text this code does not know.
    pub fn parse(text: &str) -> Option<NumberState> {
        NumberState::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl fmt::Display for NumberState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a dialling attempt came to, and a number's final result. Stored as
/// the snake_case text. `Dnc` is only ever a final result (the number was
/// not dialled); the others are attempts' results too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallResult {
    /// A person answered (and, for the final result, reached an agent).
    Answered,
    Busy,
    /// Rang out the campaign's ring timeout.
    NoAnswer,
    /// A fax machine or modem answered.
    Fax,
    /// No dial tone, congestion, a special information tone, no free line.
    Failed,
    /// Answered, but no agent was free: the party heard a short message.
    Abandoned,
    /// On the do-not-call list: never dialled.
    Dnc,
}

impl CallResult {
    /// Every result, in the order of the schema's CHECK lists.
    pub const ALL: [CallResult; 7] = [
        CallResult::Answered,
        CallResult::Busy,
        CallResult::NoAnswer,
        CallResult::Fax,
        CallResult::Failed,
        CallResult::Abandoned,
        CallResult::Dnc,
    ];

    /// The text stored in the database and shown by the API.
    pub fn as_str(self) -> &'static str {
        match self {
            CallResult::Answered => "answered",
            CallResult::Busy => "busy",
            CallResult::NoAnswer => "no_answer",
            CallResult::Fax => "fax",
            CallResult::Failed => "failed",
            CallResult::Abandoned => "abandoned",
            CallResult::Dnc => "dnc",
        }
    }

    /// Reads the stored text; `None` for text this code does not know.
    pub fn parse(text: &str) -> Option<CallResult> {
        CallResult::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

impl fmt::Display for CallResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A count per [`CallResult`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultCounts {
    pub answered: u32,
    pub busy: u32,
    pub no_answer: u32,
    pub fax: u32,
    pub failed: u32,
    pub abandoned: u32,
    pub dnc: u32,
}

impl ResultCounts {
    /// The count of one result.
    pub fn get(&self, result: CallResult) -> u32 {
        match result {
            CallResult::Answered => self.answered,
            CallResult::Busy => self.busy,
            CallResult::NoAnswer => self.no_answer,
            CallResult::Fax => self.fax,
            CallResult::Failed => self.failed,
            CallResult::Abandoned => self.abandoned,
            CallResult::Dnc => self.dnc,
        }
    }

    /// Adds `n` to one result's count.
    pub fn add(&mut self, result: CallResult, n: u32) {
        let slot = match result {
            CallResult::Answered => &mut self.answered,
            CallResult::Busy => &mut self.busy,
            CallResult::NoAnswer => &mut self.no_answer,
            CallResult::Fax => &mut self.fax,
            CallResult::Failed => &mut self.failed,
            CallResult::Abandoned => &mut self.abandoned,
            CallResult::Dnc => &mut self.dnc,
        };
        *slot += n;
    }

    /// The sum of every count.
    pub fn total(&self) -> u32 {
        CallResult::ALL.iter().map(|r| self.get(*r)).sum()
    }
}

/// The attempt a [`super::JournalOp::CampaignNumber`] change came from: a
/// `campaign_attempts` row, numbered by the change's `attempts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptWrite {
    /// The call placed (`None` when no call could be started: no free
    /// line).
    pub call: Option<CallId>,
    /// Never [`CallResult::Dnc`].
    pub result: CallResult,
    /// More about the result (`no_dial_tone`, `congestion`…); may be empty.
    pub detail: String,
    /// When dialling began.
    pub started: Stamp,
    /// When the call ended; `None` while it goes on (an answered call:
    /// [`super::JournalOp::CampaignAttemptEnded`] closes it).
    pub ended: Option<Stamp>,
}

// --- writing (on the records thread) ----------------------------------------

/// A number is being dialled on `call`; the count of changed rows (0: no
/// such number).
pub(crate) fn write_dial(
    conn: &Connection,
    number: CampaignNumberId,
    call: CallId,
    at: Stamp,
) -> Result<usize, rusqlite::Error> {
    conn.prepare_cached(
        "UPDATE campaign_numbers SET state = 'dialing', last_call_id = ?2, updated_wall_ms = ?3 WHERE id = ?1",
    )?
    .execute(params![number.0, call.0, at.wall_ms])
}

/// A number's new state, and the attempt that led to it; the count of
/// changed number rows (0: no such number, nothing written).
#[allow(clippy::too_many_arguments)]
pub(crate) fn write_number(
    conn: &Connection,
    number: CampaignNumberId,
    state: NumberState,
    attempts: u32,
    next_at_wall_ms: Option<i64>,
    result: Option<CallResult>,
    attempt: Option<&AttemptWrite>,
    at: Stamp,
) -> Result<usize, rusqlite::Error> {
    let n = conn
        .prepare_cached(
            "UPDATE campaign_numbers SET state = ?2, attempts = ?3, next_at_wall_ms = ?4, result = ?5,
               last_call_id = coalesce(?6, last_call_id), updated_wall_ms = ?7 WHERE id = ?1",
        )?
        .execute(params![
            number.0,
            state.as_str(),
            attempts,
            next_at_wall_ms,
            result.map(CallResult::as_str),
            attempt.and_then(|a| a.call).map(|c| c.0),
            at.wall_ms
        ])?;
    if n == 0 {
        return Ok(0);
    }
    if let Some(a) = attempt {
        conn.prepare_cached(
            "INSERT INTO campaign_attempts (number_id, attempt, call_id, result, detail, started_board_ms,
               started_wall_ms, ended_wall_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            number.0,
            attempts,
            a.call.map(|c| c.0),
            a.result.as_str(),
            a.detail,
            a.started.board_ms,
            a.started.wall_ms,
            a.ended.map(|e| e.wall_ms)
        ])?;
    }
    Ok(n)
}

/// The attempt made on `call` ended (its duration is known now); the count
/// of changed rows (0: no open attempt on that call).
pub(crate) fn write_attempt_ended(conn: &Connection, call: CallId, at: Stamp) -> Result<usize, rusqlite::Error> {
    conn.prepare_cached("UPDATE campaign_attempts SET ended_wall_ms = ?2 WHERE call_id = ?1 AND ended_wall_ms IS NULL")?
        .execute(params![call.0, at.wall_ms])
}

/// Puts a number on the do-not-call list (a number already there keeps its
/// entry; a non-empty reason replaces the old one).
/// A campaign is paused or resumed.
pub(crate) fn write_paused(
    conn: &Connection,
    campaign: &str,
    paused: bool,
    by: &str,
    wall_ms: i64,
) -> Result<(), rusqlite::Error> {
    conn.prepare_cached(
        "INSERT INTO campaign_control (campaign, paused, by_user, changed_wall_ms) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (campaign) DO UPDATE SET paused = excluded.paused, by_user = excluded.by_user,
           changed_wall_ms = excluded.changed_wall_ms",
    )?
    .execute(params![campaign, paused, by, wall_ms])
    .map(|_| ())
}

pub(crate) fn write_dnc(
    conn: &Connection,
    number: &PhoneNumber,
    reason: &str,
    wall_ms: i64,
) -> Result<(), rusqlite::Error> {
    conn.prepare_cached(
        "INSERT INTO do_not_call (number, digits, key_rev, reason, added_wall_ms) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (key_rev) DO UPDATE SET reason = CASE WHEN excluded.reason <> '' THEN excluded.reason
           ELSE reason END",
    )?
    .execute(params![number.entered(), number.digits(), number.key_rev(), reason.trim(), wall_ms])
    .map(|_| ())
}

/// Takes every entry matching `number` off the do-not-call list; how many
/// there were.
pub(crate) fn remove_dnc(conn: &Connection, number: &PhoneNumber) -> Result<usize, rusqlite::Error> {
    let ids: Vec<i64> = dnc_hits(conn, number.key())?.into_iter().map(|e| e.id).collect();
    for id in &ids {
        conn.prepare_cached("DELETE FROM do_not_call WHERE id = ?1")?.execute([id])?;
    }
    Ok(ids.len())
}

// --- reading -----------------------------------------------------------------

/// An entry of the do-not-call list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DncEntry {
    pub id: i64,
    /// As entered.
    pub number: String,
    /// Digits only, leading `+` kept.
    pub digits: String,
    pub reason: String,
    pub added_wall_ms: i64,
}

fn dnc_row(row: &rusqlite::Row<'_>) -> Result<DncEntry, rusqlite::Error> {
    Ok(DncEntry {
        id: row.get(0)?,
        number: row.get(1)?,
        digits: row.get(2)?,
        reason: row.get(3)?,
        added_wall_ms: row.get(4)?,
    })
}

/// The `?1…?8` parameters of a query by [`MatchPlan`] over a `key_rev`
/// column: exact key, the range of longer keys ending with it, shorter keys
/// it ends with.
fn plan_params(plan: &MatchPlan) -> (String, bool, i64, [Option<&str>; phone::MAX_EXTRA_DIGITS]) {
    let mut shorter: [Option<&str>; phone::MAX_EXTRA_DIGITS] = [None; phone::MAX_EXTRA_DIGITS];
    for (slot, rev) in shorter.iter_mut().zip(&plan.shorter_revs) {
        *slot = Some(rev);
    }
    let max_len = (plan.key_rev.len() + phone::MAX_EXTRA_DIGITS) as i64;
    (phone::rev_upper(&plan.key_rev), plan.longer_allowed, max_len, shorter)
}

/// Every do-not-call entry matching `key`, exact match first.
pub(crate) fn dnc_hits(conn: &Connection, key: &str) -> Result<Vec<DncEntry>, rusqlite::Error> {
    let Some(plan) = MatchPlan::for_key(key) else {
        return Ok(Vec::new());
    };
    let (upper, longer, max_len, shorter) = plan_params(&plan);
    let mut stmt = conn.prepare_cached(
        "SELECT id, number, digits, reason, added_wall_ms, key_rev = ?1 AS exact FROM do_not_call
         WHERE key_rev = ?1
            OR (?3 AND key_rev > ?1 AND key_rev < ?2 AND length(key_rev) <= ?4)
            OR key_rev IN (?5, ?6, ?7, ?8)
         ORDER BY exact DESC, id",
    )?;
    let rows = stmt.query_map(
        params![plan.key_rev, upper, longer, max_len, shorter[0], shorter[1], shorter[2], shorter[3]],
        dnc_row,
    )?;
    rows.collect()
}

/// The campaign's numbers matching `key`: (id, number as entered).
pub(super) fn campaign_hits(
    conn: &Connection,
    campaign: &str,
    key: &str,
) -> Result<Vec<(i64, String)>, rusqlite::Error> {
    let Some(plan) = MatchPlan::for_key(key) else {
        return Ok(Vec::new());
    };
    let (upper, longer, max_len, shorter) = plan_params(&plan);
    let mut stmt = conn.prepare_cached(
        "SELECT id, number FROM campaign_numbers
         WHERE campaign = ?9 AND (key_rev = ?1
            OR (?3 AND key_rev > ?1 AND key_rev < ?2 AND length(key_rev) <= ?4)
            OR key_rev IN (?5, ?6, ?7, ?8))
         ORDER BY id",
    )?;
    let rows = stmt.query_map(
        params![plan.key_rev, upper, longer, max_len, shorter[0], shorter[1], shorter[2], shorter[3], campaign],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    rows.collect()
}

/// A campaign's number as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CampaignNumberRecord {
    pub id: CampaignNumberId,
    pub campaign: String,
    /// Order of import: numbers are dialled in this order.
    pub position: i64,
    /// As imported.
    pub number: String,
    /// What is dialled: digits only, leading `+` kept.
    pub digits: String,
    /// The customer whose number this is, found at import.
    pub customer: Option<CustomerId>,
    pub state: NumberState,
    /// Dialling attempts made.
    pub attempts: u32,
    /// The attempts' results so far, per result.
    pub tries: ResultCounts,
    /// `retry_wait`: not dialled again before this (wall ms).
    pub next_at_wall_ms: Option<i64>,
    /// The final result once `done`.
    pub result: Option<CallResult>,
    /// The last call placed to the number.
    pub last_call: Option<CallId>,
    /// Whether the number is on the do-not-call list now.
    pub on_dnc: bool,
    pub added_wall_ms: i64,
    pub updated_wall_ms: i64,
}

/// One dialling attempt as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttemptRecord {
    pub id: i64,
    pub number: CampaignNumberId,
    /// 1 for the first attempt.
    pub attempt: u32,
    pub call: Option<CallId>,
    pub result: CallResult,
    pub detail: String,
    pub started_board_ms: i64,
    pub started_wall_ms: i64,
    /// `None` while the call goes on.
    pub ended_wall_ms: Option<i64>,
    /// Dialling to hang-up; `None` while the call goes on.
    pub duration_ms: Option<i64>,
}

/// A number with its attempts, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NumberResult {
    #[serde(flatten)]
    pub number: CampaignNumberRecord,
    pub attempt_list: Vec<AttemptRecord>,
}

/// A campaign at a glance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CampaignReport {
    pub campaign: String,
    pub numbers: u32,
    pub pending: u32,
    pub dialing: u32,
    pub retry_wait: u32,
    pub done: u32,
    /// Final results of the numbers that are done.
    pub results: ResultCounts,
    /// Attempts made, and their results.
    pub attempts: u32,
    pub attempt_results: ResultCounts,
}

fn bad_value(table: &'static str, id: i64, column: &'static str, value: String) -> QueryError {
    QueryError::BadValue { table, id: id.to_string(), column, value }
}

/// Which of a campaign's numbers a query reads: those in a state and with
/// a final result (either or both may be left open), in dialling order,
/// `limit` of them (all when `None`) after skipping `offset`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NumberSelection {
    pub state: Option<NumberState>,
    pub result: Option<CallResult>,
    pub offset: u64,
    pub limit: Option<u64>,
}

impl NumberSelection {
    /// Every number.
    pub const ALL: NumberSelection = NumberSelection { state: None, result: None, offset: 0, limit: None };

    /// ?1 … ?5 of [`SELECTED`] for `campaign` (SQLite's LIMIT -1: no limit).
    fn params<'a>(&self, campaign: &'a str) -> (&'a str, Option<&'static str>, Option<&'static str>, i64, i64) {
        let limit = self.limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
        let offset = i64::try_from(self.offset).unwrap_or(i64::MAX);
        (campaign, self.state.map(NumberState::as_str), self.result.map(CallResult::as_str), limit, offset)
    }
}

/// The selected numbers' ids as the CTE `sel` (parameters ?1 … ?5 from
/// [`NumberSelection::params`]); the index on (campaign, position) reads
/// them in order.
const SELECTED: &str = "WITH sel AS (SELECT id FROM campaign_numbers WHERE campaign = ?1
       AND (?2 IS NULL OR state = ?2) AND (?3 IS NULL OR result = ?3)
     ORDER BY position, id LIMIT ?4 OFFSET ?5) ";

/// How many numbers of a campaign the selection's filters select (over
/// every page).
pub(crate) fn campaign_numbers_count(
    conn: &Connection,
    campaign: &str,
    sel: &NumberSelection,
) -> Result<u64, QueryError> {
    let (c, state, result, _, _) = sel.params(campaign);
    conn.prepare_cached(
        "SELECT count(*) FROM campaign_numbers WHERE campaign = ?1
           AND (?2 IS NULL OR state = ?2) AND (?3 IS NULL OR result = ?3)",
    )
    .and_then(|mut s| s.query_row(params![c, state, result], |row| row.get::<_, i64>(0)))
    .map(|n| n.max(0) as u64)
    .map_err(QueryError::sqlite("count campaign numbers"))
}

/// Every number of a campaign in dialling order, with its attempts' results
/// per result and whether it is on the do-not-call list now.
pub(crate) fn campaign_numbers(conn: &Connection, campaign: &str) -> Result<Vec<CampaignNumberRecord>, QueryError> {
    selected_numbers(conn, campaign, &NumberSelection::ALL)
}

/// The numbers `sel` selects, as [`campaign_numbers`] reads them.
fn selected_numbers(
    conn: &Connection,
    campaign: &str,
    sel: &NumberSelection,
) -> Result<Vec<CampaignNumberRecord>, QueryError> {
    type Raw = (CampaignNumberRecord, String, Option<String>, String);
    let p = sel.params(campaign);
    let rows: Vec<Raw> = conn
        .prepare_cached(&format!(
            "{SELECTED}SELECT id, position, number, digits, customer_id, state, attempts, next_at_wall_ms, result,
               last_call_id, added_wall_ms, updated_wall_ms, key_rev
             FROM campaign_numbers WHERE id IN (SELECT id FROM sel) ORDER BY position, id"
        ))
        .and_then(|mut s| {
            s.query_map(params![p.0, p.1, p.2, p.3, p.4], |row| {
                Ok((
                    CampaignNumberRecord {
                        id: CampaignNumberId(row.get(0)?),
                        campaign: campaign.to_string(),
                        position: row.get(1)?,
                        number: row.get(2)?,
                        digits: row.get(3)?,
                        customer: row.get::<_, Option<i64>>(4)?.map(CustomerId),
                        state: NumberState::Pending,
                        attempts: row.get(6)?,
                        tries: ResultCounts::default(),
                        next_at_wall_ms: row.get(7)?,
                        result: None,
                        last_call: row.get::<_, Option<i64>>(9)?.map(CallId),
                        on_dnc: false,
                        added_wall_ms: row.get(10)?,
                        updated_wall_ms: row.get(11)?,
                    },
                    row.get(5)?,
                    row.get(8)?,
                    row.get(12)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()
        })
        .map_err(QueryError::sqlite("read campaign numbers"))?;
    let mut tries: HashMap<i64, ResultCounts> = HashMap::new();
    let counts: Vec<(i64, String, u32)> = conn
        .prepare_cached(&format!(
            "{SELECTED}SELECT a.number_id, a.result, count(*) FROM campaign_attempts a
             WHERE a.number_id IN (SELECT id FROM sel) GROUP BY a.number_id, a.result"
        ))
        .and_then(|mut s| {
            s.query_map(params![p.0, p.1, p.2, p.3, p.4], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
                .collect::<Result<_, _>>()
        })
        .map_err(QueryError::sqlite("count campaign attempts"))?;
    for (id, result, n) in counts {
        let r = CallResult::parse(&result).ok_or_else(|| bad_value("campaign_attempts", id, "result", result))?;
        tries.entry(id).or_default().add(r, n);
    }
    let any_dnc = conn
        .query_row("SELECT EXISTS (SELECT 1 FROM do_not_call)", [], |row| row.get::<_, bool>(0))
        .map_err(QueryError::sqlite("read the do-not-call list"))?;
    let mut numbers = Vec::with_capacity(rows.len());
    for (mut n, state, result, key_rev) in rows {
        let id = n.id.0;
        n.state = NumberState::parse(&state).ok_or_else(|| bad_value("campaign_numbers", id, "state", state))?;
        n.result = match result {
            None => None,
            Some(r) => Some(CallResult::parse(&r).ok_or_else(|| bad_value("campaign_numbers", id, "result", r))?),
        };
        n.tries = tries.remove(&id).unwrap_or_default();
        if any_dnc {
            n.on_dnc = !dnc_hits(conn, &phone::reverse(&key_rev))
                .map_err(QueryError::sqlite("look up the do-not-call list"))?
                .is_empty();
        }
        numbers.push(n);
    }
    Ok(numbers)
}

fn attempt_row(row: &rusqlite::Row<'_>) -> Result<(String, AttemptRecord), rusqlite::Error> {
    let started_wall_ms: i64 = row.get(6)?;
    let ended_wall_ms: Option<i64> = row.get(7)?;
    Ok((
        row.get(4)?,
        AttemptRecord {
            id: row.get(0)?,
            number: CampaignNumberId(row.get(1)?),
            attempt: row.get(2)?,
            call: row.get::<_, Option<i64>>(3)?.map(CallId),
            result: CallResult::Failed,
            detail: row.get(8)?,
            started_board_ms: row.get(5)?,
            started_wall_ms,
            ended_wall_ms,
            duration_ms: ended_wall_ms.map(|e| (e - started_wall_ms).max(0)),
        },
    ))
}

fn parse_attempts(rows: Vec<(String, AttemptRecord)>) -> Result<Vec<AttemptRecord>, QueryError> {
    rows.into_iter()
        .map(|(result, mut a)| {
            a.result =
                CallResult::parse(&result).ok_or_else(|| bad_value("campaign_attempts", a.id, "result", result))?;
            Ok(a)
        })
        .collect()
}

const ATTEMPT_COLUMNS: &str = concat!(
    "a.id, a.number_id, a.attempt, a.call_id, a.result, a.started_board_ms, a.started_wall_ms, ",
    "a.ended_wall_ms, a.detail"
);

/// The attempts of one number, oldest first.
pub(crate) fn attempts_of(conn: &Connection, number: CampaignNumberId) -> Result<Vec<AttemptRecord>, QueryError> {
    let rows = conn
        .prepare_cached(&format!(
            "SELECT {ATTEMPT_COLUMNS} FROM campaign_attempts a WHERE a.number_id = ?1 ORDER BY a.id"
        ))
        .and_then(|mut s| s.query_map([number.0], attempt_row)?.collect::<Result<Vec<_>, _>>())
        .map_err(QueryError::sqlite("read campaign attempts"))?;
    parse_attempts(rows)
}

/// Every number of a campaign with its attempts.
pub(crate) fn campaign_results(conn: &Connection, campaign: &str) -> Result<Vec<NumberResult>, QueryError> {
    selected_results(conn, campaign, &NumberSelection::ALL)
}

/// The numbers `sel` selects, each with its attempts.
pub(crate) fn selected_results(
    conn: &Connection,
    campaign: &str,
    sel: &NumberSelection,
) -> Result<Vec<NumberResult>, QueryError> {
    let numbers = selected_numbers(conn, campaign, sel)?;
    let p = sel.params(campaign);
    let rows = conn
        .prepare_cached(&format!(
            "{SELECTED}SELECT {ATTEMPT_COLUMNS} FROM campaign_attempts a
             WHERE a.number_id IN (SELECT id FROM sel) ORDER BY a.id"
        ))
        .and_then(|mut s| s.query_map(params![p.0, p.1, p.2, p.3, p.4], attempt_row)?.collect::<Result<Vec<_>, _>>())
        .map_err(QueryError::sqlite("read campaign attempts"))?;
    let mut by_number: HashMap<CampaignNumberId, Vec<AttemptRecord>> = HashMap::new();
    for a in parse_attempts(rows)? {
        by_number.entry(a.number).or_default().push(a);
    }
    Ok(numbers
        .into_iter()
        .map(|number| {
            let attempt_list = by_number.remove(&number.id).unwrap_or_default();
            NumberResult { number, attempt_list }
        })
        .collect())
}

/// Counts per state and result of a campaign, and its attempts.
pub(crate) fn campaign_summary(conn: &Connection, campaign: &str) -> Result<CampaignReport, QueryError> {
    let mut report = CampaignReport { campaign: campaign.to_string(), ..CampaignReport::default() };
    let rows: Vec<(String, Option<String>, u32)> = conn
        .prepare_cached(
            "SELECT state, result, count(*) FROM campaign_numbers WHERE campaign = ?1 GROUP BY state, result",
        )
        .and_then(|mut s| {
            s.query_map([campaign], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?.collect::<Result<_, _>>()
        })
        .map_err(QueryError::sqlite("count campaign numbers"))?;
    for (state, result, n) in rows {
        let s = NumberState::parse(&state).ok_or_else(|| bad_value("campaign_numbers", -1, "state", state))?;
        report.numbers += n;
        match s {
            NumberState::Pending => report.pending += n,
            NumberState::Dialing => report.dialing += n,
            NumberState::RetryWait => report.retry_wait += n,
            NumberState::Done => report.done += n,
        }
        if let (NumberState::Done, Some(r)) = (s, result) {
            let r = CallResult::parse(&r).ok_or_else(|| bad_value("campaign_numbers", -1, "result", r))?;
            report.results.add(r, n);
        }
    }
    let rows: Vec<(String, u32)> = conn
        .prepare_cached(
            "SELECT a.result, count(*) FROM campaign_attempts a JOIN campaign_numbers n ON n.id = a.number_id
             WHERE n.campaign = ?1 GROUP BY a.result",
        )
        .and_then(|mut s| s.query_map([campaign], |row| Ok((row.get(0)?, row.get(1)?)))?.collect::<Result<_, _>>())
        .map_err(QueryError::sqlite("count campaign attempts"))?;
    for (result, n) in rows {
        let r = CallResult::parse(&result).ok_or_else(|| bad_value("campaign_attempts", -1, "result", result))?;
        report.attempts += n;
        report.attempt_results.add(r, n);
    }
    Ok(report)
}

/// The do-not-call entry a number matches (the exact one first).
pub(crate) fn dnc_lookup(conn: &Connection, number: &str) -> Result<Option<DncEntry>, QueryError> {
    let key = phone::match_key_lenient(number);
    if key.is_empty() {
        return Err(QueryError::Invalid { field: "number", problem: format!("{number:?} has no digits") });
    }
    Ok(dnc_hits(conn, &key).map_err(QueryError::sqlite("look up the do-not-call list"))?.into_iter().next())
}

/// `limit` entries of the do-not-call list (all when `None`), oldest first,
/// after skipping `offset`.
pub(crate) fn dnc_entries(conn: &Connection, offset: u64, limit: Option<u64>) -> Result<Vec<DncEntry>, QueryError> {
    let limit = limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
    let offset = i64::try_from(offset).unwrap_or(i64::MAX);
    conn.prepare_cached(
        "SELECT id, number, digits, reason, added_wall_ms FROM do_not_call ORDER BY id LIMIT ?1 OFFSET ?2",
    )
    .and_then(|mut s| s.query_map([limit, offset], dnc_row)?.collect::<Result<Vec<_>, _>>())
    .map_err(QueryError::sqlite("read the do-not-call list"))
}

impl RecordsReader {
    /// A campaign's numbers in dialling order (what the engine starts or
    /// resumes from).
    pub fn campaign_numbers(&self, campaign: &str) -> Result<Vec<CampaignNumberRecord>, QueryError> {
        self.with_conn(|conn| campaign_numbers(conn, campaign))
    }

    /// A campaign's numbers, each with its attempts.
    pub fn campaign_results(&self, campaign: &str) -> Result<Vec<NumberResult>, QueryError> {
        self.with_conn(|conn| campaign_results(conn, campaign))
    }

    /// A page of a campaign's numbers (each with its attempts) and how
    /// many the selection's filters select over every page; only the page
    /// is read.
    pub fn campaign_results_page(
        &self,
        campaign: &str,
        sel: &NumberSelection,
    ) -> Result<(u64, Vec<NumberResult>), QueryError> {
        self.with_conn(|conn| {
            // One read transaction: the count and the page see the same
            // numbers while the records thread writes.
            let tx = conn.unchecked_transaction().map_err(QueryError::sqlite("begin a read"))?;
            let total = campaign_numbers_count(&tx, campaign, sel)?;
            let page = selected_results(&tx, campaign, sel)?;
            tx.finish().map_err(QueryError::sqlite("end a read"))?;
            Ok((total, page))
        })
    }

    /// The attempts of one number, oldest first.
    pub fn campaign_attempts(&self, number: CampaignNumberId) -> Result<Vec<AttemptRecord>, QueryError> {
        self.with_conn(|conn| attempts_of(conn, number))
    }

    /// Counts per state and final result, and attempts, of a campaign.
    pub fn campaign_summary(&self, campaign: &str) -> Result<CampaignReport, QueryError> {
        self.with_conn(|conn| campaign_summary(conn, campaign))
    }

    /// The do-not-call entry a number matches, if any.
    pub fn dnc_lookup(&self, number: &str) -> Result<Option<DncEntry>, QueryError> {
        self.with_conn(|conn| dnc_lookup(conn, number))
    }

    /// How many entries the do-not-call list has, and `limit` of them
    /// after skipping `offset` (oldest first), read together.
    pub fn dnc_page(&self, offset: u64, limit: u64) -> Result<(u64, Vec<DncEntry>), QueryError> {
        self.with_conn(|conn| {
            let tx = conn.unchecked_transaction().map_err(QueryError::sqlite("begin a read"))?;
            let total = tx
                .query_row("SELECT count(*) FROM do_not_call", [], |row| row.get::<_, i64>(0))
                .map_err(QueryError::sqlite("count the do-not-call list"))?;
            let entries = dnc_entries(&tx, offset, Some(limit))?;
            tx.finish().map_err(QueryError::sqlite("end a read"))?;
            Ok((total.max(0) as u64, entries))
        })
    }

    /// Whether a campaign was left paused (`None`: never paused or
    /// resumed), with who did it and when (wall ms).
    pub fn campaign_paused(&self, campaign: &str) -> Result<Option<(bool, String, i64)>, QueryError> {
        self.with_conn(|conn| {
            conn.prepare_cached("SELECT paused, by_user, changed_wall_ms FROM campaign_control WHERE campaign = ?1")
                .and_then(|mut s| {
                    let mut rows = s.query_map([campaign], |r| Ok((r.get::<_, bool>(0)?, r.get(1)?, r.get(2)?)))?;
                    rows.next().transpose()
                })
                .map_err(QueryError::sqlite("read whether the campaign is paused"))
        })
    }
}

#[cfg(test)]
mod tests;
