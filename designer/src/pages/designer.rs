//! The designer: the bpmn-js modeler on a process's draft, saved on the
//! server a moment after every change (under a revision check), validated by
//! the engine's own validator on every save with each finding marked on its
//! element, and — for administrators — reviewed against the deployed version
//! and deployed.

use std::time::Duration;

use leptos::prelude::*;
use millrace_api::{
    DeployedOut, DiagnosticOut, DiffOut, DraftDeploy, DraftFile, DraftOut, DraftSave, DraftSaved,
    FormFile, ScenarioResult, ScenarioRun, ScenarioSave, ScenarioSaved, ScenarioState, ScenarioTry,
};

use crate::app::Session;
use crate::http;
use crate::widgets::code_editor::{self, Language};
use crate::widgets::form_editor;
use crate::widgets::modeler::{self, InlineScript, Marks};

/// How long after the last keystroke a script is compiled and written back.
const SCRIPT_DELAY: Duration = Duration::from_millis(400);

/// How long after the last change the draft is saved.
const AUTOSAVE_DELAY: Duration = Duration::from_millis(1200);

/// Where the draft stands against the server.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SaveState {
    Loading,
    /// Everything shown is saved, as of (revision, when).
    Saved(i64, String),
    /// Changed since the last save; a save is due.
    Unsaved,
    Saving,
    /// Someone else saved since this page read the draft: saving stops.
    Conflict(String),
    /// The last save or load failed.
    Failed(String),
}

impl SaveState {
    fn label(&self) -> String {
        match self {
            SaveState::Loading => "Loading…".into(),
            SaveState::Saved(0, _) => "Deployed version, no draft yet".into(),
            SaveState::Saved(r, at) => {
                format!("Saved · revision {r} · {}", at.get(11..19).unwrap_or(at))
            }
            SaveState::Unsaved => "Unsaved changes".into(),
            SaveState::Saving => "Saving…".into(),
            SaveState::Conflict(_) => "Not saved: changed by someone else".into(),
            SaveState::Failed(_) => "Not saved".into(),
        }
    }
}

