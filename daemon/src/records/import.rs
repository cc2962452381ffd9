//! Importing customers from a CSV file.
//!
//! # The file
//!
//! UTF-8, with or without a byte order mark; comma-separated, fields quoted
//! with `"` when they hold a comma, a quote or a line break (see
//! [`super::csv`]). The first record is the header; column names are matched
//! case-insensitively, with spaces and `-` taken as `_`:
//!
//! | column | also accepted | content |
//! |---|---|---|
//! | `name` (required) | `customer`, `customer_name` | not empty |
//! | `company` | `organisation`, `organization` | |
//! | `phone` | `phones`, `phone_2`, `phone2`, `mobile`, `tel`, `telephone`… (any number of such columns) | one or more numbers separated by `;` |
//! | `notes` | `note` | |
//! | `assigned_agent` | `agent`, `assigned_to` | a ctibox username (stored as that user) or any agent name |
//! | `vip` | `vip_level` | whole number 0–9, empty for 0 |
//!
//! Other columns are ignored and listed in the report.
//!
//! # What is imported
//!
//! Every row is checked on its own; a bad row is reported with its line
//! number (the line where the record starts), the column and what is wrong,
//! and the other rows still import, all in one transaction. A phone number
//! that matches (see [`super::phone`]) a number of an earlier row of the file
//! is reported on the later row; one that matches a customer already stored
//! is reported too, unless [`ImportOptions::update_existing`] is set: then the
//! row updates that customer (columns present in the file replace the stored
//! values, new numbers are added). A dry run checks everything against the
//! database, reports what would happen, and writes nothing.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use rusqlite::Connection;
use serde::Serialize;

use super::csv::{CsvRecord, CsvSyntaxError, read_records};
use super::customers::{self, AssignedAgent, Customer, CustomerId, NewCustomer, VIP_MAX, ValidCustomer};
use super::error::WriteError;
use super::phone::{self, PhoneNumber};
use super::users;
use super::writer::RecordsHandle;

/// How long an import may take on the records thread before the caller
/// stops waiting (the import still completes).
pub const IMPORT_TIMEOUT: Duration = Duration::from_secs(600);

/// What to do with the file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// Check and report, write nothing.
    pub dry_run: bool,
    /// A row whose numbers match one stored customer updates that customer.
    pub update_existing: bool,
}

/// One rejected row (or header problem).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportProblem {
    /// Line of the file where the record starts (1 is the header).
    pub line: usize,
    /// The column concerned, when one is.
    pub column: Option<String>,
    pub problem: String,
}

impl fmt::Display for ImportProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(column) => write!(f, "line {}, {}: {}", self.line, column, self.problem),
            None => write!(f, "line {}: {}", self.line, self.problem),
        }
    }
}

/// What an import did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Data rows read (header and blank lines not counted).
    pub rows: usize,
    pub inserted: usize,
    pub updated: usize,
    /// Rejected rows, in file order.
    pub problems: Vec<ImportProblem>,
    /// Header columns that were not used.
    pub ignored_columns: Vec<String>,
    pub dry_run: bool,
}

/// The file cannot be imported at all; nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportFileError {
    #[error("the file is empty (expected a header line naming the columns)")]
    Empty,
    #[error(transparent)]
    Syntax(#[from] CsvSyntaxError),
    #[error("line {line}: {problem}")]
    Header { line: usize, problem: String },
}

