//! Server-side validation of a task's submitted variables against the form
//! the task declares (`camunda:formData`), whatever the browser did.

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
        let Some(value) = value else {
            if constraint(f, "required").is_some() {
                return Err(ApiError::field(&f.id, "this field is required"));
            }
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

    fn vars(pairs: &[(&str, Value)]) -> Variables {
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
