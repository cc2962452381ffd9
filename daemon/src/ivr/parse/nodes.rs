//! One reader per node type: which keys it takes, their defaults, and what
//! is checked about each.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::items::{
    condition, key_from, opt_goto, prompt_list, regex, req_goto, say_kind_and_options, terminator, var_name,
};
use super::value::{Entry, Fields, Kind, Str, Val, template};
use super::{Reader, is_node_name};
use crate::ivr::flow::{Case, Database, HttpMethod, Node, NodeKind, PromptItem, SayAs, SayOptions, Template};

/// The node types, as written in `type = …`.
pub const NODE_TYPES: &[&str] = &[
    "play",
    "say",
    "menu",
    "collect",
    "lookup",
    "branch",
    "set",
    "webhook",
    "queue",
    "transfer",
    "voicemail",
    "record",
    "hangup",
];

/// The keys each node type takes (besides `type`).
pub fn keys_of(node_type: &str) -> &'static [&'static str] {
    match node_type {
        "play" => &["prompts", "prompt", "barge_in", "next"],
        "say" => &["value", "as", "gender", "currency", "before", "after", "barge_in", "next"],
        "menu" => &["prompt", "choices", "timeout", "invalid", "no_input", "retries", "fallback"],
        "collect" => &[
            "prompt",
            "var",
            "min",
            "max",
            "terminator",
            "first_digit_timeout",
            "inter_digit_timeout",
            "pattern",
            "invalid",
            "no_input",
            "retries",
            "next",
            "fallback",
        ],
        "lookup" => &["database", "sql", "prefix", "found", "not_found", "error"],
        "branch" => &["cases", "default"],
        "set" => &["vars", "next"],
        "webhook" => &["method", "url", "body", "timeout", "prefix", "next", "error"],
        "queue" => &["queue", "priority", "skills", "on_failure"],
        "transfer" => &["to", "on_failure"],
        "voicemail" => &["mailbox", "greeting", "beep", "max", "silence", "notify", "next"],
        "record" => &["prompt", "beep", "max", "silence", "terminator", "var", "next"],
        "hangup" => &["prompts", "prompt"],
        _ => &[],
    }
}

/// Most digits `collect` takes.
const MAX_DIGITS: u32 = 64;
/// Most tries of a menu or collect.
const MAX_RETRIES: u32 = 20;

/// Default prompts of menu and collect retries.
const INVALID_DEFAULT: &[&str] = &["invalid-choice"];
const NO_INPUT_DEFAULT: &[&str] = &["no-input"];

/// One `[nodes.NAME]` (or `NAME = { … }` inside `[nodes]`).
pub(super) fn node(r: &mut Reader<'_>, entry: &Entry) -> Option<Node> {
    let name = entry.key.clone();
    let line = r.line(&entry.key_span);
    if !is_node_name(&name) {
        r.e.at(&entry.key_span, format!("node name `{name}`: use letters, digits, `_`, `-` and `.`"));
    }
    let Some(t) = entry.val.as_table() else {
        r.e.at(
            &entry.val.span,
            format!("node `{name}` must be a table (with `type = …`), not {}", entry.val.type_desc()),
        );
        return None;
    };
    let head = Fields::new(t, entry.val.span.clone(), format!("node `{name}`"));
    let node_type = match head.get("type") {
        None => {
            r.e.at(&entry.key_span, format!("node `{name}` has no `type` (one of {})", NODE_TYPES.join(", ")));
            return None;
        }
        Some(Val { kind: Kind::Str(s), .. }) if NODE_TYPES.contains(&s.as_str()) => s.clone(),
        Some(v @ Val { kind: Kind::Str(s), .. }) => {
            r.e.at(&v.span, format!("node `{name}`: unknown type `{s}` (one of {})", NODE_TYPES.join(", ")));
            return None;
        }
        Some(v) => {
            r.e.at(&v.span, format!("node `{name}`: `type` must be a string, not {}", v.type_desc()));
            return None;
        }
    };
    let f = Fields::new(t, entry.val.span.clone(), format!("node `{name}` ({node_type})"));
    let mut allowed = vec!["type"];
    allowed.extend_from_slice(keys_of(&node_type));
    f.deny_unknown(&mut r.e, &allowed, &node_type);
    let kind = match node_type.as_str() {
        "play" => play(r, &f, line),
        "say" => say(r, &f, line),
        "menu" => menu(r, &f, line),
        "collect" => collect(r, &f, line),
        "lookup" => lookup(r, &f),
        "branch" => branch(r, &f),
        "set" => set(r, &f),
        "webhook" => webhook(r, &f),
        "queue" => queue(r, &f),
        "transfer" => transfer(r, &f),
        "voicemail" => voicemail(r, &f, line),
        "record" => record(r, &f, line),
        _ => hangup(r, &f, line),
    };
    Some(Node { name, line, kind })
}

