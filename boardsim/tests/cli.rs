//! `ctibox-sim` end to end: the binary serves a scenario over its socket to
//! a driver attached through the driver's sim backend; live commands reach
//! a running simulator through the control socket.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration as WallDuration, Instant};

use ctibox_driver::backend::sim::SimBoard;
use ctibox_driver::dsp::dtmf::{DtmfTxConfig, dtmf_samples};
use ctibox_driver::dsp::g711;
use ctibox_driver::hal::{Board, BoardCommand, ChannelKind, CommandKind, EventKind, Target};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ctibox-sim"))
}

fn wait_for(path: &Path) {
    let t0 = Instant::now();
    while !path.exists() {
        assert!(t0.elapsed() < WallDuration::from_secs(20), "{} never appeared", path.display());
        std::thread::sleep(WallDuration::from_millis(20));
    }
}

/// Answer FXO ports on the second ring, say "42" in DTMF and then a tone,
/// hang up on a loop-current drop; run until the simulator goes away.
fn toy_driver(board: &mut SimBoard) {
    let info = board.info().clone();
    let n = info.tick.samples();
    let law = info.spans[0].law;
    let mut rx = vec![0u8; info.tick_bytes()];
    let mut tx = vec![law.silence(); info.tick_bytes()];
    let mut events = Vec::new();
    let mut rings = vec![0u32; info.channel_count()];
    let mut talk: Vec<Option<(Vec<i16>, usize)>> = vec![None; info.channel_count()];
    let mut lin = vec![0i16; n];
    let mut commands = Vec::new();
    let t0 = Instant::now();
    while t0.elapsed() < WallDuration::from_secs(60) {
        events.clear();
        if board.read_tick(&mut rx, &mut events).is_err() {
            return;
        }
        commands.clear();
        for e in &events {
            let Target::Channel(ch) = e.target else { continue };
            let i = ch.index();
            match e.kind {
                EventKind::RingOn => {
                    rings[i] += 1;
                    if rings[i] == 2 {
                        commands.push(BoardCommand::new(ch, CommandKind::OffHook));
                        let mut s = dtmf_samples("42", DtmfTxConfig::new(-8.0, 0.0, 80, 80)).unwrap();
                        s.extend((0..8000 * 30).map(|k| ((k as f32 * 0.6).sin() * 3000.0) as i16));
                        talk[i] = Some((s, 0));
                    }
                }
                EventKind::LoopCurrentDrop => {
                    commands.push(BoardCommand::new(ch, CommandKind::OnHook));
                    talk[i] = None;
                    rings[i] = 0;
                }
                _ => {}
            }
        }
        for c in &info.channels {
            let i = c.id.index();
            lin.fill(0);
            if let (ChannelKind::Fxo, Some((s, pos))) = (c.kind, talk[i].as_mut()) {
                let k = (s.len() - *pos).min(n);
                lin[..k].copy_from_slice(&s[*pos..*pos + k]);
                *pos += k;
            }
            g711::encode_block(law, &lin, &mut tx[i * n..(i + 1) * n]);
        }
        if board.write_tick(&tx, &commands).is_err() {
            return;
        }
    }
}

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(name)
}

#[test]
fn run_serves_a_scenario_to_a_driver_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("board.sock");
    let report = dir.path().join("r.json");
    let child = bin()
        .args(["run", scenario("inbound_ivr.toml").to_str().unwrap(), "--fast", "--socket"])
        .arg(&sock)
        .arg("--report")
        .arg(&report)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&sock);
    let mut board = SimBoard::connect(&sock, "cli-test").unwrap();
    toy_driver(&mut board);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("PASS") && stdout.trim_end().ends_with("2 passed, 0 failed"), "{stdout}");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(json["passed"], 2);
}

#[test]
fn run_with_a_bad_scenario_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.toml");
    std::fs::write(&p, "[board]\nfxo = 2\n\n[[line]]\nport = 7\n").unwrap();
    let out = bin().arg("run").arg(&p).arg("--socket").arg(dir.path().join("s")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:5:8: line: there is no line 7"), "{err}");
}

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.0.id() as i32), nix::sys::signal::SIGTERM);
        let _ = self.0.wait();
    }
}

#[test]
fn live_commands_against_a_running_simulator() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("board.sock");
    let ctl = dir.path().join("ctl");
    let serve = Killed(
        bin()
            .args(["serve", "--fxo", "3", "--fxs", "1", "--realtime", "--socket"])
            .arg(&sock)
            .arg("--control")
            .arg(&ctl)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for(&ctl);
    let run = |args: &[&str]| {
        let out = bin().args(args).arg("--control").arg(&ctl).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = run(&["call", "--line", "1", "--from", "13800138000", "--tone", "1000"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.starts_with("ok at board time"), "{out}");
    // Many calls over one connection: numbers and pattern seeds count up.
    let (code, out, err) = run(&["call", "--line", "2", "--count", "2", "--from", "13800000009", "--pattern", "5"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.starts_with("2 of 2 calls placed on lines 2-3, board time"), "{out}");
    // One that cannot be placed is named; the others still go.
    let (code, out, err) = run(&["call", "--line", "3", "--count", "2", "--from", "100"]);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(err.contains("line 3: line 3 is busy") && err.contains("line 4: there is no line 4"), "{err}");
    assert!(out.starts_with("none of 2 calls placed on lines 3-4"), "{out}");
    let (code, _, err) = run(&["hangup", "--phone", "4"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("phone 4 is on-hook"), "{err}");
    let (code, out, _) = run(&["offhook", "--phone", "4"]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out, _) = run(&["dial", "--phone", "4", "123"]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out, _) = run(&["status"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("ringing") && out.contains("PHONE"), "{out}");
    // Timer overruns are the host's lateness (a busy CI machine has some),
    // not the simulator's; only their report is checked here.
    assert!(out.contains(" slips, ") && out.contains(" timer overruns, 0 driver attachment(s)"), "{out}");
    let (code, out, _) = run(&["status", "--json"]);
    assert_eq!(code, Some(0));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["lines"][0]["state"], "ringing");
    assert_eq!(v["lines"][2]["peer"], "line 3 (13800000010)");
    assert_eq!(v["phones"][0]["off_hook"], true);
    // The server's counters: the world ticks without a driver, no slips.
    assert!(v["serving"]["ticks"].as_u64().unwrap() > 0, "{v}");
    assert_eq!(v["serving"]["slips"], 0);
    drop(serve);
    assert!(!ctl.exists(), "the control socket is removed on exit");
}
