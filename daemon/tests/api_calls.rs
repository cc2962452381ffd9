//! Channels and calls over the API, through the FakeCore: the documented
//! shapes, click-to-dial, answer, hold, transfers, conference and hangup,
//! and how the core's refusals and silence map to status codes (404 for an
//! unknown call or leg, 409 busy, 422 refused, 503 no answer). An ended
//! call is read back from the journal.

mod api_support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use api_support::{Api, JournalCall, write_calls};
use ctibox_daemon::api::testing::TestServerOptions;
use ctibox_daemon::records::{Direction, HangupCause};
use serde_json::{Value, json};

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object().unwrap_or_else(|| panic!("not an object: {v}")).keys().map(String::as_str).collect()
}

fn set<'a>(names: &[&'a str]) -> BTreeSet<&'a str> {
    names.iter().copied().collect()
}

const CHANNEL_KEYS: &[&str] = &["channel", "kind", "role", "name", "status", "call", "since_ms"];
const CALL_KEYS: &[&str] = &[
    "call",
    "direction",
    "caller_number",
    "caller_name",
    "called_number",
    "status",
    "legs",
    "started_ms",
    "answered_ms",
    "ended_ms",
    "cause",
];
const LEG_KEYS: &[&str] = &["leg", "channel", "role", "party", "status", "held"];

fn quiet() -> Api {
    Api::quiet()
}

/// The call `id` as `GET /calls/{id}` shows it (200 expected).
fn call(api: &Api, token: &str, id: i64) -> Value {
    let (status, body) = api.get(&format!("/calls/{id}"), token);
    assert_eq!(status, 200, "GET /calls/{id}: {body}");
    body
}

fn leg<'a>(call: &'a Value, party: &str) -> &'a Value {
    call["legs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["party"] == party)
        .unwrap_or_else(|| panic!("no leg for {party}: {call}"))
}

fn channel(api: &Api, token: &str, number: u64) -> Value {
    let (status, body) = api.get("/channels", token);
    assert_eq!(status, 200, "{body}");
    body.as_array().unwrap().iter().find(|c| c["channel"] == number).cloned().expect("the channel")
}

#[test]
fn channels_and_calls_have_the_documented_shapes() {
    let api = Api::start();
    let agent = api.login("agent");
    let (status, channels) = api.get("/channels", &agent);
    assert_eq!(status, 200, "{channels}");
    let channels = channels.as_array().expect("an array of ChannelView");
    assert_eq!(channels.len(), 4);
    for c in channels {
        assert_eq!(keys(c), set(CHANNEL_KEYS), "{c}");
        assert!(c["channel"].is_u64() && c["since_ms"].is_u64(), "{c}");
    }
    let names: Vec<(u64, &str, &str, &str)> = channels
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap();
            (c["channel"].as_u64().unwrap(), s("kind"), s("role"), s("name"))
        })
        .collect();
    assert_eq!(
        names,
        vec![
            (1, "fxo", "trunk", "pstn"),
            (2, "fxs", "extension", "801"),
            (3, "fxs", "extension", "802"),
            (4, "fxs", "extension", "803"),
        ]
    );
    // Call 1 rings 801 from the trunk: both channels show it.
    for c in &channels[..2] {
        assert_eq!((c["status"].as_str(), c["call"].as_i64()), (Some("ringing"), Some(1)), "{c}");
    }
    for c in &channels[2..] {
        assert_eq!((c["status"].as_str(), &c["call"]), (Some("idle"), &Value::Null), "{c}");
    }

    let (status, calls) = api.get("/calls", &agent);
    assert_eq!(status, 200, "{calls}");
    let calls = calls.as_array().expect("an array of CallView");
    assert_eq!(calls.len(), 1);
    let c = &calls[0];
    assert_eq!(keys(c), set(CALL_KEYS), "{c}");
    assert_eq!(c["call"], 1);
    assert_eq!(c["direction"], "inbound");
    assert_eq!(c["caller_number"], "13800138000");
    assert_eq!(c["called_number"], "801");
    assert_eq!(c["status"], "ringing");
    assert!(c["started_ms"].is_u64());
    for k in ["caller_name", "answered_ms", "ended_ms", "cause"] {
        assert!(c[k].is_null(), "{k} of a ringing call: {c}");
    }
    let legs = c["legs"].as_array().unwrap();
    assert_eq!(legs.len(), 2);
    for l in legs {
        assert_eq!(keys(l), set(LEG_KEYS), "{l}");
        assert!(l["leg"].is_i64() && l["held"].is_boolean(), "{l}");
    }
    assert_eq!((legs[0]["role"].as_str(), legs[0]["channel"].as_u64()), (Some("caller"), Some(1)));
    assert_eq!((legs[1]["role"].as_str(), legs[1]["party"].as_str()), (Some("callee"), Some("801")));
    assert_eq!(legs[1]["status"], "ringing");
    // GET /calls/{id} of an active call is the same CallView.
    assert_eq!(&call(&api, &agent, 1), c);
}

