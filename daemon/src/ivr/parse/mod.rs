//! Flow files: TOML, one flow per file, into [`Flow`]s (docs/ivr.md is
//! the reference of the format).
//!
//! Every problem is reported, each as `file:line:col: what is wrong`:
//! TOML syntax, unknown keys (per node type), unknown types, missing
//! required keys, values of the wrong type, bad durations, menu keys,
//! `${…}` references and variable names, regexes, languages, `say` kinds,
//! genders and currencies, comparison operators, schedule days and hours,
//! holiday dates, and conditions naming a schedule or holiday the file does
//! not define. What needs the whole flow or the outside world (targets that
//! exist, reachability, loops, prompt files, SQL) is `check.rs`'s job.
//!
//! The reader never panics on any input (see the fuzz loop in the tests).

mod items;
mod nodes;
mod time;
mod value;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::config::{ConfigError, ConfigErrors, Source};
use crate::ivr::flow::{Flow, Goto, Holidays, Lang, Schedule, ScheduleRule};

pub(crate) use time::{parse_days, parse_hours};
use value::{Errs, Fields, Kind, Val};
pub use value::{is_var_name, template_problem};

/// Keys of the top level of a flow file.
const TOP_KEYS: &[&str] = &["name", "language", "start", "schedules", "holidays", "nodes"];

/// State shared by the readers of one file.
struct Reader<'s> {
    e: Errs<'s>,
    /// The flow file's directory (lookup database paths are relative to it).
    dir: PathBuf,
    schedules: Vec<String>,
    holidays: Vec<String>,
}

impl Reader<'_> {
    fn line(&self, span: &std::ops::Range<usize>) -> usize {
        self.e.line(span)
    }
}

/// Whether `name` can name a flow or a node: letters (any script), digits,
/// `_`, `-` and `.`.
pub fn is_node_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Parse one flow file's text. `file` names it in errors; relative
/// database paths resolve against its directory.
pub fn parse_flow(file: &Path, text: &str) -> Result<Flow, ConfigErrors> {
    let src = Source::new(file.display().to_string(), text);
    let root = match value::parse_toml(text) {
        Ok(r) => r,
        Err((span, msg)) => return Err(ConfigErrors(vec![src.error(span, msg)])),
    };
    let mut r = Reader {
        e: Errs::new(&src),
        dir: file.parent().map(Path::to_path_buf).unwrap_or_default(),
        schedules: Vec::new(),
        holidays: Vec::new(),
    };
    let top = Fields::new(root.as_table().unwrap_or(&[]), 0..0, "flow");
    top.deny_unknown(&mut r.e, TOP_KEYS, "top-level");

    let name = match top.opt_str(&mut r.e, "name") {
        Some(n) => {
            if !is_node_name(n.text) {
                r.e.at(&n.span, format!("name `{}`: use letters, digits, `_`, `-` and `.`", n.text));
            }
            n.text.to_string()
        }
        None => {
            let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            if !is_node_name(&stem) {
                r.e.list.push(src.error(
                    None,
                    format!(
                        "the file name gives the flow the name `{stem}`, which is not a name (letters, digits, `_`, \
                         `-`, `.`): rename the file or write `name = \"…\"`"
                    ),
                ));
            }
            stem
        }
    };
    let lang = match top.opt_str(&mut r.e, "language") {
        None => Lang::En,
        Some(l) => Lang::parse(l.text).unwrap_or_else(|| {
            r.e.at(&l.span, format!("language `{}` is not one of zh-CN, en, ru", l.text));
            Lang::En
        }),
    };
    let start = match top.req_str(&mut r.e, "start") {
        Some(s) => items::goto(&mut r, "flow", "start", &s),
        None => Goto { node: String::new(), line: 1 },
    };

    let schedules = match top.opt_table(&mut r.e, "schedules") {
        Some((t, _)) => t.iter().filter_map(|entry| schedule(&mut r, entry)).collect(),
        None => Vec::new(),
    };
    let holidays = match top.opt_table(&mut r.e, "holidays") {
        Some((t, _)) => t.iter().filter_map(|entry| holiday_list(&mut r, entry)).collect(),
        None => Vec::new(),
    };
    r.schedules = schedules.iter().map(|s: &Schedule| s.name.clone()).collect();
    r.holidays = holidays.iter().map(|h: &Holidays| h.name.clone()).collect();

    let mut flow_nodes = Vec::new();
    match top.get("nodes") {
        None => top.missing(&mut r.e, "nodes"),
        Some(Val { kind: Kind::Table(entries), span }) => {
            if entries.is_empty() {
                r.e.at(span, "flow: `nodes` has no node");
            }
            for entry in entries {
                if let Some(n) = nodes::node(&mut r, entry) {
                    flow_nodes.push(n);
                }
            }
        }
        Some(v) => r.e.at(&v.span, format!("flow: `nodes` must be a table of nodes, not {}", v.type_desc())),
    }

    if !r.e.list.is_empty() {
        return Err(ConfigErrors(r.e.list));
    }
    Ok(Flow { name, file: file.to_path_buf(), lang, start, nodes: flow_nodes, schedules, holidays })
}