/// `prompts`, or its alias `prompt` (not both).
fn prompts_or_prompt(r: &mut Reader<'_>, f: &Fields<'_>, line: usize, required: bool) -> Vec<PromptItem> {
    match (f.get("prompts"), f.get("prompt")) {
        (Some(_), Some(v)) => {
            r.e.at(&v.span, format!("{}: `prompt` and `prompts` are the same key: write one", f.what));
            Vec::new()
        }
        (None, Some(_)) => prompt_list(r, f, "prompt", &[], line),
        (Some(_), None) => prompt_list(r, f, "prompts", &[], line),
        (None, None) => {
            if required {
                f.missing(&mut r.e, "prompts");
            }
            Vec::new()
        }
    }
}

fn required_prompts(r: &mut Reader<'_>, f: &Fields<'_>, key: &str, line: usize) -> Vec<PromptItem> {
    if f.get(key).is_none() {
        f.missing(&mut r.e, key);
    }
    let items = prompt_list(r, f, key, &[], line);
    if items.is_empty()
        && let Some(v) = f.get(key)
        && matches!(&v.kind, Kind::Array(a) if a.is_empty())
    {
        r.e.at(&v.span, format!("{}: `{key}` is empty", f.what));
    }
    items
}

fn play(r: &mut Reader<'_>, f: &Fields<'_>, line: usize) -> NodeKind {
    let prompts = prompts_or_prompt(r, f, line, true);
    let barge_in = f.opt_bool(&mut r.e, "barge_in", false);
    let next = req_goto(r, f, "next");
    NodeKind::Play { prompts, barge_in, next }
}

fn say(r: &mut Reader<'_>, f: &Fields<'_>, line: usize) -> NodeKind {
    let value = f.get("value");
    let item_line = value.map_or(line, |v| r.line(&v.span));
    let value = match f.opt_text(&mut r.e, "value") {
        Some((text, span)) => template(&mut r.e, &f.what, "value", &Str { text: &text, span }),
        None => {
            if value.is_none() {
                f.missing(&mut r.e, "value");
            }
            Template::new("")
        }
    };
    // With a bad or missing `as` the node is still built; the flow is
    // refused anyway since the error was reported.
    let (kind, options) = say_kind_and_options(r, f).unwrap_or((SayAs::Number, SayOptions::default()));
    let item = PromptItem::Say { value, kind, options, line: item_line };
    let before = prompt_list(r, f, "before", &[], line);
    let after = prompt_list(r, f, "after", &[], line);
    let barge_in = f.opt_bool(&mut r.e, "barge_in", false);
    let next = req_goto(r, f, "next");
    NodeKind::Say { before, item, after, barge_in, next }
}

fn retries(r: &mut Reader<'_>, f: &Fields<'_>) -> u32 {
    f.opt_uint(&mut r.e, "retries", 3, (1, MAX_RETRIES))
}

