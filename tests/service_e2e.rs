//! `ctiboxd` as a service: the systemd notify protocol (READY, WATCHDOG,
//! STOPPING), SIGHUP reloads that keep the old config when the new one has
//! errors, and `scripts/install` staging everything a box needs.

use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ctibox_daemon::config::demo::DEMO_CONFIG;
use ctibox_e2e::{Proc, Scratch, bin, bin_dir};

/// The demo config with its data in `dir` (the config file goes in `dir`
/// too: the demo's IVR directory is written next to it).
fn demo_config(dir: &Path) -> String {
    ctibox_daemon::config::demo::install_ivr(&dir.join("ivr")).expect("demo IVR");
    DEMO_CONFIG.replace("data_dir = \"/tmp/ctibox-demo\"", &format!("data_dir = \"{}\"", dir.display()))
}

/// `ctiboxd` with `env`, its stderr lines on a channel.
fn start(cfg: &Path, env: &[(&str, String)]) -> (Proc, mpsc::Receiver<String>) {
    let mut cmd = Command::new(bin("ctiboxd"));
    cmd.args(["--config", cfg.to_str().unwrap(), "--listen", "127.0.0.1:0", "--sim-control", "none"])
        .env("CTIBOX_LOG", "info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("start ctiboxd");
    let err = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (Proc { child, name: "ctiboxd".into() }, rx)
}

/// Wait for a log line containing `what`; returns every line read so far.
fn wait_log(rx: &mpsc::Receiver<String>, what: &str, seen: &mut Vec<String>) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
            let hit = line.contains(what);
            seen.push(line);
            if hit {
                return;
            }
        }
    }
    panic!("ctiboxd never logged {what:?}; it logged:\n{}", seen.join("\n"));
}

fn signal(p: &Proc, sig: &str) {
    let ok = Command::new("kill").args([sig, &p.child.id().to_string()]).status().expect("kill").success();
    assert!(ok, "kill {sig}");
}

#[test]
fn systemd_notify_ready_watchdog_and_stopping() {
    let dir = Scratch::new("notify");
    let cfg = dir.path("ctibox.toml");
    std::fs::write(&cfg, demo_config(&dir.0)).unwrap();
    let sock_path = dir.path("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).expect("notify socket");
    sock.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let (mut p, _log) =
        start(&cfg, &[("NOTIFY_SOCKET", sock_path.display().to_string()), ("WATCHDOG_USEC", "400000".to_string())]);
    let mut buf = [0u8; 256];
    let mut next = || {
        let n = sock.recv(&mut buf).expect("a notification from ctiboxd");
        String::from_utf8_lossy(&buf[..n]).to_string()
    };
    assert_eq!(next(), "READY=1");
    // Every 200 ms (half of WATCHDOG_USEC) while the engine ticks.
    let start = Instant::now();
    for _ in 0..5 {
        assert_eq!(next(), "WATCHDOG=1");
    }
    let took = start.elapsed();
    assert!(took > Duration::from_millis(600) && took < Duration::from_secs(3), "5 pings in {took:?}");
    signal(&p, "-TERM");
    loop {
        let m = next();
        if m == "STOPPING=1" {
            break;
        }
        assert_eq!(m, "WATCHDOG=1");
    }
    let status = p.child.wait().expect("wait");
    assert!(status.success(), "SIGTERM is a clean stop: {status}");
}

#[test]
fn sighup_keeps_the_old_config_when_the_new_one_has_errors() {
    let dir = Scratch::new("sighup");
    let cfg = dir.path("ctibox.toml");
    let good = demo_config(&dir.0);
    std::fs::write(&cfg, &good).unwrap();
    let (p, log) = start(&cfg, &[]);
    let mut seen = Vec::new();
    wait_log(&log, "api: listening", &mut seen);

    // A ring group naming an extension that does not exist, and a bad
    // duration: both reported with file:line, nothing changes.
    let bad = good
        .replace("members = [\"801\", \"802\"]", "members = [\"801\", \"899\"]")
        .replace("ring_time = \"30s\"", "ring_time = \"thirty\"");
    assert_ne!(bad, good);
    std::fs::write(&cfg, &bad).unwrap();
    signal(&p, "-HUP");
    wait_log(&log, "the old one stays", &mut seen);
    let text = seen.join("\n");
    let file = cfg.display().to_string();
    assert!(
        text.contains(&format!("{file}:")) && text.contains("899"),
        "errors name the file, line and the problem:\n{text}"
    );
    assert!(text.contains("ring_time"), "{text}");
    assert!(!text.contains("SIGHUP: configuration reloaded"), "{text}");

    // A valid change is taken.
    std::fs::write(&cfg, good.replace("name = \"ctibox demo\"", "name = \"ctibox renamed\"")).unwrap();
    signal(&p, "-HUP");
    wait_log(&log, "SIGHUP: configuration reloaded", &mut seen);
    drop(p);
}

#[test]
fn install_stages_binaries_unit_user_rules_docs_and_man_pages() {
    let dir = Scratch::new("install");
    let root = dir.path("root");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace");
    let out = Command::new(repo.join("scripts/install"))
        .env("DESTDIR", &root)
        .env("BIN_DIR", bin_dir())
        .output()
        .expect("run scripts/install");
    assert!(out.status.success(), "scripts/install failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let usr = root.join("usr");
    for f in [
        "bin/ctiboxd",
        "bin/ctibox",
        "bin/ctibox-sim",
        "lib/systemd/system/ctiboxd.service",
        "lib/sysusers.d/ctibox.conf",
        "lib/tmpfiles.d/ctibox.conf",
        "lib/udev/rules.d/60-ctibox.rules",
        "share/man/man1/ctibox.1",
        "share/man/man1/ctibox-cdr.1",
        "share/bash-completion/completions/ctibox",
        "share/doc/ctibox/install.md",
        "share/doc/ctibox/ctibox.toml.example",
    ] {
        assert!(usr.join(f).is_file(), "{f} is installed");
    }
    let unit = std::fs::read_to_string(usr.join("lib/systemd/system/ctiboxd.service")).unwrap();
    for want in [
        "Type=notify",
        "WatchdogSec=",
        "ExecStart=/usr/bin/ctiboxd --config /etc/ctibox/ctibox.toml",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "User=ctibox",
        "StateDirectory=ctibox",
        "ConfigurationDirectory=ctibox",
    ] {
        assert!(unit.contains(want), "the unit has {want}");
    }
    let users = std::fs::read_to_string(usr.join("lib/sysusers.d/ctibox.conf")).unwrap();
    assert!(users.lines().any(|l| l.starts_with("u ctibox ") && l.contains("/var/lib/ctibox")), "{users}");
    // The example config is valid as shipped.
    let check = Command::new(usr.join("bin/ctibox"))
        .args(["config", "check"])
        .arg(usr.join("share/doc/ctibox/ctibox.toml.example"))
        .output()
        .expect("ctibox config check");
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
}
