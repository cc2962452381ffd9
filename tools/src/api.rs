//! The daemon's HTTP API as the CLI sees it (docs/api.md is the contract):
//! where the daemon is, who we are, one blocking request at a time, and
//! errors that name the request that failed.
//!
//! # Credentials
//!
//! In this order: `--user NAME` (log in; the password from
//! `--password-file`, `$CTIBOX_PASSWORD`, or a prompt without echo when
//! stdin is a terminal); else `$CTIBOX_TOKEN` (a token from `ctibox
//! login`); else `$CTIBOX_USER` (log in as for `--user`). A client that
//! logged in itself logs out when dropped, and may log in again when its
//! token expires ([`Client::relogin`]).
//!
//! # Errors
//!
//! An error answer prints as `METHOD /path: STATUS REASON: message (field:
//! FIELD)`, the path relative to `/api/v1` as docs/api.md writes it;
//! nothing listening at the URL prints where we looked and how to look
//! elsewhere.
//!
//! Not implemented: TLS client certificates, proxies (ureq's defaults).

use std::fmt;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Where the API is when neither `--api` nor `$CTIBOX_API` says.
pub const DEFAULT_API: &str = "http://127.0.0.1:8080";

/// The API's path prefix.
const API_PREFIX: &str = "/api/v1";

/// How long to wait for a TCP connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait for an answer (call control answers in well under a
/// second; a records query on a big journal may take a few).
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Connection options shared by every command that talks to the daemon.
#[derive(Debug, Clone, Args)]
pub struct ApiArgs {
    /// The daemon's HTTP API.
    #[arg(long, env = "CTIBOX_API", default_value = DEFAULT_API, value_name = "URL")]
    pub api: String,
    /// Log in as this user [default: $CTIBOX_USER, unless $CTIBOX_TOKEN is
    /// set]. The password comes from --password-file, $CTIBOX_PASSWORD, or a
    /// prompt when stdin is a terminal.
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// Read the password from the first line of this file.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
}

impl ApiArgs {
    /// The API's root (`http://host:port`), without a trailing `/` or
    /// `/api/v1`.
    pub fn base(&self) -> String {
        base_url(&self.api)
    }
}

fn base_url(api: &str) -> String {
    let trimmed = api.trim().trim_end_matches('/');
    trimmed.strip_suffix(API_PREFIX).unwrap_or(trimmed).trim_end_matches('/').to_string()
}

/// The daemon refused a request: its status and error body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub method: String,
    /// Relative to `/api/v1`, without the query.
    pub path: String,
    pub status: u16,
    /// The status's reason phrase (`Forbidden`).
    pub reason: String,
    pub message: String,
    /// The request field to blame, when the daemon names one.
    pub field: Option<String>,
    /// Further lines (a refused config reload lists every problem).
    pub errors: Vec<String>,
}

/// What went wrong with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// The daemon answered with an error status.
    Refused(Box<Refusal>),
    /// Nothing answers at the URL (connection refused, unknown host).
    Unreachable { url: String, detail: String },
    /// The request failed on the way (timeout, connection reset…).
    Transport { method: String, path: String, detail: String },
    /// The answer is not what docs/api.md promises.
    BadAnswer { method: String, path: String, detail: String },
}

impl ApiError {
    /// The HTTP status of a refusal.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Refused(r) => Some(r.status),
            _ => None,
        }
    }
}

impl fmt::Display for Refusal {
    /// `METHOD /path: STATUS REASON: message (field: FIELD)`, then the
    /// further lines indented.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.method, self.path, self.status)?;
        if !self.reason.is_empty() {
            write!(f, " {}", self.reason)?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(field) = &self.field {
            write!(f, " (field: {field})")?;
        }
        for e in &self.errors {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Refused(r) => r.fmt(f),
            ApiError::Unreachable { url, detail } => write!(
                f,
                "the daemon is not reachable at {url} ({detail}): is ctiboxd running? \
                 Point ctibox at another address with --api URL or CTIBOX_API=URL"
            ),
            ApiError::Transport { method, path, detail } => write!(f, "{method} {path}: {detail}"),
            ApiError::BadAnswer { method, path, detail } => {
                write!(f, "{method} {path}: unexpected answer from the daemon: {detail}")
            }
        }
    }
}

impl std::error::Error for ApiError {}

/// The JSON error body (docs/api.md, "Errors").
#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: String,
    field: Option<String>,
    #[serde(default)]
    errors: Vec<String>,
}

/// A request body.
#[derive(Debug)]
pub enum Body<'a> {
    None,
    Json(serde_json::Value),
    Csv(&'a [u8]),
}

/// The answer to `POST /login`.
#[derive(Debug, Clone, Deserialize)]
pub struct LoginAnswer {
    pub token: String,
    pub role: String,
    pub username: String,
    pub expires_at_ms: i64,
}

/// A user and password to log in with.
#[derive(Clone)]
pub struct Login {
    pub user: String,
    password: String,
}

impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Login").field("user", &self.user).finish_non_exhaustive()
    }
}

impl Login {
    /// `user`, with the password from `--password-file`,
    /// `$CTIBOX_PASSWORD`, or a prompt when stdin is a terminal.
    pub fn for_user(user: String, password_file: Option<&PathBuf>) -> Result<Login> {
        let password = match password_file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the password file {}", path.display()))?;
                let line = text.lines().next().unwrap_or("").trim_end_matches('\r').to_string();
                if line.is_empty() {
                    bail!("the password file {} is empty", path.display());
                }
                line
            }
            None => match std::env::var("CTIBOX_PASSWORD") {
                Ok(p) if !p.is_empty() => p,
                _ if std::io::stdin().is_terminal() => prompt_password(&format!("password for {user}: "))?,
                _ => bail!(
                    "no password for {user}: set CTIBOX_PASSWORD or give --password-file FILE \
                     (or run on a terminal to be asked)"
                ),
            },
        };
        Ok(Login { user, password })
    }
}

/// Reads a line from the terminal on stdin with echo off.
fn prompt_password(prompt: &str) -> Result<String> {
    use nix::sys::termios::{LocalFlags, SetArg, tcgetattr, tcsetattr};
    let stdin = std::io::stdin();
    let saved = tcgetattr(&stdin).context("reading the terminal's settings")?;
    let mut quiet = saved.clone();
    quiet.local_flags.remove(LocalFlags::ECHO);
    quiet.local_flags.insert(LocalFlags::ECHONL);
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    tcsetattr(&stdin, SetArg::TCSAFLUSH, &quiet).context("turning the terminal's echo off")?;
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    let _ = tcsetattr(&stdin, SetArg::TCSAFLUSH, &saved);
    read.context("reading the password")?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        bail!("no password given");
    }
    Ok(password)
}

/// Where the credentials come from, in the order of the module doc.
fn credentials(args: &ApiArgs) -> Result<Credentials> {
    if let Some(user) = &args.user {
        return Ok(Credentials::Login(Login::for_user(user.clone(), args.password_file.as_ref())?));
    }
    if let Ok(token) = std::env::var("CTIBOX_TOKEN") {
        let token = token.trim().to_string();
        if !token.is_empty() {
            return Ok(Credentials::Token(token));
        }
    }
    match std::env::var("CTIBOX_USER") {
        Ok(user) if !user.trim().is_empty() => {
            Ok(Credentials::Login(Login::for_user(user.trim().to_string(), args.password_file.as_ref())?))
        }
        _ => bail!(
            "who are you? Set CTIBOX_TOKEN (export CTIBOX_TOKEN=$(ctibox login --user NAME)), \
             or give --user NAME (or CTIBOX_USER) with CTIBOX_PASSWORD or --password-file FILE"
        ),
    }
}

#[derive(Debug)]
enum Credentials {
    Token(String),
    Login(Login),
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new().timeout_connect(CONNECT_TIMEOUT).timeout_read(READ_TIMEOUT).build()
}

/// Logs in; the answer holds the token.
pub fn login(base: &str, login: &Login) -> Result<LoginAnswer, ApiError> {
    let body = serde_json::json!({"username": login.user, "password": login.password});
    let text = send(&agent(), base, None, "POST", "/login", &[], Body::Json(body), None)?;
    parse("POST", "/login", &text)
}

/// A logged-in connection to the API.
#[derive(Debug)]
pub struct Client {
    base: String,
    agent: ureq::Agent,
    token: String,
    /// Set when this client logged in itself.
    login: Option<Login>,
}

impl Client {
    /// Connects with the credentials of `args` (logging in when they are a
    /// user and password).
    pub fn connect(args: &ApiArgs) -> Result<Client> {
        let base = args.base();
        match credentials(args)? {
            Credentials::Token(token) => Ok(Client { base, agent: agent(), token, login: None }),
            Credentials::Login(l) => {
                let answer = login(&base, &l)?;
                Ok(Client { base, agent: agent(), token: answer.token, login: Some(l) })
            }
        }
    }

    /// The API's root URL (`http://host:port`).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The bearer token in use.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Logs in again with the same user; `Ok(false)` when this client was
    /// given a token and has no password to log in with.
    pub fn relogin(&mut self) -> Result<bool, ApiError> {
        match &self.login {
            None => Ok(false),
            Some(l) => {
                self.token = login(&self.base, l)?.token;
                Ok(true)
            }
        }
    }

    /// One request; the JSON answer as `T`.
    pub fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, String)],
        body: Body<'_>,
    ) -> Result<T, ApiError> {
        let text = self.call_text(method, path, query, body, None)?;
        parse(method, path, &text)
    }

    /// One request; the answer's text (empty for 204).
    pub fn call_text(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, String)],
        body: Body<'_>,
        timeout: Option<Duration>,
    ) -> Result<String, ApiError> {
        send(&self.agent, &self.base, Some(&self.token), method, path, query, body, timeout)
    }

    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiError> {
        self.call("GET", path, &[], Body::None)
    }

    pub fn post<T: DeserializeOwned>(&self, path: &str, body: serde_json::Value) -> Result<T, ApiError> {
        self.call("POST", path, &[], Body::Json(body))
    }
}

