//! What the daemon's end-to-end call tests share (included with `#[path]`
//! by `daemon_e2e.rs` and `daemon_flows_*.rs`): the daemon config, a run of
//! a scenario against a daemon, the journal afterwards, and helpers to act
//! through the core's request API while the scenario plays.
//!
//! A run: `ctibox-sim run SCENARIO --fast` serves a scripted world as a
//! separate process; the daemon, started in this process on a temporary
//! database, is its driver. Fast mode runs the world as fast as the daemon
//! answers (a board minute in a fraction of a wall second), so the test
//! thread acts through the API with the world frozen ([`Live::when`]
//! stops the simulator process while it looks and acts): an action lands
//! at the board time the test reads back, at or soon after the one it
//! waited for. Scenarios wait for conditions around such actions, with
//! room for a late one.

#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration as WallDuration, Instant};

use ctibox_daemon::config::Config;
use ctibox_daemon::core::{CallView, CoreReply, CoreRequest, LegStatus, Snapshot};
use ctibox_daemon::daemon::{Daemon, DaemonOptions, StartError};
use ctibox_daemon::records::{CallFilter, CallPageRequest, CallRecord, RecordsReader};
use ctibox_e2e::{Proc, Scratch};

/// A daemon config for 4 CO lines (1-4, trunk `pstn`, inbound calls to
/// `inbound`) and 4 phones (801-804 on 5-8), ring group 600 = 801 + 802,
/// dial plan: 8XX extensions, 9 + number out through `pstn`.
pub fn config(dir: &Path, inbound: &str, extra: &str) -> String {
    format!(
        r#"
[system]
country = "CN"
data_dir = "{dir}"

[board]
backend = "sim"

[[trunk]]
name = "pstn"
channels = "1-4"
number = "88880000"
disconnect = ["loop_drop"]
inbound = "{inbound}"

[[extension]]
number = "801"
name = "Alice Agent"
channel = 5

[[extension]]
number = "802"
name = "Bob Agent"
channel = 6

[[extension]]
number = "803"
channel = 7

[[extension]]
number = "804"
channel = 8

[[ring_group]]
number = "600"
members = ["801", "802"]
ring_time = "30s"

[dial_plan]
digit_map = ["8XX", "600", "9.", "0"]
interdigit_timeout = "3s"

[[dial_plan.route]]
pattern = "8XX"
to = "ext"

[[dial_plan.route]]
pattern = "9."
to = "trunk:pstn"
strip = 1
{extra}
"#,
        dir = dir.display()
    )
}

/// What a run produced.
pub struct Run {
    pub code: i32,
    pub out: String,
    pub reader: RecordsReader,
    pub _dir: Scratch,
}

impl Run {
    /// Every call of the journal, oldest first.
    pub fn calls(&self) -> Vec<CallRecord> {
        let page = self
            .reader
            .calls(&CallFilter::default(), &CallPageRequest { limit: 100, ..CallPageRequest::default() })
            .expect("journal query");
        let mut calls = page.calls;
        calls.sort_by_key(|c| c.id);
        calls
    }

    /// The journal's only call (fails the test if there are others).
    pub fn only_call(&self) -> CallRecord {
        let calls = self.calls();
        assert_eq!(calls.len(), 1, "one call in the journal:\n{calls:#?}\n{}", self.out);
        calls.into_iter().next().unwrap_or_else(|| unreachable!())
    }

    /// Fail the test with the scenario's report unless every expectation
    /// passed.
    pub fn assert_passed(&self) {
        assert_eq!(self.code, 0, "every expectation of the scenario passes:\n{}", self.out);
    }
}

/// Run `scenario` against a daemon whose trunk sends inbound calls to
/// `inbound`, with `config_extra` added to the config.
pub fn run(tag: &str, scenario: &str, inbound: &str, config_extra: &str) -> Run {
    run_with(tag, scenario, inbound, config_extra, |_| {})
}

