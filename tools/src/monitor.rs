//! `ctibox monitor`: the daemon's CTI event stream (`GET /api/v1/events`, a
//! WebSocket; docs/api.md, "Event stream"), live, until Ctrl-C.
//!
//! The first message is a snapshot of every channel and call; then one
//! message per event. Human output is a summary of the snapshot, then one
//! line per event; `--json` prints every message as the daemon sent it, one
//! JSON document per line. When the daemon says the client lagged, or the
//! connection drops, the monitor reconnects and starts again from a fresh
//! snapshot (a notice goes to stderr); it gives up only when the daemon
//! refuses it (401, 403) and it cannot log in again, or when the very first
//! connection finds no daemon.
//!
//! The token goes in the `Authorization` header of the upgrade request.
//!
//! Not implemented: `wss://` (TLS) URLs.

use std::io::{ErrorKind, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use serde_json::Value;
use tungstenite::client::IntoClientRequest;
use tungstenite::handshake::HandshakeError;
use tungstenite::http::HeaderValue;
use tungstenite::{Message, WebSocket};

use ctibox_daemon::core::{CallView, CtiEvent, CtiEventKind, Snapshot};

use crate::api::{ApiArgs, ApiError, Client, Refusal};
use crate::calls::{call_status, channel_status, leg_status};
use crate::wall_time::format_board_ms;

/// How long to wait for the TCP connection and the upgrade.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a blocked read wakes up to check for Ctrl-C.
const POLL: Duration = Duration::from_millis(200);
/// Longest wait between reconnection attempts.
const BACKOFF_MAX: Duration = Duration::from_secs(10);

#[derive(Debug, Args)]
pub struct MonitorArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// Print every message as the daemon sends it, one JSON document per
    /// line.
    #[arg(long)]
    pub json: bool,
}

/// Why a stream ended.
#[derive(Debug)]
enum End {
    /// Ctrl-C.
    Stopped,
    /// The daemon says we fell behind.
    Lagged(u64),
    /// The daemon closed the stream.
    Closed(String),
    /// The connection failed.
    Lost(String),
}

/// Why a connection could not be opened.
#[derive(Debug)]
enum OpenError {
    /// The daemon answered the upgrade with an error status.
    Refused(ApiError),
    /// Nothing answers.
    Unreachable(ApiError),
    /// Anything else (timeouts, a broken handshake).
    Other(String),
}

type Socket = WebSocket<TcpStream>;

