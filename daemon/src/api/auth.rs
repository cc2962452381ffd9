//! Authentication and roles: argon2id password hashes, login, bearer tokens
//! kept in memory with an expiry, and the extractors that check a request's
//! token ([`Caller`]) and role ([`Staff`], [`Admin`]).
//!
//! Tokens are 256 random bits from the operating system, written as 64 hex
//! digits. They live only in this process: a daemon restart logs everyone
//! out. Changing or deleting a user ends that user's sessions.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};

use super::ApiState;
use super::body::JsonBody;
use super::error::ApiError;
use crate::config::{Password, UserConfig};
use crate::records::{NewUser, RecordsHandle, RecordsReader, Role, UserId, UserUpdate, WriteError};

/// Hashing a password failed (the system's random source, or argon2).
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("cannot read random bytes for a salt: {0}")]
    Random(String),
    #[error("argon2: {0}")]
    Argon2(String),
}

/// An argon2id PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) of
/// `plain`, with a fresh random salt.
pub fn hash_password(plain: &str) -> Result<String, HashError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| HashError::Random(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| HashError::Argon2(e.to_string()))?;
    Argon2::default()
        .hash_password(plain.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError::Argon2(e.to_string()))
}

/// Whether `plain` matches the PHC string `phc` (any argon2 variant). A
/// malformed stored hash never matches.
pub fn verify_password(plain: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(hash) => Argon2::default().verify_password(plain.as_bytes(), &hash).is_ok(),
        Err(_) => false,
    }
}

/// A logged-in user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub token: String,
    pub user: UserId,
    pub username: String,
    pub role: Role,
    /// Wall clock, ms since the Unix epoch.
    pub expires_at_ms: i64,
    expires: Instant,
}

#[derive(Debug)]
struct AuthInner {
    ttl_ms: Mutex<u64>,
    sessions: Mutex<HashMap<String, Session>>,
    /// Username → extension, from the config's `[[user]] extension`.
    config_extensions: RwLock<HashMap<String, String>>,
    /// Verified against when the username is unknown, so that a login
    /// takes as long whether or not the user exists.
    dummy_hash: String,
}

/// The session store. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Auth {
    inner: Arc<AuthInner>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn new_token() -> Result<String, ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| {
        tracing::error!(error = %e, "api: no random bytes for a token");
        ApiError::internal("cannot make a token: the system's random source failed")
    })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

impl Auth {
    /// A store whose tokens live `token_ttl_ms` (the config's `[api] token_ttl`),
    /// with the extensions of the config's users.
    pub fn new(token_ttl_ms: u64, users: &[UserConfig]) -> Auth {
        let dummy_hash = hash_password("not a password of anyone").unwrap_or_default();
        let auth = Auth {
            inner: Arc::new(AuthInner {
                ttl_ms: Mutex::new(token_ttl_ms.max(1)),
                sessions: Mutex::new(HashMap::new()),
                config_extensions: RwLock::new(HashMap::new()),
                dummy_hash,
            }),
        };
        auth.set_config_users(users);
        auth
    }

    /// After a config reload: the new token lifetime (for new logins).
    pub fn set_token_ttl_ms(&self, ttl_ms: u64) {
        *lock(&self.inner.ttl_ms) = ttl_ms.max(1);
    }

    /// After a config reload: the users' extensions.
    pub fn set_config_users(&self, users: &[UserConfig]) {
        let map = users.iter().filter_map(|u| u.extension.clone().map(|x| (u.name.clone(), x))).collect();
        *self.inner.config_extensions.write().unwrap_or_else(|p| p.into_inner()) = map;
    }

    /// The extension the config gives `username`.
    pub fn config_extension(&self, username: &str) -> Option<String> {
        self.inner.config_extensions.read().unwrap_or_else(|p| p.into_inner()).get(username).cloned()
    }

    /// Opens a session for a user whose password was checked.
    fn open(&self, user: UserId, username: &str, role: Role) -> Result<Session, ApiError> {
        let ttl_ms = *lock(&self.inner.ttl_ms);
        let now = Instant::now();
        let session = Session {
            token: new_token()?,
            user,
            username: username.to_string(),
            role,
            expires_at_ms: crate::records::now_wall_ms().saturating_add(ttl_ms as i64),
            expires: now + Duration::from_millis(ttl_ms),
        };
        let mut sessions = lock(&self.inner.sessions);
        sessions.retain(|_, s| s.expires > now);
        sessions.insert(session.token.clone(), session.clone());
        Ok(session)
    }

