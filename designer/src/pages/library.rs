//! The process library: every process with its versions and draft; search;
//! a new process from a blank diagram, a copy, or an uploaded file.

use leptos::prelude::*;
use millrace_api::{DraftCreate, DraftOut, LibraryEntry};

use crate::app::{short_time, Session};
use crate::http;

/// The library page.
#[component]
pub fn Library() -> impl IntoView {
    let session = expect_context::<Session>();
    let csrf = session.csrf();
    let admin = session.0.as_ref().is_some_and(|m| m.may_deploy());
    let row_csrf = StoredValue::new(csrf.clone());
    let entries = RwSignal::new(None::<Result<Vec<LibraryEntry>, String>>);
    let query = RwSignal::new(String::new());
    let generation = RwSignal::new(0u32);
    let load = move || {
        let q = query.get_untracked();
        generation.update(|g| *g += 1);
        let mine = generation.get_untracked();
        leptos::task::spawn_local(async move {
            let url = format!("/api/library?q={}", encode(&q));
            let r = http::get::<Vec<LibraryEntry>>(&url).await;
            // A slower answer to an older query must not replace a newer one.
            if generation.get_untracked() == mine {
                entries.set(Some(r.map_err(|f| f.reason())));
            }
        });
    };
    Effect::new(move |_| load());

    let new_key = RwSignal::new(String::new());
    let new_name = RwSignal::new(String::new());
    let copy_of = RwSignal::new(String::new());
    let create_error = RwSignal::new(None::<String>);
    let create = {
        let csrf = csrf.clone();
        move |req: DraftCreate| {
            let csrf = csrf.clone();
            leptos::task::spawn_local(async move {
                match http::send::<_, DraftOut>("POST", "/api/drafts", &req, &csrf).await {
                    Ok(d) => http::navigate(&format!("/designer/{}", d.key)),
                    Err(f) => create_error.set(Some(f.reason())),
                }
            });
        }
    };
    let create_blank = {
        let create = create.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let copy = copy_of.get_untracked();
            create(DraftCreate {
                key: Some(new_key.get_untracked()),
                name: Some(new_name.get_untracked()).filter(|n| !n.is_empty()),
                copy_of: (!copy.is_empty()).then_some(copy),
                xml: None,
            });
        }
    };
    let upload = move |ev: leptos::ev::Event| {
        let create = create.clone();
        read_file(ev, move |text| {
            create(DraftCreate {
                key: None,
                name: None,
                copy_of: None,
                xml: Some(text),
            })
        });
    };

    let list = move || {
        match entries.get() {
        None => view! { <p role="status">"Loading the processes…"</p> }.into_any(),
        Some(Err(e)) => view! { <p class="banner error" role="alert">{e}</p> }.into_any(),
        Some(Ok(list)) if list.is_empty() => view! { <p role="status">"No process matches."</p> }.into_any(),
        Some(Ok(list)) => view! {
            <table class="grid" aria-label="Processes">
                <thead><tr><th>"Process"</th><th>"Versions"</th><th>"Draft"</th><th></th></tr></thead>
                <tbody>{list.into_iter().map(|e| entry_row(e, admin, row_csrf, load)).collect_view()}</tbody>
            </table>
        }.into_any(),
    }
    };
    let keys = move || match entries.get() {
        Some(Ok(list)) => list.into_iter().map(|e| e.key).collect::<Vec<_>>(),
        _ => Vec::new(),
    };

    view! {
        <section class="content" aria-labelledby="lib-title">
            <h1 id="lib-title">"Processes"</h1>
            <div class="toolbar">
                <label for="search" class="sr-only">"Search processes"</label>
                <input id="search" type="search" placeholder="Search by name, id, element name or script text"
                    aria-label="Search processes"
                    prop:value=query on:input=move |ev| { query.set(event_target_value(&ev)); load(); }/>
            </div>
            {list}
            <details class="panel">
                <summary>"New process"</summary>
                <form on:submit=create_blank class="form-row">
                    <label>"Process id" <input required pattern="[A-Za-z_][A-Za-z0-9_.\\-]*" prop:value=new_key
                        on:input=move |ev| new_key.set(event_target_value(&ev))/></label>
                    <label>"Name" <input prop:value=new_name on:input=move |ev| new_name.set(event_target_value(&ev))/></label>
                    <label>"Start from"
                        <select on:change=move |ev| copy_of.set(event_target_value(&ev))>
                            <option value="">"a blank diagram"</option>
                            {move || keys().into_iter().map(|k| {
                                let label = format!("a copy of {k}");
                                view! { <option value=k>{label}</option> }
                            }).collect_view()}
                        </select>
                    </label>
                    <button type="submit" class="primary">"Create"</button>
                </form>
                <label class="upload">"Upload a .bpmn file"
                    <input type="file" accept=".bpmn,.xml,application/xml,text/xml" on:change=upload/>
                </label>
                <Show when=move || create_error.get().is_some()>
                    <p class="banner error" role="alert">{move || create_error.get().unwrap_or_default()}</p>
                </Show>
            </details>
        </section>
    }
}

