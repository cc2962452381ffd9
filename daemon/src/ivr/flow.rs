//! The flow model: what a flow file means once parsed (`parse.rs` builds
//! it, `check.rs` checks it, `graph.rs` draws it, `interp.rs` runs it).
//!
//! A flow is a set of named nodes; every node says where the call goes
//! next. Every node and every reference to another node keeps the line it
//! was written on, so checks can name file:line.
//!
//! Values written in a flow are [`Template`]s: text with `${name}` for a
//! variable (`${caller}`, `${order}`, `${crm.name}`). Variables every call
//! has: `caller` (caller's number, empty when withheld), `caller_name`,
//! `called` (the number dialled, or the trunk's published number),
//! `call_id`, `lang` (the flow's language, can be `set`), `flow` (this
//! flow's name).

use std::collections::BTreeMap;
use std::path::PathBuf;

/// A prompt language. The default prompt set and `say` exist for all three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Lang {
    /// Mandarin Chinese, written `zh-CN` (also accepted: `zh`).
    Zh,
    /// English, `en`.
    En,
    /// Russian, `ru`.
    Ru,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::Zh, Lang::En, Lang::Ru];

    /// The language spoken by default in a country: zh-CN in China,
    /// Russian in Russia, else English.
    pub fn of_country(country: ctibox_driver::dsp::tones::Country) -> Lang {
        use ctibox_driver::dsp::tones::Country;
        match country {
            Country::Cn => Lang::Zh,
            Country::Ru => Lang::Ru,
            _ => Lang::En,
        }
    }

    /// The code used in files and directories: `zh-CN`, `en`, `ru`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
            Lang::Ru => "ru",
        }
    }

    /// Parse a language code (`zh-CN`, `zh`, `en`, `ru`, any case).
    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim().to_ascii_lowercase().as_str() {
            "zh-cn" | "zh" | "cn" => Some(Lang::Zh),
            "en" | "en-us" | "en-gb" => Some(Lang::En),
            "ru" | "ru-ru" => Some(Lang::Ru),
            _ => None,
        }
    }
}

/// Text with `${var}` references, expanded at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// As written in the file.
    pub text: String,
}

impl Template {
    pub fn new(text: impl Into<String>) -> Template {
        Template { text: text.into() }
    }

    /// Whether the text has no `${…}` (its value is known when loading).
    pub fn is_literal(&self) -> bool {
        !self.text.contains("${")
    }

    /// The names of the variables referred to, in order.
    pub fn vars(&self) -> Vec<&str> {
        let mut out = Vec::new();
        let mut rest = self.text.as_str();
        while let Some(i) = rest.find("${") {
            let after = &rest[i + 2..];
            match after.find('}') {
                Some(j) => {
                    out.push(&after[..j]);
                    rest = &after[j + 1..];
                }
                None => break,
            }
        }
        out
    }

    /// Expand with `lookup` (an unknown variable expands to "").
    pub fn expand(&self, lookup: impl Fn(&str) -> Option<String>) -> String {
        let mut out = String::with_capacity(self.text.len());
        let mut rest = self.text.as_str();
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            match after.find('}') {
                Some(j) => {
                    out.push_str(&lookup(&after[..j]).unwrap_or_default());
                    rest = &after[j + 1..];
                }
                None => {
                    out.push_str(&rest[i..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        out
    }
}

/// A reference to another node, with the line it was written on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Goto {
    pub node: String,
    pub line: usize,
}

/// What `say` speaks a value as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SayAs {
    /// A whole or decimal number: `1234`, `-7`, `3.25`.
    Number,
    /// Digit by digit: `13800138000`.
    Digits,
    /// An amount: `12.50`, `-3`; currency from [`SayOptions::currency`] or the
    /// language's (zh CNY 元/角/分, en USD dollars/cents, ru RUB рубль/копейка).
    Money,
    /// `YYYY-MM-DD`.
    Date,
    /// `HH:MM` or `HH:MM:SS` (24-hour).
    Time,
    /// Seconds (`125`) or `1h2m5s` style.
    Duration,
    /// `1` → first / 第一 / первый.
    Ordinal,
}

impl SayAs {
    pub fn parse(s: &str) -> Option<SayAs> {
        Some(match s.trim() {
            "number" => SayAs::Number,
            "digits" => SayAs::Digits,
            "money" => SayAs::Money,
            "date" => SayAs::Date,
            "time" => SayAs::Time,
            "duration" => SayAs::Duration,
            "ordinal" => SayAs::Ordinal,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            SayAs::Number => "number",
            SayAs::Digits => "digits",
            SayAs::Money => "money",
            SayAs::Date => "date",
            SayAs::Time => "time",
            SayAs::Duration => "duration",
            SayAs::Ordinal => "ordinal",
        }
    }
}

/// Grammatical gender (Russian numbers agree with their noun).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Gender {
    #[default]
    Masculine,
    Feminine,
    Neuter,
}

/// Options of a `say`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SayOptions {
    /// Russian agreement of numbers and ordinals (default masculine).
    pub gender: Option<Gender>,
    /// ISO code for money: `CNY`, `USD`, `RUB` (default: the language's).
    pub currency: Option<String>,
}

/// One thing to play.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptItem {
    /// A prompt by name (`welcome`, `menu/main`, or with variables:
    /// `status-${status}`), looked up for the call's language: see
    /// `prompts.rs` for where names are found.
    Prompt { name: Template, line: usize },
    /// A value spoken with the say-number rules of the call's language.
    Say { value: Template, kind: SayAs, options: SayOptions, line: usize },
    /// A pause.
    Silence { ms: u64, line: usize },
}

