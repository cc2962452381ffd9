//! Customers and their phone numbers: validation, storage, search and the
//! screen-pop lookup by phone number.
//!
//! A customer has any number of phone numbers; each number (by its match key,
//! see [`super::phone`]) belongs to at most one customer, and a new number
//! that *matches* another customer's under the loose rule is refused too, so
//! that a screen pop never has to choose. Lookup by phone uses the
//! `customer_phones.key_rev` index only (equality and one prefix range).

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::error::{QueryError, WriteError};
use super::phone::{self, MatchPlan, PhoneNumber};
use super::reader::RecordsReader;
use super::users::UserId;
use super::writer::RecordsHandle;

/// Highest VIP level (0 is an ordinary customer).
pub const VIP_MAX: u8 = 9;
/// Longest name or company, in characters.
pub const NAME_MAX_CHARS: usize = 200;
/// Longest notes, in characters.
pub const NOTES_MAX_CHARS: usize = 10_000;
/// Most phone numbers per customer.
pub const PHONES_MAX: usize = 20;

/// Identifies a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct CustomerId(pub i64);

impl std::fmt::Display for CustomerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Who looks after a customer: a ctibox user, or a name (an agent known only
/// by name, e.g. from an imported spreadsheet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AssignedAgent {
    User(UserId),
    Name(String),
}

/// A customer to create.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewCustomer {
    pub name: String,
    pub company: String,
    pub notes: String,
    pub assigned: Option<AssignedAgent>,
    pub vip: u8,
    /// Phone numbers as entered (validated by [`PhoneNumber::parse`]).
    pub phones: Vec<String>,
}

/// Changes to a customer; `None` keeps the field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerUpdate {
    pub name: Option<String>,
    pub company: Option<String>,
    pub notes: Option<String>,
    /// `Some(None)` clears the assignment.
    pub assigned: Option<Option<AssignedAgent>>,
    pub vip: Option<u8>,
    /// Replaces every number.
    pub phones: Option<Vec<String>>,
}

/// One phone number of a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomerPhone {
    /// As entered.
    pub number: String,
    /// Digits only, leading `+` kept.
    pub digits: String,
}

/// A stored customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Customer {
    pub id: CustomerId,
    pub name: String,
    pub company: String,
    pub notes: String,
    pub assigned: Option<AssignedAgent>,
    pub vip: u8,
    pub phones: Vec<CustomerPhone>,
    pub created_wall_ms: i64,
    pub updated_wall_ms: i64,
}

/// A customer that passed validation.
#[derive(Debug, Clone)]
pub(crate) struct ValidCustomer {
    pub name: String,
    pub company: String,
    pub notes: String,
    pub assigned: Option<AssignedAgent>,
    pub vip: u8,
    pub phones: Vec<PhoneNumber>,
}

fn check_len(field: &str, value: &str, max: usize) -> Result<(), WriteError> {
    let chars = value.chars().count();
    if chars > max {
        return Err(WriteError::invalid(field, format!("{chars} characters, at most {max} allowed")));
    }
    Ok(())
}

/// Parses a list of numbers; two numbers of the same customer may not match.
pub(crate) fn parse_phones(field: &str, raw: &[String]) -> Result<Vec<PhoneNumber>, WriteError> {
    if raw.len() > PHONES_MAX {
        return Err(WriteError::invalid(field, format!("{} numbers, at most {PHONES_MAX} allowed", raw.len())));
    }
    let mut phones: Vec<PhoneNumber> = Vec::with_capacity(raw.len());
    for number in raw {
        let parsed = PhoneNumber::parse(number).map_err(|e| WriteError::invalid(field, e.to_string()))?;
        if let Some(same) = phones.iter().find(|p| phone::keys_match(p.key(), parsed.key())) {
            return Err(WriteError::invalid(field, format!("{parsed} is the same number as {same}")));
        }
        phones.push(parsed);
    }
    Ok(phones)
}

impl ValidCustomer {
    pub(crate) fn check(new: &NewCustomer) -> Result<ValidCustomer, WriteError> {
        let name = new.name.trim();
        if name.is_empty() {
            return Err(WriteError::invalid("name", "empty"));
        }
        check_len("name", name, NAME_MAX_CHARS)?;
        check_len("company", new.company.trim(), NAME_MAX_CHARS)?;
        check_len("notes", &new.notes, NOTES_MAX_CHARS)?;
        if new.vip > VIP_MAX {
            return Err(WriteError::invalid("vip", format!("{} is above the highest level {VIP_MAX}", new.vip)));
        }
        let assigned = match &new.assigned {
            Some(AssignedAgent::Name(agent)) if agent.trim().is_empty() => None,
            Some(AssignedAgent::Name(agent)) => {
                check_len("assigned_agent", agent.trim(), NAME_MAX_CHARS)?;
                Some(AssignedAgent::Name(agent.trim().to_string()))
            }
            other => other.clone(),
        };
        Ok(ValidCustomer {
            name: name.to_string(),
            company: new.company.trim().to_string(),
            notes: new.notes.clone(),
            assigned,
            vip: new.vip,
            phones: parse_phones("phones", &new.phones)?,
        })
    }
}

