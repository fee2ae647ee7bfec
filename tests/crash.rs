//! Crash safety: a worker that starts instances with timers and asynchronous
//! continuations is killed with SIGKILL at random moments, 24 times, and
//! restarted. Afterwards every acknowledged instance has ended exactly once,
//! no step was applied twice, and (on SQLite) the integrity check is clean.
//! Runs on PostgreSQL too when `MILLRACE_TEST_POSTGRES` is set.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod common;

/// A tiny seeded generator for kill times: reproducible from the printed seed.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn millrace(db: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_millrace"));
    c.current_dir(repo()).env("DATABASE_URL", db);
    c
}

/// Runs a worker that starts instances; kills it `after` its first
/// acknowledgement; returns the acknowledged ids.
fn run_and_kill(db: &str, count: u64, after: Duration) -> Vec<String> {
    let mut child = millrace(db)
        .args(["worker", "--start", "crash", "--count", &count.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("worker starts");
    let acks = Arc::new(Mutex::new(Vec::new()));
    let (first_ack, up) = std::sync::mpsc::channel();
    let reader = {
        let acks = acks.clone();
        let stdout = child.stdout.take().expect("piped stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(id) = line.strip_prefix("ack ") {
                    acks.lock().expect("lock").push(id.to_string());
                    let _ = first_ack.send(());
                }
            }
        })
    };
    // The kill comes `after` the worker's first acknowledgement, not after
    // its spawn: a loaded machine's slow start-up would otherwise kill it
    // before it did anything, and the run would test nothing.
    let _ = up.recv_timeout(Duration::from_secs(60));
    std::thread::sleep(after);
    // Child::kill sends SIGKILL on Unix: no destructor, no flush, no commit.
    let _ = child.kill();
    let _ = child.wait();
    reader.join().expect("reader ends");
    let acks = acks.lock().expect("lock").clone();
    acks
}

#[test]
fn killed_workers_lose_nothing_acknowledged_and_apply_nothing_twice() {
    let seed: u64 = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(7, |d| d.as_nanos() as u64)
        });
    eprintln!("crash test seed: {seed} (CRASH_SEED={seed} reproduces the kill times)");
    let mut rng = XorShift(seed | 1);
    let tmp = tempfile::tempdir().expect("temp dir");
    let db = common::database(tmp.path(), "crash");
    let deployed = millrace(&db)
        .args(["deploy", "tests/fixtures/crash/crash.bpmn"])
        .output()
        .expect("deploy runs");
    assert!(
        deployed.status.success(),
        "{}",
        String::from_utf8_lossy(&deployed.stderr)
    );

    let mut acknowledged = BTreeSet::new();
    let kills = 24;
    for _ in 0..kills {
        let after = Duration::from_millis(80 + rng.next() % 420);
        acknowledged.extend(run_and_kill(&db, 30, after));
    }
    assert!(
        acknowledged.len() >= kills,
        "the workers acknowledged only {} starts",
        acknowledged.len()
    );

    // One last worker, not killed, finishes whatever the others left.
    let finished = millrace(&db)
        .args(["worker", "--until-idle"])
        .output()
        .expect("final worker runs");
    assert!(
        finished.status.success(),
        "{}",
        String::from_utf8_lossy(&finished.stderr)
    );

    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(async {
            sqlx::any::install_default_drivers();
            let url = if common::postgres().is_some() {
                db.clone()
            } else {
                format!("sqlite://{db}")
            };
            let pool = sqlx::AnyPool::connect(&url).await.expect("db opens");
            if common::postgres().is_none() {
                let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
                    .fetch_one(&pool)
                    .await
                    .expect("check runs");
                assert_eq!(integrity, "ok");
            }

            // Every instance in the database, acknowledged or not, ended at most once
            // and completed each node at most once: no step was applied twice.
            let (states, per_instance) = common::applied_once(&pool).await;
            for id in &acknowledged {
                assert_eq!(
                    states.get(id).map(String::as_str),
                    Some("completed"),
                    "acknowledged instance {id}"
                );
            }
            eprintln!(
                "{} starts acknowledged, {} instances in the database after {kills} kills",
                acknowledged.len(),
                states.len()
            );
            for (id, state) in &states {
                assert_eq!(state, "completed", "instance {id}");
                // instanceEnded + Start, Prepare, Wait, Split, Left, Right, Join, End.
                assert_eq!(per_instance.get(id), Some(&9), "instance {id} history");
            }
            let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs")
                .fetch_one(&pool)
                .await
                .expect("jobs");
            assert_eq!(left, 0, "no job is left behind");
        });
}
