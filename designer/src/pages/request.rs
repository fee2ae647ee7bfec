//! The request view: an instance as staff see it. A header the process
//! declares (title, VIP badge, status, SLA, customer, account), quick
//! actions from its current state (the tasks the reader may work, the
//! messages it waits for, a form first where the waiting element declares
//! one: `action::ActionDialog`), and tabs: details, SLAs, diagram, timeline,
//! communication (notes and files) and documents. Also the request search.

use leptos::prelude::*;
use millrace_api::{HistoryOut, MailOut, RequestOut, RequestSummaryOut, SlaOut};

use crate::app::{short_time, sla_remaining, sla_status_label, Session};
use crate::http;
use crate::pages::action::ActionDialog;

/// Everything the request view shows, read together.
#[derive(Clone, PartialEq)]
struct Seen {
    request: RequestOut,
    history: Vec<HistoryOut>,
    documents: Vec<millrace_api::DocumentOut>,
    mail: Vec<MailOut>,
}

async fn read(id: &str) -> Result<Seen, String> {
    let request = http::get::<RequestOut>(&format!("/api/requests/{id}"))
        .await
        .map_err(|f| f.reason())?;
    let (history, documents) = super::operations::trail(id).await?;
    let mail = http::get::<Vec<MailOut>>(&format!("/api/process-instances/{id}/mail"))
        .await
        .map_err(|f| f.reason())?;
    Ok(Seen {
        request,
        history,
        documents,
        mail,
    })
}

/// A mail's delivery state as staff read it, and its badge class.
fn delivery(m: &MailOut) -> (String, &'static str) {
    match (&m.sent_at, &m.last_error) {
        (Some(at), _) => (format!("Sent {}", short_time(at)), "ok"),
        (None, Some(e)) => (
            format!("Not delivered yet ({} attempts): {e}", m.attempts),
            "error",
        ),
        (None, None) => ("Waiting to be sent".to_string(), "running"),
    }
}

