//! The simulator's control socket: live requests to a running world as
//! JSON lines over a Unix socket, one request per line, one reply per line.
//!
//! Requests (`op` names the request; other fields as it needs them):
//!
//! ```text
//! {"op":"call","line":1,"from":"13800138000","wav":"/tmp/hello.wav"}
//! {"op":"call","line":1,"from":"100","tone":[1000],"hangup_after_ms":30000}
//! {"op":"dial","phone":5,"digits":"1234"}      (or "line":1: the caller keys DTMF)
//! {"op":"hangup","line":1}                     (or "phone":5)
//! {"op":"offhook","phone":5}
//! {"op":"flash","phone":5}
//! {"op":"answer","phone":5}
//! {"op":"status"}
//! ```
//!
//! Call audio is one of `wav` (a file the simulator reads), `tone` (one or
//! two frequencies, continuous), `pattern` (a seed) or nothing (silence).
//!
//! Replies: `{"ok":true,"at_ms":1234}`, `{"ok":true,"status":{…}}` or
//! `{"ok":false,"error":"…"}`. A malformed request gets an error reply that
//! names the field; the connection stays open.
//!
//! [`ControlServer`] runs on its own threads (one accepting, one per
//! client) and reaches the world only through its [`ControlHandle`], so a
//! slow client never touches the tick. WAV files are read here, never in
//! the tick.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration as WallDuration;

use serde::{Deserialize, Serialize};

use ctibox_driver::dsp::tonegen::{ToneFreq, ToneSpec};
use ctibox_driver::hal::Duration;

use crate::world::{AudioSource, CallRequest, ControlHandle, PortRef, Reply, Request, WavAudio, WorldStatus};

/// How long a client waits for the world to carry out a request.
pub const REPLY_TIMEOUT: WallDuration = WallDuration::from_secs(5);
/// Longest request line accepted.
pub const MAX_LINE: usize = 64 * 1024;

/// A request as it travels on the socket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireRequest {
    pub op: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digits: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wav: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tone: Option<Vec<f32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hangup_after_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abandon_after_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl WireRequest {
    pub fn op(op: &str) -> Self {
        WireRequest { op: op.to_string(), ..Default::default() }
    }
}

/// A reply as it travels on the socket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireReply {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Box<WorldStatus>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl WireReply {
    fn error(msg: impl Into<String>) -> Self {
        WireReply { ok: false, at_ms: None, status: None, error: Some(msg.into()) }
    }
}

fn need<T: Clone>(v: &Option<T>, op: &str, field: &str) -> Result<T, String> {
    v.clone().ok_or_else(|| format!("{op}: field `{field}` is required"))
}

fn port_of(r: &WireRequest) -> Result<PortRef, String> {
    match (r.line, r.phone) {
        (Some(l), None) => Ok(PortRef::Line(l)),
        (None, Some(p)) => Ok(PortRef::Phone(p)),
        (Some(_), Some(_)) => Err(format!("{}: give `line` or `phone`, not both", r.op)),
        (None, None) => Err(format!("{}: field `line` or `phone` is required", r.op)),
    }
}

