//! ACD reports over a window of wall time `[from, to)`: per queue
//! ([`queue_report`]) and per agent ([`agent_report`]), computed from the
//! queue events and agent states of [`super::acd`] and the call journal's
//! legs.
//!
//! # Which events count
//!
//! Every count is of events whose own time falls in the window: a caller who
//! entered before `from` and was answered inside it counts as answered, not
//! as entered. A wait is the event's `wait_ms`; when the core left it out,
//! the time since the call last entered that queue.
//!
//! # Service level
//!
//! For a queue with level `L` ms (its own, else the default, 20 s unless
//! given):
//!
//! ```text
//! service level % = 100 × answered with wait ≤ L / (answered + abandoned with wait > L)
//! ```
//!
//! Callers who hung up within `L` are left out of both sides (they did not
//! give the queue its chance); an answered call whose wait is unknown counts
//! in the denominator only. No answered and no late-abandoned call: no
//! figure (`None`). Rounded to 0.1.
//!
//! # Agent times
//!
//! Time in each state is clipped to the window: the state an agent was in
//! at `from` counts from `from`, and the state still open at `to` counts
//! until `to` (callers pass `to` no later than now). Talk time is, for each
//! answer in the window, from the answer event to the end of the agent's
//! leg in that call — the leg named by the answer's `detail.leg` when the
//! core gives one, else the call's `agent` leg answered nearest the answer
//! event, else the call's end; a leg or call still open counts until `to`.
//! Talk time is not clipped: a call answered in the window counts whole.
//!
//! Not implemented yet: intervals (a report per 15 or 30 minutes), per-skill
//! figures, agent occupancy ratios (computable from the state times).

use std::collections::BTreeMap;

use rusqlite::types::Value;
use rusqlite::{Connection, params, params_from_iter};
use serde::{Deserialize, Serialize};

use super::acd::AgentStateKind;
use super::error::QueryError;
use super::reader::RecordsReader;

/// The service level when neither the queue nor the request gives one.
pub const DEFAULT_SERVICE_LEVEL_MS: i64 = 20_000;

/// Service levels for [`queue_report`]: per queue, and for the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceLevels {
    pub default_ms: i64,
    pub per_queue: BTreeMap<String, i64>,
}

impl Default for ServiceLevels {
    fn default() -> ServiceLevels {
        ServiceLevels { default_ms: DEFAULT_SERVICE_LEVEL_MS, per_queue: BTreeMap::new() }
    }
}

impl ServiceLevels {
    /// The level of `queue`.
    pub fn of(&self, queue: &str) -> i64 {
        self.per_queue.get(queue).copied().unwrap_or(self.default_ms)
    }
}

/// One queue's figures over a window (see the module doc).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueReport {
    pub queue: String,
    /// The level the service figures use.
    pub service_level_ms: i64,
    pub entered: u64,
    pub answered: u64,
    pub abandoned: u64,
    pub overflowed: u64,
    pub timed_out: u64,
    pub callbacks: u64,
    /// Answered with a wait at or under the level.
    pub answered_within_level: u64,
    /// Abandoned after waiting longer than the level.
    pub abandoned_after_level: u64,
    /// Average wait of the answered calls (rounded to the ms).
    pub avg_answer_wait_ms: Option<i64>,
    pub max_answer_wait_ms: Option<i64>,
    /// Average wait of the callers who hung up before an answer.
    pub avg_abandon_wait_ms: Option<i64>,
    /// Percent, rounded to 0.1; `None` when nothing counts.
    pub service_level_pct: Option<f64>,
}

/// Time spent in each state, ms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateTimes {
    pub logged_out_ms: i64,
    pub ready_ms: i64,
    pub not_ready_ms: i64,
    pub offered_ms: i64,
    pub on_call_ms: i64,
    pub wrap_up_ms: i64,
}