fn menu(r: &mut Reader<'_>, f: &Fields<'_>, line: usize) -> NodeKind {
    let prompt = required_prompts(r, f, "prompt", line);
    let mut choices = BTreeMap::new();
    match f.get("choices") {
        None => f.missing(&mut r.e, "choices"),
        Some(Val { kind: Kind::Table(entries), span }) => {
            if entries.is_empty() {
                r.e.at(span, format!("{}: `choices` is empty", f.what));
            }
            for entry in entries {
                let Some(key) = key_from(r, &f.what, "choices", &entry.key, &entry.key_span) else { continue };
                match &entry.val.kind {
                    Kind::Str(s) => {
                        let g =
                            super::items::goto(r, &f.what, "choices", &Str { text: s, span: entry.val.span.clone() });
                        choices.insert(key, g);
                    }
                    _ => r.e.at(
                        &entry.val.span,
                        format!("{}: choice `{key}` must name a node, not {}", f.what, entry.val.type_desc()),
                    ),
                }
            }
        }
        Some(v) => r.e.at(
            &v.span,
            format!("{}: `choices` must be a table like {{ \"1\" = \"sales\" }}, not {}", f.what, v.type_desc()),
        ),
    }
    let timeout_ms = f.opt_duration(&mut r.e, "timeout", 5_000, false);
    let invalid = prompt_list(r, f, "invalid", INVALID_DEFAULT, line);
    let no_input = prompt_list(r, f, "no_input", NO_INPUT_DEFAULT, line);
    let retries = retries(r, f);
    let fallback = opt_goto(r, f, "fallback");
    NodeKind::Menu { prompt, choices, timeout_ms, invalid, no_input, retries, fallback }
}

fn collect(r: &mut Reader<'_>, f: &Fields<'_>, line: usize) -> NodeKind {
    let prompt = required_prompts(r, f, "prompt", line);
    let var = match f.req_str(&mut r.e, "var") {
        Some(s) => var_name(r, &f.what, "var", &s),
        None => String::new(),
    };
    let min = f.opt_uint(&mut r.e, "min", 1, (0, MAX_DIGITS));
    let max = f.opt_uint(&mut r.e, "max", 20, (1, MAX_DIGITS));
    if min > max
        && let Some(v) = f.get("min").or(f.get("max"))
    {
        r.e.at(&v.span, format!("{}: `min` ({min}) is more than `max` ({max})", f.what));
    }
    let terminator = terminator(r, f);
    let first_digit_timeout_ms = f.opt_duration(&mut r.e, "first_digit_timeout", 8_000, false);
    let inter_digit_timeout_ms = f.opt_duration(&mut r.e, "inter_digit_timeout", 4_000, false);
    let pattern = f.opt_str(&mut r.e, "pattern").map(|s| {
        regex(r, &f.what, "pattern", &s, true);
        s.text.to_string()
    });
    let invalid = prompt_list(r, f, "invalid", INVALID_DEFAULT, line);
    let no_input = prompt_list(r, f, "no_input", NO_INPUT_DEFAULT, line);
    let retries = retries(r, f);
    let next = req_goto(r, f, "next");
    let fallback = opt_goto(r, f, "fallback");
    NodeKind::Collect {
        prompt,
        var,
        min,
        max,
        terminator,
        first_digit_timeout_ms,
        inter_digit_timeout_ms,
        pattern,
        invalid,
        no_input,
        retries,
        next,
        fallback,
    }
}

/// A variable-name prefix (`crm.`, `order_`): empty, or the start of a
/// variable name.
fn prefix(r: &mut Reader<'_>, f: &Fields<'_>) -> String {
    match f.opt_str(&mut r.e, "prefix") {
        None => String::new(),
        Some(s) => {
            if !s.text.is_empty() && !super::is_var_name(s.text) {
                r.e.at(
                    &s.span,
                    format!(
                        "{}: `prefix`: `{}` cannot start a variable name (letters, digits, `_`, `.`)",
                        f.what, s.text
                    ),
                );
            }
            s.text.to_string()
        }
    }
}

