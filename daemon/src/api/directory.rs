//! The directory's extensions and the users (admins only for changes).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;

use super::ApiState;
use super::auth::{Admin, Caller, hash_password};
use super::body::JsonBody;
use super::customers::blocking;
use super::error::ApiError;
use crate::records::{Extension, NewUser, Role, User, UserId, UserUpdate, WriteError};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExtensionBody {
    number: String,
    #[serde(default)]
    name: String,
    channel: Option<u32>,
    user: Option<i64>,
}

impl ExtensionBody {
    fn into_extension(self) -> Extension {
        Extension {
            number: self.number.trim().to_string(),
            name: self.name,
            channel: self.channel,
            user: self.user.map(UserId),
            ring_groups: Vec::new(),
        }
    }
}

pub(crate) async fn list_extensions(
    State(state): State<ApiState>,
    _c: Caller,
) -> Result<Json<Vec<Extension>>, ApiError> {
    let reader = state.reader.clone();
    Ok(Json(blocking(move || reader.extensions()).await?))
}

async fn read_extension(state: &ApiState, number: String) -> Result<Extension, ApiError> {
    let reader = state.reader.clone();
    let key = number.clone();
    blocking(move || reader.extension(&key))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("extension {number} not found")))
}

pub(crate) async fn create_extension(
    State(state): State<ApiState>,
    Admin(session): Admin,
    JsonBody(body): JsonBody<ExtensionBody>,
) -> Result<(StatusCode, Json<Extension>), ApiError> {
    let ext = body.into_extension();
    let number = ext.number.clone();
    let records = state.records.clone();
    blocking(move || records.create_extension(ext)).await?;
    tracing::info!(by = %session.username, %number, "api: extension created");
    Ok((StatusCode::CREATED, Json(read_extension(&state, number).await?)))
}

pub(crate) async fn update_extension(
    State(state): State<ApiState>,
    Admin(session): Admin,
    Path(number): Path<String>,
    JsonBody(body): JsonBody<ExtensionBody>,
) -> Result<Json<Extension>, ApiError> {
    let ext = body.into_extension();
    let new_number = ext.number.clone();
    let records = state.records.clone();
    let old = number.clone();
    blocking(move || records.update_extension(&old, ext)).await?;
    tracing::info!(by = %session.username, %number, %new_number, "api: extension updated");
    Ok(Json(read_extension(&state, new_number).await?))
}

pub(crate) async fn delete_extension(
    State(state): State<ApiState>,
    Admin(session): Admin,
    Path(number): Path<String>,
) -> Result<StatusCode, ApiError> {
    let records = state.records.clone();
    let key = number.clone();
    if blocking(move || records.delete_extension(&key)).await? {
        tracing::info!(by = %session.username, %number, "api: extension deleted");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("extension {number} not found")))
    }
}

/// A role as written in a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RoleBody {
    Admin,
    Supervisor,
    Agent,
}