/// Turn a wire request into a world request (reads a WAV file for `call`).
pub fn to_request(r: &WireRequest) -> Result<Request, String> {
    let op = r.op.as_str();
    let no = |field: &str, set: bool| -> Result<(), String> {
        if set { Err(format!("{op}: field `{field}` does not belong to this request")) } else { Ok(()) }
    };
    if op != "call" {
        no("from", r.from.is_some())?;
        no("wav", r.wav.is_some())?;
        no("tone", r.tone.is_some())?;
        no("pattern", r.pattern.is_some())?;
        no("hangup_after_ms", r.hangup_after_ms.is_some())?;
        no("abandon_after_ms", r.abandon_after_ms.is_some())?;
        no("name", r.name.is_some())?;
    }
    if op != "dial" {
        no("digits", r.digits.is_some())?;
    }
    match op {
        "call" => {
            no("phone", r.phone.is_some())?;
            let line = need(&r.line, op, "line")?;
            let from = need(&r.from, op, "from")?;
            let sources = [r.wav.is_some(), r.tone.is_some(), r.pattern.is_some()].iter().filter(|&&b| b).count();
            if sources > 1 {
                return Err("call: give at most one of `wav`, `tone`, `pattern`".into());
            }
            let audio = if let Some(p) = &r.wav {
                AudioSource::Wav(WavAudio::load(p).map_err(|e| format!("call: field `wav`: {e}"))?)
            } else if let Some(t) = &r.tone {
                if t.is_empty() || t.len() > 2 {
                    return Err("call: field `tone`: one or two frequencies".into());
                }
                let f: Vec<ToneFreq> = t.iter().map(|&hz| ToneFreq { hz, dbm0: -12.0 }).collect();
                AudioSource::Tone(ToneSpec::continuous(&f).map_err(|e| format!("call: field `tone`: {e}"))?)
            } else if let Some(seed) = r.pattern {
                AudioSource::Pattern { seed }
            } else {
                AudioSource::Silence
            };
            Ok(Request::Call(CallRequest {
                line,
                from,
                audio,
                hangup_after: r.hangup_after_ms.map(Duration::from_ms),
                abandon_after: r.abandon_after_ms.map(Duration::from_ms),
                name: r.name.clone(),
            }))
        }
        "dial" => Ok(Request::Dial { port: port_of(r)?, digits: need(&r.digits, op, "digits")? }),
        "hangup" => Ok(Request::Hangup { port: port_of(r)? }),
        "offhook" | "flash" | "answer" => {
            no("line", r.line.is_some())?;
            let phone = need(&r.phone, op, "phone")?;
            Ok(match op {
                "offhook" => Request::OffHook { phone },
                "flash" => Request::Flash { phone },
                _ => Request::Answer { phone },
            })
        }
        "status" => {
            no("line", r.line.is_some())?;
            no("phone", r.phone.is_some())?;
            Ok(Request::Status)
        }
        other => {
            Err(format!("field `op`: unknown request \"{other}\" (call, dial, hangup, offhook, flash, answer, status)"))
        }
    }
}

/// Handle one request line: parse, carry out, reply.
pub fn handle_line(handle: &ControlHandle, line: &str) -> WireReply {
    let req: WireRequest = match serde_json::from_str(line) {
        Ok(r) => r,
        Err(e) => return WireReply::error(format!("bad request: {e}")),
    };
    let request = match to_request(&req) {
        Ok(r) => r,
        Err(e) => return WireReply::error(e),
    };
    match handle.request(request, REPLY_TIMEOUT) {
        Ok(Reply::Ok { at_ms }) => WireReply { ok: true, at_ms: Some(at_ms), status: None, error: None },
        Ok(Reply::Status { status }) => {
            WireReply { ok: true, at_ms: Some(status.now_ms), status: Some(status), error: None }
        }
        Err(e) => WireReply::error(e.to_string()),
    }
}

