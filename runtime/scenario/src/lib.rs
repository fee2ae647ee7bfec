//! Scenario tests: drive one process instance through a story in virtual
//! time and check it (DESIGN.md, "Scenario tests") — on a temporary durable
//! store through the same code path as production, or in memory through the
//! pure engine ([`run_file_in_memory`]), which makes the same BPMN decisions
//! in a millisecond or so.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use millrace_engine::deployment::{compile_file, FileError};
use millrace_engine::memory::{Engine, MemoryError};
use millrace_engine::{Instance, InstanceState, ProcessDefinition, Value, Variables};
use millrace_store::{DeploymentFile, Store, StoreError};
use serde_json::Value as Json;

/// Why a scenario could not run or did not hold.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The scenario file itself is wrong.
    #[error("{0}")]
    Invalid(String),
    /// A file could not be read.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        error: std::io::Error,
    },
    /// The store refused something.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The in-memory engine refused something.
    #[error(transparent)]
    Memory(#[from] MemoryError),
    /// A file of the deployment does not compile (in memory).
    #[error(transparent)]
    Deploy(#[from] FileError),
    /// The scenario reaches the database (reference data, named queries, the
    /// outbox), which the in-memory engine does not have: it runs on a store only.
    #[error("needs a store (SQLite or PostgreSQL): {0}")]
    NeedsStore(String),
    /// A step's expectation failed.
    #[error("step {step} ({what}): {reason}")]
    Failed {
        /// 1-based step number.
        step: usize,
        /// The step's kind.
        what: String,
        /// What differed.
        reason: String,
        /// The instance's state when the step failed.
        outcome: Option<Box<Outcome>>,
    },
}

/// The final state of a scenario's instance, as `millrace test --json` prints it.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// `active`, `completed`, `terminated` or `incident`.
    pub state: String,
    /// Completed flow nodes, in order.
    pub completed: Vec<String>,
    /// Waiting nodes.
    pub waiting: Vec<String>,
    /// The root instance's variables.
    pub variables: Variables,
    /// Nodes with open incidents.
    pub incidents: Vec<String>,
    /// Each open incident's node and message, in the order of `incidents`.
    pub incident_messages: Vec<(String, String)>,
}

impl Outcome {
    /// As JSON.
    pub fn to_json(&self) -> Json {
        serde_json::json!({
            "state": self.state,
            "completed": self.completed,
            "waiting": self.waiting,
            "variables": millrace_engine::value::variables_to_json(&self.variables),
            "incidents": self.incidents,
            "incidentMessages": self.incident_messages.iter().map(|(n, m)| serde_json::json!({ "node": n, "message": m })).collect::<Vec<_>>(),
        })
    }
}

fn field<'a>(step: &'a Json, name: &str) -> Option<&'a Json> {
    step.get(name)
}

fn vars(json: Option<&Json>, at: &str) -> Result<Variables, ScenarioError> {
    match json {
        None => Ok(Variables::new()),
        Some(j) => millrace_engine::value::variables_from_json(j)
            .map_err(|e| ScenarioError::Invalid(format!("{at}: variables: {e}"))),
    }
}

fn strings(json: &Json, at: &str) -> Result<Vec<String>, ScenarioError> {
    json.as_array()
        .ok_or_else(|| ScenarioError::Invalid(format!("{at}: expected a list of element ids")))?
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| ScenarioError::Invalid(format!("{at}: element ids are strings")))
        })
        .collect()
}

fn multiset(items: &[String]) -> BTreeMap<&str, usize> {
    let mut m = BTreeMap::new();
    for i in items {
        *m.entry(i.as_str()).or_insert(0) += 1;
    }
    m
}

/// Runs the scenario file at `path` on a fresh SQLite file; on success returns the final outcome.
pub async fn run_file(path: &Path) -> Result<Outcome, ScenarioError> {
    run_file_on(path, None).await
}