pub fn run(args: MonitorArgs) -> Result<i32> {
    let stop = stop_flag()?;
    let mut client = Client::connect(&args.api)?;
    let url = ws_url(client.base())?;
    let mut connected_once = false;
    let mut relogged = false;
    let mut backoff = Duration::from_secs(1);
    loop {
        if stop.load(Ordering::Acquire) {
            return Ok(0);
        }
        match open(&url, client.token()) {
            Ok(socket) => {
                connected_once = true;
                relogged = false;
                backoff = Duration::from_secs(1);
                match stream(socket, args.json, &stop) {
                    End::Stopped => return Ok(0),
                    End::Lagged(missed) => {
                        eprintln!(
                            "ctibox monitor: {missed} events missed (too slow); reconnecting for a fresh snapshot"
                        );
                        continue;
                    }
                    End::Closed(why) => eprintln!("ctibox monitor: the daemon closed the stream ({why}); reconnecting"),
                    End::Lost(why) => eprintln!("ctibox monitor: connection lost ({why}); reconnecting"),
                }
            }
            Err(OpenError::Refused(e)) if e.status() == Some(401) && !relogged => {
                relogged = true;
                if !client.relogin()? {
                    return Err(e.into());
                }
                continue;
            }
            Err(OpenError::Refused(e)) => return Err(e.into()),
            Err(OpenError::Unreachable(e)) if !connected_once => return Err(e.into()),
            Err(OpenError::Unreachable(e)) => {
                eprintln!("ctibox monitor: {e}; retrying in {}s", backoff.as_secs());
            }
            Err(OpenError::Other(why)) if !connected_once => bail!("GET /events: {why}"),
            Err(OpenError::Other(why)) => {
                eprintln!("ctibox monitor: GET /events: {why}; retrying in {}s", backoff.as_secs())
            }
        }
        if !sleep_unless_stopped(backoff, &stop) {
            return Ok(0);
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// The first Ctrl-C (or SIGTERM) asks the monitor to stop; a second one
/// ends it at once.
fn stop_flag() -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(sig, 130, stop.clone())
            .context("installing the signal handler")?;
        signal_hook::flag::register(sig, stop.clone()).context("installing the signal handler")?;
    }
    Ok(stop)
}

fn sleep_unless_stopped(d: Duration, stop: &AtomicBool) -> bool {
    let mut left = d;
    while !left.is_zero() {
        if stop.load(Ordering::Acquire) {
            return false;
        }
        let step = left.min(POLL);
        std::thread::sleep(step);
        left -= step;
    }
    !stop.load(Ordering::Acquire)
}

/// `http://host:port` → `ws://host:port/api/v1/events`.
fn ws_url(base: &str) -> Result<String> {
    match base.split_once("://") {
        Some(("http", rest)) => Ok(format!("ws://{rest}/api/v1/events")),
        Some(("https", _)) => bail!("ctibox monitor cannot use TLS (https) yet: reach the daemon over http"),
        _ => bail!("{base:?} is not an http:// URL"),
    }
}

fn open(url: &str, token: &str) -> Result<Socket, OpenError> {
    let mut request = url.into_client_request().map_err(|e| OpenError::Other(format!("bad URL {url}: {e}")))?;
    let bearer = HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| OpenError::Other("the token holds characters a header cannot".into()))?;
    request.headers_mut().insert("Authorization", bearer);
    let host = request.uri().host().unwrap_or("").trim_matches(['[', ']']).to_string();
    let port = request.uri().port_u16().unwrap_or(80);
    let unreachable =
        |detail: String| OpenError::Unreachable(ApiError::Unreachable { url: format!("http://{host}:{port}"), detail });
    let addrs: Vec<_> = (host.as_str(), port).to_socket_addrs().map_err(|e| unreachable(e.to_string()))?.collect();
    let mut last = String::from("no address");
    let mut tcp = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(s) => {
                tcp = Some(s);
                break;
            }
            Err(e) => last = e.to_string(),
        }
    }
    let tcp = tcp.ok_or_else(|| unreachable(last))?;
    let _ = tcp.set_nodelay(true);
    tcp.set_read_timeout(Some(CONNECT_TIMEOUT)).map_err(|e| OpenError::Other(e.to_string()))?;
    let (socket, _) = tungstenite::client(request, tcp).map_err(|e| match e {
        HandshakeError::Failure(tungstenite::Error::Http(response)) => {
            let status = response.status();
            let text = response.body().as_deref().map(String::from_utf8_lossy).unwrap_or_default();
            let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            OpenError::Refused(ApiError::Refused(Box::new(Refusal {
                method: "GET".into(),
                path: "/events".into(),
                status: status.as_u16(),
                reason: status.canonical_reason().unwrap_or("").into(),
                message: body["error"].as_str().map_or_else(|| text.trim().to_string(), str::to_string),
                field: body["field"].as_str().map(str::to_string),
                errors: Vec::new(),
            })))
        }
        HandshakeError::Failure(e) => OpenError::Other(e.to_string()),
        HandshakeError::Interrupted(_) => OpenError::Other("the daemon did not finish the upgrade in time".into()),
    })?;
    socket.get_ref().set_read_timeout(Some(POLL)).map_err(|e| OpenError::Other(e.to_string()))?;
    Ok(socket)
}

/// Prints a stream's messages until it ends.
fn stream(mut socket: Socket, json: bool, stop: &AtomicBool) -> End {
    let end = loop {
        if stop.load(Ordering::Acquire) {
            break End::Stopped;
        }
        let text = match socket.read() {
            Ok(Message::Text(text)) => text,
            Ok(Message::Close(frame)) => {
                break End::Closed(frame.map_or_else(|| "no reason given".into(), |f| f.reason.to_string()));
            }
            Ok(_) => continue,
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) =>
            {
                continue;
            }
            Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                break End::Closed("connection closed".into());
            }
            Err(e) => break End::Lost(e.to_string()),
        };
        let (out, end) = show(text.as_str(), json);
        if !out.is_empty() {
            let mut stdout = std::io::stdout().lock();
            if stdout.write_all(out.as_bytes()).and_then(|()| stdout.flush()).is_err() {
                // Nobody reads our output any more (`ctibox monitor | head`).
                break End::Stopped;
            }
        }
        if let Some(end) = end {
            break end;
        }
    };
    let _ = socket.close(None);
    let _ = socket.flush();
    end
}

/// What one message prints on stdout (lines ending in `\n`), and whether
/// the stream should be left. Notices go to stderr.
fn show(text: &str, json: bool) -> (String, Option<End>) {
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(_) => {
            eprintln!("ctibox monitor: not JSON: {text}");
            return (String::new(), None);
        }
    };
    let raw = format!("{text}\n");
    let out = if json { raw.clone() } else { String::new() };
    match value["type"].as_str() {
        Some("lagged") => (out, Some(End::Lagged(value["missed"].as_u64().unwrap_or(0)))),
        Some("error") => {
            eprintln!("ctibox monitor: the daemon says: {}", value["error"].as_str().unwrap_or(text));
            (out, None)
        }
        _ if json => (out, None),
        Some("snapshot") => match serde_json::from_value::<Snapshot>(value) {
            Ok(s) => (snapshot_text(&s), None),
            Err(_) => (raw, None),
        },
        _ => match serde_json::from_value::<CtiEvent>(value) {
            Ok(e) => (format!("{}\n", event_line(&e)), None),
            // A kind of event newer than this tool: show it raw.
            Err(_) => (raw, None),
        },
    }
}

