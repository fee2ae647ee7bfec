//! SLA clocks: started, met, stopped and breached as the instance moves
//! (see [`crate::sla`] for what a process declares).

use chrono::{Duration, NaiveDate};

use super::*;
use crate::calendar::BusinessCalendar;
use crate::sla::{hours_text, parse_target, SlaClock, SlaSpec, SlaTarget};

impl Exec<'_> {
    /// The process's clocks that start with the instance (no `startedBy`),
    /// once its start variables are set.
    pub(super) fn sla_instance_started(&mut self) {
        let starting: Vec<usize> = (0..self.def.slas.len())
            .filter(|&i| {
                let s = &self.def.slas[i];
                s.element.is_none() && s.started_by.is_none()
            })
            .collect();
        for i in starting {
            self.sla_start(i);
        }
    }

    /// What an element starting, completing or being cancelled, or the
    /// instance ending, does to the clocks.
    pub(super) fn sla_event(&mut self, event: &HistoryEvent) {
        match event {
            HistoryEvent::ActivityStarted { node } => {
                let Some(ix) = self.def.node_ix(node) else {
                    return;
                };
                let starting: Vec<usize> = (0..self.def.slas.len())
                    .filter(|&i| {
                        let s = &self.def.slas[i];
                        s.element == Some(ix) && s.started_by.is_none()
                    })
                    .collect();
                for i in starting {
                    self.sla_start(i);
                }
            }
            HistoryEvent::ActivityCompleted { node } => {
                let Some(ix) = self.def.node_ix(node) else {
                    return;
                };
                // Met first: an element that meets one clock and starts the
                // next (acknowledged, now the response runs) does both.
                let mut meeting = Vec::new();
                let mut own_met = std::collections::HashSet::new();
                for (c, clock) in self.inst.slas.iter().enumerate() {
                    let Some(spec) = self.spec_of(clock).filter(|_| clock.running()) else {
                        continue;
                    };
                    let met_here = spec.met_by.contains(&ix)
                        || (spec.met_by.is_empty()
                            && spec.element == Some(ix)
                            // One activation completes at a time: the oldest clock of this SLA.
                            && own_met.insert(clock.name.clone()));
                    if met_here {
                        meeting.push(c);
                    }
                }
                for c in meeting {
                    self.sla_meet(c);
                }
                let starting: Vec<usize> = (0..self.def.slas.len())
                    .filter(|&i| self.def.slas[i].started_by == Some(ix))
                    .filter(|&i| {
                        // A loop back through its start does not start a second clock.
                        let s = &self.def.slas[i];
                        !self
                            .inst
                            .slas
                            .iter()
                            .any(|c| c.running() && self.is_clock_of(c, s))
                    })
                    .collect();
                for i in starting {
                    self.sla_start(i);
                }
            }
            HistoryEvent::ActivityCancelled { node } => {
                let Some(ix) = self.def.node_ix(node) else {
                    return;
                };
                let stopping = self.inst.slas.iter().position(|clock| {
                    clock.running()
                        && self
                            .spec_of(clock)
                            .is_some_and(|s| s.element == Some(ix) && s.met_by.is_empty())
                });
                if let Some(c) = stopping {
                    self.sla_stop(c);
                }
            }
            HistoryEvent::InstanceEnded { state } => {
                for c in 0..self.inst.slas.len() {
                    let clock = &self.inst.slas[c];
                    if !clock.running() {
                        continue;
                    }
                    let met_by_end = *state == InstanceState::Completed
                        && self
                            .spec_of(clock)
                            .is_some_and(|s| s.element.is_none() && s.met_by.is_empty());
                    if met_by_end {
                        self.sla_meet(c);
                    } else {
                        self.sla_stop(c);
                    }
                }
            }
            _ => {}
        }
    }

    /// The first candidate group of a task that declares SLAs goes on its
    /// running clocks, for reports per group.
    pub(super) fn sla_task_created(&mut self, node: NodeIx, groups: &[String]) {
        let Some(group) = groups.first() else {
            return;
        };
        let id = &self.def.node(node).id;
        let mut changed = Vec::new();
        for clock in &mut self.inst.slas {
            if clock.running() && clock.group.is_none() && clock.element.as_ref() == Some(id) {
                clock.group = Some(group.clone());
                changed.push(clock.clone());
            }
        }
        self.effects
            .extend(changed.into_iter().map(Effect::SlaChanged));
    }

    /// The breach job ran: `Some(())` when `job` was an SLA clock's.
    pub(super) fn sla_due(&mut self, job: LocalId) -> Option<()> {
        let c = self.inst.slas.iter().position(|c| c.id == job)?;
        let clock = &mut self.inst.slas[c];
        // Met or stopped since: nothing to do (its job was cancelled with it).
        if !clock.running() || clock.breached {
            return Some(());
        }
        clock.breached = true;
        let clock = clock.clone();
        self.effects.push(Effect::SlaChanged(clock.clone()));
        self.history(HistoryEvent::SlaBreached {
            name: clock.name.clone(),
            element: clock.element.clone(),
        });
        let Some(code) = self.spec_of(&clock).and_then(|s| s.escalation.clone()) else {
            return Some(());
        };
        let code = Some(code);
        // An activity's breach is thrown from it: its own escalation boundary
        // events first, then the scopes around it.
        let at = clock.element.as_ref().and_then(|id| {
            self.inst
                .tokens
                .iter()
                .find(|(_, t)| !t.inner && &self.def.node(t.node).id == id)
                .map(|(tid, t)| (*tid, t.scope))
        });
        match at {
            Some((t, scope)) => {
                if !self.catch_escalation_at(t, &code) {
                    self.throw_escalation(scope, &code);
                }
            }
            None => self.throw_escalation(ROOT_SCOPE, &code),
        }
        Some(())
    }

    /// Working time: the default week and hours, and the days off the
    /// process keeps in its `sla.daysOff` variable.
    fn sla_calendar(&self) -> BusinessCalendar {
        let mut cal = BusinessCalendar::default();
        let days = self
            .def
            .sla_days_off
            .as_deref()
            .and_then(|name| self.inst.root_variable(name));
        if let Some(Value::List(days)) = days {
            for day in days {
                let date = match day {
                    Value::String(s) => NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok(),
                    Value::DateTime(t) => Some(t.date_naive()),
                    _ => None,
                };
                cal.holidays.extend(date);
            }
        }
        cal
    }

    fn sla_target(&self, spec: &SlaSpec) -> Result<Duration, String> {
        match &spec.target {
            SlaTarget::Fixed(d) => Ok(*d),
            SlaTarget::Expression(code) => match self.eval_in(ROOT_SCOPE, code)? {
                Value::Int(h) => parse_target(&h.to_string()),
                Value::Decimal(h) => parse_target(&h.to_string()),
                Value::String(s) => parse_target(&s),
                other => Err(format!(
                    "the target gave a {}, not a number of hours or a duration",
                    other.type_name()
                )),
            },
        }
    }

    fn sla_start(&mut self, i: usize) {
        let def = self.def;
        let spec = &def.slas[i];
        let target = match self.sla_target(spec) {
            Ok(t) => t,
            Err(reason) => {
                return self.history(HistoryEvent::SlaNotStarted {
                    name: spec.name.clone(),
                    reason,
                })
            }
        };
        let due_at = if spec.business_hours {
            self.sla_calendar().add_business_time(self.now, target)
        } else {
            self.now + target
        };
        let clock = SlaClock {
            id: self.inst.fresh_id(),
            name: spec.name.clone(),
            element: spec.element.map(|ix| def.node(ix).id.clone()),
            started_at: self.now,
            due_at,
            target_seconds: target.num_seconds(),
            business_hours: spec.business_hours,
            met_at: None,
            achieved_seconds: None,
            breached: false,
            cancelled: false,
            group: None,
        };
        self.effects.push(Effect::JobScheduled {
            job: clock.id,
            kind: JobKind::SlaDue,
            due: due_at,
        });
        self.effects.push(Effect::SlaChanged(clock.clone()));
        self.history(HistoryEvent::SlaStarted {
            name: clock.name.clone(),
            element: clock.element.clone(),
            due: due_at,
        });
        self.inst.slas.push(clock);
    }

    fn sla_meet(&mut self, c: usize) {
        let cal = self
            .inst
            .slas
            .get(c)
            .filter(|clock| clock.business_hours)
            .map(|_| self.sla_calendar());
        let now = self.now;
        let clock = &mut self.inst.slas[c];
        let took = match &cal {
            Some(cal) => cal.business_time_between(clock.started_at, now),
            None => now - clock.started_at,
        };
        clock.met_at = Some(now);
        clock.achieved_seconds = Some(took.num_seconds());
        let late = clock.breached || now > clock.due_at;
        let clock = clock.clone();
        if !clock.breached {
            self.effects.push(Effect::JobCancelled { job: clock.id });
        }
        self.effects.push(Effect::SlaChanged(clock.clone()));
        self.history(HistoryEvent::SlaMet {
            name: clock.name,
            element: clock.element,
            hours: hours_text(took.num_seconds()),
            late,
        });
    }

    fn sla_stop(&mut self, c: usize) {
        let clock = &mut self.inst.slas[c];
        clock.cancelled = true;
        let clock = clock.clone();
        if !clock.breached {
            self.effects.push(Effect::JobCancelled { job: clock.id });
        }
        self.effects.push(Effect::SlaChanged(clock));
    }
}

impl<'a> Exec<'a> {
    /// The declaration a clock measures (none when a migration took the
    /// instance to a version without it).
    fn spec_of(&self, clock: &SlaClock) -> Option<&'a SlaSpec> {
        let def: &'a ProcessDefinition = self.def;
        def.slas.iter().find(|s| self.is_clock_of(clock, s))
    }

    fn is_clock_of(&self, clock: &SlaClock, spec: &SlaSpec) -> bool {
        spec.name == clock.name
            && spec.element.map(|ix| &self.def.node(ix).id) == clock.element.as_ref()
    }
}
