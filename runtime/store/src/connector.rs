//! Connectors: how a process reaches data (DESIGN.md, "Utility reference data
//! and connectors"). The engine schedules a connector's call as a job with its
//! evaluated input parameters; the worker runs it here.
//!
//! The `sql` connector runs a **named query** from the `.sql` files deployed
//! with the process ([`QueryBook`]): never SQL text a script put together.
//! Every query is parsed when it is deployed and refused unless it is one
//! statement over the reference-data tables ([`REFERENCE_TABLES`]) calling
//! only plain functions ([`ALLOWED_FUNCTIONS`]); it reads only, unless its
//! header declares it a write (`-- write`). It runs inside the job's own
//! unit, so its writes commit with the job's completion, once.
//!
//! A queries file:
//!
//! ```sql
//! -- name: customer_search
//! -- Customers whose name, account number or phone contains the text.
//! SELECT c.name, a.account_number FROM customers c JOIN accounts a ON …
//! WHERE lower(c.name) LIKE '%' || lower(:search) || '%'
//!
//! -- name: lock_customer
//! -- write
//! INSERT INTO customer_locks (…) VALUES (:account, …) ON CONFLICT DO NOTHING
//! ```
//!
//! `:name` is an input parameter of the connector (`:callId` is the job's id,
//! the call's idempotency key; `:nonce` 32 fresh random hexadecimal digits); `-- decimal: a, b` says which result columns
//! hold money (decimal text), which then arrive as exact decimals. The
//! response is `rows` (a list of maps by column name), `row` (the first, or
//! `()`) and `count` (rows returned, or rows a write changed).

use std::collections::HashMap;
use std::ops::ControlFlow;

use millrace_engine::{Value, Variables};
use sqlparser::ast::{Expr, ObjectName, Query, Statement, Visit, Visitor};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;
use sqlx::{Column, Row};

/// The tables a named query may name: the reference data of
/// `migrations/*/0011_reference_data.sql` (PostgreSQL: `0006_…`), never the
/// engine's own.
pub const REFERENCE_TABLES: &[&str] = &[
    "customers",
    "accounts",
    "points_of_delivery",
    "service_accounts",
    "supply_contracts",
    "invoices",
    "payments",
    "security_deposits",
    "meters",
    "meter_readings",
    "inventory_movements",
    "service_order_templates",
    "service_orders",
    "disconnection_reasons",
    "time_slots",
    "holidays",
    "checklist_items",
    "sla_targets",
    "utility_settings",
    "number_series",
    "service_requests",
    "customer_locks",
    "communications",
    "system_contracts",
    "support_cases",
    "case_notes",
    "connection_requests",
    "non_energy_invoices",
    "non_energy_payments",
    "districts",
    "installers",
    "connection_fees",
    "takeovers",
];

/// The functions a named query may call: SQL's plain ones, which SQLite and
/// PostgreSQL share. Anything else (`pg_read_file`, `current_setting`, …)
/// could reach past the reference data.
pub const ALLOWED_FUNCTIONS: &[&str] = &[
    "abs", "avg", "coalesce", "count", "length", "lower", "ltrim", "max", "min", "nullif",
    "replace", "round", "rtrim", "substr", "sum", "trim", "upper",
];

/// One named query of a deployment's `.sql` files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedQuery {
    /// Its name (`-- name: …`).
    pub name: String,
    /// The file it is in.
    pub file: String,
    /// The line its header is on (1-based).
    pub line: usize,
    /// The statement with `:name` parameters turned into `$n`.
    pub sql: String,
    /// The parameters' names, in `$n` order.
    pub parameters: Vec<String>,
    /// Whether it may write (`-- write`).
    pub write: bool,
    /// Whether it answers rows: a `SELECT`, or a write with `RETURNING`.
    pub returns_rows: bool,
    /// Result columns that hold decimal text (`-- decimal: …`).
    pub decimals: Vec<String>,
    /// Its title when it is a report (`-- report: …`): a read that staff
    /// run on the reports page and download as CSV.
    pub report: Option<String>,
    /// What its other comment lines say (a report's description).
    pub about: String,
    /// Values for parameters a report's reader leaves empty
    /// (`-- default monthStart: month_start`; see [`resolve_default`]).
    pub defaults: Vec<(String, String)>,
}

/// A report parameter's default as the value it stands for on `today`: the
/// relative dates `today`, `month_start`, `next_month_start` and
/// `year_start` (ISO dates), any other text as it is.
pub fn resolve_default(default: &str, today: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    let month_start = today.with_day(1).unwrap_or(today);
    let day = match default.trim() {
        "today" => today,
        "month_start" => month_start,
        // The first of the month after: a month is at most 31 days.
        "next_month_start" => (month_start + chrono::Days::new(32))
            .with_day(1)
            .unwrap_or(month_start),
        "year_start" => today.with_ordinal(1).unwrap_or(today),
        other => return other.to_string(),
    };
    day.format("%Y-%m-%d").to_string()
}

