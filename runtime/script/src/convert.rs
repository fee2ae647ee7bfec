//! Between the engine's values and Rhai's.

use chrono::{DateTime, Utc};
use millrace_engine::value::Value;
use rhai::{Dynamic, Map};

/// A value as Rhai sees it.
pub fn to_dynamic(v: &Value) -> Dynamic {
    match v {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => Dynamic::from_bool(*b),
        Value::Int(i) => Dynamic::from_int(*i),
        Value::Decimal(d) => Dynamic::from_decimal(*d),
        Value::String(s) => Dynamic::from(s.clone()),
        Value::DateTime(t) => Dynamic::from(*t),
        Value::List(items) => Dynamic::from_array(items.iter().map(to_dynamic).collect()),
        Value::Map(m) => {
            let map: Map = m
                .iter()
                .map(|(k, v)| (k.as_str().into(), to_dynamic(v)))
                .collect();
            Dynamic::from_map(map)
        }
    }
}

/// A Rhai value as a variable value; what cannot be stored says so.
pub fn from_dynamic(d: Dynamic) -> Result<Value, String> {
    if d.is_unit() {
        return Ok(Value::Null);
    }
    if let Ok(b) = d.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Ok(i) = d.as_int() {
        return Ok(Value::Int(i));
    }
    if let Ok(dec) = d.as_decimal() {
        return Ok(Value::Decimal(dec));
    }
    if d.is_string() {
        return d
            .into_string()
            .map(Value::String)
            .map_err(|t| format!("is a {t}"));
    }
    if let Ok(c) = d.as_char() {
        return Ok(Value::String(c.to_string()));
    }
    if d.is::<DateTime<Utc>>() {
        return d
            .try_cast::<DateTime<Utc>>()
            .map(Value::DateTime)
            .ok_or_else(|| "is not a date-time".into());
    }
    if d.is_array() {
        let items = d.into_array().map_err(|t| format!("is a {t}"))?;
        return items
            .into_iter()
            .map(from_dynamic)
            .collect::<Result<_, _>>()
            .map(Value::List);
    }
    if d.is_map() {
        let map = d.try_cast::<Map>().ok_or("is not a map")?;
        return map
            .into_iter()
            .map(|(k, v)| Ok((k.to_string(), from_dynamic(v)?)))
            .collect::<Result<_, String>>()
            .map(Value::Map);
    }
    Err(format!(
        "is a {}, which cannot be stored in a variable",
        d.type_name()
    ))
}
