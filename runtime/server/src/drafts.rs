//! The designer's API: the process library, drafts (saved under a revision
//! check, validated by the engine's own validator on every save), the
//! semantic diff of a draft to the deployed version, and deploying a draft as
//! the next version. Analysts and administrators only; deploying is for
//! administrators.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use millrace_api::{
    BpmnText, DiagnosticOut, DiffOut, DraftCreate, DraftDeploy, DraftFile, DraftOut, DraftSave,
    DraftSaved, DraftSummary, FormFile, LibraryEntry, ScenarioResult, ScenarioRun, ScriptCheck,
    ScriptProblem, StepResult,
};
use millrace_model::validate::{validate, Options};
use millrace_model::Model;
use millrace_script::Rhai;
use millrace_store::{DeploymentFile, DraftRow};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::{DefinitionOut, DeployedOut};
use crate::auth::{Principal, Role};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::{ApiJson, ApiPath, ApiQuery, AppState};

pub(crate) const DESIGNERS: &[Role] = &[Role::Admin, Role::Analyst];

/// Library search.
#[derive(Debug, Deserialize, IntoParams)]
pub struct LibraryQuery {
    /// Matches the key, the name, or any text in the BPMN (element names, scripts, conditions), ignoring case.
    pub q: Option<String>,
}

/// Every process with its versions and its draft (analysts and administrators).
#[utoipa::path(get, path = "/api/library", params(LibraryQuery),
    responses((status = 200, body = [LibraryEntry]), (status = 403, body = ErrorBody)))]
pub async fn library(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<LibraryQuery>,
) -> ApiResult<Json<Vec<LibraryEntry>>> {
    principal.require(&state, "design", DESIGNERS).await?;
    let needle = q.q.unwrap_or_default().trim().to_lowercase();
    let mut drafts: HashMap<String, DraftRow> = state
        .store
        .drafts()
        .await?
        .into_iter()
        .map(|d| (d.key.clone(), d))
        .collect();
    let mut keys: Vec<String> = state
        .store
        .definitions(None)
        .await?
        .into_iter()
        .map(|d| d.key)
        .collect();
    keys.extend(
        drafts
            .keys()
            .filter(|k| !keys.contains(k))
            .cloned()
            .collect::<Vec<_>>(),
    );
    keys.sort();
    let mut out = Vec::new();
    for key in keys {
        let versions: Vec<DefinitionOut> = state
            .store
            .definitions(Some(&key))
            .await?
            .into_iter()
            .map(crate::api::definition_out)
            .collect();
        let draft = drafts.remove(&key);
        let name = draft
            .as_ref()
            .and_then(|d| process_name(&d.xml, &key))
            .or_else(|| versions.first().and_then(|v| v.name.clone()));
        if !needle.is_empty() {
            let text = match (&draft, versions.first()) {
                (Some(d), _) => d.xml.clone(),
                (None, Some(v)) => state.store.definition_xml(&key, v.version).await?,
                (None, None) => String::new(),
            };
            let hit = key.to_lowercase().contains(&needle)
                || name
                    .as_deref()
                    .is_some_and(|n| n.to_lowercase().contains(&needle))
                || text.to_lowercase().contains(&needle);
            if !hit {
                continue;
            }
        }
        out.push(LibraryEntry {
            key,
            name,
            versions,
            draft: draft.map(|d| DraftSummary {
                revision: d.revision,
                updated_by: d.updated_by,
                updated_at: d.updated_at,
                based_on: d.based_on,
            }),
        });
    }
    Ok(Json(out))
}

/// The draft of a process; without one, the latest deployed version's text at revision 0.
#[utoipa::path(get, path = "/api/drafts/{key}", params(("key" = String, Path)),
    responses((status = 200, body = DraftOut), (status = 404, body = ErrorBody)))]
