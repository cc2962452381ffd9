//! The API of the real daemon ([`Service`]) on a fast built-in simulated
//! board: users from the config, status, an inbound call seen through
//! `GET /calls` and the event stream and hung up through the API, its
//! journal record, configuration reloads (refused with `file:line:col`
//! errors, then accepted), and click-to-dial.
//!
//! The board runs lock-step as fast as the CPU: its time races ahead of the
//! wall clock (hundreds of times), so callers stay for hours of board time
//! and every wait is a wall-clock deadline. Phones answer by themselves
//! after four rings: about 20 s of board time, long enough in wall time for
//! `GET /calls` to see the call ringing.

mod api_support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use api_support::{Ws, WsNext, WsToken, http};
use ctibox_boardsim::world::request::LineStatus;
use ctibox_boardsim::world::{AudioSource, CallRequest, PortRef, Reply, Request};
use ctibox_daemon::service::{ConfigSource, Service, ServiceOptions};
use serde_json::{Value, json};

/// Config lines; `{inbound}` is the trunk's inbound target.
const CONFIG: &str = r#"[system]
name = "api service test"
country = "CN"
data_dir = "{dir}"

[board]
backend = "builtin:fxo=2,fxs=4,pace=fast,cid=fsk,answer=4"

[[trunk]]
name = "pstn"
channels = "1-2"
number = "88880000"
inbound = "{inbound}"

[[extension]]
number = "801"
name = "Alice"
channel = 3

[[extension]]
number = "802"
name = "Bob"
channel = 4

[[extension]]
number = "803"
channel = 5

[[extension]]
number = "804"
channel = 6

[dial_plan]
digit_map = ["8XX", "9."]

[[dial_plan.route]]
pattern = "8XX"
to = "ext"

[[dial_plan.route]]
pattern = "9."
to = "trunk:pstn"
strip = 1

[[user]]
name = "admin"
role = "admin"
password = "admin-pw"

[[user]]
name = "alice"
role = "agent"
password = "alice-pw"
extension = "801"
"#;

/// Wall-clock patience for anything the board does.
const PATIENCE: Duration = Duration::from_secs(60);

struct Daemon {
    service: Option<Service>,
    base: String,
    config: PathBuf,
    dir: tempfile::TempDir,
}

impl Daemon {
    fn start(inbound: &str) -> Daemon {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("ctibox.toml");
        let daemon_dir = dir.path().to_path_buf();
        std::fs::write(&config, Daemon::config_text(&daemon_dir, inbound)).expect("write the config");
        let service = Service::start(ServiceOptions {
            source: ConfigSource::File(config.clone()),
            board: None,
            database: Some(dir.path().join("ctibox.db")),
            listen: Some("127.0.0.1:0".parse().expect("an address")),
            sim_control: None,
        })
        .unwrap_or_else(|e| panic!("the service starts: {e}"));
        let base = format!("http://{}", service.api_addr);
        Daemon { service: Some(service), base, config, dir }
    }

    fn config_text(dir: &std::path::Path, inbound: &str) -> String {
        CONFIG.replace("{dir}", &dir.display().to_string()).replace("{inbound}", inbound)
    }

    fn service(&self) -> &Service {
        self.service.as_ref().expect("running")
    }

    fn login(&self, user: &str, password: &str) -> String {
        let body = json!({"username": user, "password": password}).to_string();
        let (status, answer) = http(&self.base, "POST", "/login", None, Some(("application/json", &body)));
        assert_eq!(status, 200, "login {user}: {answer}");
        answer["token"].as_str().expect("a token").to_string()
    }

    fn get(&self, path: &str, token: &str) -> Value {
        let (status, answer) = http(&self.base, "GET", path, Some(token), None);
        assert_eq!(status, 200, "GET {path}: {answer}");
        answer
    }

    fn post(&self, path: &str, token: &str, body: &str) -> (u16, Value) {
        http(&self.base, "POST", path, Some(token), Some(("application/json", body)))
    }

