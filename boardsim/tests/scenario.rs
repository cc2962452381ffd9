//! Scenario files: parse errors name file:line:column, and runs pass or
//! fail with the exit codes `ctibox-sim run` uses.

use std::path::{Path, PathBuf};

use ctibox_boardsim::scenario::{self, RunOutcome, ScenarioError};
use ctibox_boardsim::world::World;
use ctibox_boardsim::{InProcessBoard, SimWorld};
use ctibox_driver::dsp::dtmf::{DtmfTxConfig, dtmf_samples};
use ctibox_driver::dsp::g711;
use ctibox_driver::dsp::tonegen::{ToneFreq, ToneGenerator, ToneSpec};
use ctibox_driver::hal::{
    Board, BoardCommand, BoardEvent, BoardInfo, BoardTime, ChannelId, ChannelKind, CommandKind, EventKind, Target,
};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn parse_err(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "s.toml", text);
    match scenario::load(&p) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string().replace(&p.display().to_string(), "s.toml"),
    }
}

const BOARD: &str = "[board]\nfxo = 4\nfxs = 2\n";

#[test]
fn parse_errors_name_file_line_and_column() {
    // TOML syntax.
    let e = parse_err("[board]\nfxo = \n");
    assert!(e.starts_with("s.toml:2:"), "{e}");
    // Unknown key.
    let e = parse_err("[board]\nfxo = 1\nbogus = 3\n");
    assert!(e.starts_with("s.toml:3:1:") && e.contains("bogus"), "{e}");
    // Wrong type.
    let e = parse_err("[board]\nfxo = \"four\"\n");
    assert!(e.starts_with("s.toml:2:7:") && e.contains("expected u16"), "{e}");
    // Bad duration.
    let e = parse_err(&format!(
        "{BOARD}[[caller]]\nname = \"a\"\nfrom = \"1\"\nline = 1\nsteps = [\n  {{ at = \"3 parsecs\", do = \"call\" }},\n]\n"
    ));
    assert!(e.starts_with("s.toml:9:10:") && e.contains("3 parsecs"), "{e}");
    // A line the board does not have.
    let e = parse_err(&format!("{BOARD}[[line]]\nport = 9\n"));
    assert_eq!(e, "s.toml:5:8: line: there is no line 9 on a board with 4 FXO ports");
    // An FXS port used as a line.
    let e = parse_err(&format!("{BOARD}[[caller]]\nname = \"a\"\nfrom = \"1\"\nline = 5\n"));
    assert!(e.starts_with("s.toml:7:8:") && e.contains("FXS port"), "{e}");
    // Unknown party.
    let e = parse_err(&format!(
        "{BOARD}[[party]]\nnumber = \"1234\"\nbehaviour = \"busy\"\n\n[[timeline]]\nactor = \"party:bob\"\nsteps = [ {{ expect = \"answered\" }} ]\n"
    ));
    assert_eq!(e, "s.toml:9:9: actor: there is no party \"bob\"");
    // Unknown condition and an action the actor cannot take.
    let e = parse_err(&format!("{BOARD}[[phone]]\nport = 5\nsteps = [ {{ expect = \"happy\" }} ]\n"));
    assert!(e.starts_with("s.toml:6:22:") && e.contains("unknown condition \"happy\""), "{e}");
    let e = parse_err(&format!("{BOARD}[[phone]]\nport = 5\nsteps = [ {{ do = \"call\" }} ]\n"));
    assert!(e.contains("a phone cannot \"call\""), "{e}");
    // Semantic: unknown enum values, dialable numbers, DTMF digits.
    assert!(parse_err("[board]\ncountry = \"XX\"\n").starts_with("s.toml:2:11: country: unknown country"));
    assert!(parse_err("[board]\nlaw = \"mu\"\n").contains("law: unknown law"));
    let e = parse_err(&format!("{BOARD}[[party]]\nnumber = \"12-34\"\nbehaviour = \"busy\"\n"));
    assert!(e.starts_with("s.toml:5:10:") && e.contains("not dialable"), "{e}");
    let e = parse_err(&format!("{BOARD}[[phone]]\nport = 5\nsteps = [ {{ do = \"dial\", digits = \"12x\" }} ]\n"));
    assert!(e.starts_with("s.toml:6:35:") && e.contains("'x'"), "{e}");
    // A missing file.
    let err = scenario::load(Path::new("/nonexistent/s.toml")).unwrap_err();
    assert!(matches!(err, ScenarioError::Read { .. }));
}