/// Importing failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("customer import: {0}")]
    File(#[from] ImportFileError),
    #[error("customer import: {0}")]
    Write(#[from] WriteError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Name,
    Company,
    Phone,
    Notes,
    Agent,
    Vip,
}

fn column_of(header: &str) -> Option<Column> {
    let norm: String =
        header.trim().to_lowercase().chars().map(|c| if c == ' ' || c == '-' { '_' } else { c }).collect();
    let phone_like = |base: &str| {
        norm.strip_prefix(base).is_some_and(|rest| {
            let rest = rest.strip_prefix('_').unwrap_or(rest);
            rest.is_empty() || rest == "s" || rest.chars().all(|c| c.is_ascii_digit())
        })
    };
    match norm.as_str() {
        "name" | "customer" | "customer_name" => Some(Column::Name),
        "company" | "organisation" | "organization" => Some(Column::Company),
        "notes" | "note" => Some(Column::Notes),
        "assigned_agent" | "agent" | "assigned_to" => Some(Column::Agent),
        "vip" | "vip_level" => Some(Column::Vip),
        _ if phone_like("phone") || phone_like("mobile") || phone_like("tel") || phone_like("telephone") => {
            Some(Column::Phone)
        }
        _ => None,
    }
}

/// The header's mapping of fields to columns.
#[derive(Debug, Clone)]
struct Header {
    names: Vec<String>,
    columns: Vec<Option<Column>>,
}

impl Header {
    fn has(&self, column: Column) -> bool {
        self.columns.contains(&Some(column))
    }
}

fn read_header(record: &CsvRecord) -> Result<(Header, Vec<String>), ImportFileError> {
    let line = record.line;
    let mut names = Vec::with_capacity(record.fields.len());
    let mut columns = Vec::with_capacity(record.fields.len());
    let mut ignored = Vec::new();
    for index in 0..record.fields.len() {
        let name = record.field_str(index).map_err(|e| ImportFileError::Header { line, problem: e.to_string() })?;
        let column = column_of(name);
        if let Some(column) = column
            && column != Column::Phone
            && columns.contains(&Some(column))
        {
            return Err(ImportFileError::Header {
                line,
                problem: format!("column {name:?} (field {}) appears twice", index + 1),
            });
        }
        if column.is_none() {
            ignored.push(name.to_string());
        }
        names.push(name.to_string());
        columns.push(column);
    }
    let header = Header { names, columns };
    if !header.has(Column::Name) {
        return Err(ImportFileError::Header {
            line,
            problem: format!("no \"name\" column (columns found: {})", header.names.join(", ")),
        });
    }
    Ok((header, ignored))
}

/// A row that passed the checks that need no database.
#[derive(Debug, Clone)]
struct Row {
    line: usize,
    customer: ValidCustomer,
    /// The `assigned_agent` cell, resolved against users on the records thread.
    agent: String,
}

fn problem(line: usize, column: &str, text: impl Into<String>) -> ImportProblem {
    ImportProblem { line, column: Some(column.to_string()), problem: text.into() }
}

/// Checks one data record against the header.
fn read_row(header: &Header, record: &CsvRecord) -> Result<Row, ImportProblem> {
    let line = record.line;
    if record.fields.len() != header.columns.len() {
        return Err(ImportProblem {
            line,
            column: None,
            problem: format!("{} fields, the header has {}", record.fields.len(), header.columns.len()),
        });
    }
    let mut new = NewCustomer::default();
    let mut phones: Vec<(String, String)> = Vec::new();
    let mut agent = String::new();
    for (index, column) in header.columns.iter().enumerate() {
        let Some(column) = column else { continue };
        let name = &header.names[index];
        let text = record.field_str(index).map_err(|e| problem(line, name, e.to_string()))?;
        match column {
            Column::Name => new.name = text.to_string(),
            Column::Company => new.company = text.to_string(),
            Column::Notes => new.notes = text.to_string(),
            Column::Agent => agent = text.to_string(),
            Column::Vip => {
                new.vip = if text.is_empty() {
                    0
                } else {
                    match text.parse::<u8>() {
                        Ok(vip) if vip <= VIP_MAX => vip,
                        _ => {
                            return Err(problem(
                                line,
                                name,
                                format!("{text:?} is not a VIP level (whole number 0-{VIP_MAX})"),
                            ));
                        }
                    }
                };
            }
            Column::Phone => {
                for number in text.split(';').map(str::trim).filter(|n| !n.is_empty()) {
                    phones.push((name.clone(), number.to_string()));
                }
            }
        }
    }
    if new.name.trim().is_empty() {
        let name_column = header.columns.iter().position(|c| *c == Some(Column::Name)).unwrap_or(0);
        return Err(problem(line, &header.names[name_column], "empty: every customer needs a name"));
    }
    // Numbers are checked one by one so that the error names the column.
    let mut parsed: Vec<PhoneNumber> = Vec::with_capacity(phones.len());
    for (column, number) in &phones {
        let number = PhoneNumber::parse(number).map_err(|e| problem(line, column, e.to_string()))?;
        if let Some(same) = parsed.iter().find(|p| phone::keys_match(p.key(), number.key())) {
            return Err(problem(line, column, format!("{number} is the same number as {same} on this line")));
        }
        parsed.push(number);
    }
    new.phones = parsed.iter().map(|p| p.entered().to_string()).collect();
    let customer = ValidCustomer::check(&new).map_err(|e| match e {
        WriteError::Invalid { field, problem: text } => problem(line, &field, text),
        other => ImportProblem { line, column: None, problem: other.to_string() },
    })?;
    Ok(Row { line, customer, agent })
}

/// A parsed file: rows that passed the checks that need no database, and
/// the problems of the others.
#[derive(Debug, Clone)]
pub struct ParsedImport {
    rows: Vec<Row>,
    header: Header,
    report: ImportReport,
}

impl ParsedImport {
    /// Rows that passed the file checks so far.
    pub fn valid_rows(&self) -> usize {
        self.rows.len()
    }

    /// Problems found so far.
    pub fn problems(&self) -> &[ImportProblem] {
        &self.report.problems
    }
}

/// Reads and checks a customer file; no database needed.
pub fn parse_customers_csv(data: &[u8]) -> Result<ParsedImport, ImportFileError> {
    if data.starts_with(&[0xFF, 0xFE]) || data.starts_with(&[0xFE, 0xFF]) {
        return Err(ImportFileError::Header {
            line: 1,
            problem: "the file is UTF-16 (\"Unicode text\"); save it as CSV UTF-8".into(),
        });
    }
    let records = read_records(data)?;
    let mut records = records.into_iter();
    let header_record = records.next().ok_or(ImportFileError::Empty)?;
    let (header, ignored_columns) = read_header(&header_record)?;
    let mut report = ImportReport { ignored_columns, ..ImportReport::default() };
    let mut rows = Vec::new();
    for record in records {
        report.rows += 1;
        match read_row(&header, &record) {
            Ok(row) => rows.push(row),
            Err(problem) => report.problems.push(problem),
        }
    }
    Ok(ParsedImport { rows, header, report })
}

/// Numbers already taken by earlier rows of the file, indexed by their last
/// [`phone::MIN_LOOSE_DIGITS`] digits (two matching keys always share them)
/// or, for shorter keys, by the whole key.
#[derive(Debug, Default)]
struct SeenNumbers {
    by_tail: HashMap<String, Vec<(String, usize, String)>>,
}

impl SeenNumbers {
    fn bucket(key: &str) -> String {
        key[key.len().saturating_sub(phone::MIN_LOOSE_DIGITS)..].to_string()
    }

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

fn exec(conn: &Connection, sql: &str) -> Result<(), WriteError> {
    conn.execute_batch(sql).map_err(WriteError::sqlite("customer import"))
}

/// What one row does against the database.
enum Plan {
    Insert,
    Update(Customer),
}

fn plan_row(conn: &Connection, row: &Row, options: ImportOptions) -> Result<Plan, ImportProblem> {
    let mut owner: Option<(CustomerId, String)> = None;
    for number in &row.customer.phones {
        let hits = customers::phone_hits(conn, number.key()).map_err(|e| ImportProblem {
            line: row.line,
            column: None,
            problem: format!("database: {e}"),
        })?;
        for hit in hits {
            let taken = || {
                problem(
                    row.line,
                    "phone",
                    format!("{number} already belongs to customer {} ({})", hit.customer, hit.number),
                )
            };
            if !options.update_existing {
                return Err(taken());
            }
            match &owner {
                None => owner = Some((hit.customer, hit.number.clone())),
                Some((id, first)) if *id != hit.customer => {
                    return Err(problem(
                        row.line,
                        "phone",
                        format!(
                            "numbers of this row belong to two customers: {id} ({first}) and {} ({}); nothing updated",
                            hit.customer, hit.number
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
    }
    match owner {
        None => Ok(Plan::Insert),
        Some((id, _)) => match customers::get(conn, id) {
            Ok(Some(customer)) => Ok(Plan::Update(customer)),
            Ok(None) => Ok(Plan::Insert),
            Err(e) => Err(ImportProblem { line: row.line, column: None, problem: format!("database: {e}") }),
        },
    }
}

fn resolve_agent(conn: &Connection, agent: &str) -> Result<Option<AssignedAgent>, rusqlite::Error> {
    if agent.is_empty() {
        return Ok(None);
    }
    Ok(Some(match users::by_username(conn, agent)? {
        Some(user) => AssignedAgent::User(user.id),
        None => AssignedAgent::Name(agent.to_string()),
    }))
}

/// The stored customer with the row's present columns applied and its new
/// numbers added.
fn merge(header: &Header, current: &Customer, row: &Row, assigned: Option<AssignedAgent>) -> ValidCustomer {
    let mut merged = row.customer.clone();
    if !header.has(Column::Company) {
        merged.company = current.company.clone();
    }
    if !header.has(Column::Notes) {
        merged.notes = current.notes.clone();
    }
    merged.assigned = if header.has(Column::Agent) { assigned } else { current.assigned.clone() };
    if !header.has(Column::Vip) {
        merged.vip = current.vip;
    }
    let mut phones: Vec<PhoneNumber> =
        current.phones.iter().filter_map(|p| PhoneNumber::parse(&p.number).ok()).collect();
    for number in &row.customer.phones {
        if !phones.iter().any(|p| phone::keys_match(p.key(), number.key())) {
            phones.push(number.clone());
        }
    }
    merged.phones = phones;
    merged
}

fn import_rows(conn: &Connection, parsed: ParsedImport, options: ImportOptions) -> Result<ImportReport, WriteError> {
    let ParsedImport { rows, header, mut report } = parsed;
    report.dry_run = options.dry_run;
    let now = super::now_wall_ms();
    let mut seen = SeenNumbers::default();
    exec(conn, "SAVEPOINT import")?;
    for mut row in rows {
        if let Some((line, number)) = row.customer.phones.iter().find_map(|n| seen.find(n).map(|(l, e)| (l, (n, e)))) {
            report.problems.push(problem(
                row.line,
                "phone",
                format!("{} is the same number as {} on line {line}", number.0, number.1),
            ));
            continue;
        }
        let plan = match plan_row(conn, &row, options) {
            Ok(plan) => plan,
            Err(p) => {
                report.problems.push(p);
                continue;
            }
        };
        let assigned = resolve_agent(conn, &row.agent).map_err(WriteError::sqlite("resolve assigned agent"))?;
        exec(conn, "SAVEPOINT import_row")?;
        let outcome = match &plan {
            Plan::Insert => {
                row.customer.assigned = assigned;
                customers::insert(conn, &row.customer, now).map(|_| ())
            }
            Plan::Update(current) => {
                let merged = merge(&header, current, &row, assigned);
                customers::replace(conn, current.id, &merged, now)
            }
        };
        match outcome {
            Ok(()) => {
                exec(conn, "RELEASE import_row")?;
                for number in &row.customer.phones {
                    seen.add(number, row.line);
                }
                match plan {
                    Plan::Insert => report.inserted += 1,
                    Plan::Update(_) => report.updated += 1,
                }
            }
            Err(e) => {
                exec(conn, "ROLLBACK TO import_row; RELEASE import_row")?;
                let p = match e {
                    WriteError::Invalid { field, problem: text } => problem(row.line, &field, text),
                    other => ImportProblem { line: row.line, column: None, problem: other.to_string() },
                };
                report.problems.push(p);
            }
        }
    }
    if options.dry_run {
        exec(conn, "ROLLBACK TO import; RELEASE import")?;
    } else {
        exec(conn, "RELEASE import")?;
    }
    report.problems.sort_by_key(|p| p.line);
    Ok(report)
}

impl RecordsHandle {
    /// Imports customers from a CSV file (see the module doc). Parsing runs on
    /// the calling thread; the rows are written in one transaction on the
    /// records thread. Blocks until committed (up to [`IMPORT_TIMEOUT`]).
    pub fn import_customers(&self, data: &[u8], options: ImportOptions) -> Result<ImportReport, ImportError> {
        let parsed = parse_customers_csv(data)?;
        let report = self
            .request_with_timeout("import customers", IMPORT_TIMEOUT, move |conn| import_rows(conn, parsed, options))?;
        tracing::info!(
            rows = report.rows,
            inserted = report.inserted,
            updated = report.updated,
            rejected = report.problems.len(),
            dry_run = report.dry_run,
            "customer import"
        );
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_aliases() {
        assert_eq!(column_of(" Phone 2 "), Some(Column::Phone));
        assert_eq!(column_of("phones"), Some(Column::Phone));
        assert_eq!(column_of("Mobile"), Some(Column::Phone));
        assert_eq!(column_of("VIP-Level"), Some(Column::Vip));
        assert_eq!(column_of("Customer Name"), Some(Column::Name));
        assert_eq!(column_of("phonetic"), None);
        assert_eq!(column_of("email"), None);
    }

    #[test]
    fn rows_are_checked_without_database() {
        let parsed = parse_customers_csv(
            b"name,phone,vip,email\nAlice,+86 138 0013 8000;010-6552-9988,3,a@x\n,123,,\nBob,555 1234x,,\nCarol,1,high,\nDan,1;2;3\n",
        )
        .unwrap();
        assert_eq!(parsed.valid_rows(), 1);
        let lines: Vec<String> = parsed.problems().iter().map(ToString::to_string).collect();
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert!(lines[0].starts_with("line 3, name: empty"), "{lines:?}");
        assert!(lines[1].starts_with("line 4, phone: phone number \"555 1234x\""), "{lines:?}");
        assert!(lines[2].starts_with("line 5, vip: \"high\""), "{lines:?}");
        assert!(lines[3].starts_with("line 6: 2 fields, the header has 4"), "{lines:?}");
        assert_eq!(parsed.report.ignored_columns, vec!["email".to_string()]);
    }

    #[test]
    fn file_errors() {
        assert_eq!(parse_customers_csv(b"").unwrap_err(), ImportFileError::Empty);
        assert!(matches!(
            parse_customers_csv(b"company,phone\nACME,1\n").unwrap_err(),
            ImportFileError::Header { line: 1, .. }
        ));
        assert!(matches!(parse_customers_csv(b"name,Name\n").unwrap_err(), ImportFileError::Header { line: 1, .. }));
        assert!(matches!(
            parse_customers_csv(b"\xFF\xFEn\0a\0").unwrap_err(),
            ImportFileError::Header { line: 1, problem } if problem.contains("UTF-16")
        ));
    }

    #[test]
    fn seen_numbers_match_loosely() {
        let mut seen = SeenNumbers::default();
        seen.add(&PhoneNumber::parse("+86 138 0013 8000").unwrap(), 2);
        assert_eq!(seen.find(&PhoneNumber::parse("13800138000").unwrap()), Some((2, "+86 138 0013 8000")));
        assert_eq!(seen.find(&PhoneNumber::parse("13800138001").unwrap()), None);
        seen.add(&PhoneNumber::parse("8001").unwrap(), 3);
        assert_eq!(seen.find(&PhoneNumber::parse("8001").unwrap()), Some((3, "8001")));
        assert_eq!(seen.find(&PhoneNumber::parse("18001").unwrap()), None);
    }
}
