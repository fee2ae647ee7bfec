//! The `sql` connector: a named query run as a job inside the job's own unit.
//! Two nodes locking one customer at once: one wins. A query the database
//! refuses is an incident with its message, and a retry after the data is
//! fixed goes on. A deployment whose queries are missing, malformed or reach
//! past the reference data is refused, naming the element, file and line.

use chrono::{DateTime, Utc};
use millrace_engine::{Command, Value, Variables};
use millrace_store::{DeploymentFile, Store, StoreError};

mod common;

const BPMN: &str = r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D" targetNamespace="t">
<process id="lock" isExecutable="true">
  <startEvent id="S"/>
  <serviceTask id="Lock" name="Lock the customer">
    <extensionElements><camunda:connector>
      <camunda:inputOutput>
        <camunda:inputParameter name="query">lock</camunda:inputParameter>
        <camunda:inputParameter name="account"><camunda:script scriptFormat="rhai">account</camunda:script></camunda:inputParameter>
        <camunda:inputParameter name="request"><camunda:script scriptFormat="rhai">request</camunda:script></camunda:inputParameter>
        <camunda:outputParameter name="won"><camunda:script scriptFormat="rhai">count == 1</camunda:script></camunda:outputParameter>
      </camunda:inputOutput>
      <camunda:connectorId>sql</camunda:connectorId>
    </camunda:connector></extensionElements>
  </serviceTask>
  <userTask id="Done"/>
  <sequenceFlow id="f1" sourceRef="S" targetRef="Lock"/>
  <sequenceFlow id="f2" sourceRef="Lock" targetRef="Done"/>
</process></definitions>"#;

const QUERIES: &str = "-- name: lock\n-- write\n\
INSERT INTO customer_locks (account_number, request_id, locked_on, locked_by)\n\
VALUES (:account, :request, '2024-12-10T09:00:00Z', 'test') ON CONFLICT DO NOTHING\n";

const DATA: &str = r#"{
  "customers": [{"customer_id": "C1", "name": "John Michael Smith", "category": "Residential", "sub_category": "Standard",
                 "status": "Active", "registration_date": "2024-01-15", "service_address": "123 Oak Street",
                 "billing_address": "123 Oak Street", "phone": "(555) 123-4567"}],
  "accounts": [{"account_number": "ACC-1", "customer_id": "C1", "status": "Active", "opened_on": "2024-01-15"}]
}"#;

fn t0() -> DateTime<Utc> {
    "2024-12-10T09:00:00Z".parse().expect("time")
}

fn files(bpmn: &str, queries: &str) -> Vec<DeploymentFile> {
    vec![
        DeploymentFile {
            name: "lock.bpmn".into(),
            content: bpmn.into(),
        },
        DeploymentFile {
            name: "lock.sql".into(),
            content: queries.into(),
        },
    ]
}

async fn start(store: &Store, account: &str, request: &str) -> String {
    let mut vars = Variables::new();
    vars.insert("account".into(), Value::String(account.into()));
    vars.insert("request".into(), Value::String(request.into()));
    let mut unit = store.begin(t0(), Some("clerk")).await.expect("unit");
    let id = unit.start("lock", vars, None, None).await.expect("start");
    unit.commit().await.expect("commit");
    id
}

fn won(store_instance: &millrace_engine::Instance) -> Option<bool> {
    match store_instance.root_variables().get("won") {
        Some(Value::Bool(b)) => Some(*b),
        _ => None,
    }
}

#[tokio::test]
async fn two_nodes_locking_one_customer_at_once_give_one_winner() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = common::database(dir.path(), "lock").await;
    let open = || async {
        Store::open(&url, std::sync::Arc::new(millrace_script::RhaiLanguage))
            .await
            .expect("store")
    };
    let (a, b) = (open().await, open().await);
    a.load_reference_data("data.json", DATA)
        .await
        .expect("data");
    a.deploy("t", &files(BPMN, QUERIES), None, None, t0())
        .await
        .expect("deploys");
    b.sync_definitions().await.expect("sync");
    let first = start(&a, "ACC-1", "DIS-1").await;
    let second = start(&b, "ACC-1", "DIS-2").await;
    // Each node's worker makes calls; both run at once.
    let (x, y) = tokio::join!(
        a.run_due_jobs("node-a", t0(), 10),
        b.run_due_jobs("node-b", t0(), 10)
    );
    assert_eq!(
        x.expect("node a") + y.expect("node b"),
        2,
        "both calls made once"
    );
    let results = [
        won(&a.instance(&first).await.expect("first")),
        won(&a.instance(&second).await.expect("second")),
    ];
    assert!(
        results == [Some(true), Some(false)] || results == [Some(false), Some(true)],
        "{results:?}"
    );
    for id in [&first, &second] {
        let waiting: Vec<String> = a
            .tasks_of(id)
            .await
            .expect("tasks")
            .into_iter()
            .map(|t| t.node_id)
            .collect();
        assert_eq!(waiting, ["Done"], "the response came back to {id}");
    }
}

