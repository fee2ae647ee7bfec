//! Date-times and the business calendar, as Rhai functions: the seeds' rules
//! ("10 business days", "48 hours", SLA due dates) are written with these.

use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Timelike, Utc};
pub use millrace_engine::calendar::BusinessCalendar;
use rhai::{Engine, EvalAltResult, INT};
use rust_decimal::Decimal;

fn parse_datetime(s: &str) -> Result<DateTime<Utc>, Box<EvalAltResult>> {
    millrace_model::timer::parse_date(s).map_err(|e| e.into())
}

/// Registers the date-time type and the calendar functions.
pub fn register(engine: &mut Engine, calendar: BusinessCalendar) {
    let cal = Arc::new(calendar);
    engine
        .register_type_with_name::<DateTime<Utc>>("datetime")
        .register_fn("parse_datetime", |s: &str| parse_datetime(s))
        .register_fn("to_string", |t: &mut DateTime<Utc>| t.to_rfc3339())
        .register_fn("to_debug", |t: &mut DateTime<Utc>| t.to_rfc3339())
        .register_fn("==", |a: DateTime<Utc>, b: DateTime<Utc>| a == b)
        .register_fn("!=", |a: DateTime<Utc>, b: DateTime<Utc>| a != b)
        .register_fn("<", |a: DateTime<Utc>, b: DateTime<Utc>| a < b)
        .register_fn("<=", |a: DateTime<Utc>, b: DateTime<Utc>| a <= b)
        .register_fn(">", |a: DateTime<Utc>, b: DateTime<Utc>| a > b)
        .register_fn(">=", |a: DateTime<Utc>, b: DateTime<Utc>| a >= b)
        .register_fn("add_days", |t: DateTime<Utc>, n: INT| t + Duration::days(n))
        .register_fn("add_hours", |t: DateTime<Utc>, n: INT| {
            t + Duration::hours(n)
        })
        .register_fn("add_minutes", |t: DateTime<Utc>, n: INT| {
            t + Duration::minutes(n)
        })
        .register_fn("add_seconds", |t: DateTime<Utc>, n: INT| {
            t + Duration::seconds(n)
        })
        .register_fn("hours_between", |a: DateTime<Utc>, b: DateTime<Utc>| {
            Decimal::from((b - a).num_seconds()) / Decimal::from(3600)
        })
        .register_fn("days_between", |a: DateTime<Utc>, b: DateTime<Utc>| {
            (b - a).num_days()
        })
        .register_get("year", |t: &mut DateTime<Utc>| t.year() as INT)
        .register_get("month", |t: &mut DateTime<Utc>| t.month() as INT)
        .register_get("day", |t: &mut DateTime<Utc>| t.day() as INT)
        .register_get("hour", |t: &mut DateTime<Utc>| t.hour() as INT)
        .register_get("minute", |t: &mut DateTime<Utc>| t.minute() as INT)
        .register_get("weekday", |t: &mut DateTime<Utc>| {
            t.weekday().number_from_monday() as INT
        });
    let c = cal.clone();
    engine.register_fn("is_business_day", move |t: DateTime<Utc>| {
        c.is_business_day(t.date_naive())
    });
    let c = cal.clone();
    engine.register_fn("add_business_days", move |t: DateTime<Utc>, n: INT| {
        c.add_business_days(t, n)
    });
    let c = cal.clone();
    engine.register_fn(
        "business_days_between",
        move |a: DateTime<Utc>, b: DateTime<Utc>| c.business_days_between(a, b),
    );
    let c = cal.clone();
    engine.register_fn("add_business_hours", move |t: DateTime<Utc>, n: INT| {
        c.add_business_hours(t, n)
    });
    // The same with the days off a process read itself (the `holidays`
    // reference table, which administrators edit): a list of `YYYY-MM-DD`.
    let c = cal.clone();
    engine.register_fn(
        "add_business_days",
        move |t: DateTime<Utc>, n: INT, days_off: rhai::Array| {
            with_days_off(&c, &days_off).map(|cal| cal.add_business_days(t, n))
        },
    );
    let c = cal;
    engine.register_fn(
        "business_days_between",
        move |a: DateTime<Utc>, b: DateTime<Utc>, days_off: rhai::Array| {
            with_days_off(&c, &days_off).map(|cal| cal.business_days_between(a, b))
        },
    );
}

/// `cal` with `days_off` (dates as `YYYY-MM-DD` text) as holidays too.
fn with_days_off(
    cal: &BusinessCalendar,
    days_off: &rhai::Array,
) -> Result<BusinessCalendar, Box<EvalAltResult>> {
    let mut cal = cal.clone();
    for day in days_off {
        let text = day
            .clone()
            .into_string()
            .map_err(|kind| format!("a day off is a date as text (YYYY-MM-DD), not a {kind}"))?;
        let date = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
            .map_err(|e| format!("day off {text:?} is not a date (YYYY-MM-DD): {e}"))?;
        cal.holidays.insert(date);
    }
    Ok(cal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        millrace_model::timer::parse_date(s).expect("date")
    }

    #[test]
    fn ten_business_days_skip_weekends_and_holidays() {
        let mut cal = BusinessCalendar::default();
        // Friday 2024-12-06 + 10 business days = Friday 2024-12-20 ...
        assert_eq!(
            cal.add_business_days(at("2024-12-06T10:00:00Z"), 10),
            at("2024-12-20T10:00:00Z")
        );
        // ... one later with a holiday on Wednesday 2024-12-25 in the way.
        cal.holidays
            .insert(NaiveDate::from_ymd_opt(2024, 12, 25).expect("date"));
        assert_eq!(
            cal.add_business_days(at("2024-12-20T10:00:00Z"), 3),
            at("2024-12-26T10:00:00Z")
        );
        assert_eq!(
            cal.business_days_between(at("2024-12-06T10:00:00Z"), at("2024-12-20T09:00:00Z")),
            10
        );
    }

    #[test]
    fn days_off_read_by_the_process_count_as_holidays() {
        let mut engine = Engine::new();
        register(&mut engine, BusinessCalendar::default());
        let due: DateTime<Utc> = engine
            .eval(r#"add_business_days(parse_datetime("2024-12-20T10:00:00Z"), 3, ["2024-12-25", "2024-12-26"])"#)
            .expect("evaluates");
        assert_eq!(due, at("2024-12-27T10:00:00Z"));
        let between: INT = engine
            .eval(r#"business_days_between(parse_datetime("2024-12-20T10:00:00Z"), parse_datetime("2024-12-27T10:00:00Z"), ["2024-12-25"])"#)
            .expect("evaluates");
        assert_eq!(between, 4);
        let bad = engine.eval::<DateTime<Utc>>(
            r#"add_business_days(parse_datetime("2024-12-20T10:00:00Z"), 3, ["25/12/2024"])"#,
        );
        assert!(bad
            .expect_err("refused")
            .to_string()
            .contains("\"25/12/2024\" is not a date"),);
    }

    #[test]
    fn business_hours_carry_over_nights_and_weekends() {
        let cal = BusinessCalendar::default();
        // Friday 15:00 + 4 working hours = Monday 10:00.
        assert_eq!(
            cal.add_business_hours(at("2024-12-06T15:00:00Z"), 4),
            at("2024-12-09T10:00:00Z")
        );
    }
}
