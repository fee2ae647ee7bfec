//! ISO 8601 timer values: dates, durations and repeating cycles, as BPMN
//! timer event definitions carry them. Pure parsing and arithmetic; the
//! current time is always an argument.

use chrono::{DateTime, Duration, FixedOffset, Months, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// An ISO 8601 duration (`P1Y2M3DT4H5M6S`, `P2W`). Years and months are
/// calendar units, applied to a start date; the rest are exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct IsoDuration {
    /// Years.
    pub years: u32,
    /// Months.
    pub months: u32,
    /// Weeks.
    pub weeks: u32,
    /// Days.
    pub days: u32,
    /// Hours.
    pub hours: u32,
    /// Minutes.
    pub minutes: u32,
    /// Whole seconds.
    pub seconds: u32,
    /// Milliseconds (from a fractional seconds part).
    pub millis: u32,
}

impl IsoDuration {
    /// The instant this duration after `from`.
    pub fn after(&self, from: DateTime<Utc>) -> DateTime<Utc> {
        let months = self.years.saturating_mul(12).saturating_add(self.months);
        let base = from
            .checked_add_months(Months::new(months))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let exact = Duration::weeks(self.weeks as i64)
            + Duration::days(self.days as i64)
            + Duration::hours(self.hours as i64)
            + Duration::minutes(self.minutes as i64)
            + Duration::seconds(self.seconds as i64)
            + Duration::milliseconds(self.millis as i64);
        base.checked_add_signed(exact)
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// Whether the duration is zero.
    pub fn is_zero(&self) -> bool {
        *self == IsoDuration::default()
    }
}

/// A parsed timer value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimerValue {
    /// `timeDate`: one instant.
    Date(DateTime<Utc>),
    /// `timeDuration`: once, this long after the timer starts.
    Duration(IsoDuration),
    /// `timeCycle`: `R[n]/[start/]duration`; `repetitions` `None` repeats without end.
    Cycle {
        /// How many times it fires; `None` for no end.
        repetitions: Option<u32>,
        /// An explicit first start, when given.
        start: Option<DateTime<Utc>>,
        /// The time between firings.
        interval: IsoDuration,
    },
}

impl TimerValue {
    /// When the timer first fires, for a timer that starts at `now`.
    pub fn first_due(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            TimerValue::Date(d) => *d,
            TimerValue::Duration(d) => d.after(now),
            TimerValue::Cycle {
                start, interval, ..
            } => match start {
                Some(s) => *s,
                None => interval.after(now),
            },
        }
    }
}

/// Parses `PnYnMnWnDTnHnMnS`.
pub fn parse_duration(text: &str) -> Result<IsoDuration, String> {
    let t = text.trim();
    let body = t.strip_prefix('P').ok_or_else(|| {
        format!("{t:?} is not an ISO 8601 duration: it must start with P (as in PT48H or P10D)")
    })?;
    if body.is_empty() || body == "T" {
        return Err(format!("{t:?} is an empty duration"));
    }
    let mut d = IsoDuration::default();
    let mut in_time = false;
    let mut number = String::new();
    let mut any = false;
    for c in body.chars() {
        match c {
            '0'..='9' | '.' | ',' => number.push(c),
            'T' if !in_time && number.is_empty() => in_time = true,
            unit => {
                if number.is_empty() {
                    return Err(format!("{t:?}: the unit {unit} has no number before it"));
                }
                let (whole, frac) = match number.split_once(['.', ',']) {
                    Some((w, f)) => (w, Some(f)),
                    None => (number.as_str(), None),
                };
                let value: u32 = whole
                    .parse()
                    .map_err(|_| format!("{t:?}: {number:?} is not a whole number"))?;
                let slot = match (in_time, unit) {
                    (false, 'Y') => &mut d.years,
                    (false, 'M') => &mut d.months,
                    (false, 'W') => &mut d.weeks,
                    (false, 'D') => &mut d.days,
                    (true, 'H') => &mut d.hours,
                    (true, 'M') => &mut d.minutes,
                    (true, 'S') => &mut d.seconds,
                    _ => return Err(format!("{t:?}: {unit:?} is not a duration unit here")),
                };
                *slot = value;
                if let Some(f) = frac {
                    if !(in_time && unit == 'S') {
                        return Err(format!("{t:?}: only seconds may have a fraction"));
                    }
                    let digits: String = f.chars().chain("000".chars()).take(3).collect();
                    d.millis = digits
                        .parse()
                        .map_err(|_| format!("{t:?}: {f:?} is not a fraction"))?;
                }
                number.clear();
                any = true;
            }
        }
    }
    if !number.is_empty() || !any {
        return Err(format!("{t:?}: the number {number:?} has no unit"));
    }
    Ok(d)
}