#[tokio::test]
async fn a_refused_query_is_an_incident_and_a_retry_after_fixing_the_data_goes_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = common::store(dir.path(), "retry").await;
    store
        .load_reference_data("data.json", DATA)
        .await
        .expect("data");
    store
        .deploy("t", &files(BPMN, QUERIES), None, None, t0())
        .await
        .expect("deploys");
    // No such account: the lock's foreign key refuses the row.
    let id = start(&store, "ACC-2", "DIS-3").await;
    store.run_due_jobs("worker", t0(), 10).await.expect("jobs");
    let incidents = store.incidents(Some(&id), 10).await.expect("incidents");
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    assert_eq!(incidents[0].node_id, "Lock");
    assert!(
        incidents[0].message.starts_with("query \"lock\":"),
        "{}",
        incidents[0].message
    );
    assert!(store.tasks_of(&id).await.expect("tasks").is_empty());

    store
        .load_reference_data(
            "more.json",
            r#"{"accounts": [{"account_number": "ACC-2", "customer_id": "C1", "status": "Active", "opened_on": "2024-12-01"}]}"#,
        )
        .await
        .expect("more data");
    let (_, local) = millrace_store::split_id(&incidents[0].id).expect("an incident id");
    let mut unit = store.begin(t0(), Some("admin")).await.expect("unit");
    unit.command(&id, Command::RetryIncident { incident: local })
        .await
        .expect("retry");
    unit.commit().await.expect("commit");
    store.run_due_jobs("worker", t0(), 10).await.expect("jobs");
    assert!(store
        .incidents(Some(&id), 10)
        .await
        .expect("incidents")
        .is_empty());
    assert_eq!(
        won(&store.instance(&id).await.expect("instance")),
        Some(true)
    );
}

#[tokio::test]
async fn deployments_with_missing_malformed_or_overreaching_queries_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = common::store(dir.path(), "deploy").await;
    let refusal = |e: StoreError| match e {
        StoreError::BadFile { file, reason } => (file, reason),
        other => panic!("not a file's refusal: {other}"),
    };

    let missing = store
        .deploy(
            "t",
            &files(BPMN, "-- name: other\nSELECT name FROM customers\n"),
            None,
            None,
            t0(),
        )
        .await
        .expect_err("refused");
    let (file, reason) = refusal(missing);
    assert_eq!(file, "lock.bpmn");
    assert!(
        reason.contains("Lock") && reason.contains("\"lock\""),
        "{reason}"
    );

    let malformed = store
        .deploy(
            "t",
            &files(
                BPMN,
                "-- name: lock\n-- write\nINSERT INTO customer_locks VALUES (\n",
            ),
            None,
            None,
            t0(),
        )
        .await
        .expect_err("refused");
    let (file, reason) = refusal(malformed);
    assert_eq!(file, "lock.sql");
    assert!(reason.starts_with("lock.sql:1: query \"lock\""), "{reason}");

    let overreaching = store
        .deploy(
            "t",
            &files(
                BPMN,
                "-- name: lock\n-- write\nDELETE FROM users WHERE name = :account\n",
            ),
            None,
            None,
            t0(),
        )
        .await
        .expect_err("refused");
    let (_, reason) = refusal(overreaching);
    assert!(
        reason.contains("users is not a reference-data table"),
        "{reason}"
    );
    assert!(
        store.latest_definition("lock").is_none(),
        "nothing deployed"
    );
}

