//! Customers (CRUD, search, screen-pop lookup, CSV import) and the call
//! journal (`GET /cdr`).

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::ApiState;
use super::auth::{Caller, Staff, extensions_of};
use super::body::{CSV_LIMIT, JsonBody, Params, read_limited};
use super::de::nullable;
use super::error::ApiError;
use crate::records::{
    AssignedAgent, CallCursor, CallFilter, CallOrder, CallPage, CallPageRequest, CallRecord, Customer, CustomerId,
    CustomerQuery, CustomerUpdate, Direction, HangupCause, ImportOptions, ImportReport, NewCustomer, QueryError,
    RecordsReader, Role, UserId,
};

/// Runs a blocking records call off the async threads.
pub(crate) async fn blocking<T: Send + 'static, E: Into<ApiError> + Send + 'static>(
    work: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work).await.map_err(ApiError::task)?.map_err(Into::into)
}

fn customer_id(text: &str) -> Result<CustomerId, ApiError> {
    text.parse::<i64>()
        .map(CustomerId)
        .map_err(|_| ApiError::bad_field("id", format!("id: {text:?} is not a customer id")))
}

/// `{"user": 3}` or `{"name": "Li Wei"}`, as a customer's `assigned` shows.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AssignedBody {
    user: Option<i64>,
    name: Option<String>,
}

fn assigned(body: Option<AssignedBody>) -> Result<Option<AssignedAgent>, ApiError> {
    match body {
        None => Ok(None),
        Some(AssignedBody { user: Some(id), name: None }) => Ok(Some(AssignedAgent::User(UserId(id)))),
        Some(AssignedBody { user: None, name: Some(name) }) => Ok(Some(AssignedAgent::Name(name))),
        Some(AssignedBody { user: None, name: None }) => Ok(None),
        Some(_) => Err(ApiError::bad_field("assigned", "assigned: give `user` or `name`, not both")),
    }
}

