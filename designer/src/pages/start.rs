//! Starting a process: the form its start event declares (`camunda:formData`
//! fields generated, a form-js form in the viewer), checked in the browser
//! and on the server, then either the first task the flow gives the person
//! who started it (a wizard's next step) or a confirmation to start another.

use std::collections::{BTreeMap, BTreeSet};

use leptos::prelude::*;
use millrace_api::{StartForm, TaskOut};

use crate::app::Session;
use crate::http;
use crate::pages::task::{
    field_view, gather, mount_viewer, outside_viewer, schema_keys, show_refusal, viewer_data,
    Gather,
};
use crate::widgets::form_viewer;

/// The start page of one process.
#[component]
pub fn Start(key: String) -> impl IntoView {
    let session = expect_context::<Session>();
    let me = session
        .0
        .as_ref()
        .map(|m| m.user.clone())
        .unwrap_or_default();
    let me = StoredValue::new(me);
    let csrf = StoredValue::new(session.csrf());
    let key = StoredValue::new(key);
    let form = RwSignal::new(None::<Result<StartForm, String>>);
    let inputs = RwSignal::new(BTreeMap::<String, String>::new());
    let errors = RwSignal::new(BTreeMap::<String, String>::new());
    let business_key = RwSignal::new(String::new());
    let banner = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let started = RwSignal::new(None::<(String, Option<String>)>);
    let viewer_box = NodeRef::<leptos::html::Div>::new();
    let viewer_keys = StoredValue::new(BTreeSet::<String>::new());

    let load = move || {
        started.set(None);
        leptos::task::spawn_local(async move {
            let url = format!("/api/process-definitions/{}/start-form", key.get_value());
            let r = http::get::<StartForm>(&url).await;
            if let Ok(f) = &r {
                inputs.set(
                    f.fields
                        .iter()
                        .filter(|f| !f.id.is_empty())
                        .map(|f| (f.id.clone(), f.value.clone().unwrap_or_default()))
                        .collect(),
                );
            }
            form.set(Some(r.map_err(|f| f.reason())));
        });
    };
    Effect::new(move |_| load());
    Effect::new(move |_| {
        // Once per container: it is made anew when the form is read again.
        let (Some(el), Some(Ok(f))) = (viewer_box.get(), form.get_untracked()) else {
            return;
        };
        let Some(schema) = f.form_schema.clone() else {
            return;
        };
        let keys = schema_keys(&schema);
        let data = viewer_data(&f.fields, &keys, &BTreeMap::new());
        viewer_keys.set_value(keys);
        leptos::task::spawn_local(async move {
            if let Err(e) = mount_viewer(&el, &schema, &data).await {
                banner.set(Some(format!("The form cannot be shown: {e}")));
            }
        });
    });
    on_cleanup(form_viewer::destroy);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(Ok(f)) = form.get_untracked() else {
            return;
        };
        let in_viewer = viewer_keys.get_value();
        errors.set(BTreeMap::new());
        let vars = match gather(
            f.form_schema.is_some(),
            &f.fields,
            &inputs.get_untracked(),
            &in_viewer,
            Gather::Checked,
        ) {
            Ok(v) => v,
            Err(why) => return why.show(banner, errors),
        };
        let bk = business_key.get_untracked().trim().to_string();
        leptos::task::spawn_local(async move {
            busy.set(true);
            banner.set(None);
            let url = format!("/api/process-definitions/{}/start", key.get_value());
            let mut body = serde_json::json!({ "variables": vars });
            if !bk.is_empty() {
                body["businessKey"] = serde_json::Value::String(bk.clone());
            }
            let r =
                http::send::<_, serde_json::Value>("POST", &url, &body, &csrf.get_value()).await;
            busy.set(false);
            match r {
                Ok(out) => {
                    let id = out["id"].as_str().unwrap_or_default().to_string();
                    // The flow's first task for the person who started it opens at once.
                    let url = format!("/api/tasks?instanceId={id}");
                    let mine = http::get::<Vec<TaskOut>>(&url).await.ok().and_then(|list| {
                        // Assigned or offered to the starter, as a wizard's next step is.
                        list.into_iter().find(|t| {
                            t.assignee
                                .as_deref()
                                .is_none_or(|a| a == me.get_value().as_str())
                        })
                    });
                    match mine {
                        Some(t) => http::navigate(&format!("/tasks/{}", t.id)),
                        None => started.set(Some((id, (!bk.is_empty()).then_some(bk)))),
                    }
                }
                Err(failure) => show_refusal(&failure, &f.fields, &in_viewer, errors, banner),
            }
        });
    };

    let body = move || match (form.get(), started.get()) {
        (None, _) => view! { <p role="status">"Loading the form…"</p> }.into_any(),
        (Some(Err(e)), _) => view! {
            <h1 id="start-title">{format!("New {}", key.get_value())}</h1>
            <p class="banner error" role="alert">{e}</p>
        }
        .into_any(),
        (Some(Ok(f)), Some((id, bk))) => {
            let name = f.name.clone().unwrap_or(f.key.clone());
            view! {
                <h1 id="start-title">{format!("{name} started")}</h1>
                <dl class="facts" aria-label="Started request">
                    <dt>"Request"</dt><dd>{bk.unwrap_or_else(|| "—".into())}</dd>
                    <dt>"Instance"</dt><dd>{id}</dd>
                </dl>
                <p>"Its next step is with the people the process names; it is in their inboxes."</p>
                <div class="actions">
                    <button type="button" class="primary" on:click=move |_| load()>{format!("New {name}")}</button>
                    <a class="button" href="/inbox">"Back to the inbox"</a>
                </div>
            }
            .into_any()
        }
        (Some(Ok(f)), None) => {
            let name = f.name.clone().unwrap_or(f.key.clone());
            let has_schema = f.form_schema.is_some();
            let fields = outside_viewer(&f.fields, f.form_schema.as_deref());
            view! {
                <h1 id="start-title">{format!("New {name}")}</h1>
                <form class="task-form" on:submit=submit aria-labelledby="start-title" novalidate=true>
                    <div class="field">
                        <label for="business-key">"Reference (business key)"</label>
                        <input id="business-key" type="text" maxlength="200" prop:value=business_key
                            on:input=move |ev| business_key.set(event_target_value(&ev))/>
                    </div>
                    {fields.into_iter().map(|field| field_view(field, inputs, errors)).collect_view()}
                    {has_schema.then(|| view! { <div class="form-js" node_ref=viewer_box></div> })}
                    <button type="submit" class="primary" disabled=move || busy.get()>"Start"</button>
                </form>
            }
            .into_any()
        }
    };
    view! {
        <section aria-labelledby="start-title" class="content">
            <p><a href="/inbox">"← Inbox"</a></p>
            {move || banner.get().map(|b| view! { <p class="banner error" role="alert">{b}</p> })}
            {body}
        </section>
    }
}
