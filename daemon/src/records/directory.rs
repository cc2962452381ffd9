//! The directory: extensions (a number, a name, the FXS channel of the phone,
//! optionally the user who sits there) and ring groups (a number that rings
//! several extensions).
//!
//! Extensions and ring groups share one number space: a number is either an
//! extension or a ring group, never both. A channel belongs to at most one
//! extension. Renaming an extension keeps its ring group memberships.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::error::{QueryError, WriteError};
use super::reader::RecordsReader;
use super::users::UserId;
use super::writer::RecordsHandle;

/// Longest extension or ring group number, in digits.
pub const NUMBER_MAX_DIGITS: usize = 16;

/// An extension as stored or to store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Extension {
    pub number: String,
    pub name: String,
    /// The FXS channel of the phone.
    pub channel: Option<u32>,
    pub user: Option<UserId>,
    /// Ring groups that ring this extension (ignored when writing).
    pub ring_groups: Vec<String>,
}

/// How a ring group rings its members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RingStrategy {
    /// All members at once; first answer wins.
    All,
    /// One after the other, in member order.
    InOrder,
    /// One after the other, starting after the last one that answered.
    RoundRobin,
}

impl RingStrategy {
    pub fn as_str(self) -> &'static str {
        match self {
            RingStrategy::All => "all",
            RingStrategy::InOrder => "in_order",
            RingStrategy::RoundRobin => "round_robin",
        }
    }

    pub fn parse(text: &str) -> Option<RingStrategy> {
        match text {
            "all" => Some(RingStrategy::All),
            "in_order" => Some(RingStrategy::InOrder),
            "round_robin" => Some(RingStrategy::RoundRobin),
            _ => None,
        }
    }
}

/// A ring group as stored or to store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RingGroup {
    pub number: String,
    pub name: String,
    pub strategy: RingStrategy,
    /// How long each member (or all, for `All`) rings, milliseconds.
    pub ring_timeout_ms: u32,
    /// Extension numbers, in ringing order.
    pub members: Vec<String>,
}

fn check_number(field: &str, number: &str) -> Result<(), WriteError> {
    if number.is_empty() {
        return Err(WriteError::invalid(field, "empty"));
    }
    if number.len() > NUMBER_MAX_DIGITS {
        return Err(WriteError::invalid(field, format!("{number:?} is longer than {NUMBER_MAX_DIGITS} digits")));
    }
    if let Some(bad) = number.chars().find(|c| !c.is_ascii_digit()) {
        return Err(WriteError::invalid(field, format!("{number:?} has {bad:?}: digits only")));
    }
    Ok(())
}

fn exists(conn: &Connection, sql: &str, key: &str) -> Result<bool, WriteError> {
    conn.prepare_cached(sql).and_then(|mut s| s.exists([key])).map_err(WriteError::sqlite("check directory"))
}

fn check_number_free(conn: &Connection, number: &str, except_extension: Option<&str>) -> Result<(), WriteError> {
    if exists(conn, "SELECT 1 FROM ring_groups WHERE number = ?1", number)? {
        return Err(WriteError::Conflict { what: "number", key: number.into(), detail: " as a ring group".into() });
    }
    if except_extension != Some(number) && exists(conn, "SELECT 1 FROM extensions WHERE number = ?1", number)? {
        return Err(WriteError::Conflict { what: "number", key: number.into(), detail: " as an extension".into() });
    }
    Ok(())
}

fn check_extension_refs(conn: &Connection, ext: &Extension, except: Option<&str>) -> Result<(), WriteError> {
    if let Some(channel) = ext.channel {
        let owner: Option<String> = conn
            .prepare_cached("SELECT number FROM extensions WHERE channel = ?1")
            .and_then(|mut s| s.query_row([channel], |r| r.get(0)).optional())
            .map_err(WriteError::sqlite("check channel"))?;
        if let Some(owner) = owner
            && Some(owner.as_str()) != except
        {
            return Err(WriteError::Conflict {
                what: "channel",
                key: channel.to_string(),
                detail: format!(": it belongs to extension {owner}"),
            });
        }
    }
    if let Some(user) = ext.user {
        let known = conn
            .prepare_cached("SELECT 1 FROM users WHERE id = ?1")
            .and_then(|mut s| s.exists([user.0]))
            .map_err(WriteError::sqlite("check user"))?;
        if !known {
            return Err(WriteError::invalid("user", format!("user {user} does not exist")));
        }
    }
    Ok(())
}

fn extension_row(row: &rusqlite::Row<'_>) -> Result<Extension, rusqlite::Error> {
    Ok(Extension {
        number: row.get(0)?,
        name: row.get(1)?,
        channel: row.get(2)?,
        user: row.get::<_, Option<i64>>(3)?.map(UserId),
        ring_groups: Vec::new(),
    })
}

