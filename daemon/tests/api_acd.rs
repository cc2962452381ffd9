//! The ACD over the API, through the FakeCore's real ACD (docs/api.md,
//! "ACD"): agents and queues live with their documented shapes, an agent's
//! day (login, not ready, ready, logout) and its `agent` events, who may
//! act on which agent, every bad body named by its field, a supervisor
//! raising a waiting caller's priority and giving it to an agent (the
//! agent's phone rings after a `screen_pop`), and the reports and history
//! read from the records.

mod api_support;

use std::collections::BTreeSet;
use std::time::Duration;

use api_support::{Api, Ws, WsToken};
use ctibox_daemon::records::{AgentStateKind, CallId, Direction, JournalOp, QueueEventKind, RecordsHandle, Stamp};
use serde_json::{Value, json};

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object().unwrap_or_else(|| panic!("not an object: {v}")).keys().map(String::as_str).collect()
}

fn set<'a>(names: &[&'a str]) -> BTreeSet<&'a str> {
    names.iter().copied().collect()
}

const AGENT_KEYS: &[&str] =
    &["id", "name", "state", "since_ms", "extension", "queues", "busy", "call", "answered", "talk_ms", "skills"];
const QUEUE_KEYS: &[&str] = &[
    "name",
    "title",
    "strategy",
    "waiting",
    "longest_wait_ms",
    "logged_in",
    "ready",
    "entered",
    "answered",
    "abandoned",
    "overflowed",
    "service_level_pct",
    "estimated_wait_ms",
];
const WAITING_KEYS: &[&str] = &["call", "position", "priority", "wait_ms", "offered_to", "callback"];
const SCREEN_POP_KEYS: &[&str] = &[
    "agent",
    "call",
    "queue",
    "queue_title",
    "caller_number",
    "caller_name",
    "wait_ms",
    "callback",
    "customer",
    "last_calls",
    "ivr_path",
    "vars",
    "notes",
    "transferred_by",
];