    /// The live session of a token.
    pub fn session(&self, token: &str) -> Option<Session> {
        let mut sessions = lock(&self.inner.sessions);
        match sessions.get(token) {
            Some(s) if s.expires > Instant::now() => Some(s.clone()),
            Some(_) => {
                sessions.remove(token);
                None
            }
            None => None,
        }
    }

    /// Ends one session; `false` when there was none.
    pub fn logout(&self, token: &str) -> bool {
        lock(&self.inner.sessions).remove(token).is_some()
    }

    /// Ends every session of a user (after it was changed or deleted).
    pub fn end_sessions_of(&self, user: UserId) {
        lock(&self.inner.sessions).retain(|_, s| s.user != user);
    }

    /// Number of live sessions.
    pub fn session_count(&self) -> usize {
        let now = Instant::now();
        lock(&self.inner.sessions).values().filter(|s| s.expires > now).count()
    }
}

/// What seeding the users of the config did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub created: usize,
    pub updated: usize,
}

/// Seeding the config's users failed.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("user {user}: {source}")]
    Hash { user: String, source: HashError },
    #[error("user {user}: {source}")]
    Write { user: String, source: WriteError },
    #[error("user {user}: {source}")]
    Query { user: String, source: crate::records::QueryError },
}

fn role_of(role: crate::config::Role) -> Role {
    match role {
        crate::config::Role::Admin => Role::Admin,
        crate::config::Role::Supervisor => Role::Supervisor,
        crate::config::Role::Agent => Role::Agent,
    }
}

/// Makes the users table agree with the config's `[[user]]` entries: users
/// missing from the database are created, existing ones get the config's
/// role and password (a plain config password is hashed; when the stored
/// hash already matches it, the hash is kept). Users that are only in the
/// database are left alone. Blocking: call at startup or from
/// `spawn_blocking`.
pub fn seed_users(
    records: &RecordsHandle,
    reader: &RecordsReader,
    users: &[UserConfig],
) -> Result<SeedReport, SeedError> {
    let mut report = SeedReport::default();
    for u in users {
        let existing =
            reader.user_by_username(&u.name).map_err(|source| SeedError::Query { user: u.name.clone(), source })?;
        let role = role_of(u.role);
        let new_hash = |current: Option<&str>| -> Result<Option<String>, SeedError> {
            match &u.password {
                Password::Hash(h) if Some(h.as_str()) == current => Ok(None),
                Password::Hash(h) => Ok(Some(h.clone())),
                Password::Plain(p) if current.is_some_and(|c| verify_password(p, c)) => Ok(None),
                Password::Plain(p) => {
                    hash_password(p).map(Some).map_err(|source| SeedError::Hash { user: u.name.clone(), source })
                }
            }
        };
        match existing {
            None => {
                let password_hash = new_hash(None)?.unwrap_or_default();
                records
                    .create_user(NewUser {
                        username: u.name.clone(),
                        role,
                        display_name: u.name.clone(),
                        password_hash,
                    })
                    .map_err(|source| SeedError::Write { user: u.name.clone(), source })?;
                report.created += 1;
            }
            Some(user) => {
                let hash = new_hash(Some(&user.password_hash))?;
                if hash.is_some() || user.role != role {
                    let update = UserUpdate {
                        role: (user.role != role).then_some(role),
                        password_hash: hash,
                        ..UserUpdate::default()
                    };
                    records
                        .update_user(user.id, update)
                        .map_err(|source| SeedError::Write { user: u.name.clone(), source })?;
                    report.updated += 1;
                }
            }
        }
    }
    Ok(report)
}

/// The token of a request: `Authorization: Bearer TOKEN`.
pub fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Any logged-in user (401 otherwise).
#[derive(Debug, Clone)]
pub struct Caller(pub Session);

/// An admin or supervisor (403 for an agent).
#[derive(Debug, Clone)]
pub struct Staff(pub Session);