/// The designer page for one process key.
#[component]
pub fn Designer(key: String) -> impl IntoView {
    let session = expect_context::<Session>();
    let may_deploy = session.0.as_ref().is_some_and(|m| m.may_deploy());
    let csrf = StoredValue::new(session.csrf());
    let key = StoredValue::new(key);

    let canvas = NodeRef::<leptos::html::Div>::new();
    let panel = NodeRef::<leptos::html::Aside>::new();
    let state = RwSignal::new(SaveState::Loading);
    let revision = RwSignal::new(0i64);
    let based_on = RwSignal::new(0i64);
    let diagnostics = RwSignal::new(Vec::<DiagnosticOut>::new());
    let diff = RwSignal::new(None::<DiffOut>);
    let notice = RwSignal::new(None::<String>);
    let import_warning = RwSignal::new(None::<String>);
    let changes = RwSignal::new(0u64);
    let saving = StoredValue::new(false);
    let save_again = StoredValue::new(false);
    let mounted = StoredValue::new(false);
    let scenarios = RwSignal::new(None::<Result<ScenarioRun, String>>);
    // The selected element's inline Rhai, edited in the code editor.
    let script = RwSignal::new(None::<(String, InlineScript)>);
    let script_problems = RwSignal::new(Vec::<millrace_api::ScriptProblem>::new());
    let editor = NodeRef::<leptos::html::Div>::new();
    let keystrokes = RwSignal::new(0u64);
    Effect::new(move |_| {
        let (Some(el), Some((id, s))) = (editor.get(), script.get()) else {
            return;
        };
        script_problems.set(Vec::new());
        let label = format!("Rhai {} of {id}", s.kind);
        let kind = s.kind.clone();
        let text = s.text.clone();
        let on_change = move |text: String| {
            keystrokes.update(|k| *k += 1);
            let mine = keystrokes.get_untracked();
            let (id, kind) = (id.clone(), kind.clone());
            set_timeout(
                move || {
                    if keystrokes.get_untracked() != mine {
                        return;
                    }
                    modeler::set_script(&id, &text);
                    check_script(kind, text, csrf.get_value(), script_problems);
                },
                SCRIPT_DELAY,
            );
        };
        // The code editor's script is loaded the first time a script is opened.
        leptos::task::spawn_local(async move {
            if let Err(e) = mount_editor(&el, &text, &label, Language::Rhai, on_change).await {
                notice.set(Some(format!("The code editor cannot be opened: {e}")));
            }
        });
    });
    // The draft's named-query files and document templates; those changed
    // (and sound) since the last save go with the next. One is open at a time,
    // in the same code editor as scripts (so opening one closes the other).
    let files = RwSignal::new(Vec::<DraftFile>::new());
    let unsaved_files = StoredValue::new(Vec::<DraftFile>::new());
    let open_file = RwSignal::new(None::<DraftFile>);
    let file_problems = RwSignal::new(Vec::<millrace_api::ScriptProblem>::new());
    let file_editor = NodeRef::<leptos::html::Div>::new();
    let file_keystrokes = RwSignal::new(0u64);
    let path = RwSignal::new(Vec::<String>::new());
    // The draft's forms; those changed since the last save go with the next.
    let forms = RwSignal::new(Vec::<FormFile>::new());
    let unsaved_forms = StoredValue::new(Vec::<FormFile>::new());
    // The selected user task or start event and the formRef it declares ("" for none).
    let form_holder = RwSignal::new(None::<(String, String)>);
    // The form open in the form editor (its file name) and why it could not open.
    let open_form = RwSignal::new(None::<FormFile>);
    let form_problem = RwSignal::new(None::<String>);
    let form_canvas = NodeRef::<leptos::html::Div>::new();
    let form_preview = NodeRef::<leptos::html::Div>::new();
    // A scenario being recorded: how it starts, its steps so far, where it got to.
    let recorder_open = RwSignal::new(false);
    let recorded = RwSignal::new(None::<Recorded>);
    let reached = RwSignal::new(None::<ScenarioState>);
    let recorder_problem = RwSignal::new(None::<String>);
    let step_variables = RwSignal::new("{}".to_string());
    let business_key = RwSignal::new(String::new());
    let advance_by = RwSignal::new("PT48H".to_string());
    let scenario_name = RwSignal::new(String::new());
    let recorder_busy = RwSignal::new(false);

    // Marks follow the findings, the diff and the scenario shown.
    Effect::new(move |_| {
        let problems = diagnostics.get();
        let d = diff.get();
        let p = path.get();
        let unreached = match scenarios.get() {
            Some(Ok(run)) => run.unreached,
            _ => Vec::new(),
        };
        if mounted.get_value() {
            modeler::set_marks(&Marks {
                problems: &problems,
                diff: d.as_ref(),
                path: &p,
                unreached: &unreached,
            });
        }
    });

    // Saves what the canvas shows; one save at a time, each from the revision
    // the previous one returned. A change during a save asks for another.
    let save_requests = RwSignal::new(0u64);
    let save = move || {
        if saving.get_value() {
            save_again.set_value(true);
            return;
        }
        if matches!(state.get_untracked(), SaveState::Conflict(_)) {
            return;
        }
        saving.set_value(true);
        state.set(SaveState::Saving);
        leptos::task::spawn_local(async move {
            let outcome = match modeler::save().await {
                Err(e) => Err(SaveState::Failed(e)),
                Ok(xml) => {
                    let body = DraftSave {
                        xml,
                        revision: revision.get_untracked(),
                        forms: unsaved_forms.get_value(),
                        files: unsaved_files.get_value(),
                    };
                    let sent = body.forms.clone();
                    let sent_files = body.files.clone();
                    let url = format!("/api/drafts/{}", key.get_value());
                    http::send::<_, DraftSaved>("PUT", &url, &body, &csrf.get_value())
                        .await
                        .map(|saved| (saved, sent, sent_files))
                        .map_err(|f| {
                            if f.status == 409 {
                                SaveState::Conflict(f.reason())
                            } else {
                                SaveState::Failed(f.reason())
                            }
                        })
                }
            };
            saving.set_value(false);
            match outcome {
                Ok((saved, sent, sent_files)) => {
                    // A form or file edited again during the save stays to be sent.
                    unsaved_forms.update_value(|pending| pending.retain(|f| !sent.contains(f)));
                    unsaved_files
                        .update_value(|pending| pending.retain(|f| !sent_files.contains(f)));
                    revision.set(saved.revision);
                    diagnostics.set(saved.diagnostics);
                    state.set(SaveState::Saved(saved.revision, saved.updated_at));
                    if save_again.get_value() {
                        save_again.set_value(false);
                        state.set(SaveState::Unsaved);
                        save_requests.update(|n| *n += 1);
                    }
                }
                Err(s) => state.set(s),
            }
        });
    };
    Effect::new(move |_| {
        if save_requests.get() > 0 {
            untrack(save);
        }
    });

    let load = move || {
        leptos::task::spawn_local(async move {
            let url = format!("/api/drafts/{}", key.get_value());
            match http::get::<DraftOut>(&url).await {
                Err(f) => state.set(SaveState::Failed(f.reason())),
                Ok(draft) => match modeler::load(&draft.xml).await {
                    Err(e) => state.set(SaveState::Failed(format!(
                        "the diagram cannot be shown: {e}"
                    ))),
                    Ok(warnings) => {
                        // The modeler could not read all of the file: say so
                        // before a save writes it back without those parts.
                        // (An attribute it does not know it keeps and writes back.)
                        let dropped: Vec<String> = warnings
                            .into_iter()
                            .filter(|w| !w.starts_with("unknown attribute"))
                            .collect();
                        import_warning.set((!dropped.is_empty()).then(|| {
                            format!(
                                "The modeler could not read {} part(s) of this file; a save leaves them out: {}",
                                dropped.len(),
                                dropped.join("; ")
                            )
                        }));
                        revision.set(draft.revision);
                        based_on.set(draft.based_on);
                        close_form(open_form);
                        unsaved_forms.set_value(Vec::new());
                        forms.set(draft.forms.clone());
                        open_file.set(None);
                        unsaved_files.set_value(Vec::new());
                        files.set(draft.files.clone());
                        diff.set(None);
                        state.set(SaveState::Saved(
                            draft.revision,
                            draft.updated_at.unwrap_or_default(),
                        ));
                        validate(key.get_value(), draft.xml, csrf.get_value(), diagnostics);
                    }
                },
            }
        });
    };

    // Mount the modeler once its containers exist (after hydration).
    Effect::new(move |_| {
        let (Some(c), Some(p)) = (canvas.get(), panel.get()) else {
            return;
        };
        if mounted.get_value() {
            return;
        }
        mounted.set_value(true);
        let on_select = move |id: String| {
            form_holder.set(modeler::form_of(&id).map(|r| (id.clone(), r)));
            let found = modeler::script_of(&id);
            if found.is_some() && open_file.get_untracked().is_some() {
                open_file.set(None);
            }
            script.set(found.map(|s| (id, s)));
        };
        mount(&c, &p, on_select, move || {
            if matches!(
                state.get_untracked(),
                SaveState::Loading | SaveState::Conflict(_)
            ) {
                return;
            }
            state.set(SaveState::Unsaved);
            diff.set(None);
            schedule_save(changes, save_requests);
        });
        load();
    });

    // An edit in the form editor: the form goes with the next save.
    let form_changed = move || {
        let Some(open) = open_form.get_untracked() else {
            return;
        };
        match form_editor::save() {
            Ok(content) => {
                let edited = FormFile {
                    name: open.name,
                    content,
                };
                remember_form(forms, unsaved_forms, edited);
                state.set(SaveState::Unsaved);
                schedule_save(changes, save_requests);
            }
            Err(e) => form_problem.set(Some(e)),
        }
    };
    Effect::new(move |_| {
        let (Some(c), Some(p), Some(open)) =
            (form_canvas.get(), form_preview.get(), open_form.get())
        else {
            return;
        };
        form_problem.set(None);
        leptos::task::spawn_local(async move {
            if let Err(e) = mount_form_editor(&c, &p, &open.content, form_changed).await {
                form_problem.set(Some(format!("The form cannot be opened: {e}")));
            }
        });
    });
    let edit_form = move |_| {
        let Some((element, declared)) = form_holder.get_untracked() else {
            return;
        };
        let form_ref = if declared.is_empty() {
            // A task without a form gets one named after it.
            modeler::set_form_ref(&element, &element);
            form_holder.set(Some((element.clone(), element.clone())));
            element
        } else {
            declared
        };
        let existing = forms
            .get_untracked()
            .into_iter()
            .find(|f| form_is(f, &form_ref));
        let form = existing.unwrap_or_else(|| {
            let new = FormFile {
                name: format!("forms/{form_ref}.form"),
                content: blank_form(&form_ref),
            };
            remember_form(forms, unsaved_forms, new.clone());
            state.set(SaveState::Unsaved);
            schedule_save(changes, save_requests);
            new
        });
        close_form(open_form);
        open_form.set(Some(form));
    };
    let form_button_label = move || match form_holder.get() {
        Some((id, r)) if r.is_empty() => format!("Add a form to {id}"),
        Some((_, r)) => format!("Edit form {r}"),
        None => "Edit form".to_string(),
    };

    // A file open in the editor: each edit is checked on the server a moment
    // after the last keystroke; a sound text goes with the next save, one
    // with a problem waits (marked on its line) so the diagram still saves.
    Effect::new(move |_| {
        let (Some(el), Some(file)) = (file_editor.get(), open_file.get()) else {
            return;
        };
        file_problems.set(Vec::new());
        let label = format!("File {}", file.name);
        let name = file.name.clone();
        let on_change = move |text: String| {
            file_keystrokes.update(|k| *k += 1);
            let mine = file_keystrokes.get_untracked();
            let name = name.clone();
            set_timeout(
                move || {
                    if file_keystrokes.get_untracked() != mine {
                        return;
                    }
                    leptos::task::spawn_local(async move {
                        let url = format!("/api/drafts/{}/files/check", key.get_value());
                        let edited = DraftFile {
                            name,
                            content: text,
                        };
                        match http::send::<_, Vec<millrace_api::ScriptProblem>>(
                            "POST",
                            &url,
                            &edited,
                            &csrf.get_value(),
                        )
                        .await
                        {
                            Ok(found) => {
                                code_editor::set_problems(&found);
                                let sound = found.is_empty();
                                file_problems.set(found);
                                if sound && file_keystrokes.get_untracked() == mine {
                                    remember_file(files, unsaved_files, edited);
                                    state.set(SaveState::Unsaved);
                                    schedule_save(changes, save_requests);
                                }
                            }
                            Err(f) => notice.set(Some(f.reason())),
                        }
                    });
                },
                SCRIPT_DELAY,
            );
        };
        leptos::task::spawn_local(async move {
            if let Err(e) =
                mount_editor(&el, &file.content, &label, Language::Plain, on_change).await
            {
                notice.set(Some(format!("The code editor cannot be opened: {e}")));
            }
        });
    });
    let choose_file = move |ev: leptos::ev::Event| {
        let name = event_target_value(&ev);
        let found = files.get_untracked().into_iter().find(|f| f.name == name);
        if found.is_some() {
            script.set(None);
        }
        open_file.set(found);
    };

    // Runs the scenario with one more step (or from its start); a step the
    // engine refuses is not kept, and why is shown.
    let try_step = move |next: Recorded| {
        recorder_busy.set(true);
        leptos::task::spawn_local(async move {
            let url = format!("/api/drafts/{}/scenarios/try", key.get_value());
            let body = ScenarioTry {
                scenario: next.to_json(),
            };
            match http::send::<_, ScenarioState>("POST", &url, &body, &csrf.get_value()).await {
                Err(f) => recorder_problem.set(Some(f.reason())),
                Ok(got) => {
                    recorder_problem.set(got.error.clone());
                    if got.error.is_none() {
                        recorded.set(Some(next));
                    }
                    if got.error.is_none() || reached.get_untracked().is_none() {
                        path.set(got.completed.clone());
                        reached.set(Some(got));
                    }
                }
            }
            recorder_busy.set(false);
        });
    };
    let variables_typed = move || -> Result<serde_json::Value, String> {
        let text = step_variables.get_untracked();
        match serde_json::from_str::<serde_json::Value>(if text.trim().is_empty() {
            "{}"
        } else {
            &text
        }) {
            Ok(v) if v.is_object() => Ok(v),
            Ok(_) => Err("Variables are a JSON object, such as {\"approved\": true}.".into()),
            Err(e) => Err(format!("Variables are not JSON: {e}")),
        }
    };
    let start_recording = move |_| match variables_typed() {
        Err(e) => recorder_problem.set(Some(e)),
        Ok(variables) => {
            let bk = business_key.get_untracked();
            try_step(Recorded {
                clock: now_iso(),
                start: serde_json::json!({ "variables": variables, "businessKey": (!bk.is_empty()).then_some(bk) }),
                steps: Vec::new(),
            });
        }
    };
    let add_step = move |step: serde_json::Value| {
        if let Some(mut r) = recorded.get_untracked() {
            r.steps.push(step);
            try_step(r);
        }
    };
    let complete_step = move |node: String| match variables_typed() {
        Err(e) => recorder_problem.set(Some(e)),
        Ok(variables) => add_step(serde_json::json!({ "complete": node, "variables": variables })),
    };
    let advance_step = move |_| {
        add_step(serde_json::json!({ "advance": advance_by.get_untracked().trim() }));
    };
    let undo_step = move |_| {
        if let Some(mut r) = recorded.get_untracked() {
            r.steps.pop();
            try_step(r);
        }
    };
    let restart_recording = move |_| {
        recorded.set(None);
        reached.set(None);
        recorder_problem.set(None);
        path.set(Vec::new());
    };
    let save_scenario = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(r) = recorded.get_untracked() else {
            return;
        };
        recorder_busy.set(true);
        leptos::task::spawn_local(async move {
            let url = format!("/api/drafts/{}/scenarios/save", key.get_value());
            let body = ScenarioSave {
                name: scenario_name.get_untracked().trim().to_string(),
                scenario: r.to_json(),
            };
            match http::send::<_, ScenarioSaved>("POST", &url, &body, &csrf.get_value()).await {
                Ok(saved) => {
                    notice.set(Some(format!(
                        "Saved {}: it runs with the process's other scenarios.",
                        saved.file
                    )));
                    recorder_problem.set(None);
                    scenario_name.set(String::new());
                }
                Err(f) => recorder_problem.set(Some(f.reason())),
            }
            recorder_busy.set(false);
        });
    };

    let review = move |_| {
        leptos::task::spawn_local(async move {
            let url = format!("/api/drafts/{}/diff", key.get_value());
            match http::get::<DiffOut>(&url).await {
                Ok(d) => diff.set(Some(d)),
                Err(f) => notice.set(Some(f.reason())),
            }
        });
    };
    let running = RwSignal::new(false);
    let run_scenarios = move |_| {
        running.set(true);
        leptos::task::spawn_local(async move {
            let url = format!("/api/drafts/{}/scenarios", key.get_value());
            let r = http::send::<_, ScenarioRun>(
                "POST",
                &url,
                &serde_json::json!({}),
                &csrf.get_value(),
            )
            .await;
            path.set(Vec::new());
            scenarios.set(Some(r.map_err(|f| f.reason())));
            running.set(false);
        });
    };
    let note = RwSignal::new(String::new());
    let deploying = RwSignal::new(false);
    let deploy = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        deploying.set(true);
        leptos::task::spawn_local(async move {
            let url = format!("/api/drafts/{}/deploy", key.get_value());
            let body = DraftDeploy {
                note: note.get_untracked(),
                revision: revision.get_untracked(),
            };
            match http::send::<_, Vec<DeployedOut>>("POST", &url, &body, &csrf.get_value()).await {
                Ok(out) => {
                    let versions: Vec<String> = out
                        .iter()
                        .filter(|d| d.created)
                        .map(|d| format!("{} version {}", d.key, d.version))
                        .collect();
                    let unchanged: Vec<String> = out
                        .iter()
                        .filter(|d| !d.created)
                        .map(|d| format!("{} stays at version {}", d.key, d.version))
                        .collect();
                    notice.set(Some(if versions.is_empty() {
                        // The engine would run the draft exactly as the
                        // deployed version (a file no task uses does not count).
                        format!(
                            "No new version: the draft runs as the deployed one, so {}.",
                            unchanged.join(", ")
                        )
                    } else {
                        format!("Deployed {}.", versions.join(", "))
                    }));
                    note.set(String::new());
                    load();
                }
                Err(f) => notice.set(Some(format!("Not deployed: {}", f.reason()))),
            }
            deploying.set(false);
        });
    };
    let download = move |_| {
        leptos::task::spawn_local(async move {
            match modeler::save().await {
                Ok(xml) => offer_file(&format!("{}.bpmn", key.get_value()), &xml),
                Err(e) => notice.set(Some(format!("The diagram cannot be saved as a file: {e}"))),
            }
        });
    };
    let reload = move |_| {
        notice.set(None);
        state.set(SaveState::Loading);
        load();
    };

    let status = move || state.get().label();
    let status_class = move || match state.get() {
        SaveState::Saved(..) => "status ok",
        SaveState::Conflict(_) | SaveState::Failed(_) => "status bad",
        _ => "status busy",
    };
    let problem = move || match state.get() {
        SaveState::Conflict(why) => Some(
            view! {
                <div class="banner error" role="alert">
                    {why} " "
                    <button type="button" on:click=reload>"Reload the draft"</button>
                </div>
            }
            .into_any(),
        ),
        SaveState::Failed(why) => {
            Some(view! { <div class="banner error" role="alert">{why}</div> }.into_any())
        }
        _ => None,
    };
    let saved = move || matches!(state.get(), SaveState::Saved(..));
    let errors = move || {
        diagnostics
            .get()
            .iter()
            .filter(|d| d.severity == "error")
            .count()
    };

    view! {
        <div class="designer">
            <div class="toolbar" role="toolbar" aria-label="Draft">
                <a href="/designer" class="button">"All processes"</a>
                <h1 class="title">{key.get_value()}</h1>
                <span class=status_class role="status" aria-live="polite">{status}</span>
                <span class="based-on">{move || match based_on.get() {
                    0 => "new process".to_string(),
                    v => format!("from version {v}"),
                }}</span>
                <span class="spacer"></span>
                <button type="button" on:click=edit_form disabled=move || form_holder.get().is_none()
                    aria-label=form_button_label title="Select a user task or start event to edit its form">
                    {move || if form_holder.get().is_some_and(|(_, r)| r.is_empty()) { "Add form" } else { "Edit form" }}
                </button>
                <Show when=move || !files.get().is_empty()>
                    <select aria-label="Queries and templates" title="Edit a named-query file or a document template of this process"
                        prop:value=move || open_file.get().map(|f| f.name).unwrap_or_default()
                        on:change=choose_file>
                        <option value="">"Queries and templates…"</option>
                        {move || files.get().into_iter().map(|f| {
                            let shown = f.name.clone();
                            view! { <option value=f.name>{shown}</option> }
                        }).collect_view()}
                    </select>
                </Show>
                <button type="button" on:click=download>"Download .bpmn"</button>
                <button type="button" aria-pressed=move || recorder_open.get().to_string()
                    on:click=move |_| recorder_open.update(|o| *o = !*o)>"Record scenario"</button>
                <button type="button" on:click=run_scenarios disabled=move || { running.get() || !saved() }>
                    {move || if running.get() { "Running scenarios…" } else { "Run scenarios" }}
                </button>
                <Show when=move || may_deploy>
                    <button type="button" on:click=review disabled=move || !saved()>"Review changes"</button>
                </Show>
            </div>
            {problem}
            <Show when=move || import_warning.get().is_some()>
                <div class="banner error" role="alert">{move || import_warning.get().unwrap_or_default()}</div>
            </Show>
            <Show when=move || notice.get().is_some()>
                <div class="banner info" role="status">{move || notice.get().unwrap_or_default()}</div>
            </Show>
            <div class="workbench">
                <div class="canvas" node_ref=canvas aria-label="Diagram" role="application"></div>
                <aside class="properties" node_ref=panel aria-label="Properties"></aside>
            </div>
            <Show when=move || open_form.get().is_some()>
                <section class="form-dialog" role="dialog" aria-labelledby="form-title">
                    <header>
                        <h2 id="form-title">{move || open_form.get().map(|f| format!("Form {}", f.name))}</h2>
                        <span class="hint">"Saved with the draft · the preview shows it as staff will see it"</span>
                        <span class="spacer"></span>
                        <button type="button" on:click=move |_| close_form(open_form)>"Close form"</button>
                    </header>
                    {move || form_problem.get().map(|p| view! { <div class="banner error" role="alert">{p}</div> })}
                    <div class="form-panes">
                        <div class="form-editor" node_ref=form_canvas aria-label="Form editor"></div>
                        <section class="form-preview" aria-label="Form preview">
                            <h3>"Preview"</h3>
                            <div node_ref=form_preview></div>
                        </section>
                    </div>
                </section>
            </Show>
            <div class="bottom">
                <Show when=move || open_file.get().is_some()>
                    <section class="script-editor file-editor" aria-labelledby="file-title">
                        <header>
                            <h2 id="file-title">{move || open_file.get().map(|f| format!("File {}", f.name))}</h2>
                            <span class="spacer"></span>
                            <button type="button" on:click=move |_| open_file.set(None)>"Close file"</button>
                        </header>
                        <div class="code" node_ref=file_editor></div>
                        <p class="script-status" role="status">{move || {
                            match file_problems.get().first() {
                                None => "Sound: saved with the draft.".to_string(),
                                Some(f) => format!("Line {}: {} (not saved until it is mended)", f.line, f.message),
                            }
                        }}</p>
                    </section>
                </Show>
                <Show when=move || script.get().is_some()>
                    <section class="script-editor" aria-labelledby="script-title">
                        <h2 id="script-title">{move || script.get().map(|(id, s)| format!("Rhai {} of {id}", s.kind))}</h2>
                        <div class="code" node_ref=editor></div>
                        <p class="script-status" role="status">{move || {
                            let p = script_problems.get();
                            match p.first() {
                                None => "Compiles.".to_string(),
                                Some(f) => format!("Line {}, column {}: {}", f.line, f.column, f.message),
                            }
                        }}</p>
                    </section>
                </Show>
                <Show when=move || recorder_open.get()>
                    <section class="recorder" aria-labelledby="recorder-title">
                        <h2 id="recorder-title">"Record a scenario"</h2>
                        <p class="hint">"Runs the saved draft on a scratch store, never the live database."</p>
                        {move || recorder_problem.get().map(|p| view! { <p class="banner error" role="alert">{p}</p> })}
                        <label for="step-variables">{move || if recorded.get().is_some() {
                            "Variables for the next task (JSON)"
                        } else {
                            "Start variables (JSON)"
                        }}</label>
                        <textarea id="step-variables" rows="3" prop:value=step_variables
                            on:input=move |ev| step_variables.set(event_target_value(&ev))></textarea>
                        <Show when=move || recorded.get().is_none()
                            fallback=move || view! {
                                <ol class="recorded-steps" aria-label="Recorded steps">
                                    {move || recorded.get().map(|r| r.steps.iter().map(|st| {
                                        view! { <li>{step_text(st)}</li> }
                                    }).collect_view())}
                                </ol>
                                {move || reached.get().map(|r| reached_view(r, complete_step))}
                                <div class="recorder-actions">
                                    <label for="advance-by">"Advance the clock by"</label>
                                    <input id="advance-by" type="text" size="8" prop:value=advance_by
                                        on:input=move |ev| advance_by.set(event_target_value(&ev))/>
                                    <button type="button" on:click=advance_step disabled=move || recorder_busy.get()>"Advance"</button>
                                    <button type="button" class="secondary" on:click=undo_step
                                        disabled=move || recorder_busy.get() || recorded.get().is_none_or(|r| r.steps.is_empty())>"Undo last step"</button>
                                    <button type="button" class="secondary" on:click=restart_recording>"Start over"</button>
                                </div>
                                <form class="recorder-save" on:submit=save_scenario>
                                    <label for="scenario-name">"Scenario name"</label>
                                    <input id="scenario-name" type="text" required placeholder="approved-after-48-hours"
                                        prop:value=scenario_name on:input=move |ev| scenario_name.set(event_target_value(&ev))/>
                                    <button type="submit" class="primary" disabled=move || recorder_busy.get()>"Save scenario"</button>
                                </form>
                            }>
                            <label for="business-key">"Business key"</label>
                            <input id="business-key" type="text" prop:value=business_key
                                on:input=move |ev| business_key.set(event_target_value(&ev))/>
                            <button type="button" class="primary" on:click=start_recording
                                disabled=move || recorder_busy.get() || !saved()>"Start the process"</button>
                        </Show>
                    </section>
                </Show>
                <section class="problems" aria-labelledby="problems-title">
                    <h2 id="problems-title">{move || format!("Problems ({})", diagnostics.get().len())}</h2>
                    <ul>
                        {move || diagnostics.get().into_iter().map(problem_item).collect_view()}
                    </ul>
                </section>
                <Show when=move || scenarios.get().is_some()>
                    <section class="scenarios" aria-labelledby="scenarios-title">
                        <h2 id="scenarios-title">"Scenarios"</h2>
                        {move || scenarios.get().map(|r| scenario_list(r, path))}
                    </section>
                </Show>
                <Show when=move || diff.get().is_some()>
                    <section class="review" aria-labelledby="review-title">
                        <h2 id="review-title">"Changes to the deployed version"</h2>
                        {move || diff.get().map(diff_lists)}
                        <form on:submit=deploy>
                            <label for="deploy-note">"Deployment note"</label>
                            <textarea id="deploy-note" required rows="2" prop:value=note
                                on:input=move |ev| note.set(event_target_value(&ev))></textarea>
                            <button type="submit" class="primary"
                                disabled=move || { deploying.get() || !saved() || errors() > 0 }>
                                {move || if errors() > 0 { "Fix the errors to deploy".to_string() } else {
                                    format!("Deploy as version {}", based_on.get() + 1)
                                }}
                            </button>
                        </form>
                    </section>
                </Show>
            </div>
        </div>
    }
}

