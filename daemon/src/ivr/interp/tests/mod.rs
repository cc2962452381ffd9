//! Interpreter tests: flows built in code (a small builder), a driver that
//! keeps board time, and exact action sequences.

mod data;
mod handoff;
mod keys;
mod prompts;

use std::collections::BTreeMap;
use std::sync::Arc;

use super::*;
use crate::ivr::flow::{
    Case, CompareOp, Condition, Date, Flow, Gender, Goto, Holidays, HttpMethod, Lang, Node, NodeKind, PromptItem,
    SayAs, SayOptions, Schedule, ScheduleRule, Template,
};

/// Wednesday 2026-11-18 10:00.
const WED_10: LocalTime = LocalTime { year: 2026, month: 11, day: 18, weekday: 2, minute: 600 };

// ---- flow builder ------------------------------------------------------

fn g(node: &str) -> Goto {
    Goto { node: node.into(), line: 1 }
}

fn p(name: &str) -> PromptItem {
    PromptItem::Prompt { name: Template::new(name), line: 1 }
}

fn ps(names: &[&str]) -> Vec<PromptItem> {
    names.iter().map(|n| p(n)).collect()
}

struct FlowB(Flow);

/// A flow named `t` (language en) starting at `start`.
fn flow(start: &str) -> FlowB {
    FlowB(Flow {
        name: "t".into(),
        file: "t.toml".into(),
        lang: Lang::En,
        start: g(start),
        nodes: Vec::new(),
        schedules: Vec::new(),
        holidays: Vec::new(),
    })
}

impl FlowB {
    fn node(mut self, name: &str, kind: NodeKind) -> FlowB {
        let line = self.0.nodes.len() + 1;
        self.0.nodes.push(Node { name: name.into(), line, kind });
        self
    }
    fn lang(mut self, lang: Lang) -> FlowB {
        self.0.lang = lang;
        self
    }
    fn schedule(mut self, name: &str, rules: Vec<ScheduleRule>) -> FlowB {
        self.0.schedules.push(Schedule { name: name.into(), rules, line: 1 });
        self
    }
    fn holidays(mut self, name: &str, ranges: Vec<(Date, Date)>) -> FlowB {
        self.0.holidays.push(Holidays { name: name.into(), ranges, line: 1 });
        self
    }
    /// With a silent `end` hangup node added.
    fn build(self) -> Arc<Flow> {
        Arc::new(self.node("end", hangup(&[])).0)
    }
}

fn play(prompts: &[&str], next: &str) -> NodeKind {
    NodeKind::Play { prompts: ps(prompts), barge_in: false, next: g(next) }
}

fn play_barge(prompts: &[&str], next: &str) -> NodeKind {
    NodeKind::Play { prompts: ps(prompts), barge_in: true, next: g(next) }
}

fn hangup(prompts: &[&str]) -> NodeKind {
    NodeKind::Hangup { prompts: ps(prompts) }
}

fn set(vars: &[(&str, &str)], next: &str) -> NodeKind {
    NodeKind::Set { vars: vars.iter().map(|(k, v)| (k.to_string(), Template::new(*v))).collect(), next: g(next) }
}