pub async fn draft(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<Json<DraftOut>> {
    principal.require(&state, "design", DESIGNERS).await?;
    Ok(Json(current(&state, &key).await?))
}

pub(crate) async fn current(state: &AppState, key: &str) -> ApiResult<DraftOut> {
    let (forms, files) = files_of(state, key).await?;
    if let Some(d) = state.store.draft(key).await? {
        return Ok(DraftOut {
            key: d.key,
            xml: d.xml,
            revision: d.revision,
            updated_by: Some(d.updated_by),
            updated_at: Some(d.updated_at),
            based_on: d.based_on,
            forms,
            files,
        });
    }
    let latest = latest_version(state, key).await?.ok_or_else(|| {
        ApiError::not_found(format!("process {key:?} has no draft and no version"))
    })?;
    Ok(DraftOut {
        key: key.to_string(),
        xml: state.store.definition_xml(key, latest.version).await?,
        revision: 0,
        updated_by: latest.deployed_by,
        updated_at: Some(latest.deployed_at),
        based_on: latest.version,
        forms,
        files,
    })
}

/// The forms, and the named-query and template files, a draft of `key` is
/// deployed with: the latest version's, each replaced by the draft's own of
/// the same name, and the draft's new ones; each list by name. Of the
/// queries and templates, only those beside the process's BPMN file: those
/// are the ones it calls (a deployment of the processes folder holds every
/// process's).
async fn files_of(state: &AppState, key: &str) -> ApiResult<(Vec<FormFile>, Vec<DraftFile>)> {
    let bpmn = latest_version(state, key)
        .await?
        .map(|v| v.resource_name)
        .unwrap_or_default();
    let folder = bpmn.rfind('/').map_or("", |i| &bpmn[..=i]);
    let beside = |name: &str| {
        name.strip_prefix(folder)
            .is_some_and(|rest| !rest.contains('/'))
    };
    let mut all: Vec<(String, String)> = state
        .store
        .latest_resources(key)
        .await?
        .into_iter()
        .filter(|(name, _)| name.ends_with(".form") || (is_text_file(name) && beside(name)))
        .collect();
    for (name, content) in state.store.draft_files(key).await? {
        match all.iter_mut().find(|(n, _)| *n == name) {
            Some(f) => f.1 = content,
            None => all.push((name, content)),
        }
    }
    all.sort();
    let (forms, files): (Vec<_>, Vec<_>) = all.into_iter().partition(|(n, _)| n.ends_with(".form"));
    Ok((
        forms
            .into_iter()
            .map(|(name, content)| FormFile { name, content })
            .collect(),
        files
            .into_iter()
            .map(|(name, content)| DraftFile { name, content })
            .collect(),
    ))
}

/// What is wrong with a named-query (`.sql`) or template (`.typ`) file's
/// text, where: the queries' own parser, or Typst's syntax check (nothing is
/// typeset). `None` when it is sound.
fn file_problem(name: &str, content: &str) -> Option<ScriptProblem> {
    let one = [(name.to_string(), content.to_string())];
    let (line, message) = if name.ends_with(".sql") {
        let e = millrace_store::QueryBook::of_files(one.iter().map(|(n, c)| (n, c))).err()?;
        (e.line, e.reason)
    } else {
        let template = millrace_documents::Template {
            main: name.to_string(),
            files: one.into_iter().collect(),
        };
        let e = template.check().err()?;
        (e.line.unwrap_or(1), e.message)
    };
    Some(ScriptProblem {
        line: u32::try_from(line).unwrap_or(u32::MAX),
        column: 1,
        message,
    })
}

/// Checks a named-query or template file of a draft without saving it:
/// where its text is wrong (empty when it is sound).
#[utoipa::path(post, path = "/api/drafts/{key}/files/check", params(("key" = String, Path)), request_body = DraftFile,
    responses((status = 200, body = [ScriptProblem]), (status = 400, body = ErrorBody)))]
pub async fn check_file(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(_key): ApiPath<String>,
    ApiJson(req): ApiJson<DraftFile>,
) -> ApiResult<Json<Vec<ScriptProblem>>> {
    principal.require(&state, "design", DESIGNERS).await?;
    if !safe_text_file_name(&req.name) {
        return Err(ApiError::field(
            "name",
            format!("{:?} is not a query or template file name", req.name),
        ));
    }
    Ok(Json(
        file_problem(&req.name, &req.content).into_iter().collect(),
    ))
}

/// Whether a deployment file is one the designer edits as text: a named-query
/// book or a document template.
fn is_text_file(name: &str) -> bool {
    name.ends_with(".sql") || name.ends_with(".typ")
}

/// Whether `name` is a safe name for a named-query or template file.
fn safe_text_file_name(name: &str) -> bool {
    safe_file_name(name, ".sql") || safe_file_name(name, ".typ")
}

