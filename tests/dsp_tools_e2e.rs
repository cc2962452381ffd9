//! `ctibox dsp`: generate signals, decode them back, decode signals made by
//! sox at other rates, and refuse bad input clearly.

use std::process::Command;

use ctibox_e2e::{Scratch, bin};

fn ctibox(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin("ctibox")).args(args).output().expect("run ctibox");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(args: &[&str]) -> String {
    let (code, out, err) = ctibox(args);
    assert_eq!(code, 0, "ctibox {args:?}:\n{out}\n{err}");
    out
}

#[test]
fn dtmf_round_trip_and_verbose_lines() {
    let d = Scratch::new("dsp-dtmf");
    let f = d.path("d.wav");
    ok(&["dsp", "gen", "dtmf", "159#*D", "--level", "-20", "--on", "60", "--off", "60", "-o", f.to_str().unwrap()]);
    assert_eq!(ok(&["dsp", "dtmf", f.to_str().unwrap()]), "159#*D\n");
    let v = ok(&["dsp", "dtmf", "-v", f.to_str().unwrap()]);
    let lines: Vec<&str> = v.lines().collect();
    assert_eq!(lines[0], "159#*D");
    assert_eq!(lines.len(), 7);
    // `digit start_ms end_ms level_dbm0`: the second digit starts at 120 ms.
    let f1: Vec<&str> = lines[2].split(' ').collect();
    assert_eq!(f1[0], "5");
    assert!(f1[1].parse::<u64>().unwrap().abs_diff(120) <= 2, "{v}");
    assert!((f1[3].parse::<f64>().unwrap() + 20.0).abs() < 1.0, "{v}");
    // No digits: an empty line.
    let s = d.path("silence.wav");
    ok(&["dsp", "gen", "tone", "--pattern", "0", "--seconds", "1", "-o", s.to_str().unwrap()]);
    assert_eq!(ok(&["dsp", "dtmf", s.to_str().unwrap()]), "\n");
}

#[test]
fn decodes_sox_files_at_other_rates_and_formats() {
    let sox = match which("sox") {
        Some(p) => p,
        None => panic!("sox is not installed: install the Debian package `sox` (scripts/deps does it)"),
    };
    let d = Scratch::new("dsp-sox");
    let f = d.path("s.wav");
    // 44.1 kHz, 24-bit, stereo: "8" then "0".
    let st = Command::new(sox)
        .args(["-n", "-r", "44100", "-b", "24", "-c", "2", f.to_str().unwrap()])
        .args(["synth", "0.08", "sine", "852", "sine", "1336", ":", "synth", "0.08", "sine", "0", ":"])
        .args(["synth", "0.08", "sine", "941", "sine", "1336"])
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(ok(&["dsp", "dtmf", f.to_str().unwrap()]), "80\n");
}

fn which(name: &str) -> Option<std::path::PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join(name)).find(|p| p.is_file())
}

#[test]
fn caller_id_round_trips_in_every_standard() {
    let d = Scratch::new("dsp-cid");
    for (std, want) in [("bell202", "std=bell202"), ("v23", "std=v23"), ("dtmf", "std=dtmf")] {
        let f = d.path(&format!("{std}.wav"));
        let mut args = vec!["dsp", "gen", "cid", "--std", std, "--number", "13800138000", "-o", f.to_str().unwrap()];
        if std != "dtmf" {
            args.extend(["--name", "Zhang", "--datetime", "11211030"]);
        }
        ok(&args);
        let out = ok(&["dsp", "cid", f.to_str().unwrap()]);
        assert_eq!(out.lines().count(), 1, "{std}: {out}");
        assert!(out.starts_with(&format!("{want} number=13800138000 ")), "{std}: {out}");
        if std != "dtmf" {
            assert!(out.contains("name=Zhang datetime=11211030"), "{std}: {out}");
        }
    }
}

#[test]
fn tones_and_learning() {
    let d = Scratch::new("dsp-tones");
    let f = d.path("busy.wav");
    ok(&["dsp", "gen", "tone", "busy", "--country", "RU", "--seconds", "3", "-o", f.to_str().unwrap()]);
    let out = ok(&["dsp", "tones", f.to_str().unwrap(), "--country", "RU"]);
    let first: Vec<&str> = out.lines().next().unwrap_or("").split(' ').collect();
    assert_eq!(first[0], "busy", "{out}");
    assert_eq!(first[1], "0", "{out}");
    // An off-book tone learned back as a profile entry.
    let l = d.path("odd.wav");
    ok(&[
        "dsp",
        "gen",
        "tone",
        "--pattern",
        "413+437/500,0/500",
        "--level",
        "-15",
        "--seconds",
        "6",
        "-o",
        l.to_str().unwrap(),
    ]);
    let toml = ok(&["dsp", "learn", l.to_str().unwrap()]);
    assert!(toml.contains("[[tone]]") && toml.contains("413+437/500,0/500"), "{toml}");
}

#[test]
fn bad_input_is_named() {
    let d = Scratch::new("dsp-bad");
    let (code, _, err) = ctibox(&["dsp", "dtmf", "/nonexistent/x.wav"]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/x.wav"), "{err}");
    let junk = d.path("junk.wav");
    std::fs::write(&junk, b"this is not a wav file at all").unwrap();
    let (code, _, err) = ctibox(&["dsp", "cid", junk.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("junk.wav") && err.contains("RIFF"), "{err}");
    let (code, _, err) = ctibox(&["dsp", "gen", "dtmf", "12x", "-o", d.path("x.wav").to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("digits `12x`"), "{err}");
    let (code, _, err) = ctibox(&["dsp", "tones", junk.to_str().unwrap(), "--country", "XX"]);
    assert_eq!(code, 2);
    assert!(!err.is_empty());
    let (code, _, err) = ctibox(&["dsp", "gen", "tone", "honk", "-o", d.path("y.wav").to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("tone `honk`"), "{err}");
}