struct Menu {
    prompt: Vec<PromptItem>,
    choices: Vec<(char, &'static str)>,
    timeout_ms: u64,
    invalid: Vec<PromptItem>,
    no_input: Vec<PromptItem>,
    retries: u32,
    fallback: Option<&'static str>,
}

/// A menu with the parser's defaults: 5 s, `invalid-choice`, `no-input`,
/// 3 retries, fallback `fb`.
fn menu(prompt: &str, choices: &[(char, &'static str)]) -> Menu {
    Menu {
        prompt: ps(&[prompt]),
        choices: choices.to_vec(),
        timeout_ms: 5000,
        invalid: ps(&["invalid-choice"]),
        no_input: ps(&["no-input"]),
        retries: 3,
        fallback: Some("fb"),
    }
}

impl Menu {
    fn kind(self) -> NodeKind {
        NodeKind::Menu {
            prompt: self.prompt,
            choices: self.choices.iter().map(|(k, n)| (*k, g(n))).collect::<BTreeMap<_, _>>(),
            timeout_ms: self.timeout_ms,
            invalid: self.invalid,
            no_input: self.no_input,
            retries: self.retries,
            fallback: self.fallback.map(g),
        }
    }
}

struct Collect {
    prompt: Vec<PromptItem>,
    var: &'static str,
    min: u32,
    max: u32,
    terminator: Option<char>,
    first_ms: u64,
    inter_ms: u64,
    pattern: Option<&'static str>,
    invalid: Vec<PromptItem>,
    no_input: Vec<PromptItem>,
    retries: u32,
    next: &'static str,
    fallback: Option<&'static str>,
}

/// A collect with the parser's defaults: 1..20 digits, `#`, 8 s / 4 s,
/// 3 retries, fallback `fb`.
fn collect(prompt: &str, var: &'static str, next: &'static str) -> Collect {
    Collect {
        prompt: ps(&[prompt]),
        var,
        min: 1,
        max: 20,
        terminator: Some('#'),
        first_ms: 8000,
        inter_ms: 4000,
        pattern: None,
        invalid: ps(&["invalid-choice"]),
        no_input: ps(&["no-input"]),
        retries: 3,
        next,
        fallback: Some("fb"),
    }
}

impl Collect {
    fn kind(self) -> NodeKind {
        NodeKind::Collect {
            prompt: self.prompt,
            var: self.var.into(),
            min: self.min,
            max: self.max,
            terminator: self.terminator,
            first_digit_timeout_ms: self.first_ms,
            inter_digit_timeout_ms: self.inter_ms,
            pattern: self.pattern.map(String::from),
            invalid: self.invalid,
            no_input: self.no_input,
            retries: self.retries,
            next: g(self.next),
            fallback: self.fallback.map(g),
        }
    }
}

fn case(when: Condition, goto: &str) -> Case {
    Case { when, goto: g(goto), line: 7 }
}

fn cmp(var: &str, op: CompareOp, value: &str) -> Condition {
    Condition::Compare { var: var.into(), op, value: Template::new(value) }
}

/// Every day, `from`..`to` as "HH:MM".
fn rule(days: &[usize], from: &str, to: &str) -> ScheduleRule {
    let min = |s: &str| {
        let (h, m) = s.split_once(':').unwrap();
        h.parse::<u16>().unwrap() * 60 + m.parse::<u16>().unwrap()
    };
    let mut d = [false; 7];
    for &i in days {
        d[i] = true;
    }
    ScheduleRule { days: d, from_min: min(from), to_min: min(to) }
}

// ---- expected actions --------------------------------------------------

fn node(name: &str, kind: &'static str) -> Action {
    Action::Journal(Step::Node { node: name.into(), kind })
}

fn res(name: &str, result: &str) -> Action {
    Action::Journal(Step::Result { node: name.into(), result: result.into() })
}

fn digits(name: &str, digits: &str) -> Action {
    Action::Journal(Step::Digits { node: name.into(), digits: digits.into() })
}

fn spoken(lang: Lang, names: &[&str]) -> Vec<Spoken> {
    names.iter().map(|n| Spoken::Prompt { lang, name: n.to_string() }).collect()
}

/// Play English prompts without barge-in.
fn pl(names: &[&str]) -> Action {
    Action::Play { items: spoken(Lang::En, names), barge_in: false }
}

/// Play English prompts with barge-in.
fn plb(names: &[&str]) -> Action {
    Action::Play { items: spoken(Lang::En, names), barge_in: true }
}

/// Entering the silent `end` node.
fn to_end() -> Vec<Action> {
    vec![node("end", "hangup"), res("end", "hangup"), Action::Hangup]
}

/// `a` then `b`.
fn then(mut a: Vec<Action>, b: Vec<Action>) -> Vec<Action> {
    a.extend(b);
    a
}

// ---- driver ------------------------------------------------------------

/// A call: the session, board time and local time.
struct Call {
    s: Session,
    now: u64,
    local: LocalTime,
}

fn vars(pairs: &[(&str, &str)]) -> Vars {
    let mut v: Vars = [
        ("caller", "13800138000"),
        ("caller_name", "Ann"),
        ("called", "4000"),
        ("call_id", "17"),
        ("lang", "en"),
        ("flow", "t"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, val) in pairs {
        v.insert(k.to_string(), val.to_string());
    }
    v
}

impl Call {
    fn new(flow: Arc<Flow>) -> Call {
        Call::with(flow, &[])
    }
    fn with(flow: Arc<Flow>, extra: &[(&str, &str)]) -> Call {
        Call { s: Session::new(flow, vars(extra)), now: 1000, local: WED_10 }
    }
    fn start(&mut self) -> Vec<Action> {
        self.s.start(self.now, self.local)
    }
    fn send(&mut self, input: Input) -> Vec<Action> {
        self.s.handle(input, self.now, self.local)
    }
    /// Move board time on by `ms`.
    fn wait(&mut self, ms: u64) -> &mut Call {
        self.now += ms;
        self
    }
    fn done(&mut self) -> Vec<Action> {
        self.send(Input::PlayDone)
    }
    fn key(&mut self, d: char) -> Vec<Action> {
        self.send(Input::Digit(d))
    }
    /// Several keys; the actions of all of them.
    fn keys(&mut self, ds: &str) -> Vec<Action> {
        ds.chars().flat_map(|d| self.key(d)).collect()
    }
    /// Time runs to the deadline and the timer fires.
    fn fire(&mut self) -> Vec<Action> {
        self.now = self.s.deadline().expect("a deadline is set");
        self.send(Input::Timer)
    }
    fn var(&self, name: &str) -> Option<&str> {
        self.s.vars().get(name).map(String::as_str)
    }
}
