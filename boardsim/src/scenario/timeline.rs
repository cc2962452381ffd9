//! A scenario's timelines, run inside the world's tick as its
//! [`Director`].
//!
//! Each actor (caller, party, phone) has a track of steps run one after
//! another. A step waits for its timing (an absolute board time, a delay
//! after the previous step, or a condition with a timeout), then performs
//! its action at that board time (within the tick), then, if it has an
//! expectation, watches for it until its deadline. Expectations pass or fail
//! with the board time and a reason; a failed wait or action stops the
//! track and fails what is left of it. Tracks run side by side.
//!
//! Results are pushed when a step ends (the only allocation, rare).

use std::any::Any;

use serde::Serialize;

use ctibox_driver::hal::{BoardEvent, BoardTime, Duration};

use crate::world::{Action, Actor, Condition, Director, World};

/// Who a track belongs to, by name (resolved when the world is built).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActorRef {
    Caller(String),
    Party(String),
    Phone(u16),
}

/// When a step starts.
#[derive(Debug, Clone, PartialEq)]
pub enum Timing {
    /// As soon as the previous step is done.
    Now,
    /// At this board time (or at once if it has passed).
    At(Duration),
    /// This long after the previous step is done.
    After(Duration),
    /// When the condition holds (counting from the previous step's end),
    /// failing after the timeout.
    WaitFor(Condition, Duration),
}

/// One step of a track.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub timing: Timing,
    pub action: Option<Action>,
    /// Condition and how long it has to come true.
    pub expect: Option<(Condition, Duration)>,
    pub desc: Option<String>,
    /// Line of the step in the scenario file.
    pub line: usize,
}

/// A track as the scenario declares it.
#[derive(Debug, Clone)]
pub struct TrackDef {
    pub actor: ActorRef,
    pub name: String,
    pub steps: Vec<Step>,
}

/// What a result is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    Expect,
    Wait,
    Action,
}

/// One expectation's (or failed step's) result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub pass: bool,
    pub kind: OutcomeKind,
    /// Board time it was decided, ms.
    pub at_ms: u64,
    pub actor: String,
    pub what: String,
    pub reason: String,
    /// Line of the step in the scenario file.
    pub line: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Timing,
    Expect,
}

#[derive(Debug)]
struct Track {
    actor: Actor,
    name: String,
    steps: Vec<Step>,
    idx: usize,
    phase: Phase,
    since: BoardTime,
    done: bool,
}

/// The director that runs a scenario's tracks.
#[derive(Debug)]
pub struct Timeline {
    tracks: Vec<Track>,
    results: Vec<Outcome>,
    max_time: BoardTime,
    finished_at: Option<BoardTime>,
}

fn describe(step: &Step) -> String {
    if let Some(d) = &step.desc {
        return d.clone();
    }
    let mut parts = Vec::new();
    match &step.timing {
        Timing::Now => {}
        Timing::At(t) => parts.push(format!("at {t}")),
        Timing::After(t) => parts.push(format!("after {t}")),
        Timing::WaitFor(c, t) => parts.push(format!("when {} (timeout {t})", c.describe())),
    }
    if let Some(a) = &step.action {
        parts.push(match a {
            Action::Call { line, .. } => format!("call line {line}"),
            Action::Hangup => "hang up".into(),
            Action::Dtmf(d) => format!("send DTMF \"{d}\""),
            Action::OffHook => "go off-hook".into(),
            Action::Answer => "answer".into(),
            Action::Flash => "flash".into(),
        });
    }
    if let Some((c, within)) = &step.expect {
        parts.push(format!("expect {} within {within}", c.describe()));
    }
    parts.join(", ")
}

impl Timeline {
    /// Resolve the tracks' actors in `world`; `None` names an actor the
    /// world does not have.
    pub fn new(world: &World, defs: &[TrackDef], max_time: Duration) -> Result<Timeline, String> {
        let mut tracks = Vec::with_capacity(defs.len());
        for d in defs {
            let actor = match &d.actor {
                ActorRef::Caller(n) => Actor::Caller(world.caller_index(n).ok_or(format!("no caller \"{n}\""))?),
                ActorRef::Party(n) => Actor::Party(world.party_index(n).ok_or(format!("no party \"{n}\""))?),
                ActorRef::Phone(p) => Actor::Phone(world.phone_index(*p).map_err(|e| e.to_string())?),
            };
            tracks.push(Track {
                actor,
                name: d.name.clone(),
                steps: d.steps.clone(),
                idx: 0,
                phase: Phase::Timing,
                since: BoardTime::ZERO,
                done: d.steps.is_empty(),
            });
        }
        let expected = defs.iter().map(|d| d.steps.len()).sum::<usize>();
        Ok(Timeline {
            tracks,
            results: Vec::with_capacity(expected),
            max_time: BoardTime::ZERO + max_time,
            finished_at: None,
        })
    }

    /// The listeners and patterns the steps ask about
    /// ([`Condition::HearsPattern`], [`Condition::MissesPattern`]): the
    /// world must watch them ([`World::watch_pattern`]).
    pub fn pattern_watches(&self) -> Vec<(Actor, u64)> {
        let mut out = Vec::new();
        for t in &self.tracks {
            for s in &t.steps {
                let wait = match &s.timing {
                    Timing::WaitFor(c, _) => Some(c),
                    _ => None,
                };
                for c in wait.into_iter().chain(s.expect.as_ref().map(|(c, _)| c)) {
                    if let Condition::HearsPattern(p) | Condition::MissesPattern(p, _) = c
                        && !out.contains(&(t.actor, *p))
                    {
                        out.push((t.actor, *p));
                    }
                }
            }
        }
        out
    }