/// [`run`], with `during` called on the test thread while the scenario
/// plays (to act through the core's request API).
pub fn run_with(tag: &str, scenario: &str, inbound: &str, config_extra: &str, during: impl FnOnce(&Live<'_>)) -> Run {
    run_config(tag, scenario, &|dir| config(dir, inbound, config_extra), during)
}

/// [`run_with`] with a whole config of its own (`make` gets the run's
/// directory for `data_dir`).
pub fn run_config(tag: &str, scenario: &str, make: &dyn Fn(&Path) -> String, during: impl FnOnce(&Live<'_>)) -> Run {
    // `RUST_LOG=ctibox_daemon=debug` shows what the daemon did.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let dir = Scratch::new(tag);
    let scen = dir.path("scenario.toml");
    std::fs::write(&scen, scenario.replace("{dir}", &dir.0.display().to_string())).expect("scenario file");
    let sock = dir.path("sim.sock");
    let mut sim =
        Proc::start("ctibox-sim", &["run", scen.to_str().unwrap(), "--fast", "--socket", sock.to_str().unwrap()]);
    sim.wait_for_socket(&sock, WallDuration::from_secs(10));
    let cfg = Config::parse("test.toml", &make(&dir.0)).expect("test config");
    let db = dir.path("ctibox.db");
    // The socket's file exists a moment before the simulator listens on it.
    let mut tries = 0;
    let mut daemon = loop {
        let opts = DaemonOptions {
            config: cfg.clone(),
            board: Some(format!("sim:{}", sock.display())),
            database: Some(db.clone()),
        };
        match Daemon::start(opts) {
            Ok(d) => break d,
            Err(StartError::Board(e)) if e.contains("refused") && tries < 100 => {
                tries += 1;
                std::thread::sleep(WallDuration::from_millis(10));
            }
            Err(e) => panic!("daemon starts: {e}"),
        }
    };
    let live = Live { daemon: &daemon, sim_pid: sim.child.id() };
    during(&live);
    drop(live);
    let (code, out, err) = sim.wait(WallDuration::from_secs(120));
    let _ = daemon.wait_engine();
    daemon.shutdown();
    let reader = RecordsReader::open(&db).expect("journal");
    Run { code, out: format!("{out}{err}"), reader, _dir: dir }
}

/// The core's current picture.
pub fn snapshot(daemon: &Daemon) -> Snapshot {
    match daemon.core.request(CoreRequest::Snapshot, WallDuration::from_secs(5)) {
        Ok(CoreReply::Snapshot(s)) => s,
        other => panic!("snapshot: {other:?}"),
    }
}

/// The scenario while it plays, as the test thread sees it: the daemon,
/// and the simulator process to freeze.
pub struct Live<'a> {
    pub daemon: &'a Daemon,
    sim_pid: u32,
}

impl Live<'_> {
    fn signal(&self, sig: &str) {
        let ok = std::process::Command::new("kill")
            .args([sig, &self.sim_pid.to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill {sig} {}", self.sim_pid);
    }

    /// Stop the simulator and wait until the core has taken in its last
    /// tick: board time stands still until [`Live::thaw`].
    fn freeze(&self) -> Snapshot {
        self.signal("-STOP");
        let mut last = snapshot(self.daemon);
        loop {
            std::thread::sleep(WallDuration::from_millis(2));
            let s = snapshot(self.daemon);
            if s.board_ms == last.board_ms {
                return s;
            }
            last = s;
        }
    }

    fn thaw(&self) {
        self.signal("-CONT");
    }

    /// Poll, each time with the world frozen, until `look` finds what it
    /// wants in the core's picture; it acts on it then, before the world
    /// moves on. Its result and the board time. Fails the test after 30 s
    /// of wall time.
    fn frozen_until<T>(&self, what: &str, mut look: impl FnMut(&Snapshot) -> Option<T>) -> (T, u64) {
        let start = Instant::now();
        loop {
            let s = self.freeze();
            if let Some(t) = look(&s) {
                self.thaw();
                return (t, s.board_ms);
            }
            self.thaw();
            assert!(start.elapsed() < WallDuration::from_secs(30), "no {what} by board time {} ms: {s:#?}", s.board_ms);
            std::thread::sleep(WallDuration::from_micros(500));
        }
    }

    /// Wait until a call satisfies `pred` (given the call and the board time,
    /// ms), then, with the world frozen, `act` on it; the call and the
    /// board time of the action. The world moves on between looks (by a
    /// fraction of a second, more on a loaded machine): scenarios leave
    /// room for that.
    pub fn when(
        &self,
        what: &str,
        pred: impl Fn(&CallView, u64) -> bool,
        act: impl FnOnce(&Daemon, &CallView),
    ) -> (CallView, u64) {
        let mut act = Some(act);
        self.frozen_until(what, |s| {
            let c = s.calls.iter().find(|c| pred(c, s.board_ms))?;
            if let Some(a) = act.take() {
                a(self.daemon, c);
            }
            Some(c.clone())
        })
    }

    /// Once board time reaches `ms`, with the world frozen, `act`; the
    /// board time of the action.
    pub fn at(&self, ms: u64, act: impl FnOnce(&Daemon)) -> u64 {
        let mut act = Some(act);
        let ((), at) = self.frozen_until(&format!("board time {ms} ms"), |s| {
            (s.board_ms >= ms).then(|| {
                if let Some(a) = act.take() {
                    a(self.daemon);
                }
            })
        });
        at
    }
}

impl Drop for Live<'_> {
    fn drop(&mut self) {
        // Never leave the simulator stopped (a failed assertion in `when`).
        let _ = std::process::Command::new("kill").args(["-CONT", &self.sim_pid.to_string()]).status();
    }
}

/// Whether the call's leg on `channel` is up.
pub fn leg_up(c: &CallView, channel: u16) -> bool {
    c.legs.iter().any(|l| l.channel.0 == channel && l.status == LegStatus::Up)
}

/// The live leg of the call on `channel`.
pub fn leg_on(c: &CallView, channel: u16) -> ctibox_daemon::core::LegId {
    c.legs
        .iter()
        .find(|l| l.channel.0 == channel && l.status != LegStatus::Ended)
        .map(|l| l.leg)
        .unwrap_or_else(|| panic!("no live leg on channel {channel}: {c:#?}"))
}

/// Ask the core; fail the test if it refuses.
pub fn ask(daemon: &Daemon, req: CoreRequest) -> CoreReply {
    let what = format!("{req:?}");
    daemon.core.request(req, WallDuration::from_secs(5)).unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// (role, channel, answered) of each leg, for comparisons.
pub fn legs(c: &CallRecord) -> Vec<(&str, Option<u32>, bool)> {
    c.legs.iter().map(|l| (l.role.as_str(), l.channel, l.answer_board_ms.is_some())).collect()
}

/// The cause of a call, as text.
pub fn cause(c: &CallRecord) -> Option<&str> {
    c.cause.as_ref().map(|c| c.as_str())
}
