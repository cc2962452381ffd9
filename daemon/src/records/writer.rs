//! The records thread: the one owner of the write connection.
//!
//! Everything that writes goes through a bounded crossbeam channel to this
//! thread. It takes what is queued (up to [`super::RecordsConfig::max_batch`]
//! operations), applies it in one transaction — each operation under its own
//! savepoint, so one bad operation is rolled back and counted without losing
//! its neighbours — and commits. Batches grow by themselves under load: while
//! one commits, the next one queues.
//!
//! # Sequence numbers and durability
//!
//! Every operation gets a sequence number when it is submitted (1, 2, 3...).
//! After each commit the thread publishes the **committed mark**: every
//! operation with a sequence number at or below it has been processed — its
//! transaction committed, or, for an operation that could not be applied
//! (unknown call id, bad value), rolled back, logged and counted in
//! [`RecordsStats::failed_ops`]. Operations that never entered the queue
//! (queue full) do not hold the mark back. [`RecordsHandle::wait_committed`]
//! blocks until the mark reaches a sequence number, for tests and for the
//! daemon to publish "call ended" only after its row is on disk; it returns
//! [`WaitError::Failed`] for an operation that was rolled back (the last
//! [`FAILED_MEMORY`] failures are remembered).
//!
//! Journal operations never block the sender: [`RecordsHandle::submit`] uses
//! `try_send`, and a full queue is counted in [`RecordsStats::queue_full`] and
//! returned to the caller. Write requests (customers, users, directory,
//! import) block the caller until their transaction committed and return a
//! typed result: call them from a blocking context (a request thread, or
//! `spawn_blocking` in async code), never from the real-time engine.

use std::collections::{BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError, TrySendError};
use rusqlite::Connection;

use super::error::{SubmitError, WaitError, WriteError};
use super::journal::{self, CallId, JournalOp, LegId};

/// Work run on the records thread for a write request; returns whether it
/// succeeded (its savepoint is kept) and what to do after the commit.
pub(crate) type RequestFn = Box<dyn FnOnce(&Connection) -> RequestDone + Send>;

/// Called after the commit with `None`, or with the commit's error.
type FinishFn = Box<dyn FnOnce(Option<&str>) + Send>;

pub(crate) struct RequestDone {
    ok: bool,
    finish: FinishFn,
}

pub(crate) enum Msg {
    Journal { seq: u64, op: JournalOp },
    Request { seq: u64, run: RequestFn },
    Shutdown,
}

/// Counters of the records thread; a snapshot from [`RecordsHandle::stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RecordsStats {
    /// Operations accepted into the queue.
    pub submitted: u64,
    /// Operations refused because the queue was full.
    pub queue_full: u64,
    /// Operations applied and committed.
    pub committed_ops: u64,
    /// Operations rolled back (could not be applied, or their commit failed).
    pub failed_ops: u64,
    /// Transactions committed.
    pub batches: u64,
    /// Largest batch so far.
    pub max_batch: u64,
    /// The committed mark (see the module doc).
    pub committed_seq: u64,
    /// Operations waiting in the queue now.
    pub queued: u64,
}

#[derive(Debug, Default)]
struct Counters {
    submitted: AtomicU64,
    queue_full: AtomicU64,
    committed_ops: AtomicU64,
    failed_ops: AtomicU64,
    batches: AtomicU64,
    max_batch: AtomicU64,
}

#[derive(Debug)]
pub(crate) struct Shared {
    next_seq: AtomicU64,
    committed: AtomicU64,
    closed: AtomicBool,
    next_call_id: AtomicI64,
    next_leg_id: AtomicI64,
    counters: Counters,
    wake: Mutex<()>,
    woken: Condvar,
    /// The last [`FAILED_MEMORY`] sequence numbers that were not applied.
    failed: Mutex<VecDeque<u64>>,
}

/// How many failed sequence numbers [`RecordsHandle::wait_committed`] can name.
pub const FAILED_MEMORY: usize = 4096;

impl Shared {
    pub(crate) fn new(max_call_id: i64, max_leg_id: i64) -> Shared {
        Shared {
            next_seq: AtomicU64::new(1),
            committed: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            next_call_id: AtomicI64::new(max_call_id + 1),
            next_leg_id: AtomicI64::new(max_leg_id + 1),
            counters: Counters::default(),
            wake: Mutex::new(()),
            woken: Condvar::new(),
            failed: Mutex::new(VecDeque::new()),
        }
    }