/// The named queries of one deployment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryBook {
    queries: HashMap<String, NamedQuery>,
}

/// Why a queries file is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {reason}")]
pub struct QueryError {
    /// The file.
    pub file: String,
    /// The line (1-based).
    pub line: usize,
    /// Why.
    pub reason: String,
}

/// The folder of a deployment file's name, with its trailing `/` (`""` at the top).
pub(crate) fn folder_of(name: &str) -> &str {
    name.rfind('/').map_or("", |i| &name[..=i])
}

impl QueryBook {
    /// Reads every file of `files` whose name ends in `.sql`; the first
    /// refusal names the file, the line and the reason.
    pub fn of_files<'a>(
        files: impl IntoIterator<Item = (&'a String, &'a String)>,
    ) -> Result<QueryBook, QueryError> {
        let mut book = QueryBook::default();
        let mut sql_files: Vec<(&String, &String)> = files
            .into_iter()
            .filter(|(name, _)| name.ends_with(".sql"))
            .collect();
        sql_files.sort();
        for (file, text) in sql_files {
            for q in parse_file(file, text)? {
                if let Some(first) = book.queries.get(&q.name) {
                    return Err(QueryError {
                        file: q.file.clone(),
                        line: q.line,
                        reason: format!(
                            "the query {:?} is defined twice (also {}:{})",
                            q.name, first.file, first.line
                        ),
                    });
                }
                book.queries.insert(q.name.clone(), q);
            }
        }
        Ok(book)
    }

    /// The queries a process deployed from the BPMN file `bpmn` calls: those
    /// of the `.sql` files in its own folder, so processes deployed together
    /// (each in its folder, or one at the top) keep names of their own.
    pub fn beside<'a>(
        bpmn: &str,
        files: impl IntoIterator<Item = (&'a String, &'a String)>,
    ) -> Result<QueryBook, QueryError> {
        let folder = folder_of(bpmn);
        QueryBook::of_files(
            files
                .into_iter()
                .filter(|(name, _)| folder_of(name) == folder),
        )
    }

    /// The query of that name.
    pub fn get(&self, name: &str) -> Option<&NamedQuery> {
        self.queries.get(name)
    }

    /// Its reports, by name.
    pub fn reports(&self) -> Vec<&NamedQuery> {
        let mut reports: Vec<&NamedQuery> = self
            .queries
            .values()
            .filter(|q| q.report.is_some())
            .collect();
        reports.sort_by(|a, b| a.name.cmp(&b.name));
        reports
    }

    /// How many queries it holds.
    pub fn len(&self) -> usize {
        self.queries.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.queries.is_empty()
    }
}

fn parse_file(file: &str, text: &str) -> Result<Vec<NamedQuery>, QueryError> {
    let mut out = Vec::new();
    let mut current: Option<Pending> = None;
    let finish = |p: Pending, out: &mut Vec<NamedQuery>| -> Result<(), QueryError> {
        out.push(check(file, p)?);
        Ok(())
    };
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        let header = trimmed.strip_prefix("--").map(str::trim);
        if let Some(name) = header.and_then(|h| h.strip_prefix("name:")) {
            if let Some(p) = current.take() {
                finish(p, &mut out)?;
            }
            let name = name.trim().to_string();
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(QueryError {
                    file: file.into(),
                    line: i + 1,
                    reason: format!("{name:?} is not a query name (letters, digits, _ and -)"),
                });
            }
            current = Some(Pending {
                name,
                line: i + 1,
                write: false,
                decimals: Vec::new(),
                report: None,
                about: String::new(),
                defaults: Vec::new(),
                body: String::new(),
            });
            continue;
        }
        let refuse = |reason: String| QueryError {
            file: file.into(),
            line: i + 1,
            reason,
        };
        match (&mut current, header) {
            (Some(p), Some("write")) if p.body.trim().is_empty() => p.write = true,
            (Some(p), Some(h)) if h.starts_with("decimal:") && p.body.trim().is_empty() => {
                p.decimals.extend(
                    h["decimal:".len()..]
                        .split(',')
                        .map(|c| c.trim().to_string())
                        .filter(|c| !c.is_empty()),
                );
            }
            (Some(p), Some(h)) if h.starts_with("report:") && p.body.trim().is_empty() => {
                let title = h["report:".len()..].trim();
                if title.is_empty() {
                    return Err(refuse("\"-- report:\" needs the report's title".into()));
                }
                p.report = Some(title.to_string());
            }
            (Some(p), Some(h)) if h.starts_with("default ") && p.body.trim().is_empty() => {
                let Some((name, value)) = h["default ".len()..].split_once(':') else {
                    return Err(refuse(
                        "a default is \"-- default name: value\" (today, month_start, next_month_start, year_start or text)".into(),
                    ));
                };
                p.defaults
                    .push((name.trim().to_string(), value.trim().to_string()));
            }
            (Some(p), Some(h)) if p.body.trim().is_empty() => {
                if !p.about.is_empty() {
                    p.about.push(' ');
                }
                p.about.push_str(h);
            }
            (Some(_), Some(_)) => {}
            (Some(p), None) => {
                p.body.push_str(line);
                p.body.push('\n');
            }
            (None, None) if !trimmed.is_empty() => {
                return Err(QueryError {
                    file: file.into(),
                    line: i + 1,
                    reason: "SQL before the first \"-- name: …\" header".into(),
                });
            }
            (None, _) => {}
        }
    }
    if let Some(p) = current.take() {
        finish(p, &mut out)?;
    }
    Ok(out)
}

