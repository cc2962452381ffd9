//! The ACD over the API (docs/api.md, "ACD"): agents and queues live from
//! the call-control core ([`CoreRequest::Acd`]), agents' state changes and
//! supervisors' actions on waiting callers through the core, and reports
//! and agent history from the records.
//!
//! # Roles
//!
//! Everyone reads `/agents` and `/queues`. An agent user acts only on the
//! agent the configuration links to it (`[[agent]] user`,
//! [`Config::agent_of_user`]) and reads only that agent's history;
//! supervisors and admins act on any agent, change a waiting caller's
//! priority, give a caller to an agent and read the reports.
//!
//! # Errors
//!
//! An agent, queue or extension that the configuration in force does not
//! have is 404 (naming the body field when it came in the body); what the
//! ACD refuses (wrong state, seat taken, call not waiting) is 422 with the
//! ACD's message.
//!
//! Report windows are wall-clock UTC ms, `from_ms`/`to_ms` as `GET /cdr`
//! takes them; `to_ms` defaults to now and is never later (the state an
//! agent is in counts until the window's end), `from_ms` to 24 hours
//! before it.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use serde::{Deserialize, Serialize};

use super::ApiState;
use super::auth::{Caller, Session, Staff, extensions_of};
use super::body::{JsonBody, OptionalJson, Params};
use super::calls::{CallDone, ask, record_involves, snapshot};
use super::customers::blocking;
use super::error::ApiError;
use crate::config::Config;
use crate::core::{AgentView, CoreReply, CoreRequest, QueueView};
use crate::records::{
    AgentHistoryPage, AgentReport, CallId, HistoryRequest, QueueEventRecord, QueueReport, Role, ServiceLevels,
    StateCursor, StateTimes,
};

/// The window a report covers when the query does not say: 24 hours.
pub const DEFAULT_REPORT_WINDOW_MS: i64 = 86_400_000;

/// Longest not-ready reason code, characters.
pub const REASON_MAX_CHARS: usize = 32;

/// The ACD's agents and queues, live.
async fn acd(state: &ApiState) -> Result<(Vec<AgentView>, Vec<QueueView>), ApiError> {
    match ask(state, CoreRequest::Acd).await? {
        CoreReply::Acd { agents, queues } => Ok((agents, queues)),
        other => {
            tracing::error!(?other, "api: the core answered an ACD request with something else");
            Err(ApiError::internal("the call-control core gave a wrong answer to an ACD request"))
        }
    }
}

/// One agent, live; 404 when the ACD has none by that id.
async fn agent_view(state: &ApiState, id: &str) -> Result<AgentView, ApiError> {
    acd(state).await?.0.into_iter().find(|a| a.id == id).ok_or_else(|| ApiError::not_found(format!("no agent {id}")))
}

/// 404 naming a body field.
fn unknown(field: &str, message: String) -> ApiError {
    ApiError { field: Some(field.to_string()), ..ApiError::not_found(message) }
}

/// Agents act only on (and read the history of) the agent their user is.
fn check_own_agent(config: &Config, session: &Session, id: &str) -> Result<(), ApiError> {
    if session.role != Role::Agent {
        return Ok(());
    }
    match config.agent_of_user(&session.username) {
        Some(me) if me.id() == id => Ok(()),
        Some(me) => Err(ApiError::forbidden(format!(
            "you are agent {}: agents may act only on themselves, not on agent {id}",
            me.id()
        ))),
        None => Err(ApiError::forbidden(format!(
            "user {} is no agent (no [[agent]] in the config has user = {:?})",
            session.username, session.username
        ))),
    }
}

/// 404 unless the configuration has agent `id`.
fn known_agent(config: &Config, id: &str) -> Result<(), ApiError> {
    match config.agent(id) {
        Some(_) => Ok(()),
        None => Err(ApiError::not_found(format!("no agent {id}"))),
    }
}

/// A call id in the path of `/queues/calls/{call}/…`.
fn path_call(text: &str) -> Result<CallId, ApiError> {
    text.parse::<i64>().map(CallId).map_err(|_| ApiError::bad_field("call", format!("call: {text:?} is not a call id")))
}

pub(crate) async fn agents(State(state): State<ApiState>, _c: Caller) -> Result<Json<Vec<AgentView>>, ApiError> {
    Ok(Json(acd(&state).await?.0))
}

pub(crate) async fn agent(
    State(state): State<ApiState>,
    _c: Caller,
    Path(id): Path<String>,
) -> Result<Json<AgentView>, ApiError> {
    Ok(Json(agent_view(&state, &id).await?))
}

