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

    /// The value as people read it, in JSON (what a form shows and a document
    /// prints): a decimal as its text with its scale (`"200.00"`, not `200`:
    /// a browser or a template would read a JSON number as a float), and an
    /// instant to the minute (`"2024-12-10 09:30 UTC"`).
    pub fn to_shown_json(&self) -> serde_json::Value {
        match self {
            Value::Decimal(d) => serde_json::Value::String(d.to_string()),
            Value::DateTime(t) => {
                serde_json::Value::String(t.format("%Y-%m-%d %H:%M UTC").to_string())
            }
            Value::List(items) => {
                serde_json::Value::Array(items.iter().map(Value::to_shown_json).collect())
            }
            Value::Map(m) => serde_json::Value::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), v.to_shown_json()))
                    .collect(),
            ),
            other => other.to_json(),
        }
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

/// How deep a value may nest: a list or map inside another is one level more.
/// Far below what the stored instance document's JSON reader allows (128), so
/// nothing accepted can become unreadable.
pub const MAX_DEPTH: usize = 32;
/// The most one variable's value may weigh (bytes of its JSON form, about).
pub const MAX_VARIABLE_BYTES: usize = 1024 * 1024;
/// The most the variables of one write (a start, a completion, a message, a
/// signal, one script's run) may weigh together.
pub const MAX_WRITE_BYTES: usize = 4 * 1024 * 1024;
/// The most all of one instance's variables may weigh together.
pub const MAX_INSTANCE_BYTES: usize = 16 * 1024 * 1024;
/// The longest variable name or map key, in bytes.
pub const MAX_NAME_BYTES: usize = 256;

/// Why a value or a set of variables was refused: which variable (with the
/// path inside it) and which limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct LimitError {
    /// The variable, and the keys and indices inside it (`customer.phones[2]`).
    pub path: String,
    /// Which limit it passed.
    pub reason: String,
}

impl Value {
    /// About how many bytes the value's JSON form takes; stops counting once
    /// past `cap` (so a huge value costs no more than `cap` to weigh).
    pub fn weight(&self, cap: usize) -> usize {
        let mut total = 0usize;
        let mut stack = vec![self];
        while let Some(v) = stack.pop() {
            total += match v {
                Value::Null | Value::Bool(_) => 5,
                Value::Int(_) | Value::Decimal(_) => 20,
                Value::DateTime(_) => 32,
                Value::String(s) => s.len() + 2,
                Value::List(items) => {
                    stack.extend(items.iter());
                    2 + items.len()
                }
                Value::Map(m) => {
                    stack.extend(m.values());
                    2 + m.keys().map(|k| k.len() + 4).sum::<usize>()
                }
            };
            if total > cap {
                return total;
            }
        }
        total
    }
}

fn check_name(name: &str, path: &str) -> Result<(), LimitError> {
    let refuse = |reason: String| {
        Err(LimitError {
            path: path.to_string(),
            reason,
        })
    };
    if name.contains('\0') {
        return refuse("a name or key must not contain a NUL character".into());
    }
    if name.len() > MAX_NAME_BYTES {
        return refuse(format!(
            "a name or key has at most {MAX_NAME_BYTES} bytes, not {}",
            name.len()
        ));
    }
    Ok(())
}

/// Checks one value's depth, keys and strings (`path` names it in the error).
fn check_value(value: &Value, path: &str, depth: usize) -> Result<(), LimitError> {
    let refuse = |reason: String| {
        Err(LimitError {
            path: path.to_string(),
            reason,
        })
    };
    match value {
        Value::String(s) if s.contains('\0') => {
            refuse("a text must not contain a NUL character".into())
        }
        Value::List(_) | Value::Map(_) if depth >= MAX_DEPTH => {
            refuse(format!("nests more than {MAX_DEPTH} lists and maps deep"))
        }
        Value::List(items) => {
            for (i, v) in items.iter().enumerate() {
                check_value(v, &format!("{path}[{i}]"), depth + 1)?;
            }
            Ok(())
        }
        Value::Map(m) => {
            for (k, v) in m {
                let inner = format!("{path}.{k}");
                check_name(k, &inner)?;
                check_value(v, &inner, depth + 1)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Checks variables about to be written: names, depth, NUL characters, each
/// variable's weight and all of them together. Returns their total weight.
pub fn check_variables<'a>(
    vars: impl IntoIterator<Item = (&'a String, &'a Value)>,
) -> Result<usize, LimitError> {
    let mut total = 0usize;
    for (name, value) in vars {
        check_name(name, name)?;
        check_value(value, name, 0)?;
        let w = value.weight(MAX_VARIABLE_BYTES);
        if w > MAX_VARIABLE_BYTES {
            return Err(LimitError {
                path: name.clone(),
                reason: format!(
                    "a variable weighs at most {} KiB",
                    MAX_VARIABLE_BYTES / 1024
                ),
            });
        }
        total += w;
        if total > MAX_WRITE_BYTES {
            return Err(LimitError {
                path: name.clone(),
                reason: format!(
                    "the variables written at once weigh at most {} MiB together",
                    MAX_WRITE_BYTES / (1024 * 1024)
                ),
            });
        }
    }
    Ok(total)
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

    #[test]
    fn limits_name_the_variable_and_the_place_inside_it() {
        let deep = (0..40).fold(Value::Int(1), |v, _| Value::List(vec![v]));
        let vars: Variables = [("x".to_string(), deep)].into_iter().collect();
        let e = check_variables(&vars).expect_err("too deep");
        assert!(e.path.starts_with("x[0][0]"), "{e}");
        let nul: Variables = [(
            "m".to_string(),
            Value::Map([("a\0".to_string(), Value::Null)].into_iter().collect()),
        )]
        .into_iter()
        .collect();
        assert_eq!(
            check_variables(&nul).map_err(|e| e.path),
            Err("m.a\0".into())
        );
        let big: Variables = [(
            "s".to_string(),
            Value::String("x".repeat(MAX_VARIABLE_BYTES)),
        )]
        .into_iter()
        .collect();
        assert!(check_variables(&big).is_err());
        let fine: Variables = [("s".to_string(), Value::String("x".repeat(1000)))]
            .into_iter()
            .collect();
        assert!(check_variables(&fine).is_ok_and(|w| w >= 1000));
    }
}