fn groups_of(conn: &Connection, extension: &str) -> Result<Vec<String>, rusqlite::Error> {
    conn.prepare_cached("SELECT group_number FROM ring_group_members WHERE extension = ?1 ORDER BY group_number")?
        .query_map([extension], |r| r.get(0))?
        .collect()
}

fn members_of(conn: &Connection, group: &str) -> Result<Vec<String>, rusqlite::Error> {
    conn.prepare_cached("SELECT extension FROM ring_group_members WHERE group_number = ?1 ORDER BY position")?
        .query_map([group], |r| r.get(0))?
        .collect()
}

pub(crate) fn get_extension(conn: &Connection, number: &str) -> Result<Option<Extension>, rusqlite::Error> {
    let ext = conn
        .prepare_cached("SELECT number, name, channel, user_id FROM extensions WHERE number = ?1")?
        .query_row([number], extension_row)
        .optional()?;
    match ext {
        Some(mut ext) => {
            ext.ring_groups = groups_of(conn, &ext.number)?;
            Ok(Some(ext))
        }
        None => Ok(None),
    }
}

fn list_extensions(conn: &Connection) -> Result<Vec<Extension>, rusqlite::Error> {
    let mut list: Vec<Extension> = conn
        .prepare_cached("SELECT number, name, channel, user_id FROM extensions ORDER BY length(number), number")?
        .query_map([], extension_row)?
        .collect::<Result<_, _>>()?;
    for ext in &mut list {
        ext.ring_groups = groups_of(conn, &ext.number)?;
    }
    Ok(list)
}

fn group_row(row: &rusqlite::Row<'_>) -> Result<RingGroup, rusqlite::Error> {
    let strategy: String = row.get(2)?;
    let strategy = RingStrategy::parse(&strategy).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            2,
            rusqlite::types::Type::Text,
            format!("unknown ring strategy {strategy:?}").into(),
        )
    })?;
    Ok(RingGroup {
        number: row.get(0)?,
        name: row.get(1)?,
        strategy,
        ring_timeout_ms: row.get(3)?,
        members: Vec::new(),
    })
}

pub(crate) fn get_group(conn: &Connection, number: &str) -> Result<Option<RingGroup>, rusqlite::Error> {
    let group = conn
        .prepare_cached("SELECT number, name, strategy, ring_timeout_ms FROM ring_groups WHERE number = ?1")?
        .query_row([number], group_row)
        .optional()?;
    match group {
        Some(mut group) => {
            group.members = members_of(conn, &group.number)?;
            Ok(Some(group))
        }
        None => Ok(None),
    }
}

fn list_groups(conn: &Connection) -> Result<Vec<RingGroup>, rusqlite::Error> {
    let mut list: Vec<RingGroup> = conn
        .prepare_cached(
            "SELECT number, name, strategy, ring_timeout_ms FROM ring_groups ORDER BY length(number), number",
        )?
        .query_map([], group_row)?
        .collect::<Result<_, _>>()?;
    for group in &mut list {
        group.members = members_of(conn, &group.number)?;
    }
    Ok(list)
}

fn check_group(group: &RingGroup) -> Result<(), WriteError> {
    check_number("number", &group.number)?;
    if group.ring_timeout_ms == 0 {
        return Err(WriteError::invalid("ring_timeout_ms", "must be above 0"));
    }
    for (i, member) in group.members.iter().enumerate() {
        check_number(&format!("members[{i}]"), member)?;
        if group.members[..i].contains(member) {
            return Err(WriteError::invalid(format!("members[{i}]"), format!("extension {member} is listed twice")));
        }
    }
    Ok(())
}

fn write_members(conn: &Connection, group: &RingGroup) -> Result<(), WriteError> {
    conn.execute("DELETE FROM ring_group_members WHERE group_number = ?1", [&group.number])
        .map_err(WriteError::sqlite("replace ring group members"))?;
    for (i, member) in group.members.iter().enumerate() {
        if !exists(conn, "SELECT 1 FROM extensions WHERE number = ?1", member)? {
            return Err(WriteError::invalid(format!("members[{i}]"), format!("extension {member} does not exist")));
        }
        conn.execute(
            "INSERT INTO ring_group_members (group_number, extension, position) VALUES (?1, ?2, ?3)",
            params![group.number, member, i as i64],
        )
        .map_err(WriteError::sqlite("store ring group members"))?;
    }
    Ok(())
}

impl RecordsHandle {
    /// Creates an extension (`ring_groups` is ignored).
    pub fn create_extension(&self, ext: Extension) -> Result<(), WriteError> {
        check_number("number", &ext.number)?;
        self.request("create extension", move |conn| {
            check_number_free(conn, &ext.number, None)?;
            check_extension_refs(conn, &ext, None)?;
            conn.execute(
                "INSERT INTO extensions (number, name, channel, user_id, updated_wall_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![ext.number, ext.name.trim(), ext.channel, ext.user.map(|u| u.0), super::now_wall_ms()],
            )
            .map_err(WriteError::sqlite("create extension"))?;
            Ok(())
        })
    }

