//! The IVR's slow work, off the core thread: SQL lookups, CRM webhooks,
//! voicemail notifications and writing recordings to WAV files.
//!
//! The core hands jobs over bounded channels and never waits: a full queue
//! fails the job at once (the flow takes its error branch). Results come
//! back on one channel the core selects on, tagged with the call and a job
//! number so a late answer for a call that moved on is dropped.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded, select};
use ctibox_driver::media::recorder::{BlockPool, RecordBlock};
use ctibox_driver::media::wav::{WavWriteFormat, WavWriter};
use rusqlite::{Connection, OpenFlags, types::ValueRef};

use super::api::CallId;
use crate::ivr::flow::{Database, HttpMethod};

/// Worker threads for lookups and webhooks (a slow CRM must not hold up
/// every caller's lookup).
const WORKERS: usize = 4;
/// Jobs waiting at most.
const QUEUE: usize = 1024;

/// Work for the workers.
#[derive(Debug)]
pub enum IoJob {
    Lookup {
        call: CallId,
        job: u64,
        database: Database,
        records_db: PathBuf,
        sql: String,
        params: Vec<(String, String)>,
    },
    Webhook {
        call: CallId,
        job: u64,
        method: HttpMethod,
        url: String,
        body: Vec<(String, String)>,
        timeout_ms: u64,
    },
    /// Who is calling: the customer record for a number, its personal
    /// manager, its last calls (for queue priority and the screen pop).
    Caller {
        call: CallId,
        number: String,
        reader: crate::records::RecordsReader,
    },
    /// A campaign's numbers and pause state, from the records.
    Campaign {
        campaign: String,
        reader: crate::records::RecordsReader,
    },
    /// Fire and forget (voicemail notifications): the result is logged.
    Notify {
        url: String,
        body: serde_json::Value,
    },
}

/// A recording to write: blocks of recording `id` go to `path`.
#[derive(Debug)]
pub enum RecJob {
    Open {
        id: u32,
        path: PathBuf,
    },
    /// The engine has sent the recording's last block: close the file.
    Finish {
        id: u32,
    },
}

/// What comes back to the core.
#[derive(Debug)]
pub enum IoDone {
    /// The customer (JSON as the API shows it; `None`: unknown number), the
    /// user name or agent written as its personal manager, its last calls.
    Caller {
        call: CallId,
        customer: Option<serde_json::Value>,
        assigned: Option<String>,
        last_calls: Vec<serde_json::Value>,
    },
    Lookup {
        call: CallId,
        job: u64,
        result: Result<Option<Vec<(String, String)>>, String>,
    },
    Webhook {
        call: CallId,
        job: u64,
        result: Result<Vec<(String, String)>, String>,
    },
    /// A campaign's numbers were read.
    Campaign(super::campaign::CampaignLoad),
    /// A recording is written (or failed: `error`).
    Recorded {
        id: u32,
        path: PathBuf,
        samples: u64,
        error: Option<String>,
    },
}

/// The core's end of the workers.
#[derive(Debug)]
pub struct IvrIo {
    jobs: Sender<IoJob>,
    rec: Sender<RecJob>,
    pub done: Receiver<IoDone>,
    done_tx: Sender<IoDone>,
    /// Jobs submitted whose answer has not been taken back yet
    /// ([`IvrIo::taken`]): lookups, webhooks, caller cards and campaign
    /// loads (notifications and recordings are not awaited).
    awaited: usize,
}

impl IvrIo {
    /// Start the workers and the recording writer (which takes the engine's
    /// record blocks).
    pub fn start(blocks: Receiver<RecordBlock>, pool: Arc<BlockPool>) -> std::io::Result<IvrIo> {
        let (jobs, job_rx) = bounded::<IoJob>(QUEUE);
        let (done_tx, done) = bounded::<IoDone>(QUEUE * 2);
        let (rec, rec_rx) = bounded::<RecJob>(QUEUE);
        for i in 0..WORKERS {
            let rx = job_rx.clone();
            let tx = done_tx.clone();
            std::thread::Builder::new().name(format!("ctibox-ivr-io{i}")).spawn(move || worker(rx, tx))?;
        }
        let tx = done_tx.clone();
        std::thread::Builder::new().name("ctibox-recorder".into()).spawn(move || recorder(rec_rx, blocks, pool, tx))?;
        Ok(IvrIo { jobs, rec, done, done_tx, awaited: 0 })
    }