/// Whether `name` is a safe file name inside a deployment ending in `ext`:
/// letters, digits, `-`, `_` and `.`, folders split by `/`, no `..`.
fn safe_file_name(name: &str, ext: &str) -> bool {
    name.len() <= FORM_NAME_MAX
        && name.ends_with(ext)
        && name.len() > ext.len()
        && !name.starts_with('/')
        && name
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
}

/// Checks the named-query and template files of a save: each a `.sql` or
/// `.typ` name inside the deployment, a `.sql` file's queries well formed, a
/// `.typ` file's Typst syntax sound. The first bad one refuses the save,
/// naming the file, its line and the reason.
fn checked_files(files: &[DraftFile]) -> ApiResult<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> = Vec::with_capacity(files.len());
    for (i, f) in files.iter().enumerate() {
        let field = format!("files[{i}]");
        let name = f.name.as_str();
        if !safe_text_file_name(name) {
            return Err(ApiError::field(
                &format!("{field}.name"),
                format!(
                    "{name:?} is not a query or template file name: letters, digits, '-', '_', '.' and '/' between folders, ending in .sql or .typ, at most {FORM_NAME_MAX} characters"
                ),
            ));
        }
        if out.iter().any(|(n, _)| n == name) {
            return Err(ApiError::field(
                &format!("{field}.name"),
                format!("{name} is given twice"),
            ));
        }
        if let Some(problem) = file_problem(name, &f.content) {
            return Err(ApiError::field(
                &format!("{field}.content"),
                format!("{name}:{}: {}", problem.line, problem.message),
            ));
        }
        out.push((name.to_string(), f.content.clone()));
    }
    Ok(out)
}

/// The longest form file name a draft accepts.
const FORM_NAME_MAX: usize = 200;

