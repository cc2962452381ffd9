//! The schema and its migrations, and how connections are opened.
//!
//! The schema version is SQLite's `PRAGMA user_version`. [`MIGRATIONS`] holds
//! one SQL step per version: step `i` takes the database from version `i` to
//! `i + 1` and runs in its own transaction together with the version bump, so
//! a crash mid-migration leaves the previous version intact. A database whose
//! version is above [`SCHEMA_VERSION`] is refused: an older ctiboxd must not
//! write into a schema it does not know.
//!
//! Times: `*_board_ms` is board time in milliseconds (the board clock restarts
//! with the daemon, so it orders events of one call, not calls across
//! restarts); `*_wall_ms` is wall-clock UTC in milliseconds since the Unix
//! epoch (`datetime(start_wall_ms / 1000, 'unixepoch')` in the sqlite3 shell).
//!
//! Numbers: next to each number column a `*_rev` column holds its match key
//! reversed (see [`super::phone`]) so that searches by number use an index.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::error::OpenError;

/// Schema version this code writes and reads.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// How long a connection waits for a lock before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Migration steps; step `i` takes version `i` to version `i + 1`. Append
/// only: never edit a step that has shipped.
pub const MIGRATIONS: &[&str] = &[
    // 1: call journal, channels, directory, customers, users.
    r#"
CREATE TABLE channels (
    number      INTEGER PRIMARY KEY,            -- board channel number, 1-based across the board
    kind        TEXT NOT NULL,                  -- fxo, fxs, e1, dchan
    span        INTEGER NOT NULL,
    role        TEXT NOT NULL DEFAULT '',       -- trunk, extension, unused...
    name        TEXT NOT NULL DEFAULT '',
    updated_wall_ms INTEGER NOT NULL
);

CREATE TABLE channel_events (
    id          INTEGER PRIMARY KEY,
    channel     INTEGER NOT NULL,
    board_ms    INTEGER NOT NULL,
    wall_ms     INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail))
);
CREATE INDEX channel_events_by_channel ON channel_events (channel, wall_ms);
CREATE INDEX channel_events_by_time ON channel_events (wall_ms);

CREATE TABLE calls (
    id              INTEGER PRIMARY KEY,        -- allocated by the daemon (RecordsHandle::next_call_id)
    direction       TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound', 'internal')),
    caller_number   TEXT NOT NULL DEFAULT '',   -- caller ID number as received or sent
    caller_name     TEXT NOT NULL DEFAULT '',   -- caller ID name
    called_number   TEXT NOT NULL DEFAULT '',   -- DNIS or dialled digits
    caller_rev      TEXT NOT NULL DEFAULT '',
    called_rev      TEXT NOT NULL DEFAULT '',
    channel         INTEGER,                    -- the channel the call came in or went out on
    start_board_ms  INTEGER NOT NULL,
    start_wall_ms   INTEGER NOT NULL,
    answer_board_ms INTEGER,
    answer_wall_ms  INTEGER,
    end_board_ms    INTEGER,
    end_wall_ms     INTEGER,                    -- NULL while the call is in flight
    cause           TEXT,                       -- normal, busy, no_answer, congestion, failed, ...
    cause_detail    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX calls_by_start ON calls (start_wall_ms, id);
CREATE INDEX calls_by_caller ON calls (caller_rev);
CREATE INDEX calls_by_called ON calls (called_rev);
CREATE INDEX calls_by_channel ON calls (channel);
CREATE INDEX calls_in_flight ON calls (id) WHERE end_wall_ms IS NULL;

CREATE TABLE legs (
    id              INTEGER PRIMARY KEY,        -- allocated by the daemon (RecordsHandle::next_leg_id)
    call_id         INTEGER NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    channel         INTEGER,
    role            TEXT NOT NULL,              -- caller, callee, agent, consult, conference, monitor, ivr
    party_number    TEXT NOT NULL DEFAULT '',
    party_name      TEXT NOT NULL DEFAULT '',
    party_rev       TEXT NOT NULL DEFAULT '',
    extension       TEXT,                       -- extension number when the leg rings one
    start_board_ms  INTEGER NOT NULL,
    start_wall_ms   INTEGER NOT NULL,
    answer_board_ms INTEGER,
    answer_wall_ms  INTEGER,
    end_board_ms    INTEGER,
    end_wall_ms     INTEGER,
    cause           TEXT,
    cause_detail    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX legs_by_call ON legs (call_id);
CREATE INDEX legs_by_channel ON legs (channel);
CREATE INDEX legs_by_extension ON legs (extension);
CREATE INDEX legs_by_party ON legs (party_rev);

CREATE TABLE call_events (
    id          INTEGER PRIMARY KEY,
    call_id     INTEGER NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    leg_id      INTEGER REFERENCES legs (id) ON DELETE CASCADE,
    board_ms    INTEGER NOT NULL,
    wall_ms     INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail))
);
CREATE INDEX call_events_by_call ON call_events (call_id, id);
CREATE INDEX call_events_by_leg ON call_events (leg_id) WHERE leg_id IS NOT NULL;