    fn remember_failed(&self, seqs: impl Iterator<Item = u64>) {
        let mut failed = self.failed.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        for seq in seqs {
            if failed.len() == FAILED_MEMORY {
                failed.pop_front();
            }
            failed.push_back(seq);
        }
    }

    fn has_failed(&self, seq: u64) -> bool {
        self.failed.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).contains(&seq)
    }

    fn publish(&self, committed: u64) {
        self.committed.store(committed, Ordering::Release);
        let _guard = self.wake.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        self.woken.notify_all();
    }

    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        let _guard = self.wake.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        self.woken.notify_all();
    }
}

/// The sending side of the records thread: cheap to clone, `Send + Sync`.
#[derive(Debug, Clone)]
pub struct RecordsHandle {
    tx: Sender<Msg>,
    /// Sequence numbers that were issued but never queued.
    skipped: Sender<u64>,
    shared: Arc<Shared>,
    capacity: usize,
    request_timeout: Duration,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Msg::Journal { seq, op } => write!(f, "Journal({seq}, {})", op.name()),
            Msg::Request { seq, .. } => write!(f, "Request({seq})"),
            Msg::Shutdown => f.write_str("Shutdown"),
        }
    }
}

impl RecordsHandle {
    /// Allocates a call id (never reused, continues after the journal's highest).
    pub fn next_call_id(&self) -> CallId {
        CallId(self.shared.next_call_id.fetch_add(1, Ordering::Relaxed))
    }

    /// Allocates a leg id.
    pub fn next_leg_id(&self) -> LegId {
        LegId(self.shared.next_leg_id.fetch_add(1, Ordering::Relaxed))
    }

    /// Queues a journal operation without blocking; returns its sequence number.
    pub fn submit(&self, op: JournalOp) -> Result<u64, SubmitError> {
        let name = op.name();
        let seq = self.shared.next_seq.fetch_add(1, Ordering::Relaxed);
        self.send(Msg::Journal { seq, op }, seq, name)
    }

    fn send(&self, msg: Msg, seq: u64, name: &'static str) -> Result<u64, SubmitError> {
        match self.tx.try_send(msg) {
            Ok(()) => {
                self.shared.counters.submitted.fetch_add(1, Ordering::Relaxed);
                Ok(seq)
            }
            Err(TrySendError::Full(_)) => {
                self.shared.counters.queue_full.fetch_add(1, Ordering::Relaxed);
                // Unbounded: never blocks; the writer drains it every loop.
                let _ = self.skipped.send(seq);
                Err(SubmitError::QueueFull { op: name, capacity: self.capacity })
            }
            Err(TrySendError::Disconnected(_)) => Err(SubmitError::Closed { op: name }),
        }
    }

    /// The committed mark: every operation at or below it is processed.
    pub fn committed_seq(&self) -> u64 {
        self.shared.committed.load(Ordering::Acquire)
    }

