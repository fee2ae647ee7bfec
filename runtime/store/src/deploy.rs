//! Deployments: BPMN files and the scripts and forms they use, deployed
//! together; a process key gets version n+1 only when its content changed.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use millrace_engine::deployment::{compile_file, FileError, UsedResources};
use millrace_engine::script::ScriptLanguage;
use millrace_engine::ProcessDefinition;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::{timestamp, Result, Store, StoreError};

/// One file of a deployment.
#[derive(Debug, Clone)]
pub struct DeploymentFile {
    /// Its name (`disconnection.bpmn`, `scripts/fee.rhai`).
    pub name: String,
    /// Its text.
    pub content: String,
}

impl DeploymentFile {
    /// Every file below `dir` whose name ends in one of `endings`, sorted,
    /// named by its path below `dir` (with `prefix/` in front when `prefix`
    /// is not empty). A folder that does not exist gives no file.
    pub fn read_folder(
        dir: &Path,
        endings: &[&str],
        prefix: &str,
    ) -> std::io::Result<Vec<DeploymentFile>> {
        let with_path = |p: &Path, e: std::io::Error| {
            std::io::Error::new(e.kind(), format!("{}: {e}", p.display()))
        };
        let mut found = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            if !d.is_dir() {
                continue;
            }
            for entry in std::fs::read_dir(&d).map_err(|e| with_path(&d, e))? {
                let p = entry.map_err(|e| with_path(&d, e))?.path();
                if p.is_dir() {
                    stack.push(p);
                } else if endings.iter().any(|e| p.to_string_lossy().ends_with(e)) {
                    found.push(p);
                }
            }
        }
        found.sort();
        found
            .into_iter()
            .map(|p| {
                let content = std::fs::read_to_string(&p).map_err(|e| with_path(&p, e))?;
                let rel = p
                    .strip_prefix(dir)
                    .unwrap_or(&p)
                    .to_string_lossy()
                    .replace('\\', "/");
                let name = if prefix.is_empty() {
                    rel
                } else {
                    format!("{prefix}/{rel}")
                };
                Ok(DeploymentFile { name, content })
            })
            .collect()
    }
}

/// What a deployment did for one process key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployedDefinition {
    /// The process key.
    pub key: String,
    /// Its version after the deployment.
    pub version: i64,
    /// Whether the deployment made this version (false: content unchanged).
    pub created: bool,
}