impl StateTimes {
    fn add(&mut self, state: AgentStateKind, ms: i64) {
        let slot = match state {
            AgentStateKind::LoggedOut => &mut self.logged_out_ms,
            AgentStateKind::Ready => &mut self.ready_ms,
            AgentStateKind::NotReady => &mut self.not_ready_ms,
            AgentStateKind::Offered => &mut self.offered_ms,
            AgentStateKind::OnCall => &mut self.on_call_ms,
            AgentStateKind::WrapUp => &mut self.wrap_up_ms,
        };
        *slot += ms;
    }

    /// Logged in: every state but `logged_out`.
    pub fn logged_in_ms(&self) -> i64 {
        self.ready_ms + self.not_ready_ms + self.offered_ms + self.on_call_ms + self.wrap_up_ms
    }
}

/// One agent's figures over a window (see the module doc).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentReport {
    pub agent: String,
    /// Queue calls offered to the agent.
    pub offers: u64,
    pub answered: u64,
    /// Offers the agent let ring out or refused.
    pub no_answer: u64,
    /// Answer to the end of the agent's leg, summed over the answers.
    pub talk_ms: i64,
    pub states: StateTimes,
    /// `not_ready_ms` split by reason (`""`: none given).
    pub not_ready_by_reason: BTreeMap<String, i64>,
}

fn check_window(from: i64, to: i64) -> Result<(), QueryError> {
    if from >= to {
        return Err(QueryError::Invalid { field: "to", problem: format!("{to} is not after from ({from})") });
    }
    Ok(())
}

fn rounded(avg: Option<f64>) -> Option<i64> {
    avg.map(|a| a.round() as i64)
}

/// Every queue with an event in `[from, to)`, by name.
pub(crate) fn queue_report(
    conn: &Connection,
    from: i64,
    to: i64,
    levels: &ServiceLevels,
) -> Result<Vec<QueueReport>, QueryError> {
    check_window(from, to)?;
    if levels.default_ms < 0 {
        return Err(QueryError::Invalid {
            field: "service_level_ms",
            problem: format!("{} is negative", levels.default_ms),
        });
    }
    let mut values: Vec<Value> = vec![from.into(), to.into(), levels.default_ms.into()];
    let mut level_rows = String::new();
    for (queue, ms) in &levels.per_queue {
        if *ms < 0 {
            return Err(QueryError::Invalid {
                field: "service_levels",
                problem: format!("queue {queue:?}: {ms} is negative"),
            });
        }
        values.push(queue.clone().into());
        values.push((*ms).into());
        level_rows.push_str(&format!(" UNION ALL SELECT ?{}, ?{}", values.len() - 1, values.len()));
    }
    let sql = format!(
        "WITH levels (queue, level_ms) AS (SELECT NULL, NULL WHERE 0{level_rows}),
         ev AS (
           SELECT e.queue AS queue, e.kind AS kind,
             coalesce(e.wait_ms, e.wall_ms - (SELECT max(x.wall_ms) FROM queue_events x
               WHERE x.call_id = e.call_id AND x.queue = e.queue AND x.kind = 'enter' AND x.wall_ms <= e.wall_ms))
               AS wait_ms,
             coalesce((SELECT l.level_ms FROM levels l WHERE l.queue = e.queue), ?3) AS level_ms
           FROM queue_events e WHERE e.wall_ms >= ?1 AND e.wall_ms < ?2)
         SELECT queue, max(level_ms),
           count(*) FILTER (WHERE kind = 'enter'),
           count(*) FILTER (WHERE kind = 'answer'),
           count(*) FILTER (WHERE kind = 'abandon'),
           count(*) FILTER (WHERE kind = 'overflow'),
           count(*) FILTER (WHERE kind = 'timeout'),
           count(*) FILTER (WHERE kind = 'callback'),
           count(*) FILTER (WHERE kind = 'answer' AND wait_ms <= level_ms),
           count(*) FILTER (WHERE kind = 'abandon' AND wait_ms > level_ms),
           avg(wait_ms) FILTER (WHERE kind = 'answer'),
           max(wait_ms) FILTER (WHERE kind = 'answer'),
           avg(wait_ms) FILTER (WHERE kind = 'abandon')
         FROM ev GROUP BY queue ORDER BY queue"
    );
    conn.prepare(&sql)
        .and_then(|mut s| {
            s.query_map(params_from_iter(values.iter()), |row| {
                let answered: u64 = row.get(3)?;
                let within: u64 = row.get(8)?;
                let late_abandons: u64 = row.get(9)?;
                let counted = answered + late_abandons;
                let pct = (counted > 0).then(|| (1000.0 * within as f64 / counted as f64).round() / 10.0);
                Ok(QueueReport {
                    queue: row.get(0)?,
                    service_level_ms: row.get(1)?,
                    entered: row.get(2)?,
                    answered,
                    abandoned: row.get(4)?,
                    overflowed: row.get(5)?,
                    timed_out: row.get(6)?,
                    callbacks: row.get(7)?,
                    answered_within_level: within,
                    abandoned_after_level: late_abandons,
                    avg_answer_wait_ms: rounded(row.get(10)?),
                    max_answer_wait_ms: row.get(11)?,
                    avg_abandon_wait_ms: rounded(row.get(12)?),
                    service_level_pct: pct,
                })
            })?
            .collect()
        })
        .map_err(QueryError::sqlite("queue report"))
}