CREATE TABLE transfers (
    id          INTEGER PRIMARY KEY,
    call_id     INTEGER NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('blind', 'attended')),
    from_leg_id INTEGER REFERENCES legs (id) ON DELETE SET NULL,
    to_leg_id   INTEGER REFERENCES legs (id) ON DELETE SET NULL,
    target      TEXT NOT NULL,                  -- number or extension transferred to
    board_ms    INTEGER NOT NULL,
    wall_ms     INTEGER NOT NULL
);
CREATE INDEX transfers_by_call ON transfers (call_id);

CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE,
    role            TEXT NOT NULL CHECK (role IN ('admin', 'supervisor', 'agent')),
    display_name    TEXT NOT NULL DEFAULT '',
    password_hash   TEXT NOT NULL,              -- PHC string ($argon2id$...)
    disabled        INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_wall_ms INTEGER NOT NULL,
    updated_wall_ms INTEGER NOT NULL
);

CREATE TABLE customers (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL CHECK (name <> ''),
    company         TEXT NOT NULL DEFAULT '',
    notes           TEXT NOT NULL DEFAULT '',
    assigned_user_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    assigned_agent  TEXT NOT NULL DEFAULT '',   -- agent name when not a user of ctibox
    vip             INTEGER NOT NULL DEFAULT 0 CHECK (vip BETWEEN 0 AND 9),
    created_wall_ms INTEGER NOT NULL,
    updated_wall_ms INTEGER NOT NULL
);
CREATE INDEX customers_by_name ON customers (name COLLATE NOCASE);
CREATE INDEX customers_by_company ON customers (company COLLATE NOCASE);
CREATE INDEX customers_by_user ON customers (assigned_user_id) WHERE assigned_user_id IS NOT NULL;

CREATE TABLE customer_phones (
    id          INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,               -- order as entered, 0 first
    number      TEXT NOT NULL,                  -- as entered, for display
    digits      TEXT NOT NULL,                  -- digits only, leading '+' kept
    key_rev     TEXT NOT NULL UNIQUE            -- match key reversed (records::phone)
);
CREATE INDEX customer_phones_by_customer ON customer_phones (customer_id, position);

CREATE TABLE extensions (
    number      TEXT PRIMARY KEY,
    name        TEXT NOT NULL DEFAULT '',
    channel     INTEGER UNIQUE,                 -- FXS channel of the phone; NULL when none
    user_id     INTEGER REFERENCES users (id) ON DELETE SET NULL,
    updated_wall_ms INTEGER NOT NULL
);

CREATE TABLE ring_groups (
    number      TEXT PRIMARY KEY,
    name        TEXT NOT NULL DEFAULT '',
    strategy    TEXT NOT NULL CHECK (strategy IN ('all', 'in_order', 'round_robin')),
    ring_timeout_ms INTEGER NOT NULL CHECK (ring_timeout_ms > 0),
    updated_wall_ms INTEGER NOT NULL
);

CREATE TABLE ring_group_members (
    group_number TEXT NOT NULL REFERENCES ring_groups (number) ON DELETE CASCADE ON UPDATE CASCADE,
    extension    TEXT NOT NULL REFERENCES extensions (number) ON DELETE CASCADE ON UPDATE CASCADE,
    position     INTEGER NOT NULL,
    PRIMARY KEY (group_number, extension)
);
CREATE INDEX ring_group_members_by_extension ON ring_group_members (extension);
"#,
    // 2: voicemail left in IVR flows.
    r#"
CREATE TABLE voicemail (
    id            INTEGER PRIMARY KEY,
    call_id       INTEGER NOT NULL REFERENCES calls (id),
    mailbox       TEXT NOT NULL,
    caller_number TEXT NOT NULL,
    path          TEXT NOT NULL,                -- the WAV file (8 kHz 16-bit mono)
    duration_ms   INTEGER NOT NULL,
    board_ms      INTEGER NOT NULL,
    wall_ms       INTEGER NOT NULL,
    heard         INTEGER NOT NULL DEFAULT 0    -- 1 once someone listened to it
);
CREATE INDEX voicemail_by_mailbox ON voicemail (mailbox, wall_ms);
CREATE INDEX voicemail_by_call ON voicemail (call_id);
"#,
    // 3: ACD queue events and agent state history (records::acd).
    r#"
