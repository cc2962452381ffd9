//! The simulator and the technician's tools as separate processes: bad
//! scenario files are named with file and line, a driver that vanishes
//! mid-call leaves the simulator ready for the next one, and `ctibox board`
//! works against a running simulator.

use std::process::Command;
use std::time::Duration as WallDuration;

use ctibox_driver::backend::sim::SimBoard;
use ctibox_driver::hal::{Board, BoardCommand, ChannelId, CommandKind, EventKind, Target};
use ctibox_e2e::{Proc, Scratch, bin, wait_for_socket};

fn run(name: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin(name)).args(args).output().unwrap_or_else(|e| panic!("run {name}: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_scenarios_name_file_line_and_problem() {
    let dir = Scratch::new("badscen");
    let cases = [
        ("[board]\nfxo = 4\nfxs = 0\ncolour = \"red\"\n", 4, "colour"),
        ("[board]\nfxo = 4\nfxs = 0\nmax_time = \"3 parsecs\"\n", 4, "parsecs"),
        ("[board]\nfxo = 4\nfxs = 0\n\n[[line]]\nport = 9\n", 6, "9"),
        (
            "[board]\nfxo = 4\nfxs = 0\n[[caller]]\nname = \"a\"\nfrom = \"1\"\nline = 1\nsteps = [ { do = \"dance\" } ]\n",
            8,
            "dance",
        ),
        ("[board\nfxo = 4\n", 1, ""),
    ];
    for (i, (text, line, what)) in cases.iter().enumerate() {
        let f = dir.path(&format!("bad{i}.toml"));
        std::fs::write(&f, text).unwrap();
        let (code, out, err) = run(
            "ctibox-sim",
            &["run", f.to_str().unwrap(), "--fast", "--socket", dir.path("s.sock").to_str().unwrap()],
        );
        assert_eq!(code, 2, "case {i}: exit 2 for a bad file\n{out}\n{err}");
        let all = format!("{out}{err}");
        let want = format!("{}:{line}:", f.display());
        assert!(all.contains(&want), "case {i}: wanted `{want}` in:\n{all}");
        assert!(all.contains(what), "case {i}: wanted `{what}` in:\n{all}");
    }
}

#[test]
fn a_driver_leaving_mid_call_leaves_the_simulator_ready() {
    let dir = Scratch::new("reattach");
    let sock = dir.path("sim.sock");
    let ctl = dir.path("sim.ctl");
    let (s, c) = (sock.to_str().unwrap(), ctl.to_str().unwrap());
    let _sim =
        Proc::start("ctibox-sim", &["serve", "--fxo", "4", "--fxs", "4", "--fast", "--socket", s, "--control", c]);
    wait_for_socket(&sock, WallDuration::from_secs(10));
    wait_for_socket(&ctl, WallDuration::from_secs(10));

    // First driver: take a call on line 1, then vanish mid-call.
    let mut b = SimBoard::connect(&sock, "first").unwrap();
    let n = b.info().tick_bytes();
    let (mut rx, tx) = (vec![0u8; n], vec![0xD5u8; n]);
    let mut ev = Vec::new();
    b.read_tick(&mut rx, &mut ev).unwrap();
    b.write_tick(&tx, &[]).unwrap();
    // The live command is carried out at the next tick, so keep ticking
    // while it is in flight.
    let caller = std::thread::spawn({
        let c = c.to_string();
        move || run("ctibox-sim", &["call", "--control", &c, "--line", "1", "--from", "13800138000"])
    });
    let mut answered = false;
    let deadline = std::time::Instant::now() + WallDuration::from_secs(20);
    while std::time::Instant::now() < deadline {
        ev.clear();
        b.read_tick(&mut rx, &mut ev).unwrap();
        let ring = ev.iter().any(|e| e.target == Target::Channel(ChannelId(1)) && e.kind == EventKind::RingOn);
        let cmds = if ring && !answered {
            answered = true;
            vec![BoardCommand::new(ChannelId(1), CommandKind::OffHook)]
        } else {
            vec![]
        };
        b.write_tick(&tx, &cmds).unwrap();
        if answered && caller.is_finished() {
            break;
        }
    }
    let (code, out, err) = caller.join().unwrap();
    assert_eq!(code, 0, "ctibox-sim call:\n{out}\n{err}");
    assert!(answered, "the driver saw line 1 ring");
    drop(b);

    // The simulator goes on: a second driver attaches and sees line 1 with
    // our port back on-hook; the board clock has carried on.
    let mut b2 = SimBoard::connect(&sock, "second").expect("the simulator accepts the next driver");
    assert!(!b2.signals().channel(ChannelId(1)).unwrap().off_hook);
    let t = b2.read_tick(&mut rx, &mut ev).unwrap();
    assert!(t.number > 1);
    b2.write_tick(&tx, &[]).unwrap();
    drop(b2);

    // And the tools work against it.
    let (code, out, err) = run("ctibox", &["board", "--board", &format!("sim:{s}"), "status"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("span 1  analog  alaw  channels 1-8"), "{out}");
    let (code, out, _) = run("ctibox", &["board", "--board", &format!("sim:{s}"), "status", "--json"]);
    assert_eq!(code, 0);
    let j: serde_json::Value = serde_json::from_str(&out).expect("status --json is JSON");
    assert_eq!(j["board"]["channels"].as_array().map(Vec::len), Some(8));
    let (code, out, err) = run("ctibox", &["board", "--board", &format!("sim:{s}"), "ring", "5", "--for", "0.5"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let (code, _, err) = run("ctibox", &["board", "--board", &format!("sim:{s}"), "ring", "1"]);
    assert_eq!(code, 2);
    assert!(err.contains("channel 1 is an fxo port; `ring` needs an fxs port"), "{err}");
    let (code, _, err) = run("ctibox", &["board", "--board", &format!("sim:{s}"), "offhook", "42"]);
    assert_eq!(code, 2);
    assert!(err.contains("channel 42 does not exist"), "{err}");
}

#[test]
fn tools_refuse_a_missing_simulator_and_bad_board_strings_clearly() {
    let (code, _, err) = run("ctibox", &["board", "--board", "sim:/nonexistent/x.sock", "status"]);
    assert_eq!(code, 2);
    assert!(err.contains("is `ctibox-sim serve` running?"), "{err}");
    let (code, _, err) = run("ctibox", &["board", "--board", "builtin:fxo=two", "status"]);
    assert_eq!(code, 2);
    assert!(err.contains("fxo must be a whole number"), "{err}");
    let (code, _, err) = run("ctibox", &["board", "--board", "dahdi", "status"]);
    assert_eq!(code, 2);
    assert!(err.contains("not written yet"), "{err}");
}