/// One state an agent entered: when, which, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StateChange {
    pub wall_ms: i64,
    pub state: AgentStateKind,
    pub reason: String,
}

/// Time in each state over `[from, to)` of one agent's changes (in order;
/// the first may be before `from`: the state open at `from`).
pub(crate) fn state_times(changes: &[StateChange], from: i64, to: i64) -> (StateTimes, BTreeMap<String, i64>) {
    let mut times = StateTimes::default();
    let mut reasons = BTreeMap::new();
    for (i, change) in changes.iter().enumerate() {
        let end = changes.get(i + 1).map_or(to, |next| next.wall_ms).min(to);
        let start = change.wall_ms.max(from);
        if end <= start {
            continue;
        }
        times.add(change.state, end - start);
        if change.state == AgentStateKind::NotReady {
            *reasons.entry(change.reason.clone()).or_insert(0) += end - start;
        }
    }
    (times, reasons)
}

/// Every agent's states in the window, and the one each agent was in at
/// `from`, ordered by agent, then time, then insertion. The distinct agents
/// are walked through the `(agent, wall_ms)` index one jump each.
const STATES_IN_WINDOW: &str = "
WITH RECURSIVE agents (agent) AS (
    SELECT min(agent) FROM agent_states
    UNION ALL
    SELECT (SELECT min(s.agent) FROM agent_states s WHERE s.agent > agents.agent) FROM agents
    WHERE agents.agent IS NOT NULL),
opening (id) AS (
    SELECT (SELECT p.id FROM agent_states p WHERE p.agent = agents.agent AND p.wall_ms < ?1
            ORDER BY p.wall_ms DESC, p.id DESC LIMIT 1)
    FROM agents WHERE agents.agent IS NOT NULL)
SELECT agent, state, reason, wall_ms, id FROM agent_states WHERE id IN (SELECT id FROM opening)
UNION ALL
SELECT agent, state, reason, wall_ms, id FROM agent_states WHERE wall_ms >= ?1 AND wall_ms < ?2
ORDER BY 1, 4, 5";

/// The answers in the window with the end of the agent's talk (see the
/// module doc): (agent, answer wall ms, whether a leg was found, leg end,
/// call end).
const ANSWERS_IN_WINDOW: &str = "
WITH answers AS (
    SELECT e.id AS event_id, e.agent AS agent, e.call_id AS call_id, e.wall_ms AS answer_ms,
      json_type(e.detail, '$.leg') = 'integer' AS names_leg, json_extract(e.detail, '$.leg') AS named_leg,
      c.end_wall_ms AS call_end_ms
    FROM queue_events e JOIN calls c ON c.id = e.call_id
    WHERE e.kind = 'answer' AND e.agent IS NOT NULL AND e.wall_ms >= ?1 AND e.wall_ms < ?2),
