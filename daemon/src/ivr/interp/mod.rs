//! The IVR interpreter: one [`Session`] per call, a pure state machine over
//! a [`Flow`]. No I/O, no clock, no threads: the call-control core feeds it
//! [`Input`]s with the board time (`now_ms`) and the local time
//! ([`LocalTime`], for schedules and holidays), and carries out the
//! [`Action`]s it returns (plays audio, runs the SQL and HTTP on workers,
//! records, queues and transfers), answering with more inputs.
//!
//! # Contract with the core
//! - One `Play` at a time. The core answers every `Play` with exactly one
//!   `PlayDone`, when it ends or after a `StopPlay`. The session never
//!   emits a second `Play` before that `PlayDone`.
//! - The prompt name [`BEEP_PROMPT`] (`beep`) is not a recorded prompt: the
//!   core plays it as a 1 kHz tone. Voicemail and record emit it as a
//!   `Play` of its own just before `StartRecord`.
//! - One timer: [`Session::deadline`] says when (board ms); the core calls
//!   `handle(Input::Timer)` once `now_ms >= deadline`. An early or stray
//!   `Timer` is ignored, as is any input that does not fit the state
//!   (`PlayDone` when nothing plays, `LookupDone` when no lookup runs, …).
//! - `Queue` and `Transfer` leave the flow ([`State::Handed`]); a later
//!   `Failed` brings the call back to `on_failure`, or plays
//!   [`SORRY_PROMPT`] and hangs up. `Hangup` ends the session
//!   ([`State::Ended`]); every input after it is ignored.
//! - If the caller hangs up, the core simply drops the session.
//!
//! # Behaviour
//! - Language of prompts and `say`: the variable `lang` when it names a
//!   language ([`Lang::parse`]), else the flow's; read at every `Play`, so
//!   `set lang = "ru"` switches the rest of the call.
//! - Barge-in: a digit during a prompt that allows it (`play`/`say` with
//!   `barge_in`, every `menu`/`collect` prompt and their `invalid` and
//!   `no_input` prompts) sends `StopPlay` at once and is kept as type-ahead;
//!   later digits before the `PlayDone` are kept too. The node goes on only
//!   when `PlayDone` arrives (so the next `Play` never overlaps the
//!   stopped one). Digits during a prompt without barge-in, a voicemail
//!   greeting or beep, a `hangup` prompt or the `sorry-error` prompt are
//!   discarded. Digits pressed while a lookup or webhook runs are
//!   type-ahead. A `menu` or `collect` entered with type-ahead skips its
//!   prompt and takes the digits at once; digits left over stay for the
//!   next one. A wrong key or a failed collect throws the rest of the
//!   type-ahead away. Voicemail and record throw it away when entered.
//! - `menu`: after the prompt, `timeout_ms` for one key. A choice goes
//!   there; another key journals `invalid K`, no key `no_input`; the
//!   matching prompt plays, then the menu prompt again. `retries` counts
//!   failed tries: the try that makes `retries` failures (at least one)
//!   goes straight to `fallback` without playing `invalid`/`no_input` (the
//!   fallback node speaks for itself); no fallback journals
//!   `error: no fallback` and hangs up.
//! - `collect`: after the prompt, `first_digit_timeout_ms` for the first
//!   digit, then `inter_digit_timeout_ms` after each digit; the terminator
//!   (not stored) or the `max`-th digit ends at once, the inter-digit
//!   timeout ends too. No digit at all is `no_input`; fewer than `min`
//!   digits or a `pattern` (whole string) not matched is `invalid`
//!   (`invalid 12` with the digits, if any). Retries as in `menu`. On
//!   success: the variable is set, `Digits` then `Result "collected"`
//!   journaled. `max` 0 means no maximum.
//! - `voicemail`/`record`: the greeting/prompt (no barge-in), the beep if
//!   asked, then `StartRecord`. `StopRecord` on `#` (voicemail) or the
//!   terminator (record), after `silence_ms` without voice (counted from
//!   the start and from every `Voice(false)`; `Voice(true)` stops the
//!   count), or at `max_ms` (the session's own deadline; the core may stop
//!   at `max_ms` too, its `RecordDone` is taken either way). 0 turns the
//!   silence or max limit off. `RecordDone` journals `recorded 12.3s`
//!   (tenths, rounded down) and goes on; record puts the path in its
//!   variable.
//! - `set` assigns in order (a later value can use an earlier one).
//! - `queue` priority: the expanded template as a `u32`; empty, negative or
//!   not a number is 0.
//!
//! # Journal
//! `Step::Node` when a node is entered. Then one `Step::Result` per way the
//! node ends (every node but `set`): `played`/`barge_in K` (play, say);
//! `choice K`, `invalid K`, `no_input` (menu, one per try); `collected`
//! after `Step::Digits`, `invalid [digits]`, `no_input` (collect); `found`,
//! `not_found`, `error: …` (lookup); `case N` (from 1), `default`
//! (branch); `ok`, `error: …` (webhook); `queued Q`, `transfer N`, then
//! `failed: reason` if it comes back; `recorded X.Ys` (voicemail, record);
//! `hangup` (hangup node). A flow that is broken at run time (unknown
//! node, bad regex, unknown schedule, more than [`MAX_HOPS`] nodes without
//! waiting for anything) journals `error: …` at the node where it happened
//! and hangs up; the session never panics.