    /// Replaces extension `number` with `ext` (which may carry a new number;
    /// ring group memberships follow it).
    pub fn update_extension(&self, number: &str, ext: Extension) -> Result<(), WriteError> {
        check_number("number", &ext.number)?;
        let number = number.to_string();
        self.request("update extension", move |conn| {
            if !exists(conn, "SELECT 1 FROM extensions WHERE number = ?1", &number)? {
                return Err(WriteError::NotFound { what: "extension", key: number });
            }
            check_number_free(conn, &ext.number, Some(&number))?;
            check_extension_refs(conn, &ext, Some(&number))?;
            conn.execute(
                "UPDATE extensions SET number = ?2, name = ?3, channel = ?4, user_id = ?5, updated_wall_ms = ?6
                 WHERE number = ?1",
                params![number, ext.number, ext.name.trim(), ext.channel, ext.user.map(|u| u.0), super::now_wall_ms()],
            )
            .map_err(WriteError::sqlite("update extension"))?;
            Ok(())
        })
    }

    /// Deletes an extension (and its ring group memberships); `false` when
    /// there was none.
    pub fn delete_extension(&self, number: &str) -> Result<bool, WriteError> {
        let number = number.to_string();
        self.request("delete extension", move |conn| {
            conn.execute("DELETE FROM extensions WHERE number = ?1", [&number])
                .map(|n| n > 0)
                .map_err(WriteError::sqlite("delete extension"))
        })
    }

    /// Creates a ring group; every member must be an extension.
    pub fn create_ring_group(&self, group: RingGroup) -> Result<(), WriteError> {
        check_group(&group)?;
        self.request("create ring group", move |conn| {
            check_number_free(conn, &group.number, None)?;
            conn.execute(
                "INSERT INTO ring_groups (number, name, strategy, ring_timeout_ms, updated_wall_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    group.number,
                    group.name.trim(),
                    group.strategy.as_str(),
                    group.ring_timeout_ms,
                    super::now_wall_ms()
                ],
            )
            .map_err(WriteError::sqlite("create ring group"))?;
            write_members(conn, &group)
        })
    }

    /// Replaces ring group `number` with `group` (members included).
    pub fn update_ring_group(&self, number: &str, group: RingGroup) -> Result<(), WriteError> {
        check_group(&group)?;
        let number = number.to_string();
        self.request("update ring group", move |conn| {
            if !exists(conn, "SELECT 1 FROM ring_groups WHERE number = ?1", &number)? {
                return Err(WriteError::NotFound { what: "ring group", key: number });
            }
            if group.number != number {
                check_number_free(conn, &group.number, None)?;
            }
            conn.execute(
                "UPDATE ring_groups SET number = ?2, name = ?3, strategy = ?4, ring_timeout_ms = ?5, updated_wall_ms = ?6
                 WHERE number = ?1",
                params![
                    number,
                    group.number,
                    group.name.trim(),
                    group.strategy.as_str(),
                    group.ring_timeout_ms,
                    super::now_wall_ms()
                ],
            )
            .map_err(WriteError::sqlite("update ring group"))?;
            write_members(conn, &group)
        })
    }

    /// Deletes a ring group; `false` when there was none.
    pub fn delete_ring_group(&self, number: &str) -> Result<bool, WriteError> {
        let number = number.to_string();
        self.request("delete ring group", move |conn| {
            conn.execute("DELETE FROM ring_groups WHERE number = ?1", [&number])
                .map(|n| n > 0)
                .map_err(WriteError::sqlite("delete ring group"))
        })
    }
}

impl RecordsReader {
    /// One extension, with the ring groups it belongs to.
    pub fn extension(&self, number: &str) -> Result<Option<Extension>, QueryError> {
        self.with_conn(|conn| get_extension(conn, number).map_err(QueryError::sqlite("read extension")))
    }

    /// Every extension, by number.
    pub fn extensions(&self) -> Result<Vec<Extension>, QueryError> {
        self.with_conn(|conn| list_extensions(conn).map_err(QueryError::sqlite("list extensions")))
    }

    /// One ring group with its members.
    pub fn ring_group(&self, number: &str) -> Result<Option<RingGroup>, QueryError> {
        self.with_conn(|conn| get_group(conn, number).map_err(QueryError::sqlite("read ring group")))
    }

    /// Every ring group, by number.
    pub fn ring_groups(&self) -> Result<Vec<RingGroup>, QueryError> {
        self.with_conn(|conn| list_groups(conn).map_err(QueryError::sqlite("list ring groups")))
    }
}