/// A scenario as recorded so far (the `*.scenario.json` format).
#[derive(Debug, Clone, PartialEq)]
struct Recorded {
    clock: String,
    start: serde_json::Value,
    steps: Vec<serde_json::Value>,
}

impl Recorded {
    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "clock": self.clock, "start": self.start, "steps": self.steps })
    }
}

/// The virtual clock a recording starts at: now, to the second.
fn now_iso() -> String {
    #[cfg(feature = "hydrate")]
    {
        let iso = String::from(js_sys::Date::new_0().to_iso_string());
        // 2026-12-01T10:32:05.123Z → 2026-12-01T10:32:05Z
        match iso.split_once('.') {
            Some((whole, _)) => format!("{whole}Z"),
            None => iso,
        }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        "2026-01-01T00:00:00Z".to_string()
    }
}

/// One recorded step in words.
fn step_text(step: &serde_json::Value) -> String {
    if let Some(node) = step.get("complete").and_then(|n| n.as_str()) {
        let vars = step
            .get("variables")
            .filter(|v| v.as_object().is_some_and(|o| !o.is_empty()))
            .map(|v| format!(" with {v}"))
            .unwrap_or_default();
        return format!("Complete {node}{vars}");
    }
    if let Some(d) = step.get("advance").and_then(|d| d.as_str()) {
        return format!("Advance the clock by {d}");
    }
    step.to_string()
}