mod cond;
mod keys;
mod nodes;
mod record;
mod sql;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::ivr::flow::{
    Database, Flow, Goto, HttpMethod, Key, Lang, NodeKind, PromptItem, SayAs, SayOptions, Template,
};

/// The call's variables (name → value).
pub type Vars = BTreeMap<String, String>;

/// Nodes entered within one `start`/`handle` call (without any input or
/// wait in between) before the flow is declared looping.
pub const MAX_HOPS: u32 = 1000;

/// The prompt name the core plays as a 1 kHz beep tone.
pub const BEEP_PROMPT: &str = "beep";

/// The prompt played when a queue or transfer fails with no `on_failure`.
pub const SORRY_PROMPT: &str = "sorry-error";

/// Terminator of a voicemail recording.
const VOICEMAIL_STOP_KEY: Key = '#';

/// Local wall-clock time, for schedules and holidays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    pub year: i32,
    pub month: u8,
    pub day: u8,
    /// Monday = 0 … Sunday = 6.
    pub weekday: u8,
    /// Minute of the day, 0..1440.
    pub minute: u16,
}

impl LocalTime {
    /// From a calendar date and time (the core reads the clock, this only
    /// converts).
    pub fn from_datetime(t: &chrono::NaiveDateTime) -> LocalTime {
        use chrono::{Datelike, Timelike};
        LocalTime {
            year: t.year(),
            month: t.month() as u8,
            day: t.day() as u8,
            weekday: t.weekday().num_days_from_monday() as u8,
            minute: (t.hour() * 60 + t.minute()) as u16,
        }
    }
}

/// One thing for the core to play, resolved for the call's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spoken {
    /// A prompt by name (variables expanded). [`BEEP_PROMPT`] is a tone.
    Prompt {
        lang: Lang,
        name: String,
    },
    /// A value for the say rules of `lang`.
    Say {
        lang: Lang,
        kind: SayAs,
        value: String,
        options: SayOptions,
    },
    Silence {
        ms: u64,
    },
}

/// What a recording is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordPurpose {
    /// A voicemail message for `mailbox`; `notify` gets a JSON POST.
    Voicemail { mailbox: String, notify: Option<String> },
    /// A `record` node; the path goes into `var`.
    Caller { var: String },
}

