//! The parts nodes are made of: prompt lists, `say` options, DTMF keys,
//! node references, and the conditions of a `branch`.

use std::ops::Range;

use super::Reader;
use super::value::{Fields, Kind, Str, Val, duration, is_var_name, template};
use crate::ivr::flow::{CompareOp, Condition, Gender, Goto, Key, PromptItem, SayAs, SayOptions, Template};

/// Keys of a `{ say = … }` prompt item.
const SAY_ITEM_KEYS: &[&str] = &["say", "as", "gender", "currency"];

/// Currencies `say` speaks.
pub(super) const CURRENCIES: &[&str] = &["CNY", "USD", "RUB"];

/// A prompt list: a single item or an array of items; absent gives
/// `default` (prompt names, at the line of `default_line`).
pub(super) fn prompt_list(
    r: &mut Reader<'_>,
    f: &Fields<'_>,
    key: &str,
    default: &[&str],
    default_line: usize,
) -> Vec<PromptItem> {
    let Some(v) = f.get(key) else {
        return default
            .iter()
            .map(|name| PromptItem::Prompt { name: Template::new(*name), line: default_line })
            .collect();
    };
    match &v.kind {
        Kind::Array(items) => items.iter().filter_map(|item| prompt_item(r, &f.what, key, item)).collect(),
        _ => prompt_item(r, &f.what, key, v).into_iter().collect(),
    }
}

/// One prompt item: a name, `{ say = …, as = … }` or `{ silence = … }`.
fn prompt_item(r: &mut Reader<'_>, what: &str, key: &str, v: &Val) -> Option<PromptItem> {
    let line = r.line(&v.span);
    match &v.kind {
        Kind::Str(s) => {
            let s = Str { text: s, span: v.span.clone() };
            if s.text.trim().is_empty() {
                r.e.at(&s.span, format!("{what}: `{key}`: a prompt name is empty"));
                return None;
            }
            Some(PromptItem::Prompt { name: template(&mut r.e, what, key, &s), line })
        }
        Kind::Table(t) => {
            let f = Fields::new(t, v.span.clone(), format!("{what}: `{key}`"));
            if f.get("silence").is_some() {
                f.deny_unknown(&mut r.e, &["silence"], "silence item");
                let s = f.opt_str(&mut r.e, "silence")?;
                let ms = duration(&mut r.e, what, "silence", &s, true)?;
                return Some(PromptItem::Silence { ms, line });
            }
            if f.get("say").is_some() {
                f.deny_unknown(&mut r.e, SAY_ITEM_KEYS, "say item");
                let value = f.opt_text(&mut r.e, "say")?;
                let value = template(&mut r.e, what, "say", &Str { text: &value.0, span: value.1 });
                let (kind, options) = say_kind_and_options(r, &f)?;
                return Some(PromptItem::Say { value, kind, options, line });
            }
            r.e.at(
                &v.span,
                format!(
                    "{what}: `{key}`: an item is a prompt name, {{ say = \"…\", as = \"…\" }} or {{ silence = \"…\" }}"
                ),
            );
            None
        }
        _ => {
            r.e.at(
                &v.span,
                format!("{what}: `{key}`: an item must be a prompt name or a table, not {}", v.type_desc()),
            );
            None
        }
    }
}

/// `as` (required), `gender` and `currency` of a say item or say node.
pub(super) fn say_kind_and_options(r: &mut Reader<'_>, f: &Fields<'_>) -> Option<(SayAs, SayOptions)> {
    let what = f.what.clone();
    let kind = match f.req_str(&mut r.e, "as") {
        None => None,
        Some(s) => {
            let k = SayAs::parse(s.text);
            if k.is_none() {
                r.e.at(
                    &s.span,
                    format!(
                        "{what}: `as = \"{}\"` is not one of number, digits, money, date, time, duration, ordinal",
                        s.text
                    ),
                );
            }
            k
        }
    };
    let gender = f.opt_str(&mut r.e, "gender").and_then(|g| match g.text.trim() {
        "masculine" => Some(Gender::Masculine),
        "feminine" => Some(Gender::Feminine),
        "neuter" => Some(Gender::Neuter),
        other => {
            r.e.at(&g.span, format!("{what}: gender `{other}` is not masculine, feminine or neuter"));
            None
        }
    });
    let currency = f.opt_str(&mut r.e, "currency").and_then(|c| {
        let code = c.text.trim().to_ascii_uppercase();
        if CURRENCIES.contains(&code.as_str()) {
            Some(code)
        } else {
            r.e.at(&c.span, format!("{what}: currency `{}` is not one of {}", c.text, CURRENCIES.join(", ")));
            None
        }
    });
    Some((kind?, SayOptions { gender, currency }))
}

