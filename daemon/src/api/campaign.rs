//! Outbound campaigns and the do-not-call list over the API (docs/api.md,
//! "Campaigns"; docs/campaigns.md says how a campaign dials).
//!
//! Live state comes from the call-control core ([`CoreRequest::Campaigns`]);
//! numbers, attempts, summaries and the do-not-call list from the records
//! (`records/campaign.rs`). Pausing and resuming go through the core, which
//! keeps the state in the records; an import writes the numbers through the
//! records thread, then asks the core to read them
//! ([`CoreRequest::CampaignNumbersAdded`]). A number is put on the list by
//! the core ([`CoreRequest::DoNotCall`]: it journals the entry and stops
//! every campaign from dialling the number) and taken off by the journal
//! ([`JournalOp::DoNotCallRemoved`]); numbers already done as `dnc` stay
//! done.
//!
//! # Roles
//!
//! Every logged-in user reads; supervisors and admins pause, resume,
//! import and change the do-not-call list.
//!
//! # Errors
//!
//! A campaign the configuration in force does not have is 404 (reading the
//! numbers of a campaign gone from the config still works while the records
//! hold some); a bad number or query value is 400 naming the field; what
//! the core refuses is 422 with its message.
//!
//! Lists are paged in SQL: `GET /campaigns/{name}/numbers` reads only the
//! page its filters select (and their count), `GET /dnc` likewise, each in
//! one read transaction.

use axum::Json;
use axum::extract::{Path, RawQuery, Request, State};
use serde::Serialize;

use super::ApiState;
use super::acd::NoBody;
use super::auth::{Caller, Session, Staff};
use super::body::{CSV_LIMIT, JsonBody, OptionalJson, Params, read_limited};
use super::calls::ask;
use super::customers::blocking;
use super::error::ApiError;
use crate::core::{CampaignView, CoreReply, CoreRequest};
use crate::records::phone::PhoneNumber;
use crate::records::{
    CallResult, CampaignImportError, CampaignImportReport, CampaignReport, DncEntry, JournalOp, NumberResult,
    NumberSelection, NumberState, QueryError, WaitError, WriteError,
};

/// Numbers (or do-not-call entries) per page of `GET
/// /campaigns/{name}/numbers` and `GET /dnc` unless `limit` says.
pub const NUMBERS_LIMIT_DEFAULT: usize = 100;

/// Largest `limit` of `GET /campaigns/{name}/numbers` and `GET /dnc`.
pub const NUMBERS_LIMIT_MAX: usize = 1000;

/// `limit` and `offset` of a paged list, checked.
fn page_params(p: &mut Params) -> Result<(usize, usize), ApiError> {
    let limit = p.parsed("limit", "a number")?.unwrap_or(NUMBERS_LIMIT_DEFAULT);
    let offset = p.parsed("offset", "a number")?.unwrap_or(0);
    if !(1..=NUMBERS_LIMIT_MAX).contains(&limit) {
        return Err(ApiError::bad_field("limit", format!("limit: {limit} is not within 1-{NUMBERS_LIMIT_MAX}")));
    }
    Ok((limit, offset))
}

/// Longest do-not-call reason, characters.
pub const DNC_REASON_MAX_CHARS: usize = 200;

/// How long `DELETE /dnc/{number}` waits for the removal to be committed.
const DNC_REMOVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The campaigns, live.
async fn campaigns(state: &ApiState) -> Result<Vec<CampaignView>, ApiError> {
    match ask(state, CoreRequest::Campaigns).await? {
        CoreReply::Campaigns { campaigns } => Ok(campaigns),
        other => {
            tracing::error!(?other, "api: the core answered a campaigns request with something else");
            Err(ApiError::internal("the call-control core gave a wrong answer to a campaigns request"))
        }
    }
}

fn no_campaign(name: &str) -> ApiError {
    ApiError::not_found(format!("no campaign {name:?} (the config in force has no [[campaign]] of that name)"))
}

/// 404 unless the configuration in force has campaign `name`.
fn check_configured(state: &ApiState, name: &str) -> Result<(), ApiError> {
    match (state.config)().campaign(name) {
        Some(_) => Ok(()),
        None => Err(no_campaign(name)),
    }
}

/// One campaign, live; 404 when the core runs none of that name.
async fn campaign_view(state: &ApiState, name: &str) -> Result<CampaignView, ApiError> {
    campaigns(state).await?.into_iter().find(|c| c.name == name).ok_or_else(|| no_campaign(name))
}

pub(crate) async fn list(State(state): State<ApiState>, _c: Caller) -> Result<Json<Vec<CampaignView>>, ApiError> {
    Ok(Json(campaigns(&state).await?))
}