CREATE TABLE queue_events (
    id          INTEGER PRIMARY KEY,
    call_id     INTEGER NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    queue       TEXT NOT NULL,                  -- the queue's name in the config
    kind        TEXT NOT NULL CHECK (kind IN ('enter', 'offer', 'answer', 'no_answer', 'abandon', 'overflow',
                    'timeout', 'callback', 'transfer', 'leave', 'priority')),
    agent       TEXT,                           -- agent id; NULL when no agent is concerned
    position    INTEGER,                        -- place in the queue, 1 first
    wait_ms     INTEGER,                        -- time waited in the queue so far
    detail      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail)),
    board_ms    INTEGER NOT NULL,
    wall_ms     INTEGER NOT NULL
);
CREATE INDEX queue_events_by_call ON queue_events (call_id, id);
CREATE INDEX queue_events_by_queue ON queue_events (queue, wall_ms);
CREATE INDEX queue_events_by_time ON queue_events (wall_ms);

CREATE TABLE agent_states (
    id          INTEGER PRIMARY KEY,
    agent       TEXT NOT NULL,                  -- agent id
    state       TEXT NOT NULL CHECK (state IN ('logged_out', 'ready', 'not_ready', 'offered', 'on_call',
                    'wrap_up')),
    reason      TEXT NOT NULL DEFAULT '',       -- why (not ready: break, lunch, no_answer...)
    extension   TEXT,                           -- where the agent sits; NULL when logged out
    call_id     INTEGER REFERENCES calls (id) ON DELETE SET NULL,
    board_ms    INTEGER NOT NULL,
    wall_ms     INTEGER NOT NULL                -- the state begins here; the previous one ends here
);
CREATE INDEX agent_states_by_agent ON agent_states (agent, wall_ms);
CREATE INDEX agent_states_by_time ON agent_states (wall_ms);
CREATE INDEX agent_states_by_call ON agent_states (call_id) WHERE call_id IS NOT NULL;
"#,
    // 4: outbound campaigns' numbers and attempts, the do-not-call list (records::campaign).
    r#"
CREATE TABLE campaign_numbers (
    id              INTEGER PRIMARY KEY,
    campaign        TEXT NOT NULL,                  -- the [[campaign]]'s name in the config
    position        INTEGER NOT NULL,               -- order of import: dialled in this order
    number          TEXT NOT NULL,                  -- as imported, for display
    digits          TEXT NOT NULL,                  -- what is dialled: digits only, leading '+' kept
    key_rev         TEXT NOT NULL,                  -- match key reversed (records::phone)
    customer_id     INTEGER REFERENCES customers (id) ON DELETE SET NULL,
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'dialing', 'retry_wait', 'done')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_at_wall_ms INTEGER,                        -- retry_wait: not dialled again before this
    result          TEXT CHECK (result IN ('answered', 'busy', 'no_answer', 'fax', 'failed', 'abandoned', 'dnc')),
    last_call_id    INTEGER REFERENCES calls (id) ON DELETE SET NULL,
    added_wall_ms   INTEGER NOT NULL,
    updated_wall_ms INTEGER NOT NULL,
    UNIQUE (campaign, key_rev)
);
CREATE INDEX campaign_numbers_by_campaign ON campaign_numbers (campaign, position);
CREATE INDEX campaign_numbers_by_key ON campaign_numbers (key_rev);

CREATE TABLE campaign_attempts (
    id              INTEGER PRIMARY KEY,
    number_id       INTEGER NOT NULL REFERENCES campaign_numbers (id) ON DELETE CASCADE,
    attempt         INTEGER NOT NULL CHECK (attempt >= 1),  -- 1 for the first
    call_id         INTEGER REFERENCES calls (id) ON DELETE SET NULL,  -- NULL when no call could start
    result          TEXT NOT NULL CHECK (result IN ('answered', 'busy', 'no_answer', 'fax', 'failed', 'abandoned')),
    detail          TEXT NOT NULL DEFAULT '',       -- no_dial_tone, congestion, sit, no_free_line...
    started_board_ms INTEGER NOT NULL,
    started_wall_ms INTEGER NOT NULL,               -- dialling began
    ended_wall_ms   INTEGER                         -- the call ended; NULL while it goes on
);
CREATE INDEX campaign_attempts_by_number ON campaign_attempts (number_id, id);
CREATE INDEX campaign_attempts_by_call ON campaign_attempts (call_id) WHERE call_id IS NOT NULL;

CREATE TABLE do_not_call (
    id              INTEGER PRIMARY KEY,
    number          TEXT NOT NULL,                  -- as entered
    digits          TEXT NOT NULL,
    key_rev         TEXT NOT NULL UNIQUE,           -- match key reversed (records::phone)
    reason          TEXT NOT NULL DEFAULT '',
    added_wall_ms   INTEGER NOT NULL
);
"#,
    // 4 -> 5: whether each campaign is paused, so a restart keeps it so.
    r#"
