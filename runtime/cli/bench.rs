//! `millrace bench FILE N`: run N instances to their end, check them, print
//! one JSON line (DESIGN.md, "Command line").

use std::collections::VecDeque;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context};
use millrace_engine::instance::{TokenState, Wait};
use millrace_engine::value::variables_from_json;
use millrace_engine::{
    executor, Command, Effect, InstanceState, JobKind, ProcessDefinition, Value, Variables,
};
use millrace_model::Model;
use millrace_script::Rhai;
use millrace_store::{global_id, DeploymentFile, Store};

use crate::args::BenchArgs;
use crate::files;

fn json_vars(text: &Option<String>, what: &str) -> anyhow::Result<Variables> {
    match text {
        None => Ok(Variables::new()),
        Some(t) => {
            let json: serde_json::Value =
                serde_json::from_str(t).with_context(|| format!("{what} is not JSON"))?;
            variables_from_json(&json).with_context(|| what.to_string())
        }
    }
}

/// The peak resident set of this process, in MB (Linux).
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| (kb / 1024.0 * 10.0).round() / 10.0)
}

struct Plan {
    base: Variables,
    index_var: Option<String>,
    expect: Variables,
}

impl Plan {
    fn variables(&self, i: u64) -> Variables {
        let mut v = self.base.clone();
        if let Some(name) = &self.index_var {
            v.insert(name.clone(), Value::Int(i as i64));
        }
        v
    }

    fn check(&self, i: u64, state: InstanceState, vars: &Variables) -> anyhow::Result<()> {
        if state != InstanceState::Completed {
            bail!(
                "instance {i} did not reach an end event: it is {}",
                state.as_str()
            );
        }
        for (name, want) in &self.expect {
            let got = vars.get(name).unwrap_or(&Value::Null);
            if !want.same_value(got) {
                bail!(
                    "instance {i}: {name} is {}, expected {}",
                    got.to_json(),
                    want.to_json()
                );
            }
        }
        Ok(())
    }
}