/// A campaign live, with the records' counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CampaignDetail {
    #[serde(flatten)]
    pub live: CampaignView,
    /// Numbers per state and final result, and attempts, as recorded.
    pub records: CampaignReport,
}

pub(crate) async fn get(
    State(state): State<ApiState>,
    _c: Caller,
    Path(name): Path<String>,
) -> Result<Json<CampaignDetail>, ApiError> {
    let live = campaign_view(&state, &name).await?;
    let reader = state.reader.clone();
    let records = blocking(move || reader.campaign_summary(&name)).await?;
    Ok(Json(CampaignDetail { live, records }))
}

/// What `GET /campaigns/{name}/numbers` selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct NumbersQuery {
    state: Option<NumberState>,
    result: Option<CallResult>,
    limit: usize,
    offset: usize,
}

impl NumbersQuery {
    fn parse(query: Option<&str>) -> Result<NumbersQuery, ApiError> {
        let mut p = Params::parse(query)?;
        let states = NumberState::ALL.map(|s| (s.as_str(), s));
        let results = CallResult::ALL.map(|r| (r.as_str(), r));
        let state = p.choice("state", &states)?;
        let result = p.choice("result", &results)?;
        let (limit, offset) = page_params(&mut p)?;
        p.finish()?;
        let q = NumbersQuery { state, result, limit, offset };
        if let (Some(state), Some(result)) = (q.state, q.result)
            && state != NumberState::Done
        {
            return Err(ApiError::bad_field(
                "result",
                format!(
                    "result: only done numbers have a final result, so state={state} with result={result} selects nothing"
                ),
            ));
        }
        Ok(q)
    }

    /// The records' selection for this page.
    fn selection(&self) -> NumberSelection {
        NumberSelection {
            state: self.state,
            result: self.result,
            offset: self.offset as u64,
            limit: Some(self.limit as u64),
        }
    }
}

/// A page of a campaign's numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NumbersPage {
    pub campaign: String,
    /// Numbers the filter selects, over every page.
    pub total: usize,
    pub offset: usize,
    pub limit: usize,
    /// In dialling order, each with its attempts.
    pub numbers: Vec<NumberResult>,
}

pub(crate) async fn numbers(
    State(state): State<ApiState>,
    _c: Caller,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<NumbersPage>, ApiError> {
    let q = NumbersQuery::parse(query.as_deref())?;
    let configured = check_configured(&state, &name);
    let reader = state.reader.clone();
    let campaign = name.clone();
    let sel = q.selection();
    let (total, numbers, recorded) = blocking(move || {
        let (total, numbers) = reader.campaign_results_page(&campaign, &sel)?;
        // Whether the records hold any number of the campaign at all.
        let recorded = total > 0 || reader.campaign_summary(&campaign)?.numbers > 0;
        Ok::<_, QueryError>((total, numbers, recorded))
    })
    .await?;
    // A campaign gone from the config still has its results; a name that
    // is neither configured nor recorded is a mistake.
    if !recorded {
        configured?;
    }
    Ok(Json(NumbersPage { campaign: name, total: total as usize, offset: q.offset, limit: q.limit, numbers }))
}

/// The answer to an import: the records' report, and what did not follow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CampaignImport {
    #[serde(flatten)]
    pub report: CampaignImportReport,
    /// The numbers are stored but the core could not be told: they are
    /// dialled after a config reload or a restart. Empty normally.
    pub warnings: Vec<String>,
}

fn import_error(e: CampaignImportError) -> ApiError {
    match e {
        CampaignImportError::File(_) => ApiError::bad_field("body", e.to_string()),
        CampaignImportError::Write(w) => w.into(),
    }
}

pub(crate) async fn import(
    State(state): State<ApiState>,
    Staff(session): Staff,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
    req: Request,
) -> Result<Json<CampaignImport>, ApiError> {
    let mut p = Params::parse(query.as_deref())?;
    let dry_run = p.flag("dry_run")?.unwrap_or(false);
    p.finish()?;
    check_configured(&state, &name)?;
    let data = read_limited(req, CSV_LIMIT).await?;
    let records = state.records.clone();
    let campaign = name.clone();
    let report = tokio::task::spawn_blocking(move || records.import_campaign_numbers(&campaign, &data, dry_run))
        .await
        .map_err(ApiError::task)?
        .map_err(import_error)?;
    tracing::info!(by = %session.username, campaign = %name, rows = report.rows, added = report.added,
        dnc = report.dnc, rejected = report.problems.len(), dry_run, "api: campaign numbers imported");
    let mut warnings = Vec::new();
    if !dry_run && report.added + report.dnc > 0 {
        let request = CoreRequest::CampaignNumbersAdded { campaign: name.clone() };
        if let Err(e) = ask(&state, request).await {
            tracing::warn!(campaign = %name, error = %e, "api: the core was not told of imported numbers");
            warnings.push(format!(
                "the numbers are stored, but the call core was not told ({}): campaign {name:?} dials them after \
                 a config reload or a restart",
                e.message
            ));
        }
    }
    Ok(Json(CampaignImport { report, warnings }))
}