    /// Queue a job; a full queue answers at once with an error.
    pub fn submit(&mut self, job: IoJob) {
        let awaited = !matches!(job, IoJob::Notify { .. });
        match self.jobs.try_send(job) {
            Ok(()) => self.awaited += usize::from(awaited),
            Err(TrySendError::Full(job) | TrySendError::Disconnected(job)) => {
                let why = "the IVR's lookup/webhook queue is full".to_string();
                let done = match job {
                    IoJob::Lookup { call, job, .. } => IoDone::Lookup { call, job, result: Err(why) },
                    IoJob::Webhook { call, job, .. } => IoDone::Webhook { call, job, result: Err(why) },
                    IoJob::Notify { url, .. } => {
                        tracing::warn!(%url, "voicemail notification dropped: {why}");
                        return;
                    }
                    IoJob::Caller { call, .. } => {
                        tracing::warn!(call = call.0, "caller lookup dropped: {why}");
                        return;
                    }
                    IoJob::Campaign { campaign, .. } => {
                        IoDone::Campaign(super::campaign::CampaignLoad { campaign, numbers: Err(why), paused: None })
                    }
                };
                if self.done_tx.try_send(done).is_ok() {
                    self.awaited += 1;
                }
            }
        }
    }

    /// The core took `done` back from [`IvrIo::done`].
    pub fn taken(&mut self, done: &IoDone) {
        if !matches!(done, IoDone::Recorded { .. }) {
            self.awaited = self.awaited.saturating_sub(1);
        }
    }

    /// Answers still to come back. While any is, a lock-step board is held
    /// (the core does not acknowledge the tick): a lookup or webhook then
    /// takes no board time, as on a real line where board time and wall
    /// time are one, so fast simulated runs stay deterministic.
    pub fn awaited(&self) -> usize {
        self.awaited
    }

    /// Tell the recording writer.
    pub fn record(&self, job: RecJob) {
        if let Err(e) = self.rec.try_send(job) {
            tracing::error!("recording writer queue: {e}");
        }
    }
}

fn worker(jobs: Receiver<IoJob>, done: Sender<IoDone>) {
    let mut conns: HashMap<PathBuf, Connection> = HashMap::new();
    let agent = ureq::AgentBuilder::new().build();
    for job in jobs {
        let out = match job {
            IoJob::Lookup { call, job, database, records_db, sql, params } => {
                let path = match database {
                    Database::Records => records_db,
                    Database::File(p) => p,
                };
                let result = lookup(&mut conns, &path, &sql, &params);
                IoDone::Lookup { call, job, result }
            }
            IoJob::Webhook { call, job, method, url, body, timeout_ms } => {
                let result = webhook(&agent, method, &url, &body, timeout_ms);
                IoDone::Webhook { call, job, result }
            }
            IoJob::Caller { call, number, reader } => caller_card(call, &number, &reader),
            IoJob::Campaign { campaign, reader } => {
                IoDone::Campaign(super::campaign::load_campaign(&campaign, &reader))
            }
            IoJob::Notify { url, body } => {
                match agent.post(&url).timeout(Duration::from_secs(5)).send_json(body) {
                    Ok(_) => tracing::debug!(%url, "voicemail notification sent"),
                    Err(e) => tracing::warn!(%url, "voicemail notification failed: {e}"),
                }
                continue;
            }
        };
        if done.send(out).is_err() {
            return;
        }
    }
}

/// How many of a caller's last calls the screen pop shows.
const POP_LAST_CALLS: u32 = 5;