#[test]
fn example_scenarios_parse() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            let s = scenario::load(&p).unwrap_or_else(|e| panic!("{e}"));
            s.build_world().unwrap_or_else(|e| panic!("{e}"));
            n += 1;
        }
    }
    assert!(n >= 3);
}

/// Lets an in-process board borrow the world `run_file` owns.
struct Borrowed<'a>(&'a mut World);
impl SimWorld for Borrowed<'_> {
    fn info(&self) -> &BoardInfo {
        self.0.info()
    }
    fn tick(&mut self, now: BoardTime, f: &[u8], c: &[BoardCommand], t: &mut [u8], e: &mut Vec<BoardEvent>) {
        self.0.tick(now, f, c, t, e)
    }
    fn driver_detached(&mut self, now: BoardTime) {
        self.0.driver_detached(now)
    }
    fn finished(&self) -> bool {
        self.0.finished()
    }
}

/// A toy driver: answers FXO lines on the second ring and says "42" in
/// DTMF then a tone; hangs up when loop current drops; gives FXS phones
/// dial tone for 2 s when they go off-hook.
fn toy_driver(world: &mut World) -> Result<(), String> {
    let mut board = InProcessBoard::new(Borrowed(world));
    let info = board.info().clone();
    let n = info.tick.samples();
    let law = info.spans[0].law;
    let mut rx = vec![0u8; info.tick_bytes()];
    let mut tx = vec![0u8; info.tick_bytes()];
    let mut events = Vec::new();
    let mut rings = vec![0u32; info.channel_count()];
    let mut talk: Vec<Option<Vec<i16>>> = vec![None; info.channel_count()];
    let mut talk_pos = vec![0usize; info.channel_count()];
    let mut dial: Vec<Option<(BoardTime, ToneGenerator)>> = vec![None; info.channel_count()];
    let dial_tone = ToneSpec::continuous(&[ToneFreq { hz: 450.0, dbm0: -10.0 }]).unwrap();
    let mut lin = vec![0i16; n];
    let mut commands = Vec::new();
    for _ in 0..200_000 {
        if board.world().finished() {
            return Ok(());
        }
        events.clear();
        let tick = board.read_tick(&mut rx, &mut events).map_err(|e| e.to_string())?;
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
                        let mut g =
                            ToneGenerator::new(&ToneSpec::continuous(&[ToneFreq { hz: 800.0, dbm0: -12.0 }]).unwrap());
                        let mut tone = vec![0i16; 8000 * 20];
                        g.tx(&mut tone);
                        s.extend_from_slice(&tone);
                        talk[i] = Some(s);
                        talk_pos[i] = 0;
                    }
                }
                EventKind::LoopCurrentDrop => {
                    commands.push(BoardCommand::new(ch, CommandKind::OnHook));
                    talk[i] = None;
                    rings[i] = 0;
                }
                EventKind::OffHook => dial[i] = Some((e.at, ToneGenerator::new(&dial_tone))),
                EventKind::OnHook => dial[i] = None,
                _ => {}
            }
        }
        for c in &info.channels {
            let i = c.id.index();
            let out = &mut tx[i * n..(i + 1) * n];
            lin.fill(0);
            match c.kind {
                ChannelKind::Fxo => {
                    if let Some(s) = &talk[i] {
                        let k = (s.len() - talk_pos[i]).min(n);
                        lin[..k].copy_from_slice(&s[talk_pos[i]..talk_pos[i] + k]);
                        talk_pos[i] += k;
                    }
                }
                _ => {
                    if let Some((since, g)) = dial[i].as_mut() {
                        if tick.start.since(*since).as_ms() < 2000 {
                            g.tx(&mut lin);
                        }
                    }
                }
            }
            g711::encode_block(law, &lin, out);
        }
        board.write_tick(&tx, &commands).map_err(|e| e.to_string())?;
    }
    let _ = ChannelId(0);
    Err("the scenario did not finish in 200 000 ticks".into())
}

