//! `ctibox agents | agent … | queues | queue …`: the ACD over the daemon's
//! API (docs/api.md, "ACD"; docs/cli.md, "ACD").
//!
//! - `agents` and `queues` print the live state as aligned tables (or the
//!   API's JSON untouched with `--json`).
//! - `agent login | logout | ready | not-ready ID` change an agent's state
//!   and print one line with the state the agent is in after it.
//! - `queue priority CALL N` and `queue pick CALL AGENT` act on a waiting
//!   caller (supervisors and admins).
//! - `queues report` prints the queues' figures over a window from the
//!   records (table, CSV or JSON); `agent history ID` an agent's states,
//!   following the API's `next` cursor to the end.
//!
//! Times on the command line are as for `ctibox cdr` ([`crate::wall_time`]);
//! live state shows board time, records show UTC.

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use serde::Deserialize;
use serde_json::{Value, json};

use ctibox_daemon::api::CallDone;
use ctibox_daemon::core::{AgentView, QueueView, ScreenPop};

use crate::api::{ApiArgs, Body, Client};
use crate::calls::ReadArgs;
use crate::cdr::csv_line;
use crate::table::Table;
use crate::wall_time::{Bound, format_board_ms, format_rfc3339, format_utc, parse_time_ms};

/// Largest page of history the API gives (`records` `PAGE_MAX`).
const HISTORY_PAGE: u32 = 1000;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct QueuesArgs {
    #[command(subcommand)]
    pub cmd: Option<QueuesCmd>,
    #[command(flatten)]
    pub read: ReadArgs,
}

#[derive(Debug, Subcommand)]
pub enum QueuesCmd {
    /// The queues' figures over a window, from the records (admin,
    /// supervisor).
    Report(ReportArgs),
}

#[derive(Debug, Args)]
#[command(after_help = "\
Times: a date (2024-11-21, UTC; as --to, up to the end of that day), an RFC 3339
date-time (2024-11-21T09:30:00+08:00, 2024-11-21T01:30:00Z) or ms since 1970.
Without --from and --to: the last 24 hours.")]
pub struct ReportArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// Events at or after this time [default: 24 hours before --to].
    #[arg(long, value_name = "TIME", value_parser = start_time)]
    pub from: Option<i64>,
    /// Events before this time [default: now].
    #[arg(long, value_name = "TIME", value_parser = end_time)]
    pub to: Option<i64>,
    /// CSV (RFC 4180) instead of a table.
    #[arg(long, conflicts_with = "json")]
    pub csv: bool,
    /// The API's JSON answer as it is.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AgentArgs {
    #[command(subcommand)]
    pub cmd: AgentCmd,
}

#[derive(Debug, Subcommand)]
pub enum AgentCmd {
    /// Log an agent in (ready): at its own extension and to its queues
    /// unless told otherwise.
    Login(LoginArgs),
    /// Log an agent out (after the call it is on, if any).
    Logout(AgentIdArgs),
    /// The agent is ready for calls.
    Ready(AgentIdArgs),
    /// The agent takes no calls for now, with a reason code.
    NotReady(NotReadyArgs),
    /// Preview dialling: accept the number the agent has on screen (its
    /// phone rings, then the number is dialled).
    Accept(AgentIdArgs),
    /// Preview dialling: skip the number on screen (it comes back later).
    Skip(AgentIdArgs),
    /// The agent's states over a window, from the records.
    History(HistoryArgs),
}

#[derive(Debug, Args)]
pub struct AgentIdArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// The agent's id (see `ctibox agents`).
    pub id: String,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// The agent's id (see `ctibox agents`).
    pub id: String,
    /// Sit at this extension [default: the agent's own].
    #[arg(long, value_name = "E")]
    pub extension: Option<String>,
    /// Serve this queue (repeat for more) [default: every queue listing
    /// the agent].
    #[arg(long = "queue", value_name = "Q")]
    pub queues: Vec<String>,
}

#[derive(Debug, Args)]
pub struct NotReadyArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// The agent's id (see `ctibox agents`).
    pub id: String,
    /// Why (a reason code: `lunch`, `07`…).
    #[arg(long, value_name = "R")]
    pub reason: Option<String>,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Times: a date (2024-11-21, UTC; as --to, up to the end of that day), an RFC 3339