impl From<RoleBody> for Role {
    fn from(r: RoleBody) -> Role {
        match r {
            RoleBody::Admin => Role::Admin,
            RoleBody::Supervisor => Role::Supervisor,
            RoleBody::Agent => Role::Agent,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewUserBody {
    username: String,
    password: String,
    role: RoleBody,
    display_name: Option<String>,
    #[serde(default)]
    disabled: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserUpdateBody {
    /// Must be the current name if given (users are not renamed).
    username: Option<String>,
    password: Option<String>,
    role: Option<RoleBody>,
    display_name: Option<String>,
    disabled: Option<bool>,
}

fn user_id(text: &str) -> Result<UserId, ApiError> {
    text.parse::<i64>().map(UserId).map_err(|_| ApiError::bad_field("id", format!("id: {text:?} is not a user id")))
}

async fn hash(password: String) -> Result<String, ApiError> {
    if password.is_empty() {
        return Err(ApiError::bad_field("password", "password: empty"));
    }
    tokio::task::spawn_blocking(move || hash_password(&password)).await.map_err(ApiError::task)?.map_err(|e| {
        tracing::error!(error = %e, "api: cannot hash a password");
        ApiError::internal(format!("cannot hash the password: {e}"))
    })
}

async fn read_user(state: &ApiState, id: UserId) -> Result<User, ApiError> {
    let reader = state.reader.clone();
    blocking(move || reader.user(id)).await?.ok_or_else(|| ApiError::not_found(format!("user {id} not found")))
}

/// Refuses a change that would leave no enabled admin.
async fn keep_an_admin(state: &ApiState, id: UserId) -> Result<(), ApiError> {
    let reader = state.reader.clone();
    let users = blocking(move || reader.users()).await?;
    if !users.iter().any(|u| u.id != id && u.role == Role::Admin && !u.disabled) {
        return Err(ApiError::conflict("this would leave no enabled admin"));
    }
    Ok(())
}

pub(crate) async fn list_users(State(state): State<ApiState>, _a: Admin) -> Result<Json<Vec<User>>, ApiError> {
    let reader = state.reader.clone();
    Ok(Json(blocking(move || reader.users()).await?))
}

pub(crate) async fn create_user(
    State(state): State<ApiState>,
    Admin(session): Admin,
    JsonBody(body): JsonBody<NewUserBody>,
) -> Result<(StatusCode, Json<User>), ApiError> {
    let password_hash = hash(body.password).await?;
    let username = body.username.trim().to_string();
    let new = NewUser {
        display_name: body.display_name.unwrap_or_else(|| username.clone()),
        username,
        role: body.role.into(),
        password_hash,
    };
    let records = state.records.clone();
    let disabled = body.disabled;
    let id = blocking(move || {
        let id = records.create_user(new)?;
        if disabled {
            records.update_user(id, UserUpdate { disabled: Some(true), ..UserUpdate::default() })?;
        }
        Ok::<_, WriteError>(id)
    })
    .await?;
    tracing::info!(by = %session.username, %id, "api: user created");
    Ok((StatusCode::CREATED, Json(read_user(&state, id).await?)))
}

pub(crate) async fn update_user(
    State(state): State<ApiState>,
    Admin(session): Admin,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<UserUpdateBody>,
) -> Result<Json<User>, ApiError> {
    let id = user_id(&id)?;
    let current = read_user(&state, id).await?;
    if let Some(name) = &body.username
        && name.trim() != current.username
    {
        return Err(ApiError::bad_field("username", "username: users cannot be renamed"));
    }
    let role = body.role.map(Role::from);
    let demoted =
        current.role == Role::Admin && (role.is_some_and(|r| r != Role::Admin) || body.disabled == Some(true));
    if demoted {
        keep_an_admin(&state, id).await?;
    }
    let password_hash = match body.password {
        Some(p) => Some(hash(p).await?),
        None => None,
    };
    let ends_sessions =
        password_hash.is_some() || role.is_some_and(|r| r != current.role) || body.disabled == Some(true);
    let update = UserUpdate { role, display_name: body.display_name, password_hash, disabled: body.disabled };
    let records = state.records.clone();
    let user = blocking(move || records.update_user(id, update)).await?;
    if ends_sessions {
        state.auth.end_sessions_of(id);
    }
    tracing::info!(by = %session.username, %id, "api: user updated");
    Ok(Json(user))
}

pub(crate) async fn delete_user(
    State(state): State<ApiState>,
    Admin(session): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = user_id(&id)?;
    let current = read_user(&state, id).await?;
    if current.role == Role::Admin {
        keep_an_admin(&state, id).await?;
    }
    let records = state.records.clone();
    if blocking(move || records.delete_user(id)).await? {
        state.auth.end_sessions_of(id);
        tracing::info!(by = %session.username, %id, "api: user deleted");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("user {id} not found")))
    }
}