pub(crate) async fn queues(State(state): State<ApiState>, _c: Caller) -> Result<Json<Vec<QueueView>>, ApiError> {
    Ok(Json(acd(&state).await?.1))
}

pub(crate) async fn queue(
    State(state): State<ApiState>,
    _c: Caller,
    Path(name): Path<String>,
) -> Result<Json<QueueView>, ApiError> {
    acd(&state)
        .await?
        .1
        .into_iter()
        .find(|q| q.name == name)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no queue {name:?}")))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginBody {
    extension: Option<String>,
    queues: Option<Vec<String>>,
}

/// The extension and queues of a login, checked against `config`.
fn login_request(config: &Config, agent: &str, body: LoginBody) -> Result<CoreRequest, ApiError> {
    let extension = match body.extension.map(|x| x.trim().to_string()) {
        None => None,
        Some(x) if x.is_empty() => {
            return Err(ApiError::bad_field(
                "extension",
                "extension: empty (leave it out for the agent's own extension)",
            ));
        }
        Some(x) if config.extension(&x).is_none() => {
            return Err(unknown("extension", format!("extension: there is no extension {x}")));
        }
        Some(x) => Some(x),
    };
    let queues = match body.queues {
        None => None,
        Some(names) if names.is_empty() => {
            return Err(ApiError::bad_field("queues", "queues: empty (leave it out for the agent's own queues)"));
        }
        Some(names) => {
            let mut seen = BTreeSet::new();
            let mut queues = Vec::with_capacity(names.len());
            for (i, name) in names.iter().enumerate() {
                let name = name.trim().to_string();
                let field = format!("queues[{i}]");
                if config.queue(&name).is_none() {
                    return Err(unknown(&field, format!("{field}: there is no queue {name:?}")));
                }
                if !seen.insert(name.clone()) {
                    return Err(ApiError::bad_field(field.clone(), format!("{field}: queue {name:?} given twice")));
                }
                queues.push(name);
            }
            Some(queues)
        }
    };
    Ok(CoreRequest::AgentLogin { agent: agent.to_string(), extension, queues })
}

/// Checks who may act on agent `id`, sends `request`, answers the agent's
/// view after it.
async fn act(state: &ApiState, session: &Session, id: &str, request: CoreRequest) -> Result<Json<AgentView>, ApiError> {
    tracing::info!(by = %session.username, ?request, "api: agent");
    ask(state, request).await?;
    Ok(Json(agent_view(state, id).await?))
}

/// Who may act on agent `id` (403), and whether there is one (404).
fn check_agent(state: &ApiState, session: &Session, id: &str) -> Result<std::sync::Arc<Config>, ApiError> {
    let config = (state.config)();
    check_own_agent(&config, session, id)?;
    known_agent(&config, id)?;
    Ok(config)
}

