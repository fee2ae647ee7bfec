//! The `document` connector: typesets a template deployed with the process
//! (`millrace_documents`) and keeps the PDF with the instance, in the
//! connector job's own unit, so the document exists exactly when the step
//! that made it is committed.

use chrono::{DateTime, Utc};
use millrace_documents::Template;
use millrace_engine::instance::{TokenState, Wait};
use millrace_engine::{Value, Variables};
use sqlx::Row;

use crate::connector::ConnectorError;
use crate::{timestamp, Result, Store};

/// The media type of every document Millrace typesets.
pub const PDF: &str = "application/pdf";

/// A document kept with an instance, without its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentInfo {
    /// Its id (the connector job's).
    pub id: String,
    /// The instance it belongs to.
    pub instance_id: String,
    /// The connector task that made it.
    pub node_id: String,
    /// Its name as staff see it.
    pub name: String,
    /// The template it was typeset from, as its connector names it (`receipt.typ`).
    pub template: String,
    /// `application/pdf`.
    pub media_type: String,
    /// Its size in bytes.
    pub size: i64,
    /// When it was made (RFC 3339).
    pub created_at: String,
}

/// The template `name` among a deployment's `.typ` files, read from the
/// folder of the BPMN file `bpmn` first, then as written.
pub fn find_template<'a>(
    bpmn: &str,
    name: &str,
    files: impl IntoIterator<Item = (&'a String, &'a String)> + Clone,
) -> Option<Template> {
    let folder = crate::connector::folder_of(bpmn);
    let beside = format!("{folder}{name}");
    Template::from_deployment(&beside, files.clone())
        .or_else(|| Template::from_deployment(name, files))
}

const COLUMNS: &str = "id, instance_id, node_id, name, template, media_type, size, created_at";

fn info(row: &sqlx::any::AnyRow) -> DocumentInfo {
    DocumentInfo {
        id: row.get(0),
        instance_id: row.get(1),
        node_id: row.get(2),
        name: row.get(3),
        template: row.get(4),
        media_type: row.get(5),
        size: row.get(6),
        created_at: row.get(7),
    }
}

