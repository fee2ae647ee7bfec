//! Who may do what with a process's instances, denied by default, in Camunda
//! 7's spirit. Four permissions per process key:
//!
//! - **start**: administrators and system accounts; the process's
//!   `camunda:candidateStarterUsers` and members of its
//!   `camunda:candidateStarterGroups`; holders of a `start` grant.
//! - **read** (the instance, its variables, history and comments):
//!   administrators; holders of a `read` grant; and, on one instance, the
//!   person who started it and every user or group that is or was a task's
//!   assignee or candidate in it.
//! - **act** (send the messages and signals its events wait for):
//!   administrators, system accounts, holders of an `act` grant.
//! - **operate** (cancel, retry): administrators and holders of an `operate` grant.
//!
//! Grants are given by administrators, to a group or a user, on one key or
//! on every process (`*`), and audited. A detail the caller may not read
//! answers 404, exactly as one that does not exist; every denial is audited.

use millrace_engine::ProcessDefinition;
use millrace_store::{GrantedKeys, Reader};

use crate::auth::{Principal, Role};
use crate::error::{ApiError, ApiResult};
use crate::AppState;

/// A permission on a process's instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Start instances.
    Start,
    /// Read instances, their variables, history and comments.
    Read,
    /// Send the messages and signals its instances wait for.
    Act,
    /// Cancel and retry.
    Operate,
}

impl Permission {
    /// Every permission, in the order the API lists them.
    pub const ALL: [Permission; 4] = [
        Permission::Start,
        Permission::Read,
        Permission::Act,
        Permission::Operate,
    ];

    /// Its name, as stored and as the API shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Start => "start",
            Permission::Read => "read",
            Permission::Act => "act",
            Permission::Operate => "operate",
        }
    }

    /// Reads a permission's name.
    pub fn parse(s: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// Whether `role` holds this permission on every process by itself.
    fn held_by_role(self, role: Role) -> bool {
        match role {
            Role::Admin => true,
            // Integrations start instances and deliver messages and signals;
            // they read only what they started or were granted.
            Role::System => matches!(self, Permission::Start | Permission::Act),
            Role::Analyst | Role::Staff => false,
        }
    }
}

/// The process keys `p` holds `permission` on, by role or by grant.
pub async fn granted(
    state: &AppState,
    p: &Principal,
    permission: Permission,
) -> ApiResult<GrantedKeys> {
    if permission.held_by_role(p.role) {
        return Ok(GrantedKeys::every());
    }
    Ok(state
        .store
        .granted_keys(permission.as_str(), &p.user, &p.groups)
        .await?)
}

/// Whether `p` may start `def` (its latest startable version).
pub async fn may_start(
    state: &AppState,
    p: &Principal,
    def: &ProcessDefinition,
) -> ApiResult<bool> {
    if named_starter(p, def) {
        return Ok(true);
    }
    Ok(granted(state, p, Permission::Start).await?.covers(&def.key))
}

/// Whether `def` names `p` among its candidate starters (by user or group).
pub fn named_starter(p: &Principal, def: &ProcessDefinition) -> bool {
    let starters = &def.starters;
    starters.users.contains(&p.user) || starters.groups.iter().any(|g| p.groups.contains(g))
}

/// The process key of instance `id` when `p` may read it; otherwise a 404
/// (the same as for an instance that does not exist), with the denial audited.
pub async fn readable(
    state: &AppState,
    p: &Principal,
    id: &str,
    action: &str,
) -> ApiResult<String> {
    let keys = granted(state, p, Permission::Read).await?;
    let reader = Reader {
        user: &p.user,
        groups: &p.groups,
        keys: &keys,
    };
    match state.store.readable_instance(id, &reader).await? {
        Some(key) => Ok(key),
        None => {
            state.audit(Some(&p.user), action, Some(id), "denied").await;
            Err(ApiError::not_found(format!("no instance {id:?}")))
        }
    }
}

/// Whether `p` may read instance `id` (no audit: for deciding what to say).
pub async fn may_read(state: &AppState, p: &Principal, id: &str) -> ApiResult<bool> {
    let keys = granted(state, p, Permission::Read).await?;
    let reader = Reader {
        user: &p.user,
        groups: &p.groups,
        keys: &keys,
    };
    Ok(state.store.readable_instance(id, &reader).await?.is_some())
}

/// Allows an operation (cancel, retry) on instance `id` when `p` holds
/// `operate` on its process; otherwise 403 for one who may read it and 404
/// for anyone else (both audited).
pub async fn operable(state: &AppState, p: &Principal, id: &str, action: &str) -> ApiResult<()> {
    let key = match state.store.instance_version(id).await {
        Ok((key, _)) => Some(key),
        Err(millrace_store::StoreError::NotFound(..)) => None,
        Err(e) => return Err(e.into()),
    };
    if let Some(key) = &key {
        if granted(state, p, Permission::Operate).await?.covers(key) {
            return Ok(());
        }
    }
    let key = readable(state, p, id, action).await?;
    require(state, p, Permission::Operate, &key, action, id).await
}

/// Refuses with 403 (audited) unless `p` holds `permission` on `key`.
pub async fn require(
    state: &AppState,
    p: &Principal,
    permission: Permission,
    key: &str,
    action: &str,
    target: &str,
) -> ApiResult<()> {
    if granted(state, p, permission).await?.covers(key) {
        return Ok(());
    }
    state
        .audit(Some(&p.user), action, Some(target), "denied")
        .await;
    Err(ApiError::forbidden(format!(
        "you may not {} instances of {key:?}",
        permission.as_str()
    )))
}