candidates AS (
    SELECT a.event_id AS event_id, g.end_wall_ms AS leg_end_ms,
      row_number() OVER (PARTITION BY a.event_id
                         ORDER BY abs(coalesce(g.answer_wall_ms, a.answer_ms) - a.answer_ms), g.id) AS rank
    FROM answers a JOIN legs g ON g.call_id = a.call_id
    WHERE CASE WHEN a.names_leg THEN g.id = a.named_leg
               ELSE g.role = 'agent' AND g.answer_wall_ms IS NOT NULL END)
SELECT a.agent, a.answer_ms, k.event_id IS NOT NULL, k.leg_end_ms, a.call_end_ms
FROM answers a LEFT JOIN candidates k ON k.event_id = a.event_id AND k.rank = 1";

/// Every agent with an event in `[from, to)` or logged in during part of
/// it, by id.
pub(crate) fn agent_report(conn: &Connection, from: i64, to: i64) -> Result<Vec<AgentReport>, QueryError> {
    check_window(from, to)?;
    let mut reports: BTreeMap<String, AgentReport> = BTreeMap::new();
    let counts: Vec<(String, u64, u64, u64)> = conn
        .prepare_cached(
            "SELECT agent, count(*) FILTER (WHERE kind = 'offer'), count(*) FILTER (WHERE kind = 'answer'),
               count(*) FILTER (WHERE kind = 'no_answer')
             FROM queue_events WHERE agent IS NOT NULL AND wall_ms >= ?1 AND wall_ms < ?2
             GROUP BY agent HAVING count(*) FILTER (WHERE kind IN ('offer', 'answer', 'no_answer')) > 0",
        )
        .and_then(|mut s| {
            s.query_map(params![from, to], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?.collect()
        })
        .map_err(QueryError::sqlite("agent report: queue events"))?;
    for (agent, offers, answered, no_answer) in counts {
        let r = report_of(&mut reports, &agent);
        r.offers = offers;
        r.answered = answered;
        r.no_answer = no_answer;
    }
    let talks: Vec<(String, i64)> = conn
        .prepare_cached(ANSWERS_IN_WINDOW)
        .and_then(|mut s| {
            s.query_map(params![from, to], |r| {
                let (answer_ms, has_leg): (i64, bool) = (r.get(1)?, r.get(2)?);
                let end: Option<i64> = if has_leg { r.get(3)? } else { r.get(4)? };
                Ok((r.get(0)?, (end.unwrap_or(to) - answer_ms).max(0)))
            })?
            .collect()
        })
        .map_err(QueryError::sqlite("agent report: talk time"))?;
    for (agent, talk_ms) in talks {
        report_of(&mut reports, &agent).talk_ms += talk_ms;
    }
    let rows: Vec<(String, String, String, i64, i64)> = conn
        .prepare_cached(STATES_IN_WINDOW)
        .and_then(|mut s| {
            s.query_map(params![from, to], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?.collect()
        })
        .map_err(QueryError::sqlite("agent report: states"))?;
    let mut changes: Vec<StateChange> = Vec::new();
    let mut rows = rows.into_iter().peekable();
    while let Some((agent, state, reason, wall_ms, id)) = rows.next() {
        let state = AgentStateKind::parse(&state).ok_or_else(|| QueryError::BadValue {
            table: "agent_states",
            id: id.to_string(),
            column: "state",
            value: state.clone(),
        })?;
        changes.push(StateChange { wall_ms, state, reason });
        if rows.peek().is_some_and(|next| next.0 == agent) {
            continue;
        }
        let (times, reasons) = state_times(&changes, from, to);
        changes.clear();
        if times.logged_in_ms() == 0 && !reports.contains_key(&agent) {
            // Logged out all along, nothing happened: not in the report.
            continue;
        }
        let r = report_of(&mut reports, &agent);
        r.states = times;
        r.not_ready_by_reason = reasons;
    }
    Ok(reports.into_values().collect())
}

fn report_of<'a>(reports: &'a mut BTreeMap<String, AgentReport>, agent: &str) -> &'a mut AgentReport {
    reports.entry(agent.to_string()).or_insert_with(|| AgentReport {
        agent: agent.to_string(),
        offers: 0,
        answered: 0,
        no_answer: 0,
        talk_ms: 0,
        states: StateTimes::default(),
        not_ready_by_reason: BTreeMap::new(),
    })
}