    /// Whether the records thread has stopped.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire)
    }

    /// Blocks until operation `seq` is committed, the writer stops, or
    /// `timeout` passes. An operation that was processed but not applied
    /// (rolled back, or its commit failed) gives [`WaitError::Failed`] when it
    /// is among the last [`FAILED_MEMORY`] failures.
    pub fn wait_committed(&self, seq: u64, timeout: Duration) -> Result<(), WaitError> {
        if seq >= self.shared.next_seq.load(Ordering::Relaxed) {
            return Err(WaitError::NotIssued { seq });
        }
        let start = Instant::now();
        let mut guard = self.shared.wake.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        loop {
            let committed = self.committed_seq();
            if committed >= seq {
                drop(guard);
                if self.shared.has_failed(seq) {
                    return Err(WaitError::Failed { seq });
                }
                return Ok(());
            }
            if self.is_closed() {
                return Err(WaitError::Closed { seq });
            }
            let waited = start.elapsed();
            if waited >= timeout {
                return Err(WaitError::Timeout { seq, committed, waited_ms: waited.as_millis() as u64 });
            }
            guard = self
                .shared
                .woken
                .wait_timeout(guard, timeout - waited)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|poisoned| poisoned.into_inner().0);
        }
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> RecordsStats {
        let c = &self.shared.counters;
        RecordsStats {
            submitted: c.submitted.load(Ordering::Relaxed),
            queue_full: c.queue_full.load(Ordering::Relaxed),
            committed_ops: c.committed_ops.load(Ordering::Relaxed),
            failed_ops: c.failed_ops.load(Ordering::Relaxed),
            batches: c.batches.load(Ordering::Relaxed),
            max_batch: c.max_batch.load(Ordering::Relaxed),
            committed_seq: self.committed_seq(),
            queued: self.tx.len() as u64,
        }
    }

    /// Runs `work` on the records thread inside the next transaction and
    /// waits for its commit. On `Err` its changes are rolled back.
    pub(crate) fn request<T: Send + 'static>(
        &self,
        op: &'static str,
        work: impl FnOnce(&Connection) -> Result<T, WriteError> + Send + 'static,
    ) -> Result<T, WriteError> {
        self.request_with_timeout(op, self.request_timeout, work)
    }

    /// [`Self::request`] with its own timeout.
    pub(crate) fn request_with_timeout<T: Send + 'static>(
        &self,
        op: &'static str,
        timeout: Duration,
        work: impl FnOnce(&Connection) -> Result<T, WriteError> + Send + 'static,
    ) -> Result<T, WriteError> {
        let (reply_tx, reply_rx) = crossbeam_channel::bounded(1);
        let run: RequestFn = Box::new(move |conn| {
            let result = work(conn);
            let ok = result.is_ok();
            RequestDone {
                ok,
                finish: Box::new(move |commit_error| {
                    let result = match (commit_error, ok) {
                        (Some(detail), true) => Err(WriteError::Commit { op, detail: detail.to_string() }),
                        _ => result,
                    };
                    let _ = reply_tx.send(result);
                }),
            }
        });
        let seq = self.shared.next_seq.fetch_add(1, Ordering::Relaxed);
        self.send(Msg::Request { seq, run }, seq, op)?;
        match reply_rx.recv_timeout(timeout) {
            Ok(result) => result,
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                Err(WriteError::Timeout { op, timeout_ms: timeout.as_millis() as u64 })
            }
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => Err(WriteError::Dropped { op }),
        }
    }

    /// Asks the writer to finish what is queued before this and stop.
    pub(crate) fn shutdown(&self) {
        let _ = self.tx.send(Msg::Shutdown);
    }
}

/// Parameters of the records thread.
pub(crate) struct WriterSetup {
    pub capacity: usize,
    pub max_batch: usize,
    pub request_timeout: Duration,
}

/// Creates the channel and the handle; the thread body is [`run`].
pub(crate) fn channel(setup: &WriterSetup, shared: Arc<Shared>) -> (RecordsHandle, Receiver<Msg>, Receiver<u64>) {
    let (tx, rx) = crossbeam_channel::bounded(setup.capacity);
    let (skipped, skipped_rx) = crossbeam_channel::unbounded();
    let handle =
        RecordsHandle { tx, skipped, shared, capacity: setup.capacity, request_timeout: setup.request_timeout };
    (handle, rx, skipped_rx)
}

/// Marks the writer closed however it exits.
struct CloseGuard(Arc<Shared>);

impl Drop for CloseGuard {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// Tracks which sequence numbers are processed and advances the mark.
struct Mark {
    committed: u64,
    above: BTreeSet<u64>,
}

impl Mark {
    fn resolve(&mut self, seq: u64) {
        if seq == self.committed + 1 && self.above.is_empty() {
            // In order, the usual case: no set needed.
            self.committed = seq;
        } else if seq > self.committed {
            self.above.insert(seq);
        }
    }

