//! A task's form: server-side validation of submitted variables against the
//! form the task declares (`camunda:formData` or a form-js form), whatever
//! the browser did, and the same form as fields the web app renders
//! (`GET /api/tasks/{id}/form`).

use millrace_api::{
    ActionForm, FormFieldOut, FormOption, SavedProgress, StartForm, TaskForm, WizardStep,
};
use millrace_engine::definition::EventForm;
use millrace_engine::{Value, Variables};
use millrace_model::bpmn::FormField;

use crate::error::ApiError;

fn constraint<'a>(field: &'a FormField, name: &str) -> Option<&'a Option<String>> {
    field
        .constraints
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, c)| c)
}

fn number(v: &Value) -> Option<rust_decimal::Decimal> {
    match v {
        Value::Int(i) => Some((*i).into()),
        Value::Decimal(d) => Some(*d),
        _ => None,
    }
}

/// Checks `submitted` against `fields`: required, types, enum values,
/// min/max, minlength/maxlength, readonly. The first problem names its field.
pub fn validate(fields: &[FormField], submitted: &Variables) -> Result<(), ApiError> {
    for f in fields {
        let value = submitted.get(&f.id).filter(|v| **v != Value::Null);
        // Camunda's `required` refuses an empty text as it refuses none.
        let unanswered = match value {
            None => true,
            Some(Value::String(s)) => s.is_empty(),
            Some(_) => false,
        };
        if unanswered && constraint(f, "required").is_some() {
            return Err(ApiError::field(&f.id, "this field is required"));
        }
        let Some(value) = value else {
            continue;
        };
        if constraint(f, "readonly").is_some() {
            return Err(ApiError::field(&f.id, "this field is read-only"));
        }
        let ty = f.field_type.as_deref().unwrap_or("string");
        let ok = match ty {
            "string" => matches!(value, Value::String(_)),
            "long" => matches!(value, Value::Int(_)),
            "boolean" => matches!(value, Value::Bool(_)),
            "date" => match value {
                Value::String(s) => millrace_model::timer::parse_date(s).is_ok(),
                Value::DateTime(_) => true,
                _ => false,
            },
            "enum" => matches!(value, Value::String(s) if f.values.iter().any(|(id, _)| id == s)),
            // Custom types (decimal money fields, for one) accept numbers and text.
            _ => true,
        };
        if !ok {
            let expected = if ty == "enum" {
                let ids: Vec<&str> = f.values.iter().map(|(id, _)| id.as_str()).collect();
                format!("one of {ids:?}")
            } else {
                format!("a {ty}")
            };
            return Err(ApiError::field(
                &f.id,
                format!("expected {expected}, got a {}", value.type_name()),
            ));
        }
        for (name, cmp) in [
            ("min", std::cmp::Ordering::Less),
            ("max", std::cmp::Ordering::Greater),
        ] {
            if let Some(Some(limit)) = constraint(f, name) {
                let limit: rust_decimal::Decimal = limit.trim().parse().map_err(|_| {
                    ApiError::field(
                        &f.id,
                        format!("the form's {name} constraint {limit:?} is not a number"),
                    )
                })?;
                if let Some(n) = number(value) {
                    if n.cmp(&limit) == cmp {
                        return Err(ApiError::field(&f.id, format!("must be at {name} {limit}")));
                    }
                }
            }
        }
        if let Value::String(s) = value {
            let len = s.chars().count();
            if let Some(Some(min)) = constraint(f, "minlength") {
                if min.trim().parse::<usize>().is_ok_and(|m| len < m) {
                    return Err(ApiError::field(
                        &f.id,
                        format!("must be at least {min} characters"),
                    ));
                }
            }
            if let Some(Some(max)) = constraint(f, "maxlength") {
                if max.trim().parse::<usize>().is_ok_and(|m| len > m) {
                    return Err(ApiError::field(
                        &f.id,
                        format!("must be at most {max} characters"),
                    ));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(id: &str, ty: &str, constraints: &[(&str, Option<&str>)]) -> FormField {
        FormField {
            id: id.into(),
            field_type: Some(ty.into()),
            constraints: constraints
                .iter()
                .map(|(n, c)| (n.to_string(), c.map(str::to_string)))
                .collect(),
            values: vec![("yes".into(), None), ("no".into(), None)],
            ..FormField::default()
        }
    }

    pub(super) fn vars(pairs: &[(&str, Value)]) -> Variables {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn a_missing_required_field_is_named() {
        let err = validate(
            &[field("amount", "long", &[("required", None)])],
            &Variables::new(),
        )
        .unwrap_err();
        assert_eq!(err.body.field.as_deref(), Some("amount"));
        let required = [field("note", "string", &[("required", None)])];
        let empty = vars(&[("note", Value::String(String::new()))]);
        assert_eq!(
            validate(&required, &empty)
                .unwrap_err()
                .body
                .field
                .as_deref(),
            Some("note")
        );
        assert!(validate(&required, &vars(&[("note", Value::String("x".into()))])).is_ok());
    }

    #[test]
    fn types_enums_and_bounds_are_enforced() {
        let fields = [
            field(
                "amount",
                "long",
                &[("min", Some("1")), ("max", Some("100"))],
            ),
            field("answer", "enum", &[]),
            field("note", "string", &[("maxlength", Some("5"))]),
        ];
        assert!(validate(
            &fields,
            &vars(&[
                ("amount", Value::Int(50)),
                ("answer", Value::String("yes".into()))
            ])
        )
        .is_ok());
        assert!(validate(&fields, &vars(&[("amount", Value::Int(500))])).is_err());
        assert!(validate(&fields, &vars(&[("amount", Value::String("5".into()))])).is_err());
        assert!(validate(&fields, &vars(&[("answer", Value::String("maybe".into()))])).is_err());
        assert!(validate(
            &fields,
            &vars(&[("note", Value::String("too long".into()))])
        )
        .is_err());
    }
}

/// Checks `submitted` against a form-js form (the JSON schema of bpmn.io's
/// form-js): every input component's `key`, with its `validate` rules
/// (`required`, `min`, `max`, `minLength`, `maxLength`, `pattern`), its
/// type (number, checkbox, datetime, select/radio values, checklist/taglist
/// lists), nested groups included.
///
/// `context` is what the form is shown with (the instance's variables, and
/// today's date): a select's `valuesKey` takes its allowed values from
/// there, and a date with `disallowPassedDates` may not be before today.
pub fn validate_form_js(
    form: &str,
    submitted: &Variables,
    context: &FormContext,
) -> Result<(), ApiError> {
    let form: serde_json::Value = serde_json::from_str(form)
        .map_err(|e| ApiError::conflict(format!("the task's form is not valid JSON: {e}")))?;
    let mut components = Vec::new();
    collect(&form, &mut components);
    for c in components {
        let Some(key) = c.get("key").and_then(|k| k.as_str()) else {
            continue;
        };
        let ty = c
            .get("type")
            .and_then(|t| t.as_str())
            .unwrap_or("textfield");
        let rules = c.get("validate");
        let rule = |name: &str| rules.and_then(|r| r.get(name));
        let value = submitted.get(key).filter(|v| **v != Value::Null);
        // As form-js's own check: empty text, an empty selection and an
        // unticked checkbox are not an answer to a required field.
        let unanswered = match value {
            None => true,
            Some(Value::String(s)) => s.is_empty(),
            Some(Value::List(l)) => l.is_empty(),
            Some(Value::Bool(false)) => ty == "checkbox",
            Some(_) => false,
        };
        if unanswered && rule("required").and_then(|r| r.as_bool()).unwrap_or(false) {
            return Err(ApiError::field(key, "this field is required"));
        }
        let Some(value) = value else {
            continue;
        };
        if c.get("readonly").and_then(|r| r.as_bool()).unwrap_or(false)
            || c.get("disabled").and_then(|r| r.as_bool()).unwrap_or(false)
        {
            return Err(ApiError::field(key, "this field cannot be changed"));
        }
        let type_ok = match ty {
            "number" => matches!(value, Value::Int(_) | Value::Decimal(_)),
            "checkbox" => matches!(value, Value::Bool(_)),
            "checklist" | "taglist" => matches!(value, Value::List(_)),
            "datetime" => match value {
                Value::String(s) => {
                    millrace_model::timer::parse_date(s).is_ok()
                        || chrono::NaiveTime::parse_from_str(s, "%H:%M").is_ok()
                }
                Value::DateTime(_) => true,
                _ => false,
            },
            "textfield" | "textarea" | "select" | "radio" => matches!(value, Value::String(_)),
            _ => true,
        };
        if !type_ok {
            return Err(ApiError::field(
                key,
                format!("a {ty} field does not take a {}", value.type_name()),
            ));
        }
        if ty == "datetime" && c.get("disallowPassedDates").and_then(|d| d.as_bool()) == Some(true)
        {
            let day = match value {
                Value::String(s) => millrace_model::timer::parse_date(s).ok(),
                Value::DateTime(t) => Some(*t),
                _ => None,
            };
            if day.is_some_and(|d| d.date_naive() < context.today) {
                // The seed's wording (disconnection, AC004).
                return Err(ApiError::field(key, "Cannot select past date"));
            }
        }
        let dynamic = c
            .get("valuesKey")
            .and_then(|k| k.as_str())
            .map(|k| options_of(context.variables.get(k)));
        let fixed: Option<Vec<String>> = c.get("values").and_then(|v| v.as_array()).map(|values| {
            values
                .iter()
                .filter_map(|v| v.get("value").and_then(|x| x.as_str()).map(str::to_string))
                .collect()
        });
        if let Some(allowed) = dynamic
            .map(|d| d.into_iter().map(|o| o.value).collect::<Vec<_>>())
            .or(fixed)
        {
            let allowed: Vec<&str> = allowed.iter().map(String::as_str).collect();
            let chosen: Vec<&Value> = match value {
                Value::List(items) => items.iter().collect(),
                v => vec![v],
            };
            for v in chosen {
                let ok = matches!(v, Value::String(s) if allowed.contains(&s.as_str()));
                if !ok && (!allowed.is_empty() || c.get("valuesKey").is_some()) {
                    return Err(ApiError::field(key, format!("must be one of {allowed:?}")));
                }
            }
        }
        for (name, cmp) in [
            ("min", std::cmp::Ordering::Less),
            ("max", std::cmp::Ordering::Greater),
        ] {
            if let (Some(limit), Some(n)) = (rule(name).and_then(json_decimal), number(value)) {
                if n.cmp(&limit) == cmp {
                    return Err(ApiError::field(key, format!("must be at {name} {limit}")));
                }
            }
        }
        if let Value::String(s) = value {
            let len = s.chars().count() as u64;
            if rule("minLength")
                .and_then(|m| m.as_u64())
                .is_some_and(|m| len < m)
            {
                return Err(ApiError::field(key, "is too short"));
            }
            if rule("maxLength")
                .and_then(|m| m.as_u64())
                .is_some_and(|m| len > m)
            {
                return Err(ApiError::field(key, "is too long"));
            }
            if let Some(p) = rule("pattern").and_then(|p| p.as_str()) {
                let re = regex::Regex::new(&format!("^(?:{p})$")).map_err(|e| {
                    ApiError::conflict(format!("the form's pattern for {key} is not valid: {e}"))
                })?;
                if !re.is_match(s) {
                    return Err(ApiError::field(
                        key,
                        format!("does not match the pattern {p}"),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// What a form is checked against besides the submission itself.
#[derive(Debug, Clone)]
pub struct FormContext<'a> {
    /// The variables the form is shown with (a task's instance's; none at a start).
    pub variables: &'a Variables,
    /// Today, for dates that may not be in the past.
    pub today: chrono::NaiveDate,
}

/// The options a `valuesKey` variable holds: a list of `{label, value}`
/// maps (form-js's shape) or of plain strings.
fn options_of(v: Option<&Value>) -> Vec<FormOption> {
    let Some(Value::List(items)) = v else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|i| match i {
            Value::String(s) => Some(FormOption {
                value: s.clone(),
                label: s.clone(),
            }),
            Value::Map(m) => {
                let text = |k: &str| match m.get(k) {
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(Value::Null) | None => None,
                    Some(other) => Some(other.to_json().to_string()),
                };
                let value = text("value")?;
                Some(FormOption {
                    label: text("label").unwrap_or_else(|| value.clone()),
                    value,
                })
            }
            _ => None,
        })
        .collect()
}

fn json_decimal(v: &serde_json::Value) -> Option<rust_decimal::Decimal> {
    v.as_number().and_then(|n| n.to_string().parse().ok())
}

fn collect<'a>(node: &'a serde_json::Value, out: &mut Vec<&'a serde_json::Value>) {
    if let Some(items) = node.get("components").and_then(|c| c.as_array()) {
        for c in items {
            if c.get("key").is_some() {
                out.push(c);
            }
            collect(c, out);
        }
    }
}

/// What an input shows first for a stored value.
fn shown(v: &Value) -> Option<String> {
    match v {
        Value::Null | Value::List(_) | Value::Map(_) => None,
        Value::Bool(b) => Some(b.to_string()),
        Value::Int(i) => Some(i.to_string()),
        Value::Decimal(d) => Some(d.to_string()),
        Value::String(s) => Some(s.clone()),
        Value::DateTime(t) => Some(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
    }
}

/// `camunda:formData` fields as the web app renders them, with the
/// variables' current values (or the fields' defaults).
pub fn fields_of_form_data(fields: &[FormField], vars: &Variables) -> Vec<FormFieldOut> {
    fields
        .iter()
        .map(|f| {
            let c = |name: &str| constraint(f, name).cloned().flatten();
            let kind = match f.field_type.as_deref().unwrap_or("string") {
                "long" => "integer",
                "boolean" => "boolean",
                "date" => "date",
                "enum" => "select",
                _ => "text",
            };
            FormFieldOut {
                id: f.id.clone(),
                label: f.label.clone().unwrap_or_else(|| f.id.clone()),
                kind: kind.into(),
                required: constraint(f, "required").is_some(),
                readonly: constraint(f, "readonly").is_some(),
                options: f
                    .values
                    .iter()
                    .map(|(id, name)| FormOption {
                        value: id.clone(),
                        label: name.clone().unwrap_or_else(|| id.clone()),
                    })
                    .collect(),
                min: c("min"),
                max: c("max"),
                min_length: c("minlength").and_then(|v| v.trim().parse().ok()),
                max_length: c("maxlength").and_then(|v| v.trim().parse().ok()),
                value: vars
                    .get(&f.id)
                    .and_then(shown)
                    .or_else(|| f.default_value.clone()),
            }
        })
        .collect()
}

/// A form-js form's components as the web app renders them: inputs
/// (text field and area, number, checkbox, select and radio, date), and text
/// components shown as they are. Lists (checklist, tag list) are shown as
/// text the person cannot change.
pub fn fields_of_form_js(form: &str, vars: &Variables) -> Result<Vec<FormFieldOut>, ApiError> {
    let form: serde_json::Value = serde_json::from_str(form)
        .map_err(|e| ApiError::conflict(format!("the task's form is not valid JSON: {e}")))?;
    let mut out = Vec::new();
    walk_form_js(&form, vars, &mut out);
    Ok(out)
}

fn walk_form_js(node: &serde_json::Value, vars: &Variables, out: &mut Vec<FormFieldOut>) {
    let Some(items) = node.get("components").and_then(|c| c.as_array()) else {
        return;
    };
    for c in items {
        let text = |k: &str| c.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let flag = |k: &str| c.get(k).and_then(|v| v.as_bool()).unwrap_or(false);
        let rule = |k: &str| c.get("validate").and_then(|r| r.get(k));
        let ty = text("type").unwrap_or_else(|| "textfield".into());
        if ty == "text" {
            out.push(FormFieldOut {
                id: String::new(),
                label: text("text").unwrap_or_default(),
                kind: "display".into(),
                required: false,
                readonly: true,
                options: Vec::new(),
                min: None,
                max: None,
                min_length: None,
                max_length: None,
                value: None,
            });
            continue;
        }
        if let Some(key) = text("key") {
            let (kind, readonly) = match ty.as_str() {
                "textarea" => ("textarea", false),
                "number" => ("number", false),
                "checkbox" => ("boolean", false),
                "select" | "radio" => ("select", false),
                "datetime" => ("date", false),
                "checklist" | "taglist" => ("text", true),
                _ => ("text", false),
            };
            let value = vars.get(&key).and_then(shown).or_else(|| {
                c.get("defaultValue").and_then(|d| match d {
                    serde_json::Value::String(s) => Some(s.clone()),
                    serde_json::Value::Bool(b) => Some(b.to_string()),
                    serde_json::Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
            });
            out.push(FormFieldOut {
                label: text("label").unwrap_or_else(|| key.clone()),
                id: key,
                kind: kind.into(),
                required: rule("required").and_then(|r| r.as_bool()).unwrap_or(false),
                readonly: readonly || flag("readonly") || flag("disabled"),
                options: c
                    .get("valuesKey")
                    .and_then(|k| k.as_str())
                    .map(|k| options_of(vars.get(k)))
                    .or_else(|| {
                        c.get("values").and_then(|v| v.as_array()).map(|vs| {
                            vs.iter()
                                .filter_map(|v| {
                                    let value = v.get("value")?.as_str()?.to_string();
                                    let label = v
                                        .get("label")
                                        .and_then(|l| l.as_str())
                                        .map_or_else(|| value.clone(), str::to_string);
                                    Some(FormOption { value, label })
                                })
                                .collect()
                        })
                    })
                    .unwrap_or_default(),
                min: rule("min").map(|m| m.to_string()),
                max: rule("max").map(|m| m.to_string()),
                min_length: rule("minLength").and_then(|m| m.as_u64()),
                max_length: rule("maxLength").and_then(|m| m.as_u64()),
                value,
            });
        }
        walk_form_js(c, vars, out);
    }
}

/// The variables a form-js form reads besides its own fields: each
/// component's `valuesKey`, and the first name of every `{{…}}` in its
/// texts and labels.
pub fn form_context(
    form: &str,
    vars: &Variables,
) -> std::collections::BTreeMap<String, serde_json::Value> {
    let mut names = std::collections::BTreeSet::new();
    let Ok(form) = serde_json::from_str::<serde_json::Value>(form) else {
        return Default::default();
    };
    fn walk(node: &serde_json::Value, names: &mut std::collections::BTreeSet<String>) {
        let Some(items) = node.get("components").and_then(|c| c.as_array()) else {
            return;
        };
        for c in items {
            if let Some(k) = c.get("valuesKey").and_then(|k| k.as_str()) {
                names.insert(k.to_string());
            }
            for text in ["text", "label", "description"]
                .iter()
                .filter_map(|k| c.get(*k).and_then(|t| t.as_str()))
            {
                let mut rest = text;
                while let Some(at) = rest.find("{{") {
                    rest = &rest[at + 2..];
                    let name: String = rest
                        .trim_start()
                        .chars()
                        .take_while(|ch| ch.is_ascii_alphanumeric() || *ch == '_')
                        .collect();
                    if !name.is_empty() {
                        names.insert(name);
                    }
                }
            }
            walk(c, names);
        }
    }
    walk(&form, &mut names);
    names
        .into_iter()
        .filter_map(|n| vars.get(&n).map(|v| (n, v.to_shown_json())))
        .collect()
}

/// The messages of the instance's `formErrors` variable (field to message)
/// that name one of `fields`.
fn sent_back(
    fields: &[FormFieldOut],
    vars: &Variables,
) -> std::collections::BTreeMap<String, String> {
    let Some(Value::Map(errors)) = vars.get("formErrors") else {
        return Default::default();
    };
    errors
        .iter()
        .filter(|(field, _)| fields.iter().any(|f| f.id == **field))
        .filter_map(|(field, m)| match m {
            Value::String(s) => Some((field.clone(), s.clone())),
            _ => None,
        })
        .collect()
}

/// A task and the form to work it (who may see the task).
#[utoipa::path(get, path = "/api/tasks/{id}/form", params(("id" = String, Path)),
    responses((status = 200, body = TaskForm), (status = 403, body = crate::error::ErrorBody)))]
pub async fn task_form(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    p: crate::auth::Principal,
    crate::ApiPath(id): crate::ApiPath<String>,
) -> crate::error::ApiResult<axum::Json<TaskForm>> {
    let task = crate::api::visible_task(&state, &p, &id, "task.read").await?;
    let inst = state.store.instance(&task.instance_id).await?;
    let def = state.store.definition(&inst.key, inst.version);
    let mut vars = inst.root_variables();
    // Saved progress shows in the fields, over the instance's values.
    let draft = state.store.task_draft(&id).await?;
    if let Some(d) = &draft {
        if let Ok(saved) = serde_json::from_str::<serde_json::Value>(&d.variables)
            .map_err(|e| e.to_string())
            .and_then(|j| {
                millrace_engine::value::variables_from_json(&j).map_err(|e| e.to_string())
            })
        {
            vars.extend(saved);
        }
    }
    let mut fields = Vec::new();
    let mut form_schema = None;
    if let Some(def) = &def {
        if let Some(ix) = def.node_ix(&task.node_id) {
            if let millrace_engine::definition::NodeKind::UserTask(spec) = &def.node(ix).kind {
                fields = fields_of_form_data(&spec.form_fields, &vars);
                if let Some(form_ref) = &spec.form {
                    if let Some(form) = state.store.form(&inst.key, inst.version, form_ref).await? {
                        fields.extend(fields_of_form_js(&form, &vars)?);
                        form_schema = Some(form.to_string());
                    }
                }
            }
        }
    }
    let steps = match &def {
        Some(def) => {
            // In the order they were completed.
            let done: Vec<String> = state
                .store
                .history(&task.instance_id)
                .await?
                .into_iter()
                .filter(|h| h.event == "activityCompleted")
                .filter_map(|h| h.node_id)
                .collect();
            wizard_steps(def, &task.node_id, &done)
        }
        None => Vec::new(),
    };
    let (context, field_errors) = match &form_schema {
        Some(schema) => (form_context(schema, &vars), sent_back(&fields, &vars)),
        None => (Default::default(), sent_back(&fields, &vars)),
    };
    let documents = state
        .store
        .documents_of(&task.instance_id)
        .await?
        .into_iter()
        .map(crate::documents::document_out)
        .collect();
    Ok(axum::Json(TaskForm {
        documents,
        context,
        field_errors,
        task: crate::api::task_out(task),
        business_key: inst.business_key.clone(),
        process_name: def.as_ref().and_then(|d| d.name.clone()),
        fields,
        form_schema,
        progress: draft.map(|d| SavedProgress {
            saved_by: d.saved_by,
            saved_at: d.saved_at,
        }),
        steps,
    }))
}

/// Where a token can go from each node of `def`: its flows, its boundary
/// events, and for a sub-process its own start first.
fn successors(def: &millrace_engine::definition::ProcessDefinition) -> Vec<Vec<usize>> {
    use millrace_engine::definition::NodeKind;
    let mut next: Vec<Vec<usize>> = vec![Vec::new(); def.nodes.len()];
    for f in &def.flows {
        next[f.source as usize].push(f.target as usize);
    }
    for (ix, node) in def.nodes.iter().enumerate() {
        if let NodeKind::BoundaryEvent { attached_to, .. } = &node.kind {
            next[*attached_to as usize].push(ix);
        }
    }
    for scope in def.scopes.iter().skip(1) {
        if let (Some(owner), Some(start)) = (scope.owner, scope.none_start) {
            next[owner as usize].insert(0, start as usize);
        }
    }
    next
}

/// The step indicator of a task of `def` at `current` in an instance whose
/// history completed `done` (in that order): the steps done, in the order
/// they were done, the current one, and then those the flows can still reach
/// from it, nearest first (a branch not taken is not a step ahead).
fn wizard_steps(
    def: &millrace_engine::definition::ProcessDefinition,
    current: &str,
    done: &[String],
) -> Vec<WizardStep> {
    use millrace_engine::definition::NodeKind;
    // A wizard is what one person works in one go: the user tasks in the
    // current one's scope that are offered to the same people.
    let people = |ix: usize| match &def.nodes[ix].kind {
        NodeKind::UserTask(spec) => Some((
            spec.assignee.clone(),
            spec.candidate_groups.clone(),
            spec.candidate_users.clone(),
        )),
        _ => None,
    };
    let Some(here) = def.node_ix(current).map(|ix| ix as usize) else {
        return Vec::new();
    };
    let (assignee, groups, users) = people(here).unwrap_or_default();
    let shares = |ix: usize| {
        people(ix).is_some_and(|(a, g, u)| {
            (a.is_some() && a == assignee)
                || g.iter().any(|x| groups.contains(x))
                || u.iter().any(|x| users.contains(x))
                || (a.is_none()
                    && g.is_empty()
                    && u.is_empty()
                    && groups.is_empty()
                    && users.is_empty())
        })
    };
    // What the flows can still reach from here, nearest first: the steps
    // ahead in the order this request meets them (an early branch another
    // request took does not put its steps before this one's next).
    let next = successors(def);
    let mut reached = vec![false; def.nodes.len()];
    let mut ahead = Vec::new();
    let mut queue = std::collections::VecDeque::from([here]);
    while let Some(x) = queue.pop_front() {
        for &y in &next[x] {
            if !std::mem::replace(&mut reached[y], true) {
                ahead.push(y);
                queue.push_back(y);
            }
        }
    }
    let in_wizard =
        |ix: usize| ix == here || (def.nodes[ix].scope == def.nodes[here].scope && shares(ix));
    let mut steps: Vec<(usize, &str)> = Vec::new();
    for id in done {
        if let Some(ix) = def.node_ix(id).map(|ix| ix as usize) {
            if ix != here && in_wizard(ix) && !steps.iter().any(|(x, _)| *x == ix) {
                steps.push((ix, "done"));
            }
        }
    }
    steps.push((here, "current"));
    for ix in ahead {
        let is_task = matches!(def.nodes[ix].kind, NodeKind::UserTask(_));
        if is_task && in_wizard(ix) && !steps.iter().any(|(x, _)| *x == ix) {
            steps.push((ix, "ahead"));
        }
    }
    if steps.len() < 2 {
        return Vec::new();
    }
    steps
        .into_iter()
        .map(|(ix, state)| WizardStep {
            element_id: def.nodes[ix].id.clone(),
            name: def.nodes[ix].name.clone(),
            state: state.into(),
        })
        .collect()
}

/// Keeps what was entered in a task's form without completing it (the
/// assignee only; nothing is checked against the form until completion).
#[utoipa::path(put, path = "/api/tasks/{id}/progress", request_body = crate::api::CompleteRequest, params(("id" = String, Path)),
    responses((status = 200, body = SavedProgress), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn save_progress(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    p: crate::auth::Principal,
    crate::ApiPath(id): crate::ApiPath<String>,
    crate::ApiJson(req): crate::ApiJson<crate::api::CompleteRequest>,
) -> crate::error::ApiResult<axum::Json<SavedProgress>> {
    let task = crate::api::visible_task(&state, &p, &id, "task.progress").await?;
    if task.assignee.as_deref() != Some(p.user.as_str()) {
        return Err(ApiError::forbidden(match &task.assignee {
            Some(a) => format!("{a} has claimed the task; only they save its progress"),
            None => "claim the task to save your progress on it".to_string(),
        }));
    }
    let vars = crate::api::variables(&req.variables, "variables")?;
    let json = millrace_engine::value::variables_to_json(&vars).to_string();
    let now = chrono::Utc::now();
    state
        .store
        .save_task_draft(&id, &json, &p.user, now)
        .await?;
    Ok(axum::Json(SavedProgress {
        saved_by: p.user.clone(),
        saved_at: millrace_store::timestamp(now),
    }))
}

/// The processes the caller may start now (their latest version, not
/// retired), each with its start event's form: the "New …" buttons.
#[utoipa::path(get, path = "/api/start-forms", responses((status = 200, body = [StartForm])))]
pub async fn start_forms(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    p: crate::auth::Principal,
) -> crate::error::ApiResult<axum::Json<Vec<StartForm>>> {
    // The caller's start grants, read once for every process.
    let grants = crate::authz::granted(&state, &p, crate::authz::Permission::Start).await?;
    let mut out = Vec::new();
    for row in state.store.definitions(None).await? {
        if row.retired {
            continue;
        }
        let Some(def) = state.store.definition(&row.key, row.version) else {
            continue;
        };
        if !(crate::authz::named_starter(&p, &def) || grants.covers(&def.key)) {
            continue;
        }
        out.push(start_form_of(&state, &def).await?);
    }
    Ok(axum::Json(out))
}

/// One process's start form (who may start it).
#[utoipa::path(get, path = "/api/process-definitions/{key}/start-form", params(("key" = String, Path)),
    responses((status = 200, body = StartForm), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn start_form(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    p: crate::auth::Principal,
    crate::ApiPath(key): crate::ApiPath<String>,
) -> crate::error::ApiResult<axum::Json<StartForm>> {
    let def = state
        .store
        .startable_version(&key)
        .await?
        .and_then(|v| state.store.definition(&key, v))
        .ok_or_else(|| {
            crate::error::ApiError::not_found(format!("no version of {key:?} may be started"))
        })?;
    if !crate::authz::may_start(&state, &p, &def).await? {
        return Err(crate::error::ApiError::forbidden(format!(
            "you may not start {key:?}: the process names its starters, or an administrator grants start"
        )));
    }
    Ok(axum::Json(start_form_of(&state, &def).await?))
}

async fn start_form_of(
    state: &crate::AppState,
    def: &millrace_engine::definition::ProcessDefinition,
) -> crate::error::ApiResult<StartForm> {
    let (fields, form_schema) = match &def.start_form {
        Some(f) => event_form_fields(state, def, f, &Variables::new()).await?,
        None => (Vec::new(), None),
    };
    Ok(StartForm {
        key: def.key.clone(),
        version: def.version,
        name: def.name.clone(),
        fields,
        form_schema,
    })
}

/// The fields an event's form declares (`camunda:formData`, then the form-js
/// form's) with `vars`' values, and the form-js form's JSON.
async fn event_form_fields(
    state: &crate::AppState,
    def: &millrace_engine::definition::ProcessDefinition,
    f: &EventForm,
    vars: &Variables,
) -> crate::error::ApiResult<(Vec<FormFieldOut>, Option<String>)> {
    let mut fields = fields_of_form_data(&f.form_fields, vars);
    let mut form_schema = None;
    if let Some(form_ref) = &f.form {
        if let Some(form) = state.store.form(&def.key, def.version, form_ref).await? {
            fields.extend(fields_of_form_js(&form, vars)?);
            form_schema = Some(form.to_string());
        }
    }
    Ok((fields, form_schema))
}

/// What a quick action asks for: the form the element waiting for the
/// message declares, filled from the instance's variables.
pub async fn action_form(
    state: &crate::AppState,
    def: &millrace_engine::definition::ProcessDefinition,
    f: &EventForm,
    vars: &Variables,
) -> crate::error::ApiResult<ActionForm> {
    let (fields, form_schema) = event_form_fields(state, def, f, vars).await?;
    let context = form_schema
        .as_deref()
        .map(|schema| form_context(schema, vars))
        .unwrap_or_default();
    Ok(ActionForm {
        fields,
        form_schema,
        context,
    })
}

/// Checks the variables a start submits against its start event's form, as
/// a task's completion is checked against the task's.
pub async fn validate_start(
    state: &crate::AppState,
    def: &millrace_engine::definition::ProcessDefinition,
    vars: &Variables,
) -> crate::error::ApiResult<()> {
    match &def.start_form {
        Some(f) => validate_event_form(state, def, f, vars, &Variables::new()).await,
        None => Ok(()),
    }
}

/// Checks `submitted` against an event's form: its `camunda:formData`
/// rules, then its form-js form's, which may read `instance`'s variables
/// (options from a `valuesKey`).
pub async fn validate_event_form(
    state: &crate::AppState,
    def: &millrace_engine::definition::ProcessDefinition,
    f: &EventForm,
    submitted: &Variables,
    instance: &Variables,
) -> crate::error::ApiResult<()> {
    validate(&f.form_fields, submitted)?;
    if let Some(form_ref) = &f.form {
        if let Some(form) = state.store.form(&def.key, def.version, form_ref).await? {
            let context = FormContext {
                variables: instance,
                today: chrono::Utc::now().date_naive(),
            };
            validate_form_js(&form, submitted, &context)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod form_js_tests {
    use super::*;

    const FORM: &str = r#"{"id":"final-meter","type":"default","components":[
      {"type":"number","key":"finalReading","validate":{"required":true,"min":0}},
      {"type":"textfield","key":"meterSerial","validate":{"pattern":"MTR-[0-9]{4}"}},
      {"type":"group","components":[{"type":"select","key":"condition","values":[{"label":"OK","value":"ok"},{"label":"Damaged","value":"damaged"}]}]},
      {"type":"text","text":"Checked on site"}]}"#;

    use super::tests::vars;

    #[test]
    fn form_js_rules_name_the_field() {
        let ok = vars(&[
            ("finalReading", Value::Int(10)),
            ("meterSerial", Value::String("MTR-1234".into())),
            ("condition", Value::String("ok".into())),
        ]);
        let none = Variables::new();
        let context = FormContext {
            variables: &none,
            today: chrono::NaiveDate::from_ymd_opt(2024, 12, 10).unwrap(),
        };
        assert!(validate_form_js(FORM, &ok, &context).is_ok());
        let field = |v: &Variables| validate_form_js(FORM, v, &context).unwrap_err().body.field;
        assert_eq!(field(&Variables::new()), Some("finalReading".into()));
        assert_eq!(
            field(&vars(&[("finalReading", Value::Int(-1))])),
            Some("finalReading".into())
        );
        assert_eq!(
            field(&vars(&[
                ("finalReading", Value::Int(1)),
                ("meterSerial", Value::String("X".into()))
            ])),
            Some("meterSerial".into())
        );
        assert_eq!(
            field(&vars(&[
                ("finalReading", Value::Int(1)),
                ("condition", Value::String("lost".into()))
            ])),
            Some("condition".into())
        );
    }

    const CONFIRM: &str = r#"{"id":"confirm","type":"default","components":[
      {"type":"textfield","key":"reason","validate":{"required":true}},
      {"type":"checklist","key":"checks","validate":{"required":true},"values":[{"label":"A","value":"a"}]},
      {"type":"checkbox","key":"agreed","validate":{"required":true}}]}"#;

    #[test]
    fn empty_text_an_empty_selection_and_an_unticked_box_do_not_answer_a_required_field() {
        let none = Variables::new();
        let context = FormContext {
            variables: &none,
            today: chrono::NaiveDate::from_ymd_opt(2024, 12, 10).unwrap(),
        };
        let answered = [
            ("reason", Value::String("moved".into())),
            ("checks", Value::List(vec![Value::String("a".into())])),
            ("agreed", Value::Bool(true)),
        ];
        assert!(validate_form_js(CONFIRM, &vars(&answered), &context).is_ok());
        let blanks = [
            ("reason", Value::String(String::new())),
            ("checks", Value::List(Vec::new())),
            ("agreed", Value::Bool(false)),
        ];
        for (i, blank) in blanks.into_iter().enumerate() {
            let mut v = answered.to_vec();
            v[i] = blank.clone();
            let e = validate_form_js(CONFIRM, &vars(&v), &context).unwrap_err();
            assert_eq!(e.body.field.as_deref(), Some(blank.0), "{:?}", e.body);
        }
    }

    const SCHEDULE: &str = r#"{"id":"schedule","type":"default","components":[
      {"type":"datetime","key":"preferredDate","subtype":"date","disallowPassedDates":true},
      {"type":"select","key":"timeSlot","valuesKey":"timeSlotOptions"}]}"#;

    #[test]
    fn past_dates_and_options_from_variables_are_checked() {
        let shown = vars(&[(
            "timeSlotOptions",
            Value::List(vec![Value::Map(
                [
                    (
                        "label".to_string(),
                        Value::String("10:00 AM - 12:00 PM".into()),
                    ),
                    ("value".to_string(), Value::String("SLOT-10".into())),
                ]
                .into_iter()
                .collect(),
            )]),
        )]);
        let context = FormContext {
            variables: &shown,
            today: chrono::NaiveDate::from_ymd_opt(2024, 12, 10).unwrap(),
        };
        let check = |date: &str, slot: &str| {
            validate_form_js(
                SCHEDULE,
                &vars(&[
                    ("preferredDate", Value::String(date.into())),
                    ("timeSlot", Value::String(slot.into())),
                ]),
                &context,
            )
        };
        assert!(check("2024-12-10", "SLOT-10").is_ok(), "today is allowed");
        assert!(check("2024-12-15", "SLOT-10").is_ok());
        let past = check("2024-12-09", "SLOT-10").unwrap_err().body;
        assert_eq!(past.field.as_deref(), Some("preferredDate"));
        assert_eq!(past.reason, "Cannot select past date");
        let slot = check("2024-12-15", "SLOT-07").unwrap_err().body;
        assert_eq!(slot.field.as_deref(), Some("timeSlot"));
        // With no options shown, nothing can be chosen.
        let empty = Variables::new();
        let bare = FormContext {
            variables: &empty,
            ..context.clone()
        };
        assert!(validate_form_js(
            SCHEDULE,
            &vars(&[("timeSlot", Value::String("SLOT-10".into()))]),
            &bare
        )
        .is_err());
        // The generated form offers exactly those options.
        let fields = fields_of_form_js(SCHEDULE, &shown).unwrap();
        assert_eq!(fields[1].options.len(), 1);
        assert_eq!(fields[1].options[0].label, "10:00 AM - 12:00 PM");
    }
}

#[cfg(test)]
mod wizard_tests {
    use super::*;

    /// Two branches for the same group, then a shared last step.
    const BRANCHES: &str = r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D" targetNamespace="t">
<process id="p" isExecutable="true">
  <startEvent id="S"/>
  <userTask id="Ask" name="Ask" camunda:candidateGroups="agents"/>
  <exclusiveGateway id="G" default="f3"/>
  <userTask id="Left" name="Left" camunda:candidateGroups="agents"/>
  <userTask id="Right" name="Right" camunda:candidateGroups="agents"/>
  <exclusiveGateway id="J"/>
  <userTask id="Notes" name="Notes" camunda:candidateGroups="agents"/>
  <userTask id="Other" name="Other people's" camunda:candidateGroups="others"/>
  <endEvent id="E"/>
  <sequenceFlow id="f1" sourceRef="S" targetRef="Ask"/>
  <sequenceFlow id="f2" sourceRef="Ask" targetRef="G"/>
  <sequenceFlow id="f3" sourceRef="G" targetRef="Left"/>
  <sequenceFlow id="f4" sourceRef="G" targetRef="Right"><conditionExpression language="rhai">right</conditionExpression></sequenceFlow>
  <sequenceFlow id="f5" sourceRef="Left" targetRef="J"/>
  <sequenceFlow id="f6" sourceRef="Right" targetRef="J"/>
  <sequenceFlow id="f7" sourceRef="J" targetRef="Notes"/>
  <sequenceFlow id="f8" sourceRef="Notes" targetRef="Other"/>
  <sequenceFlow id="f9" sourceRef="Other" targetRef="E"/>
</process></definitions>"#;

    /// A shortcut past a wizard: an existing customer goes straight to Power.
    const SHORTCUT: &str = r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D" targetNamespace="t">
<process id="p" isExecutable="true">
  <startEvent id="S"/>
  <exclusiveGateway id="G" default="f2"/>
  <userTask id="Power" name="Power" camunda:candidateGroups="agents"/>
  <userTask id="W1" name="W1" camunda:candidateGroups="agents"/>
  <userTask id="W2" name="W2" camunda:candidateGroups="agents"/>
  <endEvent id="E"/>
  <sequenceFlow id="f1" sourceRef="S" targetRef="G"/>
  <sequenceFlow id="f2" sourceRef="G" targetRef="Power"/>
  <sequenceFlow id="f3" sourceRef="G" targetRef="W1"><conditionExpression language="rhai">wizard</conditionExpression></sequenceFlow>
  <sequenceFlow id="f4" sourceRef="W1" targetRef="W2"/>
  <sequenceFlow id="f5" sourceRef="W2" targetRef="Power"/>
  <sequenceFlow id="f6" sourceRef="Power" targetRef="E"/>
</process></definitions>"#;

    fn steps(current: &str, done: &[&str]) -> Vec<(String, String)> {
        steps_of(BRANCHES, current, done)
    }

    fn steps_of(bpmn: &str, current: &str, done: &[&str]) -> Vec<(String, String)> {
        let files = std::sync::Arc::new(std::collections::HashMap::new());
        let (defs, _) = millrace_engine::deployment::compile_file(
            &millrace_script::RhaiLanguage,
            "p.bpmn",
            bpmn,
            files,
            1,
        )
        .expect("compiles");
        let done: Vec<String> = done.iter().map(|d| d.to_string()).collect();
        wizard_steps(&defs[0], current, &done)
            .into_iter()
            .map(|s| (s.element_id, s.state))
            .collect()
    }

    #[test]
    fn a_branch_not_taken_is_not_a_step_ahead() {
        let s = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        // At the start every branch is still ahead.
        assert_eq!(
            steps("Ask", &[]),
            s(&[
                ("Ask", "current"),
                ("Left", "ahead"),
                ("Right", "ahead"),
                ("Notes", "ahead")
            ])
        );
        // On the right branch the left one is gone; the other group's step is never one.
        assert_eq!(
            steps("Right", &["Ask"]),
            s(&[("Ask", "done"), ("Right", "current"), ("Notes", "ahead")])
        );
        assert_eq!(
            steps("Notes", &["Ask", "Right"]),
            s(&[("Ask", "done"), ("Right", "done"), ("Notes", "current")])
        );
        // Ahead in the order this request meets them: in the wizard, its
        // second step before Power, which the shortcut reaches sooner.
        assert_eq!(
            steps_of(SHORTCUT, "W1", &[]),
            s(&[("W1", "current"), ("W2", "ahead"), ("Power", "ahead")])
        );
        // Done in the order they were done, whatever the diagram's order.
        assert_eq!(
            steps("Notes", &["Right", "Ask"]),
            s(&[("Right", "done"), ("Ask", "done"), ("Notes", "current")])
        );
    }
}