pub(crate) async fn login(
    State(state): State<ApiState>,
    Caller(session): Caller,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<LoginBody>,
) -> Result<Json<AgentView>, ApiError> {
    let config = check_agent(&state, &session, &id)?;
    let request = login_request(&config, &id, body)?;
    act(&state, &session, &id, request).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoBody {}

pub(crate) async fn logout(
    State(state): State<ApiState>,
    Caller(session): Caller,
    Path(id): Path<String>,
    OptionalJson(NoBody {}): OptionalJson<NoBody>,
) -> Result<Json<AgentView>, ApiError> {
    check_agent(&state, &session, &id)?;
    act(&state, &session, &id, CoreRequest::AgentLogout { agent: id.clone() }).await
}

/// Preview dialling: the agent accepts the number on screen (its phone
/// rings, then the number is dialled).
pub(crate) async fn preview_accept(
    state: State<ApiState>,
    session: Caller,
    id: Path<String>,
    body: OptionalJson<NoBody>,
) -> Result<Json<AgentView>, ApiError> {
    preview(state, session, id, body, true).await
}

/// Preview dialling: the agent skips the number on screen (it comes back
/// later, no attempt counted).
pub(crate) async fn preview_skip(
    state: State<ApiState>,
    session: Caller,
    id: Path<String>,
    body: OptionalJson<NoBody>,
) -> Result<Json<AgentView>, ApiError> {
    preview(state, session, id, body, false).await
}

async fn preview(
    State(state): State<ApiState>,
    Caller(session): Caller,
    Path(id): Path<String>,
    OptionalJson(NoBody {}): OptionalJson<NoBody>,
    accept: bool,
) -> Result<Json<AgentView>, ApiError> {
    check_agent(&state, &session, &id)?;
    act(&state, &session, &id, CoreRequest::Preview { agent: id.clone(), accept }).await
}

pub(crate) async fn ready(
    State(state): State<ApiState>,
    Caller(session): Caller,
    Path(id): Path<String>,
    OptionalJson(NoBody {}): OptionalJson<NoBody>,
) -> Result<Json<AgentView>, ApiError> {
    check_agent(&state, &session, &id)?;
    act(&state, &session, &id, CoreRequest::AgentReady { agent: id.clone() }).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NotReadyBody {
    reason: Option<String>,
}

/// A not-ready reason code: up to [`REASON_MAX_CHARS`] characters, no
/// control characters; surrounding blanks are dropped.
fn reason_code(reason: Option<String>) -> Result<String, ApiError> {
    let reason = reason.unwrap_or_default().trim().to_string();
    if reason.chars().count() > REASON_MAX_CHARS {
        return Err(ApiError::bad_field(
            "reason",
            format!("reason: {reason:?} is longer than {REASON_MAX_CHARS} characters"),
        ));
    }
    if reason.chars().any(char::is_control) {
        return Err(ApiError::bad_field("reason", format!("reason: {reason:?} holds a control character")));
    }
    Ok(reason)
}

pub(crate) async fn not_ready(
    State(state): State<ApiState>,
    Caller(session): Caller,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<NotReadyBody>,
) -> Result<Json<AgentView>, ApiError> {
    check_agent(&state, &session, &id)?;
    let reason = reason_code(body.reason)?;
    act(&state, &session, &id, CoreRequest::AgentNotReady { agent: id.clone(), reason }).await
}

/// 404 unless `call` is in progress.
async fn check_active_call(state: &ApiState, call: CallId) -> Result<(), ApiError> {
    if snapshot(state).await?.calls.iter().any(|c| c.call == call) {
        Ok(())
    } else {
        Err(ApiError::not_found(format!("no call {call}")))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PriorityBody {
    priority: u8,
}

/// Highest priority a waiting caller may have.
const PRIORITY_MAX: u8 = 9;

pub(crate) async fn priority(
    State(state): State<ApiState>,
    Staff(session): Staff,
    Path(call): Path<String>,
    JsonBody(body): JsonBody<PriorityBody>,
) -> Result<Json<CallDone>, ApiError> {
    let call = path_call(&call)?;
    if body.priority > PRIORITY_MAX {
        return Err(ApiError::bad_field(
            "priority",
            format!("priority: {} is not within 0-{PRIORITY_MAX}", body.priority),
        ));
    }
    check_active_call(&state, call).await?;
    tracing::info!(by = %session.username, %call, priority = body.priority, "api: queue priority");
    ask(&state, CoreRequest::QueuePriority { call, priority: body.priority }).await?;
    Ok(Json(CallDone { call: Some(call) }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PickBody {
    agent: String,
}

pub(crate) async fn pick(
    State(state): State<ApiState>,
    Staff(session): Staff,
    Path(call): Path<String>,
    JsonBody(body): JsonBody<PickBody>,
) -> Result<Json<CallDone>, ApiError> {
    let call = path_call(&call)?;
    let agent = body.agent.trim().to_string();
    if agent.is_empty() {
        return Err(ApiError::bad_field("agent", "agent: empty"));
    }
    if (state.config)().agent(&agent).is_none() {
        return Err(unknown("agent", format!("agent: there is no agent {agent}")));
    }
    check_active_call(&state, call).await?;
    tracing::info!(by = %session.username, %call, %agent, "api: queue pick");
    ask(&state, CoreRequest::QueuePick { call, agent }).await?;
    Ok(Json(CallDone { call: Some(call) }))
}

/// `[from, to)` of a report (see the module doc).
fn window(p: &mut Params) -> Result<(i64, i64), ApiError> {
    let now = crate::records::now_wall_ms();
    let to = p.parsed::<i64>("to_ms", "a time in ms since 1970")?.map_or(now, |t| t.min(now));
    let from = p.parsed::<i64>("from_ms", "a time in ms since 1970")?.unwrap_or(to - DEFAULT_REPORT_WINDOW_MS);
    if from >= to {
        return Err(ApiError::bad_field(
            "from_ms",
            format!("from_ms: {from} is not before the window's end {to} (to_ms, at the latest now)"),
        ));
    }
    Ok((from, to))
}

/// The queues' figures over a window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueReports {
    pub from_ms: i64,
    pub to_ms: i64,
    /// Every configured queue (zeros when nothing happened) and every
    /// other queue with events in the window, by name.
    pub queues: Vec<QueueReport>,
}

/// The agents' figures over a window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentReports {
    pub from_ms: i64,
    pub to_ms: i64,
    /// Every configured agent (zeros when nothing happened) and every
    /// other agent with records in the window, by id.
    pub agents: Vec<AgentReport>,
}

/// A queue's report with nothing in it.
fn empty_queue_report(queue: &str, service_level_ms: i64) -> QueueReport {
    QueueReport {
        queue: queue.to_string(),
        service_level_ms,
        entered: 0,
        answered: 0,
        abandoned: 0,
        overflowed: 0,
        timed_out: 0,
        callbacks: 0,
        answered_within_level: 0,
        abandoned_after_level: 0,
        avg_answer_wait_ms: None,
        max_answer_wait_ms: None,
        avg_abandon_wait_ms: None,
        service_level_pct: None,
    }
}

pub(crate) async fn queue_report(
    State(state): State<ApiState>,
    _s: Staff,
    RawQuery(query): RawQuery,
) -> Result<Json<QueueReports>, ApiError> {
    let mut p = Params::parse(query.as_deref())?;
    let (from, to) = window(&mut p)?;
    p.finish()?;
    let config = (state.config)();
    let levels = ServiceLevels {
        per_queue: config.queues.iter().map(|q| (q.spec.name.clone(), q.spec.service_level_ms as i64)).collect(),
        ..ServiceLevels::default()
    };
    let reader = state.reader.clone();
    let filled = levels.clone();
    let mut queues = blocking(move || reader.queue_report(from, to, &filled)).await?;
    for q in &config.queues {
        if !queues.iter().any(|r| r.queue == q.spec.name) {
            queues.push(empty_queue_report(&q.spec.name, levels.of(&q.spec.name)));
        }
    }
    queues.sort_by(|a, b| a.queue.cmp(&b.queue));
    Ok(Json(QueueReports { from_ms: from, to_ms: to, queues }))
}

pub(crate) async fn agent_report(
    State(state): State<ApiState>,
    _s: Staff,
    RawQuery(query): RawQuery,
) -> Result<Json<AgentReports>, ApiError> {
    let mut p = Params::parse(query.as_deref())?;
    let (from, to) = window(&mut p)?;
    p.finish()?;
    let config = (state.config)();
    let reader = state.reader.clone();
    let mut agents = blocking(move || reader.agent_report(from, to)).await?;
    for a in &config.agents {
        if !agents.iter().any(|r| r.agent == a.id()) {
            agents.push(AgentReport {
                agent: a.id().to_string(),
                offers: 0,
                answered: 0,
                no_answer: 0,
                talk_ms: 0,
                states: StateTimes::default(),
                not_ready_by_reason: Default::default(),
            });
        }
    }
    agents.sort_by(|a, b| a.agent.cmp(&b.agent));
    Ok(Json(AgentReports { from_ms: from, to_ms: to, agents }))
}

pub(crate) async fn history(
    State(state): State<ApiState>,
    Caller(session): Caller,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<AgentHistoryPage>, ApiError> {
    let config = (state.config)();
    check_own_agent(&config, &session, &id)?;
    let mut p = Params::parse(query.as_deref())?;
    let request = HistoryRequest {
        from_wall_ms: p.parsed("from_ms", "a time in ms since 1970")?,
        to_wall_ms: p.parsed("to_ms", "a time in ms since 1970")?,
        limit: p.parsed("limit", "a number")?.unwrap_or(HistoryRequest::default().limit),
        after: match p.text("after") {
            None => None,
            Some(text) => Some(text.parse::<StateCursor>()?),
        },
    };
    p.finish()?;
    if let (Some(from), Some(to)) = (request.from_wall_ms, request.to_wall_ms)
        && from >= to
    {
        return Err(ApiError::bad_field("from_ms", format!("from_ms: {from} is not before to_ms ({to})")));
    }
    let reader = state.reader.clone();
    let agent = id.clone();
    let page = blocking(move || reader.agent_history(&agent, &request)).await?;
    // An agent gone from the config still has its history; an id that is
    // neither configured nor recorded is a mistake.
    if config.agent(&id).is_none() && page.states.is_empty() && page.at_from.is_none() {
        return Err(ApiError::not_found(format!("no agent {id} (neither in the config nor in the records)")));
    }
    Ok(Json(page))
}

/// The queue events of a call from the journal. Agents read them for calls
/// their extension took part in or that were offered to them.
pub(crate) async fn call_queue_events(
    State(state): State<ApiState>,
    Caller(session): Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<QueueEventRecord>>, ApiError> {
    let call = super::calls::call_id(&id)?;
    let reader = state.reader.clone();
    let Some(events) = blocking(move || reader.queue_events_of_call(call)).await? else {
        return Err(ApiError::not_found(format!("no call {call} in the journal")));
    };
    if session.role == Role::Agent {
        let me = (state.config)().agent_of_user(&session.username).map(|a| a.id().to_string());
        let offered = me.is_some_and(|me| events.iter().any(|e| e.agent.as_deref() == Some(me.as_str())));
        if !offered {
            let reader = state.reader.clone();
            let record = blocking(move || reader.call(call)).await?;
            let own = extensions_of(&state, &session).await?;
            if !record.is_some_and(|r| record_involves(&r, &own)) {
                return Err(ApiError::forbidden(format!("call {call} is not in your call history")));
            }
        }
    }
    Ok(Json(events))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        super::super::testing::test_config().unwrap()
    }

    fn body(json: &str) -> LoginBody {
        super::super::body::parse_json(json.as_bytes()).unwrap()
    }

    #[test]
    fn login_bodies_are_checked_against_the_config() {
        let c = config();
        assert_eq!(
            login_request(&c, "1001", LoginBody::default()).unwrap(),
            CoreRequest::AgentLogin { agent: "1001".into(), extension: None, queues: None }
        );
        assert_eq!(
            login_request(&c, "1001", body(r#"{"extension": " 803 ", "queues": ["support", "sales"]}"#)).unwrap(),
            CoreRequest::AgentLogin {
                agent: "1001".into(),
                extension: Some("803".into()),
                queues: Some(vec!["support".into(), "sales".into()]),
            }
        );
        let e = login_request(&c, "1001", body(r#"{"extension": "899"}"#)).unwrap_err();
        assert_eq!((e.status.as_u16(), e.field.as_deref()), (404, Some("extension")), "{e}");
        assert!(e.message.contains("899"), "{e}");
        let e = login_request(&c, "1001", body(r#"{"extension": ""}"#)).unwrap_err();
        assert_eq!((e.status.as_u16(), e.field.as_deref()), (400, Some("extension")), "{e}");
        let e = login_request(&c, "1001", body(r#"{"queues": ["sales", "nope"]}"#)).unwrap_err();
        assert_eq!((e.status.as_u16(), e.field.as_deref()), (404, Some("queues[1]")), "{e}");
        assert!(e.message.contains("\"nope\""), "{e}");
        let e = login_request(&c, "1001", body(r#"{"queues": ["sales", "sales"]}"#)).unwrap_err();
        assert_eq!((e.status.as_u16(), e.field.as_deref()), (400, Some("queues[1]")), "{e}");
        let e = login_request(&c, "1001", body(r#"{"queues": []}"#)).unwrap_err();
        assert_eq!((e.status.as_u16(), e.field.as_deref()), (400, Some("queues")), "{e}");
    }

    #[test]
    fn reason_codes() {
        assert_eq!(reason_code(None).unwrap(), "");
        assert_eq!(reason_code(Some(" lunch ".into())).unwrap(), "lunch");
        assert_eq!(reason_code(Some("x".repeat(33))).unwrap_err().field.as_deref(), Some("reason"));
        assert_eq!(reason_code(Some("a\tb".into())).unwrap_err().field.as_deref(), Some("reason"));
    }

    #[test]
    fn report_windows() {
        let now = crate::records::now_wall_ms();
        let (from, to) = window(&mut Params::parse(Some("from_ms=1000&to_ms=5000")).unwrap()).unwrap();
        assert_eq!((from, to), (1000, 5000));
        let (from, to) = window(&mut Params::parse(None).unwrap()).unwrap();
        assert!(to >= now && to - from == DEFAULT_REPORT_WINDOW_MS, "{from} {to}");
        let (_, to) = window(&mut Params::parse(Some(&format!("to_ms={}", now + 3_600_000))).unwrap()).unwrap();
        assert!(to < now + 60_000, "the end is never later than now: {to}");
        let e = window(&mut Params::parse(Some("from_ms=5000&to_ms=5000")).unwrap()).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("from_ms"), "{e}");
        let e = window(&mut Params::parse(Some("to_ms=soon")).unwrap()).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("to_ms"), "{e}");
    }
}