/// Where the recorded scenario stands, with a button to complete each waiting task.
fn reached_view(r: ScenarioState, complete: impl Fn(String) + Copy + 'static) -> impl IntoView {
    let summary = match r.state.as_str() {
        "active" if r.waiting.is_empty() => "Active, nothing waiting.".to_string(),
        "active" => format!("Active; waiting: {}.", r.waiting.join(", ")),
        "" => "Not started.".to_string(),
        other => format!("The instance is {other}."),
    };
    let variables = r.variables.to_string();
    view! {
        <p role="status" class="reached">{summary}</p>
        <p class="variables"><strong>"Variables: "</strong><code>{variables}</code></p>
        <div class="waiting">
            {r.waiting.into_iter().map(|node| {
                let label = format!("Complete {node}");
                view! { <button type="button" on:click=move |_| complete(node.clone())>{label}</button> }
            }).collect_view()}
        </div>
    }
}

fn problem_item(d: DiagnosticOut) -> impl IntoView {
    let id = d.element_id.clone();
    let text = format!(
        "{} {} — {}{}",
        d.severity,
        d.code,
        d.element_id
            .clone()
            .map(|i| format!("{i}: "))
            .unwrap_or_default(),
        d.message
    );
    let class = format!("problem {}", d.severity);
    view! {
        <li class=class>
            <button type="button" class="link" on:click=move |_| {
                if let Some(id) = &id { modeler::select(id); }
            }>{text}</button>
        </li>
    }
}