/// Checks the forms of a save: each a `.form` file name inside the
/// deployment (no `..`, no leading `/`) holding form-js JSON (an object with
/// a `components` list). The first bad one refuses the save, naming it.
fn checked_forms(forms: &[FormFile]) -> ApiResult<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> = Vec::with_capacity(forms.len());
    for (i, f) in forms.iter().enumerate() {
        let field = format!("forms[{i}]");
        let name = f.name.as_str();
        if !safe_file_name(name, ".form") {
            return Err(ApiError::field(
                &format!("{field}.name"),
                format!(
                    "{name:?} is not a form file name: letters, digits, '-', '_', '.' and '/' between folders, ending in .form, at most {FORM_NAME_MAX} characters"
                ),
            ));
        }
        if out.iter().any(|(n, _)| n == name) {
            return Err(ApiError::field(
                &format!("{field}.name"),
                format!("{name} is given twice"),
            ));
        }
        let schema: serde_json::Value = serde_json::from_str(&f.content).map_err(|e| {
            ApiError::field(
                &format!("{field}.content"),
                format!(
                    "{name} is not JSON: {e} (line {}, column {})",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        if !schema.get("components").is_some_and(|c| c.is_array()) {
            return Err(ApiError::field(
                &format!("{field}.content"),
                format!("{name} is not a form-js form: it has no \"components\" list"),
            ));
        }
        out.push((name.to_string(), f.content.clone()));
    }
    Ok(out)
}

pub(crate) async fn latest_version(
    state: &AppState,
    key: &str,
) -> ApiResult<Option<DefinitionOut>> {
    Ok(state
        .store
        .definitions(Some(key))
        .await?
        .into_iter()
        .next()
        .map(crate::api::definition_out))
}

/// Saves a draft edited from `revision` and validates it. Text that is not
/// BPMN is refused (422, naming the line and column) and nothing is saved; a
/// save over someone else's newer save is refused (409, naming who).
#[utoipa::path(put, path = "/api/drafts/{key}", params(("key" = String, Path)), request_body = DraftSave,
    responses((status = 200, body = DraftSaved), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn save_draft(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(key): ApiPath<String>,
    ApiJson(req): ApiJson<DraftSave>,
) -> ApiResult<Json<DraftSaved>> {
    principal.require(&state, "design", DESIGNERS).await?;
    let model = parse(&req.xml)?;
    let mut files = checked_forms(&req.forms)?;
    files.extend(checked_files(&req.files)?);
    let based_on = match state.store.draft(&key).await? {
        Some(d) => d.based_on,
        None => latest_version(&state, &key).await?.map_or(0, |v| v.version),
    };
    let now = Utc::now();
    let revision = state
        .store
        .save_draft(
            &key,
            &req.xml,
            &files,
            req.revision,
            based_on,
            &principal.user,
            now,
        )
        .await?;
    let diagnostics = findings(&state, &model).await?;
    Ok(Json(DraftSaved {
        revision,
        updated_at: millrace_store::timestamp(now),
        diagnostics,
    }))
}

/// Validates a text without saving it: the findings, a parse failure among them (E001).
#[utoipa::path(post, path = "/api/drafts/{key}/validate", params(("key" = String, Path)), request_body = BpmnText,
    responses((status = 200, body = [DiagnosticOut])))]
pub async fn validate_draft(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(_key): ApiPath<String>,
    ApiJson(req): ApiJson<BpmnText>,
) -> ApiResult<Json<Vec<DiagnosticOut>>> {
    principal.require(&state, "design", DESIGNERS).await?;
    match Model::import(req.xml.as_bytes()) {
        Ok(model) => Ok(Json(findings(&state, &model).await?)),
        Err(e) => {
            let (line, column) = e.position();
            Ok(Json(vec![DiagnosticOut {
                severity: "error".into(),
                code: "E001".into(),
                line,
                column,
                element_id: None,
                message: e.to_string(),
                script_line: None,
                script_column: None,
            }]))
        }
    }
}

/// Starts a draft of a new process: blank, a copy of another, or an uploaded file.
#[utoipa::path(post, path = "/api/drafts", request_body = DraftCreate,
    responses((status = 201, body = DraftOut), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_draft(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<DraftCreate>,
) -> ApiResult<Response> {
    principal.require(&state, "design", DESIGNERS).await?;
    // A copy brings its forms and files along; a blank diagram or an upload has none.
    let mut forms: Vec<FormFile> = Vec::new();
    let mut files: Vec<DraftFile> = Vec::new();
    let (key, xml) = match (&req.xml, &req.copy_of) {
        (Some(_), Some(_)) => {
            return Err(ApiError::field(
                "copyOf",
                "give either an uploaded file or a process to copy, not both",
            ))
        }
        (Some(xml), None) => {
            let model = parse(xml)?;
            let from_file = model
                .definitions
                .processes
                .iter()
                .find(|p| p.executable())
                .or(model.definitions.processes.first())
                .map(|p| p.id.clone())
                .ok_or_else(|| ApiError::field("xml", "the file has no process"))?;
            match &req.key {
                Some(k) if k != &from_file => (checked_key(k)?, rename_process(xml, &from_file, k)),
                _ => (checked_key(&from_file)?, xml.clone()),
            }
        }
        (None, Some(source)) => {
            let key = checked_key(req.key.as_deref().unwrap_or_default())?;
            let original = current(&state, source).await?;
            forms = original.forms;
            files = original.files;
            (key.clone(), rename_process(&original.xml, source, &key))
        }
        (None, None) => {
            let key = checked_key(req.key.as_deref().unwrap_or_default())?;
            let name = req.name.clone().unwrap_or_else(|| key.clone());
            (key.clone(), blank_diagram(&key, &name))
        }
    };
    parse(&xml)?;
    if state.store.draft(&key).await?.is_some() {
        return Err(ApiError::conflict(format!(
            "process {key:?} already has a draft; open it from the library"
        )));
    }
    let based_on = latest_version(&state, &key).await?.map_or(0, |v| v.version);
    if based_on > 0 && req.xml.is_none() {
        return Err(ApiError::conflict(format!(
            "a process {key:?} exists already (version {based_on}); choose another id"
        )));
    }
    let now = Utc::now();
    let revision = state
        .store
        .save_draft(
            &key,
            &xml,
            &[checked_forms(&forms)?, checked_files(&files)?].concat(),
            0,
            based_on,
            &principal.user,
            now,
        )
        .await?;
    state
        .audit(Some(&principal.user), "draft.create", Some(&key), "ok")
        .await;
    let out = DraftOut {
        key,
        xml,
        revision,
        updated_by: Some(principal.user),
        updated_at: Some(millrace_store::timestamp(now)),
        based_on,
        forms,
        files,
    };
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// What the draft changes against the latest deployed version (everything is added for a new process).
#[utoipa::path(get, path = "/api/drafts/{key}/diff", params(("key" = String, Path)),
    responses((status = 200, body = DiffOut)))]
pub async fn draft_diff(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<Json<DiffOut>> {
    principal.require(&state, "design", DESIGNERS).await?;
    let draft = current(&state, &key).await?;
    let newer = parse(&draft.xml)?.definitions;
    let older = match latest_version(&state, &key).await? {
        Some(v) => parse(&state.store.definition_xml(&key, v.version).await?)?.definitions,
        None => parse(&blank_diagram(&key, &key))?.definitions,
    };
    let d = millrace_model::diff::diff_process(&older, &newer, &key);
    Ok(Json(DiffOut {
        added: d.added,
        removed: d.removed,
        changed: d.changed,
    }))
}

/// Deploys the draft at `revision` as the next version, with the scripts and
/// forms of the latest version (the newest text of each script; the draft's
/// own forms in place of those of the same name), and ends the draft. Administrators only; audited.
#[utoipa::path(post, path = "/api/drafts/{key}/deploy", params(("key" = String, Path)), request_body = DraftDeploy,
    responses((status = 201, body = [DeployedOut]), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn deploy_draft(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(key): ApiPath<String>,
    ApiJson(req): ApiJson<DraftDeploy>,
) -> ApiResult<Response> {
    principal.require(&state, "deploy", &[Role::Admin]).await?;
    if req.note.trim().is_empty() {
        return Err(ApiError::field(
            "note",
            "say in a few words why this version is deployed",
        ));
    }
    let draft =
        state.store.draft(&key).await?.ok_or_else(|| {
            ApiError::not_found(format!("process {key:?} has no draft to deploy"))
        })?;
    if draft.revision != req.revision {
        return Err(ApiError::conflict(format!(
            "the draft is at revision {} (saved by {} at {}), not the reviewed revision {}; review it again",
            draft.revision, draft.updated_by, draft.updated_at, req.revision
        )));
    }
    // The draft keeps the file name of the version it replaces (a deployment
    // of the processes folder holds every process's BPMN; only this one's is
    // replaced, and the others are not deployed again).
    let bpmn_name = latest_version(&state, &key)
        .await?
        .map_or_else(|| format!("{key}.bpmn"), |v| v.resource_name);
    let mut files: Vec<DeploymentFile> = state
        .store
        .latest_resources(&key)
        .await?
        .into_iter()
        .filter(|(name, _)| !(name.ends_with(".bpmn") || name.ends_with(".bpmn20.xml")))
        .map(|(name, content)| DeploymentFile { name, content })
        .collect();
    for (name, content) in state
        .store
        .script_resources()
        .await?
        .into_iter()
        .chain(state.store.draft_files(&key).await?)
    {
        match files.iter_mut().find(|f| f.name == name) {
            Some(f) => f.content = content,
            None => files.push(DeploymentFile { name, content }),
        }
    }
    files.push(DeploymentFile {
        name: bpmn_name,
        content: draft.xml.clone(),
    });
    let target = format!("{key} (draft revision {})", draft.revision);
    let deployed = match state
        .store
        .deploy(
            &format!("designer: {key}"),
            &files,
            Some(&principal.user),
            Some(req.note.trim()),
            Utc::now(),
        )
        .await
    {
        Ok(d) => d,
        Err(e) => {
            state
                .audit(Some(&principal.user), "deploy", Some(&target), "refused")
                .await;
            return Err(e.into());
        }
    };
    if !deployed.iter().any(|d| d.key == key) {
        state
            .audit(Some(&principal.user), "deploy", Some(&target), "refused")
            .await;
        return Err(ApiError::field(
            "xml",
            format!("the draft has no executable process with the id {key:?}"),
        ));
    }
    state.store.delete_draft(&key, draft.revision).await?;
    let versions: Vec<String> = deployed
        .iter()
        .map(|d| format!("{} v{}", d.key, d.version))
        .collect();
    state
        .audit(
            Some(&principal.user),
            "deploy",
            Some(&format!("{target} as {}", versions.join(", "))),
            "ok",
        )
        .await;
    Ok((
        StatusCode::CREATED,
        Json(crate::api::deployed_out(deployed)),
    )
        .into_response())
}

/// Runs the process's scenario tests (`*.scenario.json` in the processes
/// folder whose `process` file defines `key`) against the draft, each on a
/// fresh temporary store: the live database is never touched. Returns each
/// step's outcome, the path each took, and which nodes none reached.
#[utoipa::path(post, path = "/api/drafts/{key}/scenarios", params(("key" = String, Path)),
    responses((status = 200, body = ScenarioRun), (status = 404, body = ErrorBody)))]
pub async fn run_scenarios(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<Json<ScenarioRun>> {
    principal.require(&state, "design", DESIGNERS).await?;
    let draft = current(&state, &key).await?;
    let model = parse(&draft.xml)?;
    let Some(root) = state.processes.clone() else {
        return Ok(Json(ScenarioRun::default()));
    };
    let mut results = Vec::new();
    for (path, json) in scenarios_of(&root, &key) {
        let dir = path.parent().unwrap_or(&root).to_path_buf();
        let process = json
            .get("process")
            .and_then(|p| p.as_str())
            .unwrap_or_default()
            .to_string();
        // The draft's queries and templates stand in for those beside the
        // scenario (named from its folder, as the scenario names its files).
        let folder = dir
            .strip_prefix(&root)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let prefix = if folder.is_empty() {
            String::new()
        } else {
            format!("{folder}/")
        };
        let mut replaced = vec![DeploymentFile {
            name: process,
            content: draft.xml.clone(),
        }];
        replaced.extend(draft.files.iter().filter_map(|f| {
            f.name.strip_prefix(&prefix).map(|name| DeploymentFile {
                name: name.to_string(),
                content: f.content.clone(),
            })
        }));
        let outcome = millrace_scenario::run_with_files(&json, &dir, &replaced).await;
        let file = path
            .strip_prefix(&root)
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        results.push(scenario_result(file, &json, outcome));
    }
    let reached: std::collections::BTreeSet<String> = results
        .iter()
        .flat_map(|r| r.completed.iter().cloned())
        .collect();
    let unreached = model
        .definitions
        .processes
        .iter()
        .filter(|p| p.id == key)
        .flat_map(|p| p.scope.all_nodes())
        .map(|n| n.id.clone())
        .filter(|id| !reached.contains(id))
        .collect();
    Ok(Json(ScenarioRun {
        scenarios: results,
        reached: reached.into_iter().collect(),
        unreached,
    }))
}

/// The scenario files below `root` whose process file defines process `key`, sorted by path.
fn scenarios_of(root: &std::path::Path, key: &str) -> Vec<(std::path::PathBuf, serde_json::Value)> {
    let mut found = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if !path.to_string_lossy().ends_with(".scenario.json") {
                continue;
            }
            let Some(json) = std::fs::read_to_string(&path)
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            else {
                continue;
            };
            let named = json.get("processId").and_then(|p| p.as_str());
            let defines = |process: &str| {
                std::fs::read(dir.join(process))
                    .ok()
                    .and_then(|b| Model::import(&b).ok())
                    .is_some_and(|m| m.definitions.processes.iter().any(|p| p.id == key))
            };
            let ours = match (named, json.get("process").and_then(|p| p.as_str())) {
                (Some(id), _) => id == key,
                (None, Some(process)) => defines(process),
                (None, None) => false,
            };
            if ours {
                found.push((path, json));
            }
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

fn scenario_result(
    file: String,
    json: &serde_json::Value,
    outcome: Result<millrace_scenario::Outcome, millrace_scenario::ScenarioError>,
) -> ScenarioResult {
    let steps: Vec<&serde_json::Value> = json
        .get("steps")
        .and_then(|s| s.as_array())
        .map(|s| s.iter().collect())
        .unwrap_or_default();
    let (failed_at, error, completed) = match outcome {
        Ok(o) => (None, None, o.completed),
        Err(millrace_scenario::ScenarioError::Failed {
            step,
            what,
            reason,
            outcome,
        }) => (
            Some(step),
            Some(format!("step {step} ({what}): {reason}")),
            outcome.map(|o| o.completed).unwrap_or_default(),
        ),
        // It could not start: no step ran.
        Err(e) => (Some(0), Some(e.to_string()), Vec::new()),
    };
    let steps = steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let number = i + 1;
            let outcome = match failed_at {
                None => "passed",
                Some(f) if number < f => "passed",
                Some(f) if number == f => "failed",
                Some(_) => "not run",
            };
            StepResult {
                number: u32::try_from(number).unwrap_or(u32::MAX),
                summary: step_summary(step),
                outcome: outcome.into(),
            }
        })
        .collect();
    ScenarioResult {
        file,
        passed: failed_at.is_none(),
        steps,
        error,
        completed,
    }
}

/// `complete Task_X`, `advance PT48H`, `expectWaiting [..]`: the step's first key and its value in short.
fn step_summary(step: &serde_json::Value) -> String {
    let Some(obj) = step.as_object() else {
        return step.to_string();
    };
    let Some((kind, value)) = obj
        .iter()
        .find(|(k, _)| !matches!(k.as_str(), "variables" | "user" | "expectError"))
    else {
        return "(empty step)".into();
    };
    let shown = match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let shown = if shown.chars().count() > 80 {
        shown.chars().take(80).chain(['…']).collect()
    } else {
        shown
    };
    format!("{kind} {shown}")
}

/// Compiles a condition, expression or script as Rhai: where it does not
/// compile, inside its own text (empty when it does). Nothing is run.
#[utoipa::path(post, path = "/api/scripts/check", request_body = ScriptCheck,
    responses((status = 200, body = [ScriptProblem]), (status = 400, body = ErrorBody)))]
