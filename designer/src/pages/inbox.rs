//! The inbox: the tasks assigned or offered to the signed-in user.

use leptos::prelude::*;
use millrace_api::{SavedFilterIn, SavedFilterOut, StartForm, TaskOut, FILTER_COUNT_CAP};

use crate::app::{short_time, sla_remaining, sla_status_label, InboxFilter, Session};
use crate::http;

/// The filter as a plain GET form: it works before the wasm loads, and the
/// address it makes can be bookmarked and shared.
fn filter_form(f: InboxFilter, processes: RwSignal<Vec<String>>) -> impl IntoView {
    let chosen = f.process.clone().unwrap_or_default();
    view! {
        <form class="inbox-filter" method="get" action="/inbox" aria-label="Filter tasks">
            {super::process_select(chosen, processes)}
            <label for="filter-group">"Group"</label>
            <input id="filter-group" name="group" type="text" value=f.group.clone().unwrap_or_default()/>
            <label for="filter-request">"Request"</label>
            <input id="filter-request" name="request" type="search" value=f.request.clone().unwrap_or_default()
                placeholder="number"/>
            <label for="filter-status">"Status"</label>
            <input id="filter-status" name="status" type="search" value=f.status.clone().unwrap_or_default()/>
            <label for="filter-variable">"Variable"</label>
            <input id="filter-variable" name="variable" type="text" placeholder="accountNumber" value=f.variable.clone().unwrap_or_default()/>
            <label for="filter-value">"equals"</label>
            <input id="filter-value" name="value" type="search" value=f.value.clone().unwrap_or_default()/>
            <label for="filter-sla">"SLA"</label>
            <select id="filter-sla" name="sla">
                <option value="" selected=f.sla.is_none()>"Any"</option>
                <option value="breached" selected=f.sla.as_deref() == Some("breached")>"Breached"</option>
                <option value="onTrack" selected=f.sla.as_deref() == Some("onTrack")>"On track"</option>
            </select>
            <label class="check"><input type="checkbox" name="mine" value="1" checked=f.mine/>" Only mine"</label>
            <button type="submit">"Apply"</button>
            <a href="/inbox">"Clear"</a>
        </form>
    }
}

