//! Importing a campaign's numbers from a CSV file (the records side of
//! [`RecordsHandle::import_campaign_numbers`]).
//!
//! The file is UTF-8 CSV ([`super::super::csv`]) whose header names a
//! number column (`number`, `phone`, `tel`…, see [`NUMBER_COLUMNS`]); other
//! columns are ignored and listed in the report. Every row is checked on
//! its own and a bad one is reported with its line and why — a number
//! [`PhoneNumber::parse`] refuses, a number matching an earlier row of the
//! file, a number already in the campaign — while the others are imported,
//! all in one transaction. A number on the do-not-call list is stored as
//! done with result `dnc`; one matching a customer's is linked to the
//! customer. A dry run checks against the database and writes nothing.

use std::collections::HashMap;

use rusqlite::{Connection, params};
use serde::Serialize;

use super::super::csv::{CsvRecord, read_records};
use super::super::customers;
use super::super::error::WriteError;
use super::super::import::{IMPORT_TIMEOUT, ImportFileError, ImportProblem};
use super::super::phone::{self, PhoneNumber};
use super::super::writer::RecordsHandle;
use super::{CallResult, NumberState, campaign_hits, dnc_hits};

/// What an import of campaign numbers did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CampaignImportReport {
    pub campaign: String,
    /// Data rows read (header and blank lines not counted).
    pub rows: usize,
    /// Numbers stored to be dialled.
    pub added: usize,
    /// Numbers on the do-not-call list: stored as done with result `dnc`,
    /// never dialled.
    pub dnc: usize,
    /// Rejected rows (bad numbers, duplicates), in file order.
    pub problems: Vec<ImportProblem>,
    /// Header columns that were not used.
    pub ignored_columns: Vec<String>,
    pub dry_run: bool,
}