/// A process that calls `url` through the http connector and keeps what came back.
fn http_process(url: &str) -> Vec<DeploymentFile> {
    vec![DeploymentFile {
        name: "balance.bpmn".into(),
        content: format!(
            r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D" targetNamespace="t">
<process id="balance" isExecutable="true">
  <startEvent id="S"/>
  <serviceTask id="Ask" name="Ask billing for the balance">
    <extensionElements><camunda:connector>
      <camunda:inputOutput>
        <camunda:inputParameter name="url"><camunda:script scriptFormat="rhai">"{url}/" + account</camunda:script></camunda:inputParameter>
        <camunda:inputParameter name="method">POST</camunda:inputParameter>
        <camunda:inputParameter name="payload"><camunda:script scriptFormat="rhai">#{{ account: account }}</camunda:script></camunda:inputParameter>
        <camunda:outputParameter name="status"><camunda:script scriptFormat="rhai">statusCode</camunda:script></camunda:outputParameter>
        <camunda:outputParameter name="balance"><camunda:script scriptFormat="rhai">json.balance</camunda:script></camunda:outputParameter>
      </camunda:inputOutput>
      <camunda:connectorId>http</camunda:connectorId>
    </camunda:connector></extensionElements>
  </serviceTask>
  <userTask id="Done"/>
  <sequenceFlow id="f1" sourceRef="S" targetRef="Ask"/>
  <sequenceFlow id="f2" sourceRef="Ask" targetRef="Done"/>
</process></definitions>"#
        ),
    }]
}

/// A one-thread HTTP server on loopback: `/ACC-1` answers a JSON balance,
/// anything else 503. Every request it reads is kept, headers and body.
fn billing_host() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    billing_host_with(None)
}

/// [`billing_host`], speaking TLS with `tls` when given.
fn billing_host_with(
    tls: Option<std::sync::Arc<rustls::ServerConfig>>,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let stream: Box<dyn ReadWrite> = match &tls {
                None => Box::new(stream),
                Some(config) => Box::new(rustls::StreamOwned::new(
                    rustls::ServerConnection::new(config.clone()).expect("TLS session"),
                    stream,
                )),
            };
            let mut reader = BufReader::new(stream);
            let mut head = String::new();
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                head.push_str(&line);
            }
            if head.is_empty() {
                // The client gave up before a request (a refused handshake).
                continue;
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let answer = if head.starts_with("POST /ACC-1 ") {
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 21\r\nconnection: close\r\n\r\n{\"balance\":\"456.78\"}\n"
            } else {
                "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 11\r\nconnection: close\r\n\r\nmaintenance"
            };
            kept.lock()
                .expect("lock")
                .push(format!("{head}\r\n{}", String::from_utf8_lossy(&body)));
            let stream = reader.get_mut();
            let _ = stream.write_all(answer.as_bytes());
            let _ = stream.flush();
        }
    });
    (base, seen)
}

/// A connection the test hosts read and write, plain or TLS.
trait ReadWrite: std::io::Read + std::io::Write + Send {}
impl<T: std::io::Read + std::io::Write + Send> ReadWrite for T {}

async fn start_balance(store: &Store, account: &str) -> String {
    let mut vars = Variables::new();
    vars.insert("account".into(), Value::String(account.into()));
    let mut unit = store.begin(t0(), Some("clerk")).await.expect("unit");
    let id = unit
        .start("balance", vars, None, None)
        .await
        .expect("start");
    unit.commit().await.expect("commit");
    id
}

