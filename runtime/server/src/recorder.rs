//! Recording a scenario in the designer: the analyst starts the draft with
//! chosen variables, completes tasks and advances the virtual clock; after
//! each step the scenario so far runs again on a temporary store (the live
//! database is never touched) and the page shows where it got to. Saved, it
//! becomes a `*.scenario.json` beside the process's BPMN file, ending with
//! what the run found as its expectations, so it fails when the flow changes.

use std::path::{Path, PathBuf};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use millrace_api::{ScenarioSave, ScenarioSaved, ScenarioState, ScenarioTry};
use millrace_store::DeploymentFile;
use serde_json::{json, Value};

use crate::auth::Principal;
use crate::drafts::{current, latest_version, parse, DESIGNERS};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::{ApiJson, ApiPath, AppState};

/// The longest scenario name a save accepts.
const NAME_MAX: usize = 80;

/// Where a process's scenarios live: the folder of its BPMN file in the
/// processes folder, and that file's name. `None` for a process with no file
/// there (made in the designer and not yet in the folder): its scenarios can
/// be tried, not kept, as `millrace test` could not find the process.
async fn home(state: &AppState, key: &str) -> ApiResult<Option<(PathBuf, String)>> {
    let Some(root) = state.processes.clone() else {
        return Ok(None);
    };
    let Some(v) = latest_version(state, key).await? else {
        return Ok(None);
    };
    let file = root.join(&v.resource_name);
    if !file.is_file() {
        return Ok(None);
    }
    let dir = file.parent().unwrap_or(&root).to_path_buf();
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| format!("{key}.bpmn"));
    Ok(Some((dir, name)))
}

/// Runs `scenario` against the draft of `key`; the scenario as run (with the
/// draft's process file and id) and where it got to.
async fn run(state: &AppState, key: &str, scenario: Value) -> ApiResult<(Value, ScenarioState)> {
    let Value::Object(mut scenario) = scenario else {
        return Err(ApiError::field(
            "scenario",
            "a scenario is a JSON object (clock, start, steps)",
        ));
    };
    let draft = current(state, key).await?;
    parse(&draft.xml)?;
    let (dir, process) = home(state, key)
        .await?
        .unwrap_or_else(|| (std::env::temp_dir(), format!("{key}.bpmn")));
    scenario.insert("process".into(), json!(process));
    scenario.insert("processId".into(), json!(key));
    let scenario = Value::Object(scenario);
    let mut files = vec![DeploymentFile {
        name: process,
        content: draft.xml,
    }];
    // The draft's forms, under the names a scenario's `deploy` list would use.
    files.extend(draft.forms.into_iter().map(|f| DeploymentFile {
        name: f.name,
        content: f.content,
    }));
    let outcome = millrace_scenario::run_with_files(&scenario, &dir, &files).await;
    let reached = match outcome {
        Ok(o) => state_of(Some(&o), None),
        Err(millrace_scenario::ScenarioError::Failed {
            step,
            what,
            reason,
            outcome,
        }) => state_of(
            outcome.as_deref(),
            Some(format!("step {step} ({what}): {reason}")),
        ),
        Err(e) => state_of(None, Some(e.to_string())),
    };
    Ok((scenario, reached))
}

fn state_of(o: Option<&millrace_scenario::Outcome>, error: Option<String>) -> ScenarioState {
    match o {
        Some(o) => ScenarioState {
            state: o.state.clone(),
            completed: o.completed.clone(),
            waiting: o.waiting.clone(),
            variables: millrace_engine::value::variables_to_json(&o.variables),
            incidents: o.incidents.clone(),
            error,
        },
        None => ScenarioState {
            state: String::new(),
            completed: Vec::new(),
            waiting: Vec::new(),
            variables: json!({}),
            incidents: Vec::new(),
            error,
        },
    }
}