impl Store {
    /// The documents kept with an instance, oldest first.
    pub async fn documents_of(&self, instance: &str) -> Result<Vec<DocumentInfo>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM documents WHERE instance_id = $1 ORDER BY created_at, id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(instance)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(info).collect())
    }

    /// One document, without its content (to check who may read it first).
    pub async fn document_info(&self, id: &str) -> Result<Option<DocumentInfo>> {
        let sql = format!("SELECT {COLUMNS} FROM documents WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(info))
    }

    /// One document's content (a PDF).
    pub async fn document_content(&self, id: &str) -> Result<Option<Vec<u8>>> {
        Ok(
            sqlx::query_scalar::<_, Vec<u8>>("SELECT content FROM documents WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Typesets a `document` connector job's template with the variables
    /// the call was given and keeps the PDF with the instance, in `unit`.
    /// The response: `documentId`, `documentName`, `documentUrl`.
    pub(crate) async fn call_document(
        &self,
        unit: &mut crate::Unit<'_>,
        job: &crate::ClaimedJob,
    ) -> Result<std::result::Result<Variables, ConnectorError>> {
        let mut input: Variables = match job.payload.as_deref().map(serde_json::from_str) {
            Some(Ok(v)) => v,
            Some(Err(e)) => {
                return Ok(Err(ConnectorError::Call(format!(
                    "the call's input cannot be read: {e}"
                ))))
            }
            None => Variables::new(),
        };
        // What the template is filled from: the variables in view, with the
        // connector's own other inputs on top.
        let mut data = match input.remove(millrace_engine::effect::DOCUMENT_VARIABLES) {
            Some(Value::Map(vars)) => vars,
            _ => Variables::new(),
        };
        let Some(Value::String(template_name)) = input.remove("template") else {
            return Ok(Err(ConnectorError::Call(
                "the document connector was given no template (input parameter template)".into(),
            )));
        };
        let instance = unit.instance(&job.instance_id).await?;
        let node_id = self
            .definition(&instance.key, instance.version)
            .and_then(|def| {
                let token = instance.tokens.values().find(|t| {
                    t.state == TokenState::Waiting(Wait::Connector { job: job.local_id })
                })?;
                def.nodes.get(token.node as usize).map(|n| n.id.clone())
            })
            .unwrap_or_default();
        let template_name = template_name.trim().to_string();
        let name = match input.remove("name") {
            Some(Value::String(n)) if !n.trim().is_empty() => n.trim().to_string(),
            _ => template_name.trim_end_matches(".typ").to_string(),
        };
        data.extend(input);
        let files: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT d.resource_name, r.name, r.content FROM definitions d JOIN resources r ON r.deployment_id = d.deployment_id \
             WHERE d.key = $1 AND d.version = $2 AND r.name LIKE '%.typ'",
        )
        .bind(&instance.key)
        .bind(instance.version)
        .fetch_all(unit.tx())
        .await?;
        let bpmn = files.first().map(|f| f.0.clone()).unwrap_or_default();
        let named: Vec<(&String, &String)> = files.iter().map(|f| (&f.1, &f.2)).collect();
        let Some(template) = find_template(&bpmn, &template_name, named.iter().copied()) else {
            return Ok(Err(ConnectorError::Call(format!(
                "no template {template_name:?} among the .typ files deployed with {} version {}",
                instance.key, instance.version
            ))));
        };
        let data = serde_json::Value::Object(
            data.iter()
                .map(|(k, v)| (k.clone(), v.to_shown_json()))
                .collect(),
        );
        let now: DateTime<Utc> = unit.now();
        let today = now.date_naive();
        // Typesetting is CPU work: off the async threads.
        let pdf = match tokio::task::spawn_blocking(move || template.render(&data, today)).await {
            Ok(Ok(pdf)) => pdf,
            Ok(Err(e)) => return Ok(Err(ConnectorError::Call(format!("template {e}")))),
            // A panic in the typesetter is this template's: an incident,
            // not a retry of the unit that would panic again.
            Err(e) => {
                return Ok(Err(ConnectorError::Call(format!(
                    "the typesetter failed on template {template_name:?}: {e}"
                ))))
            }
        };
        let size = i64::try_from(pdf.len()).unwrap_or(i64::MAX);
        sqlx::query(
            "INSERT INTO documents (id, instance_id, node_id, name, template, media_type, size, content, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&job.id)
        .bind(&job.instance_id)
        .bind(&node_id)
        .bind(&name)
        .bind(&template_name)
        .bind(PDF)
        .bind(size)
        .bind(pdf)
        .bind(timestamp(now))
        .execute(unit.tx())
        .await?;
        unit.record(
            &job.instance_id,
            "documentGenerated",
            Some(node_id),
            serde_json::json!({"document": job.id, "name": name, "template": template_name, "size": size})
                .to_string(),
        );
        let mut response = Variables::new();
        response.insert("documentId".into(), Value::String(job.id.clone()));
        response.insert("documentName".into(), Value::String(name));
        response.insert(
            "documentUrl".into(),
            Value::String(format!("/api/documents/{}", job.id)),
        );
        Ok(Ok(response))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_is_found_beside_its_bpmn_first() {
        let files: Vec<(String, String)> = [
            ("disconnection/receipt.typ", "beside"),
            ("receipt.typ", "top"),
            ("other/bill.typ", "elsewhere"),
        ]
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
        let it = || files.iter().map(|(n, t)| (n, t));
        let t =
            find_template("disconnection/disconnection.bpmn", "receipt.typ", it()).expect("found");
        assert_eq!(t.files["receipt.typ"], "beside");
        let t = find_template("x.bpmn", "receipt.typ", it()).expect("found");
        assert_eq!(t.files["receipt.typ"], "top");
        let t = find_template("disconnection/d.bpmn", "other/bill.typ", it()).expect("found");
        assert_eq!(t.main, "bill.typ");
        assert!(find_template("d/d.bpmn", "missing.typ", it()).is_none());
    }
}