    pub fn results(&self) -> &[Outcome] {
        &self.results
    }
    /// When the last track finished.
    pub fn finished_at(&self) -> Option<BoardTime> {
        self.finished_at
    }

    fn push(&mut self, pass: bool, kind: OutcomeKind, at: BoardTime, t: usize, what: String, reason: String) {
        let tr = &self.tracks[t];
        let line = tr.steps.get(tr.idx).map(|s| s.line).unwrap_or(0);
        self.results.push(Outcome { pass, kind, at_ms: at.as_ms(), actor: tr.name.clone(), what, reason, line });
    }

    /// Fail what is left of track `t` (from its current step on).
    fn abort(&mut self, t: usize, at: BoardTime, why: &str) {
        let start = self.tracks[t].idx;
        for i in start..self.tracks[t].steps.len() {
            self.tracks[t].idx = i;
            let s = &self.tracks[t].steps[i];
            if s.expect.is_some() {
                let what = describe(s);
                self.push(false, OutcomeKind::Expect, at, t, what, format!("not reached: {why}"));
            }
        }
        self.tracks[t].idx = self.tracks[t].steps.len();
        self.tracks[t].done = true;
    }

    fn run_track(&mut self, t: usize, world: &mut World, now: BoardTime, end: BoardTime, events: &mut Vec<BoardEvent>) {
        // Each pass either waits (returns) or finishes a phase; bound the
        // passes so that a track can never spin.
        for _ in 0..(2 * self.tracks[t].steps.len() + 2) {
            let tr = &self.tracks[t];
            if tr.done {
                return;
            }
            let Some(step) = tr.steps.get(tr.idx) else {
                self.tracks[t].done = true;
                return;
            };
            let actor = tr.actor;
            let since = tr.since;
            match tr.phase {
                Phase::Timing => {
                    let ready = match &step.timing {
                        Timing::Now => Some(since.max(now)),
                        Timing::At(d) => Some(BoardTime::ZERO + *d).filter(|&t| t < end).map(|t| t.max(now)),
                        Timing::After(d) => Some(since + *d).filter(|&t| t < end).map(|t| t.max(now)),
                        Timing::WaitFor(c, timeout) => {
                            if world.holds(actor, c, since, now) {
                                Some(now)
                            } else if now >= since + *timeout {
                                let what = describe(step);
                                let reason =
                                    format!("timed out after {timeout} waiting: {}", world.describe_actor(actor));
                                self.push(false, OutcomeKind::Wait, now, t, what, reason);
                                self.abort(t, now, "an earlier wait timed out");
                                return;
                            } else {
                                None
                            }
                        }
                    };
                    let Some(at) = ready else { return };
                    if let Some(a) = step.action.clone() {
                        if let Err(e) = world.act(at, actor, &a, events) {
                            let what = describe(step);
                            self.push(false, OutcomeKind::Action, at, t, what, e.to_string());
                            let tr = &mut self.tracks[t];
                            if tr.steps[tr.idx].expect.is_none() {
                                tr.idx += 1;
                            }
                            self.abort(t, at, "an earlier action failed");
                            return;
                        }
                    }
                    let tr = &mut self.tracks[t];
                    tr.since = at;
                    if tr.steps[tr.idx].expect.is_some() {
                        tr.phase = Phase::Expect;
                    } else {
                        tr.idx += 1;
                    }
                }
                Phase::Expect => {
                    let Some((cond, within)) = step.expect.clone() else {
                        self.tracks[t].phase = Phase::Timing;
                        continue;
                    };
                    if world.holds(actor, &cond, since, now) {
                        let what = describe(step);
                        let reason = format!("after {}", now.since(since));
                        self.push(true, OutcomeKind::Expect, now, t, what, reason);
                    } else if now >= since + within {
                        let what = describe(step);
                        let reason = format!("not within {within}: {}", world.describe_actor(actor));
                        self.push(false, OutcomeKind::Expect, now, t, what, reason);
                    } else {
                        return;
                    }
                    let tr = &mut self.tracks[t];
                    tr.idx += 1;
                    tr.phase = Phase::Timing;
                    tr.since = now;
                }
            }
        }
    }
}

impl Director for Timeline {
    fn direct(&mut self, world: &mut World, now: BoardTime, end: BoardTime, events: &mut Vec<BoardEvent>) {
        if self.finished_at.is_some() {
            return;
        }
        for t in 0..self.tracks.len() {
            self.run_track(t, world, now, end, events);
        }
        if now >= self.max_time {
            for t in 0..self.tracks.len() {
                if !self.tracks[t].done {
                    let why = format!("the scenario's time limit ({}) was reached", self.max_time);
                    let tr = &self.tracks[t];
                    if let Some(s) = tr.steps.get(tr.idx).filter(|s| s.expect.is_none()) {
                        let what = describe(s);
                        self.push(false, OutcomeKind::Wait, now, t, what, why.clone());
                        self.tracks[t].idx += 1;
                    }
                    self.abort(t, now, &why);
                }
            }
        }
        if self.tracks.iter().all(|t| t.done) {
            self.finished_at = Some(now);
        }
    }

    fn finished(&self) -> bool {
        self.finished_at.is_some()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