fn snapshot_text(s: &Snapshot) -> String {
    let busy = s.channels.iter().filter(|c| c.call.is_some()).count();
    let mut out = format!(
        "snapshot at {} (event {}): {} channels, {busy} in calls; {} active call{}\n",
        format_board_ms(s.board_ms),
        s.seq,
        s.channels.len(),
        s.calls.len(),
        if s.calls.len() == 1 { "" } else { "s" }
    );
    for c in &s.calls {
        out.push_str(&format!("  {}\n", call_text(c)));
    }
    out
}

fn call_text(c: &CallView) -> String {
    let legs: Vec<String> = c
        .legs
        .iter()
        .map(|l| format!("{} {} {} ch{} {}", l.leg, l.role, l.party, l.channel, leg_status(l.status)))
        .collect();
    format!(
        "call {} {} {}: {} -> {} [legs: {}]",
        c.call,
        c.direction,
        call_status(c),
        c.caller_number.as_deref().unwrap_or("?"),
        c.called_number.as_deref().unwrap_or("?"),
        legs.join(", ")
    )
}

fn event_line(e: &CtiEvent) -> String {
    let what = match &e.kind {
        CtiEventKind::Call { call } => call_text(call),
        CtiEventKind::Channel { channel: c } => {
            let call = c.call.map(|id| format!(" (call {id})")).unwrap_or_default();
            format!("ch {} {} {}: {}{call}", c.channel, c.kind, c.name, channel_status(c.status))
        }
        CtiEventKind::CallerId { channel, number, name, call } => {
            let call = call.map(|id| format!(" (call {id})")).unwrap_or_default();
            let name = name.as_ref().map(|n| format!(" {n:?}")).unwrap_or_default();
            format!("ch {channel} caller id: {}{name}{call}", number.as_deref().unwrap_or("(withheld)"))
        }
        CtiEventKind::Dtmf { channel, digit, call } => {
            let call = call.map(|id| format!(" (call {id})")).unwrap_or_default();
            format!("ch {channel} dtmf {digit}{call}")
        }
        CtiEventKind::Agent { agent } => crate::acd::agent_event_text(agent),
        CtiEventKind::Queue { queue } => crate::acd::queue_event_text(queue),
        CtiEventKind::ScreenPop { pop } => crate::acd::screen_pop_text(pop),
        CtiEventKind::Preview { preview: p } => format!(
            "preview {} for agent {}: campaign {} number {} (id {}, attempt {}{})",
            p.state,
            p.agent,
            p.campaign,
            p.number,
            p.number_id,
            p.attempt,
            p.customer.map(|c| format!(", customer {c}")).unwrap_or_default()
        ),
    };
    format!("{:>10}  #{:<5} {what}", format_board_ms(e.at_ms), e.seq)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ws_url_of_the_api_root() {
        assert_eq!(ws_url("http://127.0.0.1:8080").unwrap(), "ws://127.0.0.1:8080/api/v1/events");
        assert!(ws_url("https://box").is_err());
    }

    #[test]
    fn event_lines() {
        let dtmf: CtiEvent = serde_json::from_str(
            r#"{"seq": 15, "at_ms": 7000, "type": "dtmf", "channel": 5, "digit": "1", "call": 7}"#,
        )
        .unwrap();
        assert_eq!(event_line(&dtmf), "    7.000s  #15    ch 5 dtmf 1 (call 7)");
        let cid: CtiEvent = serde_json::from_str(
            r#"{"seq": 14, "at_ms": 6210, "type": "caller_id", "channel": 1, "number": "13800138000", "name": null, "call": 7}"#,
        )
        .unwrap();
        assert_eq!(event_line(&cid), "    6.210s  #14    ch 1 caller id: 13800138000 (call 7)");
    }

    #[test]
    fn lagged_and_unknown_messages() {
        let lagged = r#"{"type": "lagged", "missed": 9}"#;
        assert!(matches!(show(lagged, false), (ref out, Some(End::Lagged(9))) if out.is_empty()));
        assert!(matches!(show(lagged, true), (ref out, Some(End::Lagged(9))) if *out == format!("{lagged}\n")));
        let hologram = r#"{"seq": 1, "type": "hologram"}"#;
        assert_eq!(show(hologram, false).0, format!("{hologram}\n"));
        assert!(show(hologram, false).1.is_none());
    }
}