    fn advance(&mut self) -> u64 {
        while self.above.first() == Some(&(self.committed + 1)) {
            self.above.pop_first();
            self.committed += 1;
        }
        self.committed
    }
}

/// The records thread's body.
pub(crate) fn run(conn: Connection, rx: Receiver<Msg>, skipped: Receiver<u64>, shared: Arc<Shared>, max_batch: usize) {
    let _guard = CloseGuard(shared.clone());
    let mut mark = Mark { committed: 0, above: BTreeSet::new() };
    let mut skipped = skipped;
    let mut batch: Vec<Msg> = Vec::with_capacity(max_batch);
    loop {
        let first = crossbeam_channel::select! {
            recv(rx) -> msg => match msg {
                Ok(msg) => msg,
                Err(_) => break,
            },
            recv(skipped) -> seq => {
                match seq {
                    Ok(seq) => {
                        mark.resolve(seq);
                        shared.publish(mark.advance());
                    }
                    Err(_) => skipped = crossbeam_channel::never(),
                }
                continue;
            }
        };
        let mut stop = matches!(first, Msg::Shutdown);
        if !stop {
            batch.push(first);
            while batch.len() < max_batch {
                match rx.try_recv() {
                    Ok(Msg::Shutdown) => {
                        stop = true;
                        break;
                    }
                    Ok(msg) => batch.push(msg),
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
                }
            }
        }
        if !batch.is_empty() {
            commit_batch(&conn, &mut batch, &shared, &mut mark);
        }
        for seq in skipped.try_iter() {
            mark.resolve(seq);
        }
        shared.publish(mark.advance());
        if stop {
            break;
        }
    }
    tracing::debug!(committed = mark.committed, "records thread stopped");
}

fn exec_cached(conn: &Connection, sql: &str) -> Result<(), rusqlite::Error> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

fn commit_batch(conn: &Connection, batch: &mut Vec<Msg>, shared: &Shared, mark: &mut Mark) {
    let len = batch.len() as u64;
    let mut finishes = Vec::new();
    // Sequence numbers of the batch and whether each was applied.
    let mut outcomes: Vec<(u64, bool)> = Vec::with_capacity(batch.len());
    let began = exec_cached(conn, "BEGIN IMMEDIATE");
    if let Err(e) = &began {
        tracing::error!(error = %e, ops = len, "records: cannot begin a transaction; batch dropped");
    }
    for msg in batch.drain(..) {
        match msg {
            Msg::Journal { seq, op } => {
                mark.resolve(seq);
                if began.is_err() {
                    outcomes.push((seq, false));
                    continue;
                }
                let outcome = in_savepoint(conn, |conn| journal::apply(conn, &op).map_err(|e| e.to_string()));
                if let Err(problem) = &outcome {
                    tracing::warn!(seq, %problem, "records: journal operation rolled back");
                }
                outcomes.push((seq, outcome.is_ok()));
            }
            Msg::Request { seq, run } => {
                mark.resolve(seq);
                if began.is_err() {
                    // Dropping the request answers its caller with `WriteError::Dropped`.
                    outcomes.push((seq, false));
                    drop(run);
                    continue;
                }
                let mut finish = None;
                let outcome = in_savepoint(conn, |conn| {
                    let done = run(conn);
                    let ok = done.ok;
                    finish = Some(done.finish);
                    if ok { Ok(()) } else { Err(String::new()) }
                });
                outcomes.push((seq, outcome.is_ok()));
                if let Some(finish) = finish {
                    finishes.push(finish);
                }
            }
            Msg::Shutdown => {}
        }
    }
    let commit_error = match began {
        Err(e) => Some(format!("begin: {e}")),
        Ok(()) => match exec_cached(conn, "COMMIT") {
            Ok(()) => None,
            Err(e) => {
                tracing::error!(error = %e, ops = len, "records: commit failed; batch rolled back");
                let _ = conn.execute_batch("ROLLBACK");
                Some(e.to_string())
            }
        },
    };
    let committed = commit_error.is_none();
    let applied = if committed { outcomes.iter().filter(|(_, ok)| *ok).count() as u64 } else { 0 };
    let c = &shared.counters;
    c.committed_ops.fetch_add(applied, Ordering::Relaxed);
    c.failed_ops.fetch_add(outcomes.len() as u64 - applied, Ordering::Relaxed);
    if committed {
        c.batches.fetch_add(1, Ordering::Relaxed);
        c.max_batch.fetch_max(len, Ordering::Relaxed);
    }
    if applied < outcomes.len() as u64 {
        shared.remember_failed(outcomes.iter().filter(|(_, ok)| !ok || !committed).map(|(seq, _)| *seq));
    }
    for finish in finishes {
        finish(commit_error.as_deref());
    }
}

/// Runs `work` under a savepoint: kept on `Ok`, rolled back on `Err`.
fn in_savepoint(conn: &Connection, work: impl FnOnce(&Connection) -> Result<(), String>) -> Result<(), String> {
    exec_cached(conn, "SAVEPOINT op").map_err(|e| e.to_string())?;
    match work(conn) {
        Ok(()) => exec_cached(conn, "RELEASE op").map_err(|e| e.to_string()),
        Err(problem) => {
            let _ = exec_cached(conn, "ROLLBACK TO op");
            let _ = exec_cached(conn, "RELEASE op");
            Err(problem)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mark_waits_for_gaps() {
        let mut mark = Mark { committed: 0, above: BTreeSet::new() };
        mark.resolve(2);
        mark.resolve(3);
        assert_eq!(mark.advance(), 0);
        mark.resolve(1);
        assert_eq!(mark.advance(), 3);
        mark.resolve(3);
        mark.resolve(5);
        assert_eq!(mark.advance(), 3);
        mark.resolve(4);
        assert_eq!(mark.advance(), 5);
        assert!(mark.above.is_empty());
    }
}