impl Drop for Client {
    /// A session this client opened is closed (tokens given to it are
    /// left alone).
    fn drop(&mut self) {
        if self.login.is_some() {
            let _ = self.call_text("POST", "/logout", &[], Body::None, Some(CONNECT_TIMEOUT));
        }
    }
}

fn parse<T: DeserializeOwned>(method: &str, path: &str, text: &str) -> Result<T, ApiError> {
    serde_json::from_str(text).map_err(|e| ApiError::BadAnswer {
        method: method.into(),
        path: path.into(),
        detail: format!("{e} in {}", excerpt(text)),
    })
}

fn excerpt(text: &str) -> String {
    let t: String = text.chars().take(200).collect();
    if t.len() < text.len() { format!("{t:?}…") } else { format!("{t:?}") }
}

#[allow(clippy::too_many_arguments)]
fn send(
    agent: &ureq::Agent,
    base: &str,
    token: Option<&str>,
    method: &str,
    path: &str,
    query: &[(&str, String)],
    body: Body<'_>,
    timeout: Option<Duration>,
) -> Result<String, ApiError> {
    let mut request = agent.request(method, &format!("{base}{API_PREFIX}{path}"));
    for (k, v) in query {
        request = request.query(k, v);
    }
    if let Some(t) = token {
        request = request.set("Authorization", &format!("Bearer {t}"));
    }
    if let Some(t) = timeout {
        request = request.timeout(t);
    }
    let result = match body {
        Body::None => request.call(),
        Body::Json(v) => request.send_json(v),
        Body::Csv(data) => request.set("Content-Type", "text/csv; charset=utf-8").send_bytes(data),
    };
    let err = |detail: String| ApiError::Transport { method: method.into(), path: path.into(), detail };
    match result {
        Ok(response) => response.into_string().map_err(|e| err(format!("reading the answer: {e}"))),
        Err(ureq::Error::Status(status, response)) => {
            let reason = response.status_text().to_string();
            let text = response.into_string().unwrap_or_default();
            let (message, field, errors) = match serde_json::from_str::<ErrorBody>(&text) {
                Ok(b) => (b.error, b.field, b.errors),
                Err(_) if text.trim().is_empty() => ("(no explanation given)".to_string(), None, Vec::new()),
                Err(_) => (excerpt(text.trim()), None, Vec::new()),
            };
            Err(ApiError::Refused(Box::new(Refusal {
                method: method.into(),
                path: path.into(),
                status,
                reason,
                message,
                field,
                errors,
            })))
        }
        Err(ureq::Error::Transport(t)) => match t.kind() {
            ureq::ErrorKind::ConnectionFailed | ureq::ErrorKind::Dns => {
                Err(ApiError::Unreachable { url: base.to_string(), detail: transport_detail(&t) })
            }
            _ => Err(err(transport_detail(&t))),
        },
    }
}

/// The innermost cause of a transport error ("Connection refused (os error
/// 111)"), else ureq's message.
fn transport_detail(t: &ureq::Transport) -> String {
    let mut cause: Option<&dyn std::error::Error> = std::error::Error::source(t);
    let mut last = None;
    while let Some(c) = cause {
        last = Some(c.to_string());
        cause = c.source();
    }
    last.or_else(|| t.message().map(str::to_string)).unwrap_or_else(|| t.kind().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_drops_slashes_and_the_api_prefix() {
        assert_eq!(base_url("http://h:8080"), "http://h:8080");
        assert_eq!(base_url("http://h:8080/"), "http://h:8080");
        assert_eq!(base_url(" http://h:8080/api/v1/ "), "http://h:8080");
    }

    #[test]
    fn refusal_names_request_status_and_field() {
        let e = Refusal {
            method: "POST".into(),
            path: "/calls".into(),
            status: 400,
            reason: "Bad Request".into(),
            message: "to: empty".into(),
            field: Some("to".into()),
            errors: vec![],
        };
        assert_eq!(e.to_string(), "POST /calls: 400 Bad Request: to: empty (field: to)");
        let e = Refusal {
            method: "POST".into(),
            path: "/config/reload".into(),
            status: 422,
            reason: String::new(),
            message: "bad".into(),
            field: None,
            errors: vec!["a.toml:1:2: x".into()],
        };
        assert_eq!(e.to_string(), "POST /config/reload: 422: bad\n  a.toml:1:2: x");
    }

    #[test]
    fn unreachable_says_how_to_point_elsewhere() {
        let e = ApiError::Unreachable { url: "http://127.0.0.1:1".into(), detail: "Connection refused".into() };
        let text = e.to_string();
        assert!(text.contains("not reachable at http://127.0.0.1:1"), "{text}");
        assert!(text.contains("--api") && text.contains("CTIBOX_API"), "{text}");
    }
}