    /// A caller on CO line `line`, staying on for hours of board time.
    fn ring_line(&self, line: u16, from: &str) {
        let sim = self.service().daemon.sim_control.as_ref().expect("a built-in board");
        let hours = ctibox_driver::hal::Duration::from_secs(4 * 3600);
        let request = Request::Call(CallRequest {
            line,
            from: from.into(),
            audio: AudioSource::Silence,
            hangup_after: Some(hours),
            abandon_after: Some(hours),
            name: Some(format!("caller {from}")),
        });
        sim.request(request, Duration::from_secs(10)).unwrap_or_else(|e| panic!("ring line {line}: {e}"));
    }

    /// The simulator's view of CO line `line`.
    fn line_status(&self, line: u16) -> LineStatus {
        let sim = self.service().daemon.sim_control.as_ref().expect("a built-in board");
        match sim.request(Request::Status, Duration::from_secs(10)) {
            Ok(Reply::Status { status }) => {
                status.lines.iter().find(|l| l.line == line).cloned().unwrap_or_else(|| panic!("no line {line}"))
            }
            other => panic!("simulator status: {other:?}"),
        }
    }

    /// The phone on FXS channel `channel` goes on-hook; waits until the API
    /// shows the channel idle.
    fn hang_up_phone(&self, channel: u16) {
        let sim = self.service().daemon.sim_control.as_ref().expect("a built-in board");
        let request = Request::Hangup { port: PortRef::Phone(channel) };
        sim.request(request, Duration::from_secs(10)).unwrap_or_else(|e| panic!("hang up phone {channel}: {e}"));
        let token = self.login("admin", "admin-pw");
        let start = Instant::now();
        loop {
            let channels = self.get("/channels", &token);
            let ch = channels.as_array().unwrap().iter().find(|c| c["channel"] == channel).cloned().unwrap();
            if ch["status"] == "idle" {
                return;
            }
            assert!(start.elapsed() < PATIENCE, "channel {channel} does not go idle: {ch}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Polls `GET /calls` until `done` finds what it wants.
    fn wait_calls<T>(&self, token: &str, what: &str, mut done: impl FnMut(&[Value]) -> Option<T>) -> T {
        let start = Instant::now();
        loop {
            let calls = self.get("/calls", token);
            if let Some(found) = done(calls.as_array().expect("a list")) {
                return found;
            }
            assert!(start.elapsed() < PATIENCE, "{what}: still {calls}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits until the journal has call `id` ended.
    fn wait_record(&self, token: &str, id: i64) -> Value {
        let start = Instant::now();
        loop {
            let page = self.get("/cdr?limit=100", token);
            let found = page["calls"].as_array().unwrap().iter().find(|c| c["id"] == id).cloned();
            if let Some(c) = found.filter(|c| !c["end_wall_ms"].is_null()) {
                return c;
            }
            assert!(start.elapsed() < PATIENCE, "call {id} is not in the journal as ended: {page}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(s) = self.service.take() {
            s.shutdown();
        }
    }
}

/// Ring line `line` from `from` and wait until the call is up; returns it.
/// `GET /calls` and the event stream both show it ringing first.
fn inbound_call_comes_up(d: &Daemon, token: &str, line: u16, from: &str) -> Value {
    let mut ws = Ws::connect(&d.base, WsToken::Header(token)).expect("the event stream");
    let snapshot = ws.json();
    assert_eq!(snapshot["type"], "snapshot");
    d.ring_line(line, from);
    let mut polled = Vec::new();
    let up = d.wait_calls(token, "the inbound call comes up", |calls| {
        let c = calls.iter().find(|c| c["direction"] == "inbound")?;
        let status = c["status"].as_str().unwrap_or("?").to_string();
        if polled.last() != Some(&status) {
            polled.push(status);
        }
        (c["status"] == "up").then(|| c.clone())
    });
    assert_eq!(polled, vec!["ringing", "up"], "GET /calls shows the call ringing, then up");
    let id = up["call"].as_i64().expect("a call id");
    // The stream saw the call ringing before it was up, with the caller's
    // number; every event once, in order.
    let mut statuses = Vec::new();
    let mut caller_id = None;
    let mut last = seq(&snapshot);
    let deadline = Instant::now() + PATIENCE;
    while statuses.last().map(String::as_str) != Some("up") {
        assert!(Instant::now() < deadline, "no `up` event; saw {statuses:?}");
        let event = ws.json();
        assert_eq!(seq(&event), last + 1, "events in order without gaps: {event}");
        last = seq(&event);
        match event["type"].as_str() {
            Some("caller_id") => caller_id = Some(event.clone()),
            Some("call") if event["call"]["call"] == id => {
                let status = event["call"]["status"].as_str().unwrap().to_string();
                if statuses.last() != Some(&status) {
                    statuses.push(status);
                }
            }
            _ => {}
        }
    }
    assert_eq!(statuses, vec!["ringing", "up"], "call {id} as the stream showed it");
    let cid = caller_id.expect("a caller_id event before the answer");
    assert_eq!((cid["number"].as_str(), cid["channel"].as_u64()), (Some(from), Some(u64::from(line))), "{cid}");
    assert_eq!(cid["call"], id, "the caller ID names its call: {cid}");
    ws.close();
    up
}

fn seq(event: &Value) -> u64 {
    event["seq"].as_u64().unwrap_or_else(|| panic!("no seq: {event}"))
}

#[test]
fn an_inbound_call_through_the_api() {
    let d = Daemon::start("ext:801");
    let admin = d.login("admin", "admin-pw");
    let alice = d.login("alice", "alice-pw");
    let (status, _) =
        http(&d.base, "POST", "/login", None, Some(("application/json", r#"{"username": "alice", "password": "x"}"#)));
    assert_eq!(status, 401);

    let first = d.get("/status", &alice);
    assert_eq!(first["name"], "api service test");
    assert_eq!(first["board"]["channels"], 6, "{first}");
    assert_eq!(first["board"]["tick_ms"], 20, "{first}");
    assert!(first["board"]["name"].as_str().is_some_and(|n| !n.is_empty()), "{first}");
    std::thread::sleep(Duration::from_millis(200));
    let second = d.get("/status", &alice);
    let (t1, t2) = (first["board_ms"].as_u64().unwrap(), second["board_ms"].as_u64().unwrap());
    assert!(t2 > t1, "board time advances: {t1} then {t2}");
    assert!(second["engine"]["ticks"].as_u64() > first["engine"]["ticks"].as_u64(), "{second}");
    assert_eq!(second["calls_active"], 0);
    let channels = d.get("/channels", &alice);
    let kinds: Vec<(&str, &str)> = channels
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["kind"].as_str().unwrap(), c["name"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        vec![("fxo", "pstn"), ("fxo", "pstn"), ("fxs", "801"), ("fxs", "802"), ("fxs", "803"), ("fxs", "804")],
        "{channels}"
    );

    let up = inbound_call_comes_up(&d, &alice, 1, "13800138000");
    let id = up["call"].as_i64().unwrap();
    assert_eq!(up["caller_number"], "13800138000", "{up}");
    let parties: Vec<(&str, &str)> = up["legs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["party"].as_str().unwrap(), l["status"].as_str().unwrap()))
        .collect();
    assert!(parties.contains(&("801", "up")), "801 answered: {up}");
    // The line's answer completes a tick or so after the phone's: wait for
    // both channels to show the call.
    let start = Instant::now();
    loop {
        let channels = d.get("/channels", &alice);
        let both = [0, 2]
            .iter()
            .all(|&n| (channels[n]["status"].as_str(), channels[n]["call"].as_i64()) == (Some("talking"), Some(id)));
        if both {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(3), "line 1 and 801 talk on call {id}: {channels}");
        std::thread::sleep(Duration::from_millis(20));
    }
    // GET /status counts it (refreshed once a second).
    let start = Instant::now();
    while d.get("/status", &alice)["calls_active"] != 1 {
        assert!(start.elapsed() < Duration::from_secs(5), "calls_active stays at 0");
        std::thread::sleep(Duration::from_millis(100));
    }

    // The agent in the call hangs it up.
    let (status, body) = d.post(&format!("/calls/{id}/hangup"), &alice, "{}");
    assert_eq!((status, &body), (200, &json!({"call": id})), "{body}");
    d.wait_calls(&alice, "the call ends", |calls| calls.is_empty().then_some(()));
    let record = d.wait_record(&admin, id);
    assert_eq!(record["caller_number"], "13800138000", "{record}");
    assert_eq!(record["direction"], "inbound");
    assert_eq!(record["cause"], "normal", "{record}");
    assert!(!record["answer_wall_ms"].is_null(), "{record}");
    // And the agent finds it in its own history, and by number.
    let mine = d.get("/cdr?number=13800138000", &alice);
    assert_eq!(mine["calls"].as_array().unwrap().len(), 1, "{mine}");
    assert_eq!(d.get(&format!("/calls/{id}"), &alice)["id"], id);

    // The API's hangup put our FXO port on-hook. (The simulated caller
    // stays on line 1: the next call comes in on line 2.) 801's phone is
    // still off-hook until Alice hangs it up.
    let line = d.line_status(1);
    assert!(!line.port_off_hook, "the trunk line is released: {line:?}");
    assert_eq!(d.get("/channels", &alice)[2]["status"], "releasing");
    d.hang_up_phone(3);
    let again = inbound_call_comes_up(&d, &alice, 2, "13900139000");
    let next = again["call"].as_i64().unwrap();
    assert_ne!(next, id);
    assert_eq!(d.post(&format!("/calls/{next}/hangup"), &alice, "").0, 200);
    d.wait_record(&admin, next);
}

#[test]
fn a_bad_config_reload_keeps_the_old_one() {
    let d = Daemon::start("ext:801");
    let admin = d.login("admin", "admin-pw");
    let alice = d.login("alice", "alice-pw");
    let good = std::fs::read_to_string(&d.config).unwrap();
    // Line 13 is `inbound = "ext:801"`: break its string.
    let lines: Vec<&str> = good.lines().collect();
    assert_eq!(lines[12], r#"inbound = "ext:801""#);
    let bad = good.replace(r#"inbound = "ext:801""#, r#"inbound = "ext:801"#);
    std::fs::write(&d.config, bad).unwrap();
    let (status, body) = d.post("/config/reload", &alice, "");
    assert_eq!(status, 403, "agents may not reload: {body}");
    let (status, body) = d.post("/config/reload", &admin, "");
    assert_eq!(status, 422, "{body}");
    assert!(body["error"].as_str().is_some_and(|e| e.contains("old")), "{body}");
    let errors: Vec<&str> = body["errors"].as_array().expect("errors").iter().map(|e| e.as_str().unwrap()).collect();
    let at = format!("{}:13:", d.config.display());
    assert!(errors.iter().any(|e| e.starts_with(&at)), "an error at {at}: {errors:#?}");
    // A mistake that parses: it names its line too.
    let wrong = good.replace(r#"inbound = "ext:801""#, r#"inbound = "ext:899""#);
    std::fs::write(&d.config, wrong).unwrap();
    let (status, body) = d.post("/config/reload", &admin, "");
    assert_eq!(status, 422, "{body}");
    assert!(body["errors"][0].as_str().unwrap().starts_with(&at), "{body}");

    // The old config is still in force: a call on line 2 rings 801.
    let up = inbound_call_comes_up(&d, &admin, 2, "13900139000");
    let id = up["call"].as_i64().unwrap();
    assert!(up["legs"].as_array().unwrap().iter().any(|l| l["party"] == "801"), "{up}");
    assert_eq!(d.post(&format!("/calls/{id}/hangup"), &admin, "").0, 200);
    d.wait_calls(&admin, "the call ends", |calls| calls.is_empty().then_some(()));

    // A good change is taken: inbound calls now ring 802, and Bob, a new
    // user at 802, may log in and control them.
    let bob = "\n[[user]]\nname = \"bob\"\nrole = \"agent\"\npassword = \"bob-pw\"\nextension = \"802\"\n";
    let bob_login = json!({"username": "bob", "password": "bob-pw"}).to_string();
    let (status, _) = http(&d.base, "POST", "/login", None, Some(("application/json", &bob_login)));
    assert_eq!(status, 401, "no Bob before the reload");
    std::fs::write(&d.config, Daemon::config_text(d.dir.path(), "ext:802") + bob).unwrap();
    let (status, body) = d.post("/config/reload", &admin, "");
    assert_eq!((status, &body), (200, &json!({"ok": true})), "{body}");
    let bob = d.login("bob", "bob-pw");
    let up = inbound_call_comes_up(&d, &admin, 1, "13700137000");
    let parties: Vec<&str> = up["legs"].as_array().unwrap().iter().map(|l| l["party"].as_str().unwrap()).collect();
    assert!(parties.contains(&"802") && !parties.contains(&"801"), "{up}");
    let id = up["call"].as_i64().unwrap();
    assert_eq!(d.post(&format!("/calls/{id}/hangup"), &alice, "").0, 403, "not Alice's call");
    assert_eq!(d.post(&format!("/calls/{id}/hangup"), &bob, "").0, 200);
    d.wait_record(&admin, id);
    assert_eq!(d.get("/cdr", &bob)["calls"][0]["id"], id, "Bob's history");
}

#[test]
fn click_to_dial_rings_the_agent_then_the_callee() {
    let d = Daemon::start("ext:801");
    let alice = d.login("alice", "alice-pw");
    let mut ws = Ws::connect(&d.base, WsToken::Query(&alice)).expect("the event stream");
    assert_eq!(ws.json()["type"], "snapshot");
    let (status, body) = d.post("/calls", &alice, r#"{"from": "802", "to": "801"}"#);
    assert_eq!(status, 403, "alice dials from her own phone only: {body}");
    let (status, body) = d.post("/calls", &alice, r#"{"from": "801", "to": "802"}"#);
    assert_eq!(status, 200, "{body}");
    let id = body["call"].as_i64().expect("a call id");

    // On the stream: 801 rings first; once it answers, 802 rings; then both talk.
    let mut phases: Vec<Vec<(String, String)>> = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    loop {
        assert!(Instant::now() < deadline, "the call did not come up: {phases:?}");
        let event = match ws.next() {
            WsNext::Json(v) => v,
            other => panic!("the stream: {other:?} after {phases:?}"),
        };
        if event["type"] != "call" || event["call"]["call"] != id {
            continue;
        }
        let legs: Vec<(String, String)> = event["call"]["legs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| (l["party"].as_str().unwrap().to_string(), l["status"].as_str().unwrap().to_string()))
            .collect();
        if phases.last() != Some(&legs) {
            phases.push(legs.clone());
        }
        if event["call"]["status"] == "up" && legs.len() == 2 && legs.iter().all(|(_, s)| s == "up") {
            break;
        }
    }
    let s = |p: &str, st: &str| (p.to_string(), st.to_string());
    assert_eq!(phases.first(), Some(&vec![s("801", "ringing")]), "801 rings first: {phases:?}");
    let callee_rings =
        phases.iter().position(|p| p.contains(&s("802", "ringing")) || p.contains(&s("802", "alerting")));
    let agent_up = phases.iter().position(|p| p.contains(&s("801", "up")));
    assert!(
        matches!((agent_up, callee_rings), (Some(a), Some(b)) if a <= b),
        "802 rings only once 801 answered: {phases:?}"
    );

    let call = d.get(&format!("/calls/{id}"), &alice);
    assert_eq!(call["status"], "up", "{call}");
    let legs: Vec<(&str, &str, &str)> = call["legs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["party"].as_str().unwrap(), l["role"].as_str().unwrap(), l["status"].as_str().unwrap()))
        .collect();
    assert_eq!(legs.len(), 2, "{call}");
    assert!(legs.contains(&("801", "caller", "up")) && legs.iter().any(|l| l.0 == "802" && l.2 == "up"), "{call}");
    assert_eq!(call["direction"], "internal");
    let channels = d.get("/channels", &alice);
    for ch in [2, 3] {
        assert_eq!(channels[ch]["status"], "talking", "{channels}");
    }

    assert_eq!(d.post(&format!("/calls/{id}/hangup"), &alice, "").0, 200);
    d.wait_calls(&alice, "the call ends", |calls| calls.is_empty().then_some(()));
    let admin = d.login("admin", "admin-pw");
    let record = d.wait_record(&admin, id);
    assert_eq!((record["direction"].as_str(), record["cause"].as_str()), (Some("internal"), Some("normal")));
    assert_eq!(record["caller_number"], "801", "{record}");
    let legs = record["legs"].as_array().unwrap();
    assert_eq!(legs.len(), 2, "{record}");
    assert!(legs.iter().all(|l| !l["answer_wall_ms"].is_null()), "both answered: {record}");
}
