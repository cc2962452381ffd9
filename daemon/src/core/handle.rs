//! Reaching the call-control core from other threads: requests with a
//! one-shot reply (blocking or async), and the CTI event broadcast.

use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};
use tokio::sync::{broadcast, oneshot};

use super::api::{CoreError, CoreReply, CoreRequest, CtiEvent};

/// The answer to one request.
pub type CoreResult = Result<CoreReply, CoreError>;

/// Where the core sends its answer.
#[derive(Debug)]
pub enum ReplyTo {
    Sync(Sender<CoreResult>),
    Async(oneshot::Sender<CoreResult>),
}

impl ReplyTo {
    /// Answer; a requester that gave up is not an error.
    pub fn send(self, r: CoreResult) {
        match self {
            ReplyTo::Sync(tx) => {
                let _ = tx.try_send(r);
            }
            ReplyTo::Async(tx) => {
                let _ = tx.send(r);
            }
        }
    }
}

/// One request in flight to the core.
#[derive(Debug)]
pub struct Envelope {
    pub request: CoreRequest,
    pub reply: ReplyTo,
}

/// The other threads' end of the core. Cheap to clone.
#[derive(Debug, Clone)]
pub struct CoreHandle {
    tx: Sender<Envelope>,
    events: broadcast::Sender<CtiEvent>,
}

/// The core's end: where requests arrive and events go out.
#[derive(Debug)]
pub struct CoreInbox {
    pub requests: Receiver<Envelope>,
    pub events: broadcast::Sender<CtiEvent>,
}

/// A connected handle and inbox. `event_backlog` is how many events a slow
/// subscriber may fall behind before it misses some (it is told, and should
/// take a fresh snapshot).
pub fn channel(request_capacity: usize, event_backlog: usize) -> (CoreHandle, CoreInbox) {
    let (tx, rx) = bounded(request_capacity);
    let (events, _) = broadcast::channel(event_backlog.max(16));
    (CoreHandle { tx, events: events.clone() }, CoreInbox { requests: rx, events })
}

impl CoreHandle {
    fn submit(&self, request: CoreRequest, reply: ReplyTo) -> Result<(), CoreError> {
        match self.tx.try_send(Envelope { request, reply }) {
            Ok(()) => Ok(()),
            // A full queue means the core is far behind: answer like a
            // timeout rather than wait.
            Err(TrySendError::Full(_)) => Err(CoreError::Timeout),
            Err(TrySendError::Disconnected(_)) => Err(CoreError::Gone),
        }
    }

    /// Ask and wait for the answer (from a plain thread).
    pub fn request(&self, request: CoreRequest, timeout: Duration) -> CoreResult {
        let (tx, rx) = bounded(1);
        self.submit(request, ReplyTo::Sync(tx))?;
        match rx.recv_timeout(timeout) {
            Ok(r) => r,
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => Err(CoreError::Timeout),
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => Err(CoreError::Gone),
        }
    }

    /// Ask and wait for the answer (from async code).
    pub async fn request_async(&self, request: CoreRequest, timeout: Duration) -> CoreResult {
        let (tx, rx) = oneshot::channel();
        self.submit(request, ReplyTo::Async(tx))?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err(CoreError::Gone),
            Err(_) => Err(CoreError::Timeout),
        }
    }

    /// Receive every CTI event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<CtiEvent> {
        self.events.subscribe()
    }
}
