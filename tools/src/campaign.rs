//! `ctibox campaign …` and `ctibox dnc …`: outbound campaigns and the
//! do-not-call list over the daemon's API (docs/api.md, "Campaigns";
//! docs/cli.md, "Campaigns").
//!
//! - `campaign list` prints the campaigns live as a table; `campaign show`
//!   one campaign, live and with the records' counts; `campaign numbers`
//!   its numbers with their attempts, following the API's pages to the end.
//! - `campaign import` sends a CSV file as it is (`text/csv`) and prints
//!   the report with every refused row as `FILE:LINE: column: problem`; it
//!   exits with 1 when any row was refused.
//! - `campaign pause | resume` print one line with the campaign's state
//!   after.
//! - `dnc list | add | remove | check` read and change the list; `check`
//!   exits with 1 when the number is not on it.
//!
//! `--json` prints the API's answer as it is (for `campaign numbers`, the
//! numbers of every page as one array). Times from the records are UTC.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::builder::PossibleValuesParser;
use clap::{Args, Subcommand};
use serde::Deserialize;
use serde_json::{Value, json};

use ctibox_daemon::core::CampaignView;
use ctibox_daemon::records::{CallResult, NumberState, ResultCounts};

use crate::api::{ApiArgs, Body, Client};
use crate::calls::ReadArgs;
use crate::cdr::ImportProblem;
use crate::table::Table;
use crate::wall_time::format_utc;

/// Largest page of numbers the API gives (`api::campaign::NUMBERS_LIMIT_MAX`).
const NUMBERS_PAGE: usize = 1000;

/// How long an import may take (the daemon allows 10 minutes).
const IMPORT_TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Debug, Args)]
pub struct CampaignArgs {
    #[command(subcommand)]
    pub cmd: CampaignCmd,
}

#[derive(Debug, Subcommand)]
pub enum CampaignCmd {
    /// Every campaign, live: state, numbers per state, calls out, agents,
    /// lines.
    List(ReadArgs),
    /// One campaign, live and with the records' counts.
    Show(NameArgs),
    /// A campaign's numbers with their attempts (every page).
    Numbers(NumbersArgs),
    /// Add numbers to a campaign from a CSV file with a number column
    /// (admin, supervisor); exits with 1 when rows were refused.
    Import(ImportArgs),
    /// Stop dialling new numbers; calls out go on (admin, supervisor).
    Pause(ActArgs),
    /// Dial again (admin, supervisor).
    Resume(ActArgs),
}

#[derive(Debug, Args)]
pub struct NameArgs {
    #[command(flatten)]
    pub read: ReadArgs,
    /// The campaign's name (see `ctibox campaign list`).
    pub name: String,
}

#[derive(Debug, Args)]
pub struct ActArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// The campaign's name (see `ctibox campaign list`).
    pub name: String,
}

#[derive(Debug, Args)]
pub struct NumbersArgs {
    #[command(flatten)]
    pub read: ReadArgs,
    /// The campaign's name (see `ctibox campaign list`).
    pub name: String,
    /// Only numbers in this state.
    #[arg(long, value_name = "S", value_parser = PossibleValuesParser::new(NumberState::ALL.map(NumberState::as_str)))]
    pub state: Option<String>,
    /// Only numbers done with this final result.
    #[arg(long, value_name = "R", value_parser = PossibleValuesParser::new(CallResult::ALL.map(CallResult::as_str)))]
    pub result: Option<String>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// The campaign's name (see `ctibox campaign list`).
    pub name: String,
    /// The CSV file (UTF-8, a header naming a number column: number,
    /// phone, tel, mobile…).
    pub file: PathBuf,
    /// Check every row and report, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the API's report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DncArgs {
    #[command(subcommand)]
    pub cmd: DncCmd,
}