#[test]
fn inbound_scenario_passes() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/inbound_ivr.toml");
    let out = scenario::run_file(&p, toy_driver);
    let RunOutcome::Ran(r) = &out else { panic!("{out:?}") };
    let text = r.render();
    assert_eq!(out.exit_code(), 0, "{text}");
    assert_eq!(r.passed, 2, "{text}");
    assert!(text.contains("PASS"), "{text}");
    assert!(text.ends_with("2 passed, 0 failed\n"), "{text}");
}

#[test]
fn failing_expectations_fail_with_time_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "f.toml",
        r#"
[board]
fxo = 1
fxs = 1
max_time = "1m"

[[caller]]
name = "alice"
from = "13800138000"
line = 1
record = "alice.wav"
steps = [
  { at = "0s", do = "call" },
  { expect = "rang", rings = 2, within = "10s" },
  { wait_for = "answered", timeout = "30s" },
  { expect = "dtmf", digits = "42", within = "3s" },
  { expect = "dtmf", digits = "99", within = "3s" },
  { expect = "busy", within = "1s" },
  { do = "hangup" },
]

[[phone]]
port = 2
steps = [
  { at = "1s", do = "offhook" },
  { expect = "dial_tone", within = "3s" },
  { wait_for = "ringing", timeout = "2s" },
  { expect = "answered", within = "5s" },
]
"#,
    );
    let out = scenario::run_file(&p, toy_driver);
    let RunOutcome::Ran(r) = &out else { panic!("{out:?}") };
    let text = r.render();
    assert_eq!(out.exit_code(), 1, "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.iter().any(|l| l.starts_with("PASS") && l.contains("alice: expect rang 2 times")), "{text}");
    assert!(lines.iter().any(|l| l.starts_with("PASS") && l.contains("hears DTMF \"42\"")), "{text}");
    let f99 = lines.iter().find(|l| l.contains("\"99\"")).unwrap();
    assert!(f99.starts_with("FAIL") && f99.contains("not within 3.000s") && f99.contains("line 17"), "{f99}");
    assert!(lines.iter().any(|l| l.starts_with("PASS") && l.contains("phone 2: expect hears dial tone")), "{text}");
    let wait = lines.iter().find(|l| l.contains("when ringing")).unwrap();
    assert!(wait.starts_with("FAIL") && wait.contains("timed out after 2.000s"), "{wait}");
    let unreached = lines.iter().find(|l| l.contains("phone 2: expect answered")).unwrap();
    assert!(unreached.contains("not reached"), "{unreached}");
    assert!(text.ends_with("3 passed, 4 failed\n"), "{text}");
    let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
    assert_eq!(json["failed"], 4);
    // What alice heard was saved: the driver's DTMF "42" and its tone.
    let heard = ctibox_driver::media::wav::load_mono_8k(dir.path().join("alice.wav")).unwrap();
    assert!(heard.len() > 8000 * 3, "{}", heard.len());
    assert!(heard.iter().any(|&s| s.abs() > 1000));
}

#[test]
fn bad_scenario_is_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "b.toml", "[board]\nfxo = 1\n[[line]]\nport = 9\n");
    let out = scenario::run_file(&p, |_| Ok(()));
    assert_eq!(out.exit_code(), 2);
    let RunOutcome::BadScenario(e) = out else { panic!() };
    assert!(e.to_string().ends_with("b.toml:4:8: line: there is no line 9 on a board with 1 FXO ports"), "{e}");
}