/// An admin (403 otherwise).
#[derive(Debug, Clone)]
pub struct Admin(pub Session);

fn authenticate(parts: &Parts, state: &ApiState) -> Result<Session, ApiError> {
    let token = bearer(parts).ok_or_else(|| ApiError::unauthorized("log in first: no bearer token"))?;
    state.auth.session(token).ok_or_else(|| ApiError::unauthorized("the token is unknown or has expired: log in again"))
}

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        authenticate(parts, state).map(Caller)
    }
}

impl FromRequestParts<ApiState> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let s = authenticate(parts, state)?;
        match s.role {
            Role::Admin | Role::Supervisor => Ok(Staff(s)),
            Role::Agent => Err(ApiError::forbidden("only an admin or a supervisor may do this")),
        }
    }
}

impl FromRequestParts<ApiState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let s = authenticate(parts, state)?;
        match s.role {
            Role::Admin => Ok(Admin(s)),
            _ => Err(ApiError::forbidden("only an admin may do this")),
        }
    }
}

/// The extensions a user sits at: the config's `[[user]] extension` and the
/// directory's extensions assigned to the user.
pub async fn extensions_of(state: &ApiState, session: &Session) -> Result<BTreeSet<String>, ApiError> {
    let mut set: BTreeSet<String> = state.auth.config_extension(&session.username).into_iter().collect();
    let reader = state.reader.clone();
    let user = session.user;
    let directory = tokio::task::spawn_blocking(move || reader.extensions()).await.map_err(ApiError::task)??;
    set.extend(directory.into_iter().filter(|e| e.user == Some(user)).map(|e| e.number));
    Ok(set)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginRequest {
    username: String,
    password: String,
}

/// The answer to a login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginResponse {
    pub token: String,
    pub role: String,
    pub username: String,
    pub expires_at_ms: i64,
    /// The ACD agent this user is (`[[agent]] user`), in the config in
    /// force at login; `None` when the user is no agent.
    #[serde(default)]
    pub agent: Option<String>,
}

pub(crate) async fn login(
    State(state): State<ApiState>,
    JsonBody(req): JsonBody<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let reader = state.reader.clone();
    let dummy = state.auth.inner.dummy_hash.clone();
    let username = req.username.trim().to_string();
    let name = username.clone();
    let user = tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
        let user = reader.user_by_username(&name)?;
        let ok = match &user {
            Some(u) => verify_password(&req.password, &u.password_hash) && !u.disabled,
            None => {
                verify_password(&req.password, &dummy);
                false
            }
        };
        Ok(user.filter(|_| ok))
    })
    .await
    .map_err(ApiError::task)??;
    let Some(user) = user else {
        tracing::info!(username = %username, "api: login refused");
        return Err(ApiError::unauthorized("wrong username or password"));
    };
    let session = state.auth.open(user.id, &user.username, user.role)?;
    tracing::info!(username = %user.username, role = user.role.as_str(), "api: login");
    let agent = (state.config)().agent_of_user(&user.username).map(|a| a.spec.id.clone());
    Ok(Json(LoginResponse {
        token: session.token,
        role: user.role.as_str().to_string(),
        username: user.username,
        expires_at_ms: session.expires_at_ms,
        agent,
    }))
}

pub(crate) async fn logout(State(state): State<ApiState>, Caller(session): Caller) -> StatusCode {
    state.auth.logout(&session.token);
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify() {
        let h = hash_password("s3cret").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("s3cret", &h));
        assert!(!verify_password("s3cret!", &h));
        assert!(!verify_password("s3cret", "not a hash"));
        assert_ne!(hash_password("s3cret").unwrap(), h, "fresh salt");
    }

    #[test]
    fn tokens_expire_and_end() {
        let auth = Auth::new(60_000, &[]);
        let s = auth.open(UserId(1), "a", Role::Agent).unwrap();
        assert_eq!(s.token.len(), 64);
        assert_eq!(auth.session(&s.token).unwrap().username, "a");
        assert!(auth.logout(&s.token));
        assert!(auth.session(&s.token).is_none());
        auth.set_token_ttl_ms(1);
        let s = auth.open(UserId(1), "a", Role::Agent).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        assert!(auth.session(&s.token).is_none());
    }
}