/// `[schedules.NAME]` with `rules = [{ days = "mon-fri", hours = "09:00-18:00" }, …]`.
fn schedule(r: &mut Reader<'_>, entry: &value::Entry) -> Option<Schedule> {
    let what = format!("schedule `{}`", entry.key);
    let line = r.line(&entry.key_span);
    let Some(t) = entry.val.as_table() else {
        r.e.at(&entry.val.span, format!("{what} must be a table with `rules`, not {}", entry.val.type_desc()));
        return None;
    };
    let f = Fields::new(t, entry.val.span.clone(), what.clone());
    f.deny_unknown(&mut r.e, &["rules"], "schedule");
    let mut rules = Vec::new();
    match f.get("rules") {
        None => f.missing(&mut r.e, "rules"),
        Some(Val { kind: Kind::Array(items), span }) => {
            if items.is_empty() {
                r.e.at(span, format!("{what}: `rules` is empty (the schedule would never be open)"));
            }
            for item in items {
                if let Some(rule) = schedule_rule(r, &what, item) {
                    rules.push(rule);
                }
            }
        }
        Some(v) => r.e.at(&v.span, format!("{what}: `rules` must be an array of tables, not {}", v.type_desc())),
    }
    Some(Schedule { name: entry.key.clone(), rules, line })
}

fn schedule_rule(r: &mut Reader<'_>, what: &str, item: &Val) -> Option<ScheduleRule> {
    let Some(t) = item.as_table() else {
        r.e.at(
            &item.span,
            format!("{what}: a rule must be a table like {{ days = \"mon-fri\", hours = \"09:00-18:00\" }}"),
        );
        return None;
    };
    let f = Fields::new(t, item.span.clone(), what.to_string());
    f.deny_unknown(&mut r.e, &["days", "hours"], "rule");
    let days = f.opt_str(&mut r.e, "days");
    let hours = f.opt_str(&mut r.e, "hours");
    if f.get("days").is_none() && f.get("hours").is_none() {
        r.e.at(&item.span, format!("{what}: a rule needs `days`, `hours` or both"));
        return None;
    }
    let days = match days {
        None => [true; 7],
        Some(d) => time::parse_days(d.text).map_err(|m| r.e.at(&d.span, format!("{what}: days: {m}"))).ok()?,
    };
    let (from_min, to_min) = match hours {
        None => (0, 24 * 60),
        Some(h) => time::parse_hours(h.text).map_err(|m| r.e.at(&h.span, format!("{what}: hours: {m}"))).ok()?,
    };
    Some(ScheduleRule { days, from_min, to_min })
}

