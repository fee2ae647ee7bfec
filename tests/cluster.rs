//! Several nodes on one PostgreSQL database, under load, with faults: a node
//! killed, a node paused past its leases, the database restarted, and the
//! same message and task completion delivered twice, and external tasks
//! fetched through two nodes at once.
//!
//! Each test starts three `millrace serve` nodes on loopback sharing a fresh
//! schema, drives them from several client threads, and records every start
//! and task completion a node acknowledged. Afterwards the checker asserts
//! that every acknowledged start and completion is in the database, that
//! every instance (acknowledged or not) ended exactly once, and that no step
//! was applied twice: each node of each instance completed exactly once.
//!
//! They need PostgreSQL (`MILLRACE_TEST_POSTGRES`) and, for the restart,
//! `MILLRACE_PG_CTL`; tests/run.sh starts a throw-away cluster and runs them
//! with `--ignored --test-threads 1`.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sqlx::Row;

mod common;

const PASSWORD: &str = "cluster-admin-password";
/// Short leases, so a lost node's work moves on within the test.
const LEASE_SECS: &str = "2";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn postgres() -> String {
    common::postgres().expect(
        "the fault tests need PostgreSQL: set MILLRACE_TEST_POSTGRES to a postgres:// URL \
         (tests/run.sh starts a throw-away cluster and sets it)",
    )
}

struct Node {
    child: Child,
    base: String,
}

impl Node {
    fn start(url: &str, name: &str) -> Node {
        let mut child = Command::new(env!("CARGO_BIN_EXE_millrace"))
            .args([
                "serve",
                "--bind",
                "127.0.0.1:0",
                "--processes",
                "tests/fixtures/cluster",
            ])
            .args(["--scripts", "tests/fixtures/cluster", "--node-id", name])
            .args(["--job-lease", LEASE_SECS, "--database", url])
            .env("MILLRACE_ADMIN_PASSWORD", PASSWORD)
            .env("RUST_LOG", "warn")
            .current_dir(repo())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the node starts");
        let base = common::listening_on(&mut child);
        Node { child, base }
    }

    fn signal(&self, signal: &str) {
        let ok = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(ok.success(), "kill {signal}");
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-CONT", &self.child.id().to_string()])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Cluster {
    url: String,
    nodes: Vec<Node>,
    token: String,
    _dir: tempfile::TempDir,
}

impl Cluster {
    fn start(n: usize) -> Cluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let _ = postgres();
        let url = common::database(dir.path(), "cluster");
        // All at once, as an operator's orchestrator would: they race to
        // migrate, create the administrator and deploy, and must agree.
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let url = url.clone();
                std::thread::spawn(move || Node::start(&url, &format!("node-{i}")))
            })
            .collect();
        let nodes: Vec<Node> = handles
            .into_iter()
            .map(|h| h.join().expect("node thread"))
            .collect();
        let out = Command::new(env!("CARGO_BIN_EXE_millrace"))
            .args(["token", "create", "--user", "admin", "--database", &url])
            .current_dir(repo())
            .output()
            .expect("token create runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let token = String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .expect("a token")
            .trim()
            .to_string();
        Cluster {
            url,
            nodes,
            token,
            _dir: dir,
        }
    }

    fn client(&self) -> Client {
        Client {
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(5)))
                .build()
                .into(),
            bases: self.nodes.iter().map(|n| n.base.clone()).collect(),
            token: self.token.clone(),
            next: AtomicUsize::new(0),
        }
    }

    /// The checker's own connection, on `rt` (a pool lives on the runtime that made it).
    fn pool(&self, rt: &tokio::runtime::Runtime) -> sqlx::AnyPool {
        sqlx::any::install_default_drivers();
        rt.block_on(sqlx::AnyPool::connect(&self.url))
            .expect("the checker connects")
    }
}

/// One client thread's view of the cluster: any node will do.
struct Client {
    agent: ureq::Agent,
    bases: Vec<String>,
    token: String,
    next: AtomicUsize,
}

/// A response, or why there was none (the outcome is then unknown).
type Answer = Result<(u16, Value), String>;