#[test]
fn originate_makes_a_call_that_the_lists_show() {
    let api = quiet();
    let agent2 = api.login("agent2");
    let (status, body) = api.post("/calls", &agent2, r#"{"from": "802", "to": "803"}"#);
    assert_eq!(status, 200, "{body}");
    assert_eq!(keys(&body), set(&["call"]), "{body}");
    let id = body["call"].as_i64().expect("a call id");
    let (_, calls) = api.get("/calls", &agent2);
    let listed: Vec<i64> = calls.as_array().unwrap().iter().map(|c| c["call"].as_i64().unwrap()).collect();
    assert_eq!(listed, vec![id]);
    let c = call(&api, &agent2, id);
    assert_eq!((c["direction"].as_str(), c["status"].as_str()), (Some("internal"), Some("ringing")), "{c}");
    assert_eq!((c["caller_number"].as_str(), c["called_number"].as_str()), (Some("802"), Some("803")));
    assert_eq!(leg(&c, "802")["role"], "caller");
    assert_eq!(leg(&c, "803")["role"], "callee");
    assert_eq!(channel(&api, &agent2, 3)["call"], id);
    assert_eq!(channel(&api, &agent2, 4)["status"], "ringing");

    // Click-to-dial an outside number from 801: out on the trunk.
    let admin = api.login("admin");
    let (status, body) = api.post("/calls", &admin, r#"{"from": "801", "to": " 913800138000 "}"#);
    assert_eq!(status, 200, "{body}");
    let out = call(&api, &admin, body["call"].as_i64().unwrap());
    assert_eq!(out["direction"], "outbound", "{out}");
    assert_eq!(out["called_number"], "913800138000", "the number is trimmed: {out}");
    assert_eq!(leg(&out, "913800138000")["channel"], 1);
    let (_, calls) = api.get("/calls", &admin);
    assert_eq!(calls.as_array().unwrap().len(), 2);
}

#[test]
fn originate_refusals_map_to_statuses() {
    let api = Api::start();
    let admin = api.login("admin");
    let post = |body: &str| api.post("/calls", &admin, body);
    // 801 is being rung by call 1: busy.
    let (status, body) = post(r#"{"from": "801", "to": "802"}"#);
    assert_eq!(status, 409, "{body}");
    assert!(body["error"].as_str().unwrap().contains("801"), "{body}");
    let (status, body) = post(r#"{"from": "802", "to": "801"}"#);
    assert_eq!(status, 409, "{body}");
    // No such extension, either end.
    let (status, body) = post(r#"{"from": "899", "to": "802"}"#);
    assert_eq!(status, 404, "{body}");
    let (status, body) = post(r#"{"from": "802", "to": "809"}"#);
    assert_eq!(status, 404, "{body}");
    // The FakeCore refuses numbers starting with 000 (no route) and outside
    // numbers while the only trunk line is in call 1 (no free line): 422.
    let (status, body) = post(r#"{"from": "802", "to": "0001"}"#);
    assert_eq!(status, 422, "{body}");
    assert!(body["error"].as_str().unwrap().contains("0001"), "{body}");
    let (status, body) = post(r#"{"from": "802", "to": "13900139000"}"#);
    assert_eq!(status, 422, "{body}");
    assert!(body["error"].as_str().unwrap().contains("pstn"), "{body}");
    // Empty numbers never reach the core.
    let (status, body) = post(r#"{"from": "802", "to": "  "}"#);
    assert_eq!((status, body["field"].as_str()), (400, Some("to")), "{body}");
    let (status, body) = post(r#"{"from": "", "to": "803"}"#);
    assert_eq!((status, body["field"].as_str()), (400, Some("from")), "{body}");
    // Nothing of that made a call.
    assert_eq!(api.server.core.active_calls(), 1);
}

#[test]
fn answer_hold_unhold_and_hangup() {
    let api = Api::start();
    let sup = api.login("super");
    let caller_leg = leg(&call(&api, &sup, 1), "13800138000")["leg"].as_i64().unwrap();
    // A ringing call cannot be held yet.
    let (status, body) = api.post("/calls/1/hold", &sup, &json!({"leg": caller_leg}).to_string());
    assert_eq!(status, 422, "{body}");

    let (status, body) = api.post("/calls/1/answer", &sup, "");
    assert_eq!((status, &body), (200, &json!({"call": 1})), "{body}");
    let c = call(&api, &sup, 1);
    assert_eq!(c["status"], "up", "{c}");
    assert!(c["answered_ms"].is_u64(), "{c}");
    let l = leg(&c, "13800138000");
    assert_eq!((l["status"].as_str(), l["held"].as_bool()), (Some("held"), Some(true)), "caller on hold: {c}");
    assert_eq!(channel(&api, &sup, 2)["status"], "idle", "801 stops ringing");
    assert_eq!(channel(&api, &sup, 1)["status"], "held");
    // Answering twice is refused.
    let (status, body) = api.post("/calls/1/answer", &sup, "");
    assert_eq!(status, 422, "{body}");

    let leg_body = json!({"leg": caller_leg}).to_string();
    let (status, body) = api.post("/calls/1/unhold", &sup, &leg_body);
    assert_eq!((status, &body), (200, &json!({"call": 1})), "{body}");
    let l = leg(&call(&api, &sup, 1), "13800138000").clone();
    assert_eq!((l["status"].as_str(), l["held"].as_bool()), (Some("up"), Some(false)), "{l}");
    assert_eq!(channel(&api, &sup, 1)["status"], "talking");
    let (status, _) = api.post("/calls/1/hold", &sup, &leg_body);
    assert_eq!(status, 200);
    assert_eq!(leg(&call(&api, &sup, 1), "13800138000")["held"], true);

    let (status, body) = api.post("/calls/1/hangup", &sup, "{}");
    assert_eq!((status, &body), (200, &json!({"call": 1})), "{body}");
    let (_, calls) = api.get("/calls", &sup);
    assert_eq!(calls, json!([]));
    assert_eq!(channel(&api, &sup, 1)["status"], "idle");
    // Gone from the core and never journalled (the FakeCore writes none).
    assert_eq!(api.get("/calls/1", &sup).0, 404);
    assert_eq!(api.post("/calls/1/hangup", &sup, "").0, 404);
}

#[test]
fn hanging_up_one_leg_keeps_the_call() {
    let api = quiet();
    let admin = api.login("admin");
    let (_, body) = api.post("/calls", &admin, r#"{"from": "801", "to": "802"}"#);
    let id = body["call"].as_i64().unwrap();
    let (status, _) = api.post(&format!("/calls/{id}/conference"), &admin, r#"{"to": "803"}"#);
    assert_eq!(status, 200);
    let third = leg(&call(&api, &admin, id), "803")["leg"].as_i64().unwrap();
    let (status, body) = api.post(&format!("/calls/{id}/hangup"), &admin, &json!({"leg": third}).to_string());
    assert_eq!((status, &body), (200, &json!({"call": id})), "{body}");
    let c = call(&api, &admin, id);
    assert_eq!(leg(&c, "803")["status"], "ended", "{c}");
    assert_eq!(leg(&c, "801")["status"], "ringing", "{c}");
    assert_eq!(channel(&api, &admin, 4)["status"], "idle");
    // The same leg again: it is no longer in the call.
    let (status, body) = api.post(&format!("/calls/{id}/hangup"), &admin, &json!({"leg": third}).to_string());
    assert_eq!(status, 404, "{body}");
    // One of the two left: the call ends.
    let first = leg(&c, "801")["leg"].as_i64().unwrap();
    let (status, _) = api.post(&format!("/calls/{id}/hangup"), &admin, &json!({"leg": first}).to_string());
    assert_eq!(status, 200);
    assert_eq!(api.get("/calls", &admin).1, json!([]));
}

#[test]
fn blind_transfer_rings_the_target() {
    let api = Api::start();
    let sup = api.login("super");
    assert_eq!(api.post("/calls/1/answer", &sup, "").0, 200);
    let caller_leg = leg(&call(&api, &sup, 1), "13800138000")["leg"].as_i64().unwrap();
    let body = json!({"leg": caller_leg, "to": "802", "mode": "blind"}).to_string();
    let (status, answer) = api.post("/calls/1/transfer", &sup, &body);
    assert_eq!((status, &answer), (200, &json!({"call": 1})), "{answer}");
    let c = call(&api, &sup, 1);
    assert_eq!(c["legs"].as_array().unwrap().len(), 2, "{c}");
    let target = leg(&c, "802");
    assert_eq!((target["role"].as_str(), target["status"].as_str()), (Some("callee"), Some("ringing")), "{c}");
    let ch = channel(&api, &sup, 3);
    assert_eq!((ch["status"].as_str(), ch["call"].as_i64()), (Some("ringing"), Some(1)), "{ch}");
    // `mode` may be left out: blind.
    let body = json!({"leg": caller_leg, "to": "803"}).to_string();
    let (status, answer) = api.post("/calls/1/transfer", &sup, &body);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(leg(&call(&api, &sup, 1), "803")["role"], "callee");
}

#[test]
fn attended_transfer_consults_then_completes() {
    let api = Api::start();
    let sup = api.login("super");
    // Nothing to complete yet.
    let (status, body) = api.post("/calls/1/transfer/complete", &sup, "");
    assert_eq!(status, 422, "{body}");
    assert_eq!(api.post("/calls/1/answer", &sup, "").0, 200);
    let caller_leg = leg(&call(&api, &sup, 1), "13800138000")["leg"].as_i64().unwrap();
    let body = json!({"leg": caller_leg, "to": "803", "mode": "attended"}).to_string();
    let (status, answer) = api.post("/calls/1/transfer", &sup, &body);
    assert_eq!((status, &answer), (200, &json!({"call": 1})), "{answer}");
    let consult = leg(&call(&api, &sup, 1), "803").clone();
    assert_eq!((consult["role"].as_str(), consult["status"].as_str()), (Some("consult"), Some("ringing")));
    assert_eq!(leg(&call(&api, &sup, 1), "13800138000")["held"], true, "the caller waits on hold");

    let (status, answer) = api.post("/calls/1/transfer/complete", &sup, "");
    assert_eq!((status, &answer), (200, &json!({"call": 1})), "{answer}");
    let done = leg(&call(&api, &sup, 1), "803").clone();
    assert_eq!((done["role"].as_str(), done["status"].as_str()), (Some("callee"), Some("up")), "{done}");
    assert_eq!(done["leg"], consult["leg"], "the consulted leg stays");
    let (status, body) = api.post("/calls/1/transfer/complete", &sup, "{}");
    assert_eq!(status, 422, "a second completion: {body}");
}

#[test]
fn attended_transfer_can_be_cancelled() {
    let api = Api::start();
    let sup = api.login("super");
    let (status, body) = api.post("/calls/1/transfer/cancel", &sup, "");
    assert_eq!(status, 422, "nothing to cancel yet: {body}");
    assert!(body["error"].as_str().unwrap().contains("no transfer in progress"), "{body}");
    assert_eq!(api.post("/calls/1/answer", &sup, "").0, 200);
    let caller_leg = leg(&call(&api, &sup, 1), "13800138000")["leg"].as_i64().unwrap();
    let body = json!({"leg": caller_leg, "to": "803", "mode": "attended"}).to_string();
    assert_eq!(api.post("/calls/1/transfer", &sup, &body).0, 200);
    assert_eq!(leg(&call(&api, &sup, 1), "803")["role"], "consult");
    let (status, answer) = api.post("/calls/1/transfer/cancel", &sup, "");
    assert_eq!((status, &answer), (200, &json!({"call": 1})), "{answer}");
    let c = call(&api, &sup, 1);
    assert!(c["legs"].as_array().unwrap().iter().all(|l| l["role"] != "consult"), "the consulted leg is gone: {c}");
    let (status, body) = api.post("/calls/1/transfer/complete", &sup, "");
    assert_eq!(status, 422, "nothing left to complete: {body}");
}

#[test]
fn conference_adds_a_third_party() {
    let api = quiet();
    let agent = api.login("agent");
    let (_, body) = api.post("/calls", &agent, r#"{"from": "801", "to": "802"}"#);
    let id = body["call"].as_i64().unwrap();
    let (status, answer) = api.post(&format!("/calls/{id}/conference"), &agent, r#"{"to": "803"}"#);
    assert_eq!((status, &answer), (200, &json!({"call": id})), "{answer}");
    let c = call(&api, &agent, id);
    assert_eq!(c["legs"].as_array().unwrap().len(), 3, "{c}");
    assert_eq!(leg(&c, "803")["role"], "conference");
    assert_eq!(channel(&api, &agent, 4)["call"], id);
    // 803 is now busy; an outside number needs the (free) trunk.
    let (status, body) = api.post(&format!("/calls/{id}/conference"), &agent, r#"{"to": "803"}"#);
    assert_eq!(status, 409, "{body}");
    let (status, body) = api.post(&format!("/calls/{id}/conference"), &agent, r#"{"to": "13900139000"}"#);
    assert_eq!(status, 200, "{body}");
    assert_eq!(leg(&call(&api, &agent, id), "13900139000")["channel"], 1);
}

#[test]
fn unknown_calls_and_legs_are_404() {
    let api = Api::start();
    for user in ["admin", "agent"] {
        let token = api.login(user);
        let requests: &[(&str, &str)] = &[
            ("/calls/99/hangup", "{}"),
            ("/calls/99/hold", r#"{"leg": 1}"#),
            ("/calls/99/unhold", r#"{"leg": 1}"#),
            ("/calls/99/transfer", r#"{"leg": 1, "to": "802"}"#),
            ("/calls/99/transfer/complete", ""),
            ("/calls/99/transfer/cancel", ""),
            ("/calls/99/conference", r#"{"to": "802"}"#),
        ];
        for (path, body) in requests {
            let (status, answer) = api.post(path, &token, body);
            assert_eq!(status, 404, "{user} POST {path}: {answer}");
            assert!(answer["error"].as_str().unwrap().contains("99"), "{answer}");
        }
        let (status, answer) = api.get("/calls/99", &token);
        assert_eq!(status, 404, "{user}: {answer}");
    }
    let admin = api.login("admin");
    assert_eq!(api.post("/calls/99/answer", &admin, "").0, 404);
    // Call 1 exists, leg 99 does not.
    for (path, body) in [
        ("/calls/1/hangup", r#"{"leg": 99}"#),
        ("/calls/1/transfer", r#"{"leg": 99, "to": "802"}"#),
        ("/calls/1/hold", r#"{"leg": 99}"#),
    ] {
        let (status, answer) = api.post(path, &admin, body);
        // Hold of a ringing call is refused before the leg is looked at.
        let want = if path.ends_with("hold") { 422 } else { 404 };
        assert_eq!(status, want, "POST {path} {body}: {answer}");
    }
    assert_eq!(api.post("/calls/1/answer", &admin, "").0, 200);
    let (status, answer) = api.post("/calls/1/hold", &admin, r#"{"leg": 99}"#);
    assert_eq!(status, 404, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("leg 99"), "{answer}");
    // Transfer to an extension that does not exist: 404 too.
    let (status, answer) = api.post("/calls/1/transfer", &admin, r#"{"leg": 1, "to": "809"}"#);
    assert_eq!(status, 404, "{answer}");
    // ...and to a number with no route: 422.
    let (status, answer) = api.post("/calls/1/transfer", &admin, r#"{"leg": 1, "to": "0009"}"#);
    assert_eq!(status, 422, "{answer}");
    assert_eq!(api.server.core.active_calls(), 1, "nothing ended call 1");
}

#[test]
fn a_silent_core_gives_503_in_time() {
    let timeout = Duration::from_millis(400);
    let mut api = Api::start_with(TestServerOptions { core_timeout: timeout, ..TestServerOptions::default() });
    let admin = api.login("admin");
    api.server.core.set_silent(true);
    let requests: &[(&str, &str, Option<&str>)] = &[
        ("GET", "/calls", None),
        ("GET", "/channels", None),
        ("GET", "/calls/1", None),
        ("POST", "/calls", Some(r#"{"from": "802", "to": "803"}"#)),
        ("POST", "/calls/1/answer", Some("")),
        ("POST", "/calls/1/hangup", Some("{}")),
        ("POST", "/calls/1/hold", Some(r#"{"leg": 1}"#)),
        ("POST", "/calls/1/transfer", Some(r#"{"leg": 1, "to": "802"}"#)),
        ("POST", "/calls/1/conference", Some(r#"{"to": "802"}"#)),
    ];
    for (method, path, body) in requests {
        let start = Instant::now();
        let (status, answer) = api.req(method, path, Some(&admin), *body);
        let took = start.elapsed();
        assert_eq!(status, 503, "{method} {path}: {answer}");
        assert!(answer["error"].as_str().is_some_and(|e| !e.is_empty()), "{answer}");
        assert!(took >= timeout && took < timeout * 5, "{method} {path} answered after {took:?}");
    }
    // Agents are checked against the core's calls: 503 too, not 403 or 404.
    let agent = api.login("agent");
    assert_eq!(api.post("/calls/1/hangup", &agent, "").0, 503);
    // What did not answer was not done: the core answers again, call 1 rings.
    api.server.core.set_silent(false);
    let (status, calls) = api.get("/calls", &admin);
    assert_eq!(status, 200);
    assert_eq!(calls[0]["status"], "ringing", "{calls}");
    assert_eq!(calls.as_array().unwrap().len(), 1);
    // A stopped core: 503 at once.
    api.server.core.stop();
    let start = Instant::now();
    let (status, answer) = api.get("/calls", &admin);
    assert_eq!(status, 503, "{answer}");
    assert!(start.elapsed() < timeout, "a stopped core is not waited for");
    // Endpoints that do not need the core still work.
    assert_eq!(api.get("/status", &admin).0, 200);
    assert_eq!(api.get("/customers", &admin).0, 200);
}

#[test]
fn an_ended_call_is_read_from_the_journal() {
    let api = quiet();
    let admin = api.login("admin");
    let (_, body) = api.post("/calls", &admin, r#"{"from": "801", "to": "802"}"#);
    let id = body["call"].as_i64().unwrap();
    assert_eq!(api.post(&format!("/calls/{id}/hangup"), &admin, "").0, 200);
    assert_eq!(api.get(&format!("/calls/{id}"), &admin).0, 404, "not journalled yet");
    // The real core journals its calls under the same id: do it by hand.
    let spec = JournalCall {
        id: Some(id),
        direction: Direction::Internal,
        caller: "801",
        called: "802",
        channel: 2,
        extension: Some(("802", 3)),
        start_wall_ms: api_support::BASE_WALL_MS,
        cause: HangupCause::Normal,
    };
    write_calls(&api.server.records, &[spec]);
    let record = call(&api, &admin, id);
    assert_eq!(record["id"], id, "a CallRecord, not a CallView: {record}");
    assert!(record.get("call").is_none(), "{record}");
    assert_eq!(record["cause"], "normal");
    assert_eq!(record["direction"], "internal");
    assert_eq!(record["caller_number"], "801");
    assert_eq!(record["end_wall_ms"], api_support::BASE_WALL_MS + 60_000);
    let legs = record["legs"].as_array().unwrap();
    assert_eq!(legs.len(), 2, "{record}");
    assert_eq!(legs[1]["extension"], "802");
    // Agents may read it as well.
    let agent2 = api.login("agent2");
    assert_eq!(api.get(&format!("/calls/{id}"), &agent2).0, 200);
    // While a call with that id is active, the live view wins.
    let (_, body) = api.post("/calls", &admin, r#"{"from": "803", "to": "801"}"#);
    let live = body["call"].as_i64().unwrap();
    write_calls(
        &api.server.records,
        &[JournalCall { id: Some(live), ..JournalCall::inbound("5550000", "803", api_support::BASE_WALL_MS) }],
    );
    assert_eq!(call(&api, &admin, live)["call"], live);
}