/// Runs the benchmark.
pub fn run(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let text = String::from_utf8(bytes.clone()).context("the file is not UTF-8")?;
    let plan = Plan {
        base: json_vars(&args.vars, "--vars")?,
        index_var: args.index_var.clone(),
        expect: json_vars(&args.expect, "--expect")?,
    };
    let model_name = args
        .file
        .file_name()
        .map(|f| {
            f.to_string_lossy()
                .split('.')
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .unwrap_or_default();
    let seconds = if args.in_memory {
        let scripts = args.scripts.clone();
        let rhai = Rhai::new().with_resources(move |name| files::read_resource(&scripts, name));
        let model =
            Model::import(&bytes).map_err(|e| anyhow::anyhow!("{}:{e}", args.file.display()))?;
        let defs = ProcessDefinition::compile_all(&model, &rhai, 1)
            .map_err(|e| anyhow::anyhow!("{}: {e}", args.file.display()))?;
        let def = defs.first().context("the file has no executable process")?;
        in_memory(def, &plan, args.n)?
    } else if let Some(to) = &args.migrate_to {
        let to_text =
            std::fs::read_to_string(to).with_context(|| format!("reading {}", to.display()))?;
        let runtime = tokio::runtime::Runtime::new()?;
        runtime.block_on(durable_migration(args, &text, &to_text, &plan))?
    } else {
        let runtime = tokio::runtime::Runtime::new()?;
        runtime.block_on(durable(args, &text, &plan))?
    };
    let n = args.n as f64;
    println!(
        "{}",
        serde_json::json!({
            "engine": "millrace",
            "model": model_name,
            "n": args.n,
            "seconds": (seconds * 1e6).round() / 1e6,
            "instances_per_s": if seconds > 0.0 { (n / seconds * 10.0).round() / 10.0 } else { 0.0 },
            "peak_rss_mb": peak_rss_mb(),
            "store": if args.in_memory { "memory" } else if args.postgres.is_some() { "postgres" } else { "sqlite" },
            "operation": if args.migrate_to.is_some() { "migrate" } else { "run" },
        })
    );
    Ok(ExitCode::SUCCESS)
}

fn in_memory(def: &ProcessDefinition, plan: &Plan, n: u64) -> anyhow::Result<f64> {
    let now = chrono::DateTime::UNIX_EPOCH;
    let started = Instant::now();
    let mut work: VecDeque<Command> = VecDeque::new();
    for i in 0..n {
        let (mut inst, effects) = executor::start(
            def,
            i.to_string(),
            None,
            None,
            Command::Start {
                variables: plan.variables(i),
                start_node: None,
            },
            now,
        )?;
        queue_work(&effects, &mut work);
        while let Some(command) = work.pop_front() {
            let effects = executor::step(def, &mut inst, command, now)?;
            queue_work(&effects, &mut work);
        }
        plan.check(i, inst.state, &inst.root_variables())?;
    }
    Ok(started.elapsed().as_secs_f64())
}

/// What the bench does next: complete user tasks with no variables, run async jobs.
fn queue_work(effects: &[Effect], work: &mut VecDeque<Command>) {
    for e in effects {
        match e {
            Effect::TaskCreated(t) => work.push_back(Command::CompleteTask {
                task: t.id,
                variables: Variables::new(),
            }),
            Effect::JobScheduled {
                job,
                kind: JobKind::Async,
                ..
            } => work.push_back(Command::RunJob { job: *job }),
            _ => {}
        }
    }
}

/// A fresh durable store (SQLite in `tmp`, or a scratch PostgreSQL schema).
async fn bench_store(
    args: &BenchArgs,
    tmp: &std::path::Path,
) -> anyhow::Result<(Store, Option<millrace_store::ScratchSchema>)> {
    let scratch = match &args.postgres {
        Some(base) => Some(millrace_store::ScratchSchema::create(base).await?),
        None => None,
    };
    let url = match &scratch {
        Some(s) => s.url.clone(),
        None => tmp.join("bench.db").to_string_lossy().into_owned(),
    };
    let store = Store::open(&url, std::sync::Arc::new(millrace_script::RhaiLanguage)).await?;
    Ok((store, scratch))
}

/// The BPMN file named `name` with the scripts folder, as one deployment.
fn bench_files(args: &BenchArgs, name: &str, text: &str) -> anyhow::Result<Vec<DeploymentFile>> {
    let mut files = vec![DeploymentFile {
        name: name.to_string(),
        content: text.to_string(),
    }];
    files.extend(DeploymentFile::read_folder(
        &args.scripts,
        &[".rhai"],
        "scripts",
    )?);
    Ok(files)
}

/// Starts `args.n` instances (left where they first wait), deploys `to_text`
/// as the next version, and times the batch that migrates them.
async fn durable_migration(
    args: &BenchArgs,
    text: &str,
    to_text: &str,
    plan: &Plan,
) -> anyhow::Result<f64> {
    let tmp = tempfile::tempdir().context("creating a temporary folder")?;
    let (store, scratch) = bench_store(args, tmp.path()).await?;
    let name = args
        .file
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let now = chrono::DateTime::UNIX_EPOCH;
    let deploy = |text: &str| {
        let files = bench_files(args, &name, text);
        let store = &store;
        async move {
            anyhow::Ok(
                store
                    .deploy("bench", &files?, Some("bench"), None, now)
                    .await?,
            )
        }
    };
    let v1 = deploy(text).await?;
    let v1 = v1.first().context("the file has no executable process")?;
    let (key, from_version) = (v1.key.clone(), v1.version);
    let mut i = 0;
    while i < args.n {
        let end = (i + args.batch.max(1)).min(args.n);
        let mut unit = store.begin(now, Some("bench")).await?;
        for j in i..end {
            unit.start(&key, plan.variables(j), None, None).await?;
        }
        unit.commit().await?;
        i = end;
    }
    let v2 = deploy(to_text).await?;
    let to_version = v2
        .iter()
        .find(|d| d.key == key)
        .map(|d| d.version)
        .context("the second file has no version of the same process")?;
    anyhow::ensure!(
        to_version != from_version,
        "the second file is the same version as the first"
    );
    let targets = store
        .active_instance_ids(&key, from_version, args.n as i64)
        .await?;
    let started = Instant::now();
    let work = millrace_store::BatchWork::Migrate {
        key: key.clone(),
        from_version,
        to_version,
        mapping: Default::default(),
    };
    store
        .create_batch("bench", &work, "bench", &targets, now)
        .await?;
    while store
        .run_batch_step(now, millrace_store::BATCH_CHUNK)
        .await?
        > 0
    {}
    let seconds = started.elapsed().as_secs_f64();
    let batch = store.batch("bench").await?.context("the batch is gone")?;
    anyhow::ensure!(
        batch.done == targets.len() as i64,
        "{} of {} instances migrated; {} refused",
        batch.done,
        targets.len(),
        batch.failed
    );
    store.close().await;
    if let Some(s) = scratch {
        s.drop_schema().await?;
    }
    Ok(seconds)
}

async fn durable(args: &BenchArgs, text: &str, plan: &Plan) -> anyhow::Result<f64> {
    let tmp = tempfile::tempdir().context("creating a temporary folder")?;
    let (store, scratch) = bench_store(args, tmp.path()).await?;
    let name = args
        .file
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let files = bench_files(args, &name, text)?;
    let now = chrono::DateTime::UNIX_EPOCH;
    let deployed = store
        .deploy("bench", &files, Some("bench"), None, now)
        .await?;
    let key = deployed
        .first()
        .context("the file has no executable process")?
        .key
        .clone();
    let started = Instant::now();
    let mut i = 0;
    while i < args.n {
        let batch: Vec<u64> = (i..(i + args.batch.max(1)).min(args.n)).collect();
        i += batch.len() as u64;
        // Group commit: one transaction starts the whole batch ...
        let mut unit = store.begin(now, Some("bench")).await?;
        let mut ids = Vec::with_capacity(batch.len());
        for &j in &batch {
            ids.push((j, unit.start(&key, plan.variables(j), None, None).await?));
        }
        unit.commit().await?;
        // ... and one transaction per round moves every instance to its next wait state.
        loop {
            let mut unit = store.begin(now, Some("bench")).await?;
            let mut moved = false;
            for (_, id) in &ids {
                let inst = unit.instance(id).await?;
                for t in inst.tokens.values() {
                    match &t.state {
                        TokenState::Waiting(Wait::UserTask { task }) => {
                            unit.complete_task(&global_id(id, *task), Variables::new())
                                .await?;
                            moved = true;
                        }
                        TokenState::Waiting(Wait::Async { job, .. }) => {
                            unit.command(id, Command::RunJob { job: *job }).await?;
                            moved = true;
                        }
                        _ => {}
                    }
                }
            }
            if !moved {
                for (j, id) in &ids {
                    let inst = unit.instance(id).await?;
                    plan.check(*j, inst.state, &inst.root_variables())?;
                }
                drop(unit);
                break;
            }
            unit.commit().await?;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    store.close().await;
    if let Some(s) = scratch {
        s.drop_schema().await?;
    }
    Ok(seconds)
}