/// Digits a caller can press, in a menu or as a terminator.
pub type Key = char;

/// A condition of a `branch` case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// `var OP value`: ops `==`, `!=`, `<`, `<=`, `>`, `>=` (numeric when
    /// both sides are numbers, else text), `matches` (regex), `empty`,
    /// `not_empty`.
    Compare { var: String, op: CompareOp, value: Template },
    /// The caller's number matches the regex.
    Caller { pattern: String },
    /// Now (local time) is inside the named schedule.
    Schedule { name: String },
    /// Today (local date) is in the named holiday list.
    Holiday { name: String },
    /// All of these.
    All(Vec<Condition>),
    /// Any of these.
    Any(Vec<Condition>),
    /// Not this.
    Not(Box<Condition>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Matches,
    Empty,
    NotEmpty,
}

/// One case of a `branch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub when: Condition,
    pub goto: Goto,
    pub line: usize,
}

/// Where a `lookup` runs its query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// The daemon's own records database (read-only connection).
    Records,
    /// A customer database file (SQLite), path relative to the flow file's
    /// directory unless absolute; opened read-only.
    File(PathBuf),
}

/// A day-of-week and hours schedule, in local time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub name: String,
    /// Rules; the schedule is open when any rule holds.
    pub rules: Vec<ScheduleRule>,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleRule {
    /// Weekdays it applies to, Monday = 0 … Sunday = 6.
    pub days: [bool; 7],
    /// Minutes after midnight, start inclusive, end exclusive; an end
    /// before the start runs past midnight.
    pub from_min: u16,
    pub to_min: u16,
}

/// A calendar date as (year, month, day); tuples order by date.
pub type Date = (i32, u8, u8);

/// A named list of dates (`YYYY-MM-DD`, or `YYYY-MM-DD..YYYY-MM-DD`
/// inclusive), as (year, month, day) ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holidays {
    pub name: String,
    pub ranges: Vec<(Date, Date)>,
    pub line: usize,
}