/// Turns `:name` into `$n` (the same name, the same `n`) outside string
/// literals, quoted names and comments; `::` (a PostgreSQL cast) is left alone.
fn number_parameters(body: &str) -> (String, Vec<String>) {
    let mut sql = String::with_capacity(body.len());
    let mut names: Vec<String> = Vec::new();
    let chars: Vec<char> = body.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\'' | '"' => {
                sql.push(c);
                i += 1;
                while i < chars.len() {
                    sql.push(chars[i]);
                    if chars[i] == c {
                        // A doubled quote is one quote inside the literal.
                        if chars.get(i + 1) == Some(&c) {
                            sql.push(c);
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
            }
            '-' if chars.get(i + 1) == Some(&'-') => {
                while i < chars.len() && chars[i] != '\n' {
                    sql.push(chars[i]);
                    i += 1;
                }
            }
            ':' if chars.get(i + 1) == Some(&':') => {
                sql.push_str("::");
                i += 2;
            }
            ':' if chars
                .get(i + 1)
                .is_some_and(|n| n.is_ascii_alphabetic() || *n == '_') =>
            {
                let start = i + 1;
                let mut end = start;
                while end < chars.len() && (chars[end].is_ascii_alphanumeric() || chars[end] == '_')
                {
                    end += 1;
                }
                let name: String = chars[start..end].iter().collect();
                let n = match names.iter().position(|x| *x == name) {
                    Some(p) => p + 1,
                    None => {
                        names.push(name);
                        names.len()
                    }
                };
                sql.push_str(&format!("${n}"));
                i = end;
            }
            _ => {
                sql.push(c);
                i += 1;
            }
        }
    }
    (sql, names)
}

/// A query's header lines and body, as read so far.
struct Pending {
    name: String,
    line: usize,
    write: bool,
    decimals: Vec<String>,
    report: Option<String>,
    about: String,
    defaults: Vec<(String, String)>,
    body: String,
}

fn check(file: &str, p: Pending) -> Result<NamedQuery, QueryError> {
    let Pending {
        name,
        line,
        write,
        decimals,
        report,
        about,
        defaults,
        body,
    } = p;
    let refuse = |reason: String| QueryError {
        file: file.into(),
        line,
        reason: format!("query {name:?}: {reason}"),
    };
    let (sql, parameters) = number_parameters(body.trim().trim_end_matches(';'));
    if report.is_some() && write {
        return Err(refuse(
            "a report only reads: it cannot be declared \"-- write\"".into(),
        ));
    }
    if let Some((unknown, _)) = defaults.iter().find(|(n, _)| !parameters.contains(n)) {
        return Err(refuse(format!(
            "a default for {unknown:?}, which the query has no :{unknown} for"
        )));
    }
    if sql.trim().is_empty() {
        return Err(refuse("it has no statement".into()));
    }
    let statements =
        Parser::parse_sql(&GenericDialect {}, &sql).map_err(|e| refuse(e.to_string()))?;
    let [statement] = statements.as_slice() else {
        return Err(refuse(format!(
            "a query is one statement; this has {}",
            statements.len()
        )));
    };
    let is_write = matches!(
        statement,
        Statement::Insert { .. } | Statement::Update { .. } | Statement::Delete { .. }
    );
    match (statement, is_write, write) {
        (Statement::Query(_), _, _) => {}
        (_, true, true) => {}
        (_, true, false) => {
            return Err(refuse(
                "it writes, but its header does not declare it a write (add \"-- write\")".into(),
            ))
        }
        _ => {
            return Err(refuse(
                "only SELECT, and INSERT, UPDATE or DELETE declared \"-- write\", are allowed"
                    .into(),
            ))
        }
    }
    let returns_rows = match statement {
        Statement::Query(_) => true,
        Statement::Insert(i) => i.returning.is_some(),
        Statement::Update(u) => u.returning.is_some(),
        Statement::Delete(d) => d.returning.is_some(),
        _ => false,
    };
    let mut reach = Reach::default();
    let _ = statement.visit(&mut reach);
    if let Some(problem) = reach.problem {
        return Err(refuse(problem));
    }
    Ok(NamedQuery {
        name,
        file: file.into(),
        line,
        sql,
        parameters,
        write,
        returns_rows,
        decimals,
        report,
        about,
        defaults,
    })
}

/// Collects what a statement reaches: its tables (a common table expression's
/// own name excepted) and the functions it calls.
#[derive(Default)]
struct Reach {
    ctes: Vec<String>,
    problem: Option<String>,
}

impl Visitor for Reach {
    type Break = ();

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                self.ctes.push(cte.alias.name.value.to_lowercase());
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<()> {
        let table = relation.to_string().to_lowercase();
        if !REFERENCE_TABLES.contains(&table.as_str()) && !self.ctes.contains(&table) {
            self.problem = Some(format!(
                "{table} is not a reference-data table; a query may name only {}",
                REFERENCE_TABLES.join(", ")
            ));
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        if let Expr::Function(f) = expr {
            let name = f.name.to_string().to_lowercase();
            if !ALLOWED_FUNCTIONS.contains(&name.as_str()) {
                self.problem = Some(format!(
                    "the function {name} is not allowed; a query may call {}",
                    ALLOWED_FUNCTIONS.join(", ")
                ));
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    }
}

/// Why a connector's call failed: the incident's message.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// The call itself is wrong (unknown query, a missing parameter, a
    /// column that does not hold what its header says): retrying the same
    /// call cannot help until the data or the deployment is fixed.
    #[error("{0}")]
    Call(String),
    /// An `http` call's host failed (a status of 500 or more), did not
    /// answer in time or could not be reached: a retry later may succeed.
    #[error("{0}")]
    Http(String),
    /// The database refused the statement.
    #[error("query {query:?}: {error}")]
    Database {
        /// The named query.
        query: String,
        /// What the database said.
        error: sqlx::Error,
    },
}

/// The named queries the `sql` connector tasks of `def` call, as (task id, query name).
pub fn queries_called(def: &millrace_engine::ProcessDefinition) -> Vec<(&str, &str)> {
    constant_inputs(def, "sql", "query")
}

/// The constant input `input` of every `connector` task of `def`, as (task id, value).
pub(crate) fn constant_inputs<'d>(
    def: &'d millrace_engine::ProcessDefinition,
    connector_id: &str,
    input: &str,
) -> Vec<(&'d str, &'d str)> {
    use millrace_engine::definition::{MappingValue, NodeKind};
    def.nodes
        .iter()
        .filter_map(|n| match &n.kind {
            NodeKind::Connector {
                connector, inputs, ..
            } if connector == connector_id => inputs.iter().find_map(|(name, v)| match v {
                MappingValue::Constant(Value::String(q)) if name == input => {
                    Some((n.id.as_str(), q.trim()))
                }
                _ => None,
            }),
            _ => None,
        })
        .collect()
}

/// What a query answered: how many rows a write without `RETURNING`
/// changed, or its rows, each with its values in the statement's column order.
pub(crate) enum Answer {
    /// Rows changed.
    Changed(u64),
    /// The columns (of the first row; none when there are no rows) and the rows.
    Rows(Vec<String>, Vec<Vec<Value>>),
}

/// Runs `query` with `input` (and `callId`, `nonce`) on `conn`; the response as variables.
pub(crate) async fn run_query(
    conn: &mut sqlx::AnyConnection,
    query: &NamedQuery,
    input: &Variables,
    call_id: &str,
) -> Result<Variables, ConnectorError> {
    let mut response = Variables::new();
    let (columns, rows) = match query_answer(conn, query, input, call_id).await? {
        Answer::Changed(n) => {
            response.insert(
                "count".into(),
                Value::Int(i64::try_from(n).unwrap_or(i64::MAX)),
            );
            response.insert("rows".into(), Value::List(Vec::new()));
            response.insert("row".into(), Value::Null);
            return Ok(response);
        }
        Answer::Rows(columns, rows) => (columns, rows),
    };
    let out: Vec<Value> = rows
        .into_iter()
        .map(|values| Value::Map(columns.iter().cloned().zip(values).collect()))
        .collect();
    response.insert(
        "count".into(),
        Value::Int(i64::try_from(out.len()).unwrap_or(i64::MAX)),
    );
    response.insert("row".into(), out.first().cloned().unwrap_or(Value::Null));
    response.insert("rows".into(), Value::List(out));
    Ok(response)
}

/// Runs `query` with `input` on `conn`, binding its parameters.
pub(crate) async fn query_answer(
    conn: &mut sqlx::AnyConnection,
    query: &NamedQuery,
    input: &Variables,
    call_id: &str,
) -> Result<Answer, ConnectorError> {
    let mut q = sqlx::query(sqlx::AssertSqlSafe(query.sql.clone()));
    for p in &query.parameters {
        let value = if p == "callId" {
            Value::String(call_id.to_string())
        } else if p == "nonce" {
            // Random, unlike everything else a process computes: a code the
            // customer proves they received (a contract's authorisation
            // code) must not be derivable from what staff can see.
            Value::String(uuid::Uuid::new_v4().simple().to_string().to_uppercase())
        } else {
            input.get(p).cloned().ok_or_else(|| {
                ConnectorError::Call(format!(
                    "query {:?} ({}:{}) needs the input parameter {p:?}, which the connector does not give",
                    query.name, query.file, query.line
                ))
            })?
        };
        q = match value {
            Value::Null => q.bind(None::<String>),
            Value::Bool(b) => q.bind(i64::from(b)),
            Value::Int(i) => q.bind(i),
            Value::Decimal(d) => q.bind(d.to_string()),
            Value::String(s) => q.bind(s),
            Value::DateTime(t) => q.bind(crate::timestamp(t)),
            other @ (Value::List(_) | Value::Map(_)) => q.bind(other.to_json().to_string()),
        };
    }
    let database = |error| ConnectorError::Database {
        query: query.name.clone(),
        error,
    };
    if !query.returns_rows {
        let done = q.execute(&mut *conn).await.map_err(database)?;
        return Ok(Answer::Changed(done.rows_affected()));
    }
    let rows = q.fetch_all(&mut *conn).await.map_err(database)?;
    let columns: Vec<String> = rows
        .first()
        .map(|r| r.columns().iter().map(|c| c.name().to_string()).collect())
        .unwrap_or_default();
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut values = Vec::with_capacity(columns.len());
        for (i, col) in row.columns().iter().enumerate() {
            let name = col.name().to_string();
            let value = if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
                v.map_or(Value::Null, Value::Int)
            } else if let Ok(v) = row.try_get::<Option<String>, _>(i) {
                match v {
                    None => Value::Null,
                    Some(s) if query.decimals.contains(&name) => {
                        Value::Decimal(s.trim().parse().map_err(|_| {
                            ConnectorError::Call(format!(
                                "query {:?}: column {name} holds {s:?}, which is not a decimal",
                                query.name
                            ))
                        })?)
                    }
                    Some(s) => Value::String(s),
                }
            } else if let Ok(v) = row.try_get::<Option<bool>, _>(i) {
                v.map_or(Value::Null, Value::Bool)
            } else {
                return Err(ConnectorError::Call(format!(
                    "query {:?}: column {name} has a type connectors do not read (use TEXT or an integer)",
                    query.name
                )));
            };
            values.push(value);
        }
        out.push(values);
    }
    Ok(Answer::Rows(columns, out))
}