/// The mail the request sent, newest first, with each one's delivery state;
/// an attachment links to the document it is, by its Documents tab name.
fn mail_list(mail: &[MailOut], documents: &[millrace_api::DocumentOut]) -> impl IntoView {
    let document_name = |id: &str| {
        documents
            .iter()
            .find(|d| d.id == id)
            .map(|d| d.name.clone())
            .unwrap_or_else(|| id.to_string())
    };
    view! {
        <h2>"Mail sent"</h2>
        {if mail.is_empty() {
            view! { <p class="note">"No mail was sent for this request."</p> }.into_any()
        } else {
            view! {
                <table class="grid" aria-label="Mail sent">
                    <thead><tr><th>"To"</th><th>"Subject"</th><th>"Delivery"</th></tr></thead>
                    <tbody>
                        {mail.iter().map(|m| {
                            let (state, class) = delivery(m);
                            view! {
                                <tr>
                                    <td>{m.to.join(", ")}</td>
                                    <td>
                                        <details><summary>{m.subject.clone()}</summary><pre class="mail-body">{m.body.clone()}</pre></details>
                                        {m.attachments.iter().map(|a| view! {
                                            <a class="mail-attachment" href=format!("/api/documents/{a}") target="_blank">
                                                {format!("📎 {}.pdf", document_name(a))}
                                            </a>
                                        }).collect_view()}
                                    </td>
                                    <td><span class=format!("badge {class}")>{state}</span></td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any()
        }}
    }
}

/// The SLA the header shows: a breached running one first, else the
/// running one due first, else the last one.
fn headline_sla(slas: &[SlaOut]) -> Option<SlaOut> {
    let running = slas.iter().filter(|s| s.remaining_seconds.is_some());
    running
        .clone()
        .find(|s| s.status == "breached")
        .or_else(|| running.min_by_key(|s| s.remaining_seconds))
        .or_else(|| slas.last())
        .cloned()
}

fn sla_badge(s: &SlaOut) -> impl IntoView {
    let (label, class) = sla_status_label(&s.status);
    view! {
        <span class=format!("badge {class}")>{format!("{}: {label}", s.name)}</span>
    }
}

/// A history entry as a line of the timeline, or none for the engine's
/// bookkeeping (flows taken, variables set) that staff need not read.
fn timeline_text(
    h: &HistoryOut,
    names: &std::collections::BTreeMap<String, String>,
) -> Option<String> {
    let element = || {
        h.node
            .as_ref()
            .map(|n| names.get(n).cloned().unwrap_or_else(|| n.clone()))
            .unwrap_or_default()
    };
    let detail = |field: &str| {
        h.detail
            .as_ref()
            .and_then(|d| d.get(field))
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    };
    Some(match h.event.as_str() {
        "instanceStarted" => "Request opened".to_string(),
        "instanceEnded" => "Request ended".to_string(),
        "activityCompleted" if names.contains_key(h.node.as_deref().unwrap_or_default()) => {
            format!("{} done", element())
        }
        "taskEnded" | "activityStarted" | "activityCompleted" | "flowTaken" | "variableSet" => {
            return None
        }
        "activityCancelled" => format!("{} cancelled", element()),
        "incidentRaised" => format!("Problem at {}: {}", element(), detail("message")),
        "incidentResolved" => format!("{} retried", element()),
        "slaStarted" => format!("SLA {} started", detail("name")),
        "slaMet" => format!(
            "SLA {} met in {} h{}",
            detail("name"),
            detail("hours"),
            if h.detail
                .as_ref()
                .and_then(|d| d.get("late"))
                .and_then(|v| v.as_bool())
                == Some(true)
            {
                " (late)"
            } else {
                ""
            }
        ),
        "slaBreached" => format!("SLA {} breached", detail("name")),
        other => other.to_string(),
    })
}

/// One request.
#[component]
pub fn Request(id: String) -> impl IntoView {
    let session = expect_context::<Session>();
    let csrf = StoredValue::new(session.csrf());
    let id = StoredValue::new(id);
    let seen = RwSignal::new(None::<Result<Seen, String>>);
    let notice = RwSignal::new(None::<(bool, String)>);
    // The quick action whose form is open, with that form.
    let asking = RwSignal::new(None::<(millrace_api::RequestAction, millrace_api::ActionForm)>);
    let tab = RwSignal::new("details");
    let diagram = NodeRef::<leptos::html::Div>::new();
    let reload = move || {
        leptos::task::spawn_local(async move {
            seen.set(Some(read(&id.get_value()).await));
        });
    };
    Effect::new(move |_| reload());
    // The diagram is drawn when its tab opens (bpmn-js measures its container).
    Effect::new(move |_| {
        let (Some(el), Some(Ok(s))) = (diagram.get(), seen.get()) else {
            return;
        };
        let (states, counts) = super::operations::marks(
            &s.request.active_activities,
            &s.request.incidents,
            &s.history,
        );
        let url = format!(
            "/api/process-definitions/{}/versions/{}/xml",
            s.request.key, s.request.version
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
    let send = move |message: String, label: String| {
        leptos::task::spawn_local(async move {
            let body = serde_json::json!({ "name": message, "processInstanceId": id.get_value() });
            let r: Result<serde_json::Value, _> =
                http::send("POST", "/api/messages", &body, &csrf.get_value()).await;
            notice.set(Some(match r {
                Ok(_) => (true, format!("{label}: done.")),
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
    let tabs = [
        ("details", "Details"),
        ("slas", "SLAs"),
        ("diagram", "Diagram"),
        ("timeline", "Timeline"),
        ("communication", "Communication"),
        ("documents", "Documents"),
    ];
    let body = move || match seen.get() {
        None => view! { <p role="status">"Loading the request…"</p> }.into_any(),
        Some(Err(e)) => view! { <p class="banner error" role="alert">{e}</p> }.into_any(),
        Some(Ok(s)) => {
            let r = s.request.clone();
            let headline = headline_sla(&r.slas);
            let names = r.element_names.clone();
            view! {
                <header class="request-header">
                    <h1 id="request-title">{r.title.clone()}
                        {r.vip.then(|| view! { " "<span class="badge vip" aria-label="VIP customer">"VIP"</span> })}
                    </h1>
                    <p class="request-facts">
                        <span>"Request "<strong>{r.request.clone().unwrap_or_else(|| r.id.clone())}</strong></span>
                        <span>"Status "<strong>{r.status.clone().unwrap_or_else(|| r.state.clone())}</strong></span>
                        {headline.as_ref().map(|h| view! {
                            <span>"SLA "{sla_badge(h)}
                                {h.remaining_seconds.map(|s| view! { " "<span class="note">{sla_remaining(s)}</span> })}
                            </span>
                        })}
                        <span class="note">{format!("{} · opened {}", r.process_name.clone().unwrap_or(r.key.clone()), short_time(&r.started_at))}</span>
                    </p>
                    {(!r.header.is_empty()).then(|| view! {
                        <dl class="facts" aria-label="Request">
                            {r.header.iter().cloned().map(|f| view! { <dt>{f.label}</dt><dd>{f.value}</dd> }).collect_view()}
                        </dl>
                    })}
                </header>
                <nav class="quick-actions" aria-label="Quick actions">
                    {r.tasks.iter().cloned().map(|t| view! {
                        <a class="button" href=format!("/tasks/{}", t.id)>{format!("Work on: {}", t.name.unwrap_or(t.element_id))}</a>
                    }).collect_view()}
                    {r.actions.iter().cloned().map(|a| {
                        let (message, label) = (a.message.clone(), a.label.clone());
                        let asks = a.form.is_some();
                        let shown = if asks { format!("{label}…") } else { label.clone() };
                        let act = move |_| match a.form.clone() {
                            Some(form) => asking.set(Some((a.clone(), form))),
                            None => send(message.clone(), label.clone()),
                        };
                        view! { <button type="button" aria-haspopup=asks.then_some("dialog") on:click=act>{shown}</button> }
                    }).collect_view()}
                    {(r.tasks.is_empty() && r.actions.is_empty()).then(|| view! {
                        <span class="note">"Nothing for you to do on this request now."</span>
                    })}
                </nav>
                <div role="tablist" aria-label="Request" class="tabs">
                    {tabs.into_iter().map(|(key, label)| view! {
                        <button type="button" role="tab" id=format!("tab-{key}")
                            aria-selected=move || (tab.get() == key).to_string()
                            aria-controls=format!("panel-{key}")
                            on:click=move |_| tab.set(key)>{label}</button>
                    }).collect_view()}
                </div>
                {move || {
                    let r = r.clone();
                    let s = s.clone();
                    let names = names.clone();
                    let key = tab.get();
                    let panel = match key {
                        "details" => view! {
                            <dl class="facts" aria-label="Details">
                                {r.details.into_iter().map(|f| view! { <dt>{f.label}</dt><dd>{f.value}</dd> }).collect_view()}
                            </dl>
                        }.into_any(),
                        "slas" => if r.slas.is_empty() {
                            view! { <p class="note">"This process declares no SLA."</p> }.into_any()
                        } else {
                            view! {
                                <table class="grid" aria-label="SLAs">
                                    <thead><tr><th>"SLA"</th><th>"Status"</th><th>"Target"</th><th>"Achieved"</th><th>"Due"</th><th>"Time left"</th></tr></thead>
                                    <tbody>
                                        {r.slas.into_iter().map(|sla| {
                                            let (label, class) = sla_status_label(&sla.status);
                                            let target = format!("{} h{}", sla.target_hours, if sla.business_hours { " (business)" } else { "" });
                                            view! {
                                                <tr>
                                                    <td>{sla.name.clone()}{sla.element_id.clone().map(|e| format!(" · {}", names.get(&e).cloned().unwrap_or(e)))}</td>
                                                    <td><span class=format!("badge {class}")>{label}</span></td>
                                                    <td>{target}</td>
                                                    <td>{sla.achieved_hours.clone().map(|h| format!("{h} h")).unwrap_or_else(|| "pending".into())}</td>
                                                    <td>{short_time(&sla.due_at)}</td>
                                                    <td>{sla.remaining_seconds.map(sla_remaining).unwrap_or_default()}</td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            }.into_any()
                        },
                        "diagram" => view! {
                            <div class="instance-diagram" node_ref=diagram role="img" aria-label="The request's diagram"></div>
                            <p class="legend" aria-hidden="true">
                                <span class="swatch mr-active"></span>" waiting "
                                <span class="swatch mr-completed"></span>" done "
                                <span class="swatch mr-incident"></span>" problem"
                            </p>
                        }.into_any(),
                        "timeline" => view! {
                            <table class="grid" aria-label="Timeline">
                                <thead><tr><th>"When"</th><th>"What"</th><th>"Who"</th></tr></thead>
                                <tbody>
                                    {s.history.iter().filter_map(|h| {
                                        let text = timeline_text(h, &names)?;
                                        Some(view! {
                                            <tr><td>{short_time(&h.at)}</td><td>{text}</td><td>{h.actor.clone().unwrap_or_default()}</td></tr>
                                        })
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                        "communication" => view! {
                            <super::notes::RequestNotes instance=r.id.clone() task=None/>
                            {mail_list(&s.mail, &s.documents)}
                        }.into_any(),
                        _ => if s.documents.is_empty() {
                            view! { <p class="note">"No document yet."</p> }.into_any()
                        } else {
                            crate::pages::task::document_list(s.documents.clone()).into_any()
                        },
                    };
                    view! { <div role="tabpanel" id=format!("panel-{key}") aria-labelledby=format!("tab-{key}") class="tab-panel">{panel}</div> }
                }}
            }
            .into_any()
        }
    };
    view! {
        <section aria-labelledby="request-title" class="content request-page">
            <p><a href="/inbox">"← Inbox"</a>" · "<a href="/requests">"Find a request"</a></p>
            {banner}
            {body}
            {move || asking.get().map(|(action, form)| {
                let done = Callback::new(move |said: Option<String>| {
                    asking.set(None);
                    if let Some(said) = said {
                        notice.set(Some((true, said)));
                        reload();
                    }
                });
                view! { <ActionDialog instance=id.get_value() action form csrf=csrf.get_value() done/> }
            })}
        </section>
    }
}

/// The request search: by id, number, customer name, account number or phone.
#[component]
pub fn Requests(q: String) -> impl IntoView {
    let found = RwSignal::new(None::<Result<Vec<RequestSummaryOut>, String>>);
    let query = q.trim().to_string();
    if query.chars().count() >= 2 {
        let url = format!(
            "/api/requests?q={}",
            form_urlencoded::byte_serialize(query.as_bytes()).collect::<String>()
        );
        Effect::new(move |_| {
            let url = url.clone();
            leptos::task::spawn_local(async move {
                found.set(Some(http::get(&url).await.map_err(|f| f.reason())));
            });
        });
    }
    let results = move || {
        match found.get() {
        None => None,
        Some(Err(e)) => Some(view! { <p class="banner error" role="alert">{e}</p> }.into_any()),
        Some(Ok(list)) if list.is_empty() => {
            Some(view! { <p role="status">"No request you may read matches."</p> }.into_any())
        }
        Some(Ok(list)) => Some(
            view! {
                <table class="grid" aria-label="Requests found">
                    <thead><tr><th>"Request"</th><th>"Process"</th><th>"Status"</th><th>"Opened"</th></tr></thead>
                    <tbody>
                        {list.into_iter().map(|r| view! {
                            <tr>
                                <td><a href=format!("/requests/{}", r.id)>{r.request.clone().unwrap_or(r.id.clone())}</a></td>
                                <td>{r.key}</td>
                                <td>{r.status.unwrap_or(r.state)}</td>
                                <td>{short_time(&r.started_at)}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }
            .into_any(),
        ),
    }
    };
    view! {
        <section aria-labelledby="requests-title" class="content">
            <h1 id="requests-title">"Find a request"</h1>
            <form method="get" action="/requests" class="inbox-filter" role="search" aria-label="Find a request">
                <label for="request-q">"Request number, customer name, account number or phone"</label>
                <input id="request-q" name="q" type="search" value=q minlength="2" maxlength="100" required/>
                <button type="submit">"Find"</button>
            </form>
            {results}
        </section>
    }
}