/// Whether `c` is a DTMF key a flow can use: `0`-`9`, `*`, `#`.
pub(super) fn is_key(c: char) -> bool {
    c.is_ascii_digit() || c == '*' || c == '#'
}

/// A single key from text; `None` (and an error) otherwise.
pub(super) fn key_from(r: &mut Reader<'_>, what: &str, key: &str, text: &str, span: &Range<usize>) -> Option<Key> {
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if is_key(c) => Some(c),
        _ => {
            r.e.at(span, format!("{what}: `{key}`: `{text}` is not a key (one of 0-9, * and #)"));
            None
        }
    }
}

/// A terminator key: `"#"` by default, `""` for none.
pub(super) fn terminator(r: &mut Reader<'_>, f: &Fields<'_>) -> Option<Key> {
    match f.opt_str(&mut r.e, "terminator") {
        None => Some('#'),
        Some(s) if s.text.is_empty() => None,
        Some(s) => key_from(r, &f.what, "terminator", s.text, &s.span),
    }
}

/// A required node reference; an empty `Goto` (with the error reported)
/// when missing.
pub(super) fn req_goto(r: &mut Reader<'_>, f: &Fields<'_>, key: &str) -> Goto {
    match f.req_str(&mut r.e, key) {
        Some(s) => goto(r, &f.what, key, &s),
        None => Goto { node: String::new(), line: r.line(&f.span) },
    }
}

pub(super) fn opt_goto(r: &mut Reader<'_>, f: &Fields<'_>, key: &str) -> Option<Goto> {
    f.opt_str(&mut r.e, key).map(|s| goto(r, &f.what, key, &s))
}

pub(super) fn goto(r: &mut Reader<'_>, what: &str, key: &str, s: &Str<'_>) -> Goto {
    if s.text.trim().is_empty() {
        r.e.at(&s.span, format!("{what}: `{key}`: the node name is empty"));
    }
    Goto { node: s.text.to_string(), line: r.line(&s.span) }
}

/// A variable name value.
pub(super) fn var_name(r: &mut Reader<'_>, what: &str, key: &str, s: &Str<'_>) -> String {
    if !is_var_name(s.text) {
        r.e.at(
            &s.span,
            format!(
                "{what}: `{key}`: `{}` is not a variable name (letters, digits, `_` and `.`, not starting with a \
                 digit)",
                s.text
            ),
        );
    }
    s.text.to_string()
}

/// A regex compiled to find errors; `anchored` compiles it as a whole
/// string match, as `collect` uses it.
pub(super) fn regex(r: &mut Reader<'_>, what: &str, key: &str, s: &Str<'_>, anchored: bool) {
    let pattern = if anchored { format!("^(?:{})$", s.text) } else { s.text.to_string() };
    if let Err(e) = regex::Regex::new(&pattern) {
        let msg = e.to_string();
        // The regex crate's message spans several lines with a caret
        // picture; its last line says what is wrong.
        let why = msg.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
        let why = why.strip_prefix("error: ").unwrap_or(why);
        r.e.at(&s.span, format!("{what}: `{key}`: bad regex `{}`: {why}", s.text));
    }
}

/// Keys of each form of condition.
const COMPARE_KEYS: &[&str] = &["var", "op", "value"];