/// Runs the scenario file at `path` on a fresh store: a new schema of the
/// PostgreSQL database at `postgres` when given, else a new SQLite file.
pub async fn run_file_on(path: &Path, postgres: Option<&str>) -> Result<Outcome, ScenarioError> {
    let json = read_json(path)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = tempfile::tempdir().map_err(|error| ScenarioError::Io {
        path: std::env::temp_dir(),
        error,
    })?;
    let Some(base) = postgres else {
        let store = Store::open(
            &tmp.path().join("scenario.db").to_string_lossy(),
            std::sync::Arc::new(millrace_script::RhaiLanguage),
        )
        .await?;
        return Runner::new(Backend::Store(&store), dir, &json, &[])?
            .run()
            .await;
    };
    let scratch = millrace_store::ScratchSchema::create(base).await?;
    let outcome = {
        let store = Store::open_with(
            &scratch.url,
            2,
            std::sync::Arc::new(millrace_script::RhaiLanguage),
        )
        .await?;
        let outcome = match Runner::new(Backend::Store(&store), dir, &json, &[]) {
            Ok(runner) => runner.run().await,
            Err(e) => Err(e),
        };
        store.close().await;
        outcome
    };
    // The scenario's schema goes, whatever the outcome.
    scratch.drop_schema().await?;
    outcome
}

/// Runs a scenario (its JSON, from a file in `dir`) on a fresh SQLite file,
/// with `replaced` standing in for the files of the same name in `dir`: how
/// the designer tests a draft before it is deployed, touching no live data.
pub async fn run_with_files(
    json: &Json,
    dir: &Path,
    replaced: &[DeploymentFile],
) -> Result<Outcome, ScenarioError> {
    let tmp = tempfile::tempdir().map_err(|error| ScenarioError::Io {
        path: std::env::temp_dir(),
        error,
    })?;
    let store = Store::open(
        &tmp.path().join("scenario.db").to_string_lossy(),
        std::sync::Arc::new(millrace_script::RhaiLanguage),
    )
    .await?;
    let outcome = Runner::new(Backend::Store(&store), dir, json, replaced)?
        .run()
        .await;
    store.close().await;
    outcome
}

/// Runs the scenario file at `path` in memory, through the pure engine and
/// no database: the same BPMN decisions as on a store, in about a millisecond.
pub async fn run_file_in_memory(path: &Path) -> Result<Outcome, ScenarioError> {
    let json = read_json(path)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    Runner::new(Backend::Memory(Box::default()), dir, &json, &[])?
        .run()
        .await
}

fn read_json(path: &Path) -> Result<Json, ScenarioError> {
    let text = read(path)?;
    serde_json::from_str(&text)
        .map_err(|e| ScenarioError::Invalid(format!("{}: not JSON: {e}", path.display())))
}

/// Where a scenario runs: a store (SQLite or PostgreSQL), or the engine in memory.
enum Backend<'a> {
    Store(&'a Store),
    Memory(Box<Engine>),
}

/// What the outcome is made of, for one instance of the scenario's tree.
struct Seen {
    instance: Instance,
    waiting: Vec<String>,
    /// (order, node) of each completed activity.
    completed: Vec<(i64, String)>,
    /// (node, message) of each open incident.
    incidents: Vec<(String, String)>,
}