impl Client {
    fn on(&self, node: usize, method: &str, path: &str, body: Value) -> Answer {
        let url = format!("{}{path}", self.bases[node % self.bases.len()]);
        let req = ureq::http::Request::builder()
            .method(method)
            .uri(&url)
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", "application/json")
            .body(body.to_string())
            .map_err(|e| e.to_string())?;
        let mut resp = self.agent.run(req).map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    /// The next node in turn.
    fn any(&self, method: &str, path: &str, body: Value) -> Answer {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        self.on(n, method, path, body)
    }
}

/// What the nodes acknowledged: the checker's record.
#[derive(Default)]
struct Ledger {
    starts: BTreeSet<String>,
    completions: BTreeSet<String>,
}

/// Drives `threads` clients until `stop`: start an order, find its task, complete it.
/// A completion whose answer was lost is sent again, to any node, until a node
/// answers 200 (applied now) or 409 (already applied).
fn load(
    cluster: &Cluster,
    threads: usize,
    stop: Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<()>> {
    (0..threads)
        .map(|_| {
            let client = cluster.client();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let ledger = LEDGER.get().expect("ledger");
                while !stop.load(Ordering::Relaxed) {
                    let id =
                        match client.any("POST", "/api/process-definitions/order/start", json!({}))
                        {
                            Ok((201, b)) => b["id"].as_str().expect("id").to_string(),
                            _ => {
                                std::thread::sleep(Duration::from_millis(50));
                                continue;
                            }
                        };
                    ledger.lock().expect("ledger").starts.insert(id.clone());
                    let mut task = None;
                    for _ in 0..100 {
                        if let Ok((200, b)) =
                            client.any("GET", &format!("/api/tasks?instanceId={id}"), Value::Null)
                        {
                            task = b
                                .as_array()
                                .and_then(|t| t.first())
                                .and_then(|t| t["id"].as_str())
                                .map(str::to_string);
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    let Some(task) = task else { continue };
                    for _ in 0..150 {
                        match client.any(
                            "POST",
                            &format!("/api/tasks/{task}/complete"),
                            json!({ "variables": {} }),
                        ) {
                            Ok((200, _)) => {
                                ledger
                                    .lock()
                                    .expect("ledger")
                                    .completions
                                    .insert(task.clone());
                                break;
                            }
                            Ok((409, _)) => break,
                            _ => std::thread::sleep(Duration::from_millis(100)),
                        }
                    }
                }
            })
        })
        .collect()
}

static LEDGER: std::sync::OnceLock<Mutex<Ledger>> = std::sync::OnceLock::new();

/// Runs the load for `before`, applies `fault`, runs on for `after`, stops.
fn under_load(
    cluster: &Cluster,
    before: Duration,
    fault: impl FnOnce(),
    after: Duration,
) -> (BTreeSet<String>, BTreeSet<String>) {
    LEDGER.get_or_init(|| Mutex::new(Ledger::default()));
    *LEDGER.get().expect("ledger").lock().expect("ledger") = Ledger::default();
    let stop = Arc::new(AtomicBool::new(false));
    let threads = load(cluster, 6, stop.clone());
    std::thread::sleep(before);
    fault();
    std::thread::sleep(after);
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().expect("client thread");
    }
    let ledger = LEDGER.get().expect("ledger").lock().expect("ledger");
    (ledger.starts.clone(), ledger.completions.clone())
}

/// Completes tasks nobody completed (of starts whose answer was lost), waits
/// for every instance to end, then checks the record against the database.
fn check(
    cluster: &Cluster,
    live: &[usize],
    starts: &BTreeSet<String>,
    completions: &BTreeSet<String>,
) {
    let client = cluster.client();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let pool = cluster.pool(&rt);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let open: Vec<String> = rt
            .block_on(sqlx::query_scalar("SELECT id FROM tasks").fetch_all(&pool))
            .expect("tasks");
        for (i, task) in open.iter().enumerate() {
            let _ = client.on(
                live[i % live.len()],
                "POST",
                &format!("/api/tasks/{task}/complete"),
                json!({}),
            );
        }
        let (unfinished, jobs): (i64, i64) = rt.block_on(async {
            (
                sqlx::query_scalar("SELECT COUNT(*) FROM instances WHERE state <> 'completed'")
                    .fetch_one(&pool)
                    .await
                    .expect("instances"),
                sqlx::query_scalar("SELECT COUNT(*) FROM jobs")
                    .fetch_one(&pool)
                    .await
                    .expect("jobs"),
            )
        });
        if unfinished == 0 && jobs == 0 {
            break;
        }
        if Instant::now() > deadline {
            let errors: Vec<(String, Option<String>, i64)> = rt
                .block_on(
                    sqlx::query("SELECT id, last_error, retries FROM jobs LIMIT 5")
                        .fetch_all(&pool),
                )
                .expect("jobs")
                .into_iter()
                .map(|r| (r.get(0), r.get(1), r.get(2)))
                .collect();
            panic!(
                "{unfinished} instances and {jobs} jobs left unfinished after 120 s: {errors:?}"
            );
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    rt.block_on(async {
        let (states, _) = common::applied_once(&pool).await;
        for id in starts {
            assert_eq!(states.get(id).map(String::as_str), Some("completed"), "acknowledged start {id}");
        }
        let ended: BTreeSet<String> = sqlx::query("SELECT detail FROM history WHERE event = 'taskEnded'")
            .fetch_all(&pool)
            .await
            .expect("history")
            .into_iter()
            .filter_map(|r| {
                let d: Value = serde_json::from_str(&r.get::<String, _>(0)).ok()?;
                (d["completed"] == true).then(|| d["task"].as_str().map(str::to_string)).flatten()
            })
            .collect();
        for task in completions {
            assert!(ended.contains(task), "acknowledged completion of {task} is missing");
        }
        let ended: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM history WHERE event = 'instanceEnded'")
            .fetch_one(&pool)
            .await
            .expect("ends");
        assert_eq!(ended as usize, states.len(), "every instance ended exactly once");
        let incidents: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM incidents WHERE resolved_at IS NULL")
            .fetch_one(&pool)
            .await
            .expect("incidents");
        assert_eq!(incidents, 0, "no incident");
        eprintln!(
            "{} instances; {} starts and {} completions acknowledged, all present, each applied once",
            states.len(),
            starts.len(),
            completions.len()
        );
    });
}

#[test]
#[ignore = "needs PostgreSQL: run by tests/run.sh"]
fn a_node_killed_mid_load_loses_nothing_and_its_leases_move_on() {
    let cluster = Cluster::start(3);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let pool = cluster.pool(&rt);
    let mut orphaned = Vec::new();
    let (starts, completions) = under_load(
        &cluster,
        Duration::from_secs(3),
        || {
            // SIGKILL: no shutdown, no lease given back. Sent while the node
            // holds leases (stopped first, so it cannot finish them in the
            // moment between looking and killing): there is work to orphan.
            orphaned = freeze_holding_leases(&rt, &pool, &cluster.nodes[1], false);
            cluster.nodes[1].signal("-KILL");
        },
        Duration::from_secs(5),
    );
    assert!(
        starts.len() >= 20,
        "the load ran: {} starts acknowledged",
        starts.len()
    );
    check(&cluster, &[0, 2], &starts, &completions);
    // The dead node held jobs; the checker found no job left and every
    // instance ended, so the others ran them once its leases expired.
    eprintln!(
        "the killed node held {} jobs, run by the others",
        orphaned.len()
    );
}

/// Stops `node` (SIGSTOP) at a moment it holds a live lease, checked again
/// once it is stopped (a stopped node cannot give it back; else it is resumed
/// and the wait goes on); returns the ids of the jobs it held. With
/// `unstarted`, only leases on jobs it has not begun count: rows no
/// transaction of the node has locked yet (`SKIP LOCKED` passes over the ones
/// it is running), so once resumed the node still has to apply them, and
/// must be refused.
fn freeze_holding_leases(
    rt: &tokio::runtime::Runtime,
    pool: &sqlx::AnyPool,
    node: &Node,
    unstarted: bool,
) -> Vec<String> {
    let sql = format!(
        "SELECT id FROM jobs WHERE lease_owner = 'node-1-worker' AND lease_expires > millrace_now(){}",
        if unstarted { " FOR UPDATE SKIP LOCKED" } else { "" }
    );
    let held = || -> Vec<String> {
        rt.block_on(sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone())).fetch_all(pool))
            .expect("leases")
    };
    for _ in 0..1000 {
        if !held().is_empty() {
            node.signal("-STOP");
            let now = held();
            if !now.is_empty() {
                return now;
            }
            node.signal("-CONT");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("node-1 never held a lease of the kind asked for under load");
}

/// A node's counter of jobs refused at apply time because their lease was gone.
fn lease_lost(node: &Node, name: &str) -> u64 {
    let text = ureq::get(format!("{}/metrics", node.base))
        .call()
        .expect("metrics")
        .body_mut()
        .read_to_string()
        .expect("metrics text");
    let line = format!("millrace_jobs_total{{node=\"{name}\",outcome=\"lease_lost\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&line))
        .and_then(|n| n.trim().parse().ok())
        .expect("the lease_lost counter")
}

#[test]
#[ignore = "needs PostgreSQL: run by tests/run.sh"]
fn a_node_paused_past_its_leases_cannot_apply_its_late_results() {
    let cluster = Cluster::start(3);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let pool = cluster.pool(&rt);
    let paused = &cluster.nodes[1];
    let (starts, completions) = under_load(
        &cluster,
        Duration::from_secs(3),
        || {
            freeze_holding_leases(&rt, &pool, paused, true);
            // Three leases long: the other nodes take its jobs meanwhile.
            std::thread::sleep(Duration::from_secs(6));
            paused.signal("-CONT");
        },
        Duration::from_secs(3),
    );
    assert!(
        starts.len() >= 20,
        "the load ran: {} starts acknowledged",
        starts.len()
    );
    check(&cluster, &[0, 1, 2], &starts, &completions);
    // It woke up holding claims the others had taken over: fencing refused
    // them. It gets to them in its own time (its worker may still be busy
    // with what it was doing when stopped, while the others have long
    // finished every instance), so the counter is read until it moves.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut refused = lease_lost(paused, "node-1");
    while refused == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(250));
        refused = lease_lost(paused, "node-1");
    }
    assert!(
        refused >= 1,
        "the paused node's late results were refused ({refused})"
    );
    eprintln!("the paused node had {refused} late job results refused");
}

#[test]
#[ignore = "needs PostgreSQL: run by tests/run.sh"]
fn the_database_restarted_mid_load_loses_nothing() {
    let ctl = std::env::var("MILLRACE_PG_CTL")
        .expect("the restart test needs MILLRACE_PG_CTL, the pg_ctl command of the test cluster");
    let cluster = Cluster::start(3);
    let (starts, completions) = under_load(
        &cluster,
        Duration::from_secs(3),
        || {
            let mut words = ctl.split_whitespace();
            let program = words.next().expect("a command");
            let out = Command::new(program)
                .args(words)
                .args(["restart", "-m", "immediate", "-w", "-t", "60"])
                .output()
                .expect("pg_ctl runs");
            assert!(
                out.status.success(),
                "pg_ctl restart: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        },
        Duration::from_secs(6),
    );
    assert!(
        starts.len() >= 20,
        "the load ran: {} starts acknowledged",
        starts.len()
    );
    check(&cluster, &[0, 1, 2], &starts, &completions);
}

#[test]
#[ignore = "needs PostgreSQL: run by tests/run.sh"]
fn the_same_message_and_completion_delivered_twice_apply_once() {
    let cluster = Cluster::start(3);
    let client = cluster.client();
    let mut ids = Vec::new();
    for i in 0..20 {
        let (s, b) = client
            .any(
                "POST",
                "/api/process-definitions/payment/start",
                json!({ "businessKey": format!("order-{i}") }),
            )
            .expect("start");
        assert_eq!(s, 201, "{b}");
        ids.push(b["id"].as_str().expect("id").to_string());
    }
    let twice = |a: usize, b: usize, path: String, body: Value| -> (Answer, Answer) {
        let (c1, c2) = (cluster.client(), cluster.client());
        let (p1, b1) = (path.clone(), body.clone());
        let first = std::thread::spawn(move || c1.on(a, "POST", &p1, b1));
        let second = std::thread::spawn(move || c2.on(b, "POST", &path, body));
        (first.join().expect("first"), second.join().expect("second"))
    };
    let mut confirmed = BTreeSet::new();
    for (i, id) in ids.iter().enumerate() {
        let message = json!({ "name": "Paid", "businessKey": format!("order-{i}"), "messageId": format!("payment-{i}") });
        let (a, b) = twice(0, 1, "/api/messages".into(), message.clone());
        let (a, b) = (a.expect("answer"), b.expect("answer"));
        let fresh = [&a, &b]
            .iter()
            .filter(|(s, v)| *s == 200 && v["duplicate"] == false)
            .count();
        let repeats = [&a, &b]
            .iter()
            .filter(|(s, v)| (*s == 200 && v["duplicate"] == true) || *s == 409)
            .count();
        assert_eq!(
            (fresh, repeats),
            (1, 1),
            "one delivery applies, the other is a no-op or 409: {a:?} {b:?}"
        );
        for (s, v) in [&a, &b] {
            if *s == 200 {
                assert_eq!(v["instanceId"], json!(id), "delivered to its instance");
            }
        }
        // Sent again later, to a third node: answered from the receipt.
        let (s, v) = client
            .on(2, "POST", "/api/messages", message)
            .expect("answer");
        assert_eq!((s, &v["duplicate"]), (200, &json!(true)), "{v}");

        let (s, tasks) = client
            .any("GET", &format!("/api/tasks?instanceId={id}"), Value::Null)
            .expect("tasks");
        assert_eq!(s, 200);
        let task = tasks[0]["id"]
            .as_str()
            .expect("the Confirm task")
            .to_string();
        let (a, b) = twice(1, 2, format!("/api/tasks/{task}/complete"), json!({}));
        let mut statuses = vec![a.expect("answer").0, b.expect("answer").0];
        statuses.sort_unstable();
        assert_eq!(
            statuses,
            vec![200, 409],
            "one completion applies, the other is refused"
        );
        confirmed.insert(task);
    }
    check(&cluster, &[0, 1, 2], &ids.into_iter().collect(), &confirmed);
}

#[test]
#[ignore = "needs PostgreSQL: run by tests/run.sh"]
fn external_tasks_fetched_through_two_nodes_at_once_go_to_one_worker_each() {
    let cluster = Cluster::start(3);
    let client = cluster.client();
    let mut ids = BTreeSet::new();
    for _ in 0..60 {
        let (s, b) = client
            .any("POST", "/api/process-definitions/billing/start", json!({}))
            .expect("start");
        assert_eq!(s, 201, "{b}");
        ids.insert(b["id"].as_str().expect("id").to_string());
    }
    // Two external workers, each through its own node, fetch small batches at
    // once until nothing is left, completing what they locked.
    let work = |node: usize, worker: &'static str| {
        let client = cluster.client();
        std::thread::spawn(move || {
            let mut mine = Vec::new();
            loop {
                let (s, locked) = client
                    .on(
                        node,
                        "POST",
                        "/api/external-tasks/fetch-and-lock",
                        json!({ "workerId": worker, "topic": "invoice", "lockDuration": 60000, "maxTasks": 3 }),
                    )
                    .expect("fetch");
                assert_eq!(s, 200, "{locked}");
                let locked = locked.as_array().cloned().unwrap_or_default();
                if locked.is_empty() {
                    return mine;
                }
                for task in locked {
                    let id = task["id"].as_str().expect("id").to_string();
                    let (s, b) = client
                        .on(
                            node,
                            "POST",
                            &format!("/api/external-tasks/{id}/complete"),
                            json!({ "workerId": worker }),
                        )
                        .expect("complete");
                    assert_eq!(s, 204, "{worker} holds the lock on {id}: {b}");
                    mine.push(id);
                }
            }
        })
    };
    let (a, b) = (work(0, "worker-a"), work(1, "worker-b"));
    let (a, b) = (a.join().expect("worker a"), b.join().expect("worker b"));
    let (sa, sb): (BTreeSet<_>, BTreeSet<_>) = (a.iter().collect(), b.iter().collect());
    assert!(sa.is_disjoint(&sb), "a task was locked by both workers");
    assert_eq!(a.len() + b.len(), ids.len(), "every task was fetched once");
    eprintln!("worker a took {}, worker b took {}", a.len(), b.len());
    check(&cluster, &[0, 1, 2], &ids, &BTreeSet::new());
}

#[test]
#[ignore = "needs PostgreSQL: run by tests/run.sh"]
fn an_inbox_on_one_node_hears_of_a_task_made_on_another() {
    use std::io::{BufRead, BufReader, Write};
    let cluster = Cluster::start(2);
    // The event stream on node 1, read on its own thread.
    let addr = cluster.nodes[1]
        .base
        .trim_start_matches("http://")
        .to_string();
    let mut stream = std::net::TcpStream::connect(&addr).expect("node 1 answers");
    write!(
        stream,
        "GET /api/tasks/events HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nAccept: text/event-stream\r\n\r\n",
        cluster.token
    )
    .expect("request sent");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    // The head of the response first: a stream, answered 200.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while let Ok(line) =
        rx.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
    {
        let end = line.is_empty();
        seen.push(line);
        if end {
            break;
        }
    }
    assert!(
        seen.first().is_some_and(|l| l.contains("200")),
        "the stream opens: {seen:?}"
    );
    // Anything already queued (the listener's hello) is not what we wait for.
    std::thread::sleep(Duration::from_millis(500));
    while rx.try_recv().is_ok() {}

    // A task made through node 0.
    let client = cluster.client();
    let (s, b) = client
        .on(0, "POST", "/api/process-definitions/order/start", json!({}))
        .expect("node 0 answers");
    assert_eq!(s, 201, "{b}");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut heard = false;
    while let Ok(line) =
        rx.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
    {
        if line == "event: tasks" {
            heard = true;
            break;
        }
    }
    assert!(heard, "node 1's stream told of the task node 0 made");
}