/// A `branch` condition (see `Condition`): nested through all/any/not.
pub(super) fn condition(r: &mut Reader<'_>, what: &str, v: &Val, depth: usize) -> Option<Condition> {
    let Some(t) = v.as_table() else {
        r.e.at(&v.span, format!("{what}: a condition must be a table, not {}", v.type_desc()));
        return None;
    };
    if depth > 32 {
        r.e.at(&v.span, format!("{what}: conditions nested more than 32 deep"));
        return None;
    }
    let f = Fields::new(t, v.span.clone(), what.to_string());
    let forms = ["var", "caller", "schedule", "holiday", "all", "any", "not"];
    let present: Vec<&str> = forms.iter().copied().filter(|k| f.get(k).is_some()).collect();
    let form = match present.as_slice() {
        [one] => *one,
        [] => {
            r.e.at(&v.span, format!("{what}: a condition needs one of: {}", forms.join(", ")));
            return None;
        }
        many => {
            r.e.at(
                &v.span,
                format!("{what}: a condition has one of {}, not several ({})", forms.join(", "), many.join(", ")),
            );
            return None;
        }
    };
    match form {
        "var" => {
            f.deny_unknown(&mut r.e, COMPARE_KEYS, "comparison");
            compare(r, &f)
        }
        "caller" | "schedule" | "holiday" => {
            f.deny_unknown(&mut r.e, &[form], "condition");
            let s = f.opt_str(&mut r.e, form)?;
            match form {
                "caller" => {
                    regex(r, what, "caller", &s, false);
                    Some(Condition::Caller { pattern: s.text.to_string() })
                }
                "schedule" => {
                    if !r.schedules.iter().any(|n| n == s.text) {
                        r.e.at(&s.span, format!("{what}: no schedule named `{}` in [schedules]", s.text));
                    }
                    Some(Condition::Schedule { name: s.text.to_string() })
                }
                _ => {
                    if !r.holidays.iter().any(|n| n == s.text) {
                        r.e.at(&s.span, format!("{what}: no holiday list named `{}` in [holidays]", s.text));
                    }
                    Some(Condition::Holiday { name: s.text.to_string() })
                }
            }
        }
        "all" | "any" => {
            f.deny_unknown(&mut r.e, &[form], "condition");
            let list = f.get(form)?;
            let Kind::Array(items) = &list.kind else {
                r.e.at(
                    &list.span,
                    format!("{what}: `{form}` must be an array of conditions, not {}", list.type_desc()),
                );
                return None;
            };
            if items.is_empty() {
                r.e.at(&list.span, format!("{what}: `{form}` lists no condition"));
            }
            let conds: Vec<Condition> = items.iter().filter_map(|c| condition(r, what, c, depth + 1)).collect();
            (conds.len() == items.len()).then_some(if form == "all" {
                Condition::All(conds)
            } else {
                Condition::Any(conds)
            })
        }
        _ => {
            f.deny_unknown(&mut r.e, &["not"], "condition");
            let inner = f.get("not")?;
            condition(r, what, inner, depth + 1).map(|c| Condition::Not(Box::new(c)))
        }
    }
}

fn compare(r: &mut Reader<'_>, f: &Fields<'_>) -> Option<Condition> {
    let what = f.what.clone();
    let var = f.opt_str(&mut r.e, "var").map(|s| var_name(r, &what, "var", &s));
    let op = match f.req_str(&mut r.e, "op") {
        None => None,
        Some(s) => {
            let op = match s.text.trim() {
                "==" => Some(CompareOp::Eq),
                "!=" => Some(CompareOp::Ne),
                "<" => Some(CompareOp::Lt),
                "<=" => Some(CompareOp::Le),
                ">" => Some(CompareOp::Gt),
                ">=" => Some(CompareOp::Ge),
                "matches" => Some(CompareOp::Matches),
                "empty" => Some(CompareOp::Empty),
                "not_empty" => Some(CompareOp::NotEmpty),
                other => {
                    r.e.at(
                        &s.span,
                        format!("{what}: op `{other}` is not one of ==, !=, <, <=, >, >=, matches, empty, not_empty"),
                    );
                    None
                }
            };
            op.map(|o| (o, s.span))
        }
    };
    let value = f.opt_text(&mut r.e, "value");
    let (op, op_span) = op?;
    let value = match (op, value) {
        (CompareOp::Empty | CompareOp::NotEmpty, None) => Template::new(""),
        (CompareOp::Empty | CompareOp::NotEmpty, Some((_, span))) => {
            r.e.at(&span, format!("{what}: `empty` and `not_empty` take no `value`"));
            return None;
        }
        (_, None) => {
            r.e.at(&op_span, format!("{what}: `value` is missing (the operator compares `var` with it)"));
            return None;
        }
        (op, Some((text, span))) => {
            let s = Str { text: &text, span };
            // A literal `matches` regex is compiled as the interpreter
            // uses it: anchored, the whole value.
            if op == CompareOp::Matches && !text.contains("${") {
                regex(r, &what, "value", &s, true);
            }
            template(&mut r.e, &what, "value", &s)
        }
    };
    Some(Condition::Compare { var: var?, op, value })
}