date-time (2024-11-21T09:30:00+08:00, 2024-11-21T01:30:00Z) or ms since 1970.")]
pub struct HistoryArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// The agent's id (see `ctibox agents`).
    pub id: String,
    /// States entered at or after this time (the state the agent was in
    /// then comes first).
    #[arg(long, value_name = "TIME", value_parser = start_time)]
    pub from: Option<i64>,
    /// States entered before this time.
    #[arg(long, value_name = "TIME", value_parser = end_time)]
    pub to: Option<i64>,
    /// One JSON document: `{agent, at_from, states}`.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct QueueArgs {
    #[command(subcommand)]
    pub cmd: QueueCmd,
}

#[derive(Debug, Subcommand)]
pub enum QueueCmd {
    /// Change a waiting caller's priority (0-9, higher is served first).
    Priority(PriorityArgs),
    /// Give a waiting caller to an agent (only that agent is offered it).
    Pick(PickArgs),
}

#[derive(Debug, Args)]
pub struct PriorityArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// The waiting call's id (see `ctibox queues --json`).
    pub call: i64,
    /// 0 (normal) to 9.
    #[arg(value_parser = clap::value_parser!(u8).range(0..=9))]
    pub priority: u8,
}

#[derive(Debug, Args)]
pub struct PickArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// The waiting call's id (see `ctibox queues --json`).
    pub call: i64,
    /// The agent's id.
    pub agent: String,
}

fn start_time(text: &str) -> Result<i64, String> {
    parse_time_ms(text, Bound::Start)
}

fn end_time(text: &str) -> Result<i64, String> {
    parse_time_ms(text, Bound::End)
}

fn print_json(v: &Value) -> Result<i32> {
    crate::emit(&format!("{}\n", serde_json::to_string_pretty(v)?))?;
    Ok(0)
}

/// A wait or a duration: `45s`, `1m05s`, `2h03m`.
pub fn format_duration(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s / 60 % 60),
    }
}

fn agent_state(a: &AgentView) -> &'static str {
    a.state.name()
}

/// `ctibox agents`.
pub fn agents(args: ReadArgs) -> Result<i32> {
    let client = Client::connect(&args.api)?;
    if args.json {
        return print_json(&client.get::<Value>("/agents")?);
    }
    let agents: Vec<AgentView> = client.get("/agents")?;
    if agents.is_empty() {
        println!("no agents (the config has no [[agent]])");
    } else {
        crate::emit(&agents_table(&agents))?;
    }
    Ok(0)
}

fn agents_table(agents: &[AgentView]) -> String {
    let mut t = Table::new(&["ID", "NAME", "STATE", "REASON", "SINCE", "EXT", "QUEUES", "ANSWERED"]);
    for a in agents {
        t.row(vec![
            a.id.clone(),
            a.name.clone(),
            agent_state(a).into(),
            a.reason.clone(),
            format_board_ms(a.since_ms),
            a.extension.clone().unwrap_or_default(),
            a.queues.join(","),
            a.answered.to_string(),
        ]);
    }
    t.render()
}

/// `ctibox queues` (and `ctibox queues report`).
pub fn queues(args: QueuesArgs) -> Result<i32> {
    if let Some(QueuesCmd::Report(r)) = args.cmd {
        return report(r);
    }
    let client = Client::connect(&args.read.api)?;
    if args.read.json {
        return print_json(&client.get::<Value>("/queues")?);
    }
    let queues: Vec<QueueView> = client.get("/queues")?;
    if queues.is_empty() {
        println!("no queues (the config has no [[queue]])");
    } else {
        crate::emit(&queues_table(&queues))?;
    }
    Ok(0)
}

fn queues_table(queues: &[QueueView]) -> String {
    let mut t = Table::new(&["QUEUE", "WAITING", "LONGEST", "READY/IN", "ANSWERED", "ABANDONED", "SL%"]);
    for q in queues {
        t.row(vec![
            q.name.clone(),
            q.waiting.len().to_string(),
            if q.waiting.is_empty() { String::new() } else { format_duration(q.longest_wait_ms) },
            format!("{}/{}", q.ready, q.logged_in),
            q.answered.to_string(),
            q.abandoned.to_string(),
            q.service_level_pct.to_string(),
        ]);
    }
    t.render()
}

