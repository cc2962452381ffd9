//! Scenarios: a world and timelines of actions and expectations, in TOML
//! (format: [`parse`]).
//!
//! - [`load`] reads and checks a file; errors name `file:line:column` and
//!   the problem ([`ScenarioError`]).
//! - [`Scenario::build_world`] makes the [`World`] with the scenario's
//!   timelines installed as its director; `world.finished()` turns true
//!   when every timeline is done.
//! - [`report`] collects the results after a run; [`ScenarioReport`] prints
//!   one line per expectation and a summary, writes JSON, and gives the
//!   exit code (0 all passed, 1 something failed).
//! - [`run_file`] does it all around a function that serves the world to a
//!   driver (the CLI serves it over the socket; tests drive it in-process),
//!   and returns 2 for a bad scenario file.

pub mod parse;
pub mod timeline;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::world::{ConfigError, World};

pub use parse::{CallerSetup, Scenario, line_col, parse_duration};
pub use timeline::{ActorRef, Outcome, OutcomeKind, Step, Timeline, Timing, TrackDef};

/// A scenario file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{}: cannot read: {source}", file.display())]
    Read {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}:{column}: {message}", file.display())]
    Invalid { file: PathBuf, line: usize, column: usize, message: String },
    #[error("{}: {source}", file.display())]
    World {
        file: PathBuf,
        #[source]
        source: ConfigError,
    },
}

/// Read and check a scenario file.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| ScenarioError::Read { file: path.to_path_buf(), source })?;
    parse::parse(&text, path)
}

impl Scenario {
    /// The world with its callers and the timelines installed.
    pub fn build_world(&self) -> Result<World, ScenarioError> {
        let mut w = World::new(self.world.clone())
            .map_err(|source| ScenarioError::World { file: self.path.clone(), source })?;
        for c in &self.callers {
            w.add_caller(&c.name, &c.from, c.audio.clone());
        }
        let tl = Timeline::new(&w, &self.tracks, self.max_time).map_err(|message| ScenarioError::Invalid {
            file: self.path.clone(),
            line: 1,
            column: 1,
            message,
        })?;
        for (actor, seed) in tl.pattern_watches() {
            w.watch_pattern(actor, seed).map_err(|message| ScenarioError::Invalid {
                file: self.path.clone(),
                line: 1,
                column: 1,
                message,
            })?;
        }
        w.set_director(Box::new(tl));
        Ok(w)
    }
}

impl Scenario {
    /// Save the recordings the scenario asks for (16-bit 8 kHz WAV), after
    /// the run. Returns the files written.
    pub fn save_recordings(&self, world: &World) -> Result<Vec<PathBuf>, String> {
        let mut saved = Vec::new();
        for (who, path) in &self.recordings {
            let rec = match who {
                ActorRef::Caller(n) => world.caller(n).map(|p| p.recorder()),
                ActorRef::Party(n) => world.party(n).map(|p| p.peer.recorder()),
                ActorRef::Phone(port) => world.phone(*port).map(|p| p.recorder()),
            };
            let Some(rec) = rec else { return Err(format!("no recorder for {who:?}")) };
            rec.save_wav(path).map_err(|e| e.to_string())?;
            saved.push(path.clone());
        }
        Ok(saved)
    }
}

/// What a scenario run came to.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioReport {
    pub scenario: String,
    /// Whether every timeline finished (false: the run stopped early).
    pub finished: bool,
    /// Board time at the end, ms.
    pub ended_at_ms: u64,
    pub passed: usize,
    pub failed: usize,
    pub results: Vec<Outcome>,
    /// Why the run stopped early, if it did.
    pub error: Option<String>,
}

/// Collect the results from a world built by [`Scenario::build_world`].
pub fn report(scenario: &Path, world: &World, error: Option<String>) -> ScenarioReport {
    let tl = world.director().and_then(|d| d.as_any().downcast_ref::<Timeline>());
    let results: Vec<Outcome> = tl.map(|t| t.results().to_vec()).unwrap_or_default();
    let finished = tl.is_some_and(|t| t.finished_at().is_some());
    let passed = results.iter().filter(|r| r.pass).count();
    let failed = results.iter().filter(|r| !r.pass).count();
    ScenarioReport {
        scenario: scenario.display().to_string(),
        finished,
        ended_at_ms: world.now().as_ms(),
        passed,
        failed,
        results,
        error,
    }
}

impl ScenarioReport {
    /// 0 when everything passed and the run finished, else 1.
    pub fn exit_code(&self) -> i32 {
        if self.failed == 0 && self.finished && self.error.is_none() { 0 } else { 1 }
    }

    /// One line per expectation (and per failed wait or action), then a
    /// summary.
    pub fn render(&self) -> String {
        let mut s = String::new();
        for r in &self.results {
            if r.kind != OutcomeKind::Expect && r.pass {
                continue;
            }
            let secs = format!("{}.{:03}s", r.at_ms / 1000, r.at_ms % 1000);
            let _ = writeln!(
                s,
                "{} {:>10}  {}: {} — {} (line {})",
                if r.pass { "PASS" } else { "FAIL" },
                secs,
                r.actor,
                r.what,
                r.reason,
                r.line
            );
        }
        if let Some(e) = &self.error {
            let _ = writeln!(s, "FAIL  the run stopped: {e}");
        } else if !self.finished {
            let _ = writeln!(s, "FAIL  the run stopped before every timeline finished");
        }
        let failed = self.failed + usize::from(self.error.is_some() || !self.finished);
        let _ = writeln!(s, "{}: {} passed, {} failed", self.scenario, self.passed, failed);
        s
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}

/// The result of [`run_file`].
#[derive(Debug)]
pub enum RunOutcome {
    /// The scenario ran (to the end or not).
    Ran(ScenarioReport),
    /// The scenario file is bad.
    BadScenario(ScenarioError),
}

impl RunOutcome {
    /// 0 all passed, 1 something failed, 2 bad scenario file.
    pub fn exit_code(&self) -> i32 {
        match self {
            RunOutcome::Ran(r) => r.exit_code(),
            RunOutcome::BadScenario(_) => 2,
        }
    }
}

/// Load `path`, build its world, hand it to `serve` (which runs it until
/// `world.finished()` or an error), and report.
pub fn run_file<F>(path: &Path, serve: F) -> RunOutcome
where
    F: FnOnce(&mut World) -> Result<(), String>,
{
    let sc = match load(path) {
        Ok(s) => s,
        Err(e) => return RunOutcome::BadScenario(e),
    };
    let mut world = match sc.build_world() {
        Ok(w) => w,
        Err(e) => return RunOutcome::BadScenario(e),
    };
    let mut err = serve(&mut world).err();
    if let Err(e) = sc.save_recordings(&world) {
        err.get_or_insert(format!("saving recordings: {e}"));
    }
    RunOutcome::Ran(report(path, &world, err))
}