#[tokio::test]
async fn an_http_call_reaches_only_allowed_hosts_and_a_failing_host_is_an_incident() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = common::store(dir.path(), "http").await;
    let (base, seen) = billing_host();
    store
        .deploy("t", &http_process(&base), None, None, t0())
        .await
        .expect("deploys");

    // Not allowed yet: refused before any request leaves, as an incident.
    let refused = start_balance(&store, "ACC-1").await;
    store.run_due_jobs("worker", t0(), 10).await.expect("jobs");
    let incidents = store
        .incidents(Some(&refused), 10)
        .await
        .expect("incidents");
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    assert!(
        incidents[0].message.contains("--http-allow"),
        "{}",
        incidents[0].message
    );
    assert!(seen.lock().expect("lock").is_empty(), "nothing was sent");

    let authority = base.trim_start_matches("http://").to_string();
    store.allow_http_hosts(vec![authority]);
    let answered = start_balance(&store, "ACC-1").await;
    store.run_due_jobs("worker", t0(), 10).await.expect("jobs");
    let vars = store
        .instance(&answered)
        .await
        .expect("instance")
        .root_variables();
    assert_eq!(vars.get("status"), Some(&Value::Int(200)));
    assert_eq!(vars.get("balance"), Some(&Value::String("456.78".into())));
    let waiting: Vec<String> = store
        .tasks_of(&answered)
        .await
        .expect("tasks")
        .into_iter()
        .map(|t| t.node_id)
        .collect();
    assert_eq!(waiting, ["Done"]);
    {
        let requests = seen.lock().expect("lock");
        assert_eq!(requests.len(), 1, "{requests:?}");
        let sent = requests[0].to_ascii_lowercase();
        assert!(sent.contains("idempotency-key: "), "{sent}");
        assert!(sent.contains("content-type: application/json"), "{sent}");
        assert!(sent.ends_with(r#"{"account":"acc-1"}"#), "{sent}");
    }

    // The host fails: an incident with its status and words; the instance waits.
    let failed = start_balance(&store, "ACC-9").await;
    store.run_due_jobs("worker", t0(), 10).await.expect("jobs");
    let incidents = store.incidents(Some(&failed), 10).await.expect("incidents");
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    assert_eq!(incidents[0].node_id, "Ask");
    assert!(
        incidents[0].message.contains("answered 503: maintenance"),
        "{}",
        incidents[0].message
    );
    assert!(store.tasks_of(&failed).await.expect("tasks").is_empty());
}

/// A certificate authority and a certificate it issued for `localhost`, as a
/// utility's own CA signs its internal services: the authority's PEM, and
/// the server's TLS configuration.
fn private_authority() -> (String, std::sync::Arc<rustls::ServerConfig>) {
    let ca_key = rcgen::KeyPair::generate().expect("authority key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::new()).expect("authority params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Utility internal CA");
    let ca_cert = ca_params.self_signed(&ca_key).expect("authority");
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let host_key = rcgen::KeyPair::generate().expect("host key");
    let host_cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .expect("host params")
        .signed_by(&host_key, &issuer)
        .expect("host certificate");
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocols")
    .with_no_client_auth()
    .with_single_cert(
        vec![host_cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(host_key.serialize_der().into()),
    )
    .expect("server config");
    (ca_cert.pem(), std::sync::Arc::new(config))
}

#[tokio::test]
async fn an_https_host_is_called_when_its_certificate_is_from_a_trusted_authority() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = common::store(dir.path(), "https").await;
    let (ca_pem, tls) = private_authority();
    let (base, seen) = billing_host_with(Some(tls));
    let base = base.replace("http://127.0.0.1", "https://localhost");
    store
        .deploy("t", &http_process(&base), None, None, t0())
        .await
        .expect("deploys");
    store.allow_http_hosts(vec![base.trim_start_matches("https://").to_string()]);

    // The public roots do not know the utility's CA: the call is refused
    // during the handshake, nothing is sent, and the incident says why.
    let untrusted = start_balance(&store, "ACC-1").await;
    store.run_due_jobs("worker", t0(), 10).await.expect("jobs");
    let incidents = store
        .incidents(Some(&untrusted), 10)
        .await
        .expect("incidents");
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    let message = &incidents[0].message;
    assert!(message.contains("TLS connection failed"), "{message}");
    assert!(message.contains("--http-ca"), "{message}");
    assert!(seen.lock().expect("lock").is_empty(), "nothing was sent");

    // A file with no certificate is refused, naming the file, and changes nothing.
    let refused = store
        .trust_http_authorities("ca.pem", b"not a certificate")
        .expect_err("no certificate");
    assert!(refused.to_string().starts_with("ca.pem: "), "{refused}");

    assert_eq!(
        store
            .trust_http_authorities("ca.pem", ca_pem.as_bytes())
            .expect("the authority reads"),
        1
    );
    let answered = start_balance(&store, "ACC-1").await;
    store.run_due_jobs("worker", t0(), 10).await.expect("jobs");
    let vars = store
        .instance(&answered)
        .await
        .expect("instance")
        .root_variables();
    assert_eq!(vars.get("status"), Some(&Value::Int(200)), "{vars:?}");
    assert_eq!(vars.get("balance"), Some(&Value::String("456.78".into())));
    let requests = seen.lock().expect("lock");
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert!(
        requests[0]
            .to_ascii_lowercase()
            .contains("idempotency-key: "),
        "{}",
        requests[0]
    );
}