fn scenario_list(run: Result<ScenarioRun, String>, path: RwSignal<Vec<String>>) -> AnyView {
    let run = match run {
        Err(e) => return view! { <p class="banner error" role="alert">{e}</p> }.into_any(),
        Ok(r) => r,
    };
    if run.scenarios.is_empty() {
        return view! { <p>"This process has no scenario tests (*.scenario.json beside its BPMN file)."</p> }
            .into_any();
    }
    let passed = run.scenarios.iter().filter(|s| s.passed).count();
    let summary = format!("{passed} of {} passed", run.scenarios.len());
    let coverage = if run.unreached.is_empty() {
        "Every flow node is reached by some scenario.".to_string()
    } else {
        format!(
            "Not reached by any scenario (dashed): {}",
            run.unreached.join(", ")
        )
    };
    view! {
        <p role="status">{summary}</p>
        <ul>{run.scenarios.into_iter().map(|s| scenario_item(s, path)).collect_view()}</ul>
        <p class="coverage">{coverage}</p>
    }
    .into_any()
}

fn scenario_item(s: ScenarioResult, path: RwSignal<Vec<String>>) -> impl IntoView {
    let class = if s.passed {
        "scenario passed"
    } else {
        "scenario failed"
    };
    let label = format!("{} {}", if s.passed { "✓" } else { "✗" }, s.file);
    let aria = format!(
        "{} {}: show its path",
        s.file,
        if s.passed { "passed" } else { "failed" }
    );
    let completed = s.completed.clone();
    let steps = s
        .steps
        .into_iter()
        .map(|st| {
            let class = format!("step {}", st.outcome.replace(' ', "-"));
            let text = format!("{}. {} — {}", st.number, st.summary, st.outcome);
            view! { <li class=class>{text}</li> }
        })
        .collect_view();
    view! {
        <li class=class>
            <details open=!s.passed>
                <summary>{label}</summary>
                {s.error.map(|e| view! { <div class="banner error">{e}</div> })}
                <ol>{steps}</ol>
            </details>
            <button type="button" class="link show-path" aria-label=aria
                on:click=move |_| path.set(completed.clone())>"Show its path"</button>
        </li>
    }
}