#[derive(Debug, Subcommand)]
pub enum DncCmd {
    /// The do-not-call list, oldest first: all of it, or one page.
    List(DncListArgs),
    /// Put a number on the list: no campaign dials it again (admin,
    /// supervisor).
    Add(DncAddArgs),
    /// Take a number off the list (every entry it matches; admin,
    /// supervisor).
    Remove(DncNumberArgs),
    /// Whether a number is on the list; exits with 1 when it is not.
    Check(DncCheckArgs),
}

#[derive(Debug, Args)]
pub struct DncAddArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// The number (as written: spaces, +, national or international form).
    pub number: String,
    /// Why (kept with the entry).
    #[arg(long, value_name = "R")]
    pub reason: Option<String>,
}

#[derive(Debug, Args)]
pub struct DncNumberArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// The number (matched as the list matches: national or international
    /// form).
    pub number: String,
}

#[derive(Debug, Args)]
pub struct DncListArgs {
    #[command(flatten)]
    pub read: ReadArgs,
    /// Only this many entries (1-1000; the API's page); all when left out.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Skip this many entries first.
    #[arg(long, default_value_t = 0)]
    pub offset: usize,
}

#[derive(Debug, Args)]
pub struct DncCheckArgs {
    #[command(flatten)]
    pub read: ReadArgs,
    /// The number (matched as the list matches: national or international
    /// form).
    pub number: String,
}

fn print_json(v: &Value) -> Result<()> {
    crate::emit(&format!("{}\n", serde_json::to_string_pretty(v)?))?;
    Ok(())
}

/// A path segment with everything but unreserved characters and `+`
/// percent-encoded (numbers are written with spaces, `/`, parentheses).
fn path_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'+' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `paused`, `loading` (numbers not read yet), `empty` (no numbers),
/// `finished` (every number done) or `running`.
fn campaign_state(c: &CampaignView) -> &'static str {
    if c.summary.paused {
        "paused"
    } else if !c.loaded {
        "loading"
    } else if c.summary.numbers == 0 {
        "empty"
    } else if c.summary.finished {
        "finished"
    } else {
        "running"
    }
}

/// `campaign spring: paused by super at … UTC`.
fn campaign_line(c: &CampaignView) -> String {
    let mut line = format!("campaign {}: {}", c.name, campaign_state(c));
    if let Some(by) = &c.paused_by {
        let at = c.paused_at_wall_ms.map(|ms| format!(" at {} UTC", format_utc(ms))).unwrap_or_default();
        if c.summary.paused {
            line.push_str(&format!(" by {by}{at}"));
        } else {
            line.push_str(&format!(" (resumed by {by}{at})"));
        }
    }
    line
}

/// Non-zero counts as `busy 2, no_answer 1` (`-` when none).
fn counts_text(c: &ResultCounts) -> String {
    let parts: Vec<String> =
        CallResult::ALL.iter().filter(|r| c.get(**r) > 0).map(|r| format!("{} {}", r.as_str(), c.get(*r))).collect();
    if parts.is_empty() { "-".into() } else { parts.join(", ") }
}

/// `ctibox campaign …`.
pub fn campaign(args: CampaignArgs) -> Result<i32> {
    match args.cmd {
        CampaignCmd::List(a) => list(a),
        CampaignCmd::Show(a) => show(a),
        CampaignCmd::Numbers(a) => numbers(a),
        CampaignCmd::Import(a) => import(a),
        CampaignCmd::Pause(a) => pause(a, true),
        CampaignCmd::Resume(a) => pause(a, false),
    }
}

fn list(args: ReadArgs) -> Result<i32> {
    let client = Client::connect(&args.api)?;
    if args.json {
        print_json(&client.get::<Value>("/campaigns")?)?;
        return Ok(0);
    }
    let campaigns: Vec<CampaignView> = client.get("/campaigns")?;
    if campaigns.is_empty() {
        println!("no campaigns (the config has no [[campaign]])");
    } else {
        crate::emit(&list_table(&campaigns))?;
    }
    Ok(0)
}