pub async fn check_script(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<ScriptCheck>,
) -> ApiResult<Json<Vec<ScriptProblem>>> {
    use millrace_model::validate::{ScriptChecker, ScriptKind};
    principal.require(&state, "design", DESIGNERS).await?;
    let kind = match req.kind.as_str() {
        "condition" => ScriptKind::Condition,
        "expression" => ScriptKind::Expression,
        "script" => ScriptKind::Script,
        _ => {
            return Err(ApiError::field(
                "kind",
                "one of condition, expression, script",
            ))
        }
    };
    Ok(Json(match Rhai::new().check(kind, &req.text) {
        Ok(()) => Vec::new(),
        Err(f) => vec![ScriptProblem {
            line: f.line,
            column: f.column,
            message: f.message,
        }],
    }))
}

/// Reads BPMN text, or refuses it naming the line, column and reason.
pub(crate) fn parse(xml: &str) -> ApiResult<Model> {
    Model::import(xml.as_bytes()).map_err(|e| {
        let (line, column) = e.position();
        let mut err = ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            format!(
                "the BPMN cannot be read at line {line}, column {column}: {}",
                reason_of(&e)
            ),
        );
        err.body.field = Some("xml".into());
        err
    })
}

fn reason_of(e: &millrace_model::ImportError) -> String {
    // The error prints as `line:column: reason`; the position is said above.
    let text = e.to_string();
    text.splitn(3, ':')
        .nth(2)
        .map_or(text.clone(), |r| r.trim().to_string())
}

