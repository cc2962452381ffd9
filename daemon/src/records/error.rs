//! Errors of the records layer, one enum per kind of operation.

use std::path::PathBuf;

/// Opening (or creating) the records database failed.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("records database {path}: cannot create its directory: {source}")]
    CreateDir { path: PathBuf, source: std::io::Error },
    #[error("records database {path}: cannot read the file: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("records database {path}: not an SQLite database (the file does not start with the SQLite header)")]
    NotADatabase { path: PathBuf },
    #[error("records database {path}: the database is corrupt: {detail}")]
    Corrupt { path: PathBuf, detail: String },
    #[error(
        "records database {path}: schema version {found} is newer than this ctiboxd supports ({supported}); \
         run the ctiboxd that wrote it, or restore a backup"
    )]
    TooNew { path: PathBuf, found: i64, supported: i64 },
    #[error(
        "records database {path}: schema version {found} is older than this program reads ({supported}); \
         start ctiboxd once to migrate it"
    )]
    TooOld { path: PathBuf, found: i64, supported: i64 },
    #[error("records database {path}: migration to schema version {version} failed: {source}")]
    Migration { path: PathBuf, version: i64, source: rusqlite::Error },
    #[error("records database {path}: journal mode is {mode:?}, WAL could not be enabled")]
    NoWal { path: PathBuf, mode: String },
    #[error("records database {path}: {what}: {source}")]
    Sqlite { path: PathBuf, what: &'static str, source: rusqlite::Error },
    #[error("records database {path}: cannot start the writer thread: {source}")]
    Spawn { path: PathBuf, source: std::io::Error },
}

/// A journal operation could not be queued. The caller decides what to do
/// (the real-time side counts it and goes on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    #[error("records queue full ({capacity} operations waiting): {op} dropped")]
    QueueFull { op: &'static str, capacity: usize },
    #[error("records writer has stopped: {op} dropped")]
    Closed { op: &'static str },
}

/// Waiting for an operation to be committed did not succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WaitError {
    #[error("operation {seq} not committed after {waited_ms} ms (last committed: {committed})")]
    Timeout { seq: u64, committed: u64, waited_ms: u64 },
    #[error("operation {seq} was never queued (sequence not issued yet)")]
    NotIssued { seq: u64 },
    #[error("records writer stopped before operation {seq} was committed")]
    Closed { seq: u64 },
    #[error("operation {seq} was rolled back (see the records log for why)")]
    Failed { seq: u64 },
}

/// A write request (customers, users, extensions, import) failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Submit(#[from] SubmitError),
    #[error("records writer did not answer {op} within {timeout_ms} ms")]
    Timeout { op: &'static str, timeout_ms: u64 },
    #[error(
        "records writer dropped {op} without running it (it stopped, or could not begin a transaction: see the log)"
    )]
    Dropped { op: &'static str },
    #[error("{field}: {problem}")]
    Invalid { field: String, problem: String },
    #[error("{what} {key} not found")]
    NotFound { what: &'static str, key: String },
    #[error("{what} {key} already exists{detail}")]
    Conflict { what: &'static str, key: String, detail: String },
    #[error("records database: {op}: {source}")]
    Sqlite { op: &'static str, source: rusqlite::Error },
    #[error("records database: commit failed, {op} was not saved: {detail}")]
    Commit { op: &'static str, detail: String },
}

impl WriteError {
    pub(crate) fn invalid(field: impl Into<String>, problem: impl Into<String>) -> WriteError {
        WriteError::Invalid { field: field.into(), problem: problem.into() }
    }

    pub(crate) fn sqlite(op: &'static str) -> impl FnOnce(rusqlite::Error) -> WriteError {
        move |source| WriteError::Sqlite { op, source }
    }
}

/// A query failed.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("records database: {what}: {source}")]
    Sqlite { what: &'static str, source: rusqlite::Error },
    #[error("{field}: {problem}")]
    Invalid { field: &'static str, problem: String },
    #[error("records database: {table} row {id}: column {column} holds {value:?}, which this ctiboxd does not know")]
    BadValue { table: &'static str, id: String, column: &'static str, value: String },
}

impl QueryError {
    pub(crate) fn sqlite(what: &'static str) -> impl FnOnce(rusqlite::Error) -> QueryError {
        move |source| QueryError::Sqlite { what, source }
    }
}
