//! The inbox: the tasks assigned or offered to the signed-in user.

use leptos::prelude::*;
use millrace_api::{StartForm, TaskOut};

use crate::app::{short_time, InboxFilter, Session};
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
            <label class="check"><input type="checkbox" name="mine" value="1" checked=f.mine/>" Only mine"</label>
            <button type="submit">"Apply"</button>
            <a href="/inbox">"Clear"</a>
        </form>
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
/// page lives (the browser reconnects a dropped stream by itself, and the
/// reader's place on the page stays: only the rows are drawn again).
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
    // The list follows the server: tasks that arrive, are claimed or leave
    // (server-sent events; the page reads the list again, in place).
    listen_for_task_changes(refresh);
    Effect::new(move |_| {
        refresh();
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
                <thead><tr><th><span class="visually-hidden">"Select"</span></th><th>"Task"</th><th>"Process"</th><th>"Request"</th><th>"Status"</th><th>"Assignee"</th><th>"Offered to"</th><th>"Due"</th><th>"Created"</th></tr></thead>
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
                            <td>{t.request.unwrap_or_default()}</td>
                            <td>{t.status.unwrap_or_default()}</td>
                            <td>{t.assignee.unwrap_or_default()}</td>
                            <td>{t.candidate_groups.join(", ")}</td>
                            <td>{t.due.as_deref().map(short_time).unwrap_or_default()}</td>
                            <td>{short_time(&t.created_at)}</td>
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
            {new_buttons}
            {filter_form(filter.clone(), processes)}
            {rows}
            {pager(filter.clone(), tasks)}
        </section>
    }
}
