//! Operations: the instances an administrator keeps running. The list
//! (filtered in the address: process, state, business key, only those with an
//! incident) and one instance: its diagram with each element's state and the
//! tokens waiting there, its variables, incidents (retried, with what the
//! retry did), history, and cancelling it with a reason.

use std::collections::BTreeMap;

use leptos::prelude::*;
use millrace_api::{
    CancelRequest, HistoryOut, IncidentOut, InstanceListItem, InstanceOut, RetryOutcome,
};

use crate::app::{short_time, InstanceFilter, Session};
use crate::http;

/// The filter as a plain GET form, like the inbox's.
fn filter_form(f: InstanceFilter, processes: RwSignal<Vec<String>>) -> impl IntoView {
    let chosen = f.process.clone().unwrap_or_default();
    let state = f.state.clone().unwrap_or_default();
    view! {
        <form class="inbox-filter" method="get" action="/operations" aria-label="Filter instances">
            {super::process_select(chosen, processes)}
            <label for="filter-state">"State"</label>
            <select id="filter-state" name="state">
                {["", "active", "completed", "terminated"].into_iter().map(|s| {
                    let label = if s.is_empty() { "Any" } else { s };
                    view! { <option value=s selected=s == state>{label}</option> }
                }).collect_view()}
            </select>
            <label for="filter-business-key">"Business key"</label>
            <input id="filter-business-key" name="businessKey" type="text" value=f.business_key.clone().unwrap_or_default()/>
            <label class="check"><input type="checkbox" name="incident" value="1" checked=f.incident/>" With an incident"</label>
            <button type="submit">"Apply"</button>
            <a href="/operations">"Clear"</a>
        </form>
    }
}