fn list_table(campaigns: &[CampaignView]) -> String {
    let mut t = Table::new(&[
        "CAMPAIGN", "STATE", "QUEUE", "TRUNK", "NUMBERS", "PENDING", "RETRY", "DONE", "ATTEMPTS", "OUT", "READY",
        "LINES",
    ]);
    for c in campaigns {
        let s = &c.summary;
        t.row(vec![
            c.name.clone(),
            campaign_state(c).into(),
            c.queue.clone(),
            c.trunk.clone(),
            s.numbers.to_string(),
            s.pending.to_string(),
            s.retry_wait.to_string(),
            s.done.to_string(),
            s.attempts.to_string(),
            c.calls_out.to_string(),
            c.ready_agents.to_string(),
            c.free_lines.to_string(),
        ]);
    }
    t.render()
}

/// The records' counts of `GET /campaigns/{name}`.
#[derive(Debug, Deserialize)]
struct RecordsCounts {
    numbers: u32,
    pending: u32,
    dialing: u32,
    retry_wait: u32,
    done: u32,
    results: ResultCounts,
    attempts: u32,
    attempt_results: ResultCounts,
}

#[derive(Debug, Deserialize)]
struct Detail {
    #[serde(flatten)]
    live: CampaignView,
    records: RecordsCounts,
}

fn show(args: NameArgs) -> Result<i32> {
    let client = Client::connect(&args.read.api)?;
    let path = format!("/campaigns/{}", path_segment(&args.name));
    let answer: Value = client.get(&path)?;
    if args.read.json {
        print_json(&answer)?;
        return Ok(0);
    }
    let detail: Detail =
        serde_json::from_value(answer).with_context(|| format!("GET {path}: a campaign of an unexpected shape"))?;
    crate::emit(&show_text(&detail))?;
    Ok(0)
}

fn show_text(d: &Detail) -> String {
    let (c, r) = (&d.live, &d.records);
    let mut t = Table::default();
    let mut row = |k: &str, v: String| t.row(vec![k.to_string(), v]);
    row("queue", c.queue.clone());
    row("trunk", c.trunk.clone());
    row(
        "numbers",
        format!(
            "{} ({} pending, {} dialing, {} retry wait, {} done)",
            r.numbers, r.pending, r.dialing, r.retry_wait, r.done
        ),
    );
    row("results", counts_text(&r.results));
    row("attempts", format!("{} ({})", r.attempts, counts_text(&r.attempt_results)));
    row("calls out", format!("{} ({} dialing)", c.calls_out, c.dialing_now));
    row("ready agents", c.ready_agents.to_string());
    row("free lines", c.free_lines.to_string());
    format!("{}\n{}", campaign_line(c), t.render())
}

/// The parts of a number the table shows.
#[derive(Debug, Deserialize)]
struct NumberRow {
    id: i64,
    number: String,
    state: NumberState,
    attempts: u32,
    tries: ResultCounts,
    next_at_wall_ms: Option<i64>,
    result: Option<CallResult>,
    customer: Option<i64>,
    on_dnc: bool,
}

#[derive(Debug, Deserialize)]
struct NumbersPage {
    total: usize,
    numbers: Vec<Value>,
}

fn numbers(args: NumbersArgs) -> Result<i32> {
    let client = Client::connect(&args.read.api)?;
    let path = format!("/campaigns/{}/numbers", path_segment(&args.name));
    let mut query: Vec<(&str, String)> = vec![("limit", NUMBERS_PAGE.to_string())];
    if let Some(s) = &args.state {
        query.push(("state", s.clone()));
    }
    if let Some(r) = &args.result {
        query.push(("result", r.clone()));
    }
    let mut all: Vec<Value> = Vec::new();
    loop {
        let mut q = query.clone();
        q.push(("offset", all.len().to_string()));
        let page: NumbersPage = client.call("GET", &path, &q, Body::None)?;
        let got = page.numbers.len();
        all.extend(page.numbers);
        if got == 0 || all.len() >= page.total {
            break;
        }
    }
    if args.read.json {
        print_json(&Value::Array(all))?;
        return Ok(0);
    }
    let rows: Vec<NumberRow> = all
        .into_iter()
        .map(|n| serde_json::from_value(n).with_context(|| format!("GET {path}: a number of an unexpected shape")))
        .collect::<Result<_>>()?;
    if rows.is_empty() {
        println!("campaign {}: no numbers{}", args.name, if query.len() > 1 { " match" } else { "" });
    } else {
        crate::emit(&numbers_table(&rows))?;
    }
    Ok(0)
}