impl RecordsReader {
    /// Per-queue figures over `[from, to)` (wall ms; see [`queue_report`]).
    pub fn queue_report(&self, from: i64, to: i64, levels: &ServiceLevels) -> Result<Vec<QueueReport>, QueryError> {
        self.with_conn(|conn| queue_report(conn, from, to, levels))
    }

    /// Per-agent figures over `[from, to)` (wall ms; see [`agent_report`]).
    pub fn agent_report(&self, from: i64, to: i64) -> Result<Vec<AgentReport>, QueryError> {
        self.with_conn(|conn| agent_report(conn, from, to))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::acd::QueueEventKind::{self, *};
    use super::super::acd::test_db::{T0, TestDb, at};
    use super::super::journal::{CallId, HangupCause, JournalOp, LegId, LegRole};
    use super::*;

    fn report<'a>(reports: &'a [QueueReport], queue: &str) -> &'a QueueReport {
        reports.iter().find(|r| r.queue == queue).unwrap_or_else(|| panic!("no {queue} in {reports:?}"))
    }

    /// The queue events of the report test; the window is [100 s, 400 s).
    fn queue_scenario(db: &TestDb) {
        let q = |id: i64, queue: &str, events: &[(QueueEventKind, Option<i64>, i64)]| {
            let call = CallId(id);
            if !db.conn.prepare("SELECT 1 FROM calls WHERE id = ?1").unwrap().exists([id]).unwrap() {
                db.call(id, "13800138000", events[0].2);
            }
            for (kind, wait, ms) in events {
                db.queue(call, queue, *kind, None, *wait, *ms);
            }
        };
        // Entered before the window, answered in it after 60 s.
        q(1, "sales", &[(Enter, Some(0), 50_000), (Answer, Some(60_000), 110_000)]);
        // Answered without a wait_ms: 10 s since it entered.
        q(2, "sales", &[(Enter, None, 120_000), (Answer, None, 130_000)]);
        // Hung up within the level: left out of the service level.
        q(3, "sales", &[(Enter, Some(0), 140_000), (Abandon, Some(10_000), 150_000)]);
        // Hung up after the level.
        q(4, "sales", &[(Enter, Some(0), 160_000), (Abandon, Some(40_000), 200_000)]);
        // Rang an agent who did not answer, then answered at exactly 20 s.
        q(5, "sales", &[(Enter, Some(0), 210_000), (Offer, Some(2_000), 212_000)]);
        q(5, "sales", &[(NoAnswer, Some(17_000), 227_000), (Answer, Some(20_000), 230_000)]);
        q(6, "sales", &[(Enter, Some(0), 300_000), (Overflow, Some(0), 300_000)]);
        // Entered in the window, answered after it.
        q(10, "sales", &[(Enter, Some(0), 390_000), (Answer, Some(60_000), 450_000)]);
        q(7, "support", &[(Enter, Some(0), 310_000), (Answer, Some(25_000), 335_000)]);
        q(8, "support", &[(Enter, Some(0), 320_000), (Timeout, Some(60_000), 380_000)]);
        q(9, "support", &[(Enter, Some(0), 330_000), (Callback, Some(10_000), 340_000)]);
    }

    #[test]
    fn queue_report_counts_waits_and_service_level() {
        let db = TestDb::new();
        queue_scenario(&db);
        let levels = ServiceLevels { default_ms: 20_000, per_queue: BTreeMap::from([("support".into(), 30_000)]) };
        let reports = queue_report(&db.conn, T0 + 100_000, T0 + 400_000, &levels).unwrap();
        assert_eq!(reports.iter().map(|r| r.queue.as_str()).collect::<Vec<_>>(), ["sales", "support"]);
        let sales = report(&reports, "sales");
        assert_eq!(
            *sales,
            QueueReport {
                queue: "sales".into(),
                service_level_ms: 20_000,
                entered: 6,
                answered: 3,
                abandoned: 2,
                overflowed: 1,
                timed_out: 0,
                callbacks: 0,
                answered_within_level: 2,
                abandoned_after_level: 1,
                avg_answer_wait_ms: Some(30_000),
                max_answer_wait_ms: Some(60_000),
                avg_abandon_wait_ms: Some(25_000),
                // 2 within / (3 answered + 1 abandoned late).
                service_level_pct: Some(50.0),
            }
        );
        let support = report(&reports, "support");
        assert_eq!((support.entered, support.answered, support.abandoned), (3, 1, 0));
        assert_eq!((support.timed_out, support.callbacks, support.overflowed), (1, 1, 0));
        assert_eq!((support.service_level_ms, support.answered_within_level), (30_000, 1));
        assert_eq!(support.service_level_pct, Some(100.0));
        assert_eq!((support.avg_answer_wait_ms, support.avg_abandon_wait_ms), (Some(25_000), None));
        // With the default level, support's answer after 25 s is late.
        let reports = queue_report(&db.conn, T0 + 100_000, T0 + 400_000, &ServiceLevels::default()).unwrap();
        assert_eq!(report(&reports, "support").service_level_pct, Some(0.0));
        assert_eq!(report(&reports, "support").service_level_ms, DEFAULT_SERVICE_LEVEL_MS);
    }

    #[test]
    fn queue_report_rounds_and_handles_empty_and_bad_windows() {
        let db = TestDb::new();
        for (id, wait) in [(1, 5_000), (2, 5_000), (3, 30_001)] {
            let call = db.call(id, "1", 0);
            db.queue(call, "x", Answer, Some("1001"), Some(wait), 1_000);
        }
        let reports = queue_report(&db.conn, T0, T0 + 2_000, &ServiceLevels::default()).unwrap();
        let x = report(&reports, "x");
        assert_eq!(x.service_level_pct, Some(66.7));
        assert_eq!(x.avg_answer_wait_ms, Some(13_334));
        assert_eq!(x.entered, 0);
        // Nothing answered, nothing abandoned late: no service level.
        let call = db.call(4, "1", 5_000);
        db.queue(call, "y", Enter, None, Some(0), 5_000);
        db.queue(call, "y", Abandon, None, Some(3_000), 8_000);
        let reports = queue_report(&db.conn, T0 + 4_000, T0 + 9_000, &ServiceLevels::default()).unwrap();
        assert_eq!(reports.len(), 1);
        assert_eq!(report(&reports, "y").service_level_pct, None);
        assert_eq!(report(&reports, "y").avg_answer_wait_ms, None);
        assert!(queue_report(&db.conn, T0 + 10_000, T0 + 20_000, &ServiceLevels::default()).unwrap().is_empty());
        let e = queue_report(&db.conn, T0, T0, &ServiceLevels::default()).unwrap_err();
        assert!(matches!(e, QueryError::Invalid { field: "to", .. }), "{e}");
        let negative = ServiceLevels { default_ms: -1, ..ServiceLevels::default() };
        assert!(matches!(
            queue_report(&db.conn, T0, T0 + 1, &negative),
            Err(QueryError::Invalid { field: "service_level_ms", .. })
        ));
        let negative = ServiceLevels { default_ms: 1, per_queue: BTreeMap::from([("x".into(), -5)]) };
        assert!(matches!(
            queue_report(&db.conn, T0, T0 + 1, &negative),
            Err(QueryError::Invalid { field: "service_levels", .. })
        ));
    }

    #[test]
    fn state_times_clip_to_the_window() {
        let change = |ms: i64, state, reason: &str| StateChange { wall_ms: ms, state, reason: reason.into() };
        use AgentStateKind::*;
        let changes = [
            change(90, NotReady, "break"),
            change(120, Ready, ""),
            change(150, NotReady, "lunch"),
            change(170, NotReady, "break"),
            change(190, OnCall, ""),
        ];
        let (times, reasons) = state_times(&changes, 100, 200);
        assert_eq!(
            times,
            StateTimes {
                logged_out_ms: 0,
                ready_ms: 30,
                not_ready_ms: 60,
                offered_ms: 0,
                on_call_ms: 10,
                wrap_up_ms: 0
            }
        );
        assert_eq!(reasons, BTreeMap::from([("break".into(), 40), ("lunch".into(), 20)]));
        // A change at `to` or later adds nothing; the open state ends at `to`.
        let (times, _) = state_times(&[change(0, Ready, ""), change(200, LoggedOut, "")], 100, 200);
        assert_eq!(times.ready_ms, 100);
        assert_eq!(times.logged_out_ms, 0);
        assert_eq!(state_times(&[], 100, 200).0, StateTimes::default());
    }

    /// States, offers and answers of the agent report test; the window is
    /// [100 s, 400 s).
    fn agent_scenario(db: &TestDb) {
        use AgentStateKind::*;
        for (ms, state, reason) in [
            (0, Ready, ""),
            (90_000, NotReady, "break"),
            (120_000, Ready, ""),
            (200_000, Offered, ""),
            (205_000, OnCall, ""),
            (265_000, WrapUp, ""),
            (275_000, NotReady, "lunch"),
            (350_000, Ready, ""),
            (450_000, LoggedOut, ""),
        ] {
            db.state("1001", state, reason, ms);
        }
        db.state("1002", LoggedOut, "", 10_000);
        db.state("1002", Ready, "", 250_000);
        db.state("1002", LoggedOut, "", 300_000);
        db.state("1003", LoggedOut, "", 0);
        db.state("1004", Ready, "", 500_000);

        // Answered by 1001 at 205 s; its leg ends at 265 s: 60 s of talk.
        let a = db.call(1, "13800138000", 190_000);
        db.queue(a, "sales", Enter, None, Some(0), 190_000);
        db.queue(a, "sales", Offer, Some("1001"), Some(10_000), 200_000);
        db.queue(a, "sales", Answer, Some("1001"), Some(15_000), 205_000);
        db.agent_leg(a, 10, "801", 200_000, 205_000, Some(265_000));
        db.end(a, 270_000);
        // Offered to 1001, who let it ring out.
        let b = db.call(2, "13800138001", 140_000);
        db.queue(b, "sales", Offer, Some("1001"), Some(10_000), 150_000);
        db.queue(b, "sales", NoAnswer, Some("1001"), Some(25_000), 165_000);
        db.end(b, 170_000);
        // Answered by 1002, whose leg (31) the event names; leg 30, answered
        // at the same moment, is someone else's.
        let c = db.call(3, "13800138002", 250_000);
        db.queue(c, "sales", Offer, Some("1002"), Some(5_000), 255_000);
        db.apply(JournalOp::QueueEvent {
            call: c,
            queue: "sales".into(),
            kind: Answer,
            agent: Some("1002".into()),
            position: None,
            wait_ms: Some(8_000),
            detail: json!({"leg": 31}),
            at: at(258_000),
        });
        db.agent_leg(c, 30, "801", 255_000, 258_000, Some(259_000));
        db.agent_leg(c, 31, "802", 255_000, 258_000, Some(290_000));
        db.end(c, 290_000);
        // Answered by 1001 at 380 s, still talking at `to`: 20 s so far.
        let d = db.call(4, "13800138003", 370_000);
        db.queue(d, "sales", Answer, Some("1001"), Some(10_000), 380_000);
        db.agent_leg(d, 40, "801", 379_000, 380_500, None);
        // Answered by 1002 without an agent leg: until the call's end.
        let e = db.call(5, "13800138004", 385_000);
        db.queue(e, "sales", Answer, Some("1002"), Some(5_000), 390_000);
        db.end(e, 395_000);
        // Before the window.
        let f = db.call(6, "13800138005", 80_000);
        db.queue(f, "sales", Answer, Some("1001"), Some(5_000), 90_000);
        db.agent_leg(f, 60, "801", 85_000, 90_000, Some(99_000));
        // An agent with an offer and no state rows.
        let g = db.call(7, "13800138006", 299_000);
        db.queue(g, "sales", Offer, Some("1005"), Some(1_000), 300_000);
        // A caller leg is never mistaken for the agent's.
        db.apply(JournalOp::LegAdded {
            leg: LegId(70),
            call: g,
            role: LegRole::Caller,
            channel: Some(1),
            party_number: "13800138006".into(),
            party_name: String::new(),
            extension: None,
            at: at(299_000),
        });
        db.apply(JournalOp::LegEnded {
            leg: LegId(70),
            at: at(301_000),
            cause: HangupCause::Cancelled,
            detail: String::new(),
        });
    }

    #[test]
    fn agent_report_counts_talk_and_clipped_state_times() {
        let db = TestDb::new();
        agent_scenario(&db);
        let reports = agent_report(&db.conn, T0 + 100_000, T0 + 400_000).unwrap();
        assert_eq!(reports.iter().map(|r| r.agent.as_str()).collect::<Vec<_>>(), ["1001", "1002", "1005"]);
        let a = &reports[0];
        assert_eq!((a.offers, a.answered, a.no_answer, a.talk_ms), (2, 2, 1, 80_000));
        assert_eq!(
            a.states,
            StateTimes {
                logged_out_ms: 0,
                ready_ms: 130_000,
                not_ready_ms: 95_000,
                offered_ms: 5_000,
                on_call_ms: 60_000,
                wrap_up_ms: 10_000,
            }
        );
        assert_eq!(a.states.logged_in_ms(), 300_000);
        assert_eq!(a.not_ready_by_reason, BTreeMap::from([("break".into(), 20_000), ("lunch".into(), 75_000)]));
        let b = &reports[1];
        assert_eq!((b.offers, b.answered, b.no_answer, b.talk_ms), (1, 2, 0, 32_000 + 5_000));
        assert_eq!((b.states.ready_ms, b.states.logged_out_ms), (50_000, 250_000));
        let g = &reports[2];
        assert_eq!((g.offers, g.answered, g.talk_ms), (1, 0, 0));
        assert_eq!(g.states, StateTimes::default());
    }

    #[test]
    fn agent_report_of_empty_and_later_windows() {
        let db = TestDb::new();
        agent_scenario(&db);
        assert!(agent_report(&db.conn, T0 - 100_000, T0 - 50_000).unwrap().is_empty());
        // Long after: only 1004 is still logged in (ready since 500 s).
        let reports = agent_report(&db.conn, T0 + 1_000_000, T0 + 2_000_000).unwrap();
        assert_eq!(reports.len(), 1);
        assert_eq!(reports[0].agent, "1004");
        assert_eq!(reports[0].states.ready_ms, 1_000_000);
        assert_eq!((reports[0].offers, reports[0].talk_ms), (0, 0));
        assert!(matches!(agent_report(&db.conn, T0 + 5, T0), Err(QueryError::Invalid { field: "to", .. })));
    }
}