/// `[holidays.NAME]` with `dates = ["2026-01-01", "2026-10-01..2026-10-07"]`.
fn holiday_list(r: &mut Reader<'_>, entry: &value::Entry) -> Option<Holidays> {
    let what = format!("holidays `{}`", entry.key);
    let line = r.line(&entry.key_span);
    let Some(t) = entry.val.as_table() else {
        r.e.at(&entry.val.span, format!("{what} must be a table with `dates`, not {}", entry.val.type_desc()));
        return None;
    };
    let f = Fields::new(t, entry.val.span.clone(), what.clone());
    f.deny_unknown(&mut r.e, &["dates"], "holidays");
    let mut ranges = Vec::new();
    match f.get("dates") {
        None => f.missing(&mut r.e, "dates"),
        Some(Val { kind: Kind::Array(items), .. }) => {
            for item in items {
                match &item.kind {
                    Kind::Str(s) => match time::parse_date_range(s) {
                        Ok(range) => ranges.push(range),
                        Err(m) => r.e.at(&item.span, format!("{what}: {m}")),
                    },
                    Kind::Datetime(d) => {
                        r.e.at(&item.span, format!("{what}: write the date in quotes: \"{d}\""));
                    }
                    _ => r.e.at(&item.span, format!("{what}: a date must be a string, not {}", item.type_desc())),
                }
            }
        }
        Some(v) => r.e.at(&v.span, format!("{what}: `dates` must be an array of strings, not {}", v.type_desc())),
    }
    Some(Holidays { name: entry.key.clone(), ranges, line })
}

/// Every flow in `dir`: each `*.toml` directly in it, in name order. Files
/// that cannot be read or parsed give errors (and no flow); a flow whose
/// name an earlier file already used is an error at the later file.
pub fn load_dir(dir: &Path) -> (Vec<Flow>, Vec<ConfigError>) {
    let mut errors = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) => {
            let err = ConfigError {
                file: dir.display().to_string(),
                line: None,
                col: None,
                message: format!("cannot read the flow directory: {e}"),
            };
            return (Vec::new(), vec![err]);
        }
    };
    let mut files: Vec<PathBuf> = Vec::new();
    for entry in entries {
        match entry {
            Ok(entry) => {
                let path = entry.path();
                if path.extension().is_some_and(|x| x == "toml") && !path.is_dir() {
                    files.push(path);
                }
            }
            Err(e) => errors.push(ConfigError {
                file: dir.display().to_string(),
                line: None,
                col: None,
                message: format!("cannot list the flow directory: {e}"),
            }),
        }
    }
    files.sort();

    let mut flows: Vec<Flow> = Vec::new();
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    for path in files {
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                errors.push(ConfigError {
                    file: path.display().to_string(),
                    line: None,
                    col: None,
                    message: format!("cannot read the flow file: {e}"),
                });
                continue;
            }
        };
        match parse_flow(&path, &text) {
            Ok(flow) => {
                if let Some(first) = seen.get(&flow.name) {
                    errors.push(duplicate_name_error(&path, &text, &flow.name, first));
                    continue;
                }
                seen.insert(flow.name.clone(), path.clone());
                flows.push(flow);
            }
            Err(e) => errors.extend(e.0),
        }
    }
    (flows, errors)
}

/// "there is already a flow named X", at the `name` key when the file has
/// one.
fn duplicate_name_error(path: &Path, text: &str, name: &str, first: &Path) -> ConfigError {
    let src = Source::new(path.display().to_string(), text);
    let span = value::parse_toml(text)
        .ok()
        .and_then(|root| root.as_table().and_then(|t| t.iter().find(|e| e.key == "name").map(|e| e.val.span.clone())));
    let how = if span.is_some() { "" } else { " (from the file name; write `name = \"…\"` to rename it)" };
    src.error(span, format!("there is already a flow named `{name}`{how}, in {}", first.display()))
}