/// What a node does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeKind {
    /// Play prompts, then go on. With `barge_in`, a digit stops the prompt
    /// and is kept for the next `menu`/`collect` (type-ahead).
    Play { prompts: Vec<PromptItem>, barge_in: bool, next: Goto },
    /// Like `play`, for one spoken value (sugar kept for the graph and
    /// journal).
    Say { before: Vec<PromptItem>, item: PromptItem, after: Vec<PromptItem>, barge_in: bool, next: Goto },
    /// A DTMF menu: play `prompt` (barge-in always on), wait `timeout` for
    /// one key. A key in `choices` goes there; another key plays `invalid`,
    /// no key plays `no_input`; either retries the prompt, and after
    /// `retries` failed tries goes to `fallback` (`None` is a check error,
    /// kept so `check` can report it).
    Menu {
        prompt: Vec<PromptItem>,
        choices: BTreeMap<Key, Goto>,
        timeout_ms: u64,
        invalid: Vec<PromptItem>,
        no_input: Vec<PromptItem>,
        retries: u32,
        fallback: Option<Goto>,
    },
    /// Collect digits into `var`: between `min` and `max` digits, ended by
    /// `terminator` (not stored), reaching `max`, or the inter-digit
    /// timeout. No first digit within `first_digit_timeout_ms` → retry with
    /// `no_input` prompt; too few digits or `pattern` (regex, whole string)
    /// not matched → retry with `invalid`; after `retries` goes to
    /// `fallback`.
    Collect {
        prompt: Vec<PromptItem>,
        var: String,
        min: u32,
        max: u32,
        terminator: Option<Key>,
        first_digit_timeout_ms: u64,
        inter_digit_timeout_ms: u64,
        pattern: Option<String>,
        invalid: Vec<PromptItem>,
        no_input: Vec<PromptItem>,
        retries: u32,
        next: Goto,
        fallback: Option<Goto>,
    },
    /// Run one SQL query with named parameters (`:name` bound to the
    /// variable `name`; values are never pasted into the SQL). The first
    /// row's columns become variables (`prefix` + column name); `found` when
    /// a row came back, `not_found` when none, `error` when the query
    /// failed.
    Lookup {
        database: Database,
        sql: String,
        /// Line of the `sql` key (SQL errors point there).
        sql_line: usize,
        prefix: String,
        found: Goto,
        not_found: Goto,
        error: Goto,
    },
    /// Go to the first case whose condition holds, else `default`.
    Branch { cases: Vec<Case>, default: Goto },
    /// Set variables (values are templates).
    Set { vars: Vec<(String, Template)>, next: Goto },
    /// An HTTP request to the CRM: `url` is absolute, or a path joined to
    /// the config's CRM base URL. GET sends the `body` fields as query
    /// parameters, POST as a JSON object. The reply must be a JSON object;
    /// its scalar fields become variables `prefix` + key. A timeout, a
    /// non-2xx status or a reply that is not a JSON object goes to `error`.
    Webhook {
        method: HttpMethod,
        url: Template,
        body: Vec<(String, Template)>,
        timeout_ms: u64,
        prefix: String,
        next: Goto,
        error: Goto,
    },
    /// Hand the caller to the ACD queue `queue` with a priority (VIP level,
    /// a template such as `${vip}`) and skills. Until the ACD exists: ring
    /// the ring group of that number or name. `on_failure` when nobody can
    /// take the call (no such queue, nobody answers), else the call leaves
    /// the flow.
    Queue { queue: Template, priority: Option<Template>, skills: Vec<Template>, on_failure: Option<Goto> },
    /// Transfer to an extension or outside number (through the dial plan).
    /// The call leaves the flow; `on_failure` when the number cannot be
    /// reached.
    Transfer { to: Template, on_failure: Option<Goto> },
    /// Voicemail: play `greeting`, a beep, record until `#`, `silence_ms` of
    /// silence, or `max_ms`; stored as WAV under the data dir and in SQLite
    /// for `mailbox`; `notify` (URL) gets a JSON POST about it. Then `next`.
    Voicemail {
        mailbox: Template,
        greeting: Vec<PromptItem>,
        beep: bool,
        max_ms: u64,
        silence_ms: u64,
        notify: Option<Template>,
        next: Goto,
    },
    /// Record the caller (any purpose): like voicemail without a mailbox;
    /// the file's path goes into `var`.
    Record {
        prompt: Vec<PromptItem>,
        beep: bool,
        max_ms: u64,
        silence_ms: u64,
        terminator: Option<Key>,
        var: String,
        next: Goto,
    },
    /// Play `prompts` (if any) and hang up.
    Hangup { prompts: Vec<PromptItem> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    Get,
    Post,
}

/// One named node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    /// Line of the node's table header.
    pub line: usize,
    pub kind: NodeKind,
}

/// A parsed flow (one file).
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    /// The flow's name (file stem unless `name = …`).
    pub name: String,
    /// The file it came from (shown in errors).
    pub file: PathBuf,
    /// Default language of the flow's prompts and `say`.
    pub lang: Lang,
    /// The node a call starts at.
    pub start: Goto,
    /// Nodes in file order.
    pub nodes: Vec<Node>,
    pub schedules: Vec<Schedule>,
    pub holidays: Vec<Holidays>,
}

impl Flow {
    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }
}

