//! Administration (administrators): users with their role and the groups
//! processes offer tasks to, API tokens (made, shown once, revoked), and the
//! audit trail filtered as the address says, with its CSV export.

use std::collections::BTreeMap;

use leptos::prelude::*;
use millrace_api::{AuditOut, TokenCreated, TokenIn, TokenOut, UserIn, UserOut};

use crate::app::{short_time, Session};
use crate::http;

/// The administration pages' tabs.
fn tabs(current: &'static str) -> impl IntoView {
    let tab = move |id: &'static str, href: &'static str, label: &'static str| {
        let here = (id == current).then_some("page");
        view! { <a href=href class="tab" aria-current=here>{label}</a> }
    };
    view! {
        <nav class="tabs" aria-label="Administration">
            {tab("users", "/admin/users", "Users and tokens")}
            {tab("audit", "/admin/audit", "Audit trail")}
            {tab("settings", "/admin/settings", "Settings")}
        </nav>
    }
}

/// A path segment, percent-encoded.
fn encoded(segment: &str) -> String {
    form_urlencoded::byte_serialize(segment.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// Groups as typed: split on commas and spaces, empty ones dropped.
pub fn parse_groups(text: &str) -> Vec<String> {
    let mut groups: Vec<String> = text
        .split(|c: char| c == ',' || c.is_whitespace())
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(str::to_string)
        .collect();
    groups.sort();
    groups.dedup();
    groups
}

/// Users and tokens.
#[component]
pub fn Users() -> impl IntoView {
    let csrf = StoredValue::new(expect_context::<Session>().csrf());
    let users = RwSignal::new(None::<Result<Vec<UserOut>, String>>);
    let tokens = RwSignal::new(None::<Result<Vec<TokenOut>, String>>);
    let notice = RwSignal::new(None::<(bool, String)>);
    let made = RwSignal::new(None::<TokenCreated>);
    // The user form: new, or the one chosen with "Edit".
    let name = RwSignal::new(String::new());
    let role = RwSignal::new("staff".to_string());
    let groups = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let disabled = RwSignal::new(false);
    let token_user = RwSignal::new(String::new());
    let token_label = RwSignal::new(String::new());
    let reload = move || {
        leptos::task::spawn_local(async move {
            users.set(Some(
                http::get::<Vec<UserOut>>("/api/users")
                    .await
                    .map_err(|f| f.reason()),
            ));
            tokens.set(Some(
                http::get::<Vec<TokenOut>>("/api/tokens")
                    .await
                    .map_err(|f| f.reason()),
            ));
        });
    };
    Effect::new(move |_| reload());
    let save_user = move |_| {
        let body = UserIn {
            name: name.get_untracked().trim().to_string(),
            password: Some(password.get_untracked()).filter(|p| !p.is_empty()),
            role: role.get_untracked(),
            groups: parse_groups(&groups.get_untracked()),
            disabled: Some(disabled.get_untracked()),
        };
        let who = body.name.clone();
        leptos::task::spawn_local(async move {
            let r: Result<serde_json::Value, _> =
                http::send("POST", "/api/users", &body, &csrf.get_value()).await;
            notice.set(Some(match r {
                Ok(_) => {
                    password.set(String::new());
                    (true, format!("{who} is saved."))
                }
                Err(f) => (
                    false,
                    match f.body.field {
                        Some(field) => format!("{field}: {}", f.body.reason),
                        None => f.body.reason,
                    },
                ),
            }));
            reload();
        });
    };
    let remove_user = move |who: String| {
        leptos::task::spawn_local(async move {
            let r: Result<serde_json::Value, _> = http::send(
                "DELETE",
                &format!("/api/users/{}", encoded(&who)),
                &serde_json::json!({}),
                &csrf.get_value(),
            )
            .await;
            notice.set(Some(match r {
                Ok(_) => (
                    true,
                    format!("{who} is removed, with their sessions and tokens."),
                ),
                Err(f) => (false, f.reason()),
            }));
            reload();
        });
    };
    let make_token = move |_| {
        let body = TokenIn {
            user: token_user.get_untracked(),
            label: Some(token_label.get_untracked()).filter(|l| !l.trim().is_empty()),
        };
        leptos::task::spawn_local(async move {
            let r: Result<TokenCreated, _> =
                http::send("POST", "/api/tokens", &body, &csrf.get_value()).await;
            match r {
                Ok(t) => {
                    notice.set(None);
                    token_label.set(String::new());
                    made.set(Some(t));
                }
                Err(f) => notice.set(Some((false, f.reason()))),
            }
            reload();
        });
    };
    let revoke = move |id: String| {
        leptos::task::spawn_local(async move {
            let r: Result<serde_json::Value, _> = http::send(
                "DELETE",
                &format!("/api/tokens/{}", encoded(&id)),
                &serde_json::json!({}),
                &csrf.get_value(),
            )
            .await;
            notice.set(Some(match r {
                Ok(_) => (true, format!("Token {id} is revoked.")),
                Err(f) => (false, f.reason()),
            }));
            made.set(None);
            reload();
        });
    };
    let banner = move || {
        notice.get().map(|(ok, text)| {
            let class = if ok { "banner ok" } else { "banner error" };
            view! { <p class=class role="status">{text}</p> }
        })
    };
    let user_rows = move || {
        match users.get() {
        None => view! { <p role="status">"Loading users…"</p> }.into_any(),
        Some(Err(e)) => view! { <p class="banner error" role="alert">{e}</p> }.into_any(),
        Some(Ok(list)) => view! {
            <table class="grid" aria-label="Users">
                <thead><tr><th>"Name"</th><th>"Role"</th><th>"Groups"</th><th>"State"</th><th></th></tr></thead>
                <tbody>
                    {list.into_iter().map(|u| {
                        let edit_label = format!("Edit {}", u.name);
                        let remove_label = format!("Remove {}", u.name);
                        let who = u.name.clone();
                        let chosen = u.clone();
                        let edit = move |_| {
                            name.set(chosen.name.clone());
                            role.set(chosen.role.clone());
                            groups.set(chosen.groups.join(", "));
                            disabled.set(chosen.disabled);
                            password.set(String::new());
                        };
                        view! {
                            <tr>
                                <td>{u.name.clone()}</td>
                                <td>{u.role.clone()}</td>
                                <td>{u.groups.join(", ")}</td>
                                <td>{if u.disabled { "disabled" } else { "active" }}</td>
                                <td>
                                    <button type="button" class="link" aria-label=edit_label on:click=edit>"Edit"</button>
                                    " "
                                    <button type="button" class="link danger" aria-label=remove_label
                                        on:click=move |_| remove_user(who.clone())>"Remove"</button>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        }
        .into_any(),
    }
    };
    let user_options = move || {
        users
            .get()
            .and_then(Result::ok)
            .unwrap_or_default()
            .into_iter()
            .map(|u| view! { <option value=u.name.clone()>{u.name.clone()}</option> })
            .collect_view()
    };
    let token_rows = move || {
        match tokens.get() {
        None => view! { <p role="status">"Loading tokens…"</p> }.into_any(),
        Some(Err(e)) => view! { <p class="banner error" role="alert">{e}</p> }.into_any(),
        Some(Ok(list)) if list.is_empty() => view! { <p>"No API token yet."</p> }.into_any(),
        Some(Ok(list)) => view! {
            <table class="grid" aria-label="API tokens">
                <thead><tr><th>"Id"</th><th>"User"</th><th>"Label"</th><th>"Made"</th><th></th></tr></thead>
                <tbody>
                    {list.into_iter().map(|t| {
                        let label = format!("Revoke token {}", t.id);
                        let id = t.id.clone();
                        view! {
                            <tr>
                                <td><code>{t.id.clone()}</code></td>
                                <td>{t.user}</td>
                                <td>{t.label.unwrap_or_default()}</td>
                                <td>{short_time(&t.created_at)}</td>
                                <td><button type="button" class="link danger" aria-label=label
                                    on:click=move |_| revoke(id.clone())>"Revoke"</button></td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        }
        .into_any(),
    }
    };
    view! {
        <section aria-labelledby="users-title" class="content">
            <h1 id="users-title">"Users and tokens"</h1>
            {tabs("users")}
            {banner}
            {user_rows}
            <h2>"Add or change a user"</h2>
            <form class="admin-form" aria-label="User" on:submit=move |e| { e.prevent_default(); save_user(()); }>
                <label for="user-name">"Name"</label>
                <input id="user-name" type="text" maxlength="100" required=true autocomplete="off"
                    prop:value=move || name.get() on:input=move |e| name.set(event_target_value(&e))/>
                <label for="user-role">"Role"</label>
                <select id="user-role" prop:value=move || role.get() on:change=move |e| role.set(event_target_value(&e))>
                    {["staff", "analyst", "admin", "system"].into_iter().map(|r| view! {
                        <option value=r selected=move || role.get() == r>{r}</option>
                    }).collect_view()}
                </select>
                <label for="user-groups">"Groups (comma separated)"</label>
                <input id="user-groups" type="text" autocomplete="off"
                    prop:value=move || groups.get() on:input=move |e| groups.set(event_target_value(&e))/>
                <label for="user-password">"Password (new users; blank keeps it)"</label>
                <input id="user-password" type="password" autocomplete="new-password"
                    prop:value=move || password.get() on:input=move |e| password.set(event_target_value(&e))/>
                <label class="check"><input type="checkbox" prop:checked=move || disabled.get()
                    on:change=move |e| disabled.set(event_target_checked(&e))/>" Disabled"</label>
                <button type="submit">"Save user"</button>
            </form>
            <h2>"API tokens"</h2>
            {move || made.get().map(|t| view! {
                <div class="banner ok" role="status" aria-label="New token">
                    <p>"Token "<code>{t.id.clone()}</code>" is made. Copy it now: it is not shown again."</p>
                    <p><code class="secret">{t.token.clone()}</code></p>
                </div>
            })}
            {token_rows}
            <form class="admin-form" aria-label="New API token" on:submit=move |e| { e.prevent_default(); make_token(()); }>
                <label for="token-user">"User"</label>
                <select id="token-user" prop:value=move || token_user.get() on:change=move |e| token_user.set(event_target_value(&e))>
                    <option value="">"— choose —"</option>
                    {user_options}
                </select>
                <label for="token-label">"Label"</label>
                <input id="token-label" type="text" maxlength="200"
                    prop:value=move || token_label.get() on:input=move |e| token_label.set(event_target_value(&e))/>
                <button type="submit">"Make token"</button>
            </form>
        </section>
    }
}

/// The audit filter's fields, in the order the form shows them.
const AUDIT_FIELDS: [(&str, &str, &str); 6] = [
    ("actor", "Who", "text"),
    ("action", "Action", "text"),
    ("target", "Target", "text"),
    ("outcome", "Outcome", "text"),
    ("from", "From", "date"),
    ("to", "To", "date"),
];

/// The query string of an audit filter (known fields only, empty ones left out).
pub fn audit_query(filter: &BTreeMap<String, String>) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (name, _, _) in AUDIT_FIELDS {
        if let Some(v) = filter.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
            q.append_pair(name, v);
        }
    }
    q.finish()
}

/// The audit trail.
#[component]
pub fn Audit(filter: BTreeMap<String, String>) -> impl IntoView {
    let query = audit_query(&filter);
    let api = StoredValue::new(format!("/api/audit?{query}"));
    let csv = if query.is_empty() {
        "/api/audit?format=csv".to_string()
    } else {
        format!("/api/audit?{query}&format=csv")
    };
    let entries = RwSignal::new(None::<Result<Vec<AuditOut>, String>>);
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            entries.set(Some(
                http::get::<Vec<AuditOut>>(&api.get_value())
                    .await
                    .map_err(|f| f.reason()),
            ));
        });
    });
    let form = AUDIT_FIELDS
        .into_iter()
        .map(|(name, label, kind)| {
            let id = format!("audit-{name}");
            let value = filter.get(name).cloned().unwrap_or_default();
            view! {
                <label for=id.clone()>{label}</label>
                <input id=id name=name type=kind value=value/>
            }
        })
        .collect_view();
    let rows = move || {
        match entries.get() {
        None => view! { <p role="status">"Loading the audit trail…"</p> }.into_any(),
        Some(Err(e)) => view! { <p class="banner error" role="alert">{e}</p> }.into_any(),
        Some(Ok(list)) if list.is_empty() => {
            view! { <p role="status">"No entry matches."</p> }.into_any()
        }
        Some(Ok(list)) => view! {
            <table class="grid" aria-label="Audit trail">
                <thead><tr><th>"When"</th><th>"Who"</th><th>"Action"</th><th>"Target"</th><th>"Outcome"</th><th>"Detail"</th></tr></thead>
                <tbody>
                    {list.into_iter().map(|a| {
                        let class = format!("outcome {}", a.outcome);
                        view! {
                            <tr>
                                <td>{short_time(&a.at)}</td>
                                <td>{a.actor.unwrap_or_default()}</td>
                                <td><code>{a.action}</code></td>
                                <td>{a.target.unwrap_or_default()}</td>
                                <td class=class>{a.outcome}</td>
                                <td class="detail">{a.detail.unwrap_or_default()}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        }
        .into_any(),
    }
    };
    view! {
        <section aria-labelledby="audit-title" class="content">
            <h1 id="audit-title">"Audit trail"</h1>
            {tabs("audit")}
            <form class="inbox-filter" method="get" action="/admin/audit" aria-label="Filter the audit trail">
                {form}
                <button type="submit">"Apply"</button>
                <a href="/admin/audit">"Clear"</a>
                <a href=csv download="audit.csv">"Download CSV"</a>
            </form>
            <p class="hint">"The newest 500 entries that match; every field must match exactly."</p>
            {rows}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_split_on_commas_and_spaces_and_kept_once() {
        assert_eq!(
            parse_groups(" estimators, billing-specialists  estimators,,"),
            ["billing-specialists", "estimators"]
        );
        assert!(parse_groups("  ").is_empty());
    }

    #[test]
    fn the_audit_query_keeps_known_filled_fields_only() {
        let filter: BTreeMap<String, String> = [
            ("actor", "admin"),
            ("action", " "),
            ("page", "3"),
            ("from", "2026-12-01"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(audit_query(&filter), "actor=admin&from=2026-12-01");
    }
}