/// Names the request's field where the records layer names its column:
/// its `assigned_agent` is `assigned.user` or `assigned.name` here (just
/// `assigned` when the request did not give one).
fn request_field(mut e: ApiError, given: Option<&Option<AssignedAgent>>) -> ApiError {
    if e.field.as_deref() == Some("assigned_agent") {
        let field = match given {
            Some(Some(AssignedAgent::User(_))) => "assigned.user",
            Some(Some(AssignedAgent::Name(_))) => "assigned.name",
            _ => "assigned",
        };
        if let Some(rest) = e.message.strip_prefix("assigned_agent") {
            e.message = format!("{field}{rest}");
        }
        e.field = Some(field.into());
    }
    e
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewCustomerBody {
    name: String,
    #[serde(default)]
    company: String,
    #[serde(default)]
    notes: String,
    assigned: Option<AssignedBody>,
    #[serde(default)]
    vip: u8,
    #[serde(default)]
    phones: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CustomerUpdateBody {
    name: Option<String>,
    company: Option<String>,
    notes: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    assigned: Option<Option<AssignedBody>>,
    vip: Option<u8>,
    phones: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct Created {
    id: CustomerId,
}

pub(crate) async fn search(
    State(state): State<ApiState>,
    _c: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<Customer>>, ApiError> {
    let mut p = Params::parse(query.as_deref())?;
    let q = CustomerQuery {
        text: p.text("q").unwrap_or_default(),
        limit: p.parsed("limit", "a number")?.unwrap_or(50),
        offset: p.parsed("offset", "a number")?.unwrap_or(0),
    };
    p.finish()?;
    let reader = state.reader.clone();
    Ok(Json(blocking(move || reader.search_customers(&q)).await?))
}

pub(crate) async fn lookup(
    State(state): State<ApiState>,
    _c: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<Customer>>, ApiError> {
    let mut p = Params::parse(query.as_deref())?;
    let number = p.text("number").ok_or_else(|| ApiError::bad_field("number", "number: missing"))?;
    p.finish()?;
    let reader = state.reader.clone();
    Ok(Json(blocking(move || reader.customers_by_phone(&number)).await?))
}

pub(crate) async fn get(
    State(state): State<ApiState>,
    _c: Caller,
    Path(id): Path<String>,
) -> Result<Json<Customer>, ApiError> {
    let id = customer_id(&id)?;
    let reader = state.reader.clone();
    match blocking(move || reader.customer(id)).await? {
        Some(c) => Ok(Json(c)),
        None => Err(ApiError::not_found(format!("customer {id} not found"))),
    }
}

pub(crate) async fn create(
    State(state): State<ApiState>,
    Caller(session): Caller,
    JsonBody(body): JsonBody<NewCustomerBody>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let new = NewCustomer {
        name: body.name,
        company: body.company,
        notes: body.notes,
        assigned: assigned(body.assigned)?,
        vip: body.vip,
        phones: body.phones,
    };
    let records = state.records.clone();
    let given = new.assigned.clone();
    let id = blocking(move || records.create_customer(new)).await.map_err(|e| request_field(e, Some(&given)))?;
    tracing::info!(by = %session.username, %id, "api: customer created");
    Ok((StatusCode::CREATED, Json(Created { id })))
}

pub(crate) async fn update(
    State(state): State<ApiState>,
    Caller(session): Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<CustomerUpdateBody>,
) -> Result<Json<Customer>, ApiError> {
    let id = customer_id(&id)?;
    let update = CustomerUpdate {
        name: body.name,
        company: body.company,
        notes: body.notes,
        assigned: match body.assigned {
            None => None,
            Some(a) => Some(assigned(a)?),
        },
        vip: body.vip,
        phones: body.phones,
    };
    let records = state.records.clone();
    let given = update.assigned.clone();
    let customer =
        blocking(move || records.update_customer(id, update)).await.map_err(|e| request_field(e, given.as_ref()))?;
    tracing::info!(by = %session.username, %id, "api: customer updated");
    Ok(Json(customer))
}

pub(crate) async fn delete(
    State(state): State<ApiState>,
    Staff(session): Staff,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = customer_id(&id)?;
    let records = state.records.clone();
    if blocking(move || records.delete_customer(id)).await? {
        tracing::info!(by = %session.username, %id, "api: customer deleted");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("customer {id} not found")))
    }
}

pub(crate) async fn import(
    State(state): State<ApiState>,
    Staff(session): Staff,
    RawQuery(query): RawQuery,
    req: Request,
) -> Result<Json<ImportReport>, ApiError> {
    let mut p = Params::parse(query.as_deref())?;
    let options = ImportOptions {
        dry_run: p.flag("dry_run")?.unwrap_or(false),
        update_existing: p.flag("update")?.unwrap_or(false),
    };
    p.finish()?;
    let data = read_limited(req, CSV_LIMIT).await?;
    let records = state.records.clone();
    let report = blocking(move || records.import_customers(&data, options)).await?;
    tracing::info!(by = %session.username, rows = report.rows, inserted = report.inserted,
        updated = report.updated, rejected = report.problems.len(), dry_run = report.dry_run, "api: customer import");
    Ok(Json(report))
}

pub(crate) async fn cdr(
    State(state): State<ApiState>,
    Caller(session): Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<CallPage>, ApiError> {
    let mut p = Params::parse(query.as_deref())?;
    let mut filter = CallFilter {
        from_wall_ms: p.parsed("from_ms", "a time in ms since 1970")?,
        until_wall_ms: p.parsed("to_ms", "a time in ms since 1970")?,
        number: p.text("number"),
        extension: p.text("extension"),
        channel: p.parsed("channel", "a channel number")?,
        direction: p.choice(
            "direction",
            &[("inbound", Direction::Inbound), ("outbound", Direction::Outbound), ("internal", Direction::Internal)],
        )?,
        cause: p.text("cause").map(|c| HangupCause::parse(&c)),
        in_flight: None,
    };
    let page =
        CallPageRequest {
            limit: p.parsed("limit", "a number")?.unwrap_or(50),
            after: match p.text("after") {
                None => None,
                Some(text) => Some(text.parse::<CallCursor>().map_err(|_| {
                    ApiError::bad_field("after", format!("after: {text:?} is not a cursor from `next`"))
                })?),
            },
            order: p
                .choice("order", &[("newest", CallOrder::NewestFirst), ("oldest", CallOrder::OldestFirst)])?
                .unwrap_or_default(),
        };
    p.finish()?;
    let reader = state.reader.clone();
    if session.role == Role::Agent {
        let own = extensions_of(&state, &session).await?;
        match &filter.extension {
            Some(x) if !own.contains(x) => {
                return Err(ApiError::forbidden(format!("agents may only read their own extension's calls, not {x}")));
            }
            Some(_) => {}
            None if own.is_empty() => return Err(ApiError::forbidden("you have no extension, so no call history")),
            None if own.len() == 1 => filter.extension = own.first().cloned(),
            None => return Ok(Json(blocking(move || calls_of_extensions(&reader, &filter, &page, &own)).await?)),
        }
    }
    Ok(Json(blocking(move || reader.calls(&filter, &page)).await?))
}

/// A page of the calls of any of `extensions` (an agent at several
/// phones): one query per extension, merged in the page's order, a call of
/// two of them counted once.
///
/// Each query returns the first `limit` calls after the cursor, so every
/// call up to the `limit`-th of the merge has been fetched: the merged page
/// is exact, and there is more when the merge holds more than `limit` calls
/// or any query had more. (Calls of two extensions can make a page shorter
/// than `limit` without being the last.)
fn calls_of_extensions(
    reader: &RecordsReader,
    filter: &CallFilter,
    page: &CallPageRequest,
    extensions: &BTreeSet<String>,
) -> Result<CallPage, QueryError> {
    let mut calls: Vec<CallRecord> = Vec::new();
    let mut more = false;
    for x in extensions {
        let one = reader.calls(&CallFilter { extension: Some(x.clone()), ..filter.clone() }, page)?;
        more |= one.next.is_some();
        for call in one.calls {
            if !calls.iter().any(|c| c.id == call.id) {
                calls.push(call);
            }
        }
    }
    let key = |c: &CallRecord| (c.start_wall_ms, c.id);
    match page.order {
        CallOrder::OldestFirst => calls.sort_by_key(key),
        CallOrder::NewestFirst => calls.sort_by_key(|c| std::cmp::Reverse(key(c))),
    }
    let limit = page.limit as usize;
    more |= calls.len() > limit;
    calls.truncate(limit);
    let next = if more { calls.last().map(|c| CallCursor { start_wall_ms: c.start_wall_ms, id: c.id }) } else { None };
    Ok(CallPage { calls, next })
}