/// One line saying where an agent is after a change.
fn agent_line(a: &AgentView) -> String {
    let mut line = format!("agent {} ({}): {}", a.id, a.name, agent_state(a).replace('_', " "));
    if !a.reason.is_empty() {
        line.push_str(&format!(" ({})", a.reason));
    }
    if let Some(x) = &a.extension {
        line.push_str(&format!(" at {x}"));
    }
    if !a.queues.is_empty() {
        line.push_str(&format!(", queues {}", a.queues.join(",")));
    }
    line
}

/// An `agent` event as `ctibox monitor` prints it.
pub(crate) fn agent_event_text(a: &AgentView) -> String {
    match a.call {
        Some(call) => format!("{} (call {call})", agent_line(a)),
        None => agent_line(a),
    }
}

/// A `queue` event as `ctibox monitor` prints it.
pub(crate) fn queue_event_text(q: &QueueView) -> String {
    let longest =
        if q.waiting.is_empty() { String::new() } else { format!(" (longest {})", format_duration(q.longest_wait_ms)) };
    format!(
        "queue {}: {} waiting{longest}, {}/{} ready, {} answered, {} abandoned, service level {}%",
        q.name,
        q.waiting.len(),
        q.ready,
        q.logged_in,
        q.answered,
        q.abandoned,
        q.service_level_pct
    )
}

/// A `screen_pop` event as `ctibox monitor` prints it.
pub(crate) fn screen_pop_text(p: &ScreenPop) -> String {
    let name = if p.caller_name.is_empty() { String::new() } else { format!(" {:?}", p.caller_name) };
    let number = if p.caller_number.is_empty() { "(withheld)" } else { p.caller_number.as_str() };
    let customer = match p.customer.as_ref().and_then(|c| c.get("name")).and_then(Value::as_str) {
        Some(n) => format!(", customer {n:?}"),
        None if p.customer.is_none() => ", new customer".to_string(),
        None => String::new(),
    };
    let callback = if p.callback { ", callback" } else { "" };
    let by = p.transferred_by.as_ref().map(|a| format!(", transferred by agent {a}")).unwrap_or_default();
    let notes = match p.notes.len() {
        0 => String::new(),
        1 => ", 1 note".to_string(),
        n => format!(", {n} notes"),
    };
    format!(
        "screen pop for agent {}: call {} from {number}{name} in {}, waited {}{customer}{callback}{by}{notes}",
        p.agent,
        p.call,
        p.queue_title,
        format_duration(p.wait_ms)
    )
}

/// `ctibox agent …`.
pub fn agent(args: AgentArgs) -> Result<i32> {
    let (api, id, action, body) = match args.cmd {
        AgentCmd::History(h) => return history(h),
        AgentCmd::Login(l) => {
            let mut body = serde_json::Map::new();
            if let Some(x) = l.extension {
                body.insert("extension".into(), json!(x));
            }
            if !l.queues.is_empty() {
                body.insert("queues".into(), json!(l.queues));
            }
            (l.api, l.id, "login", Value::Object(body))
        }
        AgentCmd::Logout(a) => (a.api, a.id, "logout", json!({})),
        AgentCmd::Ready(a) => (a.api, a.id, "ready", json!({})),
        AgentCmd::Accept(a) => (a.api, a.id, "preview/accept", json!({})),
        AgentCmd::Skip(a) => (a.api, a.id, "preview/skip", json!({})),
        AgentCmd::NotReady(n) => {
            let body = match n.reason {
                Some(r) => json!({"reason": r}),
                None => json!({}),
            };
            (n.api, n.id, "not_ready", body)
        }
    };
    let client = Client::connect(&api)?;
    let view: AgentView = client.post(&format!("/agents/{id}/{action}"), body)?;
    let mut line = agent_line(&view);
    match action {
        "preview/accept" => line.push_str("; preview accepted: the phone rings, then the number is dialled"),
        "preview/skip" => line.push_str("; preview skipped"),
        _ => {}
    }
    let pending = match action {
        "logout" => view.state != ctibox_daemon::acd::AgentState::LoggedOut,
        "not_ready" => view.state != ctibox_daemon::acd::AgentState::NotReady,
        _ => false,
    };
    if pending {
        line.push_str(&format!("; {} when the call ends", action.replace('_', " ")));
    }
    println!("{line}");
    Ok(0)
}