/// The engine's validator with the deployed scripts, as the designer shows it.
async fn findings(state: &AppState, model: &Model) -> ApiResult<Vec<DiagnosticOut>> {
    let scripts: Arc<HashMap<String, String>> =
        Arc::new(state.store.script_resources().await?.into_iter().collect());
    let rhai = Rhai::new().with_resources(move |name| {
        let bare = name.strip_prefix("scripts/").unwrap_or(name);
        scripts
            .get(name)
            .or_else(|| scripts.get(bare))
            .or_else(|| scripts.get(&format!("scripts/{bare}")))
            .cloned()
            .ok_or_else(|| format!("no deployed script is named {name:?}"))
    });
    Ok(validate(model, &rhai, Options { execution: true })
        .into_iter()
        .map(|d| DiagnosticOut {
            severity: d.severity.to_string(),
            code: d.code.to_string(),
            line: d.pos.line,
            column: d.pos.column,
            element_id: d.element_id,
            message: d.message,
            script_line: d.script_pos.map(|p| p.line),
            script_column: d.script_pos.map(|p| p.column),
        })
        .collect())
}

/// The name of process `key` in a BPMN text.
fn process_name(xml: &str, key: &str) -> Option<String> {
    let model = Model::import(xml.as_bytes()).ok()?;
    model
        .definitions
        .processes
        .iter()
        .find(|p| p.id == key)
        .and_then(|p| p.name.clone())
}

