//! The web console in a real browser: chromium headless, driven over the
//! DevTools protocol (`ctibox_e2e::cdp`), against the real daemon
//! (`Service`: the call core, the records and the API, as `ctiboxd` runs
//! them) on the built-in simulated board in fast mode.
//!
//! Scenario: Alice logs in on the console's form, logs in to the queues,
//! goes not ready and ready again by clicking; a known customer rings in
//! to queue `sales`; her console shows the screen pop with the caller's
//! number and the customer's name, VIP level and queue; a supervisor's
//! console (a second tab) shows Alice offered or on the call with the
//! caller; Alice holds and unholds the customer, adds a note (it shows in her pop and on the call) and
//! hangs up from the console, and the journal has the call ended; the
//! supervisor sets her not ready and logs her out from the agents table
//! (the console asks before the logout). A wrong password shows the API's
//! error on the login form; a dropped event stream shows "reconnecting" and
//! comes back live; a session ended behind the console's back sends it
//! back to the form with a message.
//!
//! The board runs lock-step as fast as the CPU, far ahead of the wall
//! clock: the caller stays for many hours of board time (minutes of wall
//! time), and every wait is a wall-clock deadline on a condition.

use std::time::{Duration, Instant};

use ctibox_boardsim::world::{AudioSource, CallRequest, Request};
use ctibox_daemon::service::{ConfigSource, Service, ServiceOptions};
use ctibox_e2e::cdp::{Browser, Page};
use serde_json::{Value, json};

/// One CO line into queue `sales`; Alice (agent 1001, user `alice`) at 801,
/// a supervisor's phone at 802. Phones answer by themselves after two rings.
const CONFIG: &str = r#"[system]
name = "console test"
country = "CN"
data_dir = "{dir}"

[board]
backend = "builtin:fxo=1,fxs=2,pace=fast,cid=fsk,answer=2"

[[trunk]]
name = "pstn"
channels = "1"
number = "88880000"
inbound = "queue:sales"

[[extension]]
number = "801"
name = "Alice"
channel = 2

[[extension]]
number = "802"
name = "Sam"
channel = 3

[dial_plan]
digit_map = ["8XX"]

[[dial_plan.route]]
pattern = "8XX"
to = "ext"

[[queue]]
name = "sales"
title = "Sales"
strategy = "linear"
members = ["1001"]

[[agent]]
id = "1001"
name = "Alice"
pin = "1111"
extension = "801"
user = "alice"

[[user]]
name = "admin"
role = "admin"
password = "admin-pw"

[[user]]
name = "super"
role = "supervisor"
password = "super-pw"
extension = "802"

[[user]]
name = "alice"
role = "agent"
password = "alice-pw"
extension = "801"
"#;

/// Wall-clock patience for what the daemon does.
const PATIENCE: Duration = Duration::from_secs(60);

const CALLER: &str = "13800138000";

/// The daemon with its API on a port of its own.
struct Center {
    service: Option<Service>,
    base: String,
    _dir: tempfile::TempDir,
}

impl Center {
    fn start() -> Center {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("ctibox.toml");
        std::fs::write(&config, CONFIG.replace("{dir}", &dir.path().display().to_string())).expect("config");
        let service = Service::start(ServiceOptions {
            source: ConfigSource::File(config),
            board: None,
            database: Some(dir.path().join("ctibox.db")),
            listen: Some("127.0.0.1:0".parse().expect("an address")),
            sim_control: None,
        })
        .unwrap_or_else(|e| panic!("the service starts: {e}"));
        let base = format!("http://{}", service.api_addr);
        Center { service: Some(service), base, _dir: dir }
    }