/// `ctibox queue …`.
pub fn queue(args: QueueArgs) -> Result<i32> {
    let (api, call, action, body, what) = match args.cmd {
        QueueCmd::Priority(p) => {
            (p.api, p.call, "priority", json!({"priority": p.priority}), format!("priority {}", p.priority))
        }
        QueueCmd::Pick(p) => {
            let what = format!("given to agent {}", p.agent);
            (p.api, p.call, "pick", json!({"agent": p.agent}), what)
        }
    };
    let client = Client::connect(&api)?;
    let _: CallDone = client.post(&format!("/queues/calls/{call}/{action}"), body)?;
    println!("call {call}: {what}");
    Ok(0)
}

/// The parts of `GET /reports/queues` the table and CSV show.
#[derive(Debug, Deserialize)]
struct QueueReports {
    from_ms: i64,
    to_ms: i64,
    queues: Vec<QueueRow>,
}

#[derive(Debug, Deserialize)]
struct QueueRow {
    queue: String,
    service_level_ms: i64,
    entered: u64,
    answered: u64,
    abandoned: u64,
    overflowed: u64,
    timed_out: u64,
    callbacks: u64,
    answered_within_level: u64,
    avg_answer_wait_ms: Option<i64>,
    max_answer_wait_ms: Option<i64>,
    avg_abandon_wait_ms: Option<i64>,
    service_level_pct: Option<f64>,
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn opt_duration(ms: Option<i64>) -> String {
    ms.map(|ms| format_duration(ms.max(0) as u64)).unwrap_or_default()
}

/// `ctibox queues report`.
fn report(args: ReportArgs) -> Result<i32> {
    let client = Client::connect(&args.api)?;
    let mut query: Vec<(&str, String)> = Vec::new();
    if let Some(v) = args.from {
        query.push(("from_ms", v.to_string()));
    }
    if let Some(v) = args.to {
        query.push(("to_ms", v.to_string()));
    }
    let answer: Value = client.call("GET", "/reports/queues", &query, Body::None)?;
    if args.json {
        return print_json(&answer);
    }
    let report: QueueReports =
        serde_json::from_value(answer).context("GET /reports/queues: a report of an unexpected shape")?;
    let text = if args.csv { report_csv(&report) } else { report_table(&report) };
    crate::emit(&text)?;
    Ok(0)
}

fn report_table(r: &QueueReports) -> String {
    let mut t = Table::new(&[
        "QUEUE",
        "ENTERED",
        "ANSWERED",
        "IN LEVEL",
        "ABANDONED",
        "OVERFLOW",
        "TIMEOUT",
        "CALLBACK",
        "AVG WAIT",
        "MAX WAIT",
        "AVG ABANDON",
        "SL%",
        "LEVEL",
    ]);
    for q in &r.queues {
        t.row(vec![
            q.queue.clone(),
            q.entered.to_string(),
            q.answered.to_string(),
            q.answered_within_level.to_string(),
            q.abandoned.to_string(),
            q.overflowed.to_string(),
            q.timed_out.to_string(),
            q.callbacks.to_string(),
            opt_duration(q.avg_answer_wait_ms),
            opt_duration(q.max_answer_wait_ms),
            opt_duration(q.avg_abandon_wait_ms),
            q.service_level_pct.map(|p| format!("{p:.1}")).unwrap_or_else(|| "-".into()),
            format_duration(q.service_level_ms.max(0) as u64),
        ]);
    }
    format!("queues from {} to {} UTC\n{}", format_utc(r.from_ms), format_utc(r.to_ms), t.render())
}

const REPORT_CSV_HEADER: [&str; 16] = [
    "queue",
    "from",
    "to",
    "service_level_ms",
    "entered",
    "answered",
    "answered_within_level",
    "abandoned",
    "overflowed",
    "timed_out",
    "callbacks",
    "avg_answer_wait_ms",
    "max_answer_wait_ms",
    "avg_abandon_wait_ms",
    "service_level_pct",
    "window_ms",
];

fn report_csv(r: &QueueReports) -> String {
    let mut out = String::new();
    csv_line(&mut out, REPORT_CSV_HEADER.iter().map(|s| s.to_string()));
    for q in &r.queues {
        csv_line(
            &mut out,
            [
                q.queue.clone(),
                format_rfc3339(r.from_ms),
                format_rfc3339(r.to_ms),
                q.service_level_ms.to_string(),
                q.entered.to_string(),
                q.answered.to_string(),
                q.answered_within_level.to_string(),
                q.abandoned.to_string(),
                q.overflowed.to_string(),
                q.timed_out.to_string(),
                q.callbacks.to_string(),
                opt(q.avg_answer_wait_ms),
                opt(q.max_answer_wait_ms),
                opt(q.avg_abandon_wait_ms),
                q.service_level_pct.map(|p| format!("{p:.1}")).unwrap_or_default(),
                (r.to_ms - r.from_ms).to_string(),
            ],
        );
    }
    out
}

/// One page of `GET /agents/{id}/history`.
#[derive(Debug, Deserialize)]
struct HistoryPage {
    at_from: Option<Value>,
    states: Vec<Value>,
    next: Option<String>,
}

/// The parts of a state record the table shows.
#[derive(Debug, Deserialize)]
struct StateRow {
    state: String,
    #[serde(default)]
    reason: String,
    extension: Option<String>,
    call: Option<i64>,
    wall_ms: i64,
    until_wall_ms: Option<i64>,
}

/// `ctibox agent history`: every page.
fn history(args: HistoryArgs) -> Result<i32> {
    let client = Client::connect(&args.api)?;
    let path = format!("/agents/{}/history", args.id);
    let mut query: Vec<(&str, String)> = vec![("limit", HISTORY_PAGE.to_string())];
    if let Some(v) = args.from {
        query.push(("from_ms", v.to_string()));
    }
    if let Some(v) = args.to {
        query.push(("to_ms", v.to_string()));
    }
    let mut at_from = None;
    let mut states: Vec<Value> = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut q = query.clone();
        if let Some(a) = &after {
            q.push(("after", a.clone()));
        }
        let page: HistoryPage = client.call("GET", &path, &q, Body::None)?;
        if after.is_none() {
            at_from = page.at_from;
        }
        let got = page.states.len();
        states.extend(page.states);
        match page.next {
            Some(next) if got > 0 && after.as_deref() != Some(next.as_str()) => after = Some(next),
            _ => break,
        }
    }
    if args.json {
        return print_json(&json!({"agent": args.id, "at_from": at_from, "states": states}));
    }
    let rows: Vec<StateRow> = at_from
        .iter()
        .chain(&states)
        .map(|s| {
            serde_json::from_value(s.clone()).with_context(|| format!("GET {path}: a state of an unexpected shape"))
        })
        .collect::<Result<_>>()?;
    if rows.is_empty() {
        println!("agent {}: no states recorded in that window", args.id);
    } else {
        crate::emit(&history_table(&rows, at_from.is_some(), args.to))?;
    }
    Ok(0)
}