/// A stored number that matches a looked-up one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PhoneHit {
    pub customer: CustomerId,
    pub number: String,
    pub exact: bool,
}

/// Every stored number matching `key`, exact matches first.
pub(crate) fn phone_hits(conn: &Connection, key: &str) -> Result<Vec<PhoneHit>, rusqlite::Error> {
    let Some(plan) = MatchPlan::for_key(key) else {
        return Ok(Vec::new());
    };
    let mut shorter: [Option<&str>; phone::MAX_EXTRA_DIGITS] = [None; phone::MAX_EXTRA_DIGITS];
    for (slot, rev) in shorter.iter_mut().zip(&plan.shorter_revs) {
        *slot = Some(rev);
    }
    let mut stmt = conn.prepare_cached(
        "SELECT customer_id, number, key_rev FROM customer_phones WHERE key_rev = ?1
         UNION ALL
         SELECT customer_id, number, key_rev FROM customer_phones
           WHERE ?3 AND key_rev > ?1 AND key_rev < ?2 AND length(key_rev) <= ?4
         UNION ALL
         SELECT customer_id, number, key_rev FROM customer_phones WHERE key_rev IN (?5, ?6, ?7, ?8)",
    )?;
    let upper = phone::rev_upper(&plan.key_rev);
    let max_len = (plan.key_rev.len() + phone::MAX_EXTRA_DIGITS) as i64;
    let rows = stmt.query_map(
        params![plan.key_rev, upper, plan.longer_allowed, max_len, shorter[0], shorter[1], shorter[2], shorter[3]],
        |row| {
            let key_rev: String = row.get(2)?;
            Ok(PhoneHit { customer: CustomerId(row.get(0)?), number: row.get(1)?, exact: key_rev == plan.key_rev })
        },
    )?;
    let mut hits = rows.collect::<Result<Vec<_>, _>>()?;
    hits.sort_by_key(|hit| !hit.exact);
    Ok(hits)
}

fn phone_conflict(conn: &Connection, phones: &[PhoneNumber], except: Option<CustomerId>) -> Result<(), WriteError> {
    for number in phones {
        let hits = phone_hits(conn, number.key()).map_err(WriteError::sqlite("check phone numbers"))?;
        if let Some(hit) = hits.iter().find(|hit| Some(hit.customer) != except) {
            return Err(WriteError::Conflict {
                what: "phone number",
                key: number.to_string(),
                detail: format!(": customer {} has {}", hit.customer, hit.number),
            });
        }
    }
    Ok(())
}

fn check_user(conn: &Connection, assigned: &Option<AssignedAgent>) -> Result<(), WriteError> {
    if let Some(AssignedAgent::User(user)) = assigned {
        let exists = conn
            .prepare_cached("SELECT 1 FROM users WHERE id = ?1")
            .and_then(|mut s| s.exists([user.0]))
            .map_err(WriteError::sqlite("check assigned user"))?;
        if !exists {
            return Err(WriteError::invalid("assigned_agent", format!("user {} does not exist", user.0)));
        }
    }
    Ok(())
}

fn assigned_columns(assigned: &Option<AssignedAgent>) -> (Option<i64>, &str) {
    match assigned {
        Some(AssignedAgent::User(user)) => (Some(user.0), ""),
        Some(AssignedAgent::Name(name)) => (None, name),
        None => (None, ""),
    }
}

fn write_phones(conn: &Connection, id: CustomerId, phones: &[PhoneNumber]) -> Result<(), WriteError> {
    conn.prepare_cached("DELETE FROM customer_phones WHERE customer_id = ?1")
        .and_then(|mut s| s.execute([id.0]))
        .map_err(WriteError::sqlite("replace phone numbers"))?;
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO customer_phones (customer_id, position, number, digits, key_rev) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(WriteError::sqlite("store phone numbers"))?;
    for (position, number) in phones.iter().enumerate() {
        stmt.execute(params![id.0, position as i64, number.entered(), number.digits(), number.key_rev()])
            .map_err(WriteError::sqlite("store phone numbers"))?;
    }
    Ok(())
}

