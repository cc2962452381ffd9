//! The records: SQLite (WAL) owned by one records thread.
//!
//! Principle 6 of the architecture, "records are the truth": every call, leg,
//! event and transfer is written here with enough detail to rebuild reports;
//! a crash loses no call whose "call ended" was committed, and on the next
//! open the calls that were in flight are closed as `interrupted`.
//!
//! # Shape
//!
//! - [`Records::open`] opens (or creates) the database, applies migrations
//!   ([`schema`]), closes what a crash left in flight ([`recovery`]) and
//!   starts the records thread ([`writer`]).
//! - [`RecordsHandle`] (cheap to clone) is the only way to write: journal
//!   operations ([`JournalOp`]) are queued without ever blocking and
//!   committed in batches; [`RecordsHandle::wait_committed`] tells when one
//!   is on disk. Customer, user and directory writes and the CSV import are
//!   requests that block their caller until committed.
//! - [`RecordsReader`] (cheap to clone) runs queries on read-only
//!   connections, concurrently with the writer: the call journal
//!   ([`journal_query`]), customers and the screen-pop lookup by phone
//!   ([`customers`], [`phone`]), users, extensions and ring groups, ACD
//!   queue events and agent states ([`acd`]) and their reports
//!   ([`acd_report`]), outbound campaigns' numbers and attempts and the
//!   do-not-call list ([`campaign`]).
//!
//! Neither handle may be used from the real-time engine except
//! [`RecordsHandle::submit`], which never blocks; the call model and the API
//! call the blocking ones from their own threads (or `spawn_blocking`).
//!
//! # Durability
//!
//! `journal_mode=WAL`, `synchronous=NORMAL`: a committed transaction survives
//! the process being killed (`kill -9`); after a power loss the last
//! transactions before it may be lost, never the database's consistency.
//!
//! Not implemented yet: recordings (a later migration, keyed by call id);
//! retention and pruning;
//! backups (`VACUUM INTO` from a reader would do).

pub mod acd;
pub mod acd_report;
pub mod campaign;
pub mod csv;
pub mod customers;
pub mod directory;
pub mod error;
pub mod import;
pub mod journal;
pub mod journal_query;
pub mod phone;
pub mod reader;
pub mod recovery;
pub mod schema;
pub mod users;
pub mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use acd::{
    AgentHistoryPage, AgentStateKind, AgentStateRecord, HistoryRequest, LastCall, QueueEventKind, QueueEventRecord,
    StateCursor,
};
pub use acd_report::{AgentReport, QueueReport, ServiceLevels, StateTimes};
pub use campaign::{
    AttemptRecord, AttemptWrite, CallResult, CampaignImportError, CampaignImportReport, CampaignNumberId,
    CampaignNumberRecord, CampaignReport, DncEntry, NumberResult, NumberSelection, NumberState, ResultCounts,
};
pub use customers::{AssignedAgent, Customer, CustomerId, CustomerPhone, CustomerQuery, CustomerUpdate, NewCustomer};
pub use directory::{Extension, RingGroup, RingStrategy};
pub use error::{OpenError, QueryError, SubmitError, WaitError, WriteError};
pub use import::{ImportError, ImportFileError, ImportOptions, ImportProblem, ImportReport};
pub use journal::{CallId, Direction, HangupCause, JournalOp, LegId, LegRole, Stamp, TransferKind};
pub use journal_query::{
    CallCursor, CallEventRecord, CallFilter, CallOrder, CallPage, CallPageRequest, CallRecord, ChannelEventRecord,
    ChannelRecord, LegRecord, TransferRecord,
};
pub use reader::RecordsReader;
pub use recovery::RecoveryReport;
pub use users::{NewUser, Role, User, UserId, UserUpdate};
pub use writer::{RecordsHandle, RecordsStats};

/// Wall-clock UTC now, milliseconds since the Unix epoch.
pub fn now_wall_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Settings of the records layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordsConfig {
    /// Operations the queue holds before `submit` refuses with `QueueFull`.
    pub queue_capacity: usize,
    /// Most operations committed in one transaction.
    pub max_batch: usize,
    /// How long a blocking write request waits for its commit.
    pub request_timeout: Duration,
    /// Idle read connections kept open.
    pub read_pool_idle: usize,
    /// Run `PRAGMA quick_check` when opening (reads the whole file once).
    pub quick_check_on_open: bool,
}

impl Default for RecordsConfig {
    fn default() -> RecordsConfig {
        RecordsConfig {
            queue_capacity: 16_384,
            max_batch: 2_048,
            request_timeout: Duration::from_secs(10),
            read_pool_idle: 4,
            quick_check_on_open: true,
        }
    }
}

/// The open records database: its writer thread and its readers.
#[derive(Debug)]
pub struct Records {
    path: PathBuf,
    handle: RecordsHandle,
    reader: RecordsReader,
    recovery: RecoveryReport,
    thread: Option<JoinHandle<()>>,
}

impl Records {
    /// Opens or creates the database at `path` and starts the records thread.
    pub fn open(path: impl AsRef<Path>, config: &RecordsConfig) -> Result<Records, OpenError> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| OpenError::CreateDir { path: path.clone(), source })?;
        }
        let conn = schema::open_writer(&path, config.quick_check_on_open)?;
        let recovery = recovery::close_in_flight(&conn, now_wall_ms())
            .map_err(|e| schema::open_failure(&path, "close calls left in flight", e))?;
        if recovery.interrupted_calls > 0 || recovery.interrupted_legs > 0 {
            tracing::warn!(
                path = %path.display(),
                calls = recovery.interrupted_calls,
                legs = recovery.interrupted_legs,
                "records: calls left in flight by the last run closed as interrupted"
            );
        }
        let (max_call, max_leg) =
            journal::max_ids(&conn).map_err(|e| schema::open_failure(&path, "read the highest ids", e))?;
        let shared = Arc::new(writer::Shared::new(max_call, max_leg));
        let setup = writer::WriterSetup {
            capacity: config.queue_capacity.max(1),
            max_batch: config.max_batch.max(1),
            request_timeout: config.request_timeout,
        };
        let (handle, rx, skipped) = writer::channel(&setup, shared.clone());
        let max_batch = setup.max_batch;
        let thread = std::thread::Builder::new()
            .name("records".into())
            .spawn(move || writer::run(conn, rx, skipped, shared, max_batch))
            .map_err(|source| OpenError::Spawn { path: path.clone(), source })?;
        let reader = RecordsReader::new(&path, config.read_pool_idle);
        tracing::info!(path = %path.display(), version = schema::SCHEMA_VERSION, "records open");
        Ok(Records { path, handle, reader, recovery, thread: Some(thread) })
    }

    /// A handle for writing (clone it for each user).
    pub fn handle(&self) -> RecordsHandle {
        self.handle.clone()
    }

    /// A reader for queries (clone it for each user).
    pub fn reader(&self) -> RecordsReader {
        self.reader.clone()
    }

    /// What opening closed as interrupted.
    pub fn recovery(&self) -> RecoveryReport {
        self.recovery
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Commits what is queued, stops the records thread and waits for it.
    /// Handles still held elsewhere then get `SubmitError::Closed`.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.handle.shutdown();
            if thread.join().is_err() {
                tracing::error!(path = %self.path.display(), "records thread panicked");
            }
        }
    }
}

impl Drop for Records {
    fn drop(&mut self) {
        self.stop();
    }
}