/// One row per state; the first is the state the window opened in when
/// `opened_in` is set. A state still going on shows `now` (or runs to
/// the window's end).
fn history_table(rows: &[StateRow], opened_in: bool, to: Option<i64>) -> String {
    let mut t = Table::new(&["SINCE (UTC)", "STATE", "REASON", "EXT", "CALL", "FOR"]);
    for (i, r) in rows.iter().enumerate() {
        let until = r.until_wall_ms.or(to);
        let lasted = match until {
            Some(u) => format_duration((u - r.wall_ms).max(0) as u64),
            None => "(now)".into(),
        };
        let since =
            if i == 0 && opened_in { format!("{} (before)", format_utc(r.wall_ms)) } else { format_utc(r.wall_ms) };
        t.row(vec![
            since,
            r.state.clone(),
            r.reason.clone(),
            r.extension.clone().unwrap_or_default(),
            opt(r.call),
            lasted,
        ]);
    }
    t.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(format_duration(0), "0s");
        assert_eq!(format_duration(45_900), "45s");
        assert_eq!(format_duration(65_000), "1m05s");
        assert_eq!(format_duration(7_380_000), "2h03m");
    }

    #[test]
    fn monitor_lines_of_acd_events() {
        let event = |text: &str| -> ctibox_daemon::core::CtiEvent { serde_json::from_str(text).unwrap() };
        let agent = event(
            r#"{"seq": 16, "at_ms": 7020, "type": "agent", "agent": {"id": "1001", "name": "Alice",
                "state": "on_call", "since_ms": 7020, "extension": "801", "queues": ["sales"], "busy": false,
                "call": 7, "answered": 1, "talk_ms": 0, "skills": {}}}"#,
        );
        let ctibox_daemon::core::CtiEventKind::Agent { agent } = &agent.kind else { panic!("{agent:?}") };
        assert_eq!(agent_event_text(agent), "agent 1001 (Alice): on call at 801, queues sales (call 7)");
        let queue = event(
            r#"{"seq": 17, "at_ms": 7020, "type": "queue", "queue": {"name": "sales", "title": "Sales",
                "strategy": "ring_all", "waiting": [{"call": 8, "position": 1, "priority": 0, "wait_ms": 65000,
                "offered_to": [], "callback": false}], "longest_wait_ms": 65000, "logged_in": 2, "ready": 0,
                "entered": 3, "answered": 2, "abandoned": 0, "overflowed": 0, "service_level_pct": 100,
                "estimated_wait_ms": null}}"#,
        );
        let ctibox_daemon::core::CtiEventKind::Queue { queue } = &queue.kind else { panic!("{queue:?}") };
        assert_eq!(
            queue_event_text(queue),
            "queue sales: 1 waiting (longest 1m05s), 0/2 ready, 2 answered, 0 abandoned, service level 100%"
        );
        let pop = event(
            r#"{"seq": 18, "at_ms": 7040, "type": "screen_pop", "pop": {"agent": "1002", "call": 8,
                "queue": "sales", "queue_title": "Sales", "caller_number": "13800138000", "caller_name": "",
                "wait_ms": 15200, "callback": true, "customer": {"id": 3, "name": "Li Wei"}, "last_calls": [],
                "ivr_path": [], "vars": {}}}"#,
        );
        let ctibox_daemon::core::CtiEventKind::ScreenPop { pop } = &pop.kind else { panic!("{pop:?}") };
        assert_eq!(
            screen_pop_text(pop),
            "screen pop for agent 1002: call 8 from 13800138000 in Sales, waited 15s, customer \"Li Wei\", callback"
        );
        let pop = event(
            r#"{"seq": 19, "at_ms": 9040, "type": "screen_pop", "pop": {"agent": "1003", "call": 8,
                "queue": "sales", "queue_title": "Sales", "caller_number": "13800138000", "caller_name": "",
                "wait_ms": 0, "callback": false, "customer": null, "last_calls": [], "ivr_path": [], "vars": {},
                "notes": [{"author": "agent", "text": "a", "at_ms": 8000}, {"author": "super", "text": "b", "at_ms": 8500}],
                "transferred_by": "1002"}}"#,
        );
        let ctibox_daemon::core::CtiEventKind::ScreenPop { pop } = &pop.kind else { panic!("{pop:?}") };
        assert_eq!(
            screen_pop_text(pop),
            "screen pop for agent 1003: call 8 from 13800138000 in Sales, waited 0s, new customer, \
             transferred by agent 1002, 2 notes"
        );
    }

    #[test]
    fn report_rows_as_csv() {
        let report: QueueReports = serde_json::from_value(json!({
            "from_ms": 1_700_000_000_000i64,
            "to_ms": 1_700_000_300_000i64,
            "queues": [{
                "queue": "sales", "service_level_ms": 20000, "entered": 2, "answered": 1, "abandoned": 1,
                "overflowed": 0, "timed_out": 0, "callbacks": 0, "answered_within_level": 1,
                "abandoned_after_level": 1, "avg_answer_wait_ms": 5000, "max_answer_wait_ms": 5000,
                "avg_abandon_wait_ms": 40000, "service_level_pct": 50.0
            }]
        }))
        .unwrap();
        let csv = report_csv(&report);
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(lines[0], REPORT_CSV_HEADER.join(","));
        assert_eq!(
            lines[1],
            "sales,2023-11-14T22:13:20.000Z,2023-11-14T22:18:20.000Z,20000,2,1,1,1,0,0,0,5000,5000,40000,50.0,300000"
        );
        assert_eq!(lines[2], "", "CRLF after the last record");
        let table = report_table(&report);
        assert!(table.starts_with("queues from 2023-11-14 22:13:20 to 2023-11-14 22:18:20 UTC\n"), "{table}");
        assert!(table.lines().nth(2).unwrap().starts_with("sales  2"), "{table}");
    }
}