fn entry_row(
    e: LibraryEntry,
    admin: bool,
    csrf: StoredValue<String>,
    reload: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let href = format!("/designer/{}", e.key);
    let title = e.name.clone().unwrap_or_else(|| e.key.clone());
    let open_label = format!("Open {}", title);
    let newest = e.versions.iter().map(|v| v.version).max().unwrap_or(0);
    let versions = e
        .versions
        .iter()
        .map(|v| {
            let text = format!(
                "v{} · {} · {}{}{}",
                v.version,
                v.deployed_by.clone().unwrap_or_else(|| "—".into()),
                short_time(&v.deployed_at),
                if v.running > 0 { format!(" · {} running", v.running) } else { String::new() },
                if v.retired { " · retired" } else { "" },
            );
            let note = v.note.clone().unwrap_or_default();
            let (key, version, retired) = (v.key.clone(), v.version, v.retired);
            let heatmap = admin.then(|| {
                let href = format!("/operations/heatmap/{key}/{version}");
                let aria = format!("Heatmap of {key} version {version}");
                view! { " " <a href=href aria-label=aria>"Heatmap"</a> }
            });
            // Running instances of an older version can move to a newer one.
            let migrate = (admin && v.running > 0 && version < newest).then(|| {
                let href = format!("/operations/migrate/{key}?from={version}&to={newest}");
                let aria = format!("Migrate the running instances of {key} version {version}");
                view! { " " <a href=href aria-label=aria>"Migrate"</a> }
            });
            let toggle = admin.then(|| {
                let label = if retired { "Reinstate" } else { "Retire" };
                let aria = format!("{label} {key} version {version}");
                let retire = move |_| {
                    let url = format!("/api/process-definitions/{key}/versions/{version}/retire");
                    leptos::task::spawn_local(async move {
                        let body = serde_json::json!({ "retired": !retired });
                        let _: Result<serde_json::Value, _> = http::send("POST", &url, &body, &csrf.get_value()).await;
                        reload();
                    });
                };
                view! { " " <button type="button" class="link" aria-label=aria on:click=retire>{label}</button> }
            });
            view! {
                <li>
                    {text}
                    {(!note.is_empty()).then(|| view! { <span class="note">" — " {note}</span> })}
                    {heatmap}
                    {migrate}
                    {toggle}
                </li>
            }
        })
        .collect_view();
    let draft = match &e.draft {
        Some(d) => format!(
            "revision {} by {}, {}",
            d.revision,
            d.updated_by,
            short_time(&d.updated_at)
        ),
        None => "—".into(),
    };
    view! {
        <tr>
            <td><strong>{title}</strong><br/><code>{e.key.clone()}</code></td>
            <td><ul class="versions">{versions}</ul></td>
            <td>{draft}</td>
            <td><a class="button" href=href aria-label=open_label>"Open"</a></td>
        </tr>
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Reads the file chosen in an `<input type=file>` as text.
fn read_file(ev: leptos::ev::Event, then: impl FnOnce(String) + 'static) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        leptos::task::spawn_local(async move {
            if let Ok(text) = wasm_bindgen_futures::JsFuture::from(file.text()).await {
                then(text.as_string().unwrap_or_default());
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (ev, then);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn queries_are_percent_encoded() {
        assert_eq!(super::encode("a b&c=é"), "a%20b%26c%3D%C3%A9");
    }
}