/// Look a caller up in the records (customers, users, journal).
fn caller_card(call: CallId, number: &str, reader: &crate::records::RecordsReader) -> IoDone {
    let empty = || IoDone::Caller { call, customer: None, assigned: None, last_calls: Vec::new() };
    let customers = match reader.customers_by_phone(number) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(call = call.0, number, "customer lookup: {e}");
            return empty();
        }
    };
    let last_calls = reader
        .last_calls(number, POP_LAST_CALLS)
        .map(|calls| calls.iter().filter_map(|c| serde_json::to_value(c).ok()).collect())
        .unwrap_or_else(|e| {
            tracing::warn!(call = call.0, number, "last calls: {e}");
            Vec::new()
        });
    let Some(customer) = customers.into_iter().next() else {
        return IoDone::Caller { call, customer: None, assigned: None, last_calls };
    };
    let assigned = match &customer.assigned {
        Some(crate::records::AssignedAgent::Name(n)) => Some(n.clone()),
        Some(crate::records::AssignedAgent::User(id)) => reader.user(*id).ok().flatten().map(|u| u.username),
        None => None,
    };
    IoDone::Caller { call, customer: serde_json::to_value(&customer).ok(), assigned, last_calls }
}

/// Run a query with named parameters on a read-only connection; the first
/// row's columns as text.
fn lookup(
    conns: &mut HashMap<PathBuf, Connection>,
    path: &Path,
    sql: &str,
    params: &[(String, String)],
) -> Result<Option<Vec<(String, String)>>, String> {
    if !conns.contains_key(path) {
        let c = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let _ = c.busy_timeout(Duration::from_secs(2));
        conns.insert(path.to_owned(), c);
    }
    let conn = conns.get(path).ok_or("no connection")?;
    let mut st = conn.prepare_cached(sql).map_err(|e| format!("{}: {e}", path.display()))?;
    for (name, value) in params {
        let key = format!(":{name}");
        if let Some(i) = st.parameter_index(&key).map_err(|e| e.to_string())? {
            st.raw_bind_parameter(i, value).map_err(|e| format!("parameter {key}: {e}"))?;
        }
    }
    let names: Vec<String> = st.column_names().iter().map(|s| s.to_string()).collect();
    let mut rows = st.raw_query();
    let Some(row) = rows.next().map_err(|e| e.to_string())? else { return Ok(None) };
    let mut out = Vec::with_capacity(names.len());
    for (i, n) in names.iter().enumerate() {
        let v = match row.get_ref(i).map_err(|e| e.to_string())? {
            ValueRef::Null => String::new(),
            ValueRef::Integer(x) => x.to_string(),
            ValueRef::Real(x) => x.to_string(),
            ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
            ValueRef::Blob(b) => b.iter().map(|x| format!("{x:02x}")).collect(),
        };
        out.push((n.clone(), v));
    }
    Ok(Some(out))
}

/// One HTTP request; the reply must be a JSON object. Its scalar fields
/// (nested objects flattened as `a.b`) come back as text.
fn webhook(
    agent: &ureq::Agent,
    method: HttpMethod,
    url: &str,
    body: &[(String, String)],
    timeout_ms: u64,
) -> Result<Vec<(String, String)>, String> {
    let timeout = Duration::from_millis(timeout_ms.max(1));
    let resp = match method {
        HttpMethod::Get => {
            let mut r = agent.get(url).timeout(timeout);
            for (k, v) in body {
                r = r.query(k, v);
            }
            r.call()
        }
        HttpMethod::Post => {
            let obj: serde_json::Map<String, serde_json::Value> =
                body.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect();
            agent.post(url).timeout(timeout).send_json(serde_json::Value::Object(obj))
        }
    };
    let resp = match resp {
        Ok(r) => r,
        Err(ureq::Error::Status(code, _)) => return Err(format!("{url}: HTTP status {code}")),
        Err(e) => return Err(format!("{url}: {e}")),
    };
    let v: serde_json::Value = resp.into_json().map_err(|e| format!("{url}: the reply is not JSON: {e}"))?;
    let serde_json::Value::Object(map) = v else {
        return Err(format!("{url}: the reply is not a JSON object"));
    };
    let mut out = Vec::new();
    flatten("", &map, &mut out);
    Ok(out)
}