fn diff_lists(d: DiffOut) -> impl IntoView {
    if d.is_empty() {
        return view! { <p>"No change in meaning: deploying makes no new version."</p> }.into_any();
    }
    let list = |label: &'static str, ids: Vec<String>| {
        (!ids.is_empty()).then(|| {
            view! { <p><strong>{label}</strong> " " {ids.join(", ")}</p> }
        })
    };
    view! {
        <div class="diff">
            {list("Added:", d.added)}
            {list("Changed:", d.changed)}
            {list("Removed:", d.removed)}
        </div>
    }
    .into_any()
}

/// Whether `form` is the one a `camunda:formRef` of `form_ref` names: its id,
/// or its file name without `.form` (as the server finds it).
fn form_is(form: &FormFile, form_ref: &str) -> bool {
    let id = serde_json::from_str::<serde_json::Value>(&form.content)
        .ok()
        .and_then(|v| v.get("id").and_then(|i| i.as_str()).map(str::to_string));
    let stem = form
        .name
        .rsplit('/')
        .next()
        .unwrap_or(&form.name)
        .trim_end_matches(".form");
    id.as_deref() == Some(form_ref) || stem == form_ref
}

/// A new form-js form with nothing on it yet.
fn blank_form(id: &str) -> String {
    serde_json::to_string_pretty(&serde_json::json!({
        "type": "default",
        "id": id,
        "components": [],
    }))
    .unwrap_or_default()
}

