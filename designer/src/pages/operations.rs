//! Operations: the instances an administrator keeps running. The list
//! (filtered in the address: process, state, business key, only those with an
//! incident) and one instance: its diagram with each element's state and the
//! tokens waiting there, its variables, incidents (retried, with what the
//! retry did), history, and cancelling it with a reason.

use std::collections::BTreeMap;

use leptos::prelude::*;
use millrace_api::{
    CancelRequest, HeatmapOut, HistoryOut, IncidentOut, InstanceListItem, InstanceOut,
    ModificationInstruction, ModificationRequest, RetryOutcome,
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
            <label for="filter-variable">"Variable"</label>
            <input id="filter-variable" name="variable" type="text" placeholder="accountNumber" value=f.variable.clone().unwrap_or_default()/>
            <label for="filter-value">"equals"</label>
            <input id="filter-value" name="value" type="text" value=f.value.clone().unwrap_or_default()/>
            <label for="filter-from">"Started from"</label>
            <input id="filter-from" name="from" type="date" value=f.from.clone().unwrap_or_default()/>
            <label for="filter-to">"to"</label>
            <input id="filter-to" name="to" type="date" value=f.to.clone().unwrap_or_default()/>
            <label class="check"><input type="checkbox" name="incident" value="1" checked=f.incident/>" With an incident"</label>
            <button type="submit">"Apply"</button>
            <a href="/operations">"Clear"</a>
        </form>
    }
}

