//! `ctibox cdr` (the call journal, `GET /cdr`) and `ctibox customers
//! import` (`POST /customers/import`), over the daemon's API.
//!
//! `cdr` follows the API's `next` cursor until the journal is exhausted or
//! `--limit` calls are printed, asking for pages of at most
//! [`PAGE_MAX`] calls. Times on the command line are converted to the
//! journal's clock, UTC ms since 1970 ([`crate::wall_time`]); `--to` is
//! exclusive, except that a bare date means the whole of that day. Output:
//! an aligned table, CSV (RFC 4180: a header row, fields quoted when they
//! hold a comma, a quote or a line break, CRLF line ends), or a JSON array
//! of the API's call records.
//!
//! `customers import` sends the file as it is (`text/csv`) and prints the
//! report with every refused row as `FILE:LINE: column: problem`; it exits
//! with 1 when any row was refused.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use serde::Deserialize;
use serde_json::Value;

use crate::api::{ApiArgs, Body, Client};
use crate::table::Table;
use crate::wall_time::{Bound, format_rfc3339, format_utc, parse_time_ms};

/// Largest page the API gives (`records::journal_query::PAGE_MAX`).
const PAGE_MAX: u32 = 1000;

/// How long an import may take (the daemon allows 10 minutes).
const IMPORT_TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DirectionArg {
    Inbound,
    Outbound,
    Internal,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Times: a date (2024-11-21, UTC; as --to, up to the end of that day), an RFC 3339
date-time (2024-11-21T09:30:00+08:00, 2024-11-21T01:30:00Z) or ms since 1970.")]
pub struct CdrArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// Calls started at or after this time.
    #[arg(long, value_name = "TIME", value_parser = start_time)]
    pub from: Option<i64>,
    /// Calls started before this time.
    #[arg(long, value_name = "TIME", value_parser = end_time)]
    pub to: Option<i64>,
    /// Calls from, to or through this number (its last digits match).
    #[arg(long)]
    pub number: Option<String>,
    /// Calls with this extension in them.
    #[arg(long)]
    pub extension: Option<String>,
    /// Calls on this board channel.
    #[arg(long)]
    pub channel: Option<u32>,
    #[arg(long, value_enum)]
    pub direction: Option<DirectionArg>,
    /// Calls that ended for this cause (normal, busy, no_answer,
    /// congestion, cancelled, rejected, far_end_disconnect, failed,
    /// interrupted).
    #[arg(long)]
    pub cause: Option<String>,
    /// At most this many calls (default: all that match).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,
    /// Oldest calls first (default: newest first).
    #[arg(long)]
    pub oldest_first: bool,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

fn start_time(text: &str) -> Result<i64, String> {
    parse_time_ms(text, Bound::Start)
}

fn end_time(text: &str) -> Result<i64, String> {
    parse_time_ms(text, Bound::End)
}

/// The parts of a call record (`records::CallRecord`) the table and CSV
/// show; `--format json` prints the whole record.
#[derive(Debug, Deserialize)]
struct CallRow {
    id: i64,
    direction: String,
    caller_number: String,
    caller_name: String,
    called_number: String,
    channel: Option<u32>,
    start_wall_ms: i64,
    answer_wall_ms: Option<i64>,
    end_wall_ms: Option<i64>,
    cause: Option<String>,
    #[serde(default)]
    cause_detail: String,
    #[serde(default)]
    legs: Vec<LegRow>,
}

#[derive(Debug, Deserialize)]
struct LegRow {
    extension: Option<String>,
}

impl CallRow {
    fn extensions(&self) -> String {
        let set: BTreeSet<&str> = self.legs.iter().filter_map(|l| l.extension.as_deref()).collect();
        set.into_iter().collect::<Vec<_>>().join(";")
    }
    fn duration_s(&self) -> Option<i64> {
        self.end_wall_ms.map(|end| round_s(end - self.start_wall_ms))
    }
    fn talk_s(&self) -> Option<i64> {
        Some(round_s(self.end_wall_ms? - self.answer_wall_ms?))
    }
}

fn round_s(ms: i64) -> i64 {
    (ms.max(0) + 500) / 1000
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// `ctibox cdr`.
pub fn cdr(args: CdrArgs) -> Result<i32> {
    let client = Client::connect(&args.api)?;
    let mut query: Vec<(&str, String)> = Vec::new();
    if let Some(v) = args.from {
        query.push(("from_ms", v.to_string()));
    }
    if let Some(v) = args.to {
        query.push(("to_ms", v.to_string()));
    }
    for (k, v) in [("number", &args.number), ("extension", &args.extension), ("cause", &args.cause)] {
        if let Some(v) = v {
            query.push((k, v.clone()));
        }
    }
    if let Some(v) = args.channel {
        query.push(("channel", v.to_string()));
    }
    if let Some(d) = args.direction {
        let d = match d {
            DirectionArg::Inbound => "inbound",
            DirectionArg::Outbound => "outbound",
            DirectionArg::Internal => "internal",
        };
        query.push(("direction", d.into()));
    }
    query.push(("order", if args.oldest_first { "oldest" } else { "newest" }.into()));
    let calls = fetch_all(&client, query, args.limit)?;
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&calls)?)?,
        Format::Csv => out.write_all(csv_text(&rows(&calls)?).as_bytes())?,
        Format::Table => {
            let rows = rows(&calls)?;
            if rows.is_empty() {
                writeln!(out, "no calls")?;
            } else {
                out.write_all(table_text(&rows).as_bytes())?;
            }
        }
    }
    Ok(0)
}