/// What the core is to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Play the items in order. Answered by one `PlayDone`.
    Play {
        items: Vec<Spoken>,
        barge_in: bool,
    },
    /// Stop the current play (its `PlayDone` still comes).
    StopPlay,
    /// Run the query; `params` are (name without `:`, value) for every
    /// `:name` in the SQL. Answered by `LookupDone`.
    Lookup {
        database: Database,
        sql: String,
        params: Vec<(String, String)>,
    },
    /// Answered by `WebhookDone`.
    Webhook {
        method: HttpMethod,
        url: String,
        body: Vec<(String, String)>,
        timeout_ms: u64,
    },
    /// Start recording the caller (the beep, if any, was a `Play` before).
    /// Answered by `RecordDone` after `StopRecord` or at `max_ms`.
    StartRecord {
        purpose: RecordPurpose,
        max_ms: u64,
    },
    StopRecord,
    /// Hand the call to a queue; the call leaves the flow.
    Queue {
        queue: String,
        priority: u32,
        skills: Vec<String>,
    },
    /// Transfer through the dial plan; the call leaves the flow.
    Transfer {
        to: String,
    },
    Hangup,
    /// Write a step to the call journal.
    Journal(Step),
}

/// A call journal step: where the caller went and what happened there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A node was entered; `kind` is its type name (`menu`, …).
    Node { node: String, kind: &'static str },
    /// Digits a `collect` stored.
    Digits { node: String, digits: String },
    /// How a node ended (see the module doc for the texts).
    Result { node: String, result: String },
}

/// What the core tells the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    PlayDone,
    Digit(char),
    /// `now_ms` reached [`Session::deadline`].
    Timer,
    /// The caller started (true) or stopped (false) talking.
    Voice(bool),
    /// `Ok(None)`: the query returned no row.
    LookupDone(Result<Option<Vec<(String, String)>>, String>),
    WebhookDone(Result<Vec<(String, String)>, String>),
    RecordDone {
        path: String,
        ms: u64,
    },
    /// A queue or transfer could not reach anyone.
    Failed(String),
}

/// Where the call is with respect to the flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// In the flow.
    Running,
    /// Handed to a queue or transfer; only `Failed` brings it back.
    Handed,
    /// Hung up.
    Ended,
}

/// What the current node waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Not started, handed, or ended.
    Idle,
    /// A `play`/`say` node's prompts.
    Playing {
        barge_in: bool,
    },
    /// The menu prompt.
    MenuPrompt,
    /// The menu's `invalid`/`no_input` prompt.
    MenuRetry,
    /// Waiting `timeout_ms` for a menu key.
    MenuKey,
    CollectPrompt,
    CollectRetry,
    /// Collecting digits (first-digit or inter-digit timer running).
    CollectDigits,
    Lookup,
    Webhook,
    /// Voicemail greeting or record prompt.
    RecordGreeting,
    RecordBeep,
    /// Recording: the silence limit (None while the caller talks or when
    /// off) and the max limit (None when off), board ms.
    Recording {
        silence_at: Option<u64>,
        max_at: Option<u64>,
    },
    /// `StopRecord` sent, waiting for `RecordDone`.
    RecordStopping,
    /// Prompts before a hang-up; `journal` says whether to journal
    /// `hangup` (a hangup node) or not (after a failed queue/transfer).
    Closing {
        journal: bool,
    },
}

/// Which retry prompt a failed menu or collect try plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Miss {
    Invalid,
    NoInput,
}

/// The kind of node `node` (borrowed from the caller's clone of the flow's
/// `Arc`, so the session stays free to change).
fn kind_in<'f>(flow: &'f Flow, node: &str) -> Option<&'f NodeKind> {
    flow.node(node).map(|n| &n.kind)
}

/// One call in a flow.
#[derive(Debug, Clone)]
pub struct Session {
    flow: Arc<Flow>,
    vars: Vars,
    /// The current node ("" before start).
    node: String,
    state: State,
    phase: Phase,
    started: bool,
    /// The one timer, board ms.
    deadline: Option<u64>,
    /// Digits kept for the next menu/collect.
    typeahead: String,
    /// A `Play` is out and its `PlayDone` has not come.
    playing: bool,
    /// The digit that stopped the current play (a `StopPlay` was sent).
    stopped_by: Option<char>,
    /// Failed tries in the current menu/collect.
    failures: u32,
    /// Digits of the current collect.
    digits: String,
    /// Nodes entered in this `start`/`handle` call.
    hops: u32,
    /// A transition asked for, taken by `run`.
    next: Option<String>,
    now_ms: u64,
    local: LocalTime,
    /// Actions of the current `start`/`handle` call.
    out: Vec<Action>,
}

