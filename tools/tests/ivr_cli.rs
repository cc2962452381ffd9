//! `ctibox ivr check` and `ctibox ivr graph` run as a user would, on the
//! flow files of the daemon's tests (daemon/tests/ivr_files/).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn ctibox(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ctibox")).args(args).output().unwrap()
}

fn case(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../daemon/tests/ivr_files").join(name)
}

/// A copy of a case directory under the target's temp dir, with the
/// prompts its flows name as site files (`prompts/NAME.wav`, silent), so
/// the check does not depend on the default prompt set.
fn site(name: &str, prompts: &[&str]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ivr_cli").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("prompts")).unwrap();
    for entry in std::fs::read_dir(case(name)).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
    }
    for p in prompts {
        std::fs::write(dir.join("prompts").join(format!("{p}.wav")), silent_wav()).unwrap();
    }
    dir
}

/// 10 ms of silence: 8 kHz mono 16-bit PCM WAV.
fn silent_wav() -> Vec<u8> {
    let data = vec![0u8; 160];
    let mut w = Vec::new();
    w.extend_from_slice(b"RIFF");
    w.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    w.extend_from_slice(b"WAVEfmt ");
    w.extend_from_slice(&16u32.to_le_bytes());
    w.extend_from_slice(&1u16.to_le_bytes()); // PCM
    w.extend_from_slice(&1u16.to_le_bytes()); // mono
    w.extend_from_slice(&8000u32.to_le_bytes());
    w.extend_from_slice(&16000u32.to_le_bytes()); // bytes per second
    w.extend_from_slice(&2u16.to_le_bytes()); // block align
    w.extend_from_slice(&16u16.to_le_bytes());
    w.extend_from_slice(b"data");
    w.extend_from_slice(&(data.len() as u32).to_le_bytes());
    w.extend_from_slice(&data);
    w
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn dot_installed() -> bool {
    Command::new("dot").arg("-V").stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

#[test]
fn check_a_good_directory() {
    let prompts = ["welcome", "please-hold", "goodbye", "invalid-choice", "no-input", "leave-message", "message-saved"];
    let dir = site("good", &prompts);
    let out = ctibox(&["ivr", "check", dir.to_str().unwrap()]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "stdout: {stdout}\nstderr: {stderr}");
    assert_eq!(stdout, "ok: 2 flows (after_hours, main), 9 nodes\n");
    assert_eq!(stderr, "");
}

#[test]
fn check_a_broken_directory() {
    let dir = site("unknown_target", &["welcome", "invalid-choice", "no-input"]);
    let out = ctibox(&["ivr", "check", dir.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(text(&out.stdout), "");
    let main = dir.join("main.toml").display().to_string();
    let start = dir.join("start.toml").display().to_string();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines,
        [
            format!("{main}:7: node `menu` (choice 1): no node named `salse` (did you mean `sales`?)").as_str(),
            format!("{main}:7: node `menu` (choice 2): no node named `support`").as_str(),
            format!("{main}:10: warning: node `sales` is never reached from start `menu`").as_str(),
            format!("{start}:2: start: no node named `greting` (did you mean `greeting`?)").as_str(),
            format!("3 errors and 1 warning in {}", dir.display()).as_str(),
        ]
    );
}

#[test]
fn check_names_missing_prompts() {
    // Neither `welcom` nor `no-input-2` exists, here or in the default set.
    let dir = site("missing_prompt", &["welcome", "main-menu", "invalid-choice", "no-input", "goodbye"]);
    let out = ctibox(&["ivr", "check", dir.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let main = dir.join("main.toml").display().to_string();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{stderr}");
    assert!(lines[0].starts_with(&format!("{main}:6: node `hello`: no prompt `welcom` for language ru")), "{stderr}");
    assert!(
        lines[1].starts_with(&format!("{main}:14: node `menu`: no prompt `no-input-2` for language ru")),
        "{stderr}"
    );
    assert_eq!(lines[2], format!("2 errors and 0 warnings in {}", dir.display()));
}

#[test]
fn check_reports_parse_errors_with_columns() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ivr_cli_parse_errors");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.toml"), "start = \"x\"\n[nodes.x]\ntype = \"hangup\"\n  wait = \"5s\"\n").unwrap();
    let out = ctibox(&["ivr", "check", dir.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let file = dir.join("a.toml").display().to_string();
    assert!(
        stderr.starts_with(&format!(
            "{file}:4:3: node `x` (hangup): unknown key `wait` (hangup keys: type, prompts, prompt)\n"
        )),
        "{stderr}"
    );
    assert!(stderr.ends_with(&format!("1 error and 0 warnings in {}\n", dir.display())), "{stderr}");

    let out = ctibox(&["ivr", "check", dir.join("nothing-here").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("not a directory"), "{}", text(&out.stderr));
}

#[test]
fn graph_prints_dot_that_graphviz_accepts() {
    let flow = case("example").join("main.toml");
    let out = ctibox(&["ivr", "graph", flow.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let dot = text(&out.stdout);
    assert!(dot.starts_with("digraph \"main\" {"), "{dot}");
    assert!(dot.contains("start -> n0;"), "{dot}");
    assert_eq!(dot.matches(" -> ").count(), 1 + 36, "{dot}");
    if !dot_installed() {
        eprintln!("graphviz is not installed (scripts/deps): DOT not rendered");
        return;
    }
    let mut child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), dot.as_bytes()).unwrap();
    let rendered = child.wait_with_output().unwrap();
    assert!(rendered.status.success(), "dot refused the graph: {}", text(&rendered.stderr));
    assert_eq!(text(&rendered.stderr), "", "dot warned");
    assert!(text(&rendered.stdout).contains("<svg"));
}

#[test]
fn graph_to_svg() {
    if !dot_installed() {
        eprintln!("graphviz is not installed (scripts/deps): skipped");
        return;
    }
    let svg = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ivr_cli_main.svg");
    let _ = std::fs::remove_file(&svg);
    let flow = case("example").join("main.toml");
    let out = ctibox(&["ivr", "graph", flow.to_str().unwrap(), "--svg", svg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "");
    let picture = std::fs::read_to_string(&svg).unwrap();
    assert!(picture.contains("<svg") && picture.contains("main_menu"), "{picture}");
}

#[test]
fn graph_to_svg_without_graphviz_says_so() {
    let empty = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ivr_cli_empty_path");
    std::fs::create_dir_all(&empty).unwrap();
    let flow = case("good").join("main.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_ctibox"))
        .args(["ivr", "graph", flow.to_str().unwrap(), "--svg", "/nonexistent/x.svg"])
        .env("PATH", &empty)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("--svg needs Graphviz's `dot`, which is not installed"), "{stderr}");
}

#[test]
fn graph_of_a_broken_file_lists_its_errors() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ivr_cli_graph_broken");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("b.toml");
    std::fs::write(&file, "start = \"x\"\n[nodes.x]\ntype = \"menu\"\n").unwrap();
    let out = ctibox(&["ivr", "graph", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("b.toml:2:1: node `x` (menu): `prompt` is missing"), "{stderr}");
    assert!(stderr.contains("b.toml:2:1: node `x` (menu): `choices` is missing"), "{stderr}");
    assert_eq!(text(&out.stdout), "");
}