/// Parses an ISO 8601 date-time. A value with no offset is read as UTC.
pub fn parse_date(text: &str) -> Result<DateTime<Utc>, String> {
    let t = text.trim();
    if let Ok(d) = DateTime::<FixedOffset>::parse_from_rfc3339(t) {
        return Ok(d.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(n) = NaiveDateTime::parse_from_str(t, fmt) {
            return Ok(Utc.from_utc_datetime(&n));
        }
    }
    if let Ok(day) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        if let Some(n) = day.and_hms_opt(0, 0, 0) {
            return Ok(Utc.from_utc_datetime(&n));
        }
    }
    Err(format!(
        "{t:?} is not an ISO 8601 date-time (as in 2024-12-10T09:30:00Z)"
    ))
}

/// Parses `R[n]/duration`, `R[n]/start/duration`.
pub fn parse_cycle(text: &str) -> Result<TimerValue, String> {
    let t = text.trim();
    let mut parts = t.split('/');
    let head = parts.next().unwrap_or("");
    let reps = head.strip_prefix('R').ok_or_else(|| {
        format!("{t:?} is not an ISO 8601 cycle: it must start with R (as in R3/PT1H or R/P1D)")
    })?;
    let repetitions = if reps.is_empty() {
        None
    } else {
        Some(
            reps.parse::<u32>()
                .map_err(|_| format!("{t:?}: the repeat count {reps:?} is not a whole number"))?,
        )
    };
    let rest: Vec<&str> = parts.collect();
    let (start, interval) = match rest.as_slice() {
        [d] => (None, parse_duration(d)?),
        [s, d] if s.starts_with('P') => {
            // `R/duration/end` is valid ISO 8601 but has no meaning for a timer start.
            let _ = s;
            return Err(format!(
                "{t:?}: a cycle ending at a date is not supported; use R[n]/start/duration"
            ));
        }
        [s, d] => (Some(parse_date(s)?), parse_duration(d)?),
        _ => return Err(format!("{t:?} is not an ISO 8601 cycle (as in R3/PT1H)")),
    };
    if interval.is_zero() {
        return Err(format!("{t:?}: a cycle needs an interval longer than zero"));
    }
    Ok(TimerValue::Cycle {
        repetitions,
        start,
        interval,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        parse_date(s).expect("date")
    }

    #[test]
    fn durations_parse_every_unit() {
        let d = parse_duration("P1Y2M3W4DT5H6M7.5S").expect("parses");
        assert_eq!(
            d,
            IsoDuration {
                years: 1,
                months: 2,
                weeks: 3,
                days: 4,
                hours: 5,
                minutes: 6,
                seconds: 7,
                millis: 500
            }
        );
    }

    #[test]
    fn bad_durations_say_why() {
        assert!(parse_duration("48H")
            .unwrap_err()
            .contains("must start with P"));
        assert!(parse_duration("PT").unwrap_err().contains("empty"));
        assert!(parse_duration("P1H").unwrap_err().contains("'H'"));
        assert!(parse_duration("PT5").unwrap_err().contains("no unit"));
    }

    #[test]
    fn month_arithmetic_clamps_to_the_month_end() {
        let d = parse_duration("P1M").expect("parses");
        assert_eq!(
            d.after(at("2024-01-31T10:00:00Z")),
            at("2024-02-29T10:00:00Z")
        );
    }

    #[test]
    fn cycles_fire_first_one_interval_after_start() {
        let c = parse_cycle("R2/PT1H").expect("parses");
        assert_eq!(
            c.first_due(at("2024-01-01T00:00:00Z")),
            at("2024-01-01T01:00:00Z")
        );
        assert!(matches!(
            c,
            TimerValue::Cycle {
                repetitions: Some(2),
                ..
            }
        ));
        assert!(matches!(
            parse_cycle("R/P1D"),
            Ok(TimerValue::Cycle {
                repetitions: None,
                ..
            })
        ));
        assert!(parse_cycle("PT1H").is_err());
    }

    #[test]
    fn dates_without_offset_are_utc() {
        assert_eq!(at("2024-12-10T09:30:00"), at("2024-12-10T09:30:00Z"));
    }
}