/// Keeps `form` as the draft's (replacing the one of that name) and as one to send with the next save.
fn remember_form(
    forms: RwSignal<Vec<FormFile>>,
    unsaved: StoredValue<Vec<FormFile>>,
    form: FormFile,
) {
    let put = |list: &mut Vec<FormFile>| match list.iter_mut().find(|f| f.name == form.name) {
        Some(f) => f.content = form.content.clone(),
        None => list.push(form.clone()),
    };
    forms.update(put);
    unsaved.update_value(put);
}

/// Keeps `file` as the draft's (replacing the one of that name) and as one to send with the next save.
fn remember_file(
    files: RwSignal<Vec<DraftFile>>,
    unsaved: StoredValue<Vec<DraftFile>>,
    file: DraftFile,
) {
    let put = |list: &mut Vec<DraftFile>| match list.iter_mut().find(|f| f.name == file.name) {
        Some(f) => f.content = file.content.clone(),
        None => list.push(file.clone()),
    };
    files.update(put);
    unsaved.update_value(put);
}

fn close_form(open_form: RwSignal<Option<FormFile>>) {
    form_editor::destroy();
    if open_form.get_untracked().is_some() {
        open_form.set(None);
    }
}

/// Asks for a save once no change has come for [`AUTOSAVE_DELAY`].
fn schedule_save(changes: RwSignal<u64>, save_requests: RwSignal<u64>) {
    changes.update(|c| *c += 1);
    let mine = changes.get_untracked();
    set_timeout(
        move || {
            if changes.get_untracked() == mine {
                save_requests.update(|n| *n += 1);
            }
        },
        AUTOSAVE_DELAY,
    );
}