impl Backend<'_> {
    /// Deploys `files`; returns the keys of the processes deployed, the first file's first.
    async fn deploy(
        &mut self,
        files: &[DeploymentFile],
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, ScenarioError> {
        match self {
            Backend::Store(store) => Ok(store
                .deploy("scenario", files, Some("scenario"), None, now)
                .await?
                .into_iter()
                .map(|d| d.key)
                .collect()),
            Backend::Memory(engine) => {
                let all: Arc<HashMap<String, String>> = Arc::new(
                    files
                        .iter()
                        .map(|f| (f.name.clone(), f.content.clone()))
                        .collect(),
                );
                let mut keys = Vec::new();
                for f in files.iter().filter(|f| f.name.ends_with(".bpmn")) {
                    let (defs, _) = compile_file(
                        &millrace_script::RhaiLanguage,
                        &f.name,
                        &f.content,
                        all.clone(),
                        0,
                    )?;
                    for def in defs {
                        keys.push(def.key.clone());
                        engine.deploy(def, now);
                    }
                }
                Ok(keys)
            }
        }
    }

    async fn start(
        &mut self,
        key: &str,
        message: Option<&str>,
        variables: Variables,
        business_key: Option<String>,
        user: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<String, ScenarioError> {
        match self {
            Backend::Store(store) => {
                let mut unit = store.begin(now, Some(user.unwrap_or("scenario"))).await?;
                let id = match message {
                    Some(m) => {
                        unit.start_by_message(key, m, variables, business_key)
                            .await?
                    }
                    None => unit.start(key, variables, business_key, None).await?,
                };
                unit.commit().await?;
                Ok(id)
            }
            Backend::Memory(engine) => Ok(match message {
                Some(m) => engine.start_by_message(key, m, variables, business_key, now)?,
                None => engine.start(key, variables, business_key, None, now)?,
            }),
        }
    }

    /// The open task at `node` in the first instance of `tree` that has one.
    async fn task_at(&self, tree: &[String], node: &str) -> Result<Option<String>, ScenarioError> {
        for id in tree {
            let found = match self {
                Backend::Store(store) => store
                    .tasks_of(id)
                    .await?
                    .into_iter()
                    .find(|t| t.node_id == node)
                    .map(|t| t.id),
                Backend::Memory(engine) => engine
                    .tasks_of(id)
                    .find(|t| t.info.node_id == node)
                    .map(|t| t.id.clone()),
            };
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    async fn complete(
        &mut self,
        task: &str,
        variables: Variables,
        user: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), ScenarioError> {
        match self {
            Backend::Store(store) => {
                let mut unit = store.begin(now, user.or(Some("scenario"))).await?;
                unit.complete_task(task, variables).await?;
                unit.commit().await?;
            }
            Backend::Memory(engine) => engine.complete_task(task, variables, now)?,
        }
        Ok(())
    }

    /// Delivers a message (to one) or a signal (to all) waiting in `tree`;
    /// returns how many received it. Nothing changes when none did.
    async fn deliver(
        &mut self,
        message: bool,
        name: &str,
        tree: &[String],
        variables: Variables,
        now: DateTime<Utc>,
    ) -> Result<usize, ScenarioError> {
        let none = Variables::new();
        match self {
            Backend::Store(store) => {
                let mut unit = store.begin(now, Some("scenario")).await?;
                let delivered = if message {
                    usize::from(
                        unit.correlate(name, Some(tree), None, &none, variables)
                            .await?
                            .is_some(),
                    )
                } else {
                    unit.signal(name, Some(tree), variables).await?
                };
                if delivered > 0 {
                    unit.commit().await?;
                }
                Ok(delivered)
            }
            Backend::Memory(engine) => Ok(if message {
                usize::from(
                    engine
                        .correlate(name, Some(tree), None, &none, variables, now)?
                        .is_some(),
                )
            } else {
                engine.signal(name, Some(tree), variables, now)?
            }),
        }
    }

    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, ScenarioError> {
        Ok(match self {
            Backend::Store(store) => store
                .next_due()
                .await?
                .as_deref()
                .and_then(|d| millrace_model::timer::parse_date(d).ok()),
            Backend::Memory(engine) => engine.next_due(),
        })
    }

    /// Runs one job due at `now`.
    async fn run_due(&mut self, now: DateTime<Utc>) -> Result<(), ScenarioError> {
        match self {
            // The same claim-and-run path as the server's worker, on the virtual clock.
            Backend::Store(store) => {
                store.run_due_jobs("scenario", now, 1).await?;
            }
            Backend::Memory(engine) => {
                engine.run_due_job(now)?;
            }
        }
        Ok(())
    }

    async fn tree(&self, root: &str) -> Result<Vec<String>, ScenarioError> {
        Ok(match self {
            Backend::Store(store) => store.instance_tree(root).await?,
            Backend::Memory(engine) => engine.tree(root),
        })
    }

    async fn seen(&self, id: &str) -> Result<Seen, ScenarioError> {
        let waiting = |def: Option<&ProcessDefinition>, inst: &Instance| {
            def.map(|d| d.waiting_nodes(inst)).unwrap_or_default()
        };
        match self {
            Backend::Store(store) => {
                let instance = store.instance(id).await?;
                let def = store.definition(&instance.key, instance.version);
                let mut completed = Vec::new();
                for h in store.history(id).await? {
                    if h.event == "activityCompleted" {
                        completed.push((h.seq, h.node_id.unwrap_or_default()));
                    }
                }
                Ok(Seen {
                    waiting: waiting(def.as_deref(), &instance),
                    completed,
                    incidents: store
                        .incidents(Some(id), 10_000)
                        .await?
                        .into_iter()
                        .map(|i| (i.node_id, i.message))
                        .collect(),
                    instance,
                })
            }
            Backend::Memory(engine) => {
                let instance = engine
                    .instance(id)
                    .cloned()
                    .ok_or_else(|| MemoryError::NotFound("instance", id.to_string()))?;
                let def = engine.definition(&instance.key, instance.version);
                let completed = engine
                    .history()
                    .iter()
                    .enumerate()
                    .filter(|(_, (i, _))| i == id)
                    .filter_map(|(seq, (_, e))| match e {
                        millrace_engine::HistoryEvent::ActivityCompleted { node } => {
                            Some((seq as i64, node.clone()))
                        }
                        _ => None,
                    })
                    .collect();
                Ok(Seen {
                    waiting: waiting(def.map(|d| &**d), &instance),
                    completed,
                    incidents: engine
                        .incidents_of(id)
                        .map(|i| (i.node.clone(), i.message.clone()))
                        .collect(),
                    instance,
                })
            }
        }
    }
}

struct Runner<'a> {
    backend: Backend<'a>,
    dir: &'a Path,
    replaced: &'a [DeploymentFile],
    json: &'a Json,
    now: DateTime<Utc>,
    root: String,
}

fn read(path: &Path) -> Result<String, ScenarioError> {
    std::fs::read_to_string(path).map_err(|error| ScenarioError::Io {
        path: path.to_path_buf(),
        error,
    })
}

/// The `scripts/` folder the processes' `camunda:resource` names refer to:
/// the nearest one above the scenario's folder.
fn scripts_dir(from: &Path) -> Option<PathBuf> {
    let mut dir = std::fs::canonicalize(from).ok()?;
    loop {
        let candidate = dir.join("scripts");
        if candidate.is_dir() {
            return Some(candidate);
        }
        dir = dir.parent()?.to_path_buf();
    }
}

impl<'a> Runner<'a> {
    fn new(
        backend: Backend<'a>,
        dir: &'a Path,
        json: &'a Json,
        replaced: &'a [DeploymentFile],
    ) -> Result<Self, ScenarioError> {
        let now = match json.get("clock").and_then(Json::as_str) {
            Some(c) => millrace_model::timer::parse_date(c)
                .map_err(|e| ScenarioError::Invalid(format!("clock: {e}")))?,
            None => DateTime::UNIX_EPOCH,
        };
        Ok(Runner {
            backend,
            dir,
            replaced,
            json,
            now,
            root: String::new(),
        })
    }

    async fn deploy(&mut self) -> Result<String, ScenarioError> {
        let process = self
            .json
            .get("process")
            .and_then(Json::as_str)
            .ok_or_else(|| {
                ScenarioError::Invalid("\"process\" (the BPMN file) is missing".into())
            })?;
        let mut names = vec![process.to_string()];
        if let Some(more) = self.json.get("deploy") {
            names.extend(strings(more, "deploy")?);
        }
        let mut files = Vec::new();
        for name in &names {
            let content = match self.replaced.iter().find(|f| &f.name == name) {
                Some(f) => f.content.clone(),
                None => read(&self.dir.join(name))?,
            };
            files.push(DeploymentFile {
                name: name.clone(),
                content,
            });
        }
        // The named queries and document templates beside the process, each
        // replaced by a draft's own of the same name; a draft's new ones too.
        let mut beside =
            DeploymentFile::read_folder(self.dir, &[".sql", ".typ"], "").map_err(|error| {
                ScenarioError::Io {
                    path: self.dir.to_path_buf(),
                    error,
                }
            })?;
        for f in &mut beside {
            if let Some(r) = self.replaced.iter().find(|r| r.name == f.name) {
                f.content.clone_from(&r.content);
            }
        }
        let added: Vec<DeploymentFile> = self
            .replaced
            .iter()
            .filter(|r| r.name.ends_with(".sql") || r.name.ends_with(".typ"))
            .filter(|r| !beside.iter().any(|f| f.name == r.name))
            .cloned()
            .collect();
        files.extend(beside);
        files.extend(added);
        if let Some(scripts) = scripts_dir(self.dir) {
            files.extend(
                DeploymentFile::read_folder(&scripts, &[".rhai"], "scripts").map_err(|error| {
                    ScenarioError::Io {
                        path: scripts.clone(),
                        error,
                    }
                })?,
            );
        }
        let deployed = self.backend.deploy(&files, self.now).await?;
        let key = match self.json.get("processId").and_then(Json::as_str) {
            Some(id) => id.to_string(),
            // The scenario's own file is deployed first, so its first process leads.
            None => deployed.first().cloned().ok_or_else(|| {
                ScenarioError::Invalid(format!("{process} has no executable process"))
            })?,
        };
        Ok(key)
    }

    async fn run(mut self) -> Result<Outcome, ScenarioError> {
        let key = self.deploy().await?;
        let start = self.json.get("start").cloned().unwrap_or(Json::Null);
        let variables = vars(start.get("variables"), "start")?;
        let business_key = start
            .get("businessKey")
            .and_then(Json::as_str)
            .map(str::to_string);
        let message = start.get("message").and_then(Json::as_str);
        self.load_reference_data().await?;
        self.root = self
            .backend
            .start(
                &key,
                message,
                variables,
                business_key,
                start.get("user").and_then(Json::as_str),
                self.now,
            )
            .await?;
        self.run_due().await?;
        let steps = self
            .json
            .get("steps")
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default();
        for (i, step) in steps.iter().enumerate() {
            if let Err(mut e) = self.step(i + 1, step).await {
                if let ScenarioError::Failed { outcome, .. } = &mut e {
                    *outcome = self.outcome().await.ok().map(Box::new);
                }
                return Err(e);
            }
        }
        self.outcome().await
    }

    /// Loads the data files `referenceData` names (a path relative to the
    /// scenario, or a list of them) into the store before the instance starts.
    async fn load_reference_data(&mut self) -> Result<(), ScenarioError> {
        let names = match self.json.get("referenceData") {
            None => return Ok(()),
            Some(Json::String(one)) => vec![one.clone()],
            Some(list) => strings(list, "referenceData")?,
        };
        let Backend::Store(store) = &self.backend else {
            return Err(ScenarioError::NeedsStore("it loads referenceData".into()));
        };
        for name in names {
            let path = self.dir.join(&name);
            let text = read(&path)?;
            store
                .load_reference_data(&path.display().to_string(), &text)
                .await?;
        }
        Ok(())
    }

    /// Runs every job due by now, in due order, each at its own due time.
    async fn run_due(&mut self) -> Result<(), ScenarioError> {
        self.advance_to(self.now).await
    }

    async fn advance_to(&mut self, target: DateTime<Utc>) -> Result<(), ScenarioError> {
        // A bound on firings keeps an endless timer cycle from hanging the run.
        for _ in 0..10_000 {
            match self.backend.next_due().await? {
                Some(d) if d <= target => {
                    self.now = self.now.max(d);
                    self.backend.run_due(self.now).await?;
                }
                _ => break,
            }
        }
        self.now = target;
        Ok(())
    }

    async fn tree(&self) -> Result<Vec<String>, ScenarioError> {
        self.backend.tree(&self.root).await
    }

    async fn step(&mut self, n: usize, step: &Json) -> Result<(), ScenarioError> {
        let fail = |what: &str, reason: String| ScenarioError::Failed {
            step: n,
            what: what.to_string(),
            reason,
            outcome: None,
        };
        let expect_error = step
            .get("expectError")
            .and_then(Json::as_bool)
            .unwrap_or(false);
        if let Some(w) = field(step, "expectWaiting") {
            let want = strings(w, &format!("step {n}"))?;
            let got = self.outcome().await?.waiting;
            if multiset(&want) != multiset(&got) {
                return Err(fail(
                    "expectWaiting",
                    format!("expected {want:?}, waiting are {got:?}"),
                ));
            }
        } else if let Some(c) = field(step, "complete") {
            let node = c.as_str().ok_or_else(|| {
                ScenarioError::Invalid(format!("step {n}: complete names an element id"))
            })?;
            let variables = vars(step.get("variables"), &format!("step {n}"))?;
            let user = step.get("user").and_then(Json::as_str);
            let tree = self.tree().await?;
            let task = self
                .backend
                .task_at(&tree, node)
                .await?
                .ok_or_else(|| fail("complete", format!("no open task {node:?}")))?;
            self.backend
                .complete(&task, variables, user, self.now)
                .await?;
            self.run_due().await?;
        } else if let Some(a) = field(step, "advance") {
            let text = a.as_str().ok_or_else(|| {
                ScenarioError::Invalid(format!("step {n}: advance is a duration"))
            })?;
            let d = millrace_model::timer::parse_duration(text)
                .map_err(|e| ScenarioError::Invalid(format!("step {n}: advance: {e}")))?;
            let target = d.after(self.now);
            self.advance_to(target).await?;
        } else if let Some(name) = field(step, "message").or_else(|| field(step, "signal")) {
            let is_message = step.get("message").is_some();
            let what = if is_message { "message" } else { "signal" };
            let name = name.as_str().ok_or_else(|| {
                ScenarioError::Invalid(format!("step {n}: {what} names a {what}"))
            })?;
            let variables = vars(step.get("variables"), &format!("step {n}"))?;
            let tree = self.tree().await?;
            let delivered = self
                .backend
                .deliver(is_message, name, &tree, variables, self.now)
                .await?;
            match (delivered, expect_error) {
                (0, true) => {}
                (0, false) => {
                    return Err(fail(what, format!("nothing waits for the {what} {name:?}")))
                }
                (_, true) => {
                    return Err(fail(
                        what,
                        format!("the {what} {name:?} was expected to fail but was delivered"),
                    ))
                }
                (_, false) => self.run_due().await?,
            }
        } else if let Some(c) = field(step, "expectCompleted") {
            let want = strings(c, &format!("step {n}"))?;
            let got = self.outcome().await?.completed;
            let ordered = step.get("ordered").and_then(Json::as_bool).unwrap_or(false);
            let same = if ordered {
                want == got
            } else {
                multiset(&want) == multiset(&got)
            };
            if !same {
                return Err(fail(
                    "expectCompleted",
                    format!("expected {want:?}, completed are {got:?}"),
                ));
            }
        } else if let Some(v) = field(step, "expectVariables") {
            let want = vars(Some(v), &format!("step {n}"))?;
            let got = self.outcome().await?.variables;
            for (name, value) in &want {
                let actual = got.get(name).unwrap_or(&Value::Null);
                if !value.same_value(actual) {
                    return Err(fail(
                        "expectVariables",
                        format!(
                            "{name} is {}, expected {}",
                            actual.to_json(),
                            value.to_json()
                        ),
                    ));
                }
            }
        } else if let Some(i) = field(step, "expectIncident") {
            let node = i.as_str().ok_or_else(|| {
                ScenarioError::Invalid(format!("step {n}: expectIncident names an element id"))
            })?;
            let got = self.outcome().await?.incidents;
            if !got.iter().any(|g| g == node) {
                return Err(fail(
                    "expectIncident",
                    format!("no incident at {node:?}; incidents are at {got:?}"),
                ));
            }
        } else if let Some(q) = field(step, "query") {
            let name = q.as_str().ok_or_else(|| {
                ScenarioError::Invalid(format!(
                    "step {n}: query names a query of the process's .sql files"
                ))
            })?;
            let input = vars(step.get("input"), &format!("step {n}"))?;
            let want = step
                .get("expectRows")
                .and_then(Json::as_array)
                .ok_or_else(|| {
                    ScenarioError::Invalid(format!(
                        "step {n}: a query step has expectRows, a list of rows"
                    ))
                })?;
            let Backend::Store(store) = &self.backend else {
                return Err(ScenarioError::NeedsStore(format!(
                    "step {n} runs a named query"
                )));
            };
            let instance = store.instance(&self.root).await?;
            let rows = match store
                .read_named_query(&instance.key, instance.version, name, &input)
                .await?
            {
                Ok(r) => r.get("rows").cloned().unwrap_or(Value::Null),
                Err(e) => return Err(fail("query", e.to_string())),
            };
            let Value::List(rows) = rows else {
                return Err(fail("query", "the query returned no rows".into()));
            };
            // Each expected row names only the columns it checks.
            let shown = Value::List(rows.clone()).to_json();
            if rows.len() != want.len() {
                return Err(fail(
                    "query",
                    format!(
                        "{name} returned {} rows, expected {}: {shown}",
                        rows.len(),
                        want.len()
                    ),
                ));
            }
            for (i, (got, want)) in rows.iter().zip(want).enumerate() {
                let want = vars(Some(want), &format!("step {n}: expectRows[{i}]"))?;
                let Value::Map(got) = got else { continue };
                for (column, value) in &want {
                    let actual = got.get(column).unwrap_or(&Value::Null);
                    if !value.same_value(actual) {
                        return Err(fail(
                            "query",
                            format!(
                                "{name} row {i}: {column} is {}, expected {}",
                                actual.to_json(),
                                value.to_json()
                            ),
                        ));
                    }
                }
            }
        } else if let Some(m) = field(step, "expectMail") {
            let want = m.as_array().ok_or_else(|| {
                ScenarioError::Invalid(format!(
                    "step {n}: expectMail is a list of mails ({{\"to\", \"subject\", \"bodyContains\"}})"
                ))
            })?;
            let Backend::Store(store) = &self.backend else {
                return Err(ScenarioError::NeedsStore(format!(
                    "step {n} reads the outbox"
                )));
            };
            let tree = self.tree().await?;
            // The outbox lists newest first; the scenario's mails oldest first.
            let mut mails: Vec<_> = store
                .outbox(10_000)
                .await?
                .into_iter()
                .filter(|m| tree.contains(&m.instance_id))
                .collect();
            // In the order the instances queued them: a mail's key ends in its
            // instance's own counter, which only grows.
            let order = |id: &str| {
                id.rsplit(':')
                    .next()
                    .and_then(|n| n.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            mails.sort_by(|a, b| {
                (&a.instance_id, order(&a.id)).cmp(&(&b.instance_id, order(&b.id)))
            });
            let shown: Vec<String> = mails
                .iter()
                .map(|m| format!("{:?} to {:?}", m.subject, m.recipients))
                .collect();
            if mails.len() != want.len() {
                return Err(fail(
                    "expectMail",
                    format!(
                        "{} mails were queued, expected {}: {shown:?}",
                        mails.len(),
                        want.len()
                    ),
                ));
            }
            for (i, (got, want)) in mails.iter().zip(want).enumerate() {
                let text = |k: &str| want.get(k).and_then(Json::as_str);
                let wrong = if text("to").is_some_and(|to| !got.recipients.iter().any(|r| r == to))
                {
                    Some("to")
                } else if text("subject").is_some_and(|s| s != got.subject) {
                    Some("subject")
                } else if text("bodyContains").is_some_and(|b| !got.body.contains(b)) {
                    Some("bodyContains")
                } else {
                    None
                };
                if let Some(what) = wrong {
                    return Err(fail(
                        "expectMail",
                        format!(
                            "mail {i} ({}) differs in {what}: expected {}",
                            shown[i], want
                        ),
                    ));
                }
            }
        } else if let Some(s) = field(step, "expectState") {
            let want = s.as_str().unwrap_or_default();
            let got = self.outcome().await?.state;
            if want != got {
                return Err(fail(
                    "expectState",
                    format!("expected {want:?}, the instance is {got:?}"),
                ));
            }
        } else {
            let keys: Vec<&String> = step
                .as_object()
                .map(|o| o.keys().collect())
                .unwrap_or_default();
            return Err(ScenarioError::Invalid(format!(
                "step {n}: unknown step {keys:?}"
            )));
        }
        Ok(())
    }

    async fn outcome(&self) -> Result<Outcome, ScenarioError> {
        let tree = self.tree().await?;
        let mut waiting = Vec::new();
        let mut completed = Vec::new();
        let mut incidents = Vec::new();
        let mut root_state = InstanceState::Active;
        let mut variables = Variables::new();
        let mut history: Vec<(i64, String)> = Vec::new();
        for id in &tree {
            let seen = self.backend.seen(id).await?;
            waiting.extend(seen.waiting);
            if *id == self.root {
                root_state = seen.instance.state;
                variables = seen.instance.root_variables();
            }
            history.extend(seen.completed);
            incidents.extend(seen.incidents);
        }
        history.sort();
        completed.extend(history.into_iter().map(|(_, n)| n));
        let state = match root_state {
            InstanceState::Active if !incidents.is_empty() => "incident".to_string(),
            s => s.as_str().to_string(),
        };
        let incident_messages: Vec<(String, String)> = incidents;
        let incidents = incident_messages.iter().map(|(n, _)| n.clone()).collect();
        Ok(Outcome {
            state,
            completed,
            waiting,
            variables,
            incidents,
            incident_messages,
        })
    }
}