impl Session {
    /// A session for a call with its initial variables (`caller`,
    /// `caller_name`, `called`, `call_id`, `lang`, `flow`).
    pub fn new(flow: Arc<Flow>, vars: Vars) -> Session {
        Session {
            flow,
            vars,
            node: String::new(),
            state: State::Running,
            phase: Phase::Idle,
            started: false,
            deadline: None,
            typeahead: String::new(),
            playing: false,
            stopped_by: None,
            failures: 0,
            digits: String::new(),
            hops: 0,
            next: None,
            now_ms: 0,
            local: LocalTime { year: 1970, month: 1, day: 1, weekday: 3, minute: 0 },
            out: Vec::new(),
        }
    }

    /// Enter the flow's start node. A second call does nothing.
    pub fn start(&mut self, now_ms: u64, local: LocalTime) -> Vec<Action> {
        if self.started {
            return Vec::new();
        }
        self.started = true;
        self.begin(now_ms, local);
        let start = self.flow.start.clone();
        self.goto(&start);
        self.finish()
    }

    /// Take one input; returns what to do.
    pub fn handle(&mut self, input: Input, now_ms: u64, local: LocalTime) -> Vec<Action> {
        if !self.started || self.state == State::Ended {
            return Vec::new();
        }
        self.begin(now_ms, local);
        match input {
            Input::PlayDone => self.on_play_done(),
            Input::Digit(d) => self.on_digit(d),
            Input::Timer => self.on_timer(),
            Input::Voice(talking) => self.on_voice(talking),
            Input::LookupDone(r) => self.on_lookup_done(r),
            Input::WebhookDone(r) => self.on_webhook_done(r),
            Input::RecordDone { path, ms } => self.on_record_done(path, ms),
            Input::Failed(reason) => self.on_failed(reason),
        }
        self.finish()
    }

    /// When the core is to send `Input::Timer` (board ms), if at all.
    pub fn deadline(&self) -> Option<u64> {
        self.deadline
    }

    pub fn vars(&self) -> &Vars {
        &self.vars
    }

    /// The current node's name ("" before `start`).
    pub fn node(&self) -> &str {
        &self.node
    }

    pub fn flow(&self) -> &Arc<Flow> {
        &self.flow
    }

    pub fn state(&self) -> State {
        self.state
    }

    fn begin(&mut self, now_ms: u64, local: LocalTime) {
        self.now_ms = now_ms;
        self.local = local;
        self.hops = 0;
    }

    /// Take the transitions asked for, then hand the actions out.
    fn finish(&mut self) -> Vec<Action> {
        while let Some(target) = self.next.take() {
            self.enter(&target);
        }
        std::mem::take(&mut self.out)
    }

    // ---- helpers -------------------------------------------------------

    fn lang(&self) -> Lang {
        self.vars.get("lang").and_then(|l| Lang::parse(l)).unwrap_or(self.flow.lang)
    }

    fn expand(&self, t: &Template) -> String {
        t.expand(|k| self.vars.get(k).cloned())
    }

    fn journal(&mut self, step: Step) {
        self.out.push(Action::Journal(step));
    }

    fn result(&mut self, result: impl Into<String>) {
        let node = self.node.clone();
        self.journal(Step::Result { node, result: result.into() });
    }

    /// Ask for a transition (taken when the current input is done).
    fn goto(&mut self, to: &Goto) {
        self.deadline = None;
        self.phase = Phase::Idle;
        self.next = Some(to.node.clone());
    }

    /// Journal `error: what` at the current node and hang up.
    fn broken(&mut self, what: &str) {
        self.result(format!("error: {what}"));
        self.hangup();
    }

    fn hangup(&mut self) {
        self.out.push(Action::Hangup);
        self.state = State::Ended;
        self.phase = Phase::Idle;
        self.deadline = None;
        self.next = None;
        self.playing = false;
    }

