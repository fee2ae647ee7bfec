//! The request view (`/api/requests/{id}`) and the request search
//! (`/api/requests?q=`): an instance as staff see it, its header and
//! details as the process declares them in `camunda:properties`:
//!
//! - `request.title`, `request.status`, `request.vip`: variable paths for
//!   the title, the status and the VIP badge;
//! - `request.customer`, `request.account`, `request.phone`,
//!   `request.address`, `request.priority`: the header's fields;
//! - `request.details`: comma-separated variable paths for the details tab.
//!
//! A path is a process variable, then map fields by dots (`customer.name`).

use axum::extract::State;
use axum::Json;
use chrono::Utc;
use millrace_api::{RequestAction, RequestField, RequestOut, RequestSummaryOut};
use millrace_engine::instance::SubscriptionKind;
use millrace_engine::{Instance, ProcessDefinition, Value};
use millrace_store::Reader;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::{Principal, Role};
use crate::authz::{self, Permission};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::{ApiPath, ApiQuery, AppState};

/// The header fields a process may declare, in the order shown.
const HEADER: [(&str, &str); 5] = [
    ("request.customer", "Customer"),
    ("request.account", "Account number"),
    ("request.phone", "Phone"),
    ("request.address", "Address"),
    ("request.priority", "Priority"),
];

/// The value at a variable path: a process variable, then map fields.
fn at_path<'a>(inst: &'a Instance, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.').map(str::trim);
    let mut v = inst.root_variable(parts.next()?)?;
    for field in parts {
        match v {
            Value::Map(m) => v = m.get(field)?,
            _ => return None,
        }
    }
    Some(v)
}

/// A value as staff read it.
fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(true) => "Yes".into(),
        Value::Bool(false) => "No".into(),
        Value::Int(n) => n.to_string(),
        Value::Decimal(d) => d.to_string(),
        Value::String(s) => s.clone(),
        Value::DateTime(t) => millrace_store::timestamp(*t),
        other => other.to_json().to_string(),
    }
}

fn property<'a>(def: &'a ProcessDefinition, name: &str) -> Option<&'a str> {
    def.properties
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

fn field(inst: &Instance, label: &str, path: &str) -> RequestField {
    RequestField {
        label: label.to_string(),
        path: path.to_string(),
        value: at_path(inst, path).map(text).unwrap_or_default(),
    }
}

/// A variable path as a label: `customer.accountNumber` → `Account number`.
fn label_of(path: &str) -> String {
    let last = path.rsplit('.').next().unwrap_or(path);
    let mut out = String::new();
    for (i, c) in last.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push(' ');
            out.extend(c.to_lowercase());
        } else if i == 0 {
            out.extend(c.to_uppercase());
        } else {
            out.push(if c == '_' { ' ' } else { c });
        }
    }
    out
}

/// A request as staff see it: its header, details, SLAs, the tasks the
/// reader may work and the messages it waits for that the reader may send.
#[utoipa::path(get, path = "/api/requests/{id}", params(("id" = String, Path)),
    responses((status = 200, body = RequestOut), (status = 404, body = ErrorBody)))]
