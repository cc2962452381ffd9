//! The control socket: JSON lines in, JSON lines out, errors as replies.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ctibox_boardsim::InProcessBoard;
use ctibox_boardsim::control::{self, ControlServer, WireRequest};
use ctibox_boardsim::world::{World, WorldConfig};
use ctibox_driver::hal::Board;

/// A world ticking in its own thread with an idle driver.
fn running_world() -> (ctibox_boardsim::world::ControlHandle, Arc<AtomicBool>, std::thread::JoinHandle<()>) {
    let world = World::new(WorldConfig { fxo: 2, fxs: 2, ..WorldConfig::default() }).unwrap();
    let handle = world.control_handle();
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let t = std::thread::spawn(move || {
        let mut b = InProcessBoard::new(world);
        let mut rx = vec![0u8; b.info().tick_bytes()];
        let tx = rx.clone();
        let mut ev = Vec::new();
        while !s.load(Ordering::Relaxed) {
            ev.clear();
            b.read_tick(&mut rx, &mut ev).unwrap();
            b.write_tick(&tx, &[]).unwrap();
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
    });
    (handle, stop, t)
}

#[test]
fn requests_and_replies_over_the_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ctl");
    let (handle, stop, t) = running_world();
    let mut server = ControlServer::start(&path, handle).unwrap();
    let (h2, stop2, t2) = running_world();
    assert!(ControlServer::start(&path, h2).is_err(), "a live socket is not taken over");
    stop2.store(true, Ordering::Relaxed);
    t2.join().unwrap();

    let mut call = WireRequest::op("call");
    call.line = Some(1);
    call.from = Some("13800138000".into());
    call.tone = Some(vec![1000.0]);
    let r = control::send(&path, &call).unwrap();
    assert!(r.ok, "{r:?}");
    let r = control::send(&path, &call).unwrap();
    assert!(!r.ok && r.error.as_deref().unwrap().contains("busy"), "{r:?}");
    let mut off = WireRequest::op("offhook");
    off.phone = Some(3);
    assert!(control::send(&path, &off).unwrap().ok);
    let r = control::send(&path, &off).unwrap();
    assert_eq!(r.error.as_deref(), Some("phone 3 is already off-hook"));
    let mut dial = WireRequest::op("dial");
    dial.phone = Some(3);
    dial.digits = Some("12#".into());
    assert!(control::send(&path, &dial).unwrap().ok);

    let st = control::send(&path, &WireRequest::op("status")).unwrap();
    let s = st.status.unwrap();
    assert_eq!(s.lines[0].state, "ringing");
    assert!(s.phones[0].off_hook);
    let table = control::render_status(&s);
    assert!(table.contains("ringing") && table.contains("line 1"), "{table}");

    // Raw lines: malformed requests get replies naming the field, and the
    // connection stays usable.
    let stream = UnixStream::connect(&path).unwrap();
    let mut w = stream.try_clone().unwrap();
    let mut r = BufReader::new(stream);
    let mut ask = |line: &str| -> serde_json::Value {
        w.write_all(line.as_bytes()).unwrap();
        w.write_all(b"\n").unwrap();
        let mut s = String::new();
        r.read_line(&mut s).unwrap();
        serde_json::from_str(&s).unwrap()
    };
    let e = ask("{not json");
    assert_eq!(e["ok"], false);
    let e = ask(r#"{"op":"call","line":1,"frm":"1"}"#);
    assert!(e["error"].as_str().unwrap().contains("unknown field `frm`"), "{e}");
    let e = ask(r#"{"op":"call","line":2}"#);
    assert_eq!(e["error"], "call: field `from` is required");
    let e = ask(r#"{"op":"call","line":"one","from":"1"}"#);
    assert!(e["error"].as_str().unwrap().contains("invalid type"), "{e}");
    let e = ask(r#"{"op":"hangup","line":9}"#);
    assert_eq!(e["error"], "there is no line 9 (FXO ports are channels 1-2)");
    let e = ask(r#"{"op":"answer","phone":4}"#);
    assert_eq!(e["error"], "phone 4 is not ringing");
    let e = ask(r#"{"op":"jump"}"#);
    assert!(e["error"].as_str().unwrap().starts_with("field `op`: unknown request \"jump\""), "{e}");
    let e = ask(r#"{"op":"dial","phone":3,"digits":"12x"}"#);
    assert!(e["error"].as_str().unwrap().contains("'x'"), "{e}");
    let e = ask(r#"{"op":"status"}"#);
    assert_eq!(e["ok"], true);

    server.stop();
    assert!(!path.exists());
    stop.store(true, Ordering::Relaxed);
    t.join().unwrap();
}
