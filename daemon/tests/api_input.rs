//! Robust input: malformed JSON, unknown fields, wrong types and bad query
//! parameters give 400 naming the field; oversized bodies give 413 without
//! being read whole; unknown endpoints give JSON 404.

mod api_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use api_support::Api;

fn field(answer: &serde_json::Value) -> Option<&str> {
    answer["field"].as_str()
}

#[test]
fn bad_json_names_the_field() {
    let api = Api::start();
    let admin = api.login("admin");
    let cases: &[(&str, &str, &str)] = &[
        ("/calls", "{", "body"),
        ("/calls", r#"{"from": "801", "to": "802""#, "body"),
        ("/calls", "[1, 2]", "body"),
        ("/calls", "", "body"),
        ("/calls", r#"{"from": "801"}"#, "to"),
        ("/calls", r#"{"from": 801, "to": "802"}"#, "from"),
        ("/calls", r#"{"from": "801", "to": "802", "priority": 1}"#, "priority"),
        ("/calls/1/hold", r#"{"leg": "one"}"#, "leg"),
        ("/calls/1/hangup", r#"{"leg": 1.5}"#, "leg"),
        ("/calls/1/transfer", r#"{"leg": 1, "to": "802", "mode": "warm"}"#, "mode"),
        ("/calls/1/transfer/complete", r#"{"now": true}"#, "now"),
        ("/calls/1/transfer/cancel", r#"{"now": true}"#, "now"),
        ("/customers", r#"{"name": "A", "vip": 12345}"#, "vip"),
        ("/customers", r#"{"name": "A", "vip": -1}"#, "vip"),
        ("/customers", r#"{"name": "A", "phones": ["1", 2]}"#, "phones[1]"),
        ("/customers", r#"{"name": "A", "assigned": {"uid": 1}}"#, "assigned.uid"),
        ("/customers", r#"{"name": "A", "phones": ["12ab"]}"#, "phones"),
        ("/customers", r#"{"name": ""}"#, "name"),
        ("/users", r#"{"username": "x", "password": "p", "role": "boss"}"#, "role"),
        ("/extensions", r#"{"number": "8a1"}"#, "number"),
        ("/extensions", r#"{"number": "811", "channel": "two"}"#, "channel"),
    ];
    for (path, body, want) in cases {
        let (status, answer) = api.post(path, &admin, body);
        assert_eq!(status, 400, "POST {path} {body}: {answer}");
        assert_eq!(field(&answer), Some(*want), "POST {path} {body}: {answer}");
        assert!(answer["error"].as_str().is_some_and(|e| !e.is_empty()), "{answer}");
    }
    // An unknown field in an update is refused, not ignored.
    let (status, answer) = api.req("PUT", "/customers/1", Some(&admin), Some(r#"{"nmae": "B"}"#));
    assert_eq!((status, field(&answer)), (400, Some("nmae")), "{answer}");
    // A path id that is not a number.
    let (status, answer) = api.get("/calls/abc", &admin);
    assert_eq!((status, field(&answer)), (400, Some("id")), "{answer}");
}

#[test]
fn bad_query_parameters_name_the_field() {
    let api = Api::start();
    let admin = api.login("admin");
    let cases: &[(&str, &str)] = &[
        ("/cdr?limit=ten", "limit"),
        ("/cdr?limit=0", "limit"),
        ("/cdr?limit=5000", "limit"),
        ("/cdr?from_ms=yesterday", "from_ms"),
        ("/cdr?direction=sideways", "direction"),
        ("/cdr?order=random", "order"),
        ("/cdr?after=42", "after"),
        ("/cdr?channel=-1", "channel"),
        ("/cdr?number=abc", "number"),
        ("/cdr?colour=blue", "colour"),
        ("/cdr?limit=1&limit=2", "limit"),
        ("/customers?limit=-5", "limit"),
        ("/customers?q=a&page=2", "page"),
        ("/customers/lookup", "number"),
        ("/customers/import?dry_run=maybe", "dry_run"),
    ];
    for (path, want) in cases {
        let method = if path.contains("import") { "POST" } else { "GET" };
        let (status, answer) =
            api.raw(method, path, Some(&admin), Some(("text/csv", "name\nA\n")).filter(|_| method == "POST"));
        assert_eq!(status, 400, "{path}: {answer}");
        assert_eq!(field(&answer), Some(*want), "{path}: {answer}");
    }
}

/// Reads an answer's head and returns its status line ("" when the server
/// closed without one).
fn status_line(s: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&answer).lines().next().unwrap_or("").to_string()
}

/// Sends a request head and `sent` bytes of a body that claims to be
/// `declared` bytes long, then reads the answer's status line.
fn status_of_oversized(api: &Api, path: &str, token: &str, declared: usize, sent: usize, ctype: &str) -> String {
    let addr = api.server.url.trim_start_matches("http://").to_string();
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let head = format!(
        "POST /api/v1{path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: {ctype}\r\nContent-Length: {declared}\r\n\r\n"
    );
    s.write_all(head.as_bytes()).unwrap();
    let _ = s.write_all(&vec![b' '; sent]);
    status_line(&mut s)
}

/// Sends a chunked JSON body of about `len` bytes, stopping quietly when
/// the server has answered and closed, then reads the status line.
fn status_of_chunked(api: &Api, path: &str, token: &str, len: usize) -> String {
    let addr = api.server.url.trim_start_matches("http://").to_string();
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let head = format!(
        "POST /api/v1{path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    s.write_all(head.as_bytes()).unwrap();
    let mut body = format!(r#"{{"name": "{}"}}"#, "x".repeat(len)).into_bytes();
    body.truncate(len.max(16));
    for chunk in body.chunks(16 * 1024) {
        let mut piece = format!("{:x}\r\n", chunk.len()).into_bytes();
        piece.extend_from_slice(chunk);
        piece.extend_from_slice(b"\r\n");
        if s.write_all(&piece).is_err() {
            break;
        }
    }
    let _ = s.write_all(b"0\r\n\r\n");
    status_line(&mut s)
}

#[test]
fn big_bodies_are_refused_unread() {
    let api = Api::start();
    let admin = api.login("admin");
    // 10 MB announced, 64 KiB sent: the answer comes without the rest.
    let line = status_of_oversized(&api, "/customers", &admin, 10_000_000, 65_536, "application/json");
    assert!(line.starts_with("HTTP/1.1 413"), "{line}");
    let line = status_of_oversized(&api, "/customers/import", &admin, 10_000_000, 65_536, "text/csv");
    assert!(line.starts_with("HTTP/1.1 413"), "{line}");
    // The CSV limit is 8 MiB, the JSON one 1 MiB: 2 MB of CSV is read.
    let line = status_of_oversized(&api, "/customers", &admin, 2_000_000, 0, "application/json");
    assert!(line.starts_with("HTTP/1.1 413"), "{line}");

    // A body without a length (chunked) is cut off at the limit too.
    let line = status_of_chunked(&api, "/customers", &admin, 1_100_000);
    assert!(line.starts_with("HTTP/1.1 413"), "{line}");
    // Just under the limit is read (and refused for what it says).
    let fits = format!(r#"{{"name": "{}"}}"#, "x".repeat(1_000_000));
    let (status, answer) = api.post("/customers", &admin, &fits);
    assert_eq!((status, field(&answer)), (400, Some("name")), "{answer}");
    // Agents are refused before their body is looked at.
    let agent = api.login("agent");
    let line = status_of_oversized(&api, "/customers/import", &agent, 10_000_000, 1024, "text/csv");
    assert!(line.starts_with("HTTP/1.1 403"), "{line}");
}

#[test]
fn unknown_endpoints_and_methods() {
    let api = Api::start();
    let admin = api.login("admin");
    let (status, answer) = api.get("/nothing", &admin);
    assert_eq!(status, 404);
    assert!(answer["error"].is_string());
    let (status, answer) = api.req("GET", "/../etc/passwd", None, None);
    assert_eq!(status, 404, "{answer}");
    let (status, answer) = api.req("DELETE", "/calls", Some(&admin), None);
    assert_eq!(status, 405, "{answer}");
    assert!(answer["error"].is_string());
}
