//! The CTI event stream (`GET /api/v1/events`) over a real WebSocket: the
//! snapshot first, then every event in order with no gap and no repeat;
//! reconnecting gives a fresh snapshot; a client that falls behind is told
//! it lagged; tokens in the header or the query, 401 before the upgrade;
//! logout and server shutdown close the stream.

mod api_support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use api_support::{Api, Ws, WsNext, WsToken};
use ctibox_daemon::api::testing::TestServerOptions;
use ctibox_daemon::records::CallId;
use serde_json::{Value, json};

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object().unwrap_or_else(|| panic!("not an object: {v}")).keys().map(String::as_str).collect()
}

fn seq(v: &Value) -> u64 {
    v["seq"].as_u64().unwrap_or_else(|| panic!("no seq: {v}"))
}

/// Connects (token in the header) and reads the snapshot.
fn connect(api: &Api, token: &str) -> (Ws, Value) {
    let mut ws = Ws::connect(&api.server.url, WsToken::Header(token)).expect("upgrade");
    let snapshot = ws.json();
    assert_eq!(snapshot["type"], "snapshot", "the first message: {snapshot}");
    (ws, snapshot)
}

#[test]
fn snapshot_then_events_in_order() {
    let api = Api::start();
    let agent = api.login("agent");
    let mut ws = Ws::connect(&api.server.url, WsToken::Query(&agent)).expect("upgrade with ?token=");
    let snap = ws.json();
    assert_eq!(
        keys(&snap),
        BTreeSet::from(["type", "seq", "board_ms", "channels", "calls", "agents", "queues"]),
        "{snap}"
    );
    assert_eq!(snap["type"], "snapshot");
    let s = seq(&snap);
    assert_eq!(s, api.server.core.seq(), "the snapshot is current");
    assert!(snap["board_ms"].is_u64());
    assert_eq!(snap["channels"].as_array().unwrap().len(), 4);
    let calls = snap["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!((calls[0]["call"].as_i64(), calls[0]["status"].as_str()), (Some(1), Some("ringing")));

    api.server.core.caller_id(1, "13800138000", Some(CallId(1)));
    api.server.core.dtmf(2, '5', Some(CallId(1)));
    let cid = ws.json();
    assert_eq!(keys(&cid), BTreeSet::from(["seq", "at_ms", "type", "channel", "number", "name", "call"]), "{cid}");
    assert_eq!(
        (seq(&cid), &cid["type"], &cid["channel"], &cid["number"], &cid["name"], &cid["call"]),
        (s + 1, &json!("caller_id"), &json!(1), &json!("13800138000"), &Value::Null, &json!(1)),
        "{cid}"
    );
    let dtmf = ws.json();
    assert_eq!(keys(&dtmf), BTreeSet::from(["seq", "at_ms", "type", "channel", "digit", "call"]), "{dtmf}");
    assert_eq!((seq(&dtmf), &dtmf["digit"], &dtmf["channel"]), (s + 2, &json!("5"), &json!(2)), "{dtmf}");

    // A refused request publishes nothing; click-to-dial: the channels ring
    // and the call appears, in order.
    let (status, body) = api.post("/calls", &agent, r#"{"from": "801", "to": "13900139000"}"#);
    assert_eq!(status, 409, "801 is busy with call 1: {body}");
    let agent2 = api.login("agent2");
    let (status, body) = api.post("/calls", &agent2, r#"{"from": "802", "to": "803"}"#);
    assert_eq!(status, 200, "{body}");
    let id = body["call"].as_i64().unwrap();
    let mut last = s + 2;
    let mut rung = BTreeSet::new();
    let call = loop {
        let event = ws.json();
        assert_eq!(seq(&event), last + 1, "no gap, no repeat: {event}");
        last = seq(&event);
        assert!(event["at_ms"].is_u64(), "{event}");
        match event["type"].as_str() {
            Some("channel") => {
                let ch = &event["channel"];
                assert_eq!((ch["status"].as_str(), ch["call"].as_i64()), (Some("ringing"), Some(id)), "{event}");
                rung.insert(ch["channel"].as_u64().unwrap());
            }
            Some("call") => break event["call"].clone(),
            _ => panic!("unexpected {event}"),
        }
    };
    assert_eq!(rung, BTreeSet::from([3, 4]), "both extensions ring before the call is announced");
    assert_eq!((call["call"].as_i64(), call["status"].as_str()), (Some(id), Some("ringing")), "{call}");
    assert_eq!(call["legs"].as_array().unwrap().len(), 2);

    // The hangup: the call ends, then its channels go idle.
    assert_eq!(api.post(&format!("/calls/{id}/hangup"), &agent2, "").0, 200);
    let ended = ws.json();
    assert_eq!(seq(&ended), last + 1);
    assert_eq!((ended["type"].as_str(), ended["call"]["status"].as_str()), (Some("call"), Some("ended")), "{ended}");
    assert_eq!(ended["call"]["cause"], "normal");
    for _ in 0..2 {
        let idle = ws.json();
        assert_eq!((idle["type"].as_str(), idle["channel"]["status"].as_str()), (Some("channel"), Some("idle")));
    }
    assert_eq!(api.server.core.seq(), last + 3, "nothing else was published");
    ws.close();
}

#[test]
fn a_reconnecting_client_gets_a_fresh_snapshot() {
    let api = Api::start();
    let sup = api.login("super");
    let (ws, first) = connect(&api, &sup);
    ws.close();
    // While it is away: caller ID, a new call, the old call answered.
    api.server.core.caller_id(1, "13800138000", Some(CallId(1)));
    let (_, body) = api.post("/calls", &sup, r#"{"from": "802", "to": "803"}"#);
    let id = body["call"].as_i64().unwrap();
    assert_eq!(api.post("/calls/1/answer", &sup, "").0, 200);
    let missed = api.server.core.seq() - seq(&first);
    assert!(missed >= 5, "{missed} events missed");

    let (mut ws, snap) = connect(&api, &sup);
    assert_eq!(seq(&snap), api.server.core.seq(), "the snapshot covers everything missed");
    let calls = snap["calls"].as_array().unwrap();
    let find = |n: i64| calls.iter().find(|c| c["call"] == n).unwrap_or_else(|| panic!("call {n} in {snap}"));
    assert_eq!(find(1)["status"], "up", "the answer is in it");
    assert_eq!(find(id)["status"], "ringing");
    let channels = snap["channels"].as_array().unwrap();
    assert_eq!(channels[2]["call"], id, "{snap}");
    // What follows starts right after the snapshot: nothing missed is replayed.
    api.server.core.dtmf(1, '#', Some(CallId(1)));
    let next = ws.json();
    assert_eq!((seq(&next), next["type"].as_str()), (seq(&snap) + 1, Some("dtmf")), "{next}");
}

#[test]
fn events_during_the_connection_are_neither_lost_nor_repeated() {
    let api = Api::start();
    let token = api.login("agent");
    // Events are published while clients connect: each client's snapshot and
    // stream must join without a gap or a repeat.
    let publishing = std::sync::atomic::AtomicBool::new(true);
    let last = api.server.core.seq() + 3000;
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for i in 0..3000u32 {
                api.server.core.dtmf(2, char::from(b'0' + (i % 10) as u8), None);
                if i % 50 == 0 {
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
            publishing.store(false, std::sync::atomic::Ordering::Release);
        });
        let mut clients = 0;
        while publishing.load(std::sync::atomic::Ordering::Acquire) || clients == 0 {
            let (mut ws, snap) = connect(&api, &token);
            clients += 1;
            let mut expected = seq(&snap) + 1;
            // Read up to some later point of the stream.
            let until = (api.server.core.seq() + 20).min(last);
            while expected <= until {
                let event = ws.json();
                assert_eq!(seq(&event), expected, "client {clients}: {event}");
                expected += 1;
            }
            ws.close();
        }
        assert!(clients > 1, "several clients joined while events were published");
    });
}

#[test]
fn a_slow_client_is_told_it_lagged_and_must_reconnect() {
    let api = Api::start_with(TestServerOptions { event_backlog: 16, ..TestServerOptions::default() });
    let token = api.login("super");
    let (mut ws, snap) = connect(&api, &token);
    let start = seq(&snap);
    // The client reads nothing while far more is published than the socket
    // buffers and the backlog hold.
    let published = 300_000u64;
    for i in 0..published {
        api.server.core.dtmf(2, if i % 2 == 0 { '1' } else { '2' }, None);
    }
    let mut last = start;
    let missed = loop {
        match ws.next() {
            WsNext::Json(v) if v["type"] == "lagged" => {
                assert_eq!(keys(&v), BTreeSet::from(["type", "missed"]), "{v}");
                break v["missed"].as_u64().expect("missed");
            }
            WsNext::Json(v) => {
                assert!(seq(&v) == last + 1, "in order until the lag: {v} after {last}");
                last = seq(&v);
            }
            other => panic!("expected events then lagged, got {other:?} after {last}"),
        }
    };
    assert!(missed > 0 && last + missed <= start + published, "missed {missed} after {last}");
    // docs/api.md: the stream then ends; the client reconnects for a snapshot.
    match ws.next() {
        WsNext::Closed(Some((code, reason))) => {
            assert_eq!(code, 1013, "try again: {reason}");
            assert!(reason.contains("snapshot"), "{reason}");
        }
        other => panic!("after lagged the stream closes, got {other:?}"),
    }
    let (mut ws, snap) = connect(&api, &token);
    assert_eq!(seq(&snap), start + published);
    api.server.core.dtmf(3, '9', None);
    assert_eq!(seq(&ws.json()), start + published + 1);
}

#[test]
fn tokens_in_the_header_or_the_query_and_401_before_the_upgrade() {
    let api = Api::start();
    let token = api.login("agent");
    for how in [WsToken::Header(&token), WsToken::Query(&token)] {
        let mut ws = Ws::connect(&api.server.url, how).unwrap_or_else(|e| panic!("{how:?}: {e:?}"));
        assert_eq!(ws.json()["type"], "snapshot");
        ws.close();
    }
    for how in [WsToken::None, WsToken::Header("not-a-token"), WsToken::Query("not-a-token")] {
        let (status, body) = match Ws::connect(&api.server.url, how) {
            Ok(_) => panic!("{how:?}: upgraded"),
            Err(refused) => refused,
        };
        assert_eq!(status, 401, "{how:?}: {body}");
        let body: Value = serde_json::from_str(&body).expect("a JSON error");
        assert!(body["error"].is_string(), "{body}");
    }
    // Unknown query parameters are refused too, before the upgrade.
    let (status, _) = match Ws::connect(&api.server.url, WsToken::Query(&format!("{token}&since=5"))) {
        Ok(_) => panic!("upgraded"),
        Err(refused) => refused,
    };
    assert_eq!(status, 400);
    // A plain GET with a good token is not an upgrade: 400, not a hang.
    let (status, body) = api.get("/events", &token);
    assert_eq!(status, 400, "{body}");

    // Logging out ends the stream.
    let (mut ws, _) = connect(&api, &token);
    assert_eq!(api.req("POST", "/logout", Some(&token), None).0, 204);
    let start = Instant::now();
    match ws.next() {
        WsNext::Closed(Some((code, reason))) => assert_eq!(code, 1008, "{reason}"),
        other => panic!("after logout: {other:?}"),
    }
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn server_shutdown_closes_open_streams() {
    let api = Api::start();
    let token = api.login("admin");
    let (mut one, _) = connect(&api, &token);
    let (mut two, _) = connect(&api, &token);
    api.server.core.dtmf(2, '1', None);
    assert_eq!(one.json()["type"], "dtmf");
    let start = Instant::now();
    let stopper = std::thread::spawn(move || drop(api));
    for ws in [&mut one, &mut two] {
        ws.set_timeout(Duration::from_secs(10));
        let mut next = ws.next();
        if let WsNext::Json(v) = &next {
            assert_eq!(v["type"], "dtmf", "{v}");
            next = ws.next();
        }
        match next {
            WsNext::Closed(Some((code, reason))) => assert_eq!(code, 1001, "going away: {reason}"),
            other => panic!("the server stopped: {other:?}"),
        }
    }
    stopper.join().expect("the server stops");
    assert!(start.elapsed() < Duration::from_secs(5), "stopping took {:?}", start.elapsed());
}

#[test]
fn a_silent_core_gives_an_error_and_a_close() {
    let api =
        Api::start_with(TestServerOptions { core_timeout: Duration::from_millis(300), ..TestServerOptions::default() });
    let token = api.login("agent");
    api.server.core.set_silent(true);
    let mut ws = Ws::connect(&api.server.url, WsToken::Header(&token)).expect("upgrade");
    let error = ws.json();
    assert_eq!(error["type"], "error", "{error}");
    assert!(error["error"].as_str().is_some_and(|e| !e.is_empty()), "{error}");
    match ws.next() {
        WsNext::Closed(Some((code, _))) => assert_eq!(code, 1013),
        other => panic!("{other:?}"),
    }
    api.server.core.set_silent(false);
    let (_, snap) = connect(&api, &token);
    assert_eq!(seq(&snap), api.server.core.seq());
}

#[test]
fn an_expired_session_ends_the_stream() {
    let api = Api::start_with(TestServerOptions { token_ttl_ms: 1500, ..TestServerOptions::default() });
    let token = api.login("agent");
    let (mut ws, _) = connect(&api, &token);
    let start = Instant::now();
    // Events still flow while the session lives.
    api.server.core.dtmf(2, '4', None);
    assert_eq!(ws.json()["digit"], "4");
    match ws.next() {
        WsNext::Closed(Some((code, reason))) => assert_eq!(code, 1008, "{reason}"),
        WsNext::Timeout => panic!("still open after {:?}", start.elapsed()),
        other => panic!("{other:?}"),
    }
    let took = start.elapsed();
    assert!(took < Duration::from_secs(4), "closed {took:?} after the session's last second began");
}