/// Pauses or resumes; answers the campaign as it is after.
async fn pause_or_resume(
    state: &ApiState,
    session: &Session,
    name: String,
    paused: bool,
) -> Result<Json<CampaignView>, ApiError> {
    check_configured(state, &name)?;
    tracing::info!(by = %session.username, campaign = %name, paused, "api: campaign pause");
    ask(state, CoreRequest::CampaignPause { campaign: name.clone(), paused, by: session.username.clone() }).await?;
    Ok(Json(campaign_view(state, &name).await?))
}

pub(crate) async fn pause(
    State(state): State<ApiState>,
    Staff(session): Staff,
    Path(name): Path<String>,
    OptionalJson(NoBody {}): OptionalJson<NoBody>,
) -> Result<Json<CampaignView>, ApiError> {
    pause_or_resume(&state, &session, name, true).await
}

pub(crate) async fn resume(
    State(state): State<ApiState>,
    Staff(session): Staff,
    Path(name): Path<String>,
    OptionalJson(NoBody {}): OptionalJson<NoBody>,
) -> Result<Json<CampaignView>, ApiError> {
    pause_or_resume(&state, &session, name, false).await
}

// --- the do-not-call list ----------------------------------------------------

/// A number checked against the do-not-call list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DncCheck {
    /// As asked.
    pub number: String,
    pub listed: bool,
    /// The entry it matches (the exact one first).
    pub entry: Option<DncEntry>,
}

impl DncCheck {
    fn new(number: String, entry: Option<DncEntry>) -> DncCheck {
        DncCheck { number, listed: entry.is_some(), entry }
    }
}

/// A number as the list takes it; 400 naming `field` otherwise.
fn dnc_number(field: &str, text: &str) -> Result<PhoneNumber, ApiError> {
    PhoneNumber::parse(text).map_err(|e| ApiError::bad_field(field, format!("{field}: {e}")))
}

/// A reason: up to [`DNC_REASON_MAX_CHARS`] characters, no control
/// characters; surrounding blanks are dropped.
fn dnc_reason(reason: Option<String>) -> Result<String, ApiError> {
    let reason = reason.unwrap_or_default().trim().to_string();
    if reason.chars().count() > DNC_REASON_MAX_CHARS {
        return Err(ApiError::bad_field(
            "reason",
            format!("reason: {} characters, more than {DNC_REASON_MAX_CHARS}", reason.chars().count()),
        ));
    }
    if reason.chars().any(char::is_control) {
        return Err(ApiError::bad_field("reason", format!("reason: {reason:?} holds a control character")));
    }
    Ok(reason)
}

/// A page of the do-not-call list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DncPage {
    /// Entries on the list, over every page.
    pub total: u64,
    pub offset: usize,
    pub limit: usize,
    /// Oldest first.
    pub entries: Vec<DncEntry>,
}