#[derive(Debug, Deserialize)]
struct Page {
    calls: Vec<Value>,
    next: Option<String>,
}

/// Every call of the query, following `next`, up to `limit`.
fn fetch_all(client: &Client, query: Vec<(&str, String)>, limit: Option<u64>) -> Result<Vec<Value>> {
    let mut calls = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let want = limit.map_or(u64::from(PAGE_MAX), |l| (l - calls.len() as u64).min(u64::from(PAGE_MAX)));
        let mut q = query.clone();
        q.push(("limit", want.to_string()));
        if let Some(a) = &after {
            q.push(("after", a.clone()));
        }
        let page: Page = client.call("GET", "/cdr", &q, Body::None)?;
        let got = page.calls.len();
        calls.extend(page.calls);
        if limit.is_some_and(|l| calls.len() as u64 >= l) {
            calls.truncate(limit.unwrap_or(0) as usize);
            return Ok(calls);
        }
        match page.next {
            Some(next) if got > 0 && after.as_deref() != Some(next.as_str()) => after = Some(next),
            _ => return Ok(calls),
        }
    }
}

fn rows(calls: &[Value]) -> Result<Vec<CallRow>> {
    calls
        .iter()
        .map(|c| serde_json::from_value(c.clone()).context("GET /cdr: a call record of an unexpected shape"))
        .collect()
}

fn table_text(rows: &[CallRow]) -> String {
    let mut t =
        Table::new(&["CALL", "START (UTC)", "DIR", "FROM", "NAME", "TO", "EXT", "CH", "DURATION", "TALK", "CAUSE"]);
    for r in rows {
        t.row(vec![
            r.id.to_string(),
            format_utc(r.start_wall_ms),
            r.direction.clone(),
            r.caller_number.clone(),
            r.caller_name.clone(),
            r.called_number.clone(),
            r.extensions(),
            opt(r.channel),
            r.duration_s().map_or_else(|| "in progress".into(), |s| format!("{s}s")),
            r.talk_s().map(|s| format!("{s}s")).unwrap_or_default(),
            opt(r.cause.as_ref()),
        ]);
    }
    t.render()
}

const CSV_HEADER: [&str; 16] = [
    "call",
    "start",
    "start_ms",
    "direction",
    "caller_number",
    "caller_name",
    "called_number",
    "extensions",
    "channel",
    "answered",
    "answer_ms",
    "end_ms",
    "duration_s",
    "talk_s",
    "cause",
    "cause_detail",
];

fn csv_text(rows: &[CallRow]) -> String {
    let mut out = String::new();
    csv_line(&mut out, CSV_HEADER.iter().map(|s| s.to_string()));
    for r in rows {
        csv_line(
            &mut out,
            [
                r.id.to_string(),
                format_rfc3339(r.start_wall_ms),
                r.start_wall_ms.to_string(),
                r.direction.clone(),
                r.caller_number.clone(),
                r.caller_name.clone(),
                r.called_number.clone(),
                r.extensions(),
                opt(r.channel),
                (if r.answer_wall_ms.is_some() { "yes" } else { "no" }).to_string(),
                opt(r.answer_wall_ms),
                opt(r.end_wall_ms),
                opt(r.duration_s()),
                opt(r.talk_s()),
                opt(r.cause.as_ref()),
                r.cause_detail.clone(),
            ],
        );
    }
    out
}

/// One CSV record (RFC 4180), CRLF-terminated.
pub(crate) fn csv_line(out: &mut String, fields: impl IntoIterator<Item = String>) {
    for (i, f) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if f.contains([',', '"', '\r', '\n']) || f.starts_with(' ') || f.ends_with(' ') {
            out.push('"');
            out.push_str(&f.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&f);
        }
    }
    out.push_str("\r\n");
}

#[derive(Debug, Args)]
pub struct CustomersArgs {
    #[command(subcommand)]
    pub cmd: CustomersCmd,
}