    /// Emit a `Play` of `items`; false (and nothing emitted) when empty.
    fn play(&mut self, items: &[PromptItem], barge_in: bool) -> bool {
        if items.is_empty() {
            return false;
        }
        let lang = self.lang();
        let items = items
            .iter()
            .map(|i| match i {
                PromptItem::Prompt { name, .. } => Spoken::Prompt { lang, name: self.expand(name) },
                PromptItem::Say { value, kind, options, .. } => {
                    Spoken::Say { lang, kind: *kind, value: self.expand(value), options: options.clone() }
                }
                PromptItem::Silence { ms, .. } => Spoken::Silence { ms: *ms },
            })
            .collect();
        self.play_spoken(items, barge_in);
        true
    }

    fn play_spoken(&mut self, items: Vec<Spoken>, barge_in: bool) {
        self.out.push(Action::Play { items, barge_in });
        self.playing = true;
        self.stopped_by = None;
    }

    fn take_typeahead(&mut self) -> Option<char> {
        let d = self.typeahead.chars().next()?;
        self.typeahead.drain(..d.len_utf8());
        Some(d)
    }

    // ---- inputs that several node types take -----------------------------

    fn on_play_done(&mut self) {
        if !self.playing {
            return;
        }
        self.playing = false;
        let stopped_by = self.stopped_by.take();
        let flow = Arc::clone(&self.flow);
        let Some(kind) = kind_in(&flow, &self.node) else { return };
        match (self.phase, &kind) {
            (Phase::Playing { .. }, NodeKind::Play { next, .. } | NodeKind::Say { next, .. }) => {
                match stopped_by {
                    Some(d) => self.result(format!("barge_in {d}")),
                    None => self.result("played"),
                }
                self.goto(next);
            }
            (Phase::MenuPrompt, _) => self.menu_wait(),
            (Phase::MenuRetry, NodeKind::Menu { prompt, .. }) => {
                if !self.typeahead.is_empty() || !self.play(prompt, true) {
                    self.menu_wait();
                } else {
                    self.phase = Phase::MenuPrompt;
                }
            }
            (Phase::CollectPrompt, _) => self.collect_begin(),
            (Phase::CollectRetry, NodeKind::Collect { prompt, .. }) => {
                if !self.typeahead.is_empty() || !self.play(prompt, true) {
                    self.collect_begin();
                } else {
                    self.phase = Phase::CollectPrompt;
                }
            }
            (Phase::RecordGreeting, _) => self.record_beep(),
            (Phase::RecordBeep, _) => self.record_start(),
            (Phase::Closing { journal }, _) => {
                if journal {
                    self.result("hangup");
                }
                self.hangup();
            }
            _ => {}
        }
    }

    fn on_digit(&mut self, d: char) {
        match self.phase {
            Phase::Playing { barge_in: true }
            | Phase::MenuPrompt
            | Phase::MenuRetry
            | Phase::CollectPrompt
            | Phase::CollectRetry => {
                self.typeahead.push(d);
                if self.playing && self.stopped_by.is_none() {
                    self.stopped_by = Some(d);
                    self.out.push(Action::StopPlay);
                }
            }
            Phase::Lookup | Phase::Webhook => self.typeahead.push(d),
            Phase::MenuKey => {
                self.deadline = None;
                self.menu_key(d);
            }
            Phase::CollectDigits => {
                self.collect_digit(d);
            }
            Phase::Recording { .. } => {
                let flow = Arc::clone(&self.flow);
                let stop_key = match kind_in(&flow, &self.node) {
                    Some(NodeKind::Voicemail { .. }) => Some(VOICEMAIL_STOP_KEY),
                    Some(NodeKind::Record { terminator, .. }) => *terminator,
                    _ => None,
                };
                if stop_key == Some(d) {
                    self.record_stop();
                }
            }
            _ => {}
        }
    }

    fn on_timer(&mut self) {
        match self.deadline {
            Some(at) if self.now_ms >= at => self.deadline = None,
            _ => return,
        }
        match self.phase {
            Phase::MenuKey => {
                self.result("no_input");
                self.menu_failed(Miss::NoInput);
            }
            Phase::CollectDigits => {
                if self.digits.is_empty() {
                    self.result("no_input");
                    self.collect_failed(Miss::NoInput);
                } else {
                    self.collect_end();
                }
            }
            Phase::Recording { .. } => self.record_stop(),
            _ => {}
        }
    }
}