/// Importing campaign numbers failed; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum CampaignImportError {
    #[error("campaign import: {0}")]
    File(#[from] ImportFileError),
    #[error("campaign import: {0}")]
    Write(#[from] WriteError),
}

/// Header names of the number column (compared lower-case, spaces and `-`
/// as `_`).
pub const NUMBER_COLUMNS: [&str; 8] =
    ["number", "phone", "phone_number", "tel", "telephone", "mobile", "msisdn", "number_to_dial"];

fn normalise_header(name: &str) -> String {
    name.trim().to_lowercase().chars().map(|c| if c == ' ' || c == '-' { '_' } else { c }).collect()
}

/// The number column's index and the columns that are not used.
fn read_header(record: &CsvRecord) -> Result<(usize, usize, Vec<String>), ImportFileError> {
    let line = record.line;
    let mut number_column: Option<(usize, String)> = None;
    let mut ignored = Vec::new();
    for index in 0..record.fields.len() {
        let name = record.field_str(index).map_err(|e| ImportFileError::Header { line, problem: e.to_string() })?;
        if NUMBER_COLUMNS.contains(&normalise_header(name).as_str()) {
            if let Some((first, first_name)) = &number_column {
                return Err(ImportFileError::Header {
                    line,
                    problem: format!(
                        "two number columns: {first_name:?} (field {}) and {name:?} (field {})",
                        first + 1,
                        index + 1
                    ),
                });
            }
            number_column = Some((index, name.to_string()));
        } else {
            ignored.push(name.to_string());
        }
    }
    match number_column {
        Some((index, _)) => Ok((index, record.fields.len(), ignored)),
        None => Err(ImportFileError::Header {
            line,
            problem: format!(
                "no number column (name one of: {}; columns found: {})",
                NUMBER_COLUMNS.join(", "),
                (0..record.fields.len()).filter_map(|i| record.field_str(i).ok()).collect::<Vec<_>>().join(", ")
            ),
        }),
    }
}

/// A row whose number parsed.
#[derive(Debug, Clone)]
pub(super) struct NumberRow {
    line: usize,
    column: String,
    number: PhoneNumber,
}

/// Reads and checks a file of numbers; no database needed.
pub(super) fn parse_numbers_csv(data: &[u8]) -> Result<(Vec<NumberRow>, CampaignImportReport), ImportFileError> {
    if data.starts_with(&[0xFF, 0xFE]) || data.starts_with(&[0xFE, 0xFF]) {
        return Err(ImportFileError::Header {
            line: 1,
            problem: "the file is UTF-16 (\"Unicode text\"); save it as CSV UTF-8".into(),
        });
    }
    let mut records = read_records(data)?.into_iter();
    let header = records.next().ok_or(ImportFileError::Empty)?;
    let (column, width, ignored_columns) = read_header(&header)?;
    let column_name = header.field_str(column).unwrap_or("number").to_string();
    let mut report = CampaignImportReport { ignored_columns, ..CampaignImportReport::default() };
    let mut rows = Vec::new();
    for record in records {
        report.rows += 1;
        let line = record.line;
        let problem = |text: String| ImportProblem { line, column: Some(column_name.clone()), problem: text };
        if record.fields.len() != width {
            report.problems.push(ImportProblem {
                line,
                column: None,
                problem: format!("{} fields, the header has {width}", record.fields.len()),
            });
            continue;
        }
        match record.field_str(column) {
            Err(e) => report.problems.push(problem(e.to_string())),
            Ok(text) => match PhoneNumber::parse(text) {
                Ok(number) => rows.push(NumberRow { line, column: column_name.clone(), number }),
                Err(e) => report.problems.push(problem(e.to_string())),
            },
        }
    }
    Ok((rows, report))
}

/// Numbers of earlier rows of the file, by their last
/// [`phone::MIN_LOOSE_DIGITS`] digits (two matching keys always share them).
#[derive(Debug, Default)]
struct Seen {
    by_tail: HashMap<String, Vec<(String, usize, String)>>,
}

impl Seen {
    fn bucket(key: &str) -> String {
        key[key.len().saturating_sub(phone::MIN_LOOSE_DIGITS)..].to_string()
    }

    /// The line and number of an earlier row matching `number`.
    fn find(&self, number: &PhoneNumber) -> Option<(usize, &str)> {
        self.by_tail.get(&Self::bucket(number.key())).and_then(|list| {
            list.iter()
                .find(|(key, _, _)| phone::keys_match(key, number.key()))
                .map(|(_, line, entered)| (*line, entered.as_str()))
        })
    }

    fn add(&mut self, number: &PhoneNumber, line: usize) {
        self.by_tail.entry(Self::bucket(number.key())).or_default().push((
            number.key().to_string(),
            line,
            number.entered().to_string(),
        ));
    }
}

pub(super) fn import_rows(
    conn: &Connection,
    campaign: &str,
    rows: Vec<NumberRow>,
    mut report: CampaignImportReport,
    dry_run: bool,
) -> Result<CampaignImportReport, WriteError> {
    let sql = WriteError::sqlite("campaign import");
    let now = super::super::now_wall_ms();
    let mut position: i64 = conn
        .query_row("SELECT coalesce(max(position), 0) FROM campaign_numbers WHERE campaign = ?1", [campaign], |r| {
            r.get(0)
        })
        .map_err(WriteError::sqlite("campaign import"))?;
    conn.execute_batch("SAVEPOINT campaign_import").map_err(WriteError::sqlite("campaign import"))?;
    let mut seen = Seen::default();
    let outcome = (|| -> Result<(), WriteError> {
        for row in rows {
            let problem =
                |text: String| ImportProblem { line: row.line, column: Some(row.column.clone()), problem: text };
            if let Some((line, earlier)) = seen.find(&row.number) {
                report.problems.push(problem(format!("{} is the same number as {earlier} on line {line}", row.number)));
                continue;
            }
            let taken =
                campaign_hits(conn, campaign, row.number.key()).map_err(WriteError::sqlite("campaign import"))?;
            if let Some((id, stored)) = taken.first() {
                report.problems.push(problem(format!(
                    "{} is already in campaign `{campaign}` (number {id}, imported as {stored})",
                    row.number
                )));
                continue;
            }
            let on_dnc = !dnc_hits(conn, row.number.key()).map_err(WriteError::sqlite("campaign import"))?.is_empty();
            let customer = customers::phone_hits(conn, row.number.key())
                .map_err(WriteError::sqlite("campaign import"))?
                .first()
                .map(|h| h.customer.0);
            position += 1;
            let (state, result) =
                if on_dnc { (NumberState::Done, Some(CallResult::Dnc)) } else { (NumberState::Pending, None) };
            conn.prepare_cached(
                "INSERT INTO campaign_numbers (campaign, position, number, digits, key_rev, customer_id, state, result,
                   added_wall_ms, updated_wall_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    campaign,
                    position,
                    row.number.entered(),
                    row.number.digits(),
                    row.number.key_rev(),
                    customer,
                    state.as_str(),
                    result.map(CallResult::as_str),
                    now
                ])
            })
            .map_err(WriteError::sqlite("campaign import"))?;
            seen.add(&row.number, row.line);
            if on_dnc {
                report.dnc += 1;
            } else {
                report.added += 1;
            }
        }
        Ok(())
    })();
    let end = if dry_run || outcome.is_err() {
        "ROLLBACK TO campaign_import; RELEASE campaign_import"
    } else {
        "RELEASE campaign_import"
    };
    conn.execute_batch(end).map_err(sql)?;
    outcome?;
    report.problems.sort_by_key(|p| p.line);
    Ok(report)
}

/// Campaign names: what `[[campaign]] name` allows.
fn check_campaign_name(campaign: &str) -> Result<(), WriteError> {
    let ok = !campaign.is_empty()
        && campaign.len() <= 64
        && campaign.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(WriteError::invalid(
            "campaign",
            format!("{campaign:?} is not a campaign name (lower-case letters, digits, _ or -)"),
        ))
    }
}

impl RecordsHandle {
    /// Adds numbers to a campaign from a CSV file with a header naming a
    /// number column (`number`, `phone`, `tel`…; other columns are listed
    /// as ignored). Each bad row is reported with its line and why: a bad
    /// number, a number twice in the file, a number already in the
    /// campaign. A number on the do-not-call list is stored as done with
    /// result `dnc`. Parsing runs on the calling thread, the rows are
    /// written in one transaction on the records thread; a dry run writes
    /// nothing. Blocks until committed.
    pub fn import_campaign_numbers(
        &self,
        campaign: &str,
        data: &[u8],
        dry_run: bool,
    ) -> Result<CampaignImportReport, CampaignImportError> {
        check_campaign_name(campaign)?;
        let (rows, mut report) = parse_numbers_csv(data)?;
        report.campaign = campaign.to_string();
        report.dry_run = dry_run;
        let name = campaign.to_string();
        let report = self.request_with_timeout("import campaign numbers", IMPORT_TIMEOUT, move |conn| {
            import_rows(conn, &name, rows, report, dry_run)
        })?;
        tracing::info!(
            campaign = %report.campaign,
            rows = report.rows,
            added = report.added,
            dnc = report.dnc,
            rejected = report.problems.len(),
            dry_run = report.dry_run,
            "campaign import"
        );
        Ok(report)
    }
}