#[derive(Debug, Subcommand)]
pub enum CustomersCmd {
    /// Import customers from a CSV file (columns: name, company, phone,
    /// notes, assigned_agent, vip); exits with 1 when rows were refused.
    Import(ImportArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// The CSV file (UTF-8, a header row naming the columns).
    pub file: PathBuf,
    /// Check every row and report, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// A row whose phone numbers match a stored customer updates it
    /// (default: such rows are refused as duplicates).
    #[arg(long)]
    pub update: bool,
    /// Print the API's report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `records::ImportReport`.
#[derive(Debug, Deserialize)]
struct ImportReport {
    rows: usize,
    inserted: usize,
    updated: usize,
    problems: Vec<ImportProblem>,
    #[serde(default)]
    ignored_columns: Vec<String>,
    dry_run: bool,
}

/// One refused row of a CSV import (`records::ImportProblem`).
#[derive(Debug, Deserialize)]
pub(crate) struct ImportProblem {
    pub line: usize,
    pub column: Option<String>,
    pub problem: String,
}

/// The refused rows of `file` (`file:line: column: problem`), then the
/// columns the import ignored.
pub(crate) fn problem_lines(file: &str, problems: &[ImportProblem], ignored_columns: &[String]) -> String {
    let mut out = String::new();
    for p in problems {
        match &p.column {
            Some(c) => out.push_str(&format!("{file}:{}: {c}: {}\n", p.line, p.problem)),
            None => out.push_str(&format!("{file}:{}: {}\n", p.line, p.problem)),
        }
    }
    if !ignored_columns.is_empty() {
        out.push_str(&format!("ignored columns: {}\n", ignored_columns.join(", ")));
    }
    out
}

/// `ctibox customers …`.
pub fn customers(args: CustomersArgs) -> Result<i32> {
    match args.cmd {
        CustomersCmd::Import(a) => import(a),
    }
}

fn import(args: ImportArgs) -> Result<i32> {
    let data = std::fs::read(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let client = Client::connect(&args.api)?;
    let mut query = Vec::new();
    if args.dry_run {
        query.push(("dry_run", "true".to_string()));
    }
    if args.update {
        query.push(("update", "true".to_string()));
    }
    let text = client.call_text("POST", "/customers/import", &query, Body::Csv(&data), Some(IMPORT_TIMEOUT))?;
    let value: Value = serde_json::from_str(&text).context("POST /customers/import: the report is not JSON")?;
    let report: ImportReport =
        serde_json::from_value(value.clone()).context("POST /customers/import: a report of an unexpected shape")?;
    if args.json {
        crate::emit(&format!("{}\n", serde_json::to_string_pretty(&value)?))?;
    } else {
        crate::emit(&report_text(&args.file.display().to_string(), &report))?;
    }
    Ok(if report.problems.is_empty() { 0 } else { 1 })
}

fn report_text(file: &str, r: &ImportReport) -> String {
    let (inserted, updated) =
        if r.dry_run { ("would be inserted", "would be updated") } else { ("inserted", "updated") };
    let mut out = format!(
        "{file}: {} rows: {} {inserted}, {} {updated}, {} refused{}\n",
        r.rows,
        r.inserted,
        r.updated,
        r.problems.len(),
        if r.dry_run { " (dry run: nothing written)" } else { "" }
    );
    out.push_str(&problem_lines(file, &r.problems, &r.ignored_columns));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(json: &str) -> CallRow {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let mut out = String::new();
        csv_line(&mut out, ["a".into(), "b,c".into(), "say \"hi\"".into(), "two\nlines".into(), String::new()]);
        assert_eq!(out, "a,\"b,c\",\"say \"\"hi\"\"\",\"two\nlines\",\r\n");
    }

    #[test]
    fn csv_of_a_call() {
        let r = row(r#"{"id": 7, "direction": "inbound", "caller_number": "13800138000", "caller_name": "Zhang, Wei",
                "called_number": "88880000", "channel": 1, "start_wall_ms": 1700000000000,
                "answer_wall_ms": 1700000005000, "end_wall_ms": 1700000065400, "cause": "normal",
                "cause_detail": "", "legs": [{"extension": "801"}, {"extension": null}, {"extension": "801"}]}"#);
        let text = csv_text(&[r]);
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0], CSV_HEADER.join(","));
        assert_eq!(
            lines[1],
            "7,2023-11-14T22:13:20.000Z,1700000000000,inbound,13800138000,\"Zhang, Wei\",88880000,801,1,yes,\
             1700000005000,1700000065400,65,60,normal,"
        );
        assert_eq!(lines[2], "");
    }

    #[test]
    fn table_of_a_call_in_progress() {
        let r = row(r#"{"id": 8, "direction": "outbound", "caller_number": "801", "caller_name": "",
                "called_number": "13800138000", "channel": null, "start_wall_ms": 0,
                "answer_wall_ms": null, "end_wall_ms": null, "cause": null}"#);
        let text = table_text(&[r]);
        assert!(text.lines().nth(1).unwrap().contains("1970-01-01 00:00:00  outbound"), "{text}");
        assert!(text.contains("in progress"), "{text}");
    }

    #[test]
    fn import_report_names_file_and_line() {
        let r = ImportReport {
            rows: 3,
            inserted: 2,
            updated: 0,
            problems: vec![ImportProblem { line: 3, column: Some("phone".into()), problem: "not a number".into() }],
            ignored_columns: vec!["fax".into()],
            dry_run: true,
        };
        assert_eq!(
            report_text("c.csv", &r),
            "c.csv: 3 rows: 2 would be inserted, 0 would be updated, 1 refused (dry run: nothing written)\n\
             c.csv:3: phone: not a number\nignored columns: fax\n"
        );
    }
}