/// The instance list.
#[component]
pub fn Instances(filter: InstanceFilter) -> impl IntoView {
    let api_url = StoredValue::new(filter.api());
    let list = RwSignal::new(None::<Result<Vec<InstanceListItem>, String>>);
    let processes = RwSignal::new(Vec::<String>::new());
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            let r = http::get::<Vec<InstanceListItem>>(&api_url.get_value()).await;
            list.set(Some(r.map_err(|f| f.reason())));
        });
        super::load_process_keys(processes);
    });
    let rows = move || {
        match list.get() {
        None => view! { <p role="status">"Loading instances…"</p> }.into_any(),
        Some(Err(e)) => view! { <p class="banner error" role="alert">{e}</p> }.into_any(),
        Some(Ok(items)) if items.is_empty() => {
            view! { <p role="status">"No instance matches."</p> }.into_any()
        }
        Some(Ok(items)) => view! {
            <table class="grid" aria-label="Instances">
                <thead><tr><th>"Instance"</th><th>"Business key"</th><th>"Process"</th><th>"Version"</th><th>"State"</th><th>"Started"</th><th>"Incident"</th></tr></thead>
                <tbody>
                    {items.into_iter().map(|i| {
                        let incident = i.has_incident.then(|| view! { <span class="badge error">"incident"</span> });
                        view! {
                            <tr>
                                <td><a href=format!("/operations/instances/{}", i.id)><code>{i.id.clone()}</code></a></td>
                                <td>{i.business_key.unwrap_or_default()}</td>
                                <td>{i.key}</td>
                                <td>{i.version}</td>
                                <td>{i.state}</td>
                                <td>{short_time(&i.started_at)}</td>
                                <td>{incident}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        }
        .into_any(),
    }
    };
    let form = filter_form(filter.clone(), processes);
    let pager = move || {
        let full =
            list.with(|l| matches!(l, Some(Ok(v)) if v.len() as u32 >= InstanceFilter::PAGE_SIZE));
        let page = filter.page.max(1);
        (page > 1 || full).then(|| {
            view! {
                <nav class="pager" aria-label="Pages">
                    {(page > 1).then(|| view! { <a href=filter.href(page - 1)>"← Previous"</a> })}
                    <span>{format!("Page {page}")}</span>
                    {full.then(|| view! { <a href=filter.href(page + 1)>"Next →"</a> })}
                </nav>
            }
        })
    };
    view! {
        <section aria-labelledby="operations-title" class="content">
            <h1 id="operations-title">"Instances"</h1>
            {form}
            {rows}
            {pager}
        </section>
    }
}

/// What the diagram marks: each element's state (an incident over a waiting
/// token over completed) and the tokens waiting at each.
fn marks(
    instance: &InstanceOut,
    history: &[HistoryOut],
) -> (BTreeMap<String, &'static str>, BTreeMap<String, usize>) {
    let mut states = BTreeMap::new();
    for h in history.iter().filter(|h| h.event == "activityCompleted") {
        if let Some(node) = &h.node {
            states.insert(node.clone(), "completed");
        }
    }
    let mut counts = BTreeMap::new();
    for a in &instance.active_activities {
        states.insert(a.clone(), "active");
        *counts.entry(a.clone()).or_insert(0) += 1;
    }
    for i in &instance.incidents {
        states.insert(i.clone(), "incident");
        *counts.entry(i.clone()).or_insert(0) += 1;
    }
    (states, counts)
}

/// Everything the instance page shows, read together.
#[derive(Clone, PartialEq)]
struct Seen {
    instance: InstanceOut,
    history: Vec<HistoryOut>,
    incidents: Vec<IncidentOut>,
    documents: Vec<millrace_api::DocumentOut>,
}

async fn read(id: &str) -> Result<Seen, String> {
    let instance = http::get::<InstanceOut>(&format!("/api/process-instances/{id}"))
        .await
        .map_err(|f| f.reason())?;
    let history = http::get::<Vec<HistoryOut>>(&format!("/api/process-instances/{id}/history"))
        .await
        .map_err(|f| f.reason())?;
    let incidents = http::get::<Vec<IncidentOut>>(&format!("/api/incidents?instanceId={id}"))
        .await
        .map_err(|f| f.reason())?;
    let documents = http::get::<Vec<millrace_api::DocumentOut>>(&format!(
        "/api/process-instances/{id}/documents"
    ))
    .await
    .map_err(|f| f.reason())?;
    Ok(Seen {
        instance,
        history,
        incidents,
        documents,
    })
}

/// One instance.
#[component]
pub fn Instance(id: String) -> impl IntoView {
    let session = expect_context::<Session>();
    let csrf = StoredValue::new(session.csrf());
    let id = StoredValue::new(id);
    let seen = RwSignal::new(None::<Result<Seen, String>>);
    let notice = RwSignal::new(None::<(bool, String)>);
    let reason = RwSignal::new(String::new());
    let var_name = RwSignal::new(String::new());
    let var_value = RwSignal::new(String::new());
    let diagram = NodeRef::<leptos::html::Div>::new();
    let reload = move || {
        leptos::task::spawn_local(async move {
            seen.set(Some(read(&id.get_value()).await));
        });
    };
    Effect::new(move |_| reload());
    // The diagram, drawn again whenever what it marks changes.
    Effect::new(move |_| {
        let (Some(el), Some(Ok(s))) = (diagram.get(), seen.get()) else {
            return;
        };
        let (states, counts) = marks(&s.instance, &s.history);
        let url = format!(
            "/api/process-definitions/{}/versions/{}/xml",
            s.instance.key, s.instance.version
        );
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let shown = match http::get_text(&url).await {
                Ok(xml) => crate::widgets::viewer::show(&el, &xml, &states, &counts).await,
                Err(f) => Err(f.reason()),
            };
            if let Err(e) = shown {
                notice.set(Some((false, format!("The diagram cannot be shown: {e}"))));
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (el, url, states, counts);
    });
    on_cleanup(crate::widgets::viewer::destroy);
    let retry = move |incident: String| {
        leptos::task::spawn_local(async move {
            let r: Result<RetryOutcome, _> = http::send(
                "POST",
                &format!("/api/incidents/{incident}/retry"),
                &serde_json::json!({}),
                &csrf.get_value(),
            )
            .await;
            notice.set(Some(match r {
                Ok(o) if o.outcome == "resolved" => {
                    (true, "Retried: the work went on.".to_string())
                }
                Ok(o) => (
                    false,
                    format!(
                        "Retried, and it failed again: {}",
                        o.incident.map(|i| i.message).unwrap_or_default()
                    ),
                ),
                Err(f) => (false, f.reason()),
            }));
            reload();
        });
    };
    let cancel = move |_| {
        let text = reason.get_untracked();
        leptos::task::spawn_local(async move {
            let body = CancelRequest {
                reason: Some(text).filter(|t| !t.trim().is_empty()),
            };
            let r: Result<serde_json::Value, _> = http::send(
                "POST",
                &format!("/api/process-instances/{}/cancel", id.get_value()),
                &body,
                &csrf.get_value(),
            )
            .await;
            notice.set(Some(match r {
                Ok(_) => (true, "The instance is cancelled.".to_string()),
                Err(f) => (false, f.reason()),
            }));
            reload();
        });
    };
    let set_variable = move |_| {
        let name = var_name.get_untracked().trim().to_string();
        let text = var_value.get_untracked();
        let value: serde_json::Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(_) => {
                notice.set(Some((
                    false,
                    "The value is not JSON: write text in quotes (\"paid\"), numbers and true/false as they are.".into(),
                )));
                return;
            }
        };
        if name.is_empty() {
            notice.set(Some((false, "Name the variable to set.".into())));
            return;
        }
        leptos::task::spawn_local(async move {
            let mut variables = serde_json::Map::new();
            variables.insert(name.clone(), value);
            let r: Result<serde_json::Value, _> = http::send(
                "PUT",
                &format!("/api/process-instances/{}/variables", id.get_value()),
                &serde_json::json!({ "variables": variables }),
                &csrf.get_value(),
            )
            .await;
            notice.set(Some(match r {
                Ok(_) => (
                    true,
                    format!("{name} is set (the change is in the audit trail)."),
                ),
                Err(f) => (false, f.reason()),
            }));
            reload();
        });
    };
    let banner = move || {
        notice.get().map(|(ok, text)| {
            let class = if ok { "banner ok" } else { "banner error" };
            view! { <p class=class role="status">{text}</p> }
        })
    };
    let body = move || match seen.get() {
        None => view! { <p role="status">"Loading the instance…"</p> }.into_any(),
        Some(Err(e)) => view! { <p class="banner error" role="alert">{e}</p> }.into_any(),
        Some(Ok(s)) => {
            let i = s.instance.clone();
            let active = i.state == "active";
            let vars = match &i.variables {
                serde_json::Value::Object(m) => m.clone(),
                _ => serde_json::Map::new(),
            };
            view! {
                <dl class="facts" aria-label="Instance">
                    <dt>"Process"</dt><dd>{format!("{} · version {}", i.key, i.version)}</dd>
                    <dt>"State"</dt><dd class=format!("state {}", i.state)>{i.state.clone()}</dd>
                    <dt>"Business key"</dt><dd>{i.business_key.clone().unwrap_or_else(|| "—".into())}</dd>
                    <dt>"Started"</dt><dd>{short_time(&i.started_at)}</dd>
                    <dt>"Ended"</dt><dd>{i.ended_at.as_deref().map(short_time).unwrap_or_else(|| "—".into())}</dd>
                </dl>
                <h2>"Incidents"</h2>
                {if s.incidents.is_empty() {
                    view! { <p>"None open."</p> }.into_any()
                } else {
                    view! {
                        <table class="grid" aria-label="Incidents">
                            <thead><tr><th>"Element"</th><th>"Error"</th><th></th></tr></thead>
                            <tbody>
                                {s.incidents.iter().cloned().map(|x| {
                                    let incident = x.id.clone();
                                    view! {
                                        <tr>
                                            <td>{x.element_id}</td>
                                            <td class="error-text">{x.message}</td>
                                            <td><button type="button" on:click=move |_| retry(incident.clone())>"Retry"</button></td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                }}
                <h2>"Variables"</h2>
                {if vars.is_empty() {
                    view! { <p>"None."</p> }.into_any()
                } else {
                    view! {
                        <table class="grid" aria-label="Variables">
                            <thead><tr><th>"Name"</th><th>"Value"</th></tr></thead>
                            <tbody>
                                {vars.into_iter().map(|(k, v)| view! {
                                    <tr><td><code>{k}</code></td><td><code>{v.to_string()}</code></td></tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                }}
                {active.then(|| view! {
                    <form class="cancel-instance" aria-label="Set a variable" on:submit=move |e| { e.prevent_default(); set_variable(()); }>
                        <label for="variable-name">"Name"</label>
                        <input id="variable-name" type="text" maxlength="200"
                            prop:value=move || var_name.get()
                            on:input=move |e| var_name.set(event_target_value(&e))/>
                        <label for="variable-value">"Value (JSON)"</label>
                        <input id="variable-value" type="text"
                            prop:value=move || var_value.get()
                            on:input=move |e| var_value.set(event_target_value(&e))/>
                        <button type="submit">"Set variable"</button>
                    </form>
                })}
                {active.then(|| view! {
                    <form class="cancel-instance" aria-label="Cancel the instance" on:submit=move |e| { e.prevent_default(); cancel(()); }>
                        <label for="cancel-reason">"Reason"</label>
                        <input id="cancel-reason" type="text" maxlength="500"
                            prop:value=move || reason.get()
                            on:input=move |e| reason.set(event_target_value(&e))/>
                        <button type="submit" class="danger">"Cancel instance"</button>
                    </form>
                })}
                {crate::pages::task::document_list(s.documents.clone())}
                <h2>"History"</h2>
                <table class="grid" aria-label="History">
                    <thead><tr><th>"When"</th><th>"Event"</th><th>"Element"</th><th>"Who"</th></tr></thead>
                    <tbody>
                        {s.history.iter().cloned().map(|h| view! {
                            <tr>
                                <td>{short_time(&h.at)}</td>
                                <td>{h.event}</td>
                                <td>{h.node.unwrap_or_default()}</td>
                                <td>{h.actor.unwrap_or_default()}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }
            .into_any()
        }
    };
    view! {
        <section aria-labelledby="instance-title" class="content instance-page">
            <p><a href="/operations">"← Instances"</a></p>
            <h1 id="instance-title">"Instance "<code>{id.get_value()}</code></h1>
            {banner}
            <div class="instance-diagram" node_ref=diagram role="img" aria-label="The instance's diagram"></div>
            <p class="legend" aria-hidden="true">
                <span class="swatch mr-active"></span>" waiting "
                <span class="swatch mr-completed"></span>" completed "
                <span class="swatch mr-incident"></span>" incident"
            </p>
            {body}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_incident_outranks_a_waiting_token_which_outranks_completed() {
        let instance = InstanceOut {
            id: "i".into(),
            key: "p".into(),
            version: 1,
            business_key: None,
            state: "active".into(),
            active_activities: vec!["Review".into(), "Review".into(), "Pay".into()],
            incidents: vec!["Charge".into()],
            variables: serde_json::json!({}),
            started_at: String::new(),
            ended_at: None,
        };
        let done = |node: &str| HistoryOut {
            seq: 0,
            at: String::new(),
            actor: None,
            event: "activityCompleted".into(),
            node: Some(node.into()),
            detail: None,
        };
        let (states, counts) = marks(&instance, &[done("Start"), done("Review"), done("Charge")]);
        assert_eq!(states["Start"], "completed");
        assert_eq!(states["Review"], "active");
        assert_eq!(states["Charge"], "incident");
        assert_eq!(
            (counts["Review"], counts["Pay"], counts["Charge"]),
            (2, 1, 1)
        );
        assert!(!counts.contains_key("Start"));
    }
}
