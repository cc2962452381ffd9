//! Shared by the api_*.rs tests: a test server on a temporary database, a
//! small blocking HTTP client, finished calls written into the journal, and
//! a blocking client of the event stream.

#![allow(dead_code)]

use std::time::Duration;

use ctibox_daemon::api::testing::{TEST_USERS, TestServer, TestServerOptions};
use ctibox_daemon::records::{CallId, Direction, HangupCause, JournalOp, LegRole, RecordsHandle, Stamp};
use serde_json::Value;

pub struct Api {
    pub server: TestServer,
    _dir: tempfile::TempDir,
}

impl Api {
    pub fn start() -> Api {
        Api::start_with(TestServerOptions::default())
    }

    /// A server without the ringing call 1 (no call in the core at start).
    pub fn quiet() -> Api {
        Api::start_with(TestServerOptions { ringing_call: false, ..TestServerOptions::default() })
    }

    pub fn start_with(options: TestServerOptions) -> Api {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = TestServer::start_with(dir.path(), options).expect("test server");
        Api { server, _dir: dir }
    }

    /// Logs in; panics unless it works.
    pub fn login(&self, user: &str) -> String {
        let pw = TEST_USERS.iter().find(|u| u.0 == user).map(|u| u.1).expect("a test user");
        let (status, body) =
            self.req("POST", "/login", None, Some(&format!(r#"{{"username":"{user}","password":"{pw}"}}"#)));
        assert_eq!(status, 200, "login {user}: {body}");
        body["token"].as_str().expect("token").to_string()
    }

    /// One request: (status, JSON body or Null).
    pub fn req(&self, method: &str, path: &str, token: Option<&str>, body: Option<&str>) -> (u16, Value) {
        self.raw(method, path, token, body.map(|b| ("application/json", b)))
    }

    pub fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.req("GET", path, Some(token), None)
    }

    pub fn post(&self, path: &str, token: &str, body: &str) -> (u16, Value) {
        self.req("POST", path, Some(token), Some(body))
    }

    pub fn put(&self, path: &str, token: &str, body: &str) -> (u16, Value) {
        self.req("PUT", path, Some(token), Some(body))
    }

    pub fn delete(&self, path: &str, token: &str) -> (u16, Value) {
        self.req("DELETE", path, Some(token), None)
    }

    pub fn raw(&self, method: &str, path: &str, token: Option<&str>, body: Option<(&str, &str)>) -> (u16, Value) {
        http(&self.server.url, method, path, token, body)
    }
}

/// One request to the API at `base` (`http://host:port`), `path` under
/// `/api/v1`: (status, JSON body or Null).
pub fn http(base: &str, method: &str, path: &str, token: Option<&str>, body: Option<(&str, &str)>) -> (u16, Value) {
    let mut r = ureq::request(method, &format!("{base}/api/v1{path}"));
    if let Some(t) = token {
        r = r.set("Authorization", &format!("Bearer {t}"));
    }
    let result = match body {
        Some((ctype, b)) => r.set("Content-Type", ctype).send_string(b),
        None => r.call(),
    };
    let resp = match result {
        Ok(resp) => resp,
        Err(ureq::Error::Status(_, resp)) => resp,
        Err(e) => panic!("{method} {path}: {e}"),
    };
    let status = resp.status();
    let text = resp.into_string().unwrap_or_default();
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("{method} {path}: not JSON: {text:?}"))
    };
    (status, value)
}

/// One finished call to put into the journal (see [`write_calls`]).
#[derive(Debug, Clone)]
pub struct JournalCall<'a> {
    /// The call id to use; `None`: the records' next one.
    pub id: Option<i64>,
    pub direction: Direction,
    pub caller: &'a str,
    pub called: &'a str,
    /// The trunk or extension channel the call started on.
    pub channel: u32,
    /// An extension leg (number, channel) that answered, if any.
    pub extension: Option<(&'a str, u32)>,
    /// Start, wall clock ms; the call lasts 60 s.
    pub start_wall_ms: i64,
    pub cause: HangupCause,
}

/// A wall time well in the past, for journal calls.
pub const BASE_WALL_MS: i64 = 1_700_000_000_000;

impl JournalCall<'_> {
    /// An inbound call from `caller` answered by `extension`.
    pub fn inbound<'a>(caller: &'a str, extension: &'a str, start_wall_ms: i64) -> JournalCall<'a> {
        JournalCall {
            id: None,
            direction: Direction::Inbound,
            caller,
            called: "88880000",
            channel: 1,
            extension: Some((extension, 2)),
            start_wall_ms,
            cause: HangupCause::Normal,
        }
    }
}