/// Why the control socket could not be served or reached.
#[derive(Debug, thiserror::Error)]
pub enum ControlSocketError {
    #[error("cannot listen on {path}: {source}")]
    Bind {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("another simulator holds the control socket {0}")]
    InUse(PathBuf),
    #[error("cannot reach the simulator at {path}: {source}")]
    Connect {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("control socket I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("the simulator's reply does not parse: {0}")]
    BadReply(String),
    #[error("the simulator closed the connection without a reply")]
    NoReply,
}

/// A running control socket.
#[derive(Debug)]
pub struct ControlServer {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ControlServer {
    /// Listen on `path` and serve requests to `handle` until [`Self::stop`]
    /// (or drop). A stale socket file is replaced; a live one is an error.
    pub fn start(path: &Path, handle: ControlHandle) -> Result<ControlServer, ControlSocketError> {
        if path.exists() {
            if UnixStream::connect(path).is_ok() {
                return Err(ControlSocketError::InUse(path.to_path_buf()));
            }
            let _ = std::fs::remove_file(path);
        }
        let listener =
            UnixListener::bind(path).map_err(|source| ControlSocketError::Bind { path: path.to_path_buf(), source })?;
        listener
            .set_nonblocking(true)
            .map_err(|source| ControlSocketError::Bind { path: path.to_path_buf(), source })?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let thread = std::thread::Builder::new()
            .name("sim-control".into())
            .spawn(move || accept_loop(listener, handle, stop2))
            .map_err(ControlSocketError::Io)?;
        Ok(ControlServer { path: path.to_path_buf(), stop, thread: Some(thread) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stop accepting, remove the socket file.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn accept_loop(listener: UnixListener, handle: ControlHandle, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, _)) => {
                let h = handle.clone();
                let stop = stop.clone();
                let spawned = std::thread::Builder::new().name("sim-control-client".into()).spawn(move || {
                    if let Err(e) = serve_client(stream, &h, &stop) {
                        tracing::debug!("control client: {e}");
                    }
                });
                if let Err(e) = spawned {
                    tracing::warn!("control: cannot start a client thread: {e}");
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(WallDuration::from_millis(50));
            }
            Err(e) => {
                tracing::warn!("control: accept failed: {e}");
                std::thread::sleep(WallDuration::from_millis(200));
            }
        }
    }
}

fn serve_client(stream: UnixStream, handle: &ControlHandle, stop: &AtomicBool) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(WallDuration::from_millis(200)))?;
    let mut out = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut buf = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) => return Ok(()),
            Ok(_) => {
                if buf.last() != Some(&b'\n') && buf.len() < MAX_LINE {
                    continue;
                }
                let reply = if buf.len() > MAX_LINE {
                    WireReply::error(format!("request longer than {MAX_LINE} bytes"))
                } else {
                    match std::str::from_utf8(&buf) {
                        Ok(line) if line.trim().is_empty() => {
                            buf.clear();
                            continue;
                        }
                        Ok(line) => handle_line(handle, line.trim()),
                        Err(_) => WireReply::error("bad request: not UTF-8"),
                    }
                };
                buf.clear();
                let mut text = serde_json::to_string(&reply).unwrap_or_else(|_| "{\"ok\":false}".into());
                text.push('\n');
                out.write_all(text.as_bytes())?;
            }
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// One connection to a simulator's control socket, for many requests one
/// after another (placing 240 calls costs one connection, not 240
/// processes).
#[derive(Debug)]
pub struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    line: String,
}

impl Client {
    /// Connect to the control socket at `path`.
    pub fn connect(path: &Path) -> Result<Client, ControlSocketError> {
        let stream = UnixStream::connect(path)
            .map_err(|source| ControlSocketError::Connect { path: path.to_path_buf(), source })?;
        stream.set_read_timeout(Some(REPLY_TIMEOUT + WallDuration::from_secs(2)))?;
        let writer = stream.try_clone()?;
        Ok(Client { reader: BufReader::new(stream), writer, line: String::new() })
    }