/// `GET path` must answer 200: its body.
fn ok_get(api: &Api, path: &str, token: &str) -> Value {
    let (status, body) = api.get(path, token);
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

/// `POST path body` must answer 200: its body.
fn ok_post(api: &Api, path: &str, token: &str, body: &str) -> Value {
    let (status, answer) = api.post(path, token, body);
    assert_eq!(status, 200, "POST {path} {body}: {answer}");
    answer
}

/// The request must fail with `status`, blaming `field` (or no field).
fn refused(api: &Api, method: &str, path: &str, token: &str, body: Option<&str>, status: u16, field: Option<&str>) {
    let (got, answer) = api.req(method, path, Some(token), body);
    assert_eq!(got, status, "{method} {path} {body:?}: {answer}");
    assert!(answer["error"].as_str().is_some_and(|e| !e.is_empty()), "{answer}");
    assert_eq!(answer["field"].as_str(), field, "{method} {path} {body:?}: {answer}");
}

fn agent(api: &Api, token: &str, id: &str) -> Value {
    ok_get(api, &format!("/agents/{id}"), token)
}

fn queue(api: &Api, token: &str, name: &str) -> Value {
    ok_get(api, &format!("/queues/{name}"), token)
}

/// The next event of `kind` on the stream (other kinds are skipped).
fn next_of(ws: &mut Ws, kind: &str) -> Value {
    for _ in 0..200 {
        let event = ws.json();
        if event["type"] == kind {
            return event;
        }
    }
    panic!("no {kind} event among the next 200");
}

#[test]
fn agents_and_queues_have_the_documented_shapes_for_every_role() {
    let api = Api::quiet();
    for user in ["admin", "super", "agent"] {
        let token = api.login(user);
        let agents = ok_get(&api, "/agents", &token);
        let agents = agents.as_array().expect("an array of AgentView");
        let ids: Vec<&str> = agents.iter().map(|a| a["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["1001", "1002", "1003"], "{user}");
        for a in agents {
            assert_eq!(keys(a), set(AGENT_KEYS), "logged out: no reason: {a}");
            assert_eq!((&a["state"], &a["extension"], &a["queues"]), (&json!("logged_out"), &Value::Null, &json!([])));
        }
        let queues = ok_get(&api, "/queues", &token);
        let names: Vec<&str> = queues.as_array().unwrap().iter().map(|q| q["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["sales", "support"], "{user}");
    }
    let token = api.login("agent");
    let alice = agent(&api, &token, "1001");
    assert_eq!((&alice["name"], &alice["skills"]), (&json!("Alice"), &json!({"sales": 8})), "{alice}");
    let sales = queue(&api, &token, "sales");
    assert_eq!(keys(&sales), set(QUEUE_KEYS), "{sales}");
    assert_eq!(
        (&sales["title"], &sales["strategy"], &sales["waiting"], &sales["logged_in"], &sales["service_level_pct"]),
        (&json!("Sales"), &json!("longest_idle"), &json!([]), &json!(0), &json!(100)),
        "{sales}"
    );
    assert_eq!(queue(&api, &token, "support")["strategy"], "ring_all");
    refused(&api, "GET", "/agents/9999", &token, None, 404, None);
    refused(&api, "GET", "/queues/nope", &token, None, 404, None);
    let (status, _) = api.req("GET", "/agents", None, None);
    assert_eq!(status, 401);
    let (status, _) = api.req("GET", "/queues", None, None);
    assert_eq!(status, 401);
}

#[test]
fn an_agent_logs_in_goes_not_ready_and_ready_and_logs_out_with_agent_events() {
    let api = Api::quiet();
    let token = api.login("agent");
    let mut ws = Ws::connect(&api.server.url, WsToken::Header(&token)).expect("upgrade");
    let snapshot = ws.json();
    assert_eq!(snapshot["agents"].as_array().map(Vec::len), Some(3), "{snapshot}");
    assert_eq!(snapshot["queues"].as_array().map(Vec::len), Some(2), "{snapshot}");

    // An empty body: the agent's own seat and queues.
    let (status, view) = api.req("POST", "/agents/1001/login", Some(&token), None);
    assert_eq!(status, 200, "{view}");
    assert_eq!(
        (&view["id"], &view["state"], &view["extension"], &view["queues"]),
        (&json!("1001"), &json!("ready"), &json!("801"), &json!(["sales"])),
        "{view}"
    );
    let event = next_of(&mut ws, "agent");
    assert_eq!(keys(&event), set(&["seq", "at_ms", "type", "agent"]), "{event}");
    assert_eq!(event["agent"], view, "the event carries the agent as GET shows it");
    let sales = next_of(&mut ws, "queue");
    assert_eq!(keys(&sales), set(&["seq", "at_ms", "type", "queue"]), "{sales}");
    assert_eq!((&sales["queue"]["name"], &sales["queue"]["ready"]), (&json!("sales"), &json!(1)), "{sales}");

    let view = ok_post(&api, "/agents/1001/not_ready", &token, r#"{"reason": " lunch "}"#);
    assert_eq!((&view["state"], &view["reason"]), (&json!("not_ready"), &json!("lunch")), "{view}");
    let event = next_of(&mut ws, "agent");
    assert_eq!((&event["agent"]["state"], &event["agent"]["reason"]), (&json!("not_ready"), &json!("lunch")));
    assert_eq!(queue(&api, &token, "sales")["ready"], 0);

    let view = ok_post(&api, "/agents/1001/ready", &token, "");
    assert_eq!(view["state"], "ready");
    assert!(view.get("reason").is_none(), "no reason once ready: {view}");
    assert_eq!(next_of(&mut ws, "agent")["agent"]["state"], "ready");

    // Not ready without a reason.
    let (status, view) = api.req("POST", "/agents/1001/not_ready", Some(&token), None);
    assert_eq!((status, &view["state"]), (200, &json!("not_ready")), "{view}");
    assert_eq!(next_of(&mut ws, "agent")["agent"], view);

    // Another seat and both queues (a second login changes them).
    let view = ok_post(&api, "/agents/1001/login", &token, r#"{"extension": "803", "queues": ["support", "sales"]}"#);
    assert_eq!((&view["extension"], &view["queues"]), (&json!("803"), &json!(["support", "sales"])), "{view}");

    let view = ok_post(&api, "/agents/1001/logout", &token, "{}");
    assert_eq!((&view["state"], &view["extension"]), (&json!("logged_out"), &Value::Null), "{view}");
    assert_eq!(next_of(&mut ws, "agent")["agent"]["state"], "logged_out");
    ws.close();
}

#[test]
fn agents_act_only_on_themselves_and_staff_on_anyone() {
    let api = Api::quiet();
    let alice = api.login("agent");
    let bob = api.login("agent2");
    let sup = api.login("super");
    let admin = api.login("admin");
    for action in ["login", "logout", "ready", "not_ready"] {
        refused(&api, "POST", &format!("/agents/1002/{action}"), &alice, Some("{}"), 403, None);
        refused(&api, "POST", &format!("/agents/1003/{action}"), &bob, Some("{}"), 403, None);
        // An agent that does not exist: not theirs either.
        refused(&api, "POST", &format!("/agents/9999/{action}"), &alice, Some("{}"), 403, None);
        refused(&api, "POST", &format!("/agents/9999/{action}"), &sup, Some("{}"), 404, None);
    }
    let (_, answer) = api.post("/agents/1002/login", &alice, "{}");
    assert!(answer["error"].as_str().unwrap().contains("1001"), "names who the caller is: {answer}");
    assert_eq!(agent(&api, &sup, "1002")["state"], "logged_out", "the refused login did nothing");

    assert_eq!(ok_post(&api, "/agents/1002/login", &bob, "{}")["state"], "ready");
    assert_eq!(ok_post(&api, "/agents/1002/not_ready", &sup, r#"{"reason": "meeting"}"#)["reason"], "meeting");
    assert_eq!(ok_post(&api, "/agents/1003/login", &admin, "{}")["extension"], "803");
    assert_eq!(ok_post(&api, "/agents/1003/logout", &sup, "")["state"], "logged_out");

    // Only staff touch waiting callers and read reports.
    refused(&api, "POST", "/queues/calls/1/priority", &alice, Some(r#"{"priority": 5}"#), 403, None);
    refused(&api, "POST", "/queues/calls/1/pick", &alice, Some(r#"{"agent": "1001"}"#), 403, None);
    refused(&api, "GET", "/reports/queues", &alice, None, 403, None);
    refused(&api, "GET", "/reports/agents", &bob, None, 403, None);
    refused(&api, "GET", "/agents/1002/history", &alice, None, 403, None);
    ok_get(&api, "/agents/1001/history", &alice);
    ok_get(&api, "/agents/1002/history", &sup);
}

#[test]
fn bad_bodies_and_refusals_name_what_is_wrong() {
    let api = Api::quiet();
    let sup = api.login("super");
    let post = |path: &str, body: &str, status: u16, field: Option<&str>| {
        refused(&api, "POST", path, &sup, Some(body), status, field);
    };
    post("/agents/1001/login", r#"{"extension": "899"}"#, 404, Some("extension"));
    post("/agents/1001/login", r#"{"extension": ""}"#, 400, Some("extension"));
    post("/agents/1001/login", r#"{"extension": 801}"#, 400, Some("extension"));
    post("/agents/1001/login", r#"{"queues": ["sales", "nope"]}"#, 404, Some("queues[1]"));
    post("/agents/1001/login", r#"{"queues": "sales"}"#, 400, Some("queues"));
    post("/agents/1001/login", r#"{"queues": [1]}"#, 400, Some("queues[0]"));
    post("/agents/1001/login", r#"{"queues": []}"#, 400, Some("queues"));
    post("/agents/1001/login", r#"{"queue": ["sales"]}"#, 400, Some("queue"));
    post("/agents/1001/login", "{", 400, Some("body"));
    post("/agents/1001/login", "[]", 400, Some("body"));
    post("/agents/1001/logout", r#"{"now": true}"#, 400, Some("now"));
    post("/agents/1001/ready", r#"{"x": 1}"#, 400, Some("x"));
    post("/agents/1001/not_ready", r#"{"reason": 7}"#, 400, Some("reason"));
    post("/agents/1001/not_ready", &format!(r#"{{"reason": "{}"}}"#, "x".repeat(40)), 400, Some("reason"));
    post("/agents/1001/not_ready", r#"{"reason": "a\nb"}"#, 400, Some("reason"));

    // What the ACD refuses: 422 with its message.
    let (status, answer) = api.post("/agents/1001/ready", &sup, "");
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["error"], "agent 1001 is not logged in", "{answer}");
    post("/agents/1001/logout", "", 422, None);
    ok_post(&api, "/agents/1001/login", &sup, "");
    let (status, answer) = api.post("/agents/1003/login", &sup, r#"{"extension": "801"}"#);
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["error"], "extension 801 is taken by agent 1001", "{answer}");
    assert_eq!(agent(&api, &sup, "1003")["state"], "logged_out");

    // Waiting callers: bad calls, priorities and agents.
    let body = r#"{"priority": 5}"#;
    post("/queues/calls/abc/priority", body, 400, Some("call"));
    post("/queues/calls/99/priority", body, 404, None);
    post("/queues/calls/1/priority", r#"{"priority": 10}"#, 400, Some("priority"));
    post("/queues/calls/1/priority", r#"{"priority": -1}"#, 400, Some("priority"));
    post("/queues/calls/1/priority", r#"{"priority": "high"}"#, 400, Some("priority"));
    post("/queues/calls/1/priority", "{}", 400, Some("priority"));
    post("/queues/calls/1/pick", r#"{"agent": "9999"}"#, 404, Some("agent"));
    post("/queues/calls/1/pick", r#"{"agent": " "}"#, 400, Some("agent"));
    post("/queues/calls/1/pick", r#"{"agent": 1001}"#, 400, Some("agent"));
    post("/queues/calls/99/pick", r#"{"agent": "1001"}"#, 404, None);
    // A call in progress that waits in no queue.
    let call = api.server.core.ring_inbound("13800138000", "803").expect("a call");
    let (status, answer) = api.post(&format!("/queues/calls/{call}/priority"), &sup, body);
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["error"], format!("call {call} is not waiting in a queue"), "{answer}");
}

#[test]
fn a_supervisor_raises_a_callers_priority_and_gives_it_to_an_agent() {
    let api = Api::quiet();
    let sup = api.login("super");
    let call = api.server.core.enqueue("13800138000", "sales", 0).expect("a caller in sales");
    let sales = queue(&api, &sup, "sales");
    let waiting = sales["waiting"].as_array().unwrap();
    assert_eq!(waiting.len(), 1, "{sales}");
    assert_eq!(keys(&waiting[0]), set(WAITING_KEYS), "{sales}");
    assert_eq!(
        (&waiting[0]["call"], &waiting[0]["position"], &waiting[0]["priority"]),
        (&json!(call.0), &json!(1), &json!(0))
    );

    let done = ok_post(&api, &format!("/queues/calls/{call}/priority"), &sup, r#"{"priority": 7}"#);
    assert_eq!(done, json!({"call": call.0}));
    assert_eq!(queue(&api, &sup, "sales")["waiting"][0]["priority"], 7);

    // Carol (1003) serves only `support`: ready, but sales's caller is not
    // hers…
    ok_post(&api, "/agents/1003/login", &sup, "");
    assert_eq!(agent(&api, &sup, "1003")["state"], "ready");
    // …until the supervisor gives it to her.
    let token = api.login("agent");
    let mut ws = Ws::connect(&api.server.url, WsToken::Header(&token)).expect("upgrade");
    ws.set_timeout(Duration::from_secs(10));
    ws.json();
    let done = ok_post(&api, &format!("/queues/calls/{call}/pick"), &sup, r#"{"agent": "1003"}"#);
    assert_eq!(done, json!({"call": call.0}));
    // She goes `offered`, then her screen pops (as her phone starts to ring).
    let offered = next_of(&mut ws, "agent");
    assert_eq!((&offered["agent"]["state"], &offered["agent"]["call"]), (&json!("offered"), &json!(call.0)));
    let pop = next_of(&mut ws, "screen_pop");
    assert_eq!(keys(&pop), set(&["seq", "at_ms", "type", "pop"]), "{pop}");
    let pop = &pop["pop"];
    assert_eq!(keys(pop), set(SCREEN_POP_KEYS), "{pop}");
    assert_eq!(
        (&pop["agent"], &pop["call"], &pop["queue"], &pop["queue_title"], &pop["caller_number"], &pop["callback"]),
        (&json!("1003"), &json!(call.0), &json!("sales"), &json!("Sales"), &json!("13800138000"), &json!(false)),
        "{pop}"
    );
    assert!(pop["wait_ms"].is_u64() && pop["customer"].is_null(), "{pop}");
    assert_eq!((&pop["last_calls"], &pop["ivr_path"]), (&json!([]), &json!([])), "{pop}");
    assert_eq!(pop["vars"]["queue"], "sales", "{pop}");
    assert_eq!((&pop["notes"], &pop["transferred_by"]), (&json!([]), &Value::Null), "not transferred: {pop}");
    let view = ok_get(&api, &format!("/calls/{call}"), &sup);
    let legs: Vec<(&str, &str)> = view["legs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["role"].as_str().unwrap(), l["party"].as_str().unwrap()))
        .collect();
    assert_eq!(legs, [("caller", "13800138000"), ("agent", "803")], "her phone rings: {view}");
    assert_eq!(queue(&api, &sup, "sales")["waiting"][0]["offered_to"], json!(["1003"]));

    // She answers: on the call, the caller has left the queue.
    assert_eq!(api.server.core.answer_offer("1003"), Ok(call));
    let carol = agent(&api, &sup, "1003");
    assert_eq!((&carol["state"], &carol["call"], &carol["answered"]), (&json!("on_call"), &json!(call.0), &json!(1)));
    let sales = queue(&api, &sup, "sales");
    assert_eq!((&sales["waiting"], &sales["answered"]), (&json!([]), &json!(1)), "{sales}");
    // Nothing waits any more.
    let (status, answer) = api.post(&format!("/queues/calls/{call}/pick"), &sup, r#"{"agent": "1001"}"#);
    assert_eq!((status, answer["error"].as_str()), (422, Some("agent 1001 is not logged in")), "{answer}");
    ok_post(&api, "/agents/1001/login", &sup, "");
    let (status, answer) = api.post(&format!("/queues/calls/{call}/pick"), &sup, r#"{"agent": "1001"}"#);
    assert_eq!(status, 422, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("not waiting"), "{answer}");

    // The call ends: Carol is ready again.
    let (status, _) = api.post(&format!("/calls/{call}/hangup"), &sup, "");
    assert_eq!(status, 200);
    assert_eq!(agent(&api, &sup, "1003")["state"], "ready");
    ws.close();
}

#[test]
fn a_ready_agent_is_offered_the_caller_at_once_and_a_hangup_before_answer_is_an_abandon() {
    let api = Api::quiet();
    let sup = api.login("super");
    ok_post(&api, "/agents/1002/login", &sup, r#"{"queues": ["sales"]}"#);
    let call = api.server.core.enqueue("13800138000", "sales", 0).expect("a caller");
    let bob = agent(&api, &sup, "1002");
    assert_eq!((&bob["state"], &bob["call"]), (&json!("offered"), &json!(call.0)), "{bob}");
    let (status, _) = api.post(&format!("/calls/{call}/hangup"), &sup, "");
    assert_eq!(status, 200);
    let sales = queue(&api, &sup, "sales");
    assert_eq!((&sales["abandoned"], &sales["waiting"]), (&json!(1), &json!([])), "{sales}");
    assert_eq!(agent(&api, &sup, "1002")["state"], "ready", "the withdrawn offer leaves Bob ready");
}

// --- the records ----------------------------------------------------------

const T0: i64 = 1_700_000_000_000;

fn at(ms: i64) -> Stamp {
    Stamp { board_ms: ms, wall_ms: T0 + ms }
}

/// A journal of one answered queue call (by 1001, after 5 s in sales) and
/// one abandoned one (after 40 s), and 1001's states: ready, on call,
/// not ready (lunch), logged out. Returns the two calls.
fn write_acd_journal(records: &RecordsHandle) -> (CallId, CallId) {
    let submit = |op| records.submit(op).expect("journal submit");
    let mut calls = Vec::new();
    for (i, number) in ["13800138000", "13900139000"].into_iter().enumerate() {
        let call = records.next_call_id();
        submit(JournalOp::CallStarted {
            call,
            direction: Direction::Inbound,
            caller_number: number.into(),
            caller_name: String::new(),
            called_number: "88880000".into(),
            channel: Some(1),
            at: at(i as i64 * 100_000),
        });
        calls.push(call);
    }
    let (answered, abandoned) = (calls[0], calls[1]);
    let queue_event = |call, kind, agent: Option<&str>, wait_ms, ms| JournalOp::QueueEvent {
        call,
        queue: "sales".into(),
        kind,
        agent: agent.map(Into::into),
        position: Some(1),
        wait_ms: Some(wait_ms),
        detail: json!({}),
        at: at(ms),
    };
    let state = |state, reason: &str, call, ms| JournalOp::AgentState {
        agent: "1001".into(),
        state,
        reason: reason.into(),
        extension: Some("801".into()),
        call,
        at: at(ms),
    };
    submit(state(AgentStateKind::Ready, "", None, 0));
    submit(queue_event(answered, QueueEventKind::Enter, None, 0, 1_000));
    submit(queue_event(answered, QueueEventKind::Offer, Some("1001"), 4_000, 5_000));
    submit(state(AgentStateKind::Offered, "", Some(answered), 5_000));
    submit(queue_event(answered, QueueEventKind::Answer, Some("1001"), 5_000, 6_000));
    submit(state(AgentStateKind::OnCall, "", Some(answered), 6_000));
    submit(state(AgentStateKind::NotReady, "lunch", None, 60_000));
    submit(queue_event(abandoned, QueueEventKind::Enter, None, 0, 100_000));
    submit(queue_event(abandoned, QueueEventKind::Abandon, None, 40_000, 140_000));
    let last = submit(state(AgentStateKind::LoggedOut, "", None, 200_000));
    records.wait_committed(last, Duration::from_secs(10)).expect("committed");
    (answered, abandoned)
}

#[test]
fn queue_and_agent_reports_from_the_records() {
    let api = Api::quiet();
    write_acd_journal(&api.server.records);
    let sup = api.login("super");
    let window = format!("from_ms={T0}&to_ms={}", T0 + 300_000);
    let report = ok_get(&api, &format!("/reports/queues?{window}"), &sup);
    assert_eq!((report["from_ms"].as_i64(), report["to_ms"].as_i64()), (Some(T0), Some(T0 + 300_000)));
    let queues = report["queues"].as_array().unwrap();
    let names: Vec<&str> = queues.iter().map(|q| q["queue"].as_str().unwrap()).collect();
    assert_eq!(names, ["sales", "support"], "every configured queue: {report}");
    let sales = &queues[0];
    assert_eq!(
        (&sales["service_level_ms"], &sales["entered"], &sales["answered"], &sales["abandoned"]),
        (&json!(20_000), &json!(2), &json!(1), &json!(1)),
        "{sales}"
    );
    // 1 answered within 20 s of 1 answered + 1 abandoned after 20 s.
    assert_eq!((&sales["answered_within_level"], &sales["service_level_pct"]), (&json!(1), &json!(50.0)), "{sales}");
    assert_eq!((&sales["avg_answer_wait_ms"], &sales["avg_abandon_wait_ms"]), (&json!(5_000), &json!(40_000)));
    let support = &queues[1];
    assert_eq!(
        (&support["service_level_ms"], &support["entered"], &support["service_level_pct"]),
        (&json!(30_000), &json!(0), &Value::Null),
        "the queue's own level, nothing counted: {support}"
    );

    let report = ok_get(&api, &format!("/reports/agents?{window}"), &sup);
    let agents = report["agents"].as_array().unwrap();
    let ids: Vec<&str> = agents.iter().map(|a| a["agent"].as_str().unwrap()).collect();
    assert_eq!(ids, ["1001", "1002", "1003"], "{report}");
    let alice = &agents[0];
    assert_eq!((&alice["offers"], &alice["answered"]), (&json!(1), &json!(1)), "{alice}");
    assert_eq!(alice["states"]["not_ready_ms"], 140_000, "{alice}");
    assert_eq!(alice["not_ready_by_reason"], json!({"lunch": 140_000}), "{alice}");
    assert_eq!(agents[1]["answered"], 0);

    // The default window is the last 24 hours: nothing of 2023 in it.
    let recent = ok_get(&api, "/reports/queues", &sup);
    assert_eq!(recent["to_ms"].as_i64().unwrap() - recent["from_ms"].as_i64().unwrap(), 86_400_000);
    assert_eq!(recent["queues"][0]["entered"], 0, "{recent}");

    let bad = |query: &str, field: &str| {
        refused(&api, "GET", &format!("/reports/queues?{query}"), &sup, None, 400, Some(field))
    };
    bad(&format!("from_ms={T0}&to_ms={T0}"), "from_ms");
    bad("from_ms=yesterday", "from_ms");
    bad("to_ms=1.5", "to_ms");
    bad("from=1", "from");
    refused(&api, "GET", "/reports/agents?limit=3", &sup, None, 400, Some("limit"));
}

#[test]
fn agent_history_pages_and_the_queue_events_of_a_call() {
    let api = Api::quiet();
    let (answered, abandoned) = write_acd_journal(&api.server.records);
    let sup = api.login("super");
    let alice = api.login("agent");
    let bob = api.login("agent2");

    let page = ok_get(&api, "/agents/1001/history", &alice);
    assert_eq!(keys(&page), set(&["agent", "at_from", "states", "next"]), "{page}");
    let states: Vec<&str> = page["states"].as_array().unwrap().iter().map(|s| s["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["ready", "offered", "on_call", "not_ready", "logged_out"], "{page}");
    assert_eq!(page["states"][3]["reason"], "lunch");
    assert_eq!(page["states"][3]["until_wall_ms"], T0 + 200_000);
    assert!(page["next"].is_null());

    // Pages of one, in a window that opens while 1001 is on the call.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut first = None;
    let mut pages = 0;
    loop {
        pages += 1;
        let mut path = format!("/agents/1001/history?from_ms={}&to_ms={}&limit=1", T0 + 6_500, T0 + 300_000);
        if let Some(a) = &after {
            path.push_str(&format!("&after={a}"));
        }
        let page = ok_get(&api, &path, &sup);
        first.get_or_insert_with(|| page["at_from"].clone());
        seen.extend(page["states"].as_array().unwrap().iter().map(|s| s["state"].as_str().unwrap().to_string()));
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!((seen.as_slice(), pages), (&["not_ready".to_string(), "logged_out".to_string()][..], 2));
    assert_eq!(first.unwrap()["state"], "on_call", "the state the window opened in");

    let bad = |query: &str, field: &str| {
        refused(&api, "GET", &format!("/agents/1001/history?{query}"), &sup, None, 400, Some(field));
    };
    bad("after=nonsense", "after");
    bad("limit=0", "limit");
    bad("limit=lots", "limit");
    bad(&format!("from_ms={}&to_ms={T0}", T0 + 1), "from_ms");
    bad("order=newest", "order");
    refused(&api, "GET", "/agents/9999/history", &sup, None, 404, None);
    // A configured agent with no records: an empty page.
    assert_eq!(ok_get(&api, "/agents/1003/history", &sup)["states"], json!([]));

    // The queue events of a call, in the order written.
    let events = ok_get(&api, &format!("/calls/{answered}/queue"), &sup);
    let kinds: Vec<&str> = events.as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["enter", "offer", "answer"], "{events}");
    assert_eq!(
        keys(&events[0]),
        set(&["id", "call", "queue", "kind", "agent", "position", "wait_ms", "detail", "board_ms", "wall_ms"])
    );
    // Alice was offered the call: she may read it; Bob may not, nor read
    // a call nobody offered him.
    ok_get(&api, &format!("/calls/{answered}/queue"), &alice);
    refused(&api, "GET", &format!("/calls/{answered}/queue"), &bob, None, 403, None);
    refused(&api, "GET", &format!("/calls/{abandoned}/queue"), &alice, None, 403, None);
    let events = ok_get(&api, &format!("/calls/{abandoned}/queue"), &sup);
    assert_eq!(events.as_array().map(Vec::len), Some(2), "{events}");
    refused(&api, "GET", "/calls/4242/queue", &sup, None, 404, None);
    refused(&api, "GET", "/calls/x/queue", &sup, None, 400, Some("id"));
}

#[test]
fn supervisor_routes_check_roles_targets_and_bodies() {
    let api = Api::start();
    let sup = api.login("super");
    let agent = api.login("agent");
    // Agents may not supervise.
    refused(&api, "POST", "/agents/1001/monitor", &agent, Some(r#"{"extension":"803","mode":"listen"}"#), 403, None);
    refused(&api, "POST", "/agents/1001/release", &agent, None, 403, None);
    // Unknown targets and phones are 404; bad modes and bodies 400.
    refused(&api, "POST", "/agents/9999/monitor", &sup, Some(r#"{"extension":"803","mode":"listen"}"#), 404, None);
    refused(&api, "POST", "/agents/9999/release", &sup, None, 404, None);
    refused(
        &api,
        "POST",
        "/agents/1001/monitor",
        &sup,
        Some(r#"{"extension":"899","mode":"listen"}"#),
        404,
        Some("extension"),
    );
    refused(
        &api,
        "POST",
        "/agents/1001/monitor",
        &sup,
        Some(r#"{"extension":"803","mode":"shout"}"#),
        400,
        Some("mode"),
    );
    refused(&api, "POST", "/agents/1001/monitor", &sup, Some(r#"{"extension":""}"#), 400, Some("mode"));
    // An agent not on a call cannot be monitored or released: 422 from the core.
    ok_post(&api, "/agents/1001/login", &sup, "{}");
    refused(&api, "POST", "/agents/1001/monitor", &sup, Some(r#"{"extension":"803","mode":"barge"}"#), 422, None);
    refused(&api, "POST", "/agents/1001/release", &sup, None, 422, None);
}