/// Writes finished calls into the journal and waits until they are
/// committed; returns their ids.
pub fn write_calls(records: &RecordsHandle, calls: &[JournalCall<'_>]) -> Vec<CallId> {
    let stamp = |wall_ms: i64| Stamp { board_ms: wall_ms - BASE_WALL_MS, wall_ms };
    let mut ids = Vec::new();
    let mut last = None;
    for c in calls {
        let call = c.id.map_or_else(|| records.next_call_id(), CallId);
        let submit = |op| records.submit(op).expect("journal submit");
        submit(JournalOp::CallStarted {
            call,
            direction: c.direction,
            caller_number: c.caller.into(),
            caller_name: String::new(),
            called_number: c.called.into(),
            channel: Some(c.channel),
            at: stamp(c.start_wall_ms),
        });
        submit(JournalOp::LegAdded {
            leg: records.next_leg_id(),
            call,
            role: LegRole::Caller,
            channel: Some(c.channel),
            party_number: c.caller.into(),
            party_name: String::new(),
            extension: (c.direction != Direction::Inbound).then(|| c.caller.to_string()),
            at: stamp(c.start_wall_ms),
        });
        if let Some((extension, channel)) = c.extension {
            let leg = records.next_leg_id();
            submit(JournalOp::LegAdded {
                leg,
                call,
                role: LegRole::Callee,
                channel: Some(channel),
                party_number: extension.into(),
                party_name: String::new(),
                extension: Some(extension.into()),
                at: stamp(c.start_wall_ms + 100),
            });
            submit(JournalOp::LegAnswered { leg, at: stamp(c.start_wall_ms + 5_000) });
            submit(JournalOp::CallAnswered { call, at: stamp(c.start_wall_ms + 5_000) });
        }
        last = Some(submit(JournalOp::CallEnded {
            call,
            at: stamp(c.start_wall_ms + 60_000),
            cause: c.cause.clone(),
            detail: String::new(),
        }));
        ids.push(call);
    }
    if let Some(seq) = last {
        records.wait_committed(seq, Duration::from_secs(10)).expect("journal committed");
    }
    ids
}

/// How a WebSocket client presents its token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WsToken<'a> {
    Header(&'a str),
    Query(&'a str),
    None,
}

/// What a WebSocket client read.
#[derive(Debug)]
pub enum WsNext {
    Json(Value),
    /// The server closed the stream (with its close frame's code and reason).
    Closed(Option<(u16, String)>),
    /// Nothing within the read timeout.
    Timeout,
    /// The connection broke without a close frame.
    Broken(String),
}

/// A blocking client of `GET /api/v1/events`.
pub struct Ws {
    pub socket: tungstenite::WebSocket<std::net::TcpStream>,
}

impl Ws {
    /// Connects to the event stream of the API at `base` (`http://host:port`);
    /// an HTTP refusal of the upgrade gives its status and body.
    pub fn connect(base: &str, token: WsToken<'_>) -> Result<Ws, (u16, String)> {
        use tungstenite::client::IntoClientRequest;
        let host = base.trim_start_matches("http://");
        let query = match token {
            WsToken::Query(t) => format!("?token={t}"),
            _ => String::new(),
        };
        let mut request = format!("ws://{host}/api/v1/events{query}").into_client_request().expect("a request");
        if let WsToken::Header(t) = token {
            request.headers_mut().insert("Authorization", format!("Bearer {t}").parse().expect("a header"));
        }
        let stream = std::net::TcpStream::connect(host).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        match tungstenite::client(request, stream) {
            Ok((socket, _)) => Ok(Ws { socket }),
            Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(response))) => {
                let body =
                    response.body().as_ref().map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
                Err((response.status().as_u16(), body))
            }
            Err(e) => panic!("websocket handshake: {e}"),
        }
    }

    /// How long a read waits.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.socket.get_mut().set_read_timeout(Some(timeout)).expect("timeout");
    }

    /// The next text message, the close, or the timeout.
    pub fn next(&mut self) -> WsNext {
        loop {
            match self.socket.read() {
                Ok(tungstenite::Message::Text(text)) => {
                    return WsNext::Json(
                        serde_json::from_str(text.as_str()).unwrap_or_else(|_| panic!("not JSON: {text}")),
                    );
                }
                Ok(tungstenite::Message::Close(frame)) => {
                    return WsNext::Closed(frame.map(|f| (u16::from(f.code), f.reason.to_string())));
                }
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) =>
                {
                    return WsNext::Timeout;
                }
                Err(tungstenite::Error::ConnectionClosed) => return WsNext::Closed(None),
                Err(e) => return WsNext::Broken(e.to_string()),
            }
        }
    }

    /// The next message, which must be JSON.
    pub fn json(&mut self) -> Value {
        match self.next() {
            WsNext::Json(v) => v,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    /// Closes from this side.
    pub fn close(mut self) {
        let _ = self.socket.close(None);
        let _ = self.socket.flush();
        while self.socket.read().is_ok() {}
    }
}
