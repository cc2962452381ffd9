//! Users of ctibox (administrators, supervisors, agents).
//!
//! The password is stored as a PHC string (`$argon2id$v=19$m=...$salt$hash`)
//! produced elsewhere; this module only checks its shape, stores it and hands
//! it back for verification. It is never serialized.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::error::{QueryError, WriteError};
use super::reader::RecordsReader;
use super::writer::RecordsHandle;

/// Longest username, in characters.
pub const USERNAME_MAX_CHARS: usize = 64;

/// Identifies a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct UserId(pub i64);

impl std::fmt::Display for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Supervisor,
    Agent,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Supervisor => "supervisor",
            Role::Agent => "agent",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "admin" => Some(Role::Admin),
            "supervisor" => Some(Role::Supervisor),
            "agent" => Some(Role::Agent),
            _ => None,
        }
    }
}

/// A user to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub username: String,
    pub role: Role,
    pub display_name: String,
    /// PHC string of the password hash.
    pub password_hash: String,
}

/// Changes to a user; `None` keeps the field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserUpdate {
    pub role: Option<Role>,
    pub display_name: Option<String>,
    pub password_hash: Option<String>,
    pub disabled: Option<bool>,
}

/// A stored user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub role: Role,
    pub display_name: String,
    #[serde(skip)]
    pub password_hash: String,
    pub disabled: bool,
    pub created_wall_ms: i64,
    pub updated_wall_ms: i64,
}

fn check_username(username: &str) -> Result<(), WriteError> {
    if username.is_empty() {
        return Err(WriteError::invalid("username", "empty"));
    }
    if username.chars().count() > USERNAME_MAX_CHARS {
        return Err(WriteError::invalid("username", format!("longer than {USERNAME_MAX_CHARS} characters")));
    }
    if let Some(bad) = username.chars().find(|c| !(c.is_alphanumeric() || "._@-".contains(*c))) {
        return Err(WriteError::invalid(
            "username",
            format!("{bad:?} is not allowed (letters, digits and . _ @ - only)"),
        ));
    }
    Ok(())
}

/// A PHC string: `$id$...$...`, printable ASCII, no spaces.
fn check_password_hash(hash: &str) -> Result<(), WriteError> {
    let well_formed = hash.starts_with('$')
        && hash.split('$').filter(|part| !part.is_empty()).count() >= 3
        && hash.bytes().all(|b| b.is_ascii_graphic())
        && hash.len() <= 512;
    if !well_formed {
        return Err(WriteError::invalid(
            "password_hash",
            "not a PHC string (expected $argon2id$v=19$m=...,t=...,p=...$salt$hash)",
        ));
    }
    Ok(())
}

fn user_row(row: &rusqlite::Row<'_>) -> Result<User, rusqlite::Error> {
    let role: String = row.get(2)?;
    let role = Role::parse(&role).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            2,
            rusqlite::types::Type::Text,
            format!("unknown role {role:?}").into(),
        )
    })?;
    Ok(User {
        id: UserId(row.get(0)?),
        username: row.get(1)?,
        role,
        display_name: row.get(3)?,
        password_hash: row.get(4)?,
        disabled: row.get(5)?,
        created_wall_ms: row.get(6)?,
        updated_wall_ms: row.get(7)?,
    })
}

const USER_COLUMNS: &str =
    "id, username, role, display_name, password_hash, disabled, created_wall_ms, updated_wall_ms";

pub(crate) fn get(conn: &Connection, id: UserId) -> Result<Option<User>, rusqlite::Error> {
    conn.prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"))?
        .query_row([id.0], user_row)
        .optional()
}

pub(crate) fn by_username(conn: &Connection, username: &str) -> Result<Option<User>, rusqlite::Error> {
    conn.prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users WHERE username = ?1"))?
        .query_row([username], user_row)
        .optional()
}

