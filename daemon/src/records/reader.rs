//! Read side: a small pool of read-only connections.
//!
//! WAL lets readers run while the records thread writes; each query borrows a
//! connection from the pool (opening one when none is idle) and gives it back
//! afterwards. Queries block: call them from a request thread or
//! `spawn_blocking`, never from the real-time engine.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

use super::error::QueryError;
use super::schema;

#[derive(Debug)]
struct Pool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    max_idle: usize,
}

/// Runs queries on the records database. Cheap to clone, `Send + Sync`.
#[derive(Debug, Clone)]
pub struct RecordsReader {
    pool: Arc<Pool>,
}

impl RecordsReader {
    pub(crate) fn new(path: &Path, max_idle: usize) -> RecordsReader {
        RecordsReader { pool: Arc::new(Pool { path: path.to_path_buf(), idle: Mutex::new(Vec::new()), max_idle }) }
    }

    /// Runs `query` on a pooled read-only connection.
    pub(crate) fn with_conn<T>(
        &self,
        query: impl FnOnce(&Connection) -> Result<T, QueryError>,
    ) -> Result<T, QueryError> {
        let pooled = self.pool.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => schema::open_reader(&self.pool.path).map_err(QueryError::sqlite("open a read connection"))?,
        };
        let result = query(&conn);
        let mut idle = self.pool.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if idle.len() < self.pool.max_idle {
            idle.push(conn);
        }
        result
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.pool.path
    }
}
