//! Service-level agreements: the targets a process or an activity declares
//! in `camunda:properties`, and the clocks that measure them in an instance.
//!
//! A process declares `sla.<name>` (the target) and optionally
//! `sla.<name>.hours` (`calendar`, the default, or `business`),
//! `sla.<name>.startedBy` (the element whose completion starts the clock;
//! without it the clock starts with the instance), `sla.<name>.metBy` (the
//! elements, comma-separated, whose completion meets it; without it the
//! instance's completion does) and `sla.<name>.escalation` (the escalation
//! code thrown when it is breached, caught by an escalation event
//! sub-process or boundary event as the BPMN models it). An activity
//! declares the same; its clock starts when the activity is entered and is
//! met when it completes, unless `startedBy` / `metBy` say otherwise, and its
//! breach is thrown from the activity (its escalation boundary events catch
//! it first). The process's `sla.daysOff` names a variable holding the days
//! off (`YYYY-MM-DD`) that business hours skip besides weekends.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::definition::{Code, NodeIx};
use crate::instance::LocalId;

/// The property prefix of every SLA declaration.
pub const PREFIX: &str = "sla.";

/// How long a target is.
#[derive(Debug, Clone)]
pub enum SlaTarget {
    /// Written as a number of hours or an ISO 8601 duration.
    Fixed(Duration),
    /// A `${…}` expression read when the clock starts (a process that reads
    /// its targets from settings): a number of hours or an ISO duration.
    Expression(Code),
}

/// One declared target, compiled with its version.
#[derive(Debug, Clone)]
pub struct SlaSpec {
    /// The name after `sla.` (`acknowledgement`, `resolution`).
    pub name: String,
    /// The activity that declares it; `None`: the process.
    pub element: Option<NodeIx>,
    /// How long.
    pub target: SlaTarget,
    /// Counted in working time of the business calendar, not calendar time.
    pub business_hours: bool,
    /// The element whose completion starts the clock.
    pub started_by: Option<NodeIx>,
    /// The elements whose completion meets it (empty: the declaring
    /// activity's, or the instance's).
    pub met_by: Vec<NodeIx>,
    /// The escalation code thrown on a breach.
    pub escalation: Option<String>,
}

/// One `sla.<name>` declaration as written, before ids are resolved.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Declared {
    pub name: String,
    pub target: Option<String>,
    pub hours: Option<String>,
    pub started_by: Option<String>,
    pub met_by: Vec<String>,
    pub escalation: Option<String>,
}

/// The SLA declarations among `properties` (of the element `at`), grouped
/// by name; `sla.daysOff` is the process's and is skipped here.
pub(crate) fn declarations(
    properties: &[(String, String)],
    at: &str,
) -> Result<Vec<Declared>, String> {
    let mut out: Vec<Declared> = Vec::new();
    for (key, value) in properties {
        let Some(rest) = key.strip_prefix(PREFIX) else {
            continue;
        };
        if rest == "daysOff" {
            continue;
        }
        let (name, attribute) = match rest.split_once('.') {
            Some((n, a)) => (n, Some(a)),
            None => (rest, None),
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
        {
            return Err(format!(
                "{at}: property {key:?}: an SLA's name is letters, digits, '-' or '_' (sla.resolution)"
            ));
        }
        let ix = match out.iter().position(|d| d.name == name) {
            Some(ix) => ix,
            None => {
                out.push(Declared {
                    name: name.to_string(),
                    ..Declared::default()
                });
                out.len() - 1
            }
        };
        let d = &mut out[ix];
        let value = value.trim().to_string();
        match attribute {
            None => d.target = Some(value),
            Some("hours") => d.hours = Some(value),
            Some("startedBy") => d.started_by = Some(value),
            Some("metBy") => {
                d.met_by = value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            }
            Some("escalation") => d.escalation = Some(value),
            Some(other) => {
                return Err(format!(
                    "{at}: property {key:?}: an SLA has no {other:?}; write sla.{name} (the target), sla.{name}.hours, .startedBy, .metBy or .escalation"
                ))
            }
        }
    }
    for d in &out {
        if d.target.as_deref().is_none_or(str::is_empty) {
            return Err(format!(
                "{at}: SLA {:?} has no target: add the property sla.{} with a number of hours (24) or a duration (PT24H)",
                d.name, d.name
            ));
        }
        if let Some(h) = &d.hours {
            if h != "business" && h != "calendar" {
                return Err(format!(
                    "{at}: property sla.{}.hours is {h:?}: write business or calendar",
                    d.name
                ));
            }
        }
    }
    Ok(out)
}

/// A target written as a number of hours (`24`, `1.5`) or an exact ISO 8601
/// duration (`PT2H`, `P1D`; no years or months, whose length varies).
pub fn parse_target(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(hours) = text.parse::<rust_decimal::Decimal>() {
        let seconds = (hours * rust_decimal::Decimal::from(3600)).round();
        return match i64::try_from(seconds) {
            Ok(s) if s > 0 => Ok(Duration::seconds(s)),
            _ => Err(format!("{text:?} is not a positive number of hours")),
        };
    }
    let d = millrace_model::timer::parse_duration(text).map_err(|e| {
        format!("{text:?} is neither a number of hours (24) nor a duration (PT24H): {e}")
    })?;
    if d.years != 0 || d.months != 0 {
        return Err(format!(
            "{text:?}: years and months have no fixed length; write days (P30D) or hours"
        ));
    }
    let span = d.after(DateTime::<Utc>::UNIX_EPOCH) - DateTime::<Utc>::UNIX_EPOCH;
    if span <= Duration::zero() {
        return Err(format!("{text:?} is not a positive duration"));
    }
    Ok(span)
}

/// One SLA's clock in one instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlaClock {
    /// Its id in the instance; also the id of the job that breaches it.
    pub id: LocalId,
    /// The SLA's name.
    pub name: String,
    /// The BPMN id of the activity that declares it; `None`: the process.
    pub element: Option<String>,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When the target falls due.
    pub due_at: DateTime<Utc>,
    /// The target, in seconds (of working time for business hours).
    pub target_seconds: i64,
    /// Counted in working time.
    pub business_hours: bool,
    /// When it was met.
    pub met_at: Option<DateTime<Utc>>,
    /// How long it took to meet, in seconds (of working time for business hours).
    pub achieved_seconds: Option<i64>,
    /// Its due time passed before it was met.
    pub breached: bool,
    /// It stopped unmet without being breached: its activity was cancelled,
    /// or the instance ended another way.
    pub cancelled: bool,
    /// The first candidate group of the task that declares it, for reports per group.
    pub group: Option<String>,
}