fn lookup(r: &mut Reader<'_>, f: &Fields<'_>) -> NodeKind {
    let database = match f.opt_str(&mut r.e, "database") {
        None => Database::Records,
        Some(s) if s.text == "records" => Database::Records,
        Some(s) if s.text.trim().is_empty() => {
            r.e.at(&s.span, format!("{}: `database` is empty (\"records\" or a SQLite file)", f.what));
            Database::Records
        }
        Some(s) => {
            let p = PathBuf::from(s.text);
            Database::File(if p.is_absolute() { p } else { r.dir.join(p) })
        }
    };
    let (sql, sql_line) = match f.req_str(&mut r.e, "sql") {
        Some(s) => {
            if s.text.trim().is_empty() {
                r.e.at(&s.span, format!("{}: `sql` is empty", f.what));
            }
            (s.text.to_string(), r.line(&s.span))
        }
        None => (String::new(), r.line(&f.span)),
    };
    let prefix = prefix(r, f);
    let found = req_goto(r, f, "found");
    let not_found = req_goto(r, f, "not_found");
    let error = req_goto(r, f, "error");
    NodeKind::Lookup { database, sql, sql_line, prefix, found, not_found, error }
}

fn branch(r: &mut Reader<'_>, f: &Fields<'_>) -> NodeKind {
    let mut cases = Vec::new();
    match f.get("cases") {
        None => f.missing(&mut r.e, "cases"),
        Some(Val { kind: Kind::Array(items), span }) => {
            if items.is_empty() {
                r.e.at(span, format!("{}: `cases` is empty (use a `set` or `next` instead)", f.what));
            }
            for (i, item) in items.iter().enumerate() {
                if let Some(c) = case(r, f, i, item) {
                    cases.push(c);
                }
            }
        }
        Some(v) => r.e.at(
            &v.span,
            format!("{}: `cases` must be an array of {{ when = …, goto = … }}, not {}", f.what, v.type_desc()),
        ),
    }
    let default = req_goto(r, f, "default");
    NodeKind::Branch { cases, default }
}

fn case(r: &mut Reader<'_>, f: &Fields<'_>, i: usize, item: &Val) -> Option<Case> {
    let what = format!("{} case {}", f.what, i + 1);
    let Some(t) = item.as_table() else {
        r.e.at(
            &item.span,
            format!("{what}: a case must be a table {{ when = …, goto = … }}, not {}", item.type_desc()),
        );
        return None;
    };
    let cf = Fields::new(t, item.span.clone(), what.clone());
    cf.deny_unknown(&mut r.e, &["when", "goto"], "case");
    let when = match cf.get("when") {
        None => {
            cf.missing(&mut r.e, "when");
            None
        }
        Some(w) => condition(r, &what, w, 0),
    };
    let goto = req_goto(r, &cf, "goto");
    Some(Case { when: when?, goto, line: r.line(&item.span) })
}

/// A table of name → template (`vars` of set, `body` of webhook).
fn template_table(r: &mut Reader<'_>, f: &Fields<'_>, key: &str, names_are_vars: bool) -> Vec<(String, Template)> {
    let Some((entries, _)) = f.opt_table(&mut r.e, key) else { return Vec::new() };
    let mut out = Vec::new();
    for entry in entries {
        let name = if names_are_vars {
            var_name(r, &f.what, key, &Str { text: &entry.key, span: entry.key_span.clone() })
        } else {
            entry.key.clone()
        };
        let text = match &entry.val.kind {
            Kind::Str(s) => s.clone(),
            Kind::Int(n) => n.to_string(),
            Kind::Bool(b) => b.to_string(),
            _ => {
                r.e.at(
                    &entry.val.span,
                    format!("{}: `{key}.{}` must be a string, not {}", f.what, entry.key, entry.val.type_desc()),
                );
                continue;
            }
        };
        let t = template(&mut r.e, &f.what, key, &Str { text: &text, span: entry.val.span.clone() });
        out.push((name, t));
    }
    out
}

fn set(r: &mut Reader<'_>, f: &Fields<'_>) -> NodeKind {
    if f.get("vars").is_none() {
        f.missing(&mut r.e, "vars");
    }
    let vars = template_table(r, f, "vars", true);
    let next = req_goto(r, f, "next");
    NodeKind::Set { vars, next }
}

