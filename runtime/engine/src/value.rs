//! Process variable values: JSON-like, with exact decimals and date-times.
//! The engine has no floats: a JSON number with a fraction or an exponent is
//! read as a decimal, exactly as written.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;

/// A variable's value. Its serde form is tagged (`{"Decimal":"1.50"}`) so a
/// stored value reads back with its exact type; the API uses [`Value::to_json`].
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub enum Value {
    /// No value.
    #[default]
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// An exact decimal number (money, rates).
    Decimal(#[serde(with = "rust_decimal::serde::str")] Decimal),
    /// Text.
    String(String),
    /// An instant, in UTC.
    DateTime(DateTime<Utc>),
    /// An ordered list.
    List(Vec<Value>),
    /// A map from names to values.
    Map(BTreeMap<String, Value>),
}

/// Why a JSON document is not a variable value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(pub String);

impl Value {
    /// The name of the value's type, as the API and history show it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Decimal(_) => "decimal",
            Value::String(_) => "string",
            Value::DateTime(_) => "datetime",
            Value::List(_) => "list",
            Value::Map(_) => "map",
        }
    }

    /// Reads a JSON value. Numbers keep their exact digits: whole numbers that
    /// fit become integers, all others decimals.
    pub fn from_json(json: &serde_json::Value) -> Result<Value, ValueError> {
        Ok(match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => number_from_text(&n.to_string())?,
            serde_json::Value::String(s) => Value::String(s.clone()),
            serde_json::Value::Array(items) => Value::List(
                items
                    .iter()
                    .map(Value::from_json)
                    .collect::<Result<_, _>>()?,
            ),
            serde_json::Value::Object(map) => Value::Map(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), Value::from_json(v)?)))
                    .collect::<Result<_, ValueError>>()?,
            ),
        })
    }

    /// Writes the value as JSON: decimals as exact JSON numbers, date-times as RFC 3339 strings.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Decimal(d) => {
                // Invariant: a Decimal's Display is always a valid JSON number.
                serde_json::Number::from_str(&d.normalize().to_string())
                    .map(serde_json::Value::Number)
                    .unwrap_or_else(|_| serde_json::Value::String(d.to_string()))
            }
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::DateTime(t) => {
                serde_json::Value::String(t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
            }
            Value::List(items) => {
                serde_json::Value::Array(items.iter().map(Value::to_json).collect())
            }
            Value::Map(map) => serde_json::Value::Object(
                map.iter().map(|(k, v)| (k.clone(), v.to_json())).collect(),
            ),
        }
    }

    /// Equality by value: `25`, `25.0` and `25.00` are the same number; a
    /// date-time equals its RFC 3339 text.
    pub fn same_value(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Int(a), Value::Decimal(b)) | (Value::Decimal(b), Value::Int(a)) => {
                Decimal::from(*a) == *b
            }
            (Value::Decimal(a), Value::Decimal(b)) => a == b,
            (Value::DateTime(a), Value::String(b)) | (Value::String(b), Value::DateTime(a)) => {
                DateTime::parse_from_rfc3339(b).is_ok_and(|b| b == *a)
            }
            (Value::List(a), Value::List(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same_value(y))
            }
            (Value::Map(a), Value::Map(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .all(|(k, v)| b.get(k).is_some_and(|w| v.same_value(w)))
            }
            _ => self == other,
        }
    }

    /// Truthiness is not guessed: only a boolean is a boolean.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// A whole number, from an integer or a decimal with no fraction.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Decimal(d) if d.fract().is_zero() => i64::try_from(*d).ok(),
            _ => None,
        }
    }
}

fn number_from_text(text: &str) -> Result<Value, ValueError> {
    if let Ok(i) = text.parse::<i64>() {
        return Ok(Value::Int(i));
    }
    Decimal::from_str_exact(text)
        .or_else(|_| Decimal::from_scientific(text))
        .map(Value::Decimal)
        .map_err(|e| ValueError(format!("the number {text} cannot be held exactly: {e}")))
}

/// Named variables.
pub type Variables = BTreeMap<String, Value>;

/// Reads a JSON object as variables; anything else is refused.
pub fn variables_from_json(json: &serde_json::Value) -> Result<Variables, ValueError> {
    match Value::from_json(json)? {
        Value::Map(m) => Ok(m),
        Value::Null => Ok(Variables::new()),
        other => Err(ValueError(format!(
            "variables must be a JSON object, not a {}",
            other.type_name()
        ))),
    }
}

/// Writes variables as a JSON object.
pub fn variables_to_json(vars: &Variables) -> serde_json::Value {
    Value::Map(vars.clone()).to_json()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(s: &str) -> Value {
        Value::from_json(&serde_json::from_str(s).expect("json")).expect("value")
    }

    #[test]
    fn fractions_are_exact_decimals() {
        assert_eq!(json("456.78"), Value::Decimal(Decimal::new(45678, 2)));
        assert_eq!(json("0.1").to_json().to_string(), "0.1");
        assert_eq!(json("1e3"), Value::Decimal(Decimal::new(1000, 0)));
        assert_eq!(json("25"), Value::Int(25));
    }

    #[test]
    fn numbers_compare_by_value() {
        assert!(json("25").same_value(&json("25.00")));
        assert!(!json("25").same_value(&json("25.01")));
    }

    #[test]
    fn non_object_variables_are_refused() {
        let err = variables_from_json(&serde_json::json!([1])).unwrap_err();
        assert!(err.0.contains("JSON object"));
    }
}
