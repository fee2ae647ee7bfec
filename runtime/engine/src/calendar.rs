//! The business calendar: working days, working hours and holidays, and the
//! arithmetic over them that timers, scripts and SLAs share. Pure: every
//! instant is an argument.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};

/// Working days, working hours and holidays. Times are UTC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessCalendar {
    /// The working days of the week, Monday first.
    pub workdays: [bool; 7],
    /// When a working day starts.
    pub day_start: NaiveTime,
    /// When a working day ends.
    pub day_end: NaiveTime,
    /// Days off that would otherwise be working days.
    pub holidays: BTreeSet<NaiveDate>,
}

impl Default for BusinessCalendar {
    /// Monday to Friday, 08:00 to 17:00, no holidays.
    fn default() -> Self {
        BusinessCalendar {
            workdays: [true, true, true, true, true, false, false],
            day_start: NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default(),
            day_end: NaiveTime::from_hms_opt(17, 0, 0).unwrap_or_default(),
            holidays: BTreeSet::new(),
        }
    }
}

impl BusinessCalendar {
    /// Whether this date is a working day.
    pub fn is_business_day(&self, d: NaiveDate) -> bool {
        self.workdays[d.weekday().num_days_from_monday() as usize] && !self.holidays.contains(&d)
    }

    /// The instant `n` business days after `t`, at the same time of day
    /// (`n` may be negative). The day of `t` itself does not count.
    pub fn add_business_days(&self, t: DateTime<Utc>, n: i64) -> DateTime<Utc> {
        let step = if n >= 0 { 1 } else { -1 };
        let mut left = n.abs();
        let mut d = t;
        // A calendar with no working day would never finish; 366 × n days is a hard stop.
        let mut guard = 366 * (left + 1);
        while left > 0 && guard > 0 {
            d += Duration::days(step);
            if self.is_business_day(d.date_naive()) {
                left -= 1;
            }
            guard -= 1;
        }
        d
    }

    /// Business days from `a` to `b`: working days after `a`'s date up to and including `b`'s.
    pub fn business_days_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> i64 {
        let (from, to, sign) = if a <= b { (a, b, 1) } else { (b, a, -1) };
        let mut d = from.date_naive();
        let end = to.date_naive();
        let mut count = 0;
        while d < end {
            d = d.succ_opt().unwrap_or(end);
            if self.is_business_day(d) {
                count += 1;
            }
        }
        count * sign
    }

    /// The instant `hours` working hours after `t`, counting only working time.
    pub fn add_business_hours(&self, t: DateTime<Utc>, hours: i64) -> DateTime<Utc> {
        self.add_business_time(t, Duration::hours(hours.max(0)))
    }

    /// The instant `span` of working time after `t` (nights, days off and
    /// holidays do not count).
    pub fn add_business_time(&self, t: DateTime<Utc>, span: Duration) -> DateTime<Utc> {
        let mut left = span.max(Duration::zero());
        let mut now = t;
        // One pass per day at most; ten years of days is a hard stop for a
        // calendar with no working time at all.
        let mut guard = 366 * 10 + left.num_hours() * 2;
        while left > Duration::zero() && guard > 0 {
            guard -= 1;
            let day = now.date_naive();
            let start = Utc.from_utc_datetime(&day.and_time(self.day_start));
            let end = Utc.from_utc_datetime(&day.and_time(self.day_end));
            if !self.is_business_day(day) || now >= end {
                now = Utc.from_utc_datetime(&(day + Duration::days(1)).and_time(self.day_start));
                continue;
            }
            if now < start {
                now = start;
            }
            let available = end - now;
            if available >= left {
                return now + left;
            }
            left -= available;
            now = end;
        }
        now
    }

    /// The working time from `a` to `b` (zero when `b` is not after `a`).
    pub fn business_time_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> Duration {
        let mut total = Duration::zero();
        let mut day = a.date_naive();
        let last = b.date_naive();
        while a < b && day <= last {
            if self.is_business_day(day) {
                let start = Utc.from_utc_datetime(&day.and_time(self.day_start)).max(a);
                let end = Utc.from_utc_datetime(&day.and_time(self.day_end)).min(b);
                if end > start {
                    total += end - start;
                }
            }
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        millrace_model::timer::parse_date(s).expect("date")
    }

    #[test]
    fn business_time_skips_nights_weekends_and_holidays_both_ways() {
        let mut cal = BusinessCalendar::default();
        // Friday 15:00 + 4 h 30 of working time = Monday 10:30.
        let due = cal.add_business_time(at("2024-12-06T15:00:00Z"), Duration::minutes(270));
        assert_eq!(due, at("2024-12-09T10:30:00Z"));
        assert_eq!(
            cal.business_time_between(at("2024-12-06T15:00:00Z"), due),
            Duration::minutes(270)
        );
        // Before the day starts counts from its start; a holiday not at all.
        cal.holidays
            .insert(NaiveDate::from_ymd_opt(2024, 12, 9).expect("date"));
        assert_eq!(
            cal.add_business_time(at("2024-12-06T15:00:00Z"), Duration::minutes(270)),
            at("2024-12-10T10:30:00Z")
        );
        assert_eq!(
            cal.business_time_between(at("2024-12-10T06:00:00Z"), at("2024-12-10T09:15:00Z")),
            Duration::minutes(75)
        );
        assert_eq!(
            cal.business_time_between(at("2024-12-10T09:00:00Z"), at("2024-12-10T08:00:00Z")),
            Duration::zero()
        );
    }
}
