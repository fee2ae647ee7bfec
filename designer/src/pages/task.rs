//! One task: who has it, claim it or give it back, its form, complete it.
//! The form is whatever the BPMN declares: `camunda:formData` fields (from
//! `/api/tasks/{id}/form`) generated here, a form-js form (`camunda:formRef`)
//! in the form-js viewer; the server's validation message appears on the
//! field it names; a wizard's next step (a task the flow now gives the same
//! person) opens at once.

use std::collections::{BTreeMap, BTreeSet};

use leptos::prelude::*;
use millrace_api::{FormFieldOut, TaskForm, TaskOut};
use serde::Deserialize;

use crate::app::{short_time, Session};
use crate::http;
use crate::widgets::form_viewer;

/// What completing a task answers.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Completed {
    next_task: Option<TaskOut>,
}

/// The text typed into a field, as the variable its kind asks for (`None`:
/// left empty); `Err` says what the field wants.
pub(crate) fn typed(
    field: &FormFieldOut,
    text: &str,
) -> Result<Option<serde_json::Value>, &'static str> {
    let t = text.trim();
    match field.kind.as_str() {
        "boolean" => Ok(Some(serde_json::Value::Bool(t == "true"))),
        _ if t.is_empty() => Ok(None),
        "integer" => t
            .parse::<i64>()
            .map(|n| Some(n.into()))
            .map_err(|_| "a whole number"),
        "number" => serde_json::from_str::<serde_json::Number>(t)
            .map(|n| Some(serde_json::Value::Number(n)))
            .map_err(|_| "a number"),
        _ => Ok(Some(serde_json::Value::String(text.to_string()))),
    }
}

/// The day of a stored date-time, as a date input shows it (`2024-11-01`).
fn day(text: &str) -> String {
    text.chars().take(10).collect()
}

/// The field a server error names, as the form knows it (`variables.x` → `x`).
pub(crate) fn field_of(error_field: &str) -> &str {
    error_field
        .strip_prefix("variables.")
        .unwrap_or(error_field)
        .split(['.', '['])
        .next()
        .unwrap_or(error_field)
}

/// The variables a form-js form's fields set (their `key`s, nested groups included).
pub(crate) fn schema_keys(schema: &str) -> BTreeSet<String> {
    fn walk(v: &serde_json::Value, out: &mut BTreeSet<String>) {
        for c in v
            .get("components")
            .and_then(|c| c.as_array())
            .into_iter()
            .flatten()
        {
            if let Some(k) = c.get("key").and_then(|k| k.as_str()) {
                out.insert(k.to_string());
            }
            walk(c, out);
        }
    }
    let mut out = BTreeSet::new();
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(schema) {
        walk(&v, &mut out);
    }
    out
}

/// What the form-js viewer starts with: each of its fields' current value, typed.
pub(crate) fn viewer_data(
    fields: &[FormFieldOut],
    keys: &BTreeSet<String>,
    context: &BTreeMap<String, serde_json::Value>,
) -> String {
    // What the form reads (options, texts) first; its own fields' values over it.
    let mut data: serde_json::Map<String, serde_json::Value> = context
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    data.extend(
        fields
            .iter()
            .filter(|f| keys.contains(&f.id))
            .filter_map(|f| {
                let text = f.value.clone()?;
                let value = typed(f, &text).ok().flatten()?;
                Some((f.id.clone(), value))
            }),
    );
    serde_json::Value::Object(data).to_string()
}

/// The fields the page renders itself: those a form-js viewer does not show
/// (none of its inputs, and none of its texts, which it renders with their
/// `{{…}}` filled in).
pub(crate) fn outside_viewer(fields: &[FormFieldOut], schema: Option<&str>) -> Vec<FormFieldOut> {
    let Some(schema) = schema else {
        return fields.to_vec();
    };
    let in_schema = schema_keys(schema);
    fields
        .iter()
        .filter(|x| !in_schema.contains(&x.id) && x.kind != "display")
        .cloned()
        .collect()
}