    /// One API request: (status, JSON answer or Null).
    fn api(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
        let mut req = ureq::request(method, &format!("{}/api/v1{path}", self.base));
        if let Some(t) = token {
            req = req.set("Authorization", &format!("Bearer {t}"));
        }
        let res = match body {
            Some(b) => req.send_json(b),
            None => req.call(),
        };
        let res = match res {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        let status = res.status();
        let text = res.into_string().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    fn token(&self, user: &str, password: &str) -> String {
        let (status, answer) = self.api("POST", "/login", None, Some(json!({"username": user, "password": password})));
        assert_eq!(status, 200, "login {user}: {answer}");
        answer["token"].as_str().expect("a token").to_string()
    }

    /// A caller on CO line `line`, staying for hundreds of hours of board
    /// time.
    fn ring(&self, line: u16, from: &str) {
        let service = self.service.as_ref().expect("running");
        let sim = service.daemon.sim_control.as_ref().expect("a built-in board");
        let long = ctibox_driver::hal::Duration::from_secs(500 * 3600);
        let request = Request::Call(CallRequest {
            line,
            from: from.into(),
            audio: AudioSource::Silence,
            hangup_after: Some(long),
            abandon_after: Some(long),
            name: None,
        });
        sim.request(request, Duration::from_secs(10)).unwrap_or_else(|e| panic!("ring line {line}: {e}"));
    }

    fn console(&self, browser: &Browser) -> Page {
        let mut page = browser.new_page();
        page.navigate(&format!("{}/", self.base));
        page.wait_for("the login form", "!document.getElementById('login').hidden");
        page
    }
}

impl Drop for Center {
    fn drop(&mut self) {
        if let Some(s) = self.service.take() {
            s.shutdown();
        }
    }
}

/// With `CTIBOX_CONSOLE_SHOTS=DIR`, a screenshot of `page` as DIR/NAME.png
/// (to look at what the console shows).
fn shot(page: &mut Page, name: &str) {
    if let Some(dir) = std::env::var_os("CTIBOX_CONSOLE_SHOTS") {
        page.screenshot(&std::path::Path::new(&dir).join(format!("{name}.png")));
    }
}

/// Fill in and send the console's login form.
fn log_in(page: &mut Page, user: &str, password: &str) {
    page.set_value("login-user", user);
    page.set_value("login-password", password);
    page.click("login-submit");
}

/// JavaScript: the text of element `id` equals `value`.
fn text_is(id: &str, value: &str) -> String {
    format!("document.getElementById({}).textContent === {}", json!(id), json!(value))
}

/// JavaScript: the supervisor table's row of agent `id` (or null).
fn agent_row(id: &str) -> String {
    format!("document.querySelector('#agents-table tr[data-agent=\"{id}\"]')")
}

#[test]
fn an_agent_takes_a_queue_call_on_the_console_and_the_supervisor_sees_it() {
    let center = Center::start();
    let admin = center.token("admin", "admin-pw");
    let (status, made) = center.api(
        "POST",
        "/customers",
        Some(&admin),
        Some(json!({"name": "Wang Wei", "company": "Acme Trucks", "vip": 2, "phones": [CALLER]})),
    );
    assert_eq!(status, 201, "a known customer: {made}");

    let browser = Browser::start();

    // Alice logs in on the form and finds her agent, logged out.
    let mut agent = center.console(&browser);
    log_in(&mut agent, "alice", "alice-pw");
    agent.wait_for("Alice's agent panel", "!document.getElementById('agent-panel').hidden");
    agent.wait_for("the state from the event stream", &text_is("my-state", "logged out"));
    assert_eq!(agent.text("my-name"), "Alice (1001)");
    assert_eq!(agent.text("who-role"), "agent");
    assert!(agent.eval("document.getElementById('super-view').hidden").as_bool().unwrap_or(false));

    // Log in to the queues (ready), not ready with a reason, ready again.
    agent.click("btn-agent-login");
    agent.wait_for("ready after the login", &text_is("my-state", "ready"));
    assert_eq!(agent.text("my-queues"), "sales");
    agent.set_value("not-ready-reason", "coffee");
    agent.click("btn-not-ready");
    agent.wait_for("not ready", &text_is("my-state", "not ready"));
    assert_eq!(agent.text("my-reason"), "reason: coffee");
    agent.click("btn-ready");
    agent.wait_for("ready again", &text_is("my-state", "ready"));
    let (_, alice) = center.api("GET", "/agents/1001", Some(&admin), None);
    assert_eq!(alice["state"], "ready", "the API agrees: {alice}");

    // The supervisor's console, in a second tab.
    let mut sup = center.console(&browser);
    log_in(&mut sup, "super", "super-pw");
    sup.wait_for(
        "Alice ready on the supervisor's console",
        &format!("({})?.dataset.state === 'ready'", agent_row("1001")),
    );
    assert!(sup.eval("document.getElementById('agent-view').hidden").as_bool().unwrap_or(false));
    assert!(
        sup.eval("document.querySelector('#queues-table tr[data-queue=\"sales\"]') !== null")
            .as_bool()
            .unwrap_or(false),
        "the supervisor sees queue sales"
    );

    // A known customer rings in.
    center.ring(1, CALLER);
    agent.wait_for(
        "the screen pop",
        &format!("!document.getElementById('pop').hidden && {}", text_is("pop-number", CALLER)),
    );
    let customer = agent.text("pop-customer");
    assert!(customer.contains("Wang Wei"), "the pop names the customer: {customer}");
    assert_eq!(agent.text("pop-vip"), "VIP 2");
    assert_eq!(agent.text("pop-queue"), "Sales (sales)");
    shot(&mut agent, "agent-pop");
    let state = sup.wait_for(
        "Alice offered or on the call on the supervisor's console",
        &format!("(r => r && ['offered', 'on_call'].includes(r.dataset.state) && r.querySelector('.caller').textContent.includes({}) && r.dataset.state)({})", json!(CALLER), agent_row("1001")),
    );
    assert!(state == "offered" || state == "on_call", "{state}");
    shot(&mut sup, "supervisor");
    let caller_cell = sup.eval(&format!("{}.querySelector('.caller').textContent", agent_row("1001")));
    assert!(caller_cell.as_str().unwrap_or("").contains("Wang Wei"), "the supervisor sees who calls: {caller_cell}");

    // Her phone answers by itself; she hangs up from the console.
    agent.wait_for("on the call", &text_is("my-state", "on call"));
    agent.wait_for("the call panel", "!document.getElementById('my-call').hidden");
    let call: i64 =
        agent.eval("Number(document.getElementById('my-call').dataset.call)").as_i64().expect("the call's id");
    let (_, live) = center.api("GET", &format!("/calls/{call}"), Some(&admin), None);
    assert_eq!(live["status"], "up", "the call is up before the hang-up: {live}");

    // Hold and unhold the customer from the console.
    agent.click("btn-hold");
    let on_hold = format!("{CALLER} on hold");
    agent.wait_for(
        "the customer on hold",
        &format!("document.getElementById('my-call-summary').textContent.includes({})", json!(on_hold)),
    );
    let (_, held) = center.api("GET", &format!("/calls/{call}"), Some(&admin), None);
    let legs = held["legs"].as_array().expect("legs");
    assert!(legs.iter().any(|l| l["party"] == CALLER && l["held"] == true), "the API has the caller held: {held}");
    agent.click("btn-unhold");
    agent.wait_for("the customer back", "!document.getElementById('my-call-summary').textContent.includes('on hold')");

    // A note for whoever takes the call next: on the call, and in the pop.
    agent.set_value("note-text", "wants the blue truck");
    agent.click("btn-note");
    agent.wait_for(
        "the note in the pop",
        "document.getElementById('pop-notes').textContent.includes('alice: wants the blue truck')",
    );
    let (_, live) = center.api("GET", &format!("/calls/{call}"), Some(&admin), None);
    assert_eq!(live["notes"][0]["text"], "wants the blue truck", "{live}");
    agent.click("btn-hangup");

    // The journal has it ended; both consoles follow.
    let deadline = Instant::now() + PATIENCE;
    let record = loop {
        let (status, c) = center.api("GET", &format!("/calls/{call}"), Some(&admin), None);
        assert_eq!(status, 200, "GET /calls/{call}: {c}");
        if !c["end_wall_ms"].is_null() {
            break c;
        }
        assert!(Instant::now() < deadline, "call {call} never ended: {c}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(record["answer_wall_ms"].is_i64(), "the call was answered: {record}");
    agent.wait_for("the call panel gone", "document.getElementById('my-call').hidden");
    agent.wait_for(
        "the pop says the call ended",
        &format!("document.getElementById('pop-status').textContent.includes('#{call} ended')"),
    );
    sup.wait_for(
        "Alice off the call on the supervisor's console",
        &format!("['wrap_up', 'ready'].includes(({})?.dataset.state)", agent_row("1001")),
    );
    assert_eq!(agent.text("message"), "", "no error was shown");

    // The supervisor sets Alice not ready, then logs her out (after the
    // console asks, as it does before anything destructive).
    let click_in_row = |page: &mut Page, label: &str| {
        page.eval(&format!(
            "(() => {{ const b = [...{row}.querySelectorAll('button')].find(b => b.textContent === {label}); \
             if (!b) throw new Error('no button ' + {label}); b.click(); return true; }})()",
            row = agent_row("1001"),
            label = json!(label)
        ));
    };
    click_in_row(&mut sup, "Not ready");
    agent.wait_for("not ready, set by the supervisor", &text_is("my-state", "not ready"));
    assert_eq!(agent.text("my-reason"), "reason: supervisor");
    sup.eval("window.confirm = (q) => { window.asked = q; return true; }");
    click_in_row(&mut sup, "Log out");
    agent.wait_for("logged out by the supervisor", &text_is("my-state", "logged out"));
    let asked = sup.eval("window.asked");
    assert_eq!(asked, "Log Alice out of the queues?", "the console asked first");
    assert_eq!(sup.text("message"), "", "no error was shown");
}

#[test]
fn a_wrong_password_a_dropped_stream_and_an_ended_session_on_the_console() {
    let center = Center::start();
    let (status, refusal) =
        center.api("POST", "/login", None, Some(json!({"username": "alice", "password": "not-hers"})));
    assert_eq!(status, 401);
    let expected = refusal["error"].as_str().expect("the API's message").to_string();

    let browser = Browser::start();
    let mut page = center.console(&browser);
    log_in(&mut page, "alice", "not-hers");
    let shown = page.wait_for("the login error", "document.getElementById('login-error').textContent");
    shot(&mut page, "login-refused");
    assert!(shown.as_str().unwrap_or("").starts_with(&expected), "the form shows {shown}, the API said {expected:?}");
    assert!(page.eval("document.getElementById('app').hidden").as_bool().unwrap_or(false), "still on the form");
    assert_eq!(page.eval("sessionStorage.length").as_i64(), Some(0), "no token kept");

    // Logged in; then the event stream drops, and later the token stops
    // working.
    log_in(&mut page, "alice", "alice-pw");
    page.wait_for(
        "the console",
        "!document.getElementById('app').hidden && !document.getElementById('agent-panel').hidden",
    );
    // The event stream drops: the console says so, reconnects and is live
    // again on a fresh snapshot.
    page.wait_for("the stream live", &text_is("conn", "live"));
    page.eval("S.ws.close(); true");
    page.wait_for("reconnecting shown", "document.getElementById('conn').textContent.startsWith('reconnecting')");
    page.wait_for("live again", &text_is("conn", "live"));
    assert_eq!(page.text("my-state"), "logged out", "the snapshot shows the agent again");

    // The session ends behind the console's back.
    let token = page.eval("JSON.parse(sessionStorage.getItem('ctibox.session')).token");
    let token = token.as_str().expect("the token is kept in sessionStorage").to_string();
    let (status, _) = center.api("POST", "/logout", Some(&token), None);
    assert_eq!(status, 204, "the session ends behind the console's back");
    page.wait_for(
        "back on the login form",
        "!document.getElementById('login').hidden && document.getElementById('app').hidden",
    );
    let msg = page.text("login-error");
    assert!(msg.contains("session ended"), "the form says why: {msg}");
}
