//! The `document` connector: a Typst template deployed beside the BPMN,
//! filled from the variables in view, kept as a PDF with its instance, its
//! making in the history. A template that cannot be read is refused at
//! deployment naming its line; one that fails on the data is an incident
//! naming the template's line, and nothing is stored.

use chrono::{DateTime, Utc};
use millrace_engine::{Value, Variables};
use millrace_store::{DeploymentFile, Store, StoreError};

mod common;

const BPMN: &str = r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D" targetNamespace="t">
<process id="receipt" isExecutable="true">
  <startEvent id="S"/>
  <serviceTask id="Typeset" name="Typeset the receipt">
    <extensionElements><camunda:connector>
      <camunda:inputOutput>
        <camunda:inputParameter name="template">receipt.typ</camunda:inputParameter>
        <camunda:inputParameter name="name"><camunda:script scriptFormat="rhai">"Receipt " + requestId</camunda:script></camunda:inputParameter>
        <camunda:outputParameter name="receiptUrl"><camunda:script scriptFormat="rhai">documentUrl</camunda:script></camunda:outputParameter>
      </camunda:inputOutput>
      <camunda:connectorId>document</camunda:connectorId>
    </camunda:connector></extensionElements>
  </serviceTask>
  <userTask id="Done"/>
  <sequenceFlow id="f1" sourceRef="S" targetRef="Typeset"/>
  <sequenceFlow id="f2" sourceRef="Typeset" targetRef="Done"/>
</process></definitions>"#;

const TEMPLATE: &str = "#import \"parts/money.typ\": money\n\
#let data = json(\"/data.json\")\n\
= Receipt #data.requestId\n\
Customer #data.name\n\
Outstanding #money(data.outstanding)\n";

const MONEY: &str = "#let money(a) = [\\$#a]\n";

fn t0() -> DateTime<Utc> {
    "2024-12-10T09:00:00Z".parse().expect("time")
}

fn files(template: &str) -> Vec<DeploymentFile> {
    [
        ("billing/receipt.bpmn", BPMN),
        ("billing/receipt.typ", template),
        ("billing/parts/money.typ", MONEY),
    ]
    .iter()
    .map(|(name, content)| DeploymentFile {
        name: name.to_string(),
        content: content.to_string(),
    })
    .collect()
}

async fn start(store: &Store, vars: Variables) -> String {
    let mut unit = store.begin(t0(), Some("clerk")).await.expect("unit");
    let id = unit
        .start("receipt", vars, None, None)
        .await
        .expect("start");
    unit.commit().await.expect("commit");
    id
}

fn request(outstanding: Option<&str>) -> Variables {
    let mut vars = Variables::new();
    vars.insert("requestId".into(), Value::String("DIS-2024-000042".into()));
    // Variables named like the connector's own inputs are the template's data,
    // not the document's name or template.
    vars.insert("name".into(), Value::String("Jane Roe".into()));
    vars.insert("template".into(), Value::String("other.typ".into()));
    if let Some(amount) = outstanding {
        vars.insert(
            "outstanding".into(),
            Value::Decimal(amount.parse().expect("a decimal")),
        );
    }
    vars
}

#[tokio::test]
async fn a_document_is_typeset_from_the_variables_and_kept_with_its_instance() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = common::store(dir.path(), "documents").await;
    store
        .deploy("t", &files(TEMPLATE), None, None, t0())
        .await
        .expect("deploys");
    let id = start(&store, request(Some("456.78"))).await;
    assert_eq!(
        store.run_due_jobs("worker", t0(), 10).await.expect("jobs"),
        1
    );

    let documents = store.documents_of(&id).await.expect("documents");
    assert_eq!(documents.len(), 1, "{documents:?}");
    let d = &documents[0];
    assert_eq!(d.name, "Receipt DIS-2024-000042");
    assert_eq!(
        (d.template.as_str(), d.node_id.as_str()),
        ("receipt.typ", "Typeset")
    );
    assert_eq!(d.media_type, "application/pdf");
    assert_eq!(
        store.document_info(&d.id).await.expect("read").as_ref(),
        Some(d)
    );
    let content = store
        .document_content(&d.id)
        .await
        .expect("read")
        .expect("stored");
    assert!(content.starts_with(b"%PDF-"), "a PDF");
    assert_eq!(i64::try_from(content.len()).expect("size"), d.size);

    // The response mapped back; the process went on; the history says so.
    let inst = store.instance(&id).await.expect("instance");
    assert_eq!(
        inst.root_variables().get("receiptUrl"),
        Some(&Value::String(format!("/api/documents/{}", d.id)))
    );
    let waiting: Vec<String> = store
        .tasks_of(&id)
        .await
        .expect("tasks")
        .into_iter()
        .map(|t| t.node_id)
        .collect();
    assert_eq!(waiting, ["Done"]);
    let history = store.history(&id).await.expect("history");
    let made = history
        .iter()
        .find(|h| h.event == "documentGenerated")
        .expect("the making is in the history");
    assert_eq!(made.node_id.as_deref(), Some("Typeset"));
    assert!(made
        .detail
        .as_deref()
        .is_some_and(|d| d.contains(&documents[0].id)));
}

#[tokio::test]
async fn a_template_failing_on_the_data_is_an_incident_naming_its_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = common::store(dir.path(), "failing").await;
    store
        .deploy("t", &files(TEMPLATE), None, None, t0())
        .await
        .expect("deploys");
    // No outstanding amount: line 5 reads one.
    let id = start(&store, request(None)).await;
    store.run_due_jobs("worker", t0(), 10).await.expect("jobs");
    let incidents = store.incidents(Some(&id), 10).await.expect("incidents");
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    assert_eq!(incidents[0].node_id, "Typeset");
    assert!(
        incidents[0].message.starts_with("template receipt.typ:5:")
            && incidents[0].message.contains("outstanding"),
        "{}",
        incidents[0].message
    );
    assert!(store.documents_of(&id).await.expect("documents").is_empty());
}

#[tokio::test]
async fn a_missing_or_unreadable_template_is_refused_at_deployment() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = common::store(dir.path(), "refused").await;
    let refusal = |e: StoreError| match e {
        StoreError::BadFile { file, reason } => (file, reason),
        other => panic!("not a file's refusal: {other}"),
    };
    let (file, reason) = refusal(
        store
            .deploy(
                "t",
                &files("= Receipt\n\n#let x = (1, 2\n"),
                None,
                None,
                t0(),
            )
            .await
            .expect_err("refused"),
    );
    assert_eq!(file, "billing/receipt.bpmn");
    assert!(
        reason.starts_with("Typeset: the template receipt.typ:3:"),
        "{reason}"
    );

    let without: Vec<DeploymentFile> = files(TEMPLATE)
        .into_iter()
        .filter(|f| f.name != "billing/receipt.typ")
        .collect();
    let (_, reason) = refusal(
        store
            .deploy("t", &without, None, None, t0())
            .await
            .expect_err("refused"),
    );
    assert!(
        reason.contains("Typeset") && reason.contains("\"receipt.typ\""),
        "{reason}"
    );
    assert!(store.latest_definition("receipt").is_none());
}