pub(crate) async fn dnc_list(
    State(state): State<ApiState>,
    _c: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<DncPage>, ApiError> {
    let mut p = Params::parse(query.as_deref())?;
    let (limit, offset) = page_params(&mut p)?;
    p.finish()?;
    let reader = state.reader.clone();
    let (total, entries) = blocking(move || reader.dnc_page(offset as u64, limit as u64)).await?;
    Ok(Json(DncPage { total, offset, limit, entries }))
}

pub(crate) async fn dnc_check(
    State(state): State<ApiState>,
    _c: Caller,
    Path(number): Path<String>,
) -> Result<Json<DncCheck>, ApiError> {
    dnc_number("number", &number)?;
    let reader = state.reader.clone();
    let asked = number.clone();
    let entry = blocking(move || reader.dnc_lookup(&asked)).await?;
    Ok(Json(DncCheck::new(number, entry)))
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DncBody {
    number: String,
    reason: Option<String>,
}

pub(crate) async fn dnc_add(
    State(state): State<ApiState>,
    Staff(session): Staff,
    JsonBody(body): JsonBody<DncBody>,
) -> Result<Json<DncCheck>, ApiError> {
    let number = dnc_number("number", &body.number)?.entered().to_string();
    let reason = dnc_reason(body.reason)?;
    tracing::info!(by = %session.username, %number, %reason, "api: do-not-call");
    ask(&state, CoreRequest::DoNotCall { number: number.clone(), reason }).await?;
    // The core journalled the entry before it answered; this request goes
    // through the same records queue after it, so it reads the entry
    // committed.
    let records = state.records.clone();
    let asked = number.clone();
    let entry = blocking(move || {
        records
            .request("read the do-not-call entry", move |conn| Ok(crate::records::campaign::dnc_lookup(conn, &asked)))
    })
    .await?
    .map_err(ApiError::from)?;
    Ok(Json(DncCheck::new(number, entry)))
}

/// The entries a removal took off the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DncRemoved {
    /// As asked.
    pub number: String,
    /// Every entry the number matched, exact one first.
    pub removed: Vec<DncEntry>,
}

fn wait_error(e: WaitError) -> ApiError {
    match e {
        WaitError::Failed { .. } => {
            tracing::error!(error = %e, "api: removing a do-not-call entry failed");
            ApiError::internal(format!("removing the do-not-call entry: {e}"))
        }
        WaitError::Timeout { .. } | WaitError::NotIssued { .. } | WaitError::Closed { .. } => {
            ApiError::unavailable(format!("removing the do-not-call entry: {e}"))
        }
    }
}

pub(crate) async fn dnc_remove(
    State(state): State<ApiState>,
    Staff(session): Staff,
    Path(number): Path<String>,
) -> Result<Json<DncRemoved>, ApiError> {
    let parsed = dnc_number("number", &number)?;
    let reader = state.reader.clone();
    let key = parsed.key().to_string();
    let hits = blocking(move || {
        reader.with_conn(|conn| {
            crate::records::campaign::dnc_hits(conn, &key).map_err(QueryError::sqlite("look up the do-not-call list"))
        })
    })
    .await?;
    if hits.is_empty() {
        return Err(ApiError::not_found(format!("{number:?} is not on the do-not-call list")));
    }
    let records = state.records.clone();
    blocking(move || {
        let seq = records.submit(JournalOp::DoNotCallRemoved { number: parsed }).map_err(WriteError::from)?;
        records.wait_committed(seq, DNC_REMOVE_TIMEOUT).map_err(wait_error)
    })
    .await?;
    tracing::info!(by = %session.username, %number, removed = hits.len(), "api: do-not-call entry removed");
    Ok(Json(DncRemoved { number, removed: hits }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(q: &str) -> Result<NumbersQuery, ApiError> {
        NumbersQuery::parse(Some(q))
    }

    #[test]
    fn numbers_queries_are_checked() {
        assert_eq!(
            query("").unwrap(),
            NumbersQuery { state: None, result: None, limit: NUMBERS_LIMIT_DEFAULT, offset: 0 }
        );
        assert_eq!(
            query("state=done&result=no_answer&limit=5&offset=10").unwrap(),
            NumbersQuery { state: Some(NumberState::Done), result: Some(CallResult::NoAnswer), limit: 5, offset: 10 }
        );
        assert_eq!(query("state=retry_wait").unwrap().state, Some(NumberState::RetryWait));
        for (q, field) in [
            ("state=ringing", "state"),
            ("result=answred", "result"),
            ("limit=0", "limit"),
            ("limit=1001", "limit"),
            ("limit=-1", "limit"),
            ("offset=x", "offset"),
            ("state=pending&result=busy", "result"),
            ("status=done", "status"),
        ] {
            let e = query(q).unwrap_err();
            assert_eq!((e.status.as_u16(), e.field.as_deref()), (400, Some(field)), "{q}: {e}");
        }
        let e = query("state=ringing").unwrap_err();
        assert!(e.message.contains("pending, dialing, retry_wait, done"), "{e}");
    }

    #[test]
    fn reasons_and_numbers() {
        assert_eq!(dnc_reason(None).unwrap(), "");
        assert_eq!(dnc_reason(Some("  asked on the phone ".into())).unwrap(), "asked on the phone");
        assert_eq!(dnc_reason(Some("x".repeat(201))).unwrap_err().field.as_deref(), Some("reason"));
        assert!(dnc_reason(Some("x".repeat(200))).is_ok());
        assert_eq!(dnc_reason(Some("a\nb".into())).unwrap_err().field.as_deref(), Some("reason"));
        assert_eq!(dnc_number("number", "+86 10 6552 9988").unwrap().entered(), "+86 10 6552 9988");
        let e = dnc_number("number", "555-1234x").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("number"));
        assert!(e.message.starts_with("number: ") && e.message.contains("'x'"), "{e}");
        assert_eq!(dnc_number("number", " ").unwrap_err().field.as_deref(), Some("number"));
    }
}