fn numbers_table(rows: &[NumberRow]) -> String {
    let mut t = Table::new(&["ID", "NUMBER", "STATE", "ATTEMPTS", "TRIES", "NEXT (UTC)", "RESULT", "CUSTOMER", "DNC"]);
    for n in rows {
        t.row(vec![
            n.id.to_string(),
            n.number.clone(),
            n.state.as_str().into(),
            n.attempts.to_string(),
            counts_text(&n.tries),
            n.next_at_wall_ms.map(format_utc).unwrap_or_default(),
            n.result.map(|r| r.as_str().to_string()).unwrap_or_default(),
            n.customer.map(|c| c.to_string()).unwrap_or_default(),
            if n.on_dnc { "yes".into() } else { String::new() },
        ]);
    }
    t.render()
}

/// `api::campaign::CampaignImport`.
#[derive(Debug, Deserialize)]
struct ImportReport {
    rows: usize,
    added: usize,
    dnc: usize,
    problems: Vec<ImportProblem>,
    #[serde(default)]
    ignored_columns: Vec<String>,
    dry_run: bool,
    #[serde(default)]
    warnings: Vec<String>,
}

fn import(args: ImportArgs) -> Result<i32> {
    let data = std::fs::read(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let client = Client::connect(&args.api)?;
    let query = if args.dry_run { vec![("dry_run", "true".to_string())] } else { Vec::new() };
    let path = format!("/campaigns/{}/numbers", path_segment(&args.name));
    let text = client.call_text("POST", &path, &query, Body::Csv(&data), Some(IMPORT_TIMEOUT))?;
    let value: Value = serde_json::from_str(&text).with_context(|| format!("POST {path}: the report is not JSON"))?;
    let report: ImportReport = serde_json::from_value(value.clone())
        .with_context(|| format!("POST {path}: a report of an unexpected shape"))?;
    if args.json {
        print_json(&value)?;
    } else {
        crate::emit(&import_text(&args.file.display().to_string(), &args.name, &report))?;
    }
    Ok(if report.problems.is_empty() { 0 } else { 1 })
}

fn import_text(file: &str, campaign: &str, r: &ImportReport) -> String {
    let (added, dnc) = if r.dry_run {
        ("would be added", format!("{} would be on the do-not-call list", r.dnc))
    } else {
        ("added", format!("{} on the do-not-call list (stored as done, dnc)", r.dnc))
    };
    let mut out = format!(
        "{file}: {} rows: {} {added} to campaign {campaign}, {dnc}, {} refused{}\n",
        r.rows,
        r.added,
        r.problems.len(),
        if r.dry_run { " (dry run: nothing written)" } else { "" }
    );
    out.push_str(&crate::cdr::problem_lines(file, &r.problems, &r.ignored_columns));
    for w in &r.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    out
}

fn pause(args: ActArgs, paused: bool) -> Result<i32> {
    let client = Client::connect(&args.api)?;
    let action = if paused { "pause" } else { "resume" };
    let view: CampaignView = client.post(&format!("/campaigns/{}/{action}", path_segment(&args.name)), json!({}))?;
    println!("{}", campaign_line(&view));
    Ok(0)
}

// --- the do-not-call list ----------------------------------------------------

/// `records::DncEntry`.
#[derive(Debug, Deserialize)]
struct DncRow {
    number: String,
    digits: String,
    reason: String,
    added_wall_ms: i64,
}

/// `api::campaign::DncCheck`.
#[derive(Debug, Deserialize)]
struct DncCheck {
    number: String,
    listed: bool,
    entry: Option<DncRow>,
}

/// `api::campaign::DncRemoved`.
#[derive(Debug, Deserialize)]
struct DncRemoved {
    removed: Vec<DncRow>,
}

/// `137 0013 7000 (asked us), added 2024-11-21 09:30:00 UTC`.
fn entry_text(e: &DncRow) -> String {
    let reason = if e.reason.is_empty() { String::new() } else { format!(" ({})", e.reason) };
    format!("{}{reason}, added {} UTC", e.number, format_utc(e.added_wall_ms))
}

/// `ctibox dnc …`.
pub fn dnc(args: DncArgs) -> Result<i32> {
    match args.cmd {
        DncCmd::List(a) => dnc_list(a),
        DncCmd::Add(a) => {
            let client = Client::connect(&a.api)?;
            let mut body = json!({"number": a.number});
            if let Some(r) = a.reason {
                body["reason"] = json!(r);
            }
            let check: DncCheck = client.post("/dnc", body)?;
            match &check.entry {
                Some(e) => println!("{}: on the do-not-call list as {}", check.number, entry_text(e)),
                // The daemon took it but the records do not show it: the
                // journal refused the entry (the daemon's log says why).
                None => {
                    anyhow::bail!("POST /dnc: {} was taken but is not on the list (see the daemon log)", check.number)
                }
            }
            Ok(0)
        }
        DncCmd::Remove(a) => {
            let client = Client::connect(&a.api)?;
            let removed: DncRemoved =
                client.call("DELETE", &format!("/dnc/{}", path_segment(&a.number)), &[], Body::None)?;
            for e in &removed.removed {
                println!("removed from the do-not-call list: {}", entry_text(e));
            }
            Ok(0)
        }
        DncCmd::Check(a) => {
            let client = Client::connect(&a.read.api)?;
            let path = format!("/dnc/{}", path_segment(&a.number));
            let answer: Value = client.get(&path)?;
            let check: DncCheck = serde_json::from_value(answer.clone())
                .with_context(|| format!("GET {path}: an answer of an unexpected shape"))?;
            if a.read.json {
                print_json(&answer)?;
            } else {
                match &check.entry {
                    Some(e) => println!("{}: on the do-not-call list as {}", check.number, entry_text(e)),
                    None => println!("{}: not on the do-not-call list", check.number),
                }
            }
            Ok(if check.listed { 0 } else { 1 })
        }
    }
}

/// What `GET /dnc` answers.
#[derive(Debug, Deserialize)]
struct DncPage {
    total: u64,
    entries: Vec<Value>,
}

/// Largest page the API gives.
const DNC_PAGE_MAX: usize = 1000;

fn dnc_list(args: DncListArgs) -> Result<i32> {
    let client = Client::connect(&args.read.api)?;
    // One page when asked for, else every page from `offset` on.
    let (mut offset, mut entries) = (args.offset, Vec::new());
    let total = loop {
        let limit = args.limit.unwrap_or(DNC_PAGE_MAX);
        let path = format!("/dnc?limit={limit}&offset={offset}");
        let answer: Value = client.get(&path)?;
        let page: DncPage =
            serde_json::from_value(answer).with_context(|| format!("GET {path}: an answer of an unexpected shape"))?;
        let n = page.entries.len();
        entries.extend(page.entries);
        offset += n;
        if args.limit.is_some() || n == 0 || offset as u64 >= page.total {
            break page.total;
        }
    };
    if args.read.json {
        print_json(&json!({"total": total, "offset": args.offset, "entries": entries}))?;
        return Ok(0);
    }
    let rows: Vec<DncRow> =
        serde_json::from_value(Value::Array(entries)).context("GET /dnc: entries of an unexpected shape")?;
    if total == 0 {
        println!("the do-not-call list is empty");
        return Ok(0);
    }
    if rows.is_empty() {
        println!("no entries from {} on: the list has {total}", args.offset);
        return Ok(0);
    }
    let mut t = Table::new(&["NUMBER", "DIGITS", "ADDED (UTC)", "REASON"]);
    for e in &rows {
        t.row(vec![e.number.clone(), e.digits.clone(), format_utc(e.added_wall_ms), e.reason.clone()]);
    }
    crate::emit(&t.render())?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(json: Value) -> CampaignView {
        serde_json::from_value(json).unwrap()
    }

    fn spring(paused: bool, by: Option<&str>) -> CampaignView {
        view(json!({
            "name": "spring", "queue": "sales", "trunk": "pstn", "loaded": true,
            "summary": {"numbers": 5, "pending": 2, "dialing": 1, "retry_wait": 1, "done": 1, "attempts": 4,
                "results": {"answered": 1, "busy": 0, "no_answer": 0, "fax": 0, "failed": 0, "abandoned": 0, "dnc": 0},
                "paused": paused, "finished": false},
            "calls_out": 1, "dialing_now": 1, "ready_agents": 2, "free_lines": 3,
            "paused_by": by, "paused_at_wall_ms": by.map(|_| 1_700_000_000_000i64)
        }))
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(path_segment("+86 10 6552-9988"), "+86%2010%206552-9988");
        assert_eq!(path_segment("(010)/6552"), "%28010%29%2F6552");
        assert_eq!(path_segment("spring_2"), "spring_2");
    }

    #[test]
    fn campaign_lines_and_tables() {
        assert_eq!(campaign_line(&spring(false, None)), "campaign spring: running");
        let mut empty = spring(false, None);
        empty.summary = Default::default();
        assert_eq!(campaign_line(&empty), "campaign spring: empty");
        empty.loaded = false;
        assert_eq!(campaign_line(&empty), "campaign spring: loading");
        assert_eq!(
            campaign_line(&spring(true, Some("super"))),
            "campaign spring: paused by super at 2023-11-14 22:13:20 UTC"
        );
        assert_eq!(
            campaign_line(&spring(false, Some("admin"))),
            "campaign spring: running (resumed by admin at 2023-11-14 22:13:20 UTC)"
        );
        let table = list_table(&[spring(true, Some("super"))]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[1].split_whitespace().collect::<Vec<_>>(),
            ["spring", "paused", "sales", "pstn", "5", "2", "1", "1", "4", "1", "2", "3"],
            "{table}"
        );
        let mut counts = ResultCounts::default();
        assert_eq!(counts_text(&counts), "-");
        counts.add(CallResult::Busy, 2);
        counts.add(CallResult::Dnc, 1);
        assert_eq!(counts_text(&counts), "busy 2, dnc 1");
    }

    #[test]
    fn import_report_names_file_line_and_warnings() {
        let r = ImportReport {
            rows: 3,
            added: 1,
            dnc: 1,
            problems: vec![ImportProblem { line: 3, column: Some("phone".into()), problem: "no digits".into() }],
            ignored_columns: vec!["name".into()],
            dry_run: false,
            warnings: vec!["the core was not told".into()],
        };
        assert_eq!(
            import_text("n.csv", "spring", &r),
            "n.csv: 3 rows: 1 added to campaign spring, 1 on the do-not-call list (stored as done, dnc), 1 refused\n\
             n.csv:3: phone: no digits\nignored columns: name\nwarning: the core was not told\n"
        );
        let r = ImportReport { dry_run: true, problems: Vec::new(), warnings: Vec::new(), ..r };
        assert_eq!(
            import_text("n.csv", "spring", &r),
            "n.csv: 3 rows: 1 would be added to campaign spring, 1 would be on the do-not-call list, 0 refused \
             (dry run: nothing written)\nignored columns: name\n"
        );
    }
}