/// Runs a scenario being recorded against the draft and says where it got to.
#[utoipa::path(post, path = "/api/drafts/{key}/scenarios/try", params(("key" = String, Path)), request_body = ScenarioTry,
    responses((status = 200, body = ScenarioState), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn try_scenario(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(key): ApiPath<String>,
    ApiJson(req): ApiJson<ScenarioTry>,
) -> ApiResult<Json<ScenarioState>> {
    principal.require(&state, "design", DESIGNERS).await?;
    let (_, reached) = run(&state, &key, req.scenario).await?;
    Ok(Json(reached))
}

/// Saves a recorded scenario as `<name>.scenario.json` beside the process's
/// BPMN file, its last state added as expectations. Refused when it does not
/// run to its end, or a file of that name exists. Audited.
#[utoipa::path(post, path = "/api/drafts/{key}/scenarios/save", params(("key" = String, Path)), request_body = ScenarioSave,
    responses((status = 201, body = ScenarioSaved), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn save_scenario(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(key): ApiPath<String>,
    ApiJson(req): ApiJson<ScenarioSave>,
) -> ApiResult<Response> {
    principal.require(&state, "design", DESIGNERS).await?;
    let name = checked_name(&req.name)?;
    let (Some(root), Some((dir, _))) = (state.processes.clone(), home(&state, &key).await?) else {
        return Err(ApiError::conflict(format!(
            "{key} has no BPMN file in the server's processes folder (serve --processes), so a scenario has no place beside it; try it here, and save it once the process is in the folder"
        )));
    };
    let (scenario, reached) = run(&state, &key, req.scenario).await?;
    if let Some(e) = &reached.error {
        return Err(ApiError::field(
            "scenario",
            format!("the scenario does not run to its end, so it is not saved: {e}"),
        ));
    }
    let file = dir.join(format!("{name}.scenario.json"));
    let text = with_expectations(scenario, &reached);
    let shown = file
        .strip_prefix(&root)
        .unwrap_or(&file)
        .to_string_lossy()
        .into_owned();
    if let Err(e) = write_new(&file, &text) {
        state
            .audit(
                Some(&principal.user),
                "scenario.save",
                Some(&shown),
                "refused",
            )
            .await;
        return Err(match e.kind() {
            std::io::ErrorKind::AlreadyExists => {
                ApiError::conflict(format!("{shown} exists already; choose another name"))
            }
            _ => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "io",
                format!("{shown} cannot be written: {e}"),
            ),
        });
    }
    state
        .audit(Some(&principal.user), "scenario.save", Some(&shown), "ok")
        .await;
    Ok((StatusCode::CREATED, Json(ScenarioSaved { file: shown })).into_response())
}

fn checked_name(name: &str) -> ApiResult<String> {
    let ok = !name.is_empty()
        && name.len() <= NAME_MAX
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-');
    if ok {
        Ok(name.to_string())
    } else {
        Err(ApiError::field(
            "name",
            format!("{name:?} is not a scenario name: lower-case letters, digits and '-', at most {NAME_MAX}"),
        ))
    }
}

/// The recorded scenario with what its run ended with as its last steps:
/// the state, the path, and what waits (while the instance is active).
fn with_expectations(mut scenario: Value, reached: &ScenarioState) -> String {
    if let Some(obj) = scenario.as_object_mut() {
        // The process file is found beside the scenario; the id is kept so a
        // file that defines several processes runs the right one.
        let steps = obj.entry("steps").or_insert_with(|| json!([]));
        if let Some(list) = steps.as_array_mut() {
            if reached.state == "active" {
                list.push(json!({ "expectWaiting": reached.waiting }));
            }
            list.push(json!({ "expectState": reached.state }));
            list.push(json!({ "expectCompleted": reached.completed }));
        }
    }
    let mut text = serde_json::to_string_pretty(&scenario).unwrap_or_default();
    text.push('\n');
    text
}

/// Writes `text` to a new file at `path` (never over an existing one).
fn write_new(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_scenario_ends_with_what_its_run_found() {
        let reached = ScenarioState {
            state: "active".into(),
            completed: vec!["Start".into()],
            waiting: vec!["Task_A".into()],
            variables: json!({}),
            incidents: Vec::new(),
            error: None,
        };
        let text = with_expectations(json!({ "steps": [{ "advance": "PT1H" }] }), &reached);
        let v: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(
            v["steps"],
            json!([
                { "advance": "PT1H" },
                { "expectWaiting": ["Task_A"] },
                { "expectState": "active" },
                { "expectCompleted": ["Start"] }
            ])
        );
    }

    #[test]
    fn scenario_names_are_plain_file_names() {
        assert!(checked_name("approved-after-48h").is_ok());
        for bad in ["", "../x", "A", "-x", "x y", &"x".repeat(81)] {
            assert!(checked_name(bad).is_err(), "{bad:?}");
        }
    }
}