CREATE TABLE campaign_control (
    campaign        TEXT PRIMARY KEY,               -- the [[campaign]]'s name in the config
    paused          INTEGER NOT NULL CHECK (paused IN (0, 1)),
    by_user         TEXT NOT NULL DEFAULT '',       -- who paused or resumed it
    changed_wall_ms INTEGER NOT NULL
);
"#,
];

/// Checks the first bytes of an existing file: an empty or missing file is
/// fine (SQLite creates the database), anything else must carry the header.
pub(crate) fn check_header(path: &Path) -> Result<(), OpenError> {
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => return Err(OpenError::Io { path: path.to_path_buf(), source }),
    };
    let mut header = [0u8; 16];
    let mut read = 0;
    while read < header.len() {
        match file.read(&mut header[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(source) => return Err(OpenError::Io { path: path.to_path_buf(), source }),
        }
    }
    if read == 0 {
        return Ok(());
    }
    if read < header.len() || &header != b"SQLite format 3\0" {
        return Err(OpenError::NotADatabase { path: path.to_path_buf() });
    }
    Ok(())
}

/// Maps an SQLite error met while opening to the clearest `OpenError`.
pub(crate) fn open_failure(path: &Path, what: &'static str, source: rusqlite::Error) -> OpenError {
    use rusqlite::ErrorCode;
    match source.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => OpenError::NotADatabase { path: path.to_path_buf() },
        Some(ErrorCode::DatabaseCorrupt) => OpenError::Corrupt { path: path.to_path_buf(), detail: source.to_string() },
        _ => OpenError::Sqlite { path: path.to_path_buf(), what, source },
    }
}

/// Opens the write connection: WAL, synchronous=NORMAL (a committed
/// transaction survives the process being killed; the last ones may be lost
/// if the machine loses power), foreign keys, busy timeout. Optionally runs
/// `PRAGMA quick_check`, then applies pending migrations.
pub(crate) fn open_writer(path: &Path, quick_check: bool) -> Result<Connection, OpenError> {
    check_header(path)?;
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| open_failure(path, "open", e))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| open_failure(path, "set busy timeout", e))?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(|e| open_failure(path, "set journal_mode=WAL", e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(OpenError::NoWal { path: path.to_path_buf(), mode });
    }
    conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
        .map_err(|e| open_failure(path, "set synchronous and foreign_keys", e))?;
    if quick_check {
        run_quick_check(&conn, path)?;
    }
    migrate(&conn, path)?;
    Ok(conn)
}

/// Opens a read-only connection for queries.
pub(crate) fn open_reader(path: &Path) -> Result<Connection, rusqlite::Error> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.execute_batch("PRAGMA query_only = ON;")?;
    Ok(conn)
}

fn run_quick_check(conn: &Connection, path: &Path) -> Result<(), OpenError> {
    let mut stmt = conn.prepare("PRAGMA quick_check").map_err(|e| open_failure(path, "quick_check", e))?;
    let problems: Vec<String> = stmt
        .query_map([], |row| row.get::<_, String>(0))
        .and_then(|rows| rows.collect::<Result<_, _>>())
        .map_err(|e| open_failure(path, "quick_check", e))?;
    if problems.len() == 1 && problems[0] == "ok" {
        return Ok(());
    }
    let detail = problems.into_iter().take(5).collect::<Vec<_>>().join("; ");
    Err(OpenError::Corrupt { path: path.to_path_buf(), detail })
}

/// Reads the schema version of a connection.
pub fn schema_version(conn: &Connection) -> Result<i64, rusqlite::Error> {
    conn.query_row("PRAGMA user_version", [], |row| row.get(0))
}

/// Applies every pending migration, each in its own transaction.
fn migrate(conn: &Connection, path: &Path) -> Result<(), OpenError> {
    let found = schema_version(conn).map_err(|e| open_failure(path, "read schema version", e))?;
    if found > SCHEMA_VERSION {
        return Err(OpenError::TooNew { path: path.to_path_buf(), found, supported: SCHEMA_VERSION });
    }
    for (index, step) in MIGRATIONS.iter().enumerate().skip(usize::try_from(found).unwrap_or(0)) {
        let version = index as i64 + 1;
        let apply = || -> Result<(), rusqlite::Error> {
            let tx = conn.unchecked_transaction()?;
            tx.execute_batch(step)?;
            tx.pragma_update(None, "user_version", version)?;
            tx.commit()
        };
        apply().map_err(|source| match source.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt) => {
                open_failure(path, "migration", source)
            }
            _ => OpenError::Migration { path: path.to_path_buf(), version, source },
        })?;
        tracing::info!(path = %path.display(), version, "records schema migrated");
    }
    Ok(())
}
