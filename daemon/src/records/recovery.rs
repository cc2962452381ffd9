//! Closing what a crash left open.
//!
//! When the records database is opened, no call can be in flight: the daemon
//! that ran them is gone. Every call without an end is closed as
//! `interrupted`, its end wall time set to the time of opening and its end
//! board time left empty (the board clock restarted with the daemon); its open
//! legs are closed the same way, and an `interrupted` event is added to the
//! call, at the call's last known board time, so the journal shows when and
//! why it ended.

use rusqlite::{Connection, params};
use serde::Serialize;

/// What the recovery on open did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RecoveryReport {
    /// Calls closed as interrupted.
    pub interrupted_calls: u64,
    /// Legs closed as interrupted.
    pub interrupted_legs: u64,
}

/// Text of the `cause_detail` of recovered calls.
pub const RECOVERY_DETAIL: &str = "still in flight when the records were reopened (daemon stopped or crashed)";

/// Closes every call and leg left in flight, in one transaction.
pub(crate) fn close_in_flight(conn: &Connection, now_wall_ms: i64) -> Result<RecoveryReport, rusqlite::Error> {
    let tx = conn.unchecked_transaction()?;
    tx.execute(
        "INSERT INTO call_events (call_id, leg_id, board_ms, wall_ms, kind, detail)
         SELECT c.id, NULL,
                max(c.start_board_ms,
                    coalesce(c.answer_board_ms, 0),
                    coalesce((SELECT max(e.board_ms) FROM call_events e WHERE e.call_id = c.id), 0),
                    coalesce((SELECT max(max(l.start_board_ms, coalesce(l.answer_board_ms, 0), coalesce(l.end_board_ms, 0)))
                              FROM legs l WHERE l.call_id = c.id), 0)),
                ?1, 'interrupted', json_object('reason', ?2)
         FROM calls c WHERE c.end_wall_ms IS NULL",
        params![now_wall_ms, RECOVERY_DETAIL],
    )?;
    let interrupted_legs = tx.execute(
        "UPDATE legs SET end_wall_ms = ?1, cause = 'interrupted', cause_detail = ?2
         WHERE end_wall_ms IS NULL AND call_id IN (SELECT id FROM calls WHERE end_wall_ms IS NULL)",
        params![now_wall_ms, RECOVERY_DETAIL],
    )? as u64;
    let interrupted_calls = tx.execute(
        "UPDATE calls SET end_wall_ms = ?1, cause = 'interrupted', cause_detail = ?2 WHERE end_wall_ms IS NULL",
        params![now_wall_ms, RECOVERY_DETAIL],
    )? as u64;
    tx.commit()?;
    Ok(RecoveryReport { interrupted_calls, interrupted_legs })
}
