//! Read side: a small pool of read-only connections.
//!
//! WAL lets readers run while the records thread writes; each query borrows a
//! connection from the pool (opening one when none is idle) and gives it back
//! afterwards. Queries block: call them from a request thread or
//! `spawn_blocking`, never from the real-time engine.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

use super::error::{OpenError, QueryError};
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

    /// Opens a database for reading only, without a records thread: for
    /// tools that read what a running ctiboxd writes (WAL allows it). The
    /// schema must be exactly the one this code knows; nothing is migrated
    /// or recovered.
    pub fn open(path: impl AsRef<Path>) -> Result<RecordsReader, OpenError> {
        let path = path.as_ref();
        if !path.exists() {
            return Err(OpenError::Io {
                path: path.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
            });
        }
        schema::check_header(path)?;
        let conn = schema::open_reader(path).map_err(|e| schema::open_failure(path, "open read-only", e))?;
        let found = schema::schema_version(&conn).map_err(|e| schema::open_failure(path, "read schema version", e))?;
        if found > schema::SCHEMA_VERSION {
            return Err(OpenError::TooNew { path: path.to_path_buf(), found, supported: schema::SCHEMA_VERSION });
        }
        if found < schema::SCHEMA_VERSION {
            return Err(OpenError::TooOld { path: path.to_path_buf(), found, supported: schema::SCHEMA_VERSION });
        }
        let reader = RecordsReader::new(path, 2);
        reader.pool.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(conn);
        Ok(reader)
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
