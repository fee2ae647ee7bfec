//! Reports: the named queries a process's `.sql` files mark
//! `-- report: Title` (reads only), which staff run on the reports page with
//! the parameters they choose, and download as CSV. An analyst adds a KPI by
//! adding a query, with no code; the latest version of each process says
//! which reports it has.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use millrace_engine::{Value, Variables};

use crate::connector::{query_answer, resolve_default, Answer, ConnectorError, NamedQuery};
use crate::{Result, Store};

/// One report a process offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportInfo {
    /// The process key.
    pub key: String,
    /// The process's name.
    pub process_name: Option<String>,
    /// The version whose `.sql` files hold it (the latest).
    pub version: i64,
    /// The query's name.
    pub name: String,
    /// Its title (`-- report: …`).
    pub title: String,
    /// What its comment lines say.
    pub about: String,
    /// Its parameters, in the order they first appear, each with its default
    /// for today (`None`: the reader gives it).
    pub parameters: Vec<(String, Option<String>)>,
}

/// Why a report did not run.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A parameter with no value and no default.
    #[error("the report needs {0}: give it a value")]
    Missing(String),
    /// The query failed (a value the database refused, …).
    #[error(transparent)]
    Query(#[from] ConnectorError),
}

/// A report's answer: its columns, in the statement's order, and its rows.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportTable {
    /// The columns (none when there are no rows).
    pub columns: Vec<String>,
    /// The rows, each value in its column's place.
    pub rows: Vec<Vec<Value>>,
    /// Each parameter's value in this run (given, or its default).
    pub input: BTreeMap<String, String>,
}

fn info(
    key: &str,
    process_name: Option<String>,
    version: i64,
    q: &NamedQuery,
    today: NaiveDate,
) -> ReportInfo {
    let mut parameters: Vec<(String, Option<String>)> = Vec::new();
    for p in &q.parameters {
        if p == "callId" || p == "nonce" || parameters.iter().any(|(n, _)| n == p) {
            continue;
        }
        let default = q
            .defaults
            .iter()
            .find(|(n, _)| n == p)
            .map(|(_, d)| resolve_default(d, today));
        parameters.push((p.clone(), default));
    }
    ReportInfo {
        key: key.to_string(),
        process_name,
        version,
        name: q.name.clone(),
        title: q.report.clone().unwrap_or_else(|| q.name.clone()),
        about: q.about.clone(),
        parameters,
    }
}

impl Store {
    /// Every report of the latest version of each process whose key `may_read`
    /// allows, by process key and report name.
    pub async fn reports(
        &self,
        today: NaiveDate,
        may_read: impl Fn(&str) -> bool,
    ) -> Result<Vec<ReportInfo>> {
        let mut out = Vec::new();
        for d in self.definitions(None).await? {
            if !may_read(&d.key) {
                continue;
            }
            let book = self.query_book(&d.key, d.version).await?;
            for q in book.reports() {
                out.push(info(&d.key, d.name.clone(), d.version, q, today));
            }
        }
        out.sort_by(|a, b| (&a.key, &a.name).cmp(&(&b.key, &b.name)));
        Ok(out)
    }

    /// Runs report `name` of process `key` (its latest version) with
    /// `input`: a parameter left out or empty takes its default; one with
    /// neither is refused, naming it. `None`: no such report.
    pub async fn run_report(
        &self,
        key: &str,
        name: &str,
        input: &BTreeMap<String, String>,
        today: NaiveDate,
    ) -> Result<Option<std::result::Result<(ReportInfo, ReportTable), ReportError>>> {
        // The latest version, from the compiled-definition cache: no query.
        let Some(d) = self.latest_definition(key) else {
            return Ok(None);
        };
        let book = self.query_book(key, d.version).await?;
        let Some(query) = book.get(name).filter(|q| q.report.is_some()) else {
            return Ok(None);
        };
        let report = info(key, d.name.clone(), d.version, query, today);
        let mut variables = Variables::new();
        let mut used = BTreeMap::new();
        for (p, default) in &report.parameters {
            let given = input.get(p).map(|v| v.trim()).filter(|v| !v.is_empty());
            match given.map(str::to_string).or_else(|| default.clone()) {
                Some(v) => {
                    variables.insert(p.clone(), Value::String(v.clone()));
                    used.insert(p.clone(), v);
                }
                None => return Ok(Some(Err(ReportError::Missing(p.clone())))),
            }
        }
        let mut conn = self.pool.acquire().await?;
        Ok(Some(
            match query_answer(&mut conn, query, &variables, "").await {
                Ok(Answer::Rows(columns, rows)) => Ok((
                    report,
                    ReportTable {
                        columns,
                        rows,
                        input: used,
                    },
                )),
                Ok(Answer::Changed(_)) => Err(ReportError::Query(ConnectorError::Call(format!(
                    "the report {:?} answered no rows",
                    report.title
                )))),
                Err(e) => Err(e.into()),
            },
        ))
    }
}