impl Store {
    pub(crate) async fn load_definitions(&self) -> Result<()> {
        let rows = sqlx::query(
            "SELECT d.key, d.version, d.resource_name, d.deployment_id FROM definitions d ORDER BY d.deployment_id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut by_deployment: HashMap<i64, Arc<HashMap<String, String>>> = HashMap::new();
        for row in rows {
            let key: String = row.get(0);
            let version: i64 = row.get(1);
            if self.definition(&key, version).is_some() {
                // Versions never change: one compiled is compiled for good.
                continue;
            }
            let resource: String = row.get(2);
            let deployment: i64 = row.get(3);
            let files = match by_deployment.get(&deployment) {
                Some(f) => f.clone(),
                None => {
                    let files: HashMap<String, String> =
                        sqlx::query("SELECT name, content FROM resources WHERE deployment_id = $1")
                            .bind(deployment)
                            .fetch_all(&self.pool)
                            .await?
                            .into_iter()
                            .map(|r| (r.get(0), r.get(1)))
                            .collect();
                    let files = Arc::new(files);
                    by_deployment.insert(deployment, files.clone());
                    files
                }
            };
            let xml = files.get(&resource).cloned().unwrap_or_default();
            let defs = compile(&*self.scripts, &resource, &xml, files.clone(), version)?.0;
            for def in defs.into_iter().filter(|d| d.key == key) {
                self.remember(def);
            }
        }
        Ok(())
    }

    /// Compiles the versions other nodes deployed since this one last looked
    /// (cheap when there are none: one count).
    pub async fn sync_definitions(&self) -> Result<()> {
        let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM definitions")
            .fetch_one(&self.pool)
            .await?;
        let known = self.definitions.read().map(|d| d.len()).unwrap_or(0);
        if usize::try_from(stored).unwrap_or(0) != known {
            self.load_definitions().await?;
        }
        Ok(())
    }

    /// Deploys files: every BPMN file's executable processes, with the scripts
    /// and forms among the files. All or nothing: one bad file refuses all.
    pub async fn deploy(
        &self,
        name: &str,
        files: &[DeploymentFile],
        by: Option<&str>,
        note: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Vec<DeployedDefinition>> {
        let all: Arc<HashMap<String, String>> = Arc::new(
            files
                .iter()
                .map(|f| (f.name.clone(), f.content.clone()))
                .collect(),
        );
        // Compile everything before touching the database. Every queries
        // file is read (a bad one is refused even if nothing calls it yet);
        // a process calls those of its own folder.
        let bad_queries = |e: crate::connector::QueryError| StoreError::BadFile {
            file: e.file.clone(),
            reason: e.to_string(),
        };
        // One book per folder holding queries (a folder without any has
        // none to call).
        let mut books: HashMap<&str, crate::connector::QueryBook> = HashMap::new();
        for f in files.iter().filter(|f| f.name.ends_with(".sql")) {
            let folder = crate::connector::folder_of(&f.name);
            if !books.contains_key(folder) {
                let book = crate::connector::QueryBook::beside(&f.name, all.iter())
                    .map_err(bad_queries)?;
                books.insert(folder, book);
            }
        }
        let no_queries = crate::connector::QueryBook::default();
        let mut compiled = Vec::new();
        for f in files
            .iter()
            .filter(|f| f.name.ends_with(".bpmn") || f.name.ends_with(".bpmn20.xml"))
        {
            let folder = crate::connector::folder_of(&f.name);
            let book = books.get(folder).unwrap_or(&no_queries);
            let mut queries: Vec<&DeploymentFile> = files
                .iter()
                .filter(|q| q.name.ends_with(".sql") && q.name.starts_with(folder))
                .collect();
            queries.sort_by(|a, b| a.name.cmp(&b.name));
            let (defs, used) = compile(&*self.scripts, &f.name, &f.content, all.clone(), 0)?;
            let mut hasher = Sha256::new();
            hasher.update(f.content.as_bytes());
            for (res, content) in &used {
                hasher.update(res.as_bytes());
                hasher.update(content.as_bytes());
            }
            // The forms its tasks name count too: a deployment that changes
            // only a form is a new version, not the same one again.
            let form_refs: std::collections::BTreeSet<&str> = defs
                .iter()
                .flat_map(|d| d.nodes.iter())
                .filter_map(|n| match &n.kind {
                    millrace_engine::definition::NodeKind::UserTask(spec) => spec.form.as_deref(),
                    _ => None,
                })
                .collect();
            let mut forms: Vec<&DeploymentFile> = files
                .iter()
                .filter(|x| {
                    x.name.ends_with(".form")
                        && form_refs
                            .iter()
                            .any(|r| crate::catalog::form_is(&x.name, &x.content, r))
                })
                .collect();
            // In name order, so the same files in another order are the same version.
            forms.sort_by(|a, b| a.name.cmp(&b.name));
            for form in forms {
                hasher.update(form.name.as_bytes());
                hasher.update(form.content.as_bytes());
            }
            // The named queries its sql connectors call: each must be deployed
            // with it, and the queries files count in the version's content.
            let mut calls_sql = false;
            for def in &defs {
                for (task, query) in crate::connector::queries_called(def) {
                    calls_sql = true;
                    if book.get(query).is_none() {
                        return Err(StoreError::BadFile {
                            file: f.name.clone(),
                            reason: format!(
                                "{task}: the sql connector calls the query {query:?}, which no .sql file of the deployment defines ({})",
                                if book.is_empty() { "it has no .sql file".to_string() } else { format!("it defines {} queries", book.len()) }
                            ),
                        });
                    }
                }
            }
            if calls_sql {
                for q in &queries {
                    hasher.update(q.name.as_bytes());
                    hasher.update(q.content.as_bytes());
                }
            }
            // The templates its document connectors typeset: each must be
            // deployed with it and read as Typst, and they count in the content.
            let mut templates = std::collections::BTreeMap::new();
            for def in &defs {
                for (task, name) in crate::connector::constant_inputs(def, "document", "template") {
                    let typ = files
                        .iter()
                        .filter(|x| x.name.ends_with(".typ"))
                        .map(|x| (&x.name, &x.content));
                    let Some(template) = crate::document::find_template(&f.name, name, typ) else {
                        return Err(StoreError::BadFile {
                            file: f.name.clone(),
                            reason: format!("{task}: the document connector typesets the template {name:?}, which the deployment does not have (beside the BPMN file or by that name)"),
                        });
                    };
                    template.check().map_err(|e| StoreError::BadFile {
                        file: f.name.clone(),
                        reason: format!("{task}: the template {e}"),
                    })?;
                    // Keyed by the template too: two templates' files of
                    // the same name both count.
                    templates.extend(
                        template
                            .files
                            .into_iter()
                            .map(|(file, text)| (format!("{name}:{file}"), text)),
                    );
                }
            }
            for (name, content) in &templates {
                hasher.update(name.as_bytes());
                hasher.update(content.as_bytes());
            }
            let fingerprint: String = hasher
                .finalize()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            compiled.push((f.name.clone(), defs, fingerprint));
        }
        let mut tx = self.write_tx().await?;
        if self.dialect == crate::Dialect::Postgres {
            // Nodes deploying at once (each deploys its processes folder at
            // start) take turns, so no two pick the same next version number.
            sqlx::query("SELECT pg_advisory_xact_lock(7140001)")
                .execute(&mut *tx)
                .await?;
        }
        let mut out = Vec::new();
        let mut deployment: Option<i64> = None;
        let mut fresh = Vec::new();
        for (file, defs, fingerprint) in compiled {
            for def in defs {
                let latest = sqlx::query("SELECT version, fingerprint FROM definitions WHERE key = $1 ORDER BY version DESC LIMIT 1")
                    .bind(&def.key)
                    .fetch_optional(&mut *tx)
                    .await?;
                let (latest_version, same) = match &latest {
                    Some(r) => (r.get::<i64, _>(0), r.get::<String, _>(1) == fingerprint),
                    None => (0, false),
                };
                if same {
                    out.push(DeployedDefinition {
                        key: def.key.clone(),
                        version: latest_version,
                        created: false,
                    });
                    continue;
                }
                let dep = match deployment {
                    Some(d) => d,
                    None => {
                        let d: i64 = sqlx::query_scalar(
                            "INSERT INTO deployments (name, deployed_by, deployed_at, note) VALUES ($1, $2, $3, $4) RETURNING id",
                        )
                        .bind(name)
                        .bind(by)
                        .bind(timestamp(now))
                        .bind(note)
                        .fetch_one(&mut *tx)
                        .await?;
                        for f in files {
                            sqlx::query("INSERT INTO resources (deployment_id, name, content) VALUES ($1, $2, $3)")
                                .bind(d)
                                .bind(&f.name)
                                .bind(&f.content)
                                .execute(&mut *tx)
                                .await?;
                        }
                        deployment = Some(d);
                        d
                    }
                };
                let version = latest_version + 1;
                sqlx::query(
                    "INSERT INTO definitions (key, version, name, deployment_id, resource_name, deployed_at, fingerprint) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&def.key)
                .bind(version)
                .bind(&def.name)
                .bind(dep)
                .bind(&file)
                .bind(timestamp(now))
                .bind(&fingerprint)
                .execute(&mut *tx)
                .await?;
                let mut def = def;
                def.version = version;
                out.push(DeployedDefinition {
                    key: def.key.clone(),
                    version,
                    created: true,
                });
                schedule_start_timers(&mut tx, &def, now).await?;
                fresh.push(def);
            }
        }
        tx.commit().await?;
        for def in fresh {
            self.remember(def);
        }
        Ok(out)
    }
}

/// Replaces the key's timer start jobs with those of the new version `def`.
async fn schedule_start_timers(
    tx: &mut sqlx::AnyConnection,
    def: &ProcessDefinition,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("DELETE FROM jobs WHERE kind = 'start' AND instance_id = $1")
        .bind(&def.key)
        .execute(&mut *tx)
        .await?;
    for start in def.timer_starts(now) {
        sqlx::query(
            "INSERT INTO jobs (id, instance_id, local_id, kind, topic, due, remaining) VALUES ($1, $2, $3, 'start', $4, $5, $6)",
        )
        .bind(format!("start:{}:{}:{}:{}", def.key, def.version, start.node, crate::timestamp(start.due)))
        .bind(&def.key)
        .bind(def.version)
        .bind(&start.node)
        .bind(crate::timestamp(start.due))
        .bind(start.remaining)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Compiles one BPMN file of a deployment (see [`compile_file`]).
fn compile(
    scripts: &dyn ScriptLanguage,
    file: &str,
    xml: &str,
    files: Arc<HashMap<String, String>>,
    version: i64,
) -> Result<(Vec<ProcessDefinition>, UsedResources)> {
    compile_file(scripts, file, xml, files, version).map_err(|e| match e {
        FileError::Unreadable { file, reason } => StoreError::BadFile { file, reason },
        FileError::Invalid { file, error } => StoreError::Deploy { file, error },
    })
}