/// The instance list.
#[component]
pub fn Instances(filter: InstanceFilter) -> impl IntoView {
    let session = expect_context::<Session>();
    let csrf = StoredValue::new(session.csrf());
    let filter_process = filter.process.clone();
    let api_url = StoredValue::new(filter.api());
    let list = RwSignal::new(None::<Result<Vec<InstanceListItem>, String>>);
    // Running instances ticked for a batch cancel.
    let ticked = RwSignal::new(std::collections::BTreeSet::<String>::new());
    let cancel_reason = RwSignal::new(String::new());
    let batch_notice = RwSignal::new(None::<String>);
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
                <thead><tr><th><span class="visually-hidden">"Tick"</span></th><th>"Instance"</th><th>"Business key"</th><th>"Process"</th><th>"Version"</th><th>"State"</th><th>"Started"</th><th>"Incident"</th></tr></thead>
                <tbody>
                    {items.into_iter().map(|i| {
                        let incident = i.has_incident.then(|| view! { <span class="badge error">"incident"</span> });
                        let tick = (i.state == "active").then(|| {
                            let id = i.id.clone();
                            let label = format!("Tick {}", i.business_key.clone().unwrap_or_else(|| i.id.clone()));
                            let checked_id = id.clone();
                            view! {
                                <input type="checkbox" aria-label=label
                                    prop:checked=move || ticked.with(|t| t.contains(&checked_id))
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        ticked.update(|t| {
                                            if on { t.insert(id.clone()); } else { t.remove(&id); }
                                        });
                                    }/>
                            }
                        });
                        view! {
                            <tr>
                                <td>{tick}</td>
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
    let cancel_ticked = move |_| {
        let targets: Vec<String> = ticked.get_untracked().into_iter().collect();
        if targets.is_empty() {
            batch_notice.set(Some("Tick the running instances to cancel first.".into()));
            return;
        }
        let reason = cancel_reason.get_untracked();
        leptos::task::spawn_local(async move {
            let body = millrace_api::BatchIn {
                kind: "cancel".into(),
                targets,
                reason: (!reason.trim().is_empty()).then_some(reason),
                instructions: None,
                annotation: None,
            };
            let r: Result<millrace_api::BatchOut, _> =
                http::send("POST", "/api/batches", &body, &csrf.get_value()).await;
            match r {
                Ok(b) => http::navigate(&format!("/operations/batches/{}", b.id)),
                Err(f) => batch_notice.set(Some(f.reason())),
            }
        });
    };
    let batch_form = move || {
        let n = ticked.with(|t| t.len());
        (n > 0).then(|| view! {
            <form class="inbox-filter" aria-label="Cancel ticked instances" on:submit=|ev| ev.prevent_default()>
                <label for="batch-cancel-reason">"Why"</label>
                <input id="batch-cancel-reason" type="text" maxlength="500"
                    prop:value=move || cancel_reason.get()
                    on:input=move |ev| cancel_reason.set(event_target_value(&ev))/>
                <button type="button" on:click=cancel_ticked>{format!("Cancel {n} ticked instance(s)")}</button>
                <span class="hint">"As a batch: its page shows each one's result."</span>
            </form>
        })
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
            <p class="links">
                <a href="/operations/incidents">"Open incidents"</a>
                " · " <a href="/operations/batches">"Batches"</a>
                {filter_process.map(|k| view! {
                    " · " <a href=format!("/operations/dashboard/{k}")>{format!("Dashboard of {k}")}</a>
                    " · " <a href=format!("/operations/migrate/{k}")>{format!("Migrate instances of {k}")}</a>
                })}
            </p>
            {form}
            {move || batch_notice.get().map(|n| view! { <p class="banner error" role="alert">{n}</p> })}
            {rows}
            {batch_form}
            {pager}
        </section>
    }
}

/// What the diagram marks: each element's state (an incident over a waiting
/// token over completed) and the tokens waiting at each.
pub(crate) fn marks(
    active_activities: &[String],
    incidents: &[String],
    history: &[HistoryOut],
) -> (BTreeMap<String, &'static str>, BTreeMap<String, usize>) {
    let mut states = BTreeMap::new();
    for h in history.iter().filter(|h| h.event == "activityCompleted") {
        if let Some(node) = &h.node {
            states.insert(node.clone(), "completed");
        }
    }
    let mut counts = BTreeMap::new();
    for a in active_activities {
        states.insert(a.clone(), "active");
        *counts.entry(a.clone()).or_insert(0) += 1;
    }
    for i in incidents {
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

/// An instance's history and documents, which the instance page and the
/// request view both show.
pub(crate) async fn trail(
    id: &str,
) -> Result<(Vec<HistoryOut>, Vec<millrace_api::DocumentOut>), String> {
    let history = http::get::<Vec<HistoryOut>>(&format!("/api/process-instances/{id}/history"))
        .await
        .map_err(|f| f.reason())?;
    let documents = http::get::<Vec<millrace_api::DocumentOut>>(&format!(
        "/api/process-instances/{id}/documents"
    ))
    .await
    .map_err(|f| f.reason())?;
    Ok((history, documents))
}

async fn read(id: &str) -> Result<Seen, String> {
    let instance = http::get::<InstanceOut>(&format!("/api/process-instances/{id}"))
        .await
        .map_err(|f| f.reason())?;
    let incidents = http::get::<Vec<IncidentOut>>(&format!("/api/incidents?instanceId={id}"))
        .await
        .map_err(|f| f.reason())?;
    let (history, documents) = trail(id).await?;
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
    // What the modification form offers and holds.
    let nodes = RwSignal::new(Vec::<crate::widgets::viewer::DiagramNode>::new());
    let move_from = RwSignal::new(String::new());
    let move_to = RwSignal::new(String::new());
    let move_after = RwSignal::new(false);
    let annotation = RwSignal::new(String::new());
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
        let (states, counts) = marks(
            &s.instance.active_activities,
            &s.instance.incidents,
            &s.history,
        );
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
            match shown {
                Ok(list) => {
                    nodes.set(list);
                    // Clicking an element picks it as where the token starts.
                    let _ = crate::widgets::viewer::on_click(move |id| move_to.set(id));
                }
                Err(e) => notice.set(Some((false, format!("The diagram cannot be shown: {e}")))),
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
    let apply_modification = move |_| {
        let (from, to) = (move_from.get_untracked(), move_to.get_untracked());
        let mut instructions = Vec::new();
        if !from.is_empty() {
            instructions.push(ModificationInstruction::Cancel {
                activity_id: from.clone(),
            });
        }
        if !to.is_empty() {
            instructions.push(if move_after.get_untracked() {
                ModificationInstruction::StartAfterActivity {
                    activity_id: to.clone(),
                }
            } else {
                ModificationInstruction::StartBeforeActivity {
                    activity_id: to.clone(),
                }
            });
        }
        if instructions.is_empty() {
            notice.set(Some((
                false,
                "Choose a token to cancel, an element to start at, or both.".into(),
            )));
            return;
        }
        let body = ModificationRequest {
            instructions,
            annotation: Some(annotation.get_untracked()).filter(|a| !a.trim().is_empty()),
        };
        leptos::task::spawn_local(async move {
            let r: Result<serde_json::Value, _> = http::send(
                "POST",
                &format!("/api/process-instances/{}/modification", id.get_value()),
                &body,
                &csrf.get_value(),
            )
            .await;
            notice.set(Some(match r {
                Ok(_) => {
                    move_from.set(String::new());
                    move_to.set(String::new());
                    annotation.set(String::new());
                    (
                        true,
                        match (from.is_empty(), to.is_empty()) {
                            (false, false) => format!(
                                "The tokens at {from} are cancelled and one starts at {to}."
                            ),
                            (false, true) => format!("The tokens at {from} are cancelled."),
                            _ => format!("A token started at {to}."),
                        },
                    )
                }
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
                    <dt>"Process"</dt><dd>{format!("{} · version {} ", i.key, i.version)}
                        <a href=format!("/operations/heatmap/{}/{}", i.key, i.version)>"Heatmap of this version"</a></dd>
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
                {active.then(|| {
                    let mut here: Vec<String> = i.active_activities.iter().chain(i.incidents.iter()).cloned().collect();
                    here.sort();
                    here.dedup();
                    view! {
                        <h2>"Move a token"</h2>
                        <form class="modify-instance" aria-label="Modify the instance" on:submit=move |e| { e.prevent_default(); apply_modification(()); }>
                            <label for="modify-from">"Cancel the token at"</label>
                            <select id="modify-from" on:change=move |e| move_from.set(event_target_value(&e))
                                prop:value=move || move_from.get()>
                                <option value="">"— nothing —"</option>
                                {here.into_iter().map(|a| {
                                    let label = nodes.with(|n| n.iter().find(|d| d.id == a).map(|d| d.label())).unwrap_or_else(|| a.clone());
                                    view! { <option value=a.clone()>{label}</option> }
                                }).collect_view()}
                            </select>
                            <label for="modify-where">"Start a token"</label>
                            <select id="modify-where" on:change=move |e| move_after.set(event_target_value(&e) == "after")>
                                <option value="before" selected=move || !move_after.get()>"before"</option>
                                <option value="after" selected=move || move_after.get()>"after"</option>
                            </select>
                            <label for="modify-to" class="visually-hidden">"Element to start at"</label>
                            <select id="modify-to" on:change=move |e| move_to.set(event_target_value(&e))
                                prop:value=move || move_to.get()>
                                <option value="">"— nowhere —"</option>
                                {move || nodes.get().into_iter().map(|d| {
                                    let label = d.label();
                                    view! { <option value=d.id.clone()>{label}</option> }
                                }).collect_view()}
                            </select>
                            <label for="modify-annotation">"Why"</label>
                            <input id="modify-annotation" type="text" maxlength="500"
                                prop:value=move || annotation.get()
                                on:input=move |e| annotation.set(event_target_value(&e))/>
                            <button type="submit">"Apply"</button>
                        </form>
                        <p class="hint">"Click an element on the diagram to start the token there. Both happen in one step, or not at all."</p>
                    }
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
            <super::notes::RequestNotes instance=id.get_value() task=None/>
        </section>
    }
}

/// The incidents page's filter from its address: `process`, `element`, `error`.
pub fn incident_api(filter: &BTreeMap<String, String>) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (name, param) in [
        ("process", "processKey"),
        ("element", "elementId"),
        ("error", "message"),
    ] {
        if let Some(v) = filter.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
            q.append_pair(param, v);
        }
    }
    let query = q.finish();
    if query.is_empty() {
        "/api/incidents".to_string()
    } else {
        format!("/api/incidents?{query}")
    }
}

/// Open incidents across instances: filtered by process, element and error,
/// oldest first; ticked ones retried together, each retry's real outcome
/// listed (went on, or failed again with the new error).
#[component]
pub fn Incidents(filter: BTreeMap<String, String>) -> impl IntoView {
    let csrf = StoredValue::new(expect_context::<Session>().csrf());
    let api = StoredValue::new(incident_api(&filter));
    let list = RwSignal::new(None::<Result<Vec<IncidentOut>, String>>);
    let processes = RwSignal::new(Vec::<String>::new());
    let ticked = RwSignal::new(Vec::<String>::new());
    let outcomes = RwSignal::new(Vec::<(String, bool, String)>::new());
    let busy = RwSignal::new(false);
    let reload = move || {
        leptos::task::spawn_local(async move {
            let r = http::get::<Vec<IncidentOut>>(&api.get_value()).await;
            list.set(Some(r.map_err(|f| f.reason())));
        });
    };
    Effect::new(move |_| {
        reload();
        super::load_process_keys(processes);
    });
    let retry_ticked = move |_| {
        let ids = ticked.get_untracked();
        if ids.is_empty() {
            outcomes.set(vec![(
                String::new(),
                false,
                "Tick the incidents to retry.".into(),
            )]);
            return;
        }
        busy.set(true);
        leptos::task::spawn_local(async move {
            let mut said = Vec::new();
            // One at a time: a retry's outcome is what that retry met.
            for id in ids {
                let r: Result<RetryOutcome, _> = http::send(
                    "POST",
                    &format!("/api/incidents/{id}/retry"),
                    &serde_json::json!({}),
                    &csrf.get_value(),
                )
                .await;
                said.push(match r {
                    Ok(o) if o.outcome == "resolved" => (id, true, "the work went on".to_string()),
                    Ok(o) => (
                        id,
                        false,
                        format!(
                            "failed again: {}",
                            o.incident.map(|i| i.message).unwrap_or_default()
                        ),
                    ),
                    Err(f) => (id, false, f.reason()),
                });
            }
            outcomes.set(said);
            ticked.set(Vec::new());
            busy.set(false);
            reload();
        });
    };
    let chosen = filter.get("process").cloned().unwrap_or_default();
    let element = filter.get("element").cloned().unwrap_or_default();
    let error = filter.get("error").cloned().unwrap_or_default();
    let results = move || {
        let said = outcomes.get();
        (!said.is_empty()).then(|| {
            view! {
                <ul class="retry-outcomes" role="status" aria-label="Retry outcomes">
                    {said.into_iter().map(|(id, ok, text)| {
                        let class = if ok { "ok" } else { "error-text" };
                        let head = if id.is_empty() { String::new() } else { format!("{id}: ") };
                        view! { <li class=class><code>{head}</code>{text}</li> }
                    }).collect_view()}
                </ul>
            }
        })
    };
    let rows = move || {
        match list.get() {
        None => view! { <p role="status">"Loading incidents…"</p> }.into_any(),
        Some(Err(e)) => view! { <p class="banner error" role="alert">{e}</p> }.into_any(),
        Some(Ok(items)) if items.is_empty() => {
            view! { <p role="status">"No open incident matches."</p> }.into_any()
        }
        Some(Ok(items)) => view! {
            <table class="grid" aria-label="Incidents">
                <thead><tr><th><span class="visually-hidden">"Ticked"</span></th><th>"Process"</th><th>"Instance"</th><th>"Element"</th><th>"Error"</th><th>"Raised"</th></tr></thead>
                <tbody>
                    {items.into_iter().map(|x| {
                        let id = x.id.clone();
                        let id2 = x.id.clone();
                        let label = format!("Tick incident {}", x.id);
                        view! {
                            <tr>
                                <td><input type="checkbox" aria-label=label
                                    prop:checked=move || ticked.with(|t| t.contains(&id))
                                    on:change=move |e| {
                                        let on = event_target_checked(&e);
                                        ticked.update(|t| {
                                            t.retain(|i| *i != id2);
                                            if on { t.push(id2.clone()); }
                                        });
                                    }/></td>
                                <td>{x.process_key.clone()}</td>
                                <td><a href=format!("/operations/instances/{}", x.instance_id)><code>{x.instance_id.clone()}</code></a></td>
                                <td><code>{x.element_id.clone()}</code></td>
                                <td class="error-text">{x.message.clone()}</td>
                                <td>{short_time(&x.created_at)}</td>
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
        <section aria-labelledby="incidents-title" class="content">
            <p><a href="/operations">"← Instances"</a></p>
            <h1 id="incidents-title">"Incidents"</h1>
            <form class="inbox-filter" method="get" action="/operations/incidents" aria-label="Filter incidents">
                {super::process_select(chosen, processes)}
                <label for="filter-element">"Element"</label>
                <input id="filter-element" name="element" type="text" value=element/>
                <label for="filter-error">"Error holds"</label>
                <input id="filter-error" name="error" type="search" value=error/>
                <button type="submit">"Apply"</button>
                <a href="/operations/incidents">"Clear"</a>
            </form>
            <p class="bulk-actions">
                <button type="button" on:click=retry_ticked disabled=move || busy.get()>"Retry ticked"</button>
                " Fix the data or deploy the fix first; each retry says what it met."
            </p>
            {results}
            {rows}
        </section>
    }
}

/// A duration as people read it: `45 s`, `12 min`, `3 h 05 min`, `2 d 4 h`.
pub fn human_duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as i64;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min", s / 60),
        3600..=86_399 => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
        _ => format!("{} d {} h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// How warm an element is drawn (0 to 5): its tokens now against the
/// busiest element's.
fn heat_level(now: i64, most: i64) -> u8 {
    if now <= 0 || most <= 0 {
        return 0;
    }
    ((5 * now + most - 1) / most).clamp(1, 5) as u8
}

/// A version's heatmap: the diagram warm where tokens are now, each flow
/// with how often it was taken, and a table of the figures per element.
#[component]
pub fn HeatmapPage(key: String, version: i64, from: String, to: String) -> impl IntoView {
    let mut api = format!("/api/process-definitions/{key}/versions/{version}/heatmap");
    let mut q = form_urlencoded::Serializer::new(String::new());
    if !from.trim().is_empty() {
        q.append_pair("from", from.trim());
    }
    if !to.trim().is_empty() {
        q.append_pair("to", to.trim());
    }
    let query = q.finish();
    if !query.is_empty() {
        api = format!("{api}?{query}");
    }
    let api = StoredValue::new(api);
    let xml_url = StoredValue::new(format!(
        "/api/process-definitions/{key}/versions/{version}/xml"
    ));
    let map = RwSignal::new(None::<Result<HeatmapOut, String>>);
    let names = RwSignal::new(BTreeMap::<String, String>::new());
    let diagram = NodeRef::<leptos::html::Div>::new();
    let notice = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            let r = http::get::<HeatmapOut>(&api.get_value()).await;
            map.set(Some(r.map_err(|f| f.reason())));
        });
    });
    Effect::new(move |_| {
        let (Some(el), Some(Ok(m))) = (diagram.get(), map.get()) else {
            return;
        };
        let most = m.elements.iter().map(|e| e.now).max().unwrap_or(0);
        let nodes: BTreeMap<String, (u8, String, String)> = m
            .elements
            .iter()
            .map(|e| {
                let mut title = format!("{} here now · {} completed", e.now, e.completed);
                if let (Some(md), Some(p90)) = (e.median_seconds, e.p90_seconds) {
                    title.push_str(&format!(
                        " · median {} · 90% within {}",
                        human_duration(md),
                        human_duration(p90)
                    ));
                }
                if e.incidents > 0 {
                    title.push_str(&format!(" · {} incident(s)", e.incidents));
                }
                let text = if e.now > 0 {
                    e.now.to_string()
                } else {
                    String::new()
                };
                (e.id.clone(), (heat_level(e.now, most), text, title))
            })
            .collect();
        let flows: BTreeMap<String, i64> =
            m.flows.iter().map(|f| (f.id.clone(), f.taken)).collect();
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let shown = match http::get_text(&xml_url.get_value()).await {
                Ok(xml) => {
                    crate::widgets::viewer::show(&el, &xml, &BTreeMap::new(), &BTreeMap::new())
                        .await
                }
                Err(f) => Err(f.reason()),
            };
            match shown.and_then(|list| {
                names.set(list.iter().map(|d| (d.id.clone(), d.label())).collect());
                crate::widgets::viewer::heat(&nodes, &flows)
            }) {
                Ok(()) => {}
                Err(e) => notice.set(Some(format!("The diagram cannot be shown: {e}"))),
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (el, nodes, flows, xml_url, names);
    });
    on_cleanup(crate::widgets::viewer::destroy);
    let period = move || match map.get() {
        Some(Ok(m)) => view! {
            <form class="inbox-filter" method="get" aria-label="Period">
                <label for="heat-from">"From"</label>
                <input id="heat-from" name="from" type="date" value=m.from.clone()/>
                <label for="heat-to">"To"</label>
                <input id="heat-to" name="to" type="date" value=m.to.clone()/>
                <button type="submit">"Apply"</button>
            </form>
        }
        .into_any(),
        _ => ().into_any(),
    };
    let table = move || {
        match map.get() {
        None => view! { <p role="status">"Loading the heatmap…"</p> }.into_any(),
        Some(Err(e)) => view! { <p class="banner error" role="alert">{e}</p> }.into_any(),
        Some(Ok(m)) if m.elements.is_empty() && m.flows.is_empty() => view! {
            <p role="status">"No instance of this version ran in this period, and none is running."</p>
        }
        .into_any(),
        Some(Ok(m)) => {
            let label = move |id: &str| {
                names.with(|n| n.get(id).cloned()).unwrap_or_else(|| id.to_string())
            };
            let dur = |s: Option<f64>| s.map(human_duration).unwrap_or_else(|| "—".into());
            view! {
                <h2>"Elements"</h2>
                <table class="grid" aria-label="Elements">
                    <thead><tr><th>"Element"</th><th>"Here now"</th><th>"Incidents"</th><th>"Completed"</th><th>"Median stay"</th><th>"90% within"</th></tr></thead>
                    <tbody>
                        {m.elements.iter().map(|e| view! {
                            <tr>
                                <td>{label(&e.id)}</td>
                                <td class="num">{e.now}</td>
                                <td class="num">{e.incidents}</td>
                                <td class="num">{e.completed}</td>
                                <td class="num">{dur(e.median_seconds)}</td>
                                <td class="num">{dur(e.p90_seconds)}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
                <h2>"Sequence flows"</h2>
                <table class="grid" aria-label="Sequence flows">
                    <thead><tr><th>"Flow"</th><th>"Taken"</th></tr></thead>
                    <tbody>
                        {m.flows.iter().map(|f| view! {
                            <tr><td><code>{f.id.clone()}</code></td><td class="num">{f.taken}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }
            .into_any()
        }
    }
    };
    view! {
        <section aria-labelledby="heatmap-title" class="content instance-page">
            <p>
                <a href=format!("/operations?process={key}")>"← Instances of "{key.clone()}</a>
                " · " <a href=format!("/operations/dashboard/{key}")>"Dashboard"</a>
                " · " <a href=format!("/operations/migrate/{key}?from={version}")>"Migrate its instances"</a>
            </p>
            <h1 id="heatmap-title">"Heatmap · "{key.clone()}" · version "{version}</h1>
            {period}
            {move || notice.get().map(|n| view! { <p class="banner error" role="alert">{n}</p> })}
            <div class="instance-diagram" node_ref=diagram role="img" aria-label="The version's heatmap"></div>
            <p class="legend" aria-hidden="true">
                <span class="swatch mr-heat-1"></span>" few tokens now "
                <span class="swatch mr-heat-5"></span>" most tokens now · numbers on flows: times taken in the period"
            </p>
            {table}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(human_duration(42.4), "42 s");
        assert_eq!(human_duration(725.0), "12 min");
        assert_eq!(human_duration(3.0 * 3600.0 + 5.0 * 60.0), "3 h 05 min");
        assert_eq!(human_duration(2.0 * 86_400.0 + 4.0 * 3600.0), "2 d 4 h");
    }

    #[test]
    fn the_busiest_element_is_the_warmest() {
        assert_eq!(heat_level(0, 10), 0);
        assert_eq!(heat_level(1, 10), 1);
        assert_eq!(heat_level(5, 10), 3);
        assert_eq!(heat_level(10, 10), 5);
        assert_eq!(heat_level(1, 1), 5);
    }

    #[test]
    fn an_incident_outranks_a_waiting_token_which_outranks_completed() {
        let active: Vec<String> = vec!["Review".into(), "Review".into(), "Pay".into()];
        let incidents: Vec<String> = vec!["Charge".into()];
        let done = |node: &str| HistoryOut {
            seq: 0,
            at: String::new(),
            actor: None,
            event: "activityCompleted".into(),
            node: Some(node.into()),
            detail: None,
        };
        let (states, counts) = marks(
            &active,
            &incidents,
            &[done("Start"), done("Review"), done("Charge")],
        );
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