    /// Send `req` and wait for its reply.
    pub fn request(&mut self, req: &WireRequest) -> Result<WireReply, ControlSocketError> {
        let mut text = serde_json::to_string(req).map_err(|e| ControlSocketError::BadReply(e.to_string()))?;
        text.push('\n');
        self.writer.write_all(text.as_bytes())?;
        self.line.clear();
        let n = self.reader.read_line(&mut self.line)?;
        if n == 0 {
            return Err(ControlSocketError::NoReply);
        }
        serde_json::from_str(&self.line).map_err(|e| ControlSocketError::BadReply(e.to_string()))
    }
}

/// Send one request to the simulator at `path` and wait for its reply.
pub fn send(path: &Path, req: &WireRequest) -> Result<WireReply, ControlSocketError> {
    Client::connect(path)?.request(req)
}

/// The `i`-th number after `first` (`first` itself for 0), as many digits
/// long as `first` (leading zeros kept): the callers of a batch of calls.
pub fn nth_number(first: &str, i: u64) -> Result<String, String> {
    if first.is_empty() || first.len() > 19 || !first.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{first}` is not a number of 1 to 19 digits, so it cannot be counted up"));
    }
    let n = first.parse::<u64>().map_err(|e| format!("`{first}`: {e}"))?;
    let width = first.len();
    let next = n.checked_add(i).map(|v| format!("{v:0width$}")).filter(|s| s.len() == width);
    next.ok_or_else(|| format!("`{first}` + {i} does not fit in {width} digits"))
}

/// Status as a table for people.
pub fn render_status(s: &WorldStatus) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let _ = writeln!(o, "board time {}.{:03}s, {} {}", s.now_ms / 1000, s.now_ms % 1000, s.country, s.law);
    if let Some(r) = &s.serving {
        let _ = writeln!(
            o,
            "served {} ticks, {} slips, {} timer overruns, {} driver attachment(s), {} refused",
            r.ticks, r.slips, r.overruns, r.connections, r.refused
        );
    }
    let _ = writeln!(
        o,
        "{:<6} {:<12} {:<11} {:<5} {:<6} {:<5} {:<8} {:<9} PEER",
        "LINE", "NUMBER", "STATE", "HOOK", "RING", "RINGS", "LOOP", "POLARITY"
    );
    for l in &s.lines {
        let _ = writeln!(
            o,
            "{:<6} {:<12} {:<11} {:<5} {:<6} {:<5} {:<8} {:<9} {}{}",
            l.line,
            l.number,
            l.state,
            if l.port_off_hook { "off" } else { "on" },
            if l.ringing { "on" } else { "-" },
            l.rings,
            if l.loop_current { "yes" } else { "dropped" },
            format!("{:?}", l.polarity).to_lowercase(),
            l.peer.as_deref().unwrap_or("-"),
            if l.digits.is_empty() { String::new() } else { format!(" dialled {}", l.digits) },
        );
    }
    let _ = writeln!(
        o,
        "{:<6} {:<12} {:<5} {:<6} {:<5} {:<8} {:<14} CALLER ID",
        "PHONE", "NUMBER", "HOOK", "RING", "RINGS", "LOOP", "HEARS"
    );
    for p in &s.phones {
        let _ = writeln!(
            o,
            "{:<6} {:<12} {:<5} {:<6} {:<5} {:<8} {:<14} {}",
            p.phone,
            p.number,
            if p.off_hook { "off" } else { "on" },
            if p.ringing { "on" } else { "-" },
            p.rings,
            if p.loop_current { "yes" } else { "dropped" },
            if p.dialling { "(dialling)".to_string() } else { p.hears.clone().unwrap_or_else(|| "-".into()) },
            p.last_caller_id.as_deref().unwrap_or("-"),
        );
    }
    if !s.callers.is_empty() || !s.parties.is_empty() {
        let _ = writeln!(o, "{:<16} {:<14} {:<8} {:<5} {:<6} ENDED", "FAR END", "NUMBER", "STATE", "LINE", "CALLS");
        for p in s.callers.iter().chain(&s.parties) {
            let _ = writeln!(
                o,
                "{:<16} {:<14} {:<8} {:<5} {:<6} {}",
                p.name,
                p.number,
                format!("{:?}", p.state).to_lowercase(),
                p.line.map(|l| l.to_string()).unwrap_or_else(|| "-".into()),
                p.calls,
                p.end_reason.map(|r| r.name()).unwrap_or("-"),
            );
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_count_up_keeping_their_width() {
        assert_eq!(nth_number("13800000001", 0).unwrap(), "13800000001");
        assert_eq!(nth_number("13800000001", 239).unwrap(), "13800000240");
        assert_eq!(nth_number("0099", 1).unwrap(), "0100");
        assert!(nth_number("999", 1).unwrap_err().contains("does not fit in 3 digits"));
        assert!(nth_number("12a", 1).unwrap_err().contains("`12a` is not a number"));
        assert!(nth_number("", 1).is_err());
    }
}
