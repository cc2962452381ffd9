//! Authentication and roles: every endpoint × every role, login failures,
//! token expiry, logout, agents limited to their own extension.

mod api_support;

use std::time::Duration;

use api_support::Api;
use ctibox_daemon::api::testing::TestServerOptions;

const ALL: &[&str] = &["admin", "super", "agent"];
const STAFF: &[&str] = &["admin", "super"];
const ADMIN: &[&str] = &["admin"];

/// (method, path, content type and body, roles allowed). The bodies are
/// chosen so that the agent (extension 801, in ringing call 1) is allowed,
/// and so that the requests leave call 1 alone until the last ones.
type Endpoint = (&'static str, &'static str, Option<(&'static str, &'static str)>, &'static [&'static str]);

fn endpoints() -> Vec<Endpoint> {
    let json = |b| Some(("application/json", b));
    vec![
        ("GET", "/status", None, ALL),
        ("GET", "/channels", None, ALL),
        ("GET", "/calls", None, ALL),
        ("GET", "/calls/1", None, ALL),
        ("POST", "/calls", json(r#"{"from": "801", "to": "0001"}"#), ALL),
        ("POST", "/calls/1/hold", json(r#"{"leg": 1}"#), ALL),
        ("POST", "/calls/1/unhold", json(r#"{"leg": 1}"#), ALL),
        ("POST", "/calls/1/transfer", json(r#"{"leg": 1, "to": "0009", "mode": "attended"}"#), ALL),
        ("POST", "/calls/1/transfer/complete", None, ALL),
        ("POST", "/calls/1/transfer/cancel", None, ALL),
        ("POST", "/calls/1/conference", json(r#"{"to": "0009"}"#), ALL),
        ("GET", "/extensions", None, ALL),
        ("POST", "/extensions", json(r#"{"number": "901", "name": "Lobby"}"#), ADMIN),
        ("PUT", "/extensions/901", json(r#"{"number": "901", "name": "Hall"}"#), ADMIN),
        ("DELETE", "/extensions/901", None, ADMIN),
        ("GET", "/customers?q=a", None, ALL),
        ("GET", "/customers/lookup?number=13800138000", None, ALL),
        ("POST", "/customers", json(r#"{"name": "Test Customer", "phones": ["13800138000"]}"#), ALL),
        ("GET", "/customers/1", None, ALL),
        ("PUT", "/customers/1", json(r#"{"notes": "called"}"#), ALL),
        ("DELETE", "/customers/999", None, STAFF),
        ("POST", "/customers/import?dry_run=true", Some(("text/csv", "name,phone\nZed,5550001\n")), STAFF),
        ("GET", "/cdr", None, ALL),
        ("GET", "/users", None, ADMIN),
        ("POST", "/users", json(r#"{"username": "newbie", "password": "pw", "role": "agent"}"#), ADMIN),
        ("PUT", "/users/999", json(r#"{"display_name": "X"}"#), ADMIN),
        ("DELETE", "/users/999", None, ADMIN),
        ("POST", "/config/reload", None, ADMIN),
        ("GET", "/events", None, ALL),
        ("POST", "/calls/1/answer", None, STAFF),
        ("POST", "/calls/1/hangup", json(r#"{"leg": 999}"#), ALL),
    ]
}

#[test]
fn every_endpoint_needs_a_token() {
    let api = Api::start();
    for (method, path, body, _) in endpoints() {
        let (status, answer) = api.raw(method, path, None, body);
        assert_eq!(status, 401, "{method} {path} without a token: {answer}");
        assert!(answer["error"].is_string(), "{method} {path}: {answer}");
        let (status, _) = api.raw(method, path, Some("not-a-token"), body);
        assert_eq!(status, 401, "{method} {path} with an unknown token");
    }
    // The WebSocket's query token counts as a token too: a bad one is 401.
    let (status, _) = api.req("GET", "/events?token=bad", None, None);
    assert_eq!(status, 401);
}

#[test]
fn every_endpoint_checks_the_role() {
    for user in ["agent", "super", "admin"] {
        // A fresh server per role: each run starts from the same state.
        let api = Api::start();
        let token = api.login(user);
        for (method, path, body, allowed) in endpoints() {
            let (status, answer) = api.raw(method, path, Some(&token), body);
            if allowed.contains(&user) {
                assert!(status != 401 && status != 403, "{user} may {method} {path}, got {status}: {answer}");
                assert!(status < 500, "{user} {method} {path}: {status} {answer}");
            } else {
                assert_eq!(status, 403, "{user} may not {method} {path}: {answer}");
            }
        }
    }
}

#[test]
fn login_failures() {
    let api = Api::start();
    let login = |body: &str| api.req("POST", "/login", None, Some(body));
    let (status, body) = login(r#"{"username": "admin", "password": "wrong"}"#);
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "wrong username or password");
    let (status, _) = login(r#"{"username": "nobody", "password": "admin-pw"}"#);
    assert_eq!(status, 401);
    let (status, body) = login(r#"{"username": "admin"}"#);
    assert_eq!((status, body["field"].as_str()), (400, Some("password")), "{body}");
    let (status, body) = login(r#"{"username": "admin", "password": 5}"#);
    assert_eq!((status, body["field"].as_str()), (400, Some("password")), "{body}");
    let (status, body) = login("not json");
    assert_eq!((status, body["field"].as_str()), (400, Some("body")), "{body}");

    let (status, body) = login(r#"{"username": "admin", "password": "admin-pw"}"#);
    assert_eq!(status, 200);
    assert_eq!(body["role"], "admin");
    assert_eq!(body["username"], "admin");
    assert_eq!(body["token"].as_str().unwrap().len(), 64);
    assert!(body["expires_at_ms"].as_i64().unwrap() > 1_600_000_000_000);
    assert_eq!(body["agent"], serde_json::Value::Null, "admin is no ACD agent: {body}");
    // An agent user learns which ACD agent it is (the console's agent view).
    let (status, body) = login(r#"{"username": "agent", "password": "agent-pw"}"#);
    assert_eq!((status, body["role"].as_str(), body["agent"].as_str()), (200, Some("agent"), Some("1001")), "{body}");

    // A disabled user cannot log in, and its sessions end.
    let admin = api.login("admin");
    let agent = api.login("agent");
    let agent_id = api.server.reader.user_by_username("agent").unwrap().unwrap().id.0;
    let (status, body) = api.req("PUT", &format!("/users/{agent_id}"), Some(&admin), Some(r#"{"disabled": true}"#));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["disabled"], true);
    assert!(body.get("password_hash").is_none(), "hashes never leave: {body}");
    assert_eq!(api.get("/status", &agent).0, 401);
    let (status, _) = login(r#"{"username": "agent", "password": "agent-pw"}"#);
    assert_eq!(status, 401);
}

#[test]
fn tokens_expire_and_logout_ends_them() {
    let api = Api::start_with(TestServerOptions { token_ttl_ms: 400, ..TestServerOptions::default() });
    let token = api.login("super");
    assert_eq!(api.get("/status", &token).0, 200);
    std::thread::sleep(Duration::from_millis(600));
    let (status, body) = api.get("/status", &token);
    assert_eq!(status, 401, "{body}");
    assert!(body["error"].as_str().unwrap().contains("expired"), "{body}");

    let token = api.login("super");
    let other = api.login("super");
    let (status, body) = api.req("POST", "/logout", Some(&token), None);
    assert_eq!((status, body), (204, serde_json::Value::Null));
    assert_eq!(api.get("/status", &token).0, 401);
    assert_eq!(api.get("/status", &other).0, 200, "only that session ended");
    assert_eq!(api.req("POST", "/logout", Some(&token), None).0, 401);
}

#[test]
fn changing_a_user_ends_its_sessions() {
    let api = Api::start();
    let admin = api.login("admin");
    let agent = api.login("agent");
    let id = api.server.reader.user_by_username("agent").unwrap().unwrap().id.0;
    let (status, body) = api.req("PUT", &format!("/users/{id}"), Some(&admin), Some(r#"{"role": "supervisor"}"#));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["role"], "supervisor");
    assert_eq!(api.get("/status", &agent).0, 401);
    assert_eq!(api.login("agent").len(), 64);
}

#[test]
fn agents_only_act_for_their_own_extension() {
    let api = Api::start();
    // Call 1 rings extension 801 (agent); agent2 sits at 802.
    let agent = api.login("agent");
    let agent2 = api.login("agent2");
    let (status, body) = api.post("/calls/1/hangup", &agent2, "{}");
    assert_eq!(status, 403, "{body}");
    let (status, body) = api.post("/calls/1/hold", &agent2, r#"{"leg": 1}"#);
    assert_eq!(status, 403, "{body}");
    let (status, body) = api.post("/calls", &agent, r#"{"from": "802", "to": "803"}"#);
    assert_eq!(status, 403, "{body}");
    let (status, body) = api.post("/calls", &agent2, r#"{"from": "802", "to": "803"}"#);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["call"], 2);
    let (status, body) = api.post("/calls/1/answer", &agent, "");
    assert_eq!(status, 403, "{body}");
    let (status, body) = api.get("/cdr?extension=802", &agent);
    assert_eq!(status, 403, "{body}");
    assert_eq!(api.get("/cdr?extension=801", &agent).0, 200);
    let (status, body) = api.post("/calls/1/hangup", &agent, "");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["call"], 1);
    // The call is gone: 404 (not 403) for the agent.
    assert_eq!(api.post("/calls/1/hangup", &agent, "").0, 404);
    // An agent with no extension cannot read the call history.
    let admin = api.login("admin");
    let (status, body) = api.post("/users", &admin, r#"{"username": "floater", "password": "fl-pw", "role": "agent"}"#);
    assert_eq!(status, 201, "{body}");
    let (status, body) = api.req("POST", "/login", None, Some(r#"{"username": "floater", "password": "fl-pw"}"#));
    assert_eq!(status, 200);
    let floater = body["token"].as_str().unwrap().to_string();
    assert_eq!(api.get("/cdr", &floater).0, 403);
    // ...until the directory gives it one.
    let id = body_id(&api, &admin, "floater");
    let (status, body) =
        api.post("/extensions", &admin, &format!(r#"{{"number": "803", "name": "Floater", "user": {id}}}"#));
    assert_eq!(status, 201, "{body}");
    assert_eq!(api.get("/cdr", &floater).0, 200);
    assert_eq!(api.post("/calls/2/hangup", &floater, "").0, 200, "803 is in call 2");
    let (status, body) = api.post("/calls", &floater, r#"{"from": "803", "to": "13900000000"}"#);
    assert_eq!(status, 200, "{body}");
}

fn body_id(api: &Api, admin: &str, username: &str) -> i64 {
    let (_, users) = api.get("/users", admin);
    users.as_array().unwrap().iter().find(|u| u["username"] == username).unwrap()["id"].as_i64().unwrap()
}