impl crate::Store {
    /// The named queries deployed with a version (cached: versions never change).
    pub async fn query_book(
        &self,
        key: &str,
        version: i64,
    ) -> crate::Result<std::sync::Arc<QueryBook>> {
        let cache_key = (key.to_string(), version);
        if let Some(found) = self
            .query_books
            .read()
            .ok()
            .and_then(|b| b.get(&cache_key).cloned())
        {
            return Ok(found);
        }
        let files: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT d.resource_name, r.name, r.content FROM definitions d JOIN resources r ON r.deployment_id = d.deployment_id \
             WHERE d.key = $1 AND d.version = $2 AND r.name LIKE '%.sql'",
        )
        .bind(key)
        .bind(version)
        .fetch_all(&self.pool)
        .await?;
        let bpmn = files.first().map(|f| f.0.as_str()).unwrap_or_default();
        let book = QueryBook::beside(bpmn, files.iter().map(|(_, n, c)| (n, c))).map_err(|e| {
            crate::StoreError::BadFile {
                file: e.file.clone(),
                reason: e.to_string(),
            }
        })?;
        let book = std::sync::Arc::new(book);
        if let Ok(mut cache) = self.query_books.write() {
            cache.insert(cache_key, book.clone());
        }
        Ok(book)
    }

    /// Runs a read-only named query deployed with `key` version `version`
    /// outside any process (scenario checks, reports); a write is refused.
    pub async fn read_named_query(
        &self,
        key: &str,
        version: i64,
        name: &str,
        input: &Variables,
    ) -> crate::Result<Result<Variables, ConnectorError>> {
        let book = self.query_book(key, version).await?;
        let Some(query) = book.get(name) else {
            return Ok(Err(ConnectorError::Call(format!(
                "no query {name:?} in the .sql files deployed with {key} version {version}"
            ))));
        };
        if query.write {
            return Ok(Err(ConnectorError::Call(format!(
                "query {name:?} writes; only a read runs outside a process"
            ))));
        }
        let mut conn = self.pool.acquire().await?;
        Ok(run_query(&mut conn, query, input, "").await)
    }

    /// Makes a connector job's call inside `unit` (which holds the job's
    /// lease and its instance) and answers the instance: the response, or
    /// an incident with the connector's message. A transient database error
    /// is the unit's, so the job is tried again without spending a retry.
    /// An `http` call was made before the unit opened (`http_answer`).
    pub(crate) async fn call_connector(
        &self,
        unit: &mut crate::Unit<'_>,
        job: &crate::ClaimedJob,
        http_answer: Option<Result<Variables, ConnectorError>>,
    ) -> crate::Result<()> {
        let outcome = match job.topic.as_deref() {
            Some("sql") => self.call_sql(unit, job).await?,
            Some("document") => self.call_document(unit, job).await?,
            Some("http") => http_answer.unwrap_or_else(|| {
                Err(ConnectorError::Call(
                    "the http call was not made before its unit".into(),
                ))
            }),
            other => Err(ConnectorError::Call(format!(
                "Millrace has no connector {:?}",
                other.unwrap_or_default()
            ))),
        };
        let command = match outcome {
            Ok(response) => millrace_engine::Command::CompleteConnector {
                job: job.local_id,
                response,
            },
            Err(e) => {
                tracing::warn!(job = %job.id, error = %e, "connector call failed");
                millrace_engine::Command::FailConnector {
                    job: job.local_id,
                    message: e.to_string(),
                }
            }
        };
        unit.command(&job.instance_id, command).await
    }

    /// Makes an `http` connector job's call, outside any transaction.
    pub(crate) async fn call_http(
        &self,
        job: &crate::ClaimedJob,
    ) -> Result<Variables, ConnectorError> {
        let input: Variables = match job.payload.as_deref().map(serde_json::from_str) {
            Some(Ok(v)) => v,
            Some(Err(e)) => {
                return Err(ConnectorError::Call(format!(
                    "the call's input cannot be read: {e}"
                )))
            }
            None => Variables::new(),
        };
        let allow = self.http_allow();
        let call = crate::http::prepare(&input, &allow)?;
        crate::http::make(call, self.http_trust(), &job.id).await
    }

    async fn call_sql(
        &self,
        unit: &mut crate::Unit<'_>,
        job: &crate::ClaimedJob,
    ) -> crate::Result<Result<Variables, ConnectorError>> {
        let input: Variables = match job.payload.as_deref().map(serde_json::from_str) {
            Some(Ok(v)) => v,
            Some(Err(e)) => {
                return Ok(Err(ConnectorError::Call(format!(
                    "the call's input cannot be read: {e}"
                ))))
            }
            None => Variables::new(),
        };
        let instance = unit.instance(&job.instance_id).await?;
        let book = self.query_book(&instance.key, instance.version).await?;
        let Some(Value::String(name)) = input.get("query") else {
            return Ok(Err(ConnectorError::Call(
                "the sql connector was given no query name (input parameter query)".into(),
            )));
        };
        let Some(query) = book.get(name) else {
            return Ok(Err(ConnectorError::Call(format!(
                "no query {name:?} in the .sql files deployed with {} version {}",
                instance.key, instance.version
            ))));
        };
        if self.dialect == crate::Dialect::Postgres {
            // A query runs inside the job's unit: it may not hold it for long.
            sqlx::query("SET LOCAL statement_timeout = 10000")
                .execute(unit.tx())
                .await?;
        }
        // A failing statement is undone alone, so the unit can still record the incident.
        sqlx::query("SAVEPOINT connector_call")
            .execute(unit.tx())
            .await?;
        match run_query(unit.tx(), query, &input, &job.id).await {
            Ok(response) => {
                sqlx::query("RELEASE SAVEPOINT connector_call")
                    .execute(unit.tx())
                    .await?;
                Ok(Ok(response))
            }
            Err(ConnectorError::Database { query, error }) => {
                let error = crate::StoreError::Database(error);
                if error.is_transient() {
                    return Err(error);
                }
                sqlx::query("ROLLBACK TO SAVEPOINT connector_call")
                    .execute(unit.tx())
                    .await?;
                Ok(Err(ConnectorError::Call(format!(
                    "query {query:?}: {error}"
                ))))
            }
            Err(e) => {
                sqlx::query("ROLLBACK TO SAVEPOINT connector_call")
                    .execute(unit.tx())
                    .await?;
                Ok(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book(text: &str) -> Result<QueryBook, QueryError> {
        let files = [("q.sql".to_string(), text.to_string())];
        QueryBook::of_files(files.iter().map(|(a, b)| (a, b)))
    }

    #[test]
    fn a_report_has_a_title_a_description_and_defaults() {
        let book = book(
            "-- name: kpis\n-- report: Requests this month\n-- default monthStart: month_start\n\
             -- The requests created since monthStart,\n-- by status.\n\
             SELECT status, count(*) AS requests FROM service_requests WHERE created_on >= :monthStart GROUP BY status\n\n\
             -- name: plain\nSELECT name FROM customers\n",
        )
        .expect("reads");
        let kpis = book.get("kpis").expect("kpis");
        assert_eq!(kpis.report.as_deref(), Some("Requests this month"));
        assert_eq!(
            kpis.about,
            "The requests created since monthStart, by status."
        );
        assert_eq!(
            kpis.defaults,
            [("monthStart".to_string(), "month_start".to_string())]
        );
        let names: Vec<&str> = book.reports().iter().map(|q| q.name.as_str()).collect();
        assert_eq!(names, ["kpis"], "a query without -- report is no report");
    }

    #[test]
    fn a_report_that_writes_or_a_default_for_no_parameter_is_refused() {
        let writes = book(
            "-- name: w\n-- write\n-- report: Oops\nUPDATE customers SET status = 'Inactive' WHERE customer_id = :id\n",
        )
        .unwrap_err();
        assert!(writes.reason.contains("a report only reads"), "{writes}");
        let stray = book(
            "-- name: r\n-- report: Customers\n-- default since: today\nSELECT name FROM customers\n",
        )
        .unwrap_err();
        assert!(stray.reason.contains("a default for \"since\""), "{stray}");
        assert_eq!((stray.file.as_str(), stray.line), ("q.sql", 1));
        let untitled = book("-- name: r\n-- report:\nSELECT name FROM customers\n").unwrap_err();
        assert_eq!(untitled.line, 2, "{untitled}");
        let shapeless =
            book("-- name: r\n-- default since\nSELECT name FROM customers WHERE x = :since\n")
                .unwrap_err();
        assert!(
            shapeless.reason.contains("-- default name: value"),
            "{shapeless}"
        );
    }

    #[test]
    fn relative_dates_are_resolved_on_the_day() {
        let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date");
        let cases = [
            ("today", "2026-12-02", "2026-12-02"),
            ("month_start", "2026-12-31", "2026-12-01"),
            ("next_month_start", "2026-12-31", "2027-01-01"),
            ("next_month_start", "2026-01-31", "2026-02-01"),
            ("year_start", "2026-12-02", "2026-01-01"),
            ("Residential", "2026-12-02", "Residential"),
        ];
        for (default, today, expected) in cases {
            assert_eq!(
                resolve_default(default, day(today)),
                expected,
                "{default} on {today}"
            );
        }
    }

    #[test]
    fn a_process_calls_the_queries_of_its_own_folder() {
        let files: Vec<(String, String)> = [
            (
                "a/a.sql",
                "-- name: settings\nSELECT name FROM utility_settings\n",
            ),
            (
                "b/b.sql",
                "-- name: settings\nSELECT value FROM utility_settings\n",
            ),
            ("b/c.sql", "-- name: holidays\nSELECT day FROM holidays\n"),
            ("top.sql", "-- name: settings\nSELECT day FROM holidays\n"),
        ]
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
        let of =
            |bpmn: &str| QueryBook::beside(bpmn, files.iter().map(|(n, t)| (n, t))).expect("reads");
        let (a, b, top) = (of("a/a.bpmn"), of("b/b.bpmn"), of("top.bpmn"));
        assert_eq!((a.len(), b.len(), top.len()), (1, 2, 1));
        assert!(top.get("settings").is_some_and(|q| q.file == "top.sql"));
        assert!(a.get("settings").is_some_and(|q| q.file == "a/a.sql"));
        assert!(b.get("settings").is_some_and(|q| q.file == "b/b.sql"));
        assert!(a.get("holidays").is_none());
        // Everything together would define "settings" twice.
        assert!(QueryBook::of_files(files.iter().map(|(n, t)| (n, t))).is_err());
    }

    #[test]
    fn parameters_are_numbered_outside_literals_and_casts() {
        let (sql, names) = number_parameters(
            "SELECT ':not' AS a, x::text FROM t WHERE a = :one AND b = :two OR c = :one -- :gone",
        );
        assert_eq!(
            sql,
            "SELECT ':not' AS a, x::text FROM t WHERE a = $1 AND b = $2 OR c = $1 -- :gone"
        );
        assert_eq!(names, ["one", "two"]);
    }

    #[test]
    fn a_query_reaches_only_reference_data() {
        let ok = book(
            "-- name: search\n-- decimal: amount\nSELECT c.name, sum(i.amount) AS amount FROM customers c JOIN accounts a ON a.customer_id = c.customer_id JOIN invoices i ON i.account_number = a.account_number WHERE lower(c.name) LIKE '%' || lower(:q) || '%' GROUP BY c.name\n",
        )
        .unwrap();
        let q = ok.get("search").unwrap();
        assert_eq!(q.parameters, ["q"]);
        assert_eq!(q.decimals, ["amount"]);
        assert!(!q.write);
        assert!(q.returns_rows);

        let engine = book("-- name: peek\nSELECT * FROM instances\n").unwrap_err();
        assert_eq!(engine.line, 1);
        assert!(
            engine
                .reason
                .contains("instances is not a reference-data table"),
            "{engine}"
        );
        let sub = book("-- name: peek\nSELECT name FROM customers WHERE customer_id IN (SELECT actor FROM history)\n").unwrap_err();
        assert!(sub.reason.contains("history"), "{sub}");
        let func =
            book("-- name: f\nSELECT pg_read_file('/etc/passwd') FROM customers\n").unwrap_err();
        assert!(func.reason.contains("pg_read_file"), "{func}");
        let cte = book("-- name: c\nWITH open AS (SELECT * FROM invoices WHERE status = 'Open') SELECT count(*) AS n FROM open\n");
        assert!(cte.is_ok(), "{cte:?}");
    }

    #[test]
    fn a_write_must_say_so_and_ddl_is_refused() {
        let undeclared =
            book("-- name: w\nUPDATE customers SET status = 'Inactive' WHERE customer_id = :id\n")
                .unwrap_err();
        assert!(undeclared.reason.contains("-- write"), "{undeclared}");
        let declared = book(
            "-- name: w\n-- write\nUPDATE customers SET status = 'Inactive' WHERE customer_id = :id\n",
        )
        .unwrap();
        assert!(declared.get("w").unwrap().write);
        let ddl = book("-- name: d\n-- write\nDROP TABLE customers\n").unwrap_err();
        assert!(ddl.reason.contains("only SELECT"), "{ddl}");
        let two =
            book("-- name: two\nSELECT 1 FROM customers; SELECT 2 FROM accounts\n").unwrap_err();
        assert!(two.reason.contains("one statement"), "{two}");
    }

    #[test]
    fn the_shipped_queries_files_are_accepted() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../processes");
        let files = crate::DeploymentFile::read_folder(&root, &[".sql"], "").unwrap();
        assert!(!files.is_empty());
        let named: Vec<(String, String)> = files.into_iter().map(|f| (f.name, f.content)).collect();
        for bpmn in [
            "disconnection/disconnection.bpmn",
            "support-inquiry/support-inquiry.bpmn",
        ] {
            let book = QueryBook::beside(bpmn, named.iter().map(|(a, b)| (a, b)))
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(book.get("next_number").is_some(), "{bpmn}");
        }
        let book = QueryBook::beside(
            "disconnection/disconnection.bpmn",
            named.iter().map(|(a, b)| (a, b)),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(book.get("customer_search").is_some());
        let next = book.get("next_number").unwrap();
        assert!(
            next.write && next.returns_rows,
            "UPDATE … RETURNING answers rows"
        );
        assert!(!book.get("lock_customer").unwrap().returns_rows);
    }

    #[test]
    fn names_are_unique_and_sql_needs_a_header() {
        let dup =
            book("-- name: a\nSELECT 1 FROM customers\n\n-- name: a\nSELECT 2 FROM customers\n")
                .unwrap_err();
        assert_eq!(dup.line, 4);
        assert!(dup.reason.contains("defined twice"), "{dup}");
        let headless = book("SELECT 1 FROM customers\n").unwrap_err();
        assert!(headless.reason.contains("-- name:"), "{headless}");
        let bad = book("-- name: broken\nSELEC name FROM customers\n").unwrap_err();
        assert_eq!(bad.file, "q.sql");
        assert!(bad.reason.starts_with("query \"broken\""), "{bad}");
    }
}