fn flatten(prefix: &str, map: &serde_json::Map<String, serde_json::Value>, out: &mut Vec<(String, String)>) {
    for (k, v) in map {
        let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        match v {
            serde_json::Value::Null => out.push((key, String::new())),
            serde_json::Value::Bool(b) => out.push((key, b.to_string())),
            serde_json::Value::Number(n) => out.push((key, n.to_string())),
            serde_json::Value::String(s) => out.push((key, s.clone())),
            serde_json::Value::Object(m) => flatten(&key, m, out),
            serde_json::Value::Array(_) => {}
        }
    }
}

/// An open recording.
struct OpenRec {
    path: PathBuf,
    writer: Option<WavWriter<std::io::BufWriter<std::fs::File>>>,
    samples: u64,
    error: Option<String>,
}

/// Writes record blocks to WAV files (8 kHz 16-bit mono) and gives the
/// buffers back to the engine's pool.
fn recorder(jobs: Receiver<RecJob>, blocks: Receiver<RecordBlock>, pool: Arc<BlockPool>, done: Sender<IoDone>) {
    let mut open: HashMap<u32, OpenRec> = HashMap::new();
    let write = |open: &mut HashMap<u32, OpenRec>, b: RecordBlock| {
        if let Some(r) = open.get_mut(&b.recording)
            && let Some(w) = r.writer.as_mut()
        {
            if let Err(e) = w.write_samples(b.audio()) {
                r.error = Some(format!("cannot write {}: {e}", r.path.display()));
                r.writer = None;
            } else {
                r.samples += b.audio().len() as u64;
            }
        }
        pool.give(b.samples);
    };
    loop {
        select! {
            recv(blocks) -> b => match b {
                Ok(b) => write(&mut open, b),
                Err(_) => return,
            },
            recv(jobs) -> j => match j {
                Ok(RecJob::Open { id, path }) => {
                    let opened = path
                        .parent()
                        .map_or(Ok(()), std::fs::create_dir_all)
                        .and_then(|()| std::fs::File::create(&path))
                        .map_err(|e| format!("cannot create {}: {e}", path.display()))
                        .and_then(|f| {
                            WavWriter::new(std::io::BufWriter::new(f), WavWriteFormat::Pcm16 { rate_hz: 8000 })
                                .map_err(|e| format!("cannot write {}: {e}", path.display()))
                        });
                    let (writer, error) = match opened {
                        Ok(w) => (Some(w), None),
                        Err(e) => (None, Some(e)),
                    };
                    open.insert(id, OpenRec { path, writer, samples: 0, error });
                }
                Ok(RecJob::Finish { id }) => {
                    // The engine sent the last block before it said the
                    // recording ended: take everything already queued.
                    while let Ok(b) = blocks.try_recv() {
                        write(&mut open, b);
                    }
                    if let Some(mut r) = open.remove(&id) {
                        if let Some(w) = r.writer.take()
                            && let Err(e) = w.finish()
                        {
                            r.error = Some(format!("cannot finish {}: {e}", r.path.display()));
                        }
                        let _ = done.send(IoDone::Recorded { id, path: r.path, samples: r.samples, error: r.error });
                    }
                }
                Err(_) => return,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_binds_named_parameters_and_reads_the_first_row() {
        let d = tempfile::tempdir().unwrap();
        let db = d.path().join("shop.db");
        let c = Connection::open(&db).unwrap();
        c.execute_batch(
            "CREATE TABLE orders(number TEXT, status TEXT, qty INTEGER, price REAL, note TEXT);
             INSERT INTO orders VALUES('123456','shipped',2,9.5,NULL);",
        )
        .unwrap();
        drop(c);
        let mut conns = HashMap::new();
        let sql = "SELECT status, qty, price, note FROM orders WHERE number = :order";
        let row = lookup(&mut conns, &db, sql, &[("order".into(), "123456".into())]).unwrap().unwrap();
        assert_eq!(
            row,
            vec![
                ("status".into(), "shipped".into()),
                ("qty".into(), "2".into()),
                ("price".into(), "9.5".into()),
                ("note".into(), String::new())
            ]
        );
        // An injection attempt is only a value.
        let none = lookup(&mut conns, &db, sql, &[("order".into(), "1' OR '1'='1".into())]).unwrap();
        assert_eq!(none, None);
        // Read-only: a write fails.
        let e = lookup(&mut conns, &db, "DELETE FROM orders", &[]).unwrap_err();
        assert!(e.contains("readonly") || e.contains("read-only") || e.contains("read only"), "{e}");
        let e = lookup(&mut conns, &d.path().join("missing.db"), sql, &[]).unwrap_err();
        assert!(e.contains("missing.db"), "{e}");
    }

    #[test]
    fn json_replies_flatten() {
        let v: serde_json::Value =
            serde_json::json!({"name": "Li", "vip": 2, "ok": true, "crm": {"id": "c7"}, "tags": [1]});
        let serde_json::Value::Object(m) = v else { unreachable!() };
        let mut out = Vec::new();
        flatten("", &m, &mut out);
        out.sort();
        assert_eq!(
            out,
            vec![
                ("crm.id".into(), "c7".into()),
                ("name".into(), "Li".into()),
                ("ok".into(), "true".into()),
                ("vip".into(), "2".into())
            ]
        );
    }

    /// A one-request HTTP server: answers `status` and `body` after
    /// `delay`, and hands back the request it read.
    fn serve_once(status: u16, body: &'static str, delay: Duration) -> (String, std::thread::JoinHandle<String>) {
        use std::io::{Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/crm", l.local_addr().unwrap());
        let h = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            s.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
            let mut req = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = s.read(&mut buf) {
                if n == 0 {
                    break;
                }
                req.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&req);
                if let Some(end) = text.find("\r\n\r\n") {
                    let len = text
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string())
                        })
                        .and_then(|v| v.parse::<usize>().ok())
                        .unwrap_or(0);
                    if req.len() >= end + 4 + len {
                        break;
                    }
                }
            }
            std::thread::sleep(delay);
            let _ = write!(
                s,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            String::from_utf8_lossy(&req).into_owned()
        });
        (url, h)
    }

    #[test]
    fn webhooks_send_fields_and_read_a_json_object() {
        let agent = ureq::AgentBuilder::new().build();
        let fields =
            vec![("caller".to_string(), "13800138000".to_string()), ("order".to_string(), "10001".to_string())];
        // POST: the fields as a JSON object; the reply's fields back.
        let (url, h) = serve_once(200, r#"{"name":"Li Lei","vip":2}"#, Duration::ZERO);
        let got = webhook(&agent, HttpMethod::Post, &url, &fields, 2000).unwrap();
        let req = h.join().unwrap();
        assert!(req.starts_with("POST /crm "), "{req}");
        assert!(req.contains(r#""caller":"13800138000""#) && req.contains(r#""order":"10001""#), "{req}");
        assert_eq!(got, vec![("name".to_string(), "Li Lei".to_string()), ("vip".to_string(), "2".to_string())]);
        // GET: the fields as query parameters.
        let (url, h) = serve_once(200, r#"{"ok":true}"#, Duration::ZERO);
        webhook(&agent, HttpMethod::Get, &url, &fields, 2000).unwrap();
        let req = h.join().unwrap();
        assert!(req.starts_with("GET /crm?caller=13800138000&order=10001 "), "{req}");
        // Failures are errors naming the URL: a status, a reply that is
        // not an object, a timeout.
        let (url, h) = serve_once(503, "{}", Duration::ZERO);
        let e = webhook(&agent, HttpMethod::Get, &url, &[], 2000).unwrap_err();
        assert!(e.contains("HTTP status 503") && e.contains(&url), "{e}");
        h.join().unwrap();
        let (url, h) = serve_once(200, "[1,2]", Duration::ZERO);
        let e = webhook(&agent, HttpMethod::Get, &url, &[], 2000).unwrap_err();
        assert!(e.contains("not a JSON object"), "{e}");
        h.join().unwrap();
        let (url, h) = serve_once(200, "{}", Duration::from_secs(3));
        let started = std::time::Instant::now();
        let e = webhook(&agent, HttpMethod::Get, &url, &[], 150).unwrap_err();
        assert!(started.elapsed() < Duration::from_millis(2500), "the timeout holds: {:?}", started.elapsed());
        assert!(e.contains(&url), "{e}");
        let _ = h.join();
    }
}