/// How a form's values are gathered: to complete or start (the form's rules
/// checked first) or to keep as progress (kept as typed, checked later).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gather {
    Checked,
    AsTyped,
}

/// Why a form's values were not gathered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NotGathered {
    /// The form-js viewer could not be read.
    Viewer(String),
    /// The form-js viewer's own rules failed; it shows them on its fields.
    ViewerRules,
    /// Generated fields whose text is not of their kind, by field.
    Fields(BTreeMap<String, String>),
}

impl NotGathered {
    /// Shows why, where the reader looks: an unreadable viewer in the
    /// banner, fields' problems on their fields (the viewer shows its own).
    pub(crate) fn show(
        self,
        banner: RwSignal<Option<String>>,
        errors: RwSignal<BTreeMap<String, String>>,
    ) {
        match self {
            NotGathered::Viewer(e) => banner.set(Some(e)),
            NotGathered::ViewerRules => {}
            NotGathered::Fields(problems) => errors.set(problems),
        }
    }
}

/// The variables a form holds: the form-js viewer's (its fields' keys are
/// `in_viewer`) and the generated fields' text, typed by their kind.
pub(crate) fn gather(
    has_schema: bool,
    fields: &[FormFieldOut],
    typed_in: &BTreeMap<String, String>,
    in_viewer: &BTreeSet<String>,
    how: Gather,
) -> Result<serde_json::Map<String, serde_json::Value>, NotGathered> {
    let mut vars = serde_json::Map::new();
    if has_schema {
        let from_viewer = match how {
            Gather::AsTyped => form_viewer::values().map_err(NotGathered::Viewer)?,
            Gather::Checked => {
                let s = form_viewer::submit().map_err(NotGathered::Viewer)?;
                if !s.errors.is_empty() {
                    return Err(NotGathered::ViewerRules);
                }
                s.data
            }
        };
        vars.extend(
            from_viewer
                .into_iter()
                .filter(|(k, _)| in_viewer.contains(k)),
        );
    }
    let mut problems = BTreeMap::new();
    for field in fields
        .iter()
        .filter(|x| !x.id.is_empty() && !x.readonly && !in_viewer.contains(&x.id))
    {
        let text = typed_in.get(&field.id).cloned().unwrap_or_default();
        match (typed(field, &text), how) {
            (Ok(Some(v)), _) => {
                vars.insert(field.id.clone(), v);
            }
            (Ok(None), _) => {}
            // Progress keeps a value not yet of its kind as typed.
            (Err(_), Gather::AsTyped) => {
                vars.insert(field.id.clone(), serde_json::Value::String(text));
            }
            (Err(want), Gather::Checked) => {
                problems.insert(field.id.clone(), format!("Enter {want}."));
            }
        }
    }
    if problems.is_empty() {
        Ok(vars)
    } else {
        Err(NotGathered::Fields(problems))
    }
}

/// Shows a refusal from the server on the field it names (in the form-js
/// viewer or a generated field), or in the banner when it names none of them.
pub(crate) fn show_refusal(
    failure: &http::Failure,
    fields: &[FormFieldOut],
    in_viewer: &BTreeSet<String>,
    errors: RwSignal<BTreeMap<String, String>>,
    banner: RwSignal<Option<String>>,
) {
    let on_field = failure
        .body
        .field
        .as_deref()
        .map(field_of)
        .filter(|name| fields.iter().any(|k| k.id == *name))
        .map(str::to_string);
    match on_field {
        Some(name) if in_viewer.contains(&name) => {
            if !form_viewer::set_error(&name, &failure.reason()) {
                banner.set(Some(failure.reason()));
            }
        }
        Some(name) => errors.update(|e| {
            e.insert(name, failure.reason());
        }),
        None => banner.set(Some(failure.reason())),
    }
}