impl NodeKind {
    /// The type name as written in files.
    pub fn type_name(&self) -> &'static str {
        match self {
            NodeKind::Play { .. } => "play",
            NodeKind::Say { .. } => "say",
            NodeKind::Menu { .. } => "menu",
            NodeKind::Collect { .. } => "collect",
            NodeKind::Lookup { .. } => "lookup",
            NodeKind::Branch { .. } => "branch",
            NodeKind::Set { .. } => "set",
            NodeKind::Webhook { .. } => "webhook",
            NodeKind::Queue { .. } => "queue",
            NodeKind::Transfer { .. } => "transfer",
            NodeKind::Voicemail { .. } => "voicemail",
            NodeKind::Record { .. } => "record",
            NodeKind::Hangup { .. } => "hangup",
        }
    }

    /// Every node this one can go to, with a label for each edge (the key,
    /// `next`, `found`, …), in a stable order.
    pub fn exits(&self) -> Vec<(String, &Goto)> {
        let mut v: Vec<(String, &Goto)> = Vec::new();
        match self {
            NodeKind::Play { next, .. } | NodeKind::Say { next, .. } | NodeKind::Set { next, .. } => {
                v.push(("next".into(), next))
            }
            NodeKind::Menu { choices, fallback, .. } => {
                v.extend(choices.iter().map(|(k, g)| (k.to_string(), g)));
                v.extend(fallback.iter().map(|g| ("fallback".to_string(), g)));
            }
            NodeKind::Collect { next, fallback, .. } => {
                v.push(("next".into(), next));
                v.extend(fallback.iter().map(|g| ("fallback".to_string(), g)));
            }
            NodeKind::Lookup { found, not_found, error, .. } => {
                v.push(("found".into(), found));
                v.push(("not_found".into(), not_found));
                v.push(("error".into(), error));
            }
            NodeKind::Branch { cases, default } => {
                v.extend(cases.iter().enumerate().map(|(i, c)| (format!("case {}", i + 1), &c.goto)));
                v.push(("default".into(), default));
            }
            NodeKind::Webhook { next, error, .. } => {
                v.push(("next".into(), next));
                v.push(("error".into(), error));
            }
            NodeKind::Queue { on_failure, .. } | NodeKind::Transfer { on_failure, .. } => {
                v.extend(on_failure.iter().map(|g| ("on_failure".to_string(), g)));
            }
            NodeKind::Voicemail { next, .. } | NodeKind::Record { next, .. } => v.push(("next".into(), next)),
            NodeKind::Hangup { .. } => {}
        }
        v
    }

    /// Whether the node waits for the caller (a key, digits, a recording):
    /// a loop through no such node spins without input.
    pub fn waits_for_input(&self) -> bool {
        matches!(
            self,
            NodeKind::Menu { .. } | NodeKind::Collect { .. } | NodeKind::Record { .. } | NodeKind::Voicemail { .. }
        )
    }

    /// Every prompt item the node can play.
    pub fn prompt_items(&self) -> Vec<&PromptItem> {
        let mut v: Vec<&PromptItem> = Vec::new();
        match self {
            NodeKind::Play { prompts, .. } | NodeKind::Hangup { prompts } => v.extend(prompts),
            NodeKind::Say { before, item, after, .. } => {
                v.extend(before);
                v.push(item);
                v.extend(after);
            }
            NodeKind::Menu { prompt, invalid, no_input, .. } | NodeKind::Collect { prompt, invalid, no_input, .. } => {
                v.extend(prompt);
                v.extend(invalid);
                v.extend(no_input);
            }
            NodeKind::Voicemail { greeting, .. } => v.extend(greeting),
            NodeKind::Record { prompt, .. } => v.extend(prompt),
            _ => {}
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates() {
        let t = Template::new("order ${order} for ${caller}${x");
        assert_eq!(t.vars(), vec!["order", "caller"]);
        assert!(!t.is_literal());
        let s = t.expand(|v| match v {
            "order" => Some("42".into()),
            _ => None,
        });
        assert_eq!(s, "order 42 for ${x");
        assert!(Template::new("welcome").is_literal());
    }

    #[test]
    fn exits_in_order() {
        let g = |n: &str| Goto { node: n.into(), line: 1 };
        let k = NodeKind::Lookup {
            database: Database::Records,
            sql: "x".into(),
            sql_line: 1,
            prefix: String::new(),
            found: g("a"),
            not_found: g("b"),
            error: g("c"),
        };
        let e: Vec<(String, String)> = k.exits().into_iter().map(|(l, g)| (l, g.node.clone())).collect();
        assert_eq!(
            e,
            vec![("found".into(), "a".into()), ("not_found".into(), "b".into()), ("error".into(), "c".into())]
        );
        assert_eq!(Lang::parse("zh"), Some(Lang::Zh));
        assert_eq!(Lang::Zh.code(), "zh-CN");
    }
}
