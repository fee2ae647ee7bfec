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

/// The task list; each task opens its own page to be worked.
#[component]
pub fn Inbox(filter: InboxFilter) -> impl IntoView {
    let session = expect_context::<Session>();
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
            <table class="grid" aria-label="Tasks">
                <thead><tr><th>"Task"</th><th>"Process"</th><th>"Request"</th><th>"Status"</th><th>"Assignee"</th><th>"Offered to"</th><th>"Due"</th><th>"Created"</th></tr></thead>
                <tbody>
                    {list.into_iter().map(|t| view! {
                        <tr>
                            <td><a href=format!("/tasks/{}", t.id)>{t.name.clone().unwrap_or(t.element_id.clone())}</a></td>
                            <td>{t.process_key}</td>
                            <td>{t.request.unwrap_or_default()}</td>
                            <td>{t.status.unwrap_or_default()}</td>
                            <td>{t.assignee.unwrap_or_default()}</td>
                            <td>{t.candidate_groups.join(", ")}</td>
                            <td>{t.due.as_deref().map(short_time).unwrap_or_default()}</td>
                            <td>{short_time(&t.created_at)}</td>
                        </tr>
                    }).collect_view()}
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
