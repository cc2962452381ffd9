//! Notes, attached data and transfers over the API (docs/api.md, "Notes
//! and data", "Transfers"), through the FakeCore: notes and data attach to
//! a call in progress and show in its view, every bad body is refused
//! naming its field, only parties and staff may write them, and a transfer
//! to `queue:NAME` or `agent:ID` brings the call to the next agent's
//! screen with the data, the notes and who transferred it.

mod api_support;

use std::collections::BTreeSet;
use std::time::Duration;

use api_support::{Api, Ws, WsToken};
use serde_json::{Value, json};

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object().unwrap_or_else(|| panic!("not an object: {v}")).keys().map(String::as_str).collect()
}

/// `POST path body` must answer 200: its body.
fn ok_post(api: &Api, path: &str, token: &str, body: &str) -> Value {
    let (status, answer) = api.post(path, token, body);
    assert_eq!(status, 200, "POST {path} {body}: {answer}");
    answer
}

fn ok_get(api: &Api, path: &str, token: &str) -> Value {
    let (status, body) = api.get(path, token);
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

/// The request must fail with `status`, blaming `field` (or no field);
/// its error message.
fn refused(api: &Api, path: &str, token: &str, body: &str, status: u16, field: Option<&str>) -> String {
    let (got, answer) = api.post(path, token, body);
    assert_eq!(got, status, "POST {path} {body}: {answer}");
    assert_eq!(answer["field"].as_str(), field, "POST {path} {body}: {answer}");
    answer["error"].as_str().filter(|e| !e.is_empty()).unwrap_or_else(|| panic!("no error: {answer}")).to_string()
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

/// The leg of `role` in a call's view.
fn leg_of(view: &Value, role: &str) -> i64 {
    view["legs"]
        .as_array()
        .and_then(|legs| legs.iter().find(|l| l["role"] == role))
        .and_then(|l| l["leg"].as_i64())
        .unwrap_or_else(|| panic!("no {role} leg: {view}"))
}

/// A caller waiting in `sales` answered by agent 1001 (Alice at 801, user
/// `agent`): the call.
fn alice_takes_a_sales_call(api: &Api, sup: &str) -> i64 {
    ok_post(api, "/agents/1001/login", sup, r#"{"queues": ["sales"]}"#);
    let call = api.server.core.enqueue("13800138000", "sales", 0).expect("a caller in sales");
    assert_eq!(api.server.core.answer_offer("1001"), Ok(call));
    call.0
}

#[test]
fn notes_and_data_attach_to_a_call_in_progress_and_show_in_its_view() {
    // Call 1 rings 801, the extension of user `agent`.
    let api = Api::start();
    let alice = api.login("agent");
    let sup = api.login("super");
    let mut ws = Ws::connect(&api.server.url, WsToken::Header(&sup)).expect("upgrade");
    ws.set_timeout(Duration::from_secs(10));
    ws.json();

    let done = ok_post(&api, "/calls/1/notes", &alice, r#"{"text": "  wants a refund for order 10001\n"}"#);
    assert_eq!(done, json!({"call": 1}));
    // The change goes out as a `call` event.
    let event = next_of(&mut ws, "call");
    assert_eq!(event["call"]["notes"][0]["text"], "wants a refund for order 10001", "{event}");
    ok_post(&api, "/calls/1/notes", &sup, r#"{"text": "VIP: call back within the hour\nline two"}"#);
    ok_post(&api, "/calls/1/data", &alice, r#"{"key": "order_no", "value": "10001"}"#);
    ok_post(&api, "/calls/1/data", &sup, r#"{"key": "refund", "value": ""}"#);
    // Setting a key again replaces its value.
    ok_post(&api, "/calls/1/data", &alice, r#"{"key": "order_no", "value": "10002"}"#);

    let view = ok_get(&api, "/calls/1", &alice);
    let notes = view["notes"].as_array().expect("notes in the call's view");
    assert_eq!(notes.len(), 2, "{view}");
    for note in notes {
        assert_eq!(keys(note), ["at_ms", "author", "text"].into_iter().collect(), "{note}");
        assert!(note["at_ms"].as_u64().is_some_and(|ms| ms > 0), "{note}");
    }
    let said: Vec<(&str, &str)> =
        notes.iter().map(|n| (n["author"].as_str().unwrap(), n["text"].as_str().unwrap())).collect();
    assert_eq!(
        said,
        [("agent", "wants a refund for order 10001"), ("super", "VIP: call back within the hour\nline two")]
    );
    assert!(notes[0]["at_ms"].as_u64() < notes[1]["at_ms"].as_u64(), "oldest first: {view}");
    assert_eq!((&view["vars"]["order_no"], &view["vars"]["refund"]), (&json!("10002"), &json!("")), "{view}");
    // Every role sees them in the list of calls too.
    let calls = ok_get(&api, "/calls", &api.login("agent2"));
    assert_eq!(calls[0]["notes"], view["notes"], "{calls}");
    ws.close();
}

#[test]
fn only_the_calls_parties_and_staff_write_notes_and_data() {
    let api = Api::start();
    let bob = api.login("agent2");
    let admin = api.login("admin");
    // Bob's extension (802) is not in call 1.
    let e = refused(&api, "/calls/1/notes", &bob, r#"{"text": "hello"}"#, 403, None);
    assert_eq!(e, "call 1 is not a call of your extension");
    refused(&api, "/calls/1/data", &bob, r#"{"key": "a", "value": "b"}"#, 403, None);
    ok_post(&api, "/calls/1/notes", &admin, r#"{"text": "admin was here"}"#);
    // No such call: 404 for staff and agents alike.
    let e = refused(&api, "/calls/99/notes", &admin, r#"{"text": "x"}"#, 404, None);
    assert_eq!(e, "no call 99");
    refused(&api, "/calls/99/data", &bob, r#"{"key": "a", "value": "b"}"#, 404, None);
    let (status, _) = api.req("POST", "/calls/1/notes", None, Some(r#"{"text": "x"}"#));
    assert_eq!(status, 401);
    // An ended call takes no more notes (its journal has them).
    let (status, _) = api.post("/calls/1/hangup", &admin, "");
    assert_eq!(status, 200);
    refused(&api, "/calls/1/notes", &admin, r#"{"text": "too late"}"#, 404, None);
}

#[test]
fn bad_notes_and_data_name_the_field() {
    let api = Api::start();
    let sup = api.login("super");
    let note = |body: &str, field: &str| refused(&api, "/calls/1/notes", &sup, body, 400, Some(field));
    assert_eq!(note(r#"{"text": ""}"#, "text"), "text: empty (1 to 2000 characters)");
    note(r#"{"text": " \n\t "}"#, "text");
    note(r#"{"text": 5}"#, "text");
    note("{}", "text");
    note(r#"{"text": "a", "author": "someone else"}"#, "author");
    note("{", "body");
    let e = note(&json!({"text": "x".repeat(2001)}).to_string(), "text");
    assert_eq!(e, "text: 2001 characters, more than 2000");
    let e = note(&json!({"text": "bell\u{7}"}).to_string(), "text");
    assert_eq!(e, "text: control character U+0007 at character 5");
    refused(&api, "/calls/abc/notes", &sup, r#"{"text": "x"}"#, 400, Some("id"));
    // 2000 characters are fine, counted as characters (6000 bytes here).
    ok_post(&api, "/calls/1/notes", &sup, &json!({"text": "话".repeat(2000)}).to_string());

    let data = |body: &str, field: &str| refused(&api, "/calls/1/data", &sup, body, 400, Some(field));
    assert_eq!(data(r#"{"key": "", "value": "1"}"#, "key"), "key: empty (letters, digits and `_`)");
    assert_eq!(
        data(r#"{"key": "order-no", "value": "1"}"#, "key"),
        "key: `order-no` has '-' at character 6: only letters, digits and `_`"
    );
    data(r#"{"key": "9lives", "value": "1"}"#, "key");
    data(&json!({"key": "k".repeat(65), "value": "1"}).to_string(), "key");
    for system in ["queue", "agent", "customer_vip", "priority", "skills", "ivr_path", "transferred_by"] {
        let e = data(&json!({"key": system, "value": "1"}).to_string(), "key");
        assert!(e.starts_with(&format!("key: `{system}` is set by the call core (system keys: agent, ")), "{e}");
    }
    data(r#"{"key": 7, "value": "1"}"#, "key");
    data(r#"{"key": "a"}"#, "value");
    data(r#"{"key": "a", "value": 1}"#, "value");
    assert_eq!(
        data(&json!({"key": "a", "value": "v".repeat(2001)}).to_string(), "value"),
        "value: 2001 characters, more than 2000"
    );
    data(r#"{"key": "a", "value": "b", "x": 1}"#, "x");
    // Nothing refused was attached.
    let view = ok_get(&api, "/calls/1", &sup);
    assert_eq!(view["notes"].as_array().map(Vec::len), Some(1), "{view}");
    assert!(view.get("vars").is_none(), "no variables: {view}");
}

#[test]
fn a_transfer_to_the_queue_pops_the_next_agent_with_the_data_the_notes_and_who_transferred() {
    let api = Api::quiet();
    let sup = api.login("super");
    let alice = api.login("agent");
    let call = alice_takes_a_sales_call(&api, &sup);
    ok_post(&api, &format!("/calls/{call}/notes"), &alice, r#"{"text": "asked about the invoice"}"#);
    ok_post(&api, &format!("/calls/{call}/data"), &alice, r#"{"key": "invoice", "value": "A-17"}"#);
    // Bob comes in to sales after Alice took the call.
    ok_post(&api, "/agents/1002/login", &sup, r#"{"queues": ["sales"]}"#);
    let bob = api.login("agent2");
    let mut ws = Ws::connect(&api.server.url, WsToken::Header(&bob)).expect("upgrade");
    ws.set_timeout(Duration::from_secs(10));
    ws.json();

    let view = ok_get(&api, &format!("/calls/{call}"), &alice);
    let caller = leg_of(&view, "caller");
    // A consultation of the queue: the caller is held while it waits;
    // cancelled, the caller is back and the queue empty again.
    let body = json!({"leg": caller, "to": "queue:sales", "mode": "attended"}).to_string();
    assert_eq!(ok_post(&api, &format!("/calls/{call}/transfer"), &alice, &body), json!({"call": call}));
    let view = ok_get(&api, &format!("/calls/{call}"), &alice);
    assert!(view["legs"].as_array().unwrap().iter().any(|l| l["held"] == true), "{view}");
    assert_eq!(ok_get(&api, "/queues/sales", &alice)["waiting"].as_array().map(Vec::len), Some(1));
    assert_eq!(ok_post(&api, &format!("/calls/{call}/transfer/cancel"), &alice, ""), json!({"call": call}));
    let view = ok_get(&api, &format!("/calls/{call}"), &alice);
    assert!(view["legs"].as_array().unwrap().iter().all(|l| l["held"] == false), "{view}");
    assert_eq!(ok_get(&api, "/queues/sales", &alice)["waiting"].as_array().map(Vec::len), Some(0));
    let body = json!({"leg": caller, "to": "queue:"}).to_string();
    let e = refused(&api, &format!("/calls/{call}/transfer"), &alice, &body, 400, Some("to"));
    assert_eq!(e, "to: `queue:` names no queue");
    let body = json!({"leg": caller, "to": "queue:sales"}).to_string();
    assert_eq!(ok_post(&api, &format!("/calls/{call}/transfer"), &alice, &body), json!({"call": call}));

    let pop = next_of(&mut ws, "screen_pop");
    let pop = &pop["pop"];
    assert_eq!(
        (&pop["agent"], &pop["call"], &pop["queue"], &pop["transferred_by"]),
        (&json!("1002"), &json!(call), &json!("sales"), &json!("1001")),
        "{pop}"
    );
    assert_eq!((&pop["vars"]["invoice"], &pop["vars"]["transferred_by"]), (&json!("A-17"), &json!("1001")), "{pop}");
    let notes = pop["notes"].as_array().expect("notes");
    assert_eq!(notes.len(), 1, "{pop}");
    assert_eq!((&notes[0]["author"], &notes[0]["text"]), (&json!("agent"), &json!("asked about the invoice")));
    // Alice's queue call is over; the caller waits, Bob's phone rings.
    let a = ok_get(&api, "/agents/1001", &sup);
    assert_eq!((&a["state"], &a["call"]), (&json!("ready"), &Value::Null), "{a}");
    let view = ok_get(&api, &format!("/calls/{call}"), &sup);
    let legs: Vec<(&str, &str)> = view["legs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["role"].as_str().unwrap(), l["party"].as_str().unwrap()))
        .collect();
    assert_eq!(legs, [("caller", "13800138000"), ("agent", "802")], "{view}");
    assert_eq!(api.server.core.answer_offer("1002"), Ok(ctibox_daemon::records::CallId(call)));
    assert_eq!(ok_get(&api, "/agents/1002", &sup)["call"], call);
    ws.close();
}

#[test]
fn a_transfer_to_an_agent_rings_the_agents_seat_or_says_why_not() {
    let api = Api::quiet();
    let sup = api.login("super");
    let alice = api.login("agent");
    let call = alice_takes_a_sales_call(&api, &sup);
    let view = ok_get(&api, &format!("/calls/{call}"), &alice);
    let caller = leg_of(&view, "caller");
    let path = format!("/calls/{call}/transfer");
    let to = |agent: &str| json!({"leg": caller, "to": agent}).to_string();

    let e = refused(&api, &path, &alice, &to("agent:1001"), 409, None);
    assert_eq!(e, "transfer to agent:1001: agent 1001 is busy (on a queue call)");
    let e = refused(&api, &path, &alice, &to("agent:1002"), 409, None);
    assert_eq!(e, "transfer to agent:1002: agent 1002 is logged out");
    let e = refused(&api, &path, &alice, &to("agent:9999"), 404, None);
    assert_eq!(e, "transfer to agent:9999: there is no agent `9999`");
    refused(&api, &path, &alice, &to("agent:"), 400, Some("to"));

    // Bob logged in to support only: a queue call of sales is not offered
    // him, but Alice may hand hers to him by name.
    ok_post(&api, "/agents/1002/login", &sup, r#"{"queues": ["support"]}"#);
    ok_post(&api, "/agents/1002/not_ready", &sup, r#"{"reason": "paperwork"}"#);
    let bob = api.login("agent2");
    let mut ws = Ws::connect(&api.server.url, WsToken::Header(&bob)).expect("upgrade");
    ws.set_timeout(Duration::from_secs(10));
    ws.json();
    ok_post(&api, &format!("/calls/{call}/notes"), &alice, r#"{"text": "over to you, Bob"}"#);
    ok_post(&api, &path, &alice, &to("agent:1002"));
    let pop = next_of(&mut ws, "screen_pop");
    let pop = &pop["pop"];
    assert_eq!(
        (&pop["agent"], &pop["transferred_by"], &pop["queue"], &pop["wait_ms"]),
        (&json!("1002"), &json!("1001"), &json!("sales"), &json!(0)),
        "{pop}"
    );
    assert_eq!(pop["notes"][0]["text"], "over to you, Bob", "{pop}");
    let view = ok_get(&api, &format!("/calls/{call}"), &sup);
    let legs: Vec<(&str, &str, &str)> = view["legs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["role"].as_str().unwrap(), l["party"].as_str().unwrap(), l["status"].as_str().unwrap()))
        .collect();
    assert_eq!(legs, [("caller", "13800138000", "up"), ("callee", "802", "ringing")], "{view}");
    assert_eq!(view["vars"]["transferred_by"], "1001", "{view}");
    assert_eq!(ok_get(&api, "/agents/1001", &sup)["state"], "ready", "Alice's queue call ended");
    // Bob's phone rings now: he is busy for another transfer.
    let e = refused(&api, &path, &sup, &to("agent:1002"), 409, None);
    assert_eq!(e, "transfer to agent:1002: agent 1002 is busy (extension 802 is in use)");
    ws.close();
}