fn list(conn: &Connection) -> Result<Vec<User>, rusqlite::Error> {
    conn.prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY username"))?
        .query_map([], user_row)?
        .collect()
}

fn conflict_or<'a>(op: &'static str, username: &'a str) -> impl FnOnce(rusqlite::Error) -> WriteError + 'a {
    move |source| {
        if source.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) {
            WriteError::Conflict { what: "user", key: username.to_string(), detail: String::new() }
        } else {
            WriteError::Sqlite { op, source }
        }
    }
}

impl RecordsHandle {
    /// Creates a user; a taken username is a [`WriteError::Conflict`].
    pub fn create_user(&self, user: NewUser) -> Result<UserId, WriteError> {
        let username = user.username.trim().to_string();
        check_username(&username)?;
        check_password_hash(&user.password_hash)?;
        self.request("create user", move |conn| {
            let now = super::now_wall_ms();
            conn.prepare_cached(
                "INSERT INTO users (username, role, display_name, password_hash, disabled, created_wall_ms, updated_wall_ms)
                 VALUES (?1, ?2, ?3, ?4, 0, ?5, ?5)",
            )
            .and_then(|mut s| {
                s.execute(params![username, user.role.as_str(), user.display_name.trim(), user.password_hash, now])
            })
            .map_err(conflict_or("create user", &username))?;
            Ok(UserId(conn.last_insert_rowid()))
        })
    }

    /// Changes a user; returns it as stored.
    pub fn update_user(&self, id: UserId, update: UserUpdate) -> Result<User, WriteError> {
        if let Some(hash) = &update.password_hash {
            check_password_hash(hash)?;
        }
        self.request("update user", move |conn| {
            let n = conn
                .prepare_cached(
                    "UPDATE users SET role = coalesce(?2, role), display_name = coalesce(?3, display_name),
                       password_hash = coalesce(?4, password_hash), disabled = coalesce(?5, disabled),
                       updated_wall_ms = ?6 WHERE id = ?1",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        id.0,
                        update.role.map(Role::as_str),
                        update.display_name.as_deref().map(str::trim),
                        update.password_hash,
                        update.disabled,
                        super::now_wall_ms()
                    ])
                })
                .map_err(WriteError::sqlite("update user"))?;
            if n == 0 {
                return Err(WriteError::NotFound { what: "user", key: id.to_string() });
            }
            get(conn, id)
                .map_err(WriteError::sqlite("read user"))?
                .ok_or_else(|| WriteError::NotFound { what: "user", key: id.to_string() })
        })
    }

    /// Deletes a user (customers assigned to it keep no assignment);
    /// `false` when there was none.
    pub fn delete_user(&self, id: UserId) -> Result<bool, WriteError> {
        self.request("delete user", move |conn| {
            conn.execute("DELETE FROM users WHERE id = ?1", [id.0])
                .map(|n| n > 0)
                .map_err(WriteError::sqlite("delete user"))
        })
    }
}

impl RecordsReader {
    /// One user.
    pub fn user(&self, id: UserId) -> Result<Option<User>, QueryError> {
        self.with_conn(|conn| get(conn, id).map_err(QueryError::sqlite("read user")))
    }

    /// A user by name (for login: compare the PHC string elsewhere).
    pub fn user_by_username(&self, username: &str) -> Result<Option<User>, QueryError> {
        self.with_conn(|conn| by_username(conn, username).map_err(QueryError::sqlite("read user")))
    }

    /// Every user, by username.
    pub fn users(&self) -> Result<Vec<User>, QueryError> {
        self.with_conn(|conn| list(conn).map_err(QueryError::sqlite("list users")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert!(check_username("alice.w@acme").is_ok());
        assert!(check_username("").is_err());
        assert!(check_username("al ice").is_err());
        assert!(check_password_hash("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA").is_ok());
        assert!(check_password_hash("hunter2").is_err());
        assert!(check_password_hash("$argon2id$ $x").is_err());
    }
}