/// Inserts a validated customer after checking its numbers are free.
pub(crate) fn insert(conn: &Connection, customer: &ValidCustomer, now_ms: i64) -> Result<CustomerId, WriteError> {
    check_user(conn, &customer.assigned)?;
    phone_conflict(conn, &customer.phones, None)?;
    let (user, agent) = assigned_columns(&customer.assigned);
    conn.prepare_cached(
        "INSERT INTO customers (name, company, notes, assigned_user_id, assigned_agent, vip, created_wall_ms, updated_wall_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
    )
    .and_then(|mut s| {
        s.execute(params![customer.name, customer.company, customer.notes, user, agent, customer.vip, now_ms])
    })
    .map_err(WriteError::sqlite("insert customer"))?;
    let id = CustomerId(conn.last_insert_rowid());
    write_phones(conn, id, &customer.phones)?;
    Ok(id)
}

/// Replaces a customer's fields with a validated customer.
pub(crate) fn replace(
    conn: &Connection,
    id: CustomerId,
    customer: &ValidCustomer,
    now_ms: i64,
) -> Result<(), WriteError> {
    check_user(conn, &customer.assigned)?;
    phone_conflict(conn, &customer.phones, Some(id))?;
    let (user, agent) = assigned_columns(&customer.assigned);
    let n = conn
        .prepare_cached(
            "UPDATE customers SET name = ?2, company = ?3, notes = ?4, assigned_user_id = ?5, assigned_agent = ?6,
               vip = ?7, updated_wall_ms = ?8 WHERE id = ?1",
        )
        .and_then(|mut s| {
            s.execute(params![id.0, customer.name, customer.company, customer.notes, user, agent, customer.vip, now_ms])
        })
        .map_err(WriteError::sqlite("update customer"))?;
    if n == 0 {
        return Err(WriteError::NotFound { what: "customer", key: id.to_string() });
    }
    write_phones(conn, id, &customer.phones)
}

/// The customer as a [`NewCustomer`] with `update` applied.
pub(crate) fn merged(current: &Customer, update: &CustomerUpdate) -> NewCustomer {
    NewCustomer {
        name: update.name.clone().unwrap_or_else(|| current.name.clone()),
        company: update.company.clone().unwrap_or_else(|| current.company.clone()),
        notes: update.notes.clone().unwrap_or_else(|| current.notes.clone()),
        assigned: update.assigned.clone().unwrap_or_else(|| current.assigned.clone()),
        vip: update.vip.unwrap_or(current.vip),
        phones: update.phones.clone().unwrap_or_else(|| current.phones.iter().map(|p| p.number.clone()).collect()),
    }
}

/// Reads one customer with its numbers.
pub(crate) fn get(conn: &Connection, id: CustomerId) -> Result<Option<Customer>, rusqlite::Error> {
    let customer = conn
        .prepare_cached(
            "SELECT id, name, company, notes, assigned_user_id, assigned_agent, vip, created_wall_ms, updated_wall_ms
             FROM customers WHERE id = ?1",
        )?
        .query_row([id.0], customer_row)
        .optional()?;
    let Some(mut customer) = customer else {
        return Ok(None);
    };
    customer.phones = phones_of(conn, id)?;
    Ok(Some(customer))
}

fn customer_row(row: &rusqlite::Row<'_>) -> Result<Customer, rusqlite::Error> {
    let user: Option<i64> = row.get(4)?;
    let agent: String = row.get(5)?;
    let assigned = match user {
        Some(user) => Some(AssignedAgent::User(UserId(user))),
        None if agent.is_empty() => None,
        None => Some(AssignedAgent::Name(agent)),
    };
    Ok(Customer {
        id: CustomerId(row.get(0)?),
        name: row.get(1)?,
        company: row.get(2)?,
        notes: row.get(3)?,
        assigned,
        vip: row.get(6)?,
        phones: Vec::new(),
        created_wall_ms: row.get(7)?,
        updated_wall_ms: row.get(8)?,
    })
}

fn phones_of(conn: &Connection, id: CustomerId) -> Result<Vec<CustomerPhone>, rusqlite::Error> {
    conn.prepare_cached("SELECT number, digits FROM customer_phones WHERE customer_id = ?1 ORDER BY position")?
        .query_map([id.0], |row| Ok(CustomerPhone { number: row.get(0)?, digits: row.get(1)? }))?
        .collect()
}

/// What to search customers by.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerQuery {
    /// Words matched, case-insensitively, against name and company; when it
    /// holds at least 3 digits it also finds customers with a number ending
    /// in those digits. Empty: every customer.
    pub text: String,
    /// At most this many (1..=1000).
    pub limit: u32,
    /// Skip this many (ordered by name, then id).
    pub offset: u32,
}

fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Searches customers (see [`CustomerQuery`]).
pub(crate) fn search(conn: &Connection, query: &CustomerQuery) -> Result<Vec<Customer>, QueryError> {
    if query.limit == 0 || query.limit > 1000 {
        return Err(QueryError::Invalid { field: "limit", problem: format!("{} is not within 1..=1000", query.limit) });
    }
    let text = query.text.trim();
    let key = phone::match_key_lenient(text);
    let digits_only = text.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
    let (by_phone, rev) =
        if key.len() >= 3 && digits_only { (true, phone::reverse(&key)) } else { (false, String::new()) };
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, name, company, notes, assigned_user_id, assigned_agent, vip, created_wall_ms, updated_wall_ms
             FROM customers
             WHERE ?1 = '' OR name LIKE ?2 ESCAPE '\\' OR company LIKE ?2 ESCAPE '\\'
                OR (?3 AND id IN (SELECT customer_id FROM customer_phones WHERE key_rev >= ?4 AND key_rev < ?5))
             ORDER BY name COLLATE NOCASE, id LIMIT ?6 OFFSET ?7",
        )
        .map_err(QueryError::sqlite("search customers"))?;
    let rows = stmt
        .query_map(
            params![text, like_pattern(text), by_phone, rev, phone::rev_upper(&rev), query.limit, query.offset],
            customer_row,
        )
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(QueryError::sqlite("search customers"))?;
    with_phones(conn, rows)
}

fn with_phones(conn: &Connection, mut customers: Vec<Customer>) -> Result<Vec<Customer>, QueryError> {
    for customer in &mut customers {
        customer.phones = phones_of(conn, customer.id).map_err(QueryError::sqlite("read phone numbers"))?;
    }
    Ok(customers)
}

/// Customers whose number matches `number` (see [`super::phone`]); exact
/// matches first, then by VIP level.
pub(crate) fn lookup(conn: &Connection, number: &str) -> Result<Vec<Customer>, QueryError> {
    let key = phone::match_key_lenient(number);
    let hits = phone_hits(conn, &key).map_err(QueryError::sqlite("look up phone number"))?;
    let mut customers: Vec<Customer> = Vec::with_capacity(hits.len());
    for hit in hits {
        if customers.iter().any(|c| c.id == hit.customer) {
            continue;
        }
        if let Some(customer) = get(conn, hit.customer).map_err(QueryError::sqlite("read customer"))? {
            customers.push(customer);
        }
    }
    Ok(customers)
}

/// Customer writes go through the records thread.
impl RecordsHandle {
    /// Creates a customer. Refuses an empty name, a bad number, or a number
    /// that matches another customer's ([`WriteError::Conflict`]).
    pub fn create_customer(&self, customer: NewCustomer) -> Result<CustomerId, WriteError> {
        let valid = ValidCustomer::check(&customer)?;
        self.request("create customer", move |conn| insert(conn, &valid, super::now_wall_ms()))
    }

    /// Changes a customer; returns it as stored.
    pub fn update_customer(&self, id: CustomerId, update: CustomerUpdate) -> Result<Customer, WriteError> {
        self.request("update customer", move |conn| {
            let current = get(conn, id)
                .map_err(WriteError::sqlite("read customer"))?
                .ok_or_else(|| WriteError::NotFound { what: "customer", key: id.to_string() })?;
            let valid = ValidCustomer::check(&merged(&current, &update))?;
            replace(conn, id, &valid, super::now_wall_ms())?;
            get(conn, id)
                .map_err(WriteError::sqlite("read customer"))?
                .ok_or_else(|| WriteError::NotFound { what: "customer", key: id.to_string() })
        })
    }

    /// Deletes a customer and its numbers; `false` when there was none.
    pub fn delete_customer(&self, id: CustomerId) -> Result<bool, WriteError> {
        self.request("delete customer", move |conn| {
            conn.execute("DELETE FROM customers WHERE id = ?1", [id.0])
                .map(|n| n > 0)
                .map_err(WriteError::sqlite("delete customer"))
        })
    }
}

impl RecordsReader {
    /// One customer.
    pub fn customer(&self, id: CustomerId) -> Result<Option<Customer>, QueryError> {
        self.with_conn(|conn| get(conn, id).map_err(QueryError::sqlite("read customer")))
    }

    /// Searches by name, company or number digits.
    pub fn search_customers(&self, query: &CustomerQuery) -> Result<Vec<Customer>, QueryError> {
        self.with_conn(|conn| search(conn, query))
    }

    /// Screen pop: customers whose number matches a caller's number.
    pub fn customers_by_phone(&self, number: &str) -> Result<Vec<Customer>, QueryError> {
        self.with_conn(|conn| lookup(conn, number))
    }
}