/// The task page.
#[component]
pub fn Task(id: String) -> impl IntoView {
    let session = expect_context::<Session>();
    let me = session
        .0
        .as_ref()
        .map(|m| m.user.clone())
        .unwrap_or_default();
    let csrf = StoredValue::new(session.csrf());
    let id = StoredValue::new(id);
    let form = RwSignal::new(None::<Result<TaskForm, String>>);
    let inputs = RwSignal::new(BTreeMap::<String, String>::new());
    let errors = RwSignal::new(BTreeMap::<String, String>::new());
    let banner = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    // The form-js form, when the task has one: its container and its fields' variables.
    let viewer_box = NodeRef::<leptos::html::Div>::new();
    let viewer_keys = StoredValue::new(BTreeSet::<String>::new());
    let progress_note = RwSignal::new(None::<String>);
    // After a wizard's last step: the request as it now stands, to print.
    let receipt = RwSignal::new(None::<Receipt>);
    let colleague = RwSignal::new(String::new());
    Effect::new(move |_| {
        // The container is made anew whenever the task is read again (after a
        // claim, say): mount once per container.
        let (Some(el), Some(Ok(f))) = (viewer_box.get(), form.get_untracked()) else {
            return;
        };
        let Some(schema) = f.form_schema.clone() else {
            return;
        };
        let keys = schema_keys(&schema);
        let data = viewer_data(&f.fields, &keys, &f.context);
        let sent_back = f.field_errors.clone();
        viewer_keys.set_value(keys.clone());
        leptos::task::spawn_local(async move {
            if let Err(e) = mount_viewer(&el, &schema, &data).await {
                banner.set(Some(format!("The form cannot be shown: {e}")));
                return;
            }
            // What the process sent the person back for, on its fields.
            for (field, message) in sent_back.iter().filter(|(k, _)| keys.contains(*k)) {
                if !form_viewer::set_error(field, message) {
                    banner.set(Some(message.clone()));
                }
            }
        });
    });
    on_cleanup(form_viewer::destroy);

    let load = move || {
        leptos::task::spawn_local(async move {
            let url = format!("/api/tasks/{}/form", id.get_value());
            let r = http::get::<TaskForm>(&url).await;
            if let Ok(f) = &r {
                // Messages the process sent the person back with, on generated fields.
                errors.set(f.field_errors.clone());
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

    let act = move |what: &'static str| {
        leptos::task::spawn_local(async move {
            busy.set(true);
            let url = format!("/api/tasks/{}/{what}", id.get_value());
            let r = http::send::<_, serde_json::Value>(
                "POST",
                &url,
                &serde_json::json!({}),
                &csrf.get_value(),
            )
            .await;
            busy.set(false);
            match r {
                Ok(_) => {
                    banner.set(None);
                    load();
                }
                Err(f) => banner.set(Some(f.reason())),
            }
        });
    };

    // Keeps what is entered so far on the server, unchecked, to finish later.
    let save_progress = move |_| {
        let Some(Ok(f)) = form.get_untracked() else {
            return;
        };
        let vars = match gather(
            f.form_schema.is_some(),
            &f.fields,
            &inputs.get_untracked(),
            &viewer_keys.get_value(),
            Gather::AsTyped,
        ) {
            Ok(v) => v,
            Err(why) => return why.show(banner, errors),
        };
        leptos::task::spawn_local(async move {
            busy.set(true);
            let url = format!("/api/tasks/{}/progress", id.get_value());
            let body = serde_json::json!({ "variables": vars });
            let r =
                http::send::<_, millrace_api::SavedProgress>("PUT", &url, &body, &csrf.get_value())
                    .await;
            busy.set(false);
            match r {
                Ok(saved) => {
                    banner.set(None);
                    progress_note.set(Some(format!(
                        "Progress saved at {}.",
                        short_time(&saved.saved_at)
                    )));
                }
                Err(f) => banner.set(Some(f.reason())),
            }
        });
    };
    let hand_over = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let to = colleague.get_untracked().trim().to_string();
        if to.is_empty() {
            return;
        }
        leptos::task::spawn_local(async move {
            busy.set(true);
            let url = format!("/api/tasks/{}/assign", id.get_value());
            let r = http::send::<_, serde_json::Value>(
                "POST",
                &url,
                &serde_json::json!({ "user": to }),
                &csrf.get_value(),
            )
            .await;
            busy.set(false);
            match r {
                Ok(_) => http::navigate("/inbox"),
                Err(f) => banner.set(Some(f.reason())),
            }
        });
    };

    let complete = move |ev: leptos::ev::SubmitEvent| {
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
        leptos::task::spawn_local(async move {
            busy.set(true);
            banner.set(None);
            let url = format!("/api/tasks/{}/complete", id.get_value());
            let body = serde_json::json!({ "variables": vars });
            let r = http::send::<_, Completed>("POST", &url, &body, &csrf.get_value()).await;
            busy.set(false);
            match r {
                Ok(done) => match done.next_task {
                    Some(next) => http::navigate(&format!("/tasks/{}", next.id)),
                    None if f.steps.len() >= 2 => {
                        let url = format!("/api/process-instances/{}", f.task.instance_id);
                        // The request is done with this last step: its receipt.
                        // (Still running, its next steps are other people's.)
                        let documents = http::get::<Vec<millrace_api::DocumentOut>>(&format!(
                            "{url}/documents"
                        ))
                        .await
                        .unwrap_or_default();
                        match http::get::<serde_json::Value>(&url).await {
                            Ok(inst) if inst["state"] != "active" => receipt.set(Some(Receipt {
                                documents,
                                process: f
                                    .process_name
                                    .clone()
                                    .unwrap_or(f.task.process_key.clone()),
                                key: f.task.process_key.clone(),
                                request: f.task.request.clone(),
                                instance: f.task.instance_id.clone(),
                                state: inst["state"].as_str().unwrap_or_default().to_string(),
                                variables: inst["variables"]
                                    .as_object()
                                    .cloned()
                                    .unwrap_or_default(),
                            })),
                            _ => http::navigate("/inbox"),
                        }
                    }
                    None => http::navigate("/inbox"),
                },
                Err(failure) => show_refusal(&failure, &f.fields, &in_viewer, errors, banner),
            }
        });
    };

    let body = move || match form.get() {
        _ if receipt.get().is_some() => receipt.get().map(receipt_view).into_any(),
        None => view! { <p role="status">"Loading the task…"</p> }.into_any(),
        Some(Err(e)) => view! {
            <h1 id="task-title">"Task"</h1>
            <p class="banner error" role="alert">{e}</p>
            <p><a href="/inbox">"Back to the inbox"</a></p>
        }
        .into_any(),
        Some(Ok(f)) => {
            let t = f.task.clone();
            let mine = t.assignee.as_deref() == Some(me.as_str());
            let unassigned = t.assignee.is_none();
            let offered = t
                .candidate_groups
                .iter()
                .chain(&t.candidate_users)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            let has_schema = f.form_schema.is_some();
            let fields = outside_viewer(&f.fields, f.form_schema.as_deref());
            let empty = fields.is_empty() && !has_schema;
            let saved_note = f.progress.as_ref().map(|p| {
                format!(
                    "Progress saved by {} at {}.",
                    p.saved_by,
                    short_time(&p.saved_at)
                )
            });
            let steps = f.steps.clone();
            view! {
                <div class="task-layout">
                <div class="task-main">
                {step_indicator(steps)}
                <h1 id="task-title">{t.name.clone().unwrap_or(t.element_id.clone())}</h1>
                <dl class="facts">
                    <dt>"Process"</dt>
                    <dd>{f.process_name.clone().unwrap_or(t.process_key.clone())}</dd>
                    <dt>"Request"</dt>
                    <dd><a href=format!("/requests/{}", t.instance_id) title="Open the request">{t.request.clone().unwrap_or_else(|| "the request".into())}</a></dd>
                    {t.sla.clone().map(|sla| {
                        let (label, class) = crate::app::sla_status_label(&sla.status);
                        view! { <dt>"SLA"</dt><dd><span class=format!("badge {class}")>{format!("{}: {label}", sla.name)}</span>
                            " "<span class="note">{crate::app::sla_remaining(sla.remaining_seconds)}</span></dd> }
                    })}
                    {t.status.clone().map(|s| view! { <dt>"Status"</dt><dd class="request-status">{s}</dd> })}
                    <dt>"Assignee"</dt>
                    <dd>{t.assignee.clone().unwrap_or_else(|| "nobody yet".into())}</dd>
                    <dt>"Offered to"</dt>
                    <dd>{offered}</dd>
                    <dt>"Created"</dt>
                    <dd>{short_time(&t.created_at)}</dd>
                </dl>
                {document_list(f.documents.clone())}
                <div class="actions">
                    {unassigned.then(|| view! {
                        <button type="button" on:click=move |_| act("claim") disabled=move || busy.get()>"Claim"</button>
                    })}
                    {mine.then(|| view! {
                        <button type="button" class="secondary" on:click=move |_| act("unclaim") disabled=move || busy.get()>
                            "Give back"
                        </button>
                    })}
                </div>
                <form class="task-form" on:submit=complete aria-labelledby="task-title" novalidate=true>
                    {empty.then(|| view! { <p>"This task has no form: complete it when the work is done."</p> })}
                    {fields.into_iter().map(|field| field_view(field, inputs, errors)).collect_view()}
                    {has_schema.then(|| view! { <div class="form-js" node_ref=viewer_box></div> })}
                    <div class="actions">
                        <button type="submit" class="primary" disabled=move || busy.get()>"Complete"</button>
                        {(mine && !empty).then(|| view! {
                            <button type="button" class="secondary" on:click=save_progress disabled=move || busy.get()>"Save progress"</button>
                        })}
                        <span role="status">{move || progress_note.get().or_else(|| saved_note.clone())}</span>
                    </div>
                </form>
                {mine.then(|| view! {
                    <form class="hand-over" on:submit=hand_over>
                        <label for="colleague">"Hand over to (user name)"</label>
                        <input id="colleague" type="text" prop:value=colleague
                            on:input=move |ev| colleague.set(event_target_value(&ev))/>
                        <button type="submit" class="secondary" disabled=move || busy.get()>"Hand over"</button>
                    </form>
                })}
                </div>
                // Beside the work, not below it: the form's end stays the
                // page's end, so nothing below moves when a field's error
                // goes away as it is mended.
                <aside class="task-side">
                    <super::notes::RequestNotes instance=t.instance_id.clone() task=Some(t.id.clone())/>
                </aside>
                </div>
            }
            .into_any()
        }
    };
    view! {
        <section aria-labelledby="task-title" class="content">
            <p><a href="/inbox">"← Inbox"</a></p>
            {move || banner.get().map(|b| view! { <p class="banner error" role="alert">{b}</p> })}
            {body}
        </section>
    }
}

/// The documents the process typeset for the request, to open or download.
pub(crate) fn document_list(documents: Vec<millrace_api::DocumentOut>) -> impl IntoView {
    (!documents.is_empty()).then(|| {
        view! {
            <section class="documents" aria-labelledby="documents-title">
                <h2 id="documents-title">"Documents"</h2>
                <ul>
                    {documents.into_iter().map(|d| {
                        let kb = format!("PDF, {} KB, {}", (d.size + 1023) / 1024, short_time(&d.created_at));
                        view! {
                            <li>
                                <a href=d.url.clone() target="_blank" rel="noopener">{d.name}</a>
                                " "<span class="note">{kb}</span>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </section>
        }
    })
}

/// The request as it stood after a wizard's last step.
#[derive(Debug, Clone, PartialEq)]
struct Receipt {
    process: String,
    key: String,
    request: Option<String>,
    instance: String,
    state: String,
    variables: serde_json::Map<String, serde_json::Value>,
    documents: Vec<millrace_api::DocumentOut>,
}

/// Steps done, the current one and those ahead, in the BPMN's order.
fn step_indicator(steps: Vec<millrace_api::WizardStep>) -> impl IntoView {
    (!steps.is_empty()).then(|| {
        let total = steps.len();
        let at = steps.iter().position(|s| s.state == "current").map_or(0, |i| i + 1);
        view! {
            <ol class="steps" aria-label=format!("Step {at} of {total}")>
                {steps.into_iter().map(|s| {
                    let label = s.name.clone().unwrap_or(s.element_id.clone());
                    let mark = match s.state.as_str() { "done" => "✓ ", "current" => "● ", _ => "" };
                    let current = (s.state == "current").then_some("step");
                    let class = format!("step {}", s.state);
                    view! { <li class=class aria-current=current>{mark}{label}</li> }
                }).collect_view()}
            </ol>
        }
    })
}

/// A receipt: the request's id and details, to print, and "add another".
fn receipt_view(r: Receipt) -> impl IntoView {
    // What a person reads: the request's values, not the lists and records
    // the process looked up on the way (those are on the operations page).
    let facts = r
        .variables
        .into_iter()
        .filter_map(|(k, v)| {
            let shown = match v {
                serde_json::Value::String(s) => s,
                serde_json::Value::Null
                | serde_json::Value::Array(_)
                | serde_json::Value::Object(_) => return None,
                other => other.to_string(),
            };
            Some(view! { <dt>{k}</dt><dd>{shown}</dd> })
        })
        .collect_view();
    view! {
        <article class="receipt" aria-labelledby="receipt-title">
            <h1 id="receipt-title">{format!("Receipt · {}", r.process)}</h1>
            <dl class="facts">
                <dt>"Request"</dt><dd>{r.request.unwrap_or_else(|| "—".into())}</dd>
                <dt>"Instance"</dt><dd>{r.instance}</dd>
                <dt>"State"</dt><dd>{r.state}</dd>
            </dl>
            {document_list(r.documents)}
            <h2>"Details"</h2>
            <dl class="facts">{facts}</dl>
            <div class="actions no-print">
                <button type="button" class="primary" on:click=move |_| print_page()>"Print"</button>
                <a class="button" href=format!("/start/{}", r.key)>"Add another"</a>
                <a class="button" href="/inbox">"Back to the inbox"</a>
            </div>
        </article>
    }
}

fn print_page() {
    #[cfg(feature = "hydrate")]
    if let Some(w) = web_sys::window() {
        let _ = w.print();
    }
}

#[cfg(feature = "hydrate")]
pub(crate) async fn mount_viewer(
    el: &web_sys::HtmlDivElement,
    schema: &str,
    data: &str,
) -> Result<(), String> {
    form_viewer::mount(el, schema, data, || {}).await
}

#[cfg(not(feature = "hydrate"))]
pub(crate) async fn mount_viewer<E>(_el: &E, _schema: &str, _data: &str) -> Result<(), String> {
    Ok(())
}

/// One field: its label, the input its kind asks for, and its error.
pub(crate) fn field_view(
    f: FormFieldOut,
    inputs: RwSignal<BTreeMap<String, String>>,
    errors: RwSignal<BTreeMap<String, String>>,
) -> AnyView {
    if f.kind == "display" {
        return view! { <p class="form-text">{f.label}</p> }.into_any();
    }
    let key = StoredValue::new(f.id.clone());
    let input_id = format!("field-{}", f.id);
    let error_id = format!("error-{}", f.id);
    let current = move || inputs.with(|m| m.get(&key.get_value()).cloned().unwrap_or_default());
    let set = move |v: String| {
        inputs.update(|m| {
            m.insert(key.get_value(), v);
        })
    };
    let error = move || errors.with(|e| e.get(&key.get_value()).cloned());
    let invalid = move || error().is_some().then_some("true");
    let described = {
        let error_id = error_id.clone();
        move || error().is_some().then(|| error_id.clone())
    };
    let readonly = f.readonly;
    let required = f.required;
    let control = match f.kind.as_str() {
        "boolean" => view! {
            <input type="checkbox" id=input_id.clone() prop:checked=move || current() == "true"
                on:change=move |ev| set(event_target_checked(&ev).to_string())
                disabled=readonly aria-invalid=invalid aria-describedby=described/>
        }
        .into_any(),
        "select" => {
            let options = f
                .options
                .iter()
                .map(|o| {
                    let value = o.value.clone();
                    let chosen = o.value.clone();
                    view! { <option value=value selected=move || current() == chosen>{o.label.clone()}</option> }
                })
                .collect_view();
            view! {
                <select id=input_id.clone() on:change=move |ev| set(event_target_value(&ev))
                    disabled=readonly required=required aria-invalid=invalid aria-describedby=described>
                    <option value="" selected=move || current().is_empty()>"Choose…"</option>
                    {options}
                </select>
            }
            .into_any()
        }
        "textarea" => view! {
            <textarea id=input_id.clone() prop:value=current on:input=move |ev| set(event_target_value(&ev))
                readonly=readonly required=required aria-invalid=invalid aria-describedby=described></textarea>
        }
        .into_any(),
        "integer" | "number" => {
            let step = if f.kind == "integer" { "1" } else { "any" };
            view! {
                <input type="number" id=input_id.clone() step=step min=f.min.clone() max=f.max.clone()
                    prop:value=current on:input=move |ev| set(event_target_value(&ev))
                    readonly=readonly required=required aria-invalid=invalid aria-describedby=described/>
            }
            .into_any()
        }
        "date" => view! {
            <input type="date" id=input_id.clone()
                prop:value={move || day(&current())}
                on:input=move |ev| set(event_target_value(&ev))
                readonly=readonly required=required aria-invalid=invalid aria-describedby=described/>
        }
        .into_any(),
        _ => view! {
            <input type="text" id=input_id.clone() minlength=f.min_length maxlength=f.max_length
                prop:value=current on:input=move |ev| set(event_target_value(&ev))
                readonly=readonly required=required aria-invalid=invalid aria-describedby=described/>
        }
        .into_any(),
    };
    view! {
        <div class="field">
            <label for=input_id>{f.label.clone()}{required.then_some(" *")}</label>
            {control}
            {move || error().map(|e| view! { <p class="field-error" id=error_id.clone()>{e}</p> })}
        </div>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(kind: &str) -> FormFieldOut {
        FormFieldOut {
            id: "x".into(),
            label: "X".into(),
            kind: kind.into(),
            required: false,
            readonly: false,
            options: Vec::new(),
            min: None,
            max: None,
            min_length: None,
            max_length: None,
            value: None,
        }
    }

    #[test]
    fn typed_text_becomes_the_kind_of_value_the_field_asks_for() {
        assert_eq!(typed(&field("integer"), "12"), Ok(Some(12.into())));
        assert_eq!(typed(&field("integer"), "1.5"), Err("a whole number"));
        assert_eq!(typed(&field("boolean"), ""), Ok(Some(false.into())));
        assert_eq!(typed(&field("text"), "  "), Ok(None));
        assert_eq!(
            typed(&field("select"), "approve"),
            Ok(Some("approve".into()))
        );
    }

    #[test]
    fn a_form_js_forms_variables_are_its_fields_keys_nested_ones_too() {
        let schema = r#"{"components":[{"type":"text","text":"Hi"},{"type":"textfield","key":"a"},
            {"type":"group","components":[{"type":"number","key":"b"}]}]}"#;
        let keys = schema_keys(schema);
        assert_eq!(keys.into_iter().collect::<Vec<_>>(), vec!["a", "b"]);
        let mut b = field("number");
        b.id = "b".into();
        b.value = Some("12".into());
        let keys = schema_keys(schema);
        assert_eq!(viewer_data(&[b], &keys, &BTreeMap::new()), r#"{"b":12}"#);
    }

    #[test]
    fn server_errors_land_on_their_field() {
        assert_eq!(field_of("variables.amount"), "amount");
        assert_eq!(field_of("amount"), "amount");
        assert_eq!(field_of("variables.x[0]"), "x");
    }
}
