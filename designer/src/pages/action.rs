//! A quick action that asks first: the dialog a request view opens when the
//! element waiting for a message declares a form (a reason to close the
//! request, say). Its fields are checked in the browser and on the server,
//! then the message goes to this instance with them as its variables.

use std::collections::{BTreeMap, BTreeSet};

use leptos::prelude::*;
use millrace_api::{ActionForm, RequestAction};

use crate::http;
use crate::pages::task::{
    field_view, gather, mount_viewer, outside_viewer, schema_keys, show_refusal, viewer_data,
    Gather,
};
use crate::widgets::form_viewer;

/// The form of `action` for instance `instance`, in a modal dialog.
/// `done` is called with what to tell the reader once the message went, or
/// with `None` when they cancel.
#[component]
pub fn ActionDialog(
    instance: String,
    action: RequestAction,
    form: ActionForm,
    csrf: String,
    done: Callback<Option<String>>,
) -> impl IntoView {
    let inputs = RwSignal::new(
        form.fields
            .iter()
            .filter(|f| !f.id.is_empty())
            .map(|f| (f.id.clone(), f.value.clone().unwrap_or_default()))
            .collect::<BTreeMap<_, _>>(),
    );
    let errors = RwSignal::new(BTreeMap::<String, String>::new());
    let banner = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let viewer_box = NodeRef::<leptos::html::Div>::new();
    let dialog_box = NodeRef::<leptos::html::Div>::new();
    let viewer_keys = StoredValue::new(BTreeSet::<String>::new());
    let form = StoredValue::new(form);
    let (message, label) = (action.message.clone(), action.label.clone());
    let title_id = format!("action-{}-title", action.element_id);

    Effect::new(move |_| {
        let Some(el) = viewer_box.get() else {
            return;
        };
        let f = form.get_value();
        let Some(schema) = f.form_schema.clone() else {
            return;
        };
        let keys = schema_keys(&schema);
        let data = viewer_data(&f.fields, &keys, &f.context);
        viewer_keys.set_value(keys);
        leptos::task::spawn_local(async move {
            if let Err(e) = mount_viewer(&el, &schema, &data).await {
                banner.set(Some(format!("The form cannot be shown: {e}")));
            }
        });
    });
    on_cleanup(form_viewer::destroy);
    // Focus moves into the dialog when it opens, as for any modal dialog.
    Effect::new(move |_| {
        if let Some(el) = dialog_box.get() {
            let _ = el.focus();
        }
    });

    let submit = {
        let (message, label) = (message.clone(), label.clone());
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let f = form.get_value();
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
            let body = serde_json::json!({
                "name": message,
                "processInstanceId": instance,
                "variables": vars,
            });
            let (csrf, label) = (csrf.clone(), label.clone());
            leptos::task::spawn_local(async move {
                busy.set(true);
                banner.set(None);
                let r: Result<serde_json::Value, _> =
                    http::send("POST", "/api/messages", &body, &csrf).await;
                busy.set(false);
                match r {
                    Ok(_) => done.run(Some(format!("{label}: done."))),
                    Err(failure) => show_refusal(&failure, &f.fields, &in_viewer, errors, banner),
                }
            });
        }
    };
    let f = form.get_value();
    let has_schema = f.form_schema.is_some();
    let fields = outside_viewer(&f.fields, f.form_schema.as_deref());
    let (dialog_title, heading_id) = (title_id.clone(), title_id.clone());
    view! {
        <div class="dialog-backdrop" on:keydown=move |ev| if ev.key() == "Escape" { done.run(None) }>
            <div class="dialog" role="dialog" aria-modal="true" aria-labelledby=dialog_title
                tabindex="-1" node_ref=dialog_box>
                <h2 id=heading_id>{label.clone()}</h2>
                {move || banner.get().map(|b| view! { <p class="banner error" role="alert">{b}</p> })}
                <form class="task-form" on:submit=submit aria-labelledby=title_id novalidate=true>
                    {fields.into_iter().map(|field| field_view(field, inputs, errors)).collect_view()}
                    {has_schema.then(|| view! { <div class="form-js" node_ref=viewer_box></div> })}
                    <div class="actions">
                        <button type="submit" class="primary" disabled=move || busy.get()>{label.clone()}</button>
                        <button type="button" on:click=move |_| done.run(None)>"Cancel"</button>
                    </div>
                </form>
            </div>
        </div>
    }
}