pub async fn request(
    State(state): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<RequestOut>> {
    authz::readable(&state, &p, &id, "request.read").await?;
    let inst = state.store.instance(&id).await?;
    if p.role != Role::System {
        state
            .audit(Some(&p.user), "request.read", Some(&id), "ok")
            .await;
    }
    let def = state
        .store
        .definition(&inst.key, inst.version)
        .ok_or_else(|| {
            ApiError::not_found(format!("no version {} of {}", inst.version, inst.key))
        })?;
    let now = Utc::now();
    let title = property(&def, "request.title")
        .and_then(|p| at_path(&inst, p))
        .map(text)
        .filter(|t| !t.is_empty())
        .or_else(|| def.name.clone())
        .unwrap_or_else(|| inst.key.clone());
    let status = at_path(&inst, property(&def, "request.status").unwrap_or("status"))
        .map(text)
        .filter(|s| !s.is_empty());
    let vip = property(&def, "request.vip")
        .and_then(|p| at_path(&inst, p))
        .is_some_and(|v| match v {
            Value::Bool(b) => *b,
            Value::String(s) => matches!(
                s.trim().to_lowercase().as_str(),
                "true" | "yes" | "y" | "vip"
            ),
            _ => false,
        });
    let header = HEADER
        .iter()
        .filter_map(|(name, label)| property(&def, name).map(|path| field(&inst, label, path)))
        .collect();
    let details = match property(&def, "request.details") {
        Some(paths) => paths
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|path| field(&inst, &label_of(path), path))
            .collect(),
        None => inst
            .root_variables()
            .iter()
            .filter(|(_, v)| !matches!(v, Value::List(_) | Value::Map(_)))
            .map(|(name, _)| field(&inst, &label_of(name), name))
            .collect(),
    };
    let of_this = millrace_store::TaskFilter {
        instance_id: Some(id.clone()),
        ..Default::default()
    };
    // An instance has a handful of open tasks; 200 is past any real one.
    let tasks = state
        .store
        .inbox(&p.user, &p.groups, &of_this, 200, 0)
        .await?
        .into_iter()
        .map(crate::api::task_out)
        .collect();
    let (active_activities, incidents) = crate::api::waiting_and_failed(&def, &inst);
    let may_act = authz::granted(&state, &p, Permission::Act)
        .await?
        .covers(&inst.key);
    let mut actions: Vec<RequestAction> = Vec::new();
    if may_act && inst.state == millrace_engine::InstanceState::Active {
        for sub in inst.subscriptions.values() {
            if let SubscriptionKind::Message(name) = &sub.kind {
                if actions.iter().any(|a| &a.message == name) {
                    continue;
                }
                let node = def.node(sub.node);
                let form = match def.message_forms.get(&sub.node) {
                    Some(f) => Some(
                        crate::forms::action_form(&state, &def, f, &inst.root_variables()).await?,
                    ),
                    None => None,
                };
                actions.push(RequestAction {
                    message: name.clone(),
                    label: node.name.clone().unwrap_or_else(|| name.clone()),
                    element_id: node.id.clone(),
                    form,
                });
            }
        }
    }
    let slas = state
        .store
        .slas(&id)
        .await?
        .iter()
        .map(|c| crate::slas::sla_out(c, now))
        .collect();
    let element_names = def
        .nodes
        .iter()
        .filter_map(|n| Some((n.id.clone(), n.name.clone()?)))
        .collect();
    Ok(Json(RequestOut {
        request: inst
            .business_key
            .clone()
            .or_else(|| inst.root_text(millrace_store::REQUEST_ID)),
        id: inst.id.clone(),
        key: inst.key.clone(),
        version: inst.version,
        process_name: def.name.clone(),
        state: inst.state.as_str().to_string(),
        title,
        status,
        vip,
        header,
        details,
        slas,
        tasks,
        actions,
        element_names,
        active_activities,
        incidents,
        started_at: millrace_store::timestamp(inst.started_at),
        ended_at: inst.ended_at.map(millrace_store::timestamp),
    }))
}

/// The request search.
#[derive(Debug, Deserialize, IntoParams)]
pub struct RequestQuery {
    /// Text the request's id, number or any of its variables (a customer's
    /// name, account number, phone) holds, in any case: 2 to 100 characters.
    pub q: String,
}

/// Requests the caller may read that match the text, newest first (at most 50).
#[utoipa::path(get, path = "/api/requests", params(RequestQuery),
    responses((status = 200, body = [RequestSummaryOut]), (status = 400, body = ErrorBody)))]
pub async fn find_requests(
    State(state): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<RequestQuery>,
) -> ApiResult<Json<Vec<RequestSummaryOut>>> {
    let text = q.q.trim();
    if text.chars().count() < 2 || text.len() > 100 {
        return Err(ApiError::field(
            "q",
            "write 2 to 100 characters to search for",
        ));
    }
    let keys = authz::granted(&state, &p, Permission::Read).await?;
    let reader = Reader {
        user: &p.user,
        groups: &p.groups,
        keys: &keys,
    };
    let found = state.store.find_requests(&reader, text, 50).await?;
    Ok(Json(
        found
            .into_iter()
            .map(|r| RequestSummaryOut {
                id: r.id,
                key: r.key,
                request: r.request,
                status: r.status,
                state: r.state,
                started_at: r.started_at,
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::label_of;

    #[test]
    fn paths_read_as_labels() {
        assert_eq!(label_of("customer.accountNumber"), "Account number");
        assert_eq!(label_of("reason_code"), "Reason code");
        assert_eq!(label_of("status"), "Status");
    }
}