/// The saved filters the reader may use, each a link with its count (the
/// reader's own with a delete button), and a form that saves the filter
/// shown, for the reader alone or shared with one of their groups.
fn saved_filters(
    saved: RwSignal<Vec<SavedFilterOut>>,
    shown: InboxFilter,
    me: String,
    groups: Vec<String>,
    csrf: StoredValue<String>,
    reload: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let share = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let criteria = StoredValue::new(shown.criteria());
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = SavedFilterIn {
            name: name.get_untracked().trim().to_string(),
            criteria: criteria.get_value(),
            shared_with: Some(share.get_untracked()).filter(|g| !g.is_empty()),
        };
        leptos::task::spawn_local(async move {
            match http::send::<_, SavedFilterOut>("POST", "/api/filters", &body, &csrf.get_value())
                .await
            {
                Ok(_) => {
                    problem.set(None);
                    name.set(String::new());
                    reload();
                }
                Err(f) => problem.set(Some(f.reason())),
            }
        });
    };
    let remove = move |id: String| {
        leptos::task::spawn_local(async move {
            let url = format!("/api/filters/{id}");
            match http::send::<_, serde_json::Value>(
                "DELETE",
                &url,
                &serde_json::json!({}),
                &csrf.get_value(),
            )
            .await
            {
                Ok(_) => reload(),
                Err(f) => problem.set(Some(f.reason())),
            }
        });
    };
    let me = StoredValue::new(me);
    view! {
        <section class="saved-filters" aria-labelledby="saved-filters-title">
            <h2 id="saved-filters-title">"Saved filters"</h2>
            <ul aria-label="Saved filters">
                {move || saved.get().into_iter().map(|f| {
                    let href = InboxFilter::from_criteria(&f.criteria).href(1);
                    let count = if f.count >= FILTER_COUNT_CAP { format!("{FILTER_COUNT_CAP}+") } else { f.count.to_string() };
                    let whose = match (&f.shared_with, f.owner == me.get_value()) {
                        (Some(g), true) => format!("shared with {g}"),
                        (Some(g), false) => format!("{} · shared with {g}", f.owner),
                        (None, _) => "only you".to_string(),
                    };
                    let mine = f.owner == me.get_value();
                    let id = f.id.clone();
                    let label = format!("Delete the filter {}", f.name);
                    view! {
                        <li>
                            <a href=href>{f.name.clone()}" "<span class="count" aria-label=format!("{count} tasks")>{count.clone()}</span></a>
                            " "<span class="hint">{whose}</span>
                            {mine.then(|| view! {
                                <button type="button" class="link" aria-label=label on:click=move |_| remove(id.clone())>"Delete"</button>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ul>
            <form class="save-filter" on:submit=save aria-label="Save this filter">
                <label for="filter-name">"Save this filter as"</label>
                <input id="filter-name" type="text" required maxlength="80" prop:value=name
                    on:input=move |ev| name.set(event_target_value(&ev))/>
                <label for="filter-share">"for"</label>
                <select id="filter-share" on:change=move |ev| share.set(event_target_value(&ev))>
                    <option value="">"only me"</option>
                    {groups.into_iter().map(|g| {
                        let label = format!("group {g}");
                        view! { <option value=g>{label}</option> }
                    }).collect_view()}
                </select>
                <button type="submit">"Save filter"</button>
                {move || problem.get().map(|p| view! { <span class="banner error" role="alert">{p}</span> })}
            </form>
        </section>
    }
}

/// Previous and next pages, when there are any.
fn pager(f: InboxFilter, tasks: RwSignal<Option<Result<Vec<TaskOut>, String>>>) -> impl IntoView {
    move || {
        let full =
            tasks.with(|t| matches!(t, Some(Ok(l)) if l.len() as u32 >= InboxFilter::PAGE_SIZE));
        let page = f.page.max(1);
        (page > 1 || full).then(|| {
            view! {
                <nav class="pager" aria-label="Pages">
                    {(page > 1).then(|| view! { <a href=f.href(page - 1)>"← Previous"</a> })}
                    <span>{format!("Page {page}")}</span>
                    {full.then(|| view! { <a href=f.href(page + 1)>"Next →"</a> })}
                </nav>
            }
        })
    }
}

/// Calls `refresh` on every `tasks` event from `/api/tasks/events` while the
/// page lives, and each time the stream opens (the browser reconnects a
/// dropped stream by itself, and the reader's place on the page stays: only
/// the rows are drawn again).
fn listen_for_task_changes(refresh: impl Fn() + Copy + 'static) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::prelude::*;
        use wasm_bindgen::JsCast;
        Effect::new(move |_| {
            let Ok(source) = web_sys::EventSource::new("/api/tasks/events") else {
                return;
            };
            let on_change = Closure::<dyn Fn()>::new(refresh);
            let _ = source
                .add_event_listener_with_callback("tasks", on_change.as_ref().unchecked_ref());
            // Whatever changed before the stream was (re)connected sent its
            // event to nobody: read the list again once it is.
            let _ =
                source.add_event_listener_with_callback("open", on_change.as_ref().unchecked_ref());
            // Both live as long as the page: leaving it is a page load,
            // which ends the stream.
            on_change.forget();
            std::mem::forget(source);
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = refresh;
}

/// Claims or gives back (`action`: `claim`, `unclaim`) each selected task,
/// one request each; says how many went through and why the others did not
/// (a colleague was quicker, the task ended meanwhile).
async fn act_on_selected(action: &'static str, ids: Vec<String>, csrf: String) -> (bool, String) {
    let (mut done, mut refused) = (0, Vec::new());
    for id in &ids {
        let url = format!("/api/tasks/{id}/{action}");
        match http::send::<_, serde_json::Value>("POST", &url, &serde_json::json!({}), &csrf).await
        {
            Ok(_) => done += 1,
            Err(f) => refused.push(f.reason()),
        }
    }
    let verb = if action == "claim" {
        "Claimed"
    } else {
        "Gave back"
    };
    let mut text = format!("{verb} {done} of {}.", ids.len());
    if !refused.is_empty() {
        refused.dedup();
        text.push_str(&format!(" Not done: {}", refused.join("; ")));
    }
    (refused.is_empty(), text)
}

/// The task list; each task opens its own page to be worked.
#[component]
pub fn Inbox(filter: InboxFilter) -> impl IntoView {
    let session = expect_context::<Session>();
    let csrf = StoredValue::new(session.csrf());
    // The tasks ticked for a bulk claim or give back: kept while the list
    // refreshes under them.
    let selected = RwSignal::new(std::collections::BTreeSet::<String>::new());
    let outcome = RwSignal::new(None::<(bool, String)>);
    let me = session
        .0
        .as_ref()
        .map(|m| m.user.clone())
        .unwrap_or_default();
    let groups = session
        .0
        .as_ref()
        .map(|m| m.groups.clone())
        .unwrap_or_default();
    let api_url = StoredValue::new(filter.api(&me));
    let tasks = RwSignal::new(None::<Result<Vec<TaskOut>, String>>);
    let processes = RwSignal::new(Vec::<String>::new());
    let startable = RwSignal::new(Vec::<StartForm>::new());
    let refresh = move || {
        leptos::task::spawn_local(async move {
            let r = http::get::<Vec<TaskOut>>(&api_url.get_value()).await;
            // A failed refresh keeps the list the reader has.
            if r.is_ok() || tasks.get_untracked().is_none() {
                tasks.set(Some(r.map_err(|f| f.reason())));
            }
        });
    };
    // The saved filters the reader may use, with their counts.
    let saved = RwSignal::new(Vec::<SavedFilterOut>::new());
    let load_saved = move || {
        leptos::task::spawn_local(async move {
            if let Ok(list) = http::get::<Vec<SavedFilterOut>>("/api/filters").await {
                saved.set(list);
            }
        });
    };
    // The list follows the server: tasks that arrive, are claimed or leave
    // (server-sent events; the page reads the list again, in place), and
    // the saved filters' counts with it.
    listen_for_task_changes(move || {
        refresh();
        load_saved();
    });
    Effect::new(move |_| {
        refresh();
        load_saved();
        leptos::task::spawn_local(async move {
            if let Ok(list) = http::get::<Vec<StartForm>>("/api/start-forms").await {
                startable.set(list);
            }
        });
        super::load_process_keys(processes);
    });
    let bulk = move |action: &'static str| {
        let ids: Vec<String> = selected.get_untracked().into_iter().collect();
        if ids.is_empty() {
            return;
        }
        leptos::task::spawn_local(async move {
            let result = act_on_selected(action, ids, csrf.get_value()).await;
            selected.set(Default::default());
            outcome.set(Some(result));
            refresh();
        });
    };
    let toolbar = move || {
        let none = move || selected.with(|s| s.is_empty());
        view! {
            <div class="bulk-actions" role="group" aria-label="Selected tasks">
                <button type="button" on:click=move |_| bulk("claim") disabled=none>"Claim selected"</button>
                <button type="button" class="secondary" on:click=move |_| bulk("unclaim") disabled=none>"Give back selected"</button>
                {move || outcome.get().map(|(ok, text)| {
                    let class = if ok { "banner info" } else { "banner error" };
                    view! { <span class=class role="status">{text}</span> }
                })}
            </div>
        }
    };
    // "New …" for every process this user may start.
    let new_buttons = move || {
        let list = startable.get();
        (!list.is_empty()).then(|| {
            view! {
                <nav class="new-requests" aria-label="Start a request">
                    {list.into_iter().map(|f| {
                        let label = format!("New {}", f.name.clone().unwrap_or(f.key.clone()));
                        view! { <a class="button" href=format!("/start/{}", f.key)>{label}</a> }
                    }).collect_view()}
                </nav>
            }
        })
    };
    let rows = move || {
        match tasks.get() {
        None => view! { <p role="status">"Loading your tasks…"</p> }.into_any(),
        Some(Err(e)) => view! { <p class="banner error" role="alert">{e}</p> }.into_any(),
        Some(Ok(list)) if list.is_empty() => {
            view! { <p role="status">"No task is assigned or offered to you."</p> }.into_any()
        }
        Some(Ok(list)) => view! {
            {toolbar}
            <table class="grid" aria-label="Tasks">
                <thead><tr><th><span class="visually-hidden">"Select"</span></th><th>"Task"</th><th>"Process"</th><th>"Request"</th><th>"Status"</th><th>"Assignee"</th><th>"Offered to"</th><th>"Due"</th><th>"Created"</th><th>"SLA"</th></tr></thead>
                <tbody>
                    {list.into_iter().map(|t| {
                        let id = t.id.clone();
                        let toggled = t.id.clone();
                        let label = format!(
                            "Select {}{}",
                            t.name.clone().unwrap_or(t.element_id.clone()),
                            t.request.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
                        );
                        view! {
                        <tr>
                            <td><input type="checkbox" aria-label=label
                                prop:checked=move || selected.with(|s| s.contains(&id))
                                on:change=move |_| selected.update(|s| {
                                    if !s.remove(&toggled) {
                                        s.insert(toggled.clone());
                                    }
                                })/></td>
                            <td><a href=format!("/tasks/{}", t.id)>{t.name.clone().unwrap_or(t.element_id.clone())}</a></td>
                            <td>{t.process_key}</td>
                            <td><a href=format!("/requests/{}", t.instance_id)>{t.request.unwrap_or_else(|| "view".into())}</a></td>
                            <td>{t.status.unwrap_or_default()}</td>
                            <td>{t.assignee.unwrap_or_default()}</td>
                            <td>{t.candidate_groups.join(", ")}</td>
                            <td>{t.due.as_deref().map(short_time).unwrap_or_default()}</td>
                            <td>{short_time(&t.created_at)}</td>
                            <td>{t.sla.map(|sla| {
                                let (label, class) = sla_status_label(&sla.status);
                                view! {
                                    <span class=format!("badge {class}") title=format!("{} due {}", sla.name, short_time(&sla.due_at))>{label}</span>
                                    " "<span class="muted">{sla_remaining(sla.remaining_seconds)}</span>
                                }
                            })}</td>
                        </tr>
                    }}).collect_view()}
                </tbody>
            </table>
        }.into_any(),
    }
    };
    view! {
        <section aria-labelledby="inbox-title" class="content">
            <h1 id="inbox-title">"Inbox"</h1>
            <p><a href="/requests">"Find a request"</a>" by number, customer name, account number or phone"</p>
            {new_buttons}
            {filter_form(filter.clone(), processes)}
            {saved_filters(saved, filter.clone(), me.clone(), groups, csrf, load_saved)}
            {rows}
            {pager(filter.clone(), tasks)}
        </section>
    }
}