/// Where an SLA stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaStatus {
    /// Running, not yet due.
    OnTrack,
    /// Due and not met.
    Breached,
    /// Met in time.
    Met,
    /// Met after it fell due.
    MetLate,
    /// Stopped unmet before it fell due.
    Cancelled,
}

impl SlaStatus {
    /// The status's name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            SlaStatus::OnTrack => "onTrack",
            SlaStatus::Breached => "breached",
            SlaStatus::Met => "met",
            SlaStatus::MetLate => "metLate",
            SlaStatus::Cancelled => "cancelled",
        }
    }
}

impl SlaClock {
    /// Still measuring: neither met nor stopped.
    pub fn running(&self) -> bool {
        self.met_at.is_none() && !self.cancelled
    }

    /// Where it stands at `now`: a running clock past its due time is
    /// breached even before its breach job has run.
    pub fn status(&self, now: DateTime<Utc>) -> SlaStatus {
        match self.met_at {
            Some(met) if self.breached || met > self.due_at => SlaStatus::MetLate,
            Some(_) => SlaStatus::Met,
            None if self.cancelled && !self.breached => SlaStatus::Cancelled,
            None if self.breached || now >= self.due_at => SlaStatus::Breached,
            None => SlaStatus::OnTrack,
        }
    }
}

/// Seconds as hours with two decimals (`2.50`), as staff read them.
pub fn hours_text(seconds: i64) -> String {
    let hours = rust_decimal::Decimal::from(seconds) / rust_decimal::Decimal::from(3600);
    format!("{:.2}", hours.round_dp(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn declarations_group_by_name_and_name_what_is_wrong() {
        let d = declarations(
            &props(&[
                ("sla.ack", "2"),
                ("sla.ack.metBy", "Task_A, Task_B"),
                ("sla.resolution", "PT24H"),
                ("sla.resolution.hours", "business"),
                ("sla.daysOff", "holidays"),
                ("other", "x"),
            ]),
            "process p",
        )
        .expect("valid");
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].met_by, vec!["Task_A", "Task_B"]);
        assert_eq!(d[1].hours.as_deref(), Some("business"));
        let err = declarations(&props(&[("sla.ack.metby", "X")]), "Task_T").expect_err("refused");
        assert!(err.contains("Task_T") && err.contains("\"metby\""), "{err}");
        let err = declarations(&props(&[("sla.ack.metBy", "X")]), "p").expect_err("refused");
        assert!(err.contains("has no target"), "{err}");
        let err = declarations(&props(&[("sla.ack", "2"), ("sla.ack.hours", "work")]), "p")
            .expect_err("refused");
        assert!(err.contains("business or calendar"), "{err}");
    }

    #[test]
    fn targets_are_hours_or_exact_durations() {
        assert_eq!(parse_target("2").expect("hours"), Duration::hours(2));
        assert_eq!(parse_target("1.5").expect("hours"), Duration::minutes(90));
        assert_eq!(parse_target("PT4H").expect("iso"), Duration::hours(4));
        assert_eq!(parse_target("P1D").expect("iso"), Duration::hours(24));
        assert!(parse_target("P1M")
            .expect_err("months")
            .contains("no fixed length"));
        assert!(parse_target("0").is_err());
        assert!(parse_target("soon").expect_err("text").contains("neither"));
    }

    #[test]
    fn a_running_clock_past_due_is_breached_before_its_job_runs() {
        let t0 = DateTime::<Utc>::UNIX_EPOCH;
        let mut c = SlaClock {
            id: 1,
            name: "ack".into(),
            element: None,
            started_at: t0,
            due_at: t0 + Duration::hours(2),
            target_seconds: 7200,
            business_hours: false,
            met_at: None,
            achieved_seconds: None,
            breached: false,
            cancelled: false,
            group: None,
        };
        assert_eq!(c.status(t0 + Duration::hours(1)), SlaStatus::OnTrack);
        assert_eq!(c.status(t0 + Duration::hours(2)), SlaStatus::Breached);
        c.met_at = Some(t0 + Duration::hours(3));
        assert_eq!(c.status(t0 + Duration::hours(4)), SlaStatus::MetLate);
        c.met_at = Some(t0 + Duration::minutes(90));
        assert_eq!(c.status(t0 + Duration::hours(4)), SlaStatus::Met);
        assert_eq!(hours_text(5400), "1.50");
    }
}