fn req_template(r: &mut Reader<'_>, f: &Fields<'_>, key: &str) -> Template {
    match f.opt_text(&mut r.e, key) {
        Some((text, span)) => {
            if text.trim().is_empty() {
                r.e.at(&span, format!("{}: `{key}` is empty", f.what));
            }
            template(&mut r.e, &f.what, key, &Str { text: &text, span })
        }
        None => {
            if f.get(key).is_none() {
                f.missing(&mut r.e, key);
            }
            Template::new("")
        }
    }
}

fn opt_template(r: &mut Reader<'_>, f: &Fields<'_>, key: &str) -> Option<Template> {
    f.opt_text(&mut r.e, key).map(|(text, span)| template(&mut r.e, &f.what, key, &Str { text: &text, span }))
}

fn webhook(r: &mut Reader<'_>, f: &Fields<'_>) -> NodeKind {
    let method = match f.opt_str(&mut r.e, "method") {
        None => HttpMethod::Post,
        Some(s) => match s.text.trim().to_ascii_uppercase().as_str() {
            "POST" => HttpMethod::Post,
            "GET" => HttpMethod::Get,
            _ => {
                r.e.at(&s.span, format!("{}: method `{}` is not GET or POST", f.what, s.text));
                HttpMethod::Post
            }
        },
    };
    let url = req_template(r, f, "url");
    let body = template_table(r, f, "body", false);
    let timeout_ms = f.opt_duration(&mut r.e, "timeout", 3_000, false);
    let prefix = prefix(r, f);
    let next = req_goto(r, f, "next");
    let error = req_goto(r, f, "error");
    NodeKind::Webhook { method, url, body, timeout_ms, prefix, next, error }
}

fn queue(r: &mut Reader<'_>, f: &Fields<'_>) -> NodeKind {
    let queue = req_template(r, f, "queue");
    let priority = opt_template(r, f, "priority");
    let skills = f.opt_str_list(&mut r.e, "skills").iter().map(|s| template(&mut r.e, &f.what, "skills", s)).collect();
    let on_failure = opt_goto(r, f, "on_failure");
    NodeKind::Queue { queue, priority, skills, on_failure }
}

fn transfer(r: &mut Reader<'_>, f: &Fields<'_>) -> NodeKind {
    let to = req_template(r, f, "to");
    let on_failure = opt_goto(r, f, "on_failure");
    NodeKind::Transfer { to, on_failure }
}

fn voicemail(r: &mut Reader<'_>, f: &Fields<'_>, line: usize) -> NodeKind {
    let mailbox = req_template(r, f, "mailbox");
    let greeting = prompt_list(r, f, "greeting", &[], line);
    let beep = f.opt_bool(&mut r.e, "beep", true);
    let max_ms = f.opt_duration(&mut r.e, "max", 120_000, false);
    let silence_ms = f.opt_duration(&mut r.e, "silence", 5_000, false);
    let notify = opt_template(r, f, "notify");
    let next = req_goto(r, f, "next");
    NodeKind::Voicemail { mailbox, greeting, beep, max_ms, silence_ms, notify, next }
}

fn record(r: &mut Reader<'_>, f: &Fields<'_>, line: usize) -> NodeKind {
    let prompt = prompt_list(r, f, "prompt", &[], line);
    let beep = f.opt_bool(&mut r.e, "beep", true);
    let max_ms = f.opt_duration(&mut r.e, "max", 60_000, false);
    let silence_ms = f.opt_duration(&mut r.e, "silence", 5_000, false);
    let terminator = terminator(r, f);
    let var = match f.opt_str(&mut r.e, "var") {
        Some(s) => var_name(r, &f.what, "var", &s),
        None => "recording".to_string(),
    };
    let next = req_goto(r, f, "next");
    NodeKind::Record { prompt, beep, max_ms, silence_ms, terminator, var, next }
}

fn hangup(r: &mut Reader<'_>, f: &Fields<'_>, line: usize) -> NodeKind {
    NodeKind::Hangup { prompts: prompts_or_prompt(r, f, line, false) }
}