/// Validates the text as loaded, so its findings show before the first edit.
fn validate(key: String, xml: String, csrf: String, out: RwSignal<Vec<DiagnosticOut>>) {
    leptos::task::spawn_local(async move {
        let url = format!("/api/drafts/{key}/validate");
        if let Ok(found) = http::send::<_, Vec<DiagnosticOut>>(
            "POST",
            &url,
            &millrace_api::BpmnText { xml },
            &csrf,
        )
        .await
        {
            out.set(found);
        }
    });
}

/// Hands `text` to the browser as a file download named `name` (the diagram
/// as the modeler writes it: it opens in Camunda Modeler as it is).
fn offer_file(name: &str, text: &str) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
        let options = web_sys::BlobPropertyBag::new();
        options.set_type("application/xml");
        let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options) else {
            return;
        };
        let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
            return;
        };
        let anchor = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.create_element("a").ok())
            .and_then(|a| a.dyn_into::<web_sys::HtmlAnchorElement>().ok());
        if let Some(a) = anchor {
            a.set_href(&url);
            a.set_download(name);
            a.click();
        }
        let _ = web_sys::Url::revoke_object_url(&url);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (name, text);
}

/// Compiles the script on the server and marks where it fails in the editor.
fn check_script(
    kind: String,
    text: String,
    csrf: String,
    out: RwSignal<Vec<millrace_api::ScriptProblem>>,
) {
    leptos::task::spawn_local(async move {
        let body = millrace_api::ScriptCheck { kind, text };
        if let Ok(found) = http::send::<_, Vec<millrace_api::ScriptProblem>>(
            "POST",
            "/api/scripts/check",
            &body,
            &csrf,
        )
        .await
        {
            code_editor::set_problems(&found);
            out.set(found);
        }
    });
}

#[cfg(feature = "hydrate")]
fn mount(
    canvas: &web_sys::HtmlDivElement,
    panel: &web_sys::HtmlElement,
    on_select: impl Fn(String) + 'static,
    on_change: impl Fn() + 'static,
) {
    modeler::mount(canvas, panel, on_change, on_select);
}

#[cfg(not(feature = "hydrate"))]
fn mount<C, P>(
    _canvas: &C,
    _panel: &P,
    _on_select: impl Fn(String) + 'static,
    _on_change: impl Fn() + 'static,
) {
}

#[cfg(feature = "hydrate")]
async fn mount_form_editor(
    container: &web_sys::HtmlDivElement,
    preview: &web_sys::HtmlDivElement,
    schema: &str,
    on_change: impl Fn() + 'static,
) -> Result<(), String> {
    form_editor::mount(container, preview, schema, on_change).await
}

#[cfg(not(feature = "hydrate"))]
async fn mount_form_editor<C, P>(
    _container: &C,
    _preview: &P,
    _schema: &str,
    _on_change: impl Fn() + 'static,
) -> Result<(), String> {
    Ok(())
}

#[cfg(feature = "hydrate")]
async fn mount_editor(
    el: &web_sys::HtmlDivElement,
    text: &str,
    label: &str,
    language: Language,
    on_change: impl Fn(String) + 'static,
) -> Result<(), String> {
    code_editor::mount(el, text, label, language, on_change).await
}

#[cfg(not(feature = "hydrate"))]
async fn mount_editor<E>(
    _el: &E,
    _text: &str,
    _label: &str,
    _language: Language,
    _on_change: impl Fn(String) + 'static,
) -> Result<(), String> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::SaveState;

    #[test]
    fn the_status_names_the_revision_and_time() {
        let s = SaveState::Saved(3, "2026-12-01T10:32:05.123Z".into());
        assert_eq!(s.label(), "Saved · revision 3 · 10:32:05");
        assert_eq!(
            SaveState::Saved(0, String::new()).label(),
            "Deployed version, no draft yet"
        );
    }
}