/// A process id the engine and the URL both take: an XML NCName without dots' surprises.
fn checked_key(key: &str) -> ApiResult<String> {
    let ok = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key.len() <= 200
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(key.to_string())
    } else {
        Err(ApiError::field(
            "key",
            "a process id starts with a letter or _ and has only letters, digits, _, - and . (at most 200)",
        ))
    }
}

/// The same diagram with process `from` called `to`: its id, and every
/// attribute that refers to it (the diagram plane, participants).
fn rename_process(xml: &str, from: &str, to: &str) -> String {
    let mut out = xml.to_string();
    for attr in ["id", "bpmnElement", "processRef"] {
        out = out
            .replace(&format!("{attr}=\"{from}\""), &format!("{attr}=\"{to}\""))
            .replace(&format!("{attr}='{from}'"), &format!("{attr}='{to}'"));
    }
    out
}

/// A new process: one start event, drawn, in the Camunda 7 namespace.
pub fn blank_diagram(key: &str, name: &str) -> String {
    let name = name
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;");
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_{key}" targetNamespace="http://bpmn.io/schema/bpmn" exporter="Millrace">
  <bpmn:process id="{key}" name="{name}" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1" name="Start" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="BPMNDiagram_1">
    <bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="{key}">
      <bpmndi:BPMNShape id="StartEvent_1_di" bpmnElement="StartEvent_1">
        <dc:Bounds x="180" y="160" width="36" height="36" />
      </bpmndi:BPMNShape>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_summarised_by_their_kind_and_value() {
        let step = serde_json::json!({"complete": "Task_A", "variables": {"x": 1}, "user": "u"});
        assert_eq!(step_summary(&step), "complete Task_A");
        let long = serde_json::json!({"expectWaiting": vec!["Task_Long_Name_0123456789"; 5]});
        let s = step_summary(&long);
        assert!(s.starts_with("expectWaiting [") && s.ends_with('…'), "{s}");
    }

    #[test]
    fn a_failed_step_fails_and_the_ones_after_it_do_not_run() {
        let json = serde_json::json!({"steps": [{"expectWaiting": []}, {"complete": "T"}, {"expectState": "completed"}]});
        let failed = Err(millrace_scenario::ScenarioError::Failed {
            step: 2,
            what: "complete".into(),
            reason: "no task T".into(),
            outcome: None,
        });
        let r = scenario_result("s.scenario.json".into(), &json, failed);
        let outcomes: Vec<&str> = r.steps.iter().map(|s| s.outcome.as_str()).collect();
        assert_eq!(outcomes, ["passed", "failed", "not run"]);
        assert!(!r.passed);
        assert_eq!(r.error.as_deref(), Some("step 2 (complete): no task T"));
    }

    #[test]
    fn a_blank_diagram_reads_as_one_executable_process() {
        let m = Model::import(blank_diagram("p1", "A <new> one").as_bytes()).expect("reads");
        let p = &m.definitions.processes[0];
        assert_eq!(p.id, "p1");
        assert_eq!(p.name.as_deref(), Some("A <new> one"));
        assert!(p.executable());
    }

    #[test]
    fn renaming_a_process_moves_its_references_and_nothing_else() {
        let xml = blank_diagram("old", "x").replace(
            "StartEvent_1\"",
            "StartEvent_1\" camunda:asyncBefore=\"true\" other=\"old\"",
        );
        let renamed = rename_process(&xml, "old", "new");
        assert!(renamed.contains(r#"<bpmn:process id="new""#));
        assert!(renamed.contains(r#"bpmnElement="new""#));
        assert!(
            renamed.contains(r#"other="old""#),
            "an attribute that is no reference stays"
        );
        assert!(Model::import(renamed.as_bytes()).is_ok());
    }

    #[test]
    fn keys_are_checked() {
        assert!(checked_key("support-case_2.v1").is_ok());
        for bad in ["", "1abc", "a b", "a/b", "a\"b"] {
            assert!(checked_key(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_parse_failure_names_line_and_column_once() {
        let err = parse("<bpmn:definitions>\n  <oops\n")
            .map(|_| ())
            .expect_err("refused");
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            err.body
                .reason
                .starts_with("the BPMN cannot be read at line "),
            "{}",
            err.body.reason
        );
        assert_eq!(err.body.field.as_deref(), Some("xml"));
    }
}
